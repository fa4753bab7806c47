/*
 * zizhu-mock-broker — librdkafka's mock cluster on loopback, for machines
 * where Java or Maven cannot be had.
 *
 * It is a FALLBACK ONLY. In librdkafka 2.0.2 the mock cluster does not
 * filter aborted transactions for read_committed readers, stores no
 * transactional offsets and answers no offset-for-time lookups, so
 * exactly-once and time-based replay are NOT guaranteed on it. CI and the
 * integration tests use the real Apache Kafka broker.
 *
 * It creates the project's topics from deploy/local/topics.txt (name,
 * partitions, config), prints the bootstrap list on stdout, writes it to
 * --bootstrap-file, and serves until SIGINT or SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "zizhu/opts.h"

static volatile sig_atomic_t zz_stop;

static void on_signal(int sig)
{
        (void)sig;
        zz_stop = 1;
}

static void usage(FILE *out)
{
        fprintf(out,
                "usage: zizhu-mock-broker [--topics FILE] [--prefix P] "
                "[--bootstrap-file FILE]\n\n"
                "Serves librdkafka's mock cluster (3 brokers) on loopback "
                "until stopped.\nWARNING: no exactly-once, no time-based "
                "replay: a fallback for machines\nwithout Java. The bootstrap "
                "list goes to stdout and --bootstrap-file.\n\n"
                "example: zizhu-mock-broker --topics deploy/local/topics.txt "
                "--bootstrap-file .zz/mock.bootstrap &\n"
                "exit status: 0 stopped by a signal, 1 could not start, 2 "
                "usage\n");
}

/* Reads "name partitions [config]" lines; '#' comments. */
static int create_topics(rd_kafka_mock_cluster_t *mcluster, const char *path,
                         const char *prefix)
{
        FILE *fp = fopen(path, "r");
        char line[512];
        int created = 0;

        if (fp == NULL) {
                fprintf(stderr, "zizhu-mock-broker: could not open %s\n", path);
                return -1;
        }
        while (fgets(line, sizeof(line), fp) != NULL) {
                char name[256];
                char full[300];
                int partitions;

                if (line[0] == '#' ||
                    sscanf(line, "%255s %d", name, &partitions) != 2)
                        continue;
                snprintf(full, sizeof(full), "%s%s", prefix, name);
                if (rd_kafka_mock_topic_create(mcluster, full, partitions, 1) !=
                    RD_KAFKA_RESP_ERR_NO_ERROR)
                        fprintf(stderr,
                                "zizhu-mock-broker: could not create %s\n",
                                full);
                else
                        created++;
        }
        fclose(fp);
        return created;
}

/* Prints the bootstrap list, and writes it to path when not NULL. */
static void announce(const char *bootstraps, const char *path)
{
        FILE *fp;

        printf("%s\n", bootstraps);
        fflush(stdout);
        if (path == NULL)
                return;
        fp = fopen(path, "w");
        if (fp != NULL) {
                fprintf(fp, "%s\n", bootstraps);
                fclose(fp);
        }
}

int main(int argc, char **argv)
{
        const char *topics = NULL;
        const char *prefix = "zz.";
        const char *bootstrap_file = NULL;
        const zz_opt_t table[] = {
            ZZ_OPT_STRING("topics", &topics), ZZ_OPT_STRING("prefix", &prefix),
            ZZ_OPT_STRING("bootstrap-file", &bootstrap_file), ZZ_OPT_END};
        zz_opts_t zo;
        char errstr[512];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mcluster;

        zz_opts_init(&zo, "zizhu-mock-broker", usage, 0);
        if (zz_opts_parse(&zo, table, argc, argv) != 0)
                return zo.exit_status;
        fprintf(stderr,
                "WARNING: zizhu-mock-broker is librdkafka's mock cluster: "
                "exactly-once and\nWARNING: time-based replay are NOT "
                "guaranteed. Use the real broker ('zizhu stack up')\n"
                "WARNING: wherever Java is available.\n");
        conf = rd_kafka_conf_new();
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (rk == NULL) {
                fprintf(stderr, "zizhu-mock-broker: %s\n", errstr);
                return ZZ_EXIT_FAIL;
        }
        mcluster = rd_kafka_mock_cluster_new(rk, 3);
        if (mcluster == NULL) {
                fprintf(stderr, "zizhu-mock-broker: could not start the "
                                "mock cluster\n");
                rd_kafka_destroy(rk);
                return ZZ_EXIT_FAIL;
        }
        if (topics != NULL && create_topics(mcluster, topics, prefix) < 0) {
                rd_kafka_mock_cluster_destroy(mcluster);
                rd_kafka_destroy(rk);
                return ZZ_EXIT_FAIL;
        }
        announce(rd_kafka_mock_cluster_bootstraps(mcluster), bootstrap_file);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        while (!zz_stop)
                pause();
        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return ZZ_EXIT_OK;
}
