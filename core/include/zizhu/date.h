/*
 * date.h — business dates and instants, in China Standard Time.
 *
 * A zz_date_t is a day count since 1970-01-01 (the Avro `date` logical
 * type). A zz_ts_t is milliseconds since the Unix epoch (Avro
 * `timestamp-millis`). A timestamp written without an offset is read as
 * China Standard Time (+08:00), which has no daylight saving time. Nothing
 * here reads the clock.
 */
#ifndef ZIZHU_DATE_H
#define ZIZHU_DATE_H

#include <stddef.h>
#include <stdint.h>

typedef int32_t zz_date_t;
typedef int64_t zz_ts_t;

#define ZZ_CST_OFFSET_MS ((zz_ts_t)8 * 3600 * 1000)
#define ZZ_DATE_NONE     INT32_MIN /* "no date", e.g. an open valid_to */

/* 1 when y-m-d is a real Gregorian date with 1 <= y <= 9999. */
int zz_date_valid_ymd(int y, int m, int d);
/* Day number of a valid date (unchecked: call zz_date_valid_ymd first). */
zz_date_t zz_date_from_ymd(int y, int m, int d);
void zz_date_to_ymd(zz_date_t date, int *y, int *m, int *d);

/* Parses "YYYY-MM-DD" exactly (also "YYYYMMDD" when compact != 0 is not
 * needed: see zz_date_parse_compact). 0 on success, -1 otherwise. */
int zz_date_parse(const char *s, size_t len, zz_date_t *out);
/* Parses "YYYYMMDD" (as in an ID number). */
int zz_date_parse_compact(const char *s, size_t len, zz_date_t *out);
/* "YYYY-MM-DD" into buf (at least 11 bytes). Returns buf. */
char *zz_date_format(zz_date_t date, char *buf, size_t buf_size);

/* Parses ISO 8601 "YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM|±HHMM]" (a space
 * may stand for T); no offset means +08:00. A bare date means its
 * midnight in CST. 0 on success, -1 otherwise. */
int zz_ts_parse(const char *s, size_t len, zz_ts_t *out);
/* "YYYY-MM-DDTHH:MM:SS+08:00" (with ".mmm" when not whole seconds). */
char *zz_ts_format(zz_ts_t ts, char *buf, size_t buf_size);
/* The calendar date in China of an instant. */
zz_date_t zz_ts_cst_date(zz_ts_t ts);
/* Midnight CST at the start of a date. */
zz_ts_t zz_ts_from_cst_date(zz_date_t date);

#endif
