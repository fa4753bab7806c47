/*
 * test_policy_limits.c — the bounds on what the policy loader and the JSON
 * case reader accept: nesting depth and size (issue 14, item 6). libyaml's
 * cost grows with the square of the nesting depth, so a hostile policy file
 * must be refused before it is parsed, with the line it went wrong at.
 * (Jansson refuses JSON nested more than 2048 deep itself, and the size cap
 * on a case line bounds its work.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "zizhu/arena.h"
#include "zizhu/policy.h"
#include "zizhu/policy_json.h"

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The text of a real policy, to build on. Freed by the caller. */
static char *policy_text(const char *name, size_t *len)
{
        char path[512];
        FILE *f;
        char *buf;
        long n;

        snprintf(path, sizeof(path), "%s/policies/%s.yaml", ZZ_SOURCE_DIR,
                 name);
        f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        cr_assert_eq(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        cr_assert_gt(n, 0);
        rewind(f);
        buf = malloc((size_t)n + 1);
        cr_assert_not_null(buf);
        cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        buf[n] = '\0';
        *len = (size_t)n;
        return buf;
}

Test(policy_limits, deeply_nested_flow_yaml_is_refused_quickly)
{
        size_t n = 25000, i;
        char *buf = malloc(n * 2 + 1);
        char err[512];
        zz_policy_t *p;
        double t0;

        cr_assert_not_null(buf);
        for (i = 0; i < n; i++) {
                buf[i] = '[';
                buf[n + i] = ']';
        }
        buf[2 * n] = '\0';
        t0 = now_s();
        p = zz_policy_load_buf("deep.yaml", buf, 2 * n, err, sizeof(err));
        cr_assert_null(p);
        cr_assert_str_eq(err, "deep.yaml:1: nested more than 32 deep");
        cr_assert_lt(now_s() - t0, 0.2, "took %.2f s", now_s() - t0);
        free(buf);
}

Test(policy_limits, deeply_nested_block_yaml_names_the_line)
{
        char buf[8192];
        size_t len = 0;
        int d;
        char err[512];
        zz_policy_t *p;

        /* Mapping 1 opens on line 1; mapping 33 on line 33. */
        for (d = 0; d < 40; d++)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                        "%*sk%d:\n", d, "", d);
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%*sx\n", d, "");
        p = zz_policy_load_buf("deep.yaml", buf, len, err, sizeof(err));
        cr_assert_null(p);
        cr_assert_str_eq(err, "deep.yaml:33: nested more than 32 deep");
}

Test(policy_limits, real_policies_are_within_the_bounds)
{
        static const char *const names[] = {"huilong-2020", "panzhihua-2022",
                                            "shantou-2021", "tongnan-2021",
                                            "yubei-2017"};
        size_t i;

        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char err[512];
                size_t len;
                char *buf = policy_text(names[i], &len);
                zz_policy_t *p =
                    zz_policy_load_buf(names[i], buf, len, err, sizeof(err));

                cr_assert_not_null(p, "%s", err);
                cr_assert_lt(len * 10, 128 * 1024, "%s", names[i]);
                zz_policy_destroy(p);
                free(buf);
        }
}

Test(policy_limits, oversized_policy_is_refused_before_parsing)
{
        size_t len, plen, n;
        char *text = policy_text("tongnan-2021", &plen);
        char *buf;
        char err[512];
        zz_policy_t *p;

        /* A valid policy padded with comments past the cap. */
        n = 128 * 1024 + 1;
        buf = malloc(n + 1);
        cr_assert_not_null(buf);
        memcpy(buf, text, plen);
        for (len = plen; len < n; len++)
                buf[len] = (len % 64 == 0) ? '\n' : '#';
        buf[n - 1] = '\n';
        p = zz_policy_load_buf("big.yaml", buf, n, err, sizeof(err));
        cr_assert_null(p);
        cr_assert_str_eq(err, "big.yaml: policy larger than 131072 bytes");
        /* At the cap it still loads. */
        p = zz_policy_load_buf("big.yaml", buf, n - 1, err, sizeof(err));
        cr_assert_not_null(p, "%s", err);
        zz_policy_destroy(p);
        /* The same from a file: one byte over, and exactly at the cap. */
        {
                char path[] = "/tmp/zz-policy-XXXXXX";
                int fd = mkstemp(path);
                FILE *f;

                cr_assert_geq(fd, 0);
                f = fdopen(fd, "wb");
                cr_assert_eq(fwrite(buf, 1, n, f), n);
                fclose(f);
                p = zz_policy_load_file(path, err, sizeof(err));
                cr_assert_null(p);
                cr_assert_not_null(
                    strstr(err, ": policy file larger than 131072 bytes"), "%s",
                    err);
                cr_assert_eq(truncate(path, (off_t)(n - 1)), 0);
                p = zz_policy_load_file(path, err, sizeof(err));
                cr_assert_not_null(p, "%s", err);
                zz_policy_destroy(p);
                unlink(path);
        }
        free(buf);
        free(text);
}

Test(policy_limits, oversized_case_line_is_refused)
{
        size_t n = 1024 * 1024, i;
        char *buf = malloc(n + 1);
        char err[512];
        zz_case_t c;
        zz_arena_t *arena = zz_arena_new(0);

        cr_assert_not_null(buf);
        cr_assert_not_null(arena);
        memcpy(buf, "{\"name\":\"", 9);
        for (i = 9; i < n - 2; i++)
                buf[i] = 'x';
        memcpy(buf + n - 2, "\"}", 2);
        buf[n] = '\0';
        cr_assert_eq(
            zz_case_from_json(buf, n, &c, NULL, arena, err, sizeof(err)), -1);
        cr_assert_str_eq(err, "case: larger than 65536 bytes");
        zz_arena_destroy(arena);
        free(buf);
}

/* The authoring checks (policy_lint.c, issue 15) on the largest file the
 * loader takes: about 1000 rules, each naming its own institution codes.
 * More free-text values than the checks have slots must not make a rule
 * look as if it could never match, and the checks stay fast. */
Test(policy_limits, authoring_checks_on_a_large_file)
{
        static const char head[] =
            "format: 1\npolicy: big\ntitle: t\ndocument: d\nsource: s\n"
            "year: 2021\njurisdiction: {name: n, prefixes: [\"500152\"]}\n"
            "window: {from: 2020-09-01, to: 2021-06-30}\n"
            "tiers: [{tier: 1, contribution_fen: 28000}]\n"
            "categories: [MCA.TEKUN]\nstrategy: {kind: max}\n"
            "timing: {identity_day: payment, late_flag: via_tax}\n"
            "allocation: {region: enrollment}\n"
            "settlement: {periods: [{name: a, covers: [{kind: ANNUAL}], "
            "close_after: 2021-06-30}]}\nrules:\n";
        size_t cap = 127 * 1024, len;
        char *buf = malloc(cap);
        char err[512];
        zz_policy_t *p;
        double t0;
        int i;

        cr_assert_not_null(buf);
        len = (size_t)snprintf(buf, cap, "%s", head);
        for (i = 0;; i++) {
                char rule[200];
                int n = snprintf(rule, sizeof(rule),
                                 "- {id: R%d, clause: c, who: [{category: "
                                 "MCA.TEKUN, institution: [a%d, b%d]}], "
                                 "amount: {fixed_fen: %d}, payer: MCA, "
                                 "fund: FIN}\n",
                                 i, i, i, 1 + i);

                if (len + (size_t)n + 1 > cap)
                        break;
                memcpy(buf + len, rule, (size_t)n + 1);
                len += (size_t)n;
        }
        cr_assert_gt(i, 900);
        t0 = now_s();
        p = zz_policy_load_buf("big.yaml", buf, len, err, sizeof(err));
        cr_expect_not_null(p, "%s", err);
        cr_expect_lt(now_s() - t0, 2.0, "took %.2f s", now_s() - t0);
        zz_policy_destroy(p);
        free(buf);
}
