/*
 * spawn.c — running the built binaries as an operator would: one way to
 * start a program in a child with the test's environment, and the two
 * workers with the options (and the consumer groups) of the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zz_test.h"

#ifndef ZZ_BIN_DIR
#define ZZ_BIN_DIR "."
#endif

#define MAX_ARGS 38

const char *zz_test_bin_dir(void)
{
        return zz_test_getenv("ZZ_BIN_DIR", ZZ_BIN_DIR);
}

/* In the child: never returns. */
static void exec_bin(const zz_test_env_t *env, const char *dir,
                     const char *name, const char *const *args)
{
        char exe[1024];
        const char *argv[MAX_ARGS + 2];
        size_t i;

        if (env != NULL)
                zz_test_env_export(env);
        snprintf(exe, sizeof(exe), "%s/%s/%s/%s", zz_test_bin_dir(), dir, name,
                 name);
        if (access(exe, X_OK) != 0)
                snprintf(exe, sizeof(exe), "%s/%s/%s", zz_test_bin_dir(), dir,
                         name);
        argv[0] = exe;
        for (i = 0; args != NULL && args[i] != NULL && i < MAX_ARGS; i++)
                argv[i + 1] = args[i];
        argv[i + 1] = NULL;
        execv(exe, (char *const *)argv);
        fprintf(stderr, "could not run %s\n", exe);
        _exit(127);
}

pid_t zz_test_spawn(const zz_test_env_t *env, const char *dir, const char *name,
                    const char *const *args)
{
        pid_t pid = fork();

        if (pid == 0)
                exec_bin(env, dir, name, args);
        if (pid < 0)
                perror("fork");
        return pid;
}

int zz_test_wait(pid_t pid)
{
        int status = 0;

        if (pid < 0 || waitpid(pid, &status, 0) != pid)
                return 128;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int zz_test_run(const zz_test_env_t *env, const char *dir, const char *name,
                const char *const *args)
{
        return zz_test_wait(zz_test_spawn(env, dir, name, args));
}

/* ------------------------------------------------------------------ */
/* Workers                                                             */

/* The options of a worker as argv words: numbers are written into num
 * (which must outlive args). */
typedef struct worker_args_s {
        const char *args[24];
        char num[6][48];
        int n, n_num;
} worker_args_t;

static void add(worker_args_t *wa, const char *arg)
{
        if (wa->n < (int)(sizeof(wa->args) / sizeof(wa->args[0])) - 1)
                wa->args[wa->n++] = arg;
}

/* opt and "<prefix><value>", when value > 0. */
static void add_num(worker_args_t *wa, const char *opt, const char *prefix,
                    int value)
{
        if (value <= 0 || wa->n_num == 6)
                return;
        snprintf(wa->num[wa->n_num], sizeof(wa->num[0]), "%s%d", prefix, value);
        add(wa, opt);
        add(wa, wa->num[wa->n_num++]);
}

pid_t zz_test_worker_spawn(const zz_test_env_t *env, zz_test_worker_t worker,
                           const zz_test_worker_opts_t *opts)
{
        static const zz_test_worker_opts_t defaults = {0};
        worker_args_t wa;
        const char *name;

        if (opts == NULL)
                opts = &defaults;
        memset(&wa, 0, sizeof(wa));
        add(&wa, "-q");
        add(&wa, "--group");
        if (worker == ZZ_TEST_SUBSIDY_WORKER) {
                name = "zizhu-subsidy-worker";
                add(&wa, env->group);
                if (opts->no_relay)
                        add(&wa, "--no-relay");
                add_num(&wa, "--batch-ms", "", opts->batch_ms);
                add_num(&wa, "--batch-max", "", opts->batch_max);
        } else {
                name = "zizhu-settlement-worker";
                add(&wa, env->settle_group);
                add(&wa, "--subsidy-group");
                add(&wa, env->group);
                add_num(&wa, "--wait-ms", "", opts->wait_ms);
        }
        add_num(&wa, "--idle-exit", "", opts->idle_exit_ms);
        add_num(&wa, "-X", "session.timeout.ms=", opts->session_timeout_ms);
        wa.args[wa.n] = NULL;
        return zz_test_spawn(env, "consumers", name, wa.args);
}

int zz_test_worker_run(const zz_test_env_t *env, zz_test_worker_t worker,
                       const zz_test_worker_opts_t *opts)
{
        return zz_test_wait(zz_test_worker_spawn(env, worker, opts));
}

int zz_test_subsidy_load(const zz_test_env_t *env)
{
        const zz_test_worker_opts_t o = {
            .no_relay = 1, .batch_ms = 50, .idle_exit_ms = 2500};

        return zz_test_worker_run(env, ZZ_TEST_SUBSIDY_WORKER, &o);
}

int zz_test_subsidy_run_to_idle(const zz_test_env_t *env)
{
        const zz_test_worker_opts_t o = {
            .batch_ms = 50, .idle_exit_ms = 10000, .session_timeout_ms = 6000};

        return zz_test_worker_run(env, ZZ_TEST_SUBSIDY_WORKER, &o);
}
