/*
 * feed_snapshot.c — a department's full list against its previous one.
 *
 * Departments often send everyone they currently recognize rather than the
 * changes. The difference with the last accepted list gives the events:
 * new records are grants, changed ones corrections (or ends, when only an
 * end date appeared), missing ones ends, newly dead persons deaths. A list
 * that would end more than a set share of the department's active
 * identities is refused unless forced: a truncated export must never end
 * thousands of subsidies.
 *
 * Where the previous list is kept: in PostgreSQL (sql/010_feed.sql), not in
 * a state file. The stack already has it; a table survives the machine the
 * feeder ran on, is shared by every operator who feeds a department, is
 * backed up with everything else, and can be locked (an advisory lock per
 * department) so that two clerks feeding the same department at once
 * cannot interleave. The order of work makes a crash harmless: events are
 * produced and flushed first, then the new list replaces the old in one
 * transaction; a crash in between means the next run computes the same
 * diff again, and the same event ids change nothing downstream.
 */
#include "feed_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "zizhu/copy.h"
#include "zizhu/log.h"
#include "zizhu/pg.h"

struct zz_feed_snapshot_s {
        char department[ZZ_FEED_DEPT_SIZE];
        zz_feed_identity_t *recs;
        size_t n, cap;
        size_t *slots; /* hash of dept_record_id -> index + 1 */
        size_t n_slots;
};

uint64_t zz_feed_hash(const char *s)
{
        uint64_t h = 1469598103934665603ULL;

        for (; *s != '\0'; s++) {
                h ^= (unsigned char)*s;
                h *= 1099511628211ULL;
        }
        return h;
}

zz_feed_snapshot_t *zz_feed_snapshot_new(const char *department)
{
        zz_feed_snapshot_t *s = calloc(1, sizeof(*s));

        if (s == NULL)
                return NULL;
        snprintf(s->department, sizeof(s->department), "%s",
                 department ? department : "");
        return s;
}

void zz_feed_snapshot_destroy(zz_feed_snapshot_t *s)
{
        if (s == NULL)
                return;
        free(s->recs);
        free(s->slots);
        free(s);
}

static size_t *find_slot(const zz_feed_snapshot_t *s, const char *id)
{
        size_t mask = s->n_slots - 1;
        size_t i = (size_t)zz_feed_hash(id) & mask;

        for (;;) {
                size_t *slot = &s->slots[i];

                if (*slot == 0 ||
                    strcmp(s->recs[*slot - 1].dept_record_id, id) == 0)
                        return slot;
                i = (i + 1) & mask;
        }
}

static int rehash(zz_feed_snapshot_t *s, size_t n_slots)
{
        size_t *old = s->slots;
        size_t i;

        s->slots = calloc(n_slots, sizeof(size_t));
        if (s->slots == NULL) {
                s->slots = old;
                return -1;
        }
        s->n_slots = n_slots;
        for (i = 0; i < s->n; i++)
                *find_slot(s, s->recs[i].dept_record_id) = i + 1;
        free(old);
        return 0;
}

int zz_feed_snapshot_add(zz_feed_snapshot_t *s, const zz_feed_identity_t *rec)
{
        size_t *slot;

        if ((s->n + 1) * 2 > s->n_slots &&
            rehash(s, s->n_slots ? s->n_slots * 2 : 1024) != 0)
                return -1;
        slot = find_slot(s, rec->dept_record_id);
        if (*slot != 0)
                return 1;
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 512;
                zz_feed_identity_t *p = realloc(s->recs, cap * sizeof(*p));

                if (p == NULL)
                        return -1;
                s->recs = p;
                s->cap = cap;
        }
        s->recs[s->n] = *rec;
        *slot = ++s->n;
        return 0;
}

size_t zz_feed_snapshot_count(const zz_feed_snapshot_t *s)
{
        return s->n;
}

const zz_feed_identity_t *zz_feed_snapshot_get(const zz_feed_snapshot_t *s,
                                               size_t i)
{
        return i < s->n ? &s->recs[i] : NULL;
}

static int is_active(const zz_feed_identity_t *r, zz_date_t as_of)
{
        if (r->deceased_on != ZZ_DATE_NONE)
                return 0;
        return r->valid_to == ZZ_DATE_NONE || r->valid_to >= as_of;
}

size_t zz_feed_snapshot_active(const zz_feed_snapshot_t *s, zz_date_t as_of)
{
        size_t i;
        size_t n = 0;

        for (i = 0; i < s->n; i++)
                n += (size_t)is_active(&s->recs[i], as_of);
        return n;
}

/* ------------------------------------------------------------------ */
/* Diff                                                                */

/* 1 when what the department says about the identity differs (not when
 * it was said, and not the death, which is an event of its own). */
static int content_differs(const zz_feed_identity_t *a,
                           const zz_feed_identity_t *b)
{
        return strcmp(a->person_id, b->person_id) != 0 ||
               strcmp(a->category, b->category) != 0 ||
               strcmp(a->attrs, b->attrs) != 0 ||
               a->valid_from != b->valid_from ||
               strcmp(a->approving_region, b->approving_region) != 0 ||
               strcmp(a->residence_region, b->residence_region) != 0;
}

struct zz_evbuf {
        zz_feed_record_t *ev;
        size_t n, cap;
};

static int push(struct zz_evbuf *b, const zz_feed_identity_t *r, int action,
                zz_date_t valid_to, zz_ts_t reported_at)
{
        zz_feed_record_t *rec;

        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 256;
                zz_feed_record_t *p = realloc(b->ev, cap * sizeof(*p));

                if (p == NULL)
                        return -1;
                b->ev = p;
                b->cap = cap;
        }
        rec = &b->ev[b->n++];
        memset(rec, 0, sizeof(*rec));
        rec->kind = ZZ_FEED_IDENTITY;
        rec->u.identity = *r;
        rec->u.identity.action = action;
        rec->u.identity.valid_to = valid_to;
        rec->u.identity.reported_at = reported_at;
        if (action == ZZ_FEED_ID_DECEASED) {
                rec->u.identity.category[0] = '\0';
                rec->u.identity.attrs[0] = '\0';
                rec->u.identity.valid_from = r->deceased_on;
                rec->u.identity.valid_to = ZZ_DATE_NONE;
        } else {
                rec->u.identity.deceased_on = ZZ_DATE_NONE;
        }
        zz_feed_event_id(rec);
        return 0;
}

static int cmp_ptr(const void *a, const void *b)
{
        const zz_feed_identity_t *x = *(const zz_feed_identity_t *const *)a;
        const zz_feed_identity_t *y = *(const zz_feed_identity_t *const *)b;

        return strcmp(x->dept_record_id, y->dept_record_id);
}

static const zz_feed_identity_t **sorted(const zz_feed_snapshot_t *s)
{
        const zz_feed_identity_t **v = malloc((s->n + 1) * sizeof(*v));
        size_t i;

        if (v == NULL)
                return NULL;
        for (i = 0; i < s->n; i++)
                v[i] = &s->recs[i];
        qsort(v, s->n, sizeof(*v), cmp_ptr);
        return v;
}

/* A record gone from the list: ends the day before as_of (if active). */
static int diff_gone(struct zz_evbuf *b, zz_feed_diff_t *out,
                     const zz_feed_identity_t *p, zz_date_t as_of,
                     zz_ts_t reported_at)
{
        zz_date_t last = as_of - 1;

        if (!is_active(p, as_of)) {
                out->unchanged++;
                return 0;
        }
        if (last < p->valid_from)
                last = p->valid_from;
        if (push(b, p, ZZ_FEED_ID_END, last, reported_at))
                return -1;
        out->ends++;
        return 0;
}

/* A record new in the list: a grant, and a death when it says so. */
static int diff_new(struct zz_evbuf *b, zz_feed_diff_t *out,
                    const zz_feed_identity_t *n)
{
        if (push(b, n, ZZ_FEED_ID_GRANT, n->valid_to, n->reported_at))
                return -1;
        out->grants++;
        if (n->deceased_on != ZZ_DATE_NONE) {
                if (push(b, n, ZZ_FEED_ID_DECEASED, ZZ_DATE_NONE,
                         n->reported_at))
                        return -1;
                out->deaths++;
        }
        return 0;
}

/* A record in both lists, p before and n now: a correction, an end or a
 * death when it changed. */
static int diff_kept(struct zz_evbuf *b, zz_feed_diff_t *out,
                     const zz_feed_identity_t *p, const zz_feed_identity_t *n,
                     zz_date_t as_of)
{
        int same = 1;

        if (content_differs(p, n)) {
                if (push(b, n, ZZ_FEED_ID_CORRECT, n->valid_to, n->reported_at))
                        return -1;
                out->changes++;
                same = 0;
        } else if (p->valid_to != n->valid_to) {
                int ending =
                    n->valid_to != ZZ_DATE_NONE &&
                    (p->valid_to == ZZ_DATE_NONE || n->valid_to < p->valid_to);

                if (push(b, n, ending ? ZZ_FEED_ID_END : ZZ_FEED_ID_CORRECT,
                         n->valid_to, n->reported_at))
                        return -1;
                if (ending && is_active(p, as_of))
                        out->ends++;
                else
                        out->changes++;
                same = 0;
        }
        if (n->deceased_on != ZZ_DATE_NONE &&
            p->deceased_on != n->deceased_on) {
                if (push(b, n, ZZ_FEED_ID_DECEASED, ZZ_DATE_NONE,
                         n->reported_at))
                        return -1;
                out->deaths++;
                same = 0;
        }
        if (same)
                out->unchanged++;
        return 0;
}

int zz_feed_snapshot_diff(const zz_feed_snapshot_t *prev,
                          const zz_feed_snapshot_t *cur, zz_date_t as_of,
                          zz_ts_t reported_at, double max_end_share, int force,
                          zz_feed_diff_t *out)
{
        const zz_feed_identity_t **pv = NULL;
        const zz_feed_identity_t **cv = NULL;
        struct zz_evbuf b = {NULL, 0, 0};
        size_t i, j;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        out->prev_active = zz_feed_snapshot_active(prev, as_of);
        pv = sorted(prev);
        cv = sorted(cur);
        if (pv == NULL || cv == NULL)
                goto done;
        i = j = 0;
        while (i < prev->n || j < cur->n) {
                int c, st;

                if (i == prev->n)
                        c = 1;
                else if (j == cur->n)
                        c = -1;
                else
                        c = strcmp(pv[i]->dept_record_id,
                                   cv[j]->dept_record_id);
                if (c < 0)
                        st = diff_gone(&b, out, pv[i++], as_of, reported_at);
                else if (c > 0)
                        st = diff_new(&b, out, cv[j++]);
                else {
                        st = diff_kept(&b, out, pv[i], cv[j], as_of);
                        i++;
                        j++;
                }
                if (st != 0)
                        goto done;
        }
        if (!force && out->prev_active > 0 &&
            (double)out->ends > max_end_share * (double)out->prev_active) {
                out->refused = 1;
                free(b.ev);
                b.ev = NULL;
                b.n = 0;
        }
        out->events = b.ev;
        out->n_events = b.n;
        b.ev = NULL;
        rc = 0;
done:
        free(b.ev);
        free(pv);
        free(cv);
        return rc;
}

void zz_feed_diff_free(zz_feed_diff_t *diff)
{
        if (diff == NULL)
                return;
        free(diff->events);
        diff->events = NULL;
        diff->n_events = 0;
}

/* ------------------------------------------------------------------ */
/* PostgreSQL                                                          */

/* One session lock per department ($1 "zz-feed:<department>"): two runs
 * for one department do not diff against the same snapshot. Polled, so
 * that a wait is reported (only the workers' role may take it:
 * sql/040_coordination_privileges.sql). */
static const char SQL_LOCK_DEPARTMENT[] =
    "SELECT pg_try_advisory_lock(hashtext($1))";

static const char SQL_LOAD_SNAPSHOT[] =
    "SELECT dept_record_id, person_id, category, attrs, to_char(valid_from, 'YYYY-MM-DD'), to_char(valid_to, 'YYYY-MM-DD'), to_char(deceased_on, 'YYYY-MM-DD'), approving_region, coalesce(residence_region, '')\n"
    "FROM zizhu.feed_snapshot_record\n"
    "WHERE department = $1";

static const char SQL_DELETE_SNAPSHOT[] =
    "DELETE FROM zizhu.feed_snapshot_record\n"
    "WHERE department = $1";

static const char SQL_COPY_SNAPSHOT[] =
    "COPY zizhu.feed_snapshot_record (department, dept_record_id, person_id, category, attrs, valid_from, valid_to, deceased_on, approving_region, residence_region)\n"
    "FROM STDIN";

static const char SQL_RECORD_RUN[] =
    "INSERT INTO zizhu.feed_snapshot_run (department, as_of, file_sha256, records, grants, changes, ends, deaths, prev_active, forced)\n"
    "VALUES ($1, $2::date, $3, $4, $5, $6, $7, $8, $9, $10)";

/* "could not <what>: <the connection's last error>". Returns -1. */
static int failed(PGconn *conn, const char *what, char *errstr,
                  size_t errstr_size)
{
        snprintf(errstr, errstr_size, "could not %s: %s", what,
                 PQerrorMessage(conn));
        return -1;
}

int zz_feed_snapshot_lock(void *vconn, const char *department, char *errstr,
                          size_t errstr_size)
{
        PGconn *conn = vconn;
        char key[32];
        const char *params[1] = {key};

        int waited_ms;

        snprintf(key, sizeof(key), "zz-feed:%s", department);
        for (waited_ms = 0;; waited_ms += 250) {
                PGresult *res = zz_pg_query(conn, SQL_LOCK_DEPARTMENT, 1,
                                            params, NULL, NULL, 0);
                int locked;

                if (res == NULL)
                        return failed(conn, "lock the department", errstr,
                                      errstr_size);
                locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
                PQclear(res);
                if (locked)
                        return 0;
                if (waited_ms >= 5000 && waited_ms % 10000 == 5000)
                        zz_log_warn("waiting %d s for the lock of department "
                                    "%s: another snapshot run holds it",
                                    waited_ms / 1000, department);
                nanosleep(&(struct timespec){0, 250000000L}, NULL);
        }
}

static zz_date_t text_date(const char *s)
{
        zz_date_t d;

        if (s == NULL || s[0] == '\0' || zz_date_parse(s, strlen(s), &d) != 0)
                return ZZ_DATE_NONE;
        return d;
}

/* Row i of a SQL_LOAD_SNAPSHOT result as a record of department. */
static void record_from_row(zz_feed_identity_t *r, const PGresult *res, int i,
                            const char *department)
{
        memset(r, 0, sizeof(*r));
        snprintf(r->department, sizeof(r->department), "%s", department);
        snprintf(r->dept_record_id, sizeof(r->dept_record_id), "%s",
                 PQgetvalue(res, i, 0));
        snprintf(r->person_id, sizeof(r->person_id), "%s",
                 PQgetvalue(res, i, 1));
        snprintf(r->category, sizeof(r->category), "%s", PQgetvalue(res, i, 2));
        snprintf(r->attrs, sizeof(r->attrs), "%s", PQgetvalue(res, i, 3));
        r->action = ZZ_FEED_ID_GRANT;
        r->valid_from = text_date(PQgetvalue(res, i, 4));
        r->valid_to = PQgetisnull(res, i, 5) ? ZZ_DATE_NONE
                                             : text_date(PQgetvalue(res, i, 5));
        r->deceased_on = PQgetisnull(res, i, 6)
                             ? ZZ_DATE_NONE
                             : text_date(PQgetvalue(res, i, 6));
        snprintf(r->approving_region, sizeof(r->approving_region), "%s",
                 PQgetvalue(res, i, 7));
        snprintf(r->residence_region, sizeof(r->residence_region), "%s",
                 PQgetvalue(res, i, 8));
}

zz_feed_snapshot_t *zz_feed_snapshot_load(void *vconn, const char *department,
                                          char *errstr, size_t errstr_size)
{
        PGconn *conn = vconn;
        const char *params[1] = {department};
        PGresult *res;
        zz_feed_snapshot_t *s;
        int i, n;

        res = zz_pg_query(conn, SQL_LOAD_SNAPSHOT, 1, params, NULL, NULL, 0);
        if (res == NULL) {
                failed(conn, "read the previous snapshot", errstr, errstr_size);
                return NULL;
        }
        s = zz_feed_snapshot_new(department);
        if (s == NULL) {
                PQclear(res);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        n = PQntuples(res);
        for (i = 0; i < n; i++) {
                zz_feed_identity_t r;

                record_from_row(&r, res, i, department);
                if (zz_feed_snapshot_add(s, &r) < 0) {
                        PQclear(res);
                        zz_feed_snapshot_destroy(s);
                        snprintf(errstr, errstr_size, "out of memory");
                        return NULL;
                }
        }
        PQclear(res);
        return s;
}

/* d as COPY text into buf (NULL for none: COPY's \N). */
static const char *copy_date(char *buf, size_t size, zz_date_t d)
{
        if (d == ZZ_DATE_NONE)
                return NULL;
        zz_date_format(d, buf, size);
        return buf;
}

/* Writes the records of cur in one COPY. */
static int copy_records(PGconn *conn, const zz_feed_snapshot_t *cur,
                        char *errstr, size_t errstr_size)
{
        char ignore[256];
        zz_copy_t c;
        size_t i;

        if (zz_copy_begin(&c, conn, SQL_COPY_SNAPSHOT, ignore,
                          sizeof(ignore)) != 0)
                return failed(conn, "store the snapshot", errstr, errstr_size);
        for (i = 0; i < cur->n; i++) {
                const zz_feed_identity_t *r = &cur->recs[i];
                char vf[16], vt[16], dd[16];

                zz_copy_field(&c, cur->department, '\t');
                zz_copy_field(&c, r->dept_record_id, '\t');
                zz_copy_field(&c, r->person_id, '\t');
                zz_copy_field(&c, r->category, '\t');
                zz_copy_field(&c, r->attrs, '\t');
                zz_copy_field(&c, copy_date(vf, sizeof(vf), r->valid_from),
                              '\t');
                zz_copy_field(&c, copy_date(vt, sizeof(vt), r->valid_to), '\t');
                zz_copy_field(&c, copy_date(dd, sizeof(dd), r->deceased_on),
                              '\t');
                zz_copy_field(&c, r->approving_region, '\t');
                zz_copy_field(
                    &c, r->residence_region[0] ? r->residence_region : NULL,
                    '\n');
        }
        if (zz_copy_end(&c, ignore, sizeof(ignore)) != 0)
                return failed(conn, "store the snapshot", errstr, errstr_size);
        return 0;
}

/* Records the run: its file, date and what the diff found. */
static int record_run(PGconn *conn, const zz_feed_snapshot_t *cur,
                      zz_date_t as_of, const char *file_sha256,
                      const zz_feed_diff_t *diff, int forced, char *errstr,
                      size_t errstr_size)
{
        char asof[16], recs[24], g[24], c[24], e[24], d[24], pa[24];
        const char *pv[10];

        zz_date_format(as_of, asof, sizeof(asof));
        snprintf(recs, sizeof(recs), "%zu", cur->n);
        snprintf(g, sizeof(g), "%zu", diff->grants);
        snprintf(c, sizeof(c), "%zu", diff->changes);
        snprintf(e, sizeof(e), "%zu", diff->ends);
        snprintf(d, sizeof(d), "%zu", diff->deaths);
        snprintf(pa, sizeof(pa), "%zu", diff->prev_active);
        pv[0] = cur->department;
        pv[1] = asof;
        pv[2] = file_sha256 ? file_sha256 : "";
        pv[3] = recs;
        pv[4] = g;
        pv[5] = c;
        pv[6] = e;
        pv[7] = d;
        pv[8] = pa;
        pv[9] = forced ? "true" : "false";
        if (zz_pg_command(conn, SQL_RECORD_RUN, 10, pv, NULL, NULL, 0) != 0)
                return failed(conn, "record the run", errstr, errstr_size);
        return 0;
}

int zz_feed_snapshot_store(void *vconn, const zz_feed_snapshot_t *cur,
                           zz_date_t as_of, const char *file_sha256,
                           const zz_feed_diff_t *diff, int forced, char *errstr,
                           size_t errstr_size)
{
        PGconn *conn = vconn;
        const char *p1[1] = {cur->department};
        char ignore[64];

        if (zz_pg_exec(conn, "BEGIN", errstr, errstr_size) != 0)
                return -1;
        if (zz_pg_command(conn, SQL_DELETE_SNAPSHOT, 1, p1, NULL, NULL, 0) !=
            0) {
                failed(conn, "replace the snapshot", errstr, errstr_size);
                goto fail;
        }
        if (copy_records(conn, cur, errstr, errstr_size) != 0 ||
            record_run(conn, cur, as_of, file_sha256, diff, forced, errstr,
                       errstr_size) != 0)
                goto fail;
        return zz_pg_exec(conn, "COMMIT", errstr, errstr_size);
fail:
        zz_pg_exec(conn, "ROLLBACK", ignore, sizeof(ignore));
        return -1;
}

int zz_feed_file_sha256(const char *path, char out[65], char *errstr,
                        size_t errstr_size)
{
        FILE *fp = strcmp(path, "-") == 0 ? NULL : fopen(path, "rb");
        EVP_MD_CTX *ctx;
        unsigned char buf[65536];
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        size_t n;
        unsigned int i;

        if (fp == NULL) {
                snprintf(errstr, errstr_size, "could not open %s: %s", path,
                         strerror(errno));
                return -1;
        }
        ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
                EVP_DigestUpdate(ctx, buf, n);
        EVP_DigestFinal_ex(ctx, md, &md_len);
        EVP_MD_CTX_free(ctx);
        fclose(fp);
        for (i = 0; i < md_len && i < 32; i++)
                snprintf(out + i * 2, 3, "%02x", md[i]);
        out[64] = '\0';
        return 0;
}
