/*
 * cmd_replay.c — `zizhu replay`: rebuild the pipeline state from the input
 * topics into a fresh database, with a progress bar (see replay.h).
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/config.h"
#include "zizhu/date.h"
#include "zizhu/kafka.h"
#include "zizhu/log.h"
#include "zizhu/opts.h"
#include "zizhu/replay.h"
#include "zz_cli.h"

/* Set by the signal handler, which may run on any thread (the replay
 * draws its progress bar on one of its own): a lock-free atomic (see
 * worker.h). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "a signal handler may only set a lock-free atomic");
static atomic_int replay_stop = 0;

static void on_signal(int sig)
{
        (void)sig;
        if (replay_stop)
                _exit(130);
        replay_stop = 1;
}

static void usage(FILE *out)
{
        fprintf(out,
                "usage: zizhu replay [--from-beginning | --from TIMESTAMP] "
                "--database NAME [--drop]\n"
                "                    [--policies DIR] [--config FILE] [-X "
                "key=value] [-q]\n\n"
                "Creates database NAME (on the configured server), applies "
                "the migrations and\n"
                "runs the subsidy worker and the settlement loops over the "
                "input topics into\n"
                "it, without publishing anything, then stops when both are "
                "idle. Compare the\n"
                "result with the published allocations with 'zizhu audit "
                "verify --replay-db NAME'.\n\n"
                "--from TIMESTAMP starts every input partition at the first "
                "message at or after\n"
                "TIMESTAMP (2021-06-01 or 2021-06-01T00:00:00+08:00); only "
                "periods whose facts\n"
                "all lie after it replay identically.\n\n"
                "example: ZIZHU_PSEUDONYM_KEY=... zizhu replay "
                "--from-beginning --database zizhu_replay --drop\n\n"
                "exit status: 0 replayed, 1 failure, 2 usage\n");
}

/* --from TIMESTAMP (a date: its first moment, China time) and
 * --from-beginning (-1) into the long long at target. */
static int parse_from(const char *option, const char *value, void *target,
                      char *errstr, size_t errstr_size)
{
        long long *from = target;
        zz_ts_t ts;
        zz_date_t d;

        if (value == NULL)
                *from = -1;
        else if (zz_ts_parse(value, strlen(value), &ts) == 0)
                *from = ts;
        else if (zz_date_parse(value, strlen(value), &d) == 0)
                *from = zz_ts_from_cst_date(d);
        else {
                snprintf(errstr, errstr_size, "%s: not a date or a time",
                         option);
                return -1;
        }
        return 0;
}

/* 0, or -1: return zo->exit_status. */
static int parse_args(zz_opts_t *zo, zz_replay_opts_t *o, int argc, char **argv)
{
        const zz_opt_t table[] = {
            ZZ_OPT_STRING("database", &o->database),
            ZZ_OPT_STRING("schema", &o->database),
            ZZ_OPT_CALL("from-beginning", parse_from, &o->from_ms, 0),
            ZZ_OPT_CALL("from", parse_from, &o->from_ms, 1),
            ZZ_OPT_FLAG("drop", &o->drop, 1),
            ZZ_OPT_END};

        memset(o, 0, sizeof(*o));
        o->from_ms = -1;
        zz_opts_init(zo, "zizhu replay", usage,
                     ZZ_OPTS_CONFIG | ZZ_OPTS_QUIET | ZZ_OPTS_POLICIES);
        if (zz_opts_parse(zo, table, argc, argv) != 0)
                return -1;
        if (o->database == NULL) {
                usage(stderr);
                return -1;
        }
        o->policy_dir = zo->policies;
        return 0;
}

/* The topics the replay reads: their retention is checked first. */
static const char *const audited[] = {"identity", "enrollment", "payment",
                                      "control"};

int zz_cmd_replay(int argc, char **argv)
{
        char sql_dir[4096], errstr[1024] = "";
        zz_config_t *config;
        zz_replay_opts_t o;
        zz_opts_t zo;
        struct sigaction sa;
        int rc;

        if (parse_args(&zo, &o, argc, argv) != 0)
                return zo.exit_status;
        zz_log_set_component("replay");
        zz_opts_set_log_level(&zo, ZZ_LOG_INFO);
        config = zz_opts_config(&zo);
        if (config == NULL)
                return ZZ_EXIT_USAGE;
        if (zz_config_pseudonym_key(config) == NULL ||
            zz_config_pseudonym_key(config)[0] == '\0') {
                fprintf(stderr, "zizhu replay: no pseudonym key\nhint: the "
                                "replay must use the live key "
                                "(ZIZHU_PSEUDONYM_KEY) to give the same "
                                "bytes\n");
                zz_config_destroy(config);
                return ZZ_EXIT_USAGE;
        }
        rc = zz_kafka_check_retention(config, audited, 4, errstr,
                                      sizeof(errstr));
        if (rc != 0) {
                fprintf(stderr, "zizhu replay: %s\n", errstr);
                zz_config_destroy(config);
                return rc > 0 ? ZZ_EXIT_USAGE : ZZ_EXIT_FAIL;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        snprintf(sql_dir, sizeof(sql_dir), "%s/sql", zz_opts_source_dir());
        o.config = config;
        o.sql_dir = sql_dir;
        o.progress = zo.verbosity >= 0 && isatty(2);
        o.stop = &replay_stop;
        rc = zz_replay_run(&o, errstr, sizeof(errstr));
        if (rc != 0)
                fprintf(stderr, "zizhu replay: %s\n", errstr);
        else
                printf("replayed into database %s\n", o.database);
        zz_config_destroy(config);
        return rc == 0 ? ZZ_EXIT_OK : ZZ_EXIT_FAIL;
}
