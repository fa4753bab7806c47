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

#include "zizhu/casefold.h"
#include "zizhu/date.h"

/* The settlement's payment rows carry the kind after casefold.h's
 * columns, for zz_factset_print. */
#define P_KIND (ZZ_CASEFOLD_P_PAID_AT + 1)

typedef struct fs_person_s {
        const char *id;
        zz_casefold_span_t i, e, p;
} fs_person_t;

struct zz_factset_s {
        PGresult *ir, *er, *pr;
        fs_person_t *persons;
        size_t n;
};

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

const zz_policy_t *zz_factset_case(zz_factset_t *fs, size_t i, int year,
                                   const zz_policy_t *const *policies, size_t n,
                                   zz_case_t *c, zz_arena_t *arena)
{
        const fs_person_t *p;
        zz_casefold_person_t person;
        const zz_policy_t *pol;
        int be, bp, any = 0, r;

        if (i >= fs->n)
                return NULL;
        p = &fs->persons[i];
        memset(&person, 0, sizeof(person));
        person.person_id = p->id;
        if (zz_casefold_identities(arena, fs->ir, p->i, &person) != 0)
                return NULL;
        be = zz_casefold_enrollment(fs->er, p->e, year);
        bp = zz_casefold_payment(fs->pr, p->p, year);
        pol = zz_casefold_policy(
            policies, n, year, &person,
            be >= 0 ? PQgetvalue(fs->er, be, ZZ_CASEFOLD_E_REGION) : NULL);
        /* the worker decides a year only when some fact of it (or an
         * identity) exists */
        for (r = p->e.begin; r < p->e.end; r++)
                if (zz_casefold_num(fs->er, r, ZZ_CASEFOLD_E_YEAR) == year)
                        any = 1;
        for (r = p->p.begin; r < p->p.end; r++)
                if (zz_casefold_num(fs->pr, r, ZZ_CASEFOLD_P_YEAR) == year)
                        any = 1;
        zz_casefold_case(c, &person, year, fs->er, be, fs->pr, bp);
        if (pol == NULL || (!any && p->i.end == p->i.begin))
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
        for (r = p->i.begin; r < p->i.end; r++) {
                const PGresult *res = fs->ir;

                zz_date_format(zz_casefold_date(res, r, ZZ_CASEFOLD_I_VFROM),
                               d1, sizeof(d1));
                if (PQgetisnull(res, r, ZZ_CASEFOLD_I_VTO))
                        snprintf(d2, sizeof(d2), "open");
                else
                        zz_date_format(
                            zz_casefold_date(res, r, ZZ_CASEFOLD_I_VTO), d2,
                            sizeof(d2));
                zz_ts_format(zz_casefold_num(res, r, ZZ_CASEFOLD_I_REPORTED),
                             ts, sizeof(ts));
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
        for (r = p->e.begin; r < p->e.end; r++) {
                const PGresult *res = fs->er;

                if (zz_casefold_num(res, r, ZZ_CASEFOLD_E_YEAR) != year)
                        continue;
                zz_date_format(
                    zz_casefold_date(res, r, ZZ_CASEFOLD_E_REGISTERED), d1,
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
        for (r = p->p.begin; r < p->p.end; r++) {
                const PGresult *res = fs->pr;

                if (zz_casefold_num(res, r, ZZ_CASEFOLD_P_YEAR) != year)
                        continue;
                zz_ts_format(zz_casefold_num(res, r, ZZ_CASEFOLD_P_PAID_AT), ts,
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
