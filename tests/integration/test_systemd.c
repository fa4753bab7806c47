/*
 * test_systemd.c — the service files of deploy/systemd/: systemd-analyze
 * verify accepts every unit and every example configuration loads
 * (tests/systemd/units.sh verify), and a worker started with exactly the
 * command line and environment its unit gives it (ExecStart=,
 * EnvironmentFile=, Environment=, the credentials directory; the example
 * files with the test's broker, database, topics and group) starts,
 * connects, works and exits 0 with --idle-exit. The settlement
 * worker's example, whose pseudonym key is a placeholder, is refused with
 * exit 2, the status the units do not restart on.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zz_test.h"

/* units.sh with args; its exit status, or -1. */
static int units_sh(const char *args)
{
        char cmd[1024];
        int st;

        /* the programs the test library would start, also when
         * ZZ_BIN_DIR is unset */
        setenv("ZZ_BIN_DIR", zz_test_bin_dir(), 1);
        snprintf(cmd, sizeof(cmd), "sh '%s/tests/systemd/units.sh' %s",
                 zz_test_getenv("ZZ_SOURCE_DIR", "."), args);
        st = system(cmd);
        if (st == -1 || !WIFEXITED(st))
                return -1;
        return WEXITSTATUS(st);
}

Test(systemd, every_unit_verifies, .timeout = 120)
{
        if (access("/usr/bin/systemd-analyze", X_OK) != 0)
                cr_skip_test("systemd-analyze is not installed");
        cr_expect_eq(units_sh("verify"), 0,
                     "systemd-analyze verify or an example failed (above)");
}

Test(systemd, subsidy_worker_runs_as_its_unit, .timeout = 120)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        char a[19];

        cr_assert_eq(zz_test_env_new(&env, "systemd"), 0);
        zz_test_idno("500155", "19800101", 1, a);
        zz_test_identity(&ms, a, "DPF", "DPF-A", "GRANT", "DPF.DISABLED",
                         "level=1", "2015-03-01", "500155",
                         "2019-09-20T08:00:00+08:00");
        cr_assert_eq(zz_test_produce(&env, &ms, 0, ms.n), 0);
        setenv("ZZ_TEST_GROUP", env.group, 1);
        cr_expect_eq(units_sh("start zizhu-subsidy-worker@.service "
                              "zizhu-subsidy-worker.env subsidy-worker.conf "
                              "--idle-exit 3000"),
                     0, "the worker as its unit runs it did not exit 0");
        cr_expect_eq(zz_test_pg_count(env.pg, "SELECT count(*) FROM "
                                              "zizhu.identity_fact"),
                     1, "the worker did not store the fact");
        cr_expect_gt(zz_test_pg_count(env.pg, "SELECT count(*) FROM "
                                              "zizhu.consumer_position"),
                     0, "the worker stored no position");
        zz_test_msgs_free(&ms);
        zz_test_env_drop(&env);
}

Test(systemd, settlement_example_key_is_refused_with_2, .timeout = 120)
{
        zz_test_env_t env;

        cr_assert_eq(zz_test_env_new(&env, "systemd_s"), 0);
        setenv("ZZ_TEST_GROUP", env.settle_group, 1);
        setenv("ZZ_TEST_SUBSIDY_GROUP", env.group, 1);
        cr_expect_eq(units_sh("start zizhu-settlement-worker.service "
                              "zizhu-settlement-worker.env "
                              "settlement-worker.conf --idle-exit 2000"),
                     2, "the placeholder pseudonym key was not refused");
        zz_test_env_drop(&env);
}
