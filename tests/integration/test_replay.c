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

#include <libpq-fe.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zizhu/audit.h"
#include "zizhu/config.h"
#include "zizhu/replay.h"
#include "zizhu/settle_worker.h"

#include "zz_test.h"

/* The settlement worker binary, idle-exit after 20 s (to be killed). */
static pid_t spawn_settlement(const zz_test_env_t *env)
{
        const zz_test_worker_opts_t o = {.idle_exit_ms = 20000};

        return zz_test_worker_spawn(env, ZZ_TEST_SETTLEMENT_WORKER, &o);
}

static void people(zz_test_msgs_t *ms, int from, int to, const char *registered)
{
        int i;

        for (i = from; i < to; i++) {
                char id[19], rec[16], village[16];

                zz_test_idno("500228", "19900101", i, id);
                snprintf(rec, sizeof(rec), "R-%d", i);
                snprintf(village, sizeof(village), "5001551070%02d",
                         1 + i % 16);
                zz_test_identity(ms, id, i % 3 ? "MCA" : "DPF", rec, "GRANT",
                                 i % 3 ? "MCA.DIBAO" : "DPF.DISABLED",
                                 i % 3 ? NULL : "level=2", "2015-01-01",
                                 "500155", "2019-09-20T08:00:00+08:00");
                zz_test_enrollment(ms, id, 2020, 1 + i % 2, "ANNUAL",
                                   registered, village);
                zz_test_payment(ms, id, 2020, i % 2 ? 62500 : 25000,
                                i % 4 == 0 ? 0 : (i % 3 ? 25000 : 17500), 0,
                                "2019-10-20T10:00:00+08:00");
        }
}

Test(replay, crashes_and_late_facts_replay_byte_identical, .timeout = 300)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        zz_test_allocs_t pub;
        pid_t pid;
        int status;
        char rdb[96], rpg[1024], errstr[1024];
        zz_replay_opts_t ro;
        zz_config_t *config;
        zz_audit_result_t res;
        zz_policy_t *pol[16];
        int n, i;
        static atomic_int stop = 0;
        /* zz_test_subsidy_load, idle longer than a killed one's session */
        const zz_test_worker_opts_t load10 = {
            .no_relay = 1, .batch_ms = 50, .idle_exit_ms = 10000};

        cr_assert(zz_test_env_new(&env, "rp") == 0);
        people(&ms, 1, 60, "2019-10-20");
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "huilong", "2020", "2019-12-20T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);

        /* crash the subsidy worker early, then run it to idle */
        pid = zz_test_worker_spawn(&env, ZZ_TEST_SUBSIDY_WORKER, &load10);
        usleep(700000);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        /* idle longer than the dead member's session */
        cr_assert_eq(zz_test_worker_run(&env, ZZ_TEST_SUBSIDY_WORKER, &load10),
                     0);
        /* and once more alone, in case a rebalance left a partition to a
         * later assignment (the settlement worker waits for it anyway) */
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        /* crash the settlement worker after a while, then run to idle */
        pid = spawn_settlement(&env);
        usleep(2500000);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);

        /* late facts, and one earlier person's payment corrected */
        people(&ms, 60, 70, "2019-11-20");
        {
                char id[19];
                zz_test_idno("500228", "19900101", 4, id);
                zz_test_payment(&ms, id, 2020, 25000, 25000, 0,
                                "2019-12-01T10:00:00+08:00");
        }
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "huilong", "2020S1", "2020-01-20T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        pid = spawn_settlement(&env);
        usleep(1500000);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);
        cr_assert(zz_test_allocs_read(&env, &pub) == 0);
        zz_test_allocs_dump(&pub);
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
        /* the replay's ID numbers are not open to every role (a NULL acl
         * is the default: PUBLIC may connect) */
        snprintf(errstr, sizeof(errstr),
                 "SELECT count(*) FROM pg_database WHERE datname = '%s' AND "
                 "(datacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(datacl) "
                 "a WHERE a.grantee = 0))",
                 rdb);
        cr_expect_eq(zz_test_pg_count(env.pg, errstr), 0,
                     "PUBLIC may connect to the replay database");
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
        zz_test_allocs_free(&pub);
        zz_test_msgs_free(&ms);
        zz_test_db_drop(&env, rdb);
        zz_test_env_drop(&env);
}

/* `zizhu replay --database NAME` names the target database by
 * zz_replay_conninfo: a name with a space and a quote connects to that
 * database, and one that looks like settings ("x host=...") adds none. */
Test(replay, database_name_with_space_and_quote_is_one_dbname, .timeout = 60)
{
        zz_test_env_t env;
        char name[128], sql[320], conninfo[1280], *db;
        PQconninfoOption *opts, *o;

        zz_test_env_init(&env, "rpq");
        snprintf(name, sizeof(name), "%s it's \\ here", env.db);
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\"", name);
        zz_test_pg_exec(env.pg_base, sql);
        snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", name);
        cr_assert(zz_test_pg_exec(env.pg_base, sql) == 0);

        zz_replay_conninfo(env.pg_base, name, conninfo, sizeof(conninfo));
        db = zz_test_pg_text(conninfo, "SELECT current_database()");
        cr_expect(db != NULL && strcmp(db, name) == 0,
                  "connected to %s, not to the named database",
                  db ? db : "nothing");
        free(db);

        zz_replay_conninfo("host=127.0.0.1", "x host=elsewhere port=1",
                           conninfo, sizeof(conninfo));
        opts = PQconninfoParse(conninfo, NULL);
        cr_assert(opts != NULL, "%s does not parse", conninfo);
        for (o = opts; o->keyword != NULL; o++) {
                if (strcmp(o->keyword, "host") == 0)
                        cr_expect_str_eq(o->val, "127.0.0.1");
                if (strcmp(o->keyword, "port") == 0)
                        cr_expect(o->val == NULL);
                if (strcmp(o->keyword, "dbname") == 0)
                        cr_expect_str_eq(o->val, "x host=elsewhere port=1");
        }
        PQconninfoFree(opts);

        /* too small a buffer: a conninfo libpq refuses, not another db */
        zz_replay_conninfo(env.pg_base, name, conninfo, 40);
        opts = PQconninfoParse(conninfo, NULL);
        cr_expect(opts == NULL, "a truncated %s parses", conninfo);
        PQconninfoFree(opts);

        snprintf(sql, sizeof(sql),
                 "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
        zz_test_pg_exec(env.pg_base, sql);
}
