/*
 * worker.c — the subsidy worker's consumer loop (see worker.h).
 */
#include "zizhu/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "zizhu/codec.h"
#include "zizhu/event.h"
#include "zizhu/facts.h"
#include "zizhu/kafka.h"
#include "zizhu/log.h"
#include "zizhu/pg.h"
#include "zizhu/registry.h"
#include "zizhu/store.h"
#include "zizhu/subsidy.h"

/* The input streams; identity is one topic per department
 * (zz_config_topic_streams). */
#define N_INPUTS 4
static const zz_stream_t inputs[N_INPUTS] = {
    ZZ_STREAM_IDENTITY, ZZ_STREAM_ENROLLMENT, ZZ_STREAM_PAYMENT,
    ZZ_STREAM_CONTROL};

/* HELP texts of the worker's metric families: declared at start-up
 * (zz_worker_metrics_declare) and used at every update. */
#define H_EVENTS  "input events committed, by topic and outcome"
#define H_DEAD    "events refused and written to the dead-letter topic, by reason"
#define H_CHANGED "decisions written because they changed"
#define H_BATCHES "batches committed"
#define H_FENCED                                                               \
        "batches (or parts) dropped because another instance claimed the "     \
        "partition"
#define H_BATCH_S "time to apply and commit one batch"
#define H_PHASE                                                                \
        "seconds spent per phase of the batches: waiting for input, writing "  \
        "facts, deciding, committing"
#define H_LAG "messages between the stored position and the partition end"

static const char *const phases[] = {"input", "facts", "decisions", "commit"};

/* One subscribed input topic: its full name, its stream, and for an
 * identity topic the department it belongs to. */
typedef struct input_topic_s {
        char name[256];
        zz_stream_t stream;
        const char *dept;
} input_topic_t;

typedef struct owned_s {
        char *topic;
        int32_t partition;
        int64_t epoch;
        int64_t next;      /* next offset expected (after the batch in hand) */
        int64_t committed; /* next offset as last committed, -2 unknown */
} owned_t;

struct zz_worker_s {
        zz_worker_opts_t opts;
        input_topic_t topics[ZZ_CONFIG_STREAMS_MAX];
        size_t n_topics;
        rd_kafka_t *rk;
        zz_store_t *store;
        zz_codec_t *codec;
        zz_subsidy_t *subsidy;
        zz_facts_batch_t *facts;
        owned_t *owned;
        size_t n_owned, cap_owned;
        rd_kafka_message_t **batch;
        size_t n_batch;
        int fatal;
        char fatal_msg[512];
        int stats_checks; /* planner statistics checks left, see below */
        int stats_batches;
        /* where the time went (seconds), logged when the worker stops and
         * exported as zz_phase_seconds_total{phase} */
        double t_input, t_facts, t_decide, t_commit;
        double t_exported[4]; /* of each phase, already added to the counter */
        size_t n_batches, n_events;
};

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static owned_t *find_owned(zz_worker_t *w, const char *topic, int32_t part)
{
        size_t i;

        for (i = 0; i < w->n_owned; i++)
                if (w->owned[i].partition == part &&
                    strcmp(w->owned[i].topic, topic) == 0)
                        return &w->owned[i];
        return NULL;
}

static void drop_owned(zz_worker_t *w, const char *topic, int32_t part)
{
        size_t i, j = 0;
        char ptext[16];

        /* its lag is the new owner's to report: a stale value here would
         * keep the lag and no-commit alerts firing */
        snprintf(ptext, sizeof(ptext), "%d", (int)part);
        zz_metrics_remove(w->opts.metrics, "zz_consumer_lag", "topic", topic,
                          "partition", ptext);
        for (i = 0; i < w->n_owned; i++) {
                if (w->owned[i].partition == part &&
                    strcmp(w->owned[i].topic, topic) == 0) {
                        free(w->owned[i].topic);
                        continue;
                }
                w->owned[j++] = w->owned[i];
        }
        w->n_owned = j;
        /* Messages of that partition in hand are no longer ours. */
        j = 0;
        for (i = 0; i < w->n_batch; i++) {
                rd_kafka_message_t *m = w->batch[i];
                if (m->partition == part &&
                    strcmp(rd_kafka_topic_name(m->rkt), topic) == 0) {
                        rd_kafka_message_destroy(m);
                        continue;
                }
                w->batch[j++] = m;
        }
        w->n_batch = j;
}

static int add_owned(zz_worker_t *w, const char *topic, int32_t part,
                     int64_t epoch, int64_t next)
{
        owned_t *o = find_owned(w, topic, part);

        if (o == NULL) {
                if (w->n_owned == w->cap_owned) {
                        size_t cap = w->cap_owned ? w->cap_owned * 2 : 16;
                        owned_t *no = realloc(w->owned, cap * sizeof(*no));
                        if (no == NULL)
                                return -1;
                        w->owned = no;
                        w->cap_owned = cap;
                }
                o = &w->owned[w->n_owned];
                o->topic = strdup(topic);
                if (o->topic == NULL)
                        return -1;
                w->n_owned++;
        }
        o->partition = part;
        o->epoch = epoch;
        o->next = next;
        o->committed = next;
        return 0;
}

static void set_fatal(zz_worker_t *w, const char *what, const char *detail)
{
        /* a long detail is cut to the buffer: that is fine */
        if (!w->fatal && snprintf(w->fatal_msg, sizeof(w->fatal_msg), "%s: %s",
                                  what, detail) >= (int)sizeof(w->fatal_msg))
                w->fatal_msg[sizeof(w->fatal_msg) - 1] = '\0';
        w->fatal = 1;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        zz_worker_t *w = opaque;
        int cooperative =
            strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
        rd_kafka_error_t *error = NULL;
        char errstr[512];
        int i;

        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                for (i = 0; i < parts->cnt; i++) {
                        rd_kafka_topic_partition_t *p = &parts->elems[i];
                        int64_t next = RD_KAFKA_OFFSET_BEGINNING, epoch = 0;

                        if (zz_store_claim(w->store, p->topic, p->partition,
                                           &next, &epoch, errstr,
                                           sizeof(errstr)) != 0) {
                                set_fatal(w, "could not claim a partition",
                                          errstr);
                                /* assign nothing: the loop exits and the
                                 * group hands the partitions on */
                                p->offset = RD_KAFKA_OFFSET_INVALID;
                                continue;
                        }
                        p->offset = next;
                        if (add_owned(w, p->topic, p->partition, epoch, next) !=
                            0)
                                set_fatal(w, "out of memory", "assignment");
                        zz_log_info("assigned %s [%d] at offset %lld, "
                                    "epoch %lld",
                                    p->topic, (int)p->partition,
                                    (long long)next, (long long)epoch);
                }
                if (cooperative)
                        error = rd_kafka_incremental_assign(rk, parts);
                else
                        rd_kafka_assign(rk, parts);
        } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
                for (i = 0; i < parts->cnt; i++) {
                        drop_owned(w, parts->elems[i].topic,
                                   parts->elems[i].partition);
                        zz_log_info("revoked %s [%d]%s", parts->elems[i].topic,
                                    (int)parts->elems[i].partition,
                                    rd_kafka_assignment_lost(rk) ? " (lost)"
                                                                 : "");
                }
                if (cooperative)
                        error = rd_kafka_incremental_unassign(rk, parts);
                else
                        rd_kafka_assign(rk, NULL);
        } else {
                zz_log_error("rebalance failed: %s", rd_kafka_err2str(err));
                rd_kafka_assign(rk, NULL);
        }
        if (error != NULL) {
                set_fatal(w, "incremental assignment failed",
                          rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        }
}

static int set_conf(rd_kafka_conf_t *conf, const char *key, const char *value,
                    char *errstr, size_t errstr_size)
{
        if (rd_kafka_conf_set(conf, key, value, errstr, errstr_size) !=
            RD_KAFKA_CONF_OK)
                return -1;
        return 0;
}

/*
 * Planner statistics and session settings. The batch looks facts and
 * decisions up by a few hundred persons; until a table has statistics on
 * person_id the planner takes that for most of the table and scans it
 * (sql/021_tuning.sql has autovacuum keep them fresh afterwards, but its
 * first pass can come a minute late). So while some of these tables have
 * none, analyse them every STATS_EVERY batches, at most STATS_CHECKS times.
 * The queries are small and indexed: parallel plans only cost start-up.
 * Failures here are not the batch's: logged, never fatal.
 */
#define STATS_EVERY  20
#define STATS_CHECKS 50

/* The tables whose statistics are checked, as the check below names them,
 * and the statement that analyses each: the ANALYZE text is one of these
 * fixed statements, never built from what the query returns. */
static const struct {
        const char *table;
        const char *analyze;
} stats_tables[] = {{"zizhu.identity_fact", "ANALYZE zizhu.identity_fact"},
                    {"zizhu.enrollment_fact", "ANALYZE zizhu.enrollment_fact"},
                    {"zizhu.payment_fact", "ANALYZE zizhu.payment_fact"},
                    {"zizhu.decision", "ANALYZE zizhu.decision"}};

/* Tables of stats_tables with rows but no statistics on person_id yet
 * (that this role may analyse). */
static const char SQL_TABLES_WITHOUT_STATS[] =
    "SELECT format('%I.%I', n.nspname, c.relname)\n"
    "FROM pg_class c\n"
    "JOIN pg_namespace n ON n.oid = c.relnamespace\n"
    "WHERE n.nspname = 'zizhu' AND c.relname IN ('identity_fact', 'enrollment_fact', 'payment_fact', 'decision') AND pg_has_role(c.relowner, 'USAGE') AND NOT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = 'person_id')";

static void stats_session(zz_worker_t *w)
{
        PGconn *conn = zz_store_conn(w->store);

        if (zz_pg_exec(conn, "SET max_parallel_workers_per_gather = 0", NULL,
                       0) != 0)
                zz_log_warn("could not turn parallel plans off: %s",
                            PQerrorMessage(conn));
        w->stats_checks = STATS_CHECKS;
        w->stats_batches = 5; /* the first check comes sooner */
}

static void analyse(PGconn *conn, const char *table)
{
        size_t i;

        for (i = 0; i < sizeof(stats_tables) / sizeof(stats_tables[0]); i++) {
                if (strcmp(stats_tables[i].table, table) != 0)
                        continue;
                if (zz_pg_exec(conn, stats_tables[i].analyze, NULL, 0) != 0)
                        zz_log_warn("could not analyse a fact table: %s",
                                    PQerrorMessage(conn));
                else
                        zz_log_debug("analysed %s", table);
                return;
        }
}

static void stats_check(zz_worker_t *w)
{
        PGconn *conn = zz_store_conn(w->store);
        PGresult *res;
        int i;

        if (w->stats_checks <= 0 || --w->stats_batches > 0)
                return;
        w->stats_batches = STATS_EVERY;
        w->stats_checks--;
        res =
            zz_pg_query(conn, SQL_TABLES_WITHOUT_STATS, 0, NULL, NULL, NULL, 0);
        if (res == NULL) {
                zz_log_warn("could not check planner statistics: %s",
                            PQerrorMessage(conn));
                return;
        }
        if (PQntuples(res) == 0)
                w->stats_checks = 0; /* all there: autovacuum's from now */
        for (i = 0; i < PQntuples(res); i++)
                analyse(conn, PQgetvalue(res, i, 0));
        PQclear(res);
}

/* w->topics: every topic of the input streams, identity expanded into
 * its department topics. */
static void input_topics(zz_worker_t *w)
{
        size_t i, j;

        w->n_topics = 0;
        for (i = 0; i < N_INPUTS; i++) {
                const char *stream = zz_stream_name(inputs[i]);
                zz_config_streams_t ts;

                zz_config_topic_streams(&stream, 1, &ts);
                for (j = 0; j < ts.n && w->n_topics < ZZ_CONFIG_STREAMS_MAX;
                     j++) {
                        input_topic_t *t = &w->topics[w->n_topics++];

                        zz_config_topic(w->opts.config, ts.name[j], t->name,
                                        sizeof(t->name));
                        t->stream = inputs[i];
                        t->dept =
                            zz_config_identity_dept(w->opts.config, t->name);
                }
        }
}

/* The department of an identity topic of w (see input_topic_t). */
static const char *dept_of(const zz_worker_t *w, const char *topic)
{
        size_t i;

        for (i = 0; i < w->n_topics; i++)
                if (strcmp(w->topics[i].name, topic) == 0)
                        return w->topics[i].dept;
        return NULL;
}

/* The consumer of the input topics, subscribed, its rebalances handled
 * by rebalance_cb. */
static int consumer_new(zz_worker_t *w, char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *conf;
        rd_kafka_topic_partition_list_t *subs;
        rd_kafka_resp_err_t err;
        size_t i;

        conf = rd_kafka_conf_new();
        /* Cooperative-sticky: a rebalance moves only the partitions that
         * change owner. Range assignment (-X
         * partition.assignment.strategy=range) keeps partition i of every
         * input topic with one instance, so instances never wait on each
         * other's person locks (two instances caught up 200 000 events in
         * 9.5 s instead of 17.2 s), but every rebalance stops all members:
         * with a group shared by many short-lived workers (the test suite)
         * a worker was reassigned and went idle before its first fetch.
         * A member learns of a rebalance at its next heartbeat: every
         * second rather than every three. */
        if (set_conf(conf, "group.id", w->opts.group, errstr, errstr_size) ||
            set_conf(conf, "partition.assignment.strategy",
                     "cooperative-sticky", errstr, errstr_size) ||
            set_conf(conf, "heartbeat.interval.ms", "1000", errstr,
                     errstr_size) ||
            set_conf(conf, "enable.auto.commit", "false", errstr,
                     errstr_size) ||
            set_conf(conf, "enable.auto.offset.store", "false", errstr,
                     errstr_size) ||
            set_conf(conf, "isolation.level", "read_committed", errstr,
                     errstr_size) ||
            set_conf(conf, "auto.offset.reset", "earliest", errstr,
                     errstr_size) ||
            set_conf(conf, "client.id", w->opts.name, errstr, errstr_size)) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        if (zz_config_apply_kafka(w->opts.config, conf, errstr, errstr_size) !=
            0) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
        rd_kafka_conf_set_opaque(conf, w);
        w->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
        if (w->rk == NULL) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rd_kafka_poll_set_consumer(w->rk);
        subs = rd_kafka_topic_partition_list_new((int)w->n_topics);
        for (i = 0; i < w->n_topics; i++)
                rd_kafka_topic_partition_list_add(subs, w->topics[i].name,
                                                  RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(w->rk, subs);
        rd_kafka_topic_partition_list_destroy(subs);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(errstr, errstr_size, "could not subscribe: %s",
                         rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

zz_worker_t *zz_worker_new(const zz_worker_opts_t *opts, char *errstr,
                           size_t errstr_size)
{
        zz_worker_t *w = calloc(1, sizeof(*w));

        if (w == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        w->opts = *opts;
        if (w->opts.batch_max <= 0)
                w->opts.batch_max = 500;
        if (w->opts.batch_ms <= 0)
                w->opts.batch_ms = 200;
        if (w->opts.name == NULL)
                w->opts.name = "zizhu-subsidy-worker";
        w->batch = calloc((size_t)w->opts.batch_max, sizeof(*w->batch));
        w->store = zz_store_new(zz_config_pg(opts->config), opts->group, errstr,
                                errstr_size);
        if (w->batch == NULL || w->store == NULL)
                goto fail;
        stats_session(w);
        w->codec = zz_codec_new(errstr, errstr_size);
        if (w->codec == NULL || zz_registry_attach(opts->config, w->codec,
                                                   errstr, errstr_size) != 0)
                goto fail;
        w->facts = zz_facts_batch_new();
        if (w->facts == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        w->subsidy =
            zz_subsidy_new(opts->policy_dir, w->codec, errstr, errstr_size);
        if (w->subsidy == NULL)
                goto fail;
        zz_facts_batch_set_subsidy(w->facts, w->subsidy);

        input_topics(w);
        if (consumer_new(w, errstr, errstr_size) != 0)
                goto fail;
        return w;
fail:
        zz_worker_destroy(w);
        return NULL;
}

void zz_worker_destroy(zz_worker_t *w)
{
        size_t i;

        if (w == NULL)
                return;
        for (i = 0; i < w->n_batch; i++)
                rd_kafka_message_destroy(w->batch[i]);
        if (w->rk != NULL)
                rd_kafka_destroy(w->rk);
        for (i = 0; i < w->n_owned; i++)
                free(w->owned[i].topic);
        free(w->owned);
        free(w->batch);
        zz_subsidy_destroy(w->subsidy);
        zz_facts_batch_destroy(w->facts);
        zz_codec_destroy(w->codec);
        zz_store_destroy(w->store);
        free(w);
}

static zz_stream_t stream_of(zz_worker_t *w, const char *topic)
{
        size_t i;

        for (i = 0; i < w->n_topics; i++)
                if (strcmp(w->topics[i].name, topic) == 0)
                        return w->topics[i].stream;
        return ZZ_STREAM__COUNT;
}

typedef struct part_s {
        const char *topic;
        int32_t partition;
        int64_t last;
} part_t;

static int cmp_part(const void *a, const void *b)
{
        const part_t *x = a, *y = b;
        int c = strcmp(x->topic, y->topic);

        if (c != 0)
                return c;
        return (x->partition > y->partition) - (x->partition < y->partition);
}

typedef struct result_s {
        zz_fact_outcome_t outcome;
        char reason[32];
} result_t;

/* The partitions of the batch in hand with the last offset of each,
 * sorted (topic, partition: the order positions are locked in), into
 * parts (room for n_batch). Returns how many. */
static size_t batch_parts(const zz_worker_t *w, part_t *parts)
{
        size_t n_parts = 0, i, j;

        for (i = 0; i < w->n_batch; i++) {
                const char *t = rd_kafka_topic_name(w->batch[i]->rkt);
                int32_t p = w->batch[i]->partition;

                for (j = 0; j < n_parts; j++)
                        if (parts[j].partition == p &&
                            strcmp(parts[j].topic, t) == 0)
                                break;
                if (j == n_parts) {
                        parts[n_parts].topic = t;
                        parts[n_parts].partition = p;
                        n_parts++;
                }
                parts[j].last = w->batch[i]->offset;
        }
        qsort(parts, n_parts, sizeof(*parts), cmp_part);
        return n_parts;
}

/* Inside the batch's transaction: locks the position of every partition
 * of parts and checks that it is still ours. 0 all ours, 1 one was
 * claimed by another instance (its messages are dropped from the batch in
 * hand), -1 error. */
static int fence_parts(zz_worker_t *w, const part_t *parts, size_t n_parts,
                       char *errstr, size_t errstr_size)
{
        size_t i;

        for (i = 0; i < n_parts; i++) {
                owned_t *o = find_owned(w, parts[i].topic, parts[i].partition);
                int st = o == NULL
                             ? 1
                             : zz_store_lock_position(
                                   w->store, parts[i].topic, parts[i].partition,
                                   o->epoch, NULL, errstr, errstr_size);
                char *t;

                if (st <= 0) {
                        if (st < 0)
                                return -1;
                        continue;
                }
                zz_log_warn("%s [%d] was claimed by another "
                            "instance: dropping its messages",
                            parts[i].topic, (int)parts[i].partition);
                if (w->opts.metrics != NULL)
                        zz_metrics_add(w->opts.metrics,
                                       "zz_batches_fenced_total", H_FENCED,
                                       NULL, NULL, NULL, NULL, 1);
                /* the topic name belongs to a message drop_owned frees */
                t = strdup(parts[i].topic);
                if (t != NULL) {
                        drop_owned(w, t, parts[i].partition);
                        free(t);
                }
                return 1;
        }
        return 0;
}

/* Scratch of one attempt at a batch, one slot per message in hand. */
typedef struct attempt_s {
        part_t *parts;
        const char **persons;   /* persons whose facts changed */
        char (*person_buf)[19]; /* the person of each applied message */
        zz_fact_outcome_t *outcomes;
        size_t n_parts, n_persons;
} attempt_t;

/* Inside the batch's transaction: stores the facts of every message in
 * hand (or dead-letters it) and collects in a->persons the persons whose
 * facts changed. */
static int apply_facts(zz_worker_t *w, attempt_t *a, result_t *results,
                       char sqlstate[6], char *errstr, size_t errstr_size)
{
        size_t i;

        for (i = 0; i < w->n_batch; i++) {
                rd_kafka_message_t *m = w->batch[i];
                zz_fact_source_t src;
                rd_kafka_timestamp_type_t tstype;

                memset(&src, 0, sizeof(src));
                src.topic = rd_kafka_topic_name(m->rkt);
                src.partition = m->partition;
                src.offset = m->offset;
                src.timestamp = rd_kafka_message_timestamp(m, &tstype);
                src.key = m->key;
                src.key_len = m->key_len;
                src.worker = w->opts.name;
                src.dept = dept_of(w, src.topic);
                if (zz_facts_apply(w->facts, w->store, w->codec,
                                   stream_of(w, src.topic), &src, i, m->payload,
                                   m->len, &a->outcomes[i], results[i].reason,
                                   sqlstate, errstr, errstr_size) != 0)
                        return -1;
        }
        if (zz_facts_flush(w->facts, w->store, a->outcomes, a->person_buf,
                           sqlstate, errstr, errstr_size) != 0)
                return -1;
        for (i = 0; i < w->n_batch; i++) {
                results[i].outcome = a->outcomes[i];
                if (a->outcomes[i] == ZZ_FACT_APPLIED &&
                    a->person_buf[i][0] != '\0')
                        a->persons[a->n_persons++] = a->person_buf[i];
        }
        return 0;
}

/* Another instance may hold another topic's partition of the same person:
 * each person is decided under its lock, taken in one order, so the later
 * batch sees the earlier's facts. */
static const char SQL_LOCK_PERSONS[] =
    "SELECT pg_advisory_xact_lock(h)\n"
    "FROM (SELECT DISTINCT hashtextextended(p, 0) AS h FROM unnest($1::text[]) p ORDER BY 1) s";

/* Inside the batch's transaction: locks the n persons and decides them
 * again. */
static int decide_persons(zz_worker_t *w, const char **persons, size_t n,
                          size_t *changed, char sqlstate[6], char *errstr,
                          size_t errstr_size)
{
        char *array = zz_pg_text_array(persons, n);
        const char *params[1] = {array};
        int rc;

        if (array == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        rc = zz_pg_command(zz_store_conn(w->store), SQL_LOCK_PERSONS, 1, params,
                           sqlstate, errstr, errstr_size);
        free(array);
        if (rc != 0)
                return -1;
        return zz_subsidy_redecide(w->subsidy, w->store, persons, n, changed,
                                   sqlstate, errstr, errstr_size);
}

/* One attempt at committing the batch in hand. 0 committed, 1 retry
 * (serialization failure or deadlock), 2 partitions lost (the batch in
 * hand has been trimmed: try again), -1 fatal. */
static int try_batch(zz_worker_t *w, result_t *results, size_t *changed,
                     char *errstr, size_t errstr_size)
{
        attempt_t a;
        char sqlstate[6] = "";
        int rc = -1, st;
        size_t i;
        double t0, t1;

        memset(&a, 0, sizeof(a));
        a.parts = calloc(w->n_batch + 1, sizeof(*a.parts));
        a.persons = calloc(w->n_batch + 1, sizeof(*a.persons));
        a.person_buf = calloc(w->n_batch + 1, sizeof(*a.person_buf));
        a.outcomes = calloc(w->n_batch + 1, sizeof(*a.outcomes));
        if (a.parts == NULL || a.persons == NULL || a.person_buf == NULL ||
            a.outcomes == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        a.n_parts = batch_parts(w, a.parts);
        if (zz_store_begin(w->store, errstr, errstr_size) != 0)
                goto out;
        st = fence_parts(w, a.parts, a.n_parts, errstr, errstr_size);
        if (st < 0)
                goto rollback;
        if (st == 1) {
                zz_store_rollback(w->store);
                rc = 2;
                goto out;
        }
        t0 = now_s();
        if (apply_facts(w, &a, results, sqlstate, errstr, errstr_size) != 0)
                goto rollback;
        t1 = now_s();
        w->t_facts += t1 - t0;
        if (a.n_persons > 0 &&
            decide_persons(w, a.persons, a.n_persons, changed, sqlstate, errstr,
                           errstr_size) != 0)
                goto rollback;
        t0 = now_s();
        w->t_decide += t0 - t1;
        for (i = 0; i < a.n_parts; i++)
                if (zz_store_set_position(
                        w->store, a.parts[i].topic, a.parts[i].partition,
                        a.parts[i].last + 1, errstr, errstr_size) != 0)
                        goto rollback;
        if (zz_store_commit(w->store, sqlstate, errstr, errstr_size) != 0) {
                rc = zz_pg_retryable(sqlstate) ? 1 : -1;
                goto out;
        }
        w->t_commit += now_s() - t0;
        for (i = 0; i < a.n_parts; i++) {
                owned_t *o =
                    find_owned(w, a.parts[i].topic, a.parts[i].partition);
                if (o != NULL)
                        o->committed = a.parts[i].last + 1;
        }
        rc = 0;
        goto out;
rollback:
        zz_store_rollback(w->store);
        zz_facts_batch_reset(w->facts);
        rc = zz_pg_retryable(sqlstate) ? 1 : -1;
out:
        free(a.parts);
        free(a.persons);
        free(a.person_buf);
        free(a.outcomes);
        return rc;
}

static void update_lag(zz_worker_t *w)
{
        size_t i;

        if (w->opts.metrics == NULL)
                return;
        for (i = 0; i < w->n_owned; i++) {
                int64_t lo = 0, hi = 0;
                char part[16];

                if (rd_kafka_get_watermark_offsets(
                        w->rk, w->owned[i].topic, w->owned[i].partition, &lo,
                        &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
                    w->owned[i].committed < 0)
                        continue;
                snprintf(part, sizeof(part), "%d", (int)w->owned[i].partition);
                zz_metrics_set(w->opts.metrics, "zz_consumer_lag", H_LAG,
                               "topic", w->owned[i].topic, "partition", part,
                               (double)(hi > w->owned[i].committed
                                            ? hi - w->owned[i].committed
                                            : 0));
        }
}

/* zz_phase_seconds_total is a counter: it is given what each phase's
 * running total grew by since the last batch. */
static void phase_metrics(zz_worker_t *w)
{
        const double totals[4] = {w->t_input, w->t_facts, w->t_decide,
                                  w->t_commit};
        size_t i;

        for (i = 0; i < 4; i++) {
                double by = totals[i] - w->t_exported[i];

                if (by <= 0)
                        continue;
                zz_metrics_add(w->opts.metrics, "zz_phase_seconds_total",
                               H_PHASE, "phase", phases[i], NULL, NULL, by);
                w->t_exported[i] = totals[i];
        }
}

void zz_worker_metrics_declare(zz_metrics_t *m, const zz_config_t *config)
{
        static const zz_fact_outcome_t outcomes[] = {
            ZZ_FACT_APPLIED, ZZ_FACT_DUPLICATE, ZZ_FACT_DEAD_LETTER};
        const char *names[N_INPUTS];
        zz_config_streams_t ts;
        char topic[256];
        size_t i, j;

        if (m == NULL)
                return;
        zz_metrics_declare(m, "zz_events_total", ZZ_METRIC_COUNTER, H_EVENTS,
                           1);
        for (i = 0; i < N_INPUTS; i++)
                names[i] = zz_stream_name(inputs[i]);
        /* "identity" is one topic per department */
        zz_config_topic_streams(names, N_INPUTS, &ts);
        for (i = 0; i < ts.n; i++) {
                zz_config_topic(config, ts.name[i], topic, sizeof(topic));
                for (j = 0; j < sizeof(outcomes) / sizeof(outcomes[0]); j++)
                        zz_metrics_add(m, "zz_events_total", H_EVENTS, "topic",
                                       topic, "outcome",
                                       zz_fact_outcome_name(outcomes[j]), 0);
        }
        zz_metrics_declare(m, "zz_dead_letters_total", ZZ_METRIC_COUNTER,
                           H_DEAD, 1);
        for (i = 0; i < ZZ_REASON__COUNT; i++)
                zz_metrics_add(m, "zz_dead_letters_total", H_DEAD, "reason",
                               zz_reason_name((zz_reason_t)i), NULL, NULL, 0);
        zz_metrics_declare(m, "zz_decisions_changed_total", ZZ_METRIC_COUNTER,
                           H_CHANGED, 0);
        zz_metrics_declare(m, "zz_batches_total", ZZ_METRIC_COUNTER, H_BATCHES,
                           0);
        zz_metrics_declare(m, "zz_batches_fenced_total", ZZ_METRIC_COUNTER,
                           H_FENCED, 0);
        zz_metrics_declare(m, "zz_batch_seconds", ZZ_METRIC_HISTOGRAM,
                           H_BATCH_S, 0);
        zz_metrics_declare(m, "zz_phase_seconds_total", ZZ_METRIC_COUNTER,
                           H_PHASE, 1);
        for (i = 0; i < 4; i++)
                zz_metrics_add(m, "zz_phase_seconds_total", H_PHASE, "phase",
                               phases[i], NULL, NULL, 0);
        /* one series per owned partition, known only once assigned */
        zz_metrics_declare(m, "zz_consumer_lag", ZZ_METRIC_GAUGE, H_LAG, 1);
}

static int process_batch(zz_worker_t *w, char *errstr, size_t errstr_size)
{
        result_t *results;
        size_t changed = 0, i;
        double t0 = now_s();
        int attempt, rc = -1;

        results = calloc(w->n_batch + 1, sizeof(*results));
        if (results == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (attempt = 0; attempt < 20 && w->n_batch > 0; attempt++) {
                changed = 0;
                rc = try_batch(w, results, &changed, errstr, errstr_size);
                if (rc == 0 || rc < 0)
                        break;
                if (rc == 1) {
                        zz_log_warn("batch conflicted (%s), retrying", errstr);
                        nanosleep(&(struct timespec){0, 20000000L}, NULL);
                }
        }
        if (rc > 0 && w->n_batch > 0) {
                snprintf(errstr, errstr_size,
                         "batch still conflicting after 20 attempts");
                rc = -1;
        }
        if (rc == 2 || w->n_batch == 0)
                rc = 0;
        if (rc == 0 && w->opts.metrics != NULL) {
                zz_metrics_t *m = w->opts.metrics;
                for (i = 0; i < w->n_batch; i++) {
                        zz_metrics_add(
                            m, "zz_events_total", H_EVENTS, "topic",
                            rd_kafka_topic_name(w->batch[i]->rkt), "outcome",
                            zz_fact_outcome_name(results[i].outcome), 1);
                        if (results[i].outcome == ZZ_FACT_DEAD_LETTER)
                                zz_metrics_add(
                                    m, "zz_dead_letters_total", H_DEAD,
                                    "reason", results[i].reason, NULL, NULL, 1);
                }
                zz_metrics_add(m, "zz_decisions_changed_total", H_CHANGED, NULL,
                               NULL, NULL, NULL, (double)changed);
                zz_metrics_add(m, "zz_batches_total", H_BATCHES, NULL, NULL,
                               NULL, NULL, 1);
                phase_metrics(w);
                zz_metrics_observe(m, "zz_batch_seconds", H_BATCH_S,
                                   now_s() - t0);
                update_lag(w);
        }
        if (rc == 0) {
                w->n_batches++;
                w->n_events += w->n_batch;
                zz_log_debug("batch of %zu committed, %zu decisions changed",
                             w->n_batch, changed);
        }
        for (i = 0; i < w->n_batch; i++)
                rd_kafka_message_destroy(w->batch[i]);
        w->n_batch = 0;
        free(results);
        return rc;
}

/* Fills the batch in hand from the consumer: up to batch_max messages of
 * our partitions, for at most batch_ms after the first. *last_msg is when
 * a message last came (or partitions were not ours yet). 0 when the batch
 * is full, its time is up or the worker is stopping; 1 when the worker
 * has been idle for idle_exit_ms with an empty batch. */
static int fill_batch(zz_worker_t *w, double *last_msg)
{
        double first = 0;

        while ((size_t)w->n_batch < (size_t)w->opts.batch_max && !w->fatal) {
                rd_kafka_message_t *m;
                owned_t *o;
                int timeout = 100;

                if (w->n_batch > 0) {
                        double left =
                            w->opts.batch_ms / 1000.0 - (now_s() - first);
                        if (left <= 0)
                                break;
                        timeout = (int)(left * 1000) + 1;
                }
                if (w->opts.stop != NULL && *w->opts.stop)
                        break;
                m = rd_kafka_consumer_poll(w->rk, timeout);
                if (m == NULL) {
                        /* idle counts only while partitions are ours: not
                         * while joining the group */
                        if (w->n_owned == 0)
                                *last_msg = now_s();
                        if (w->n_batch == 0 && w->opts.idle_exit_ms > 0 &&
                            (now_s() - *last_msg) * 1000 > w->opts.idle_exit_ms)
                                return 1;
                        continue;
                }
                if (m->err) {
                        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                zz_log_warn("consumer: %s",
                                            rd_kafka_message_errstr(m));
                        rd_kafka_message_destroy(m);
                        continue;
                }
                *last_msg = now_s();
                o = find_owned(w, rd_kafka_topic_name(m->rkt), m->partition);
                if (o == NULL || m->offset < o->next) {
                        /* not ours (any more), or already done */
                        rd_kafka_message_destroy(m);
                        continue;
                }
                o->next = m->offset + 1;
                if (w->n_batch == 0)
                        first = now_s();
                w->batch[w->n_batch++] = m;
        }
        return 0;
}

int zz_worker_run(zz_worker_t *w, char *errstr, size_t errstr_size)
{
        double last_msg = now_s();
        int rc = 0;

        while (!w->fatal && !(w->opts.stop != NULL && *w->opts.stop)) {
                double polled = now_s();

                if (fill_batch(w, &last_msg) != 0)
                        break;
                /* time spent waiting for a batch, counted only once a
                 * batch has started: the idle tail is not input time */
                if (w->n_batch > 0)
                        w->t_input += now_s() - polled;
                if (w->n_batch > 0 &&
                    process_batch(w, errstr, errstr_size) != 0) {
                        rc = -1;
                        break;
                }
                stats_check(w);
        }
        if (w->fatal && rc == 0) {
                snprintf(errstr, errstr_size, "%s", w->fatal_msg);
                rc = -1;
        }
        if (rc == 0 && w->n_batch > 0 &&
            process_batch(w, errstr, errstr_size) != 0)
                rc = -1;
        zz_log_info("%zu events in %zu batches; seconds waiting for input "
                    "%.1f, facts %.1f, decisions %.1f, commit %.1f",
                    w->n_events, w->n_batches, w->t_input, w->t_facts,
                    w->t_decide, w->t_commit);
        /* Leave the group: the revoke callback gives the partitions up. */
        rd_kafka_consumer_close(w->rk);
        return rc;
}
