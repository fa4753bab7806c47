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
