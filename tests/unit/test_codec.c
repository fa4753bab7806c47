/*
 * test_codec.c — the codec: canonical forms and fingerprints, round trips of
 * every stream, old writers read by the current reader, and hostile bytes.
 *
 * The hostile-input tests decode thousands of random, truncated and
 * bit-flipped messages; every one must either decode into a value that
 * re-encodes, or fail with a reason. CI also runs this binary under valgrind
 * and ASan, which turn any overread or leak into a failure.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

#include "zizhu/codec.h"

static zz_codec_t *codec;
static char err[512];

static void setup(void)
{
        codec = zz_codec_new(err, sizeof(err));
        cr_assert_not_null(codec, "zz_codec_new: %s", err);
}

static void teardown(void)
{
        zz_codec_destroy(codec);
        codec = NULL;
}

TestSuite(codec, .init = setup, .fini = teardown);

/* A small deterministic generator (xorshift64*), so failures reproduce. */
static uint64_t rnd(uint64_t *state)
{
        uint64_t x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        return x * UINT64_C(2685821657736338717);
}

static const char *const sample_strings[] = {"",
                                             "MCA.DIBAO",
                                             "500155107001",
                                             "资助参保 低保",
                                             "11010519491231002X",
                                             "ev-000001",
                                             "Tier 1",
                                             "a\tb\"c\\d",
                                             "ÿ€😀"};

/* Fills any value with pseudo-random but valid content. */
static void fill(avro_value_t *value, uint64_t *state, int depth)
{
        avro_schema_t schema = avro_value_get_schema(value);
        avro_value_t child;
        size_t i, n;
        char key[32];

        switch (avro_value_get_type(value)) {
        case AVRO_NULL:
                cr_assert_eq(avro_value_set_null(value), 0);
                break;
        case AVRO_BOOLEAN:
                cr_assert_eq(avro_value_set_boolean(value, rnd(state) & 1), 0);
                break;
        case AVRO_INT32:
                cr_assert_eq(avro_value_set_int(value, (int32_t)rnd(state)), 0);
                break;
        case AVRO_INT64:
                cr_assert_eq(avro_value_set_long(value, (int64_t)rnd(state) >>
                                                            (rnd(state) % 64)),
                             0);
                break;
        case AVRO_FLOAT:
                cr_assert_eq(avro_value_set_float(value, 1.5f), 0);
                break;
        case AVRO_DOUBLE:
                cr_assert_eq(avro_value_set_double(value, -2.25), 0);
                break;
        case AVRO_STRING:
                cr_assert_eq(
                    avro_value_set_string(
                        value,
                        sample_strings[rnd(state) % (sizeof(sample_strings) /
                                                     sizeof(*sample_strings))]),
                    0);
                break;
        case AVRO_BYTES: {
                unsigned char bytes[8];
                n = rnd(state) % sizeof(bytes);
                for (i = 0; i < n; i++)
                        bytes[i] = (unsigned char)rnd(state);
                cr_assert_eq(avro_value_set_bytes(value, bytes, n), 0);
                break;
        }
        case AVRO_ENUM:
                n = (size_t)avro_schema_enum_number_of_symbols(schema);
                cr_assert_eq(avro_value_set_enum(value, (int)(rnd(state) % n)),
                             0);
                break;
        case AVRO_ARRAY:
                n = depth > 3 ? 0 : rnd(state) % 4;
                for (i = 0; i < n; i++) {
                        cr_assert_eq(avro_value_append(value, &child, NULL), 0);
                        fill(&child, state, depth + 1);
                }
                break;
        case AVRO_MAP:
                n = depth > 3 ? 0 : rnd(state) % 4;
                for (i = 0; i < n; i++) {
                        snprintf(key, sizeof(key), "k%zu", i);
                        cr_assert_eq(
                            avro_value_add(value, key, &child, NULL, NULL), 0);
                        fill(&child, state, depth + 1);
                }
                break;
        case AVRO_UNION:
                n = avro_schema_union_size(schema);
                cr_assert_eq(
                    avro_value_set_branch(value, (int)(rnd(state) % n), &child),
                    0);
                fill(&child, state, depth + 1);
                break;
        case AVRO_RECORD:
                cr_assert_eq(avro_value_get_size(value, &n), 0);
                for (i = 0; i < n; i++) {
                        cr_assert_eq(
                            avro_value_get_by_index(value, i, &child, NULL), 0);
                        fill(&child, state, depth + 1);
                }
                break;
        default:
                cr_assert_fail("unexpected type");
        }
}

/* Encodes a filled value of every stream into msgs[stream]. */
static void sample_messages(zz_codec_buf_t msgs[ZZ_STREAM__COUNT],
                            uint64_t seed)
{
        int s;

        for (s = 0; s < ZZ_STREAM__COUNT; s++) {
                avro_value_t value;
                uint64_t state = seed + (uint64_t)s * 7919;
                cr_assert_eq(zz_codec_value_new(codec, (zz_stream_t)s, &value),
                             0);
                fill(&value, &state, 0);
                cr_assert_eq(zz_codec_encode(codec, (zz_stream_t)s, &value,
                                             &msgs[s], err, sizeof(err)),
                             0, "encode %s: %s", zz_stream_name(s), err);
                avro_value_decref(&value);
        }
}

static void free_messages(zz_codec_buf_t msgs[ZZ_STREAM__COUNT])
{
        int s;

        for (s = 0; s < ZZ_STREAM__COUNT; s++)
                zz_codec_buf_free(&msgs[s]);
}

/* ---------------------------------------------------------------------
 * Canonical form and fingerprints
 */

struct pcf_vector {
        const char *input;
        const char *canonical;
        int64_t fingerprint; /* as printed by the Avro spec's test file */
};

/* From the Avro project's share/test/data/schema-tests.txt. */
static const struct pcf_vector pcf_vectors[] = {
    {"\"null\"", "\"null\"", INT64_C(7195948357588979594)},
    {"{\"type\":\"null\"}", "\"null\"", INT64_C(7195948357588979594)},
    {"\"boolean\"", "\"boolean\"", INT64_C(-6970731678124411036)},
    {"\"int\"", "\"int\"", INT64_C(8247732601305521295)},
    {"{\"type\":\"int\"}", "\"int\"", INT64_C(8247732601305521295)},
    {"\"long\"", "\"long\"", INT64_C(-3434872931120570953)},
    {"\"float\"", "\"float\"", INT64_C(5583340709985441680)},
    {"\"double\"", "\"double\"", INT64_C(-8181574048448539266)},
    {"\"bytes\"", "\"bytes\"", INT64_C(5746618253357095269)},
    {"\"string\"", "\"string\"", INT64_C(-8142146995180207161)},
    {"[  ]", "[]", INT64_C(-1241056759729112623)},
    {"[ \"int\"  ]", "[\"int\"]", INT64_C(-5232228896498058493)},
    {"[ \"int\" , {\"type\":\"boolean\"} ]", "[\"int\",\"boolean\"]",
     INT64_C(5392556393470105090)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\"}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}",
     INT64_C(-4824392279771201922)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", "
     "\"namespace\":\"x.y\"}",
     "{\"name\":\"x.y.foo\",\"type\":\"record\",\"fields\":[]}",
     INT64_C(5916914534497305771)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"a.b.foo\", "
     "\"namespace\":\"x.y\"}",
     "{\"name\":\"a.b.foo\",\"type\":\"record\",\"fields\":[]}",
     INT64_C(-4616218487480524110)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"foo\", "
     "\"aliases\":[\"foo\",\"bar\"]}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}",
     INT64_C(-4824392279771201922)},
    {"{\"fields\":[{\"type\":{\"type\":\"boolean\"}, \"name\":\"f1\"}], "
     "\"type\":\"record\", \"name\":\"foo\"}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\","
     "\"type\":\"boolean\"}]}",
     INT64_C(7843277075252814651)},
    {"{ \"fields\":[{\"type\":\"boolean\", \"aliases\":[], \"name\":\"f1\", "
     "\"default\":\"true\"},\n {\"order\":\"descending\",\"name\":\"f2\","
     "\"doc\":\"Hello\",\"type\":\"int\"}],\n \"type\":\"record\", "
     "\"name\":\"foo\"\n}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\","
     "\"type\":\"boolean\"},{\"name\":\"f2\",\"type\":\"int\"}]}",
     INT64_C(-4860222112080293046)},
    {"{\"type\":\"enum\", \"name\":\"foo\", \"symbols\":[\"A1\"]}",
     "{\"name\":\"foo\",\"type\":\"enum\",\"symbols\":[\"A1\"]}",
     INT64_C(-6342190197741309591)},
    {"{\"namespace\":\"x.y.z\", \"type\":\"enum\", \"name\":\"foo\", "
     "\"doc\":\"foo bar\", \"symbols\":[\"A1\", \"A2\"]}",
     "{\"name\":\"x.y.z.foo\",\"type\":\"enum\",\"symbols\":[\"A1\",\"A2\"]}",
     INT64_C(-4448647247586288245)},
    {"{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}",
     "{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}",
     INT64_C(1756455273707447556)},
    {"{\"namespace\":\"x.y.z\", \"type\":\"fixed\", \"name\":\"foo\", "
     "\"doc\":\"foo bar\", \"size\":32}",
     "{\"name\":\"x.y.z.foo\",\"type\":\"fixed\",\"size\":32}",
     INT64_C(-3064184465700546786)},
    {"{ \"items\":{\"type\":\"null\"}, \"type\":\"array\"}",
     "{\"type\":\"array\",\"items\":\"null\"}", INT64_C(-589620603366471059)},
    {"{ \"values\":\"string\", \"type\":\"map\"}",
     "{\"type\":\"map\",\"values\":\"string\"}", INT64_C(-8732877298790414990)},
    {"{\"name\":\"PigValue\",\"type\":\"record\",\n \"fields\":[{\"name\":"
     "\"value\", \"type\":[\"null\", \"int\", \"long\", \"PigValue\"]}]}",
     "{\"name\":\"PigValue\",\"type\":\"record\",\"fields\":[{\"name\":"
     "\"value\",\"type\":[\"null\",\"int\",\"long\",\"PigValue\"]}]}",
     INT64_C(-1759257747318642341)},
};

Test(codec, canonical_form_vectors)
{
        size_t i;

        for (i = 0; i < sizeof(pcf_vectors) / sizeof(*pcf_vectors); i++) {
                const struct pcf_vector *v = &pcf_vectors[i];
                char *pcf = zz_codec_canonical_form(v->input, strlen(v->input),
                                                    err, sizeof(err));
                cr_assert_not_null(pcf, "vector %zu: %s", i, err);
                cr_expect_str_eq(pcf, v->canonical, "vector %zu", i);
                cr_expect_eq(zz_codec_rabin64(pcf, strlen(pcf)),
                             (uint64_t)v->fingerprint, "vector %zu", i);
                free(pcf);
        }
}

Test(codec, canonical_form_named_references_and_logical_types)
{
        const char *in =
            "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"cn.zizhu\","
            "\"doc\":\"x\",\"fields\":["
            "{\"name\":\"d\",\"type\":{\"type\":\"int\",\"logicalType\":"
            "\"date\"},\"doc\":\"日期\"},"
            "{\"name\":\"p\",\"type\":{\"type\":\"enum\",\"name\":\"P\","
            "\"symbols\":[\"A\"],\"default\":\"A\"}},"
            "{\"name\":\"q\",\"type\":[\"null\",\"P\"],\"default\":null},"
            "{\"name\":\"r\",\"type\":\"cn.zizhu.P\"}]}";
        const char *want =
            "{\"name\":\"cn.zizhu.R\",\"type\":\"record\",\"fields\":["
            "{\"name\":\"d\",\"type\":\"int\"},"
            "{\"name\":\"p\",\"type\":{\"name\":\"cn.zizhu.P\",\"type\":"
            "\"enum\",\"symbols\":[\"A\"]}},"
            "{\"name\":\"q\",\"type\":[\"null\",\"cn.zizhu.P\"]},"
            "{\"name\":\"r\",\"type\":\"cn.zizhu.P\"}]}";
        char *pcf = zz_codec_canonical_form(in, strlen(in), err, sizeof(err));

        cr_assert_not_null(pcf, "%s", err);
        cr_expect_str_eq(pcf, want);
        free(pcf);
}

Test(codec, canonical_form_rejects_bad_schemas)
{
        static const char *const bad[] = {
            "",
            "{",
            "\"nosuchtype\"",
            "{\"type\":\"record\",\"fields\":[]}",
            "{\"type\":\"record\",\"name\":\"a-b\",\"fields\":[]}",
            "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"1x\"]}",
            "{\"type\":\"array\"}",
            "[{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]},"
            "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]}]",
            "{\"type\":\"record\",\"name\":\"R\",\"fields\":[],\"name\":"
            "\"S\"}",
            "42",
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                char *pcf = zz_codec_canonical_form(bad[i], strlen(bad[i]), err,
                                                    sizeof(err));
                cr_expect_null(pcf, "accepted bad schema %zu", i);
                free(pcf);
        }
}

Test(codec, every_stream_has_a_current_schema)
{
        size_t i, n = zz_codec_schema_count(codec);
        int s, seen[ZZ_STREAM__COUNT] = {0};

        cr_assert_geq(n, (size_t)ZZ_STREAM__COUNT + 1);
        for (i = 0; i < n; i++) {
                zz_codec_schema_info_t info;
                char *pcf;
                cr_assert_eq(zz_codec_schema_info(codec, i, &info), 0);
                pcf = zz_codec_canonical_form(info.json, strlen(info.json), err,
                                              sizeof(err));
                cr_assert_not_null(pcf);
                cr_expect_str_eq(pcf, info.canonical);
                cr_expect_eq(zz_codec_rabin64(pcf, strlen(pcf)),
                             info.fingerprint);
                cr_expect(strstr(info.canonical, "\"doc\"") == NULL);
                free(pcf);
                if (info.current) {
                        seen[info.stream]++;
                        cr_expect_eq(zz_codec_schema(codec, info.stream),
                                     info.schema);
                        cr_expect_eq(
                            zz_codec_stream_fingerprint(codec, info.stream),
                            info.fingerprint);
                }
                cr_expect_eq(
                    zz_codec_schema_version(codec, info.stream, info.version),
                    info.schema);
        }
        for (s = 0; s < ZZ_STREAM__COUNT; s++) {
                zz_stream_t back;
                const char *name = zz_stream_name(s);
                cr_expect_eq(seen[s], 1, "stream %s", name);
                cr_assert_eq(zz_stream_from_name(name, strlen(name), &back), 0);
                cr_expect_eq(back, s);
        }
        cr_expect_str_eq(zz_stream_name(ZZ_STREAM_SUBSIDY_STATE),
                         "subsidy-state");
        cr_expect_str_eq(zz_stream_name(ZZ_STREAM_DEAD_LETTER), "dead-letter");
        cr_expect_str_eq(zz_stream_name(ZZ_STREAM__COUNT), "?");
        cr_expect_eq(zz_codec_schema_info(codec, n, NULL), -1);
        cr_expect_null(zz_codec_schema_version(codec, ZZ_STREAM_IDENTITY, 99));
        cr_expect_not_null(
            zz_codec_schema_version(codec, ZZ_STREAM_IDENTITY, 1));
}

/* Every field of every schema (and every named type) has a doc with both an
 * English sentence and Chinese text. */
static int has_cjk(const char *s)
{
        for (; *s; s++) {
                if ((unsigned char)*s >= 0xe4 && (unsigned char)*s <= 0xe9)
                        return 1;
        }
        return 0;
}

static int has_latin(const char *s)
{
        for (; *s; s++) {
                if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
                        return 1;
        }
        return 0;
}

static void check_docs(const char *file, const char *json)
{
        /* Crude but enough: every "name" attribute is followed, within its
         * object, by a "doc". Count both per file. */
        size_t names = 0, docs = 0;
        const char *p;

        for (p = json; (p = strstr(p, "\"name\":")) != NULL; p++)
                names++;
        for (p = json; (p = strstr(p, "\"doc\":")) != NULL; p++) {
                const char *start = strchr(p + 6, '"');
                const char *end = start ? strchr(start + 1, '"') : NULL;
                char doc[2048];
                size_t len;
                cr_assert(start && end, "%s: malformed doc", file);
                len = (size_t)(end - start - 1);
                if (len >= sizeof(doc))
                        len = sizeof(doc) - 1;
                memcpy(doc, start + 1, len);
                doc[len] = '\0';
                cr_expect(has_cjk(doc) && has_latin(doc),
                          "%s: doc without English and Chinese: %.60s", file,
                          doc);
                docs++;
        }
        cr_expect_geq(docs, names, "%s: %zu names but %zu docs", file, names,
                      docs);
}

Test(codec, every_field_is_documented_in_english_and_chinese)
{
        size_t i;

        for (i = 0; i < zz_codec_schema_count(codec); i++) {
                zz_codec_schema_info_t info;
                cr_assert_eq(zz_codec_schema_info(codec, i, &info), 0);
                check_docs(info.file, info.json);
        }
}

/* ---------------------------------------------------------------------
 * Round trips
 */

Test(codec, round_trip_every_stream)
{
        uint64_t seed;
        int s;

        for (seed = 1; seed <= 40; seed++) {
                for (s = 0; s < ZZ_STREAM__COUNT; s++) {
                        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
                        avro_value_t value, decoded;
                        zz_codec_err_t code;
                        zz_stream_t peeked;
                        int version;
                        uint64_t state = seed * 1000003 + (uint64_t)s;

                        cr_assert_eq(
                            zz_codec_value_new(codec, (zz_stream_t)s, &value),
                            0);
                        fill(&value, &state, 0);
                        cr_assert_eq(zz_codec_encode(codec, s, &value, &buf,
                                                     err, sizeof(err)),
                                     0, "%s: %s", zz_stream_name(s), err);
                        cr_assert_geq(buf.len, (size_t)ZZ_CODEC_HEADER_SIZE);
                        cr_expect_eq(buf.data[0], 0xC3);
                        cr_expect_eq(buf.data[1], 0x01);
                        cr_assert_eq(zz_codec_peek(codec, buf.data, buf.len,
                                                   &peeked, &version, &code),
                                     0);
                        cr_expect_eq(peeked, s);
                        cr_assert_eq(zz_codec_decode(codec, s, buf.data,
                                                     buf.len, &decoded, &code,
                                                     err, sizeof(err)),
                                     0, "%s: %s", zz_stream_name(s), err);
                        cr_expect_eq(code, ZZ_CODEC_OK);
                        cr_expect(avro_value_equal(&value, &decoded),
                                  "%s seed %" PRIu64 " differs",
                                  zz_stream_name(s), seed);
                        avro_value_decref(&value);
                        zz_codec_buf_free(&buf);
                }
        }
}

Test(codec, header_carries_little_endian_fingerprint)
{
        zz_codec_buf_t msgs[ZZ_STREAM__COUNT];
        int s, i;

        memset(msgs, 0, sizeof(msgs));
        sample_messages(msgs, 99);
        for (s = 0; s < ZZ_STREAM__COUNT; s++) {
                uint64_t fp = 0;
                for (i = 7; i >= 0; i--)
                        fp = (fp << 8) | msgs[s].data[2 + i];
                cr_expect_eq(fp, zz_codec_stream_fingerprint(codec, s));
        }
        free_messages(msgs);
}

Test(codec, decoded_strings_keep_chinese_text)
{
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        avro_value_t value, field, decoded;
        const char *s;
        size_t size;

        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_DEAD_LETTER, &value),
                     0);
        {
                uint64_t state = 5;
                fill(&value, &state, 0);
        }
        cr_assert_eq(
            avro_value_get_by_name(&value, "reason_text", &field, NULL), 0);
        cr_assert_eq(avro_value_set_string(&field, "未知身份类别"), 0);
        cr_assert_eq(zz_codec_encode(codec, ZZ_STREAM_DEAD_LETTER, &value, &buf,
                                     err, sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(zz_codec_decode(codec, ZZ_STREAM_DEAD_LETTER, buf.data,
                                     buf.len, &decoded, NULL, err, sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(
            avro_value_get_by_name(&decoded, "reason_text", &field, NULL), 0);
        cr_assert_eq(avro_value_get_string(&field, &s, &size), 0);
        cr_expect_str_eq(s, "未知身份类别");
        cr_expect_eq(size, strlen("未知身份类别") + 1);
        avro_value_decref(&value);
        zz_codec_buf_free(&buf);
}

/* ---------------------------------------------------------------------
 * Older writers
 */

static void set_str(avro_value_t *rec, const char *name, const char *s)
{
        avro_value_t f;
        cr_assert_eq(avro_value_get_by_name(rec, name, &f, NULL), 0, "%s",
                     name);
        cr_assert_eq(avro_value_set_string(&f, s), 0);
}

static void expect_str(avro_value_t *rec, const char *name, const char *want)
{
        avro_value_t f;
        const char *s;
        size_t size;
        cr_assert_eq(avro_value_get_by_name(rec, name, &f, NULL), 0, "%s",
                     name);
        cr_assert_eq(avro_value_get_string(&f, &s, &size), 0, "%s", name);
        cr_expect_str_eq(s, want, "%s", name);
}

static const char *enum_symbol(avro_value_t *rec, const char *name)
{
        avro_value_t f;
        int idx;
        cr_assert_eq(avro_value_get_by_name(rec, name, &f, NULL), 0);
        cr_assert_eq(avro_value_get_enum(&f, &idx), 0);
        return avro_schema_enum_get(avro_value_get_schema(&f), idx);
}

static int union_branch(avro_value_t *rec, const char *name,
                        avro_value_t *branch)
{
        avro_value_t f;
        int disc;
        cr_assert_eq(avro_value_get_by_name(rec, name, &f, NULL), 0);
        cr_assert_eq(avro_value_get_discriminant(&f, &disc), 0);
        cr_assert_eq(avro_value_get_current_branch(&f, branch), 0);
        return disc;
}

/* Checks a decoded identity.v1 message: v1 fields kept, the enum mapped by
 * symbol name (v1 REVOKE is index 2, current REVOKE index 4), new fields at
 * their defaults. */
static void expect_v1_identity(avro_value_t *decoded, const char *event_id)
{
        avro_value_t f, branch, attr;
        int32_t i32;
        int64_t i64;
        size_t size;

        cr_expect_eq(avro_value_get_schema(decoded),
                     zz_codec_schema(codec, ZZ_STREAM_IDENTITY));
        expect_str(decoded, "event_id", event_id);
        expect_str(decoded, "person_id", "11010519491231002X");
        expect_str(decoded, "department", "MCA");
        expect_str(decoded, "category", "MCA.DIBAO");
        expect_str(decoded, "approving_region", "500155");
        cr_expect_str_eq(enum_symbol(decoded, "action"), "REVOKE");
        cr_assert_eq(avro_value_get_by_name(decoded, "attrs", &f, NULL), 0);
        cr_assert_eq(avro_value_get_size(&f, &size), 0);
        cr_expect_eq(size, 1);
        cr_assert_eq(avro_value_get_by_name(&f, "supported", &attr, NULL), 0);
        expect_str(&f, "supported", "dispersed");
        cr_assert_eq(avro_value_get_by_name(decoded, "valid_from", &f, NULL),
                     0);
        cr_assert_eq(avro_value_get_int(&f, &i32), 0);
        cr_expect_eq(i32, 18000);
        cr_expect_eq(union_branch(decoded, "valid_to", &branch), 1);
        cr_assert_eq(avro_value_get_int(&branch, &i32), 0);
        cr_expect_eq(i32, 18500);
        cr_assert_eq(avro_value_get_by_name(decoded, "reported_at", &f, NULL),
                     0);
        cr_assert_eq(avro_value_get_long(&f, &i64), 0);
        cr_expect_eq(i64, INT64_C(1600000000000));
        /* Defaults of the fields version 2 added. */
        cr_expect_eq(union_branch(decoded, "residence_region", &branch), 0);
        cr_expect_eq(union_branch(decoded, "deceased_on", &branch), 0);
        cr_expect_str_eq(enum_symbol(decoded, "channel"), "LIST_EXCHANGE");
}

Test(codec, old_writer_decodes_with_defaults)
{
        avro_schema_t v1 =
            zz_codec_schema_version(codec, ZZ_STREAM_IDENTITY, 1);
        avro_value_iface_t *iface;
        avro_value_t value, f, branch, decoded;
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        zz_codec_err_t code;
        int version = 0;
        int round;

        cr_assert_not_null(v1);
        cr_assert_neq(v1, zz_codec_schema(codec, ZZ_STREAM_IDENTITY));
        iface = avro_generic_class_from_schema(v1);
        cr_assert_not_null(iface);
        cr_assert_eq(avro_generic_value_new(iface, &value), 0);
        set_str(&value, "event_id", "ev-old-1");
        set_str(&value, "person_id", "11010519491231002X");
        set_str(&value, "department", "MCA");
        set_str(&value, "dept_record_id", "R-1");
        cr_assert_eq(avro_value_get_by_name(&value, "action", &f, NULL), 0);
        cr_assert_eq(
            avro_value_set_enum(&f, avro_schema_enum_get_by_name(
                                        avro_value_get_schema(&f), "REVOKE")),
            0);
        set_str(&value, "category", "MCA.DIBAO");
        cr_assert_eq(avro_value_get_by_name(&value, "attrs", &f, NULL), 0);
        cr_assert_eq(avro_value_add(&f, "supported", &branch, NULL, NULL), 0);
        cr_assert_eq(avro_value_set_string(&branch, "dispersed"), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "valid_from", &f, NULL), 0);
        cr_assert_eq(avro_value_set_int(&f, 18000), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "valid_to", &f, NULL), 0);
        cr_assert_eq(avro_value_set_branch(&f, 1, &branch), 0);
        cr_assert_eq(avro_value_set_int(&branch, 18500), 0);
        set_str(&value, "approving_region", "500155");
        cr_assert_eq(avro_value_get_by_name(&value, "reported_at", &f, NULL),
                     0);
        cr_assert_eq(avro_value_set_long(&f, INT64_C(1600000000000)), 0);

        cr_assert_eq(zz_codec_encode(codec, ZZ_STREAM_IDENTITY, &value, &buf,
                                     err, sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(
            zz_codec_peek(codec, buf.data, buf.len, NULL, &version, NULL), 0);
        cr_expect_eq(version, 1);
        /* Twice, so that reused scratch does not keep the last message. */
        for (round = 0; round < 2; round++) {
                cr_assert_eq(zz_codec_decode(codec, ZZ_STREAM_IDENTITY,
                                             buf.data, buf.len, &decoded, &code,
                                             err, sizeof(err)),
                             0, "%s", err);
                expect_v1_identity(&decoded, "ev-old-1");
        }
        avro_value_decref(&value);
        avro_value_iface_decref(iface);
        zz_codec_buf_free(&buf);
}

/* An identity.v1 message written by another Avro implementation (fastavro
 * 1.13, single-object encoding), frozen: version 1 never changes. */
static const unsigned char fastavro_identity_v1[] = {
    0xc3, 0x01, 0xb9, 0xad, 0x51, 0xd0, 0x18, 0x78, 0x11, 0x6d, 0x0e,
    0x65, 0x76, 0x2d, 0x76, 0x31, 0x2d, 0x31, 0x24, 0x31, 0x31, 0x30,
    0x31, 0x30, 0x35, 0x31, 0x39, 0x34, 0x39, 0x31, 0x32, 0x33, 0x31,
    0x30, 0x30, 0x32, 0x58, 0x06, 0x4d, 0x43, 0x41, 0x06, 0x52, 0x2d,
    0x31, 0x04, 0x12, 0x4d, 0x43, 0x41, 0x2e, 0x44, 0x49, 0x42, 0x41,
    0x4f, 0x02, 0x12, 0x73, 0x75, 0x70, 0x70, 0x6f, 0x72, 0x74, 0x65,
    0x64, 0x12, 0x64, 0x69, 0x73, 0x70, 0x65, 0x72, 0x73, 0x65, 0x64,
    0x00, 0xa0, 0x99, 0x02, 0x02, 0x88, 0xa1, 0x02, 0x0c, 0x35, 0x30,
    0x30, 0x31, 0x35, 0x35, 0x80, 0x80, 0xf4, 0xf6, 0x90, 0x5d};

Test(codec, message_from_another_implementation)
{
        avro_value_t decoded;
        zz_codec_err_t code;

        cr_assert_eq(zz_codec_decode(codec, ZZ_STREAM_IDENTITY,
                                     fastavro_identity_v1,
                                     sizeof(fastavro_identity_v1), &decoded,
                                     &code, err, sizeof(err)),
                     0, "%s", err);
        expect_v1_identity(&decoded, "ev-v1-1");
}

/* ---------------------------------------------------------------------
 * Schema evolution, on schemas made up for the purpose
 */

/* A codec from the embedded schemas, with file replaced by text (or added
 * when not embedded; removed when text is NULL), twice. */
static zz_codec_t *codec_with(const char *file1, const char *text1,
                              const char *file2, const char *text2)
{
        const char *files[64], *texts[64];
        size_t i, n = 0;
        int seen1 = 0, seen2 = 0;

        for (i = 0; i < zz_codec_schema_count(codec); i++) {
                zz_codec_schema_info_t info;
                cr_assert_eq(zz_codec_schema_info(codec, i, &info), 0);
                if (file1 && strcmp(info.file, file1) == 0) {
                        seen1 = 1;
                        if (text1 == NULL)
                                continue;
                        files[n] = file1;
                        texts[n++] = text1;
                } else if (file2 && strcmp(info.file, file2) == 0) {
                        seen2 = 1;
                        if (text2 == NULL)
                                continue;
                        files[n] = file2;
                        texts[n++] = text2;
                } else {
                        files[n] = info.file;
                        texts[n++] = info.json;
                }
        }
        if (file1 && !seen1 && text1) {
                files[n] = file1;
                texts[n++] = text1;
        }
        if (file2 && !seen2 && text2) {
                files[n] = file2;
                texts[n++] = text2;
        }
        return zz_codec_new_from(files, texts, n, err, sizeof(err));
}

static const char evo_current[] =
    "{\"type\":\"record\",\"name\":\"Identity\",\"namespace\":\"cn.zizhu\","
    "\"fields\":["
    "{\"name\":\"n\",\"type\":\"long\"},"
    "{\"name\":\"f\",\"type\":\"double\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":"
    "[\"UNKNOWN\",\"A\",\"B\"],\"default\":\"UNKNOWN\"}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"d_str\",\"type\":\"string\",\"default\":\"x\"},"
    "{\"name\":\"d_int\",\"type\":\"int\",\"default\":7},"
    "{\"name\":\"d_arr\",\"type\":{\"type\":\"array\",\"items\":\"long\"},"
    "\"default\":[1,2]},"
    "{\"name\":\"d_map\",\"type\":{\"type\":\"map\",\"values\":\"string\"},"
    "\"default\":{\"k\":\"v\"}},"
    "{\"name\":\"d_rec\",\"type\":{\"type\":\"record\",\"name\":\"R\","
    "\"fields\":[{\"name\":\"x\",\"type\":\"int\"},{\"name\":\"y\",\"type\":"
    "\"string\",\"default\":\"why\"}]},\"default\":{\"x\":3}},"
    "{\"name\":\"d_bool\",\"type\":\"boolean\",\"default\":true},"
    "{\"name\":\"d_null\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"d_bytes\",\"type\":\"bytes\",\"default\":\"\\u00ff\\u0001\"},"
    "{\"name\":\"d_enum\",\"type\":\"E\",\"default\":\"B\"},"
    "{\"name\":\"d_fixed\",\"type\":{\"type\":\"fixed\",\"name\":\"F\","
    "\"size\":2},\"default\":\"ab\"},"
    "{\"name\":\"d_dbl\",\"type\":\"double\",\"default\":2.5}"
    "]}";

static const char evo_v1[] =
    "{\"type\":\"record\",\"name\":\"Identity\",\"namespace\":\"cn.zizhu\","
    "\"fields\":["
    "{\"name\":\"n\",\"type\":\"int\"},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":"
    "[\"B\",\"C\",\"A\"]}},"
    "{\"name\":\"u\",\"type\":\"string\"},"
    "{\"name\":\"s\",\"type\":\"bytes\"},"
    "{\"name\":\"gone\",\"type\":\"string\"}"
    "]}";

/* Encodes a value of evo_v1 with e = symbol. */
static void evo_message(zz_codec_t *c, const char *symbol, zz_codec_buf_t *buf)
{
        avro_schema_t v1 = zz_codec_schema_version(c, ZZ_STREAM_IDENTITY, 1);
        avro_value_iface_t *iface = avro_generic_class_from_schema(v1);
        avro_value_t value, f;

        cr_assert_not_null(iface);
        cr_assert_eq(avro_generic_value_new(iface, &value), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "n", &f, NULL), 0);
        cr_assert_eq(avro_value_set_int(&f, -42), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "f", &f, NULL), 0);
        cr_assert_eq(avro_value_set_float(&f, 1.5f), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "e", &f, NULL), 0);
        cr_assert_eq(
            avro_value_set_enum(&f, avro_schema_enum_get_by_name(
                                        avro_value_get_schema(&f), symbol)),
            0);
        set_str(&value, "u", "hi");
        cr_assert_eq(avro_value_get_by_name(&value, "s", &f, NULL), 0);
        cr_assert_eq(avro_value_set_bytes(&f, "ok", 2), 0);
        set_str(&value, "gone", "zzz");
        cr_assert_eq(zz_codec_encode(c, ZZ_STREAM_IDENTITY, &value, buf, err,
                                     sizeof(err)),
                     0, "%s", err);
        avro_value_decref(&value);
        avro_value_iface_decref(iface);
}

static avro_value_t field_of(avro_value_t *rec, const char *name)
{
        avro_value_t f;
        cr_assert_eq(avro_value_get_by_name(rec, name, &f, NULL), 0, "%s",
                     name);
        return f;
}

Test(codec, resolution_promotes_maps_and_fills_every_kind_of_default)
{
        zz_codec_t *c = codec_with("identity.avsc", evo_current,
                                   "identity.v1.avsc", evo_v1);
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        avro_value_t d, f, g;
        const void *bytes;
        const char *str;
        size_t size;
        int64_t i64;
        int32_t i32;
        double dbl;
        int b;

        cr_assert_not_null(c, "%s", err);
        evo_message(c, "A", &buf);
        cr_assert_eq(zz_codec_decode(c, ZZ_STREAM_IDENTITY, buf.data, buf.len,
                                     &d, NULL, err, sizeof(err)),
                     0, "%s", err);
        f = field_of(&d, "n");
        cr_assert_eq(avro_value_get_long(&f, &i64), 0);
        cr_expect_eq(i64, -42);
        f = field_of(&d, "f");
        cr_assert_eq(avro_value_get_double(&f, &dbl), 0);
        cr_expect_eq(dbl, 1.5);
        cr_expect_str_eq(enum_symbol(&d, "e"), "A");
        cr_expect_eq(union_branch(&d, "u", &g), 1);
        cr_assert_eq(avro_value_get_string(&g, &str, &size), 0);
        cr_expect_str_eq(str, "hi");
        expect_str(&d, "s", "ok");
        cr_expect_neq(avro_value_get_by_name(&d, "gone", &f, NULL), 0);
        expect_str(&d, "d_str", "x");
        f = field_of(&d, "d_int");
        cr_assert_eq(avro_value_get_int(&f, &i32), 0);
        cr_expect_eq(i32, 7);
        f = field_of(&d, "d_arr");
        cr_assert_eq(avro_value_get_size(&f, &size), 0);
        cr_assert_eq(size, 2);
        cr_assert_eq(avro_value_get_by_index(&f, 1, &g, NULL), 0);
        cr_assert_eq(avro_value_get_long(&g, &i64), 0);
        cr_expect_eq(i64, 2);
        f = field_of(&d, "d_map");
        expect_str(&f, "k", "v");
        f = field_of(&d, "d_rec");
        g = field_of(&f, "x");
        cr_assert_eq(avro_value_get_int(&g, &i32), 0);
        cr_expect_eq(i32, 3);
        expect_str(&f, "y", "why");
        f = field_of(&d, "d_bool");
        cr_assert_eq(avro_value_get_boolean(&f, &b), 0);
        cr_expect(b);
        cr_expect_eq(union_branch(&d, "d_null", &g), 0);
        f = field_of(&d, "d_bytes");
        cr_assert_eq(avro_value_get_bytes(&f, &bytes, &size), 0);
        cr_expect_eq(size, 2);
        cr_expect_eq(memcmp(bytes, "\xff\x01", 2), 0);
        cr_expect_str_eq(enum_symbol(&d, "d_enum"), "B");
        f = field_of(&d, "d_fixed");
        cr_assert_eq(avro_value_get_fixed(&f, &bytes, &size), 0);
        cr_expect_eq(size, 2);
        cr_expect_eq(memcmp(bytes, "ab", 2), 0);
        f = field_of(&d, "d_dbl");
        cr_assert_eq(avro_value_get_double(&f, &dbl), 0);
        cr_expect_eq(dbl, 2.5);
        /* The resolved value is complete: it re-encodes as current. */
        cr_assert_eq(
            zz_codec_encode(c, ZZ_STREAM_IDENTITY, &d, &buf, err, sizeof(err)),
            0, "%s", err);

        /* A symbol the reader lacks becomes the enum's default. */
        evo_message(c, "C", &buf);
        cr_assert_eq(zz_codec_decode(c, ZZ_STREAM_IDENTITY, buf.data, buf.len,
                                     &d, NULL, err, sizeof(err)),
                     0, "%s", err);
        cr_expect_str_eq(enum_symbol(&d, "e"), "UNKNOWN");
        zz_codec_buf_free(&buf);
        zz_codec_destroy(c);
}

Test(codec, enum_symbol_without_default_fails_that_message_only)
{
        char current[sizeof(evo_current)];
        char *p;
        zz_codec_t *c;
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        avro_value_t d;
        zz_codec_err_t code;

        /* The same reader, with no default on enum E. */
        memcpy(current, evo_current, sizeof(current));
        p = strstr(current, ",\"default\":\"UNKNOWN\"");
        cr_assert_not_null(p);
        memmove(p, p + strlen(",\"default\":\"UNKNOWN\""),
                strlen(p + strlen(",\"default\":\"UNKNOWN\"")) + 1);
        c = codec_with("identity.avsc", current, "identity.v1.avsc", evo_v1);
        cr_assert_not_null(c, "%s", err);
        evo_message(c, "C", &buf);
        cr_expect_eq(zz_codec_decode(c, ZZ_STREAM_IDENTITY, buf.data, buf.len,
                                     &d, &code, err, sizeof(err)),
                     -1);
        cr_expect_eq(code, ZZ_CODEC_ERR_RESOLVE, "%s", err);
        evo_message(c, "B", &buf);
        cr_expect_eq(zz_codec_decode(c, ZZ_STREAM_IDENTITY, buf.data, buf.len,
                                     &d, &code, err, sizeof(err)),
                     0, "%s", err);
        zz_codec_buf_free(&buf);
        zz_codec_destroy(c);
}

Test(codec, incompatible_schema_changes_fail_at_load)
{
        static const char v1[] =
            "{\"type\":\"record\",\"name\":\"Identity\",\"namespace\":"
            "\"cn.zizhu\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}";
        static const char no_default[] =
            "{\"type\":\"record\",\"name\":\"Identity\",\"namespace\":"
            "\"cn.zizhu\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},"
            "{\"name\":\"b\",\"type\":\"long\"}]}";
        static const char bad_default[] =
            "{\"type\":\"record\",\"name\":\"Identity\",\"namespace\":"
            "\"cn.zizhu\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},"
            "{\"name\":\"b\",\"type\":\"long\",\"default\":\"soon\"}]}";
        static const char narrowed[] =
            "{\"type\":\"record\",\"name\":\"Identity\",\"namespace\":"
            "\"cn.zizhu\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}";
        static const char renamed[] =
            "{\"type\":\"record\",\"name\":\"Person\",\"namespace\":"
            "\"cn.zizhu\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}";
        static const char fine[] =
            "{\"type\":\"record\",\"name\":\"Identity\",\"namespace\":"
            "\"cn.zizhu\",\"fields\":[{\"name\":\"a\",\"type\":[\"null\","
            "\"string\"]},{\"name\":\"b\",\"type\":\"long\",\"default\":-1}]}";
        zz_codec_t *c;

        c = codec_with("identity.avsc", no_default, "identity.v1.avsc", v1);
        cr_expect_null(c);
        cr_expect(strstr(err, "identity.v1.avsc") && strstr(err, "b"), "%s",
                  err);
        zz_codec_destroy(c);
        c = codec_with("identity.avsc", bad_default, "identity.v1.avsc", v1);
        cr_expect_null(c);
        cr_expect(strstr(err, "default") != NULL, "%s", err);
        zz_codec_destroy(c);
        c = codec_with("identity.avsc", narrowed, "identity.v1.avsc", v1);
        cr_expect_null(c);
        zz_codec_destroy(c);
        c = codec_with("identity.avsc", renamed, "identity.v1.avsc", v1);
        cr_expect_null(c);
        zz_codec_destroy(c);
        /* No current schema for a stream; a stray file name; a duplicate
         * canonical form. */
        c = codec_with("payment.avsc", NULL, NULL, NULL);
        cr_expect_null(c);
        cr_expect(strstr(err, "payment") != NULL, "%s", err);
        zz_codec_destroy(c);
        c = codec_with("notes.avsc", v1, NULL, NULL);
        cr_expect_null(c);
        zz_codec_destroy(c);
        c = codec_with("identity.v7.avsc", v1, "identity.v8.avsc", v1);
        cr_expect_null(c);
        zz_codec_destroy(c);
        /* A compatible change loads. */
        c = codec_with("identity.avsc", fine, "identity.v1.avsc", v1);
        cr_expect_not_null(c, "%s", err);
        zz_codec_destroy(c);
}

Test(codec, arrays_of_zero_size_items_are_capped)
{
        /* An array of null encodes each item in no bytes: a block count
         * of 2^42 in seven bytes would make avro-c append for ever. */
        static const char schema[] =
            "{\"type\":\"record\",\"name\":\"Control\",\"namespace\":"
            "\"cn.zizhu\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
            "\"array\",\"items\":\"null\"}}]}";
        static const unsigned char huge[] = {0x80, 0x80, 0x80, 0x80,
                                             0x80, 0x80, 0x02, 0x00};
        static const unsigned char three[] = {0x06, 0x00};
        static const unsigned char over_cap[] = {0x82, 0x80, 0x80, 0x04, 0x00};
        /* without control.v1.avsc, which could not be read as this */
        zz_codec_t *c =
            codec_with("control.avsc", schema, "control.v1.avsc", NULL);
        unsigned char msg[32];
        uint64_t fp;
        avro_value_t d, f;
        zz_codec_err_t code;
        size_t size;
        int i;

        cr_assert_not_null(c, "%s", err);
        fp = zz_codec_stream_fingerprint(c, ZZ_STREAM_CONTROL);
        msg[0] = 0xC3;
        msg[1] = 0x01;
        for (i = 0; i < 8; i++)
                msg[2 + i] = (unsigned char)(fp >> (8 * i));
        memcpy(msg + 10, huge, sizeof(huge));
        cr_expect_eq(zz_codec_decode(c, ZZ_STREAM_CONTROL, msg,
                                     10 + sizeof(huge), &d, &code, err,
                                     sizeof(err)),
                     -1);
        cr_expect_eq(code, ZZ_CODEC_ERR_DATUM);
        /* 2^22 + 1 items: one over ZZ_CODEC_MAX_ITEMS. */
        memcpy(msg + 10, over_cap, sizeof(over_cap));
        cr_expect_eq(zz_codec_decode(c, ZZ_STREAM_CONTROL, msg,
                                     10 + sizeof(over_cap), &d, &code, err,
                                     sizeof(err)),
                     -1);
        cr_expect(strstr(err, "items") != NULL, "%s", err);
        memcpy(msg + 10, three, sizeof(three));
        cr_assert_eq(zz_codec_decode(c, ZZ_STREAM_CONTROL, msg,
                                     10 + sizeof(three), &d, &code, err,
                                     sizeof(err)),
                     0, "%s", err);
        f = field_of(&d, "a");
        cr_assert_eq(avro_value_get_size(&f, &size), 0);
        cr_expect_eq(size, 3);
        zz_codec_destroy(c);
}

/* ---------------------------------------------------------------------
 * Errors
 */

static zz_codec_err_t decode_err(zz_stream_t stream, const void *buf,
                                 size_t len)
{
        avro_value_t out;
        zz_codec_err_t code = ZZ_CODEC_OK;
        int rc = zz_codec_decode(codec, stream, buf, len, &out, &code, err,
                                 sizeof(err));

        if (rc == 0) {
                cr_expect_eq(code, ZZ_CODEC_OK);
                cr_expect_not_null(out.iface);
        } else {
                cr_expect_neq(code, ZZ_CODEC_OK);
                cr_expect_null(out.iface);
                cr_expect_neq(err[0], '\0');
        }
        return code;
}

/* A minimal identity datum, all strings empty:
 * event_id person_id department dept_record_id action=GRANT category
 * attrs={} valid_from=0 valid_to=null approving_region residence_region=null
 * reported_at=0 deceased_on=null channel=LIST_EXCHANGE. */
static const unsigned char min_identity[] = {0x00, 0x00, 0x00, 0x00, 0x02,
                                             0x00, 0x00, 0x00, 0x00, 0x00,
                                             0x00, 0x00, 0x00, 0x02};

static size_t with_header(unsigned char *out, zz_stream_t stream,
                          const unsigned char *datum, size_t len)
{
        uint64_t fp = zz_codec_stream_fingerprint(codec, stream);
        int i;

        out[0] = 0xC3;
        out[1] = 0x01;
        for (i = 0; i < 8; i++)
                out[2 + i] = (unsigned char)(fp >> (8 * i));
        memcpy(out + ZZ_CODEC_HEADER_SIZE, datum, len);
        return ZZ_CODEC_HEADER_SIZE + len;
}

Test(codec, framing_and_schema_errors)
{
        unsigned char msg[64];
        size_t len, i;

        len = with_header(msg, ZZ_STREAM_IDENTITY, min_identity,
                          sizeof(min_identity));
        cr_assert_eq(decode_err(ZZ_STREAM_IDENTITY, msg, len), ZZ_CODEC_OK,
                     "%s", err);
        for (i = 0; i < ZZ_CODEC_HEADER_SIZE; i++)
                cr_expect_eq(decode_err(ZZ_STREAM_IDENTITY, msg, i),
                             ZZ_CODEC_ERR_FRAMING);
        cr_expect_eq(decode_err(ZZ_STREAM_IDENTITY, NULL, 0),
                     ZZ_CODEC_ERR_FRAMING);
        msg[0] = 0xC2;
        cr_expect_eq(decode_err(ZZ_STREAM_IDENTITY, msg, len),
                     ZZ_CODEC_ERR_FRAMING);
        msg[0] = 0xC3;
        msg[1] = 0x02;
        cr_expect_eq(decode_err(ZZ_STREAM_IDENTITY, msg, len),
                     ZZ_CODEC_ERR_FRAMING);
        msg[1] = 0x01;
        msg[5] ^= 0x40;
        cr_expect_eq(decode_err(ZZ_STREAM_IDENTITY, msg, len),
                     ZZ_CODEC_ERR_UNKNOWN_SCHEMA);
        cr_expect_eq(zz_codec_peek(codec, msg, len, NULL, NULL, NULL), -1);
        msg[5] ^= 0x40;
        cr_expect_eq(decode_err(ZZ_STREAM_PAYMENT, msg, len),
                     ZZ_CODEC_ERR_WRONG_STREAM);
        cr_expect(strstr(err, "identity") != NULL, "%s", err);
        msg[len] = 0x00;
        cr_expect_eq(decode_err(ZZ_STREAM_IDENTITY, msg, len + 1),
                     ZZ_CODEC_ERR_TRAILING);
        cr_expect_eq(decode_err(ZZ_STREAM_IDENTITY, msg, len - 1),
                     ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(decode_err(ZZ_STREAM__COUNT, msg, len),
                     ZZ_CODEC_ERR_INTERNAL);
}

/* Replaces bytes [at, at + cut) of the minimal identity datum with patch
 * and decodes the result. */
static zz_codec_err_t patched(size_t at, size_t cut, const unsigned char *patch,
                              size_t plen)
{
        unsigned char datum[128], msg[160];
        size_t len;

        cr_assert_leq(at + cut, sizeof(min_identity));
        memcpy(datum, min_identity, at);
        memcpy(datum + at, patch, plen);
        memcpy(datum + at + plen, min_identity + at + cut,
               sizeof(min_identity) - at - cut);
        len = with_header(msg, ZZ_STREAM_IDENTITY, datum,
                          sizeof(min_identity) - cut + plen);
        return decode_err(ZZ_STREAM_IDENTITY, msg, len);
}

Test(codec, hostile_lengths_counts_and_indexes)
{
        /* event_id length 2^62 (zigzag), then nothing. */
        static const unsigned char huge[] = {0x80, 0x80, 0x80, 0x80, 0x80,
                                             0x80, 0x80, 0x80, 0x80, 0x01};
        /* length -1, -64, INT64_MIN */
        static const unsigned char neg1[] = {0x01};
        static const unsigned char neg64[] = {0x7f};
        static const unsigned char negmin[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                               0xff, 0xff, 0xff, 0xff, 0x01};
        /* 11-byte varint, and a 10th byte that overflows 64 bits */
        static const unsigned char overlong[] = {
            0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
        static const unsigned char overflow[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                                 0xff, 0xff, 0xff, 0xff, 0x7f};
        /* a string that is not UTF-8, and one with a NUL inside */
        static const unsigned char latin1[] = {0x02, 0xe9};
        static const unsigned char nul[] = {0x04, 'a', 0x00};
        /* enum index 6 and -1 for action (6 symbols) */
        static const unsigned char enum6[] = {0x0c};
        static const unsigned char enum_neg[] = {0x01};
        /* union branch 2 and -1 for valid_to */
        static const unsigned char branch2[] = {0x04};
        static const unsigned char branch_neg[] = {0x01};
        /* attrs: block of 2^40 items; negative block count -1 with a huge
         * block size; INT64_MIN block count; a block size that lies. */
        static const unsigned char many[] = {0x80, 0x80, 0x80, 0x80,
                                             0x80, 0x80, 0x02};
        static const unsigned char neg_block[] = {0x01, 0xfe, 0xff,
                                                  0xff, 0xff, 0x0f};
        static const unsigned char min_block[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                                  0xff, 0xff, 0xff, 0xff, 0x01};
        static const unsigned char lying_block[] = {0x01, 0x02, 0x02,
                                                    'k',  0x00, 0x00};
        static const unsigned char good_block[] = {0x01, 0x08, 0x02, 'k',
                                                   0x02, 'v',  0x00};
        /* an int (valid_from) out of the int32 range */
        static const unsigned char big_int[] = {0x80, 0x80, 0x80, 0x80, 0x10};

        cr_expect_eq(patched(0, 1, huge, sizeof(huge)), ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(0, 1, neg1, sizeof(neg1)), ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(0, 1, neg64, sizeof(neg64)), ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(0, 1, negmin, sizeof(negmin)), ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(0, 1, overlong, sizeof(overlong)),
                     ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(0, 1, overflow, sizeof(overflow)),
                     ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(0, 1, latin1, sizeof(latin1)), ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(0, 1, nul, sizeof(nul)), ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(4, 1, enum6, sizeof(enum6)), ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(4, 1, enum_neg, sizeof(enum_neg)),
                     ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(8, 1, branch2, sizeof(branch2)),
                     ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(8, 1, branch_neg, sizeof(branch_neg)),
                     ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(6, 1, many, sizeof(many)), ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(6, 1, neg_block, sizeof(neg_block)),
                     ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(6, 1, min_block, sizeof(min_block)),
                     ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(6, 1, lying_block, sizeof(lying_block)),
                     ZZ_CODEC_ERR_DATUM);
        cr_expect_eq(patched(7, 1, big_int, sizeof(big_int)),
                     ZZ_CODEC_ERR_DATUM);
        /* The same shapes, well-formed, decode. */
        cr_expect_eq(patched(6, 1, good_block, sizeof(good_block)), ZZ_CODEC_OK,
                     "%s", err);
        cr_expect_eq(patched(0, 1, (const unsigned char *)"\x04\xc3\xa9", 3),
                     ZZ_CODEC_OK, "%s", err);
}

/* Decodes a message that may be hostile. If it decodes, the value must
 * re-encode (it is complete and valid). */
static void decode_any(zz_stream_t stream, const unsigned char *buf, size_t len,
                       size_t *ok, size_t *bad)
{
        avro_value_t out;
        zz_codec_err_t code;
        zz_codec_buf_t again = ZZ_CODEC_BUF_INIT;

        if (zz_codec_decode(codec, stream, buf, len, &out, &code, err,
                            sizeof(err)) == 0) {
                cr_assert_eq(zz_codec_encode(codec, stream, &out, &again, err,
                                             sizeof(err)),
                             0, "decoded value does not re-encode: %s", err);
                zz_codec_buf_free(&again);
                (*ok)++;
        } else {
                cr_assert(code > ZZ_CODEC_OK && code <= ZZ_CODEC_ERR_INTERNAL);
                cr_assert_neq(code, ZZ_CODEC_ERR_INTERNAL, "%s", err);
                (*bad)++;
        }
}

Test(codec, truncations_at_every_length)
{
        zz_codec_buf_t msgs[ZZ_STREAM__COUNT];
        size_t ok = 0, bad = 0, len;
        int s;

        memset(msgs, 0, sizeof(msgs));
        sample_messages(msgs, 7);
        for (s = 0; s < ZZ_STREAM__COUNT; s++) {
                for (len = 0; len < msgs[s].len; len++) {
                        /* A copy of exactly len bytes, so that ASan and
                         * valgrind see any read past it. */
                        unsigned char *cut = malloc(len ? len : 1);
                        cr_assert_not_null(cut);
                        memcpy(cut, msgs[s].data, len);
                        decode_any(s, cut, len, &ok, &bad);
                        free(cut);
                }
        }
        cr_expect_eq(ok, 0, "a truncated message decoded");
        cr_expect_gt(bad, 100);
        free_messages(msgs);
}

Test(codec, bit_flips)
{
        zz_codec_buf_t msgs[ZZ_STREAM__COUNT];
        size_t ok = 0, bad = 0, bit;
        int s;

        memset(msgs, 0, sizeof(msgs));
        sample_messages(msgs, 11);
        for (s = 0; s < ZZ_STREAM__COUNT; s++) {
                unsigned char *copy = malloc(msgs[s].len);
                cr_assert_not_null(copy);
                for (bit = 0; bit < msgs[s].len * 8; bit++) {
                        memcpy(copy, msgs[s].data, msgs[s].len);
                        copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
                        decode_any(s, copy, msgs[s].len, &ok, &bad);
                }
                free(copy);
        }
        cr_expect_gt(bad, 1000);
        free_messages(msgs);
}

Test(codec, random_bytes)
{
        zz_codec_buf_t msgs[ZZ_STREAM__COUNT];
        uint64_t state = 0x9e3779b97f4a7c15u;
        size_t ok = 0, bad = 0;
        unsigned char buf[256];
        int i;

        memset(msgs, 0, sizeof(msgs));
        sample_messages(msgs, 3);
        for (i = 0; i < 6000; i++) {
                zz_stream_t s = (zz_stream_t)(rnd(&state) % ZZ_STREAM__COUNT);
                size_t len = rnd(&state) % sizeof(buf), j;
                unsigned char *copy;
                for (j = 0; j < len; j++)
                        buf[j] = (unsigned char)rnd(&state);
                switch (i % 3) {
                case 0: /* pure noise */
                        break;
                case 1: /* a valid header of the right stream, noise after */
                        if (len >= ZZ_CODEC_HEADER_SIZE)
                                memcpy(buf, msgs[s].data, ZZ_CODEC_HEADER_SIZE);
                        break;
                default: /* a valid message with a noisy tail spliced in */
                        if (msgs[s].len < sizeof(buf)) {
                                size_t at =
                                    ZZ_CODEC_HEADER_SIZE +
                                    rnd(&state) %
                                        (msgs[s].len - ZZ_CODEC_HEADER_SIZE);
                                memcpy(buf, msgs[s].data, at);
                                if (len < at)
                                        len = at;
                        }
                        break;
                }
                copy = malloc(len ? len : 1);
                cr_assert_not_null(copy);
                memcpy(copy, buf, len);
                decode_any(s, copy, len, &ok, &bad);
                free(copy);
        }
        cr_expect_gt(bad, 5000);
        free_messages(msgs);
}

Test(codec, wrong_fingerprints_and_streams)
{
        zz_codec_buf_t msgs[ZZ_STREAM__COUNT];
        int s, t;

        memset(msgs, 0, sizeof(msgs));
        sample_messages(msgs, 5);
        for (s = 0; s < ZZ_STREAM__COUNT; s++) {
                for (t = 0; t < ZZ_STREAM__COUNT; t++) {
                        zz_codec_err_t code = decode_err(
                            (zz_stream_t)t, msgs[s].data, msgs[s].len);
                        cr_expect_eq(code,
                                     s == t ? ZZ_CODEC_OK
                                            : ZZ_CODEC_ERR_WRONG_STREAM,
                                     "%s read as %s", zz_stream_name(s),
                                     zz_stream_name(t));
                }
                /* Another stream's fingerprint on this datum. */
                memcpy(msgs[s].data + 2,
                       msgs[(s + 1) % ZZ_STREAM__COUNT].data + 2, 8);
                cr_expect_neq(
                    decode_err((zz_stream_t)((s + 1) % ZZ_STREAM__COUNT),
                               msgs[s].data, msgs[s].len),
                    ZZ_CODEC_OK);
        }
        free_messages(msgs);
}

/* ---------------------------------------------------------------------
 * Encode refuses what decode would refuse
 */

Test(codec, encode_refuses_incomplete_or_invalid_values)
{
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        avro_value_t value, f, other;
        uint64_t state = 1;

        /* A fresh value has unset unions. */
        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_IDENTITY, &value), 0);
        cr_expect_eq(zz_codec_encode(codec, ZZ_STREAM_IDENTITY, &value, &buf,
                                     err, sizeof(err)),
                     -1);
        cr_expect_eq(buf.len, 0);
        fill(&value, &state, 0);
        cr_assert_eq(zz_codec_encode(codec, ZZ_STREAM_IDENTITY, &value, &buf,
                                     err, sizeof(err)),
                     0, "%s", err);
        /* The value of one stream is not a message of another. */
        cr_expect_eq(zz_codec_encode(codec, ZZ_STREAM_ENROLLMENT, &value, &buf,
                                     err, sizeof(err)),
                     -1);
        /* An enum index avro-c accepts but no reader could. */
        cr_assert_eq(avro_value_get_by_name(&value, "action", &f, NULL), 0);
        cr_assert_eq(avro_value_set_enum(&f, 42), 0);
        cr_expect_eq(zz_codec_encode(codec, ZZ_STREAM_IDENTITY, &value, &buf,
                                     err, sizeof(err)),
                     -1);
        cr_assert_eq(avro_value_set_enum(&f, 1), 0);
        /* A string that is not UTF-8. */
        cr_assert_eq(avro_value_get_by_name(&value, "category", &f, NULL), 0);
        cr_assert_eq(avro_value_set_string(&f, "caf\xe9"), 0);
        cr_expect_eq(zz_codec_encode(codec, ZZ_STREAM_IDENTITY, &value, &buf,
                                     err, sizeof(err)),
                     -1);
        cr_expect(strstr(err, "UTF-8") != NULL, "%s", err);
        cr_assert_eq(avro_value_set_string(&f, "MCA.DIBAO"), 0);
        cr_expect_eq(zz_codec_encode(codec, ZZ_STREAM_IDENTITY, &value, &buf,
                                     err, sizeof(err)),
                     0, "%s", err);
        /* Values that outlive the codec stay usable. */
        cr_assert_eq(zz_codec_value_new(codec, ZZ_STREAM_CONTROL, &other), 0);
        zz_codec_destroy(codec);
        codec = NULL;
        cr_expect_eq(avro_value_get_by_name(&other, "event_id", &f, NULL), 0);
        avro_value_decref(&other);
        avro_value_decref(&value);
        zz_codec_buf_free(&buf);
        zz_codec_buf_free(NULL);
        zz_codec_destroy(NULL);
}

Test(codec, error_names)
{
        cr_expect_str_eq(zz_codec_err_name(ZZ_CODEC_ERR_FRAMING), "FRAMING");
        cr_expect_str_eq(zz_codec_err_name(ZZ_CODEC_ERR_WRONG_STREAM),
                         "WRONG_STREAM");
        cr_expect_str_eq(zz_codec_err_name((zz_codec_err_t)99), "?");
}

/* ---------------------------------------------------------------------
 * control.v1: the control schema before "positions"
 */

/* A CLOSE_PERIOD written with control.v1 by the settlement test harness
 * before positions existed, read back from the broker and frozen: version
 * 1 never changes. */
static const unsigned char control_v1_close[] = {
    0xc3, 0x01, 0xd2, 0xcc, 0xff, 0x29, 0x81, 0x62, 0xcf, 0x60, 0x2c, 0x74,
    0x2d, 0x63, 0x6c, 0x6f, 0x73, 0x65, 0x2d, 0x68, 0x75, 0x69, 0x6c, 0x6f,
    0x6e, 0x67, 0x2d, 0x32, 0x30, 0x32, 0x30, 0x2d, 0x34, 0x06, 0x46, 0x49,
    0x4e, 0x2c, 0x74, 0x2d, 0x63, 0x6c, 0x6f, 0x73, 0x65, 0x2d, 0x68, 0x75,
    0x69, 0x6c, 0x6f, 0x6e, 0x67, 0x2d, 0x32, 0x30, 0x32, 0x30, 0x2d, 0x34,
    0x02, 0x0e, 0x68, 0x75, 0x69, 0x6c, 0x6f, 0x6e, 0x67, 0x02, 0x08, 0x32,
    0x30, 0x32, 0x30, 0x00, 0x00, 0x80, 0x9a, 0x8c, 0x8d, 0xe4, 0x5b};

/* Checks a decoded control.v1 close: v1 fields kept, positions null. */
static void expect_v1_control(avro_value_t *decoded, const char *event_id,
                              int64_t issued_at)
{
        avro_value_t f, branch;
        int64_t i64;

        cr_expect_eq(avro_value_get_schema(decoded),
                     zz_codec_schema(codec, ZZ_STREAM_CONTROL));
        expect_str(decoded, "event_id", event_id);
        expect_str(decoded, "department", "FIN");
        expect_str(decoded, "jurisdiction", "huilong");
        cr_expect_str_eq(enum_symbol(decoded, "command"), "CLOSE_PERIOD");
        cr_expect_eq(union_branch(decoded, "period", &branch), 1);
        cr_expect_eq(union_branch(decoded, "policy_name", &branch), 0);
        cr_expect_eq(union_branch(decoded, "policy_version", &branch), 0);
        cr_assert_eq(avro_value_get_by_name(decoded, "issued_at", &f, NULL), 0);
        cr_assert_eq(avro_value_get_long(&f, &i64), 0);
        cr_expect_eq(i64, issued_at);
        /* the field version 2 added, at its default */
        cr_expect_eq(union_branch(decoded, "positions", &branch), 0);
        cr_expect_eq(avro_value_get_type(&branch), AVRO_NULL);
}

Test(codec, control_v1_decodes_with_positions_null)
{
        avro_schema_t v1 = zz_codec_schema_version(codec, ZZ_STREAM_CONTROL, 1);
        avro_value_iface_t *iface;
        avro_value_t value, f, branch, decoded;
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        zz_codec_err_t code;
        int version = 0;
        size_t i;

        /* control.v1.avsc is the schema every earlier control message was
         * written with: same fingerprint */
        cr_assert_not_null(v1);
        cr_assert_neq(v1, zz_codec_schema(codec, ZZ_STREAM_CONTROL));
        for (i = 0; i < zz_codec_schema_count(codec); i++) {
                zz_codec_schema_info_t info;
                cr_assert_eq(zz_codec_schema_info(codec, i, &info), 0);
                if (strcmp(info.file, "control.v1.avsc") == 0) {
                        cr_expect_eq(info.fingerprint,
                                     UINT64_C(0x60cf628129ffccd2));
                        cr_expect_eq(info.version, 1);
                }
                if (strcmp(info.file, "control.avsc") == 0)
                        cr_expect_eq(info.version, 2);
        }

        /* the frozen message */
        cr_assert_eq(zz_codec_peek(codec, control_v1_close,
                                   sizeof(control_v1_close), NULL, &version,
                                   NULL),
                     0);
        cr_expect_eq(version, 1);
        cr_assert_eq(zz_codec_decode(codec, ZZ_STREAM_CONTROL, control_v1_close,
                                     sizeof(control_v1_close), &decoded, &code,
                                     err, sizeof(err)),
                     0, "%s", err);
        expect_v1_control(&decoded, "t-close-huilong-2020-4",
                          INT64_C(1576803600000));

        /* and one written here with the v1 schema */
        iface = avro_generic_class_from_schema(v1);
        cr_assert_not_null(iface);
        cr_assert_eq(avro_generic_value_new(iface, &value), 0);
        set_str(&value, "event_id", "ctl-old-1");
        set_str(&value, "department", "FIN");
        set_str(&value, "dept_record_id", "R-1");
        cr_assert_eq(avro_value_get_by_name(&value, "command", &f, NULL), 0);
        cr_assert_eq(avro_value_set_enum(
                         &f, avro_schema_enum_get_by_name(
                                 avro_value_get_schema(&f), "CLOSE_PERIOD")),
                     0);
        set_str(&value, "jurisdiction", "huilong");
        cr_assert_eq(avro_value_get_by_name(&value, "period", &f, NULL), 0);
        cr_assert_eq(avro_value_set_branch(&f, 1, &branch), 0);
        cr_assert_eq(avro_value_set_string(&branch, "2020"), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "policy_name", &f, NULL),
                     0);
        cr_assert_eq(avro_value_set_branch(&f, 0, &branch), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "policy_version", &f, NULL),
                     0);
        cr_assert_eq(avro_value_set_branch(&f, 0, &branch), 0);
        cr_assert_eq(avro_value_get_by_name(&value, "issued_at", &f, NULL), 0);
        cr_assert_eq(avro_value_set_long(&f, INT64_C(1600000000000)), 0);
        cr_assert_eq(zz_codec_encode(codec, ZZ_STREAM_CONTROL, &value, &buf,
                                     err, sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(
            zz_codec_peek(codec, buf.data, buf.len, NULL, &version, NULL), 0);
        cr_expect_eq(version, 1);
        cr_assert_eq(zz_codec_decode(codec, ZZ_STREAM_CONTROL, buf.data,
                                     buf.len, &decoded, &code, err,
                                     sizeof(err)),
                     0, "%s", err);
        expect_v1_control(&decoded, "ctl-old-1", INT64_C(1600000000000));
        avro_value_decref(&value);
        avro_value_iface_decref(iface);
        zz_codec_buf_free(&buf);
}
