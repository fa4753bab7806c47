/*
 * test_continuity.c — the trap of a PostgreSQL failover (issue 13): a
 * database that lost commits whose outbox rows were already published
 * would hand out those ids again, and the relay, resuming after the
 * highest id on the topics, would skip the new rows for ever. Provoked
 * here as a failover to a standby that missed the last commits leaves it:
 * the last outbox rows and their ids gone from the database, still on the
 * topics. The subsidy worker must refuse to start (exit 3, relay.h
 * "Continuity"), with and without its relay, and write nothing.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/config.h"
#include "zizhu/relay.h"
#include "zz_test.h"

/* The highest outbox id on env's output topics. */
static long long topics_high_water(const zz_test_env_t *env)
{
        char errstr[512];
        zz_config_t *config;
        long long hwm;

        zz_test_env_export(env);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
        hwm = zz_relay_high_water(config, errstr, sizeof(errstr));
        cr_assert_geq(hwm, 0, "%s", errstr);
        zz_config_destroy(config);
        return hwm;
}

Test(continuity, database_behind_the_topics_is_refused, .timeout = 180)
{
        const size_t n = 200;
        zz_test_env_t env;
        zz_test_person_t *ps = zz_test_generate(n, 4242);
        zz_test_msgs_t ms = {0};
        char sql[256], errstr[512];
        zz_config_t *config;
        long long hwm, last, rows;
        int rc;

        cr_assert_not_null(ps);
        cr_assert_eq(zz_test_env_new(&env, "contin"), 0);
        zz_test_persons_msgs(&ms, ps, n);
        cr_assert_eq(zz_test_produce(&env, &ms, 0, ms.n), 0);
        cr_assert_eq(zz_test_subsidy_run_to_idle(&env), 0);
        hwm = topics_high_water(&env);
        last = zz_test_pg_count(env.pg, "SELECT last_id FROM zizhu.outbox_seq");
        cr_assert_gt(hwm, 10, "the first run published %lld rows", hwm);
        cr_assert_eq(hwm, last, "all published: topics %lld, database %lld",
                     hwm, last);

        /* With everything in place the check passes. */
        zz_test_env_export(&env);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
        cr_expect_eq(zz_relay_check(config, errstr, sizeof(errstr)), 0, "%s",
                     errstr);

        /* The failover: the last 5 commits' rows never reached the new
         * primary. */
        snprintf(sql, sizeof(sql),
                 "DELETE FROM zizhu.outbox WHERE id > %lld; "
                 "UPDATE zizhu.outbox_seq SET last_id = %lld",
                 hwm - 5, hwm - 5);
        cr_assert_eq(zz_test_pg_exec(env.pg, sql), 0);
        rc = zz_relay_check(config, errstr, sizeof(errstr));
        cr_expect_eq(rc, ZZ_RELAY_BEHIND, "check: %d %s", rc, errstr);
        cr_expect_not_null(strstr(errstr, "behind the output topics"), "%s",
                           errstr);
        cr_expect_not_null(strstr(errstr, "lost 5 committed"), "%s", errstr);
        zz_config_destroy(config);

        /* New input arrives; the worker must not turn it into outbox rows
         * with ids the relay has passed. */
        zz_test_msgs_clear(&ms);
        free(ps);
        ps = zz_test_generate(20, 777);
        zz_test_persons_msgs(&ms, ps, 20);
        cr_assert_eq(zz_test_produce(&env, &ms, 0, ms.n), 0);
        rows = zz_test_pg_count(env.pg, "SELECT count(*) FROM zizhu.outbox");
        rc = zz_test_subsidy_run_to_idle(&env);
        cr_expect_eq(rc, 3, "worker with its relay: exit %d, not 3", rc);
        rc = zz_test_subsidy_load(&env);
        cr_expect_eq(rc, 3, "worker without relay: exit %d, not 3", rc);
        cr_expect_eq(
            zz_test_pg_count(env.pg, "SELECT count(*) FROM zizhu.outbox"), rows,
            "the refused worker wrote outbox rows");
        cr_expect_eq(
            zz_test_pg_count(env.pg, "SELECT last_id FROM zizhu.outbox_seq"),
            hwm - 5);
        cr_expect_eq(topics_high_water(&env), hwm,
                     "the refused worker published");

        free(ps);
        zz_test_msgs_free(&ms);
        zz_test_env_drop(&env);
}
