/*
 * kafka.c — the messages a test sends (a list of encoded events), producing
 * them, reading a topic back read_committed, and checking that the subsidy
 * worker's outbox reached its topics exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "zizhu/codec.h"
#include "zizhu/config.h"
#include "zizhu/event.h"
#include "zizhu/vocab.h"

#include "zz_test.h"

/* ------------------------------------------------------------------ */
/* Message lists                                                       */

zz_codec_t *zz_test_msgs_codec(zz_test_msgs_t *ms)
{
        char errstr[256];

        if (ms->codec == NULL) {
                ms->codec = zz_codec_new(errstr, sizeof(errstr));
                cr_assert_not_null(ms->codec, "codec: %s", errstr);
        }
        return ms->codec;
}

void zz_test_msgs_add(zz_test_msgs_t *ms, zz_stream_t stream, const char *key,
                      const void *value, size_t len)
{
        zz_test_msg_t *m;

        if (ms->n == ms->cap) {
                size_t cap = ms->cap ? ms->cap * 2 : 256;
                zz_test_msg_t *grown = realloc(ms->m, cap * sizeof(*grown));

                cr_assert_not_null(grown, "out of memory");
                ms->m = grown;
                ms->cap = cap;
        }
        m = &ms->m[ms->n];
        m->stream = stream;
        if (stream == ZZ_STREAM_IDENTITY)
                zz_config_identity_stream("MCA", m->topic, sizeof(m->topic));
        else
                snprintf(m->topic, sizeof(m->topic), "%s",
                         zz_stream_name(stream));
        snprintf(m->key, sizeof(m->key), "%s", key);
        m->value = malloc(len ? len : 1);
        cr_assert_not_null(m->value, "out of memory");
        memcpy(m->value, value, len);
        m->len = len;
        ms->n++;
}

void zz_test_msgs_copy(zz_test_msgs_t *ms, const zz_test_msg_t *m)
{
        zz_test_msgs_add(ms, m->stream, m->key, m->value, m->len);
        snprintf(ms->m[ms->n - 1].topic, sizeof(ms->m[ms->n - 1].topic), "%s",
                 m->topic);
}

/* Encodes v (a value of ms's codec for stream) and appends it. */
static void add_value(zz_test_msgs_t *ms, zz_stream_t stream, const char *key,
                      avro_value_t *v)
{
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        char errstr[256];

        cr_assert_eq(
            zz_codec_encode(ms->codec, stream, v, &buf, errstr, sizeof(errstr)),
            0, "encode %s: %s", zz_stream_name(stream), errstr);
        zz_test_msgs_add(ms, stream, key, buf.data, buf.len);
        zz_codec_buf_free(&buf);
}

/* A fresh value of stream's current schema, from ms's codec. */
static void new_value(zz_test_msgs_t *ms, zz_stream_t stream, avro_value_t *v)
{
        cr_assert_eq(zz_codec_value_new(zz_test_msgs_codec(ms), stream, v), 0,
                     "no value for %s", zz_stream_name(stream));
}

void zz_test_msgs_identity_on(zz_test_msgs_t *ms, const zz_event_identity_t *e,
                              const char *topic_dept)
{
        avro_value_t v;
        char errstr[256];

        new_value(ms, ZZ_STREAM_IDENTITY, &v);
        cr_assert_eq(zz_event_identity_to_value(e, &v, errstr, sizeof(errstr)),
                     0, "%s", errstr);
        add_value(ms, ZZ_STREAM_IDENTITY, e->person_id, &v);
        avro_value_decref(&v);
        if (zz_vocab_dept_index(topic_dept) >= 0)
                zz_config_identity_stream(topic_dept, ms->m[ms->n - 1].topic,
                                          sizeof(ms->m[ms->n - 1].topic));
}

void zz_test_msgs_identity(zz_test_msgs_t *ms, const zz_event_identity_t *e)
{
        zz_test_msgs_identity_on(ms, e, e->department);
}

void zz_test_msgs_enrollment(zz_test_msgs_t *ms, const zz_event_enrollment_t *e)
{
        avro_value_t v;
        char errstr[256];

        new_value(ms, ZZ_STREAM_ENROLLMENT, &v);
        cr_assert_eq(
            zz_event_enrollment_to_value(e, &v, errstr, sizeof(errstr)), 0,
            "%s", errstr);
        add_value(ms, ZZ_STREAM_ENROLLMENT, e->person_id, &v);
        avro_value_decref(&v);
}

void zz_test_msgs_payment(zz_test_msgs_t *ms, const zz_event_payment_t *e)
{
        avro_value_t v;
        char errstr[256];

        new_value(ms, ZZ_STREAM_PAYMENT, &v);
        cr_assert_eq(zz_event_payment_to_value(e, &v, errstr, sizeof(errstr)),
                     0, "%s", errstr);
        add_value(ms, ZZ_STREAM_PAYMENT, e->person_id, &v);
        avro_value_decref(&v);
}

void zz_test_msgs_control(zz_test_msgs_t *ms, const zz_event_control_t *e)
{
        avro_value_t v;
        char errstr[256];

        new_value(ms, ZZ_STREAM_CONTROL, &v);
        cr_assert_eq(zz_event_control_to_value(e, &v, errstr, sizeof(errstr)),
                     0, "%s", errstr);
        add_value(ms, ZZ_STREAM_CONTROL, e->jurisdiction, &v);
        avro_value_decref(&v);
}

void zz_test_msgs_clear(zz_test_msgs_t *ms)
{
        size_t i;

        for (i = 0; i < ms->n; i++)
                free(ms->m[i].value);
        ms->n = 0;
}

void zz_test_msgs_free(zz_test_msgs_t *ms)
{
        zz_test_msgs_clear(ms);
        free(ms->m);
        zz_codec_destroy(ms->codec);
        memset(ms, 0, sizeof(*ms));
}

/* ------------------------------------------------------------------ */
/* Producing                                                           */

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                    char *errstr, size_t errstr_size)
{
        return rd_kafka_conf_set(conf, key, value, errstr, errstr_size) ==
                       RD_KAFKA_CONF_OK
                   ? 0
                   : -1;
}

int zz_test_produce(const zz_test_env_t *env, const zz_test_msgs_t *ms,
                    size_t from, size_t to)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        char errstr[512];
        size_t i;

        if (to > ms->n)
                to = ms->n;
        if (conf_set(conf, "bootstrap.servers", env->bootstrap, errstr,
                     sizeof(errstr)) != 0 ||
            conf_set(conf, "enable.idempotence", "true", errstr,
                     sizeof(errstr)) != 0 ||
            conf_set(conf, "linger.ms", "20", errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "producer: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (rk == NULL) {
                fprintf(stderr, "producer: %s\n", errstr);
                return -1;
        }
        for (i = from; i < to; i++) {
                const zz_test_msg_t *m = &ms->m[i];
                char topic[256];
                rd_kafka_resp_err_t err;

                snprintf(topic, sizeof(topic), "%s%s", env->prefix, m->topic);
                do {
                        err = rd_kafka_producev(
                            rk, RD_KAFKA_V_TOPIC(topic),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_KEY(m->key, strlen(m->key)),
                            RD_KAFKA_V_VALUE(m->value, m->len), RD_KAFKA_V_END);
                        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(rk, 50);
                } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        }
        rd_kafka_flush(rk, 60000);
        rd_kafka_destroy(rk);
        return 0;
}

int zz_test_send(const zz_test_env_t *env, zz_test_msgs_t *ms)
{
        if (zz_test_produce(env, ms, 0, ms->n) != 0)
                return -1;
        zz_test_msgs_clear(ms);
        usleep(20000);
        return 0;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

/* Assigns partitions [0, parts) of topic to rk, from their beginning. */
static void assign_from_start(rd_kafka_t *rk, const char *topic, int parts)
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

/* The partition count of topic, or -1. */
static int partition_count(rd_kafka_t *rk, const char *topic)
{
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        int parts = -1;

        if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topic_cnt == 1 && md->topics[0].err == 0)
                parts = md->topics[0].partition_cnt;
        if (md != NULL)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return parts;
}

rd_kafka_t *zz_test_reader_new(const zz_test_env_t *env, const char *stream,
                               int *partitions, char *errstr,
                               size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        char topic[256];
        int parts;

        if (conf_set(conf, "bootstrap.servers", env->bootstrap, errstr,
                     errstr_size) != 0 ||
            conf_set(conf, "group.id", env->reader_group, errstr,
                     errstr_size) != 0 ||
            conf_set(conf, "isolation.level", "read_committed", errstr,
                     errstr_size) != 0 ||
            conf_set(conf, "enable.partition.eof", "true", errstr,
                     errstr_size) != 0 ||
            conf_set(conf, "enable.auto.commit", "false", errstr,
                     errstr_size) != 0) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
        if (rk == NULL)
                return NULL;
        rd_kafka_poll_set_consumer(rk);
        snprintf(topic, sizeof(topic), "%s%s", env->prefix, stream);
        parts = partition_count(rk, topic);
        if (parts < 1) {
                snprintf(errstr, errstr_size, "no partitions of %s", topic);
                rd_kafka_destroy(rk);
                return NULL;
        }
        assign_from_start(rk, topic, parts);
        if (partitions != NULL)
                *partitions = parts;
        return rk;
}

/* Reads every committed message of an output stream; fills *ids_out
 * (malloc'd: the outbox id header of each message, in any order) and
 * returns how many; -1 when the topic could not be read. */
static long read_output(const zz_test_env_t *env, const char *stream,
                        long long **ids_out)
{
        rd_kafka_t *rk;
        char errstr[512];
        long long *ids = NULL;
        size_t n = 0, cap = 0;
        int parts = 0, eofs = 0;

        *ids_out = NULL;
        rk = zz_test_reader_new(env, stream, &parts, errstr, sizeof(errstr));
        if (rk == NULL) {
                fprintf(stderr, "%s: %s\n", stream, errstr);
                return -1;
        }
        while (eofs < parts) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 5000);
                rd_kafka_headers_t *h = NULL;
                const void *v = NULL;
                size_t sz = 0;

                if (m == NULL)
                        break;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        eofs++;
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (!m->err && rd_kafka_message_headers(m, &h) == 0 &&
                    rd_kafka_header_get_last(h, "zz-outbox-id", &v, &sz) == 0) {
                        char b[32];

                        snprintf(b, sizeof(b), "%.*s", (int)sz,
                                 (const char *)v);
                        if (n == cap) {
                                cap = cap ? cap * 2 : 1024;
                                ids = realloc(ids, cap * sizeof(*ids));
                                cr_assert_not_null(ids, "out of memory");
                        }
                        ids[n++] = strtoll(b, NULL, 10);
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        *ids_out = ids;
        return (long)n;
}

static int cmp_ll(const void *a, const void *b)
{
        long long x = *(const long long *)a, y = *(const long long *)b;

        return (x > y) - (x < y);
}

int zz_test_check_published(const zz_test_env_t *env)
{
        static const char *const streams[] = {"subsidy-state", "reconciliation",
                                              "dead-letter"};
        long long *all = NULL;
        size_t n_all = 0, s, i;
        long long rows =
            zz_test_pg_count(env->pg, "SELECT count(*) FROM zizhu.outbox");
        long long maxid = zz_test_pg_count(
            env->pg, "SELECT coalesce(max(id), 0) FROM zizhu.outbox");

        for (s = 0; s < 3; s++) {
                long long *ids = NULL, *grown;
                long n = read_output(env, streams[s], &ids);
                long long want;
                char sql[256];

                snprintf(sql, sizeof(sql),
                         "SELECT count(*) FROM zizhu.outbox WHERE stream = "
                         "'%s'",
                         streams[s]);
                want = zz_test_pg_count(env->pg, sql);
                if (n < 0 || (long long)n != want) {
                        fprintf(stderr, "%s: %ld messages, %lld rows\n",
                                streams[s], n, want);
                        free(ids);
                        free(all);
                        return -1;
                }
                grown = realloc(all, (n_all + (size_t)n + 1) * sizeof(*all));
                cr_assert_not_null(grown, "out of memory");
                all = grown;
                if (n > 0)
                        memcpy(all + n_all, ids, (size_t)n * sizeof(*ids));
                n_all += (size_t)n;
                free(ids);
        }
        qsort(all, n_all, sizeof(*all), cmp_ll);
        for (i = 0; i < n_all; i++)
                if (all[i] != (long long)i + 1) {
                        fprintf(stderr,
                                "outbox id %lld at position %zu: missing or "
                                "duplicate\n",
                                all[i], i);
                        free(all);
                        return -1;
                }
        free(all);
        if ((long long)n_all != rows || (long long)n_all != maxid) {
                fprintf(stderr, "published %zu, outbox rows %lld, max %lld\n",
                        n_all, rows, maxid);
                return -1;
        }
        return 0;
}
