/*
 * relay.c — the outbox relay: PostgreSQL rows to Kafka in transactions,
 * resuming after the highest outbox id committed in Kafka (see relay.h).
 */
#include "zizhu/relay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "zizhu/catalog.h"
#include "zizhu/kafka.h"
#include "zizhu/log.h"
#include "zizhu/pg.h"

/* "zzRE": one active relay per database. */
#define RELAY_LOCK_KEY "2054842949"

#define H_PUBLISHED "outbox rows the relay published"
#define H_LOCK_WAIT                                                            \
        "seconds this instance's relay has waited for its coordination lock; " \
        "0 on the instance holding it"

static const char *const outputs[] = {"subsidy-state", "reconciliation",
                                      "dead-letter"};
#define N_OUTPUTS 3

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

        nanosleep(&ts, NULL);
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long header_id(const rd_kafka_message_t *m)
{
        rd_kafka_headers_t *hdrs = NULL;
        const void *val = NULL;
        size_t size = 0;
        char buf[32];

        if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return -1;
        if (rd_kafka_header_get_last(hdrs, ZZ_RELAY_HEADER, &val, &size) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            val == NULL || size == 0 || size >= sizeof(buf))
                return -1;
        memcpy(buf, val, size);
        buf[size] = '\0';
        return strtoll(buf, NULL, 10);
}

/* The last outbox id in one partition between start and its end, or -1. */
static long long scan(rd_kafka_t *rk, const char *topic, int32_t part,
                      int64_t start, int64_t hi, char *errstr,
                      size_t errstr_size, int *error)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(1);
        long long best = -1;
        double deadline = now_s() + 30;

        rd_kafka_topic_partition_list_add(list, topic, part)->offset = start;
        rd_kafka_assign(rk, list);
        rd_kafka_topic_partition_list_destroy(list);
        for (;;) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);

                if (now_s() > deadline) {
                        snprintf(errstr, errstr_size,
                                 "timed out reading the end of %s [%d]", topic,
                                 (int)part);
                        *error = 1;
                        break;
                }
                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        rd_kafka_message_destroy(m);
                        break;
                }
                if (m->err) {
                        zz_log_warn("relay scan: %s",
                                    rd_kafka_message_errstr(m));
                        rd_kafka_message_destroy(m);
                        continue;
                }
                {
                        long long id = header_id(m);
                        if (id > best)
                                best = id;
                }
                if (m->offset + 1 >= hi) {
                        rd_kafka_message_destroy(m);
                        break;
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_assign(rk, NULL);
        return best;
}

/* Raises *hwm to the last outbox id in any partition of topic. 0, or -1
 * with errstr. */
static int topic_high_water(rd_kafka_t *rk, const char *topic, long long *hwm,
                            char *errstr, size_t errstr_size)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err;
        int p, n_parts, error = 0;

        err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        rd_kafka_topic_destroy(rkt);
        /* A topic that does not exist holds no outbox id (publishing to
         * it fails later, and is retried, with its own message). */
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
            md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                rd_kafka_metadata_destroy(md);
                return 0;
        }
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
            md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(errstr, errstr_size,
                         "could not read metadata of %s: %s", topic,
                         err ? rd_kafka_err2str(err)
                             : rd_kafka_err2str(md->topics[0].err));
                if (md != NULL)
                        rd_kafka_metadata_destroy(md);
                return -1;
        }
        n_parts = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
        for (p = 0; p < n_parts && !error; p++) {
                int64_t lo = 0, hi = 0, window = 64, start;
                long long best = -1;

                err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi,
                                                       10000);
                if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        snprintf(errstr, errstr_size,
                                 "could not read offsets of %s [%d]: %s", topic,
                                 p, rd_kafka_err2str(err));
                        return -1;
                }
                /* Walk back from the end until a committed message with
                 * our header shows up: aborted transactions and markers
                 * may sit after it. */
                while (hi > lo && best < 0) {
                        start = hi - window > lo ? hi - window : lo;
                        best = scan(rk, topic, p, start, hi, errstr,
                                    errstr_size, &error);
                        if (error || start == lo)
                                break;
                        window *= 4;
                }
                if (best > *hwm)
                        *hwm = best;
        }
        return error ? -1 : 0;
}

long long zz_relay_high_water(const zz_config_t *config, char *errstr,
                              size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        long long hwm = 0;
        size_t t;
        int error = 0;

        if (zz_config_apply_kafka(config, conf, errstr, errstr_size) != 0 ||
            rd_kafka_conf_set(conf, "group.id", "zizhu-relay-probe", errstr,
                              errstr_size) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "isolation.level", "read_committed", errstr,
                              errstr_size) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                              errstr_size) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr,
                              errstr_size) != RD_KAFKA_CONF_OK) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
        if (rk == NULL) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rd_kafka_poll_set_consumer(rk);
        for (t = 0; t < N_OUTPUTS && !error; t++) {
                char topic[256];

                zz_config_topic(config, outputs[t], topic, sizeof(topic));
                error =
                    topic_high_water(rk, topic, &hwm, errstr, errstr_size) != 0;
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return error ? -1 : hwm;
}

/* Only one relay is active per database: this session lock (released when
 * the connection closes) decides which. */
static const char SQL_TRY_RELAY_LOCK[] =
    "SELECT pg_try_advisory_lock(" RELAY_LOCK_KEY ")";

/* The next rows to publish: $1 the last id published, $2 how many at
 * most (results in binary: ids are 8-byte big-endian). */
static const char SQL_READ_OUTBOX[] = "SELECT id, stream, key, value\n"
                                      "FROM zizhu.outbox\n"
                                      "WHERE id > $1\n"
                                      "ORDER BY id\n"
                                      "LIMIT $2";

static const char SQL_LAST_ID[] = "SELECT last_id FROM zizhu.outbox_seq";

/* 0 when the database has handed out every outbox id up to hwm (the
 * highest on the topics), ZZ_RELAY_BEHIND with errstr when not, -1 on a
 * query error. relay.h: "Continuity". */
static int check_continuity(PGconn *conn, long long hwm, char *errstr,
                            size_t errstr_size)
{
        PGresult *res = zz_pg_query(conn, SQL_LAST_ID, 0, NULL, NULL, NULL, 0);
        long long last;

        if (res == NULL || PQntuples(res) != 1) {
                snprintf(errstr, errstr_size,
                         "relay: could not read zizhu.outbox_seq: %s",
                         PQerrorMessage(conn));
                PQclear(res);
                return -1;
        }
        last = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (last >= hwm)
                return 0;
        snprintf(errstr, errstr_size,
                 "the database is behind the output topics: they hold outbox "
                 "id %lld but the database has handed out ids up to %lld "
                 "only, so it lost %lld committed outbox row(s) that were "
                 "already published (a PostgreSQL standby promoted without "
                 "the last commits, or a restore from an older backup). "
                 "Refusing to run: new rows would get ids the relay has "
                 "already passed and would never be published. Nothing was "
                 "written. An operator must act: deploy/README.md, \"The "
                 "database is behind the output topics\"",
                 hwm, last, hwm - last);
        return ZZ_RELAY_BEHIND;
}

int zz_relay_check(const zz_config_t *config, char *errstr, size_t errstr_size)
{
        char err[512];
        PGconn *conn;
        long long hwm;
        int rc;

        conn = zz_pg_connect(zz_config_pg(config), "zizhu-subsidy-check", err,
                             sizeof(err));
        if (conn == NULL) {
                snprintf(errstr, errstr_size, "continuity check %s", err);
                return -1;
        }
        hwm = zz_relay_high_water(config, errstr, errstr_size);
        rc = hwm < 0 ? -1 : check_continuity(conn, hwm, errstr, errstr_size);
        zz_pg_finish(conn);
        return rc;
}

/* The relay lock, polled every 500 ms: 1 when taken, 0 when stopped, -1
 * on error. Standing by is never silent: after 5 s, and every 10 s after
 * that, the log says so, and the gauge zz_lock_wait_seconds{lock="relay"}
 * counts the wait (0 once taken). */
static int take_lock(PGconn *conn, const zz_relay_opts_t *opts)
{
        int polls;

        for (polls = 0;; polls++) {
                PGresult *res = zz_pg_query(conn, SQL_TRY_RELAY_LOCK, 0, NULL,
                                            NULL, NULL, 0);
                int got;

                if (res == NULL)
                        return -1;
                got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
                PQclear(res);
                if (opts->metrics != NULL)
                        zz_metrics_set(opts->metrics, "zz_lock_wait_seconds",
                                       H_LOCK_WAIT, "lock", "relay", NULL, NULL,
                                       got ? 0.0 : polls / 2.0);
                if (got)
                        return 1;
                if (opts->stop != NULL && *opts->stop)
                        return 0;
                if (polls >= 10 && polls % 20 == 10)
                        zz_log_warn("relay standing by for %d s: another "
                                    "session holds the relay lock",
                                    polls / 2);
                sleep_ms(500);
        }
}

static int64_t be64(const char *p)
{
        uint64_t v = 0;
        int i;

        for (i = 0; i < 8; i++)
                v = (v << 8) | (unsigned char)p[i];
        return (int64_t)v;
}

/* Produces row i of res (id, stream, key, value, binary) to its stream's
 * topic, waiting while the producer's queue is full. */
static rd_kafka_resp_err_t produce_row(rd_kafka_t *rk,
                                       const zz_config_t *config,
                                       const PGresult *res, int i)
{
        char topic[256], idtext[24], stream[64];
        int64_t id = be64(PQgetvalue(res, i, 0));
        int len = PQgetlength(res, i, 1);
        int keyless = PQgetisnull(res, i, 2);
        rd_kafka_resp_err_t err;

        snprintf(stream, sizeof(stream), "%.*s", len, PQgetvalue(res, i, 1));
        zz_config_topic(config, stream, topic, sizeof(topic));
        snprintf(idtext, sizeof(idtext), "%" PRId64, id);
        for (;;) {
                err = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(topic),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(keyless ? NULL : PQgetvalue(res, i, 2),
                                   keyless ? 0
                                           : (size_t)PQgetlength(res, i, 2)),
                    RD_KAFKA_V_VALUE(PQgetvalue(res, i, 3),
                                     (size_t)PQgetlength(res, i, 3)),
                    RD_KAFKA_V_HEADER(ZZ_RELAY_HEADER, idtext,
                                      (ssize_t)strlen(idtext)),
                    RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        return err;
                rd_kafka_poll(rk, 100);
        }
}

/* Aborts the open transaction: 1 (retry the same rows), or -1 with errstr
 * when even that failed. */
static int abort_txn(rd_kafka_t *rk, char *errstr, size_t errstr_size)
{
        rd_kafka_error_t *error = rd_kafka_abort_transaction(rk, 60000);

        if (error == NULL)
                return 1;
        snprintf(errstr, errstr_size, "abort_transaction: %s",
                 rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return -1;
}

/* Produces rows [0, n) of res in one transaction. 0 committed, 1 aborted
 * (retry the same rows), -1 fatal. */
static int publish(rd_kafka_t *rk, const zz_config_t *config, PGresult *res,
                   char *errstr, size_t errstr_size)
{
        rd_kafka_error_t *error;
        int i, n = PQntuples(res);

        error = rd_kafka_begin_transaction(rk);
        if (error != NULL) {
                snprintf(errstr, errstr_size, "begin_transaction: %s",
                         rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
                return -1;
        }
        for (i = 0; i < n; i++) {
                rd_kafka_resp_err_t err = produce_row(rk, config, res, i);

                if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        zz_log_warn("relay: produce failed: %s",
                                    rd_kafka_err2str(err));
                        return abort_txn(rk, errstr, errstr_size);
                }
        }
        for (;;) {
                error = rd_kafka_commit_transaction(rk, 60000);
                if (error == NULL)
                        return 0;
                if (rd_kafka_error_txn_requires_abort(error)) {
                        zz_log_warn("relay: transaction aborted: %s",
                                    rd_kafka_error_string(error));
                        rd_kafka_error_destroy(error);
                        return abort_txn(rk, errstr, errstr_size);
                }
                if (rd_kafka_error_is_retriable(error)) {
                        rd_kafka_error_destroy(error);
                        continue;
                }
                snprintf(errstr, errstr_size, "commit_transaction: %s",
                         rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
                return -1;
        }
}

/* The relay's transactional producer, its transactions initialised
 * (which fences an earlier relay with this id and ends its transaction).
 * NULL with errstr. */
static rd_kafka_t *producer_new(const zz_relay_opts_t *opts, char *errstr,
                                size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_error_t *error;
        rd_kafka_t *rk;

        /* The outbox rows are encoded already; their schemas go to the
         * catalog before the first of them is published. */
        if (zz_catalog_publish(opts->config, NULL, errstr, errstr_size) != 0) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        if (zz_config_apply_kafka(opts->config, conf, errstr, errstr_size) !=
                0 ||
            rd_kafka_conf_set(conf, "transactional.id", opts->transactional_id,
                              errstr, errstr_size) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr,
                              errstr_size) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "linger.ms", "5", errstr, errstr_size) !=
                RD_KAFKA_CONF_OK) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
        if (rk == NULL) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        error = rd_kafka_init_transactions(rk, 60000);
        if (error != NULL) {
                snprintf(errstr, errstr_size, "init_transactions: %s",
                         rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
                rd_kafka_flush(rk, 10000);
                rd_kafka_destroy(rk);
                return NULL;
        }
        return rk;
}

/* Publishes the outbox rows after hwm until *stop (or idle_exit_ms with
 * nothing to publish). 0 on a clean stop, -1 with errstr. */
static int relay_loop(PGconn *conn, rd_kafka_t *rk, const zz_relay_opts_t *opts,
                      long long hwm, char *errstr, size_t errstr_size)
{
        double idle_since = now_s();
        int batch_max = opts->batch_max > 0 ? opts->batch_max : 1000;

        while (!(opts->stop != NULL && *opts->stop)) {
                char after[24], limit[16];
                const char *params[2] = {after, limit};
                PGresult *res;
                int n, st;

                snprintf(after, sizeof(after), "%lld", hwm);
                snprintf(limit, sizeof(limit), "%d", batch_max);
                res = zz_pg_query_ex(conn, SQL_READ_OUTBOX, 2, NULL, params,
                                     NULL, NULL, 1, NULL, NULL, 0);
                if (res == NULL) {
                        snprintf(errstr, errstr_size, "relay: %s",
                                 PQerrorMessage(conn));
                        return -1;
                }
                n = PQntuples(res);
                if (n == 0) {
                        PQclear(res);
                        if (opts->idle_exit_ms > 0 &&
                            (opts->idle_ok == NULL || *opts->idle_ok) &&
                            (now_s() - idle_since) * 1000 > opts->idle_exit_ms)
                                break;
                        rd_kafka_poll(rk, 50);
                        continue;
                }
                st = publish(rk, opts->config, res, errstr, errstr_size);
                if (st == 0) {
                        hwm = be64(PQgetvalue(res, n - 1, 0));
                        idle_since = now_s();
                        if (opts->metrics != NULL)
                                zz_metrics_add(
                                    opts->metrics, "zz_relay_published_total",
                                    H_PUBLISHED, NULL, NULL, NULL, NULL, n);
                }
                PQclear(res);
                if (st < 0)
                        return -1;
        }
        return 0;
}

void zz_relay_metrics_declare(zz_metrics_t *m)
{
        if (m == NULL)
                return;
        zz_metrics_declare(m, "zz_relay_published_total", ZZ_METRIC_COUNTER,
                           H_PUBLISHED, 0);
        /* no sample until the relay first asks for its lock: 0 means
         * "holds it", which no instance may claim before it does */
        zz_metrics_declare(m, "zz_lock_wait_seconds", ZZ_METRIC_GAUGE,
                           H_LOCK_WAIT, 1);
}

int zz_relay_run(const zz_relay_opts_t *opts, char *errstr, size_t errstr_size)
{
        char err[512];
        PGconn *conn;
        rd_kafka_t *rk = NULL;
        long long hwm;
        int rc = -1, got;

        conn = zz_pg_connect(zz_config_pg(opts->config), "zizhu-subsidy-relay",
                             err, sizeof(err));
        if (conn == NULL) {
                snprintf(errstr, errstr_size, "relay %s", err);
                return -1;
        }
        got = take_lock(conn, opts);
        if (got <= 0) {
                if (got < 0)
                        snprintf(errstr, errstr_size, "relay lock: %s",
                                 PQerrorMessage(conn));
                zz_pg_finish(conn);
                return got < 0 ? -1 : 0;
        }
        zz_log_info("relay active (transactional.id %s)",
                    opts->transactional_id);
        rk = producer_new(opts, errstr, errstr_size);
        if (rk == NULL)
                goto out;
        hwm = zz_relay_high_water(opts->config, errstr, errstr_size);
        if (hwm < 0)
                goto out;
        rc = check_continuity(conn, hwm, errstr, errstr_size);
        if (rc != 0)
                goto out;
        zz_log_info("relay resumes after outbox id %lld", hwm);
        rc = relay_loop(conn, rk, opts, hwm, errstr, errstr_size);
out:
        if (rk != NULL) {
                rd_kafka_flush(rk, 10000);
                rd_kafka_destroy(rk);
        }
        zz_pg_finish(conn); /* also releases the advisory lock */
        return rc;
}
