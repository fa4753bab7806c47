/*
 * settle.h — settlement (资金结算): what each paying department owes for a
 * person's decision, periods of a policy, and the ledger arithmetic that
 * keeps closed periods closed.
 *
 * This module is pure (no I/O, no clock): settle_run.c feeds it decisions
 * re-evaluated from the facts inside a period's boundary.
 *
 * Money items. A person-year decision moves money only once the person has
 * paid (a payment fact exists). Then, per funding entry (payer, fund,
 * rule) of the decision:
 *   SUBSIDY           what tax applied and the payer reimburses
 *                     = funding fen - the refund owed by that payer;
 *   REFUND_VIA_TAX /  what the payer owes on top because tax applied less
 *   REFUND_TO_PERSON  than the entitlement (reconciliation.owed[]);
 *   RECOVERY          (negative) the excess tax applied because of an
 *                     identity revoked as erroneous: its department
 *                     reimburses tax (a SUBSIDY item of +excess) and
 *                     recovers the same amount (a RECOVERY item of -excess).
 * The net of a person's items per payer is therefore exactly the
 * entitlement of the decision (funding[].fen): money is conserved by
 * construction, and UNFUNDED_SUBSIDY excess (no payer owes it) is not
 * allocated but reported in the backlog.
 *
 * Ledger. What was settled for a person-year is kept per key (payer, fund,
 * region, category, rule). At a later close the new net per key is compared
 * with what was settled; a difference becomes an ADJUSTMENT item naming the
 * period it corrects. A closed period's allocations are never recomputed.
 */
#ifndef ZIZHU_SETTLE_H
#define ZIZHU_SETTLE_H

#include <stddef.h>
#include <stdint.h>

#include "zizhu/money.h"
#include "zizhu/policy.h"

/* Symbols of cn.zizhu.AllocationKind, in schema order. */
typedef enum zz_alloc_kind_e {
        ZZ_ALLOC_UNKNOWN = 0,
        ZZ_ALLOC_SUBSIDY,
        ZZ_ALLOC_REFUND_VIA_TAX,
        ZZ_ALLOC_REFUND_TO_PERSON,
        ZZ_ALLOC_RECOVERY,
        ZZ_ALLOC_ADJUSTMENT
} zz_alloc_kind_t;

/* "SUBSIDY", ...; "UNKNOWN" when out of range. Static. */
const char *zz_alloc_kind_name(zz_alloc_kind_t kind);
zz_alloc_kind_t zz_alloc_kind_from_name(const char *name);

#define ZZ_SETTLE_CODE_SIZE     16
#define ZZ_SETTLE_REGION_SIZE   16
#define ZZ_SETTLE_CATEGORY_SIZE 40
#define ZZ_SETTLE_RULE_SIZE     40
#define ZZ_SETTLE_PERIOD_SIZE   32

/* One money item of one person-year. Strings are copied in. */
typedef struct zz_settle_item_s {
        char payer[ZZ_SETTLE_CODE_SIZE];
        char fund[ZZ_SETTLE_CODE_SIZE];
        char region[ZZ_SETTLE_REGION_SIZE];
        char category[ZZ_SETTLE_CATEGORY_SIZE];
        char rule[ZZ_SETTLE_RULE_SIZE];
        zz_alloc_kind_t kind;
        zz_fen_t fen;
} zz_settle_item_t;

#define ZZ_SETTLE_ITEMS_MAX (3 * ZZ_FUNDING_MAX + 2)

/* The money items of decision d of case c (c is needed to name the
 * category of the identity behind each rule; d must have been evaluated
 * with a trace). Zero items when the person has not paid. Items with 0 fen
 * are left out. Returns the number of items written to out (at most
 * ZZ_SETTLE_ITEMS_MAX). */
size_t zz_settle_items(const zz_case_t *c, const zz_decision_t *d,
                       zz_settle_item_t out[ZZ_SETTLE_ITEMS_MAX]);

/* Sums items with the same key (payer, fund, region, category, rule)
 * regardless of kind, in place; drops keys that sum to 0 unless keep_zero.
 * Returns the new count. The result is sorted by key. */
size_t zz_settle_net(zz_settle_item_t *items, size_t n, int keep_zero);

/* Compares two items' keys (payer, fund, region, category, rule). */
int zz_settle_key_cmp(const zz_settle_item_t *a, const zz_settle_item_t *b);

/* ------------------------------------------------------------------ */
/* Periods                                                             */

/* A policy's periods are its settlement periods in file order (index 0 ..
 * n-1), then supplementary periods (补充结算) n, n+1, ... for corrections
 * that arrive after the last regular period closed. Labels:
 *   one regular period:   "<year>" (e.g. "2020"), then "<year>S1", ...
 *   several:              "<year><name>" ("2021H1", "2017january"), then
 *                         "<year>S1", ...
 * Writes the label of period index into buf; returns buf. */
char *zz_settle_period_label(const zz_policy_t *policy, int index, char *buf,
                             size_t buf_size);

/* The index of a period named in a close command: the label itself, or
 * "<year>-<name>", "<name>" (case-insensitive), "<year>" when the policy
 * has one regular period, "<year>S<k>" / "S<k>". -1 when none. */
int zz_settle_period_index(const zz_policy_t *policy, const char *period);

/* Index of the regular period a decision belongs to (d->period), or -1. */
int zz_settle_home_index(const zz_policy_t *policy, const zz_decision_t *d);

/* 1 when a control command's jurisdiction names this policy: the policy
 * name itself ("huilong-2020") or its part before the last '-'
 * ("huilong"), case-insensitive. */
int zz_settle_jurisdiction_match(const zz_policy_t *policy,
                                 const char *jurisdiction);

/* ------------------------------------------------------------------ */
/* Per-person settlement at a close                                    */

/* What was settled earlier for one key of a person-year. */
typedef struct zz_settle_settled_s {
        zz_settle_item_t key; /* kind ignored; fen = settled net */
        int first_period;     /* index of the period it was first settled */
} zz_settle_settled_t;

/* One line to publish in the period being closed. */
typedef struct zz_settle_out_s {
        zz_settle_item_t item; /* kind: natural kind or ADJUSTMENT */
        int adjusts_period;    /* ADJUSTMENT: period index corrected; -1 */
} zz_settle_out_t;

/* Decides what a person-year contributes to the close of period index k.
 *   items/n_items: the items of the decision within the boundary (may be
 *                  none: not paid, or decided elsewhere now);
 *   home:          zz_settle_home_index of that decision, or -1;
 *   settled:       what earlier closes settled for this person-year.
 * Rules: with nothing settled before, a person whose home period is k is
 * settled with natural kinds; one whose home period closed before k gets
 * ADJUSTMENT lines correcting the home period; one whose home period is
 * later (or none) waits. With something settled before, every key whose
 * net differs from what was settled gets an ADJUSTMENT of the difference,
 * correcting the period where the key (else the person) was first
 * settled. Returns the number of lines written to out (cap at least
 * n_items + n_settled). */
size_t zz_settle_person(const zz_settle_item_t *items, size_t n_items, int home,
                        const zz_settle_settled_t *settled, size_t n_settled,
                        int k, zz_settle_out_t *out, size_t cap);

#endif
