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
 * publishing order, for the relay). A command seen before changes
 * nothing. Deterministic: the same facts and command give the same rows
 * and the same bytes. -1 with errstr on a database or encoding error. */
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
