/*
 * event.c — input events between C structs and Avro values, and the checks
 * every consumer relies on before a fact is used (see event.h).
 *
 * Fields are looked up by name and enum symbols are matched by name, so a
 * reordered or extended schema cannot silently shift a value. The category
 * vocabulary is vocab.h's, so that the categories a policy may name and
 * those an event may carry are one list.
 */
#include "zizhu/event.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "zizhu/errstr.h"
#include "zizhu/idno.h"
#include "zizhu/vocab.h"

#if defined(__GNUC__)
#define ZZ_EVENT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ZZ_EVENT_PRINTF(a, b)
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const reason_names[ZZ_REASON__COUNT] = {
    "UNKNOWN",
    "BAD_FRAMING",
    "UNKNOWN_SCHEMA",
    "WRONG_STREAM",
    "UNDECODABLE",
    "MISSING_FIELD",
    "INVALID_VALUE",
    "INVALID_ID_NUMBER",
    "UNKNOWN_CATEGORY",
    "INVALID_ATTRIBUTE",
    "NEGATIVE_AMOUNT",
    "AMOUNT_MISMATCH",
    "INVALID_DATE",
    "INVALID_DATE_RANGE",
    "YEAR_OUT_OF_RANGE",
    "INVALID_REGION",
    "UNKNOWN_JURISDICTION",
    "UNKNOWN_TIER",
    "DEPARTMENT_MISMATCH",
    "MISSING_ATTRIBUTE"};

static const char *const identity_actions[] = {"UNKNOWN", "GRANT",  "END",
                                               "CORRECT", "REVOKE", "DECEASED"};
static const char *const report_channels[] = {"UNKNOWN", "LIST_EXCHANGE",
                                              "REALTIME", "MANUAL"};
static const char *const enrollment_actions[] = {"UNKNOWN", "REGISTER",
                                                 "CANCEL"};
static const char *const enrollment_classes[] = {"UNKNOWN", "ADULT",
                                                 "STUDENT_CHILD", "COLLEGE"};
static const char *const enrollment_kinds[] = {"UNKNOWN", "ANNUAL", "MID_YEAR"};
static const char *const payment_kinds[] = {"UNKNOWN", "PAYMENT", "REFUND"};
static const char *const control_commands[] = {"UNKNOWN", "CLOSE_PERIOD",
                                               "ACTIVATE_POLICY"};

static const char *symbol(const char *const *names, size_t n, int value)
{
        if (value < 0 || (size_t)value >= n)
                return "UNKNOWN";
        return names[value];
}

const char *zz_reason_name(zz_reason_t reason)
{
        return symbol(reason_names, COUNT(reason_names), (int)reason);
}

zz_reason_t zz_reason_from_name(const char *name)
{
        size_t i;

        for (i = 0; name != NULL && i < COUNT(reason_names); i++) {
                if (strcmp(reason_names[i], name) == 0)
                        return (zz_reason_t)i;
        }
        return ZZ_REASON_UNKNOWN;
}

zz_reason_t zz_reason_from_codec(zz_codec_err_t err)
{
        switch (err) {
        case ZZ_CODEC_ERR_FRAMING:
                return ZZ_REASON_BAD_FRAMING;
        case ZZ_CODEC_ERR_UNKNOWN_SCHEMA:
                return ZZ_REASON_UNKNOWN_SCHEMA;
        case ZZ_CODEC_ERR_WRONG_STREAM:
                return ZZ_REASON_WRONG_STREAM;
        case ZZ_CODEC_ERR_DATUM:
        case ZZ_CODEC_ERR_TRAILING:
        case ZZ_CODEC_ERR_RESOLVE:
                return ZZ_REASON_UNDECODABLE;
        default:
                return ZZ_REASON_UNKNOWN;
        }
}

const char *zz_identity_action_name(zz_identity_action_t action)
{
        return symbol(identity_actions, COUNT(identity_actions), (int)action);
}

const char *zz_report_channel_name(zz_report_channel_t channel)
{
        return symbol(report_channels, COUNT(report_channels), (int)channel);
}

const char *zz_enrollment_action_name(zz_enrollment_action_t action)
{
        return symbol(enrollment_actions, COUNT(enrollment_actions),
                      (int)action);
}

const char *zz_enrollment_class_name(zz_enrollment_class_t cls)
{
        return symbol(enrollment_classes, COUNT(enrollment_classes), (int)cls);
}

const char *zz_enrollment_class_code(zz_enrollment_class_t cls)
{
        /* The event's classes are the engine's, after UNKNOWN. */
        if ((int)cls <= 0 || (size_t)cls >= COUNT(enrollment_classes))
                return NULL;
        return zz_vocab_enroll_classes[cls - 1];
}

const char *zz_enrollment_kind_name(zz_enrollment_kind_t kind)
{
        return symbol(enrollment_kinds, COUNT(enrollment_kinds), (int)kind);
}

const char *zz_payment_kind_name(zz_payment_kind_t kind)
{
        return symbol(payment_kinds, COUNT(payment_kinds), (int)kind);
}

const char *zz_control_command_name(zz_control_command_t command)
{
        return symbol(control_commands, COUNT(control_commands), (int)command);
}

/* ---------------------------------------------------------------------
 * From values
 */

struct reader {
        avro_value_t *rec;
        zz_arena_t *arena;
        int borrow;
        const char *what; /* "identity", for messages */
        char *errstr;
        size_t errstr_size;
        int failed;
};

static int rd_field(struct reader *rd, const char *name, avro_value_t *out)
{
        if (rd->failed)
                return -1;
        if (avro_value_get_by_name(rd->rec, name, out, NULL) != 0) {
                zz_errstr_set(rd->errstr, rd->errstr_size,
                              "%s value has no field %s", rd->what, name);
                rd->failed = 1;
                return -1;
        }
        return 0;
}

static void rd_fail(struct reader *rd, const char *name, const char *problem)
{
        if (!rd->failed)
                zz_errstr_set(rd->errstr, rd->errstr_size, "%s field %s: %s",
                              rd->what, name, problem);
        rd->failed = 1;
}

static const char *rd_keep(struct reader *rd, const char *name, const char *s,
                           size_t size)
{
        char *copy;

        if (rd->borrow)
                return s;
        copy = zz_arena_strndup(rd->arena, s, size ? size - 1 : 0);
        if (copy == NULL)
                rd_fail(rd, name, "out of memory");
        return copy;
}

static const char *rd_string_value(struct reader *rd, const char *name,
                                   avro_value_t *f)
{
        const char *s;
        size_t size;

        if (avro_value_get_string(f, &s, &size) != 0) {
                rd_fail(rd, name, "not a string");
                return NULL;
        }
        return rd_keep(rd, name, s, size);
}

static const char *rd_str(struct reader *rd, const char *name)
{
        avro_value_t f;

        if (rd_field(rd, name, &f) != 0)
                return NULL;
        return rd_string_value(rd, name, &f);
}

/* The branch of a ["null", T] field; 0 when null. */
static int rd_opt(struct reader *rd, const char *name, avro_value_t *branch)
{
        avro_value_t f;

        if (rd_field(rd, name, &f) != 0)
                return 0;
        if (avro_value_get_type(&f) != AVRO_UNION ||
            avro_value_get_current_branch(&f, branch) != 0) {
                rd_fail(rd, name, "not a union with a branch set");
                return 0;
        }
        return avro_value_get_type(branch) != AVRO_NULL;
}

static const char *rd_opt_str(struct reader *rd, const char *name)
{
        avro_value_t b;

        if (!rd_opt(rd, name, &b))
                return NULL;
        return rd_string_value(rd, name, &b);
}

static int64_t rd_number(struct reader *rd, const char *name, avro_value_t *f)
{
        int32_t i32;
        int64_t i64;

        if (avro_value_get_type(f) == AVRO_INT32 &&
            avro_value_get_int(f, &i32) == 0)
                return i32;
        if (avro_value_get_type(f) == AVRO_INT64 &&
            avro_value_get_long(f, &i64) == 0)
                return i64;
        rd_fail(rd, name, "not an int or a long");
        return 0;
}

static int64_t rd_long(struct reader *rd, const char *name)
{
        avro_value_t f;

        if (rd_field(rd, name, &f) != 0)
                return 0;
        return rd_number(rd, name, &f);
}

static int32_t rd_int(struct reader *rd, const char *name)
{
        avro_value_t f;

        if (rd_field(rd, name, &f) != 0)
                return 0;
        if (avro_value_get_type(&f) != AVRO_INT32) {
                rd_fail(rd, name, "not an int");
                return 0;
        }
        return (int32_t)rd_number(rd, name, &f);
}

static zz_date_t rd_opt_date(struct reader *rd, const char *name)
{
        avro_value_t b;

        if (!rd_opt(rd, name, &b))
                return ZZ_DATE_NONE;
        if (avro_value_get_type(&b) != AVRO_INT32) {
                rd_fail(rd, name, "not a date");
                return ZZ_DATE_NONE;
        }
        return (zz_date_t)rd_number(rd, name, &b);
}

/* The index of the value's symbol in names; 0 (UNKNOWN) when absent. */
static int rd_enum(struct reader *rd, const char *name,
                   const char *const *names, size_t n)
{
        avro_value_t f;
        const char *sym;
        size_t i;
        int idx;

        if (rd_field(rd, name, &f) != 0)
                return 0;
        if (avro_value_get_type(&f) != AVRO_ENUM ||
            avro_value_get_enum(&f, &idx) != 0) {
                rd_fail(rd, name, "not an enum");
                return 0;
        }
        sym = avro_schema_enum_get(avro_value_get_schema(&f), idx);
        for (i = 0; sym != NULL && i < n; i++) {
                if (strcmp(names[i], sym) == 0)
                        return (int)i;
        }
        return 0;
}

static void rd_attrs(struct reader *rd, const char *name,
                     const zz_event_attr_t **attrs, size_t *count)
{
        avro_value_t f, v;
        zz_event_attr_t *out;
        size_t i, n;

        *attrs = NULL;
        *count = 0;
        if (rd_field(rd, name, &f) != 0)
                return;
        if (avro_value_get_type(&f) != AVRO_MAP ||
            avro_value_get_size(&f, &n) != 0) {
                rd_fail(rd, name, "not a map");
                return;
        }
        if (n == 0)
                return;
        out = zz_arena_calloc(rd->arena, n, sizeof(*out));
        if (out == NULL) {
                rd_fail(rd, name, "out of memory");
                return;
        }
        for (i = 0; i < n; i++) {
                const char *key = NULL;
                if (avro_value_get_by_index(&f, i, &v, &key) != 0 ||
                    key == NULL) {
                        rd_fail(rd, name, "unreadable map entry");
                        return;
                }
                out[i].key = rd_keep(rd, name, key, strlen(key) + 1);
                out[i].value = rd_string_value(rd, name, &v);
        }
        *attrs = out;
        *count = n;
}

/* An optional array of InputPosition records: *out NULL when null, else an
 * arena array (of at least one element, so that an empty array is not
 * NULL). */
static void rd_positions(struct reader *rd, const char *name,
                         const zz_event_position_t **out, size_t *count)
{
        avro_value_t b, item, x;
        zz_event_position_t *pos;
        size_t i, n;

        *out = NULL;
        *count = 0;
        if (!rd_opt(rd, name, &b))
                return;
        if (avro_value_get_type(&b) != AVRO_ARRAY ||
            avro_value_get_size(&b, &n) != 0) {
                rd_fail(rd, name, "not an array");
                return;
        }
        pos = zz_arena_calloc(rd->arena, n > 0 ? n : 1, sizeof(*pos));
        if (pos == NULL) {
                rd_fail(rd, name, "out of memory");
                return;
        }
        for (i = 0; i < n && !rd->failed; i++) {
                struct reader sub = *rd;

                if (avro_value_get_by_index(&b, i, &item, NULL) != 0 ||
                    avro_value_get_type(&item) != AVRO_RECORD) {
                        rd_fail(rd, name, "unreadable array element");
                        return;
                }
                sub.rec = &item;
                pos[i].topic = rd_str(&sub, "topic");
                pos[i].partition = rd_int(&sub, "partition");
                if (rd_field(&sub, "offset", &x) == 0)
                        pos[i].offset = rd_number(&sub, "offset", &x);
                rd->failed = sub.failed;
        }
        *out = pos;
        *count = n;
}

static int rd_begin(struct reader *rd, avro_value_t *value, zz_arena_t *arena,
                    int flags, const char *what, char *errstr,
                    size_t errstr_size)
{
        memset(rd, 0, sizeof(*rd));
        rd->rec = value;
        rd->arena = arena;
        rd->borrow = (flags & ZZ_EVENT_BORROW) != 0;
        rd->what = what;
        rd->errstr = errstr;
        rd->errstr_size = errstr_size;
        if (value == NULL || value->iface == NULL || arena == NULL ||
            avro_value_get_type(value) != AVRO_RECORD) {
                zz_errstr_set(errstr, errstr_size,
                              "%s: not a record value, or no arena", what);
                return -1;
        }
        return 0;
}

/* The fields every event starts with; person_id NULL for a control
 * command, which names no person. */
static void rd_head(struct reader *rd, const char **event_id,
                    const char **person_id, const char **department,
                    const char **dept_record_id)
{
        *event_id = rd_str(rd, "event_id");
        if (person_id != NULL)
                *person_id = rd_str(rd, "person_id");
        *department = rd_str(rd, "department");
        *dept_record_id = rd_str(rd, "dept_record_id");
}

int zz_event_identity_from_value(avro_value_t *value, zz_arena_t *arena,
                                 int flags, zz_event_identity_t *out,
                                 char *errstr, size_t errstr_size)
{
        struct reader rd;

        memset(out, 0, sizeof(*out));
        if (rd_begin(&rd, value, arena, flags, "identity", errstr,
                     errstr_size) != 0)
                return -1;
        rd_head(&rd, &out->event_id, &out->person_id, &out->department,
                &out->dept_record_id);
        out->action = (zz_identity_action_t)rd_enum(
            &rd, "action", identity_actions, COUNT(identity_actions));
        out->category = rd_str(&rd, "category");
        rd_attrs(&rd, "attrs", &out->attrs, &out->attrs_count);
        out->valid_from = rd_int(&rd, "valid_from");
        out->valid_to = rd_opt_date(&rd, "valid_to");
        out->approving_region = rd_str(&rd, "approving_region");
        out->residence_region = rd_opt_str(&rd, "residence_region");
        out->reported_at = rd_long(&rd, "reported_at");
        out->deceased_on = rd_opt_date(&rd, "deceased_on");
        out->channel = (zz_report_channel_t)rd_enum(
            &rd, "channel", report_channels, COUNT(report_channels));
        return rd.failed ? -1 : 0;
}

int zz_event_enrollment_from_value(avro_value_t *value, zz_arena_t *arena,
                                   int flags, zz_event_enrollment_t *out,
                                   char *errstr, size_t errstr_size)
{
        struct reader rd;

        memset(out, 0, sizeof(*out));
        if (rd_begin(&rd, value, arena, flags, "enrollment", errstr,
                     errstr_size) != 0)
                return -1;
        rd_head(&rd, &out->event_id, &out->person_id, &out->department,
                &out->dept_record_id);
        out->action = (zz_enrollment_action_t)rd_enum(
            &rd, "action", enrollment_actions, COUNT(enrollment_actions));
        out->household_id = rd_str(&rd, "household_id");
        out->year = rd_int(&rd, "year");
        out->tier = rd_int(&rd, "tier");
        out->enrollment_class = (zz_enrollment_class_t)rd_enum(
            &rd, "enrollment_class", enrollment_classes,
            COUNT(enrollment_classes));
        out->kind = (zz_enrollment_kind_t)rd_enum(&rd, "kind", enrollment_kinds,
                                                  COUNT(enrollment_kinds));
        out->registered_on = rd_int(&rd, "registered_on");
        out->region = rd_str(&rd, "region");
        out->unit = rd_opt_str(&rd, "unit");
        out->reported_at = rd_long(&rd, "reported_at");
        return rd.failed ? -1 : 0;
}

int zz_event_payment_from_value(avro_value_t *value, zz_arena_t *arena,
                                int flags, zz_event_payment_t *out,
                                char *errstr, size_t errstr_size)
{
        struct reader rd;

        memset(out, 0, sizeof(*out));
        if (rd_begin(&rd, value, arena, flags, "payment", errstr,
                     errstr_size) != 0)
                return -1;
        rd_head(&rd, &out->event_id, &out->person_id, &out->department,
                &out->dept_record_id);
        out->kind = (zz_payment_kind_t)rd_enum(&rd, "kind", payment_kinds,
                                               COUNT(payment_kinds));
        out->year = rd_int(&rd, "year");
        out->contribution_fen = rd_long(&rd, "contribution_fen");
        out->subsidy_applied_fen = rd_long(&rd, "subsidy_applied_fen");
        out->paid_fen = rd_long(&rd, "paid_fen");
        out->refund_fen = rd_long(&rd, "refund_fen");
        out->paid_at = rd_long(&rd, "paid_at");
        out->receipt = rd_str(&rd, "receipt");
        return rd.failed ? -1 : 0;
}

int zz_event_control_from_value(avro_value_t *value, zz_arena_t *arena,
                                int flags, zz_event_control_t *out,
                                char *errstr, size_t errstr_size)
{
        struct reader rd;

        memset(out, 0, sizeof(*out));
        if (rd_begin(&rd, value, arena, flags, "control", errstr,
                     errstr_size) != 0)
                return -1;
        rd_head(&rd, &out->event_id, NULL, &out->department,
                &out->dept_record_id);
        out->command = (zz_control_command_t)rd_enum(
            &rd, "command", control_commands, COUNT(control_commands));
        out->jurisdiction = rd_str(&rd, "jurisdiction");
        out->period = rd_opt_str(&rd, "period");
        out->policy_name = rd_opt_str(&rd, "policy_name");
        out->policy_version = rd_opt_str(&rd, "policy_version");
        out->issued_at = rd_long(&rd, "issued_at");
        rd_positions(&rd, "positions", &out->positions, &out->positions_count);
        return rd.failed ? -1 : 0;
}

/* ---------------------------------------------------------------------
 * To values
 */

struct writer {
        avro_value_t *rec;
        const char *what;
        char *errstr;
        size_t errstr_size;
        int failed;
};

static int wr_field(struct writer *wr, const char *name, avro_value_t *out)
{
        if (wr->failed)
                return -1;
        if (avro_value_get_by_name(wr->rec, name, out, NULL) != 0) {
                zz_errstr_set(wr->errstr, wr->errstr_size,
                              "%s value has no field %s", wr->what, name);
                wr->failed = 1;
                return -1;
        }
        return 0;
}

static void wr_check(struct writer *wr, const char *name, int rc)
{
        if (rc != 0 && !wr->failed) {
                zz_errstr_set(wr->errstr, wr->errstr_size,
                              "%s field %s: could not set: %s", wr->what, name,
                              avro_strerror());
                wr->failed = 1;
        }
}

static void wr_str(struct writer *wr, const char *name, const char *s)
{
        avro_value_t f;

        if (wr_field(wr, name, &f) == 0)
                wr_check(wr, name, avro_value_set_string(&f, s ? s : ""));
}

/* An ID number with a lower-case check character is written with X, so
 * that one person never becomes two keys. */
static void wr_person(struct writer *wr, const char *name, const char *s)
{
        char norm[19];

        if (s != NULL && zz_idno_normalize(s, strlen(s), norm) == ZZ_IDNO_OK) {
                wr_str(wr, name, norm);
                return;
        }
        wr_str(wr, name, s);
}

static void wr_long(struct writer *wr, const char *name, int64_t v)
{
        avro_value_t f;

        if (wr_field(wr, name, &f) == 0)
                wr_check(wr, name, avro_value_set_long(&f, v));
}

static void wr_int(struct writer *wr, const char *name, int32_t v)
{
        avro_value_t f;

        if (wr_field(wr, name, &f) == 0)
                wr_check(wr, name, avro_value_set_int(&f, v));
}

/* Selects the null branch of a union field, or the other one. */
static int wr_opt(struct writer *wr, const char *name, int present,
                  avro_value_t *branch)
{
        avro_value_t f;
        avro_schema_t schema;
        size_t i, n;

        if (wr_field(wr, name, &f) != 0)
                return -1;
        schema = avro_value_get_schema(&f);
        if (!is_avro_union(schema)) {
                wr_check(wr, name, -1);
                return -1;
        }
        n = avro_schema_union_size(schema);
        for (i = 0; i < n; i++) {
                int is_null =
                    is_avro_null(avro_schema_union_branch(schema, (int)i));
                if (is_null != !present)
                        continue;
                wr_check(wr, name, avro_value_set_branch(&f, (int)i, branch));
                if (wr->failed)
                        return -1;
                return is_null ? 1 : 0;
        }
        wr_check(wr, name, -1);
        return -1;
}

static void wr_opt_str(struct writer *wr, const char *name, const char *s)
{
        avro_value_t b;
        int rc = wr_opt(wr, name, s != NULL, &b);

        if (rc == 1)
                wr_check(wr, name, avro_value_set_null(&b));
        else if (rc == 0)
                wr_check(wr, name, avro_value_set_string(&b, s));
}

static void wr_opt_date(struct writer *wr, const char *name, zz_date_t d)
{
        avro_value_t b;
        int rc = wr_opt(wr, name, d != ZZ_DATE_NONE, &b);

        if (rc == 1)
                wr_check(wr, name, avro_value_set_null(&b));
        else if (rc == 0)
                wr_check(wr, name, avro_value_set_int(&b, d));
}

static void wr_enum(struct writer *wr, const char *name,
                    const char *const *names, size_t n, int value)
{
        avro_value_t f;
        int idx;

        if (wr_field(wr, name, &f) != 0)
                return;
        idx = avro_schema_enum_get_by_name(avro_value_get_schema(&f),
                                           symbol(names, n, value));
        wr_check(wr, name, idx < 0 ? -1 : avro_value_set_enum(&f, idx));
}

static void wr_attrs(struct writer *wr, const char *name,
                     const zz_event_attr_t *attrs, size_t count)
{
        avro_value_t f, v;
        size_t i;

        if (wr_field(wr, name, &f) != 0)
                return;
        for (i = 0; i < count && !wr->failed; i++) {
                const char *key = attrs[i].key ? attrs[i].key : "";
                wr_check(wr, name, avro_value_add(&f, key, &v, NULL, NULL));
                if (!wr->failed)
                        wr_check(wr, name,
                                 avro_value_set_string(
                                     &v, attrs[i].value ? attrs[i].value : ""));
        }
}

/* positions NULL writes null; otherwise an array, possibly empty. */
static void wr_positions(struct writer *wr, const char *name,
                         const zz_event_position_t *positions, size_t count)
{
        avro_value_t b, item;
        size_t i;
        int rc = wr_opt(wr, name, positions != NULL, &b);

        if (rc == 1)
                wr_check(wr, name, avro_value_set_null(&b));
        if (rc != 0)
                return;
        for (i = 0; i < count && !wr->failed; i++) {
                struct writer sub = *wr;

                wr_check(wr, name, avro_value_append(&b, &item, NULL));
                if (wr->failed)
                        return;
                sub.rec = &item;
                wr_str(&sub, "topic", positions[i].topic);
                wr_int(&sub, "partition", positions[i].partition);
                wr_long(&sub, "offset", positions[i].offset);
                wr->failed = sub.failed;
        }
}

static int wr_begin(struct writer *wr, avro_value_t *value, const void *event,
                    const char *what, char *errstr, size_t errstr_size)
{
        memset(wr, 0, sizeof(*wr));
        wr->rec = value;
        wr->what = what;
        wr->errstr = errstr;
        wr->errstr_size = errstr_size;
        if (event == NULL || value == NULL || value->iface == NULL ||
            avro_value_get_type(value) != AVRO_RECORD) {
                zz_errstr_set(errstr, errstr_size, "%s: not a record value",
                              what);
                return -1;
        }
        if (avro_value_reset(value) != 0) {
                zz_errstr_set(errstr, errstr_size,
                              "%s: could not reset the value", what);
                return -1;
        }
        return 0;
}

/* The fields every event starts with; a control command (person 0)
 * names no person. */
static void wr_head(struct writer *wr, const char *event_id, int person,
                    const char *person_id, const char *department,
                    const char *dept_record_id)
{
        wr_str(wr, "event_id", event_id);
        if (person)
                wr_person(wr, "person_id", person_id);
        wr_str(wr, "department", department);
        wr_str(wr, "dept_record_id", dept_record_id);
}

int zz_event_identity_to_value(const zz_event_identity_t *e,
                               avro_value_t *value, char *errstr,
                               size_t errstr_size)
{
        struct writer wr;

        if (wr_begin(&wr, value, e, "identity", errstr, errstr_size) != 0)
                return -1;
        wr_head(&wr, e->event_id, 1, e->person_id, e->department,
                e->dept_record_id);
        wr_enum(&wr, "action", identity_actions, COUNT(identity_actions),
                (int)e->action);
        wr_str(&wr, "category", e->category);
        wr_attrs(&wr, "attrs", e->attrs, e->attrs_count);
        wr_int(&wr, "valid_from", e->valid_from);
        wr_opt_date(&wr, "valid_to", e->valid_to);
        wr_str(&wr, "approving_region", e->approving_region);
        wr_opt_str(&wr, "residence_region", e->residence_region);
        wr_long(&wr, "reported_at", e->reported_at);
        wr_opt_date(&wr, "deceased_on", e->deceased_on);
        wr_enum(&wr, "channel", report_channels, COUNT(report_channels),
                (int)e->channel);
        return wr.failed ? -1 : 0;
}

int zz_event_enrollment_to_value(const zz_event_enrollment_t *e,
                                 avro_value_t *value, char *errstr,
                                 size_t errstr_size)
{
        struct writer wr;

        if (wr_begin(&wr, value, e, "enrollment", errstr, errstr_size) != 0)
                return -1;
        wr_head(&wr, e->event_id, 1, e->person_id, e->department,
                e->dept_record_id);
        wr_enum(&wr, "action", enrollment_actions, COUNT(enrollment_actions),
                (int)e->action);
        wr_str(&wr, "household_id", e->household_id);
        wr_int(&wr, "year", e->year);
        wr_int(&wr, "tier", e->tier);
        wr_enum(&wr, "enrollment_class", enrollment_classes,
                COUNT(enrollment_classes), (int)e->enrollment_class);
        wr_enum(&wr, "kind", enrollment_kinds, COUNT(enrollment_kinds),
                (int)e->kind);
        wr_int(&wr, "registered_on", e->registered_on);
        wr_str(&wr, "region", e->region);
        wr_opt_str(&wr, "unit", e->unit);
        wr_long(&wr, "reported_at", e->reported_at);
        return wr.failed ? -1 : 0;
}

int zz_event_payment_to_value(const zz_event_payment_t *e, avro_value_t *value,
                              char *errstr, size_t errstr_size)
{
        struct writer wr;

        if (wr_begin(&wr, value, e, "payment", errstr, errstr_size) != 0)
                return -1;
        wr_head(&wr, e->event_id, 1, e->person_id, e->department,
                e->dept_record_id);
        wr_enum(&wr, "kind", payment_kinds, COUNT(payment_kinds), (int)e->kind);
        wr_int(&wr, "year", e->year);
        wr_long(&wr, "contribution_fen", e->contribution_fen);
        wr_long(&wr, "subsidy_applied_fen", e->subsidy_applied_fen);
        wr_long(&wr, "paid_fen", e->paid_fen);
        wr_long(&wr, "refund_fen", e->refund_fen);
        wr_long(&wr, "paid_at", e->paid_at);
        wr_str(&wr, "receipt", e->receipt);
        return wr.failed ? -1 : 0;
}

int zz_event_control_to_value(const zz_event_control_t *e, avro_value_t *value,
                              char *errstr, size_t errstr_size)
{
        struct writer wr;

        if (wr_begin(&wr, value, e, "control", errstr, errstr_size) != 0)
                return -1;
        wr_head(&wr, e->event_id, 0, NULL, e->department, e->dept_record_id);
        wr_enum(&wr, "command", control_commands, COUNT(control_commands),
                (int)e->command);
        wr_str(&wr, "jurisdiction", e->jurisdiction);
        wr_opt_str(&wr, "period", e->period);
        wr_opt_str(&wr, "policy_name", e->policy_name);
        wr_opt_str(&wr, "policy_version", e->policy_version);
        wr_long(&wr, "issued_at", e->issued_at);
        wr_positions(&wr, "positions", e->positions, e->positions_count);
        return wr.failed ? -1 : 0;
}

/* ---------------------------------------------------------------------
 * Validation
 */

struct check {
        const char *what;
        zz_reason_t *reason;
        char *errstr;
        size_t errstr_size;
        int failed;
};

static void ck_fail(struct check *ck, zz_reason_t reason, const char *fmt, ...)
    ZZ_EVENT_PRINTF(3, 4);

static void ck_fail(struct check *ck, zz_reason_t reason, const char *fmt, ...)
{
        char msg[200];
        va_list ap;

        if (ck->failed)
                return;
        ck->failed = 1;
        if (ck->reason != NULL)
                *ck->reason = reason;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        zz_errstr_set(ck->errstr, ck->errstr_size, "%s: %s", ck->what, msg);
}

static void ck_begin(struct check *ck, const char *what, zz_reason_t *reason,
                     char *errstr, size_t errstr_size)
{
        memset(ck, 0, sizeof(*ck));
        ck->what = what;
        ck->reason = reason;
        ck->errstr = errstr;
        ck->errstr_size = errstr_size;
        if (reason != NULL)
                *reason = ZZ_REASON_UNKNOWN;
        if (errstr != NULL && errstr_size > 0)
                errstr[0] = '\0';
}

static int empty(const char *s)
{
        return s == NULL || s[0] == '\0';
}

static void ck_required(struct check *ck, const char *name, const char *s)
{
        if (empty(s))
                ck_fail(ck, ZZ_REASON_MISSING_FIELD, "%s is empty", name);
}

static void ck_symbol(struct check *ck, const char *name, int value)
{
        if (value == 0)
                ck_fail(ck, ZZ_REASON_INVALID_VALUE,
                        "%s is UNKNOWN (a symbol this version does not know)",
                        name);
}

static void ck_person(struct check *ck, const char *s)
{
        zz_idno_status_t status;

        if (empty(s)) {
                ck_fail(ck, ZZ_REASON_MISSING_FIELD, "person_id is empty");
                return;
        }
        status = zz_idno_validate(s, strlen(s));
        if (status != ZZ_IDNO_OK) {
                ck_fail(ck, ZZ_REASON_INVALID_ID_NUMBER, "person_id: %s",
                        zz_idno_strerror(status));
                return;
        }
        if (s[17] == 'x')
                ck_fail(ck, ZZ_REASON_INVALID_ID_NUMBER,
                        "person_id: lower-case check character (write X)");
}

static zz_date_t date_min(void)
{
        return zz_date_from_ymd(1900, 1, 1);
}

static zz_date_t date_max(void)
{
        return zz_date_from_ymd(2199, 12, 31);
}

static void ck_date(struct check *ck, const char *name, zz_date_t d)
{
        char a[16], b[16];

        if (d == ZZ_DATE_NONE)
                ck_fail(ck, ZZ_REASON_INVALID_DATE, "%s is not set", name);
        else if (d < date_min() || d > date_max())
                ck_fail(ck, ZZ_REASON_INVALID_DATE,
                        "%s (day %" PRId32 ") is outside %s..%s", name, d,
                        zz_date_format(date_min(), a, sizeof(a)),
                        zz_date_format(date_max(), b, sizeof(b)));
}

static void ck_ts(struct check *ck, const char *name, zz_ts_t ts)
{
        zz_ts_t lo = zz_ts_from_cst_date(zz_date_from_ymd(1990, 1, 1));
        zz_ts_t hi = zz_ts_from_cst_date(zz_date_from_ymd(2200, 1, 1));

        if (ts < lo || ts >= hi)
                ck_fail(ck, ZZ_REASON_INVALID_DATE,
                        "%s (%" PRId64 " ms) is outside 1990..2199", name, ts);
}

static void ck_year(struct check *ck, int32_t year)
{
        if (year < ZZ_EVENT_YEAR_MIN || year > ZZ_EVENT_YEAR_MAX)
                ck_fail(ck, ZZ_REASON_YEAR_OUT_OF_RANGE,
                        "year %" PRId32 " is outside %d..%d", year,
                        ZZ_EVENT_YEAR_MIN, ZZ_EVENT_YEAR_MAX);
}

/* Administrative region codes: 6 digits (county), 9 (town), 12 (village
 * or community). */
static void ck_region(struct check *ck, const char *name, const char *s)
{
        size_t i, len;

        if (empty(s)) {
                ck_fail(ck, ZZ_REASON_MISSING_FIELD, "%s is empty", name);
                return;
        }
        len = strlen(s);
        for (i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        break;
        }
        if (i != len || (len != 6 && len != 9 && len != 12))
                ck_fail(ck, ZZ_REASON_INVALID_REGION,
                        "%s is not a region code of 6, 9 or 12 digits", name);
}

static void ck_common(struct check *ck, const char *event_id,
                      const char *department, const char *dept_record_id)
{
        ck_required(ck, "event_id", event_id);
        ck_required(ck, "department", department);
        ck_required(ck, "dept_record_id", dept_record_id);
}

/* zz_vocab_missing_attr's question: does the event carry key? */
static int event_has_attr(const char *key, void *ctx)
{
        const zz_event_identity_t *e = ctx;
        size_t i;

        for (i = 0; i < e->attrs_count; i++) {
                if (e->attrs[i].key != NULL &&
                    strcmp(e->attrs[i].key, key) == 0)
                        return 1;
        }
        return 0;
}

int zz_event_validate_identity(const zz_event_identity_t *e,
                               zz_reason_t *reason, char *errstr,
                               size_t errstr_size)
{
        struct check ck;
        size_t i;

        ck_begin(&ck, "identity", reason, errstr, errstr_size);
        ck_common(&ck, e->event_id, e->department, e->dept_record_id);
        ck_person(&ck, e->person_id);
        ck_symbol(&ck, "action", (int)e->action);
        ck_symbol(&ck, "channel", (int)e->channel);
        if (e->action == ZZ_IDENTITY_ACTION_DECEASED) {
                if (e->deceased_on == ZZ_DATE_NONE)
                        ck_fail(&ck, ZZ_REASON_MISSING_FIELD,
                                "a DECEASED event without deceased_on");
                else
                        ck_date(&ck, "deceased_on", e->deceased_on);
        } else {
                if (empty(e->category))
                        ck_fail(&ck, ZZ_REASON_MISSING_FIELD,
                                "category is empty");
                else if (!zz_vocab_cat_known(e->category))
                        ck_fail(&ck, ZZ_REASON_UNKNOWN_CATEGORY,
                                "category is not one of POLICIES.md");
                else if (!empty(e->department) &&
                         strcmp(zz_vocab_cat_dept(e->category),
                                e->department) != 0)
                        ck_fail(&ck, ZZ_REASON_DEPARTMENT_MISMATCH,
                                "category %s is certified by %s, not by the "
                                "record's department",
                                e->category, zz_vocab_cat_dept(e->category));
                ck_date(&ck, "valid_from", e->valid_from);
                if (e->valid_to != ZZ_DATE_NONE) {
                        ck_date(&ck, "valid_to", e->valid_to);
                        if (e->valid_to < e->valid_from)
                                ck_fail(&ck, ZZ_REASON_INVALID_DATE_RANGE,
                                        "valid_to is before valid_from");
                }
                if (e->deceased_on != ZZ_DATE_NONE)
                        ck_date(&ck, "deceased_on", e->deceased_on);
                ck_region(&ck, "approving_region", e->approving_region);
        }
        for (i = 0; i < e->attrs_count; i++) {
                if (empty(e->attrs[i].key) || empty(e->attrs[i].value))
                        ck_fail(&ck, ZZ_REASON_INVALID_ATTRIBUTE,
                                "attribute %zu has an empty key or value", i);
        }
        if (e->action != ZZ_IDENTITY_ACTION_DECEASED) {
                /* Issue 15: a record without an attribute its category
                 * requires is not a fact; decided, it would fail every
                 * rule that reads the attribute and pay 0 unnoticed. */
                const char *missing = zz_vocab_missing_attr(
                    zz_vocab_cat(zz_vocab_cat_index(e->category)),
                    event_has_attr, (void *)e);

                if (missing != NULL)
                        ck_fail(&ck, ZZ_REASON_MISSING_ATTRIBUTE,
                                "category %s requires attribute %s",
                                e->category, missing);
        }
        if (e->residence_region != NULL)
                ck_region(&ck, "residence_region", e->residence_region);
        ck_ts(&ck, "reported_at", e->reported_at);
        return ck.failed ? -1 : 0;
}

int zz_event_validate_identity_source(const zz_event_identity_t *e,
                                      const char *topic_dept,
                                      zz_reason_t *reason, char *errstr,
                                      size_t errstr_size)
{
        struct check ck;

        ck_begin(&ck, "identity", reason, errstr, errstr_size);
        if (topic_dept == NULL)
                ck_fail(&ck, ZZ_REASON_DEPARTMENT_MISMATCH,
                        "read from a topic that is no department's");
        else if (e->department == NULL ||
                 strcmp(e->department, topic_dept) != 0)
                ck_fail(&ck, ZZ_REASON_DEPARTMENT_MISMATCH,
                        "the record's department is not %s, whose identity "
                        "topic it was read from",
                        topic_dept);
        return ck.failed ? -1 : 0;
}

int zz_event_validate_enrollment(const zz_event_enrollment_t *e,
                                 zz_reason_t *reason, char *errstr,
                                 size_t errstr_size)
{
        struct check ck;

        ck_begin(&ck, "enrollment", reason, errstr, errstr_size);
        ck_common(&ck, e->event_id, e->department, e->dept_record_id);
        ck_person(&ck, e->person_id);
        ck_symbol(&ck, "action", (int)e->action);
        ck_required(&ck, "household_id", e->household_id);
        ck_year(&ck, e->year);
        if (e->tier < 1 || e->tier > ZZ_EVENT_TIER_MAX)
                ck_fail(&ck, ZZ_REASON_INVALID_VALUE,
                        "tier %" PRId32 " is outside 1..%d", e->tier,
                        ZZ_EVENT_TIER_MAX);
        ck_symbol(&ck, "enrollment_class", (int)e->enrollment_class);
        ck_symbol(&ck, "kind", (int)e->kind);
        ck_date(&ck, "registered_on", e->registered_on);
        ck_region(&ck, "region", e->region);
        if (e->unit != NULL)
                ck_required(&ck, "unit", e->unit);
        ck_ts(&ck, "reported_at", e->reported_at);
        return ck.failed ? -1 : 0;
}

int zz_event_validate_payment(const zz_event_payment_t *e, zz_reason_t *reason,
                              char *errstr, size_t errstr_size)
{
        struct check ck;
        const struct {
                const char *name;
                zz_fen_t fen;
        } amounts[] = {{"contribution_fen", e->contribution_fen},
                       {"subsidy_applied_fen", e->subsidy_applied_fen},
                       {"paid_fen", e->paid_fen},
                       {"refund_fen", e->refund_fen}};
        zz_fen_t sum;
        size_t i;

        ck_begin(&ck, "payment", reason, errstr, errstr_size);
        ck_common(&ck, e->event_id, e->department, e->dept_record_id);
        ck_person(&ck, e->person_id);
        ck_symbol(&ck, "kind", (int)e->kind);
        ck_year(&ck, e->year);
        for (i = 0; i < COUNT(amounts); i++) {
                if (amounts[i].fen < 0)
                        ck_fail(&ck, ZZ_REASON_NEGATIVE_AMOUNT,
                                "%s %" PRId64 " is negative", amounts[i].name,
                                amounts[i].fen);
                else if (amounts[i].fen > ZZ_FEN_MAX)
                        ck_fail(&ck, ZZ_REASON_INVALID_VALUE,
                                "%s %" PRId64 " is implausibly large",
                                amounts[i].name, amounts[i].fen);
        }
        if (!ck.failed &&
            (zz_money_add(e->subsidy_applied_fen, e->paid_fen, &sum) != 0 ||
             sum != e->contribution_fen))
                ck_fail(&ck, ZZ_REASON_AMOUNT_MISMATCH,
                        "contribution_fen %" PRId64
                        " is not subsidy_applied_fen %" PRId64
                        " + paid_fen %" PRId64,
                        e->contribution_fen, e->subsidy_applied_fen,
                        e->paid_fen);
        if (e->kind == ZZ_PAYMENT_KIND_REFUND && e->refund_fen == 0)
                ck_fail(&ck, ZZ_REASON_INVALID_VALUE,
                        "a REFUND with refund_fen 0");
        if (e->kind == ZZ_PAYMENT_KIND_PAYMENT && e->refund_fen != 0)
                ck_fail(&ck, ZZ_REASON_INVALID_VALUE,
                        "a PAYMENT with refund_fen %" PRId64, e->refund_fen);
        ck_ts(&ck, "paid_at", e->paid_at);
        ck_required(&ck, "receipt", e->receipt);
        return ck.failed ? -1 : 0;
}

/* A boundary must name each partition once: the settlement joins facts to
 * it, so a partition named twice would count its facts twice. */
static void ck_positions(struct check *ck, const zz_event_control_t *e)
{
        size_t i, j;

        if (e->command != ZZ_CONTROL_CLOSE_PERIOD)
                ck_fail(ck, ZZ_REASON_INVALID_VALUE,
                        "positions on a command other than CLOSE_PERIOD");
        if (e->positions_count == 0)
                ck_fail(ck, ZZ_REASON_INVALID_VALUE,
                        "positions is an empty array");
        for (i = 0; i < e->positions_count && !ck->failed; i++) {
                const zz_event_position_t *p = &e->positions[i];

                if (empty(p->topic))
                        ck_fail(ck, ZZ_REASON_MISSING_FIELD,
                                "topic of position %zu is empty", i);
                else if (strlen(p->topic) > ZZ_EVENT_TOPIC_MAX)
                        ck_fail(ck, ZZ_REASON_INVALID_VALUE,
                                "topic of position %zu is longer than %d "
                                "bytes",
                                i, ZZ_EVENT_TOPIC_MAX);
                else if (p->partition < 0)
                        ck_fail(ck, ZZ_REASON_INVALID_VALUE,
                                "partition of position %zu is negative", i);
                else if (p->offset < 0)
                        ck_fail(ck, ZZ_REASON_INVALID_VALUE,
                                "offset of position %zu is negative", i);
                for (j = 0; j < i && !ck->failed; j++) {
                        if (e->positions[j].partition == p->partition &&
                            strcmp(e->positions[j].topic, p->topic) == 0)
                                ck_fail(ck, ZZ_REASON_INVALID_VALUE,
                                        "positions %zu and %zu name the same "
                                        "partition",
                                        j, i);
                }
        }
}

int zz_event_validate_control(const zz_event_control_t *e, zz_reason_t *reason,
                              char *errstr, size_t errstr_size)
{
        struct check ck;

        ck_begin(&ck, "control", reason, errstr, errstr_size);
        ck_common(&ck, e->event_id, e->department, e->dept_record_id);
        ck_symbol(&ck, "command", (int)e->command);
        ck_required(&ck, "jurisdiction", e->jurisdiction);
        if (e->command == ZZ_CONTROL_CLOSE_PERIOD)
                ck_required(&ck, "period", e->period);
        if (e->command == ZZ_CONTROL_ACTIVATE_POLICY) {
                ck_required(&ck, "policy_name", e->policy_name);
                ck_required(&ck, "policy_version", e->policy_version);
        }
        ck_ts(&ck, "issued_at", e->issued_at);
        if (e->positions != NULL)
                ck_positions(&ck, e);
        return ck.failed ? -1 : 0;
}
