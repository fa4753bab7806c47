/*
 * csvcell.h — one cell of a CSV file meant for people: the reject files
 * (feed), `zizhu report --format csv` (ops) and the template-format files
 * of the CSV sink (feed, loadgen). In the base layer so that every writer
 * can link it (ops does not link feed).
 *
 * Spreadsheet formula injection (OWASP "CSV Injection"): Excel, WPS and
 * LibreOffice run a cell that starts with '=', '+', '-' or '@' as a
 * formula, and a tab or a carriage return in front does not stop them.
 * A department's file is outside input, so a record id, a reason quoting
 * it, even a masked ID column can come out as `=cmd**********'!A0` in a
 * file a clerk opens. Such a cell is written with a leading apostrophe
 * (shown as text, not run) and quoted.
 *
 * Numbers are left alone, whatever the column: a cell that is a plain
 * decimal number ("-10500", "+3", "-105.50", "-1e-05") stays as it is,
 * so a negative amount in a report is still a number the spreadsheet
 * sums. Deciding per value rather than per column keeps one rule for
 * every writer (the report's columns come from SQL and are not typed
 * here), and a plain number cannot be a formula: it has no operator
 * after its sign, no reference and no function call.
 *
 * zz_csvcell_unguard undoes exactly what the writer did, so that files
 * of the CSV sink read back into zizhu-feed give the same records (and
 * the same event ids).
 *
 * Thread: any thread.
 */
#ifndef ZIZHU_CSVCELL_H
#define ZIZHU_CSVCELL_H

#include <stddef.h>
#include <stdio.h>

/* 1 when s[0..len) would be read as a formula by a spreadsheet: it starts
 * with '=', '+', '-', '@', a tab or a carriage return and is not a plain
 * decimal number. */
int zz_csvcell_is_formula(const char *s, size_t len);

enum {
        ZZ_CSVCELL_QUOTE_ALWAYS = 1 /* else only when it holds , " CR LF */
};

/* Writes the NUL-terminated s as one cell (no separator) to fp: a
 * formula gets a leading apostrophe and quotes; quotes inside are
 * doubled. */
void zz_csvcell_write(FILE *fp, const char *s, int flags);

/* For readers: when *s (of *len bytes) is an apostrophe followed by what
 * zz_csvcell_is_formula calls a formula, drops the apostrophe (advances
 * *s, shortens *len). */
void zz_csvcell_unguard(const char **s, size_t *len);

#endif
