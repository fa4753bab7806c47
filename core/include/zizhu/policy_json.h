/*
 * policy_json.h — cases and decisions as JSON, the stable contract of
 * `zizhu policy eval` (docs: CONTRACT.md).
 *
 * One case is one JSON object; one decision is one JSON object. The engine
 * itself never sees JSON: this module converts, and checks every field so
 * that a bad line is answered with "<field>: <problem>" instead of a
 * guess. Messages never contain an ID number.
 */
#ifndef ZIZHU_POLICY_JSON_H
#define ZIZHU_POLICY_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "zizhu/arena.h"
#include "zizhu/policy.h"

/* The longest case text zz_case_from_json reads. */
#define ZZ_CASE_MAX_BYTES (64 * 1024)

/* Parses one case from text (one line, no need for a NUL). Every string of
 * *out is copied into arena. 0 on success; -1 with errstr set to
 * "<field>: <problem>" (e.g. "identities[1].valid_from: not a date").
 * *name_out, when not NULL, receives the case's "case" label if it could
 * be read (arena copy), even on error, else NULL. A text longer than
 * 64 KiB is refused ("case: larger than 65536 bytes"). */
int zz_case_from_json(const char *text, size_t len, zz_case_t *out,
                      const char **name_out, zz_arena_t *arena, char *errstr,
                      size_t errstr_size);
/* Same from a parsed object (borrowed). */
int zz_case_from_json_obj(const json_t *obj, zz_case_t *out,
                          const char **name_out, zz_arena_t *arena,
                          char *errstr, size_t errstr_size);

/* Flags for zz_decision_to_json. */
#define ZZ_JSON_EXPLAIN 0x1 /* every trace entry, and the notes */

/* Builds the output object of a decision (new reference: json_decref it).
 * NULL on out of memory. */
json_t *zz_decision_to_json(const zz_case_t *c, const zz_decision_t *d,
                            unsigned flags);

/* The output object for a line that could not be evaluated:
 * {"case": name-or-null, "error": message}. New reference. */
json_t *zz_decision_error_json(const char *name, const char *message);

#endif
