/*
 * main.c — zizhu-subsidy-worker: options, signals and threads around the
 * consumer loop (core/src/worker.c) and the outbox relay (core/src/relay.c).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/config.h"
#include "zizhu/log.h"
#include "zizhu/metrics.h"
#include "zizhu/pg.h"
#include "zizhu/relay.h"
#include "zizhu/worker.h"

/* Shared by the signal handler, the consumer loop and the relay thread:
 * lock-free atomics (see worker.h). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "a signal handler may only set a lock-free atomic");
static atomic_int stop_flag = 0;
static atomic_int relay_stop_flag = 0;
static atomic_int worker_done = 0;

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
                "usage: zizhu-subsidy-worker [options]\n"
                "\n"
                "Keeps every person's subsidy decision current from the "
                "identity, enrollment,\n"
                "payment and control topics, exactly once through "
                "PostgreSQL, and publishes\n"
                "subsidy-state, reconciliation and dead-letter through a "
                "transactional outbox.\n"
                "\n"
                "options:\n"
                "  --config FILE          configuration file (else "
                "$ZIZHU_CONFIG)\n"
                "  -X key=value           librdkafka property, or a zizhu "
                "setting (pg=..., bootstrap=...)\n"
                "  --group NAME           consumer group (zizhu-subsidy)\n"
                "  --policies DIR         policy files (<source>/policies)\n"
                "  --batch-max N          messages per batch transaction "
                "(500)\n"
                "  --batch-ms MS          longest wait to fill a batch "
                "(200)\n"
                "  --metrics-port PORT    serve /metrics on 127.0.0.1:PORT "
                "(0: off; default 0)\n"
                "  --metrics-any          serve /metrics on all "
                "interfaces\n"
                "  --no-relay             do not run the outbox relay in "
                "this process\n"
                "  --relay-only           run only the outbox relay\n"
                "  --transactional-id ID  relay's transactional.id "
                "(zizhu-subsidy-relay.<topic prefix>)\n"
                "  --idle-exit MS         exit after MS without input (and, "
                "with the relay,\n"
                "                         once everything is published): "
                "batch runs, benchmarks\n"
                "  --migrate              apply sql/ migrations before "
                "starting\n"
                "  -q, -v                 fewer or more diagnostics\n"
                "  -h, --help             this text\n"
                "\n"
                "examples:\n"
                "  zizhu-subsidy-worker --migrate --metrics-port 9464\n"
                "  zizhu-subsidy-worker -X pg='host=db dbname=zizhu' -X "
                "bootstrap=kafka:9092 --batch-max 2000\n"
                "  zizhu-subsidy-worker --no-relay &   # more instances: "
                "same --group\n"
                "  zizhu-subsidy-worker --relay-only\n"
                "  curl -s 127.0.0.1:9464/metrics\n"
                "\n"
                "SIGTERM or SIGINT finishes and commits the batch in hand, "
                "leaves the group and\n"
                "exits; a second signal exits at once (the batch is rolled "
                "back, nothing is lost).\n"
                "\n"
                "exit status: 0 stopped cleanly, 1 runtime error (restart "
                "resumes where the\n"
                "last committed batch ended), 2 usage or configuration "
                "error\n");
}

typedef struct relay_thread_s {
        zz_relay_opts_t opts;
        int failed;
} relay_thread_t;

static void *relay_main(void *arg)
{
        relay_thread_t *rt = arg;
        char errstr[512];

        while (!*rt->opts.stop) {
                if (zz_relay_run(&rt->opts, errstr, sizeof(errstr)) == 0)
                        break;
                zz_log_error("relay: %s", errstr);
                rt->failed = 1;
                sleep(1); /* then take over again: fences the old one */
        }
        return NULL;
}

static const char *source_dir(void)
{
        const char *dir = getenv("ZZ_SOURCE_DIR");

        return dir != NULL && dir[0] != '\0' ? dir : ZZ_SOURCE_DIR;
}

int main(int argc, char **argv)
{
        enum {
                O_CONFIG = 256,
                O_GROUP,
                O_POLICIES,
                O_BATCH_MAX,
                O_BATCH_MS,
                O_METRICS_PORT,
                O_METRICS_ANY,
                O_NO_RELAY,
                O_RELAY_ONLY,
                O_TXID,
                O_IDLE,
                O_MIGRATE
        };
        static const struct option longopts[] = {
            {"config", required_argument, NULL, O_CONFIG},
            {"group", required_argument, NULL, O_GROUP},
            {"policies", required_argument, NULL, O_POLICIES},
            {"batch-max", required_argument, NULL, O_BATCH_MAX},
            {"batch-ms", required_argument, NULL, O_BATCH_MS},
            {"metrics-port", required_argument, NULL, O_METRICS_PORT},
            {"metrics-any", no_argument, NULL, O_METRICS_ANY},
            {"no-relay", no_argument, NULL, O_NO_RELAY},
            {"relay-only", no_argument, NULL, O_RELAY_ONLY},
            {"transactional-id", required_argument, NULL, O_TXID},
            {"idle-exit", required_argument, NULL, O_IDLE},
            {"migrate", no_argument, NULL, O_MIGRATE},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        const char *config_path = NULL, *group = "zizhu-subsidy";
        const char *txid = NULL;
        char policies[4096], txid_buf[512], errstr[1024];
        char *xs[64];
        int n_xs = 0, batch_max = 500, batch_ms = 200, metrics_port = 0;
        int metrics_any = 0, no_relay = 0, relay_only = 0, idle = 0;
        int migrate = 0, verbosity = 0, opt, i, rc = 0;
        zz_config_t *config;
        zz_metrics_t *metrics = NULL;
        zz_worker_t *worker = NULL;
        relay_thread_t rt;
        pthread_t relay_tid;
        int relay_started = 0;
        struct sigaction sa;

        zz_log_set_component("subsidy-worker");
        snprintf(policies, sizeof(policies), "%s/policies", source_dir());
        while ((opt = getopt_long(argc, argv, "X:qvh", longopts, NULL)) != -1) {
                switch (opt) {
                case 'X':
                        if (n_xs < 64)
                                xs[n_xs++] = optarg;
                        break;
                case 'q':
                        verbosity--;
                        break;
                case 'v':
                        verbosity++;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case O_CONFIG:
                        config_path = optarg;
                        break;
                case O_GROUP:
                        group = optarg;
                        break;
                case O_POLICIES:
                        snprintf(policies, sizeof(policies), "%s", optarg);
                        break;
                case O_BATCH_MAX:
                        batch_max = (int)strtol(optarg, NULL, 10);
                        break;
                case O_BATCH_MS:
                        batch_ms = (int)strtol(optarg, NULL, 10);
                        break;
                case O_METRICS_PORT:
                        metrics_port = (int)strtol(optarg, NULL, 10);
                        break;
                case O_METRICS_ANY:
                        metrics_any = 1;
                        break;
                case O_NO_RELAY:
                        no_relay = 1;
                        break;
                case O_RELAY_ONLY:
                        relay_only = 1;
                        break;
                case O_TXID:
                        txid = optarg;
                        break;
                case O_IDLE:
                        idle = (int)strtol(optarg, NULL, 10);
                        break;
                case O_MIGRATE:
                        migrate = 1;
                        break;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc || batch_max <= 0 || batch_ms <= 0 ||
            (no_relay && relay_only)) {
                usage(stderr);
                return 2;
        }
        zz_log_set_level(verbosity < 0   ? ZZ_LOG_WARN
                         : verbosity > 0 ? ZZ_LOG_DEBUG
                                         : ZZ_LOG_INFO);
        config = zz_config_load(config_path, errstr, sizeof(errstr));
        if (config == NULL) {
                zz_log_error("%s", errstr);
                return 2;
        }
        for (i = 0; i < n_xs; i++)
                if (zz_config_set(config, xs[i], errstr, sizeof(errstr)) != 0) {
                        zz_log_error("%s", errstr);
                        zz_config_destroy(config);
                        return 2;
                }
        if (txid == NULL) {
                snprintf(txid_buf, sizeof(txid_buf), "zizhu-subsidy-relay.%s",
                         zz_config_topic_prefix(config));
                txid = txid_buf;
        }
        if (migrate) {
                char dir[4096];
                PGconn *conn =
                    zz_pg_connect(zz_config_pg(config), "zizhu-subsidy-worker",
                                  errstr, sizeof(errstr));
                int applied = 0;

                snprintf(dir, sizeof(dir), "%s/sql", source_dir());
                if (conn == NULL || zz_pg_migrate(conn, dir, &applied, errstr,
                                                  sizeof(errstr)) != 0) {
                        zz_log_error("%s", errstr);
                        if (conn != NULL)
                                PQfinish(conn);
                        zz_config_destroy(config);
                        return 1;
                }
                PQfinish(conn);
                zz_log_info("%d migrations applied", applied);
        }

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        metrics = zz_metrics_new();
        if (metrics_port > 0 &&
            zz_metrics_serve(metrics, metrics_port, metrics_any, errstr,
                             sizeof(errstr)) != 0) {
                zz_log_error("%s", errstr);
                zz_metrics_destroy(metrics);
                zz_config_destroy(config);
                return 2;
        }

        memset(&rt, 0, sizeof(rt));
        rt.opts.config = config;
        rt.opts.transactional_id = txid;
        rt.opts.batch_max = 1000;
        rt.opts.idle_exit_ms = idle;
        rt.opts.metrics = metrics;
        rt.opts.stop = relay_only ? &stop_flag : &relay_stop_flag;
        rt.opts.idle_ok = relay_only ? NULL : &worker_done;
        if (relay_only) {
                relay_main(&rt);
                goto out;
        }
        if (!no_relay) {
                if (pthread_create(&relay_tid, NULL, relay_main, &rt) != 0) {
                        zz_log_error("could not start the relay thread");
                        rc = 1;
                        goto out;
                }
                relay_started = 1;
        }
        {
                zz_worker_opts_t wo;

                memset(&wo, 0, sizeof(wo));
                wo.config = config;
                wo.group = group;
                wo.policy_dir = policies;
                wo.name = "zizhu-subsidy-worker";
                wo.batch_max = batch_max;
                wo.batch_ms = batch_ms;
                wo.idle_exit_ms = idle;
                wo.metrics = metrics;
                wo.stop = &stop_flag;
                worker = zz_worker_new(&wo, errstr, sizeof(errstr));
                if (worker == NULL) {
                        zz_log_error("%s", errstr);
                        rc = 2;
                } else if (zz_worker_run(worker, errstr, sizeof(errstr)) != 0) {
                        zz_log_error("%s", errstr);
                        rc = 1;
                }
                zz_worker_destroy(worker);
        }
        worker_done = 1;
        if (relay_started) {
                /* With --idle-exit the relay stops by itself once all is
                 * published; otherwise stop it with the worker. */
                if (idle <= 0 || rc != 0 || stop_flag)
                        relay_stop_flag = 1;
                pthread_join(relay_tid, NULL);
        }
out:
        if (rt.failed && rc == 0 && relay_only)
                rc = 1;
        zz_metrics_destroy(metrics);
        zz_config_destroy(config);
        zz_log_info("stopped");
        return rc;
}
