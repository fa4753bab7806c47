/*
 * codec.h — Avro single-object encoding of every zizhu stream.
 *
 * A message on a zizhu topic is Avro single-object encoded (the default;
 * see ZZ_CODEC_REGISTRY_MAGIC below for the other framing): the two
 * bytes C3 01, the 8-byte little-endian CRC-64-AVRO (Rabin) fingerprint of
 * the writer schema's Parsing Canonical Form, then the binary datum. The
 * schemas are the files in schemas/, compiled into the library: the current
 * one of each stream (<stream>.avsc) and its older versions
 * (<stream>.v<N>.avsc). A message written with an older version decodes
 * into a value of the current schema, with the fields it lacks set to their
 * defaults.
 *
 * Decoding never trusts the bytes: before avro-c sees a datum, a validating
 * pass walks the writer schema over it and rejects any length, count, union
 * branch or enum index that is negative or larger than what is left,
 * overlong varints, invalid UTF-8 or NUL in strings, and trailing bytes.
 * avro-c 1.11 would pass such lengths straight to malloc.
 *
 * Schema resolution is done here, not by avro_resolved_writer_new: avro-c
 * 1.11's resolved writer refuses a reader field that the writer lacks
 * ("TODO: Handle default values!"; for identity.v1 -> identity, 1.11.1 even
 * crashes in avro_resolved_writer_new instead of returning NULL) and maps
 * enum symbols by position instead of by name. zz_codec_new builds a
 * resolution plan per older schema (fields by name, defaults from the
 * schema JSON, enum symbols by name or the enum's default symbol, union
 * branches, int/long/float promotion), so an incompatible schema change
 * fails when the codec loads, not on a message.
 *
 * Threads: a codec holds per-stream decode scratch and is not thread-safe;
 * use one codec per thread (about 400 KB each).
 */
#ifndef ZIZHU_CODEC_H
#define ZIZHU_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

/* The streams of DOMAIN.md, inputs first. */
typedef enum zz_stream_e {
        ZZ_STREAM_IDENTITY = 0,
        ZZ_STREAM_ENROLLMENT,
        ZZ_STREAM_PAYMENT,
        ZZ_STREAM_CONTROL,
        ZZ_STREAM_SUBSIDY_STATE,
        ZZ_STREAM_RECONCILIATION,
        ZZ_STREAM_ALLOCATION,
        ZZ_STREAM_DEAD_LETTER,
        ZZ_STREAM__COUNT
} zz_stream_t;

/* The stream's name as used for topics and schema files ("identity",
 * "subsidy-state", "dead-letter"); "?" for an out-of-range value. Static. */
const char *zz_stream_name(zz_stream_t stream);
/* The stream named name[0..len). 0 and *out set, or -1 if none. */
int zz_stream_from_name(const char *name, size_t len, zz_stream_t *out);

/* Why a message did not decode. */
typedef enum zz_codec_err_e {
        ZZ_CODEC_OK = 0,
        ZZ_CODEC_ERR_FRAMING,        /* shorter than its header, or starting
                                      * with neither C3 01 nor 00 */
        ZZ_CODEC_ERR_UNKNOWN_SCHEMA, /* fingerprint or registry id of no
                                      * known schema */
        ZZ_CODEC_ERR_WRONG_STREAM,   /* a known schema of another stream */
        ZZ_CODEC_ERR_DATUM,          /* bytes do not match the writer schema */
        ZZ_CODEC_ERR_TRAILING,       /* bytes left after a complete datum */
        ZZ_CODEC_ERR_RESOLVE,        /* an older datum cannot be expressed in
                                      * the current schema (e.g. an enum
                                      * symbol with no default) */
        ZZ_CODEC_ERR_INTERNAL        /* out of memory, avro-c failure */
} zz_codec_err_t;

/* "FRAMING", "UNKNOWN_SCHEMA", ...; static. */
const char *zz_codec_err_name(zz_codec_err_t err);

#define ZZ_CODEC_MAGIC_0     0xC3
#define ZZ_CODEC_MAGIC_1     0x01
#define ZZ_CODEC_HEADER_SIZE 10

/* Schema registry framing (Confluent's wire format): the byte 00, the
 * 4-byte big-endian id the registry gave the writer schema, then the binary
 * datum. Decode accepts both framings (the first byte tells); encode writes
 * registry framing for a stream once zz_codec_set_registry_output named its
 * id. The ids come from a registry (see registry.h): the codec only maps
 * them to its schemas. */
#define ZZ_CODEC_REGISTRY_MAGIC       0x00
#define ZZ_CODEC_REGISTRY_HEADER_SIZE 5

/* Upper bound on array and map items in one datum (all blocks, all levels):
 * caps memory when items can encode in zero bytes (e.g. arrays of null). */
#define ZZ_CODEC_MAX_ITEMS ((int64_t)1 << 22)

typedef struct zz_codec_s zz_codec_t;

/* Loads and checks every embedded schema: parses it with avro-c, computes its
 * canonical form and fingerprint, and builds the resolution plan of each
 * older version against the current one. NULL with errstr filled (naming the
 * schema file) if any of that fails. Destroy with zz_codec_destroy. */
zz_codec_t *zz_codec_new(char *errstr, size_t errstr_size);
/* Like zz_codec_new, from the n schema texts given (NUL-terminated JSON)
 * instead of the embedded ones: for tests of schema evolution, and for a
 * tool that checks a changed schema before it is committed. files[i] names
 * texts[i] as the build would ("identity.avsc", "identity.v1.avsc"); every
 * stream needs its current schema. Both arrays are copied. */
zz_codec_t *zz_codec_new_from(const char *const *files,
                              const char *const *texts, size_t n, char *errstr,
                              size_t errstr_size);
/* Frees the codec, its schemas and scratch values. Accepts NULL. Values
 * returned by zz_codec_decode become invalid; values from
 * zz_codec_value_new stay valid (they hold their own references). */
void zz_codec_destroy(zz_codec_t *codec);

/* The current schema of a stream. Borrowed: valid while the codec lives;
 * avro_schema_incref it to keep it longer. NULL for a bad stream. */
avro_schema_t zz_codec_schema(zz_codec_t *codec, zz_stream_t stream);
/* A given version of a stream's schema (1 for <stream>.v1.avsc; the
 * current schema has the highest version). Borrowed; NULL if no such
 * version. */
avro_schema_t zz_codec_schema_version(zz_codec_t *codec, zz_stream_t stream,
                                      int version);
/* Fingerprint (CRC-64-AVRO of the canonical form) of the current schema. */
uint64_t zz_codec_stream_fingerprint(const zz_codec_t *codec,
                                     zz_stream_t stream);

/* One loaded schema, for listing tools and tests. Pointers are borrowed from
 * the codec. */
typedef struct zz_codec_schema_info_s {
        zz_stream_t stream;
        int version;           /* 1, 2, ...; the current is the highest */
        int current;           /* 1 for the stream's current schema */
        uint64_t fingerprint;  /* CRC-64-AVRO of canonical */
        const char *file;      /* "identity.v1.avsc" */
        const char *json;      /* the schema file's text, NUL-terminated */
        const char *canonical; /* Parsing Canonical Form, NUL-terminated */
        avro_schema_t schema;
} zz_codec_schema_info_t;

size_t zz_codec_schema_count(const zz_codec_t *codec);
/* 0 and *out filled for i < zz_codec_schema_count, else -1. */
int zz_codec_schema_info(const zz_codec_t *codec, size_t i,
                         zz_codec_schema_info_t *out);

/* A new, empty value of the stream's current schema, for building a message
 * to encode. The caller owns it: avro_value_decref(out) when done (it may
 * outlive the codec). 0, or -1 (bad stream, out of memory). */
int zz_codec_value_new(zz_codec_t *codec, zz_stream_t stream,
                       avro_value_t *out);

/* A growable byte buffer owned by the caller. Start from ZZ_CODEC_BUF_INIT
 * (or all zeros), reuse it across calls, free it with zz_codec_buf_free. */
typedef struct zz_codec_buf_s {
        unsigned char *data;
        size_t len; /* bytes of the last message */
        size_t cap; /* bytes allocated */
} zz_codec_buf_t;

#define ZZ_CODEC_BUF_INIT                                                      \
        {                                                                      \
                NULL, 0, 0                                                     \
        }

/* Binds the registry id to the known schema with that fingerprint, for
 * decoding messages framed with it. 0 (also when already bound to it), or
 * -1: no schema of this codec has that fingerprint, the id is <= 0 or
 * bound to another schema, out of memory. */
int zz_codec_registry_bind(zz_codec_t *codec, int32_t id, uint64_t fingerprint);

/* From now on zz_codec_encode frames the stream's messages with registry id
 * id (which must be bound to the stream's current schema: -1 otherwise), or
 * with single-object encoding again when id is 0. Older versions of the
 * stream's schema are then refused by encode (only the current schema is
 * registered). */
int zz_codec_set_registry_output(zz_codec_t *codec, zz_stream_t stream,
                                 int32_t id);

/* Called by zz_codec_decode for a registry id not bound yet: sets
 * *fingerprint to the fingerprint of the schema the registry has under that
 * id and returns 0 (the codec then binds it), or -1 (the message is then
 * UNKNOWN_SCHEMA). Called on the decoding thread. */
typedef int (*zz_codec_resolve_fn)(void *opaque, int32_t id,
                                   uint64_t *fingerprint);
/* Installs the resolver (NULL: none; unknown ids are UNKNOWN_SCHEMA). The
 * codec takes opaque: opaque_free(opaque), when not NULL, is called when
 * the resolver is replaced and by zz_codec_destroy. */
void zz_codec_set_resolver(zz_codec_t *codec, zz_codec_resolve_fn fn,
                           void *opaque, void (*opaque_free)(void *opaque));

/* Frees the bytes and resets the buffer to empty. Accepts NULL. */
void zz_codec_buf_free(zz_codec_buf_t *buf);

/* Encodes value as one message of stream into out (single-object encoded,
 * or registry framed after zz_codec_set_registry_output),
 * replacing its content (out->len is the message size). The value must be of
 * a schema of that stream (the current one, from zz_codec_value_new, or an
 * older version from zz_codec_schema_version: the message then carries that
 * version's fingerprint) and complete: every union must have a branch set.
 * The encoded bytes are run through the same validation as decode, so an
 * out-of-range enum or a string that is not UTF-8 is refused here, not by
 * the reader. 0, or -1 with errstr (out->len is then 0). */
int zz_codec_encode(zz_codec_t *codec, zz_stream_t stream, avro_value_t *value,
                    zz_codec_buf_t *out, char *errstr, size_t errstr_size);

/* Decodes one message that should belong to stream expected.
 *
 * On success returns 0 and sets *out to a value of the stream's current
 * schema. *out is BORROWED scratch owned by the codec: do not decref it; it
 * is valid until the next zz_codec_decode for the same stream on this codec,
 * or zz_codec_destroy. Strings read from it are valid as long. Copy it with
 * avro_value_copy (or zz_event_*_from_value into an arena) to keep it.
 *
 * On failure returns -1, sets *err (when err is not NULL) to the reason,
 * writes a message to errstr that never contains message content, and
 * clears *out to {NULL, NULL}. Never crashes or leaks on any input. */
int zz_codec_decode(zz_codec_t *codec, zz_stream_t expected, const void *buf,
                    size_t len, avro_value_t *out, zz_codec_err_t *err,
                    char *errstr, size_t errstr_size);

/* Reads only the header: the stream and version of a message's writer
 * schema. 0, or -1 (*err FRAMING or UNKNOWN_SCHEMA) when not known. stream,
 * version and err may be NULL. */
int zz_codec_peek(const zz_codec_t *codec, const void *buf, size_t len,
                  zz_stream_t *stream, int *version, zz_codec_err_t *err);

/* The Parsing Canonical Form of a schema given as JSON text (json need not be
 * NUL-terminated): primitives in simple form, full names, only the
 * attributes that matter for parsing, in the fixed order, no whitespace.
 * Returns a malloc'd NUL-terminated string the caller frees with free(), or
 * NULL with errstr on invalid JSON or an invalid schema. */
char *zz_codec_canonical_form(const char *json, size_t len, char *errstr,
                              size_t errstr_size);

/* CRC-64-AVRO (Rabin) fingerprint of len bytes. */
uint64_t zz_codec_rabin64(const void *data, size_t len);

#endif
