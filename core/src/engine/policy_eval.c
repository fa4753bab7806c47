/*
 * policy_eval.c — the decision for one person and one insurance year.
 *
 * Pure: reads a loaded policy and a case, writes a decision and its trace
 * into the caller's scratch arena. No I/O, no clock, no static state, so a
 * worker can re-decide a person on every event, from any thread.
 *
 * The steps follow POLICIES.md, "Timing defaults":
 *   1. the identity day: when identities are judged (payment day, else
 *      registration day, else the window's last day; or the policy's
 *      registration day or cutoff), and whether it lies in the window;
 *   2. which identities count on it (never a REVOKEd one);
 *   3. which rules match, and each one's amount, capped at the enrolled
 *      contribution;
 *   4. the strategy (max, priority, topup) turns them into funding;
 *   5. reconciliation against what tax applied: refund (via tax or to the
 *      person), recovery (a revoked identity paid), unfunded subsidy.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

/* How one identity stands on the identity day. */
enum id_state {
        ID_COUNTS = 0,
        ID_LATE_START, /* started after the payment, inside the window */
        ID_REVOKED,
        ID_NOT_COVERED, /* category outside the policy's vocabulary */
        ID_OUTSIDE,     /* the identity day lies outside the window */
        ID_NEXT_YEAR,   /* starts late enough to count for next year */
        ID_DEAD,
        ID_NOT_VALID
};

struct rm {
        int matched;
        int identity; /* which identity made it match */
        int who;
        zz_fen_t fen; /* capped amount */
        zz_fen_t raw; /* before the cap */
        const zz_pol_amount_t *amount;
};

struct ev {
        const zz_policy_t *p;
        const zz_case_t *c;
        zz_decision_t *d;
        zz_arena_t *a;
        int tracing;
        size_t cap_trace;
        int has_enr, has_pay, in_window;
        zz_date_t ref_day; /* the day that must lie in the window */
        zz_date_t id_day;  /* the day identities are judged on */
        int tier;          /* enrolled tier, or 1 when not enrolled */
        zz_fen_t cap;      /* contribution of that tier */
        int *cat;          /* category index per identity */
        unsigned char *state;
        int oom;
};

struct res {
        zz_funding_t funding[ZZ_FUNDING_MAX];
        int funding_rule[ZZ_FUNDING_MAX];
        size_t n;
        zz_fen_t total;
};

const char *zz_recon_status_name(zz_recon_status_t status)
{
        switch (status) {
        case ZZ_RECON_OK:
                return "OK";
        case ZZ_RECON_REFUND_DUE:
                return "REFUND_DUE";
        case ZZ_RECON_RECOVERY_DUE:
                return "RECOVERY_DUE";
        case ZZ_RECON_UNFUNDED_SUBSIDY:
                return "UNFUNDED_SUBSIDY";
        case ZZ_RECON_NOT_ENROLLED:
                return "NOT_ENROLLED";
        case ZZ_RECON_ENROLLED_ELSEWHERE:
                return "ENROLLED_ELSEWHERE";
        case ZZ_RECON_NOT_ELIGIBLE:
                return "NOT_ELIGIBLE";
        case ZZ_RECON_PENDING:
                return "PENDING";
        }
        return "?";
}

const char *zz_route_name(zz_route_t route)
{
        switch (route) {
        case ZZ_ROUTE_VIA_TAX:
                return "VIA_TAX";
        case ZZ_ROUTE_TO_PERSON:
                return "TO_PERSON";
        case ZZ_ROUTE_NONE:
                break;
        }
        return NULL;
}

void zz_case_init(zz_case_t *c)
{
        memset(c, 0, sizeof(*c));
        c->deceased_on = ZZ_DATE_NONE;
        c->enrollment.registered_on = ZZ_DATE_NONE;
}

/* ---- trace helpers ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static const char *
fmt(struct ev *e, const char *f, ...)
{
        char buf[512];
        va_list ap;
        const char *s;

        if (!e->tracing)
                return NULL;
        va_start(ap, f);
        vsnprintf(buf, sizeof(buf), f, ap);
        va_end(ap);
        s = zz_arena_strdup(e->a, buf);
        if (s == NULL)
                e->oom = 1;
        return s;
}

static zz_trace_entry_t *tr(struct ev *e, zz_trace_kind_t kind)
{
        zz_trace_entry_t *t;

        if (!e->tracing || e->d->n_trace >= e->cap_trace)
                return NULL;
        t = &e->d->trace[e->d->n_trace++];
        memset(t, 0, sizeof(*t));
        t->kind = kind;
        t->identity = -1;
        return t;
}

static const char *day(zz_date_t d, char *buf)
{
        if (d == ZZ_DATE_NONE) {
                buf[0] = '\0';
                return buf;
        }
        return zz_date_format(d, buf, 11);
}

static const char *yuan(zz_fen_t fen, char *buf, size_t size)
{
        return zz_money_format(fen, buf, size);
}

/* ---- identities ---- */

static const char *attr_get(const zz_identity_t *id, const char *key)
{
        size_t i;

        for (i = 0; i < id->n_attrs; i++) {
                if (id->attrs[i].key != NULL &&
                    strcmp(id->attrs[i].key, key) == 0)
                        return id->attrs[i].value;
        }
        return NULL;
}

static int valid_on(const zz_identity_t *id, zz_date_t d)
{
        return id->valid_from <= d &&
               (id->valid_to == ZZ_DATE_NONE || d <= id->valid_to);
}

/* How identity i stands; ignore_revoke judges a REVOKEd one as if it had
 * been granted (to see whether it would have paid). */
static enum id_state judge(const struct ev *e, size_t i, int ignore_revoke)
{
        const zz_policy_t *p = e->p;
        const zz_identity_t *id = &e->c->identities[i];
        zz_date_t death = e->c->deceased_on;

        if (id->action == ZZ_ACTION_REVOKE && !ignore_revoke)
                return ID_REVOKED;
        if (!(p->cat_mask & (1u << e->cat[i])))
                return ID_NOT_COVERED;
        if (!e->in_window)
                return ID_OUTSIDE;
        if (p->next_year_month != 0 &&
            id->valid_from >=
                zz_date_from_ymd(p->year, p->next_year_month, p->next_year_day))
                return ID_NEXT_YEAR;
        if (death != ZZ_DATE_NONE) {
                if (p->death_cutoff != ZZ_DATE_NONE) {
                        if (death <= p->death_cutoff)
                                return ID_DEAD;
                } else if (e->id_day > death) {
                        return ID_DEAD;
                }
        }
        if (valid_on(id, e->id_day))
                return ID_COUNTS;
        /* A person who paid before the identity began: under a to_person
         * policy (Yubei) it still counts when it began inside the window,
         * and the subsidy goes back to the person. */
        if (p->count_started_after_payment && e->has_pay &&
            id->valid_from > e->id_day && id->valid_from <= p->win_to &&
            (death == ZZ_DATE_NONE || id->valid_from <= death))
                return ID_LATE_START;
        return ID_NOT_VALID;
}

static int counts(unsigned char state)
{
        return state == ID_COUNTS || state == ID_LATE_START;
}

static void trace_identity(struct ev *e, size_t i)
{
        const zz_identity_t *id = &e->c->identities[i];
        const zz_vocab_cat_t *cat = zz_vocab_cat(e->cat[i]);
        zz_trace_entry_t *t = tr(e, ZZ_TRACE_IDENTITY);
        char b1[12], b2[12], b3[12];
        const char *why = NULL;
        int late = 0;

        if (t == NULL)
                return;
        t->identity = (int)i;
        t->detail_zh = cat->zh;
        t->matched = counts(e->state[i]);
        if (e->has_pay && id->has_reported_at &&
            id->reported_at > e->c->payment.paid_at)
                late = 1;
        switch ((enum id_state)e->state[i]) {
        case ID_COUNTS:
                why = fmt(e, "%s counts: valid %s to %s%s", cat->code,
                          day(id->valid_from, b1),
                          id->valid_to == ZZ_DATE_NONE ? "open"
                                                       : day(id->valid_to, b2),
                          late ? "; reported after the payment, so tax could "
                                 "not apply it"
                               : "");
                break;
        case ID_LATE_START:
                why = fmt(e,
                          "%s counts: it began %s, after the payment but "
                          "inside the window (ends %s)",
                          cat->code, day(id->valid_from, b1),
                          day(e->p->win_to, b2));
                break;
        case ID_REVOKED:
                why = fmt(e, "%s revoked as erroneous: it never counted",
                          cat->code);
                break;
        case ID_NOT_COVERED:
                why = fmt(e, "%s is not a category of this policy", cat->code);
                break;
        case ID_OUTSIDE:
                why = fmt(e,
                          "%s does not count: the identity day lies outside "
                          "the collection window",
                          cat->code);
                break;
        case ID_NEXT_YEAR:
                why = fmt(e,
                          "%s began %s, on or after %04d-%02d-%02d: it counts "
                          "for the next insurance year",
                          cat->code, day(id->valid_from, b1), e->p->year,
                          e->p->next_year_month, e->p->next_year_day);
                break;
        case ID_DEAD:
                if (e->p->death_cutoff != ZZ_DATE_NONE)
                        why = fmt(e,
                                  "%s does not count: death on %s, on or "
                                  "before %s, removes the person from the "
                                  "list",
                                  cat->code, day(e->c->deceased_on, b1),
                                  day(e->p->death_cutoff, b2));
                else
                        why = fmt(e,
                                  "%s does not count: death on %s ends it "
                                  "before %s",
                                  cat->code, day(e->c->deceased_on, b1),
                                  day(e->id_day, b2));
                break;
        case ID_NOT_VALID:
                why = fmt(e, "%s does not count: valid %s to %s, not on %s",
                          cat->code, day(id->valid_from, b1),
                          id->valid_to == ZZ_DATE_NONE ? "open"
                                                       : day(id->valid_to, b2),
                          day(e->id_day, b3));
                break;
        }
        t->reason = why;
}

/* ---- rules ---- */

/* 1 when v is one of the condition's values. */
static int among(const zz_pol_cond_t *c, const char *v)
{
        size_t i;

        for (i = 0; i < c->n_values; i++) {
                if (strcmp(v, c->values[i]) == 0)
                        return 1;
        }
        return 0;
}

int zz_pol_cond_holds(const zz_pol_cond_t *c, const char *v)
{
        long n;

        switch (c->op) {
        case ZZ_COND_IN:
                return v != NULL && among(c, v);
        case ZZ_COND_NOT_IN:
                return v == NULL || !among(c, v);
        case ZZ_COND_RANGE:
                return v != NULL && zz_vocab_parse_long(v, &n) == 0 &&
                       n >= c->min && n <= c->max;
        case ZZ_COND_NOT_BETWEEN:
                if (v == NULL)
                        return 1;
                return zz_vocab_parse_long(v, &n) == 0 &&
                       (n < c->min || n > c->max);
        }
        return 0;
}

static int cond_holds(const zz_pol_cond_t *c, const zz_identity_t *id)
{
        return zz_pol_cond_holds(c, attr_get(id, c->attr));
}

static const char *cond_why(struct ev *e, const char *code,
                            const zz_pol_cond_t *c, const zz_identity_t *id)
{
        const char *v = attr_get(id, c->attr);

        if (!e->tracing)
                return NULL;
        switch (c->op) {
        case ZZ_COND_IN:
                if (v == NULL)
                        return fmt(e, "%s: %s is absent", code, c->attr);
                if (c->n_values == 1)
                        return fmt(e, "%s: %s is %s, not %s", code, c->attr, v,
                                   c->values[0]);
                return fmt(e, "%s: %s %s is not among the %zu required", code,
                           c->attr, v, c->n_values);
        case ZZ_COND_NOT_IN:
                return fmt(e, "%s: %s %s is excluded", code, c->attr, v);
        case ZZ_COND_RANGE:
                if (v == NULL)
                        return fmt(e, "%s: %s is absent", code, c->attr);
                return fmt(e, "%s: %s %s is outside %ld-%ld", code, c->attr, v,
                           c->min, c->max);
        case ZZ_COND_NOT_BETWEEN:
                return fmt(e, "%s: %s %s lies in the excluded %ld-%ld", code,
                           c->attr, v, c->min, c->max);
        }
        return NULL;
}

static const char *class_name(zz_enroll_class_t c)
{
        if ((unsigned)c > ZZ_CLASS_COLLEGE)
                return "?";
        return zz_vocab_enroll_classes[c];
}

zz_fen_t zz_pol_amount_raw(const zz_policy_t *p, const zz_pol_amount_t *a)
{
        zz_fen_t raw = 0;

        switch (a->kind) {
        case ZZ_AMT_FULL_TIER:
                raw = p->tier_fen[a->tier];
                break;
        case ZZ_AMT_PCT:
                if (zz_money_pct(p->tier_fen[a->tier], a->bp, &raw) != 0)
                        raw = 0;
                break;
        case ZZ_AMT_FIXED:
                raw = a->fen;
                break;
        case ZZ_AMT_NONE:
                break;
        }
        return raw;
}

static zz_fen_t rule_amount(const struct ev *e, const zz_pol_rule_t *r,
                            const zz_pol_amount_t **used, zz_fen_t *raw_out)
{
        const zz_pol_amount_t *a =
            r->has_by_tier ? &r->by_tier[e->tier] : &r->amount;
        zz_fen_t raw = zz_pol_amount_raw(e->p, a);

        *used = a;
        *raw_out = raw;
        return raw < e->cap ? raw : e->cap;
}

static const char *amount_text(struct ev *e, const struct rm *m)
{
        const zz_pol_amount_t *a = m->amount;
        char b1[32], b2[32];
        const char *base = "";
        char pct[48];

        if (!e->tracing)
                return NULL;
        switch (a->kind) {
        case ZZ_AMT_FULL_TIER:
                snprintf(pct, sizeof(pct), "full tier %d", a->tier);
                base = pct;
                break;
        case ZZ_AMT_PCT:
                if (a->bp % 100 == 0)
                        snprintf(pct, sizeof(pct), "%lld%% of tier %d",
                                 (long long)(a->bp / 100), a->tier);
                else
                        snprintf(pct, sizeof(pct), "%lld.%02lld%% of tier %d",
                                 (long long)(a->bp / 100),
                                 (long long)(a->bp % 100), a->tier);
                base = pct;
                break;
        case ZZ_AMT_FIXED:
                base = "fixed amount";
                break;
        case ZZ_AMT_NONE:
                base = "no amount";
                break;
        }
        if (m->raw > m->fen)
                return fmt(e,
                           "%s = %s yuan, capped at the enrolled "
                           "contribution %s yuan",
                           base, yuan(m->raw, b1, sizeof(b1)),
                           yuan(m->fen, b2, sizeof(b2)));
        return fmt(e, "%s = %s yuan", base, yuan(m->fen, b1, sizeof(b1)));
}

/* Chinese label of what matched: "重度残疾(1级)". */
static const char *detail_zh(struct ev *e, const zz_pol_who_t *w,
                             const zz_identity_t *id)
{
        const char *label =
            w->label != NULL ? w->label : zz_vocab_cat(w->cat)->zh;
        const char *level = attr_get(id, "level");
        const char *grade = attr_get(id, "disabled_veteran_grade");

        if (!e->tracing)
                return NULL;
        if (level != NULL)
                return fmt(e, "%s(%s级)", label, level);
        if (grade != NULL)
                return fmt(e, "%s(%s级伤残)", label, grade);
        return label;
}

/* Whether the enrollment admits the rule: its classes and its tiers. When
 * it does not and trace is on, *why says so. */
static int rule_admits(struct ev *e, const zz_pol_rule_t *rule, int trace,
                       const char **why)
{
        const zz_case_t *c = e->c;

        if (rule->class_mask != 0 &&
            (!e->has_enr ||
             !(rule->class_mask & (1u << c->enrollment.enroll_class)))) {
                if (trace)
                        *why = e->has_enr
                                   ? fmt(e,
                                         "enrolled as %s: the rule is for "
                                         "other enrollment classes",
                                         class_name(c->enrollment.enroll_class))
                                   : "not enrolled: the rule depends on the "
                                     "enrollment class";
                return 0;
        }
        if (rule->tier_mask != 0 &&
            (!e->has_enr || !(rule->tier_mask & (1u << e->tier)))) {
                if (trace)
                        *why = e->has_enr
                                   ? fmt(e,
                                         "enrolled in tier %d: the rule is "
                                         "for other tiers",
                                         e->tier)
                                   : "not enrolled: the rule depends on the "
                                     "enrolled tier";
                return 0;
        }
        return 1;
}

/* Whether identity id meets who's conditions and is not excluded by its
 * unless-list. When not, with trace, the first reason found goes to *why
 * (a later one never replaces it). */
static int who_holds(struct ev *e, const zz_pol_who_t *who,
                     const zz_identity_t *id, int trace, const char **why)
{
        size_t k;
        int all = 1;

        for (k = 0; k < who->n_conds; k++) {
                if (!cond_holds(&who->conds[k], id)) {
                        if (trace && *why == NULL)
                                *why = cond_why(e, who->category,
                                                &who->conds[k], id);
                        return 0;
                }
        }
        if (who->n_unless == 0)
                return 1;
        for (k = 0; k < who->n_unless; k++) {
                if (!cond_holds(&who->unless[k], id))
                        all = 0;
        }
        if (all && trace && *why == NULL)
                *why = fmt(e, "%s: excluded by its attributes", who->category);
        return !all;
}

/* The first identity, in the order of the rule's who-list and then of the
 * case, among those flagged in state (counted ones), that makes the rule
 * match, and the rule's amount. With trace and no match, *why says why. */
static void rule_find(struct ev *e, const zz_pol_rule_t *rule,
                      const unsigned char *state, struct rm *m, int trace,
                      const char **why)
{
        const zz_case_t *c = e->c;
        int seen = 0, seen_counted = 0;
        size_t w, i;

        for (w = 0; w < rule->n_who && !m->matched; w++) {
                const zz_pol_who_t *who = &rule->who[w];

                for (i = 0; i < c->n_identities; i++) {
                        if (e->cat[i] != who->cat)
                                continue;
                        seen = 1;
                        if (!counts(state[i]))
                                continue;
                        seen_counted = 1;
                        if (!who_holds(e, who, &c->identities[i], trace, why))
                                continue;
                        m->matched = 1;
                        m->identity = (int)i;
                        m->who = (int)w;
                        break;
                }
        }
        if (m->matched)
                m->fen = rule_amount(e, rule, &m->amount, &m->raw);
        else if (trace && *why == NULL)
                *why = seen && !seen_counted
                           ? "an identity of this rule's categories does not "
                             "count on the identity day"
                           : "no identity of this rule's categories";
}

/* What matched and what it pays: "DPF.DISABLED (level=1): 100% of tier 1
 * = 250.00 yuan". */
static const char *matched_text(struct ev *e, const zz_pol_rule_t *rule,
                                const struct rm *m)
{
        const zz_identity_t *id = &e->c->identities[m->identity];
        const zz_pol_who_t *who = &rule->who[m->who];
        const char *amt = amount_text(e, m);
        char attrs[160];
        size_t a, off = 0;

        attrs[0] = '\0';
        for (a = 0; a < id->n_attrs && off < 150; a++) {
                int n = snprintf(attrs + off, sizeof(attrs) - off, "%s%s=%s",
                                 a ? ", " : " (", id->attrs[a].key,
                                 id->attrs[a].value);
                if (n < 0)
                        break;
                off += (size_t)n;
                if (off >= sizeof(attrs))
                        off = sizeof(attrs) - 1;
        }
        return fmt(e, "%s%s%s: %s", who->category, attrs,
                   id->n_attrs ? ")" : "", amt ? amt : "");
}

static void trace_rule(struct ev *e, const zz_pol_rule_t *rule,
                       const struct rm *m, const char *why)
{
        zz_trace_entry_t *t = tr(e, ZZ_TRACE_RULE);

        if (t == NULL)
                return;
        t->rule = rule->id;
        t->clause = rule->clause;
        t->matched = m->matched;
        t->identity = m->identity;
        t->fen = m->fen;
        if (!m->matched) {
                t->reason = why;
                return;
        }
        t->reason = matched_text(e, rule, m);
        t->detail_zh =
            detail_zh(e, &rule->who[m->who], &e->c->identities[m->identity]);
}

/* Evaluates every rule against the identities flagged in state (counted
 * ones); with trace, writes a RULE entry for each. */
static void match_rules(struct ev *e, const unsigned char *state, struct rm *rm,
                        int trace)
{
        size_t r;

        for (r = 0; r < e->p->n_rules; r++) {
                const zz_pol_rule_t *rule = &e->p->rules[r];
                struct rm *m = &rm[r];
                const char *why = NULL;

                memset(m, 0, sizeof(*m));
                m->identity = -1;
                m->who = -1;
                if (rule_admits(e, rule, trace, &why))
                        rule_find(e, rule, state, m, trace, &why);
                if (trace)
                        trace_rule(e, rule, m, why);
        }
}

static int better(const zz_pol_rule_t *a, const struct rm *ma,
                  const zz_pol_rule_t *b, const struct rm *mb)
{
        /* 1 when a beats b under max: larger, or equal and ranked first. */
        if (ma->fen != mb->fen)
                return ma->fen > mb->fen;
        return a->tie_rank < b->tie_rank;
}

static void add_funding(struct res *res, const zz_pol_rule_t *rule, int r,
                        zz_fen_t fen)
{
        zz_funding_t *f;

        if (fen <= 0 || res->n >= ZZ_FUNDING_MAX)
                return;
        f = &res->funding[res->n];
        f->payer = rule->payer;
        f->fund = rule->fund;
        f->fen = fen;
        f->rule = rule->id;
        res->funding_rule[res->n] = r;
        res->n++;
        res->total += fen;
}

static void trace_best(struct ev *e, const struct rm *rm, int best, int ties)
{
        const zz_policy_t *p = e->p;
        zz_trace_entry_t *t = tr(e, ZZ_TRACE_RESOLVE);
        char b1[32];

        if (t == NULL)
                return;
        t->clause = p->strategy_clause;
        if (best < 0) {
                t->reason = "no rule matched";
                return;
        }
        t->rule = p->rules[best].id;
        t->matched = 1;
        t->fen = rm[best].fen;
        if (p->strategy == ZZ_STRAT_PRIORITY)
                t->reason = fmt(e,
                                "priority: %s is the first matching rule; %s "
                                "pays %s yuan",
                                p->rules[best].id, p->rules[best].payer,
                                yuan(rm[best].fen, b1, sizeof(b1)));
        else
                t->reason = fmt(
                    e, "max: %s pays the most (%s yuan)%s; %s pays all of it",
                    p->rules[best].id, yuan(rm[best].fen, b1, sizeof(b1)),
                    ties ? ", ties broken by the declared order" : "",
                    p->rules[best].payer);
}

/* max: the matching rule that pays the most (ties to the declared order)
 * pays all; priority: the first matching rule pays all. */
static void resolve_best(struct ev *e, const struct rm *rm, struct res *res,
                         int trace)
{
        const zz_policy_t *p = e->p;
        size_t r;
        int best = -1;
        int ties = 0;

        for (r = 0; r < p->n_rules; r++) {
                if (!rm[r].matched)
                        continue;
                if (best < 0) {
                        best = (int)r;
                        continue;
                }
                if (p->strategy == ZZ_STRAT_PRIORITY)
                        break;
                if (rm[r].fen == rm[best].fen)
                        ties = 1;
                if (better(&p->rules[r], &rm[r], &p->rules[best], &rm[best]))
                        best = (int)r;
        }
        if (best >= 0)
                add_funding(res, &p->rules[best], best, rm[best].fen);
        if (trace)
                trace_best(e, rm, best, ties);
}

static void trace_stage(struct ev *e, const zz_pol_stage_t *st, int sbest,
                        zz_fen_t std, zz_fen_t pay, zz_fen_t total)
{
        const zz_policy_t *p = e->p;
        zz_trace_entry_t *t = tr(e, ZZ_TRACE_RESOLVE);
        char b1[32], b2[32], b3[32];

        if (t == NULL)
                return;
        t->clause = st->clause ? st->clause : p->strategy_clause;
        t->fen = sbest >= 0 ? pay : 0;
        if (sbest < 0) {
                t->reason = fmt(e, "stage %d (%s): no rule matched", st->stage,
                                st->name);
                return;
        }
        t->rule = p->rules[sbest].id;
        t->matched = pay > 0;
        t->reason = fmt(e,
                        "stage %d (%s): standard %s yuan, paid so far %s "
                        "yuan, %s pays %s yuan",
                        st->stage, st->name, yuan(std, b1, sizeof(b1)),
                        yuan(total - pay, b2, sizeof(b2)),
                        p->rules[sbest].payer, yuan(pay, b3, sizeof(b3)));
}

/* topup: stage i pays max(0, min(Ti, cap) - paid so far). */
static void resolve_topup(struct ev *e, const struct rm *rm, struct res *res,
                          int trace)
{
        const zz_policy_t *p = e->p;
        size_t r, s;

        for (s = 0; s < p->n_stages; s++) {
                const zz_pol_stage_t *st = &p->stages[s];
                zz_fen_t std = 0, pay;
                int sbest = -1;

                for (r = 0; r < p->n_rules; r++) {
                        if (!rm[r].matched || p->rules[r].stage != st->stage)
                                continue;
                        if (sbest < 0 || better(&p->rules[r], &rm[r],
                                                &p->rules[sbest], &rm[sbest]))
                                sbest = (int)r;
                }
                if (sbest >= 0)
                        std = rm[sbest].fen;
                if (std > e->cap)
                        std = e->cap;
                pay = std - res->total;
                if (pay < 0)
                        pay = 0;
                if (sbest >= 0)
                        add_funding(res, &p->rules[sbest], sbest, pay);
                if (trace)
                        trace_stage(e, st, sbest, std, pay, res->total);
        }
}

/* Step 4: the strategy turns the matched rules into funding. */
static void resolve(struct ev *e, const struct rm *rm, struct res *res,
                    int trace)
{
        memset(res, 0, sizeof(*res));
        if (e->p->strategy == ZZ_STRAT_MAX ||
            e->p->strategy == ZZ_STRAT_PRIORITY)
                resolve_best(e, rm, res, trace);
        else
                resolve_topup(e, rm, res, trace);
}

/* ---- the decision ---- */

static const char *county_of(struct ev *e, const char *region)
{
        const char *s;

        if (region == NULL || strlen(region) <= 6)
                return region;
        s = zz_arena_strndup(e->a, region, 6);
        if (s == NULL)
                e->oom = 1;
        return s;
}

static int period_covers(const zz_pol_period_t *pe, const zz_case_t *c)
{
        size_t i;

        for (i = 0; i < pe->n_covers; i++) {
                const zz_pol_cover_t *cv = &pe->covers[i];
                zz_date_t reg = c->enrollment.registered_on;

                if (cv->kind >= 0 && cv->kind != (int)c->enrollment.kind)
                        continue;
                if (cv->from != ZZ_DATE_NONE && reg < cv->from)
                        continue;
                if (cv->to != ZZ_DATE_NONE && reg > cv->to)
                        continue;
                return 1;
        }
        return 0;
}

static const char *find_period(const struct ev *e)
{
        const zz_policy_t *p = e->p;
        const zz_decision_t *d = e->d;
        size_t i;

        if (d->reconciliation.status == ZZ_RECON_REFUND_DUE &&
            d->reconciliation.route == ZZ_ROUTE_TO_PERSON) {
                for (i = 0; i < p->n_periods; i++) {
                        if (p->periods[i].refunds_to_person)
                                return p->periods[i].pub.name;
                }
        }
        for (i = 0; i < p->n_periods; i++) {
                if (period_covers(&p->periods[i], e->c))
                        return p->periods[i].pub.name;
        }
        return NULL;
}

static void owe_unapplied(zz_decision_t *d, const struct res *res,
                          zz_fen_t applied)
{
        size_t i;

        for (i = 0; i < res->n && d->reconciliation.n_owed < ZZ_FUNDING_MAX;
             i++) {
                zz_fen_t part = res->funding[i].fen, left;

                if (applied >= part) {
                        applied -= part;
                        continue;
                }
                left = part - (applied > 0 ? applied : 0);
                applied = 0;
                d->reconciliation.owed[d->reconciliation.n_owed] =
                    res->funding[i];
                d->reconciliation.owed[d->reconciliation.n_owed].fen = left;
                d->reconciliation.n_owed++;
        }
}

static void trace_notes(struct ev *e, const struct rm *rm,
                        const struct res *res)
{
        const zz_policy_t *p = e->p;
        size_t i, f;

        for (i = 0; i < p->n_notes; i++) {
                const zz_pol_note_scope_t *s = &p->note_scopes[i];
                int applies = 0;
                zz_trace_entry_t *t;

                if (s->rule >= 0) {
                        applies = rm[s->rule].matched;
                } else if (s->tier > 0) {
                        applies = s->tier == e->tier;
                        for (f = 0; f < res->n; f++) {
                                const struct rm *m = &rm[res->funding_rule[f]];

                                if (m->amount != NULL &&
                                    m->amount->kind != ZZ_AMT_FIXED &&
                                    m->amount->tier == s->tier)
                                        applies = 1;
                        }
                } else {
                        applies = 1;
                }
                if (!applies)
                        continue;
                t = tr(e, ZZ_TRACE_NOTE);
                if (t == NULL)
                        return;
                t->note = &p->notes[i];
                t->reason = p->notes[i].text;
                t->rule = s->rule >= 0 ? p->rules[s->rule].id : NULL;
        }
}

int zz_policy_eval(const zz_policy_t *policy, const zz_case_t *c,
                   zz_decision_t *out, zz_arena_t *scratch)
{
        return zz_policy_eval_ex(policy, c, out, scratch, 0);
}

static int eval_error(zz_decision_t *d, const char *msg)
{
        d->error = msg;
        return -1;
}

/* zz_vocab_missing_attr's question: does the identity carry key? */
static int identity_has_attr(const char *key, void *ctx)
{
        return attr_get(ctx, key) != NULL;
}

/* Issue 15: an identity without an attribute its category requires is not
 * decided (it would fail every rule that reads the attribute, and the
 * person would get 0 unnoticed). The message names the field, as a case
 * line's error does (CONTRACT.md). */
static const char *missing_attr_error(struct ev *e, size_t i, const char *key)
{
        char buf[160];
        const char *s;

        snprintf(buf, sizeof(buf),
                 "identities[%zu].attrs.%s: missing: category %s requires it",
                 i, key, e->c->identities[i].category);
        s = zz_arena_strdup(e->a, buf);
        return s != NULL ? s : "out of memory";
}

/* The scratch arrays of one evaluation (category per identity, state per
 * identity, a match per rule, the trace) and the category indexes. NULL,
 * or the error. */
static const char *eval_begin(struct ev *e, struct rm **rm)
{
        const zz_policy_t *p = e->p;
        const zz_case_t *c = e->c;
        size_t i;

        e->cat = zz_arena_alloc(e->a, (c->n_identities + 1) * sizeof(int));
        e->state = zz_arena_alloc(e->a, c->n_identities + 1);
        *rm = zz_arena_alloc(e->a, (p->n_rules + 1) * sizeof(**rm));
        if (e->cat == NULL || e->state == NULL || *rm == NULL)
                return "out of memory";
        for (i = 0; i < c->n_identities; i++) {
                const char *missing;

                e->cat[i] = zz_vocab_cat_index(c->identities[i].category);
                if (e->cat[i] < 0)
                        return "identities: unknown category";
                missing = zz_vocab_missing_attr(zz_vocab_cat(e->cat[i]),
                                                identity_has_attr,
                                                (void *)&c->identities[i]);
                if (missing != NULL)
                        return missing_attr_error(e, i, missing);
        }
        if (e->tracing) {
                e->cap_trace =
                    8 + c->n_identities + p->n_rules + p->n_stages + p->n_notes;
                e->d->trace =
                    zz_arena_calloc(e->a, e->cap_trace, sizeof(*e->d->trace));
                if (e->d->trace == NULL)
                        return "out of memory";
        }
        return NULL;
}

static void trace_timing(struct ev *e, const char *daykind)
{
        const zz_policy_t *p = e->p;
        const zz_case_t *c = e->c;
        zz_trace_entry_t *t;
        char b4[12], b5[12], b6[12], b7[12];

        if (c->has_enrollment && !e->has_enr) {
                t = tr(e, ZZ_TRACE_TIMING);
                if (t != NULL)
                        t->reason = fmt(e,
                                        "the enrollment is for insurance year "
                                        "%d, not %d: treated as not enrolled",
                                        c->enrollment.year, p->year);
        }
        t = tr(e, ZZ_TRACE_TIMING);
        if (t == NULL)
                return;
        t->clause = p->timing_clause;
        t->matched = e->in_window;
        if (p->idday == ZZ_IDDAY_CUTOFF)
                t->reason =
                    fmt(e,
                        "identities are judged as recognized on the "
                        "cutoff %s; %s %s %s the collection window %s "
                        "to %s",
                        day(p->cutoff, b4), daykind, day(e->ref_day, b5),
                        e->in_window ? "lies in" : "lies outside",
                        day(p->win_from, b6), day(p->win_to, b7));
        else
                t->reason = fmt(e,
                                "identities are judged on %s, %s; it %s the "
                                "collection window %s to %s",
                                day(e->id_day, b4), daykind,
                                e->in_window ? "lies in" : "lies outside",
                                day(p->win_from, b6), day(p->win_to, b7));
}

/* Step 1: enrollment (in this insurance year), payment, tier, the
 * identity day and whether it lies in the window. -1 when the enrolled
 * tier is not one of the policy's. */
static int eval_timing(struct ev *e)
{
        const zz_policy_t *p = e->p;
        const zz_case_t *c = e->c;
        const char *daykind;

        e->has_enr = c->has_enrollment && c->enrollment.year == p->year;
        e->has_pay = e->has_enr && c->has_payment;
        e->tier = 1;
        if (e->has_enr) {
                if (c->enrollment.tier < 1 ||
                    c->enrollment.tier > ZZ_TIER_MAX ||
                    p->tier_fen[c->enrollment.tier] < 0)
                        return -1;
                e->tier = c->enrollment.tier;
        }
        e->cap = p->tier_fen[e->tier];
        if (e->has_pay && p->idday != ZZ_IDDAY_REGISTRATION) {
                e->ref_day = zz_ts_cst_date(c->payment.paid_at);
                daykind = "the payment day";
        } else if (e->has_enr) {
                e->ref_day = c->enrollment.registered_on;
                daykind = p->idday == ZZ_IDDAY_REGISTRATION
                              ? "the registration day (status is fixed at "
                                "registration)"
                              : "the registration day (not yet paid)";
        } else {
                e->ref_day = p->win_to;
                daykind = "the last day of the window (not enrolled)";
        }
        e->id_day = p->idday == ZZ_IDDAY_CUTOFF ? p->cutoff : e->ref_day;
        e->in_window = e->ref_day >= p->win_from && e->ref_day <= p->win_to;
        e->d->identity_day = e->id_day;
        if (e->tracing)
                trace_timing(e, daykind);
        return 0;
}

/* Whether the person comes under the policy's jurisdiction: by the
 * enrollment's region, else by the residence or the approving region of a
 * counted identity (or when nothing says where). Sets the allocation
 * region. */
static int eval_region(struct ev *e, const struct rm *rm, const struct res *res)
{
        const zz_policy_t *p = e->p;
        const zz_case_t *c = e->c;
        const char *region;
        int in_jur;
        size_t i;

        if (e->has_enr) {
                in_jur = zz_policy_in_jurisdiction(p, c->enrollment.region);
                region = c->enrollment.region;
        } else {
                int any = c->region != NULL;

                in_jur = zz_policy_in_jurisdiction(p, c->region);
                for (i = 0; i < c->n_identities; i++) {
                        const char *ar = c->identities[i].approving_region;

                        if (ar == NULL || !counts(e->state[i]))
                                continue;
                        any = 1;
                        if (zz_policy_in_jurisdiction(p, ar))
                                in_jur = 1;
                }
                if (!any)
                        in_jur = 1;
                region = c->region;
        }
        if (p->alloc == ZZ_ALLOC_COUNTY) {
                region = county_of(e, region);
        } else if (p->alloc == ZZ_ALLOC_APPROVING && res->n > 0) {
                const struct rm *m = &rm[res->funding_rule[0]];
                const char *ar = c->identities[m->identity].approving_region;

                if (ar != NULL)
                        region = ar;
        }
        e->d->region = region;
        return in_jur;
}

/* Tax applied less than the entitlement: a refund is due, unless the
 * policy refunds nothing (then what tax applied is what the payers fund,
 * in paying order). */
static void reconcile_short(struct ev *e, const struct res *res,
                            zz_fen_t applied)
{
        const zz_policy_t *p = e->p;
        zz_decision_t *d = e->d;
        size_t i;

        if (p->late == ZZ_LATE_NONE) {
                zz_fen_t left = applied;

                d->subsidy_fen = applied;
                for (i = 0; i < d->n_funding; i++) {
                        if (d->funding[i].fen > left)
                                d->funding[i].fen = left;
                        left -= d->funding[i].fen;
                }
                while (d->n_funding > 0 &&
                       d->funding[d->n_funding - 1].fen == 0)
                        d->n_funding--;
                d->reconciliation.status = ZZ_RECON_OK;
                return;
        }
        d->reconciliation.status = ZZ_RECON_REFUND_DUE;
        d->reconciliation.fen = res->total - applied;
        d->reconciliation.route = p->late == ZZ_LATE_TO_PERSON
                                      ? ZZ_ROUTE_TO_PERSON
                                      : ZZ_ROUTE_VIA_TAX;
        owe_unapplied(d, res, applied);
}

/* Tax applied more than the entitlement: would a revoked identity have
 * paid for it? Then its department recovers the excess. -1 when out of
 * memory. */
static int reconcile_excess(struct ev *e, const struct res *res,
                            zz_fen_t applied)
{
        const zz_case_t *c = e->c;
        zz_decision_t *d = e->d;
        zz_fen_t excess = applied - res->total;
        unsigned char *st2 = NULL;
        struct rm *rm2 = NULL;
        struct res res2;
        int revoked = 0;
        size_t i;

        for (i = 0; i < c->n_identities; i++) {
                if (c->identities[i].action == ZZ_ACTION_REVOKE)
                        revoked = 1;
        }
        memset(&res2, 0, sizeof(res2));
        if (revoked) {
                st2 = zz_arena_alloc(e->a, c->n_identities + 1);
                rm2 = zz_arena_alloc(e->a, (e->p->n_rules + 1) * sizeof(*rm2));
                if (st2 == NULL || rm2 == NULL)
                        return -1;
                for (i = 0; i < c->n_identities; i++)
                        st2[i] = (unsigned char)judge(e, i, 1);
                match_rules(e, st2, rm2, 0);
                resolve(e, rm2, &res2, 0);
        }
        d->reconciliation.fen = excess;
        if (!revoked || res2.total <= res->total) {
                d->reconciliation.status = ZZ_RECON_UNFUNDED_SUBSIDY;
                return 0;
        }
        d->reconciliation.status = ZZ_RECON_RECOVERY_DUE;
        for (i = 0; i < res2.n; i++) {
                const struct rm *m = &rm2[res2.funding_rule[i]];
                const zz_identity_t *id = &c->identities[m->identity];

                if (id->action != ZZ_ACTION_REVOKE)
                        continue;
                d->reconciliation.owed[0] = res2.funding[i];
                d->reconciliation.owed[0].payer =
                    zz_vocab_cat(e->cat[m->identity])->dept;
                d->reconciliation.owed[0].fen = excess;
                d->reconciliation.n_owed = 1;
                break;
        }
        return 0;
}

/* Step 5: amounts, and reconciliation against what tax applied. -1 when
 * out of memory. */
static int reconcile(struct ev *e, const struct res *res, int in_jur,
                     zz_fen_t applied)
{
        const zz_policy_t *p = e->p;
        zz_decision_t *d = e->d;

        if (!e->has_enr) {
                d->reconciliation.status = in_jur && d->eligible
                                               ? ZZ_RECON_NOT_ENROLLED
                                               : ZZ_RECON_NOT_ELIGIBLE;
                /* What the coverage gap would cost, in tier 1. */
                if (d->reconciliation.status == ZZ_RECON_NOT_ENROLLED)
                        d->reconciliation.fen = res->total;
                return 0;
        }
        if (!in_jur) {
                d->reconciliation.status = ZZ_RECON_ENROLLED_ELSEWHERE;
                d->reconciliation.fen = applied;
                return 0;
        }
        d->contribution_fen = p->tier_fen[e->tier];
        d->subsidy_fen = res->total;
        memcpy(d->funding, res->funding, sizeof(res->funding));
        d->n_funding = res->n;
        if (!e->has_pay)
                d->reconciliation.status =
                    d->eligible ? ZZ_RECON_PENDING : ZZ_RECON_NOT_ELIGIBLE;
        else if (applied == res->total)
                d->reconciliation.status = d->eligible || applied > 0
                                               ? ZZ_RECON_OK
                                               : ZZ_RECON_NOT_ELIGIBLE;
        else if (applied < res->total)
                reconcile_short(e, res, applied);
        else if (reconcile_excess(e, res, applied) != 0)
                return -1;
        d->individual_due_fen = d->contribution_fen - d->subsidy_fen;
        if (e->has_pay)
                d->period = find_period(e);
        return 0;
}

/* Why the reconciliation came out as it did. */
static const char *recon_reason(struct ev *e, const struct res *res, int in_jur,
                                zz_fen_t applied)
{
        const zz_decision_t *d = e->d;
        char b1[32], b2[32], b3[32];

        switch (d->reconciliation.status) {
        case ZZ_RECON_NOT_ENROLLED:
                return fmt(e,
                           "eligible but not enrolled: a coverage gap (%s "
                           "yuan in tier 1)",
                           yuan(res->total, b1, sizeof(b1)));
        case ZZ_RECON_NOT_ELIGIBLE:
                return in_jur ? "no rule matched"
                              : "lives outside the jurisdiction";
        case ZZ_RECON_ENROLLED_ELSEWHERE:
                return "enrolled outside the jurisdiction: nothing is paid "
                       "here";
        case ZZ_RECON_PENDING:
                return "enrolled, not yet paid: the subsidy is the flag tax "
                       "will apply";
        case ZZ_RECON_OK:
                return fmt(e, "tax applied %s yuan, as entitled",
                           yuan(applied, b1, sizeof(b1)));
        case ZZ_RECON_REFUND_DUE:
                return fmt(e, "tax applied %s yuan of %s: %s yuan to refund %s",
                           yuan(applied, b1, sizeof(b1)),
                           yuan(res->total, b2, sizeof(b2)),
                           yuan(d->reconciliation.fen, b3, sizeof(b3)),
                           d->reconciliation.route == ZZ_ROUTE_TO_PERSON
                               ? "directly to the person"
                               : "through tax");
        case ZZ_RECON_RECOVERY_DUE:
                return fmt(e,
                           "tax applied %s yuan, %s more than entitled, paid "
                           "for by an identity revoked as erroneous: its "
                           "department recovers it",
                           yuan(applied, b1, sizeof(b1)),
                           yuan(d->reconciliation.fen, b2, sizeof(b2)));
        case ZZ_RECON_UNFUNDED_SUBSIDY:
                return fmt(e,
                           "tax applied %s yuan, %s more than entitled, and no "
                           "revoked identity paid for it: no payer owes it, "
                           "report for correction",
                           yuan(applied, b1, sizeof(b1)),
                           yuan(d->reconciliation.fen, b2, sizeof(b2)));
        }
        return NULL;
}

static void trace_reconcile(struct ev *e, const struct res *res, int in_jur,
                            zz_fen_t applied)
{
        const zz_policy_t *p = e->p;
        const zz_case_t *c = e->c;
        const zz_decision_t *d = e->d;
        zz_trace_entry_t *t = tr(e, ZZ_TRACE_RECONCILE);
        char b1[32], b2[32];

        if (t != NULL) {
                t->fen = d->reconciliation.fen;
                t->reason = recon_reason(e, res, in_jur, applied);
                if (d->reconciliation.status == ZZ_RECON_ENROLLED_ELSEWHERE)
                        t->clause = p->jurisdiction_clause;
                else if (d->reconciliation.status == ZZ_RECON_REFUND_DUE)
                        t->clause = p->timing_clause;
        }
        if (e->has_pay && in_jur &&
            c->payment.contribution_fen != d->contribution_fen) {
                t = tr(e, ZZ_TRACE_RECONCILE);
                if (t != NULL)
                        t->reason = fmt(
                            e,
                            "tax's contribution %s yuan differs from the "
                            "policy's tier %d contribution %s yuan",
                            yuan(c->payment.contribution_fen, b1, sizeof(b1)),
                            e->tier, yuan(d->contribution_fen, b2, sizeof(b2)));
        }
}

int zz_policy_eval_ex(const zz_policy_t *policy, const zz_case_t *c,
                      zz_decision_t *out, zz_arena_t *scratch, unsigned flags)
{
        const zz_policy_t *p = policy;
        struct ev ev, *e = &ev;
        zz_decision_t *d = out;
        struct rm *rm;
        struct res res;
        const char *err;
        size_t i;
        int in_jur;
        zz_fen_t applied = 0;

        memset(d, 0, sizeof(*d));
        d->identity_day = ZZ_DATE_NONE;
        if (p == NULL || c == NULL || scratch == NULL)
                return eval_error(d, "no policy, case or scratch arena");
        d->policy = p->name;
        d->policy_version = p->version;
        d->year = p->year;

        memset(e, 0, sizeof(*e));
        e->p = p;
        e->c = c;
        e->d = d;
        e->a = scratch;
        e->tracing = !(flags & ZZ_EVAL_NO_TRACE);
        err = eval_begin(e, &rm);
        if (err != NULL)
                return eval_error(d, err);

        /* 1. enrollment, tier, identity day */
        if (eval_timing(e) != 0)
                return eval_error(d, "enrollment.tier: the policy has no such "
                                     "tier");

        /* 2. identities */
        for (i = 0; i < c->n_identities; i++) {
                e->state[i] = (unsigned char)judge(e, i, 0);
                if (e->tracing)
                        trace_identity(e, i);
        }

        /* 3-4. rules and strategy */
        match_rules(e, e->state, rm, e->tracing);
        resolve(e, rm, &res, e->tracing);
        for (i = 0; i < p->n_rules; i++) {
                if (rm[i].matched)
                        d->eligible = 1;
        }

        /* jurisdiction and allocation region */
        in_jur = eval_region(e, rm, &res);

        /* 5. amounts and reconciliation */
        if (e->has_pay)
                applied = c->payment.subsidy_applied_fen;
        if (reconcile(e, &res, in_jur, applied) != 0)
                return eval_error(d, "out of memory");

        if (e->tracing) {
                trace_reconcile(e, &res, in_jur, applied);
                trace_notes(e, rm, &res);
        }
        if (e->oom)
                return eval_error(d, "out of memory");
        return 0;
}
