/*
 * casefold.h — a person's stored facts folded into a zz_case_t, the one
 * implementation of the folding rules of subsidy.h, shared by the subsidy
 * worker (subsidy.c) and the settlement (settle_facts.c, see settle_facts.h).
 *
 * The facts are rows the caller loaded (zz_rows_t of rows.h: for the
 * workers, PGresults wrapped by zz_pg_rows() of pg.h), one table per fact
 * table, with the columns below in this order and the rows of one person
 * together ([begin, end) of a zz_casefold_span_t). Identity rows must be
 * ordered by department, dept_record_id (both "C" collation), reported_at,
 * event_id. The caller keeps the results alive while it uses what the
 * functions return: every string of a folded person or case points into
 * them, or into the arena (identities, attributes).
 */
#ifndef ZIZHU_CASEFOLD_H
#define ZIZHU_CASEFOLD_H

#include <stddef.h>

#include "zizhu/arena.h"
#include "zizhu/date.h"
#include "zizhu/policy.h"
#include "zizhu/rows.h"

/* Columns of identity rows (dates as days since 1970-01-01). */
enum {
        ZZ_CASEFOLD_I_PERSON,
        ZZ_CASEFOLD_I_EVENT,
        ZZ_CASEFOLD_I_DEPT,
        ZZ_CASEFOLD_I_REC,
        ZZ_CASEFOLD_I_ACTION,
        ZZ_CASEFOLD_I_CAT,
        ZZ_CASEFOLD_I_ATTRS, /* jsonb as text */
        ZZ_CASEFOLD_I_VFROM,
        ZZ_CASEFOLD_I_VTO,
        ZZ_CASEFOLD_I_APPROVING,
        ZZ_CASEFOLD_I_RESIDENCE,
        ZZ_CASEFOLD_I_REPORTED,
        ZZ_CASEFOLD_I_DECEASED
};
/* Columns of enrollment rows. */
enum {
        ZZ_CASEFOLD_E_PERSON,
        ZZ_CASEFOLD_E_EVENT,
        ZZ_CASEFOLD_E_DEPT,
        ZZ_CASEFOLD_E_REC,
        ZZ_CASEFOLD_E_ACTION,
        ZZ_CASEFOLD_E_HOUSEHOLD,
        ZZ_CASEFOLD_E_YEAR,
        ZZ_CASEFOLD_E_TIER,
        ZZ_CASEFOLD_E_CLASS,
        ZZ_CASEFOLD_E_KIND,
        ZZ_CASEFOLD_E_REGISTERED,
        ZZ_CASEFOLD_E_REGION,
        ZZ_CASEFOLD_E_UNIT
};
/* Columns of payment rows (more may follow; they are not read). */
enum {
        ZZ_CASEFOLD_P_PERSON,
        ZZ_CASEFOLD_P_EVENT,
        ZZ_CASEFOLD_P_YEAR,
        ZZ_CASEFOLD_P_CONTRIB,
        ZZ_CASEFOLD_P_APPLIED,
        ZZ_CASEFOLD_P_PAID,
        ZZ_CASEFOLD_P_PAID_AT
};

/* Rows [begin, end) of one person in a result. */
typedef struct zz_casefold_span_s {
        int begin, end;
} zz_casefold_span_t;

/* The latest fact in business time (then the largest event id); event_id
 * NULL when none was considered. */
typedef struct zz_casefold_source_s {
        zz_ts_t at;
        const char *event_id;
} zz_casefold_source_t;

/* Where one folded department record came from. */
typedef struct zz_casefold_ref_s {
        const char *event_id; /* the latest event of the record */
        const char *department;
        const char *dept_record_id;
        const char *category;
        const char *residence_region; /* NULL when not reported */
} zz_casefold_ref_t;

/* A person's identity records, folded. */
typedef struct zz_casefold_person_s {
        const char *person_id;     /* borrowed; set by the caller */
        zz_identity_t *identities; /* in the arena */
        zz_casefold_ref_t *refs;   /* refs[i] of identities[i], arena */
        size_t n_identities;
        zz_date_t deceased_on; /* the earliest reported; or ZZ_DATE_NONE */
        zz_casefold_source_t identity_source; /* over every identity row */
        const char *residence; /* latest residence region reported */
} zz_casefold_person_t;

/* The NULL-aware readers of a fact column: a string (NULL when null), a
 * number (0 when null), a date (ZZ_DATE_NONE when null). */
const char *zz_casefold_val(zz_rows_t res, int row, int col);
long long zz_casefold_num(zz_rows_t res, int row, int col);
zz_date_t zz_casefold_date(zz_rows_t res, int row, int col);

/* Makes (at, event_id) the source when it is later than *src. event_id is
 * borrowed. */
void zz_casefold_source_consider(zz_casefold_source_t *src, zz_ts_t at,
                                 const char *event_id);

/* Folds identity rows sp of res into p (all but person_id), arrays in
 * arena. An attrs text that is not a JSON object gives no attributes. 0, or
 * -1 when the arena is out of memory. */
int zz_casefold_identities(zz_arena_t *arena, zz_rows_t res,
                           zz_casefold_span_t sp, zz_casefold_person_t *p);

/* The row of the REGISTER of year not cancelled, latest by registration
 * date then event id; -1 when none. */
int zz_casefold_enrollment(zz_rows_t er, zz_casefold_span_t sp, int year);
/* The row of the payment of year latest by paid_at then event id; -1 when
 * none. */
int zz_casefold_payment(zz_rows_t pr, zz_casefold_span_t sp, int year);

/* The first of policies (borrowed, n of them) for year whose jurisdiction
 * holds region; NULL when none or region is NULL or empty. */
const zz_policy_t *zz_casefold_policy_for(const zz_policy_t *const *policies,
                                          size_t n, int year,
                                          const char *region);
/* The policy of a person-year: by the enrollment's region (enroll_region,
 * may be NULL), else by each identity's approving, then residence region. */
const zz_policy_t *zz_casefold_policy(const zz_policy_t *const *policies,
                                      size_t n, int year,
                                      const zz_casefold_person_t *p,
                                      const char *enroll_region);

/* Initializes c and fills it from p and the chosen rows: be of er (-1:
 * none), bp of pr (-1: none). c borrows from p and the results. */
void zz_casefold_case(zz_case_t *c, const zz_casefold_person_t *p, int year,
                      zz_rows_t er, int be, zz_rows_t pr, int bp);

#endif
