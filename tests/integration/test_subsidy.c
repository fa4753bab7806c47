/*
 * test_subsidy.c — the subsidy worker against the real broker and
 * PostgreSQL: decisions equal the policy engine's for the same facts,
 * every outbox row is published exactly once, malformed input is
 * dead-lettered with its reason, and duplicate or reordered delivery gives
 * the same final state.
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "zizhu/arena.h"
#include "zizhu/config.h"
#include "zizhu/date.h"
#include "zizhu/metrics.h"
#include "zizhu/policy.h"
#include "zizhu/relay.h"

#include "zz_test.h"

Test(subsidy, decisions_match_policy_eval)
{
        const size_t n = 3000;
        zz_test_env_t env;
        zz_test_person_t *ps = zz_test_generate(n, 12345);
        zz_test_msgs_t ms = {0};
        char errstr[512];
        zz_policy_t *pol[5] = {0};
        static const char *const files[] = {"tongnan-2021", "panzhihua-2022",
                                            "huilong-2020", "yubei-2017",
                                            "shantou-2021"};
        zz_arena_t *arena = zz_arena_new(0);
        PGconn *c;
        size_t i, compared = 0, k;

        cr_assert_not_null(ps);
        cr_assert_eq(zz_test_env_new(&env, "match"), 0);
        zz_test_persons_msgs(&ms, ps, n);
        cr_assert_eq(zz_test_produce(&env, &ms, 0, ms.n), 0);
        cr_assert_eq(zz_test_subsidy_run_to_idle(&env), 0);

        for (k = 0; k < 5; k++) {
                char path[1024];
                snprintf(path, sizeof(path), "%s/policies/%s.yaml",
                         ZZ_SOURCE_DIR, files[k]);
                pol[k] = zz_policy_load_file(path, errstr, sizeof(errstr));
                cr_assert_not_null(pol[k], "%s", errstr);
        }
        c = PQconnectdb(env.pg);
        for (i = 0; i < n; i++) {
                const zz_test_person_t *p = &ps[i];
                zz_identity_t idents[2];
                zz_case_t cs;
                zz_decision_t d;
                const zz_policy_t *use = NULL;
                char year[16];
                const char *params[2] = {p->id, year};
                PGresult *r;

                zz_test_person_case(p, idents, &cs);
                for (k = 0; k < 5 && use == NULL; k++)
                        if (zz_policy_year(pol[k]) == p->year && p->enrolled &&
                            zz_policy_in_jurisdiction(pol[k], p->region))
                                use = pol[k];
                for (k = 0; k < 5 && use == NULL; k++)
                        if (zz_policy_year(pol[k]) == p->year &&
                            p->n_idents > 0 &&
                            zz_policy_in_jurisdiction(pol[k],
                                                      p->idents[0].approving))
                                use = pol[k];
                snprintf(year, sizeof(year), "%d", p->year);
                r = PQexecParams(c,
                                 "SELECT subsidy_fen, recon_status, "
                                 "recon_fen, contribution_fen, eligible, "
                                 "policy_name FROM zizhu.decision WHERE "
                                 "person_id = $1 AND year = $2",
                                 2, NULL, params, NULL, NULL, 0);
                cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK);
                if (use == NULL ||
                    (p->n_idents == 0 && !p->enrolled && !p->paid)) {
                        cr_expect_eq(PQntuples(r), 0,
                                     "person %zu: decided without policy", i);
                        PQclear(r);
                        continue;
                }
                zz_arena_reset(arena);
                if (zz_policy_eval(use, &cs, &d, arena) != 0) {
                        cr_expect_eq(PQntuples(r), 0,
                                     "person %zu: undecidable but stored", i);
                        PQclear(r);
                        continue;
                }
                cr_assert_eq(PQntuples(r), 1, "person %zu: no decision", i);
                cr_expect_eq(strtoll(PQgetvalue(r, 0, 0), NULL, 10),
                             d.subsidy_fen, "person %zu subsidy", i);
                cr_expect_str_eq(PQgetvalue(r, 0, 1),
                                 zz_recon_status_name(d.reconciliation.status),
                                 "person %zu status", i);
                cr_expect_eq(strtoll(PQgetvalue(r, 0, 2), NULL, 10),
                             d.reconciliation.fen, "person %zu recon", i);
                cr_expect_eq(strtoll(PQgetvalue(r, 0, 3), NULL, 10),
                             d.contribution_fen, "person %zu contrib", i);
                cr_expect_str_eq(PQgetvalue(r, 0, 5), zz_policy_name(use));
                compared++;
                PQclear(r);
        }
        PQfinish(c);
        cr_expect_gt(compared, n / 2);
        cr_expect_gt(zz_test_pg_count(env.pg,
                                      "SELECT count(*) FROM zizhu.decision "
                                      "WHERE subsidy_fen > 0"),
                     100);
        cr_expect_eq(zz_test_check_published(&env), 0);
        for (k = 0; k < 5; k++)
                zz_policy_destroy(pol[k]);
        zz_arena_destroy(arena);
        zz_test_msgs_free(&ms);
        free(ps);
        zz_test_env_drop(&env);
}

/* Malformed messages mixed in: each is a dead letter with the reason. */
Test(subsidy, malformed_to_dead_letter)
{
        const size_t n = 200;
        zz_test_env_t env;
        zz_test_person_t *ps = zz_test_generate(n, 777);
        zz_test_msgs_t ms = {0}, bad = {0};
        zz_test_person_t q;
        size_t valid_msgs;
        static const char garbage[] = "not avro at all";
        unsigned char unknown_fp[16] = {0xC3, 0x01, 1, 2, 3, 4, 5, 6,
                                        7,    8,    0, 0, 0, 0, 0, 0};

        cr_assert_not_null(ps);
        cr_assert_eq(zz_test_env_new(&env, "bad"), 0);
        zz_test_persons_msgs(&ms, ps, n);
        valid_msgs = ms.n;

        /* BAD_FRAMING, UNKNOWN_SCHEMA */
        zz_test_msgs_add(&bad, ZZ_STREAM_IDENTITY, "k1", garbage,
                         sizeof(garbage));
        zz_test_msgs_add(&bad, ZZ_STREAM_PAYMENT, "k2", unknown_fp,
                         sizeof(unknown_fp));
        /* WRONG_STREAM: an enrollment on the payment topic */
        q = ps[1];
        q.enrolled = 1;
        snprintf(q.enroll_event, sizeof(q.enroll_event), "bad-ws");
        {
                zz_test_msgs_t tmp = {0};
                zz_test_person_enrollment(&tmp, &q);
                zz_test_msgs_add(&bad, ZZ_STREAM_PAYMENT, "k3", tmp.m[0].value,
                                 tmp.m[0].len);
                zz_test_msgs_free(&tmp);
        }
        /* INVALID_ID_NUMBER */
        q = ps[2];
        q.id[17] = q.id[17] == '0' ? '1' : '0';
        snprintf(q.enroll_event, sizeof(q.enroll_event), "bad-id");
        q.tier = 1;
        q.registered_on = 18000;
        snprintf(q.region, sizeof(q.region), "500152001001");
        snprintf(q.household, sizeof(q.household), "H");
        zz_test_person_enrollment(&bad, &q);
        /* UNKNOWN_CATEGORY */
        q = ps[3];
        q.idents[0] = ps[0].idents[0];
        q.idents[0].category = "MCA.FOO";
        q.idents[0].department = "MCA";
        q.idents[0].n_attrs = 0;
        q.idents[0].valid_from = 18000;
        q.idents[0].valid_to = ZZ_DATE_NONE;
        snprintf(q.idents[0].approving, sizeof(q.idents[0].approving),
                 "500152");
        snprintf(q.idents[0].event_id, sizeof(q.idents[0].event_id), "bad-cat");
        zz_test_person_identity(&bad, &q, &q.idents[0]);
        /* INVALID_DATE_RANGE */
        q.idents[0].category = "MCA.DIBAO";
        q.idents[0].valid_to = 17000;
        snprintf(q.idents[0].event_id, sizeof(q.idents[0].event_id),
                 "bad-range");
        zz_test_person_identity(&bad, &q, &q.idents[0]);
        /* MISSING_ATTRIBUTE (issue 15): a disability without its level
         * would fail every rule on level and pay 0 unnoticed */
        q.idents[0].category = "DPF.DISABLED";
        q.idents[0].department = "DPF";
        q.idents[0].n_attrs = 0;
        q.idents[0].valid_to = ZZ_DATE_NONE;
        snprintf(q.idents[0].event_id, sizeof(q.idents[0].event_id),
                 "bad-level");
        zz_test_person_identity(&bad, &q, &q.idents[0]);
        /* AMOUNT_MISMATCH and NEGATIVE_AMOUNT */
        q = ps[4];
        q.year = 2021;
        q.contribution = 28000;
        q.paid_fen = 28000;
        q.paid_at = 1600000000000LL;
        snprintf(q.pay_event, sizeof(q.pay_event), "bad-sum");
        zz_test_person_payment(&bad, &q, 100);
        snprintf(q.pay_event, sizeof(q.pay_event), "bad-neg");
        q.contribution = -5;
        q.paid_fen = -5;
        zz_test_person_payment(&bad, &q, 0);

        /* interleave: bad ones spread through the valid ones */
        {
                size_t i;
                for (i = 0; i < bad.n; i++)
                        zz_test_msgs_copy(&ms, &bad.m[i]);
        }
        cr_assert_eq(zz_test_produce(&env, &ms, 0, valid_msgs / 2), 0);
        cr_assert_eq(zz_test_produce(&env, &ms, valid_msgs, ms.n), 0);
        cr_assert_eq(zz_test_produce(&env, &ms, valid_msgs / 2, valid_msgs), 0);
        cr_assert_eq(zz_test_subsidy_run_to_idle(&env), 0);

        cr_expect_eq(
            zz_test_pg_count(env.pg, "SELECT count(*) FROM zizhu.dead_letter"),
            (long long)bad.n);
        {
                static const char *const reasons[] = {
                    "BAD_FRAMING",      "UNKNOWN_SCHEMA",
                    "WRONG_STREAM",     "INVALID_ID_NUMBER",
                    "UNKNOWN_CATEGORY", "INVALID_DATE_RANGE",
                    "AMOUNT_MISMATCH",  "NEGATIVE_AMOUNT",
                    "MISSING_ATTRIBUTE"};
                size_t i;
                for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
                        char sql[256];
                        snprintf(sql, sizeof(sql),
                                 "SELECT count(*) FROM zizhu.dead_letter "
                                 "WHERE reason = '%s'",
                                 reasons[i]);
                        cr_expect_eq(zz_test_pg_count(env.pg, sql), 1,
                                     "reason %s", reasons[i]);
                }
        }
        cr_expect_eq(zz_test_pg_count(
                         env.pg, "SELECT count(*) FROM zizhu.dead_letter "
                                 "WHERE reason = 'MISSING_ATTRIBUTE' "
                                 "AND event_id = 'bad-level' AND reason_text = "
                                 "'identity: category DPF.DISABLED requires "
                                 "attribute level'"),
                     1);
        cr_expect_eq(
            zz_test_pg_count(env.pg, "SELECT count(*) FROM zizhu.identity_fact "
                                     "WHERE event_id = 'bad-level'"),
            0);
        /* every valid event is stored */
        cr_expect_eq(zz_test_pg_count(
                         env.pg, "SELECT (SELECT count(*) FROM "
                                 "zizhu.identity_fact) + (SELECT count(*) FROM "
                                 "zizhu.enrollment_fact) + (SELECT count(*) "
                                 "FROM zizhu.payment_fact)"),
                     (long long)valid_msgs);
        cr_expect_eq(zz_test_check_published(&env), 0);
        zz_test_msgs_free(&bad);
        zz_test_msgs_free(&ms);
        free(ps);
        zz_test_env_drop(&env);
}

/* Issue 14: an enrollment in tier 3 where Tongnan's 2021 policy has tiers
 * 1 and 2 only was stored as a fact and decided as 0. It is a dead letter
 * (UNKNOWN_TIER) now; the same tier in a year no policy covers yet is a
 * fact that waits for its policy, as before. */
Test(subsidy, tier_the_policy_does_not_define_is_a_dead_letter)
{
        const size_t n = 20;
        zz_test_env_t env;
        zz_test_person_t *ps = zz_test_generate(n, 1414);
        zz_test_msgs_t ms = {0};
        zz_test_person_t q;
        size_t valid_msgs;

        cr_assert_not_null(ps);
        cr_assert_eq(zz_test_env_new(&env, "tier"), 0);
        zz_test_persons_msgs(&ms, ps, n);
        valid_msgs = ms.n;

        q = ps[0];
        q.enrolled = 1;
        q.year = 2021;
        q.tier = 3;
        q.registered_on = 18600;
        snprintf(q.region, sizeof(q.region), "500152001001");
        snprintf(q.household, sizeof(q.household), "H-tier");
        snprintf(q.enroll_event, sizeof(q.enroll_event), "tier-3-2021");
        zz_test_person_enrollment(&ms, &q);
        /* no policy for Tongnan 2024: stored, waiting */
        q = ps[1];
        q.enrolled = 1;
        q.year = 2024;
        q.tier = 3;
        q.registered_on = 19700;
        snprintf(q.region, sizeof(q.region), "500152001001");
        snprintf(q.household, sizeof(q.household), "H-wait");
        snprintf(q.enroll_event, sizeof(q.enroll_event), "tier-3-2024");
        zz_test_person_enrollment(&ms, &q);

        cr_assert_eq(zz_test_produce(&env, &ms, 0, ms.n), 0);
        cr_assert_eq(zz_test_subsidy_run_to_idle(&env), 0);

        cr_expect_eq(
            zz_test_pg_count(env.pg, "SELECT count(*) FROM zizhu.dead_letter"),
            1);
        cr_expect_eq(
            zz_test_pg_count(env.pg, "SELECT count(*) FROM zizhu.dead_letter "
                                     "WHERE reason = 'UNKNOWN_TIER' "
                                     "AND event_id = 'tier-3-2021' "
                                     "AND reason_text = 'tier 3 is not defined "
                                     "by policy tongnan-2021'"),
            1);
        cr_expect_eq(zz_test_pg_count(
                         env.pg, "SELECT count(*) FROM zizhu.enrollment_fact "
                                 "WHERE event_id = 'tier-3-2021'"),
                     0);
        cr_expect_eq(zz_test_pg_count(
                         env.pg, "SELECT count(*) FROM zizhu.enrollment_fact "
                                 "WHERE event_id = 'tier-3-2024'"),
                     1);
        cr_expect_eq(zz_test_pg_count(
                         env.pg, "SELECT (SELECT count(*) FROM "
                                 "zizhu.identity_fact) + (SELECT count(*) FROM "
                                 "zizhu.enrollment_fact) + (SELECT count(*) "
                                 "FROM zizhu.payment_fact)"),
                     (long long)valid_msgs + 1);
        cr_expect_eq(zz_test_check_published(&env), 0);
        zz_test_msgs_free(&ms);
        free(ps);
        zz_test_env_drop(&env);
}

/* The same facts in another order across topics, each twice, give the
 * same decisions as one ordinary delivery. */
Test(subsidy, duplicates_and_reordering)
{
        const size_t n = 600;
        zz_test_env_t a, b;
        zz_test_person_t *ps = zz_test_generate(n, 4242);
        zz_test_msgs_t ms = {0}, rev = {0};
        char *da, *db;
        size_t i, rows_a = 0, rows_b = 0;

        cr_assert_not_null(ps);
        zz_test_persons_msgs(&ms, ps, n);
        /* payments first, then enrollments, then identities, backwards */
        for (i = ms.n; i > 0; i--)
                zz_test_msgs_copy(&rev, &ms.m[i - 1]);

        cr_assert_eq(zz_test_env_new(&a, "orda"), 0);
        cr_assert_eq(zz_test_produce(&a, &ms, 0, ms.n), 0);
        cr_assert_eq(zz_test_subsidy_run_to_idle(&a), 0);

        cr_assert_eq(zz_test_env_new(&b, "ordb"), 0);
        /* half of the reversed stream, a run, then all of it again */
        cr_assert_eq(zz_test_produce(&b, &rev, 0, rev.n / 2), 0);
        cr_assert_eq(zz_test_subsidy_run_to_idle(&b), 0);
        cr_assert_eq(zz_test_produce(&b, &rev, 0, rev.n), 0);
        cr_assert_eq(zz_test_subsidy_run_to_idle(&b), 0);

        da = zz_test_decisions_dump(&a, &rows_a);
        db = zz_test_decisions_dump(&b, &rows_b);
        cr_expect_gt(rows_a, n / 2);
        cr_expect_eq(rows_a, rows_b);
        cr_expect(strcmp(da, db) == 0, "final decisions differ between orders");
        cr_expect_eq(
            zz_test_pg_count(b.pg, "SELECT count(*) FROM zizhu.identity_fact"),
            zz_test_pg_count(a.pg, "SELECT count(*) FROM zizhu.identity_fact"));
        cr_expect_eq(zz_test_check_published(&a), 0);
        cr_expect_eq(zz_test_check_published(&b), 0);
        free(da);
        free(db);
        zz_test_msgs_free(&ms);
        zz_test_msgs_free(&rev);
        free(ps);
        zz_test_env_drop(&a);
        zz_test_env_drop(&b);
}

static void *relay_thread(void *arg)
{
        char errstr[512];

        return (void *)(intptr_t)zz_relay_run(arg, errstr, sizeof(errstr));
}

/* Issue 14: a relay whose lock another session held stood by without a
 * word. Its gauge zz_lock_wait_seconds{lock="relay"} counts the wait. */
Test(subsidy, relay_waiting_for_its_lock_shows_in_metrics, .timeout = 60)
{
        zz_test_env_t env;
        static atomic_int stop = 0;
        zz_relay_opts_t ro;
        zz_config_t *config;
        zz_metrics_t *metrics = zz_metrics_new();
        char errstr[512];
        PGconn *holder;
        PGresult *r;
        pthread_t th;
        void *rc;

        cr_assert(zz_test_env_new(&env, "rlw") == 0);
        holder = PQconnectdb(env.pg);
        cr_assert(PQstatus(holder) == CONNECTION_OK);
        r = PQexec(holder, "SELECT pg_advisory_lock(2054842949)");
        cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK);
        PQclear(r);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert(config != NULL, "%s", errstr);
        memset(&ro, 0, sizeof(ro));
        ro.config = config;
        ro.transactional_id = "zizhu-test-relay-wait";
        ro.batch_max = 100;
        ro.metrics = metrics;
        ro.stop = &stop;
        cr_assert(pthread_create(&th, NULL, relay_thread, &ro) == 0);
        sleep(3);
        stop = 1;
        pthread_join(th, &rc);
        cr_expect_eq((intptr_t)rc, 0);
        cr_expect_geq(zz_metrics_get(metrics, "zz_lock_wait_seconds", "lock",
                                     "relay", NULL, NULL),
                      2.0);
        PQfinish(holder);
        zz_metrics_destroy(metrics);
        zz_config_destroy(config);
        zz_test_env_drop(&env);
}
