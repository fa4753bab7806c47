/*
 * money.h — amounts of money as int64 fen (1 yuan = 100 fen).
 *
 * No floating point is ever used for money in zizhu. Percentages are given
 * in basis points (1 % = 100 bp) so that 12.5 % is exact, and rounded half
 * up (half away from zero for negative amounts) to the fen.
 */
#ifndef ZIZHU_MONEY_H
#define ZIZHU_MONEY_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t zz_fen_t;

/* Largest amount zz_money_* accept: 10^15 fen, far above any budget, and
 * small enough that amount * 10000 bp never overflows int64. */
#define ZZ_FEN_MAX ((zz_fen_t)1000000000000000LL)

/* amount * bp / 10000, rounded half up to the fen. Returns 0 and writes
 * *out, or -1 when |amount| > ZZ_FEN_MAX or bp is outside 0..1000000. */
int zz_money_pct(zz_fen_t amount, int64_t bp, zz_fen_t *out);

/* Checked a + b; -1 when the result would leave ±ZZ_FEN_MAX. */
int zz_money_add(zz_fen_t a, zz_fen_t b, zz_fen_t *out);

/* Formats as yuan with two decimals: 17500 -> "175.00", -5 -> "-0.05".
 * Writes at most buf_size bytes, always NUL-terminated; returns buf. */
char *zz_money_format(zz_fen_t fen, char *buf, size_t buf_size);

/* Parses yuan as written by a clerk: "175", "175.5", "175.50", "-3.05",
 * optional surrounding blanks. More than two decimals, an empty string,
 * anything else, or more than ZZ_FEN_MAX is an error (-1). */
int zz_money_parse_yuan(const char *s, size_t len, zz_fen_t *out);

/* Parses an integer number of fen ("17500"). -1 on error or overflow. */
int zz_money_parse_fen(const char *s, size_t len, zz_fen_t *out);

#endif
