/*
 * test_vocab.c — the one vocabulary table: its categories are consistent
 * (department prefix, attributes), its lookups and value checks are
 * strict, and the modules that read it (events, feed, engine) agree with
 * it.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "zizhu/event.h"
#include "zizhu/feed.h"
#include "zizhu/policy.h"
#include "zizhu/vocab.h"

Test(vocab, every_category_is_found_by_its_code)
{
        int i;

        for (i = 0; i < ZZ_VOCAB_CATS; i++) {
                const zz_vocab_cat_t *cat = zz_vocab_cat(i);

                cr_assert_not_null(cat);
                cr_expect_eq(zz_vocab_cat_index(cat->code), i, "%s", cat->code);
                cr_expect(zz_vocab_cat_known(cat->code), "%s", cat->code);
                cr_expect(cat->zh != NULL && cat->zh[0] != '\0', "%s",
                          cat->code);
        }
        cr_expect_null(zz_vocab_cat(-1));
        cr_expect_null(zz_vocab_cat(ZZ_VOCAB_CATS));
        cr_expect_eq(zz_vocab_cat_index(NULL), -1);
        cr_expect_eq(zz_vocab_cat_index("DPF.DISABLE"), -1);
        cr_expect_eq(zz_vocab_cat_index("dpf.disabled"), -1);
        cr_expect_not(zz_vocab_cat_known(""));
}

Test(vocab, a_category_is_certified_by_the_department_of_its_prefix)
{
        int i;

        for (i = 0; i < ZZ_VOCAB_CATS; i++) {
                const zz_vocab_cat_t *cat = zz_vocab_cat(i);
                size_t n = strlen(cat->dept);

                cr_expect(strncmp(cat->code, cat->dept, n) == 0 &&
                              cat->code[n] == '.',
                          "%s certified by %s", cat->code, cat->dept);
                /* a department a file may come from */
                cr_expect_str_eq(zz_feed_department_code(cat->dept), cat->dept);
        }
}

Test(vocab, departments_and_the_categories_they_certify)
{
        static const char *const want[ZZ_VOCAB_DEPTS] = {"MCA", "MVA", "RRB",
                                                         "DPF", "NHC", "EDU"};
        int i, n[ZZ_VOCAB_DEPTS] = {0};

        for (i = 0; i < ZZ_VOCAB_DEPTS; i++) {
                cr_expect_str_eq(zz_vocab_dept(i), want[i]);
                cr_expect_eq(zz_vocab_dept_index(want[i]), i);
        }
        cr_expect_null(zz_vocab_dept(-1));
        cr_expect_null(zz_vocab_dept(ZZ_VOCAB_DEPTS));
        cr_expect_eq(zz_vocab_dept_index("dpf"), -1);
        cr_expect_eq(zz_vocab_dept_index("NHSA"), -1);
        cr_expect_eq(zz_vocab_dept_index(NULL), -1);
        /* every category's department is one of them, and each certifies
         * at least one category */
        for (i = 0; i < ZZ_VOCAB_CATS; i++) {
                const zz_vocab_cat_t *cat = zz_vocab_cat(i);
                int d = zz_vocab_dept_index(cat->dept);

                cr_expect_geq(d, 0, "%s", cat->code);
                cr_expect_str_eq(zz_vocab_cat_dept(cat->code), cat->dept);
                if (d >= 0)
                        n[d]++;
        }
        for (i = 0; i < ZZ_VOCAB_DEPTS; i++)
                cr_expect_gt(n[i], 0, "%s certifies nothing", want[i]);
        cr_expect_str_eq(zz_vocab_cat_dept("DPF.DISABLED"), "DPF");
        cr_expect_null(zz_vocab_cat_dept("DPF.DISABLE"));
        cr_expect_null(zz_vocab_cat_dept(NULL));
}

Test(vocab, attributes_and_their_values)
{
        const zz_vocab_cat_t *dpf =
            zz_vocab_cat(zz_vocab_cat_index("DPF.DISABLED"));
        const zz_vocab_cat_t *tekun =
            zz_vocab_cat(zz_vocab_cat_index("MCA.TEKUN"));
        const zz_vocab_attr_t *level = zz_vocab_attr(dpf, "level");
        const zz_vocab_attr_t *sup = zz_vocab_attr(tekun, "supported");
        const zz_vocab_attr_t *inst = zz_vocab_attr(tekun, "institution");
        const zz_vocab_attr_t *lifted = zz_vocab_attr(
            zz_vocab_cat(zz_vocab_cat_index("RRB.POOR")), "lifted");

        cr_assert_not_null(level);
        cr_expect_eq(level->type, ZZ_VOCAB_INT);
        cr_expect(zz_vocab_attr_value_ok(level, "1"));
        cr_expect(zz_vocab_attr_value_ok(level, "4"));
        cr_expect_not(zz_vocab_attr_value_ok(level, "5"));
        cr_expect_not(zz_vocab_attr_value_ok(level, "0"));
        cr_expect_not(zz_vocab_attr_value_ok(level, "+1"));
        cr_expect_not(zz_vocab_attr_value_ok(level, " 1"));
        cr_expect_not(zz_vocab_attr_value_ok(level, NULL));
        cr_assert_not_null(sup);
        cr_expect(zz_vocab_attr_value_ok(sup, "dispersed"));
        cr_expect_not(zz_vocab_attr_value_ok(sup, "Dispersed"));
        cr_assert_not_null(inst);
        cr_expect(zz_vocab_attr_value_ok(inst, "FLY001"));
        cr_expect_not(zz_vocab_attr_value_ok(inst, ""));
        cr_assert_not_null(lifted);
        cr_expect(zz_vocab_attr_value_ok(lifted, "true"));
        cr_expect_not(zz_vocab_attr_value_ok(lifted, "yes"));
        cr_expect_null(zz_vocab_attr(dpf, "leve"));
        cr_expect_null(zz_vocab_attr(NULL, "level"));
        cr_expect_not(zz_vocab_attr_value_ok(NULL, "1"));

        cr_expect(zz_vocab_cat_has_attr("DPF.DISABLED", "level"));
        cr_expect_not(zz_vocab_cat_has_attr("MCA.DIBAO", "level"));
        cr_expect_not(zz_vocab_cat_has_attr("NOT.A_CATEGORY", "level"));
}

Test(vocab, integers_are_digits_with_an_optional_minus)
{
        long v = 7;

        cr_expect_eq(zz_vocab_parse_long("42", &v), 0);
        cr_expect_eq(v, 42);
        cr_expect_eq(zz_vocab_parse_long("-3", &v), 0);
        cr_expect_eq(v, -3);
        cr_expect_eq(zz_vocab_parse_long("1000000000000009", &v), 0);
        v = 7;
        cr_expect_eq(zz_vocab_parse_long("", &v), -1);
        cr_expect_eq(zz_vocab_parse_long("-", &v), -1);
        cr_expect_eq(zz_vocab_parse_long("+5", &v), -1);
        cr_expect_eq(zz_vocab_parse_long(" 5", &v), -1);
        cr_expect_eq(zz_vocab_parse_long("5x", &v), -1);
        cr_expect_eq(zz_vocab_parse_long("10000000000000000", &v), -1);
        cr_expect_eq(zz_vocab_parse_long(NULL, &v), -1);
        cr_expect_eq(v, 7);
}

Test(vocab, payers)
{
        static const char *const payers[] = {"MCA", "MVA", "RRB", "DPF",
                                             "NHC", "MAF", "FIN", "WLF"};
        size_t i;

        for (i = 0; i < sizeof(payers) / sizeof(payers[0]); i++)
                cr_expect(zz_vocab_payer_known(payers[i]), "%s", payers[i]);
        cr_expect_not(zz_vocab_payer_known("EDU"));
        cr_expect_not(zz_vocab_payer_known("maf"));
        cr_expect_not(zz_vocab_payer_known(NULL));
}

Test(vocab, enrollment_classes_and_kinds_follow_the_enums)
{
        cr_expect_str_eq(zz_vocab_enroll_classes[ZZ_CLASS_ADULT], "adult");
        cr_expect_str_eq(zz_vocab_enroll_classes[ZZ_CLASS_STUDENT_CHILD],
                         "student_child");
        cr_expect_str_eq(zz_vocab_enroll_classes[ZZ_CLASS_COLLEGE], "college");
        cr_expect_null(zz_vocab_enroll_classes[ZZ_CLASS_COLLEGE + 1]);
        cr_expect_str_eq(zz_vocab_enroll_kinds[ZZ_KIND_ANNUAL], "ANNUAL");
        cr_expect_str_eq(zz_vocab_enroll_kinds[ZZ_KIND_MID_YEAR], "MID_YEAR");
        cr_expect_null(zz_vocab_enroll_kinds[ZZ_KIND_MID_YEAR + 1]);
        /* The event's classes are the engine's, after UNKNOWN. */
        cr_expect_eq(zz_enrollment_class_code(ZZ_ENROLLMENT_CLASS_COLLEGE),
                     zz_vocab_enroll_classes[ZZ_CLASS_COLLEGE]);
}

/* A department's file names a category by its code or a clerk's label;
 * either way the feed gives the vocabulary's code. */
Test(vocab, the_feed_reads_the_same_categories)
{
        int i;

        for (i = 0; i < ZZ_VOCAB_CATS; i++) {
                const char *code = zz_vocab_cat(i)->code;

                cr_expect_str_eq(zz_feed_category_code(code), code);
        }
        cr_expect_str_eq(zz_feed_category_code("低保"), "MCA.DIBAO");
        cr_expect(zz_vocab_cat_known(zz_feed_category_code("持证残疾人")));
        cr_expect_null(zz_feed_category_code("MCA.NOPE"));
}

static int has_in(const char *key, void *ctx)
{
        const char *const *keys = ctx;
        size_t i;

        for (i = 0; keys[i] != NULL; i++) {
                if (strcmp(keys[i], key) == 0)
                        return 1;
        }
        return 0;
}

/* Issue 15: the vocabulary says which attributes a category requires.
 * Only DPF.DISABLED level and RRB.POOR lifted: the policies decide by
 * them and their absence means nothing. An attribute whose every value
 * the policies treat alike (relation, supported) is not required. */
Test(vocab, required_attributes)
{
        static const char *const none[] = {NULL};
        static const char *const level[] = {"level", NULL};
        static const char *const enjoyed[] = {"benefits_enjoyed", NULL};
        static const char *const lifted[] = {"lifted", NULL};
        const zz_vocab_cat_t *dpf =
            zz_vocab_cat(zz_vocab_cat_index("DPF.DISABLED"));
        const zz_vocab_cat_t *poor =
            zz_vocab_cat(zz_vocab_cat_index("RRB.POOR"));
        int i, n = 0;

        cr_expect_str_eq(zz_vocab_missing_attr(dpf, has_in, (void *)none),
                         "level");
        cr_expect_null(zz_vocab_missing_attr(dpf, has_in, (void *)level));
        cr_expect_str_eq(zz_vocab_missing_attr(poor, has_in, (void *)enjoyed),
                         "lifted");
        cr_expect_null(zz_vocab_missing_attr(poor, has_in, (void *)lifted));
        cr_expect_null(zz_vocab_missing_attr(NULL, has_in, (void *)none));
        for (i = 0; i < ZZ_VOCAB_CATS; i++) {
                const zz_vocab_cat_t *cat = zz_vocab_cat(i);

                if (zz_vocab_missing_attr(cat, has_in, (void *)none) != NULL)
                        n++;
        }
        cr_expect_eq(n, 2, "only DPF.DISABLED and RRB.POOR require one");
        cr_expect_null(zz_vocab_missing_attr(
            zz_vocab_cat(zz_vocab_cat_index("NHC.FP_SPECIAL")), has_in,
            (void *)none));
        cr_expect_null(
            zz_vocab_missing_attr(zz_vocab_cat(zz_vocab_cat_index("MCA.TEKUN")),
                                  has_in, (void *)none));
}
