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

/* ------------------------------------------------------------------ */
/* Everyone, a chunk of whole persons at a time                        */

/* Every person of a boundary (NULL: all facts), a chunk at a time, for the
 * close (settle_run.c) and for `zizhu policy diff` (ops/policy_diff.c):
 * memory holds one chunk, whatever the number of persons. What the cursors
 * see, how they are read and the ledger stream (ledger_policy not NULL,
 * settlement only) are described in settle/settle_int.h. */
#define ZZ_FACTSET_CHUNK 20000

typedef struct zz_factset_cursor_s zz_factset_cursor_t;

/* NULL with errstr on a database error. boundary and ledger_policy are
 * read during the call only. */
zz_factset_cursor_t *zz_factset_open(PGconn *conn,
                                     const zz_settle_pos_t *boundary,
                                     size_t n_boundary,
                                     const char *ledger_policy, size_t chunk,
                                     char *errstr, size_t errstr_size);
/* Every person, only the facts known by as_of in business time (as
 * zz_factset_load; ZZ_AS_OF_NONE: all), no boundary, no ledger. */
zz_factset_cursor_t *zz_factset_open_as_of(PGconn *conn, int64_t as_of,
                                           size_t chunk, char *errstr,
                                           size_t errstr_size);
/* Sets *fs to the next chunk, or to NULL after the last. The factset
 * belongs to the cursor and is valid until the next call. -1 with errstr
 * on a database error. */
int zz_factset_next(zz_factset_cursor_t *cur, zz_factset_t **fs, char *errstr,
                    size_t errstr_size);
/* Reads what the readers have sent so far, without waiting: called now
 * and then while the caller works on a chunk, it keeps the database
 * sending the next one. */
void zz_factset_poll(zz_factset_cursor_t *cur);
/* Seconds spent waiting for fetched rows so far (for diagnostics). */
double zz_factset_fetch_seconds(const zz_factset_cursor_t *cur);
/* Closes the readers. Accepts NULL. */
void zz_factset_cursor_destroy(zz_factset_cursor_t *cur);

#endif
