/*
 * crypto.c - the small cryptographic helpers every module shares, all on
 * OpenSSL's libcrypto: HMAC-SHA256 (webhook signatures, both ways), hex
 * encoding and decoding, and a comparison in constant time. Nothing here
 * implements a primitive; it only spells the calls once.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core.h"

int
strata_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void
strata_hex_encode(char *out, const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

int
strata_hex_decode(unsigned char *out, size_t outlen, const char *hex,
                  size_t hexlen)
{
    size_t i;

    if (hexlen != 2 * outlen)
        return STRATA_EINVAL;
    for (i = 0; i < outlen; i++) {
        int hi = strata_hex_value((unsigned char) hex[2 * i]);
        int lo = strata_hex_value((unsigned char) hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return STRATA_EINVAL;
        out[i] = (unsigned char) (hi * 16 + lo);
    }
    return 0;
}

int
strata_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

int
strata_secret_equal(const void *a, size_t alen, const char *secret)
{
    unsigned char da[32], db[32];

    /* Digests first: equal lengths, and no early exit on either. */
    if (EVP_Digest(a != NULL ? a : "", alen, da, NULL, EVP_sha256(), NULL) !=
            1 ||
        EVP_Digest(secret != NULL ? secret : "",
                   secret != NULL ? strlen(secret) : 0, db, NULL, EVP_sha256(),
                   NULL) != 1)
        abort(); /* only on a broken libcrypto */
    return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

void
strata_hmac_sha256(unsigned char out[32], const void *key, size_t keylen,
                   const void *data, size_t len)
{
    unsigned int outlen = 0;

    /* HMAC() wants non-NULL pointers even for empty input. */
    if (HMAC(EVP_sha256(), key != NULL ? key : "", (int) keylen,
             (const unsigned char *) (data != NULL ? data : ""), len, out,
             &outlen) == NULL ||
        outlen != 32)
        abort(); /* only on a broken libcrypto */
}

void
strata_hmac_sha256_hex(char out[65], const char *key, const void *data,
                       size_t len)
{
    unsigned char mac[32];

    strata_hmac_sha256(mac, key, key != NULL ? strlen(key) : 0, data, len);
    strata_hex_encode(out, mac, sizeof(mac));
}

int
strata_hmac_sha256_verify(const char *hex, size_t hexlen, const char *key,
                          const void *data, size_t len)
{
    unsigned char want[32], got[32];

    if (strata_hex_decode(got, sizeof(got), hex, hexlen) != 0)
        return 0;
    strata_hmac_sha256(want, key, key != NULL ? strlen(key) : 0, data, len);
    return strata_ct_equal(want, got, sizeof(want));
}
