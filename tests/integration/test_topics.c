/*
 * test_topics.c — the audit's retention check: a topic that keeps its data
 * for 7 days makes the subsidy worker and `zizhu replay` refuse to start
 * (exit 2) with the message an operator sees; with audit_retention_ms set
 * to those 7 days they start. `zizhu topics apply` makes the plan's topics
 * on a fresh prefix, changes nothing the second time, and the broker
 * describes the plan's configs.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zz_test.h"

#define WEEK_MS "604800000"

/* The value of key in the configuration of topic as the broker describes
 * it (malloc'd), or NULL. */
static char *describe(rd_kafka_t *rk, const char *topic, const char *key)
{
        rd_kafka_ConfigResource_t *res =
            rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        const rd_kafka_ConfigResource_t **rs;
        const rd_kafka_ConfigEntry_t **es;
        rd_kafka_event_t *ev;
        char *value = NULL;
        size_t n, ne, i;

        rd_kafka_DescribeConfigs(rk, &res, 1, NULL, q);
        ev = rd_kafka_queue_poll(q, 20000);
        cr_assert_not_null(ev, "describe configs: timeout");
        rs = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &n);
        if (n == 1) {
                es = rd_kafka_ConfigResource_configs(rs[0], &ne);
                for (i = 0; i < ne; i++) {
                        if (strcmp(rd_kafka_ConfigEntry_name(es[i]), key) ==
                                0 &&
                            rd_kafka_ConfigEntry_value(es[i]) != NULL)
                                value =
                                    strdup(rd_kafka_ConfigEntry_value(es[i]));
                }
        }
        rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_ConfigResource_destroy(res);
        return value;
}

/* One AlterConfigs of retention.ms on topic. */
static void alter_retention(rd_kafka_t *rk, const char *topic, const char *ms)
{
        rd_kafka_ConfigResource_t *res =
            rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_event_t *ev;

        rd_kafka_ConfigResource_set_config(res, "retention.ms", ms);
        rd_kafka_AlterConfigs(rk, &res, 1, NULL, q);
        ev = rd_kafka_queue_poll(q, 20000);
        cr_assert_not_null(ev, "alter configs: timeout");
        rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_ConfigResource_destroy(res);
}

/* Sets retention.ms on the test's topic of stream (AlterConfigs) and
 * waits until the broker describes it so. */
static void set_retention(const zz_test_env_t *env, const char *stream,
                          const char *ms)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        char errstr[512], topic[256];
        int i;

        cr_assert(rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap,
                                    errstr,
                                    sizeof(errstr)) == RD_KAFKA_CONF_OK);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        cr_assert_not_null(rk, "kafka: %s", errstr);
        snprintf(topic, sizeof(topic), "%s%s", env->prefix, stream);
        for (i = 0; i < 100; i++) {
                char *now;
                int same;

                /* (again every second: a topic just created may not be
                 * known to every part of the broker yet) */
                if (i % 10 == 0)
                        alter_retention(rk, topic, ms);
                now = describe(rk, topic, "retention.ms");
                same = now != NULL && strcmp(now, ms) == 0;
                free(now);
                if (same)
                        break;
                usleep(100 * 1000);
        }
        cr_assert_lt(i, 100, "retention.ms of %s not changed", topic);
        rd_kafka_destroy(rk);
}

/* Runs a program with its stdout and stderr in a file; the exit status,
 * and what it wrote in err (malloc'd). */
static int run_capture(const zz_test_env_t *env, const char *dir,
                       const char *name, const char *const *args, char **err)
{
        char path[] = "/tmp/zz_test_topics_XXXXXX";
        int fd = mkstemp(path), saved, saved_out, rc;
        FILE *f;
        long len;

        cr_assert(fd >= 0);
        fflush(stdout);
        fflush(stderr);
        saved = dup(2);
        saved_out = dup(1);
        dup2(fd, 2);
        dup2(fd, 1);
        rc = zz_test_run(env, dir, name, args);
        dup2(saved, 2);
        dup2(saved_out, 1);
        close(saved);
        close(saved_out);
        close(fd);
        f = fopen(path, "r");
        cr_assert_not_null(f);
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        rewind(f);
        *err = calloc(1, (size_t)len + 1);
        cr_assert_not_null(*err);
        cr_assert_eq(fread(*err, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        unlink(path);
        fprintf(stderr, "%s", *err);
        return rc;
}

static const char *const worker_args[] = {"--idle-exit", "500", "--no-relay",
                                          "-q", NULL};

static void expect_refusal(int rc, const char *err, const char *prefix)
{
        char want[512];

        snprintf(want, sizeof(want),
                 "topic %sidentity.dpf keeps data for 7 days "
                 "(retention.ms=" WEEK_MS
                 "): an audit replay needs the whole log",
                 prefix);
        cr_expect_eq(rc, 2, "exit %d, not 2", rc);
        cr_expect_not_null(strstr(err, want), "no \"%s\" in:\n%s", want, err);
        cr_expect_not_null(
            strstr(err, "hint: set retention.ms=-1 on it (zizhu topics "
                        "apply), or set audit_retention_ms to the retention "
                        "the audit period needs"),
            "no hint in:\n%s", err);
}

Test(topics, seven_day_retention_is_refused_unless_configured, .timeout = 120)
{
        zz_test_env_t env;
        char db[96], *err;
        const char *replay_args[] = {"replay", "--from-beginning", "--database",
                                     db,       "--drop",           "-q",
                                     NULL};
        int rc;

        cr_assert_eq(zz_test_env_new(&env, "ret"), 0);
        snprintf(db, sizeof(db), "%s_replay", env.db);
        /* one department's identity topic is enough to refuse */
        set_retention(&env, "identity.dpf", WEEK_MS);

        rc = run_capture(&env, "consumers", "zizhu-subsidy-worker", worker_args,
                         &err);
        expect_refusal(rc, err, env.prefix);
        free(err);
        rc = run_capture(&env, "cli", "zizhu", replay_args, &err);
        expect_refusal(rc, err, env.prefix);
        free(err);

        /* an audit period of 7 days: that retention is enough */
        setenv("ZIZHU_AUDIT_RETENTION_MS", WEEK_MS, 1);
        rc = run_capture(&env, "consumers", "zizhu-subsidy-worker", worker_args,
                         &err);
        cr_expect_eq(rc, 0, "with audit_retention_ms: exit %d", rc);
        free(err);
        rc = run_capture(&env, "cli", "zizhu", replay_args, &err);
        cr_expect_eq(rc, 0, "replay with audit_retention_ms: exit %d", rc);
        free(err);
        unsetenv("ZIZHU_AUDIT_RETENTION_MS");

        zz_test_db_drop(&env, db);
        zz_test_env_drop(&env);
}

/* The number of times needle occurs in hay. */
static int count(const char *hay, const char *needle)
{
        int n = 0;

        while ((hay = strstr(hay, needle)) != NULL) {
                n++;
                hay += strlen(needle);
        }
        return n;
}

static void expect_config(const zz_test_env_t *env, const char *stream,
                          const char *key, const char *value)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char errstr[512], topic[256], *got;
        rd_kafka_t *rk;

        cr_assert(rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap,
                                    errstr,
                                    sizeof(errstr)) == RD_KAFKA_CONF_OK);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        cr_assert_not_null(rk, "kafka: %s", errstr);
        snprintf(topic, sizeof(topic), "%s%s", env->prefix, stream);
        got = describe(rk, topic, key);
        cr_expect_str_eq(got != NULL ? got : "(none)", value, "%s of %s", key,
                         topic);
        free(got);
        rd_kafka_destroy(rk);
}

Test(topics, apply_is_idempotent_and_sets_the_plan, .timeout = 120)
{
        zz_test_env_t env;
        const char *args[] = {"topics", "apply", NULL};
        char *out;
        int rc;

        zz_test_env_init(&env, "plan");
        zz_test_env_export(&env);
        rc = run_capture(&env, "cli", "zizhu", args, &out);
        cr_expect_eq(rc, 0, "first apply: exit %d", rc);
        /* six identity topics (one per department) and eight others */
        cr_expect_eq(count(out, " created "), 14, "first apply:\n%s", out);
        free(out);
        rc = run_capture(&env, "cli", "zizhu", args, &out);
        cr_expect_eq(rc, 0, "second apply: exit %d", rc);
        cr_expect_eq(count(out, " unchanged "), 14, "second apply:\n%s", out);
        cr_expect_eq(count(out, " created ") + count(out, " changed "), 0,
                     "second apply:\n%s", out);
        free(out);
        {
                zz_config_streams_t ts;
                const char *identity = "identity";
                size_t i;

                cr_assert_eq(zz_config_topic_streams(&identity, 1, &ts), 6);
                for (i = 0; i < ts.n; i++) {
                        expect_config(&env, ts.name[i], "retention.ms", "-1");
                        expect_config(&env, ts.name[i], "retention.bytes",
                                      "-1");
                }
        }
        expect_config(&env, "control", "retention.ms", "-1");
        expect_config(&env, "allocation", "retention.ms", "-1");
        expect_config(&env, "subsidy-state", "cleanup.policy", "compact");
        expect_config(&env, "schema-catalog", "cleanup.policy", "compact");
        expect_config(&env, "payment", "min.insync.replicas", "1");
        zz_test_topics_delete(&env);
}
