/*
 * test_registry.c — schema registry framing in the codec (00 + 4-byte
 * big-endian id + the same datum), the resolver for ids not bound yet, the
 * wire.<stream> settings, the registry client's requests and basic
 * authentication (against a small HTTP server in the test, since the
 * registry deploy/local/registry.sh runs has no authentication; the real
 * registry is in tests/integration/test_registry.c), and the catalog's
 * keys and document.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "zizhu/catalog.h"
#include "zizhu/codec.h"
#include "zizhu/config.h"
#include "zizhu/registry.h"

#include "zz_test.h"

static char err[512];

/* One single-object enrollment message (from the fixtures) into ms. */
static void one_enrollment(zz_test_msgs_t *ms)
{
        char id[19];

        zz_test_idno("510322", "19800101", 7, id);
        zz_test_enrollment(ms, id, 2024, 1, "ANNUAL",
                           "2023-10-01T09:00:00+08:00", "510322");
        cr_assert_eq(ms->n, 1);
}

static uint64_t fp_of(zz_codec_t *codec, zz_stream_t stream)
{
        return zz_codec_stream_fingerprint(codec, stream);
}

Test(registry, framing_is_00_big_endian_id_then_the_same_datum)
{
        zz_test_msgs_t ms = {0};
        zz_codec_t *codec;
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        avro_value_t v;
        const zz_test_msg_t *so;
        zz_stream_t stream;
        int version;

        one_enrollment(&ms);
        so = &ms.m[0];
        codec = zz_codec_new(err, sizeof(err));
        cr_assert_not_null(codec, "%s", err);
        cr_assert_eq(zz_codec_decode(codec, ZZ_STREAM_ENROLLMENT, so->value,
                                     so->len, &v, NULL, err, sizeof(err)),
                     0, "%s", err);
        /* not bound: refused */
        cr_expect_eq(zz_codec_set_registry_output(codec, ZZ_STREAM_ENROLLMENT,
                                                  0x01020304),
                     -1);
        cr_assert_eq(zz_codec_registry_bind(codec, 0x01020304,
                                            fp_of(codec, ZZ_STREAM_ENROLLMENT)),
                     0);
        cr_assert_eq(zz_codec_set_registry_output(codec, ZZ_STREAM_ENROLLMENT,
                                                  0x01020304),
                     0);
        cr_assert_eq(zz_codec_encode(codec, ZZ_STREAM_ENROLLMENT, &v, &buf, err,
                                     sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(buf.len, so->len - ZZ_CODEC_HEADER_SIZE +
                                  ZZ_CODEC_REGISTRY_HEADER_SIZE);
        cr_expect_eq(buf.data[0], 0x00);
        cr_expect_eq(buf.data[1], 0x01);
        cr_expect_eq(buf.data[2], 0x02);
        cr_expect_eq(buf.data[3], 0x03);
        cr_expect_eq(buf.data[4], 0x04);
        cr_expect_eq(memcmp(buf.data + ZZ_CODEC_REGISTRY_HEADER_SIZE,
                            so->value + ZZ_CODEC_HEADER_SIZE,
                            so->len - ZZ_CODEC_HEADER_SIZE),
                     0, "the datum differs between the framings");
        cr_expect_eq(
            zz_codec_peek(codec, buf.data, buf.len, &stream, &version, NULL),
            0);
        cr_expect_eq(stream, ZZ_STREAM_ENROLLMENT);
        /* back to single-object */
        cr_assert_eq(
            zz_codec_set_registry_output(codec, ZZ_STREAM_ENROLLMENT, 0), 0);
        cr_assert_eq(zz_codec_encode(codec, ZZ_STREAM_ENROLLMENT, &v, &buf, err,
                                     sizeof(err)),
                     0, "%s", err);
        cr_expect_eq(buf.len, so->len);
        cr_expect_eq(memcmp(buf.data, so->value, so->len), 0);
        zz_codec_buf_free(&buf);
        zz_codec_destroy(codec);
        zz_test_msgs_free(&ms);
}

Test(registry, bind_refuses_unknown_fingerprints_and_rebinding)
{
        zz_codec_t *codec = zz_codec_new(err, sizeof(err));
        avro_schema_t v1;
        size_t i;
        uint64_t v1_fp = 0;

        cr_assert_not_null(codec, "%s", err);
        cr_expect_eq(zz_codec_registry_bind(codec, 5, UINT64_C(0x1234)), -1);
        cr_expect_eq(
            zz_codec_registry_bind(codec, 0, fp_of(codec, ZZ_STREAM_PAYMENT)),
            -1);
        cr_expect_eq(
            zz_codec_registry_bind(codec, 5, fp_of(codec, ZZ_STREAM_PAYMENT)),
            0);
        cr_expect_eq(
            zz_codec_registry_bind(codec, 5, fp_of(codec, ZZ_STREAM_PAYMENT)),
            0, "binding again to the same schema is fine");
        cr_expect_eq(
            zz_codec_registry_bind(codec, 5, fp_of(codec, ZZ_STREAM_CONTROL)),
            -1, "an id names one schema");
        /* an older version may be bound (for input), not used for output */
        v1 = zz_codec_schema_version(codec, ZZ_STREAM_IDENTITY, 1);
        cr_assert_not_null(v1);
        for (i = 0; i < zz_codec_schema_count(codec); i++) {
                zz_codec_schema_info_t info;
                cr_assert_eq(zz_codec_schema_info(codec, i, &info), 0);
                if (info.schema == v1)
                        v1_fp = info.fingerprint;
        }
        cr_assert_eq(zz_codec_registry_bind(codec, 6, v1_fp), 0);
        cr_expect_eq(zz_codec_set_registry_output(codec, ZZ_STREAM_IDENTITY, 6),
                     -1);
        cr_expect_eq(zz_codec_set_registry_output(codec, ZZ_STREAM_PAYMENT, 6),
                     -1);
        zz_codec_destroy(codec);
}

struct resolver_state {
        uint64_t answer;
        int ok;
        int calls;
        int freed;
};

static int resolve(void *opaque, int32_t id, uint64_t *fingerprint)
{
        struct resolver_state *st = opaque;

        (void)id;
        st->calls++;
        if (!st->ok)
                return -1;
        *fingerprint = st->answer;
        return 0;
}

static void resolver_free(void *opaque)
{
        ((struct resolver_state *)opaque)->freed++;
}

Test(registry, unknown_ids_are_resolved_once_or_unknown_schema)
{
        zz_test_msgs_t ms = {0};
        zz_codec_t *writer, *reader;
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        struct resolver_state st = {0, 0, 0, 0};
        zz_codec_err_t e;
        avro_value_t v, out;
        unsigned char shortmsg[4] = {0x00, 0x00, 0x00, 0x09};
        unsigned char zero_id[6] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x02};

        one_enrollment(&ms);
        writer = zz_codec_new(err, sizeof(err));
        reader = zz_codec_new(err, sizeof(err));
        cr_assert(writer != NULL && reader != NULL);
        cr_assert_eq(zz_codec_decode(writer, ZZ_STREAM_ENROLLMENT,
                                     ms.m[0].value, ms.m[0].len, &v, NULL, err,
                                     sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(zz_codec_registry_bind(
                         writer, 77, fp_of(writer, ZZ_STREAM_ENROLLMENT)),
                     0);
        cr_assert_eq(
            zz_codec_set_registry_output(writer, ZZ_STREAM_ENROLLMENT, 77), 0);
        cr_assert_eq(zz_codec_encode(writer, ZZ_STREAM_ENROLLMENT, &v, &buf,
                                     err, sizeof(err)),
                     0, "%s", err);

        /* no resolver: UNKNOWN_SCHEMA, and peek knows nothing either */
        cr_expect_eq(zz_codec_decode(reader, ZZ_STREAM_ENROLLMENT, buf.data,
                                     buf.len, &out, &e, err, sizeof(err)),
                     -1);
        cr_expect_eq(e, ZZ_CODEC_ERR_UNKNOWN_SCHEMA);
        cr_expect(strstr(err, "registry id 77") != NULL, "%s", err);
        cr_expect_eq(zz_codec_peek(reader, buf.data, buf.len, NULL, NULL, &e),
                     -1);

        /* a resolver that fails: still UNKNOWN_SCHEMA */
        zz_codec_set_resolver(reader, resolve, &st, resolver_free);
        cr_expect_eq(zz_codec_decode(reader, ZZ_STREAM_ENROLLMENT, buf.data,
                                     buf.len, &out, &e, err, sizeof(err)),
                     -1);
        cr_expect_eq(e, ZZ_CODEC_ERR_UNKNOWN_SCHEMA);
        cr_expect_eq(st.calls, 1);
        /* a resolver naming a fingerprint zizhu does not have */
        st.ok = 1;
        st.answer = UINT64_C(0xdeadbeef);
        cr_expect_eq(zz_codec_decode(reader, ZZ_STREAM_ENROLLMENT, buf.data,
                                     buf.len, &out, &e, err, sizeof(err)),
                     -1);
        cr_expect_eq(e, ZZ_CODEC_ERR_UNKNOWN_SCHEMA);
        /* the schema of another stream: WRONG_STREAM after resolving */
        st.answer = fp_of(reader, ZZ_STREAM_PAYMENT);
        cr_expect_eq(zz_codec_decode(reader, ZZ_STREAM_ENROLLMENT, buf.data,
                                     buf.len, &out, &e, err, sizeof(err)),
                     -1);
        cr_expect_eq(e, ZZ_CODEC_ERR_WRONG_STREAM);
        zz_codec_destroy(reader);
        cr_expect_eq(st.freed, 1, "the codec frees its resolver's state");

        /* the right one: decodes, equal to the single-object message, and
         * the id is bound: the resolver is not asked again */
        reader = zz_codec_new(err, sizeof(err));
        cr_assert_not_null(reader);
        st.calls = 0;
        st.answer = fp_of(reader, ZZ_STREAM_ENROLLMENT);
        zz_codec_set_resolver(reader, resolve, &st, NULL);
        cr_assert_eq(zz_codec_decode(reader, ZZ_STREAM_ENROLLMENT, buf.data,
                                     buf.len, &out, &e, err, sizeof(err)),
                     0, "%s", err);
        cr_expect(avro_value_equal(&v, &out));
        cr_assert_eq(zz_codec_decode(reader, ZZ_STREAM_ENROLLMENT, buf.data,
                                     buf.len, &out, &e, err, sizeof(err)),
                     0, "%s", err);
        cr_expect_eq(st.calls, 1);
        /* truncated header, id 0 */
        cr_expect_eq(zz_codec_decode(reader, ZZ_STREAM_ENROLLMENT, shortmsg,
                                     sizeof(shortmsg), &out, &e, err,
                                     sizeof(err)),
                     -1);
        cr_expect_eq(e, ZZ_CODEC_ERR_FRAMING);
        cr_expect_eq(zz_codec_decode(reader, ZZ_STREAM_ENROLLMENT, zero_id,
                                     sizeof(zero_id), &out, &e, err,
                                     sizeof(err)),
                     -1);
        cr_expect_eq(e, ZZ_CODEC_ERR_UNKNOWN_SCHEMA);
        /* a registry-framed datum that is cut short: DATUM, not a crash */
        cr_expect_eq(zz_codec_decode(reader, ZZ_STREAM_ENROLLMENT, buf.data,
                                     buf.len - 3, &out, &e, err, sizeof(err)),
                     -1);
        cr_expect_eq(e, ZZ_CODEC_ERR_DATUM);

        zz_codec_buf_free(&buf);
        zz_codec_destroy(reader);
        zz_codec_destroy(writer);
        zz_test_msgs_free(&ms);
}

Test(registry, wire_settings)
{
        zz_config_t *c = zz_config_load("/dev/null", err, sizeof(err));
        zz_codec_t *codec = zz_codec_new(err, sizeof(err));

        cr_assert(c != NULL && codec != NULL);
        cr_expect_eq(
            zz_config_set(c, "wire.identity=confluent", err, sizeof(err)), -1);
        cr_expect(strstr(err, "registry") != NULL, "%s", err);
        cr_assert_eq(
            zz_config_set(c, "wire.identity=single-object", err, sizeof(err)),
            0);
        cr_expect_str_eq(zz_config_wire(c, "identity"), "single-object");
        cr_expect_null(zz_config_wire(c, "payment"));
        cr_expect_null(zz_config_registry_url(c));
        /* single-object everywhere and no URL: nothing to do */
        cr_expect_eq(zz_registry_attach(c, codec, err, sizeof(err)), 0, "%s",
                     err);
        cr_assert_eq(
            zz_config_set(c, "wire.subsidy-state=registry", err, sizeof(err)),
            0);
        cr_expect_eq(zz_registry_attach(c, codec, err, sizeof(err)), -1);
        cr_expect(strstr(err, "schema_registry_url") != NULL, "%s", err);
        cr_assert_eq(
            zz_config_set(c, "wire.subsidy_state=registry", err, sizeof(err)),
            0);
        cr_assert_eq(zz_config_set(c, "schema_registry_url=http://127.0.0.1:1",
                                   err, sizeof(err)),
                     0);
        cr_expect_eq(zz_registry_attach(c, codec, err, sizeof(err)), -1);
        cr_expect(strstr(err, "no stream is named \"subsidy_state\"") != NULL,
                  "%s", err);
        zz_config_destroy(c);

        /* a registry that does not answer: the program cannot start */
        setenv("ZIZHU_SCHEMA_REGISTRY_URL", "http://127.0.0.1:1/", 1);
        c = zz_config_load("/dev/null", err, sizeof(err));
        unsetenv("ZIZHU_SCHEMA_REGISTRY_URL");
        cr_assert_not_null(c);
        cr_expect_str_eq(zz_config_registry_url(c), "http://127.0.0.1:1/");
        cr_assert_eq(
            zz_config_set(c, "wire.dead-letter=registry", err, sizeof(err)), 0);
        cr_expect_eq(zz_registry_attach(c, codec, err, sizeof(err)), -1);
        cr_expect(strstr(err, "did not answer") != NULL, "%s", err);
        zz_config_destroy(c);
        zz_codec_destroy(codec);
}

/* A stand-in for a registry's two endpoints that wants basic auth
 * user:pass ("dXNlcjpwYXNz"). */
struct fake {
        struct MHD_Daemon *daemon;
        int port;
        char body[8192];
        char path[256];
        const char *schema; /* what GET /schemas/ids/5 returns */
};

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
                              json_t *j)
{
        char *text = json_dumps(j, JSON_COMPACT);
        struct MHD_Response *resp;
        enum MHD_Result ret;

        json_decref(j);
        resp = MHD_create_response_from_buffer(strlen(text), text,
                                               MHD_RESPMEM_MUST_FREE);
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result fake_handle(void *cls, struct MHD_Connection *conn,
                                   const char *url, const char *method,
                                   const char *version, const char *upload,
                                   size_t *upload_size, void **con_cls)
{
        struct fake *f = cls;
        const char *auth;
        static int marker;

        (void)version;
        if (*con_cls == NULL) {
                *con_cls = &marker;
                f->body[0] = '\0';
                return MHD_YES;
        }
        if (*upload_size > 0) {
                size_t have = strlen(f->body);
                size_t n = *upload_size;
                if (have + n >= sizeof(f->body))
                        n = sizeof(f->body) - have - 1;
                memcpy(f->body + have, upload, n);
                f->body[have + n] = '\0';
                *upload_size = 0;
                return MHD_YES;
        }
        snprintf(f->path, sizeof(f->path), "%s %s", method, url);
        auth =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        if (auth == NULL || strcmp(auth, "Basic dXNlcjpwYXNz") != 0)
                return answer(conn, 401,
                              json_pack("{s:i, s:s}", "error_code", 40101,
                                        "message", "Unauthorized"));
        if (strcmp(method, "POST") == 0 &&
            strcmp(url, "/apis/ccompat/v7/subjects/p.payment-value/versions") ==
                0)
                return answer(conn, 200, json_pack("{s:i}", "id", 77));
        if (strcmp(method, "GET") == 0 &&
            strcmp(url, "/apis/ccompat/v7/schemas/ids/5") == 0)
                return answer(conn, 200,
                              json_pack("{s:s}", "schema", f->schema));
        return answer(conn, 404,
                      json_pack("{s:i, s:s}", "error_code", 40403, "message",
                                "Schema not found"));
}

static void fake_start(struct fake *f)
{
        struct sockaddr_in addr;
        const union MHD_DaemonInfo *info;

        memset(&addr, 0, sizeof(addr));
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        f->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                                     NULL, fake_handle, f, MHD_OPTION_SOCK_ADDR,
                                     (struct sockaddr *)&addr, MHD_OPTION_END);
        cr_assert_not_null(f->daemon);
        info = MHD_get_daemon_info(f->daemon, MHD_DAEMON_INFO_BIND_PORT);
        cr_assert_not_null(info);
        f->port = info->port;
}

Test(registry, client_sends_basic_auth_from_the_file_and_never_shows_it)
{
        struct fake f;
        zz_codec_t *codec = zz_codec_new(err, sizeof(err));
        zz_codec_schema_info_t info;
        zz_registry_t *r;
        char url[128], auth_path[128];
        int32_t id = 0;
        char *text;
        json_t *req;
        size_t i;
        FILE *fp;

        cr_assert_not_null(codec);
        memset(&f, 0, sizeof(f));
        for (i = 0; i < zz_codec_schema_count(codec); i++) {
                cr_assert_eq(zz_codec_schema_info(codec, i, &info), 0);
                if (info.stream == ZZ_STREAM_PAYMENT && info.current)
                        break;
        }
        f.schema = info.json;
        fake_start(&f);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/apis/ccompat/v7/",
                 f.port);
        snprintf(auth_path, sizeof(auth_path), "/tmp/zzt_%d_auth",
                 (int)getpid());
        fp = fopen(auth_path, "w");
        cr_assert_not_null(fp);
        fputs("user:pass\n", fp);
        fclose(fp);

        /* without the file: 401, the registry's message in errstr */
        r = zz_registry_new(url, NULL, err, sizeof(err));
        cr_assert_not_null(r, "%s", err);
        cr_expect_eq(zz_registry_register(r, "p.payment-value", info.json, &id,
                                          err, sizeof(err)),
                     -1);
        cr_expect(strstr(err, "HTTP 401") != NULL &&
                      strstr(err, "Unauthorized") != NULL,
                  "%s", err);
        zz_registry_destroy(r);

        r = zz_registry_new(url, auth_path, err, sizeof(err));
        cr_assert_not_null(r, "%s", err);
        cr_expect_eq(zz_registry_register(r, "p.payment-value", info.json, &id,
                                          err, sizeof(err)),
                     0, "%s", err);
        cr_expect_eq(id, 77);
        cr_expect_str_eq(f.path,
                         "POST /apis/ccompat/v7/subjects/p.payment-value/"
                         "versions");
        req = json_loads(f.body, 0, NULL);
        cr_assert_not_null(req, "request body is not JSON");
        cr_expect_str_eq(json_string_value(json_object_get(req, "schema")),
                         info.json);
        cr_expect_str_eq(json_string_value(json_object_get(req, "schemaType")),
                         "AVRO");
        json_decref(req);
        text = zz_registry_schema(r, 5, err, sizeof(err));
        cr_assert_not_null(text, "%s", err);
        cr_expect_str_eq(text, info.json);
        free(text);
        cr_expect_null(zz_registry_schema(r, 6, err, sizeof(err)));
        cr_expect(strstr(err, "HTTP 404") != NULL, "%s", err);
        cr_expect(strstr(err, "pass") == NULL, "%s", err);
        zz_registry_destroy(r);

        /* a file that is not user:password */
        fp = fopen(auth_path, "w");
        cr_assert_not_null(fp);
        fputs("just-a-token\n", fp);
        fclose(fp);
        cr_expect_null(zz_registry_new(url, auth_path, err, sizeof(err)));
        cr_expect(strstr(err, "user:password") != NULL, "%s", err);
        cr_expect(strstr(err, "just-a-token") == NULL, "%s", err);
        unlink(auth_path);
        MHD_stop_daemon(f.daemon);
        zz_codec_destroy(codec);
}

Test(registry, catalog_keys_are_the_wire_bytes_and_cover_every_schema)
{
        zz_test_msgs_t ms = {0};
        zz_codec_t *codec = zz_codec_new(err, sizeof(err));
        char *text;
        char key[17], want[17];
        json_t *doc, *entry;
        size_t i;

        cr_assert_not_null(codec);
        one_enrollment(&ms);
        for (i = 0; i < 8; i++)
                snprintf(want + 2 * i, 3, "%02x", ms.m[0].value[2 + i]);
        cr_expect_str_eq(
            zz_catalog_key(fp_of(codec, ZZ_STREAM_ENROLLMENT), key), want);

        text = zz_catalog_json(codec);
        cr_assert_not_null(text);
        doc = json_loads(text, 0, NULL);
        cr_assert_not_null(doc);
        cr_expect_eq(json_object_size(doc), zz_codec_schema_count(codec));
        for (i = 0; i < zz_codec_schema_count(codec); i++) {
                zz_codec_schema_info_t info;
                char *canon;
                char *schema_text;

                cr_assert_eq(zz_codec_schema_info(codec, i, &info), 0);
                entry =
                    json_object_get(doc, zz_catalog_key(info.fingerprint, key));
                cr_assert_not_null(entry, "%s missing", info.file);
                cr_expect_str_eq(
                    json_string_value(json_object_get(entry, "file")),
                    info.file);
                cr_expect_eq(
                    json_integer_value(json_object_get(entry, "version")),
                    info.version);
                /* the schema in the file has the fingerprint of its key */
                schema_text =
                    json_dumps(json_object_get(entry, "schema"), JSON_COMPACT);
                canon = zz_codec_canonical_form(
                    schema_text, strlen(schema_text), err, sizeof(err));
                cr_assert_not_null(canon, "%s", err);
                cr_expect_eq(zz_codec_rabin64(canon, strlen(canon)),
                             info.fingerprint, "%s", info.file);
                free(canon);
                free(schema_text);
        }
        json_decref(doc);
        free(text);
        zz_codec_destroy(codec);
        zz_test_msgs_free(&ms);
}
