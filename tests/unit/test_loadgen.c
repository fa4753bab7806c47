/*
 * test_loadgen.c — the load generator: the same seed gives the same
 * events, ID numbers are valid and unique, expected totals are computed,
 * and its CSV files read back through the feed give the same event ids.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "zizhu/feed.h"
#include "zizhu/idno.h"
#include "zizhu/loadgen.h"

struct digest {
        EVP_MD_CTX *ctx;
        uint64_t n;
        uint64_t bad_ids;
        char **ids; /* event ids, when collecting */
        size_t n_ids, cap;
};

static int on_event(const zz_feed_record_t *rec, void *opaque)
{
        struct digest *d = opaque;
        char json[4096];
        const char *key = zz_feed_record_key(rec);

        cr_assert_eq(zz_feed_record_to_json(rec, json, sizeof(json)), 0);
        EVP_DigestUpdate(d->ctx, json, strlen(json));
        if (zz_idno_validate(key, strlen(key)) != ZZ_IDNO_OK)
                d->bad_ids++;
        if (d->ids != NULL) {
                if (d->n_ids == d->cap) {
                        d->cap *= 2;
                        d->ids = realloc(d->ids, d->cap * sizeof(char *));
                }
                d->ids[d->n_ids++] = strdup(rec->event_id);
        }
        d->n++;
        return 0;
}

static zz_loadgen_t *make(const char *jur, uint64_t seed, uint64_t n)
{
        zz_loadgen_options_t o;
        char errstr[512];
        char dir[1024];
        zz_loadgen_t *lg;

        memset(&o, 0, sizeof(o));
        snprintf(dir, sizeof(dir), "%s/policies",
                 getenv("ZZ_SOURCE_DIR") ? getenv("ZZ_SOURCE_DIR")
                                         : ZZ_SOURCE_DIR);
        o.seed = seed;
        o.jurisdiction = jur;
        o.persons = n;
        o.policy_dir = dir;
        lg = zz_loadgen_new(&o, errstr, sizeof(errstr));
        cr_assert_not_null(lg, "%s", errstr);
        return lg;
}

static void run_digest(const char *jur, uint64_t seed, uint64_t n,
                       unsigned char md[32], uint64_t *events)
{
        zz_loadgen_t *lg = make(jur, seed, n);
        struct digest d;
        char errstr[512];
        unsigned int len;

        memset(&d, 0, sizeof(d));
        d.ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(d.ctx, EVP_sha256(), NULL);
        cr_assert_eq(zz_loadgen_run(lg, on_event, &d, errstr, sizeof(errstr)),
                     0, "%s", errstr);
        EVP_DigestFinal_ex(d.ctx, md, &len);
        EVP_MD_CTX_free(d.ctx);
        cr_assert_eq(d.bad_ids, 0);
        *events = d.n;
        zz_loadgen_destroy(lg);
}

Test(loadgen, same_seed_same_events)
{
        unsigned char a[32], b[32], c[32];
        uint64_t na, nb, nc;

        run_digest("province", 7, 3000, a, &na);
        run_digest("province", 7, 3000, b, &nb);
        run_digest("province", 8, 3000, c, &nc);
        cr_assert_eq(na, nb);
        cr_assert(memcmp(a, b, 32) == 0, "same seed, different events");
        cr_assert(memcmp(a, c, 32) != 0, "another seed, same events");
        cr_assert_gt(na, 3000);
}

Test(loadgen, every_jurisdiction_loads_and_ids_are_unique)
{
        static const char *const jurs[] = {"huilong", "tongnan", "panzhihua",
                                           "yubei", "shantou"};
        size_t i;

        for (i = 0; i < 5; i++) {
                zz_loadgen_t *lg = make(jurs[i], 1, 2000);
                struct digest d;
                char errstr[512];
                size_t k;

                memset(&d, 0, sizeof(d));
                d.ctx = EVP_MD_CTX_new();
                EVP_DigestInit_ex(d.ctx, EVP_sha256(), NULL);
                d.cap = 1024;
                d.ids = malloc(d.cap * sizeof(char *));
                cr_assert_eq(
                    zz_loadgen_run(lg, on_event, &d, errstr, sizeof(errstr)), 0,
                    "%s: %s", jurs[i], errstr);
                EVP_MD_CTX_free(d.ctx);
                cr_assert_eq(d.bad_ids, 0, "%s", jurs[i]);
                for (k = 0; k < d.n_ids; k++)
                        free(d.ids[k]);
                free(d.ids);
                cr_assert_gt(zz_loadgen_events(lg, ZZ_FEED_ENROLLMENT), 1500);
                cr_assert_gt(zz_loadgen_events(lg, ZZ_FEED_IDENTITY), 100);
                zz_loadgen_destroy(lg);
        }
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(loadgen, expected_totals_and_unique_event_ids)
{
        zz_loadgen_t *lg = make("huilong", 3, 5000);
        struct digest d;
        char errstr[512];
        char *buf = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&buf, &len);
        size_t k;

        memset(&d, 0, sizeof(d));
        d.ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(d.ctx, EVP_sha256(), NULL);
        d.cap = 1024;
        d.ids = malloc(d.cap * sizeof(char *));
        cr_assert_eq(zz_loadgen_run(lg, on_event, &d, errstr, sizeof(errstr)),
                     0, "%s", errstr);
        EVP_MD_CTX_free(d.ctx);
        qsort(d.ids, d.n_ids, sizeof(char *), cmp_str);
        for (k = 1; k < d.n_ids; k++)
                cr_assert_str_neq(d.ids[k - 1], d.ids[k]);
        for (k = 0; k < d.n_ids; k++)
                free(d.ids[k]);
        free(d.ids);
        cr_assert_eq(zz_loadgen_write_expected(lg, fp), 0);
        fclose(fp);
        cr_assert(strstr(buf, "\"policy\": \"huilong-2020\"") != NULL);
        cr_assert(strstr(buf, "\"persons\": 5000") != NULL);
        cr_assert(strstr(buf, "\"MAF\": {\"persons\": ") != NULL, "%s", buf);
        cr_assert(strstr(buf, "\"REFUND_DUE\"") != NULL);
        free(buf);
        zz_loadgen_destroy(lg);
}

struct ids {
        char **v;
        size_t n, cap;
};

static int collect_id(const zz_feed_record_t *rec, void *opaque)
{
        struct ids *ids = opaque;

        if (ids->n == ids->cap) {
                ids->cap = ids->cap ? ids->cap * 2 : 1024;
                ids->v = realloc(ids->v, ids->cap * sizeof(char *));
        }
        ids->v[ids->n++] = strdup(rec->event_id);
        return 0;
}

static int put_sink(const zz_feed_record_t *rec, void *opaque)
{
        char errstr[256];

        collect_id(rec, ((void **)opaque)[1]);
        return zz_feed_sink_put(((void **)opaque)[0], rec, errstr,
                                sizeof(errstr));
}

Test(loadgen, csv_files_read_back_give_the_same_event_ids)
{
        char dir[] = "/tmp/zz-test-loadgen-XXXXXX";
        zz_loadgen_t *lg = make("tongnan", 5, 1500);
        zz_feed_sink_t *sink;
        struct ids gen = {0}, fed = {0};
        void *ctx[2];
        char errstr[512];
        static const char *const files[] = {
            "identity-MCA.csv", "identity-RRB.csv", "identity-DPF.csv",
            "identity-NHC.csv", "identity-MVA.csv", "identity-EDU.csv",
            "enrollment.csv",   "payment.csv"};
        size_t i;

        cr_assert_not_null(mkdtemp(dir));
        sink = zz_feed_sink_csv(dir, errstr, sizeof(errstr));
        cr_assert_not_null(sink);
        ctx[0] = sink;
        ctx[1] = &gen;
        cr_assert_eq(zz_loadgen_run(lg, put_sink, ctx, errstr, sizeof(errstr)),
                     0);
        cr_assert_eq(zz_feed_sink_flush(sink, 0, errstr, sizeof(errstr)), 0);
        zz_feed_sink_destroy(sink);
        for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                char path[1024];
                zz_feed_options_t o;
                zz_feed_stats_t st;
                FILE *probe;

                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                probe = fopen(path, "r");
                if (probe == NULL)
                        continue;
                fclose(probe);
                memset(&o, 0, sizeof(o));
                o.kind = i < 6    ? ZZ_FEED_IDENTITY
                         : i == 6 ? ZZ_FEED_ENROLLMENT
                                  : ZZ_FEED_PAYMENT;
                cr_assert_eq(zz_feed_read_file(path, ZZ_FEED_ENC_AUTO, &o,
                                               collect_id, &fed, NULL, NULL,
                                               &st, errstr, sizeof(errstr)),
                             0, "%s: %s", files[i], errstr);
                cr_assert_eq(st.rejected, 0, "%s: %zu rejected, see %s",
                             files[i], st.rejected, st.rejects_path);
                remove(path);
        }
        remove(dir);
        cr_assert_eq(gen.n, fed.n);
        qsort(gen.v, gen.n, sizeof(char *), cmp_str);
        qsort(fed.v, fed.n, sizeof(char *), cmp_str);
        for (i = 0; i < gen.n; i++) {
                cr_assert_str_eq(gen.v[i], fed.v[i]);
                free(gen.v[i]);
                free(fed.v[i]);
        }
        free(gen.v);
        free(fed.v);
        zz_loadgen_destroy(lg);
}
