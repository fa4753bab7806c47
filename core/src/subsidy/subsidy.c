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

#include "zizhu/arena.h"
#include "zizhu/avro_fields.h"
#include "zizhu/casefold.h"
#include "zizhu/date.h"
#include "zizhu/idno.h"
#include "zizhu/log.h"
#include "zizhu/pg.h"

#define MAX_POLICIES 64
#define MAX_YEARS    16

/* Rows gathered during one zz_subsidy_redecide and written at its end
 * with one statement per table: decisions (with their history) and
 * findings. */
#define DEC_COLS 15
#define FND_COLS 11

typedef struct pending_s {
        size_t n_cols;
        char **vals; /* n * n_cols */
        size_t n, cap;
} pending_t;

struct zz_subsidy_s {
        pending_t pending;  /* decisions */
        pending_t findings; /* findings */
        zz_policy_t *policies[MAX_POLICIES];
        size_t n_policies;
        zz_codec_t *codec;
        zz_arena_t *arena;
        zz_codec_buf_t buf;
};

static void pending_clear(pending_t *p);

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
        s->pending.n_cols = DEC_COLS;
        s->findings.n_cols = FND_COLS;
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
        pending_clear(&s->pending);
        free(s->pending.vals);
        pending_clear(&s->findings);
        free(s->findings.vals);
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
        rc |= zz_avro_set_str(&rec, "person_id", o->person_id);
        rc |= zz_avro_set_int(&rec, "year", o->d->year);
        rc |= zz_avro_set_bool(&rec, "eligible", o->d->eligible);
        rc |=
            zz_avro_set_long(&rec, "contribution_fen", o->d->contribution_fen);
        rc |= zz_avro_set_long(&rec, "subsidy_fen", o->d->subsidy_fen);
        rc |= zz_avro_set_long(&rec, "individual_due_fen",
                               o->d->individual_due_fen);
        rc |= avro_value_get_by_name(&rec, "funding", &arr, NULL);
        for (i = 0; rc == 0 && i < o->d->n_funding; i++) {
                rc |= avro_value_append(&arr, &item, NULL);
                rc |= zz_avro_set_enum(&item, "payer", o->d->funding[i].payer);
                rc |= zz_avro_set_enum(&item, "fund", o->d->funding[i].fund);
                rc |= zz_avro_set_long(&item, "fen", o->d->funding[i].fen);
                rc |= zz_avro_set_str(&item, "rule", o->d->funding[i].rule);
        }
        rc |= avro_value_get_by_name(&rec, "rules", &arr, NULL);
        for (i = 0; rc == 0 && i < o->n_rules; i++) {
                rc |= avro_value_append(&arr, &item, NULL);
                rc |= avro_value_set_string(&item, o->rules[i]);
        }
        rc |= avro_value_get_by_name(&rec, "identities", &arr, NULL);
        for (i = 0; rc == 0 && i < o->n_used; i++) {
                rc |= avro_value_append(&arr, &item, NULL);
                rc |= zz_avro_set_str(&item, "event_id", o->used[i]->event_id);
                rc |= zz_avro_set_str(&item, "department",
                                      o->used[i]->department);
                rc |= zz_avro_set_str(&item, "dept_record_id",
                                      o->used[i]->dept_record_id);
                rc |= zz_avro_set_str(&item, "category", o->used[i]->category);
        }
        rc |= zz_avro_set_str(&rec, "region", o->region);
        rc |= zz_avro_set_str(&rec, "policy_name", zz_policy_name(o->policy));
        rc |= zz_avro_set_str(&rec, "policy_version",
                              zz_policy_version(o->policy));
        rc |= zz_avro_set_long(&rec, "decided_at", o->source.at);
        rc |= zz_avro_set_str(&rec, "source_event_id", o->source.event_id);
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

/* One message of the reconciliation topic, as both a decision and a
 * finding publish it. Strings are borrowed; household and payer may be
 * NULL. */
typedef struct recon_msg_s {
        const char *id;
        const char *person_id;
        int year;
        const char *household;
        const char *status;
        long long fen;
        const char *route;
        const char *payer;
        const char *region;
        const char *policy_version;
        const char *detail;
        long long decided_at;
        const char *source_event_id;
} recon_msg_t;

/* Encodes m and appends it to the batch's outbox, keyed by the person. */
static int append_recon(zz_subsidy_t *s, zz_store_t *store,
                        const recon_msg_t *m, char *errstr, size_t errstr_size)
{
        avro_value_t rec;
        int rc = 0;

        if (zz_codec_value_new(s->codec, ZZ_STREAM_RECONCILIATION, &rec) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        rc |= zz_avro_set_str(&rec, "recon_id", m->id);
        rc |= zz_avro_set_str(&rec, "person_id", m->person_id);
        rc |= zz_avro_set_int(&rec, "year", m->year);
        rc |= zz_avro_set_opt_str(&rec, "household_id", m->household);
        rc |= zz_avro_set_enum(&rec, "status", m->status);
        rc |= zz_avro_set_long(&rec, "fen", m->fen);
        rc |= zz_avro_set_enum(&rec, "route", m->route);
        rc |= zz_avro_set_opt_enum(&rec, "payer", m->payer);
        rc |= zz_avro_set_str(&rec, "region", m->region);
        rc |= zz_avro_set_str(&rec, "policy_version", m->policy_version);
        rc |= zz_avro_set_str(&rec, "detail", m->detail);
        rc |= zz_avro_set_long(&rec, "decided_at", m->decided_at);
        rc |= zz_avro_set_str(&rec, "source_event_id", m->source_event_id);
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
        if (zz_store_outbox_append(store, "reconciliation", m->person_id,
                                   strlen(m->person_id), s->buf.data,
                                   s->buf.len) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

static int emit_recon(zz_subsidy_t *s, zz_store_t *store, const outcome_t *o,
                      char *errstr, size_t errstr_size)
{
        recon_msg_t m;
        const char *status = zz_recon_status_name(o->d->reconciliation.status);
        const char *route = zz_route_name(o->d->reconciliation.route);
        const char *payer = o->d->reconciliation.n_owed > 0
                                ? o->d->reconciliation.owed[0].payer
                                : NULL;
        char text[512], id[33], detail[160];

        snprintf(text, sizeof(text), "%s|%d|%s|%lld|%s|%s|%s|%s", o->person_id,
                 o->d->year, status, (long long)o->d->reconciliation.fen,
                 route ? route : "NONE", payer ? payer : "",
                 zz_policy_version(o->policy), o->source.event_id);
        zz_avro_content_id(text, id);
        snprintf(detail, sizeof(detail), "%s under %s: %lld fen", status,
                 zz_policy_name(o->policy),
                 (long long)o->d->reconciliation.fen);
        m.id = id;
        m.person_id = o->person_id;
        m.year = o->d->year;
        m.household = NULL;
        m.status = status;
        m.fen = (long long)o->d->reconciliation.fen;
        m.route = route ? route : "NONE";
        m.payer = payer;
        m.region = o->region;
        m.policy_version = zz_policy_version(o->policy);
        m.detail = detail;
        m.decided_at = (long long)o->source.at;
        m.source_event_id = o->source.event_id;
        return append_recon(s, store, &m, errstr, errstr_size);
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

static void pending_clear(pending_t *p)
{
        size_t i;

        for (i = 0; i < p->n * p->n_cols; i++)
                free(p->vals[i]);
        p->n = 0;
}

/* Appends a copy of one row (p->n_cols values, NULL for SQL NULL). */
static int pending_add(pending_t *p, const char *const *row, char *errstr,
                       size_t errstr_size)
{
        size_t i;

        if (p->n == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 256;
                char **vals =
                    realloc(p->vals, cap * p->n_cols * sizeof(char *));
                if (vals == NULL)
                        goto oom;
                p->vals = vals;
                p->cap = cap;
        }
        for (i = 0; i < p->n_cols; i++) {
                char **v = &p->vals[p->n * p->n_cols + i];
                *v = row[i] != NULL ? strdup(row[i]) : NULL;
                if (row[i] != NULL && *v == NULL) {
                        while (i-- > 0)
                                free(p->vals[p->n * p->n_cols + i]);
                        goto oom;
                }
        }
        p->n++;
        return 0;
oom:
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
}

/* Runs sql with one text[] parameter per column of p (the rows gathered),
 * then empties p. */
static int pending_flush(pending_t *p, zz_store_t *store, const char *sql,
                         char sqlstate[6], char *errstr, size_t errstr_size)
{
        PGresult *res;

        if (p->n == 0)
                return 0;
        res = zz_pg_query_rows(zz_store_conn(store), sql,
                               (const char *const *)p->vals, p->n,
                               (int)p->n_cols, sqlstate, errstr, errstr_size);
        pending_clear(p);
        if (res == NULL)
                return -1;
        PQclear(res);
        return 0;
}

static int write_decision(zz_subsidy_t *s, zz_store_t *store,
                          const outcome_t *o, int revision, const char *body,
                          char sqlstate[6], char *errstr, size_t errstr_size)
{
        char year[16], rev[16], contrib[24], sub[24], due[24], rfen[24], at[24];
        const char *params[DEC_COLS];

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
        return pending_add(&s->pending, params, errstr, errstr_size);
}

/* The decisions and their history rows in one statement, $n the text[]
 * of column n (write_decision): the current decision per person-year is
 * upserted, every revision is appended. */
static const char SQL_WRITE_DECISIONS[] =
    "WITH u AS (\n"
    "    SELECT c1, c2::int AS c2, c3::int AS c3, c4, c5, c6::boolean AS c6, c7::bigint AS c7, c8::bigint AS c8, c9::bigint AS c9, c10, c11::bigint AS c11, c12, c13::bigint AS c13, c14, c15\n"
    "    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[]) AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15)\n"
    "), h AS (\n"
    "    INSERT INTO zizhu.decision_history (person_id, year, revision, decided_at, source_event_id, body)\n"
    "    SELECT c1, c2, c3, c13, c14, c15\n"
    "    FROM u\n"
    ")\n"
    "INSERT INTO zizhu.decision AS d (person_id, year, revision, policy_name, policy_version, eligible, contribution_fen, subsidy_fen, individual_due_fen, recon_status, recon_fen, region, decided_at, source_event_id, body)\n"
    "SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15\n"
    "FROM u\n"
    "ON CONFLICT (person_id, year)\n"
    "DO UPDATE SET revision = EXCLUDED.revision, policy_name = EXCLUDED.policy_name, policy_version = EXCLUDED.policy_version, eligible = EXCLUDED.eligible, contribution_fen = EXCLUDED.contribution_fen, subsidy_fen = EXCLUDED.subsidy_fen, individual_due_fen = EXCLUDED.individual_due_fen, recon_status = EXCLUDED.recon_status, recon_fen = EXCLUDED.recon_fen, region = EXCLUDED.region, decided_at = EXCLUDED.decided_at, source_event_id = EXCLUDED.source_event_id, body = EXCLUDED.body";

/* The findings gathered by finding_put, $n the text[] of column n. A batch
 * decides each (kind, subject, year) at most once, so no row meets
 * itself. */
static const char SQL_WRITE_FINDINGS[] =
    "INSERT INTO zizhu.finding AS f (kind, subject, year, person_id, policy_name, policy_version, active, detail, region, decided_at, source_event_id)\n"
    "SELECT c1, c2, c3::int, c4, c5, c6, c7::boolean, c8, c9, c10::bigint, c11\n"
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11)\n"
    "ON CONFLICT (kind, subject, year)\n"
    "DO UPDATE SET person_id = EXCLUDED.person_id, policy_name = EXCLUDED.policy_name, policy_version = EXCLUDED.policy_version, active = EXCLUDED.active, detail = EXCLUDED.detail, region = EXCLUDED.region, decided_at = EXCLUDED.decided_at, source_event_id = EXCLUDED.source_event_id";

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
                if (zz_pg_num(er, r, ZZ_CASEFOLD_E_YEAR) == year)
                        zz_casefold_source_consider(
                            &o.source,
                            zz_ts_from_cst_date(
                                zz_pg_date(er, r, ZZ_CASEFOLD_E_REGISTERED)),
                            PQgetvalue(er, r, ZZ_CASEFOLD_E_EVENT));
        for (r = psp.begin; r < psp.end; r++)
                if (zz_pg_num(pr, r, ZZ_CASEFOLD_P_YEAR) == year)
                        zz_casefold_source_consider(
                            &o.source, zz_pg_num(pr, r, ZZ_CASEFOLD_P_PAID_AT),
                            PQgetvalue(pr, r, ZZ_CASEFOLD_P_EVENT));
        best_e = zz_casefold_enrollment(zz_pg_rows(er), esp, year);
        best_p = zz_casefold_payment(zz_pg_rows(pr), psp, year);
        pol = zz_casefold_policy(
            (const zz_policy_t *const *)s->policies, s->n_policies, year, p,
            best_e >= 0 ? PQgetvalue(er, best_e, ZZ_CASEFOLD_E_REGION) : NULL);
        if (pol == NULL || o.source.event_id == NULL)
                return 0; /* no locality of ours decides this year */

        zz_casefold_case(&c, p, year, zz_pg_rows(er), best_e, zz_pg_rows(pr),
                         best_p);
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
                if (zz_pg_num(dr, r, D_YEAR) == year)
                        old_row = r;
        if (old_row >= 0 &&
            strcmp(PQgetvalue(dr, old_row, D_BODY), body) == 0) {
                free(body);
                return 0;
        }
        if (old_row >= 0)
                revision = (int)zz_pg_num(dr, old_row, D_REVISION) + 1;
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

/* ------------------------------------------------------------------ */
/* Findings: HOUSEHOLD_TIER_MISMATCH and RECORDS_IN_CONFLICT           */

#define FINDING_HOUSEHOLD "HOUSEHOLD_TIER_MISMATCH"
#define FINDING_CONFLICT  "RECORDS_IN_CONFLICT"
#define DETAIL_MAX        512

/* Columns of the stored-finding query. */
enum { F_SUBJECT, F_YEAR, F_ACTIVE, F_DETAIL, F_PERSON, F_POLICY, F_VERSION };

/* A finding as evaluated now. */
typedef struct finding_s {
        const char *kind;
        const char *subject;
        int year;
        const char *person_id; /* key of its reconciliation messages */
        const char *household; /* NULL for a person's finding */
        const char *policy_name;
        const char *policy_version;
        int active;
        const char *detail;
        const char *region;
        zz_casefold_source_t source;
} finding_t;

/* The row of res (a stored-finding query) for subject and year, or -1. */
static int finding_row(const PGresult *res, const char *subject, int year)
{
        int r;

        for (r = 0; res != NULL && r < PQntuples(res); r++)
                if (zz_pg_num(res, r, F_YEAR) == year &&
                    strcmp(PQgetvalue(res, r, F_SUBJECT), subject) == 0)
                        return r;
        return -1;
}

static int emit_finding(zz_subsidy_t *s, zz_store_t *store, const finding_t *f,
                        char *errstr, size_t errstr_size)
{
        recon_msg_t m;
        const char *status = f->active ? f->kind : "OK";
        char text[1024], id[33];

        snprintf(text, sizeof(text), "%s|%s|%d|%d|%s|%s|%s", f->kind,
                 f->subject, f->year, f->active, f->policy_version,
                 f->source.event_id, f->detail);
        zz_avro_content_id(text, id);
        m.id = id;
        m.person_id = f->person_id;
        m.year = f->year;
        m.household = f->household;
        m.status = status;
        m.fen = 0;
        m.route = "NONE";
        m.payer = NULL;
        m.region = f->region;
        m.policy_version = f->policy_version;
        m.detail = f->detail;
        m.decided_at = (long long)f->source.at;
        m.source_event_id = f->source.event_id;
        return append_recon(s, store, &m, errstr, errstr_size);
}

/* Stores f when it differs from row old of stored (-1: none) and publishes
 * it when it appeared, cleared, or changed its detail while active. An
 * inactive finding never stored is not stored. A cleared finding keeps the
 * message key, policy and region of the active one. */
static int finding_put(zz_subsidy_t *s, zz_store_t *store, finding_t *f,
                       const PGresult *stored, int old, char sqlstate[6],
                       char *errstr, size_t errstr_size)
{
        const char *params[FND_COLS];
        char year[16], at[32];
        int was_active =
            old >= 0 && strcmp(PQgetvalue(stored, old, F_ACTIVE), "t") == 0;

        if (old < 0 && !f->active)
                return 0;
        if (old >= 0 && was_active == f->active &&
            strcmp(PQgetvalue(stored, old, F_DETAIL), f->detail) == 0)
                return 0;
        if (!f->active && old >= 0) {
                f->person_id = PQgetvalue(stored, old, F_PERSON);
                f->policy_name = PQgetvalue(stored, old, F_POLICY);
                f->policy_version = PQgetvalue(stored, old, F_VERSION);
        }
        if (f->source.event_id == NULL)
                f->source.event_id = "";
        snprintf(year, sizeof(year), "%d", f->year);
        snprintf(at, sizeof(at), "%lld", (long long)f->source.at);
        params[0] = f->kind;
        params[1] = f->subject;
        params[2] = year;
        params[3] = f->person_id;
        params[4] = f->policy_name;
        params[5] = f->policy_version;
        params[6] = f->active ? "true" : "false";
        params[7] = f->detail;
        params[8] = f->region != NULL ? f->region : "";
        params[9] = at;
        params[10] = f->source.event_id;
        (void)sqlstate;
        if (pending_add(&s->findings, params, errstr, errstr_size) != 0)
                return -1;
        if (!f->active && !was_active)
                return 0;
        return emit_finding(s, store, f, errstr, errstr_size);
}

static int attrs_equal(const zz_identity_t *a, const zz_identity_t *b)
{
        size_t i, j;

        if (a->n_attrs != b->n_attrs)
                return 0;
        for (i = 0; i < a->n_attrs; i++) {
                for (j = 0; j < b->n_attrs; j++)
                        if (strcmp(a->attrs[i].key, b->attrs[j].key) == 0)
                                break;
                if (j == b->n_attrs ||
                    strcmp(a->attrs[i].value, b->attrs[j].value) != 0)
                        return 0;
        }
        return 1;
}

static int valid_on(const zz_identity_t *id, zz_date_t day)
{
        return id->action != ZZ_ACTION_REVOKE && id->valid_from <= day &&
               (id->valid_to == ZZ_DATE_NONE || id->valid_to >= day);
}

/* 1 when dept reported a death among identity rows isp of ir. */
static int reported_death(const PGresult *ir, zz_casefold_span_t isp,
                          const char *dept)
{
        int r;

        for (r = isp.begin; r < isp.end; r++)
                if (strcmp(PQgetvalue(ir, r, ZZ_CASEFOLD_I_ACTION),
                           "DECEASED") == 0 &&
                    strcmp(PQgetvalue(ir, r, ZZ_CASEFOLD_I_DEPT), dept) == 0)
                        return 1;
        return 0;
}

/* RECORDS_IN_CONFLICT of one person-year decided by a policy of ours (see
 * subsidy.h for the two rules). stored: the person's stored findings. */
static int conflicts_year(zz_subsidy_t *s, zz_store_t *store,
                          const zz_casefold_person_t *p, int year,
                          const PGresult *ir, zz_casefold_span_t isp,
                          const PGresult *er, zz_casefold_span_t esp,
                          const PGresult *stored, char sqlstate[6],
                          char *errstr, size_t errstr_size)
{
        const zz_policy_t *pol;
        int best_e = zz_casefold_enrollment(zz_pg_rows(er), esp, year);
        const char *enroll_region =
            best_e >= 0 ? PQgetvalue(er, best_e, ZZ_CASEFOLD_E_REGION) : NULL;
        zz_date_t day, wfrom, wto;
        char detail[DETAIL_MAX] = "";
        size_t i, j, len = 0;
        const char *region = enroll_region;
        finding_t f;

        pol = zz_casefold_policy((const zz_policy_t *const *)s->policies,
                                 s->n_policies, year, p, enroll_region);
        if (pol == NULL)
                return 0;
        zz_policy_window(pol, &wfrom, &wto);
        day = best_e >= 0 ? zz_pg_date(er, best_e, ZZ_CASEFOLD_E_REGISTERED)
                          : wto;
        /* (a) a record of another department starting after the death */
        for (i = 0; p->deceased_on != ZZ_DATE_NONE && i < p->n_identities;
             i++) {
                const zz_identity_t *id = &p->identities[i];

                if (id->action == ZZ_ACTION_REVOKE ||
                    id->valid_from <= p->deceased_on ||
                    reported_death(ir, isp, p->refs[i].department))
                        continue;
                if (region == NULL)
                        region = id->approving_region;
                if (len < sizeof(detail))
                        len += (size_t)snprintf(
                            detail + len, sizeof(detail) - len,
                            "%s%s %s record starts after the reported "
                            "death date",
                            len ? "; " : "", p->refs[i].department,
                            id->category);
        }
        /* (b) two departments, one category, different attributes, both
         * valid on the identity day */
        for (i = 0; day != ZZ_DATE_NONE && i < p->n_identities; i++)
                for (j = i + 1; j < p->n_identities; j++) {
                        const zz_identity_t *a = &p->identities[i],
                                            *b = &p->identities[j];

                        if (strcmp(a->category, b->category) != 0 ||
                            strcmp(p->refs[i].department,
                                   p->refs[j].department) == 0 ||
                            !valid_on(a, day) || !valid_on(b, day) ||
                            attrs_equal(a, b))
                                continue;
                        if (region == NULL)
                                region = a->approving_region;
                        if (len < sizeof(detail))
                                len += (size_t)snprintf(
                                    detail + len, sizeof(detail) - len,
                                    "%s%s and %s disagree on %s attributes",
                                    len ? "; " : "", p->refs[i].department,
                                    p->refs[j].department, a->category);
                }
        memset(&f, 0, sizeof(f));
        f.kind = FINDING_CONFLICT;
        f.subject = p->person_id;
        f.year = year;
        f.person_id = p->person_id;
        f.policy_name = zz_policy_name(pol);
        f.policy_version = zz_policy_version(pol);
        f.active = len > 0;
        f.detail = len > 0 ? detail : "records no longer in conflict";
        f.region = region != NULL ? region : "";
        f.source = p->identity_source;
        return finding_put(s, store, &f, stored,
                           finding_row(stored, p->person_id, year), sqlstate,
                           errstr, errstr_size);
}

/* A member's current enrollment of a year (see subsidy.h). */
typedef struct member_s {
        const char *household;
        int year;
        const char *person_id;
        int tier;
        const char *region;
        zz_casefold_source_t source;
} member_t;

static int cmp_member(const void *a, const void *b)
{
        const member_t *x = a, *y = b;
        int c = strcmp(x->household, y->household);

        if (c != 0)
                return c;
        if (x->year != y->year)
                return (x->year > y->year) - (x->year < y->year);
        return strcmp(x->person_id, y->person_id);
}

/* A household-year some person of the batch has an enrollment event in. */
typedef struct hhyear_s {
        const char *household;
        int year;
} hhyear_t;

static int cmp_hhyear(const void *a, const void *b)
{
        const hhyear_t *x = a, *y = b;
        int c = strcmp(x->household, y->household);

        if (c != 0)
                return c;
        return (x->year > y->year) - (x->year < y->year);
}

static const char SQL_LOCK_HOUSEHOLDS[] =
    "SELECT pg_advisory_xact_lock(1515870810, k)\n"
    "FROM (SELECT DISTINCT hashtext(h) AS k FROM unnest($1::text[]) AS u(h) ORDER BY 1) s";

/* The enrollment facts of every member of the household-years ($1
 * households, $2 years). */
static const char SQL_LOAD_MEMBERS[] =
    "SELECT person_id, event_id, department, dept_record_id, action, household_id, year, tier, enrollment_class, kind, registered_on - DATE '1970-01-01', region, unit\n"
    "FROM zizhu.enrollment_fact\n"
    "WHERE person_id IN (SELECT m.person_id FROM zizhu.enrollment_fact m WHERE (m.household_id, m.year) IN (SELECT h, y FROM unnest($1::text[], $2::int[]) AS u(h, y)))\n"
    "ORDER BY person_id COLLATE \"C\", event_id COLLATE \"C\"";

/* The stored findings of the household-years: one index probe per
 * household-year (a plain join hashed the whole finding table, 4.5 ms a
 * batch at 12 000 findings, growing with it); OFFSET 0 keeps the planner
 * from flattening the probe into one. */
static const char SQL_LOAD_HOUSEHOLD_FINDINGS[] =
    "SELECT f.subject, f.year, f.active, f.detail, f.person_id, f.policy_name, f.policy_version\n"
    "FROM unnest($1::text[], $2::int[]) AS u(subject, year)\n"
    "CROSS JOIN LATERAL (SELECT * FROM zizhu.finding x WHERE x.kind = 'HOUSEHOLD_TIER_MISMATCH' AND x.subject = u.subject AND x.year = u.year OFFSET 0) f";

/* The household-years of the enrollment rows er (n_er > 0 of them),
 * distinct and sorted, in *hy (malloc'd, households borrowed from er),
 * and the two text[] parameters of the statements above in arrays
 * (malloc'd). -1 when out of memory (the caller frees what is set). */
static int household_years(const PGresult *er, int n_er, hhyear_t **hy,
                           size_t *n_hy, char *arrays[2])
{
        const char **hh_col = malloc((size_t)n_er * sizeof(*hh_col));
        const char **year_col = malloc((size_t)n_er * sizeof(*year_col));
        char *year_buf = malloc((size_t)n_er * 16);
        size_t h, n = 0;
        int r, rc = -1;

        *hy = malloc((size_t)n_er * sizeof(**hy));
        if (*hy == NULL || hh_col == NULL || year_col == NULL ||
            year_buf == NULL)
                goto out;
        for (r = 0; r < n_er; r++) {
                (*hy)[r].household = PQgetvalue(er, r, ZZ_CASEFOLD_E_HOUSEHOLD);
                (*hy)[r].year = (int)zz_pg_num(er, r, ZZ_CASEFOLD_E_YEAR);
        }
        qsort(*hy, (size_t)n_er, sizeof(**hy), cmp_hhyear);
        for (h = 0; h < (size_t)n_er; h++)
                if (n == 0 || cmp_hhyear(&(*hy)[n - 1], &(*hy)[h]) != 0)
                        (*hy)[n++] = (*hy)[h];
        for (h = 0; h < n; h++) {
                snprintf(year_buf + 16 * h, 16, "%d", (*hy)[h].year);
                hh_col[h] = (*hy)[h].household;
                year_col[h] = year_buf + 16 * h;
        }
        *n_hy = n;
        arrays[0] = zz_pg_text_array(hh_col, n);
        arrays[1] = zz_pg_text_array(year_col, n);
        if (arrays[0] != NULL && arrays[1] != NULL)
                rc = 0;
out:
        free(hh_col);
        free(year_col);
        free(year_buf);
        return rc;
}

/* Member m from row best of mr, its current enrollment of year. */
static void member_from_row(member_t *m, const PGresult *mr, int best, int year)
{
        m->household = PQgetvalue(mr, best, ZZ_CASEFOLD_E_HOUSEHOLD);
        m->year = year;
        m->person_id = PQgetvalue(mr, best, ZZ_CASEFOLD_E_PERSON);
        m->tier = (int)zz_pg_num(mr, best, ZZ_CASEFOLD_E_TIER);
        m->region = PQgetvalue(mr, best, ZZ_CASEFOLD_E_REGION);
        m->source.at =
            zz_ts_from_cst_date(zz_pg_date(mr, best, ZZ_CASEFOLD_E_REGISTERED));
        m->source.event_id = PQgetvalue(mr, best, ZZ_CASEFOLD_E_EVENT);
}

/* Every member's current enrollment, per year it has events in, from the
 * rows mr (ordered by person), sorted by household, year and person, in
 * *members (malloc'd; NULL when none). -1 when out of memory. */
static int gather_members(const PGresult *mr, member_t **members,
                          size_t *n_members)
{
        size_t n = 0, cap = 0, k;
        int cursor = 0, n_rows = PQntuples(mr), r;

        *members = NULL;
        while (cursor < n_rows) {
                zz_casefold_span_t sp = next_span(
                    mr, &cursor, PQgetvalue(mr, cursor, ZZ_CASEFOLD_E_PERSON));
                int years[MAX_YEARS];
                size_t n_years = 0;

                for (r = sp.begin; r < sp.end; r++)
                        year_add(years, &n_years,
                                 (int)zz_pg_num(mr, r, ZZ_CASEFOLD_E_YEAR));
                for (k = 0; k < n_years; k++) {
                        int best = zz_casefold_enrollment(zz_pg_rows(mr), sp,
                                                          years[k]);

                        if (best < 0)
                                continue;
                        if (n == cap) {
                                size_t nc = cap ? cap * 2 : 64;
                                member_t *nm =
                                    realloc(*members, nc * sizeof(*nm));

                                if (nm == NULL)
                                        return -1;
                                *members = nm;
                                cap = nc;
                        }
                        member_from_row(&(*members)[n++], mr, best, years[k]);
                }
        }
        if (n > 0)
                qsort(*members, n, sizeof(**members), cmp_member);
        *n_members = n;
        return 0;
}

/* HOUSEHOLD_TIER_MISMATCH of the household-year hy from its members: the
 * members from *k on (sorted as gather_members sorts them; *k moves past
 * hy's) and its stored finding in fr. */
static int household_year(zz_subsidy_t *s, zz_store_t *store,
                          const hhyear_t *hy, const member_t *members,
                          size_t n_members, size_t *k, const PGresult *fr,
                          char sqlstate[6], char *errstr, size_t errstr_size)
{
        const char *hh = hy->household;
        int year = hy->year;
        const zz_policy_t *pol = NULL;
        const member_t *first = NULL;
        char detail[DETAIL_MAX];
        size_t len = 0, shown = 0, counted = 0, i = *k;
        int tiers_differ = 0;
        finding_t f;

        memset(&f, 0, sizeof(f));
        while (i < n_members && (strcmp(members[i].household, hh) < 0 ||
                                 (strcmp(members[i].household, hh) == 0 &&
                                  members[i].year < year)))
                i++;
        detail[0] = '\0';
        for (; i < n_members && members[i].year == year &&
               strcmp(members[i].household, hh) == 0;
             i++) {
                const member_t *m = &members[i];
                const zz_policy_t *mp =
                    zz_subsidy_policy_for(s, year, m->region);
                char masked[19];

                if (mp == NULL || !zz_policy_household_same_tier(mp))
                        continue;
                if (first == NULL) {
                        first = m;
                        pol = mp;
                } else if (m->tier != first->tier) {
                        tiers_differ = 1;
                }
                counted++;
                zz_casefold_source_consider(&f.source, m->source.at,
                                            m->source.event_id);
                zz_idno_mask(m->person_id, strlen(m->person_id), masked);
                if (shown < 8 && len < sizeof(detail)) {
                        len += (size_t)snprintf(
                            detail + len, sizeof(detail) - len, "%s%s tier %d",
                            shown ? ", " : "", masked, m->tier);
                        shown++;
                }
        }
        *k = i;
        if (first == NULL) {
                /* no member under a one-tier policy any more */
                if (finding_row(fr, hh, year) < 0)
                        return 0;
                snprintf(detail, sizeof(detail),
                         "no member enrolled under a one-tier policy");
        }
        if (counted > shown && len < sizeof(detail))
                snprintf(detail + len, sizeof(detail) - len, " and %zu more",
                         counted - shown);
        f.kind = FINDING_HOUSEHOLD;
        f.subject = hh;
        f.year = year;
        f.household = hh;
        if (first != NULL) {
                f.person_id = first->person_id;
                f.policy_name = zz_policy_name(pol);
                f.policy_version = zz_policy_version(pol);
                f.region = first->region;
        }
        f.active = tiers_differ;
        f.detail = detail;
        return finding_put(s, store, &f, fr, finding_row(fr, hh, year),
                           sqlstate, errstr, errstr_size);
}

/* Re-evaluates HOUSEHOLD_TIER_MISMATCH for every household-year any of the
 * batch's persons has an enrollment event in: the rows of er, their
 * enrollment facts (read under their person locks, so still current). The
 * households are locked first (advisory, sorted; taken after the person
 * locks, so instances cannot deadlock), so two batches changing members
 * of one household in different partitions see each other's facts. */
static int households(zz_subsidy_t *s, zz_store_t *store, const PGresult *er,
                      char sqlstate[6], char *errstr, size_t errstr_size)
{
        PGconn *conn = zz_store_conn(store);
        PGresult *mr = NULL, *fr = NULL;
        member_t *members = NULL;
        hhyear_t *hy = NULL;
        char *arrays[2] = {NULL, NULL};
        size_t n_members = 0, k = 0, n_hy = 0, h;
        int rc = -1, n_er = PQntuples(er);

        if (n_er == 0)
                return 0;
        if (household_years(er, n_er, &hy, &n_hy, arrays) != 0)
                goto oom;
        if (zz_pg_command(conn, SQL_LOCK_HOUSEHOLDS, 1,
                          (const char *const *)arrays, sqlstate, errstr,
                          errstr_size) != 0)
                goto out;
        mr = zz_pg_query(conn, SQL_LOAD_MEMBERS, 2, (const char *const *)arrays,
                         sqlstate, errstr, errstr_size);
        if (mr != NULL)
                fr = zz_pg_query(conn, SQL_LOAD_HOUSEHOLD_FINDINGS, 2,
                                 (const char *const *)arrays, sqlstate, errstr,
                                 errstr_size);
        if (fr == NULL)
                goto out;
        if (gather_members(mr, &members, &n_members) != 0)
                goto oom;
        for (h = 0; h < n_hy; h++)
                if (household_year(s, store, &hy[h], members, n_members, &k, fr,
                                   sqlstate, errstr, errstr_size) != 0)
                        goto out;
        rc = 0;
        goto out;
oom:
        snprintf(errstr, errstr_size, "out of memory");
out:
        free(members);
        free(hy);
        free(arrays[0]);
        free(arrays[1]);
        PQclear(mr);
        PQclear(fr);
        return rc;
}

/* ------------------------------------------------------------------ */
/* A batch                                                             */

/* Each lookup joins the batch's persons ($1, a text[]) to the index (one
 * probe each): planning "person_id = ANY($1)" estimated every element of
 * the array (1 ms a statement), and a cached plan of it could keep a
 * sequential scan as the table grew. Every result is ordered by person
 * ("C" collation), as next_span reads it. */
static const char SQL_LOAD_IDENTITY_FACTS[] =
    "SELECT person_id, event_id, department, dept_record_id, action, category, attrs::text, valid_from - DATE '1970-01-01', valid_to - DATE '1970-01-01', approving_region, residence_region, reported_at, deceased_on - DATE '1970-01-01'\n"
    "FROM unnest($1::text[]) AS u(p)\n"
    "JOIN zizhu.identity_fact f ON f.person_id = u.p\n"
    "ORDER BY person_id COLLATE \"C\", department COLLATE \"C\", dept_record_id COLLATE \"C\", reported_at, event_id COLLATE \"C\"";

static const char SQL_LOAD_ENROLLMENT_FACTS[] =
    "SELECT person_id, event_id, department, dept_record_id, action, household_id, year, tier, enrollment_class, kind, registered_on - DATE '1970-01-01', region, unit\n"
    "FROM unnest($1::text[]) AS u(p)\n"
    "JOIN zizhu.enrollment_fact f ON f.person_id = u.p\n"
    "ORDER BY person_id COLLATE \"C\", event_id COLLATE \"C\"";

static const char SQL_LOAD_PAYMENT_FACTS[] =
    "SELECT person_id, event_id, year, contribution_fen, subsidy_applied_fen, paid_fen, paid_at\n"
    "FROM unnest($1::text[]) AS u(p)\n"
    "JOIN zizhu.payment_fact f ON f.person_id = u.p\n"
    "ORDER BY person_id COLLATE \"C\", event_id COLLATE \"C\"";

static const char SQL_LOAD_DECISIONS[] =
    "SELECT person_id, year, revision, recon_status, body\n"
    "FROM unnest($1::text[]) AS u(p)\n"
    "JOIN zizhu.decision f ON f.person_id = u.p\n"
    "ORDER BY person_id COLLATE \"C\", year";

static const char SQL_LOAD_CONFLICT_FINDINGS[] =
    "SELECT subject, year, active, detail, person_id, policy_name, policy_version\n"
    "FROM unnest($1::text[]) AS u(p)\n"
    "JOIN zizhu.finding f ON f.kind = 'RECORDS_IN_CONFLICT' AND f.subject = u.p";

/* What the lookups return for a batch's persons, and where each person's
 * rows begin (next_span cursors). */
typedef struct loaded_s {
        PGresult *ir, *er, *pr, *dr, *fr;
        int ic, ec, pc, dc;
} loaded_t;

/* Runs the lookups for the persons in array (a text[] literal); on an
 * error the results so far stay in l for loaded_clear. */
static int load_persons(PGconn *conn, const char *array, loaded_t *l,
                        char sqlstate[6], char *errstr, size_t errstr_size)
{
        const char *params[1] = {array};
        const char *const sql[5] = {SQL_LOAD_IDENTITY_FACTS,
                                    SQL_LOAD_ENROLLMENT_FACTS,
                                    SQL_LOAD_PAYMENT_FACTS, SQL_LOAD_DECISIONS,
                                    SQL_LOAD_CONFLICT_FINDINGS};
        PGresult **res[5] = {&l->ir, &l->er, &l->pr, &l->dr, &l->fr};
        int i;

        memset(l, 0, sizeof(*l));
        for (i = 0; i < 5; i++) {
                *res[i] = zz_pg_query(conn, sql[i], 1, params, sqlstate, errstr,
                                      errstr_size);
                if (*res[i] == NULL)
                        return -1;
        }
        return 0;
}

static void loaded_clear(loaded_t *l)
{
        PQclear(l->ir);
        PQclear(l->er);
        PQclear(l->pr);
        PQclear(l->dr);
        PQclear(l->fr);
}

/* persons_in sorted (strcmp) without duplicates, in a malloc'd array of
 * borrowed pointers; *m receives how many. NULL when out of memory. */
static const char **unique_persons(const char *const *persons_in, size_t n,
                                   size_t *m)
{
        const char **persons = malloc(n * sizeof(*persons));
        size_t i;

        *m = 0;
        if (persons == NULL)
                return NULL;
        memcpy(persons, persons_in, n * sizeof(*persons));
        qsort(persons, n, sizeof(*persons), cmp_str);
        for (i = 0; i < n; i++)
                if (*m == 0 || strcmp(persons[*m - 1], persons[i]) != 0)
                        persons[(*m)++] = persons[i];
        return persons;
}

/* The years to decide for person p, sorted: those of its enrollment and
 * payment facts, and the year of every policy in whose jurisdiction one of
 * its identities lies. Returns how many (at most MAX_YEARS). */
static size_t person_years(const zz_subsidy_t *s, const zz_casefold_person_t *p,
                           const loaded_t *l, zz_casefold_span_t esp,
                           zz_casefold_span_t psp, int years[MAX_YEARS])
{
        size_t n_years = 0, k, j;
        int r;

        for (r = esp.begin; r < esp.end; r++)
                year_add(years, &n_years,
                         (int)zz_pg_num(l->er, r, ZZ_CASEFOLD_E_YEAR));
        for (r = psp.begin; r < psp.end; r++)
                year_add(years, &n_years,
                         (int)zz_pg_num(l->pr, r, ZZ_CASEFOLD_P_YEAR));
        for (k = 0; k < s->n_policies; k++)
                for (j = 0; j < p->n_identities; j++)
                        if (zz_policy_in_jurisdiction(
                                s->policies[k],
                                p->identities[j].approving_region) ||
                            (p->refs[j].residence_region != NULL &&
                             zz_policy_in_jurisdiction(
                                 s->policies[k],
                                 p->refs[j].residence_region))) {
                                year_add(years, &n_years,
                                         zz_policy_year(s->policies[k]));
                                break;
                        }
        qsort(years, n_years, sizeof(int), cmp_int);
        return n_years;
}

/* Folds one person's rows of l into a case per year, decides each and
 * evaluates its RECORDS_IN_CONFLICT; the persons come in l's order. */
static int redecide_person(zz_subsidy_t *s, zz_store_t *store,
                           const char *person, loaded_t *l, size_t *changed,
                           char sqlstate[6], char *errstr, size_t errstr_size)
{
        zz_casefold_person_t p;
        zz_casefold_span_t isp, esp, psp, dsp;
        int years[MAX_YEARS];
        size_t n_years, k;
        int rc = 0;

        zz_arena_reset(s->arena);
        memset(&p, 0, sizeof(p));
        p.person_id = person;
        isp = next_span(l->ir, &l->ic, person);
        esp = next_span(l->er, &l->ec, person);
        psp = next_span(l->pr, &l->pc, person);
        dsp = next_span(l->dr, &l->dc, person);
        if (zz_casefold_identities(s->arena, zz_pg_rows(l->ir), isp, &p) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        n_years = person_years(s, &p, l, esp, psp, years);
        for (k = 0; rc == 0 && k < n_years; k++) {
                rc = decide_year(s, store, &p, years[k], l->er, esp, l->pr, psp,
                                 l->dr, dsp, changed, sqlstate, errstr,
                                 errstr_size);
                if (rc == 0)
                        rc = conflicts_year(s, store, &p, years[k], l->ir, isp,
                                            l->er, esp, l->fr, sqlstate, errstr,
                                            errstr_size);
        }
        return rc;
}

int zz_subsidy_redecide(zz_subsidy_t *s, zz_store_t *store,
                        const char *const *persons_in, size_t n,
                        size_t *changed, char sqlstate[6], char *errstr,
                        size_t errstr_size)
{
        const char **persons;
        char *array;
        loaded_t l;
        size_t i, m;
        int rc;

        if (sqlstate != NULL)
                sqlstate[0] = '\0';
        if (n == 0)
                return 0;
        persons = unique_persons(persons_in, n, &m);
        array = persons != NULL ? zz_pg_text_array(persons, m) : NULL;
        if (array == NULL) {
                free(persons);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        rc = load_persons(zz_store_conn(store), array, &l, sqlstate, errstr,
                          errstr_size);
        for (i = 0; rc == 0 && i < m; i++)
                rc = redecide_person(s, store, persons[i], &l, changed,
                                     sqlstate, errstr, errstr_size);
        if (rc == 0)
                rc = pending_flush(&s->pending, store, SQL_WRITE_DECISIONS,
                                   sqlstate, errstr, errstr_size);
        if (rc == 0)
                rc = households(s, store, l.er, sqlstate, errstr, errstr_size);
        if (rc == 0)
                rc = pending_flush(&s->findings, store, SQL_WRITE_FINDINGS,
                                   sqlstate, errstr, errstr_size);
        pending_clear(&s->pending);
        pending_clear(&s->findings);
        loaded_clear(&l);
        free(array);
        free(persons);
        zz_arena_reset(s->arena);
        return rc;
}
