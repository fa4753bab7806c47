/*
 * fuzz_codec.c — libFuzzer target of the Avro codec and the event
 * decoders (codec.h, event.h), every stream.
 *
 * An input is one Kafka message value. It is decoded as the stream its
 * header names (so that most inputs reach the datum decoder and schema
 * resolution of older versions), and once as the next stream (the
 * wrong-stream path). A decoded value of an input stream goes through
 * zz_event_*_from_value and zz_event_validate_*; every decoded value is
 * encoded again, and that message must decode and encode to the same
 * bytes (an abort otherwise: a finding, not a sanitizer report).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

#include "zizhu/arena.h"
#include "zizhu/codec.h"
#include "zizhu/event.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static zz_codec_t *codec;
static zz_arena_t *arena;
/* Values of the input streams' schemas, for zz_event_*_to_value. */
static avro_value_t fresh[ZZ_STREAM_CONTROL + 1];

static void to_event(zz_stream_t stream, avro_value_t *value)
{
        char err[256];
        zz_reason_t reason;
        int rc = 0;

        zz_arena_reset(arena);
        switch (stream) {
        case ZZ_STREAM_IDENTITY: {
                zz_event_identity_t ev;
                rc = zz_event_identity_from_value(value, arena, ZZ_EVENT_COPY,
                                                  &ev, err, sizeof err);
                if (rc == 0) {
                        (void)zz_event_validate_identity(&ev, &reason, err,
                                                         sizeof err);
                        rc = zz_event_identity_to_value(&ev, &fresh[stream],
                                                        err, sizeof err);
                }
                break;
        }
        case ZZ_STREAM_ENROLLMENT: {
                zz_event_enrollment_t ev;
                rc = zz_event_enrollment_from_value(
                    value, arena, ZZ_EVENT_BORROW, &ev, err, sizeof err);
                if (rc == 0) {
                        (void)zz_event_validate_enrollment(&ev, &reason, err,
                                                           sizeof err);
                        rc = zz_event_enrollment_to_value(&ev, &fresh[stream],
                                                          err, sizeof err);
                }
                break;
        }
        case ZZ_STREAM_PAYMENT: {
                zz_event_payment_t ev;
                rc = zz_event_payment_from_value(value, arena, ZZ_EVENT_COPY,
                                                 &ev, err, sizeof err);
                if (rc == 0) {
                        (void)zz_event_validate_payment(&ev, &reason, err,
                                                        sizeof err);
                        rc = zz_event_payment_to_value(&ev, &fresh[stream], err,
                                                       sizeof err);
                }
                break;
        }
        case ZZ_STREAM_CONTROL: {
                zz_event_control_t ev;
                rc = zz_event_control_from_value(value, arena, ZZ_EVENT_BORROW,
                                                 &ev, err, sizeof err);
                if (rc == 0) {
                        (void)zz_event_validate_control(&ev, &reason, err,
                                                        sizeof err);
                        rc = zz_event_control_to_value(&ev, &fresh[stream], err,
                                                       sizeof err);
                }
                break;
        }
        default:
                return;
        }
        /* A value the codec decoded is of the current schema: the event
         * decoder must take it, and the event go back into a value. */
        if (rc != 0) {
                fprintf(stderr,
                        "%s: decoded value refused or not rebuilt: %s\n",
                        zz_stream_name(stream), err);
                abort();
        }
}

/* Encodes value; the message must decode, and encode to the same bytes. */
static void round_trip(zz_stream_t stream, avro_value_t *value)
{
        zz_codec_buf_t first = ZZ_CODEC_BUF_INIT;
        zz_codec_buf_t second = ZZ_CODEC_BUF_INIT;
        avro_value_t again;
        zz_codec_err_t cerr;
        char err[256];

        if (zz_codec_encode(codec, stream, value, &first, err, sizeof err) !=
            0) {
                fprintf(stderr, "%s: decoded value does not encode: %s\n",
                        zz_stream_name(stream), err);
                abort();
        }
        if (zz_codec_decode(codec, stream, first.data, first.len, &again, &cerr,
                            err, sizeof err) != 0) {
                fprintf(stderr, "%s: re-encoded message does not decode: %s\n",
                        zz_stream_name(stream), err);
                abort();
        }
        if (zz_codec_encode(codec, stream, &again, &second, err, sizeof err) !=
                0 ||
            second.len != first.len ||
            memcmp(first.data, second.data, first.len) != 0) {
                fprintf(stderr, "%s: encoding is not stable\n",
                        zz_stream_name(stream));
                abort();
        }
        zz_codec_buf_free(&first);
        zz_codec_buf_free(&second);
}

/* Before the first input, so that libFuzzer's leak check sees only what
 * one input allocates. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char err[256];

        codec = zz_codec_new(err, sizeof err);
        arena = zz_arena_new(0);
        if (codec == NULL || arena == NULL) {
                fprintf(stderr, "fuzz_codec: %s\n", err);
                abort();
        }
        for (int i = 0; i <= ZZ_STREAM_CONTROL; i++)
                if (zz_codec_value_new(codec, (zz_stream_t)i, &fresh[i]) != 0)
                        abort();
        /* Schema registry framing too: ids 1..n name the schemas, so a
         * message 00 + id + datum reaches the same validation. */
        for (size_t i = 0; i < zz_codec_schema_count(codec); i++) {
                zz_codec_schema_info_t info;
                if (zz_codec_schema_info(codec, i, &info) != 0 ||
                    zz_codec_registry_bind(codec, (int32_t)i + 1,
                                           info.fingerprint) != 0)
                        abort();
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        zz_stream_t stream = ZZ_STREAM_IDENTITY;
        zz_codec_err_t cerr;
        avro_value_t value;
        char err[256];
        int version;

        if (zz_codec_peek(codec, data, size, &stream, &version, &cerr) != 0)
                stream = ZZ_STREAM_IDENTITY;
        if (zz_codec_decode(codec, stream, data, size, &value, &cerr, err,
                            sizeof err) == 0) {
                to_event(stream, &value);
                round_trip(stream, &value);
        } else if (cerr == ZZ_CODEC_OK) {
                fprintf(stderr, "decode failed without a reason\n");
                abort();
        }
        (void)zz_codec_decode(codec,
                              (zz_stream_t)((stream + 1) % ZZ_STREAM__COUNT),
                              data, size, &value, &cerr, err, sizeof err);
        return 0;
}
