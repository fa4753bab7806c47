/*
 * settle_worker.c — the settlement worker's loop: control commands to
 * closed periods (boundary, wait, close, position in one transaction) and
 * the transactional relay of the allocation rows (see settle_worker.h).
 */
#include "zizhu/settle_worker.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "zizhu/catalog.h"
#include "zizhu/codec.h"
#include "zizhu/event.h"
#include "zizhu/kafka.h"
#include "zizhu/log.h"
#include "zizhu/pg.h"
#include "zizhu/registry.h"
#include "zizhu/settle_run.h"
#include "settle_int.h"

/* "zzST": one active settlement worker per database. */
#define SETTLE_LOCK_KEY "2054837076"
#define MAX_POLICIES    64
#define MAX_BOUNDARY    256

static const char *const inputs[] = {"identity", "enrollment", "payment"};

static const char SQL_TRY_LOCK[] =
    "SELECT pg_try_advisory_lock(" SETTLE_LOCK_KEY ")";

static const char SQL_SUBSIDY_POSITION[] =
    "SELECT next_offset\n"
    "FROM zizhu.consumer_position\n"
    "WHERE group_id = $1 AND topic = $2 AND partition = $3";

static const char SQL_CLAIM_POSITION[] =
    "INSERT INTO zizhu.consumer_position AS c (group_id, topic, partition, next_offset, epoch)\n"
    "VALUES ($1, $2, $3, $4, 1)\n"
    "ON CONFLICT (group_id, topic, partition)\n"
    "DO UPDATE SET epoch = c.epoch + 1\n"
    "RETURNING next_offset, epoch";

static const char SQL_SET_POSITION[] =
    "UPDATE zizhu.consumer_position\n"
    "SET next_offset = $5\n"
    "WHERE group_id = $1 AND topic = $2 AND partition = $3 AND epoch = $4";

/* The relay's next batch, in id order (relay_step says how large). */
static const char SQL_RELAY_BATCH[] =
    "SELECT id, key, value\n"
    "FROM zizhu.settle_allocation\n"
    "WHERE id > $1 AND id <= (SELECT coalesce(max(id) FILTER (WHERE upto <= 16777216), min(id)) FROM (SELECT id, sum(octet_length(value)) OVER (ORDER BY id) AS upto FROM zizhu.settle_allocation WHERE id > $1 ORDER BY id LIMIT 500) b)\n"
    "ORDER BY id";

static const char SQL_RELAY_PUBLISHED[] =
    "UPDATE zizhu.settle_allocation\n"
    "SET published_at = now()\n"
    "WHERE id <= $1 AND published_at IS NULL";

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

        nanosleep(&ts, NULL);
}

static long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int zz_settle_load_policies(const char *dir, zz_policy_t **policies, size_t max,
                            char *errstr, size_t errstr_size)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        char *names[MAX_POLICIES];
        size_t n = 0, i, k = 0;

        if (d == NULL) {
                snprintf(errstr, errstr_size,
                         "could not open policy directory %s", dir);
                return -1;
        }
        while ((de = readdir(d)) != NULL && n < MAX_POLICIES) {
                size_t len = strlen(de->d_name);

                if (len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0)
                        names[n++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof(names[0]), cmp_str);
        for (i = 0; i < n; i++) {
                char path[4096];

                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                if (k < max && names[i] != NULL) {
                        policies[k] =
                            zz_policy_load_file(path, errstr, errstr_size);
                        if (policies[k] == NULL) {
                                size_t j;
                                for (j = 0; j < k; j++)
                                        zz_policy_destroy(policies[j]);
                                for (j = i; j < n; j++)
                                        free(names[j]);
                                return -1;
                        }
                        k++;
                }
                free(names[i]);
        }
        if (k == 0) {
                snprintf(errstr, errstr_size, "no policy file (*.yaml) in %s",
                         dir);
                return -1;
        }
        return (int)k;
}

static rd_kafka_t *new_consumer(const zz_config_t *config, const char *group,
                                char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;

        if (zz_config_apply_kafka(config, conf, errstr, errstr_size) != 0 ||
            rd_kafka_conf_set(conf, "group.id", group, errstr, errstr_size) ||
            rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                              errstr_size) ||
            rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr,
                              errstr_size) ||
            rd_kafka_conf_set(conf, "isolation.level", "read_committed", errstr,
                              errstr_size) ||
            rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr,
                              errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
        if (rk == NULL)
                rd_kafka_conf_destroy(conf);
        return rk;
}

/* ------------------------------------------------------------------ */
/* Boundary                                                            */

/* The positions carried by the command (Control.positions, already
 * validated: full topic names, each partition once). Returns the count, 0
 * when the field is null; -1 with errstr when they do not fit. */
static int positions_field(const zz_event_control_t *ev, zz_settle_pos_t *b,
                           size_t max, size_t *n_out, char *errstr,
                           size_t errstr_size)
{
        size_t i;

        *n_out = 0;
        if (ev->positions == NULL)
                return 0;
        if (ev->positions_count > max) {
                snprintf(errstr, errstr_size,
                         "the command carries %zu positions, more than %zu",
                         ev->positions_count, max);
                return -1;
        }
        for (i = 0; i < ev->positions_count; i++) {
                const zz_event_position_t *p = &ev->positions[i];

                if (strlen(p->topic) >= sizeof(b[i].topic)) {
                        snprintf(errstr, errstr_size,
                                 "topic of position %zu is longer than %zu "
                                 "bytes",
                                 i, sizeof(b[i].topic) - 1);
                        return -1;
                }
                snprintf(b[i].topic, sizeof(b[i].topic), "%s", p->topic);
                b[i].partition = p->partition;
                b[i].end = p->offset;
        }
        *n_out = ev->positions_count;
        return 0;
}

/* For every input partition: the first offset with a timestamp after ts,
 * else the partition's end. */
static int boundary_by_time(rd_kafka_t *rk, const zz_config_t *config,
                            int64_t ts, zz_settle_pos_t *b, size_t max,
                            size_t *n_out, char *errstr, size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(16);
        rd_kafka_resp_err_t err;
        zz_config_streams_t streams;
        size_t t, n = 0;
        int i, p;

        /* identity: every department's topic */
        zz_config_topic_streams(inputs, sizeof(inputs) / sizeof(inputs[0]),
                                &streams);
        for (t = 0; t < streams.n; t++) {
                char topic[256];
                int parts;

                zz_config_topic(config, streams.name[t], topic, sizeof(topic));
                parts = zz_kafka_partition_count(rk, topic, 10000, errstr,
                                                 errstr_size);
                if (parts < 0) {
                        rd_kafka_topic_partition_list_destroy(list);
                        return -1;
                }
                for (p = 0; p < parts; p++)
                        rd_kafka_topic_partition_list_add(list, topic, p)
                            ->offset = ts + 1;
        }
        err = rd_kafka_offsets_for_times(rk, list, 10000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(errstr, errstr_size, "offsets_for_times: %s",
                         rd_kafka_err2str(err));
                rd_kafka_topic_partition_list_destroy(list);
                return -1;
        }
        for (i = 0; i < list->cnt && n < max; i++) {
                rd_kafka_topic_partition_t *tp = &list->elems[i];
                int64_t end = tp->offset;

                if (tp->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        snprintf(errstr, errstr_size,
                                 "offsets_for_times %s [%d]: %s", tp->topic,
                                 (int)tp->partition, rd_kafka_err2str(tp->err));
                        rd_kafka_topic_partition_list_destroy(list);
                        return -1;
                }
                if (end < 0) {
                        int64_t lo = 0, hi = 0;

                        err = rd_kafka_query_watermark_offsets(
                            rk, tp->topic, tp->partition, &lo, &hi, 10000);
                        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                                snprintf(errstr, errstr_size,
                                         "watermarks of %s [%d]: %s", tp->topic,
                                         (int)tp->partition,
                                         rd_kafka_err2str(err));
                                rd_kafka_topic_partition_list_destroy(list);
                                return -1;
                        }
                        end = hi;
                }
                snprintf(b[n].topic, sizeof(b[n].topic), "%s", tp->topic);
                b[n].partition = tp->partition;
                b[n].end = end;
                n++;
        }
        rd_kafka_topic_partition_list_destroy(list);
        *n_out = n;
        return 0;
}

/* 1 when a read_committed reader finds a data message in [from, end) of
 * the partition, 0 when none, -1 on error. */
static int data_between(rd_kafka_t *probe, const char *topic, int32_t part,
                        int64_t from, int64_t end)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(1);
        long long deadline = now_ms() + 15000;
        int found = -1;

        rd_kafka_topic_partition_list_add(list, topic, part)->offset =
            from < 0 ? RD_KAFKA_OFFSET_BEGINNING : from;
        rd_kafka_assign(probe, list);
        rd_kafka_topic_partition_list_destroy(list);
        while (now_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(probe, 200);

                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        found = 0;
                        rd_kafka_message_destroy(m);
                        break;
                }
                if (m->err) {
                        rd_kafka_message_destroy(m);
                        continue;
                }
                found = m->offset < end ? 1 : 0;
                rd_kafka_message_destroy(m);
                break;
        }
        rd_kafka_assign(probe, NULL);
        return found;
}

/* 1 when the subsidy worker has stored every fact before the boundary. */
static int facts_loaded(PGconn *conn, rd_kafka_t *probe, const char *group,
                        const zz_settle_pos_t *b, size_t n, char *errstr,
                        size_t errstr_size)
{
        size_t i;

        for (i = 0; i < n; i++) {
                char part[16];
                const char *p[3];
                PGresult *res;
                int64_t next = -2;
                int has;

                if (b[i].end <= 0)
                        continue;
                snprintf(part, sizeof(part), "%d", (int)b[i].partition);
                p[0] = group;
                p[1] = b[i].topic;
                p[2] = part;
                res = zz_pg_query(conn, SQL_SUBSIDY_POSITION, 3, p, NULL,
                                  errstr, errstr_size);
                if (res == NULL) {
                        settle_failed("could not read the subsidy worker's "
                                      "position",
                                      errstr, errstr_size);
                        return -1;
                }
                if (PQntuples(res) > 0)
                        next = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
                PQclear(res);
                if (next >= b[i].end)
                        continue;
                has = data_between(probe, b[i].topic, b[i].partition, next,
                                   b[i].end);
                if (has != 0)
                        return 0;
        }
        return 1;
}

/* ------------------------------------------------------------------ */
/* Positions                                                           */

static int claim(PGconn *conn, const char *group, const char *topic,
                 int32_t part, int64_t start, int64_t *next, int64_t *epoch,
                 char *errstr, size_t errstr_size)
{
        char ps[16], st[24], what[300];
        const char *p[4];
        PGresult *res;

        snprintf(ps, sizeof(ps), "%d", (int)part);
        snprintf(st, sizeof(st), "%lld", (long long)start);
        p[0] = group;
        p[1] = topic;
        p[2] = ps;
        p[3] = st;
        res = zz_pg_query(conn, SQL_CLAIM_POSITION, 4, p, NULL, errstr,
                          errstr_size);
        if (res == NULL) {
                snprintf(what, sizeof(what), "could not claim %s [%d]", topic,
                         (int)part);
                settle_failed(what, errstr, errstr_size);
                return -1;
        }
        *next = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *epoch = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
        return 0;
}

static int set_position(PGconn *conn, const char *group, const char *topic,
                        int32_t part, int64_t epoch, int64_t next, char *errstr,
                        size_t errstr_size)
{
        char ps[16], ep[24], nx[24], what[1024];
        const char *p[5];
        PGresult *res;
        int ok;

        snprintf(ps, sizeof(ps), "%d", (int)part);
        snprintf(ep, sizeof(ep), "%lld", (long long)epoch);
        snprintf(nx, sizeof(nx), "%lld", (long long)next);
        p[0] = group;
        p[1] = topic;
        p[2] = ps;
        p[3] = ep;
        p[4] = nx;
        res = zz_pg_query(conn, SQL_SET_POSITION, 5, p, NULL, errstr,
                          errstr_size);
        ok = res != NULL && strcmp(PQcmdTuples(res), "1") == 0;
        if (!ok) {
                /* the statement's error, or none when no row matched */
                snprintf(what, sizeof(what),
                         "position of %s [%d] lost (another settlement "
                         "worker?) %s",
                         topic, (int)part, res == NULL ? errstr : "");
                snprintf(errstr, errstr_size, "%s", what);
        }
        PQclear(res);
        return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Relay                                                               */

static long long header_id(const rd_kafka_message_t *m)
{
        rd_kafka_headers_t *hdrs = NULL;
        const void *v = NULL;
        size_t size = 0;
        char buf[32];

        if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            rd_kafka_header_get_last(hdrs, ZZ_SETTLE_HEADER, &v, &size) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            v == NULL || size == 0 || size >= sizeof(buf))
                return -1;
        memcpy(buf, v, size);
        buf[size] = '\0';
        return strtoll(buf, NULL, 10);
}

long long zz_settle_relay_high_water(const zz_config_t *config, char *errstr,
                                     size_t errstr_size)
{
        rd_kafka_t *rk = new_consumer(config, "zizhu-settlement-relay-scan",
                                      errstr, errstr_size);
        char topic[256];
        long long best = 0;
        int parts, p;

        if (rk == NULL)
                return -1;
        zz_config_topic(config, "allocation", topic, sizeof(topic));
        parts = zz_kafka_partition_count(rk, topic, 10000, errstr, errstr_size);
        if (parts < 0) {
                rd_kafka_destroy(rk);
                return -1;
        }
        for (p = 0; p < parts; p++) {
                int64_t lo = 0, hi = 0, window = 64, start;
                long long found = -1;

                if (zz_kafka_watermarks(rk, topic, p, &lo, &hi, 10000) !=
                    RD_KAFKA_RESP_ERR_NO_ERROR) {
                        snprintf(errstr, errstr_size,
                                 "could not read the end of %s [%d]", topic, p);
                        rd_kafka_destroy(rk);
                        return -1;
                }
                /* widen the window back until a committed message is seen */
                while (found < 0 && hi > lo) {
                        rd_kafka_topic_partition_list_t *list =
                            rd_kafka_topic_partition_list_new(1);
                        long long deadline = now_ms() + 20000;

                        start = hi - window > lo ? hi - window : lo;
                        rd_kafka_topic_partition_list_add(list, topic, p)
                            ->offset = start;
                        rd_kafka_assign(rk, list);
                        rd_kafka_topic_partition_list_destroy(list);
                        while (now_ms() < deadline) {
                                rd_kafka_message_t *m =
                                    rd_kafka_consumer_poll(rk, 200);
                                if (m == NULL)
                                        continue;
                                if (m->err ==
                                    RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                        rd_kafka_message_destroy(m);
                                        break;
                                }
                                if (!m->err) {
                                        long long id = header_id(m);
                                        if (id > found)
                                                found = id;
                                }
                                rd_kafka_message_destroy(m);
                        }
                        rd_kafka_assign(rk, NULL);
                        if (start == lo)
                                break;
                        window *= 8;
                }
                if (found > best)
                        best = found;
        }
        rd_kafka_destroy(rk);
        return best;
}

typedef struct relay_s {
        rd_kafka_t *rk;
        long long high; /* highest id committed on the topic */
        char topic[256];
} relay_t;

static int relay_open(relay_t *r, const zz_settler_opts_t *o, char *errstr,
                      size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_error_t *err;
        char tid[300];

        memset(r, 0, sizeof(*r));
        if (zz_catalog_publish(o->config, NULL, errstr, errstr_size) != 0) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        if (o->transactional_id != NULL)
                snprintf(tid, sizeof(tid), "%s", o->transactional_id);
        else
                snprintf(tid, sizeof(tid), "zizhu-settlement-relay.%s",
                         zz_config_topic_prefix(o->config));
        zz_config_topic(o->config, "allocation", r->topic, sizeof(r->topic));
        if (zz_config_apply_kafka(o->config, conf, errstr, errstr_size) != 0 ||
            rd_kafka_conf_set(conf, "transactional.id", tid, errstr,
                              errstr_size) ||
            rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr,
                              errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        r->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
        if (r->rk == NULL) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        /* fences an earlier relay with this id and aborts its open
         * transaction, before the high water is read */
        err = rd_kafka_init_transactions(r->rk, 30000);
        if (err != NULL) {
                snprintf(errstr, errstr_size, "init_transactions: %s",
                         rd_kafka_error_string(err));
                rd_kafka_error_destroy(err);
                return -1;
        }
        r->high = zz_settle_relay_high_water(o->config, errstr, errstr_size);
        return r->high < 0 ? -1 : 0;
}

static void relay_close(relay_t *r)
{
        if (r->rk != NULL) {
                rd_kafka_flush(r->rk, 10000);
                rd_kafka_destroy(r->rk);
        }
        r->rk = NULL;
}

/* Publishes the rows after the high water; *published receives how many.
 * -1 with errstr (the relay must then be reopened). */
static int relay_step(relay_t *r, PGconn *conn, size_t *published, char *errstr,
                      size_t errstr_size)
{
        char hw[24];
        const char *p[1];
        PGresult *res;
        rd_kafka_error_t *err;
        int i, n;

        *published = 0;
        snprintf(hw, sizeof(hw), "%lld", r->high);
        p[0] = hw;
        /* up to 500 rows and 16 MiB (at least one row): an allocation
         * grows with the persons (about 0.5 MB per million in the largest),
         * and the worker holds a batch twice, read and in the producer */
        res = zz_pg_query_ex(conn, SQL_RELAY_BATCH, 1, NULL, p, NULL, NULL, 1,
                             NULL, errstr, errstr_size);
        if (res == NULL) {
                settle_failed("relay", errstr, errstr_size);
                return -1;
        }
        n = PQntuples(res);
        if (n == 0) {
                PQclear(res);
                return 0;
        }
        err = rd_kafka_begin_transaction(r->rk);
        for (i = 0; err == NULL && i < n; i++) {
                /* binary result: id is int8 big-endian */
                const unsigned char *b =
                    (const unsigned char *)PQgetvalue(res, i, 0);
                long long id = 0;
                char idtext[24];
                rd_kafka_resp_err_t e;
                int k;

                for (k = 0; k < 8; k++)
                        id = (id << 8) | b[k];
                snprintf(idtext, sizeof(idtext), "%lld", id);
                e = rd_kafka_producev(
                    r->rk, RD_KAFKA_V_TOPIC(r->topic),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(PQgetvalue(res, i, 1),
                                   (size_t)PQgetlength(res, i, 1)),
                    RD_KAFKA_V_VALUE(PQgetvalue(res, i, 2),
                                     (size_t)PQgetlength(res, i, 2)),
                    RD_KAFKA_V_HEADER(ZZ_SETTLE_HEADER, idtext,
                                      (ssize_t)strlen(idtext)),
                    RD_KAFKA_V_END);
                if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        snprintf(errstr, errstr_size, "relay produce: %s",
                                 rd_kafka_err2str(e));
                        rd_kafka_abort_transaction(r->rk, 10000);
                        PQclear(res);
                        return -1;
                }
                if (id > r->high)
                        r->high = id;
        }
        if (err == NULL)
                err = rd_kafka_commit_transaction(r->rk, 60000);
        PQclear(res);
        if (err != NULL) {
                snprintf(errstr, errstr_size, "relay transaction: %s",
                         rd_kafka_error_string(err));
                rd_kafka_error_destroy(err);
                return -1;
        }
        *published = (size_t)n;
        snprintf(hw, sizeof(hw), "%lld", r->high);
        /* bookkeeping only: Kafka is the truth */
        zz_pg_command(conn, SQL_RELAY_PUBLISHED, 1, p, NULL, NULL, 0);
        return 0;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

typedef struct part_s {
        int32_t partition;
        int64_t epoch;
        int64_t next;
} part_t;

/* A control message: 1 when it is a CLOSE_PERIOD command (*ev and the
 * positions it carries, b[0..*nb), are then set; the command's copies
 * live in arena), 0 when it is something else, with err2 saying why when
 * it could not be read. */
static int decode_close(zz_codec_t *codec, const rd_kafka_message_t *m,
                        zz_arena_t *arena, zz_event_control_t *ev,
                        zz_settle_pos_t *b, size_t *nb, char *err2,
                        size_t err2_size)
{
        avro_value_t value;

        return zz_codec_decode(codec, ZZ_STREAM_CONTROL, m->payload, m->len,
                               &value, NULL, err2, err2_size) == 0 &&
               zz_event_control_from_value(&value, arena, ZZ_EVENT_COPY, ev,
                                           err2, err2_size) == 0 &&
               zz_event_validate_control(ev, NULL, err2, err2_size) == 0 &&
               ev->command == ZZ_CONTROL_CLOSE_PERIOD &&
               positions_field(ev, b, MAX_BOUNDARY, nb, err2, err2_size) == 0;
}

/* Waits until the subsidy worker has stored every fact before the
 * boundary b[0..nb) of the close command m (or o->wait_ms passed since
 * started, or a stop). */
static int wait_for_facts(const zz_settler_opts_t *o, PGconn *conn,
                          rd_kafka_t *probe, const zz_settle_pos_t *b,
                          size_t nb, const rd_kafka_message_t *m,
                          long long started, char *errstr, size_t errstr_size)
{
        for (;;) {
                int loaded = facts_loaded(conn, probe, o->subsidy_group, b, nb,
                                          errstr, errstr_size);
                if (loaded < 0)
                        return -1;
                if (loaded)
                        return 0;
                if (*o->stop) {
                        snprintf(errstr, errstr_size,
                                 "stopped while waiting for the subsidy "
                                 "worker");
                        return -1;
                }
                if (o->wait_ms > 0 && now_ms() - started > o->wait_ms) {
                        snprintf(errstr, errstr_size,
                                 "the subsidy worker (group %s) has not "
                                 "reached the boundary of the close command "
                                 "at offset %lld",
                                 o->subsidy_group, (long long)m->offset);
                        return -1;
                }
                if (o->progress != NULL)
                        o->progress("waiting for the subsidy worker",
                                    o->progress_arg);
                sleep_ms(500);
        }
}

/* The state of a running settlement worker. */
typedef struct settler_s {
        const zz_settler_opts_t *o;
        zz_policy_t *policies[MAX_POLICIES];
        int n_policies;
        PGconn *conn;
        zz_codec_t *codec;
        rd_kafka_t *rk, *probe;
        relay_t relay;
        int relay_ok;
        part_t parts[64];
        int n_parts;
        char control[256];
} settler_t;

/* In one transaction: the close of ev (when not NULL: boundary b[0..nb))
 * and the position after m. */
static int close_and_advance(settler_t *st, part_t *pt,
                             const rd_kafka_message_t *m,
                             const zz_event_control_t *ev,
                             const zz_settle_pos_t *b, size_t nb,
                             zz_settle_result_t *result, char *errstr,
                             size_t errstr_size)
{
        const zz_settler_opts_t *o = st->o;
        char err2[256];

        if (zz_pg_exec(st->conn, "BEGIN", errstr, errstr_size) != 0)
                return -1;
        if (ev != NULL) {
                zz_settle_cmd_t cmd;

                memset(&cmd, 0, sizeof(cmd));
                cmd.event_id = ev->event_id;
                cmd.jurisdiction = ev->jurisdiction;
                cmd.period = ev->period;
                cmd.issued_at = ev->issued_at;
                cmd.boundary = b;
                cmd.n_boundary = nb;
                cmd.src_partition = m->partition;
                cmd.src_offset = m->offset;
                if (zz_settle_close(st->conn, st->codec,
                                    (const zz_policy_t *const *)st->policies,
                                    (size_t)st->n_policies,
                                    zz_config_pseudonym_key(o->config), &cmd,
                                    result, errstr, errstr_size) != 0) {
                        zz_pg_exec(st->conn, "ROLLBACK", err2, sizeof(err2));
                        return -1;
                }
        }
        if (set_position(st->conn, o->group, st->control, pt->partition,
                         pt->epoch, m->offset + 1, errstr, errstr_size) != 0 ||
            zz_pg_exec(st->conn, "COMMIT", errstr, errstr_size) != 0) {
                zz_pg_exec(st->conn, "ROLLBACK", err2, sizeof(err2));
                return -1;
        }
        pt->next = m->offset + 1;
        return 0;
}

static void log_close(const rd_kafka_message_t *m,
                      const zz_settle_result_t *result)
{
        if (result->status == 0)
                zz_log_info("closed %s period %s: %zu allocations, %zu lines, "
                            "%zu persons, %lld fen",
                            result->policy, result->period, result->allocations,
                            result->lines, result->persons,
                            (long long)result->fen);
        else
                zz_log_warn("close command at offset %lld: %s",
                            (long long)m->offset, result->reason);
}

/* Handles one control message inside a transaction with its position. */
static int handle(settler_t *st, part_t *pt, const rd_kafka_message_t *m,
                  char *errstr, size_t errstr_size)
{
        const zz_settler_opts_t *o = st->o;
        zz_event_control_t ev;
        zz_arena_t *arena = zz_arena_new(0);
        zz_settle_pos_t b[MAX_BOUNDARY];
        size_t nb = 0;
        int is_close, rc = -1;
        char err2[256];
        zz_settle_result_t result;

        memset(&ev, 0, sizeof(ev));
        err2[0] = '\0';
        if (arena == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        is_close =
            decode_close(st->codec, m, arena, &ev, b, &nb, err2, sizeof(err2));
        if (is_close) {
                rd_kafka_timestamp_type_t tstype;
                int64_t ts = rd_kafka_message_timestamp(m, &tstype);
                long long started = now_ms();

                if (ev.positions == NULL &&
                    boundary_by_time(st->probe, o->config, ts, b, MAX_BOUNDARY,
                                     &nb, errstr, errstr_size) != 0)
                        goto done;
                if (wait_for_facts(o, st->conn, st->probe, b, nb, m, started,
                                   errstr, errstr_size) != 0)
                        goto done;
        } else if (err2[0] != '\0') {
                zz_log_warn("control message at offset %lld skipped: %s",
                            (long long)m->offset, err2);
        }
        if (close_and_advance(st, pt, m, is_close ? &ev : NULL, b, nb, &result,
                              errstr, errstr_size) != 0)
                goto done;
        if (is_close)
                log_close(m, &result);
        rc = 0;
done:
        zz_arena_destroy(arena);
        return rc;
}

/* One active settlement worker per database: 1 when this one holds the
 * lock, 0 when stopped while waiting for it, -1 on error. A wait is never
 * silent: after 5 s, and every 10 s after that, the log says so (another
 * settlement worker holds the lock, or a session that should not:
 * sql/040_coordination_privileges.sql keeps other roles from it). */
static int settle_lock(PGconn *conn, const zz_settler_opts_t *o, char *errstr,
                       size_t errstr_size)
{
        int waited_s;

        for (waited_s = 0;; waited_s++) {
                PGresult *res = zz_pg_query(conn, SQL_TRY_LOCK, 0, NULL, NULL,
                                            errstr, errstr_size);
                int locked;

                if (res == NULL) {
                        settle_failed("advisory lock", errstr, errstr_size);
                        return -1;
                }
                locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
                PQclear(res);
                if (locked) {
                        if (waited_s >= 5)
                                zz_log_info("settlement lock taken after %d s",
                                            waited_s);
                        return 1;
                }
                if (*o->stop)
                        return 0;
                if (waited_s >= 5 && waited_s % 10 == 5)
                        zz_log_warn("waiting %d s for the settlement lock: "
                                    "another session holds it",
                                    waited_s);
                sleep_ms(1000);
        }
}

/* The first offset of partition p of the control topic for a fresh
 * position. */
static int64_t control_start(settler_t *st, int p)
{
        rd_kafka_topic_partition_list_t *q;
        int64_t start = RD_KAFKA_OFFSET_BEGINNING;

        if (st->o->control_start < 0)
                return start;
        q = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(q, st->control, p)->offset =
            st->o->control_start;
        if (rd_kafka_offsets_for_times(st->rk, q, 10000) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            q->elems[0].offset >= 0)
                start = q->elems[0].offset;
        else
                start = RD_KAFKA_OFFSET_END;
        rd_kafka_topic_partition_list_destroy(q);
        return start;
}

/* Claims the position of every control partition and assigns them. */
static int control_assign(settler_t *st, char *errstr, size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *list;
        int p, rc = 0;

        zz_config_topic(st->o->config, "control", st->control,
                        sizeof(st->control));
        st->n_parts = zz_kafka_partition_count(st->rk, st->control, 10000,
                                               errstr, errstr_size);
        if (st->n_parts < 0)
                return -1;
        if (st->n_parts > 64)
                st->n_parts = 64;
        list = rd_kafka_topic_partition_list_new(st->n_parts);
        for (p = 0; rc == 0 && p < st->n_parts; p++) {
                part_t *pt = &st->parts[p];

                pt->partition = p;
                rc = claim(st->conn, st->o->group, st->control, p,
                           control_start(st, p), &pt->next, &pt->epoch, errstr,
                           errstr_size);
                if (rc == 0)
                        rd_kafka_topic_partition_list_add(list, st->control, p)
                            ->offset = pt->next;
        }
        if (rc == 0 &&
            rd_kafka_assign(st->rk, list) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(errstr, errstr_size, "could not assign %s",
                         st->control);
                rc = -1;
        }
        rd_kafka_topic_partition_list_destroy(list);
        return rc;
}

/* Policies, codec, database (locked), dashboard refresh, consumers, the
 * control positions and the relay: 1 ready, 0 stopped while waiting for
 * the lock, -1 on error. */
static int settler_open(settler_t *st, char *errstr, size_t errstr_size)
{
        const zz_settler_opts_t *o = st->o;
        int locked;

        st->n_policies = zz_settle_load_policies(
            o->policy_dir, st->policies, MAX_POLICIES, errstr, errstr_size);
        if (st->n_policies < 0) {
                st->n_policies = 0;
                return -1;
        }
        st->codec = zz_codec_new(errstr, errstr_size);
        if (st->codec == NULL ||
            zz_registry_attach(o->config, st->codec, errstr, errstr_size) != 0)
                return -1;
        st->conn =
            zz_pg_connect(zz_config_pg(o->config), "zizhu-settlement-worker",
                          errstr, errstr_size);
        if (st->conn == NULL)
                return -1;
        locked = settle_lock(st->conn, o, errstr, errstr_size);
        if (locked <= 0)
                return locked;
        if (zz_settle_refresh(
                st->conn, (const zz_policy_t *const *)st->policies,
                (size_t)st->n_policies, zz_config_pseudonym_key(o->config),
                errstr, errstr_size) != 0)
                return -1;
        st->rk = new_consumer(o->config, o->group, errstr, errstr_size);
        st->probe = st->rk != NULL
                        ? new_consumer(o->config, "zizhu-settlement-probe",
                                       errstr, errstr_size)
                        : NULL;
        if (st->probe == NULL || control_assign(st, errstr, errstr_size) != 0)
                return -1;
        if (o->publish) {
                if (relay_open(&st->relay, o, errstr, errstr_size) != 0)
                        return -1;
                st->relay_ok = 1;
        }
        return 1;
}

static void settler_close(settler_t *st)
{
        int p;

        if (st->relay_ok)
                relay_close(&st->relay);
        else if (st->relay.rk != NULL)
                rd_kafka_destroy(st->relay.rk);
        if (st->rk != NULL) {
                rd_kafka_consumer_close(st->rk);
                rd_kafka_destroy(st->rk);
        }
        if (st->probe != NULL) {
                rd_kafka_consumer_close(st->probe);
                rd_kafka_destroy(st->probe);
        }
        zz_pg_finish(st->conn);
        zz_codec_destroy(st->codec);
        for (p = 0; p < st->n_policies; p++)
                zz_policy_destroy(st->policies[p]);
}

/* Polls the control topic once and handles what comes: 1 when a command
 * was handled, 0 when none, -1 on error. */
static int poll_control(settler_t *st, char *errstr, size_t errstr_size)
{
        rd_kafka_message_t *m = rd_kafka_consumer_poll(st->rk, 200);
        part_t *pt = NULL;
        int p, rc = 1;

        if (m == NULL)
                return 0;
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        zz_log_warn("control topic: %s",
                                    rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                return 0;
        }
        for (p = 0; p < st->n_parts; p++)
                if (st->parts[p].partition == m->partition)
                        pt = &st->parts[p];
        if (pt != NULL && handle(st, pt, m, errstr, errstr_size) != 0)
                rc = -1;
        rd_kafka_message_destroy(m);
        return rc;
}

static void refresh(settler_t *st)
{
        char err2[256];

        if (zz_settle_refresh(
                st->conn, (const zz_policy_t *const *)st->policies,
                (size_t)st->n_policies, zz_config_pseudonym_key(st->o->config),
                err2, sizeof(err2)) != 0)
                zz_log_warn("dashboard refresh: %s", err2);
}

/* Until a stop, or idle for o->idle_exit_ms. */
static int settler_loop(settler_t *st, char *errstr, size_t errstr_size)
{
        const zz_settler_opts_t *o = st->o;
        long long last_activity = now_ms(), last_refresh = 0;

        while (!*o->stop) {
                size_t published = 0;
                int idle, handled = poll_control(st, errstr, errstr_size);

                if (handled < 0)
                        return -1;
                idle = !handled;
                if (handled)
                        last_activity = now_ms();
                if (st->relay_ok) {
                        if (relay_step(&st->relay, st->conn, &published, errstr,
                                       errstr_size) != 0)
                                return -1;
                        if (published > 0) {
                                idle = 0;
                                last_activity = now_ms();
                                zz_log_info("published %zu allocation(s)",
                                            published);
                        }
                }
                if (now_ms() - last_refresh > 10000) {
                        refresh(st);
                        last_refresh = now_ms();
                }
                if (idle && o->idle_exit_ms > 0 &&
                    now_ms() - last_activity > o->idle_exit_ms)
                        break;
        }
        return 0;
}

int zz_settler_run(const zz_settler_opts_t *o, char *errstr, size_t errstr_size)
{
        settler_t *st = calloc(1, sizeof(*st));
        char err2[256];
        int rc;

        if (st == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        st->o = o;
        rc = settler_open(st, errstr, errstr_size);
        if (rc > 0) {
                rc = settler_loop(st, errstr, errstr_size);
                /* a last refresh so the views see every decided person */
                if (rc == 0)
                        zz_settle_refresh(
                            st->conn, (const zz_policy_t *const *)st->policies,
                            (size_t)st->n_policies,
                            zz_config_pseudonym_key(o->config), err2,
                            sizeof(err2));
        }
        settler_close(st);
        free(st);
        return rc;
}
