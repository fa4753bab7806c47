/*
 * kafka.c — configuration applied to librdkafka, partition ends, the
 * audit's retention check (see kafka.h).
 */
#include "zizhu/kafka.h"
#include "zizhu/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* "7 days", "36 hours", "90 minutes", "45 s" or "1500 ms". */
static void duration(long long ms, char *buf, size_t buf_size)
{
        static const struct {
                long long ms;
                const char *one, *many;
        } units[] = {{86400000LL, "day", "days"},
                     {3600000LL, "hour", "hours"},
                     {60000LL, "minute", "minutes"},
                     {1000LL, "second", "seconds"}};
        size_t i;

        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (ms >= units[i].ms && ms % units[i].ms == 0) {
                        long long n = ms / units[i].ms;

                        snprintf(buf, buf_size, "%lld %s", n,
                                 n == 1 ? units[i].one : units[i].many);
                        return;
                }
        }
        snprintf(buf, buf_size, "%lld ms", ms);
}

/* The value of name among the entries, or NULL. */
static const char *config_value(const rd_kafka_ConfigResource_t *res,
                                const char *name)
{
        size_t i, n;
        const rd_kafka_ConfigEntry_t **entries =
            rd_kafka_ConfigResource_configs(res, &n);

        for (i = 0; i < n; i++) {
                if (strcmp(rd_kafka_ConfigEntry_name(entries[i]), name) == 0)
                        return rd_kafka_ConfigEntry_value(entries[i]);
        }
        return NULL;
}

/* 0 when the topic's retention suits the audit, 1 with the operator's
 * message in errstr when it does not. */
static int judge_retention(const rd_kafka_ConfigResource_t *res,
                           long long min_ms, char *errstr, size_t errstr_size)
{
        const char *topic = rd_kafka_ConfigResource_name(res);
        const char *ms_s = config_value(res, "retention.ms");
        const char *bytes_s = config_value(res, "retention.bytes");
        long long ms = ms_s != NULL ? strtoll(ms_s, NULL, 10) : -1;
        long long bytes = bytes_s != NULL ? strtoll(bytes_s, NULL, 10) : -1;
        char kept[64], need[128];

        if (min_ms < 0)
                snprintf(need, sizeof(need), "the whole log");
        else {
                duration(min_ms, kept, sizeof(kept));
                snprintf(need, sizeof(need), "%s (audit_retention_ms=%lld)",
                         kept, min_ms);
        }
        if (ms >= 0 && (min_ms < 0 || ms < min_ms)) {
                duration(ms, kept, sizeof(kept));
                snprintf(errstr, errstr_size,
                         "topic %s keeps data for %s (retention.ms=%lld): an "
                         "audit replay needs %s\n%s",
                         topic, kept, ms, need, ZZ_KAFKA_RETENTION_HINT);
                return 1;
        }
        if (bytes >= 0) {
                snprintf(errstr, errstr_size,
                         "topic %s keeps at most %lld bytes of data "
                         "(retention.bytes=%lld): an audit replay needs %s\n"
                         "hint: set retention.bytes=-1 on it (zizhu topics "
                         "apply)",
                         topic, bytes, bytes, need);
                return 1;
        }
        return 0;
}

/* DescribeConfigs of the topics, waiting up to timeout_ms for the result
 * event; NULL with errstr when the request could not be made. */
static rd_kafka_event_t *describe_topics(rd_kafka_t *rk,
                                         const char *const *topics, size_t n,
                                         int timeout_ms, char *errstr,
                                         size_t errstr_size)
{
        rd_kafka_ConfigResource_t *res[ZZ_CONFIG_STREAMS_MAX];
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_event_t *ev;
        size_t i;

        if (n > ZZ_CONFIG_STREAMS_MAX)
                n = ZZ_CONFIG_STREAMS_MAX;

        for (i = 0; i < n; i++)
                res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC,
                                                     topics[i]);
        rd_kafka_DescribeConfigs(rk, res, n, NULL, q);
        rd_kafka_ConfigResource_destroy_array(res, n);
        ev = rd_kafka_queue_poll(q, timeout_ms);
        rd_kafka_queue_destroy(q);
        if (ev == NULL)
                snprintf(errstr, errstr_size,
                         "could not read the configuration of the topics: "
                         "no answer from the broker");
        else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(errstr, errstr_size,
                         "could not read the configuration of the topics: %s",
                         rd_kafka_event_error_string(ev));
                rd_kafka_event_destroy(ev);
                ev = NULL;
        }
        return ev;
}

/* Judges every topic of the answer; the first refusal or error wins. */
static int judge_all(rd_kafka_event_t *ev, long long min_ms, char *errstr,
                     size_t errstr_size)
{
        size_t i, n;
        const rd_kafka_ConfigResource_t **res =
            rd_kafka_DescribeConfigs_result_resources(
                rd_kafka_event_DescribeConfigs_result(ev), &n);

        for (i = 0; i < n; i++) {
                rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(res[i]);

                /* a missing topic is the program's own error to report */
                if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                        continue;
                if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        snprintf(errstr, errstr_size,
                                 "could not read the configuration of topic "
                                 "%s: %s",
                                 rd_kafka_ConfigResource_name(res[i]),
                                 rd_kafka_ConfigResource_error_string(res[i]));
                        return -1;
                }
                if (judge_retention(res[i], min_ms, errstr, errstr_size) != 0)
                        return 1;
        }
        return 0;
}

/* No answer at all: librdkafka's mock cluster (the stack's fallback
 * without Java) answers no DescribeConfigs, and an unreachable broker is
 * the program's own error to report. A refusal is an answer (-1). */
static int no_answer(const char *errstr)
{
        if (strstr(errstr, "no answer") == NULL)
                return -1;
        zz_log_warn("retention of the audited topics not checked: the broker "
                    "did not answer DescribeConfigs (librdkafka's mock "
                    "cluster?)");
        return 0;
}

int zz_kafka_check_retention(const zz_config_t *config,
                             const char *const *streams, size_t n, char *errstr,
                             size_t errstr_size)
{
        char names[ZZ_CONFIG_STREAMS_MAX][256];
        const char *topics[ZZ_CONFIG_STREAMS_MAX];
        zz_config_streams_t ts;
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_event_t *ev;
        rd_kafka_t *rk;
        size_t i;
        int rc;

        if (n > ZZ_KAFKA_RETENTION_MAX)
                n = ZZ_KAFKA_RETENTION_MAX;
        /* identity: every department's topic */
        n = zz_config_topic_streams(streams, n, &ts);
        for (i = 0; i < n; i++)
                topics[i] = zz_config_topic(config, ts.name[i], names[i],
                                            sizeof(names[i]));
        if (zz_config_apply_kafka(config, conf, errstr, errstr_size) != 0) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
        if (rk == NULL) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        ev = describe_topics(rk, topics, n, 10000, errstr, errstr_size);
        rc = ev == NULL ? no_answer(errstr)
                        : judge_all(ev, zz_config_audit_retention_ms(config),
                                    errstr, errstr_size);
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        rd_kafka_destroy(rk);
        return rc;
}
