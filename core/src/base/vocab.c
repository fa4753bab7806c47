/*
 * vocab.c — the identity categories of POLICIES.md with their attributes,
 * the payers, and the codes of enrollment classes and kinds (see
 * vocab.h).
 */
#include "zizhu/vocab.h"

#include <string.h>

static const char *const zz_v_supported[] = {"dispersed", "institution", NULL};
static const char *const zz_v_inst_level[] = {"city", "district", "town", NULL};
static const char *const zz_v_subgroup[] = {"college_student", "elderly60",
                                            "minor", "seriously_ill", NULL};
static const char *const zz_v_kind[] = {"unstable_lifted", "edge",
                                        "sudden_hardship", NULL};
static const char *const zz_v_relation[] = {"self", "child", NULL};

static const zz_vocab_attr_t zz_a_supported_inst[] = {
    {"supported", ZZ_VOCAB_ENUM, 0, 0, zz_v_supported, 0},
    {"institution", ZZ_VOCAB_TEXT, 0, 0, NULL, 0},
    {"institution_level", ZZ_VOCAB_ENUM, 0, 0, zz_v_inst_level, 0},
};
static const zz_vocab_attr_t zz_a_low_income[] = {
    {"subgroup", ZZ_VOCAB_ENUM, 0, 0, zz_v_subgroup, 0},
};
static const zz_vocab_attr_t zz_a_vagrant[] = {
    {"institution", ZZ_VOCAB_TEXT, 0, 0, NULL, 0},
    {"institution_level", ZZ_VOCAB_ENUM, 0, 0, zz_v_inst_level, 0},
};
static const zz_vocab_attr_t zz_a_priority_care[] = {
    {"disabled_veteran_grade", ZZ_VOCAB_INT, 1, 10, NULL, 0},
    {"old_demobilized", ZZ_VOCAB_BOOL, 0, 0, NULL, 0},
};
static const zz_vocab_attr_t zz_a_poor[] = {
    {"lifted", ZZ_VOCAB_BOOL, 0, 0, NULL, 1},
    {"benefits_enjoyed", ZZ_VOCAB_BOOL, 0, 0, NULL, 0},
};
static const zz_vocab_attr_t zz_a_monitored[] = {
    {"kind", ZZ_VOCAB_ENUM, 0, 0, zz_v_kind, 0},
};
static const zz_vocab_attr_t zz_a_disabled[] = {
    {"level", ZZ_VOCAB_INT, 1, 4, NULL, 1},
};
static const zz_vocab_attr_t zz_a_relation[] = {
    {"relation", ZZ_VOCAB_ENUM, 0, 0, zz_v_relation, 0},
};

/*
 * Required attributes (the last field, 1): the department's record always
 * carries them, and the shipped policies decide by them with no meaning
 * for their absence, so a record without one is incomplete (rejected by
 * the feed, dead-lettered MISSING_ATTRIBUTE by the worker, an error in
 * `policy eval`) rather than decided as if it held no value. Only those
 * two: an attribute whose absence means something is optional
 * (disabled_veteran_grade absent = no disability grade; institution_level
 * absent = not a city institution, shantou-2021), and one whose every
 * value the policies treat alike is not needed, so it must not be
 * required (relation: self and child are subsidized the same by every
 * policy that names NHC.FP_SPECIAL, issue 15).
 */
#define ZZ_ATTRS(a) a, sizeof(a) / sizeof(a[0])

/* In the order of POLICIES.md; zz-loadgen's category weights (loadgen.c)
 * follow this order: add a category at the end, and give it a weight. */
static const zz_vocab_cat_t zz_cats[ZZ_VOCAB_CATS] = {
    {"MCA.DIBAO", "最低生活保障对象", "MCA", NULL, 0},
    {"MCA.TEKUN", "特困供养人员", "MCA", ZZ_ATTRS(zz_a_supported_inst)},
    {"MCA.ORPHAN", "孤儿", "MCA", ZZ_ATTRS(zz_a_supported_inst)},
    {"MCA.UNSUPPORTED_CHILD", "事实无人抚养儿童", "MCA", NULL, 0},
    {"MCA.LOW_INCOME", "低收入家庭成员", "MCA", ZZ_ATTRS(zz_a_low_income)},
    {"MCA.ILLNESS_POVERTY", "因病致贫家庭重病患者", "MCA", NULL, 0},
    {"MCA.OTHER_HARDSHIP", "民政部门建档的特殊困难人员", "MCA", NULL, 0},
    {"MCA.VAGRANT_SETTLED", "已落户流浪乞讨人员", "MCA",
     ZZ_ATTRS(zz_a_vagrant)},
    {"MVA.PRIORITY_CARE", "在乡重点优抚对象", "MVA",
     ZZ_ATTRS(zz_a_priority_care)},
    {"RRB.POOR", "建档立卡贫困人口", "RRB", ZZ_ATTRS(zz_a_poor)},
    {"RRB.EDGE", "边缘易致贫户", "RRB", NULL, 0},
    {"RRB.MONITORED", "防止返贫监测对象", "RRB", ZZ_ATTRS(zz_a_monitored)},
    {"RRB.STABLE_LIFTED", "已稳定脱贫人口", "RRB", NULL, 0},
    {"DPF.DISABLED", "持证残疾人", "DPF", ZZ_ATTRS(zz_a_disabled)},
    {"NHC.FP_REWARD", "农村部分计划生育家庭奖励扶助对象", "NHC", NULL, 0},
    {"NHC.FP_SPECIAL", "计划生育家庭特别扶助对象", "NHC",
     ZZ_ATTRS(zz_a_relation)},
    {"NHC.FP_COMPLICATION", "计划生育手术并发症人员", "NHC", NULL, 0},
    {"NHC.FP_ONLY_CHILD_DISABLED", "农村独生子女四级残疾家庭扶助对象", "NHC",
     ZZ_ATTRS(zz_a_relation)},
    {"EDU.GRANT_STUDENT", "享受国家助学金的在校大学生", "EDU", NULL, 0},
};

/* The certifying departments, in the order of POLICIES.md; every
 * category's dept above is one of them (a unit test checks). */
static const char *const zz_depts[ZZ_VOCAB_DEPTS] = {"MCA", "MVA", "RRB",
                                                     "DPF", "NHC", "EDU"};

static const char *const zz_payers[] = {"MCA", "MVA", "RRB", "DPF",
                                        "NHC", "MAF", "FIN", "WLF"};

const char *const zz_vocab_enroll_classes[] = {"adult", "student_child",
                                               "college", NULL};
const char *const zz_vocab_enroll_kinds[] = {"ANNUAL", "MID_YEAR", NULL};

int zz_vocab_cat_index(const char *code)
{
        int i;

        if (code == NULL)
                return -1;
        for (i = 0; i < ZZ_VOCAB_CATS; i++) {
                if (strcmp(zz_cats[i].code, code) == 0)
                        return i;
        }
        return -1;
}

const zz_vocab_cat_t *zz_vocab_cat(int index)
{
        if (index < 0 || index >= ZZ_VOCAB_CATS)
                return NULL;
        return &zz_cats[index];
}

const zz_vocab_attr_t *zz_vocab_attr(const zz_vocab_cat_t *cat, const char *key)
{
        size_t i;

        if (cat == NULL || key == NULL)
                return NULL;
        for (i = 0; i < cat->n_attrs; i++) {
                if (strcmp(cat->attrs[i].key, key) == 0)
                        return &cat->attrs[i];
        }
        return NULL;
}

int zz_vocab_parse_long(const char *s, long *out)
{
        long v = 0;
        int neg = 0;
        size_t i = 0;

        if (s == NULL || s[0] == '\0')
                return -1;
        if (s[0] == '-') {
                neg = 1;
                i = 1;
        }
        if (s[i] == '\0')
                return -1;
        for (; s[i] != '\0'; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                if (v > 100000000000000L)
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        *out = neg ? -v : v;
        return 0;
}

int zz_vocab_attr_value_ok(const zz_vocab_attr_t *def, const char *value)
{
        long v;
        size_t i;

        if (def == NULL || value == NULL)
                return 0;
        switch (def->type) {
        case ZZ_VOCAB_ENUM:
                for (i = 0; def->values[i] != NULL; i++) {
                        if (strcmp(def->values[i], value) == 0)
                                return 1;
                }
                return 0;
        case ZZ_VOCAB_INT:
                if (zz_vocab_parse_long(value, &v) != 0)
                        return 0;
                return v >= def->min && v <= def->max;
        case ZZ_VOCAB_BOOL:
                return strcmp(value, "true") == 0 ||
                       strcmp(value, "false") == 0;
        case ZZ_VOCAB_TEXT:
                return value[0] != '\0';
        }
        return 0;
}

int zz_vocab_payer_known(const char *code)
{
        size_t i;

        if (code == NULL)
                return 0;
        for (i = 0; i < sizeof(zz_payers) / sizeof(zz_payers[0]); i++) {
                if (strcmp(zz_payers[i], code) == 0)
                        return 1;
        }
        return 0;
}

int zz_vocab_cat_known(const char *code)
{
        return zz_vocab_cat_index(code) >= 0;
}

const char *zz_vocab_missing_attr(const zz_vocab_cat_t *cat,
                                  int (*has)(const char *key, void *ctx),
                                  void *ctx)
{
        size_t i;

        if (cat == NULL || has == NULL)
                return NULL;
        for (i = 0; i < cat->n_attrs; i++) {
                if (cat->attrs[i].required && !has(cat->attrs[i].key, ctx))
                        return cat->attrs[i].key;
        }
        return NULL;
}

int zz_vocab_cat_has_attr(const char *code, const char *key)
{
        return zz_vocab_attr(zz_vocab_cat(zz_vocab_cat_index(code)), key) !=
               NULL;
}

const char *zz_vocab_cat_dept(const char *code)
{
        const zz_vocab_cat_t *cat = zz_vocab_cat(zz_vocab_cat_index(code));

        return cat != NULL ? cat->dept : NULL;
}

const char *zz_vocab_dept(int index)
{
        if (index < 0 || index >= ZZ_VOCAB_DEPTS)
                return NULL;
        return zz_depts[index];
}

int zz_vocab_dept_index(const char *code)
{
        int i;

        if (code == NULL)
                return -1;
        for (i = 0; i < ZZ_VOCAB_DEPTS; i++) {
                if (strcmp(zz_depts[i], code) == 0)
                        return i;
        }
        return -1;
}
