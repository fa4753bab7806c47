/*
 * ledger.h — settlement against PostgreSQL: the facts inside a period's
 * boundary folded into cases, the close of a period (ledger, lines,
 * allocations to publish), and the money conservation check.
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
#ifndef ZIZHU_LEDGER_H
#define ZIZHU_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "zizhu/arena.h"
#include "zizhu/codec.h"
#include "zizhu/policy.h"
#include "zizhu/settle.h"

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

/*
 * Every person of a boundary, a chunk at a time: memory holds one chunk,
 * whatever the number of persons (a close of 10 million persons would
 * otherwise hold all their facts at once).
 *
 * zz_factset_open declares cursors over the facts inside the boundary
 * and, when ledger_policy is not NULL, over that policy's rows of
 * zizhu.settle_ledger, each on a connection of its own opened with conn's
 * parameters, in a read-only transaction: the database sorts them side by
 * side and prepares the next rows while the caller works. They see what
 * is committed, which is what a close must read: a boundary's facts are
 * committed before it begins and never change, and the ledger changes
 * only by closes (one settlement worker per database). Each
 * zz_factset_next hands out a factset of whole persons: every row of a
 * person in the same factset, every person in exactly one, persons with
 * ledger rows only included (their case has no policy). About chunk rows
 * of each table are fetched at a time (0: ZZ_FACTSET_CHUNK). Persons come
 * in the order of a hash of the ID number, which the database sorts much
 * faster than ID numbers (they share their first bytes); nothing of a
 * close depends on the order.
 */
#define ZZ_FACTSET_CHUNK 20000

typedef struct zz_factset_cursor_s zz_factset_cursor_t;

/* NULL with errstr on a database error. boundary and ledger_policy are
 * read during the call only. */
zz_factset_cursor_t *zz_factset_open(PGconn *conn,
                                     const zz_settle_pos_t *boundary,
                                     size_t n_boundary,
                                     const char *ledger_policy, size_t chunk,
                                     char *errstr, size_t errstr_size);
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

/* Columns of the ledger rows of a chunk's person. */
enum {
        ZZ_LEDGER_PERSON,
        ZZ_LEDGER_YEAR,
        ZZ_LEDGER_PAYER,
        ZZ_LEDGER_FUND,
        ZZ_LEDGER_REGION,
        ZZ_LEDGER_CATEGORY,
        ZZ_LEDGER_RULE,
        ZZ_LEDGER_FEN,
        ZZ_LEDGER_FIRST_PERIOD
};

/* The ledger rows of person i of a chunk: rows [*begin, *end) of the
 * result returned (borrowed; NULL when the person has none). */
const PGresult *zz_factset_ledger(const zz_factset_t *fs, size_t i, int *begin,
                                  int *end);

/* ------------------------------------------------------------------ */
/* Closing a period                                                    */

typedef struct zz_settle_cmd_s {
        const char *event_id;     /* of the CLOSE_PERIOD command */
        const char *jurisdiction; /* as in the command */
        const char *period;       /* as in the command */
        int64_t issued_at;        /* ms: closed_at of the allocations */
        const zz_settle_pos_t *boundary;
        size_t n_boundary;
        int32_t src_partition; /* of the command on the control topic */
        int64_t src_offset;
        /* How to run it, not part of the command: rows of a fact table
         * held at a time (0: ZZ_FACTSET_CHUNK). The result is the same
         * for any value. */
        size_t chunk;
} zz_settle_cmd_t;

typedef struct zz_settle_result_s {
        int status; /* 0 closed now, 1 already closed (no-op),
                     * 2 rejected (see reason) */
        char reason[256];
        char policy[64];
        char period[ZZ_SETTLE_PERIOD_SIZE]; /* canonical label */
        size_t allocations;
        size_t lines;
        size_t persons;
        zz_fen_t fen;
} zz_settle_result_t;

/* Inside the caller's open transaction on conn: settles the period named
 * by cmd. Writes zizhu.settle_command, settle_period, settle_ledger,
 * settle_line and settle_allocation (the encoded Avro messages, in
 * publishing order, for the relay), all in that transaction; reads the
 * facts and the ledger a chunk of persons at a time through connections
 * of its own (zz_factset_open). A command seen before changes nothing.
 * Deterministic: the same facts and command give the same rows and the
 * same bytes, whatever cmd->chunk. -1 with errstr on a database or
 * encoding error. */
int zz_settle_close(PGconn *conn, zz_codec_t *codec,
                    const zz_policy_t *const *policies, size_t n_policies,
                    const char *pseudonym_key, const zz_settle_cmd_t *cmd,
                    zz_settle_result_t *result, char *errstr,
                    size_t errstr_size);

/* Upserts the enrollment targets of every policy into zizhu.enroll_target
 * and the pseudonyms of persons that have a decision but none yet into
 * zizhu.person_pseudonym (for the dashboard views). */
int zz_settle_refresh(PGconn *conn, const zz_policy_t *const *policies,
                      size_t n_policies, const char *pseudonym_key,
                      char *errstr, size_t errstr_size);

/* ------------------------------------------------------------------ */
/* Conservation                                                        */

/* Per payer: the sum of all allocations (zizhu.settle_allocation) against
 * the current decisions (zizhu.decision) of persons whose home period is
 * closed: subsidies granted + refunds - recoveries. Prints a table to out
 * (may be NULL). *ok is set to 1 when every payer balances. -1 on a
 * database error. */
int zz_settle_conservation(PGconn *conn, const zz_policy_t *const *policies,
                           size_t n_policies, FILE *out, int *ok, char *errstr,
                           size_t errstr_size);

#endif
