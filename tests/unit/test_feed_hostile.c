/*
 * test_feed_hostile.c — department files that an attacker or a broken
 * export could send (issue 14): each test is named after what broke and
 * failed before its fix. Files are written to a scratch directory, so
 * the reject file lands beside them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/feed.h"

struct hostile {
        char dir[64];
        char path[128];
        zz_feed_stats_t st;
        size_t records;
        char errstr[512];
};

static int count_record(const zz_feed_record_t *rec, void *opaque)
{
        struct hostile *h = opaque;

        (void)rec;
        h->records++;
        return 0;
}

/* Writes len bytes of text to a fresh file and reads it as a file of
 * kind (identity: of MCA). The return value of zz_feed_read_file. */
static int read_bytes(struct hostile *h, const char *text, size_t len,
                      zz_feed_kind_t kind, int snapshot)
{
        zz_feed_options_t opt = {.kind = kind,
                                 .department =
                                     kind == ZZ_FEED_IDENTITY ? "MCA" : NULL,
                                 .snapshot = snapshot};
        FILE *fp;

        memset(h, 0, sizeof(*h));
        snprintf(h->dir, sizeof(h->dir), "/tmp/zz-test-hostile-XXXXXX");
        cr_assert_not_null(mkdtemp(h->dir));
        snprintf(h->path, sizeof(h->path), "%s/in.csv", h->dir);
        fp = fopen(h->path, "wb");
        cr_assert_not_null(fp);
        cr_assert_eq(fwrite(text, 1, len, fp), len);
        fclose(fp);
        return zz_feed_read_file(h->path, ZZ_FEED_ENC_AUTO, &opt, count_record,
                                 h, NULL, NULL, &h->st, h->errstr,
                                 sizeof(h->errstr));
}

/* ------------------------------------------------------------------ */

/* An empty file made the reader copy from a NULL buffer (undefined
 * behaviour: the sanitized build stopped with a report) before saying
 * the file has no header. */
Test(feed_csv, empty_file_has_no_header_row)
{
        struct hostile h;

        cr_assert_eq(read_bytes(&h, "", 0, ZZ_FEED_IDENTITY, 0), -1);
        cr_assert(strstr(h.errstr, "has no header row") != NULL, "%s",
                  h.errstr);
        cr_assert_eq(h.st.rows, 0);
}

/* The reason of the n-th line (0-based) of h's reject file, or "". */
static const char *reject_reason(const struct hostile *h, size_t n,
                                 size_t *line)
{
        static char reason[512];
        char errstr[256];
        zz_feed_reader_t *r;
        zz_feed_row_t *row;
        size_t i = 0;

        reason[0] = '\0';
        r = zz_feed_reader_open(h->st.rejects_path, ZZ_FEED_ENC_AUTO, errstr,
                                sizeof(errstr));
        cr_assert_not_null(r, "%s", errstr);
        while (zz_feed_reader_next(r, &row, errstr, sizeof(errstr)) == 1) {
                if (i++ != n + 1) /* the header first */
                        continue;
                snprintf(reason, sizeof(reason), "%s", row->fields[1]);
                if (line != NULL)
                        *line = strtoul(row->fields[0], NULL, 10);
        }
        zz_feed_reader_destroy(r);
        return reason;
}

#define ID_HEADER                                                                                     \
        "归属地,姓名,身份证号码,部门标识,人员编号,生存状况,人员身份标识," \
        "认定日期\n"
#define ID_ROW_OK                                                              \
        "500155107001,张三,500155195001101009,民政,MCA-0001,存活,低保,2019-01-05\n"

/* "<valid ID>\0junk", "2019-05-19\0junk", "MCA-1\0x" were read as the
 * part before the NUL (the reader kept the length, the row parser
 * ignored it) and accepted. */
Test(feed_row, nul_byte_in_field_is_rejected)
{
        static const char text[] = ID_HEADER ID_ROW_OK
            "500155107001,李四,500155195001101009\0junk,民政,MCA-0002,存活,"
            "低保,2019-01-05\n"
            "500155107001,王五,500155195001101009,民政,MCA-0003,存活,低保,"
            "2018-05-19\0junk\n"
            "500155107001,赵六,500155195001101009,民政,MCA-1\0x,存活,低保,"
            "2019-01-05\n";
        struct hostile h;
        size_t line = 0;
        const char *reason;

        cr_assert_eq(
            read_bytes(&h, text, sizeof(text) - 1, ZZ_FEED_IDENTITY, 0), 0,
            "%s", h.errstr);
        cr_assert_eq(h.st.rows, 4);
        cr_assert_eq(h.records, 1);
        cr_assert_eq(h.st.rejected, 3);
        reason = reject_reason(&h, 0, &line);
        cr_assert_eq(line, 3);
        cr_assert_str_eq(reason, "身份证号码: contains a NUL byte (column 3)");
        reason = reject_reason(&h, 1, &line);
        cr_assert_eq(line, 4);
        cr_assert_str_eq(reason, "认定日期: contains a NUL byte (column 8)");
        reason = reject_reason(&h, 2, &line);
        cr_assert_eq(line, 5);
        cr_assert_str_eq(reason, "人员编号: contains a NUL byte (column 5)");
}

/* A NUL in a header cell made "身份证号码\0x" pass for the column. */
Test(feed_csv, nul_byte_in_header_refuses_the_file)
{
        static const char text[] =
            "归属地,姓名,身份证号码\0x,部门标识,人员编号,生存状况,"
            "人员身份标识,认定日期\n" ID_ROW_OK;
        struct hostile h;

        cr_assert_eq(
            read_bytes(&h, text, sizeof(text) - 1, ZZ_FEED_IDENTITY, 0), -1);
        cr_assert(strstr(h.errstr, "line 1: column 3 of the header contains "
                                   "a NUL byte") != NULL,
                  "%s", h.errstr);
}

/* The whole of a small file, NUL-terminated, in a static buffer. */
static const char *slurp(const char *path)
{
        static char buf[8192];
        FILE *fp = fopen(path, "rb");
        size_t n;

        cr_assert_not_null(fp, "%s", path);
        n = fread(buf, 1, sizeof(buf) - 1, fp);
        buf[n] = '\0';
        fclose(fp);
        return buf;
}

/* 1 when some cell of the CSV text starts with a formula character. */
static int has_formula_cell(const char *text)
{
        const char *p = text;

        for (; *p != '\0'; p++) {
                int start = p == text || p[-1] == ',' || p[-1] == '\n';
                const char *c = p;

                if (!start)
                        continue;
                if (*c == '"')
                        c++;
                if (*c == '=' || *c == '+' || *c == '@' ||
                    (*c == '-' && (c[1] < '0' || c[1] > '9')))
                        return 1;
        }
        return 0;
}

/* A reject file (meant for Excel/WPS) wrote the cells of a hostile row
 * as they were: the "masked" ID column came out as a formula. */
Test(feed_reject, formula_cells_are_neutralized)
{
        static const char text[] =
            ID_HEADER "500155107001,张三,=cmd|' /C calc'!A0,民政,"
                      "=HYPERLINK(\"http://x\"),存活,低保,2019-01-05\n"
                      "500155107001,李四,500155195001101009,民政,@SUM(1),存活,"
                      "=1+1,2019-01-05\n";
        struct hostile h;
        const char *rejects;

        cr_assert_eq(
            read_bytes(&h, text, sizeof(text) - 1, ZZ_FEED_IDENTITY, 0), 0,
            "%s", h.errstr);
        cr_assert_eq(h.st.rejected, 2);
        rejects = slurp(h.st.rejects_path);
        cr_assert_not(has_formula_cell(rejects), "%s", rejects);
        cr_assert(strstr(rejects, "\"'=cmd") != NULL, "%s", rejects);
        cr_assert(strstr(rejects, "\"'=HYPERLINK(\"\"http://x\"\")\"") != NULL,
                  "%s", rejects);
        cr_assert(strstr(rejects, "\"'@SUM(1)\"") != NULL, "%s", rejects);
}

struct first_record {
        zz_feed_record_t rec;
        size_t n;
};

static int keep_first(const zz_feed_record_t *rec, void *opaque)
{
        struct first_record *f = opaque;

        if (f->n++ == 0)
                f->rec = *rec;
        return 0;
}

/* The CSV sink (template format, opened by people too) wrote a record id
 * "=1+1" as a formula; neutralized, it still reads back as the same
 * record with the same event id. */
Test(feed_sink, formula_cells_are_neutralized_and_read_back)
{
        static const char text[] =
            ID_HEADER "500155107001,张三,500155195001101009,民政,=1+1,存活,"
                      "低保,2019-01-05\n";
        struct hostile h;
        struct first_record in = {0}, back = {0};
        zz_feed_options_t opt = {.kind = ZZ_FEED_IDENTITY};
        zz_feed_stats_t st;
        zz_feed_sink_t *sink;
        char errstr[512];
        char path[256];
        char dir[] = "/tmp/zz-test-hostile-sink-XXXXXX";

        cr_assert_eq(
            read_bytes(&h, text, sizeof(text) - 1, ZZ_FEED_IDENTITY, 0), 0,
            "%s", h.errstr);
        cr_assert_eq(h.records, 1);
        opt.department = "MCA";
        cr_assert_eq(zz_feed_read_file(h.path, ZZ_FEED_ENC_AUTO, &opt,
                                       keep_first, &in, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     0, "%s", errstr);
        cr_assert_str_eq(in.rec.u.identity.dept_record_id, "=1+1");

        cr_assert_not_null(mkdtemp(dir));
        sink = zz_feed_sink_csv(dir, errstr, sizeof(errstr));
        cr_assert_not_null(sink, "%s", errstr);
        cr_assert_eq(zz_feed_sink_put(sink, &in.rec, errstr, sizeof(errstr)), 0,
                     "%s", errstr);
        cr_assert_eq(zz_feed_sink_flush(sink, 0, errstr, sizeof(errstr)), 0);
        zz_feed_sink_destroy(sink);
        snprintf(path, sizeof(path), "%s/identity-MCA.csv", dir);
        cr_assert_not(has_formula_cell(slurp(path)), "%s", slurp(path));
        cr_assert(strstr(slurp(path), ",\"'=1+1\",") != NULL, "%s",
                  slurp(path));

        opt.department = NULL;
        cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &opt, keep_first,
                                       &back, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     0, "%s", errstr);
        cr_assert_eq(st.rejected, 0);
        cr_assert_str_eq(back.rec.u.identity.dept_record_id, "=1+1");
        cr_assert_str_eq(back.rec.event_id, in.rec.event_id);
}

/* --snapshot: a second row with the same 人员编号 (another person) was
 * dropped with only a log warning, no reject line. */
Test(feed_file, snapshot_duplicate_record_id_is_rejected)
{
        static const char text[] = ID_HEADER ID_ROW_OK
            "500155107001,李四,500155195001101009,民政,MCA-0002,存活,低保,"
            "2019-01-05\n"
            "500155107001,王五,500155195001101009,民政,MCA-0001,存活,低保,"
            "2019-02-05\n";
        struct hostile h;
        size_t line = 0;

        cr_assert_eq(
            read_bytes(&h, text, sizeof(text) - 1, ZZ_FEED_IDENTITY, 1), 0,
            "%s", h.errstr);
        cr_assert_eq(h.st.rows, 3);
        cr_assert_eq(h.records, 2);
        cr_assert_eq(h.st.rejected, 1);
        cr_assert_str_eq(reject_reason(&h, 0, &line),
                         "人员编号: listed twice in this snapshot (the first "
                         "row is kept)");
        cr_assert_eq(line, 4);

        /* Not a snapshot: the same record id twice is two events. */
        cr_assert_eq(
            read_bytes(&h, text, sizeof(text) - 1, ZZ_FEED_IDENTITY, 0), 0,
            "%s", h.errstr);
        cr_assert_eq(h.records, 3);
        cr_assert_eq(h.st.rejected, 0);
}

/* A row with more cells than the header (an unquoted comma in a name
 * shifts every column after it) was accepted silently. */
Test(feed_file, row_with_extra_cells_is_rejected)
{
        static const char text[] = ID_HEADER ID_ROW_OK
            "500155107001,李四,500155195001101009,民政,MCA-0002,存活,低保,"
            "2019-01-05,extra\n"
            /* empty cells after the last column are harmless */
            "500155107001,王五,500155195001101009,民政,MCA-0003,存活,低保,"
            "2019-01-05,,\n";
        struct hostile h;
        size_t line = 0;

        cr_assert_eq(
            read_bytes(&h, text, sizeof(text) - 1, ZZ_FEED_IDENTITY, 0), 0,
            "%s", h.errstr);
        cr_assert_eq(h.st.rows, 3);
        cr_assert_eq(h.records, 2);
        cr_assert_eq(h.st.rejected, 1);
        cr_assert_str_eq(reject_reason(&h, 0, &line),
                         "row has 9 cells, the header 8 (a comma not in "
                         "quotes?)");
        cr_assert_eq(line, 3);
}

/* A row of text with a field of n bytes of 'A' as its 人员编号 (quoted,
 * with newlines inside when quoted is set), malloc'd. */
static char *long_field_file(size_t n, int quoted, size_t *len)
{
        const char *head =
            ID_HEADER ID_ROW_OK "500155107001,李四,500155195001101009,民政,";
        const char *tail = ",存活,低保,2019-01-05\n" ID_ROW_OK;
        size_t hl = strlen(head), tl = strlen(tail);
        char *text = malloc(hl + n + 2 + tl + 1);
        size_t i, at = hl;

        cr_assert_not_null(text);
        memcpy(text, head, hl);
        if (quoted)
                text[at++] = '"';
        for (i = 0; i < n; i++)
                text[at++] = quoted && i % 1000 == 999 ? '\n' : 'A';
        if (quoted)
                text[at++] = '"';
        memcpy(text + at, tail, tl + 1);
        *len = at + tl;
        return text;
}

/* A 100 MB field was accepted (316 MB of memory): a field over the cap is
 * refused with a reason, the rows after it are read, and the field is
 * never held whole in memory. */
Test(feed_csv, field_over_the_cap_is_rejected)
{
        size_t len;
        char *text = long_field_file(200 * 1024, 0, &len);
        struct hostile h;
        size_t line = 0;

        cr_assert_eq(read_bytes(&h, text, len, ZZ_FEED_IDENTITY, 0), 0, "%s",
                     h.errstr);
        free(text);
        cr_assert_eq(h.st.rows, 3);
        cr_assert_eq(h.records, 2);
        cr_assert_eq(h.st.rejected, 1);
        cr_assert_str_eq(reject_reason(&h, 0, &line),
                         "人员编号: longer than 65536 bytes (column 5)");
        cr_assert_eq(line, 3);
}

/* The same with the limits of the options, and a quoted field over many
 * lines: the row is still rejected on the line it starts on, and the
 * next row keeps its line number. */
Test(feed_csv, row_over_the_cap_is_rejected)
{
        size_t len;
        char *text = long_field_file(50 * 1000, 1, &len);
        struct hostile h;
        zz_feed_options_t opt = {.kind = ZZ_FEED_IDENTITY,
                                 .department = "MCA",
                                 .max_field_bytes = 1 << 20,
                                 .max_row_bytes = 4096};
        struct first_record f = {0};
        size_t line = 0;

        cr_assert_eq(read_bytes(&h, text, len, ZZ_FEED_IDENTITY, 0), 0, "%s",
                     h.errstr);
        /* Under the default caps: read whole, then too long for an id. */
        cr_assert_eq(h.st.rejected, 1);
        cr_assert_str_eq(reject_reason(&h, 0, NULL), "人员编号: too long");
        cr_assert_eq(zz_feed_read_file(h.path, ZZ_FEED_ENC_AUTO, &opt,
                                       keep_first, &f, NULL, NULL, &h.st,
                                       h.errstr, sizeof(h.errstr)),
                     0, "%s", h.errstr);
        free(text);
        cr_assert_eq(f.n, 2);
        cr_assert_eq(h.st.rejected, 1);
        cr_assert_str_eq(reject_reason(&h, 0, &line),
                         "row: longer than 4096 bytes");
        cr_assert_eq(line, 3);
        cr_assert_eq(f.rec.line, 2);
}

struct reject_ids {
        char ids[4][64];
        size_t n;
};

static void note_reject(size_t line, const char *record_id, void *opaque)
{
        struct reject_ids *r = opaque;

        (void)line;
        cr_assert_lt(r->n, 4);
        snprintf(r->ids[r->n++], sizeof(r->ids[0]), "%s",
                 record_id ? record_id : "(none)");
}

/* A snapshot ends a record whose row is rejected without its 人员编号:
 * a NUL byte or an over-long value in another column must not cost the
 * record its id (a record id with the NUL itself has none). */
Test(feed_file, rejected_row_keeps_its_record_id_for_the_snapshot)
{
        size_t len;
        char *text = long_field_file(100, 0, &len);
        static const char nul[] =
            ID_HEADER "500155107001,王五,500155195001101009,民政,MCA-0003,存活,"
                      "低保,2018-05-19\0junk\n"
                      "500155107001,赵六,500155195001101009,民政,MCA-1\0x,"
                      "存活,低保,2019-01-05\n";
        static const char long_name[] =
            ID_HEADER "500155107001,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,"
                      "500155195001101009,民政,MCA-0001,存活,低保,2019-01-05\n";
        struct hostile h;
        struct reject_ids ids = {0};
        zz_feed_options_t opt = {.kind = ZZ_FEED_IDENTITY,
                                 .department = "MCA",
                                 .snapshot = 1,
                                 .max_field_bytes = 50,
                                 .on_reject = note_reject,
                                 .reject_opaque = &ids};

        /* The long field is the record id itself: no id. */
        cr_assert_eq(read_bytes(&h, text, len, ZZ_FEED_IDENTITY, 0), 0);
        free(text);
        cr_assert_eq(zz_feed_read_file(h.path, ZZ_FEED_ENC_AUTO, &opt,
                                       count_record, &h, NULL, NULL, &h.st,
                                       h.errstr, sizeof(h.errstr)),
                     0, "%s", h.errstr);
        cr_assert_geq(ids.n, 1); /* then the last row's duplicate id */
        cr_assert_str_eq(ids.ids[0], "(none)");

        /* A long 姓名 instead. */
        memset(&ids, 0, sizeof(ids));
        opt.max_field_bytes = 20;
        cr_assert_eq(read_bytes(&h, long_name, sizeof(long_name) - 1,
                                ZZ_FEED_IDENTITY, 0),
                     0);
        cr_assert_eq(zz_feed_read_file(h.path, ZZ_FEED_ENC_AUTO, &opt,
                                       count_record, &h, NULL, NULL, &h.st,
                                       h.errstr, sizeof(h.errstr)),
                     0, "%s", h.errstr);
        cr_assert_geq(ids.n, 1);
        cr_assert_str_eq(ids.ids[0], "MCA-0001");
        cr_assert_str_eq(reject_reason(&h, 0, NULL),
                         "姓名: longer than 20 bytes (column 2)");

        memset(&ids, 0, sizeof(ids));
        opt.max_field_bytes = 0;
        cr_assert_eq(read_bytes(&h, nul, sizeof(nul) - 1, ZZ_FEED_IDENTITY, 0),
                     0);
        cr_assert_eq(zz_feed_read_file(h.path, ZZ_FEED_ENC_AUTO, &opt,
                                       count_record, &h, NULL, NULL, &h.st,
                                       h.errstr, sizeof(h.errstr)),
                     0, "%s", h.errstr);
        cr_assert_eq(ids.n, 2);
        cr_assert_str_eq(ids.ids[0], "MCA-0003");
        cr_assert_str_eq(ids.ids[1], "(none)");
}
