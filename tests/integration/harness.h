/*
 * harness.h — the pieces every integration and fault test harness shares:
 * the run's environment (broker, PostgreSQL, a fresh database and a fresh
 * set of topics under a per-run prefix), running a built binary, producing
 * encoded messages, reading a topic read_committed, and building valid ID
 * numbers.
 *
 * Header-only (static inline): each tests/<kind>/test_*.c is built alone.
 * test_settle_harness.h and test_subsidy_harness.h build on it.
 */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "zizhu/config.h"
#include "zizhu/event.h"
#include "zizhu/idno.h"
#include "zizhu/pg.h"

#ifndef ZZ_SOURCE_DIR
#define ZZ_SOURCE_DIR "."
#endif

/* The topics of a run, with their partition counts. */
static const struct {
        const char *name;
        int parts;
} th_topics[] = {{"identity", 4},   {"enrollment", 4},    {"payment", 4},
                 {"control", 1},    {"subsidy-state", 4}, {"reconciliation", 4},
                 {"allocation", 1}, {"dead-letter", 4}};
#define TH_N_TOPICS (sizeof(th_topics) / sizeof(th_topics[0]))

/* th_create_topics flags */
#define TH_TOPICS_COMPACT_STATE 1 /* subsidy-state is compacted */
#define TH_TOPICS_CHECK_EACH    2 /* fail on any topic's own error */

typedef struct th_env_s {
        char bootstrap[256];
        char pg_base[512];
        char pg[768];
        char db[64];
        char prefix[96];
} th_env_t;

typedef struct th_msg_s {
        zz_stream_t stream;
        char key[64];
        unsigned char *value;
        size_t len;
} th_msg_t;

static inline const char *th_getenv(const char *k, const char *def)
{
        const char *v = getenv(k);
        return v != NULL && v[0] != '\0' ? v : def;
}

/* ------------------------------------------------------------------ */
/* Database                                                            */

static inline int th_pg_exec(const char *conninfo, const char *sql)
{
        PGconn *c = PQconnectdb(conninfo);
        PGresult *r;
        int ok;

        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "pg: %s", PQerrorMessage(c));
                PQfinish(c);
                return -1;
        }
        r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
             PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
                fprintf(stderr, "pg: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return ok ? 0 : -1;
}

/* Drops db on the server of pg_base: force drops it WITH (FORCE); tries
 * times in all, 250 ms apart (backends of exited clients may take a moment
 * to go away). 0 once dropped. */
static inline int th_drop_db(const char *pg_base, const char *db, int force,
                             int tries)
{
        char sql[256];
        int i;

        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s%s", db,
                 force ? " WITH (FORCE)" : "");
        for (i = 0; i < tries; i++) {
                if (i > 0)
                        usleep(250000);
                if (th_pg_exec(pg_base, sql) == 0)
                        return 0;
        }
        return -1;
}

/* A fresh database db (dropped first, see th_drop_db), migrated. */
static inline int th_create_db(const char *pg_base, const char *db, int force)
{
        char sql[256], errstr[512], conninfo[1024];
        PGconn *c;
        int applied = 0;

        th_drop_db(pg_base, db, force, 1);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
        if (th_pg_exec(pg_base, sql) != 0)
                return -1;
        snprintf(conninfo, sizeof(conninfo), "%s dbname=%s", pg_base, db);
        c = zz_pg_connect(conninfo, "test", errstr, sizeof(errstr));
        if (c == NULL) {
                fprintf(stderr, "%s\n", errstr);
                return -1;
        }
        if (zz_pg_migrate(c, ZZ_SOURCE_DIR "/sql", &applied, errstr,
                          sizeof(errstr)) != 0) {
                fprintf(stderr, "migrate: %s\n", errstr);
                PQfinish(c);
                return -1;
        }
        PQfinish(c);
        return 0;
}

/* ------------------------------------------------------------------ */
/* Environment                                                         */

/* Fills env from ZIZHU_BOOTSTRAP and ZIZHU_PG (defaults: the local stack):
 * database "<db_stem>_<pid>[_<tag>]", topic prefix
 * "<prefix_stem><pid>[_<tag>]_<time>."; tag may be NULL. */
static inline void th_env_init(th_env_t *env, const char *db_stem,
                               const char *prefix_stem, const char *tag)
{
        const char *sep = tag != NULL ? "_" : "";

        if (tag == NULL)
                tag = "";
        memset(env, 0, sizeof(*env));
        snprintf(env->bootstrap, sizeof(env->bootstrap), "%s",
                 th_getenv("ZIZHU_BOOTSTRAP", ZZ_DEFAULT_BOOTSTRAP));
        snprintf(env->pg_base, sizeof(env->pg_base), "%s",
                 th_getenv("ZIZHU_PG", ZZ_DEFAULT_PG));
        snprintf(env->db, sizeof(env->db), "%s_%d%s%s", db_stem, (int)getpid(),
                 sep, tag);
        snprintf(env->prefix, sizeof(env->prefix), "%s%d%s%s_%ld.", prefix_stem,
                 (int)getpid(), sep, tag, (long)time(NULL) % 100000);
        snprintf(env->pg, sizeof(env->pg), "%s dbname=%s", env->pg_base,
                 env->db);
}

/* Points the process environment (and so the binaries it starts and the
 * configuration it loads) at env; pseudonym_key NULL leaves
 * ZIZHU_PSEUDONYM_KEY as it is. */
static inline void th_env_export(const th_env_t *env, const char *pseudonym_key)
{
        setenv("ZIZHU_BOOTSTRAP", env->bootstrap, 1);
        setenv("ZIZHU_PG", env->pg, 1);
        setenv("ZIZHU_TOPIC_PREFIX", env->prefix, 1);
        if (pseudonym_key != NULL)
                setenv("ZIZHU_PSEUDONYM_KEY", pseudonym_key, 1);
        setenv("ZZ_SOURCE_DIR", ZZ_SOURCE_DIR, 1);
}

/* ------------------------------------------------------------------ */
/* Topics                                                              */

static inline rd_kafka_t *th_admin_new(const th_env_t *env)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char errstr[512];

        rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap, errstr,
                          sizeof(errstr));
        return rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
}

/* Creates the run's topics (th_topics under env->prefix); flags are
 * TH_TOPICS_*. */
static inline int th_create_topics(const th_env_t *env, int flags)
{
        rd_kafka_t *rk = th_admin_new(env);
        rd_kafka_NewTopic_t *nt[TH_N_TOPICS];
        rd_kafka_queue_t *q;
        rd_kafka_event_t *ev;
        char errstr[512];
        size_t i, n = TH_N_TOPICS;
        int rc = 0;

        if (rk == NULL)
                return -1;
        for (i = 0; i < n; i++) {
                char name[256];
                snprintf(name, sizeof(name), "%s%s", env->prefix,
                         th_topics[i].name);
                nt[i] = rd_kafka_NewTopic_new(name, th_topics[i].parts, 1,
                                              errstr, sizeof(errstr));
                if ((flags & TH_TOPICS_COMPACT_STATE) &&
                    strcmp(th_topics[i].name, "subsidy-state") == 0)
                        rd_kafka_NewTopic_set_config(nt[i], "cleanup.policy",
                                                     "compact");
        }
        q = rd_kafka_queue_new(rk);
        rd_kafka_CreateTopics(rk, nt, n, NULL, q);
        ev = rd_kafka_queue_poll(q, 30000);
        if (ev == NULL || rd_kafka_event_error(ev)) {
                if (flags & TH_TOPICS_CHECK_EACH)
                        fprintf(stderr, "create topics: %s\n",
                                ev ? rd_kafka_event_error_string(ev)
                                   : "timeout");
                rc = -1;
        } else if (flags & TH_TOPICS_CHECK_EACH) {
                const rd_kafka_CreateTopics_result_t *res =
                    rd_kafka_event_CreateTopics_result(ev);
                size_t cnt;
                const rd_kafka_topic_result_t **tr =
                    rd_kafka_CreateTopics_result_topics(res, &cnt);
                for (i = 0; i < cnt; i++)
                        if (rd_kafka_topic_result_error(tr[i]) &&
                            rd_kafka_topic_result_error(tr[i]) !=
                                RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                                fprintf(
                                    stderr, "create topic: %s\n",
                                    rd_kafka_topic_result_error_string(tr[i]));
                                rc = -1;
                        }
        }
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        for (i = 0; i < n; i++)
                rd_kafka_NewTopic_destroy(nt[i]);
        rd_kafka_destroy(rk);
        return rc;
}

/* Deletes the run's topics; -1 when the broker did not confirm it. */
static inline int th_delete_topics(const th_env_t *env)
{
        rd_kafka_t *rk = th_admin_new(env);
        rd_kafka_DeleteTopic_t *dt[TH_N_TOPICS];
        rd_kafka_queue_t *q;
        rd_kafka_event_t *ev;
        char name[256];
        size_t i;
        int rc = 0;

        if (rk == NULL)
                return -1;
        for (i = 0; i < TH_N_TOPICS; i++) {
                snprintf(name, sizeof(name), "%s%s", env->prefix,
                         th_topics[i].name);
                dt[i] = rd_kafka_DeleteTopic_new(name);
        }
        q = rd_kafka_queue_new(rk);
        rd_kafka_DeleteTopics(rk, dt, TH_N_TOPICS, NULL, q);
        ev = rd_kafka_queue_poll(q, 30000);
        if (ev == NULL || rd_kafka_event_error(ev))
                rc = -1;
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        for (i = 0; i < TH_N_TOPICS; i++)
                rd_kafka_DeleteTopic_destroy(dt[i]);
        rd_kafka_destroy(rk);
        return rc;
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */

/* Produces msgs[0, n) keyed to "<prefix><stream>" with an idempotent
 * producer (linger_ms NULL: librdkafka's default) and flushes for at most
 * flush_ms. */
static inline int th_produce(const th_env_t *env, const th_msg_t *msgs,
                             size_t n, const char *linger_ms, int flush_ms)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        char errstr[512];
        size_t i;

        rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap, errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr,
                          sizeof(errstr));
        if (linger_ms != NULL)
                rd_kafka_conf_set(conf, "linger.ms", linger_ms, errstr,
                                  sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (rk == NULL)
                return -1;
        for (i = 0; i < n; i++) {
                char topic[256];
                rd_kafka_resp_err_t err;

                snprintf(topic, sizeof(topic), "%s%s", env->prefix,
                         zz_stream_name(msgs[i].stream));
                do {
                        err = rd_kafka_producev(
                            rk, RD_KAFKA_V_TOPIC(topic),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_KEY(msgs[i].key, strlen(msgs[i].key)),
                            RD_KAFKA_V_VALUE(msgs[i].value, msgs[i].len),
                            RD_KAFKA_V_END);
                        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(rk, 50);
                } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        }
        rd_kafka_flush(rk, flush_ms);
        rd_kafka_destroy(rk);
        return 0;
}

/* A read_committed consumer of group that reports partition ends (and,
 * with no_auto_commit, commits nothing); NULL with errstr. */
static inline rd_kafka_t *th_reader_new(const th_env_t *env, const char *group,
                                        int no_auto_commit, char *errstr,
                                        size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap, errstr,
                          errstr_size);
        rd_kafka_conf_set(conf, "group.id", group, errstr, errstr_size);
        rd_kafka_conf_set(conf, "isolation.level", "read_committed", errstr,
                          errstr_size);
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr,
                          errstr_size);
        if (no_auto_commit)
                rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                                  errstr_size);
        return rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
}

/* Assigns partitions [0, parts) of topic to rk, from their beginning. */
static inline void th_assign_from_start(rd_kafka_t *rk, const char *topic,
                                        int parts)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(parts);
        int p;

        for (p = 0; p < parts; p++)
                rd_kafka_topic_partition_list_add(list, topic, p)->offset =
                    RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, list);
        rd_kafka_topic_partition_list_destroy(list);
}

/* ------------------------------------------------------------------ */
/* Running binaries                                                    */

/* In a child: executes <bin>/<dir>/<name>/<name> (or <bin>/<dir>/<name>)
 * with args (NULL-terminated, at most 38); never returns. */
static inline void th_exec_bin(const char *bin, const char *dir,
                               const char *name, const char *const *args)
{
        char exe[1024];
        const char *argv[40];
        size_t i;

        snprintf(exe, sizeof(exe), "%s/%s/%s/%s", bin, dir, name, name);
        if (access(exe, X_OK) != 0)
                snprintf(exe, sizeof(exe), "%s/%s/%s", bin, dir, name);
        argv[0] = exe;
        for (i = 0; args[i] != NULL && i < 38; i++)
                argv[i + 1] = args[i];
        argv[i + 1] = NULL;
        execv(exe, (char *const *)argv);
        _exit(127);
}

/* Waits for pid; its exit status, or 128 when it did not exit. */
static inline int th_wait(pid_t pid)
{
        int status = 0;

        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Runs a binary (see th_exec_bin) to its end; its exit status. */
static inline int th_run_bin(const char *bin, const char *dir, const char *name,
                             const char *const *args)
{
        pid_t pid = fork();

        if (pid == 0)
                th_exec_bin(bin, dir, name, args);
        return th_wait(pid);
}

/* ------------------------------------------------------------------ */
/* ID numbers                                                          */

/* A valid ID number: region (first 6 characters), birth date (8 digits,
 * YYYYMMDD), sequence % 1000 and its check character. */
static inline void th_idno(const char *region6, const char *birth8, int seq,
                           char out[19])
{
        snprintf(out, 19, "%.6s%.8s%03d", region6, birth8, seq % 1000);
        out[17] = zz_idno_check_char(out);
        out[18] = '\0';
}

#endif
