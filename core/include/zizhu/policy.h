/*
 * policy.h — the policy engine: declarative policy files and the decision
 * they give for one person and one insurance year.
 *
 * A policy file (YAML, see policies/<name>.yaml) states, for one locality and
 * one insurance year, who is subsidized, by how much, who pays, which day an
 * identity must be valid on, and how departments settle. zz_policy_load_*
 * reads and checks it once; zz_policy_eval then decides a zz_case_t (plain
 * facts, no JSON, no database) into a zz_decision_t.
 *
 * The engine is pure: no I/O, no clock, no global state. A loaded policy is
 * immutable, so any number of threads may evaluate with it at once, each
 * with its own scratch arena. Every decision carries the policy version
 * (hex SHA-256 of the file's bytes) and a trace citing the clause of the
 * source document behind each rule.
 */
#ifndef ZIZHU_POLICY_H
#define ZIZHU_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "zizhu/arena.h"
#include "zizhu/date.h"
#include "zizhu/money.h"

typedef struct zz_policy_s zz_policy_t;

/* ------------------------------------------------------------------ */
/* Loading                                                             */

/* Reads and checks a policy file. NULL on error, with errstr set to
 * "<path>:<line>: <problem>". A file larger than 128 KiB or with
 * collections nested more than 32 deep is refused before it is parsed
 * (libyaml's cost grows with the square of the depth). The returned policy
 * must be released with zz_policy_destroy. */
zz_policy_t *zz_policy_load_file(const char *path, char *errstr,
                                 size_t errstr_size);
/* Same from memory: name is used in messages only (borrowed); buf is
 * copied as needed and may be freed once this returns. */
zz_policy_t *zz_policy_load_buf(const char *name, const char *buf, size_t len,
                                char *errstr, size_t errstr_size);
/* Accepts NULL. */
void zz_policy_destroy(zz_policy_t *policy);

/* ------------------------------------------------------------------ */
/* Accessors. Strings are borrowed and live as long as the policy.     */

const char *zz_policy_name(const zz_policy_t *policy);     /* "huilong-2020" */
const char *zz_policy_title(const zz_policy_t *policy);    /* Chinese title */
const char *zz_policy_document(const zz_policy_t *policy); /* 文号 */
int zz_policy_year(const zz_policy_t *policy);
/* 64 lower-case hex digits: SHA-256 of the file's bytes. */
const char *zz_policy_version(const zz_policy_t *policy);
/* 1 when region (a region code of any length) lies in the jurisdiction. */
int zz_policy_in_jurisdiction(const zz_policy_t *policy, const char *region);
void zz_policy_window(const zz_policy_t *policy, zz_date_t *from,
                      zz_date_t *to);
/* The contribution of a tier, or -1 when the policy has no such tier. */
zz_fen_t zz_policy_tier_fen(const zz_policy_t *policy, int tier);
/* 1 when every member of a household must enroll in the same tier. */
int zz_policy_household_same_tier(const zz_policy_t *policy);

typedef struct zz_policy_period_s {
        const char *name;      /* "annual", "H1", "january" */
        zz_date_t close_after; /* the period can close after this day */
        zz_date_t transfer_by; /* ZZ_DATE_NONE when the source is silent */
        const char *clause;
} zz_policy_period_t;

size_t zz_policy_period_count(const zz_policy_t *policy);
const zz_policy_period_t *zz_policy_period(const zz_policy_t *policy, size_t i);

typedef struct zz_policy_target_s {
        const char *region; /* village or community code */
        const char *name;   /* 回龙村 */
        int64_t persons;    /* enrollment target */
} zz_policy_target_t;

size_t zz_policy_target_count(const zz_policy_t *policy);
const zz_policy_target_t *zz_policy_target(const zz_policy_t *policy, size_t i);

typedef enum zz_note_kind_e {
        ZZ_NOTE_ASSUMED = 0, /* a parameter the source does not give */
        ZZ_NOTE_DECISION     /* a gap or ambiguity resolved by us */
} zz_note_kind_t;

typedef struct zz_policy_note_s {
        zz_note_kind_t kind;
        const char *where; /* "tiers[2]", "rule TN-T1v", "timing" */
        const char *text;
        int line; /* of the policy file */
} zz_policy_note_t;

/* Every ASSUMED and DECISION note of the file, in file order. */
size_t zz_policy_note_count(const zz_policy_t *policy);
const zz_policy_note_t *zz_policy_note(const zz_policy_t *policy, size_t i);
const char *zz_note_kind_name(zz_note_kind_t kind); /* "ASSUMED" */

/* ------------------------------------------------------------------ */
/* Facts about one person (a case). Plain data, all borrowed by the    */
/* engine for the duration of zz_policy_eval.                          */

typedef enum zz_action_e {
        ZZ_ACTION_GRANT = 0,
        ZZ_ACTION_REVOKE /* found erroneous: it never counted */
} zz_action_t;

typedef struct zz_attr_s {
        const char *key;
        const char *value; /* attribute values are text: "1", "true" */
} zz_attr_t;

typedef struct zz_identity_s {
        const char *category; /* "DPF.DISABLED" */
        const zz_attr_t *attrs;
        size_t n_attrs;
        zz_date_t valid_from;
        zz_date_t valid_to;  /* ZZ_DATE_NONE: open */
        zz_ts_t reported_at; /* meaningful when has_reported_at */
        int has_reported_at;
        const char *approving_region; /* may be NULL */
        zz_action_t action;
} zz_identity_t;

typedef enum zz_enroll_class_e {
        ZZ_CLASS_ADULT = 0,
        ZZ_CLASS_STUDENT_CHILD,
        ZZ_CLASS_COLLEGE
} zz_enroll_class_t;

typedef enum zz_enroll_kind_e {
        ZZ_KIND_ANNUAL = 0,
        ZZ_KIND_MID_YEAR
} zz_enroll_kind_t;

typedef struct zz_enrollment_s {
        int year;
        int tier;
        zz_enroll_class_t enroll_class;
        zz_enroll_kind_t kind;
        zz_date_t registered_on;
        const char *region; /* village or community code */
        const char *unit;   /* enrolling unit, or NULL */
} zz_enrollment_t;

typedef struct zz_payment_s {
        zz_ts_t paid_at;
        zz_fen_t contribution_fen;
        zz_fen_t subsidy_applied_fen; /* what tax applied from the flag */
        zz_fen_t paid_fen;
} zz_payment_t;

typedef struct zz_case_s {
        const char *name;      /* caller's label, may be NULL */
        const char *person_id; /* never copied into a decision */
        const char *region;    /* residence region, may be NULL */
        const char *household; /* may be NULL */
        const zz_identity_t *identities;
        size_t n_identities;
        zz_date_t deceased_on; /* ZZ_DATE_NONE: alive */
        int has_enrollment;
        zz_enrollment_t enrollment;
        int has_payment;
        zz_payment_t payment;
} zz_case_t;

/* Sets every field to its empty value (no identities, no enrollment, no
 * payment, dates ZZ_DATE_NONE). */
void zz_case_init(zz_case_t *c);

/* ------------------------------------------------------------------ */
/* The decision                                                        */

typedef enum zz_recon_status_e {
        ZZ_RECON_OK = 0,
        ZZ_RECON_REFUND_DUE,         /* tax applied less than entitled */
        ZZ_RECON_RECOVERY_DUE,       /* more, and a revoked identity paid */
        ZZ_RECON_UNFUNDED_SUBSIDY,   /* more, and no payer owes it */
        ZZ_RECON_NOT_ENROLLED,       /* eligible, no enrollment */
        ZZ_RECON_ENROLLED_ELSEWHERE, /* enrolled outside the jurisdiction */
        ZZ_RECON_NOT_ELIGIBLE,
        ZZ_RECON_PENDING /* enrolled and eligible, not paid */
} zz_recon_status_t;

typedef enum zz_route_e {
        ZZ_ROUTE_NONE = 0,
        ZZ_ROUTE_VIA_TAX,
        ZZ_ROUTE_TO_PERSON
} zz_route_t;

const char *zz_recon_status_name(zz_recon_status_t status); /* "OK" */
const char *zz_route_name(zz_route_t route); /* NULL for ZZ_ROUTE_NONE */

#define ZZ_FUNDING_MAX 8

typedef struct zz_funding_s {
        const char *payer; /* "MAF" */
        const char *fund;  /* "MAF", "FIN" */
        zz_fen_t fen;
        const char *rule; /* rule id */
} zz_funding_t;

typedef enum zz_trace_kind_e {
        ZZ_TRACE_TIMING = 0, /* the identity day and the window */
        ZZ_TRACE_IDENTITY,   /* one identity counted or not, and why */
        ZZ_TRACE_RULE,       /* one rule considered */
        ZZ_TRACE_RESOLVE,    /* how the strategy combined the rules */
        ZZ_TRACE_RECONCILE,  /* comparison with what tax applied */
        ZZ_TRACE_NOTE        /* an ASSUMED or DECISION note that applied */
} zz_trace_kind_t;

typedef struct zz_trace_entry_s {
        zz_trace_kind_t kind;
        const char *rule;      /* rule id for RULE/RESOLVE entries, else NULL */
        int matched;           /* RULE: 1 when the rule matched */
        const char *reason;    /* English, never an ID number */
        const char *detail_zh; /* Chinese label of what matched, or NULL */
        zz_fen_t fen;          /* RULE: its amount; RESOLVE: what it paid */
        const char *clause;    /* of the source document, or NULL */
        int identity;          /* index into the case's identities, or -1 */
        const zz_policy_note_t *note; /* NOTE entries */
} zz_trace_entry_t;

typedef struct zz_decision_s {
        const char *policy;         /* borrowed from the policy */
        const char *policy_version; /* borrowed from the policy */
        int year;
        int eligible; /* at least one rule matched */
        zz_fen_t contribution_fen;
        zz_fen_t subsidy_fen;
        zz_fen_t individual_due_fen;
        zz_funding_t funding[ZZ_FUNDING_MAX]; /* in paying order */
        size_t n_funding;
        const char *region;     /* allocation region, or NULL */
        zz_date_t identity_day; /* the day identities were judged on */
        const char *period;     /* settlement period name, or NULL */
        struct {
                zz_recon_status_t status;
                zz_fen_t fen;
                zz_route_t route;
                zz_funding_t owed[ZZ_FUNDING_MAX]; /* who refunds or
                                                    * recovers; rule
                                                    * may be NULL */
                size_t n_owed;
        } reconciliation;
        zz_trace_entry_t *trace; /* in the scratch arena */
        size_t n_trace;
        const char *error; /* set when zz_policy_eval returns -1 */
} zz_decision_t;

/* Flags for zz_policy_eval_ex. */
#define ZZ_EVAL_NO_TRACE 0x1 /* skip the trace (workers that store none) */

/* Decides one case. The decision's strings and trace live in scratch (and
 * in the policy) until the arena is reset or the policy destroyed; the
 * case is only read. Returns 0, or -1 when the case cannot be decided
 * under this policy (out->error says why: an enrolled tier the policy
 * does not have, an unknown category). Never reads the clock. */
int zz_policy_eval(const zz_policy_t *policy, const zz_case_t *c,
                   zz_decision_t *out, zz_arena_t *scratch);
int zz_policy_eval_ex(const zz_policy_t *policy, const zz_case_t *c,
                      zz_decision_t *out, zz_arena_t *scratch, unsigned flags);

#endif
