/*
 * test_registry.c — issue 16 items 1 and 2 from outside: the subsidy worker
 * (its relay) publishes with schema registry framing against a real
 * registry (Apicurio Registry, deploy/local/registry.sh) and Confluent's
 * own Python deserializer reads every output; registry-framed input is
 * decoded through the registry, an unknown id is dead-lettered; and every
 * fingerprint on the topics is in the schema catalog, written before the
 * first message that uses it.
 */
#include <criterion/criterion.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zizhu/audit.h"
#include "zizhu/catalog.h"
#include "zizhu/config.h"
#include "zizhu/registry.h"
#include "zizhu/replay.h"
#include "zizhu/settle_worker.h"

#include "zz_test.h"

/* The registry and the venv with Confluent's client, by the project's own
 * script (both idempotent: quick when already there). The registry URL. */
static const char *registry_up(void)
{
        static char url[256];
        char cmd[2048];
        int rc;

        snprintf(cmd, sizeof(cmd),
                 "bash '%s/deploy/local/registry.sh' up >&2 && "
                 "bash '%s/deploy/local/registry.sh' venv >&2",
                 ZZ_SOURCE_DIR, ZZ_SOURCE_DIR);
        rc = system(cmd);
        cr_assert(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
                  "deploy/local/registry.sh up/venv failed");
        snprintf(url, sizeof(url), "http://127.0.0.1:%s/apis/ccompat/v7",
                 zz_test_getenv("ZIZHU_REGISTRY_PORT", "18081"));
        return url;
}

/* Runs tests/integration/registry_read.py in the venv: its exit status. */
static int read_with_python(const zz_test_env_t *env, const char *args)
{
        char cmd[4096];
        int rc;

        snprintf(cmd, sizeof(cmd),
                 "'%s/.zz/venv-registry/bin/python' "
                 "'%s/tests/integration/registry_read.py' %s "
                 "--bootstrap '%s' --prefix '%s' >&2",
                 ZZ_SOURCE_DIR, ZZ_SOURCE_DIR, args, env->bootstrap,
                 env->prefix);
        rc = system(cmd);
        return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static long long outbox_rows(const zz_test_env_t *env, const char *stream)
{
        char sql[256];

        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM zizhu.outbox WHERE stream = '%s'",
                 stream);
        return zz_test_pg_count(env->pg, sql);
}

Test(registry, worker_outputs_read_by_confluent_deserializer, .timeout = 600)
{
        const size_t n = 200;
        zz_test_env_t env;
        zz_test_person_t *ps = zz_test_generate(n, 1616);
        zz_test_msgs_t ms = {0};
        const char *url = registry_up();
        char conf_path[256], errstr[512], args[1024], pair[512];
        /* 00 + an id no registry gave: dead-lettered as UNKNOWN_SCHEMA */
        static const unsigned char unknown_id[] = {0x00, 0x7f, 0x00,
                                                   0x00, 0x01, 0x02};
        zz_config_t *cfg;
        size_t valid;
        FILE *fp;

        cr_assert_not_null(ps);
        cr_assert_eq(zz_test_env_new(&env, "reg"), 0);
        snprintf(conf_path, sizeof(conf_path), "/tmp/zzt_%d_registry.conf",
                 (int)getpid());
        fp = fopen(conf_path, "w");
        cr_assert_not_null(fp);
        fprintf(fp,
                "schema_registry_url = %s\n"
                "wire.subsidy-state = registry\n"
                "wire.reconciliation = registry\n"
                "wire.dead-letter = registry\n",
                url);
        cr_assert_eq(fclose(fp), 0);
        setenv("ZIZHU_CONFIG", conf_path, 1);

        /* The inputs: identity and enrollment registry framed (the test's
         * codec registers their schemas as a department's producer would),
         * payment single-object: the worker takes both. */
        cfg = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(cfg, "%s", errstr);
        cr_assert_eq(zz_config_set(cfg, "wire.identity=registry", errstr,
                                   sizeof(errstr)),
                     0);
        cr_assert_eq(zz_config_set(cfg, "wire.enrollment=registry", errstr,
                                   sizeof(errstr)),
                     0);
        cr_assert_eq(zz_registry_attach(cfg, zz_test_msgs_codec(&ms), errstr,
                                        sizeof(errstr)),
                     0, "%s", errstr);
        zz_config_destroy(cfg);
        zz_test_persons_msgs(&ms, ps, n);
        valid = ms.n;
        {
                size_t i, reg = 0, so = 0;
                for (i = 0; i < ms.n; i++) {
                        if (ms.m[i].value[0] == 0x00)
                                reg++;
                        else
                                so++;
                }
                cr_assert(reg > 0 && so > 0, "%zu registry, %zu single", reg,
                          so);
        }
        zz_test_msgs_add(&ms, ZZ_STREAM_IDENTITY, "k-unknown-id", unknown_id,
                         sizeof(unknown_id));
        cr_assert_eq(zz_test_produce(&env, &ms, 0, ms.n), 0);
        cr_assert_eq(zz_test_subsidy_run_to_idle(&env), 0);

        cr_expect_eq(zz_test_pg_count(
                         env.pg,
                         "SELECT (SELECT count(*) FROM zizhu.identity_fact) + "
                         "(SELECT count(*) FROM zizhu.enrollment_fact) + "
                         "(SELECT count(*) FROM zizhu.payment_fact)"),
                     (long long)valid);
        cr_expect_eq(zz_test_pg_count(env.pg,
                                      "SELECT count(*) FROM zizhu.dead_letter "
                                      "WHERE reason = 'UNKNOWN_SCHEMA'"),
                     1);
        cr_expect_eq(zz_test_check_published(&env), 0);
        cr_assert_gt(outbox_rows(&env, "subsidy-state"), 0);

        snprintf(pair, sizeof(pair),
                 "--expect subsidy-state=%lld --expect reconciliation=%lld "
                 "--expect dead-letter=%lld",
                 outbox_rows(&env, "subsidy-state"),
                 outbox_rows(&env, "reconciliation"),
                 outbox_rows(&env, "dead-letter"));
        snprintf(args, sizeof(args), "registry --registry '%s' %s", url, pair);
        cr_expect_eq(read_with_python(&env, args), 0,
                     "Confluent's AvroDeserializer did not read every output");
        /* the outputs only: the inputs here were written by the test, not
         * by a zizhu producer */
        snprintf(args, sizeof(args),
                 "catalog --registry '%s' --streams "
                 "subsidy-state,reconciliation,dead-letter",
                 url);
        cr_expect_eq(read_with_python(&env, args), 0,
                     "a schema on the topics is not in the catalog");

        unsetenv("ZIZHU_CONFIG");
        unlink(conf_path);
        zz_test_msgs_free(&ms);
        free(ps);
        zz_test_env_drop(&env);
}

/* Without a registry (the default framing): every fingerprint on the
 * outputs is in the catalog topic, and the worker's relay wrote it there
 * before the first message. The checker is fastavro, not our codec. */
Test(registry, catalog_holds_every_fingerprint_on_the_outputs, .timeout = 600)
{
        const size_t n = 200;
        zz_test_env_t env;
        zz_test_person_t *ps = zz_test_generate(n, 1617);
        zz_test_msgs_t ms = {0};
        static const char garbage[] = "not avro";

        registry_up(); /* for the venv */
        cr_assert_not_null(ps);
        cr_assert_eq(zz_test_env_new(&env, "cat"), 0);
        unsetenv("ZIZHU_CONFIG");
        zz_test_persons_msgs(&ms, ps, n);
        zz_test_msgs_add(&ms, ZZ_STREAM_PAYMENT, "k-garbage", garbage,
                         sizeof(garbage));
        cr_assert_eq(zz_test_produce(&env, &ms, 0, ms.n), 0);
        cr_assert_eq(zz_test_subsidy_run_to_idle(&env), 0);
        cr_expect_eq(zz_test_check_published(&env), 0);
        cr_assert_gt(outbox_rows(&env, "dead-letter"), 0);
        cr_expect_eq(read_with_python(&env, "catalog --streams subsidy-state,"
                                            "reconciliation,dead-letter"),
                     0, "a fingerprint on the outputs is not in the catalog");
        zz_test_msgs_free(&ms);
        free(ps);
        zz_test_env_drop(&env);
}

/* Huilong persons for 2020, as test_replay makes them. */
static void people(zz_test_msgs_t *ms, int from, int to)
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
                                   "2019-10-20", village);
                zz_test_payment(ms, id, 2020, i % 2 ? 62500 : 25000,
                                i % 4 == 0 ? 0 : (i % 3 ? 25000 : 17500), 0,
                                "2019-10-20T10:00:00+08:00");
        }
}

/* The settlement worker publishes allocations registry framed; Confluent's
 * deserializer reads them, and a replay that writes them single-object
 * audits identical (the audit compares writer schema and datum). */
Test(registry, allocations_registry_framed_read_and_audited, .timeout = 600)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        zz_test_allocs_t pub;
        const char *url = registry_up();
        char conf_path[256], errstr[1024], args[512], rdb[96], rpg[1024];
        zz_replay_opts_t ro;
        zz_config_t *config;
        zz_audit_result_t res;
        zz_policy_t *pol[16];
        static atomic_int stop = 0;
        size_t i;
        int n;
        FILE *fp;

        cr_assert_eq(zz_test_env_new(&env, "rgs"), 0);
        snprintf(conf_path, sizeof(conf_path), "/tmp/zzt_%d_registry.conf",
                 (int)getpid());
        fp = fopen(conf_path, "w");
        cr_assert_not_null(fp);
        fprintf(fp,
                "schema_registry_url = %s\n"
                "wire.allocation = registry\n"
                "wire.dead-letter = registry\n",
                url);
        cr_assert_eq(fclose(fp), 0);
        setenv("ZIZHU_CONFIG", conf_path, 1);

        people(&ms, 1, 40);
        cr_assert_eq(zz_test_send(&env, &ms), 0);
        zz_test_close(&ms, "huilong", "2020", "2019-12-20T09:00:00+08:00");
        cr_assert_eq(zz_test_send(&env, &ms), 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);
        cr_assert_eq(zz_test_allocs_read(&env, &pub), 0);
        cr_assert_gt(pub.n, 0);
        for (i = 0; i < pub.n; i++)
                cr_expect_eq(pub.a[i].value[0], 0x00,
                             "allocation %zu is not registry framed", i);
        snprintf(args, sizeof(args),
                 "registry --registry '%s' --expect allocation=%zu", url,
                 pub.n);
        cr_expect_eq(read_with_python(&env, args), 0,
                     "Confluent's AvroDeserializer did not read every "
                     "allocation");

        /* the replay writes single-object allocations: the audit compares
         * schema and datum, not the framing */
        snprintf(rdb, sizeof(rdb), "%s_r", env.db);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
        cr_assert_eq(zz_config_set(config, "wire.allocation=single-object",
                                   errstr, sizeof(errstr)),
                     0);
        memset(&ro, 0, sizeof(ro));
        ro.config = config;
        ro.database = rdb;
        ro.policy_dir = ZZ_SOURCE_DIR "/policies";
        ro.sql_dir = ZZ_SOURCE_DIR "/sql";
        ro.from_ms = -1;
        ro.drop = 1;
        ro.stop = &stop;
        cr_assert_eq(zz_replay_run(&ro, errstr, sizeof(errstr)), 0, "%s",
                     errstr);
        zz_replay_conninfo(env.pg_base, rdb, rpg, sizeof(rpg));
        cr_expect_eq(zz_test_pg_count(rpg, "SELECT count(*) FROM "
                                           "zizhu.settle_allocation WHERE "
                                           "get_byte(value, 0) <> 195"),
                     0, "the replay's allocations are not single-object");
        cr_expect_gt(zz_test_pg_count(
                         rpg, "SELECT count(*) FROM zizhu.settle_allocation"),
                     0);
        n = zz_settle_load_policies(ZZ_SOURCE_DIR "/policies", pol, 16, errstr,
                                    sizeof(errstr));
        cr_assert_gt(n, 0);
        cr_assert_eq(zz_audit_verify(config, rpg,
                                     (const zz_policy_t *const *)pol, (size_t)n,
                                     0, stderr, &res, errstr, sizeof(errstr)),
                     0, "%s", errstr);
        cr_expect(res.ok);
        cr_expect_eq(res.allocations, pub.n);
        cr_expect_eq(res.differences, 0);
        for (n = n - 1; n >= 0; n--)
                zz_policy_destroy(pol[n]);
        zz_config_destroy(config);
        unsetenv("ZIZHU_CONFIG");
        unlink(conf_path);
        zz_test_allocs_free(&pub);
        zz_test_msgs_free(&ms);
        zz_test_db_drop(&env, rdb);
        zz_test_env_drop(&env);
}
