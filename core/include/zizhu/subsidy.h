/*
 * subsidy.h — from stored facts to each person's current decision.
 *
 * Inside the worker's batch transaction, zz_subsidy_redecide loads every
 * fact of the given persons from PostgreSQL, folds them into one zz_case_t
 * per insurance year, evaluates it with the policy of the jurisdiction and
 * year, and when the decision differs from the stored one writes the new
 * decision, a history row and the outbox rows (subsidy-state, and
 * reconciliation when there is something to act on).
 *
 * Folding depends only on the facts and their business dates, never on
 * the order they arrived in or on the clock:
 *  - identity: the events of one department record, in reported_at order
 *    (then event id): GRANT and CORRECT set its fields, END sets valid_to,
 *    REVOKE marks it revoked for good; a DECEASED event sets the date of
 *    death (the earliest reported). reported_at of the record is its first
 *    event's, the day the flag first reached the platform.
 *  - enrollment: the REGISTER of the year not cancelled (a CANCEL names
 *    its record), latest by registration date, then event id.
 *  - payment: the event of the year latest by paid_at, then event id (each
 *    states the position after it).
 *  - decided_at and source_event_id of a decision: the latest fact in
 *    business time it rests on (then the largest event id).
 * Findings (zizhu.finding, sql/022_findings.sql), re-evaluated in the
 * same transaction; a reconciliation row is written when one appears,
 * clears (status OK) or changes its detail while active:
 *  - HOUSEHOLD_TIER_MISMATCH, per household and year: the members are the
 *    persons whose current enrollment of the year (as above) names the
 *    household and whose region a policy with household same_tier holds;
 *    active when their tiers differ. Re-evaluated for every household any
 *    person of the batch has an enrollment event in (old and new), under
 *    per-household advisory locks taken sorted after the person locks.
 *  - RECORDS_IN_CONFLICT, per person and year decided by a policy: (a) a
 *    record not revoked whose valid_from is after the reported death date,
 *    from a department that did not report a death; (b) two records of one
 *    category from different departments, both not revoked and valid on the
 *    identity day (registration date of the current enrollment, else the
 *    end of the policy's window), with different attributes.
 * The policy: the one for the year whose jurisdiction holds the
 * enrollment's region; with no such policy or no enrollment, the one whose
 * jurisdiction holds an identity's approving or residence region (which
 * then decides ENROLLED_ELSEWHERE or NOT_ENROLLED). With neither, the year
 * is not decided.
 */
#ifndef ZIZHU_SUBSIDY_H
#define ZIZHU_SUBSIDY_H

#include <stddef.h>

#include "zizhu/codec.h"
#include "zizhu/policy.h"
#include "zizhu/store.h"

typedef struct zz_subsidy_s zz_subsidy_t;

/* Loads every policies/<name>.yaml of policy_dir (sorted by name). codec is
 * borrowed and must outlive the subsidy. NULL with errstr when a policy
 * file is invalid or there is none. */
zz_subsidy_t *zz_subsidy_new(const char *policy_dir, zz_codec_t *codec,
                             char *errstr, size_t errstr_size);
void zz_subsidy_destroy(zz_subsidy_t *subsidy);

size_t zz_subsidy_policy_count(const zz_subsidy_t *subsidy);
const zz_policy_t *zz_subsidy_policy(const zz_subsidy_t *subsidy, size_t i);

/* The policy of a year for a region code, or NULL. */
const zz_policy_t *zz_subsidy_policy_for(const zz_subsidy_t *subsidy, int year,
                                         const char *region);

/* Inside the store's open transaction: re-decides every person of
 * persons[0..n) (ID numbers; duplicates allowed). *changed (may be NULL)
 * is increased by the number of decisions written. -1 with errstr and
 * *sqlstate on a database error. */
int zz_subsidy_redecide(zz_subsidy_t *subsidy, zz_store_t *store,
                        const char *const *persons, size_t n, size_t *changed,
                        char sqlstate[6], char *errstr, size_t errstr_size);

/* 1 when a reconciliation status asks for action by someone (refund,
 * recovery, coverage gap...): these are published. */
int zz_subsidy_recon_actionable(const char *status);

#endif
