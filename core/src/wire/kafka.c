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

int zz_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms,
                             char *errstr, size_t errstr_size)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_resp_err_t err;
        int n = -1;

        if (rkt == NULL) {
                snprintf(errstr, errstr_size,
                         "could not read metadata of %s: %s", topic,
                         rd_kafka_err2str(rd_kafka_last_error()));
                return -1;
        }
        err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        rd_kafka_topic_destroy(rkt);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
            md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topics[0].partition_cnt > 0)
                n = md->topics[0].partition_cnt;
        else
                snprintf(errstr, errstr_size,
                         "could not read metadata of %s: %s", topic,
                         err != RD_KAFKA_RESP_ERR_NO_ERROR
                             ? rd_kafka_err2str(err)
                         : md->topic_cnt == 1 && md->topics[0].err
                             ? rd_kafka_err2str(md->topics[0].err)
                             : "no partitions");
        if (md != NULL)
                rd_kafka_metadata_destroy(md);
        return n;
}
