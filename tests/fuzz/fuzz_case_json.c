/*
 * fuzz_case_json.c — libFuzzer target of the JSON case reader
 * (zz_case_from_json, policy_json.h), the input of `zizhu policy test`
 * and `zizhu explain`.
 *
 * An input is one line of a cases file. When it parses, the case is
 * decided under every policy of policies/ and the decision written as
 * JSON, as `zizhu policy eval` does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "zizhu/arena.h"
#include "zizhu/policy.h"
#include "zizhu/policy_json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static zz_arena_t *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        zz_fuzz_load_policies();
        zz_fuzz_decide(NULL, NULL); /* allocates the scratch arena */
        arena = zz_arena_new(0);
        if (arena == NULL)
                abort();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *name;
        zz_case_t c;
        char err[512];

        zz_arena_reset(arena);
        if (zz_case_from_json((const char *)data, size, &c, &name, arena, err,
                              sizeof err) != 0)
                return 0;
        for (size_t i = 0; i < ZZ_FUZZ_POLICIES; i++)
                zz_fuzz_decide(zz_fuzz_policies[i], &c);
        return 0;
}
