/*
 * test_exit_status.c — what an operator's supervisor sees when PostgreSQL
 * is down: every program that needs it exits 1 (a runtime error, worth a
 * restart), never 2 (usage or configuration, documented in opts.h as not
 * worth one). PostgreSQL is "down" as a closed port on this host.
 */
#include <criterion/criterion.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "zz_test.h"

/* A local TCP port nothing listens on: one the kernel just gave out and
 * took back. */
static int closed_port(void)
{
        struct sockaddr_in sa;
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0), port;

        cr_assert(fd >= 0);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        cr_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
        port = ntohs(sa.sin_port);
        close(fd);
        return port;
}

/* The test's environment, with ZIZHU_PG pointing at a closed port. */
static void pg_down(zz_test_env_t *env)
{
        char pg[128];

        zz_test_env_init(env, "exit");
        zz_test_env_export(env);
        snprintf(pg, sizeof(pg),
                 "host=127.0.0.1 port=%d dbname=zizhu user=zizhu "
                 "connect_timeout=2",
                 closed_port());
        setenv("ZIZHU_PG", pg, 1);
        /* the workers retry an unreachable PostgreSQL for this long */
        setenv("ZIZHU_CONNECT_RETRY_MS", "1000", 1);
}

static void expect_runtime_failure(const char *dir, const char *name,
                                   const char *const *args)
{
        int rc = zz_test_run(NULL, dir, name, args);

        cr_expect_eq(rc, 1, "%s %s: exit %d without PostgreSQL, not 1", name,
                     args[0] ? args[0] : "", rc);
}

Test(exit_status, subsidy_worker_without_postgresql_exits_1, .timeout = 60)
{
        zz_test_env_t env;
        const char *const args[] = {"-q", "--no-relay", "--idle-exit", "1000",
                                    NULL};

        pg_down(&env);
        expect_runtime_failure("consumers", "zizhu-subsidy-worker", args);
}

Test(exit_status, settlement_worker_without_postgresql_exits_1, .timeout = 60)
{
        zz_test_env_t env;
        const char *const args[] = {"-q", "--idle-exit", "1000", NULL};

        pg_down(&env);
        expect_runtime_failure("consumers", "zizhu-settlement-worker", args);
}

Test(exit_status, feed_snapshot_without_postgresql_exits_1, .timeout = 60)
{
        zz_test_env_t env;
        const char *const args[] = {"identity",
                                    "--dept",
                                    "DPF",
                                    "--snapshot",
                                    "--dry-run",
                                    "-q",
                                    ZZ_TEST_DATA "/feed/snap_dpf_v1.csv",
                                    NULL};

        pg_down(&env);
        expect_runtime_failure("producers", "zizhu-feed", args);
}

Test(exit_status, cli_commands_without_postgresql_exit_1, .timeout = 60)
{
        zz_test_env_t env;
        const char *const migrate[] = {"migrate", NULL};
        const char *const report[] = {"report", "settlement", NULL};
        const char *const conservation[] = {"audit", "conservation", NULL};

        pg_down(&env);
        expect_runtime_failure("cli", "zizhu", migrate);
        expect_runtime_failure("cli", "zizhu", report);
        expect_runtime_failure("cli", "zizhu", conservation);
}

/* The other side: a policy directory that does not load is a
 * configuration error, exit 2, PostgreSQL or not. */
Test(exit_status, subsidy_worker_with_bad_policies_exits_2, .timeout = 60)
{
        zz_test_env_t env;
        const char *const args[] = {"-q",   "--no-relay", "--idle-exit",
                                    "1000", "--policies", "/nonexistent",
                                    NULL};

        pg_down(&env);
        cr_expect_eq(
            zz_test_run(NULL, "consumers", "zizhu-subsidy-worker", args), 2);
}

/* Issue 13: a worker that cannot reach PostgreSQL retries with backoff for
 * connect_retry_ms and only then exits 1 (never at once, never for ever). */
Test(exit_status, workers_retry_postgresql_for_the_configured_time,
     .timeout = 90)
{
        zz_test_env_t env;
        const char *const subsidy[] = {"-q", "--no-relay", "--idle-exit",
                                       "1000", NULL};
        const char *const settle[] = {"-q", "--idle-exit", "1000", NULL};
        struct timespec t0, t1;
        double secs;
        int rc;

        pg_down(&env);
        setenv("ZIZHU_CONNECT_RETRY_MS", "4000", 1);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = zz_test_run(NULL, "consumers", "zizhu-subsidy-worker", subsidy);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        cr_expect_eq(rc, 1, "subsidy worker: exit %d", rc);
        cr_expect_geq(secs, 2.5, "the subsidy worker gave up after %.1f s",
                      secs);
        cr_expect_leq(secs, 40.0, "the subsidy worker retried %.1f s", secs);

        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = zz_test_run(NULL, "consumers", "zizhu-settlement-worker", settle);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        cr_expect_eq(rc, 1, "settlement worker: exit %d", rc);
        cr_expect_geq(secs, 2.5, "the settlement worker gave up after %.1f s",
                      secs);
}
