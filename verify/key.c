/*
 * key.c - public keys: loading cosign.pub-style PEM (or DER) files,
 * refusing every kind of key strata does not verify under with the reason,
 * fingerprints for reports, and the one place signatures are checked
 * (EVP_DigestVerify, or EVP_PKEY_verify over a digest).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "verify-int.h"

int
strata_verify__pkey_supported(EVP_PKEY *pkey, char *alg, size_t alglen,
                              char *why, size_t whylen)
{
    char group[64] = "";
    size_t glen = 0;
    int bits;

    if (pkey == NULL) {
        snprintf(why, whylen, "no public key");
        return -1;
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                            group, sizeof(group), &glen))
            snprintf(group, sizeof(group), "an unnamed curve");
        if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
            snprintf(alg, alglen, "ecdsa-p256");
            return 0;
        }
        if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
            snprintf(alg, alglen, "ecdsa-p384");
            return 0;
        }
        snprintf(why, whylen, "ecdsa on curve %s", group);
        return -1;
    }
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        bits = EVP_PKEY_get_bits(pkey);
        if (bits < 2048) {
            snprintf(why, whylen, "rsa of %d bits (at least 2048 needed)",
                     bits);
            return -1;
        }
        if (bits > 16384) {
            snprintf(why, whylen, "rsa of %d bits (at most 16384)", bits);
            return -1;
        }
        snprintf(alg, alglen, "rsa-%d", bits);
        return 0;
    }
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        snprintf(alg, alglen, "ed25519");
        return 0;
    }
    snprintf(why, whylen, "a %s key",
             EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey)
                                           : "unknown");
    return -1;
}

void
strata_verify__pkey_fingerprint(char out[72], EVP_PKEY *pkey)
{
    unsigned char *der = NULL, dgst[32];
    int n = i2d_PUBKEY(pkey, &der);

    memcpy(out, "sha256:", 7);
    if (n <= 0) {
        snprintf(out + 7, 65, "unknown");
        return;
    }
    strata_verify__sha256(dgst, der, (size_t) n);
    strata_verify__hex(out + 7, dgst, 32);
    OPENSSL_free(der);
}

const EVP_MD *
strata_verify__pkey_md(EVP_PKEY *pkey)
{
    char alg[24], why[64];

    if (EVP_PKEY_is_a(pkey, "ED25519"))
        return NULL;
    if (strata_verify__pkey_supported(pkey, alg, sizeof(alg), why,
                                      sizeof(why)) == 0 &&
        strcmp(alg, "ecdsa-p384") == 0)
        return EVP_sha384();
    return EVP_sha256();
}

static int
verify_once(EVP_PKEY *pkey, const EVP_MD *md, int pss, const void *data,
            size_t len, const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = 0;

    if (ctx == NULL)
        return 0;
    if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pkey) != 1)
        goto out;
    if (pss &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) <= 0))
        goto out;
    ok = EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;
out:
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

int
strata_verify__sig_verify(EVP_PKEY *pkey, const EVP_MD *md, const void *data,
                          size_t len, const unsigned char *sig, size_t siglen)
{
    if (pkey == NULL || sig == NULL || siglen == 0 || siglen > 4096)
        return 0;
    if (EVP_PKEY_is_a(pkey, "ED25519"))
        return verify_once(pkey, NULL, 0, data, len, sig, siglen);
    if (md == NULL)
        md = strata_verify__pkey_md(pkey);
    if (verify_once(pkey, md, 0, data, len, sig, siglen))
        return 1;
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return verify_once(pkey, md, 1, data, len, sig, siglen);
    return 0;
}

static int
verify_digest_once(EVP_PKEY *pkey, const EVP_MD *md, int pss,
                   const unsigned char *dgst, size_t dlen,
                   const unsigned char *sig, size_t siglen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    int ok = 0;

    if (ctx == NULL)
        return 0;
    if (EVP_PKEY_verify_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0)
        goto out;
    if (EVP_PKEY_is_a(pkey, "RSA") &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, pss ? RSA_PKCS1_PSS_PADDING
                                              : RSA_PKCS1_PADDING) <= 0)
        goto out;
    if (pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) <= 0)
        goto out;
    ok = EVP_PKEY_verify(ctx, sig, siglen, dgst, dlen) == 1;
out:
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

int
strata_verify__sig_verify_digest(EVP_PKEY *pkey, const EVP_MD *md,
                                 const unsigned char *dgst, size_t dlen,
                                 const unsigned char *sig, size_t siglen)
{
    if (pkey == NULL || sig == NULL || siglen == 0 || siglen > 4096 ||
        EVP_PKEY_is_a(pkey, "ED25519") || md == NULL ||
        (size_t) EVP_MD_get_size(md) != dlen)
        return 0;
    if (verify_digest_once(pkey, md, 0, dgst, dlen, sig, siglen))
        return 1;
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return verify_digest_once(pkey, md, 1, dgst, dlen, sig, siglen);
    return 0;
}

EVP_PKEY *
strata_verify__pkey_from_der(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey;

    if (der == NULL || len == 0 || len > 1u << 16)
        return NULL;
    pkey = d2i_PUBKEY(NULL, &p, (long) len);
    if (pkey != NULL && p != der + len) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    if (pkey == NULL) {
        p = der;
        pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long) len);
        if (pkey != NULL && p != der + len) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
    }
    ERR_clear_error();
    return pkey;
}

EVP_PKEY *
strata_verify__pkey_from_pem(const void *pem, size_t len)
{
    BIO *bio;
    EVP_PKEY *pkey;

    if (len > STRATA_VERIFY__MAX_KEY_FILE)
        return NULL;
    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL)
        return NULL;
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    return pkey;
}

X509 *
strata_verify__cert_from_pem(const void *pem, size_t len)
{
    BIO *bio;
    X509 *cert;

    if (len > STRATA_VERIFY_MAX_INPUT)
        return NULL;
    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL)
        return NULL;
    cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    return cert;
}

STACK_OF(X509) * strata_verify__certs_from_pem(const void *pem, size_t len)
{
    STACK_OF(X509) * certs;
    BIO *bio;
    X509 *cert;

    if (len > STRATA_VERIFY_MAX_INPUT)
        return NULL;
    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL)
        return NULL;
    certs = sk_X509_new_null();
    while (sk_X509_num(certs) <= STRATA_VERIFY__MAX_CERTS &&
           (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        sk_X509_push(certs, cert);
    BIO_free(bio);
    ERR_clear_error();
    if (sk_X509_num(certs) == 0 ||
        sk_X509_num(certs) > STRATA_VERIFY__MAX_CERTS) {
        sk_X509_pop_free(certs, X509_free);
        return NULL;
    }
    return certs;
}

strata_verify_key *
strata_verify__key_new(EVP_PKEY *pkey, const char *name)
{
    strata_verify_key *k = strata_xcalloc(1, sizeof(*k));
    char why[96];

    k->pkey = pkey;
    k->name = strata_xstrdup(name ? name : "key");
    strata_verify__pkey_fingerprint(k->fingerprint, pkey);
    if (strata_verify__pkey_supported(pkey, k->algorithm, sizeof(k->algorithm),
                                      why, sizeof(why)) < 0)
        snprintf(k->algorithm, sizeof(k->algorithm), "unsupported");
    return k;
}

/* Whether a PEM text holds a block labelled with something like label. */
static int
has_pem_label(const char *data, size_t len, const char *label)
{
    size_t n = strlen(label), i;

    for (i = 0; i + n <= len; i++)
        if (memcmp(data + i, label, n) == 0)
            return 1;
    return 0;
}

int
strata_verify_key_parse(strata_verify_key **out, const void *data, size_t len,
                        const char *name, strata_error *err)
{
    EVP_PKEY *pkey = NULL;
    char alg[24], why[96];
    const char *text = data;

    *out = NULL;
    if (name == NULL)
        name = "key";
    if (len > STRATA_VERIFY__MAX_KEY_FILE)
        return strata_error_set(err, STRATA_EINVAL,
                                "key '%s' is too big (%zu bytes)", name, len);
    if (has_pem_label(text, len, "PRIVATE KEY-----"))
        return strata_error_set(err, STRATA_EINVAL,
                                "key '%s' is a private key; verification "
                                "needs the public key (cosign.pub)",
                                name);
    if (has_pem_label(text, len, "-----BEGIN ")) {
        pkey = strata_verify__pkey_from_pem(data, len);
        if (pkey == NULL && has_pem_label(text, len, "RSA PUBLIC KEY-----")) {
            OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(
                &pkey, "PEM", NULL, "RSA", EVP_PKEY_PUBLIC_KEY, NULL, NULL);
            const unsigned char *p = data;
            size_t left = len;
            if (dctx != NULL)
                OSSL_DECODER_from_data(dctx, &p, &left);
            OSSL_DECODER_CTX_free(dctx);
            ERR_clear_error();
        }
        if (pkey == NULL)
            return strata_error_set(err, STRATA_EINVAL,
                                    "key '%s' holds no PEM public key "
                                    "(-----BEGIN PUBLIC KEY-----)",
                                    name);
    } else {
        pkey = strata_verify__pkey_from_der(data, len);
        if (pkey == NULL)
            return strata_error_set(err, STRATA_EINVAL,
                                    "key '%s' is neither a PEM nor a DER "
                                    "public key",
                                    name);
    }
    if (strata_verify__pkey_supported(pkey, alg, sizeof(alg), why,
                                      sizeof(why)) < 0) {
        EVP_PKEY_free(pkey);
        return strata_error_set(err, STRATA_EINVAL,
                                "unsupported key '%s': %s; use ECDSA P-256 "
                                "or P-384, RSA 2048+ or Ed25519",
                                name, why);
    }
    *out = strata_verify__key_new(pkey, name);
    return 0;
}

int
strata_verify_key_load(strata_verify_key **out, const char *path,
                       strata_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = strata_read_file(&data, &len, path, STRATA_VERIFY__MAX_KEY_FILE, err);
    if (rc < 0) {
        if (rc == STRATA_ETOOBIG)
            return strata_error_set(err, STRATA_EINVAL,
                                    "key '%s' is too big (over %u bytes)", path,
                                    STRATA_VERIFY__MAX_KEY_FILE);
        return rc;
    }
    rc = strata_verify_key_parse(out, data, len, path, err);
    free(data);
    return rc;
}

int
strata_verify_key_check_file(const char *path, strata_error *err)
{
    strata_verify_key *key = NULL;
    int rc = strata_verify_key_load(&key, path, err);

    strata_verify_key_free(key);
    return rc;
}

void
strata_verify_key_free(strata_verify_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key->name);
    free(key);
}

const char *
strata_verify_key_fingerprint(const strata_verify_key *key)
{
    return key->fingerprint;
}

const char *
strata_verify_key_algorithm(const strata_verify_key *key)
{
    return key->algorithm;
}

const char *
strata_verify_key_name(const strata_verify_key *key)
{
    return key->name;
}
