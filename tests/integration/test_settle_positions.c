/*
 * test_settle_positions.c — a CLOSE_PERIOD carries its boundary: the
 * settlement covers exactly the input messages before the command's
 * positions, even facts that reached Kafka (and the subsidy worker) before
 * the command itself; and zizhu-feed close reads the positions from the
 * ends of the input topics when none are given.
 *
 * On the real broker and PostgreSQL (a database and topics of its own,
 * see zz_test.h).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "zizhu/config.h"
#include "zizhu/event.h"
#include "zizhu/feed.h"

#include "zz_test.h"

/* A close whose positions are given, as a control.avsc v2 writer sends. */
static void close_at(zz_test_msgs_t *ms, const char *jurisdiction,
                     const char *period, const char *issued_at,
                     const zz_feed_position_t *pos, size_t n)
{
        zz_event_control_t e;
        zz_event_position_t ep[64];
        char ev[48], errstr[256];
        size_t i;

        cr_assert_leq(n, 64);
        for (i = 0; i < n; i++) {
                ep[i].topic = pos[i].topic;
                ep[i].partition = pos[i].partition;
                ep[i].offset = pos[i].offset;
        }
        zz_test_close_init(ms, &e, ev, jurisdiction, period, issued_at);
        e.positions = ep;
        e.positions_count = n;
        cr_assert_eq(
            zz_event_validate_control(&e, NULL, errstr, sizeof(errstr)), 0,
            "%s", errstr);
        zz_test_msgs_control(ms, &e);
}

/* Runs bin/zizhu-feed with args (NULL-terminated) in env; its exit
 * status. */
static int run_feed(const zz_test_env_t *env, const char *const *args)
{
        return zz_test_run(env, "producers", "zizhu-feed", args);
}

/* Sum of the ends of the boundary a period was settled with; -1 when the
 * boundary has not n elements. */
/* Partitions of the input topics: each department's identity topic,
 * enrollment and payment, 4 each. */
#define INPUT_PARTITIONS ((ZZ_CONFIG_IDENTITY_TOPICS + 2) * 4)

static long long boundary_sum(const zz_test_env_t *env, const char *period,
                              int n)
{
        char sql[512];

        snprintf(sql, sizeof(sql),
                 "SELECT CASE WHEN jsonb_array_length(boundary) = %d THEN "
                 "(SELECT sum((b->>'end')::bigint) FROM "
                 "jsonb_array_elements(boundary) b) ELSE -1 END FROM "
                 "zizhu.settle_period WHERE period = '%s'",
                 n, period);
        return zz_test_pg_count(env->pg, sql);
}

Test(settle_positions, close_settles_exactly_before_its_positions,
     .timeout = 240)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        zz_test_allocs_t as;
        zz_config_t *config;
        zz_feed_position_t *pos = NULL;
        size_t n = 0, i;
        long long sum = 0;
        char errstr[512], a[19], b[19];

        cr_assert(zz_test_env_new(&env, "pos") == 0);
        zz_test_idno("500228", "19700303", 41, a);
        zz_test_idno("500228", "19850606", 42, b);
        /* A: dibao in tier 2 -> MAF 25000 */
        zz_test_identity(&ms, a, "MCA", "MCA-A", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-09-20T08:00:00+08:00");
        zz_test_enrollment(&ms, a, 2020, 2, "ANNUAL", "2019-10-17",
                           "500155107002");
        zz_test_payment(&ms, a, 2020, 62500, 25000, 0,
                        "2019-10-17T10:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);

        /* the boundary of 2020: the ends of the inputs now */
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
        cr_assert_eq(zz_feed_positions_query(config, 10000, &pos, &n, errstr,
                                             sizeof(errstr)),
                     0, "%s", errstr);
        zz_config_destroy(config);
        /* 8 input topics (6 identity, enrollment, payment) x 4 partitions */
        cr_assert_eq(n, INPUT_PARTITIONS);
        for (i = 0; i < n; i++) {
                cr_expect(
                    strncmp(pos[i].topic, env.prefix, strlen(env.prefix)) == 0,
                    "%s", pos[i].topic);
                sum += pos[i].offset;
        }
        cr_expect_eq(sum, 3); /* A's three facts */

        /* B: dibao, tier 1 -> MAF 25000; sent before the close, but after
         * its positions: not in 2020 */
        zz_test_identity(&ms, b, "MCA", "MCA-B", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-11-01T08:00:00+08:00");
        zz_test_enrollment(&ms, b, 2020, 1, "ANNUAL", "2019-11-20",
                           "500155107003");
        zz_test_payment(&ms, b, 2020, 25000, 25000, 0,
                        "2019-11-20T10:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        close_at(&ms, "huilong", "2020", "2019-12-20T09:00:00+08:00", pos, n);
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);
        cr_assert(zz_test_allocs_read(&env, &as) == 0);
        zz_test_allocs_dump(&as);
        cr_assert_eq(as.n, 1);
        zz_test_alloc_expect(&as, "2020", "MAF", "500155107002", "SUBSIDY", 1,
                             25000);
        cr_expect_eq(boundary_sum(&env, "2020", INPUT_PARTITIONS), 3);
        zz_test_allocs_free(&as);

        /* zizhu-feed close reads the ends itself: B is now inside, as an
         * adjustment of 2020 */
        {
                const char *args[] = {"close",
                                      "-q",
                                      "--jurisdiction",
                                      "huilong",
                                      "--period",
                                      "2020S1",
                                      "--issued-at",
                                      "2020-01-20T09:00:00+08:00",
                                      NULL};
                cr_assert_eq(run_feed(&env, args), 0);
        }
        cr_assert_eq(zz_test_settle_run(&env), 0);
        cr_assert(zz_test_allocs_read(&env, &as) == 0);
        zz_test_allocs_dump(&as);
        cr_assert_eq(as.n, 2);
        zz_test_alloc_expect(&as, "2020S1", "MAF", "500155107003", "ADJUSTMENT",
                             1, 25000);
        cr_expect_eq(boundary_sum(&env, "2020S1", INPUT_PARTITIONS), 6);
        zz_test_allocs_free(&as);

        /* explicit --positions (here: the ends again, read by the test):
         * the period covers nothing new, and nothing is settled twice */
        free(pos);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
        cr_assert_eq(zz_feed_positions_query(config, 10000, &pos, &n, errstr,
                                             sizeof(errstr)),
                     0, "%s", errstr);
        zz_config_destroy(config);
        {
                char list[4096];
                size_t len = 0;
                const char *args[] = {"close",
                                      "-q",
                                      "--jurisdiction",
                                      "huilong",
                                      "--period",
                                      "2020S2",
                                      "--issued-at",
                                      "2020-02-20T09:00:00+08:00",
                                      "--positions",
                                      list,
                                      NULL};
                for (i = 0; i < n; i++)
                        len += (size_t)snprintf(
                            list + len, sizeof(list) - len, "%s%s:%d:%lld",
                            i > 0 ? "," : "", pos[i].topic,
                            (int)pos[i].partition, (long long)pos[i].offset);
                cr_assert_eq(run_feed(&env, args), 0);
        }
        cr_assert_eq(zz_test_settle_run(&env), 0);
        cr_expect_eq(boundary_sum(&env, "2020S2", INPUT_PARTITIONS), 6);
        cr_assert(zz_test_allocs_read(&env, &as) == 0);
        cr_expect_eq(as.n, 2);
        zz_test_allocs_free(&as);
        free(pos);
        zz_test_msgs_free(&ms);
        zz_test_env_drop(&env);
}

/* "topic:partition:offset,..." of pos, without entry `skip` (-1: none) and
 * with `delta` added to the offset of entry `shift` (-1: none). */
static void positions_list(const zz_feed_position_t *pos, size_t n, long skip,
                           long shift, long long delta, char *out, size_t size)
{
        size_t i, len = 0;

        out[0] = '\0';
        for (i = 0; i < n; i++) {
                if ((long)i == skip)
                        continue;
                len += (size_t)snprintf(
                    out + len, size - len, "%s%s:%d:%lld", len > 0 ? "," : "",
                    pos[i].topic, (int)pos[i].partition,
                    (long long)pos[i].offset + ((long)i == shift ? delta : 0));
        }
}

/* A close of huilong with explicit positions; ref is the issuer's
 * reference, which (with the period) makes the command's event id: a
 * close re-issued after a rejection needs a new one. */
static int feed_close(const zz_test_env_t *env, const char *period,
                      const char *issued_at, const char *ref, const char *list)
{
        const char *args[] = {"close",    "-q",   "--jurisdiction", "huilong",
                              "--period", period, "--issued-at",    issued_at,
                              "--ref",    ref,    "--positions",    list,
                              NULL};

        return run_feed(env, args);
}

/* Issue 6: a close whose boundary goes back on a partition, or leaves out
 * a partition the previous close of the policy had, would drop facts that
 * are already settled; it is rejected with its reason and settles
 * nothing, and the period can still be closed properly afterwards. */
Test(settle_positions, close_behind_previous_boundary_is_rejected,
     .timeout = 240)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        zz_test_allocs_t as;
        zz_config_t *config;
        zz_feed_position_t *pos = NULL, *pos2 = NULL;
        size_t n = 0, n2 = 0, i;
        long busy = -1;
        char errstr[512], a[19], b[19], list[4096];

        cr_assert(zz_test_env_new(&env, "behind") == 0);
        zz_test_idno("500228", "19700303", 51, a);
        zz_test_idno("500228", "19850606", 52, b);
        zz_test_identity(&ms, a, "MCA", "MCA-A", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-09-20T08:00:00+08:00");
        zz_test_enrollment(&ms, a, 2020, 2, "ANNUAL", "2019-10-17",
                           "500155107002");
        zz_test_payment(&ms, a, 2020, 62500, 25000, 0,
                        "2019-10-17T10:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
        cr_assert_eq(zz_feed_positions_query(config, 10000, &pos, &n, errstr,
                                             sizeof(errstr)),
                     0, "%s", errstr);
        for (i = 0; i < n && busy < 0; i++)
                if (pos[i].offset > 0)
                        busy = (long)i;
        cr_assert_geq(busy, 0);
        positions_list(pos, n, -1, -1, 0, list, sizeof(list));
        cr_assert_eq(feed_close(&env, "2020", "2019-12-20T09:00:00+08:00",
                                "FIN-2020", list),
                     0);

        /* B arrives after the close of 2020 */
        zz_test_identity(&ms, b, "MCA", "MCA-B", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-11-01T08:00:00+08:00");
        zz_test_enrollment(&ms, b, 2020, 1, "ANNUAL", "2019-11-20",
                           "500155107003");
        zz_test_payment(&ms, b, 2020, 25000, 25000, 0,
                        "2019-11-20T10:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_feed_positions_query(config, 10000, &pos2, &n2, errstr,
                                             sizeof(errstr)),
                     0, "%s", errstr);
        zz_config_destroy(config);
        cr_assert_eq(n2, n);

        /* behind 2020 on one partition (A's fact there would fall out) */
        positions_list(pos2, n2, -1, busy, -pos2[busy].offset, list,
                       sizeof(list));
        cr_assert_eq(feed_close(&env, "2020S1", "2020-01-20T09:00:00+08:00",
                                "FIN-S1-a", list),
                     0);
        /* omitting a partition 2020 had */
        positions_list(pos2, n2, 0, -1, 0, list, sizeof(list));
        cr_assert_eq(feed_close(&env, "2020S1", "2020-01-21T09:00:00+08:00",
                                "FIN-S1-b", list),
                     0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);
        cr_assert(zz_test_allocs_read(&env, &as) == 0);
        zz_test_allocs_dump(&as);
        cr_expect_eq(as.n, 1); /* 2020 only */
        zz_test_alloc_expect(&as, "2020", "MAF", "500155107002", "SUBSIDY", 1,
                             25000);
        zz_test_allocs_free(&as);
        cr_expect_eq(zz_test_pg_count(
                         env.pg, "SELECT count(*) FROM zizhu.settle_period"),
                     1);
        cr_expect_eq(
            zz_test_pg_count(env.pg,
                             "SELECT count(*) FROM zizhu.settle_command WHERE "
                             "status = 'REJECTED' AND reason LIKE "
                             "'boundary is behind period 2020 on partition %'"),
            1);
        cr_expect_eq(
            zz_test_pg_count(env.pg,
                             "SELECT count(*) FROM zizhu.settle_command WHERE "
                             "status = 'REJECTED' AND reason LIKE "
                             "'boundary omits partition %that period 2020 "
                             "was settled with'"),
            1);

        /* a proper close of 2020S1 still settles B, as an adjustment */
        positions_list(pos2, n2, -1, -1, 0, list, sizeof(list));
        cr_assert_eq(feed_close(&env, "2020S1", "2020-01-22T09:00:00+08:00",
                                "FIN-S1-c", list),
                     0);
        cr_assert_eq(zz_test_settle_run(&env), 0);
        cr_assert(zz_test_allocs_read(&env, &as) == 0);
        zz_test_allocs_dump(&as);
        cr_expect_eq(as.n, 2);
        zz_test_alloc_expect(&as, "2020S1", "MAF", "500155107003", "ADJUSTMENT",
                             1, 25000);
        zz_test_allocs_free(&as);
        free(pos);
        free(pos2);
        zz_test_msgs_free(&ms);
        zz_test_env_drop(&env);
}
