/*
 * zz-bench-kafka-ceiling.c — the Kafka ceiling: messages per second that a
 * plain librdkafka consumer reads from the input topics of a run (identity,
 * enrollment, payment, control under the run's prefix) when it does
 * nothing with them. Same client settings the worker relies on
 * (read_committed, no offset commits); every partition is assigned from
 * the beginning and read to its end (partition EOF).
 *
 *   zz-bench-kafka-ceiling --prefix bench1700000000. [-X key=value]
 *
 * Prints "name value" lines (messages, bytes, seconds, per-second rates)
 * for tests/bench/run.sh, and progress on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "bench_common.h"
#include "zizhu/config.h"

static const char *const zz_inputs[] = {"identity", "enrollment", "payment",
                                        "control"};

static int set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
        char errstr[512];

        if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
                fprintf(stderr, "zz-bench-kafka-ceiling: %s\n", errstr);
                return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        const char *bootstrap = getenv("ZIZHU_BOOTSTRAP");
        const char *prefix = NULL;
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        rd_kafka_topic_partition_list_t *parts;
        const struct rd_kafka_metadata *md = NULL;
        char errstr[512], group[64];
        long long msgs = 0, bytes = 0;
        int eofs = 0;
        double t0, t_end, t_report;
        zz_config_streams_t streams;
        size_t i;
        int a;

        zz_bench_set_name("kafka-ceiling");
        if (bootstrap == NULL || bootstrap[0] == '\0')
                bootstrap = "127.0.0.1:19092";
        snprintf(group, sizeof(group), "zz-bench-ceiling-%d", (int)getpid());
        if (set(conf, "bootstrap.servers", bootstrap) != 0 ||
            set(conf, "group.id", group) != 0 ||
            set(conf, "enable.auto.commit", "false") != 0 ||
            set(conf, "enable.partition.eof", "true") != 0 ||
            set(conf, "isolation.level", "read_committed") != 0)
                return 2;
        for (a = 1; a < argc; a++) {
                if (strcmp(argv[a], "--prefix") == 0 && a + 1 < argc) {
                        prefix = argv[++a];
                } else if (strcmp(argv[a], "-X") == 0 && a + 1 < argc) {
                        char kv[512];
                        char *eq;

                        zz_bench_copy(kv, sizeof(kv), argv[++a]);
                        eq = strchr(kv, '=');
                        if (eq == NULL)
                                return 2;
                        *eq = '\0';
                        if (set(conf, kv, eq + 1) != 0)
                                return 2;
                } else {
                        fprintf(stderr, "usage: zz-bench-kafka-ceiling "
                                        "--prefix P [-X key=value]\n");
                        return 2;
                }
        }
        if (prefix == NULL) {
                fprintf(stderr, "zz-bench-kafka-ceiling: --prefix needed\n");
                return 2;
        }
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (rk == NULL) {
                fprintf(stderr, "zz-bench-kafka-ceiling: %s\n", errstr);
                return 1;
        }
        rd_kafka_poll_set_consumer(rk);
        if (rd_kafka_metadata(rk, 1, NULL, &md, 10000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "zz-bench-kafka-ceiling: no metadata\n");
                rd_kafka_destroy(rk);
                return 1;
        }
        parts = rd_kafka_topic_partition_list_new(16);
        /* identity: every department's topic */
        zz_config_topic_streams(
            zz_inputs, sizeof(zz_inputs) / sizeof(zz_inputs[0]), &streams);
        for (i = 0; i < streams.n; i++) {
                char name[256];
                int t, p;

                snprintf(name, sizeof(name), "%s%s", prefix, streams.name[i]);
                for (t = 0; t < md->topic_cnt; t++) {
                        if (strcmp(md->topics[t].topic, name) != 0)
                                continue;
                        for (p = 0; p < md->topics[t].partition_cnt; p++)
                                rd_kafka_topic_partition_list_add(
                                    parts, name, md->topics[t].partitions[p].id)
                                    ->offset = RD_KAFKA_OFFSET_BEGINNING;
                }
        }
        rd_kafka_metadata_destroy(md);
        if (parts->cnt == 0) {
                fprintf(stderr,
                        "zz-bench-kafka-ceiling: no input topic with prefix "
                        "%s\n",
                        prefix);
                rd_kafka_topic_partition_list_destroy(parts);
                rd_kafka_destroy(rk);
                return 1;
        }
        zz_bench_progress("reading %d partitions from the beginning",
                          parts->cnt);
        t0 = zz_bench_now();
        t_report = t0;
        rd_kafka_assign(rk, parts);
        t_end = t0;
        while (eofs < parts->cnt) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
                double now;

                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        eofs++;
                        t_end = zz_bench_now();
                } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        fprintf(stderr, "zz-bench-kafka-ceiling: %s\n",
                                rd_kafka_message_errstr(m));
                } else {
                        msgs++;
                        bytes += (long long)m->len;
                }
                rd_kafka_message_destroy(m);
                now = zz_bench_now();
                if (now - t_report >= 5.0) {
                        zz_bench_progress("%lld messages, %.0f/s", msgs,
                                          (double)msgs / (now - t0));
                        t_report = now;
                }
        }
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        zz_bench_progress("%lld messages in %.2f s", msgs, t_end - t0);
        printf("kafka_messages %lld\n", msgs);
        printf("kafka_bytes %lld\n", bytes);
        printf("kafka_seconds %.3f\n", t_end - t0);
        printf("kafka_msgs_per_s %.0f\n",
               t_end > t0 ? (double)msgs / (t_end - t0) : 0.0);
        printf("kafka_mb_per_s %.1f\n",
               t_end > t0 ? (double)bytes / 1e6 / (t_end - t0) : 0.0);
        return 0;
}
