/*
 * main.c — zizhu-loadgen: a seeded synthetic population, sent to Kafka at
 * full producer speed or written as files, with the expected totals
 * beside it. The generator is core/src/loadgen.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zizhu/config.h"
#include "zizhu/feed.h"
#include "zizhu/loadgen.h"
#include "zizhu/log.h"

static void usage(FILE *out)
{
        fputs(
            "usage: zizhu-loadgen [options]\n"
            "\n"
            "Generates a deterministic synthetic population (households,\n"
            "villages, identity categories, multi-identity persons, late "
            "flags,\n"
            "revocations, deaths, mid-year enrollments, payments, refunds) "
            "and\n"
            "sends its events to Kafka, or writes them as files. The "
            "expected\n"
            "totals, decided by the policy engine for every person, are "
            "written\n"
            "as JSON beside the data.\n"
            "\n"
            "options:\n"
            "  --jurisdiction J  huilong, tongnan, panzhihua, yubei, "
            "shantou,\n"
            "                    or province (all five) [huilong]\n"
            "  --persons N       number of persons (up to 10000000) [1000]\n"
            "  --seed S          seed of the generator [1]\n"
            "  --out DIR         write CSV files in the templates' format\n"
            "                    (identity-<DEPT>.csv, enrollment.csv,\n"
            "                    payment.csv) to DIR, readable by zizhu-feed\n"
            "  --jsonl FILE      write the events as JSON lines (- = "
            "stdout)\n"
            "  --null            generate only (measures the generator)\n"
            "  --expected FILE   expected totals [DIR/expected.json, else\n"
            "                    loadgen-expected.json]\n"
            "  --no-expected     skip the policy engine (no totals)\n"
            "  --policy-dir DIR  policy files [<source>/policies]\n"
            "  --progress        progress on stderr even when not a tty\n"
            "  --config FILE     zizhu configuration file\n"
            "  -X key=value      librdkafka property or zizhu setting\n"
            "  -q, -v            quieter, more verbose\n"
            "  -h, --help        this text\n"
            "\n"
            "examples:\n"
            "  zizhu-loadgen --jurisdiction huilong --persons 36674 --seed 7\n"
            "  zizhu-loadgen --jurisdiction province --persons 10000000 \\\n"
            "                -X linger.ms=50\n"
            "  zizhu-loadgen --jurisdiction shantou --persons 500 --out "
            "/tmp/st\n"
            "\n"
            "exit status: 0 done; 1 failure (Kafka, I/O, policy); 2 usage "
            "error\n",
            out);
}

struct run {
        zz_feed_sink_t *sink;
        uint64_t n;
        uint64_t persons;
        int progress;
        struct timespec start;
        char errstr[512];
};

static volatile sig_atomic_t zz_stop;

static void on_signal(int sig)
{
        if (zz_stop)
                _exit(128 + sig);
        zz_stop = 1;
}

static double elapsed(const struct timespec *start)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double)(now.tv_sec - start->tv_sec) +
               (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static int emit(const zz_feed_record_t *rec, void *opaque)
{
        struct run *run = opaque;

        if (zz_stop)
                return 1;
        if (zz_feed_sink_put(run->sink, rec, run->errstr,
                             sizeof(run->errstr)) != 0) {
                zz_log_error("could not send event %s: %s", rec->event_id,
                             run->errstr);
                return 1;
        }
        run->n++;
        if (run->progress && (run->n & 0xFFFF) == 0) {
                double s = elapsed(&run->start);

                fprintf(stderr, "\r%llu events, %.0f events/s",
                        (unsigned long long)run->n,
                        s > 0 ? (double)run->n / s : 0.0);
        }
        return 0;
}

int main(int argc, char **argv)
{
        zz_loadgen_options_t lo;
        const char *out_dir = NULL, *jsonl = NULL, *expected = NULL;
        const char *config_path = NULL;
        int null_sink = 0, verbosity = 0, progress = 0;
        const char *xs[64];
        int n_x = 0;
        zz_config_t *config = NULL;
        zz_loadgen_t *lg = NULL;
        struct run run;
        char errstr[512];
        char policy_dir[4096];
        char expected_path[4096];
        FILE *jfp = NULL;
        int rc = 1;
        int i;
        double secs;

        memset(&lo, 0, sizeof(lo));
        memset(&run, 0, sizeof(run));
        lo.seed = 1;
        lo.persons = 1000;
        lo.jurisdiction = "huilong";
        snprintf(policy_dir, sizeof(policy_dir), "%s/policies",
                 getenv("ZZ_SOURCE_DIR") ? getenv("ZZ_SOURCE_DIR")
                                         : ZZ_SOURCE_DIR);
        lo.policy_dir = policy_dir;
        zz_log_set_component("zizhu-loadgen");
        for (i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                char *end;

                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(a, "--null") == 0) {
                        null_sink = 1;
                } else if (strcmp(a, "--no-expected") == 0) {
                        lo.no_expected = 1;
                } else if (strcmp(a, "--progress") == 0) {
                        progress = 1;
                } else if (strcmp(a, "-q") == 0) {
                        verbosity--;
                } else if (strcmp(a, "-v") == 0) {
                        verbosity++;
                } else if (strncmp(a, "-X", 2) == 0 && a[2] != '\0') {
                        if (n_x < 64)
                                xs[n_x++] = a + 2;
                } else if (v == NULL) {
                        fprintf(stderr, "zizhu-loadgen: %s needs a value\n", a);
                        return 2;
                } else if (strcmp(a, "-X") == 0) {
                        if (n_x < 64)
                                xs[n_x++] = v;
                        i++;
                } else if (strcmp(a, "--jurisdiction") == 0) {
                        lo.jurisdiction = v;
                        i++;
                } else if (strcmp(a, "--persons") == 0 ||
                           strcmp(a, "--seed") == 0) {
                        unsigned long long x = strtoull(v, &end, 10);

                        if (*end != '\0' || v[0] == '-' ||
                            (strcmp(a, "--persons") == 0 && x == 0)) {
                                fprintf(stderr,
                                        "zizhu-loadgen: %s: a positive "
                                        "number expected\n",
                                        a);
                                return 2;
                        }
                        if (strcmp(a, "--persons") == 0)
                                lo.persons = x;
                        else
                                lo.seed = x;
                        i++;
                } else if (strcmp(a, "--out") == 0) {
                        out_dir = v;
                        i++;
                } else if (strcmp(a, "--jsonl") == 0) {
                        jsonl = v;
                        i++;
                } else if (strcmp(a, "--expected") == 0) {
                        expected = v;
                        i++;
                } else if (strcmp(a, "--policy-dir") == 0) {
                        lo.policy_dir = v;
                        i++;
                } else if (strcmp(a, "--config") == 0) {
                        config_path = v;
                        i++;
                } else {
                        fprintf(stderr, "zizhu-loadgen: unknown option %s\n",
                                a);
                        usage(stderr);
                        return 2;
                }
        }
        zz_log_set_level(verbosity < 0   ? ZZ_LOG_ERROR
                         : verbosity > 0 ? ZZ_LOG_DEBUG
                                         : ZZ_LOG_WARN);
        run.progress = (progress || isatty(2)) && verbosity >= 0;
        lg = zz_loadgen_new(&lo, errstr, sizeof(errstr));
        if (lg == NULL) {
                fprintf(stderr, "zizhu-loadgen: %s\n", errstr);
                return 2;
        }
        if (null_sink) {
                run.sink = zz_feed_sink_null(errstr, sizeof(errstr));
        } else if (out_dir != NULL) {
                run.sink = zz_feed_sink_csv(out_dir, errstr, sizeof(errstr));
        } else if (jsonl != NULL) {
                jfp = strcmp(jsonl, "-") == 0 ? stdout : fopen(jsonl, "w");
                if (jfp == NULL) {
                        fprintf(stderr, "zizhu-loadgen: could not create %s\n",
                                jsonl);
                        goto done;
                }
                run.sink = zz_feed_sink_jsonl(jfp, errstr, sizeof(errstr));
        } else {
                config = zz_config_load(config_path, errstr, sizeof(errstr));
                if (config == NULL) {
                        fprintf(stderr, "zizhu-loadgen: %s\n", errstr);
                        rc = 2;
                        goto done;
                }
                for (i = 0; i < n_x; i++) {
                        if (zz_config_set(config, xs[i], errstr,
                                          sizeof(errstr)) != 0) {
                                fprintf(stderr, "zizhu-loadgen: -X %s: %s\n",
                                        xs[i], errstr);
                                rc = 2;
                                goto done;
                        }
                }
                run.sink = zz_feed_sink_kafka(config, errstr, sizeof(errstr));
        }
        if (run.sink == NULL) {
                fprintf(stderr, "zizhu-loadgen: %s\n", errstr);
                goto done;
        }
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        clock_gettime(CLOCK_MONOTONIC, &run.start);
        if (zz_loadgen_run(lg, emit, &run, errstr, sizeof(errstr)) != 0) {
                if (run.progress)
                        fputc('\n', stderr);
                if (!zz_stop && run.errstr[0] == '\0')
                        fprintf(stderr, "zizhu-loadgen: %s\n", errstr);
                goto done;
        }
        if (zz_feed_sink_flush(run.sink, 300000, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "zizhu-loadgen: %s\n", errstr);
                goto done;
        }
        secs = elapsed(&run.start);
        if (run.progress)
                fputc('\n', stderr);
        if (expected == NULL) {
                if (out_dir != NULL)
                        snprintf(expected_path, sizeof(expected_path),
                                 "%s/expected.json", out_dir);
                else
                        snprintf(expected_path, sizeof(expected_path),
                                 "loadgen-expected.json");
                expected = expected_path;
        }
        {
                FILE *fp = fopen(expected, "w");

                if (fp == NULL || zz_loadgen_write_expected(lg, fp) != 0) {
                        fprintf(stderr, "zizhu-loadgen: could not write %s\n",
                                expected);
                        if (fp != NULL)
                                fclose(fp);
                        goto done;
                }
                fclose(fp);
        }
        if (verbosity >= 0)
                fprintf(
                    stderr,
                    "zizhu-loadgen: %s, %llu persons, seed %llu: %llu "
                    "events (identity %llu, enrollment %llu, payment "
                    "%llu) in %.2f s: %.0f events/s%s%s; expected totals "
                    "in %s\n",
                    lo.jurisdiction, (unsigned long long)lo.persons,
                    (unsigned long long)lo.seed, (unsigned long long)run.n,
                    (unsigned long long)zz_loadgen_events(lg, ZZ_FEED_IDENTITY),
                    (unsigned long long)zz_loadgen_events(lg,
                                                          ZZ_FEED_ENROLLMENT),
                    (unsigned long long)zz_loadgen_events(lg, ZZ_FEED_PAYMENT),
                    secs, secs > 0 ? (double)run.n / secs : 0.0,
                    null_sink ? "" : ", ",
                    null_sink ? ""
                    : out_dir ? "to files"
                    : jsonl   ? "to JSON lines"
                              : "to Kafka (lz4)",
                    expected);
        rc = 0;
done:
        zz_feed_sink_destroy(run.sink);
        if (jfp != NULL && jfp != stdout)
                fclose(jfp);
        zz_loadgen_destroy(lg);
        zz_config_destroy(config);
        return rc;
}
