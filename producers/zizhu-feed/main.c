/*
 * main.c — zizhu-feed: department files in, events out.
 *
 * One mode per source: identity lists (per department, as changes or as
 * full snapshots), enrollment exports, tax payment and refund exports, and
 * the period-close and policy-activation commands. The work is in
 * core/src/feed*.c; this file parses options and wires reader, snapshot
 * store and sink together.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "zizhu/config.h"
#include "zizhu/date.h"
#include "zizhu/feed.h"
#include "zizhu/log.h"
#include "zizhu/opts.h"
#include "zizhu/pg.h"
#include "zizhu/policy.h"

/* Exit statuses: opts.h's 0, 1 and 2, and two of this program's own. */
#define EXIT_OK      ZZ_EXIT_OK
#define EXIT_FAIL    ZZ_EXIT_FAIL
#define EXIT_USAGE   ZZ_EXIT_USAGE
#define EXIT_REJECTS 3
#define EXIT_REFUSED 4

static void usage(FILE *out)
{
        fputs(
            "usage: zizhu-feed <mode> [options] [FILE]\n"
            "\n"
            "Reads a department's CSV file (templates in deploy/templates/),\n"
            "validates every row and sends each valid one as an event to\n"
            "Kafka. Bad rows go to FILE.rejects.csv beside the input, with\n"
            "the line number and the reason. Event ids come from the\n"
            "department and the content of each record: feeding a file "
            "twice\n"
            "sends the same events again, which change nothing.\n"
            "\n"
            "modes:\n"
            "  identity FILE     a department's identity list (--dept); each\n"
            "                    record goes to its department's topic\n"
            "                    (identity.mca, ... identity.edu)\n"
            "  enrollment FILE   the insurance agency's enrollment export\n"
            "  payment FILE      tax's payment and refund export\n"
            "  close             close a settlement period (--jurisdiction,\n"
            "                    --period)\n"
            "  activate          activate a policy file (--policy)\n"
            "\n"
            "options:\n"
            "  --dept CODE         MCA, RRB, DPF, NHC, MVA, EDU (or 民政, "
            "残联...)\n"
            "  --snapshot          the identity file lists everyone the\n"
            "                      department recognizes now: compare with\n"
            "                      its previous list (kept in PostgreSQL) and\n"
            "                      send grants, changes, ends and deaths\n"
            "  --as-of DATE        date of the snapshot (default: today); a\n"
            "                      record missing from it ends the day before\n"
            "  --max-end-share F   refuse a snapshot that ends more than this\n"
            "                      share of the active identities (0.05)\n"
            "  --force             send such a snapshot anyway\n"
            "  --encoding E        auto (default), utf-8, gb18030 (gbk)\n"
            "  --max-field-bytes N reject a row with a field longer than N\n"
            "                      bytes (65536)\n"
            "  --max-row-bytes N   reject a row longer than N bytes\n"
            "                      (1048576)\n"
            "  --reported-at TS    report time for rows without 报送时间\n"
            "                      (default: now)\n"
            "  --dry-run           print events as JSON lines on stdout; send\n"
            "                      nothing, store no snapshot\n"
            "  --jurisdiction J    close/activate: e.g. huilong\n"
            "  --period P          close: e.g. 2020, 2021H1\n"
            "  --policy FILE       activate: the policy file\n"
            "  --issued-at TS      close/activate: time of the command\n"
            "                      (default: now)\n"
            "  --ref TEXT          close/activate: the issuer's reference "
            "(文号)\n"
            "  --issuer CODE       close/activate: issuing office (NHSA)\n"
            "  --positions LIST    close: the period's boundary, as\n"
            "                      topic:partition:offset,... (full topic\n"
            "                      names; per input partition, the offset of\n"
            "                      the first message NOT in the period; a\n"
            "                      partition not listed adds nothing).\n"
            "                      Default: the current end of every\n"
            "                      partition of the identity (every\n"
            "                      department's), enrollment and payment\n"
            "                      topics, read from Kafka (also\n"
            "                      with --dry-run) just before sending\n"
            "  --progress          progress bar on stderr even when not a tty\n"
            "  --config FILE       zizhu configuration file\n"
            "  -X key=value        librdkafka property, or a zizhu setting\n"
            "                      (bootstrap=, pg=, topic_prefix=)\n"
            "  -q, -v              quieter, more verbose\n"
            "  -h, --help          this text\n"
            "\n"
            "examples:\n"
            "  zizhu-feed identity --dept MCA mca-2019-09.csv\n"
            "  zizhu-feed identity --dept 残联 --snapshot --as-of 2019-10-01 "
            "dpf-list.csv\n"
            "  zizhu-feed enrollment --encoding gbk 参保登记.csv\n"
            "  zizhu-feed payment --dry-run tax-2019-10.csv | head\n"
            "  zizhu-feed activate --policy policies/huilong-2020.yaml\n"
            "  zizhu-feed close --jurisdiction huilong --period 2020\n"
            "  zizhu-feed close --jurisdiction huilong --period 2020 \\\n"
            "      --positions zz.identity.mca:0:1842,zz.identity.dpf:0:51,"
            "zz.enrollment:0:977,zz.payment:0:903\n"
            "\n"
            "exit status: 0 every row sent; 1 failure (Kafka, PostgreSQL, "
            "I/O);\n"
            "2 usage error or file refused (missing column, truncated "
            "file);\n"
            "3 sent, but some rows were rejected (see the reject file);\n"
            "4 snapshot refused: it would end too many identities\n",
            out);
}

struct opts {
        const char *mode;
        const char *file;
        const char *dept;
        int snapshot;
        const char *as_of;
        double max_end_share;
        int force;
        zz_feed_enc_t enc;
        const char *reported_at;
        uint64_t max_field_bytes;
        uint64_t max_row_bytes;
        int dry_run;
        const char *jurisdiction;
        const char *period;
        const char *policy;
        const char *issued_at;
        const char *ref;
        const char *issuer;
        const char *positions;
        int progress;
        int verbosity;
};

struct run {
        struct opts *o;
        zz_feed_sink_t *sink;
        zz_feed_snapshot_t *cur;
        zz_feed_snapshot_t *carried; /* record ids of rejected rows */
        /* --snapshot: the department's previous list, read under its lock
         * on conn, and what changed */
        PGconn *conn;
        zz_feed_snapshot_t *prev;
        zz_feed_diff_t diff;
        zz_date_t as_of;
        char errstr[512];
        int progress;
        struct timespec start;
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

static void progress_cb(uint64_t off, uint64_t size, void *opaque)
{
        struct run *run = opaque;
        double secs = elapsed(&run->start);
        double mb = (double)off / 1e6;

        if (!run->progress)
                return;
        if (size > 0) {
                int pct = (int)(off * 100 / size);
                int bars = pct / 4;
                char bar[26];
                int i;

                for (i = 0; i < 25; i++)
                        bar[i] = i < bars ? '#' : '.';
                bar[25] = '\0';
                fprintf(stderr, "\r[%s] %3d%% %.1f MB %.1f MB/s", bar, pct, mb,
                        secs > 0 ? mb / secs : 0.0);
        } else {
                fprintf(stderr, "\r%.1f MB %.1f MB/s", mb,
                        secs > 0 ? mb / secs : 0.0);
        }
}

static int on_record(const zz_feed_record_t *rec, void *opaque)
{
        struct run *run = opaque;

        if (zz_stop)
                return EXIT_FAIL;
        if (run->cur != NULL) {
                int rc = zz_feed_snapshot_add(run->cur, &rec->u.identity);

                if (rc < 0) {
                        snprintf(run->errstr, sizeof(run->errstr),
                                 "out of memory");
                        return EXIT_FAIL;
                }
                /* rc 1 (the 人员编号 already listed) does not happen:
                 * zz_feed_read_file rejects such a row in a snapshot,
                 * with a line in the reject file. */
                return 0;
        }
        if (zz_feed_sink_put(run->sink, rec, run->errstr,
                             sizeof(run->errstr)) != 0) {
                zz_log_error("line %zu: could not send event %s: %s", rec->line,
                             rec->event_id, run->errstr);
                return EXIT_FAIL;
        }
        return 0;
}

static void on_reject(size_t line, const char *record_id, void *opaque)
{
        struct run *run = opaque;
        zz_feed_identity_t r;

        (void)line;
        if (run->carried == NULL || record_id == NULL || record_id[0] == '\0')
                return;
        memset(&r, 0, sizeof(r));
        snprintf(r.dept_record_id, sizeof(r.dept_record_id), "%s", record_id);
        (void)zz_feed_snapshot_add(run->carried, &r);
}

static int parse_ts_opt(const char *s, zz_ts_t *out)
{
        if (s == NULL) {
                struct timespec now;

                clock_gettime(CLOCK_REALTIME, &now);
                *out = (zz_ts_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
                return 0;
        }
        return zz_feed_parse_ts(s, out);
}

static zz_feed_sink_t *open_sink(const struct opts *o, zz_config_t *config,
                                 char *errstr, size_t errstr_size)
{
        if (o->dry_run)
                return zz_feed_sink_jsonl(stdout, errstr, errstr_size);
        return zz_feed_sink_kafka(config, errstr, errstr_size);
}

static int finish_sink(zz_feed_sink_t *sink)
{
        char errstr[512];

        if (zz_feed_sink_flush(sink, 60000, errstr, sizeof(errstr)) != 0) {
                zz_log_error("could not deliver every event: %s", errstr);
                return -1;
        }
        return 0;
}

/* close: the boundary, from --positions or from the ends of the input
 * topics, into c (*positions owns it). 0, or an exit status after saying
 * why. */
static int control_close(const struct opts *o, zz_config_t *config,
                         zz_feed_control_t *c, zz_feed_position_t **positions)
{
        char errstr[512];

        if (o->jurisdiction == NULL || o->period == NULL) {
                fprintf(stderr, "zizhu-feed: close needs "
                                "--jurisdiction and --period\n");
                return EXIT_USAGE;
        }
        c->command = ZZ_FEED_CMD_CLOSE_PERIOD;
        snprintf(c->period, sizeof(c->period), "%s", o->period);
        /* The boundary travels with the command, so that settling
         * depends on the input log alone. Read before sending:
         * whatever arrives after the command is not in the period. */
        if (o->positions != NULL) {
                if (zz_feed_positions_parse(o->positions, positions,
                                            &c->n_positions, errstr,
                                            sizeof(errstr)) != 0) {
                        fprintf(stderr, "zizhu-feed: --positions: %s\n",
                                errstr);
                        return EXIT_USAGE;
                }
                if (c->n_positions == 0) {
                        fprintf(stderr, "zizhu-feed: --positions: "
                                        "no position given\n");
                        return EXIT_USAGE;
                }
        } else if (zz_feed_positions_query(config, 10000, positions,
                                           &c->n_positions, errstr,
                                           sizeof(errstr)) != 0) {
                zz_log_error("could not read the end of the input "
                             "topics: %s",
                             errstr);
                return EXIT_FAIL;
        }
        c->positions = *positions;
        return 0;
}

/* activate: the policy's name and version into c. 0, or an exit status
 * after saying why. */
static int control_activate(const struct opts *o, zz_feed_control_t *c)
{
        char errstr[512];
        zz_policy_t *policy;

        if (o->policy == NULL) {
                fprintf(stderr, "zizhu-feed: activate needs --policy\n");
                return EXIT_USAGE;
        }
        if (o->positions != NULL) {
                fprintf(stderr, "zizhu-feed: --positions is for "
                                "close only\n");
                return EXIT_USAGE;
        }
        policy = zz_policy_load_file(o->policy, errstr, sizeof(errstr));
        if (policy == NULL) {
                fprintf(stderr, "zizhu-feed: %s\n", errstr);
                return EXIT_USAGE;
        }
        c->command = ZZ_FEED_CMD_ACTIVATE_POLICY;
        snprintf(c->policy_name, sizeof(c->policy_name), "%s",
                 zz_policy_name(policy));
        snprintf(c->policy_version, sizeof(c->policy_version), "%s",
                 zz_policy_version(policy));
        if (o->jurisdiction == NULL) {
                /* "huilong-2020" -> "huilong" */
                char *dash;

                snprintf(c->jurisdiction, sizeof(c->jurisdiction), "%s",
                         zz_policy_name(policy));
                dash = strrchr(c->jurisdiction, '-');
                if (dash != NULL)
                        *dash = '\0';
        }
        zz_policy_destroy(policy);
        return 0;
}

/* The command's jurisdiction and record id (the issuer's reference, else
 * one made of what the command is about). */
static void control_ids(const struct opts *o, zz_feed_control_t *c)
{
        if (o->jurisdiction != NULL)
                snprintf(c->jurisdiction, sizeof(c->jurisdiction), "%s",
                         o->jurisdiction);
        if (o->ref != NULL)
                snprintf(c->dept_record_id, sizeof(c->dept_record_id), "%s",
                         o->ref);
        else if (c->command == ZZ_FEED_CMD_CLOSE_PERIOD)
                snprintf(c->dept_record_id, sizeof(c->dept_record_id),
                         "close:%.24s:%.24s", c->jurisdiction, c->period);
        else
                snprintf(c->dept_record_id, sizeof(c->dept_record_id),
                         "activate:%.32s:%.12s", c->policy_name,
                         c->policy_version);
}

/* Sends the one command record. An exit status. */
static int control_send(const struct opts *o, zz_config_t *config,
                        zz_feed_record_t *rec)
{
        const zz_feed_control_t *c = &rec->u.control;
        char errstr[512];
        zz_feed_sink_t *sink;
        int rc = EXIT_OK;

        sink = open_sink(o, config, errstr, sizeof(errstr));
        if (sink == NULL) {
                zz_log_error("%s", errstr);
                return EXIT_FAIL;
        }
        if (zz_feed_sink_put(sink, rec, errstr, sizeof(errstr)) != 0) {
                zz_log_error("could not send the command: %s", errstr);
                rc = EXIT_FAIL;
        } else if (finish_sink(sink) != 0) {
                rc = EXIT_FAIL;
        } else if (o->verbosity >= 0) {
                fprintf(stderr, "zizhu-feed: %s %s sent (event %s)\n",
                        zz_feed_command_name(c->command), c->jurisdiction,
                        rec->event_id);
        }
        zz_feed_sink_destroy(sink);
        return rc;
}

/* close / activate */
static int run_control(struct opts *o, zz_config_t *config)
{
        zz_feed_record_t rec;
        zz_feed_control_t *c = &rec.u.control;
        zz_feed_position_t *positions = NULL;
        int rc;

        memset(&rec, 0, sizeof(rec));
        rec.kind = ZZ_FEED_CONTROL;
        snprintf(c->department, sizeof(c->department), "%s",
                 o->issuer ? o->issuer : "NHSA");
        if (parse_ts_opt(o->issued_at, &c->issued_at) != 0) {
                fprintf(stderr, "zizhu-feed: --issued-at: not a date and "
                                "time\n");
                return EXIT_USAGE;
        }
        if (strcmp(o->mode, "close") == 0)
                rc = control_close(o, config, c, &positions);
        else
                rc = control_activate(o, c);
        if (rc == 0) {
                control_ids(o, c);
                zz_feed_event_id(&rec);
                rc = control_send(o, config, &rec);
        }
        free(positions);
        return rc;
}

static void report(struct opts *o, struct run *run, const zz_feed_stats_t *st,
                   uint64_t sent)
{
        double secs = elapsed(&run->start);

        if (run->progress)
                fputc('\n', stderr);
        if (st->rejected > 0)
                fprintf(stderr,
                        "zizhu-feed: %zu of %zu rows rejected, see %s\n",
                        st->rejected, st->rows, st->rejects_path);
        if (o->verbosity >= 0)
                fprintf(stderr,
                        "zizhu-feed: %s: %zu rows (%s), %llu events %s in "
                        "%.2f s: %.0f rows/s, %.1f MB/s\n",
                        o->file, st->rows, zz_feed_enc_name(st->encoding),
                        (unsigned long long)sent,
                        o->dry_run ? "printed" : "sent", secs,
                        secs > 0 ? (double)st->rows / secs : 0.0,
                        secs > 0 ? (double)st->bytes / 1e6 / secs : 0.0);
}

/* The reader's options, from ours. 0, or an exit status after saying
 * why. */
static int file_options(struct run *run, zz_feed_options_t *fo)
{
        const struct opts *o = run->o;

        memset(fo, 0, sizeof(*fo));
        fo->kind = strcmp(o->mode, "identity") == 0     ? ZZ_FEED_IDENTITY
                   : strcmp(o->mode, "enrollment") == 0 ? ZZ_FEED_ENROLLMENT
                                                        : ZZ_FEED_PAYMENT;
        fo->department = o->dept;
        fo->snapshot = o->snapshot;
        fo->on_reject = on_reject;
        fo->reject_opaque = run;
        fo->max_field_bytes = (size_t)o->max_field_bytes; /* 0: default */
        fo->max_row_bytes = (size_t)o->max_row_bytes;
        if (parse_ts_opt(o->reported_at, &fo->default_reported_at) != 0) {
                fprintf(stderr, "zizhu-feed: --reported-at: not a date and "
                                "time\n");
                return EXIT_USAGE;
        }
        if (fo->kind == ZZ_FEED_IDENTITY && o->dept == NULL && o->snapshot) {
                fprintf(stderr, "zizhu-feed: --snapshot needs --dept\n");
                return EXIT_USAGE;
        }
        return 0;
}

/* --snapshot, before reading: the two lists the rows go into, and the
 * previous list, read under the department's lock. 0, or an exit status
 * after saying why. */
static int snapshot_begin(struct run *run, const zz_feed_options_t *fo,
                          const zz_config_t *config)
{
        const struct opts *o = run->o;
        const char *dept = zz_feed_department_code(o->dept);

        if (dept == NULL) {
                fprintf(stderr, "zizhu-feed: unknown department \"%s\"\n",
                        o->dept);
                return EXIT_USAGE;
        }
        if (o->as_of == NULL) {
                run->as_of = zz_ts_cst_date(fo->default_reported_at);
        } else if (zz_feed_parse_date(o->as_of, &run->as_of) != 0) {
                fprintf(stderr, "zizhu-feed: --as-of: not a date\n");
                return EXIT_USAGE;
        }
        run->cur = zz_feed_snapshot_new(dept);
        run->carried = zz_feed_snapshot_new(dept);
        /* Lock and read the previous list before reading the new one, so a
         * concurrent run cannot slip in between. */
        run->conn = zz_pg_connect(zz_config_pg(config), "zizhu-feed",
                                  run->errstr, sizeof(run->errstr));
        if (run->conn != NULL &&
            zz_feed_snapshot_lock(run->conn, dept, run->errstr,
                                  sizeof(run->errstr)) == 0)
                run->prev = zz_feed_snapshot_load(run->conn, dept, run->errstr,
                                                  sizeof(run->errstr));
        if (run->prev == NULL) {
                zz_log_error("%s", run->errstr);
                return EXIT_FAIL;
        }
        return 0;
}

/* Reads the file: every valid row is sent, or (--snapshot) kept for the
 * comparison. 0, or an exit status after saying why. */
static int read_rows(struct run *run, const zz_feed_options_t *fo,
                     zz_config_t *config, zz_feed_stats_t *st)
{
        const struct opts *o = run->o;
        int rc;

        run->sink = open_sink(run->o, config, run->errstr, sizeof(run->errstr));
        if (run->sink == NULL) {
                zz_log_error("%s", run->errstr);
                return EXIT_FAIL;
        }
        rc = zz_feed_read_file(o->file, o->enc, fo, on_record, run, progress_cb,
                               run, st, run->errstr, sizeof(run->errstr));
        if (rc == 0)
                return 0;
        if (run->progress)
                fputc('\n', stderr);
        if (rc < 0)
                fprintf(stderr, "zizhu-feed: %s: %s\n", o->file, run->errstr);
        /* Whatever was produced is flushed: those events are valid, and
         * feeding the file again is harmless. */
        finish_sink(run->sink);
        return rc < 0 ? EXIT_USAGE : EXIT_FAIL;
}

/* A rejected row is not a removal: keep what the previous list said about
 * that record until the row is fixed. */
static void carry_rejected(struct run *run)
{
        size_t i, j;

        for (i = 0; i < zz_feed_snapshot_count(run->carried); i++) {
                const char *id =
                    zz_feed_snapshot_get(run->carried, i)->dept_record_id;

                for (j = 0; j < zz_feed_snapshot_count(run->prev); j++) {
                        const zz_feed_identity_t *p =
                            zz_feed_snapshot_get(run->prev, j);

                        if (strcmp(p->dept_record_id, id) == 0) {
                                (void)zz_feed_snapshot_add(run->cur, p);
                                break;
                        }
                }
        }
}

/* --snapshot, after reading: compares the lists and sends what changed,
 * unless too much would end. 0, or an exit status after saying why. */
static int snapshot_send(struct run *run, const zz_feed_options_t *fo)
{
        const struct opts *o = run->o;
        zz_feed_diff_t *diff = &run->diff;
        size_t i;

        carry_rejected(run);
        if (zz_feed_snapshot_diff(run->prev, run->cur, run->as_of,
                                  fo->default_reported_at, o->max_end_share,
                                  o->force, diff) != 0) {
                zz_log_error("out of memory");
                return EXIT_FAIL;
        }
        if (diff->refused) {
                if (run->progress)
                        fputc('\n', stderr);
                fprintf(stderr,
                        "zizhu-feed: %s: snapshot refused: it would "
                        "end %zu of the %zu active identities of %s "
                        "(more than %.1f %%); nothing was sent\n"
                        "hint: check that the file is complete; if "
                        "the ends are real, run again with --force\n",
                        o->file, diff->ends, diff->prev_active, o->dept,
                        o->max_end_share * 100.0);
                return EXIT_REFUSED;
        }
        for (i = 0; i < diff->n_events; i++) {
                if (zz_feed_sink_put(run->sink, &diff->events[i], run->errstr,
                                     sizeof(run->errstr)) != 0) {
                        zz_log_error("could not send event %s: %s",
                                     diff->events[i].event_id, run->errstr);
                        return EXIT_FAIL;
                }
        }
        return 0;
}

/* --snapshot without --dry-run, once its events are delivered: the new
 * list becomes the previous one. 0, or -1 after saying why. */
static int snapshot_store(struct run *run)
{
        const struct opts *o = run->o;
        char sha[65];

        if (zz_feed_file_sha256(o->file, sha, run->errstr,
                                sizeof(run->errstr)) != 0)
                sha[0] = '\0';
        if (zz_feed_snapshot_store(run->conn, run->cur, run->as_of, sha,
                                   &run->diff, o->force, run->errstr,
                                   sizeof(run->errstr)) != 0) {
                zz_log_error("events were sent but the snapshot was "
                             "not stored: %s",
                             run->errstr);
                return -1;
        }
        return 0;
}

/* Delivers, stores the snapshot, reports. An exit status. */
static int finish_file(struct run *run, const zz_feed_stats_t *st)
{
        const struct opts *o = run->o;
        const zz_feed_diff_t *diff = &run->diff;

        if (finish_sink(run->sink) != 0)
                return EXIT_FAIL;
        if (o->snapshot && !o->dry_run && snapshot_store(run) != 0)
                return EXIT_FAIL;
        report(run->o, run, st, zz_feed_sink_sent(run->sink));
        if (o->snapshot && o->verbosity >= 0)
                fprintf(stderr,
                        "zizhu-feed: snapshot of %s as of %s: %zu grants, "
                        "%zu changes, %zu ends, %zu deaths, %zu unchanged\n",
                        zz_feed_department_code(o->dept),
                        o->as_of ? o->as_of : "today", diff->grants,
                        diff->changes, diff->ends, diff->deaths,
                        diff->unchanged);
        if (st->rejected > 0)
                return EXIT_REJECTS;
        return EXIT_OK;
}

/* identity / enrollment / payment */
static int run_file(struct opts *o, zz_config_t *config)
{
        zz_feed_options_t fo;
        zz_feed_stats_t st;
        struct run run;
        int rc;

        memset(&run, 0, sizeof(run));
        run.o = o;
        run.progress = o->progress || isatty(2);
        if (o->verbosity < 0)
                run.progress = 0;
        clock_gettime(CLOCK_MONOTONIC, &run.start);
        rc = file_options(&run, &fo);
        if (rc != 0)
                return rc;
        if (o->snapshot)
                rc = snapshot_begin(&run, &fo, config);
        if (rc == 0)
                rc = read_rows(&run, &fo, config, &st);
        if (rc == 0 && o->snapshot)
                rc = snapshot_send(&run, &fo);
        if (rc == 0)
                rc = finish_file(&run, &st);
        zz_feed_diff_free(&run.diff);
        zz_feed_snapshot_destroy(run.prev);
        zz_feed_snapshot_destroy(run.cur);
        zz_feed_snapshot_destroy(run.carried);
        zz_feed_sink_destroy(run.sink);
        if (run.conn != NULL)
                zz_pg_finish(run.conn);
        return rc;
}

static int parse_encoding(const char *option, const char *value, void *target,
                          char *errstr, size_t errstr_size)
{
        (void)option;
        if (zz_feed_enc_parse(value, target) != 0) {
                snprintf(errstr, errstr_size, "unknown encoding \"%s\"", value);
                return -1;
        }
        return 0;
}

static int known_mode(const char *mode)
{
        static const char *const modes[] = {"identity", "enrollment", "payment",
                                            "close", "activate"};
        size_t i;

        for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
                if (strcmp(mode, modes[i]) == 0)
                        return 1;
        return 0;
}

/* "<mode> [options] [FILE]". 0, or -1: return zo->exit_status. */
static int parse_args(zz_opts_t *zo, struct opts *o, int argc, char **argv)
{
        const zz_opt_t table[] = {
            ZZ_OPT_STRING("dept", &o->dept),
            ZZ_OPT_FLAG("snapshot", &o->snapshot, 1),
            ZZ_OPT_STRING("as-of", &o->as_of),
            ZZ_OPT_DOUBLE("max-end-share", &o->max_end_share, 0, 1),
            ZZ_OPT_FLAG("force", &o->force, 1),
            ZZ_OPT_CALL("encoding", parse_encoding, &o->enc, 1),
            ZZ_OPT_U64("max-field-bytes", &o->max_field_bytes, 1, SIZE_MAX),
            ZZ_OPT_U64("max-row-bytes", &o->max_row_bytes, 1, SIZE_MAX),
            ZZ_OPT_STRING("reported-at", &o->reported_at),
            ZZ_OPT_FLAG("dry-run", &o->dry_run, 1),
            ZZ_OPT_STRING("jurisdiction", &o->jurisdiction),
            ZZ_OPT_STRING("period", &o->period),
            ZZ_OPT_STRING("policy", &o->policy),
            ZZ_OPT_STRING("issued-at", &o->issued_at),
            ZZ_OPT_STRING("ref", &o->ref),
            ZZ_OPT_STRING("issuer", &o->issuer),
            ZZ_OPT_STRING("positions", &o->positions),
            ZZ_OPT_FLAG("progress", &o->progress, 1),
            ZZ_OPT_END};

        memset(o, 0, sizeof(*o));
        o->max_end_share = 0.05;
        zz_opts_init(zo, "zizhu-feed", usage,
                     ZZ_OPTS_CONFIG | ZZ_OPTS_VERBOSITY);
        zo->max_args = -1;
        if (argc < 2) {
                usage(stderr);
                return -1;
        }
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
                usage(stdout);
                zo->exit_status = EXIT_OK;
                return -1;
        }
        o->mode = argv[1];
        if (!known_mode(o->mode)) {
                fprintf(stderr, "zizhu-feed: unknown mode \"%s\"\n", o->mode);
                usage(stderr);
                return -1;
        }
        if (zz_opts_parse(zo, table, argc - 1, argv + 1) != 0)
                return -1;
        if (zo->n_args > 1) {
                fprintf(stderr, "zizhu-feed: one file at a time\n");
                return -1;
        }
        o->file = zo->n_args == 1 ? zo->args[0] : NULL;
        o->verbosity = zo->verbosity;
        return 0;
}

int main(int argc, char **argv)
{
        struct opts o;
        zz_opts_t zo;
        zz_config_t *config;
        int rc;

        zz_log_set_component("zizhu-feed");
        if (parse_args(&zo, &o, argc, argv) != 0)
                return zo.exit_status;
        zz_opts_set_log_level(&zo, ZZ_LOG_WARN);
        config = zz_opts_config(&zo);
        if (config == NULL)
                return EXIT_USAGE;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        if (strcmp(o.mode, "close") == 0 || strcmp(o.mode, "activate") == 0) {
                rc = run_control(&o, config);
        } else if (o.file == NULL) {
                fprintf(stderr, "zizhu-feed: %s needs a FILE (- for stdin)\n",
                        o.mode);
                rc = EXIT_USAGE;
        } else if (strcmp(o.mode, "identity") == 0 && o.dept == NULL &&
                   o.snapshot) {
                fprintf(stderr, "zizhu-feed: --snapshot needs --dept\n");
                rc = EXIT_USAGE;
        } else {
                rc = run_file(&o, config);
        }
        zz_config_destroy(config);
        return rc;
}
