/*
 * vocab.h — the words every part of zizhu must agree on: the identity
 * categories of POLICIES.md (code, Chinese name, certifying department,
 * the attributes each carries and the values those take), the payers a
 * policy may name, and the codes of enrollment classes and kinds.
 *
 * One table, read by the policy loader and engine, the case parser, the
 * event checks, the feed and the load generator: a category a policy may
 * name, one an event may carry and one a department's file may hold are
 * the same list, so that a typo ("leve", "DPF.DISABLE") is an error where
 * it is written instead of a rule that silently never matches.
 *
 * Uses only libc. Every pointer returned points into static tables: never
 * freed, valid for the life of the program, safe from any thread.
 */
#ifndef ZIZHU_VOCAB_H
#define ZIZHU_VOCAB_H

#include <stddef.h>

#define ZZ_VOCAB_CATS  19 /* number of identity categories */
#define ZZ_VOCAB_DEPTS 6  /* number of certifying departments */

typedef enum zz_vocab_type_e {
        ZZ_VOCAB_ENUM = 0, /* one of a list of words */
        ZZ_VOCAB_INT,      /* an integer in [min, max] */
        ZZ_VOCAB_BOOL,     /* "true" / "false" */
        ZZ_VOCAB_TEXT      /* free text (an institution code) */
} zz_vocab_type_t;

typedef struct zz_vocab_attr_s {
        const char *key; /* "level" */
        zz_vocab_type_t type;
        int min, max;              /* ZZ_VOCAB_INT */
        const char *const *values; /* ZZ_VOCAB_ENUM, NULL-terminated */
        /* 1: a record of the category without it is incomplete
         * (MISSING_ATTRIBUTE); see vocab.c for which and why */
        int required;
} zz_vocab_attr_t;

typedef struct zz_vocab_cat_s {
        const char *code; /* "DPF.DISABLED" */
        const char *zh;   /* "持证残疾人" */
        const char *dept; /* the certifying department: "DPF" */
        const zz_vocab_attr_t *attrs;
        size_t n_attrs;
} zz_vocab_cat_t;

/* Index of a category code, 0 .. ZZ_VOCAB_CATS - 1 in the order of
 * POLICIES.md; -1 when code is NULL or not a category. */
int zz_vocab_cat_index(const char *code);
/* The category at index; NULL when index is out of range. */
const zz_vocab_cat_t *zz_vocab_cat(int index);
/* 1 when code is one of the categories. */
int zz_vocab_cat_known(const char *code);
/* 1 when the category code carries the attribute key (0 when either is
 * unknown). */
int zz_vocab_cat_has_attr(const char *code, const char *key);

/* The department that certifies category code ("DPF" for
 * "DPF.DISABLED"); NULL when code is NULL or not a category. */
const char *zz_vocab_cat_dept(const char *code);

/* The certifying departments, in the order of POLICIES.md: MCA, MVA, RRB,
 * DPF, NHC, EDU. Each publishes its identity records on a topic of its own
 * (config.h, zz_config_identity_stream), so that the broker can keep one
 * department's credentials off another's records. The code at index
 * 0 .. ZZ_VOCAB_DEPTS - 1; NULL when index is out of range. */
const char *zz_vocab_dept(int index);
/* Index of a department code ("DPF" -> 3); -1 when code is NULL or not a
 * certifying department (exact, upper-case). */
int zz_vocab_dept_index(const char *code);

/* The attribute key of category cat; NULL when cat is NULL or does not
 * carry it. */
const zz_vocab_attr_t *zz_vocab_attr(const zz_vocab_cat_t *cat,
                                     const char *key);
/* The first attribute the category requires that has(key, ctx) says the
 * record lacks (has returns 0), or NULL when none is missing (or cat or
 * has is NULL). The returned key points into the static table. */
const char *zz_vocab_missing_attr(const zz_vocab_cat_t *cat,
                                  int (*has)(const char *key, void *ctx),
                                  void *ctx);
/* 1 when value is one the attribute takes (0 when def or value is NULL). */
int zz_vocab_attr_value_ok(const zz_vocab_attr_t *def, const char *value);
/* Reads a decimal integer as attributes and policy files write them:
 * digits with an optional leading '-', nothing else (no '+', no blank),
 * no magnitude beyond about 10^15. 0, or -1 when s is not one (*out
 * untouched). */
int zz_vocab_parse_long(const char *s, long *out);

/* 1 when code names a payer or fund source a policy may name: MCA, MVA,
 * RRB, DPF, NHC, MAF, FIN, WLF. */
int zz_vocab_payer_known(const char *code);

/* Enrollment classes as policies and cases write them ("adult",
 * "student_child", "college"), NULL-terminated: index i is the engine's
 * zz_enroll_class_t i (policy.h), the event's zz_enrollment_class_t i + 1
 * (event.h). */
extern const char *const zz_vocab_enroll_classes[];
/* Kinds of enrollment ("ANNUAL", "MID_YEAR"), NULL-terminated: index i
 * is the engine's zz_enroll_kind_t i. */
extern const char *const zz_vocab_enroll_kinds[];

#endif
