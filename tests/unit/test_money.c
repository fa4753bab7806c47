/*
 * test_money.c — int64 fen arithmetic: rounding half up, limits, parsing.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "zizhu/money.h"

Test(money, pct_of_tier_one)
{
        zz_fen_t out;

        cr_assert_eq(zz_money_pct(28000, 7000, &out), 0);
        cr_assert_eq(out, 19600); /* Tongnan T3: 70 % of 280 yuan */
        cr_assert_eq(zz_money_pct(28000, 8000, &out), 0);
        cr_assert_eq(out, 22400);
        cr_assert_eq(zz_money_pct(35000, 7500, &out), 0);
        cr_assert_eq(out, 26250);
}

Test(money, pct_rounds_half_up)
{
        zz_fen_t out;

        cr_assert_eq(zz_money_pct(1, 5000, &out), 0); /* 0.5 -> 1 */
        cr_assert_eq(out, 1);
        cr_assert_eq(zz_money_pct(3, 5000, &out), 0); /* 1.5 -> 2 */
        cr_assert_eq(out, 2);
        cr_assert_eq(zz_money_pct(1, 4999, &out), 0); /* 0.4999 -> 0 */
        cr_assert_eq(out, 0);
        cr_assert_eq(zz_money_pct(-3, 5000, &out), 0); /* away from 0 */
        cr_assert_eq(out, -2);
        cr_assert_eq(zz_money_pct(12345, 1250, &out), 0); /* 1543.125 */
        cr_assert_eq(out, 1543);
        cr_assert_eq(zz_money_pct(12347, 1250, &out), 0); /* 1543.375 */
        cr_assert_eq(out, 1543);
        cr_assert_eq(zz_money_pct(12348, 1250, &out), 0); /* 1543.5 */
        cr_assert_eq(out, 1544);
}

Test(money, pct_exact_against_wide_arithmetic)
{
        /* Compare with 128-bit arithmetic over a spread of values. */
        int64_t amounts[] = {0,         1,          99,          10001,
                             987654321, ZZ_FEN_MAX, -ZZ_FEN_MAX, -77777};
        int64_t bps[] = {0, 1, 3333, 5000, 7000, 10000, 12345, 1000000};
        size_t i;
        size_t j;

        for (i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++) {
                for (j = 0; j < sizeof(bps) / sizeof(bps[0]); j++) {
                        __extension__ __int128 p =
                            (__int128)amounts[i] * bps[j];
                        __extension__ __int128 q = p / 10000;
                        __extension__ __int128 r = p % 10000;
                        zz_fen_t out;

                        if (r >= 5000)
                                q++;
                        else if (r <= -5000)
                                q--;
                        cr_assert_eq(zz_money_pct(amounts[i], bps[j], &out), 0);
                        cr_assert_eq(out, (int64_t)q, "%lld * %lld bp",
                                     (long long)amounts[i], (long long)bps[j]);
                }
        }
}

Test(money, pct_rejects_out_of_range)
{
        zz_fen_t out;

        cr_assert_eq(zz_money_pct(ZZ_FEN_MAX + 1, 100, &out), -1);
        cr_assert_eq(zz_money_pct(100, -1, &out), -1);
        cr_assert_eq(zz_money_pct(100, 1000001, &out), -1);
}

Test(money, add_checks_limits)
{
        zz_fen_t out;

        cr_assert_eq(zz_money_add(1, 2, &out), 0);
        cr_assert_eq(out, 3);
        cr_assert_eq(zz_money_add(ZZ_FEN_MAX, 1, &out), -1);
        cr_assert_eq(zz_money_add(INT64_MAX, INT64_MAX, &out), -1);
}

Test(money, format)
{
        char buf[32];

        cr_assert_str_eq(zz_money_format(17500, buf, sizeof(buf)), "175.00");
        cr_assert_str_eq(zz_money_format(5, buf, sizeof(buf)), "0.05");
        cr_assert_str_eq(zz_money_format(-5, buf, sizeof(buf)), "-0.05");
        cr_assert_str_eq(zz_money_format(0, buf, sizeof(buf)), "0.00");
        cr_assert_str_eq(zz_money_format(INT64_MIN, buf, sizeof(buf)),
                         "-92233720368547758.08");
}

Test(money, parse_yuan)
{
        zz_fen_t out;
        const char *s;

        s = "175";
        cr_assert_eq(zz_money_parse_yuan(s, strlen(s), &out), 0);
        cr_assert_eq(out, 17500);
        s = " 175.5 ";
        cr_assert_eq(zz_money_parse_yuan(s, strlen(s), &out), 0);
        cr_assert_eq(out, 17550);
        s = "-3.05";
        cr_assert_eq(zz_money_parse_yuan(s, strlen(s), &out), 0);
        cr_assert_eq(out, -305);
        s = "0.001";
        cr_assert_eq(zz_money_parse_yuan(s, strlen(s), &out), -1);
        s = "1.2.3";
        cr_assert_eq(zz_money_parse_yuan(s, strlen(s), &out), -1);
        s = "";
        cr_assert_eq(zz_money_parse_yuan(s, strlen(s), &out), -1);
        s = "12a";
        cr_assert_eq(zz_money_parse_yuan(s, strlen(s), &out), -1);
        s = "99999999999999999999";
        cr_assert_eq(zz_money_parse_yuan(s, strlen(s), &out), -1);
}

Test(money, parse_fen)
{
        zz_fen_t out;
        const char *s = "25000";

        cr_assert_eq(zz_money_parse_fen(s, strlen(s), &out), 0);
        cr_assert_eq(out, 25000);
        s = "25000.0";
        cr_assert_eq(zz_money_parse_fen(s, strlen(s), &out), -1);
        s = "-";
        cr_assert_eq(zz_money_parse_fen(s, strlen(s), &out), -1);
}
