/*
 * test_subsidy_crash.c — exactly once under kill -9: the subsidy worker
 * (consumer and relay) killed at random moments and restarted ends with the
 * same decisions as an uninterrupted run, and every outbox row is in the
 * output topics exactly once for a read_committed reader. Two instances in
 * one group, one killed halfway, give the same result as one instance.
 */
#include <criterion/criterion.h>

#include "../integration/test_subsidy_harness.h"

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

static char *reference_run(h_env_t *ref, const h_msgs_t *ms, size_t *rows)
{
        cr_assert_eq(h_env_new(ref, "ref"), 0);
        cr_assert_eq(h_produce(ref, ms, 0, ms->n), 0);
        cr_assert_eq(h_run_to_idle(ref, "g"), 0);
        return h_dump_decisions(ref, rows);
}

/* What each test starts from: n generated persons (seed), their messages,
 * and the decisions of an uninterrupted run of them in ref. */
typedef struct fixture_s {
        h_env_t ref;
        h_person_t *ps;
        zz_codec_t *codec;
        h_msgs_t ms;
        char *want;
        size_t rows_ref;
} fixture_t;

static void fixture_new(fixture_t *f, size_t n, unsigned long long seed)
{
        char errstr[512];

        memset(f, 0, sizeof(*f));
        f->ps = h_generate(n, seed);
        cr_assert_not_null(f->ps);
        f->codec = zz_codec_new(errstr, sizeof(errstr));
        cr_assert_not_null(f->codec, "%s", errstr);
        h_messages(f->codec, f->ps, n, &f->ms);
        f->want = reference_run(&f->ref, &f->ms, &f->rows_ref);
}

/* Frees f and drops env (the run under test) and the reference run. */
static void fixture_free(fixture_t *f, h_env_t *env)
{
        free(f->want);
        h_msgs_free(&f->ms);
        zz_codec_destroy(f->codec);
        free(f->ps);
        h_env_drop(env);
        h_env_drop(&f->ref);
}

Test(subsidy_fault, kill9_restart)
{
        const size_t n = 2000;
        const int kills = 12;
        static const char *const extras[] = {"--batch-max=40", "-X",
                                             "session.timeout.ms=6000", NULL};
        fixture_t f;
        h_env_t env;
        char *got;
        size_t rows = 0;
        int k, killed_mid = 0;

        fixture_new(&f, n, 99);

        cr_assert_eq(h_env_new(&env, "kill"), 0);
        h_rng = 2024;
        for (k = 0; k < kills; k++) {
                pid_t pid;
                int status = 0;
                long long before, after;

                /* more input arrives while the worker is down */
                cr_assert_eq(h_produce(&env, &f.ms, f.ms.n * (size_t)k / kills,
                                       f.ms.n * (size_t)(k + 1) / kills),
                             0);
                before = h_scalar(&env, "SELECT coalesce(sum(next_offset), "
                                        "0) FROM zizhu.consumer_position");
                pid = h_spawn(&env, "g", extras);
                sleep_ms(2500 + (int)h_rand(2500));
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                cr_assert(WIFSIGNALED(status), "worker exited by itself");
                after = h_scalar(&env, "SELECT coalesce(sum(next_offset), "
                                       "0) FROM zizhu.consumer_position");
                if (after > before)
                        killed_mid++;
        }
        cr_assert_eq(h_run_to_idle(&env, "g"), 0);
        got = h_dump_decisions(&env, &rows);
        save_dumps("kill", f.want, got);
        cr_expect_gt(killed_mid, 0, "no kill came after some progress");
        cr_expect_eq(rows, f.rows_ref);
        cr_expect(strcmp(f.want, got) == 0,
                  "decisions after %d kills differ from an uninterrupted "
                  "run",
                  kills);
        cr_expect_eq(h_check_published(&env), 0);
        cr_expect_eq(h_check_published(&f.ref), 0);
        cr_expect_eq(
            h_scalar(&env, "SELECT count(*) FROM zizhu.identity_fact"),
            h_scalar(&f.ref, "SELECT count(*) FROM zizhu.identity_fact"));
        free(got);
        fixture_free(&f, &env);
}

Test(subsidy_fault, two_instances_one_killed)
{
        const size_t n = 2000;
        static const char *const extras[] = {
            "--batch-max=40", "-X",    "session.timeout.ms=6000",
            "--idle-exit",    "20000", NULL};
        fixture_t f;
        h_env_t env;
        char *got;
        size_t rows = 0;
        pid_t a, b;
        int status = 0;

        fixture_new(&f, n, 31337);

        cr_assert_eq(h_env_new(&env, "two"), 0);
        cr_assert_eq(h_produce(&env, &f.ms, 0, f.ms.n / 2), 0);
        a = h_spawn(&env, "g", extras);
        b = h_spawn(&env, "g", extras);
        sleep_ms(4000);
        cr_assert_eq(h_produce(&env, &f.ms, f.ms.n / 2, f.ms.n), 0);
        sleep_ms(1000);
        kill(a, SIGKILL);
        waitpid(a, &status, 0);
        cr_assert(WIFSIGNALED(status));
        waitpid(b, &status, 0);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "surviving instance failed");
        got = h_dump_decisions(&env, &rows);
        save_dumps("two", f.want, got);
        cr_expect_eq(rows, f.rows_ref);
        cr_expect(strcmp(f.want, got) == 0,
                  "two instances (one killed) differ from one instance");
        cr_expect_eq(h_check_published(&env), 0);
        free(got);
        fixture_free(&f, &env);
}

/* SIGTERM finishes the batch in hand, commits it, leaves the group and
 * exits 0; a later run completes the same result as an uninterrupted one. */
Test(subsidy_fault, sigterm_is_graceful)
{
        const size_t n = 1500;
        static const char *const extras[] = {"--batch-max=40", "-X",
                                             "session.timeout.ms=6000", NULL};
        fixture_t f;
        h_env_t env;
        char *got;
        size_t rows = 0;
        pid_t pid;
        int status = 0, waited = 0;

        fixture_new(&f, n, 5150);

        cr_assert_eq(h_env_new(&env, "term"), 0);
        cr_assert_eq(h_produce(&env, &f.ms, 0, f.ms.n), 0);
        pid = h_spawn(&env, "g", extras);
        while (h_scalar(&env, "SELECT count(*) FROM zizhu.consumer_position "
                              "WHERE next_offset > 0") == 0 &&
               waited < 30000) {
                sleep_ms(50);
                waited += 50;
        }
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "worker did not stop cleanly on SIGTERM");
        cr_assert_eq(h_run_to_idle(&env, "g"), 0);
        got = h_dump_decisions(&env, &rows);
        save_dumps("term", f.want, got);
        cr_expect_eq(rows, f.rows_ref);
        cr_expect(strcmp(f.want, got) == 0);
        cr_expect_eq(h_check_published(&env), 0);
        free(got);
        fixture_free(&f, &env);
}
