/*
 * loadgen.h — a deterministic synthetic population and its events.
 *
 * From a seed and a size, zz_loadgen_run generates persons in households and
 * villages of one of the five jurisdictions of POLICIES.md (or of all five,
 * as a province), with a realistic mix of identity categories, persons with
 * several identities, flags that reach tax late, revocations, deaths,
 * mid-year enrollments, payments, refunds and enrollments elsewhere; and
 * hands every event, as a feed record, to a callback (zizhu-loadgen sends
 * them to Kafka or writes them as files). ID numbers are valid (region
 * prefix of the county, birth date, sequence, check character) and unique
 * within a run.
 *
 * The same options give the same events, byte for byte, in the same order:
 * persons are generated one after the other from a generator seeded by
 * (seed, person index), and nothing reads the clock.
 *
 * Expected totals are computed by the real policy engine (policy.h) over
 * each person's final facts, so that tests can check the pipeline against
 * them: zz_loadgen_write_expected writes them as JSON.
 */
#ifndef ZIZHU_LOADGEN_H
#define ZIZHU_LOADGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "zizhu/feed.h"

typedef struct zz_loadgen_options_s {
        uint64_t seed;
        /* "huilong", "tongnan", "panzhihua", "yubei", "shantou", or
         * "province" (all five, weighted by population). */
        const char *jurisdiction;
        uint64_t persons; /* 1 .. 10 000 000 (more is allowed) */
        /* Directory of the policy files (<name>.yaml). */
        const char *policy_dir;
        /* 0: compute expected totals (default); 1: skip the policy engine
         * (pure generator speed). */
        int no_expected;
} zz_loadgen_options_t;

typedef struct zz_loadgen_s zz_loadgen_t;

/* Loads the policies the jurisdiction needs. NULL with errstr when the
 * jurisdiction is unknown or a policy file does not load. */
zz_loadgen_t *zz_loadgen_new(const zz_loadgen_options_t *options, char *errstr,
                             size_t errstr_size);
void zz_loadgen_destroy(zz_loadgen_t *lg); /* accepts NULL */

/* Generates every event and calls emit for each, in a deterministic order.
 * A non-zero return of emit stops the run and is returned. 0 when done;
 * -1 with errstr when the policy engine refused a case (a bug). */
int zz_loadgen_run(zz_loadgen_t *lg, zz_feed_record_cb emit, void *opaque,
                   char *errstr, size_t errstr_size);

/* Events generated per stream (identity, enrollment, payment, control). */
uint64_t zz_loadgen_events(const zz_loadgen_t *lg, zz_feed_kind_t kind);

/* Writes the expected totals (one JSON object, per policy: persons,
 * enrolled, paid, eligible, subsidy and its split by payer; "decided", the
 * persons the pipeline has a decision for under the policy; "settled",
 * what the closes of all its periods allocate: net per payer (persons
 * with a non-zero net, fen) and by kind; reconciliation counts (of decided
 * persons) and amounts by status; events per stream). -1 on a write
 * error. */
int zz_loadgen_write_expected(const zz_loadgen_t *lg, FILE *fp);

/* Space-separated names of the jurisdictions. */
const char *zz_loadgen_jurisdictions(void);

#endif
