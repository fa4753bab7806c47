/*
 * config.c — defaults, then a key = value file, then the environment, then
 * the command line; librdkafka properties pass through untouched.
 */
#include "zizhu/config.h"
#include "zizhu/pseudonym.h"
#include "zizhu/vocab.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct zz_kv {
        char *key;
        char *value;
};

struct zz_config_s {
        char *bootstrap;
        char *pg;
        char *topic_prefix;
        char *pseudonym_key;
        long long audit_retention_ms;
        long long connect_retry_ms;
        char *registry_url;
        char *registry_auth_file;
        struct zz_kv *wire; /* stream -> "registry" | "single-object" */
        size_t wire_count;
        size_t wire_cap;
        struct zz_kv *kafka;
        size_t kafka_count;
        size_t kafka_cap;
};

static int replace(char **slot, const char *value)
{
        char *copy = strdup(value);

        if (copy == NULL)
                return -1;
        free(*slot);
        *slot = copy;
        return 0;
}

/* Sets key to value in the list *kv (replacing an earlier value). */
static int kv_set(struct zz_kv **kv, size_t *count, size_t *cap,
                  const char *key, const char *value)
{
        size_t i;

        for (i = 0; i < *count; i++) {
                if (strcmp((*kv)[i].key, key) == 0)
                        return replace(&(*kv)[i].value, value);
        }
        if (*count == *cap) {
                size_t ncap = *cap ? *cap * 2 : 8;
                struct zz_kv *grown = realloc(*kv, ncap * sizeof(*grown));

                if (grown == NULL)
                        return -1;
                *kv = grown;
                *cap = ncap;
        }
        (*kv)[*count].key = strdup(key);
        (*kv)[*count].value = strdup(value);
        if ((*kv)[*count].key == NULL || (*kv)[*count].value == NULL) {
                free((*kv)[*count].key);
                free((*kv)[*count].value);
                return -1;
        }
        (*count)++;
        return 0;
}

int zz_config_set_kafka(zz_config_t *config, const char *key, const char *value)
{
        return kv_set(&config->kafka, &config->kafka_count, &config->kafka_cap,
                      key, value);
}

/* wire.<stream> = registry | single-object. The stream name is checked by
 * the wire layer (zz_registry_attach), which knows the streams. */
static int set_wire(zz_config_t *config, const char *stream, const char *value,
                    char *errstr, size_t errstr_size)
{
        if (strcmp(value, "registry") != 0 &&
            strcmp(value, "single-object") != 0) {
                snprintf(errstr, errstr_size,
                         "wire.%s must be \"registry\" or \"single-object\", "
                         "not \"%s\"",
                         stream, value);
                return -1;
        }
        return kv_set(&config->wire, &config->wire_count, &config->wire_cap,
                      stream, value);
}

/* audit_retention_ms: -1 (the log must be kept for ever) or a number of
 * milliseconds > 0. */
static int set_retention(zz_config_t *config, const char *value, char *errstr,
                         size_t errstr_size)
{
        char *end;
        long long ms;

        errno = 0;
        ms = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' ||
            (ms != -1 && ms <= 0)) {
                snprintf(errstr, errstr_size,
                         "audit_retention_ms must be -1 (keep for ever) or a "
                         "number of milliseconds, not \"%s\"",
                         value);
                return -1;
        }
        config->audit_retention_ms = ms;
        return 0;
}

/* connect_retry_ms: 0 (no retry) or more milliseconds. */
static int set_connect_retry(zz_config_t *config, const char *value,
                             char *errstr, size_t errstr_size)
{
        char *end;
        long long ms;

        errno = 0;
        ms = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || ms < 0) {
                snprintf(errstr, errstr_size,
                         "connect_retry_ms must be 0 (no retry) or a number of "
                         "milliseconds, not \"%s\"",
                         value);
                return -1;
        }
        config->connect_retry_ms = ms;
        return 0;
}

/* Applies one setting by name; anything unknown is a librdkafka property
 * when it came from -X, an error when it came from the file without the
 * "kafka." prefix. */
static int apply(zz_config_t *config, const char *key, const char *value,
                 int from_file, char *errstr, size_t errstr_size)
{
        if (strcmp(key, "bootstrap") == 0)
                return replace(&config->bootstrap, value);
        if (strcmp(key, "pg") == 0)
                return replace(&config->pg, value);
        if (strcmp(key, "topic_prefix") == 0)
                return replace(&config->topic_prefix, value);
        if (strcmp(key, "pseudonym_key") == 0) {
                if (value[0] != '\0' && strlen(value) < ZZ_PSEUDONYM_KEY_MIN) {
                        snprintf(errstr, errstr_size,
                                 "pseudonym key is too short: %zu bytes, at "
                                 "least %d are required (pseudonym_key / "
                                 "ZIZHU_PSEUDONYM_KEY)",
                                 strlen(value), ZZ_PSEUDONYM_KEY_MIN);
                        return -1;
                }
                return replace(&config->pseudonym_key, value);
        }
        if (strcmp(key, "audit_retention_ms") == 0)
                return set_retention(config, value, errstr, errstr_size);
        if (strcmp(key, "connect_retry_ms") == 0)
                return set_connect_retry(config, value, errstr, errstr_size);
        if (strcmp(key, "schema_registry_url") == 0)
                return replace(&config->registry_url, value);
        if (strcmp(key, "schema_registry_auth_file") == 0)
                return replace(&config->registry_auth_file, value);
        if (strncmp(key, "wire.", 5) == 0 && key[5] != '\0')
                return set_wire(config, key + 5, value, errstr, errstr_size);
        if (strncmp(key, "kafka.", 6) == 0 && key[6] != '\0')
                return zz_config_set_kafka(config, key + 6, value);
        if (from_file) {
                snprintf(errstr, errstr_size, "unknown setting \"%s\"", key);
                return -1;
        }
        return zz_config_set_kafka(config, key, value);
}

static char *trim(char *s)
{
        char *end;

        while (isspace((unsigned char)*s))
                s++;
        end = s + strlen(s);
        while (end > s && isspace((unsigned char)end[-1]))
                *--end = '\0';
        return s;
}

int zz_config_set(zz_config_t *config, const char *pair, char *errstr,
                  size_t errstr_size)
{
        char buf[4096];
        char *eq;
        char *key;

        if (strlen(pair) >= sizeof(buf)) {
                snprintf(errstr, errstr_size, "setting is too long");
                return -1;
        }
        memcpy(buf, pair, strlen(pair) + 1);
        eq = strchr(buf, '=');
        if (eq == NULL) {
                snprintf(errstr, errstr_size,
                         "expected key=value, got \"%.64s\"", pair);
                return -1;
        }
        *eq = '\0';
        key = trim(buf);
        if (*key == '\0') {
                snprintf(errstr, errstr_size, "empty key in \"%.64s\"", pair);
                return -1;
        }
        if (apply(config, key, trim(eq + 1), 0, errstr, errstr_size) != 0) {
                if (errstr_size > 0 && errstr[0] == '\0')
                        snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

static int load_file(zz_config_t *config, const char *path, char *errstr,
                     size_t errstr_size)
{
        FILE *fp = fopen(path, "r");
        char line[4096];
        int lineno = 0;

        if (fp == NULL) {
                snprintf(errstr, errstr_size, "could not open \"%s\": %s", path,
                         strerror(errno));
                return -1;
        }
        while (fgets(line, sizeof(line), fp) != NULL) {
                char *s;
                char *eq;
                char detail[256] = "";

                lineno++;
                s = strchr(line, '#');
                if (s != NULL)
                        *s = '\0';
                s = trim(line);
                if (*s == '\0')
                        continue;
                eq = strchr(s, '=');
                if (eq == NULL) {
                        snprintf(errstr, errstr_size,
                                 "%s:%d: expected key = value", path, lineno);
                        fclose(fp);
                        return -1;
                }
                *eq = '\0';
                if (apply(config, trim(s), trim(eq + 1), 1, detail,
                          sizeof(detail)) != 0) {
                        snprintf(errstr, errstr_size, "%s:%d: %s", path, lineno,
                                 detail[0] ? detail : "out of memory");
                        fclose(fp);
                        return -1;
                }
        }
        fclose(fp);
        return 0;
}

zz_config_t *zz_config_load(const char *path, char *errstr, size_t errstr_size)
{
        static const struct {
                const char *env;
                const char *key;
        } envs[] = {
            {"ZIZHU_BOOTSTRAP", "bootstrap"},
            {"ZIZHU_PG", "pg"},
            {"ZIZHU_TOPIC_PREFIX", "topic_prefix"},
            {"ZIZHU_PSEUDONYM_KEY", "pseudonym_key"},
            {"ZIZHU_AUDIT_RETENTION_MS", "audit_retention_ms"},
            {"ZIZHU_CONNECT_RETRY_MS", "connect_retry_ms"},
            {"ZIZHU_SCHEMA_REGISTRY_URL", "schema_registry_url"},
            {"ZIZHU_SCHEMA_REGISTRY_AUTH_FILE", "schema_registry_auth_file"}};
        zz_config_t *config = calloc(1, sizeof(*config));
        size_t i;

        if (errstr_size > 0)
                errstr[0] = '\0';
        if (config == NULL)
                return NULL;
        if (replace(&config->bootstrap, ZZ_DEFAULT_BOOTSTRAP) != 0 ||
            replace(&config->pg, ZZ_DEFAULT_PG) != 0 ||
            replace(&config->topic_prefix, ZZ_DEFAULT_TOPIC_PREFIX) != 0 ||
            replace(&config->pseudonym_key, "") != 0)
                goto fail;
        config->audit_retention_ms = -1;
        config->connect_retry_ms = ZZ_DEFAULT_CONNECT_RETRY_MS;
        if (path == NULL)
                path = getenv("ZIZHU_CONFIG");
        if (path != NULL && path[0] != '\0' &&
            load_file(config, path, errstr, errstr_size) != 0)
                goto fail;
        for (i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
                const char *value = getenv(envs[i].env);

                if (value != NULL && value[0] != '\0' &&
                    apply(config, envs[i].key, value, 1, errstr, errstr_size) !=
                        0)
                        goto fail;
        }
        return config;
fail:
        zz_config_destroy(config);
        return NULL;
}

void zz_config_destroy(zz_config_t *config)
{
        size_t i;

        if (config == NULL)
                return;
        for (i = 0; i < config->kafka_count; i++) {
                free(config->kafka[i].key);
                free(config->kafka[i].value);
        }
        free(config->kafka);
        for (i = 0; i < config->wire_count; i++) {
                free(config->wire[i].key);
                free(config->wire[i].value);
        }
        free(config->wire);
        free(config->registry_url);
        free(config->registry_auth_file);
        free(config->bootstrap);
        free(config->pg);
        free(config->topic_prefix);
        free(config->pseudonym_key);
        free(config);
}

const char *zz_config_bootstrap(const zz_config_t *config)
{
        return config->bootstrap;
}

const char *zz_config_pg(const zz_config_t *config)
{
        return config->pg;
}

const char *zz_config_topic_prefix(const zz_config_t *config)
{
        return config->topic_prefix;
}

const char *zz_config_pseudonym_key(const zz_config_t *config)
{
        return config->pseudonym_key;
}

long long zz_config_connect_retry_ms(const zz_config_t *config)
{
        return config->connect_retry_ms;
}

long long zz_config_audit_retention_ms(const zz_config_t *config)
{
        return config->audit_retention_ms;
}

const char *zz_config_registry_url(const zz_config_t *config)
{
        return config->registry_url;
}

const char *zz_config_registry_auth_file(const zz_config_t *config)
{
        return config->registry_auth_file;
}

const char *zz_config_wire(const zz_config_t *config, const char *stream)
{
        size_t i;

        for (i = 0; i < config->wire_count; i++) {
                if (strcmp(config->wire[i].key, stream) == 0)
                        return config->wire[i].value;
        }
        return NULL;
}

size_t zz_config_wire_count(const zz_config_t *config)
{
        return config->wire_count;
}

const char *zz_config_wire_stream(const zz_config_t *config, size_t i)
{
        return i < config->wire_count ? config->wire[i].key : NULL;
}

size_t zz_config_kafka_count(const zz_config_t *config)
{
        return config->kafka_count;
}

void zz_config_kafka_get(const zz_config_t *config, size_t i, const char **key,
                         const char **value)
{
        *key = config->kafka[i].key;
        *value = config->kafka[i].value;
}

char *zz_config_topic(const zz_config_t *config, const char *stream, char *buf,
                      size_t buf_size)
{
        snprintf(buf, buf_size, "%s%s", config->topic_prefix, stream);
        return buf;
}

#define IDENTITY_STREAM "identity"

char *zz_config_identity_stream(const char *dept, char *buf, size_t buf_size)
{
        size_t i, n = sizeof(IDENTITY_STREAM);

        if (buf_size > 0)
                buf[0] = '\0';
        if (zz_vocab_dept_index(dept) < 0 || n + strlen(dept) + 1 > buf_size)
                return NULL;
        memcpy(buf, IDENTITY_STREAM ".", n);
        for (i = 0; dept[i] != '\0'; i++)
                buf[n + i] = (char)tolower((unsigned char)dept[i]);
        buf[n + i] = '\0';
        return buf;
}

const char *zz_config_identity_dept(const zz_config_t *config,
                                    const char *topic)
{
        size_t plen = strlen(config->topic_prefix);
        char want[ZZ_CONFIG_STREAM_SIZE];
        int i;

        if (topic == NULL || strncmp(topic, config->topic_prefix, plen) != 0)
                return NULL;
        for (i = 0; i < ZZ_VOCAB_DEPTS; i++) {
                const char *dept = zz_vocab_dept(i);

                if (zz_config_identity_stream(dept, want, sizeof(want)) !=
                        NULL &&
                    strcmp(topic + plen, want) == 0)
                        return dept;
        }
        return NULL;
}

static void streams_add(zz_config_streams_t *out, const char *name)
{
        if (out->n >= ZZ_CONFIG_STREAMS_MAX)
                return;
        snprintf(out->buf[out->n], sizeof(out->buf[out->n]), "%s", name);
        out->name[out->n] = out->buf[out->n];
        out->n++;
}

size_t zz_config_topic_streams(const char *const *streams, size_t n,
                               zz_config_streams_t *out)
{
        char name[ZZ_CONFIG_STREAM_SIZE];
        size_t i;
        int d;

        out->n = 0;
        for (i = 0; i < n; i++) {
                if (strcmp(streams[i], IDENTITY_STREAM) != 0) {
                        streams_add(out, streams[i]);
                        continue;
                }
                for (d = 0; d < ZZ_VOCAB_DEPTS; d++)
                        streams_add(
                            out, zz_config_identity_stream(zz_vocab_dept(d),
                                                           name, sizeof(name)));
        }
        return out->n;
}
