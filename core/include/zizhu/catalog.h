/*
 * catalog.h — the schema catalog: every schema zizhu writes, keyed by its
 * fingerprint, for readers that have no schema registry.
 *
 * A single-object-encoded message names its writer schema only by the
 * 64-bit CRC-64-AVRO fingerprint of its Parsing Canonical Form. An external
 * reader finds that schema in the catalog: the compacted topic
 * <prefix>schema-catalog, whose key is the fingerprint's 8 bytes as 16
 * lower-case hex digits, in the order they have on the wire (the 8 bytes
 * after C3 01: little-endian, as Avro's SchemaNormalization and fastavro's
 * fingerprint give them; codec messages print the 64-bit number instead,
 * the same bytes reversed) and whose value is the
 * schema's JSON text, with the headers zz-stream, zz-schema-file and
 * zz-schema-version. Every producing program writes every schema it knows
 * (all streams, all versions) there at start-up, before its first message,
 * and waits for the broker to acknowledge them; writing the same key and
 * value again is harmless on a compacted topic, so this is idempotent.
 * `zizhu schemas catalog` writes the same mapping as a file.
 *
 * Threads: any thread, with its own codec.
 */
#ifndef ZIZHU_CATALOG_H
#define ZIZHU_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "zizhu/codec.h"
#include "zizhu/config.h"

/* The stream name of the catalog topic (the prefix is added). */
#define ZZ_CATALOG_STREAM "schema-catalog"

/* The key of a fingerprint (the 64-bit value zz_codec_rabin64 returns):
 * 16 hex digits, little-endian byte order, and a NUL into buf[17]. */
char *zz_catalog_key(uint64_t fingerprint, char buf[17]);

/* Produces every schema of codec (NULL: of a codec made for the call) to
 * the catalog topic through a producer of its own (idempotent, acks=all,
 * never transactional) and waits until the broker has them all.
 * 0, or -1 with errstr (the program must not produce before this passed). */
int zz_catalog_publish(const zz_config_t *config, const zz_codec_t *codec,
                       char *errstr, size_t errstr_size);

/* The catalog as a JSON document: an object with one member per
 * fingerprint key, each {"stream", "version", "current", "file",
 * "schema"} where "schema" is the schema itself (a JSON value, not a
 * string), members sorted by key. malloc'd, NUL-terminated, ends with a
 * newline; the caller frees it. NULL on out of memory or a bad schema. */
char *zz_catalog_json(const zz_codec_t *codec);

#endif
