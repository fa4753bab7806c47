/*
 * idno.h — resident identity numbers (居民身份证号码, GB 11643-1999).
 *
 * 18 characters: a 6-digit administrative region code, an 8-digit birth
 * date (YYYYMMDD), a 3-digit sequence and a check character computed by
 * ISO 7064 MOD 11-2 over the first 17 (0-9 or X). A lower-case x is
 * accepted and normalized to X. Numbers are personal data: never log one;
 * use zz_idno_mask for anything a person or a dashboard sees.
 */
#ifndef ZIZHU_IDNO_H
#define ZIZHU_IDNO_H

#include <stddef.h>

#define ZZ_IDNO_LEN 18

typedef enum zz_idno_status_e {
        ZZ_IDNO_OK = 0,
        ZZ_IDNO_ERR_LENGTH,    /* not 18 characters */
        ZZ_IDNO_ERR_CHARS,     /* a non-digit in the first 17, or a bad
                                * 18th character */
        ZZ_IDNO_ERR_REGION,    /* unknown province code */
        ZZ_IDNO_ERR_BIRTHDATE, /* not a real date, or before 1900 */
        ZZ_IDNO_ERR_CHECK      /* check character does not match */
} zz_idno_status_t;

/* Validates s[0..len). Does not need a NUL terminator. */
zz_idno_status_t zz_idno_validate(const char *s, size_t len);

/* A short lower-case reason for a status ("bad check character"). */
const char *zz_idno_strerror(zz_idno_status_t status);

/* The check character for 17 digits ('0'-'9' or 'X'); '?' if a non-digit
 * is among them. */
char zz_idno_check_char(const char *first17);

/* Validates and copies s into out (19 bytes) with x upper-cased. */
zz_idno_status_t zz_idno_normalize(const char *s, size_t len, char out[19]);

/* Masks for display: the first 4 and last 4 characters are kept, the
 * others become '*': "5002**********123X". Anything not 18 characters
 * long becomes all '*' of its length (at most 18). out has 19 bytes. */
void zz_idno_mask(const char *s, size_t len, char out[19]);

#endif
