/*
 * policy_json.c — cases in, decisions out, as JSON objects (jansson): the
 * stable contract of `zizhu policy eval` (CONTRACT.md).
 *
 * Input is checked field by field and strictly: an unknown field, a date
 * that is not a date, an ID number that fails its check character, an
 * attribute a category does not carry — each answers "<field>: <problem>"
 * rather than a guess, since a silently ignored typo ("valid_too") would
 * change a person's subsidy. No message ever contains an ID number.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "zizhu/idno.h"
#include "zizhu/policy_json.h"
#include "policy_int.h"

/* A case line is about 1 KB (the longest in tests/data is 1058 bytes);
 * a longer one is refused before Jansson reads it. */

struct jc {
        zz_arena_t *a;
        char *errstr;
        size_t errstr_size;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int
jfail(struct jc *j, const char *f, ...)
{
        va_list ap;

        if (j->errstr != NULL && j->errstr_size > 0) {
                va_start(ap, f);
                vsnprintf(j->errstr, j->errstr_size, f, ap);
                va_end(ap);
        }
        return -1;
}

static int check_keys(struct jc *j, const json_t *obj, const char *path,
                      const char *const *allowed)
{
        const char *key;
        json_t *v;
        size_t i;

        json_object_foreach((json_t *)obj, key, v)
        {
                int ok = 0;

                (void)v;
                for (i = 0; allowed[i] != NULL; i++) {
                        if (strcmp(allowed[i], key) == 0)
                                ok = 1;
                }
                if (!ok)
                        return jfail(j, "%s%s%s: unknown field", path,
                                     path[0] ? "." : "", key);
        }
        return 0;
}

/* The value of key in obj into *v: 1 when there is one (not null), 0
 * when there is none and it is not required, -1 ("missing") when a
 * required one is absent. */
static int jfield(struct jc *j, const json_t *obj, const char *key,
                  const char *path, int req, json_t **v)
{
        *v = json_object_get(obj, key);
        if (*v != NULL && !json_is_null(*v))
                return 1;
        if (req)
                return jfail(j, "%s%s%s: missing", path, path[0] ? "." : "",
                             key);
        return 0;
}

/* A string field; *out NULL when absent or null and !req. */
static int jstr(struct jc *j, const json_t *obj, const char *key,
                const char *path, int req, const char **out)
{
        json_t *v;
        int rc;

        *out = NULL;
        rc = jfield(j, obj, key, path, req, &v);
        if (rc <= 0)
                return rc;
        if (!json_is_string(v))
                return jfail(j, "%s.%s: must be a string", path, key);
        *out =
            zz_arena_strndup(j->a, json_string_value(v), json_string_length(v));
        if (*out == NULL)
                return jfail(j, "%s.%s: out of memory", path, key);
        return 0;
}

static int jregion(struct jc *j, const char *s, const char *path,
                   const char *key)
{
        size_t i, n;

        if (s == NULL)
                return 0;
        n = strlen(s);
        for (i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return jfail(j, "%s.%s: a region code is digits", path,
                                     key);
        }
        if (n < 2 || n > 12)
                return jfail(j, "%s.%s: a region code has 2 to 12 digits", path,
                             key);
        return 0;
}

static int jdate(struct jc *j, const json_t *obj, const char *key,
                 const char *path, int req, zz_date_t *out)
{
        json_t *v;
        int rc;

        *out = ZZ_DATE_NONE;
        rc = jfield(j, obj, key, path, req, &v);
        if (rc <= 0)
                return rc;
        if (!json_is_string(v) ||
            zz_date_parse(json_string_value(v), json_string_length(v), out) !=
                0)
                return jfail(j, "%s%s%s: not a date (YYYY-MM-DD)", path,
                             path[0] ? "." : "", key);
        return 0;
}

static int jts(struct jc *j, const json_t *obj, const char *key,
               const char *path, int req, zz_ts_t *out, int *has)
{
        json_t *v;
        int rc;

        *out = 0;
        if (has != NULL)
                *has = 0;
        rc = jfield(j, obj, key, path, req, &v);
        if (rc <= 0)
                return rc;
        if (!json_is_string(v) ||
            zz_ts_parse(json_string_value(v), json_string_length(v), out) != 0)
                return jfail(j, "%s.%s: not an ISO 8601 date and time", path,
                             key);
        if (has != NULL)
                *has = 1;
        return 0;
}

static int jint(struct jc *j, const json_t *obj, const char *key,
                const char *path, int req, json_int_t min, json_int_t max,
                json_int_t dflt, json_int_t *out)
{
        json_t *v;
        int rc;

        *out = dflt;
        rc = jfield(j, obj, key, path, req, &v);
        if (rc <= 0)
                return rc;
        if (!json_is_integer(v))
                return jfail(j, "%s.%s: must be an integer", path, key);
        *out = json_integer_value(v);
        if (*out < min || *out > max)
                return jfail(j, "%s.%s: must be between %lld and %lld", path,
                             key, (long long)min, (long long)max);
        return 0;
}

/* One of words[]; *out its index, dflt when absent. */
static int jword(struct jc *j, const json_t *obj, const char *key,
                 const char *path, const char *const *words, int dflt, int *out)
{
        json_t *v;
        const char *s;
        int i, rc;

        *out = dflt;
        rc = jfield(j, obj, key, path, dflt < 0, &v);
        if (rc <= 0)
                return rc;
        if (!json_is_string(v))
                return jfail(j, "%s.%s: must be a string", path, key);
        s = json_string_value(v);
        for (i = 0; words[i] != NULL; i++) {
                if (strcmp(words[i], s) == 0) {
                        *out = i;
                        return 0;
                }
        }
        return jfail(j, "%s.%s: unknown value \"%.40s\"", path, key, s);
}

static int parse_attrs(struct jc *j, const json_t *v, const char *path,
                       const zz_vocab_cat_t *cat, zz_identity_t *id)
{
        zz_attr_t *attrs;
        const char *key;
        json_t *val;
        size_t n = 0;

        if (v == NULL || json_is_null(v))
                return 0;
        if (!json_is_object(v))
                return jfail(j, "%s.attrs: must be an object", path);
        attrs = zz_arena_calloc(j->a, json_object_size(v) + 1, sizeof(*attrs));
        if (attrs == NULL)
                return jfail(j, "%s.attrs: out of memory", path);
        json_object_foreach((json_t *)v, key, val)
        {
                const zz_vocab_attr_t *def = zz_vocab_attr(cat, key);
                char buf[32];
                const char *s;

                if (def == NULL)
                        return jfail(j, "%s.attrs.%s: not an attribute of %s",
                                     path, key, cat->code);
                if (json_is_string(val)) {
                        s = json_string_value(val);
                } else if (json_is_integer(val)) {
                        snprintf(buf, sizeof(buf), "%lld",
                                 (long long)json_integer_value(val));
                        s = buf;
                } else if (json_is_boolean(val)) {
                        s = json_is_true(val) ? "true" : "false";
                } else if (json_is_null(val)) {
                        continue;
                } else {
                        return jfail(j,
                                     "%s.attrs.%s: must be a string, an "
                                     "integer or a boolean",
                                     path, key);
                }
                if (!zz_vocab_attr_value_ok(def, s))
                        return jfail(j, "%s.attrs.%s: invalid value \"%.40s\"",
                                     path, key, s);
                attrs[n].key = zz_arena_strdup(j->a, key);
                attrs[n].value = zz_arena_strdup(j->a, s);
                if (attrs[n].key == NULL || attrs[n].value == NULL)
                        return jfail(j, "%s.attrs: out of memory", path);
                n++;
        }
        id->attrs = attrs;
        id->n_attrs = n;
        return 0;
}

static int parse_identity(struct jc *j, const json_t *v, size_t index,
                          zz_identity_t *id)
{
        static const char *const keys[] = {"category",    "attrs",
                                           "valid_from",  "valid_to",
                                           "reported_at", "approving_region",
                                           "action",      NULL};
        static const char *const actions[] = {"GRANT", "REVOKE", NULL};
        char path[48]; /* "identities[" SIZE_MAX "]" */
        const zz_vocab_cat_t *cat;
        int action;

        snprintf(path, sizeof(path), "identities[%zu]", index);
        if (!json_is_object(v))
                return jfail(j, "%s: must be an object", path);
        if (check_keys(j, v, path, keys) != 0 ||
            jstr(j, v, "category", path, 1, &id->category) != 0)
                return -1;
        cat = zz_vocab_cat(zz_vocab_cat_index(id->category));
        if (cat == NULL)
                return jfail(j, "%s.category: unknown category \"%.40s\"", path,
                             id->category);
        id->category = cat->code;
        if (parse_attrs(j, json_object_get(v, "attrs"), path, cat, id) != 0 ||
            jdate(j, v, "valid_from", path, 1, &id->valid_from) != 0 ||
            jdate(j, v, "valid_to", path, 0, &id->valid_to) != 0 ||
            jts(j, v, "reported_at", path, 0, &id->reported_at,
                &id->has_reported_at) != 0 ||
            jstr(j, v, "approving_region", path, 0, &id->approving_region) ||
            jregion(j, id->approving_region, path, "approving_region") ||
            jword(j, v, "action", path, actions, 0, &action) != 0)
                return -1;
        if (id->valid_to != ZZ_DATE_NONE && id->valid_to < id->valid_from)
                return jfail(j, "%s.valid_to: before valid_from", path);
        id->action = (zz_action_t)action;
        return 0;
}

static int parse_enrollment(struct jc *j, const json_t *v, zz_case_t *c)
{
        static const char *const keys[] = {
            "year",          "tier",   "class", "kind",
            "registered_on", "region", "unit",  NULL};
        zz_enrollment_t *e = &c->enrollment;
        json_int_t year, tier;
        int cls, kind;

        if (!json_is_object(v))
                return jfail(j, "enrollment: must be an object or null");
        if (check_keys(j, v, "enrollment", keys) != 0 ||
            jint(j, v, "year", "enrollment", 1, 1990, 2100, 0, &year) ||
            jint(j, v, "tier", "enrollment", 1, 1, ZZ_TIER_MAX, 1, &tier) ||
            jword(j, v, "class", "enrollment", zz_vocab_enroll_classes, 0,
                  &cls) ||
            jword(j, v, "kind", "enrollment", zz_vocab_enroll_kinds, 0,
                  &kind) ||
            jdate(j, v, "registered_on", "enrollment", 1, &e->registered_on) ||
            jstr(j, v, "region", "enrollment", 1, &e->region) ||
            jregion(j, e->region, "enrollment", "region") ||
            jstr(j, v, "unit", "enrollment", 0, &e->unit))
                return -1;
        e->year = (int)year;
        e->tier = (int)tier;
        e->enroll_class = (zz_enroll_class_t)cls;
        e->kind = (zz_enroll_kind_t)kind;
        c->has_enrollment = 1;
        return 0;
}

static int parse_payment(struct jc *j, const json_t *v, zz_case_t *c)
{
        static const char *const keys[] = {"paid_at", "contribution_fen",
                                           "subsidy_applied_fen", "paid_fen",
                                           NULL};
        zz_payment_t *p = &c->payment;
        json_int_t contrib, applied, paid;
        const json_int_t max = 100000000; /* a million yuan */

        if (!json_is_object(v))
                return jfail(j, "payment: must be an object or null");
        if (check_keys(j, v, "payment", keys) != 0 ||
            jts(j, v, "paid_at", "payment", 1, &p->paid_at, NULL) ||
            jint(j, v, "contribution_fen", "payment", 1, 0, max, 0, &contrib) ||
            jint(j, v, "subsidy_applied_fen", "payment", 1, 0, max, 0,
                 &applied) ||
            jint(j, v, "paid_fen", "payment", 1, 0, max, 0, &paid))
                return -1;
        if (contrib != applied + paid)
                return jfail(j, "payment: contribution_fen is not "
                                "subsidy_applied_fen + paid_fen");
        if (!c->has_enrollment)
                return jfail(j, "payment: a payment needs an enrollment");
        p->contribution_fen = contrib;
        p->subsidy_applied_fen = applied;
        p->paid_fen = paid;
        c->has_payment = 1;
        return 0;
}

static int parse_person(struct jc *j, const json_t *obj, zz_case_t *out)
{
        static const char *const pkeys[] = {"id", "region", "household", NULL};
        json_t *person = json_object_get(obj, "person");
        zz_idno_status_t st;

        if (person == NULL || !json_is_object(person))
                return jfail(j, "person: missing, or not an object");
        if (check_keys(j, person, "person", pkeys) != 0 ||
            jstr(j, person, "id", "person", 1, &out->person_id) != 0 ||
            jstr(j, person, "region", "person", 0, &out->region) != 0 ||
            jregion(j, out->region, "person", "region") != 0 ||
            jstr(j, person, "household", "person", 0, &out->household) != 0)
                return -1;
        st = zz_idno_validate(out->person_id, strlen(out->person_id));
        if (st != ZZ_IDNO_OK)
                return jfail(j, "person.id: %s", zz_idno_strerror(st));
        return 0;
}

static int parse_identities(struct jc *j, const json_t *v, zz_case_t *out)
{
        zz_identity_t *ids;
        size_t i, n;

        if (v == NULL || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return jfail(j, "identities: must be an array");
        n = json_array_size(v);
        ids = zz_arena_calloc(j->a, n + 1, sizeof(*ids));
        if (ids == NULL)
                return jfail(j, "identities: out of memory");
        for (i = 0; i < n; i++) {
                ids[i].valid_to = ZZ_DATE_NONE;
                if (parse_identity(j, json_array_get(v, i), i, &ids[i]) != 0)
                        return -1;
        }
        out->identities = ids;
        out->n_identities = n;
        return 0;
}

int zz_case_from_json_obj(const json_t *obj, zz_case_t *out,
                          const char **name_out, zz_arena_t *arena,
                          char *errstr, size_t errstr_size)
{
        static const char *const keys[] = {
            "case",       "person",  "identities", "deceased_on",
            "enrollment", "payment", NULL};
        struct jc jc = {arena, errstr, errstr_size}, *j = &jc;
        json_t *v;

        zz_case_init(out);
        if (name_out != NULL)
                *name_out = NULL;
        if (errstr != NULL && errstr_size > 0)
                errstr[0] = '\0';
        if (!json_is_object(obj))
                return jfail(j, "case: a case is a JSON object");
        v = json_object_get(obj, "case");
        if (v != NULL && !json_is_null(v)) {
                if (!json_is_string(v))
                        return jfail(j, "case: must be a string");
                out->name = zz_arena_strndup(arena, json_string_value(v),
                                             json_string_length(v));
                if (name_out != NULL)
                        *name_out = out->name;
        }
        if (check_keys(j, obj, "", keys) != 0 || parse_person(j, obj, out) ||
            parse_identities(j, json_object_get(obj, "identities"), out) ||
            jdate(j, obj, "deceased_on", "", 0, &out->deceased_on) != 0)
                return -1;
        v = json_object_get(obj, "enrollment");
        if (v != NULL && !json_is_null(v) && parse_enrollment(j, v, out) != 0)
                return -1;
        v = json_object_get(obj, "payment");
        if (v != NULL && !json_is_null(v) && parse_payment(j, v, out) != 0)
                return -1;
        return 0;
}

int zz_case_from_json(const char *text, size_t len, zz_case_t *out,
                      const char **name_out, zz_arena_t *arena, char *errstr,
                      size_t errstr_size)
{
        json_error_t jerr;
        json_t *obj;
        int rc;

        zz_case_init(out);
        if (name_out != NULL)
                *name_out = NULL;
        if (len > ZZ_CASE_MAX_BYTES) {
                if (errstr != NULL && errstr_size > 0)
                        snprintf(errstr, errstr_size,
                                 "case: larger than %d bytes",
                                 ZZ_CASE_MAX_BYTES);
                return -1;
        }
        obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (obj == NULL) {
                if (errstr != NULL && errstr_size > 0)
                        snprintf(errstr, errstr_size,
                                 "case: not valid JSON at column %d: %s",
                                 jerr.column, jerr.text);
                return -1;
        }
        rc = zz_case_from_json_obj(obj, out, name_out, arena, errstr,
                                   errstr_size);
        json_decref(obj);
        return rc;
}

/* ---- output ---- */

static json_t *jstr_or_null(const char *s)
{
        return s != NULL ? json_string(s) : json_null();
}

static json_t *funding_json(const zz_funding_t *f, size_t n)
{
        json_t *arr = json_array();
        size_t i;

        for (i = 0; arr != NULL && i < n; i++)
                json_array_append_new(
                    arr, json_pack("{s:o, s:o, s:I, s:o}", "payer",
                                   jstr_or_null(f[i].payer), "fund",
                                   jstr_or_null(f[i].fund), "fen",
                                   (json_int_t)f[i].fen, "rule",
                                   jstr_or_null(f[i].rule)));
        return arr;
}

static const char *trace_kind_name(zz_trace_kind_t kind)
{
        switch (kind) {
        case ZZ_TRACE_TIMING:
                return "timing";
        case ZZ_TRACE_IDENTITY:
                return "identity";
        case ZZ_TRACE_RULE:
                return "rule";
        case ZZ_TRACE_RESOLVE:
                return "resolve";
        case ZZ_TRACE_RECONCILE:
                return "reconcile";
        case ZZ_TRACE_NOTE:
                return "note";
        }
        return "?";
}

static json_t *trace_json(const zz_decision_t *d, unsigned flags)
{
        json_t *arr = json_array();
        size_t i;

        for (i = 0; arr != NULL && i < d->n_trace; i++) {
                const zz_trace_entry_t *t = &d->trace[i];
                json_t *o;

                if (!(flags & ZZ_JSON_EXPLAIN)) {
                        if (t->kind != ZZ_TRACE_RULE)
                                continue;
                        json_array_append_new(
                            arr, json_pack("{s:s, s:b, s:I, s:o, s:o}", "rule",
                                           t->rule, "matched", t->matched,
                                           "fen", (json_int_t)t->fen, "clause",
                                           jstr_or_null(t->clause), "reason",
                                           jstr_or_null(t->reason)));
                        continue;
                }
                o = json_object();
                if (o == NULL)
                        break;
                json_object_set_new(o, "kind",
                                    json_string(trace_kind_name(t->kind)));
                if (t->kind == ZZ_TRACE_NOTE && t->note != NULL) {
                        json_object_set_new(
                            o, "note",
                            json_string(zz_note_kind_name(t->note->kind)));
                        json_object_set_new(o, "where",
                                            json_string(t->note->where));
                        json_object_set_new(o, "text",
                                            json_string(t->note->text));
                        json_object_set_new(o, "line",
                                            json_integer(t->note->line));
                        json_array_append_new(arr, o);
                        continue;
                }
                if (t->rule != NULL)
                        json_object_set_new(o, "rule", json_string(t->rule));
                json_object_set_new(o, "matched", json_boolean(t->matched));
                json_object_set_new(o, "fen", json_integer(t->fen));
                json_object_set_new(o, "clause", jstr_or_null(t->clause));
                json_object_set_new(o, "reason", jstr_or_null(t->reason));
                if (t->detail_zh != NULL)
                        json_object_set_new(o, "detail_zh",
                                            json_string(t->detail_zh));
                if (t->identity >= 0)
                        json_object_set_new(o, "identity",
                                            json_integer(t->identity));
                json_array_append_new(arr, o);
        }
        return arr;
}

json_t *zz_decision_to_json(const zz_case_t *c, const zz_decision_t *d,
                            unsigned flags)
{
        json_t *o = json_object(), *recon;
        char day[12];
        const char *route = zz_route_name(d->reconciliation.route);

        if (o == NULL)
                return NULL;
        json_object_set_new(o, "case",
                            jstr_or_null(c != NULL ? c->name : NULL));
        json_object_set_new(o, "year", json_integer(d->year));
        json_object_set_new(o, "eligible", json_boolean(d->eligible));
        json_object_set_new(o, "contribution_fen",
                            json_integer(d->contribution_fen));
        json_object_set_new(o, "subsidy_fen", json_integer(d->subsidy_fen));
        json_object_set_new(o, "individual_due_fen",
                            json_integer(d->individual_due_fen));
        json_object_set_new(o, "funding",
                            funding_json(d->funding, d->n_funding));
        json_object_set_new(o, "region", jstr_or_null(d->region));
        recon = json_object();
        json_object_set_new(
            recon, "status",
            json_string(zz_recon_status_name(d->reconciliation.status)));
        json_object_set_new(recon, "fen", json_integer(d->reconciliation.fen));
        json_object_set_new(recon, "route", jstr_or_null(route));
        if (d->reconciliation.n_owed > 0)
                json_object_set_new(recon, "owed_by",
                                    funding_json(d->reconciliation.owed,
                                                 d->reconciliation.n_owed));
        json_object_set_new(o, "reconciliation", recon);
        json_object_set_new(
            o, "identity_day",
            d->identity_day != ZZ_DATE_NONE
                ? json_string(zz_date_format(d->identity_day, day, sizeof(day)))
                : json_null());
        json_object_set_new(o, "settlement", jstr_or_null(d->period));
        json_object_set_new(o, "policy", jstr_or_null(d->policy));
        json_object_set_new(o, "policy_version",
                            jstr_or_null(d->policy_version));
        json_object_set_new(o, "trace", trace_json(d, flags));
        return o;
}

json_t *zz_decision_error_json(const char *name, const char *message)
{
        return json_pack("{s:o, s:s}", "case", jstr_or_null(name), "error",
                         message != NULL ? message : "error");
}
