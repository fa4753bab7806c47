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
#include "zizhu/avro_fields.h"
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

/* One statement per fact table, $n the text[] of column n: the columns
 * in the order the apply_* functions below gather them. */
#define IDENTITY_COLS   16
#define ENROLLMENT_COLS 16
#define PAYMENT_COLS    15
#define CONTROL_COLS    12

static const char SQL_INSERT_IDENTITY_FACT[] =
    "INSERT INTO zizhu.identity_fact (event_id, person_id, department, dept_record_id, action, category, attrs, valid_from, valid_to, approving_region, residence_region, reported_at, deceased_on, src_topic, src_partition, src_offset)\n"
    "SELECT c1, c2, c3, c4, c5, c6, c7::jsonb, c8::date, c9::date, c10, c11, c12::bigint, c13::date, c14, c15::int, c16::bigint\n"
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[]) AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16)\n"
    "ON CONFLICT (event_id) DO NOTHING\n"
    "RETURNING event_id";

static const char SQL_INSERT_ENROLLMENT_FACT[] =
    "INSERT INTO zizhu.enrollment_fact (event_id, person_id, department, dept_record_id, action, household_id, year, tier, enrollment_class, kind, registered_on, region, unit, src_topic, src_partition, src_offset)\n"
    "SELECT c1, c2, c3, c4, c5, c6, c7::int, c8::int, c9, c10, c11::date, c12, c13, c14, c15::int, c16::bigint\n"
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[]) AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16)\n"
    "ON CONFLICT (event_id) DO NOTHING\n"
    "RETURNING event_id";

static const char SQL_INSERT_PAYMENT_FACT[] =
    "INSERT INTO zizhu.payment_fact (event_id, person_id, department, dept_record_id, kind, year, contribution_fen, subsidy_applied_fen, paid_fen, refund_fen, paid_at, receipt, src_topic, src_partition, src_offset)\n"
    "SELECT c1, c2, c3, c4, c5, c6::int, c7::bigint, c8::bigint, c9::bigint, c10::bigint, c11::bigint, c12, c13, c14::int, c15::bigint\n"
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[]) AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15)\n"
    "ON CONFLICT (event_id) DO NOTHING\n"
    "RETURNING event_id";

static const char SQL_INSERT_CONTROL_FACT[] =
    "INSERT INTO zizhu.control_fact (event_id, department, dept_record_id, command, jurisdiction, period, policy_name, policy_version, issued_at, src_topic, src_partition, src_offset)\n"
    "SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9::bigint, c10, c11::int, c12::bigint\n"
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12)\n"
    "ON CONFLICT (event_id) DO NOTHING\n"
    "RETURNING event_id";

typedef struct table_s {
        const char *sql;
        int n_cols;
        int person_col; /* -1: no person (control) */
        char **vals;    /* n * n_cols, malloc'd strings or NULL */
        size_t *msg;
        size_t n, cap;
} table_t;

#define N_TABLES 4

struct zz_facts_batch_s {
        table_t t[N_TABLES];
        zz_arena_t *arena;           /* one decoded event, reset per message */
        const zz_subsidy_t *subsidy; /* borrowed; NULL: no policy checks */
};

zz_facts_batch_t *zz_facts_batch_new(void)
{
        zz_facts_batch_t *b = calloc(1, sizeof(*b));
        static const table_t defs[N_TABLES] = {
            {.sql = SQL_INSERT_IDENTITY_FACT,
             .n_cols = IDENTITY_COLS,
             .person_col = 1},
            {.sql = SQL_INSERT_ENROLLMENT_FACT,
             .n_cols = ENROLLMENT_COLS,
             .person_col = 1},
            {.sql = SQL_INSERT_PAYMENT_FACT,
             .n_cols = PAYMENT_COLS,
             .person_col = 1},
            {.sql = SQL_INSERT_CONTROL_FACT,
             .n_cols = CONTROL_COLS,
             .person_col = -1}};

        if (b == NULL)
                return NULL;
        b->arena = zz_arena_new(16384);
        if (b->arena == NULL) {
                free(b);
                return NULL;
        }
        memcpy(b->t, defs, sizeof(defs));
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
        const char *params[IDENTITY_COLS];
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
        const char *params[ENROLLMENT_COLS];
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
        const char *params[PAYMENT_COLS];
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
        const char *params[CONTROL_COLS];
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

void zz_facts_batch_set_subsidy(zz_facts_batch_t *batch,
                                const zz_subsidy_t *subsidy)
{
        batch->subsidy = subsidy;
}

/*
 * What the policy of the enrollment's year and region cannot decide is not
 * a fact: a tier it defines no contribution for would be decided as 0
 * (issue 14). 0 when the policy defines the tier or there is no policy for
 * that year and region yet (the enrollment waits for one); -1 with reason
 * and text set otherwise.
 */
static int check_enrollment_policy(const zz_subsidy_t *subsidy,
                                   const zz_event_enrollment_t *ev,
                                   zz_reason_t *reason, char *text,
                                   size_t text_size)
{
        const zz_policy_t *pol;

        if (subsidy == NULL)
                return 0;
        pol = zz_subsidy_policy_for(subsidy, ev->year, ev->region);
        if (pol == NULL || zz_policy_tier_fen(pol, ev->tier) >= 0)
                return 0;
        *reason = ZZ_REASON_UNKNOWN_TIER;
        snprintf(text, text_size, "tier %d is not defined by policy %s",
                 (int)ev->tier, zz_policy_name(pol));
        return -1;
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
                                                 sizeof(inv->text)) != 0 ||
                      zz_event_validate_identity_source(&ev, src->dept, &reason,
                                                        inv->text,
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

                bad =
                    zz_event_enrollment_from_value(rec, arena, ZZ_EVENT_BORROW,
                                                   &ev, inv->text,
                                                   sizeof(inv->text)) != 0 ||
                    zz_event_validate_enrollment(&ev, &reason, inv->text,
                                                 sizeof(inv->text)) != 0 ||
                    check_enrollment_policy(batch->subsidy, &ev, &reason,
                                            inv->text, sizeof(inv->text)) != 0;
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

static const char SQL_INSERT_DEAD_LETTER[] =
    "INSERT INTO zizhu.dead_letter (src_topic, src_partition, src_offset, stream, event_id, reason, reason_text)\n"
    "VALUES ($1, $2, $3, $4, $5, $6, $7)\n"
    "ON CONFLICT DO NOTHING";

static int dead_letter(zz_store_t *store, zz_codec_t *codec, zz_stream_t stream,
                       const zz_fact_source_t *src, const void *payload,
                       size_t len, const char *event_id, const invalid_t *inv,
                       char sqlstate[6], char *errstr, size_t errstr_size)
{
        char part[16], off[24];
        const char *params[7];
        avro_value_t rec;
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        int64_t ts;
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
        ins = inserted(zz_pg_query(zz_store_conn(store), SQL_INSERT_DEAD_LETTER,
                                   7, params, sqlstate, errstr, errstr_size));
        if (ins <= 0)
                return ins; /* error, or already dead-lettered */
        if (zz_codec_value_new(codec, ZZ_STREAM_DEAD_LETTER, &rec) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        ts = src->timestamp;
        rc |= zz_avro_set_str(&rec, "source_topic", src->topic);
        rc |= zz_avro_set_int(&rec, "source_partition", src->partition);
        rc |= zz_avro_set_long(&rec, "source_offset", src->offset);
        rc |= zz_avro_set_opt_long(&rec, "source_timestamp",
                                   ts >= 0 ? &ts : NULL);
        rc |= zz_avro_set_opt_bytes(&rec, "key", src->key, src->key_len);
        rc |= zz_avro_set_bytes(&rec, "payload", payload, len);
        rc |= zz_avro_set_str(&rec, "stream", zz_stream_name(stream));
        rc |= zz_avro_set_opt_str(&rec, "event_id", event_id);
        rc |= zz_avro_set_enum(&rec, "reason", inv->reason);
        rc |= zz_avro_set_str(&rec, "reason_text", inv->text);
        rc |= zz_avro_set_str(&rec, "worker", src->worker);
        rc |= zz_avro_set_long(&rec, "at", ts >= 0 ? ts : 0);
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
