/*
 * date.c — civil dates as day numbers and instants in China Standard Time.
 *
 * Day numbers use the proleptic Gregorian calendar (the days-from-civil
 * algorithm of Howard Hinnant's date library, re-derived here). China has
 * kept UTC+8 without daylight saving since 1991, which is all the pipeline
 * deals with.
 */
#include "zizhu/date.h"

#include <stdio.h>

static int is_leap(int y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
        static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};

        if (m == 2 && is_leap(y))
                return 29;
        return mdays[m - 1];
}

int zz_date_valid_ymd(int y, int m, int d)
{
        if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
                return 0;
        return d <= days_in_month(y, m);
}

zz_date_t zz_date_from_ymd(int y, int m, int d)
{
        int era;
        int yoe;
        int doy;
        int doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return (zz_date_t)(era * 146097 + doe - 719468);
}

void zz_date_to_ymd(zz_date_t date, int *y, int *m, int *d)
{
        int z = date + 719468;
        int era = (z >= 0 ? z : z - 146096) / 146097;
        int doe = z - era * 146097;
        int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int mp = (5 * doy + 2) / 153;
        int dd = doy - (153 * mp + 2) / 5 + 1;
        int mm = mp < 10 ? mp + 3 : mp - 9;

        *y = yoe + era * 400 + (mm <= 2);
        *m = mm;
        *d = dd;
}

/* Reads n decimal digits; -1 if any is not a digit. */
static int read_digits(const char *s, int n)
{
        int v = 0;
        int i;

        for (i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}

static int ymd_to_date(int y, int m, int d, zz_date_t *out)
{
        if (y < 0 || m < 0 || d < 0 || !zz_date_valid_ymd(y, m, d))
                return -1;
        *out = zz_date_from_ymd(y, m, d);
        return 0;
}

int zz_date_parse(const char *s, size_t len, zz_date_t *out)
{
        if (len != 10 || s[4] != '-' || s[7] != '-')
                return -1;
        return ymd_to_date(read_digits(s, 4), read_digits(s + 5, 2),
                           read_digits(s + 8, 2), out);
}

int zz_date_parse_compact(const char *s, size_t len, zz_date_t *out)
{
        if (len != 8)
                return -1;
        return ymd_to_date(read_digits(s, 4), read_digits(s + 4, 2),
                           read_digits(s + 6, 2), out);
}

char *zz_date_format(zz_date_t date, char *buf, size_t buf_size)
{
        int y;
        int m;
        int d;

        zz_date_to_ymd(date, &y, &m, &d);
        snprintf(buf, buf_size, "%04d-%02d-%02d", y, m, d);
        return buf;
}

/* ":SS" with an optional fraction (".fff", ",fff") at s[*i], if any:
 * *ss and *ms receive them; *i moves past. -1 when malformed. */
static int parse_seconds(const char *s, size_t len, size_t *i, int *ss, int *ms)
{
        int scale = 100;

        if (*i >= len || s[*i] != ':')
                return 0;
        if (*i + 3 > len)
                return -1;
        *ss = read_digits(s + *i + 1, 2);
        if (*ss < 0 || *ss > 59)
                return -1;
        *i += 3;
        if (*i >= len || (s[*i] != '.' && s[*i] != ','))
                return 0;
        (*i)++;
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
                return -1;
        while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
                *ms += (s[*i] - '0') * scale;
                scale /= 10;
                (*i)++;
        }
        return 0;
}

/* The zone that ends the text at s[i] ("Z", "+08:00", "+0800", "+08";
 * none: China Standard Time) into *offset_ms. -1 when malformed. */
static int parse_zone(const char *s, size_t len, size_t i, zz_ts_t *offset_ms)
{
        int oh, om, sign;

        if (i == len) {
                *offset_ms = ZZ_CST_OFFSET_MS;
                return 0;
        }
        if (s[i] == 'Z' && i + 1 == len) {
                *offset_ms = 0;
                return 0;
        }
        if (s[i] != '+' && s[i] != '-')
                return -1;
        sign = s[i] == '-' ? -1 : 1;
        if (len - i == 6 && s[i + 3] == ':') {
                oh = read_digits(s + i + 1, 2);
                om = read_digits(s + i + 4, 2);
        } else if (len - i == 5) {
                oh = read_digits(s + i + 1, 2);
                om = read_digits(s + i + 3, 2);
        } else if (len - i == 3) {
                oh = read_digits(s + i + 1, 2);
                om = 0;
        } else {
                return -1;
        }
        if (oh < 0 || oh > 14 || om < 0 || om > 59)
                return -1;
        *offset_ms = sign * ((zz_ts_t)oh * 3600 + om * 60) * 1000;
        return 0;
}

int zz_ts_parse(const char *s, size_t len, zz_ts_t *out)
{
        zz_date_t date;
        size_t i = 16;
        int hh, mi, ss = 0, ms = 0;
        zz_ts_t offset_ms;

        if (len < 10 || zz_date_parse(s, 10, &date) != 0)
                return -1;
        if (len == 10) {
                *out = zz_ts_from_cst_date(date);
                return 0;
        }
        if ((s[10] != 'T' && s[10] != ' ') || len < 16 || s[13] != ':')
                return -1;
        hh = read_digits(s + 11, 2);
        mi = read_digits(s + 14, 2);
        if (hh < 0 || hh > 23 || mi < 0 || mi > 59)
                return -1;
        if (parse_seconds(s, len, &i, &ss, &ms) != 0 ||
            parse_zone(s, len, i, &offset_ms) != 0)
                return -1;
        *out = (zz_ts_t)date * 86400000 +
               ((zz_ts_t)hh * 3600 + mi * 60 + ss) * 1000 + ms - offset_ms;
        return 0;
}

static zz_ts_t floor_div(zz_ts_t a, zz_ts_t b)
{
        zz_ts_t q = a / b;

        if ((a % b != 0) && ((a < 0) != (b < 0)))
                q--;
        return q;
}

zz_date_t zz_ts_cst_date(zz_ts_t ts)
{
        return (zz_date_t)floor_div(ts + ZZ_CST_OFFSET_MS, 86400000);
}

zz_ts_t zz_ts_from_cst_date(zz_date_t date)
{
        return (zz_ts_t)date * 86400000 - ZZ_CST_OFFSET_MS;
}

char *zz_ts_format(zz_ts_t ts, char *buf, size_t buf_size)
{
        zz_ts_t local = ts + ZZ_CST_OFFSET_MS;
        zz_date_t date = (zz_date_t)floor_div(local, 86400000);
        zz_ts_t in_day = local - (zz_ts_t)date * 86400000;
        int y;
        int m;
        int d;
        int msec = (int)(in_day % 1000);
        int sec = (int)(in_day / 1000);

        zz_date_to_ymd(date, &y, &m, &d);
        if (msec != 0)
                snprintf(buf, buf_size,
                         "%04d-%02d-%02dT%02d:%02d:%02d.%03d+08:00", y, m, d,
                         sec / 3600, sec / 60 % 60, sec % 60, msec);
        else
                snprintf(buf, buf_size, "%04d-%02d-%02dT%02d:%02d:%02d+08:00",
                         y, m, d, sec / 3600, sec / 60 % 60, sec % 60);
        return buf;
}
