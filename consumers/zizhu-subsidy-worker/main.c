/*
 * main.c — zizhu-subsidy-worker: options, signals and threads around the
 * consumer loop (core/src/subsidy/worker.c) and the outbox relay
 * (core/src/subsidy/relay.c).
 */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/codec.h"
#include "zizhu/config.h"
#include "zizhu/kafka.h"
#include "zizhu/log.h"
#include "zizhu/metrics.h"
#include "zizhu/opts.h"
#include "zizhu/pg.h"
#include "zizhu/relay.h"
#include "zizhu/subsidy.h"
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
                "error, 3 the database\n"
                "is behind the output topics (it lost commits already "
                "published): an operator\n"
                "must act, a restart cannot cure it (deploy/README.md)\n");
}

/* The options of this program; the common ones are in zz_opts_t. */
typedef struct args_s {
        const char *group;
        const char *txid;
        int batch_max, batch_ms, idle;
        int metrics_port, metrics_any;
        int no_relay, relay_only, migrate;
} args_t;

/* Exit status: the database is behind the output topics (relay.h,
 * "Continuity"). */
#define EXIT_BEHIND 3

/* How long the start-up continuity check retries an unreachable broker or
 * database before the worker exits 1. */
#define PREFLIGHT_RETRY_MS 6000

typedef struct relay_thread_s {
        zz_relay_opts_t opts;
        char txid[512];
        int failed;
        int behind; /* ZZ_RELAY_BEHIND: the whole worker stops */
} relay_thread_t;

static void *relay_main(void *arg)
{
        relay_thread_t *rt = arg;
        char errstr[512];

        while (!*rt->opts.stop) {
                int st = zz_relay_run(&rt->opts, errstr, sizeof(errstr));

                if (st == 0)
                        break;
                zz_log_error("relay: %s", errstr);
                if (st == ZZ_RELAY_BEHIND) {
                        rt->behind = 1;
                        stop_flag = 1; /* the consumer loop stops too */
                        break;
                }
                rt->failed = 1;
                sleep(1); /* then take over again: fences the old one */
        }
        return NULL;
}

/* 0, or -1: return zo->exit_status. */
static int parse_args(zz_opts_t *zo, args_t *a, int argc, char **argv)
{
        const zz_opt_t table[] = {
            ZZ_OPT_STRING("group", &a->group),
            ZZ_OPT_INT("batch-max", &a->batch_max, 1, 1000000),
            ZZ_OPT_INT("batch-ms", &a->batch_ms, 1, INT_MAX),
            ZZ_OPT_INT("metrics-port", &a->metrics_port, 0, 65535),
            ZZ_OPT_FLAG("metrics-any", &a->metrics_any, 1),
            ZZ_OPT_FLAG("no-relay", &a->no_relay, 1),
            ZZ_OPT_FLAG("relay-only", &a->relay_only, 1),
            ZZ_OPT_STRING("transactional-id", &a->txid),
            ZZ_OPT_INT("idle-exit", &a->idle, 0, INT_MAX),
            ZZ_OPT_FLAG("migrate", &a->migrate, 1),
            ZZ_OPT_END};

        memset(a, 0, sizeof(*a));
        a->group = "zizhu-subsidy";
        a->batch_max = 500;
        a->batch_ms = 200;
        zz_opts_init(zo, "zizhu-subsidy-worker", usage,
                     ZZ_OPTS_CONFIG | ZZ_OPTS_VERBOSITY | ZZ_OPTS_POLICIES);
        if (zz_opts_parse(zo, table, argc, argv) != 0)
                return -1;
        if (a->no_relay && a->relay_only) {
                zo->exit_status = zz_opts_usage_error(
                    zo, "--no-relay and --relay-only exclude each other");
                return -1;
        }
        return 0;
}

/* --migrate. 0, or -1 after logging why. */
static int migrate(const zz_config_t *config)
{
        char dir[4096], errstr[1024];
        PGconn *conn =
            zz_pg_connect(zz_config_pg(config), "zizhu-subsidy-worker", errstr,
                          sizeof(errstr));
        int applied = 0;

        snprintf(dir, sizeof(dir), "%s/sql", zz_opts_source_dir());
        if (conn == NULL ||
            zz_pg_migrate(conn, dir, &applied, errstr, sizeof(errstr)) != 0) {
                zz_log_error("%s", errstr);
                if (conn != NULL)
                        zz_pg_finish(conn);
                return -1;
        }
        zz_pg_finish(conn);
        zz_log_info("%d migrations applied", applied);
        return 0;
}

static void catch_signals(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
}

static void relay_setup(relay_thread_t *rt, const args_t *a,
                        const zz_config_t *config, zz_metrics_t *metrics)
{
        memset(rt, 0, sizeof(*rt));
        if (a->txid != NULL)
                snprintf(rt->txid, sizeof(rt->txid), "%s", a->txid);
        else
                snprintf(rt->txid, sizeof(rt->txid), "zizhu-subsidy-relay.%s",
                         zz_config_topic_prefix(config));
        rt->opts.config = config;
        rt->opts.transactional_id = rt->txid;
        rt->opts.batch_max = 1000;
        rt->opts.idle_exit_ms = a->idle;
        rt->opts.metrics = metrics;
        rt->opts.stop = a->relay_only ? &stop_flag : &relay_stop_flag;
        rt->opts.idle_ok = a->relay_only ? NULL : &worker_done;
}

/* The policies load as the worker will load them. Checked before
 * zz_worker_new, which fails alike for a bad policy (a configuration
 * error: exit 2) and an unreachable PostgreSQL or broker (a runtime error:
 * exit 1, which a supervisor restarts). 0, or -1 with errstr. */
static int check_policies(const char *policies, char *errstr,
                          size_t errstr_size)
{
        zz_codec_t *codec = zz_codec_new(errstr, errstr_size);
        zz_subsidy_t *subsidy;

        if (codec == NULL)
                return -1;
        subsidy = zz_subsidy_new(policies, codec, errstr, errstr_size);
        zz_subsidy_destroy(subsidy);
        zz_codec_destroy(codec);
        return subsidy == NULL ? -1 : 0;
}

/* The topics an audit replays: their retention is checked at start. */
static const char *const audited[] = {"identity", "enrollment", "payment",
                                      "control"};

/* What is checked before anything runs, in the order an operator fixes
 * it: the policies and the retention of the audited topics (exit 2), then
 * the continuity of the outbox with the output topics (exit 3, relay.h).
 * ZZ_EXIT_OK, or the exit status after logging why. */
static int preflight(const args_t *a, const char *policies,
                     const zz_config_t *config)
{
        char errstr[1024];
        int rc, waited, delay;

        if (!a->relay_only) {
                if (check_policies(policies, errstr, sizeof(errstr)) != 0) {
                        zz_log_error("%s", errstr);
                        return ZZ_EXIT_USAGE;
                }
                rc = zz_kafka_check_retention(config, audited, 4, errstr,
                                              sizeof(errstr));
                if (rc != 0) {
                        zz_log_error("%s", errstr);
                        return rc > 0 ? ZZ_EXIT_USAGE : ZZ_EXIT_FAIL;
                }
        }
        /* A broker that just created the topics, or lost a leader, may not
         * answer yet: retried with backoff for PREFLIGHT_RETRY_MS. */
        for (waited = 0, delay = 200;; waited += delay, delay *= 2) {
                rc = zz_relay_check(config, errstr, sizeof(errstr));
                if (rc != -1 || waited >= PREFLIGHT_RETRY_MS || stop_flag)
                        break;
                zz_log_warn("continuity check: %s; retrying in %d ms (gives "
                            "up after %d s)",
                            errstr, delay, PREFLIGHT_RETRY_MS / 1000);
                usleep((useconds_t)delay * 1000);
        }
        if (rc != 0) {
                zz_log_error("%s", errstr);
                return rc == ZZ_RELAY_BEHIND ? EXIT_BEHIND : ZZ_EXIT_FAIL;
        }
        return ZZ_EXIT_OK;
}

/* The consumer loop on this thread. An exit status. */
static int run_worker(const args_t *a, const char *policies,
                      const zz_config_t *config, zz_metrics_t *metrics)
{
        zz_worker_opts_t wo;
        zz_worker_t *worker;
        char errstr[1024];
        int rc = ZZ_EXIT_OK;

        memset(&wo, 0, sizeof(wo));
        wo.config = config;
        wo.group = a->group;
        wo.policy_dir = policies;
        wo.name = "zizhu-subsidy-worker";
        wo.batch_max = a->batch_max;
        wo.batch_ms = a->batch_ms;
        wo.idle_exit_ms = a->idle;
        wo.metrics = metrics;
        wo.stop = &stop_flag;
        worker = zz_worker_new(&wo, errstr, sizeof(errstr));
        if (worker == NULL) {
                zz_log_error("%s", errstr);
                rc = ZZ_EXIT_FAIL;
        } else if (zz_worker_run(worker, errstr, sizeof(errstr)) != 0) {
                zz_log_error("%s", errstr);
                rc = ZZ_EXIT_FAIL;
        }
        zz_worker_destroy(worker);
        return rc;
}

/* The consumer loop here and, unless --no-relay, the relay on a thread of
 * its own. An exit status. */
static int run_with_relay(relay_thread_t *rt, const args_t *a,
                          const char *policies, const zz_config_t *config,
                          zz_metrics_t *metrics)
{
        pthread_t relay_tid;
        int rc;

        if (!a->no_relay &&
            pthread_create(&relay_tid, NULL, relay_main, rt) != 0) {
                zz_log_error("could not start the relay thread");
                return ZZ_EXIT_FAIL;
        }
        rc = run_worker(a, policies, config, metrics);
        worker_done = 1;
        if (!a->no_relay) {
                /* With --idle-exit the relay stops by itself once all is
                 * published; otherwise stop it with the worker. */
                if (a->idle <= 0 || rc != 0 || stop_flag)
                        relay_stop_flag = 1;
                pthread_join(relay_tid, NULL);
        }
        return rc;
}

int main(int argc, char **argv)
{
        zz_opts_t zo;
        args_t a;
        zz_config_t *config;
        zz_metrics_t *metrics;
        relay_thread_t rt;
        char errstr[1024];
        int rc;

        zz_log_set_component("subsidy-worker");
        if (parse_args(&zo, &a, argc, argv) != 0)
                return zo.exit_status;
        zz_opts_set_log_level(&zo, ZZ_LOG_INFO);
        config = zz_opts_config(&zo);
        if (config == NULL)
                return ZZ_EXIT_USAGE;
        /* an unreachable PostgreSQL is retried with backoff before the
         * worker gives up (connect_retry_ms) */
        zz_pg_set_connect_retry(zz_config_connect_retry_ms(config));
        if (a.migrate && migrate(config) != 0) {
                zz_config_destroy(config);
                return ZZ_EXIT_FAIL;
        }
        catch_signals();
        metrics = zz_metrics_new();
        /* every family listed from the first scrape on, not from the first
         * input */
        if (!a.relay_only)
                zz_worker_metrics_declare(metrics, config);
        if (!a.no_relay)
                zz_relay_metrics_declare(metrics);
        if (a.metrics_port > 0 &&
            zz_metrics_serve(metrics, a.metrics_port, a.metrics_any, errstr,
                             sizeof(errstr)) != 0) {
                zz_log_error("%s", errstr);
                zz_metrics_destroy(metrics);
                zz_config_destroy(config);
                return ZZ_EXIT_USAGE;
        }
        relay_setup(&rt, &a, config, metrics);
        rc = preflight(&a, zo.policies, config);
        if (rc != ZZ_EXIT_OK) {
                zz_metrics_destroy(metrics);
                zz_config_destroy(config);
                return rc;
        }
        if (a.relay_only) {
                relay_main(&rt);
                rc = rt.failed ? ZZ_EXIT_FAIL : ZZ_EXIT_OK;
        } else {
                rc = run_with_relay(&rt, &a, zo.policies, config, metrics);
        }
        if (rt.behind)
                rc = EXIT_BEHIND;
        zz_metrics_destroy(metrics);
        zz_config_destroy(config);
        zz_log_info("stopped");
        return rc;
}
