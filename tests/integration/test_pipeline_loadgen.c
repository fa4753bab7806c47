/*
 * test_pipeline_loadgen.c — zizhu-loadgen's expected totals against what
 * the whole pipeline decides and settles, for a 100 000-person province.
 *
 * The built binaries run as an operator runs them: zizhu-feed activates
 * the five policies, zizhu-loadgen sends the population to Kafka and
 * writes its expected totals, zizhu-feed closes every settlement period
 * (the plan of deploy/demo/run.sh), zizhu-subsidy-worker and
 * zizhu-settlement-worker run until idle. Then, per policy and in fen:
 * the decision table equals loadgen's decided persons, subsidies, split by
 * payer and reconciliation; the settled allocations (database and
 * allocation topic) equal loadgen's settled totals, net per payer and by
 * kind.
 *
 * On the real broker and PostgreSQL: fresh topics and a fresh database
 * (zz_test.h), both removed at the end.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "zizhu/pg.h"

#include "zz_test.h"

#define LG_SEED    "20240917"
#define LG_PERSONS "100000"

/* jurisdiction, policy, activation time, closes (period@issued-at) */
static const struct {
        const char *jurisdiction, *policy, *activated, *closes[2];
} lg_plan[] = {
    {"huilong", "huilong-2020", "2019-09-01T09:00", {"2020@2019-12-31T18:00"}},
    {"tongnan", "tongnan-2021", "2020-08-20T09:00", {"2021@2021-07-05T18:00"}},
    {"panzhihua",
     "panzhihua-2022",
     "2021-08-20T09:00",
     {"2022@2022-07-05T18:00"}},
    {"yubei",
     "yubei-2017",
     "2016-08-20T09:00",
     {"2017january@2017-01-10T18:00", "2017july@2017-07-10T18:00"}},
    {"shantou",
     "shantou-2021",
     "2020-08-20T09:00",
     {"2021H1@2021-06-15T18:00", "2021H2@2021-12-15T18:00"}},
};

#define LG_NPLAN (sizeof(lg_plan) / sizeof(lg_plan[0]))

static long long jint(const json_t *o, const char *path1, const char *path2)
{
        const json_t *x = json_object_get(o, path1);

        if (path2 != NULL)
                x = json_object_get(x, path2);
        cr_assert(json_is_integer(x), "expected.json: no integer %s%s%s", path1,
                  path2 ? "." : "", path2 ? path2 : "");
        return (long long)json_integer_value(x);
}

/* Runs sql with $1 = policy name; one bigint. */
static long long pcount(PGconn *c, const char *sql, const char *policy)
{
        PGresult *r = PQexecParams(c, sql, 1, NULL, &policy, NULL, NULL, 0);
        long long v = -1;

        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s",
                     PQresultErrorMessage(r));
        if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
                v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        else if (PQntuples(r) > 0)
                v = 0;
        PQclear(r);
        return v;
}

/* Compares rows (name, persons, fen) of sql ($1 = policy) with the
 * object {name: {persons, fen}} of expected, both ways. persons_col 0:
 * fen only (rows: name, fen). */
static void compare_map(PGconn *c, const char *what, const char *policy,
                        const char *sql, const json_t *expected,
                        int with_persons)
{
        PGresult *r = PQexecParams(c, sql, 1, NULL, &policy, NULL, NULL, 0);
        int i, n;

        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s",
                     PQresultErrorMessage(r));
        n = PQntuples(r);
        for (i = 0; i < n; i++) {
                const char *name = PQgetvalue(r, i, 0);
                const json_t *e = json_object_get(expected, name);
                long long persons = strtoll(PQgetvalue(r, i, 1), NULL, 10);
                long long fen = strtoll(PQgetvalue(r, i, 2), NULL, 10);

                if (e == NULL) {
                        cr_expect(fen == 0 && persons == 0,
                                  "%s %s: %s has %lld persons, %lld fen; "
                                  "loadgen expects none",
                                  policy, what, name, persons, fen);
                        continue;
                }
                if (with_persons)
                        cr_expect_eq(persons, jint(e, "persons", NULL),
                                     "%s %s %s: %lld persons, loadgen %lld",
                                     policy, what, name, persons,
                                     jint(e, "persons", NULL));
                cr_expect_eq(fen, jint(e, "fen", NULL),
                             "%s %s %s: %lld fen, loadgen %lld", policy, what,
                             name, fen, jint(e, "fen", NULL));
        }
        {
                const char *key;
                const json_t *e;

                json_object_foreach((json_t *)expected, key, e)
                {
                        int found = 0;

                        for (i = 0; i < n; i++)
                                if (strcmp(PQgetvalue(r, i, 0), key) == 0)
                                        found = 1;
                        cr_expect(found || (jint(e, "fen", NULL) == 0 &&
                                            jint(e, "persons", NULL) == 0),
                                  "%s %s %s: loadgen expects %lld fen, the "
                                  "pipeline has none",
                                  policy, what, key, jint(e, "fen", NULL));
                }
        }
        PQclear(r);
}

/* Reads the allocation topic read_committed: message count and the sum
 * of fen per key ("<jurisdiction>/<period>") into sums (by jurisdiction
 * of lg_plan). */
static long long read_allocation_topic(const zz_test_env_t *env,
                                       long long sums[LG_NPLAN])
{
        zz_test_allocs_t as;
        long long n;
        size_t a, i;

        memset(sums, 0, LG_NPLAN * sizeof(sums[0]));
        cr_assert_eq(zz_test_allocs_read(env, &as), 0,
                     "could not read the allocation topic to its end");
        for (a = 0; a < as.n; a++)
                for (i = 0; i < LG_NPLAN; i++) {
                        size_t len = strlen(lg_plan[i].jurisdiction);

                        if (strncmp(as.a[a].key, lg_plan[i].jurisdiction,
                                    len) == 0 &&
                            as.a[a].key[len] == '/')
                                sums[i] += as.a[a].fen;
                }
        n = (long long)as.n;
        zz_test_allocs_free(&as);
        return n;
}

static zz_test_env_t lg_env;
static char lg_expected_path[512];

/* The database and topics go, whatever the outcome. */
static void lg_cleanup(void)
{
        if (lg_env.db[0] == '\0')
                return;
        zz_test_env_drop(&lg_env);
        unlink(lg_expected_path);
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(pipeline_loadgen, expected_totals_match_the_settlement, .timeout = 600,
     .fini = lg_cleanup)
{
        zz_test_env_t env;
        char *expected_path = lg_expected_path;
        char sql[512], errstr[512];
        json_t *root, *pols;
        json_error_t jerr;
        PGconn *c;
        size_t i, k;
        long long topic_sums[LG_NPLAN], n_topic, n_closes = 0;
        double t0 = now_s();

        /* zz_test_env_new in steps: the cleanup knows the names first */
        zz_test_env_init(&env, "lg");
        lg_env = env;
        zz_test_env_export(&env);
        cr_assert_eq(zz_test_db_create(&env, env.db, 1), 0);
        cr_assert_eq(zz_test_topics_create(&env), 0);
        snprintf(lg_expected_path, sizeof(lg_expected_path),
                 "/tmp/zz-loadgen-expected-%d.json", (int)getpid());

        /* policies first, as the demo does */
        for (i = 0; i < LG_NPLAN; i++) {
                char policy[1024];
                const char *args[] = {"activate",    "-q",
                                      "--policy",    policy,
                                      "--issued-at", lg_plan[i].activated,
                                      NULL};

                snprintf(policy, sizeof(policy), "%s/policies/%s.yaml",
                         ZZ_SOURCE_DIR, lg_plan[i].policy);
                cr_assert_eq(zz_test_run(&env, "producers", "zizhu-feed", args),
                             0, "activate %s", lg_plan[i].policy);
        }
        {
                const char *args[] = {"-q",          "--jurisdiction",
                                      "province",    "--persons",
                                      LG_PERSONS,    "--seed",
                                      LG_SEED,       "--expected",
                                      expected_path, NULL};

                cr_assert_eq(
                    zz_test_run(&env, "producers", "zizhu-loadgen", args), 0);
        }
        /* every period, with the ends of the inputs as its boundary */
        for (i = 0; i < LG_NPLAN; i++) {
                for (k = 0; k < 2 && lg_plan[i].closes[k] != NULL; k++) {
                        char period[32];
                        const char *at = strchr(lg_plan[i].closes[k], '@');
                        const char *args[] = {"close",
                                              "-q",
                                              "--jurisdiction",
                                              lg_plan[i].jurisdiction,
                                              "--period",
                                              period,
                                              "--issued-at",
                                              at + 1,
                                              NULL};

                        snprintf(period, sizeof(period), "%.*s",
                                 (int)(at - lg_plan[i].closes[k]),
                                 lg_plan[i].closes[k]);
                        cr_assert_eq(
                            zz_test_run(&env, "producers", "zizhu-feed", args),
                            0, "close %s %s", lg_plan[i].jurisdiction, period);
                        n_closes++;
                }
        }
        fprintf(stderr, "pipeline_loadgen: fed in %.1f s\n", now_s() - t0);
        {
                const zz_test_worker_opts_t o = {
                    .no_relay = 1, .batch_max = 2000, .idle_exit_ms = 2000};

                cr_assert_eq(
                    zz_test_worker_run(&env, ZZ_TEST_SUBSIDY_WORKER, &o), 0);
        }
        fprintf(stderr, "pipeline_loadgen: decided at %.1f s\n", now_s() - t0);
        {
                const zz_test_worker_opts_t o = {.idle_exit_ms = 1500,
                                                 .wait_ms = 120000};

                cr_assert_eq(
                    zz_test_worker_run(&env, ZZ_TEST_SETTLEMENT_WORKER, &o), 0);
        }
        fprintf(stderr, "pipeline_loadgen: settled at %.1f s\n", now_s() - t0);

        root = json_load_file(expected_path, 0, &jerr);
        cr_assert_not_null(root, "%s: %s", expected_path, jerr.text);
        cr_assert(json_is_true(json_object_get(root, "expected_computed")));
        pols = json_object_get(root, "policies");
        cr_assert_eq(json_array_size(pols), LG_NPLAN);
        c = zz_pg_connect(env.pg, "test", errstr, sizeof(errstr));
        cr_assert_not_null(c, "%s", errstr);

        /* every event reached the facts, none was refused */
        cr_expect_eq(
            zz_test_pg_count(env.pg, "SELECT count(*) FROM zizhu.dead_letter"),
            0);
        cr_expect_eq(zz_test_pg_count(
                         env.pg, "SELECT count(*) FROM zizhu.identity_fact"),
                     jint(root, "events", "identity"));
        cr_expect_eq(zz_test_pg_count(
                         env.pg, "SELECT count(*) FROM zizhu.enrollment_fact"),
                     jint(root, "events", "enrollment"));
        cr_expect_eq(
            zz_test_pg_count(env.pg, "SELECT count(*) FROM zizhu.payment_fact"),
            jint(root, "events", "payment"));
        /* every close settled a period */
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM zizhu.settle_command WHERE status = "
                 "'CLOSED'");
        cr_expect_eq(zz_test_pg_count(env.pg, sql), n_closes);
        cr_expect_eq(zz_test_pg_count(
                         env.pg, "SELECT count(*) FROM zizhu.settle_period"),
                     n_closes);

        n_topic = read_allocation_topic(&env, topic_sums);
        cr_expect_eq(
            n_topic,
            zz_test_pg_count(env.pg,
                             "SELECT count(*) FROM zizhu.settle_allocation"));

        for (i = 0; i < json_array_size(pols); i++) {
                const json_t *p = json_array_get(pols, i);
                const json_t *settled = json_object_get(p, "settled");
                const char *name =
                    json_string_value(json_object_get(p, "policy"));
                const char *kind;
                const json_t *e;
                size_t j;

                cr_assert_not_null(name);
                cr_assert_not_null(settled, "expected.json has no settled");
                /* decisions */
                cr_expect_eq(pcount(c,
                                    "SELECT count(*) FROM zizhu.decision "
                                    "WHERE policy_name = $1",
                                    name),
                             jint(p, "decided", NULL), "%s decided", name);
                cr_expect_eq(pcount(c,
                                    "SELECT count(*) FROM zizhu.decision "
                                    "WHERE policy_name = $1 AND eligible",
                                    name),
                             jint(p, "eligible", NULL), "%s eligible", name);
                cr_expect_eq(pcount(c,
                                    "SELECT sum(contribution_fen) FROM "
                                    "zizhu.decision WHERE policy_name = $1",
                                    name),
                             jint(p, "contribution_fen", NULL),
                             "%s contribution", name);
                cr_expect_eq(pcount(c,
                                    "SELECT sum(subsidy_fen) FROM "
                                    "zizhu.decision WHERE policy_name = $1",
                                    name),
                             jint(p, "subsidy_fen", NULL), "%s subsidy", name);
                cr_expect_eq(pcount(c,
                                    "SELECT sum(individual_due_fen) FROM "
                                    "zizhu.decision WHERE policy_name = $1",
                                    name),
                             jint(p, "individual_due_fen", NULL),
                             "%s individual due", name);
                compare_map(c, "payer", name,
                            "SELECT f->>'payer', count(*), "
                            "sum((f->>'fen')::bigint) FROM zizhu.decision d, "
                            "jsonb_array_elements(d.body::jsonb->'funding') f "
                            "WHERE d.policy_name = $1 GROUP BY 1",
                            json_object_get(p, "by_payer"), 1);
                compare_map(c, "reconciliation", name,
                            "SELECT recon_status, count(*), sum(recon_fen) "
                            "FROM zizhu.decision WHERE policy_name = $1 "
                            "GROUP BY 1",
                            json_object_get(p, "reconciliation"), 1);

                /* settlement: net per payer, persons with a non-zero net */
                cr_expect_eq(pcount(c,
                                    "SELECT sum(fen) FROM "
                                    "zizhu.settle_allocation WHERE "
                                    "policy_name = $1",
                                    name),
                             jint(settled, "fen", NULL), "%s settled", name);
                compare_map(c, "settled payer", name,
                            "SELECT payer, count(*) FILTER (WHERE fen <> 0), "
                            "sum(fen) FROM (SELECT payer, pseudonym, "
                            "sum(fen) AS fen FROM zizhu.settle_line WHERE "
                            "policy_name = $1 GROUP BY 1, 2) x GROUP BY 1",
                            json_object_get(settled, "by_payer"), 1);
                cr_expect_eq(pcount(c,
                                    "SELECT count(*) FROM "
                                    "zizhu.settle_allocation WHERE "
                                    "policy_name = $1 AND kind = 'ADJUSTMENT'",
                                    name),
                             0, "%s: adjustments in a first settlement", name);
                json_object_foreach(json_object_get(settled, "by_kind"), kind,
                                    e)
                {
                        char q[256];

                        snprintf(q, sizeof(q),
                                 "SELECT coalesce(sum(fen), 0) FROM "
                                 "zizhu.settle_allocation WHERE policy_name "
                                 "= $1 AND kind = '%s'",
                                 kind);
                        cr_expect_eq(pcount(c, q, name),
                                     (long long)json_integer_value(e),
                                     "%s settled %s", name, kind);
                }
                /* and what the finance side reads on the topic */
                for (j = 0; j < LG_NPLAN; j++)
                        if (strcmp(lg_plan[j].policy, name) == 0)
                                cr_expect_eq(
                                    topic_sums[j], jint(settled, "fen", NULL),
                                    "%s on the allocation topic", name);
        }
        PQfinish(c);
        json_decref(root);
        fprintf(stderr, "pipeline_loadgen: done in %.1f s\n", now_s() - t0);
}
