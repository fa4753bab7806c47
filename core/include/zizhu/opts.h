/*
 * opts.h — the command-line preamble every zizhu program shares.
 *
 * A program lists its own options in a table of ZZ_OPT_* entries (the way
 * git's parse-options.h lists OPT_STRING, OPT_BOOL...) and names the
 * common options it takes:
 *   ZZ_OPTS_CONFIG    --config FILE and -X key=value (a librdkafka
 *                     property or a zizhu setting, see config.h)
 *   ZZ_OPTS_QUIET     -q, fewer diagnostics
 *   ZZ_OPTS_VERBOSE   -v, more diagnostics
 *   ZZ_OPTS_POLICIES  the policy directory (--policies DIR unless the
 *                     program names it otherwise), default
 *                     <source>/policies
 * -h and --help are always there: the usage text goes to stdout and the
 * program exits 0. ZZ_OPTS_IN_ORDER stops at the first argument, for a
 * command that hands the rest of its command line to a subcommand
 * (`zizhu audit verify --replay-db x`: "audit" and what follows).
 *
 * Every usage error — an unknown option, a missing value, a number out of
 * its range or followed by anything, a malformed -X pair — is reported
 * on stderr as one line "<prog>: <problem>" and a hint line, and the
 * program exits 2. The exit statuses every program documents: 0 success,
 * 1 runtime failure, 2 usage or configuration error; a program may add
 * its own above 2 (zizhu-feed does).
 *
 * Parsing is getopt_long's (GNU): options and arguments may come in any
 * order (unless ZZ_OPTS_IN_ORDER), "--name=value" works as well as "--name
 * value", and an unambiguous prefix of a long name is accepted.
 *
 * Thread: the main thread, before any other thread starts (getopt keeps
 * its state in globals).
 */
#ifndef ZIZHU_OPTS_H
#define ZIZHU_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "zizhu/config.h"
#include "zizhu/log.h"

/* Exit statuses of every program. A supervisor restarts on 1 and not on 2,
 * so anything that may pass by itself is 1: an unreachable or stopped
 * PostgreSQL or broker, a lost connection, I/O. 2 is for what the operator
 * must fix: options, the configuration file, a policy that does not load. */
#define ZZ_EXIT_OK    0 /* success */
#define ZZ_EXIT_FAIL  1 /* runtime failure */
#define ZZ_EXIT_USAGE 2 /* usage or configuration error */

/* The common options a program takes (zz_opts_init's features). */
#define ZZ_OPTS_CONFIG    0x1u
#define ZZ_OPTS_QUIET     0x2u
#define ZZ_OPTS_VERBOSE   0x4u
#define ZZ_OPTS_VERBOSITY (ZZ_OPTS_QUIET | ZZ_OPTS_VERBOSE)
#define ZZ_OPTS_POLICIES  0x8u
#define ZZ_OPTS_IN_ORDER  0x10u

/* At most this many -X settings, and this many options in a table. */
#define ZZ_OPTS_MAX_X     64
#define ZZ_OPTS_MAX_TABLE 48

typedef enum zz_opt_kind_e {
        ZZ_OPT_KIND_END = 0,
        ZZ_OPT_KIND_FLAG,   /* no value: *(int *)target = flag_value */
        ZZ_OPT_KIND_STRING, /* *(const char **)target = the value, borrowed
                             * from argv */
        ZZ_OPT_KIND_INT,    /* *(int *)target, an integer min..max */
        ZZ_OPT_KIND_U64,    /* *(uint64_t *)target, an integer umin..umax */
        ZZ_OPT_KIND_DOUBLE, /* *(double *)target, a number dmin..dmax */
        ZZ_OPT_KIND_CALL    /* fn(option, value, target, ...) */
} zz_opt_kind_t;

/* Parses value (NULL for an option without one) into target. option is
 * the name as typed in messages ("--from"). 0, or -1 with errstr: the
 * usage error to report. */
typedef int zz_opt_fn_t(const char *option, const char *value, void *target,
                        char *errstr, size_t errstr_size);

/* One entry of a program's table. Write entries with the ZZ_OPT_* macros
 * below; the table ends with ZZ_OPT_END. */
typedef struct zz_opt_s {
        const char *name; /* long name without "--"; NULL ends the table */
        zz_opt_kind_t kind;
        void *target; /* borrowed; must outlive zz_opts_parse */
        int flag_value;
        long min, max;
        uint64_t umin, umax;
        double dmin, dmax;
        zz_opt_fn_t *fn;
        int fn_has_value;
} zz_opt_t;

/* Type checks for the macros: a target of the wrong type is a warning. */
static inline void *zz_opt_int_target(int *p)
{
        return p;
}
static inline void *zz_opt_str_target(const char **p)
{
        return p;
}
static inline void *zz_opt_u64_target(uint64_t *p)
{
        return p;
}
static inline void *zz_opt_double_target(double *p)
{
        return p;
}

#define ZZ_OPT_FLAG(n, t, v)                                                   \
        {                                                                      \
                .name = (n), .kind = ZZ_OPT_KIND_FLAG,                         \
                .target = zz_opt_int_target(t), .flag_value = (v)              \
        }
#define ZZ_OPT_STRING(n, t)                                                    \
        {                                                                      \
                .name = (n), .kind = ZZ_OPT_KIND_STRING,                       \
                .target = zz_opt_str_target(t)                                 \
        }
#define ZZ_OPT_INT(n, t, lo, hi)                                               \
        {                                                                      \
                .name = (n), .kind = ZZ_OPT_KIND_INT,                          \
                .target = zz_opt_int_target(t), .min = (lo), .max = (hi)       \
        }
#define ZZ_OPT_U64(n, t, lo, hi)                                               \
        {                                                                      \
                .name = (n), .kind = ZZ_OPT_KIND_U64,                          \
                .target = zz_opt_u64_target(t), .umin = (lo), .umax = (hi)     \
        }
#define ZZ_OPT_DOUBLE(n, t, lo, hi)                                            \
        {                                                                      \
                .name = (n), .kind = ZZ_OPT_KIND_DOUBLE,                       \
                .target = zz_opt_double_target(t), .dmin = (lo), .dmax = (hi)  \
        }
/* has_value: 1 when the option takes a value. */
#define ZZ_OPT_CALL(n, f, t, has_value)                                        \
        {                                                                      \
                .name = (n), .kind = ZZ_OPT_KIND_CALL, .target = (t),          \
                .fn = (f), .fn_has_value = (has_value)                         \
        }
#define ZZ_OPT_END                                                             \
        {                                                                      \
                .name = NULL                                                   \
        }

/*
 * The parser's state: zz_opts_init fills the first part, the program may
 * change policies_option and max_args before zz_opts_parse, which fills
 * the rest. Lives on main's stack; owns nothing (every string is borrowed
 * from argv or points into the struct).
 */
typedef struct zz_opts_s {
        const char *prog;            /* "zizhu-feed", "zizhu audit" */
        void (*usage)(FILE *out);    /* the --help text */
        unsigned features;           /* ZZ_OPTS_* */
        const char *policies_option; /* "policies" */
        int max_args;                /* arguments after the options; -1: any
                                      * (default 0) */

        const char *config_path;       /* --config, NULL: $ZIZHU_CONFIG */
        const char *xs[ZZ_OPTS_MAX_X]; /* -X pairs, in order */
        size_t n_xs;
        int verbosity;        /* +1 per -v, -1 per -q */
        const char *policies; /* the policy directory */
        char policies_default[4096];
        char **args; /* the arguments, argv's order after getopt */
        int n_args;
        int exit_status; /* when zz_opts_parse returns -1; ZZ_EXIT_USAGE
                          * until then */
} zz_opts_t;

/* prog and usage are borrowed. */
void zz_opts_init(zz_opts_t *opts, const char *prog, void (*usage)(FILE *out),
                  unsigned features);

/* Parses argv[1..argc-1] (argv[0] is the program or subcommand name) with
 * the program's table (NULL: no options of its own). 0: go on. -1: return
 * opts->exit_status from main — ZZ_EXIT_OK after --help, ZZ_EXIT_USAGE
 * after a usage error, already reported. GNU getopt may reorder argv. */
int zz_opts_parse(zz_opts_t *opts, const zz_opt_t *table, int argc,
                  char **argv);

/* Reports a usage error found by the program itself ("--snapshot needs
 * --dept") like the parser's own, and returns ZZ_EXIT_USAGE. */
int zz_opts_usage_error(const zz_opts_t *opts, const char *fmt, ...)
    ZZ_PRINTF(2, 3);

/* Loads the configuration (--config, else $ZIZHU_CONFIG, then the
 * environment) and applies every -X pair in order. NULL after reporting
 * the problem on stderr: exit ZZ_EXIT_USAGE. Destroy with
 * zz_config_destroy. */
zz_config_t *zz_opts_config(const zz_opts_t *opts);

/* Sets the log level from the net count of -v (+1) and -q (-1): base at
 * 0, one level less verbose below 0, ZZ_LOG_DEBUG above. */
void zz_opts_set_log_level(const zz_opts_t *opts, zz_log_level_t base);

/* The project's source folder (policies, sql, scripts): $ZZ_SOURCE_DIR,
 * else the folder the binaries were built from. Borrowed. */
const char *zz_opts_source_dir(void);

/*
 * Numbers from the command line: the whole text must be the number (no
 * leading blank, nothing after it) and lie in min..max. 0, or -1 with
 * errstr such as
 *   invalid value for --persons: "12x" (expected an integer from 1 to
 *   100000000)
 * name is the option as typed, for the message.
 */
int zz_opts_long(const char *name, const char *text, long min, long max,
                 long *out, char *errstr, size_t errstr_size);
int zz_opts_u64(const char *name, const char *text, uint64_t min, uint64_t max,
                uint64_t *out, char *errstr, size_t errstr_size);
int zz_opts_double(const char *name, const char *text, double min, double max,
                   double *out, char *errstr, size_t errstr_size);

#endif
