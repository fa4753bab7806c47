/*
 * zz-bench-topics.c — creates or deletes the topics of a benchmark run:
 * every topic of deploy/local/topics.txt under the run's own prefix, with
 * the partitions and configuration given there, through the Admin API (one
 * request instead of one JVM per topic as deploy/local/kafka.sh does).
 *
 *   zz-bench-topics create --prefix bench1700000000. [--file topics.txt]
 *   zz-bench-topics delete --prefix bench1700000000.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "bench_common.h"

#define ZZ_BENCH_MAX_TOPICS 32

struct topic_line {
        char name[128];
        int partitions;
        char config[256]; /* "-" or key=value[,key=value] */
};

static int read_topics(const char *path, struct topic_line *out, size_t *n,
                       char *errstr, size_t errstr_size)
{
        FILE *fp = fopen(path, "r");
        char line[512];

        *n = 0;
        if (fp == NULL) {
                snprintf(errstr, errstr_size, "could not open %s", path);
                return -1;
        }
        while (fgets(line, sizeof(line), fp) != NULL &&
               *n < ZZ_BENCH_MAX_TOPICS) {
                struct topic_line *t = &out[*n];

                if (line[0] == '#' || line[0] == '\n')
                        continue;
                if (sscanf(line, "%127s %d %255s", t->name, &t->partitions,
                           t->config) == 3 &&
                    t->partitions > 0)
                        (*n)++;
        }
        fclose(fp);
        return 0;
}

/* Waits for an admin result event of type want; NULL on timeout. */
static rd_kafka_event_t *wait_result(rd_kafka_queue_t *q, int want)
{
        rd_kafka_event_t *ev;

        for (;;) {
                ev = rd_kafka_queue_poll(q, 60000);
                if (ev == NULL)
                        return NULL;
                if (rd_kafka_event_type(ev) == want)
                        return ev;
                rd_kafka_event_destroy(ev);
        }
}

static int create_topics(rd_kafka_t *rk, const char *prefix,
                         const struct topic_line *ts, size_t n)
{
        rd_kafka_NewTopic_t *nts[ZZ_BENCH_MAX_TOPICS];
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_event_t *ev;
        const rd_kafka_CreateTopics_result_t *res;
        const rd_kafka_topic_result_t **trs;
        char errstr[512];
        size_t i, n_res;
        int rc = 0;

        for (i = 0; i < n; i++) {
                char full[256];

                snprintf(full, sizeof(full), "%.120s%.120s", prefix,
                         ts[i].name);
                nts[i] = rd_kafka_NewTopic_new(full, ts[i].partitions, 1,
                                               errstr, sizeof(errstr));
                if (nts[i] == NULL) {
                        fprintf(stderr, "zz-bench-topics: %s\n", errstr);
                        return -1;
                }
                if (strcmp(ts[i].config, "-") != 0) {
                        char conf[256];
                        char *save = NULL;
                        char *kv;

                        zz_bench_copy(conf, sizeof(conf), ts[i].config);
                        for (kv = strtok_r(conf, ",", &save); kv != NULL;
                             kv = strtok_r(NULL, ",", &save)) {
                                char *eq = strchr(kv, '=');

                                if (eq == NULL)
                                        continue;
                                *eq = '\0';
                                rd_kafka_NewTopic_set_config(nts[i], kv,
                                                             eq + 1);
                        }
                }
        }
        rd_kafka_CreateTopics(rk, nts, n, NULL, q);
        ev = wait_result(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
        if (ev == NULL) {
                fprintf(stderr, "zz-bench-topics: no answer to CreateTopics\n");
                rc = -1;
        } else {
                res = rd_kafka_event_CreateTopics_result(ev);
                trs = rd_kafka_CreateTopics_result_topics(res, &n_res);
                for (i = 0; i < n_res; i++) {
                        rd_kafka_resp_err_t err =
                            rd_kafka_topic_result_error(trs[i]);

                        if (err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                            err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                                fprintf(stderr,
                                        "zz-bench-topics: could not create "
                                        "%s: %s\n",
                                        rd_kafka_topic_result_name(trs[i]),
                                        rd_kafka_err2str(err));
                                rc = -1;
                        }
                }
                rd_kafka_event_destroy(ev);
        }
        for (i = 0; i < n; i++)
                rd_kafka_NewTopic_destroy(nts[i]);
        rd_kafka_queue_destroy(q);
        return rc;
}

static int delete_topics(rd_kafka_t *rk, const char *prefix,
                         const struct topic_line *ts, size_t n)
{
        rd_kafka_DeleteTopic_t *dts[ZZ_BENCH_MAX_TOPICS];
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_event_t *ev;
        size_t i;

        for (i = 0; i < n; i++) {
                char full[256];

                snprintf(full, sizeof(full), "%.120s%.120s", prefix,
                         ts[i].name);
                dts[i] = rd_kafka_DeleteTopic_new(full);
        }
        rd_kafka_DeleteTopics(rk, dts, n, NULL, q);
        ev = wait_result(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT);
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        for (i = 0; i < n; i++)
                rd_kafka_DeleteTopic_destroy(dts[i]);
        rd_kafka_queue_destroy(q);
        return ev != NULL ? 0 : -1;
}

int main(int argc, char **argv)
{
        const char *bootstrap = getenv("ZIZHU_BOOTSTRAP");
        const char *prefix = NULL;
        const char *file = ZZ_SOURCE_DIR "/deploy/local/topics.txt";
        struct topic_line ts[ZZ_BENCH_MAX_TOPICS];
        size_t n;
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        char errstr[512];
        int i, rc;

        if (bootstrap == NULL || bootstrap[0] == '\0')
                bootstrap = "127.0.0.1:19092";
        for (i = 2; i + 1 < argc; i += 2) {
                if (strcmp(argv[i], "--prefix") == 0)
                        prefix = argv[i + 1];
                else if (strcmp(argv[i], "--file") == 0)
                        file = argv[i + 1];
        }
        if (argc < 2 || prefix == NULL || prefix[0] == '\0' ||
            (strcmp(argv[1], "create") != 0 &&
             strcmp(argv[1], "delete") != 0)) {
                fprintf(stderr, "usage: zz-bench-topics create|delete --prefix "
                                "P [--file topics.txt]\n");
                return 2;
        }
        if (read_topics(file, ts, &n, errstr, sizeof(errstr)) != 0 || n == 0) {
                fprintf(stderr, "zz-bench-topics: %s\n",
                        n == 0 ? "no topics" : errstr);
                return 1;
        }
        conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "zz-bench-topics: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return 2;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (rk == NULL) {
                fprintf(stderr, "zz-bench-topics: %s\n", errstr);
                return 1;
        }
        if (strcmp(argv[1], "create") == 0)
                rc = create_topics(rk, prefix, ts, n);
        else
                rc = delete_topics(rk, prefix, ts, n);
        rd_kafka_destroy(rk);
        return rc == 0 ? 0 : 1;
}
