/*
 * test_policy_props.c — properties of the engine over thousands of
 * generated persons (seeded PRNG, so a failure replays):
 *   - the subsidy never exceeds the enrolled contribution, never negative;
 *   - funding adds up to the subsidy, and due = contribution - subsidy;
 *   - under max and topup, adding an identity never lowers the subsidy;
 *   - under topup each stage pays no more than its standard;
 *   - reconciliation amounts agree with what tax applied;
 *   - eval is deterministic, and the trace does not change the amounts.
 * Also prints decisions per second (single core).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "zizhu/arena.h"
#include "zizhu/policy.h"
#include "zizhu/vocab.h"
#include "zizhu/policy_json.h"

#define N_PERSONS 3000

static const char *const policies[] = {"tongnan-2021", "panzhihua-2022",
                                       "huilong-2020", "yubei-2017",
                                       "shantou-2021"};
/* A region inside each policy's jurisdiction, and one outside. */
static const char *const inside[] = {"500152101001", "510402001001",
                                     "500155107003", "500112001001",
                                     "440507001001"};

/* Categories come from the one vocabulary table (vocab.h). */

struct rng {
        uint64_t s;
};

static uint64_t next(struct rng *r)
{
        /* xorshift64* */
        r->s ^= r->s >> 12;
        r->s ^= r->s << 25;
        r->s ^= r->s >> 27;
        return r->s * 2685821657736338717ULL;
}

static int pick(struct rng *r, int n)
{
        return (int)(next(r) % (uint64_t)n);
}

static zz_policy_t *load(const char *name)
{
        char path[512], err[512];
        zz_policy_t *p;

        snprintf(path, sizeof(path), "%s/policies/%s.yaml", ZZ_SOURCE_DIR,
                 name);
        p = zz_policy_load_file(path, err, sizeof(err));
        cr_assert_not_null(p, "%s", err);
        return p;
}

static const char *word(struct rng *r, const char *const *w, int n)
{
        return w[pick(r, n)];
}

/* Random but plausible attributes for a category. */
static void gen_attrs(struct rng *r, zz_arena_t *a, zz_identity_t *id)
{
        static const char *const tf[] = {"true", "false"};
        static const char *const sup[] = {"dispersed", "institution"};
        static const char *const lvl[] = {"city", "district", "town"};
        static const char *const sub[] = {"college_student", "elderly60",
                                          "minor", "seriously_ill"};
        static const char *const kind[] = {"unstable_lifted", "edge",
                                           "sudden_hardship"};
        static const char *const rel[] = {"self", "child"};
        static const char *const digits[] = {"1", "2", "3", "4", "5",
                                             "6", "7", "8", "9", "10"};
        zz_attr_t *at = zz_arena_calloc(a, 3, sizeof(*at));
        const char *c = id->category;
        size_t n = 0;

        if (strcmp(c, "MCA.TEKUN") == 0 || strcmp(c, "MCA.ORPHAN") == 0) {
                if (pick(r, 5) != 0)
                        at[n++] = (zz_attr_t){"supported", word(r, sup, 2)};
                if (pick(r, 2) == 0)
                        at[n++] =
                            (zz_attr_t){"institution_level", word(r, lvl, 3)};
        } else if (strcmp(c, "MCA.VAGRANT_SETTLED") == 0) {
                at[n++] = (zz_attr_t){"institution_level", word(r, lvl, 3)};
        } else if (strcmp(c, "MCA.LOW_INCOME") == 0) {
                at[n++] = (zz_attr_t){"subgroup", word(r, sub, 4)};
        } else if (strcmp(c, "MVA.PRIORITY_CARE") == 0) {
                if (pick(r, 2) == 0)
                        at[n++] = (zz_attr_t){"disabled_veteran_grade",
                                              word(r, digits, 10)};
                at[n++] = (zz_attr_t){"old_demobilized", word(r, tf, 2)};
        } else if (strcmp(c, "RRB.POOR") == 0) {
                /* lifted is required (vocab.c): a record without it
                 * is an error, tested in test_policy.c */
                at[n++] = (zz_attr_t){"lifted", word(r, tf, 2)};
                at[n++] = (zz_attr_t){"benefits_enjoyed", word(r, tf, 2)};
        } else if (strcmp(c, "RRB.MONITORED") == 0) {
                at[n++] = (zz_attr_t){"kind", word(r, kind, 3)};
        } else if (strcmp(c, "DPF.DISABLED") == 0) {
                at[n++] = (zz_attr_t){"level", word(r, digits, 4)};
        } else if (strcmp(c, "NHC.FP_SPECIAL") == 0 ||
                   strcmp(c, "NHC.FP_ONLY_CHILD_DISABLED") == 0) {
                if (pick(r, 8) != 0)
                        at[n++] = (zz_attr_t){"relation", word(r, rel, 2)};
        }
        id->attrs = at;
        id->n_attrs = n;
}

static void gen_identity(struct rng *r, zz_arena_t *a, zz_date_t w0,
                         zz_date_t w1, zz_identity_t *id)
{
        zz_date_t span = w1 - w0 + 1;

        memset(id, 0, sizeof(*id));
        id->category = zz_vocab_cat(pick(r, ZZ_VOCAB_CATS))->code;
        gen_attrs(r, a, id);
        /* mostly long-standing, sometimes starting or ending in the
         * window */
        id->valid_from =
            pick(r, 3) == 0 ? w0 + pick(r, (int)span) : w0 - 1 - pick(r, 2000);
        id->valid_to = pick(r, 4) == 0
                           ? id->valid_from + pick(r, (int)span + 60)
                           : ZZ_DATE_NONE;
        if (pick(r, 2) == 0) {
                id->has_reported_at = 1;
                id->reported_at =
                    zz_ts_from_cst_date(id->valid_from + pick(r, 200));
        }
        id->approving_region = pick(r, 2) == 0 ? "440507" : "500155";
        id->action = pick(r, 10) == 0 ? ZZ_ACTION_REVOKE : ZZ_ACTION_GRANT;
}

/* One generated person; identities has room for one more. */
static void gen_case(struct rng *r, zz_arena_t *a, const zz_policy_t *p, int pi,
                     zz_case_t *c)
{
        zz_date_t w0, w1, span;
        zz_identity_t *ids;
        size_t i, n = (size_t)pick(r, 5);
        int tiers = zz_policy_tier_fen(p, 2) > 0 ? 2 : 1;

        zz_policy_window(p, &w0, &w1);
        span = w1 - w0 + 1;
        zz_case_init(c);
        c->name = "gen";
        c->region = inside[pi];
        ids = zz_arena_calloc(a, n + 1, sizeof(*ids));
        for (i = 0; i < n; i++)
                gen_identity(r, a, w0, w1, &ids[i]);
        c->identities = ids;
        c->n_identities = n;
        if (pick(r, 20) == 0)
                c->deceased_on = w0 + pick(r, (int)span);
        if (pick(r, 5) != 0) {
                c->has_enrollment = 1;
                c->enrollment.year = zz_policy_year(p);
                c->enrollment.tier = 1 + pick(r, tiers);
                c->enrollment.enroll_class = (zz_enroll_class_t)pick(r, 3);
                c->enrollment.kind = (zz_enroll_kind_t)pick(r, 2);
                c->enrollment.registered_on = w0 - 5 + pick(r, (int)span + 10);
                c->enrollment.region =
                    pick(r, 8) == 0 ? "110101001001" : inside[pi];
                if (pick(r, 10) < 7) {
                        zz_fen_t contrib =
                            zz_policy_tier_fen(p, c->enrollment.tier);
                        zz_fen_t applied;

                        switch (pick(r, 3)) {
                        case 0:
                                applied = 0;
                                break;
                        case 1:
                                applied = contrib;
                                break;
                        default:
                                applied = pick(r, (int)contrib + 1);
                                break;
                        }
                        c->has_payment = 1;
                        c->payment.paid_at =
                            zz_ts_from_cst_date(c->enrollment.registered_on +
                                                pick(r, 30)) +
                            pick(r, 86400000);
                        c->payment.contribution_fen = contrib;
                        c->payment.subsidy_applied_fen = applied;
                        c->payment.paid_fen = contrib - applied;
                }
        }
}

static void check_invariants(const zz_policy_t *p, const zz_case_t *c,
                             const zz_decision_t *d, int is_topup)
{
        zz_fen_t sum = 0, applied;
        size_t i, j;

        cr_assert_geq(d->subsidy_fen, 0);
        cr_assert_leq(d->subsidy_fen, d->contribution_fen,
                      "subsidy %lld above contribution %lld",
                      (long long)d->subsidy_fen,
                      (long long)d->contribution_fen);
        if (c->has_enrollment && d->contribution_fen > 0)
                cr_assert_eq(d->contribution_fen,
                             zz_policy_tier_fen(p, c->enrollment.tier));
        cr_assert_eq(d->individual_due_fen,
                     d->contribution_fen - d->subsidy_fen);
        for (i = 0; i < d->n_funding; i++) {
                cr_assert_gt(d->funding[i].fen, 0);
                sum += d->funding[i].fen;
        }
        cr_assert_eq(sum, d->subsidy_fen, "funding %lld != subsidy %lld",
                     (long long)sum, (long long)d->subsidy_fen);
        if (is_topup) {
                /* each stage pays no more than its standard (the amount
                 * of its rule, capped) */
                for (i = 0; i < d->n_funding; i++) {
                        int found = 0;

                        for (j = 0; j < d->n_trace; j++) {
                                const zz_trace_entry_t *t = &d->trace[j];

                                if (t->kind != ZZ_TRACE_RULE ||
                                    strcmp(t->rule, d->funding[i].rule) != 0)
                                        continue;
                                found = 1;
                                cr_assert(t->matched);
                                cr_assert_leq(d->funding[i].fen, t->fen);
                        }
                        cr_assert(found);
                }
        }
        applied = c->has_payment ? c->payment.subsidy_applied_fen : 0;
        switch (d->reconciliation.status) {
        case ZZ_RECON_OK:
                cr_assert_eq(applied, d->subsidy_fen);
                break;
        case ZZ_RECON_REFUND_DUE:
                cr_assert_eq(d->reconciliation.fen, d->subsidy_fen - applied);
                cr_assert_gt(d->reconciliation.fen, 0);
                cr_assert_neq(d->reconciliation.route, ZZ_ROUTE_NONE);
                sum = 0;
                for (i = 0; i < d->reconciliation.n_owed; i++)
                        sum += d->reconciliation.owed[i].fen;
                cr_assert_eq(sum, d->reconciliation.fen);
                break;
        case ZZ_RECON_RECOVERY_DUE:
        case ZZ_RECON_UNFUNDED_SUBSIDY:
                cr_assert_eq(d->reconciliation.fen, applied - d->subsidy_fen);
                cr_assert_gt(d->reconciliation.fen, 0);
                break;
        case ZZ_RECON_PENDING:
                cr_assert(!c->has_payment);
                cr_assert(d->eligible);
                break;
        case ZZ_RECON_NOT_ENROLLED:
                cr_assert(!c->has_enrollment);
                cr_assert(d->eligible);
                cr_assert_eq(d->subsidy_fen, 0);
                break;
        case ZZ_RECON_ENROLLED_ELSEWHERE:
                cr_assert_eq(d->subsidy_fen, 0);
                cr_assert(!zz_policy_in_jurisdiction(p, c->enrollment.region));
                break;
        case ZZ_RECON_NOT_ELIGIBLE:
                cr_assert_eq(d->subsidy_fen, 0);
                break;
        }
}

static char *dump(const zz_case_t *c, const zz_decision_t *d)
{
        json_t *o = zz_decision_to_json(c, d, ZZ_JSON_EXPLAIN);
        char *s = json_dumps(o, JSON_COMPACT);

        json_decref(o);
        return s;
}

static void run_props(int pi, uint64_t seed)
{
        zz_policy_t *p = load(policies[pi]);
        zz_arena_t *a = zz_arena_new(0), *b = zz_arena_new(0);
        struct rng r = {seed};
        int is_topup = strcmp(policies[pi], "huilong-2020") == 0;
        int monotone = strcmp(policies[pi], "panzhihua-2022") != 0;
        int k;

        for (k = 0; k < N_PERSONS; k++) {
                zz_case_t c;
                zz_decision_t d, d2, d3;
                char *s1, *s2;
                zz_date_t w0, w1;

                zz_arena_reset(a);
                zz_arena_reset(b);
                gen_case(&r, a, p, pi, &c);
                cr_assert_eq(zz_policy_eval(p, &c, &d, a), 0, "%s", d.error);
                check_invariants(p, &c, &d, is_topup);

                /* deterministic, and independent of the arena */
                cr_assert_eq(zz_policy_eval(p, &c, &d2, b), 0);
                s1 = dump(&c, &d);
                s2 = dump(&c, &d2);
                cr_assert_str_eq(s1, s2);
                free(s1);
                free(s2);

                /* the trace does not change the amounts */
                cr_assert_eq(zz_policy_eval_ex(p, &c, &d3, b, ZZ_EVAL_NO_TRACE),
                             0);
                cr_assert_eq(d3.subsidy_fen, d.subsidy_fen);
                cr_assert_eq(d3.reconciliation.status, d.reconciliation.status);
                cr_assert_eq(d3.reconciliation.fen, d.reconciliation.fen);
                cr_assert_eq(d3.n_funding, d.n_funding);

                /* adding an identity never lowers the subsidy (max and
                 * topup; priority may prefer a smaller rule by design) */
                if (monotone) {
                        zz_identity_t *ids = (zz_identity_t *)c.identities;

                        zz_policy_window(p, &w0, &w1);
                        gen_identity(&r, a, w0, w1, &ids[c.n_identities]);
                        ids[c.n_identities].action = ZZ_ACTION_GRANT;
                        c.n_identities++;
                        cr_assert_eq(zz_policy_eval(p, &c, &d2, b), 0);
                        check_invariants(p, &c, &d2, is_topup);
                        cr_assert_geq(d2.subsidy_fen, d.subsidy_fen,
                                      "%s: adding %s lowered %lld to %lld",
                                      policies[pi],
                                      ids[c.n_identities - 1].category,
                                      (long long)d.subsidy_fen,
                                      (long long)d2.subsidy_fen);
                }
        }
        zz_arena_destroy(a);
        zz_arena_destroy(b);
        zz_policy_destroy(p);
}

Test(policy_props, tongnan)
{
        run_props(0, 0x5eed0001ULL);
}

Test(policy_props, panzhihua)
{
        run_props(1, 0x5eed0002ULL);
}

Test(policy_props, huilong)
{
        run_props(2, 0x5eed0003ULL);
}

Test(policy_props, yubei)
{
        run_props(3, 0x5eed0004ULL);
}

Test(policy_props, shantou)
{
        run_props(4, 0x5eed0005ULL);
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Throughput, single core: one arena reset per decision, as a worker
 * would. Printed, not asserted (sanitizer and valgrind builds are slow). */
Test(policy_props, throughput)
{
        enum { N_CASES = 1000, ROUNDS = 100 };
        zz_policy_t *p = load("huilong-2020");
        zz_arena_t *gen = zz_arena_new(0), *a = zz_arena_new(0);
        zz_case_t *cases = calloc(N_CASES, sizeof(*cases));
        struct rng r = {42};
        double t0, t1, t2;
        int i, k;
        zz_fen_t total = 0;

        for (i = 0; i < N_CASES; i++)
                gen_case(&r, gen, p, 2, &cases[i]);
        t0 = now_s();
        for (k = 0; k < ROUNDS; k++) {
                for (i = 0; i < N_CASES; i++) {
                        zz_decision_t d;

                        zz_arena_reset(a);
                        zz_policy_eval_ex(p, &cases[i], &d, a,
                                          ZZ_EVAL_NO_TRACE);
                        total += d.subsidy_fen;
                }
        }
        t1 = now_s();
        for (k = 0; k < ROUNDS; k++) {
                for (i = 0; i < N_CASES; i++) {
                        zz_decision_t d;

                        zz_arena_reset(a);
                        zz_policy_eval(p, &cases[i], &d, a);
                        total += d.subsidy_fen;
                }
        }
        t2 = now_s();
        fprintf(stderr,
                "policy eval: %.0f decisions/s without trace, %.0f with "
                "trace (checksum %lld)\n",
                N_CASES * ROUNDS / (t1 - t0), N_CASES * ROUNDS / (t2 - t1),
                (long long)total);
        cr_assert_gt(total, 0);
        free(cases);
        zz_arena_destroy(gen);
        zz_arena_destroy(a);
        zz_policy_destroy(p);
}
