/*
 * test_policy_diff.c — `zizhu policy diff` (issue 15 item 4) over a
 * generated population the subsidy worker has stored: yubei-2017.yaml
 * against a copy with amended tier amounts gives, per payer, fund, region
 * and kind, exactly the difference of deciding every person under each
 * version with the engine; identical files change nothing; CSV, table and
 * HTML agree; no ID number is printed; it runs as zizhu_auditor.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/arena.h"
#include "zizhu/policy.h"
#include "zizhu/settle.h"

#include "zz_test.h"

#define MAX_GROUPS 256

typedef struct group_s {
        char payer[16], fund[16], region[16], kind[24];
        long long persons, changed, before, after;
} group_t;

typedef struct groups_s {
        group_t g[MAX_GROUPS];
        size_t n;
} groups_t;

static group_t *group_find(groups_t *gs, const char *payer, const char *fund,
                           const char *region, const char *kind)
{
        size_t i;

        for (i = 0; i < gs->n; i++)
                if (strcmp(gs->g[i].payer, payer) == 0 &&
                    strcmp(gs->g[i].fund, fund) == 0 &&
                    strcmp(gs->g[i].region, region) == 0 &&
                    strcmp(gs->g[i].kind, kind) == 0)
                        return &gs->g[i];
        cr_assert_lt(gs->n, MAX_GROUPS);
        memset(&gs->g[gs->n], 0, sizeof(gs->g[0]));
        snprintf(gs->g[gs->n].payer, 16, "%s", payer);
        snprintf(gs->g[gs->n].fund, 16, "%s", fund);
        snprintf(gs->g[gs->n].region, 16, "%s", region);
        snprintf(gs->g[gs->n].kind, 24, "%s", kind);
        return &gs->g[gs->n++];
}

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf;
        long n;

        cr_assert_not_null(f, "could not read %s", path);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)n + 1);
        cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");

        cr_assert_not_null(f);
        fputs(text, f);
        cr_assert_eq(fclose(f), 0);
}

/* The policy file with every occurrence of from replaced by to. */
static char *replace_all(const char *text, const char *from, const char *to)
{
        size_t n = strlen(text) * 2 + 64, o = 0;
        char *out = malloc(n);
        const char *p = text, *q;

        while ((q = strstr(p, from)) != NULL) {
                memcpy(out + o, p, (size_t)(q - p));
                o += (size_t)(q - p);
                memcpy(out + o, to, strlen(to));
                o += strlen(to);
                p = q + strlen(from);
        }
        memcpy(out + o, p, strlen(p) + 1);
        return out;
}

/* Whether pol governs p as the worker chooses: the enrollment's region,
 * else an identity's approving region, within its jurisdiction. */
static int governs(const zz_policy_t *pol, const zz_test_person_t *p)
{
        size_t k;

        if (p->year != zz_policy_year(pol))
                return 0;
        if (p->enrolled && zz_policy_in_jurisdiction(pol, p->region))
                return 1;
        for (k = 0; k < p->n_idents; k++)
                if (zz_policy_in_jurisdiction(pol, p->idents[k].approving))
                        return 1;
        return 0;
}

/* Adds p's settlement items under pol to sums (before or after). */
static size_t items_of(const zz_policy_t *pol, const zz_test_person_t *p,
                       zz_arena_t *arena, zz_settle_item_t *items)
{
        zz_identity_t idents[2];
        zz_case_t c;
        zz_decision_t d;

        if (!governs(pol, p))
                return 0;
        zz_test_person_case(p, idents, &c);
        memset(&d, 0, sizeof(d));
        if (zz_policy_eval(pol, &c, &d, arena) != 0)
                return 0;
        return zz_settle_items(&c, &d, items);
}

/* The engine's answer: every person under each version, independently. */
static void oracle(const zz_policy_t *from, const zz_policy_t *to,
                   const zz_test_person_t *ps, size_t n, groups_t *gs)
{
        zz_arena_t *arena = zz_arena_new(0);
        size_t i, k, j;

        gs->n = 0;
        for (i = 0; i < n; i++) {
                zz_settle_item_t a[ZZ_SETTLE_ITEMS_MAX], b[ZZ_SETTLE_ITEMS_MAX];
                groups_t *mine = calloc(1, sizeof(*mine));
                size_t na, nb;

                zz_arena_reset(arena);
                na = items_of(from, &ps[i], arena, a);
                nb = items_of(to, &ps[i], arena, b);
                for (k = 0; k < na; k++)
                        group_find(mine, a[k].payer, a[k].fund, a[k].region,
                                   zz_alloc_kind_name(a[k].kind))
                            ->before += a[k].fen;
                for (k = 0; k < nb; k++)
                        group_find(mine, b[k].payer, b[k].fund, b[k].region,
                                   zz_alloc_kind_name(b[k].kind))
                            ->after += b[k].fen;
                for (j = 0; j < mine->n; j++) {
                        const group_t *m = &mine->g[j];
                        group_t *g = group_find(gs, m->payer, m->fund,
                                                m->region, m->kind);

                        g->persons++;
                        g->changed += m->before != m->after;
                        g->before += m->before;
                        g->after += m->after;
                }
                free(mine);
        }
        zz_arena_destroy(arena);
}

/* The group rows of a diff's CSV. */
static void csv_groups(const char *csv, groups_t *gs)
{
        const char *line = csv;

        gs->n = 0;
        while (line != NULL && *line != '\0') {
                char payer[16], fund[16], region[16], kind[24];
                long long persons, changed, before, after, change;

                if (sscanf(line,
                           "group,%15[^,],%15[^,],%15[^,],%23[^,],%lld,%lld,"
                           "%lld,%lld,%lld",
                           payer, fund, region, kind, &persons, &changed,
                           &before, &after, &change) == 9) {
                        group_t *g = group_find(gs, payer, fund, region, kind);

                        cr_expect_eq(g->persons, 0, "a group twice in the CSV");
                        g->persons = persons;
                        g->changed = changed;
                        g->before = before;
                        g->after = after;
                        cr_expect_eq(change, after - before);
                }
                line = strchr(line, '\n');
                if (line != NULL)
                        line++;
        }
}

/* p as known at as_of: the identities reported, the enrollment
 * registered (China day) and the payment made by then. */
static zz_test_person_t known_by(const zz_test_person_t *p, zz_ts_t as_of)
{
        zz_test_person_t k = *p;
        size_t i;

        k.n_idents = 0;
        for (i = 0; i < p->n_idents; i++)
                if (p->idents[i].reported_at <= as_of)
                        k.idents[k.n_idents++] = p->idents[i];
        if (k.enrolled && k.registered_on > zz_ts_cst_date(as_of))
                k.enrolled = 0;
        if (k.paid && k.paid_at > as_of)
                k.paid = 0;
        return k;
}

static void diff_as_of(const zz_test_env_t *env, const char *from,
                       const char *to, const char *format, const char *out,
                       const char *as_of, const char *more)
{
        char cmd[4096], opt[160] = "", *err;

        if (as_of != NULL)
                snprintf(opt, sizeof(opt), " --as-of %s", as_of);
        if (more != NULL)
                snprintf(opt + strlen(opt), sizeof(opt) - strlen(opt), " %s",
                         more);
        snprintf(cmd, sizeof(cmd),
                 "ZIZHU_PG='%s dbname=%s user=zizhu_auditor' "
                 "ZIZHU_PSEUDONYM_KEY='%s' %s/cli/zizhu policy diff --from %s "
                 "--to %s --format %s --out %s --top 5%s 2>%s.err",
                 env->pg_base, env->db, ZZ_TEST_PSEUDONYM_KEY, ZZ_BIN_DIR, from,
                 to, format, out, opt, out);
        cr_assert_eq(system(cmd), 0, "%s failed", cmd);
        /* its stderr into the test's, where a sanitizer report fails it */
        snprintf(cmd, sizeof(cmd), "%s.err", out);
        err = slurp(cmd);
        fputs(err, stderr);
        free(err);
}

static void diff(const zz_test_env_t *env, const char *from, const char *to,
                 const char *format, const char *out)
{
        diff_as_of(env, from, to, format, out, NULL, NULL);
}

/* The diff's CSV groups equal the engine's over ps. */
static size_t expect_groups(const char *csv, const zz_policy_t *pf,
                            const zz_policy_t *pt, const zz_test_person_t *ps,
                            size_t n, groups_t *want, groups_t *got)
{
        size_t i, changed = 0;

        oracle(pf, pt, ps, n, want);
        csv_groups(csv, got);
        cr_expect_eq(got->n, want->n, "groups: diff %zu, engine %zu", got->n,
                     want->n);
        for (i = 0; i < want->n; i++) {
                const group_t *w = &want->g[i];
                const group_t *g =
                    group_find(got, w->payer, w->fund, w->region, w->kind);

                cr_expect(g->persons == w->persons &&
                              g->changed == w->changed &&
                              g->before == w->before && g->after == w->after,
                          "%s %s %s %s: diff %lld/%lld %lld -> %lld, engine "
                          "%lld/%lld %lld -> %lld",
                          w->payer, w->fund, w->region, w->kind, g->persons,
                          g->changed, g->before, g->after, w->persons,
                          w->changed, w->before, w->after);
                changed += (size_t)w->changed;
        }
        return changed;
}

Test(policy_diff, amended_tiers_equal_the_engine_per_group, .timeout = 600)
{
        const size_t n = 800;
        zz_test_env_t env;
        zz_test_person_t *ps = zz_test_generate(n, 1517);
        zz_test_msgs_t ms = {0};
        const char *su = zz_test_getenv("ZIZHU_PG_SUPERUSER", "postgres");
        char orig[512], amended[512], dir[256], path[5][700], cmd[2048];
        char *text, *text2, *text3, *csv, *table, *html, *same, *err;
        zz_policy_t *pf, *pt;
        groups_t *want = calloc(1, sizeof(*want));
        groups_t *got = calloc(1, sizeof(*got));
        size_t i, changed = 0;

        cr_assert_not_null(ps);
        cr_assert_eq(zz_test_env_new(&env, "pdiff"), 0);
        zz_test_persons_msgs(&ms, ps, n);
        cr_assert_eq(zz_test_produce(&env, &ms, 0, ms.n), 0);
        cr_assert_eq(zz_test_subsidy_load(&env), 0);
        snprintf(cmd, sizeof(cmd),
                 "psql -q -v ON_ERROR_STOP=1 '%s dbname=%s user=%s' -f "
                 "%s/deploy/local/roles.sql >/dev/null",
                 env.pg_base, env.db, su, ZZ_SOURCE_DIR);
        cr_assert_eq(system(cmd), 0, "roles.sql failed (superuser %s)", su);

        /* the amendment: tier 1 150 -> 180 yuan, tier 2 350 -> 400 */
        snprintf(dir, sizeof(dir), "/tmp/%s", env.db);
        snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
        cr_assert_eq(system(cmd), 0);
        snprintf(orig, sizeof(orig), "%s/policies/yubei-2017.yaml",
                 ZZ_SOURCE_DIR);
        snprintf(amended, sizeof(amended), "%s/yubei-2017-amended.yaml", dir);
        text = slurp(orig);
        text2 = replace_all(text, "contribution_fen: 15000",
                            "contribution_fen: 18000");
        text3 = replace_all(text2, "contribution_fen: 35000",
                            "contribution_fen: 40000");
        cr_assert(strcmp(text, text3) != 0);
        write_file(amended, text3);
        free(text);
        free(text2);
        free(text3);

        for (i = 0; i < 4; i++)
                snprintf(path[i], sizeof(path[i]), "%s/diff.%zu", dir, i);
        diff(&env, orig, amended, "csv", path[0]);
        diff(&env, orig, amended, "table", path[1]);
        diff(&env, orig, amended, "html", path[2]);
        diff(&env, orig, orig, "table", path[3]);
        csv = slurp(path[0]);
        table = slurp(path[1]);
        html = slurp(path[2]);
        same = slurp(path[3]);
        snprintf(path[4], sizeof(path[4]), "%s/diff.1.err", dir);
        err = slurp(path[4]);
        fprintf(stderr, "%s\n%s", table, err);
        cr_expect(strstr(err, "persons read") != NULL, "progress on stderr");

        /* per group: the engine over every person, each version alone */
        pf = zz_policy_load_file(orig, cmd, sizeof(cmd));
        cr_assert_not_null(pf, "%s", cmd);
        pt = zz_policy_load_file(amended, cmd, sizeof(cmd));
        cr_assert_not_null(pt, "%s", cmd);
        changed = expect_groups(csv, pf, pt, ps, n, want, got);
        for (i = 0; i < want->n; i++) {
                const group_t *w = &want->g[i];
                char line[256], cell[256];

                /* the table and the HTML say the same */
                snprintf(line, sizeof(line),
                         "%-6s %-6s %-14s %-18s %10lld %10lld %16lld %16lld "
                         "%16lld\n",
                         w->payer, w->fund, w->region, w->kind, w->persons,
                         w->changed, w->before, w->after, w->after - w->before);
                cr_expect(strstr(table, line) != NULL, "table lacks: %s", line);
                snprintf(cell, sizeof(cell),
                         "<td>%s</td><td class=\"n\">%lld</td><td "
                         "class=\"n\">%lld</td><td class=\"n\">%lld</td>",
                         w->kind, w->persons, w->changed, w->before);
                cr_expect(strstr(html, cell) != NULL, "html lacks: %s", cell);
        }
        cr_expect_gt(changed, 10, "the amendment changed %zu person-years",
                     changed);
        cr_expect(strstr(html, "<svg") != NULL, "a chart");
        cr_expect(strstr(csv, "\r\nchange,") != NULL, "largest changes");
        cr_expect(strstr(csv, ",YB-") != NULL, "the rules before and after");

        /* chunks of a few persons give the same report byte for byte */
        {
                char *small;

                diff_as_of(&env, orig, amended, "csv", path[3], NULL,
                           "--chunk 37");
                small = slurp(path[3]);
                cr_expect_str_eq(small, csv);
                free(small);
        }

        /* identical files: nothing changes */
        cr_expect(strstr(same, "amount changed: 0;") != NULL, "%s", same);
        cr_expect(strstr(same, "change 0\n") != NULL, "%s", same);

        /* as of a moment: only the facts known by then, as the engine
         * decides the persons as known then */
        {
                zz_test_person_t *known = calloc(n, sizeof(*known));
                zz_ts_t as_of = zz_test_ts("2017-01-15T00:00:00+08:00") - 1;
                char *csv2;
                size_t before_all = changed, c2;

                for (i = 0; i < n; i++)
                        known[i] = known_by(&ps[i], as_of);
                diff_as_of(&env, orig, amended, "csv", path[3], "2017-01-14",
                           NULL);
                csv2 = slurp(path[3]);
                c2 = expect_groups(csv2, pf, pt, known, n, want, got);
                cr_expect(c2 > 0 && c2 < before_all,
                          "as of 2017-01-14: %zu changed, %zu with all facts",
                          c2, before_all);
                free(csv2);
                free(known);
        }

        /* never an ID number */
        for (i = 0; i < n; i++) {
                cr_expect(strstr(csv, ps[i].id) == NULL);
                cr_expect(strstr(table, ps[i].id) == NULL);
                cr_expect(strstr(html, ps[i].id) == NULL);
        }
        zz_policy_destroy(pf);
        zz_policy_destroy(pt);
        free(csv);
        free(table);
        free(html);
        free(same);
        free(err);
        free(want);
        free(got);
        free(ps);
        zz_test_msgs_free(&ms);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        cr_expect_eq(system(cmd), 0);
        zz_test_env_drop(&env);
}
