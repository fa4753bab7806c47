/*
 * bench.c — events per second of zizhu-subsidy-worker end to end, on a
 * generated data set (the integration tests' generator), against the real
 * broker and PostgreSQL. Not built by CMake (wip/); build and run:
 *
 *   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release
 *   cmake --build build-rel -j2 --target zizhu-subsidy-worker
 *   gcc -std=c11 -O2 -D_DEFAULT_SOURCE -DZZ_SOURCE_DIR='"/work/main"' \
 *       -DZZ_BIN_DIR='"/work/main/build-rel"' \
 *       -I core/include -I tests/integration \
 *       $(pkg-config --cflags libpq avro-c) \
 *       consumers/zizhu-subsidy-worker/wip/bench.c \
 *       build-rel/core/libzizhu_core.a -o /tmp/zz-bench \
 *       $(pkg-config --libs rdkafka avro-c libpq jansson yaml-0.1 \
 *         libcrypto libmicrohttpd) -lcsv -lm
 *   /tmp/zz-bench 50000 2000     # persons, --batch-max
 *
 * It produces the data set first, then starts one worker and times from
 * its start to the moment every input partition's stored position reaches
 * the partition end (all facts, decisions and outbox rows committed), and
 * separately from the first committed batch. Then it lets the relay
 * publish everything and checks exactly-once publication.
 */
#include "test_subsidy_harness.h"

#include <sys/time.h>

static double now_s(void)
{
        struct timeval tv;

        gettimeofday(&tv, NULL);
        return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
        size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 20000;
        const char *batch = argc > 2 ? argv[2] : "500";
        char batch_opt[64];
        const char *extras[] = {batch_opt, "--idle-exit", "3000", NULL};
        h_env_t env;
        h_person_t *ps;
        zz_codec_t *codec;
        h_msgs_t ms = {0};
        char errstr[512];
        double t0, t_first = 0, t_done = 0, t_exit;
        pid_t pid;
        int status;
        long long total;

        snprintf(batch_opt, sizeof(batch_opt), "--batch-max=%s", batch);
        ps = h_generate(n, 7);
        codec = zz_codec_new(errstr, sizeof(errstr));
        if (ps == NULL || codec == NULL || h_env_new(&env, "bench") != 0) {
                fprintf(stderr, "setup failed\n");
                return 1;
        }
        h_messages(codec, ps, n, &ms);
        t0 = now_s();
        h_produce(&env, &ms, 0, ms.n);
        fprintf(stderr, "produced %zu events in %.2f s\n", ms.n, now_s() - t0);
        total = (long long)ms.n;

        t0 = now_s();
        pid = h_spawn(&env, "bench", extras);
        for (;;) {
                long long done = h_scalar(
                    &env, "SELECT coalesce(sum(next_offset), 0) FROM "
                          "zizhu.consumer_position WHERE next_offset > 0");
                if (done > 0 && t_first == 0)
                        t_first = now_s();
                if (done >= total) {
                        t_done = now_s();
                        break;
                }
                usleep(50000);
        }
        waitpid(pid, &status, 0);
        t_exit = now_s() - 3.0; /* minus the idle wait */
        printf("persons %zu events %lld\n", n, total);
        printf("worker start to all committed: %.2f s = %.0f events/s\n",
               t_done - t0, (double)total / (t_done - t0));
        printf("first batch to all committed:  %.2f s = %.0f events/s\n",
               t_done - t_first, (double)total / (t_done - t_first));
        printf("until relay done (approx):     %.2f s\n", t_exit - t0);
        printf("decisions %lld, outbox rows %lld, published exactly once: "
               "%s\n",
               h_scalar(&env, "SELECT count(*) FROM zizhu.decision"),
               h_scalar(&env, "SELECT count(*) FROM zizhu.outbox"),
               h_check_published(&env) == 0 ? "yes" : "NO");
        h_msgs_free(&ms);
        zz_codec_destroy(codec);
        free(ps);
        h_env_drop(&env);
        return 0;
}
