/*
 * test_replay.c — a run with crashes (kill -9 of the subsidy worker and of
 * the settlement worker) and late facts, then `replay` into a fresh
 * database and `audit verify`: every closed period's allocations are
 * byte-identical to the published ones, none is published twice, and money
 * is conserved.
 */
#define _GNU_SOURCE
#include <stdatomic.h>

#include <criterion/criterion.h>

#include "test_settle_harness.h"

#include "zizhu/audit.h"
#include "zizhu/replay.h"

static pid_t spawn_settlement(void)
{
        pid_t pid = fork();

        if (pid == 0) {
                char exe[1024];

                snprintf(exe, sizeof(exe),
                         "%s/consumers/zizhu-settlement-worker/"
                         "zizhu-settlement-worker",
                         ZZ_BIN_DIR);
                execl(exe, exe, "-q", "--idle-exit", "20000", (char *)NULL);
                _exit(127);
        }
        return pid;
}

static void people(s_msgs_t *ms, int from, int to, const char *registered)
{
        int i;

        for (i = from; i < to; i++) {
                char id[19], rec[16], village[16];

                s_id("500228", "19900101", i, id);
                snprintf(rec, sizeof(rec), "R-%d", i);
                snprintf(village, sizeof(village), "5001551070%02d",
                         1 + i % 16);
                s_identity(ms, id, i % 3 ? "MCA" : "DPF", rec, "GRANT",
                           i % 3 ? "MCA.DIBAO" : "DPF.DISABLED",
                           i % 3 ? NULL : "level=2", "2015-01-01", "500155",
                           "2019-09-20T08:00:00+08:00");
                s_enrollment(ms, id, 2020, 1 + i % 2, "ANNUAL", registered,
                             village);
                s_payment(ms, id, 2020, i % 2 ? 62500 : 25000,
                          i % 4 == 0 ? 0 : (i % 3 ? 25000 : 17500), 0,
                          "2019-10-20T10:00:00+08:00");
        }
}

Test(replay, crashes_and_late_facts_replay_byte_identical, .timeout = 300)
{
        s_env_t env;
        s_msgs_t ms;
        s_allocs_t pub;
        pid_t pid;
        int status;
        char rdb[96], rpg[1024], errstr[1024];
        zz_replay_opts_t ro;
        zz_config_t *config;
        zz_audit_result_t res;
        zz_policy_t *pol[16];
        int n, i;
        static atomic_int stop = 0;

        cr_assert(s_env_new(&env, "rp") == 0);
        s_msgs_init(&ms);
        people(&ms, 1, 60, "2019-10-20");
        cr_assert(s_produce(&env, &ms) == 0);
        s_close(&ms, "huilong", "2020", "2019-12-20T09:00:00+08:00");
        cr_assert(s_produce(&env, &ms) == 0);

        /* crash the subsidy worker early, then run it to idle */
        pid = s_spawn_subsidy(&env, "zizhu-subsidy", "10000");
        usleep(700000);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        /* idle longer than the dead member's session */
        cr_assert_eq(s_run_subsidy_idle(&env, "10000"), 0);
        /* and once more alone, in case a rebalance left a partition to a
         * later assignment (the settlement worker waits for it anyway) */
        cr_assert_eq(s_run_subsidy(&env), 0);
        /* crash the settlement worker after a while, then run to idle */
        pid = spawn_settlement();
        usleep(2500000);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        cr_assert_eq(s_run_settle(&env, 1, NULL), 0);

        /* late facts, and one earlier person's payment corrected */
        people(&ms, 60, 70, "2019-11-20");
        {
                char id[19];
                s_id("500228", "19900101", 4, id);
                s_payment(&ms, id, 2020, 25000, 25000, 0,
                          "2019-12-01T10:00:00+08:00");
        }
        cr_assert(s_produce(&env, &ms) == 0);
        s_close(&ms, "huilong", "2020S1", "2020-01-20T09:00:00+08:00");
        cr_assert(s_produce(&env, &ms) == 0);
        cr_assert_eq(s_run_subsidy(&env), 0);
        pid = spawn_settlement();
        usleep(1500000);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        cr_assert_eq(s_run_settle(&env, 1, NULL), 0);
        cr_assert(s_read_allocations(&env, &pub) == 0);
        s_dump(&pub);
        cr_assert_gt(pub.n, 10);

        /* replay into a fresh database and verify */
        snprintf(rdb, sizeof(rdb), "%s_r", env.db);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert(config != NULL);
        memset(&ro, 0, sizeof(ro));
        ro.config = config;
        ro.database = rdb;
        ro.policy_dir = ZZ_SOURCE_DIR "/policies";
        ro.sql_dir = ZZ_SOURCE_DIR "/sql";
        ro.from_ms = -1;
        ro.drop = 1;
        ro.stop = &stop;
        cr_assert(zz_replay_run(&ro, errstr, sizeof(errstr)) == 0, "%s",
                  errstr);
        zz_config_destroy(config);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        zz_replay_conninfo(env.pg_base, rdb, rpg, sizeof(rpg));
        n = zz_settle_load_policies(ZZ_SOURCE_DIR "/policies", pol, 16, errstr,
                                    sizeof(errstr));
        cr_assert(n > 0);
        cr_assert(zz_audit_verify(config, rpg, (const zz_policy_t *const *)pol,
                                  (size_t)n, 0, stderr, &res, errstr,
                                  sizeof(errstr)) == 0,
                  "%s", errstr);
        cr_expect(res.ok);
        cr_expect_eq(res.periods, 2);
        cr_expect_eq(res.allocations, pub.n);
        cr_expect_eq(res.duplicates, 0);
        cr_expect(res.conserved);
        for (i = 0; i < n; i++)
                zz_policy_destroy(pol[i]);
        zz_config_destroy(config);
        s_allocs_free(&pub);
        s_msgs_free(&ms);
        {
                char sql[256];
                snprintf(sql, sizeof(sql),
                         "DROP DATABASE IF EXISTS %s WITH (FORCE)", rdb);
                th_pg_exec(env.pg_base, sql);
        }
        s_env_drop(&env);
}
