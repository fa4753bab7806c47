/*
 * cmd_audit.c — `zizhu audit verify` (replayed against published
 * allocations, byte for byte, and conservation) and `zizhu audit
 * conservation` (the live database).
 */
#include <stdio.h>
#include <string.h>

#include "zizhu/audit.h"
#include "zizhu/config.h"
#include "zizhu/settle_run.h"
#include "zizhu/log.h"
#include "zizhu/opts.h"
#include "zizhu/pg.h"
#include "zizhu/replay.h"
#include "zizhu/settle_worker.h"
#include "zz_cli.h"

static void usage(FILE *out)
{
        fprintf(out,
                "usage: zizhu audit verify --replay-db NAME "
                "[--allow-not-replayed]\n"
                "       zizhu audit conservation\n"
                "       [--policies DIR] [--config FILE] [-X key=value]\n\n"
                "verify: reads the allocation topic (read_committed) and "
                "compares every period\n"
                "the replay database closed with the published allocations, "
                "byte for byte;\n"
                "reports duplicates and checks money conservation on the "
                "replay. Prints a\n"
                "verdict; exits 1 on any difference.\n"
                "conservation: per payer, all allocations against the "
                "current decisions of the\n"
                "configured (live) database.\n\n"
                "example:\n"
                "  zizhu replay --from-beginning --database zizhu_replay "
                "--drop\n"
                "  zizhu audit verify --replay-db zizhu_replay\n\n"
                "exit status: 0 verified, 1 difference or failure, 2 usage\n");
}

struct args {
        const char *sub; /* verify | conservation */
        const char *db;  /* --replay-db */
        int allow;       /* --allow-not-replayed */
};

/* 0, or -1: return zo->exit_status. */
static int parse_args(zz_opts_t *zo, struct args *a, int argc, char **argv)
{
        const zz_opt_t table[] = {
            ZZ_OPT_STRING("replay-db", &a->db),
            ZZ_OPT_FLAG("allow-not-replayed", &a->allow, 1), ZZ_OPT_END};

        memset(a, 0, sizeof(*a));
        zz_opts_init(zo, "zizhu audit", usage,
                     ZZ_OPTS_CONFIG | ZZ_OPTS_POLICIES);
        zo->max_args = -1;
        if (zz_opts_parse(zo, table, argc, argv) != 0)
                return -1;
        if (zo->n_args == 1 && (strcmp(zo->args[0], "verify") == 0 ||
                                strcmp(zo->args[0], "conservation") == 0))
                a->sub = zo->args[0];
        if (a->sub == NULL ||
            (strcmp(a->sub, "verify") == 0 && a->db == NULL)) {
                usage(stderr);
                return -1;
        }
        return 0;
}

/* verify: the replay database against the published allocations. An exit
 * status. */
static int verify(const struct args *a, const zz_config_t *config,
                  zz_policy_t *const *policies, size_t n_pol)
{
        char conninfo[1280], errstr[1024] = "";
        zz_audit_result_t res;

        zz_replay_conninfo(zz_config_pg(config), a->db, conninfo,
                           sizeof(conninfo));
        if (zz_audit_verify(
                config, conninfo, (const zz_policy_t *const *)policies, n_pol,
                a->allow, stdout, &res, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "zizhu audit: %s\n", errstr);
                return ZZ_EXIT_FAIL;
        }
        printf("\nverdict: %s — %zu period(s) compared, %zu "
               "allocation(s) byte-identical, %zu differ, "
               "%zu duplicate(s), %zu not replayed, %zu not "
               "published, money %s\n",
               res.ok ? "PASS" : "FAIL", res.periods, res.allocations,
               res.differences, res.duplicates, res.not_replayed,
               res.not_published,
               res.conserved ? "conserved" : "NOT conserved");
        return res.ok ? ZZ_EXIT_OK : ZZ_EXIT_FAIL;
}

/* conservation: the live database. An exit status. */
static int conservation(const zz_config_t *config, zz_policy_t *const *policies,
                        size_t n_pol)
{
        char errstr[1024] = "";
        PGconn *conn = zz_pg_connect(zz_config_pg(config), "zizhu-audit",
                                     errstr, sizeof(errstr));
        int ok = 0, rc = ZZ_EXIT_FAIL;

        if (conn == NULL ||
            zz_settle_conservation(conn, (const zz_policy_t *const *)policies,
                                   n_pol, stdout, &ok, errstr,
                                   sizeof(errstr)) != 0) {
                fprintf(stderr, "zizhu audit: %s\n", errstr);
        } else {
                printf("\nverdict: %s\n",
                       ok ? "PASS — money conserved for every payer"
                          : "FAIL — allocations and current "
                            "decisions differ (facts after the last "
                            "close? close a period to settle them)");
                rc = ok ? ZZ_EXIT_OK : ZZ_EXIT_FAIL;
        }
        if (conn != NULL)
                zz_pg_finish(conn);
        return rc;
}

int zz_cmd_audit(int argc, char **argv)
{
        char errstr[1024] = "";
        int i, n_pol, rc;
        zz_policy_t *policies[64];
        zz_config_t *config;
        zz_opts_t zo;
        struct args a;

        if (parse_args(&zo, &a, argc, argv) != 0)
                return zo.exit_status;
        zz_log_set_component("audit");
        config = zz_opts_config(&zo);
        if (config == NULL)
                return ZZ_EXIT_USAGE;
        n_pol = zz_settle_load_policies(zo.policies, policies, 64, errstr,
                                        sizeof(errstr));
        if (n_pol < 0) {
                fprintf(stderr, "zizhu audit: %s\n", errstr);
                zz_config_destroy(config);
                return ZZ_EXIT_USAGE;
        }
        if (strcmp(a.sub, "verify") == 0)
                rc = verify(&a, config, policies, (size_t)n_pol);
        else
                rc = conservation(config, policies, (size_t)n_pol);
        for (i = 0; i < n_pol; i++)
                zz_policy_destroy(policies[i]);
        zz_config_destroy(config);
        return rc;
}
