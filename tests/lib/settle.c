/*
 * settle.c — the settlement loop run in the test's own process, and the
 * allocation topic read back and decoded for the tests to check.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "zizhu/registry.h"
#include "zizhu/codec.h"
#include "zizhu/config.h"
#include "zizhu/settle_worker.h"

#include "zz_test.h"

#ifndef ZZ_SOURCE_DIR
#define ZZ_SOURCE_DIR "."
#endif

int zz_test_settle_run(const zz_test_env_t *env)
{
        static atomic_int stop = 0;
        zz_settler_opts_t o;
        zz_config_t *config;
        char errstr[1024];
        int rc;

        zz_test_env_export(env);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        if (config == NULL) {
                fprintf(stderr, "config: %s\n", errstr);
                return -1;
        }
        memset(&o, 0, sizeof(o));
        o.config = config;
        o.policy_dir = ZZ_SOURCE_DIR "/policies";
        o.group = env->settle_group;
        o.subsidy_group = env->group;
        o.publish = 1;
        o.idle_exit_ms = 1500;
        o.wait_ms = 30000;
        o.control_start = -1;
        o.stop = &stop;
        rc = zz_settler_run(&o, errstr, sizeof(errstr));
        if (rc != 0)
                fprintf(stderr, "settle: %s\n", errstr);
        zz_config_destroy(config);
        return rc;
}

/* ------------------------------------------------------------------ */
/* Decoding allocations                                                */

static void get_str(avro_value_t *r, const char *f, char *out, size_t size)
{
        avro_value_t x;
        const char *s = NULL;
        size_t len = 0;

        out[0] = '\0';
        if (avro_value_get_by_name(r, f, &x, NULL) == 0 &&
            avro_value_get_string(&x, &s, &len) == 0)
                snprintf(out, size, "%s", s);
}

static void get_enum(avro_value_t *r, const char *f, char *out, size_t size)
{
        avro_value_t x;
        int idx = 0;

        out[0] = '\0';
        if (avro_value_get_by_name(r, f, &x, NULL) == 0 &&
            avro_value_get_enum(&x, &idx) == 0)
                snprintf(out, size, "%s",
                         avro_schema_enum_get(avro_value_get_schema(&x), idx));
}

static long long get_long(avro_value_t *r, const char *f)
{
        avro_value_t x;
        int64_t v = 0;

        if (avro_value_get_by_name(r, f, &x, NULL) == 0)
                avro_value_get_long(&x, &v);
        return v;
}

/* The adjusts_period of a line into out ("" when null). */
static void get_adjusts(avro_value_t *line, char *out, size_t size)
{
        avro_value_t adj, br;
        const char *s = NULL;
        size_t len = 0;
        int disc = 0;

        out[0] = '\0';
        if (avro_value_get_by_name(line, "adjusts_period", &adj, NULL) == 0 &&
            avro_value_get_discriminant(&adj, &disc) == 0 && disc == 1 &&
            avro_value_get_current_branch(&adj, &br) == 0 &&
            avro_value_get_string(&br, &s, &len) == 0)
                snprintf(out, size, "%s", s != NULL ? s : "");
}

static int decode(zz_codec_t *codec, zz_test_alloc_t *a)
{
        avro_value_t v, lines, line;
        char errstr[256];
        size_t i;

        if (zz_codec_decode(codec, ZZ_STREAM_ALLOCATION, a->value, a->len, &v,
                            NULL, errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "decode allocation: %s\n", errstr);
                return -1;
        }
        get_str(&v, "period", a->period, sizeof(a->period));
        get_enum(&v, "payer", a->payer, sizeof(a->payer));
        get_enum(&v, "fund", a->fund, sizeof(a->fund));
        get_str(&v, "region", a->region, sizeof(a->region));
        get_enum(&v, "kind", a->kind, sizeof(a->kind));
        a->persons = get_long(&v, "persons");
        a->fen = get_long(&v, "fen");
        avro_value_get_by_name(&v, "lines", &lines, NULL);
        avro_value_get_size(&lines, &a->n_lines);
        for (i = 0; i < a->n_lines && i < 8; i++) {
                avro_value_get_by_index(&lines, i, &line, NULL);
                a->line_fen[i] = get_long(&line, "fen");
                get_str(&line, "masked_id", a->line_masked[i],
                        sizeof(a->line_masked[i]));
                if (i == 0)
                        get_adjusts(&line, a->adjusts, sizeof(a->adjusts));
        }
        return 0;
}

/* Appends a message to out, decoded; -1 when it does not decode. */
static int append(zz_test_allocs_t *out, zz_codec_t *codec,
                  const rd_kafka_message_t *m)
{
        zz_test_alloc_t *a;

        if (out->n == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 64;
                zz_test_alloc_t *grown = realloc(out->a, cap * sizeof(*grown));

                cr_assert_not_null(grown, "out of memory");
                out->a = grown;
                out->cap = cap;
        }
        a = &out->a[out->n++];
        memset(a, 0, sizeof(*a));
        snprintf(a->key, sizeof(a->key), "%.*s", (int)m->key_len,
                 (const char *)m->key);
        a->value = malloc(m->len ? m->len : 1);
        cr_assert_not_null(a->value, "out of memory");
        memcpy(a->value, m->payload, m->len);
        a->len = m->len;
        return decode(codec, a);
}

int zz_test_allocs_read(const zz_test_env_t *env, zz_test_allocs_t *out)
{
        char errstr[512];
        zz_codec_t *codec = zz_codec_new(errstr, sizeof(errstr));
        rd_kafka_t *rk;
        int eof = 0, idle = 0, bad = 0;

        memset(out, 0, sizeof(*out));
        cr_assert_not_null(codec, "codec: %s", errstr);
        {
                /* registry-framed allocations (ZIZHU_CONFIG with a
                 * schema_registry_url) decode through the registry */
                zz_config_t *config =
                    zz_config_load(NULL, errstr, sizeof(errstr));
                cr_assert_not_null(config, "config: %s", errstr);
                cr_assert_eq(
                    zz_registry_attach(config, codec, errstr, sizeof(errstr)),
                    0, "registry: %s", errstr);
                zz_config_destroy(config);
        }
        rk =
            zz_test_reader_new(env, "allocation", NULL, errstr, sizeof(errstr));
        if (rk == NULL) {
                fprintf(stderr, "allocation reader: %s\n", errstr);
                zz_codec_destroy(codec);
                return -1;
        }
        while (!eof && idle < 100) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

                if (m == NULL) {
                        idle++;
                        continue;
                }
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        eof = 1;
                else if (!m->err && append(out, codec, m) != 0)
                        bad++;
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        zz_codec_destroy(codec);
        if (!eof)
                fprintf(stderr, "allocation topic: no end within 10 s\n");
        return eof && bad == 0 ? 0 : -1;
}

void zz_test_allocs_free(zz_test_allocs_t *as)
{
        size_t i;

        for (i = 0; i < as->n; i++)
                free(as->a[i].value);
        free(as->a);
        memset(as, 0, sizeof(*as));
}

const zz_test_alloc_t *zz_test_alloc_find(const zz_test_allocs_t *as,
                                          const char *period, const char *payer,
                                          const char *region, const char *kind)
{
        size_t i;

        for (i = 0; i < as->n; i++)
                if (strcmp(as->a[i].period, period) == 0 &&
                    strcmp(as->a[i].payer, payer) == 0 &&
                    strcmp(as->a[i].region, region) == 0 &&
                    strcmp(as->a[i].kind, kind) == 0)
                        return &as->a[i];
        return NULL;
}

void zz_test_allocs_dump(const zz_test_allocs_t *as)
{
        size_t i;

        for (i = 0; i < as->n; i++)
                fprintf(stderr, "  %s %s/%s %s %s persons %lld fen %lld%s%s\n",
                        as->a[i].period, as->a[i].payer, as->a[i].fund,
                        as->a[i].region, as->a[i].kind, as->a[i].persons,
                        as->a[i].fen, as->a[i].adjusts[0] ? " adjusts " : "",
                        as->a[i].adjusts);
}

void zz_test_alloc_expect(const zz_test_allocs_t *as, const char *period,
                          const char *payer, const char *region,
                          const char *kind, long long persons, long long fen)
{
        const zz_test_alloc_t *a =
            zz_test_alloc_find(as, period, payer, region, kind);

        if (a == NULL) {
                zz_test_allocs_dump(as);
                cr_assert_fail("no allocation %s %s %s %s", period, payer,
                               region, kind);
        }
        cr_expect_eq(a->persons, persons, "%s %s %s %s persons %lld", period,
                     payer, region, kind, a->persons);
        cr_expect_eq(a->fen, fen, "%s %s %s %s fen %lld", period, payer, region,
                     kind, a->fen);
}
