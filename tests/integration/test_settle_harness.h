/*
 * test_settle_harness.h — shared by the settlement, replay, audit and
 * report integration tests: a fresh database and fresh topics per test,
 * hand-written input events encoded with the codec, the subsidy worker
 * binary run to idle, the settlement loop run in-process, and the
 * allocation topic read back read_committed.
 *
 * Reads ZIZHU_BOOTSTRAP and ZIZHU_PG (defaults: the local stack). Each
 * environment uses the topic prefix "s<pid>_<tag>_<time>." and the
 * database "zzs_<pid>_<tag>".
 */
#ifndef TEST_SETTLE_HARNESS_H
#define TEST_SETTLE_HARNESS_H

/* not every test uses every helper */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "zizhu/codec.h"
#include "zizhu/config.h"
#include "zizhu/date.h"
#include "zizhu/event.h"
#include "zizhu/idno.h"
#include "zizhu/pg.h"
#include "zizhu/settle_worker.h"

#include "harness.h"

#define S_KEY "test-pseudonym-key"

typedef th_env_t s_env_t;

/* One scalar of a query (malloc'd text), or NULL. */
static char *s_scalar(const char *conninfo, const char *sql)
{
        PGconn *c = PQconnectdb(conninfo);
        PGresult *r = PQexec(c, sql);
        char *out = NULL;

        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
            !PQgetisnull(r, 0, 0))
                out = strdup(PQgetvalue(r, 0, 0));
        else if (PQresultStatus(r) != PGRES_TUPLES_OK)
                fprintf(stderr, "pg: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return out;
}

static long long s_count(const char *conninfo, const char *sql)
{
        char *s = s_scalar(conninfo, sql);
        long long v = s != NULL ? strtoll(s, NULL, 10) : -1;

        free(s);
        return v;
}

static int s_env_new(s_env_t *env, const char *tag)
{
        th_env_init(env, "zzs", "s", tag);
        th_env_export(env, S_KEY);
        if (th_create_db(env->pg_base, env->db, 1) != 0)
                return -1;
        return th_create_topics(env, 0);
}

static void s_env_drop(const s_env_t *env)
{
        th_drop_db(env->pg_base, env->db, 1, 1);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

typedef struct s_msgs_s {
        th_msg_t m[256];
        size_t n;
        zz_codec_t *codec;
        int seq;
} s_msgs_t;

static void s_msgs_init(s_msgs_t *ms)
{
        char errstr[256];

        memset(ms, 0, sizeof(*ms));
        ms->codec = zz_codec_new(errstr, sizeof(errstr));
}

static void s_msgs_clear(s_msgs_t *ms)
{
        size_t i;

        for (i = 0; i < ms->n; i++)
                free(ms->m[i].value);
        ms->n = 0;
}

static void s_msgs_free(s_msgs_t *ms)
{
        s_msgs_clear(ms);
        zz_codec_destroy(ms->codec);
}

static void s_push(s_msgs_t *ms, zz_stream_t stream, const char *key,
                   avro_value_t *v)
{
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        char errstr[256];
        th_msg_t *m = &ms->m[ms->n++];

        if (zz_codec_encode(ms->codec, stream, v, &buf, errstr,
                            sizeof(errstr)) != 0)
                fprintf(stderr, "encode: %s\n", errstr);
        m->stream = stream;
        snprintf(m->key, sizeof(m->key), "%s", key);
        m->value = buf.data;
        m->len = buf.len;
        avro_value_decref(v);
}

/* A valid ID number: region (6 digits), birth date (8), sequence. */
static void s_id(const char *region6, const char *birth, int seq, char out[19])
{
        th_idno(region6, birth, seq, out);
}

static zz_date_t s_date(const char *s)
{
        zz_date_t d = ZZ_DATE_NONE;

        if (s != NULL)
                zz_date_parse(s, strlen(s), &d);
        return d;
}

static zz_ts_t s_ts(const char *s)
{
        zz_ts_t t = 0;

        zz_ts_parse(s, strlen(s), &t);
        return t;
}

/* attrs: "k=v" pairs separated by ';' (at most 4), or NULL. */
static void s_identity(s_msgs_t *ms, const char *person, const char *dept,
                       const char *rec, const char *action,
                       const char *category, const char *attrs,
                       const char *valid_from, const char *approving,
                       const char *reported)
{
        zz_event_identity_t e;
        zz_event_attr_t at[4];
        char buf[4][64], ev[48], errstr[256];
        avro_value_t v;
        size_t n = 0;

        memset(&e, 0, sizeof(e));
        if (attrs != NULL) {
                const char *p = attrs;
                while (*p != '\0' && n < 4) {
                        const char *semi = strchr(p, ';');
                        size_t len = semi ? (size_t)(semi - p) : strlen(p);
                        char *eq;
                        snprintf(buf[n], sizeof(buf[n]), "%.*s", (int)len, p);
                        eq = strchr(buf[n], '=');
                        if (eq != NULL) {
                                *eq = '\0';
                                at[n].key = buf[n];
                                at[n].value = eq + 1;
                                n++;
                        }
                        p += len + (semi ? 1 : 0);
                }
        }
        snprintf(ev, sizeof(ev), "t-ev-%d", ++ms->seq);
        e.event_id = ev;
        e.person_id = person;
        e.department = dept;
        e.dept_record_id = rec;
        e.action = strcmp(action, "REVOKE") == 0 ? ZZ_IDENTITY_ACTION_REVOKE
                   : strcmp(action, "END") == 0  ? ZZ_IDENTITY_ACTION_END
                                                 : ZZ_IDENTITY_ACTION_GRANT;
        e.category = category;
        e.attrs = at;
        e.attrs_count = n;
        e.valid_from = s_date(valid_from);
        e.valid_to = ZZ_DATE_NONE;
        e.approving_region = approving;
        e.reported_at = s_ts(reported);
        e.deceased_on = ZZ_DATE_NONE;
        e.channel = ZZ_CHANNEL_LIST_EXCHANGE;
        zz_codec_value_new(ms->codec, ZZ_STREAM_IDENTITY, &v);
        if (zz_event_identity_to_value(&e, &v, errstr, sizeof(errstr)) != 0)
                fprintf(stderr, "identity: %s\n", errstr);
        s_push(ms, ZZ_STREAM_IDENTITY, person, &v);
}

static void s_enrollment(s_msgs_t *ms, const char *person, int year, int tier,
                         const char *kind, const char *registered,
                         const char *region)
{
        zz_event_enrollment_t e;
        char ev[48], rec[48], errstr[256];
        avro_value_t v;

        memset(&e, 0, sizeof(e));
        snprintf(ev, sizeof(ev), "t-ev-%d", ++ms->seq);
        snprintf(rec, sizeof(rec), "EN-%d", ms->seq);
        e.event_id = ev;
        e.person_id = person;
        e.department = "NHSA";
        e.dept_record_id = rec;
        e.action = ZZ_ENROLLMENT_ACTION_REGISTER;
        e.household_id = rec;
        e.year = year;
        e.tier = tier;
        e.enrollment_class = ZZ_ENROLLMENT_CLASS_ADULT;
        e.kind = strcmp(kind, "MID_YEAR") == 0 ? ZZ_ENROLLMENT_KIND_MID_YEAR
                                               : ZZ_ENROLLMENT_KIND_ANNUAL;
        e.registered_on = s_date(registered);
        e.region = region;
        e.reported_at = zz_ts_from_cst_date(e.registered_on);
        zz_codec_value_new(ms->codec, ZZ_STREAM_ENROLLMENT, &v);
        if (zz_event_enrollment_to_value(&e, &v, errstr, sizeof(errstr)) != 0)
                fprintf(stderr, "enrollment: %s\n", errstr);
        s_push(ms, ZZ_STREAM_ENROLLMENT, person, &v);
}

static void s_payment(s_msgs_t *ms, const char *person, int year,
                      long long contribution, long long applied,
                      long long refund, const char *paid_at)
{
        zz_event_payment_t e;
        char ev[48], rec[48], errstr[256];
        avro_value_t v;

        memset(&e, 0, sizeof(e));
        snprintf(ev, sizeof(ev), "t-ev-%d", ++ms->seq);
        snprintf(rec, sizeof(rec), "PAY-%d", ms->seq);
        e.event_id = ev;
        e.person_id = person;
        e.department = "TAX";
        e.dept_record_id = rec;
        e.kind = refund > 0 ? ZZ_PAYMENT_KIND_REFUND : ZZ_PAYMENT_KIND_PAYMENT;
        e.year = year;
        e.contribution_fen = contribution;
        e.subsidy_applied_fen = applied;
        e.paid_fen = contribution - applied;
        e.refund_fen = refund;
        e.paid_at = s_ts(paid_at);
        e.receipt = rec;
        zz_codec_value_new(ms->codec, ZZ_STREAM_PAYMENT, &v);
        if (zz_event_payment_to_value(&e, &v, errstr, sizeof(errstr)) != 0)
                fprintf(stderr, "payment: %s\n", errstr);
        s_push(ms, ZZ_STREAM_PAYMENT, person, &v);
}

/* Fills e as a CLOSE_PERIOD without positions; ev (at least 48 bytes)
 * receives its event id. */
static void s_close_event(s_msgs_t *ms, zz_event_control_t *e, char ev[48],
                          const char *jurisdiction, const char *period,
                          const char *issued_at)
{
        memset(e, 0, sizeof(*e));
        snprintf(ev, 48, "t-close-%s-%s-%d", jurisdiction, period, ++ms->seq);
        e->event_id = ev;
        e->department = "FIN";
        e->dept_record_id = ev;
        e->command = ZZ_CONTROL_CLOSE_PERIOD;
        e->jurisdiction = jurisdiction;
        e->period = period;
        e->issued_at = s_ts(issued_at);
}

static void s_close(s_msgs_t *ms, const char *jurisdiction, const char *period,
                    const char *issued_at)
{
        zz_event_control_t e;
        char ev[48], errstr[256];
        avro_value_t v;

        s_close_event(ms, &e, ev, jurisdiction, period, issued_at);
        zz_codec_value_new(ms->codec, ZZ_STREAM_CONTROL, &v);
        if (zz_event_control_to_value(&e, &v, errstr, sizeof(errstr)) != 0)
                fprintf(stderr, "control: %s\n", errstr);
        s_push(ms, ZZ_STREAM_CONTROL, jurisdiction, &v);
}

/* Produces and flushes every message of ms (then clears it). */
static int s_produce(const s_env_t *env, s_msgs_t *ms)
{
        if (th_produce(env, ms->m, ms->n, NULL, 30000) != 0)
                return -1;
        s_msgs_clear(ms);
        /* later messages get later timestamps than these */
        usleep(20000);
        return 0;
}

/* ------------------------------------------------------------------ */
/* Running                                                             */

static pid_t s_spawn_subsidy(const s_env_t *env, const char *group,
                             const char *idle_ms)
{
        pid_t pid = fork();

        if (pid == 0) {
                const char *args[] = {"-q",          "--group",    group,
                                      "--no-relay",  "--batch-ms", "50",
                                      "--idle-exit", idle_ms,      NULL};

                (void)env;
                th_exec_bin(ZZ_BIN_DIR, "consumers", "zizhu-subsidy-worker",
                            args);
        }
        return pid;
}

/* Runs the subsidy worker until idle for idle_ms. */
static int s_run_subsidy_idle(const s_env_t *env, const char *idle_ms)
{
        return th_wait(s_spawn_subsidy(env, "zizhu-subsidy", idle_ms));
}

static int s_run_subsidy(const s_env_t *env)
{
        return s_run_subsidy_idle(env, "2500");
}

/* Runs the settlement loop in-process until idle. */
static int s_run_settle(const s_env_t *env, int publish, const char *pg)
{
        static volatile sig_atomic_t stop = 0;
        zz_settler_opts_t o;
        zz_config_t *config;
        char errstr[1024], pgset[1024];
        int rc;

        config = zz_config_load(NULL, errstr, sizeof(errstr));
        if (config == NULL)
                return -1;
        if (pg != NULL) {
                snprintf(pgset, sizeof(pgset), "pg=%s", pg);
                zz_config_set(config, pgset, errstr, sizeof(errstr));
        }
        memset(&o, 0, sizeof(o));
        o.config = config;
        o.policy_dir = ZZ_SOURCE_DIR "/policies";
        o.group = "zizhu-settlement";
        o.subsidy_group = "zizhu-subsidy";
        o.publish = publish;
        o.idle_exit_ms = 1500;
        o.wait_ms = 30000;
        o.control_start = -1;
        o.stop = &stop;
        rc = zz_settler_run(&o, errstr, sizeof(errstr));
        if (rc != 0)
                fprintf(stderr, "settle: %s\n", errstr);
        zz_config_destroy(config);
        (void)env;
        return rc;
}

/* ------------------------------------------------------------------ */
/* Reading allocations                                                 */

typedef struct s_alloc_s {
        char key[96];
        unsigned char *value;
        size_t len;
        /* decoded */
        char period[32], payer[8], fund[8], region[16], kind[24];
        long long persons, fen;
        size_t n_lines;
        char adjusts[32]; /* of the first line, "" when null */
        long long line_fen[8];
        char line_masked[8][20];
} s_alloc_t;

typedef struct s_allocs_s {
        s_alloc_t a[256];
        size_t n;
} s_allocs_t;

static void s_get_str(avro_value_t *r, const char *f, char *out, size_t size)
{
        avro_value_t x;
        const char *s = NULL;
        size_t len = 0;

        out[0] = '\0';
        if (avro_value_get_by_name(r, f, &x, NULL) == 0 &&
            avro_value_get_string(&x, &s, &len) == 0)
                snprintf(out, size, "%s", s);
}

static void s_get_enum(avro_value_t *r, const char *f, char *out, size_t size)
{
        avro_value_t x;
        int idx = 0;

        out[0] = '\0';
        if (avro_value_get_by_name(r, f, &x, NULL) == 0 &&
            avro_value_get_enum(&x, &idx) == 0)
                snprintf(out, size, "%s",
                         avro_schema_enum_get(avro_value_get_schema(&x), idx));
}

static long long s_get_long(avro_value_t *r, const char *f)
{
        avro_value_t x;
        int64_t v = 0;

        if (avro_value_get_by_name(r, f, &x, NULL) == 0)
                avro_value_get_long(&x, &v);
        return v;
}

static void s_decode(zz_codec_t *codec, s_alloc_t *a)
{
        avro_value_t v, lines, line, adj, br;
        char errstr[256];
        size_t i;
        int disc = 0;

        if (zz_codec_decode(codec, ZZ_STREAM_ALLOCATION, a->value, a->len, &v,
                            NULL, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "decode allocation: %s\n", errstr);
                return;
        }
        s_get_str(&v, "period", a->period, sizeof(a->period));
        s_get_enum(&v, "payer", a->payer, sizeof(a->payer));
        s_get_enum(&v, "fund", a->fund, sizeof(a->fund));
        s_get_str(&v, "region", a->region, sizeof(a->region));
        s_get_enum(&v, "kind", a->kind, sizeof(a->kind));
        a->persons = s_get_long(&v, "persons");
        a->fen = s_get_long(&v, "fen");
        avro_value_get_by_name(&v, "lines", &lines, NULL);
        avro_value_get_size(&lines, &a->n_lines);
        for (i = 0; i < a->n_lines && i < 8; i++) {
                avro_value_get_by_index(&lines, i, &line, NULL);
                a->line_fen[i] = s_get_long(&line, "fen");
                s_get_str(&line, "masked_id", a->line_masked[i],
                          sizeof(a->line_masked[i]));
                if (i == 0 &&
                    avro_value_get_by_name(&line, "adjusts_period", &adj,
                                           NULL) == 0 &&
                    avro_value_get_discriminant(&adj, &disc) == 0 &&
                    disc == 1) {
                        avro_value_get_current_branch(&adj, &br);
                        {
                                const char *s = NULL;
                                size_t len = 0;
                                avro_value_get_string(&br, &s, &len);
                                snprintf(a->adjusts, sizeof(a->adjusts), "%s",
                                         s ? s : "");
                        }
                }
        }
}

/* A read_committed reader of the allocation topic (named topic), from its
 * beginning; NULL with errstr. */
static rd_kafka_t *s_allocation_reader(const s_env_t *env, const char *topic,
                                       char *errstr, size_t errstr_size)
{
        rd_kafka_t *rk =
            th_reader_new(env, "test-read", 0, errstr, errstr_size);

        if (rk != NULL)
                th_assign_from_start(rk, topic, 1);
        return rk;
}

/* Reads the whole allocation topic, read_committed. */
static int s_read_allocations(const s_env_t *env, s_allocs_t *out)
{
        rd_kafka_t *rk;
        char errstr[512], topic[256];
        zz_codec_t *codec = zz_codec_new(errstr, sizeof(errstr));
        int eof = 0, idle = 0;

        memset(out, 0, sizeof(*out));
        snprintf(topic, sizeof(topic), "%sallocation", env->prefix);
        rk = s_allocation_reader(env, topic, errstr, sizeof(errstr));
        while (!eof && idle < 100) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                if (m == NULL) {
                        idle++;
                        continue;
                }
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        eof = 1;
                } else if (!m->err && out->n < 256) {
                        s_alloc_t *a = &out->a[out->n++];
                        snprintf(a->key, sizeof(a->key), "%.*s",
                                 (int)m->key_len, (const char *)m->key);
                        a->value = malloc(m->len);
                        memcpy(a->value, m->payload, m->len);
                        a->len = m->len;
                        s_decode(codec, a);
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        zz_codec_destroy(codec);
        return eof ? 0 : -1;
}

static void s_allocs_free(s_allocs_t *as)
{
        size_t i;

        for (i = 0; i < as->n; i++)
                free(as->a[i].value);
        as->n = 0;
}

/* The allocation of period, payer, region and kind, or NULL. */
static const s_alloc_t *s_find(const s_allocs_t *as, const char *period,
                               const char *payer, const char *region,
                               const char *kind)
{
        size_t i;

        for (i = 0; i < as->n; i++)
                if (strcmp(as->a[i].period, period) == 0 &&
                    strcmp(as->a[i].payer, payer) == 0 &&
                    strcmp(as->a[i].region, region) == 0 &&
                    strcmp(as->a[i].kind, kind) == 0)
                        return &as->a[i];
        return NULL;
}

static void s_dump(const s_allocs_t *as)
{
        size_t i;

        for (i = 0; i < as->n; i++)
                fprintf(stderr, "  %s %s/%s %s %s persons %lld fen %lld%s%s\n",
                        as->a[i].period, as->a[i].payer, as->a[i].fund,
                        as->a[i].region, as->a[i].kind, as->a[i].persons,
                        as->a[i].fen, as->a[i].adjusts[0] ? " adjusts " : "",
                        as->a[i].adjusts);
}

/* Asserts the allocation of period, payer, region and kind is there and
 * expects its persons and fen. */
static void s_expect(const s_allocs_t *as, const char *period,
                     const char *payer, const char *region, const char *kind,
                     long long persons, long long fen)
{
        const s_alloc_t *a = s_find(as, period, payer, region, kind);

        if (a == NULL) {
                s_dump(as);
                cr_assert_fail("no allocation %s %s %s %s", period, payer,
                               region, kind);
        }
        cr_expect_eq(a->persons, persons, "%s %s %s %s persons %lld", period,
                     payer, region, kind, a->persons);
        cr_expect_eq(a->fen, fen, "%s %s %s %s fen %lld", period, payer, region,
                     kind, a->fen);
}

#endif
