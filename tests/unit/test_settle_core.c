/*
 * test_settle_core.c — the pure settlement arithmetic (settle.h), without
 * broker or database: money items of decisions (split funding, refunds,
 * recoveries, unpaid), period labels, and the per-person rules that keep
 * closed periods closed.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "zizhu/settle.h"

static zz_policy_t *load(const char *name)
{
        char path[512], errstr[512];
        zz_policy_t *p;

        snprintf(path, sizeof(path), "%s/policies/%s.yaml", ZZ_SOURCE_DIR,
                 name);
        p = zz_policy_load_file(path, errstr, sizeof(errstr));
        cr_assert(p != NULL, "%s", errstr);
        return p;
}

static zz_settle_item_t item(const char *payer, const char *region,
                             const char *rule, zz_alloc_kind_t kind,
                             zz_fen_t fen)
{
        zz_settle_item_t it;

        memset(&it, 0, sizeof(it));
        snprintf(it.payer, sizeof(it.payer), "%s", payer);
        snprintf(it.fund, sizeof(it.fund), "%s", payer);
        snprintf(it.region, sizeof(it.region), "%s", region);
        snprintf(it.category, sizeof(it.category), "MCA.DIBAO");
        snprintf(it.rule, sizeof(it.rule), "%s", rule);
        it.kind = kind;
        it.fen = fen;
        return it;
}

Test(settle_core, period_labels_and_names)
{
        zz_policy_t *hl = load("huilong-2020"), *st = load("shantou-2021"),
                    *yb = load("yubei-2017");
        char buf[32];

        cr_expect_str_eq(zz_settle_period_label(hl, 0, buf, sizeof(buf)),
                         "2020");
        cr_expect_str_eq(zz_settle_period_label(hl, 1, buf, sizeof(buf)),
                         "2020S1");
        cr_expect_str_eq(zz_settle_period_label(st, 1, buf, sizeof(buf)),
                         "2021H2");
        cr_expect_str_eq(zz_settle_period_label(yb, 0, buf, sizeof(buf)),
                         "2017january");
        cr_expect_eq(zz_settle_period_index(hl, "2020"), 0);
        cr_expect_eq(zz_settle_period_index(hl, "2020S2"), 2);
        cr_expect_eq(zz_settle_period_index(st, "2021-H2"), 1);
        cr_expect_eq(zz_settle_period_index(st, "h1"), 0);
        cr_expect_eq(zz_settle_period_index(st, "2021"), -1);
        cr_expect_eq(zz_settle_period_index(yb, "2017july"), 1);
        cr_expect_eq(zz_settle_period_index(yb, "2018july"), -1);
        cr_expect(zz_settle_jurisdiction_match(hl, "huilong"));
        cr_expect(zz_settle_jurisdiction_match(hl, "huilong-2020"));
        cr_expect(!zz_settle_jurisdiction_match(hl, "hui"));
        zz_policy_destroy(hl);
        zz_policy_destroy(st);
        zz_policy_destroy(yb);
}

/* Huilong's worked example: level-1 disabled + family-planning special
 * support, tax applied MAF's part only. */
Test(settle_core, items_split_funding_and_refund)
{
        zz_policy_t *hl = load("huilong-2020");
        zz_arena_t *arena = zz_arena_new(0);
        zz_attr_t lvl = {"level", "1"}, rel = {"relation", "self"};
        zz_identity_t ids[2];
        zz_case_t c;
        zz_decision_t d;
        zz_settle_item_t items[ZZ_SETTLE_ITEMS_MAX];
        size_t n;

        memset(ids, 0, sizeof(ids));
        ids[0].category = "DPF.DISABLED";
        ids[0].attrs = &lvl;
        ids[0].n_attrs = 1;
        ids[0].valid_from = zz_date_from_ymd(2015, 3, 1);
        ids[0].valid_to = ZZ_DATE_NONE;
        ids[0].approving_region = "500155";
        ids[1] = ids[0];
        ids[1].category = "NHC.FP_SPECIAL";
        ids[1].attrs = &rel;
        zz_case_init(&c);
        c.identities = ids;
        c.n_identities = 2;
        c.has_enrollment = 1;
        c.enrollment.year = 2020;
        c.enrollment.tier = 1;
        c.enrollment.registered_on = zz_date_from_ymd(2019, 10, 15);
        c.enrollment.region = "500155107001";
        c.region = c.enrollment.region;
        memset(&d, 0, sizeof(d));
        cr_assert(zz_policy_eval(hl, &c, &d, arena) == 0);
        cr_expect_eq(zz_settle_items(&c, &d, items), 0, "not paid: nothing");
        c.has_payment = 1;
        c.payment.paid_at = zz_ts_from_cst_date(c.enrollment.registered_on);
        c.payment.contribution_fen = 25000;
        c.payment.subsidy_applied_fen = 17500;
        c.payment.paid_fen = 7500;
        memset(&d, 0, sizeof(d));
        cr_assert(zz_policy_eval(hl, &c, &d, arena) == 0);
        n = zz_settle_items(&c, &d, items);
        cr_assert_eq(n, 2);
        cr_expect_str_eq(items[0].payer, "MAF");
        cr_expect_eq(items[0].kind, ZZ_ALLOC_SUBSIDY);
        cr_expect_eq(items[0].fen, 17500);
        cr_expect_str_eq(items[0].category, "DPF.DISABLED");
        cr_expect_str_eq(items[1].payer, "NHC");
        cr_expect_eq(items[1].kind, ZZ_ALLOC_REFUND_VIA_TAX);
        cr_expect_eq(items[1].fen, 7500);
        cr_expect_str_eq(items[1].category, "NHC.FP_SPECIAL");
        cr_expect_str_eq(items[1].region, "500155107001");
        zz_arena_destroy(arena);
        zz_policy_destroy(hl);
}

Test(settle_core, person_rules)
{
        zz_settle_item_t it[2];
        zz_settle_settled_t st[1];
        zz_settle_out_t out[8];
        size_t n;

        it[0] = item("MAF", "001", "R1", ZZ_ALLOC_SUBSIDY, 17500);
        it[1] = item("NHC", "001", "R2", ZZ_ALLOC_REFUND_VIA_TAX, 7500);
        /* home period is the one closing: natural kinds */
        n = zz_settle_person(it, 2, 0, NULL, 0, 0, out, 8);
        cr_assert_eq(n, 2);
        cr_expect_eq(out[1].item.kind, ZZ_ALLOC_REFUND_VIA_TAX);
        cr_expect_eq(out[1].adjusts_period, -1);
        /* home period later (Shantou H2 at the H1 close): waits */
        cr_expect_eq(zz_settle_person(it, 2, 1, NULL, 0, 0, out, 8), 0);
        /* not paid: nothing */
        cr_expect_eq(zz_settle_person(NULL, 0, -1, NULL, 0, 0, out, 8), 0);
        /* home period closed before, never settled: adjustment of it */
        n = zz_settle_person(it, 2, 0, NULL, 0, 1, out, 8);
        cr_assert_eq(n, 2);
        cr_expect_eq(out[0].item.kind, ZZ_ALLOC_ADJUSTMENT);
        cr_expect_eq(out[0].adjusts_period, 0);
        /* settled before, unchanged net (refund executed: REFUND became
         * SUBSIDY of the same key): nothing */
        st[0].key = item("MAF", "001", "R1", ZZ_ALLOC_UNKNOWN, 17500);
        st[0].first_period = 0;
        n = zz_settle_person(it, 1, 0, st, 1, 1, out, 8);
        cr_expect_eq(n, 0);
        /* settled before, now revoked (no items): the whole key reversed */
        n = zz_settle_person(NULL, 0, -1, st, 1, 1, out, 8);
        cr_assert_eq(n, 1);
        cr_expect_eq(out[0].item.fen, -17500);
        cr_expect_eq(out[0].adjusts_period, 0);
        /* settled before, a new key appears (NHC): only the difference */
        n = zz_settle_person(it, 2, 0, st, 1, 2, out, 8);
        cr_assert_eq(n, 1);
        cr_expect_str_eq(out[0].item.payer, "NHC");
        cr_expect_eq(out[0].item.fen, 7500);
        cr_expect_eq(out[0].adjusts_period, 0);
}
