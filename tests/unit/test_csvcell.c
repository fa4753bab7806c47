/*
 * test_csvcell.c — CSV cells for spreadsheets: formulas neutralized
 * (issue 14: reject files wrote `=cmd**********'!A0` as it was), numbers
 * left as numbers, quoting as before, and the reader's inverse.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zizhu/csvcell.h"

/* The cell as zz_csvcell_write writes it, in a static buffer. */
static const char *cell(const char *s, int flags)
{
        static char buf[256];
        FILE *fp = fmemopen(buf, sizeof(buf), "w");

        cr_assert_not_null(fp);
        zz_csvcell_write(fp, s, flags);
        fclose(fp);
        return buf;
}

Test(csvcell, formula_cells_are_neutralized)
{
        cr_assert_str_eq(cell("=cmd**********'!A0", 0),
                         "\"'=cmd**********'!A0\"");
        cr_assert_str_eq(cell("=1+1", 0), "\"'=1+1\"");
        cr_assert_str_eq(cell("+1+cmd|' /C calc'!A0", 0),
                         "\"'+1+cmd|' /C calc'!A0\"");
        cr_assert_str_eq(cell("-2+3+cmd|' /C calc'!A0", 0),
                         "\"'-2+3+cmd|' /C calc'!A0\"");
        cr_assert_str_eq(cell("@SUM(A1)", 0), "\"'@SUM(A1)\"");
        cr_assert_str_eq(cell("\t=1+1", 0), "\"'\t=1+1\"");
        cr_assert_str_eq(cell("\r=1+1", 0), "\"'\r=1+1\"");
        cr_assert_str_eq(cell("=HYPERLINK(\"http://x\")", 0),
                         "\"'=HYPERLINK(\"\"http://x\"\")\"");
        cr_assert_str_eq(cell("-", 0), "\"'-\"");
        cr_assert_str_eq(cell("+86 138", 0), "\"'+86 138\"");
}

/* A negative amount in a report must stay a number the spreadsheet
 * sums, not become the text '-10500. */
Test(csvcell, negative_numbers_stay_numbers)
{
        cr_assert_str_eq(cell("-10500", 0), "-10500");
        cr_assert_str_eq(cell("-105.50", 0), "-105.50");
        cr_assert_str_eq(cell("+3", 0), "+3");
        cr_assert_str_eq(cell("-1e-05", 0), "-1e-05");
        cr_assert_str_eq(cell("-.5", 0), "-.5");
        cr_assert_str_eq(cell("-10500", ZZ_CSVCELL_QUOTE_ALWAYS), "\"-10500\"");
        cr_assert_eq(zz_csvcell_is_formula("-1e", 3), 1);
        cr_assert_eq(zz_csvcell_is_formula("-.", 2), 1);
        cr_assert_eq(zz_csvcell_is_formula("-1-1", 4), 1);
}

Test(csvcell, other_cells_are_written_as_before)
{
        cr_assert_str_eq(cell("", 0), "");
        cr_assert_str_eq(cell("MCA-0001", 0), "MCA-0001");
        cr_assert_str_eq(cell("a,b", 0), "\"a,b\"");
        cr_assert_str_eq(cell("say \"hi\"", 0), "\"say \"\"hi\"\"\"");
        cr_assert_str_eq(cell("line\nbreak", 0), "\"line\nbreak\"");
        cr_assert_str_eq(cell("5001**********1010", ZZ_CSVCELL_QUOTE_ALWAYS),
                         "\"5001**********1010\"");
        cr_assert_str_eq(cell("", ZZ_CSVCELL_QUOTE_ALWAYS), "\"\"");
        cr_assert_str_eq(cell("a=b", 0), "a=b");
}

Test(csvcell, unguard_undoes_exactly_the_guard)
{
        const char *s = "'=1+1";
        size_t len = strlen(s);

        zz_csvcell_unguard(&s, &len);
        cr_assert_eq(len, 4);
        cr_assert(strncmp(s, "=1+1", len) == 0);

        s = "'-10500"; /* never written by the guard: kept */
        len = strlen(s);
        zz_csvcell_unguard(&s, &len);
        cr_assert_eq(len, 7);
        s = "'abc";
        len = strlen(s);
        zz_csvcell_unguard(&s, &len);
        cr_assert_eq(len, 4);
        s = "'";
        len = 1;
        zz_csvcell_unguard(&s, &len);
        cr_assert_eq(len, 1);
}
