/*
 * test_settle.c — hand-checked settlement of small scenarios, on the real
 * broker and PostgreSQL: Huilong's split funding, Shantou's two half-years
 * with the approving-district rule, Yubei's January and July (refunds to
 * persons), and a late fact after a close (the closed allocation stays as
 * published, the next period carries the adjustment, money is conserved).
 *
 * Every amount expected here was worked out by hand from POLICIES.md (and
 * checked with `zizhu policy eval`), not read back from the code.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "zizhu/idno.h"
#include "zizhu/settle_run.h"
#include "zizhu/settle_worker.h"

#include "zz_test.h"

static int conserved(const zz_test_env_t *env)
{
        zz_policy_t *pol[16];
        char errstr[512];
        int n = zz_settle_load_policies(ZZ_SOURCE_DIR "/policies", pol, 16,
                                        errstr, sizeof(errstr));
        PGconn *c = PQconnectdb(env->pg);
        int ok = 0, i;

        cr_assert(n > 0, "%s", errstr);
        cr_assert(zz_settle_conservation(c, (const zz_policy_t *const *)pol,
                                         (size_t)n, stderr, &ok, errstr,
                                         sizeof(errstr)) == 0,
                  "%s", errstr);
        PQfinish(c);
        for (i = 0; i < n; i++)
                zz_policy_destroy(pol[i]);
        return ok;
}

Test(settle, huilong_split_funding_and_late_facts, .timeout = 240)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        zz_test_allocs_t first, after;
        char a[19], b[19], c[19], d[19], e[19], f[19];
        size_t i;

        cr_assert(zz_test_env_new(&env, "hl") == 0);
        zz_test_idno("500228", "19900101", 11, a);
        zz_test_idno("500228", "19800202", 12, b);
        zz_test_idno("500228", "19700303", 13, c);
        zz_test_idno("500228", "19600404", 14, d);
        zz_test_idno("500228", "19500505", 15, e);
        zz_test_idno("500228", "19850606", 16, f);
        /* A: level-1 disabled + family-planning special support, tier 1;
         * tax applied only MAF's 17500 -> NHC owes 7500 through tax */
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
        /* B: level-1 disabled + poor not lifted -> MAF 17500 + RRB 7500 */
        zz_test_identity(&ms, b, "DPF", "DPF-B", "GRANT", "DPF.DISABLED",
                         "level=1", "2015-03-01", "500155",
                         "2019-09-20T08:00:00+08:00");
        zz_test_identity(&ms, b, "RRB", "RRB-B", "GRANT", "RRB.POOR",
                         "benefits_enjoyed=true;lifted=false", "2016-01-01",
                         "500155", "2019-09-20T08:00:00+08:00");
        zz_test_enrollment(&ms, b, 2020, 1, "ANNUAL", "2019-10-16",
                           "500155107001");
        zz_test_payment(&ms, b, 2020, 25000, 25000, 0,
                        "2019-10-16T10:00:00+08:00");
        /* C: dibao in tier 2 -> MAF 25000, pays 37500 */
        zz_test_identity(&ms, c, "MCA", "MCA-C", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-09-20T08:00:00+08:00");
        zz_test_enrollment(&ms, c, 2020, 2, "ANNUAL", "2019-10-17",
                           "500155107002");
        zz_test_payment(&ms, c, 2020, 62500, 25000, 0,
                        "2019-10-17T10:00:00+08:00");
        /* D: poor lifted, tier 2 -> RRB 12500 */
        zz_test_identity(&ms, d, "RRB", "RRB-D", "GRANT", "RRB.POOR",
                         "benefits_enjoyed=true;lifted=true", "2016-01-01",
                         "500155", "2019-09-20T08:00:00+08:00");
        zz_test_enrollment(&ms, d, 2020, 2, "ANNUAL", "2019-10-18",
                           "500155107002");
        zz_test_payment(&ms, d, 2020, 62500, 12500, 0,
                        "2019-10-18T10:00:00+08:00");
        /* E: enrolled, not paid: nothing to settle */
        zz_test_identity(&ms, e, "MCA", "MCA-E", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-09-20T08:00:00+08:00");
        zz_test_enrollment(&ms, e, 2020, 1, "ANNUAL", "2019-10-19",
                           "500155107003");
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "huilong", "2020", "2019-12-20T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);

        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);
        cr_assert(zz_test_allocs_read(&env, &first) == 0);
        zz_test_allocs_dump(&first);
        cr_assert_eq(first.n, 5);
        zz_test_alloc_expect(&first, "2020", "MAF", "500155107001", "SUBSIDY",
                             2, 35000);
        zz_test_alloc_expect(&first, "2020", "NHC", "500155107001",
                             "REFUND_VIA_TAX", 1, 7500);
        zz_test_alloc_expect(&first, "2020", "RRB", "500155107001", "SUBSIDY",
                             1, 7500);
        zz_test_alloc_expect(&first, "2020", "MAF", "500155107002", "SUBSIDY",
                             1, 25000);
        zz_test_alloc_expect(&first, "2020", "RRB", "500155107002", "SUBSIDY",
                             1, 12500);
        /* person-level lines carry the masked number, never the ID */
        for (i = 0; i < first.n; i++)
                cr_expect(
                    memmem(first.a[i].value, first.a[i].len, a, 18) == NULL &&
                    memmem(first.a[i].value, first.a[i].len, c, 18) == NULL);
        {
                char masked[19];
                zz_idno_mask(c, 18, masked);
                cr_expect_str_eq(zz_test_alloc_find(&first, "2020", "MAF",
                                                    "500155107002", "SUBSIDY")
                                     ->line_masked[0],
                                 masked);
        }
        cr_expect(conserved(&env));

        /* Late facts after the close: F, a new dibao person of the annual
         * window, and C's dibao revoked as erroneous. A second close of
         * the same period changes nothing. */
        zz_test_identity(&ms, f, "MCA", "MCA-F", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-11-01T08:00:00+08:00");
        zz_test_enrollment(&ms, f, 2020, 1, "ANNUAL", "2019-11-20",
                           "500155107003");
        zz_test_payment(&ms, f, 2020, 25000, 25000, 0,
                        "2019-11-20T10:00:00+08:00");
        zz_test_identity(&ms, c, "MCA", "MCA-C", "REVOKE", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2020-01-05T08:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "huilong", "2020", "2020-01-10T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);
        zz_test_close(&ms, "huilong", "2020S1", "2020-01-20T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);

        cr_assert(zz_test_allocs_read(&env, &after) == 0);
        zz_test_allocs_dump(&after);
        cr_assert_eq(after.n, 7);
        /* the closed period is exactly as published */
        for (i = 0; i < first.n; i++) {
                cr_expect_eq(after.a[i].len, first.a[i].len);
                cr_expect(memcmp(after.a[i].value, first.a[i].value,
                                 first.a[i].len) == 0);
        }
        /* the next period carries the adjustments of 2020 */
        zz_test_alloc_expect(&after, "2020S1", "MAF", "500155107003",
                             "ADJUSTMENT", 1, 25000);
        zz_test_alloc_expect(&after, "2020S1", "MAF", "500155107002",
                             "ADJUSTMENT", 1, -25000);
        cr_expect_str_eq(zz_test_alloc_find(&after, "2020S1", "MAF",
                                            "500155107003", "ADJUSTMENT")
                             ->adjusts,
                         "2020");
        cr_expect(conserved(&env));
        cr_expect_eq(zz_test_pg_count(env.pg,
                                      "SELECT count(*) FROM "
                                      "zizhu.settle_command WHERE status = "
                                      "'ALREADY_CLOSED'"),
                     1);
        zz_test_allocs_free(&first);
        zz_test_allocs_free(&after);
        zz_test_msgs_free(&ms);
        zz_test_env_drop(&env);
}

Test(settle, shantou_half_years_and_approving_district, .timeout = 240)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        zz_test_allocs_t as;
        char g[19], h[19], i[19];

        cr_assert(zz_test_env_new(&env, "st") == 0);
        zz_test_idno("440507", "19900101", 21, g);
        zz_test_idno("440507", "19800101", 22, h);
        zz_test_idno("440511", "19700101", 23, i);
        /* G: dibao approved by 440507, enrolled (annual) in 440511: the
         * approving district pays (H1) */
        zz_test_identity(&ms, g, "MCA", "MCA-G", "GRANT", "MCA.DIBAO", NULL,
                         "2019-01-01", "440507", "2020-08-20T08:00:00+08:00");
        zz_test_enrollment(&ms, g, 2021, 1, "ANNUAL", "2020-10-10",
                           "440511001001");
        zz_test_payment(&ms, g, 2021, 32000, 32000, 0,
                        "2020-10-10T10:00:00+08:00");
        /* H: city welfare home resident: WLF (H1) */
        zz_test_identity(&ms, h, "MCA", "MCA-H", "GRANT", "MCA.TEKUN",
                         "institution=SWFY;institution_level=city;supported="
                         "institution",
                         "2019-01-01", "440500", "2020-08-20T08:00:00+08:00");
        zz_test_enrollment(&ms, h, 2021, 1, "ANNUAL", "2020-10-11",
                           "440507001001");
        zz_test_payment(&ms, h, 2021, 32000, 32000, 0,
                        "2020-10-11T10:00:00+08:00");
        /* I: mid-year in July: H2 */
        zz_test_identity(&ms, i, "MCA", "MCA-I", "GRANT", "MCA.DIBAO", NULL,
                         "2021-07-01", "440511", "2021-07-05T08:00:00+08:00");
        zz_test_enrollment(&ms, i, 2021, 1, "MID_YEAR", "2021-07-15",
                           "440511001001");
        zz_test_payment(&ms, i, 2021, 32000, 32000, 0,
                        "2021-07-15T10:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "shantou", "2021H1", "2021-06-05T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "shantou", "2021H2", "2021-12-05T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);
        cr_assert(zz_test_allocs_read(&env, &as) == 0);
        zz_test_allocs_dump(&as);
        cr_assert_eq(as.n, 3);
        zz_test_alloc_expect(&as, "2021H1", "MAF", "440507", "SUBSIDY", 1,
                             32000);
        zz_test_alloc_expect(&as, "2021H1", "WLF", "440500", "SUBSIDY", 1,
                             32000);
        zz_test_alloc_expect(&as, "2021H2", "MAF", "440511", "SUBSIDY", 1,
                             32000);
        cr_expect(conserved(&env));
        zz_test_allocs_free(&as);
        zz_test_msgs_free(&ms);
        zz_test_env_drop(&env);
}

Test(settle, yubei_january_and_july_refunds_to_persons, .timeout = 240)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        zz_test_allocs_t as;
        char j[19], k[19], l[19];

        cr_assert(zz_test_env_new(&env, "yb") == 0);
        zz_test_idno("500112", "19900101", 31, j);
        zz_test_idno("500112", "19800101", 32, k);
        zz_test_idno("500112", "19700101", 33, l);
        /* J: flagged, paid in the centralized phase: January */
        zz_test_identity(&ms, j, "MCA", "MCA-J", "GRANT", "MCA.DIBAO", NULL,
                         "2016-01-01", "500112", "2016-08-20T08:00:00+08:00");
        zz_test_enrollment(&ms, j, 2017, 1, "ANNUAL", "2016-10-10",
                           "500112001001");
        zz_test_payment(&ms, j, 2017, 15000, 15000, 0,
                        "2016-10-10T10:00:00+08:00");
        /* K: paid in full in November, flagged in January: refund to the
         * person in July */
        zz_test_identity(&ms, k, "MCA", "MCA-K", "GRANT", "MCA.DIBAO", NULL,
                         "2016-10-01", "500112", "2017-01-10T08:00:00+08:00");
        zz_test_enrollment(&ms, k, 2017, 1, "ANNUAL", "2016-11-05",
                           "500112001002");
        zz_test_payment(&ms, k, 2017, 15000, 0, 0, "2016-11-05T10:00:00+08:00");
        /* L: scattered phase (March), flagged: July */
        zz_test_identity(&ms, l, "MCA", "MCA-L", "GRANT", "MCA.ORPHAN", NULL,
                         "2016-01-01", "500112", "2017-02-20T08:00:00+08:00");
        zz_test_enrollment(&ms, l, 2017, 1, "ANNUAL", "2017-03-01",
                           "500112001002");
        zz_test_payment(&ms, l, 2017, 15000, 15000, 0,
                        "2017-03-01T10:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "yubei", "2017january", "2017-01-05T09:00:00+08:00");
        zz_test_close(&ms, "yubei", "2017july", "2017-07-05T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);
        cr_assert(zz_test_allocs_read(&env, &as) == 0);
        zz_test_allocs_dump(&as);
        cr_assert_eq(as.n, 3);
        zz_test_alloc_expect(&as, "2017january", "MCA", "500112001001",
                             "SUBSIDY", 1, 15000);
        zz_test_alloc_expect(&as, "2017july", "MCA", "500112001002",
                             "REFUND_TO_PERSON", 1, 15000);
        zz_test_alloc_expect(&as, "2017july", "MCA", "500112001002", "SUBSIDY",
                             1, 15000);
        cr_expect_str_eq(as.a[0].fund, "FIN");
        cr_expect(conserved(&env));
        zz_test_allocs_free(&as);
        zz_test_msgs_free(&ms);
        zz_test_env_drop(&env);
}

/* Issue 14: a settlement worker whose lock another session held waited
 * silently forever. It says so after 5 s, and runs once the lock is free. */
Test(settle, waiting_for_the_settlement_lock_is_logged, .timeout = 120)
{
        zz_test_env_t env;
        const zz_test_worker_opts_t o = {.idle_exit_ms = 1000};
        char path[] = "/tmp/zz-settle-lock-XXXXXX", buf[8192];
        PGconn *holder;
        PGresult *r;
        pid_t pid;
        ssize_t n;
        int fd, saved;

        cr_assert(zz_test_env_new(&env, "slk") == 0);
        holder = PQconnectdb(env.pg);
        cr_assert(PQstatus(holder) == CONNECTION_OK);
        r = PQexec(holder, "SELECT pg_advisory_lock(2054837076)");
        cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK);
        PQclear(r);

        /* the worker's stderr into a file */
        fd = mkstemp(path);
        cr_assert(fd >= 0);
        saved = dup(2);
        dup2(fd, 2);
        pid = zz_test_worker_spawn(&env, ZZ_TEST_SETTLEMENT_WORKER, &o);
        dup2(saved, 2);
        close(saved);
        sleep(7);
        PQfinish(holder); /* releases the lock */
        cr_expect_eq(zz_test_wait(pid), 0);

        n = pread(fd, buf, sizeof(buf) - 1, 0);
        close(fd);
        unlink(path);
        cr_assert(n >= 0);
        buf[n] = '\0';
        cr_expect(strstr(buf, "waiting 5 s for the settlement lock") != NULL,
                  "no word of the wait in: %s", buf);
        zz_test_env_drop(&env);
}
