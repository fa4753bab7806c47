/*
 * bench_common.h — what the zz-bench-* programs share: a monotonic clock,
 * progress lines on stderr, the policy files, and folding one person's
 * facts into the engine's case.
 *
 * The fold follows the rules of subsidy.h in a simplified form that is
 * enough for a benchmark (facts are taken in the order given: the caller
 * passes them by business time): GRANT and CORRECT set a department
 * record's fields, END sets its valid_to, REVOKE marks it revoked,
 * DECEASED sets the date of death; the enrollment is the latest REGISTER
 * not cancelled; the payment the latest by paid_at. Benchmarks measure
 * speed, not correctness: the subsidy worker's own tests check decisions.
 */
#ifndef ZZ_BENCH_COMMON_H
#define ZZ_BENCH_COMMON_H

#include <stddef.h>

#include "zizhu/arena.h"
#include "zizhu/policy.h"

/* Seconds on a monotonic clock. */
double zz_bench_now(void);

/* One progress line on stderr: "bench: <program>: <message>". */
void zz_bench_progress(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Names the program in progress lines (borrowed, static string). */
void zz_bench_set_name(const char *name);

/* Every policies/<name>.yaml of a directory. */
typedef struct zz_bench_policies_s zz_bench_policies_t;

/* NULL with errstr when the directory holds no loadable policy. */
zz_bench_policies_t *zz_bench_policies_load(const char *dir, char *errstr,
                                            size_t errstr_size);
/* Accepts NULL. */
void zz_bench_policies_destroy(zz_bench_policies_t *policies);

#define ZZ_BENCH_MAX_RECORDS 16

/* The facts of one person, gathered before they are folded. Plain data
 * with fixed-size text fields: reuse one for every person. */
typedef struct zz_bench_fold_s {
        char person_id[19];
        char household[64];
        char residence[16];
        struct {
                char key[80]; /* department + "/" + record id */
                char category[40];
                char attrs[256]; /* "k=v;k=v" */
                zz_date_t valid_from;
                zz_date_t valid_to;
                char approving_region[16];
                zz_ts_t reported_at;
                int revoked;
        } ids[ZZ_BENCH_MAX_RECORDS];
        size_t n_ids;
        zz_date_t deceased_on;
        int has_enrollment;
        char enr_record[64];
        zz_enrollment_t enr; /* region and unit point into the next two */
        char enr_region[16];
        char enr_unit[64];
        int has_payment;
        zz_payment_t pay;
} zz_bench_fold_t;

/* Forgets every fact and names the person (copied). */
void zz_bench_fold_reset(zz_bench_fold_t *f, const char *person_id);

/* action: 1 GRANT, 2 END, 3 CORRECT, 4 REVOKE, 5 DECEASED (schema order).
 * Strings are copied; residence may be NULL or "". */
void zz_bench_fold_identity(zz_bench_fold_t *f, const char *department,
                            const char *record_id, int action,
                            const char *category, const char *attrs,
                            zz_date_t valid_from, zz_date_t valid_to,
                            const char *approving_region, const char *residence,
                            zz_ts_t reported_at, zz_date_t deceased_on);
/* action: 1 REGISTER, 2 CANCEL; enroll_class 1..3, kind 1..2 (schema
 * order). unit may be NULL or "". */
void zz_bench_fold_enrollment(zz_bench_fold_t *f, const char *record_id,
                              int action, const char *household, int year,
                              int tier, int enroll_class, int kind,
                              zz_date_t registered_on, const char *region,
                              const char *unit);
void zz_bench_fold_payment(zz_bench_fold_t *f, zz_fen_t contribution_fen,
                           zz_fen_t subsidy_applied_fen, zz_fen_t paid_fen,
                           zz_ts_t paid_at);

/* Builds the case of the folded facts, every string and array copied into
 * arena (so the case outlives f), and picks its policy: the one of the
 * enrollment's year and region, else the first whose jurisdiction holds an
 * identity's approving region or the residence. 0, or -1 when no policy
 * applies (the person is not decided). */
int zz_bench_fold_case(const zz_bench_fold_t *f,
                       const zz_bench_policies_t *policies, zz_arena_t *arena,
                       zz_case_t *out, const zz_policy_t **policy);

/* Copies s into dst (dst_size bytes), truncating; s may be NULL. */
void zz_bench_copy(char *dst, size_t dst_size, const char *s);

#endif
