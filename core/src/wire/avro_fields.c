/*
 * avro_fields.c — record field setters and content-derived message ids
 * (see avro_fields.h).
 */
#include "zizhu/avro_fields.h"

#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

int zz_avro_set_str(avro_value_t *rec, const char *name, const char *s)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        return avro_value_set_string(&f, s != NULL ? s : "");
}

int zz_avro_set_int(avro_value_t *rec, const char *name, int v)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        return avro_value_set_int(&f, v);
}

int zz_avro_set_long(avro_value_t *rec, const char *name, int64_t v)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        return avro_value_set_long(&f, v);
}

int zz_avro_set_bool(avro_value_t *rec, const char *name, int v)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        return avro_value_set_boolean(&f, v ? 1 : 0);
}

int zz_avro_set_bytes(avro_value_t *rec, const char *name, const void *p,
                      size_t len)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        /* avro-c copies the bytes; its prototype just lacks the const */
        return avro_value_set_bytes(&f, (void *)(p != NULL ? p : ""), len);
}

static int set_enum_value(avro_value_t *f, const char *symbol)
{
        int idx =
            symbol != NULL
                ? avro_schema_enum_get_by_name(avro_value_get_schema(f), symbol)
                : -1;

        return avro_value_set_enum(f, idx < 0 ? 0 : idx);
}

int zz_avro_set_enum(avro_value_t *rec, const char *name, const char *symbol)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        return set_enum_value(&f, symbol);
}

/* The union field name of rec, its branch 0 (null) set when !present, or
 * branch 1 in *b for the caller to set. 1: *b to set, 0: done (null set),
 * -1: error. */
static int opt_branch(avro_value_t *rec, const char *name, int present,
                      avro_value_t *b)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        if (!present)
                return avro_value_set_branch(&f, 0, b) || avro_value_set_null(b)
                           ? -1
                           : 0;
        return avro_value_set_branch(&f, 1, b) != 0 ? -1 : 1;
}

int zz_avro_set_opt_str(avro_value_t *rec, const char *name, const char *s)
{
        avro_value_t b;
        int st = opt_branch(rec, name, s != NULL, &b);

        return st <= 0 ? st : avro_value_set_string(&b, s);
}

int zz_avro_set_opt_enum(avro_value_t *rec, const char *name,
                         const char *symbol)
{
        avro_value_t b;
        int st = opt_branch(rec, name, symbol != NULL, &b);

        return st <= 0 ? st : set_enum_value(&b, symbol);
}

int zz_avro_set_opt_long(avro_value_t *rec, const char *name, const int64_t *v)
{
        avro_value_t b;
        int st = opt_branch(rec, name, v != NULL, &b);

        return st <= 0 ? st : avro_value_set_long(&b, *v);
}

int zz_avro_set_opt_bytes(avro_value_t *rec, const char *name, const void *p,
                          size_t len)
{
        avro_value_t b;
        int st = opt_branch(rec, name, p != NULL, &b);

        return st <= 0 ? st : avro_value_set_bytes(&b, (void *)p, len);
}

void zz_avro_content_id(const char *text, char out[33])
{
        unsigned char md[SHA256_DIGEST_LENGTH];
        size_t i;

        SHA256((const unsigned char *)text, strlen(text), md);
        for (i = 0; i < 16; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
}
