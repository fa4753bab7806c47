/*
 * audit.h — `zizhu audit verify`: the allocations a replay computed
 * against the ones published on the allocation topic, byte for byte, and
 * money conservation.
 *
 * The published side is read from the allocation topic read_committed,
 * from the beginning; messages are grouped by key (jurisdiction/period) in
 * offset order. The replayed side is zizhu.settle_allocation of the replay
 * database, grouped the same way in id order. Every period closed in the
 * replay must have been published with the same bytes in the same order;
 * an allocation_id published twice is a duplicate; a period published but
 * not replayed is reported (a replay --from a timestamp skips earlier
 * ones) and fails the check unless allowed. Conservation (settle_run.h) is
 * checked on the replay database.
 */
#ifndef ZIZHU_AUDIT_H
#define ZIZHU_AUDIT_H

#include <stddef.h>
#include <stdio.h>

#include "zizhu/config.h"
#include "zizhu/policy.h"

typedef struct zz_audit_result_s {
        int ok;               /* the verdict */
        size_t periods;       /* periods compared */
        size_t allocations;   /* allocations byte-identical */
        size_t differences;   /* periods that differ */
        size_t duplicates;    /* allocation ids published more than once */
        size_t not_replayed;  /* published periods absent from the replay */
        size_t not_published; /* replayed periods absent from the topic */
        int conserved;        /* 1 when every payer balances */
} zz_audit_result_t;

/* config names the topic (prefix) and the broker; replay_pg is the conninfo
 * of the replay database. Writes a report to out. 0 (see result->ok), or
 * -1 with errstr when something could not be read. */
int zz_audit_verify(const zz_config_t *config, const char *replay_pg,
                    const zz_policy_t *const *policies, size_t n_policies,
                    int allow_not_replayed, FILE *out,
                    zz_audit_result_t *result, char *errstr,
                    size_t errstr_size);

#endif
