/*
 * audit.c — replayed allocations against the published ones, byte for
 * byte (the datum, whichever framing each side has), and money
 * conservation (see audit.h).
 */
#include "zizhu/audit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "zizhu/codec.h"
#include "zizhu/kafka.h"
#include "zizhu/pg.h"
#include "zizhu/registry.h"
#include "zizhu/settle_run.h"

typedef struct msg_s {
        char *key;
        unsigned char *value;
        size_t len;
        char id[40]; /* allocation_id */
        size_t seq;  /* order of arrival */
        int version; /* of the writer schema, -1 when unknown */
        size_t hdr;  /* bytes of framing before the datum */
} msg_t;

typedef struct msgs_s {
        msg_t *v;
        size_t n, cap;
} msgs_t;

static int msgs_add(msgs_t *ms, const void *key, size_t key_len,
                    const void *value, size_t len)
{
        msg_t *m;

        if (ms->n == ms->cap) {
                size_t cap = ms->cap ? 2 * ms->cap : 256;
                msg_t *v = realloc(ms->v, cap * sizeof(*v));
                if (v == NULL)
                        return -1;
                ms->v = v;
                ms->cap = cap;
        }
        m = &ms->v[ms->n];
        memset(m, 0, sizeof(*m));
        m->key = malloc(key_len + 1);
        m->value = malloc(len + 1);
        if (m->key == NULL || m->value == NULL) {
                free(m->key);
                free(m->value);
                return -1;
        }
        memcpy(m->key, key, key_len);
        m->key[key_len] = '\0';
        memcpy(m->value, value, len);
        m->len = len;
        m->seq = ms->n;
        ms->n++;
        return 0;
}

static void msgs_free(msgs_t *ms)
{
        size_t i;

        for (i = 0; i < ms->n; i++) {
                free(ms->v[i].key);
                free(ms->v[i].value);
        }
        free(ms->v);
        memset(ms, 0, sizeof(*ms));
}

static int msg_cmp(const void *pa, const void *pb)
{
        const msg_t *a = pa, *b = pb;
        int r = strcmp(a->key, b->key);

        return r != 0 ? r : (a->seq > b->seq) - (a->seq < b->seq);
}

static void set_id(zz_codec_t *codec, msg_t *m)
{
        avro_value_t v, f;
        const char *s = NULL;
        size_t len = 0;
        char err[128];

        if (zz_codec_decode(codec, ZZ_STREAM_ALLOCATION, m->value, m->len, &v,
                            NULL, err, sizeof(err)) == 0 &&
            avro_value_get_by_name(&v, "allocation_id", &f, NULL) == 0 &&
            avro_value_get_string(&f, &s, &len) == 0)
                snprintf(m->id, sizeof(m->id), "%s", s);
}

/* The writer schema's version and where the datum starts: a message framed
 * for a schema registry (00 + id) and one single-object encoded (C3 01 +
 * fingerprint) with the same schema and datum are the same allocation. */
static void set_writer(zz_codec_t *codec, msg_t *m)
{
        avro_value_t v;
        char err[128];

        m->version = -1;
        m->hdr = 0;
        if (zz_codec_decode(codec, ZZ_STREAM_ALLOCATION, m->value, m->len, &v,
                            NULL, err, sizeof(err)) != 0 ||
            zz_codec_peek(codec, m->value, m->len, NULL, &m->version, NULL) !=
                0) {
                m->version = -1;
                return;
        }
        m->hdr = m->value[0] == ZZ_CODEC_REGISTRY_MAGIC
                     ? ZZ_CODEC_REGISTRY_HEADER_SIZE
                     : ZZ_CODEC_HEADER_SIZE;
}

/* Same writer schema and same datum, whatever the framing; the whole bytes
 * when a schema is unknown. */
static int same_message(const msg_t *a, const msg_t *b)
{
        if (a->version < 0 || b->version < 0)
                return a->len == b->len &&
                       memcmp(a->value, b->value, a->len) == 0;
        return a->version == b->version && a->len - a->hdr == b->len - b->hdr &&
               memcmp(a->value + a->hdr, b->value + b->hdr, a->len - a->hdr) ==
                   0;
}

static long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_topic(const zz_config_t *config, msgs_t *ms, char *errstr,
                      size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        rd_kafka_topic_partition_list_t *list;
        char topic[256];
        int parts = 0, p, eofs = 0, rc = 0;
        long long deadline;

        zz_config_topic(config, "allocation", topic, sizeof(topic));
        if (zz_config_apply_kafka(config, conf, errstr, errstr_size) != 0) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        rd_kafka_conf_set(conf, "group.id", "zizhu-audit", errstr, errstr_size);
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                          errstr_size);
        rd_kafka_conf_set(conf, "isolation.level", "read_committed", errstr,
                          errstr_size);
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr,
                          errstr_size);
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
        if (rk == NULL) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        parts = zz_kafka_partition_count(rk, topic, 10000, errstr, errstr_size);
        if (parts < 0) {
                rd_kafka_destroy(rk);
                return -1;
        }
        list = rd_kafka_topic_partition_list_new(parts);
        for (p = 0; p < parts; p++)
                rd_kafka_topic_partition_list_add(list, topic, p)->offset =
                    RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, list);
        rd_kafka_topic_partition_list_destroy(list);
        deadline = now_ms() + 120000;
        while (eofs < parts) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);

                if (now_ms() > deadline) {
                        snprintf(errstr, errstr_size, "timed out reading %s",
                                 topic);
                        rc = -1;
                        break;
                }
                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        eofs++;
                else if (!m->err && msgs_add(ms, m->key ? m->key : "",
                                             m->key ? m->key_len : 0,
                                             m->payload, m->len) != 0)
                        rc = -1;
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return rc;
}

static const char SQL_REPLAYED[] = "SELECT key, value\n"
                                   "FROM zizhu.settle_allocation\n"
                                   "ORDER BY id";

/* The allocations of the replay database, in id order. */
static int read_replayed(PGconn *conn, msgs_t *rep, char *errstr,
                         size_t errstr_size)
{
        char detail[512];
        PGresult *res = zz_pg_query_ex(conn, SQL_REPLAYED, 0, NULL, NULL, NULL,
                                       NULL, 1, NULL, detail, sizeof(detail));
        int r;

        if (res == NULL) {
                snprintf(errstr, errstr_size,
                         "could not read the replayed allocations: %s", detail);
                return -1;
        }
        for (r = 0; r < PQntuples(res); r++)
                if (msgs_add(rep, PQgetvalue(res, r, 0),
                             (size_t)PQgetlength(res, r, 0),
                             PQgetvalue(res, r, 1),
                             (size_t)PQgetlength(res, r, 1)) != 0) {
                        snprintf(errstr, errstr_size, "out of memory");
                        PQclear(res);
                        return -1;
                }
        PQclear(res);
        return 0;
}

/* Duplicates: an allocation id published twice. */
static void find_duplicates(zz_codec_t *codec, msgs_t *pub, FILE *out,
                            zz_audit_result_t *result)
{
        size_t i, j;

        for (i = 0; i < pub->n; i++)
                set_id(codec, &pub->v[i]);
        for (i = 0; i < pub->n; i++)
                for (j = i + 1; j < pub->n; j++)
                        if (pub->v[i].id[0] != '\0' &&
                            strcmp(pub->v[i].id, pub->v[j].id) == 0) {
                                result->duplicates++;
                                if (out != NULL)
                                        fprintf(out,
                                                "DUPLICATE  allocation %s "
                                                "published more than once\n",
                                                pub->v[i].id);
                        }
}

/* One period (key) both published, pub[0..n_pub), and replayed,
 * rep[0..n_rep): the same messages (schema and datum bytes) in the same
 * order, or not. */
static void compare_period(const char *key, const msg_t *pub, size_t n_pub,
                           const msg_t *rep, size_t n_rep, FILE *out,
                           zz_audit_result_t *result)
{
        int same = n_pub == n_rep;
        size_t k;

        result->periods++;
        for (k = 0; same && k < n_pub; k++)
                if (!same_message(&pub[k], &rep[k]))
                        same = 0;
        if (same) {
                result->allocations += n_pub;
                if (out != NULL)
                        fprintf(out, "IDENTICAL     %s: %zu allocation(s)\n",
                                key, n_pub);
        } else {
                result->differences++;
                if (out != NULL)
                        fprintf(out,
                                "DIFFERS       %s: %zu published, %zu "
                                "replayed\n",
                                key, n_pub, n_rep);
        }
}

/* The periods of both sides, sorted by key, side by side. */
static void compare_all(msgs_t *pub, msgs_t *rep, FILE *out,
                        zz_audit_result_t *result)
{
        size_t a = 0, b = 0;

        qsort(pub->v, pub->n, sizeof(msg_t), msg_cmp);
        qsort(rep->v, rep->n, sizeof(msg_t), msg_cmp);
        while (a < pub->n || b < rep->n) {
                const char *key;
                size_t ea = a, eb = b;
                int cmp;

                if (a < pub->n && b < rep->n)
                        cmp = strcmp(pub->v[a].key, rep->v[b].key);
                else
                        cmp = a < pub->n ? -1 : 1;
                key = cmp <= 0 ? pub->v[a].key : rep->v[b].key;
                while (ea < pub->n && strcmp(pub->v[ea].key, key) == 0)
                        ea++;
                while (eb < rep->n && strcmp(rep->v[eb].key, key) == 0)
                        eb++;
                if (cmp < 0) {
                        result->not_replayed++;
                        if (out != NULL)
                                fprintf(out,
                                        "NOT REPLAYED  %s: %zu published "
                                        "allocation(s)\n",
                                        key, ea - a);
                        a = ea;
                } else if (cmp > 0) {
                        result->not_published++;
                        if (out != NULL)
                                fprintf(out,
                                        "NOT PUBLISHED %s: %zu replayed "
                                        "allocation(s)\n",
                                        key, eb - b);
                        b = eb;
                } else {
                        compare_period(key, &pub->v[a], ea - a, &rep->v[b],
                                       eb - b, out, result);
                        a = ea;
                        b = eb;
                }
        }
}

int zz_audit_verify(const zz_config_t *config, const char *replay_pg,
                    const zz_policy_t *const *policies, size_t n_policies,
                    int allow_not_replayed, FILE *out,
                    zz_audit_result_t *result, char *errstr, size_t errstr_size)
{
        msgs_t pub = {0}, rep = {0};
        zz_codec_t *codec = NULL;
        PGconn *conn = NULL;
        int rc = -1;

        memset(result, 0, sizeof(*result));
        codec = zz_codec_new(errstr, errstr_size);
        if (codec == NULL ||
            zz_registry_attach(config, codec, errstr, errstr_size) != 0)
                goto out;
        if (read_topic(config, &pub, errstr, errstr_size) != 0)
                goto out;
        conn = zz_pg_connect(replay_pg, "zizhu-audit", errstr, errstr_size);
        if (conn == NULL || read_replayed(conn, &rep, errstr, errstr_size) != 0)
                goto out;
        find_duplicates(codec, &pub, out, result);
        {
                size_t i;
                for (i = 0; i < pub.n; i++)
                        set_writer(codec, &pub.v[i]);
                for (i = 0; i < rep.n; i++)
                        set_writer(codec, &rep.v[i]);
        }
        compare_all(&pub, &rep, out, result);
        if (out != NULL)
                fprintf(out, "\nmoney conservation (replay):\n");
        if (zz_settle_conservation(conn, policies, n_policies, out,
                                   &result->conserved, errstr,
                                   errstr_size) != 0)
                goto out;
        result->ok = result->differences == 0 && result->duplicates == 0 &&
                     result->not_published == 0 && result->conserved &&
                     (allow_not_replayed || result->not_replayed == 0);
        rc = 0;
out:
        zz_pg_finish(conn);
        zz_codec_destroy(codec);
        msgs_free(&pub);
        msgs_free(&rep);
        return rc;
}
