/*
 * test_avro_fields.c — the record field setters (plain, enum and optional
 * fields, a missing field) and the content-derived message id.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include <avro.h>

#include "zizhu/avro_fields.h"
#include "zizhu/codec.h"

static zz_codec_t *codec;
static char err[512];

static void setup(void)
{
        codec = zz_codec_new(err, sizeof(err));
        cr_assert_not_null(codec, "zz_codec_new: %s", err);
}

static void teardown(void)
{
        zz_codec_destroy(codec);
        codec = NULL;
}

TestSuite(avro_fields, .init = setup, .fini = teardown);

/* The branch of union field name of rec, and that branch's value in *b. */
static int branch_of(avro_value_t *rec, const char *name, avro_value_t *b)
{
        avro_value_t f;
        int disc = -1;

        cr_assert_eq(avro_value_get_by_name(rec, name, &f, NULL), 0);
        cr_assert_eq(avro_value_get_discriminant(&f, &disc), 0);
        cr_assert_eq(avro_value_get_current_branch(&f, b), 0);
        return disc;
}

static const char *str_of(avro_value_t *rec, const char *name)
{
        avro_value_t f;
        const char *s = NULL;
        size_t len = 0;

        cr_assert_eq(avro_value_get_by_name(rec, name, &f, NULL), 0);
        cr_assert_eq(avro_value_get_string(&f, &s, &len), 0);
        return s;
}

static int enum_of(avro_value_t *v)
{
        int idx = -1;

        cr_assert_eq(avro_value_get_enum(v, &idx), 0);
        return idx;
}

Test(avro_fields, plain_and_enum_fields)
{
        avro_value_t rec, f;
        int32_t year = 0;
        int64_t fen = 0;

        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_RECONCILIATION, &rec),
                     0);
        cr_expect_eq(zz_avro_set_str(&rec, "recon_id", "r1"), 0);
        cr_expect_eq(zz_avro_set_str(&rec, "region", NULL), 0);
        cr_expect_eq(zz_avro_set_int(&rec, "year", 2025), 0);
        cr_expect_eq(zz_avro_set_long(&rec, "fen", -12345678901LL), 0);
        cr_expect_eq(zz_avro_set_enum(&rec, "status", "REFUND_DUE"), 0);
        cr_expect_eq(zz_avro_set_enum(&rec, "route", "NO_SUCH_ROUTE"), 0);
        cr_expect_str_eq(str_of(&rec, "recon_id"), "r1");
        cr_expect_str_eq(str_of(&rec, "region"), "");
        avro_value_get_by_name(&rec, "year", &f, NULL);
        avro_value_get_int(&f, &year);
        cr_expect_eq(year, 2025);
        avro_value_get_by_name(&rec, "fen", &f, NULL);
        avro_value_get_long(&f, &fen);
        cr_expect_eq(fen, -12345678901LL);
        avro_value_get_by_name(&rec, "status", &f, NULL);
        cr_expect_eq(enum_of(&f), 2); /* UNKNOWN, OK, REFUND_DUE */
        avro_value_get_by_name(&rec, "route", &f, NULL);
        cr_expect_eq(enum_of(&f), 0, "an unknown symbol is UNKNOWN");
        cr_expect_neq(zz_avro_set_str(&rec, "no_such_field", "x"), 0);
        cr_expect_neq(zz_avro_set_long(&rec, "no_such_field", 1), 0);
        avro_value_decref(&rec);
}

Test(avro_fields, optional_fields)
{
        avro_value_t rec, b;
        const void *bytes = NULL;
        const char *s = NULL;
        size_t len = 0;
        int64_t ts = 1700000000000LL, got = 0;

        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_DEAD_LETTER, &rec), 0);
        cr_expect_eq(zz_avro_set_opt_long(&rec, "source_timestamp", &ts), 0);
        cr_expect_eq(branch_of(&rec, "source_timestamp", &b), 1);
        avro_value_get_long(&b, &got);
        cr_expect_eq(got, ts);
        cr_expect_eq(zz_avro_set_opt_long(&rec, "source_timestamp", NULL), 0);
        cr_expect_eq(branch_of(&rec, "source_timestamp", &b), 0);

        cr_expect_eq(zz_avro_set_opt_bytes(&rec, "key", "k\0y", 3), 0);
        cr_expect_eq(branch_of(&rec, "key", &b), 1);
        avro_value_get_bytes(&b, &bytes, &len);
        cr_expect_eq(len, 3);
        cr_expect_eq(memcmp(bytes, "k\0y", 3), 0);
        cr_expect_eq(zz_avro_set_opt_bytes(&rec, "key", NULL, 0), 0);
        cr_expect_eq(branch_of(&rec, "key", &b), 0);

        cr_expect_eq(zz_avro_set_opt_str(&rec, "event_id", "ev"), 0);
        cr_expect_eq(branch_of(&rec, "event_id", &b), 1);
        avro_value_get_string(&b, &s, &len);
        cr_expect_str_eq(s, "ev");
        cr_expect_eq(zz_avro_set_opt_str(&rec, "event_id", NULL), 0);
        cr_expect_eq(branch_of(&rec, "event_id", &b), 0);

        cr_expect_eq(zz_avro_set_bytes(&rec, "payload", NULL, 0), 0);
        cr_expect_neq(zz_avro_set_opt_str(&rec, "no_such_field", "x"), 0);
        avro_value_decref(&rec);

        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_RECONCILIATION, &rec),
                     0);
        cr_expect_eq(zz_avro_set_opt_enum(&rec, "payer", "TAX_UNKNOWN"), 0);
        cr_expect_eq(branch_of(&rec, "payer", &b), 1);
        cr_expect_eq(enum_of(&b), 0);
        cr_expect_eq(zz_avro_set_opt_enum(&rec, "payer", "FIN"), 0);
        cr_expect_eq(branch_of(&rec, "payer", &b), 1);
        cr_expect_eq(enum_of(&b), 7);
        cr_expect_eq(zz_avro_set_opt_enum(&rec, "payer", NULL), 0);
        cr_expect_eq(branch_of(&rec, "payer", &b), 0);
        avro_value_decref(&rec);
}

Test(avro_fields, content_id_is_the_sha256_prefix)
{
        char id[33];

        /* SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a3... */
        zz_avro_content_id("abc", id);
        cr_expect_str_eq(id, "ba7816bf8f01cfea414140de5dae2223");
        zz_avro_content_id("", id);
        cr_expect_str_eq(id, "e3b0c44298fc1c149afbf4c8996fb924");
}
