/*
 * feed_event.c — a feed record as an Avro message: the record is mapped
 * onto the event structs of event.h, validated by the same checks the
 * workers apply (so a producer never knowingly sends what a worker would
 * dead-letter), and encoded by the codec.
 */
#include "zizhu/feed.h"

#include <stdlib.h>
#include <string.h>

#include "zizhu/codec.h"
#include "zizhu/event.h"

#define ZZ_FEED_MAX_ATTRS 16

struct zz_feed_encoder_s {
        zz_codec_t *codec;
        avro_value_t values[4];
        int have[4];
        zz_codec_buf_t buf;
};

zz_feed_encoder_t *zz_feed_encoder_new(char *errstr, size_t errstr_size)
{
        zz_feed_encoder_t *enc = calloc(1, sizeof(*enc));
        int i;

        if (enc == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        enc->codec = zz_codec_new(errstr, errstr_size);
        if (enc->codec == NULL) {
                free(enc);
                return NULL;
        }
        for (i = 0; i < 4; i++) {
                if (zz_codec_value_new(enc->codec, (zz_stream_t)i,
                                       &enc->values[i]) != 0) {
                        snprintf(errstr, errstr_size,
                                 "could not create a %s value",
                                 zz_stream_name((zz_stream_t)i));
                        zz_feed_encoder_destroy(enc);
                        return NULL;
                }
                enc->have[i] = 1;
        }
        return enc;
}

zz_codec_t *zz_feed_encoder_codec(zz_feed_encoder_t *enc)
{
        return enc->codec;
}

void zz_feed_encoder_destroy(zz_feed_encoder_t *enc)
{
        int i;

        if (enc == NULL)
                return;
        for (i = 0; i < 4; i++) {
                if (enc->have[i])
                        avro_value_decref(&enc->values[i]);
        }
        zz_codec_buf_free(&enc->buf);
        zz_codec_destroy(enc->codec);
        free(enc);
}

/* "k=v;k=v" into attrs (pointing into buf). */
static size_t split_attrs(const char *s, char *buf, size_t size,
                          zz_event_attr_t *attrs)
{
        char *save = NULL;
        char *tok;
        size_t n = 0;

        snprintf(buf, size, "%s", s);
        for (tok = strtok_r(buf, ";", &save);
             tok != NULL && n < ZZ_FEED_MAX_ATTRS;
             tok = strtok_r(NULL, ";", &save)) {
                char *eq = strchr(tok, '=');

                if (eq == NULL)
                        continue;
                *eq = '\0';
                attrs[n].key = tok;
                attrs[n].value = eq + 1;
                n++;
        }
        return n;
}

static const char *nullable(const char *s)
{
        return s[0] == '\0' ? NULL : s;
}

/* The fields an identity, enrollment or payment event starts with. */
#define ZZ_FEED_EVENT_HEAD(ev, rec, r)                                         \
        do {                                                                   \
                (ev).event_id = (rec)->event_id;                               \
                (ev).person_id = (r)->person_id;                               \
                (ev).department = (r)->department;                             \
                (ev).dept_record_id = (r)->dept_record_id;                     \
        } while (0)

static int encode_identity(const zz_feed_record_t *rec, avro_value_t *value,
                           char *errstr, size_t errstr_size)
{
        const zz_feed_identity_t *r = &rec->u.identity;
        zz_event_identity_t ev;
        zz_event_attr_t attrs[ZZ_FEED_MAX_ATTRS];
        char buf[ZZ_FEED_ATTRS_SIZE];
        zz_reason_t reason;

        memset(&ev, 0, sizeof(ev));
        ZZ_FEED_EVENT_HEAD(ev, rec, r);
        ev.action = (zz_identity_action_t)r->action;
        ev.category = r->category;
        ev.attrs = attrs;
        ev.attrs_count = split_attrs(r->attrs, buf, sizeof(buf), attrs);
        ev.valid_from = r->valid_from;
        ev.valid_to = r->valid_to;
        ev.approving_region = r->approving_region;
        ev.residence_region = nullable(r->residence_region);
        ev.reported_at = r->reported_at;
        ev.deceased_on = r->deceased_on;
        ev.channel = ZZ_CHANNEL_LIST_EXCHANGE;
        if (zz_event_validate_identity(&ev, &reason, errstr, errstr_size) !=
                0 ||
            zz_event_identity_to_value(&ev, value, errstr, errstr_size) != 0)
                return -1;
        return 0;
}

static int encode_enrollment(const zz_feed_record_t *rec, avro_value_t *value,
                             char *errstr, size_t errstr_size)
{
        const zz_feed_enrollment_t *r = &rec->u.enrollment;
        zz_event_enrollment_t ev;
        zz_reason_t reason;

        memset(&ev, 0, sizeof(ev));
        ZZ_FEED_EVENT_HEAD(ev, rec, r);
        ev.action = (zz_enrollment_action_t)r->action;
        ev.household_id = r->household_id;
        ev.year = r->year;
        ev.tier = r->tier;
        ev.enrollment_class = (zz_enrollment_class_t)r->enroll_class;
        ev.kind = (zz_enrollment_kind_t)r->kind;
        ev.registered_on = r->registered_on;
        ev.region = r->region;
        ev.unit = nullable(r->unit);
        ev.reported_at = r->reported_at;
        if (zz_event_validate_enrollment(&ev, &reason, errstr, errstr_size) !=
                0 ||
            zz_event_enrollment_to_value(&ev, value, errstr, errstr_size) != 0)
                return -1;
        return 0;
}

static int encode_payment(const zz_feed_record_t *rec, avro_value_t *value,
                          char *errstr, size_t errstr_size)
{
        const zz_feed_payment_t *r = &rec->u.payment;
        zz_event_payment_t ev;
        zz_reason_t reason;

        memset(&ev, 0, sizeof(ev));
        ZZ_FEED_EVENT_HEAD(ev, rec, r);
        ev.kind = (zz_payment_kind_t)r->kind;
        ev.year = r->year;
        ev.contribution_fen = r->contribution_fen;
        ev.subsidy_applied_fen = r->subsidy_applied_fen;
        ev.paid_fen = r->paid_fen;
        ev.refund_fen = r->refund_fen;
        ev.paid_at = r->paid_at;
        ev.receipt = r->receipt;
        if (zz_event_validate_payment(&ev, &reason, errstr, errstr_size) != 0 ||
            zz_event_payment_to_value(&ev, value, errstr, errstr_size) != 0)
                return -1;
        return 0;
}

static int encode_control(const zz_feed_record_t *rec, avro_value_t *value,
                          char *errstr, size_t errstr_size)
{
        const zz_feed_control_t *r = &rec->u.control;
        zz_event_control_t ev;
        zz_event_position_t *pos = NULL;
        zz_reason_t reason;
        size_t i;
        int rc;

        memset(&ev, 0, sizeof(ev));
        ev.event_id = rec->event_id;
        ev.department = r->department;
        ev.dept_record_id = r->dept_record_id;
        ev.command = (zz_control_command_t)r->command;
        ev.jurisdiction = r->jurisdiction;
        ev.period = nullable(r->period);
        ev.policy_name = nullable(r->policy_name);
        ev.policy_version = nullable(r->policy_version);
        ev.issued_at = r->issued_at;
        if (r->positions != NULL) {
                pos = calloc(r->n_positions > 0 ? r->n_positions : 1,
                             sizeof(*pos));
                if (pos == NULL) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                for (i = 0; i < r->n_positions; i++) {
                        pos[i].topic = r->positions[i].topic;
                        pos[i].partition = r->positions[i].partition;
                        pos[i].offset = r->positions[i].offset;
                }
                ev.positions = pos;
                ev.positions_count = r->n_positions;
        }
        /* the value copies the strings: pos may go right after */
        rc =
            zz_event_validate_control(&ev, &reason, errstr, errstr_size) != 0 ||
            zz_event_control_to_value(&ev, value, errstr, errstr_size) != 0;
        free(pos);
        return rc != 0 ? -1 : 0;
}

int zz_feed_encode(zz_feed_encoder_t *enc, const zz_feed_record_t *rec,
                   const void **data, size_t *len, char *errstr,
                   size_t errstr_size)
{
        zz_stream_t stream;
        int rc;

        switch (rec->kind) {
        case ZZ_FEED_IDENTITY:
                stream = ZZ_STREAM_IDENTITY;
                rc = encode_identity(rec, &enc->values[stream], errstr,
                                     errstr_size);
                break;
        case ZZ_FEED_ENROLLMENT:
                stream = ZZ_STREAM_ENROLLMENT;
                rc = encode_enrollment(rec, &enc->values[stream], errstr,
                                       errstr_size);
                break;
        case ZZ_FEED_PAYMENT:
                stream = ZZ_STREAM_PAYMENT;
                rc = encode_payment(rec, &enc->values[stream], errstr,
                                    errstr_size);
                break;
        case ZZ_FEED_CONTROL:
                stream = ZZ_STREAM_CONTROL;
                rc = encode_control(rec, &enc->values[stream], errstr,
                                    errstr_size);
                break;
        default:
                snprintf(errstr, errstr_size, "unknown record kind");
                return -1;
        }
        if (rc != 0 || zz_codec_encode(enc->codec, stream, &enc->values[stream],
                                       &enc->buf, errstr, errstr_size) != 0)
                return -1;
        *data = enc->buf.data;
        *len = enc->buf.len;
        return 0;
}
