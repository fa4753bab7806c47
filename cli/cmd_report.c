/*
 * cmd_report.c — `zizhu report settlement|backlog|progress`: the finance
 * and progress reports, from the read-only dashboard views.
 */
#include <stdio.h>
#include <string.h>

#include "zizhu/config.h"
#include "zizhu/log.h"
#include "zizhu/opts.h"
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

struct args {
        const char *period;
        const char *outpath;
        int kind;   /* zz_report_kind_t */
        int format; /* zz_report_format_t */
};

static int parse_format(const char *option, const char *value, void *target,
                        char *errstr, size_t errstr_size)
{
        int *format = target;

        *format = zz_report_format_from_name(value);
        if (*format < 0) {
                snprintf(errstr, errstr_size,
                         "%s: unknown format \"%s\" (table, csv or html)",
                         option, value);
                return -1;
        }
        return 0;
}

/* 0, or -1: return zo->exit_status. */
static int parse_args(zz_opts_t *zo, struct args *a, int argc, char **argv)
{
        const zz_opt_t table[] = {
            ZZ_OPT_STRING("period", &a->period),
            ZZ_OPT_STRING("out", &a->outpath),
            ZZ_OPT_CALL("format", parse_format, &a->format, 1), ZZ_OPT_END};

        memset(a, 0, sizeof(*a));
        a->format = ZZ_REPORT_TABLE;
        zz_opts_init(zo, "zizhu report", usage, ZZ_OPTS_CONFIG);
        zo->max_args = -1;
        if (zz_opts_parse(zo, table, argc, argv) != 0)
                return -1;
        a->kind = zo->n_args == 1 ? zz_report_kind_from_name(zo->args[0]) : -1;
        if (a->kind < 0) {
                usage(stderr);
                return -1;
        }
        return 0;
}

int zz_cmd_report(int argc, char **argv)
{
        char errstr[1024] = "";
        zz_config_t *config;
        zz_opts_t zo;
        struct args a;
        PGconn *conn;
        FILE *out = stdout;
        int rc;

        if (parse_args(&zo, &a, argc, argv) != 0)
                return zo.exit_status;
        zz_log_set_component("report");
        config = zz_opts_config(&zo);
        if (config == NULL)
                return ZZ_EXIT_USAGE;
        conn = zz_pg_connect(zz_config_pg(config), "zizhu-report", errstr,
                             sizeof(errstr));
        zz_config_destroy(config);
        if (conn == NULL) {
                fprintf(stderr, "zizhu report: %s\n", errstr);
                return ZZ_EXIT_FAIL;
        }
        if (a.outpath != NULL) {
                out = fopen(a.outpath, "w");
                if (out == NULL) {
                        fprintf(stderr, "zizhu report: could not write %s\n",
                                a.outpath);
                        zz_pg_finish(conn);
                        return ZZ_EXIT_FAIL;
                }
        }
        rc = zz_report_write(conn, (zz_report_kind_t)a.kind, a.period,
                             (zz_report_format_t)a.format, out, errstr,
                             sizeof(errstr));
        if (rc != 0)
                fprintf(stderr, "zizhu report: %s\n", errstr);
        if (out != stdout && fclose(out) != 0) {
                fprintf(stderr, "zizhu report: could not write %s\n",
                        a.outpath);
                rc = -1;
        }
        zz_pg_finish(conn);
        return rc == 0 ? ZZ_EXIT_OK : ZZ_EXIT_FAIL;
}
