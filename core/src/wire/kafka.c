/*
 * kafka.c — configuration applied to librdkafka, partition ends (see
 * kafka.h).
 */
#include "zizhu/kafka.h"

#include <stdio.h>
#include <time.h>

int zz_config_apply_kafka(const zz_config_t *config, rd_kafka_conf_t *conf,
                          char *errstr, size_t errstr_size)
{
        size_t i, n = zz_config_kafka_count(config);

        if (rd_kafka_conf_set(conf, "bootstrap.servers",
                              zz_config_bootstrap(config), errstr,
                              errstr_size) != RD_KAFKA_CONF_OK)
                return -1;
        for (i = 0; i < n; i++) {
                const char *key, *value;

                zz_config_kafka_get(config, i, &key, &value);
                if (rd_kafka_conf_set(conf, key, value, errstr, errstr_size) !=
                    RD_KAFKA_CONF_OK)
                        return -1;
        }
        return 0;
}

/* The end offset of one partition. Right after a topic is created its
 * partitions may have no leader for a moment (NOT_LEADER_FOR_PARTITION,
 * LEADER_NOT_AVAILABLE): those are retried until the timeout. */
rd_kafka_resp_err_t zz_kafka_watermarks(rd_kafka_t *rk, const char *topic,
                                        int32_t part, int64_t *low,
                                        int64_t *high, int timeout_ms)
{
        rd_kafka_resp_err_t err;
        int waited = 0;

        for (;;) {
                err = rd_kafka_query_watermark_offsets(rk, topic, part, low,
                                                       high, timeout_ms);
                if ((err != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
                     err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) ||
                    waited >= timeout_ms)
                        return err;
                nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
                waited += 100;
        }
}

/* One metadata request for topic: the partition count, 0 when the broker
 * does not know the topic (yet), -1 on another error (*err, *topic_err). */
static int partition_count_once(rd_kafka_t *rk, rd_kafka_topic_t *rkt,
                                int timeout_ms, rd_kafka_resp_err_t *err,
                                rd_kafka_resp_err_t *topic_err)
{
        const rd_kafka_metadata_t *md = NULL;
        int n = -1;

        *topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
        *err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        if (*err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
                *topic_err = md->topics[0].err;
                if (*topic_err == RD_KAFKA_RESP_ERR_NO_ERROR)
                        n = md->topics[0].partition_cnt;
                else if (*topic_err ==
                             RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                         *topic_err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
                        n = 0;
        }
        if (md != NULL)
                rd_kafka_metadata_destroy(md);
        return n;
}

/* Right after a topic is created the broker may not list it for a moment
 * (UNKNOWN_TOPIC_OR_PART, LEADER_NOT_AVAILABLE): those answers are asked
 * again until timeout_ms has passed. */
int zz_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms,
                             char *errstr, size_t errstr_size)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        rd_kafka_resp_err_t err, topic_err;
        int n, waited = 0;

        if (rkt == NULL) {
                snprintf(errstr, errstr_size,
                         "could not read metadata of %s: %s", topic,
                         rd_kafka_err2str(rd_kafka_last_error()));
                return -1;
        }
        while ((n = partition_count_once(rk, rkt, timeout_ms, &err,
                                         &topic_err)) == 0 &&
               waited < timeout_ms) {
                nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
                waited += 100;
        }
        rd_kafka_topic_destroy(rkt);
        if (n > 0)
                return n;
        snprintf(errstr, errstr_size, "could not read metadata of %s: %s",
                 topic,
                 err != RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_err2str(err)
                 : topic_err != RD_KAFKA_RESP_ERR_NO_ERROR
                     ? rd_kafka_err2str(topic_err)
                     : "no partitions");
        return -1;
}
