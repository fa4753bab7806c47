/*
 * test_policy.c — the policy engine against worked examples and hand-made
 * cases: every worked example of POLICIES.md, the CONTRACT.md example, and
 * tests/data/policy/<policy>.jsonl (cases with their expected decision,
 * written by gen_cases.py), run through the same JSON path as
 * `zizhu policy eval`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "zizhu/arena.h"
#include "zizhu/policy.h"
#include "zizhu/policy_json.h"

static zz_policy_t *load(const char *name)
{
        char path[512], err[512];
        zz_policy_t *p;

        snprintf(path, sizeof(path), "%s/policies/%s.yaml", ZZ_SOURCE_DIR,
                 name);
        p = zz_policy_load_file(path, err, sizeof(err));
        cr_assert_not_null(p, "%s", err);
        return p;
}

/* 1 when every member of exp is in got with the same value (objects as
 * subsets, arrays element by element and of the same length). */
static int subset(const json_t *exp, const json_t *got, char *where,
                  size_t size)
{
        if (json_is_object(exp)) {
                const char *key;
                json_t *v;

                if (!json_is_object(got))
                        return 0;
                json_object_foreach((json_t *)exp, key, v)
                {
                        json_t *g = json_object_get(got, key);

                        if (g == NULL || !subset(v, g, where, size)) {
                                size_t n = strlen(where);

                                if (g == NULL || n == 0)
                                        snprintf(where, size, "%s", key);
                                else if (strncmp(where, key, strlen(key)) != 0)
                                        snprintf(where + n, size - n, " in %s",
                                                 key);
                                return 0;
                        }
                }
                return 1;
        }
        if (json_is_array(exp)) {
                size_t i;

                if (!json_is_array(got) ||
                    json_array_size(exp) != json_array_size(got))
                        return 0;
                for (i = 0; i < json_array_size(exp); i++) {
                        if (!subset(json_array_get(exp, i),
                                    json_array_get(got, i), where, size))
                                return 0;
                }
                return 1;
        }
        return json_equal((json_t *)exp, (json_t *)got);
}

static void check_matched(const json_t *want, const json_t *out,
                          const char *name)
{
        json_t *trace = json_object_get(out, "trace");
        json_t *got = json_array();
        size_t i;
        char *a, *b;

        for (i = 0; i < json_array_size(trace); i++) {
                json_t *t = json_array_get(trace, i);

                if (json_is_true(json_object_get(t, "matched")))
                        json_array_append(got, json_object_get(t, "rule"));
        }
        a = json_dumps(want, JSON_COMPACT);
        b = json_dumps(got, JSON_COMPACT);
        cr_expect(json_equal((json_t *)want, got),
                  "%s: matched rules %s, expected %s", name, b, a);
        free(a);
        free(b);
        json_decref(got);
}

/* Evaluates every line of tests/data/policy/<file>.jsonl under policy and
 * checks it; returns the number of cases. */
static int run_file(const char *policy, const char *file)
{
        char path[512], err[512];
        zz_policy_t *p = load(policy);
        zz_arena_t *arena = zz_arena_new(0);
        FILE *f;
        char *line = NULL;
        size_t cap = 0;
        int n = 0;

        snprintf(path, sizeof(path), "%s/policy/%s.jsonl", ZZ_TEST_DATA, file);
        f = fopen(path, "r");
        cr_assert_not_null(f, "cannot open %s", path);
        while (getline(&line, &cap, f) > 0) {
                json_error_t jerr;
                json_t *obj = json_loads(line, 0, &jerr), *expect, *matched,
                       *experr, *out;
                zz_case_t c;
                zz_decision_t d;
                const char *name = NULL;
                char where[256] = "";
                int rc;

                cr_assert_not_null(obj, "%s: bad test line: %s", path,
                                   jerr.text);
                expect = json_incref(json_object_get(obj, "expect"));
                matched = json_incref(json_object_get(obj, "matched"));
                experr = json_incref(json_object_get(obj, "expect_error"));
                json_object_del(obj, "expect");
                json_object_del(obj, "matched");
                json_object_del(obj, "expect_error");
                zz_arena_reset(arena);
                rc = zz_case_from_json_obj(obj, &c, &name, arena, err,
                                           sizeof(err));
                if (rc == 0) {
                        rc = zz_policy_eval(p, &c, &d, arena);
                        if (rc != 0)
                                snprintf(err, sizeof(err), "%s", d.error);
                }
                n++;
                if (experr != NULL) {
                        cr_expect(rc != 0, "%s: expected an error", name);
                        cr_expect(rc == 0 || strstr(err, json_string_value(
                                                             experr)) != NULL,
                                  "%s: error \"%s\" does not name \"%s\"", name,
                                  err, json_string_value(experr));
                } else {
                        cr_expect_eq(rc, 0, "%s: %s", name, err);
                }
                if (rc == 0 && experr == NULL) {
                        out = zz_decision_to_json(&c, &d, 0);
                        if (expect != NULL &&
                            !subset(expect, out, where, sizeof(where))) {
                                char *a = json_dumps(expect, JSON_COMPACT);
                                char *b = json_dumps(out, JSON_COMPACT);

                                cr_expect_fail("%s: %s differs\nexpected %s\n"
                                               "got      %s",
                                               name, where, a, b);
                                free(a);
                                free(b);
                        }
                        if (matched != NULL)
                                check_matched(matched, out, name);
                        cr_expect_str_eq(
                            json_string_value(json_object_get(out, "policy")),
                            policy);
                        cr_expect_eq(strlen(json_string_value(json_object_get(
                                         out, "policy_version"))),
                                     64);
                        json_decref(out);
                }
                json_decref(expect);
                json_decref(matched);
                json_decref(experr);
                json_decref(obj);
        }
        free(line);
        fclose(f);
        zz_arena_destroy(arena);
        zz_policy_destroy(p);
        return n;
}

Test(policy, huilong_worked_examples)
{
        cr_expect_eq(run_file("huilong-2020", "huilong-2020-worked"), 5);
}

Test(policy, tongnan_cases)
{
        cr_expect_geq(run_file("tongnan-2021", "tongnan-2021"), 15);
}

Test(policy, panzhihua_cases)
{
        cr_expect_geq(run_file("panzhihua-2022", "panzhihua-2022"), 15);
}

Test(policy, huilong_cases)
{
        cr_expect_geq(run_file("huilong-2020", "huilong-2020"), 15);
}

Test(policy, yubei_cases)
{
        cr_expect_geq(run_file("yubei-2017", "yubei-2017"), 15);
}

Test(policy, shantou_cases)
{
        cr_expect_geq(run_file("shantou-2021", "shantou-2021"), 15);
}

/* The example of CONTRACT.md, field for field. */
Test(policy, contract_example)
{
        static const char *want =
            "{\"case\": \"hl-07\", \"year\": 2020, \"eligible\": true,"
            " \"contribution_fen\": 25000, \"subsidy_fen\": 25000,"
            " \"individual_due_fen\": 0,"
            " \"funding\": [{\"payer\": \"MAF\", \"fund\": \"MAF\", \"fen\":"
            " 17500, \"rule\": \"HL-MA-OTHER\"},"
            " {\"payer\": \"NHC\", \"fund\": \"NHC\", \"fen\": 7500, \"rule\":"
            " \"HL-FP\"}],"
            " \"region\": \"500155107001\","
            " \"reconciliation\": {\"status\": \"REFUND_DUE\", \"fen\": 7500,"
            " \"route\": \"VIA_TAX\"}}";
        static const char *const keys[] = {"case",        "year",
                                           "eligible",    "contribution_fen",
                                           "subsidy_fen", "individual_due_fen",
                                           "funding",     "region",
                                           NULL};
        char path[512], err[512];
        zz_policy_t *p = load("huilong-2020");
        zz_arena_t *arena = zz_arena_new(0);
        json_t *exp = json_loads(want, 0, NULL), *out, *recon;
        zz_case_t c;
        zz_decision_t d;
        json_error_t jerr;
        json_t *line;
        char *text;
        size_t i;

        snprintf(path, sizeof(path), "%s/policy/contract.jsonl", ZZ_TEST_DATA);
        line = json_load_file(path, 0, &jerr);
        cr_assert_not_null(line, "%s", jerr.text);
        text = json_dumps(line, JSON_COMPACT);
        cr_assert_eq(zz_case_from_json(text, strlen(text), &c, NULL, arena, err,
                                       sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(zz_policy_eval(p, &c, &d, arena), 0);
        out = zz_decision_to_json(&c, &d, 0);
        for (i = 0; keys[i] != NULL; i++)
                cr_expect(json_equal(json_object_get(exp, keys[i]),
                                     json_object_get(out, keys[i])),
                          "%s differs", keys[i]);
        recon = json_object_get(out, "reconciliation");
        cr_expect_str_eq(json_string_value(json_object_get(recon, "status")),
                         "REFUND_DUE");
        cr_expect_eq(json_integer_value(json_object_get(recon, "fen")), 7500);
        cr_expect_str_eq(json_string_value(json_object_get(recon, "route")),
                         "VIA_TAX");
        cr_expect(json_array_size(json_object_get(out, "trace")) > 0);
        cr_expect_str_eq(d.policy_version, zz_policy_version(p));
        free(text);
        json_decref(line);
        json_decref(out);
        json_decref(exp);
        zz_arena_destroy(arena);
        zz_policy_destroy(p);
}

/* The engine's C API, without JSON: Huilong's first worked example. */
Test(policy, c_api_topup)
{
        zz_policy_t *p = load("huilong-2020");
        zz_arena_t *arena = zz_arena_new(0);
        zz_attr_t lvl = {"level", "1"}, rel = {"relation", "self"};
        zz_identity_t ids[2];
        zz_case_t c;
        zz_decision_t d, d2;
        size_t i;
        int rule_entries = 0;

        memset(ids, 0, sizeof(ids));
        ids[0].category = "DPF.DISABLED";
        ids[0].attrs = &lvl;
        ids[0].n_attrs = 1;
        ids[0].valid_from = zz_date_from_ymd(2015, 3, 1);
        ids[0].valid_to = ZZ_DATE_NONE;
        ids[1].category = "NHC.FP_SPECIAL";
        ids[1].attrs = &rel;
        ids[1].n_attrs = 1;
        ids[1].valid_from = zz_date_from_ymd(2012, 1, 1);
        ids[1].valid_to = ZZ_DATE_NONE;
        zz_case_init(&c);
        c.identities = ids;
        c.n_identities = 2;
        c.has_enrollment = 1;
        c.enrollment.year = 2020;
        c.enrollment.tier = 1;
        c.enrollment.registered_on = zz_date_from_ymd(2019, 10, 15);
        c.enrollment.region = "500155107001";
        cr_assert_eq(zz_policy_eval(p, &c, &d, arena), 0);
        cr_expect_eq(d.subsidy_fen, 25000);
        cr_expect_eq(d.n_funding, 2);
        cr_expect_str_eq(d.funding[0].payer, "MAF");
        cr_expect_eq(d.funding[0].fen, 17500);
        cr_expect_str_eq(d.funding[1].payer, "NHC");
        cr_expect_eq(d.funding[1].fen, 7500);
        cr_expect_eq(d.reconciliation.status, ZZ_RECON_PENDING);
        for (i = 0; i < d.n_trace; i++) {
                if (d.trace[i].kind == ZZ_TRACE_RULE) {
                        rule_entries++;
                        cr_expect_not_null(d.trace[i].clause);
                }
        }
        cr_expect_eq(rule_entries, 5);
        cr_assert_eq(zz_policy_eval_ex(p, &c, &d2, arena, ZZ_EVAL_NO_TRACE), 0);
        cr_expect_eq(d2.n_trace, 0);
        cr_expect_eq(d2.subsidy_fen, d.subsidy_fen);
        cr_expect_eq(d2.n_funding, d.n_funding);
        zz_arena_destroy(arena);
        zz_policy_destroy(p);
}

Test(policy, accessors)
{
        zz_policy_t *p = load("huilong-2020");
        zz_policy_t *s = load("shantou-2021");
        zz_date_t from, to;
        int64_t sum = 0;
        size_t i, assumed = 0, decided = 0;

        cr_expect_str_eq(zz_policy_name(p), "huilong-2020");
        cr_expect_eq(zz_policy_year(p), 2020);
        cr_expect_str_eq(zz_policy_document(p), "回龙府发〔2019〕49号");
        cr_expect(zz_policy_in_jurisdiction(p, "500155107016"));
        cr_expect(!zz_policy_in_jurisdiction(p, "500155108001"));
        zz_policy_window(p, &from, &to);
        cr_expect_eq(from, zz_date_from_ymd(2019, 10, 1));
        cr_expect_eq(to, zz_date_from_ymd(2019, 12, 10));
        cr_expect_eq(zz_policy_tier_fen(p, 2), 62500);
        cr_expect_eq(zz_policy_tier_fen(p, 3), -1);
        cr_expect(zz_policy_household_same_tier(p));
        cr_expect(!zz_policy_household_same_tier(s));
        cr_expect_eq(zz_policy_target_count(p), 16);
        for (i = 0; i < zz_policy_target_count(p); i++)
                sum += zz_policy_target(p, i)->persons;
        cr_expect_eq(sum, 36674);
        cr_expect_str_eq(zz_policy_target(p, 0)->name, "回龙村");
        cr_expect_eq(zz_policy_period_count(s), 2);
        cr_expect_str_eq(zz_policy_period(s, 0)->name, "H1");
        cr_expect_str_eq(zz_policy_period(s, 1)->name, "H2");
        cr_expect_eq(zz_policy_period(s, 1)->transfer_by,
                     zz_date_from_ymd(2021, 12, 31));
        for (i = 0; i < zz_policy_note_count(p); i++) {
                if (zz_policy_note(p, i)->kind == ZZ_NOTE_ASSUMED)
                        assumed++;
                else
                        decided++;
                cr_expect_gt(zz_policy_note(p, i)->line, 0);
        }
        cr_expect_geq(assumed, 1);
        cr_expect_geq(decided, 1);
        cr_expect_null(zz_policy_period(s, 2));
        zz_policy_destroy(p);
        zz_policy_destroy(s);
        zz_policy_destroy(NULL);
}

/* Every ASSUMED and DECISION item of POLICIES.md is a structured note. */
Test(policy, assumed_and_decisions_visible)
{
        static const struct {
                const char *policy;
                const char *where;
                zz_note_kind_t kind;
        } want[] = {
            {"tongnan-2021", "tier 2", ZZ_NOTE_ASSUMED},
            {"tongnan-2021", "rule TN-T1", ZZ_NOTE_DECISION},
            {"tongnan-2021", "timing", ZZ_NOTE_DECISION},
            {"panzhihua-2022", "tier 1", ZZ_NOTE_ASSUMED},
            {"panzhihua-2022", "tier 2", ZZ_NOTE_ASSUMED},
            {"panzhihua-2022", "window", ZZ_NOTE_ASSUMED},
            {"panzhihua-2022", "allocation", ZZ_NOTE_ASSUMED},
            {"panzhihua-2022", "settlement period annual", ZZ_NOTE_ASSUMED},
            {"huilong-2020", "jurisdiction", ZZ_NOTE_ASSUMED},
            {"huilong-2020", "allocation", ZZ_NOTE_DECISION},
            {"huilong-2020", "settlement period annual", ZZ_NOTE_DECISION},
            {"yubei-2017", "tier 1", ZZ_NOTE_ASSUMED},
            {"yubei-2017", "tier 2", ZZ_NOTE_ASSUMED},
            {"yubei-2017", "rule YB-BASIC", ZZ_NOTE_ASSUMED},
            {"yubei-2017", "rule YB-OTHER", ZZ_NOTE_ASSUMED},
            {"yubei-2017", "rule YB-COLLEGE", ZZ_NOTE_ASSUMED},
            {"yubei-2017", "strategy", ZZ_NOTE_ASSUMED},
            {"shantou-2021", "tier 1", ZZ_NOTE_ASSUMED},
            {"shantou-2021", "window", ZZ_NOTE_ASSUMED},
            {"shantou-2021", "rule SH-WLF-INST", ZZ_NOTE_DECISION},
        };
        size_t i, j;

        for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                zz_policy_t *p = load(want[i].policy);
                int found = 0;

                for (j = 0; j < zz_policy_note_count(p); j++) {
                        const zz_policy_note_t *n = zz_policy_note(p, j);

                        if (strcmp(n->where, want[i].where) == 0 &&
                            n->kind == want[i].kind)
                                found = 1;
                }
                cr_expect(found, "%s: no %s note on %s", want[i].policy,
                          zz_note_kind_name(want[i].kind), want[i].where);
                zz_policy_destroy(p);
        }
}

/* --explain adds timing, identities, strategy, reconciliation and notes. */
Test(policy, explain_trace_has_notes)
{
        zz_policy_t *p = load("yubei-2017");
        zz_arena_t *arena = zz_arena_new(0);
        static const char *line =
            "{\"case\":\"x\",\"person\":{\"id\":\"500228199001011235\"},"
            "\"identities\":[{\"category\":\"MCA.DIBAO\",\"valid_from\":"
            "\"2017-03-01\"}],\"enrollment\":{\"year\":2017,\"tier\":1,"
            "\"registered_on\":\"2016-10-10\",\"region\":\"500112001001\"},"
            "\"payment\":{\"paid_at\":\"2016-10-10T10:00\",\"contribution_"
            "fen\":"
            "15000,\"subsidy_applied_fen\":0,\"paid_fen\":15000}}";
        zz_case_t c;
        zz_decision_t d;
        json_t *out, *trace;
        char err[256];
        size_t i;
        int notes = 0, kinds = 0;

        cr_assert_eq(zz_case_from_json(line, strlen(line), &c, NULL, arena, err,
                                       sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(zz_policy_eval(p, &c, &d, arena), 0);
        out = zz_decision_to_json(&c, &d, ZZ_JSON_EXPLAIN);
        trace = json_object_get(out, "trace");
        for (i = 0; i < json_array_size(trace); i++) {
                const char *k = json_string_value(
                    json_object_get(json_array_get(trace, i), "kind"));

                if (strcmp(k, "note") == 0)
                        notes++;
                if (strcmp(k, "timing") == 0 || strcmp(k, "identity") == 0 ||
                    strcmp(k, "resolve") == 0 || strcmp(k, "reconcile") == 0)
                        kinds++;
        }
        cr_expect_geq(notes, 5);
        cr_expect_geq(kinds, 4);
        json_decref(out);
        zz_arena_destroy(arena);
        zz_policy_destroy(p);
}

/* Issue 15, item 7: the decisions no clause states are decision: lines of
 * every policy file, kept as DECISION notes that explain shows: the death
 * day, a person outside the jurisdiction, what ENROLLED_ELSEWHERE reports.
 * (The cases tn-32..36, pz-22..24, sh-26, sh-27 pin the behaviour they
 * describe.) */
Test(policy, undocumented_decisions_are_decision_notes)
{
        static const char *const names[] = {"tongnan-2021", "panzhihua-2022",
                                            "huilong-2020", "yubei-2017",
                                            "shantou-2021"};
        static const char *const starts[] = {
            "death day: ", "outside the jurisdiction: ",
            "ENROLLED_ELSEWHERE: "};
        size_t i, j, k;

        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                zz_policy_t *p = load(names[i]);

                for (j = 0; j < sizeof(starts) / sizeof(starts[0]); j++) {
                        int found = 0;

                        for (k = 0; k < zz_policy_note_count(p); k++) {
                                const zz_policy_note_t *n =
                                    zz_policy_note(p, k);

                                if (n->kind == ZZ_NOTE_DECISION &&
                                    strncmp(n->text, starts[j],
                                            strlen(starts[j])) == 0 &&
                                    n->line > 0)
                                        found = 1;
                        }
                        cr_expect(found, "%s: no decision \"%s...\"", names[i],
                                  starts[j]);
                }
                zz_policy_destroy(p);
        }
}
