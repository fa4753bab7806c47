/*
 * fuzz_common.h — what the policy and case targets share: the policies
 * of policies/ and the cases of tests/data/policy/, loaded once per
 * process from the source tree (ZZ_SOURCE_DIR, as the programs find it).
 */
#ifndef ZIZHU_FUZZ_COMMON_H
#define ZIZHU_FUZZ_COMMON_H

#include <stddef.h>

#include "zizhu/policy.h"

#define ZZ_FUZZ_POLICIES 5

/* The policies of policies/ (aborts when one does not load). */
extern zz_policy_t *zz_fuzz_policies[ZZ_FUZZ_POLICIES];
void zz_fuzz_load_policies(void);

/* The cases of the .jsonl files of tests/data/policy/ that
 * zz_case_from_json reads (aborts when there are fewer than 100). */
extern zz_case_t *zz_fuzz_cases;
extern size_t zz_fuzz_n_cases;
void zz_fuzz_load_cases(void);

/* A line of tests/data/policy/ without the expectations of
 * tests/unit/test_policy.c ("expect", "matched", "expect_error") into
 * out[size]: what zz_case_from_json reads. 0 or -1. */
int zz_fuzz_case_text(const char *line, size_t len, char *out, size_t size);

/* Decides c under policy and turns the decision into JSON; the decision
 * must be complete when the call succeeds. The first call allocates the
 * scratch arena; policy NULL does only that. */
void zz_fuzz_decide(const zz_policy_t *policy, const zz_case_t *c);

#endif
