/*
 * facts.h — one input message into the subsidy worker's fact tables, or
 * into the dead letters with its reason.
 *
 * zz_facts_apply decodes a message of an input stream with the codec,
 * validates what the policy engine relies on (ID number, category,
 * amounts, dates, enum symbols), and inside the store's open transaction
 * either inserts the fact (ON CONFLICT (event_id) DO NOTHING: a redelivered
 * event changes nothing) or records a dead letter (table row and an outbox
 * row for the dead-letter topic, both idempotent by source coordinates).
 * Reasons are the symbols of the DeadLetter schema. Messages never carry
 * message content, so never an ID number.
 */
#ifndef ZIZHU_FACTS_H
#define ZIZHU_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include "zizhu/codec.h"
#include "zizhu/store.h"
#include "zizhu/subsidy.h"

typedef enum zz_fact_outcome_e {
        ZZ_FACT_APPLIED = 0, /* a new fact: its person must be re-decided */
        ZZ_FACT_DUPLICATE,   /* event id already stored: nothing changed */
        ZZ_FACT_DEAD_LETTER  /* invalid: recorded with a reason */
} zz_fact_outcome_t;

const char *zz_fact_outcome_name(zz_fact_outcome_t outcome);

/* Where a message came from. */
typedef struct zz_fact_source_s {
        const char *topic;
        int32_t partition;
        int64_t offset;
        int64_t timestamp; /* Kafka timestamp, ms; -1 when none */
        const void *key;   /* may be NULL */
        size_t key_len;
        const char *worker; /* name written into dead letters */
        /* Identity: the certifying department whose topic the message was
         * read from (zz_config_identity_dept). A record of another
         * department, or any record when NULL (a topic that is no
         * department's), is dead-lettered DEPARTMENT_MISMATCH. */
        const char *dept;
} zz_fact_source_t;

/* The valid facts of one batch, inserted together by zz_facts_flush. */
typedef struct zz_facts_batch_s zz_facts_batch_t;

zz_facts_batch_t *zz_facts_batch_new(void);
/* Accepts NULL. */
void zz_facts_batch_destroy(zz_facts_batch_t *batch);
/* Forgets gathered facts (after a rollback). */
void zz_facts_batch_reset(zz_facts_batch_t *batch);
/* The policies an enrollment is checked against (borrowed; it must outlive
 * the batch). A value the policy of the enrollment's year and region does
 * not define (a tier it has no contribution for) is not a fact: the
 * enrollment is dead-lettered (UNKNOWN_TIER) instead of being decided as 0.
 * With no policy for that year and region (one not yet activated) the
 * enrollment is stored and waits, as without subsidy set. */
void zz_facts_batch_set_subsidy(zz_facts_batch_t *batch,
                                const zz_subsidy_t *subsidy);

/* Decodes and validates message msg_index of the batch (of stream, an
 * input stream). An invalid one is dead-lettered now, in the store's
 * transaction (*outcome DEAD_LETTER, reason receives the symbol); a valid
 * one is gathered into batch (*outcome APPLIED, provisionally: see
 * zz_facts_flush). -1 on a database or internal error with errstr and
 * *sqlstate. */
int zz_facts_apply(zz_facts_batch_t *batch, zz_store_t *store,
                   zz_codec_t *codec, zz_stream_t stream,
                   const zz_fact_source_t *src, size_t msg_index,
                   const void *payload, size_t len, zz_fact_outcome_t *outcome,
                   char reason[32], char sqlstate[6], char *errstr,
                   size_t errstr_size);

/* Inserts the gathered facts, one statement per table (ON CONFLICT
 * (event_id) DO NOTHING), and settles each gathered message's outcome:
 * outcomes[msg_index] becomes APPLIED (a new fact; persons[msg_index]
 * receives its person's ID number, "" for control) or DUPLICATE. persons
 * may be NULL. Empties the batch. */
int zz_facts_flush(zz_facts_batch_t *batch, zz_store_t *store,
                   zz_fact_outcome_t *outcomes, char (*persons)[19],
                   char sqlstate[6], char *errstr, size_t errstr_size);

#endif
