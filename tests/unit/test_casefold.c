/*
 * test_casefold.c — the folding rules of casefold.h over fact rows built in
 * memory (no database): identity records folded per department record,
 * the enrollment and payment of a year chosen, the policy of a person-year
 * and the case the engine evaluates.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "zizhu/arena.h"
#include "zizhu/casefold.h"
#include "zizhu/date.h"

/* A table of text cells, row-major; NULL cells are SQL NULL. */
typedef struct table_s {
        const char *const *cells;
        int n_cols;
} table_t;

static const char *table_cell(const void *src, int row, int col)
{
        const table_t *t = src;

        return t->cells[row * t->n_cols + col];
}

static zz_rows_t rows_of(const table_t *t)
{
        zz_rows_t rows = {t, table_cell};

        return rows;
}

static zz_date_t day(const char *iso)
{
        zz_date_t d = ZZ_DATE_NONE;

        cr_assert_eq(zz_date_parse(iso, strlen(iso), &d), 0, "%s", iso);
        return d;
}

/* Day numbers as the fact queries return them. */
static char days[16][16];
static const char *dtext(int slot, const char *iso)
{
        snprintf(days[slot], sizeof(days[slot]), "%d", (int)day(iso));
        return days[slot];
}

#define P "110101199003070011"

/* Identity rows, ordered by department, record, reported_at, event id:
 * PERSON EVENT DEPT REC ACTION CAT ATTRS VFROM VTO APPROVING RESIDENCE
 * REPORTED DECEASED */
static const char *identity_cells[6 * 13];
static void fill_identities(void)
{
        const char *rows[6][13] = {
            /* DPF-1: granted, then ended */
            {P, "e1", "DPF", "DPF-1", "GRANT", "DPF.DISABLED",
             "{\"grade\": \"2\", \"kind\": \"limb\"}", dtext(0, "2019-01-01"),
             NULL, "500155107001", "500155107001", "100", NULL},
            {P, "e2", "DPF", "DPF-1", "END", "DPF.DISABLED", "{}", NULL,
             dtext(1, "2020-06-30"), "500155107001", NULL, "300", NULL},
            /* MCA-7: granted, then revoked as erroneous */
            {P, "e3", "MCA", "MCA-7", "GRANT", "MCA.DIBAO", "[1, 2]",
             dtext(2, "2019-03-01"), NULL, "500155107002", "500155107002",
             "200", NULL},
            {P, "e4", "MCA", "MCA-7", "REVOKE", "MCA.DIBAO", "{}", NULL, NULL,
             "500155107002", NULL, "400", NULL},
            /* two deaths reported: the earliest counts, no identity */
            {P, "e5", "NHC", "NHC-1", "DECEASED", "NHC.DECEASED", "{}", NULL,
             NULL, NULL, NULL, "500", dtext(3, "2020-09-01")},
            {P, "e6", "NHC", "NHC-1", "DECEASED", "NHC.DECEASED", "{}", NULL,
             NULL, NULL, NULL, "500", dtext(4, "2020-08-01")},
        };

        memcpy(identity_cells, rows, sizeof(rows));
}

Test(casefold, identities_fold_per_department_record)
{
        table_t t = {identity_cells, 13};
        zz_casefold_span_t sp = {0, 6};
        zz_casefold_person_t p;
        zz_arena_t *arena = zz_arena_new(4096);

        fill_identities();
        cr_assert_not_null(arena);
        cr_assert_eq(zz_casefold_identities(arena, rows_of(&t), sp, &p), 0);
        cr_assert_eq(p.n_identities, 2);

        /* DPF-1: the GRANT's fields, the END's valid_to, the END's event */
        cr_assert_str_eq(p.identities[0].category, "DPF.DISABLED");
        cr_assert_eq(p.identities[0].action, ZZ_ACTION_GRANT);
        cr_assert_eq(p.identities[0].valid_from, day("2019-01-01"));
        cr_assert_eq(p.identities[0].valid_to, day("2020-06-30"));
        cr_assert_eq(p.identities[0].has_reported_at, 1);
        cr_assert_eq(p.identities[0].reported_at, 100);
        cr_assert_str_eq(p.identities[0].approving_region, "500155107001");
        cr_assert_eq(p.identities[0].n_attrs, 2);
        cr_assert_str_eq(p.identities[0].attrs[0].key, "grade");
        cr_assert_str_eq(p.identities[0].attrs[0].value, "2");
        cr_assert_str_eq(p.refs[0].event_id, "e2");
        cr_assert_str_eq(p.refs[0].department, "DPF");
        cr_assert_str_eq(p.refs[0].dept_record_id, "DPF-1");

        /* MCA-7: revoked; attributes that are not an object give none */
        cr_assert_eq(p.identities[1].action, ZZ_ACTION_REVOKE);
        cr_assert_eq(p.identities[1].n_attrs, 0);
        cr_assert_str_eq(p.refs[1].event_id, "e4");

        /* the earliest death, the latest residence, the latest fact */
        cr_assert_eq(p.deceased_on, day("2020-08-01"));
        cr_assert_str_eq(p.residence, "500155107002");
        cr_assert_eq(p.identity_source.at, 500);
        cr_assert_str_eq(p.identity_source.event_id, "e6");
        zz_arena_destroy(arena);
}

Test(casefold, null_cells_read_as_absent)
{
        const char *cells[] = {NULL, "42", NULL, "7"};
        table_t t = {cells, 2};
        zz_rows_t rows = rows_of(&t);

        cr_assert_null(zz_casefold_val(rows, 0, 0));
        cr_assert_eq(zz_casefold_num(rows, 0, 0), 0);
        cr_assert_eq(zz_casefold_date(rows, 1, 0), ZZ_DATE_NONE);
        cr_assert_eq(zz_casefold_num(rows, 0, 1), 42);
        cr_assert_eq(zz_casefold_date(rows, 1, 1), 7);
        cr_assert_str_eq(zz_rows_text(rows, 0, 0), "");
}

/* PERSON EVENT DEPT REC ACTION HOUSEHOLD YEAR TIER CLASS KIND REGISTERED
 * REGION UNIT */
static const char *enrollment_cells[5 * 13];
static void fill_enrollments(void)
{
        const char *rows[5][13] = {
            {P, "n1", "MIA", "R1", "REGISTER", "H1", "2020", "1", "ADULT",
             "ANNUAL", dtext(5, "2019-10-08"), "500155107001", NULL},
            /* R2 is registered later but cancelled */
            {P, "n2", "MIA", "R2", "REGISTER", "H1", "2020", "2", "ADULT",
             "ANNUAL", dtext(6, "2019-11-01"), "500155107003", NULL},
            {P, "n3", "MIA", "R2", "CANCEL", "H1", "2020", "2", "ADULT",
             "ANNUAL", dtext(6, "2019-11-01"), "500155107003", NULL},
            /* R3: same day as R1, larger event id: chosen */
            {P, "n4", "MIA", "R3", "REGISTER", "H2", "2020", "1",
             "STUDENT_CHILD", "MID_YEAR", dtext(5, "2019-10-08"),
             "500155107004", "school-9"},
            /* another year */
            {P, "n9", "MIA", "R4", "REGISTER", "H1", "2021", "1", "COLLEGE",
             "ANNUAL", dtext(7, "2020-10-01"), "500155107005", NULL},
        };

        memcpy(enrollment_cells, rows, sizeof(rows));
}

/* PERSON EVENT YEAR CONTRIB APPLIED PAID PAID_AT */
static const char *payment_cells[3 * 7] = {
    P, "p1", "2020", "25000", "18000", "7000",  "1000",
    P, "p2", "2020", "25000", "25000", "0",     "2000",
    P, "p3", "2021", "28000", "0",     "28000", "3000",
};

Test(casefold, enrollment_of_year_not_cancelled_latest)
{
        table_t t = {enrollment_cells, 13};
        zz_casefold_span_t sp = {0, 5};

        fill_enrollments();
        cr_assert_eq(zz_casefold_enrollment(rows_of(&t), sp, 2020), 3);
        cr_assert_eq(zz_casefold_enrollment(rows_of(&t), sp, 2021), 4);
        cr_assert_eq(zz_casefold_enrollment(rows_of(&t), sp, 2019), -1);
        /* without R3, the cancelled later R2 still does not win */
        sp.end = 3;
        cr_assert_eq(zz_casefold_enrollment(rows_of(&t), sp, 2020), 0);
}

Test(casefold, payment_of_year_latest_paid)
{
        table_t t = {payment_cells, 7};
        zz_casefold_span_t sp = {0, 3};

        cr_assert_eq(zz_casefold_payment(rows_of(&t), sp, 2020), 1);
        cr_assert_eq(zz_casefold_payment(rows_of(&t), sp, 2021), 2);
        cr_assert_eq(zz_casefold_payment(rows_of(&t), sp, 2022), -1);
}

Test(casefold, case_from_chosen_rows)
{
        table_t it = {identity_cells, 13}, et = {enrollment_cells, 13},
                pt = {payment_cells, 7};
        zz_casefold_span_t isp = {0, 6};
        zz_casefold_person_t p;
        zz_case_t c;
        zz_arena_t *arena = zz_arena_new(4096);

        fill_identities();
        fill_enrollments();
        cr_assert_eq(zz_casefold_identities(arena, rows_of(&it), isp, &p), 0);
        p.person_id = P;
        zz_casefold_case(&c, &p, 2020, rows_of(&et), 3, rows_of(&pt), 1);
        cr_assert_str_eq(c.person_id, P);
        cr_assert_eq(c.n_identities, 2);
        cr_assert_eq(c.has_enrollment, 1);
        cr_assert_str_eq(c.region, "500155107004");
        cr_assert_str_eq(c.household, "H2");
        cr_assert_eq(c.enrollment.enroll_class, ZZ_CLASS_STUDENT_CHILD);
        cr_assert_eq(c.enrollment.kind, ZZ_KIND_MID_YEAR);
        cr_assert_eq(c.enrollment.registered_on, day("2019-10-08"));
        cr_assert_str_eq(c.enrollment.unit, "school-9");
        cr_assert_eq(c.has_payment, 1);
        cr_assert_eq(c.payment.contribution_fen, 25000);
        cr_assert_eq(c.payment.subsidy_applied_fen, 25000);
        cr_assert_eq(c.payment.paid_fen, 0);
        cr_assert_eq(c.payment.paid_at, 2000);

        /* no enrollment, no payment: the residence is the region */
        zz_casefold_case(&c, &p, 2020, rows_of(&et), -1, rows_of(&pt), -1);
        cr_assert_eq(c.has_enrollment, 0);
        cr_assert_eq(c.has_payment, 0);
        cr_assert_str_eq(c.region, "500155107002");
        zz_arena_destroy(arena);
}

Test(casefold, policy_by_enrollment_then_identity_regions)
{
        char path[512], err[512];
        zz_policy_t *huilong;
        const zz_policy_t *pols[1];
        table_t it = {identity_cells, 13};
        zz_casefold_span_t isp = {0, 6};
        zz_casefold_person_t p;
        zz_arena_t *arena = zz_arena_new(4096);

        snprintf(path, sizeof(path), "%s/policies/huilong-2020.yaml",
                 ZZ_SOURCE_DIR);
        huilong = zz_policy_load_file(path, err, sizeof(err));
        cr_assert_not_null(huilong, "%s", err);
        pols[0] = huilong;
        fill_identities();
        cr_assert_eq(zz_casefold_identities(arena, rows_of(&it), isp, &p), 0);

        cr_assert_eq(zz_casefold_policy_for(pols, 1, 2020, "500155107009"),
                     huilong);
        cr_assert_null(zz_casefold_policy_for(pols, 1, 2021, "500155107009"));
        cr_assert_null(zz_casefold_policy_for(pols, 1, 2020, "500101000000"));
        cr_assert_null(zz_casefold_policy_for(pols, 1, 2020, ""));
        cr_assert_null(zz_casefold_policy_for(pols, 1, 2020, NULL));
        /* enrollment region outside: the identities' regions decide */
        cr_assert_eq(zz_casefold_policy(pols, 1, 2020, &p, "500101000000"),
                     huilong);
        cr_assert_eq(zz_casefold_policy(pols, 1, 2020, &p, NULL), huilong);
        cr_assert_null(zz_casefold_policy(pols, 1, 2019, &p, NULL));
        zz_policy_destroy(huilong);
        zz_arena_destroy(arena);
}
