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

#include "zizhu/pg.h"

#include "zz_test.h"

/* An empty database of the test's own: the migrations are what it tests. */
static zz_test_env_t env;

static PGconn *connect_to(const char *dbname)
{
        char errstr[512];
        char conninfo[1024];
        PGconn *conn;

        zz_test_db_conninfo(&env, dbname, conninfo, sizeof(conninfo));
        conn = zz_pg_connect(conninfo, "test-migrate", errstr, sizeof(errstr));
        cr_assert_not_null(conn, "%s", errstr);
        return conn;
}

static void setup(void)
{
        zz_test_env_init(&env, "migrate");
        cr_assert_eq(zz_test_db_create(&env, env.db, 0), 0);
}

static void teardown(void)
{
        cr_assert_eq(zz_test_db_drop(&env, env.db), 0);
}

Test(migrate, second_run_applies_nothing, .init = setup, .fini = teardown)
{
        char errstr[1024];
        char dir[4096];
        int first = -1;
        int second = -1;
        PGconn *conn;

        snprintf(dir, sizeof(dir), "%s/sql",
                 zz_test_getenv("ZZ_SOURCE_DIR", ZZ_SOURCE_DIR));
        conn = connect_to(env.db);
        cr_assert_eq(zz_pg_migrate(conn, dir, &first, errstr, sizeof(errstr)),
                     0, "%s", errstr);
        PQfinish(conn);
        cr_assert_gt(first, 0);
        /* A new session: its search_path now finds schema zizhu first. */
        conn = connect_to(env.db);
        cr_assert_eq(zz_pg_migrate(conn, dir, &second, errstr, sizeof(errstr)),
                     0, "%s", errstr);
        PQfinish(conn);
        cr_assert_eq(second, 0);
}
