/*
 * feed_position.c — the positions a CLOSE_PERIOD command carries: the end
 * of every input partition when the command is issued, or positions given
 * by hand (tests, audits).
 *
 * The settlement worker settles exactly the input messages before these
 * positions, so the boundary of a period is a fact in the control topic,
 * not something derived from clocks later (see settle_worker.h).
 */
#include "zizhu/feed.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "zizhu/config.h"
#include "zizhu/kafka.h"

static const char *const input_streams[] = {"identity", "enrollment",
                                            "payment"};

/* A decimal number in s[0..len), within 0..max. -1 when not one. */
static int parse_number(const char *s, size_t len, long long max,
                        long long *out)
{
        char buf[24];
        char *end;
        long long v;

        if (len == 0 || len >= sizeof(buf) || s[0] < '0' || s[0] > '9')
                return -1;
        memcpy(buf, s, len);
        buf[len] = '\0';
        errno = 0;
        v = strtoll(buf, &end, 10);
        if (errno != 0 || *end != '\0' || v < 0 || v > max)
                return -1;
        *out = v;
        return 0;
}

/* One "topic:partition:offset" element, s[0..len). */
static int parse_one(const char *s, size_t len, zz_feed_position_t *p)
{
        const char *c2 = NULL, *c1 = NULL, *c;
        long long part, off;
        size_t tlen;

        for (c = s + len; c > s; c--) {
                if (c[-1] != ':')
                        continue;
                if (c2 == NULL) {
                        c2 = c - 1;
                } else {
                        c1 = c - 1;
                        break;
                }
        }
        if (c1 == NULL)
                return -1;
        tlen = (size_t)(c1 - s);
        if (tlen == 0 || tlen >= sizeof(p->topic))
                return -1;
        for (c = s; c < c1; c++) {
                /* the characters Kafka allows in a topic name */
                if (strchr(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789._-",
                        *c) == NULL)
                        return -1;
        }
        if (parse_number(c1 + 1, (size_t)(c2 - c1 - 1), INT32_MAX, &part) !=
                0 ||
            parse_number(c2 + 1, (size_t)(s + len - c2 - 1), INT64_MAX, &off) !=
                0)
                return -1;
        memcpy(p->topic, s, tlen);
        p->topic[tlen] = '\0';
        p->partition = (int32_t)part;
        p->offset = (int64_t)off;
        return 0;
}

int zz_feed_positions_parse(const char *s, zz_feed_position_t **out, size_t *n,
                            char *errstr, size_t errstr_size)
{
        zz_feed_position_t *pos;
        size_t cap = 1, count = 0, i;
        const char *p;

        *out = NULL;
        *n = 0;
        if (s == NULL || s[0] == '\0')
                return 0;
        for (p = s; *p != '\0'; p++)
                cap += *p == ',';
        pos = calloc(cap, sizeof(*pos));
        if (pos == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (p = s;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);

                if (parse_one(p, len, &pos[count]) != 0) {
                        snprintf(errstr, errstr_size,
                                 "position %zu is not topic:partition:offset "
                                 "(a topic name, a partition and an offset "
                                 ">= 0)",
                                 count + 1);
                        free(pos);
                        return -1;
                }
                for (i = 0; i < count; i++) {
                        if (pos[i].partition == pos[count].partition &&
                            strcmp(pos[i].topic, pos[count].topic) == 0) {
                                snprintf(errstr, errstr_size,
                                         "positions %zu and %zu name the "
                                         "same partition",
                                         i + 1, count + 1);
                                free(pos);
                                return -1;
                        }
                }
                count++;
                if (comma == NULL)
                        break;
                p = comma + 1;
        }
        *out = pos;
        *n = count;
        return 0;
}

/* A short-lived handle for metadata and ListOffsets only. */
static rd_kafka_t *probe_new(const zz_config_t *config, char *errstr,
                             size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        char err[512];

        if (zz_config_apply_kafka(config, conf, errstr, errstr_size) != 0)
                goto fail;
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (rk == NULL) {
                snprintf(errstr, errstr_size, "could not create a client: %s",
                         err);
                goto fail;
        }
        return rk;
fail:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

static int cmp_position(const void *a, const void *b)
{
        const zz_feed_position_t *x = a, *y = b;
        int c = strcmp(x->topic, y->topic);

        if (c != 0)
                return c;
        return (x->partition > y->partition) - (x->partition < y->partition);
}

int zz_feed_positions_query(const zz_config_t *config, int timeout_ms,
                            zz_feed_position_t **out, size_t *n, char *errstr,
                            size_t errstr_size)
{
        rd_kafka_t *rk;
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_resp_err_t err;
        zz_feed_position_t *pos = NULL;
        size_t count = 0, cap = 0, s;
        zz_config_streams_t ts;
        int rc = -1, t, p;

        *out = NULL;
        *n = 0;
        rk = probe_new(config, errstr, errstr_size);
        if (rk == NULL)
                return -1;
        /* All topics: asking for one by name could create it. */
        err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(errstr, errstr_size,
                         "could not read the cluster's metadata: %s",
                         rd_kafka_err2str(err));
                goto done;
        }
        zz_config_topic_streams(
            input_streams, sizeof(input_streams) / sizeof(input_streams[0]),
            &ts);
        for (s = 0; s < ts.n; s++) {
                const rd_kafka_metadata_topic_t *mt = NULL;
                char topic[ZZ_FEED_TOPIC_SIZE];

                zz_config_topic(config, ts.name[s], topic, sizeof(topic));
                for (t = 0; t < md->topic_cnt; t++) {
                        if (strcmp(md->topics[t].topic, topic) == 0)
                                mt = &md->topics[t];
                }
                if (mt == NULL || mt->partition_cnt == 0) {
                        snprintf(errstr, errstr_size,
                                 "input topic %s does not exist", topic);
                        goto done;
                }
                if (mt->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        snprintf(errstr, errstr_size,
                                 "could not read the metadata of %s: %s", topic,
                                 rd_kafka_err2str(mt->err));
                        goto done;
                }
                if (count + (size_t)mt->partition_cnt > cap) {
                        size_t ncap = (count + (size_t)mt->partition_cnt) * 2;
                        zz_feed_position_t *np =
                            realloc(pos, ncap * sizeof(*pos));

                        if (np == NULL) {
                                snprintf(errstr, errstr_size, "out of memory");
                                goto done;
                        }
                        pos = np;
                        cap = ncap;
                }
                for (p = 0; p < mt->partition_cnt; p++) {
                        int32_t part = mt->partitions[p].id;
                        int64_t low = 0, high = 0;

                        err = zz_kafka_watermarks(rk, topic, part, &low, &high,
                                                  timeout_ms);
                        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                                snprintf(errstr, errstr_size,
                                         "could not read the end of %s [%d]: "
                                         "%s",
                                         topic, (int)part,
                                         rd_kafka_err2str(err));
                                goto done;
                        }
                        memset(&pos[count], 0, sizeof(pos[count]));
                        snprintf(pos[count].topic, sizeof(pos[count].topic),
                                 "%s", topic);
                        pos[count].partition = part;
                        pos[count].offset = high;
                        count++;
                }
        }
        qsort(pos, count, sizeof(*pos), cmp_position);
        *out = pos;
        *n = count;
        pos = NULL;
        rc = 0;
done:
        free(pos);
        if (md != NULL)
                rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(rk);
        return rc;
}
