/*
 * fuzz_policy.c — libFuzzer target of the policy loader
 * (zz_policy_load_buf, policy.h).
 *
 * An input is a policy file. When it loads, its accessors are read and
 * every case of tests/data/policy/ is decided under it: a policy the
 * loader accepts must decide (or refuse with a reason) any case.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "zizhu/policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        zz_fuzz_load_cases();
        zz_fuzz_decide(NULL, NULL); /* allocates the scratch arena */
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        zz_policy_t *policy;
        zz_date_t from, to;
        char err[512];

        policy = zz_policy_load_buf("fuzz.yaml", (const char *)data, size, err,
                                    sizeof err);
        if (policy == NULL)
                return 0;
        (void)zz_policy_name(policy);
        (void)zz_policy_title(policy);
        (void)zz_policy_version(policy);
        zz_policy_window(policy, &from, &to);
        for (int tier = 0; tier <= 10; tier++)
                (void)zz_policy_tier_fen(policy, tier);
        for (size_t i = 0; i < zz_policy_period_count(policy); i++)
                (void)zz_policy_period(policy, i);
        for (size_t i = 0; i < zz_policy_target_count(policy); i++)
                (void)zz_policy_target(policy, i);
        for (size_t i = 0; i < zz_policy_note_count(policy); i++)
                (void)zz_policy_note(policy, i);
        for (size_t i = 0; i < zz_fuzz_n_cases; i++)
                zz_fuzz_decide(policy, &zz_fuzz_cases[i]);
        zz_policy_destroy(policy);
        return 0;
}
