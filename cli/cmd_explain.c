/*
 * cmd_explain.c — `zizhu explain --person ID --year Y [--as-of TIME]`: a
 * person's decision as it stood at a past moment, with the rule trace, the
 * facts it rested on, the revision the subsidy worker had recorded by
 * then, and what settlement has allocated for the person.
 *
 * The output goes to the officer's terminal: the header shows the masked
 * number; the ID number is only read from the command line, never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zizhu/config.h"
#include "zizhu/date.h"
#include "zizhu/idno.h"
#include "zizhu/log.h"
#include "zizhu/policy_text.h"
#include "zizhu/pg.h"
#include "zizhu/policy_json.h"
#include "zizhu/pseudonym.h"
#include "zizhu/settle_facts.h"
#include "zizhu/settle_worker.h"
#include "zz_cli.h"

static const char SQL_HISTORY_AS_OF[] =
    "SELECT revision, to_char(recorded_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'), body\n"
    "FROM zizhu.decision_history\n"
    "WHERE person_id = $1 AND year = $2 AND ($3::bigint IS NULL OR recorded_at <= to_timestamp($3::bigint / 1000.0))\n"
    "ORDER BY revision DESC\n"
    "LIMIT 1";

static const char SQL_SETTLED_LINES[] =
    "SELECT period, kind, payer, fund, region, category, rule, fen, coalesce(adjusts_period, '')\n"
    "FROM zizhu.settle_line\n"
    "WHERE pseudonym = $1 AND year = $2\n"
    "ORDER BY policy_name, period, kind, payer";

static void usage(FILE *out)
{
        fprintf(out,
                "usage: zizhu explain --person ID --year Y [--as-of TIME] "
                "[--policies DIR]\n"
                "                     [--json] [--config FILE] [-X "
                "pg=CONNINFO]\n\n"
                "Re-decides the person's insurance year from the facts "
                "known at TIME (identity\n"
                "reported_at, payment paid_at, enrollment registration day "
                "on or before it;\n"
                "default: all facts), with the full rule trace and the "
                "clause of each rule,\n"
                "and shows the revision the subsidy worker had recorded by "
                "TIME and the\n"
                "settlement lines of the person. The decision is explained "
                "in Chinese and\n"
                "English for a person to read; --json prints it in the "
                "policy-eval contract\n"
                "instead.\n\n"
                "TIME: 2019-11-30 (end of that day, China time) or "
                "2019-11-30T18:00:00+08:00\n\n"
                "example: zizhu explain --person 500228199001011235 --year "
                "2020 --as-of 2019-11-30\n\n"
                "exit status: 0 decided, 1 no fact or no policy decides the "
                "year, 2 usage\n");
}

static int parse_as_of(const char *s, long long *out)
{
        zz_ts_t ts;
        zz_date_t d;

        if (zz_ts_parse(s, strlen(s), &ts) == 0) {
                *out = ts;
                return 0;
        }
        if (zz_date_parse(s, strlen(s), &d) == 0) {
                *out = zz_ts_from_cst_date(d) + 86400000LL - 1;
                return 0;
        }
        return -1;
}

static void print_history(PGconn *conn, const char *person, int year,
                          long long as_of)
{
        char y[16], t[32], err[512];
        const char *p[3];
        PGresult *res;

        snprintf(y, sizeof(y), "%d", year);
        snprintf(t, sizeof(t), "%lld", as_of);
        p[0] = person;
        p[1] = y;
        p[2] = as_of == ZZ_AS_OF_NONE ? NULL : t;
        res =
            zz_pg_query(conn, SQL_HISTORY_AS_OF, 3, p, NULL, err, sizeof(err));
        printf("\nrecorded by the subsidy worker%s:\n",
               as_of == ZZ_AS_OF_NONE ? "" : " by then");
        if (res == NULL) {
                printf("  (could not read the history: %s)\n", err);
        } else if (PQntuples(res) == 0) {
                printf("  no revision\n");
        } else {
                json_error_t jerr;
                json_t *b = json_loads(PQgetvalue(res, 0, 2), 0, &jerr);
                json_t *f, *recon;
                size_t i;

                printf("  revision %s, recorded %s (China time)\n",
                       PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
                if (b != NULL) {
                        recon = json_object_get(b, "reconciliation");
                        printf(
                            "  subsidy %lld fen, individual due %lld fen, "
                            "reconciliation %s\n",
                            (long long)json_integer_value(
                                json_object_get(b, "subsidy_fen")),
                            (long long)json_integer_value(
                                json_object_get(b, "individual_due_fen")),
                            json_string_value(json_object_get(recon, "status"))
                                ? json_string_value(
                                      json_object_get(recon, "status"))
                                : "?");
                        json_array_foreach(json_object_get(b, "funding"), i, f)
                        {
                                printf("    %s/%s %lld fen (%s)\n",
                                       json_string_value(
                                           json_object_get(f, "payer")),
                                       json_string_value(
                                           json_object_get(f, "fund")),
                                       (long long)json_integer_value(
                                           json_object_get(f, "fen")),
                                       json_string_value(
                                           json_object_get(f, "rule")));
                        }
                        json_decref(b);
                }
        }
        PQclear(res);
}

static void print_settled(PGconn *conn, const char *pseudonym, int year)
{
        char y[16];
        const char *p[2];
        PGresult *res;
        int r;

        snprintf(y, sizeof(y), "%d", year);
        p[0] = pseudonym;
        p[1] = y;
        res = zz_pg_query(conn, SQL_SETTLED_LINES, 2, p, NULL, NULL, 0);
        printf("\nsettled (pseudonym %s):\n", pseudonym);
        if (res == NULL) {
                printf("  (could not read settlement lines)\n");
        } else if (PQntuples(res) == 0) {
                printf("  nothing settled yet\n");
        }
        for (r = 0; res != NULL && r < PQntuples(res); r++)
                printf("  %-12s %-16s %s/%s %s %s %s %s fen%s%s\n",
                       PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
                       PQgetvalue(res, r, 2), PQgetvalue(res, r, 3),
                       PQgetvalue(res, r, 4), PQgetvalue(res, r, 5),
                       PQgetvalue(res, r, 6), PQgetvalue(res, r, 7),
                       PQgetvalue(res, r, 8)[0] ? " adjusts " : "",
                       PQgetvalue(res, r, 8));
        PQclear(res);
}

int zz_cmd_explain(int argc, char **argv)
{
        const char *config_path = NULL, *person_arg = NULL, *as_of_arg = NULL;
        const char *xs[16];
        char policy_dir[4096], errstr[1024] = "", person[19], masked[19];
        long long as_of = ZZ_AS_OF_NONE;
        int n_xs = 0, year = 0, i, n_pol, rc = 1, as_json = 0;
        zz_policy_t *policies[64];
        zz_config_t *config;
        PGconn *conn;
        zz_factset_t *fs;

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
                } else if (strcmp(argv[i], "--person") == 0 && i + 1 < argc) {
                        person_arg = argv[++i];
                } else if (strcmp(argv[i], "--year") == 0 && i + 1 < argc) {
                        year = (int)strtol(argv[++i], NULL, 10);
                } else if (strcmp(argv[i], "--json") == 0) {
                        as_json = 1;
                } else if (strcmp(argv[i], "--as-of") == 0 && i + 1 < argc) {
                        as_of_arg = argv[++i];
                } else if (strcmp(argv[i], "--policies") == 0 && i + 1 < argc) {
                        snprintf(policy_dir, sizeof(policy_dir), "%s",
                                 argv[++i]);
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (person_arg == NULL || year <= 0) {
                usage(stderr);
                return 2;
        }
        if (zz_idno_normalize(person_arg, strlen(person_arg), person) !=
            ZZ_IDNO_OK) {
                fprintf(stderr, "zizhu explain: --person is not a valid ID "
                                "number\n");
                return 2;
        }
        if (as_of_arg != NULL && parse_as_of(as_of_arg, &as_of) != 0) {
                fprintf(stderr, "zizhu explain: --as-of: not a date or a "
                                "time\n");
                return 2;
        }
        zz_idno_mask(person, 18, masked);
        zz_log_set_component("explain");
        config = zz_config_load(config_path, errstr, sizeof(errstr));
        if (config == NULL) {
                fprintf(stderr, "zizhu explain: %s\n", errstr);
                return 2;
        }
        for (i = 0; i < n_xs; i++)
                zz_config_set(config, xs[i], errstr, sizeof(errstr));
        n_pol = zz_settle_load_policies(policy_dir, policies, 64, errstr,
                                        sizeof(errstr));
        if (n_pol < 0) {
                fprintf(stderr, "zizhu explain: %s\n", errstr);
                zz_config_destroy(config);
                return 2;
        }
        conn = zz_pg_connect(zz_config_pg(config), "zizhu-explain", errstr,
                             sizeof(errstr));
        if (conn == NULL) {
                fprintf(stderr, "zizhu explain: %s\n", errstr);
                goto out;
        }
        fs = zz_factset_load(conn, NULL, 0, person, as_of, errstr,
                             sizeof(errstr));
        if (fs == NULL) {
                fprintf(stderr, "zizhu explain: %s\n", errstr);
        } else {
                zz_arena_t *arena = zz_arena_new(0);
                zz_case_t c;
                zz_decision_t d;
                const zz_policy_t *pol = NULL;
                char when[40];

                printf("person %s, insurance year %d, as of %s\n", masked, year,
                       as_of == ZZ_AS_OF_NONE
                           ? "now (all facts)"
                           : zz_ts_format(as_of, when, sizeof(when)));
                if (zz_factset_count(fs) > 0)
                        pol = zz_factset_case(
                            fs, 0, year, (const zz_policy_t *const *)policies,
                            (size_t)n_pol, &c, arena);
                if (pol == NULL) {
                        printf("no fact known then puts this person-year "
                               "under a policy of ours\n");
                } else {
                        json_t *j;
                        char *text;

                        printf("policy %s (%s), version %s\n\nfacts:\n",
                               zz_policy_name(pol), zz_policy_document(pol),
                               zz_policy_version(pol));
                        zz_factset_print(fs, 0, year, stdout);
                        memset(&d, 0, sizeof(d));
                        c.name = masked;
                        if (zz_policy_eval(pol, &c, &d, arena) != 0) {
                                printf("\nnot decidable: %s\n",
                                       d.error ? d.error : "?");
                        } else if (as_json) {
                                j = zz_decision_to_json(&c, &d,
                                                        ZZ_JSON_EXPLAIN);
                                text = json_dumps(j, JSON_INDENT(2) |
                                                         JSON_PRESERVE_ORDER);
                                printf("\ndecision:\n%s\n", text);
                                free(text);
                                json_decref(j);
                                rc = 0;
                        } else {
                                printf("\n");
                                zz_policy_explain_text(stdout, pol, &c, &d);
                                rc = 0;
                        }
                }
                print_history(conn, person, year, as_of);
                if (zz_config_pseudonym_key(config) != NULL &&
                    zz_config_pseudonym_key(config)[0] != '\0') {
                        char ps[ZZ_PSEUDONYM_LEN + 1];
                        const char *key = zz_config_pseudonym_key(config);

                        if (zz_pseudonym(key, strlen(key), person, 18, ps) == 0)
                                print_settled(conn, ps, year);
                }
                zz_arena_destroy(arena);
                zz_factset_destroy(fs);
        }
        zz_pg_finish(conn);
out:
        for (i = 0; i < n_pol; i++)
                zz_policy_destroy(policies[i]);
        zz_config_destroy(config);
        return rc;
}
