/*
 * fuzz_common.c — policies and cases for the fuzz targets (see
 * fuzz_common.h).
 */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zizhu/arena.h"
#include "zizhu/policy_json.h"

zz_policy_t *zz_fuzz_policies[ZZ_FUZZ_POLICIES];
zz_case_t *zz_fuzz_cases;
size_t zz_fuzz_n_cases;

static const char *const policy_names[ZZ_FUZZ_POLICIES] = {
    "huilong-2020", "panzhihua-2022", "shantou-2021", "tongnan-2021",
    "yubei-2017"};
static const char *const case_files[] = {
    "contract",     "huilong-2020-worked", "huilong-2020", "panzhihua-2022",
    "shantou-2021", "tongnan-2021",        "yubei-2017"};

static zz_arena_t *case_arena;
static zz_arena_t *scratch;

static const char *source_dir(void)
{
        const char *dir = getenv("ZZ_SOURCE_DIR");
        return dir != NULL && *dir != '\0' ? dir : ZZ_SOURCE_DIR;
}

void zz_fuzz_load_policies(void)
{
        char path[4096], err[512];

        if (zz_fuzz_policies[0] != NULL)
                return;
        for (size_t i = 0; i < ZZ_FUZZ_POLICIES; i++) {
                snprintf(path, sizeof path, "%s/policies/%s.yaml", source_dir(),
                         policy_names[i]);
                zz_fuzz_policies[i] =
                    zz_policy_load_file(path, err, sizeof err);
                if (zz_fuzz_policies[i] == NULL) {
                        fprintf(stderr, "fuzz: %s\n", err);
                        abort();
                }
        }
}

int zz_fuzz_case_text(const char *line, size_t len, char *out, size_t size)
{
        json_t *obj = json_loadb(line, len, 0, NULL);
        char *text;
        int rc = -1;

        if (obj == NULL)
                return -1;
        json_object_del(obj, "expect");
        json_object_del(obj, "matched");
        json_object_del(obj, "expect_error");
        text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text != NULL && strlen(text) < size) {
                memcpy(out, text, strlen(text) + 1);
                rc = 0;
        }
        free(text);
        json_decref(obj);
        return rc;
}

static void load_case_file(const char *name, size_t *cap)
{
        char path[4096], err[512], text[16384], *line = NULL;
        size_t line_cap = 0;
        ssize_t len;
        FILE *fp;

        snprintf(path, sizeof path, "%s/tests/data/policy/%s.jsonl",
                 source_dir(), name);
        fp = fopen(path, "r");
        if (fp == NULL) {
                fprintf(stderr, "fuzz: could not open %s\n", path);
                abort();
        }
        while ((len = getline(&line, &line_cap, fp)) > 0) {
                const char *case_name;

                if (zz_fuzz_n_cases == *cap) {
                        *cap = *cap ? 2 * *cap : 64;
                        zz_fuzz_cases = realloc(zz_fuzz_cases,
                                                *cap * sizeof *zz_fuzz_cases);
                        if (zz_fuzz_cases == NULL)
                                abort();
                }
                /* without what tests/unit/test_policy.c checks */
                if (zz_fuzz_case_text(line, (size_t)len, text, sizeof text) ==
                        0 &&
                    zz_case_from_json(
                        text, strlen(text), &zz_fuzz_cases[zz_fuzz_n_cases],
                        &case_name, case_arena, err, sizeof err) == 0)
                        zz_fuzz_n_cases++;
        }
        free(line);
        fclose(fp);
}

void zz_fuzz_load_cases(void)
{
        size_t cap = 0;

        if (case_arena != NULL)
                return;
        case_arena = zz_arena_new(0);
        if (case_arena == NULL)
                abort();
        for (size_t i = 0; i < sizeof case_files / sizeof case_files[0]; i++)
                load_case_file(case_files[i], &cap);
        if (zz_fuzz_n_cases < 100) {
                fprintf(stderr, "fuzz: only %zu cases in tests/data/policy\n",
                        zz_fuzz_n_cases);
                abort();
        }
}

void zz_fuzz_decide(const zz_policy_t *policy, const zz_case_t *c)
{
        zz_decision_t d;
        json_t *out;
        char *text;

        if (scratch == NULL && (scratch = zz_arena_new(0)) == NULL)
                abort();
        if (policy == NULL)
                return;
        zz_arena_reset(scratch);
        if (zz_policy_eval(policy, c, &d, scratch) != 0) {
                if (d.error == NULL) {
                        fprintf(stderr, "eval failed without an error\n");
                        abort();
                }
                out = zz_decision_error_json(c->name, d.error);
        } else {
                out = zz_decision_to_json(c, &d, ZZ_JSON_EXPLAIN);
        }
        if (out == NULL) {
                fprintf(stderr, "no JSON for a decision\n");
                abort();
        }
        text = json_dumps(out, JSON_COMPACT);
        if (text == NULL)
                abort();
        free(text);
        json_decref(out);
}
