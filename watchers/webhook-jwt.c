/*
 * webhook-jwt.c - the OIDC token Google signs for a Pub/Sub push
 * subscription (Artifact Registry notifications): an RS256 JWT verified
 * with OpenSSL against a configured key file (a JWKS such as Google's
 * oauth2/v3/certs, the {kid: certificate} map of oauth2/v1/certs, or PEM
 * public keys or certificates), then its claims: issuer, audience,
 * expiry, and the service account when one is configured. Keys are never
 * fetched here; the operator refreshes the file. No message contains the
 * token.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "watchers-int.h"

/* Bounds: a Google ID token is about 1 KiB, a JWKS a few. */
#define JWT_MAX 8192
#define KEYS_MAX (256 * 1024)
/* Clock skew allowed on exp and iat, in seconds. */
#define LEEWAY 60

int
strata_watchers__base64_decode(unsigned char **out, size_t *out_len,
                               const char *in, size_t len, int url)
{
    char *tmp;
    unsigned char *buf;
    size_t i, n, pad = 0;
    int got;

    *out = NULL;
    *out_len = 0;
    if (len > 4 * (size_t) (STRATA_WATCHERS_WEBHOOK_MAX_BODY / 3 + 4))
        return -1;
    /* Trailing '=' are optional here; put them back for OpenSSL. */
    while (len > 0 && in[len - 1] == '=') {
        len--;
        pad++;
    }
    if (pad > 2 || len % 4 == 1)
        return -1;
    n = (len + 3) / 4 * 4;
    tmp = strata_xmalloc(n + 1);
    for (i = 0; i < len; i++) {
        char c = in[i];

        if (url && (c == '+' || c == '/'))
            goto bad;
        if (url && c == '-')
            c = '+';
        else if (url && c == '_')
            c = '/';
        else if (!url && (c == '-' || c == '_'))
            goto bad;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/'))
            goto bad;
        tmp[i] = c;
    }
    pad = n - len;
    for (; i < n; i++)
        tmp[i] = '=';
    tmp[n] = '\0';
    buf = strata_xmalloc(n / 4 * 3 + 1);
    got =
        n > 0 ? EVP_DecodeBlock(buf, (const unsigned char *) tmp, (int) n) : 0;
    free(tmp);
    if (got < 0 || (size_t) got < pad) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = (size_t) got - pad;
    return 0;
bad:
    free(tmp);
    return -1;
}

/* One base64url segment of the token as JSON (new reference) or NULL. */
static json_t *
segment_json(const char *s, size_t len)
{
    unsigned char *raw = NULL;
    size_t n = 0;
    json_t *v = NULL;

    if (strata_watchers__base64_decode(&raw, &n, s, len, 1) == 0)
        v = json_loadb((const char *) raw, n, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* ---- keys --------------------------------------------------------------- */

static EVP_PKEY *
rsa_from_jwk(json_t *jwk)
{
    const char *n64 = json_string_value(json_object_get(jwk, "n"));
    const char *e64 = json_string_value(json_object_get(jwk, "e"));
    unsigned char *n = NULL, *e = NULL;
    size_t nl = 0, el = 0;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    if (n64 == NULL || e64 == NULL ||
        strata_watchers__base64_decode(&n, &nl, n64, strlen(n64), 1) != 0 ||
        strata_watchers__base64_decode(&e, &el, e64, strlen(e64), 1) != 0 ||
        nl == 0 || el == 0 || nl > 1024 || el > 16)
        goto out;
    bn = BN_bin2bn(n, (int) nl, NULL);
    be = BN_bin2bn(e, (int) el, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (bn == NULL || be == NULL || bld == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto out;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return pkey;
}

/* The first public key or certificate of a PEM text, or NULL. */
static EVP_PKEY *
pem_key(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int) len);
    EVP_PKEY *pkey = NULL;
    X509 *cert = NULL;

    if (bio == NULL)
        return NULL;
    if (strstr(pem, "-----BEGIN CERTIFICATE-----") != NULL) {
        cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (cert != NULL)
            pkey = X509_get_pubkey(cert);
        X509_free(cert);
    } else {
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    }
    BIO_free(bio);
    return pkey;
}

/*
 * The key for kid (NULL: the token names none) from the key file. A JWKS
 * or certificate map with several keys needs the token's kid.
 */
static int
load_key(EVP_PKEY **out, const char *path, const char *kid, strata_error *err)
{
    char *text = NULL;
    size_t len = 0, i;
    json_t *doc = NULL, *keys, *jwk;
    int rc;

    *out = NULL;
    rc = strata_read_file(&text, &len, path, KEYS_MAX, err);
    if (rc < 0)
        return rc;
    if (len == 0 || text[strspn(text, " \t\r\n")] != '{') {
        *out = pem_key(text, len);
        rc = *out ? 0
                  : strata_error_set(err, STRATA_EINVAL,
                                     "webhook key file '%s' holds no PEM "
                                     "public key, certificate or JWKS",
                                     path);
        goto out;
    }
    doc = json_loadb(text, len, 0, NULL);
    if (doc == NULL || !json_is_object(doc)) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "webhook key file '%s' is not JSON", path);
        goto out;
    }
    keys = json_object_get(doc, "keys");
    if (json_is_array(keys)) {
        if (kid == NULL && json_array_size(keys) != 1) {
            rc = strata_error_set(err, STRATA_EAUTH,
                                  "webhook token names no key ('kid') and "
                                  "'%s' holds several",
                                  path);
            goto out;
        }
        json_array_foreach (keys, i, jwk) {
            const char *k = json_string_value(json_object_get(jwk, "kid"));
            const char *kty = json_string_value(json_object_get(jwk, "kty"));

            if (kid != NULL && (k == NULL || strcmp(k, kid) != 0))
                continue;
            if (kty == NULL || strcmp(kty, "RSA") != 0)
                continue;
            *out = rsa_from_jwk(jwk);
            break;
        }
    } else if (kid != NULL) {
        /* oauth2/v1/certs: {"kid": "-----BEGIN CERTIFICATE-----..."}. */
        const char *pem = json_string_value(json_object_get(doc, kid));

        if (pem != NULL)
            *out = pem_key(pem, strlen(pem));
    }
    if (*out == NULL)
        rc = strata_error_set(err, STRATA_EAUTH,
                              "webhook token is signed by a key that is not "
                              "in '%s' (refresh it from Google's certs)",
                              path);
out:
    json_decref(doc);
    free(text);
    ERR_clear_error();
    return rc;
}

/* ---- claims ------------------------------------------------------------- */

static int
check_claims(json_t *claims, const strata_watchers_webhook_config *cfg,
             strata_error *err)
{
    json_t *aud = json_object_get(claims, "aud");
    json_t *exp = json_object_get(claims, "exp");
    json_t *iat = json_object_get(claims, "iat");
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    int64_t now = cfg->now ? cfg->now : (int64_t) time(NULL);
    int aud_ok = 0;
    size_t i;
    json_t *a;

    if (iss == NULL || (strcmp(iss, "https://accounts.google.com") != 0 &&
                        strcmp(iss, "accounts.google.com") != 0))
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook token is not issued by "
                                "accounts.google.com");
    if (json_is_string(aud)) {
        aud_ok = strcmp(json_string_value(aud), cfg->audience) == 0;
    } else if (json_is_array(aud)) {
        json_array_foreach (aud, i, a) {
            if (json_is_string(a) &&
                strcmp(json_string_value(a), cfg->audience) == 0)
                aud_ok = 1;
        }
    }
    if (!aud_ok)
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook token is for another audience "
                                "(expected '%s')",
                                cfg->audience);
    if (!json_is_integer(exp) && !json_is_real(exp))
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook token has no expiry ('exp')");
    if (json_number_value(exp) + LEEWAY < (double) now)
        return strata_error_set(err, STRATA_EAUTH, "webhook token expired");
    if (iat != NULL && (!json_is_number(iat) ||
                        json_number_value(iat) - LEEWAY > (double) now))
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook token is issued in the future");
    if (cfg->service_account != NULL) {
        const char *email = json_string_value(json_object_get(claims, "email"));

        if (email == NULL || strcmp(email, cfg->service_account) != 0 ||
            !json_is_true(json_object_get(claims, "email_verified")))
            return strata_error_set(err, STRATA_EAUTH,
                                    "webhook token is not for service "
                                    "account '%s'",
                                    cfg->service_account);
    }
    return 0;
}

int
strata_watchers__jwt_verify(const strata_watchers_webhook_config *cfg,
                            const char *jwt, strata_error *err)
{
    const char *dot1, *dot2;
    size_t len = strlen(jwt);
    json_t *header = NULL, *claims = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md = NULL;
    const char *alg, *kid;
    int rc = 0;

    if (cfg->keys == NULL || cfg->audience == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "webhook has no 'keys' and 'audience' to "
                                "verify a token with");
    if (len > JWT_MAX)
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook token is longer than %d bytes",
                                JWT_MAX);
    dot1 = strchr(jwt, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL ||
        dot1 == jwt || dot2 == dot1 + 1 || dot2[1] == '\0')
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook bearer token is not a JWT");
    header = segment_json(jwt, (size_t) (dot1 - jwt));
    claims = segment_json(dot1 + 1, (size_t) (dot2 - dot1 - 1));
    if (header == NULL || claims == NULL ||
        strata_watchers__base64_decode(&sig, &siglen, dot2 + 1,
                                       strlen(dot2 + 1), 1) != 0) {
        rc = strata_error_set(err, STRATA_EAUTH,
                              "webhook bearer token is not a JWT");
        goto out;
    }
    alg = json_string_value(json_object_get(header, "alg"));
    if (alg == NULL || strcmp(alg, "RS256") != 0) {
        rc = strata_error_set(err, STRATA_EAUTH,
                              "webhook token is not signed with RS256");
        goto out;
    }
    kid = json_string_value(json_object_get(header, "kid"));
    if ((rc = load_key(&pkey, cfg->keys, kid, err)) < 0)
        goto out;
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA ||
        EVP_PKEY_get_bits(pkey) < 2048) {
        rc = strata_error_set(err, STRATA_EAUTH,
                              "webhook key in '%s' is not an RSA key of at "
                              "least 2048 bits",
                              cfg->keys);
        goto out;
    }
    md = EVP_MD_CTX_new();
    if (md == NULL ||
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
        EVP_DigestVerify(md, sig, siglen, (const unsigned char *) jwt,
                         (size_t) (dot2 - jwt)) != 1) {
        rc = strata_error_set(err, STRATA_EAUTH,
                              "webhook token signature does not verify");
        goto out;
    }
    rc = check_claims(claims, cfg, err);
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    json_decref(header);
    json_decref(claims);
    free(sig);
    return rc;
}
