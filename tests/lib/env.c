/*
 * env.c — a test's environment: the broker and PostgreSQL it runs against,
 * the names of its database, topics and consumer groups, creating and
 * dropping them, and small queries on a connection of their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "zizhu/config.h"
#include "zizhu/pg.h"

#include "zz_test.h"

#ifndef ZZ_SOURCE_DIR
#define ZZ_SOURCE_DIR "."
#endif

/* The streams of a run, with their partition counts; identity is one
 * topic per department (run_topics). */
static const struct {
        const char *name;
        int parts;
} streams[] = {{"identity", 4},   {"enrollment", 4},    {"payment", 4},
               {"control", 1},    {"subsidy-state", 4}, {"reconciliation", 4},
               {"allocation", 1}, {"dead-letter", 4},   {"schema-catalog", 1}};
#define N_STREAMS (sizeof(streams) / sizeof(streams[0]))
#define N_TOPICS  (N_STREAMS - 1 + ZZ_CONFIG_IDENTITY_TOPICS)

typedef struct run_topic_s {
        char name[ZZ_CONFIG_STREAM_SIZE];
        int parts;
} run_topic_t;

/* The topic streams of a run, N_TOPICS of them, into topics. */
static void run_topics(run_topic_t topics[N_TOPICS])
{
        size_t s, i, n = 0;

        for (s = 0; s < N_STREAMS; s++) {
                zz_config_streams_t ts;

                zz_config_topic_streams(&streams[s].name, 1, &ts);
                for (i = 0; i < ts.n && n < N_TOPICS; i++, n++) {
                        snprintf(topics[n].name, sizeof(topics[n].name), "%s",
                                 ts.name[i]);
                        topics[n].parts = streams[s].parts;
                }
        }
}

/* Kafka admin requests wait this long for the broker. */
#define ADMIN_TIMEOUT_MS 30000

const char *zz_test_getenv(const char *name, const char *def)
{
        const char *v = getenv(name);

        return v != NULL && v[0] != '\0' ? v : def;
}

void zz_test_env_init(zz_test_env_t *env, const char *tag)
{
        int pid = (int)getpid();

        memset(env, 0, sizeof(*env));
        snprintf(env->bootstrap, sizeof(env->bootstrap), "%s",
                 zz_test_getenv("ZIZHU_BOOTSTRAP", ZZ_DEFAULT_BOOTSTRAP));
        snprintf(env->pg_base, sizeof(env->pg_base), "%s",
                 zz_test_getenv("ZIZHU_PG", ZZ_DEFAULT_PG));
        snprintf(env->db, sizeof(env->db), "zzt_%d_%s", pid, tag);
        snprintf(env->prefix, sizeof(env->prefix), "t%d_%s_%ld.", pid, tag,
                 (long)time(NULL) % 100000);
        snprintf(env->pg, sizeof(env->pg), "%s dbname=%s", env->pg_base,
                 env->db);
        snprintf(env->group, sizeof(env->group), "%ssubsidy", env->prefix);
        snprintf(env->settle_group, sizeof(env->settle_group), "%ssettlement",
                 env->prefix);
        snprintf(env->reader_group, sizeof(env->reader_group), "%sreader",
                 env->prefix);
}

void zz_test_env_export(const zz_test_env_t *env)
{
        setenv("ZIZHU_BOOTSTRAP", env->bootstrap, 1);
        setenv("ZIZHU_PG", env->pg, 1);
        setenv("ZIZHU_TOPIC_PREFIX", env->prefix, 1);
        setenv("ZIZHU_PSEUDONYM_KEY", ZZ_TEST_PSEUDONYM_KEY, 1);
        setenv("ZZ_SOURCE_DIR", ZZ_SOURCE_DIR, 1);
}

int zz_test_env_new(zz_test_env_t *env, const char *tag)
{
        zz_test_env_init(env, tag);
        zz_test_env_export(env);
        if (zz_test_db_create(env, env->db, 1) != 0)
                return -1;
        return zz_test_topics_create(env);
}

void zz_test_env_drop(const zz_test_env_t *env)
{
        if (zz_test_topics_delete(env) != 0)
                fprintf(stderr, "could not delete the topics of %s\n",
                        env->prefix);
        zz_test_db_drop(env, env->db);
}

/* ------------------------------------------------------------------ */
/* Topics                                                              */

static rd_kafka_t *admin_new(const zz_test_env_t *env)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char errstr[512];
        rd_kafka_t *rk;

        if (rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap, errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "kafka: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (rk == NULL)
                fprintf(stderr, "kafka: %s\n", errstr);
        return rk;
}

/* 0 when every topic of a CreateTopics result was made or was there. */
static int check_created(rd_kafka_event_t *ev)
{
        const rd_kafka_CreateTopics_result_t *res =
            rd_kafka_event_CreateTopics_result(ev);
        const rd_kafka_topic_result_t **tr;
        size_t cnt, i;
        int rc = 0;

        tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
        for (i = 0; i < cnt; i++) {
                rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[i]);

                if (err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                    err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                        fprintf(stderr, "create topic: %s\n",
                                rd_kafka_topic_result_error_string(tr[i]));
                        rc = -1;
                }
        }
        return rc;
}

int zz_test_topics_create(const zz_test_env_t *env)
{
        rd_kafka_t *rk = admin_new(env);
        rd_kafka_NewTopic_t *nt[N_TOPICS];
        run_topic_t topics[N_TOPICS];
        rd_kafka_queue_t *q;
        rd_kafka_event_t *ev;
        char errstr[512], name[256];
        size_t i;
        int rc;

        if (rk == NULL)
                return -1;
        run_topics(topics);
        for (i = 0; i < N_TOPICS; i++) {
                snprintf(name, sizeof(name), "%s%s", env->prefix,
                         topics[i].name);
                nt[i] = rd_kafka_NewTopic_new(name, topics[i].parts, 1, errstr,
                                              sizeof(errstr));
                if (strcmp(topics[i].name, "subsidy-state") == 0 ||
                    strcmp(topics[i].name, "schema-catalog") == 0)
                        rd_kafka_NewTopic_set_config(nt[i], "cleanup.policy",
                                                     "compact");
        }
        q = rd_kafka_queue_new(rk);
        rd_kafka_CreateTopics(rk, nt, N_TOPICS, NULL, q);
        ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS);
        if (ev == NULL || rd_kafka_event_error(ev)) {
                fprintf(stderr, "create topics: %s\n",
                        ev != NULL ? rd_kafka_event_error_string(ev)
                                   : "timeout");
                rc = -1;
        } else {
                rc = check_created(ev);
        }
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        for (i = 0; i < N_TOPICS; i++)
                rd_kafka_NewTopic_destroy(nt[i]);
        rd_kafka_destroy(rk);
        return rc;
}

int zz_test_topics_delete(const zz_test_env_t *env)
{
        rd_kafka_t *rk = admin_new(env);
        rd_kafka_DeleteTopic_t *dt[N_TOPICS];
        run_topic_t topics[N_TOPICS];
        rd_kafka_queue_t *q;
        rd_kafka_event_t *ev;
        char name[256];
        size_t i;
        int rc = 0;

        if (rk == NULL)
                return -1;
        run_topics(topics);
        for (i = 0; i < N_TOPICS; i++) {
                snprintf(name, sizeof(name), "%s%s", env->prefix,
                         topics[i].name);
                dt[i] = rd_kafka_DeleteTopic_new(name);
        }
        q = rd_kafka_queue_new(rk);
        rd_kafka_DeleteTopics(rk, dt, N_TOPICS, NULL, q);
        ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS);
        if (ev == NULL || rd_kafka_event_error(ev))
                rc = -1;
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        for (i = 0; i < N_TOPICS; i++)
                rd_kafka_DeleteTopic_destroy(dt[i]);
        rd_kafka_destroy(rk);
        return rc;
}

/* ------------------------------------------------------------------ */
/* Databases                                                           */

void zz_test_db_conninfo(const zz_test_env_t *env, const char *db, char *out,
                         size_t size)
{
        snprintf(out, size, "%s dbname=%s", env->pg_base, db);
}

/* DROP DATABASE IF EXISTS db WITH (FORCE), tries times, 250 ms apart. */
static int drop_db(const zz_test_env_t *env, const char *db, int tries)
{
        char sql[256];
        int i;

        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
                 db);
        for (i = 0; i < tries; i++) {
                if (i > 0)
                        usleep(250000);
                if (zz_test_pg_exec(env->pg_base, sql) == 0)
                        return 0;
        }
        return -1;
}

int zz_test_db_drop(const zz_test_env_t *env, const char *db)
{
        return drop_db(env, db, 20);
}

int zz_test_db_create(const zz_test_env_t *env, const char *db, int migrate)
{
        char sql[256], errstr[512], conninfo[1024];
        PGconn *c;
        int applied = 0, rc = 0;

        drop_db(env, db, 1);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
        if (zz_test_pg_exec(env->pg_base, sql) != 0)
                return -1;
        if (!migrate)
                return 0;
        zz_test_db_conninfo(env, db, conninfo, sizeof(conninfo));
        c = zz_pg_connect(conninfo, "test", errstr, sizeof(errstr));
        if (c == NULL) {
                fprintf(stderr, "%s\n", errstr);
                return -1;
        }
        if (zz_pg_migrate(c, ZZ_SOURCE_DIR "/sql", &applied, errstr,
                          sizeof(errstr)) != 0) {
                fprintf(stderr, "migrate: %s\n", errstr);
                rc = -1;
        }
        zz_pg_finish(c);
        return rc;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */

/* A connection to conninfo, or NULL with the reason on stderr. */
static PGconn *connect_to(const char *conninfo)
{
        PGconn *c = PQconnectdb(conninfo);

        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "pg: %s", PQerrorMessage(c));
                PQfinish(c);
                return NULL;
        }
        return c;
}

int zz_test_pg_exec(const char *conninfo, const char *sql)
{
        PGconn *c = connect_to(conninfo);
        PGresult *r;
        int ok;

        if (c == NULL)
                return -1;
        r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
             PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
                fprintf(stderr, "pg: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return ok ? 0 : -1;
}

/* The result of a query that returns rows, or NULL with the reason. */
static PGresult *query(PGconn *c, const char *sql)
{
        PGresult *r = PQexec(c, sql);

        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "pg: %s", PQerrorMessage(c));
                PQclear(r);
                return NULL;
        }
        return r;
}

char *zz_test_pg_text(const char *conninfo, const char *sql)
{
        PGconn *c = connect_to(conninfo);
        PGresult *r;
        char *out = NULL;

        if (c == NULL)
                return NULL;
        r = query(c, sql);
        if (r != NULL && PQntuples(r) > 0 && PQnfields(r) > 0 &&
            !PQgetisnull(r, 0, 0))
                out = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        PQfinish(c);
        return out;
}

long long zz_test_pg_count(const char *conninfo, const char *sql)
{
        char *s = zz_test_pg_text(conninfo, sql);
        long long v = s != NULL ? strtoll(s, NULL, 10) : -1;

        free(s);
        return v;
}

char *zz_test_pg_dump(const char *conninfo, const char *sql, size_t *rows)
{
        PGconn *c = connect_to(conninfo);
        PGresult *r;
        size_t cap = 1, len = 0;
        char *out;
        int i, j, n, nf;

        if (c == NULL)
                return NULL;
        r = query(c, sql);
        if (r == NULL) {
                PQfinish(c);
                return NULL;
        }
        n = PQntuples(r);
        nf = PQnfields(r);
        for (i = 0; i < n; i++)
                for (j = 0; j < nf; j++)
                        cap += (size_t)PQgetlength(r, i, j) + 3;
        out = malloc(cap);
        if (out != NULL) {
                for (i = 0; i < n; i++)
                        for (j = 0; j < nf; j++) {
                                const char *v = PQgetisnull(r, i, j)
                                                    ? "\\N"
                                                    : PQgetvalue(r, i, j);
                                size_t l = strlen(v);

                                memcpy(out + len, v, l);
                                len += l;
                                out[len++] = j + 1 < nf ? '\t' : '\n';
                        }
                out[len] = '\0';
        }
        if (rows != NULL)
                *rows = (size_t)n;
        PQclear(r);
        PQfinish(c);
        return out;
}

char *zz_test_decisions_dump(const zz_test_env_t *env, size_t *rows)
{
        return zz_test_pg_dump(env->pg,
                               "SELECT person_id || '/' || year || ' ' || "
                               "body FROM zizhu.decision ORDER BY person_id "
                               "COLLATE \"C\", year",
                               rows);
}
