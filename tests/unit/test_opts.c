/*
 * test_opts.c — the command-line preamble (opts.h): numbers with their
 * range and nothing after them, every kind of table entry, the common
 * options, --help, usage errors with exit status 2, and the built
 * programs exiting 2 on a bad number or option before they touch Kafka or
 * PostgreSQL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "zizhu/opts.h"

/* ---- numbers ---- */

Test(opts_numbers, long_accepts_the_whole_range)
{
        char err[256];
        long v = 0;

        cr_assert_eq(zz_opts_long("--n", "12", 1, 100, &v, err, sizeof(err)),
                     0);
        cr_assert_eq(v, 12);
        cr_assert_eq(zz_opts_long("--n", "1", 1, 100, &v, err, sizeof(err)), 0);
        cr_assert_eq(v, 1);
        cr_assert_eq(zz_opts_long("--n", "100", 1, 100, &v, err, sizeof(err)),
                     0);
        cr_assert_eq(v, 100);
        cr_assert_eq(zz_opts_long("--n", "-5", -10, 10, &v, err, sizeof(err)),
                     0);
        cr_assert_eq(v, -5);
        cr_assert_eq(zz_opts_long("--n", "0", 0, 0, &v, err, sizeof(err)), 0);
}

Test(opts_numbers, long_message_names_option_value_and_range)
{
        char err[256];
        long v = 7;

        cr_assert_eq(zz_opts_long("--persons", "12x", 1, 100000000, &v, err,
                                  sizeof(err)),
                     -1);
        cr_assert_str_eq(err, "invalid value for --persons: \"12x\" (expected "
                              "an integer from 1 to 100000000)");
        cr_assert_eq(v, 7, "the target is left alone");
}

Test(opts_numbers, long_rejects_garbage_blanks_signs_and_range)
{
        static const char *const bad[] = {
            "",    "x",   "12x", "1 2",
            " 12", "12 ", "+12", "-",
            "--1", "0x1", "1e3", "0",
            "101", "-1",  "1.5", "99999999999999999999"};
        char err[256];
        long v;
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_expect_eq(
                    zz_opts_long("--n", bad[i], 1, 100, &v, err, sizeof(err)),
                    -1, "accepted \"%s\"", bad[i]);
}

Test(opts_numbers, u64_full_range_and_no_minus)
{
        char err[256];
        uint64_t v = 0;

        cr_assert_eq(zz_opts_u64("--seed", "18446744073709551615", 0,
                                 UINT64_MAX, &v, err, sizeof(err)),
                     0);
        cr_assert_eq(v, UINT64_MAX);
        cr_assert_eq(zz_opts_u64("--seed", "18446744073709551616", 0,
                                 UINT64_MAX, &v, err, sizeof(err)),
                     -1);
        /* strtoull would read "-1" as the largest value */
        cr_assert_eq(
            zz_opts_u64("--seed", "-1", 0, UINT64_MAX, &v, err, sizeof(err)),
            -1);
        cr_assert_str_eq(err, "invalid value for --seed: \"-1\" (expected an "
                              "integer from 0 to 18446744073709551615)");
        cr_assert_eq(
            zz_opts_u64("--persons", "0", 1, 100, &v, err, sizeof(err)), -1);
        cr_assert_eq(
            zz_opts_u64("--persons", "7s", 1, 100, &v, err, sizeof(err)), -1);
}

Test(opts_numbers, double_range_and_no_inf_or_nan)
{
        static const char *const bad[] = {"",    "x",   "0.5x", "1.5", "-0.1",
                                          "nan", "inf", " 0.5", "1e",  "."};
        char err[256];
        double v = 0;
        size_t i;

        cr_assert_eq(zz_opts_double("--f", "0.05", 0, 1, &v, err, sizeof(err)),
                     0);
        cr_assert_float_eq(v, 0.05, 1e-12);
        cr_assert_eq(zz_opts_double("--f", ".5", 0, 1, &v, err, sizeof(err)),
                     0);
        cr_assert_eq(zz_opts_double("--f", "1", 0, 1, &v, err, sizeof(err)), 0);
        cr_assert_eq(zz_opts_double("--f", "5e-1", 0, 1, &v, err, sizeof(err)),
                     0);
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_expect_eq(
                    zz_opts_double("--f", bad[i], 0, 1, &v, err, sizeof(err)),
                    -1, "accepted \"%s\"", bad[i]);
        cr_assert_str_eq(err, "invalid value for --f: \".\" (expected a "
                              "number from 0 to 1)");
}

/* ---- the parser ---- */

static FILE *usage_out;

static void usage(FILE *out)
{
        usage_out = out;
}

struct prog {
        int flag, unflag, n;
        const char *name;
        uint64_t seed;
        double share;
        long long from;
};

static int parse_from(const char *option, const char *value, void *target,
                      char *errstr, size_t errstr_size)
{
        long long *from = target;

        if (value == NULL) {
                *from = -1;
                return 0;
        }
        if (strcmp(value, "now") != 0) {
                snprintf(errstr, errstr_size, "%s: not a time", option);
                return -1;
        }
        *from = 42;
        return 0;
}

/* Parses the NULL-terminated words as one command line of a program with
 * every kind of option. */
static int parse(zz_opts_t *zo, struct prog *p, unsigned features, int max_args,
                 const char **words)
{
        const zz_opt_t table[] = {
            ZZ_OPT_FLAG("flag", &p->flag, 1),
            ZZ_OPT_FLAG("no-unflag", &p->unflag, 0),
            ZZ_OPT_INT("n", &p->n, 1, 1000),
            ZZ_OPT_STRING("name", &p->name),
            ZZ_OPT_U64("seed", &p->seed, 0, UINT64_MAX),
            ZZ_OPT_DOUBLE("share", &p->share, 0, 1),
            ZZ_OPT_CALL("from", parse_from, &p->from, 1),
            ZZ_OPT_CALL("from-beginning", parse_from, &p->from, 0),
            ZZ_OPT_END};
        static char *argv[2 * ZZ_OPTS_MAX_X + 8];
        int argc = 0;

        memset(p, 0, sizeof(*p));
        p->unflag = 1;
        argv[argc++] = "prog";
        while (*words != NULL)
                argv[argc++] = (char *)*words++;
        argv[argc] = NULL;
        zz_opts_init(zo, "prog", usage, features);
        zo->max_args = max_args;
        return zz_opts_parse(zo, table, argc, argv);
}

Test(opts_parse, every_kind_of_option)
{
        const char *words[] = {"--flag", "--no-unflag", "--n",      "12",
                               "--name", "x",           "--seed=7", "--share",
                               "0.25",   "--from",      "now",      NULL};
        zz_opts_t zo;
        struct prog p;

        cr_assert_eq(parse(&zo, &p, 0, 0, words), 0);
        cr_assert_eq(p.flag, 1);
        cr_assert_eq(p.unflag, 0);
        cr_assert_eq(p.n, 12);
        cr_assert_str_eq(p.name, "x");
        cr_assert_eq(p.seed, 7);
        cr_assert_float_eq(p.share, 0.25, 1e-12);
        cr_assert_eq(p.from, 42);
        cr_assert_eq(zo.n_args, 0);
}

Test(opts_parse, the_last_of_an_option_wins)
{
        const char *words[] = {
            "--from", "now", "--from-beginning", "--n", "3", "--n", "4", NULL};
        zz_opts_t zo;
        struct prog p;

        cr_assert_eq(parse(&zo, &p, 0, 0, words), 0);
        cr_assert_eq(p.from, -1);
        cr_assert_eq(p.n, 4);
}

Test(opts_parse, common_options)
{
        const char *words[] = {
            "-X", "pg=dbname=a", "-Xlinger.ms=5", "--config", "/etc/z.conf",
            "-v", "-qvv",        "--policies",    "/p",       NULL};
        zz_opts_t zo;
        struct prog p;

        cr_assert_eq(
            parse(&zo, &p,
                  ZZ_OPTS_CONFIG | ZZ_OPTS_VERBOSITY | ZZ_OPTS_POLICIES, 0,
                  words),
            0);
        cr_assert_eq(zo.n_xs, 2);
        cr_assert_str_eq(zo.xs[0], "pg=dbname=a");
        cr_assert_str_eq(zo.xs[1], "linger.ms=5");
        cr_assert_str_eq(zo.config_path, "/etc/z.conf");
        cr_assert_eq(zo.verbosity, 2);
        cr_assert_str_eq(zo.policies, "/p");
}

Test(opts_parse, policies_default_and_other_name)
{
        const char *none[] = {NULL};
        const zz_opt_t table[] = {ZZ_OPT_END};
        char *argv[] = {"prog", "--policy-dir", "/q", NULL};
        zz_opts_t zo;
        struct prog p;

        setenv("ZZ_SOURCE_DIR", "/src", 1);
        cr_assert_eq(parse(&zo, &p, ZZ_OPTS_POLICIES, 0, none), 0);
        cr_assert_str_eq(zo.policies, "/src/policies");
        cr_assert_str_eq(zz_opts_source_dir(), "/src");
        zz_opts_init(&zo, "prog", usage, ZZ_OPTS_POLICIES);
        zo.policies_option = "policy-dir";
        cr_assert_eq(zz_opts_parse(&zo, table, 3, argv), 0);
        cr_assert_str_eq(zo.policies, "/q");
}

Test(opts_parse, arguments_in_any_place)
{
        const char *words[] = {"verify", "--n", "5", "-", "--flag", NULL};
        zz_opts_t zo;
        struct prog p;

        cr_assert_eq(parse(&zo, &p, 0, -1, words), 0);
        cr_assert_eq(p.n, 5);
        cr_assert_eq(p.flag, 1);
        cr_assert_eq(zo.n_args, 2);
        cr_assert_str_eq(zo.args[0], "verify");
        cr_assert_str_eq(zo.args[1], "-");
}

Test(opts_parse, in_order_stops_at_the_first_argument)
{
        const char *words[] = {"--n", "5", "audit", "--n", "6", "-q", NULL};
        zz_opts_t zo;
        struct prog p;

        cr_assert_eq(parse(&zo, &p, ZZ_OPTS_IN_ORDER, -1, words), 0);
        cr_assert_eq(p.n, 5);
        cr_assert_eq(zo.n_args, 4);
        cr_assert_str_eq(zo.args[0], "audit");
        cr_assert_str_eq(zo.args[1], "--n");
        cr_assert_str_eq(zo.args[3], "-q");
}

Test(opts_parse, help_goes_to_stdout_with_status_0)
{
        const char *words[] = {"--n", "5", "--help", "--n", "x", NULL};
        const char *shortw[] = {"-h", NULL};
        zz_opts_t zo;
        struct prog p;

        usage_out = NULL;
        cr_assert_eq(parse(&zo, &p, 0, 0, words), -1);
        cr_assert_eq(zo.exit_status, ZZ_EXIT_OK);
        cr_assert_eq(usage_out, stdout);
        usage_out = NULL;
        cr_assert_eq(parse(&zo, &p, 0, 0, shortw), -1);
        cr_assert_eq(zo.exit_status, ZZ_EXIT_OK);
        cr_assert_eq(usage_out, stdout);
}

/* The words must be a usage error: -1, exit status 2, nothing on stdout,
 * the message first on stderr. */
static void expect_usage_error(unsigned features, int max_args,
                               const char **words, const char *message)
{
        zz_opts_t zo;
        struct prog p;

        usage_out = NULL;
        cr_assert_eq(parse(&zo, &p, features, max_args, words), -1, "%s",
                     message);
        cr_assert_eq(zo.exit_status, ZZ_EXIT_USAGE, "%s", message);
        cr_assert_null(usage_out, "no usage text on a usage error");
        fflush(stderr);
}

Test(opts_errors, bad_number, .init = cr_redirect_stderr)
{
        const char *words[] = {"--n", "12x", NULL};

        expect_usage_error(0, 0, words, "bad number");
        cr_assert_stderr_eq_str(
            "prog: invalid value for --n: \"12x\" (expected an integer "
            "from 1 to 1000)\n"
            "hint: \"prog --help\" describes the options\n");
}

Test(opts_errors, unknown_long_option, .init = cr_redirect_stderr)
{
        const char *words[] = {"--frobnicate=3", NULL};

        expect_usage_error(0, 0, words, "unknown");
        cr_assert_stderr_eq_str("prog: unknown option \"--frobnicate\"\n"
                                "hint: \"prog --help\" describes the "
                                "options\n");
}

Test(opts_errors, unknown_short_option, .init = cr_redirect_stderr)
{
        const char *words[] = {"-X", "a=b", NULL};

        /* -X only with ZZ_OPTS_CONFIG */
        expect_usage_error(0, 0, words, "no -X");
        cr_assert_stderr_eq_str("prog: unknown option \"-X\"\n"
                                "hint: \"prog --help\" describes the "
                                "options\n");
}

Test(opts_errors, missing_value, .init = cr_redirect_stderr)
{
        const char *words[] = {"--n", NULL};

        expect_usage_error(0, 0, words, "missing value");
        cr_assert_stderr_eq_str("prog: --n needs a value\n"
                                "hint: \"prog --help\" describes the "
                                "options\n");
}

Test(opts_errors, missing_x_value, .init = cr_redirect_stderr)
{
        const char *words[] = {"-X", NULL};

        expect_usage_error(ZZ_OPTS_CONFIG, 0, words, "missing -X value");
        cr_assert_stderr_eq_str("prog: -X needs a value\n"
                                "hint: \"prog --help\" describes the "
                                "options\n");
}

Test(opts_errors, flag_with_value, .init = cr_redirect_stderr)
{
        const char *words[] = {"--flag=yes", NULL};

        expect_usage_error(0, 0, words, "flag with a value");
        cr_assert_stderr_eq_str("prog: --flag takes no value\n"
                                "hint: \"prog --help\" describes the "
                                "options\n");
}

Test(opts_errors, callback_error, .init = cr_redirect_stderr)
{
        const char *words[] = {"--from", "yesterday", NULL};

        expect_usage_error(0, 0, words, "callback");
        cr_assert_stderr_eq_str("prog: --from: not a time\n"
                                "hint: \"prog --help\" describes the "
                                "options\n");
}

Test(opts_errors, too_many_arguments, .init = cr_redirect_stderr)
{
        const char *words[] = {"a", "b", NULL};

        expect_usage_error(0, 1, words, "two arguments");
        cr_assert_stderr_eq_str("prog: unexpected argument \"b\"\n"
                                "hint: \"prog --help\" describes the "
                                "options\n");
}

Test(opts_errors, other_errors)
{
        const char *ambiguous[] = {"--fr", "now", NULL};
        const char *q_off[] = {"-q", NULL};
        const char *share[] = {"--share", "2", NULL};
        const char *none_allowed[] = {"x", NULL};

        expect_usage_error(0, 0, ambiguous, "--fr is ambiguous");
        expect_usage_error(ZZ_OPTS_VERBOSE, 0, q_off, "-q not taken");
        expect_usage_error(0, 0, share, "--share out of range");
        expect_usage_error(0, 0, none_allowed, "no argument taken");
}

Test(opts_errors, too_many_x, .init = cr_redirect_stderr)
{
        const char *words[2 * ZZ_OPTS_MAX_X + 3];
        size_t i;

        for (i = 0; i <= ZZ_OPTS_MAX_X; i++) {
                words[2 * i] = "-X";
                words[2 * i + 1] = "a=b";
        }
        words[2 * i] = NULL;
        expect_usage_error(ZZ_OPTS_CONFIG, 0, words, "65 -X");
        cr_assert_stderr_eq_str("prog: too many -X settings (at most 64)\n"
                                "hint: \"prog --help\" describes the "
                                "options\n");
}

/* ---- configuration and log level ---- */

Test(opts_config, x_pairs_in_order)
{
        const char *words[] = {"-X", "pg=dbname=a", "-X", "pg=dbname=b", NULL};
        zz_opts_t zo;
        struct prog p;
        zz_config_t *config;

        unsetenv("ZIZHU_CONFIG");
        cr_assert_eq(parse(&zo, &p, ZZ_OPTS_CONFIG, 0, words), 0);
        config = zz_opts_config(&zo);
        cr_assert_not_null(config);
        cr_assert_str_eq(zz_config_pg(config), "dbname=b");
        zz_config_destroy(config);
}

Test(opts_config, bad_pair_is_a_usage_error, .init = cr_redirect_stderr)
{
        const char *words[] = {"-X", "nonsense", NULL};
        zz_opts_t zo;
        struct prog p;

        unsetenv("ZIZHU_CONFIG");
        cr_assert_eq(parse(&zo, &p, ZZ_OPTS_CONFIG, 0, words), 0);
        cr_assert_null(zz_opts_config(&zo));
        fflush(stderr);
        cr_assert_stderr_eq_str(
            "prog: -X: expected key=value, got \"nonsense\"\n"
            "hint: \"prog --help\" describes the options\n");
}

Test(opts_config, missing_file, .init = cr_redirect_stderr)
{
        const char *words[] = {"--config", "/nonexistent/z.conf", NULL};
        zz_opts_t zo;
        struct prog p;

        cr_assert_eq(parse(&zo, &p, ZZ_OPTS_CONFIG, 0, words), 0);
        cr_assert_null(zz_opts_config(&zo));
}

Test(opts_log, levels)
{
        zz_opts_t zo;

        zz_opts_init(&zo, "prog", usage, ZZ_OPTS_VERBOSITY);
        zz_opts_set_log_level(&zo, ZZ_LOG_INFO);
        cr_assert_eq(zz_log_get_level(), ZZ_LOG_INFO);
        zo.verbosity = -1;
        zz_opts_set_log_level(&zo, ZZ_LOG_INFO);
        cr_assert_eq(zz_log_get_level(), ZZ_LOG_WARN);
        zz_opts_set_log_level(&zo, ZZ_LOG_WARN);
        cr_assert_eq(zz_log_get_level(), ZZ_LOG_ERROR);
        zo.verbosity = -3;
        zz_opts_set_log_level(&zo, ZZ_LOG_ERROR);
        cr_assert_eq(zz_log_get_level(), ZZ_LOG_ERROR);
        zo.verbosity = 2;
        zz_opts_set_log_level(&zo, ZZ_LOG_WARN);
        cr_assert_eq(zz_log_get_level(), ZZ_LOG_DEBUG);
}

/* ---- the built programs ---- */

/* Runs "<bin dir>/<path> <args>" with stdin, stdout and stderr on
 * /dev/null, in the source folder, with Kafka and PostgreSQL pointed at a
 * closed port: a program that wrongly accepted its options fails with 1
 * (or runs to 0 or 3) without touching the shared stack. Its exit status.
 */
static int run(const char *path, const char *args)
{
        const char *dir = getenv("ZZ_BIN_DIR");
        char cmd[2048];
        int st;

        snprintf(cmd, sizeof(cmd),
                 "cd '%s' && ZIZHU_CONFIG= "
                 "ZIZHU_PSEUDONYM_KEY=opts-test-key-0123456789abcdef0123456789 "
                 "ZIZHU_BOOTSTRAP=127.0.0.1:9 "
                 "ZIZHU_PG='host=127.0.0.1 port=9 connect_timeout=2' "
                 "'%s/%s' %s </dev/null >/dev/null 2>&1",
                 ZZ_TEST_DATA, dir != NULL && dir[0] != '\0' ? dir : ZZ_BIN_DIR,
                 path, args);
        st = system(cmd);
        cr_assert(WIFEXITED(st), "did not exit: %s", cmd);
        return WEXITSTATUS(st);
}

Test(opts_programs, bad_numbers_exit_2)
{
        /* Each would otherwise connect to Kafka or PostgreSQL: an exit
         * status of 2 here means the number stopped it first. */
        static const char *const bad[][2] = {
            {"producers/zizhu-loadgen", "--persons 12x --null"},
            {"producers/zizhu-loadgen", "--persons 0 --null"},
            {"producers/zizhu-loadgen", "--seed -1 --null"},
            {"producers/zizhu-feed",
             "payment --dry-run --max-end-share 2 feed/payment_mixed.csv"},
            {"producers/zizhu-feed",
             "payment --dry-run --max-end-share 0.1x feed/payment_mixed.csv"},
            /* --migrate: the first thing after the options connects */
            {"consumers/zizhu-subsidy-worker", "--migrate --batch-max 12x"},
            {"consumers/zizhu-subsidy-worker", "--migrate --batch-max 0"},
            {"consumers/zizhu-subsidy-worker", "--migrate --batch-ms ''"},
            {"consumers/zizhu-subsidy-worker", "--migrate --metrics-port 1e5"},
            {"consumers/zizhu-subsidy-worker", "--migrate --idle-exit 5s"},
            {"consumers/zizhu-settlement-worker", "--migrate --wait-ms 1m"},
            {"consumers/zizhu-settlement-worker", "--migrate --idle-exit 9x"},
            {"cli/zizhu", "explain --person 500228199001011235 --year 2020x"},
            {"cli/zizhu", "explain --person 500228199001011235 --year 0"},
            {"cli/zizhu", "report settlement --format pdf"},
            {"cli/zizhu", "replay --database x --from yesterday"},
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_expect_eq(run(bad[i][0], bad[i][1]), ZZ_EXIT_USAGE, "%s %s",
                             bad[i][0], bad[i][1]);
}

Test(opts_programs, usage_errors_exit_2)
{
        static const char *const bad[][2] = {
            {"producers/zizhu-loadgen", "--frobnicate"},
            {"producers/zizhu-loadgen", "--persons"},
            {"producers/zizhu-feed", "identity --dept"},
            {"producers/zizhu-feed", "identity a.csv b.csv"},
            {"producers/zizhu-feed", "close -X nonsense"},
            {"consumers/zizhu-subsidy-worker", "--no-relay --relay-only"},
            {"consumers/zizhu-subsidy-worker", "--migrate -X nonsense"},
            {"consumers/zizhu-subsidy-worker", "--migrate extra"},
            {"consumers/zizhu-settlement-worker", "--migrate -X nonsense"},
            {"tools/zizhu-mock-broker", "--frobnicate"},
            {"cli/zizhu", "audit verify"},
            {"cli/zizhu", "audit conservation -X nonsense"},
            {"cli/zizhu", "migrate --frobnicate"},
            {"cli/zizhu", "stack"},
            {"cli/zizhu", "report"},
            {"cli/zizhu", "replay"},
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_expect_eq(run(bad[i][0], bad[i][1]), ZZ_EXIT_USAGE, "%s %s",
                             bad[i][0], bad[i][1]);
}

Test(opts_programs, help_exits_0)
{
        static const char *const ok[][2] = {
            {"producers/zizhu-loadgen", "--help"},
            {"producers/zizhu-feed", "--help"},
            {"producers/zizhu-feed", "identity --help"},
            {"consumers/zizhu-subsidy-worker", "-h"},
            {"consumers/zizhu-settlement-worker", "--help"},
            {"tools/zizhu-mock-broker", "--help"},
            {"cli/zizhu", "--help"},
            {"cli/zizhu", "audit --help"},
            {"cli/zizhu", "explain --help"},
            {"cli/zizhu", "migrate --help"},
            {"cli/zizhu", "replay --help"},
            {"cli/zizhu", "report --help"},
            {"cli/zizhu", "stack --help"},
            {"cli/zizhu", "demo --help"},
            {"cli/zizhu", "policy eval --help"},
        };
        size_t i;

        for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                cr_expect_eq(run(ok[i][0], ok[i][1]), ZZ_EXIT_OK, "%s %s",
                             ok[i][0], ok[i][1]);
}
