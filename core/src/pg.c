/*
 * pg.c — libpq helpers and the migration runner.
 */
#include "zizhu/pg.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/log.h"

/* An arbitrary constant: "zz" migrate lock. */
#define ZZ_MIGRATE_LOCK_KEY "7a7a0001"

PGconn *zz_pg_connect(const char *conninfo, const char *application_name,
                      char *errstr, size_t errstr_size)
{
        const char *keys[] = {"dbname", "application_name", NULL};
        const char *values[] = {conninfo, application_name, NULL};
        PGconn *conn;

        /* expand_dbname=1: the conninfo string is parsed as such, and the
         * application_name given here overrides none that it sets. */
        conn = PQconnectdbParams(keys, values, 1);
        if (conn == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (PQstatus(conn) != CONNECTION_OK) {
                snprintf(errstr, errstr_size,
                         "could not connect to PostgreSQL: %s",
                         PQerrorMessage(conn));
                PQfinish(conn);
                return NULL;
        }
        return conn;
}

int zz_pg_exec(PGconn *conn, const char *sql, char *errstr, size_t errstr_size)
{
        PGresult *res = PQexec(conn, sql);
        ExecStatusType status = PQresultStatus(res);
        int rc = 0;

        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
                snprintf(errstr, errstr_size, "%s", PQerrorMessage(conn));
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
        PGresult *res = PQexecParams(
            conn, "SELECT 1 FROM zizhu.schema_migrations WHERE name = $1", 1,
            NULL, params, NULL, NULL, 0);
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
        res = PQexecParams(conn,
                           "INSERT INTO zizhu.schema_migrations (name) "
                           "VALUES ($1)",
                           1, NULL, params, NULL, NULL, 0);
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

        /* Schema-qualified: the default search_path starts with "$user",
         * which is schema zizhu once it exists, so an unqualified name
         * would resolve to another table after the first migration. */
        if (zz_pg_exec(conn, "CREATE SCHEMA IF NOT EXISTS zizhu", errstr,
                       errstr_size) != 0)
                return -1;
        if (zz_pg_exec(conn,
                       "CREATE TABLE IF NOT EXISTS zizhu.schema_migrations ("
                       " name text PRIMARY KEY,"
                       " applied_at timestamptz NOT NULL DEFAULT now())",
                       errstr, errstr_size) != 0)
                return -1;
        if (zz_pg_exec(conn,
                       "SELECT pg_advisory_lock(x'" ZZ_MIGRATE_LOCK_KEY
                       "'::bigint)",
                       errstr, errstr_size) != 0)
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
        zz_pg_exec(conn,
                   "SELECT pg_advisory_unlock(x'" ZZ_MIGRATE_LOCK_KEY
                   "'::bigint)",
                   NULL, 0);
        for (i = 0; i < count; i++)
                free(names[i]);
        free(names);
        if (applied != NULL)
                *applied = done;
        return rc;
}
