/*
 * registry.c — a Confluent-compatible schema registry over libcurl, JSON by
 * jansson: register a schema under a subject, fetch a schema by id, and the
 * start-up step that binds a codec's streams to their ids (registry.h).
 */
#include "zizhu/registry.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "zizhu/errstr.h"
#include "zizhu/log.h"

#define ZZ_REGISTRY_TIMEOUT_MS 10000L
#define ZZ_REGISTRY_CONNECT_MS 5000L
#define ZZ_REGISTRY_MAX_BODY   (4L << 20) /* a schema is a few KB */
#define ZZ_REGISTRY_MISSES     16
#define ZZ_REGISTRY_MISS_SECS  30

/* An id the registry did not resolve, not asked again for a while: a
 * stream of messages with a bad id costs one request, not one each. */
struct zz_miss {
        int32_t id;
        time_t at;
};

struct zz_registry_s {
        CURL *curl;
        char *url;     /* without a trailing '/' */
        char *userpwd; /* user:password, or NULL */
        struct zz_miss misses[ZZ_REGISTRY_MISSES];
        size_t next_miss;
};

struct zz_body {
        char *data;
        size_t len;
        int overflow;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct zz_body *b = userdata;
        size_t n = size * nmemb;
        char *grown;

        if (b->len + n > (size_t)ZZ_REGISTRY_MAX_BODY) {
                b->overflow = 1;
                return 0;
        }
        grown = realloc(b->data, b->len + n + 1);
        if (grown == NULL)
                return 0;
        memcpy(grown + b->len, ptr, n);
        b->data = grown;
        b->len += n;
        b->data[b->len] = '\0';
        return n;
}

/* The first line of the file, without its newline: malloc'd, or NULL. */
static char *read_first_line(const char *path, char *errstr, size_t errstr_size)
{
        FILE *fp = fopen(path, "r");
        char line[1024];
        size_t n;

        if (fp == NULL) {
                zz_errstr_set(errstr, errstr_size,
                              "could not open schema registry auth file "
                              "\"%s\": %s",
                              path, strerror(errno));
                return NULL;
        }
        if (fgets(line, sizeof(line), fp) == NULL)
                line[0] = '\0';
        fclose(fp);
        n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (n == 0 || strchr(line, ':') == NULL) {
                zz_errstr_set(errstr, errstr_size,
                              "schema registry auth file \"%s\" does not "
                              "start with a line user:password",
                              path);
                return NULL;
        }
        return strdup(line);
}

zz_registry_t *zz_registry_new(const char *url, const char *auth_file,
                               char *errstr, size_t errstr_size)
{
        zz_registry_t *r;
        size_t n;

        if (url == NULL || url[0] == '\0') {
                zz_errstr_set(errstr, errstr_size,
                              "no schema registry URL (schema_registry_url)");
                return NULL;
        }
        r = calloc(1, sizeof(*r));
        if (r == NULL) {
                zz_errstr_set(errstr, errstr_size, "out of memory");
                return NULL;
        }
        r->url = strdup(url);
        if (r->url == NULL) {
                zz_errstr_set(errstr, errstr_size, "out of memory");
                goto fail;
        }
        n = strlen(r->url);
        while (n > 0 && r->url[n - 1] == '/')
                r->url[--n] = '\0';
        if (auth_file != NULL && auth_file[0] != '\0') {
                r->userpwd = read_first_line(auth_file, errstr, errstr_size);
                if (r->userpwd == NULL)
                        goto fail;
        }
        /* curl_global_init runs on the first curl_easy_init; thread-safe
         * since libcurl 7.84 (the build requires it). */
        r->curl = curl_easy_init();
        if (r->curl == NULL) {
                zz_errstr_set(errstr, errstr_size, "could not start libcurl");
                goto fail;
        }
        return r;
fail:
        zz_registry_destroy(r);
        return NULL;
}

void zz_registry_destroy(zz_registry_t *r)
{
        if (r == NULL)
                return;
        if (r->curl != NULL)
                curl_easy_cleanup(r->curl);
        if (r->userpwd != NULL) {
                memset(r->userpwd, 0, strlen(r->userpwd));
                free(r->userpwd);
        }
        free(r->url);
        free(r);
}

/* The registry's own message from an error body ({"error_code": N,
 * "message": "..."}), or "" when it has none. */
static void error_message(const struct zz_body *b, char *out, size_t out_size)
{
        json_t *root;
        const char *msg = NULL;

        out[0] = '\0';
        if (b->data == NULL)
                return;
        root = json_loadb(b->data, b->len, 0, NULL);
        if (root != NULL)
                msg = json_string_value(json_object_get(root, "message"));
        if (msg != NULL)
                snprintf(out, out_size, ": %s", msg);
        json_decref(root);
}

/* One request: GET when body is NULL, else POST of body. The answer's JSON
 * into *answer (the caller json_decref's it) when the status is 200. 0, or
 * -1 with errstr; *status is the HTTP status (0: no answer). */
static int request(zz_registry_t *r, const char *path, const char *body,
                   json_t **answer, long *status, char *errstr,
                   size_t errstr_size)
{
        struct zz_body b = {NULL, 0, 0};
        struct curl_slist *headers = NULL;
        char url[2048];
        char detail[512];
        CURLcode rc;
        int ret = -1;

        *answer = NULL;
        *status = 0;
        snprintf(url, sizeof(url), "%s%s", r->url, path);
        curl_easy_reset(r->curl);
        curl_easy_setopt(r->curl, CURLOPT_URL, url);
        curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, ZZ_REGISTRY_TIMEOUT_MS);
        curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS,
                         ZZ_REGISTRY_CONNECT_MS);
        curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        if (r->userpwd != NULL) {
                curl_easy_setopt(r->curl, CURLOPT_HTTPAUTH,
                                 (long)CURLAUTH_BASIC);
                curl_easy_setopt(r->curl, CURLOPT_USERPWD, r->userpwd);
        }
        headers = curl_slist_append(
            headers, "Accept: application/vnd.schemaregistry.v1+json, "
                     "application/json");
        if (body != NULL && headers != NULL)
                headers = curl_slist_append(
                    headers,
                    "Content-Type: application/vnd.schemaregistry.v1+json");
        if (headers == NULL) {
                zz_errstr_set(errstr, errstr_size, "out of memory");
                goto out;
        }
        curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, headers);
        if (body != NULL)
                curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
        rc = curl_easy_perform(r->curl);
        if (rc != CURLE_OK) {
                zz_errstr_set(errstr, errstr_size,
                              "schema registry %s did not answer: %s", r->url,
                              b.overflow ? "answer too long"
                                         : curl_easy_strerror(rc));
                goto out;
        }
        curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, status);
        if (*status != 200) {
                error_message(&b, detail, sizeof(detail));
                zz_errstr_set(errstr, errstr_size,
                              "schema registry answered HTTP %ld to %s%s",
                              *status, body ? "POST" : "GET", detail);
                goto out;
        }
        *answer = b.data ? json_loadb(b.data, b.len, 0, NULL) : NULL;
        if (*answer == NULL) {
                zz_errstr_set(errstr, errstr_size,
                              "schema registry answered with no JSON");
                goto out;
        }
        ret = 0;
out:
        curl_slist_free_all(headers);
        free(b.data);
        return ret;
}

int zz_registry_register(zz_registry_t *r, const char *subject,
                         const char *schema_json, int32_t *id, char *errstr,
                         size_t errstr_size)
{
        json_t *req = json_object();
        json_t *answer = NULL;
        char *body = NULL;
        char *esc = NULL;
        char path[1024];
        json_int_t v;
        long status;
        int ret = -1;

        if (req == NULL ||
            json_object_set_new(req, "schema", json_string(schema_json)) != 0 ||
            json_object_set_new(req, "schemaType", json_string("AVRO")) != 0) {
                zz_errstr_set(errstr, errstr_size,
                              "could not build the registration of %s",
                              subject);
                goto out;
        }
        body = json_dumps(req, JSON_COMPACT);
        esc = curl_easy_escape(r->curl, subject, 0);
        if (body == NULL || esc == NULL) {
                zz_errstr_set(errstr, errstr_size, "out of memory");
                goto out;
        }
        snprintf(path, sizeof(path), "/subjects/%s/versions", esc);
        if (request(r, path, body, &answer, &status, errstr, errstr_size) != 0)
                goto out;
        v = json_integer_value(json_object_get(answer, "id"));
        if (!json_is_integer(json_object_get(answer, "id")) || v <= 0 ||
            v > INT32_MAX) {
                zz_errstr_set(errstr, errstr_size,
                              "schema registry gave no id for %s", subject);
                goto out;
        }
        *id = (int32_t)v;
        ret = 0;
out:
        json_decref(answer);
        json_decref(req);
        free(body);
        curl_free(esc);
        return ret;
}

char *zz_registry_schema(zz_registry_t *r, int32_t id, char *errstr,
                         size_t errstr_size)
{
        json_t *answer = NULL;
        const char *text;
        char path[64];
        char *copy = NULL;
        long status;

        snprintf(path, sizeof(path), "/schemas/ids/%" PRId32, id);
        if (request(r, path, NULL, &answer, &status, errstr, errstr_size) != 0)
                return NULL;
        text = json_string_value(json_object_get(answer, "schema"));
        if (text == NULL)
                zz_errstr_set(errstr, errstr_size,
                              "schema registry gave no schema for id %" PRId32,
                              id);
        else if ((copy = strdup(text)) == NULL)
                zz_errstr_set(errstr, errstr_size, "out of memory");
        json_decref(answer);
        return copy;
}

char *zz_registry_subject(const zz_config_t *config, zz_stream_t stream,
                          char *buf, size_t buf_size)
{
        snprintf(buf, buf_size, "%s%s-value", zz_config_topic_prefix(config),
                 zz_stream_name(stream));
        return buf;
}

/* The ids this process registered: subject + fingerprint -> id, so that
 * a second codec (another thread, a restart of a loop) asks no more. */
struct zz_registered {
        char subject[256];
        char url[512];
        uint64_t fingerprint;
        int32_t id;
};

static pthread_mutex_t registered_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zz_registered registered[64];
static size_t nregistered;

static int cached_id(const char *url, const char *subject, uint64_t fp,
                     int32_t *id)
{
        size_t i;
        int found = 0;

        pthread_mutex_lock(&registered_lock);
        for (i = 0; i < nregistered && !found; i++) {
                if (registered[i].fingerprint == fp &&
                    strcmp(registered[i].subject, subject) == 0 &&
                    strcmp(registered[i].url, url) == 0) {
                        *id = registered[i].id;
                        found = 1;
                }
        }
        pthread_mutex_unlock(&registered_lock);
        return found;
}

static void cache_id(const char *url, const char *subject, uint64_t fp,
                     int32_t id)
{
        pthread_mutex_lock(&registered_lock);
        if (nregistered < sizeof(registered) / sizeof(registered[0])) {
                struct zz_registered *e = &registered[nregistered++];
                snprintf(e->subject, sizeof(e->subject), "%s", subject);
                snprintf(e->url, sizeof(e->url), "%s", url);
                e->fingerprint = fp;
                e->id = id;
        }
        pthread_mutex_unlock(&registered_lock);
}

/* The codec's resolver: the registry's schema for id, by fingerprint. */
static int resolve(void *opaque, int32_t id, uint64_t *fingerprint)
{
        zz_registry_t *r = opaque;
        time_t now = time(NULL);
        char errstr[512];
        char *text;
        char *canonical;
        size_t i;

        for (i = 0; i < ZZ_REGISTRY_MISSES; i++) {
                if (r->misses[i].id == id &&
                    now - r->misses[i].at < ZZ_REGISTRY_MISS_SECS)
                        return -1;
        }
        text = zz_registry_schema(r, id, errstr, sizeof(errstr));
        canonical = text ? zz_codec_canonical_form(text, strlen(text), errstr,
                                                   sizeof(errstr))
                         : NULL;
        free(text);
        if (canonical == NULL) {
                zz_log_warn("registry id %" PRId32 " not resolved: %s", id,
                            errstr);
                r->misses[r->next_miss].id = id;
                r->misses[r->next_miss].at = now;
                r->next_miss = (r->next_miss + 1) % ZZ_REGISTRY_MISSES;
                return -1;
        }
        *fingerprint = zz_codec_rabin64(canonical, strlen(canonical));
        free(canonical);
        return 0;
}

static void resolver_free(void *opaque)
{
        zz_registry_destroy(opaque);
}

int zz_registry_attach(const zz_config_t *config, zz_codec_t *codec,
                       char *errstr, size_t errstr_size)
{
        const char *url = zz_config_registry_url(config);
        zz_registry_t *r;
        size_t i;

        for (i = 0; i < zz_config_wire_count(config); i++) {
                const char *name = zz_config_wire_stream(config, i);
                zz_stream_t stream;

                if (zz_stream_from_name(name, strlen(name), &stream) != 0) {
                        zz_errstr_set(errstr, errstr_size,
                                      "wire.%s: no stream is named \"%s\"",
                                      name, name);
                        return -1;
                }
                if (strcmp(zz_config_wire(config, name), "registry") == 0 &&
                    (url == NULL || url[0] == '\0')) {
                        zz_errstr_set(errstr, errstr_size,
                                      "wire.%s = registry needs "
                                      "schema_registry_url",
                                      name);
                        return -1;
                }
        }
        if (url == NULL || url[0] == '\0')
                return 0;
        r = zz_registry_new(url, zz_config_registry_auth_file(config), errstr,
                            errstr_size);
        if (r == NULL)
                return -1;
        zz_codec_set_resolver(codec, resolve, r, resolver_free);
        for (i = 0; i < ZZ_STREAM__COUNT; i++) {
                zz_stream_t stream = (zz_stream_t)i;
                const char *mode =
                    zz_config_wire(config, zz_stream_name(stream));
                uint64_t fp = zz_codec_stream_fingerprint(codec, stream);
                const char *json = NULL;
                char subject[256];
                int32_t id = 0;
                size_t k;

                if (mode == NULL || strcmp(mode, "registry") != 0)
                        continue;
                for (k = 0; k < zz_codec_schema_count(codec); k++) {
                        zz_codec_schema_info_t info;
                        if (zz_codec_schema_info(codec, k, &info) == 0 &&
                            info.stream == stream && info.current)
                                json = info.json;
                }
                zz_registry_subject(config, stream, subject, sizeof(subject));
                if (!cached_id(url, subject, fp, &id)) {
                        if (json == NULL ||
                            zz_registry_register(r, subject, json, &id, errstr,
                                                 errstr_size) != 0)
                                return -1;
                        cache_id(url, subject, fp, id);
                        zz_log_info("registry: %s registered as id %" PRId32,
                                    subject, id);
                }
                if (zz_codec_registry_bind(codec, id, fp) != 0 ||
                    zz_codec_set_registry_output(codec, stream, id) != 0) {
                        zz_errstr_set(errstr, errstr_size,
                                      "registry id %" PRId32 " of %s is "
                                      "already bound to another schema",
                                      id, subject);
                        return -1;
                }
        }
        return 0;
}
