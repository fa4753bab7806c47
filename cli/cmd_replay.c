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
#include "zizhu/log.h"
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

int zz_cmd_replay(int argc, char **argv)
{
        const char *config_path = NULL, *db = NULL, *xs[16];
        char policy_dir[4096], sql_dir[4096], errstr[1024] = "";
        int n_xs = 0, i, drop = 0, quiet = 0, rc;
        long long from = -1;
        zz_config_t *config;
        zz_replay_opts_t o;
        struct sigaction sa;

        snprintf(policy_dir, sizeof(policy_dir), "%s/policies",
                 zz_cli_source_dir());
        snprintf(sql_dir, sizeof(sql_dir), "%s/sql", zz_cli_source_dir());
        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 ||
                    strcmp(argv[i], "-h") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
                        config_path = argv[++i];
                } else if (strcmp(argv[i], "-X") == 0 && i + 1 < argc &&
                           n_xs < 16) {
                        xs[n_xs++] = argv[++i];
                } else if ((strcmp(argv[i], "--database") == 0 ||
                            strcmp(argv[i], "--schema") == 0) &&
                           i + 1 < argc) {
                        db = argv[++i];
                } else if (strcmp(argv[i], "--from-beginning") == 0) {
                        from = -1;
                } else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
                        const char *s = argv[++i];
                        zz_ts_t ts;
                        zz_date_t d;

                        if (zz_ts_parse(s, strlen(s), &ts) == 0)
                                from = ts;
                        else if (zz_date_parse(s, strlen(s), &d) == 0)
                                from = zz_ts_from_cst_date(d);
                        else {
                                fprintf(stderr, "zizhu replay: --from: not "
                                                "a date or a time\n");
                                return 2;
                        }
                } else if (strcmp(argv[i], "--drop") == 0) {
                        drop = 1;
                } else if (strcmp(argv[i], "--policies") == 0 && i + 1 < argc) {
                        snprintf(policy_dir, sizeof(policy_dir), "%s",
                                 argv[++i]);
                } else if (strcmp(argv[i], "-q") == 0) {
                        quiet = 1;
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (db == NULL) {
                usage(stderr);
                return 2;
        }
        zz_log_set_component("replay");
        if (quiet)
                zz_log_set_level(ZZ_LOG_WARN);
        config = zz_config_load(config_path, errstr, sizeof(errstr));
        if (config == NULL) {
                fprintf(stderr, "zizhu replay: %s\n", errstr);
                return 2;
        }
        for (i = 0; i < n_xs; i++)
                if (zz_config_set(config, xs[i], errstr, sizeof(errstr)) != 0) {
                        fprintf(stderr, "zizhu replay: %s\n", errstr);
                        zz_config_destroy(config);
                        return 2;
                }
        if (zz_config_pseudonym_key(config) == NULL ||
            zz_config_pseudonym_key(config)[0] == '\0') {
                fprintf(stderr, "zizhu replay: no pseudonym key\nhint: the "
                                "replay must use the live key "
                                "(ZIZHU_PSEUDONYM_KEY) to give the same "
                                "bytes\n");
                zz_config_destroy(config);
                return 2;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        memset(&o, 0, sizeof(o));
        o.config = config;
        o.database = db;
        o.policy_dir = policy_dir;
        o.sql_dir = sql_dir;
        o.from_ms = from;
        o.drop = drop;
        o.progress = !quiet && isatty(2);
        o.stop = &replay_stop;
        rc = zz_replay_run(&o, errstr, sizeof(errstr));
        if (rc != 0)
                fprintf(stderr, "zizhu replay: %s\n", errstr);
        else
                printf("replayed into database %s\n", db);
        zz_config_destroy(config);
        return rc == 0 ? 0 : 1;
}
