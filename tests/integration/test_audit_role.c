/*
 * test_audit_role.c — the read-only dashboard role (DOMAIN.md promise 7):
 * after deploy/local/roles.sql (run as the superuser, as deployment does),
 * zizhu_dashboard reads the views of zizhu_dash — pseudonyms and masked
 * numbers — and can neither select an ID number or a name from the zizhu
 * tables nor write anything.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "zz_test.h"

static int as_role(const zz_test_env_t *env, const char *user, const char *sql,
                   char **first)
{
        char conninfo[1024];
        PGconn *c;
        PGresult *r;
        int ok;

        snprintf(conninfo, sizeof(conninfo), "%s dbname=%s user=%s",
                 env->pg_base, env->db, user);
        c = PQconnectdb(conninfo);
        cr_assert(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
        r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_TUPLES_OK ||
             PQresultStatus(r) == PGRES_COMMAND_OK;
        if (first != NULL)
                *first =
                    ok && PQntuples(r) > 0 ? strdup(PQgetvalue(r, 0, 0)) : NULL;
        PQclear(r);
        PQfinish(c);
        return ok;
}

Test(audit_role, dashboard_role_sees_no_id_numbers, .timeout = 240)
{
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        char a[19], cmd[2048], *v = NULL;
        const char *su = zz_test_getenv("ZIZHU_PG_SUPERUSER", "postgres");

        cr_assert(zz_test_env_new(&env, "role") == 0);
        zz_test_idno("500228", "19900101", 51, a);
        zz_test_identity(&ms, a, "MCA", "MCA-A", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-09-20T08:00:00+08:00");
        zz_test_enrollment(&ms, a, 2020, 1, "ANNUAL", "2019-10-15",
                           "500155107001");
        zz_test_payment(&ms, a, 2020, 25000, 0, 0, "2019-10-15T10:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "huilong", "2020", "2019-12-20T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);

        /* roles.sql as the superuser, as deploy/local/pg.sh would */
        snprintf(cmd, sizeof(cmd),
                 "psql -q -v ON_ERROR_STOP=1 '%s dbname=%s user=%s' -f "
                 "%s/deploy/local/roles.sql >/dev/null",
                 env.pg_base, env.db, su, ZZ_SOURCE_DIR);
        cr_assert_eq(system(cmd), 0, "roles.sql failed (superuser %s)", su);

        /* the views: pseudonyms and masked numbers */
        cr_expect(as_role(&env, "zizhu_dashboard",
                          "SELECT masked_id FROM zizhu_dash.settlement_line",
                          &v));
        cr_assert(v != NULL);
        cr_expect_eq(strlen(v), 18);
        cr_expect(strstr(v, "**********") != NULL);
        free(v);
        cr_expect(as_role(&env, "zizhu_dashboard",
                          "SELECT pseudonym FROM zizhu_dash.backlog", &v));
        cr_expect(v != NULL && strlen(v) == 32);
        free(v);
        /* no view has an ID number column, and no value is one */
        cr_expect(as_role(&env, "zizhu_dashboard",
                          "SELECT count(*) FROM information_schema.columns "
                          "WHERE table_schema = 'zizhu_dash' AND "
                          "column_name IN ('person_id', 'name', 'id_number')",
                          &v));
        cr_expect_str_eq(v, "0");
        free(v);
        snprintf(cmd, sizeof(cmd),
                 "SELECT count(*) FROM (SELECT row_to_json(s)::text t FROM "
                 "zizhu_dash.settlement_line s UNION ALL SELECT "
                 "row_to_json(b)::text FROM zizhu_dash.backlog b) x WHERE t "
                 "LIKE '%%%s%%'",
                 a);
        cr_expect(as_role(&env, "zizhu_dashboard", cmd, &v));
        cr_expect_str_eq(v, "0");
        free(v);
        /* the tables stay out of reach, and nothing can be written */
        cr_expect(!as_role(&env, "zizhu_dashboard",
                           "SELECT person_id FROM zizhu.decision", NULL));
        cr_expect(!as_role(&env, "zizhu_dashboard",
                           "SELECT person_id FROM zizhu.identity_fact", NULL));
        cr_expect(!as_role(&env, "zizhu_dashboard",
                           "SELECT person_id FROM zizhu.person_pseudonym",
                           NULL));
        cr_expect(!as_role(&env, "zizhu_dashboard",
                           "CREATE TABLE zizhu_dash.x (a int)", NULL));
        cr_expect(!as_role(&env, "zizhu_dashboard",
                           "DELETE FROM zizhu_dash.settlement_line", NULL));
        zz_test_msgs_free(&ms);
        zz_test_env_drop(&env);
}

/* setup (may be NULL), then sql, on one connection of user to env's
 * database: 1 when sql succeeded. Separate statements, so that a SET
 * applies to the transaction of sql. */
static int as_role_after(const zz_test_env_t *env, const char *user,
                         const char *setup, const char *sql)
{
        char conninfo[1024];
        PGconn *c;
        PGresult *r;
        int ok;

        snprintf(conninfo, sizeof(conninfo), "%s dbname=%s user=%s",
                 env->pg_base, env->db, user);
        c = PQconnectdb(conninfo);
        cr_assert(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
        if (setup != NULL) {
                r = PQexec(c, setup);
                PQclear(r);
        }
        r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_TUPLES_OK ||
             PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        PQfinish(c);
        return ok;
}

/* Issue 14: logged in as zizhu_dashboard, pg_advisory_lock(<settlement
 * key>) made the settlement worker wait silently forever, the relay stand
 * by, a department's snapshot run block. After roles.sql the role can take
 * no advisory lock at all, nor create anything by turning
 * default_transaction_read_only off, and settlement runs while a
 * dashboard session is connected and tried. */
Test(audit_role, dashboard_role_cannot_stall_the_workers_locks, .timeout = 240)
{
        static const char *const locks[] = {
            "SELECT pg_advisory_lock(2054837076)",     /* settlement */
            "SELECT pg_try_advisory_lock(2054837076)", /* settlement */
            "SELECT pg_try_advisory_lock(2054842949)", /* relay */
            "SELECT pg_advisory_lock_shared(2054842949)",
            "SELECT pg_try_advisory_lock(hashtext('zz-feed:DPF'))",
            "SELECT pg_advisory_xact_lock(1515870810, 1)", /* a person */
            "SELECT pg_try_advisory_xact_lock_shared(1)",
        };
        static const char *const creates[] = {
            "CREATE TABLE public.x (a int)",
            "CREATE TABLE zizhu_dash.x (a int)",
            "CREATE TABLE zizhu.x (a int)",
            "CREATE TEMPORARY TABLE x (a int)",
            "CREATE SCHEMA x",
        };
        zz_test_env_t env;
        char cmd[2048], conninfo[1024], *v;
        const char *su = zz_test_getenv("ZIZHU_PG_SUPERUSER", "postgres");
        PGconn *dash;
        PGresult *r;
        size_t i;

        cr_assert(zz_test_env_new(&env, "rlk") == 0);
        snprintf(cmd, sizeof(cmd),
                 "psql -q -v ON_ERROR_STOP=1 '%s dbname=%s user=%s' -f "
                 "%s/deploy/local/roles.sql >/dev/null",
                 env.pg_base, env.db, su, ZZ_SOURCE_DIR);
        cr_assert_eq(system(cmd), 0, "roles.sql failed (superuser %s)", su);

        for (i = 0; i < sizeof(locks) / sizeof(locks[0]); i++)
                cr_expect(
                    !as_role_after(&env, "zizhu_dashboard", NULL, locks[i]),
                    "the dashboard role may run %s", locks[i]);
        for (i = 0; i < sizeof(creates) / sizeof(creates[0]); i++)
                cr_expect(!as_role_after(&env, "zizhu_dashboard",
                                         "SET default_transaction_read_only "
                                         "= off",
                                         creates[i]),
                          "the dashboard role may run %s", creates[i]);
        /* it owns nothing and may create nowhere */
        zz_test_db_conninfo(&env, env.db, conninfo, sizeof(conninfo));
        cr_expect_eq(zz_test_pg_count(conninfo,
                                      "SELECT (SELECT count(*) FROM pg_class "
                                      "WHERE relowner = "
                                      "'zizhu_dashboard'::regrole) + (SELECT "
                                      "count(*) FROM pg_namespace WHERE "
                                      "nspowner = 'zizhu_dashboard'::regrole "
                                      "OR has_schema_privilege("
                                      "'zizhu_dashboard', oid, 'CREATE'))"),
                     0);
        /* its sessions time out */
        v = zz_test_pg_text(conninfo,
                            "SELECT array_to_string(setconfig, ',') FROM "
                            "pg_db_role_setting WHERE setrole = "
                            "'zizhu_dashboard'::regrole AND setdatabase = 0");
        cr_assert(v != NULL);
        cr_expect(strstr(v, "statement_timeout=") != NULL, "%s", v);
        cr_expect(strstr(v, "idle_session_timeout=") != NULL, "%s", v);
        free(v);

        /* a dashboard session that tried the settlement lock stays
         * connected: settlement still runs to idle */
        snprintf(conninfo, sizeof(conninfo), "%s dbname=%s user=%s",
                 env.pg_base, env.db, "zizhu_dashboard");
        dash = PQconnectdb(conninfo);
        cr_assert(PQstatus(dash) == CONNECTION_OK);
        r = PQexec(dash, "SELECT pg_try_advisory_lock(2054837076)");
        PQclear(r);
        cr_expect_eq(zz_test_settle_run(&env), 0);
        PQfinish(dash);
        zz_test_env_drop(&env);
}

/* Issue 14: the dashboard role could connect to every database of the
 * cluster (PUBLIC has CONNECT by default). deploy/local/roles.sql, run by
 * the stack, closes the maintenance databases to it; the workers' role
 * keeps them. */
Test(audit_role, dashboard_role_cannot_connect_to_other_databases)
{
        const char *dbs[] = {"postgres", "template1"};
        char conninfo[1024];
        size_t i;

        for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
                PGconn *c;

                snprintf(conninfo, sizeof(conninfo),
                         "%s dbname=%s user=zizhu_dashboard",
                         getenv("ZIZHU_PG") != NULL ? getenv("ZIZHU_PG")
                                                    : "host=127.0.0.1 "
                                                      "port=15432",
                         dbs[i]);
                c = PQconnectdb(conninfo);
                cr_expect(PQstatus(c) != CONNECTION_OK,
                          "zizhu_dashboard connected to %s", dbs[i]);
                if (PQstatus(c) != CONNECTION_OK)
                        cr_expect(strstr(PQerrorMessage(c),
                                         "CONNECT privilege") != NULL,
                                  "%s", PQerrorMessage(c));
                PQfinish(c);
        }
}

/* Issue 16: the dashboard views give their times as timestamptz (the
 * milliseconds stay as closed_at_ms / decided_at_ms for older consumers),
 * and TEMPORARY is closed to PUBLIC by the migrations alone and to the
 * dashboard role after roles.sql. */
Test(audit_role, dashboard_times_are_timestamptz_and_no_temp, .timeout = 240)
{
        static const char *const types[][3] = {
            {"settlement", "closed_at", "timestamp with time zone"},
            {"settlement", "closed_at_ms", "bigint"},
            {"backlog", "decided_at", "timestamp with time zone"},
            {"backlog", "decided_at_ms", "bigint"},
        };
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        char a[19], cmd[2048], conninfo[1024], *v = NULL;
        const char *su = zz_test_getenv("ZIZHU_PG_SUPERUSER", "postgres");
        size_t i;

        cr_assert(zz_test_env_new(&env, "rts") == 0);
        zz_test_db_conninfo(&env, env.db, conninfo, sizeof(conninfo));
        /* the migrations alone, before roles.sql */
        cr_expect_eq(zz_test_pg_count(conninfo,
                                      "SELECT count(*) WHERE "
                                      "has_database_privilege('public', "
                                      "current_database(), 'TEMP')"),
                     0, "PUBLIC may create temporary tables");
        zz_test_idno("500228", "19900101", 52, a);
        zz_test_identity(&ms, a, "MCA", "MCA-T", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-09-20T08:00:00+08:00");
        zz_test_enrollment(&ms, a, 2020, 1, "ANNUAL", "2019-10-15",
                           "500155107001");
        zz_test_payment(&ms, a, 2020, 25000, 0, 0, "2019-10-15T10:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "huilong", "2020", "2019-12-20T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);
        snprintf(cmd, sizeof(cmd),
                 "psql -q -v ON_ERROR_STOP=1 '%s dbname=%s user=%s' -f "
                 "%s/deploy/local/roles.sql >/dev/null",
                 env.pg_base, env.db, su, ZZ_SOURCE_DIR);
        cr_assert_eq(system(cmd), 0, "roles.sql failed (superuser %s)", su);

        for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                char sql[512];

                snprintf(sql, sizeof(sql),
                         "SELECT data_type FROM information_schema.columns "
                         "WHERE table_schema = 'zizhu_dash' AND table_name = "
                         "'%s' AND column_name = '%s'",
                         types[i][0], types[i][1]);
                cr_expect(as_role(&env, "zizhu_dashboard", sql, &v));
                cr_expect_str_eq(v != NULL ? v : "(none)", types[i][2],
                                 "zizhu_dash.%s.%s", types[i][0], types[i][1]);
                free(v);
                v = NULL;
        }
        /* no bigint time left in any dashboard view but the _ms ones */
        cr_expect_eq(zz_test_pg_count(conninfo,
                                      "SELECT count(*) FROM "
                                      "information_schema.columns WHERE "
                                      "table_schema = 'zizhu_dash' AND "
                                      "column_name LIKE '%\\_at' AND "
                                      "data_type <> 'timestamp with time "
                                      "zone'"),
                     0);
        /* the same instants: the close was issued at 09:00 China time */
        cr_expect(as_role(&env, "zizhu_dashboard",
                          "SELECT bool_and(closed_at = "
                          "'2019-12-20T09:00:00+08:00'::timestamptz AND "
                          "closed_at = to_timestamp(closed_at_ms / 1000.0))"
                          "::text FROM zizhu_dash.settlement",
                          &v));
        cr_expect_str_eq(v != NULL ? v : "(none)", "true");
        free(v);
        v = NULL;
        cr_expect(as_role(&env, "zizhu_dashboard",
                          "SELECT (count(*) > 0 AND bool_and(decided_at = "
                          "to_timestamp(decided_at_ms / 1000.0)))::text "
                          "FROM zizhu_dash.backlog",
                          &v));
        cr_expect_str_eq(v != NULL ? v : "(none)", "true");
        free(v);
        v = NULL;
        /* TEMPORARY: not the dashboard's, neither granted nor by PUBLIC */
        cr_expect_eq(zz_test_pg_count(conninfo,
                                      "SELECT count(*) WHERE "
                                      "has_database_privilege("
                                      "'zizhu_dashboard', current_database(), "
                                      "'TEMP')"),
                     0, "the dashboard role may create temporary tables");
        cr_expect(!as_role(&env, "zizhu_dashboard",
                           "CREATE TEMPORARY TABLE t (a int)", NULL));
        cr_expect(!as_role(&env, "zizhu_dashboard",
                           "SET default_transaction_read_only = off; CREATE "
                           "TEMPORARY TABLE t (a int)",
                           NULL));
        zz_test_env_drop(&env);
}

/* Issue 12: zizhu_auditor reads every table and view of the production
 * database, ID numbers included, and writes nothing there (no DML, no
 * TEMP, no CREATE, no advisory lock, no other database); its CREATEDB
 * serves `zizhu replay`, which makes a database of the auditor's own, and
 * `zizhu audit verify` then passes as the auditor. */
Test(audit_role, auditor_reads_all_writes_nothing_and_replays, .timeout = 300)
{
        static const struct {
                const char *sql;
                int allowed;
        } ops[] = {
            {"SELECT person_id FROM zizhu.identity_fact", 1},
            {"SELECT person_id FROM zizhu.decision", 1},
            {"SELECT person_id FROM zizhu.person_pseudonym", 1},
            {"SELECT value FROM zizhu.settle_allocation", 1},
            {"SELECT masked_id FROM zizhu_dash.settlement_line", 1},
            {"INSERT INTO zizhu.consumer_position (group_id, topic, "
             "partition, next_offset, epoch) VALUES ('x', 'x', 0, 0, 0)",
             0},
            {"UPDATE zizhu.decision SET person_id = person_id", 0},
            {"DELETE FROM zizhu.settle_allocation", 0},
            {"TRUNCATE zizhu.outbox", 0},
            {"CREATE TEMPORARY TABLE x (a int)", 0},
            {"CREATE TABLE zizhu.x (a int)", 0},
            {"CREATE TABLE public.x (a int)", 0},
            {"CREATE SCHEMA x", 0},
            {"SELECT pg_try_advisory_lock(2054837076)", 0},
            {"SELECT pg_try_advisory_xact_lock(1515870810, 1)", 0},
        };
        zz_test_env_t env;
        zz_test_msgs_t ms = {0};
        char a[19], cmd[2048], auditor[1024], rdb[96], sql[256];
        const char *su = zz_test_getenv("ZIZHU_PG_SUPERUSER", "postgres");
        const char *replay[] = {"replay",     "-q", "--from-beginning",
                                "--database", NULL, "--drop",
                                NULL};
        const char *verify[] = {"audit", "verify", "--replay-db", NULL, NULL};
        PGconn *c;
        size_t i;

        cr_assert(zz_test_env_new(&env, "aud") == 0);
        zz_test_idno("500228", "19900101", 51, a);
        zz_test_identity(&ms, a, "MCA", "MCA-A", "GRANT", "MCA.DIBAO", NULL,
                         "2015-01-01", "500155", "2019-09-20T08:00:00+08:00");
        zz_test_enrollment(&ms, a, 2020, 1, "ANNUAL", "2019-10-15",
                           "500155107001");
        zz_test_payment(&ms, a, 2020, 25000, 0, 0, "2019-10-15T10:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        zz_test_close(&ms, "huilong", "2020", "2019-12-20T09:00:00+08:00");
        cr_assert(zz_test_send(&env, &ms) == 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        cr_assert_eq(zz_test_settle_run(&env), 0);
        snprintf(cmd, sizeof(cmd),
                 "psql -q -v ON_ERROR_STOP=1 '%s dbname=%s user=%s' -f "
                 "%s/deploy/local/roles.sql >/dev/null",
                 env.pg_base, env.db, su, ZZ_SOURCE_DIR);
        cr_assert_eq(system(cmd), 0, "roles.sql failed (superuser %s)", su);

        for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
                cr_expect_eq(
                    as_role_after(&env, "zizhu_auditor", NULL, ops[i].sql),
                    ops[i].allowed, "the auditor %s %s",
                    ops[i].allowed ? "may not run" : "may run", ops[i].sql);
        snprintf(auditor, sizeof(auditor), "%s dbname=postgres user=%s",
                 env.pg_base, "zizhu_auditor");
        c = PQconnectdb(auditor);
        cr_expect(PQstatus(c) != CONNECTION_OK,
                  "the auditor connected to database postgres");
        PQfinish(c);

        /* replay and verify as the auditor */
        snprintf(rdb, sizeof(rdb), "%s_replay", env.db);
        snprintf(auditor, sizeof(auditor), "%s dbname=%s user=%s", env.pg_base,
                 env.db, "zizhu_auditor");
        setenv("ZIZHU_PG", auditor, 1);
        replay[4] = rdb;
        verify[3] = rdb;
        cr_expect_eq(zz_test_run(NULL, "cli", "zizhu", replay), 0,
                     "zizhu replay as the auditor failed");
        cr_expect_eq(zz_test_run(NULL, "cli", "zizhu", verify), 0,
                     "zizhu audit verify as the auditor failed");
        /* the replay's database is the auditor's own */
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM pg_database WHERE datname = '%s' AND "
                 "datdba = 'zizhu_auditor'::regrole",
                 rdb);
        cr_expect_eq(zz_test_pg_count(auditor, sql), 1);
        snprintf(sql, sizeof(sql),
                 "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", rdb);
        cr_expect_eq(zz_test_pg_exec(auditor, sql), 0);
        zz_test_msgs_free(&ms);
        zz_test_env_drop(&env);
}
