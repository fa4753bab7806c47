/*
 * feed_row.c — from a clerk's CSV row to a validated record.
 *
 * The header row is matched against the column names of the templates in
 * deploy/templates/ (Chinese names as in the notices — 归属地, 姓名,
 * 身份证号码, 部门标识, 人员编号, 生存状况, 人员身份标识 — with English
 * aliases). Each data row is checked field by field; the first problem
 * found is the reason the row is rejected. Reasons name the column and the
 * problem, never the value of an ID number or a name.
 */
#include "feed_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "zizhu/idno.h"
#include "zizhu/vocab.h"

/* ------------------------------------------------------------------ */
/* Names                                                               */

const char *zz_feed_kind_name(zz_feed_kind_t kind)
{
        static const char *const names[] = {"identity", "enrollment", "payment",
                                            "control"};

        return (unsigned)kind < 4 ? names[kind] : "?";
}

const char *zz_feed_id_action_name(int a)
{
        static const char *const names[] = {"UNKNOWN", "GRANT",  "END",
                                            "CORRECT", "REVOKE", "DECEASED"};

        return a >= 0 && a <= 5 ? names[a] : "UNKNOWN";
}

const char *zz_feed_enr_action_name(int a)
{
        return a == 1 ? "REGISTER" : a == 2 ? "CANCEL" : "UNKNOWN";
}

const char *zz_feed_class_name(int c)
{
        return c == 1   ? "ADULT"
               : c == 2 ? "STUDENT_CHILD"
               : c == 3 ? "COLLEGE"
                        : "UNKNOWN";
}

const char *zz_feed_enr_kind_name(int k)
{
        return k == 1 ? "ANNUAL" : k == 2 ? "MID_YEAR" : "UNKNOWN";
}

const char *zz_feed_pay_kind_name(int k)
{
        return k == 1 ? "PAYMENT" : k == 2 ? "REFUND" : "UNKNOWN";
}

const char *zz_feed_command_name(int c)
{
        return c == 1 ? "CLOSE_PERIOD" : c == 2 ? "ACTIVATE_POLICY" : "UNKNOWN";
}

/* ------------------------------------------------------------------ */
/* Vocabulary a clerk writes                                           */

struct zz_label {
        const char *label;
        const char *code;
};

static const struct zz_label zz_departments[] = {{"MCA", "MCA"},
                                                 {"民政", "MCA"},
                                                 {"民政局", "MCA"},
                                                 {"民政部门", "MCA"},
                                                 {"RRB", "RRB"},
                                                 {"乡村振兴", "RRB"},
                                                 {"乡村振兴局", "RRB"},
                                                 {"扶贫办", "RRB"},
                                                 {"扶贫", "RRB"},
                                                 {"DPF", "DPF"},
                                                 {"残联", "DPF"},
                                                 {"残疾人联合会", "DPF"},
                                                 {"NHC", "NHC"},
                                                 {"卫健", "NHC"},
                                                 {"卫健委", "NHC"},
                                                 {"卫生健康委", "NHC"},
                                                 {"MVA", "MVA"},
                                                 {"退役军人事务", "MVA"},
                                                 {"退役军人事务局", "MVA"},
                                                 {"EDU", "EDU"},
                                                 {"高校", "EDU"},
                                                 {"教育", "EDU"},
                                                 {NULL, NULL}};

static const struct zz_label zz_categories[] = {
    {"低保", "MCA.DIBAO"},
    {"低保对象", "MCA.DIBAO"},
    {"城乡低保对象", "MCA.DIBAO"},
    {"最低生活保障对象", "MCA.DIBAO"},
    {"特困", "MCA.TEKUN"},
    {"特困供养人员", "MCA.TEKUN"},
    {"特困人员", "MCA.TEKUN"},
    {"五保", "MCA.TEKUN"},
    {"孤儿", "MCA.ORPHAN"},
    {"城乡孤儿", "MCA.ORPHAN"},
    {"事实无人抚养儿童", "MCA.UNSUPPORTED_CHILD"},
    {"困境儿童", "MCA.UNSUPPORTED_CHILD"},
    {"低收入家庭成员", "MCA.LOW_INCOME"},
    {"低收入", "MCA.LOW_INCOME"},
    {"因病致贫家庭重病患者", "MCA.ILLNESS_POVERTY"},
    {"因病致贫", "MCA.ILLNESS_POVERTY"},
    {"其他特殊困难人员", "MCA.OTHER_HARDSHIP"},
    {"民政部门建档的其他特殊困难人员", "MCA.OTHER_HARDSHIP"},
    {"已落户流浪乞讨人员", "MCA.VAGRANT_SETTLED"},
    {"流浪乞讨人员", "MCA.VAGRANT_SETTLED"},
    {"在乡重点优抚对象", "MVA.PRIORITY_CARE"},
    {"重点优抚对象", "MVA.PRIORITY_CARE"},
    {"建档立卡贫困人口", "RRB.POOR"},
    {"贫困人口", "RRB.POOR"},
    {"边缘易致贫户", "RRB.EDGE"},
    {"防止返贫监测对象", "RRB.MONITORED"},
    {"监测对象", "RRB.MONITORED"},
    {"已稳定脱贫人口", "RRB.STABLE_LIFTED"},
    {"持证残疾人", "DPF.DISABLED"},
    {"残疾人", "DPF.DISABLED"},
    {"计划生育奖励扶助对象", "NHC.FP_REWARD"},
    {"农村部分计划生育家庭奖励扶助对象", "NHC.FP_REWARD"},
    {"计划生育特别扶助对象", "NHC.FP_SPECIAL"},
    {"计划生育家庭特别扶助对象", "NHC.FP_SPECIAL"},
    {"计划生育手术并发症人员", "NHC.FP_COMPLICATION"},
    {"计划生育手术并发症", "NHC.FP_COMPLICATION"},
    {"独生子女四级残疾家庭扶助对象", "NHC.FP_ONLY_CHILD_DISABLED"},
    {"农村独生子女四级残疾家庭扶助对象", "NHC.FP_ONLY_CHILD_DISABLED"},
    {"国家助学金", "EDU.GRANT_STUDENT"},
    {"享受国家助学金的在校大学生", "EDU.GRANT_STUDENT"},
    {NULL, NULL}};

static const char *lookup(const struct zz_label *t, const char *s)
{
        for (; t->label != NULL; t++) {
                if (strcmp(t->label, s) == 0)
                        return t->code;
        }
        return NULL;
}

const char *zz_feed_department_code(const char *name)
{
        char up[16];
        size_t i;
        const char *code = lookup(zz_departments, name);

        if (code != NULL)
                return code;
        for (i = 0; name[i] != '\0' && i + 1 < sizeof(up); i++)
                up[i] = (char)toupper((unsigned char)name[i]);
        up[i] = '\0';
        return lookup(zz_departments, up);
}

const char *zz_feed_category_code(const char *label)
{
        const char *code = lookup(zz_categories, label);
        const zz_vocab_cat_t *cat;

        if (code != NULL)
                return code;
        /* A code as the vocabulary writes it ("MCA.DIBAO"). */
        cat = zz_vocab_cat(zz_vocab_cat_index(label));
        return cat != NULL ? cat->code : NULL;
}

/* ------------------------------------------------------------------ */
/* Columns                                                             */

enum zz_col {
        COL_IDNO = 0,
        COL_NAME,
        COL_REGION,
        COL_APPROVING,
        COL_DEPT,
        COL_RECORD,
        COL_ALIVE,
        COL_DEATH_DATE,
        COL_CATEGORY,
        COL_ATTRS,
        COL_VALID_FROM,
        COL_VALID_TO,
        COL_ACTION,
        COL_REPORTED,
        COL_A_LEVEL,
        COL_A_LIFTED,
        COL_A_BENEFITS,
        COL_A_SUPPORTED,
        COL_A_INSTITUTION,
        COL_A_INST_LEVEL,
        COL_A_GRADE,
        COL_A_OLD_DEMOB,
        COL_A_RELATION,
        COL_A_SUBGROUP,
        COL_A_KIND,
        COL_HOUSEHOLD,
        COL_YEAR,
        COL_TIER,
        COL_CLASS,
        COL_ENR_KIND,
        COL_REG_DATE,
        COL_ENR_REGION,
        COL_UNIT,
        COL_PAY_KIND,
        COL_CONTRIB,
        COL_APPLIED,
        COL_PAID,
        COL_REFUND,
        COL_PAID_AT,
        COL_RECEIPT,
        COL_COUNT
};

struct zz_coldef {
        enum zz_col col;
        const char *attr; /* attribute key for COL_A_* */
        /* Accepted header names, '|'-separated; the first is the
         * template's. */
        const char *names;
};

static const struct zz_coldef zz_coldefs[] = {
    {COL_IDNO, NULL, "身份证号码|身份证号|公民身份号码|证件号码|id_number"},
    {COL_NAME, NULL, "姓名|name"},
    {COL_REGION, NULL, "归属地|归属地代码|居住地|residence_region"},
    {COL_APPROVING, NULL, "审批地|审批地代码|认定地|approving_region"},
    {COL_DEPT, NULL, "部门标识|部门|department"},
    {COL_RECORD, NULL, "人员编号|参保记录号|缴费记录号|记录号|dept_record_id"},
    {COL_ALIVE, NULL, "生存状况|生存状态|alive"},
    {COL_DEATH_DATE, NULL, "死亡日期|deceased_on"},
    {COL_CATEGORY, NULL, "人员身份标识|身份类别|人员类别|category"},
    {COL_ATTRS, NULL, "身份属性|属性|attrs"},
    {COL_VALID_FROM, NULL, "认定日期|有效起始日期|起始日期|valid_from"},
    {COL_VALID_TO, NULL, "终止日期|有效截止日期|截止日期|valid_to"},
    {COL_ACTION, NULL, "变动类型|action"},
    {COL_REPORTED, NULL, "报送时间|reported_at"},
    {COL_A_LEVEL, "level", "残疾等级|level"},
    {COL_A_LIFTED, "lifted", "是否脱贫|脱贫状态|lifted"},
    {COL_A_BENEFITS, "benefits_enjoyed", "是否享受政策|benefits_enjoyed"},
    {COL_A_SUPPORTED, "supported", "供养方式|supported"},
    {COL_A_INSTITUTION, "institution", "供养机构|institution"},
    {COL_A_INST_LEVEL, "institution_level", "机构级别|institution_level"},
    {COL_A_GRADE, "disabled_veteran_grade",
     "残疾军人等级|伤残等级|disabled_veteran_grade"},
    {COL_A_OLD_DEMOB, "old_demobilized", "老复员军人|old_demobilized"},
    {COL_A_RELATION, "relation", "扶助关系|relation"},
    {COL_A_SUBGROUP, "subgroup", "低收入类别|subgroup"},
    {COL_A_KIND, "kind", "监测类型|kind"},
    {COL_HOUSEHOLD, NULL, "户编号|家庭户编号|household_id"},
    {COL_YEAR, NULL, "参保年度|缴费年度|year"},
    {COL_TIER, NULL, "缴费档次|档次|tier"},
    {COL_CLASS, NULL, "参保类别|enrollment_class"},
    {COL_ENR_KIND, NULL, "参保方式|kind_of_enrollment"},
    {COL_REG_DATE, NULL, "登记日期|参保日期|registered_on"},
    {COL_ENR_REGION, NULL, "参保地|参保地代码|村社区代码|region"},
    {COL_UNIT, NULL, "代缴单位|参保单位|unit"},
    {COL_PAY_KIND, NULL, "业务类型|缴费类型|payment_kind"},
    {COL_CONTRIB, NULL, "应缴金额|个人缴费标准|contribution"},
    {COL_APPLIED, NULL, "资助金额|减免金额|subsidy_applied"},
    {COL_PAID, NULL, "个人实缴金额|实缴金额|paid"},
    {COL_REFUND, NULL, "退费金额|refund"},
    {COL_PAID_AT, NULL, "缴费时间|退费时间|paid_at"},
    {COL_RECEIPT, NULL, "票据号|缴费凭证号|receipt"},
};

#define ZZ_NCOLDEFS (sizeof(zz_coldefs) / sizeof(zz_coldefs[0]))

/* Columns each kind reads, and which must be present. */
struct zz_kindcol {
        enum zz_col col;
        int required;
};

static const struct zz_kindcol zz_identity_cols[] = {
    {COL_IDNO, 1},          {COL_NAME, 0},         {COL_REGION, 1},
    {COL_APPROVING, 0},     {COL_DEPT, 0},         {COL_RECORD, 1},
    {COL_ALIVE, 0},         {COL_DEATH_DATE, 0},   {COL_CATEGORY, 1},
    {COL_ATTRS, 0},         {COL_VALID_FROM, 1},   {COL_VALID_TO, 0},
    {COL_ACTION, 0},        {COL_REPORTED, 0},     {COL_A_LEVEL, 0},
    {COL_A_LIFTED, 0},      {COL_A_BENEFITS, 0},   {COL_A_SUPPORTED, 0},
    {COL_A_INSTITUTION, 0}, {COL_A_INST_LEVEL, 0}, {COL_A_GRADE, 0},
    {COL_A_OLD_DEMOB, 0},   {COL_A_RELATION, 0},   {COL_A_SUBGROUP, 0},
    {COL_A_KIND, 0},        {COL_COUNT, 0}};

static const struct zz_kindcol zz_enrollment_cols[] = {
    {COL_IDNO, 1},       {COL_NAME, 0},  {COL_HOUSEHOLD, 1}, {COL_YEAR, 1},
    {COL_TIER, 1},       {COL_CLASS, 1}, {COL_ENR_KIND, 0},  {COL_REG_DATE, 1},
    {COL_ENR_REGION, 1}, {COL_UNIT, 0},  {COL_ACTION, 0},    {COL_RECORD, 0},
    {COL_REPORTED, 0},   {COL_COUNT, 0}};

static const struct zz_kindcol zz_payment_cols[] = {
    {COL_IDNO, 1},    {COL_NAME, 0},    {COL_YEAR, 1},   {COL_PAY_KIND, 0},
    {COL_CONTRIB, 1}, {COL_APPLIED, 1}, {COL_PAID, 1},   {COL_REFUND, 0},
    {COL_PAID_AT, 1}, {COL_RECEIPT, 1}, {COL_RECORD, 0}, {COL_COUNT, 0}};

struct zz_feed_s {
        zz_feed_options_t opt;
        char department[ZZ_FEED_DEPT_SIZE];
        int index[COL_COUNT]; /* column position, -1 when absent */
        size_t n_header;      /* cells of the header row */
        const struct zz_kindcol *cols;
};

zz_feed_t *zz_feed_new(const zz_feed_options_t *options, char *errstr,
                       size_t errstr_size)
{
        zz_feed_t *feed;
        int i;

        if (options->kind == ZZ_FEED_CONTROL) {
                snprintf(errstr, errstr_size,
                         "control commands are not read from files");
                return NULL;
        }
        feed = calloc(1, sizeof(*feed));
        if (feed == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        feed->opt = *options;
        feed->opt.department = NULL;
        if (options->department != NULL) {
                const char *code = zz_feed_department_code(options->department);

                if (code == NULL) {
                        snprintf(errstr, errstr_size,
                                 "unknown department \"%s\"",
                                 options->department);
                        free(feed);
                        return NULL;
                }
                snprintf(feed->department, sizeof(feed->department), "%s",
                         code);
        }
        for (i = 0; i < COL_COUNT; i++)
                feed->index[i] = -1;
        feed->cols = options->kind == ZZ_FEED_IDENTITY     ? zz_identity_cols
                     : options->kind == ZZ_FEED_ENROLLMENT ? zz_enrollment_cols
                                                           : zz_payment_cols;
        return feed;
}

void zz_feed_destroy(zz_feed_t *feed)
{
        free(feed);
}

static const struct zz_coldef *coldef(enum zz_col col)
{
        size_t i;

        for (i = 0; i < ZZ_NCOLDEFS; i++) {
                if (zz_coldefs[i].col == col)
                        return &zz_coldefs[i];
        }
        return NULL;
}

/* 1 when header matches one of the '|'-separated names. */
static int name_matches(const char *names, const char *header)
{
        size_t hl = strlen(header);
        const char *p = names;

        while (*p != '\0') {
                const char *bar = strchr(p, '|');
                size_t n = bar ? (size_t)(bar - p) : strlen(p);

                if (n == hl && strncasecmp(p, header, n) == 0)
                        return 1;
                p += n;
                if (*p == '|')
                        p++;
        }
        return 0;
}

/* 1 with errstr when cell i of the header cannot be trusted: over the
 * reader's limits (its text dropped), or with a NUL byte ("身份证号码\0x"
 * must not pass for the column). */
static int header_cell_bad(const zz_feed_row_t *row, size_t i, char *errstr,
                           size_t errstr_size)
{
        if (row->long_field != 0 || row->long_row) {
                snprintf(errstr, errstr_size,
                         "line %zu: the header is longer than the limit of "
                         "the field or the row",
                         row->line);
                return 1;
        }
        if (strlen(row->fields[i]) != row->lens[i]) {
                snprintf(errstr, errstr_size,
                         "line %zu: column %zu of the header contains a NUL "
                         "byte",
                         row->line, i + 1);
                return 1;
        }
        return 0;
}

int zz_feed_header(zz_feed_t *feed, const zz_feed_row_t *row, size_t *n_unknown,
                   char *errstr, size_t errstr_size)
{
        size_t i;
        size_t unknown = 0;
        const struct zz_kindcol *kc;

        for (i = 0; i < COL_COUNT; i++)
                feed->index[i] = -1;
        for (i = 0; i < row->n_fields; i++) {
                const char *h = row->fields[i];
                int found = 0;

                if (header_cell_bad(row, i, errstr, errstr_size))
                        return -1;

                /* A spreadsheet may mark required columns with '*'. */
                if (h[0] == '*')
                        h++;
                for (kc = feed->cols; kc->col != COL_COUNT; kc++) {
                        const struct zz_coldef *d = coldef(kc->col);

                        if (feed->index[kc->col] < 0 &&
                            name_matches(d->names, h)) {
                                feed->index[kc->col] = (int)i;
                                found = 1;
                                break;
                        }
                }
                if (!found)
                        unknown++;
        }
        feed->n_header = row->n_fields;
        for (kc = feed->cols; kc->col != COL_COUNT; kc++) {
                int required = kc->required;

                if (kc->col == COL_DEPT && feed->department[0] == '\0')
                        required = 1;
                if (required && feed->index[kc->col] < 0) {
                        const struct zz_coldef *d = coldef(kc->col);
                        const char *bar = strchr(d->names, '|');
                        int n =
                            bar ? (int)(bar - d->names) : (int)strlen(d->names);

                        snprintf(errstr, errstr_size,
                                 "line %zu: required column \"%.*s\" is "
                                 "missing from the header of this %s file",
                                 row->line, n, d->names,
                                 zz_feed_kind_name(feed->opt.kind));
                        return -1;
                }
        }
        if (n_unknown != NULL)
                *n_unknown = unknown;
        return 0;
}

/* The field of column col in row, "" when absent. */
static const char *fld(const zz_feed_t *feed, const zz_feed_row_t *row,
                       enum zz_col col)
{
        int i = feed->index[col];

        if (i < 0 || (size_t)i >= row->n_fields)
                return "";
        return row->fields[i];
}

static const char *colname(enum zz_col col, char *buf, size_t size)
{
        const struct zz_coldef *d = coldef(col);
        const char *bar = strchr(d->names, '|');
        size_t n = bar ? (size_t)(bar - d->names) : strlen(d->names);

        if (n >= size)
                n = size - 1;
        memcpy(buf, d->names, n);
        buf[n] = '\0';
        return buf;
}

#define REJECT(...)                                                            \
        do {                                                                   \
                snprintf(reason, reason_size, __VA_ARGS__);                    \
                return 1;                                                      \
        } while (0)

/* ------------------------------------------------------------------ */
/* Field parsers                                                       */

static int copy_ref(char *dst, size_t size, const char *s)
{
        size_t n = strlen(s);

        if (n >= size)
                return -1;
        memcpy(dst, s, n + 1);
        return 0;
}

static int parse_region(const char *s, char out[ZZ_FEED_REGION_SIZE])
{
        size_t n = strlen(s);
        size_t i;

        if (n != 6 && n != 9 && n != 12)
                return -1;
        for (i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
        }
        memcpy(out, s, n + 1);
        return 0;
}

/* Reads up to max digits at *p as a number; -1 when none. */
static int read_num(const char **p, int max, int *out)
{
        int n = 0;
        int v = 0;

        while (n < max && **p >= '0' && **p <= '9') {
                v = v * 10 + (**p - '0');
                (*p)++;
                n++;
        }
        if (n == 0)
                return -1;
        *out = v;
        return n;
}

static int skip_lit(const char **p, const char *lit)
{
        size_t n = strlen(lit);

        if (strncmp(*p, lit, n) != 0)
                return -1;
        *p += n;
        return 0;
}

/* Date at *p; advances past it. */
static int parse_date_at(const char **p, zz_date_t *out)
{
        const char *s = *p;
        int y, m, d;
        int n;

        n = read_num(&s, 8, &y);
        if (n == 8) {
                d = y % 100;
                m = (y / 100) % 100;
                y /= 10000;
        } else if (n == 4) {
                if (*s == '-' || *s == '/' || *s == '.')
                        s++;
                else if (skip_lit(&s, "年") != 0)
                        return -1;
                if (read_num(&s, 2, &m) < 0)
                        return -1;
                if (*s == '-' || *s == '/' || *s == '.')
                        s++;
                else if (skip_lit(&s, "月") != 0)
                        return -1;
                if (read_num(&s, 2, &d) < 0)
                        return -1;
                (void)skip_lit(&s, "日");
        } else {
                return -1;
        }
        if (y < 1900 || y > 2200 || !zz_date_valid_ymd(y, m, d))
                return -1;
        *out = zz_date_from_ymd(y, m, d);
        *p = s;
        return 0;
}

int zz_feed_parse_date(const char *s, zz_date_t *out)
{
        const char *p = s;

        if (parse_date_at(&p, out) != 0 || *p != '\0')
                return -1;
        return 0;
}

int zz_feed_parse_ts(const char *s, zz_ts_t *out)
{
        const char *p = s;
        zz_date_t date;
        int hh = 0, mi = 0, ss = 0;
        size_t n = strlen(s);

        /* Full ISO 8601 with an offset goes to the strict parser. */
        if (n >= 16 && s[4] == '-' && s[10] == 'T')
                return zz_ts_parse(s, n, out);
        if (parse_date_at(&p, &date) != 0)
                return -1;
        if (*p == ' ' || *p == 'T') {
                p++;
                if (read_num(&p, 2, &hh) < 0 || *p != ':')
                        return -1;
                p++;
                if (read_num(&p, 2, &mi) != 2)
                        return -1;
                if (*p == ':') {
                        p++;
                        if (read_num(&p, 2, &ss) != 2)
                                return -1;
                }
        }
        if (*p != '\0' || hh > 23 || mi > 59 || ss > 59)
                return -1;
        *out = zz_ts_from_cst_date(date) +
               ((zz_ts_t)hh * 3600 + mi * 60 + ss) * 1000;
        return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
        char *end;
        long v;

        if (s[0] == '\0')
                return -1;
        v = strtol(s, &end, 10);
        if (*end != '\0' || v < lo || v > hi)
                return -1;
        *out = (int)v;
        return 0;
}

static const char *const zz_cn_digits[] = {"一", "二", "三", "四", "五",
                                           "六", "七", "八", "九", "十"};

/* "3", "3级", "三级", "三" -> 3. */
static int parse_grade(const char *s, int hi, int *out)
{
        char buf[32];
        size_t n = strlen(s);
        int i;

        if (n >= sizeof(buf))
                return -1;
        memcpy(buf, s, n + 1);
        if (n >= 3 && strcmp(buf + n - 3, "级") == 0)
                buf[n - 3] = '\0';
        for (i = 0; i < 10; i++) {
                if (strcmp(buf, zz_cn_digits[i]) == 0) {
                        if (i + 1 > hi)
                                return -1;
                        *out = i + 1;
                        return 0;
                }
        }
        return parse_int(buf, 1, hi, out);
}

static int parse_bool(const char *s, int *out)
{
        if (strcmp(s, "是") == 0 || strcasecmp(s, "true") == 0 ||
            strcmp(s, "1") == 0 || strcasecmp(s, "y") == 0 ||
            strcmp(s, "已脱贫") == 0)
                *out = 1;
        else if (strcmp(s, "否") == 0 || strcasecmp(s, "false") == 0 ||
                 strcmp(s, "0") == 0 || strcasecmp(s, "n") == 0 ||
                 strcmp(s, "未脱贫") == 0)
                *out = 0;
        else
                return -1;
        return 0;
}

static const struct zz_label zz_attr_values[] = {
    {"supported:分散供养", "dispersed"},
    {"supported:分散", "dispersed"},
    {"supported:dispersed", "dispersed"},
    {"supported:集中供养", "institution"},
    {"supported:集中", "institution"},
    {"supported:机构供养", "institution"},
    {"supported:institution", "institution"},
    {"institution_level:市级", "city"},
    {"institution_level:市", "city"},
    {"institution_level:city", "city"},
    {"institution_level:区县级", "district"},
    {"institution_level:区级", "district"},
    {"institution_level:县级", "district"},
    {"institution_level:district", "district"},
    {"institution_level:乡镇级", "town"},
    {"institution_level:镇级", "town"},
    {"institution_level:town", "town"},
    {"relation:本人", "self"},
    {"relation:self", "self"},
    {"relation:子女", "child"},
    {"relation:child", "child"},
    {"subgroup:在校大学生", "college_student"},
    {"subgroup:家庭经济困难在校大学生", "college_student"},
    {"subgroup:college_student", "college_student"},
    {"subgroup:60岁以上老年人", "elderly60"},
    {"subgroup:老年人", "elderly60"},
    {"subgroup:elderly60", "elderly60"},
    {"subgroup:未成年人", "minor"},
    {"subgroup:minor", "minor"},
    {"subgroup:重病患者", "seriously_ill"},
    {"subgroup:seriously_ill", "seriously_ill"},
    {"kind:脱贫不稳定户", "unstable_lifted"},
    {"kind:unstable_lifted", "unstable_lifted"},
    {"kind:边缘易致贫户", "edge"},
    {"kind:edge", "edge"},
    {"kind:突发严重困难户", "sudden_hardship"},
    {"kind:sudden_hardship", "sudden_hardship"},
    {NULL, NULL}};

/* Normalizes one attribute value into out. -1 when the value is not one
 * the attribute takes. */
static int norm_attr(const char *key, const char *value, char *out,
                     size_t out_size)
{
        char probe[96];
        const char *code;
        int v;

        if (strcmp(key, "level") == 0) {
                if (parse_grade(value, 4, &v) != 0)
                        return -1;
                snprintf(out, out_size, "%d", v);
                return 0;
        }
        if (strcmp(key, "disabled_veteran_grade") == 0) {
                if (parse_grade(value, 10, &v) != 0)
                        return -1;
                snprintf(out, out_size, "%d", v);
                return 0;
        }
        if (strcmp(key, "lifted") == 0 ||
            strcmp(key, "benefits_enjoyed") == 0 ||
            strcmp(key, "old_demobilized") == 0) {
                if (parse_bool(value, &v) != 0)
                        return -1;
                snprintf(out, out_size, "%s", v ? "true" : "false");
                return 0;
        }
        if (strcmp(key, "institution") == 0) {
                if (strpbrk(value, ";=") != NULL || strlen(value) >= 48)
                        return -1;
                snprintf(out, out_size, "%s", value);
                return 0;
        }
        snprintf(probe, sizeof(probe), "%s:%s", key, value);
        code = lookup(zz_attr_values, probe);
        if (code == NULL)
                return -1;
        snprintf(out, out_size, "%s", code);
        return 0;
}

struct zz_kv {
        char key[32];
        char value[64];
};

static int kv_cmp(const void *a, const void *b)
{
        return strcmp(((const struct zz_kv *)a)->key,
                      ((const struct zz_kv *)b)->key);
}

/* Sets key in kvs (replacing an earlier value). */
static int kv_set(struct zz_kv *kvs, size_t *n, size_t max, const char *key,
                  const char *value)
{
        size_t i;

        for (i = 0; i < *n; i++) {
                if (strcmp(kvs[i].key, key) == 0)
                        break;
        }
        if (i == *n) {
                if (*n == max)
                        return -1;
                (*n)++;
        }
        snprintf(kvs[i].key, sizeof(kvs[i].key), "%s", key);
        snprintf(kvs[i].value, sizeof(kvs[i].value), "%s", value);
        return 0;
}

/* zz_vocab_missing_attr's question: does the row's kvs[] carry key? */
struct zz_kv_set {
        const struct zz_kv *kvs;
        size_t n;
};

static int kv_has(const char *key, void *ctx)
{
        const struct zz_kv_set *set = ctx;
        size_t i;

        for (i = 0; i < set->n; i++) {
                if (strcmp(set->kvs[i].key, key) == 0)
                        return 1;
        }
        return 0;
}

/* Adds "key=value" (blanks around either trimmed; eq points at the '=')
 * to kvs, normalized. 1 with reason when it is not one the category
 * takes. */
static int add_attr_token(char *tok, char *eq, const char *category,
                          struct zz_kv *kvs, size_t *n, char *reason,
                          size_t reason_size)
{
        char norm[64];
        char *e = eq - 1;
        char *v = eq + 1;

        *eq = '\0';
        while (e >= tok && *e == ' ')
                *e-- = '\0';
        while (*v == ' ')
                v++;
        e = v + strlen(v);
        while (e > v && e[-1] == ' ')
                *--e = '\0';
        if (norm_attr(tok, v, norm, sizeof(norm)) != 0)
                REJECT("身份属性: bad value for %.30s", tok);
        if (!zz_vocab_cat_has_attr(category, tok))
                REJECT("身份属性: %.30s does not apply to category %s", tok,
                       category);
        if (kv_set(kvs, n, 16, tok, norm) != 0)
                REJECT("身份属性: too many attributes");
        return 0;
}

/* The 身份属性 column: "level=1;lifted=true" ('；' and ',' also
 * separate). */
static int parse_attr_list(const char *generic, const char *category,
                           struct zz_kv *kvs, size_t *n, char *reason,
                           size_t reason_size)
{
        char buf[256];
        char *save = NULL;
        char *tok;
        size_t i;

        if (strlen(generic) >= sizeof(buf))
                REJECT("身份属性: too long");
        snprintf(buf, sizeof(buf), "%s", generic);
        for (i = 0; buf[i] != '\0'; i++) {
                if (buf[i] == ',')
                        buf[i] = ';';
        }
        for (tok = strtok_r(buf, ";", &save); tok != NULL;
             tok = strtok_r(NULL, ";", &save)) {
                char *eq;
                char *fw;

                /* The full-width semicolon '；' inside a token. */
                while ((fw = strstr(tok, "\xEF\xBC\x9B")) != NULL)
                        memset(fw, ' ', 3);
                while (*tok == ' ')
                        tok++;
                if (*tok == '\0')
                        continue;
                eq = strchr(tok, '=');
                if (eq == NULL)
                        REJECT("身份属性: \"key=value\" expected");
                if (add_attr_token(tok, eq, category, kvs, n, reason,
                                   reason_size))
                        return 1;
        }
        return 0;
}

/* The template's columns of one attribute each (残疾等级, 是否脱贫, ...);
 * a column filled for a category that does not carry it is ignored. */
static int parse_attr_columns(const zz_feed_t *feed, const zz_feed_row_t *row,
                              const char *category, struct zz_kv *kvs,
                              size_t *n, char *reason, size_t reason_size)
{
        size_t i;

        for (i = 0; i < COL_COUNT; i++) {
                const struct zz_coldef *d = coldef((enum zz_col)i);
                const char *v;
                char norm[64];
                char cn[48];

                if (d == NULL || d->attr == NULL)
                        continue;
                v = fld(feed, row, (enum zz_col)i);
                if (v[0] == '\0')
                        continue;
                if (norm_attr(d->attr, v, norm, sizeof(norm)) != 0)
                        REJECT("%s: bad value",
                               colname((enum zz_col)i, cn, sizeof(cn)));
                if (!zz_vocab_cat_has_attr(category, d->attr))
                        continue; /* a shared template column left filled */
                if (kv_set(kvs, n, 16, d->attr, norm) != 0)
                        REJECT("身份属性: too many attributes");
        }
        return 0;
}

static int parse_attrs(const zz_feed_t *feed, const zz_feed_row_t *row,
                       const char *category, char *out, size_t out_size,
                       char *reason, size_t reason_size)
{
        struct zz_kv kvs[16];
        size_t n = 0;
        size_t i;
        size_t len = 0;
        struct zz_kv_set set;
        const char *need;

        if (parse_attr_list(fld(feed, row, COL_ATTRS), category, kvs, &n,
                            reason, reason_size) ||
            parse_attr_columns(feed, row, category, kvs, &n, reason,
                               reason_size))
                return 1;
        /* An attribute the vocabulary requires (vocab.c): a row without
         * it is rejected rather than decided as if it held no value. */
        set.kvs = kvs;
        set.n = n;
        need = zz_vocab_missing_attr(zz_vocab_cat(zz_vocab_cat_index(category)),
                                     kv_has, &set);
        if (need != NULL)
                REJECT("category %s requires attribute %s", category, need);
        qsort(kvs, n, sizeof(kvs[0]), kv_cmp);
        out[0] = '\0';
        for (i = 0; i < n; i++) {
                int w = snprintf(out + len, out_size - len, "%s%s=%s",
                                 i ? ";" : "", kvs[i].key, kvs[i].value);

                if (w < 0 || (size_t)w >= out_size - len)
                        REJECT("身份属性: too long");
                len += (size_t)w;
        }
        return 0;
}

static int parse_person(const zz_feed_t *feed, const zz_feed_row_t *row,
                        char out[19], char *reason, size_t reason_size)
{
        const char *s = fld(feed, row, COL_IDNO);
        zz_idno_status_t st;

        if (s[0] == '\0')
                REJECT("身份证号码: missing");
        st = zz_idno_normalize(s, strlen(s), out);
        if (st != ZZ_IDNO_OK) {
                /* Kept for the reject line, which shows it masked. */
                snprintf(out, 19, "%.18s", s);
        }
        if (st != ZZ_IDNO_OK)
                REJECT("身份证号码: %s", zz_idno_strerror(st));
        return 0;
}

static int parse_reported(const zz_feed_t *feed, const zz_feed_row_t *row,
                          zz_ts_t *out, char *reason, size_t reason_size)
{
        const char *s = fld(feed, row, COL_REPORTED);

        if (s[0] == '\0') {
                *out = feed->opt.default_reported_at;
                return 0;
        }
        if (zz_feed_parse_ts(s, out) != 0)
                REJECT("报送时间: not a date and time");
        return 0;
}

/* ------------------------------------------------------------------ */
/* Rows                                                                */

/* A word a clerk writes for a value. */
struct zz_word {
        const char *word;
        int value;
};

/* The value of s in words (ended by a NULL word); ASCII letters match in
 * either case. -1 when s is not among them. */
static int word_value(const struct zz_word *words, const char *s)
{
        for (; words->word != NULL; words++) {
                if (strcasecmp(words->word, s) == 0)
                        return words->value;
        }
        return -1;
}

static const struct zz_word zz_id_actions[] = {
    {"新增", ZZ_FEED_ID_GRANT},
    {"认定", ZZ_FEED_ID_GRANT},
    {"GRANT", ZZ_FEED_ID_GRANT},
    {"终止", ZZ_FEED_ID_END},
    {"退出", ZZ_FEED_ID_END},
    {"END", ZZ_FEED_ID_END},
    {"更正", ZZ_FEED_ID_CORRECT},
    {"变更", ZZ_FEED_ID_CORRECT},
    {"CORRECT", ZZ_FEED_ID_CORRECT},
    {"撤销", ZZ_FEED_ID_REVOKE},
    {"认定错误", ZZ_FEED_ID_REVOKE},
    {"REVOKE", ZZ_FEED_ID_REVOKE},
    {"死亡", ZZ_FEED_ID_DECEASED},
    {"DECEASED", ZZ_FEED_ID_DECEASED},
    {NULL, 0}};

/* 生存状况: 1 alive (also when empty), 0 dead. */
static const struct zz_word zz_alive[] = {
    {"", 1},     {"存活", 1}, {"在世", 1}, {"健在", 1}, {"正常", 1},
    {"生存", 1}, {"死亡", 0}, {"已故", 0}, {"去世", 0}, {NULL, 0}};

static const struct zz_word zz_enr_classes[] = {
    {"成年居民", ZZ_FEED_CLASS_ADULT},
    {"adult", ZZ_FEED_CLASS_ADULT},
    {"学生儿童", ZZ_FEED_CLASS_STUDENT_CHILD},
    {"中小学生", ZZ_FEED_CLASS_STUDENT_CHILD},
    {"婴幼儿", ZZ_FEED_CLASS_STUDENT_CHILD},
    {"未成年人", ZZ_FEED_CLASS_STUDENT_CHILD},
    {"student_child", ZZ_FEED_CLASS_STUDENT_CHILD},
    {"大学生", ZZ_FEED_CLASS_COLLEGE},
    {"college", ZZ_FEED_CLASS_COLLEGE},
    {NULL, 0}};

static const struct zz_word zz_enr_kinds[] = {
    {"", ZZ_FEED_KIND_ANNUAL},           {"年度参保", ZZ_FEED_KIND_ANNUAL},
    {"集中参保", ZZ_FEED_KIND_ANNUAL},   {"ANNUAL", ZZ_FEED_KIND_ANNUAL},
    {"年中参保", ZZ_FEED_KIND_MID_YEAR}, {"中途参保", ZZ_FEED_KIND_MID_YEAR},
    {"MID_YEAR", ZZ_FEED_KIND_MID_YEAR}, {NULL, 0}};

static const struct zz_word zz_enr_actions[] = {
    {"", ZZ_FEED_ENR_REGISTER},
    {"登记", ZZ_FEED_ENR_REGISTER},
    {"参保", ZZ_FEED_ENR_REGISTER},
    {"REGISTER", ZZ_FEED_ENR_REGISTER},
    {"注销", ZZ_FEED_ENR_CANCEL},
    {"CANCEL", ZZ_FEED_ENR_CANCEL},
    {NULL, 0}};

static const struct zz_word zz_pay_kinds[] = {
    {"", ZZ_FEED_PAY_PAYMENT},        {"缴费", ZZ_FEED_PAY_PAYMENT},
    {"PAYMENT", ZZ_FEED_PAY_PAYMENT}, {"退费", ZZ_FEED_PAY_REFUND},
    {"REFUND", ZZ_FEED_PAY_REFUND},   {NULL, 0}};

/* The department of the row (部门标识), or the list's. */
static int parse_department(const zz_feed_t *feed, const zz_feed_row_t *row,
                            zz_feed_identity_t *r, char *reason,
                            size_t reason_size)
{
        const char *s = fld(feed, row, COL_DEPT);
        const char *code;

        if (s[0] != '\0') {
                code = zz_feed_department_code(s);
                if (code == NULL)
                        REJECT("部门标识: unknown department");
                if (feed->department[0] != '\0' &&
                    strcmp(code, feed->department) != 0)
                        REJECT("部门标识: %s row in a %s list", code,
                               feed->department);
        } else {
                code = feed->department;
                if (code[0] == '\0')
                        REJECT("部门标识: missing");
        }
        snprintf(r->department, sizeof(r->department), "%s", code);
        return 0;
}

/* The change (变动类型; a snapshot ignores it: every row is a GRANT) and
 * the person's status (生存状况), which makes the row a death. */
static int parse_id_action(const zz_feed_t *feed, const zz_feed_row_t *row,
                           zz_feed_identity_t *r, char *reason,
                           size_t reason_size)
{
        const char *s = fld(feed, row, COL_ACTION);
        int alive;

        r->action = ZZ_FEED_ID_GRANT;
        if (!feed->opt.snapshot && s[0] != '\0') {
                int action = word_value(zz_id_actions, s);

                if (action < 0)
                        REJECT("变动类型: unknown change");
                r->action = action;
        }
        r->deceased_on = ZZ_DATE_NONE;
        alive = word_value(zz_alive, fld(feed, row, COL_ALIVE));
        if (alive < 0)
                REJECT("生存状况: unknown status");
        if (alive && r->action == ZZ_FEED_ID_DECEASED)
                REJECT("生存状况: 死亡 expected for a death");
        if (!alive) {
                if (r->action != ZZ_FEED_ID_GRANT &&
                    r->action != ZZ_FEED_ID_DECEASED)
                        REJECT("变动类型: conflicts with 生存状况 死亡");
                r->action = ZZ_FEED_ID_DECEASED;
        }
        if (r->action == ZZ_FEED_ID_DECEASED &&
            zz_feed_parse_date(fld(feed, row, COL_DEATH_DATE),
                               &r->deceased_on) != 0)
                REJECT("死亡日期: not a date");
        return 0;
}

/* 归属地, and the county that approved the identity unless 审批地 says
 * otherwise (when approving is set). */
static int parse_id_regions(const zz_feed_t *feed, const zz_feed_row_t *row,
                            zz_feed_identity_t *r, int approving, char *reason,
                            size_t reason_size)
{
        const char *s = approving ? fld(feed, row, COL_APPROVING) : "";

        if (parse_region(fld(feed, row, COL_REGION), r->residence_region) != 0)
                REJECT("归属地: not a region code of 6, 9 or 12 digits");
        if (s[0] == '\0') {
                memcpy(r->approving_region, r->residence_region, 6);
                r->approving_region[6] = '\0';
        } else if (parse_region(s, r->approving_region) != 0) {
                REJECT("审批地: not a region code of 6, 9 or 12 digits");
        }
        return 0;
}

/* 人员身份标识 and its attributes: a category of POLICIES.md that the
 * row's department certifies. */
static int parse_category(const zz_feed_t *feed, const zz_feed_row_t *row,
                          zz_feed_identity_t *r, char *reason,
                          size_t reason_size)
{
        const char *s = fld(feed, row, COL_CATEGORY);
        const char *code;

        if (s[0] == '\0')
                REJECT("人员身份标识: missing");
        code = zz_feed_category_code(s);
        if (code == NULL || !zz_vocab_cat_known(code))
                REJECT("人员身份标识: unknown category");
        /* the worker would dead-letter it (DEPARTMENT_MISMATCH): refused
         * here, where the clerk can fix it */
        if (strcmp(zz_vocab_cat_dept(code), r->department) != 0)
                REJECT("人员身份标识: category %s is not certified by %s", code,
                       r->department);
        snprintf(r->category, sizeof(r->category), "%s", code);
        return parse_attrs(feed, row, r->category, r->attrs, sizeof(r->attrs),
                           reason, reason_size);
}

/* 认定日期 and 终止日期 (required to end an identity). */
static int parse_validity(const zz_feed_t *feed, const zz_feed_row_t *row,
                          zz_feed_identity_t *r, char *reason,
                          size_t reason_size)
{
        const char *s = fld(feed, row, COL_VALID_TO);

        if (zz_feed_parse_date(fld(feed, row, COL_VALID_FROM),
                               &r->valid_from) != 0)
                REJECT("认定日期: not a date");
        r->valid_to = ZZ_DATE_NONE;
        if (s[0] != '\0') {
                if (zz_feed_parse_date(s, &r->valid_to) != 0)
                        REJECT("终止日期: not a date");
                if (r->valid_to < r->valid_from)
                        REJECT("终止日期: before 认定日期");
        }
        if (r->action == ZZ_FEED_ID_END && r->valid_to == ZZ_DATE_NONE)
                REJECT("终止日期: required to end an identity");
        return 0;
}

static int parse_identity(zz_feed_t *feed, const zz_feed_row_t *row,
                          zz_feed_identity_t *r, char *reason,
                          size_t reason_size)
{
        const char *s;

        /* The record id first: a snapshot needs it even for a row that
         * is rejected. */
        s = fld(feed, row, COL_RECORD);
        if (s[0] == '\0')
                REJECT("人员编号: missing");
        if (copy_ref(r->dept_record_id, sizeof(r->dept_record_id), s) != 0)
                REJECT("人员编号: too long");
        if (parse_person(feed, row, r->person_id, reason, reason_size) ||
            parse_department(feed, row, r, reason, reason_size) ||
            parse_id_action(feed, row, r, reason, reason_size))
                return 1;
        if (fld(feed, row, COL_CATEGORY)[0] == '\0' &&
            r->action == ZZ_FEED_ID_DECEASED && !feed->opt.snapshot) {
                /* A death report need not name an identity. */
                r->valid_from = r->deceased_on;
                r->valid_to = ZZ_DATE_NONE;
                if (parse_id_regions(feed, row, r, 0, reason, reason_size))
                        return 1;
        } else if (parse_category(feed, row, r, reason, reason_size) ||
                   parse_id_regions(feed, row, r, 1, reason, reason_size) ||
                   parse_validity(feed, row, r, reason, reason_size)) {
                return 1;
        }
        return parse_reported(feed, row, &r->reported_at, reason, reason_size);
}

static void hex16(const char *s, char out[17]);

/* 缴费档次: 1 or 2 (一档, 二档). */
static int parse_tier(const char *s, int *out)
{
        if (strcmp(s, "一档") == 0)
                *out = 1;
        else if (strcmp(s, "二档") == 0)
                *out = 2;
        else if (parse_int(s, 1, 2, out) != 0)
                return -1;
        return 0;
}

/* 参保记录号, or one record per person and year when the export has no
 * record number of its own. */
static int parse_enr_record(const zz_feed_t *feed, const zz_feed_row_t *row,
                            zz_feed_enrollment_t *r, char *reason,
                            size_t reason_size)
{
        const char *s = fld(feed, row, COL_RECORD);
        char h[17];

        if (s[0] != '\0') {
                if (copy_ref(r->dept_record_id, sizeof(r->dept_record_id), s) !=
                    0)
                        REJECT("参保记录号: too long");
                return 0;
        }
        hex16(r->person_id, h);
        snprintf(r->dept_record_id, sizeof(r->dept_record_id), "EN%d-%s",
                 r->year, h);
        return 0;
}

static int parse_enrollment(zz_feed_t *feed, const zz_feed_row_t *row,
                            zz_feed_enrollment_t *r, char *reason,
                            size_t reason_size)
{
        const char *s;
        int v;

        if (parse_person(feed, row, r->person_id, reason, reason_size))
                return 1;
        snprintf(r->department, sizeof(r->department), "NHSA");
        s = fld(feed, row, COL_HOUSEHOLD);
        if (s[0] == '\0')
                REJECT("户编号: missing");
        if (copy_ref(r->household_id, sizeof(r->household_id), s) != 0)
                REJECT("户编号: too long");
        if (parse_int(fld(feed, row, COL_YEAR), 2000, 2100, &r->year) != 0)
                REJECT("参保年度: not a year");
        if (parse_tier(fld(feed, row, COL_TIER), &r->tier) != 0)
                REJECT("缴费档次: 1 or 2 expected");
        v = word_value(zz_enr_classes, fld(feed, row, COL_CLASS));
        if (v < 0)
                REJECT("参保类别: unknown class");
        r->enroll_class = v;
        v = word_value(zz_enr_kinds, fld(feed, row, COL_ENR_KIND));
        if (v < 0)
                REJECT("参保方式: unknown kind");
        r->kind = v;
        if (zz_feed_parse_date(fld(feed, row, COL_REG_DATE),
                               &r->registered_on) != 0)
                REJECT("登记日期: not a date");
        if (parse_region(fld(feed, row, COL_ENR_REGION), r->region) != 0)
                REJECT("参保地: not a region code of 6, 9 or 12 digits");
        if (copy_ref(r->unit, sizeof(r->unit), fld(feed, row, COL_UNIT)) != 0)
                REJECT("代缴单位: too long");
        v = word_value(zz_enr_actions, fld(feed, row, COL_ACTION));
        if (v < 0)
                REJECT("变动类型: unknown change");
        r->action = v;
        if (parse_enr_record(feed, row, r, reason, reason_size))
                return 1;
        return parse_reported(feed, row, &r->reported_at, reason, reason_size);
}

static int parse_amount(const char *s, zz_fen_t *out)
{
        if (s[0] == '\0')
                return -1;
        if (zz_money_parse_yuan(s, strlen(s), out) != 0 || *out < 0)
                return -1;
        return 0;
}

static int parse_payment(zz_feed_t *feed, const zz_feed_row_t *row,
                         zz_feed_payment_t *r, char *reason, size_t reason_size)
{
        const char *s;
        int kind;

        if (parse_person(feed, row, r->person_id, reason, reason_size))
                return 1;
        snprintf(r->department, sizeof(r->department), "TAX");
        if (parse_int(fld(feed, row, COL_YEAR), 2000, 2100, &r->year) != 0)
                REJECT("参保年度: not a year");
        kind = word_value(zz_pay_kinds, fld(feed, row, COL_PAY_KIND));
        if (kind < 0)
                REJECT("业务类型: 缴费 or 退费 expected");
        r->kind = kind;
        if (parse_amount(fld(feed, row, COL_CONTRIB), &r->contribution_fen))
                REJECT("应缴金额: not an amount in yuan");
        if (parse_amount(fld(feed, row, COL_APPLIED), &r->subsidy_applied_fen))
                REJECT("资助金额: not an amount in yuan");
        if (parse_amount(fld(feed, row, COL_PAID), &r->paid_fen))
                REJECT("个人实缴金额: not an amount in yuan");
        s = fld(feed, row, COL_REFUND);
        r->refund_fen = 0;
        if (s[0] != '\0' && parse_amount(s, &r->refund_fen))
                REJECT("退费金额: not an amount in yuan");
        if (r->contribution_fen != r->subsidy_applied_fen + r->paid_fen)
                REJECT("amounts: 应缴金额 is not 资助金额 + 个人实缴金额");
        if (r->kind == ZZ_FEED_PAY_REFUND && r->refund_fen <= 0)
                REJECT("退费金额: a refund needs an amount above 0");
        if (r->kind == ZZ_FEED_PAY_PAYMENT && r->refund_fen != 0)
                REJECT("退费金额: must be empty or 0 for a payment");
        if (zz_feed_parse_ts(fld(feed, row, COL_PAID_AT), &r->paid_at) != 0)
                REJECT("缴费时间: not a date and time");
        s = fld(feed, row, COL_RECEIPT);
        if (s[0] == '\0')
                REJECT("票据号: missing");
        if (copy_ref(r->receipt, sizeof(r->receipt), s) != 0)
                REJECT("票据号: too long");
        s = fld(feed, row, COL_RECORD);
        if (s[0] != '\0') {
                if (copy_ref(r->dept_record_id, sizeof(r->dept_record_id), s) !=
                    0)
                        REJECT("记录号: too long");
        } else {
                snprintf(r->dept_record_id, sizeof(r->dept_record_id),
                         "%s%.60s", r->kind == ZZ_FEED_PAY_REFUND ? "R-" : "",
                         r->receipt);
        }
        return 0;
}

/* The name of the column at position i of the header, or "" for a column
 * the parser does not read. */
static const char *column_at(const zz_feed_t *feed, size_t i, char *buf,
                             size_t size)
{
        const struct zz_kindcol *kc;

        for (kc = feed->cols; kc->col != COL_COUNT; kc++) {
                if (feed->index[kc->col] == (int)i)
                        return colname(kc->col, buf, size);
        }
        buf[0] = '\0';
        return buf;
}

/* A row rejected for one bad field keeps the 人员编号 of an identity when
 * that field is whole (no NUL byte, not cut by a limit), so that a
 * snapshot carries the record's previous state instead of ending it. */
static void keep_record_id(const zz_feed_t *feed, const zz_feed_row_t *row,
                           zz_feed_record_t *rec)
{
        int ri = feed->index[COL_RECORD];

        if (rec->kind != ZZ_FEED_IDENTITY || ri < 0 ||
            (size_t)ri >= row->n_fields || row->long_field == (size_t)ri + 1 ||
            strlen(row->fields[ri]) != row->lens[ri])
                return;
        (void)copy_ref(rec->u.identity.dept_record_id, ZZ_FEED_REF_SIZE,
                       row->fields[ri]);
}

/* Every field is a C string from here on, so a field with a NUL byte in
 * it would be read as the part before it: "<valid ID>\0junk" as a valid
 * ID. Such a row is rejected, naming the column. */
static int reject_nul(const zz_feed_t *feed, const zz_feed_row_t *row,
                      zz_feed_record_t *rec, char *reason, size_t reason_size)
{
        size_t i;
        char name[64];

        for (i = 0; i < row->n_fields; i++) {
                if (strlen(row->fields[i]) == row->lens[i])
                        continue;
                keep_record_id(feed, row, rec);
                column_at(feed, i, name, sizeof(name));
                REJECT("%s%scontains a NUL byte (column %zu)", name,
                       name[0] != '\0' ? ": " : "", i + 1);
        }
        return 0;
}

/* A row with a value in a cell past the header's last column: most often
 * a comma not in quotes (in a name, an address), which shifts every
 * column after it, so none of its values can be trusted. Empty cells
 * there are harmless (spreadsheets pad rows to the widest one). */
static int reject_extra_cells(const zz_feed_t *feed, const zz_feed_row_t *row,
                              char *reason, size_t reason_size)
{
        size_t i;

        for (i = feed->n_header; i < row->n_fields; i++) {
                if (row->lens[i] > 0)
                        REJECT("row has %zu cells, the header %zu (a comma "
                               "not in quotes?)",
                               row->n_fields, feed->n_header);
        }
        return 0;
}

/* A row over the reader's limits: its long text was dropped as it was
 * read, so nothing else about it can be checked. */
static int reject_long(const zz_feed_t *feed, const zz_feed_row_t *row,
                       zz_feed_record_t *rec, char *reason, size_t reason_size)
{
        char name[64];

        if (row->long_row)
                REJECT("row: longer than %zu bytes",
                       feed->opt.max_row_bytes ? feed->opt.max_row_bytes
                                               : ZZ_FEED_MAX_ROW_BYTES);
        if (row->long_field == 0)
                return 0;
        keep_record_id(feed, row, rec);
        column_at(feed, row->long_field - 1, name, sizeof(name));
        REJECT("%s%slonger than %zu bytes (column %zu)", name,
               name[0] != '\0' ? ": " : "",
               feed->opt.max_field_bytes ? feed->opt.max_field_bytes
                                         : ZZ_FEED_MAX_FIELD_BYTES,
               row->long_field);
}

int zz_feed_parse_row(zz_feed_t *feed, const zz_feed_row_t *row,
                      zz_feed_record_t *rec, char *reason, size_t reason_size)
{
        int rc;

        memset(rec, 0, sizeof(*rec));
        rec->kind = feed->opt.kind;
        rec->line = row->line;
        if (reject_long(feed, row, rec, reason, reason_size) != 0 ||
            reject_nul(feed, row, rec, reason, reason_size) != 0 ||
            reject_extra_cells(feed, row, reason, reason_size) != 0)
                return 1;
        if (row->bad_text)
                REJECT("text: characters not valid in the file's encoding "
                       "(a row saved in another encoding?)");
        switch (feed->opt.kind) {
        case ZZ_FEED_IDENTITY:
                rc = parse_identity(feed, row, &rec->u.identity, reason,
                                    reason_size);
                break;
        case ZZ_FEED_ENROLLMENT:
                rc = parse_enrollment(feed, row, &rec->u.enrollment, reason,
                                      reason_size);
                break;
        case ZZ_FEED_PAYMENT:
                rc = parse_payment(feed, row, &rec->u.payment, reason,
                                   reason_size);
                break;
        default:
                REJECT("unsupported kind");
        }
        if (rc != 0)
                return rc;
        if (rec->kind == ZZ_FEED_IDENTITY && !feed->opt.snapshot &&
            rec->u.identity.action == ZZ_FEED_ID_DECEASED) {
                /* A death is about the person, not the identity: the
                 * schema leaves category empty for it. */
                zz_feed_identity_t *r = &rec->u.identity;

                r->category[0] = '\0';
                r->attrs[0] = '\0';
                r->valid_from = r->deceased_on;
                r->valid_to = ZZ_DATE_NONE;
        }
        zz_feed_event_id(rec);
        return 0;
}

/* ------------------------------------------------------------------ */
/* Event ids                                                           */

static void h_str(EVP_MD_CTX *ctx, const char *s)
{
        /* The unit separator keeps "ab","c" apart from "a","bc". */
        EVP_DigestUpdate(ctx, s, strlen(s));
        EVP_DigestUpdate(ctx, "\x1f", 1);
}

static void h_int(EVP_MD_CTX *ctx, long long v)
{
        char buf[32];

        snprintf(buf, sizeof(buf), "%lld", v);
        h_str(ctx, buf);
}

static void hex_digest(EVP_MD_CTX *ctx, char *out, size_t n_hex)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        size_t i;
        static const char hex[] = "0123456789abcdef";

        EVP_DigestFinal_ex(ctx, md, &md_len);
        for (i = 0; i < n_hex / 2 && i < md_len; i++) {
                out[i * 2] = hex[md[i] >> 4];
                out[i * 2 + 1] = hex[md[i] & 15];
        }
        out[i * 2] = '\0';
}

static void hex16(const char *s, char out[17])
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();

        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        h_str(ctx, "zz-record");
        h_str(ctx, s);
        hex_digest(ctx, out, 16);
        EVP_MD_CTX_free(ctx);
}

void zz_feed_event_id(zz_feed_record_t *rec)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        char hex[33];
        const char *prefix = "";
        const char *dept = "";

        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        h_str(ctx, zz_feed_kind_name(rec->kind));
        switch (rec->kind) {
        case ZZ_FEED_IDENTITY: {
                const zz_feed_identity_t *r = &rec->u.identity;

                prefix = "id";
                dept = r->department;
                h_str(ctx, r->department);
                h_str(ctx, zz_feed_id_action_name(r->action));
                h_str(ctx, r->person_id);
                if (r->action == ZZ_FEED_ID_DECEASED) {
                        /* One death, however many records name it. */
                        h_int(ctx, r->deceased_on);
                        break;
                }
                h_str(ctx, r->dept_record_id);
                h_str(ctx, r->category);
                h_str(ctx, r->attrs);
                h_int(ctx, r->valid_from);
                h_int(ctx, r->valid_to);
                h_str(ctx, r->approving_region);
                h_str(ctx, r->residence_region);
                break;
        }
        case ZZ_FEED_ENROLLMENT: {
                const zz_feed_enrollment_t *r = &rec->u.enrollment;

                prefix = "en";
                dept = r->department;
                h_str(ctx, r->department);
                h_str(ctx, r->dept_record_id);
                h_str(ctx, zz_feed_enr_action_name(r->action));
                h_str(ctx, r->person_id);
                h_str(ctx, r->household_id);
                h_int(ctx, r->year);
                h_int(ctx, r->tier);
                h_int(ctx, r->enroll_class);
                h_int(ctx, r->kind);
                h_int(ctx, r->registered_on);
                h_str(ctx, r->region);
                h_str(ctx, r->unit);
                break;
        }
        case ZZ_FEED_PAYMENT: {
                const zz_feed_payment_t *r = &rec->u.payment;

                prefix = "pay";
                dept = r->department;
                h_str(ctx, r->department);
                h_str(ctx, r->dept_record_id);
                h_str(ctx, zz_feed_pay_kind_name(r->kind));
                h_str(ctx, r->person_id);
                h_int(ctx, r->year);
                h_int(ctx, r->contribution_fen);
                h_int(ctx, r->subsidy_applied_fen);
                h_int(ctx, r->paid_fen);
                h_int(ctx, r->refund_fen);
                h_int(ctx, r->paid_at);
                h_str(ctx, r->receipt);
                break;
        }
        case ZZ_FEED_CONTROL: {
                const zz_feed_control_t *r = &rec->u.control;

                prefix = "ctl";
                dept = r->department;
                h_str(ctx, r->department);
                h_str(ctx, zz_feed_command_name(r->command));
                h_str(ctx, r->jurisdiction);
                h_str(ctx, r->period);
                h_str(ctx, r->policy_name);
                h_str(ctx, r->policy_version);
                h_str(ctx, r->dept_record_id);
                break;
        }
        }
        hex_digest(ctx, hex, 32);
        EVP_MD_CTX_free(ctx);
        snprintf(rec->event_id, sizeof(rec->event_id), "%s-%s-%s", prefix, dept,
                 hex);
}

const char *zz_feed_record_key(const zz_feed_record_t *rec)
{
        switch (rec->kind) {
        case ZZ_FEED_IDENTITY:
                return rec->u.identity.person_id;
        case ZZ_FEED_ENROLLMENT:
                return rec->u.enrollment.person_id;
        case ZZ_FEED_PAYMENT:
                return rec->u.payment.person_id;
        default:
                return rec->u.control.jurisdiction;
        }
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

struct zz_jbuf {
        char *buf;
        size_t size;
        size_t len;
        int overflow;
};

static void jraw(struct zz_jbuf *j, const char *s, size_t n)
{
        if (j->overflow || j->len + n + 1 > j->size) {
                j->overflow = 1;
                return;
        }
        memcpy(j->buf + j->len, s, n);
        j->len += n;
        j->buf[j->len] = '\0';
}

static void jstr(struct zz_jbuf *j, const char *s)
{
        jraw(j, "\"", 1);
        for (; *s != '\0'; s++) {
                unsigned char c = (unsigned char)*s;
                char esc[8];

                if (c == '"' || c == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char)c;
                        jraw(j, esc, 2);
                } else if (c < 0x20) {
                        snprintf(esc, sizeof(esc), "\\u%04x", c);
                        jraw(j, esc, 6);
                } else {
                        jraw(j, (const char *)&c, 1);
                }
        }
        jraw(j, "\"", 1);
}

static void jkey(struct zz_jbuf *j, const char *key)
{
        jraw(j, j->len > 1 ? "," : "", j->len > 1 ? 1 : 0);
        jstr(j, key);
        jraw(j, ":", 1);
}

static void jkv(struct zz_jbuf *j, const char *key, const char *v)
{
        jkey(j, key);
        jstr(j, v);
}

static void jkv_null(struct zz_jbuf *j, const char *key, const char *v)
{
        jkey(j, key);
        if (v[0] == '\0')
                jraw(j, "null", 4);
        else
                jstr(j, v);
}

static void jkv_int(struct zz_jbuf *j, const char *key, long long v)
{
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%lld", v);

        jkey(j, key);
        jraw(j, buf, (size_t)n);
}

/* [{"topic":..,"partition":..,"offset":..},...], or null. */
static void jkv_positions(struct zz_jbuf *j, const char *key,
                          const zz_feed_position_t *pos, size_t n)
{
        size_t i;

        jkey(j, key);
        if (pos == NULL) {
                jraw(j, "null", 4);
                return;
        }
        jraw(j, "[", 1);
        for (i = 0; i < n; i++) {
                char buf[64];
                int len;

                jraw(j, i > 0 ? ",{" : "{", i > 0 ? 2 : 1);
                jstr(j, "topic");
                jraw(j, ":", 1);
                jstr(j, pos[i].topic);
                len = snprintf(buf, sizeof(buf),
                               ",\"partition\":%d,\"offset\":%lld}",
                               (int)pos[i].partition, (long long)pos[i].offset);
                jraw(j, buf, (size_t)len);
        }
        jraw(j, "]", 1);
}

static void jkv_date(struct zz_jbuf *j, const char *key, zz_date_t d)
{
        char buf[16];

        jkey(j, key);
        if (d == ZZ_DATE_NONE) {
                jraw(j, "null", 4);
                return;
        }
        jstr(j, zz_date_format(d, buf, sizeof(buf)));
}

static void jkv_ts(struct zz_jbuf *j, const char *key, zz_ts_t ts)
{
        char buf[40];

        jkv(j, key, zz_ts_format(ts, buf, sizeof(buf)));
}

static void jattrs(struct zz_jbuf *j, const char *attrs)
{
        char buf[ZZ_FEED_ATTRS_SIZE];
        char *save = NULL;
        char *tok;
        int first = 1;

        jkey(j, "attrs");
        jraw(j, "{", 1);
        snprintf(buf, sizeof(buf), "%s", attrs);
        for (tok = strtok_r(buf, ";", &save); tok != NULL;
             tok = strtok_r(NULL, ";", &save)) {
                char *eq = strchr(tok, '=');

                if (eq == NULL)
                        continue;
                *eq = '\0';
                if (!first)
                        jraw(j, ",", 1);
                first = 0;
                jstr(j, tok);
                jraw(j, ":", 1);
                jstr(j, eq + 1);
        }
        jraw(j, "}", 1);
}

int zz_feed_record_to_json(const zz_feed_record_t *rec, char *buf,
                           size_t buf_size)
{
        struct zz_jbuf j = {buf, buf_size, 0, 0};

        if (buf_size == 0)
                return -1;
        buf[0] = '\0';
        jraw(&j, "{", 1);
        jkv(&j, "stream", zz_feed_kind_name(rec->kind));
        jkv(&j, "event_id", rec->event_id);
        switch (rec->kind) {
        case ZZ_FEED_IDENTITY: {
                const zz_feed_identity_t *r = &rec->u.identity;

                jkv(&j, "person_id", r->person_id);
                jkv(&j, "department", r->department);
                jkv(&j, "dept_record_id", r->dept_record_id);
                jkv(&j, "action", zz_feed_id_action_name(r->action));
                jkv(&j, "category", r->category);
                jattrs(&j, r->attrs);
                jkv_date(&j, "valid_from", r->valid_from);
                jkv_date(&j, "valid_to", r->valid_to);
                jkv(&j, "approving_region", r->approving_region);
                jkv_null(&j, "residence_region", r->residence_region);
                jkv_ts(&j, "reported_at", r->reported_at);
                jkv_date(&j, "deceased_on", r->deceased_on);
                break;
        }
        case ZZ_FEED_ENROLLMENT: {
                const zz_feed_enrollment_t *r = &rec->u.enrollment;

                jkv(&j, "person_id", r->person_id);
                jkv(&j, "department", r->department);
                jkv(&j, "dept_record_id", r->dept_record_id);
                jkv(&j, "action", zz_feed_enr_action_name(r->action));
                jkv(&j, "household_id", r->household_id);
                jkv_int(&j, "year", r->year);
                jkv_int(&j, "tier", r->tier);
                jkv(&j, "enrollment_class",
                    zz_feed_class_name(r->enroll_class));
                jkv(&j, "kind", zz_feed_enr_kind_name(r->kind));
                jkv_date(&j, "registered_on", r->registered_on);
                jkv(&j, "region", r->region);
                jkv_null(&j, "unit", r->unit);
                jkv_ts(&j, "reported_at", r->reported_at);
                break;
        }
        case ZZ_FEED_PAYMENT: {
                const zz_feed_payment_t *r = &rec->u.payment;

                jkv(&j, "person_id", r->person_id);
                jkv(&j, "department", r->department);
                jkv(&j, "dept_record_id", r->dept_record_id);
                jkv(&j, "kind", zz_feed_pay_kind_name(r->kind));
                jkv_int(&j, "year", r->year);
                jkv_int(&j, "contribution_fen", r->contribution_fen);
                jkv_int(&j, "subsidy_applied_fen", r->subsidy_applied_fen);
                jkv_int(&j, "paid_fen", r->paid_fen);
                jkv_int(&j, "refund_fen", r->refund_fen);
                jkv_ts(&j, "paid_at", r->paid_at);
                jkv(&j, "receipt", r->receipt);
                break;
        }
        case ZZ_FEED_CONTROL: {
                const zz_feed_control_t *r = &rec->u.control;

                jkv(&j, "department", r->department);
                jkv(&j, "dept_record_id", r->dept_record_id);
                jkv(&j, "command", zz_feed_command_name(r->command));
                jkv(&j, "jurisdiction", r->jurisdiction);
                jkv_null(&j, "period", r->period);
                jkv_null(&j, "policy_name", r->policy_name);
                jkv_null(&j, "policy_version", r->policy_version);
                jkv_ts(&j, "issued_at", r->issued_at);
                jkv_positions(&j, "positions", r->positions, r->n_positions);
                break;
        }
        }
        jraw(&j, "}", 1);
        return j.overflow ? -1 : 0;
}
