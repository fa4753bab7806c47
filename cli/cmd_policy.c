/*
 * cmd_policy.c — `zizhu policy check | eval | explain`: policy files and
 * the decisions they give, without a broker or a database.
 *
 * eval speaks the stable contract of CONTRACT.md: one case (JSON object)
 * per input line, one decision per output line. explain prints the same
 * decision for a person to read, in Chinese and English, with the clause
 * behind each rule and the ASSUMED / DECISION notes that applied.
 *
 * diff evaluates two versions of a policy over the facts in the database
 * (read only) and reports what changes (ops/policy_diff.c).
 *
 * Exit status: 0 every line evaluated; 1 some case line invalid (its
 * output object has "error"); 2 usage error, unreadable input, or an
 * invalid policy file (the message names the file, line and problem).
 * diff: 0 written, 1 a database error, 2 usage or an invalid policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zizhu/arena.h"
#include "zizhu/config.h"
#include "zizhu/log.h"
#include "zizhu/money.h"
#include "zizhu/opts.h"
#include "zizhu/pg.h"
#include "zizhu/policy.h"
#include "zizhu/policy_diff.h"
#include "zizhu/settle_facts.h"
#include "zizhu/policy_json.h"
#include "zizhu/policy_text.h"
#include "zz_cli.h"

#define ZZ_POLICY_EXIT_OK    ZZ_EXIT_OK
#define ZZ_POLICY_EXIT_CASE  1
#define ZZ_POLICY_EXIT_USAGE ZZ_EXIT_USAGE

static void usage(FILE *out)
{
        fprintf(out,
                "usage: zizhu policy check FILE...\n"
                "       zizhu policy eval --policy FILE [--cases FILE|-] "
                "[--explain]\n"
                "       zizhu policy explain --policy FILE [--cases FILE|-] "
                "[--case NAME]\n"
                "       zizhu policy diff --from OLD.yaml --to NEW.yaml "
                "[--as-of TIME]\n"
                "                         [--format table|csv|html] [--out "
                "FILE] [--top N]\n"
                "                         [--config FILE] [-X "
                "pg=CONNINFO]\n"
                "\n"
                "check    loads each policy file and reports its name, year "
                "and version\n"
                "eval     reads one case (JSON object) per line and writes "
                "one decision per line\n"
                "explain  prints each case's decision for a person to read, "
                "with the rule trace\n"
                "diff     what a new version would change over the facts in "
                "the database\n"
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
                "FILE:LINE: problem on stderr. Besides the format, check "
                "refuses what would\n"
                "silently pay 0: a condition listing every value of its "
                "attribute, a rule or\n"
                "who entry that can never match or apply, two rules of one "
                "stage and payer\n"
                "taking the same identities, a tier or percent of 0, a date "
                "outside the\n"
                "insurance year and the year before (see "
                "policies/README.md).\n"
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
                     "has \"error\": field and problem, e.g. an identity "
                     "without an attribute\n"
                     "its category requires; other lines are still "
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

static void usage_diff(FILE *out)
{
        fprintf(out,
                "usage: zizhu policy diff --from OLD.yaml --to NEW.yaml "
                "[--as-of TIME]\n"
                "                         [--format table|csv|html] [--out "
                "FILE] [--top N]\n"
                "                         [--chunk ROWS] [--config FILE] [-X "
                "pg=CONNINFO]\n"
                "\n"
                "Decides every person-year either version governs twice, "
                "from the facts in\n"
                "the database (the worker's folding and the engine), and "
                "reports per payer,\n"
                "fund, region and kind what the settlement would allocate "
                "before and after\n"
                "(fen), how many person-years change, and the --top N "
                "(default %d) largest\n"
                "individual changes with the rules that decided them before "
                "and after.\n"
                "Persons appear as pseudonym (with pseudonym_key / "
                "ZIZHU_PSEUDONYM_KEY) and\n"
                "masked ID number only. Nothing is written: it reads in READ "
                "ONLY\n"
                "transactions, a chunk of persons at a time (bounded "
                "memory), and runs as the\n"
                "role zizhu_auditor. Progress goes to stderr (-q: none). "
                "--format html writes\n"
                "a self-contained page with charts. --as-of counts only the "
                "facts known at TIME\n"
                "(identity reported_at, payment paid_at, enrollment "
                "registration day on or\n"
                "before it): 2017-03-31 (end of that day, China time) or "
                "an ISO time.\n"
                "--chunk: rows of each fact table fetched at a time "
                "(default 20000); memory\n"
                "grows with it, not with the persons.\n"
                "\n"
                "example:\n"
                "  zizhu policy diff --from policies/yubei-2017.yaml --to "
                "yubei-2017-amended.yaml \\\n"
                "      --format html --out diff.html\n"
                "\n"
                "exit status: 0 written; 1 a database error or an unwritable "
                "--out; 2 usage,\n"
                "or an invalid policy file\n",
                ZZ_PDIFF_TOP_DEFAULT);
}

static int parse_diff_format(const char *option, const char *value,
                             void *target, char *errstr, size_t errstr_size)
{
        int *format = target;

        *format = zz_report_format_from_name(value);
        if (*format < 0) {
                snprintf(errstr, errstr_size,
                         "%s: unknown format \"%s\" (table, csv or html)",
                         option, value);
                return -1;
        }
        return 0;
}

/* Loads the two versions, connects and writes the diff. */
static int diff_run(const char *from, const char *to, zz_pdiff_opts_t *po,
                    const char *outpath, zz_config_t *config)
{
        char err[1024] = "";
        zz_policy_t *pf = NULL, *pt = NULL;
        PGconn *conn = NULL;
        FILE *out = stdout;
        int rc = ZZ_POLICY_EXIT_USAGE;

        pf = zz_policy_load_file(from, err, sizeof(err));
        if (pf == NULL)
                goto done;
        pt = zz_policy_load_file(to, err, sizeof(err));
        if (pt == NULL)
                goto done;
        rc = ZZ_EXIT_FAIL;
        conn = zz_pg_connect(zz_config_pg(config), "zizhu-policy-diff", err,
                             sizeof(err));
        if (conn == NULL)
                goto done;
        if (outpath != NULL) {
                out = fopen(outpath, "w");
                if (out == NULL) {
                        snprintf(err, sizeof(err), "could not write %s",
                                 outpath);
                        goto done;
                }
        }
        po->from = pf;
        po->to = pt;
        if (zz_policy_diff(conn, po, out, err, sizeof(err)) != 0)
                goto done;
        if (out != stdout) {
                int bad = fclose(out) != 0;

                out = stdout;
                if (bad) {
                        snprintf(err, sizeof(err), "could not write %s",
                                 outpath);
                        goto done;
                }
        }
        fflush(stdout);
        rc = ZZ_POLICY_EXIT_OK;
done:
        if (rc != ZZ_POLICY_EXIT_OK)
                fprintf(stderr, "zizhu policy diff: %s\n", err);
        if (out != stdout)
                fclose(out);
        zz_pg_finish(conn);
        zz_policy_destroy(pf);
        zz_policy_destroy(pt);
        return rc;
}

static int cmd_diff(int argc, char **argv)
{
        const char *from = NULL, *to = NULL, *outpath = NULL, *as_of = NULL;
        int format = ZZ_REPORT_TABLE, top = ZZ_PDIFF_TOP_DEFAULT, chunk = 0;
        const zz_opt_t table[] = {
            ZZ_OPT_STRING("from", &from),
            ZZ_OPT_STRING("to", &to),
            ZZ_OPT_STRING("out", &outpath),
            ZZ_OPT_STRING("as-of", &as_of),
            ZZ_OPT_INT("top", &top, 1, 100000),
            ZZ_OPT_INT("chunk", &chunk, 1, 10000000),
            ZZ_OPT_CALL("format", parse_diff_format, &format, 1),
            ZZ_OPT_END};
        zz_pdiff_opts_t po;
        zz_config_t *config;
        zz_opts_t zo;
        int rc;

        zz_opts_init(&zo, "zizhu policy diff", usage_diff, ZZ_OPTS_CONFIG);
        if (zz_opts_parse(&zo, table, argc, argv) != 0)
                return zo.exit_status;
        if (from == NULL || to == NULL) {
                fprintf(stderr,
                        "zizhu policy diff: --from and --to are required\n");
                usage_diff(stderr);
                return ZZ_POLICY_EXIT_USAGE;
        }
        memset(&po, 0, sizeof(po));
        po.as_of = ZZ_AS_OF_NONE;
        if (as_of != NULL && zz_cli_parse_as_of(as_of, &po.as_of) != 0) {
                fprintf(stderr, "zizhu policy diff: --as-of: not a date or a "
                                "time\n");
                return ZZ_POLICY_EXIT_USAGE;
        }
        zz_log_set_component("policy-diff");
        config = zz_opts_config(&zo);
        if (config == NULL)
                return ZZ_EXIT_USAGE;
        po.format = (zz_report_format_t)format;
        po.top = (size_t)top;
        po.chunk = (size_t)chunk;
        po.pseudonym_key = zz_config_pseudonym_key(config);
        po.progress = zo.verbosity < 0 ? NULL : stderr;
        rc = diff_run(from, to, &po, outpath, config);
        zz_config_destroy(config);
        return rc;
}

static int is_help(const char *s)
{
        return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

static int cmd_check(int argc, char **argv)
{
        int i, rc = ZZ_POLICY_EXIT_OK;
        char err[512];
        zz_opts_t zo;

        zz_opts_init(&zo, "zizhu policy check", usage_check, 0);
        zo.max_args = -1;
        if (zz_opts_parse(&zo, NULL, argc, argv) != 0)
                return zo.exit_status;
        if (zo.n_args == 0) {
                usage_check(stderr);
                return ZZ_POLICY_EXIT_USAGE;
        }
        for (i = 0; i < zo.n_args; i++) {
                const char *path = zo.args[i];
                zz_policy_t *p = zz_policy_load_file(path, err, sizeof(err));

                if (p == NULL) {
                        fprintf(stderr, "zizhu policy check: %s\n", err);
                        rc = ZZ_POLICY_EXIT_USAGE;
                        continue;
                }
                printf("%s: ok: %s, insurance year %d, %zu notes, version "
                       "%s\n",
                       path, zz_policy_name(p), zz_policy_year(p),
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

/* eval's or explain's options. 0, or -1: return zo->exit_status. */
static int parse_opts(zz_opts_t *zo, int argc, char **argv, struct opts *o,
                      const char *prog, void (*help)(FILE *))
{
        const zz_opt_t eval_table[] = {ZZ_OPT_STRING("policy", &o->policy),
                                       ZZ_OPT_STRING("cases", &o->cases),
                                       ZZ_OPT_FLAG("explain", &o->explain, 1),
                                       ZZ_OPT_END};
        const zz_opt_t explain_table[] = {ZZ_OPT_STRING("policy", &o->policy),
                                          ZZ_OPT_STRING("cases", &o->cases),
                                          ZZ_OPT_STRING("case", &o->case_name),
                                          ZZ_OPT_END};

        memset(o, 0, sizeof(*o));
        zz_opts_init(zo, prog, help, 0);
        if (zz_opts_parse(
                zo, strcmp(argv[0], "eval") == 0 ? eval_table : explain_table,
                argc, argv) != 0)
                return -1;
        if (o->policy == NULL) {
                fprintf(stderr, "%s: --policy is required\n", prog);
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

/* The run over the case lines. */
struct cases_run {
        const char *cmd;
        const struct opts *o;
        int explain_text;
        const zz_policy_t *policy;
        zz_arena_t *arena;
        long lineno;
        int found; /* --case: the named case was seen */
};

static int wanted(const struct cases_run *r, const char *name)
{
        return r->o->case_name == NULL ||
               (name != NULL && strcmp(name, r->o->case_name) == 0);
}

/* A case line that is invalid, or whose evaluation failed. */
static void line_error(const struct cases_run *r, const char *name,
                       const char *err)
{
        if (r->explain_text)
                fprintf(stderr, "zizhu policy %s: line %ld: %s\n", r->cmd,
                        r->lineno, err);
        else
                print_json(zz_decision_error_json(name, err));
}

/* One case line: its decision, or its error. ZZ_POLICY_EXIT_OK or
 * ZZ_POLICY_EXIT_CASE. */
static int run_line(struct cases_run *r, const char *line, size_t len)
{
        char err[512];
        zz_case_t c;
        zz_decision_t d;
        const char *name = NULL;

        zz_arena_reset(r->arena);
        if (zz_case_from_json(line, len, &c, &name, r->arena, err,
                              sizeof(err)) != 0) {
                if (!wanted(r, name))
                        return ZZ_POLICY_EXIT_OK;
                line_error(r, name, err);
                return ZZ_POLICY_EXIT_CASE;
        }
        if (!wanted(r, c.name))
                return ZZ_POLICY_EXIT_OK;
        r->found = 1;
        if (zz_policy_eval(r->policy, &c, &d, r->arena) != 0) {
                line_error(r, c.name, d.error);
                return ZZ_POLICY_EXIT_CASE;
        }
        if (r->explain_text)
                zz_policy_explain_text(stdout, r->policy, &c, &d);
        else
                print_json(zz_decision_to_json(
                    &c, &d, r->o->explain ? ZZ_JSON_EXPLAIN : 0));
        return ZZ_POLICY_EXIT_OK;
}

/* Reads the next line of in into buf (cap bytes, one more than the
 * longest case, so that a longer line is seen as such): *len receives its
 * length without the newline, at most cap; the rest of a longer line is
 * read and dropped, so memory stays bounded whatever the input. 1 with a
 * line, 0 at the end of the input. */
static int read_case_line(FILE *in, char *buf, size_t cap, size_t *len)
{
        int c = EOF;
        size_t n = 0;

        while (n < cap && (c = getc(in)) != EOF && c != '\n')
                buf[n++] = (char)c;
        if (n == cap)
                while (c != EOF && c != '\n')
                        c = getc(in);
        *len = n;
        return n > 0 || c != EOF;
}

/* Every case line of in. An exit status. */
static int run_lines(struct cases_run *r, FILE *in)
{
        size_t cap = (size_t)ZZ_CASE_MAX_BYTES + 1, len;
        char *line = malloc(cap);
        int rc = ZZ_POLICY_EXIT_OK;

        if (line == NULL) {
                fprintf(stderr, "zizhu policy %s: out of memory\n", r->cmd);
                return ZZ_POLICY_EXIT_CASE;
        }
        while (read_case_line(in, line, cap, &len)) {
                r->lineno++;
                if (!blank(line, len) &&
                    run_line(r, line, len) != ZZ_POLICY_EXIT_OK)
                        rc = ZZ_POLICY_EXIT_CASE;
        }
        free(line);
        if (r->o->case_name != NULL && !r->found) {
                fprintf(stderr, "zizhu policy %s: no case named \"%s\"\n",
                        r->cmd, r->o->case_name);
                rc = ZZ_POLICY_EXIT_CASE;
        }
        return rc;
}

/* Runs eval or explain over the case lines. */
static int run_cases(const char *cmd, const struct opts *o, int explain_text)
{
        struct cases_run r;
        char err[512];
        zz_policy_t *p;
        FILE *in;
        int rc = ZZ_POLICY_EXIT_USAGE;

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
        memset(&r, 0, sizeof(r));
        r.cmd = cmd;
        r.o = o;
        r.explain_text = explain_text;
        r.policy = p;
        r.arena = zz_arena_new(0);
        if (r.arena == NULL)
                fprintf(stderr, "zizhu policy %s: out of memory\n", cmd);
        else
                rc = run_lines(&r, in);
        zz_arena_destroy(r.arena);
        if (in != stdin)
                fclose(in);
        zz_policy_destroy(p);
        fflush(stdout);
        return rc;
}

int zz_cmd_policy(int argc, char **argv)
{
        struct opts o;
        zz_opts_t zo;

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
        if (strcmp(argv[1], "diff") == 0)
                return cmd_diff(argc - 1, argv + 1);
        if (strcmp(argv[1], "eval") == 0) {
                if (parse_opts(&zo, argc - 1, argv + 1, &o, "zizhu policy eval",
                               usage_eval) != 0)
                        return zo.exit_status;
                return run_cases("eval", &o, 0);
        }
        if (strcmp(argv[1], "explain") == 0) {
                if (parse_opts(&zo, argc - 1, argv + 1, &o,
                               "zizhu policy explain", usage_explain) != 0)
                        return zo.exit_status;
                return run_cases("explain", &o, 1);
        }
        fprintf(stderr, "zizhu policy: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
        return ZZ_POLICY_EXIT_USAGE;
}
