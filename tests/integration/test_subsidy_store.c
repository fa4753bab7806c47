/*
 * test_subsidy_store.c — the pieces of the subsidy worker's store that
 * exactly once rests on, against a real PostgreSQL: epoch fencing of
 * partition positions, outbox ids in commit order, array literals; and the
 * /metrics endpoint.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "zizhu/metrics.h"
#include "zizhu/store.h"

#include "zz_test.h"

static zz_test_env_t env;

static void setup(void)
{
        cr_assert_eq(zz_test_env_new(&env, "store"), 0);
}

static void teardown(void)
{
        zz_test_env_drop(&env);
}

TestSuite(subsidy_store, .init = setup, .fini = teardown);

Test(subsidy_store, lost_partition_cannot_commit)
{
        char errstr[512], sqlstate[6];
        zz_store_t *a = zz_store_new(env.pg, env.group, errstr, sizeof(errstr));
        zz_store_t *b = zz_store_new(env.pg, env.group, errstr, sizeof(errstr));
        int64_t next_a, epoch_a, next_b, epoch_b, stored = -1;

        cr_assert_not_null(a, "%s", errstr);
        cr_assert_not_null(b, "%s", errstr);
        cr_assert_eq(zz_store_claim(a, "t.identity", 3, &next_a, &epoch_a,
                                    errstr, sizeof(errstr)),
                     0, "%s", errstr);
        cr_expect_eq(next_a, -2); /* the beginning */
        cr_assert_eq(zz_store_begin(a, errstr, sizeof(errstr)), 0);
        cr_assert_eq(zz_store_lock_position(a, "t.identity", 3, epoch_a,
                                            &stored, errstr, sizeof(errstr)),
                     0);
        cr_assert_eq(zz_store_set_position(a, "t.identity", 3, 42, errstr,
                                           sizeof(errstr)),
                     0);
        cr_assert_eq(zz_store_commit(a, sqlstate, errstr, sizeof(errstr)), 0,
                     "%s", errstr);

        /* b takes the partition over and starts where a committed */
        cr_assert_eq(zz_store_claim(b, "t.identity", 3, &next_b, &epoch_b,
                                    errstr, sizeof(errstr)),
                     0);
        cr_expect_eq(next_b, 42);
        cr_expect_eq(epoch_b, epoch_a + 1);

        /* a, not knowing yet, tries another batch: fenced */
        cr_assert_eq(zz_store_begin(a, errstr, sizeof(errstr)), 0);
        cr_expect_eq(zz_store_lock_position(a, "t.identity", 3, epoch_a, NULL,
                                            errstr, sizeof(errstr)),
                     1);
        zz_store_rollback(a);

        /* b's batches go through */
        cr_assert_eq(zz_store_begin(b, errstr, sizeof(errstr)), 0);
        cr_expect_eq(zz_store_lock_position(b, "t.identity", 3, epoch_b,
                                            &stored, errstr, sizeof(errstr)),
                     0);
        cr_expect_eq(stored, 42);
        zz_store_rollback(b);
        zz_store_destroy(a);
        zz_store_destroy(b);
}

Test(subsidy_store, outbox_ids_in_commit_order)
{
        char errstr[512], sqlstate[6];
        zz_store_t *a = zz_store_new(env.pg, env.group, errstr, sizeof(errstr));
        zz_store_t *b = zz_store_new(env.pg, env.group, errstr, sizeof(errstr));
        static const unsigned char bin[4] = {0x00, 0xff, 0x22, 0x5c};

        cr_assert_not_null(a);
        cr_assert_not_null(b);
        cr_assert_eq(zz_store_begin(a, errstr, sizeof(errstr)), 0);
        cr_assert_eq(zz_store_begin(b, errstr, sizeof(errstr)), 0);
        cr_assert_eq(zz_store_outbox_append(a, "subsidy-state", "k", 1, bin,
                                            sizeof(bin)),
                     0);
        cr_assert_eq(zz_store_outbox_append(a, "dead-letter", NULL, 0, "v", 1),
                     0);
        cr_assert_eq(
            zz_store_outbox_append(b, "reconciliation", "x", 1, "y", 1), 0);
        /* b commits first: its row gets the first id */
        cr_assert_eq(zz_store_commit(b, sqlstate, errstr, sizeof(errstr)), 0,
                     "%s", errstr);
        cr_assert_eq(zz_store_commit(a, sqlstate, errstr, sizeof(errstr)), 0,
                     "%s", errstr);
        cr_expect_eq(zz_test_pg_count(env.pg,
                                      "SELECT id FROM zizhu.outbox WHERE "
                                      "stream = 'reconciliation'"),
                     1);
        cr_expect_eq(zz_test_pg_count(env.pg,
                                      "SELECT id FROM zizhu.outbox WHERE "
                                      "stream = 'subsidy-state'"),
                     2);
        cr_expect_eq(zz_test_pg_count(env.pg,
                                      "SELECT id FROM zizhu.outbox WHERE "
                                      "stream = 'dead-letter' AND key IS NULL"),
                     3);
        cr_expect_eq(zz_test_pg_count(env.pg,
                                      "SELECT count(*) FROM zizhu.outbox WHERE "
                                      "value = '\\x00ff225c'::bytea"),
                     1);
        zz_store_destroy(a);
        zz_store_destroy(b);
}

Test(subsidy_store, text_array_round_trip)
{
        const char *items[] = {"a\"b", "c\\d", NULL, "", "{x,y}", "5002X"};
        char *lit = zz_pg_text_array(items, 6);
        char errstr[512];
        zz_store_t *s = zz_store_new(env.pg, env.group, errstr, sizeof(errstr));
        const char *params[1] = {lit};
        PGresult *r;
        int i;

        cr_assert_not_null(s);
        r = zz_pg_query(zz_store_conn(s),
                        "SELECT x FROM unnest($1::text[]) WITH ORDINALITY "
                        "AS u(x, o) ORDER BY o",
                        1, params, NULL, errstr, sizeof(errstr));
        cr_assert_not_null(r, "%s", errstr);
        cr_assert_eq(PQntuples(r), 6);
        for (i = 0; i < 6; i++) {
                if (items[i] == NULL)
                        cr_expect(PQgetisnull(r, i, 0));
                else
                        cr_expect_str_eq(PQgetvalue(r, i, 0), items[i]);
        }
        PQclear(r);
        free(lit);
        zz_store_destroy(s);
}

Test(subsidy_store, metrics_endpoint)
{
        zz_metrics_t *m = zz_metrics_new();
        char errstr[256], buf[8192];
        int port = 20000 + (int)(getpid() % 20000), fd;
        struct sockaddr_in addr;
        ssize_t got, total = 0;
        const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";

        zz_metrics_add(m, "zz_events_total", "events", "topic", "zz.identity",
                       "outcome", "applied", 3);
        zz_metrics_add(m, "zz_events_total", "events", "topic", "zz.identity",
                       "outcome", "applied", 2);
        zz_metrics_observe(m, "zz_batch_seconds", "latency", 0.02);
        cr_expect_eq(zz_metrics_get(m, "zz_events_total", "topic",
                                    "zz.identity", "outcome", "applied"),
                     5);
        cr_assert_eq(zz_metrics_serve(m, port, 0, errstr, sizeof(errstr)), 0,
                     "%s", errstr);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        memset(&addr, 0, sizeof(addr));
        addr.sin_family = AF_INET;
        addr.sin_port = htons((uint16_t)port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
        cr_assert_eq(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
        while ((got = read(fd, buf + total, sizeof(buf) - 1 - (size_t)total)) >
               0)
                total += got;
        buf[total] = '\0';
        close(fd);
        cr_expect(strstr(buf, "200") != NULL);
        cr_expect(strstr(buf, "# TYPE zz_events_total counter") != NULL);
        cr_expect(strstr(buf, "zz_events_total{topic=\"zz.identity\","
                              "outcome=\"applied\"} 5") != NULL);
        cr_expect(strstr(buf, "zz_batch_seconds_bucket{le=\"0.025\"} 1") !=
                  NULL);
        cr_expect(strstr(buf, "zz_batch_seconds_count 1") != NULL);
        zz_metrics_destroy(m);
}
