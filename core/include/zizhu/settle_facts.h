/*
 * settle_facts.h — the facts of persons inside a settlement boundary, or
 * as known at a past moment, folded into policy cases (settle_facts.c).
 * The settlement reads them a chunk of persons at a time through the
 * cursors of settle/settle_int.h; `zizhu explain` and the audit read one
 * person's or everyone's at once through this header.
 *
 * Boundary. A close command covers exactly the input facts whose source
 * position (src_topic, src_partition, src_offset) lies before the
 * boundary's end offset of that partition; facts of partitions the boundary
 * does not name are outside. The boundary is decided by the input log alone
 * (see consumers/zizhu-settlement-worker/main.c), so the settlement of a
 * period is the same whatever the subsidy worker's batching was, and a
 * replay of the log computes it again byte for byte.
 *
 * Folding (zz_factset_*) is casefold.h, the rules of subsidy.h: identity
 * records by department record in reported_at order (GRANT/CORRECT set,
 * END closes, REVOKE marks for good, DECEASED gives the earliest death),
 * the latest REGISTER of the year not cancelled, the latest payment by
 * paid_at; the policy by enrollment region, else by identity regions.
 * audit verify cross-checks it against the worker's current decisions.
 */
#ifndef ZIZHU_SETTLE_FACTS_H
#define ZIZHU_SETTLE_FACTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "zizhu/arena.h"
#include "zizhu/policy.h"

/* The end (exclusive) of one input partition inside a boundary. */
typedef struct zz_settle_pos_s {
        char topic[128];
        int32_t partition;
        int64_t end;
} zz_settle_pos_t;

#define ZZ_AS_OF_NONE INT64_MIN

typedef struct zz_factset_s zz_factset_t;

/* Loads the facts of one person (person not NULL) or of everyone, only
 * those inside the boundary (boundary NULL: all facts), and when as_of is
 * not ZZ_AS_OF_NONE only those known by then in business time (identity
 * reported_at, payment paid_at <= as_of; enrollment registered_on on or
 * before its China date). NULL with errstr on a database error. */
zz_factset_t *zz_factset_load(PGconn *conn, const zz_settle_pos_t *boundary,
                              size_t n_boundary, const char *person,
                              int64_t as_of, char *errstr, size_t errstr_size);
/* Accepts NULL. Not for the factsets a cursor hands out (settle_int.h). */
void zz_factset_destroy(zz_factset_t *fs);

size_t zz_factset_count(const zz_factset_t *fs);
/* The ID number of person i (borrowed; never log it). */
const char *zz_factset_person(const zz_factset_t *fs, size_t i);

/* Builds the case of person i for year and returns the policy that decides
 * it among policies[0..n) (NULL when none does: then *c is not usable).
 * The case borrows from fs and from arena (reset it per person). */
const zz_policy_t *zz_factset_case(zz_factset_t *fs, size_t i, int year,
                                   const zz_policy_t *const *policies, size_t n,
                                   zz_case_t *c, zz_arena_t *arena);

/* Writes the facts person i's case for year rests on, one per line, to
 * out (event ids, departments, categories, dates, amounts; no ID number,
 * no name). */
void zz_factset_print(const zz_factset_t *fs, size_t i, int year, FILE *out);

#endif
