/*
 * report.c — settlement, backlog and progress reports as a terminal table,
 * CSV or a self-contained HTML page with inline SVG charts (see report.h).
 */
#include "zizhu/report.h"

#include <stdlib.h>
#include <string.h>

#include "zizhu/csvcell.h"
#include "zizhu/pg.h"
#include "ops_int.h"

/* The reports' statements: $1 is the filter (NULL: all). */
static const char SQL_REPORT_SETTLEMENT[] =
    "SELECT policy_name, period, payer, fund, region, kind, persons, fen\n"
    "FROM zizhu_dash.settlement\n"
    "WHERE $1::text IS NULL OR period = $1 OR policy_name || '/' || period = $1\n"
    "ORDER BY policy_name, period, payer, fund, region, kind";

static const char SQL_REPORT_BACKLOG[] =
    "SELECT policy_name, year, recon_status, persons, fen\n"
    "FROM zizhu_dash.backlog_summary\n"
    "WHERE $1::text IS NULL OR policy_name = $1\n"
    "ORDER BY policy_name, year, recon_status";

static const char SQL_REPORT_PROGRESS[] =
    "SELECT policy_name, region, village, target, enrolled, paid, percent\n"
    "FROM zizhu_dash.progress\n"
    "WHERE $1::text IS NULL OR policy_name = $1\n"
    "ORDER BY policy_name, region";

static const char SQL_REPORT_PAYERS[] =
    "SELECT policy_name, period, payer, kind, persons, fen\n"
    "FROM zizhu_dash.settlement_payer\n"
    "WHERE $1::text IS NULL OR period = $1 OR policy_name || '/' || period = $1\n"
    "ORDER BY policy_name, period, payer, kind";

typedef struct spec_s {
        const char *title;
        const char *sql;
        int money_col; /* column holding fen, shown as yuan too; -1 */
} spec_t;

static const spec_t specs[] = {
    {"Settlement (资金结算)", SQL_REPORT_SETTLEMENT, 7},
    {"Reconciliation backlog (待处理对账事项)", SQL_REPORT_BACKLOG, 4},
    {"Enrollment progress (参保进度)", SQL_REPORT_PROGRESS, -1},
    {"Transfers per paying department (各出资部门应划转金额)",
     SQL_REPORT_PAYERS, 5},
};

int zz_report_kind_from_name(const char *name)
{
        if (name == NULL)
                return -1;
        if (strcmp(name, "settlement") == 0)
                return ZZ_REPORT_SETTLEMENT;
        if (strcmp(name, "backlog") == 0)
                return ZZ_REPORT_BACKLOG;
        if (strcmp(name, "progress") == 0)
                return ZZ_REPORT_PROGRESS;
        if (strcmp(name, "payers") == 0)
                return ZZ_REPORT_PAYERS;
        return -1;
}

int zz_report_format_from_name(const char *name)
{
        if (name == NULL)
                return -1;
        if (strcmp(name, "table") == 0)
                return ZZ_REPORT_TABLE;
        if (strcmp(name, "csv") == 0)
                return ZZ_REPORT_CSV;
        if (strcmp(name, "html") == 0)
                return ZZ_REPORT_HTML;
        return -1;
}

/* Display width: CJK and other wide characters count 2. */
size_t zz_ops_width(const char *s)
{
        size_t w = 0;
        const unsigned char *p = (const unsigned char *)s;

        while (*p != '\0') {
                if (*p < 0x80) {
                        w++;
                        p++;
                } else if ((*p & 0xE0) == 0xC0) {
                        w++;
                        p += 2;
                } else if ((*p & 0xF0) == 0xE0) {
                        w += 2;
                        p += 3;
                } else {
                        w += 2;
                        p += 4;
                }
        }
        return w;
}

static void yuan(const char *fen, char *buf, size_t size)
{
        long long v = strtoll(fen, NULL, 10);
        long long a = v < 0 ? -v : v;

        snprintf(buf, size, "%s%lld.%02lld", v < 0 ? "-" : "", a / 100,
                 a % 100);
}

static void write_table(const spec_t *sp, PGresult *res, FILE *out)
{
        int rows = PQntuples(res), cols = PQnfields(res), r, c;
        size_t w[16] = {0}, wy = 4;
        char y[32];

        for (c = 0; c < cols && c < 16; c++) {
                w[c] = zz_ops_width(PQfname(res, c));
                for (r = 0; r < rows; r++)
                        if (zz_ops_width(PQgetvalue(res, r, c)) > w[c])
                                w[c] = zz_ops_width(PQgetvalue(res, r, c));
        }
        for (r = 0; sp->money_col >= 0 && r < rows; r++) {
                yuan(PQgetvalue(res, r, sp->money_col), y, sizeof(y));
                if (strlen(y) > wy)
                        wy = strlen(y);
        }
        fprintf(out, "%s\n", sp->title);
        for (c = 0; c < cols && c < 16; c++)
                fprintf(out, "%s%-*s", c ? "  " : "",
                        (int)(w[c] + strlen(PQfname(res, c)) -
                              zz_ops_width(PQfname(res, c))),
                        PQfname(res, c));
        if (sp->money_col >= 0)
                fprintf(out, "  %*s", (int)wy, "yuan");
        fprintf(out, "\n");
        for (r = 0; r < rows; r++) {
                for (c = 0; c < cols && c < 16; c++) {
                        const char *v = PQgetvalue(res, r, c);
                        int pad = (int)(w[c] + strlen(v) - zz_ops_width(v));
                        int numeric = PQftype(res, c) == 20 ||
                                      PQftype(res, c) == 23 ||
                                      PQftype(res, c) == 1700;

                        fprintf(out, numeric ? "%s%*s" : "%s%-*s",
                                c ? "  " : "", pad, v);
                }
                if (sp->money_col >= 0) {
                        yuan(PQgetvalue(res, r, sp->money_col), y, sizeof(y));
                        fprintf(out, "  %*s", (int)wy, y);
                }
                fprintf(out, "\n");
        }
        fprintf(out, "(%d row%s)\n", rows, rows == 1 ? "" : "s");
}

/* Quoted when needed; text that a spreadsheet would run as a formula is
 * neutralized, numbers (a negative amount) stay numbers: see
 * zizhu/csvcell.h. */
static void csv_field(const char *s, FILE *out)
{
        zz_csvcell_write(out, s, 0);
}

static void write_csv(PGresult *res, FILE *out)
{
        int rows = PQntuples(res), cols = PQnfields(res), r, c;

        for (c = 0; c < cols; c++) {
                if (c)
                        fputc(',', out);
                csv_field(PQfname(res, c), out);
        }
        fputs("\r\n", out);
        for (r = 0; r < rows; r++) {
                for (c = 0; c < cols; c++) {
                        if (c)
                                fputc(',', out);
                        csv_field(PQgetvalue(res, r, c), out);
                }
                fputs("\r\n", out);
        }
}

void zz_ops_html_text(const char *s, FILE *out)
{
        for (; *s != '\0'; s++) {
                switch (*s) {
                case '<':
                        fputs("&lt;", out);
                        break;
                case '>':
                        fputs("&gt;", out);
                        break;
                case '&':
                        fputs("&amp;", out);
                        break;
                case '"':
                        fputs("&quot;", out);
                        break;
                default:
                        fputc(*s, out);
                }
        }
}

/* ------------------------------------------------------------------ */
/* SVG bar charts                                                      */

#define MAX_BARS ZZ_OPS_MAX_BARS

typedef zz_ops_bar_t bar_t;
typedef zz_ops_chart_t chart_t;

void zz_ops_chart_add(chart_t *ch, const char *label, double a, double b)
{
        int i;

        for (i = 0; i < ch->n; i++)
                if (strcmp(ch->bars[i].label, label) == 0) {
                        ch->bars[i].a += a;
                        return;
                }
        if (ch->n == MAX_BARS)
                return;
        snprintf(ch->bars[ch->n].label, sizeof(ch->bars[ch->n].label), "%s",
                 label);
        ch->bars[ch->n].a = a;
        ch->bars[ch->n].b = b;
        ch->n++;
}

void zz_ops_svg_chart(const chart_t *ch, FILE *out)
{
        static const char *const colors[] = {"#2f6db5", "#d9822b", "#3a9a5b",
                                             "#b5402f", "#7a4fb5", "#2fa3b5",
                                             "#8c8c2f", "#b52f7a"};
        double max = 0, min = 0, span;
        int i, row = 22, label_w = 220, bar_w = 460;
        int h = ch->n * row + 40;
        double zero;

        for (i = 0; i < ch->n; i++) {
                if (ch->bars[i].a > max)
                        max = ch->bars[i].a;
                if (ch->bars[i].a < min)
                        min = ch->bars[i].a;
                if (ch->two && ch->bars[i].b > max)
                        max = ch->bars[i].b;
        }
        span = max - min > 0 ? max - min : 1;
        zero = label_w + (-min / span) * bar_w;
        fprintf(out, "<figure><figcaption>");
        zz_ops_html_text(ch->title, out);
        fprintf(out,
                "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
                "class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
                "%d\" role=\"img\">\n",
                label_w + bar_w + 140, h, label_w + bar_w + 140, h);
        for (i = 0; i < ch->n; i++) {
                const bar_t *b = &ch->bars[i];
                int y = 10 + i * row;
                double x0 = b->a >= 0 ? zero : zero + (b->a / span) * bar_w;
                double wd = (b->a >= 0 ? b->a : -b->a) / span * bar_w;

                fprintf(out,
                        "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" "
                        "class=\"l\">",
                        label_w - 6, y + 14);
                zz_ops_html_text(b->label, out);
                fprintf(out, "</text>\n");
                if (ch->two && b->b > 0)
                        fprintf(out,
                                "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                                "height=\"16\" fill=\"none\" "
                                "stroke=\"#888\" stroke-dasharray=\"3,2\"/>\n",
                                zero, y + 2, b->b / span * bar_w);
                fprintf(out,
                        "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                        "height=\"16\" fill=\"%s\"><title>",
                        x0, y + 2, wd < 0.5 ? 0.5 : wd,
                        colors[i % (int)(sizeof(colors) / sizeof(colors[0]))]);
                zz_ops_html_text(b->label, out);
                fprintf(out, ": %.2f %s</title></rect>\n", b->a, ch->unit);
                fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"v\">%.*f%s%s",
                        (b->a >= 0 ? x0 + wd : zero) + 4, y + 14,
                        ch->counts ? 0 : 2, b->a, ch->unit[0] ? " " : "",
                        ch->unit);
                if (ch->two && b->b > 0)
                        fprintf(out, " / %.0f", b->b);
                fprintf(out, "</text>\n");
        }
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"4\" x2=\"%.1f\" y2=\"%d\" "
                "stroke=\"#333\"/>\n</svg></figure>\n",
                zero, zero, h - 24);
}

/* The two charts of a report of kind, from its rows. */
static void charts_fill(zz_report_kind_t kind, PGresult *res, chart_t *c1,
                        chart_t *c2)
{
        int rows = PQntuples(res), r;

        memset(c1, 0, sizeof(*c1));
        memset(c2, 0, sizeof(*c2));
        if (kind == ZZ_REPORT_SETTLEMENT) {
                c1->title = "金额按出资方 / amount per payer (yuan)";
                c1->unit = "";
                c2->title = "金额按地区 / amount per region (yuan)";
                c2->unit = "";
                for (r = 0; r < rows; r++) {
                        double y = strtod(PQgetvalue(res, r, 7), NULL) / 100;
                        zz_ops_chart_add(c1, PQgetvalue(res, r, 2), y, -1);
                        zz_ops_chart_add(c2, PQgetvalue(res, r, 4), y, -1);
                }
        } else if (kind == ZZ_REPORT_PAYERS) {
                c1->title = "金额按出资方 / amount per payer (yuan)";
                c1->unit = "";
                c2->title = "金额按类型 / amount per kind (yuan)";
                c2->unit = "";
                for (r = 0; r < rows; r++) {
                        double y = strtod(PQgetvalue(res, r, 5), NULL) / 100;
                        zz_ops_chart_add(c1, PQgetvalue(res, r, 2), y, -1);
                        zz_ops_chart_add(c2, PQgetvalue(res, r, 3), y, -1);
                }
        } else if (kind == ZZ_REPORT_BACKLOG) {
                c1->title = "人数按状态 / persons per status";
                c1->unit = "";
                c1->counts = 1;
                c2->title = "金额按状态 / amount per status (yuan)";
                c2->unit = "";
                for (r = 0; r < rows; r++) {
                        zz_ops_chart_add(c1, PQgetvalue(res, r, 2),
                                         strtod(PQgetvalue(res, r, 3), NULL),
                                         -1);
                        zz_ops_chart_add(
                            c2, PQgetvalue(res, r, 2),
                            strtod(PQgetvalue(res, r, 4), NULL) / 100, -1);
                }
        } else {
                c1->title = "参保人数与目标 / enrolled against target (dashed)";
                c1->unit = "";
                c1->two = 1;
                c1->counts = 1;
                c2->title = "完成率 / percent of target";
                c2->unit = "%";
                for (r = 0; r < rows; r++) {
                        char label[96];
                        snprintf(label, sizeof(label), "%s %s",
                                 PQgetvalue(res, r, 1), PQgetvalue(res, r, 2));
                        zz_ops_chart_add(c1, label,
                                         strtod(PQgetvalue(res, r, 4), NULL),
                                         strtod(PQgetvalue(res, r, 3), NULL));
                        zz_ops_chart_add(
                            c2, label, strtod(PQgetvalue(res, r, 6), NULL), -1);
                }
        }
}

/* The rows as an HTML table, with the money in yuan too. */
static void html_table(const spec_t *sp, PGresult *res, FILE *out)
{
        int rows = PQntuples(res), cols = PQnfields(res), r, c;

        fprintf(out, "<table>\n<tr>");
        for (c = 0; c < cols; c++) {
                fprintf(out, "<th>");
                zz_ops_html_text(PQfname(res, c), out);
                fprintf(out, "</th>");
        }
        if (sp->money_col >= 0)
                fprintf(out, "<th>yuan</th>");
        fprintf(out, "</tr>\n");
        for (r = 0; r < rows; r++) {
                fprintf(out, "<tr>");
                for (c = 0; c < cols; c++) {
                        int numeric = PQftype(res, c) == 20 ||
                                      PQftype(res, c) == 23 ||
                                      PQftype(res, c) == 1700;
                        fprintf(out, "<td%s>", numeric ? " class=\"n\"" : "");
                        zz_ops_html_text(PQgetvalue(res, r, c), out);
                        fprintf(out, "</td>");
                }
                if (sp->money_col >= 0) {
                        char y[32];
                        yuan(PQgetvalue(res, r, sp->money_col), y, sizeof(y));
                        fprintf(out, "<td class=\"n\">%s</td>", y);
                }
                fprintf(out, "</tr>\n");
        }
        fprintf(out, "</table>\n");
}

static void write_html(zz_report_kind_t kind, const spec_t *sp,
                       const char *period, PGresult *res, FILE *out)
{
        int rows = PQntuples(res);
        static chart_t ch1, ch2;

        charts_fill(kind, res, &ch1, &ch2);
        fprintf(out, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta "
                     "charset=\"utf-8\">\n<title>zizhu — ");
        zz_ops_html_text(sp->title, out);
        fprintf(out, "</title>\n<style>\nbody{font-family:\"Noto Sans CJK SC\","
                     "\"Microsoft YaHei\",sans-serif;margin:2em;color:#222}\n"
                     "table{border-collapse:collapse;margin-top:1em}\n"
                     "td,th{border:1px solid #ccc;padding:2px 8px}\n"
                     "td.n{text-align:right}\nth{background:#eef}\n"
                     "figure{margin:1em 0}\nfigcaption{font-weight:bold}\n"
                     ".l{font-size:12px}\n.v{font-size:11px;fill:#333}\n"
                     "</style>\n</head>\n<body>\n<h1>");
        zz_ops_html_text(sp->title, out);
        fprintf(out, "</h1>\n<p>");
        if (period != NULL) {
                fprintf(out, "Filter: ");
                zz_ops_html_text(period, out);
                fprintf(out, ". ");
        }
        fprintf(out,
                "%d row%s. Persons appear only as pseudonyms in the "
                "underlying views.</p>\n",
                rows, rows == 1 ? "" : "s");
        if (rows > 0) {
                zz_ops_svg_chart(&ch1, out);
                zz_ops_svg_chart(&ch2, out);
        }
        html_table(sp, res, out);
        fprintf(out, "</body>\n</html>\n");
}

int zz_report_write(PGconn *conn, zz_report_kind_t kind, const char *period,
                    zz_report_format_t format, FILE *out, char *errstr,
                    size_t errstr_size)
{
        const spec_t *sp;
        const char *params[1];
        char detail[512];
        PGresult *res;

        if ((int)kind < 0 || kind > ZZ_REPORT_PAYERS) {
                snprintf(errstr, errstr_size, "unknown report");
                return -1;
        }
        sp = &specs[kind];
        params[0] = period;
        res =
            zz_pg_query(conn, sp->sql, 1, params, NULL, detail, sizeof(detail));
        if (res == NULL) {
                snprintf(errstr, errstr_size, "could not read the report: %s",
                         detail);
                return -1;
        }
        if (format == ZZ_REPORT_CSV)
                write_csv(res, out);
        else if (format == ZZ_REPORT_HTML)
                write_html(kind, sp, period, res, out);
        else
                write_table(sp, res, out);
        PQclear(res);
        return 0;
}
