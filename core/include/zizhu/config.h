/*
 * config.h — one configuration path for every program.
 *
 * Precedence, lowest first: built-in defaults; the file named by
 * ZIZHU_CONFIG (or --config); environment variables; command-line options
 * (-X key=value for librdkafka properties, passed through untouched).
 *
 * Settings (file key / environment variable):
 *   bootstrap / ZIZHU_BOOTSTRAP   Kafka bootstrap servers (127.0.0.1:19092)
 *   pg        / ZIZHU_PG          libpq conninfo
 *                                 (host=127.0.0.1 port=15432 dbname=zizhu
 *                                  user=zizhu)
 *   topic_prefix / ZIZHU_TOPIC_PREFIX  prefix of every topic name ("zz.")
 *   pseudonym_key / ZIZHU_PSEUDONYM_KEY  HMAC key for pseudonyms, at least
 *                                 32 bytes (ZZ_PSEUDONYM_KEY_MIN): a shorter
 *                                 one is refused as an error of the file,
 *                                 the environment or the option
 *   connect_retry_ms / ZIZHU_CONNECT_RETRY_MS  how long a long-running
 *                                 worker retries an unreachable PostgreSQL
 *                                 (with backoff) before it gives up and
 *                                 exits 1: 60000 by default, 0 = no retry
 *                                 (zz_pg_set_connect_retry)
 *   audit_retention_ms / ZIZHU_AUDIT_RETENTION_MS  the shortest retention
 *                                 the audit accepts on the topics it replays:
 *                                 -1 (default) = the log must be kept for ever
 *   schema_registry_url / ZIZHU_SCHEMA_REGISTRY_URL  a Confluent-compatible
 *                                 schema registry (http://127.0.0.1:18081/
 *                                 apis/ccompat/v7 for Apicurio): where the
 *                                 streams with wire.<stream> = registry
 *                                 register their schemas, and where the
 *                                 inputs' registry ids are looked up
 *   schema_registry_auth_file / ZIZHU_SCHEMA_REGISTRY_AUTH_FILE  a file whose
 *                                 first line is user:password, for HTTP basic
 *                                 authentication to the registry (never the
 *                                 password itself in the configuration)
 *   wire.<stream> in the file     registry | single-object (the default):
 *                                 how the messages of that stream's topic are
 *                                 framed (see codec.h)
 *   kafka.<prop> in the file      a librdkafka property, as -X <prop>=...
 *
 * The file is lines of key = value; '#' starts a comment.
 *
 * Threads: build a configuration (zz_config_load, zz_config_set,
 * zz_config_set_kafka) on one thread before sharing it. Once built, the
 * getters, zz_config_apply_kafka and zz_config_topic only read it and may
 * run on any number of threads at once (the subsidy worker's consumer
 * loop and relay share one); changing it then would be a data race.
 * zz_kafka_watermarks: any thread, with its own rd_kafka_t or a shared
 * one (librdkafka's handles are thread-safe).
 */
#ifndef ZIZHU_CONFIG_H
#define ZIZHU_CONFIG_H

#include <stddef.h>

#include "zizhu/vocab.h"

typedef struct zz_config_s zz_config_t;

#define ZZ_DEFAULT_BOOTSTRAP        "127.0.0.1:19092"
#define ZZ_DEFAULT_PG               "host=127.0.0.1 port=15432 dbname=zizhu user=zizhu"
#define ZZ_DEFAULT_TOPIC_PREFIX     "zz."
#define ZZ_DEFAULT_CONNECT_RETRY_MS 60000

/* Defaults, then the file (path, or $ZIZHU_CONFIG when path is NULL), then
 * the environment. NULL with errstr filled on a bad file. */
zz_config_t *zz_config_load(const char *path, char *errstr, size_t errstr_size);
void zz_config_destroy(zz_config_t *config);

/* Applies one "key=value": a setting name from the list above, or any
 * other key as a librdkafka property. -1 with errstr on a malformed pair. */
int zz_config_set(zz_config_t *config, const char *pair, char *errstr,
                  size_t errstr_size);
/* Adds a librdkafka property (what -X key=value does). */
int zz_config_set_kafka(zz_config_t *config, const char *key,
                        const char *value);

/* Borrowed strings, valid until the config is destroyed. */
const char *zz_config_bootstrap(const zz_config_t *config);
const char *zz_config_pg(const zz_config_t *config);
const char *zz_config_topic_prefix(const zz_config_t *config);
const char *zz_config_pseudonym_key(const zz_config_t *config);
/* -1 (the audited topics must keep their log for ever) or the shortest
 * retention in milliseconds they may have. */
long long zz_config_audit_retention_ms(const zz_config_t *config);
/* Milliseconds a worker retries an unreachable PostgreSQL (0: none). */
long long zz_config_connect_retry_ms(const zz_config_t *config);

/* The registry's URL and the basic-auth file, or NULL when not set. */
const char *zz_config_registry_url(const zz_config_t *config);
const char *zz_config_registry_auth_file(const zz_config_t *config);
/* "registry" or "single-object" for wire.<stream>, NULL when not set. */
const char *zz_config_wire(const zz_config_t *config, const char *stream);
/* The streams named in wire.<stream> settings, i < zz_config_wire_count. */
size_t zz_config_wire_count(const zz_config_t *config);
const char *zz_config_wire_stream(const zz_config_t *config, size_t i);

/* Number of librdkafka properties, and the i-th key and value. */
size_t zz_config_kafka_count(const zz_config_t *config);
void zz_config_kafka_get(const zz_config_t *config, size_t i, const char **key,
                         const char **value);

/* The full topic name for a topic stream ("enrollment" ->
 * "zz.enrollment", "identity.dpf" -> "zz.identity.dpf") into buf.
 * Returns buf. */
char *zz_config_topic(const zz_config_t *config, const char *stream, char *buf,
                      size_t buf_size);

/*
 * Topic streams. Every stream is one topic named after it, except the
 * identity stream: it is one topic per certifying department
 * (zz_vocab_dept, in that order), named "identity." and the department's
 * code in lower case: identity.mca, identity.mva, identity.rrb,
 * identity.dpf, identity.nhc, identity.edu. A broker's ACL then lets each
 * department's credentials write its own records only, and the subsidy
 * worker dead-letters an identity record whose department is not its
 * topic's (DEPARTMENT_MISMATCH). These functions are the one place that
 * knows those names: producers pick a record's topic with
 * zz_config_identity_stream, readers expand their list of streams with
 * zz_config_topic_streams. All of them only read and may run on any
 * thread.
 */

/* Longest topic stream name, NUL included ("reconciliation",
 * "identity.dpf"), and most names one expansion gives. */
#define ZZ_CONFIG_STREAM_SIZE 32
#define ZZ_CONFIG_STREAMS_MAX 32

/* Stream "identity": this many topics. */
#define ZZ_CONFIG_IDENTITY_TOPICS ZZ_VOCAB_DEPTS

/* The topic stream of department dept's identity records ("DPF" ->
 * "identity.dpf") into buf; returns buf, or NULL (buf "") when dept is not
 * a certifying department or buf is too small. */
char *zz_config_identity_stream(const char *dept, char *buf, size_t buf_size);

/* The certifying department whose identity topic topic is, the full name
 * with config's prefix ("zz.identity.dpf" -> "DPF", a static string);
 * NULL for any other topic (the old single "zz.identity" among them). */
const char *zz_config_identity_dept(const zz_config_t *config,
                                    const char *topic);

/* Topic stream names, filled by zz_config_topic_streams: name[0..n) point
 * into buf (so do not copy the struct; pass a pointer). */
typedef struct zz_config_streams_s {
        size_t n;
        const char *name[ZZ_CONFIG_STREAMS_MAX];
        char buf[ZZ_CONFIG_STREAMS_MAX][ZZ_CONFIG_STREAM_SIZE];
} zz_config_streams_t;

/* The topic streams of streams[0..n) into *out, in that order, with
 * "identity" expanded into its ZZ_CONFIG_IDENTITY_TOPICS department
 * topics: {"identity", "enrollment"} -> identity.mca, identity.mva,
 * identity.rrb, identity.dpf, identity.nhc, identity.edu, enrollment.
 * Names beyond ZZ_CONFIG_STREAMS_MAX are left out. Returns out->n. */
size_t zz_config_topic_streams(const char *const *streams, size_t n,
                               zz_config_streams_t *out);

#endif
