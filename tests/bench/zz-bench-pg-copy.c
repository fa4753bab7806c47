/*
 * zz-bench-pg-copy.c — the PostgreSQL ceiling: fact rows per second written
 * with COPY into the subsidy worker's own fact tables (identity_fact,
 * enrollment_fact, payment_fact of sql/020_subsidy.sql, with their primary
 * keys and person indexes), in one transaction on one connection.
 *
 * The rows are those of the run's data set: the same generator, seed and
 * size as the events in Kafka, formatted as COPY text in memory first (not
 * timed). Only the COPY statements and the COMMIT are timed. The database
 * must be freshly migrated (tests/bench/run.sh gives it its own).
 *
 *   ZIZHU_PG='dbname=zizhu_bench_x ...' zz-bench-pg-copy --persons 200000
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "bench_common.h"
#include "zizhu/config.h"
#include "zizhu/date.h"
#include "zizhu/feed.h"
#include "zizhu/loadgen.h"

struct buf {
        char *data;
        size_t len, cap;
        long long rows;
};

struct gen {
        struct buf b[3]; /* identity, enrollment, payment */
        const char *prefix;
        long long offset;
        int failed;
};

static void put(struct buf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 1 << 20;
                char *data;

                while (b->len + n + 1 > cap)
                        cap *= 2;
                data = realloc(b->data, cap);
                if (data == NULL) {
                        fprintf(stderr, "zz-bench-pg-copy: out of memory\n");
                        exit(1);
                }
                b->data = data;
                b->cap = cap;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
}

/* A text field in COPY text format (backslash, tab, newline escaped),
 * followed by sep. NULL or "" with null_empty writes \N. */
static void field(struct buf *b, const char *s, int null_empty, char sep)
{
        const char *p;

        if (s == NULL || (null_empty && s[0] == '\0')) {
                put(b, "\\N", 2);
        } else {
                for (p = s; *p != '\0'; p++) {
                        if (*p == '\\')
                                put(b, "\\\\", 2);
                        else if (*p == '\t')
                                put(b, "\\t", 2);
                        else if (*p == '\n')
                                put(b, "\\n", 2);
                        else
                                put(b, p, 1);
                }
        }
        put(b, &sep, 1);
}

static void field_ll(struct buf *b, long long v, char sep)
{
        char tmp[32];

        snprintf(tmp, sizeof(tmp), "%lld", v);
        field(b, tmp, 0, sep);
}

static void field_date(struct buf *b, zz_date_t d, char sep)
{
        char tmp[16];

        if (d == ZZ_DATE_NONE)
                field(b, NULL, 0, sep);
        else
                field(b, zz_date_format(d, tmp, sizeof(tmp)), 0, sep);
}

/* "k=v;k=v" as a JSON object. */
static void field_attrs(struct buf *b, const char *attrs, char sep)
{
        char json[1024];
        size_t n = 0;
        const char *p;
        int in_value = 0;

        json[n++] = '{';
        if (attrs[0] != '\0')
                json[n++] = '"';
        for (p = attrs; *p != '\0' && n + 8 < sizeof(json); p++) {
                if (*p == '=' && !in_value) {
                        memcpy(json + n, "\":\"", 3);
                        n += 3;
                        in_value = 1;
                } else if (*p == ';') {
                        memcpy(json + n, "\",\"", 3);
                        n += 3;
                        in_value = 0;
                } else if (*p == '"' || *p == '\\') {
                        json[n++] = '\\';
                        json[n++] = *p;
                } else {
                        json[n++] = *p;
                }
        }
        if (attrs[0] != '\0')
                json[n++] = '"';
        json[n++] = '}';
        json[n] = '\0';
        field(b, json, 0, sep);
}

static void source(struct gen *g, const char *stream)
{
        char topic[256];
        struct buf *b = &g->b[stream[0] == 'i' ? 0 : stream[0] == 'e' ? 1 : 2];

        snprintf(topic, sizeof(topic), "%s%s", g->prefix, stream);
        field(b, topic, 0, '\t');
        field_ll(b, 0, '\t');
        field_ll(b, g->offset++, '\n');
        b->rows++;
}

static int on_record(const zz_feed_record_t *rec, void *opaque)
{
        struct gen *g = opaque;

        switch (rec->kind) {
        case ZZ_FEED_IDENTITY: {
                const zz_feed_identity_t *r = &rec->u.identity;
                struct buf *b = &g->b[0];
                char stream[ZZ_CONFIG_STREAM_SIZE];

                field(b, rec->event_id, 0, '\t');
                field(b, r->person_id, 0, '\t');
                field(b, r->department, 0, '\t');
                field(b, r->dept_record_id, 0, '\t');
                field(b, zz_feed_id_action_name(r->action), 0, '\t');
                field(b, r->category, 0, '\t');
                field_attrs(b, r->attrs, '\t');
                field_date(b, r->valid_from, '\t');
                field_date(b, r->valid_to, '\t');
                field(b, r->approving_region, 0, '\t');
                field(b, r->residence_region, 1, '\t');
                field_ll(b, r->reported_at, '\t');
                field_date(b, r->deceased_on, '\t');
                /* its department's identity topic, as the worker stores */
                source(g, zz_config_identity_stream(r->department, stream,
                                                    sizeof(stream)) != NULL
                              ? stream
                              : "identity.mca");
                break;
        }
        case ZZ_FEED_ENROLLMENT: {
                const zz_feed_enrollment_t *r = &rec->u.enrollment;
                struct buf *b = &g->b[1];

                field(b, rec->event_id, 0, '\t');
                field(b, r->person_id, 0, '\t');
                field(b, r->department, 0, '\t');
                field(b, r->dept_record_id, 0, '\t');
                field(b, zz_feed_enr_action_name(r->action), 0, '\t');
                field(b, r->household_id, 0, '\t');
                field_ll(b, r->year, '\t');
                field_ll(b, r->tier, '\t');
                field(b, zz_feed_class_name(r->enroll_class), 0, '\t');
                field(b, zz_feed_enr_kind_name(r->kind), 0, '\t');
                field_date(b, r->registered_on, '\t');
                field(b, r->region, 0, '\t');
                field(b, r->unit, 1, '\t');
                source(g, "enrollment");
                break;
        }
        case ZZ_FEED_PAYMENT: {
                const zz_feed_payment_t *r = &rec->u.payment;
                struct buf *b = &g->b[2];

                field(b, rec->event_id, 0, '\t');
                field(b, r->person_id, 0, '\t');
                field(b, r->department, 0, '\t');
                field(b, r->dept_record_id, 0, '\t');
                field(b, zz_feed_pay_kind_name(r->kind), 0, '\t');
                field_ll(b, r->year, '\t');
                field_ll(b, r->contribution_fen, '\t');
                field_ll(b, r->subsidy_applied_fen, '\t');
                field_ll(b, r->paid_fen, '\t');
                field_ll(b, r->refund_fen, '\t');
                field_ll(b, r->paid_at, '\t');
                field(b, r->receipt, 0, '\t');
                source(g, "payment");
                break;
        }
        default:
                break;
        }
        return 0;
}

static int exec_ok(PGconn *conn, const char *sql)
{
        PGresult *res = PQexec(conn, sql);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

        if (!ok)
                fprintf(stderr, "zz-bench-pg-copy: %s: %s", sql,
                        PQerrorMessage(conn));
        PQclear(res);
        return ok ? 0 : -1;
}

/* COPY one buffer into table, in chunks of about 1 MiB. */
static int copy_in(PGconn *conn, const char *table, const struct buf *b)
{
        char sql[256];
        PGresult *res;
        size_t off = 0;
        int ok;

        snprintf(sql, sizeof(sql), "COPY %s FROM STDIN", table);
        res = PQexec(conn, sql);
        if (PQresultStatus(res) != PGRES_COPY_IN) {
                fprintf(stderr, "zz-bench-pg-copy: %s: %s", sql,
                        PQerrorMessage(conn));
                PQclear(res);
                return -1;
        }
        PQclear(res);
        while (off < b->len) {
                size_t n = b->len - off > (1 << 20) ? (1 << 20) : b->len - off;

                if (PQputCopyData(conn, b->data + off, (int)n) != 1) {
                        fprintf(stderr, "zz-bench-pg-copy: %s",
                                PQerrorMessage(conn));
                        return -1;
                }
                off += n;
        }
        if (PQputCopyEnd(conn, NULL) != 1)
                return -1;
        res = PQgetResult(conn);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
                fprintf(stderr, "zz-bench-pg-copy: COPY %s: %s", table,
                        PQerrorMessage(conn));
        PQclear(res);
        while ((res = PQgetResult(conn)) != NULL)
                PQclear(res);
        return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
        static const char *const tables[] = {"zizhu.identity_fact",
                                             "zizhu.enrollment_fact",
                                             "zizhu.payment_fact"};
        zz_loadgen_options_t lo;
        zz_loadgen_t *lg;
        struct gen g;
        const char *conninfo = getenv("ZIZHU_PG");
        PGconn *conn;
        char errstr[512] = "";
        char policy_dir[4096];
        double t0, t1;
        long long rows = 0;
        int i;

        zz_bench_set_name("pg-copy");
        memset(&lo, 0, sizeof(lo));
        memset(&g, 0, sizeof(g));
        lo.seed = 1;
        lo.persons = 100000;
        lo.jurisdiction = "huilong";
        lo.no_expected = 1;
        g.prefix = "zz.";
        snprintf(policy_dir, sizeof(policy_dir), "%s/policies", ZZ_SOURCE_DIR);
        for (i = 1; i + 1 < argc; i += 2) {
                const char *v = argv[i + 1];

                if (strcmp(argv[i], "--persons") == 0)
                        lo.persons = strtoull(v, NULL, 10);
                else if (strcmp(argv[i], "--seed") == 0)
                        lo.seed = strtoull(v, NULL, 10);
                else if (strcmp(argv[i], "--jurisdiction") == 0)
                        lo.jurisdiction = v;
                else if (strcmp(argv[i], "--prefix") == 0)
                        g.prefix = v;
                else if (strcmp(argv[i], "--pg") == 0)
                        conninfo = v;
                else
                        break;
        }
        if (i != argc || lo.persons == 0 || conninfo == NULL) {
                fprintf(stderr,
                        "usage: zz-bench-pg-copy [--persons N] [--seed S] "
                        "[--jurisdiction J]\n"
                        "                        [--prefix P] [--pg "
                        "CONNINFO (else $ZIZHU_PG)]\n");
                return 2;
        }
        lo.policy_dir = policy_dir;
        lg = zz_loadgen_new(&lo, errstr, sizeof(errstr));
        if (lg == NULL) {
                fprintf(stderr, "zz-bench-pg-copy: %s\n", errstr);
                return 1;
        }
        zz_bench_progress("formatting the rows of %llu persons",
                          (unsigned long long)lo.persons);
        if (zz_loadgen_run(lg, on_record, &g, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "zz-bench-pg-copy: %s\n", errstr);
                return 1;
        }
        zz_loadgen_destroy(lg);
        conn = PQconnectdb(conninfo);
        if (PQstatus(conn) != CONNECTION_OK) {
                fprintf(stderr, "zz-bench-pg-copy: %s", PQerrorMessage(conn));
                PQfinish(conn);
                return 1;
        }
        for (i = 0; i < 3; i++)
                rows += g.b[i].rows;
        zz_bench_progress("COPY of %lld rows (%.0f MB)", rows,
                          (double)(g.b[0].len + g.b[1].len + g.b[2].len) / 1e6);
        t0 = zz_bench_now();
        if (exec_ok(conn, "BEGIN") != 0)
                return 1;
        for (i = 0; i < 3; i++) {
                if (copy_in(conn, tables[i], &g.b[i]) != 0)
                        return 1;
                zz_bench_progress("%s: %lld rows after %.1f s", tables[i],
                                  g.b[i].rows, zz_bench_now() - t0);
        }
        if (exec_ok(conn, "COMMIT") != 0)
                return 1;
        t1 = zz_bench_now();
        PQfinish(conn);
        printf("pg_rows %lld\n", rows);
        printf("pg_seconds %.3f\n", t1 - t0);
        printf("pg_rows_per_s %.0f\n", t1 > t0 ? (double)rows / (t1 - t0) : 0);
        for (i = 0; i < 3; i++)
                free(g.b[i].data);
        return 0;
}
