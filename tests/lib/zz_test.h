/*
 * zz_test.h — the test library (tests/lib/, CMake target zz_testlib),
 * linked by every tests/<kind>/test_*.c binary: the run's environment
 * (broker, PostgreSQL, a database and topics per test, consumer groups of
 * its own), producing and reading Kafka, running the built binaries and the
 * settlement loop, valid ID numbers, hand-written facts and a generated
 * population.
 *
 * One file per concern: env.c (environment, databases, topics), kafka.c
 * (messages, producing, reading the output topics), spawn.c (binaries and
 * workers), settle.c (the settlement loop in-process, the allocation topic),
 * fixtures.c (ID numbers, hand-written events), population.c (generated
 * persons and the case the engine should see for each).
 *
 * Conventions. Every function may be called from a test's own process
 * (Criterion forks one per test) and is not thread-safe. Functions return
 * 0 / -1 with a message on stderr, or NULL; the ones that document it fail
 * the running test with a Criterion assertion instead. Strings passed in
 * are borrowed for the call unless said otherwise; a returned char * is
 * malloc'd and the caller frees it. Messages never carry an ID number.
 */
#ifndef ZZ_TEST_H
#define ZZ_TEST_H

#include <stddef.h>
#include <sys/types.h>

#include <avro.h>
#include <librdkafka/rdkafka.h>

#include "zizhu/codec.h"
#include "zizhu/config.h"
#include "zizhu/date.h"
#include "zizhu/event.h"
#include "zizhu/money.h"
#include "zizhu/policy.h"

/* ------------------------------------------------------------------ */
/* Environment (env.c)                                                  */

/* The pseudonym key every test runs with (exported as
 * ZIZHU_PSEUDONYM_KEY). */
#define ZZ_TEST_PSEUDONYM_KEY "test-pseudonym-key-0123456789abcdef"

/* One test's world. All names derive from the process id (one per test:
 * Criterion forks), a tag the test chooses and, for Kafka, the time, so
 * concurrent tests and runs do not meet: not on a database, a topic or a
 * consumer group. Plain data: copy it freely. */
typedef struct zz_test_env_s {
        char bootstrap[256]; /* $ZIZHU_BOOTSTRAP, else the local stack */
        char pg_base[512];   /* $ZIZHU_PG: the server to create databases on */
        char pg[768];        /* pg_base with dbname=db */
        char db[64];         /* "zzt_<pid>_<tag>" */
        char prefix[96];     /* topic prefix "t<pid>_<tag>_<time>." */
        char group[128];     /* the subsidy worker's group: prefix "subsidy" */
        char settle_group[128]; /* the settlement worker's: prefix
                                 * "settlement" */
        char reader_group[128]; /* the test's own readers: prefix "reader" */
} zz_test_env_t;

/* The value of an environment variable, or def when unset or empty. */
const char *zz_test_getenv(const char *name, const char *def);

/* Fills env's names for tag (a short [a-z0-9_] word); creates nothing. */
void zz_test_env_init(zz_test_env_t *env, const char *tag);

/* Points the process environment (and so the configuration zz_config_load
 * reads and every binary started afterwards) at env: ZIZHU_BOOTSTRAP,
 * ZIZHU_PG, ZIZHU_TOPIC_PREFIX, ZIZHU_PSEUDONYM_KEY, ZZ_SOURCE_DIR. */
void zz_test_env_export(const zz_test_env_t *env);

/* zz_test_env_init, zz_test_env_export, then a fresh database env->db
 * migrated from sql/ and the run's topics. -1 when any of it failed. */
int zz_test_env_new(zz_test_env_t *env, const char *tag);

/* Deletes the run's topics and drops env->db (best effort). Databases a
 * test made besides env->db are its own to drop (zz_test_db_drop). */
void zz_test_env_drop(const zz_test_env_t *env);

/* The topics of a run under env->prefix: identity (one topic per
 * department, zz_config_topic_streams), enrollment, payment
 * (4 partitions each), control (1), subsidy-state (4, compacted),
 * reconciliation (4), allocation (1), dead-letter (4). An existing topic
 * is no error. */
int zz_test_topics_create(const zz_test_env_t *env);
/* -1 when the broker did not confirm the deletion. */
int zz_test_topics_delete(const zz_test_env_t *env);

/* ------------------------------------------------------------------ */
/* PostgreSQL (env.c)                                                   */

/* conninfo of database db on env's server. */
void zz_test_db_conninfo(const zz_test_env_t *env, const char *db, char *out,
                         size_t size);

/* A fresh database db on env's server (an old one of that name is dropped
 * first), migrated from sql/ when migrate is set, empty otherwise. */
int zz_test_db_create(const zz_test_env_t *env, const char *db, int migrate);

/* Drops db WITH (FORCE), retrying for a few seconds. */
int zz_test_db_drop(const zz_test_env_t *env, const char *db);

/* Runs sql (one or more statements, no parameters) on a new connection. */
int zz_test_pg_exec(const char *conninfo, const char *sql);

/* The first column of the first row of sql (malloc'd); NULL when sql
 * failed, returned no row or a NULL. */
char *zz_test_pg_text(const char *conninfo, const char *sql);

/* That value as a number; -1 where zz_test_pg_text gives NULL. */
long long zz_test_pg_count(const char *conninfo, const char *sql);

/* Every row of sql as text: fields separated by a tab, NULL as \N, each
 * row ended by a newline (malloc'd); *rows (may be NULL) receives the
 * number of rows. NULL, with a message on stderr, when sql failed. */
char *zz_test_pg_dump(const char *conninfo, const char *sql, size_t *rows);

/* The decision table, one "<person>/<year> <body>" line per row in a
 * fixed order, for comparing runs (see zz_test_pg_dump). */
char *zz_test_decisions_dump(const zz_test_env_t *env, size_t *rows);

/* ------------------------------------------------------------------ */
/* Messages and Kafka (kafka.c)                                         */

typedef struct zz_test_msg_s {
        zz_stream_t stream;
        /* the topic stream it goes to: the stream's name, for identity its
         * department's topic (identity.mca for a department that has
         * none, or a raw message) */
        char topic[ZZ_CONFIG_STREAM_SIZE];
        char key[64];
        unsigned char *value; /* owned by the list */
        size_t len;
} zz_test_msg_t;

/* A growing list of encoded messages to produce. Zero-initialized it is
 * empty and valid ({0}); the codec is made on first use and owned by the
 * list. */
typedef struct zz_test_msgs_s {
        zz_test_msg_t *m;
        size_t n, cap;
        zz_codec_t *codec;
        int seq; /* numbers the event ids the fixtures make up */
} zz_test_msgs_t;

/* The list's codec (borrowed: it lives until zz_test_msgs_free); fails
 * the test if it cannot be made. */
zz_codec_t *zz_test_msgs_codec(zz_test_msgs_t *ms);

/* Appends a copy of value[0, len) for stream with key. */
void zz_test_msgs_add(zz_test_msgs_t *ms, zz_stream_t stream, const char *key,
                      const void *value, size_t len);

/* Appends a copy of m (its topic included). */
void zz_test_msgs_copy(zz_test_msgs_t *ms, const zz_test_msg_t *m);

/* Encode an event (not validated: a test may send an invalid one on
 * purpose) and append it, keyed by the person (the jurisdiction for a
 * control command). Fail the test when the event does not encode. */
void zz_test_msgs_identity(zz_test_msgs_t *ms, const zz_event_identity_t *e);
/* The identity event e onto department topic_dept's identity topic,
 * whatever its own department (what a department's credentials could
 * write on their topic). */
void zz_test_msgs_identity_on(zz_test_msgs_t *ms, const zz_event_identity_t *e,
                              const char *topic_dept);
void zz_test_msgs_enrollment(zz_test_msgs_t *ms,
                             const zz_event_enrollment_t *e);
void zz_test_msgs_payment(zz_test_msgs_t *ms, const zz_event_payment_t *e);
void zz_test_msgs_control(zz_test_msgs_t *ms, const zz_event_control_t *e);

/* Forgets the messages; the codec and seq stay. */
void zz_test_msgs_clear(zz_test_msgs_t *ms);
/* Frees everything; ms is empty and reusable afterwards. */
void zz_test_msgs_free(zz_test_msgs_t *ms);

/* Produces messages [from, to) of ms (clamped to the list) to
 * "<prefix><topic>" (zz_test_msg_t.topic), with an idempotent producer,
 * and flushes. */
int zz_test_produce(const zz_test_env_t *env, const zz_test_msgs_t *ms,
                    size_t from, size_t to);

/* Produces every message of ms and clears it; then waits 20 ms so that
 * later messages get later timestamps. */
int zz_test_send(const zz_test_env_t *env, zz_test_msgs_t *ms);

/* A read_committed consumer in env's reader group that commits nothing,
 * reports partition ends, and is assigned every partition of
 * "<prefix><stream>" from the beginning; *partitions (may be NULL)
 * receives their number. Destroy with rd_kafka_consumer_close and
 * rd_kafka_destroy. NULL with errstr. */
rd_kafka_t *zz_test_reader_new(const zz_test_env_t *env, const char *stream,
                               int *partitions, char *errstr,
                               size_t errstr_size);

/* Every outbox row is on its topic (subsidy-state, reconciliation,
 * dead-letter) exactly once for a read_committed reader. 0, or -1 with
 * the difference on stderr. */
int zz_test_check_published(const zz_test_env_t *env);

/* ------------------------------------------------------------------ */
/* Binaries and workers (spawn.c)                                       */

/* Where the built binaries are: $ZZ_BIN_DIR, else the build tree. */
const char *zz_test_bin_dir(void);

/* Starts <bin>/<dir>/<name>/<name> (or <bin>/<dir>/<name>) with args
 * (NULL-terminated, at most 38; borrowed). The child runs with env
 * exported (zz_test_env_export), or with the test's environment when env
 * is NULL. The child's pid; -1 when fork failed. */
pid_t zz_test_spawn(const zz_test_env_t *env, const char *dir, const char *name,
                    const char *const *args);

/* Waits for pid: its exit status, or 128 when it did not exit (killed). */
int zz_test_wait(pid_t pid);

/* zz_test_spawn, then zz_test_wait. */
int zz_test_run(const zz_test_env_t *env, const char *dir, const char *name,
                const char *const *args);

typedef enum zz_test_worker_e {
        ZZ_TEST_SUBSIDY_WORKER,   /* consumers/zizhu-subsidy-worker */
        ZZ_TEST_SETTLEMENT_WORKER /* consumers/zizhu-settlement-worker */
} zz_test_worker_t;

/* How to run a worker. Zero means the worker's own default (and no
 * --idle-exit: it runs until stopped). Every worker gets -q and env's
 * groups: the subsidy worker --group env->group, the settlement worker
 * --group env->settle_group --subsidy-group env->group. */
typedef struct zz_test_worker_opts_s {
        int idle_exit_ms;       /* --idle-exit MS */
        int session_timeout_ms; /* -X session.timeout.ms=MS */
        /* subsidy worker */
        int no_relay;  /* --no-relay */
        int batch_ms;  /* --batch-ms MS */
        int batch_max; /* --batch-max N */
        /* settlement worker */
        int wait_ms; /* --wait-ms MS */
} zz_test_worker_opts_t;

/* Starts a worker for env (see zz_test_spawn); opts may be NULL. */
pid_t zz_test_worker_spawn(const zz_test_env_t *env, zz_test_worker_t worker,
                           const zz_test_worker_opts_t *opts);

/* Runs a worker to its end: its exit status. */
int zz_test_worker_run(const zz_test_env_t *env, zz_test_worker_t worker,
                       const zz_test_worker_opts_t *opts);

/* The subsidy worker without the relay until idle for 2.5 s (batches of
 * at most 50 ms): the input is in the facts and decisions, which is all
 * the settlement needs. Its exit status. */
int zz_test_subsidy_load(const zz_test_env_t *env);

/* The subsidy worker with its relay (batches of at most 50 ms) until idle
 * for 10 s: longer than the 6 s session of an instance a test killed, so
 * the partitions it held come to this one before it exits. */
int zz_test_subsidy_run_to_idle(const zz_test_env_t *env);

/* ------------------------------------------------------------------ */
/* Settlement and the allocation topic (settle.c)                       */

/* The settlement loop in-process (zz_settler_run) with env exported and
 * its groups, publishing, until idle for 1.5 s; waits up to 30 s per
 * command for the subsidy worker. 0, or -1 with the error on stderr. */
int zz_test_settle_run(const zz_test_env_t *env);

/* One message of the allocation topic, with the fields the tests check. */
typedef struct zz_test_alloc_s {
        char key[96];
        unsigned char *value; /* the encoded message, owned by the list */
        size_t len;
        char period[32], payer[8], fund[8], region[16], kind[24];
        long long persons, fen;
        size_t n_lines;
        char adjusts[32]; /* adjusts_period of the first line, "" if null */
        long long line_fen[8];
        char line_masked[8][20];
} zz_test_alloc_t;

typedef struct zz_test_allocs_s {
        zz_test_alloc_t *a;
        size_t n, cap;
} zz_test_allocs_t;

/* Reads the whole allocation topic read_committed, in order, into out
 * (overwritten: free it first if it held anything). -1 when the end was
 * not reached or a message did not decode. */
int zz_test_allocs_read(const zz_test_env_t *env, zz_test_allocs_t *out);
void zz_test_allocs_free(zz_test_allocs_t *as);

/* The allocation of period, payer, region and kind (borrowed), or NULL. */
const zz_test_alloc_t *zz_test_alloc_find(const zz_test_allocs_t *as,
                                          const char *period, const char *payer,
                                          const char *region, const char *kind);

/* One line per allocation on stderr. */
void zz_test_allocs_dump(const zz_test_allocs_t *as);

/* Asserts that the allocation is there (fails the test otherwise) and
 * expects its persons and fen. */
void zz_test_alloc_expect(const zz_test_allocs_t *as, const char *period,
                          const char *payer, const char *region,
                          const char *kind, long long persons, long long fen);

/* ------------------------------------------------------------------ */
/* ID numbers and hand-written events (fixtures.c)                      */

/* A valid ID number (GB 11643-1999, check character by zz_idno.h): region
 * (its first 6 characters), birth date birth8 ("YYYYMMDD"), sequence
 * seq % 1000. With birth8 NULL the birth date is 1950-01-01 plus
 * seq / 1000 days, so distinct seq give distinct numbers. */
void zz_test_idno(const char *region, const char *birth8, int seq,
                  char out[19]);

/* "2019-10-15" as a date (ZZ_DATE_NONE for NULL); an ISO timestamp
 * "2019-10-15T10:00:00+08:00" in ms. */
zz_date_t zz_test_date(const char *s);
zz_ts_t zz_test_ts(const char *s);

/* Hand-written facts appended to ms, with event ids made up from ms->seq.
 * action: "GRANT", "REVOKE" or "END"; attrs: "k=v" pairs separated by
 * ';' (at most 4), or NULL. */
void zz_test_identity(zz_test_msgs_t *ms, const char *person, const char *dept,
                      const char *rec, const char *action, const char *category,
                      const char *attrs, const char *valid_from,
                      const char *approving, const char *reported);
/* kind: "ANNUAL" or "MID_YEAR"; an adult, registered by NHSA. */
void zz_test_enrollment(zz_test_msgs_t *ms, const char *person, int year,
                        int tier, const char *kind, const char *registered,
                        const char *region);
/* A REFUND when refund > 0; paid is contribution - applied. */
void zz_test_payment(zz_test_msgs_t *ms, const char *person, int year,
                     long long contribution, long long applied,
                     long long refund, const char *paid_at);

/* Fills e as a CLOSE_PERIOD without positions; e points into ev (at least
 * 48 bytes), which receives its event id. */
void zz_test_close_init(zz_test_msgs_t *ms, zz_event_control_t *e, char ev[48],
                        const char *jurisdiction, const char *period,
                        const char *issued_at);
/* Appends that close. */
void zz_test_close(zz_test_msgs_t *ms, const char *jurisdiction,
                   const char *period, const char *issued_at);

/* ------------------------------------------------------------------ */
/* A generated population (population.c)                                */

typedef struct zz_test_ident_s {
        char event_id[48];
        char record[64];
        const char *department; /* static strings */
        const char *category;
        zz_attr_t attrs[2];
        size_t n_attrs;
        zz_date_t valid_from;
        zz_date_t valid_to;
        zz_ts_t reported_at;
        char approving[16];
} zz_test_ident_t;

/* A person and the facts to send about them. Plain data. */
typedef struct zz_test_person_s {
        char id[19];
        zz_test_ident_t idents[2];
        size_t n_idents;
        int enrolled;
        char enroll_event[48];
        int year;
        int tier;
        zz_enroll_class_t klass;
        zz_date_t registered_on;
        char region[16];
        char household[24];
        int paid;
        char pay_event[48];
        zz_ts_t paid_at;
        zz_fen_t contribution, applied, paid_fen;
} zz_test_person_t;

/* What a policy says of its locality. */
typedef struct zz_test_locality_s {
        const char *region; /* 12 digits, static */
        int year;
        zz_date_t from, to; /* the enrollment window */
        zz_fen_t tier1, tier2;
} zz_test_locality_t;

/* The five policies' localities, in the order tongnan-2021,
 * panzhihua-2022, huilong-2020, yubei-2017, shantou-2021. */
int zz_test_localities(zz_test_locality_t loc[5]);

/* The test library's pseudo-random numbers: [0, n). zz_test_generate
 * reseeds them. */
void zz_test_rand_seed(unsigned long long seed);
unsigned zz_test_rand(unsigned n);

/* n persons across the five policies, deterministic for a seed (malloc'd
 * array: free it); NULL when a policy does not load. */
zz_test_person_t *zz_test_generate(size_t n, unsigned long long seed);

/* The case the subsidy worker should build for p (the tests' oracle);
 * c points into p and idents. */
void zz_test_person_case(const zz_test_person_t *p, zz_identity_t idents[2],
                         zz_case_t *c);

/* p's events appended to ms: one identity record, the enrollment, the
 * payment (with subsidy_applied_fen applied_override when >= 0). */
void zz_test_person_identity(zz_test_msgs_t *ms, const zz_test_person_t *p,
                             const zz_test_ident_t *id);
void zz_test_person_enrollment(zz_test_msgs_t *ms, const zz_test_person_t *p);
void zz_test_person_payment(zz_test_msgs_t *ms, const zz_test_person_t *p,
                            zz_fen_t applied_override);

/* Every event of ps[0, n), stream by stream: identities, enrollments of
 * the enrolled, payments of the paid. */
void zz_test_persons_msgs(zz_test_msgs_t *ms, const zz_test_person_t *ps,
                          size_t n);

#endif
