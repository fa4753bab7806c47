/*
 * test_subsidy_findings.c — the subsidy worker's findings that are not one
 * person-year's decision: HOUSEHOLD_TIER_MISMATCH (Huilong, clause 三(一))
 * and RECORDS_IN_CONFLICT (Shantou, clause 四(六)), in zizhu.finding and on
 * the reconciliation topic (read_committed), whatever the order of delivery.
 */
#include <criterion/criterion.h>

#include "test_subsidy_harness.h"

#define HUILONG "500155107001"
#define SHANTOU "440507001001"

static void member(h_person_t *p, int i, const char *household, int tier,
                   int day, const char *event)
{
        h_locality_t loc[5];

        cr_assert_eq(h_localities(loc), 0);
        memset(p, 0, sizeof(*p));
        h_make_id(HUILONG, i, p->id);
        p->enrolled = 1;
        snprintf(p->enroll_event, sizeof(p->enroll_event), "%s", event);
        p->year = 2020;
        p->tier = tier;
        p->klass = ZZ_CLASS_ADULT;
        p->registered_on = loc[2].from + day;
        snprintf(p->region, sizeof(p->region), HUILONG);
        snprintf(p->household, sizeof(p->household), "%s", household);
}

/* An identity event with an action and a death date (DECEASED). */
static void identity(zz_codec_t *codec, const char *person, const char *event,
                     const char *record, const char *dept, const char *action,
                     const char *cat, const char *level, zz_date_t from,
                     zz_date_t deceased, h_msgs_t *out)
{
        avro_value_t r, m, e, v, b;

        zz_codec_value_new(codec, ZZ_STREAM_IDENTITY, &r);
        h_set_str(&r, "event_id", event);
        h_set_str(&r, "person_id", person);
        h_set_str(&r, "department", dept);
        h_set_str(&r, "dept_record_id", record);
        h_set_enum(&r, "action", action);
        h_set_str(&r, "category", cat);
        avro_value_get_by_name(&r, "attrs", &m, NULL);
        if (level != NULL) {
                avro_value_add(&m, "level", &e, NULL, NULL);
                avro_value_set_string(&e, level);
        }
        h_set_long(&r, "valid_from", from);
        h_set_null(&r, "valid_to");
        h_set_str(&r, "approving_region", "440507");
        h_set_null(&r, "residence_region");
        h_set_long(&r, "reported_at", zz_ts_from_cst_date(from) + 3600000);
        if (deceased == ZZ_DATE_NONE) {
                h_set_null(&r, "deceased_on");
        } else {
                avro_value_get_by_name(&r, "deceased_on", &v, NULL);
                avro_value_set_branch(&v, 1, &b);
                avro_value_set_int(&b, deceased);
        }
        h_set_enum(&r, "channel", "LIST_EXCHANGE");
        h_encode(codec, ZZ_STREAM_IDENTITY, &r, person, out);
        avro_value_decref(&r);
}

static char *dump(const h_env_t *env, const char *where)
{
        char sql[512];
        PGconn *c = PQconnectdb(env->pg);
        PGresult *r;
        size_t i, len = 0;
        char *out = calloc(1, 65536);

        snprintf(sql, sizeof(sql),
                 "SELECT kind || '|' || subject || '|' || year || '|' || "
                 "person_id || '|' || active || '|' || detail || '|' || "
                 "source_event_id || '|' || policy_name FROM zizhu.finding "
                 "WHERE %s ORDER BY kind, subject COLLATE \"C\", year",
                 where);
        r = PQexec(c, sql);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s",
                     PQerrorMessage(c));
        for (i = 0; i < (size_t)PQntuples(r); i++)
                len += (size_t)snprintf(out + len, 65536 - len, "%s\n",
                                        PQgetvalue(r, (int)i, 0));
        PQclear(r);
        PQfinish(c);
        return out;
}

/* Reconciliation outbox rows of a status, after checking every outbox row
 * is on its topic exactly once (read_committed). */
static long long published(const h_env_t *env, zz_codec_t *codec,
                           const char *status)
{
        PGconn *c = PQconnectdb(env->pg);
        PGresult *r;
        long long n = 0;
        int i;

        cr_assert_eq(h_check_published(env), 0);
        r = PQexecParams(c,
                         "SELECT value FROM zizhu.outbox WHERE stream = "
                         "'reconciliation' ORDER BY id",
                         0, NULL, NULL, NULL, NULL, 1);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK);
        for (i = 0; i < PQntuples(r); i++) {
                avro_value_t v, f;
                char errstr[256];
                int idx = 0;
                const char *sym;

                cr_assert_eq(zz_codec_decode(codec, ZZ_STREAM_RECONCILIATION,
                                             PQgetvalue(r, i, 0),
                                             (size_t)PQgetlength(r, i, 0), &v,
                                             NULL, errstr, sizeof(errstr)),
                             0, "%s", errstr);
                avro_value_get_by_name(&v, "status", &f, NULL);
                avro_value_get_enum(&f, &idx);
                sym = avro_schema_enum_get(avro_value_get_schema(&f), idx);
                if (strcmp(sym, status) == 0)
                        n++;
        }
        PQclear(r);
        PQfinish(c);
        return n;
}

static zz_codec_t *codec_new(void)
{
        char errstr[256];
        zz_codec_t *codec = zz_codec_new(errstr, sizeof(errstr));

        cr_assert_not_null(codec, "%s", errstr);
        return codec;
}

/* Two members of a Huilong household in tiers 1 and 2: one finding; the
 * second member re-registers in tier 1: it clears. */
Test(subsidy_findings, household_tier_mismatch_found_and_cleared)
{
        h_env_t env;
        zz_codec_t *codec = codec_new();
        h_person_t a, b;
        h_msgs_t ms = {0};
        char *d;

        cr_assert_eq(h_env_new(&env, "hh"), 0);
        member(&a, 1, "HH1", 1, 10, "en-a");
        member(&b, 2, "HH1", 2, 11, "en-b");
        h_enrollment_msg(codec, &a, &ms);
        h_enrollment_msg(codec, &b, &ms);
        cr_assert_eq(h_produce(&env, &ms, 0, ms.n), 0);
        cr_assert_eq(h_run_to_idle(&env, "g"), 0);

        cr_expect_eq(h_scalar(&env, "SELECT count(*) FROM zizhu.finding WHERE "
                                    "kind = 'HOUSEHOLD_TIER_MISMATCH' AND "
                                    "subject = 'HH1' AND active"),
                     1);
        d = dump(&env, "true");
        cr_expect(strstr(d, a.id) == d + strlen("HOUSEHOLD_TIER_MISMATCH|HH1|"
                                                "2020|"),
                  "keyed by the first member: %s", d);
        cr_expect(strstr(d + 40, a.id) == NULL && strstr(d, b.id) == NULL,
                  "an ID number in the detail: %s", d);
        cr_expect(strstr(d, "tier 1") != NULL && strstr(d, "tier 2") != NULL,
                  "%s", d);
        free(d);
        cr_expect_eq(published(&env, codec, "HOUSEHOLD_TIER_MISMATCH"), 1);

        /* b aligns: a later registration in tier 1 */
        member(&b, 2, "HH1", 1, 20, "en-b2");
        h_enrollment_msg(codec, &b, &ms);
        cr_assert_eq(h_produce(&env, &ms, 2, ms.n), 0);
        cr_assert_eq(h_run_to_idle(&env, "g"), 0);
        cr_expect_eq(h_scalar(&env, "SELECT count(*) FROM zizhu.finding WHERE "
                                    "active"),
                     0);
        cr_expect_eq(h_scalar(&env, "SELECT count(*) FROM zizhu.finding"), 1);
        cr_expect_eq(published(&env, codec, "HOUSEHOLD_TIER_MISMATCH"), 1);
        cr_expect_eq(h_scalar(&env, "SELECT count(*) FROM zizhu.outbox WHERE "
                                    "stream = 'reconciliation'"),
                     2, "one message when it appeared, one when it cleared");
        h_msgs_free(&ms);
        zz_codec_destroy(codec);
        h_env_drop(&env);
}

/* The same facts in two orders, in separate runs or in one: the same
 * active findings. */
Test(subsidy_findings, household_order_independent)
{
        h_env_t e1, e2;
        zz_codec_t *codec = codec_new();
        h_person_t p[4];
        h_msgs_t ms = {0};
        char *d1, *d2;
        size_t i;

        member(&p[0], 1, "HH2", 1, 10, "en-1");
        member(&p[1], 2, "HH2", 2, 11, "en-2");
        member(&p[2], 3, "HH2", 2, 12, "en-3");
        member(&p[3], 2, "HH2", 1, 30, "en-2b"); /* 2 moves to tier 1 */
        for (i = 0; i < 4; i++)
                h_enrollment_msg(codec, &p[i], &ms);

        cr_assert_eq(h_env_new(&e1, "hho1"), 0);
        for (i = 0; i < 4; i++) {
                cr_assert_eq(h_produce(&e1, &ms, i, i + 1), 0);
                cr_assert_eq(h_run_to_idle(&e1, "g"), 0);
        }
        cr_assert_eq(h_env_new(&e2, "hho2"), 0);
        cr_assert_eq(h_produce(&e2, &ms, 3, 4), 0);
        cr_assert_eq(h_produce(&e2, &ms, 1, 2), 0);
        cr_assert_eq(h_run_to_idle(&e2, "g"), 0);
        cr_assert_eq(h_produce(&e2, &ms, 2, 3), 0);
        cr_assert_eq(h_produce(&e2, &ms, 0, 1), 0);
        cr_assert_eq(h_produce(&e2, &ms, 0, 4), 0); /* duplicates */
        cr_assert_eq(h_run_to_idle(&e2, "g"), 0);

        d1 = dump(&e1, "active");
        d2 = dump(&e2, "active");
        cr_expect(strstr(d1, "HOUSEHOLD_TIER_MISMATCH|HH2|2020|") == d1, "%s",
                  d1);
        cr_expect_str_eq(d1, d2);
        cr_expect_eq(h_check_published(&e1), 0);
        cr_expect_eq(h_check_published(&e2), 0);
        free(d1);
        free(d2);
        h_msgs_free(&ms);
        zz_codec_destroy(codec);
        h_env_drop(&e1);
        h_env_drop(&e2);
}

/* Rule (a): an identity of another department starting after the reported
 * death. Rule (b): two departments, one category, different attributes on
 * the identity day. A revocation clears (b). */
Test(subsidy_findings, records_in_conflict)
{
        h_env_t env;
        zz_codec_t *codec = codec_new();
        h_locality_t loc[5];
        h_person_t a, b;
        h_msgs_t ms = {0};
        char sql[256];
        size_t first;

        cr_assert_eq(h_localities(loc), 0);
        cr_assert_eq(h_env_new(&env, "conf"), 0);
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        h_make_id(SHANTOU, 1, a.id);
        h_make_id(SHANTOU, 2, b.id);
        /* (a): death reported by NHC, MCA grants a month later */
        identity(codec, a.id, "a-death", "a-death", "NHC", "DECEASED",
                 "MCA.DIBAO", NULL, loc[4].from - 60, loc[4].from - 60, &ms);
        identity(codec, a.id, "a-dibao", "a-dibao", "MCA", "GRANT", "MCA.DIBAO",
                 NULL, loc[4].from - 30, ZZ_DATE_NONE, &ms);
        /* (b): the city and a district federation disagree on the level */
        identity(codec, b.id, "b-dpf1", "b-dpf1", "DPF", "GRANT",
                 "DPF.DISABLED", "1", loc[4].from - 100, ZZ_DATE_NONE, &ms);
        identity(codec, b.id, "b-dpf3", "b-dpf3", "DPF440507", "GRANT",
                 "DPF.DISABLED", "3", loc[4].from - 90, ZZ_DATE_NONE, &ms);
        cr_assert_eq(h_produce(&env, &ms, 0, ms.n), 0);
        cr_assert_eq(h_run_to_idle(&env, "g"), 0);

        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM zizhu.finding WHERE kind = "
                 "'RECORDS_IN_CONFLICT' AND active AND subject = '%s' AND "
                 "year = 2021",
                 a.id);
        cr_expect_eq(h_scalar(&env, sql), 1, "rule (a)");
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM zizhu.finding WHERE kind = "
                 "'RECORDS_IN_CONFLICT' AND active AND subject = '%s' AND "
                 "detail LIKE '%%DPF and DPF440507 disagree%%'",
                 b.id);
        cr_expect_eq(h_scalar(&env, sql), 1, "rule (b)");
        cr_expect_eq(published(&env, codec, "RECORDS_IN_CONFLICT"), 2);

        /* the district revokes its record: (b) clears */
        first = ms.n;
        identity(codec, b.id, "b-dpf3-rev", "b-dpf3", "DPF440507", "REVOKE",
                 "DPF.DISABLED", "3", loc[4].from - 90, ZZ_DATE_NONE, &ms);
        cr_assert_eq(h_produce(&env, &ms, first, ms.n), 0);
        cr_assert_eq(h_run_to_idle(&env, "g"), 0);
        cr_expect_eq(h_scalar(&env, sql), 0, "rule (b) cleared");
        cr_expect_eq(h_scalar(&env, "SELECT count(*) FROM zizhu.finding WHERE "
                                    "active"),
                     1);
        cr_expect_eq(published(&env, codec, "RECORDS_IN_CONFLICT"), 2);
        cr_expect_eq(published(&env, codec, "OK"), 1);
        h_msgs_free(&ms);
        zz_codec_destroy(codec);
        h_env_drop(&env);
}
