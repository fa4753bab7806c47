/*
 * cmd_topics.c — `zizhu topics apply`: the topic plan
 * (deploy/local/topics.txt) applied to any cluster through the normal
 * client configuration, idempotently: missing topics are created, plan
 * configs that differ are set (AlterConfigs with the topic's other dynamic
 * configs kept), partitions are added, never removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/config.h"
#include "zizhu/kafka.h"
#include "zizhu/log.h"
#include "zizhu/opts.h"
#include "zz_cli.h"

#define MAX_TOPICS 32
#define MAX_KEYS   16
#define TIMEOUT_MS 20000

typedef struct plan_topic_s {
        char name[256];
        int partitions;
        size_t n_keys;
        char key[MAX_KEYS][64];
        char value[MAX_KEYS][64];
} plan_topic_t;

static void usage(FILE *out)
{
        fprintf(out,
                "usage: zizhu topics apply [--plan FILE] [--replication N] "
                "[--min-insync N]\n"
                "                          [--dry-run] [--config FILE] [-X "
                "key=value]\n\n"
                "Applies the topic plan (default deploy/local/topics.txt) to "
                "the configured\n"
                "cluster: creates the topics that are missing (replication "
                "factor N, default 1),\n"
                "sets the plan's configs where the topic differs, adds "
                "partitions (never removes\n"
                "any). --min-insync N overrides the plan's "
                "min.insync.replicas. Prints one row\nper topic; running it "
                "again changes nothing.\n\n"
                "example: zizhu topics apply --replication 3 --min-insync 2 "
                "-X security.protocol=SASL_SSL ...\n\n"
                "exit status: 0 applied, 1 the broker refused, 2 usage or a "
                "bad plan\n");
}

/* One "key=value[,key=value]" column into t. 0, or -1. */
static int parse_configs(plan_topic_t *t, char *col)
{
        char *kv, *save = NULL;

        if (strcmp(col, "-") == 0)
                return 0;
        for (kv = strtok_r(col, ",", &save); kv != NULL;
             kv = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(kv, '=');

                if (eq == NULL || eq == kv || t->n_keys == MAX_KEYS ||
                    (size_t)(eq - kv) >= sizeof(t->key[0]) ||
                    strlen(eq + 1) >= sizeof(t->value[0]))
                        return -1;
                memcpy(t->key[t->n_keys], kv, (size_t)(eq - kv));
                t->key[t->n_keys][eq - kv] = '\0';
                strcpy(t->value[t->n_keys], eq + 1);
                t->n_keys++;
        }
        return 0;
}

/* The plan file into ts; the number of topics, or -1 after saying why. */
static int read_plan(const char *path, const zz_config_t *config,
                     plan_topic_t *ts)
{
        FILE *fp = fopen(path, "r");
        char line[1024], name[200], col[800];
        int n = 0, lineno = 0;

        if (fp == NULL) {
                fprintf(stderr, "zizhu topics: cannot read the plan %s\n",
                        path);
                return -1;
        }
        while (fgets(line, sizeof(line), fp) != NULL) {
                plan_topic_t *t = &ts[n];
                int k;

                lineno++;
                k = sscanf(line, "%199s %d %799s", name, &t->partitions, col);
                if (k <= 0 || name[0] == '#')
                        continue;
                memset(t, 0, sizeof(*t));
                k = sscanf(line, "%199s %d %799s", name, &t->partitions, col);
                if (n == MAX_TOPICS || k < 2 || t->partitions < 1 ||
                    (k == 3 && parse_configs(t, col) != 0)) {
                        fprintf(stderr,
                                "zizhu topics: %s:%d: not \"name "
                                "partitions [key=value,...]\"\n",
                                path, lineno);
                        fclose(fp);
                        return -1;
                }
                zz_config_topic(config, name, t->name, sizeof(t->name));
                n++;
        }
        fclose(fp);
        return n;
}

/* The number of partitions of topic, 0 when it does not exist, -1 when
 * the broker does not answer. */
static int partitions_of(rd_kafka_t *rk, const char *topic)
{
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_resp_err_t err;
        int n = -1;

        err = rd_kafka_metadata(rk, 0, rkt, &md, TIMEOUT_MS);
        rd_kafka_topic_destroy(rkt);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
                if (md->topics[0].err ==
                    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                        n = 0;
                else if (md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
                        n = md->topics[0].partition_cnt;
        }
        if (md != NULL)
                rd_kafka_metadata_destroy(md);
        return n;
}

/* Waits for the admin result on q: NULL with errstr when there is none or
 * the request failed as a whole. */
static rd_kafka_event_t *await(rd_kafka_queue_t *q, char *errstr,
                               size_t errstr_size)
{
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, TIMEOUT_MS);

        if (ev == NULL) {
                snprintf(errstr, errstr_size, "no answer from the broker");
        } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(errstr, errstr_size, "%s",
                         rd_kafka_event_error_string(ev));
                rd_kafka_event_destroy(ev);
                ev = NULL;
        }
        return ev;
}

/* Creates topic t. 0 when created, 1 when the broker already has it, -1
 * with errstr. */
static int create_topic(rd_kafka_t *rk, const plan_topic_t *t, int rf,
                        int min_isr, char *errstr, size_t errstr_size)
{
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(
            t->name, t->partitions, rf, errstr, errstr_size);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        const rd_kafka_topic_result_t **tr;
        rd_kafka_event_t *ev;
        char isr[16];
        size_t i, n;
        int rc = -1;

        snprintf(isr, sizeof(isr), "%d", min_isr);
        for (i = 0; i < t->n_keys; i++)
                rd_kafka_NewTopic_set_config(
                    nt, t->key[i],
                    min_isr > 0 && strcmp(t->key[i], "min.insync.replicas") == 0
                        ? isr
                        : t->value[i]);
        rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
        ev = await(q, errstr, errstr_size);
        if (ev != NULL) {
                tr = rd_kafka_CreateTopics_result_topics(
                    rd_kafka_event_CreateTopics_result(ev), &n);
                if (n == 1 && rd_kafka_topic_result_error(tr[0]) ==
                                  RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                        rc = 1;
                else if (n == 1 && rd_kafka_topic_result_error(tr[0]) !=
                                       RD_KAFKA_RESP_ERR_NO_ERROR)
                        snprintf(errstr, errstr_size, "%s",
                                 rd_kafka_topic_result_error_string(tr[0]));
                else
                        rc = 0;
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_queue_destroy(q);
        rd_kafka_NewTopic_destroy(nt);
        return rc;
}

static int add_partitions(rd_kafka_t *rk, const plan_topic_t *t, char *errstr,
                          size_t errstr_size)
{
        rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(
            t->name, (size_t)t->partitions, errstr, errstr_size);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        const rd_kafka_topic_result_t **tr;
        rd_kafka_event_t *ev;
        size_t n;
        int rc = -1;

        rd_kafka_CreatePartitions(rk, &np, 1, NULL, q);
        ev = await(q, errstr, errstr_size);
        if (ev != NULL) {
                tr = rd_kafka_CreatePartitions_result_topics(
                    rd_kafka_event_CreatePartitions_result(ev), &n);
                if (n == 1 && rd_kafka_topic_result_error(tr[0]) ==
                                  RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                        rc = 1;
                else if (n == 1 && rd_kafka_topic_result_error(tr[0]) !=
                                       RD_KAFKA_RESP_ERR_NO_ERROR)
                        snprintf(errstr, errstr_size, "%s",
                                 rd_kafka_topic_result_error_string(tr[0]));
                else
                        rc = 0;
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_queue_destroy(q);
        rd_kafka_NewPartitions_destroy(np);
        return rc;
}

/* The plan's value of key i (with the --min-insync override). */
static const char *want(const plan_topic_t *t, size_t i, const char *isr)
{
        if (isr[0] != '\0' && strcmp(t->key[i], "min.insync.replicas") == 0)
                return isr;
        return t->value[i];
}

/* The plan's keys that differ in the described entries go to drift
 * ("k=v,..."); the topic's other dynamic configs go to set, which a full
 * AlterConfigs would otherwise reset. */
static void diff_configs(const rd_kafka_ConfigResource_t *described,
                         const plan_topic_t *t, const char *isr,
                         rd_kafka_ConfigResource_t *set, char *drift,
                         size_t drift_size)
{
        size_t ne, i, j;
        const rd_kafka_ConfigEntry_t **es =
            rd_kafka_ConfigResource_configs(described, &ne);

        for (j = 0; j < ne; j++) {
                const char *name = rd_kafka_ConfigEntry_name(es[j]);
                const char *value = rd_kafka_ConfigEntry_value(es[j]);
                int planned = 0;

                for (i = 0; i < t->n_keys; i++) {
                        if (strcmp(t->key[i], name) != 0)
                                continue;
                        planned = 1;
                        if (value == NULL || strcmp(value, want(t, i, isr)))
                                snprintf(drift + strlen(drift),
                                         drift_size - strlen(drift), "%s%s=%s",
                                         drift[0] ? "," : "", name,
                                         want(t, i, isr));
                }
                if (!planned && value != NULL &&
                    rd_kafka_ConfigEntry_source(es[j]) ==
                        RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
                        rd_kafka_ConfigResource_set_config(set, name, value);
        }
}

/* The first resource of a DescribeConfigs or AlterConfigs result; NULL
 * with errstr when it failed. */
static const rd_kafka_ConfigResource_t *first_resource(rd_kafka_event_t *ev,
                                                       int describe,
                                                       char *errstr,
                                                       size_t errstr_size)
{
        size_t n = 0;
        const rd_kafka_ConfigResource_t **rs =
            describe ? rd_kafka_DescribeConfigs_result_resources(
                           rd_kafka_event_DescribeConfigs_result(ev), &n)
                     : rd_kafka_AlterConfigs_result_resources(
                           rd_kafka_event_AlterConfigs_result(ev), &n);

        if (n == 1 && !rd_kafka_ConfigResource_error(rs[0]))
                return rs[0];
        snprintf(errstr, errstr_size, "%s",
                 n == 1 ? rd_kafka_ConfigResource_error_string(rs[0])
                        : "no configuration in the answer");
        return NULL;
}

/* Compares the topic's configuration with the plan: the drifted keys go
 * to drift ("k=v,..."), and, when alter, a full AlterConfigs (the other
 * dynamic configs kept) sets them. 0, or -1 with errstr. */
static int reconcile_configs(rd_kafka_t *rk, const plan_topic_t *t,
                             const char *isr, int alter, char *drift,
                             size_t drift_size, char *errstr,
                             size_t errstr_size)
{
        rd_kafka_ConfigResource_t *res =
            rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t->name);
        rd_kafka_ConfigResource_t *set =
            rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t->name);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        const rd_kafka_ConfigResource_t *got = NULL;
        rd_kafka_event_t *ev;
        size_t i;
        int rc = -1;

        drift[0] = '\0';
        rd_kafka_DescribeConfigs(rk, &res, 1, NULL, q);
        ev = await(q, errstr, errstr_size);
        if (ev != NULL &&
            (got = first_resource(ev, 1, errstr, errstr_size)) != NULL) {
                diff_configs(got, t, isr, set, drift, drift_size);
                rc = 0;
        }
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        if (rc == 0 && alter && drift[0] != '\0') {
                for (i = 0; i < t->n_keys; i++)
                        rd_kafka_ConfigResource_set_config(set, t->key[i],
                                                           want(t, i, isr));
                rd_kafka_AlterConfigs(rk, &set, 1, NULL, q);
                ev = await(q, errstr, errstr_size);
                if (ev == NULL ||
                    first_resource(ev, 0, errstr, errstr_size) == NULL)
                        rc = -1;
                if (ev != NULL)
                        rd_kafka_event_destroy(ev);
        }
        rd_kafka_queue_destroy(q);
        rd_kafka_ConfigResource_destroy(res);
        rd_kafka_ConfigResource_destroy(set);
        return rc;
}

typedef struct apply_args_s {
        int rf, min_isr, dry_run;
} apply_args_t;

/* An existing topic with have partitions: adds partitions, sets drifted
 * configs; *action and what say what. 0, or -1 with errstr. */
static int update_topic(rd_kafka_t *rk, const plan_topic_t *t,
                        const apply_args_t *a, int have, const char **action,
                        char *what, size_t what_size, char *errstr,
                        size_t errstr_size)
{
        char drift[512] = "", isr[16] = "";
        int rc = 0;

        if (a->min_isr > 0)
                snprintf(isr, sizeof(isr), "%d", a->min_isr);
        if (have < t->partitions) {
                *action = a->dry_run ? "would change" : "changed";
                snprintf(what, what_size, "partitions %d -> %d ", have,
                         t->partitions);
                if (!a->dry_run &&
                    add_partitions(rk, t, errstr, errstr_size) != 0)
                        rc = -1;
        } else if (have > t->partitions) {
                snprintf(what, what_size,
                         "has %d partitions, plan %d (never shrunk) ", have,
                         t->partitions);
        }
        if (rc == 0 &&
            reconcile_configs(rk, t, isr, !a->dry_run, drift, sizeof(drift),
                              errstr, errstr_size) != 0)
                rc = -1;
        if (drift[0] != '\0') {
                *action = a->dry_run ? "would change" : "changed";
                snprintf(what + strlen(what), what_size - strlen(what),
                         "set %s", drift);
        }
        return rc;
}

/* One topic: its row of the table. 0, or -1 after the row says why. */
static int apply_topic(rd_kafka_t *rk, const plan_topic_t *t,
                       const apply_args_t *a)
{
        char errstr[512] = "", what[600] = "";
        int have = partitions_of(rk, t->name), rc = 0;
        const char *action = "unchanged";

        if (have < 0) {
                action = "failed";
                snprintf(what, sizeof(what), "no metadata from the broker");
                rc = -1;
        } else if (have == 0) {
                int created = a->dry_run
                                  ? 0
                                  : create_topic(rk, t, a->rf, a->min_isr,
                                                 errstr, sizeof(errstr));

                action = a->dry_run ? "would create" : "created";
                snprintf(what, sizeof(what), "%d partitions, replication %d",
                         t->partitions, a->rf);
                if (created < 0)
                        rc = -1;
                /* The broker's metadata did not list a topic it has (just
                 * created, e.g. by the previous run): treat it as the
                 * existing topic it is. */
                if (created == 1)
                        have = zz_kafka_partition_count(rk, t->name, TIMEOUT_MS,
                                                        errstr, sizeof(errstr));
                if (created == 1 && have < 0)
                        rc = -1;
                else if (created == 1) {
                        action = "unchanged";
                        what[0] = '\0';
                        rc = update_topic(rk, t, a, have, &action, what,
                                          sizeof(what), errstr, sizeof(errstr));
                }
        } else {
                rc = update_topic(rk, t, a, have, &action, what, sizeof(what),
                                  errstr, sizeof(errstr));
        }
        if (rc != 0) {
                action = "failed";
                snprintf(what + strlen(what), sizeof(what) - strlen(what),
                         "%s%s", what[0] ? ": " : "", errstr);
        }
        printf("%-40s %-13s %s\n", t->name, action, what);
        return rc;
}

static int apply(const zz_config_t *config, const plan_topic_t *ts, int n,
                 const apply_args_t *a)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char errstr[512];
        rd_kafka_t *rk;
        int i, rc = ZZ_EXIT_OK;

        if (zz_config_apply_kafka(config, conf, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "zizhu topics: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return ZZ_EXIT_USAGE;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (rk == NULL) {
                fprintf(stderr, "zizhu topics: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return ZZ_EXIT_USAGE;
        }
        printf("%-40s %-13s %s\n", "topic", "action", "what");
        for (i = 0; i < n; i++) {
                if (apply_topic(rk, &ts[i], a) != 0)
                        rc = ZZ_EXIT_FAIL;
        }
        rd_kafka_destroy(rk);
        return rc;
}

int zz_cmd_topics(int argc, char **argv)
{
        char plan_path[4096];
        const char *plan = plan_path;
        apply_args_t a = {1, 0, 0};
        const zz_opt_t table[] = {ZZ_OPT_STRING("plan", &plan),
                                  ZZ_OPT_INT("replication", &a.rf, 1, 32),
                                  ZZ_OPT_INT("min-insync", &a.min_isr, 1, 32),
                                  ZZ_OPT_FLAG("dry-run", &a.dry_run, 1),
                                  ZZ_OPT_END};
        plan_topic_t *ts;
        zz_config_t *config;
        zz_opts_t zo;
        int n, rc;

        if (argc < 2 || strcmp(argv[1], "apply") != 0) {
                usage(stderr);
                return ZZ_EXIT_USAGE;
        }
        snprintf(plan_path, sizeof(plan_path), "%s/deploy/local/topics.txt",
                 zz_opts_source_dir());
        zz_opts_init(&zo, "zizhu topics apply", usage, ZZ_OPTS_CONFIG);
        if (zz_opts_parse(&zo, table, argc - 1, argv + 1) != 0)
                return zo.exit_status;
        zz_log_set_component("topics");
        config = zz_opts_config(&zo);
        if (config == NULL)
                return ZZ_EXIT_USAGE;
        ts = calloc(MAX_TOPICS, sizeof(*ts));
        n = ts != NULL ? read_plan(plan, config, ts) : -1;
        rc = n < 0 ? ZZ_EXIT_USAGE : apply(config, ts, n, &a);
        free(ts);
        zz_config_destroy(config);
        return rc;
}
