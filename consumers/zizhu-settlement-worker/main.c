/*
 * main.c — zizhu-settlement-worker: options and signals around the
 * settlement loop (core/src/settle/settle_worker.c): period-close commands on
 * the control topic become allocation events per payer x fund x region x kind,
 * published exactly once.
 */
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/config.h"
#include "zizhu/kafka.h"
#include "zizhu/log.h"
#include "zizhu/opts.h"
#include "zizhu/pg.h"
#include "zizhu/settle_worker.h"

/* Set by the signal handler, which may run on any thread: a lock-free
 * atomic (see worker.h). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "a signal handler may only set a lock-free atomic");
static atomic_int stop_flag = 0;

static void on_signal(int sig)
{
        (void)sig;
        if (stop_flag)
                _exit(130); /* second signal: at once */
        stop_flag = 1;
}

static void usage(FILE *out)
{
        fprintf(out,
                "usage: zizhu-settlement-worker [options]\n"
                "\n"
                "Settles closed periods: for each CLOSE_PERIOD command on "
                "the control topic,\n"
                "re-evaluates every person of the jurisdiction from the "
                "facts inside the\n"
                "command's boundary and publishes allocation events per "
                "payer, fund, region\n"
                "and kind, exactly once, with pseudonymized person-level "
                "lines.\n"
                "\n"
                "options:\n"
                "  --config FILE          configuration file (else "
                "$ZIZHU_CONFIG)\n"
                "  -X key=value           librdkafka property, or a zizhu "
                "setting\n"
                "  --group NAME           own position group "
                "(zizhu-settlement)\n"
                "  --subsidy-group NAME   the subsidy worker's group "
                "(zizhu-subsidy)\n"
                "  --policies DIR         policy files (<source>/policies)\n"
                "  --no-publish           compute and store, do not "
                "publish\n"
                "  --transactional-id ID  relay's transactional.id\n"
                "  --wait-ms MS           longest wait for the subsidy "
                "worker per command\n"
                "                         (0: forever; default 0)\n"
                "  --idle-exit MS         exit after MS without a command "
                "and with\n"
                "                         everything published\n"
                "  --migrate              apply sql/ migrations first\n"
                "  -q, -v                 fewer or more diagnostics\n"
                "  -h, --help             this text\n"
                "\n"
                "examples:\n"
                "  ZIZHU_PSEUDONYM_KEY=... zizhu-settlement-worker "
                "--migrate\n"
                "  zizhu-settlement-worker --idle-exit 5000 -X "
                "pg='dbname=zizhu_replay'\n"
                "\n"
                "exit status: 0 clean stop, 1 failure (a restart resumes "
                "after the last\n"
                "committed command), 2 usage or configuration error\n");
}

/* 0, or -1: return zo->exit_status. */
static int parse_args(zz_opts_t *zo, zz_settler_opts_t *o, int *migrate,
                      int argc, char **argv)
{
        const zz_opt_t table[] = {
            ZZ_OPT_STRING("group", &o->group),
            ZZ_OPT_STRING("subsidy-group", &o->subsidy_group),
            ZZ_OPT_FLAG("no-publish", &o->publish, 0),
            ZZ_OPT_STRING("transactional-id", &o->transactional_id),
            ZZ_OPT_INT("wait-ms", &o->wait_ms, 0, INT_MAX),
            ZZ_OPT_INT("idle-exit", &o->idle_exit_ms, 0, INT_MAX),
            ZZ_OPT_FLAG("migrate", migrate, 1),
            ZZ_OPT_END};

        memset(o, 0, sizeof(*o));
        o->group = "zizhu-settlement";
        o->subsidy_group = "zizhu-subsidy";
        o->publish = 1;
        o->control_start = -1;
        o->stop = &stop_flag;
        *migrate = 0;
        zz_opts_init(zo, "zizhu-settlement-worker", usage,
                     ZZ_OPTS_CONFIG | ZZ_OPTS_VERBOSITY | ZZ_OPTS_POLICIES);
        if (zz_opts_parse(zo, table, argc, argv) != 0)
                return -1;
        o->policy_dir = zo->policies;
        return 0;
}

/* --migrate. 0, or -1 after saying why. */
static int migrate_db(const zz_config_t *config)
{
        char sqldir[4096], errstr[1024];
        PGconn *conn =
            zz_pg_connect(zz_config_pg(config), "zizhu-settlement-worker",
                          errstr, sizeof(errstr));
        int applied = 0;

        snprintf(sqldir, sizeof(sqldir), "%s/sql", zz_opts_source_dir());
        if (conn == NULL || zz_pg_migrate(conn, sqldir, &applied, errstr,
                                          sizeof(errstr)) != 0) {
                fprintf(stderr, "zizhu-settlement-worker: %s\n", errstr);
                if (conn != NULL)
                        zz_pg_finish(conn);
                return -1;
        }
        zz_pg_finish(conn);
        return 0;
}

/* The topics an audit replays: their retention is checked at start. */
static const char *const audited[] = {"identity", "enrollment", "payment",
                                      "control", "allocation"};

int main(int argc, char **argv)
{
        zz_settler_opts_t o;
        zz_opts_t zo;
        zz_config_t *config;
        char errstr[1024];
        int migrate, rc;
        struct sigaction sa;

        zz_log_set_component("zizhu-settlement-worker");
        if (parse_args(&zo, &o, &migrate, argc, argv) != 0)
                return zo.exit_status;
        zz_opts_set_log_level(&zo, ZZ_LOG_INFO);
        config = zz_opts_config(&zo);
        if (config == NULL)
                return ZZ_EXIT_USAGE;
        /* an unreachable PostgreSQL is retried with backoff before the
         * worker gives up (connect_retry_ms) */
        zz_pg_set_connect_retry(zz_config_connect_retry_ms(config));
        if (zz_config_pseudonym_key(config) == NULL ||
            zz_config_pseudonym_key(config)[0] == '\0') {
                fprintf(stderr, "zizhu-settlement-worker: no pseudonym key\n"
                                "hint: set ZIZHU_PSEUDONYM_KEY or "
                                "pseudonym_key in the configuration file\n");
                zz_config_destroy(config);
                return ZZ_EXIT_USAGE;
        }
        if (migrate && migrate_db(config) != 0) {
                zz_config_destroy(config);
                return ZZ_EXIT_FAIL;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        rc = zz_kafka_check_retention(config, audited, 5, errstr,
                                      sizeof(errstr));
        if (rc != 0) {
                zz_log_error("%s", errstr);
                zz_config_destroy(config);
                return rc > 0 ? ZZ_EXIT_USAGE : ZZ_EXIT_FAIL;
        }
        o.config = config;
        rc = zz_settler_run(&o, errstr, sizeof(errstr));
        if (rc != 0)
                zz_log_error("%s", errstr);
        zz_config_destroy(config);
        return rc == 0 ? ZZ_EXIT_OK : ZZ_EXIT_FAIL;
}
