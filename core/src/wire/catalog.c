/*
 * catalog.c — the schema catalog (catalog.h): every schema of the codec
 * onto the compacted topic <prefix>schema-catalog, and as a JSON file.
 */
#include "zizhu/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "zizhu/errstr.h"
#include "zizhu/kafka.h"
#include "zizhu/log.h"

#define ZZ_CATALOG_FLUSH_MS 30000

char *zz_catalog_key(uint64_t fingerprint, char buf[17])
{
        static const char hex[] = "0123456789abcdef";
        int i;

        /* byte i of the little-endian fingerprint, as on the wire */
        for (i = 0; i < 8; i++) {
                unsigned b = (unsigned)(fingerprint >> (8 * i)) & 0xffu;
                buf[2 * i] = hex[b >> 4];
                buf[2 * i + 1] = hex[b & 0xfu];
        }
        buf[16] = '\0';
        return buf;
}

struct delivery {
        size_t acked;
        rd_kafka_resp_err_t err;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
        struct delivery *d = opaque;

        (void)rk;
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
                d->err = m->err;
        else
                d->acked++;
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
                    char *errstr, size_t errstr_size)
{
        char err[256];

        if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
                zz_errstr_set(errstr, errstr_size, "%s: %s", k, err);
                return -1;
        }
        return 0;
}

int zz_catalog_publish(const zz_config_t *config, const zz_codec_t *codec,
                       char *errstr, size_t errstr_size)
{
        struct delivery d = {0, RD_KAFKA_RESP_ERR_NO_ERROR};
        zz_codec_t *own = NULL;
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        char topic[256];
        char err[512];
        size_t i, n;
        int ret = -1;

        if (codec == NULL) {
                own = zz_codec_new(errstr, errstr_size);
                if (own == NULL)
                        return -1;
                codec = own;
        }
        n = zz_codec_schema_count(codec);
        conf = rd_kafka_conf_new();
        if (conf_set(conf, "enable.idempotence", "true", errstr, errstr_size) !=
                0 ||
            conf_set(conf, "acks", "all", errstr, errstr_size) != 0 ||
            conf_set(conf, "message.timeout.ms", "20000", errstr,
                     errstr_size) != 0 ||
            zz_config_apply_kafka(config, conf, errstr, errstr_size) != 0) {
                rd_kafka_conf_destroy(conf);
                zz_codec_destroy(own);
                return -1;
        }
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, &d);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (rk == NULL) {
                zz_errstr_set(errstr, errstr_size,
                              "could not create the catalog producer: %s", err);
                rd_kafka_conf_destroy(conf);
                zz_codec_destroy(own);
                return -1;
        }
        zz_config_topic(config, ZZ_CATALOG_STREAM, topic, sizeof(topic));
        for (i = 0; i < n; i++) {
                zz_codec_schema_info_t info;
                char key[17];
                char version[16];
                rd_kafka_resp_err_t e;

                if (zz_codec_schema_info(codec, i, &info) != 0)
                        continue;
                zz_catalog_key(info.fingerprint, key);
                snprintf(version, sizeof(version), "%d", info.version);
                e = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, 16),
                    RD_KAFKA_V_VALUE((void *)info.json, strlen(info.json)),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_HEADER("zz-stream", zz_stream_name(info.stream),
                                      -1),
                    RD_KAFKA_V_HEADER("zz-schema-file", info.file, -1),
                    RD_KAFKA_V_HEADER("zz-schema-version", version, -1),
                    RD_KAFKA_V_END);
                if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        zz_errstr_set(errstr, errstr_size,
                                      "could not produce to %s: %s", topic,
                                      rd_kafka_err2str(e));
                        goto out;
                }
        }
        if (rd_kafka_flush(rk, ZZ_CATALOG_FLUSH_MS) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
                zz_errstr_set(errstr, errstr_size,
                              "the schema catalog %s was not acknowledged "
                              "within %d s",
                              topic, ZZ_CATALOG_FLUSH_MS / 1000);
                goto out;
        }
        if (d.err != RD_KAFKA_RESP_ERR_NO_ERROR || d.acked != n) {
                zz_errstr_set(errstr, errstr_size,
                              "could not write the schema catalog %s: %s\n"
                              "hint: create the topics of "
                              "deploy/local/topics.txt (zizhu topics apply)",
                              topic, rd_kafka_err2str(d.err));
                goto out;
        }
        zz_log_debug("catalog: %zu schemas in %s", n, topic);
        ret = 0;
out:
        rd_kafka_destroy(rk);
        zz_codec_destroy(own);
        return ret;
}

char *zz_catalog_json(const zz_codec_t *codec)
{
        json_t *root = json_object();
        size_t i, n = zz_codec_schema_count(codec);
        char *text = NULL;
        char *out;
        size_t len;

        if (root == NULL)
                return NULL;
        for (i = 0; i < n; i++) {
                zz_codec_schema_info_t info;
                json_t *schema;
                json_t *entry;
                char key[17];

                if (zz_codec_schema_info(codec, i, &info) != 0)
                        continue;
                schema = json_loads(info.json, 0, NULL);
                entry = schema
                            ? json_pack("{s:s, s:i, s:b, s:s, s:o}", "stream",
                                        zz_stream_name(info.stream), "version",
                                        info.version, "current", info.current,
                                        "file", info.file, "schema", schema)
                            : NULL;
                if (entry == NULL ||
                    json_object_set_new(root,
                                        zz_catalog_key(info.fingerprint, key),
                                        entry) != 0) {
                        json_decref(root);
                        return NULL;
                }
        }
        text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(root);
        if (text == NULL)
                return NULL;
        len = strlen(text);
        out = realloc(text, len + 2);
        if (out == NULL) {
                free(text);
                return NULL;
        }
        out[len] = '\n';
        out[len + 1] = '\0';
        return out;
}
