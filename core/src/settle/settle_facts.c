/*
 * settle_facts.c — the facts of persons inside a settlement boundary (or
 * as known at a past moment), folded into policy cases the same way the
 * subsidy worker folds them (see settle_facts.h, subsidy.h): one person's or
 * everyone's at once (zz_factset_load), or everyone's a chunk at a time
 * for a close (zz_factset_open), with memory bounded by the chunk.
 */
#include "zizhu/settle_facts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zizhu/casefold.h"
#include "zizhu/date.h"
#include "zizhu/pg.h"
#include "settle_int.h"

/* The settlement's payment rows carry the kind after casefold.h's
 * columns, for zz_factset_print. */
#define P_KIND (ZZ_CASEFOLD_P_PAID_AT + 1)

/* The streams of a person's rows: the three fact tables, then the ledger
 * (cursors only). */
enum { S_IDENTITY, S_ENROLLMENT, S_PAYMENT, S_LEDGER, N_STREAMS };

/* Rows [span.begin, span.end) of res (NULL when there are none). */
typedef struct fs_rows_s {
        const PGresult *res;
        zz_casefold_span_t span;
} fs_rows_t;

typedef struct fs_person_s {
        const char *id;
        fs_rows_t r[N_STREAMS];
} fs_person_t;

struct zz_factset_s {
        PGresult *own[3]; /* zz_factset_load's results; NULL for a chunk */
        fs_person_t *persons;
        size_t n, cap;
};

/*
 * The statements over the fact tables. Each is built from the fixed
 * pieces below and the boundary's condition (bound_sql), which is made of
 * a fixed piece per topic of the boundary with that topic's parameters:
 * no text comes from data. The columns are casefold.h's (a cursor adds the
 * hash of the person after them).
 */
#define IDENTITY_COLS                                                          \
        "f.person_id, f.event_id, f.department, f.dept_record_id, f.action, f.category, f.attrs::text, f.valid_from - DATE '1970-01-01', f.valid_to - DATE '1970-01-01', f.approving_region, f.residence_region, f.reported_at, f.deceased_on - DATE '1970-01-01'"
#define ENROLLMENT_COLS                                                        \
        "f.person_id, f.event_id, f.department, f.dept_record_id, f.action, f.household_id, f.year, f.tier, f.enrollment_class, f.kind, f.registered_on - DATE '1970-01-01', f.region, f.unit"
#define PAYMENT_COLS                                                           \
        "f.person_id, f.event_id, f.year, f.contribution_fen, f.subsidy_applied_fen, f.paid_fen, f.paid_at, f.kind"

/* The order of a person's rows (casefold.h). */
#define IDENTITY_ORDER                                                         \
        "f.department COLLATE \"C\", f.dept_record_id COLLATE \"C\", f.reported_at, f.event_id COLLATE \"C\""
#define EVENT_ORDER "f.event_id COLLATE \"C\""

/* Known by then in business time (parameter P, ms): identity reported_at,
 * payment paid_at on or before it, enrollment registered_on on or before
 * its China date. */
#define IDENTITY_KNOWN(P) "f.reported_at <= " P "::bigint"
#define ENROLLMENT_KNOWN(P)                                                    \
        "f.registered_on <= (to_timestamp(" P                                  \
        "::bigint / 1000.0) AT TIME ZONE 'Asia/Shanghai')::date"
#define PAYMENT_KNOWN(P) "f.paid_at <= " P "::bigint"

/* zz_factset_load: one person ($1) or everyone, known by then in
 * business time ($2: ms, or NULL for all), then the boundary's condition
 * (parameters from $3 on, or "true"), then the order. */
static const char SQL_LOAD_IDENTITY[] =
    "SELECT " IDENTITY_COLS "\n"
    "FROM zizhu.identity_fact f\n"
    "WHERE ($1::text IS NULL OR f.person_id = $1)\n"
    "AND ($2::bigint IS NULL OR " IDENTITY_KNOWN("$2") ")\n"
                                                       "AND ";
static const char SQL_LOAD_ENROLLMENT[] =
    "SELECT " ENROLLMENT_COLS "\n"
    "FROM zizhu.enrollment_fact f\n"
    "WHERE ($1::text IS NULL OR f.person_id = $1)\n"
    "AND ($2::bigint IS NULL OR " ENROLLMENT_KNOWN("$2") ")\n"
                                                         "AND ";
static const char SQL_LOAD_PAYMENT[] =
    "SELECT " PAYMENT_COLS "\n"
    "FROM zizhu.payment_fact f\n"
    "WHERE ($1::text IS NULL OR f.person_id = $1)\n"
    "AND ($2::bigint IS NULL OR " PAYMENT_KNOWN("$2") ")\n"
                                                      "AND ";
#define LOAD_ORDER "\nORDER BY f.person_id COLLATE \"C\", "
static const char SQL_LOAD_IDENTITY_ORDER[] = LOAD_ORDER IDENTITY_ORDER;
static const char SQL_LOAD_EVENT_ORDER[] = LOAD_ORDER EVENT_ORDER;

/* The cursors' names: a FETCH names them (SQL_FETCH). */
#define IDENTITY_CURSOR   "zz_factset_0"
#define ENROLLMENT_CURSOR "zz_factset_1"
#define PAYMENT_CURSOR    "zz_factset_2"
#define LEDGER_CURSOR     "zz_factset_3"

/* zz_factset_open: a cursor per table over the facts inside the boundary
 * (its condition follows, parameters from $1 on, or "true"), sorted by
 * the hash of the person. */
static const char SQL_CURSOR_IDENTITY[] =
    "DECLARE " IDENTITY_CURSOR " NO SCROLL CURSOR FOR\n"
    "SELECT " IDENTITY_COLS ", hashtext(f.person_id)\n"
    "FROM zizhu.identity_fact f\n"
    "WHERE ";
static const char SQL_CURSOR_ENROLLMENT[] =
    "DECLARE " ENROLLMENT_CURSOR " NO SCROLL CURSOR FOR\n"
    "SELECT " ENROLLMENT_COLS ", hashtext(f.person_id)\n"
    "FROM zizhu.enrollment_fact f\n"
    "WHERE ";
static const char SQL_CURSOR_PAYMENT[] =
    "DECLARE " PAYMENT_CURSOR " NO SCROLL CURSOR FOR\n"
    "SELECT " PAYMENT_COLS ", hashtext(f.person_id)\n"
    "FROM zizhu.payment_fact f\n"
    "WHERE ";
#define CURSOR_ORDER                                                           \
        "\nORDER BY hashtext(f.person_id), f.person_id COLLATE \"C\", "
static const char SQL_CURSOR_IDENTITY_ORDER[] = CURSOR_ORDER IDENTITY_ORDER;
static const char SQL_CURSOR_EVENT_ORDER[] = CURSOR_ORDER EVENT_ORDER;

/* The ledger's cursor (ZZ_LEDGER_* columns, then the hash). */
static const char SQL_CURSOR_LEDGER[] =
    "DECLARE " LEDGER_CURSOR " NO SCROLL CURSOR FOR\n"
    "SELECT person_id, year, payer, fund, region, category, rule, fen, first_period, hashtext(person_id)\n"
    "FROM zizhu.settle_ledger\n"
    "WHERE policy_name = $1\n"
    "ORDER BY hashtext(person_id), person_id COLLATE \"C\", year";

/* A reader's transaction. work_mem: the sort of a cursor spills to disk
 * in runs of that size; jit: compiling its expressions costs more than it
 * saves on a sort. */
static const char SQL_READER_BEGIN[] =
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
    "SET LOCAL work_mem = '64MB';\n"
    "SET LOCAL jit = off";

/* The next rows of a cursor: FETCH takes no parameter, so its text is
 * made of the chunk size and the cursor's fixed name. */
#define SQL_FETCH "FETCH FORWARD %zu FROM %s"

/* One condition per topic of the boundary, joined with " OR ": its name
 * and its int8[] of end offsets ($first + 2j, $first + 2j + 1). */
#define SQL_BOUND_TOPIC                                                        \
        "(f.src_topic = $%d AND f.src_offset < ($%d::bigint[])[f.src_partition + 1])"

static const struct fact_sql_s {
        const char *load, *load_order;     /* zz_factset_load */
        const char *cursor, *cursor_order; /* zz_factset_open */
        const char *cursor_known; /* zz_factset_open_as_of: after cursor */
        const char *cursor_name;
        int ncols; /* columns before the cursor's hash */
} fact_sql[3] = {
    {SQL_LOAD_IDENTITY, SQL_LOAD_IDENTITY_ORDER, SQL_CURSOR_IDENTITY,
     SQL_CURSOR_IDENTITY_ORDER, IDENTITY_KNOWN("$1") "\nAND ", IDENTITY_CURSOR,
     13},
    {SQL_LOAD_ENROLLMENT, SQL_LOAD_EVENT_ORDER, SQL_CURSOR_ENROLLMENT,
     SQL_CURSOR_EVENT_ORDER, ENROLLMENT_KNOWN("$1") "\nAND ", ENROLLMENT_CURSOR,
     13},
    {SQL_LOAD_PAYMENT, SQL_LOAD_EVENT_ORDER, SQL_CURSOR_PAYMENT,
     SQL_CURSOR_EVENT_ORDER, PAYMENT_KNOWN("$1") "\nAND ", PAYMENT_CURSOR, 8},
};

/* ------------------------------------------------------------------ */
/* SQL text                                                            */

typedef struct fs_sql_s {
        char *text;
        size_t len, cap;
        int failed;
} fs_sql_t;

static void sql_add(fs_sql_t *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sql_add(fs_sql_t *q, const char *fmt, ...)
{
        va_list ap;
        int n;

        for (;;) {
                if (q->failed)
                        return;
                va_start(ap, fmt);
                n = vsnprintf(q->text != NULL ? q->text + q->len : NULL,
                              q->text != NULL ? q->cap - q->len : 0, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        q->failed = 1;
                        return;
                }
                if (q->text != NULL && q->len + (size_t)n < q->cap) {
                        q->len += (size_t)n;
                        return;
                }
                {
                        size_t cap = q->cap ? q->cap : 1024;
                        char *text;

                        while (cap <= q->len + (size_t)n)
                                cap *= 2;
                        text = realloc(q->text, cap);
                        if (text == NULL) {
                                q->failed = 1;
                                return;
                        }
                        q->text = text;
                        q->cap = cap;
                }
        }
}

/*
 * The boundary as parameters: per topic, its name and an int8[] of the
 * end offsets indexed by partition + 1 (NULL for partitions it does not
 * name). A condition on the row's source position tests them without a
 * join: per row, one comparison of the topic and one array subscript.
 */
#define MAX_PARTITION 65535

typedef struct fs_bound_s {
        size_t n;           /* topics */
        const char **topic; /* borrowed from the boundary */
        char **ends;        /* array literals, malloc'd */
} fs_bound_t;

static void bound_free(fs_bound_t *b)
{
        size_t i;

        for (i = 0; i < b->n; i++)
                free(b->ends[i]);
        free(b->topic);
        free(b->ends);
        memset(b, 0, sizeof(*b));
}

static int bound_init(fs_bound_t *b, const zz_settle_pos_t *pos, size_t n,
                      char *errstr, size_t errstr_size)
{
        size_t i, j;

        memset(b, 0, sizeof(*b));
        b->topic = calloc(n + 1, sizeof(*b->topic));
        b->ends = calloc(n + 1, sizeof(*b->ends));
        if (b->topic == NULL || b->ends == NULL)
                goto oom;
        for (i = 0; i < n; i++) {
                if (pos[i].partition < 0 || pos[i].partition > MAX_PARTITION) {
                        snprintf(errstr, errstr_size,
                                 "boundary partition %d of %s is out of "
                                 "range",
                                 (int)pos[i].partition, pos[i].topic);
                        bound_free(b);
                        return -1;
                }
                for (j = 0; j < b->n; j++)
                        if (strcmp(b->topic[j], pos[i].topic) == 0)
                                break;
                if (j == b->n)
                        b->topic[b->n++] = pos[i].topic;
        }
        for (j = 0; j < b->n; j++) {
                int32_t max = 0, p;
                size_t cap, len = 0;

                for (i = 0; i < n; i++)
                        if (strcmp(pos[i].topic, b->topic[j]) == 0 &&
                            pos[i].partition > max)
                                max = pos[i].partition;
                cap = (size_t)max * 24 + 64;
                b->ends[j] = malloc(cap);
                if (b->ends[j] == NULL)
                        goto oom;
                b->ends[j][len++] = '{';
                for (p = 0; p <= max; p++) {
                        const zz_settle_pos_t *hit = NULL;

                        for (i = 0; i < n; i++)
                                if (pos[i].partition == p &&
                                    strcmp(pos[i].topic, b->topic[j]) == 0)
                                        hit = &pos[i];
                        if (hit != NULL)
                                len += (size_t)snprintf(
                                    b->ends[j] + len, cap - len, "%s%lld",
                                    p > 0 ? "," : "", (long long)hit->end);
                        else
                                len += (size_t)snprintf(b->ends[j] + len,
                                                        cap - len, "%sNULL",
                                                        p > 0 ? "," : "");
                }
                snprintf(b->ends[j] + len, cap - len, "}");
        }
        return 0;
oom:
        snprintf(errstr, errstr_size, "out of memory");
        bound_free(b);
        return -1;
}

/* Appends the boundary's condition on f, parameters from $first on. */
static void bound_sql(fs_sql_t *q, const fs_bound_t *b, int first)
{
        size_t j;

        if (b->n == 0) {
                sql_add(q, "false");
                return;
        }
        sql_add(q, "(");
        for (j = 0; j < b->n; j++) {
                if (j > 0)
                        sql_add(q, " OR ");
                sql_add(q, SQL_BOUND_TOPIC, first + 2 * (int)j,
                        first + 2 * (int)j + 1);
        }
        sql_add(q, ")");
}

/* The statement head, the boundary's condition from $first on (or "true"
 * without a boundary), then tail, into a malloc'd text; NULL when out of
 * memory. */
static char *bound_statement(const char *head, const fs_bound_t *b, int bounded,
                             int first, const char *tail)
{
        fs_sql_t q = {NULL, 0, 0, 0};

        sql_add(&q, "%s", head);
        if (bounded)
                bound_sql(&q, b, first);
        else
                sql_add(&q, "true");
        sql_add(&q, "%s", tail);
        if (q.failed) {
                free(q.text);
                return NULL;
        }
        return q.text;
}

/* Runs sql with params[0..n_fixed) (types as given) followed by the
 * boundary's. */
static PGresult *bound_exec(PGconn *conn, const char *sql, const fs_bound_t *b,
                            int n_fixed, const Oid *fixed_types,
                            const char *const *fixed, char *errstr,
                            size_t errstr_size)
{
        int n = n_fixed + 2 * (int)b->n, i;
        Oid *types = calloc((size_t)n + 1, sizeof(*types));
        const char **params = calloc((size_t)n + 1, sizeof(*params));
        PGresult *res = NULL;

        if (types == NULL || params == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        for (i = 0; i < n_fixed; i++) {
                types[i] = fixed_types[i];
                params[i] = fixed[i];
        }
        for (i = 0; i < (int)b->n; i++) {
                types[n_fixed + 2 * i] = 25;       /* text */
                types[n_fixed + 2 * i + 1] = 1016; /* int8[] */
                params[n_fixed + 2 * i] = b->topic[i];
                params[n_fixed + 2 * i + 1] = b->ends[i];
        }
        res = zz_pg_query_ex(conn, sql, n, types, params, NULL, NULL, 0, NULL,
                             errstr, errstr_size);
        if (res == NULL)
                settle_failed("could not load facts", errstr, errstr_size);
out:
        free(types);
        free(params);
        return res;
}

/* ------------------------------------------------------------------ */
/* One person, or everyone at once                                    */

static int factset_push(zz_factset_t *fs)
{
        if (fs->n == fs->cap) {
                size_t cap = fs->cap ? 2 * fs->cap : 1024;
                fs_person_t *v = realloc(fs->persons, cap * sizeof(*v));

                if (v == NULL)
                        return -1;
                fs->persons = v;
                fs->cap = cap;
        }
        memset(&fs->persons[fs->n], 0, sizeof(fs->persons[0]));
        fs->n++;
        return 0;
}

static int cmp_person(const PGresult *res, int row, const char *id)
{
        return strcmp(PQgetvalue(res, row, 0), id);
}

/* The rows of table t into fs->own[t]: params are $1 (person) and $2
 * (as of), the boundary's follow. */
static int load_table(zz_factset_t *fs, PGconn *conn, int t,
                      const fs_bound_t *b, int bounded,
                      const char *const params[2], char *errstr,
                      size_t errstr_size)
{
        static const Oid types[2] = {25, 20}; /* text, int8 */
        char *sql = bound_statement(fact_sql[t].load, b, bounded, 3,
                                    fact_sql[t].load_order);

        if (sql == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        fs->own[t] =
            bound_exec(conn, sql, b, 2, types, params, errstr, errstr_size);
        free(sql);
        return fs->own[t] != NULL ? 0 : -1;
}

/* Merges the three person-ordered results into one person list. */
static int load_persons(zz_factset_t *fs)
{
        int row[3] = {0, 0, 0}, nrow[3], t;

        for (t = 0; t < 3; t++)
                nrow[t] = PQntuples(fs->own[t]);
        while (row[0] < nrow[0] || row[1] < nrow[1] || row[2] < nrow[2]) {
                const char *id = NULL;
                fs_person_t *p;

                for (t = 0; t < 3; t++)
                        if (row[t] < nrow[t] &&
                            (id == NULL ||
                             cmp_person(fs->own[t], row[t], id) < 0))
                                id = PQgetvalue(fs->own[t], row[t], 0);
                if (factset_push(fs) != 0)
                        return -1;
                p = &fs->persons[fs->n - 1];
                p->id = id;
                for (t = 0; t < 3; t++) {
                        p->r[t].res = fs->own[t];
                        p->r[t].span.begin = row[t];
                        while (row[t] < nrow[t] &&
                               cmp_person(fs->own[t], row[t], id) == 0)
                                row[t]++;
                        p->r[t].span.end = row[t];
                }
        }
        return 0;
}

zz_factset_t *zz_factset_load(PGconn *conn, const zz_settle_pos_t *boundary,
                              size_t n_boundary, const char *person,
                              int64_t as_of, char *errstr, size_t errstr_size)
{
        zz_factset_t *fs = calloc(1, sizeof(*fs));
        fs_bound_t b;
        char asof[32];
        const char *params[2];
        int t;

        memset(&b, 0, sizeof(b));
        if (fs == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (boundary != NULL &&
            bound_init(&b, boundary, n_boundary, errstr, errstr_size) != 0)
                goto fail;
        snprintf(asof, sizeof(asof), "%lld", (long long)as_of);
        params[0] = person;
        params[1] = as_of == ZZ_AS_OF_NONE ? NULL : asof;
        for (t = 0; t < 3; t++)
                if (load_table(fs, conn, t, &b, boundary != NULL, params,
                               errstr, errstr_size) != 0)
                        goto fail;
        bound_free(&b);
        if (load_persons(fs) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        return fs;
fail:
        bound_free(&b);
        zz_factset_destroy(fs);
        return NULL;
}

void zz_factset_destroy(zz_factset_t *fs)
{
        int t;

        if (fs == NULL)
                return;
        for (t = 0; t < 3; t++)
                PQclear(fs->own[t]);
        free(fs->persons);
        free(fs);
}

size_t zz_factset_count(const zz_factset_t *fs)
{
        return fs->n;
}

const char *zz_factset_person(const zz_factset_t *fs, size_t i)
{
        return i < fs->n ? fs->persons[i].id : NULL;
}

const PGresult *zz_factset_ledger(const zz_factset_t *fs, size_t i, int *begin,
                                  int *end)
{
        const fs_rows_t *r;

        *begin = *end = 0;
        if (i >= fs->n)
                return NULL;
        r = &fs->persons[i].r[S_LEDGER];
        *begin = r->span.begin;
        *end = r->span.end;
        return r->res;
}

/* ------------------------------------------------------------------ */
/* Everyone, a chunk at a time                                         */

/*
 * Each stream is a cursor sorted by (hashtext(person_id), person_id): a
 * hash first, since ID numbers share their first bytes (region and
 * century) and sort slowly; the order of persons does not matter to a
 * close. Each cursor runs on a connection of its own (a reader), so that
 * the database sorts the four at once and prepares a stream's next batch
 * while the caller works on the current one: the FETCH of the next batch
 * is sent as soon as a batch arrives.
 *
 * The readers are outside the caller's transaction. That reads the same
 * rows: a boundary's facts were all committed before the close began (the
 * settlement worker waits for that) and are never changed, and the
 * caller's own writes to the ledger would not be visible to its cursor
 * either; one settlement worker runs per database.
 *
 * The last person of a batch may go on in the next one: such rows are
 * gathered into a small result of their own (the carry), so that every
 * person's rows of a stream lie in one result.
 */
typedef struct fs_stream_s {
        PGconn *conn;    /* the reader */
        char fetch[64];  /* its FETCH (SQL_FETCH) */
        int key_col;     /* the hash column */
        int in_flight;   /* a FETCH was sent, its rows not read yet */
        PGresult *batch; /* the rows fetched last */
        int pos;         /* its first row not handed out */
        int done;        /* the cursor has no rows after the batch */
        PGresult *carry; /* one person's rows across batches, or NULL */
        int carry_whole; /* every row of the carry's person is in it */
} fs_stream_t;

typedef struct fs_key_s {
        long h;
        const char *id;
} fs_key_t;

struct zz_factset_cursor_s {
        fs_stream_t s[N_STREAMS];
        int n_streams;
        size_t chunk;
        zz_factset_t fs;
        PGresult **dead; /* handed out last time: freed at the next call */
        size_t n_dead, cap_dead;
        double fetch_seconds;
};

static fs_key_t row_key(const PGresult *res, int row, int key_col)
{
        fs_key_t k;

        k.h = strtol(PQgetvalue(res, row, key_col), NULL, 10);
        k.id = PQgetvalue(res, row, 0);
        return k;
}

static int key_cmp(fs_key_t a, fs_key_t b)
{
        if (a.h != b.h)
                return a.h < b.h ? -1 : 1;
        return strcmp(a.id, b.id);
}

static int dead_add(zz_factset_cursor_t *cur, PGresult *res)
{
        if (res == NULL)
                return 0;
        if (cur->n_dead == cur->cap_dead) {
                size_t cap = cur->cap_dead ? 2 * cur->cap_dead : 16;
                PGresult **v = realloc(cur->dead, cap * sizeof(*v));

                if (v == NULL) {
                        PQclear(res);
                        return -1;
                }
                cur->dead = v;
                cur->cap_dead = cap;
        }
        cur->dead[cur->n_dead++] = res;
        return 0;
}

static void dead_free(zz_factset_cursor_t *cur)
{
        size_t i;

        for (i = 0; i < cur->n_dead; i++)
                PQclear(cur->dead[i]);
        cur->n_dead = 0;
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends key='value' (quoted as libpq reads it) to a conninfo string. */
static void conninfo_add(fs_sql_t *q, const char *key, const char *value)
{
        const char *c;

        sql_add(q, "%s%s='", q->len > 0 ? " " : "", key);
        for (c = value; *c != '\0'; c++)
                sql_add(q, "%s%c", *c == '\'' || *c == '\\' ? "\\" : "", *c);
        sql_add(q, "'");
}

/* A new connection with conn's parameters. */
static PGconn *reader_connect(PGconn *conn, char *errstr, size_t errstr_size)
{
        PQconninfoOption *opts = PQconninfo(conn), *o;
        fs_sql_t q = {NULL, 0, 0, 0};
        PGconn *r = NULL;

        if (opts == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        for (o = opts; o->keyword != NULL; o++)
                if (o->val != NULL)
                        conninfo_add(&q, o->keyword, o->val);
        PQconninfoFree(opts);
        if (q.failed || q.text == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                free(q.text);
                return NULL;
        }
        /* application_name NULL: conn's, in the conninfo */
        r = zz_pg_connect(q.text, NULL, errstr, errstr_size);
        free(q.text);
        if (r == NULL)
                settle_failed("could not open a connection to read facts",
                              errstr, errstr_size);
        return r;
}

/* Appends rows [from, to) of src to the carry (created with src's
 * columns). */
static int carry_add(fs_stream_t *s, const PGresult *src, int from, int to)
{
        int r, c, n, nf = PQnfields(src);

        if (s->carry == NULL) {
                s->carry = PQcopyResult(src, PG_COPYRES_ATTRS);
                if (s->carry == NULL)
                        return -1;
        }
        n = PQntuples(s->carry);
        for (r = from; r < to; r++, n++)
                for (c = 0; c < nf; c++)
                        if (!PQsetvalue(s->carry, n, c,
                                        PQgetisnull(src, r, c)
                                            ? NULL
                                            : PQgetvalue(src, r, c),
                                        PQgetisnull(src, r, c)
                                            ? -1
                                            : PQgetlength(src, r, c)))
                                return -1;
        return 0;
}

/* Sends the FETCH of the stream's next batch, without waiting for it. */
static int stream_send(fs_stream_t *s, char *errstr, size_t errstr_size)
{
        char err[512];

        if (zz_pg_send(s->conn, s->fetch, 0, NULL, err, sizeof(err)) != 0) {
                snprintf(errstr, errstr_size, "could not load facts: %s", err);
                return -1;
        }
        s->in_flight = 1;
        return 0;
}

/* Makes the batch sent for the current one, and sends for the next. */
static int stream_fetch(zz_factset_cursor_t *cur, fs_stream_t *s, char *errstr,
                        size_t errstr_size)
{
        double t0 = now_s();
        PGresult *res, *more;

        if (!s->in_flight && stream_send(s, errstr, errstr_size) != 0)
                return -1;
        res = PQgetResult(s->conn);
        while ((more = PQgetResult(s->conn)) != NULL)
                PQclear(more);
        s->in_flight = 0;
        cur->fetch_seconds += now_s() - t0;
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                snprintf(errstr, errstr_size, "could not load facts: %s",
                         PQresultErrorMessage(res));
                PQclear(res);
                return -1;
        }
        PQclear(s->batch);
        s->batch = res;
        s->pos = 0;
        if ((size_t)PQntuples(res) < cur->chunk) {
                s->done = 1;
                return 0;
        }
        return stream_send(s, errstr, errstr_size);
}

/* Makes the stream's head a whole person, unless it has no rows left. */
static int stream_fill(zz_factset_cursor_t *cur, fs_stream_t *s, char *errstr,
                       size_t errstr_size)
{
        for (;;) {
                int n = s->batch != NULL ? PQntuples(s->batch) : 0;

                if (s->done) {
                        s->carry_whole = 1;
                        return 0;
                }
                if (s->carry != NULL && s->carry_whole)
                        return 0;
                /* another person follows the head in the batch */
                if (s->carry == NULL && s->pos < n &&
                    key_cmp(row_key(s->batch, s->pos, s->key_col),
                            row_key(s->batch, n - 1, s->key_col)) != 0)
                        return 0;
                /* the rest of the batch is one person: carry it over */
                if (s->pos < n && carry_add(s, s->batch, s->pos, n) != 0) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                if (stream_fetch(cur, s, errstr, errstr_size) != 0)
                        return -1;
                n = PQntuples(s->batch);
                if (s->carry != NULL) {
                        fs_key_t ck = row_key(s->carry, 0, s->key_col);
                        int to = 0;

                        while (to < n &&
                               key_cmp(row_key(s->batch, to, s->key_col), ck) ==
                                   0)
                                to++;
                        if (carry_add(s, s->batch, 0, to) != 0) {
                                snprintf(errstr, errstr_size, "out of memory");
                                return -1;
                        }
                        s->pos = to;
                        if (to < n)
                                s->carry_whole = 1;
                }
        }
}

/* The key of the stream's first row not handed out; 0 when none. */
static int stream_head(const fs_stream_t *s, fs_key_t *k)
{
        if (s->carry != NULL) {
                *k = row_key(s->carry, 0, s->key_col);
                return 1;
        }
        if (s->batch != NULL && s->pos < PQntuples(s->batch)) {
                *k = row_key(s->batch, s->pos, s->key_col);
                return 1;
        }
        return 0;
}

/* The cursor statement of fact table t: known by $1 when known, then
 * the boundary's condition (from $1 or $2 on), then the order. */
static char *known_statement(int t, int known, const fs_bound_t *b, int bounded)
{
        fs_sql_t q = {NULL, 0, 0, 0};
        char *sql;

        sql_add(&q, "%s", fact_sql[t].cursor);
        if (known)
                sql_add(&q, "%s", fact_sql[t].cursor_known);
        if (q.failed) {
                free(q.text);
                return NULL;
        }
        sql = bound_statement(q.text, b, bounded, 1 + known,
                              fact_sql[t].cursor_order);
        free(q.text);
        return sql;
}

/* Stream t's reader, its transaction and its cursor; sends its first
 * FETCH. */
static int stream_open(zz_factset_cursor_t *cur, int t, PGconn *conn,
                       const fs_bound_t *b, int bounded,
                       const char *ledger_policy, int64_t as_of, char *errstr,
                       size_t errstr_size)
{
        static const Oid types[1] = {25};
        static const Oid known_types[1] = {20}; /* int8 */
        fs_stream_t *s = &cur->s[t];
        const char *p[1] = {ledger_policy};
        char asof[32];
        const char *known[1] = {asof};
        int n_known = as_of != ZZ_AS_OF_NONE;
        PGresult *res;
        char *sql;

        s->conn = reader_connect(conn, errstr, errstr_size);
        if (s->conn == NULL)
                return -1;
        if (zz_pg_exec(s->conn, SQL_READER_BEGIN, errstr, errstr_size) != 0) {
                settle_failed("could not load facts", errstr, errstr_size);
                return -1;
        }
        if (t == S_LEDGER) {
                s->key_col = 9;
                snprintf(s->fetch, sizeof(s->fetch), SQL_FETCH, cur->chunk,
                         LEDGER_CURSOR);
                res = zz_pg_query_ex(s->conn, SQL_CURSOR_LEDGER, 1, types, p,
                                     NULL, NULL, 0, NULL, errstr, errstr_size);
                if (res == NULL) {
                        settle_failed("could not read the ledger", errstr,
                                      errstr_size);
                        return -1;
                }
        } else {
                s->key_col = fact_sql[t].ncols;
                snprintf(s->fetch, sizeof(s->fetch), SQL_FETCH, cur->chunk,
                         fact_sql[t].cursor_name);
                snprintf(asof, sizeof(asof), "%lld", (long long)as_of);
                sql = known_statement(t, n_known, b, bounded);
                if (sql == NULL) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                res = bound_exec(s->conn, sql, b, n_known, known_types, known,
                                 errstr, errstr_size);
                free(sql);
                if (res == NULL)
                        return -1;
        }
        PQclear(res);
        /* the sorts of the four start now, side by side */
        return stream_send(s, errstr, errstr_size);
}

static zz_factset_cursor_t *
cursor_open(PGconn *conn, const zz_settle_pos_t *boundary, size_t n_boundary,
            const char *ledger_policy, int64_t as_of, size_t chunk,
            char *errstr, size_t errstr_size)
{
        zz_factset_cursor_t *cur = calloc(1, sizeof(*cur));
        fs_bound_t b;
        int t;

        memset(&b, 0, sizeof(b));
        if (cur == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        cur->chunk = chunk > 0 ? chunk : ZZ_FACTSET_CHUNK;
        cur->n_streams = ledger_policy != NULL ? 4 : 3;
        if (boundary != NULL &&
            bound_init(&b, boundary, n_boundary, errstr, errstr_size) != 0)
                goto fail;
        for (t = 0; t < cur->n_streams; t++)
                if (stream_open(cur, t, conn, &b, boundary != NULL,
                                ledger_policy, as_of, errstr, errstr_size) != 0)
                        goto fail;
        bound_free(&b);
        return cur;
fail:
        bound_free(&b);
        zz_factset_cursor_destroy(cur);
        return NULL;
}

zz_factset_cursor_t *zz_factset_open(PGconn *conn,
                                     const zz_settle_pos_t *boundary,
                                     size_t n_boundary,
                                     const char *ledger_policy, size_t chunk,
                                     char *errstr, size_t errstr_size)
{
        return cursor_open(conn, boundary, n_boundary, ledger_policy,
                           ZZ_AS_OF_NONE, chunk, errstr, errstr_size);
}

zz_factset_cursor_t *zz_factset_open_as_of(PGconn *conn, int64_t as_of,
                                           size_t chunk, char *errstr,
                                           size_t errstr_size)
{
        return cursor_open(conn, NULL, 0, NULL, as_of, chunk, errstr,
                           errstr_size);
}

void zz_factset_poll(zz_factset_cursor_t *cur)
{
        int t;

        for (t = 0; cur != NULL && t < cur->n_streams; t++)
                if (cur->s[t].in_flight)
                        PQconsumeInput(cur->s[t].conn);
}

/* Fills every stream; *end receives the first key that may not be whole
 * (persons before it are), *bounded 0 when every stream is done. */
static int chunk_end(zz_factset_cursor_t *cur, fs_key_t *end, int *bounded,
                     char *errstr, size_t errstr_size)
{
        int t;

        *bounded = 0;
        /* persons before the first unsure one of any stream are whole */
        for (t = 0; t < cur->n_streams; t++) {
                fs_stream_t *s = &cur->s[t];
                fs_key_t last;

                if (stream_fill(cur, s, errstr, errstr_size) != 0)
                        return -1;
                if (s->done)
                        continue;
                last = row_key(s->batch, PQntuples(s->batch) - 1, s->key_col);
                if (!*bounded || key_cmp(last, *end) < 0)
                        *end = last;
                *bounded = 1;
        }
        return 0;
}

/* Hands out the stream's rows of person id (its head) into r. */
static int take_rows(zz_factset_cursor_t *cur, fs_stream_t *s, fs_rows_t *r,
                     const char *id, char *errstr, size_t errstr_size)
{
        int n;

        if (s->carry != NULL) {
                r->res = s->carry;
                r->span.begin = 0;
                r->span.end = PQntuples(s->carry);
                if (dead_add(cur, s->carry) != 0) {
                        s->carry = NULL;
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                s->carry = NULL;
                s->carry_whole = 0;
                return 0;
        }
        n = PQntuples(s->batch);
        r->res = s->batch;
        r->span.begin = s->pos;
        while (s->pos < n && strcmp(PQgetvalue(s->batch, s->pos, 0), id) == 0)
                s->pos++;
        r->span.end = s->pos;
        return 0;
}

int zz_factset_next(zz_factset_cursor_t *cur, zz_factset_t **out, char *errstr,
                    size_t errstr_size)
{
        zz_factset_t *fs = &cur->fs;
        fs_key_t end = {0, NULL}, heads[N_STREAMS];
        int t, bounded = 0, has[N_STREAMS];

        *out = NULL;
        dead_free(cur);
        fs->n = 0;
        if (chunk_end(cur, &end, &bounded, errstr, errstr_size) != 0)
                return -1;
        /* the streams' first keys, parsed once per person */
        for (t = 0; t < cur->n_streams; t++)
                has[t] = stream_head(&cur->s[t], &heads[t]);
        for (;;) {
                fs_key_t head = {0, NULL};
                fs_person_t *p;
                int any = 0;

                for (t = 0; t < cur->n_streams; t++)
                        if (has[t] && (!any || key_cmp(heads[t], head) < 0)) {
                                head = heads[t];
                                any = 1;
                        }
                if (!any || (bounded && key_cmp(head, end) >= 0))
                        break;
                if (factset_push(fs) != 0) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                p = &fs->persons[fs->n - 1];
                p->id = head.id;
                for (t = 0; t < cur->n_streams; t++) {
                        /* the same ID number has the same hash */
                        if (!has[t] || heads[t].h != head.h ||
                            strcmp(heads[t].id, head.id) != 0)
                                continue;
                        if (take_rows(cur, &cur->s[t], &p->r[t], head.id,
                                      errstr, errstr_size) != 0)
                                return -1;
                        has[t] = stream_head(&cur->s[t], &heads[t]);
                }
        }
        if (fs->n > 0)
                *out = fs;
        return 0;
}

double zz_factset_fetch_seconds(const zz_factset_cursor_t *cur)
{
        return cur != NULL ? cur->fetch_seconds : 0;
}

void zz_factset_cursor_destroy(zz_factset_cursor_t *cur)
{
        int t;

        if (cur == NULL)
                return;
        for (t = 0; t < N_STREAMS; t++) {
                PQclear(cur->s[t].batch);
                PQclear(cur->s[t].carry);
                /* ends the reader's transaction, and a sort still going */
                zz_pg_finish(cur->s[t].conn);
        }
        dead_free(cur);
        free(cur->dead);
        free(cur->fs.persons);
        free(cur);
}

const zz_policy_t *zz_factset_case(zz_factset_t *fs, size_t i, int year,
                                   const zz_policy_t *const *policies, size_t n,
                                   zz_case_t *c, zz_arena_t *arena)
{
        const fs_person_t *p;
        const PGresult *ir, *er, *pr;
        zz_casefold_person_t person;
        const zz_policy_t *pol;
        int be, bp, any = 0, r;

        if (i >= fs->n)
                return NULL;
        p = &fs->persons[i];
        ir = p->r[S_IDENTITY].res;
        er = p->r[S_ENROLLMENT].res;
        pr = p->r[S_PAYMENT].res;
        memset(&person, 0, sizeof(person));
        person.person_id = p->id;
        if (zz_casefold_identities(arena, zz_pg_rows(ir), p->r[S_IDENTITY].span,
                                   &person) != 0)
                return NULL;
        be = zz_casefold_enrollment(zz_pg_rows(er), p->r[S_ENROLLMENT].span,
                                    year);
        bp = zz_casefold_payment(zz_pg_rows(pr), p->r[S_PAYMENT].span, year);
        pol = zz_casefold_policy(
            policies, n, year, &person,
            be >= 0 ? PQgetvalue(er, be, ZZ_CASEFOLD_E_REGION) : NULL);
        /* the worker decides a year only when some fact of it (or an
         * identity) exists */
        for (r = p->r[S_ENROLLMENT].span.begin; r < p->r[S_ENROLLMENT].span.end;
             r++)
                if (zz_pg_num(er, r, ZZ_CASEFOLD_E_YEAR) == year)
                        any = 1;
        for (r = p->r[S_PAYMENT].span.begin; r < p->r[S_PAYMENT].span.end; r++)
                if (zz_pg_num(pr, r, ZZ_CASEFOLD_P_YEAR) == year)
                        any = 1;
        zz_casefold_case(c, &person, year, zz_pg_rows(er), be, zz_pg_rows(pr),
                         bp);
        if (pol == NULL ||
            (!any && p->r[S_IDENTITY].span.end == p->r[S_IDENTITY].span.begin))
                return NULL;
        return pol;
}

void zz_factset_print(const zz_factset_t *fs, size_t i, int year, FILE *out)
{
        const fs_person_t *p;
        char d1[16], d2[16], ts[40];
        int r;

        if (i >= fs->n)
                return;
        p = &fs->persons[i];
        for (r = p->r[S_IDENTITY].span.begin; r < p->r[S_IDENTITY].span.end;
             r++) {
                const PGresult *res = p->r[S_IDENTITY].res;

                zz_date_format(zz_pg_date(res, r, ZZ_CASEFOLD_I_VFROM), d1,
                               sizeof(d1));
                if (PQgetisnull(res, r, ZZ_CASEFOLD_I_VTO))
                        snprintf(d2, sizeof(d2), "open");
                else
                        zz_date_format(zz_pg_date(res, r, ZZ_CASEFOLD_I_VTO),
                                       d2, sizeof(d2));
                zz_ts_format(zz_pg_num(res, r, ZZ_CASEFOLD_I_REPORTED), ts,
                             sizeof(ts));
                fprintf(out,
                        "  identity   %-9s %-24s %s..%s approving %s "
                        "reported %s  [%s %s, event %s]\n",
                        PQgetvalue(res, r, ZZ_CASEFOLD_I_ACTION),
                        PQgetvalue(res, r, ZZ_CASEFOLD_I_CAT), d1, d2,
                        PQgetvalue(res, r, ZZ_CASEFOLD_I_APPROVING), ts,
                        PQgetvalue(res, r, ZZ_CASEFOLD_I_DEPT),
                        PQgetvalue(res, r, ZZ_CASEFOLD_I_REC),
                        PQgetvalue(res, r, ZZ_CASEFOLD_I_EVENT));
        }
        for (r = p->r[S_ENROLLMENT].span.begin; r < p->r[S_ENROLLMENT].span.end;
             r++) {
                const PGresult *res = p->r[S_ENROLLMENT].res;

                if (zz_pg_num(res, r, ZZ_CASEFOLD_E_YEAR) != year)
                        continue;
                zz_date_format(zz_pg_date(res, r, ZZ_CASEFOLD_E_REGISTERED), d1,
                               sizeof(d1));
                fprintf(out,
                        "  enrollment %-9s year %s tier %s %s %s registered "
                        "%s region %s  [%s %s, event %s]\n",
                        PQgetvalue(res, r, ZZ_CASEFOLD_E_ACTION),
                        PQgetvalue(res, r, ZZ_CASEFOLD_E_YEAR),
                        PQgetvalue(res, r, ZZ_CASEFOLD_E_TIER),
                        PQgetvalue(res, r, ZZ_CASEFOLD_E_CLASS),
                        PQgetvalue(res, r, ZZ_CASEFOLD_E_KIND), d1,
                        PQgetvalue(res, r, ZZ_CASEFOLD_E_REGION),
                        PQgetvalue(res, r, ZZ_CASEFOLD_E_DEPT),
                        PQgetvalue(res, r, ZZ_CASEFOLD_E_REC),
                        PQgetvalue(res, r, ZZ_CASEFOLD_E_EVENT));
        }
        for (r = p->r[S_PAYMENT].span.begin; r < p->r[S_PAYMENT].span.end;
             r++) {
                const PGresult *res = p->r[S_PAYMENT].res;

                if (zz_pg_num(res, r, ZZ_CASEFOLD_P_YEAR) != year)
                        continue;
                zz_ts_format(zz_pg_num(res, r, ZZ_CASEFOLD_P_PAID_AT), ts,
                             sizeof(ts));
                fprintf(out,
                        "  payment    %-9s year %s contribution %s applied %s "
                        "paid %s at %s  [event %s]\n",
                        PQgetvalue(res, r, P_KIND),
                        PQgetvalue(res, r, ZZ_CASEFOLD_P_YEAR),
                        PQgetvalue(res, r, ZZ_CASEFOLD_P_CONTRIB),
                        PQgetvalue(res, r, ZZ_CASEFOLD_P_APPLIED),
                        PQgetvalue(res, r, ZZ_CASEFOLD_P_PAID), ts,
                        PQgetvalue(res, r, ZZ_CASEFOLD_P_EVENT));
        }
}
