/*
 * avro_fields.h — filling the fields of an Avro record that a worker is
 * about to encode (codec.h), and the content-derived ids its messages
 * carry. The subsidy worker's outputs and the settlement's allocations
 * are built with these, so a field is set the same way in every stream.
 *
 * Every setter looks the field up by name in rec (a record value, borrowed)
 * and returns 0, or -1 when the record has no such field or avro-c fails;
 * callers OR the results of a record's fields together and check once.
 * Strings and bytes are copied by avro-c.
 */
#ifndef ZIZHU_AVRO_FIELDS_H
#define ZIZHU_AVRO_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

/* A string field; NULL is written as "". */
int zz_avro_set_str(avro_value_t *rec, const char *name, const char *s);
int zz_avro_set_int(avro_value_t *rec, const char *name, int v);
int zz_avro_set_long(avro_value_t *rec, const char *name, int64_t v);
/* A boolean field: v != 0 is true. */
int zz_avro_set_bool(avro_value_t *rec, const char *name, int v);
int zz_avro_set_bytes(avro_value_t *rec, const char *name, const void *p,
                      size_t len);
/* An enum field set by symbol; a symbol the enum lacks (or NULL) is
 * written as its first symbol, UNKNOWN in every zizhu enum. */
int zz_avro_set_enum(avro_value_t *rec, const char *name, const char *symbol);

/* Fields of type ["null", T]: branch 0 (null) when the value is absent
 * (s, symbol, v or p NULL), else branch 1 set as the setters above. */
int zz_avro_set_opt_str(avro_value_t *rec, const char *name, const char *s);
int zz_avro_set_opt_enum(avro_value_t *rec, const char *name,
                         const char *symbol);
int zz_avro_set_opt_long(avro_value_t *rec, const char *name, const int64_t *v);
int zz_avro_set_opt_bytes(avro_value_t *rec, const char *name, const void *p,
                          size_t len);

/* The id of a message derived from its content: the first 16 bytes of the
 * SHA-256 of text (NUL-terminated) as 32 lower-case hex digits and a NUL
 * in out. The same content always gets the same id, so a message written
 * again (a replay, a retried batch) is recognisably the same message. */
void zz_avro_content_id(const char *text, char out[33]);

#endif
