/*
 * settle_run.c — closing a settlement period in PostgreSQL: re-evaluates
 * every person of the jurisdiction from the facts inside the boundary,
 * compares with the ledger, and writes the lines and the encoded
 * allocation messages (see settle_run.h). Also the dashboard refresh and the
 * money conservation check.
 *
 * A close reads its persons a chunk at a time (zz_factset_open) and writes
 * each chunk's ledger rows while the next chunks are settled; only the
 * period's lines are kept to the end, compactly, since every allocation
 * message carries all of its lines. Lines and ledger rows go in with
 * COPY. The rows and bytes are those of settling everyone at once.
 */
#include "zizhu/settle_run.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "zizhu/avro_fields.h"
#include "zizhu/copy.h"
#include "zizhu/idno.h"
#include "zizhu/log.h"
#include "zizhu/pg.h"
#include "zizhu/pseudonym.h"
#include "settle_int.h"

/*
 * The strings of a close's lines (payers, funds, regions, categories,
 * rules, period labels: a few hundred at most), each kept once; lines
 * refer to them by number, which keeps a line at 96 bytes for the million
 * lines of a close of 10 million persons. Before the lines are sorted,
 * the numbers are renumbered in the strings' strcmp order, so that lines
 * compare numbers where they compared strings.
 */
typedef struct strtab_s {
        char **v; /* v[0] is "" */
        size_t n, cap;
        uint32_t *slot; /* hash slots: number + 1, 0 when empty */
        size_t n_slot;
} strtab_t;

static uint32_t str_hash(const char *s)
{
        uint32_t h = 2166136261u;

        for (; *s != '\0'; s++)
                h = (h ^ (unsigned char)*s) * 16777619u;
        return h;
}

static void strtab_free(strtab_t *t)
{
        size_t i;

        for (i = 0; i < t->n; i++)
                free(t->v[i]);
        free(t->v);
        free(t->slot);
        memset(t, 0, sizeof(*t));
}

static int strtab_rehash(strtab_t *t, size_t n_slot)
{
        uint32_t *slot = calloc(n_slot, sizeof(*slot));
        size_t i;

        if (slot == NULL)
                return -1;
        for (i = 0; i < t->n; i++) {
                size_t h = str_hash(t->v[i]) & (n_slot - 1);

                while (slot[h] != 0)
                        h = (h + 1) & (n_slot - 1);
                slot[h] = (uint32_t)i + 1;
        }
        free(t->slot);
        t->slot = slot;
        t->n_slot = n_slot;
        return 0;
}

/* The number of s (added when new); -1 when out of memory. */
static int strtab_id(strtab_t *t, const char *s, uint32_t *id)
{
        size_t h;

        if (t->n == 0 && strcmp(s, "") != 0 && strtab_id(t, "", id) != 0)
                return -1;
        if (2 * (t->n + 1) > t->n_slot &&
            strtab_rehash(t, t->n_slot ? 2 * t->n_slot : 64) != 0)
                return -1;
        h = str_hash(s) & (t->n_slot - 1);
        while (t->slot[h] != 0) {
                if (strcmp(t->v[t->slot[h] - 1], s) == 0) {
                        *id = t->slot[h] - 1;
                        return 0;
                }
                h = (h + 1) & (t->n_slot - 1);
        }
        if (t->n == t->cap) {
                size_t cap = t->cap ? 2 * t->cap : 64;
                char **v = realloc(t->v, cap * sizeof(*v));

                if (v == NULL)
                        return -1;
                t->v = v;
                t->cap = cap;
        }
        t->v[t->n] = strdup(s);
        if (t->v[t->n] == NULL)
                return -1;
        t->slot[h] = (uint32_t)t->n + 1;
        *id = (uint32_t)t->n++;
        return 0;
}

static const char *str_of(const strtab_t *t, uint32_t id)
{
        return id < t->n ? t->v[id] : "";
}

/* One line of the period being closed (or of the ledger delta, which
 * keeps the ID number in masked's place: an internal table). */
typedef struct line_s {
        uint32_t payer, fund, region, category, rule;
        uint32_t adjusts; /* the label of the period corrected; "" none */
        int32_t year;
        int32_t kind; /* zz_alloc_kind_t */
        zz_fen_t fen;
        char pseudonym[ZZ_PSEUDONYM_LEN + 1];
        char masked[19];
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

static int u32_cmp(uint32_t a, uint32_t b)
{
        return (a > b) - (a < b);
}

static const strtab_t *sort_tab; /* for strtab_sort's comparison */

static int id_cmp(const void *pa, const void *pb)
{
        return strcmp(sort_tab->v[*(const uint32_t *)pa],
                      sort_tab->v[*(const uint32_t *)pb]);
}

/* Renumbers the strings in strcmp order, and the lines with them. */
static int strtab_sort(strtab_t *t, lines_t *lines)
{
        uint32_t *order = malloc((t->n + 1) * sizeof(*order));
        uint32_t *rank = malloc((t->n + 1) * sizeof(*rank));
        char **v = malloc((t->n + 1) * sizeof(*v));
        size_t i;

        if (order == NULL || rank == NULL || v == NULL) {
                free(order);
                free(rank);
                free(v);
                return -1;
        }
        for (i = 0; i < t->n; i++)
                order[i] = (uint32_t)i;
        sort_tab = t;
        qsort(order, t->n, sizeof(*order), id_cmp);
        sort_tab = NULL;
        for (i = 0; i < t->n; i++) {
                rank[order[i]] = (uint32_t)i;
                v[i] = t->v[order[i]];
        }
        for (i = 0; i < lines->n; i++) {
                line_t *l = &lines->v[i];

                l->payer = rank[l->payer];
                l->fund = rank[l->fund];
                l->region = rank[l->region];
                l->category = rank[l->category];
                l->rule = rank[l->rule];
                l->adjusts = rank[l->adjusts];
        }
        free(t->v);
        t->v = v;
        free(order);
        free(rank);
        return strtab_rehash(t, t->n_slot);
}

/* The order of lines in the allocations (after strtab_sort): payer,
 * fund, region, kind, then pseudonym, year, category, rule, the period
 * corrected, fen. */
static int line_cmp(const void *pa, const void *pb)
{
        const line_t *a = pa, *b = pb;
        int r = u32_cmp(a->payer, b->payer);

        if (r == 0)
                r = u32_cmp(a->fund, b->fund);
        if (r == 0)
                r = u32_cmp(a->region, b->region);
        if (r == 0)
                r = (int)a->kind - (int)b->kind;
        if (r == 0)
                r = strcmp(a->pseudonym, b->pseudonym);
        if (r == 0)
                r = (a->year > b->year) - (a->year < b->year);
        if (r == 0)
                r = u32_cmp(a->category, b->category);
        if (r == 0)
                r = u32_cmp(a->rule, b->rule);
        if (r == 0)
                r = u32_cmp(a->adjusts, b->adjusts);
        if (r == 0)
                r = (a->fen > b->fen) - (a->fen < b->fen);
        return r;
}

static const line_t *sort_lines; /* for lines_sort's comparison */

static int line_index_cmp(const void *pa, const void *pb)
{
        return line_cmp(&sort_lines[*(const uint32_t *)pa],
                        &sort_lines[*(const uint32_t *)pb]);
}

/* Sorts the lines with line_cmp in place. qsort of the lines themselves
 * would take a copy of them all (glibc's merge sort); this sorts their
 * numbers and then moves each line once, along the permutation's
 * cycles. -1 when out of memory. */
static int lines_sort(lines_t *l)
{
        uint32_t *order;
        size_t i;

        if (l->n < 2)
                return 0;
        order = malloc(l->n * sizeof(*order));
        if (order == NULL)
                return -1;
        for (i = 0; i < l->n; i++)
                order[i] = (uint32_t)i;
        sort_lines = l->v;
        qsort(order, l->n, sizeof(*order), line_index_cmp);
        sort_lines = NULL;
        /* position i takes line order[i]; a taken slot is marked n */
        for (i = 0; i < l->n; i++) {
                size_t j = i;
                line_t tmp;

                if (order[i] == (uint32_t)l->n || order[i] == (uint32_t)i)
                        continue;
                tmp = l->v[i];
                while (order[j] != (uint32_t)i) {
                        size_t next = order[j];

                        l->v[j] = l->v[next];
                        order[j] = (uint32_t)l->n;
                        j = next;
                }
                l->v[j] = tmp;
                order[j] = (uint32_t)l->n;
        }
        free(order);
        return 0;
}

static int str_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int same_group(const line_t *a, const line_t *b)
{
        return a->payer == b->payer && a->fund == b->fund &&
               a->region == b->region && a->kind == b->kind;
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Statements                                                          */

/* What most failed statements here say. */
#define QUERY_FAILED "settlement query failed"

/* Replaces errstr (a statement's error) with "QUERY_FAILED: errstr" and
 * returns -1. */
static int query_failed(char *errstr, size_t errstr_size)
{
        settle_failed(QUERY_FAILED, errstr, errstr_size);
        return -1;
}

/* ------------------------------------------------------------------ */
/* Avro                                                                */

typedef struct catsum_s {
        const char *category;
        int64_t persons;
        zz_fen_t fen;
} catsum_t;

static int catsum_cmp(const void *pa, const void *pb)
{
        const line_t *const *a = pa, *const *b = pb;
        int r = u32_cmp((*a)->category, (*b)->category);

        return r != 0 ? r : strcmp((*a)->pseudonym, (*b)->pseudonym);
}

/* Encodes the allocation of lines [g, g + n) (one group, sorted). */
static int encode_group(zz_codec_t *codec, const strtab_t *tab,
                        const char *jurisdiction, const char *period,
                        const char *policy_version, const char *allocation_id,
                        const char *close_event_id, int64_t closed_at,
                        const line_t *g, size_t n, int64_t persons,
                        zz_fen_t fen, zz_codec_buf_t *buf, char *errstr,
                        size_t errstr_size)
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
        rc |= zz_avro_set_str(&rec, "allocation_id", allocation_id);
        rc |= zz_avro_set_str(&rec, "jurisdiction", jurisdiction);
        rc |= zz_avro_set_str(&rec, "period", period);
        rc |= zz_avro_set_enum(&rec, "payer", str_of(tab, g[0].payer));
        rc |= zz_avro_set_enum(&rec, "fund", str_of(tab, g[0].fund));
        rc |= zz_avro_set_str(&rec, "region", str_of(tab, g[0].region));
        rc |= zz_avro_set_enum(&rec, "kind",
                               zz_alloc_kind_name((zz_alloc_kind_t)g[0].kind));
        rc |= zz_avro_set_long(&rec, "persons", persons);
        rc |= zz_avro_set_long(&rec, "fen", fen);
        /* by category: sorted by category, persons distinct */
        for (i = 0; i < n; i++)
                by_cat[i] = &g[i];
        qsort(by_cat, n, sizeof(*by_cat), catsum_cmp);
        rc |= avro_value_get_by_name(&rec, "by_category", &arr, NULL);
        for (i = 0; rc == 0 && i < n;) {
                size_t j = i;
                int64_t np = 0;
                zz_fen_t sum = 0;

                while (j < n && by_cat[j]->category == by_cat[i]->category) {
                        if (j == i || strcmp(by_cat[j]->pseudonym,
                                             by_cat[j - 1]->pseudonym) != 0)
                                np++;
                        sum += by_cat[j]->fen;
                        j++;
                }
                rc |= avro_value_append(&arr, &item, NULL);
                rc |= zz_avro_set_str(&item, "category",
                                      str_of(tab, by_cat[i]->category));
                rc |= zz_avro_set_long(&item, "persons", np);
                rc |= zz_avro_set_long(&item, "fen", sum);
                i = j;
        }
        rc |= avro_value_get_by_name(&rec, "lines", &arr, NULL);
        for (i = 0; rc == 0 && i < n; i++) {
                rc |= avro_value_append(&arr, &item, NULL);
                rc |= zz_avro_set_str(&item, "pseudonym", g[i].pseudonym);
                rc |= zz_avro_set_str(&item, "masked_id", g[i].masked);
                rc |= avro_value_get_by_name(&item, "year", &f, NULL);
                rc |= avro_value_set_int(&f, g[i].year);
                rc |= zz_avro_set_str(&item, "category",
                                      str_of(tab, g[i].category));
                rc |= zz_avro_set_long(&item, "fen", g[i].fen);
                rc |= zz_avro_set_str(&item, "rule", str_of(tab, g[i].rule));
                rc |= avro_value_get_by_name(&item, "adjusts_period", &f, NULL);
                if (g[i].adjusts == 0) {
                        rc |= avro_value_set_branch(&f, 0, &br);
                        rc |= avro_value_set_null(&br);
                } else {
                        rc |= avro_value_set_branch(&f, 1, &br);
                        rc |= avro_value_set_string(&br,
                                                    str_of(tab, g[i].adjusts));
                }
        }
        rc |= zz_avro_set_str(&rec, "policy_version", policy_version);
        rc |= zz_avro_set_long(&rec, "closed_at", closed_at);
        rc |= zz_avro_set_str(&rec, "close_event_id", close_event_id);
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

static const char SQL_COMMAND_SEEN[] = "SELECT status\n"
                                       "FROM zizhu.settle_command\n"
                                       "WHERE event_id = $1";

static const char SQL_RECORD_COMMAND[] =
    "INSERT INTO zizhu.settle_command (event_id, jurisdiction, period, issued_at, src_partition, src_offset, status, reason)\n"
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)\n"
    "ON CONFLICT (event_id) DO NOTHING";

static const char SQL_PERIODS_CLOSED[] =
    "SELECT count(*), count(*) FILTER (WHERE period = $2)\n"
    "FROM zizhu.settle_period\n"
    "WHERE policy_name = $1";

static const char SQL_PREVIOUS_BOUNDARY[] =
    "SELECT boundary::text\n"
    "FROM zizhu.settle_period\n"
    "WHERE policy_name = $1 AND period_index = $2";

static const char SQL_DELTA_CREATE[] =
    "CREATE TEMPORARY TABLE zz_settle_delta (person_id text, year int, payer text, fund text, region text, category text, rule text, fen bigint)\n"
    "ON COMMIT DROP";

static const char SQL_DELTA_TRUNCATE[] = "TRUNCATE zz_settle_delta";

static const char SQL_DELTA_COPY[] = "COPY zz_settle_delta FROM STDIN";

static const char SQL_LEDGER_ADD[] =
    "INSERT INTO zizhu.settle_ledger AS l (policy_name, person_id, year, payer, fund, region, category, rule, fen, first_period)\n"
    "SELECT $1, person_id, year, payer, fund, region, category, rule, sum(fen), $2::int\n"
    "FROM zz_settle_delta\n"
    "GROUP BY person_id, year, payer, fund, region, category, rule\n"
    "ORDER BY person_id, year, payer, fund, region, category, rule\n"
    "ON CONFLICT (policy_name, person_id, year, payer, fund, region, category, rule)\n"
    "DO UPDATE SET fen = l.fen + EXCLUDED.fen";

static const char SQL_LINES_COPY[] =
    "COPY zizhu.settle_line (allocation_id, policy_name, period, pseudonym, masked_id, year, payer, fund, region, kind, category, rule, fen, adjusts_period)\n"
    "FROM STDIN";

static const char SQL_ALLOCATION_ADD[] =
    "INSERT INTO zizhu.settle_allocation (policy_name, period, allocation_id, payer, fund, region, kind, persons, fen, key, value)\n"
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

static const char SQL_PERIOD_ADD[] =
    "INSERT INTO zizhu.settle_period (policy_name, period, period_index, jurisdiction, policy_version, close_event_id, closed_at, boundary, allocations, lines, persons, fen)\n"
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12)";

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
        if (zz_pg_command(conn, SQL_RECORD_COMMAND, 8, p, NULL, errstr,
                          errstr_size) != 0)
                return query_failed(errstr, errstr_size);
        return 0;
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
        res = zz_pg_query(conn, SQL_PREVIOUS_BOUNDARY, 2, p, NULL, errstr,
                          errstr_size);
        if (res == NULL)
                return query_failed(errstr, errstr_size);
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

/* What a close accumulates: the lines of the period (kept to the end:
 * the allocations are built from them, sorted) and the ledger delta of
 * the chunk being settled. */
typedef struct acc_s {
        strtab_t tab;
        lines_t lines;
        lines_t delta;
        int delta_table;   /* the temporary table for the delta exists */
        int ledger_flying; /* an INSERT into the ledger was sent */
} acc_t;

static int line_set(strtab_t *tab, line_t *l, const zz_settle_item_t *it)
{
        if (strtab_id(tab, it->payer, &l->payer) != 0 ||
            strtab_id(tab, it->fund, &l->fund) != 0 ||
            strtab_id(tab, it->region, &l->region) != 0 ||
            strtab_id(tab, it->category, &l->category) != 0 ||
            strtab_id(tab, it->rule, &l->rule) != 0)
                return -1;
        l->kind = (int32_t)it->kind;
        l->fen = it->fen;
        return 0;
}

static int settle_one(const zz_policy_t *pol, int k, const char *person,
                      int year, const zz_settle_item_t *items, size_t n_items,
                      int home, const PGresult *lr, int lbegin, int lend,
                      const char *key, size_t key_len, acc_t *acc)
{
        zz_settle_settled_t settled[64];
        zz_settle_out_t out[128];
        size_t n_settled = 0, n_out, i;
        char pseudonym[ZZ_PSEUDONYM_LEN + 1], masked[19];
        int r;

        for (r = lbegin; r < lend && n_settled < 64; r++) {
                zz_settle_settled_t *s = &settled[n_settled];

                if (atoi(PQgetvalue(lr, r, ZZ_LEDGER_YEAR)) != year)
                        continue;
                memset(s, 0, sizeof(*s));
                snprintf(s->key.payer, sizeof(s->key.payer), "%s",
                         PQgetvalue(lr, r, ZZ_LEDGER_PAYER));
                snprintf(s->key.fund, sizeof(s->key.fund), "%s",
                         PQgetvalue(lr, r, ZZ_LEDGER_FUND));
                snprintf(s->key.region, sizeof(s->key.region), "%s",
                         PQgetvalue(lr, r, ZZ_LEDGER_REGION));
                snprintf(s->key.category, sizeof(s->key.category), "%s",
                         PQgetvalue(lr, r, ZZ_LEDGER_CATEGORY));
                snprintf(s->key.rule, sizeof(s->key.rule), "%s",
                         PQgetvalue(lr, r, ZZ_LEDGER_RULE));
                s->key.fen =
                    strtoll(PQgetvalue(lr, r, ZZ_LEDGER_FEN), NULL, 10);
                s->first_period =
                    atoi(PQgetvalue(lr, r, ZZ_LEDGER_FIRST_PERIOD));
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
                char adjusts[ZZ_SETTLE_PERIOD_SIZE] = "";

                memset(&l, 0, sizeof(l));
                if (line_set(&acc->tab, &l, &out[i].item) != 0)
                        return -1;
                memcpy(l.pseudonym, pseudonym, sizeof(pseudonym));
                memcpy(l.masked, masked, sizeof(masked));
                l.year = year;
                if (out[i].adjusts_period >= 0)
                        zz_settle_period_label(pol, out[i].adjusts_period,
                                               adjusts, sizeof(adjusts));
                if (strtab_id(&acc->tab, adjusts, &l.adjusts) != 0 ||
                    lines_push(&acc->lines, &l) != 0)
                        return -1;
                /* the ledger delta keeps the ID number (internal table) in
                 * the masked field's place: see ledger_write */
                snprintf(l.masked, sizeof(l.masked), "%s", person);
                l.adjusts = 0;
                if (lines_push(&acc->delta, &l) != 0)
                        return -1;
        }
        return 0;
}

/* Waits for the INSERT into the ledger sent last, if any. */
static int ledger_wait(PGconn *conn, acc_t *acc, char *errstr,
                       size_t errstr_size)
{
        PGresult *res;
        int rc = 0;

        if (!acc->ledger_flying)
                return 0;
        acc->ledger_flying = 0;
        while ((res = PQgetResult(conn)) != NULL) {
                if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
                        snprintf(errstr, errstr_size,
                                 "could not write the ledger: %s",
                                 PQresultErrorMessage(res));
                        rc = -1;
                }
                PQclear(res);
        }
        return rc;
}

/*
 * Adds the delta gathered so far to zizhu.settle_ledger, once it holds
 * LEDGER_ROWS rows or when last: COPY into a temporary table, then one
 * INSERT summed per key (a statement may not update a row twice, and the
 * sum is what the rows one by one added), sorted by the key. A person's
 * rows all come with the person's chunk, and a person is in one chunk:
 * no later delta adds to a key written before. The INSERT is sent
 * without waiting: the database writes the ledger while the next chunks
 * are settled (ledger_wait before the connection is used again).
 */
#define LEDGER_ROWS 50000

static int ledger_write(PGconn *conn, const char *policy, int k, acc_t *acc,
                        int last, char *errstr, size_t errstr_size)
{
        char first[16], err[512];
        const char *p[2];
        zz_copy_t c;
        size_t i;

        if (acc->delta.n == 0 || (!last && acc->delta.n < LEDGER_ROWS))
                return 0;
        if (ledger_wait(conn, acc, errstr, errstr_size) != 0)
                return -1;
        if (zz_pg_exec(conn,
                       acc->delta_table ? SQL_DELTA_TRUNCATE : SQL_DELTA_CREATE,
                       errstr, errstr_size) != 0)
                return query_failed(errstr, errstr_size);
        acc->delta_table = 1;
        if (zz_copy_begin(&c, conn, SQL_DELTA_COPY, errstr, errstr_size) != 0)
                return -1;
        for (i = 0; i < acc->delta.n; i++) {
                const line_t *l = &acc->delta.v[i];

                zz_copy_field(&c, l->masked, '\t'); /* the ID number */
                zz_copy_num(&c, l->year, '\t');
                zz_copy_field(&c, str_of(&acc->tab, l->payer), '\t');
                zz_copy_field(&c, str_of(&acc->tab, l->fund), '\t');
                zz_copy_field(&c, str_of(&acc->tab, l->region), '\t');
                zz_copy_field(&c, str_of(&acc->tab, l->category), '\t');
                zz_copy_field(&c, str_of(&acc->tab, l->rule), '\t');
                zz_copy_num(&c, l->fen, '\n');
        }
        acc->delta.n = 0;
        if (zz_copy_end(&c, errstr, errstr_size) != 0)
                return -1;
        snprintf(first, sizeof(first), "%d", k);
        p[0] = policy;
        p[1] = first;
        /* sent without waiting: the ledger rows are added while the next
         * chunk is settled */
        if (zz_pg_send(conn, SQL_LEDGER_ADD, 2, p, err, sizeof(err)) != 0) {
                snprintf(errstr, errstr_size, "could not write the ledger: %s",
                         err);
                return -1;
        }
        acc->ledger_flying = 1;
        return 0;
}

/* The lines of every allocation, in the allocations' order (lines sorted),
 * in one COPY. */
static int insert_lines(PGconn *conn, const zz_policy_t *pol, const char *label,
                        const acc_t *acc, char (*alloc_ids)[33],
                        const size_t *group_end, size_t n_groups, char *errstr,
                        size_t errstr_size)
{
        const strtab_t *tab = &acc->tab;
        zz_copy_t c;
        size_t g, i = 0;

        if (zz_copy_begin(&c, conn, SQL_LINES_COPY, errstr, errstr_size) != 0)
                return -1;
        for (g = 0; g < n_groups; g++) {
                for (; i < group_end[g]; i++) {
                        const line_t *l = &acc->lines.v[i];

                        zz_copy_field(&c, alloc_ids[g], '\t');
                        zz_copy_field(&c, zz_policy_name(pol), '\t');
                        zz_copy_field(&c, label, '\t');
                        zz_copy_field(&c, l->pseudonym, '\t');
                        zz_copy_field(&c, l->masked, '\t');
                        zz_copy_num(&c, l->year, '\t');
                        zz_copy_field(&c, str_of(tab, l->payer), '\t');
                        zz_copy_field(&c, str_of(tab, l->fund), '\t');
                        zz_copy_field(&c, str_of(tab, l->region), '\t');
                        zz_copy_field(
                            &c, zz_alloc_kind_name((zz_alloc_kind_t)l->kind),
                            '\t');
                        zz_copy_field(&c, str_of(tab, l->category), '\t');
                        zz_copy_field(&c, str_of(tab, l->rule), '\t');
                        zz_copy_num(&c, l->fen, '\t');
                        zz_copy_field(&c,
                                      l->adjusts != 0 ? str_of(tab, l->adjusts)
                                                      : NULL,
                                      '\n');
                }
        }
        return zz_copy_end(&c, errstr, errstr_size);
}

/* What publishing a close's lines needs, and the time it took. */
typedef struct publish_s {
        PGconn *conn;
        zz_codec_t *codec;
        const zz_policy_t *pol;
        const char *label;
        const zz_settle_cmd_t *cmd;
        const acc_t *acc;
        char key[160]; /* of the allocation messages */
        zz_codec_buf_t buf;
        double t_enc, t_ins;
} publish_t;

/* The row of zizhu.settle_allocation of group g, encoded in pb->buf. */
static int insert_allocation(publish_t *pb, const line_t *g,
                             const char *alloc_id, int64_t np, zz_fen_t sum,
                             char *errstr, size_t errstr_size)
{
        const strtab_t *tab = &pb->acc->tab;
        char persons[24], fen[24];
        const char *p[11];
        int lens[11], fmts[11];
        PGresult *res;

        snprintf(persons, sizeof(persons), "%lld", (long long)np);
        snprintf(fen, sizeof(fen), "%lld", (long long)sum);
        memset(lens, 0, sizeof(lens));
        memset(fmts, 0, sizeof(fmts));
        p[0] = zz_policy_name(pb->pol);
        p[1] = pb->label;
        p[2] = alloc_id;
        p[3] = str_of(tab, g->payer);
        p[4] = str_of(tab, g->fund);
        p[5] = str_of(tab, g->region);
        p[6] = zz_alloc_kind_name((zz_alloc_kind_t)g->kind);
        p[7] = persons;
        p[8] = fen;
        p[9] = pb->key;
        lens[9] = (int)strlen(pb->key);
        fmts[9] = 1;
        p[10] = (const char *)pb->buf.data;
        lens[10] = (int)pb->buf.len;
        fmts[10] = 1;
        res = zz_pg_query_ex(pb->conn, SQL_ALLOCATION_ADD, 11, NULL, p, lens,
                             fmts, 0, NULL, errstr, errstr_size);
        if (res == NULL) {
                settle_failed("could not store an allocation", errstr,
                              errstr_size);
                return -1;
        }
        PQclear(res);
        return 0;
}

/* The allocation of the group of sorted lines from i on (it ends at
 * *end): its id, its message and its row. */
static int store_group(publish_t *pb, size_t i, size_t *end, char alloc_id[33],
                       zz_settle_result_t *result, char *errstr,
                       size_t errstr_size)
{
        const lines_t *lines = &pb->acc->lines;
        const strtab_t *tab = &pb->acc->tab;
        const line_t *g = &lines->v[i];
        char idtext[256];
        int64_t np = 0;
        zz_fen_t sum = 0;
        size_t j, n;
        double t1;
        int rc;

        for (j = i; j < lines->n && same_group(&lines->v[j], g); j++) {
                if (j == i || strcmp(lines->v[j].pseudonym,
                                     lines->v[j - 1].pseudonym) != 0)
                        np++;
                sum += lines->v[j].fen;
        }
        *end = j;
        n = j - i;
        snprintf(idtext, sizeof(idtext), "%s|%s|%s|%s|%s|%s",
                 zz_policy_name(pb->pol), pb->label, str_of(tab, g->payer),
                 str_of(tab, g->fund), str_of(tab, g->region),
                 zz_alloc_kind_name((zz_alloc_kind_t)g->kind));
        zz_avro_content_id(idtext, alloc_id);
        t1 = now_s();
        if (encode_group(pb->codec, tab, pb->cmd->jurisdiction, pb->label,
                         zz_policy_version(pb->pol), alloc_id,
                         pb->cmd->event_id, pb->cmd->issued_at, g, n, np, sum,
                         &pb->buf, errstr, errstr_size) != 0)
                return -1;
        pb->t_enc += now_s() - t1;
        t1 = now_s();
        rc = insert_allocation(pb, g, alloc_id, np, sum, errstr, errstr_size);
        pb->t_ins += now_s() - t1;
        result->allocations++;
        result->lines += n;
        result->fen += sum;
        return rc;
}

/* Sorts the lines, encodes one allocation per payer x fund x region x
 * kind and stores them in publishing order, then their lines. */
static int publish_rows(PGconn *conn, zz_codec_t *codec, const zz_policy_t *pol,
                        const char *label, const zz_settle_cmd_t *cmd,
                        acc_t *acc, zz_settle_result_t *result, char *errstr,
                        size_t errstr_size)
{
        lines_t *lines = &acc->lines;
        publish_t pb;
        char(*alloc_ids)[33] = NULL;
        size_t *group_end = NULL, n_groups = 0, i, j;
        int rc = 0;
        double t0 = now_s(), t1;

        memset(&pb, 0, sizeof(pb));
        pb.conn = conn;
        pb.codec = codec;
        pb.pol = pol;
        pb.label = label;
        pb.cmd = cmd;
        pb.acc = acc;
        if (strtab_sort(&acc->tab, lines) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        snprintf(pb.key, sizeof(pb.key), "%s/%s", cmd->jurisdiction, label);
        if (lines_sort(lines) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (i = 0, j = 0; i < lines->n; i++)
                if (i == 0 || !same_group(&lines->v[i], &lines->v[i - 1]))
                        j++;
        alloc_ids = calloc(j + 1, sizeof(*alloc_ids));
        group_end = calloc(j + 1, sizeof(*group_end));
        if (alloc_ids == NULL || group_end == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                rc = -1;
        }
        for (i = 0; rc == 0 && i < lines->n; i = j) {
                rc = store_group(&pb, i, &j, alloc_ids[n_groups], result,
                                 errstr, errstr_size);
                group_end[n_groups++] = j;
        }
        zz_codec_buf_free(&pb.buf);
        t1 = now_s();
        if (rc == 0 && n_groups > 0)
                rc = insert_lines(conn, pol, label, acc, alloc_ids, group_end,
                                  n_groups, errstr, errstr_size);
        zz_log_debug("settlement: %zu lines: sorted and encoded in %.3f s "
                     "(encoding %.3f s), allocations stored in %.3f s, "
                     "lines in %.3f s",
                     lines->n, t1 - t0 - pb.t_ins, pb.t_enc, pb.t_ins,
                     now_s() - t1);
        free(alloc_ids);
        free(group_end);
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

/* Person i of a chunk: re-evaluates the person-year from its facts and
 * adds what it contributes to the close to acc. */
static int settle_person(const zz_policy_t *pol, int k, int year,
                         const zz_policy_t *const *policies, size_t n_policies,
                         zz_factset_t *fs, size_t i, const char *key,
                         size_t key_len, zz_arena_t *arena, acc_t *acc)
{
        const char *person = zz_factset_person(fs, i);
        zz_settle_item_t items[ZZ_SETTLE_ITEMS_MAX];
        size_t n_items = 0;
        int home = -1, lbegin, lend;
        const PGresult *lr = zz_factset_ledger(fs, i, &lbegin, &lend);
        zz_case_t c;
        zz_decision_t d;

        zz_arena_reset(arena);
        if (zz_factset_case(fs, i, year, policies, n_policies, &c, arena) ==
            pol) {
                int rc;

                memset(&d, 0, sizeof(d));
                rc = zz_policy_eval_ex(pol, &c, &d, arena, ZZ_EVAL_NO_TRACE);
                if (rc == 0 && c.has_payment && d.n_funding > 0) {
                        /* the items name the category behind each rule:
                         * that takes the trace (most persons have no
                         * funding, or have not paid, and need none) */
                        memset(&d, 0, sizeof(d));
                        rc = zz_policy_eval(pol, &c, &d, arena);
                }
                if (rc == 0) {
                        n_items = zz_settle_items(&c, &d, items);
                        home = zz_settle_home_index(pol, &d);
                        if (d.reconciliation.status == ZZ_RECON_RECOVERY_DUE) {
                                /* the recovery pairs come last */
                                size_t nr = 0, j;
                                for (j = 0; j < d.reconciliation.n_owed; j++)
                                        if (d.reconciliation.owed[j].fen != 0)
                                                nr += 2;
                                if (nr > n_items)
                                        nr = n_items;
                                if (nr > 0)
                                        recovery_region(pol, &c,
                                                        items + (n_items - nr),
                                                        nr, arena);
                        }
                } else {
                        zz_log_warn("settlement: a person-year is not "
                                    "decidable under %s: %s",
                                    zz_policy_name(pol),
                                    d.error ? d.error : "unknown");
                }
        }
        /* a person without items now and nothing settled before has no
         * line; one with ledger rows but no facts in the boundary (cannot
         * normally happen: facts only grow) settles to zero */
        if (n_items == 0 && lend == lbegin)
                return 0;
        return settle_one(pol, k, person, year, items, n_items, home, lr,
                          lbegin, lend, key, key_len, acc);
}

/* 1 when the command was seen before (result says so), 0 when not, -1 on
 * a database error. */
static int command_seen(PGconn *conn, const zz_settle_cmd_t *cmd,
                        zz_settle_result_t *result, char *errstr,
                        size_t errstr_size)
{
        const char *p[1] = {cmd->event_id};
        PGresult *res = zz_pg_query(conn, SQL_COMMAND_SEEN, 1, p, NULL, errstr,
                                    errstr_size);

        if (res == NULL)
                return query_failed(errstr, errstr_size);
        if (PQntuples(res) == 0) {
                PQclear(res);
                return 0;
        }
        result->status = 1;
        snprintf(result->reason, sizeof(result->reason),
                 "command seen before (%s)", PQgetvalue(res, 0, 0));
        PQclear(res);
        return 1;
}

/* Whether period k (label) of pol may close now: 1 yes; 0 no (result says
 * why, and the command is recorded with it); -1 on a database error. The
 * periods of a policy close in order, each once, each boundary at or past
 * the previous one's. */
static int period_open(PGconn *conn, const zz_policy_t *pol, int k,
                       const char *label, const zz_settle_cmd_t *cmd,
                       zz_settle_result_t *result, char *errstr,
                       size_t errstr_size)
{
        const char *p[2] = {zz_policy_name(pol), label};
        char next[ZZ_SETTLE_PERIOD_SIZE];
        PGresult *res;
        int n_closed, closed;

        res = zz_pg_query(conn, SQL_PERIODS_CLOSED, 2, p, NULL, errstr,
                          errstr_size);
        if (res == NULL)
                return query_failed(errstr, errstr_size);
        n_closed = atoi(PQgetvalue(res, 0, 0));
        closed = atoi(PQgetvalue(res, 0, 1)) > 0;
        PQclear(res);
        if (closed) {
                result->status = 1;
                snprintf(result->reason, sizeof(result->reason),
                         "period %s of %s is already closed", label,
                         zz_policy_name(pol));
                return record_command(conn, cmd, "ALREADY_CLOSED",
                                      result->reason, errstr, errstr_size);
        }
        if (k != n_closed) {
                result->status = 2;
                zz_settle_period_label(pol, n_closed, next, sizeof(next));
                snprintf(result->reason, sizeof(result->reason),
                         "period %s of %s cannot close before period %s", label,
                         zz_policy_name(pol), next);
                return record_command(conn, cmd, "REJECTED", result->reason,
                                      errstr, errstr_size);
        }
        switch (boundary_check(conn, pol, k, cmd, result->reason,
                               sizeof(result->reason), errstr, errstr_size)) {
        case 0:
                return 1;
        case 1:
                result->status = 2;
                return record_command(conn, cmd, "REJECTED", result->reason,
                                      errstr, errstr_size);
        default:
                return -1;
        }
}

/* Whether cmd closes a period now: 1 yes (*pol, *k and label say which,
 * and result's policy and period); 0 no (result says why; the command is
 * recorded unless seen before); -1 on a database error. */
static int close_admit(PGconn *conn, const zz_policy_t *const *policies,
                       size_t n_policies, const zz_settle_cmd_t *cmd,
                       const zz_policy_t **pol, int *k,
                       char label[ZZ_SETTLE_PERIOD_SIZE],
                       zz_settle_result_t *result, char *errstr,
                       size_t errstr_size)
{
        int seen = command_seen(conn, cmd, result, errstr, errstr_size);

        if (seen != 0)
                return seen < 0 ? -1 : 0;
        *pol = resolve(policies, n_policies, cmd, k);
        if (*pol == NULL) {
                result->status = 2;
                snprintf(result->reason, sizeof(result->reason),
                         "no policy has jurisdiction \"%s\" and period "
                         "\"%s\"",
                         cmd->jurisdiction, cmd->period);
                return record_command(conn, cmd, "REJECTED", result->reason,
                                      errstr, errstr_size);
        }
        snprintf(result->policy, sizeof(result->policy), "%s",
                 zz_policy_name(*pol));
        zz_settle_period_label(*pol, *k, label, ZZ_SETTLE_PERIOD_SIZE);
        snprintf(result->period, sizeof(result->period), "%s", label);
        return period_open(conn, *pol, *k, label, cmd, result, errstr,
                           errstr_size);
}

/* Where a close's time went (for the debug log). */
typedef struct close_clock_s {
        size_t chunks;
        double started, fetch, eval, write, publish;
} close_clock_t;

/* The persons of one chunk into acc. -1 when out of memory (or no
 * pseudonym). */
static int settle_chunk(const zz_policy_t *pol, int k,
                        const zz_policy_t *const *policies, size_t n_policies,
                        zz_factset_cursor_t *cur, zz_factset_t *fs,
                        const char *key, zz_arena_t *arena, acc_t *acc)
{
        size_t i, key_len = strlen(key);
        int year = zz_policy_year(pol);

        for (i = 0; i < zz_factset_count(fs); i++) {
                if (i % 256 == 0)
                        zz_factset_poll(cur);
                if (settle_person(pol, k, year, policies, n_policies, fs, i,
                                  key, key_len, arena, acc) != 0)
                        return -1;
        }
        return 0;
}

/* Every person inside the boundary, a chunk at a time, into acc; each
 * chunk's ledger rows are written (or sent) while the next is settled. */
static int settle_chunks(PGconn *conn, const zz_policy_t *pol, int k,
                         const zz_policy_t *const *policies, size_t n_policies,
                         const char *key, const zz_settle_cmd_t *cmd,
                         acc_t *acc, close_clock_t *clk, char *errstr,
                         size_t errstr_size)
{
        zz_arena_t *arena = zz_arena_new(0);
        zz_factset_cursor_t *cur = NULL;
        zz_factset_t *fs = NULL;
        double t0, t1;
        int rc = -1;

        if (arena == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        cur = zz_factset_open(conn, cmd->boundary, cmd->n_boundary,
                              zz_policy_name(pol), cmd->chunk, errstr,
                              errstr_size);
        if (cur == NULL)
                goto out;
        for (;;) {
                if (zz_factset_next(cur, &fs, errstr, errstr_size) != 0)
                        goto out;
                if (fs == NULL)
                        break;
                clk->chunks++;
                t0 = now_s();
                if (settle_chunk(pol, k, policies, n_policies, cur, fs, key,
                                 arena, acc) != 0) {
                        snprintf(errstr, errstr_size,
                                 "could not settle a person: out of "
                                 "memory, or no pseudonym");
                        goto out;
                }
                t1 = now_s();
                clk->eval += t1 - t0;
                /* a chunk's persons are in no other chunk: their ledger
                 * rows can be written now */
                if (ledger_write(conn, zz_policy_name(pol), k, acc, 0, errstr,
                                 errstr_size) != 0)
                        goto out;
                clk->write += now_s() - t1;
        }
        /* the readers are done: their memory goes before the lines' */
        clk->fetch = zz_factset_fetch_seconds(cur);
        zz_factset_cursor_destroy(cur);
        cur = NULL;
        t1 = now_s();
        if (ledger_write(conn, zz_policy_name(pol), k, acc, 1, errstr,
                         errstr_size) != 0)
                goto out;
        clk->write += now_s() - t1;
        rc = 0;
out:
        zz_factset_cursor_destroy(cur);
        zz_arena_destroy(arena);
        return rc;
}

/* The number of distinct persons in the period's lines, into *n. */
static int count_persons(const lines_t *lines, size_t *n)
{
        const char **ps = malloc((lines->n + 1) * sizeof(*ps));
        size_t a, np = 0;

        if (ps == NULL)
                return -1;
        for (a = 0; a < lines->n; a++)
                ps[a] = lines->v[a].pseudonym;
        qsort(ps, lines->n, sizeof(*ps), str_cmp);
        for (a = 0; a < lines->n; a++)
                if (a == 0 || strcmp(ps[a], ps[a - 1]) != 0)
                        np++;
        free(ps);
        *n = np;
        return 0;
}

/* The row of zizhu.settle_period of the closed period. */
static int record_period(PGconn *conn, const zz_policy_t *pol, int k,
                         const char *label, const zz_settle_cmd_t *cmd,
                         const zz_settle_result_t *result, char *errstr,
                         size_t errstr_size)
{
        char idx[16], closed[24], na[16], nl[16], npers[16], fen[24];
        char *bjson = boundary_json(cmd->boundary, cmd->n_boundary);
        const char *p[12];
        int rc = 0;

        if (bjson == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        snprintf(idx, sizeof(idx), "%d", k);
        snprintf(closed, sizeof(closed), "%lld", (long long)cmd->issued_at);
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
        if (zz_pg_command(conn, SQL_PERIOD_ADD, 12, p, NULL, errstr,
                          errstr_size) != 0)
                rc = query_failed(errstr, errstr_size);
        free(bjson);
        return rc;
}

/* The close of an admitted command: settles, publishes, records. */
static int close_period(PGconn *conn, zz_codec_t *codec,
                        const zz_policy_t *const *policies, size_t n_policies,
                        const char *key, const zz_settle_cmd_t *cmd,
                        const zz_policy_t *pol, int k, const char *label,
                        acc_t *acc, zz_settle_result_t *result,
                        close_clock_t *clk, char *errstr, size_t errstr_size)
{
        double t0, t1;

        if (settle_chunks(conn, pol, k, policies, n_policies, key, cmd, acc,
                          clk, errstr, errstr_size) != 0)
                return -1;
        if (count_persons(&acc->lines, &result->persons) != 0) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        t1 = now_s();
        if (ledger_wait(conn, acc, errstr, errstr_size) != 0)
                return -1;
        t0 = now_s();
        clk->write += t0 - t1;
        if (publish_rows(conn, codec, pol, label, cmd, acc, result, errstr,
                         errstr_size) != 0)
                return -1;
        clk->publish = now_s() - t0;
        if (record_period(conn, pol, k, label, cmd, result, errstr,
                          errstr_size) != 0 ||
            record_command(conn, cmd, "CLOSED", "", errstr, errstr_size) != 0)
                return -1;
        result->status = 0;
        return 0;
}

int zz_settle_close(PGconn *conn, zz_codec_t *codec,
                    const zz_policy_t *const *policies, size_t n_policies,
                    const char *pseudonym_key, const zz_settle_cmd_t *cmd,
                    zz_settle_result_t *result, char *errstr,
                    size_t errstr_size)
{
        const zz_policy_t *pol = NULL;
        char label[ZZ_SETTLE_PERIOD_SIZE], err2[256];
        close_clock_t clk;
        acc_t acc;
        int k = -1, rc;

        memset(result, 0, sizeof(*result));
        memset(&acc, 0, sizeof(acc));
        memset(&clk, 0, sizeof(clk));
        clk.started = now_s();
        rc = close_admit(conn, policies, n_policies, cmd, &pol, &k, label,
                         result, errstr, errstr_size);
        if (rc <= 0)
                return rc;
        if (pseudonym_key == NULL || pseudonym_key[0] == '\0') {
                snprintf(errstr, errstr_size,
                         "no pseudonym key configured (pseudonym_key / "
                         "ZIZHU_PSEUDONYM_KEY)");
                return -1;
        }
        rc = close_period(conn, codec, policies, n_policies, pseudonym_key, cmd,
                          pol, k, label, &acc, result, &clk, errstr,
                          errstr_size);
        if (rc == 0)
                zz_log_debug("settlement of %s %s: %zu chunks in %.3f s: "
                             "waiting for facts %.3f s, evaluating %.3f s, "
                             "ledger %.3f s, allocations and lines %.3f s",
                             zz_policy_name(pol), label, clk.chunks,
                             now_s() - clk.started, clk.fetch, clk.eval,
                             clk.write, clk.publish);
        /* an INSERT still in flight fails with the transaction */
        if (ledger_wait(conn, &acc, err2, sizeof(err2)) != 0 && rc == 0) {
                snprintf(errstr, errstr_size, "%s", err2);
                rc = -1;
        }
        free(acc.lines.v);
        free(acc.delta.v);
        strtab_free(&acc.tab);
        return rc;
}

/* ------------------------------------------------------------------ */
/* Dashboard refresh                                                   */

static const char SQL_TARGET_UPSERT[] =
    "INSERT INTO zizhu.enroll_target (policy_name, year, region, name, persons)\n"
    "VALUES ($1, $2, $3, $4, $5)\n"
    "ON CONFLICT (policy_name, region)\n"
    "DO UPDATE SET year = EXCLUDED.year, name = EXCLUDED.name, persons = EXCLUDED.persons";

static const char SQL_PERSONS_WITHOUT_PSEUDONYM[] =
    "SELECT DISTINCT d.person_id\n"
    "FROM zizhu.decision d\n"
    "WHERE NOT EXISTS (SELECT 1 FROM zizhu.person_pseudonym p WHERE p.person_id = d.person_id)";

static const char SQL_PSEUDONYMS_ADD[] =
    "INSERT INTO zizhu.person_pseudonym (person_id, pseudonym, masked_id)\n"
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[])\n"
    "ON CONFLICT (person_id) DO NOTHING";

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
                arr[0] = zz_pg_text_array(ids, n);
                arr[1] = zz_pg_text_array(pss, n);
                arr[2] = zz_pg_text_array(masks, n);
                for (k = 0; k < 3; k++)
                        p[k] = arr[k];
                failed = arr[0] == NULL || arr[1] == NULL || arr[2] == NULL;
                if (failed)
                        snprintf(errstr, errstr_size, "out of memory");
                else if (zz_pg_command(conn, SQL_PSEUDONYMS_ADD, 3, p, NULL,
                                       errstr, errstr_size) != 0)
                        failed = query_failed(errstr, errstr_size);
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

/* The enrollment targets of every policy into zizhu.enroll_target. */
static int write_targets(PGconn *conn, const zz_policy_t *const *policies,
                         size_t n_policies, char *errstr, size_t errstr_size)
{
        size_t i, t;

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
                        if (zz_pg_command(conn, SQL_TARGET_UPSERT, 5, p, NULL,
                                          errstr, errstr_size) != 0)
                                return query_failed(errstr, errstr_size);
                }
        }
        return 0;
}

int zz_settle_refresh(PGconn *conn, const zz_policy_t *const *policies,
                      size_t n_policies, const char *pseudonym_key,
                      char *errstr, size_t errstr_size)
{
        PGresult *res;
        int rc;

        if (write_targets(conn, policies, n_policies, errstr, errstr_size) != 0)
                return -1;
        if (pseudonym_key == NULL || pseudonym_key[0] == '\0')
                return 0;
        res = zz_pg_query(conn, SQL_PERSONS_WITHOUT_PSEUDONYM, 0, NULL, NULL,
                          errstr, errstr_size);
        if (res == NULL)
                return query_failed(errstr, errstr_size);
        rc = write_pseudonyms(conn, res, pseudonym_key, errstr, errstr_size);
        PQclear(res);
        return rc;
}

/* ------------------------------------------------------------------ */
/* Conservation                                                        */

static const char SQL_ALLOCATED_BY_PAYER[] = "SELECT payer, kind, sum(fen)\n"
                                             "FROM zizhu.settle_allocation\n"
                                             "GROUP BY payer, kind\n"
                                             "ORDER BY 1, 2";

static const char SQL_DECISIONS[] =
    "SELECT d.policy_name, d.body, (SELECT count(*) FROM zizhu.settle_period p WHERE p.policy_name = d.policy_name)\n"
    "FROM zizhu.decision d\n"
    "ORDER BY d.person_id COLLATE \"C\", d.year";

#define MAX_PAYERS 16

typedef struct payer_sum_s {
        char payer[ZZ_SETTLE_CODE_SIZE];
        zz_fen_t kind[6]; /* by zz_alloc_kind_t */
        zz_fen_t allocated;
        zz_fen_t state;
} payer_sum_t;

/* The sums per payer (at most MAX_PAYERS). */
typedef struct payers_s {
        payer_sum_t v[MAX_PAYERS];
        size_t n;
} payers_t;

static payer_sum_t *payer_get(payers_t *ps, const char *payer)
{
        size_t i;

        for (i = 0; i < ps->n; i++)
                if (strcmp(ps->v[i].payer, payer) == 0)
                        return &ps->v[i];
        if (ps->n == MAX_PAYERS)
                return NULL;
        memset(&ps->v[ps->n], 0, sizeof(ps->v[ps->n]));
        snprintf(ps->v[ps->n].payer, sizeof(ps->v[ps->n].payer), "%s", payer);
        return &ps->v[ps->n++];
}

static int payer_cmp(const void *a, const void *b)
{
        return strcmp(((const payer_sum_t *)a)->payer,
                      ((const payer_sum_t *)b)->payer);
}

/* Every allocation, summed per payer and kind. */
static int sum_allocated(PGconn *conn, payers_t *ps, char *errstr,
                         size_t errstr_size)
{
        PGresult *res = zz_pg_query(conn, SQL_ALLOCATED_BY_PAYER, 0, NULL, NULL,
                                    errstr, errstr_size);
        int r;

        if (res == NULL)
                return query_failed(errstr, errstr_size);
        for (r = 0; r < PQntuples(res); r++) {
                payer_sum_t *p = payer_get(ps, PQgetvalue(res, r, 0));
                zz_alloc_kind_t k =
                    zz_alloc_kind_from_name(PQgetvalue(res, r, 1));
                zz_fen_t fen = strtoll(PQgetvalue(res, r, 2), NULL, 10);

                if (p == NULL)
                        continue;
                p->kind[k] += fen;
                p->allocated += fen;
        }
        PQclear(res);
        return 0;
}

/* The funding of a decision body (of pol, n_closed periods closed) into
 * the state, when its home period is closed. */
static void add_state(payers_t *ps, const zz_policy_t *pol, int n_closed,
                      const char *text)
{
        json_error_t jerr;
        json_t *body = json_loads(text, 0, &jerr), *f;
        const char *period;
        int home = -1;
        size_t k;

        if (body == NULL)
                return;
        /* the worker's body names it "period"; the policy-eval contract
         * "settlement" */
        period = json_string_value(json_object_get(body, "period"));
        if (period == NULL)
                period = json_string_value(json_object_get(body, "settlement"));
        for (k = 0; period != NULL && k < zz_policy_period_count(pol); k++)
                if (strcmp(zz_policy_period(pol, k)->name, period) == 0)
                        home = (int)k;
        if (home < 0 || home >= n_closed) {
                json_decref(body);
                return;
        }
        json_array_foreach(json_object_get(body, "funding"), k, f)
        {
                const char *payer =
                    json_string_value(json_object_get(f, "payer"));
                payer_sum_t *p;

                if (payer == NULL)
                        continue;
                p = payer_get(ps, payer);
                if (p != NULL)
                        p->state +=
                            json_integer_value(json_object_get(f, "fen"));
        }
        json_decref(body);
}

/* The state: the current decisions whose home period is closed. */
static int sum_state(PGconn *conn, const zz_policy_t *const *policies,
                     size_t n_policies, payers_t *ps, char *errstr,
                     size_t errstr_size)
{
        PGresult *res = zz_pg_query(conn, SQL_DECISIONS, 0, NULL, NULL, errstr,
                                    errstr_size);
        int r;

        if (res == NULL)
                return query_failed(errstr, errstr_size);
        for (r = 0; r < PQntuples(res); r++) {
                const zz_policy_t *pol = NULL;
                int n_closed = atoi(PQgetvalue(res, r, 2));
                size_t j;

                for (j = 0; j < n_policies; j++)
                        if (strcmp(zz_policy_name(policies[j]),
                                   PQgetvalue(res, r, 0)) == 0)
                                pol = policies[j];
                if (pol != NULL && n_closed > 0)
                        add_state(ps, pol, n_closed, PQgetvalue(res, r, 1));
        }
        PQclear(res);
        return 0;
}

/* The table of the sums; 1 when every payer balances. */
static int print_sums(payers_t *ps, FILE *out)
{
        size_t i;
        int ok = 1;

        qsort(ps->v, ps->n, sizeof(ps->v[0]), payer_cmp);
        if (out != NULL)
                fprintf(out, "%-6s %14s %14s %14s %14s %14s %14s %14s\n",
                        "payer", "subsidy", "refunds", "recoveries",
                        "adjustments", "allocated", "state", "difference");
        for (i = 0; i < ps->n; i++) {
                const payer_sum_t *p = &ps->v[i];
                zz_fen_t diff = p->allocated - p->state;

                if (diff != 0)
                        ok = 0;
                if (out != NULL)
                        fprintf(out,
                                "%-6s %14lld %14lld %14lld %14lld %14lld "
                                "%14lld %14lld%s\n",
                                p->payer, (long long)p->kind[ZZ_ALLOC_SUBSIDY],
                                (long long)(p->kind[ZZ_ALLOC_REFUND_VIA_TAX] +
                                            p->kind[ZZ_ALLOC_REFUND_TO_PERSON]),
                                (long long)-p->kind[ZZ_ALLOC_RECOVERY],
                                (long long)p->kind[ZZ_ALLOC_ADJUSTMENT],
                                (long long)p->allocated, (long long)p->state,
                                (long long)diff,
                                diff != 0 ? "  <- differs" : "");
        }
        return ok;
}

int zz_settle_conservation(PGconn *conn, const zz_policy_t *const *policies,
                           size_t n_policies, FILE *out, int *ok, char *errstr,
                           size_t errstr_size)
{
        payers_t ps;

        *ok = 0;
        ps.n = 0;
        if (sum_allocated(conn, &ps, errstr, errstr_size) != 0 ||
            sum_state(conn, policies, n_policies, &ps, errstr, errstr_size) !=
                0)
                return -1;
        *ok = print_sums(&ps, out);
        return 0;
}
