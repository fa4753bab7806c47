/*
 * test_config.c — topic names: the identity stream is one topic per
 * certifying department (issue 12), named from the vocabulary's list, and
 * the topic plan (deploy/local/topics.txt) plans exactly those topics,
 * each like the other audited inputs.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/codec.h"
#include "zizhu/config.h"
#include "zizhu/vocab.h"

static zz_config_t *config_with_prefix(const char *prefix)
{
        char errstr[256], set[64];
        zz_config_t *config;

        unsetenv("ZIZHU_CONFIG");
        unsetenv("ZIZHU_TOPIC_PREFIX");
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
        snprintf(set, sizeof(set), "topic_prefix=%s", prefix);
        cr_assert_eq(zz_config_set(config, set, errstr, sizeof(errstr)), 0);
        return config;
}

Test(config, identity_stream_of_each_department)
{
        char buf[ZZ_CONFIG_STREAM_SIZE], tiny[12];

        cr_expect_str_eq(zz_config_identity_stream("MCA", buf, sizeof(buf)),
                         "identity.mca");
        cr_expect_str_eq(zz_config_identity_stream("DPF", buf, sizeof(buf)),
                         "identity.dpf");
        cr_expect_str_eq(zz_config_identity_stream("EDU", buf, sizeof(buf)),
                         "identity.edu");
        /* only the six departments have a topic */
        cr_expect_null(zz_config_identity_stream("NHSA", buf, sizeof(buf)));
        cr_expect_str_eq(buf, "");
        cr_expect_null(zz_config_identity_stream("dpf", buf, sizeof(buf)));
        cr_expect_null(zz_config_identity_stream(NULL, buf, sizeof(buf)));
        cr_expect_null(zz_config_identity_stream("", buf, sizeof(buf)));
        /* "identity.dpf" needs 13 bytes */
        cr_expect_null(zz_config_identity_stream("DPF", tiny, sizeof(tiny)));
        cr_expect_str_eq(tiny, "");
}

Test(config, topic_streams_expand_identity_in_department_order)
{
        static const char *const in[] = {"identity", "enrollment", "payment",
                                         "control"};
        static const char *const want[] = {
            "identity.mca", "identity.mva", "identity.rrb",
            "identity.dpf", "identity.nhc", "identity.edu",
            "enrollment",   "payment",      "control"};
        zz_config_streams_t ts;
        size_t i;

        cr_assert_eq(zz_config_topic_streams(in, 4, &ts), 9);
        cr_assert_eq(ts.n, 9);
        for (i = 0; i < ts.n; i++)
                cr_expect_str_eq(ts.name[i], want[i]);
        cr_expect_eq(ZZ_CONFIG_IDENTITY_TOPICS, ZZ_VOCAB_DEPTS);
        /* each department's name, from the vocabulary's list */
        for (i = 0; i < ZZ_VOCAB_DEPTS; i++) {
                char buf[ZZ_CONFIG_STREAM_SIZE];

                cr_expect_str_eq(
                    ts.name[i], zz_config_identity_stream(zz_vocab_dept((int)i),
                                                          buf, sizeof(buf)));
        }
        cr_expect_eq(zz_config_topic_streams(in + 1, 2, &ts), 2);
        cr_expect_str_eq(ts.name[0], "enrollment");
        cr_expect_eq(zz_config_topic_streams(in, 0, &ts), 0);
}

Test(config, the_department_of_an_identity_topic)
{
        zz_config_t *config = config_with_prefix("zz.");
        char topic[256];

        cr_expect_str_eq(zz_config_identity_dept(config, "zz.identity.dpf"),
                         "DPF");
        cr_expect_str_eq(zz_config_identity_dept(config, "zz.identity.mca"),
                         "MCA");
        cr_expect_str_eq(zz_config_identity_dept(
                             config, zz_config_topic(config, "identity.edu",
                                                     topic, sizeof(topic))),
                         "EDU");
        /* the old single topic, other streams, other prefixes: none */
        cr_expect_null(zz_config_identity_dept(config, "zz.identity"));
        cr_expect_null(zz_config_identity_dept(config, "zz.enrollment"));
        cr_expect_null(zz_config_identity_dept(config, "zz.identity.DPF"));
        cr_expect_null(zz_config_identity_dept(config, "zz.identity.dpfx"));
        cr_expect_null(zz_config_identity_dept(config, "t1.identity.dpf"));
        cr_expect_null(zz_config_identity_dept(config, "identity.dpf"));
        cr_expect_null(zz_config_identity_dept(config, NULL));
        zz_config_destroy(config);

        config = config_with_prefix("");
        cr_expect_str_eq(zz_config_identity_dept(config, "identity.rrb"),
                         "RRB");
        zz_config_destroy(config);
}

/* One line of the plan: name, partitions, config. */
struct plan_line {
        char name[64];
        int parts;
        char conf[256];
};

static size_t read_plan(struct plan_line *out, size_t cap)
{
        const char *dir = getenv("ZZ_SOURCE_DIR");
        char path[4096], line[512];
        size_t n = 0;
        FILE *fp;

        snprintf(path, sizeof(path), "%s/deploy/local/topics.txt",
                 dir != NULL ? dir : ".");
        fp = fopen(path, "r");
        cr_assert_not_null(fp, "cannot read %s", path);
        while (fgets(line, sizeof(line), fp) != NULL && n < cap) {
                if (line[0] == '#' || line[0] == '\n')
                        continue;
                if (sscanf(line, "%63s %d %255s", out[n].name, &out[n].parts,
                           out[n].conf) == 3)
                        n++;
        }
        fclose(fp);
        return n;
}

static const struct plan_line *planned(const struct plan_line *p, size_t n,
                                       const char *name)
{
        size_t i;

        for (i = 0; i < n; i++)
                if (strcmp(p[i].name, name) == 0)
                        return &p[i];
        return NULL;
}

Test(config, the_plan_has_every_topic_and_identity_as_enrollment)
{
        struct plan_line plan[64];
        size_t n = read_plan(plan, 64), i, want = 0;
        const struct plan_line *enrollment = planned(plan, n, "enrollment");
        int s;

        cr_assert_not_null(enrollment);
        /* every stream's topics, and nothing else */
        for (s = 0; s < ZZ_STREAM__COUNT; s++) {
                const char *stream = zz_stream_name((zz_stream_t)s);
                zz_config_streams_t ts;

                zz_config_topic_streams(&stream, 1, &ts);
                for (i = 0; i < ts.n; i++, want++) {
                        const struct plan_line *p =
                            planned(plan, n, ts.name[i]);

                        cr_expect_not_null(p, "%s is not planned", ts.name[i]);
                        if (p == NULL || s != ZZ_STREAM_IDENTITY)
                                continue;
                        cr_expect_eq(p->parts, enrollment->parts, "%s",
                                     p->name);
                        cr_expect_str_eq(p->conf, enrollment->conf, "%s",
                                         p->name);
                }
        }
        /* and the schema catalog, which is no stream of events */
        cr_expect_not_null(planned(plan, n, "schema-catalog"));
        want++;
        cr_expect_eq(n, want, "the plan has %zu topics, the streams %zu", n,
                     want);
        cr_expect_null(planned(plan, n, "identity"),
                       "the single identity topic is still planned");
}
