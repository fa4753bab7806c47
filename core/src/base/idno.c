/*
 * idno.c — GB 11643-1999 resident identity numbers.
 *
 * The check character is ISO 7064 MOD 11-2: weights 2^(17-i) mod 11 over
 * the first 17 digits, sum mod 11 mapped to "10X98765432".
 */
#include "zizhu/idno.h"

#include "zizhu/date.h"

static const int zz_idno_weights[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                        3, 7, 9,  10, 5, 8, 4, 2};
static const char zz_idno_checks[11] = {'1', '0', 'X', '9', '8', '7',
                                        '6', '5', '4', '3', '2'};

/* Province-level codes of GB/T 2260 (first two digits of the region). */
static int valid_province(int p)
{
        switch (p) {
        case 11:
        case 12:
        case 13:
        case 14:
        case 15:
        case 21:
        case 22:
        case 23:
        case 31:
        case 32:
        case 33:
        case 34:
        case 35:
        case 36:
        case 37:
        case 41:
        case 42:
        case 43:
        case 44:
        case 45:
        case 46:
        case 50:
        case 51:
        case 52:
        case 53:
        case 54:
        case 61:
        case 62:
        case 63:
        case 64:
        case 65:
        case 71:
        case 81:
        case 82:
        case 83:
                return 1;
        default:
                return 0;
        }
}

char zz_idno_check_char(const char *first17)
{
        int sum = 0;
        int i;

        for (i = 0; i < 17; i++) {
                if (first17[i] < '0' || first17[i] > '9')
                        return '?';
                sum += (first17[i] - '0') * zz_idno_weights[i];
        }
        return zz_idno_checks[sum % 11];
}

zz_idno_status_t zz_idno_validate(const char *s, size_t len)
{
        zz_date_t birth;
        int y;
        int i;
        char last;

        if (s == NULL || len != ZZ_IDNO_LEN)
                return ZZ_IDNO_ERR_LENGTH;
        for (i = 0; i < 17; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return ZZ_IDNO_ERR_CHARS;
        }
        last = s[17];
        if (last == 'x')
                last = 'X';
        if (!((last >= '0' && last <= '9') || last == 'X'))
                return ZZ_IDNO_ERR_CHARS;
        if (!valid_province((s[0] - '0') * 10 + (s[1] - '0')))
                return ZZ_IDNO_ERR_REGION;
        if (zz_date_parse_compact(s + 6, 8, &birth) != 0)
                return ZZ_IDNO_ERR_BIRTHDATE;
        y = (s[6] - '0') * 1000 + (s[7] - '0') * 100 + (s[8] - '0') * 10 +
            (s[9] - '0');
        if (y < 1900)
                return ZZ_IDNO_ERR_BIRTHDATE;
        if (zz_idno_check_char(s) != last)
                return ZZ_IDNO_ERR_CHECK;
        return ZZ_IDNO_OK;
}

const char *zz_idno_strerror(zz_idno_status_t status)
{
        switch (status) {
        case ZZ_IDNO_OK:
                return "valid";
        case ZZ_IDNO_ERR_LENGTH:
                return "not 18 characters long";
        case ZZ_IDNO_ERR_CHARS:
                return "contains a character other than digits and a final X";
        case ZZ_IDNO_ERR_REGION:
                return "unknown province code";
        case ZZ_IDNO_ERR_BIRTHDATE:
                return "birth date is not a real date";
        case ZZ_IDNO_ERR_CHECK:
                return "check character does not match";
        }
        return "unknown error";
}

zz_idno_status_t zz_idno_normalize(const char *s, size_t len, char out[19])
{
        zz_idno_status_t status = zz_idno_validate(s, len);
        size_t i;

        if (status != ZZ_IDNO_OK)
                return status;
        for (i = 0; i < ZZ_IDNO_LEN; i++)
                out[i] = s[i];
        if (out[17] == 'x')
                out[17] = 'X';
        out[18] = '\0';
        return ZZ_IDNO_OK;
}

void zz_idno_mask(const char *s, size_t len, char out[19])
{
        size_t i;

        if (len != ZZ_IDNO_LEN) {
                if (len > ZZ_IDNO_LEN)
                        len = ZZ_IDNO_LEN;
                for (i = 0; i < len; i++)
                        out[i] = '*';
                out[len] = '\0';
                return;
        }
        for (i = 0; i < ZZ_IDNO_LEN; i++)
                out[i] = (i < 4 || i >= 14) ? s[i] : '*';
        if (out[17] == 'x')
                out[17] = 'X';
        out[18] = '\0';
}
