/*
 * test_event.c — input events: the C enums agree with the schemas, structs
 * survive value and wire round trips, and validation gives the reason the
 * dead-letter topic will carry.
 */
#include <criterion/criterion.h>

#include <string.h>

#include <avro.h>

#include "zizhu/arena.h"
#include "zizhu/codec.h"
#include "zizhu/date.h"
#include "zizhu/event.h"

#define PERSON "11010519491231002X"

static zz_codec_t *codec;
static zz_arena_t *arena;
static char err[512];

static void setup(void)
{
        codec = zz_codec_new(err, sizeof(err));
        cr_assert_not_null(codec, "%s", err);
        arena = zz_arena_new(0);
        cr_assert_not_null(arena);
}

static void teardown(void)
{
        zz_arena_destroy(arena);
        zz_codec_destroy(codec);
}

TestSuite(event, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------------
 * The C enums are the schema enums
 */

/* The symbols of the enum type of field path (a record field, or a field of
 * the record inside an array/union of it) must be names(0..n-1). */
static void expect_symbols(zz_stream_t stream, const char *field,
                           const char *(*name)(int), int n)
{
        avro_schema_t rec = zz_codec_schema(codec, stream);
        avro_schema_t e = avro_schema_record_field_get(rec, field);
        int i;

        cr_assert_not_null(e, "%s.%s", zz_stream_name(stream), field);
        cr_assert(is_avro_enum(e), "%s is not an enum", field);
        cr_expect_eq(avro_schema_enum_number_of_symbols(e), n, "%s.%s",
                     zz_stream_name(stream), field);
        for (i = 0; i < n; i++)
                cr_expect_str_eq(avro_schema_enum_get(e, i), name(i), "%s[%d]",
                                 field, i);
}

static const char *reason_n(int i)
{
        return zz_reason_name((zz_reason_t)i);
}
static const char *action_n(int i)
{
        return zz_identity_action_name((zz_identity_action_t)i);
}
static const char *channel_n(int i)
{
        return zz_report_channel_name((zz_report_channel_t)i);
}
static const char *enr_action_n(int i)
{
        return zz_enrollment_action_name((zz_enrollment_action_t)i);
}
static const char *class_n(int i)
{
        return zz_enrollment_class_name((zz_enrollment_class_t)i);
}
static const char *kind_n(int i)
{
        return zz_enrollment_kind_name((zz_enrollment_kind_t)i);
}
static const char *pay_kind_n(int i)
{
        return zz_payment_kind_name((zz_payment_kind_t)i);
}
static const char *command_n(int i)
{
        return zz_control_command_name((zz_control_command_t)i);
}

Test(event, enums_match_the_schemas)
{
        expect_symbols(ZZ_STREAM_DEAD_LETTER, "reason", reason_n,
                       ZZ_REASON__COUNT);
        expect_symbols(ZZ_STREAM_IDENTITY, "action", action_n, 6);
        expect_symbols(ZZ_STREAM_IDENTITY, "channel", channel_n, 4);
        expect_symbols(ZZ_STREAM_ENROLLMENT, "action", enr_action_n, 3);
        expect_symbols(ZZ_STREAM_ENROLLMENT, "enrollment_class", class_n, 4);
        expect_symbols(ZZ_STREAM_ENROLLMENT, "kind", kind_n, 3);
        expect_symbols(ZZ_STREAM_PAYMENT, "kind", pay_kind_n, 3);
        expect_symbols(ZZ_STREAM_CONTROL, "command", command_n, 3);
}

Test(event, names_and_codes)
{
        int i;

        for (i = 0; i < ZZ_REASON__COUNT; i++)
                cr_expect_eq(zz_reason_from_name(zz_reason_name(i)), i);
        cr_expect_eq(zz_reason_from_name("NO_SUCH"), ZZ_REASON_UNKNOWN);
        cr_expect_eq(zz_reason_from_name(NULL), ZZ_REASON_UNKNOWN);
        cr_expect_str_eq(zz_reason_name(ZZ_REASON__COUNT), "UNKNOWN");
        cr_expect_str_eq(zz_enrollment_class_code(ZZ_ENROLLMENT_CLASS_ADULT),
                         "adult");
        cr_expect_str_eq(
            zz_enrollment_class_code(ZZ_ENROLLMENT_CLASS_STUDENT_CHILD),
            "student_child");
        cr_expect_str_eq(zz_enrollment_class_code(ZZ_ENROLLMENT_CLASS_COLLEGE),
                         "college");
        cr_expect_null(zz_enrollment_class_code(ZZ_ENROLLMENT_CLASS_UNKNOWN));
        cr_expect_eq(zz_reason_from_codec(ZZ_CODEC_ERR_FRAMING),
                     ZZ_REASON_BAD_FRAMING);
        cr_expect_eq(zz_reason_from_codec(ZZ_CODEC_ERR_UNKNOWN_SCHEMA),
                     ZZ_REASON_UNKNOWN_SCHEMA);
        cr_expect_eq(zz_reason_from_codec(ZZ_CODEC_ERR_WRONG_STREAM),
                     ZZ_REASON_WRONG_STREAM);
        cr_expect_eq(zz_reason_from_codec(ZZ_CODEC_ERR_DATUM),
                     ZZ_REASON_UNDECODABLE);
        cr_expect_eq(zz_reason_from_codec(ZZ_CODEC_ERR_TRAILING),
                     ZZ_REASON_UNDECODABLE);
        cr_expect_eq(zz_reason_from_codec(ZZ_CODEC_ERR_RESOLVE),
                     ZZ_REASON_UNDECODABLE);
}

/* ---------------------------------------------------------------------
 * Valid samples
 */

static const zz_event_attr_t tekun_attrs[] = {
    {"supported", "institution"},
    {"institution_level", "city"},
};

static zz_event_identity_t sample_identity(void)
{
        zz_event_identity_t e;

        memset(&e, 0, sizeof(e));
        e.event_id = "MCA-2021-000001";
        e.person_id = PERSON;
        e.department = "MCA";
        e.dept_record_id = "TK-4405-0001";
        e.action = ZZ_IDENTITY_ACTION_GRANT;
        e.category = "MCA.TEKUN";
        e.attrs = tekun_attrs;
        e.attrs_count = 2;
        e.valid_from = zz_date_from_ymd(2019, 3, 1);
        e.valid_to = ZZ_DATE_NONE;
        e.approving_region = "440507";
        e.residence_region = NULL;
        e.reported_at = zz_ts_from_cst_date(zz_date_from_ymd(2020, 8, 31));
        e.deceased_on = ZZ_DATE_NONE;
        e.channel = ZZ_CHANNEL_LIST_EXCHANGE;
        return e;
}

static zz_event_enrollment_t sample_enrollment(void)
{
        zz_event_enrollment_t e;

        memset(&e, 0, sizeof(e));
        e.event_id = "NHSA-2021-77";
        e.person_id = PERSON;
        e.department = "NHSA";
        e.dept_record_id = "CB-77";
        e.action = ZZ_ENROLLMENT_ACTION_REGISTER;
        e.household_id = "H0193";
        e.year = 2021;
        e.tier = 1;
        e.enrollment_class = ZZ_ENROLLMENT_CLASS_ADULT;
        e.kind = ZZ_ENROLLMENT_KIND_ANNUAL;
        e.registered_on = zz_date_from_ymd(2020, 10, 15);
        e.region = "500152001001";
        e.unit = "福利院-01";
        e.reported_at = zz_ts_from_cst_date(zz_date_from_ymd(2020, 10, 16));
        return e;
}

static zz_event_payment_t sample_payment(void)
{
        zz_event_payment_t e;

        memset(&e, 0, sizeof(e));
        e.event_id = "TAX-2021-555";
        e.person_id = PERSON;
        e.department = "TAX";
        e.dept_record_id = "P-555";
        e.kind = ZZ_PAYMENT_KIND_PAYMENT;
        e.year = 2021;
        e.contribution_fen = 28000;
        e.subsidy_applied_fen = 19600;
        e.paid_fen = 8400;
        e.refund_fen = 0;
        e.paid_at = zz_ts_from_cst_date(zz_date_from_ymd(2020, 10, 15)) +
                    10 * 3600 * 1000;
        e.receipt = "R-2020-000555";
        return e;
}

static zz_event_control_t sample_control(void)
{
        zz_event_control_t e;

        memset(&e, 0, sizeof(e));
        e.event_id = "CTL-1";
        e.department = "NHSA";
        e.dept_record_id = "潼医保〔2021〕1号";
        e.command = ZZ_CONTROL_CLOSE_PERIOD;
        e.jurisdiction = "tongnan";
        e.period = "2021";
        e.issued_at = zz_ts_from_cst_date(zz_date_from_ymd(2021, 7, 1));
        return e;
}

/* ---------------------------------------------------------------------
 * Round trips: struct -> value -> bytes -> value -> struct
 */

static void wire(zz_stream_t stream, avro_value_t *value, avro_value_t *decoded,
                 zz_codec_buf_t *buf)
{
        cr_assert_eq(
            zz_codec_encode(codec, stream, value, buf, err, sizeof(err)), 0,
            "%s", err);
        cr_assert_eq(zz_codec_decode(codec, stream, buf->data, buf->len,
                                     decoded, NULL, err, sizeof(err)),
                     0, "%s", err);
}

static void expect_same_str(const char *a, const char *b, const char *what)
{
        if (a == NULL || b == NULL)
                cr_expect(a == b, "%s: one is NULL", what);
        else
                cr_expect_str_eq(a, b, "%s", what);
}

Test(event, identity_round_trip_copy_and_borrow)
{
        zz_event_identity_t in = sample_identity(), out;
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        avro_value_t value, decoded;
        int flags, pass;

        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_IDENTITY, &value), 0);
        for (pass = 0; pass < 2; pass++) {
                if (pass == 1) {
                        in.action = ZZ_IDENTITY_ACTION_REVOKE;
                        in.valid_to = zz_date_from_ymd(2021, 12, 31);
                        in.residence_region = "440507";
                        in.attrs_count = 0;
                        in.channel = ZZ_CHANNEL_MANUAL;
                }
                cr_assert_eq(
                    zz_event_identity_to_value(&in, &value, err, sizeof(err)),
                    0, "%s", err);
                wire(ZZ_STREAM_IDENTITY, &value, &decoded, &buf);
                for (flags = ZZ_EVENT_COPY; flags <= ZZ_EVENT_BORROW; flags++) {
                        size_t i;
                        zz_arena_reset(arena);
                        cr_assert_eq(
                            zz_event_identity_from_value(
                                &decoded, arena, flags, &out, err, sizeof(err)),
                            0, "%s", err);
                        expect_same_str(out.event_id, in.event_id, "event_id");
                        expect_same_str(out.person_id, in.person_id,
                                        "person_id");
                        expect_same_str(out.category, in.category, "category");
                        expect_same_str(out.residence_region,
                                        in.residence_region, "residence");
                        cr_expect_eq(out.action, in.action);
                        cr_expect_eq(out.valid_from, in.valid_from);
                        cr_expect_eq(out.valid_to, in.valid_to);
                        cr_expect_eq(out.deceased_on, ZZ_DATE_NONE);
                        cr_expect_eq(out.reported_at, in.reported_at);
                        cr_expect_eq(out.channel, in.channel);
                        cr_assert_eq(out.attrs_count, in.attrs_count);
                        for (i = 0; i < out.attrs_count; i++) {
                                cr_expect_str_eq(out.attrs[i].key,
                                                 in.attrs[i].key);
                                cr_expect_str_eq(out.attrs[i].value,
                                                 in.attrs[i].value);
                        }
                        cr_expect_eq(zz_event_validate_identity(&out, NULL, err,
                                                                sizeof(err)),
                                     0, "%s", err);
                        if (flags == ZZ_EVENT_COPY)
                                cr_expect_gt(zz_arena_used(arena), 0);
                }
        }
        avro_value_decref(&value);
        zz_codec_buf_free(&buf);
}

Test(event, copied_strings_outlive_the_next_decode)
{
        zz_event_identity_t in = sample_identity(), out;
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        avro_value_t value, decoded;

        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_IDENTITY, &value), 0);
        cr_assert_eq(zz_event_identity_to_value(&in, &value, err, sizeof(err)),
                     0);
        wire(ZZ_STREAM_IDENTITY, &value, &decoded, &buf);
        cr_assert_eq(zz_event_identity_from_value(&decoded, arena,
                                                  ZZ_EVENT_COPY, &out, err,
                                                  sizeof(err)),
                     0);
        in.event_id = "another";
        in.category = "MCA.DIBAO";
        cr_assert_eq(zz_event_identity_to_value(&in, &value, err, sizeof(err)),
                     0);
        wire(ZZ_STREAM_IDENTITY, &value, &decoded, &buf);
        cr_expect_str_eq(out.event_id, "MCA-2021-000001");
        cr_expect_str_eq(out.category, "MCA.TEKUN");
        avro_value_decref(&value);
        zz_codec_buf_free(&buf);
}

Test(event, enrollment_payment_control_round_trips)
{
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        avro_value_t value, decoded;
        zz_event_enrollment_t en = sample_enrollment(), en2;
        zz_event_payment_t pay = sample_payment(), pay2;
        zz_event_control_t ctl = sample_control(), ctl2;

        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_ENROLLMENT, &value),
                     0);
        cr_assert_eq(
            zz_event_enrollment_to_value(&en, &value, err, sizeof(err)), 0,
            "%s", err);
        wire(ZZ_STREAM_ENROLLMENT, &value, &decoded, &buf);
        cr_assert_eq(zz_event_enrollment_from_value(&decoded, arena,
                                                    ZZ_EVENT_COPY, &en2, err,
                                                    sizeof(err)),
                     0, "%s", err);
        cr_expect_str_eq(en2.household_id, "H0193");
        cr_expect_str_eq(en2.unit, "福利院-01");
        cr_expect_str_eq(en2.region, en.region);
        cr_expect_eq(en2.year, 2021);
        cr_expect_eq(en2.tier, 1);
        cr_expect_eq(en2.enrollment_class, ZZ_ENROLLMENT_CLASS_ADULT);
        cr_expect_eq(en2.kind, ZZ_ENROLLMENT_KIND_ANNUAL);
        cr_expect_eq(en2.action, ZZ_ENROLLMENT_ACTION_REGISTER);
        cr_expect_eq(en2.registered_on, en.registered_on);
        cr_expect_eq(en2.reported_at, en.reported_at);
        cr_expect_eq(zz_event_validate_enrollment(&en2, NULL, err, sizeof(err)),
                     0, "%s", err);
        avro_value_decref(&value);

        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_PAYMENT, &value), 0);
        cr_assert_eq(zz_event_payment_to_value(&pay, &value, err, sizeof(err)),
                     0, "%s", err);
        wire(ZZ_STREAM_PAYMENT, &value, &decoded, &buf);
        cr_assert_eq(zz_event_payment_from_value(&decoded, arena,
                                                 ZZ_EVENT_BORROW, &pay2, err,
                                                 sizeof(err)),
                     0, "%s", err);
        cr_expect_eq(pay2.contribution_fen, 28000);
        cr_expect_eq(pay2.subsidy_applied_fen, 19600);
        cr_expect_eq(pay2.paid_fen, 8400);
        cr_expect_eq(pay2.refund_fen, 0);
        cr_expect_eq(pay2.paid_at, pay.paid_at);
        cr_expect_eq(pay2.kind, ZZ_PAYMENT_KIND_PAYMENT);
        cr_expect_str_eq(pay2.receipt, pay.receipt);
        cr_expect_eq(zz_event_validate_payment(&pay2, NULL, err, sizeof(err)),
                     0, "%s", err);
        avro_value_decref(&value);

        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_CONTROL, &value), 0);
        cr_assert_eq(zz_event_control_to_value(&ctl, &value, err, sizeof(err)),
                     0, "%s", err);
        wire(ZZ_STREAM_CONTROL, &value, &decoded, &buf);
        cr_assert_eq(zz_event_control_from_value(&decoded, arena, ZZ_EVENT_COPY,
                                                 &ctl2, err, sizeof(err)),
                     0, "%s", err);
        cr_expect_eq(ctl2.command, ZZ_CONTROL_CLOSE_PERIOD);
        cr_expect_str_eq(ctl2.jurisdiction, "tongnan");
        cr_expect_str_eq(ctl2.period, "2021");
        cr_expect_str_eq(ctl2.dept_record_id, ctl.dept_record_id);
        cr_expect_null(ctl2.policy_name);
        cr_expect_null(ctl2.policy_version);
        cr_expect_eq(ctl2.issued_at, ctl.issued_at);
        cr_expect_eq(zz_event_validate_control(&ctl2, NULL, err, sizeof(err)),
                     0, "%s", err);
        avro_value_decref(&value);
        zz_codec_buf_free(&buf);
}

Test(event, old_identity_message_gets_defaults)
{
        avro_schema_t v1 =
            zz_codec_schema_version(codec, ZZ_STREAM_IDENTITY, 1);
        avro_value_iface_t *iface = avro_generic_class_from_schema(v1);
        avro_value_t value, f, b, decoded;
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        zz_event_identity_t out;
        static const char *const strs[] = {"event_id", "person_id",
                                           "department", "dept_record_id",
                                           "approving_region"};
        static const char *const vals[] = {"old-1", PERSON, "DPF", "D-9",
                                           "500155"};
        size_t i;

        cr_assert_not_null(iface);
        cr_assert_eq(avro_generic_value_new(iface, &value), 0);
        for (i = 0; i < 5; i++) {
                cr_assert_eq(avro_value_get_by_name(&value, strs[i], &f, NULL),
                             0);
                cr_assert_eq(avro_value_set_string(&f, vals[i]), 0);
        }
        cr_assert_eq(avro_value_get_by_name(&value, "category", &f, NULL), 0);
        cr_assert_eq(avro_value_set_string(&f, "DPF.DISABLED"), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "attrs", &f, NULL), 0);
        cr_assert_eq(avro_value_add(&f, "level", &b, NULL, NULL), 0);
        cr_assert_eq(avro_value_set_string(&b, "1"), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "action", &f, NULL), 0);
        cr_assert_eq(avro_value_set_enum(&f, 0), 0); /* v1 GRANT */
        cr_assert_eq(avro_value_get_by_name(&value, "valid_from", &f, NULL), 0);
        cr_assert_eq(avro_value_set_int(&f, zz_date_from_ymd(2015, 3, 1)), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "valid_to", &f, NULL), 0);
        cr_assert_eq(avro_value_set_branch(&f, 0, &b), 0);
        cr_assert_eq(avro_value_set_null(&b), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "reported_at", &f, NULL),
                     0);
        cr_assert_eq(
            avro_value_set_long(
                &f, zz_ts_from_cst_date(zz_date_from_ymd(2019, 9, 20))),
            0);
        cr_assert_eq(zz_codec_encode(codec, ZZ_STREAM_IDENTITY, &value, &buf,
                                     err, sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(zz_codec_decode(codec, ZZ_STREAM_IDENTITY, buf.data,
                                     buf.len, &decoded, NULL, err, sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(zz_event_identity_from_value(&decoded, arena,
                                                  ZZ_EVENT_COPY, &out, err,
                                                  sizeof(err)),
                     0, "%s", err);
        cr_expect_eq(out.action, ZZ_IDENTITY_ACTION_GRANT);
        cr_expect_str_eq(out.category, "DPF.DISABLED");
        cr_expect_null(out.residence_region);
        cr_expect_eq(out.deceased_on, ZZ_DATE_NONE);
        cr_expect_eq(out.valid_to, ZZ_DATE_NONE);
        cr_expect_eq(out.channel, ZZ_CHANNEL_LIST_EXCHANGE);
        cr_assert_eq(out.attrs_count, 1);
        cr_expect_str_eq(out.attrs[0].key, "level");
        cr_expect_eq(zz_event_validate_identity(&out, NULL, err, sizeof(err)),
                     0, "%s", err);
        avro_value_decref(&value);
        avro_value_iface_decref(iface);
        zz_codec_buf_free(&buf);
}

Test(event, from_value_of_another_stream_fails)
{
        avro_value_t value;
        zz_event_identity_t out;
        zz_event_payment_t pay = sample_payment();

        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_PAYMENT, &value), 0);
        cr_assert_eq(zz_event_payment_to_value(&pay, &value, err, sizeof(err)),
                     0);
        cr_expect_eq(zz_event_identity_from_value(&value, arena, ZZ_EVENT_COPY,
                                                  &out, err, sizeof(err)),
                     -1);
        cr_expect(strstr(err, "field") != NULL, "%s", err);
        cr_expect_eq(zz_event_identity_to_value(&(zz_event_identity_t){0},
                                                &value, err, sizeof(err)),
                     -1);
        cr_expect_eq(zz_event_identity_from_value(&value, NULL, ZZ_EVENT_COPY,
                                                  &out, err, sizeof(err)),
                     -1);
        avro_value_decref(&value);
}

Test(event, to_value_writes_upper_case_check_character)
{
        zz_event_identity_t in = sample_identity(), out;
        avro_value_t value;

        in.person_id = "11010519491231002x";
        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_IDENTITY, &value), 0);
        cr_assert_eq(zz_event_identity_to_value(&in, &value, err, sizeof(err)),
                     0);
        cr_assert_eq(zz_event_identity_from_value(&value, arena, ZZ_EVENT_COPY,
                                                  &out, err, sizeof(err)),
                     0);
        cr_expect_str_eq(out.person_id, PERSON);
        avro_value_decref(&value);
}

/* ---------------------------------------------------------------------
 * Validation reasons
 */

static zz_reason_t identity_reason(const zz_event_identity_t *e)
{
        zz_reason_t reason = ZZ_REASON__COUNT;
        int rc = zz_event_validate_identity(e, &reason, err, sizeof(err));

        if (rc == 0) {
                cr_expect_eq(reason, ZZ_REASON_UNKNOWN);
                return ZZ_REASON_UNKNOWN;
        }
        cr_expect_neq(err[0], '\0');
        cr_expect(strstr(err, PERSON) == NULL, "ID number in: %s", err);
        cr_expect(strstr(err, "110105") == NULL, "ID number in: %s", err);
        return reason;
}

Test(event, identity_reasons)
{
        zz_event_identity_t e;
        static const zz_event_attr_t empty_value[] = {{"level", ""}};
        static const zz_event_attr_t no_lifted[] = {
            {"benefits_enjoyed", "true"}};

        e = sample_identity();
        cr_expect_eq(identity_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);

        e = sample_identity();
        e.person_id = "110105194912310020"; /* wrong check character */
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_ID_NUMBER);
        e.person_id = "11010519491231002x";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_ID_NUMBER);
        e.person_id = "1101051949123100";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_ID_NUMBER);
        e.person_id = "11010519491331002X"; /* month 13 */
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_ID_NUMBER);
        e.person_id = "";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_MISSING_FIELD);

        e = sample_identity();
        e.category = "MCA.FOO";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_UNKNOWN_CATEGORY);
        e.category = "mca.dibao";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_UNKNOWN_CATEGORY);
        e.category = "";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_MISSING_FIELD);

        e = sample_identity();
        e.valid_to = e.valid_from - 1;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_DATE_RANGE);
        e.valid_to = e.valid_from; /* a one-day identity is fine */
        cr_expect_eq(identity_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);

        e = sample_identity();
        e.valid_from = zz_date_from_ymd(1850, 1, 1);
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_DATE);
        e.valid_from = ZZ_DATE_NONE;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_DATE);
        e.valid_from = 10000000; /* year 29349 */
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_DATE);

        e = sample_identity();
        e.reported_at = 0;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_DATE);

        e = sample_identity();
        e.action = ZZ_IDENTITY_ACTION_UNKNOWN;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_VALUE);
        e = sample_identity();
        e.channel = ZZ_CHANNEL_UNKNOWN;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_VALUE);

        e = sample_identity();
        e.approving_region = "4405";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_REGION);
        e.approving_region = "44050A";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_REGION);
        e = sample_identity();
        e.residence_region = "5001551070011";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_REGION);
        e.residence_region = "500155107001";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);

        e = sample_identity();
        e.attrs = empty_value;
        e.attrs_count = 1;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_ATTRIBUTE);

        /* Issue 15: a record without an attribute its category requires
         * is dead-lettered MISSING_ATTRIBUTE, the attribute named. */
        e = sample_identity();
        e.department = "DPF";
        e.category = "DPF.DISABLED";
        e.attrs = NULL;
        e.attrs_count = 0;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_MISSING_ATTRIBUTE);
        cr_expect(strstr(err, "category DPF.DISABLED requires attribute "
                              "level") != NULL,
                  "%s", err);
        e.department = "RRB";
        e.category = "RRB.POOR";
        e.attrs = no_lifted;
        e.attrs_count = 1;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_MISSING_ATTRIBUTE);
        cr_expect(strstr(err, "lifted") != NULL, "%s", err);
        e.department = "NHC";
        e.category = "NHC.FP_SPECIAL"; /* relation is not required */
        e.attrs_count = 0;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);
        e.department = "MCA";
        e.category = "MCA.TEKUN"; /* nor supported */
        cr_expect_eq(identity_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);

        e = sample_identity();
        e.event_id = "";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_MISSING_FIELD);
        e = sample_identity();
        e.dept_record_id = NULL;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_MISSING_FIELD);

        /* Deaths: no category needed, deceased_on is. */
        e = sample_identity();
        e.action = ZZ_IDENTITY_ACTION_DECEASED;
        e.category = "";
        e.attrs_count = 0;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_MISSING_FIELD);
        e.deceased_on = zz_date_from_ymd(2021, 3, 4);
        cr_expect_eq(identity_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);
        e.deceased_on = zz_date_from_ymd(1700, 3, 4);
        cr_expect_eq(identity_reason(&e), ZZ_REASON_INVALID_DATE);
}

/* Issue 12: a category is certified by one department (vocab.h), and a
 * record of one department never becomes another's fact. */
Test(event, identity_of_another_department_is_a_department_mismatch)
{
        static const zz_event_attr_t level[] = {{"level", "1"}};
        zz_event_identity_t e = sample_identity();
        zz_reason_t reason = ZZ_REASON__COUNT;

        /* DPF.DISABLED reported by MCA */
        e.category = "DPF.DISABLED";
        e.attrs = level;
        e.attrs_count = 1;
        cr_expect_eq(identity_reason(&e), ZZ_REASON_DEPARTMENT_MISMATCH);
        cr_expect_str_eq(err, "identity: category DPF.DISABLED is certified "
                              "by DPF, not by the record's department");
        e.department = "DPF";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);
        /* a department that is none of the six */
        e.department = "DPF440507";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_DEPARTMENT_MISMATCH);
        e.department = "dpf";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_DEPARTMENT_MISMATCH);
        /* an empty department stays a missing field */
        e.department = "";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_MISSING_FIELD);
        /* a death names no category: any department may report it */
        e = sample_identity();
        e.action = ZZ_IDENTITY_ACTION_DECEASED;
        e.category = "";
        e.attrs_count = 0;
        e.deceased_on = zz_date_from_ymd(2021, 3, 4);
        e.department = "NHC";
        cr_expect_eq(identity_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);

        /* the topic's department against the record's */
        e = sample_identity(); /* MCA.TEKUN from MCA */
        cr_expect_eq(zz_event_validate_identity_source(&e, "MCA", &reason, err,
                                                       sizeof(err)),
                     0);
        cr_expect_eq(reason, ZZ_REASON_UNKNOWN);
        cr_expect_eq(zz_event_validate_identity_source(&e, "DPF", &reason, err,
                                                       sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_DEPARTMENT_MISMATCH);
        cr_expect_str_eq(err, "identity: the record's department is not DPF, "
                              "whose identity topic it was read from");
        cr_expect_eq(zz_event_validate_identity_source(&e, NULL, &reason, err,
                                                       sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_DEPARTMENT_MISMATCH);
        e.department = NULL;
        cr_expect_eq(zz_event_validate_identity_source(&e, "MCA", NULL, err,
                                                       sizeof(err)),
                     -1);
}

static zz_reason_t enrollment_reason(const zz_event_enrollment_t *e)
{
        zz_reason_t reason = ZZ_REASON__COUNT;

        if (zz_event_validate_enrollment(e, &reason, err, sizeof(err)) == 0)
                return ZZ_REASON_UNKNOWN;
        cr_expect(strstr(err, PERSON) == NULL, "ID number in: %s", err);
        return reason;
}

Test(event, enrollment_reasons)
{
        zz_event_enrollment_t e;

        e = sample_enrollment();
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);
        e.unit = NULL;
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);
        e.unit = "";
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_MISSING_FIELD);

        e = sample_enrollment();
        e.year = 1999;
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_YEAR_OUT_OF_RANGE);
        e.year = 2101;
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_YEAR_OUT_OF_RANGE);
        e.year = 0;
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_YEAR_OUT_OF_RANGE);

        e = sample_enrollment();
        e.tier = 0;
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_INVALID_VALUE);
        e.tier = 10;
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_INVALID_VALUE);

        e = sample_enrollment();
        e.enrollment_class = ZZ_ENROLLMENT_CLASS_UNKNOWN;
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_INVALID_VALUE);
        e = sample_enrollment();
        e.kind = ZZ_ENROLLMENT_KIND_UNKNOWN;
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_INVALID_VALUE);
        e = sample_enrollment();
        e.action = ZZ_ENROLLMENT_ACTION_UNKNOWN;
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_INVALID_VALUE);

        e = sample_enrollment();
        e.registered_on = -40000; /* 1860 */
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_INVALID_DATE);

        e = sample_enrollment();
        e.region = "50015200100";
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_INVALID_REGION);
        e.region = "";
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_MISSING_FIELD);

        e = sample_enrollment();
        e.household_id = "";
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_MISSING_FIELD);

        e = sample_enrollment();
        e.person_id = "500228199001011230";
        cr_expect_eq(enrollment_reason(&e), ZZ_REASON_INVALID_ID_NUMBER);
}

static zz_reason_t payment_reason(const zz_event_payment_t *e)
{
        zz_reason_t reason = ZZ_REASON__COUNT;

        if (zz_event_validate_payment(e, &reason, err, sizeof(err)) == 0)
                return ZZ_REASON_UNKNOWN;
        cr_expect(strstr(err, PERSON) == NULL, "ID number in: %s", err);
        return reason;
}

Test(event, payment_reasons)
{
        zz_event_payment_t e;

        e = sample_payment();
        cr_expect_eq(payment_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);

        e.paid_fen = -1;
        e.contribution_fen = 19599;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_NEGATIVE_AMOUNT);
        e = sample_payment();
        e.subsidy_applied_fen = -19600;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_NEGATIVE_AMOUNT);
        e = sample_payment();
        e.contribution_fen = -28000;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_NEGATIVE_AMOUNT);

        e = sample_payment();
        e.paid_fen = 8401;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_AMOUNT_MISMATCH);
        cr_expect(strstr(err, "contribution_fen 28000") != NULL, "%s", err);
        e = sample_payment();
        e.contribution_fen = 25000;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_AMOUNT_MISMATCH);

        e = sample_payment();
        e.paid_fen = INT64_MAX;
        e.subsidy_applied_fen = INT64_MAX;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_INVALID_VALUE);

        /* A refund restates the position and names what was returned. */
        e = sample_payment();
        e.kind = ZZ_PAYMENT_KIND_REFUND;
        e.subsidy_applied_fen = 28000;
        e.paid_fen = 0;
        e.refund_fen = 8400;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_UNKNOWN, "%s", err);
        e.refund_fen = 0;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_INVALID_VALUE);
        e.refund_fen = -5;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_NEGATIVE_AMOUNT);
        e = sample_payment();
        e.refund_fen = 100;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_INVALID_VALUE);

        e = sample_payment();
        e.kind = ZZ_PAYMENT_KIND_UNKNOWN;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_INVALID_VALUE);
        e = sample_payment();
        e.year = 3021;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_YEAR_OUT_OF_RANGE);
        e = sample_payment();
        e.receipt = "";
        cr_expect_eq(payment_reason(&e), ZZ_REASON_MISSING_FIELD);
        e = sample_payment();
        e.paid_at = -1;
        cr_expect_eq(payment_reason(&e), ZZ_REASON_INVALID_DATE);
        e = sample_payment();
        e.person_id = "99010519491231002X"; /* no such province */
        cr_expect_eq(payment_reason(&e), ZZ_REASON_INVALID_ID_NUMBER);
}

Test(event, control_reasons)
{
        zz_event_control_t e;
        zz_reason_t reason;

        e = sample_control();
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     0, "%s", err);
        e.period = NULL;
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_MISSING_FIELD);
        cr_expect(strstr(err, "period") != NULL, "%s", err);

        e = sample_control();
        e.command = ZZ_CONTROL_ACTIVATE_POLICY;
        e.period = NULL;
        e.policy_name = "tongnan-2021";
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_MISSING_FIELD);
        cr_expect(strstr(err, "policy_version") != NULL, "%s", err);
        e.policy_version = "sha256:0f3a";
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     0, "%s", err);

        e = sample_control();
        e.command = ZZ_CONTROL_UNKNOWN;
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_INVALID_VALUE);
        e = sample_control();
        e.jurisdiction = "";
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_MISSING_FIELD);
        e = sample_control();
        e.issued_at = INT64_MAX;
        cr_expect_eq(zz_event_validate_control(&e, NULL, err, sizeof(err)), -1);
}

/* An invalid event still encodes: producers may send one, and the consumer
 * dead-letters it with the reason. */
Test(event, invalid_events_still_encode)
{
        zz_event_payment_t e = sample_payment(), back;
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        avro_value_t value, decoded;
        zz_reason_t reason;

        e.paid_fen = -300;
        e.person_id = "not an id";
        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_PAYMENT, &value), 0);
        cr_assert_eq(zz_event_payment_to_value(&e, &value, err, sizeof(err)),
                     0);
        wire(ZZ_STREAM_PAYMENT, &value, &decoded, &buf);
        cr_assert_eq(zz_event_payment_from_value(&decoded, arena,
                                                 ZZ_EVENT_BORROW, &back, err,
                                                 sizeof(err)),
                     0);
        cr_expect_eq(
            zz_event_validate_payment(&back, &reason, err, sizeof(err)), -1);
        cr_expect_eq(reason, ZZ_REASON_INVALID_ID_NUMBER);
        avro_value_decref(&value);
        zz_codec_buf_free(&buf);
}

/* ---------------------------------------------------------------------
 * Control.positions: the boundary a CLOSE_PERIOD carries
 */

static const zz_event_position_t sample_positions[] = {
    {"zz.identity", 0, 1842},
    {"zz.identity", 1, 0},
    {"zz.payment", 3, INT64_C(5000000000)}};

/* Sets value from ctl, encodes, decodes and reads it back with flags. */
static void control_wire(const zz_event_control_t *ctl, avro_value_t *value,
                         int flags, zz_event_control_t *back,
                         zz_codec_buf_t *buf)
{
        avro_value_t decoded;

        cr_assert_eq(zz_event_control_to_value(ctl, value, err, sizeof(err)), 0,
                     "%s", err);
        wire(ZZ_STREAM_CONTROL, value, &decoded, buf);
        cr_assert_eq(zz_event_control_from_value(&decoded, arena, flags, back,
                                                 err, sizeof(err)),
                     0, "%s", err);
}

Test(event, control_positions_round_trip)
{
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        zz_event_control_t ctl = sample_control(), back;
        avro_value_t value;
        int flags;
        size_t i;

        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_CONTROL, &value), 0);
        ctl.positions = sample_positions;
        ctl.positions_count = 3;
        for (flags = ZZ_EVENT_COPY; flags <= ZZ_EVENT_BORROW; flags++) {
                control_wire(&ctl, &value, flags, &back, &buf);
                cr_assert_not_null(back.positions);
                cr_assert_eq(back.positions_count, 3);
                for (i = 0; i < 3; i++) {
                        cr_expect_str_eq(back.positions[i].topic,
                                         sample_positions[i].topic);
                        cr_expect_eq(back.positions[i].partition,
                                     sample_positions[i].partition);
                        cr_expect_eq(back.positions[i].offset,
                                     sample_positions[i].offset);
                }
                cr_expect_str_eq(back.period, "2021");
                cr_expect_eq(
                    zz_event_validate_control(&back, NULL, err, sizeof(err)), 0,
                    "%s", err);
        }

        /* null stays null, also in a value that carried positions before */
        ctl.positions = NULL;
        ctl.positions_count = 0;
        control_wire(&ctl, &value, ZZ_EVENT_COPY, &back, &buf);
        cr_expect_null(back.positions);
        cr_expect_eq(back.positions_count, 0);

        /* an empty array is not null (and does not validate) */
        ctl.positions = sample_positions;
        ctl.positions_count = 0;
        control_wire(&ctl, &value, ZZ_EVENT_COPY, &back, &buf);
        cr_expect_not_null(back.positions);
        cr_expect_eq(back.positions_count, 0);
        cr_expect_eq(zz_event_validate_control(&back, NULL, err, sizeof(err)),
                     -1);
        avro_value_decref(&value);
        zz_codec_buf_free(&buf);
}

Test(event, control_positions_reasons)
{
        zz_event_control_t e;
        zz_event_position_t pos[3];
        zz_reason_t reason;
        char long_topic[ZZ_EVENT_TOPIC_MAX + 2];

        memcpy(pos, sample_positions, sizeof(pos));
        e = sample_control();
        e.positions = pos;
        e.positions_count = 3;
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     0, "%s", err);

        pos[1].topic = "";
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_MISSING_FIELD);
        cr_expect(strstr(err, "topic of position 1") != NULL, "%s", err);
        pos[1].topic = NULL;
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_MISSING_FIELD);

        memcpy(pos, sample_positions, sizeof(pos));
        pos[2].partition = -1;
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_INVALID_VALUE);
        cr_expect(strstr(err, "partition of position 2") != NULL, "%s", err);

        memcpy(pos, sample_positions, sizeof(pos));
        pos[0].offset = -1;
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_INVALID_VALUE);
        cr_expect(strstr(err, "offset of position 0") != NULL, "%s", err);

        /* a partition twice would count its facts twice */
        memcpy(pos, sample_positions, sizeof(pos));
        pos[2].topic = "zz.identity";
        pos[2].partition = 0;
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_INVALID_VALUE);
        cr_expect(strstr(err, "same partition") != NULL, "%s", err);

        memcpy(pos, sample_positions, sizeof(pos));
        memset(long_topic, 'a', sizeof(long_topic) - 1);
        long_topic[sizeof(long_topic) - 1] = '\0';
        pos[0].topic = long_topic;
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_INVALID_VALUE);
        long_topic[ZZ_EVENT_TOPIC_MAX] = '\0';
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     0, "%s", err);

        /* positions belong to a close */
        memcpy(pos, sample_positions, sizeof(pos));
        e.command = ZZ_CONTROL_ACTIVATE_POLICY;
        e.period = NULL;
        e.policy_name = "tongnan-2021";
        e.policy_version = "sha256:0f3a";
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     -1);
        cr_expect_eq(reason, ZZ_REASON_INVALID_VALUE);
        e.positions = NULL;
        e.positions_count = 0;
        cr_expect_eq(zz_event_validate_control(&e, &reason, err, sizeof(err)),
                     0, "%s", err);
}
