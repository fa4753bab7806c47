/*
 * main.c — zizhu-settlement-worker: options and signals around the
 * settlement loop (core/src/settle_worker.c): period-close commands on the
 * control topic become allocation events per payer x fund x region x kind,
 * published exactly once.
 */
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/config.h"
#include "zizhu/log.h"
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

enum {
        O_CONFIG = 256,
        O_GROUP,
        O_SUBSIDY_GROUP,
        O_POLICIES,
        O_NO_PUBLISH,
        O_TID,
        O_WAIT,
        O_IDLE,
        O_MIGRATE
};

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
            {"config", required_argument, NULL, O_CONFIG},
            {"group", required_argument, NULL, O_GROUP},
            {"subsidy-group", required_argument, NULL, O_SUBSIDY_GROUP},
            {"policies", required_argument, NULL, O_POLICIES},
            {"no-publish", no_argument, NULL, O_NO_PUBLISH},
            {"transactional-id", required_argument, NULL, O_TID},
            {"wait-ms", required_argument, NULL, O_WAIT},
            {"idle-exit", required_argument, NULL, O_IDLE},
            {"migrate", no_argument, NULL, O_MIGRATE},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        zz_settler_opts_t o;
        const char *config_path = NULL, *xs[64];
        char policy_dir[4096], errstr[1024];
        const char *src = getenv("ZZ_SOURCE_DIR");
        zz_config_t *config;
        int opt, n_xs = 0, migrate = 0, i, rc;
        struct sigaction sa;

        memset(&o, 0, sizeof(o));
        o.group = "zizhu-settlement";
        o.subsidy_group = "zizhu-subsidy";
        o.publish = 1;
        o.control_start = -1;
        o.stop = &stop_flag;
        if (src == NULL || src[0] == '\0')
                src = ZZ_SOURCE_DIR;
        snprintf(policy_dir, sizeof(policy_dir), "%s/policies", src);
        o.policy_dir = policy_dir;
        zz_log_set_component("zizhu-settlement-worker");
        while ((opt = getopt_long(argc, argv, "X:qvh", longopts, NULL)) != -1) {
                switch (opt) {
                case O_CONFIG:
                        config_path = optarg;
                        break;
                case 'X':
                        if (n_xs < 64)
                                xs[n_xs++] = optarg;
                        break;
                case O_GROUP:
                        o.group = optarg;
                        break;
                case O_SUBSIDY_GROUP:
                        o.subsidy_group = optarg;
                        break;
                case O_POLICIES:
                        o.policy_dir = optarg;
                        break;
                case O_NO_PUBLISH:
                        o.publish = 0;
                        break;
                case O_TID:
                        o.transactional_id = optarg;
                        break;
                case O_WAIT:
                        o.wait_ms = (int)strtol(optarg, NULL, 10);
                        break;
                case O_IDLE:
                        o.idle_exit_ms = (int)strtol(optarg, NULL, 10);
                        break;
                case O_MIGRATE:
                        migrate = 1;
                        break;
                case 'q':
                        zz_log_set_level(ZZ_LOG_WARN);
                        break;
                case 'v':
                        zz_log_set_level(ZZ_LOG_DEBUG);
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        config = zz_config_load(config_path, errstr, sizeof(errstr));
        if (config == NULL) {
                fprintf(stderr, "zizhu-settlement-worker: %s\n", errstr);
                return 2;
        }
        for (i = 0; i < n_xs; i++) {
                if (zz_config_set(config, xs[i], errstr, sizeof(errstr)) != 0) {
                        fprintf(stderr, "zizhu-settlement-worker: %s\n",
                                errstr);
                        zz_config_destroy(config);
                        return 2;
                }
        }
        if (zz_config_pseudonym_key(config) == NULL ||
            zz_config_pseudonym_key(config)[0] == '\0') {
                fprintf(stderr, "zizhu-settlement-worker: no pseudonym key\n"
                                "hint: set ZIZHU_PSEUDONYM_KEY or "
                                "pseudonym_key in the configuration file\n");
                zz_config_destroy(config);
                return 2;
        }
        if (migrate) {
                char sqldir[4096];
                PGconn *conn = zz_pg_connect(zz_config_pg(config),
                                             "zizhu-settlement-worker", errstr,
                                             sizeof(errstr));
                int applied = 0;

                snprintf(sqldir, sizeof(sqldir), "%s/sql", src);
                if (conn == NULL ||
                    zz_pg_migrate(conn, sqldir, &applied, errstr,
                                  sizeof(errstr)) != 0) {
                        fprintf(stderr, "zizhu-settlement-worker: %s\n",
                                errstr);
                        if (conn != NULL)
                                PQfinish(conn);
                        zz_config_destroy(config);
                        return 1;
                }
                PQfinish(conn);
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        o.config = config;
        rc = zz_settler_run(&o, errstr, sizeof(errstr));
        if (rc != 0)
                zz_log_error("%s", errstr);
        zz_config_destroy(config);
        return rc == 0 ? 0 : 1;
}
