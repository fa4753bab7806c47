/*
 * replay.h — rebuilds the whole pipeline state from the input topics into a
 * fresh PostgreSQL database, for audit (DOMAIN.md promise 2).
 *
 * The tables live in schema zizhu of every database (the migrations name it
 * explicitly), so "a fresh schema" is a fresh database: zz_replay_run
 * creates it, applies the migrations, and runs the very same code as the
 * live pipeline against it — the subsidy worker loop (worker.c, consumer
 * group "zizhu-replay") and the settlement loop (settle_worker.c, group
 * "zizhu-replay-settlement", not publishing) — until both are idle. The
 * allocation messages it computes are left in the replay database's
 * zizhu.settle_allocation, for `zizhu audit verify` to compare with the
 * published ones byte for byte.
 *
 * From a timestamp: every input partition (and the control topic) starts
 * at the first offset whose timestamp is at or after it (offsets_for_times),
 * so only periods whose facts all lie after it replay identically.
 *
 * Threads: zz_replay_run runs the worker loop and then the settlement
 * loop on the calling thread; with progress it starts one more thread,
 * which draws the bar from its own connection and shares with the caller
 * only the phase name and a done flag (atomics). It changes opts->config
 * (the pg setting) before it starts that thread, so no other thread may
 * use the configuration while it runs. *opts->stop: an atomic, set by a
 * signal handler or another thread (see worker.h). zz_replay_conninfo:
 * any thread.
 */
#ifndef ZIZHU_REPLAY_H
#define ZIZHU_REPLAY_H

#include <stdatomic.h>
#include <stddef.h>

#include "zizhu/config.h"

typedef struct zz_replay_opts_s {
        zz_config_t *config;    /* borrowed; its pg setting is changed to
                                 * the replay database while running */
        const char *database;   /* name of the database to create */
        const char *policy_dir; /* policies/ */
        const char *sql_dir;    /* sql/ */
        long long from_ms;      /* -1: from the beginning */
        int drop;               /* drop the database first if it exists */
        int progress;           /* progress bar on stderr */
        const atomic_int *stop; /* borrowed; non-zero: stop */
} zz_replay_opts_t;

/* 0, or -1 with errstr. */
int zz_replay_run(const zz_replay_opts_t *opts, char *errstr,
                  size_t errstr_size);

/* base conninfo with dbname replaced by db, into buf: db is quoted by the
 * conninfo rules, so any name (spaces, quotes, "x host=y") stays one
 * database name. When buf is too small it receives a conninfo that libpq
 * refuses (an unterminated quote). */
void zz_replay_conninfo(const char *base, const char *db, char *buf,
                        size_t size);

#endif
