/*
 * pg.h — PostgreSQL access shared by workers and commands: connecting with
 * the configured conninfo, the one query API every statement goes
 * through, reading result cells, and applying the numbered migrations in
 * sql/.
 *
 * SQL lives in one form: every statement the code runs is a named
 * `static const char` literal beside the code that runs it, one clause per
 * line (as pg_dump writes its queries), run by zz_pg_query() or
 * zz_pg_command() with its parameters bound, never spliced into the text.
 * Each statement is prepared once per connection (keyed by its text) and
 * then executed by name, which saves parsing on every later call; the
 * connections zz_pg_connect() makes plan every execution with the table
 * sizes of the moment (plan_cache_mode = force_custom_plan), as an
 * unnamed statement would be.
 *
 * Thread: a connection is used by one thread at a time (libpq's rule).
 * The table of prepared statements is shared by all threads and guarded
 * by a mutex, so any thread may call these functions on its own
 * connection.
 */
#ifndef ZIZHU_PG_H
#define ZIZHU_PG_H

#include <stddef.h>

#include <libpq-fe.h>

#include "zizhu/date.h"
#include "zizhu/rows.h"

/* Connects, sets application_name and plan_cache_mode. NULL with errstr
 * on failure (the message never includes the password). The caller closes
 * it with zz_pg_finish(). When the process set a retry time
 * (zz_pg_set_connect_retry), a server that cannot be reached is tried
 * again with backoff (0.2 s doubling to 5 s, a warning each time saying
 * what failed and when it gives up) until that time has passed; only then
 * NULL. Other failures (authentication, a missing database) are not
 * retried: waiting cannot cure them. */
PGconn *zz_pg_connect(const char *conninfo, const char *application_name,
                      char *errstr, size_t errstr_size);

/* The retry time of zz_pg_connect in this process, in milliseconds (0,
 * the default: none). For the long-running workers (connect_retry_ms);
 * set once on the main thread before other threads connect. */
void zz_pg_set_connect_retry(long long ms);

/* Forgets the statements prepared on conn and PQfinish()es it. Accepts
 * NULL. */
void zz_pg_finish(PGconn *conn);

/* Runs one parameter-less utility statement (BEGIN, COMMIT, SET, CREATE
 * DATABASE, a migration file ...) as it is, not prepared, and checks the
 * result. 0 or -1 with errstr (errstr may be NULL). */
int zz_pg_exec(PGconn *conn, const char *sql, char *errstr, size_t errstr_size);

/* Runs statement sql (prepared on conn the first time) with n_params text
 * parameters (values[i] NULL is SQL NULL), text results. Returns the
 * result of a PGRES_COMMAND_OK or PGRES_TUPLES_OK (the caller PQclear()s
 * it), or NULL with errstr and *sqlstate (may be NULL; "" when the error
 * has none) on any other outcome. */
PGresult *zz_pg_query(PGconn *conn, const char *sql, int n_params,
                      const char *const *values, char sqlstate[6], char *errstr,
                      size_t errstr_size);

/* zz_pg_query with parameter types (types may be NULL: inferred), binary
 * parameters (those with formats[i] == 1, lengths[i] their sizes; lengths
 * and formats may be NULL: all text) and result_format (0 text, 1
 * binary). */
PGresult *zz_pg_query_ex(PGconn *conn, const char *sql, int n_params,
                         const Oid *types, const char *const *values,
                         const int *lengths, const int *formats,
                         int result_format, char sqlstate[6], char *errstr,
                         size_t errstr_size);

/* zz_pg_query for a statement whose result is not needed: 0, or -1 with
 * errstr/sqlstate. */
int zz_pg_command(PGconn *conn, const char *sql, int n_params,
                  const char *const *values, char sqlstate[6], char *errstr,
                  size_t errstr_size);

/* Sends statement sql without waiting for its result, so the caller can
 * work while the server runs it; the caller then reads the result with
 * PQgetResult() until it returns NULL. With parameters the statement is
 * prepared on conn the first time (that preparation waits, so nothing may
 * be in flight on conn then) and sent by name; without, it is sent as it
 * is (FETCH, which cannot be prepared). 0, or -1 with errstr. */
int zz_pg_send(PGconn *conn, const char *sql, int n_params,
               const char *const *values, char *errstr, size_t errstr_size);

/* Runs sql with one text[] parameter per column ($1 .. $n_cols), built
 * from n_rows rows of n_cols values each (row-major; NULL is SQL NULL):
 * how a batch of rows is written in one statement
 * (INSERT ... SELECT ... FROM unnest($1::text[], ...)). As zz_pg_query. */
PGresult *zz_pg_query_rows(PGconn *conn, const char *sql,
                           const char *const *vals, size_t n_rows, int n_cols,
                           char sqlstate[6], char *errstr, size_t errstr_size);

/* Builds a PostgreSQL text[] literal of n strings (a NULL item is SQL
 * NULL) into a malloc'd buffer (the caller frees it); NULL on out of
 * memory. */
char *zz_pg_text_array(const char *const *items, size_t n);

/* 1 when sqlstate is a serialization failure or deadlock (worth a retry). */
int zz_pg_retryable(const char *sqlstate);

/* NULL-aware readers of a result cell: the text (NULL when null), a
 * number (0 when null), a date as days since 1970-01-01 (ZZ_DATE_NONE when
 * null). */
const char *zz_pg_val(const PGresult *res, int row, int col);
long long zz_pg_num(const PGresult *res, int row, int col);
zz_date_t zz_pg_date(const PGresult *res, int row, int col);

/* res as a zz_rows_t (rows.h) for the pure modules; res is borrowed and
 * must outlive it. */
zz_rows_t zz_pg_rows(const PGresult *res);

/* Applies every sql/NNN_name.sql in dir not yet recorded in the table
 * zizhu.schema_migrations, each in its own transaction, in number order.
 * *applied receives how many were applied now (may be NULL). A session
 * advisory lock keeps two migrators from racing. */
int zz_pg_migrate(PGconn *conn, const char *dir, int *applied, char *errstr,
                  size_t errstr_size);

#endif
