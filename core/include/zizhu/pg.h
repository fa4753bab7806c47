/*
 * pg.h — PostgreSQL helpers shared by workers and commands: connecting with
 * the configured conninfo, checking results, and applying the numbered
 * migrations in sql/.
 *
 * Threads: these functions keep no state of their own; any thread may call
 * them with a connection it alone uses at the time (libpq's rule: one
 * PGconn, one thread at a time).
 */
#ifndef ZIZHU_PG_H
#define ZIZHU_PG_H

#include <stddef.h>

#include <libpq-fe.h>

/* Connects and sets application_name. NULL with errstr on failure (the
 * message never includes the password). The caller PQfinish()es it. */
PGconn *zz_pg_connect(const char *conninfo, const char *application_name,
                      char *errstr, size_t errstr_size);

/* Runs one parameter-less utility statement (BEGIN, COMMIT, ...) and checks
 * the result. 0 or -1 with errstr. */
int zz_pg_exec(PGconn *conn, const char *sql, char *errstr, size_t errstr_size);

/* Applies every sql/NNN_name.sql in dir not yet recorded in the table
 * zizhu.schema_migrations, each in its own transaction, in number order.
 * *applied receives how many were applied now (may be NULL). A session
 * advisory lock keeps two migrators from racing. */
int zz_pg_migrate(PGconn *conn, const char *dir, int *applied, char *errstr,
                  size_t errstr_size);

#endif
