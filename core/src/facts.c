/*
 * facts.c — decode, validate and store one input message, or dead-letter
 * it with a reason (see facts.h).
 */
#include "zizhu/facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zizhu/date.h"
#include "zizhu/idno.h"
#include "zizhu/policy.h"

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

/* A failed validation: reason symbol and a message without content. */
typedef struct invalid_s {
        const char *reason;
        char text[256];
} invalid_t;

static int bad(invalid_t *inv, const char *reason, const char *field,
               const char *problem)
{
        inv->reason = reason;
        snprintf(inv->text, sizeof(inv->text), "%s: %s", field, problem);
        return -1;
}

static const char *get_str(avro_value_t *rec, const char *name)
{
        avro_value_t f;
        const char *s = NULL;
        size_t size;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0 ||
            avro_value_get_string(&f, &s, &size) != 0)
                return NULL;
        return s;
}

/* ["null", T] fields: the branch value, or 0 when null. */
static int get_opt(avro_value_t *rec, const char *name, avro_value_t *out)
{
        avro_value_t f;
        int disc;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0 ||
            avro_value_get_discriminant(&f, &disc) != 0 || disc == 0)
                return 0;
        return avro_value_get_current_branch(&f, out) == 0;
}

static const char *get_opt_str(avro_value_t *rec, const char *name)
{
        avro_value_t b;
        const char *s = NULL;
        size_t size;

        if (!get_opt(rec, name, &b) || avro_value_get_string(&b, &s, &size))
                return NULL;
        return s;
}

static int64_t get_long(avro_value_t *rec, const char *name)
{
        avro_value_t f;
        int64_t v = 0;
        int32_t i = 0;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return 0;
        if (avro_value_get_type(&f) == AVRO_INT32) {
                avro_value_get_int(&f, &i);
                return i;
        }
        avro_value_get_long(&f, &v);
        return v;
}

static const char *get_enum(avro_value_t *rec, const char *name)
{
        avro_value_t f;
        int idx;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0 ||
            avro_value_get_enum(&f, &idx) != 0)
                return "UNKNOWN";
        return avro_schema_enum_get(avro_value_get_schema(&f), idx);
}

static int date_ok(int64_t d)
{
        int y, m, dd;

        if (d < -25567 || d > 47482) /* 1900-01-01 .. 2099-12-31 */
                return 0;
        zz_date_to_ymd((zz_date_t)d, &y, &m, &dd);
        return 1;
}

static void date_text(int64_t d, char buf[16])
{
        zz_date_format((zz_date_t)d, buf, 16);
}

static int region_ok(const char *s)
{
        size_t len = s != NULL ? strlen(s) : 0, i;

        if (len != 6 && len != 9 && len != 12)
                return 0;
        for (i = 0; i < len; i++)
                if (s[i] < '0' || s[i] > '9')
                        return 0;
        return 1;
}

static int check_person(avro_value_t *rec, char person[19], invalid_t *inv)
{
        const char *id = get_str(rec, "person_id");

        if (id == NULL)
                return bad(inv, "MISSING_FIELD", "person_id", "missing");
        if (zz_idno_normalize(id, strlen(id), person) != ZZ_IDNO_OK) {
                inv->reason = "INVALID_ID_NUMBER";
                snprintf(inv->text, sizeof(inv->text), "person_id: %s",
                         zz_idno_strerror(zz_idno_validate(id, strlen(id))));
                return -1;
        }
        return 0;
}

static PGresult *run(zz_store_t *store, const char *sql, int n,
                     const char *const *params, char sqlstate[6], char *errstr,
                     size_t errstr_size)
{
        return zz_store_query(store, sql, n, params, NULL, NULL, sqlstate,
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

static int flush_table(table_t *t, zz_store_t *store,
                       zz_fact_outcome_t *outcomes, char (*persons)[19],
                       char sqlstate[6], char *errstr, size_t errstr_size)
{
        const char **params = NULL, **column = NULL;
        char **arrays = NULL;
        PGresult *res = NULL;
        size_t r, k;
        int c, rc = -1;

        if (t->n == 0)
                return 0;
        params = calloc((size_t)t->n_cols, sizeof(*params));
        arrays = calloc((size_t)t->n_cols, sizeof(*arrays));
        column = calloc(t->n, sizeof(*column));
        if (params == NULL || arrays == NULL || column == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        for (c = 0; c < t->n_cols; c++) {
                for (r = 0; r < t->n; r++)
                        column[r] = t->vals[r * (size_t)t->n_cols + (size_t)c];
                arrays[c] = zz_store_text_array(column, t->n);
                if (arrays[c] == NULL) {
                        snprintf(errstr, errstr_size, "out of memory");
                        goto out;
                }
                params[c] = arrays[c];
        }
        res = zz_store_query(store, t->sql, t->n_cols, params, NULL, NULL,
                             sqlstate, errstr, errstr_size);
        if (res == NULL)
                goto out;
        /* Rows not returned were already stored: duplicates. Within the
         * batch the first of equal event ids is the one inserted. */
        for (r = 0; r < t->n; r++)
                outcomes[t->msg[r]] = ZZ_FACT_DUPLICATE;
        for (k = 0; k < (size_t)PQntuples(res); k++) {
                const char *id = PQgetvalue(res, (int)k, 0);
                for (r = 0; r < t->n; r++)
                        if (strcmp(t->vals[r * (size_t)t->n_cols], id) == 0)
                                break;
                if (r == t->n)
                        continue;
                outcomes[t->msg[r]] = ZZ_FACT_APPLIED;
                if (persons != NULL && t->person_col >= 0)
                        snprintf(persons[t->msg[r]], 19, "%s",
                                 t->vals[r * (size_t)t->n_cols +
                                         (size_t)t->person_col]);
        }
        rc = 0;
out:
        PQclear(res);
        if (arrays != NULL)
                for (c = 0; c < t->n_cols; c++)
                        free(arrays[c]);
        free(arrays);
        free(params);
        free(column);
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

static char *attrs_json(avro_value_t *rec)
{
        avro_value_t map, v;
        size_t n = 0, i;
        json_t *obj = json_object();
        char *text;

        if (avro_value_get_by_name(rec, "attrs", &map, NULL) == 0 &&
            avro_value_get_size(&map, &n) == 0) {
                for (i = 0; i < n; i++) {
                        const char *key = NULL, *s = NULL;
                        size_t size;

                        if (avro_value_get_by_index(&map, i, &v, &key) != 0 ||
                            avro_value_get_string(&v, &s, &size) != 0)
                                continue;
                        json_object_set_new(obj, key, json_string(s));
                }
        }
        text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(obj);
        return text;
}

static int apply_identity(zz_facts_batch_t *batch, size_t msg_index,
                          avro_value_t *rec, const zz_fact_source_t *src,
                          char person[19], invalid_t *inv, char sqlstate[6],
                          char *errstr, size_t errstr_size)
{
        const char *action = get_enum(rec, "action");
        const char *category = get_str(rec, "category");
        const char *approving = get_str(rec, "approving_region");
        const char *residence = get_opt_str(rec, "residence_region");
        int64_t vfrom = get_long(rec, "valid_from"), vto = 0, dec = 0;
        int has_vto = 0, has_dec = 0;
        avro_value_t b;
        char vf[16], vt[16], dd[16], rep[24], part[16], off[24];
        const char *params[16];
        char *attrs;
        int rc;

        if (check_person(rec, person, inv) != 0)
                return 0;
        if (strcmp(action, "UNKNOWN") == 0)
                return bad(inv, "INVALID_VALUE", "action", "unknown symbol") +
                       1;
        if (get_opt(rec, "valid_to", &b)) {
                int32_t v;
                avro_value_get_int(&b, &v);
                vto = v;
                has_vto = 1;
        }
        if (get_opt(rec, "deceased_on", &b)) {
                int32_t v;
                avro_value_get_int(&b, &v);
                dec = v;
                has_dec = 1;
        }
        if (strcmp(action, "DECEASED") == 0) {
                if (!has_dec)
                        return bad(inv, "MISSING_FIELD", "deceased_on",
                                   "missing for DECEASED") +
                               1;
        } else if (category == NULL || !zz_category_known(category)) {
                return bad(inv, "UNKNOWN_CATEGORY", "category",
                           "not in the vocabulary") +
                       1;
        }
        if (!date_ok(vfrom) || (has_vto && !date_ok(vto)) ||
            (has_dec && !date_ok(dec)))
                return bad(inv, "INVALID_DATE",
                           "valid_from/valid_to/deceased_on",
                           "not a plausible date") +
                       1;
        if (has_vto && vto < vfrom)
                return bad(inv, "INVALID_DATE_RANGE", "valid_to",
                           "before valid_from") +
                       1;
        if (!region_ok(approving) ||
            (residence != NULL && !region_ok(residence)))
                return bad(inv, "INVALID_REGION",
                           "approving_region/residence_region",
                           "not a 6, 9 or 12 digit region code") +
                       1;
        attrs = attrs_json(rec);
        if (attrs == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        date_text(vfrom, vf);
        date_text(vto, vt);
        date_text(dec, dd);
        snprintf(rep, sizeof(rep), "%lld",
                 (long long)get_long(rec, "reported_at"));
        snprintf(part, sizeof(part), "%d", (int)src->partition);
        snprintf(off, sizeof(off), "%lld", (long long)src->offset);
        params[0] = get_str(rec, "event_id");
        params[1] = person;
        params[2] = get_str(rec, "department");
        params[3] = get_str(rec, "dept_record_id");
        params[4] = action;
        params[5] = category != NULL ? category : "";
        params[6] = attrs;
        params[7] = vf;
        params[8] = has_vto ? vt : NULL;
        params[9] = approving;
        params[10] = residence;
        params[11] = rep;
        params[12] = has_dec ? dd : NULL;
        params[13] = src->topic;
        params[14] = part;
        params[15] = off;
        rc = batch_add(batch, 0, msg_index, params);
        free(attrs);
        return rc < 0 ? -1 : rc + 1;
}

static int apply_enrollment(zz_facts_batch_t *batch, size_t msg_index,
                            avro_value_t *rec, const zz_fact_source_t *src,
                            char person[19], invalid_t *inv, char sqlstate[6],
                            char *errstr, size_t errstr_size)
{
        const char *action = get_enum(rec, "action");
        const char *klass = get_enum(rec, "enrollment_class");
        const char *kind = get_enum(rec, "kind");
        const char *region = get_str(rec, "region");
        int64_t year = get_long(rec, "year"), tier = get_long(rec, "tier");
        int64_t reg = get_long(rec, "registered_on");
        char y[16], t[16], rd[16], part[16], off[24];
        const char *params[16];
        int rc;

        if (check_person(rec, person, inv) != 0)
                return 0;
        if (strcmp(action, "UNKNOWN") == 0)
                return bad(inv, "INVALID_VALUE", "action", "unknown symbol") +
                       1;
        if (strcmp(action, "REGISTER") == 0 &&
            (strcmp(klass, "UNKNOWN") == 0 || strcmp(kind, "UNKNOWN") == 0))
                return bad(inv, "INVALID_VALUE", "enrollment_class/kind",
                           "unknown symbol") +
                       1;
        if (year < 2000 || year > 2099)
                return bad(inv, "YEAR_OUT_OF_RANGE", "year",
                           "outside 2000-2099") +
                       1;
        if (tier < 1 || tier > 9)
                return bad(inv, "INVALID_VALUE", "tier", "not 1-9") + 1;
        if (!date_ok(reg))
                return bad(inv, "INVALID_DATE", "registered_on",
                           "not a plausible date") +
                       1;
        if (!region_ok(region))
                return bad(inv, "INVALID_REGION", "region",
                           "not a 6, 9 or 12 digit region code") +
                       1;
        snprintf(y, sizeof(y), "%d", (int)year);
        snprintf(t, sizeof(t), "%d", (int)tier);
        date_text(reg, rd);
        snprintf(part, sizeof(part), "%d", (int)src->partition);
        snprintf(off, sizeof(off), "%lld", (long long)src->offset);
        params[0] = get_str(rec, "event_id");
        params[1] = person;
        params[2] = get_str(rec, "department");
        params[3] = get_str(rec, "dept_record_id");
        params[4] = action;
        params[5] = get_str(rec, "household_id");
        params[6] = y;
        params[7] = t;
        params[8] = klass;
        params[9] = kind;
        params[10] = rd;
        params[11] = region;
        params[12] = get_opt_str(rec, "unit");
        params[13] = src->topic;
        params[14] = part;
        params[15] = off;
        rc = batch_add(batch, 1, msg_index, params);
        return rc < 0 ? -1 : rc + 1;
}

static int apply_payment(zz_facts_batch_t *batch, size_t msg_index,
                         avro_value_t *rec, const zz_fact_source_t *src,
                         char person[19], invalid_t *inv, char sqlstate[6],
                         char *errstr, size_t errstr_size)
{
        const char *kind = get_enum(rec, "kind");
        int64_t year = get_long(rec, "year");
        int64_t contrib = get_long(rec, "contribution_fen");
        int64_t applied = get_long(rec, "subsidy_applied_fen");
        int64_t paid = get_long(rec, "paid_fen");
        int64_t refund = get_long(rec, "refund_fen");
        char y[16], c[24], a[24], p[24], r[24], at[24], part[16], off[24];
        const char *params[15];
        int rc;

        if (check_person(rec, person, inv) != 0)
                return 0;
        if (strcmp(kind, "UNKNOWN") == 0)
                return bad(inv, "INVALID_VALUE", "kind", "unknown symbol") + 1;
        if (year < 2000 || year > 2099)
                return bad(inv, "YEAR_OUT_OF_RANGE", "year",
                           "outside 2000-2099") +
                       1;
        if (contrib < 0 || applied < 0 || paid < 0 || refund < 0)
                return bad(inv, "NEGATIVE_AMOUNT",
                           "contribution/applied/paid/refund fen", "negative") +
                       1;
        if (contrib != applied + paid)
                return bad(inv, "AMOUNT_MISMATCH", "contribution_fen",
                           "differs from subsidy_applied_fen + paid_fen") +
                       1;
        snprintf(y, sizeof(y), "%d", (int)year);
        snprintf(c, sizeof(c), "%lld", (long long)contrib);
        snprintf(a, sizeof(a), "%lld", (long long)applied);
        snprintf(p, sizeof(p), "%lld", (long long)paid);
        snprintf(r, sizeof(r), "%lld", (long long)refund);
        snprintf(at, sizeof(at), "%lld", (long long)get_long(rec, "paid_at"));
        snprintf(part, sizeof(part), "%d", (int)src->partition);
        snprintf(off, sizeof(off), "%lld", (long long)src->offset);
        params[0] = get_str(rec, "event_id");
        params[1] = person;
        params[2] = get_str(rec, "department");
        params[3] = get_str(rec, "dept_record_id");
        params[4] = kind;
        params[5] = y;
        params[6] = c;
        params[7] = a;
        params[8] = p;
        params[9] = r;
        params[10] = at;
        params[11] = get_str(rec, "receipt");
        params[12] = src->topic;
        params[13] = part;
        params[14] = off;
        rc = batch_add(batch, 2, msg_index, params);
        return rc < 0 ? -1 : rc + 1;
}

static int apply_control(zz_facts_batch_t *batch, size_t msg_index,
                         avro_value_t *rec, const zz_fact_source_t *src,
                         invalid_t *inv, char sqlstate[6], char *errstr,
                         size_t errstr_size)
{
        const char *command = get_enum(rec, "command");
        char at[24], part[16], off[24];
        const char *params[12];
        int rc;

        if (strcmp(command, "UNKNOWN") == 0)
                return bad(inv, "INVALID_VALUE", "command", "unknown symbol") +
                       1;
        snprintf(at, sizeof(at), "%lld", (long long)get_long(rec, "issued_at"));
        snprintf(part, sizeof(part), "%d", (int)src->partition);
        snprintf(off, sizeof(off), "%lld", (long long)src->offset);
        params[0] = get_str(rec, "event_id");
        params[1] = get_str(rec, "department");
        params[2] = get_str(rec, "dept_record_id");
        params[3] = command;
        params[4] = get_str(rec, "jurisdiction");
        params[5] = get_opt_str(rec, "period");
        params[6] = get_opt_str(rec, "policy_name");
        params[7] = get_opt_str(rec, "policy_version");
        params[8] = at;
        params[9] = src->topic;
        params[10] = part;
        params[11] = off;
        rc = batch_add(batch, 3, msg_index, params);
        return rc < 0 ? -1 : rc + 1;
}

static const char *codec_reason(zz_codec_err_t err)
{
        switch (err) {
        case ZZ_CODEC_ERR_FRAMING:
                return "BAD_FRAMING";
        case ZZ_CODEC_ERR_UNKNOWN_SCHEMA:
                return "UNKNOWN_SCHEMA";
        case ZZ_CODEC_ERR_WRONG_STREAM:
                return "WRONG_STREAM";
        default:
                return "UNDECODABLE";
        }
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
                inv.reason = codec_reason(err);
                snprintf(inv.text, sizeof(inv.text), "%s", derr);
                rc = 0;
        } else {
                event_id = get_str(&rec, "event_id");
                if (event_id == NULL || event_id[0] == '\0') {
                        bad(&inv, "MISSING_FIELD", "event_id", "empty");
                        rc = 0;
                } else {
                        switch (stream) {
                        case ZZ_STREAM_IDENTITY:
                                rc = apply_identity(batch, msg_index, &rec, src,
                                                    person, &inv, sqlstate,
                                                    errstr, errstr_size);
                                break;
                        case ZZ_STREAM_ENROLLMENT:
                                rc = apply_enrollment(
                                    batch, msg_index, &rec, src, person, &inv,
                                    sqlstate, errstr, errstr_size);
                                break;
                        case ZZ_STREAM_PAYMENT:
                                rc = apply_payment(batch, msg_index, &rec, src,
                                                   person, &inv, sqlstate,
                                                   errstr, errstr_size);
                                break;
                        case ZZ_STREAM_CONTROL:
                                rc = apply_control(batch, msg_index, &rec, src,
                                                   &inv, sqlstate, errstr,
                                                   errstr_size);
                                break;
                        default:
                                snprintf(errstr, errstr_size,
                                         "%s is not an input stream",
                                         zz_stream_name(stream));
                                return -1;
                        }
                }
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
