/*
 * report.h — settlement, reconciliation backlog and enrollment progress
 * reports, read from the dashboard views (schema zizhu_dash), so that they
 * run under the read-only role zizhu_dashboard and never see an ID number.
 *
 * Formats: an aligned table for the terminal, CSV (RFC 4180, UTF-8), and a
 * self-contained HTML page (inline CSS and SVG bar charts, no external
 * asset, no script) with charts per payer and per region (settlement), per
 * status (backlog) and per village against its target (progress).
 */
#ifndef ZIZHU_REPORT_H
#define ZIZHU_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

typedef enum zz_report_kind_e {
        ZZ_REPORT_SETTLEMENT = 0,
        ZZ_REPORT_BACKLOG,
        ZZ_REPORT_PROGRESS,
        ZZ_REPORT_PAYERS /* per period, payer and kind: what to transfer */
} zz_report_kind_t;

typedef enum zz_report_format_e {
        ZZ_REPORT_TABLE = 0,
        ZZ_REPORT_CSV,
        ZZ_REPORT_HTML
} zz_report_format_t;

/* "settlement" -> ZZ_REPORT_SETTLEMENT...; -1 when unknown. */
int zz_report_kind_from_name(const char *name);
int zz_report_format_from_name(const char *name);

/* Writes the report to out. period (may be NULL: all) restricts the
 * settlement report to one period label ("2020", "2021H1") or
 * "<policy>/<label>", and the others to a policy name. 0, or -1 with
 * errstr on a database error. */
int zz_report_write(PGconn *conn, zz_report_kind_t kind, const char *period,
                    zz_report_format_t format, FILE *out, char *errstr,
                    size_t errstr_size);

#endif
