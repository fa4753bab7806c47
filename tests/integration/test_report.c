/*
 * test_report.c — the reports after a small Huilong settlement: the
 * terminal table and CSV carry the hand-checked numbers, the HTML page is
 * self-contained (no external reference) with inline SVG charts, no report
 * contains an ID number, the village progress counts the enrolled persons
 * against the targets of the notice; when chromium is installed, the page
 * renders to a non-empty screenshot.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "zizhu/report.h"

#include "zz_test.h"

static char *slurp(const char *path, size_t *len)
{
        FILE *fp = fopen(path, "rb");
        char *buf;
        long n;

        if (fp == NULL)
                return NULL;
        fseek(fp, 0, SEEK_END);
        n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        buf = malloc((size_t)n + 1);
        if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
                free(buf);
                fclose(fp);
                return NULL;
        }
        buf[n] = '\0';
        fclose(fp);
        *len = (size_t)n;
        return buf;
}

static char *report(PGconn *c, zz_report_kind_t kind, zz_report_format_t f,
                    const char *path)
{
        FILE *fp = fopen(path, "w");
        char errstr[512];
        size_t len;

        cr_assert(fp != NULL);
        cr_assert(
            zz_report_write(c, kind, NULL, f, fp, errstr, sizeof(errstr)) == 0,
            "%s", errstr);
        fclose(fp);
        return slurp(path, &len);
}

Test(report, settlement_backlog_progress, .timeout = 240)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        char a[19], b[19], c[19], dir[] = "/tmp/zzreportXXXXXX", path[256];
        char *table, *csv, *html, *backlog, *progress, *payers;
        PGconn *conn;

        cr_assert(zz_test_env_new(&env, "rep") == 0);
        zz_test_idno("500228", "19900101", 41, a);
        zz_test_idno("500228", "19800101", 42, b);
        zz_test_idno("500228", "19700101", 43, c);
        zz_test_identity(&ms, a, "DPF", "DPF-A", "GRANT", "DPF.DISABLED",
                         "level=1", "2015-03-01", "500155",
                         "2019-09-20T08:00:00+08:00");
        zz_test_identity(&ms, a, "NHC", "NHC-A", "GRANT", "NHC.FP_SPECIAL",
                         "relation=self", "2012-01-01", "500155",
                         "2019-11-02T09:30:00+08:00");
        zz_test_enrollment(&ms, a, 2020, 1, "ANNUAL", "2019-10-15",
                           "500155107001");
        zz_test_payment(&ms, a, 2020, 25000, 17500, 0,
                        "2019-10-15T10:00:00+08:00");
        zz_test_identity(&ms, b, "MCA", "MCA-B", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-09-20T08:00:00+08:00");
        zz_test_enrollment(&ms, b, 2020, 2, "ANNUAL", "2019-10-17",
                           "500155107001");
        zz_test_payment(&ms, b, 2020, 62500, 25000, 0,
                        "2019-10-17T10:00:00+08:00");
        /* C: eligible, not enrolled: a coverage gap in the backlog */
        zz_test_identity(&ms, c, "MCA", "MCA-C", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155107",
                         "2019-09-20T08:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "huilong", "2020", "2019-12-20T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);

        cr_assert(mkdtemp(dir) != NULL);
        conn = PQconnectdb(env.pg);
        snprintf(path, sizeof(path), "%s/settlement.txt", dir);
        table = report(conn, ZZ_REPORT_SETTLEMENT, ZZ_REPORT_TABLE, path);
        snprintf(path, sizeof(path), "%s/settlement.csv", dir);
        csv = report(conn, ZZ_REPORT_SETTLEMENT, ZZ_REPORT_CSV, path);
        snprintf(path, sizeof(path), "%s/settlement.html", dir);
        html = report(conn, ZZ_REPORT_SETTLEMENT, ZZ_REPORT_HTML, path);
        snprintf(path, sizeof(path), "%s/backlog.txt", dir);
        backlog = report(conn, ZZ_REPORT_BACKLOG, ZZ_REPORT_TABLE, path);
        snprintf(path, sizeof(path), "%s/progress.csv", dir);
        progress = report(conn, ZZ_REPORT_PROGRESS, ZZ_REPORT_CSV, path);
        snprintf(path, sizeof(path), "%s/payers.csv", dir);
        payers = report(conn, ZZ_REPORT_PAYERS, ZZ_REPORT_CSV, path);
        PQfinish(conn);
        fprintf(stderr, "%s\n%s\n%s\n", table, backlog, progress);

        /* MAF 17500 (A) + 25000 (B) in village 001; NHC's 7500 refund */
        cr_expect(strstr(csv, "huilong-2020,2020,MAF,MAF,500155107001,"
                              "SUBSIDY,2,42500\r\n") != NULL);
        cr_expect(strstr(csv, "huilong-2020,2020,NHC,NHC,500155107001,"
                              "REFUND_VIA_TAX,1,7500\r\n") != NULL);
        cr_expect(strstr(table, "425.00") != NULL);
        cr_expect(strstr(html, "<svg") != NULL);
        cr_expect(strstr(html, "<rect") != NULL);
        cr_expect(strstr(html, "src=") == NULL && strstr(html, "href=") == NULL,
                  "the page must not load anything");
        cr_expect(strstr(backlog, "REFUND_DUE") != NULL);
        cr_expect(strstr(backlog, "NOT_ENROLLED") != NULL);
        /* 回龙村 (001): 2 enrolled, 2 paid, target 2854 */
        cr_expect(strstr(progress, "500155107001,回龙村,2854,2,2,") != NULL);
        cr_expect(strstr(progress, "500155107016,青杠村,2882,0,0,") != NULL);
        /* what each department transfers: MAF 42500 for 2 persons */
        cr_expect(strstr(payers, "huilong-2020,2020,MAF,SUBSIDY,2,42500\r\n") !=
                  NULL);
        cr_expect(strstr(payers, "huilong-2020,2020,NHC,REFUND_VIA_TAX,1,7500"
                                 "\r\n") != NULL);
        {
                const char *all[] = {table,   csv,      html,
                                     backlog, progress, payers};
                size_t i;
                for (i = 0; i < 6; i++)
                        cr_expect(strstr(all[i], a) == NULL &&
                                  strstr(all[i], b) == NULL &&
                                  strstr(all[i], c) == NULL);
        }
        /* a headless browser renders the page */
        if (access("/usr/bin/chromium", X_OK) == 0) {
                char cmd[1024], shot[300];
                size_t len = 0;
                char *png;

                snprintf(shot, sizeof(shot), "%s/settlement.png", dir);
                snprintf(cmd, sizeof(cmd),
                         "timeout 60 /usr/bin/chromium --headless "
                         "--no-sandbox --disable-gpu --window-size=1000,900 "
                         "--screenshot=%s file://%s/settlement.html "
                         ">/dev/null 2>&1",
                         shot, dir);
                cr_expect_eq(system(cmd), 0);
                png = slurp(shot, &len);
                cr_expect(png != NULL && len > 5000 &&
                          memcmp(png, "\x89PNG", 4) == 0);
                free(png);
        }
        free(table);
        free(csv);
        free(html);
        free(backlog);
        free(progress);
        free(payers);
        zz_test_msgs_free(&ms);
        zz_test_env_drop(&env);
}
