/*
 * test_subsidy_harness.h — shared by the subsidy worker's integration and
 * fault tests: a fresh database and fresh topics per run, a generated data
 * set of persons across the five policies, producing it as Avro, running
 * the worker binary, and reading back the database and the output topics.
 *
 * Reads ZIZHU_BOOTSTRAP and ZIZHU_PG (defaults: the local stack). Each run
 * uses the topic prefix "t<pid>_<n>." and the database "zzt_<pid>_<n>", so
 * runs do not collide with each other or with the demo.
 */
#ifndef TEST_SUBSIDY_HARNESS_H
#define TEST_SUBSIDY_HARNESS_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "zizhu/codec.h"
#include "zizhu/config.h"
#include "zizhu/date.h"
#include "zizhu/idno.h"
#include "zizhu/pg.h"
#include "zizhu/policy.h"

#include "harness.h"

typedef th_env_t h_env_t;

/* ------------------------------------------------------------------ */
/* Database and topics                                                 */

/* A fresh database (migrated) and fresh topics for tag. */
static inline int h_env_new(h_env_t *env, const char *tag)
{
        th_env_init(env, "zzt", "t", tag);
        if (th_create_db(env->pg_base, env->db, 0) != 0)
                return -1;
        return th_create_topics(env,
                                TH_TOPICS_COMPACT_STATE | TH_TOPICS_CHECK_EACH);
}

/* Deletes the run's topics (best effort) and its database. */
static inline void h_env_drop(h_env_t *env)
{
        th_delete_topics(env);
        th_drop_db(env->pg_base, env->db, 0, 20);
}

/* ------------------------------------------------------------------ */
/* Generated persons                                                   */

typedef struct h_ident_s {
        char event_id[48];
        char record[64];
        const char *department;
        const char *category;
        zz_attr_t attrs[2];
        size_t n_attrs;
        zz_date_t valid_from;
        zz_date_t valid_to;
        zz_ts_t reported_at;
        char approving[16];
} h_ident_t;

typedef struct h_person_s {
        char id[19];
        h_ident_t idents[2];
        size_t n_idents;
        int enrolled;
        char enroll_event[48];
        int year;
        int tier;
        zz_enroll_class_t klass;
        zz_date_t registered_on;
        char region[16];
        char household[24];
        int paid;
        char pay_event[48];
        zz_ts_t paid_at;
        zz_fen_t contribution, applied, paid_fen;
} h_person_t;

typedef struct h_locality_s {
        const char *region; /* 12 digits */
        int year;
        zz_date_t from, to;
        zz_fen_t tier1, tier2;
} h_locality_t;

static const struct {
        const char *category;
        const char *department;
        const char *k1, *v1, *k2, *v2;
} h_cats[] = {
    {"MCA.DIBAO", "MCA", NULL, NULL, NULL, NULL},
    {"MCA.TEKUN", "MCA", "supported", "dispersed", NULL, NULL},
    {"MCA.ORPHAN", "MCA", "supported", "dispersed", NULL, NULL},
    {"MCA.UNSUPPORTED_CHILD", "MCA", NULL, NULL, NULL, NULL},
    {"MCA.LOW_INCOME", "MCA", "subgroup", "elderly60", NULL, NULL},
    {"MCA.ILLNESS_POVERTY", "MCA", NULL, NULL, NULL, NULL},
    {"MCA.OTHER_HARDSHIP", "MCA", NULL, NULL, NULL, NULL},
    {"MVA.PRIORITY_CARE", "MVA", "old_demobilized", "false", NULL, NULL},
    {"RRB.POOR", "RRB", "lifted", "false", "benefits_enjoyed", "true"},
    {"RRB.POOR", "RRB", "lifted", "true", "benefits_enjoyed", "true"},
    {"RRB.EDGE", "RRB", NULL, NULL, NULL, NULL},
    {"RRB.MONITORED", "RRB", "kind", "edge", NULL, NULL},
    {"DPF.DISABLED", "DPF", "level", "1", NULL, NULL},
    {"DPF.DISABLED", "DPF", "level", "3", NULL, NULL},
    {"NHC.FP_REWARD", "NHC", NULL, NULL, NULL, NULL},
    {"NHC.FP_SPECIAL", "NHC", "relation", "self", NULL, NULL},
    {"EDU.GRANT_STUDENT", "EDU", NULL, NULL, NULL, NULL},
};
#define H_N_CATS (sizeof(h_cats) / sizeof(h_cats[0]))

static unsigned long long h_rng = 88172645463325252ULL;
static inline unsigned h_rand(unsigned n)
{
        h_rng ^= h_rng << 13;
        h_rng ^= h_rng >> 7;
        h_rng ^= h_rng << 17;
        return (unsigned)(h_rng % n);
}

/* Distinct persons get distinct numbers: sequence i % 1000, birth date
 * 1950-01-01 plus i / 1000 days. */
static inline void h_make_id(const char *region, int i, char out[19])
{
        char birth[16];
        int y, m, d;

        zz_date_to_ymd(zz_date_from_ymd(1950, 1, 1) + i / 1000, &y, &m, &d);
        snprintf(birth, sizeof(birth), "%04d%02d%02d", y, m, d);
        th_idno(region, birth, i, out);
}

/* Loads the five policies (for windows and tiers). */
static inline int h_localities(h_locality_t loc[5])
{
        static const char *const files[5] = {"tongnan-2021", "panzhihua-2022",
                                             "huilong-2020", "yubei-2017",
                                             "shantou-2021"};
        static const char *const regions[5] = {"500152001001", "510402001001",
                                               "500155107001", "500112001001",
                                               "440507001001"};
        int i;

        for (i = 0; i < 5; i++) {
                char path[1024], errstr[512];
                zz_policy_t *p;

                snprintf(path, sizeof(path), "%s/policies/%s.yaml",
                         ZZ_SOURCE_DIR, files[i]);
                p = zz_policy_load_file(path, errstr, sizeof(errstr));
                if (p == NULL) {
                        fprintf(stderr, "%s\n", errstr);
                        return -1;
                }
                loc[i].region = regions[i];
                loc[i].year = zz_policy_year(p);
                zz_policy_window(p, &loc[i].from, &loc[i].to);
                loc[i].tier1 = zz_policy_tier_fen(p, 1);
                loc[i].tier2 = zz_policy_tier_fen(p, 2);
                if (loc[i].tier2 < 0)
                        loc[i].tier2 = loc[i].tier1;
                zz_policy_destroy(p);
        }
        return 0;
}

/* n persons, deterministic for a seed. */
static inline h_person_t *h_generate(size_t n, unsigned long long seed)
{
        h_locality_t loc[5];
        h_person_t *ps = calloc(n, sizeof(*ps));
        size_t i, k;

        if (ps == NULL || h_localities(loc) != 0) {
                free(ps);
                return NULL;
        }
        h_rng = seed ? seed : 88172645463325252ULL;
        for (i = 0; i < n; i++) {
                h_person_t *p = &ps[i];
                const h_locality_t *l = &loc[i % 5];
                int span = l->to - l->from + 1;
                const char *region = l->region;

                if (h_rand(20) == 0)
                        region = "110101001001"; /* enrolled elsewhere */
                h_make_id(l->region, (int)i, p->id);
                p->n_idents = h_rand(3);
                for (k = 0; k < p->n_idents; k++) {
                        h_ident_t *id = &p->idents[k];
                        unsigned c = h_rand(H_N_CATS);

                        snprintf(id->event_id, sizeof(id->event_id),
                                 "id-%zu-%zu", i, k);
                        snprintf(id->record, sizeof(id->record), "R%zu-%zu", i,
                                 k);
                        id->department = h_cats[c].department;
                        id->category = h_cats[c].category;
                        id->n_attrs = 0;
                        if (h_cats[c].k1 != NULL) {
                                id->attrs[0].key = h_cats[c].k1;
                                id->attrs[0].value = h_cats[c].v1;
                                id->n_attrs = 1;
                        }
                        if (h_cats[c].k2 != NULL) {
                                id->attrs[1].key = h_cats[c].k2;
                                id->attrs[1].value = h_cats[c].v2;
                                id->n_attrs = 2;
                        }
                        id->valid_from = l->from - 400 + (int)h_rand(500);
                        id->valid_to = h_rand(4) == 0 ? id->valid_from + 200
                                                      : ZZ_DATE_NONE;
                        id->reported_at =
                            zz_ts_from_cst_date(l->from + (int)h_rand(span));
                        snprintf(id->approving, sizeof(id->approving), "%.6s",
                                 l->region);
                }
                /* records sorted as the worker folds them */
                if (p->n_idents == 2 && (strcmp(p->idents[0].department,
                                                p->idents[1].department) > 0)) {
                        h_ident_t t = p->idents[0];
                        p->idents[0] = p->idents[1];
                        p->idents[1] = t;
                }
                p->enrolled = h_rand(6) != 0;
                p->year = l->year;
                if (p->enrolled) {
                        snprintf(p->enroll_event, sizeof(p->enroll_event),
                                 "en-%zu", i);
                        p->tier = 1 + (int)h_rand(2);
                        if (l->tier2 == l->tier1)
                                p->tier = 1;
                        p->klass = (zz_enroll_class_t)h_rand(3);
                        p->registered_on = l->from + (int)h_rand(span);
                        snprintf(p->region, sizeof(p->region), "%s", region);
                        snprintf(p->household, sizeof(p->household), "H%zu",
                                 i / 3);
                        p->paid = h_rand(4) != 0;
                }
                if (p->paid) {
                        zz_fen_t contrib = p->tier == 1 ? l->tier1 : l->tier2;
                        snprintf(p->pay_event, sizeof(p->pay_event), "pa-%zu",
                                 i);
                        p->paid_at =
                            zz_ts_from_cst_date(p->registered_on) + 3600000;
                        p->contribution = contrib;
                        p->applied = h_rand(3) == 0 ? contrib / 2 : 0;
                        p->paid_fen = contrib - p->applied;
                }
        }
        return ps;
}

/* The case the worker should build for a person (the test's oracle). */
__attribute__((unused)) static void
h_case(const h_person_t *p, zz_identity_t idents[2], zz_case_t *c)
{
        size_t k;

        zz_case_init(c);
        c->person_id = p->id;
        for (k = 0; k < p->n_idents; k++) {
                memset(&idents[k], 0, sizeof(idents[k]));
                idents[k].category = p->idents[k].category;
                idents[k].attrs = p->idents[k].attrs;
                idents[k].n_attrs = p->idents[k].n_attrs;
                idents[k].valid_from = p->idents[k].valid_from;
                idents[k].valid_to = p->idents[k].valid_to;
                idents[k].reported_at = p->idents[k].reported_at;
                idents[k].has_reported_at = 1;
                idents[k].approving_region = p->idents[k].approving;
                idents[k].action = ZZ_ACTION_GRANT;
        }
        c->identities = idents;
        c->n_identities = p->n_idents;
        if (p->enrolled) {
                c->has_enrollment = 1;
                c->region = p->region;
                c->household = p->household;
                c->enrollment.year = p->year;
                c->enrollment.tier = p->tier;
                c->enrollment.enroll_class = p->klass;
                c->enrollment.kind = ZZ_KIND_ANNUAL;
                c->enrollment.registered_on = p->registered_on;
                c->enrollment.region = p->region;
        }
        if (p->paid) {
                c->has_payment = 1;
                c->payment.paid_at = p->paid_at;
                c->payment.contribution_fen = p->contribution;
                c->payment.subsidy_applied_fen = p->applied;
                c->payment.paid_fen = p->paid_fen;
        }
}

/* ------------------------------------------------------------------ */
/* Avro messages                                                       */

typedef struct h_msgs_s {
        th_msg_t *m;
        size_t n, cap;
} h_msgs_t;

static inline void h_msgs_add(h_msgs_t *ms, zz_stream_t stream, const char *key,
                              const void *value, size_t len)
{
        th_msg_t *m;

        if (ms->n == ms->cap) {
                ms->cap = ms->cap ? ms->cap * 2 : 1024;
                ms->m = realloc(ms->m, ms->cap * sizeof(*ms->m));
        }
        m = &ms->m[ms->n++];
        m->stream = stream;
        snprintf(m->key, sizeof(m->key), "%s", key);
        m->value = malloc(len ? len : 1);
        memcpy(m->value, value, len);
        m->len = len;
}

static inline void h_msgs_free(h_msgs_t *ms)
{
        size_t i;

        for (i = 0; i < ms->n; i++)
                free(ms->m[i].value);
        free(ms->m);
        memset(ms, 0, sizeof(*ms));
}

static inline void h_set_str(avro_value_t *r, const char *f, const char *s)
{
        avro_value_t v;
        avro_value_get_by_name(r, f, &v, NULL);
        avro_value_set_string(&v, s);
}
static inline void h_set_long(avro_value_t *r, const char *f, int64_t x)
{
        avro_value_t v;
        avro_value_get_by_name(r, f, &v, NULL);
        if (avro_value_get_type(&v) == AVRO_INT32)
                avro_value_set_int(&v, (int32_t)x);
        else
                avro_value_set_long(&v, x);
}
static inline void h_set_enum(avro_value_t *r, const char *f, const char *sym)
{
        avro_value_t v;
        avro_value_get_by_name(r, f, &v, NULL);
        avro_value_set_enum(
            &v, avro_schema_enum_get_by_name(avro_value_get_schema(&v), sym));
}
static inline void h_set_null(avro_value_t *r, const char *f)
{
        avro_value_t v, b;
        avro_value_get_by_name(r, f, &v, NULL);
        avro_value_set_branch(&v, 0, &b);
        avro_value_set_null(&b);
}
static inline void h_set_opt_int(avro_value_t *r, const char *f, int32_t x)
{
        avro_value_t v, b;
        avro_value_get_by_name(r, f, &v, NULL);
        avro_value_set_branch(&v, 1, &b);
        avro_value_set_int(&b, x);
}

static inline void h_encode(zz_codec_t *codec, zz_stream_t stream,
                            avro_value_t *v, const char *key, h_msgs_t *out)
{
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        char errstr[256];

        if (zz_codec_encode(codec, stream, v, &buf, errstr, sizeof(errstr)) !=
            0) {
                fprintf(stderr, "encode: %s\n", errstr);
                abort();
        }
        h_msgs_add(out, stream, key, buf.data, buf.len);
        zz_codec_buf_free(&buf);
}

static inline void h_identity_msg(zz_codec_t *codec, const h_person_t *p,
                                  const h_ident_t *id, h_msgs_t *out)
{
        avro_value_t r, m, e;
        size_t k;

        zz_codec_value_new(codec, ZZ_STREAM_IDENTITY, &r);
        h_set_str(&r, "event_id", id->event_id);
        h_set_str(&r, "person_id", p->id);
        h_set_str(&r, "department", id->department);
        h_set_str(&r, "dept_record_id", id->record);
        h_set_enum(&r, "action", "GRANT");
        h_set_str(&r, "category", id->category);
        avro_value_get_by_name(&r, "attrs", &m, NULL);
        for (k = 0; k < id->n_attrs; k++) {
                avro_value_add(&m, id->attrs[k].key, &e, NULL, NULL);
                avro_value_set_string(&e, id->attrs[k].value);
        }
        h_set_long(&r, "valid_from", id->valid_from);
        if (id->valid_to == ZZ_DATE_NONE)
                h_set_null(&r, "valid_to");
        else
                h_set_opt_int(&r, "valid_to", id->valid_to);
        h_set_str(&r, "approving_region", id->approving);
        h_set_null(&r, "residence_region");
        h_set_long(&r, "reported_at", id->reported_at);
        h_set_null(&r, "deceased_on");
        h_set_enum(&r, "channel", "LIST_EXCHANGE");
        h_encode(codec, ZZ_STREAM_IDENTITY, &r, p->id, out);
        avro_value_decref(&r);
}

static inline void h_enrollment_msg(zz_codec_t *codec, const h_person_t *p,
                                    h_msgs_t *out)
{
        static const char *const classes[] = {"ADULT", "STUDENT_CHILD",
                                              "COLLEGE"};
        avro_value_t r;

        zz_codec_value_new(codec, ZZ_STREAM_ENROLLMENT, &r);
        h_set_str(&r, "event_id", p->enroll_event);
        h_set_str(&r, "person_id", p->id);
        h_set_str(&r, "department", "NHSA");
        h_set_str(&r, "dept_record_id", p->enroll_event);
        h_set_enum(&r, "action", "REGISTER");
        h_set_str(&r, "household_id", p->household);
        h_set_long(&r, "year", p->year);
        h_set_long(&r, "tier", p->tier);
        h_set_enum(&r, "enrollment_class", classes[p->klass]);
        h_set_enum(&r, "kind", "ANNUAL");
        h_set_long(&r, "registered_on", p->registered_on);
        h_set_str(&r, "region", p->region);
        h_set_null(&r, "unit");
        h_set_long(&r, "reported_at", zz_ts_from_cst_date(p->registered_on));
        h_encode(codec, ZZ_STREAM_ENROLLMENT, &r, p->id, out);
        avro_value_decref(&r);
}

static inline void h_payment_msg(zz_codec_t *codec, const h_person_t *p,
                                 h_msgs_t *out, zz_fen_t applied_override)
{
        avro_value_t r;
        zz_fen_t applied =
            applied_override >= 0 ? applied_override : p->applied;

        zz_codec_value_new(codec, ZZ_STREAM_PAYMENT, &r);
        h_set_str(&r, "event_id", p->pay_event);
        h_set_str(&r, "person_id", p->id);
        h_set_str(&r, "department", "TAX");
        h_set_str(&r, "dept_record_id", p->pay_event);
        h_set_enum(&r, "kind", "PAYMENT");
        h_set_long(&r, "year", p->year);
        h_set_long(&r, "contribution_fen", p->contribution);
        h_set_long(&r, "subsidy_applied_fen", applied);
        h_set_long(&r, "paid_fen", p->paid_fen);
        h_set_long(&r, "refund_fen", 0);
        h_set_long(&r, "paid_at", p->paid_at);
        h_set_str(&r, "receipt", p->pay_event);
        h_encode(codec, ZZ_STREAM_PAYMENT, &r, p->id, out);
        avro_value_decref(&r);
}

/* Every event of the persons, stream by stream. */
static inline void h_messages(zz_codec_t *codec, const h_person_t *ps, size_t n,
                              h_msgs_t *out)
{
        size_t i, k;

        for (i = 0; i < n; i++)
                for (k = 0; k < ps[i].n_idents; k++)
                        h_identity_msg(codec, &ps[i], &ps[i].idents[k], out);
        for (i = 0; i < n; i++)
                if (ps[i].enrolled)
                        h_enrollment_msg(codec, &ps[i], out);
        for (i = 0; i < n; i++)
                if (ps[i].paid)
                        h_payment_msg(codec, &ps[i], out, -1);
}

/* Produces messages[from, to) (idempotent producer, keyed). */
static inline int h_produce(const h_env_t *env, const h_msgs_t *ms, size_t from,
                            size_t to)
{
        if (to > ms->n)
                to = ms->n;
        if (from > to)
                from = to;
        return th_produce(env, ms->m != NULL ? ms->m + from : NULL, to - from,
                          "20", 60000);
}

/* ------------------------------------------------------------------ */
/* Running the worker                                                  */

/* Starts the worker; extras is a NULL-terminated list of options (at
 * most 10), or NULL. */
static inline pid_t h_spawn(const h_env_t *env, const char *group,
                            const char *const *extras)
{
        pid_t pid = fork();

        if (pid == 0) {
                const char *args[24];
                int a = 0;

                th_env_export(env, NULL);
                args[a++] = "-q";
                args[a++] = "--group";
                args[a++] = group;
                args[a++] = "--batch-ms";
                args[a++] = "50";
                while (extras != NULL && *extras != NULL && a < 21)
                        args[a++] = *extras++;
                args[a] = NULL;
                th_exec_bin(ZZ_BIN_DIR, "consumers", "zizhu-subsidy-worker",
                            args);
        }
        return pid;
}

/* Runs the worker until idle; returns its exit status. */
static inline int h_run_to_idle(const h_env_t *env, const char *group)
{
        /* Idle longer than a dead member's session, so partitions still
         * held by a killed instance come to this one before it exits. */
        static const char *const extras[] = {"--idle-exit", "10000", "-X",
                                             "session.timeout.ms=6000", NULL};

        return th_wait(h_spawn(env, group, extras));
}

/* ------------------------------------------------------------------ */
/* Reading results                                                     */

/* Canonical dump of the decision table. malloc'd. */
static inline char *h_dump_decisions(const h_env_t *env, size_t *rows)
{
        PGconn *c = PQconnectdb(env->pg);
        PGresult *r = PQexec(c, "SELECT person_id || '/' || year || ' ' || "
                                "body FROM zizhu.decision ORDER BY person_id "
                                "COLLATE \"C\", year");
        size_t i, len = 0, cap = 1;
        char *out;

        for (i = 0; i < (size_t)PQntuples(r); i++)
                cap += (size_t)PQgetlength(r, (int)i, 0) + 1;
        out = malloc(cap);
        out[0] = '\0';
        for (i = 0; i < (size_t)PQntuples(r); i++) {
                size_t l = (size_t)PQgetlength(r, (int)i, 0);
                memcpy(out + len, PQgetvalue(r, (int)i, 0), l);
                len += l;
                out[len++] = '\n';
        }
        out[len] = '\0';
        if (rows != NULL)
                *rows = (size_t)PQntuples(r);
        PQclear(r);
        PQfinish(c);
        return out;
}

static inline long long h_scalar(const h_env_t *env, const char *sql)
{
        PGconn *c = PQconnectdb(env->pg);
        PGresult *r = PQexec(c, sql);
        long long v = -1;

        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
                v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        else
                fprintf(stderr, "scalar: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return v;
}

/* Reads every committed message of an output stream; fills ids (outbox id
 * header per message, in any order) and returns how many. */
static inline size_t h_read_output(const h_env_t *env, const char *stream,
                                   long long **ids_out)
{
        rd_kafka_t *rk;
        char errstr[512], topic[256];
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt;
        long long *ids = NULL;
        size_t n = 0, cap = 0;
        int parts, eofs = 0;

        snprintf(topic, sizeof(topic), "%s%s", env->prefix, stream);
        rk = th_reader_new(env, "test-reader", 1, errstr, sizeof(errstr));
        rd_kafka_poll_set_consumer(rk);
        rkt = rd_kafka_topic_new(rk, topic, NULL);
        rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        parts = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        th_assign_from_start(rk, topic, parts);
        while (eofs < parts) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 5000);
                rd_kafka_headers_t *h = NULL;
                const void *v = NULL;
                size_t sz = 0;

                if (m == NULL)
                        break;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        eofs++;
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (!m->err && rd_kafka_message_headers(m, &h) == 0 &&
                    rd_kafka_header_get_last(h, "zz-outbox-id", &v, &sz) == 0) {
                        char b[32];
                        snprintf(b, sizeof(b), "%.*s", (int)sz,
                                 (const char *)v);
                        if (n == cap) {
                                cap = cap ? cap * 2 : 1024;
                                ids = realloc(ids, cap * sizeof(*ids));
                        }
                        ids[n++] = strtoll(b, NULL, 10);
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        *ids_out = ids;
        return n;
}

static inline int h_cmp_ll(const void *a, const void *b)
{
        long long x = *(const long long *)a, y = *(const long long *)b;
        return (x > y) - (x < y);
}

/* Every outbox row is in the topics exactly once (read_committed). Returns
 * 0, or -1 with a message on stderr. */
static inline int h_check_published(const h_env_t *env)
{
        static const char *const streams[] = {"subsidy-state", "reconciliation",
                                              "dead-letter"};
        long long *all = NULL, total = 0;
        size_t n_all = 0, s, i;
        long long rows = h_scalar(env, "SELECT count(*) FROM zizhu.outbox");
        long long maxid =
            h_scalar(env, "SELECT coalesce(max(id), 0) FROM zizhu.outbox");

        for (s = 0; s < 3; s++) {
                long long *ids = NULL;
                size_t n = h_read_output(env, streams[s], &ids);
                long long want = 0;
                char sql[256];

                snprintf(sql, sizeof(sql),
                         "SELECT count(*) FROM zizhu.outbox WHERE stream = "
                         "'%s'",
                         streams[s]);
                want = h_scalar(env, sql);
                if ((long long)n != want) {
                        fprintf(stderr, "%s: %zu messages, %lld rows\n",
                                streams[s], n, want);
                        free(ids);
                        free(all);
                        return -1;
                }
                all = realloc(all, (n_all + n + 1) * sizeof(*all));
                if (n > 0)
                        memcpy(all + n_all, ids, n * sizeof(*ids));
                n_all += n;
                free(ids);
        }
        total = (long long)n_all;
        qsort(all, n_all, sizeof(*all), h_cmp_ll);
        for (i = 0; i < n_all; i++)
                if (all[i] != (long long)i + 1) {
                        fprintf(stderr,
                                "outbox id %lld at position %zu: missing or "
                                "duplicate\n",
                                all[i], i);
                        free(all);
                        return -1;
                }
        free(all);
        if (total != rows || total != maxid) {
                fprintf(stderr, "published %lld, outbox rows %lld, max %lld\n",
                        total, rows, maxid);
                return -1;
        }
        return 0;
}

#endif
