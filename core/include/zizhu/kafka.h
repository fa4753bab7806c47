/*
 * kafka.h — the librdkafka side of the configuration: applying the
 * bootstrap servers and every -X / kafka.* property to a client's
 * configuration, and reading a partition's ends. Part of the wire layer,
 * so that the base layer (config.h) links no Kafka client.
 *
 * Thread: any thread, on its own rd_kafka_conf_t / client handle.
 */
#ifndef ZIZHU_KAFKA_H
#define ZIZHU_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "zizhu/config.h"

/* Sets bootstrap.servers and then every librdkafka property of the
 * configuration (-X, kafka.* in the file) on conf, so an operator's
 * property overrides whatever the caller set before. 0, or -1 with errstr
 * naming the property librdkafka refused. */
int zz_config_apply_kafka(const zz_config_t *config, rd_kafka_conf_t *conf,
                          char *errstr, size_t errstr_size);

/* rd_kafka_query_watermark_offsets, retrying while the partition has no
 * leader (right after the topic was created) until timeout_ms. */
rd_kafka_resp_err_t zz_kafka_watermarks(rd_kafka_t *rk, const char *topic,
                                        int32_t partition, int64_t *low,
                                        int64_t *high, int timeout_ms);

/* The number of partitions of topic, from the broker's metadata. A topic
 * the broker does not list yet (just created) is asked for again until
 * timeout_ms has passed. -1 with errstr ("could not read metadata of
 * TOPIC: REASON") when the broker does not answer or has no such topic. */
int zz_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms,
                             char *errstr, size_t errstr_size);

/* At most this many streams per zz_kafka_check_retention call. */
#define ZZ_KAFKA_RETENTION_MAX 16
#define ZZ_KAFKA_RETENTION_HINT                                                \
        "hint: set retention.ms=-1 on it (zizhu topics apply), or set "        \
        "audit_retention_ms to the retention the audit period needs"

/* The start-up check of the programs whose input an audit replays (the
 * subsidy and settlement workers, zizhu replay): reads the configuration
 * of the topics of streams ("identity", ...: identity is every
 * department's topic, zz_config_topic_streams) with DescribeConfigs,
 * through a client of its own. A topic is refused when its retention.ms is not
 * -1 and shorter than audit_retention_ms (-1: the log must be kept for ever),
 * or when its retention.bytes is not -1. 0 when all suit the audit; 1 with
 * the operator's message and a hint line in errstr (a configuration error,
 * exit 2); -1 with errstr when the broker refused the request. No answer
 * within 10 s (librdkafka's mock cluster answers no DescribeConfigs) is a
 * warning and 0: the program's own connection then reports a broker that
 * is down. */
int zz_kafka_check_retention(const zz_config_t *config,
                             const char *const *streams, size_t n, char *errstr,
                             size_t errstr_size);

#endif
