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

typedef struct zz_config_s zz_config_t;

#define ZZ_DEFAULT_BOOTSTRAP    "127.0.0.1:19092"
#define ZZ_DEFAULT_PG           "host=127.0.0.1 port=15432 dbname=zizhu user=zizhu"
#define ZZ_DEFAULT_TOPIC_PREFIX "zz."

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

/* The full topic name for a stream ("identity" -> "zz.identity") into buf.
 * Returns buf. */
char *zz_config_topic(const zz_config_t *config, const char *stream, char *buf,
                      size_t buf_size);

#endif
