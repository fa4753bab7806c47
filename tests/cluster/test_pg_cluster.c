/*
 * test_pg_cluster.c — the cluster's PostgreSQL (deploy/cluster/pg.sh,
 * issue 12): each role may do exactly what the table pg_privileges.txt
 * says; clients without TLS, with a wrong password or trusting another CA
 * are refused; a commit on the primary is visible on the synchronous
 * standby when it returns; the multi-host conninfo with
 * target_session_attrs=read-write finds the primary whatever the order.
 *
 * Needs the cluster up (deploy/cluster/cluster.sh up, or pg.sh up): every
 * test FAILS when it is not. The client settings are read from
 * $ZIZHU_CLUSTER_STATE (default $ZZ_SOURCE_DIR/.zz/cluster)/clients.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "zz_test.h"

#define CONNINFO_MAX 2048
/* tests/data is two folders below the checkout */
#define ZZ_SOURCE_DIR_DEFAULT ZZ_TEST_DATA "/../.."

/* The cluster role whose client settings each PostgreSQL role uses. */
static const struct {
        const char *pg_role;
        const char *cluster_role;
} roles[] = {
    {"zizhu", "admin"},
    {"zizhu_dashboard", "dashboard"},
    {"zizhu_auditor", "auditor"},
};
#define N_ROLES (sizeof(roles) / sizeof(roles[0]))

static const char *source_dir(void)
{
        return zz_test_getenv("ZZ_SOURCE_DIR", ZZ_SOURCE_DIR_DEFAULT);
}

static void state_path(const char *rel, char *out, size_t size)
{
        const char *st = getenv("ZIZHU_CLUSTER_STATE");

        if (st != NULL && *st != '\0')
                snprintf(out, size, "%s/%s", st, rel);
        else
                snprintf(out, size, "%s/.zz/cluster/%s", source_dir(), rel);
}

/* The conninfo of cluster role role (its ROLE.pg.conf `pg = ...` line). */
static void role_conninfo(const char *role, char *out, size_t size)
{
        char path[1024], rel[256], line[CONNINFO_MAX];
        FILE *fp;

        snprintf(rel, sizeof(rel), "clients/%s.pg.conf", role);
        state_path(rel, path, sizeof(path));
        fp = fopen(path, "r");
        cr_assert(fp != NULL,
                  "no %s: the cluster is not up (deploy/cluster/cluster.sh "
                  "up)",
                  path);
        out[0] = '\0';
        while (fgets(line, sizeof(line), fp) != NULL) {
                char *s = line, *e;

                while (*s == ' ' || *s == '\t')
                        s++;
                if (strncmp(s, "pg", 2) != 0)
                        continue;
                s += 2;
                while (*s == ' ' || *s == '\t')
                        s++;
                if (*s != '=')
                        continue;
                s++;
                while (*s == ' ' || *s == '\t')
                        s++;
                e = s + strlen(s);
                while (e > s && (e[-1] == '\n' || e[-1] == ' '))
                        *--e = '\0';
                snprintf(out, size, "%s", s);
        }
        fclose(fp);
        cr_assert(out[0] != '\0', "%s has no pg = line", path);
}

/* A connection to the cluster with extra settings (later keywords win). */
static PGconn *connect_with(const char *base, const char *extra)
{
        char conninfo[CONNINFO_MAX * 2];

        snprintf(conninfo, sizeof(conninfo), "%s %s", base, extra);
        return PQconnectdb(conninfo);
}

/* ------------------------------------------------------------------ */
/* 1. role x operation                                                 */

typedef struct op_s {
        char name[128];
        char db[64];
        char mode[16];
        char expect[N_ROLES][8];
        char sql[1024];
        char undo[512];
} op_t;

static char *trim(char *s)
{
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
                *--e = '\0';
        return s;
}

/* The operations of pg_privileges.txt; returns their number. */
static size_t load_ops(op_t *ops, size_t max)
{
        char path[1024], line[2048];
        size_t n = 0;
        FILE *fp;

        snprintf(path, sizeof(path), "%s/tests/cluster/pg_privileges.txt",
                 source_dir());
        fp = fopen(path, "r");
        cr_assert(fp != NULL, "cannot open %s", path);
        while (fgets(line, sizeof(line), fp) != NULL) {
                char *field[8], *s = trim(line), *sep;
                size_t k = 0, r;

                if (*s == '#' || *s == '\0')
                        continue;
                while (k < 8) {
                        sep = strstr(s, " | ");
                        if (sep != NULL)
                                *sep = '\0';
                        field[k++] = trim(s);
                        if (sep == NULL)
                                break;
                        s = sep + 3;
                }
                cr_assert(k == 7 || k == 8, "%s: bad line (%zu fields): %s",
                          path, k, field[0]);
                cr_assert(n < max);
                memset(&ops[n], 0, sizeof(ops[n]));
                snprintf(ops[n].name, sizeof(ops[n].name), "%s", field[0]);
                snprintf(ops[n].db, sizeof(ops[n].db), "%s", field[1]);
                snprintf(ops[n].mode, sizeof(ops[n].mode), "%s", field[2]);
                for (r = 0; r < N_ROLES; r++) {
                        cr_assert(strcmp(field[3 + r], "allow") == 0 ||
                                      strcmp(field[3 + r], "deny") == 0,
                                  "%s: %s: expected allow or deny, not %s",
                                  path, field[0], field[3 + r]);
                        snprintf(ops[n].expect[r], sizeof(ops[n].expect[r]),
                                 "%s", field[3 + r]);
                }
                snprintf(ops[n].sql, sizeof(ops[n].sql), "%s", field[6]);
                if (k == 8)
                        snprintf(ops[n].undo, sizeof(ops[n].undo), "%s",
                                 field[7]);
                n++;
        }
        fclose(fp);
        return n;
}

/* Runs sql on c: 1 allowed, 0 denied (SQLSTATE 42501), -1 any other
 * error (detail in err). */
static int run_sql(PGconn *c, const char *sql, char *err, size_t err_size)
{
        PGresult *r = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(r);
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        int rc;

        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
                rc = 1;
        else if (state != NULL && strcmp(state, "42501") == 0)
                rc = 0;
        else
                rc = -1;
        if (rc != 1)
                snprintf(err, err_size, "%s", PQerrorMessage(c));
        PQclear(r);
        return rc;
}

/* Tries op as the cluster role role: 1 allowed, 0 denied, -1 neither. */
static int try_op(const op_t *op, const char *role, char *err, size_t err_size)
{
        char base[CONNINFO_MAX], extra[128];
        PGconn *c;
        PGresult *r;
        int rc;

        role_conninfo(role, base, sizeof(base));
        /* primary, not read-write: the dashboard's sessions are read only
         * by default (roles.sql), which read-write would refuse */
        snprintf(extra, sizeof(extra), "dbname=%s target_session_attrs=primary",
                 op->db);
        c = connect_with(base, extra);
        if (PQstatus(c) != CONNECTION_OK) {
                snprintf(err, err_size, "%s", PQerrorMessage(c));
                PQfinish(c);
                return strstr(err, "CONNECT privilege") != NULL ? 0 : -1;
        }
        /* a read-only default is one a role may turn off: what is checked
         * here is its privileges */
        r = PQexec(c, "SET default_transaction_read_only = off");
        cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK, "%s",
                  PQerrorMessage(c));
        PQclear(r);
        if (strcmp(op->mode, "tx") == 0) {
                r = PQexec(c, "BEGIN READ WRITE");
                cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK);
                PQclear(r);
                rc = run_sql(c, op->sql, err, err_size);
                r = PQexec(c, "ROLLBACK");
                PQclear(r);
        } else {
                rc = run_sql(c, op->sql, err, err_size);
                if (rc == 1 && op->undo[0] != '\0') {
                        char uerr[512];

                        cr_expect_eq(run_sql(c, op->undo, uerr, sizeof(uerr)),
                                     1, "%s: undo '%s' failed: %s", op->name,
                                     op->undo, uerr);
                }
        }
        PQfinish(c);
        return rc;
}

/* The schema the table's operations name: the migrations as the admin
 * role (idempotent; `./zz cluster` runs them too). */
static void migrate(void)
{
        char path[1024], cmd[2048];

        state_path("clients/admin.pg.conf", path, sizeof(path));
        cr_assert(access(path, R_OK) == 0,
                  "no %s: the cluster is not up (deploy/cluster/cluster.sh "
                  "up)",
                  path);
        snprintf(cmd, sizeof(cmd),
                 "env -u ZIZHU_PG -u ZIZHU_BOOTSTRAP ZIZHU_CONFIG='%s' "
                 "ZZ_SOURCE_DIR='%s' '%s/cli/zizhu' migrate >/dev/null",
                 path, source_dir(), ZZ_BIN_DIR);
        cr_assert_eq(system(cmd), 0, "zizhu migrate on the cluster failed");
}

Test(pg_cluster, role_x_operation_table, .timeout = 180)
{
        static op_t ops[64];
        size_t n, i, r, checked = 0;
        char path[1024];

        migrate();
        n = load_ops(ops, sizeof(ops) / sizeof(ops[0]));
        cr_assert_gt(n, 10);
        for (i = 0; i < n; i++) {
                for (r = 0; r < N_ROLES; r++) {
                        char err[1024] = "";
                        int want = strcmp(ops[i].expect[r], "allow") == 0;
                        int got = try_op(&ops[i], roles[r].cluster_role, err,
                                         sizeof(err));

                        cr_expect(got >= 0,
                                  "%s as %s: neither allowed nor refused for "
                                  "want of a privilege: %s",
                                  ops[i].name, roles[r].pg_role, err);
                        if (got >= 0)
                                cr_expect_eq(
                                    got, want, "%s as %s: %s, expected %s%s%s",
                                    ops[i].name, roles[r].pg_role,
                                    got ? "allowed" : "denied",
                                    ops[i].expect[r], got ? "" : ": ", err);
                        checked++;
                }
        }
        cr_expect_eq(checked, n * N_ROLES);
        /* the tax reader reads Kafka only: no PostgreSQL settings at all */
        state_path("clients/tax.pg.conf", path, sizeof(path));
        cr_expect(access(path, F_OK) != 0, "%s exists", path);
}

/* ------------------------------------------------------------------ */
/* 2. refused clients, synchronous standby                              */

static void expect_refused(const char *extra, const char *why)
{
        char base[CONNINFO_MAX];
        PGconn *c;

        role_conninfo("admin", base, sizeof(base));
        c = connect_with(base, extra);
        cr_expect(PQstatus(c) != CONNECTION_OK, "connected with %s", extra);
        if (PQstatus(c) != CONNECTION_OK)
                cr_expect(strstr(PQerrorMessage(c), why) != NULL,
                          "with %s: expected '%s' in: %s", extra, why,
                          PQerrorMessage(c));
        PQfinish(c);
}

Test(pg_cluster, plaintext_client_refused)
{
        expect_refused("sslmode=disable", "no encryption");
}

Test(pg_cluster, wrong_password_refused)
{
        expect_refused("password=not-the-password",
                       "password authentication failed");
}

Test(pg_cluster, superuser_over_tcp_refused)
{
        expect_refused("user=postgres password=x",
                       "pg_hba.conf rejects connection");
}

Test(pg_cluster, client_trusting_another_ca_refused)
{
        char cmd[1024], other[1024] = "", extra[1200];
        FILE *p;

        snprintf(cmd, sizeof(cmd), "bash '%s/deploy/cluster/ca.sh' other",
                 source_dir());
        p = popen(cmd, "r");
        cr_assert(p != NULL);
        if (fgets(other, sizeof(other), p) == NULL)
                other[0] = '\0';
        cr_assert_eq(pclose(p), 0, "ca.sh other failed");
        other[strcspn(other, "\n")] = '\0';
        cr_assert(access(other, R_OK) == 0, "no other CA at '%s'", other);
        snprintf(extra, sizeof(extra), "sslrootcert=%s", other);
        expect_refused(extra, "certificate verify failed");
        /* and sslmode=require (no verification) is not what clients use:
         * verify-full is in every client's settings */
}

Test(pg_cluster, clients_verify_the_server)
{
        char base[CONNINFO_MAX];
        size_t i;

        for (i = 0; i < N_ROLES; i++) {
                role_conninfo(roles[i].cluster_role, base, sizeof(base));
                cr_expect(strstr(base, "sslmode=verify-full") != NULL, "%s",
                          base);
                /* read-write for the roles that write; the dashboard's
                 * sessions are read only, so it asks for the primary */
                cr_expect(
                    strstr(base,
                           strcmp(roles[i].pg_role, "zizhu_dashboard") == 0
                               ? "target_session_attrs=primary"
                               : "target_session_attrs=read-write") != NULL,
                    "%s", base);
                cr_expect(strstr(base, "password=") == NULL,
                          "a password in the conninfo of %s",
                          roles[i].cluster_role);
        }
}

static char *query1(PGconn *c, const char *sql, int nparams,
                    const char *const *params)
{
        PGresult *r =
            PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
        char *v = NULL;

        cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK ||
                      PQresultStatus(r) == PGRES_COMMAND_OK,
                  "%s: %s", sql, PQerrorMessage(c));
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
                v = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        return v;
}

Test(pg_cluster, commit_on_primary_visible_on_standby, .timeout = 120)
{
        char base[CONNINFO_MAX], table[64], ins[256], sel[256], drop[128],
            key[64], cmd[1024], out[4096];
        PGconn *pri, *sby;
        char *v;
        const char *p[1];
        int i, missing = 0;
        size_t len;
        FILE *fp;

        role_conninfo("admin", base, sizeof(base));
        pri = connect_with(base, "target_session_attrs=primary");
        cr_assert(PQstatus(pri) == CONNECTION_OK, "%s", PQerrorMessage(pri));
        sby = connect_with(base, "target_session_attrs=standby");
        cr_assert(PQstatus(sby) == CONNECTION_OK, "no standby: %s",
                  PQerrorMessage(sby));
        v = query1(sby, "SELECT pg_is_in_recovery()::text", 0, NULL);
        cr_assert_str_eq(v, "true");
        free(v);

        snprintf(table, sizeof(table), "public.zz_cluster_sync_%d",
                 (int)getpid());
        snprintf(drop, sizeof(drop), "DROP TABLE %s", table);
        snprintf(cmd, sizeof(cmd), "CREATE TABLE %s (k text PRIMARY KEY)",
                 table);
        free(query1(pri, cmd, 0, NULL));
        snprintf(ins, sizeof(ins), "INSERT INTO %s (k) VALUES ($1)", table);
        snprintf(sel, sizeof(sel), "SELECT count(*)::text FROM %s WHERE k = $1",
                 table);
        /* each commit, once returned, is there on the standby at once:
         * no retry, no wait */
        for (i = 0; i < 50; i++) {
                snprintf(key, sizeof(key), "k%d", i);
                p[0] = key;
                free(query1(pri, ins, 1, p));
                v = query1(sby, sel, 1, p);
                if (v == NULL || strcmp(v, "1") != 0)
                        missing++;
                free(v);
        }
        cr_expect_eq(missing, 0,
                     "%d of 50 commits not yet visible on the standby when "
                     "the commit returned",
                     missing);
        free(query1(pri, drop, 0, NULL));
        PQfinish(sby);
        PQfinish(pri);

        /* pg.sh status shows the standby (pg2 until a failover) as
         * synchronous */
        snprintf(cmd, sizeof(cmd), "bash '%s/deploy/cluster/pg.sh' status",
                 source_dir());
        fp = popen(cmd, "r");
        cr_assert(fp != NULL);
        len = fread(out, 1, sizeof(out) - 1, fp);
        out[len] = '\0';
        cr_expect_eq(pclose(fp), 0, "pg.sh status: not all up:\n%s", out);
        cr_expect(strstr(out, "primary") != NULL, "%s", out);
        cr_expect(strstr(out, "standby") != NULL, "%s", out);
        /* the primary's row: "<standby> streaming sync" */
        cr_expect(strstr(out, " streaming sync") != NULL,
                  "no synchronous standby:\n%s", out);
}

/* ------------------------------------------------------------------ */
/* 3. multi-host conninfo                                              */

/* base with its host (and port) lists reversed: pg2 first. */
static void reversed_hosts(const char *base, char *out, size_t size)
{
        PQconninfoOption *opts, *o;
        char *err = NULL;
        size_t n = 0;

        opts = PQconninfoParse(base, &err);
        cr_assert(opts != NULL, "%s", err != NULL ? err : "bad conninfo");
        out[0] = '\0';
        for (o = opts; o->keyword != NULL; o++) {
                char val[1024];

                if (o->val == NULL)
                        continue;
                snprintf(val, sizeof(val), "%s", o->val);
                if (strcmp(o->keyword, "host") == 0 ||
                    strcmp(o->keyword, "port") == 0) {
                        char *comma = strchr(o->val, ',');

                        if (comma != NULL)
                                snprintf(val, sizeof(val), "%s,%.*s", comma + 1,
                                         (int)(comma - o->val), o->val);
                }
                n += (size_t)snprintf(out + n, size - n, "%s=%s ", o->keyword,
                                      val);
                cr_assert_lt(n, size);
        }
        PQconninfoFree(opts);
}

/* Both orders of the host list: whichever node is listed first, read-write
 * reaches the primary; in one of them the standby is first (pg2 until a
 * failover), which `any` shows, so the order is really tried. */
Test(pg_cluster, read_write_finds_the_primary_listed_second)
{
        char base[CONNINFO_MAX], rev[CONNINFO_MAX];
        const char *orders[2];
        PGconn *c;
        char *v, *primary;
        int i, standby_first = 0;

        role_conninfo("admin", base, sizeof(base));
        reversed_hosts(base, rev, sizeof(rev));
        orders[0] = base;
        orders[1] = rev;
        c = connect_with(base, "target_session_attrs=primary");
        cr_assert(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
        primary = query1(c,
                         "SELECT host(inet_server_addr()) || ':' || "
                         "inet_server_port()",
                         0, NULL);
        PQfinish(c);
        for (i = 0; i < 2; i++) {
                /* any session: the first host listed */
                c = connect_with(orders[i], "target_session_attrs=any");
                cr_assert(PQstatus(c) == CONNECTION_OK, "%s",
                          PQerrorMessage(c));
                v = query1(c, "SELECT pg_is_in_recovery()::text", 0, NULL);
                if (strcmp(v, "true") == 0)
                        standby_first++;
                free(v);
                PQfinish(c);
                /* read-write: the primary */
                c = connect_with(orders[i], "target_session_attrs=read-write");
                cr_assert(PQstatus(c) == CONNECTION_OK, "%s",
                          PQerrorMessage(c));
                v = query1(c, "SELECT pg_is_in_recovery()::text", 0, NULL);
                cr_expect_str_eq(v, "false");
                free(v);
                v = query1(c,
                           "SELECT host(inet_server_addr()) || ':' || "
                           "inet_server_port()",
                           0, NULL);
                cr_expect_str_eq(v, primary, "order %d", i);
                free(v);
                /* and it takes writes */
                free(query1(c, "CREATE TEMP TABLE zz_rw (a int)", 0, NULL));
                free(query1(c, "INSERT INTO zz_rw VALUES (1)", 0, NULL));
                PQfinish(c);
        }
        cr_expect_eq(standby_first, 1,
                     "the standby was first in %d of the 2 orders",
                     standby_first);
        free(primary);
}
