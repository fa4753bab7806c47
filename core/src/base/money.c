/*
 * money.c — int64 fen arithmetic, formatting and parsing. No floating point.
 */
#include "zizhu/money.h"

#include <stdio.h>

#define ZZ_BP_MAX 1000000 /* 10000 %: anything larger is a mistake */

int zz_money_pct(zz_fen_t amount, int64_t bp, zz_fen_t *out)
{
        int64_t product;
        int64_t q;
        int64_t r;

        if (amount > ZZ_FEN_MAX || amount < -ZZ_FEN_MAX || bp < 0 ||
            bp > ZZ_BP_MAX)
                return -1;
        /* |amount| <= 1e15 and bp <= 1e6: product <= 1e21 would overflow,
         * so split amount into whole yuan-myriads to stay in range. */
        q = amount / 10000;
        r = amount % 10000;
        product = r * bp; /* |r| < 1e4, bp <= 1e6: fits easily */
        {
                int64_t whole = q * bp; /* q * 10000 * bp / 10000 */
                int64_t frac = product / 10000;
                int64_t rem = product % 10000;

                if (rem >= 5000)
                        frac += 1;
                else if (rem <= -5000)
                        frac -= 1;
                *out = whole + frac;
        }
        return 0;
}

int zz_money_add(zz_fen_t a, zz_fen_t b, zz_fen_t *out)
{
        zz_fen_t sum;

        if (a > ZZ_FEN_MAX || a < -ZZ_FEN_MAX || b > ZZ_FEN_MAX ||
            b < -ZZ_FEN_MAX)
                return -1;
        sum = a + b; /* cannot overflow: both within ±1e15 */
        if (sum > ZZ_FEN_MAX || sum < -ZZ_FEN_MAX)
                return -1;
        *out = sum;
        return 0;
}

char *zz_money_format(zz_fen_t fen, char *buf, size_t buf_size)
{
        const char *sign = "";
        uint64_t abs_fen;

        if (buf_size == 0)
                return buf;
        if (fen < 0) {
                sign = "-";
                abs_fen = (uint64_t)(-(fen + 1)) + 1;
        } else {
                abs_fen = (uint64_t)fen;
        }
        snprintf(buf, buf_size, "%s%llu.%02llu", sign,
                 (unsigned long long)(abs_fen / 100),
                 (unsigned long long)(abs_fen % 100));
        return buf;
}

static int is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int zz_money_parse_yuan(const char *s, size_t len, zz_fen_t *out)
{
        size_t i = 0;
        int negative = 0;
        int digits = 0;
        int decimals = -1; /* -1: no point seen */
        int64_t value = 0;

        while (i < len && is_blank(s[i]))
                i++;
        while (len > i && is_blank(s[len - 1]))
                len--;
        if (i < len && (s[i] == '-' || s[i] == '+')) {
                negative = s[i] == '-';
                i++;
        }
        for (; i < len; i++) {
                char c = s[i];

                if (c == '.') {
                        if (decimals >= 0)
                                return -1;
                        decimals = 0;
                        continue;
                }
                if (c < '0' || c > '9')
                        return -1;
                if (decimals >= 0 && ++decimals > 2)
                        return -1;
                if (value > ZZ_FEN_MAX / 10)
                        return -1;
                value = value * 10 + (c - '0');
                digits++;
        }
        if (digits == 0)
                return -1;
        if (decimals < 1)
                value *= 100;
        else if (decimals == 1)
                value *= 10;
        if (value > ZZ_FEN_MAX)
                return -1;
        *out = negative ? -value : value;
        return 0;
}

int zz_money_parse_fen(const char *s, size_t len, zz_fen_t *out)
{
        size_t i = 0;
        int negative = 0;
        int64_t value = 0;

        while (i < len && is_blank(s[i]))
                i++;
        while (len > i && is_blank(s[len - 1]))
                len--;
        if (i < len && (s[i] == '-' || s[i] == '+')) {
                negative = s[i] == '-';
                i++;
        }
        if (i == len)
                return -1;
        for (; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                if (value > ZZ_FEN_MAX / 10)
                        return -1;
                value = value * 10 + (s[i] - '0');
        }
        if (value > ZZ_FEN_MAX)
                return -1;
        *out = negative ? -value : value;
        return 0;
}
