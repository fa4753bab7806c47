/*
 * facts.c — decode, validate and store one input message, or dead-letter
 * it with a reason (see facts.h).
 */
#include "zizhu/facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zizhu/arena.h"
#include "zizhu/date.h"
#include "zizhu/event.h"
#include "zizhu/pg.h"

const char *zz_fact_outcome_name(zz_fact_outcome_t outcome)
{
        switch (outcome) {
        case ZZ_FACT_APPLIED:
                return "applied";
        case ZZ_FACT_DUPLICATE:
                return "duplicate";
        case ZZ_FACT_DEAD_LETTER:
                return "dead_letter";
        }
        return "unknown";
}

/* A failed decode or validation: reason symbol and a message without
 * content. */
typedef struct invalid_s {
        const char *reason;
        char text[256];
} invalid_t;

/* The text of a number or a date for a text[] column. */
typedef struct num_text_s {
        char s[24];
} num_text_t;

static const char *num_text(num_text_t *t, long long v)
{
        snprintf(t->s, sizeof(t->s), "%lld", v);
        return t->s;
}

/* NULL for ZZ_DATE_NONE. */
static const char *date_text(num_text_t *t, zz_date_t d)
{
        if (d == ZZ_DATE_NONE)
                return NULL;
        zz_date_format(d, t->s, sizeof(t->s));
        return t->s;
}

static PGresult *run(zz_store_t *store, const char *sql, int n,
                     const char *const *params, char sqlstate[6], char *errstr,
                     size_t errstr_size)
{
        return zz_pg_query(zz_store_conn(store), sql, n, params, sqlstate,
                           errstr, errstr_size);
}

/* 1 inserted, 0 duplicate, -1 error */
static int inserted(PGresult *res)
{
        int n;

        if (res == NULL)
                return -1;
        n = atoi(PQcmdTuples(res));
        PQclear(res);
        return n > 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* The batch: valid facts gathered per table, inserted with one        */
/* INSERT ... SELECT FROM unnest(text arrays) per table.               */

typedef struct col_s {
        const char *name;
        const char *cast; /* "" for text */
} col_t;

static const col_t identity_cols[] = {{"event_id", ""},
                                      {"person_id", ""},
                                      {"department", ""},
                                      {"dept_record_id", ""},
                                      {"action", ""},
                                      {"category", ""},
                                      {"attrs", "::jsonb"},
                                      {"valid_from", "::date"},
                                      {"valid_to", "::date"},
                                      {"approving_region", ""},
                                      {"residence_region", ""},
                                      {"reported_at", "::bigint"},
                                      {"deceased_on", "::date"},
                                      {"src_topic", ""},
                                      {"src_partition", "::int"},
                                      {"src_offset", "::bigint"}};
static const col_t enrollment_cols[] = {{"event_id", ""},
                                        {"person_id", ""},
                                        {"department", ""},
                                        {"dept_record_id", ""},
                                        {"action", ""},
                                        {"household_id", ""},
                                        {"year", "::int"},
                                        {"tier", "::int"},
                                        {"enrollment_class", ""},
                                        {"kind", ""},
                                        {"registered_on", "::date"},
                                        {"region", ""},
                                        {"unit", ""},
                                        {"src_topic", ""},
                                        {"src_partition", "::int"},
                                        {"src_offset", "::bigint"}};
static const col_t payment_cols[] = {{"event_id", ""},
                                     {"person_id", ""},
                                     {"department", ""},
                                     {"dept_record_id", ""},
                                     {"kind", ""},
                                     {"year", "::int"},
                                     {"contribution_fen", "::bigint"},
                                     {"subsidy_applied_fen", "::bigint"},
                                     {"paid_fen", "::bigint"},
                                     {"refund_fen", "::bigint"},
                                     {"paid_at", "::bigint"},
                                     {"receipt", ""},
                                     {"src_topic", ""},
                                     {"src_partition", "::int"},
                                     {"src_offset", "::bigint"}};
static const col_t control_cols[] = {
    {"event_id", ""},           {"department", ""},
    {"dept_record_id", ""},     {"command", ""},
    {"jurisdiction", ""},       {"period", ""},
    {"policy_name", ""},        {"policy_version", ""},
    {"issued_at", "::bigint"},  {"src_topic", ""},
    {"src_partition", "::int"}, {"src_offset", "::bigint"}};

typedef struct table_s {
        const char *name;
        const col_t *cols;
        int n_cols;
        int person_col; /* -1: no person (control) */
        char *sql;
        char **vals; /* n * n_cols, malloc'd strings or NULL */
        size_t *msg;
        size_t n, cap;
} table_t;

#define N_TABLES 4

struct zz_facts_batch_s {
        table_t t[N_TABLES];
        zz_arena_t *arena; /* one decoded event, reset per message */
};

static char *build_sql(const table_t *t)
{
        size_t cap = 4096, len = 0;
        char *sql = malloc(cap);
        int i;

        if (sql == NULL)
                return NULL;
        len += (size_t)snprintf(sql + len, cap - len, "INSERT INTO zizhu.%s (",
                                t->name);
        for (i = 0; i < t->n_cols; i++)
                len += (size_t)snprintf(sql + len, cap - len, "%s%s",
                                        i ? ", " : "", t->cols[i].name);
        len += (size_t)snprintf(sql + len, cap - len, ") SELECT ");
        for (i = 0; i < t->n_cols; i++)
                len += (size_t)snprintf(sql + len, cap - len, "%sc%d%s",
                                        i ? ", " : "", i + 1, t->cols[i].cast);
        len += (size_t)snprintf(sql + len, cap - len, " FROM unnest(");
        for (i = 0; i < t->n_cols; i++)
                len += (size_t)snprintf(sql + len, cap - len, "%s$%d::text[]",
                                        i ? ", " : "", i + 1);
        len += (size_t)snprintf(sql + len, cap - len, ") AS u(");
        for (i = 0; i < t->n_cols; i++)
                len += (size_t)snprintf(sql + len, cap - len, "%sc%d",
                                        i ? ", " : "", i + 1);
        snprintf(sql + len, cap - len,
                 ") ON CONFLICT (event_id) DO NOTHING RETURNING event_id");
        return sql;
}

zz_facts_batch_t *zz_facts_batch_new(void)
{
        zz_facts_batch_t *b = calloc(1, sizeof(*b));
        static const struct {
                const char *name;
                const col_t *cols;
                int n;
                int person;
        } defs[N_TABLES] = {{"identity_fact", identity_cols,
                             (int)(sizeof(identity_cols) / sizeof(col_t)), 1},
                            {"enrollment_fact", enrollment_cols,
                             (int)(sizeof(enrollment_cols) / sizeof(col_t)), 1},
                            {"payment_fact", payment_cols,
                             (int)(sizeof(payment_cols) / sizeof(col_t)), 1},
                            {"control_fact", control_cols,
                             (int)(sizeof(control_cols) / sizeof(col_t)), -1}};
        int i;

        if (b == NULL)
                return NULL;
        b->arena = zz_arena_new(16384);
        if (b->arena == NULL) {
                free(b);
                return NULL;
        }
        for (i = 0; i < N_TABLES; i++) {
                b->t[i].name = defs[i].name;
                b->t[i].cols = defs[i].cols;
                b->t[i].n_cols = defs[i].n;
                b->t[i].person_col = defs[i].person;
                b->t[i].sql = build_sql(&b->t[i]);
                if (b->t[i].sql == NULL) {
                        zz_facts_batch_destroy(b);
                        return NULL;
                }
        }
        return b;
}

void zz_facts_batch_reset(zz_facts_batch_t *b)
{
        int i;
        size_t k;

        if (b == NULL)
                return;
        for (i = 0; i < N_TABLES; i++) {
                table_t *t = &b->t[i];
                for (k = 0; k < t->n * (size_t)t->n_cols; k++)
                        free(t->vals[k]);
                t->n = 0;
        }
}

void zz_facts_batch_destroy(zz_facts_batch_t *b)
{
        int i;

        if (b == NULL)
                return;
        zz_facts_batch_reset(b);
        for (i = 0; i < N_TABLES; i++) {
                free(b->t[i].sql);
                free(b->t[i].vals);
                free(b->t[i].msg);
        }
        zz_arena_destroy(b->arena);
        free(b);
}

/* 1 added, -1 out of memory */
static int batch_add(zz_facts_batch_t *b, int table, size_t msg_index,
                     const char *const *params)
{
        table_t *t = &b->t[table];
        int i;

        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 256;
                char **vals =
                    realloc(t->vals, cap * (size_t)t->n_cols * sizeof(char *));
                size_t *msg;

                if (vals == NULL)
                        return -1;
                t->vals = vals;
                msg = realloc(t->msg, cap * sizeof(size_t));
                if (msg == NULL)
                        return -1;
                t->msg = msg;
                t->cap = cap;
        }
        for (i = 0; i < t->n_cols; i++) {
                const char *v = params[i];
                char *copy = NULL;

                if (v != NULL) {
                        copy = strdup(v);
                        if (copy == NULL) {
                                while (i-- > 0)
                                        free(t->vals[t->n * (size_t)t->n_cols +
                                                     (size_t)i]);
                                return -1;
                        }
                }
                t->vals[t->n * (size_t)t->n_cols + (size_t)i] = copy;
        }
        t->msg[t->n] = msg_index;
        t->n++;
        return 1;
}

/* The event id of row r of t (its first column). */
static const char *row_id(const table_t *t, size_t r)
{
        return t->vals[r * (size_t)t->n_cols];
}

/* qsort has no context argument in C11: the table being sorted. A worker
 * flushes from one thread. */
static _Thread_local const table_t *sort_table;

static int cmp_row_id(const void *a, const void *b)
{
        size_t x = *(const size_t *)a, y = *(const size_t *)b;
        int c = strcmp(row_id(sort_table, x), row_id(sort_table, y));

        if (c != 0)
                return c;
        return (x > y) - (x < y);
}

static int flush_table(table_t *t, zz_store_t *store,
                       zz_fact_outcome_t *outcomes, char (*persons)[19],
                       char sqlstate[6], char *errstr, size_t errstr_size)
{
        size_t *order = NULL;
        PGresult *res = NULL;
        size_t r, k;
        int rc = -1;

        if (t->n == 0)
                return 0;
        order = calloc(t->n, sizeof(*order));
        if (order == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        res = zz_pg_query_rows(zz_store_conn(store), t->sql,
                               (const char *const *)t->vals, t->n, t->n_cols,
                               sqlstate, errstr, errstr_size);
        if (res == NULL)
                goto out;
        /* Rows not returned were already stored: duplicates. Within the
         * batch the first of equal event ids is the one inserted. The rows
         * are found by binary search over the batch's ids sorted (ties in
         * row order), not by a scan per returned id (n² strcmp). */
        for (r = 0; r < t->n; r++) {
                outcomes[t->msg[r]] = ZZ_FACT_DUPLICATE;
                order[r] = r;
        }
        sort_table = t;
        qsort(order, t->n, sizeof(*order), cmp_row_id);
        for (k = 0; k < (size_t)PQntuples(res); k++) {
                const char *id = PQgetvalue(res, (int)k, 0);
                size_t lo = 0, hi = t->n;

                while (lo < hi) { /* the first row whose id is >= id */
                        size_t mid = lo + (hi - lo) / 2;
                        if (strcmp(row_id(t, order[mid]), id) < 0)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                if (lo == t->n || strcmp(row_id(t, order[lo]), id) != 0)
                        continue;
                r = order[lo];
                outcomes[t->msg[r]] = ZZ_FACT_APPLIED;
                if (persons != NULL && t->person_col >= 0)
                        snprintf(persons[t->msg[r]], 19, "%s",
                                 t->vals[r * (size_t)t->n_cols +
                                         (size_t)t->person_col]);
        }
        rc = 0;
out:
        PQclear(res);
        free(order);
        return rc;
}

int zz_facts_flush(zz_facts_batch_t *b, zz_store_t *store,
                   zz_fact_outcome_t *outcomes, char (*persons)[19],
                   char sqlstate[6], char *errstr, size_t errstr_size)
{
        int i;

        for (i = 0; i < N_TABLES; i++)
                if (flush_table(&b->t[i], store, outcomes, persons, sqlstate,
                                errstr, errstr_size) != 0)
                        return -1;
        zz_facts_batch_reset(b);
        return 0;
}

/* The attributes as a JSON object (sorted keys), malloc'd; NULL when out
 * of memory. */
static char *attrs_json(const zz_event_identity_t *ev)
{
        json_t *obj = json_object();
        char *text;
        size_t i;

        if (obj == NULL)
                return NULL;
        for (i = 0; i < ev->attrs_count; i++)
                json_object_set_new(obj, ev->attrs[i].key,
                                    json_string(ev->attrs[i].value));
        text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(obj);
        return text;
}

/* The apply_* functions gather one validated event into the batch: 2
 * (applied, provisionally), -1 out of memory. */
static int apply_identity(zz_facts_batch_t *batch, size_t msg_index,
                          const zz_event_identity_t *ev,
                          const zz_fact_source_t *src, char *errstr,
                          size_t errstr_size)
{
        num_text_t vf, vt, dd, rep, part, off;
        const char *params[16];
        char *attrs;
        int rc;

        attrs = attrs_json(ev);
        if (attrs == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        params[0] = ev->event_id;
        params[1] = ev->person_id;
        params[2] = ev->department;
        params[3] = ev->dept_record_id;
        params[4] = zz_identity_action_name(ev->action);
        params[5] = ev->category != NULL ? ev->category : "";
        params[6] = attrs;
        params[7] = date_text(&vf, ev->valid_from);
        params[8] = date_text(&vt, ev->valid_to);
        params[9] = ev->approving_region;
        params[10] = ev->residence_region;
        params[11] = num_text(&rep, ev->reported_at);
        params[12] = date_text(&dd, ev->deceased_on);
        params[13] = src->topic;
        params[14] = num_text(&part, src->partition);
        params[15] = num_text(&off, src->offset);
        rc = batch_add(batch, 0, msg_index, params);
        free(attrs);
        return rc < 0 ? -1 : rc + 1;
}

static int apply_enrollment(zz_facts_batch_t *batch, size_t msg_index,
                            const zz_event_enrollment_t *ev,
                            const zz_fact_source_t *src)
{
        num_text_t y, t, rd, part, off;
        const char *params[16];
        int rc;

        params[0] = ev->event_id;
        params[1] = ev->person_id;
        params[2] = ev->department;
        params[3] = ev->dept_record_id;
        params[4] = zz_enrollment_action_name(ev->action);
        params[5] = ev->household_id;
        params[6] = num_text(&y, ev->year);
        params[7] = num_text(&t, ev->tier);
        params[8] = zz_enrollment_class_name(ev->enrollment_class);
        params[9] = zz_enrollment_kind_name(ev->kind);
        params[10] = date_text(&rd, ev->registered_on);
        params[11] = ev->region;
        params[12] = ev->unit;
        params[13] = src->topic;
        params[14] = num_text(&part, src->partition);
        params[15] = num_text(&off, src->offset);
        rc = batch_add(batch, 1, msg_index, params);
        return rc < 0 ? -1 : rc + 1;
}

static int apply_payment(zz_facts_batch_t *batch, size_t msg_index,
                         const zz_event_payment_t *ev,
                         const zz_fact_source_t *src)
{
        num_text_t y, c, a, p, r, at, part, off;
        const char *params[15];
        int rc;

        params[0] = ev->event_id;
        params[1] = ev->person_id;
        params[2] = ev->department;
        params[3] = ev->dept_record_id;
        params[4] = zz_payment_kind_name(ev->kind);
        params[5] = num_text(&y, ev->year);
        params[6] = num_text(&c, ev->contribution_fen);
        params[7] = num_text(&a, ev->subsidy_applied_fen);
        params[8] = num_text(&p, ev->paid_fen);
        params[9] = num_text(&r, ev->refund_fen);
        params[10] = num_text(&at, ev->paid_at);
        params[11] = ev->receipt;
        params[12] = src->topic;
        params[13] = num_text(&part, src->partition);
        params[14] = num_text(&off, src->offset);
        rc = batch_add(batch, 2, msg_index, params);
        return rc < 0 ? -1 : rc + 1;
}

static int apply_control(zz_facts_batch_t *batch, size_t msg_index,
                         const zz_event_control_t *ev,
                         const zz_fact_source_t *src)
{
        num_text_t at, part, off;
        const char *params[12];
        int rc;

        params[0] = ev->event_id;
        params[1] = ev->department;
        params[2] = ev->dept_record_id;
        params[3] = zz_control_command_name(ev->command);
        params[4] = ev->jurisdiction;
        params[5] = ev->period;
        params[6] = ev->policy_name;
        params[7] = ev->policy_version;
        params[8] = num_text(&at, ev->issued_at);
        params[9] = src->topic;
        params[10] = num_text(&part, src->partition);
        params[11] = num_text(&off, src->offset);
        rc = batch_add(batch, 3, msg_index, params);
        return rc < 0 ? -1 : rc + 1;
}

/* Turns the decoded rec into the stream's event (zz_event_*_from_value,
 * strings borrowed from rec), validates it (zz_event_validate_*: the one
 * validator every consumer shares) and gathers it. rc as apply_*, or 0
 * with inv set when invalid; *event_id the event's id (for the dead
 * letter), borrowed from rec. person receives the ID number. */
static int decode_and_add(zz_facts_batch_t *batch, zz_stream_t stream,
                          avro_value_t *rec, const zz_fact_source_t *src,
                          size_t msg_index, const char **event_id,
                          char person[19], invalid_t *inv, char *errstr,
                          size_t errstr_size)
{
        zz_reason_t reason = ZZ_REASON_UNDECODABLE;
        zz_arena_t *arena = batch->arena;
        const char *person_id = NULL;
        int rc = -1, bad = 0;

        zz_arena_reset(arena);
        switch (stream) {
        case ZZ_STREAM_IDENTITY: {
                zz_event_identity_t ev;

                bad = zz_event_identity_from_value(rec, arena, ZZ_EVENT_BORROW,
                                                   &ev, inv->text,
                                                   sizeof(inv->text)) != 0 ||
                      zz_event_validate_identity(&ev, &reason, inv->text,
                                                 sizeof(inv->text)) != 0;
                *event_id = ev.event_id;
                person_id = ev.person_id;
                if (!bad)
                        rc = apply_identity(batch, msg_index, &ev, src, errstr,
                                            errstr_size);
                break;
        }
        case ZZ_STREAM_ENROLLMENT: {
                zz_event_enrollment_t ev;

                bad = zz_event_enrollment_from_value(
                          rec, arena, ZZ_EVENT_BORROW, &ev, inv->text,
                          sizeof(inv->text)) != 0 ||
                      zz_event_validate_enrollment(&ev, &reason, inv->text,
                                                   sizeof(inv->text)) != 0;
                *event_id = ev.event_id;
                person_id = ev.person_id;
                if (!bad)
                        rc = apply_enrollment(batch, msg_index, &ev, src);
                break;
        }
        case ZZ_STREAM_PAYMENT: {
                zz_event_payment_t ev;

                bad = zz_event_payment_from_value(rec, arena, ZZ_EVENT_BORROW,
                                                  &ev, inv->text,
                                                  sizeof(inv->text)) != 0 ||
                      zz_event_validate_payment(&ev, &reason, inv->text,
                                                sizeof(inv->text)) != 0;
                *event_id = ev.event_id;
                person_id = ev.person_id;
                if (!bad)
                        rc = apply_payment(batch, msg_index, &ev, src);
                break;
        }
        case ZZ_STREAM_CONTROL: {
                zz_event_control_t ev;

                bad = zz_event_control_from_value(rec, arena, ZZ_EVENT_BORROW,
                                                  &ev, inv->text,
                                                  sizeof(inv->text)) != 0 ||
                      zz_event_validate_control(&ev, &reason, inv->text,
                                                sizeof(inv->text)) != 0;
                *event_id = ev.event_id;
                if (!bad)
                        rc = apply_control(batch, msg_index, &ev, src);
                break;
        }
        default:
                snprintf(errstr, errstr_size, "%s is not an input stream",
                         zz_stream_name(stream));
                return -1;
        }
        if (bad) {
                inv->reason = zz_reason_name(reason);
                return 0;
        }
        if (person_id != NULL)
                snprintf(person, 19, "%s", person_id);
        return rc;
}

static int dead_letter(zz_store_t *store, zz_codec_t *codec, zz_stream_t stream,
                       const zz_fact_source_t *src, const void *payload,
                       size_t len, const char *event_id, const invalid_t *inv,
                       char sqlstate[6], char *errstr, size_t errstr_size)
{
        char part[16], off[24];
        const char *params[7];
        avro_value_t rec, f, b;
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        int rc = 0, ins;

        snprintf(part, sizeof(part), "%d", (int)src->partition);
        snprintf(off, sizeof(off), "%lld", (long long)src->offset);
        params[0] = src->topic;
        params[1] = part;
        params[2] = off;
        params[3] = zz_stream_name(stream);
        params[4] = event_id;
        params[5] = inv->reason;
        params[6] = inv->text;
        ins = inserted(run(store,
                           "INSERT INTO zizhu.dead_letter (src_topic, "
                           "src_partition, src_offset, stream, event_id, "
                           "reason, reason_text) VALUES ($1, $2, $3, $4, "
                           "$5, $6, $7) ON CONFLICT DO NOTHING",
                           7, params, sqlstate, errstr, errstr_size));
        if (ins <= 0)
                return ins; /* error, or already dead-lettered */
        if (zz_codec_value_new(codec, ZZ_STREAM_DEAD_LETTER, &rec) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        rc |= avro_value_get_by_name(&rec, "source_topic", &f, NULL);
        rc |= avro_value_set_string(&f, src->topic);
        rc |= avro_value_get_by_name(&rec, "source_partition", &f, NULL);
        rc |= avro_value_set_int(&f, src->partition);
        rc |= avro_value_get_by_name(&rec, "source_offset", &f, NULL);
        rc |= avro_value_set_long(&f, src->offset);
        rc |= avro_value_get_by_name(&rec, "source_timestamp", &f, NULL);
        if (src->timestamp >= 0)
                rc |= avro_value_set_branch(&f, 1, &b) ||
                      avro_value_set_long(&b, src->timestamp);
        else
                rc |=
                    avro_value_set_branch(&f, 0, &b) || avro_value_set_null(&b);
        rc |= avro_value_get_by_name(&rec, "key", &f, NULL);
        if (src->key != NULL)
                rc |= avro_value_set_branch(&f, 1, &b) ||
                      avro_value_set_bytes(&b, (void *)src->key, src->key_len);
        else
                rc |=
                    avro_value_set_branch(&f, 0, &b) || avro_value_set_null(&b);
        rc |= avro_value_get_by_name(&rec, "payload", &f, NULL);
        rc |= avro_value_set_bytes(&f, (void *)(payload ? payload : ""), len);
        rc |= avro_value_get_by_name(&rec, "stream", &f, NULL);
        rc |= avro_value_set_string(&f, zz_stream_name(stream));
        rc |= avro_value_get_by_name(&rec, "event_id", &f, NULL);
        if (event_id != NULL)
                rc |= avro_value_set_branch(&f, 1, &b) ||
                      avro_value_set_string(&b, event_id);
        else
                rc |=
                    avro_value_set_branch(&f, 0, &b) || avro_value_set_null(&b);
        rc |= avro_value_get_by_name(&rec, "reason", &f, NULL);
        {
                int idx = avro_schema_enum_get_by_name(
                    avro_value_get_schema(&f), inv->reason);
                rc |= avro_value_set_enum(&f, idx < 0 ? 0 : idx);
        }
        rc |= avro_value_get_by_name(&rec, "reason_text", &f, NULL);
        rc |= avro_value_set_string(&f, inv->text);
        rc |= avro_value_get_by_name(&rec, "worker", &f, NULL);
        rc |= avro_value_set_string(&f, src->worker ? src->worker : "");
        rc |= avro_value_get_by_name(&rec, "at", &f, NULL);
        rc |= avro_value_set_long(&f, src->timestamp >= 0 ? src->timestamp : 0);
        if (rc != 0) {
                snprintf(errstr, errstr_size,
                         "could not build a dead-letter value");
                avro_value_decref(&rec);
                return -1;
        }
        rc = zz_codec_encode(codec, ZZ_STREAM_DEAD_LETTER, &rec, &buf, errstr,
                             errstr_size);
        avro_value_decref(&rec);
        if (rc == 0 &&
            zz_store_outbox_append(store, "dead-letter", src->key, src->key_len,
                                   buf.data, buf.len) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                rc = -1;
        }
        zz_codec_buf_free(&buf);
        return rc;
}

int zz_facts_apply(zz_facts_batch_t *batch, zz_store_t *store,
                   zz_codec_t *codec, zz_stream_t stream,
                   const zz_fact_source_t *src, size_t msg_index,
                   const void *payload, size_t len, zz_fact_outcome_t *outcome,
                   char reason[32], char sqlstate[6], char *errstr,
                   size_t errstr_size)
{
        char person[19];
        avro_value_t rec;
        zz_codec_err_t err = ZZ_CODEC_OK;
        invalid_t inv;
        const char *event_id = NULL;
        char derr[256];
        int rc;

        person[0] = '\0';
        reason[0] = '\0';
        if (sqlstate != NULL)
                sqlstate[0] = '\0';
        memset(&inv, 0, sizeof(inv));
        if (zz_codec_decode(codec, stream, payload ? payload : "", len, &rec,
                            &err, derr, sizeof(derr)) != 0) {
                zz_reason_t why = zz_reason_from_codec(err);

                inv.reason = zz_reason_name(
                    why == ZZ_REASON_UNKNOWN ? ZZ_REASON_UNDECODABLE : why);
                snprintf(inv.text, sizeof(inv.text), "%s", derr);
                rc = 0;
        } else {
                rc = decode_and_add(batch, stream, &rec, src, msg_index,
                                    &event_id, person, &inv, errstr,
                                    errstr_size);
        }
        /* rc: -1 error, 0 invalid (inv set), 1 duplicate, 2 applied */
        if (rc < 0)
                return -1;
        if (rc == 2) {
                *outcome = ZZ_FACT_APPLIED;
                return 0;
        }
        if (rc == 1) {
                *outcome = ZZ_FACT_DUPLICATE;
                person[0] = '\0';
                return 0;
        }
        person[0] = '\0';
        *outcome = ZZ_FACT_DEAD_LETTER;
        snprintf(reason, 32, "%s", inv.reason ? inv.reason : "UNKNOWN");
        return dead_letter(store, codec, stream, src, payload, len, event_id,
                           &inv, sqlstate, errstr, errstr_size);
}
