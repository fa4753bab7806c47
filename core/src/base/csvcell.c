/*
 * csvcell.c — CSV cells for spreadsheets, guarded against formula
 * injection (see csvcell.h for the rule and why numbers pass).
 */
#include "zizhu/csvcell.h"

#include <string.h>

/* Advances *i over the digits of s[*i..len); how many. */
static size_t skip_digits(const char *s, size_t len, size_t *i)
{
        size_t n = 0;

        while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
                (*i)++;
                n++;
        }
        return n;
}

/* Advances *i over a '+' or '-' at s[*i]. */
static void skip_sign(const char *s, size_t len, size_t *i)
{
        if (*i < len && (s[*i] == '+' || s[*i] == '-'))
                (*i)++;
}

/* 1 when s[0..len) is [+-]digits[.digits][e[+-]digits], at least one
 * digit before the exponent. */
static int plain_number(const char *s, size_t len)
{
        size_t i = 0;
        size_t digits;

        skip_sign(s, len, &i);
        digits = skip_digits(s, len, &i);
        if (i < len && s[i] == '.') {
                i++;
                digits += skip_digits(s, len, &i);
        }
        if (digits == 0)
                return 0;
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                skip_sign(s, len, &i);
                if (skip_digits(s, len, &i) == 0)
                        return 0;
        }
        return i == len;
}

int zz_csvcell_is_formula(const char *s, size_t len)
{
        if (len == 0 || s[0] == '\0' || strchr("=+-@\t\r", s[0]) == NULL)
                return 0;
        return !plain_number(s, len);
}

void zz_csvcell_write(FILE *fp, const char *s, int flags)
{
        size_t len = strlen(s);
        int guard = zz_csvcell_is_formula(s, len);

        if (!guard && !(flags & ZZ_CSVCELL_QUOTE_ALWAYS) &&
            strpbrk(s, ",\"\r\n") == NULL) {
                fputs(s, fp);
                return;
        }
        fputc('"', fp);
        if (guard)
                fputc('\'', fp);
        for (; *s != '\0'; s++) {
                if (*s == '"')
                        fputc('"', fp);
                fputc(*s, fp);
        }
        fputc('"', fp);
}

void zz_csvcell_unguard(const char **s, size_t *len)
{
        if (*len >= 2 && (*s)[0] == '\'' &&
            zz_csvcell_is_formula(*s + 1, *len - 1)) {
                (*s)++;
                (*len)--;
        }
}
