/*
 * casefold.c — the folding rules of subsidy.h over fact rows, shared by
 * the subsidy worker and the settlement (see casefold.h).
 */
#include "zizhu/casefold.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

const char *zz_casefold_val(zz_rows_t rows, int row, int col)
{
        return zz_rows_val(rows, row, col);
}

long long zz_casefold_num(zz_rows_t rows, int row, int col)
{
        const char *s = zz_rows_val(rows, row, col);

        return s == NULL ? 0 : strtoll(s, NULL, 10);
}

zz_date_t zz_casefold_date(zz_rows_t rows, int row, int col)
{
        const char *s = zz_rows_val(rows, row, col);

        return s == NULL ? ZZ_DATE_NONE : (zz_date_t)strtol(s, NULL, 10);
}

void zz_casefold_source_consider(zz_casefold_source_t *src, zz_ts_t at,
                                 const char *event_id)
{
        if (src->event_id == NULL || at > src->at ||
            (at == src->at && strcmp(event_id, src->event_id) > 0)) {
                src->at = at;
                src->event_id = event_id;
        }
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
                /* jansson iterates in insertion order; PostgreSQL's jsonb
                 * text output is sorted by key, which makes this
                 * deterministic. */
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

int zz_casefold_identities(zz_arena_t *arena, zz_rows_t res,
                           zz_casefold_span_t sp, zz_casefold_person_t *p)
{
        int r = sp.begin;
        size_t cap = (size_t)(sp.end - sp.begin) + 1;

        p->identities = zz_arena_calloc(arena, cap, sizeof(zz_identity_t));
        p->refs = zz_arena_calloc(arena, cap, sizeof(zz_casefold_ref_t));
        p->n_identities = 0;
        p->deceased_on = ZZ_DATE_NONE;
        p->residence = NULL;
        p->identity_source.event_id = NULL;
        p->identity_source.at = 0;
        if (p->identities == NULL || p->refs == NULL)
                return -1;
        while (r < sp.end) {
                const char *dept = zz_rows_text(res, r, ZZ_CASEFOLD_I_DEPT);
                const char *rec = zz_rows_text(res, r, ZZ_CASEFOLD_I_REC);
                zz_identity_t *id = &p->identities[p->n_identities];
                zz_casefold_ref_t *ref = &p->refs[p->n_identities];
                int have = 0, revoked = 0;

                memset(id, 0, sizeof(*id));
                memset(ref, 0, sizeof(*ref));
                for (;
                     r < sp.end &&
                     strcmp(zz_rows_text(res, r, ZZ_CASEFOLD_I_DEPT), dept) ==
                         0 &&
                     strcmp(zz_rows_text(res, r, ZZ_CASEFOLD_I_REC), rec) == 0;
                     r++) {
                        const char *action =
                            zz_rows_text(res, r, ZZ_CASEFOLD_I_ACTION);
                        const char *event =
                            zz_rows_text(res, r, ZZ_CASEFOLD_I_EVENT);
                        const char *residence =
                            zz_casefold_val(res, r, ZZ_CASEFOLD_I_RESIDENCE);
                        zz_ts_t reported =
                            zz_casefold_num(res, r, ZZ_CASEFOLD_I_REPORTED);

                        zz_casefold_source_consider(&p->identity_source,
                                                    reported, event);
                        if (residence != NULL)
                                p->residence = residence;
                        if (strcmp(action, "DECEASED") == 0) {
                                zz_date_t d = zz_casefold_date(
                                    res, r, ZZ_CASEFOLD_I_DECEASED);
                                if (d != ZZ_DATE_NONE &&
                                    (p->deceased_on == ZZ_DATE_NONE ||
                                     d < p->deceased_on))
                                        p->deceased_on = d;
                                continue;
                        }
                        if (strcmp(action, "REVOKE") == 0)
                                revoked = 1;
                        if (strcmp(action, "END") == 0 && have) {
                                id->valid_to =
                                    zz_casefold_date(res, r, ZZ_CASEFOLD_I_VTO);
                                ref->event_id = event;
                                continue;
                        }
                        if (strcmp(action, "REVOKE") == 0 && have) {
                                ref->event_id = event;
                                continue;
                        }
                        /* GRANT, CORRECT, or the first event seen */
                        id->category = zz_rows_text(res, r, ZZ_CASEFOLD_I_CAT);
                        parse_attrs(arena,
                                    zz_rows_text(res, r, ZZ_CASEFOLD_I_ATTRS),
                                    &id->attrs, &id->n_attrs);
                        id->valid_from =
                            zz_casefold_date(res, r, ZZ_CASEFOLD_I_VFROM);
                        id->valid_to =
                            zz_casefold_date(res, r, ZZ_CASEFOLD_I_VTO);
                        id->approving_region =
                            zz_rows_text(res, r, ZZ_CASEFOLD_I_APPROVING);
                        if (!have) {
                                id->reported_at = reported;
                                id->has_reported_at = 1;
                        }
                        ref->event_id = event;
                        ref->department = dept;
                        ref->dept_record_id = rec;
                        ref->category = id->category;
                        ref->residence_region = residence;
                        have = 1;
                }
                if (have) {
                        id->action =
                            revoked ? ZZ_ACTION_REVOKE : ZZ_ACTION_GRANT;
                        p->n_identities++;
                }
        }
        return 0;
}

static int cancelled(zz_rows_t er, zz_casefold_span_t sp, int row)
{
        int k;

        for (k = sp.begin; k < sp.end; k++)
                if (strcmp(zz_rows_text(er, k, ZZ_CASEFOLD_E_ACTION),
                           "CANCEL") == 0 &&
                    strcmp(zz_rows_text(er, k, ZZ_CASEFOLD_E_DEPT),
                           zz_rows_text(er, row, ZZ_CASEFOLD_E_DEPT)) == 0 &&
                    strcmp(zz_rows_text(er, k, ZZ_CASEFOLD_E_REC),
                           zz_rows_text(er, row, ZZ_CASEFOLD_E_REC)) == 0)
                        return 1;
        return 0;
}

int zz_casefold_enrollment(zz_rows_t er, zz_casefold_span_t sp, int year)
{
        int r, best = -1;

        for (r = sp.begin; r < sp.end; r++) {
                zz_date_t on, best_on;

                if (zz_casefold_num(er, r, ZZ_CASEFOLD_E_YEAR) != year ||
                    strcmp(zz_rows_text(er, r, ZZ_CASEFOLD_E_ACTION),
                           "REGISTER") != 0 ||
                    cancelled(er, sp, r))
                        continue;
                if (best < 0) {
                        best = r;
                        continue;
                }
                on = zz_casefold_date(er, r, ZZ_CASEFOLD_E_REGISTERED);
                best_on = zz_casefold_date(er, best, ZZ_CASEFOLD_E_REGISTERED);
                if (on > best_on ||
                    (on == best_on &&
                     strcmp(zz_rows_text(er, r, ZZ_CASEFOLD_E_EVENT),
                            zz_rows_text(er, best, ZZ_CASEFOLD_E_EVENT)) > 0))
                        best = r;
        }
        return best;
}

int zz_casefold_payment(zz_rows_t pr, zz_casefold_span_t sp, int year)
{
        int r, best = -1;

        for (r = sp.begin; r < sp.end; r++) {
                long long at, best_at;

                if (zz_casefold_num(pr, r, ZZ_CASEFOLD_P_YEAR) != year)
                        continue;
                if (best < 0) {
                        best = r;
                        continue;
                }
                at = zz_casefold_num(pr, r, ZZ_CASEFOLD_P_PAID_AT);
                best_at = zz_casefold_num(pr, best, ZZ_CASEFOLD_P_PAID_AT);
                if (at > best_at ||
                    (at == best_at &&
                     strcmp(zz_rows_text(pr, r, ZZ_CASEFOLD_P_EVENT),
                            zz_rows_text(pr, best, ZZ_CASEFOLD_P_EVENT)) > 0))
                        best = r;
        }
        return best;
}

const zz_policy_t *zz_casefold_policy_for(const zz_policy_t *const *policies,
                                          size_t n, int year,
                                          const char *region)
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

const zz_policy_t *zz_casefold_policy(const zz_policy_t *const *policies,
                                      size_t n, int year,
                                      const zz_casefold_person_t *p,
                                      const char *enroll_region)
{
        const zz_policy_t *pol =
            zz_casefold_policy_for(policies, n, year, enroll_region);
        size_t i;

        for (i = 0; pol == NULL && i < p->n_identities; i++) {
                pol = zz_casefold_policy_for(policies, n, year,
                                             p->identities[i].approving_region);
                if (pol == NULL)
                        pol = zz_casefold_policy_for(
                            policies, n, year, p->refs[i].residence_region);
        }
        return pol;
}

static zz_enroll_class_t class_of(const char *s)
{
        if (strcmp(s, "STUDENT_CHILD") == 0)
                return ZZ_CLASS_STUDENT_CHILD;
        if (strcmp(s, "COLLEGE") == 0)
                return ZZ_CLASS_COLLEGE;
        return ZZ_CLASS_ADULT;
}

void zz_casefold_case(zz_case_t *c, const zz_casefold_person_t *p, int year,
                      zz_rows_t er, int be, zz_rows_t pr, int bp)
{
        zz_case_init(c);
        c->person_id = p->person_id;
        c->identities = p->identities;
        c->n_identities = p->n_identities;
        c->deceased_on = p->deceased_on;
        c->region = p->residence;
        if (be >= 0) {
                c->has_enrollment = 1;
                c->region = zz_rows_text(er, be, ZZ_CASEFOLD_E_REGION);
                c->household = zz_rows_text(er, be, ZZ_CASEFOLD_E_HOUSEHOLD);
                c->enrollment.year = year;
                c->enrollment.tier =
                    (int)zz_casefold_num(er, be, ZZ_CASEFOLD_E_TIER);
                c->enrollment.enroll_class =
                    class_of(zz_rows_text(er, be, ZZ_CASEFOLD_E_CLASS));
                c->enrollment.kind =
                    strcmp(zz_rows_text(er, be, ZZ_CASEFOLD_E_KIND),
                           "MID_YEAR") == 0
                        ? ZZ_KIND_MID_YEAR
                        : ZZ_KIND_ANNUAL;
                c->enrollment.registered_on =
                    zz_casefold_date(er, be, ZZ_CASEFOLD_E_REGISTERED);
                c->enrollment.region =
                    zz_rows_text(er, be, ZZ_CASEFOLD_E_REGION);
                c->enrollment.unit =
                    zz_casefold_val(er, be, ZZ_CASEFOLD_E_UNIT);
        }
        if (bp >= 0) {
                c->has_payment = 1;
                c->payment.paid_at =
                    zz_casefold_num(pr, bp, ZZ_CASEFOLD_P_PAID_AT);
                c->payment.contribution_fen =
                    zz_casefold_num(pr, bp, ZZ_CASEFOLD_P_CONTRIB);
                c->payment.subsidy_applied_fen =
                    zz_casefold_num(pr, bp, ZZ_CASEFOLD_P_APPLIED);
                c->payment.paid_fen =
                    zz_casefold_num(pr, bp, ZZ_CASEFOLD_P_PAID);
        }
}
