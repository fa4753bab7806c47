/*
 * replay.c — the input log into a fresh database through the live
 * pipeline's own loops (see replay.h).
 */
#include "zizhu/replay.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "zizhu/kafka.h"
#include "zizhu/log.h"
#include "zizhu/pg.h"
#include "zizhu/settle_worker.h"
#include "zizhu/worker.h"

#define REPLAY_GROUP "zizhu-replay"
#define MAX_TP       256

static const char *const inputs[] = {"identity", "enrollment", "payment",
                                     "control"};

static const char SQL_REPLAY_POSITIONS[] =
    "SELECT topic, partition, next_offset\n"
    "FROM zizhu.consumer_position\n"
    "WHERE group_id = $1";

static const char SQL_SEED_POSITION[] =
    "INSERT INTO zizhu.consumer_position (group_id, topic, partition, next_offset, epoch)\n"
    "VALUES ($1, $2, $3, $4, 0)";

/* Utility statements take no parameters: the database's name goes into
 * the text, quoted by PQescapeIdentifier. */
#define SQL_DROP_DATABASE   "DROP DATABASE IF EXISTS %s WITH (FORCE)"
#define SQL_CREATE_DATABASE "CREATE DATABASE %s"
/* A replay database holds every ID number, like the live one: it is for
 * its owner (the workers' role) and whom the owner grants it, not for
 * every role of the cluster (the dashboard role among them). */
#define SQL_CLOSE_DATABASE                                                     \
        "REVOKE CONNECT, TEMPORARY ON DATABASE %s FROM PUBLIC"

typedef struct tp_s {
        char topic[256];
        int32_t partition;
        int64_t start, end;
} tp_t;

typedef struct progress_s {
        const char *conninfo;
        tp_t *tps;
        size_t n;
        /* written by zz_replay_run while the progress thread reads */
        atomic_int done;
        _Atomic(const char *) phase;
} progress_t;

void zz_replay_conninfo(const char *base, const char *db, char *buf,
                        size_t size)
{
        size_t n;

        if (size == 0)
                return;
        /* A later keyword wins in a libpq conninfo string. The value is
         * quoted as libpq's conninfo parser reads it (single quotes, ' and
         * \ escaped by a backslash), so a name with spaces or quotes stays
         * one database name and cannot add settings of its own. */
        n = (size_t)snprintf(buf, size, "%s dbname='", base);
        for (; *db != '\0' && n + 3 < size; db++) {
                if (*db == '\'' || *db == '\\')
                        buf[n++] = '\\';
                buf[n++] = *db;
        }
        if (*db != '\0' || n + 2 > size) {
                /* truncated: an unterminated quote, which libpq refuses,
                 * rather than a connection to another database */
                snprintf(buf, size, "dbname='");
                return;
        }
        buf[n++] = '\'';
        buf[n] = '\0';
}

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

        nanosleep(&ts, NULL);
}

/* The input messages the replay's subsidy worker has read so far. */
static long long progress_done(PGconn *conn, const progress_t *pg)
{
        const char *p[1] = {REPLAY_GROUP};
        PGresult *res =
            zz_pg_query(conn, SQL_REPLAY_POSITIONS, 1, p, NULL, NULL, 0);
        long long doneby = 0;
        size_t i;
        int r;

        for (r = 0; res != NULL && r < PQntuples(res); r++) {
                long long next = strtoll(PQgetvalue(res, r, 2), NULL, 10);

                for (i = 0; i < pg->n; i++)
                        if (strcmp(pg->tps[i].topic, PQgetvalue(res, r, 0)) ==
                                0 &&
                            pg->tps[i].partition ==
                                atoi(PQgetvalue(res, r, 1)) &&
                            next > pg->tps[i].start)
                                doneby +=
                                    (next < pg->tps[i].end ? next
                                                           : pg->tps[i].end) -
                                    pg->tps[i].start;
        }
        PQclear(res);
        return doneby;
}

static void *progress_main(void *arg)
{
        progress_t *pg = arg;
        char err[256];
        PGconn *conn =
            zz_pg_connect(pg->conninfo, "zizhu-replay", err, sizeof(err));
        long long total = 0;
        size_t i;

        for (i = 0; i < pg->n; i++)
                total += pg->tps[i].end - pg->tps[i].start;
        while (!pg->done && PQstatus(conn) == CONNECTION_OK) {
                long long doneby = progress_done(conn, pg);
                int bar = total > 0 ? (int)(40 * doneby / total) : 40;

                fprintf(stderr,
                        "\rreplay [%.*s%.*s] %3d%% %lld/%lld input "
                        "messages  %-30s",
                        bar, "########################################",
                        40 - bar, "........................................",
                        total > 0 ? (int)(100 * doneby / total) : 100, doneby,
                        total, pg->phase);
                sleep_ms(300);
        }
        fprintf(stderr, "\n");
        zz_pg_finish(conn);
        return NULL;
}

/* Input partitions with their start (by time, or beginning) and end. */
static int input_partitions(const zz_config_t *config, long long from_ms,
                            tp_t *tps, size_t *n_out, char *errstr,
                            size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        zz_config_streams_t ts;
        rd_kafka_t *rk;
        size_t t, n = 0;
        int rc = 0;

        if (zz_config_apply_kafka(config, conf, errstr, errstr_size) != 0) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
        if (rk == NULL) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        /* identity: every department's topic */
        zz_config_topic_streams(inputs, sizeof(inputs) / sizeof(inputs[0]),
                                &ts);
        for (t = 0; rc == 0 && t < ts.n; t++) {
                char topic[256];
                int p, parts = 0;

                zz_config_topic(config, ts.name[t], topic, sizeof(topic));
                parts = zz_kafka_partition_count(rk, topic, 10000, errstr,
                                                 errstr_size);
                if (parts < 0)
                        rc = -1;
                for (p = 0; rc == 0 && p < parts && n < MAX_TP; p++) {
                        int64_t lo = 0, hi = 0;

                        if (zz_kafka_watermarks(rk, topic, p, &lo, &hi,
                                                10000) !=
                            RD_KAFKA_RESP_ERR_NO_ERROR) {
                                snprintf(errstr, errstr_size,
                                         "could not read the end of %s [%d]",
                                         topic, p);
                                rc = -1;
                                break;
                        }
                        snprintf(tps[n].topic, sizeof(tps[n].topic), "%s",
                                 topic);
                        tps[n].partition = p;
                        tps[n].start = lo;
                        tps[n].end = hi;
                        if (from_ms >= 0) {
                                rd_kafka_topic_partition_list_t *q =
                                    rd_kafka_topic_partition_list_new(1);
                                rd_kafka_topic_partition_list_add(q, topic, p)
                                    ->offset = from_ms;
                                if (rd_kafka_offsets_for_times(rk, q, 10000) ==
                                    RD_KAFKA_RESP_ERR_NO_ERROR)
                                        tps[n].start = q->elems[0].offset >= 0
                                                           ? q->elems[0].offset
                                                           : hi;
                                rd_kafka_topic_partition_list_destroy(q);
                        }
                        n++;
                }
        }
        rd_kafka_destroy(rk);
        *n_out = n;
        return rc;
}

static int create_db(const char *base, const char *db, int drop, char *errstr,
                     size_t errstr_size)
{
        PGconn *conn = zz_pg_connect(base, "zizhu-replay", errstr, errstr_size);
        char *ident, sql[512];
        int rc = 0;

        if (conn == NULL)
                return -1;
        ident = PQescapeIdentifier(conn, db, strlen(db));
        if (ident == NULL) {
                snprintf(errstr, errstr_size, "bad database name");
                zz_pg_finish(conn);
                return -1;
        }
        if (drop) {
                snprintf(sql, sizeof(sql), SQL_DROP_DATABASE, ident);
                rc = zz_pg_exec(conn, sql, errstr, errstr_size);
        }
        snprintf(sql, sizeof(sql), SQL_CREATE_DATABASE, ident);
        if (rc == 0 && zz_pg_exec(conn, sql, errstr, errstr_size) != 0) {
                size_t len = strlen(errstr);
                snprintf(errstr + len, errstr_size - len,
                         "\nhint: give a new --database, or --drop to "
                         "replace it");
                rc = -1;
        }
        snprintf(sql, sizeof(sql), SQL_CLOSE_DATABASE, ident);
        if (rc == 0)
                rc = zz_pg_exec(conn, sql, errstr, errstr_size);
        PQfreemem(ident);
        zz_pg_finish(conn);
        return rc;
}

/* The replay database, its schema and the start positions of the
 * replay's subsidy worker (its claim keeps an existing row's offset). */
static int replay_db(const zz_replay_opts_t *o, const char *base,
                     const char *target, const tp_t *tps, size_t n_tps,
                     char *errstr, size_t errstr_size)
{
        PGconn *conn;
        size_t i;
        int applied = 0, rc = -1;

        if (create_db(base, o->database, o->drop, errstr, errstr_size) != 0)
                return -1;
        conn = zz_pg_connect(target, "zizhu-replay", errstr, errstr_size);
        if (conn == NULL ||
            zz_pg_migrate(conn, o->sql_dir, &applied, errstr, errstr_size) != 0)
                goto out;
        for (i = 0; i < n_tps; i++) {
                char part[16], start[24], detail[512];
                const char *p[4];

                snprintf(part, sizeof(part), "%d", (int)tps[i].partition);
                snprintf(start, sizeof(start), "%lld",
                         (long long)(o->from_ms >= 0 ? tps[i].start : -2));
                p[0] = REPLAY_GROUP;
                p[1] = tps[i].topic;
                p[2] = part;
                p[3] = start;
                if (zz_pg_command(conn, SQL_SEED_POSITION, 4, p, NULL, detail,
                                  sizeof(detail)) != 0) {
                        snprintf(errstr, errstr_size, "replay positions: %s",
                                 detail);
                        goto out;
                }
        }
        rc = 0;
out:
        zz_pg_finish(conn);
        return rc;
}

/* The subsidy worker's loop over the input topics, until idle. */
static int replay_facts(const zz_replay_opts_t *o, char *errstr,
                        size_t errstr_size)
{
        zz_worker_opts_t wo;
        zz_worker_t *w;
        int rc;

        memset(&wo, 0, sizeof(wo));
        wo.config = o->config;
        wo.group = REPLAY_GROUP;
        wo.policy_dir = o->policy_dir;
        wo.name = "zizhu-replay";
        wo.batch_max = 1000;
        wo.batch_ms = 100;
        wo.idle_exit_ms = 3000;
        wo.stop = o->stop;
        w = zz_worker_new(&wo, errstr, errstr_size);
        if (w == NULL)
                return -1;
        rc = zz_worker_run(w, errstr, errstr_size);
        zz_worker_destroy(w);
        return rc != 0 ? -1 : 0;
}

/* The settlement loop over the control topic, not publishing. */
static int replay_settle(const zz_replay_opts_t *o, char *errstr,
                         size_t errstr_size)
{
        zz_settler_opts_t so;

        memset(&so, 0, sizeof(so));
        so.config = o->config;
        so.policy_dir = o->policy_dir;
        so.group = "zizhu-replay-settlement";
        so.subsidy_group = REPLAY_GROUP;
        so.publish = 0;
        so.idle_exit_ms = 1500;
        so.wait_ms = 60000;
        so.control_start = o->from_ms;
        so.stop = o->stop;
        return zz_settler_run(&so, errstr, errstr_size);
}

int zz_replay_run(const zz_replay_opts_t *o, char *errstr, size_t errstr_size)
{
        char base[1024], target[1280], set[1400];
        tp_t *tps = calloc(MAX_TP, sizeof(*tps));
        size_t n_tps = 0;
        progress_t pr;
        pthread_t th;
        int started = 0, rc = -1;

        memset(&pr, 0, sizeof(pr));
        if (tps == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        snprintf(base, sizeof(base), "%s", zz_config_pg(o->config));
        zz_replay_conninfo(base, o->database, target, sizeof(target));
        if (input_partitions(o->config, o->from_ms, tps, &n_tps, errstr,
                             errstr_size) != 0 ||
            replay_db(o, base, target, tps, n_tps, errstr, errstr_size) != 0)
                goto out;
        snprintf(set, sizeof(set), "pg=%s", target);
        if (zz_config_set(o->config, set, errstr, errstr_size) != 0)
                goto out;
        pr.conninfo = target;
        pr.tps = tps;
        pr.n = n_tps;
        pr.phase = "facts and decisions";
        if (o->progress && pthread_create(&th, NULL, progress_main, &pr) == 0)
                started = 1;
        if (replay_facts(o, errstr, errstr_size) != 0)
                goto out;
        pr.phase = "settlement";
        if (replay_settle(o, errstr, errstr_size) != 0)
                goto out;
        rc = 0;
out:
        if (started) {
                pr.done = 1;
                pthread_join(th, NULL);
        }
        free(tps);
        return rc;
}
