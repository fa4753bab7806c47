/*
 * test_pseudonym.c — HMAC-SHA256 pseudonyms: known vector, stability, key.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "zizhu/pseudonym.h"

Test(pseudonym, rfc4231_case2_prefix)
{
        /* RFC 4231 test case 2: key "Jefe", data "what do ya want for
         * nothing?"; the MAC starts 5bdcc146bf60754e6a042426089575c7. */
        char out[ZZ_PSEUDONYM_LEN + 1];
        const char *data = "what do ya want for nothing?";

        cr_assert_eq(zz_pseudonym("Jefe", 4, data, strlen(data), out), 0);
        cr_assert_str_eq(out, "5bdcc146bf60754e6a042426089575c7");
}

Test(pseudonym, stable_case_insensitive_x_and_keyed)
{
        char a[ZZ_PSEUDONYM_LEN + 1];
        char b[ZZ_PSEUDONYM_LEN + 1];
        char c[ZZ_PSEUDONYM_LEN + 1];

        cr_assert_eq(zz_pseudonym("k1", 2, "11010519491231002X", 18, a), 0);
        cr_assert_eq(zz_pseudonym("k1", 2, "11010519491231002x", 18, b), 0);
        cr_assert_str_eq(a, b);
        cr_assert_eq(zz_pseudonym("k2", 2, "11010519491231002X", 18, c), 0);
        cr_assert_str_neq(a, c);
        cr_assert_null(strstr(a, "1101051949"));
        cr_assert_eq(zz_pseudonym("", 0, "11010519491231002X", 18, c), -1);
}
