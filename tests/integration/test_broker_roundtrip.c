/*
 * test_broker_roundtrip.c — one message of every schema through a real
 * Kafka broker and back, decoded by the codec.
 *
 * Needs the dev stack (deploy/local/stack.sh up) or any broker at
 * $ZIZHU_BOOTSTRAP (default 127.0.0.1:19092). Creates a throwaway topic
 * under the run's prefix (zz_test.h) through the admin API, and deletes it
 * at the end.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <avro.h>
#include <librdkafka/rdkafka.h>

#include "zizhu/codec.h"

#include "zz_test.h"

#define TIMEOUT_MS 30000

static char err[512];

/* The broker and the names of the run (nothing is created for it: the
 * test makes its one topic itself). */
static zz_test_env_t env;

static uint64_t rnd(uint64_t *state)
{
        uint64_t x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        return x * UINT64_C(2685821657736338717);
}

/* Fills a value of any schema with valid pseudo-random content. */
static void fill(avro_value_t *v, uint64_t *state, int depth)
{
        static const char *const strs[] = {"", "MCA.DIBAO", "资助参保",
                                           "500155107001", "ev-1"};
        avro_schema_t schema = avro_value_get_schema(v);
        avro_value_t child;
        size_t i, n;
        char key[32];
        int rc = 0;

        switch (avro_value_get_type(v)) {
        case AVRO_NULL:
                rc = avro_value_set_null(v);
                break;
        case AVRO_BOOLEAN:
                rc = avro_value_set_boolean(v, rnd(state) & 1);
                break;
        case AVRO_INT32:
                rc = avro_value_set_int(v, (int32_t)rnd(state));
                break;
        case AVRO_INT64:
                rc = avro_value_set_long(v, (int64_t)rnd(state));
                break;
        case AVRO_STRING:
                rc = avro_value_set_string(v, strs[rnd(state) % 5]);
                break;
        case AVRO_BYTES:
                rc =
                    avro_value_set_bytes(v, "\x00\xff\xc3\x01", rnd(state) % 5);
                break;
        case AVRO_ENUM:
                rc = avro_value_set_enum(
                    v, (int)(rnd(state) %
                             (uint64_t)avro_schema_enum_number_of_symbols(
                                 schema)));
                break;
        case AVRO_ARRAY:
        case AVRO_MAP:
                n = depth > 3 ? 0 : 1 + rnd(state) % 3;
                for (i = 0; i < n && rc == 0; i++) {
                        snprintf(key, sizeof(key), "k%zu", i);
                        rc = avro_value_get_type(v) == AVRO_ARRAY
                                 ? avro_value_append(v, &child, NULL)
                                 : avro_value_add(v, key, &child, NULL, NULL);
                        if (rc == 0)
                                fill(&child, state, depth + 1);
                }
                break;
        case AVRO_UNION:
                rc = avro_value_set_branch(
                    v, (int)(rnd(state) % avro_schema_union_size(schema)),
                    &child);
                if (rc == 0)
                        fill(&child, state, depth + 1);
                break;
        case AVRO_RECORD:
                rc = avro_value_get_size(v, &n);
                for (i = 0; i < n && rc == 0; i++) {
                        rc = avro_value_get_by_index(v, i, &child, NULL);
                        if (rc == 0)
                                fill(&child, state, depth + 1);
                }
                break;
        default:
                rc = -1;
        }
        cr_assert_eq(rc, 0, "fill: %s", avro_strerror());
}

static int delivery_errors;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg,
                        void *opaque)
{
        if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "delivery failed: %s\n",
                        rd_kafka_err2str(msg->err));
                delivery_errors++;
        }
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *group)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;

        cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", env.bootstrap,
                                       err, sizeof(err)),
                     RD_KAFKA_CONF_OK, "%s", err);
        if (type == RD_KAFKA_PRODUCER) {
                cr_assert_eq(rd_kafka_conf_set(conf, "enable.idempotence",
                                               "true", err, sizeof(err)),
                             RD_KAFKA_CONF_OK, "%s", err);
                rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        } else {
                cr_assert_eq(rd_kafka_conf_set(conf, "group.id", group, err,
                                               sizeof(err)),
                             RD_KAFKA_CONF_OK, "%s", err);
                cr_assert_eq(rd_kafka_conf_set(conf, "enable.auto.commit",
                                               "false", err, sizeof(err)),
                             RD_KAFKA_CONF_OK, "%s", err);
                cr_assert_eq(rd_kafka_conf_set(conf, "isolation.level",
                                               "read_committed", err,
                                               sizeof(err)),
                             RD_KAFKA_CONF_OK, "%s", err);
        }
        rk = rd_kafka_new(type, conf, err, sizeof(err));
        cr_assert_not_null(rk, "rd_kafka_new: %s", err);
        return rk;
}

/* Waits for the admin result of type on queue; checks its topic results. */
static void admin_wait(rd_kafka_queue_t *queue, rd_kafka_event_type_t type,
                       const char *what)
{
        rd_kafka_event_t *ev = rd_kafka_queue_poll(queue, TIMEOUT_MS + 5000);
        const rd_kafka_topic_result_t **results;
        size_t n, i;

        cr_assert_not_null(ev, "%s: no result within the timeout", what);
        cr_assert_eq(rd_kafka_event_type(ev), type);
        cr_assert_eq(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR,
                     "%s: %s", what, rd_kafka_event_error_string(ev));
        if (type == RD_KAFKA_EVENT_CREATETOPICS_RESULT)
                results = rd_kafka_CreateTopics_result_topics(
                    rd_kafka_event_CreateTopics_result(ev), &n);
        else
                results = rd_kafka_DeleteTopics_result_topics(
                    rd_kafka_event_DeleteTopics_result(ev), &n);
        for (i = 0; i < n; i++)
                cr_assert_eq(rd_kafka_topic_result_error(results[i]),
                             RD_KAFKA_RESP_ERR_NO_ERROR, "%s %s: %s", what,
                             rd_kafka_topic_result_name(results[i]),
                             rd_kafka_topic_result_error_string(results[i]));
        rd_kafka_event_destroy(ev);
}

static void create_topic(rd_kafka_t *rk, const char *name)
{
        rd_kafka_NewTopic_t *topic =
            rd_kafka_NewTopic_new(name, 1, 1, err, sizeof(err));
        rd_kafka_AdminOptions_t *opts =
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);

        cr_assert_not_null(topic, "%s", err);
        cr_assert_eq(rd_kafka_AdminOptions_set_operation_timeout(
                         opts, TIMEOUT_MS, err, sizeof(err)),
                     RD_KAFKA_RESP_ERR_NO_ERROR, "%s", err);
        rd_kafka_CreateTopics(rk, &topic, 1, opts, queue);
        admin_wait(queue, RD_KAFKA_EVENT_CREATETOPICS_RESULT, "create topic");
        rd_kafka_queue_destroy(queue);
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_NewTopic_destroy(topic);
}

static void delete_topic(rd_kafka_t *rk, const char *name)
{
        rd_kafka_DeleteTopic_t *topic = rd_kafka_DeleteTopic_new(name);
        rd_kafka_AdminOptions_t *opts =
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
        rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);

        rd_kafka_AdminOptions_set_operation_timeout(opts, TIMEOUT_MS, err,
                                                    sizeof(err));
        rd_kafka_DeleteTopics(rk, &topic, 1, opts, queue);
        admin_wait(queue, RD_KAFKA_EVENT_DELETETOPICS_RESULT, "delete topic");
        rd_kafka_queue_destroy(queue);
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_DeleteTopic_destroy(topic);
}

/* Messages: one per stream (key = stream name), then an identity.v1
 * message (key "identity.v1"). */
#define NMSG (ZZ_STREAM__COUNT + 1)

Test(broker, every_schema_round_trips, .timeout = 180)
{
        zz_codec_t *codec = zz_codec_new(err, sizeof(err));
        zz_codec_buf_t bufs[NMSG];
        avro_value_t values[NMSG];
        int received[NMSG] = {0};
        char topic[128], group[160];
        rd_kafka_t *producer, *consumer;
        rd_kafka_topic_partition_list_t *parts;
        avro_value_iface_t *v1_iface;
        int i, got = 0;
        struct timespec t0, now;

        cr_assert_not_null(codec, "%s", err);
        memset(bufs, 0, sizeof(bufs));
        zz_test_env_init(&env, "broker");
        snprintf(topic, sizeof(topic), "%scodec", env.prefix);
        snprintf(group, sizeof(group), "%s", env.reader_group);

        for (i = 0; i < ZZ_STREAM__COUNT; i++) {
                uint64_t state = 77 + (uint64_t)i;
                cr_assert_eq(zz_codec_value_new(codec, i, &values[i]), 0);
                fill(&values[i], &state, 0);
                cr_assert_eq(zz_codec_encode(codec, i, &values[i], &bufs[i],
                                             err, sizeof(err)),
                             0, "%s", err);
        }
        {
                uint64_t state = 5;
                v1_iface = avro_generic_class_from_schema(
                    zz_codec_schema_version(codec, ZZ_STREAM_IDENTITY, 1));
                cr_assert_not_null(v1_iface);
                cr_assert_eq(
                    avro_generic_value_new(v1_iface, &values[ZZ_STREAM__COUNT]),
                    0);
                fill(&values[ZZ_STREAM__COUNT], &state, 0);
                cr_assert_eq(zz_codec_encode(codec, ZZ_STREAM_IDENTITY,
                                             &values[ZZ_STREAM__COUNT],
                                             &bufs[ZZ_STREAM__COUNT], err,
                                             sizeof(err)),
                             0, "%s", err);
        }

        producer = client(RD_KAFKA_PRODUCER, NULL);
        create_topic(producer, topic);
        for (i = 0; i < NMSG; i++) {
                const char *key =
                    i < ZZ_STREAM__COUNT ? zz_stream_name(i) : "identity.v1";
                rd_kafka_resp_err_t rc = rd_kafka_producev(
                    producer, RD_KAFKA_V_TOPIC(topic),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(key, strlen(key)),
                    RD_KAFKA_V_VALUE(bufs[i].data, bufs[i].len),
                    RD_KAFKA_V_END);
                cr_assert_eq(rc, RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s",
                             rd_kafka_err2str(rc));
        }
        cr_assert_eq(rd_kafka_flush(producer, TIMEOUT_MS),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
        cr_assert_eq(delivery_errors, 0);

        consumer = client(RD_KAFKA_CONSUMER, group);
        parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, topic, 0)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        cr_assert_eq(rd_kafka_assign(consumer, parts),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_topic_partition_list_destroy(parts);

        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (got < NMSG) {
                rd_kafka_message_t *msg = rd_kafka_consumer_poll(consumer, 500);
                avro_value_t decoded;
                zz_codec_err_t code;
                zz_stream_t stream;
                int idx = -1;

                clock_gettime(CLOCK_MONOTONIC, &now);
                cr_assert_lt(now.tv_sec - t0.tv_sec, TIMEOUT_MS / 1000,
                             "only %d of %d messages within the timeout", got,
                             NMSG);
                if (msg == NULL)
                        continue;
                if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        rd_kafka_message_destroy(msg);
                        continue;
                }
                cr_assert_eq(msg->err, RD_KAFKA_RESP_ERR_NO_ERROR, "%s",
                             rd_kafka_message_errstr(msg));
                for (i = 0; i < NMSG; i++) {
                        const char *key = i < ZZ_STREAM__COUNT
                                              ? zz_stream_name(i)
                                              : "identity.v1";
                        if (msg->key_len == strlen(key) &&
                            memcmp(msg->key, key, msg->key_len) == 0)
                                idx = i;
                }
                cr_assert_geq(idx, 0, "unexpected key");
                stream = idx < ZZ_STREAM__COUNT ? (zz_stream_t)idx
                                                : ZZ_STREAM_IDENTITY;
                cr_assert_eq(zz_codec_decode(codec, stream, msg->payload,
                                             msg->len, &decoded, &code, err,
                                             sizeof(err)),
                             0, "%s: %s", zz_stream_name(stream), err);
                if (idx < ZZ_STREAM__COUNT) {
                        cr_expect(avro_value_equal(&values[idx], &decoded),
                                  "%s differs after the broker",
                                  zz_stream_name(stream));
                } else {
                        int version = 0;
                        cr_expect_eq(zz_codec_peek(codec, msg->payload,
                                                   msg->len, NULL, &version,
                                                   NULL),
                                     0);
                        cr_expect_eq(version, 1);
                        cr_expect_eq(
                            avro_value_get_schema(&decoded),
                            zz_codec_schema(codec, ZZ_STREAM_IDENTITY));
                }
                /* Every message is also refused on another stream. */
                cr_expect_eq(zz_codec_decode(codec,
                                             stream == ZZ_STREAM_PAYMENT
                                                 ? ZZ_STREAM_CONTROL
                                                 : ZZ_STREAM_PAYMENT,
                                             msg->payload, msg->len, &decoded,
                                             &code, err, sizeof(err)),
                             -1);
                cr_expect_eq(code, ZZ_CODEC_ERR_WRONG_STREAM);
                received[idx]++;
                got++;
                rd_kafka_message_destroy(msg);
        }
        for (i = 0; i < NMSG; i++)
                cr_expect_eq(received[i], 1, "message %d", i);

        rd_kafka_consumer_close(consumer);
        rd_kafka_destroy(consumer);
        delete_topic(producer, topic);
        rd_kafka_destroy(producer);
        for (i = 0; i < NMSG; i++) {
                avro_value_decref(&values[i]);
                zz_codec_buf_free(&bufs[i]);
        }
        avro_value_iface_decref(v1_iface);
        zz_codec_destroy(codec);
}
