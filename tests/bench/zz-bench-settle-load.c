/*
 * zz-bench-settle-load.c — a settlement data set without Kafka: the fact
 * rows zizhu-subsidy-worker stores for the events zizhu-loadgen generates
 * (same generator, seed and size), written with COPY straight into
 * identity_fact, enrollment_fact and payment_fact, and the subsidy
 * worker's consumer positions at the end of each input, so that a close
 * command carrying the printed positions finds its boundary reached and
 * every row inside it.
 *
 * The rows are what sql/020_subsidy.sql's tables receive from facts.c
 * (the feed record turned into an event as feed_event.c does, then stored
 * as facts.c stores it): the same values, only the source position
 * differs. Each input's events get partition 0 of its topic (an identity
 * record its department's topic, zz_config_identity_stream) and offsets
 * 0, 1, ... in generation order; the close boundary is <topic>:0:<count>
 * for each of the eight topics.
 * Decisions are not written: a close re-evaluates every person from the
 * facts (settle_facts.h) and reads no decision.
 *
 * The rows stream through three connections, one COPY each, in about
 * 1 MiB pieces (memory does not grow with the persons). Each table's
 * indexes and key constraints are dropped in its transaction first and
 * built again after the COPY, as the migrations defined them (read back
 * from the catalog): one sort per index instead of an index insertion per
 * row, which slows down by a factor of three once the indexes outgrow
 * shared_buffers. Then VACUUM (ANALYZE) leaves the tables as autovacuum
 * would (so that it does not run during a measurement). The database must
 * be migrated and have no facts yet.
 *
 *   ZIZHU_PG='dbname=zizhu_bench_x ...' zz-bench-settle-load \
 *       --persons 1000000 --prefix bench1. --group zizhu-bench-1
 *
 * stdout: settle_load_rows N, settle_load_seconds S and
 * "positions T:0:N,T:0:N,..." for zizhu-feed close --positions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "bench_common.h"
#include "zizhu/config.h"
#include "zizhu/copy.h"
#include "zizhu/date.h"
#include "zizhu/event.h"
#include "zizhu/feed.h"
#include "zizhu/loadgen.h"
#include "zizhu/vocab.h"

/* feed_event.c keeps at most this many attributes of a record */
#define MAX_ATTRS 16

enum { T_IDENTITY, T_ENROLLMENT, T_PAYMENT, N_TABLES };

static const char *const streams[N_TABLES] = {"identity", "enrollment",
                                              "payment"};

static const char *const copy_sql[N_TABLES] = {
    "COPY zizhu.identity_fact (event_id, person_id, department, "
    "dept_record_id, action, category, attrs, valid_from, valid_to, "
    "approving_region, residence_region, reported_at, deceased_on, "
    "src_topic, src_partition, src_offset) FROM STDIN",
    "COPY zizhu.enrollment_fact (event_id, person_id, department, "
    "dept_record_id, action, household_id, year, tier, enrollment_class, "
    "kind, registered_on, region, unit, src_topic, src_partition, "
    "src_offset) FROM STDIN",
    "COPY zizhu.payment_fact (event_id, person_id, department, "
    "dept_record_id, kind, year, contribution_fen, subsidy_applied_fen, "
    "paid_fen, refund_fen, paid_at, receipt, src_topic, src_partition, "
    "src_offset) FROM STDIN"};

struct sink {
        PGconn *conn;
        PGresult *ddl; /* per index: (drop, create) statements */
        zz_copy_t copy;
        long long rows; /* = the next offset (not identity's: by_dept) */
        char topic[256];
};

/* The identity sink's rows, by department topic (zz_vocab_dept order). */
struct dept_topic {
        long long rows;
        char topic[256];
};

struct load {
        struct sink s[N_TABLES];
        struct dept_topic by_dept[ZZ_VOCAB_DEPTS];
        unsigned long long persons, total;
        char last_person[19];
        double t0, last_progress;
        int failed;
};

static void field(struct sink *s, const char *v, char sep)
{
        zz_copy_field(&s->copy, v, sep);
}

static const char *nullable(const char *v)
{
        return v[0] == '\0' ? NULL : v;
}

static void field_ll(struct sink *s, long long v, char sep)
{
        char tmp[32];

        snprintf(tmp, sizeof(tmp), "%lld", v);
        field(s, tmp, sep);
}

static void field_date(struct sink *s, zz_date_t d, char sep)
{
        char tmp[16];

        field(s, d == ZZ_DATE_NONE ? NULL : zz_date_format(d, tmp, sizeof(tmp)),
              sep);
}

/* The attributes as facts.c stores them: feed_event.c's split of
 * "k=v;k=v" (a token without '=' is dropped), then a JSON object with
 * sorted keys. */
static void field_attrs(struct sink *s, const char *attrs, char sep)
{
        char buf[ZZ_FEED_ATTRS_SIZE], *save = NULL, *tok, *text;
        json_t *obj = json_object();
        size_t n = 0;

        snprintf(buf, sizeof(buf), "%s", attrs);
        for (tok = strtok_r(buf, ";", &save); tok != NULL && n < MAX_ATTRS;
             tok = strtok_r(NULL, ";", &save)) {
                char *eq = strchr(tok, '=');

                if (eq == NULL)
                        continue;
                *eq = '\0';
                json_object_set_new(obj, tok, json_string(eq + 1));
                n++;
        }
        text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(obj);
        if (text == NULL) {
                fprintf(stderr, "zz-bench-settle-load: out of memory\n");
                exit(1);
        }
        field(s, text, sep);
        free(text);
}

/* The source position (partition 0, the next offset), ending the row. */
static void source(struct sink *s)
{
        field(s, s->topic, '\t');
        field(s, "0", '\t');
        field_ll(s, s->rows++, '\n');
}

/* An identity row's source position: its department's topic. */
static void source_identity(struct load *l, const char *dept)
{
        struct sink *s = &l->s[T_IDENTITY];
        int d = zz_vocab_dept_index(dept);
        struct dept_topic *t = &l->by_dept[d < 0 ? 0 : d];

        field(s, t->topic, '\t');
        field(s, "0", '\t');
        field_ll(s, t->rows++, '\n');
        s->rows++;
}

static void progress(struct load *l)
{
        double now = zz_bench_now();

        if (now - l->last_progress < 5)
                return;
        l->last_progress = now;
        zz_bench_progress("%llu of %llu persons, %lld rows, %.0f rows/s",
                          l->persons, l->total,
                          l->s[0].rows + l->s[1].rows + l->s[2].rows,
                          (double)(l->s[0].rows + l->s[1].rows + l->s[2].rows) /
                              (now - l->t0));
}

static int on_record(const zz_feed_record_t *rec, void *opaque)
{
        struct load *l = opaque;
        struct sink *s;
        const char *person;

        switch (rec->kind) {
        case ZZ_FEED_IDENTITY: {
                const zz_feed_identity_t *r = &rec->u.identity;

                s = &l->s[T_IDENTITY];
                person = r->person_id;
                field(s, rec->event_id, '\t');
                field(s, r->person_id, '\t');
                field(s, r->department, '\t');
                field(s, r->dept_record_id, '\t');
                field(s,
                      zz_identity_action_name((zz_identity_action_t)r->action),
                      '\t');
                field(s, r->category, '\t');
                field_attrs(s, r->attrs, '\t');
                field_date(s, r->valid_from, '\t');
                field_date(s, r->valid_to, '\t');
                field(s, r->approving_region, '\t');
                field(s, nullable(r->residence_region), '\t');
                field_ll(s, r->reported_at, '\t');
                field_date(s, r->deceased_on, '\t');
                break;
        }
        case ZZ_FEED_ENROLLMENT: {
                const zz_feed_enrollment_t *r = &rec->u.enrollment;

                s = &l->s[T_ENROLLMENT];
                person = r->person_id;
                field(s, rec->event_id, '\t');
                field(s, r->person_id, '\t');
                field(s, r->department, '\t');
                field(s, r->dept_record_id, '\t');
                field(s,
                      zz_enrollment_action_name(
                          (zz_enrollment_action_t)r->action),
                      '\t');
                field(s, r->household_id, '\t');
                field_ll(s, r->year, '\t');
                field_ll(s, r->tier, '\t');
                field(s,
                      zz_enrollment_class_name(
                          (zz_enrollment_class_t)r->enroll_class),
                      '\t');
                field(s, zz_enrollment_kind_name((zz_enrollment_kind_t)r->kind),
                      '\t');
                field_date(s, r->registered_on, '\t');
                field(s, r->region, '\t');
                field(s, nullable(r->unit), '\t');
                break;
        }
        case ZZ_FEED_PAYMENT: {
                const zz_feed_payment_t *r = &rec->u.payment;

                s = &l->s[T_PAYMENT];
                person = r->person_id;
                field(s, rec->event_id, '\t');
                field(s, r->person_id, '\t');
                field(s, r->department, '\t');
                field(s, r->dept_record_id, '\t');
                field(s, zz_payment_kind_name((zz_payment_kind_t)r->kind),
                      '\t');
                field_ll(s, r->year, '\t');
                field_ll(s, r->contribution_fen, '\t');
                field_ll(s, r->subsidy_applied_fen, '\t');
                field_ll(s, r->paid_fen, '\t');
                field_ll(s, r->refund_fen, '\t');
                field_ll(s, r->paid_at, '\t');
                field(s, r->receipt, '\t');
                break;
        }
        default:
                return 0; /* control records: not read by a close */
        }
        if (rec->kind == ZZ_FEED_IDENTITY)
                source_identity(l, rec->u.identity.department);
        else
                source(s);
        /* a person's events come one after the other */
        if (strcmp(person, l->last_person) != 0) {
                snprintf(l->last_person, sizeof(l->last_person), "%s", person);
                l->persons++;
                progress(l);
        }
        if (s->copy.failed) {
                fprintf(stderr, "zz-bench-settle-load: %s",
                        PQerrorMessage(s->conn));
                l->failed = 1;
                return 1;
        }
        return 0;
}

static int exec_ok(PGconn *conn, const char *sql, ExecStatusType want)
{
        PGresult *res = PQexec(conn, sql);
        int ok = PQresultStatus(res) == want;

        if (!ok)
                fprintf(stderr, "zz-bench-settle-load: %.40s...: %s", sql,
                        PQerrorMessage(conn));
        PQclear(res);
        return ok ? 0 : -1;
}

static const char *const tables[N_TABLES] = {
    "zizhu.identity_fact", "zizhu.enrollment_fact", "zizhu.payment_fact"};

/* Drops the table's key constraints and indexes, keeping the statements
 * that create them again in s->ddl. */
static int indexes_drop(struct sink *s, const char *table)
{
        const char *p[1] = {table};
        int r;

        s->ddl = PQexecParams(
            s->conn,
            "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', "
            "conrelid::regclass, conname), format('ALTER TABLE %s ADD "
            "CONSTRAINT %I %s', conrelid::regclass, conname, "
            "pg_get_constraintdef(oid)) FROM pg_constraint WHERE conrelid = "
            "$1::regclass AND contype IN ('p', 'u') UNION ALL SELECT "
            "format('DROP INDEX %s', indexrelid::regclass), "
            "pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = "
            "$1::regclass AND indexrelid NOT IN (SELECT conindid FROM "
            "pg_constraint WHERE conrelid = $1::regclass)",
            1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(s->ddl) != PGRES_TUPLES_OK) {
                fprintf(stderr, "zz-bench-settle-load: indexes of %s: %s",
                        table, PQerrorMessage(s->conn));
                return -1;
        }
        for (r = 0; r < PQntuples(s->ddl); r++)
                if (exec_ok(s->conn, PQgetvalue(s->ddl, r, 0),
                            PGRES_COMMAND_OK) != 0)
                        return -1;
        return 0;
}

/* Sends the statements that build the indexes again, all at once: the
 * three tables' are built side by side. */
static int indexes_send(struct sink *s)
{
        size_t len = 1;
        char *sql;
        int r;

        for (r = 0; r < PQntuples(s->ddl); r++)
                len += strlen(PQgetvalue(s->ddl, r, 1)) + 2;
        sql = malloc(len);
        if (sql == NULL)
                return -1;
        len = 0;
        for (r = 0; r < PQntuples(s->ddl); r++) {
                size_t n = strlen(PQgetvalue(s->ddl, r, 1));

                memcpy(sql + len, PQgetvalue(s->ddl, r, 1), n);
                sql[len + n] = ';';
                len += n + 1;
        }
        sql[len] = '\0';
        r = PQsendQuery(s->conn, sql);
        free(sql);
        if (!r)
                fprintf(stderr, "zz-bench-settle-load: %s",
                        PQerrorMessage(s->conn));
        return r ? 0 : -1;
}

static int indexes_wait(struct sink *s)
{
        PGresult *res;
        int rc = 0;

        while ((res = PQgetResult(s->conn)) != NULL) {
                if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                        fprintf(stderr, "zz-bench-settle-load: indexes: %s",
                                PQresultErrorMessage(res));
                        rc = -1;
                }
                PQclear(res);
        }
        PQclear(s->ddl);
        s->ddl = NULL;
        return rc;
}

/* The i-th input topic of l (ZZ_VOCAB_DEPTS identity topics, then
 * enrollment and payment) and its row count. */
#define N_POSITIONS (ZZ_VOCAB_DEPTS + N_TABLES - 1)
static const char *position_of(const struct load *l, int i, long long *rows)
{
        if (i < ZZ_VOCAB_DEPTS) {
                *rows = l->by_dept[i].rows;
                return l->by_dept[i].topic;
        }
        *rows = l->s[i - ZZ_VOCAB_DEPTS + 1].rows;
        return l->s[i - ZZ_VOCAB_DEPTS + 1].topic;
}

/* The subsidy worker's positions: every input read to its end. */
static int positions(PGconn *conn, const char *group, const struct load *l)
{
        int i;

        for (i = 0; i < N_POSITIONS; i++) {
                char next[24];
                const char *p[3];
                PGresult *res;
                long long rows;
                int ok;

                p[1] = position_of(l, i, &rows);
                snprintf(next, sizeof(next), "%lld", rows);
                p[0] = group;
                p[2] = next;
                res = PQexecParams(
                    conn,
                    "INSERT INTO zizhu.consumer_position (group_id, topic, "
                    "partition, next_offset, epoch) VALUES ($1, $2, 0, $3, "
                    "1) ON CONFLICT (group_id, topic, partition) DO UPDATE "
                    "SET next_offset = EXCLUDED.next_offset",
                    3, NULL, p, NULL, NULL, 0);
                ok = PQresultStatus(res) == PGRES_COMMAND_OK;
                if (!ok)
                        fprintf(stderr,
                                "zz-bench-settle-load: consumer position: %s",
                                PQerrorMessage(conn));
                PQclear(res);
                if (!ok)
                        return -1;
        }
        return 0;
}

static void usage(void)
{
        fprintf(stderr, "usage: zz-bench-settle-load [--persons N] [--seed S] "
                        "[--jurisdiction J]\n"
                        "                            [--prefix P] [--group G] "
                        "[--pg CONNINFO (else $ZIZHU_PG)]\n");
}

int main(int argc, char **argv)
{
        zz_loadgen_options_t lo;
        zz_loadgen_t *lg;
        struct load l;
        const char *conninfo = getenv("ZIZHU_PG");
        const char *prefix = "zz.", *group = "zizhu-subsidy";
        char errstr[512] = "";
        char policy_dir[4096];
        double t1;
        int i, rc;

        zz_bench_set_name("settle-load");
        memset(&lo, 0, sizeof(lo));
        memset(&l, 0, sizeof(l));
        lo.seed = 1;
        lo.persons = 100000;
        lo.jurisdiction = "huilong";
        lo.no_expected = 1;
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
                        prefix = v;
                else if (strcmp(argv[i], "--group") == 0)
                        group = v;
                else if (strcmp(argv[i], "--pg") == 0)
                        conninfo = v;
                else
                        break;
        }
        if (i != argc || lo.persons == 0 || conninfo == NULL) {
                usage();
                return 2;
        }
        lo.policy_dir = policy_dir;
        lg = zz_loadgen_new(&lo, errstr, sizeof(errstr));
        if (lg == NULL) {
                fprintf(stderr, "zz-bench-settle-load: %s\n", errstr);
                return 1;
        }
        for (i = 0; i < N_TABLES; i++) {
                struct sink *s = &l.s[i];

                snprintf(s->topic, sizeof(s->topic), "%s%s", prefix,
                         streams[i]);
                if (i == T_IDENTITY) {
                        int d;

                        for (d = 0; d < ZZ_VOCAB_DEPTS; d++) {
                                char name[ZZ_CONFIG_STREAM_SIZE];

                                zz_config_identity_stream(zz_vocab_dept(d),
                                                          name, sizeof(name));
                                snprintf(l.by_dept[d].topic,
                                         sizeof(l.by_dept[d].topic), "%s%s",
                                         prefix, name);
                        }
                }
                s->conn = PQconnectdb(conninfo);
                if (PQstatus(s->conn) != CONNECTION_OK) {
                        fprintf(stderr, "zz-bench-settle-load: %s",
                                PQerrorMessage(s->conn));
                        return 1;
                }
                if (exec_ok(s->conn,
                            "BEGIN; SET LOCAL maintenance_work_mem = "
                            "'256MB'",
                            PGRES_COMMAND_OK) != 0 ||
                    indexes_drop(s, tables[i]) != 0 ||
                    zz_copy_begin(&s->copy, s->conn, copy_sql[i], errstr,
                                  sizeof(errstr)) != 0) {
                        fprintf(stderr, "zz-bench-settle-load: %s\n", errstr);
                        return 1;
                }
        }
        l.total = lo.persons;
        l.t0 = l.last_progress = zz_bench_now();
        zz_bench_progress("COPY of the facts of %llu persons (%s, seed %llu)",
                          (unsigned long long)lo.persons, lo.jurisdiction,
                          (unsigned long long)lo.seed);
        rc = zz_loadgen_run(lg, on_record, &l, errstr, sizeof(errstr));
        zz_loadgen_destroy(lg);
        if (rc != 0 || l.failed) {
                if (rc < 0)
                        fprintf(stderr, "zz-bench-settle-load: %s\n", errstr);
                return 1;
        }
        for (i = 0; i < N_TABLES; i++)
                if (zz_copy_end(&l.s[i].copy, errstr, sizeof(errstr)) != 0) {
                        fprintf(stderr, "zz-bench-settle-load: %s\n", errstr);
                        return 1;
                }
        t1 = zz_bench_now();
        zz_bench_progress("%lld rows in %.1f s; indexes",
                          l.s[0].rows + l.s[1].rows + l.s[2].rows, t1 - l.t0);
        for (i = 0; i < N_TABLES; i++)
                if (indexes_send(&l.s[i]) != 0)
                        return 1;
        for (i = 0; i < N_TABLES; i++)
                if (indexes_wait(&l.s[i]) != 0)
                        return 1;
        if (positions(l.s[0].conn, group, &l) != 0)
                return 1;
        for (i = 0; i < N_TABLES; i++)
                if (exec_ok(l.s[i].conn, "COMMIT", PGRES_COMMAND_OK) != 0)
                        return 1;
        t1 = zz_bench_now();
        zz_bench_progress("indexes built after %.1f s; VACUUM (ANALYZE)",
                          t1 - l.t0);
        if (exec_ok(l.s[0].conn,
                    "VACUUM (ANALYZE) zizhu.identity_fact, "
                    "zizhu.enrollment_fact, zizhu.payment_fact, "
                    "zizhu.consumer_position",
                    PGRES_COMMAND_OK) != 0)
                return 1;
        printf("settle_load_rows %lld\n",
               l.s[0].rows + l.s[1].rows + l.s[2].rows);
        printf("settle_load_seconds %.3f\n", zz_bench_now() - l.t0);
        printf("positions");
        for (i = 0; i < N_POSITIONS; i++) {
                long long rows;
                const char *topic = position_of(&l, i, &rows);

                printf("%s%s:0:%lld", i ? "," : " ", topic, rows);
        }
        printf("\n");
        for (i = 0; i < N_TABLES; i++) {
                PQfinish(l.s[i].conn);
        }
        return 0;
}
