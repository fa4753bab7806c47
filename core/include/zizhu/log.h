/*
 * log.h — diagnostics to stderr that can never carry an ID number.
 *
 * Every message is formatted, then scrubbed: any run of 15 or more
 * characters of digits (with an optional trailing X) is replaced by its
 * masked form before it is written, so a careless "%s" of a person's number
 * still prints "5002**********123X". Names are never passed to the logger;
 * callers log event ids, offsets and pseudonyms instead.
 *
 * Lines are logfmt: ts=... level=... comp=... msg="...".
 *
 * Threads: zz_log_set_level and zz_log_set_component change plain
 * globals that every thread reads: call them on the main thread before
 * starting any other. zz_log, zz_logv, zz_log_scrub and zz_log_get_level:
 * any thread; each line is written by one fprintf, which stdio locks, so
 * lines of different threads never interleave.
 */
#ifndef ZIZHU_LOG_H
#define ZIZHU_LOG_H

#include <stdarg.h>
#include <stddef.h>

typedef enum zz_log_level_e {
        ZZ_LOG_ERROR = 0,
        ZZ_LOG_WARN = 1,
        ZZ_LOG_INFO = 2,
        ZZ_LOG_DEBUG = 3
} zz_log_level_t;

void zz_log_set_level(zz_log_level_t level);
zz_log_level_t zz_log_get_level(void);
/* The component name printed with each line ("subsidy-worker"); borrowed,
 * must outlive logging. */
void zz_log_set_component(const char *component);

#if defined(__GNUC__)
#define ZZ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ZZ_PRINTF(a, b)
#endif

void zz_log(zz_log_level_t level, const char *fmt, ...) ZZ_PRINTF(2, 3);
void zz_logv(zz_log_level_t level, const char *fmt, va_list ap) ZZ_PRINTF(2, 0);

#define zz_log_error(...) zz_log(ZZ_LOG_ERROR, __VA_ARGS__)
#define zz_log_warn(...)  zz_log(ZZ_LOG_WARN, __VA_ARGS__)
#define zz_log_info(...)  zz_log(ZZ_LOG_INFO, __VA_ARGS__)
#define zz_log_debug(...) zz_log(ZZ_LOG_DEBUG, __VA_ARGS__)

/* Replaces every ID-number-like run in buf (NUL-terminated, in place) with
 * its mask. Returns the number of runs masked. Exposed for tests and for
 * anything else that writes text for people (reject files, reports). */
size_t zz_log_scrub(char *buf);

#endif
