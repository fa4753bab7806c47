/*
 * test_feed.c — department files in: CSV quoting and line numbers,
 * encodings, row validation with reject lines, stable event ids, and
 * snapshot diffs with the guard against truncated lists.
 *
 * The data files are in tests/data/feed/; each bad row there is commented
 * with the line it is on in the tests below.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/date.h"
#include "zizhu/feed.h"

#define MAXREC 128

struct collected {
        zz_feed_record_t recs[MAXREC];
        size_t n;
};

struct reject_line {
        size_t line;
        char reason[256];
        char masked[32];
};

static int collect(const zz_feed_record_t *rec, void *opaque)
{
        struct collected *c = opaque;

        cr_assert_lt(c->n, MAXREC);
        c->recs[c->n++] = *rec;
        return 0;
}

/* Copies a data file to a scratch directory (the reject file is written
 * beside it) and returns the copy's path. */
static char *scratch_copy(const char *name)
{
        static char path[512];
        char src[512];
        char dir[] = "/tmp/zz-test-feed-XXXXXX";
        FILE *in, *out;
        char buf[8192];
        size_t n;

        cr_assert_not_null(mkdtemp(dir));
        snprintf(src, sizeof(src), "%s/feed/%s", ZZ_TEST_DATA, name);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        in = fopen(src, "rb");
        cr_assert_not_null(in, "missing %s", src);
        out = fopen(path, "wb");
        cr_assert_not_null(out);
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
                fwrite(buf, 1, n, out);
        fclose(in);
        fclose(out);
        return path;
}

static size_t read_rejects(const char *path, struct reject_line *out,
                           size_t max)
{
        char errstr[256];
        zz_feed_reader_t *r =
            zz_feed_reader_open(path, ZZ_FEED_ENC_AUTO, errstr, sizeof(errstr));
        zz_feed_row_t *row;
        size_t n = 0;
        int first = 1;

        if (r == NULL)
                return 0;
        while (zz_feed_reader_next(r, &row, errstr, sizeof(errstr)) == 1) {
                if (first) {
                        first = 0;
                        cr_assert_str_eq(row->fields[0], "行号");
                        continue;
                }
                cr_assert_lt(n, max);
                out[n].line = strtoul(row->fields[0], NULL, 10);
                snprintf(out[n].reason, sizeof(out[n].reason), "%s",
                         row->fields[1]);
                snprintf(out[n].masked, sizeof(out[n].masked), "%s",
                         row->n_fields > 2 ? row->fields[2] : "");
                n++;
        }
        zz_feed_reader_destroy(r);
        return n;
}

static zz_date_t d(const char *s)
{
        zz_date_t out;

        cr_assert_eq(zz_date_parse(s, strlen(s), &out), 0);
        return out;
}

/* ------------------------------------------------------------------ */

Test(feed_csv, quoting_embedded_newlines_and_line_numbers)
{
        const char *text = "a,b,c\r\n"
                           "1,\"x, y\",3\r\n"
                           "\r\n"
                           "2,\"two\nlines\",\"say \"\"hi\"\"\"\r\n"
                           "   \n"
                           "3,, z \n"
                           "4,last,row";
        char errstr[256];
        zz_feed_reader_t *r = zz_feed_reader_open_mem(
            text, strlen(text), ZZ_FEED_ENC_AUTO, errstr, sizeof(errstr));
        zz_feed_row_t *row;

        cr_assert_not_null(r, "%s", errstr);
        cr_assert_eq(zz_feed_reader_next(r, &row, errstr, sizeof(errstr)), 1);
        cr_assert_eq(row->line, 1);
        cr_assert_eq(row->n_fields, 3);
        cr_assert_eq(zz_feed_reader_next(r, &row, errstr, sizeof(errstr)), 1);
        cr_assert_eq(row->line, 2);
        cr_assert_str_eq(row->fields[1], "x, y");
        cr_assert_eq(zz_feed_reader_next(r, &row, errstr, sizeof(errstr)), 1);
        cr_assert_eq(row->line, 4);
        cr_assert_str_eq(row->fields[1], "two\nlines");
        cr_assert_str_eq(row->fields[2], "say \"hi\"");
        cr_assert_eq(zz_feed_reader_next(r, &row, errstr, sizeof(errstr)), 1);
        cr_assert_eq(row->line, 7);
        cr_assert_str_eq(row->fields[1], "");
        cr_assert_str_eq(row->fields[2], "z");
        cr_assert_eq(zz_feed_reader_next(r, &row, errstr, sizeof(errstr)), 1);
        cr_assert_eq(row->line, 8);
        cr_assert_str_eq(row->fields[2], "row");
        cr_assert_eq(zz_feed_reader_next(r, &row, errstr, sizeof(errstr)), 0);
        zz_feed_reader_destroy(r);
}

Test(feed_csv, unterminated_quote_is_an_error)
{
        const char *text = "a,b\n1,\"open field\n2,3\n";
        char errstr[256];
        zz_feed_reader_t *r = zz_feed_reader_open_mem(
            text, strlen(text), ZZ_FEED_ENC_AUTO, errstr, sizeof(errstr));
        zz_feed_row_t *row;
        int rc;

        cr_assert_not_null(r);
        while ((rc = zz_feed_reader_next(r, &row, errstr, sizeof(errstr))) == 1)
                ;
        cr_assert_eq(rc, -1);
        cr_assert(strstr(errstr, "line 2") != NULL, "%s", errstr);
        zz_feed_reader_destroy(r);
}

Test(feed_csv, encoding_detection)
{
        const unsigned char gbk[] = {0xC9, 0xED, 0xB7, 0xDD, ',', 'a', '\n'};
        const unsigned char utf8[] = "身份证号码,a\n\xff\xfe";
        zz_feed_enc_t e;

        cr_assert_eq(zz_feed_enc_detect(gbk, sizeof(gbk)), ZZ_FEED_ENC_GB18030);
        /* Only the header line decides. */
        cr_assert_eq(zz_feed_enc_detect(utf8, sizeof(utf8) - 1),
                     ZZ_FEED_ENC_UTF8);
        cr_assert_eq(zz_feed_enc_parse("GBK", &e), 0);
        cr_assert_eq(e, ZZ_FEED_ENC_GB18030);
        cr_assert_eq(zz_feed_enc_parse("latin1", &e), -1);
}

Test(feed_csv, large_file_chunks_keep_multibyte_text_whole)
{
        /* Rows of Chinese text across many 64 KiB chunk boundaries, in
         * both encodings. */
        char *buf = malloc(400000);
        size_t len = 0;
        int i;
        char errstr[256];
        zz_feed_reader_t *r;
        zz_feed_row_t *row;
        size_t rows = 0;

        len += (size_t)snprintf(buf + len, 400000 - len, "姓名,编号\n");
        for (i = 0; i < 9000; i++)
                len += (size_t)snprintf(buf + len, 400000 - len,
                                        "回龙镇居民,%d\n", i);
        r = zz_feed_reader_open_mem(buf, len, ZZ_FEED_ENC_AUTO, errstr,
                                    sizeof(errstr));
        cr_assert_not_null(r);
        while (zz_feed_reader_next(r, &row, errstr, sizeof(errstr)) == 1) {
                cr_assert_eq(row->bad_text, 0, "line %zu", row->line);
                if (rows > 0)
                        cr_assert_str_eq(row->fields[0], "回龙镇居民");
                cr_assert_eq(row->line, rows + 1);
                rows++;
        }
        cr_assert_eq(rows, 9001);
        zz_feed_reader_destroy(r);
        free(buf);
}

/* ------------------------------------------------------------------ */

Test(feed_row, dates_and_times_as_clerks_write_them)
{
        zz_date_t x;
        zz_ts_t t;

        cr_assert_eq(zz_feed_parse_date("2019-10-15", &x), 0);
        cr_assert_eq(x, d("2019-10-15"));
        cr_assert_eq(zz_feed_parse_date("2019/10/5", &x), 0);
        cr_assert_eq(x, d("2019-10-05"));
        cr_assert_eq(zz_feed_parse_date("20191015", &x), 0);
        cr_assert_eq(zz_feed_parse_date("2019年3月1日", &x), 0);
        cr_assert_eq(x, d("2019-03-01"));
        cr_assert_eq(zz_feed_parse_date("2019-13-01", &x), -1);
        cr_assert_eq(zz_feed_parse_date("2019-02-29", &x), -1);
        cr_assert_eq(zz_feed_parse_date("15/10/2019", &x), -1);
        cr_assert_eq(zz_feed_parse_ts("2019-10-15 10:00", &t), 0);
        cr_assert_eq(t, zz_ts_from_cst_date(d("2019-10-15")) + 36000000);
        cr_assert_eq(zz_feed_parse_ts("2019-10-15T10:00:00+08:00", &t), 0);
        cr_assert_eq(t, zz_ts_from_cst_date(d("2019-10-15")) + 36000000);
        cr_assert_eq(zz_feed_parse_ts("2019-10-15 25:00", &t), -1);
}

Test(feed_row, labels_and_codes)
{
        cr_assert_str_eq(zz_feed_department_code("民政"), "MCA");
        cr_assert_str_eq(zz_feed_department_code("dpf"), "DPF");
        cr_assert_null(zz_feed_department_code("税务"));
        cr_assert_str_eq(zz_feed_category_code("低保"), "MCA.DIBAO");
        cr_assert_str_eq(zz_feed_category_code("持证残疾人"), "DPF.DISABLED");
        cr_assert_str_eq(zz_feed_category_code("RRB.MONITORED"),
                         "RRB.MONITORED");
        cr_assert_null(zz_feed_category_code("低保户"));
}

Test(feed_file, identity_template_every_kind_of_bad_row)
{
        char *path = scratch_copy("identity_mixed.csv");
        static struct collected c;
        zz_feed_options_t opt = {
            .kind = ZZ_FEED_IDENTITY, .department = "MCA", .snapshot = 0};
        zz_feed_stats_t st;
        char errstr[256];
        struct reject_line rj[32];
        size_t n;
        static const struct {
                size_t line;
                const char *reason;
        } want[] = {
            {3, "身份证号码: check character does not match"},
            {4, "人员身份标识: unknown category"},
            {5, "认定日期: not a date"},
            {9, "text: characters not valid"},
            {10, "人员身份标识: category RRB.POOR is not certified by MCA"},
            {13, "终止日期: required to end an identity"},
            {17, "归属地: not a region code"},
            {18, "部门标识: DPF row in a MCA list"},
        };
        size_t i;

        opt.default_reported_at = zz_ts_from_cst_date(d("2019-09-30"));
        memset(&c, 0, sizeof(c));
        cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &opt, collect,
                                       &c, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     0, "%s", errstr);
        cr_assert_eq(st.encoding, ZZ_FEED_ENC_UTF8);
        cr_assert_eq(st.rows, 15);
        cr_assert_eq(st.records, 7);
        cr_assert_eq(st.rejected, 8);
        n = read_rejects(st.rejects_path, rj, 32);
        cr_assert_eq(n, 8);
        for (i = 0; i < n; i++) {
                cr_assert_eq(rj[i].line, want[i].line, "reject %zu", i);
                cr_assert(strncmp(rj[i].reason, want[i].reason,
                                  strlen(want[i].reason)) == 0,
                          "line %zu: \"%s\"", rj[i].line, rj[i].reason);
        }
        /* The number is masked in the reject file, never in full. */
        cr_assert_str_eq(rj[0].masked, "5001**********1010");

        /* The events, in file order. */
        cr_assert_eq(c.recs[0].line, 2);
        cr_assert_eq(c.recs[0].u.identity.action, ZZ_FEED_ID_GRANT);
        cr_assert_str_eq(c.recs[0].u.identity.category, "MCA.DIBAO");
        cr_assert_str_eq(c.recs[0].u.identity.department, "MCA");
        cr_assert_str_eq(c.recs[0].u.identity.approving_region, "500155");
        cr_assert_eq(c.recs[0].u.identity.valid_to, ZZ_DATE_NONE);
        cr_assert_eq(c.recs[0].u.identity.reported_at,
                     zz_ts_from_cst_date(d("2019-09-20")) + 8 * 3600000);
        cr_assert(strncmp(c.recs[0].event_id, "id-MCA-", 7) == 0);

        cr_assert_eq(c.recs[1].line, 6); /* quoted commas */
        cr_assert_str_eq(c.recs[1].u.identity.dept_record_id, "MCA-0006,A");
        cr_assert_str_eq(c.recs[1].u.identity.category, "MCA.TEKUN");
        cr_assert_str_eq(c.recs[1].u.identity.attrs, "supported=dispersed");
        cr_assert_eq(c.recs[1].u.identity.valid_from, d("2019-02-03"));
        cr_assert_eq(c.recs[1].u.identity.reported_at, opt.default_reported_at);

        cr_assert_eq(c.recs[2].line, 7); /* a name over two lines */
        cr_assert_str_eq(c.recs[2].u.identity.attrs,
                         "institution=FLY001;institution_level=city;"
                         "supported=institution");

        cr_assert_eq(c.recs[3].line, 11);
        cr_assert_eq(c.recs[3].u.identity.action, ZZ_FEED_ID_DECEASED);
        cr_assert_eq(c.recs[3].u.identity.deceased_on, d("2019-11-03"));
        cr_assert_str_eq(c.recs[3].u.identity.category, "");

        cr_assert_eq(c.recs[4].line, 12);
        cr_assert_str_eq(c.recs[4].u.identity.attrs,
                         "subgroup=college_student");
        cr_assert_eq(c.recs[4].u.identity.valid_from, d("2019-03-01"));

        cr_assert_eq(c.recs[5].line, 14);
        cr_assert_eq(c.recs[5].u.identity.action, ZZ_FEED_ID_REVOKE);

        cr_assert_eq(c.recs[6].line, 16);
        cr_assert_str_eq(c.recs[6].u.identity.person_id, "50015519880808109X");
        cr_assert_str_eq(c.recs[6].u.identity.category, "MCA.ORPHAN");
}

Test(feed_file, same_file_twice_gives_the_same_event_ids)
{
        char *path = scratch_copy("identity_mixed.csv");
        static struct collected a, b;
        zz_feed_options_t opt = {
            .kind = ZZ_FEED_IDENTITY, .department = "MCA", .snapshot = 0};
        zz_feed_stats_t st;
        char errstr[256];
        size_t i, j;

        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &opt, collect,
                                       &a, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     0);
        /* Fed again a day later: reported_at differs, the facts do not. */
        opt.default_reported_at = 86400000;
        cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &opt, collect,
                                       &b, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     0);
        cr_assert_eq(a.n, b.n);
        for (i = 0; i < a.n; i++) {
                cr_assert_str_eq(a.recs[i].event_id, b.recs[i].event_id);
                for (j = 0; j < i; j++)
                        cr_assert_str_neq(a.recs[i].event_id,
                                          a.recs[j].event_id);
        }
        /* Any change of content is another event. */
        {
                zz_feed_record_t r = a.recs[0];

                snprintf(r.u.identity.attrs, sizeof(r.u.identity.attrs), "x");
                zz_feed_event_id(&r);
                cr_assert_str_neq(r.event_id, a.recs[0].event_id);
        }
}

Test(feed_file, gb18030_file)
{
        char *path = scratch_copy("identity_gb18030.csv");
        static struct collected c;
        zz_feed_options_t opt = {
            .kind = ZZ_FEED_IDENTITY, .department = "残联", .snapshot = 0};
        zz_feed_stats_t st;
        char errstr[256];
        struct reject_line rj[4];

        memset(&c, 0, sizeof(c));
        cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &opt, collect,
                                       &c, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     0, "%s", errstr);
        cr_assert_eq(st.encoding, ZZ_FEED_ENC_GB18030);
        cr_assert_eq(c.n, 2);
        cr_assert_str_eq(c.recs[0].u.identity.category, "DPF.DISABLED");
        cr_assert_str_eq(c.recs[0].u.identity.attrs, "level=1");
        cr_assert_str_eq(c.recs[1].u.identity.attrs, "level=3");
        cr_assert_eq(st.rejected, 1);
        cr_assert_eq(read_rejects(st.rejects_path, rj, 4), 1);
        cr_assert_eq(rj[0].line, 4);
        cr_assert(strstr(rj[0].reason, "text:") != NULL);

        /* Read as UTF-8 by mistake: the header does not match. */
        cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_UTF8, &opt, collect,
                                       &c, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     -1);
        cr_assert(strstr(errstr, "required column") != NULL, "%s", errstr);
}

/* Issue 15: a record without an attribute its category requires (the
 * vocabulary's DPF.DISABLED level) is rejected with the attribute named,
 * not sent on to be decided as 0. The level may come from its column or
 * from 身份属性. */
Test(feed_file, row_without_a_required_attribute_is_rejected)
{
        char *path = scratch_copy("identity_missing_attr.csv");
        static struct collected c;
        zz_feed_options_t opt = {
            .kind = ZZ_FEED_IDENTITY, .department = "残联", .snapshot = 0};
        zz_feed_stats_t st;
        char errstr[256];
        struct reject_line rj[4];

        memset(&c, 0, sizeof(c));
        cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &opt, collect,
                                       &c, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     0, "%s", errstr);
        cr_assert_eq(c.n, 2);
        cr_assert_str_eq(c.recs[0].u.identity.attrs, "level=1");
        cr_assert_str_eq(c.recs[1].u.identity.attrs, "level=3");
        cr_assert_eq(st.rejected, 1);
        cr_assert_eq(read_rejects(st.rejects_path, rj, 4), 1);
        cr_assert_eq(rj[0].line, 3);
        cr_assert_str_eq(rj[0].reason,
                         "category DPF.DISABLED requires attribute level");
}

Test(feed_file, enrollment_export)
{
        char *path = scratch_copy("enrollment_mixed.csv");
        static struct collected c;
        zz_feed_options_t opt = {
            .kind = ZZ_FEED_ENROLLMENT, .department = NULL, .snapshot = 0};
        zz_feed_stats_t st;
        char errstr[256];
        struct reject_line rj[8];
        const zz_feed_enrollment_t *e;

        memset(&c, 0, sizeof(c));
        cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &opt, collect,
                                       &c, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     0, "%s", errstr);
        cr_assert_eq(c.n, 3);
        cr_assert_eq(read_rejects(st.rejects_path, rj, 8), 4);
        cr_assert_eq(rj[0].line, 4);
        cr_assert(strstr(rj[0].reason, "缴费档次") != NULL);
        cr_assert_eq(rj[1].line, 5);
        cr_assert(strstr(rj[1].reason, "参保类别") != NULL);
        cr_assert_eq(rj[2].line, 6);
        cr_assert(strstr(rj[2].reason, "登记日期") != NULL);
        cr_assert_eq(rj[3].line, 7);
        cr_assert(strstr(rj[3].reason, "身份证号码") != NULL);

        e = &c.recs[0].u.enrollment;
        cr_assert_str_eq(e->department, "NHSA");
        cr_assert_str_eq(e->dept_record_id, "EN-1");
        cr_assert_eq(e->tier, 1);
        cr_assert_eq(e->enroll_class, ZZ_FEED_CLASS_ADULT);
        cr_assert_eq(e->kind, ZZ_FEED_KIND_ANNUAL);
        cr_assert_eq(e->registered_on, d("2019-10-15"));
        e = &c.recs[1].u.enrollment;
        cr_assert_eq(e->tier, 2);
        cr_assert(strncmp(e->dept_record_id, "EN2020-", 7) == 0);
        e = &c.recs[2].u.enrollment;
        cr_assert_eq(e->action, ZZ_FEED_ENR_CANCEL);
        cr_assert_eq(e->kind, ZZ_FEED_KIND_MID_YEAR);
        cr_assert_str_eq(e->unit, "回龙镇中心小学,代缴");
}

Test(feed_file, payment_export)
{
        char *path = scratch_copy("payment_mixed.csv");
        static struct collected c;
        zz_feed_options_t opt = {
            .kind = ZZ_FEED_PAYMENT, .department = NULL, .snapshot = 0};
        zz_feed_stats_t st;
        char errstr[256];
        struct reject_line rj[16];
        const zz_feed_payment_t *p;
        size_t want_lines[] = {4, 5, 6, 8, 9, 10, 11};
        size_t i;

        memset(&c, 0, sizeof(c));
        cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &opt, collect,
                                       &c, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     0, "%s", errstr);
        cr_assert_eq(c.n, 3);
        cr_assert_eq(read_rejects(st.rejects_path, rj, 16), 7);
        for (i = 0; i < 7; i++)
                cr_assert_eq(rj[i].line, want_lines[i], "%zu: %s", i,
                             rj[i].reason);
        cr_assert(strstr(rj[0].reason, "应缴金额 is not") != NULL);
        p = &c.recs[0].u.payment;
        cr_assert_eq(p->contribution_fen, 25000);
        cr_assert_eq(p->subsidy_applied_fen, 17500);
        cr_assert_eq(p->paid_fen, 7500);
        cr_assert_eq(p->kind, ZZ_FEED_PAY_PAYMENT);
        cr_assert_str_eq(p->dept_record_id, "R0001");
        p = &c.recs[2].u.payment;
        cr_assert_eq(p->kind, ZZ_FEED_PAY_REFUND);
        cr_assert_eq(p->refund_fen, 7500);
        cr_assert_str_eq(p->dept_record_id, "R-R0001");
        cr_assert_str_eq(p->receipt, "R0001");
}

Test(feed_file, missing_required_column_refuses_the_file)
{
        char path[] = "/tmp/zz-test-feed-hdr-XXXXXX";
        int fd = mkstemp(path);
        const char *text =
            "身份证号码,姓名,参保年度\n500155197001010114,甲,2020\n";
        zz_feed_options_t opt = {
            .kind = ZZ_FEED_PAYMENT, .department = NULL, .snapshot = 0};
        zz_feed_stats_t st;
        char errstr[256];
        static struct collected c;

        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &opt, collect,
                                       &c, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     -1);
        cr_assert(strstr(errstr, "应缴金额") != NULL, "%s", errstr);
        unlink(path);
}

Test(feed_file, json_has_the_schema_fields)
{
        char *path = scratch_copy("identity_mixed.csv");
        static struct collected c;
        zz_feed_options_t opt = {
            .kind = ZZ_FEED_IDENTITY, .department = "MCA", .snapshot = 0};
        zz_feed_stats_t st;
        char errstr[256];
        char json[2048];

        memset(&c, 0, sizeof(c));
        cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &opt, collect,
                                       &c, NULL, NULL, &st, errstr,
                                       sizeof(errstr)),
                     0);
        cr_assert_eq(zz_feed_record_to_json(&c.recs[2], json, sizeof(json)), 0);
        cr_assert(strstr(json, "\"attrs\":{\"institution\":\"FLY001\","
                               "\"institution_level\":\"city\"") != NULL,
                  "%s", json);
        cr_assert(strstr(json, "\"valid_to\":null") != NULL);
        cr_assert(strstr(json, "\"valid_from\":\"2019-03-04\"") != NULL);
        cr_assert_eq(zz_feed_record_to_json(&c.recs[2], json, 40), -1);
}

/* ------------------------------------------------------------------ */
/* Snapshots                                                           */

static zz_feed_snapshot_t *snapshot_of(const char *name)
{
        char *path = scratch_copy(name);
        static struct collected c;
        zz_feed_options_t opt = {
            .kind = ZZ_FEED_IDENTITY, .department = "DPF", .snapshot = 1};
        zz_feed_stats_t st;
        char errstr[256];
        zz_feed_snapshot_t *s = zz_feed_snapshot_new("DPF");
        size_t i;

        memset(&c, 0, sizeof(c));
        zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &opt, collect, &c, NULL, NULL,
                          &st, errstr, sizeof(errstr));
        for (i = 0; i < c.n; i++)
                cr_assert_eq(zz_feed_snapshot_add(s, &c.recs[i].u.identity), 0);
        return s;
}

static size_t count_action(const zz_feed_diff_t *diff, int action)
{
        size_t i, n = 0;

        for (i = 0; i < diff->n_events; i++)
                n += diff->events[i].u.identity.action == action;
        return n;
}

static const zz_feed_identity_t *event_for(const zz_feed_diff_t *diff,
                                           const char *record, int action)
{
        size_t i;

        for (i = 0; i < diff->n_events; i++) {
                const zz_feed_identity_t *r = &diff->events[i].u.identity;

                if (strcmp(r->dept_record_id, record) == 0 &&
                    r->action == action)
                        return r;
        }
        return NULL;
}

Test(feed_snapshot, first_snapshot_grants_everything)
{
        zz_feed_snapshot_t *none = zz_feed_snapshot_new("DPF");
        zz_feed_snapshot_t *v1 = snapshot_of("snap_dpf_v1.csv");
        zz_feed_diff_t diff;

        cr_assert_eq(zz_feed_snapshot_count(v1), 40);
        cr_assert_eq(
            zz_feed_snapshot_diff(none, v1, d("2019-09-01"), 0, 0.05, 0, &diff),
            0);
        cr_assert_eq(diff.refused, 0);
        cr_assert_eq(diff.grants, 40);
        cr_assert_eq(diff.n_events, 40);
        cr_assert_eq(count_action(&diff, ZZ_FEED_ID_GRANT), 40);
        zz_feed_diff_free(&diff);
        zz_feed_snapshot_destroy(none);
        zz_feed_snapshot_destroy(v1);
}

Test(feed_snapshot, genuine_snapshot_emits_exactly_the_changes)
{
        zz_feed_snapshot_t *v1 = snapshot_of("snap_dpf_v1.csv");
        zz_feed_snapshot_t *v2 = snapshot_of("snap_dpf_v2.csv");
        zz_feed_diff_t diff, again;
        const zz_feed_identity_t *e;
        size_t i;

        cr_assert_eq(
            zz_feed_snapshot_diff(v1, v2, d("2019-10-01"), 0, 0.05, 0, &diff),
            0);
        cr_assert_eq(diff.refused, 0);
        cr_assert_eq(diff.prev_active, 40);
        cr_assert_eq(diff.grants, 3);
        cr_assert_eq(diff.changes, 1);
        cr_assert_eq(diff.ends, 2);
        cr_assert_eq(diff.deaths, 1);
        cr_assert_eq(diff.n_events, 7);
        /* Gone from the list: ends the day before the list's date. */
        e = event_for(&diff, "DPF-0007", ZZ_FEED_ID_END);
        cr_assert_not_null(e);
        cr_assert_eq(e->valid_to, d("2019-09-30"));
        cr_assert_str_eq(e->category, "DPF.DISABLED");
        /* An end date appeared. */
        e = event_for(&diff, "DPF-0011", ZZ_FEED_ID_END);
        cr_assert_not_null(e);
        cr_assert_eq(e->valid_to, d("2019-09-15"));
        cr_assert_not_null(event_for(&diff, "DPF-0003", ZZ_FEED_ID_CORRECT));
        e = event_for(&diff, "DPF-0021", ZZ_FEED_ID_DECEASED);
        cr_assert_not_null(e);
        cr_assert_eq(e->deceased_on, d("2019-09-01"));
        for (i = 40; i < 43; i++) {
                char rid[16];

                snprintf(rid, sizeof(rid), "DPF-%04zu", i);
                cr_assert_not_null(event_for(&diff, rid, ZZ_FEED_ID_GRANT));
        }
        /* The same two lists give the same events, ids included. */
        cr_assert_eq(
            zz_feed_snapshot_diff(v1, v2, d("2019-10-01"), 0, 0.05, 0, &again),
            0);
        cr_assert_eq(again.n_events, diff.n_events);
        for (i = 0; i < diff.n_events; i++)
                cr_assert_str_eq(again.events[i].event_id,
                                 diff.events[i].event_id);
        /* And a list compared with itself gives nothing. */
        zz_feed_diff_free(&again);
        cr_assert_eq(
            zz_feed_snapshot_diff(v2, v2, d("2019-10-01"), 0, 0.05, 0, &again),
            0);
        cr_assert_eq(again.n_events, 0);
        zz_feed_diff_free(&again);
        zz_feed_diff_free(&diff);
        zz_feed_snapshot_destroy(v1);
        zz_feed_snapshot_destroy(v2);
}

Test(feed_snapshot, truncated_snapshot_is_refused_unless_forced)
{
        zz_feed_snapshot_t *v1 = snapshot_of("snap_dpf_v1.csv");
        zz_feed_snapshot_t *cut = snapshot_of("snap_dpf_truncated.csv");
        zz_feed_diff_t diff;

        cr_assert_eq(zz_feed_snapshot_count(cut), 20);
        cr_assert_eq(
            zz_feed_snapshot_diff(v1, cut, d("2019-10-01"), 0, 0.05, 0, &diff),
            0);
        cr_assert_eq(diff.refused, 1);
        cr_assert_eq(diff.ends, 20);
        cr_assert_eq(diff.n_events, 0);
        zz_feed_diff_free(&diff);
        /* A larger share allowed, or forced: the ends go out. */
        cr_assert_eq(
            zz_feed_snapshot_diff(v1, cut, d("2019-10-01"), 0, 0.6, 0, &diff),
            0);
        cr_assert_eq(diff.refused, 0);
        cr_assert_eq(diff.n_events, 20);
        zz_feed_diff_free(&diff);
        cr_assert_eq(
            zz_feed_snapshot_diff(v1, cut, d("2019-10-01"), 0, 0.05, 1, &diff),
            0);
        cr_assert_eq(diff.refused, 0);
        cr_assert_eq(count_action(&diff, ZZ_FEED_ID_END), 20);
        zz_feed_diff_free(&diff);
        zz_feed_snapshot_destroy(v1);
        zz_feed_snapshot_destroy(cut);
}

Test(feed_snapshot, duplicate_record_ids_are_detected)
{
        zz_feed_snapshot_t *s = zz_feed_snapshot_new("DPF");
        zz_feed_identity_t r;

        memset(&r, 0, sizeof(r));
        snprintf(r.dept_record_id, sizeof(r.dept_record_id), "A");
        cr_assert_eq(zz_feed_snapshot_add(s, &r), 0);
        cr_assert_eq(zz_feed_snapshot_add(s, &r), 1);
        cr_assert_eq(zz_feed_snapshot_count(s), 1);
        zz_feed_snapshot_destroy(s);
}

/* ------------------------------------------------------------------ */
/* Close commands and their positions                                  */

static int bytes_contain(const void *data, size_t len, const char *s)
{
        size_t n = strlen(s), i;

        for (i = 0; i + n <= len; i++) {
                if (memcmp((const char *)data + i, s, n) == 0)
                        return 1;
        }
        return 0;
}

Test(feed_close, positions_parse)
{
        zz_feed_position_t *p = NULL;
        size_t n = 99;
        char errstr[256];
        static const char *const bad[] = {"zz.identity:0",
                                          "zz.identity:0:",
                                          ":0:5",
                                          "zz.identity:-1:5",
                                          "zz.identity:0:-5",
                                          "zz.identity:x:5",
                                          "zz.identity:0:5,",
                                          "zz.identity:0:5 ",
                                          "zz id:0:5",
                                          "zz.identity:2147483648:5",
                                          "zz.identity:0:5,zz.identity:0:6"};
        size_t i;

        cr_assert_eq(zz_feed_positions_parse("zz.identity:0:1842,"
                                             "zz.identity:1:0,"
                                             "zz.payment:3:5000000000",
                                             &p, &n, errstr, sizeof(errstr)),
                     0, "%s", errstr);
        cr_assert_eq(n, 3);
        cr_expect_str_eq(p[0].topic, "zz.identity");
        cr_expect_eq(p[0].partition, 0);
        cr_expect_eq(p[0].offset, 1842);
        cr_expect_eq(p[1].partition, 1);
        cr_expect_eq(p[1].offset, 0);
        cr_expect_str_eq(p[2].topic, "zz.payment");
        cr_expect_eq(p[2].partition, 3);
        cr_expect_eq(p[2].offset, 5000000000LL);
        free(p);
        cr_assert_eq(
            zz_feed_positions_parse("", &p, &n, errstr, sizeof(errstr)), 0);
        cr_expect_null(p);
        cr_expect_eq(n, 0);
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                cr_expect_eq(zz_feed_positions_parse(bad[i], &p, &n, errstr,
                                                     sizeof(errstr)),
                             -1, "%s accepted", bad[i]);
                cr_expect_null(p);
        }
}

Test(feed_close, positions_travel_in_the_event_and_the_json)
{
        zz_feed_position_t pos[2] = {{"zz.identity", 0, 7},
                                     {"zz.payment", 2, 0}};
        zz_feed_record_t rec;
        zz_feed_control_t *c = &rec.u.control;
        zz_feed_encoder_t *enc;
        char errstr[256], id[ZZ_FEED_EVENT_ID_SIZE];
        char json[2048];
        const void *data;
        size_t len;

        memset(&rec, 0, sizeof(rec));
        rec.kind = ZZ_FEED_CONTROL;
        snprintf(c->department, sizeof(c->department), "NHSA");
        snprintf(c->dept_record_id, sizeof(c->dept_record_id), "R-1");
        c->command = ZZ_FEED_CMD_CLOSE_PERIOD;
        snprintf(c->jurisdiction, sizeof(c->jurisdiction), "huilong");
        snprintf(c->period, sizeof(c->period), "2020");
        c->issued_at = 1600000000000LL;
        zz_feed_event_id(&rec);
        snprintf(id, sizeof(id), "%s", rec.event_id);
        c->positions = pos;
        c->n_positions = 2;
        /* the positions are not part of the command's identity */
        zz_feed_event_id(&rec);
        cr_expect_str_eq(rec.event_id, id);

        cr_assert_eq(zz_feed_record_to_json(&rec, json, sizeof(json)), 0);
        cr_expect(strstr(json, "\"positions\":[{\"topic\":\"zz.identity\","
                               "\"partition\":0,\"offset\":7},{\"topic\":"
                               "\"zz.payment\",\"partition\":2,\"offset\":"
                               "0}]") != NULL,
                  "%s", json);
        enc = zz_feed_encoder_new(errstr, sizeof(errstr));
        cr_assert_not_null(enc, "%s", errstr);
        cr_assert_eq(
            zz_feed_encode(enc, &rec, &data, &len, errstr, sizeof(errstr)), 0,
            "%s", errstr);
        cr_expect(bytes_contain(data, len, "zz.payment"));
        /* a partition named twice is refused before it is sent */
        snprintf(pos[1].topic, sizeof(pos[1].topic), "zz.identity");
        pos[1].partition = 0;
        cr_expect_eq(
            zz_feed_encode(enc, &rec, &data, &len, errstr, sizeof(errstr)), -1);
        cr_expect(strstr(errstr, "same partition") != NULL, "%s", errstr);
        c->positions = NULL;
        c->n_positions = 0;
        cr_assert_eq(zz_feed_record_to_json(&rec, json, sizeof(json)), 0);
        cr_expect(strstr(json, "\"positions\":null") != NULL, "%s", json);
        cr_assert_eq(
            zz_feed_encode(enc, &rec, &data, &len, errstr, sizeof(errstr)), 0,
            "%s", errstr);
        zz_feed_encoder_destroy(enc);
}
