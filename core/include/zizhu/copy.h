/*
 * copy.h — rows into PostgreSQL with COPY ... FROM STDIN in the text
 * format: fields escaped (backslash, tab, newline, carriage return), NULL
 * as \N, sent to the server in pieces of about 1 MiB while they are
 * written, so memory stays bounded whatever the number of rows.
 *
 *   zz_copy_t c;
 *   if (zz_copy_begin(&c, conn, "COPY t (a, b) FROM STDIN", err, n) != 0)
 *           ...;
 *   zz_copy_field(&c, "x", '\t');
 *   zz_copy_num(&c, 42, '\n');            // a row ends with '\n'
 *   if (zz_copy_end(&c, err, n) != 0)     // always call it: frees the buffer
 *           ...;
 */
#ifndef ZIZHU_COPY_H
#define ZIZHU_COPY_H

#include <stddef.h>

#include <libpq-fe.h>

typedef struct zz_copy_s {
        PGconn *conn;
        char *data;
        size_t len, cap;
        int failed; /* out of memory or a send failed: zz_copy_end aborts */
} zz_copy_t;

/* Runs sql (a COPY ... FROM STDIN) on conn. -1 with errstr when the server
 * does not enter COPY mode (c is then usable only by zz_copy_end). */
int zz_copy_begin(zz_copy_t *c, PGconn *conn, const char *sql, char *errstr,
                  size_t errstr_size);

/* Raw bytes, already in COPY text format. */
void zz_copy_put(zz_copy_t *c, const char *s, size_t n);
/* A text field (NULL: \N), then sep ('\t' between fields, '\n' at the end
 * of a row; a full piece is sent at the end of a row). */
void zz_copy_field(zz_copy_t *c, const char *s, char sep);
/* A number field, then sep. */
void zz_copy_num(zz_copy_t *c, long long v, char sep);

/* Sends the rest, ends the COPY and reads its result; frees the buffer.
 * -1 with errstr when anything failed (the COPY is then aborted). */
int zz_copy_end(zz_copy_t *c, char *errstr, size_t errstr_size);

#endif
