/*
 * kafka.c — configuration applied to librdkafka, partition ends (see
 * kafka.h).
 */
#include "zizhu/kafka.h"

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
