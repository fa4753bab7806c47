/*
 * population.c — a generated population for the subsidy worker's tests:
 * persons across the five policies with random identities, enrollments and
 * payments (deterministic for a seed), their events, and the case the
 * engine should see for each (the tests' oracle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/date.h"
#include "zizhu/event.h"
#include "zizhu/policy.h"

#include "zz_test.h"

#ifndef ZZ_SOURCE_DIR
#define ZZ_SOURCE_DIR "."
#endif

/* The identity records a person may get: category, department and up to
 * two attributes. */
static const struct {
        const char *category;
        const char *department;
        const char *k1, *v1, *k2, *v2;
} cats[] = {
    {"MCA.DIBAO", "MCA", NULL, NULL, NULL, NULL},
    {"MCA.TEKUN", "MCA", "supported", "dispersed", NULL, NULL},
    {"MCA.ORPHAN", "MCA", "supported", "dispersed", NULL, NULL},
    {"MCA.UNSUPPORTED_CHILD", "MCA", NULL, NULL, NULL, NULL},
    {"MCA.LOW_INCOME", "MCA", "subgroup", "elderly60", NULL, NULL},
    {"MCA.ILLNESS_POVERTY", "MCA", NULL, NULL, NULL, NULL},
    {"MCA.OTHER_HARDSHIP", "MCA", NULL, NULL, NULL, NULL},
    {"MVA.PRIORITY_CARE", "MVA", "old_demobilized", "false", NULL, NULL},
    {"RRB.POOR", "RRB", "lifted", "false", "benefits_enjoyed", "true"},
    {"RRB.POOR", "RRB", "lifted", "true", "benefits_enjoyed", "true"},
    {"RRB.EDGE", "RRB", NULL, NULL, NULL, NULL},
    {"RRB.MONITORED", "RRB", "kind", "edge", NULL, NULL},
    {"DPF.DISABLED", "DPF", "level", "1", NULL, NULL},
    {"DPF.DISABLED", "DPF", "level", "3", NULL, NULL},
    {"NHC.FP_REWARD", "NHC", NULL, NULL, NULL, NULL},
    {"NHC.FP_SPECIAL", "NHC", "relation", "self", NULL, NULL},
    {"EDU.GRANT_STUDENT", "EDU", NULL, NULL, NULL, NULL},
};
#define N_CATS (sizeof(cats) / sizeof(cats[0]))

#define DEFAULT_SEED 88172645463325252ULL

static unsigned long long rng = DEFAULT_SEED;

void zz_test_rand_seed(unsigned long long seed)
{
        rng = seed != 0 ? seed : DEFAULT_SEED;
}

unsigned zz_test_rand(unsigned n)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (unsigned)(rng % n);
}

int zz_test_localities(zz_test_locality_t loc[5])
{
        static const char *const files[5] = {"tongnan-2021", "panzhihua-2022",
                                             "huilong-2020", "yubei-2017",
                                             "shantou-2021"};
        static const char *const regions[5] = {"500152001001", "510402001001",
                                               "500155107001", "500112001001",
                                               "440507001001"};
        int i;

        for (i = 0; i < 5; i++) {
                char path[1024], errstr[512];
                zz_policy_t *p;

                snprintf(path, sizeof(path), "%s/policies/%s.yaml",
                         ZZ_SOURCE_DIR, files[i]);
                p = zz_policy_load_file(path, errstr, sizeof(errstr));
                if (p == NULL) {
                        fprintf(stderr, "%s\n", errstr);
                        return -1;
                }
                loc[i].region = regions[i];
                loc[i].year = zz_policy_year(p);
                zz_policy_window(p, &loc[i].from, &loc[i].to);
                loc[i].tier1 = zz_policy_tier_fen(p, 1);
                loc[i].tier2 = zz_policy_tier_fen(p, 2);
                if (loc[i].tier2 < 0)
                        loc[i].tier2 = loc[i].tier1;
                zz_policy_destroy(p);
        }
        return 0;
}

/* Identity record k of person i, in locality l. */
static void gen_ident(zz_test_ident_t *id, size_t i, size_t k,
                      const zz_test_locality_t *l)
{
        int span = l->to - l->from + 1;
        unsigned c = zz_test_rand(N_CATS);

        snprintf(id->event_id, sizeof(id->event_id), "id-%zu-%zu", i, k);
        snprintf(id->record, sizeof(id->record), "R%zu-%zu", i, k);
        id->department = cats[c].department;
        id->category = cats[c].category;
        id->n_attrs = 0;
        if (cats[c].k1 != NULL) {
                id->attrs[0].key = cats[c].k1;
                id->attrs[0].value = cats[c].v1;
                id->n_attrs = 1;
        }
        if (cats[c].k2 != NULL) {
                id->attrs[1].key = cats[c].k2;
                id->attrs[1].value = cats[c].v2;
                id->n_attrs = 2;
        }
        id->valid_from = l->from - 400 + (int)zz_test_rand(500);
        id->valid_to =
            zz_test_rand(4) == 0 ? id->valid_from + 200 : ZZ_DATE_NONE;
        id->reported_at =
            zz_ts_from_cst_date(l->from + (int)zz_test_rand(span));
        snprintf(id->approving, sizeof(id->approving), "%.6s", l->region);
}

/* Person i's enrollment (maybe) and payment (maybe), in locality l. */
static void gen_enrollment(zz_test_person_t *p, size_t i,
                           const zz_test_locality_t *l, const char *region)
{
        int span = l->to - l->from + 1;

        p->enrolled = zz_test_rand(6) != 0;
        p->year = l->year;
        if (p->enrolled) {
                snprintf(p->enroll_event, sizeof(p->enroll_event), "en-%zu", i);
                p->tier = 1 + (int)zz_test_rand(2);
                if (l->tier2 == l->tier1)
                        p->tier = 1;
                p->klass = (zz_enroll_class_t)zz_test_rand(3);
                p->registered_on = l->from + (int)zz_test_rand(span);
                snprintf(p->region, sizeof(p->region), "%s", region);
                snprintf(p->household, sizeof(p->household), "H%zu", i / 3);
                p->paid = zz_test_rand(4) != 0;
        }
        if (p->paid) {
                zz_fen_t contrib = p->tier == 1 ? l->tier1 : l->tier2;

                snprintf(p->pay_event, sizeof(p->pay_event), "pa-%zu", i);
                p->paid_at = zz_ts_from_cst_date(p->registered_on) + 3600000;
                p->contribution = contrib;
                p->applied = zz_test_rand(3) == 0 ? contrib / 2 : 0;
                p->paid_fen = contrib - p->applied;
        }
}

zz_test_person_t *zz_test_generate(size_t n, unsigned long long seed)
{
        zz_test_locality_t loc[5];
        zz_test_person_t *ps = calloc(n, sizeof(*ps));
        size_t i, k;

        if (ps == NULL || zz_test_localities(loc) != 0) {
                free(ps);
                return NULL;
        }
        zz_test_rand_seed(seed);
        for (i = 0; i < n; i++) {
                zz_test_person_t *p = &ps[i];
                const zz_test_locality_t *l = &loc[i % 5];
                const char *region = l->region;

                if (zz_test_rand(20) == 0)
                        region = "110101001001"; /* enrolled elsewhere */
                zz_test_idno(l->region, NULL, (int)i, p->id);
                p->n_idents = zz_test_rand(3);
                for (k = 0; k < p->n_idents; k++)
                        gen_ident(&p->idents[k], i, k, l);
                /* records sorted as the worker folds them */
                if (p->n_idents == 2 && strcmp(p->idents[0].department,
                                               p->idents[1].department) > 0) {
                        zz_test_ident_t t = p->idents[0];

                        p->idents[0] = p->idents[1];
                        p->idents[1] = t;
                }
                gen_enrollment(p, i, l, region);
        }
        return ps;
}

void zz_test_person_case(const zz_test_person_t *p, zz_identity_t idents[2],
                         zz_case_t *c)
{
        size_t k;

        zz_case_init(c);
        c->person_id = p->id;
        for (k = 0; k < p->n_idents; k++) {
                memset(&idents[k], 0, sizeof(idents[k]));
                idents[k].category = p->idents[k].category;
                idents[k].attrs = p->idents[k].attrs;
                idents[k].n_attrs = p->idents[k].n_attrs;
                idents[k].valid_from = p->idents[k].valid_from;
                idents[k].valid_to = p->idents[k].valid_to;
                idents[k].reported_at = p->idents[k].reported_at;
                idents[k].has_reported_at = 1;
                idents[k].approving_region = p->idents[k].approving;
                idents[k].action = ZZ_ACTION_GRANT;
        }
        c->identities = idents;
        c->n_identities = p->n_idents;
        if (p->enrolled) {
                c->has_enrollment = 1;
                c->region = p->region;
                c->household = p->household;
                c->enrollment.year = p->year;
                c->enrollment.tier = p->tier;
                c->enrollment.enroll_class = p->klass;
                c->enrollment.kind = ZZ_KIND_ANNUAL;
                c->enrollment.registered_on = p->registered_on;
                c->enrollment.region = p->region;
        }
        if (p->paid) {
                c->has_payment = 1;
                c->payment.paid_at = p->paid_at;
                c->payment.contribution_fen = p->contribution;
                c->payment.subsidy_applied_fen = p->applied;
                c->payment.paid_fen = p->paid_fen;
        }
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

void zz_test_person_identity(zz_test_msgs_t *ms, const zz_test_person_t *p,
                             const zz_test_ident_t *id)
{
        zz_event_identity_t e;
        zz_event_attr_t at[2];
        size_t k;

        memset(&e, 0, sizeof(e));
        for (k = 0; k < id->n_attrs && k < 2; k++) {
                at[k].key = id->attrs[k].key;
                at[k].value = id->attrs[k].value;
        }
        e.event_id = id->event_id;
        e.person_id = p->id;
        e.department = id->department;
        e.dept_record_id = id->record;
        e.action = ZZ_IDENTITY_ACTION_GRANT;
        e.category = id->category;
        e.attrs = at;
        e.attrs_count = k;
        e.valid_from = id->valid_from;
        e.valid_to = id->valid_to;
        e.approving_region = id->approving;
        e.residence_region = NULL;
        e.reported_at = id->reported_at;
        e.deceased_on = ZZ_DATE_NONE;
        e.channel = ZZ_CHANNEL_LIST_EXCHANGE;
        zz_test_msgs_identity(ms, &e);
}

void zz_test_person_enrollment(zz_test_msgs_t *ms, const zz_test_person_t *p)
{
        zz_event_enrollment_t e;

        memset(&e, 0, sizeof(e));
        e.event_id = p->enroll_event;
        e.person_id = p->id;
        e.department = "NHSA";
        e.dept_record_id = p->enroll_event;
        e.action = ZZ_ENROLLMENT_ACTION_REGISTER;
        e.household_id = p->household;
        e.year = p->year;
        e.tier = p->tier;
        /* the engine's classes, in the schema's order after UNKNOWN */
        e.enrollment_class =
            (zz_enrollment_class_t)(ZZ_ENROLLMENT_CLASS_ADULT + (int)p->klass);
        e.kind = ZZ_ENROLLMENT_KIND_ANNUAL;
        e.registered_on = p->registered_on;
        e.region = p->region;
        e.unit = NULL;
        e.reported_at = zz_ts_from_cst_date(p->registered_on);
        zz_test_msgs_enrollment(ms, &e);
}

void zz_test_person_payment(zz_test_msgs_t *ms, const zz_test_person_t *p,
                            zz_fen_t applied_override)
{
        zz_event_payment_t e;

        memset(&e, 0, sizeof(e));
        e.event_id = p->pay_event;
        e.person_id = p->id;
        e.department = "TAX";
        e.dept_record_id = p->pay_event;
        e.kind = ZZ_PAYMENT_KIND_PAYMENT;
        e.year = p->year;
        e.contribution_fen = p->contribution;
        e.subsidy_applied_fen =
            applied_override >= 0 ? applied_override : p->applied;
        e.paid_fen = p->paid_fen;
        e.refund_fen = 0;
        e.paid_at = p->paid_at;
        e.receipt = p->pay_event;
        zz_test_msgs_payment(ms, &e);
}

void zz_test_persons_msgs(zz_test_msgs_t *ms, const zz_test_person_t *ps,
                          size_t n)
{
        size_t i, k;

        for (i = 0; i < n; i++)
                for (k = 0; k < ps[i].n_idents; k++)
                        zz_test_person_identity(ms, &ps[i], &ps[i].idents[k]);
        for (i = 0; i < n; i++)
                if (ps[i].enrolled)
                        zz_test_person_enrollment(ms, &ps[i]);
        for (i = 0; i < n; i++)
                if (ps[i].paid)
                        zz_test_person_payment(ms, &ps[i], -1);
}
