/*
 * subsidy.c — folds a person's stored facts into cases, decides them with
 * the policy engine and writes what changed (see subsidy.h).
 */
#include "zizhu/subsidy.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "zizhu/arena.h"
#include "zizhu/casefold.h"
#include "zizhu/date.h"
#include "zizhu/log.h"

#define MAX_POLICIES 64
#define MAX_YEARS    16

/* Decision rows gathered during one zz_subsidy_redecide and written by
 * flush_decisions with one statement each for decision and history. */
#define DEC_COLS 15

typedef struct pending_s {
        char **vals; /* n * DEC_COLS */
        size_t n, cap;
} pending_t;

struct zz_subsidy_s {
        pending_t pending;
        zz_policy_t *policies[MAX_POLICIES];
        size_t n_policies;
        zz_codec_t *codec;
        zz_arena_t *arena;
        zz_codec_buf_t buf;
};

static void pending_clear(zz_subsidy_t *s);

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

zz_subsidy_t *zz_subsidy_new(const char *policy_dir, zz_codec_t *codec,
                             char *errstr, size_t errstr_size)
{
        zz_subsidy_t *s = calloc(1, sizeof(*s));
        DIR *dir;
        struct dirent *de;
        char *names[MAX_POLICIES];
        size_t n_names = 0, i;

        if (s == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        s->codec = codec;
        s->arena = zz_arena_new(0);
        dir = opendir(policy_dir);
        if (dir == NULL || s->arena == NULL) {
                snprintf(errstr, errstr_size,
                         "could not open policy directory %s", policy_dir);
                if (dir != NULL)
                        closedir(dir);
                zz_subsidy_destroy(s);
                return NULL;
        }
        while ((de = readdir(dir)) != NULL) {
                size_t len = strlen(de->d_name);

                if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
                        continue;
                if (n_names == MAX_POLICIES)
                        break;
                names[n_names] = strdup(de->d_name);
                if (names[n_names] != NULL)
                        n_names++;
        }
        closedir(dir);
        qsort(names, n_names, sizeof(names[0]), cmp_str);
        for (i = 0; i < n_names; i++) {
                char path[4096];
                zz_policy_t *p;

                snprintf(path, sizeof(path), "%s/%s", policy_dir, names[i]);
                p = zz_policy_load_file(path, errstr, errstr_size);
                if (p == NULL) {
                        size_t j;
                        for (j = i; j < n_names; j++)
                                free(names[j]);
                        zz_subsidy_destroy(s);
                        return NULL;
                }
                s->policies[s->n_policies++] = p;
                free(names[i]);
        }
        if (s->n_policies == 0) {
                snprintf(errstr, errstr_size, "no policy file (*.yaml) in %s",
                         policy_dir);
                zz_subsidy_destroy(s);
                return NULL;
        }
        return s;
}

void zz_subsidy_destroy(zz_subsidy_t *s)
{
        size_t i;

        if (s == NULL)
                return;
        for (i = 0; i < s->n_policies; i++)
                zz_policy_destroy(s->policies[i]);
        zz_arena_destroy(s->arena);
        zz_codec_buf_free(&s->buf);
        pending_clear(s);
        free(s->pending.vals);
        free(s);
}

size_t zz_subsidy_policy_count(const zz_subsidy_t *s)
{
        return s->n_policies;
}

const zz_policy_t *zz_subsidy_policy(const zz_subsidy_t *s, size_t i)
{
        return i < s->n_policies ? s->policies[i] : NULL;
}

const zz_policy_t *zz_subsidy_policy_for(const zz_subsidy_t *s, int year,
                                         const char *region)
{
        return zz_casefold_policy_for((const zz_policy_t *const *)s->policies,
                                      s->n_policies, year, region);
}

int zz_subsidy_recon_actionable(const char *status)
{
        static const char *const actionable[] = {
            "REFUND_DUE",          "RECOVERY_DUE",
            "UNFUNDED_SUBSIDY",    "NOT_ENROLLED",
            "ENROLLED_ELSEWHERE",  "HOUSEHOLD_TIER_MISMATCH",
            "RECORDS_IN_CONFLICT", NULL};
        size_t i;

        for (i = 0; status != NULL && actionable[i] != NULL; i++)
                if (strcmp(status, actionable[i]) == 0)
                        return 1;
        return 0;
}

/* ------------------------------------------------------------------ */
/* Fact rows, borrowed from PGresults, folded by casefold.h            */

/* Column numbers of the decision query. */
enum { D_PERSON, D_YEAR, D_REVISION, D_STATUS, D_BODY };

/* Rows of res (ordered by person in "C" collation) for person, starting the
 * search at *cursor. */
static zz_casefold_span_t next_span(const PGresult *res, int *cursor,
                                    const char *person)
{
        zz_casefold_span_t sp;
        int n = PQntuples(res);

        while (*cursor < n && strcmp(PQgetvalue(res, *cursor, 0), person) < 0)
                (*cursor)++;
        sp.begin = *cursor;
        while (*cursor < n && strcmp(PQgetvalue(res, *cursor, 0), person) == 0)
                (*cursor)++;
        sp.end = *cursor;
        return sp;
}

static int year_add(int *years, size_t *n, int year)
{
        size_t i;

        for (i = 0; i < *n; i++)
                if (years[i] == year)
                        return 0;
        if (*n == MAX_YEARS)
                return -1;
        years[(*n)++] = year;
        return 0;
}

static int cmp_int(const void *a, const void *b)
{
        int x = *(const int *)a, y = *(const int *)b;

        return (x > y) - (x < y);
}

/* ------------------------------------------------------------------ */
/* Outputs                                                             */

static void hex_id(const char *text, char out[33])
{
        unsigned char md[SHA256_DIGEST_LENGTH];
        size_t i;

        SHA256((const unsigned char *)text, strlen(text), md);
        for (i = 0; i < 16; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int set_str(avro_value_t *rec, const char *name, const char *s)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        return avro_value_set_string(&f, s != NULL ? s : "");
}

static int set_long(avro_value_t *rec, const char *name, int64_t v)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        return avro_value_set_long(&f, v);
}

static int set_int(avro_value_t *rec, const char *name, int v)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        return avro_value_set_int(&f, v);
}

static int set_enum_value(avro_value_t *f, const char *symbol)
{
        avro_schema_t sch = avro_value_get_schema(f);
        int idx = avro_schema_enum_get_by_name(sch, symbol);

        if (idx < 0)
                idx = 0; /* UNKNOWN, the first symbol of every enum */
        return avro_value_set_enum(f, idx);
}

static int set_enum(avro_value_t *rec, const char *name, const char *symbol)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        return set_enum_value(&f, symbol);
}

/* A ["null", T] union field: branch 0 when s is NULL. */
static int set_opt_str(avro_value_t *rec, const char *name, const char *s)
{
        avro_value_t f, b;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        if (s == NULL)
                return avro_value_set_branch(&f, 0, &b) ||
                       avro_value_set_null(&b);
        return avro_value_set_branch(&f, 1, &b) || avro_value_set_string(&b, s);
}

static int set_opt_enum(avro_value_t *rec, const char *name, const char *symbol)
{
        avro_value_t f, b;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        if (symbol == NULL)
                return avro_value_set_branch(&f, 0, &b) ||
                       avro_value_set_null(&b);
        return avro_value_set_branch(&f, 1, &b) || set_enum_value(&b, symbol);
}

/* What one decision is about, for the outputs. */
typedef struct outcome_s {
        const char *person_id;
        const char *household;
        const zz_policy_t *policy;
        const zz_decision_t *d;
        const char **rules;
        size_t n_rules;
        const zz_casefold_ref_t **used;
        size_t n_used;
        const char *region;
        zz_casefold_source_t source;
} outcome_t;

static int emit_state(zz_subsidy_t *s, zz_store_t *store, const outcome_t *o,
                      char *errstr, size_t errstr_size)
{
        avro_value_t rec, arr, item;
        char key[64];
        size_t i;
        int rc = 0;

        if (zz_codec_value_new(s->codec, ZZ_STREAM_SUBSIDY_STATE, &rec) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        rc |= set_str(&rec, "person_id", o->person_id);
        rc |= set_int(&rec, "year", o->d->year);
        {
                avro_value_t f;
                rc |= avro_value_get_by_name(&rec, "eligible", &f, NULL);
                rc |= avro_value_set_boolean(&f, o->d->eligible ? 1 : 0);
        }
        rc |= set_long(&rec, "contribution_fen", o->d->contribution_fen);
        rc |= set_long(&rec, "subsidy_fen", o->d->subsidy_fen);
        rc |= set_long(&rec, "individual_due_fen", o->d->individual_due_fen);
        rc |= avro_value_get_by_name(&rec, "funding", &arr, NULL);
        for (i = 0; rc == 0 && i < o->d->n_funding; i++) {
                rc |= avro_value_append(&arr, &item, NULL);
                rc |= set_enum(&item, "payer", o->d->funding[i].payer);
                rc |= set_enum(&item, "fund", o->d->funding[i].fund);
                rc |= set_long(&item, "fen", o->d->funding[i].fen);
                rc |= set_str(&item, "rule", o->d->funding[i].rule);
        }
        rc |= avro_value_get_by_name(&rec, "rules", &arr, NULL);
        for (i = 0; rc == 0 && i < o->n_rules; i++) {
                rc |= avro_value_append(&arr, &item, NULL);
                rc |= avro_value_set_string(&item, o->rules[i]);
        }
        rc |= avro_value_get_by_name(&rec, "identities", &arr, NULL);
        for (i = 0; rc == 0 && i < o->n_used; i++) {
                rc |= avro_value_append(&arr, &item, NULL);
                rc |= set_str(&item, "event_id", o->used[i]->event_id);
                rc |= set_str(&item, "department", o->used[i]->department);
                rc |= set_str(&item, "dept_record_id",
                              o->used[i]->dept_record_id);
                rc |= set_str(&item, "category", o->used[i]->category);
        }
        rc |= set_str(&rec, "region", o->region);
        rc |= set_str(&rec, "policy_name", zz_policy_name(o->policy));
        rc |= set_str(&rec, "policy_version", zz_policy_version(o->policy));
        rc |= set_long(&rec, "decided_at", o->source.at);
        rc |= set_str(&rec, "source_event_id", o->source.event_id);
        if (rc != 0) {
                snprintf(errstr, errstr_size,
                         "could not build a subsidy-state value");
                avro_value_decref(&rec);
                return -1;
        }
        if (zz_codec_encode(s->codec, ZZ_STREAM_SUBSIDY_STATE, &rec, &s->buf,
                            errstr, errstr_size) != 0) {
                avro_value_decref(&rec);
                return -1;
        }
        avro_value_decref(&rec);
        snprintf(key, sizeof(key), "%s/%d", o->person_id, o->d->year);
        if (zz_store_outbox_append(store, "subsidy-state", key, strlen(key),
                                   s->buf.data, s->buf.len) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

static int emit_recon(zz_subsidy_t *s, zz_store_t *store, const outcome_t *o,
                      char *errstr, size_t errstr_size)
{
        avro_value_t rec;
        const char *status = zz_recon_status_name(o->d->reconciliation.status);
        const char *route = zz_route_name(o->d->reconciliation.route);
        const char *payer = o->d->reconciliation.n_owed > 0
                                ? o->d->reconciliation.owed[0].payer
                                : NULL;
        char text[512], id[33], detail[160];
        int rc = 0;

        snprintf(text, sizeof(text), "%s|%d|%s|%lld|%s|%s|%s|%s", o->person_id,
                 o->d->year, status, (long long)o->d->reconciliation.fen,
                 route ? route : "NONE", payer ? payer : "",
                 zz_policy_version(o->policy), o->source.event_id);
        hex_id(text, id);
        snprintf(detail, sizeof(detail), "%s under %s: %lld fen", status,
                 zz_policy_name(o->policy),
                 (long long)o->d->reconciliation.fen);
        if (zz_codec_value_new(s->codec, ZZ_STREAM_RECONCILIATION, &rec) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        rc |= set_str(&rec, "recon_id", id);
        rc |= set_str(&rec, "person_id", o->person_id);
        rc |= set_int(&rec, "year", o->d->year);
        rc |= set_opt_str(&rec, "household_id", NULL);
        rc |= set_enum(&rec, "status", status);
        rc |= set_long(&rec, "fen", o->d->reconciliation.fen);
        rc |= set_enum(&rec, "route", route ? route : "NONE");
        rc |= set_opt_enum(&rec, "payer", payer);
        rc |= set_str(&rec, "region", o->region);
        rc |= set_str(&rec, "policy_version", zz_policy_version(o->policy));
        rc |= set_str(&rec, "detail", detail);
        rc |= set_long(&rec, "decided_at", o->source.at);
        rc |= set_str(&rec, "source_event_id", o->source.event_id);
        if (rc != 0) {
                snprintf(errstr, errstr_size,
                         "could not build a reconciliation value");
                avro_value_decref(&rec);
                return -1;
        }
        if (zz_codec_encode(s->codec, ZZ_STREAM_RECONCILIATION, &rec, &s->buf,
                            errstr, errstr_size) != 0) {
                avro_value_decref(&rec);
                return -1;
        }
        avro_value_decref(&rec);
        if (zz_store_outbox_append(store, "reconciliation", o->person_id,
                                   strlen(o->person_id), s->buf.data,
                                   s->buf.len) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

/* The canonical body: sorted keys, compact. malloc'd. */
static char *decision_body(const outcome_t *o)
{
        const zz_decision_t *d = o->d;
        json_t *root = json_object(), *arr, *rec;
        char *text;
        size_t i;

        json_object_set_new(root, "year", json_integer(d->year));
        json_object_set_new(root, "policy",
                            json_string(zz_policy_name(o->policy)));
        json_object_set_new(root, "policy_version",
                            json_string(zz_policy_version(o->policy)));
        json_object_set_new(root, "eligible", json_boolean(d->eligible));
        json_object_set_new(root, "contribution_fen",
                            json_integer(d->contribution_fen));
        json_object_set_new(root, "subsidy_fen", json_integer(d->subsidy_fen));
        json_object_set_new(root, "individual_due_fen",
                            json_integer(d->individual_due_fen));
        arr = json_array();
        for (i = 0; i < d->n_funding; i++) {
                rec = json_object();
                json_object_set_new(rec, "payer",
                                    json_string(d->funding[i].payer));
                json_object_set_new(rec, "fund",
                                    json_string(d->funding[i].fund));
                json_object_set_new(rec, "fen",
                                    json_integer(d->funding[i].fen));
                json_object_set_new(
                    rec, "rule",
                    json_string(d->funding[i].rule ? d->funding[i].rule : ""));
                json_array_append_new(arr, rec);
        }
        json_object_set_new(root, "funding", arr);
        arr = json_array();
        for (i = 0; i < o->n_rules; i++)
                json_array_append_new(arr, json_string(o->rules[i]));
        json_object_set_new(root, "rules", arr);
        arr = json_array();
        for (i = 0; i < o->n_used; i++) {
                rec = json_object();
                json_object_set_new(rec, "event_id",
                                    json_string(o->used[i]->event_id));
                json_object_set_new(rec, "department",
                                    json_string(o->used[i]->department));
                json_object_set_new(rec, "dept_record_id",
                                    json_string(o->used[i]->dept_record_id));
                json_object_set_new(rec, "category",
                                    json_string(o->used[i]->category));
                json_array_append_new(arr, rec);
        }
        json_object_set_new(root, "identities", arr);
        json_object_set_new(root, "region",
                            o->region ? json_string(o->region) : json_null());
        json_object_set_new(root, "period",
                            d->period ? json_string(d->period) : json_null());
        rec = json_object();
        json_object_set_new(
            rec, "status",
            json_string(zz_recon_status_name(d->reconciliation.status)));
        json_object_set_new(rec, "fen", json_integer(d->reconciliation.fen));
        json_object_set_new(
            rec, "route",
            zz_route_name(d->reconciliation.route)
                ? json_string(zz_route_name(d->reconciliation.route))
                : json_null());
        arr = json_array();
        for (i = 0; i < d->reconciliation.n_owed; i++) {
                json_t *ow = json_object();
                json_object_set_new(
                    ow, "payer",
                    json_string(d->reconciliation.owed[i].payer
                                    ? d->reconciliation.owed[i].payer
                                    : ""));
                json_object_set_new(
                    ow, "fen", json_integer(d->reconciliation.owed[i].fen));
                json_array_append_new(arr, ow);
        }
        json_object_set_new(rec, "owed", arr);
        json_object_set_new(root, "reconciliation", rec);
        json_object_set_new(root, "decided_at", json_integer(o->source.at));
        json_object_set_new(root, "source_event_id",
                            json_string(o->source.event_id));
        text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(root);
        return text;
}

/* Rules that matched and identities they matched on, from the trace. */
static void collect_used(zz_arena_t *arena, const zz_casefold_person_t *p,
                         const zz_decision_t *d, outcome_t *o)
{
        size_t i, j;

        o->rules = zz_arena_calloc(arena, d->n_trace + 1, sizeof(char *));
        o->used = zz_arena_calloc(arena, p->n_identities + 1,
                                  sizeof(zz_casefold_ref_t *));
        o->n_rules = 0;
        o->n_used = 0;
        for (i = 0; i < d->n_trace; i++) {
                const zz_trace_entry_t *t = &d->trace[i];
                int seen = 0;

                if (t->kind != ZZ_TRACE_RULE || !t->matched)
                        continue;
                if (t->rule != NULL) {
                        for (j = 0; j < o->n_rules; j++)
                                if (strcmp(o->rules[j], t->rule) == 0)
                                        seen = 1;
                        if (!seen)
                                o->rules[o->n_rules++] = t->rule;
                }
                if (t->identity >= 0 && (size_t)t->identity < p->n_identities) {
                        const zz_casefold_ref_t *ref = &p->refs[t->identity];
                        seen = 0;
                        for (j = 0; j < o->n_used; j++)
                                if (o->used[j] == ref)
                                        seen = 1;
                        if (!seen)
                                o->used[o->n_used++] = ref;
                }
        }
}

static PGresult *load(zz_store_t *store, const char *sql, const char *array,
                      char sqlstate[6], char *errstr, size_t errstr_size)
{
        const char *params[1] = {array};

        return zz_store_query(store, sql, 1, params, NULL, NULL, sqlstate,
                              errstr, errstr_size);
}

/* Decision rows gathered during one zz_subsidy_redecide and written by
 * flush_decisions with one statement each for decision and history. */

static void pending_clear(zz_subsidy_t *s)
{
        size_t i;

        for (i = 0; i < s->pending.n * DEC_COLS; i++)
                free(s->pending.vals[i]);
        s->pending.n = 0;
}

static int write_decision(zz_subsidy_t *s, zz_store_t *store,
                          const outcome_t *o, int revision, const char *body,
                          char sqlstate[6], char *errstr, size_t errstr_size)
{
        char year[16], rev[16], contrib[24], sub[24], due[24], rfen[24], at[24];
        const char *params[DEC_COLS];
        size_t i;

        (void)store;
        (void)sqlstate;
        snprintf(year, sizeof(year), "%d", o->d->year);
        snprintf(rev, sizeof(rev), "%d", revision);
        snprintf(contrib, sizeof(contrib), "%lld",
                 (long long)o->d->contribution_fen);
        snprintf(sub, sizeof(sub), "%lld", (long long)o->d->subsidy_fen);
        snprintf(due, sizeof(due), "%lld", (long long)o->d->individual_due_fen);
        snprintf(rfen, sizeof(rfen), "%lld",
                 (long long)o->d->reconciliation.fen);
        snprintf(at, sizeof(at), "%lld", (long long)o->source.at);
        params[0] = o->person_id;
        params[1] = year;
        params[2] = rev;
        params[3] = zz_policy_name(o->policy);
        params[4] = zz_policy_version(o->policy);
        params[5] = o->d->eligible ? "true" : "false";
        params[6] = contrib;
        params[7] = sub;
        params[8] = due;
        params[9] = zz_recon_status_name(o->d->reconciliation.status);
        params[10] = rfen;
        params[11] = o->region;
        params[12] = at;
        params[13] = o->source.event_id;
        params[14] = body;
        if (s->pending.n == s->pending.cap) {
                size_t cap = s->pending.cap ? s->pending.cap * 2 : 256;
                char **vals =
                    realloc(s->pending.vals, cap * DEC_COLS * sizeof(char *));
                if (vals == NULL)
                        goto oom;
                s->pending.vals = vals;
                s->pending.cap = cap;
        }
        for (i = 0; i < DEC_COLS; i++) {
                s->pending.vals[s->pending.n * DEC_COLS + i] =
                    params[i] != NULL ? strdup(params[i]) : NULL;
                if (params[i] != NULL &&
                    s->pending.vals[s->pending.n * DEC_COLS + i] == NULL) {
                        while (i-- > 0)
                                free(s->pending
                                         .vals[s->pending.n * DEC_COLS + i]);
                        goto oom;
                }
        }
        s->pending.n++;
        return 0;
oom:
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
}

static int flush_decisions(zz_subsidy_t *s, zz_store_t *store, char sqlstate[6],
                           char *errstr, size_t errstr_size)
{
        char *arrays[DEC_COLS] = {0};
        const char *params[DEC_COLS];
        const char **column = NULL;
        PGresult *res;
        size_t c, r;
        int rc = -1;

        if (s->pending.n == 0)
                return 0;
        column = calloc(s->pending.n, sizeof(*column));
        if (column == NULL)
                goto oom;
        for (c = 0; c < DEC_COLS; c++) {
                for (r = 0; r < s->pending.n; r++)
                        column[r] = s->pending.vals[r * DEC_COLS + c];
                arrays[c] = zz_store_text_array(column, s->pending.n);
                if (arrays[c] == NULL)
                        goto oom;
                params[c] = arrays[c];
        }
        res = zz_store_query(
            store,
            "INSERT INTO zizhu.decision AS d (person_id, year, revision, "
            "policy_name, policy_version, eligible, contribution_fen, "
            "subsidy_fen, individual_due_fen, recon_status, recon_fen, "
            "region, decided_at, source_event_id, body) SELECT c1, c2::int, "
            "c3::int, c4, c5, c6::boolean, c7::bigint, c8::bigint, "
            "c9::bigint, c10, c11::bigint, c12, c13::bigint, c14, c15 FROM "
            "unnest($1::text[], $2::text[], $3::text[], $4::text[], "
            "$5::text[], $6::text[], $7::text[], $8::text[], $9::text[], "
            "$10::text[], $11::text[], $12::text[], $13::text[], $14::text[], "
            "$15::text[]) AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, "
            "c12, c13, c14, c15) "
            "ON CONFLICT (person_id, year) DO UPDATE SET "
            "revision = EXCLUDED.revision, policy_name = "
            "EXCLUDED.policy_name, policy_version = EXCLUDED.policy_version, "
            "eligible = EXCLUDED.eligible, contribution_fen = "
            "EXCLUDED.contribution_fen, subsidy_fen = EXCLUDED.subsidy_fen, "
            "individual_due_fen = EXCLUDED.individual_due_fen, recon_status "
            "= EXCLUDED.recon_status, recon_fen = EXCLUDED.recon_fen, region "
            "= EXCLUDED.region, decided_at = EXCLUDED.decided_at, "
            "source_event_id = EXCLUDED.source_event_id, body = "
            "EXCLUDED.body",
            DEC_COLS, params, NULL, NULL, sqlstate, errstr, errstr_size);
        if (res == NULL)
                goto out;
        PQclear(res);
        params[3] = arrays[12];
        params[4] = arrays[13];
        params[5] = arrays[14];
        res = zz_store_query(store,
                             "INSERT INTO zizhu.decision_history (person_id, "
                             "year, revision, decided_at, source_event_id, "
                             "body) SELECT c1, c2::int, c3::int, c4::bigint, "
                             "c5, c6 FROM unnest($1::text[], $2::text[], "
                             "$3::text[], $4::text[], $5::text[], $6::text[]) "
                             "AS u(c1, c2, c3, c4, c5, c6)",
                             6, params, NULL, NULL, sqlstate, errstr,
                             errstr_size);
        if (res == NULL)
                goto out;
        PQclear(res);
        rc = 0;
        goto out;
oom:
        snprintf(errstr, errstr_size, "out of memory");
out:
        for (c = 0; c < DEC_COLS; c++)
                free(arrays[c]);
        free(column);
        pending_clear(s);
        return rc;
}

/* Decides one person-year and writes it when it changed. */
static int decide_year(zz_subsidy_t *s, zz_store_t *store,
                       const zz_casefold_person_t *p, int year,
                       const PGresult *er, zz_casefold_span_t esp,
                       const PGresult *pr, zz_casefold_span_t psp,
                       const PGresult *dr, zz_casefold_span_t dsp,
                       size_t *changed, char sqlstate[6], char *errstr,
                       size_t errstr_size)
{
        zz_case_t c;
        zz_decision_t d;
        outcome_t o;
        const zz_policy_t *pol;
        int r, best_e, best_p, old_row = -1, revision = 1;
        char *body;
        int rc = 0;

        memset(&o, 0, sizeof(o));
        o.source = p->identity_source;
        for (r = esp.begin; r < esp.end; r++)
                if (zz_casefold_num(er, r, ZZ_CASEFOLD_E_YEAR) == year)
                        zz_casefold_source_consider(
                            &o.source,
                            zz_ts_from_cst_date(zz_casefold_date(
                                er, r, ZZ_CASEFOLD_E_REGISTERED)),
                            PQgetvalue(er, r, ZZ_CASEFOLD_E_EVENT));
        for (r = psp.begin; r < psp.end; r++)
                if (zz_casefold_num(pr, r, ZZ_CASEFOLD_P_YEAR) == year)
                        zz_casefold_source_consider(
                            &o.source,
                            zz_casefold_num(pr, r, ZZ_CASEFOLD_P_PAID_AT),
                            PQgetvalue(pr, r, ZZ_CASEFOLD_P_EVENT));
        best_e = zz_casefold_enrollment(er, esp, year);
        best_p = zz_casefold_payment(pr, psp, year);
        pol = zz_casefold_policy(
            (const zz_policy_t *const *)s->policies, s->n_policies, year, p,
            best_e >= 0 ? PQgetvalue(er, best_e, ZZ_CASEFOLD_E_REGION) : NULL);
        if (pol == NULL || o.source.event_id == NULL)
                return 0; /* no locality of ours decides this year */

        zz_casefold_case(&c, p, year, er, best_e, pr, best_p);
        memset(&d, 0, sizeof(d));
        if (zz_policy_eval(pol, &c, &d, s->arena) != 0) {
                /* Not decidable under this policy (a tier it lacks): keep
                 * the stored decision; the facts stay for a later one. */
                zz_log_warn("person-year not decidable under %s: %s",
                            zz_policy_name(pol), d.error ? d.error : "unknown");
                return 0;
        }
        o.person_id = p->person_id;
        o.household = c.household;
        o.policy = pol;
        o.d = &d;
        o.region = d.region ? d.region : (c.region ? c.region : "");
        collect_used(s->arena, p, &d, &o);
        body = decision_body(&o);
        if (body == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (r = dsp.begin; r < dsp.end; r++)
                if (zz_casefold_num(dr, r, D_YEAR) == year)
                        old_row = r;
        if (old_row >= 0 &&
            strcmp(PQgetvalue(dr, old_row, D_BODY), body) == 0) {
                free(body);
                return 0;
        }
        if (old_row >= 0)
                revision = (int)zz_casefold_num(dr, old_row, D_REVISION) + 1;
        rc = write_decision(s, store, &o, revision, body, sqlstate, errstr,
                            errstr_size);
        free(body);
        if (rc == 0)
                rc = emit_state(s, store, &o, errstr, errstr_size);
        if (rc == 0 && (zz_subsidy_recon_actionable(
                            zz_recon_status_name(d.reconciliation.status)) ||
                        (old_row >= 0 && zz_subsidy_recon_actionable(PQgetvalue(
                                             dr, old_row, D_STATUS)))))
                rc = emit_recon(s, store, &o, errstr, errstr_size);
        if (rc == 0 && changed != NULL)
                (*changed)++;
        return rc;
}

int zz_subsidy_redecide(zz_subsidy_t *s, zz_store_t *store,
                        const char *const *persons_in, size_t n,
                        size_t *changed, char sqlstate[6], char *errstr,
                        size_t errstr_size)
{
        const char **persons;
        char *array = NULL;
        PGresult *ir = NULL, *er = NULL, *pr = NULL, *dr = NULL;
        int ic = 0, ec = 0, pc = 0, dc = 0, rc = 0;
        size_t i, m = 0;

        if (sqlstate != NULL)
                sqlstate[0] = '\0';
        if (n == 0)
                return 0;
        persons = malloc(n * sizeof(*persons));
        if (persons == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        memcpy(persons, persons_in, n * sizeof(*persons));
        qsort(persons, n, sizeof(*persons), cmp_str);
        for (i = 0; i < n; i++)
                if (m == 0 || strcmp(persons[m - 1], persons[i]) != 0)
                        persons[m++] = persons[i];
        array = zz_store_text_array(persons, m);
        if (array == NULL) {
                free(persons);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        ir = load(store,
                  "SELECT person_id, event_id, department, dept_record_id, "
                  "action, category, attrs::text, valid_from - DATE "
                  "'1970-01-01', valid_to - DATE '1970-01-01', "
                  "approving_region, residence_region, reported_at, "
                  "deceased_on - DATE '1970-01-01' FROM zizhu.identity_fact "
                  "WHERE person_id = ANY($1::text[]) ORDER BY person_id "
                  "COLLATE \"C\", department COLLATE \"C\", dept_record_id "
                  "COLLATE \"C\", reported_at, event_id COLLATE \"C\"",
                  array, sqlstate, errstr, errstr_size);
        if (ir != NULL)
                er = load(store,
                          "SELECT person_id, event_id, department, "
                          "dept_record_id, action, household_id, year, "
                          "tier, enrollment_class, kind, registered_on - "
                          "DATE '1970-01-01', region, unit FROM "
                          "zizhu.enrollment_fact WHERE person_id = "
                          "ANY($1::text[]) ORDER BY person_id COLLATE \"C\", "
                          "event_id COLLATE \"C\"",
                          array, sqlstate, errstr, errstr_size);
        if (er != NULL)
                pr = load(store,
                          "SELECT person_id, event_id, year, "
                          "contribution_fen, subsidy_applied_fen, paid_fen, "
                          "paid_at FROM zizhu.payment_fact WHERE person_id "
                          "= ANY($1::text[]) ORDER BY person_id COLLATE "
                          "\"C\", event_id COLLATE \"C\"",
                          array, sqlstate, errstr, errstr_size);
        if (pr != NULL)
                dr = load(store,
                          "SELECT person_id, year, revision, recon_status, "
                          "body FROM zizhu.decision WHERE person_id = "
                          "ANY($1::text[]) ORDER BY person_id COLLATE \"C\", "
                          "year",
                          array, sqlstate, errstr, errstr_size);
        if (dr == NULL)
                rc = -1;
        for (i = 0; rc == 0 && i < m; i++) {
                zz_casefold_person_t p;
                zz_casefold_span_t isp, esp, psp, dsp;
                int years[MAX_YEARS];
                size_t n_years = 0, k, j;
                int r;

                zz_arena_reset(s->arena);
                memset(&p, 0, sizeof(p));
                p.person_id = persons[i];
                isp = next_span(ir, &ic, persons[i]);
                esp = next_span(er, &ec, persons[i]);
                psp = next_span(pr, &pc, persons[i]);
                dsp = next_span(dr, &dc, persons[i]);
                if (zz_casefold_identities(s->arena, ir, isp, &p) != 0) {
                        snprintf(errstr, errstr_size, "out of memory");
                        rc = -1;
                        break;
                }
                for (r = esp.begin; r < esp.end; r++)
                        year_add(
                            years, &n_years,
                            (int)zz_casefold_num(er, r, ZZ_CASEFOLD_E_YEAR));
                for (r = psp.begin; r < psp.end; r++)
                        year_add(
                            years, &n_years,
                            (int)zz_casefold_num(pr, r, ZZ_CASEFOLD_P_YEAR));
                for (k = 0; k < s->n_policies; k++)
                        for (j = 0; j < p.n_identities; j++)
                                if (zz_policy_in_jurisdiction(
                                        s->policies[k],
                                        p.identities[j].approving_region) ||
                                    (p.refs[j].residence_region != NULL &&
                                     zz_policy_in_jurisdiction(
                                         s->policies[k],
                                         p.refs[j].residence_region))) {
                                        year_add(
                                            years, &n_years,
                                            zz_policy_year(s->policies[k]));
                                        break;
                                }
                qsort(years, n_years, sizeof(int), cmp_int);
                for (k = 0; rc == 0 && k < n_years; k++)
                        rc = decide_year(s, store, &p, years[k], er, esp, pr,
                                         psp, dr, dsp, changed, sqlstate,
                                         errstr, errstr_size);
        }
        if (rc == 0)
                rc = flush_decisions(s, store, sqlstate, errstr, errstr_size);
        pending_clear(s);
        PQclear(ir);
        PQclear(er);
        PQclear(pr);
        PQclear(dr);
        free(array);
        free(persons);
        zz_arena_reset(s->arena);
        return rc;
}
