/*
 * policy_int.h — the loaded form of a policy file, shared by the loader
 * (policy.c), the engine (policy_eval.c) and the JSON module. Not
 * installed: nothing outside core/src/policy*.c may depend on it.
 */
#ifndef ZIZHU_POLICY_INT_H
#define ZIZHU_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "zizhu/arena.h"
#include "zizhu/policy.h"
#include "zizhu/vocab.h"

#define ZZ_TIER_MAX    9 /* tiers are numbered 1..ZZ_TIER_MAX */
#define ZZ_COND_VALUES 8 /* values in one "one of" condition */

/* ---- loaded policy ---- */

typedef enum zz_cond_op_e {
        ZZ_COND_IN = 0,      /* value is one of values[] */
        ZZ_COND_RANGE,       /* integer in [min, max] */
        ZZ_COND_NOT_BETWEEN, /* absent, or integer outside [min, max] */
        ZZ_COND_NOT_IN       /* absent, or not one of values[] */
} zz_cond_op_t;

typedef struct zz_pol_cond_s {
        const char *attr;
        zz_cond_op_t op;
        const char *values[ZZ_COND_VALUES];
        size_t n_values;
        long min, max;
        int line; /* of the policy file */
} zz_pol_cond_t;

typedef struct zz_pol_who_s {
        int cat; /* vocabulary index */
        const char *category;
        const char *label; /* Chinese, may be NULL */
        zz_pol_cond_t *conds;
        size_t n_conds;
        zz_pol_cond_t *unless; /* excluded when all of these hold */
        size_t n_unless;
        int line; /* of the policy file */
} zz_pol_who_t;

typedef enum zz_amount_kind_e {
        ZZ_AMT_NONE = 0,
        ZZ_AMT_FULL_TIER,
        ZZ_AMT_PCT,
        ZZ_AMT_FIXED
} zz_amount_kind_t;

typedef struct zz_pol_amount_s {
        zz_amount_kind_t kind;
        int tier;     /* FULL_TIER, PCT */
        int64_t bp;   /* PCT: basis points */
        zz_fen_t fen; /* FIXED */
} zz_pol_amount_t;

typedef struct zz_pol_rule_s {
        const char *id;
        const char *clause;
        const char *label;
        zz_pol_who_t *who;
        size_t n_who;
        unsigned class_mask;    /* 0: any class; bit zz_enroll_class_t */
        unsigned tier_mask;     /* 0: any tier; bit n for tier n */
        zz_pol_amount_t amount; /* when not by tier */
        zz_pol_amount_t by_tier[ZZ_TIER_MAX + 1];
        int has_by_tier;
        const char *payer;
        const char *fund;
        int stage; /* topup only */
        int tie_rank;
        int line;
} zz_pol_rule_t;

typedef struct zz_pol_stage_s {
        int stage;
        const char *name;
        const char *clause;
} zz_pol_stage_t;

typedef struct zz_pol_phase_s {
        const char *name;
        zz_date_t from, to;
        const char *clause;
} zz_pol_phase_t;

typedef struct zz_pol_cover_s {
        int kind;           /* -1: any, else zz_enroll_kind_t */
        zz_date_t from, to; /* registration days; ZZ_DATE_NONE: open */
} zz_pol_cover_t;

typedef struct zz_pol_period_s {
        zz_policy_period_t pub;
        zz_pol_cover_t *covers;
        size_t n_covers;
        int refunds_to_person;
} zz_pol_period_t;

typedef enum zz_strategy_e {
        ZZ_STRAT_MAX = 0,
        ZZ_STRAT_PRIORITY,
        ZZ_STRAT_TOPUP
} zz_strategy_t;

typedef enum zz_idday_e {
        ZZ_IDDAY_PAYMENT = 0,
        ZZ_IDDAY_REGISTRATION,
        ZZ_IDDAY_CUTOFF
} zz_idday_t;

typedef enum zz_late_e {
        ZZ_LATE_VIA_TAX = 0,
        ZZ_LATE_TO_PERSON,
        ZZ_LATE_NONE
} zz_late_t;

typedef enum zz_alloc_e {
        ZZ_ALLOC_ENROLLMENT = 0,
        ZZ_ALLOC_COUNTY,
        ZZ_ALLOC_APPROVING
} zz_alloc_t;

/* Which decisions a note applies to. */
typedef struct zz_pol_note_scope_s {
        int rule; /* index, or -1 */
        int tier; /* 1..ZZ_TIER_MAX, or 0 */
} zz_pol_note_scope_t;

struct zz_policy_s {
        zz_arena_t *arena;
        char version[65];
        const char *name, *title, *document, *source;
        int year;
        zz_date_t valid_until;

        const char **prefixes;
        size_t n_prefixes;
        const char *jurisdiction_name;
        const char *jurisdiction_clause;

        zz_date_t win_from, win_to;
        const char *window_clause;
        zz_pol_phase_t *phases;
        size_t n_phases;

        zz_fen_t tier_fen[ZZ_TIER_MAX + 1]; /* -1: no such tier */
        const char *tier_clause[ZZ_TIER_MAX + 1];

        unsigned cat_mask; /* categories the policy accepts */

        zz_strategy_t strategy;
        const char *strategy_clause;
        zz_pol_stage_t *stages;
        size_t n_stages;
        int has_tie_order;

        zz_idday_t idday;
        zz_date_t cutoff;                   /* ZZ_IDDAY_CUTOFF */
        zz_date_t death_cutoff;             /* ZZ_DATE_NONE when absent */
        int next_year_month, next_year_day; /* 0 when absent */
        zz_late_t late;
        int count_started_after_payment;
        const char *timing_clause;

        zz_alloc_t alloc;
        const char *alloc_clause;

        int household_same_tier;
        const char *household_clause;

        zz_pol_period_t *periods;
        size_t n_periods;

        zz_policy_target_t *targets;
        size_t n_targets;

        zz_pol_rule_t *rules;
        size_t n_rules;

        zz_policy_note_t *notes;
        zz_pol_note_scope_t *note_scopes;
        size_t n_notes, cap_notes;
};

/* ---- shared by the loader, the engine and the checks ---- */

/* 1 when an identity whose attribute c->attr is value (NULL: absent)
 * meets the condition (policy_eval.c). */
int zz_pol_cond_holds(const zz_pol_cond_t *c, const char *value);

/* The amount a rule's amount names for policy p, before any cap: its tier's
 * full contribution, a percentage of one, a fixed sum, or 0 (policy_eval.c;
 * the authoring checks of policy_lint.c compare rules by it too). */
zz_fen_t zz_pol_amount_raw(const zz_policy_t *p, const zz_pol_amount_t *a);

/* The authoring checks of `zizhu policy check` (policy_lint.c), run by
 * every load once the file has been read: mistakes that load cleanly but
 * silently leave people with 0 (issue 15). 0, or -1 with errstr set to
 * "<name>:<line>: <problem>". */
int zz_policy_lint(const zz_policy_t *policy, const char *name, char *errstr,
                   size_t errstr_size);

#endif
