/*
 * settle_facts.c — the facts of persons inside a settlement boundary (or
 * as known at a past moment), folded into policy cases the same way the
 * subsidy worker folds them (see ledger.h, subsidy.h).
 */
#include "zizhu/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zizhu/date.h"

enum {
        I_PERSON,
        I_EVENT,
        I_DEPT,
        I_REC,
        I_ACTION,
        I_CAT,
        I_ATTRS,
        I_VFROM,
        I_VTO,
        I_APPROVING,
        I_RESIDENCE,
        I_REPORTED,
        I_DECEASED
};
enum {
        E_PERSON,
        E_EVENT,
        E_DEPT,
        E_REC,
        E_ACTION,
        E_HOUSEHOLD,
        E_YEAR,
        E_TIER,
        E_CLASS,
        E_KIND,
        E_REGISTERED,
        E_REGION,
        E_UNIT
};
enum {
        P_PERSON,
        P_EVENT,
        P_YEAR,
        P_CONTRIB,
        P_APPLIED,
        P_PAID,
        P_PAID_AT,
        P_KIND
};

typedef struct span_s {
        int begin, end;
} span_t;

typedef struct fs_person_s {
        const char *id;
        span_t i, e, p;
} fs_person_t;

struct zz_factset_s {
        PGresult *ir, *er, *pr;
        fs_person_t *persons;
        size_t n;
};

static const char *val(const PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static long long num(const PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col)
                   ? 0
                   : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static zz_date_t date_or_none(const PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col)
                   ? ZZ_DATE_NONE
                   : (zz_date_t)strtol(PQgetvalue(res, row, col), NULL, 10);
}

/* The boundary as three PostgreSQL array literals. */
static int boundary_arrays(const zz_settle_pos_t *b, size_t n, char **topics,
                           char **parts, char **ends)
{
        size_t cap = 64 + n * 200, i;
        size_t lt = 0, lp = 0, le = 0;

        *topics = malloc(cap);
        *parts = malloc(cap);
        *ends = malloc(cap);
        if (*topics == NULL || *parts == NULL || *ends == NULL)
                return -1;
        lt += (size_t)snprintf(*topics + lt, cap - lt, "{");
        lp += (size_t)snprintf(*parts + lp, cap - lp, "{");
        le += (size_t)snprintf(*ends + le, cap - le, "{");
        for (i = 0; i < n; i++) {
                const char *sep = i > 0 ? "," : "";
                const char *c;

                lt += (size_t)snprintf(*topics + lt, cap - lt, "%s\"", sep);
                for (c = b[i].topic; *c != '\0' && lt + 4 < cap; c++) {
                        if (*c == '"' || *c == '\\')
                                (*topics)[lt++] = '\\';
                        (*topics)[lt++] = *c;
                }
                lt += (size_t)snprintf(*topics + lt, cap - lt, "\"");
                lp += (size_t)snprintf(*parts + lp, cap - lp, "%s%d", sep,
                                       (int)b[i].partition);
                le += (size_t)snprintf(*ends + le, cap - le, "%s%lld", sep,
                                       (long long)b[i].end);
        }
        snprintf(*topics + lt, cap - lt, "}");
        snprintf(*parts + lp, cap - lp, "}");
        snprintf(*ends + le, cap - le, "}");
        return 0;
}

static PGresult *load(PGconn *conn, const char *cols, const char *table,
                      const char *extra_where, const char *order, int bounded,
                      const char *const *params, char *errstr,
                      size_t errstr_size)
{
        char sql[2048];
        PGresult *res;

        snprintf(sql, sizeof(sql),
                 "SELECT %s FROM zizhu.%s f %s WHERE ($4::text IS NULL OR "
                 "f.person_id = $4) AND %s ORDER BY f.person_id COLLATE "
                 "\"C\", %s",
                 cols, table,
                 bounded ? "JOIN unnest($1::text[], $2::int[], $3::bigint[]) "
                           "AS b(t, p, e) ON f.src_topic = b.t AND "
                           "f.src_partition = b.p AND f.src_offset < b.e"
                         : "",
                 extra_where, order);
        /* text[], int4[], int8[], text, int8: typed, since an unbounded
         * query does not mention $1..$3 */
        static const Oid types[5] = {1009, 1007, 1016, 25, 20};

        res = PQexecParams(conn, sql, 5, types, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                snprintf(errstr, errstr_size, "could not load %s: %s", table,
                         PQresultErrorMessage(res));
                PQclear(res);
                return NULL;
        }
        return res;
}

static int cmp_person(const PGresult *res, int row, const char *id)
{
        return strcmp(PQgetvalue(res, row, 0), id);
}

zz_factset_t *zz_factset_load(PGconn *conn, const zz_settle_pos_t *boundary,
                              size_t n_boundary, const char *person,
                              int64_t as_of, char *errstr, size_t errstr_size)
{
        zz_factset_t *fs = calloc(1, sizeof(*fs));
        char *topics = NULL, *parts = NULL, *ends = NULL;
        char asof[32];
        const char *params[5];
        int bounded = boundary != NULL;
        int a = 0, b = 0, c = 0, na, nb, nc;
        size_t cap;

        if (fs == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (bounded && boundary_arrays(boundary, n_boundary, &topics, &parts,
                                       &ends) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        snprintf(asof, sizeof(asof), "%lld", (long long)as_of);
        params[0] = topics;
        params[1] = parts;
        params[2] = ends;
        params[3] = person;
        params[4] = as_of == ZZ_AS_OF_NONE ? NULL : asof;
        fs->ir = load(conn,
                      "f.person_id, f.event_id, f.department, "
                      "f.dept_record_id, f.action, f.category, f.attrs::text, "
                      "f.valid_from - DATE '1970-01-01', f.valid_to - DATE "
                      "'1970-01-01', f.approving_region, f.residence_region, "
                      "f.reported_at, f.deceased_on - DATE '1970-01-01'",
                      "identity_fact",
                      "($5::bigint IS NULL OR f.reported_at <= $5::bigint)",
                      "f.department COLLATE \"C\", f.dept_record_id COLLATE "
                      "\"C\", f.reported_at, f.event_id COLLATE \"C\"",
                      bounded, params, errstr, errstr_size);
        if (fs->ir == NULL)
                goto fail;
        fs->er = load(
            conn,
            "f.person_id, f.event_id, f.department, f.dept_record_id, "
            "f.action, f.household_id, f.year, f.tier, f.enrollment_class, "
            "f.kind, f.registered_on - DATE '1970-01-01', f.region, f.unit",
            "enrollment_fact",
            "($5::bigint IS NULL OR f.registered_on <= "
            "(to_timestamp($5::bigint "
            "/ 1000.0) AT TIME ZONE 'Asia/Shanghai')::date)",
            "f.event_id COLLATE \"C\"", bounded, params, errstr, errstr_size);
        if (fs->er == NULL)
                goto fail;
        fs->pr = load(
            conn,
            "f.person_id, f.event_id, f.year, f.contribution_fen, "
            "f.subsidy_applied_fen, f.paid_fen, f.paid_at, f.kind",
            "payment_fact", "($5::bigint IS NULL OR f.paid_at <= $5::bigint)",
            "f.event_id COLLATE \"C\"", bounded, params, errstr, errstr_size);
        if (fs->pr == NULL)
                goto fail;
        free(topics);
        free(parts);
        free(ends);
        topics = parts = ends = NULL;

        /* merge the three person-ordered results into one person list */
        na = PQntuples(fs->ir);
        nb = PQntuples(fs->er);
        nc = PQntuples(fs->pr);
        cap = (size_t)(na + nb + nc) + 1;
        fs->persons = calloc(cap, sizeof(*fs->persons));
        if (fs->persons == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        while (a < na || b < nb || c < nc) {
                const char *id = NULL;
                fs_person_t *p = &fs->persons[fs->n++];

                if (a < na)
                        id = PQgetvalue(fs->ir, a, 0);
                if (b < nb && (id == NULL || cmp_person(fs->er, b, id) < 0))
                        id = PQgetvalue(fs->er, b, 0);
                if (c < nc && (id == NULL || cmp_person(fs->pr, c, id) < 0))
                        id = PQgetvalue(fs->pr, c, 0);
                p->id = id;
                p->i.begin = a;
                while (a < na && cmp_person(fs->ir, a, id) == 0)
                        a++;
                p->i.end = a;
                p->e.begin = b;
                while (b < nb && cmp_person(fs->er, b, id) == 0)
                        b++;
                p->e.end = b;
                p->p.begin = c;
                while (c < nc && cmp_person(fs->pr, c, id) == 0)
                        c++;
                p->p.end = c;
        }
        return fs;
fail:
        free(topics);
        free(parts);
        free(ends);
        zz_factset_destroy(fs);
        return NULL;
}

void zz_factset_destroy(zz_factset_t *fs)
{
        if (fs == NULL)
                return;
        PQclear(fs->ir);
        PQclear(fs->er);
        PQclear(fs->pr);
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

static void parse_attrs(zz_arena_t *arena, const char *text,
                        const zz_attr_t **out, size_t *n_out)
{
        json_error_t jerr;
        json_t *obj = json_loads(text, 0, &jerr);
        const char *key;
        json_t *value;
        zz_attr_t *attrs;
        size_t n = 0;

        *out = NULL;
        *n_out = 0;
        if (obj == NULL || !json_is_object(obj)) {
                json_decref(obj);
                return;
        }
        attrs =
            zz_arena_calloc(arena, json_object_size(obj) + 1, sizeof(*attrs));
        if (attrs != NULL) {
                json_object_foreach(obj, key, value)
                {
                        attrs[n].key = zz_arena_strdup(arena, key);
                        attrs[n].value = zz_arena_strdup(
                            arena, json_is_string(value)
                                       ? json_string_value(value)
                                       : "");
                        n++;
                }
        }
        json_decref(obj);
        *out = attrs;
        *n_out = n;
}

/* Folds identity rows [sp) into identities (see subsidy.h). residence
 * receives the latest residence region reported; res_regions[i] the
 * residence of identity i. */
static size_t fold_identities(zz_arena_t *arena, const PGresult *res, span_t sp,
                              zz_identity_t *ids, const char **res_regions,
                              zz_date_t *deceased_on, const char **residence)
{
        int r = sp.begin;
        size_t n = 0;

        *deceased_on = ZZ_DATE_NONE;
        *residence = NULL;
        while (r < sp.end) {
                const char *dept = PQgetvalue(res, r, I_DEPT);
                const char *rec = PQgetvalue(res, r, I_REC);
                zz_identity_t *id = &ids[n];
                int have = 0, revoked = 0;

                memset(id, 0, sizeof(*id));
                res_regions[n] = NULL;
                for (; r < sp.end &&
                       strcmp(PQgetvalue(res, r, I_DEPT), dept) == 0 &&
                       strcmp(PQgetvalue(res, r, I_REC), rec) == 0;
                     r++) {
                        const char *action = PQgetvalue(res, r, I_ACTION);

                        if (val(res, r, I_RESIDENCE) != NULL)
                                *residence = val(res, r, I_RESIDENCE);
                        if (strcmp(action, "DECEASED") == 0) {
                                zz_date_t d = date_or_none(res, r, I_DECEASED);
                                if (d != ZZ_DATE_NONE &&
                                    (*deceased_on == ZZ_DATE_NONE ||
                                     d < *deceased_on))
                                        *deceased_on = d;
                                continue;
                        }
                        if (strcmp(action, "REVOKE") == 0)
                                revoked = 1;
                        if (strcmp(action, "END") == 0 && have) {
                                id->valid_to = date_or_none(res, r, I_VTO);
                                continue;
                        }
                        if (strcmp(action, "REVOKE") == 0 && have)
                                continue;
                        id->category = PQgetvalue(res, r, I_CAT);
                        parse_attrs(arena, PQgetvalue(res, r, I_ATTRS),
                                    &id->attrs, &id->n_attrs);
                        id->valid_from = date_or_none(res, r, I_VFROM);
                        id->valid_to = date_or_none(res, r, I_VTO);
                        id->approving_region = PQgetvalue(res, r, I_APPROVING);
                        if (!have) {
                                id->reported_at = num(res, r, I_REPORTED);
                                id->has_reported_at = 1;
                        }
                        res_regions[n] = val(res, r, I_RESIDENCE);
                        have = 1;
                }
                if (have) {
                        id->action =
                            revoked ? ZZ_ACTION_REVOKE : ZZ_ACTION_GRANT;
                        n++;
                }
        }
        return n;
}

static const zz_policy_t *policy_for(const zz_policy_t *const *policies,
                                     size_t n, int year, const char *region)
{
        size_t i;

        if (region == NULL || region[0] == '\0')
                return NULL;
        for (i = 0; i < n; i++)
                if (zz_policy_year(policies[i]) == year &&
                    zz_policy_in_jurisdiction(policies[i], region))
                        return policies[i];
        return NULL;
}

static zz_enroll_class_t class_of(const char *s)
{
        if (strcmp(s, "STUDENT_CHILD") == 0)
                return ZZ_CLASS_STUDENT_CHILD;
        if (strcmp(s, "COLLEGE") == 0)
                return ZZ_CLASS_COLLEGE;
        return ZZ_CLASS_ADULT;
}

static int best_enrollment(const PGresult *er, span_t esp, int year)
{
        int r, k, best = -1;

        for (r = esp.begin; r < esp.end; r++) {
                int cancelled = 0;

                if (num(er, r, E_YEAR) != year ||
                    strcmp(PQgetvalue(er, r, E_ACTION), "REGISTER") != 0)
                        continue;
                for (k = esp.begin; k < esp.end; k++)
                        if (strcmp(PQgetvalue(er, k, E_ACTION), "CANCEL") ==
                                0 &&
                            strcmp(PQgetvalue(er, k, E_DEPT),
                                   PQgetvalue(er, r, E_DEPT)) == 0 &&
                            strcmp(PQgetvalue(er, k, E_REC),
                                   PQgetvalue(er, r, E_REC)) == 0)
                                cancelled = 1;
                if (cancelled)
                        continue;
                if (best < 0 ||
                    date_or_none(er, r, E_REGISTERED) >
                        date_or_none(er, best, E_REGISTERED) ||
                    (date_or_none(er, r, E_REGISTERED) ==
                         date_or_none(er, best, E_REGISTERED) &&
                     strcmp(PQgetvalue(er, r, E_EVENT),
                            PQgetvalue(er, best, E_EVENT)) > 0))
                        best = r;
        }
        return best;
}

static int best_payment(const PGresult *pr, span_t psp, int year)
{
        int r, best = -1;

        for (r = psp.begin; r < psp.end; r++) {
                if (num(pr, r, P_YEAR) != year)
                        continue;
                if (best < 0 ||
                    num(pr, r, P_PAID_AT) > num(pr, best, P_PAID_AT) ||
                    (num(pr, r, P_PAID_AT) == num(pr, best, P_PAID_AT) &&
                     strcmp(PQgetvalue(pr, r, P_EVENT),
                            PQgetvalue(pr, best, P_EVENT)) > 0))
                        best = r;
        }
        return best;
}

const zz_policy_t *zz_factset_case(zz_factset_t *fs, size_t i, int year,
                                   const zz_policy_t *const *policies, size_t n,
                                   zz_case_t *c, zz_arena_t *arena)
{
        const fs_person_t *p;
        zz_identity_t *ids;
        const char **res_regions;
        const char *residence;
        const zz_policy_t *pol;
        size_t n_ids, k, cap;
        int be, bp, any = 0, r;

        if (i >= fs->n)
                return NULL;
        p = &fs->persons[i];
        cap = (size_t)(p->i.end - p->i.begin) + 1;
        ids = zz_arena_calloc(arena, cap, sizeof(*ids));
        res_regions = zz_arena_calloc(arena, cap, sizeof(*res_regions));
        if (ids == NULL || res_regions == NULL)
                return NULL;
        zz_case_init(c);
        n_ids = fold_identities(arena, fs->ir, p->i, ids, res_regions,
                                &c->deceased_on, &residence);
        be = best_enrollment(fs->er, p->e, year);
        bp = best_payment(fs->pr, p->p, year);
        pol = policy_for(policies, n, year,
                         be >= 0 ? PQgetvalue(fs->er, be, E_REGION) : NULL);
        for (k = 0; pol == NULL && k < n_ids; k++) {
                pol = policy_for(policies, n, year, ids[k].approving_region);
                if (pol == NULL)
                        pol = policy_for(policies, n, year, res_regions[k]);
        }
        /* the worker decides a year only when some fact of it (or an
         * identity) exists */
        for (r = p->e.begin; r < p->e.end; r++)
                if (num(fs->er, r, E_YEAR) == year)
                        any = 1;
        for (r = p->p.begin; r < p->p.end; r++)
                if (num(fs->pr, r, P_YEAR) == year)
                        any = 1;
        if (pol == NULL || (!any && p->i.end == p->i.begin))
                return NULL;
        c->person_id = p->id;
        c->identities = ids;
        c->n_identities = n_ids;
        c->region = residence;
        if (be >= 0) {
                const PGresult *er = fs->er;

                c->has_enrollment = 1;
                c->region = PQgetvalue(er, be, E_REGION);
                c->household = PQgetvalue(er, be, E_HOUSEHOLD);
                c->enrollment.year = year;
                c->enrollment.tier = (int)num(er, be, E_TIER);
                c->enrollment.enroll_class =
                    class_of(PQgetvalue(er, be, E_CLASS));
                c->enrollment.kind =
                    strcmp(PQgetvalue(er, be, E_KIND), "MID_YEAR") == 0
                        ? ZZ_KIND_MID_YEAR
                        : ZZ_KIND_ANNUAL;
                c->enrollment.registered_on =
                    date_or_none(er, be, E_REGISTERED);
                c->enrollment.region = PQgetvalue(er, be, E_REGION);
                c->enrollment.unit = val(er, be, E_UNIT);
        }
        if (bp >= 0) {
                const PGresult *pr = fs->pr;

                c->has_payment = 1;
                c->payment.paid_at = num(pr, bp, P_PAID_AT);
                c->payment.contribution_fen = num(pr, bp, P_CONTRIB);
                c->payment.subsidy_applied_fen = num(pr, bp, P_APPLIED);
                c->payment.paid_fen = num(pr, bp, P_PAID);
        }
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
        for (r = p->i.begin; r < p->i.end; r++) {
                const PGresult *res = fs->ir;

                zz_date_format(date_or_none(res, r, I_VFROM), d1, sizeof(d1));
                if (PQgetisnull(res, r, I_VTO))
                        snprintf(d2, sizeof(d2), "open");
                else
                        zz_date_format(date_or_none(res, r, I_VTO), d2,
                                       sizeof(d2));
                zz_ts_format(num(res, r, I_REPORTED), ts, sizeof(ts));
                fprintf(out,
                        "  identity   %-9s %-24s %s..%s approving %s "
                        "reported %s  [%s %s, event %s]\n",
                        PQgetvalue(res, r, I_ACTION), PQgetvalue(res, r, I_CAT),
                        d1, d2, PQgetvalue(res, r, I_APPROVING), ts,
                        PQgetvalue(res, r, I_DEPT), PQgetvalue(res, r, I_REC),
                        PQgetvalue(res, r, I_EVENT));
        }
        for (r = p->e.begin; r < p->e.end; r++) {
                const PGresult *res = fs->er;

                if (num(res, r, E_YEAR) != year)
                        continue;
                zz_date_format(date_or_none(res, r, E_REGISTERED), d1,
                               sizeof(d1));
                fprintf(out,
                        "  enrollment %-9s year %s tier %s %s %s registered "
                        "%s region %s  [%s %s, event %s]\n",
                        PQgetvalue(res, r, E_ACTION),
                        PQgetvalue(res, r, E_YEAR), PQgetvalue(res, r, E_TIER),
                        PQgetvalue(res, r, E_CLASS), PQgetvalue(res, r, E_KIND),
                        d1, PQgetvalue(res, r, E_REGION),
                        PQgetvalue(res, r, E_DEPT), PQgetvalue(res, r, E_REC),
                        PQgetvalue(res, r, E_EVENT));
        }
        for (r = p->p.begin; r < p->p.end; r++) {
                const PGresult *res = fs->pr;

                if (num(res, r, P_YEAR) != year)
                        continue;
                zz_ts_format(num(res, r, P_PAID_AT), ts, sizeof(ts));
                fprintf(out,
                        "  payment    %-9s year %s contribution %s applied %s "
                        "paid %s at %s  [event %s]\n",
                        PQgetvalue(res, r, P_KIND), PQgetvalue(res, r, P_YEAR),
                        PQgetvalue(res, r, P_CONTRIB),
                        PQgetvalue(res, r, P_APPLIED),
                        PQgetvalue(res, r, P_PAID), ts,
                        PQgetvalue(res, r, P_EVENT));
        }
}
