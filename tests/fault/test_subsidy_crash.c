/*
 * test_subsidy_crash.c — exactly once under kill -9: the subsidy worker
 * (consumer and relay) killed at random moments and restarted ends with the
 * same decisions as an uninterrupted run, and every outbox row is in the
 * output topics exactly once for a read_committed reader. Two instances in
 * one group, one killed halfway, give the same result as one instance.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zz_test.h"

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

        nanosleep(&ts, NULL);
}

/* Keeps both dumps for a look when they differ. */
static void save_dumps(const char *tag, const char *want, const char *got)
{
        char path[256];
        FILE *fp;

        if (strcmp(want, got) == 0)
                return;
        snprintf(path, sizeof(path), "/tmp/zz-%s-%d.want", tag, (int)getpid());
        fp = fopen(path, "w");
        if (fp != NULL) {
                fputs(want, fp);
                fclose(fp);
        }
        snprintf(path, sizeof(path), "/tmp/zz-%s-%d.got", tag, (int)getpid());
        fp = fopen(path, "w");
        if (fp != NULL) {
                fputs(got, fp);
                fclose(fp);
        }
        fprintf(stderr, "decision dumps kept in /tmp/zz-%s-%d.{want,got}\n",
                tag, (int)getpid());
}

static char *reference_run(zz_test_env_t *ref, const zz_test_msgs_t *ms,
                           size_t *rows)
{
        cr_assert_eq(zz_test_env_new(ref, "ref"), 0);
        cr_assert_eq(zz_test_produce(ref, ms, 0, ms->n), 0);
        cr_assert_eq(zz_test_subsidy_run_to_idle(ref), 0);
        return zz_test_decisions_dump(ref, rows);
}

/* What each test starts from: n generated persons (seed), their messages,
 * and the decisions of an uninterrupted run of them in ref. */
typedef struct fixture_s {
        zz_test_env_t ref;
        zz_test_person_t *ps;
        zz_test_msgs_t ms;
        char *want;
        size_t rows_ref;
} fixture_t;

static void fixture_new(fixture_t *f, size_t n, unsigned long long seed)
{
        memset(f, 0, sizeof(*f));
        f->ps = zz_test_generate(n, seed);
        cr_assert_not_null(f->ps);
        zz_test_persons_msgs(&f->ms, f->ps, n);
        f->want = reference_run(&f->ref, &f->ms, &f->rows_ref);
}

/* Frees f and drops env (the run under test) and the reference run. */
static void fixture_free(fixture_t *f, zz_test_env_t *env)
{
        free(f->want);
        zz_test_msgs_free(&f->ms);
        free(f->ps);
        zz_test_env_drop(env);
        zz_test_env_drop(&f->ref);
}

Test(subsidy_fault, kill9_restart)
{
        const size_t n = 2000;
        const int kills = 12;
        const zz_test_worker_opts_t o = {
            .batch_ms = 50, .batch_max = 40, .session_timeout_ms = 6000};
        fixture_t f;
        zz_test_env_t env;
        char *got;
        size_t rows = 0;
        int k, killed_mid = 0;

        fixture_new(&f, n, 99);

        cr_assert_eq(zz_test_env_new(&env, "kill"), 0);
        zz_test_rand_seed(2024);
        for (k = 0; k < kills; k++) {
                pid_t pid;
                int status = 0;
                long long before, after;

                /* more input arrives while the worker is down */
                cr_assert_eq(zz_test_produce(&env, &f.ms,
                                             f.ms.n * (size_t)k / kills,
                                             f.ms.n * (size_t)(k + 1) / kills),
                             0);
                before = zz_test_pg_count(env.pg,
                                          "SELECT coalesce(sum(next_offset), "
                                          "0) FROM zizhu.consumer_position");
                pid = zz_test_worker_spawn(&env, ZZ_TEST_SUBSIDY_WORKER, &o);
                sleep_ms(2500 + (int)zz_test_rand(2500));
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                cr_assert(WIFSIGNALED(status), "worker exited by itself");
                after = zz_test_pg_count(env.pg,
                                         "SELECT coalesce(sum(next_offset), "
                                         "0) FROM zizhu.consumer_position");
                if (after > before)
                        killed_mid++;
        }
        cr_assert_eq(zz_test_subsidy_run_to_idle(&env), 0);
        got = zz_test_decisions_dump(&env, &rows);
        save_dumps("kill", f.want, got);
        cr_expect_gt(killed_mid, 0, "no kill came after some progress");
        cr_expect_eq(rows, f.rows_ref);
        cr_expect(strcmp(f.want, got) == 0,
                  "decisions after %d kills differ from an uninterrupted "
                  "run",
                  kills);
        cr_expect_eq(zz_test_check_published(&env), 0);
        cr_expect_eq(zz_test_check_published(&f.ref), 0);
        cr_expect_eq(zz_test_pg_count(
                         env.pg, "SELECT count(*) FROM zizhu.identity_fact"),
                     zz_test_pg_count(
                         f.ref.pg, "SELECT count(*) FROM zizhu.identity_fact"));
        free(got);
        fixture_free(&f, &env);
}

Test(subsidy_fault, two_instances_one_killed)
{
        const size_t n = 2000;
        const zz_test_worker_opts_t o = {.batch_ms = 50,
                                         .batch_max = 40,
                                         .session_timeout_ms = 6000,
                                         .idle_exit_ms = 20000};
        fixture_t f;
        zz_test_env_t env;
        char *got;
        size_t rows = 0;
        pid_t a, b;
        int status = 0;

        fixture_new(&f, n, 31337);

        cr_assert_eq(zz_test_env_new(&env, "two"), 0);
        cr_assert_eq(zz_test_produce(&env, &f.ms, 0, f.ms.n / 2), 0);
        a = zz_test_worker_spawn(&env, ZZ_TEST_SUBSIDY_WORKER, &o);
        b = zz_test_worker_spawn(&env, ZZ_TEST_SUBSIDY_WORKER, &o);
        sleep_ms(4000);
        cr_assert_eq(zz_test_produce(&env, &f.ms, f.ms.n / 2, f.ms.n), 0);
        sleep_ms(1000);
        kill(a, SIGKILL);
        waitpid(a, &status, 0);
        cr_assert(WIFSIGNALED(status));
        waitpid(b, &status, 0);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "surviving instance failed");
        got = zz_test_decisions_dump(&env, &rows);
        save_dumps("two", f.want, got);
        cr_expect_eq(rows, f.rows_ref);
        cr_expect(strcmp(f.want, got) == 0,
                  "two instances (one killed) differ from one instance");
        cr_expect_eq(zz_test_check_published(&env), 0);
        free(got);
        fixture_free(&f, &env);
}

/* SIGTERM finishes the batch in hand, commits it, leaves the group and
 * exits 0; a later run completes the same result as an uninterrupted one. */
Test(subsidy_fault, sigterm_is_graceful)
{
        const size_t n = 1500;
        const zz_test_worker_opts_t o = {
            .batch_ms = 50, .batch_max = 40, .session_timeout_ms = 6000};
        fixture_t f;
        zz_test_env_t env;
        char *got;
        size_t rows = 0;
        pid_t pid;
        int status = 0, waited = 0;

        fixture_new(&f, n, 5150);

        cr_assert_eq(zz_test_env_new(&env, "term"), 0);
        cr_assert_eq(zz_test_produce(&env, &f.ms, 0, f.ms.n), 0);
        pid = zz_test_worker_spawn(&env, ZZ_TEST_SUBSIDY_WORKER, &o);
        while (zz_test_pg_count(env.pg,
                                "SELECT count(*) FROM zizhu.consumer_position "
                                "WHERE next_offset > 0") == 0 &&
               waited < 30000) {
                sleep_ms(50);
                waited += 50;
        }
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "worker did not stop cleanly on SIGTERM");
        cr_assert_eq(zz_test_subsidy_run_to_idle(&env), 0);
        got = zz_test_decisions_dump(&env, &rows);
        save_dumps("term", f.want, got);
        cr_expect_eq(rows, f.rows_ref);
        cr_expect(strcmp(f.want, got) == 0);
        cr_expect_eq(zz_test_check_published(&env), 0);
        free(got);
        fixture_free(&f, &env);
}
