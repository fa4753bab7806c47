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

#ifndef ZZ_SOURCE_DIR
#define ZZ_SOURCE_DIR "."
#endif

typedef struct h_env_s {
        char bootstrap[256];
        char pg_base[512];
        char pg[768];
        char db[64];
        char prefix[64];
} h_env_t;

static inline const char *h_getenv(const char *k, const char *def)
{
        const char *v = getenv(k);
        return v != NULL && v[0] != '\0' ? v : def;
}

/* ------------------------------------------------------------------ */
/* Database and topics                                                 */

static inline int h_pg_exec(const char *conninfo, const char *sql)
{
        PGconn *c = PQconnectdb(conninfo);
        PGresult *r;
        int ok;

        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "pg: %s", PQerrorMessage(c));
                PQfinish(c);
                return -1;
        }
        r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
             PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
                fprintf(stderr, "pg: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return ok ? 0 : -1;
}

static inline int h_create_topics(h_env_t *env)
{
        static const struct {
                const char *name;
                int parts;
                int compact;
        } topics[] = {{"identity", 4, 0},      {"enrollment", 4, 0},
                      {"payment", 4, 0},       {"control", 1, 0},
                      {"subsidy-state", 4, 1}, {"reconciliation", 4, 0},
                      {"allocation", 1, 0},    {"dead-letter", 4, 0}};
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        rd_kafka_NewTopic_t *nt[8];
        rd_kafka_queue_t *q;
        rd_kafka_event_t *ev;
        char errstr[512];
        size_t i, n = sizeof(topics) / sizeof(topics[0]);
        int rc = 0;

        rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap, errstr,
                          sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (rk == NULL)
                return -1;
        for (i = 0; i < n; i++) {
                char name[256];
                snprintf(name, sizeof(name), "%s%s", env->prefix,
                         topics[i].name);
                nt[i] = rd_kafka_NewTopic_new(name, topics[i].parts, 1, errstr,
                                              sizeof(errstr));
                if (topics[i].compact)
                        rd_kafka_NewTopic_set_config(nt[i], "cleanup.policy",
                                                     "compact");
        }
        q = rd_kafka_queue_new(rk);
        rd_kafka_CreateTopics(rk, nt, n, NULL, q);
        ev = rd_kafka_queue_poll(q, 30000);
        if (ev == NULL || rd_kafka_event_error(ev)) {
                fprintf(stderr, "create topics: %s\n",
                        ev ? rd_kafka_event_error_string(ev) : "timeout");
                rc = -1;
        } else {
                const rd_kafka_CreateTopics_result_t *res =
                    rd_kafka_event_CreateTopics_result(ev);
                size_t cnt;
                const rd_kafka_topic_result_t **tr =
                    rd_kafka_CreateTopics_result_topics(res, &cnt);
                for (i = 0; i < cnt; i++)
                        if (rd_kafka_topic_result_error(tr[i]) &&
                            rd_kafka_topic_result_error(tr[i]) !=
                                RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                                fprintf(
                                    stderr, "create topic: %s\n",
                                    rd_kafka_topic_result_error_string(tr[i]));
                                rc = -1;
                        }
        }
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        for (i = 0; i < n; i++)
                rd_kafka_NewTopic_destroy(nt[i]);
        rd_kafka_destroy(rk);
        return rc;
}

/* A fresh database (migrated) and fresh topics for tag. */
static inline int h_env_new(h_env_t *env, const char *tag)
{
        char sql[256], errstr[512];
        PGconn *c;
        int applied = 0;

        memset(env, 0, sizeof(*env));
        snprintf(env->bootstrap, sizeof(env->bootstrap), "%s",
                 h_getenv("ZIZHU_BOOTSTRAP", ZZ_DEFAULT_BOOTSTRAP));
        snprintf(env->pg_base, sizeof(env->pg_base), "%s",
                 h_getenv("ZIZHU_PG", ZZ_DEFAULT_PG));
        snprintf(env->db, sizeof(env->db), "zzt_%d_%s", (int)getpid(), tag);
        snprintf(env->prefix, sizeof(env->prefix), "t%d_%s_%ld.", (int)getpid(),
                 tag, (long)time(NULL) % 100000);
        snprintf(env->pg, sizeof(env->pg), "%s dbname=%s", env->pg_base,
                 env->db);
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", env->db);
        h_pg_exec(env->pg_base, sql);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", env->db);
        if (h_pg_exec(env->pg_base, sql) != 0)
                return -1;
        c = zz_pg_connect(env->pg, "test", errstr, sizeof(errstr));
        if (c == NULL) {
                fprintf(stderr, "%s\n", errstr);
                return -1;
        }
        if (zz_pg_migrate(c, ZZ_SOURCE_DIR "/sql", &applied, errstr,
                          sizeof(errstr)) != 0) {
                fprintf(stderr, "migrate: %s\n", errstr);
                PQfinish(c);
                return -1;
        }
        PQfinish(c);
        return h_create_topics(env);
}

/* Deletes the run's topics (best effort). */
static inline void h_delete_topics(const h_env_t *env)
{
        static const char *const names[] = {
            "identity",      "enrollment",     "payment",    "control",
            "subsidy-state", "reconciliation", "allocation", "dead-letter"};
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_DeleteTopic_t *dt[8];
        rd_kafka_queue_t *q;
        rd_kafka_event_t *ev;
        rd_kafka_t *rk;
        char errstr[512], name[256];
        size_t i;

        rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap, errstr,
                          sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (rk == NULL)
                return;
        for (i = 0; i < 8; i++) {
                snprintf(name, sizeof(name), "%s%s", env->prefix, names[i]);
                dt[i] = rd_kafka_DeleteTopic_new(name);
        }
        q = rd_kafka_queue_new(rk);
        rd_kafka_DeleteTopics(rk, dt, 8, NULL, q);
        ev = rd_kafka_queue_poll(q, 30000);
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        for (i = 0; i < 8; i++)
                rd_kafka_DeleteTopic_destroy(dt[i]);
        rd_kafka_destroy(rk);
}

static inline void h_env_drop(h_env_t *env)
{
        h_delete_topics(env);
        char sql[256];

        int i;

        /* backends of exited clients may take a moment to go away */
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", env->db);
        for (i = 0; i < 20 && h_pg_exec(env->pg_base, sql) != 0; i++)
                usleep(250000);
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
        char first[40];
        int y, m, d;

        zz_date_to_ymd(zz_date_from_ymd(1950, 1, 1) + i / 1000, &y, &m, &d);
        snprintf(first, sizeof(first), "%.6s%04d%02d%02d%03u", region, y, m, d,
                 (unsigned)(i % 1000));
        memcpy(out, first, 17);
        out[17] = zz_idno_check_char(first);
        out[18] = '\0';
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

typedef struct h_msg_s {
        zz_stream_t stream;
        char key[32];
        unsigned char *value;
        size_t len;
} h_msg_t;

typedef struct h_msgs_s {
        h_msg_t *m;
        size_t n, cap;
} h_msgs_t;

static inline void h_msgs_add(h_msgs_t *ms, zz_stream_t stream, const char *key,
                              const void *value, size_t len)
{
        h_msg_t *m;

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
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        char errstr[512];
        size_t i;

        rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap, errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "linger.ms", "20", errstr, sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (rk == NULL)
                return -1;
        for (i = from; i < to && i < ms->n; i++) {
                char topic[256];
                rd_kafka_resp_err_t err;

                snprintf(topic, sizeof(topic), "%s%s", env->prefix,
                         zz_stream_name(ms->m[i].stream));
                do {
                        err = rd_kafka_producev(
                            rk, RD_KAFKA_V_TOPIC(topic),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_KEY(ms->m[i].key, strlen(ms->m[i].key)),
                            RD_KAFKA_V_VALUE(ms->m[i].value, ms->m[i].len),
                            RD_KAFKA_V_END);
                        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(rk, 50);
                } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        }
        rd_kafka_flush(rk, 60000);
        rd_kafka_destroy(rk);
        return 0;
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
                char exe[1024];
                const char *argv[24];
                int a = 0;

                snprintf(exe, sizeof(exe),
                         "%s/consumers/zizhu-subsidy-worker/"
                         "zizhu-subsidy-worker",
                         ZZ_BIN_DIR);
                if (access(exe, X_OK) != 0)
                        snprintf(exe, sizeof(exe),
                                 "%s/consumers/zizhu-subsidy-worker",
                                 ZZ_BIN_DIR);
                setenv("ZIZHU_BOOTSTRAP", env->bootstrap, 1);
                setenv("ZIZHU_PG", env->pg, 1);
                setenv("ZIZHU_TOPIC_PREFIX", env->prefix, 1);
                setenv("ZZ_SOURCE_DIR", ZZ_SOURCE_DIR, 1);
                argv[a++] = exe;
                argv[a++] = "-q";
                argv[a++] = "--group";
                argv[a++] = group;
                argv[a++] = "--batch-ms";
                argv[a++] = "50";
                while (extras != NULL && *extras != NULL && a < 22)
                        argv[a++] = *extras++;
                argv[a] = NULL;
                execv(exe, (char *const *)argv);
                _exit(127);
        }
        return pid;
}

/* Runs the worker until idle; returns its exit status. */
static inline int h_run_to_idle(const h_env_t *env, const char *group)
{
        int status = 0;
        /* Idle longer than a dead member's session, so partitions still
         * held by a killed instance come to this one before it exits. */
        static const char *const extras[] = {"--idle-exit", "10000", "-X",
                                             "session.timeout.ms=6000", NULL};
        pid_t pid = h_spawn(env, group, extras);

        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
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
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        char errstr[512], topic[256];
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt;
        long long *ids = NULL;
        size_t n = 0, cap = 0;
        int p, parts, eofs = 0;
        rd_kafka_topic_partition_list_t *list;

        snprintf(topic, sizeof(topic), "%s%s", env->prefix, stream);
        rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap, errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "group.id", "test-reader", errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "isolation.level", "read_committed", errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                          sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        rd_kafka_poll_set_consumer(rk);
        rkt = rd_kafka_topic_new(rk, topic, NULL);
        rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        parts = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        list = rd_kafka_topic_partition_list_new(parts);
        for (p = 0; p < parts; p++)
                rd_kafka_topic_partition_list_add(list, topic, p)->offset =
                    RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, list);
        rd_kafka_topic_partition_list_destroy(list);
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
