/*
 * policy_diff.h — `zizhu policy diff`: what a new version of a policy
 * would change, over the facts in the database, before it goes live.
 *
 * Every person of the fact tables is read a chunk of whole persons at a
 * time (the settlement's cursors, settle_facts.h: memory holds one chunk
 * whatever the number of persons), folded and decided by the code the
 * workers use (casefold.h through zz_factset_case, zz_policy_eval), once
 * under each version. Money is what the settlement would allocate for the
 * decision (zz_settle_items of settle.h: SUBSIDY, REFUND_VIA_TAX,
 * REFUND_TO_PERSON, RECOVERY items; nothing for a person who has not
 * paid), summed per payer, fund, region and kind. Nothing is written: the
 * readers run in READ ONLY transactions, so the role zizhu_auditor is
 * enough.
 *
 * With as_of, only the facts known by then count (identity reported_at,
 * payment paid_at, enrollment registration day on or before it), as
 * `zizhu explain --as-of` reads them.
 *
 * Per group: persons (person-years with an amount in the group under
 * either version), changed (those whose amount there differs), fen before
 * and after. The summary line counts every person-year governed, those
 * whose amount changed in any group, and the undecidable.
 *
 * A person-year counts when the version governs it (its jurisdiction and
 * year, as the worker chooses the policy) under either version; "from"
 * decides the year of from, "to" the year of to. A case a version cannot
 * decide (a tier it lacks) is counted as undecidable under that version
 * and contributes nothing there. The largest individual changes name the
 * person by pseudonym (when a key is given) and masked ID number only.
 */
#ifndef ZIZHU_POLICY_DIFF_H
#define ZIZHU_POLICY_DIFF_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "zizhu/policy.h"
#include "zizhu/report.h"

#define ZZ_PDIFF_TOP_DEFAULT 20

typedef struct zz_pdiff_opts_s {
        const zz_policy_t *from, *to; /* borrowed */
        zz_report_format_t format;
        size_t top;                /* largest changes listed; 0: default */
        const char *pseudonym_key; /* NULL: masked numbers only */
        size_t chunk;              /* rows per fetch; 0: the cursor's */
        long long as_of; /* only facts known by then (ms, business time, as
                          * zz_factset_load); ZZ_AS_OF_NONE: all */
        FILE *progress;  /* a line per chunk; NULL: none */
} zz_pdiff_opts_t;

/* Reads every person through conn's parameters, writes the report to out.
 * 0, or -1 with errstr on a database error or when out of memory. */
int zz_policy_diff(PGconn *conn, const zz_pdiff_opts_t *opts, FILE *out,
                   char *errstr, size_t errstr_size);

#endif
