/*
 * settle_int.h — internal to the settlement layer: only the .c files of
 * core/src/settle/ may include it (it is on that layer's private include
 * path), never a public header, cli/, consumers/ or tests/.
 *
 * The ledger rows of a chunk's persons, for the close (settle_run.c). The
 * cursors of settle_facts.h hand them out:
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
#ifndef ZIZHU_SETTLE_INT_H
#define ZIZHU_SETTLE_INT_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "zizhu/settle_facts.h"

/* Puts what failed before the message of a failed statement in errstr
 * ("what: message"), as the settlement's messages say it. */
static inline void settle_failed(const char *what, char *errstr,
                                 size_t errstr_size)
{
        char *detail = strdup(errstr);

        snprintf(errstr, errstr_size, "%s: %s", what,
                 detail != NULL ? detail : "out of memory");
        free(detail);
}

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

#endif
