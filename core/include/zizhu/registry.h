/*
 * registry.h — the client of a Confluent-compatible schema registry, and
 * the start-up step that puts a codec's output topics on registry framing.
 *
 * A data platform's tools (Kafka Connect, Flink, ksqlDB, Spark, Confluent's
 * own deserializers) read Avro framed as 00 + the 4-byte id a schema
 * registry gave the writer schema (see codec.h). A topic whose stream has
 * wire.<stream> = registry gets that framing: zz_registry_attach registers
 * the stream's current schema under the subject "<topic>-value"
 * (TopicNameStrategy) once, before the program's first message, and the
 * codec then frames with the id. Registry-framed input is decoded whatever
 * the setting: an id the codec does not know yet is looked up once
 * (GET /schemas/ids/<id>) and matched by fingerprint to the schemas in
 * schemas/; an id of a schema zizhu does not have stays UNKNOWN_SCHEMA and
 * the message is dead-lettered as any unknown schema is.
 *
 * HTTP is libcurl's; the password for basic authentication comes from the
 * file schema_registry_auth_file names and is never logged or put in a
 * message.
 *
 * Threads: a zz_registry_t is used by one thread at a time (it holds a curl
 * handle), like the codec it serves. The cache of registered ids is shared
 * by every codec of the process, behind a lock, so a program with one codec
 * per thread registers each schema once.
 */
#ifndef ZIZHU_REGISTRY_H
#define ZIZHU_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "zizhu/codec.h"
#include "zizhu/config.h"

typedef struct zz_registry_s zz_registry_t;

/* A client of the registry at url (e.g. http://127.0.0.1:18081/apis/ccompat/
 * v7; a trailing '/' is ignored). auth_file, when not NULL, names a file
 * whose first line is user:password. NULL with errstr (which never holds
 * the password) when the file cannot be read or curl cannot start. */
zz_registry_t *zz_registry_new(const char *url, const char *auth_file,
                               char *errstr, size_t errstr_size);
/* Accepts NULL. */
void zz_registry_destroy(zz_registry_t *registry);

/* Registers schema_json (an Avro schema's text) under subject; the
 * registry answers with the existing id when it has the schema already.
 * 0 and *id set, or -1 with errstr (the registry's HTTP status and its
 * message). */
int zz_registry_register(zz_registry_t *registry, const char *subject,
                         const char *schema_json, int32_t *id, char *errstr,
                         size_t errstr_size);

/* The schema the registry has under id, as the text it returns: malloc'd,
 * the caller frees it. NULL with errstr when the registry has no such id or
 * did not answer. */
char *zz_registry_schema(zz_registry_t *registry, int32_t id, char *errstr,
                         size_t errstr_size);

/* The subject of a stream's topic: "<prefix><stream>-value" into buf.
 * Returns buf. */
char *zz_registry_subject(const zz_config_t *config, zz_stream_t stream,
                          char *buf, size_t buf_size);

/* The start-up step of every program that encodes or decodes messages,
 * right after zz_codec_new: checks the wire.<stream> settings (a name that
 * is no stream is an error), and when schema_registry_url is set, installs
 * a resolver on the codec for registry-framed input, and registers the
 * current schema of each stream set to registry (once per process) and
 * switches the codec's output for that stream to registry framing. Without
 * schema_registry_url, a stream set to registry is an error. 0, or -1 with
 * errstr (the program exits: the registry must be reachable before the
 * first message). */
int zz_registry_attach(const zz_config_t *config, zz_codec_t *codec,
                       char *errstr, size_t errstr_size);

#endif
