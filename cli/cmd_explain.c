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
#include "zizhu/opts.h"
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

int zz_cli_parse_as_of(const char *s, long long *out)
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

struct args {
        const char *person_arg;
        const char *as_of_arg;
        int year;
        int as_json;
        char person[19]; /* normalized */
        char masked[19];
        long long as_of;
};

/* 0, or -1: return zo->exit_status. */
static int parse_args(zz_opts_t *zo, struct args *a, int argc, char **argv)
{
        const zz_opt_t table[] = {ZZ_OPT_STRING("person", &a->person_arg),
                                  ZZ_OPT_INT("year", &a->year, 1, 9999),
                                  ZZ_OPT_FLAG("json", &a->as_json, 1),
                                  ZZ_OPT_STRING("as-of", &a->as_of_arg),
                                  ZZ_OPT_END};

        memset(a, 0, sizeof(*a));
        a->as_of = ZZ_AS_OF_NONE;
        zz_opts_init(zo, "zizhu explain", usage,
                     ZZ_OPTS_CONFIG | ZZ_OPTS_POLICIES);
        if (zz_opts_parse(zo, table, argc, argv) != 0)
                return -1;
        if (a->person_arg == NULL || a->year <= 0) {
                usage(stderr);
                return -1;
        }
        if (zz_idno_normalize(a->person_arg, strlen(a->person_arg),
                              a->person) != ZZ_IDNO_OK) {
                fprintf(stderr, "zizhu explain: --person is not a valid ID "
                                "number\n");
                return -1;
        }
        if (a->as_of_arg != NULL &&
            zz_cli_parse_as_of(a->as_of_arg, &a->as_of) != 0) {
                fprintf(stderr, "zizhu explain: --as-of: not a date or a "
                                "time\n");
                return -1;
        }
        zz_idno_mask(a->person, 18, a->masked);
        return 0;
}

/* The decision the facts give, with its trace. An exit status: 0
 * decided, 1 not. */
static int print_decision(const struct args *a, zz_factset_t *fs,
                          zz_policy_t *const *policies, size_t n_pol,
                          zz_arena_t *arena)
{
        const zz_policy_t *pol = NULL;
        zz_case_t c;
        zz_decision_t d;
        json_t *j;
        char *text;

        if (zz_factset_count(fs) > 0)
                pol = zz_factset_case(fs, 0, a->year,
                                      (const zz_policy_t *const *)policies,
                                      n_pol, &c, arena);
        if (pol == NULL) {
                printf("no fact known then puts this person-year "
                       "under a policy of ours\n");
                return ZZ_EXIT_FAIL;
        }
        printf("policy %s (%s), version %s\n\nfacts:\n", zz_policy_name(pol),
               zz_policy_document(pol), zz_policy_version(pol));
        zz_factset_print(fs, 0, a->year, stdout);
        memset(&d, 0, sizeof(d));
        c.name = a->masked;
        if (zz_policy_eval(pol, &c, &d, arena) != 0) {
                printf("\nnot decidable: %s\n", d.error ? d.error : "?");
                return ZZ_EXIT_FAIL;
        }
        if (!a->as_json) {
                printf("\n");
                zz_policy_explain_text(stdout, pol, &c, &d);
                return ZZ_EXIT_OK;
        }
        j = zz_decision_to_json(&c, &d, ZZ_JSON_EXPLAIN);
        text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\ndecision:\n%s\n", text);
        free(text);
        json_decref(j);
        return ZZ_EXIT_OK;
}

/* Everything about the person-year. An exit status. */
static int explain(const struct args *a, const zz_config_t *config,
                   PGconn *conn, zz_policy_t *const *policies, size_t n_pol)
{
        const char *key = zz_config_pseudonym_key(config);
        char errstr[1024] = "", when[40];
        zz_factset_t *fs;
        zz_arena_t *arena;
        int rc;

        fs = zz_factset_load(conn, NULL, 0, a->person, a->as_of, errstr,
                             sizeof(errstr));
        if (fs == NULL) {
                fprintf(stderr, "zizhu explain: %s\n", errstr);
                return ZZ_EXIT_FAIL;
        }
        arena = zz_arena_new(0);
        printf("person %s, insurance year %d, as of %s\n", a->masked, a->year,
               a->as_of == ZZ_AS_OF_NONE
                   ? "now (all facts)"
                   : zz_ts_format(a->as_of, when, sizeof(when)));
        rc = print_decision(a, fs, policies, n_pol, arena);
        print_history(conn, a->person, a->year, a->as_of);
        if (key != NULL && key[0] != '\0') {
                char ps[ZZ_PSEUDONYM_LEN + 1];

                if (zz_pseudonym(key, strlen(key), a->person, 18, ps) == 0)
                        print_settled(conn, ps, a->year);
        }
        zz_arena_destroy(arena);
        zz_factset_destroy(fs);
        return rc;
}

int zz_cmd_explain(int argc, char **argv)
{
        char errstr[1024] = "";
        int i, n_pol, rc = ZZ_EXIT_FAIL;
        zz_policy_t *policies[64];
        zz_config_t *config;
        zz_opts_t zo;
        struct args a;
        PGconn *conn;

        if (parse_args(&zo, &a, argc, argv) != 0)
                return zo.exit_status;
        zz_log_set_component("explain");
        config = zz_opts_config(&zo);
        if (config == NULL)
                return ZZ_EXIT_USAGE;
        n_pol = zz_settle_load_policies(zo.policies, policies, 64, errstr,
                                        sizeof(errstr));
        if (n_pol < 0) {
                fprintf(stderr, "zizhu explain: %s\n", errstr);
                zz_config_destroy(config);
                return ZZ_EXIT_USAGE;
        }
        conn = zz_pg_connect(zz_config_pg(config), "zizhu-explain", errstr,
                             sizeof(errstr));
        if (conn == NULL) {
                fprintf(stderr, "zizhu explain: %s\n", errstr);
        } else {
                rc = explain(&a, config, conn, policies, (size_t)n_pol);
                zz_pg_finish(conn);
        }
        for (i = 0; i < n_pol; i++)
                zz_policy_destroy(policies[i]);
        zz_config_destroy(config);
        return rc;
}
