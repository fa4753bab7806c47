/*
 * copy.c — rows into PostgreSQL with COPY in the text format (see copy.h).
 */
#include "zizhu/copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows in COPY's text format, sent to the server in pieces of about
 * COPY_PIECE bytes while they are written. */
#define COPY_PIECE (1 << 20)

/* Sends sql (a COPY ... FROM STDIN, parameter-less: COPY takes no bound
 * parameters) and returns its first result: PGRES_COPY_IN when the server
 * waits for rows, else the last result (an error), as PQexec would;
 * NULL when it could not be sent. */
static PGresult *copy_start(PGconn *conn, const char *sql)
{
        PGresult *res, *next;

        if (PQsendQuery(conn, sql) != 1)
                return NULL;
        res = PQgetResult(conn);
        if (PQresultStatus(res) == PGRES_COPY_IN)
                return res;
        while ((next = PQgetResult(conn)) != NULL) {
                PQclear(res);
                res = next;
        }
        return res;
}

int zz_copy_begin(zz_copy_t *c, PGconn *conn, const char *sql, char *errstr,
                  size_t errstr_size)
{
        PGresult *res = copy_start(conn, sql);
        int ok = PQresultStatus(res) == PGRES_COPY_IN;

        memset(c, 0, sizeof(*c));
        c->conn = conn;
        if (!ok)
                snprintf(errstr, errstr_size, "could not start a COPY: %s",
                         PQresultErrorMessage(res));
        PQclear(res);
        return ok ? 0 : -1;
}

static void copy_send(zz_copy_t *c)
{
        if (c->len > 0 && !c->failed &&
            PQputCopyData(c->conn, c->data, (int)c->len) != 1)
                c->failed = 1;
        c->len = 0;
}

void zz_copy_put(zz_copy_t *c, const char *s, size_t n)
{
        if (c->len + n > c->cap) {
                size_t cap = c->cap ? c->cap : 2 * COPY_PIECE;
                char *data;

                while (c->len + n > cap)
                        cap *= 2;
                data = realloc(c->data, cap);
                if (data == NULL) {
                        c->failed = 1;
                        return;
                }
                c->data = data;
                c->cap = cap;
        }
        memcpy(c->data + c->len, s, n);
        c->len += n;
}

/* A text field (NULL: \N), then sep; a row ends with sep '\n'. */
void zz_copy_field(zz_copy_t *c, const char *s, char sep)
{
        const char *p, *run;

        if (s == NULL) {
                zz_copy_put(c, "\\N", 2);
        } else {
                for (p = run = s; *p != '\0'; p++) {
                        const char *esc = *p == '\\'   ? "\\\\"
                                          : *p == '\t' ? "\\t"
                                          : *p == '\n' ? "\\n"
                                          : *p == '\r' ? "\\r"
                                                       : NULL;
                        if (esc == NULL)
                                continue;
                        zz_copy_put(c, run, (size_t)(p - run));
                        zz_copy_put(c, esc, 2);
                        run = p + 1;
                }
                zz_copy_put(c, run, (size_t)(p - run));
        }
        zz_copy_put(c, &sep, 1);
        if (sep == '\n' && c->len >= COPY_PIECE)
                copy_send(c);
}

void zz_copy_num(zz_copy_t *c, long long v, char sep)
{
        char tmp[24];

        snprintf(tmp, sizeof(tmp), "%lld", v);
        zz_copy_field(c, tmp, sep);
}

int zz_copy_end(zz_copy_t *c, char *errstr, size_t errstr_size)
{
        PGresult *res;
        int ok;

        copy_send(c);
        free(c->data);
        c->data = NULL;
        if (PQputCopyEnd(c->conn, c->failed ? "out of memory" : NULL) != 1)
                c->failed = 1;
        res = PQgetResult(c->conn);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK && !c->failed;
        if (!ok)
                snprintf(errstr, errstr_size, "could not copy rows: %s",
                         PQresultErrorMessage(res));
        PQclear(res);
        while ((res = PQgetResult(c->conn)) != NULL)
                PQclear(res);
        return ok ? 0 : -1;
}
