/*
 * settle_worker.h — the settlement worker: control topic to closed
 * periods, exactly once through PostgreSQL, and the allocation relay.
 *
 * The worker reads the control topic (read_committed) from its own
 * position in zizhu.consumer_position (group "zizhu-settlement"; one
 * active instance per database, held by a session advisory lock). For
 * each CLOSE_PERIOD command it:
 *  1. resolves the boundary from the input log alone: the command's
 *     "positions" (full topic names; zizhu-feed close fills them with the
 *     ends of the input partitions) when not null; else (control.v1
 *     writers), for
 *     every partition of identity, enrollment and payment, the first
 *     offset whose Kafka timestamp is later than the command message's own
 *     timestamp (offsets_for_times), or the partition's end when there is
 *     none yet. The command's timestamp is in the log, so a replay
 *     resolves the same boundary (exact for LogAppendTime topics and for
 *     CreateTime producers whose clocks agree);
 *  2. waits until the subsidy worker (group subsidy_group) has stored
 *     every fact before the boundary: its next_offset reached the end, or
 *     nothing but transaction markers or aborted messages lies between;
 *  3. in one transaction: settles the period (zz_settle_close), stores the
 *     next control offset, commits.
 * The relay then publishes the new zizhu.settle_allocation rows in id
 * order, each relay batch one Kafka transaction (transactional.id fixed,
 * so a restarted relay fences its predecessor), with header
 * "zz-settle-id"; at start it finds the highest id committed on the
 * allocation topic and continues after it. Every row is published exactly
 * once for a read_committed reader.
 *
 * Threads: zz_settler_run starts no thread; the loop and the relay take
 * turns on the calling thread, which is also where opts->progress is
 * called. It shares with other threads only opts->config (read, never
 * changed) and *opts->stop, an atomic for the reason worker.h gives.
 * zz_settle_load_policies and zz_settle_relay_high_water: any thread.
 */
#ifndef ZIZHU_SETTLE_WORKER_H
#define ZIZHU_SETTLE_WORKER_H

#include <stdatomic.h>
#include <stddef.h>

#include "zizhu/config.h"
#include "zizhu/policy.h"

#define ZZ_SETTLE_HEADER "zz-settle-id"

typedef struct zz_settler_opts_s {
        const zz_config_t *config; /* borrowed */
        const char *policy_dir;    /* policies/ */
        const char *group;         /* own position ("zizhu-settlement") */
        const char *subsidy_group; /* facts loader ("zizhu-subsidy") */
        const char
            *transactional_id; /* NULL: "zizhu-settlement-relay.<prefix>" */
        int publish;           /* 1: run the relay; 0: compute only
                                * (replay) */
        int idle_exit_ms;      /* 0: never */
        int wait_ms;           /* longest wait for the subsidy worker
                                * per command (0: forever) */
        /* When not NULL, start offsets of the control topic's partitions
         * for a fresh position (replay --from); else the beginning. */
        long long control_start;                       /* ms timestamp, or -1 */
        void (*progress)(const char *what, void *arg); /* may be NULL */
        void *progress_arg;
        /* Borrowed. Non-zero: stop. Set by a signal handler or another
         * thread. */
        const atomic_int *stop;
} zz_settler_opts_t;

/* Runs until *stop, or idle_exit_ms without a control message (and, when
 * publishing, with everything published). 0 on a clean stop, -1 with
 * errstr. */
int zz_settler_run(const zz_settler_opts_t *opts, char *errstr,
                   size_t errstr_size);

/* Loads every *.yaml of dir, sorted by name, into policies (at most max).
 * Returns the count, or -1 with errstr. Destroy each with
 * zz_policy_destroy. */
int zz_settle_load_policies(const char *dir, zz_policy_t **policies, size_t max,
                            char *errstr, size_t errstr_size);

/* The highest settle id committed on the allocation topic (0: none), -1
 * on error. */
long long zz_settle_relay_high_water(const zz_config_t *config, char *errstr,
                                     size_t errstr_size);

#endif
