/*
 * test_feed_pg.c — snapshots kept in PostgreSQL: a stored list loads back
 * as it was, and the next list is compared with it, in a database of the
 * test's own (needs the local stack: deploy/local/stack.sh up; skipped
 * when PostgreSQL is not reachable).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "zizhu/feed.h"
#include "zizhu/pg.h"

#include "zz_test.h"

/* A department code no real list uses, so the test never touches a real
 * department's stored snapshot. */
#define TEST_DEPT "ZZTEST"

static void add(zz_feed_snapshot_t *s, const char *rid, const char *person,
                const char *attrs)
{
        zz_feed_identity_t r;

        memset(&r, 0, sizeof(r));
        snprintf(r.dept_record_id, sizeof(r.dept_record_id), "%s", rid);
        snprintf(r.person_id, sizeof(r.person_id), "%s", person);
        snprintf(r.department, sizeof(r.department), "DPF");
        snprintf(r.category, sizeof(r.category), "DPF.DISABLED");
        snprintf(r.attrs, sizeof(r.attrs), "%s", attrs);
        snprintf(r.approving_region, sizeof(r.approving_region), "500155");
        snprintf(r.residence_region, sizeof(r.residence_region),
                 "500155107001");
        r.action = ZZ_FEED_ID_GRANT;
        r.valid_from = 17000;
        r.valid_to = ZZ_DATE_NONE;
        r.deceased_on = ZZ_DATE_NONE;
        cr_assert_eq(zz_feed_snapshot_add(s, &r), 0);
}

Test(feed_pg, snapshot_round_trip_and_diff)
{
        zz_test_env_t env;
        char errstr[512];
        PGconn *conn;
        zz_feed_snapshot_t *v1, *loaded, *v2;
        zz_feed_diff_t diff;
        int i;

        zz_test_env_init(&env, "feedpg");
        conn =
            zz_pg_connect(env.pg_base, "test_feed_pg", errstr, sizeof(errstr));
        if (conn == NULL)
                cr_skip_test("PostgreSQL not reachable: %s", errstr);
        PQfinish(conn);
        cr_assert_eq(zz_test_db_create(&env, env.db, 1), 0);
        conn = zz_pg_connect(env.pg, "test_feed_pg", errstr, sizeof(errstr));
        cr_assert_not_null(conn, "%s", errstr);
        cr_assert_eq(
            zz_feed_snapshot_lock(conn, TEST_DEPT, errstr, sizeof(errstr)), 0);
        cr_assert_eq(zz_pg_exec(conn,
                                "DELETE FROM zizhu.feed_snapshot_record "
                                "WHERE department = 'ZZTEST'",
                                errstr, sizeof(errstr)),
                     0, "%s", errstr);
        v1 = zz_feed_snapshot_new(TEST_DEPT);
        for (i = 0; i < 40; i++) {
                char rid[16];

                snprintf(rid, sizeof(rid), "R%02d\t\\x", i);
                add(v1, rid, "500155195001101009", "level=1");
        }
        memset(&diff, 0, sizeof(diff));
        cr_assert_eq(zz_feed_snapshot_store(conn, v1, 18000, "abc", &diff, 0,
                                            errstr, sizeof(errstr)),
                     0, "%s", errstr);
        loaded = zz_feed_snapshot_load(conn, TEST_DEPT, errstr, sizeof(errstr));
        cr_assert_not_null(loaded, "%s", errstr);
        cr_assert_eq(zz_feed_snapshot_count(loaded), 40);
        /* Identical content (tabs and backslashes in ids survive COPY). */
        cr_assert_eq(
            zz_feed_snapshot_diff(loaded, v1, 18000, 0, 0.05, 0, &diff), 0);
        cr_assert_eq(diff.n_events, 0);
        zz_feed_diff_free(&diff);
        /* A list with one record gone and one changed. */
        v2 = zz_feed_snapshot_new(TEST_DEPT);
        for (i = 1; i < 40; i++) {
                char rid[16];

                snprintf(rid, sizeof(rid), "R%02d\t\\x", i);
                add(v2, rid, "500155195001101009",
                    i == 5 ? "level=2" : "level=1");
        }
        cr_assert_eq(
            zz_feed_snapshot_diff(loaded, v2, 18000, 0, 0.05, 0, &diff), 0);
        cr_assert_eq(diff.ends, 1);
        cr_assert_eq(diff.changes, 1);
        cr_assert_eq(diff.refused, 0);
        zz_feed_diff_free(&diff);
        zz_feed_snapshot_destroy(v1);
        zz_feed_snapshot_destroy(v2);
        zz_feed_snapshot_destroy(loaded);
        PQfinish(conn);
        zz_test_db_drop(&env, env.db);
}
