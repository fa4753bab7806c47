/*
 * cmd_report.c — `zizhu report settlement|backlog|progress`: the finance
 * and progress reports, from the read-only dashboard views.
 */
#include <stdio.h>
#include <string.h>

#include "zizhu/config.h"
#include "zizhu/log.h"
#include "zizhu/pg.h"
#include "zizhu/report.h"
#include "zz_cli.h"

static void usage(FILE *out)
{
        fprintf(out,
                "usage: zizhu report settlement|payers|backlog|progress "
                "[--period "
                "P] [--format table|csv|html]\n"
                "                    [--out FILE] [--config FILE] [-X "
                "pg=CONNINFO]\n\n"
                "Reads the dashboard views (schema zizhu_dash): it runs as "
                "the read-only role\n"
                "zizhu_dashboard as well as as zizhu, and never prints an ID "
                "number.\n\n"
                "  settlement  allocations per period, payer, fund, region "
                "and kind\n"
                "  payers      what each paying department transfers, per "
                "period and kind\n"
                "  backlog     refunds due, recoveries, coverage gaps... per "
                "status\n"
                "  progress    enrollment per village against the policy's "
                "targets (Huilong)\n\n"
                "--period filters the settlement report by period label "
                "(2020, 2021H1) or\n"
                "<policy>/<label> (payers too), and the others by policy "
                "name.\n"
                "--format html writes a self-contained page with inline SVG "
                "charts.\n\n"
                "examples:\n"
                "  zizhu report settlement\n"
                "  zizhu report settlement --period huilong-2020/2020 "
                "--format html --out hl.html\n"
                "  zizhu report progress --format csv --out progress.csv\n"
                "  ZIZHU_PG='host=127.0.0.1 port=15432 dbname=zizhu "
                "user=zizhu_dashboard' zizhu report backlog\n\n"
                "exit status: 0 success, 1 failure, 2 usage\n");
}

int zz_cmd_report(int argc, char **argv)
{
        const char *config_path = NULL, *period = NULL, *outpath = NULL;
        const char *xs[16];
        int n_xs = 0, kind = -1, format = ZZ_REPORT_TABLE, i, rc;
        char errstr[1024] = "";
        zz_config_t *config;
        PGconn *conn;
        FILE *out = stdout;

        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 ||
                    strcmp(argv[i], "-h") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
                        config_path = argv[++i];
                } else if (strcmp(argv[i], "-X") == 0 && i + 1 < argc &&
                           n_xs < 16) {
                        xs[n_xs++] = argv[++i];
                } else if (strcmp(argv[i], "--period") == 0 && i + 1 < argc) {
                        period = argv[++i];
                } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
                        outpath = argv[++i];
                } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
                        format = zz_report_format_from_name(argv[++i]);
                        if (format < 0) {
                                usage(stderr);
                                return 2;
                        }
                } else if (kind < 0 && zz_report_kind_from_name(argv[i]) >= 0) {
                        kind = zz_report_kind_from_name(argv[i]);
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (kind < 0) {
                usage(stderr);
                return 2;
        }
        zz_log_set_component("report");
        config = zz_config_load(config_path, errstr, sizeof(errstr));
        if (config == NULL) {
                fprintf(stderr, "zizhu report: %s\n", errstr);
                return 2;
        }
        for (i = 0; i < n_xs; i++)
                if (zz_config_set(config, xs[i], errstr, sizeof(errstr)) != 0) {
                        fprintf(stderr, "zizhu report: %s\n", errstr);
                        zz_config_destroy(config);
                        return 2;
                }
        conn = zz_pg_connect(zz_config_pg(config), "zizhu-report", errstr,
                             sizeof(errstr));
        zz_config_destroy(config);
        if (conn == NULL) {
                fprintf(stderr, "zizhu report: %s\n", errstr);
                return 1;
        }
        if (outpath != NULL) {
                out = fopen(outpath, "w");
                if (out == NULL) {
                        fprintf(stderr, "zizhu report: could not write %s\n",
                                outpath);
                        zz_pg_finish(conn);
                        return 1;
                }
        }
        rc = zz_report_write(conn, (zz_report_kind_t)kind, period,
                             (zz_report_format_t)format, out, errstr,
                             sizeof(errstr));
        if (rc != 0)
                fprintf(stderr, "zizhu report: %s\n", errstr);
        if (out != stdout && fclose(out) != 0) {
                fprintf(stderr, "zizhu report: could not write %s\n", outpath);
                rc = -1;
        }
        zz_pg_finish(conn);
        return rc == 0 ? 0 : 1;
}
