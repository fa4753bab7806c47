/*
 * cmd_policy.c — `zizhu policy check | eval | explain`: policy files and
 * the decisions they give, without a broker or a database.
 *
 * eval speaks the stable contract of CONTRACT.md: one case (JSON object)
 * per input line, one decision per output line. explain prints the same
 * decision for a person to read, in Chinese and English, with the clause
 * behind each rule and the ASSUMED / DECISION notes that applied.
 *
 * Exit status: 0 every line evaluated; 1 some case line invalid (its
 * output object has "error"); 2 usage error, unreadable input, or an
 * invalid policy file (the message names the file, line and problem).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zizhu/arena.h"
#include "zizhu/money.h"
#include "zizhu/policy.h"
#include "zizhu/policy_json.h"
#include "zizhu/policy_text.h"
#include "zz_cli.h"

#define ZZ_POLICY_EXIT_OK    0
#define ZZ_POLICY_EXIT_CASE  1
#define ZZ_POLICY_EXIT_USAGE 2

static void usage(FILE *out)
{
        fprintf(out,
                "usage: zizhu policy check FILE...\n"
                "       zizhu policy eval --policy FILE [--cases FILE|-] "
                "[--explain]\n"
                "       zizhu policy explain --policy FILE [--cases FILE|-] "
                "[--case NAME]\n"
                "\n"
                "check    loads each policy file and reports its name, year "
                "and version\n"
                "eval     reads one case (JSON object) per line and writes "
                "one decision per line\n"
                "explain  prints each case's decision for a person to read, "
                "with the rule trace\n"
                "\n"
                "'zizhu policy <command> --help' describes one command.\n");
}

static void usage_check(FILE *out)
{
        fprintf(out,
                "usage: zizhu policy check FILE...\n"
                "\n"
                "Loads and checks every policy file. A valid file prints its "
                "name, insurance\n"
                "year, rule count and version (SHA-256 of its bytes); an "
                "invalid one prints\n"
                "FILE:LINE: problem on stderr.\n"
                "\n"
                "example:\n"
                "  zizhu policy check policies/*.yaml\n"
                "\n"
                "exit status: 0 all valid, 2 any invalid\n");
}

static void usage_eval(FILE *out)
{
        fprintf(out, "usage: zizhu policy eval --policy FILE [--cases FILE|-] "
                     "[--explain]\n"
                     "\n"
                     "Reads one case per line (a JSON object, see CONTRACT.md) "
                     "from FILE or stdin\n"
                     "and writes one decision per line to stdout. --explain "
                     "makes each trace full:\n"
                     "timing, every identity, every rule, the strategy, the "
                     "reconciliation and\n"
                     "the ASSUMED / DECISION notes that applied.\n"
                     "\n"
                     "example:\n"
                     "  zizhu policy eval --policy policies/huilong-2020.yaml "
                     "--cases cases.jsonl\n"
                     "\n"
                     "exit status: 0 every line evaluated; 1 a case line was "
                     "invalid (its output\n"
                     "has \"error\": field and problem; other lines are still "
                     "evaluated); 2 the\n"
                     "policy file is invalid, or a usage error\n");
}

static void usage_explain(FILE *out)
{
        fprintf(out,
                "usage: zizhu policy explain --policy FILE [--cases FILE|-] "
                "[--case NAME]\n"
                "\n"
                "Prints, for each case (or only the one named NAME), what "
                "the person gets and\n"
                "why: the day identities were judged on, each identity, "
                "each rule with its\n"
                "clause and amount, how the strategy combined them, the "
                "reconciliation with\n"
                "tax, and the ASSUMED / DECISION notes that applied. Labels "
                "are Chinese and\n"
                "English. ID numbers are never printed.\n"
                "\n"
                "example:\n"
                "  zizhu policy explain --policy policies/huilong-2020.yaml "
                "--cases cases.jsonl --case hl-07\n"
                "\n"
                "exit status: 0 explained; 1 a case line was invalid or "
                "NAME not found; 2 the\n"
                "policy file is invalid, or a usage error\n");
}

static int is_help(const char *s)
{
        return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

static int cmd_check(int argc, char **argv)
{
        int i, rc = ZZ_POLICY_EXIT_OK;
        char err[512];

        if (argc < 2) {
                usage_check(stderr);
                return ZZ_POLICY_EXIT_USAGE;
        }
        for (i = 1; i < argc; i++) {
                if (is_help(argv[i])) {
                        usage_check(stdout);
                        return ZZ_POLICY_EXIT_OK;
                }
        }
        for (i = 1; i < argc; i++) {
                zz_policy_t *p = zz_policy_load_file(argv[i], err, sizeof(err));

                if (p == NULL) {
                        fprintf(stderr, "zizhu policy check: %s\n", err);
                        rc = ZZ_POLICY_EXIT_USAGE;
                        continue;
                }
                printf("%s: ok: %s, insurance year %d, %zu notes, version "
                       "%s\n",
                       argv[i], zz_policy_name(p), zz_policy_year(p),
                       zz_policy_note_count(p), zz_policy_version(p));
                zz_policy_destroy(p);
        }
        return rc;
}

struct opts {
        const char *policy;
        const char *cases;
        const char *case_name;
        int explain;
};

static int parse_opts(int argc, char **argv, struct opts *o, int allow_explain,
                      int allow_case, void (*help)(FILE *))
{
        int i;

        memset(o, 0, sizeof(*o));
        for (i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (is_help(a)) {
                        help(stdout);
                        return 1;
                }
                if (strcmp(a, "--policy") == 0 && i + 1 < argc) {
                        o->policy = argv[++i];
                } else if (strcmp(a, "--cases") == 0 && i + 1 < argc) {
                        o->cases = argv[++i];
                } else if (allow_case && strcmp(a, "--case") == 0 &&
                           i + 1 < argc) {
                        o->case_name = argv[++i];
                } else if (allow_explain && strcmp(a, "--explain") == 0) {
                        o->explain = 1;
                } else {
                        fprintf(stderr,
                                "zizhu policy %s: unknown or incomplete "
                                "option \"%s\"\n",
                                argv[0], a);
                        help(stderr);
                        return -1;
                }
        }
        if (o->policy == NULL) {
                fprintf(stderr, "zizhu policy %s: --policy is required\n",
                        argv[0]);
                help(stderr);
                return -1;
        }
        return 0;
}

static FILE *open_cases(const char *cmd, const char *path)
{
        FILE *f;

        if (path == NULL || strcmp(path, "-") == 0)
                return stdin;
        f = fopen(path, "r");
        if (f == NULL)
                fprintf(stderr,
                        "zizhu policy %s: could not open cases file \"%s\"\n",
                        cmd, path);
        return f;
}

static int blank(const char *s, size_t len)
{
        size_t i;

        for (i = 0; i < len; i++) {
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
                        return 0;
        }
        return 1;
}

static void print_json(json_t *o)
{
        char *s;

        if (o == NULL) {
                fputs("{\"case\":null,\"error\":\"out of memory\"}\n", stdout);
                return;
        }
        s = json_dumps(o, JSON_COMPACT);
        if (s != NULL) {
                fputs(s, stdout);
                fputc('\n', stdout);
                free(s);
        }
        json_decref(o);
}

/* ---- explain ---- */

/* Runs eval or explain over the case lines. */
static int run_cases(const char *cmd, const struct opts *o, int explain_text)
{
        char err[512];
        zz_policy_t *p;
        zz_arena_t *arena;
        FILE *in;
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        int rc = ZZ_POLICY_EXIT_OK, found = 0;
        long lineno = 0;

        p = zz_policy_load_file(o->policy, err, sizeof(err));
        if (p == NULL) {
                fprintf(stderr, "zizhu policy %s: %s\n", cmd, err);
                return ZZ_POLICY_EXIT_USAGE;
        }
        in = open_cases(cmd, o->cases);
        if (in == NULL) {
                zz_policy_destroy(p);
                return ZZ_POLICY_EXIT_USAGE;
        }
        arena = zz_arena_new(0);
        if (arena == NULL) {
                fprintf(stderr, "zizhu policy %s: out of memory\n", cmd);
                if (in != stdin)
                        fclose(in);
                zz_policy_destroy(p);
                return ZZ_POLICY_EXIT_USAGE;
        }
        while ((len = getline(&line, &cap, in)) >= 0) {
                zz_case_t c;
                zz_decision_t d;
                const char *name = NULL;

                lineno++;
                if (blank(line, (size_t)len))
                        continue;
                zz_arena_reset(arena);
                if (zz_case_from_json(line, (size_t)len, &c, &name, arena, err,
                                      sizeof(err)) != 0) {
                        if (o->case_name != NULL &&
                            (name == NULL || strcmp(name, o->case_name) != 0))
                                continue;
                        rc = ZZ_POLICY_EXIT_CASE;
                        if (explain_text)
                                fprintf(stderr,
                                        "zizhu policy %s: line %ld: %s\n", cmd,
                                        lineno, err);
                        else
                                print_json(zz_decision_error_json(name, err));
                        continue;
                }
                if (o->case_name != NULL &&
                    (c.name == NULL || strcmp(c.name, o->case_name) != 0))
                        continue;
                found = 1;
                if (zz_policy_eval(p, &c, &d, arena) != 0) {
                        rc = ZZ_POLICY_EXIT_CASE;
                        if (explain_text)
                                fprintf(stderr,
                                        "zizhu policy %s: line %ld: %s\n", cmd,
                                        lineno, d.error);
                        else
                                print_json(
                                    zz_decision_error_json(c.name, d.error));
                        continue;
                }
                if (explain_text)
                        zz_policy_explain_text(stdout, p, &c, &d);
                else
                        print_json(zz_decision_to_json(
                            &c, &d, o->explain ? ZZ_JSON_EXPLAIN : 0));
        }
        if (o->case_name != NULL && !found) {
                fprintf(stderr, "zizhu policy %s: no case named \"%s\"\n", cmd,
                        o->case_name);
                rc = ZZ_POLICY_EXIT_CASE;
        }
        free(line);
        zz_arena_destroy(arena);
        if (in != stdin)
                fclose(in);
        zz_policy_destroy(p);
        fflush(stdout);
        return rc;
}

int zz_cmd_policy(int argc, char **argv)
{
        struct opts o;
        int r;

        if (argc < 2) {
                usage(stderr);
                return ZZ_POLICY_EXIT_USAGE;
        }
        if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
                usage(stdout);
                return ZZ_POLICY_EXIT_OK;
        }
        if (strcmp(argv[1], "check") == 0)
                return cmd_check(argc - 1, argv + 1);
        if (strcmp(argv[1], "eval") == 0) {
                r = parse_opts(argc - 1, argv + 1, &o, 1, 0, usage_eval);
                if (r != 0)
                        return r > 0 ? ZZ_POLICY_EXIT_OK : ZZ_POLICY_EXIT_USAGE;
                return run_cases("eval", &o, 0);
        }
        if (strcmp(argv[1], "explain") == 0) {
                r = parse_opts(argc - 1, argv + 1, &o, 0, 1, usage_explain);
                if (r != 0)
                        return r > 0 ? ZZ_POLICY_EXIT_OK : ZZ_POLICY_EXIT_USAGE;
                return run_cases("explain", &o, 1);
        }
        fprintf(stderr, "zizhu policy: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
        return ZZ_POLICY_EXIT_USAGE;
}
