/*
 * cmd_audit.c — `zizhu audit verify` (replayed against published
 * allocations, byte for byte, and conservation) and `zizhu audit
 * conservation` (the live database).
 */
#include <stdio.h>
#include <string.h>

#include "zizhu/audit.h"
#include "zizhu/config.h"
#include "zizhu/log.h"
#include "zizhu/pg.h"
#include "zizhu/replay.h"
#include "zizhu/settle_run.h"
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

int zz_cmd_audit(int argc, char **argv)
{
        const char *config_path = NULL, *db = NULL, *xs[16], *sub = NULL;
        char policy_dir[4096], errstr[1024] = "", conninfo[1280];
        int n_xs = 0, i, allow = 0, n_pol, rc = 1;
        zz_policy_t *policies[64];
        zz_config_t *config;

        snprintf(policy_dir, sizeof(policy_dir), "%s/policies",
                 zz_cli_source_dir());
        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 ||
                    strcmp(argv[i], "-h") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
                        config_path = argv[++i];
                } else if (strcmp(argv[i], "-X") == 0 && i + 1 < argc &&
                           n_xs < 16) {
                        xs[n_xs++] = argv[++i];
                } else if (strcmp(argv[i], "--replay-db") == 0 &&
                           i + 1 < argc) {
                        db = argv[++i];
                } else if (strcmp(argv[i], "--allow-not-replayed") == 0) {
                        allow = 1;
                } else if (strcmp(argv[i], "--policies") == 0 && i + 1 < argc) {
                        snprintf(policy_dir, sizeof(policy_dir), "%s",
                                 argv[++i]);
                } else if (sub == NULL &&
                           (strcmp(argv[i], "verify") == 0 ||
                            strcmp(argv[i], "conservation") == 0)) {
                        sub = argv[i];
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (sub == NULL || (strcmp(sub, "verify") == 0 && db == NULL)) {
                usage(stderr);
                return 2;
        }
        zz_log_set_component("audit");
        config = zz_config_load(config_path, errstr, sizeof(errstr));
        if (config == NULL) {
                fprintf(stderr, "zizhu audit: %s\n", errstr);
                return 2;
        }
        for (i = 0; i < n_xs; i++)
                zz_config_set(config, xs[i], errstr, sizeof(errstr));
        n_pol = zz_settle_load_policies(policy_dir, policies, 64, errstr,
                                        sizeof(errstr));
        if (n_pol < 0) {
                fprintf(stderr, "zizhu audit: %s\n", errstr);
                zz_config_destroy(config);
                return 2;
        }
        if (strcmp(sub, "verify") == 0) {
                zz_audit_result_t res;

                zz_replay_conninfo(zz_config_pg(config), db, conninfo,
                                   sizeof(conninfo));
                if (zz_audit_verify(config, conninfo,
                                    (const zz_policy_t *const *)policies,
                                    (size_t)n_pol, allow, stdout, &res, errstr,
                                    sizeof(errstr)) != 0) {
                        fprintf(stderr, "zizhu audit: %s\n", errstr);
                } else {
                        printf("\nverdict: %s — %zu period(s) compared, %zu "
                               "allocation(s) byte-identical, %zu differ, "
                               "%zu duplicate(s), %zu not replayed, %zu not "
                               "published, money %s\n",
                               res.ok ? "PASS" : "FAIL", res.periods,
                               res.allocations, res.differences, res.duplicates,
                               res.not_replayed, res.not_published,
                               res.conserved ? "conserved" : "NOT conserved");
                        rc = res.ok ? 0 : 1;
                }
        } else {
                PGconn *conn =
                    zz_pg_connect(zz_config_pg(config), "zizhu-audit", errstr,
                                  sizeof(errstr));
                int ok = 0;

                if (conn == NULL ||
                    zz_settle_conservation(conn,
                                           (const zz_policy_t *const *)policies,
                                           (size_t)n_pol, stdout, &ok, errstr,
                                           sizeof(errstr)) != 0) {
                        fprintf(stderr, "zizhu audit: %s\n", errstr);
                } else {
                        printf("\nverdict: %s\n",
                               ok ? "PASS — money conserved for every payer"
                                  : "FAIL — allocations and current "
                                    "decisions differ (facts after the last "
                                    "close? close a period to settle them)");
                        rc = ok ? 0 : 1;
                }
                if (conn != NULL)
                        zz_pg_finish(conn);
        }
        for (i = 0; i < n_pol; i++)
                zz_policy_destroy(policies[i]);
        zz_config_destroy(config);
        return rc;
}
