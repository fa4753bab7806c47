/*
 * store.c — consumer positions with epochs, batch transactions and the
 * transactional outbox in PostgreSQL (see store.h for the reasoning).
 */
#include "zizhu/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/pg.h"

typedef struct outbox_row_s {
        char *stream;
        unsigned char *key; /* NULL: no key */
        size_t key_len;
        unsigned char *value;
        size_t value_len;
} outbox_row_t;

struct zz_store_s {
        PGconn *conn;
        char *group;
        int in_tx;
        outbox_row_t *rows;
        size_t n_rows;
        size_t cap_rows;
};

/* Takes a partition (see zz_store_claim). */
static const char SQL_CLAIM_POSITION[] =
    "INSERT INTO zizhu.consumer_position AS p (group_id, topic, partition, next_offset, epoch)\n"
    "VALUES ($1, $2, $3, -2, 1)\n"
    "ON CONFLICT (group_id, topic, partition)\n"
    "DO UPDATE SET epoch = p.epoch + 1\n"
    "RETURNING next_offset, epoch";

static const char SQL_LOCK_POSITION[] =
    "SELECT next_offset, epoch\n"
    "FROM zizhu.consumer_position\n"
    "WHERE group_id = $1 AND topic = $2 AND partition = $3\n"
    "FOR UPDATE";

static const char SQL_SET_POSITION[] =
    "UPDATE zizhu.consumer_position\n"
    "SET next_offset = $4\n"
    "WHERE group_id = $1 AND topic = $2 AND partition = $3";

/* The ids of a batch's outbox rows: $1 of them, the last returned. */
static const char SQL_TAKE_OUTBOX_IDS[] = "UPDATE zizhu.outbox_seq\n"
                                          "SET last_id = last_id + $1\n"
                                          "RETURNING last_id";

/* $1 the first id, then one array per column. */
static const char SQL_INSERT_OUTBOX[] =
    "INSERT INTO zizhu.outbox (id, stream, key, value)\n"
    "SELECT $1::bigint + u.ord - 1, u.s, u.k, u.v\n"
    "FROM unnest($2::text[], $3::bytea[], $4::bytea[]) WITH ORDINALITY AS u(s, k, v, ord)";

zz_store_t *zz_store_new(const char *conninfo, const char *group, char *errstr,
                         size_t errstr_size)
{
        zz_store_t *store = calloc(1, sizeof(*store));

        if (store == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        store->group = strdup(group != NULL ? group : "");
        if (store->group == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                zz_store_destroy(store);
                return NULL;
        }
        store->conn = zz_pg_connect(conninfo, "zizhu-subsidy-worker", errstr,
                                    errstr_size);
        if (store->conn == NULL) {
                zz_store_destroy(store);
                return NULL;
        }
        return store;
}

static void clear_rows(zz_store_t *store)
{
        size_t i;

        for (i = 0; i < store->n_rows; i++) {
                free(store->rows[i].stream);
                free(store->rows[i].key);
                free(store->rows[i].value);
        }
        store->n_rows = 0;
}

void zz_store_destroy(zz_store_t *store)
{
        if (store == NULL)
                return;
        if (store->in_tx)
                zz_store_rollback(store);
        clear_rows(store);
        free(store->rows);
        zz_pg_finish(store->conn);
        free(store->group);
        free(store);
}

PGconn *zz_store_conn(zz_store_t *store)
{
        return store->conn;
}

/* The first three parameters of a position statement: $1 the group, $2
 * the topic, $3 the partition (its text written into part). */
static void position_key(const zz_store_t *store, const char *topic,
                         int32_t partition, char part[16], const char *params[])
{
        snprintf(part, 16, "%d", (int)partition);
        params[0] = store->group;
        params[1] = topic;
        params[2] = part;
}

int zz_store_claim(zz_store_t *store, const char *topic, int32_t partition,
                   int64_t *next_offset, int64_t *epoch, char *errstr,
                   size_t errstr_size)
{
        char part[16];
        const char *params[3];
        PGresult *res;

        position_key(store, topic, partition, part, params);
        /* A single statement is its own transaction; when another instance
         * holds the row in a batch, this waits for its commit and then
         * sees the position it wrote. */
        res = zz_pg_query(store->conn, SQL_CLAIM_POSITION, 3, params, NULL,
                          errstr, errstr_size);
        if (res == NULL)
                return -1;
        if (PQntuples(res) != 1) {
                snprintf(errstr, errstr_size,
                         "claiming a partition returned %d rows",
                         PQntuples(res));
                PQclear(res);
                return -1;
        }
        *next_offset = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *epoch = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
        return 0;
}

int zz_store_begin(zz_store_t *store, char *errstr, size_t errstr_size)
{
        clear_rows(store);
        if (zz_pg_command(store->conn, "BEGIN", 0, NULL, NULL, errstr,
                          errstr_size) != 0)
                return -1;
        store->in_tx = 1;
        return 0;
}

int zz_store_lock_position(zz_store_t *store, const char *topic,
                           int32_t partition, int64_t epoch,
                           int64_t *stored_next, char *errstr,
                           size_t errstr_size)
{
        char part[16];
        const char *params[3];
        PGresult *res;
        int64_t got;

        position_key(store, topic, partition, part, params);
        res = zz_pg_query(store->conn, SQL_LOCK_POSITION, 3, params, NULL,
                          errstr, errstr_size);
        if (res == NULL)
                return -1;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return 1; /* never claimed: certainly not ours */
        }
        if (stored_next != NULL)
                *stored_next = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        got = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
        return got == epoch ? 0 : 1;
}

int zz_store_set_position(zz_store_t *store, const char *topic,
                          int32_t partition, int64_t next_offset, char *errstr,
                          size_t errstr_size)
{
        char part[16], off[24];
        const char *params[4];

        position_key(store, topic, partition, part, params);
        snprintf(off, sizeof(off), "%lld", (long long)next_offset);
        params[3] = off;
        return zz_pg_command(store->conn, SQL_SET_POSITION, 4, params, NULL,
                             errstr, errstr_size);
}

static void *dup_bytes(const void *p, size_t len)
{
        void *q = malloc(len > 0 ? len : 1);

        if (q != NULL && len > 0)
                memcpy(q, p, len);
        return q;
}

int zz_store_outbox_append(zz_store_t *store, const char *stream,
                           const void *key, size_t key_len, const void *value,
                           size_t value_len)
{
        outbox_row_t *row;

        if (store->n_rows == store->cap_rows) {
                size_t cap = store->cap_rows ? store->cap_rows * 2 : 64;
                outbox_row_t *rows = realloc(store->rows, cap * sizeof(*rows));
                if (rows == NULL)
                        return -1;
                store->rows = rows;
                store->cap_rows = cap;
        }
        row = &store->rows[store->n_rows];
        memset(row, 0, sizeof(*row));
        row->stream = strdup(stream);
        row->key = key != NULL ? dup_bytes(key, key_len) : NULL;
        row->key_len = key_len;
        row->value = dup_bytes(value, value_len);
        row->value_len = value_len;
        if (row->stream == NULL || (key != NULL && row->key == NULL) ||
            row->value == NULL) {
                free(row->stream);
                free(row->key);
                free(row->value);
                return -1;
        }
        store->n_rows++;
        return 0;
}

size_t zz_store_outbox_pending(const zz_store_t *store)
{
        return store->n_rows;
}

/* A bytea[] literal of hex elements ({"\\x0a0b",NULL}). malloc'd. */
static char *bytea_array(const outbox_row_t *rows, size_t n, int key)
{
        static const char hex[] = "0123456789abcdef";
        size_t cap = 3, len = 0, i, k;
        char *out;

        for (i = 0; i < n; i++)
                cap += (key ? rows[i].key_len : rows[i].value_len) * 2 + 8;
        out = malloc(cap);
        if (out == NULL)
                return NULL;
        out[len++] = '{';
        for (i = 0; i < n; i++) {
                const unsigned char *p = key ? rows[i].key : rows[i].value;
                size_t plen = key ? rows[i].key_len : rows[i].value_len;

                if (i > 0)
                        out[len++] = ',';
                if (p == NULL) {
                        memcpy(out + len, "NULL", 4);
                        len += 4;
                        continue;
                }
                memcpy(out + len, "\"\\\\x", 4);
                len += 4;
                for (k = 0; k < plen; k++) {
                        out[len++] = hex[p[k] >> 4];
                        out[len++] = hex[p[k] & 15];
                }
                out[len++] = '"';
        }
        out[len++] = '}';
        out[len] = '\0';
        return out;
}

static int write_outbox(zz_store_t *store, char sqlstate[6], char *errstr,
                        size_t errstr_size)
{
        char n[24], first_id[24];
        const char *params[4];
        const char **streams = NULL;
        char *stream_arr = NULL, *key_arr = NULL, *value_arr = NULL;
        PGresult *res;
        long long last;
        size_t i;
        int rc = -1;

        if (store->n_rows == 0)
                return 0;
        snprintf(n, sizeof(n), "%zu", store->n_rows);
        params[0] = n;
        /* The row lock on outbox_seq is held until COMMIT: the next batch
         * gets its ids only after this one is visible. */
        res = zz_pg_query(store->conn, SQL_TAKE_OUTBOX_IDS, 1, params, sqlstate,
                          errstr, errstr_size);
        if (res == NULL)
                return -1;
        last = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        snprintf(first_id, sizeof(first_id), "%lld",
                 last - (long long)store->n_rows + 1);
        streams = calloc(store->n_rows, sizeof(*streams));
        if (streams == NULL)
                goto oom;
        for (i = 0; i < store->n_rows; i++)
                streams[i] = store->rows[i].stream;
        stream_arr = zz_pg_text_array(streams, store->n_rows);
        key_arr = bytea_array(store->rows, store->n_rows, 1);
        value_arr = bytea_array(store->rows, store->n_rows, 0);
        if (stream_arr == NULL || key_arr == NULL || value_arr == NULL)
                goto oom;
        params[0] = first_id;
        params[1] = stream_arr;
        params[2] = key_arr;
        params[3] = value_arr;
        if (zz_pg_command(store->conn, SQL_INSERT_OUTBOX, 4, params, sqlstate,
                          errstr, errstr_size) != 0)
                goto out;
        rc = 0;
        goto out;
oom:
        snprintf(errstr, errstr_size, "out of memory");
out:
        free(streams);
        free(stream_arr);
        free(key_arr);
        free(value_arr);
        return rc;
}

int zz_store_commit(zz_store_t *store, char sqlstate[6], char *errstr,
                    size_t errstr_size)
{
        int rc;

        if (sqlstate != NULL)
                sqlstate[0] = '\0';
        if (write_outbox(store, sqlstate, errstr, errstr_size) != 0) {
                zz_store_rollback(store);
                return -1;
        }
        rc = zz_pg_command(store->conn, "COMMIT", 0, NULL, sqlstate, errstr,
                           errstr_size);
        store->in_tx = 0;
        clear_rows(store);
        if (rc != 0) {
                zz_store_rollback(store);
                return -1;
        }
        return 0;
}

void zz_store_rollback(zz_store_t *store)
{
        zz_pg_exec(store->conn, "ROLLBACK", NULL, 0);
        store->in_tx = 0;
        clear_rows(store);
}
