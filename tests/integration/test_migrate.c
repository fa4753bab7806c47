/*
 * test_migrate.c — `zizhu migrate` applies each migration once.
 *
 * Regression: the bookkeeping table was created unqualified, so once the
 * first migration had created schema zizhu, the default search_path
 * ("$user", public) made a second run look in zizhu, find no record and
 * apply every migration again ("relation ... already exists").
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "zizhu/config.h"
#include "zizhu/pg.h"

static char zz_db[64];

static PGconn *connect_to(const char *dbname)
{
        char errstr[512];
        char conninfo[1024];
        const char *base = getenv("ZIZHU_PG");
        PGconn *conn;

        snprintf(conninfo, sizeof(conninfo), "%s dbname=%s",
                 base != NULL ? base : ZZ_DEFAULT_PG, dbname);
        conn = zz_pg_connect(conninfo, "test-migrate", errstr, sizeof(errstr));
        cr_assert_not_null(conn, "%s", errstr);
        return conn;
}

static void exec_ok(PGconn *conn, const char *sql)
{
        char errstr[512];

        cr_assert_eq(zz_pg_exec(conn, sql, errstr, sizeof(errstr)), 0, "%s",
                     errstr);
}

static void setup(void)
{
        char sql[128];
        PGconn *conn = connect_to("zizhu");

        snprintf(zz_db, sizeof(zz_db), "zz_test_migrate_%d", (int)getpid());
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", zz_db);
        exec_ok(conn, sql);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", zz_db);
        exec_ok(conn, sql);
        PQfinish(conn);
}

static void teardown(void)
{
        char sql[128];
        PGconn *conn = connect_to("zizhu");

        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
                 zz_db);
        exec_ok(conn, sql);
        PQfinish(conn);
}

Test(migrate, second_run_applies_nothing, .init = setup, .fini = teardown)
{
        char errstr[1024];
        char dir[4096];
        const char *src = getenv("ZZ_SOURCE_DIR");
        int first = -1;
        int second = -1;
        PGconn *conn;

        snprintf(dir, sizeof(dir), "%s/sql", src != NULL ? src : ".");
        conn = connect_to(zz_db);
        cr_assert_eq(zz_pg_migrate(conn, dir, &first, errstr, sizeof(errstr)),
                     0, "%s", errstr);
        PQfinish(conn);
        cr_assert_gt(first, 0);
        /* A new session: its search_path now finds schema zizhu first. */
        conn = connect_to(zz_db);
        cr_assert_eq(zz_pg_migrate(conn, dir, &second, errstr, sizeof(errstr)),
                     0, "%s", errstr);
        PQfinish(conn);
        cr_assert_eq(second, 0);
}
