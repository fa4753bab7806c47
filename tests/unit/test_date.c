/*
 * test_date.c — day numbers, ISO 8601 parsing in China Standard Time.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "zizhu/date.h"

static zz_date_t d(const char *s)
{
        zz_date_t out = ZZ_DATE_NONE;

        cr_assert_eq(zz_date_parse(s, strlen(s), &out), 0, "%s", s);
        return out;
}

static zz_ts_t ts(const char *s)
{
        zz_ts_t out = 0;

        cr_assert_eq(zz_ts_parse(s, strlen(s), &out), 0, "%s", s);
        return out;
}

Test(date, epoch_and_round_trip)
{
        char buf[16];
        int y;
        int m;
        int dd;

        cr_assert_eq(d("1970-01-01"), 0);
        cr_assert_eq(d("2000-03-01"), 11017);
        cr_assert_eq(d("1969-12-31"), -1);
        for (zz_date_t x = -719000; x < 2900000; x += 997) {
                zz_date_to_ymd(x, &y, &m, &dd);
                cr_assert(zz_date_valid_ymd(y, m, dd));
                cr_assert_eq(zz_date_from_ymd(y, m, dd), x);
        }
        cr_assert_str_eq(zz_date_format(d("2019-12-10"), buf, sizeof(buf)),
                         "2019-12-10");
}

Test(date, rejects_impossible_dates)
{
        zz_date_t out;
        const char *bad[] = {"2021-02-29", "2019-13-01", "2019-00-10",
                             "2019-04-31", "2019-4-1",   "2019/04/01",
                             "20190401",   "",           "2019-04-01x"};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_assert_eq(zz_date_parse(bad[i], strlen(bad[i]), &out), -1,
                             "%s", bad[i]);
        cr_assert_eq(zz_date_parse("2020-02-29", 10, &out), 0);
        cr_assert_eq(zz_date_parse_compact("19491231", 8, &out), 0);
        cr_assert_eq(zz_date_parse_compact("19490231", 8, &out), -1);
}

Test(date, timestamps_default_to_cst)
{
        /* 2019-10-15T10:00 in China is 02:00 UTC. */
        zz_ts_t a = ts("2019-10-15T10:00:00+08:00");

        cr_assert_eq(ts("2019-10-15T10:00:00"), a);
        cr_assert_eq(ts("2019-10-15 10:00"), a);
        cr_assert_eq(ts("2019-10-15T02:00:00Z"), a);
        cr_assert_eq(ts("2019-10-15T04:00:00+0200"), a);
        cr_assert_eq(ts("2019-10-15T10:00:00.250+08:00"), a + 250);
        cr_assert_eq(a % 1000, 0);
        cr_assert_eq(zz_ts_cst_date(a), d("2019-10-15"));
}

Test(date, cst_date_at_midnight_edges)
{
        /* 23:59 UTC on 2019-10-14 is 07:59 on the 15th in China. */
        cr_assert_eq(zz_ts_cst_date(ts("2019-10-14T23:59:00Z")),
                     d("2019-10-15"));
        cr_assert_eq(zz_ts_cst_date(ts("2019-10-14T15:59:59Z")),
                     d("2019-10-14"));
        cr_assert_eq(zz_ts_cst_date(ts("2019-10-14T16:00:00Z")),
                     d("2019-10-15"));
        cr_assert_eq(zz_ts_cst_date(ts("1960-01-01T00:00:00")),
                     d("1960-01-01"));
        cr_assert_eq(ts("2019-10-15"), zz_ts_from_cst_date(d("2019-10-15")));
}

Test(date, timestamp_format)
{
        char buf[40];

        cr_assert_str_eq(
            zz_ts_format(ts("2019-10-15T02:00:00Z"), buf, sizeof(buf)),
            "2019-10-15T10:00:00+08:00");
        cr_assert_str_eq(
            zz_ts_format(ts("2019-10-15T10:00:00.5"), buf, sizeof(buf)),
            "2019-10-15T10:00:00.500+08:00");
}

Test(date, rejects_bad_timestamps)
{
        zz_ts_t out;
        const char *bad[] = {"2019-10-15T25:00",
                             "2019-10-15T10:60",
                             "2019-10-15T10:00:00+8",
                             "2019-10-15X10:00",
                             "2019-10-15T10:00:00.",
                             "2019-10-15T10",
                             "2019-10-15T10:00:00+08:00junk"};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_assert_eq(zz_ts_parse(bad[i], strlen(bad[i]), &out), -1,
                             "%s", bad[i]);
}
