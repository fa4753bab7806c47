/*
 * pg.c — connections, the one query API (statements prepared once per
 * connection), result readers and the migration runner.
 */
#include "zizhu/pg.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zizhu/log.h"

/* An arbitrary constant: "zz" migrate lock. */
#define ZZ_MIGRATE_LOCK_KEY "7a7a0001"

/* The statements of the migration runner, run unprepared: callers may
 * close the connection with PQfinish(), which would leave statements
 * prepared on it in the table below. Schema-qualified: the default
 * search_path starts with "$user", which is schema zizhu once it exists,
 * so an unqualified name would resolve to another table after the first
 * migration. */
static const char SQL_CREATE_SCHEMA[] = "CREATE SCHEMA IF NOT EXISTS zizhu";

static const char SQL_CREATE_MIGRATIONS[] =
    "CREATE TABLE IF NOT EXISTS zizhu.schema_migrations (\n"
    "    name text PRIMARY KEY,\n"
    "    applied_at timestamptz NOT NULL DEFAULT now()\n"
    ")";

static const char SQL_MIGRATE_LOCK[] =
    "SELECT pg_advisory_lock(x'" ZZ_MIGRATE_LOCK_KEY "'::bigint)";

static const char SQL_MIGRATE_UNLOCK[] =
    "SELECT pg_advisory_unlock(x'" ZZ_MIGRATE_LOCK_KEY "'::bigint)";

static const char SQL_IS_APPLIED[] = "SELECT 1\n"
                                     "FROM zizhu.schema_migrations\n"
                                     "WHERE name = $1";

static const char SQL_RECORD_MIGRATION[] =
    "INSERT INTO zizhu.schema_migrations (name)\n"
    "VALUES ($1)";

static long long connect_retry_ms;

void zz_pg_set_connect_retry(long long ms)
{
        connect_retry_ms = ms > 0 ? ms : 0;
}

static double mono_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One attempt: a connection, or NULL with errstr and *unreachable set
 * when the server could not be reached at all (worth a retry). */
static PGconn *connect_once(const char *conninfo, const char *application_name,
                            int *unreachable, char *errstr, size_t errstr_size)
{
        const char *keys[] = {"dbname", "application_name", NULL};
        const char *values[] = {conninfo, application_name, NULL};
        PGconn *conn;

        *unreachable = 0;
        /* expand_dbname=1: the conninfo string is parsed as such, and the
         * application_name given here overrides none that it sets. */
        conn = PQconnectdbParams(keys, values, 1);
        if (conn == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (PQstatus(conn) != CONNECTION_OK) {
                const char *msg = PQerrorMessage(conn);

                /* libpq's own words for a server it could not reach or
                 * that is not ready: refused, timed out, no route, still
                 * starting or shutting down, or only standbys listed */
                *unreachable =
                    strstr(msg, "Connection refused") != NULL ||
                    strstr(msg, "timeout expired") != NULL ||
                    strstr(msg, "No route to host") != NULL ||
                    strstr(msg, "Network is unreachable") != NULL ||
                    strstr(msg, "the database system is") != NULL ||
                    strstr(msg, "server is in hot standby mode") != NULL ||
                    strstr(msg, "session is read-only") != NULL ||
                    strstr(msg, "server closed the connection") != NULL;
                snprintf(errstr, errstr_size,
                         "could not connect to PostgreSQL: %s", msg);
                PQfinish(conn);
                return NULL;
        }
        return conn;
}

PGconn *zz_pg_connect(const char *conninfo, const char *application_name,
                      char *errstr, size_t errstr_size)
{
        PGconn *conn;
        double t0 = mono_s();
        int unreachable, delay_ms = 200;

        for (;;) {
                double waited_ms;

                conn = connect_once(conninfo, application_name, &unreachable,
                                    errstr, errstr_size);
                if (conn != NULL || !unreachable || connect_retry_ms == 0)
                        break;
                waited_ms = (mono_s() - t0) * 1000.0;
                if (waited_ms + delay_ms > (double)connect_retry_ms) {
                        size_t n = strlen(errstr);

                        snprintf(errstr + n,
                                 errstr_size > n ? errstr_size - n : 0,
                                 " (gave up after %.0f s of retries)",
                                 waited_ms / 1000.0);
                        return NULL;
                }
                zz_log_warn("PostgreSQL cannot be reached (%s); retrying in "
                            "%d ms, giving up after %lld s",
                            errstr, delay_ms, connect_retry_ms / 1000);
                {
                        struct timespec ts = {delay_ms / 1000,
                                              (long)(delay_ms % 1000) *
                                                  1000000L};
                        nanosleep(&ts, NULL);
                }
                if (delay_ms < 5000)
                        delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
        }
        if (conn == NULL)
                return NULL;
        /* Prepared statements are planned on every execution, with the
         * table sizes of the moment: a plan cached while a table was small
         * (a sequential scan) would otherwise stay while it grows; parsing
         * is still saved. */
        if (zz_pg_exec(conn, "SET plan_cache_mode = force_custom_plan", errstr,
                       errstr_size) != 0) {
                PQfinish(conn);
                return NULL;
        }
        return conn;
}

/* The statements prepared so far, on every connection of the process.
 * A connection is known by its address and its server process id, so a
 * new connection that happens to get the address of a closed one is not
 * taken for it. */
#define ZZ_PG_PREPARED_PER_CONN 128

typedef struct prepared_s {
        const PGconn *conn;
        int backend_pid;
        uint64_t hash; /* FNV-1a of the text, compared first */
        char *sql;
        unsigned serial; /* the statement is named "zz<serial>" */
} prepared_t;

static pthread_mutex_t prepared_lock = PTHREAD_MUTEX_INITIALIZER;
static prepared_t *prepared;
static size_t n_prepared, cap_prepared;
static unsigned next_serial;

static uint64_t text_hash(const char *sql)
{
        uint64_t h = 14695981039346656037ULL;
        const unsigned char *c;

        for (c = (const unsigned char *)sql; *c != '\0'; c++)
                h = (h ^ *c) * 1099511628211ULL;
        return h;
}

/* The serial of sql on conn (0: not prepared); *per_conn receives how
 * many statements conn has. Called with prepared_lock held. */
static unsigned find_prepared(const PGconn *conn, int pid, uint64_t h,
                              const char *sql, size_t *per_conn)
{
        size_t i;

        *per_conn = 0;
        for (i = 0; i < n_prepared; i++) {
                if (prepared[i].conn != conn || prepared[i].backend_pid != pid)
                        continue;
                (*per_conn)++;
                if (prepared[i].hash == h && strcmp(prepared[i].sql, sql) == 0)
                        return prepared[i].serial;
        }
        return 0;
}

static int remember_prepared(const PGconn *conn, int pid, uint64_t h,
                             const char *sql, unsigned serial)
{
        char *copy = strdup(sql);

        if (copy == NULL)
                return -1;
        pthread_mutex_lock(&prepared_lock);
        if (n_prepared == cap_prepared) {
                size_t ncap = cap_prepared ? cap_prepared * 2 : 64;
                prepared_t *grown = realloc(prepared, ncap * sizeof(*grown));

                if (grown == NULL) {
                        pthread_mutex_unlock(&prepared_lock);
                        free(copy);
                        return -1;
                }
                prepared = grown;
                cap_prepared = ncap;
        }
        prepared[n_prepared].conn = conn;
        prepared[n_prepared].backend_pid = pid;
        prepared[n_prepared].hash = h;
        prepared[n_prepared].sql = copy;
        prepared[n_prepared].serial = serial;
        n_prepared++;
        pthread_mutex_unlock(&prepared_lock);
        return 0;
}

void zz_pg_finish(PGconn *conn)
{
        size_t i, kept = 0;

        if (conn == NULL)
                return;
        pthread_mutex_lock(&prepared_lock);
        for (i = 0; i < n_prepared; i++) {
                if (prepared[i].conn == conn) {
                        free(prepared[i].sql);
                        continue;
                }
                prepared[kept++] = prepared[i];
        }
        n_prepared = kept;
        if (n_prepared == 0) {
                free(prepared);
                prepared = NULL;
                cap_prepared = 0;
        }
        pthread_mutex_unlock(&prepared_lock);
        PQfinish(conn);
}

static void error_of(PGconn *conn, const PGresult *res, char sqlstate[6],
                     char *errstr, size_t errstr_size)
{
        const char *s =
            res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        size_t len;

        if (sqlstate != NULL)
                snprintf(sqlstate, 6, "%s", s != NULL ? s : "");
        if (errstr == NULL || errstr_size == 0)
                return;
        snprintf(errstr, errstr_size, "%s", PQerrorMessage(conn));
        /* drop the trailing newline libpq adds */
        len = strlen(errstr);
        while (len > 0 && errstr[len - 1] == '\n')
                errstr[--len] = '\0';
}

/* The name sql is prepared under on conn, preparing it first: 1 with
 * name set, 0 when it is to run unnamed (conn has too many statements, or
 * out of memory), -1 when preparing failed (*res holds the error). */
static int statement_name(PGconn *conn, const char *sql, int n_params,
                          const Oid *types, char name[16], PGresult **res)
{
        int pid = PQbackendPID(conn);
        uint64_t h = text_hash(sql);
        size_t per_conn;
        unsigned serial;

        pthread_mutex_lock(&prepared_lock);
        serial = find_prepared(conn, pid, h, sql, &per_conn);
        if (serial == 0 && per_conn < ZZ_PG_PREPARED_PER_CONN)
                serial = ++next_serial == 0 ? ++next_serial : next_serial;
        else if (serial != 0) {
                pthread_mutex_unlock(&prepared_lock);
                snprintf(name, 16, "zz%u", serial);
                return 1;
        }
        pthread_mutex_unlock(&prepared_lock);
        if (serial == 0)
                return 0;
        snprintf(name, 16, "zz%u", serial);
        *res = PQprepare(conn, name, sql, n_params, types);
        if (PQresultStatus(*res) != PGRES_COMMAND_OK)
                return -1;
        PQclear(*res);
        *res = NULL;
        if (remember_prepared(conn, pid, h, sql, serial) != 0)
                return 0; /* prepared but forgotten: runs unnamed */
        return 1;
}

PGresult *zz_pg_query_ex(PGconn *conn, const char *sql, int n_params,
                         const Oid *types, const char *const *values,
                         const int *lengths, const int *formats,
                         int result_format, char sqlstate[6], char *errstr,
                         size_t errstr_size)
{
        PGresult *res = NULL;
        ExecStatusType st;
        char name[16];
        int named = statement_name(conn, sql, n_params, types, name, &res);

        if (named == 1)
                res = PQexecPrepared(conn, name, n_params, values, lengths,
                                     formats, result_format);
        else if (named == 0)
                res = PQexecParams(conn, sql, n_params, types, values, lengths,
                                   formats, result_format);
        st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                error_of(conn, res, sqlstate, errstr, errstr_size);
                PQclear(res);
                return NULL;
        }
        if (sqlstate != NULL)
                sqlstate[0] = '\0';
        return res;
}

int zz_pg_send(PGconn *conn, const char *sql, int n_params,
               const char *const *values, char *errstr, size_t errstr_size)
{
        PGresult *res = NULL;
        char name[16];
        int named = 0, sent;

        if (n_params > 0)
                named = statement_name(conn, sql, n_params, NULL, name, &res);
        if (named < 0) {
                error_of(conn, res, NULL, errstr, errstr_size);
                PQclear(res);
                return -1;
        }
        if (named == 1)
                sent = PQsendQueryPrepared(conn, name, n_params, values, NULL,
                                           NULL, 0);
        else if (n_params > 0)
                sent = PQsendQueryParams(conn, sql, n_params, NULL, values,
                                         NULL, NULL, 0);
        else
                sent = PQsendQuery(conn, sql);
        if (!sent) {
                error_of(conn, NULL, NULL, errstr, errstr_size);
                return -1;
        }
        return 0;
}

PGresult *zz_pg_query(PGconn *conn, const char *sql, int n_params,
                      const char *const *values, char sqlstate[6], char *errstr,
                      size_t errstr_size)
{
        return zz_pg_query_ex(conn, sql, n_params, NULL, values, NULL, NULL, 0,
                              sqlstate, errstr, errstr_size);
}

int zz_pg_command(PGconn *conn, const char *sql, int n_params,
                  const char *const *values, char sqlstate[6], char *errstr,
                  size_t errstr_size)
{
        PGresult *res = zz_pg_query(conn, sql, n_params, values, sqlstate,
                                    errstr, errstr_size);

        if (res == NULL)
                return -1;
        PQclear(res);
        return 0;
}

char *zz_pg_text_array(const char *const *items, size_t n)
{
        size_t cap = 3, i, len = 0;
        char *out;
        const char *p;

        for (i = 0; i < n; i++)
                cap += (items[i] != NULL ? strlen(items[i]) * 2 : 4) + 3;
        out = malloc(cap);
        if (out == NULL)
                return NULL;
        out[len++] = '{';
        for (i = 0; i < n; i++) {
                if (i > 0)
                        out[len++] = ',';
                if (items[i] == NULL) {
                        memcpy(out + len, "NULL", 4);
                        len += 4;
                        continue;
                }
                out[len++] = '"';
                for (p = items[i]; *p != '\0'; p++) {
                        if (*p == '"' || *p == '\\')
                                out[len++] = '\\';
                        out[len++] = *p;
                }
                out[len++] = '"';
        }
        out[len++] = '}';
        out[len] = '\0';
        return out;
}

PGresult *zz_pg_query_rows(PGconn *conn, const char *sql,
                           const char *const *vals, size_t n_rows, int n_cols,
                           char sqlstate[6], char *errstr, size_t errstr_size)
{
        char **arrays = calloc((size_t)n_cols, sizeof(*arrays));
        const char **column = calloc(n_rows + 1, sizeof(*column));
        PGresult *res = NULL;
        size_t r;
        int c;

        if (sqlstate != NULL)
                sqlstate[0] = '\0';
        if (arrays == NULL || column == NULL)
                goto oom;
        for (c = 0; c < n_cols; c++) {
                for (r = 0; r < n_rows; r++)
                        column[r] = vals[r * (size_t)n_cols + (size_t)c];
                arrays[c] = zz_pg_text_array(column, n_rows);
                if (arrays[c] == NULL)
                        goto oom;
        }
        res = zz_pg_query(conn, sql, n_cols, (const char *const *)arrays,
                          sqlstate, errstr, errstr_size);
        goto out;
oom:
        snprintf(errstr, errstr_size, "out of memory");
out:
        if (arrays != NULL)
                for (c = 0; c < n_cols; c++)
                        free(arrays[c]);
        free(arrays);
        free(column);
        return res;
}

int zz_pg_retryable(const char *sqlstate)
{
        return sqlstate != NULL && (strcmp(sqlstate, "40001") == 0 ||
                                    strcmp(sqlstate, "40P01") == 0);
}

const char *zz_pg_val(const PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

long long zz_pg_num(const PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col)
                   ? 0
                   : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

zz_date_t zz_pg_date(const PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col)
                   ? ZZ_DATE_NONE
                   : (zz_date_t)strtol(PQgetvalue(res, row, col), NULL, 10);
}

static const char *result_cell(const void *src, int row, int col)
{
        return zz_pg_val((const PGresult *)src, row, col);
}

zz_rows_t zz_pg_rows(const PGresult *res)
{
        zz_rows_t rows = {res, result_cell};

        return rows;
}

int zz_pg_exec(PGconn *conn, const char *sql, char *errstr, size_t errstr_size)
{
        PGresult *res = PQexec(conn, sql);
        ExecStatusType status = PQresultStatus(res);
        int rc = 0;

        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
                if (errstr != NULL && errstr_size > 0)
                        snprintf(errstr, errstr_size, "%s",
                                 PQerrorMessage(conn));
                rc = -1;
        }
        PQclear(res);
        return rc;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *read_file(const char *path, char *errstr, size_t errstr_size)
{
        FILE *fp = fopen(path, "rb");
        char *buf;
        long size;

        if (fp == NULL) {
                snprintf(errstr, errstr_size, "could not open %s: %s", path,
                         strerror(errno));
                return NULL;
        }
        if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
            fseek(fp, 0, SEEK_SET) != 0) {
                snprintf(errstr, errstr_size, "could not read %s", path);
                fclose(fp);
                return NULL;
        }
        buf = malloc((size_t)size + 1);
        if (buf == NULL || fread(buf, 1, (size_t)size, fp) != (size_t)size) {
                snprintf(errstr, errstr_size, "could not read %s", path);
                free(buf);
                fclose(fp);
                return NULL;
        }
        buf[size] = '\0';
        fclose(fp);
        return buf;
}

/* Is migration `name` recorded? 1 yes, 0 no, -1 error. */
static int is_applied(PGconn *conn, const char *name, char *errstr,
                      size_t errstr_size)
{
        const char *params[1] = {name};
        PGresult *res =
            PQexecParams(conn, SQL_IS_APPLIED, 1, NULL, params, NULL, NULL, 0);
        int rc;

        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                snprintf(errstr, errstr_size, "%s", PQerrorMessage(conn));
                rc = -1;
        } else {
                rc = PQntuples(res) > 0;
        }
        PQclear(res);
        return rc;
}

static int apply_one(PGconn *conn, const char *dir, const char *name,
                     char *errstr, size_t errstr_size)
{
        char path[4096];
        char *sql;
        const char *params[1] = {name};
        PGresult *res;
        int rc = -1;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        sql = read_file(path, errstr, errstr_size);
        if (sql == NULL)
                return -1;
        if (zz_pg_exec(conn, "BEGIN", errstr, errstr_size) != 0)
                goto out;
        res = PQexec(conn, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK &&
            PQresultStatus(res) != PGRES_TUPLES_OK) {
                snprintf(errstr, errstr_size, "migration %s failed: %s", name,
                         PQerrorMessage(conn));
                PQclear(res);
                zz_pg_exec(conn, "ROLLBACK", NULL, 0);
                goto out;
        }
        PQclear(res);
        res = PQexecParams(conn, SQL_RECORD_MIGRATION, 1, NULL, params, NULL,
                           NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                snprintf(errstr, errstr_size, "%s", PQerrorMessage(conn));
                PQclear(res);
                zz_pg_exec(conn, "ROLLBACK", NULL, 0);
                goto out;
        }
        PQclear(res);
        rc = zz_pg_exec(conn, "COMMIT", errstr, errstr_size);
out:
        free(sql);
        return rc;
}

int zz_pg_migrate(PGconn *conn, const char *dir, int *applied, char *errstr,
                  size_t errstr_size)
{
        DIR *d;
        struct dirent *ent;
        char **names = NULL;
        size_t count = 0;
        size_t cap = 0;
        size_t i;
        int done = 0;
        int rc = -1;

        if (zz_pg_exec(conn, SQL_CREATE_SCHEMA, errstr, errstr_size) != 0 ||
            zz_pg_exec(conn, SQL_CREATE_MIGRATIONS, errstr, errstr_size) != 0 ||
            zz_pg_exec(conn, SQL_MIGRATE_LOCK, errstr, errstr_size) != 0)
                return -1;
        d = opendir(dir);
        if (d == NULL) {
                snprintf(errstr, errstr_size, "could not open %s: %s", dir,
                         strerror(errno));
                goto unlock;
        }
        while ((ent = readdir(d)) != NULL) {
                size_t len = strlen(ent->d_name);

                if (len < 8 || ent->d_name[0] < '0' || ent->d_name[0] > '9' ||
                    strcmp(ent->d_name + len - 4, ".sql") != 0)
                        continue;
                if (count == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        char **grown = realloc(names, ncap * sizeof(*grown));

                        if (grown == NULL)
                                goto closedir;
                        names = grown;
                        cap = ncap;
                }
                names[count] = strdup(ent->d_name);
                if (names[count] == NULL)
                        goto closedir;
                count++;
        }
        qsort(names, count, sizeof(*names), cmp_names);
        for (i = 0; i < count; i++) {
                int have = is_applied(conn, names[i], errstr, errstr_size);

                if (have < 0)
                        goto closedir;
                if (have)
                        continue;
                if (apply_one(conn, dir, names[i], errstr, errstr_size) != 0)
                        goto closedir;
                zz_log_info("applied migration %s", names[i]);
                done++;
        }
        rc = 0;
closedir:
        closedir(d);
unlock:
        zz_pg_exec(conn, SQL_MIGRATE_UNLOCK, NULL, 0);
        for (i = 0; i < count; i++)
                free(names[i]);
        free(names);
        if (applied != NULL)
                *applied = done;
        return rc;
}
