/*
 * zz-bench-naive.c — the textbook baseline: the consumer everyone writes
 * first. For each message of the input topics, one at a time: decode it,
 * and in one PostgreSQL transaction insert the fact (ON CONFLICT (event_id)
 * DO NOTHING), read back every fact of the person, fold them into a case,
 * decide it with the policy engine and upsert the person's decision row.
 * Same schema (sql/020_subsidy.sql), same codec and engine as the worker;
 * one transaction, and so one WAL flush, per event; statements sent with
 * PQexecParams, unprepared.
 *
 * It is slow, so it stops after --max-events and reports the rate over
 * what it did.
 *
 *   ZIZHU_PG='dbname=zizhu_bench_x ...' zz-bench-naive --prefix P \
 *       [--max-events 20000]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>

#include "bench_common.h"
#include "zizhu/codec.h"
#include "zizhu/config.h"
#include "zizhu/date.h"
#include "zizhu/event.h"

struct naive {
        PGconn *conn;
        zz_codec_t *codec;
        zz_bench_policies_t *policies;
        zz_arena_t *arena; /* per message */
        zz_bench_fold_t fold;
        long long decisions;
        long long undecided;
};

/* Runs a parameterized statement; the result when its status is want,
 * else NULL with the error on stderr. */
static PGresult *q(struct naive *nv, const char *sql, int n,
                   const char *const *values, ExecStatusType want)
{
        PGresult *res =
            PQexecParams(nv->conn, sql, n, NULL, values, NULL, NULL, 0);

        if (PQresultStatus(res) != want) {
                fprintf(stderr, "zz-bench-naive: %s", PQerrorMessage(nv->conn));
                PQclear(res);
                return NULL;
        }
        return res;
}

static int cmd(struct naive *nv, const char *sql, int n,
               const char *const *values)
{
        PGresult *res = q(nv, sql, n, values, PGRES_COMMAND_OK);

        if (res == NULL)
                return -1;
        PQclear(res);
        return 0;
}

/* Text helpers: each returns a string in the arena. */
static const char *ll(struct naive *nv, long long v)
{
        char tmp[32];

        snprintf(tmp, sizeof(tmp), "%lld", v);
        return zz_arena_strdup(nv->arena, tmp);
}

static const char *date_text(struct naive *nv, zz_date_t d)
{
        char tmp[16];

        if (d == ZZ_DATE_NONE)
                return NULL;
        return zz_arena_strdup(nv->arena, zz_date_format(d, tmp, sizeof(tmp)));
}

static zz_date_t parse_date(const char *s)
{
        zz_date_t d;

        if (s == NULL || s[0] == '\0' || zz_date_parse(s, strlen(s), &d) != 0)
                return ZZ_DATE_NONE;
        return d;
}

static const char *json_attrs(struct naive *nv, const zz_event_attr_t *attrs,
                              size_t n)
{
        char json[2048];
        size_t len = 0, i;

        json[len++] = '{';
        for (i = 0; i < n; i++) {
                int w =
                    snprintf(json + len, sizeof(json) - len, "%s\"%s\":\"%s\"",
                             i ? "," : "", attrs[i].key, attrs[i].value);

                if (w < 0 || (size_t)w >= sizeof(json) - len - 2)
                        break;
                len += (size_t)w;
        }
        json[len++] = '}';
        json[len] = '\0';
        return zz_arena_strdup(nv->arena, json);
}

static int action_code(const char *s)
{
        static const char *const names[] = {"GRANT", "END", "CORRECT", "REVOKE",
                                            "DECEASED"};
        int i;

        for (i = 0; i < 5; i++) {
                if (strcmp(s, names[i]) == 0)
                        return i + 1;
        }
        return 0;
}

/* Reads every fact of the person back and folds them. */
static int load_person(struct naive *nv, const char *person)
{
        const char *params[1] = {person};
        PGresult *res;
        int i;

        zz_bench_fold_reset(&nv->fold, person);
        res = q(nv,
                "SELECT department, dept_record_id, action, category, "
                "coalesce((SELECT string_agg(key || '=' || value, ';') "
                "FROM jsonb_each_text(attrs)), ''), valid_from::text, "
                "valid_to::text, approving_region, residence_region, "
                "reported_at, deceased_on::text FROM zizhu.identity_fact "
                "WHERE person_id = $1 ORDER BY reported_at, event_id",
                1, params, PGRES_TUPLES_OK);
        if (res == NULL)
                return -1;
        for (i = 0; i < PQntuples(res); i++)
                zz_bench_fold_identity(
                    &nv->fold, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                    action_code(PQgetvalue(res, i, 2)), PQgetvalue(res, i, 3),
                    PQgetvalue(res, i, 4), parse_date(PQgetvalue(res, i, 5)),
                    parse_date(PQgetvalue(res, i, 6)), PQgetvalue(res, i, 7),
                    PQgetvalue(res, i, 8),
                    strtoll(PQgetvalue(res, i, 9), NULL, 10),
                    parse_date(PQgetvalue(res, i, 10)));
        PQclear(res);
        res = q(nv,
                "SELECT dept_record_id, action, household_id, year, tier, "
                "enrollment_class, kind, registered_on::text, region, unit "
                "FROM zizhu.enrollment_fact WHERE person_id = $1 "
                "ORDER BY registered_on, event_id",
                1, params, PGRES_TUPLES_OK);
        if (res == NULL)
                return -1;
        for (i = 0; i < PQntuples(res); i++) {
                const char *cls = PQgetvalue(res, i, 5);

                zz_bench_fold_enrollment(
                    &nv->fold, PQgetvalue(res, i, 0),
                    strcmp(PQgetvalue(res, i, 1), "CANCEL") == 0 ? 2 : 1,
                    PQgetvalue(res, i, 2), atoi(PQgetvalue(res, i, 3)),
                    atoi(PQgetvalue(res, i, 4)),
                    strcmp(cls, "COLLEGE") == 0         ? 3
                    : strcmp(cls, "STUDENT_CHILD") == 0 ? 2
                                                        : 1,
                    strcmp(PQgetvalue(res, i, 6), "MID_YEAR") == 0 ? 2 : 1,
                    parse_date(PQgetvalue(res, i, 7)), PQgetvalue(res, i, 8),
                    PQgetvalue(res, i, 9));
        }
        PQclear(res);
        res = q(nv,
                "SELECT contribution_fen, subsidy_applied_fen, paid_fen, "
                "paid_at FROM zizhu.payment_fact WHERE person_id = $1 "
                "ORDER BY paid_at, event_id",
                1, params, PGRES_TUPLES_OK);
        if (res == NULL)
                return -1;
        for (i = 0; i < PQntuples(res); i++)
                zz_bench_fold_payment(&nv->fold,
                                      strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                      strtoll(PQgetvalue(res, i, 1), NULL, 10),
                                      strtoll(PQgetvalue(res, i, 2), NULL, 10),
                                      strtoll(PQgetvalue(res, i, 3), NULL, 10));
        PQclear(res);
        return 0;
}

static int decide(struct naive *nv, const char *person, const char *event_id,
                  zz_ts_t decided_at)
{
        zz_case_t kase;
        const zz_policy_t *policy;
        zz_decision_t d;
        char body[512];
        const char *params[14];

        if (load_person(nv, person) != 0)
                return -1;
        if (zz_bench_fold_case(&nv->fold, nv->policies, nv->arena, &kase,
                               &policy) != 0 ||
            zz_policy_eval_ex(policy, &kase, &d, nv->arena, ZZ_EVAL_NO_TRACE) !=
                0) {
                nv->undecided++;
                return 0;
        }
        snprintf(body, sizeof(body),
                 "{\"policy\":\"%s\",\"year\":%d,\"eligible\":%s,"
                 "\"subsidy_fen\":%lld,\"individual_due_fen\":%lld,"
                 "\"reconciliation\":\"%s\",\"source_event_id\":\"%s\"}",
                 d.policy, d.year, d.eligible ? "true" : "false",
                 (long long)d.subsidy_fen, (long long)d.individual_due_fen,
                 zz_recon_status_name(d.reconciliation.status), event_id);
        params[0] = person;
        params[1] = ll(nv, d.year);
        params[2] = d.policy;
        params[3] = d.policy_version;
        params[4] = d.eligible ? "true" : "false";
        params[5] = ll(nv, d.contribution_fen);
        params[6] = ll(nv, d.subsidy_fen);
        params[7] = ll(nv, d.individual_due_fen);
        params[8] = zz_recon_status_name(d.reconciliation.status);
        params[9] = ll(nv, d.reconciliation.fen);
        params[10] = d.region;
        params[11] = ll(nv, decided_at);
        params[12] = event_id;
        params[13] = body;
        nv->decisions++;
        return cmd(nv,
                   "INSERT INTO zizhu.decision (person_id, year, revision, "
                   "policy_name, policy_version, eligible, contribution_fen, "
                   "subsidy_fen, individual_due_fen, recon_status, recon_fen, "
                   "region, decided_at, source_event_id, body) VALUES ($1, "
                   "$2, 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                   "$14) ON CONFLICT (person_id, year) DO UPDATE SET "
                   "revision = zizhu.decision.revision + 1, policy_name = "
                   "EXCLUDED.policy_name, policy_version = "
                   "EXCLUDED.policy_version, eligible = EXCLUDED.eligible, "
                   "contribution_fen = EXCLUDED.contribution_fen, "
                   "subsidy_fen = EXCLUDED.subsidy_fen, individual_due_fen = "
                   "EXCLUDED.individual_due_fen, recon_status = "
                   "EXCLUDED.recon_status, recon_fen = EXCLUDED.recon_fen, "
                   "region = EXCLUDED.region, decided_at = "
                   "EXCLUDED.decided_at, source_event_id = "
                   "EXCLUDED.source_event_id, body = EXCLUDED.body",
                   14, params);
}

/* Inserts the fact of one decoded message; *person and *at receive the
 * person (NULL for control) and the fact's business time. */
static int insert_fact(struct naive *nv, zz_stream_t stream,
                       avro_value_t *value, const rd_kafka_message_t *m,
                       const char **person, const char **event_id, zz_ts_t *at)
{
        char errstr[256];
        const char *topic = rd_kafka_topic_name(m->rkt);
        const char *part = ll(nv, m->partition);
        const char *off = ll(nv, m->offset);

        *person = NULL;
        if (stream == ZZ_STREAM_IDENTITY) {
                zz_event_identity_t e;
                const char *p[16];

                if (zz_event_identity_from_value(value, nv->arena,
                                                 ZZ_EVENT_BORROW, &e, errstr,
                                                 sizeof(errstr)) != 0)
                        return 1;
                p[0] = e.event_id;
                p[1] = e.person_id;
                p[2] = e.department;
                p[3] = e.dept_record_id;
                p[4] = zz_identity_action_name(e.action);
                p[5] = e.category;
                p[6] = json_attrs(nv, e.attrs, e.attrs_count);
                p[7] = date_text(nv, e.valid_from);
                p[8] = date_text(nv, e.valid_to);
                p[9] = e.approving_region;
                p[10] = e.residence_region;
                p[11] = ll(nv, e.reported_at);
                p[12] = date_text(nv, e.deceased_on);
                p[13] = topic;
                p[14] = part;
                p[15] = off;
                if (p[7] == NULL)
                        p[7] = "1900-01-01"; /* DECEASED carries none */
                *person = e.person_id;
                *event_id = e.event_id;
                *at = e.reported_at;
                return cmd(nv,
                           "INSERT INTO zizhu.identity_fact VALUES ($1, $2, "
                           "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                           "$14, $15, $16) ON CONFLICT (event_id) DO NOTHING",
                           16, p);
        }
        if (stream == ZZ_STREAM_ENROLLMENT) {
                zz_event_enrollment_t e;
                const char *p[16];

                if (zz_event_enrollment_from_value(value, nv->arena,
                                                   ZZ_EVENT_BORROW, &e, errstr,
                                                   sizeof(errstr)) != 0)
                        return 1;
                p[0] = e.event_id;
                p[1] = e.person_id;
                p[2] = e.department;
                p[3] = e.dept_record_id;
                p[4] = zz_enrollment_action_name(e.action);
                p[5] = e.household_id;
                p[6] = ll(nv, e.year);
                p[7] = ll(nv, e.tier);
                p[8] = zz_enrollment_class_name(e.enrollment_class);
                p[9] = zz_enrollment_kind_name(e.kind);
                p[10] = date_text(nv, e.registered_on);
                p[11] = e.region;
                p[12] = e.unit;
                p[13] = topic;
                p[14] = part;
                p[15] = off;
                *person = e.person_id;
                *event_id = e.event_id;
                *at = e.reported_at;
                return cmd(nv,
                           "INSERT INTO zizhu.enrollment_fact VALUES ($1, $2, "
                           "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                           "$14, $15, $16) ON CONFLICT (event_id) DO NOTHING",
                           16, p);
        }
        if (stream == ZZ_STREAM_PAYMENT) {
                zz_event_payment_t e;
                const char *p[15];

                if (zz_event_payment_from_value(value, nv->arena,
                                                ZZ_EVENT_BORROW, &e, errstr,
                                                sizeof(errstr)) != 0)
                        return 1;
                p[0] = e.event_id;
                p[1] = e.person_id;
                p[2] = e.department;
                p[3] = e.dept_record_id;
                p[4] = zz_payment_kind_name(e.kind);
                p[5] = ll(nv, e.year);
                p[6] = ll(nv, e.contribution_fen);
                p[7] = ll(nv, e.subsidy_applied_fen);
                p[8] = ll(nv, e.paid_fen);
                p[9] = ll(nv, e.refund_fen);
                p[10] = ll(nv, e.paid_at);
                p[11] = e.receipt;
                p[12] = topic;
                p[13] = part;
                p[14] = off;
                *person = e.person_id;
                *event_id = e.event_id;
                *at = e.paid_at;
                return cmd(nv,
                           "INSERT INTO zizhu.payment_fact VALUES ($1, $2, "
                           "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                           "$14, $15) ON CONFLICT (event_id) DO NOTHING",
                           15, p);
        }
        return 0; /* control: nothing for the baseline to decide */
}

/* One message, one transaction. 0 done, 1 skipped (undecodable), -1 on a
 * database error. */
static int handle(struct naive *nv, zz_stream_t stream,
                  const rd_kafka_message_t *m)
{
        avro_value_t value;
        zz_codec_err_t err;
        char errstr[256];
        const char *person = NULL, *event_id = NULL;
        zz_ts_t at = 0;
        int rc;

        zz_arena_reset(nv->arena);
        if (zz_codec_decode(nv->codec, stream, m->payload, m->len, &value, &err,
                            errstr, sizeof(errstr)) != 0)
                return 1;
        if (cmd(nv, "BEGIN", 0, NULL) != 0)
                return -1;
        rc = insert_fact(nv, stream, &value, m, &person, &event_id, &at);
        if (rc == 0 && person != NULL)
                rc = decide(nv, person, event_id, at);
        if (rc != 0) {
                PQclear(PQexec(nv->conn, "ROLLBACK"));
                return rc;
        }
        return cmd(nv, "COMMIT", 0, NULL);
}

static int set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
        char errstr[512];

        if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
                fprintf(stderr, "zz-bench-naive: %s\n", errstr);
                return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        static const char *const inputs[] = {"identity", "enrollment",
                                             "payment", "control"};
        static const zz_stream_t streams[] = {
            ZZ_STREAM_IDENTITY, ZZ_STREAM_ENROLLMENT, ZZ_STREAM_PAYMENT,
            ZZ_STREAM_CONTROL};
        char topic_names[ZZ_CONFIG_STREAMS_MAX][ZZ_CONFIG_STREAM_SIZE];
        zz_stream_t topic_streams[ZZ_CONFIG_STREAMS_MAX];
        size_t n_topics = 0;
        const char *bootstrap = getenv("ZIZHU_BOOTSTRAP");
        const char *conninfo = getenv("ZIZHU_PG");
        const char *prefix = NULL;
        long long max_events = 20000, done = 0, skipped = 0;
        struct naive nv;
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        rd_kafka_topic_partition_list_t *parts;
        const struct rd_kafka_metadata *md = NULL;
        char errstr[512] = "", group[64], policy_dir[4096];
        double t0 = 0, t_report, t_end;
        rd_kafka_queue_t **pqs;
        char *at_eof;
        int eofs = 0, a, turn;
        size_t i;

        zz_bench_set_name("naive");
        memset(&nv, 0, sizeof(nv));
        snprintf(policy_dir, sizeof(policy_dir), "%s/policies", ZZ_SOURCE_DIR);
        for (a = 1; a + 1 < argc; a += 2) {
                if (strcmp(argv[a], "--prefix") == 0)
                        prefix = argv[a + 1];
                else if (strcmp(argv[a], "--max-events") == 0)
                        max_events = strtoll(argv[a + 1], NULL, 10);
                else if (strcmp(argv[a], "--pg") == 0)
                        conninfo = argv[a + 1];
                else if (strcmp(argv[a], "--policy-dir") == 0)
                        zz_bench_copy(policy_dir, sizeof(policy_dir),
                                      argv[a + 1]);
                else
                        break;
        }
        if (a != argc || prefix == NULL || conninfo == NULL ||
            max_events <= 0) {
                fprintf(stderr, "usage: zz-bench-naive --prefix P "
                                "[--max-events N] [--pg CONNINFO] "
                                "[--policy-dir DIR]\n");
                return 2;
        }
        if (bootstrap == NULL || bootstrap[0] == '\0')
                bootstrap = "127.0.0.1:19092";
        nv.codec = zz_codec_new(errstr, sizeof(errstr));
        nv.policies = nv.codec ? zz_bench_policies_load(policy_dir, errstr,
                                                        sizeof(errstr))
                               : NULL;
        nv.arena = zz_arena_new(0);
        if (nv.policies == NULL || nv.arena == NULL) {
                fprintf(stderr, "zz-bench-naive: %s\n", errstr);
                return 1;
        }
        nv.conn = PQconnectdb(conninfo);
        if (PQstatus(nv.conn) != CONNECTION_OK) {
                fprintf(stderr, "zz-bench-naive: %s", PQerrorMessage(nv.conn));
                return 1;
        }
        conf = rd_kafka_conf_new();
        snprintf(group, sizeof(group), "zz-bench-naive-%d", (int)getpid());
        if (set(conf, "bootstrap.servers", bootstrap) != 0 ||
            set(conf, "group.id", group) != 0 ||
            set(conf, "enable.auto.commit", "false") != 0 ||
            set(conf, "enable.partition.eof", "true") != 0 ||
            set(conf, "isolation.level", "read_committed") != 0)
                return 2;
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (rk == NULL) {
                fprintf(stderr, "zz-bench-naive: %s\n", errstr);
                return 1;
        }
        rd_kafka_poll_set_consumer(rk);
        if (rd_kafka_metadata(rk, 1, NULL, &md, 10000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "zz-bench-naive: no metadata\n");
                return 1;
        }
        /* identity: every department's topic */
        for (i = 0; i < 4; i++) {
                zz_config_streams_t ts;
                size_t j;

                zz_config_topic_streams(&inputs[i], 1, &ts);
                for (j = 0; j < ts.n && n_topics < ZZ_CONFIG_STREAMS_MAX;
                     j++, n_topics++) {
                        snprintf(topic_names[n_topics],
                                 sizeof(topic_names[n_topics]), "%s",
                                 ts.name[j]);
                        topic_streams[n_topics] = streams[i];
                }
        }
        parts = rd_kafka_topic_partition_list_new(16);
        for (i = 0; i < n_topics; i++) {
                char name[256];
                int t, p;

                snprintf(name, sizeof(name), "%s%s", prefix, topic_names[i]);
                for (t = 0; t < md->topic_cnt; t++) {
                        if (strcmp(md->topics[t].topic, name) != 0)
                                continue;
                        for (p = 0; p < md->topics[t].partition_cnt; p++)
                                rd_kafka_topic_partition_list_add(
                                    parts, name, md->topics[t].partitions[p].id)
                                    ->offset = RD_KAFKA_OFFSET_BEGINNING;
                }
        }
        rd_kafka_metadata_destroy(md);
        zz_bench_progress("one transaction per event, at most %lld events",
                          max_events);
        /* One queue per partition, taken in turn: a capped run then sees
         * every topic in its proportion, as the full stream would. */
        pqs = calloc((size_t)parts->cnt, sizeof(*pqs));
        at_eof = calloc((size_t)parts->cnt, sizeof(*at_eof));
        if (pqs == NULL || at_eof == NULL)
                return 1;
        rd_kafka_assign(rk, parts);
        for (a = 0; a < parts->cnt; a++) {
                pqs[a] = rd_kafka_queue_get_partition(
                    rk, parts->elems[a].topic, parts->elems[a].partition);
                rd_kafka_queue_forward(pqs[a], NULL);
        }
        t_report = zz_bench_now();
        t_end = t_report;
        turn = 0;
        while (eofs < parts->cnt && done + skipped < max_events) {
                rd_kafka_message_t *m;
                const char *topic;
                size_t plen = strlen(prefix);
                zz_stream_t stream = ZZ_STREAM_CONTROL;
                double now;
                int rc;

                turn = (turn + 1) % parts->cnt;
                if (at_eof[turn])
                        continue;
                rd_kafka_poll(rk, 0);
                m = rd_kafka_consume_queue(pqs[turn], 200);
                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        at_eof[turn] = 1;
                        eofs++;
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        fprintf(stderr, "zz-bench-naive: %s\n",
                                rd_kafka_message_errstr(m));
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (t0 == 0)
                        t0 = zz_bench_now(); /* from the first message */
                topic = rd_kafka_topic_name(m->rkt);
                for (i = 0; i < n_topics; i++) {
                        if (strcmp(topic + plen, topic_names[i]) == 0)
                                stream = topic_streams[i];
                }
                rc = handle(&nv, stream, m);
                rd_kafka_message_destroy(m);
                if (rc < 0)
                        return 1;
                if (rc == 0)
                        done++;
                else
                        skipped++;
                now = zz_bench_now();
                t_end = now;
                if (now - t_report >= 5.0) {
                        zz_bench_progress("%lld events, %.0f/s", done,
                                          (double)done / (now - t0));
                        t_report = now;
                }
        }
        for (a = 0; a < parts->cnt; a++)
                rd_kafka_queue_destroy(pqs[a]);
        free(pqs);
        free(at_eof);
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        PQfinish(nv.conn);
        zz_bench_progress("%lld events (%lld skipped) in %.2f s, %lld "
                          "decisions",
                          done, skipped, t_end - t0, nv.decisions);
        printf("naive_events %lld\n", done);
        printf("naive_seconds %.3f\n", t_end - t0);
        printf("naive_events_per_s %.0f\n",
               t_end > t0 ? (double)done / (t_end - t0) : 0.0);
        printf("naive_decisions %lld\n", nv.decisions);
        zz_bench_policies_destroy(nv.policies);
        zz_codec_destroy(nv.codec);
        zz_arena_destroy(nv.arena);
        return 0;
}
