/*
 * policy_diff.c — `zizhu policy diff` (see policy_diff.h): both versions
 * of a policy over every person, a chunk at a time, and what changes per
 * payer, fund, region and kind.
 */
#include "zizhu/policy_diff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zizhu/arena.h"
#include "zizhu/csvcell.h"
#include "zizhu/date.h"
#include "zizhu/idno.h"
#include "zizhu/pg.h"
#include "zizhu/pseudonym.h"
#include "zizhu/settle.h"
#include "zizhu/settle_facts.h"

#include "ops_int.h"

/* The main connection's transaction: nothing of the diff writes, and the
 * database refuses it if something tried. */
static const char SQL_BEGIN_READ_ONLY[] =
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char SQL_COMMIT[] = "COMMIT";

#define RULES_SIZE 160

/* One payer x fund x region x kind. */
typedef struct group_s {
        char payer[ZZ_SETTLE_CODE_SIZE];
        char fund[ZZ_SETTLE_CODE_SIZE];
        char region[ZZ_SETTLE_REGION_SIZE];
        zz_alloc_kind_t kind;
        int64_t persons; /* person-years with an amount here under either */
        int64_t changed; /* ... whose amount here differs */
        zz_fen_t before, after;
} group_t;

/* One person-year among the largest changes. */
typedef struct change_s {
        char pseudonym[ZZ_PSEUDONYM_LEN + 1];
        char masked[19];
        int year;
        zz_fen_t before, after;
        zz_fen_t moved; /* sum over groups of |after - before|: the rank */
        char rules_before[RULES_SIZE], rules_after[RULES_SIZE];
} change_t;

typedef struct diff_s {
        const zz_pdiff_opts_t *o;
        group_t *groups;
        size_t n_groups, cap_groups;
        size_t *slots; /* hash index into groups, +1; 0 empty */
        size_t n_slots;
        change_t *top;
        size_t n_top, cap_top;
        int64_t governed, changed, undecidable_before, undecidable_after;
        zz_fen_t before, after;
} diff_t;

/* ------------------------------------------------------------------ */
/* Groups                                                              */

static uint64_t group_hash(const zz_settle_item_t *it)
{
        const char *parts[3] = {it->payer, it->fund, it->region};
        uint64_t h = 1469598103934665603ULL;
        int i;

        for (i = 0; i < 3; i++) {
                const unsigned char *s = (const unsigned char *)parts[i];

                for (; *s != '\0'; s++)
                        h = (h ^ *s) * 1099511628211ULL;
                h = (h ^ 0x1f) * 1099511628211ULL;
        }
        return (h ^ (uint64_t)it->kind) * 1099511628211ULL;
}

static int group_is(const group_t *g, const zz_settle_item_t *it)
{
        return g->kind == it->kind && strcmp(g->payer, it->payer) == 0 &&
               strcmp(g->fund, it->fund) == 0 &&
               strcmp(g->region, it->region) == 0;
}

static int slots_grow(diff_t *df)
{
        size_t n = df->n_slots ? df->n_slots * 2 : 256, i;
        size_t *slots = calloc(n, sizeof(*slots));

        if (slots == NULL)
                return -1;
        for (i = 0; i < df->n_groups; i++) {
                zz_settle_item_t key;
                size_t j;

                memset(&key, 0, sizeof(key));
                memcpy(key.payer, df->groups[i].payer, sizeof(key.payer));
                memcpy(key.fund, df->groups[i].fund, sizeof(key.fund));
                memcpy(key.region, df->groups[i].region, sizeof(key.region));
                key.kind = df->groups[i].kind;
                j = (size_t)(group_hash(&key) & (n - 1));
                while (slots[j] != 0)
                        j = (j + 1) & (n - 1);
                slots[j] = i + 1;
        }
        free(df->slots);
        df->slots = slots;
        df->n_slots = n;
        return 0;
}

/* The group of it's key, added when new; NULL when out of memory. */
static group_t *group_of(diff_t *df, const zz_settle_item_t *it)
{
        size_t j;
        group_t *g;

        if (df->n_groups * 2 >= df->n_slots && slots_grow(df) != 0)
                return NULL;
        j = (size_t)(group_hash(it) & (df->n_slots - 1));
        while (df->slots[j] != 0) {
                g = &df->groups[df->slots[j] - 1];
                if (group_is(g, it))
                        return g;
                j = (j + 1) & (df->n_slots - 1);
        }
        if (df->n_groups == df->cap_groups) {
                size_t cap = df->cap_groups ? df->cap_groups * 2 : 64;
                group_t *gs = realloc(df->groups, cap * sizeof(*gs));

                if (gs == NULL)
                        return NULL;
                df->groups = gs;
                df->cap_groups = cap;
        }
        g = &df->groups[df->n_groups];
        memset(g, 0, sizeof(*g));
        memcpy(g->payer, it->payer, sizeof(g->payer));
        memcpy(g->fund, it->fund, sizeof(g->fund));
        memcpy(g->region, it->region, sizeof(g->region));
        g->kind = it->kind;
        df->slots[j] = ++df->n_groups;
        return g;
}

static int group_cmp(const void *pa, const void *pb)
{
        const group_t *a = pa, *b = pb;
        int r = strcmp(a->payer, b->payer);

        if (r == 0)
                r = strcmp(a->fund, b->fund);
        if (r == 0)
                r = strcmp(a->region, b->region);
        if (r == 0)
                r = (int)a->kind - (int)b->kind;
        return r;
}

/* ------------------------------------------------------------------ */
/* The largest changes                                                 */

/* 1 when a ranks before b (larger change first, then by name). */
static int change_before(const change_t *a, const change_t *b)
{
        int r;

        if (a->moved != b->moved)
                return a->moved > b->moved;
        r = strcmp(a->pseudonym, b->pseudonym);
        if (r == 0)
                r = strcmp(a->masked, b->masked);
        if (r == 0)
                r = a->year - b->year;
        return r < 0;
}

static int change_cmp(const void *pa, const void *pb)
{
        const change_t *a = pa, *b = pb;

        if (change_before(a, b))
                return -1;
        return change_before(b, a);
}

/* Keeps c when it is among the cap_top largest so far. */
static void top_offer(diff_t *df, const change_t *c)
{
        size_t i, last = 0;

        if (df->cap_top == 0)
                return;
        if (df->n_top < df->cap_top) {
                df->top[df->n_top++] = *c;
                return;
        }
        for (i = 1; i < df->n_top; i++)
                if (change_before(&df->top[last], &df->top[i]))
                        last = i;
        if (change_before(c, &df->top[last]))
                df->top[last] = *c;
}

static void rules_text(const zz_decision_t *d, int decided, char *buf,
                       size_t size)
{
        size_t i, n = 0;

        buf[0] = '\0';
        if (!decided) {
                snprintf(buf, size, "(not decidable)");
                return;
        }
        for (i = 0; i < d->n_funding && n < size; i++) {
                const char *rule = d->funding[i].rule ? d->funding[i].rule : "";
                int w = snprintf(buf + n, size - n, "%s%s", i ? " " : "", rule);

                if (w < 0)
                        break;
                n += (size_t)w;
        }
        if (n >= size)
                buf[size - 1] = '\0';
        if (buf[0] == '\0')
                snprintf(buf, size, "-");
}

/* ------------------------------------------------------------------ */
/* One person                                                          */

/* One version's decision of person i of fs: its items (0 when the version
 * does not govern the person-year or cannot decide it). *governs and
 * *decided say which. */
static size_t decide(zz_factset_t *fs, size_t i, const zz_policy_t *pol,
                     zz_arena_t *arena, zz_decision_t *d, int *governs,
                     int *decided, zz_settle_item_t items[ZZ_SETTLE_ITEMS_MAX])
{
        const zz_policy_t *const pols[1] = {pol};
        zz_case_t c;

        *governs = 0;
        *decided = 0;
        memset(d, 0, sizeof(*d));
        if (zz_factset_case(fs, i, zz_policy_year(pol), pols, 1, &c, arena) ==
            NULL)
                return 0;
        *governs = 1;
        if (zz_policy_eval(pol, &c, d, arena) != 0)
                return 0;
        *decided = 1;
        return zz_settle_items(&c, d, items);
}

static zz_fen_t items_sum(const zz_settle_item_t *items, size_t n)
{
        zz_fen_t s = 0;
        size_t k;

        for (k = 0; k < n; k++)
                s += items[k].fen;
        return s;
}

/* Sum of items' fen with the group key of key. */
static zz_fen_t items_in(const zz_settle_item_t *items, size_t n,
                         const zz_settle_item_t *key)
{
        zz_fen_t s = 0;
        size_t k;

        for (k = 0; k < n; k++)
                if (items[k].kind == key->kind &&
                    strcmp(items[k].payer, key->payer) == 0 &&
                    strcmp(items[k].fund, key->fund) == 0 &&
                    strcmp(items[k].region, key->region) == 0)
                        s += items[k].fen;
        return s;
}

/* Whether an earlier item of items[0..k) has the group key of items[k]. */
static int seen_key(const zz_settle_item_t *items, size_t k)
{
        size_t j;

        for (j = 0; j < k; j++)
                if (items[j].kind == items[k].kind &&
                    strcmp(items[j].payer, items[k].payer) == 0 &&
                    strcmp(items[j].fund, items[k].fund) == 0 &&
                    strcmp(items[j].region, items[k].region) == 0)
                        return 1;
        return 0;
}

static int person(diff_t *df, zz_factset_t *fs, size_t i, zz_arena_t *arena,
                  char *errstr, size_t errstr_size)
{
        zz_settle_item_t a[ZZ_SETTLE_ITEMS_MAX], b[ZZ_SETTLE_ITEMS_MAX];
        zz_settle_item_t both[2 * ZZ_SETTLE_ITEMS_MAX];
        zz_decision_t da, db;
        size_t na, nb, k;
        int gov_a, gov_b, dec_a, dec_b, any = 0;
        zz_fen_t moved = 0;
        change_t c;

        zz_arena_reset(arena);
        na = decide(fs, i, df->o->from, arena, &da, &gov_a, &dec_a, a);
        nb = decide(fs, i, df->o->to, arena, &db, &gov_b, &dec_b, b);
        if (!gov_a && !gov_b)
                return 0;
        df->governed++;
        df->undecidable_before += gov_a && !dec_a;
        df->undecidable_after += gov_b && !dec_b;
        memcpy(both, a, na * sizeof(a[0]));
        memcpy(both + na, b, nb * sizeof(b[0]));
        for (k = 0; k < na + nb; k++) {
                zz_fen_t fa, fb;
                group_t *g;

                if (seen_key(both, k))
                        continue;
                fa = items_in(a, na, &both[k]);
                fb = items_in(b, nb, &both[k]);
                g = group_of(df, &both[k]);
                if (g == NULL) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                g->persons++;
                g->before += fa;
                g->after += fb;
                if (fa != fb) {
                        g->changed++;
                        moved += fa > fb ? fa - fb : fb - fa;
                        any = 1;
                }
        }
        df->before += items_sum(a, na);
        df->after += items_sum(b, nb);
        if (!any)
                return 0;
        df->changed++;
        memset(&c, 0, sizeof(c));
        if (df->o->pseudonym_key != NULL) {
                const char *id = zz_factset_person(fs, i);

                if (zz_pseudonym(df->o->pseudonym_key,
                                 strlen(df->o->pseudonym_key), id, strlen(id),
                                 c.pseudonym) != 0)
                        snprintf(c.pseudonym, sizeof(c.pseudonym), "-");
        } else {
                snprintf(c.pseudonym, sizeof(c.pseudonym), "-");
        }
        zz_idno_mask(zz_factset_person(fs, i), strlen(zz_factset_person(fs, i)),
                     c.masked);
        c.year = zz_policy_year(gov_b ? df->o->to : df->o->from);
        c.before = items_sum(a, na);
        c.after = items_sum(b, nb);
        c.moved = moved;
        rules_text(&da, dec_a, c.rules_before, sizeof(c.rules_before));
        rules_text(&db, dec_b, c.rules_after, sizeof(c.rules_after));
        top_offer(df, &c);
        return 0;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

static void yuan(zz_fen_t fen, char *buf, size_t size)
{
        long long a = fen < 0 ? -(long long)fen : (long long)fen;

        snprintf(buf, size, "%s%lld.%02lld", fen < 0 ? "-" : "", a / 100,
                 a % 100);
}

static void write_summary(const diff_t *df, FILE *out)
{
        char when[40];

        if (df->o->as_of != ZZ_AS_OF_NONE)
                fprintf(out, "facts known by %s\n",
                        zz_ts_format(df->o->as_of, when, sizeof(when)));
        else
                fprintf(out, "all facts\n");
        fprintf(out,
                "policy diff: %s (version %.12s) -> %s (version %.12s)\n"
                "person-years governed: %lld; amount changed: %lld; "
                "not decidable: %lld before, %lld after\n"
                "total fen: before %lld, after %lld, change %lld\n",
                zz_policy_name(df->o->from), zz_policy_version(df->o->from),
                zz_policy_name(df->o->to), zz_policy_version(df->o->to),
                (long long)df->governed, (long long)df->changed,
                (long long)df->undecidable_before,
                (long long)df->undecidable_after, (long long)df->before,
                (long long)df->after, (long long)(df->after - df->before));
}

static void write_table(const diff_t *df, FILE *out)
{
        size_t i;

        write_summary(df, out);
        fprintf(out, "\n%-6s %-6s %-14s %-18s %10s %10s %16s %16s %16s\n",
                "payer", "fund", "region", "kind", "persons", "changed",
                "before_fen", "after_fen", "change_fen");
        for (i = 0; i < df->n_groups; i++) {
                const group_t *g = &df->groups[i];

                fprintf(out,
                        "%-6s %-6s %-14s %-18s %10lld %10lld %16lld %16lld "
                        "%16lld\n",
                        g->payer, g->fund, g->region,
                        zz_alloc_kind_name(g->kind), (long long)g->persons,
                        (long long)g->changed, (long long)g->before,
                        (long long)g->after, (long long)(g->after - g->before));
        }
        fprintf(out, "\nlargest changes (pseudonym and masked ID only):\n");
        fprintf(out, "%-32s %-18s %4s %12s %12s %12s  %s -> %s\n", "pseudonym",
                "masked_id", "year", "before_fen", "after_fen", "change_fen",
                "rules_before", "rules_after");
        for (i = 0; i < df->n_top; i++) {
                const change_t *c = &df->top[i];

                fprintf(out, "%-32s %-18s %4d %12lld %12lld %12lld  %s -> %s\n",
                        c->pseudonym, c->masked, c->year, (long long)c->before,
                        (long long)c->after, (long long)(c->after - c->before),
                        c->rules_before, c->rules_after);
        }
}

static void csv_num(long long v, FILE *out)
{
        fprintf(out, ",%lld", v);
}

static void csv_str(const char *s, FILE *out)
{
        fputc(',', out);
        zz_csvcell_write(out, s, 0);
}

static void write_csv(const diff_t *df, FILE *out)
{
        size_t i;

        fputs("record,payer,fund,region,kind,persons,changed,before_fen,"
              "after_fen,change_fen,pseudonym,masked_id,year,rules_before,"
              "rules_after\r\n",
              out);
        for (i = 0; i < df->n_groups; i++) {
                const group_t *g = &df->groups[i];

                fputs("group", out);
                csv_str(g->payer, out);
                csv_str(g->fund, out);
                csv_str(g->region, out);
                csv_str(zz_alloc_kind_name(g->kind), out);
                csv_num(g->persons, out);
                csv_num(g->changed, out);
                csv_num(g->before, out);
                csv_num(g->after, out);
                csv_num(g->after - g->before, out);
                fputs(",,,,,\r\n", out);
        }
        for (i = 0; i < df->n_top; i++) {
                const change_t *c = &df->top[i];

                fputs("change,,,,,,", out);
                csv_num(c->before, out);
                csv_num(c->after, out);
                csv_num(c->after - c->before, out);
                csv_str(c->pseudonym, out);
                csv_str(c->masked, out);
                csv_num(c->year, out);
                csv_str(c->rules_before, out);
                csv_str(c->rules_after, out);
                fputs("\r\n", out);
        }
}

static void html_cell(const char *s, int num, FILE *out)
{
        fputs(num ? "<td class=\"n\">" : "<td>", out);
        zz_ops_html_text(s, out);
        fputs("</td>", out);
}

static void html_num(long long v, FILE *out)
{
        char buf[32];

        snprintf(buf, sizeof(buf), "%lld", v);
        html_cell(buf, 1, out);
}

static void write_html(const diff_t *df, FILE *out)
{
        static zz_ops_chart_t payers, regions;
        char buf[64];
        size_t i;

        memset(&payers, 0, sizeof(payers));
        memset(&regions, 0, sizeof(regions));
        payers.title = "变化按支付部门 / change per payer (yuan)";
        payers.unit = "";
        regions.title = "变化按地区 / change per region (yuan)";
        regions.unit = "";
        for (i = 0; i < df->n_groups; i++) {
                const group_t *g = &df->groups[i];
                double y = (double)(g->after - g->before) / 100.0;

                snprintf(buf, sizeof(buf), "%s/%s", g->payer, g->fund);
                zz_ops_chart_add(&payers, buf, y, -1);
                zz_ops_chart_add(&regions, g->region, y, -1);
        }
        fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta "
              "charset=\"utf-8\">\n<title>zizhu — policy diff</title>\n"
              "<style>\nbody{font-family:\"Noto Sans CJK SC\","
              "\"Microsoft YaHei\",sans-serif;margin:2em;color:#222}\n"
              "table{border-collapse:collapse;margin-top:1em}\n"
              "td,th{border:1px solid #ccc;padding:2px 8px}\n"
              "td.n{text-align:right}\nth{background:#eef}\n"
              "figure{margin:1em 0}\nfigcaption{font-weight:bold}\n"
              ".l{font-size:12px}\n.v{font-size:11px;fill:#333}\n"
              "</style>\n</head>\n<body>\n<h1>政策变更测算 / policy diff: ",
              out);
        zz_ops_html_text(zz_policy_name(df->o->from), out);
        fputs(" &rarr; ", out);
        zz_ops_html_text(zz_policy_name(df->o->to), out);
        fputs("</h1>\n<pre>", out);
        write_summary(df, out);
        fputs("</pre>\n", out);
        if (df->n_groups > 0) {
                zz_ops_svg_chart(&payers, out);
                zz_ops_svg_chart(&regions, out);
        }
        fputs("<table>\n<tr><th>payer</th><th>fund</th><th>region</th>"
              "<th>kind</th><th>persons</th><th>changed</th>"
              "<th>before_fen</th><th>after_fen</th><th>change_fen</th>"
              "<th>change (yuan)</th></tr>\n",
              out);
        for (i = 0; i < df->n_groups; i++) {
                const group_t *g = &df->groups[i];

                fputs("<tr>", out);
                html_cell(g->payer, 0, out);
                html_cell(g->fund, 0, out);
                html_cell(g->region, 0, out);
                html_cell(zz_alloc_kind_name(g->kind), 0, out);
                html_num(g->persons, out);
                html_num(g->changed, out);
                html_num(g->before, out);
                html_num(g->after, out);
                html_num(g->after - g->before, out);
                yuan(g->after - g->before, buf, sizeof(buf));
                html_cell(buf, 1, out);
                fputs("</tr>\n", out);
        }
        fputs("</table>\n<h2>最大变化 / largest changes</h2>\n<p>Persons "
              "appear only as pseudonyms and masked ID numbers.</p>\n"
              "<table>\n<tr><th>pseudonym</th><th>masked_id</th>"
              "<th>year</th><th>before_fen</th><th>after_fen</th>"
              "<th>change_fen</th><th>rules_before</th><th>rules_after</th>"
              "</tr>\n",
              out);
        for (i = 0; i < df->n_top; i++) {
                const change_t *c = &df->top[i];

                fputs("<tr>", out);
                html_cell(c->pseudonym, 0, out);
                html_cell(c->masked, 0, out);
                html_num(c->year, out);
                html_num(c->before, out);
                html_num(c->after, out);
                html_num(c->after - c->before, out);
                html_cell(c->rules_before, 0, out);
                html_cell(c->rules_after, 0, out);
                fputs("</tr>\n", out);
        }
        fputs("</table>\n</body>\n</html>\n", out);
}

/* ------------------------------------------------------------------ */
/* The run                                                             */

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(diff_t *df, PGconn *conn, char *errstr, size_t errstr_size)
{
        zz_factset_cursor_t *cur;
        zz_factset_t *fs = NULL;
        zz_arena_t *arena;
        double t0 = now_s();
        size_t persons = 0, i;
        int rc = 0;

        arena = zz_arena_new(0);
        if (arena == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        cur = zz_factset_open_as_of(conn, df->o->as_of, df->o->chunk, errstr,
                                    errstr_size);
        if (cur == NULL) {
                zz_arena_destroy(arena);
                return -1;
        }
        while (rc == 0) {
                rc = zz_factset_next(cur, &fs, errstr, errstr_size);
                if (rc != 0 || fs == NULL)
                        break;
                for (i = 0; rc == 0 && i < zz_factset_count(fs); i++) {
                        rc = person(df, fs, i, arena, errstr, errstr_size);
                        if ((i & 1023) == 1023)
                                zz_factset_poll(cur);
                }
                persons += zz_factset_count(fs);
                if (df->o->progress != NULL) {
                        double dt = now_s() - t0;

                        fprintf(df->o->progress,
                                "zizhu policy diff: %zu persons read, %lld "
                                "person-years changed, %.0f persons/s\n",
                                persons, (long long)df->changed,
                                dt > 0 ? (double)persons / dt : 0.0);
                        fflush(df->o->progress);
                }
        }
        zz_factset_cursor_destroy(cur);
        zz_arena_destroy(arena);
        return rc;
}

int zz_policy_diff(PGconn *conn, const zz_pdiff_opts_t *opts, FILE *out,
                   char *errstr, size_t errstr_size)
{
        diff_t df;
        int rc;

        memset(&df, 0, sizeof(df));
        df.o = opts;
        df.cap_top = opts->top > 0 ? opts->top : ZZ_PDIFF_TOP_DEFAULT;
        df.top = calloc(df.cap_top, sizeof(*df.top));
        if (df.top == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        rc = zz_pg_exec(conn, SQL_BEGIN_READ_ONLY, errstr, errstr_size);
        if (rc == 0)
                rc = run(&df, conn, errstr, errstr_size);
        if (rc == 0)
                rc = zz_pg_exec(conn, SQL_COMMIT, errstr, errstr_size);
        if (rc == 0) {
                qsort(df.groups, df.n_groups, sizeof(*df.groups), group_cmp);
                qsort(df.top, df.n_top, sizeof(*df.top), change_cmp);
                if (opts->format == ZZ_REPORT_CSV)
                        write_csv(&df, out);
                else if (opts->format == ZZ_REPORT_HTML)
                        write_html(&df, out);
                else
                        write_table(&df, out);
        }
        free(df.groups);
        free(df.slots);
        free(df.top);
        return rc;
}
