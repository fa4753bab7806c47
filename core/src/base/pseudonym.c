/*
 * pseudonym.c — HMAC-SHA256 pseudonyms through OpenSSL's libcrypto.
 */
#include "zizhu/pseudonym.h"

#include <limits.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int zz_pseudonym(const void *key, size_t key_len, const char *id, size_t id_len,
                 char out[ZZ_PSEUDONYM_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char norm[64];
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        size_t i;

        if (key == NULL || key_len < ZZ_PSEUDONYM_KEY_MIN ||
            id_len > sizeof(norm) || key_len > (size_t)INT_MAX)
                return -1;
        for (i = 0; i < id_len; i++)
                norm[i] = id[i] == 'x' ? 'X' : (unsigned char)id[i];
        if (HMAC(EVP_sha256(), key, (int)key_len, norm, id_len, mac,
                 &mac_len) == NULL ||
            mac_len * 2 < ZZ_PSEUDONYM_LEN)
                return -1;
        for (i = 0; i < ZZ_PSEUDONYM_LEN / 2; i++) {
                out[2 * i] = hex[mac[i] >> 4];
                out[2 * i + 1] = hex[mac[i] & 0x0f];
        }
        out[ZZ_PSEUDONYM_LEN] = '\0';
        return 0;
}
