/*
 * pseudonym.h — keyed pseudonyms for ID numbers on dashboard outputs.
 *
 * A pseudonym is HMAC-SHA256(key, normalized ID number), hex-encoded and cut
 * to 32 characters (128 bits): stable for one key, so dashboards can count
 * and join persons, and useless without the key, which only the workers
 * hold (DOMAIN.md promise 7).
 */
#ifndef ZIZHU_PSEUDONYM_H
#define ZIZHU_PSEUDONYM_H

#include <stddef.h>

#define ZZ_PSEUDONYM_LEN 32

/* The shortest key accepted, in bytes. The masked ID number shown beside a
 * pseudonym keeps 8 characters, so a short or guessable key would let
 * anyone holding a pseudonym try the remaining 10 and reverse it. */
#define ZZ_PSEUDONYM_KEY_MIN 32

/* Writes the pseudonym of id[0..id_len) and a NUL into out (33 bytes). A
 * lower-case x in the number is upper-cased first, so both spellings give
 * one pseudonym. Returns 0, or -1 when the key is shorter than
 * ZZ_PSEUDONYM_KEY_MIN bytes or HMAC fails. */
int zz_pseudonym(const void *key, size_t key_len, const char *id, size_t id_len,
                 char out[ZZ_PSEUDONYM_LEN + 1]);

#endif
