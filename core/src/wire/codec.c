/*
 * codec.c — single-object Avro encoding, validation and schema resolution.
 *
 * Four pieces, in file order:
 *   1. Parsing Canonical Form and CRC-64-AVRO fingerprints, on jansson;
 *      the walk also records every named type's JSON so that field and enum
 *      defaults can be found later.
 *   2. A compiled copy of each writer schema ("nodes") and a validating
 *      skip pass over a datum, run before avro-c allocates anything.
 *   3. Resolution plans from each older schema of a stream to its current
 *      schema, and the code that runs them (see codec.h for why avro-c's own
 *      resolved writer cannot be used).
 *   4. The codec itself: loading the embedded schemas, encode, decode.
 */
#include "zizhu/codec.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zizhu/arena.h"
#include "zizhu/errstr.h"

/* Written by the build from the .avsc files in schemas/ (see
 * core/CMakeLists.txt). */
struct zz_codec_embedded {
        const char *file;
        const unsigned char *text;
        size_t len;
};
extern const struct zz_codec_embedded zz_codec_embedded[];
extern const size_t zz_codec_embedded_count;

#define ZZ_MAX_DEPTH 32 /* nesting of schemas; ours are 4 deep at most */

#if defined(__GNUC__)
#define ZZ_CODEC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ZZ_CODEC_PRINTF(a, b)
#endif

static const char *const stream_names[ZZ_STREAM__COUNT] = {
    "identity",      "enrollment",     "payment",    "control",
    "subsidy-state", "reconciliation", "allocation", "dead-letter"};

const char *zz_stream_name(zz_stream_t stream)
{
        if ((int)stream < 0 || stream >= ZZ_STREAM__COUNT)
                return "?";
        return stream_names[stream];
}

int zz_stream_from_name(const char *name, size_t len, zz_stream_t *out)
{
        int i;

        for (i = 0; i < ZZ_STREAM__COUNT; i++) {
                if (strlen(stream_names[i]) == len &&
                    memcmp(stream_names[i], name, len) == 0) {
                        *out = (zz_stream_t)i;
                        return 0;
                }
        }
        return -1;
}

const char *zz_codec_err_name(zz_codec_err_t err)
{
        switch (err) {
        case ZZ_CODEC_OK:
                return "OK";
        case ZZ_CODEC_ERR_FRAMING:
                return "FRAMING";
        case ZZ_CODEC_ERR_UNKNOWN_SCHEMA:
                return "UNKNOWN_SCHEMA";
        case ZZ_CODEC_ERR_WRONG_STREAM:
                return "WRONG_STREAM";
        case ZZ_CODEC_ERR_DATUM:
                return "DATUM";
        case ZZ_CODEC_ERR_TRAILING:
                return "TRAILING";
        case ZZ_CODEC_ERR_RESOLVE:
                return "RESOLVE";
        case ZZ_CODEC_ERR_INTERNAL:
                return "INTERNAL";
        }
        return "?";
}

/* ---------------------------------------------------------------------
 * 1. Canonical form and fingerprints
 */

#define RABIN_EMPTY UINT64_C(0xc15d213aa4d7a795)

/* Each call builds its table (2 KiB, a few thousand operations): the
 * function runs when a codec loads, not per message, and this keeps it free
 * of shared state between threads. */
uint64_t zz_codec_rabin64(const void *data, size_t len)
{
        const unsigned char *p = data;
        uint64_t table[256];
        uint64_t fp = RABIN_EMPTY;
        size_t i;
        int j;

        for (i = 0; i < 256; i++) {
                uint64_t t = (uint64_t)i;
                for (j = 0; j < 8; j++)
                        t = (t >> 1) ^ (RABIN_EMPTY & (0 - (t & 1)));
                table[i] = t;
        }
        for (i = 0; i < len; i++)
                fp = (fp >> 8) ^ table[(fp ^ p[i]) & 0xff];
        return fp;
}

struct named_def {
        char *fullname;
        json_t *json; /* the defining object, borrowed from the root */
};

struct pcf {
        char *buf;
        size_t len, cap;
        int oom;
        struct named_def *defs;
        size_t ndefs, capdefs;
        char *errstr;
        size_t errstr_size;
};

static const char *const primitive_names[] = {
    "null", "boolean", "int", "long", "float", "double", "bytes", "string"};

static int is_primitive(const char *s)
{
        size_t i;

        for (i = 0; i < sizeof(primitive_names) / sizeof(*primitive_names);
             i++) {
                if (strcmp(s, primitive_names[i]) == 0)
                        return 1;
        }
        return 0;
}

static void pcf_put(struct pcf *pcf, const char *s, size_t n)
{
        if (pcf->oom)
                return;
        if (pcf->len + n + 1 > pcf->cap) {
                size_t cap = pcf->cap ? pcf->cap : 256;
                char *buf;
                while (cap < pcf->len + n + 1)
                        cap *= 2;
                buf = realloc(pcf->buf, cap);
                if (buf == NULL) {
                        pcf->oom = 1;
                        return;
                }
                pcf->buf = buf;
                pcf->cap = cap;
        }
        memcpy(pcf->buf + pcf->len, s, n);
        pcf->len += n;
        pcf->buf[pcf->len] = '\0';
}

static void pcf_puts(struct pcf *pcf, const char *s)
{
        pcf_put(pcf, s, strlen(s));
}

/* Names, symbols and field names are [A-Za-z_][A-Za-z0-9_]*, so they are
 * written without escaping. */
static int valid_name(const char *s, size_t len)
{
        size_t i;

        if (len == 0)
                return 0;
        for (i = 0; i < len; i++) {
                char c = s[i];
                int letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                             c == '_';
                if (!letter && !(i > 0 && c >= '0' && c <= '9'))
                        return 0;
        }
        return 1;
}

static int valid_fullname(const char *s)
{
        const char *dot;

        for (;;) {
                dot = strchr(s, '.');
                if (dot == NULL)
                        return valid_name(s, strlen(s));
                if (!valid_name(s, (size_t)(dot - s)))
                        return 0;
                s = dot + 1;
        }
}

static void pcf_quoted(struct pcf *pcf, const char *s)
{
        pcf_put(pcf, "\"", 1);
        pcf_puts(pcf, s);
        pcf_put(pcf, "\"", 1);
}

static char *make_fullname(const char *name, const char *ns)
{
        size_t nl = strlen(name), sl = ns ? strlen(ns) : 0;
        char *full;

        if (strchr(name, '.') != NULL || sl == 0)
                return strdup(name);
        full = malloc(sl + 1 + nl + 1);
        if (full == NULL)
                return NULL;
        memcpy(full, ns, sl);
        full[sl] = '.';
        memcpy(full + sl + 1, name, nl + 1);
        return full;
}

static struct named_def *pcf_find(struct pcf *pcf, const char *fullname)
{
        size_t i;

        for (i = 0; i < pcf->ndefs; i++) {
                if (strcmp(pcf->defs[i].fullname, fullname) == 0)
                        return &pcf->defs[i];
        }
        return NULL;
}

static void pcf_free(struct pcf *pcf)
{
        size_t i;

        for (i = 0; i < pcf->ndefs; i++)
                free(pcf->defs[i].fullname);
        free(pcf->defs);
        free(pcf->buf);
        memset(pcf, 0, sizeof(*pcf));
}

static int pcf_schema(struct pcf *pcf, json_t *node, const char *ns, int depth);

static int pcf_reference(struct pcf *pcf, const char *name, const char *ns)
{
        char *full;
        struct named_def *def;

        if (is_primitive(name)) {
                pcf_quoted(pcf, name);
                return 0;
        }
        full = make_fullname(name, ns);
        if (full == NULL) {
                pcf->oom = 1;
                return -1;
        }
        def = pcf_find(pcf, full);
        if (def == NULL && strchr(name, '.') == NULL)
                def = pcf_find(pcf, name); /* the null namespace */
        free(full);
        if (def == NULL) {
                zz_errstr_set(pcf->errstr, pcf->errstr_size,
                              "unknown type name \"%s\"", name);
                return -1;
        }
        pcf_quoted(pcf, def->fullname);
        return 0;
}

/* Registers a named type and writes its {"name":...,"type":... prefix.
 * *inner_ns receives the namespace its children are resolved in (malloc'd,
 * caller frees). */
static int pcf_named(struct pcf *pcf, json_t *node, const char *type,
                     const char *ns, char **inner_ns)
{
        json_t *jname = json_object_get(node, "name");
        json_t *jns = json_object_get(node, "namespace");
        const char *name, *dot;
        char *full;

        if (!json_is_string(jname)) {
                zz_errstr_set(pcf->errstr, pcf->errstr_size,
                              "%s schema without a \"name\"", type);
                return -1;
        }
        name = json_string_value(jname);
        if (strchr(name, '.') == NULL && json_is_string(jns))
                ns = json_string_value(jns);
        full = make_fullname(name, ns);
        if (full == NULL) {
                pcf->oom = 1;
                return -1;
        }
        if (!valid_fullname(full)) {
                zz_errstr_set(pcf->errstr, pcf->errstr_size,
                              "invalid type name \"%s\"", full);
                free(full);
                return -1;
        }
        if (pcf_find(pcf, full) != NULL) {
                zz_errstr_set(pcf->errstr, pcf->errstr_size,
                              "type \"%s\" defined twice", full);
                free(full);
                return -1;
        }
        if (pcf->ndefs == pcf->capdefs) {
                size_t cap = pcf->capdefs ? pcf->capdefs * 2 : 8;
                struct named_def *defs =
                    realloc(pcf->defs, cap * sizeof(*defs));
                if (defs == NULL) {
                        free(full);
                        pcf->oom = 1;
                        return -1;
                }
                pcf->defs = defs;
                pcf->capdefs = cap;
        }
        pcf->defs[pcf->ndefs].fullname = full;
        pcf->defs[pcf->ndefs].json = node;
        pcf->ndefs++;

        dot = strrchr(full, '.');
        *inner_ns = dot ? strndup(full, (size_t)(dot - full)) : strdup("");
        if (*inner_ns == NULL) {
                pcf->oom = 1;
                return -1;
        }
        pcf_puts(pcf, "{\"name\":");
        pcf_quoted(pcf, full);
        pcf_puts(pcf, ",\"type\":");
        pcf_quoted(pcf, type);
        return 0;
}

static int pcf_record(struct pcf *pcf, json_t *node, const char *type,
                      const char *ns, int depth)
{
        json_t *fields = json_object_get(node, "fields");
        char *inner = NULL;
        size_t i;
        int rc = -1;

        if (pcf_named(pcf, node, type, ns, &inner) != 0)
                goto out;
        if (!json_is_array(fields)) {
                zz_errstr_set(pcf->errstr, pcf->errstr_size,
                              "record without a \"fields\" array");
                goto out;
        }
        pcf_puts(pcf, ",\"fields\":[");
        for (i = 0; i < json_array_size(fields); i++) {
                json_t *field = json_array_get(fields, i);
                json_t *fname = json_object_get(field, "name");
                json_t *ftype = json_object_get(field, "type");
                if (!json_is_string(fname) ||
                    !valid_name(json_string_value(fname),
                                json_string_length(fname)) ||
                    ftype == NULL) {
                        zz_errstr_set(
                            pcf->errstr, pcf->errstr_size,
                            "field %zu of a record has no valid name or "
                            "no type",
                            i);
                        goto out;
                }
                pcf_puts(pcf, i ? ",{\"name\":" : "{\"name\":");
                pcf_quoted(pcf, json_string_value(fname));
                pcf_puts(pcf, ",\"type\":");
                if (pcf_schema(pcf, ftype, inner, depth + 1) != 0)
                        goto out;
                pcf_puts(pcf, "}");
        }
        pcf_puts(pcf, "]}");
        rc = 0;
out:
        free(inner);
        return rc;
}

static int pcf_enum(struct pcf *pcf, json_t *node, const char *ns)
{
        json_t *symbols = json_object_get(node, "symbols");
        char *inner = NULL;
        size_t i;

        if (pcf_named(pcf, node, "enum", ns, &inner) != 0) {
                free(inner);
                return -1;
        }
        free(inner);
        if (!json_is_array(symbols)) {
                zz_errstr_set(pcf->errstr, pcf->errstr_size,
                              "enum without a \"symbols\" array");
                return -1;
        }
        pcf_puts(pcf, ",\"symbols\":[");
        for (i = 0; i < json_array_size(symbols); i++) {
                json_t *sym = json_array_get(symbols, i);
                if (!json_is_string(sym) ||
                    !valid_name(json_string_value(sym),
                                json_string_length(sym))) {
                        zz_errstr_set(pcf->errstr, pcf->errstr_size,
                                      "enum symbol %zu is not a valid name", i);
                        return -1;
                }
                if (i > 0)
                        pcf_put(pcf, ",", 1);
                pcf_quoted(pcf, json_string_value(sym));
        }
        pcf_puts(pcf, "]}");
        return 0;
}

static int pcf_fixed(struct pcf *pcf, json_t *node, const char *ns)
{
        json_t *size = json_object_get(node, "size");
        char *inner = NULL;
        char num[32];

        if (pcf_named(pcf, node, "fixed", ns, &inner) != 0) {
                free(inner);
                return -1;
        }
        free(inner);
        if (!json_is_integer(size) || json_integer_value(size) < 0) {
                zz_errstr_set(pcf->errstr, pcf->errstr_size,
                              "fixed without a valid \"size\"");
                return -1;
        }
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(size));
        pcf_puts(pcf, ",\"size\":");
        pcf_puts(pcf, num);
        pcf_puts(pcf, "}");
        return 0;
}

static int pcf_container(struct pcf *pcf, json_t *node, const char *type,
                         const char *key, const char *ns, int depth)
{
        json_t *child = json_object_get(node, key);

        if (child == NULL) {
                zz_errstr_set(pcf->errstr, pcf->errstr_size,
                              "%s without \"%s\"", type, key);
                return -1;
        }
        pcf_puts(pcf, "{\"type\":");
        pcf_quoted(pcf, type);
        pcf_puts(pcf, ",\"");
        pcf_puts(pcf, key);
        pcf_puts(pcf, "\":");
        if (pcf_schema(pcf, child, ns, depth + 1) != 0)
                return -1;
        pcf_puts(pcf, "}");
        return 0;
}

static int pcf_schema(struct pcf *pcf, json_t *node, const char *ns, int depth)
{
        json_t *type;
        const char *t;
        size_t i;

        if (depth > ZZ_MAX_DEPTH) {
                zz_errstr_set(pcf->errstr, pcf->errstr_size,
                              "schema nested deeper than %d", ZZ_MAX_DEPTH);
                return -1;
        }
        if (json_is_string(node))
                return pcf_reference(pcf, json_string_value(node), ns);
        if (json_is_array(node)) {
                pcf_put(pcf, "[", 1);
                for (i = 0; i < json_array_size(node); i++) {
                        if (i > 0)
                                pcf_put(pcf, ",", 1);
                        if (pcf_schema(pcf, json_array_get(node, i), ns,
                                       depth + 1) != 0)
                                return -1;
                }
                pcf_put(pcf, "]", 1);
                return 0;
        }
        if (!json_is_object(node)) {
                zz_errstr_set(
                    pcf->errstr, pcf->errstr_size,
                    "a schema must be a string, an array or an object");
                return -1;
        }
        type = json_object_get(node, "type");
        if (json_is_object(type) || json_is_array(type))
                return pcf_schema(pcf, type, ns, depth + 1);
        if (!json_is_string(type)) {
                zz_errstr_set(pcf->errstr, pcf->errstr_size,
                              "schema object without a \"type\"");
                return -1;
        }
        t = json_string_value(type);
        if (is_primitive(t)) {
                pcf_quoted(pcf, t);
                return 0;
        }
        if (strcmp(t, "record") == 0 || strcmp(t, "error") == 0)
                return pcf_record(pcf, node, t, ns, depth);
        if (strcmp(t, "enum") == 0)
                return pcf_enum(pcf, node, ns);
        if (strcmp(t, "fixed") == 0)
                return pcf_fixed(pcf, node, ns);
        if (strcmp(t, "array") == 0)
                return pcf_container(pcf, node, "array", "items", ns, depth);
        if (strcmp(t, "map") == 0)
                return pcf_container(pcf, node, "map", "values", ns, depth);
        return pcf_reference(pcf, t, ns);
}

/* Runs the canonical form over root. On success pcf->buf holds it and
 * pcf->defs every named type; the caller frees with pcf_free either way. */
static int pcf_run(struct pcf *pcf, json_t *root)
{
        if (pcf_schema(pcf, root, "", 0) != 0 || pcf->oom) {
                if (pcf->oom)
                        zz_errstr_set(pcf->errstr, pcf->errstr_size,
                                      "out of memory");
                return -1;
        }
        if (pcf->buf == NULL) {
                zz_errstr_set(pcf->errstr, pcf->errstr_size, "empty schema");
                return -1;
        }
        return 0;
}

static json_t *json_parse(const char *json, size_t len, char *errstr,
                          size_t errstr_size)
{
        json_error_t jerr;
        json_t *root = json_loadb(
            json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);

        if (root == NULL)
                zz_errstr_set(errstr, errstr_size,
                              "invalid JSON at line %d: %s", jerr.line,
                              jerr.text);
        return root;
}

char *zz_codec_canonical_form(const char *json, size_t len, char *errstr,
                              size_t errstr_size)
{
        struct pcf pcf;
        json_t *root;
        char *out = NULL;

        root = json_parse(json, len, errstr, errstr_size);
        if (root == NULL)
                return NULL;
        memset(&pcf, 0, sizeof(pcf));
        pcf.errstr = errstr;
        pcf.errstr_size = errstr_size;
        if (pcf_run(&pcf, root) == 0) {
                out = pcf.buf;
                pcf.buf = NULL;
        }
        pcf_free(&pcf);
        json_decref(root);
        return out;
}

/* ---------------------------------------------------------------------
 * 2. Compiled writer schemas and the validating pass
 */

struct zz_node {
        avro_type_t type;
        int64_t n;       /* fields, branches, symbols; fixed size */
        size_t min_size; /* fewest bytes any datum of it takes */
        struct zz_node **kids;
        const char **names; /* record field names, borrowed from avro-c */
};

static avro_schema_t skip_links(avro_schema_t schema)
{
        while (is_avro_link(schema))
                schema = avro_schema_link_target(schema);
        return schema;
}

static struct zz_node *node_build(zz_arena_t *arena, avro_schema_t schema,
                                  int depth, char *errstr, size_t errstr_size)
{
        struct zz_node *node;
        int64_t i;

        if (depth > ZZ_MAX_DEPTH) {
                zz_errstr_set(
                    errstr, errstr_size,
                    "schema nested deeper than %d (recursive schemas are "
                    "not supported)",
                    ZZ_MAX_DEPTH);
                return NULL;
        }
        schema = skip_links(schema);
        node = zz_arena_calloc(arena, 1, sizeof(*node));
        if (node == NULL)
                goto oom;
        node->type = avro_typeof(schema);
        switch (node->type) {
        case AVRO_NULL:
                node->min_size = 0;
                break;
        case AVRO_BOOLEAN:
        case AVRO_INT32:
        case AVRO_INT64:
        case AVRO_STRING:
        case AVRO_BYTES:
        case AVRO_ENUM:
                node->min_size = 1;
                if (node->type == AVRO_ENUM)
                        node->n = avro_schema_enum_number_of_symbols(schema);
                break;
        case AVRO_FLOAT:
                node->min_size = 4;
                break;
        case AVRO_DOUBLE:
                node->min_size = 8;
                break;
        case AVRO_FIXED:
                node->n = avro_schema_fixed_size(schema);
                node->min_size = (size_t)node->n;
                break;
        case AVRO_ARRAY:
        case AVRO_MAP:
                node->n = 1;
                node->min_size = 1; /* the terminating 0 block count */
                node->kids =
                    zz_arena_calloc(arena, 1, sizeof(struct zz_node *));
                if (node->kids == NULL)
                        goto oom;
                node->kids[0] = node_build(arena,
                                           node->type == AVRO_ARRAY
                                               ? avro_schema_array_items(schema)
                                               : avro_schema_map_values(schema),
                                           depth + 1, errstr, errstr_size);
                if (node->kids[0] == NULL)
                        return NULL;
                break;
        case AVRO_UNION:
                node->n = (int64_t)avro_schema_union_size(schema);
                node->min_size = 1;
                node->kids = zz_arena_calloc(arena, (size_t)node->n + 1,
                                             sizeof(struct zz_node *));
                if (node->kids == NULL)
                        goto oom;
                for (i = 0; i < node->n; i++) {
                        node->kids[i] = node_build(
                            arena, avro_schema_union_branch(schema, (int)i),
                            depth + 1, errstr, errstr_size);
                        if (node->kids[i] == NULL)
                                return NULL;
                }
                break;
        case AVRO_RECORD:
                node->n = (int64_t)avro_schema_record_size(schema);
                node->kids = zz_arena_calloc(arena, (size_t)node->n + 1,
                                             sizeof(struct zz_node *));
                node->names = zz_arena_calloc(arena, (size_t)node->n + 1,
                                              sizeof(*node->names));
                if (node->kids == NULL || node->names == NULL)
                        goto oom;
                for (i = 0; i < node->n; i++) {
                        node->names[i] =
                            avro_schema_record_field_name(schema, (int)i);
                        node->kids[i] =
                            node_build(arena,
                                       avro_schema_record_field_get_by_index(
                                           schema, (int)i),
                                       depth + 1, errstr, errstr_size);
                        if (node->kids[i] == NULL)
                                return NULL;
                        node->min_size += node->kids[i]->min_size;
                }
                break;
        default:
                zz_errstr_set(errstr, errstr_size, "unsupported schema type %d",
                              (int)node->type);
                return NULL;
        }
        return node;
oom:
        zz_errstr_set(errstr, errstr_size, "out of memory");
        return NULL;
}

struct walk {
        const unsigned char *start, *p, *end;
        int64_t items_left;
        const char *path[ZZ_MAX_DEPTH + 2];
        int depth;
        char *errstr;
        size_t errstr_size;
};

static int walk_fail(struct walk *w, const char *fmt, ...)
    ZZ_CODEC_PRINTF(2, 3);

static int walk_fail(struct walk *w, const char *fmt, ...)
{
        char msg[160], path[256];
        size_t used = 0;
        va_list ap;
        int i;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        path[0] = '\0';
        for (i = 0; i < w->depth && used + 1 < sizeof(path); i++) {
                int n = snprintf(path + used, sizeof(path) - used, "%s%s",
                                 i ? "." : "", w->path[i]);
                if (n < 0)
                        break;
                used += (size_t)n;
        }
        if (used >= sizeof(path))
                used = sizeof(path) - 1;
        path[used] = '\0';
        zz_errstr_set(w->errstr, w->errstr_size, "at byte %zu%s%s%s: %s",
                      (size_t)(w->p - w->start), path[0] ? " (field " : "",
                      path, path[0] ? ")" : "", msg);
        return -1;
}

static int walk_varint(struct walk *w, int64_t *out)
{
        uint64_t v = 0;
        int i;

        *out = 0;
        for (i = 0; i < 10; i++) {
                unsigned b;
                if (w->p >= w->end)
                        return walk_fail(w, "truncated varint");
                b = *w->p++;
                if (i == 9 && (b & 0xfe) != 0)
                        return walk_fail(w, "varint overflows 64 bits");
                v |= (uint64_t)(b & 0x7f) << (7 * i);
                if ((b & 0x80) == 0) {
                        *out = (int64_t)((v >> 1) ^ (0 - (v & 1)));
                        return 0;
                }
        }
        return walk_fail(w, "varint longer than 10 bytes");
}

static size_t walk_left(const struct walk *w)
{
        return (size_t)(w->end - w->p);
}

/* A well-formed UTF-8 sequence without NUL, surrogates or overlongs. */
static int utf8_valid(const unsigned char *s, size_t n)
{
        size_t i = 0;

        while (i < n) {
                unsigned c = s[i];
                size_t k;
                uint32_t cp;
                if (c == 0)
                        return 0;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf) {
                        k = 1;
                        cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        k = 2;
                        cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        k = 3;
                        cp = c & 0x07;
                } else {
                        return 0;
                }
                if (n - i - 1 < k)
                        return 0;
                for (size_t j = 1; j <= k; j++) {
                        if ((s[i + j] & 0xc0) != 0x80)
                                return 0;
                        cp = (cp << 6) | (s[i + j] & 0x3f);
                }
                if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
                    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return 0;
                i += k + 1;
        }
        return 1;
}

static int walk_bytes(struct walk *w, int is_string)
{
        int64_t len;

        if (walk_varint(w, &len) != 0)
                return -1;
        if (len < 0)
                return walk_fail(w, "negative length %" PRId64, len);
        if ((uint64_t)len > walk_left(w))
                return walk_fail(
                    w, "length %" PRId64 " exceeds the %zu bytes left", len,
                    walk_left(w));
        if (is_string && !utf8_valid(w->p, (size_t)len))
                return walk_fail(w, "string is not UTF-8 or contains NUL");
        w->p += len;
        return 0;
}

static int walk_node(struct walk *w, const struct zz_node *node);

static int walk_blocks(struct walk *w, const struct zz_node *node)
{
        const struct zz_node *item = node->kids[0];
        size_t item_min = item->min_size + (node->type == AVRO_MAP ? 1 : 0);

        for (;;) {
                int64_t count, size = -1, i;
                const unsigned char *block_start;

                if (walk_varint(w, &count) != 0)
                        return -1;
                if (count == 0)
                        return 0;
                if (count < 0) {
                        if (count == INT64_MIN)
                                return walk_fail(w, "invalid block count");
                        count = -count;
                        if (walk_varint(w, &size) != 0)
                                return -1;
                        if (size < 0 || (uint64_t)size > walk_left(w))
                                return walk_fail(
                                    w,
                                    "block size %" PRId64
                                    " is negative or exceeds the %zu bytes "
                                    "left",
                                    size, walk_left(w));
                }
                if (item_min > 0 && (uint64_t)count > walk_left(w) / item_min)
                        return walk_fail(w,
                                         "block count %" PRId64
                                         " exceeds the %zu bytes left",
                                         count, walk_left(w));
                if (count > w->items_left)
                        return walk_fail(
                            w, "more than %" PRId64 " array or map items",
                            (int64_t)ZZ_CODEC_MAX_ITEMS);
                w->items_left -= count;
                block_start = w->p;
                for (i = 0; i < count; i++) {
                        if (node->type == AVRO_MAP && walk_bytes(w, 1) != 0)
                                return -1;
                        if (walk_node(w, item) != 0)
                                return -1;
                }
                if (size >= 0 && w->p - block_start != size)
                        return walk_fail(w,
                                         "block size %" PRId64
                                         " does not match its items",
                                         size);
        }
}

static int walk_node(struct walk *w, const struct zz_node *node)
{
        int64_t v;
        int64_t i;

        switch (node->type) {
        case AVRO_NULL:
                return 0;
        case AVRO_BOOLEAN:
                if (w->p >= w->end)
                        return walk_fail(w, "truncated boolean");
                if (*w->p > 1)
                        return walk_fail(w, "boolean byte %u is not 0 or 1",
                                         (unsigned)*w->p);
                w->p++;
                return 0;
        case AVRO_INT32:
                if (walk_varint(w, &v) != 0)
                        return -1;
                if (v < INT32_MIN || v > INT32_MAX)
                        return walk_fail(w, "int out of range");
                return 0;
        case AVRO_INT64:
                return walk_varint(w, &v);
        case AVRO_FLOAT:
        case AVRO_DOUBLE:
        case AVRO_FIXED:
                if (walk_left(w) < node->min_size)
                        return walk_fail(w, "truncated %s",
                                         node->type == AVRO_FIXED ? "fixed"
                                                                  : "number");
                w->p += node->min_size;
                return 0;
        case AVRO_STRING:
                return walk_bytes(w, 1);
        case AVRO_BYTES:
                return walk_bytes(w, 0);
        case AVRO_ENUM:
                if (walk_varint(w, &v) != 0)
                        return -1;
                if (v < 0 || v >= node->n)
                        return walk_fail(
                            w, "enum index %" PRId64 " outside 0..%" PRId64, v,
                            node->n - 1);
                return 0;
        case AVRO_UNION:
                if (walk_varint(w, &v) != 0)
                        return -1;
                if (v < 0 || v >= node->n)
                        return walk_fail(
                            w, "union branch %" PRId64 " outside 0..%" PRId64,
                            v, node->n - 1);
                return walk_node(w, node->kids[v]);
        case AVRO_ARRAY:
        case AVRO_MAP:
                return walk_blocks(w, node);
        case AVRO_RECORD:
                if (w->depth > ZZ_MAX_DEPTH)
                        return walk_fail(w, "datum nested too deep");
                for (i = 0; i < node->n; i++) {
                        w->path[w->depth++] = node->names[i];
                        if (walk_node(w, node->kids[i]) != 0)
                                return -1;
                        w->depth--;
                }
                return 0;
        default:
                return walk_fail(w, "unsupported type");
        }
}

/* 0 when data[0..len) is exactly one datum of node; else -1 with *trailing
 * set when a datum was complete but bytes were left. */
static int validate_datum(const struct zz_node *node, const void *data,
                          size_t len, int *trailing, char *errstr,
                          size_t errstr_size)
{
        struct walk w;

        memset(&w, 0, sizeof(w));
        w.start = w.p = data;
        w.end = w.start + len;
        w.items_left = ZZ_CODEC_MAX_ITEMS;
        w.errstr = errstr;
        w.errstr_size = errstr_size;
        *trailing = 0;
        if (walk_node(&w, node) != 0)
                return -1;
        if (w.p != w.end) {
                *trailing = 1;
                zz_errstr_set(errstr, errstr_size,
                              "%zu bytes left after a complete datum of %zu",
                              walk_left(&w), (size_t)(w.p - w.start));
                return -1;
        }
        return 0;
}

/* ---------------------------------------------------------------------
 * 3. Resolution of older writer schemas into the current reader schema
 */

enum plan_kind {
        PLAN_COPY,    /* same primitive type, or same fixed */
        PLAN_PROMOTE, /* int->long/float/double, long->float/double, ... */
        PLAN_RECORD,
        PLAN_ENUM,
        PLAN_ARRAY,
        PLAN_MAP,
        PLAN_WRITER_UNION
};

struct zz_plan {
        enum plan_kind kind;
        int reader_branch;     /* >= 0: first select this reader branch */
        avro_type_t wtype;     /* writer type (after links) */
        avro_type_t rtype;     /* reader type, after branch selection */
        avro_schema_t rschema; /* reader schema, after branch selection */
        size_t n;              /* reader fields; writer symbols; branches */
        int *map;              /* record: writer field per reader field, -1
                                * for a default; enum: reader symbol per
                                * writer symbol, -1 for none */
        json_t **defaults;     /* record: default of each field not written */
        struct zz_plan **kids; /* record: per reader field; array/map: [0];
                                * writer union: per branch, NULL if that
                                * branch cannot be read */
};

struct plan_ctx {
        zz_arena_t *arena;
        struct named_def *defs; /* named types of the reader schema */
        size_t ndefs;
        char *errstr;
        size_t errstr_size;
};

/* The JSON that defined a named reader type: by full name, else by a unique
 * short name (avro-c does not always keep the inherited namespace). */
static json_t *reader_def(const struct plan_ctx *ctx, avro_schema_t schema)
{
        const char *name = avro_schema_name(schema);
        const char *ns = avro_schema_namespace(schema);
        json_t *found = NULL;
        size_t i, matches = 0;

        for (i = 0; i < ctx->ndefs; i++) {
                const char *full = ctx->defs[i].fullname;
                const char *dot = strrchr(full, '.');
                const char *shortname = dot ? dot + 1 : full;
                size_t nsl = dot ? (size_t)(dot - full) : 0;
                if (strcmp(shortname, name) != 0)
                        continue;
                if (ns != NULL && strlen(ns) == nsl &&
                    strncmp(full, ns, nsl) == 0)
                        return ctx->defs[i].json;
                found = ctx->defs[i].json;
                matches++;
        }
        return matches == 1 ? found : NULL;
}

static json_t *field_default(const struct plan_ctx *ctx, avro_schema_t record,
                             const char *field)
{
        json_t *def = reader_def(ctx, record);
        json_t *fields = def ? json_object_get(def, "fields") : NULL;
        size_t i;

        for (i = 0; i < json_array_size(fields); i++) {
                json_t *f = json_array_get(fields, i);
                const char *name =
                    json_string_value(json_object_get(f, "name"));
                if (name != NULL && strcmp(name, field) == 0)
                        return json_object_get(f, "default");
        }
        return NULL;
}

/* Bytes and fixed defaults are JSON strings of code points 0-255. */
static int default_bytes(json_t *def, unsigned char **out, size_t *len)
{
        const unsigned char *s = (const unsigned char *)json_string_value(def);
        size_t n = json_string_length(def), i = 0, o = 0;
        unsigned char *buf;

        if (s == NULL)
                return -1;
        buf = malloc(n + 1);
        if (buf == NULL)
                return -1;
        while (i < n) {
                if (s[i] < 0x80) {
                        buf[o++] = s[i++];
                } else if ((s[i] == 0xc2 || s[i] == 0xc3) && i + 1 < n) {
                        buf[o++] = (unsigned char)(((s[i] & 0x03) << 6) |
                                                   (s[i + 1] & 0x3f));
                        i += 2;
                } else {
                        free(buf);
                        return -1;
                }
        }
        *out = buf;
        *len = o;
        return 0;
}

static int apply_default(const struct plan_ctx *ctx, avro_value_t *dest,
                         avro_schema_t schema, json_t *def, int depth);

static int apply_default_record(const struct plan_ctx *ctx, avro_value_t *dest,
                                avro_schema_t schema, json_t *def, int depth)
{
        size_t i, n = avro_schema_record_size(schema);

        if (!json_is_object(def))
                return -1;
        for (i = 0; i < n; i++) {
                const char *name =
                    avro_schema_record_field_name(schema, (int)i);
                json_t *v = json_object_get(def, name);
                avro_value_t child;
                if (v == NULL)
                        v = field_default(ctx, schema, name);
                if (v == NULL ||
                    avro_value_get_by_index(dest, i, &child, NULL) != 0 ||
                    apply_default(
                        ctx, &child,
                        avro_schema_record_field_get_by_index(schema, (int)i),
                        v, depth + 1) != 0)
                        return -1;
        }
        return 0;
}

static int apply_default(const struct plan_ctx *ctx, avro_value_t *dest,
                         avro_schema_t schema, json_t *def, int depth)
{
        avro_value_t child;
        unsigned char *bytes;
        size_t len, i;
        const char *key;
        json_t *v;
        int rc, idx;

        if (depth > ZZ_MAX_DEPTH)
                return -1;
        schema = skip_links(schema);
        switch (avro_typeof(schema)) {
        case AVRO_UNION:
                /* A union's default is a value of its first branch. */
                if (avro_value_set_branch(dest, 0, &child) != 0)
                        return -1;
                return apply_default(ctx, &child,
                                     avro_schema_union_branch(schema, 0), def,
                                     depth + 1);
        case AVRO_NULL:
                return json_is_null(def) ? avro_value_set_null(dest) : -1;
        case AVRO_BOOLEAN:
                return json_is_boolean(def)
                           ? avro_value_set_boolean(dest, json_is_true(def))
                           : -1;
        case AVRO_INT32:
                if (!json_is_integer(def) ||
                    json_integer_value(def) < INT32_MIN ||
                    json_integer_value(def) > INT32_MAX)
                        return -1;
                return avro_value_set_int(dest,
                                          (int32_t)json_integer_value(def));
        case AVRO_INT64:
                return json_is_integer(def)
                           ? avro_value_set_long(dest, json_integer_value(def))
                           : -1;
        case AVRO_FLOAT:
                return json_is_number(def)
                           ? avro_value_set_float(dest,
                                                  (float)json_number_value(def))
                           : -1;
        case AVRO_DOUBLE:
                return json_is_number(def)
                           ? avro_value_set_double(dest, json_number_value(def))
                           : -1;
        case AVRO_STRING:
                if (!json_is_string(def) ||
                    !utf8_valid((const unsigned char *)json_string_value(def),
                                json_string_length(def)))
                        return -1;
                return avro_value_set_string_len(dest, json_string_value(def),
                                                 json_string_length(def) + 1);
        case AVRO_BYTES:
        case AVRO_FIXED:
                if (default_bytes(def, &bytes, &len) != 0)
                        return -1;
                if (avro_typeof(schema) == AVRO_FIXED) {
                        rc = (int64_t)len == avro_schema_fixed_size(schema)
                                 ? avro_value_set_fixed(dest, bytes, len)
                                 : -1;
                } else {
                        rc = avro_value_set_bytes(dest, bytes, len);
                }
                free(bytes);
                return rc;
        case AVRO_ENUM:
                if (!json_is_string(def))
                        return -1;
                idx = avro_schema_enum_get_by_name(schema,
                                                   json_string_value(def));
                return idx < 0 ? -1 : avro_value_set_enum(dest, idx);
        case AVRO_ARRAY:
                if (!json_is_array(def))
                        return -1;
                for (i = 0; i < json_array_size(def); i++) {
                        if (avro_value_append(dest, &child, NULL) != 0 ||
                            apply_default(
                                ctx, &child, avro_schema_array_items(schema),
                                json_array_get(def, i), depth + 1) != 0)
                                return -1;
                }
                return 0;
        case AVRO_MAP:
                if (!json_is_object(def))
                        return -1;
                json_object_foreach(def, key, v)
                {
                        if (avro_value_add(dest, key, &child, NULL, NULL) !=
                                0 ||
                            apply_default(ctx, &child,
                                          avro_schema_map_values(schema), v,
                                          depth + 1) != 0)
                                return -1;
                }
                return 0;
        case AVRO_RECORD:
                return apply_default_record(ctx, dest, schema, def, depth);
        default:
                return -1;
        }
}

/* Applies def to a scratch value of schema, so that a bad default fails
 * when the codec loads rather than on a message. */
static int check_default(const struct plan_ctx *ctx, avro_schema_t schema,
                         json_t *def)
{
        avro_value_iface_t *iface;
        avro_value_t value;
        int rc = -1;

        /* avro-c has no value class for a bare link (a named type used by
         * name): build the class of its target. */
        schema = skip_links(schema);
        iface = avro_generic_class_from_schema(schema);
        if (iface == NULL)
                return -1;
        if (avro_generic_value_new(iface, &value) == 0) {
                rc = apply_default(ctx, &value, schema, def, 0);
                avro_value_decref(&value);
        }
        avro_value_iface_decref(iface);
        return rc;
}

static int promotable(avro_type_t w, avro_type_t r)
{
        switch (w) {
        case AVRO_INT32:
                return r == AVRO_INT64 || r == AVRO_FLOAT || r == AVRO_DOUBLE;
        case AVRO_INT64:
                return r == AVRO_FLOAT || r == AVRO_DOUBLE;
        case AVRO_FLOAT:
                return r == AVRO_DOUBLE;
        case AVRO_STRING:
                return r == AVRO_BYTES;
        case AVRO_BYTES:
                return r == AVRO_STRING;
        default:
                return 0;
        }
}

static int same_name(avro_schema_t w, avro_schema_t r)
{
        return strcmp(avro_schema_name(w), avro_schema_name(r)) == 0;
}

/* Whether w and r could resolve at the top (names and types), without
 * looking inside: what picks a reader union branch. */
static int plan_matches(avro_schema_t w, avro_schema_t r, int exact)
{
        avro_type_t wt = avro_typeof(w), rt = avro_typeof(r);

        if (wt != rt)
                return !exact && promotable(wt, rt);
        if (wt == AVRO_RECORD || wt == AVRO_ENUM)
                return same_name(w, r);
        if (wt == AVRO_FIXED)
                return same_name(w, r) &&
                       avro_schema_fixed_size(w) == avro_schema_fixed_size(r);
        return 1;
}

static struct zz_plan *plan_build(struct plan_ctx *ctx, avro_schema_t w,
                                  avro_schema_t r, int depth);

static struct zz_plan *plan_new(struct plan_ctx *ctx, enum plan_kind kind,
                                avro_schema_t w, avro_schema_t r, size_t n)
{
        struct zz_plan *plan = zz_arena_calloc(ctx->arena, 1, sizeof(*plan));

        if (plan == NULL)
                return NULL;
        plan->kind = kind;
        plan->reader_branch = -1;
        plan->wtype = avro_typeof(w);
        plan->rtype = avro_typeof(r);
        plan->rschema = r;
        plan->n = n;
        if (n > 0) {
                plan->kids =
                    zz_arena_calloc(ctx->arena, n, sizeof(struct zz_plan *));
                plan->map = zz_arena_calloc(ctx->arena, n, sizeof(*plan->map));
                plan->defaults =
                    zz_arena_calloc(ctx->arena, n, sizeof(json_t *));
                if (plan->kids == NULL || plan->map == NULL ||
                    plan->defaults == NULL)
                        return NULL;
        }
        return plan;
}

static struct zz_plan *plan_record(struct plan_ctx *ctx, avro_schema_t w,
                                   avro_schema_t r, int depth)
{
        size_t i, n = avro_schema_record_size(r);
        struct zz_plan *plan = plan_new(ctx, PLAN_RECORD, w, r, n);

        if (plan == NULL)
                goto oom;
        for (i = 0; i < n; i++) {
                const char *name = avro_schema_record_field_name(r, (int)i);
                avro_schema_t rf =
                    avro_schema_record_field_get_by_index(r, (int)i);
                int wi = avro_schema_record_field_get_index(w, name);
                plan->map[i] = wi;
                if (wi >= 0) {
                        plan->kids[i] = plan_build(
                            ctx, avro_schema_record_field_get_by_index(w, wi),
                            rf, depth + 1);
                        if (plan->kids[i] == NULL) {
                                char inner[200];
                                snprintf(inner, sizeof(inner), "%s",
                                         ctx->errstr ? ctx->errstr : "");
                                zz_errstr_set(ctx->errstr, ctx->errstr_size,
                                              "field %s.%s: %s",
                                              avro_schema_name(r), name, inner);
                                return NULL;
                        }
                        continue;
                }
                plan->defaults[i] = field_default(ctx, r, name);
                if (plan->defaults[i] == NULL) {
                        zz_errstr_set(ctx->errstr, ctx->errstr_size,
                                      "field %s.%s is not written by the older "
                                      "schema and has no default",
                                      avro_schema_name(r), name);
                        return NULL;
                }
                if (check_default(ctx, rf, plan->defaults[i]) != 0) {
                        zz_errstr_set(
                            ctx->errstr, ctx->errstr_size,
                            "default of field %s.%s does not match its "
                            "type",
                            avro_schema_name(r), name);
                        return NULL;
                }
        }
        return plan;
oom:
        zz_errstr_set(ctx->errstr, ctx->errstr_size, "out of memory");
        return NULL;
}

static struct zz_plan *plan_enum(struct plan_ctx *ctx, avro_schema_t w,
                                 avro_schema_t r)
{
        size_t i, n = (size_t)avro_schema_enum_number_of_symbols(w);
        struct zz_plan *plan = plan_new(ctx, PLAN_ENUM, w, r, n);
        json_t *def = reader_def(ctx, r);
        const char *dflt =
            def ? json_string_value(json_object_get(def, "default")) : NULL;
        int dflt_index = dflt ? avro_schema_enum_get_by_name(r, dflt) : -1;

        if (plan == NULL) {
                zz_errstr_set(ctx->errstr, ctx->errstr_size, "out of memory");
                return NULL;
        }
        if (dflt != NULL && dflt_index < 0) {
                zz_errstr_set(
                    ctx->errstr, ctx->errstr_size,
                    "default \"%s\" of enum %s is not one of its symbols", dflt,
                    avro_schema_name(r));
                return NULL;
        }
        for (i = 0; i < n; i++) {
                const char *sym = avro_schema_enum_get(w, (int)i);
                int ri = avro_schema_enum_get_by_name(r, sym);
                plan->map[i] = ri >= 0 ? ri : dflt_index;
        }
        return plan;
}

static struct zz_plan *plan_direct(struct plan_ctx *ctx, avro_schema_t w,
                                   avro_schema_t r, int depth)
{
        avro_type_t wt = avro_typeof(w), rt = avro_typeof(r);
        struct zz_plan *plan;

        if (!plan_matches(w, r, 0)) {
                zz_errstr_set(ctx->errstr, ctx->errstr_size,
                              "writer %s %s cannot be read as %s %s",
                              avro_schema_type_name(w),
                              is_avro_named_type(w) ? avro_schema_name(w) : "",
                              avro_schema_type_name(r),
                              is_avro_named_type(r) ? avro_schema_name(r) : "");
                return NULL;
        }
        if (wt != rt)
                plan = plan_new(ctx, PLAN_PROMOTE, w, r, 0);
        else if (wt == AVRO_RECORD)
                return plan_record(ctx, w, r, depth);
        else if (wt == AVRO_ENUM)
                return plan_enum(ctx, w, r);
        else if (wt == AVRO_ARRAY || wt == AVRO_MAP) {
                plan = plan_new(ctx, wt == AVRO_ARRAY ? PLAN_ARRAY : PLAN_MAP,
                                w, r, 1);
                if (plan == NULL)
                        goto oom;
                plan->kids[0] =
                    plan_build(ctx,
                               wt == AVRO_ARRAY ? avro_schema_array_items(w)
                                                : avro_schema_map_values(w),
                               wt == AVRO_ARRAY ? avro_schema_array_items(r)
                                                : avro_schema_map_values(r),
                               depth + 1);
                return plan->kids[0] ? plan : NULL;
        } else
                plan = plan_new(ctx, PLAN_COPY, w, r, 0);
        if (plan == NULL)
                goto oom;
        return plan;
oom:
        zz_errstr_set(ctx->errstr, ctx->errstr_size, "out of memory");
        return NULL;
}

static struct zz_plan *plan_build(struct plan_ctx *ctx, avro_schema_t w,
                                  avro_schema_t r, int depth)
{
        struct zz_plan *plan;
        size_t i, n;
        int pass;

        if (depth > ZZ_MAX_DEPTH) {
                zz_errstr_set(ctx->errstr, ctx->errstr_size,
                              "schema nested deeper than %d", ZZ_MAX_DEPTH);
                return NULL;
        }
        w = skip_links(w);
        r = skip_links(r);
        if (is_avro_union(w)) {
                size_t ok = 0;
                n = avro_schema_union_size(w);
                plan = plan_new(ctx, PLAN_WRITER_UNION, w, r, n);
                if (plan == NULL) {
                        zz_errstr_set(ctx->errstr, ctx->errstr_size,
                                      "out of memory");
                        return NULL;
                }
                for (i = 0; i < n; i++) {
                        /* A branch the reader cannot take fails only the
                         * messages that use it. */
                        plan->kids[i] =
                            plan_build(ctx, avro_schema_union_branch(w, (int)i),
                                       r, depth + 1);
                        ok += plan->kids[i] != NULL;
                }
                if (ok == 0)
                        return NULL;
                return plan;
        }
        if (!is_avro_union(r))
                return plan_direct(ctx, w, r, depth);
        n = avro_schema_union_size(r);
        for (pass = 1; pass >= 0; pass--) {
                for (i = 0; i < n; i++) {
                        avro_schema_t b =
                            skip_links(avro_schema_union_branch(r, (int)i));
                        if (!plan_matches(w, b, pass))
                                continue;
                        plan = plan_direct(ctx, w, b, depth + 1);
                        if (plan != NULL)
                                plan->reader_branch = (int)i;
                        return plan;
                }
        }
        zz_errstr_set(ctx->errstr, ctx->errstr_size,
                      "no branch of the reader union takes writer %s",
                      avro_schema_type_name(w));
        return NULL;
}

static int resolve_fail(char *errstr, size_t errstr_size, const char *what)
{
        zz_errstr_set(errstr, errstr_size, "could not resolve %s: %s", what,
                      avro_strerror());
        return -1;
}

static int resolve_copy(const struct zz_plan *plan, avro_value_t *w,
                        avro_value_t *r)
{
        const char *s;
        const void *buf;
        size_t size;
        int32_t i32;
        int64_t i64;
        float f;
        double d;
        int b;

        switch (plan->wtype) {
        case AVRO_NULL:
                return avro_value_set_null(r);
        case AVRO_BOOLEAN:
                return avro_value_get_boolean(w, &b) ||
                       avro_value_set_boolean(r, b);
        case AVRO_INT32:
                if (avro_value_get_int(w, &i32) != 0)
                        return -1;
                switch (plan->rtype) {
                case AVRO_INT64:
                        return avro_value_set_long(r, i32);
                case AVRO_FLOAT:
                        return avro_value_set_float(r, (float)i32);
                case AVRO_DOUBLE:
                        return avro_value_set_double(r, i32);
                default:
                        return avro_value_set_int(r, i32);
                }
        case AVRO_INT64:
                if (avro_value_get_long(w, &i64) != 0)
                        return -1;
                switch (plan->rtype) {
                case AVRO_FLOAT:
                        return avro_value_set_float(r, (float)i64);
                case AVRO_DOUBLE:
                        return avro_value_set_double(r, (double)i64);
                default:
                        return avro_value_set_long(r, i64);
                }
        case AVRO_FLOAT:
                if (avro_value_get_float(w, &f) != 0)
                        return -1;
                return plan->rtype == AVRO_DOUBLE ? avro_value_set_double(r, f)
                                                  : avro_value_set_float(r, f);
        case AVRO_DOUBLE:
                return avro_value_get_double(w, &d) ||
                       avro_value_set_double(r, d);
        case AVRO_STRING:
                if (avro_value_get_string(w, &s, &size) != 0)
                        return -1;
                if (plan->rtype == AVRO_BYTES)
                        return avro_value_set_bytes(r, (void *)s,
                                                    size ? size - 1 : 0);
                return avro_value_set_string_len(r, s, size);
        case AVRO_BYTES:
                if (avro_value_get_bytes(w, &buf, &size) != 0)
                        return -1;
                if (plan->rtype == AVRO_STRING) {
                        /* Only UTF-8 without NUL becomes a string. */
                        char *copy;
                        int rc;
                        if (!utf8_valid(buf, size))
                                return -1;
                        copy = malloc(size + 1);
                        if (copy == NULL)
                                return -1;
                        memcpy(copy, buf, size);
                        copy[size] = '\0';
                        rc = avro_value_set_string_len(r, copy, size + 1);
                        free(copy);
                        return rc;
                }
                return avro_value_set_bytes(r, (void *)buf, size);
        case AVRO_FIXED:
                if (avro_value_get_fixed(w, &buf, &size) != 0)
                        return -1;
                return avro_value_set_fixed(r, (void *)buf, size);
        default:
                return -1;
        }
}

static int resolve(const struct plan_ctx *ctx, const struct zz_plan *plan,
                   avro_value_t *w, avro_value_t *r, char *errstr,
                   size_t errstr_size)
{
        avro_value_t rb, wc, rc;
        size_t i, size;
        const char *key;
        int disc;

        if (plan->reader_branch >= 0) {
                if (avro_value_set_branch(r, plan->reader_branch, &rb) != 0)
                        return resolve_fail(errstr, errstr_size, "union");
                r = &rb;
        }
        switch (plan->kind) {
        case PLAN_COPY:
        case PLAN_PROMOTE:
                if (resolve_copy(plan, w, r) != 0)
                        return resolve_fail(
                            errstr, errstr_size,
                            avro_schema_type_name(plan->rschema));
                return 0;
        case PLAN_RECORD:
                for (i = 0; i < plan->n; i++) {
                        if (avro_value_get_by_index(r, i, &rc, NULL) != 0)
                                return resolve_fail(errstr, errstr_size,
                                                    "record");
                        if (plan->map[i] < 0) {
                                if (apply_default(
                                        ctx, &rc,
                                        avro_schema_record_field_get_by_index(
                                            plan->rschema, (int)i),
                                        plan->defaults[i], 0) != 0)
                                        return resolve_fail(errstr, errstr_size,
                                                            "default");
                                continue;
                        }
                        if (avro_value_get_by_index(w, (size_t)plan->map[i],
                                                    &wc, NULL) != 0)
                                return resolve_fail(errstr, errstr_size,
                                                    "record");
                        if (resolve(ctx, plan->kids[i], &wc, &rc, errstr,
                                    errstr_size) != 0)
                                return -1;
                }
                return 0;
        case PLAN_ENUM:
                if (avro_value_get_enum(w, &disc) != 0 || disc < 0 ||
                    (size_t)disc >= plan->n)
                        return resolve_fail(errstr, errstr_size, "enum");
                if (plan->map[disc] < 0) {
                        zz_errstr_set(
                            errstr, errstr_size,
                            "enum %s has no symbol for writer symbol %d "
                            "and no default",
                            avro_schema_name(plan->rschema), disc);
                        return -1;
                }
                if (avro_value_set_enum(r, plan->map[disc]) != 0)
                        return resolve_fail(errstr, errstr_size, "enum");
                return 0;
        case PLAN_ARRAY:
        case PLAN_MAP:
                if (avro_value_get_size(w, &size) != 0)
                        return resolve_fail(errstr, errstr_size, "array");
                for (i = 0; i < size; i++) {
                        key = NULL;
                        if (avro_value_get_by_index(w, i, &wc, &key) != 0)
                                return resolve_fail(errstr, errstr_size,
                                                    "array");
                        if (plan->kind == PLAN_ARRAY
                                ? avro_value_append(r, &rc, NULL) != 0
                                : avro_value_add(r, key, &rc, NULL, NULL) != 0)
                                return resolve_fail(errstr, errstr_size,
                                                    "array");
                        if (resolve(ctx, plan->kids[0], &wc, &rc, errstr,
                                    errstr_size) != 0)
                                return -1;
                }
                return 0;
        case PLAN_WRITER_UNION:
                if (avro_value_get_discriminant(w, &disc) != 0 || disc < 0 ||
                    (size_t)disc >= plan->n ||
                    avro_value_get_current_branch(w, &wc) != 0)
                        return resolve_fail(errstr, errstr_size, "union");
                if (plan->kids[disc] == NULL) {
                        zz_errstr_set(errstr, errstr_size,
                                      "union branch %d of the writer has no "
                                      "counterpart in the reader",
                                      disc);
                        return -1;
                }
                return resolve(ctx, plan->kids[disc], &wc, r, errstr,
                               errstr_size);
        }
        return -1;
}

/* ---------------------------------------------------------------------
 * 4. The codec
 */

struct zz_entry {
        zz_stream_t stream;
        int version;
        int current;
        const char *file;
        const char *json;
        size_t json_len;
        char *canonical;
        uint64_t fingerprint;
        json_t *root;
        struct pcf pcf; /* keeps the named types (defs) of root */
        avro_schema_t schema;
        avro_value_iface_t *iface;
        avro_value_t scratch; /* decode target of this writer schema */
        struct zz_node *node;
        struct zz_plan *plan; /* older versions: into the current */
        char *own_file;       /* zz_codec_new_from: copies of the inputs */
        char *own_json;
};

struct zz_codec_s {
        struct zz_entry *entries;
        size_t nentries;
        struct zz_entry *current[ZZ_STREAM__COUNT];
        struct plan_ctx ctx[ZZ_STREAM__COUNT]; /* of each current schema */
        avro_reader_t reader;
        avro_writer_t writer;
        zz_arena_t *arena; /* nodes and plans */
        /* Schema registry framing: ids bound to entries (an entry may have
         * several: a registry may give one canonical form several ids),
         * the id each stream's output is framed with (0: single-object),
         * and the callback that finds an id not bound yet. */
        struct zz_reg_id *ids;
        size_t nids;
        size_t ids_cap;
        int32_t out_id[ZZ_STREAM__COUNT];
        zz_codec_resolve_fn resolve;
        void *resolve_opaque;
        void (*resolve_free)(void *opaque);
        char dummy[1];
};

struct zz_reg_id {
        int32_t id;
        size_t entry;
};

/* "identity.avsc" -> identity, current; "identity.v1.avsc" -> version 1. */
static int parse_file_name(const char *file, zz_stream_t *stream, int *version)
{
        const char *dot = strchr(file, '.');
        const char *rest;
        char *end;
        long v;

        if (dot == NULL ||
            zz_stream_from_name(file, (size_t)(dot - file), stream) != 0)
                return -1;
        rest = dot + 1;
        if (strcmp(rest, "avsc") == 0) {
                *version = 0; /* numbered after all files are seen */
                return 0;
        }
        if (rest[0] != 'v' || rest[1] < '1' || rest[1] > '9')
                return -1;
        errno = 0;
        v = strtol(rest + 1, &end, 10);
        if (errno != 0 || v < 1 || v > 1000 || strcmp(end, ".avsc") != 0)
                return -1;
        *version = (int)v;
        return 0;
}

static int entry_load(zz_codec_t *codec, struct zz_entry *e, const char *file,
                      const char *json, size_t json_len, char *errstr,
                      size_t errstr_size)
{
        char err[256];

        e->file = file;
        e->json = json;
        e->json_len = json_len;
        if (parse_file_name(e->file, &e->stream, &e->version) != 0) {
                zz_errstr_set(errstr, errstr_size,
                              "schema file %s: name is not <stream>.avsc or "
                              "<stream>.v<N>.avsc",
                              e->file);
                return -1;
        }
        e->current = e->version == 0;
        e->root = json_parse(e->json, e->json_len, err, sizeof(err));
        if (e->root == NULL) {
                zz_errstr_set(errstr, errstr_size, "schema file %s: %s",
                              e->file, err);
                return -1;
        }
        e->pcf.errstr = err;
        e->pcf.errstr_size = sizeof(err);
        if (pcf_run(&e->pcf, e->root) != 0) {
                zz_errstr_set(errstr, errstr_size, "schema file %s: %s",
                              e->file, err);
                return -1;
        }
        e->pcf.errstr = NULL;
        e->pcf.errstr_size = 0;
        e->canonical = e->pcf.buf;
        e->fingerprint = zz_codec_rabin64(e->pcf.buf, e->pcf.len);
        if (avro_schema_from_json_length(e->json, e->json_len, &e->schema) !=
            0) {
                e->schema = NULL;
                zz_errstr_set(errstr, errstr_size, "schema file %s: avro-c: %s",
                              e->file, avro_strerror());
                return -1;
        }
        if (!is_avro_record(e->schema)) {
                zz_errstr_set(errstr, errstr_size,
                              "schema file %s: top level is not a record",
                              e->file);
                return -1;
        }
        e->node = node_build(codec->arena, e->schema, 0, err, sizeof(err));
        if (e->node == NULL) {
                zz_errstr_set(errstr, errstr_size, "schema file %s: %s",
                              e->file, err);
                return -1;
        }
        e->iface = avro_generic_class_from_schema(e->schema);
        if (e->iface == NULL ||
            avro_generic_value_new(e->iface, &e->scratch) != 0) {
                e->scratch.iface = NULL;
                zz_errstr_set(errstr, errstr_size, "schema file %s: avro-c: %s",
                              e->file, avro_strerror());
                return -1;
        }
        return 0;
}

static int codec_link(zz_codec_t *codec, char *errstr, size_t errstr_size)
{
        size_t i, j;
        int s;
        char err[256];

        for (i = 0; i < codec->nentries; i++) {
                struct zz_entry *e = &codec->entries[i];
                if (!e->current)
                        continue;
                if (codec->current[e->stream] != NULL) {
                        zz_errstr_set(errstr, errstr_size,
                                      "two current schemas for stream %s",
                                      zz_stream_name(e->stream));
                        return -1;
                }
                codec->current[e->stream] = e;
        }
        for (s = 0; s < ZZ_STREAM__COUNT; s++) {
                struct zz_entry *cur = codec->current[s];
                int top = 0;
                if (cur == NULL) {
                        zz_errstr_set(errstr, errstr_size,
                                      "no schema file %s.avsc for stream %s",
                                      zz_stream_name((zz_stream_t)s),
                                      zz_stream_name((zz_stream_t)s));
                        return -1;
                }
                for (i = 0; i < codec->nentries; i++) {
                        if (codec->entries[i].stream == (zz_stream_t)s &&
                            codec->entries[i].version > top)
                                top = codec->entries[i].version;
                }
                cur->version = top + 1;
                codec->ctx[s].arena = codec->arena;
                codec->ctx[s].defs = cur->pcf.defs;
                codec->ctx[s].ndefs = cur->pcf.ndefs;
        }
        for (i = 0; i < codec->nentries; i++) {
                struct zz_entry *e = &codec->entries[i];
                struct zz_entry *cur = codec->current[e->stream];
                struct plan_ctx ctx = codec->ctx[e->stream];
                for (j = 0; j < i; j++) {
                        if (codec->entries[j].fingerprint == e->fingerprint) {
                                zz_errstr_set(errstr, errstr_size,
                                              "schema files %s and %s have the "
                                              "same canonical form",
                                              codec->entries[j].file, e->file);
                                return -1;
                        }
                        if (codec->entries[j].stream == e->stream &&
                            codec->entries[j].version == e->version) {
                                zz_errstr_set(errstr, errstr_size,
                                              "schema files %s and %s have the "
                                              "same version",
                                              codec->entries[j].file, e->file);
                                return -1;
                        }
                }
                if (e->current)
                        continue;
                if (strcmp(avro_schema_name(e->schema),
                           avro_schema_name(cur->schema)) != 0) {
                        zz_errstr_set(
                            errstr, errstr_size,
                            "schema file %s: record %s differs from %s in "
                            "%s",
                            e->file, avro_schema_name(e->schema),
                            avro_schema_name(cur->schema), cur->file);
                        return -1;
                }
                err[0] = '\0';
                ctx.errstr = err;
                ctx.errstr_size = sizeof(err);
                e->plan = plan_build(&ctx, e->schema, cur->schema, 0);
                if (e->plan == NULL) {
                        zz_errstr_set(errstr, errstr_size,
                                      "schema file %s cannot be read as %s: %s",
                                      e->file, cur->file, err);
                        return -1;
                }
        }
        return 0;
}

static zz_codec_t *codec_alloc(size_t n, char *errstr, size_t errstr_size)
{
        zz_codec_t *codec = calloc(1, sizeof(*codec));

        if (codec == NULL) {
                zz_errstr_set(errstr, errstr_size, "out of memory");
                return NULL;
        }
        codec->arena = zz_arena_new(0);
        codec->entries = calloc(n ? n : 1, sizeof(*codec->entries));
        codec->reader = avro_reader_memory(codec->dummy, 0);
        codec->writer = avro_writer_memory(codec->dummy, 0);
        if (codec->arena == NULL || codec->entries == NULL ||
            codec->reader == NULL || codec->writer == NULL) {
                zz_errstr_set(errstr, errstr_size, "out of memory");
                zz_codec_destroy(codec);
                return NULL;
        }
        return codec;
}

zz_codec_t *zz_codec_new(char *errstr, size_t errstr_size)
{
        zz_codec_t *codec =
            codec_alloc(zz_codec_embedded_count, errstr, errstr_size);
        size_t i;

        if (codec == NULL)
                return NULL;
        for (i = 0; i < zz_codec_embedded_count; i++) {
                const struct zz_codec_embedded *emb = &zz_codec_embedded[i];
                codec->nentries++;
                if (entry_load(codec, &codec->entries[i], emb->file,
                               (const char *)emb->text, emb->len, errstr,
                               errstr_size) != 0)
                        goto fail;
        }
        if (codec_link(codec, errstr, errstr_size) != 0)
                goto fail;
        return codec;
fail:
        zz_codec_destroy(codec);
        return NULL;
}

zz_codec_t *zz_codec_new_from(const char *const *files,
                              const char *const *texts, size_t n, char *errstr,
                              size_t errstr_size)
{
        zz_codec_t *codec = codec_alloc(n, errstr, errstr_size);
        size_t i;

        if (codec == NULL)
                return NULL;
        for (i = 0; i < n; i++) {
                struct zz_entry *e = &codec->entries[i];
                codec->nentries++;
                e->own_file = strdup(files[i]);
                e->own_json = strdup(texts[i]);
                if (e->own_file == NULL || e->own_json == NULL) {
                        zz_errstr_set(errstr, errstr_size, "out of memory");
                        goto fail;
                }
                if (entry_load(codec, e, e->own_file, e->own_json,
                               strlen(e->own_json), errstr, errstr_size) != 0)
                        goto fail;
        }
        if (codec_link(codec, errstr, errstr_size) != 0)
                goto fail;
        return codec;
fail:
        zz_codec_destroy(codec);
        return NULL;
}

void zz_codec_destroy(zz_codec_t *codec)
{
        size_t i;

        if (codec == NULL)
                return;
        for (i = 0; i < codec->nentries; i++) {
                struct zz_entry *e = &codec->entries[i];
                if (e->scratch.iface != NULL)
                        avro_value_decref(&e->scratch);
                if (e->iface != NULL)
                        avro_value_iface_decref(e->iface);
                if (e->schema != NULL)
                        avro_schema_decref(e->schema);
                pcf_free(&e->pcf);
                if (e->root != NULL)
                        json_decref(e->root);
                free(e->own_file);
                free(e->own_json);
        }
        free(codec->entries);
        free(codec->ids);
        if (codec->resolve_free != NULL)
                codec->resolve_free(codec->resolve_opaque);
        if (codec->reader != NULL)
                avro_reader_free(codec->reader);
        if (codec->writer != NULL)
                avro_writer_free(codec->writer);
        zz_arena_destroy(codec->arena);
        free(codec);
}

static int stream_ok(zz_stream_t stream)
{
        return (int)stream >= 0 && stream < ZZ_STREAM__COUNT;
}

avro_schema_t zz_codec_schema(zz_codec_t *codec, zz_stream_t stream)
{
        if (codec == NULL || !stream_ok(stream))
                return NULL;
        return codec->current[stream]->schema;
}

avro_schema_t zz_codec_schema_version(zz_codec_t *codec, zz_stream_t stream,
                                      int version)
{
        size_t i;

        if (codec == NULL || !stream_ok(stream))
                return NULL;
        for (i = 0; i < codec->nentries; i++) {
                if (codec->entries[i].stream == stream &&
                    codec->entries[i].version == version)
                        return codec->entries[i].schema;
        }
        return NULL;
}

uint64_t zz_codec_stream_fingerprint(const zz_codec_t *codec,
                                     zz_stream_t stream)
{
        if (codec == NULL || !stream_ok(stream))
                return 0;
        return codec->current[stream]->fingerprint;
}

size_t zz_codec_schema_count(const zz_codec_t *codec)
{
        return codec ? codec->nentries : 0;
}

int zz_codec_schema_info(const zz_codec_t *codec, size_t i,
                         zz_codec_schema_info_t *out)
{
        const struct zz_entry *e;

        if (codec == NULL || i >= codec->nentries)
                return -1;
        e = &codec->entries[i];
        out->stream = e->stream;
        out->version = e->version;
        out->current = e->current;
        out->fingerprint = e->fingerprint;
        out->file = e->file;
        out->json = e->json;
        out->canonical = e->canonical;
        out->schema = e->schema;
        return 0;
}

int zz_codec_value_new(zz_codec_t *codec, zz_stream_t stream, avro_value_t *out)
{
        if (codec == NULL || !stream_ok(stream))
                return -1;
        if (avro_generic_value_new(codec->current[stream]->iface, out) != 0) {
                out->iface = NULL;
                out->self = NULL;
                return -1;
        }
        return 0;
}

void zz_codec_buf_free(zz_codec_buf_t *buf)
{
        if (buf == NULL)
                return;
        free(buf->data);
        buf->data = NULL;
        buf->len = 0;
        buf->cap = 0;
}

static void put_le64(unsigned char *p, uint64_t v)
{
        int i;

        for (i = 0; i < 8; i++)
                p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
        uint64_t v = 0;
        int i;

        for (i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

static const struct zz_entry *
find_writer(const zz_codec_t *codec, zz_stream_t stream, avro_schema_t schema)
{
        size_t i;

        for (i = 0; i < codec->nentries; i++) {
                if (codec->entries[i].stream == stream &&
                    codec->entries[i].schema == schema)
                        return &codec->entries[i];
        }
        for (i = 0; i < codec->nentries; i++) {
                if (codec->entries[i].stream == stream &&
                    avro_schema_equal(codec->entries[i].schema, schema))
                        return &codec->entries[i];
        }
        return NULL;
}

int zz_codec_encode(zz_codec_t *codec, zz_stream_t stream, avro_value_t *value,
                    zz_codec_buf_t *out, char *errstr, size_t errstr_size)
{
        const struct zz_entry *e;
        avro_schema_t schema;
        size_t size, need, hsize;
        int trailing;
        char err[256];

        out->len = 0;
        if (codec == NULL || !stream_ok(stream) || value == NULL ||
            value->iface == NULL) {
                zz_errstr_set(errstr, errstr_size,
                              "could not encode: bad argument");
                return -1;
        }
        schema = avro_value_get_schema(value);
        e = schema ? find_writer(codec, stream, schema) : NULL;
        if (e == NULL) {
                zz_errstr_set(
                    errstr, errstr_size,
                    "could not encode %s message: the value is not of a "
                    "%s schema",
                    zz_stream_name(stream), zz_stream_name(stream));
                return -1;
        }
        if (avro_value_sizeof(value, &size) != 0) {
                zz_errstr_set(errstr, errstr_size,
                              "could not encode %s message: %s",
                              zz_stream_name(stream), avro_strerror());
                return -1;
        }
        hsize = ZZ_CODEC_HEADER_SIZE;
        if (codec->out_id[stream] > 0) {
                if (e != codec->current[stream]) {
                        zz_errstr_set(
                            errstr, errstr_size,
                            "could not encode %s message: its topic uses "
                            "schema registry framing and %s is not the "
                            "registered schema",
                            zz_stream_name(stream), e->file);
                        return -1;
                }
                hsize = ZZ_CODEC_REGISTRY_HEADER_SIZE;
        }
        need = hsize + size;
        if (need > out->cap) {
                size_t cap = out->cap ? out->cap : 256;
                unsigned char *data;
                while (cap < need)
                        cap *= 2;
                data = realloc(out->data, cap);
                if (data == NULL) {
                        zz_errstr_set(errstr, errstr_size, "out of memory");
                        return -1;
                }
                out->data = data;
                out->cap = cap;
        }
        if (hsize == ZZ_CODEC_REGISTRY_HEADER_SIZE) {
                uint32_t id = (uint32_t)codec->out_id[stream];

                out->data[0] = ZZ_CODEC_REGISTRY_MAGIC;
                out->data[1] = (unsigned char)(id >> 24);
                out->data[2] = (unsigned char)(id >> 16);
                out->data[3] = (unsigned char)(id >> 8);
                out->data[4] = (unsigned char)id;
        } else {
                out->data[0] = ZZ_CODEC_MAGIC_0;
                out->data[1] = ZZ_CODEC_MAGIC_1;
                put_le64(out->data + 2, e->fingerprint);
        }
        avro_writer_memory_set_dest(
            codec->writer, (const char *)out->data + hsize, (int64_t)size);
        if (avro_value_write(codec->writer, value) != 0 ||
            avro_writer_tell(codec->writer) != (int64_t)size) {
                zz_errstr_set(errstr, errstr_size,
                              "could not encode %s message: %s",
                              zz_stream_name(stream), avro_strerror());
                return -1;
        }
        if (validate_datum(e->node, out->data + hsize, size, &trailing, err,
                           sizeof(err)) != 0) {
                zz_errstr_set(errstr, errstr_size,
                              "could not encode %s message: invalid value %s",
                              zz_stream_name(stream), err);
                return -1;
        }
        out->len = need;
        return 0;
}

static const struct zz_entry *lookup(const zz_codec_t *codec, uint64_t fp)
{
        size_t i;

        for (i = 0; i < codec->nentries; i++) {
                if (codec->entries[i].fingerprint == fp)
                        return &codec->entries[i];
        }
        return NULL;
}

static const struct zz_entry *lookup_id(const zz_codec_t *codec, int32_t id)
{
        size_t i;

        for (i = 0; i < codec->nids; i++) {
                if (codec->ids[i].id == id)
                        return &codec->entries[codec->ids[i].entry];
        }
        return NULL;
}

int zz_codec_registry_bind(zz_codec_t *codec, int32_t id, uint64_t fingerprint)
{
        const struct zz_entry *e;
        const struct zz_entry *bound;

        if (codec == NULL || id <= 0)
                return -1;
        e = lookup(codec, fingerprint);
        if (e == NULL)
                return -1;
        bound = lookup_id(codec, id);
        if (bound != NULL)
                return bound == e ? 0 : -1;
        if (codec->nids == codec->ids_cap) {
                size_t cap = codec->ids_cap ? codec->ids_cap * 2 : 16;
                struct zz_reg_id *grown =
                    realloc(codec->ids, cap * sizeof(*grown));

                if (grown == NULL)
                        return -1;
                codec->ids = grown;
                codec->ids_cap = cap;
        }
        codec->ids[codec->nids].id = id;
        codec->ids[codec->nids].entry = (size_t)(e - codec->entries);
        codec->nids++;
        return 0;
}

int zz_codec_set_registry_output(zz_codec_t *codec, zz_stream_t stream,
                                 int32_t id)
{
        if (codec == NULL || !stream_ok(stream) || id < 0)
                return -1;
        if (id > 0 && lookup_id(codec, id) != codec->current[stream])
                return -1;
        codec->out_id[stream] = id;
        return 0;
}

void zz_codec_set_resolver(zz_codec_t *codec, zz_codec_resolve_fn fn,
                           void *opaque, void (*opaque_free)(void *opaque))
{
        if (codec == NULL)
                return;
        if (codec->resolve_free != NULL)
                codec->resolve_free(codec->resolve_opaque);
        codec->resolve = fn;
        codec->resolve_opaque = opaque;
        codec->resolve_free = opaque_free;
}

/* The writer schema of a message and the size of its header, from either
 * framing. A registry id not bound yet is UNKNOWN_SCHEMA with *reg_id set
 * (zz_codec_decode then asks the resolver; zz_codec_peek only knows the ids
 * bound already). */
static const struct zz_entry *header(const zz_codec_t *codec, const void *buf,
                                     size_t len, size_t *hsize, int32_t *reg_id,
                                     zz_codec_err_t *err, char *errstr,
                                     size_t errstr_size)
{
        const unsigned char *p = buf;
        const struct zz_entry *e;
        uint64_t fp;

        if (buf != NULL && len >= 1 && p[0] == ZZ_CODEC_REGISTRY_MAGIC) {
                int32_t id;

                if (len < ZZ_CODEC_REGISTRY_HEADER_SIZE) {
                        *err = ZZ_CODEC_ERR_FRAMING;
                        zz_errstr_set(errstr, errstr_size,
                                      "message of %zu bytes is shorter than "
                                      "the %d-byte schema registry header",
                                      len, ZZ_CODEC_REGISTRY_HEADER_SIZE);
                        return NULL;
                }
                id = (int32_t)(((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) |
                               ((uint32_t)p[3] << 8) | (uint32_t)p[4]);
                e = id > 0 ? lookup_id(codec, id) : NULL;
                *reg_id = id;
                if (e == NULL) {
                        *err = ZZ_CODEC_ERR_UNKNOWN_SCHEMA;
                        zz_errstr_set(
                            errstr, errstr_size,
                            "unknown schema registry id %" PRId32 "%s", id,
                            codec->resolve ? ""
                                           : " (no schema registry "
                                             "configured)");
                        return NULL;
                }
                *hsize = ZZ_CODEC_REGISTRY_HEADER_SIZE;
                return e;
        }
        if (buf == NULL || len < ZZ_CODEC_HEADER_SIZE) {
                *err = ZZ_CODEC_ERR_FRAMING;
                zz_errstr_set(
                    errstr, errstr_size,
                    "message of %zu bytes is shorter than the %d-byte "
                    "header",
                    buf ? len : 0, ZZ_CODEC_HEADER_SIZE);
                return NULL;
        }
        if (p[0] != ZZ_CODEC_MAGIC_0 || p[1] != ZZ_CODEC_MAGIC_1) {
                *err = ZZ_CODEC_ERR_FRAMING;
                zz_errstr_set(errstr, errstr_size,
                              "message starts with neither C3 01 (Avro "
                              "single-object encoding) nor 00 (schema "
                              "registry framing)");
                return NULL;
        }
        fp = get_le64(p + 2);
        e = lookup(codec, fp);
        if (e == NULL) {
                *err = ZZ_CODEC_ERR_UNKNOWN_SCHEMA;
                zz_errstr_set(errstr, errstr_size,
                              "unknown schema fingerprint %016" PRIx64, fp);
                return NULL;
        }
        *hsize = ZZ_CODEC_HEADER_SIZE;
        return e;
}

int zz_codec_peek(const zz_codec_t *codec, const void *buf, size_t len,
                  zz_stream_t *stream, int *version, zz_codec_err_t *err)
{
        zz_codec_err_t dummy;
        const struct zz_entry *e;
        size_t hsize;
        int32_t reg_id = 0;

        if (err == NULL)
                err = &dummy;
        *err = ZZ_CODEC_OK;
        if (codec == NULL) {
                *err = ZZ_CODEC_ERR_INTERNAL;
                return -1;
        }
        e = header(codec, buf, len, &hsize, &reg_id, err, NULL, 0);
        if (e == NULL)
                return -1;
        if (stream != NULL)
                *stream = e->stream;
        if (version != NULL)
                *version = e->version;
        return 0;
}

int zz_codec_decode(zz_codec_t *codec, zz_stream_t expected, const void *buf,
                    size_t len, avro_value_t *out, zz_codec_err_t *err,
                    char *errstr, size_t errstr_size)
{
        zz_codec_err_t dummy;
        const struct zz_entry *e;
        struct zz_entry *cur;
        const unsigned char *datum;
        size_t dlen, hsize = 0;
        int32_t reg_id = 0;
        int trailing;
        char msg[320];

        if (err == NULL)
                err = &dummy;
        *err = ZZ_CODEC_OK;
        out->iface = NULL;
        out->self = NULL;
        if (codec == NULL || !stream_ok(expected)) {
                *err = ZZ_CODEC_ERR_INTERNAL;
                zz_errstr_set(errstr, errstr_size,
                              "could not decode: bad argument");
                return -1;
        }
        e = header(codec, buf, len, &hsize, &reg_id, err, msg, sizeof(msg));
        if (e == NULL && *err == ZZ_CODEC_ERR_UNKNOWN_SCHEMA && reg_id > 0 &&
            codec->resolve != NULL) {
                uint64_t fp;

                if (codec->resolve(codec->resolve_opaque, reg_id, &fp) == 0 &&
                    zz_codec_registry_bind(codec, reg_id, fp) == 0) {
                        *err = ZZ_CODEC_OK;
                        e = header(codec, buf, len, &hsize, &reg_id, err, msg,
                                   sizeof(msg));
                }
        }
        if (e == NULL)
                goto fail;
        if (e->stream != expected) {
                *err = ZZ_CODEC_ERR_WRONG_STREAM;
                snprintf(msg, sizeof(msg),
                         "message has the schema %s of stream %s", e->file,
                         zz_stream_name(e->stream));
                goto fail;
        }
        datum = (const unsigned char *)buf + hsize;
        dlen = len - hsize;
        if (validate_datum(e->node, datum, dlen, &trailing, msg, sizeof(msg)) !=
            0) {
                *err = trailing ? ZZ_CODEC_ERR_TRAILING : ZZ_CODEC_ERR_DATUM;
                goto fail;
        }
        cur = codec->current[expected];
        {
                struct zz_entry *we = &codec->entries[e - codec->entries];
                avro_value_reset(&we->scratch);
                avro_reader_memory_set_source(
                    codec->reader, (const char *)datum, (int64_t)dlen);
                if (avro_value_read(codec->reader, &we->scratch) != 0) {
                        *err = ZZ_CODEC_ERR_DATUM;
                        snprintf(msg, sizeof(msg), "avro-c: %s",
                                 avro_strerror());
                        goto fail;
                }
                if (we != cur) {
                        avro_value_reset(&cur->scratch);
                        if (resolve(&codec->ctx[expected], we->plan,
                                    &we->scratch, &cur->scratch, msg,
                                    sizeof(msg)) != 0) {
                                *err = ZZ_CODEC_ERR_RESOLVE;
                                goto fail;
                        }
                }
        }
        *out = cur->scratch;
        return 0;
fail:
        zz_errstr_set(errstr, errstr_size, "could not decode %s message: %s",
                      zz_stream_name(expected), msg);
        return -1;
}
