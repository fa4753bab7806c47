/*
 * settle_run.c — closing a settlement period in PostgreSQL: re-evaluates
 * every person of the jurisdiction from the facts inside the boundary,
 * compares with the ledger, and writes the lines and the encoded
 * allocation messages (see ledger.h). Also the dashboard refresh and the
 * money conservation check.
 */
#include "zizhu/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "zizhu/idno.h"
#include "zizhu/log.h"
#include "zizhu/pseudonym.h"
#include "zizhu/store.h"

/* One line of the period being closed. */
typedef struct line_s {
        zz_settle_item_t item;
        char pseudonym[ZZ_PSEUDONYM_LEN + 1];
        char masked[19];
        int year;
        char adjusts[ZZ_SETTLE_PERIOD_SIZE]; /* "" when none */
} line_t;

typedef struct lines_s {
        line_t *v;
        size_t n, cap;
} lines_t;

static int lines_push(lines_t *l, const line_t *x)
{
        if (l->n == l->cap) {
                size_t cap = l->cap ? 2 * l->cap : 256;
                line_t *v = realloc(l->v, cap * sizeof(*v));
                if (v == NULL)
                        return -1;
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n++] = *x;
        return 0;
}

static int line_cmp(const void *pa, const void *pb)
{
        const line_t *a = pa, *b = pb;
        int r = strcmp(a->item.payer, b->item.payer);

        if (r == 0)
                r = strcmp(a->item.fund, b->item.fund);
        if (r == 0)
                r = strcmp(a->item.region, b->item.region);
        if (r == 0)
                r = (int)a->item.kind - (int)b->item.kind;
        if (r == 0)
                r = strcmp(a->pseudonym, b->pseudonym);
        if (r == 0)
                r = (a->year > b->year) - (a->year < b->year);
        if (r == 0)
                r = strcmp(a->item.category, b->item.category);
        if (r == 0)
                r = strcmp(a->item.rule, b->item.rule);
        if (r == 0)
                r = strcmp(a->adjusts, b->adjusts);
        if (r == 0)
                r = (a->item.fen > b->item.fen) - (a->item.fen < b->item.fen);
        return r;
}

static int str_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int same_group(const line_t *a, const line_t *b)
{
        return strcmp(a->item.payer, b->item.payer) == 0 &&
               strcmp(a->item.fund, b->item.fund) == 0 &&
               strcmp(a->item.region, b->item.region) == 0 &&
               a->item.kind == b->item.kind;
}

static PGresult *query(PGconn *conn, const char *sql, int n,
                       const char *const *params, char *errstr,
                       size_t errstr_size)
{
        PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(res);

        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
                snprintf(errstr, errstr_size, "settlement query failed: %s",
                         PQresultErrorMessage(res));
                PQclear(res);
                return NULL;
        }
        return res;
}

static int exec(PGconn *conn, const char *sql, int n, const char *const *params,
                char *errstr, size_t errstr_size)
{
        PGresult *res = query(conn, sql, n, params, errstr, errstr_size);

        if (res == NULL)
                return -1;
        PQclear(res);
        return 0;
}

/* Runs sql with one text[] parameter per column of the n rows in vals
 * (row-major, ncols a row; NULL a NULL): a statement per chunk of rows
 * instead of a round trip per row. */
#define ROWS_CHUNK 5000

static int exec_rows(PGconn *conn, const char *sql, const char **vals,
                     size_t ncols, size_t n, char *errstr, size_t errstr_size)
{
        const char **col = calloc(n + 1, sizeof(*col));
        char *arr[16] = {NULL};
        const char *p[16];
        size_t c, r;
        int rc = -1;

        if (col == NULL || ncols > 16) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        for (c = 0; c < ncols; c++) {
                for (r = 0; r < n; r++)
                        col[r] = vals[r * ncols + c];
                arr[c] = zz_store_text_array(col, n);
                if (arr[c] == NULL) {
                        snprintf(errstr, errstr_size, "out of memory");
                        goto out;
                }
                p[c] = arr[c];
        }
        rc = exec(conn, sql, (int)ncols, p, errstr, errstr_size);
out:
        for (c = 0; c < ncols && c < 16; c++)
                free(arr[c]);
        free(col);
        return rc;
}

static void hex32(const char *text, char out[33])
{
        unsigned char md[SHA256_DIGEST_LENGTH];
        size_t i;

        SHA256((const unsigned char *)text, strlen(text), md);
        for (i = 0; i < 16; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ------------------------------------------------------------------ */
/* Avro                                                                */

static int set_str(avro_value_t *rec, const char *name, const char *s)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        return avro_value_set_string(&f, s != NULL ? s : "");
}

static int set_long(avro_value_t *rec, const char *name, int64_t v)
{
        avro_value_t f;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        return avro_value_set_long(&f, v);
}

static int set_enum(avro_value_t *rec, const char *name, const char *symbol)
{
        avro_value_t f;
        int idx;

        if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
                return -1;
        idx = avro_schema_enum_get_by_name(avro_value_get_schema(&f), symbol);
        return avro_value_set_enum(&f, idx < 0 ? 0 : idx);
}

typedef struct catsum_s {
        const char *category;
        int64_t persons;
        zz_fen_t fen;
} catsum_t;

static int catsum_cmp(const void *pa, const void *pb)
{
        const line_t *const *a = pa, *const *b = pb;
        int r = strcmp((*a)->item.category, (*b)->item.category);

        return r != 0 ? r : strcmp((*a)->pseudonym, (*b)->pseudonym);
}

/* Encodes the allocation of lines [g, g + n) (one group, sorted). */
static int encode_group(zz_codec_t *codec, const char *jurisdiction,
                        const char *period, const char *policy_version,
                        const char *allocation_id, const char *close_event_id,
                        int64_t closed_at, const line_t *g, size_t n,
                        int64_t persons, zz_fen_t fen, zz_codec_buf_t *buf,
                        char *errstr, size_t errstr_size)
{
        avro_value_t rec, arr, item, f, br;
        const line_t **by_cat;
        size_t i;
        int rc = 0;

        by_cat = malloc((n + 1) * sizeof(*by_cat));
        if (by_cat == NULL ||
            zz_codec_value_new(codec, ZZ_STREAM_ALLOCATION, &rec) != 0) {
                free(by_cat);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        rc |= set_str(&rec, "allocation_id", allocation_id);
        rc |= set_str(&rec, "jurisdiction", jurisdiction);
        rc |= set_str(&rec, "period", period);
        rc |= set_enum(&rec, "payer", g[0].item.payer);
        rc |= set_enum(&rec, "fund", g[0].item.fund);
        rc |= set_str(&rec, "region", g[0].item.region);
        rc |= set_enum(&rec, "kind", zz_alloc_kind_name(g[0].item.kind));
        rc |= set_long(&rec, "persons", persons);
        rc |= set_long(&rec, "fen", fen);
        /* by category: sorted by category, persons distinct */
        for (i = 0; i < n; i++)
                by_cat[i] = &g[i];
        qsort(by_cat, n, sizeof(*by_cat), catsum_cmp);
        rc |= avro_value_get_by_name(&rec, "by_category", &arr, NULL);
        for (i = 0; rc == 0 && i < n;) {
                size_t j = i;
                int64_t np = 0;
                zz_fen_t sum = 0;

                while (j < n && strcmp(by_cat[j]->item.category,
                                       by_cat[i]->item.category) == 0) {
                        if (j == i || strcmp(by_cat[j]->pseudonym,
                                             by_cat[j - 1]->pseudonym) != 0)
                                np++;
                        sum += by_cat[j]->item.fen;
                        j++;
                }
                rc |= avro_value_append(&arr, &item, NULL);
                rc |= set_str(&item, "category", by_cat[i]->item.category);
                rc |= set_long(&item, "persons", np);
                rc |= set_long(&item, "fen", sum);
                i = j;
        }
        rc |= avro_value_get_by_name(&rec, "lines", &arr, NULL);
        for (i = 0; rc == 0 && i < n; i++) {
                rc |= avro_value_append(&arr, &item, NULL);
                rc |= set_str(&item, "pseudonym", g[i].pseudonym);
                rc |= set_str(&item, "masked_id", g[i].masked);
                rc |= avro_value_get_by_name(&item, "year", &f, NULL);
                rc |= avro_value_set_int(&f, g[i].year);
                rc |= set_str(&item, "category", g[i].item.category);
                rc |= set_long(&item, "fen", g[i].item.fen);
                rc |= set_str(&item, "rule", g[i].item.rule);
                rc |= avro_value_get_by_name(&item, "adjusts_period", &f, NULL);
                if (g[i].adjusts[0] == '\0') {
                        rc |= avro_value_set_branch(&f, 0, &br);
                        rc |= avro_value_set_null(&br);
                } else {
                        rc |= avro_value_set_branch(&f, 1, &br);
                        rc |= avro_value_set_string(&br, g[i].adjusts);
                }
        }
        rc |= set_str(&rec, "policy_version", policy_version);
        rc |= set_long(&rec, "closed_at", closed_at);
        rc |= set_str(&rec, "close_event_id", close_event_id);
        free(by_cat);
        if (rc != 0) {
                avro_value_decref(&rec);
                snprintf(errstr, errstr_size,
                         "could not build an allocation value");
                return -1;
        }
        rc = zz_codec_encode(codec, ZZ_STREAM_ALLOCATION, &rec, buf, errstr,
                             errstr_size);
        avro_value_decref(&rec);
        return rc;
}

/* ------------------------------------------------------------------ */
/* The close                                                           */

static int record_command(PGconn *conn, const zz_settle_cmd_t *cmd,
                          const char *status, const char *reason, char *errstr,
                          size_t errstr_size)
{
        char issued[24], part[16], off[24];
        const char *p[8];

        snprintf(issued, sizeof(issued), "%lld", (long long)cmd->issued_at);
        snprintf(part, sizeof(part), "%d", (int)cmd->src_partition);
        snprintf(off, sizeof(off), "%lld", (long long)cmd->src_offset);
        p[0] = cmd->event_id;
        p[1] = cmd->jurisdiction ? cmd->jurisdiction : "";
        p[2] = cmd->period ? cmd->period : "";
        p[3] = issued;
        p[4] = part;
        p[5] = off;
        p[6] = status;
        p[7] = reason;
        return exec(conn,
                    "INSERT INTO zizhu.settle_command (event_id, "
                    "jurisdiction, period, issued_at, src_partition, "
                    "src_offset, status, reason) VALUES ($1, $2, $3, $4, $5, "
                    "$6, $7, $8) ON CONFLICT (event_id) DO NOTHING",
                    8, p, errstr, errstr_size);
}

static char *boundary_json(const zz_settle_pos_t *b, size_t n)
{
        json_t *arr = json_array();
        char *s;
        size_t i;

        for (i = 0; i < n; i++)
                json_array_append_new(arr, json_pack("{s:s, s:i, s:I}", "topic",
                                                     b[i].topic, "partition",
                                                     (int)b[i].partition, "end",
                                                     (json_int_t)b[i].end));
        s = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        return s;
}

/* Checks a close's boundary against the one the policy's previous period
 * (index k - 1) was settled with: a boundary must not go back on any
 * partition nor leave out a partition the previous one had, or facts
 * already settled would fall outside it and be "un-settled" as
 * adjustments. 0 when it is acceptable (reason untouched), 1 when not
 * (reason says why), -1 on a database error. */
static int boundary_check(PGconn *conn, const zz_policy_t *pol, int k,
                          const zz_settle_cmd_t *cmd, char *reason,
                          size_t reason_size, char *errstr, size_t errstr_size)
{
        char idx[16], prev_label[ZZ_SETTLE_PERIOD_SIZE];
        const char *p[2];
        PGresult *res;
        json_t *prev, *el;
        json_error_t jerr;
        size_t i, j;
        int rc = 0;

        if (k <= 0)
                return 0;
        snprintf(idx, sizeof(idx), "%d", k - 1);
        p[0] = zz_policy_name(pol);
        p[1] = idx;
        res = query(conn,
                    "SELECT boundary::text FROM zizhu.settle_period WHERE "
                    "policy_name = $1 AND period_index = $2",
                    2, p, errstr, errstr_size);
        if (res == NULL)
                return -1;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return 0;
        }
        prev = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
        PQclear(res);
        if (!json_is_array(prev)) {
                snprintf(errstr, errstr_size,
                         "could not read the boundary of the previous "
                         "period: %s",
                         jerr.text);
                json_decref(prev);
                return -1;
        }
        zz_settle_period_label(pol, k - 1, prev_label, sizeof(prev_label));
        json_array_foreach(prev, i, el)
        {
                const char *topic =
                    json_string_value(json_object_get(el, "topic"));
                json_int_t part =
                    json_integer_value(json_object_get(el, "partition"));
                json_int_t end = json_integer_value(json_object_get(el, "end"));

                if (topic == NULL)
                        continue;
                for (j = 0; j < cmd->n_boundary; j++)
                        if (cmd->boundary[j].partition == (int32_t)part &&
                            strcmp(cmd->boundary[j].topic, topic) == 0)
                                break;
                if (j == cmd->n_boundary) {
                        snprintf(reason, reason_size,
                                 "boundary omits partition %s:%d that period "
                                 "%s was settled with",
                                 topic, (int)part, prev_label);
                        rc = 1;
                        break;
                }
                if (cmd->boundary[j].end < (int64_t)end) {
                        snprintf(reason, reason_size,
                                 "boundary is behind period %s on partition "
                                 "%s:%d (offset %lld, was %lld)",
                                 prev_label, topic, (int)part,
                                 (long long)cmd->boundary[j].end,
                                 (long long)end);
                        rc = 1;
                        break;
                }
        }
        json_decref(prev);
        return rc;
}

/* Ledger rows of a policy, ordered by person. */
enum {
        L_PERSON,
        L_YEAR,
        L_PAYER,
        L_FUND,
        L_REGION,
        L_CAT,
        L_RULE,
        L_FEN,
        L_FIRST
};

static int settle_one(const zz_policy_t *pol, int k, const char *person,
                      int year, const zz_settle_item_t *items, size_t n_items,
                      int home, const PGresult *lr, int lbegin, int lend,
                      const char *key, size_t key_len, lines_t *lines,
                      lines_t *ledger_delta)
{
        zz_settle_settled_t settled[64];
        zz_settle_out_t out[128];
        size_t n_settled = 0, n_out, i;
        char pseudonym[ZZ_PSEUDONYM_LEN + 1], masked[19];
        int r;

        for (r = lbegin; r < lend && n_settled < 64; r++) {
                zz_settle_settled_t *s = &settled[n_settled];

                if (atoi(PQgetvalue(lr, r, L_YEAR)) != year)
                        continue;
                memset(s, 0, sizeof(*s));
                snprintf(s->key.payer, sizeof(s->key.payer), "%s",
                         PQgetvalue(lr, r, L_PAYER));
                snprintf(s->key.fund, sizeof(s->key.fund), "%s",
                         PQgetvalue(lr, r, L_FUND));
                snprintf(s->key.region, sizeof(s->key.region), "%s",
                         PQgetvalue(lr, r, L_REGION));
                snprintf(s->key.category, sizeof(s->key.category), "%s",
                         PQgetvalue(lr, r, L_CAT));
                snprintf(s->key.rule, sizeof(s->key.rule), "%s",
                         PQgetvalue(lr, r, L_RULE));
                s->key.fen = strtoll(PQgetvalue(lr, r, L_FEN), NULL, 10);
                s->first_period = atoi(PQgetvalue(lr, r, L_FIRST));
                n_settled++;
        }
        n_out = zz_settle_person(items, n_items, home, settled, n_settled, k,
                                 out, sizeof(out) / sizeof(out[0]));
        if (n_out == 0)
                return 0;
        if (zz_pseudonym(key, key_len, person, strlen(person), pseudonym) != 0)
                return -1;
        zz_idno_mask(person, strlen(person), masked);
        for (i = 0; i < n_out; i++) {
                line_t l;

                memset(&l, 0, sizeof(l));
                l.item = out[i].item;
                memcpy(l.pseudonym, pseudonym, sizeof(pseudonym));
                memcpy(l.masked, masked, sizeof(masked));
                l.year = year;
                if (out[i].adjusts_period >= 0)
                        zz_settle_period_label(pol, out[i].adjusts_period,
                                               l.adjusts, sizeof(l.adjusts));
                if (lines_push(lines, &l) != 0)
                        return -1;
                /* the ledger delta keeps the ID number (internal table) in
                 * the masked field's place: see write_ledger */
                snprintf(l.masked, sizeof(l.masked), "%s", person);
                l.adjusts[0] = '\0';
                if (lines_push(ledger_delta, &l) != 0)
                        return -1;
        }
        return 0;
}

static int write_ledger(PGconn *conn, const char *policy, int k,
                        const lines_t *delta, char *errstr, size_t errstr_size)
{
        enum { NC = 10 };
        char first[16];
        char(*year)[16] = calloc(ROWS_CHUNK, sizeof(*year));
        char(*fen)[24] = calloc(ROWS_CHUNK, sizeof(*fen));
        const char **v = calloc((size_t)ROWS_CHUNK * NC, sizeof(*v));
        size_t i = 0, n;
        int rc = 0;

        if (year == NULL || fen == NULL || v == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                rc = -1;
        }
        snprintf(first, sizeof(first), "%d", k);
        while (rc == 0 && i < delta->n) {
                for (n = 0; i < delta->n && n < ROWS_CHUNK; i++, n++) {
                        const line_t *l = &delta->v[i];
                        const char **p = &v[n * NC];

                        snprintf(year[n], sizeof(year[n]), "%d", l->year);
                        snprintf(fen[n], sizeof(fen[n]), "%lld",
                                 (long long)l->item.fen);
                        p[0] = policy;
                        p[1] = l->masked; /* the ID number, see settle_one */
                        p[2] = year[n];
                        p[3] = l->item.payer;
                        p[4] = l->item.fund;
                        p[5] = l->item.region;
                        p[6] = l->item.category;
                        p[7] = l->item.rule;
                        p[8] = fen[n];
                        p[9] = first;
                }
                /* Summed per key first: a statement may not update a row
                 * twice, and the sum is what the rows one by one added. */
                rc = exec_rows(
                    conn,
                    "INSERT INTO zizhu.settle_ledger AS l (policy_name, "
                    "person_id, year, payer, fund, region, category, rule, "
                    "fen, first_period) SELECT c1, c2, c3::int, c4, c5, c6, "
                    "c7, c8, sum(c9::bigint), min(c10::int) FROM "
                    "unnest($1::text[], $2::text[], $3::text[], $4::text[], "
                    "$5::text[], $6::text[], $7::text[], $8::text[], "
                    "$9::text[], $10::text[]) AS u(c1, c2, c3, c4, c5, c6, "
                    "c7, c8, c9, c10) GROUP BY c1, c2, c3, c4, c5, c6, c7, c8 "
                    "ON CONFLICT (policy_name, person_id, year, payer, fund, "
                    "region, category, rule) DO UPDATE SET fen = l.fen + "
                    "EXCLUDED.fen",
                    v, NC, n, errstr, errstr_size);
        }
        free(year);
        free(fen);
        free(v);
        return rc;
}

/* The lines of one allocation, ROWS_CHUNK to a statement. */
static int insert_lines(PGconn *conn, const zz_policy_t *pol, const char *label,
                        const char *alloc_id, const line_t *lines, size_t n,
                        char *errstr, size_t errstr_size)
{
        enum { NC = 14 };
        char(*year)[16] = calloc(ROWS_CHUNK, sizeof(*year));
        char(*fen)[24] = calloc(ROWS_CHUNK, sizeof(*fen));
        const char **v = calloc((size_t)ROWS_CHUNK * NC, sizeof(*v));
        size_t i = 0, m;
        int rc = 0;

        if (year == NULL || fen == NULL || v == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                rc = -1;
        }
        while (rc == 0 && i < n) {
                for (m = 0; i < n && m < ROWS_CHUNK; i++, m++) {
                        const line_t *l = &lines[i];
                        const char **q = &v[m * NC];

                        snprintf(year[m], sizeof(year[m]), "%d", l->year);
                        snprintf(fen[m], sizeof(fen[m]), "%lld",
                                 (long long)l->item.fen);
                        q[0] = alloc_id;
                        q[1] = zz_policy_name(pol);
                        q[2] = label;
                        q[3] = l->pseudonym;
                        q[4] = l->masked;
                        q[5] = year[m];
                        q[6] = l->item.payer;
                        q[7] = l->item.fund;
                        q[8] = l->item.region;
                        q[9] = zz_alloc_kind_name(l->item.kind);
                        q[10] = l->item.category;
                        q[11] = l->item.rule;
                        q[12] = fen[m];
                        q[13] = l->adjusts[0] ? l->adjusts : NULL;
                }
                rc = exec_rows(
                    conn,
                    "INSERT INTO zizhu.settle_line (allocation_id, "
                    "policy_name, period, pseudonym, masked_id, year, payer, "
                    "fund, region, kind, category, rule, fen, adjusts_period) "
                    "SELECT c1, c2, c3, c4, c5, c6::int, c7, c8, c9, c10, "
                    "c11, c12, c13::bigint, c14 FROM unnest($1::text[], "
                    "$2::text[], $3::text[], $4::text[], $5::text[], "
                    "$6::text[], $7::text[], $8::text[], $9::text[], "
                    "$10::text[], $11::text[], $12::text[], $13::text[], "
                    "$14::text[]) WITH ORDINALITY AS u(c1, c2, c3, c4, c5, "
                    "c6, c7, c8, c9, c10, c11, c12, c13, c14, ord) ORDER BY "
                    "ord",
                    v, NC, m, errstr, errstr_size);
        }
        free(year);
        free(fen);
        free(v);
        return rc;
}

static int publish_rows(PGconn *conn, zz_codec_t *codec, const zz_policy_t *pol,
                        const char *label, const zz_settle_cmd_t *cmd,
                        lines_t *lines, zz_settle_result_t *result,
                        char *errstr, size_t errstr_size)
{
        zz_codec_buf_t buf = ZZ_CODEC_BUF_INIT;
        char key[160];
        size_t i, j;
        int rc = 0;

        snprintf(key, sizeof(key), "%s/%s", cmd->jurisdiction, label);
        if (lines->n > 0) /* v is NULL while the list is empty */
                qsort(lines->v, lines->n, sizeof(line_t), line_cmp);
        for (i = 0; rc == 0 && i < lines->n; i = j) {
                const line_t *g = &lines->v[i];
                char idtext[256], alloc_id[33], persons[24], fen[24];
                int64_t np = 0;
                zz_fen_t sum = 0;
                size_t n;
                const char *p[12];
                int lens[12], fmts[12];
                PGresult *res;

                for (j = i; j < lines->n && same_group(&lines->v[j], g); j++) {
                        if (j == i || strcmp(lines->v[j].pseudonym,
                                             lines->v[j - 1].pseudonym) != 0)
                                np++;
                        sum += lines->v[j].item.fen;
                }
                n = j - i;
                snprintf(idtext, sizeof(idtext), "%s|%s|%s|%s|%s|%s",
                         zz_policy_name(pol), label, g->item.payer,
                         g->item.fund, g->item.region,
                         zz_alloc_kind_name(g->item.kind));
                hex32(idtext, alloc_id);
                rc = encode_group(codec, cmd->jurisdiction, label,
                                  zz_policy_version(pol), alloc_id,
                                  cmd->event_id, cmd->issued_at, g, n, np, sum,
                                  &buf, errstr, errstr_size);
                if (rc != 0)
                        break;
                snprintf(persons, sizeof(persons), "%lld", (long long)np);
                snprintf(fen, sizeof(fen), "%lld", (long long)sum);
                memset(lens, 0, sizeof(lens));
                memset(fmts, 0, sizeof(fmts));
                p[0] = zz_policy_name(pol);
                p[1] = label;
                p[2] = alloc_id;
                p[3] = g->item.payer;
                p[4] = g->item.fund;
                p[5] = g->item.region;
                p[6] = zz_alloc_kind_name(g->item.kind);
                p[7] = persons;
                p[8] = fen;
                p[9] = key;
                lens[9] = (int)strlen(key);
                fmts[9] = 1;
                p[10] = (const char *)buf.data;
                lens[10] = (int)buf.len;
                fmts[10] = 1;
                res = PQexecParams(
                    conn,
                    "INSERT INTO zizhu.settle_allocation (policy_name, "
                    "period, allocation_id, payer, fund, region, kind, "
                    "persons, fen, key, value) VALUES ($1, $2, $3, $4, $5, "
                    "$6, $7, $8, $9, $10, $11)",
                    11, NULL, p, lens, fmts, 0);
                if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                        snprintf(errstr, errstr_size,
                                 "could not store an allocation: %s",
                                 PQresultErrorMessage(res));
                        rc = -1;
                }
                PQclear(res);
                if (rc == 0)
                        rc = insert_lines(conn, pol, label, alloc_id,
                                          &lines->v[i], n, errstr, errstr_size);
                i = j;
                result->allocations++;
                result->lines += n;
                result->fen += sum;
        }
        zz_codec_buf_free(&buf);
        return rc;
}

/* A recovery leaves the decision without an allocation region (no rule
 * pays any more): charge the region the revoked identity was charged to,
 * i.e. the region of the decision with the revoked identities counted. */
static void recovery_region(const zz_policy_t *pol, const zz_case_t *c,
                            zz_settle_item_t *items, size_t n,
                            zz_arena_t *arena)
{
        zz_identity_t *ids;
        zz_case_t c2;
        zz_decision_t d2;
        size_t i;

        if (c->n_identities == 0)
                return;
        ids = zz_arena_calloc(arena, c->n_identities, sizeof(*ids));
        if (ids == NULL)
                return;
        memcpy(ids, c->identities, c->n_identities * sizeof(*ids));
        for (i = 0; i < c->n_identities; i++)
                ids[i].action = ZZ_ACTION_GRANT;
        c2 = *c;
        c2.identities = ids;
        memset(&d2, 0, sizeof(d2));
        if (zz_policy_eval_ex(pol, &c2, &d2, arena, ZZ_EVAL_NO_TRACE) != 0 ||
            d2.region == NULL)
                return;
        for (i = 0; i < n; i++)
                snprintf(items[i].region, sizeof(items[i].region), "%s",
                         d2.region);
}

/* Finds the policy and period a command names. */
static const zz_policy_t *resolve(const zz_policy_t *const *policies, size_t n,
                                  const zz_settle_cmd_t *cmd, int *index)
{
        size_t i;

        for (i = 0; i < n; i++) {
                int k;

                if (!zz_settle_jurisdiction_match(policies[i],
                                                  cmd->jurisdiction))
                        continue;
                k = zz_settle_period_index(policies[i], cmd->period);
                if (k >= 0) {
                        *index = k;
                        return policies[i];
                }
        }
        return NULL;
}

int zz_settle_close(PGconn *conn, zz_codec_t *codec,
                    const zz_policy_t *const *policies, size_t n_policies,
                    const char *pseudonym_key, const zz_settle_cmd_t *cmd,
                    zz_settle_result_t *result, char *errstr,
                    size_t errstr_size)
{
        const zz_policy_t *pol;
        char label[ZZ_SETTLE_PERIOD_SIZE], idx[16], closed[24], tmp[64];
        const char *p[12];
        PGresult *res;
        zz_factset_t *fs = NULL;
        PGresult *lr = NULL;
        zz_arena_t *arena = NULL;
        lines_t lines = {0}, delta = {0};
        int k = -1, n_closed, rc = -1, year, lrow = 0, n_lr;
        size_t i, key_len;
        char *bjson = NULL;

        memset(result, 0, sizeof(*result));
        p[0] = cmd->event_id;
        res = query(conn,
                    "SELECT status FROM zizhu.settle_command WHERE event_id = "
                    "$1",
                    1, p, errstr, errstr_size);
        if (res == NULL)
                return -1;
        if (PQntuples(res) > 0) {
                result->status = 1;
                snprintf(result->reason, sizeof(result->reason),
                         "command seen before (%s)", PQgetvalue(res, 0, 0));
                PQclear(res);
                return 0;
        }
        PQclear(res);
        pol = resolve(policies, n_policies, cmd, &k);
        if (pol == NULL) {
                result->status = 2;
                snprintf(result->reason, sizeof(result->reason),
                         "no policy has jurisdiction \"%s\" and period "
                         "\"%s\"",
                         cmd->jurisdiction, cmd->period);
                return record_command(conn, cmd, "REJECTED", result->reason,
                                      errstr, errstr_size);
        }
        snprintf(result->policy, sizeof(result->policy), "%s",
                 zz_policy_name(pol));
        zz_settle_period_label(pol, k, label, sizeof(label));
        snprintf(result->period, sizeof(result->period), "%s", label);
        p[0] = zz_policy_name(pol);
        res = query(conn,
                    "SELECT count(*), count(*) FILTER (WHERE period = $2) "
                    "FROM zizhu.settle_period WHERE policy_name = $1",
                    2, (const char *const[]){p[0], label}, errstr, errstr_size);
        if (res == NULL)
                return -1;
        n_closed = atoi(PQgetvalue(res, 0, 0));
        if (atoi(PQgetvalue(res, 0, 1)) > 0) {
                PQclear(res);
                result->status = 1;
                snprintf(result->reason, sizeof(result->reason),
                         "period %s of %s is already closed", label,
                         zz_policy_name(pol));
                return record_command(conn, cmd, "ALREADY_CLOSED",
                                      result->reason, errstr, errstr_size);
        }
        PQclear(res);
        if (k != n_closed) {
                result->status = 2;
                zz_settle_period_label(pol, n_closed, tmp, sizeof(tmp));
                snprintf(result->reason, sizeof(result->reason),
                         "period %s of %s cannot close before period %s", label,
                         zz_policy_name(pol), tmp);
                return record_command(conn, cmd, "REJECTED", result->reason,
                                      errstr, errstr_size);
        }
        switch (boundary_check(conn, pol, k, cmd, result->reason,
                               sizeof(result->reason), errstr, errstr_size)) {
        case 0:
                break;
        case 1:
                result->status = 2;
                return record_command(conn, cmd, "REJECTED", result->reason,
                                      errstr, errstr_size);
        default:
                return -1;
        }
        if (pseudonym_key == NULL || pseudonym_key[0] == '\0') {
                snprintf(errstr, errstr_size,
                         "no pseudonym key configured (pseudonym_key / "
                         "ZIZHU_PSEUDONYM_KEY)");
                return -1;
        }
        key_len = strlen(pseudonym_key);
        year = zz_policy_year(pol);

        fs = zz_factset_load(conn, cmd->boundary, cmd->n_boundary, NULL,
                             ZZ_AS_OF_NONE, errstr, errstr_size);
        if (fs == NULL)
                goto done;
        lr = query(conn,
                   "SELECT person_id, year, payer, fund, region, category, "
                   "rule, fen, first_period FROM zizhu.settle_ledger WHERE "
                   "policy_name = $1 ORDER BY person_id COLLATE \"C\", year",
                   1, p, errstr, errstr_size);
        if (lr == NULL)
                goto done;
        n_lr = PQntuples(lr);
        arena = zz_arena_new(0);
        if (arena == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto done;
        }
        for (i = 0; i <= zz_factset_count(fs); i++) {
                const char *person =
                    i < zz_factset_count(fs) ? zz_factset_person(fs, i) : NULL;
                zz_settle_item_t items[ZZ_SETTLE_ITEMS_MAX];
                size_t n_items = 0;
                int home = -1, lbegin, before = 0;
                zz_case_t c;
                zz_decision_t d;

                /* ledger persons without facts in the boundary (cannot
                 * normally happen: facts only grow) settle to zero */
                while (lrow < n_lr &&
                       (person == NULL ||
                        strcmp(PQgetvalue(lr, lrow, L_PERSON), person) < 0)) {
                        const char *lp = PQgetvalue(lr, lrow, L_PERSON);
                        lbegin = lrow;
                        while (lrow < n_lr &&
                               strcmp(PQgetvalue(lr, lrow, L_PERSON), lp) == 0)
                                lrow++;
                        if (settle_one(pol, k, lp, year, NULL, 0, -1, lr,
                                       lbegin, lrow, pseudonym_key, key_len,
                                       &lines, &delta) != 0) {
                                snprintf(errstr, errstr_size, "out of memory");
                                goto done;
                        }
                }
                if (person == NULL)
                        break;
                lbegin = lrow;
                while (lrow < n_lr &&
                       strcmp(PQgetvalue(lr, lrow, L_PERSON), person) == 0)
                        lrow++;
                before = lrow > lbegin;
                zz_arena_reset(arena);
                if (zz_factset_case(fs, i, year, policies, n_policies, &c,
                                    arena) == pol) {
                        memset(&d, 0, sizeof(d));
                        if (zz_policy_eval(pol, &c, &d, arena) == 0) {
                                n_items = zz_settle_items(&c, &d, items);
                                home = zz_settle_home_index(pol, &d);
                                if (d.reconciliation.status ==
                                    ZZ_RECON_RECOVERY_DUE) {
                                        /* the recovery pairs come last */
                                        size_t nr = 0, j;
                                        for (j = 0; j < d.reconciliation.n_owed;
                                             j++)
                                                if (d.reconciliation.owed[j]
                                                        .fen != 0)
                                                        nr += 2;
                                        if (nr > n_items)
                                                nr = n_items;
                                        recovery_region(pol, &c,
                                                        items + (n_items - nr),
                                                        nr, arena);
                                }
                        } else {
                                zz_log_warn("settlement: a person-year is "
                                            "not decidable under %s: %s",
                                            zz_policy_name(pol),
                                            d.error ? d.error : "unknown");
                        }
                }
                if (n_items == 0 && !before)
                        continue;
                if (settle_one(pol, k, person, year, items, n_items, home, lr,
                               lbegin, lrow, pseudonym_key, key_len, &lines,
                               &delta) != 0) {
                        snprintf(errstr, errstr_size,
                                 "could not pseudonymize a person");
                        goto done;
                }
        }
        {
                /* distinct persons in the period's lines */
                const char **ps = malloc((lines.n + 1) * sizeof(*ps));
                size_t a, np = 0;

                if (ps == NULL) {
                        snprintf(errstr, errstr_size, "out of memory");
                        goto done;
                }
                for (a = 0; a < lines.n; a++)
                        ps[a] = lines.v[a].pseudonym;
                qsort(ps, lines.n, sizeof(*ps), str_cmp);
                for (a = 0; a < lines.n; a++)
                        if (a == 0 || strcmp(ps[a], ps[a - 1]) != 0)
                                np++;
                free(ps);
                result->persons = np;
        }
        if (publish_rows(conn, codec, pol, label, cmd, &lines, result, errstr,
                         errstr_size) != 0)
                goto done;
        if (write_ledger(conn, zz_policy_name(pol), k, &delta, errstr,
                         errstr_size) != 0)
                goto done;
        bjson = boundary_json(cmd->boundary, cmd->n_boundary);
        if (bjson == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto done;
        }
        {
                char na[16], nl[16], npers[16], fen[24];

                snprintf(idx, sizeof(idx), "%d", k);
                snprintf(closed, sizeof(closed), "%lld",
                         (long long)cmd->issued_at);
                snprintf(na, sizeof(na), "%zu", result->allocations);
                snprintf(nl, sizeof(nl), "%zu", result->lines);
                snprintf(npers, sizeof(npers), "%zu", result->persons);
                snprintf(fen, sizeof(fen), "%lld", (long long)result->fen);
                p[0] = zz_policy_name(pol);
                p[1] = label;
                p[2] = idx;
                p[3] = cmd->jurisdiction;
                p[4] = zz_policy_version(pol);
                p[5] = cmd->event_id;
                p[6] = closed;
                p[7] = bjson;
                p[8] = na;
                p[9] = nl;
                p[10] = npers;
                p[11] = fen;
                if (exec(conn,
                         "INSERT INTO zizhu.settle_period (policy_name, "
                         "period, period_index, jurisdiction, policy_version, "
                         "close_event_id, closed_at, boundary, allocations, "
                         "lines, persons, fen) VALUES ($1, $2, $3, $4, $5, "
                         "$6, $7, $8::jsonb, $9, $10, $11, $12)",
                         12, p, errstr, errstr_size) != 0)
                        goto done;
        }
        if (record_command(conn, cmd, "CLOSED", "", errstr, errstr_size) != 0)
                goto done;
        result->status = 0;
        rc = 0;
done:
        free(bjson);
        free(lines.v);
        free(delta.v);
        PQclear(lr);
        zz_factset_destroy(fs);
        zz_arena_destroy(arena);
        return rc;
}

/* ------------------------------------------------------------------ */
/* Dashboard refresh                                                   */

/*
 * The pseudonyms of the persons in res (column 0), PSEUDONYM_CHUNK rows to
 * a statement: one row per statement waited on a WAL flush each (most of a
 * first close over a million persons). Each statement stands alone, as the
 * single rows did; ON CONFLICT keeps a pseudonym once written.
 */
#define PSEUDONYM_CHUNK 5000

static int write_pseudonyms(PGconn *conn, const PGresult *res, const char *key,
                            char *errstr, size_t errstr_size)
{
        const char **ids = NULL, **pss = NULL, **masks = NULL;
        char(*ps)[ZZ_PSEUDONYM_LEN + 1] = NULL;
        char(*masked)[19] = NULL;
        int total = PQntuples(res), r = 0, rc = -1;

        ids = calloc(PSEUDONYM_CHUNK, sizeof(*ids));
        pss = calloc(PSEUDONYM_CHUNK, sizeof(*pss));
        masks = calloc(PSEUDONYM_CHUNK, sizeof(*masks));
        ps = calloc(PSEUDONYM_CHUNK, sizeof(*ps));
        masked = calloc(PSEUDONYM_CHUNK, sizeof(*masked));
        if (ids == NULL || pss == NULL || masks == NULL || ps == NULL ||
            masked == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        while (r < total) {
                const char *p[3];
                char *arr[3] = {NULL, NULL, NULL};
                size_t n = 0;
                int k, failed;

                for (; r < total && n < PSEUDONYM_CHUNK; r++) {
                        const char *id = PQgetvalue(res, r, 0);

                        if (zz_pseudonym(key, strlen(key), id, strlen(id),
                                         ps[n]) != 0)
                                continue;
                        zz_idno_mask(id, strlen(id), masked[n]);
                        ids[n] = id;
                        pss[n] = ps[n];
                        masks[n] = masked[n];
                        n++;
                }
                if (n == 0)
                        continue;
                arr[0] = zz_store_text_array(ids, n);
                arr[1] = zz_store_text_array(pss, n);
                arr[2] = zz_store_text_array(masks, n);
                for (k = 0; k < 3; k++)
                        p[k] = arr[k];
                failed = arr[0] == NULL || arr[1] == NULL || arr[2] == NULL;
                if (failed)
                        snprintf(errstr, errstr_size, "out of memory");
                else
                        failed = exec(conn,
                                      "INSERT INTO zizhu.person_pseudonym "
                                      "(person_id, pseudonym, masked_id) "
                                      "SELECT * FROM unnest($1::text[], "
                                      "$2::text[], $3::text[]) ON CONFLICT "
                                      "(person_id) DO NOTHING",
                                      3, p, errstr, errstr_size) != 0;
                for (k = 0; k < 3; k++)
                        free(arr[k]);
                if (failed)
                        goto out;
        }
        rc = 0;
out:
        free(ids);
        free(pss);
        free(masks);
        free(ps);
        free(masked);
        return rc;
}

int zz_settle_refresh(PGconn *conn, const zz_policy_t *const *policies,
                      size_t n_policies, const char *pseudonym_key,
                      char *errstr, size_t errstr_size)
{
        size_t i, t;
        PGresult *res;
        int rc;

        for (i = 0; i < n_policies; i++) {
                char year[16], persons[24];

                snprintf(year, sizeof(year), "%d", zz_policy_year(policies[i]));
                for (t = 0; t < zz_policy_target_count(policies[i]); t++) {
                        const zz_policy_target_t *tg =
                            zz_policy_target(policies[i], t);
                        const char *p[5];

                        snprintf(persons, sizeof(persons), "%lld",
                                 (long long)tg->persons);
                        p[0] = zz_policy_name(policies[i]);
                        p[1] = year;
                        p[2] = tg->region;
                        p[3] = tg->name;
                        p[4] = persons;
                        if (exec(conn,
                                 "INSERT INTO zizhu.enroll_target "
                                 "(policy_name, year, region, name, "
                                 "persons) VALUES ($1, $2, $3, $4, $5) ON "
                                 "CONFLICT (policy_name, region) DO UPDATE "
                                 "SET year = EXCLUDED.year, name = "
                                 "EXCLUDED.name, persons = EXCLUDED.persons",
                                 5, p, errstr, errstr_size) != 0)
                                return -1;
                }
        }
        if (pseudonym_key == NULL || pseudonym_key[0] == '\0')
                return 0;
        res = query(conn,
                    "SELECT DISTINCT d.person_id FROM zizhu.decision d WHERE "
                    "NOT EXISTS (SELECT 1 FROM zizhu.person_pseudonym p "
                    "WHERE p.person_id = d.person_id)",
                    0, NULL, errstr, errstr_size);
        if (res == NULL)
                return -1;
        rc = write_pseudonyms(conn, res, pseudonym_key, errstr, errstr_size);
        PQclear(res);
        return rc;
}

/* ------------------------------------------------------------------ */
/* Conservation                                                        */

#define MAX_PAYERS 16

typedef struct payer_sum_s {
        char payer[ZZ_SETTLE_CODE_SIZE];
        zz_fen_t kind[6]; /* by zz_alloc_kind_t */
        zz_fen_t allocated;
        zz_fen_t state;
} payer_sum_t;

static payer_sum_t *payer_get(payer_sum_t *v, size_t *n, const char *payer)
{
        size_t i;

        for (i = 0; i < *n; i++)
                if (strcmp(v[i].payer, payer) == 0)
                        return &v[i];
        if (*n == MAX_PAYERS)
                return NULL;
        memset(&v[*n], 0, sizeof(v[*n]));
        snprintf(v[*n].payer, sizeof(v[*n].payer), "%s", payer);
        return &v[(*n)++];
}

static int payer_cmp(const void *a, const void *b)
{
        return strcmp(((const payer_sum_t *)a)->payer,
                      ((const payer_sum_t *)b)->payer);
}

int zz_settle_conservation(PGconn *conn, const zz_policy_t *const *policies,
                           size_t n_policies, FILE *out, int *ok, char *errstr,
                           size_t errstr_size)
{
        payer_sum_t v[MAX_PAYERS];
        size_t n = 0, i;
        PGresult *res;
        int r;

        *ok = 0;
        res = query(conn,
                    "SELECT payer, kind, sum(fen) FROM zizhu.settle_allocation "
                    "GROUP BY payer, kind ORDER BY 1, 2",
                    0, NULL, errstr, errstr_size);
        if (res == NULL)
                return -1;
        for (r = 0; r < PQntuples(res); r++) {
                payer_sum_t *ps = payer_get(v, &n, PQgetvalue(res, r, 0));
                zz_alloc_kind_t k =
                    zz_alloc_kind_from_name(PQgetvalue(res, r, 1));
                zz_fen_t fen = strtoll(PQgetvalue(res, r, 2), NULL, 10);

                if (ps == NULL)
                        continue;
                ps->kind[k] += fen;
                ps->allocated += fen;
        }
        PQclear(res);
        /* the state: current decisions whose home period is closed */
        res = query(conn,
                    "SELECT d.policy_name, d.body, (SELECT count(*) FROM "
                    "zizhu.settle_period p WHERE p.policy_name = "
                    "d.policy_name) FROM zizhu.decision d ORDER BY "
                    "d.person_id COLLATE \"C\", d.year",
                    0, NULL, errstr, errstr_size);
        if (res == NULL)
                return -1;
        for (r = 0; r < PQntuples(res); r++) {
                const zz_policy_t *pol = NULL;
                json_error_t jerr;
                json_t *body, *fund, *f;
                const char *period;
                int n_closed = atoi(PQgetvalue(res, r, 2)), home = -1;
                size_t k, j;

                for (j = 0; j < n_policies; j++)
                        if (strcmp(zz_policy_name(policies[j]),
                                   PQgetvalue(res, r, 0)) == 0)
                                pol = policies[j];
                if (pol == NULL || n_closed == 0)
                        continue;
                body = json_loads(PQgetvalue(res, r, 1), 0, &jerr);
                if (body == NULL)
                        continue;
                /* the worker's body names it "period"; the policy-eval
                 * contract "settlement" */
                period = json_string_value(json_object_get(body, "period"));
                if (period == NULL)
                        period = json_string_value(
                            json_object_get(body, "settlement"));
                for (k = 0; period != NULL && k < zz_policy_period_count(pol);
                     k++)
                        if (strcmp(zz_policy_period(pol, k)->name, period) == 0)
                                home = (int)k;
                if (home < 0 || home >= n_closed) {
                        json_decref(body);
                        continue;
                }
                fund = json_object_get(body, "funding");
                json_array_foreach(fund, k, f)
                {
                        const char *payer =
                            json_string_value(json_object_get(f, "payer"));
                        payer_sum_t *ps;

                        if (payer == NULL)
                                continue;
                        ps = payer_get(v, &n, payer);
                        if (ps != NULL)
                                ps->state += json_integer_value(
                                    json_object_get(f, "fen"));
                }
                json_decref(body);
        }
        PQclear(res);
        qsort(v, n, sizeof(v[0]), payer_cmp);
        *ok = 1;
        if (out != NULL)
                fprintf(out, "%-6s %14s %14s %14s %14s %14s %14s %14s\n",
                        "payer", "subsidy", "refunds", "recoveries",
                        "adjustments", "allocated", "state", "difference");
        for (i = 0; i < n; i++) {
                payer_sum_t *ps = &v[i];
                zz_fen_t diff = ps->allocated - ps->state;

                if (diff != 0)
                        *ok = 0;
                if (out != NULL)
                        fprintf(
                            out,
                            "%-6s %14lld %14lld %14lld %14lld %14lld "
                            "%14lld %14lld%s\n",
                            ps->payer, (long long)ps->kind[ZZ_ALLOC_SUBSIDY],
                            (long long)(ps->kind[ZZ_ALLOC_REFUND_VIA_TAX] +
                                        ps->kind[ZZ_ALLOC_REFUND_TO_PERSON]),
                            (long long)-ps->kind[ZZ_ALLOC_RECOVERY],
                            (long long)ps->kind[ZZ_ALLOC_ADJUSTMENT],
                            (long long)ps->allocated, (long long)ps->state,
                            (long long)diff, diff != 0 ? "  <- differs" : "");
        }
        return 0;
}
