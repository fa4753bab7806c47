/*
 * loadgen.c — the synthetic population of zizhu-loadgen.
 *
 * Every random choice comes from a xoshiro256** generator seeded by
 * splitmix64(seed, person index), so a person's facts do not depend on how
 * many random numbers earlier persons used. ID numbers are made unique by a
 * bijection from the county's person counter to (birth day, sequence):
 * counter times a large prime, modulo the county's space of birth days x
 * 1000 sequences.
 *
 * What a run generates per person, in this order: identity GRANTs (some
 * reported late, after the payment), the enrollment (most annual, some
 * mid-year, some outside the jurisdiction, some missing), the payment with
 * the subsidy tax applied from the flags it had at that moment (the policy
 * engine decides it), a refund by tax for part of the refunds due, and
 * revocations and deaths reported afterwards. The final facts are decided
 * again by the engine for the expected totals.
 */
#include "zizhu/loadgen.h"

#include <stdlib.h>
#include <string.h>

#include "zizhu/arena.h"
#include "zizhu/idno.h"
#include "zizhu/policy.h"
#include "zizhu/vocab.h"

/* ------------------------------------------------------------------ */
/* Random numbers                                                      */

typedef struct {
        uint64_t s[4];
} zz_rng_t;

static uint64_t splitmix(uint64_t *x)
{
        uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);

        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
}

static void rng_seed(zz_rng_t *r, uint64_t seed, uint64_t stream)
{
        uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ULL);
        int i;

        for (i = 0; i < 4; i++)
                r->s[i] = splitmix(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
        return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(zz_rng_t *r)
{
        uint64_t *s = r->s;
        uint64_t result = rotl(s[1] * 5, 7) * 9;
        uint64_t t = s[1] << 17;

        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
}

/* Uniform in [0, n). */
static uint64_t rng_below(zz_rng_t *r, uint64_t n)
{
        return n ? rng_next(r) % n : 0;
}

/* 1 with probability per-mille pm / 1000. */
static int rng_pm(zz_rng_t *r, unsigned pm)
{
        return rng_below(r, 1000) < pm;
}

/* ------------------------------------------------------------------ */
/* Jurisdictions                                                       */

struct zz_lg_jur {
        const char *name;
        const char *policy; /* file name without .yaml */
        const char *counties[8];
        int n_counties;
        /* Huilong: fixed villages with their targets as weights. */
        int villages_fixed;
        unsigned weight; /* share of a province, per mille */
};

static const struct zz_lg_jur zz_lg_jurs[] = {
    {"huilong", "huilong-2020", {"500155"}, 1, 1, 40},
    {"tongnan", "tongnan-2021", {"500152"}, 1, 0, 200},
    {"panzhihua",
     "panzhihua-2022",
     {"510402", "510403", "510411", "510421", "510422"},
     5,
     0,
     200},
    {"yubei", "yubei-2017", {"500112"}, 1, 0, 160},
    {"shantou",
     "shantou-2021",
     {"440507", "440511", "440512", "440513", "440514", "440515", "440523"},
     7,
     0,
     400},
};

#define ZZ_LG_NJURS (sizeof(zz_lg_jurs) / sizeof(zz_lg_jurs[0]))

/* Huilong's villages (附件 of 回龙府发〔2019〕49号), targets as weights. */
static const unsigned zz_hl_targets[16] = {2854, 1797, 1860, 2210, 1679, 1539,
                                           1916, 2028, 2051, 2195, 2452, 3274,
                                           2158, 2699, 3080, 2882};

const char *zz_loadgen_jurisdictions(void)
{
        return "huilong tongnan panzhihua yubei shantou province";
}

/* ------------------------------------------------------------------ */
/* Categories                                                          */

/* The share of each category among subsidized identities, per mille, in
 * the vocabulary's order (vocab.c): MCA.DIBAO 260, MCA.TEKUN 50, ...,
 * EDU.GRANT_STUDENT 25. */
static const unsigned zz_lg_cat_weight[ZZ_VOCAB_CATS] = {
    260, 50, 8,  8,  50, 20, 20, 4, /* MCA */
    30,                             /* MVA */
    200, 30, 50, 50,                /* RRB */
    130,                            /* DPF */
    40,  15, 5,  5,                 /* NHC */
    25};                            /* EDU */

static const char *pick_cat(zz_rng_t *r)
{
        uint64_t x = rng_below(r, 1000);
        int i;

        for (i = 0; i < ZZ_VOCAB_CATS; i++) {
                if (x < zz_lg_cat_weight[i])
                        return zz_vocab_cat(i)->code;
                x -= zz_lg_cat_weight[i];
        }
        return "MCA.DIBAO";
}

static void pick_attrs(zz_rng_t *r, const char *cat, char *out, size_t size)
{
        static const char *const bools[] = {"false", "true"};

        out[0] = '\0';
        if (strcmp(cat, "DPF.DISABLED") == 0) {
                snprintf(out, size, "level=%d", 1 + (int)rng_below(r, 4));
        } else if (strcmp(cat, "RRB.POOR") == 0) {
                int lifted = rng_pm(r, 700);

                if (lifted)
                        snprintf(out, size, "benefits_enjoyed=%s;lifted=true",
                                 bools[rng_pm(r, 800)]);
                else
                        snprintf(out, size, "lifted=false");
        } else if (strcmp(cat, "MCA.TEKUN") == 0 ||
                   strcmp(cat, "MCA.ORPHAN") == 0) {
                if (rng_pm(r, 700))
                        snprintf(out, size, "supported=dispersed");
                else
                        snprintf(out, size,
                                 "institution=FLY%03d;institution_level=%s;"
                                 "supported=institution",
                                 (int)rng_below(r, 20),
                                 rng_pm(r, 400) ? "city" : "district");
        } else if (strcmp(cat, "MCA.VAGRANT_SETTLED") == 0) {
                snprintf(out, size, "institution=JZZ%03d;institution_level=%s",
                         (int)rng_below(r, 5),
                         rng_pm(r, 500) ? "city" : "district");
        } else if (strcmp(cat, "MCA.LOW_INCOME") == 0) {
                static const char *const sub[] = {
                    "college_student", "elderly60", "minor", "seriously_ill"};

                snprintf(out, size, "subgroup=%s", sub[rng_below(r, 4)]);
        } else if (strcmp(cat, "MVA.PRIORITY_CARE") == 0) {
                if (rng_pm(r, 300))
                        snprintf(out, size,
                                 "disabled_veteran_grade=%d;old_demobilized="
                                 "false",
                                 1 + (int)rng_below(r, 10));
                else
                        snprintf(out, size, "old_demobilized=%s",
                                 bools[rng_pm(r, 300)]);
        } else if (strcmp(cat, "RRB.MONITORED") == 0) {
                static const char *const kinds[] = {"unstable_lifted", "edge",
                                                    "sudden_hardship"};

                snprintf(out, size, "kind=%s", kinds[rng_below(r, 3)]);
        } else if (strcmp(cat, "NHC.FP_SPECIAL") == 0 ||
                   strcmp(cat, "NHC.FP_ONLY_CHILD_DISABLED") == 0) {
                snprintf(out, size, "relation=%s",
                         rng_pm(r, 600) ? "self" : "child");
        }
}

/* ------------------------------------------------------------------ */
/* Totals                                                              */

#define ZZ_LG_MAX_PAYERS 12

/* What one payer funds: fen, and for how many persons. */
struct zz_lg_payer {
        char payer[8];
        int64_t fen;
        uint64_t persons;
};

struct zz_lg_totals {
        uint64_t persons, enrolled, paid, eligible, deceased;
        int64_t contribution_fen, subsidy_fen, due_fen, applied_fen;
        int64_t refunded_by_tax_fen;
        struct zz_lg_payer payers[ZZ_LG_MAX_PAYERS];
        size_t n_payers;
        /* Persons the pipeline decides under this policy: with an identity
         * (approved in the jurisdiction) or an enrollment inside it. The
         * others (no event at all, only an enrollment in a city outside
         * every policy, or only a death record) get no decision and no
         * reconciliation, so they are not counted by status. */
        uint64_t decided;
        uint64_t status_n[8];
        int64_t status_fen[8];
        /* What the settlement of every period allocates, net per payer
         * (the funding of persons who paid: promise 5) and by kind. */
        struct zz_lg_payer settled[ZZ_LG_MAX_PAYERS];
        size_t n_settled;
        int64_t settled_fen;
        int64_t settled_kind_fen[4]; /* see zz_lg_kinds */
};

/* Allocation kinds of the settled totals (cn.zizhu.AllocationKind). */
static const char *const zz_lg_kinds[4] = {"SUBSIDY", "REFUND_VIA_TAX",
                                           "REFUND_TO_PERSON", "RECOVERY"};

struct zz_lg_policy {
        const struct zz_lg_jur *jur;
        zz_policy_t *policy;
        int year;
        zz_date_t wf, wt;
        zz_fen_t tier_fen[3];
        uint32_t *county_counters;
        struct zz_lg_totals t;
};

struct zz_loadgen_s {
        zz_loadgen_options_t opt;
        char jurisdiction[32];
        struct zz_lg_policy pols[ZZ_LG_NJURS];
        size_t n_pols;
        zz_arena_t *arena;
        uint64_t events[4];
        uint64_t hh_counter;
};

zz_loadgen_t *zz_loadgen_new(const zz_loadgen_options_t *options, char *errstr,
                             size_t errstr_size)
{
        zz_loadgen_t *lg;
        size_t i;
        int province;

        if (options->jurisdiction == NULL || options->persons == 0) {
                snprintf(errstr, errstr_size,
                         "a jurisdiction and a number of persons are needed");
                return NULL;
        }
        province = strcmp(options->jurisdiction, "province") == 0;
        lg = calloc(1, sizeof(*lg));
        if (lg == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        lg->opt = *options;
        snprintf(lg->jurisdiction, sizeof(lg->jurisdiction), "%s",
                 options->jurisdiction);
        lg->opt.jurisdiction = lg->jurisdiction;
        lg->arena = zz_arena_new(0);
        for (i = 0; i < ZZ_LG_NJURS; i++) {
                const struct zz_lg_jur *j = &zz_lg_jurs[i];
                struct zz_lg_policy *p;
                char path[4096];
                int t;

                if (!province && strcmp(j->name, options->jurisdiction) != 0)
                        continue;
                p = &lg->pols[lg->n_pols++];
                p->jur = j;
                snprintf(path, sizeof(path), "%s/%s.yaml",
                         options->policy_dir ? options->policy_dir : "policies",
                         j->policy);
                p->policy = zz_policy_load_file(path, errstr, errstr_size);
                p->county_counters = calloc(8, sizeof(uint32_t));
                if (p->policy == NULL || p->county_counters == NULL) {
                        zz_loadgen_destroy(lg);
                        return NULL;
                }
                p->year = zz_policy_year(p->policy);
                zz_policy_window(p->policy, &p->wf, &p->wt);
                for (t = 1; t <= 2; t++)
                        p->tier_fen[t] = zz_policy_tier_fen(p->policy, t);
        }
        if (lg->n_pols == 0) {
                snprintf(errstr, errstr_size,
                         "unknown jurisdiction \"%s\" (one of: %s)",
                         options->jurisdiction, zz_loadgen_jurisdictions());
                zz_loadgen_destroy(lg);
                return NULL;
        }
        return lg;
}

void zz_loadgen_destroy(zz_loadgen_t *lg)
{
        size_t i;

        if (lg == NULL)
                return;
        for (i = 0; i < lg->n_pols; i++) {
                zz_policy_destroy(lg->pols[i].policy);
                free(lg->pols[i].county_counters);
        }
        zz_arena_destroy(lg->arena);
        free(lg);
}

uint64_t zz_loadgen_events(const zz_loadgen_t *lg, zz_feed_kind_t kind)
{
        return (unsigned)kind < 4 ? lg->events[kind] : 0;
}

/* ------------------------------------------------------------------ */
/* One person                                                          */

#define ZZ_LG_MAX_IDS 3
#define ZZ_DAY_MS     ((zz_ts_t)86400000)

struct zz_lg_person {
        char id[19];
        char region[16]; /* village */
        char household[32];
        zz_date_t birth;
        int n_ids;
        zz_feed_identity_t ids[ZZ_LG_MAX_IDS];
        int revoked[ZZ_LG_MAX_IDS];
        zz_ts_t revoke_at[ZZ_LG_MAX_IDS];
        zz_date_t deceased_on;
        zz_ts_t deceased_reported;
        int enrolled;
        zz_feed_enrollment_t enr;
        int paid;
        zz_feed_payment_t pay;
};

static void make_id(struct zz_lg_policy *p, int county, const char *code,
                    struct zz_lg_person *pp)
{
        /* Birth days from 1930-01-01 to 200 days before the window, times
         * 1000 sequences; multiplying by a prime larger than that space
         * (so coprime with it) is a bijection modulo the space: unique
         * numbers for up to `space` persons per county. */
        zz_date_t base = zz_date_from_ymd(1930, 1, 1);
        uint64_t days = (uint64_t)(p->wf - 200 - base);
        uint64_t space = days * 1000ULL;
        uint64_t k =
            ((uint64_t)p->county_counters[county]++ * 2654435761ULL) % space;
        int y, m, d;
        char first17[18];

        pp->birth = base + (zz_date_t)(k / 1000);
        zz_date_to_ymd(pp->birth, &y, &m, &d);
        snprintf(first17, sizeof(first17), "%.6s%04d%02d%02d%03d", code, y, m,
                 d, (int)(k % 1000));
        memcpy(pp->id, first17, 17);
        pp->id[17] = zz_idno_check_char(first17);
        pp->id[18] = '\0';
}

static void make_village(zz_rng_t *r, const struct zz_lg_jur *j,
                         const char *county, char out[16])
{
        if (j->villages_fixed) {
                uint64_t total = 0, x;
                int i;

                for (i = 0; i < 16; i++)
                        total += zz_hl_targets[i];
                x = rng_below(r, total);
                for (i = 0; i < 15 && x >= zz_hl_targets[i]; i++)
                        x -= zz_hl_targets[i];
                snprintf(out, 16, "500155107%03d", i + 1);
                return;
        }
        snprintf(out, 16, "%.6s%03u%03u", county,
                 (unsigned)(100 + rng_below(r, 25)),
                 (unsigned)(1 + rng_below(r, 30)));
}

/* Builds the engine's case from what is known at time `at` (all facts
 * when at is INT64_MAX). */
static void build_case(const struct zz_lg_person *pp, zz_ts_t at,
                       int with_payment, zz_case_t *c, zz_identity_t *ids,
                       zz_attr_t *attrs, char *attr_buf)
{
        int i;
        size_t na = 0;
        size_t off = 0;

        zz_case_init(c);
        c->person_id = pp->id;
        c->region = pp->region;
        c->household = pp->household;
        c->identities = ids;
        for (i = 0; i < pp->n_ids; i++) {
                const zz_feed_identity_t *r = &pp->ids[i];
                zz_identity_t *id;
                char *save = NULL;
                char *tok;
                size_t len = strlen(r->attrs);

                if (r->reported_at > at)
                        continue;
                id = &ids[c->n_identities++];
                memset(id, 0, sizeof(*id));
                id->category = r->category;
                id->valid_from = r->valid_from;
                id->valid_to = r->valid_to;
                id->reported_at = r->reported_at;
                id->has_reported_at = 1;
                id->approving_region = r->approving_region;
                id->action = pp->revoked[i] && pp->revoke_at[i] <= at
                                 ? ZZ_ACTION_REVOKE
                                 : ZZ_ACTION_GRANT;
                id->attrs = &attrs[na];
                memcpy(attr_buf + off, r->attrs, len + 1);
                for (tok = strtok_r(attr_buf + off, ";", &save); tok != NULL;
                     tok = strtok_r(NULL, ";", &save)) {
                        char *eq = strchr(tok, '=');

                        if (eq == NULL)
                                continue;
                        *eq = '\0';
                        attrs[na].key = tok;
                        attrs[na].value = eq + 1;
                        na++;
                        id->n_attrs++;
                }
                off += len + 1;
        }
        if (pp->deceased_on != ZZ_DATE_NONE && pp->deceased_reported <= at)
                c->deceased_on = pp->deceased_on;
        if (pp->enrolled && pp->enr.action == ZZ_FEED_ENR_REGISTER) {
                c->has_enrollment = 1;
                c->enrollment.year = pp->enr.year;
                c->enrollment.tier = pp->enr.tier;
                c->enrollment.enroll_class =
                    (zz_enroll_class_t)(pp->enr.enroll_class - 1);
                c->enrollment.kind = (zz_enroll_kind_t)(pp->enr.kind - 1);
                c->enrollment.registered_on = pp->enr.registered_on;
                c->enrollment.region = pp->enr.region;
                c->enrollment.unit = pp->enr.unit[0] ? pp->enr.unit : NULL;
        }
        if (with_payment && pp->paid) {
                c->has_payment = 1;
                c->payment.paid_at = pp->pay.paid_at;
                c->payment.contribution_fen = pp->pay.contribution_fen;
                c->payment.subsidy_applied_fen = pp->pay.subsidy_applied_fen;
                c->payment.paid_fen = pp->pay.paid_fen;
        }
}

/* The row of payer among rows[0..*n), added when missing; NULL when the
 * table is full. */
static struct zz_lg_payer *payer_row(struct zz_lg_payer *rows, size_t *n,
                                     const char *payer)
{
        size_t k;

        for (k = 0; k < *n; k++) {
                if (strcmp(rows[k].payer, payer) == 0)
                        return &rows[k];
        }
        if (*n == ZZ_LG_MAX_PAYERS)
                return NULL;
        snprintf(rows[k].payer, sizeof(rows[k].payer), "%s", payer);
        (*n)++;
        return &rows[k];
}

static void add_settled(struct zz_lg_totals *t, const zz_decision_t *d)
{
        int64_t net = 0;
        size_t i, k;

        for (i = 0; i < d->n_funding; i++) {
                struct zz_lg_payer *row;
                int64_t fen = 0;

                /* one person per payer, whatever the number of rules */
                for (k = 0; k < i; k++)
                        if (strcmp(d->funding[k].payer, d->funding[i].payer) ==
                            0)
                                break;
                if (k < i)
                        continue;
                for (k = i; k < d->n_funding; k++)
                        if (strcmp(d->funding[k].payer, d->funding[i].payer) ==
                            0)
                                fen += d->funding[k].fen;
                row = payer_row(t->settled, &t->n_settled, d->funding[i].payer);
                if (row == NULL || fen == 0)
                        continue;
                row->fen += fen;
                row->persons++;
                net += fen;
        }
        t->settled_fen += net;
        /* The refund owed is paid on top of what tax applied; an excess
         * applied for a revoked identity is reimbursed and recovered (a
         * SUBSIDY of +excess and a RECOVERY of -excess, net 0). */
        if (d->reconciliation.status == ZZ_RECON_REFUND_DUE) {
                int kind =
                    d->reconciliation.route == ZZ_ROUTE_TO_PERSON ? 2 : 1;

                t->settled_kind_fen[kind] += d->reconciliation.fen;
                t->settled_kind_fen[0] += net - d->reconciliation.fen;
        } else if (d->reconciliation.status == ZZ_RECON_RECOVERY_DUE) {
                t->settled_kind_fen[3] -= d->reconciliation.fen;
                t->settled_kind_fen[0] += net + d->reconciliation.fen;
        } else {
                t->settled_kind_fen[0] += net;
        }
}

static void add_totals(const struct zz_lg_policy *p, struct zz_lg_totals *t,
                       const struct zz_lg_person *pp, const zz_decision_t *d)
{
        size_t i;
        int decided = pp->n_ids > 0 ||
                      (pp->enrolled &&
                       zz_policy_in_jurisdiction(p->policy, pp->enr.region));

        t->persons++;
        t->enrolled += (uint64_t)(pp->enrolled != 0);
        t->paid += (uint64_t)(pp->paid != 0);
        t->deceased += (uint64_t)(pp->deceased_on != ZZ_DATE_NONE);
        if (d->eligible)
                t->eligible++;
        t->contribution_fen += d->contribution_fen;
        t->subsidy_fen += d->subsidy_fen;
        t->due_fen += d->individual_due_fen;
        if (pp->paid)
                t->applied_fen += pp->pay.subsidy_applied_fen;
        for (i = 0; i < d->n_funding; i++) {
                struct zz_lg_payer *row =
                    payer_row(t->payers, &t->n_payers, d->funding[i].payer);

                if (row == NULL)
                        continue;
                row->fen += d->funding[i].fen;
                row->persons++;
        }
        if (pp->paid)
                add_settled(t, d);
        if (!decided)
                return;
        t->decided++;
        if ((unsigned)d->reconciliation.status < 8) {
                t->status_n[d->reconciliation.status]++;
                t->status_fen[d->reconciliation.status] +=
                    d->reconciliation.fen;
        }
}

static int emit_rec(zz_loadgen_t *lg, zz_feed_record_t *rec,
                    zz_feed_record_cb emit, void *opaque)
{
        zz_feed_event_id(rec);
        lg->events[rec->kind]++;
        return emit(rec, opaque);
}

/* One person being generated, and where its records go. */
struct zz_lg_gen {
        zz_loadgen_t *lg;
        uint64_t index;
        zz_rng_t r;
        struct zz_lg_policy *p;
        const struct zz_lg_jur *j;
        int county;
        int age;
        int late[ZZ_LG_MAX_IDS]; /* flag reaches tax after the payment */
        zz_date_t pay_day;
        struct zz_lg_person pp;
        zz_feed_record_cb emit;
        void *opaque;
        char *errstr;
        size_t errstr_size;
};

/* A person's case as the engine reads it, with room for its identities
 * and their attributes. */
struct zz_lg_case {
        zz_case_t c;
        zz_identity_t ids[ZZ_LG_MAX_IDS];
        zz_attr_t attrs[ZZ_LG_MAX_IDS * 4];
        char buf[ZZ_LG_MAX_IDS * ZZ_FEED_ATTRS_SIZE];
};

/* Decides the person from what is known at `at`. -1 with errstr when the
 * policy refuses the case (with the engine's reason when reason is set). */
static int decide(struct zz_lg_gen *g, zz_ts_t at, int with_payment,
                  struct zz_lg_case *lc, zz_decision_t *d, int reason)
{
        build_case(&g->pp, at, with_payment, &lc->c, lc->ids, lc->attrs,
                   lc->buf);
        zz_arena_reset(g->lg->arena);
        if (zz_policy_eval_ex(g->p->policy, &lc->c, d, g->lg->arena,
                              ZZ_EVAL_NO_TRACE) == 0)
                return 0;
        if (reason)
                snprintf(g->errstr, g->errstr_size,
                         "policy %s refused person %llu: %s", g->j->policy,
                         (unsigned long long)g->index,
                         d->error ? d->error : "?");
        else
                snprintf(g->errstr, g->errstr_size,
                         "policy %s refused person %llu", g->j->policy,
                         (unsigned long long)g->index);
        return -1;
}

/* The jurisdiction (by weight, in a province), county, ID number, village,
 * household and age. */
static void gen_place(struct zz_lg_gen *g)
{
        zz_loadgen_t *lg = g->lg;
        struct zz_lg_person *pp = &g->pp;

        rng_seed(&g->r, lg->opt.seed, g->index);
        pp->deceased_on = ZZ_DATE_NONE;
        g->p = &lg->pols[0];
        if (lg->n_pols > 1) {
                uint64_t x = rng_below(&g->r, 1000);
                size_t k;

                for (k = 0; k + 1 < lg->n_pols && x >= lg->pols[k].jur->weight;
                     k++)
                        x -= lg->pols[k].jur->weight;
                g->p = &lg->pols[k];
        }
        g->j = g->p->jur;
        g->county = (int)rng_below(&g->r, (uint64_t)g->j->n_counties);
        make_id(g->p, g->county, g->j->counties[g->county], pp);
        make_village(&g->r, g->j, g->j->counties[g->county], pp->region);
        /* Households of about three: consecutive persons share one. */
        snprintf(pp->household, sizeof(pp->household), "H%s-%07llu",
                 g->j->counties[g->county], (unsigned long long)(g->index / 3));
        g->age = (int)((g->p->wf - pp->birth) / 365);
}

/* Identity n of the person, as the list exchange before the window
 * reports it. */
static void gen_identity(struct zz_lg_gen *g, int n)
{
        const struct zz_lg_policy *p = g->p;
        struct zz_lg_person *pp = &g->pp;
        zz_feed_identity_t *id = &pp->ids[pp->n_ids];
        const char *cat = pick_cat(&g->r);
        char dept[8];

        if (strcmp(cat, "EDU.GRANT_STUDENT") == 0 &&
            (g->age < 17 || g->age > 25))
                cat = "MCA.DIBAO";
        snprintf(dept, sizeof(dept), "%.3s", cat);
        snprintf(id->person_id, sizeof(id->person_id), "%s", pp->id);
        snprintf(id->department, sizeof(id->department), "%s", dept);
        snprintf(id->dept_record_id, sizeof(id->dept_record_id),
                 "%s-%s-%llu-%d", dept, g->j->name,
                 (unsigned long long)g->index, n);
        id->action = ZZ_FEED_ID_GRANT;
        snprintf(id->category, sizeof(id->category), "%s", cat);
        pick_attrs(&g->r, cat, id->attrs, sizeof(id->attrs));
        id->valid_from = p->wf - 30 - (zz_date_t)rng_below(&g->r, 3000);
        if (id->valid_from < pp->birth)
                id->valid_from = pp->birth;
        id->valid_to = ZZ_DATE_NONE;
        /* A few ended before the year began. */
        if (rng_pm(&g->r, 30))
                id->valid_to = p->wf - 1 - (zz_date_t)rng_below(&g->r, 300);
        if (id->valid_to != ZZ_DATE_NONE && id->valid_to < id->valid_from)
                id->valid_to = id->valid_from;
        id->deceased_on = ZZ_DATE_NONE;
        /* Approved by the county (Shantou allocates by it). */
        snprintf(id->approving_region, sizeof(id->approving_region), "%.6s",
                 pp->region);
        snprintf(id->residence_region, sizeof(id->residence_region), "%s",
                 pp->region);
        /* The list exchange before the window. */
        id->reported_at = zz_ts_from_cst_date(p->wf - 15) +
                          (zz_ts_t)rng_below(&g->r, 10 * 3600) * 1000;
        g->late[pp->n_ids] = rng_pm(&g->r, 80);
        pp->n_ids++;
}

/* 15 % of persons hold one identity, a fifth of those two. */
static void gen_identities(struct zz_lg_gen *g)
{
        int i, n;

        if (!rng_pm(&g->r, 150))
                return;
        n = rng_pm(&g->r, 200) ? 2 : 1;
        for (i = 0; i < n; i++)
                gen_identity(g, i);
}

/* Most enroll: annual or mid-year, 2 % in a city outside every policy. */
static void gen_enrollment(struct zz_lg_gen *g)
{
        const struct zz_lg_policy *p = g->p;
        struct zz_lg_person *pp = &g->pp;
        zz_feed_enrollment_t *e = &pp->enr;
        zz_date_t span = p->wt - p->wf;

        if (!rng_pm(&g->r, 930))
                return;
        pp->enrolled = 1;
        snprintf(e->person_id, sizeof(e->person_id), "%s", pp->id);
        snprintf(e->department, sizeof(e->department), "NHSA");
        snprintf(e->dept_record_id, sizeof(e->dept_record_id), "EN%d-%s-%llu",
                 p->year, g->j->name, (unsigned long long)g->index);
        e->action = ZZ_FEED_ENR_REGISTER;
        snprintf(e->household_id, sizeof(e->household_id), "%s", pp->household);
        e->year = p->year;
        e->tier = p->tier_fen[2] > 0 && rng_pm(&g->r, 150) ? 2 : 1;
        e->enroll_class = g->age < 18 ? ZZ_FEED_CLASS_STUDENT_CHILD
                          : g->age <= 22 && rng_pm(&g->r, 400)
                              ? ZZ_FEED_CLASS_COLLEGE
                              : ZZ_FEED_CLASS_ADULT;
        if (rng_pm(&g->r, 40)) {
                e->kind = ZZ_FEED_KIND_MID_YEAR;
                e->registered_on =
                    p->wf + span / 2 +
                    (zz_date_t)rng_below(&g->r, (uint64_t)(span / 2));
        } else {
                e->kind = ZZ_FEED_KIND_ANNUAL;
                e->registered_on =
                    p->wf +
                    (zz_date_t)rng_below(&g->r, (uint64_t)(span * 6 / 10));
        }
        /* 2 % enroll elsewhere (a city outside every policy). */
        if (rng_pm(&g->r, 20))
                snprintf(e->region, sizeof(e->region), "500101%03u%03u",
                         (unsigned)(100 + rng_below(&g->r, 20)),
                         (unsigned)(1 + rng_below(&g->r, 30)));
        else
                snprintf(e->region, sizeof(e->region), "%s", pp->region);
        e->reported_at = zz_ts_from_cst_date(e->registered_on + 1);
}

/* Identities new in the window, and flags that reach tax late. */
static void gen_late(struct zz_lg_gen *g)
{
        struct zz_lg_person *pp = &g->pp;
        int i;

        g->pay_day = pp->enrolled ? pp->enr.registered_on : g->p->wt;
        for (i = 0; i < pp->n_ids; i++) {
                zz_feed_identity_t *id = &pp->ids[i];

                if (!g->late[i])
                        continue;
                id->valid_from =
                    g->pay_day - 1 - (zz_date_t)rng_below(&g->r, 20);
                if (id->valid_from < pp->birth)
                        id->valid_from = pp->birth;
                id->valid_to = ZZ_DATE_NONE;
                id->reported_at = zz_ts_from_cst_date(
                    g->pay_day + 5 + (zz_date_t)rng_below(&g->r, 40));
        }
}

/* The payment, with the subsidy tax applied from the flags it had (the
 * engine decides it). -1 with errstr when the policy refuses the case. */
static int gen_payment(struct zz_lg_gen *g)
{
        const struct zz_lg_policy *p = g->p;
        struct zz_lg_person *pp = &g->pp;
        zz_feed_payment_t *py = &pp->pay;
        zz_fen_t applied = 0;
        zz_fen_t contribution;

        if (!pp->enrolled || !rng_pm(&g->r, 960))
                return 0;
        contribution = p->tier_fen[pp->enr.tier];
        pp->paid = 1;
        py->paid_at = zz_ts_from_cst_date(g->pay_day) +
                      (zz_ts_t)(8 * 3600 + rng_below(&g->r, 9 * 3600)) * 1000;
        if (!g->lg->opt.no_expected) {
                struct zz_lg_case lc;
                zz_decision_t d;

                if (decide(g, py->paid_at, 0, &lc, &d, 1) != 0)
                        return -1;
                applied = d.subsidy_fen;
                if (applied > contribution)
                        applied = contribution;
        }
        snprintf(py->person_id, sizeof(py->person_id), "%s", pp->id);
        snprintf(py->department, sizeof(py->department), "TAX");
        snprintf(py->receipt, sizeof(py->receipt), "SP%d%s%09llu", p->year,
                 g->j->counties[g->county], (unsigned long long)g->index);
        snprintf(py->dept_record_id, sizeof(py->dept_record_id), "%s",
                 py->receipt);
        py->kind = ZZ_FEED_PAY_PAYMENT;
        py->year = p->year;
        py->contribution_fen = contribution;
        py->subsidy_applied_fen = applied;
        py->paid_fen = contribution - applied;
        return 0;
}

/* Revocations (found erroneous after the payment) and deaths. */
static void gen_after(struct zz_lg_gen *g)
{
        const struct zz_lg_policy *p = g->p;
        struct zz_lg_person *pp = &g->pp;
        int i;

        for (i = 0; i < pp->n_ids; i++) {
                if (rng_pm(&g->r, 12)) {
                        pp->revoked[i] = 1;
                        pp->revoke_at[i] = zz_ts_from_cst_date(g->pay_day + 30);
                }
        }
        if (rng_pm(&g->r, 6)) {
                pp->deceased_on = p->wf + (zz_date_t)rng_below(
                                              &g->r, (uint64_t)(p->wt - p->wf));
                pp->deceased_reported =
                    zz_ts_from_cst_date(pp->deceased_on + 7);
        }
}

static int emit_kind(struct zz_lg_gen *g, zz_feed_record_t *rec,
                     zz_feed_kind_t kind)
{
        rec->kind = kind;
        return emit_rec(g->lg, rec, g->emit, g->opaque);
}

static int emit_identity(struct zz_lg_gen *g, const zz_feed_identity_t *id)
{
        zz_feed_record_t rec;

        memset(&rec, 0, sizeof(rec));
        rec.u.identity = *id;
        return emit_kind(g, &rec, ZZ_FEED_IDENTITY);
}

/* The death record: about the person, not an identity. */
static int emit_death(struct zz_lg_gen *g)
{
        const struct zz_lg_person *pp = &g->pp;
        zz_feed_identity_t id;

        memset(&id, 0, sizeof(id));
        snprintf(id.person_id, sizeof(id.person_id), "%s", pp->id);
        snprintf(id.department, sizeof(id.department), "MCA");
        snprintf(id.dept_record_id, sizeof(id.dept_record_id), "D-%s-%llu",
                 g->j->name, (unsigned long long)g->index);
        id.action = ZZ_FEED_ID_DECEASED;
        id.valid_from = pp->deceased_on;
        id.valid_to = ZZ_DATE_NONE;
        id.deceased_on = pp->deceased_on;
        snprintf(id.approving_region, sizeof(id.approving_region), "%.6s",
                 pp->region);
        snprintf(id.residence_region, sizeof(id.residence_region), "%s",
                 pp->region);
        id.reported_at = pp->deceased_reported;
        return emit_identity(g, &id);
}

/* The person's events in the order they happen: identities, enrollment,
 * payment, revocations, death. */
static int emit_person(struct zz_lg_gen *g)
{
        const struct zz_lg_person *pp = &g->pp;
        zz_feed_record_t rec;
        int i, rc = 0;

        for (i = 0; i < pp->n_ids && rc == 0; i++)
                rc = emit_identity(g, &pp->ids[i]);
        if (rc == 0 && pp->enrolled) {
                memset(&rec, 0, sizeof(rec));
                rec.u.enrollment = pp->enr;
                rc = emit_kind(g, &rec, ZZ_FEED_ENROLLMENT);
        }
        if (rc == 0 && pp->paid) {
                memset(&rec, 0, sizeof(rec));
                rec.u.payment = pp->pay;
                rc = emit_kind(g, &rec, ZZ_FEED_PAYMENT);
        }
        for (i = 0; i < pp->n_ids && rc == 0; i++) {
                zz_feed_identity_t revoke = pp->ids[i];

                if (!pp->revoked[i])
                        continue;
                revoke.action = ZZ_FEED_ID_REVOKE;
                revoke.reported_at = pp->revoke_at[i];
                rc = emit_identity(g, &revoke);
        }
        if (rc == 0 && pp->deceased_on != ZZ_DATE_NONE)
                rc = emit_death(g);
        return rc;
}

/* Tax refunds about half of the refunds due through it (that it can take back
 * from what the person paid): the refund is then part of the facts. */
static int gen_refund(struct zz_lg_gen *g, struct zz_lg_case *lc,
                      zz_decision_t *d)
{
        zz_feed_payment_t *py = &g->pp.pay;
        zz_feed_record_t rec;
        int rc;

        if (!g->pp.paid || d->reconciliation.status != ZZ_RECON_REFUND_DUE ||
            d->reconciliation.route != ZZ_ROUTE_VIA_TAX ||
            d->reconciliation.fen <= 0 ||
            d->reconciliation.fen > py->paid_fen || !rng_pm(&g->r, 500))
                return 0;
        memset(&rec, 0, sizeof(rec));
        rec.u.payment = *py;
        rec.u.payment.kind = ZZ_FEED_PAY_REFUND;
        rec.u.payment.refund_fen = d->reconciliation.fen;
        rec.u.payment.subsidy_applied_fen += d->reconciliation.fen;
        rec.u.payment.paid_fen -= d->reconciliation.fen;
        rec.u.payment.paid_at = py->paid_at + 60 * ZZ_DAY_MS;
        snprintf(rec.u.payment.dept_record_id,
                 sizeof(rec.u.payment.dept_record_id), "R-%.60s", py->receipt);
        g->p->t.refunded_by_tax_fen += d->reconciliation.fen;
        *py = rec.u.payment;
        rc = emit_kind(g, &rec, ZZ_FEED_PAYMENT);
        if (rc != 0)
                return rc;
        return decide(g, INT64_MAX, 1, lc, d, 0);
}

/* The final decision, after a refund by tax if there is one, into the
 * expected totals. */
static int gen_expected(struct zz_lg_gen *g)
{
        struct zz_lg_case lc;
        zz_decision_t d;
        int rc;

        if (g->lg->opt.no_expected) {
                g->p->t.persons++;
                return 0;
        }
        if (decide(g, INT64_MAX, 1, &lc, &d, 1) != 0)
                return -1;
        rc = gen_refund(g, &lc, &d);
        if (rc != 0)
                return rc;
        add_totals(g->p, &g->p->t, &g->pp, &d);
        return 0;
}

static int gen_person(zz_loadgen_t *lg, uint64_t index, zz_feed_record_cb emit,
                      void *opaque, char *errstr, size_t errstr_size)
{
        struct zz_lg_gen g;
        int rc;

        memset(&g, 0, sizeof(g));
        g.lg = lg;
        g.index = index;
        g.emit = emit;
        g.opaque = opaque;
        g.errstr = errstr;
        g.errstr_size = errstr_size;
        gen_place(&g);
        gen_identities(&g);
        gen_enrollment(&g);
        gen_late(&g);
        if (gen_payment(&g) != 0)
                return -1;
        gen_after(&g);
        rc = emit_person(&g);
        if (rc != 0)
                return rc;
        return gen_expected(&g);
}

int zz_loadgen_run(zz_loadgen_t *lg, zz_feed_record_cb emit, void *opaque,
                   char *errstr, size_t errstr_size)
{
        uint64_t i;

        for (i = 0; i < lg->opt.persons; i++) {
                int rc = gen_person(lg, i, emit, opaque, errstr, errstr_size);

                if (rc != 0)
                        return rc;
        }
        return 0;
}

/* {"MAF": {"persons": 3, "fen": 75000}, ...} without the braces. */
static void write_payers(FILE *fp, const struct zz_lg_payer *rows, size_t n)
{
        size_t k;

        for (k = 0; k < n; k++)
                fprintf(fp, "%s\"%s\": {\"persons\": %llu, \"fen\": %lld}",
                        k ? ", " : "", rows[k].payer,
                        (unsigned long long)rows[k].persons,
                        (long long)rows[k].fen);
}

/* The expected totals of one policy, as one object of "policies". */
static void write_policy(FILE *fp, const struct zz_lg_policy *p, int first)
{
        static const zz_recon_status_t statuses[] = {
            ZZ_RECON_OK,           ZZ_RECON_REFUND_DUE,
            ZZ_RECON_RECOVERY_DUE, ZZ_RECON_UNFUNDED_SUBSIDY,
            ZZ_RECON_NOT_ENROLLED, ZZ_RECON_ENROLLED_ELSEWHERE,
            ZZ_RECON_NOT_ELIGIBLE, ZZ_RECON_PENDING};
        const struct zz_lg_totals *t = &p->t;
        size_t k;

        fprintf(fp,
                "%s\n  {\"policy\": \"%s\", \"version\": \"%s\", "
                "\"year\": %d,\n"
                "   \"persons\": %llu, \"enrolled\": %llu, "
                "\"paid\": %llu, \"eligible\": %llu, "
                "\"deceased\": %llu,\n"
                "   \"contribution_fen\": %lld, \"subsidy_fen\": "
                "%lld, \"individual_due_fen\": %lld, "
                "\"subsidy_applied_fen\": %lld, "
                "\"refunded_by_tax_fen\": %lld,\n"
                "   \"by_payer\": {",
                first ? "" : ",", zz_policy_name(p->policy),
                zz_policy_version(p->policy), p->year,
                (unsigned long long)t->persons, (unsigned long long)t->enrolled,
                (unsigned long long)t->paid, (unsigned long long)t->eligible,
                (unsigned long long)t->deceased, (long long)t->contribution_fen,
                (long long)t->subsidy_fen, (long long)t->due_fen,
                (long long)t->applied_fen, (long long)t->refunded_by_tax_fen);
        write_payers(fp, t->payers, t->n_payers);
        fprintf(fp,
                "},\n   \"decided\": %llu, \"settled\": {\"fen\": "
                "%lld, \"by_payer\": {",
                (unsigned long long)t->decided, (long long)t->settled_fen);
        write_payers(fp, t->settled, t->n_settled);
        fprintf(fp, "}, \"by_kind\": {");
        for (k = 0; k < 4; k++)
                fprintf(fp, "%s\"%s\": %lld", k ? ", " : "", zz_lg_kinds[k],
                        (long long)t->settled_kind_fen[k]);
        fprintf(fp, "}},\n   \"reconciliation\": {");
        for (k = 0; k < 8; k++)
                fprintf(fp, "%s\"%s\": {\"persons\": %llu, \"fen\": %lld}",
                        k ? ", " : "", zz_recon_status_name(statuses[k]),
                        (unsigned long long)t->status_n[statuses[k]],
                        (long long)t->status_fen[statuses[k]]);
        fprintf(fp, "}}");
}

int zz_loadgen_write_expected(const zz_loadgen_t *lg, FILE *fp)
{
        size_t i;

        fprintf(fp,
                "{\"generator\": \"zizhu-loadgen\", \"seed\": %llu, "
                "\"jurisdiction\": \"%s\", \"persons\": %llu,\n"
                " \"expected_computed\": %s,\n"
                " \"events\": {\"identity\": %llu, \"enrollment\": %llu, "
                "\"payment\": %llu, \"control\": %llu},\n"
                " \"policies\": [",
                (unsigned long long)lg->opt.seed, lg->opt.jurisdiction,
                (unsigned long long)lg->opt.persons,
                lg->opt.no_expected ? "false" : "true",
                (unsigned long long)lg->events[0],
                (unsigned long long)lg->events[1],
                (unsigned long long)lg->events[2],
                (unsigned long long)lg->events[3]);
        for (i = 0; i < lg->n_pols; i++)
                write_policy(fp, &lg->pols[i], i == 0);
        fprintf(fp, "\n ]}\n");
        return ferror(fp) ? -1 : 0;
}
