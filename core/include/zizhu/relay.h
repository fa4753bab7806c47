/*
 * relay.h — publishes the transactional outbox to Kafka, each row exactly
 * once for a read_committed reader.
 *
 * One relay is active per outbox: it holds a PostgreSQL session advisory
 * lock (others wait for it, so several worker instances can each run one).
 * Its transactional producer has a fixed transactional.id; init_transactions
 * fences any earlier producer with that id (a zombie relay) and aborts its
 * open transaction. The relay then finds where publishing stopped from
 * Kafka itself: it reads, read_committed, the last messages of every
 * output partition and takes the highest outbox id header (zz-outbox-id).
 * A relay batch (rows in id order) is one Kafka transaction, so that header
 * is the exact high-water mark of what was committed. It continues with
 * the rows after it: none is lost, none published twice. PostgreSQL is
 * only read, so a crash between the Kafka commit and anything else loses
 * nothing.
 *
 * Threads: zz_relay_run runs on the thread that calls it, with its own
 * PostgreSQL connection and producer (the subsidy worker gives it a
 * thread of its own beside the consumer loop). It shares with other
 * threads only opts->config (read, never changed), opts->metrics
 * (thread-safe), and *opts->stop and *opts->idle_ok, which another thread
 * or a signal handler sets: atomics, for the reason worker.h gives.
 * zz_relay_high_water, zz_relay_check: any thread.
 *
 * Continuity (the trap of a PostgreSQL failover to a standby that missed
 * the last commits): the outbox ids come from zizhu.outbox_seq in the
 * database, the high-water mark from Kafka. If the topics hold an id the
 * database has not handed out (seq.last_id < high-water), the database has
 * lost commits whose rows were already published, and the rows it commits
 * next would get ids at or below the high-water mark, which the relay
 * would skip for ever. So the relay refuses to run (ZZ_RELAY_BEHIND) when
 * it becomes active, and the worker checks the same before its consumer
 * loop writes anything (zz_relay_check): a human decides, see the
 * runbook (deploy/README.md, "The database is behind the output topics").
 * The cluster's synchronous replication (deploy/cluster/pg.sh) is what
 * keeps it from happening; this makes sure it is never silent.
 */
#ifndef ZIZHU_RELAY_H
#define ZIZHU_RELAY_H

#include <stdatomic.h>
#include <stddef.h>

#include "zizhu/config.h"
#include "zizhu/metrics.h"

#define ZZ_RELAY_HEADER "zz-outbox-id"

typedef struct zz_relay_opts_s {
        const zz_config_t *config;    /* borrowed */
        const char *transactional_id; /* "zizhu-subsidy-relay" */
        int batch_max;                /* rows per Kafka transaction */
        int idle_exit_ms;             /* 0: never */
        /* When not NULL, idle exit only once *idle_ok is set (the worker
         * feeding the outbox has finished, on another thread). */
        const atomic_int *idle_ok;
        zz_metrics_t *metrics; /* may be NULL */
        /* Borrowed. Non-zero: stop. Set by a signal handler or another
         * thread. */
        const atomic_int *stop;
} zz_relay_opts_t;

/* zz_relay_run's result when the database is behind the output topics. */
#define ZZ_RELAY_BEHIND (-2)

/* Runs the relay until *stop (or idle_exit_ms with nothing to publish, once
 * it is the active relay). 0 on a clean stop, -1 with errstr on an error a
 * retry may cure, ZZ_RELAY_BEHIND with errstr when the database lost
 * commits the topics hold (a retry cannot cure it). */
int zz_relay_run(const zz_relay_opts_t *opts, char *errstr, size_t errstr_size);

/* Declares the relay's metric families (zz_relay_published_total at 0;
 * zz_lock_wait_seconds without a sample until the relay first tries its
 * lock, since 0 there means "holds it") before the relay runs: call it
 * once on the registry before zz_metrics_serve. Accepts NULL. */
void zz_relay_metrics_declare(zz_metrics_t *metrics);

/* The highest outbox id committed in the output topics (0 when none), as
 * the relay computes it at start; for tests and operators. -1 on error. */
long long zz_relay_high_water(const zz_config_t *config, char *errstr,
                              size_t errstr_size);

/* The continuity check on its own: 0 when the database's outbox covers
 * every id on the output topics, ZZ_RELAY_BEHIND with errstr when not, -1
 * with errstr when PostgreSQL or Kafka cannot be read. */
int zz_relay_check(const zz_config_t *config, char *errstr, size_t errstr_size);

#endif
