/*
 * main.c — zizhu-loadgen: a seeded synthetic population, sent to Kafka at
 * full producer speed or written as files, with the expected totals
 * beside it. The generator is core/src/sim/loadgen.c.
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
#include "zizhu/opts.h"

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

/* The options of this program; the common ones are in zz_opts_t. */
struct args {
        zz_loadgen_options_t lo;
        const char *out_dir;
        const char *jsonl;
        const char *expected;
        int null_sink;
        int progress;
};

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

/* 0, or -1: return zo->exit_status. */
static int parse_args(zz_opts_t *zo, struct args *a, int argc, char **argv)
{
        const zz_opt_t table[] = {
            ZZ_OPT_STRING("jurisdiction", &a->lo.jurisdiction),
            ZZ_OPT_U64("persons", &a->lo.persons, 1, 100000000),
            ZZ_OPT_U64("seed", &a->lo.seed, 0, UINT64_MAX),
            ZZ_OPT_STRING("out", &a->out_dir),
            ZZ_OPT_STRING("jsonl", &a->jsonl),
            ZZ_OPT_FLAG("null", &a->null_sink, 1),
            ZZ_OPT_STRING("expected", &a->expected),
            ZZ_OPT_FLAG("no-expected", &a->lo.no_expected, 1),
            ZZ_OPT_FLAG("progress", &a->progress, 1),
            ZZ_OPT_END};

        memset(a, 0, sizeof(*a));
        a->lo.seed = 1;
        a->lo.persons = 1000;
        a->lo.jurisdiction = "huilong";
        zz_opts_init(zo, "zizhu-loadgen", usage,
                     ZZ_OPTS_CONFIG | ZZ_OPTS_VERBOSITY | ZZ_OPTS_POLICIES);
        zo->policies_option = "policy-dir";
        if (zz_opts_parse(zo, table, argc, argv) != 0)
                return -1;
        a->lo.policy_dir = zo->policies;
        return 0;
}

/* The sink the options ask for, into run->sink; the configuration
 * (Kafka) or the JSON lines file it needs into *config or *jfp. 0, or an
 * exit status after saying why. */
static int open_sink(const zz_opts_t *zo, const struct args *a, struct run *run,
                     zz_config_t **config, FILE **jfp)
{
        char errstr[512];

        if (a->null_sink) {
                run->sink = zz_feed_sink_null(errstr, sizeof(errstr));
        } else if (a->out_dir != NULL) {
                run->sink =
                    zz_feed_sink_csv(a->out_dir, errstr, sizeof(errstr));
        } else if (a->jsonl != NULL) {
                *jfp =
                    strcmp(a->jsonl, "-") == 0 ? stdout : fopen(a->jsonl, "w");
                if (*jfp == NULL) {
                        fprintf(stderr, "zizhu-loadgen: could not create %s\n",
                                a->jsonl);
                        return ZZ_EXIT_FAIL;
                }
                run->sink = zz_feed_sink_jsonl(*jfp, errstr, sizeof(errstr));
        } else {
                *config = zz_opts_config(zo);
                if (*config == NULL)
                        return ZZ_EXIT_USAGE;
                run->sink = zz_feed_sink_kafka(*config, errstr, sizeof(errstr));
        }
        if (run->sink == NULL) {
                fprintf(stderr, "zizhu-loadgen: %s\n", errstr);
                return ZZ_EXIT_FAIL;
        }
        return 0;
}

/* Generates into the sink and flushes it. 0, or -1 after saying why. */
static int generate(zz_loadgen_t *lg, struct run *run)
{
        char errstr[512];

        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        clock_gettime(CLOCK_MONOTONIC, &run->start);
        if (zz_loadgen_run(lg, emit, run, errstr, sizeof(errstr)) != 0) {
                if (run->progress)
                        fputc('\n', stderr);
                if (!zz_stop && run->errstr[0] == '\0')
                        fprintf(stderr, "zizhu-loadgen: %s\n", errstr);
                return -1;
        }
        if (zz_feed_sink_flush(run->sink, 300000, errstr, sizeof(errstr)) !=
            0) {
                fprintf(stderr, "zizhu-loadgen: %s\n", errstr);
                return -1;
        }
        return 0;
}

/* The expected totals into --expected, DIR/expected.json or
 * loadgen-expected.json; the path used into path. 0, or -1 after saying
 * why. */
static int write_expected(const struct args *a, const zz_loadgen_t *lg,
                          char *path, size_t path_size)
{
        FILE *fp;

        if (a->expected != NULL)
                snprintf(path, path_size, "%s", a->expected);
        else if (a->out_dir != NULL)
                snprintf(path, path_size, "%s/expected.json", a->out_dir);
        else
                snprintf(path, path_size, "loadgen-expected.json");
        fp = fopen(path, "w");
        if (fp == NULL || zz_loadgen_write_expected(lg, fp) != 0) {
                fprintf(stderr, "zizhu-loadgen: could not write %s\n", path);
                if (fp != NULL)
                        fclose(fp);
                return -1;
        }
        fclose(fp);
        return 0;
}

static void summary(const struct args *a, const zz_loadgen_t *lg,
                    const struct run *run, double secs, const char *expected)
{
        const char *where = a->null_sink         ? ""
                            : a->out_dir != NULL ? "to files"
                            : a->jsonl != NULL   ? "to JSON lines"
                                                 : "to Kafka (lz4)";

        fprintf(stderr,
                "zizhu-loadgen: %s, %llu persons, seed %llu: %llu "
                "events (identity %llu, enrollment %llu, payment "
                "%llu) in %.2f s: %.0f events/s%s%s; expected totals "
                "in %s\n",
                a->lo.jurisdiction, (unsigned long long)a->lo.persons,
                (unsigned long long)a->lo.seed, (unsigned long long)run->n,
                (unsigned long long)zz_loadgen_events(lg, ZZ_FEED_IDENTITY),
                (unsigned long long)zz_loadgen_events(lg, ZZ_FEED_ENROLLMENT),
                (unsigned long long)zz_loadgen_events(lg, ZZ_FEED_PAYMENT),
                secs, secs > 0 ? (double)run->n / secs : 0.0,
                a->null_sink ? "" : ", ", where, expected);
}

int main(int argc, char **argv)
{
        zz_opts_t zo;
        struct args a;
        zz_config_t *config = NULL;
        zz_loadgen_t *lg = NULL;
        struct run run;
        char errstr[512], expected[4096];
        FILE *jfp = NULL;
        int rc = ZZ_EXIT_FAIL;
        double secs;

        memset(&run, 0, sizeof(run));
        zz_log_set_component("zizhu-loadgen");
        if (parse_args(&zo, &a, argc, argv) != 0)
                return zo.exit_status;
        zz_opts_set_log_level(&zo, ZZ_LOG_WARN);
        run.progress = (a.progress || isatty(2)) && zo.verbosity >= 0;
        lg = zz_loadgen_new(&a.lo, errstr, sizeof(errstr));
        if (lg == NULL) {
                fprintf(stderr, "zizhu-loadgen: %s\n", errstr);
                return ZZ_EXIT_USAGE;
        }
        rc = open_sink(&zo, &a, &run, &config, &jfp);
        if (rc != 0)
                goto done;
        rc = ZZ_EXIT_FAIL;
        if (generate(lg, &run) != 0)
                goto done;
        secs = elapsed(&run.start);
        if (run.progress)
                fputc('\n', stderr);
        if (write_expected(&a, lg, expected, sizeof(expected)) != 0)
                goto done;
        if (zo.verbosity >= 0)
                summary(&a, lg, &run, secs, expected);
        rc = ZZ_EXIT_OK;
done:
        zz_feed_sink_destroy(run.sink);
        if (jfp != NULL && jfp != stdout)
                fclose(jfp);
        zz_loadgen_destroy(lg);
        zz_config_destroy(config);
        return rc;
}
