/*
 * test_pseudonym.c — HMAC-SHA256 pseudonyms: known vector, stability, key,
 * and the shortest key accepted (issue 14, item 7: the mask keeps 8
 * characters, so a short key makes pseudonyms reversible).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zizhu/config.h"
#include "zizhu/pseudonym.h"

#define K1 "k1-0123456789abcdef0123456789abcdef"
#define K2 "k2-0123456789abcdef0123456789abcdef"

Test(pseudonym, rfc4231_case6_prefix)
{
        /* RFC 4231 test case 6: a 131-byte key of 0xaa, data "Test Using
         * Larger Than Block-Size Key - Hash Key First"; the MAC starts
         * 60e431591ee0b67f0d8a26aacbf5b77f. */
        char out[ZZ_PSEUDONYM_LEN + 1];
        unsigned char key[131];
        const char *data = "Test Using Larger Than Block-Size Key - Hash Key "
                           "First";

        memset(key, 0xaa, sizeof(key));
        cr_assert_eq(zz_pseudonym(key, sizeof(key), data, strlen(data), out),
                     0);
        cr_assert_str_eq(out, "60e431591ee0b67f0d8a26aacbf5b77f");
}

Test(pseudonym, stable_case_insensitive_x_and_keyed)
{
        char a[ZZ_PSEUDONYM_LEN + 1];
        char b[ZZ_PSEUDONYM_LEN + 1];
        char c[ZZ_PSEUDONYM_LEN + 1];

        cr_assert_eq(zz_pseudonym(K1, strlen(K1), "11010519491231002X", 18, a),
                     0);
        cr_assert_eq(zz_pseudonym(K1, strlen(K1), "11010519491231002x", 18, b),
                     0);
        cr_assert_str_eq(a, b);
        cr_assert_eq(zz_pseudonym(K2, strlen(K2), "11010519491231002X", 18, c),
                     0);
        cr_assert_str_neq(a, c);
        cr_assert_null(strstr(a, "1101051949"));
        cr_assert_eq(zz_pseudonym("", 0, "11010519491231002X", 18, c), -1);
}

Test(pseudonym, key_shorter_than_32_bytes_is_refused)
{
        char out[ZZ_PSEUDONYM_LEN + 1];
        const char *key = "0123456789abcdef0123456789abcdef";

        cr_assert_eq(zz_pseudonym(key, 31, "11010519491231002X", 18, out), -1);
        cr_assert_eq(zz_pseudonym(key, 32, "11010519491231002X", 18, out), 0);
        /* The demo's old key, 25 bytes. */
        cr_assert_eq(zz_pseudonym("zizhu-demo-key-not-secret", 25,
                                  "11010519491231002X", 18, out),
                     -1);
}

Test(pseudonym, short_key_in_environment_or_file_is_a_config_error)
{
        char path[] = "/tmp/zz-config-XXXXXX";
        char errstr[256];
        zz_config_t *config;
        int fd;
        FILE *fp;

        unsetenv("ZIZHU_CONFIG");
        setenv("ZIZHU_PSEUDONYM_KEY", "zizhu-demo-key-not-secret", 1);
        cr_assert_null(zz_config_load(NULL, errstr, sizeof(errstr)));
        cr_assert_str_eq(errstr,
                         "pseudonym key is too short: 25 bytes, at least 32 "
                         "are required (pseudonym_key / ZIZHU_PSEUDONYM_KEY)");
        setenv("ZIZHU_PSEUDONYM_KEY", K1, 1);
        config = zz_config_load(NULL, errstr, sizeof(errstr));
        cr_assert_not_null(config, "%s", errstr);
        cr_assert_str_eq(zz_config_pseudonym_key(config), K1);
        cr_assert_eq(zz_config_set(config, "pseudonym_key=short", errstr,
                                   sizeof(errstr)),
                     -1);
        cr_assert_str_eq(zz_config_pseudonym_key(config), K1);
        zz_config_destroy(config);
        unsetenv("ZIZHU_PSEUDONYM_KEY");

        fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        fp = fdopen(fd, "w");
        fprintf(fp, "bootstrap = x\npseudonym_key = short\n");
        fclose(fp);
        cr_assert_null(zz_config_load(path, errstr, sizeof(errstr)));
        cr_assert_not_null(strstr(errstr, ":2: pseudonym key is too short: 5 "
                                          "bytes"),
                           "%s", errstr);
        unlink(path);
}
