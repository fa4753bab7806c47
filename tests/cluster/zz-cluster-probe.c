/*
 * zz-cluster-probe — tries one Kafka operation with one role's client
 * settings and says whether the cluster allowed it (tests/cluster/acl.sh).
 *
 *   zz-cluster-probe [--config FILE] OP ARGS...
 *
 *   metadata                 the cluster's metadata (authenticates only)
 *   produce TOPIC            one message, idempotent producer (as zizhu-feed)
 *   consume TOPIC            partition 0 from the beginning, no group: one
 *                            message or the end of the partition (Fetch)
 *   offsets TOPIC            the watermarks of partition 0 (ListOffsets)
 *   (both first ask for the topic's metadata: a topic the role may not
 *   describe is reported as denied, not as unknown)
 *   describe-configs TOPIC   DescribeConfigs (the retention start-up check)
 *   alter-configs TOPIC      AlterConfigs retention.ms=-1, validate only
 *   create-topic TOPIC       CreateTopics, validate only (nothing created)
 *   ensure-topic TOPIC N     CreateTopics with N partitions for real; an
 *                            existing topic is fine (the test's setup)
 *   commit GROUP TOPIC       OffsetCommit of TOPIC [0] offset 0 in GROUP
 *                            (through the Admin API, see op_commit)
 *   txn TXID TOPIC           init_transactions with TXID, one message to
 *                            TOPIC in a transaction, commit (as the relays)
 *
 * The settings come from FILE (or $ZIZHU_CONFIG), a zizhu configuration:
 * bootstrap and kafka.* lines, e.g. .zz/cluster/clients/ROLE.kafka.conf.
 *
 * Prints one line and exits 0 "allowed", 1 "denied: REASON" (the broker
 * refused it for authorization), 3 "refused: REASON" (authentication or
 * TLS failed), 2 "error: ..." (anything else, which a test must not take
 * for either answer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "zizhu/config.h"
#include "zizhu/kafka.h"

#define TIMEOUT_MS  20000
#define METADATA_MS 10000

enum { ALLOWED = 0, DENIED = 1, ERROR = 2, REFUSED = 3 };

typedef struct probe_s {
        const zz_config_t *config;
        rd_kafka_resp_err_t first_err; /* first error_cb error, or delivery */
        int delivered;
        char errstr[512];
} probe_t;

static int is_authz(rd_kafka_resp_err_t err)
{
        return err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
               err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
               err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED ||
               err == RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
}

static int is_authn(rd_kafka_resp_err_t err)
{
        return err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
               err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
               err == RD_KAFKA_RESP_ERR__SSL;
}

static int verdict(rd_kafka_resp_err_t err, const char *what)
{
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                printf("allowed\n");
                return ALLOWED;
        }
        if (is_authz(err)) {
                printf("denied: %s\n", rd_kafka_err2name(err));
                return DENIED;
        }
        if (is_authn(err)) {
                printf("refused: %s\n", rd_kafka_err2name(err));
                return REFUSED;
        }
        printf("error: %s: %s\n", what, rd_kafka_err2str(err));
        return ERROR;
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        probe_t *p = opaque;
        rd_kafka_resp_err_t e = (rd_kafka_resp_err_t)err;
        char fatal[256];

        if (e == RD_KAFKA_RESP_ERR__FATAL)
                e = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        /* transport errors are retried by librdkafka; authentication and
         * authorization errors are the answer */
        if ((is_authz(e) || is_authn(e) ||
             e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) &&
            p->first_err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                p->first_err = e;
                snprintf(p->errstr, sizeof(p->errstr), "%s", reason);
        }
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        probe_t *p = opaque;

        (void)rk;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
                p->delivered++;
        else if (p->first_err == RD_KAFKA_RESP_ERR_NO_ERROR)
                p->first_err = m->err;
}

/* A client of the role: its settings, then extra (key, value) pairs up
 * to a NULL key. NULL after printing why. */
static rd_kafka_t *client(probe_t *p, rd_kafka_type_t type,
                          const char *const *extra)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        char errstr[512];
        size_t i;

        if (zz_config_apply_kafka(p->config, conf, errstr, sizeof(errstr)) != 0)
                goto fail;
        for (i = 0; extra != NULL && extra[i] != NULL; i += 2) {
                if (rd_kafka_conf_set(conf, extra[i], extra[i + 1], errstr,
                                      sizeof(errstr)) != RD_KAFKA_CONF_OK)
                        goto fail;
        }
        rd_kafka_conf_set_opaque(conf, p);
        rd_kafka_conf_set_error_cb(conf, error_cb);
        if (type == RD_KAFKA_PRODUCER)
                rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
        rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
        if (rk != NULL)
                return rk;
fail:
        rd_kafka_conf_destroy(conf);
        printf("error: client settings: %s\n", errstr);
        return NULL;
}

static int op_metadata(probe_t *p)
{
        static const char *const extra[] = {"log_level", "0", NULL};
        rd_kafka_t *rk = client(p, RD_KAFKA_PRODUCER, extra);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
        int waited;

        if (rk == NULL)
                return ERROR;
        /* a second at a time, serving the error callback in between: an
         * authentication or TLS failure is reported there, and the
         * metadata request would only time out */
        for (waited = 0; waited < METADATA_MS; waited += 1000) {
                err = rd_kafka_metadata(rk, 0, NULL, &md, 1000);
                if (md != NULL)
                        rd_kafka_metadata_destroy(md);
                md = NULL;
                rd_kafka_poll(rk, 0);
                if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                        break;
                if (p->first_err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                    p->first_err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
                        err = p->first_err;
                        break;
                }
        }
        rd_kafka_destroy(rk);
        return verdict(err, "metadata");
}

static int op_produce(probe_t *p, const char *topic)
{
        static const char *const extra[] = {"enable.idempotence",
                                            "true",
                                            "message.timeout.ms",
                                            "15000",
                                            "log_level",
                                            "0",
                                            NULL};
        rd_kafka_t *rk = client(p, RD_KAFKA_PRODUCER, extra);
        rd_kafka_resp_err_t err;

        if (rk == NULL)
                return ERROR;
        err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_VALUE("zz-cluster-probe", 16), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                rd_kafka_flush(rk, TIMEOUT_MS);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && p->delivered != 1)
                err = p->first_err != RD_KAFKA_RESP_ERR_NO_ERROR
                          ? p->first_err
                          : RD_KAFKA_RESP_ERR__TIMED_OUT;
        /* an idempotent producer refused its producer id fails fatally,
         * and its messages with _FATAL: the fatal error is the answer */
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                char fatal[256];

                err = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        }
        rd_kafka_destroy(rk);
        return verdict(err, "produce");
}

/* The topic's own error in the broker's metadata (TOPIC_AUTHORIZATION_FAILED
 * for a topic the principal may not DESCRIBE: librdkafka would otherwise
 * only say "unknown partition"). */
static rd_kafka_resp_err_t topic_metadata(probe_t *p, rd_kafka_t *rk,
                                          const char *topic)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err;

        err = rd_kafka_metadata(rk, 0, rkt, &md, TIMEOUT_MS);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                err = md->topic_cnt == 1 ? md->topics[0].err
                                         : RD_KAFKA_RESP_ERR__BAD_MSG;
        else if (p->first_err != RD_KAFKA_RESP_ERR_NO_ERROR)
                err = p->first_err;
        if (md != NULL)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return err;
}

/* Without a group (the legacy consumer: a group.id would make librdkafka
 * look up the group's coordinator, and a denied group would be taken for a
 * denied topic). */
static int op_consume(probe_t *p, const char *topic)
{
        static const char *const extra[] = {"enable.partition.eof", "true",
                                            "log_level", "0", NULL};
        rd_kafka_t *rk = client(p, RD_KAFKA_CONSUMER, extra);
        rd_kafka_topic_t *rkt;
        rd_kafka_resp_err_t err;
        int waited;

        if (rk == NULL)
                return ERROR;
        err = topic_metadata(p, rk, topic);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                rd_kafka_destroy(rk);
                return verdict(err, "consume");
        }
        rkt = rd_kafka_topic_new(rk, topic, NULL);
        if (rd_kafka_consume_start(rkt, 0, RD_KAFKA_OFFSET_BEGINNING) != 0) {
                err = rd_kafka_last_error();
        } else {
                err = RD_KAFKA_RESP_ERR__TIMED_OUT;
                for (waited = 0; waited < TIMEOUT_MS; waited += 200) {
                        rd_kafka_message_t *m = rd_kafka_consume(rkt, 0, 200);

                        if (m == NULL) {
                                rd_kafka_poll(rk, 0);
                                if (p->first_err !=
                                    RD_KAFKA_RESP_ERR_NO_ERROR) {
                                        err = p->first_err;
                                        break;
                                }
                                continue;
                        }
                        err = m->err;
                        rd_kafka_message_destroy(m);
                        if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                err = RD_KAFKA_RESP_ERR_NO_ERROR;
                        break;
                }
                rd_kafka_consume_stop(rkt, 0);
        }
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        return verdict(err, "consume");
}

static int op_offsets(probe_t *p, const char *topic)
{
        static const char *const extra[] = {"log_level", "0", NULL};
        rd_kafka_t *rk = client(p, RD_KAFKA_CONSUMER, extra);
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t err;

        if (rk == NULL)
                return ERROR;
        err = topic_metadata(p, rk, topic);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                err = rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi,
                                                       TIMEOUT_MS);
        rd_kafka_destroy(rk);
        return verdict(err, "list offsets");
}

/* Waits for the admin result event of type evtype on q. NULL on timeout. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, int evtype)
{
        int waited;

        for (waited = 0; waited < TIMEOUT_MS + 5000; waited += 500) {
                rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 500);

                if (ev == NULL)
                        continue;
                if (rd_kafka_event_type(ev) == evtype)
                        return ev;
                rd_kafka_event_destroy(ev);
        }
        return NULL;
}

static rd_kafka_AdminOptions_t *
admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op, int validate_only)
{
        rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
        char errstr[256];

        rd_kafka_AdminOptions_set_request_timeout(o, TIMEOUT_MS, errstr,
                                                  sizeof(errstr));
        if (validate_only)
                rd_kafka_AdminOptions_set_validate_only(o, 1, errstr,
                                                        sizeof(errstr));
        return o;
}

static int op_configs(probe_t *p, const char *topic, int alter)
{
        static const char *const extra[] = {"log_level", "0", NULL};
        rd_kafka_t *rk = client(p, RD_KAFKA_PRODUCER, extra);
        rd_kafka_queue_t *q;
        rd_kafka_ConfigResource_t *res;
        rd_kafka_AdminOptions_t *o;
        rd_kafka_event_t *ev;
        rd_kafka_resp_err_t err;

        if (rk == NULL)
                return ERROR;
        q = rd_kafka_queue_new(rk);
        res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
        if (alter) {
                rd_kafka_ConfigResource_set_config(res, "retention.ms", "-1");
                o = admin_options(rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, 1);
                rd_kafka_AlterConfigs(rk, &res, 1, o, q);
                ev = admin_wait(q, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT);
        } else {
                o = admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, 0);
                rd_kafka_DescribeConfigs(rk, &res, 1, o, q);
                ev = admin_wait(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT);
        }
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_ConfigResource_destroy(res);
        if (ev == NULL) {
                err = RD_KAFKA_RESP_ERR__TIMED_OUT;
        } else if ((err = rd_kafka_event_error(ev)) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR) {
                const rd_kafka_ConfigResource_t **rs;
                size_t n = 0;

                rs = alter ? rd_kafka_AlterConfigs_result_resources(
                                 rd_kafka_event_AlterConfigs_result(ev), &n)
                           : rd_kafka_DescribeConfigs_result_resources(
                                 rd_kafka_event_DescribeConfigs_result(ev), &n);
                err = n == 1 ? rd_kafka_ConfigResource_error(rs[0])
                             : RD_KAFKA_RESP_ERR__BAD_MSG;
        }
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
        return verdict(err, alter ? "alter configs" : "describe configs");
}

static int op_create(probe_t *p, const char *topic, int partitions,
                     int validate_only)
{
        static const char *const extra[] = {"log_level", "0", NULL};
        rd_kafka_t *rk = client(p, RD_KAFKA_PRODUCER, extra);
        rd_kafka_queue_t *q;
        rd_kafka_NewTopic_t *nt;
        rd_kafka_AdminOptions_t *o;
        rd_kafka_event_t *ev;
        rd_kafka_resp_err_t err;
        char errstr[256];

        if (rk == NULL)
                return ERROR;
        q = rd_kafka_queue_new(rk);
        nt =
            rd_kafka_NewTopic_new(topic, partitions, 3, errstr, sizeof(errstr));
        if (nt == NULL) {
                printf("error: %s\n", errstr);
                rd_kafka_queue_destroy(q);
                rd_kafka_destroy(rk);
                return ERROR;
        }
        o = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, validate_only);
        rd_kafka_CreateTopics(rk, &nt, 1, o, q);
        ev = admin_wait(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_NewTopic_destroy(nt);
        if (ev == NULL) {
                err = RD_KAFKA_RESP_ERR__TIMED_OUT;
        } else if ((err = rd_kafka_event_error(ev)) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR) {
                size_t n = 0;
                const rd_kafka_topic_result_t **tr =
                    rd_kafka_CreateTopics_result_topics(
                        rd_kafka_event_CreateTopics_result(ev), &n);

                err = n == 1 ? rd_kafka_topic_result_error(tr[0])
                             : RD_KAFKA_RESP_ERR__BAD_MSG;
                if (!validate_only &&
                    err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                        err = RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
        return verdict(err, "create topic");
}

/* OffsetCommit through the Admin API (AlterConsumerGroupOffsets: READ on
 * the group and the topic, as a consumer's commit): a consumer's own commit
 * to a group it may not describe only waits for a coordinator, for 45 s,
 * before the refusal shows. */
static rd_kafka_resp_err_t commit_once(probe_t *p, rd_kafka_t *rk,
                                       const char *group, const char *topic)
{
        rd_kafka_topic_partition_list_t *list;
        rd_kafka_AlterConsumerGroupOffsets_t *alter;
        rd_kafka_AdminOptions_t *o;
        rd_kafka_queue_t *q;
        rd_kafka_event_t *ev;
        rd_kafka_resp_err_t err;

        (void)p;
        q = rd_kafka_queue_new(rk);
        list = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(list, topic, 0)->offset = 0;
        alter = rd_kafka_AlterConsumerGroupOffsets_new(group, list);
        rd_kafka_topic_partition_list_destroy(list);
        o = admin_options(rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, 0);
        rd_kafka_AlterConsumerGroupOffsets(rk, &alter, 1, o, q);
        ev = admin_wait(q, RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_AlterConsumerGroupOffsets_destroy(alter);
        if (ev == NULL) {
                err = RD_KAFKA_RESP_ERR__TIMED_OUT;
        } else if ((err = rd_kafka_event_error(ev)) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR) {
                size_t n = 0;
                const rd_kafka_group_result_t **gr =
                    rd_kafka_AlterConsumerGroupOffsets_result_groups(
                        rd_kafka_event_AlterConsumerGroupOffsets_result(ev),
                        &n);
                const rd_kafka_error_t *gerr =
                    n == 1 ? rd_kafka_group_result_error(gr[0]) : NULL;

                if (n != 1) {
                        err = RD_KAFKA_RESP_ERR__BAD_MSG;
                } else if (gerr != NULL) {
                        err = rd_kafka_error_code(gerr);
                } else {
                        const rd_kafka_topic_partition_list_t *parts =
                            rd_kafka_group_result_partitions(gr[0]);

                        if (parts != NULL && parts->cnt == 1)
                                err = parts->elems[0].err;
                }
        }
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        return err;
}

static int op_commit(probe_t *p, const char *group, const char *topic)
{
        static const char *const extra[] = {"log_level", "0", NULL};
        rd_kafka_t *rk = client(p, RD_KAFKA_PRODUCER, extra);
        rd_kafka_resp_err_t err;
        int tries;

        if (rk == NULL)
                return ERROR;
        /* a group's coordinator moves while the offsets topic is new (a
         * fresh cluster): asked again, as a consumer would; a timeout
         * (the offsets topic still being created) twice more */
        for (tries = 0;; tries++) {
                err = commit_once(p, rk, group, topic);
                if (tries >= 20 ||
                    (err == RD_KAFKA_RESP_ERR__TIMED_OUT && tries >= 2) ||
                    (err != RD_KAFKA_RESP_ERR_NOT_COORDINATOR &&
                     err != RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE &&
                     err != RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS &&
                     err != RD_KAFKA_RESP_ERR__TIMED_OUT))
                        break;
                rd_kafka_poll(rk, 500);
        }
        rd_kafka_destroy(rk);
        return verdict(err, "commit");
}

static int op_txn(probe_t *p, const char *txid, const char *topic)
{
        const char *const extra[] = {"transactional.id", txid, "log_level", "0",
                                     NULL};
        rd_kafka_t *rk = client(p, RD_KAFKA_PRODUCER, extra);
        rd_kafka_error_t *error;
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

        if (rk == NULL)
                return ERROR;
        error = rd_kafka_init_transactions(rk, TIMEOUT_MS);
        if (error == NULL)
                error = rd_kafka_begin_transaction(rk);
        if (error == NULL) {
                err = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                    RD_KAFKA_V_VALUE("zz-cluster-probe", 16), RD_KAFKA_V_END);
                if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                        error = rd_kafka_commit_transaction(rk, TIMEOUT_MS);
        }
        if (error != NULL) {
                err = rd_kafka_error_code(error);
                rd_kafka_error_destroy(error);
                if (err == RD_KAFKA_RESP_ERR__FATAL) {
                        char fatal[256];

                        err = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
                }
        }
        /* the delivery failure says why a transaction aborted */
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && !is_authz(err) &&
            p->first_err != RD_KAFKA_RESP_ERR_NO_ERROR)
                err = p->first_err;
        rd_kafka_destroy(rk);
        return verdict(err, "transaction");
}

static int usage(void)
{
        fprintf(stderr,
                "usage: zz-cluster-probe [--config FILE] OP ARGS...\n"
                "  metadata | produce TOPIC | consume TOPIC | offsets TOPIC\n"
                "  describe-configs TOPIC | alter-configs TOPIC\n"
                "  create-topic TOPIC | ensure-topic TOPIC PARTITIONS\n"
                "  commit GROUP TOPIC | txn TRANSACTIONAL_ID TOPIC\n"
                "exit: 0 allowed, 1 denied, 2 error, 3 refused "
                "(authentication)\n");
        return ERROR;
}

int main(int argc, char **argv)
{
        const char *path = NULL, *op;
        char errstr[512];
        zz_config_t *config;
        probe_t p;
        int i = 1, rc, n;

        if (argc > 2 && strcmp(argv[1], "--config") == 0) {
                path = argv[2];
                i = 3;
        }
        if (i >= argc)
                return usage();
        op = argv[i++];
        n = argc - i;
        config = zz_config_load(path, errstr, sizeof(errstr));
        if (config == NULL) {
                printf("error: %s\n", errstr);
                return ERROR;
        }
        memset(&p, 0, sizeof(p));
        p.config = config;
        if (strcmp(op, "metadata") == 0 && n == 0)
                rc = op_metadata(&p);
        else if (strcmp(op, "produce") == 0 && n == 1)
                rc = op_produce(&p, argv[i]);
        else if (strcmp(op, "consume") == 0 && n == 1)
                rc = op_consume(&p, argv[i]);
        else if (strcmp(op, "offsets") == 0 && n == 1)
                rc = op_offsets(&p, argv[i]);
        else if (strcmp(op, "describe-configs") == 0 && n == 1)
                rc = op_configs(&p, argv[i], 0);
        else if (strcmp(op, "alter-configs") == 0 && n == 1)
                rc = op_configs(&p, argv[i], 1);
        else if (strcmp(op, "create-topic") == 0 && n == 1)
                rc = op_create(&p, argv[i], 1, 1);
        else if (strcmp(op, "ensure-topic") == 0 && n == 2 &&
                 strtol(argv[i + 1], NULL, 10) > 0 &&
                 strtol(argv[i + 1], NULL, 10) <= 64)
                rc = op_create(&p, argv[i], (int)strtol(argv[i + 1], NULL, 10),
                               0);
        else if (strcmp(op, "commit") == 0 && n == 2)
                rc = op_commit(&p, argv[i], argv[i + 1]);
        else if (strcmp(op, "txn") == 0 && n == 2)
                rc = op_txn(&p, argv[i], argv[i + 1]);
        else
                rc = usage();
        zz_config_destroy(config);
        return rc;
}
