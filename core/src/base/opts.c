/*
 * opts.c — the command-line preamble: a program's option table and the
 * common options (--config, -X, -q, -v, the policy directory, --help)
 * through getopt_long, every value checked, every usage error reported
 * the same way with exit status 2.
 */
#include "zizhu/opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* getopt_long values of the common long options; a table entry i is
 * OPT_TABLE + i. */
enum { OPT_CONFIG = 256, OPT_POLICIES, OPT_TABLE };

const char *zz_opts_source_dir(void)
{
        const char *dir = getenv("ZZ_SOURCE_DIR");

        if (dir != NULL && dir[0] != '\0')
                return dir;
        return ZZ_SOURCE_DIR;
}

void zz_opts_init(zz_opts_t *opts, const char *prog, void (*usage)(FILE *out),
                  unsigned features)
{
        memset(opts, 0, sizeof(*opts));
        opts->prog = prog;
        opts->usage = usage;
        opts->features = features;
        opts->policies_option = "policies";
        snprintf(opts->policies_default, sizeof(opts->policies_default),
                 "%s/policies", zz_opts_source_dir());
        opts->policies = opts->policies_default;
        /* what a program's own early return before zz_opts_parse means */
        opts->exit_status = ZZ_EXIT_USAGE;
}

static void vreport(const zz_opts_t *opts, const char *fmt, va_list ap)
    ZZ_PRINTF(2, 0);
static void vreport(const zz_opts_t *opts, const char *fmt, va_list ap)
{
        fprintf(stderr, "%s: ", opts->prog);
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\nhint: \"%s --help\" describes the options\n",
                opts->prog);
}

int zz_opts_usage_error(const zz_opts_t *opts, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vreport(opts, fmt, ap);
        va_end(ap);
        return ZZ_EXIT_USAGE;
}

/* ---- numbers ---- */

static int is_digit(char c)
{
        return c >= '0' && c <= '9';
}

int zz_opts_long(const char *name, const char *text, long min, long max,
                 long *out, char *errstr, size_t errstr_size)
{
        const char *digits = text[0] == '-' ? text + 1 : text;
        char *end = NULL;
        long v = 0;

        /* strtol alone would take " 12", "+12" and, with end unchecked,
         * "12x": only an optional '-' and digits are a number here. */
        if (is_digit(digits[0])) {
                errno = 0;
                v = strtol(text, &end, 10);
        }
        if (end == NULL || *end != '\0' || errno == ERANGE || v < min ||
            v > max) {
                snprintf(errstr, errstr_size,
                         "invalid value for %s: \"%s\" (expected an integer "
                         "from %ld to %ld)",
                         name, text, min, max);
                return -1;
        }
        *out = v;
        return 0;
}

int zz_opts_u64(const char *name, const char *text, uint64_t min, uint64_t max,
                uint64_t *out, char *errstr, size_t errstr_size)
{
        char *end = NULL;
        unsigned long long v = 0;

        /* strtoull takes "-1" as its largest value: digits only. */
        if (is_digit(text[0])) {
                errno = 0;
                v = strtoull(text, &end, 10);
        }
        if (end == NULL || *end != '\0' || errno == ERANGE || v < min ||
            v > max) {
                snprintf(errstr, errstr_size,
                         "invalid value for %s: \"%s\" (expected an integer "
                         "from %llu to %llu)",
                         name, text, (unsigned long long)min,
                         (unsigned long long)max);
                return -1;
        }
        *out = (uint64_t)v;
        return 0;
}

int zz_opts_double(const char *name, const char *text, double min, double max,
                   double *out, char *errstr, size_t errstr_size)
{
        const char *digits = text[0] == '-' ? text + 1 : text;
        char *end = NULL;
        double v = 0;

        /* a digit or a point first: no blank, no "inf" or "nan" */
        if (is_digit(digits[0]) || (digits[0] == '.' && is_digit(digits[1]))) {
                errno = 0;
                v = strtod(text, &end);
        }
        if (end == NULL || *end != '\0' || errno == ERANGE || !isfinite(v) ||
            !(v >= min && v <= max)) {
                snprintf(errstr, errstr_size,
                         "invalid value for %s: \"%s\" (expected a number "
                         "from %g to %g)",
                         name, text, min, max);
                return -1;
        }
        *out = v;
        return 0;
}

/* ---- the parser ---- */

static int table_size(const zz_opt_t *table)
{
        int n = 0;

        while (table != NULL && table[n].name != NULL)
                n++;
        return n;
}

static int takes_value(const zz_opt_t *o)
{
        if (o->kind == ZZ_OPT_KIND_FLAG)
                return 0;
        if (o->kind == ZZ_OPT_KIND_CALL)
                return o->fn_has_value;
        return 1;
}

/* The long options getopt_long sees: the table's, then the common ones.
 * Returns their count. */
static int build_longopts(const zz_opts_t *opts, const zz_opt_t *table,
                          int n_table, struct option *longopts)
{
        int i, n = 0;

        for (i = 0; i < n_table; i++) {
                longopts[n].name = table[i].name;
                longopts[n].has_arg =
                    takes_value(&table[i]) ? required_argument : no_argument;
                longopts[n].flag = NULL;
                longopts[n].val = OPT_TABLE + i;
                n++;
        }
        if (opts->features & ZZ_OPTS_CONFIG)
                longopts[n++] = (struct option){"config", required_argument,
                                                NULL, OPT_CONFIG};
        if (opts->features & ZZ_OPTS_POLICIES)
                longopts[n++] =
                    (struct option){opts->policies_option, required_argument,
                                    NULL, OPT_POLICIES};
        longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
        longopts[n] = (struct option){NULL, 0, NULL, 0};
        return n;
}

static void build_shortopts(const zz_opts_t *opts, char *buf, size_t size)
{
        /* '+': stop at the first argument; then ':', so that a missing value
         * is told apart from an unknown option */
        snprintf(buf, size, "%s:h%s%s%s",
                 opts->features & ZZ_OPTS_IN_ORDER ? "+" : "",
                 opts->features & ZZ_OPTS_CONFIG ? "X:" : "",
                 opts->features & ZZ_OPTS_QUIET ? "q" : "",
                 opts->features & ZZ_OPTS_VERBOSE ? "v" : "");
}

/* The long name of getopt value val, or NULL for a short option. */
static const char *long_name(const struct option *longopts, int val)
{
        int i;

        for (i = 0; longopts[i].name != NULL; i++)
                if (longopts[i].val == val && val >= OPT_CONFIG)
                        return longopts[i].name;
        return val == 'h' ? "help" : NULL;
}

/* getopt_long returned ':' or '?': say what was wrong. */
static int report_bad(const zz_opts_t *opts, const struct option *longopts,
                      int c, char **argv)
{
        const char *name = long_name(longopts, optopt);
        const char *typed = argv[optind - 1];
        size_t len = strcspn(typed, "=");

        if (c == ':' && name != NULL)
                return zz_opts_usage_error(opts, "--%s needs a value", name);
        if (c == ':')
                return zz_opts_usage_error(opts, "-%c needs a value", optopt);
        if (name != NULL)
                return zz_opts_usage_error(opts, "--%s takes no value", name);
        if (optopt != 0)
                return zz_opts_usage_error(opts, "unknown option \"-%c\"",
                                           optopt);
        return zz_opts_usage_error(opts, "unknown option \"%.*s\"", (int)len,
                                   typed);
}

/* A value of the program's table into its target. 0, or -1 with errstr. */
static int set_value(const zz_opt_t *o, const char *value, char *errstr,
                     size_t errstr_size)
{
        char name[80];
        long l;

        snprintf(name, sizeof(name), "--%s", o->name);
        switch (o->kind) {
        case ZZ_OPT_KIND_FLAG:
                *(int *)o->target = o->flag_value;
                return 0;
        case ZZ_OPT_KIND_STRING:
                *(const char **)o->target = value;
                return 0;
        case ZZ_OPT_KIND_INT:
                if (zz_opts_long(name, value, o->min, o->max, &l, errstr,
                                 errstr_size) != 0)
                        return -1;
                *(int *)o->target = (int)l;
                return 0;
        case ZZ_OPT_KIND_U64:
                return zz_opts_u64(name, value, o->umin, o->umax, o->target,
                                   errstr, errstr_size);
        case ZZ_OPT_KIND_DOUBLE:
                return zz_opts_double(name, value, o->dmin, o->dmax, o->target,
                                      errstr, errstr_size);
        case ZZ_OPT_KIND_CALL:
                return o->fn(name, value, o->target, errstr, errstr_size);
        case ZZ_OPT_KIND_END:
                break;
        }
        snprintf(errstr, errstr_size, "%s: not an option", name);
        return -1;
}

/* One option getopt_long recognized. 0, or -1 after a usage error. */
static int take(zz_opts_t *opts, const zz_opt_t *table, int c,
                const char *value)
{
        char errstr[512] = "";

        switch (c) {
        case 'X':
                if (opts->n_xs == ZZ_OPTS_MAX_X) {
                        zz_opts_usage_error(opts,
                                            "too many -X settings (at most "
                                            "%d)",
                                            ZZ_OPTS_MAX_X);
                        return -1;
                }
                opts->xs[opts->n_xs++] = value;
                return 0;
        case 'q':
                opts->verbosity--;
                return 0;
        case 'v':
                opts->verbosity++;
                return 0;
        case OPT_CONFIG:
                opts->config_path = value;
                return 0;
        case OPT_POLICIES:
                opts->policies = value;
                return 0;
        default:
                break;
        }
        if (set_value(&table[c - OPT_TABLE], value, errstr, sizeof(errstr)) !=
            0) {
                zz_opts_usage_error(opts, "%s", errstr);
                return -1;
        }
        return 0;
}

int zz_opts_parse(zz_opts_t *opts, const zz_opt_t *table, int argc, char **argv)
{
        struct option longopts[ZZ_OPTS_MAX_TABLE + 4];
        char shortopts[16];
        int n_table = table_size(table), c;

        opts->exit_status = ZZ_EXIT_USAGE;
        if (n_table > ZZ_OPTS_MAX_TABLE) {
                zz_opts_usage_error(opts, "too many options in the table");
                return -1;
        }
        build_longopts(opts, table, n_table, longopts);
        build_shortopts(opts, shortopts, sizeof(shortopts));
        optind = 0; /* glibc: start over, also after an earlier parse */
        opterr = 0; /* messages are ours */
        while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
                if (c == 'h') {
                        opts->usage(stdout);
                        opts->exit_status = ZZ_EXIT_OK;
                        return -1;
                }
                if (c == ':' || c == '?') {
                        report_bad(opts, longopts, c, argv);
                        return -1;
                }
                if (take(opts, table, c, optarg) != 0)
                        return -1;
        }
        opts->args = argv + optind;
        opts->n_args = argc - optind;
        if (opts->max_args >= 0 && opts->n_args > opts->max_args) {
                zz_opts_usage_error(opts, "unexpected argument \"%s\"",
                                    opts->args[opts->max_args]);
                return -1;
        }
        return 0;
}

/* ---- after parsing ---- */

zz_config_t *zz_opts_config(const zz_opts_t *opts)
{
        char errstr[1024] = "";
        zz_config_t *config;
        size_t i;

        config = zz_config_load(opts->config_path, errstr, sizeof(errstr));
        if (config == NULL) {
                fprintf(stderr, "%s: %s\n", opts->prog, errstr);
                return NULL;
        }
        for (i = 0; i < opts->n_xs; i++) {
                errstr[0] = '\0';
                if (zz_config_set(config, opts->xs[i], errstr,
                                  sizeof(errstr)) != 0) {
                        zz_opts_usage_error(opts, "-X: %s", errstr);
                        zz_config_destroy(config);
                        return NULL;
                }
        }
        return config;
}

void zz_opts_set_log_level(const zz_opts_t *opts, zz_log_level_t base)
{
        zz_log_level_t level = base;

        if (opts->verbosity < 0 && base > ZZ_LOG_ERROR)
                level = (zz_log_level_t)(base - 1);
        else if (opts->verbosity > 0)
                level = ZZ_LOG_DEBUG;
        zz_log_set_level(level);
}
