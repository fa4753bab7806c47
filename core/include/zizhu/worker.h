/*
 * worker.h — the subsidy worker's consumer loop: input topics to facts,
 * decisions and outbox rows, exactly once through PostgreSQL.
 *
 * A consumer group (cooperative-sticky, no Kafka offset commits,
 * read_committed) reads identity, enrollment, payment and control. On
 * assignment the rebalance callback claims each partition in PostgreSQL
 * (zz_store_claim: epoch + 1) and assigns it at the stored position with
 * rd_kafka_incremental_assign. Messages are gathered into batches (at most
 * batch_max messages or batch_ms milliseconds); each batch is one
 * PostgreSQL transaction that locks its partitions' position rows and
 * checks their epochs, applies the facts (zz_facts_apply), locks the
 * affected persons (advisory locks, sorted) and re-decides them
 * (zz_subsidy_redecide), stores the new positions and commits with the
 * outbox rows. A batch whose partition was claimed by another instance in
 * the meantime is rolled back and dropped; the new owner reads it again
 * from the stored position.
 *
 * Threads: a worker belongs to the thread that creates it. zz_worker_new,
 * zz_worker_run and zz_worker_destroy are called on that thread (the
 * rebalance callback runs there too, inside rd_kafka_consumer_poll). It
 * shares with other threads only opts->config (read, never changed: the
 * relay thread reads it at the same time), opts->metrics (thread-safe) and
 * *opts->stop.
 *
 * The stop flag is a lock-free atomic_int, not a volatile sig_atomic_t.
 * It is set by a signal handler or by another thread and read by the
 * loop. C11 (7.14.1.1) lets a handler store to a lock-free atomic; a
 * volatile sig_atomic_t is only defined for a handler that runs on the
 * thread that reads the flag, and a process-directed signal is handled by
 * any thread that does not block it (the relay thread, libmicrohttpd's),
 * so it would be a data race. The same holds for every stop flag in
 * relay.h, settle_worker.h and replay.h.
 */
#ifndef ZIZHU_WORKER_H
#define ZIZHU_WORKER_H

#include <stdatomic.h>
#include <stddef.h>

#include "zizhu/config.h"
#include "zizhu/metrics.h"

typedef struct zz_worker_s zz_worker_t;

typedef struct zz_worker_opts_s {
        const zz_config_t *config; /* borrowed */
        const char *group;         /* consumer group ("zizhu-subsidy") */
        const char *policy_dir;    /* policies/ */
        const char *name;          /* written into dead letters */
        int batch_max;             /* messages per batch (500) */
        int batch_ms;              /* longest wait to fill one (200) */
        /* Stop after this long with no message (0: never): for batch runs
         * and benchmarks. */
        int idle_exit_ms;
        zz_metrics_t *metrics; /* borrowed, may be NULL */
        /* Borrowed. Non-zero: finish the batch in hand and stop. Set by a
         * signal handler or another thread (see above). */
        const atomic_int *stop;
} zz_worker_opts_t;

/* Connects to PostgreSQL, loads the policies, creates the consumer. NULL
 * with errstr. */
zz_worker_t *zz_worker_new(const zz_worker_opts_t *opts, char *errstr,
                           size_t errstr_size);
/* Runs until *stop is set (finishing the batch in hand, committing it and
 * leaving the group) or idle_exit_ms passes without a message. 0 on a
 * clean stop, -1 with errstr on a fatal error (the last batch was rolled
 * back; a restart resumes from the stored positions). */
int zz_worker_run(zz_worker_t *worker, char *errstr, size_t errstr_size);
/* Accepts NULL. */
void zz_worker_destroy(zz_worker_t *worker);

/* Declares every metric family the worker updates, with the label sets
 * known before any input (each input topic of config x outcome, each
 * dead-letter reason, each phase) at 0: call it once on the registry
 * before zz_metrics_serve. metrics may be NULL (nothing to do). */
void zz_worker_metrics_declare(zz_metrics_t *metrics,
                               const zz_config_t *config);

#endif
