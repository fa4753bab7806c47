/*
 * store.h — the subsidy worker's PostgreSQL side: consumer positions with
 * epochs, one transaction per batch, and the transactional outbox.
 *
 * Positions (zizhu.consumer_position) replace Kafka's committed offsets: a
 * batch's facts, decisions, outbox rows and new positions commit in one
 * PostgreSQL transaction, so a crash at any moment leaves either all of a
 * batch or none of it. Each assignment of a partition bumps its epoch
 * (zz_store_claim); a batch first locks its partitions' rows and checks
 * that their epochs are still the ones it was assigned with
 * (zz_store_lock_position), so an instance that lost a partition to
 * another cannot write over the new owner's position.
 *
 * Outbox rows appended during a batch are buffered and written by
 * zz_store_commit, which takes their ids from zizhu.outbox_seq under its
 * row lock as the last statement before COMMIT: ids then become visible in
 * commit order, so the relay, reading in id order, never passes a row that
 * commits later with a smaller id.
 *
 * Threads: not thread-safe. A store (and its connection) is used by one
 * thread at a time; threads that need the database each have their own.
 */
#ifndef ZIZHU_STORE_H
#define ZIZHU_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "zizhu/pg.h"

typedef struct zz_store_s zz_store_t;

/* Connects with conninfo and prepares the statements. group is the
 * consumer group the positions belong to (copied). NULL with errstr. */
zz_store_t *zz_store_new(const char *conninfo, const char *group, char *errstr,
                         size_t errstr_size);
/* Rolls back an open transaction, disconnects. Accepts NULL. */
void zz_store_destroy(zz_store_t *store);

/* The connection, borrowed, for modules that run their own statements
 * (through pg.h) inside the store's transaction. */
PGconn *zz_store_conn(zz_store_t *store);

/* Takes a partition for this instance, in its own transaction: bumps the
 * epoch (creating the row at next_offset -2, the beginning, if absent) and
 * returns the offset to read next and the new epoch. */
int zz_store_claim(zz_store_t *store, const char *topic, int32_t partition,
                   int64_t *next_offset, int64_t *epoch, char *errstr,
                   size_t errstr_size);

/* BEGIN. */
int zz_store_begin(zz_store_t *store, char *errstr, size_t errstr_size);

/* Inside a transaction: locks the partition's position row (FOR UPDATE).
 * 0 when its epoch is still epoch (*stored_next receives the stored
 * offset), 1 when another instance has claimed it since, -1 on error. */
int zz_store_lock_position(zz_store_t *store, const char *topic,
                           int32_t partition, int64_t epoch,
                           int64_t *stored_next, char *errstr,
                           size_t errstr_size);
/* Inside a transaction: the offset to read next after this batch. */
int zz_store_set_position(zz_store_t *store, const char *topic,
                          int32_t partition, int64_t next_offset, char *errstr,
                          size_t errstr_size);

/* Buffers one outbox row for the current transaction (all bytes copied).
 * stream is a stream name ("subsidy-state"); key may be NULL. */
int zz_store_outbox_append(zz_store_t *store, const char *stream,
                           const void *key, size_t key_len, const void *value,
                           size_t value_len);
/* Rows buffered so far in this transaction. */
size_t zz_store_outbox_pending(const zz_store_t *store);

/* Writes the buffered outbox rows (ids from outbox_seq) and COMMITs. On
 * failure the transaction is rolled back; *sqlstate (may be NULL) receives
 * the five-character SQLSTATE or "" so that the caller can retry a
 * serialization failure or deadlock (40001, 40P01). */
int zz_store_commit(zz_store_t *store, char sqlstate[6], char *errstr,
                    size_t errstr_size);
/* ROLLBACK (if a transaction is open) and forget buffered outbox rows. */
void zz_store_rollback(zz_store_t *store);

#endif
