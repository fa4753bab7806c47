/*
 * test_idno.c — GB 11643-1999 validation, normalization and masking.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "zizhu/idno.h"

static zz_idno_status_t check(const char *s)
{
        return zz_idno_validate(s, strlen(s));
}

Test(idno, known_good_numbers)
{
        /* Check characters computed by hand with the MOD 11-2 weights. */
        cr_assert_eq(check("11010519491231002X"), ZZ_IDNO_OK);
        cr_assert_eq(check("11010519491231002x"), ZZ_IDNO_OK);
        cr_assert_eq(check("440524188001010014"), ZZ_IDNO_ERR_BIRTHDATE);
        cr_assert_eq(check("500228199001011235"), ZZ_IDNO_OK); /* CONTRACT.md */
        cr_assert_eq(check("500228199001011236"), ZZ_IDNO_ERR_CHECK);
}

Test(idno, check_char_matches_every_digit_position)
{
        char id[19] = "500155199001011230";
        char c;

        c = zz_idno_check_char(id);
        id[17] = c;
        cr_assert_eq(check(id), ZZ_IDNO_OK);
        /* Changing any one digit of the first 17 breaks the check. */
        for (int i = 0; i < 17; i++) {
                char copy[19];

                if (i >= 6 && i < 14)
                        continue; /* may make a bad date instead */
                memcpy(copy, id, sizeof(copy));
                copy[i] = copy[i] == '9' ? '0' : (char)(copy[i] + 1);
                cr_assert_neq(check(copy), ZZ_IDNO_OK, "position %d", i);
        }
}

Test(idno, rejects_each_kind_of_error)
{
        cr_assert_eq(check("11010519491231002"), ZZ_IDNO_ERR_LENGTH);
        cr_assert_eq(check("11010519491231002XX"), ZZ_IDNO_ERR_LENGTH);
        cr_assert_eq(check(""), ZZ_IDNO_ERR_LENGTH);
        cr_assert_eq(check("1101051949123100AX"), ZZ_IDNO_ERR_CHARS);
        cr_assert_eq(check("11010519491231002Y"), ZZ_IDNO_ERR_CHARS);
        cr_assert_eq(check("99010519491231002X"), ZZ_IDNO_ERR_REGION);
        cr_assert_eq(check("110105194902300021"), ZZ_IDNO_ERR_BIRTHDATE);
        cr_assert_eq(check("110105189901010021"), ZZ_IDNO_ERR_BIRTHDATE);
        cr_assert_eq(check("110105194912310021"), ZZ_IDNO_ERR_CHECK);
        cr_assert_eq(zz_idno_validate(NULL, 18), ZZ_IDNO_ERR_LENGTH);
        cr_assert_str_eq(zz_idno_strerror(ZZ_IDNO_ERR_CHECK),
                         "check character does not match");
}

Test(idno, leap_day_birth)
{
        char id[19] = "50011220000229001?";

        id[17] = zz_idno_check_char(id);
        cr_assert_eq(check(id), ZZ_IDNO_OK);
        memcpy(id + 6, "19000229", 8); /* 1900 was not a leap year */
        id[17] = zz_idno_check_char(id);
        cr_assert_eq(check(id), ZZ_IDNO_ERR_BIRTHDATE);
}

Test(idno, normalize_uppercases_x)
{
        char out[19];

        cr_assert_eq(zz_idno_normalize("11010519491231002x", 18, out),
                     ZZ_IDNO_OK);
        cr_assert_str_eq(out, "11010519491231002X");
}

Test(idno, mask)
{
        char out[19];

        zz_idno_mask("50022819900101123x", 18, out);
        cr_assert_str_eq(out, "5002**********123X");
        zz_idno_mask("12345", 5, out);
        cr_assert_str_eq(out, "*****");
}
