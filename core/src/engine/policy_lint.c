/*
 * policy_lint.c — the authoring checks a policy file must pass besides
 * being well-formed (issue 15): rules that load cleanly but silently leave
 * people with 0.
 *
 *   - a who entry no identity can meet (its conditions and its unless-list
 *     exclude every combination of attribute values);
 *   - a rule that can never decide anything: under strategy priority every
 *     identity it takes is taken by an earlier rule; under max, by a rule
 *     that always pays at least as much and wins the tie;
 *   - two rules of the same stage (the priority of strategy topup) and the
 *     same payer that take the same identities: which of them pays is then
 *     an accident of the file's order.
 *
 * The loader checks the rest where it reads it (policy.c): a condition
 * listing every value of its attribute, a tier or percent of 0, a date
 * outside the insurance year and the year before it.
 *
 * The attribute values of a category are few (at most a dozen per
 * attribute, three attributes), so the checks enumerate every combination,
 * absent included, and ask the engine's own condition test. A free-text
 * attribute (an institution code) takes the values the policy names plus
 * one it does not; when a policy names more of them than there are slots,
 * the checks say nothing about that category rather than guess.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/errstr.h"
#include "zizhu/money.h"
#include "policy_int.h"

#define LINT_ATTRS  4      /* attributes of one category (vocab.c: at most 3) */
#define LINT_VALUES 24     /* values of one attribute, absent included */
#define LINT_OTHER  "\x01" /* a free-text value no condition names */

/* Every combination of one category's attribute values. */
struct combos {
        const zz_vocab_cat_t *cat;
        size_t n_attrs;
        const char *vals[LINT_ATTRS][LINT_VALUES]; /* [a][0] is NULL: absent */
        size_t n_vals[LINT_ATTRS];
        char ints[LINT_ATTRS][LINT_VALUES][24];
        size_t at[LINT_ATTRS]; /* the current combination */
        int inexact; /* more text values than slots: no claim is made */
};

/* The combinations of each category, built once per check (building
 * them reads every condition of the policy). */
struct lint {
        const zz_policy_t *p;
        struct combos cats[ZZ_VOCAB_CATS];
        int ready[ZZ_VOCAB_CATS];
};

static void combos_init(struct combos *k, const zz_policy_t *p, int cat);

/* Category cat's combinations, at the first one. */
static struct combos *combos_of(struct lint *lt, int cat)
{
        struct combos *k = &lt->cats[cat];

        if (!lt->ready[cat]) {
                combos_init(k, lt->p, cat);
                lt->ready[cat] = 1;
        }
        memset(k->at, 0, sizeof(k->at));
        return k;
}

static void add_val(struct combos *k, size_t a, const char *v)
{
        size_t i;

        for (i = 1; i < k->n_vals[a]; i++) {
                if (strcmp(k->vals[a][i], v) == 0)
                        return;
        }
        if (k->n_vals[a] < LINT_VALUES)
                k->vals[a][k->n_vals[a]++] = v;
        else
                k->inexact = 1;
}

/* The text values policy p names for attribute key of category cat. */
static void text_vals(const zz_policy_t *p, int cat, const char *key,
                      struct combos *k, size_t a)
{
        size_t r, w, c;

        for (r = 0; r < p->n_rules; r++) {
                for (w = 0; w < p->rules[r].n_who; w++) {
                        const zz_pol_who_t *who = &p->rules[r].who[w];

                        if (who->cat != cat)
                                continue;
                        for (c = 0; c < who->n_conds + who->n_unless; c++) {
                                const zz_pol_cond_t *cd =
                                    c < who->n_conds
                                        ? &who->conds[c]
                                        : &who->unless[c - who->n_conds];
                                size_t v;

                                if (strcmp(cd->attr, key) != 0)
                                        continue;
                                for (v = 0; v < cd->n_values; v++)
                                        add_val(k, a, cd->values[v]);
                        }
                }
        }
        add_val(k, a, LINT_OTHER);
}

static void combos_init(struct combos *k, const zz_policy_t *p, int cat)
{
        size_t a, i;

        memset(k, 0, sizeof(*k));
        k->cat = zz_vocab_cat(cat);
        k->n_attrs =
            k->cat->n_attrs < LINT_ATTRS ? k->cat->n_attrs : LINT_ATTRS;
        for (a = 0; a < k->n_attrs; a++) {
                const zz_vocab_attr_t *def = &k->cat->attrs[a];

                k->vals[a][0] = NULL;
                k->n_vals[a] = 1;
                switch (def->type) {
                case ZZ_VOCAB_ENUM:
                        for (i = 0; def->values[i] != NULL; i++)
                                add_val(k, a, def->values[i]);
                        break;
                case ZZ_VOCAB_BOOL:
                        add_val(k, a, "true");
                        add_val(k, a, "false");
                        break;
                case ZZ_VOCAB_INT: {
                        long v;

                        for (v = def->min;
                             v <= def->max && k->n_vals[a] < LINT_VALUES; v++) {
                                char *s = k->ints[a][k->n_vals[a]];

                                snprintf(s, sizeof(k->ints[a][0]), "%ld", v);
                                k->vals[a][k->n_vals[a]++] = s;
                        }
                        break;
                }
                case ZZ_VOCAB_TEXT:
                        text_vals(p, cat, def->key, k, a);
                        break;
                }
        }
}

/* The first combination (all absent); then 1 while there is a next. */
static int combos_next(struct combos *k)
{
        size_t a;

        for (a = 0; a < k->n_attrs; a++) {
                if (++k->at[a] < k->n_vals[a])
                        return 1;
                k->at[a] = 0;
        }
        return 0;
}

static const char *combo_val(const struct combos *k, const char *key)
{
        size_t a;

        for (a = 0; a < k->n_attrs; a++) {
                if (strcmp(k->cat->attrs[a].key, key) == 0)
                        return k->vals[a][k->at[a]];
        }
        return NULL;
}

/* Whether an identity of who's category with the current combination of
 * attribute values meets who (as the engine's who_holds decides). */
static int who_meets(const zz_pol_who_t *who, const struct combos *k)
{
        size_t c;
        int all = 1;

        for (c = 0; c < who->n_conds; c++) {
                if (!zz_pol_cond_holds(&who->conds[c],
                                       combo_val(k, who->conds[c].attr)))
                        return 0;
        }
        if (who->n_unless == 0)
                return 1;
        for (c = 0; c < who->n_unless; c++) {
                if (!zz_pol_cond_holds(&who->unless[c],
                                       combo_val(k, who->unless[c].attr)))
                        all = 0;
        }
        return !all;
}

/* Whether rule r takes an identity of category cat with the current
 * combination (through any of its who entries). */
static int rule_takes(const zz_pol_rule_t *r, int cat, const struct combos *k)
{
        size_t w;

        for (w = 0; w < r->n_who; w++) {
                if (r->who[w].cat == cat && who_meets(&r->who[w], k))
                        return 1;
        }
        return 0;
}

/* 1 when every enrollment a admits, b admits too (a mask 0 admits all). */
static int scope_within(unsigned a, unsigned b)
{
        if (b == 0)
                return 1;
        return a != 0 && (a & ~b) == 0;
}

/* 1 when some enrollment is admitted by both masks. */
static int scope_meets(unsigned a, unsigned b)
{
        return a == 0 || b == 0 || (a & b) != 0;
}

/* What rule r pays an enrollment in tier t, capped at its contribution. */
static zz_fen_t rule_fen(const zz_policy_t *p, const zz_pol_rule_t *r, int t)
{
        zz_fen_t raw =
            zz_pol_amount_raw(p, r->has_by_tier ? &r->by_tier[t] : &r->amount);

        return raw < p->tier_fen[t] ? raw : p->tier_fen[t];
}

/* Whether rule i wins over rule j whenever both match: under priority,
 * when it comes first; under max, when it pays more in every tier j
 * admits, or as much and ranks first in a tie. And i admits every
 * enrollment j does. */
static int beats(const zz_policy_t *p, size_t i, size_t j)
{
        const zz_pol_rule_t *ri = &p->rules[i], *rj = &p->rules[j];
        int t;

        if (!scope_within(rj->class_mask, ri->class_mask) ||
            !scope_within(rj->tier_mask, ri->tier_mask))
                return 0;
        if (p->strategy == ZZ_STRAT_PRIORITY)
                return i < j;
        if (p->strategy != ZZ_STRAT_MAX)
                return 0;
        for (t = 1; t <= ZZ_TIER_MAX; t++) {
                zz_fen_t fi, fj;

                if (p->tier_fen[t] < 0 ||
                    (rj->tier_mask != 0 && !(rj->tier_mask & (1u << t))))
                        continue;
                fi = rule_fen(p, ri, t);
                fj = rule_fen(p, rj, t);
                if (fi < fj || (fi == fj && ri->tie_rank > rj->tie_rank))
                        return 0;
        }
        return 1;
}

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static int
lint_fail(char *errstr, size_t errstr_size, const char *name, int line,
          const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        zz_errstr_set(errstr, errstr_size, "%s:%d: %s", name, line, msg);
        return -1;
}

/* A who entry no identity can meet. */
static int check_dead_who(struct lint *lt, const char *name, char *errstr,
                          size_t errstr_size)
{
        const zz_policy_t *p = lt->p;
        struct combos *k;
        size_t r, w;

        for (r = 0; r < p->n_rules; r++) {
                for (w = 0; w < p->rules[r].n_who; w++) {
                        const zz_pol_who_t *who = &p->rules[r].who[w];
                        int met = 0;

                        k = combos_of(lt, who->cat);
                        if (k->inexact)
                                continue;
                        do {
                                met = who_meets(who, k);
                        } while (!met && combos_next(k));
                        if (!met)
                                return lint_fail(
                                    errstr, errstr_size, name, who->line,
                                    "rule %s can never match %s: its "
                                    "conditions and \"unless\" exclude every "
                                    "value its attributes can take",
                                    p->rules[r].id, who->category);
                }
        }
        return 0;
}

/* Rule j never decides: every identity it takes is taken by a rule that
 * beats it. *by receives one such rule. */
static int shadowed(struct lint *lt, size_t j, size_t *by)
{
        const zz_policy_t *p = lt->p;
        const zz_pol_rule_t *rj = &p->rules[j];
        struct combos *k;
        size_t w, i;
        int any = 0;

        for (w = 0; w < rj->n_who; w++) {
                const zz_pol_who_t *who = &rj->who[w];

                k = combos_of(lt, who->cat);
                if (k->inexact)
                        return 0;
                do {
                        int covered = 0;

                        if (!who_meets(who, k))
                                continue;
                        for (i = 0; i < p->n_rules && !covered; i++) {
                                if (i == j || !beats(p, i, j) ||
                                    !rule_takes(&p->rules[i], who->cat, k))
                                        continue;
                                covered = 1;
                                *by = i;
                        }
                        if (!covered)
                                return 0;
                        any = 1;
                } while (combos_next(k));
        }
        return any;
}

static int check_shadowed(struct lint *lt, const char *name, char *errstr,
                          size_t errstr_size)
{
        const zz_policy_t *p = lt->p;
        size_t j, by = 0;

        if (p->strategy == ZZ_STRAT_TOPUP)
                return 0; /* every stage pays: see check_same_stage */
        for (j = 0; j < p->n_rules; j++) {
                if (!shadowed(lt, j, &by))
                        continue;
                return lint_fail(
                    errstr, errstr_size, name, p->rules[j].line,
                    "rule %s can never apply: every identity it takes is "
                    "taken by rule %s (line %d), which %s",
                    p->rules[j].id, p->rules[by].id, p->rules[by].line,
                    p->strategy == ZZ_STRAT_PRIORITY
                        ? "comes first in the priority order"
                        : "pays at least as much and wins the tie");
        }
        return 0;
}

/* Whether rules a and b take some identity in common (and some enrollment
 * admits both); *cat receives its category. */
static int overlap(struct lint *lt, const zz_pol_rule_t *a,
                   const zz_pol_rule_t *b, const char **cat)
{
        struct combos *k;
        size_t w;

        if (!scope_meets(a->class_mask, b->class_mask) ||
            !scope_meets(a->tier_mask, b->tier_mask))
                return 0;
        for (w = 0; w < a->n_who; w++) {
                const zz_pol_who_t *who = &a->who[w];

                k = combos_of(lt, who->cat);
                if (k->inexact)
                        continue;
                do {
                        if (who_meets(who, k) && rule_takes(b, who->cat, k)) {
                                *cat = who->category;
                                return 1;
                        }
                } while (combos_next(k));
        }
        return 0;
}

/* Under topup a stage is one priority: two rules of a stage with the
 * same payer that take the same identity. */
static int check_same_stage(struct lint *lt, const char *name, char *errstr,
                            size_t errstr_size)
{
        const zz_policy_t *p = lt->p;
        size_t i, j;
        const char *cat = NULL;

        if (p->strategy != ZZ_STRAT_TOPUP)
                return 0;
        for (j = 0; j < p->n_rules; j++) {
                const zz_pol_rule_t *rj = &p->rules[j];

                for (i = 0; i < j; i++) {
                        const zz_pol_rule_t *ri = &p->rules[i];

                        if (ri->stage != rj->stage ||
                            strcmp(ri->payer, rj->payer) != 0 ||
                            !overlap(lt, ri, rj, &cat))
                                continue;
                        return lint_fail(
                            errstr, errstr_size, name, rj->line,
                            "rules %s (line %d) and %s have the same stage "
                            "%d and payer %s and both take %s identities: "
                            "which of them pays depends on the file's "
                            "order; merge them or make their conditions "
                            "exclusive",
                            ri->id, ri->line, rj->id, rj->stage, rj->payer,
                            cat);
                }
        }
        return 0;
}

int zz_policy_lint(const zz_policy_t *p, const char *name, char *errstr,
                   size_t errstr_size)
{
        struct lint *lt;
        int rc = 0;

        if (p == NULL)
                return -1;
        if (name == NULL)
                name = "(policy)";
        lt = calloc(1, sizeof(*lt));
        if (lt == NULL) {
                zz_errstr_set(errstr, errstr_size, "%s: out of memory", name);
                return -1;
        }
        lt->p = p;
        if (check_dead_who(lt, name, errstr, errstr_size) != 0 ||
            check_same_stage(lt, name, errstr, errstr_size) != 0 ||
            check_shadowed(lt, name, errstr, errstr_size) != 0)
                rc = -1;
        free(lt);
        return rc;
}
