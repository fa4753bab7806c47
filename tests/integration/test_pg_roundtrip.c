/*
 * test_pg_roundtrip.c — encoded messages and int64 fen through PostgreSQL
 * and back: bytea and bigint through parameterized queries, read back in
 * binary and in text format, then decoded.
 *
 * Needs the dev stack (deploy/local/stack.sh up) or any server at $ZIZHU_PG
 * (default "host=127.0.0.1 port=15432 dbname=zizhu user=zizhu"). Uses a
 * temporary table, so it leaves nothing behind.
 */
#include <criterion/criterion.h>

#include <endian.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <libpq-fe.h>

#include "zizhu/codec.h"
#include "zizhu/event.h"
#include "zizhu/money.h"

#include "zz_test.h"

static char err[512];

static void expect_ok(PGresult *res, ExecStatusType want, const char *what)
{
        cr_assert_eq(PQresultStatus(res), want, "%s: %s", what,
                     PQresultErrorMessage(res));
}

/* The server's own database (zz_test_env_t.pg_base): a temporary table
 * is all the test needs. */
static PGconn *connect_db(void)
{
        zz_test_env_t env;
        PGconn *conn;

        zz_test_env_init(&env, "pgrt");
        conn = PQconnectdb(env.pg_base);

        cr_assert_eq(PQstatus(conn), CONNECTION_OK, "connect: %s",
                     PQerrorMessage(conn));
        return conn;
}

/* The four input events, valid, as values of the current schemas (the
 * broker test covers the output streams). */
static void input_values(zz_codec_t *codec, avro_value_t values[4])
{
        static const zz_event_attr_t attrs[] = {{"level", "1"}};
        zz_event_identity_t id;
        zz_event_enrollment_t en;
        zz_event_payment_t pay;
        zz_event_control_t ctl;
        int i;

        for (i = 0; i < 4; i++)
                cr_assert_eq(
                    zz_codec_value_new(codec, (zz_stream_t)i, &values[i]), 0);
        memset(&id, 0, sizeof(id));
        id.event_id = "DPF-1";
        id.person_id = "11010519491231002X";
        id.department = "DPF";
        id.dept_record_id = "D-1";
        id.action = ZZ_IDENTITY_ACTION_GRANT;
        id.category = "DPF.DISABLED";
        id.attrs = attrs;
        id.attrs_count = 1;
        id.valid_from = 16495;
        id.valid_to = ZZ_DATE_NONE;
        id.approving_region = "500155";
        id.residence_region = "500155107001";
        id.reported_at = INT64_C(1568937600000);
        id.deceased_on = ZZ_DATE_NONE;
        id.channel = ZZ_CHANNEL_REALTIME;
        cr_assert_eq(
            zz_event_identity_to_value(&id, &values[0], err, sizeof(err)), 0,
            "%s", err);
        memset(&en, 0, sizeof(en));
        en.event_id = "NHSA-1";
        en.person_id = id.person_id;
        en.department = "NHSA";
        en.dept_record_id = "E-1";
        en.action = ZZ_ENROLLMENT_ACTION_REGISTER;
        en.household_id = "H0193";
        en.year = 2020;
        en.tier = 1;
        en.enrollment_class = ZZ_ENROLLMENT_CLASS_ADULT;
        en.kind = ZZ_ENROLLMENT_KIND_ANNUAL;
        en.registered_on = 18184;
        en.region = "500155107001";
        en.reported_at = INT64_C(1571097600000);
        cr_assert_eq(
            zz_event_enrollment_to_value(&en, &values[1], err, sizeof(err)), 0,
            "%s", err);
        memset(&pay, 0, sizeof(pay));
        pay.event_id = "TAX-1";
        pay.person_id = id.person_id;
        pay.department = "TAX";
        pay.dept_record_id = "T-1";
        pay.kind = ZZ_PAYMENT_KIND_PAYMENT;
        pay.year = 2020;
        pay.contribution_fen = 25000;
        pay.subsidy_applied_fen = 17500;
        pay.paid_fen = 7500;
        pay.paid_at = INT64_C(1571104800000);
        pay.receipt = "R-1";
        cr_assert_eq(
            zz_event_payment_to_value(&pay, &values[2], err, sizeof(err)), 0,
            "%s", err);
        memset(&ctl, 0, sizeof(ctl));
        ctl.event_id = "CTL-1";
        ctl.department = "NHSA";
        ctl.dept_record_id = "N-1";
        ctl.command = ZZ_CONTROL_CLOSE_PERIOD;
        ctl.jurisdiction = "huilong";
        ctl.period = "2020";
        ctl.issued_at = INT64_C(1576000000000);
        cr_assert_eq(
            zz_event_control_to_value(&ctl, &values[3], err, sizeof(err)), 0,
            "%s", err);
}

static const zz_fen_t fens[] = {0,          1,           -1,        17500,
                                ZZ_FEN_MAX, -ZZ_FEN_MAX, INT64_MAX, INT64_MIN};
#define NFEN (sizeof(fens) / sizeof(fens[0]))

Test(pg, bytea_and_fen_round_trip, .timeout = 60)
{
        zz_codec_t *codec = zz_codec_new(err, sizeof(err));
        zz_codec_buf_t bufs[4];
        avro_value_t values[4];
        PGconn *conn;
        PGresult *res;
        size_t row, nrows = 0;
        int i;

        cr_assert_not_null(codec, "%s", err);
        memset(bufs, 0, sizeof(bufs));
        input_values(codec, values);
        for (i = 0; i < 4; i++)
                cr_assert_eq(zz_codec_encode(codec, (zz_stream_t)i, &values[i],
                                             &bufs[i], err, sizeof(err)),
                             0, "%s", err);

        conn = connect_db();
        res = PQexec(conn, "CREATE TEMP TABLE zz_codec_rt ("
                           "id bigserial PRIMARY KEY, stream text NOT NULL, "
                           "payload bytea NOT NULL, fen bigint NOT NULL)");
        expect_ok(res, PGRES_COMMAND_OK, "create table");
        PQclear(res);

        /* Every input message with every fen edge value: payload and fen as
         * binary parameters, stream as text. */
        for (i = 0; i < 4; i++) {
                size_t f;
                for (f = 0; f < NFEN; f++) {
                        uint64_t be = htobe64((uint64_t)fens[f]);
                        const char *params[3] = {zz_stream_name(i),
                                                 (const char *)bufs[i].data,
                                                 (const char *)&be};
                        int lengths[3] = {0, (int)bufs[i].len, 8};
                        int formats[3] = {0, 1, 1};
                        Oid types[3] = {25, 17, 20}; /* text bytea int8 */
                        res =
                            PQexecParams(conn,
                                         "INSERT INTO zz_codec_rt (stream, "
                                         "payload, fen) VALUES ($1, $2, $3)",
                                         3, types, params, lengths, formats, 0);
                        expect_ok(res, PGRES_COMMAND_OK, "insert");
                        PQclear(res);
                        nrows++;
                }
        }

        /* Binary results: raw bytes and big-endian int8. */
        res = PQexecParams(conn,
                           "SELECT stream, payload, fen FROM zz_codec_rt "
                           "ORDER BY id",
                           0, NULL, NULL, NULL, NULL, 1);
        expect_ok(res, PGRES_TUPLES_OK, "select binary");
        cr_assert_eq((size_t)PQntuples(res), nrows);
        for (row = 0; row < nrows; row++) {
                int s = (int)(row / NFEN);
                const char *stream = PQgetvalue(res, (int)row, 0);
                const unsigned char *payload =
                    (const unsigned char *)PQgetvalue(res, (int)row, 1);
                size_t len = (size_t)PQgetlength(res, (int)row, 1);
                uint64_t be;
                avro_value_t decoded;
                zz_stream_t st;

                cr_assert_eq(PQgetlength(res, (int)row, 2), 8);
                memcpy(&be, PQgetvalue(res, (int)row, 2), 8);
                cr_expect_eq((int64_t)be64toh(be), fens[row % NFEN]);
                cr_assert_eq(zz_stream_from_name(stream, strlen(stream), &st),
                             0);
                cr_expect_eq(st, s);
                cr_assert_eq(len, bufs[s].len);
                cr_expect_eq(memcmp(payload, bufs[s].data, len), 0);
                cr_assert_eq(zz_codec_decode(codec, st, payload, len, &decoded,
                                             NULL, err, sizeof(err)),
                             0, "%s", err);
                cr_expect(avro_value_equal(&values[s], &decoded));
        }
        PQclear(res);

        /* Text results: bytea in hex, unescaped; fen as decimal. */
        res = PQexecParams(conn,
                           "SELECT payload, fen::text FROM zz_codec_rt "
                           "ORDER BY id",
                           0, NULL, NULL, NULL, NULL, 0);
        expect_ok(res, PGRES_TUPLES_OK, "select text");
        for (row = 0; row < nrows; row++) {
                int s = (int)(row / NFEN);
                size_t len = 0;
                unsigned char *payload = PQunescapeBytea(
                    (const unsigned char *)PQgetvalue(res, (int)row, 0), &len);
                avro_value_t decoded;
                char want[32];

                cr_assert_not_null(payload);
                snprintf(want, sizeof(want), "%" PRId64, fens[row % NFEN]);
                cr_expect_str_eq(PQgetvalue(res, (int)row, 1), want);
                cr_assert_eq(zz_codec_decode(codec, (zz_stream_t)s, payload,
                                             len, &decoded, NULL, err,
                                             sizeof(err)),
                             0, "%s", err);
                cr_expect(avro_value_equal(&values[s], &decoded));
                PQfreemem(payload);
        }
        PQclear(res);

        /* A corrupted payload read back from the database is refused. */
        res = PQexec(conn, "UPDATE zz_codec_rt SET payload = "
                           "overlay(payload placing '\\xff'::bytea from 12) "
                           "WHERE id = 1");
        expect_ok(res, PGRES_COMMAND_OK, "update");
        PQclear(res);
        res = PQexecParams(conn, "SELECT payload FROM zz_codec_rt WHERE id = 1",
                           0, NULL, NULL, NULL, NULL, 1);
        expect_ok(res, PGRES_TUPLES_OK, "select corrupted");
        {
                avro_value_t decoded;
                zz_codec_err_t code;
                cr_expect_eq(zz_codec_decode(codec, ZZ_STREAM_IDENTITY,
                                             PQgetvalue(res, 0, 0),
                                             (size_t)PQgetlength(res, 0, 0),
                                             &decoded, &code, err, sizeof(err)),
                             -1);
                cr_expect_eq(code, ZZ_CODEC_ERR_DATUM, "%s", err);
        }
        PQclear(res);

        PQfinish(conn);
        for (i = 0; i < 4; i++) {
                avro_value_decref(&values[i]);
                zz_codec_buf_free(&bufs[i]);
        }
        zz_codec_destroy(codec);
}
