/*
 * errstr.h — filling the caller's error buffer, the convention of every
 * zizhu function that can fail: it returns -1 (or NULL) and writes what
 * went wrong into a `char *errstr, size_t errstr_size` the caller passed
 * (STYLE.md, "Errors and messages").
 *
 * Thread: any thread.
 */
#ifndef ZIZHU_ERRSTR_H
#define ZIZHU_ERRSTR_H

#include <stddef.h>

#if defined(__GNUC__)
#define ZZ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ZZ_PRINTF(a, b)
#endif

/* Formats the message into errstr; does nothing when errstr is NULL or
 * errstr_size is 0 (the caller does not want the detail). */
void zz_errstr_set(char *errstr, size_t errstr_size, const char *fmt, ...)
    ZZ_PRINTF(3, 4);

#endif
