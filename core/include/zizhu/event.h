/*
 * event.h — the four input events as plain C structs.
 *
 * Producers fill a struct and turn it into an Avro value to encode; workers
 * turn a decoded value back into the struct and validate it. The structs
 * mirror schemas/identity.avsc, enrollment.avsc, payment.avsc and
 * control.avsc (current versions); a value decoded from an older version
 * already carries the defaults of the fields it lacked.
 *
 * Strings are NUL-terminated UTF-8. A nullable field is NULL (strings) or
 * ZZ_DATE_NONE (dates) when absent. Strings of a struct filled by
 * zz_event_*_from_value are either borrowed from the value (ZZ_EVENT_BORROW:
 * valid until the value is reset, changed or freed, i.e. for a value from
 * zz_codec_decode until the next decode of that stream) or copied into the
 * arena (valid until the arena is reset); arrays (attrs) always live in the
 * arena.
 *
 * Validation returns a reason, a symbol of the DeadLetter schema's reason
 * enum (zz_reason_t has the same symbols in the same order), and a message
 * naming the field and the problem. Messages never contain field contents,
 * so never an ID number.
 */
#ifndef ZIZHU_EVENT_H
#define ZIZHU_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "zizhu/arena.h"
#include "zizhu/codec.h"
#include "zizhu/date.h"
#include "zizhu/money.h"

/* Why an input was dead-lettered: the symbols of cn.zizhu.DeadLetterReason,
 * in schema order (a test checks they agree). */
typedef enum zz_reason_e {
        ZZ_REASON_UNKNOWN = 0,
        ZZ_REASON_BAD_FRAMING,
        ZZ_REASON_UNKNOWN_SCHEMA,
        ZZ_REASON_WRONG_STREAM,
        ZZ_REASON_UNDECODABLE,
        ZZ_REASON_MISSING_FIELD,
        ZZ_REASON_INVALID_VALUE,
        ZZ_REASON_INVALID_ID_NUMBER,
        ZZ_REASON_UNKNOWN_CATEGORY,
        ZZ_REASON_INVALID_ATTRIBUTE,
        ZZ_REASON_NEGATIVE_AMOUNT,
        ZZ_REASON_AMOUNT_MISMATCH,
        ZZ_REASON_INVALID_DATE,
        ZZ_REASON_INVALID_DATE_RANGE,
        ZZ_REASON_YEAR_OUT_OF_RANGE,
        ZZ_REASON_INVALID_REGION,
        ZZ_REASON_UNKNOWN_JURISDICTION,
        ZZ_REASON_UNKNOWN_TIER, /* the policy of the year and region has no
                                   such tier (the subsidy worker) */
        ZZ_REASON_DEPARTMENT_MISMATCH, /* an identity record of another
                                          department than its topic's */
        ZZ_REASON_MISSING_ATTRIBUTE,   /* lacks an attribute its category
                                          requires */
        ZZ_REASON__COUNT
} zz_reason_t;

/* The schema symbol ("INVALID_ID_NUMBER"); "UNKNOWN" when out of range. */
const char *zz_reason_name(zz_reason_t reason);
/* The reason of a symbol; ZZ_REASON_UNKNOWN when not one. */
zz_reason_t zz_reason_from_name(const char *name);
/* The dead-letter reason of a decode failure (FRAMING -> BAD_FRAMING, ...). */
zz_reason_t zz_reason_from_codec(zz_codec_err_t err);

/* Business years and dates outside these are refused as implausible. */
#define ZZ_EVENT_YEAR_MIN 2000
#define ZZ_EVENT_YEAR_MAX 2100
#define ZZ_EVENT_TIER_MAX 9
/* Kafka's longest legal topic name, in bytes. */
#define ZZ_EVENT_TOPIC_MAX 249

/* Enums mirror the schema symbols, in schema order; value 0 (UNKNOWN) is
 * what a symbol this build does not know becomes, and is never valid. */
typedef enum zz_identity_action_e {
        ZZ_IDENTITY_ACTION_UNKNOWN = 0,
        ZZ_IDENTITY_ACTION_GRANT,
        ZZ_IDENTITY_ACTION_END,
        ZZ_IDENTITY_ACTION_CORRECT,
        ZZ_IDENTITY_ACTION_REVOKE,
        ZZ_IDENTITY_ACTION_DECEASED
} zz_identity_action_t;

typedef enum zz_report_channel_e {
        ZZ_CHANNEL_UNKNOWN = 0,
        ZZ_CHANNEL_LIST_EXCHANGE,
        ZZ_CHANNEL_REALTIME,
        ZZ_CHANNEL_MANUAL
} zz_report_channel_t;

typedef enum zz_enrollment_action_e {
        ZZ_ENROLLMENT_ACTION_UNKNOWN = 0,
        ZZ_ENROLLMENT_ACTION_REGISTER,
        ZZ_ENROLLMENT_ACTION_CANCEL
} zz_enrollment_action_t;

typedef enum zz_enrollment_class_e {
        ZZ_ENROLLMENT_CLASS_UNKNOWN = 0,
        ZZ_ENROLLMENT_CLASS_ADULT,
        ZZ_ENROLLMENT_CLASS_STUDENT_CHILD,
        ZZ_ENROLLMENT_CLASS_COLLEGE
} zz_enrollment_class_t;

typedef enum zz_enrollment_kind_e {
        ZZ_ENROLLMENT_KIND_UNKNOWN = 0,
        ZZ_ENROLLMENT_KIND_ANNUAL,
        ZZ_ENROLLMENT_KIND_MID_YEAR
} zz_enrollment_kind_t;

typedef enum zz_payment_kind_e {
        ZZ_PAYMENT_KIND_UNKNOWN = 0,
        ZZ_PAYMENT_KIND_PAYMENT,
        ZZ_PAYMENT_KIND_REFUND
} zz_payment_kind_t;

typedef enum zz_control_command_e {
        ZZ_CONTROL_UNKNOWN = 0,
        ZZ_CONTROL_CLOSE_PERIOD,
        ZZ_CONTROL_ACTIVATE_POLICY
} zz_control_command_t;

/* Schema symbols ("GRANT", "MID_YEAR", ...); "UNKNOWN" when out of range. */
const char *zz_identity_action_name(zz_identity_action_t action);
const char *zz_report_channel_name(zz_report_channel_t channel);
const char *zz_enrollment_action_name(zz_enrollment_action_t action);
const char *zz_enrollment_class_name(zz_enrollment_class_t cls);
const char *zz_enrollment_kind_name(zz_enrollment_kind_t kind);
const char *zz_payment_kind_name(zz_payment_kind_t kind);
const char *zz_control_command_name(zz_control_command_t command);
/* The class as POLICIES.md and CONTRACT.md spell it: "adult",
 * "student_child", "college"; NULL for UNKNOWN. */
const char *zz_enrollment_class_code(zz_enrollment_class_t cls);

typedef struct zz_event_attr_s {
        const char *key;
        const char *value;
} zz_event_attr_t;

typedef struct zz_event_identity_s {
        const char *event_id;
        const char *person_id; /* 18-character ID number */
        const char *department;
        const char *dept_record_id;
        zz_identity_action_t action;
        const char *category; /* "MCA.DIBAO"; "" for DECEASED */
        const zz_event_attr_t *attrs;
        size_t attrs_count;
        zz_date_t valid_from;
        zz_date_t valid_to; /* ZZ_DATE_NONE while open */
        const char *approving_region;
        const char *residence_region; /* NULL when not reported */
        zz_ts_t reported_at;
        zz_date_t deceased_on; /* ZZ_DATE_NONE unless DECEASED */
        zz_report_channel_t channel;
} zz_event_identity_t;

typedef struct zz_event_enrollment_s {
        const char *event_id;
        const char *person_id;
        const char *department;
        const char *dept_record_id;
        zz_enrollment_action_t action;
        const char *household_id;
        int32_t year;
        int32_t tier;
        zz_enrollment_class_t enrollment_class;
        zz_enrollment_kind_t kind;
        zz_date_t registered_on;
        const char *region; /* 12-digit village/community (or 6/9 digits) */
        const char *unit;   /* NULL when not enrolled through a unit */
        zz_ts_t reported_at;
} zz_event_enrollment_t;

/* After the event: contribution_fen == subsidy_applied_fen + paid_fen. */
typedef struct zz_event_payment_s {
        const char *event_id;
        const char *person_id;
        const char *department;
        const char *dept_record_id;
        zz_payment_kind_t kind;
        int32_t year;
        zz_fen_t contribution_fen;
        zz_fen_t subsidy_applied_fen;
        zz_fen_t paid_fen;
        zz_fen_t refund_fen; /* > 0 for a REFUND, 0 for a PAYMENT */
        zz_ts_t paid_at;
        const char *receipt;
} zz_event_payment_t;

/* One element of Control.positions: in partition of topic (the full topic
 * name, prefix included), the offset of the first message not included in
 * the period being closed. */
typedef struct zz_event_position_s {
        const char *topic;
        int32_t partition;
        int64_t offset;
} zz_event_position_t;

typedef struct zz_event_control_s {
        const char *event_id;
        const char *department;
        const char *dept_record_id;
        zz_control_command_t command;
        const char *jurisdiction;
        const char *period;         /* CLOSE_PERIOD; else NULL */
        const char *policy_name;    /* ACTIVATE_POLICY; else NULL */
        const char *policy_version; /* ACTIVATE_POLICY; else NULL */
        zz_ts_t issued_at;
        /* CLOSE_PERIOD: the boundary of the period, one position per input
         * partition. NULL when the field is null (not given, e.g. by a
         * control.v1 writer); non-NULL with positions_count 0 for an empty
         * array (which validation refuses). From zz_event_control_from_value
         * the array lives in the arena. */
        const zz_event_position_t *positions;
        size_t positions_count;
} zz_event_control_t;

/* flags of zz_event_*_from_value */
#define ZZ_EVENT_COPY   0 /* copy strings into the arena */
#define ZZ_EVENT_BORROW 1 /* point into the value's own strings */

/* Fills *out from a value of the stream's current schema (from
 * zz_codec_decode or zz_codec_value_new). arena receives the attrs array
 * and, unless flags has ZZ_EVENT_BORROW, copies of every string; it must
 * not be NULL. Enum symbols this build does not know become UNKNOWN. 0, or
 * -1 with errstr when the value is not of that schema or the arena is out
 * of memory. */
int zz_event_identity_from_value(avro_value_t *value, zz_arena_t *arena,
                                 int flags, zz_event_identity_t *out,
                                 char *errstr, size_t errstr_size);
int zz_event_enrollment_from_value(avro_value_t *value, zz_arena_t *arena,
                                   int flags, zz_event_enrollment_t *out,
                                   char *errstr, size_t errstr_size);
int zz_event_payment_from_value(avro_value_t *value, zz_arena_t *arena,
                                int flags, zz_event_payment_t *out,
                                char *errstr, size_t errstr_size);
int zz_event_control_from_value(avro_value_t *value, zz_arena_t *arena,
                                int flags, zz_event_control_t *out,
                                char *errstr, size_t errstr_size);

/* Resets value (of the stream's current schema, e.g. from
 * zz_codec_value_new) and sets every field from event; the value copies the
 * strings, so event may go away afterwards. Does not validate: a producer
 * may encode an invalid event on purpose (the consumer dead-letters it).
 * A required string that is NULL is written as "". 0, or -1 with errstr
 * when the value is not of that schema. */
int zz_event_identity_to_value(const zz_event_identity_t *event,
                               avro_value_t *value, char *errstr,
                               size_t errstr_size);
int zz_event_enrollment_to_value(const zz_event_enrollment_t *event,
                                 avro_value_t *value, char *errstr,
                                 size_t errstr_size);
int zz_event_payment_to_value(const zz_event_payment_t *event,
                              avro_value_t *value, char *errstr,
                              size_t errstr_size);
int zz_event_control_to_value(const zz_event_control_t *event,
                              avro_value_t *value, char *errstr,
                              size_t errstr_size);

/* Checks what every consumer relies on. 0 when usable; else -1, *reason
 * set (reason may be NULL) and errstr naming the field and the problem,
 * e.g. "payment: contribution_fen 28000 is not subsidy_applied_fen 19600 +
 * paid_fen 8000". The first problem found is reported.
 *
 * All events: event_id, department, dept_record_id non-empty
 * (MISSING_FIELD); enum symbols not UNKNOWN (INVALID_VALUE); timestamps
 * within 1990..2199 (INVALID_DATE).
 * Identity: person_id a valid ID number (INVALID_ID_NUMBER); category one
 * of POLICIES.md (UNKNOWN_CATEGORY), except for DECEASED, and certified by
 * the record's department (DEPARTMENT_MISMATCH: "DPF.DISABLED" only from
 * DPF, vocab.h); attribute keys and values non-empty (INVALID_ATTRIBUTE);
 * every attribute the category requires, except for DECEASED
 * (MISSING_ATTRIBUTE, the text names it: zz_vocab_missing_attr,
 * DPF.DISABLED level, RRB.POOR lifted); dates real and within 1900..2199
 * (INVALID_DATE); valid_to not before valid_from (INVALID_DATE_RANGE);
 * DECEASED carries deceased_on (MISSING_FIELD); regions of 6, 9 or 12
 * digits (INVALID_REGION).
 * Enrollment: person_id, household_id; year within ZZ_EVENT_YEAR_MIN..MAX
 * (YEAR_OUT_OF_RANGE); tier 1..ZZ_EVENT_TIER_MAX (INVALID_VALUE);
 * registered_on; region.
 * Payment: person_id; year; no negative amount (NEGATIVE_AMOUNT); none above
 * ZZ_FEN_MAX (INVALID_VALUE); contribution = applied + paid
 * (AMOUNT_MISMATCH); refund_fen > 0 exactly for REFUND (INVALID_VALUE);
 * receipt.
 * Control: jurisdiction; period for CLOSE_PERIOD; policy name and version
 * for ACTIVATE_POLICY (MISSING_FIELD); positions, when not NULL: only on a
 * CLOSE_PERIOD, not empty, each with a non-empty topic of at most
 * ZZ_EVENT_TOPIC_MAX bytes (MISSING_FIELD), partition >= 0 and offset >= 0,
 * no topic and partition twice (INVALID_VALUE). */
int zz_event_validate_identity(const zz_event_identity_t *event,
                               zz_reason_t *reason, char *errstr,
                               size_t errstr_size);
/* The identity record read from department topic_dept's identity topic
 * (zz_config_identity_dept; NULL when the topic is no department's) must be
 * that department's: its department field equal to topic_dept. 0 when it
 * is; else -1, *reason DEPARTMENT_MISMATCH (reason may be NULL) and errstr.
 * With zz_event_validate_identity's check of the category's department,
 * a record one department's credentials wrote never becomes another
 * department's fact, whatever topic it reached. */
int zz_event_validate_identity_source(const zz_event_identity_t *event,
                                      const char *topic_dept,
                                      zz_reason_t *reason, char *errstr,
                                      size_t errstr_size);
int zz_event_validate_enrollment(const zz_event_enrollment_t *event,
                                 zz_reason_t *reason, char *errstr,
                                 size_t errstr_size);
int zz_event_validate_payment(const zz_event_payment_t *event,
                              zz_reason_t *reason, char *errstr,
                              size_t errstr_size);
int zz_event_validate_control(const zz_event_control_t *event,
                              zz_reason_t *reason, char *errstr,
                              size_t errstr_size);

#endif
