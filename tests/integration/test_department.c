/*
 * test_department.c — issue 12: one identity topic per department, and a
 * record one department's credentials could write never becomes another
 * department's fact. On the dev broker: a DPF disability record produced
 * by hand onto MCA's topic, once claiming department MCA and once DPF, is
 * dead-lettered DEPARTMENT_MISMATCH both times, counted, stored as no
 * fact and changes no decision; the same record from DPF on DPF's topic is
 * a fact as ever; a replay of the log does the same and settles the same
 * allocations byte for byte.
 */
#include <stdatomic.h>

#include <criterion/criterion.h>

#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/audit.h"
#include "zizhu/config.h"
#include "zizhu/metrics.h"
#include "zizhu/replay.h"
#include "zizhu/settle_worker.h"
#include "zizhu/worker.h"

#include "zz_test.h"

#define REPORTED "2019-09-20T08:00:00+08:00"

/* A DPF.DISABLED level-1 record of person, from dept, onto the identity
 * topic of topic_dept. */
static void disabled(zz_test_msgs_t *ms, const char *person, const char *dept,
                     const char *topic_dept, const char *event)
{
        zz_event_identity_t e;
        zz_event_attr_t level = {"level", "1"};

        memset(&e, 0, sizeof(e));
        e.event_id = event;
        e.person_id = person;
        e.department = dept;
        e.dept_record_id = event;
        e.action = ZZ_IDENTITY_ACTION_GRANT;
        e.category = "DPF.DISABLED";
        e.attrs = &level;
        e.attrs_count = 1;
        e.valid_from = zz_test_date("2015-03-01");
        e.valid_to = ZZ_DATE_NONE;
        e.approving_region = "500155";
        e.reported_at = zz_test_ts(REPORTED);
        e.deceased_on = ZZ_DATE_NONE;
        e.channel = ZZ_CHANNEL_LIST_EXCHANGE;
        zz_test_msgs_identity_on(ms, &e, topic_dept);
}

/* A Huilong 2020 adult in tier 1 who paid the whole contribution. */
static void enrolled(zz_test_msgs_t *ms, const char *person)
{
        zz_test_enrollment(ms, person, 2020, 1, "ANNUAL", "2019-10-15",
                           "500155107001");
        zz_test_payment(ms, person, 2020, 25000, 0, 0,
                        "2019-10-15T10:00:00+08:00");
}

/* The subsidy worker in this process (its metrics are ours), to idle. */
static void run_worker(const zz_test_env_t *env, zz_metrics_t *metrics)
{
        static atomic_int stop = 0;
        zz_worker_opts_t wo;
        zz_config_t *config;
        zz_worker_t *w;
        char errstr[512];

        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
        memset(&wo, 0, sizeof(wo));
        wo.config = config;
        wo.group = env->group;
        wo.policy_dir = ZZ_SOURCE_DIR "/policies";
        wo.name = "test-department";
        wo.batch_ms = 50;
        wo.idle_exit_ms = 4000;
        wo.metrics = metrics;
        wo.stop = &stop;
        w = zz_worker_new(&wo, errstr, sizeof(errstr));
        cr_assert_not_null(w, "%s", errstr);
        cr_assert_eq(zz_worker_run(w, errstr, sizeof(errstr)), 0, "%s", errstr);
        zz_worker_destroy(w);
        zz_config_destroy(config);
}

/* count(*) of the query before || 'arg' || after (arg is a topic or an ID
 * number the test made, quoted here). */
static long long count(const char *pg, const char *before, const char *arg,
                       const char *after)
{
        char sql[768];

        snprintf(sql, sizeof(sql), "%s'%s'%s", before, arg, after);
        return zz_test_pg_count(pg, sql);
}

/* What a reader of the database sees of the dead letters, facts and
 * decisions (event ids and reasons, never an ID number in a message). */
#define SQL_OUTCOME                                                            \
        "SELECT 'dl', src_topic, event_id, reason, reason_text FROM "          \
        "zizhu.dead_letter UNION ALL SELECT 'fact', src_topic, event_id, "     \
        "department, category FROM zizhu.identity_fact UNION ALL SELECT "      \
        "'decision', person_id, year::text, subsidy_fen::text, body FROM "     \
        "zizhu.decision ORDER BY 1, 2, 3"

Test(department, another_departments_record_is_dead_lettered_never_a_fact,
     .timeout = 300)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        zz_metrics_t *metrics = zz_metrics_new();
        zz_test_allocs_t pub = {0};
        static atomic_int stop = 0;
        zz_replay_opts_t ro;
        zz_config_t *config;
        zz_policy_t *pol[16];
        zz_audit_result_t res;
        char a[19], b[19], c[19], mca_topic[256], dpf_topic[256];
        char rdb[96], rpg[1024], errstr[512];
        char *live, *replayed;
        int i, n;

        cr_assert_eq(zz_test_env_new(&env, "dept"), 0);
        snprintf(mca_topic, sizeof(mca_topic), "%sidentity.mca", env.prefix);
        snprintf(dpf_topic, sizeof(dpf_topic), "%sidentity.dpf", env.prefix);
        zz_test_idno("500228", "19900101", 21, a);
        zz_test_idno("500228", "19800202", 22, b);
        zz_test_idno("500228", "19700303", 23, c);
        /* A: the normal flow, DPF's record on DPF's topic */
        disabled(&ms, a, "DPF", "DPF", "dpf-a");
        enrolled(&ms, a);
        /* B: what MCA's credentials could write on MCA's topic, with the
         * department field claimed either way */
        disabled(&ms, b, "MCA", "MCA", "forged-mca");
        disabled(&ms, b, "DPF", "MCA", "forged-dpf");
        enrolled(&ms, b);
        /* C: B without the forged records (the decision B must get) */
        enrolled(&ms, c);
        cr_assert_eq(zz_test_send(&env, &ms), 0);
        zz_test_close(&ms, "huilong", "2020", "2020-12-31T12:00:00+08:00");
        cr_assert_eq(zz_test_send(&env, &ms), 0);

        run_worker(&env, metrics);

        /* both dead-lettered with the reason, on MCA's topic */
        cr_expect_eq(
            count(
                env.pg,
                "SELECT count(*) FROM zizhu.dead_letter WHERE reason = 'DEPARTMENT_MISMATCH' AND src_topic = ",
                mca_topic,
                " AND event_id IN ('forged-mca', 'forged-dpf') AND stream = 'identity'"),
            2);
        cr_expect_eq(
            zz_test_pg_count(env.pg, "SELECT count(*) FROM zizhu.dead_letter"),
            2);
        cr_expect_eq(
            zz_test_pg_count(env.pg,
                             "SELECT count(*) FROM zizhu.dead_letter WHERE "
                             "event_id = 'forged-mca' AND reason_text = "
                             "'identity: category DPF.DISABLED is certified "
                             "by DPF, not by the record''s department'"),
            1);
        cr_expect_eq(zz_test_pg_count(
                         env.pg, "SELECT count(*) FROM zizhu.dead_letter WHERE "
                                 "event_id = 'forged-dpf' AND reason_text = "
                                 "'identity: the record''s department is not "
                                 "MCA, whose identity topic it was read from'"),
                     1);
        /* counted like every other reason */
        cr_expect_eq(zz_metrics_get(metrics, "zz_dead_letters_total", "reason",
                                    "DEPARTMENT_MISMATCH", NULL, NULL),
                     2.0);
        cr_expect_eq(zz_metrics_get(metrics, "zz_events_total", "topic",
                                    mca_topic, "outcome", "dead_letter"),
                     2.0);
        cr_expect_eq(zz_metrics_get(metrics, "zz_events_total", "topic",
                                    dpf_topic, "outcome", "applied"),
                     1.0);
        /* no fact: only A's record, from DPF's topic */
        cr_expect_eq(zz_test_pg_count(env.pg, "SELECT count(*) FROM "
                                              "zizhu.identity_fact"),
                     1);
        cr_expect_eq(
            count(
                env.pg,
                "SELECT count(*) FROM zizhu.identity_fact WHERE event_id = 'dpf-a' AND src_topic = ",
                dpf_topic, ""),
            1);
        /* no decision change: B is decided as C, who has no identity; A
         * is subsidized */
        cr_expect_eq(
            count(env.pg,
                  "SELECT count(*) FROM zizhu.decision WHERE person_id = ", a,
                  " AND eligible AND subsidy_fen > 0"),
            1);
        cr_expect_eq(
            count(env.pg,
                  "SELECT count(*) FROM zizhu.decision WHERE person_id = ", b,
                  " AND NOT eligible AND subsidy_fen = 0"),
            1);
        cr_expect_eq(
            count(env.pg,
                  "SELECT count(*) FROM zizhu.decision WHERE person_id = ", c,
                  " AND NOT eligible AND subsidy_fen = 0"),
            1);
        /* the dead letters reach the dead-letter topic (the worker's
         * relay; the in-process loop above has none) */
        {
                const zz_test_worker_opts_t o = {.batch_ms = 50,
                                                 .idle_exit_ms = 3000};
                int tries;

                cr_assert_eq(
                    zz_test_worker_run(&env, ZZ_TEST_SUBSIDY_WORKER, &o), 0);
                /* a read_committed reader may see the relay's last
                 * transaction a moment after it committed */
                for (tries = 0; tries < 5 && zz_test_check_published(&env) != 0;
                     tries++)
                        sleep(1);
        }
        cr_expect_eq(zz_test_check_published(&env), 0);

        /* settle, then replay the log: the same outcome, the same
         * allocations byte for byte */
        cr_assert_eq(zz_test_settle_run(&env), 0);
        cr_assert(zz_test_allocs_read(&env, &pub) == 0);
        cr_assert_gt(pub.n, 0);
        snprintf(rdb, sizeof(rdb), "%s_r", env.db);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
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
        zz_replay_conninfo(env.pg_base, rdb, rpg, sizeof(rpg));
        live = zz_test_pg_dump(env.pg, SQL_OUTCOME, NULL);
        replayed = zz_test_pg_dump(rpg, SQL_OUTCOME, NULL);
        cr_assert(live != NULL && replayed != NULL);
        cr_expect_str_eq(replayed, live);
        free(live);
        free(replayed);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
        n = zz_settle_load_policies(ZZ_SOURCE_DIR "/policies", pol, 16, errstr,
                                    sizeof(errstr));
        cr_assert(n > 0, "%s", errstr);
        cr_assert(zz_audit_verify(config, rpg, (const zz_policy_t *const *)pol,
                                  (size_t)n, 0, stderr, &res, errstr,
                                  sizeof(errstr)) == 0,
                  "%s", errstr);
        cr_expect(res.ok);
        cr_expect_eq(res.allocations, pub.n);
        cr_expect_eq(res.duplicates, 0);
        for (i = 0; i < n; i++)
                zz_policy_destroy(pol[i]);
        zz_config_destroy(config);
        zz_test_allocs_free(&pub);
        zz_test_msgs_free(&ms);
        zz_metrics_destroy(metrics);
        zz_test_db_drop(&env, rdb);
        zz_test_env_drop(&env);
}

/* zizhu-feed sends each record to its department's topic, and the worker
 * takes them as facts there. */
Test(department, feed_sends_each_department_to_its_topic, .timeout = 120)
{
        zz_test_env_t env;
        const char *const args[] = {"identity",
                                    "--dept",
                                    "DPF",
                                    "-q",
                                    ZZ_TEST_DATA "/feed/snap_dpf_v1.csv",
                                    NULL};
        char dpf_topic[256];
        long long facts;

        cr_assert_eq(zz_test_env_new(&env, "deptfeed"), 0);
        snprintf(dpf_topic, sizeof(dpf_topic), "%sidentity.dpf", env.prefix);
        cr_assert_eq(zz_test_run(&env, "producers", "zizhu-feed", args), 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        facts = zz_test_pg_count(env.pg,
                                 "SELECT count(*) FROM zizhu.identity_fact");
        cr_expect_gt(facts, 0);
        cr_expect_eq(
            count(env.pg,
                  "SELECT count(*) FROM zizhu.identity_fact WHERE src_topic = ",
                  dpf_topic, " AND department = 'DPF'"),
            facts);
        cr_expect_eq(
            zz_test_pg_count(env.pg, "SELECT count(*) FROM zizhu.dead_letter"),
            0);
        zz_test_env_drop(&env);
}
