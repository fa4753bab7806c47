/*
 * test_settle_chunks.c — a close settles its persons a chunk at a time
 * (settle_facts.h, zz_factset_open): whatever the chunk, every row it writes
 * must be the same. And the benchmark's loader (tests/bench/
 * zz-bench-settle-load) must store exactly the facts the subsidy worker
 * stores for the same zizhu-loadgen data, since the benchmark settles
 * over what it loads.
 *
 * A 3 000-person province (all five policies) is loaded once, copied to
 * three databases, and every period of every policy is closed in each:
 * with the default chunk (all persons in one), with chunks of 3 rows and
 * of 1 row (persons cut across fetches: the carry). The first periods
 * close over the first half of each input, then the facts of five
 * settled persons are deleted (a person with ledger rows and no facts)
 * and the later periods close over everything, so the ledger, the
 * adjustments and persons with ledger rows only are covered. The three
 * databases must hold the same allocations (id, encoded bytes), lines,
 * ledger, periods and commands.
 *
 * On the real broker and PostgreSQL: fresh databases and topics, removed
 * at the end.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "zizhu/codec.h"
#include "zizhu/settle_facts.h"
#include "zizhu/settle_run.h"
#include "zizhu/settle_worker.h"

#include "zz_test.h"

#define CH_PERSONS "3000"
#define CH_SEED    "20251126"

static const char *const ch_inputs[3] = {"identity", "enrollment", "payment"};
/* The input topics: identity's of each department, enrollment, payment. */
#define CH_TOPICS (ZZ_CONFIG_IDENTITY_TOPICS + 2)

/* The topic streams of the inputs into ts, with the fact table of each. */
static void ch_topics(zz_config_streams_t *ts, const char *table[CH_TOPICS])
{
        size_t i;

        cr_assert_eq(zz_config_topic_streams(ch_inputs, 3, ts), CH_TOPICS);
        for (i = 0; i < CH_TOPICS; i++)
                table[i] = i < ZZ_CONFIG_IDENTITY_TOPICS    ? "identity"
                           : i == ZZ_CONFIG_IDENTITY_TOPICS ? "enrollment"
                                                            : "payment";
}

/* Every row of sql as text (see zz_test_pg_dump); fails the test when sql
 * fails. */
static char *dump(const char *pg, const char *sql)
{
        char *out = zz_test_pg_dump(pg, sql, NULL);

        cr_assert_not_null(out, "%s", sql);
        return out;
}

static void exec_ok(const char *pg, const char *sql)
{
        cr_assert(zz_test_pg_exec(pg, sql) == 0, "%s", sql);
}

/* Closes one period in-process, in one transaction, with the given
 * chunk; the boundary is every input at half or all of its rows. */
static void close_period(const zz_test_env_t *env, const char *pg,
                         zz_policy_t *const *policies, size_t n_policies,
                         const char *jurisdiction, const char *period,
                         const long long *rows, int half, size_t chunk, int seq)
{
        PGconn *c = PQconnectdb(pg);
        zz_codec_t *codec;
        zz_settle_pos_t b[CH_TOPICS];
        zz_config_streams_t ts;
        const char *table[CH_TOPICS];
        zz_settle_cmd_t cmd;
        zz_settle_result_t result;
        char errstr[512], event[64];
        int i;

        cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
        codec = zz_codec_new(errstr, sizeof(errstr));
        cr_assert(codec != NULL, "%s", errstr);
        ch_topics(&ts, table);
        for (i = 0; i < CH_TOPICS; i++) {
                snprintf(b[i].topic, sizeof(b[i].topic), "%s%s", env->prefix,
                         ts.name[i]);
                b[i].partition = 0;
                b[i].end = half ? rows[i] / 2 : rows[i];
        }
        snprintf(event, sizeof(event), "ctl-test-chunks-%d", seq);
        memset(&cmd, 0, sizeof(cmd));
        cmd.event_id = event;
        cmd.jurisdiction = jurisdiction;
        cmd.period = period;
        cmd.issued_at = 1700000000000LL + seq;
        cmd.boundary = b;
        cmd.n_boundary = CH_TOPICS;
        cmd.src_partition = 0;
        cmd.src_offset = seq;
        cmd.chunk = chunk;
        PQclear(PQexec(c, "BEGIN"));
        cr_assert(
            zz_settle_close(c, codec, (const zz_policy_t *const *)policies,
                            n_policies, ZZ_TEST_PSEUDONYM_KEY, &cmd, &result,
                            errstr, sizeof(errstr)) == 0,
            "close %s %s (chunk %zu): %s", jurisdiction, period, chunk, errstr);
        cr_assert_eq(result.status, 0, "close %s %s: %s", jurisdiction, period,
                     result.reason);
        PQclear(PQexec(c, "COMMIT"));
        zz_codec_destroy(codec);
        PQfinish(c);
}

/* Deletes every fact of five persons the first closes settled. */
static void forget_persons(const char *pg)
{
        static const char *const tables[3] = {
            "identity_fact", "enrollment_fact", "payment_fact"};
        char sql[512];
        int i;

        for (i = 0; i < 3; i++) {
                snprintf(sql, sizeof(sql),
                         "DELETE FROM zizhu.%s WHERE person_id IN (SELECT "
                         "DISTINCT person_id FROM zizhu.settle_ledger ORDER "
                         "BY person_id LIMIT 5)",
                         tables[i]);
                exec_ok(pg, sql);
        }
}

static const struct {
        const char *jurisdiction, *period;
        int half; /* boundary: the first half of each input */
} ch_plan[] = {
    {"huilong", "2020", 1},      {"shantou", "2021H1", 1},
    {"yubei", "2017january", 1}, {"tongnan", "2021", 1},
    {"panzhihua", "2022", 1},    {"huilong", "2020S1", 0},
    {"shantou", "2021H2", 0},    {"yubei", "2017july", 0},
    {"tongnan", "2021S1", 0},    {"panzhihua", "2022S1", 0},
};
#define CH_NPLAN (sizeof(ch_plan) / sizeof(ch_plan[0]))

/* The first five periods close before the persons are forgotten. */
#define CH_FIRST 5

Test(settle_chunks, any_chunk_settles_the_same, .timeout = 600)
{
        static const size_t chunks[3] = {0, 3, 1};
        static const char *const tables[] = {
            "SELECT id, policy_name, period, allocation_id, payer, fund, "
            "region, kind, persons, fen, encode(key, 'hex'), encode(value, "
            "'hex') FROM zizhu.settle_allocation ORDER BY id",
            "SELECT * FROM zizhu.settle_line ORDER BY allocation_id, "
            "pseudonym, year, category, rule, kind, fen, adjusts_period",
            "SELECT * FROM zizhu.settle_ledger ORDER BY policy_name, "
            "person_id, year, payer, fund, region, category, rule",
            "SELECT policy_name, period, period_index, jurisdiction, "
            "policy_version, close_event_id, closed_at, boundary, "
            "allocations, lines, persons, fen FROM zizhu.settle_period "
            "ORDER BY policy_name, period_index",
            "SELECT event_id, jurisdiction, period, issued_at, status, "
            "reason FROM zizhu.settle_command ORDER BY event_id"};
        zz_test_env_t env;
        zz_policy_t *policies[16];
        char pg[3][1024], db[3][96], sql[256], errstr[512];
        long long rows[CH_TOPICS], identity_rows = 0;
        zz_config_streams_t ts;
        const char *table[CH_TOPICS];
        int n_policies, d, t;
        size_t p;

        cr_assert(zz_test_env_new(&env, "chunks") == 0);
        {
                const char *args[] = {"--persons", CH_PERSONS,       "--seed",
                                      CH_SEED,     "--jurisdiction", "province",
                                      "--prefix",  env.prefix,       "--group",
                                      env.group,   "--pg",           env.pg,
                                      NULL};

                cr_assert_eq(zz_test_run(&env, "tests/bench",
                                         "zz-bench-settle-load", args),
                             0, "zz-bench-settle-load failed");
        }
        ch_topics(&ts, table);
        for (t = 0; t < CH_TOPICS; t++) {
                char *n;

                snprintf(sql, sizeof(sql),
                         "SELECT count(*) FROM zizhu.%s_fact WHERE src_topic "
                         "= '%s%s'",
                         table[t], env.prefix, ts.name[t]);
                n = zz_test_pg_text(env.pg, sql);
                cr_assert(n != NULL);
                rows[t] = strtoll(n, NULL, 10);
                free(n);
                if (t < ZZ_CONFIG_IDENTITY_TOPICS)
                        identity_rows += rows[t];
                else
                        cr_assert_gt(rows[t], 10, "%s: %lld rows", ts.name[t],
                                     rows[t]);
        }
        cr_assert_gt(identity_rows, 10, "identity: %lld rows", identity_rows);
        /* three copies of the loaded database */
        for (d = 0; d < 3; d++) {
                snprintf(db[d], sizeof(db[d]), "%s_%d", env.db, d);
                zz_test_db_conninfo(&env, db[d], pg[d], sizeof(pg[d]));
                zz_test_db_drop(&env, db[d]);
                snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s",
                         db[d], env.db);
                exec_ok(env.pg_base, sql);
        }
        n_policies = zz_settle_load_policies(
            ZZ_SOURCE_DIR "/policies", policies, 16, errstr, sizeof(errstr));
        cr_assert(n_policies > 0, "%s", errstr);
        for (d = 0; d < 3; d++)
                for (p = 0; p < CH_NPLAN; p++) {
                        if (p == CH_FIRST)
                                forget_persons(pg[d]);
                        close_period(&env, pg[d], policies, (size_t)n_policies,
                                     ch_plan[p].jurisdiction, ch_plan[p].period,
                                     rows, ch_plan[p].half, chunks[d], (int)p);
                }
        /* the data exercise what they should */
        cr_expect_gt(
            zz_test_pg_count(pg[0], "SELECT count(*) FROM zizhu.settle_line"),
            100);
        cr_expect_gt(zz_test_pg_count(pg[0],
                                      "SELECT count(*) FROM zizhu.settle_line "
                                      "WHERE kind = 'ADJUSTMENT'"),
                     0);
        for (t = 0; t < (int)(sizeof(tables) / sizeof(tables[0])); t++) {
                char *a = dump(pg[0], tables[t]);

                for (d = 1; d < 3; d++) {
                        char *b = dump(pg[d], tables[t]);

                        cr_expect(strcmp(a, b) == 0,
                                  "chunk %zu differs from one chunk: %s",
                                  chunks[d], tables[t]);
                        free(b);
                }
                free(a);
        }
        for (p = 0; p < (size_t)n_policies; p++)
                zz_policy_destroy(policies[p]);
        for (d = 0; d < 3; d++)
                zz_test_db_drop(&env, db[d]);
        zz_test_env_drop(&env);
}

/* The loader's facts are the subsidy worker's for the same data (all
 * columns but the source position, which the loader makes up). */
Test(settle_chunks, bench_loader_stores_the_workers_facts, .timeout = 300)
{
        static const char *const facts[3] = {
            "SELECT event_id, person_id, department, dept_record_id, action, "
            "category, attrs::text, valid_from, valid_to, approving_region, "
            "residence_region, reported_at, deceased_on FROM "
            "zizhu.identity_fact ORDER BY event_id",
            "SELECT event_id, person_id, department, dept_record_id, action, "
            "household_id, year, tier, enrollment_class, kind, registered_on, "
            "region, unit FROM zizhu.enrollment_fact ORDER BY event_id",
            "SELECT event_id, person_id, department, dept_record_id, kind, "
            "year, contribution_fen, subsidy_applied_fen, paid_fen, "
            "refund_fen, paid_at, receipt FROM zizhu.payment_fact ORDER BY "
            "event_id"};
        zz_test_env_t env;
        char db[96], pg[1024], sql[256];
        int t;

        cr_assert(zz_test_env_new(&env, "load") == 0);
        {
                const char *args[] = {"--persons",
                                      "2000",
                                      "--seed",
                                      CH_SEED,
                                      "--jurisdiction",
                                      "province",
                                      "--no-expected",
                                      "-q",
                                      NULL};

                cr_assert_eq(
                    zz_test_run(&env, "producers", "zizhu-loadgen", args), 0,
                    "zizhu-loadgen failed");
        }
        cr_assert_eq(zz_test_subsidy_load(&env), 0,
                     "zizhu-subsidy-worker failed");
        snprintf(db, sizeof(db), "%s_b", env.db);
        zz_test_db_conninfo(&env, db, pg, sizeof(pg));
        cr_assert(zz_test_db_create(&env, db, 1) == 0);
        {
                const char *args[] = {"--persons", "2000",           "--seed",
                                      CH_SEED,     "--jurisdiction", "province",
                                      "--prefix",  env.prefix,       "--group",
                                      env.group,   "--pg",           pg,
                                      NULL};

                cr_assert_eq(zz_test_run(&env, "tests/bench",
                                         "zz-bench-settle-load", args),
                             0, "zz-bench-settle-load failed");
        }
        cr_expect_eq(
            zz_test_pg_count(env.pg, "SELECT count(*) FROM zizhu.dead_letter"),
            0);
        for (t = 0; t < 3; t++) {
                char *a = dump(env.pg, facts[t]);
                char *b = dump(pg, facts[t]);

                cr_expect(strlen(a) > 1000, "no %s facts", ch_inputs[t]);
                cr_expect(strcmp(a, b) == 0,
                          "the loader's %s facts differ from the worker's",
                          ch_inputs[t]);
                free(a);
                free(b);
        }
        /* the loader's positions cover what it wrote */
        snprintf(sql, sizeof(sql),
                 "SELECT sum(next_offset) FROM zizhu.consumer_position WHERE "
                 "group_id = '%s'",
                 env.group);
        cr_expect_eq(zz_test_pg_count(pg, sql),
                     zz_test_pg_count(pg,
                                      "SELECT (SELECT count(*) FROM "
                                      "zizhu.identity_fact) + (SELECT count(*) "
                                      "FROM zizhu.enrollment_fact) + (SELECT "
                                      "count(*) FROM zizhu.payment_fact)"));
        zz_test_db_drop(&env, db);
        zz_test_env_drop(&env);
}
