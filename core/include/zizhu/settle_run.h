/*
 * settle_run.h — settlement against PostgreSQL (settle_run.c): the close
 * of a period (ledger, lines, allocations to publish), the dashboard
 * refresh, and the money conservation check. The facts a close reads are
 * those inside its boundary (settle_facts.h).
 */
#ifndef ZIZHU_SETTLE_RUN_H
#define ZIZHU_SETTLE_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "zizhu/codec.h"
#include "zizhu/policy.h"
#include "zizhu/settle.h"
#include "zizhu/settle_facts.h"

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
         * held at a time (0: the default, ZZ_FACTSET_CHUNK of
         * settle/settle_int.h). The result is the same for any value. */
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
 * of its own (memory holds one chunk, whatever the number of persons). A
 * command seen before changes nothing. Deterministic: the same facts and
 * command give the same rows and the same bytes, whatever cmd->chunk. -1
 * with errstr on a database or encoding error. */
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
