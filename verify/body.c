/*
 * body.c - a log entry must be about this very signature: its body
 * (hashedrekord 0.0.1 and 0.0.2, dsse 0.0.1 and 0.0.2, intoto 0.0.2) has
 * to record the artifact's digest (or the DSSE payload's, or the PAE's),
 * the signature bytes, and the certificate or key that made them.
 * Without this check a valid entry of some other signature could be
 * stapled to a forged one (CVE-2022-36056).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "verify-int.h"

/* Whether the PEM (a certificate or a public key) is the signing key. */
static int
pem_is_signer(const unsigned char *pem, size_t len,
              const strata_verify__signing *s)
{
    X509 *cert;
    EVP_PKEY *pkey;
    int ok = 0;

    if (s->leaf != NULL) {
        cert = strata_verify__cert_from_pem(pem, len);
        ok = cert != NULL && X509_cmp(cert, s->leaf) == 0;
        X509_free(cert);
        return ok;
    }
    pkey = strata_verify__pkey_from_pem(pem, len);
    ok = pkey != NULL && EVP_PKEY_eq(pkey, s->pkey) == 1;
    EVP_PKEY_free(pkey);
    return ok;
}

/* The same for a base64-encoded PEM (as Rekor v1 bodies carry them). */
static int
b64pem_is_signer(const char *b64, const strata_verify__signing *s)
{
    unsigned char *pem = NULL;
    size_t len;
    int ok;

    if (strata_verify__b64dec_str(&pem, &len, b64) < 0) {
        free(pem);
        return 0;
    }
    ok = pem_is_signer(pem, len, s);
    free(pem);
    return ok;
}

/* Rekor v2's verifier: {x509Certificate:{rawBytes}} or {publicKey:…}. */
static int
v2_verifier_is_signer(json_t *verifier, const strata_verify__signing *s)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t len;
    int ok = 0;
    json_t *x = json_object_get(verifier, "x509Certificate");
    json_t *k = json_object_get(verifier, "publicKey");

    if (s->leaf != NULL && x != NULL) {
        if (strata_verify__b64dec_str(
                &der, &len, strata_verify__jstr(x, "rawBytes")) == 0) {
            X509 *cert;
            p = der;
            cert = d2i_X509(NULL, &p, (long) len);
            ok = cert != NULL && p == der + len && X509_cmp(cert, s->leaf) == 0;
            X509_free(cert);
        }
    } else if (s->leaf == NULL && k != NULL) {
        if (strata_verify__b64dec_str(
                &der, &len, strata_verify__jstr(k, "rawBytes")) == 0) {
            EVP_PKEY *pkey = strata_verify__pkey_from_der(der, len);
            ok = pkey != NULL && EVP_PKEY_eq(pkey, s->pkey) == 1;
            EVP_PKEY_free(pkey);
        }
    }
    free(der);
    ERR_clear_error();
    return ok;
}

static int
b64_equals(const char *b64, const unsigned char *bytes, size_t len)
{
    unsigned char *dec = NULL;
    size_t n;
    int ok;

    if (strata_verify__b64dec_str(&dec, &n, b64) < 0) {
        free(dec);
        return 0;
    }
    ok = n == len && CRYPTO_memcmp(dec, bytes, len) == 0;
    free(dec);
    return ok;
}

/* Rekor v1 hash objects: {"algorithm":"sha256","value":"<hex>"}. */
static int
hex_hash_equals(json_t *h, const unsigned char *sha256)
{
    const char *alg = strata_verify__jstr(h, "algorithm");
    unsigned char v[32];

    return alg != NULL && strcmp(alg, "sha256") == 0 &&
           strata_verify__unhex(v, 32, strata_verify__jstr(h, "value")) == 0 &&
           CRYPTO_memcmp(v, sha256, 32) == 0;
}

static const EVP_MD *
v2_md(const char *alg)
{
    if (alg == NULL)
        return NULL;
    if (strcmp(alg, "SHA2_256") == 0)
        return EVP_sha256();
    if (strcmp(alg, "SHA2_384") == 0)
        return EVP_sha384();
    if (strcmp(alg, "SHA2_512") == 0)
        return EVP_sha512();
    return NULL;
}

/*
 * The digest a hashedrekord entry must record: of the artifact for a
 * message signature, of the PAE for DSSE (Rekor v2 logs DSSE that way).
 */
static int
expected_digest(unsigned char *out, size_t *outlen, const EVP_MD *md,
                const strata_verify__material *m,
                const strata_verify_artifact *a, const unsigned char sha[32])
{
    if (m->is_dsse) {
        unsigned char *pae;
        size_t plen;
        strata_verify_dsse_pae(&pae, &plen, m->payload_type, m->payload.data,
                               m->payload.len);
        *outlen = strata_verify__digest(out, md, pae, plen);
        free(pae);
        return *outlen > 0 ? 0 : -1;
    }
    if (a->data != NULL) {
        *outlen = strata_verify__digest(out, md, a->data, a->len);
        return *outlen > 0 ? 0 : -1;
    }
    if (md != EVP_sha256())
        return -1;
    memcpy(out, sha, 32);
    *outlen = 32;
    return 0;
}

static int
hashedrekord_v1(json_t *spec, const strata_verify__material *m,
                const strata_verify__signing *s, const unsigned char sha[32],
                strata_error *err)
{
    json_t *sig = json_object_get(spec, "signature");

    if (m->is_dsse)
        return strata_verify__fail(err, "log entry is a hashedrekord, but "
                                        "the signature is a DSSE envelope");
    if (!hex_hash_equals(json_object_get(json_object_get(spec, "data"), "hash"),
                         sha))
        return strata_verify__fail(err, "log entry records another artifact "
                                        "digest");
    if (!b64_equals(strata_verify__jstr(sig, "content"), m->sig.data,
                    m->sig.len))
        return strata_verify__fail(err, "log entry records another "
                                        "signature");
    if (!b64pem_is_signer(
            strata_verify__jstr(json_object_get(sig, "publicKey"), "content"),
            s))
        return strata_verify__fail(err, "log entry records another %s",
                                   s->leaf ? "certificate" : "public key");
    return 0;
}

static int
hashedrekord_v2(json_t *spec, const strata_verify__material *m,
                const strata_verify__signing *s,
                const strata_verify_artifact *a, const unsigned char sha[32],
                strata_error *err)
{
    json_t *h = json_object_get(spec, "hashedRekordV002");
    json_t *data = json_object_get(h, "data");
    json_t *sig = json_object_get(h, "signature");
    const EVP_MD *md = v2_md(strata_verify__jstr(data, "algorithm"));
    const strata_verify__blob *signature;
    unsigned char want[EVP_MAX_MD_SIZE];
    size_t wantlen;

    if (md == NULL)
        return strata_verify__fail(err, "log entry has an unknown digest "
                                        "algorithm");
    if (expected_digest(want, &wantlen, md, m, a, sha) < 0 ||
        !b64_equals(strata_verify__jstr(data, "digest"), want, wantlen))
        return strata_verify__fail(err, "log entry records another %s digest",
                                   m->is_dsse ? "envelope" : "artifact");
    if (m->is_dsse && m->ndsse_sigs != 1)
        return strata_verify__fail(err, "a DSSE envelope logged as a "
                                        "hashedrekord must have exactly one "
                                        "signature");
    signature = m->is_dsse ? &m->dsse_sigs[0] : &m->sig;
    if (!b64_equals(strata_verify__jstr(sig, "content"), signature->data,
                    signature->len))
        return strata_verify__fail(err, "log entry records another "
                                        "signature");
    if (!v2_verifier_is_signer(json_object_get(sig, "verifier"), s))
        return strata_verify__fail(err, "log entry records another %s",
                                   s->leaf ? "certificate" : "public key");
    return 0;
}

/* Every envelope signature is in the entry's list and vice versa. */
typedef int (*sig_matcher)(json_t *entry_sig, const strata_verify__blob *sig,
                           const strata_verify__signing *s);

static int
same_signatures(json_t *list, const strata_verify__material *m,
                const strata_verify__signing *s, sig_matcher match)
{
    size_t i, j;
    json_t *v;

    if (!json_is_array(list) || json_array_size(list) != m->ndsse_sigs)
        return 0;
    for (i = 0; i < m->ndsse_sigs; i++) {
        int found = 0;
        json_array_foreach (list, j, v) {
            if (match(v, &m->dsse_sigs[i], s)) {
                found = 1;
                break;
            }
        }
        if (!found)
            return 0;
    }
    return 1;
}

static int
dsse_v1_sig(json_t *v, const strata_verify__blob *sig,
            const strata_verify__signing *s)
{
    return b64_equals(strata_verify__jstr(v, "signature"), sig->data,
                      sig->len) &&
           b64pem_is_signer(strata_verify__jstr(v, "verifier"), s);
}

static int
dsse_v2_sig(json_t *v, const strata_verify__blob *sig,
            const strata_verify__signing *s)
{
    return b64_equals(strata_verify__jstr(v, "content"), sig->data, sig->len) &&
           v2_verifier_is_signer(json_object_get(v, "verifier"), s);
}

/* intoto 0.0.2 stores base64(base64(sig)) and base64(PEM). */
static int
intoto_sig(json_t *v, const strata_verify__blob *sig,
           const strata_verify__signing *s)
{
    unsigned char *inner = NULL;
    size_t n;
    int ok;

    if (strata_verify__b64dec_str(&inner, &n, strata_verify__jstr(v, "sig")) <
        0) {
        free(inner);
        return 0;
    }
    {
        char *b64 = strata_xstrndup((const char *) inner, n);
        ok = b64_equals(b64, sig->data, sig->len);
        free(b64);
    }
    free(inner);
    return ok && b64pem_is_signer(strata_verify__jstr(v, "publicKey"), s);
}

/*
 * A dsse entry that records what was proposed (the whole envelope, as
 * JSON text, and the verifiers) instead of Rekor's canonical hashes, as
 * sigstore-js's mock Rekor does: the envelope must be this one exactly.
 */
static int
dsse_proposed(json_t *pc, const strata_verify__material *m,
              const strata_verify__signing *s, strata_error *err)
{
    const char *text = strata_verify__jstr(pc, "envelope");
    json_t *verifiers = json_object_get(pc, "verifiers"), *v;
    strata_verify__material logged;
    json_t *env = NULL;
    size_t i, j;
    int rc, found;

    memset(&logged, 0, sizeof(logged));
    if (text == NULL)
        return strata_verify__fail(err, "log entry has no envelope");
    rc = strata_verify__json_object(&env, text, strlen(text),
                                    "log entry envelope", err);
    if (rc == 0)
        rc = strata_verify__dsse_parse(&logged, env, "log entry", err);
    if (rc == 0 &&
        (strcmp(logged.payload_type, m->payload_type) != 0 ||
         logged.payload.len != m->payload.len ||
         memcmp(logged.payload.data, m->payload.data, m->payload.len) != 0))
        rc = strata_verify__fail(err, "log entry records another envelope "
                                      "payload");
    if (rc == 0 && logged.ndsse_sigs != m->ndsse_sigs)
        rc = strata_verify__fail(err, "log entry records other envelope "
                                      "signatures");
    for (i = 0; rc == 0 && i < m->ndsse_sigs; i++) {
        for (found = 0, j = 0; j < logged.ndsse_sigs && !found; j++)
            found = logged.dsse_sigs[j].len == m->dsse_sigs[i].len &&
                    memcmp(logged.dsse_sigs[j].data, m->dsse_sigs[i].data,
                           m->dsse_sigs[i].len) == 0;
        if (!found)
            rc = strata_verify__fail(err, "log entry records other envelope "
                                          "signatures");
    }
    if (rc == 0) {
        found = 0;
        json_array_foreach (verifiers, i, v) {
            if (b64pem_is_signer(json_string_value(v), s)) {
                found = 1;
                break;
            }
        }
        if (!found)
            rc = strata_verify__fail(err, "log entry records another %s",
                                     s->leaf ? "certificate" : "public key");
    }
    strata_verify__material_release(&logged);
    json_decref(env);
    return rc;
}

static int
dsse_entry(json_t *spec, const char *version, const strata_verify__material *m,
           const strata_verify__signing *s, strata_error *err)
{
    unsigned char sha[32];

    if (!m->is_dsse)
        return strata_verify__fail(err, "log entry is a dsse entry, but the "
                                        "signature is not a DSSE envelope");
    strata_verify__sha256(sha, m->payload.data, m->payload.len);
    if (strcmp(version, "0.0.1") == 0 &&
        json_object_get(spec, "proposedContent") != NULL)
        return dsse_proposed(json_object_get(spec, "proposedContent"), m, s,
                             err);
    if (strcmp(version, "0.0.1") == 0) {
        if (!hex_hash_equals(json_object_get(spec, "payloadHash"), sha))
            return strata_verify__fail(err, "log entry records another "
                                            "envelope payload");
        if (!same_signatures(json_object_get(spec, "signatures"), m, s,
                             dsse_v1_sig))
            return strata_verify__fail(err, "log entry records other "
                                            "envelope signatures");
        return 0;
    }
    /* 0.0.2 */
    {
        json_t *d = json_object_get(spec, "dsseV002");
        json_t *ph = json_object_get(d, "payloadHash");
        if (v2_md(strata_verify__jstr(ph, "algorithm")) != EVP_sha256() ||
            !b64_equals(strata_verify__jstr(ph, "digest"), sha, 32))
            return strata_verify__fail(err, "log entry records another "
                                            "envelope payload");
        if (!same_signatures(json_object_get(d, "signatures"), m, s,
                             dsse_v2_sig))
            return strata_verify__fail(err, "log entry records other "
                                            "envelope signatures");
    }
    return 0;
}

static int
intoto_entry(json_t *spec, const strata_verify__material *m,
             const strata_verify__signing *s, strata_error *err)
{
    json_t *content = json_object_get(spec, "content");
    json_t *env = json_object_get(content, "envelope");
    const char *pt = strata_verify__jstr(env, "payloadType");
    unsigned char sha[32];

    if (!m->is_dsse)
        return strata_verify__fail(err, "log entry is an intoto entry, but "
                                        "the signature is not a DSSE "
                                        "envelope");
    strata_verify__sha256(sha, m->payload.data, m->payload.len);
    if (!hex_hash_equals(json_object_get(content, "payloadHash"), sha))
        return strata_verify__fail(err, "log entry records another envelope "
                                        "payload");
    if (pt == NULL || strcmp(pt, m->payload_type) != 0)
        return strata_verify__fail(err, "log entry records another payload "
                                        "type");
    if (!same_signatures(json_object_get(env, "signatures"), m, s, intoto_sig))
        return strata_verify__fail(err, "log entry records other envelope "
                                        "signatures");
    return 0;
}

int
strata_verify__body_matches(const strata_verify__tlog_entry *e,
                            const strata_verify__material *m,
                            const strata_verify__signing *s,
                            const strata_verify_artifact *artifact,
                            const unsigned char artifact_sha256[32],
                            strata_error *err)
{
    json_t *body = NULL, *spec;
    const char *kind, *version;
    int rc;

    rc = strata_verify__json_object(&body, e->body, e->body_len,
                                    "log entry body", err);
    if (rc < 0)
        return rc;
    kind = strata_verify__jstr(body, "kind");
    version = strata_verify__jstr(body, "apiVersion");
    spec = json_object_get(body, "spec");
    if (kind == NULL || version == NULL || !json_is_object(spec)) {
        rc = strata_verify__fail(err, "log entry body has no kind, "
                                      "apiVersion or spec");
        goto out;
    }
    if (strcmp(kind, e->kind) != 0 || strcmp(version, e->version) != 0) {
        rc = strata_verify__fail(err,
                                 "log entry body is a %s %s, but the entry "
                                 "says %s %s",
                                 kind, version, e->kind, e->version);
        goto out;
    }
    if (strcmp(kind, "hashedrekord") == 0 && strcmp(version, "0.0.1") == 0)
        rc = hashedrekord_v1(spec, m, s, artifact_sha256, err);
    else if (strcmp(kind, "hashedrekord") == 0 && strcmp(version, "0.0.2") == 0)
        rc = hashedrekord_v2(spec, m, s, artifact, artifact_sha256, err);
    else if (strcmp(kind, "dsse") == 0 &&
             (strcmp(version, "0.0.1") == 0 || strcmp(version, "0.0.2") == 0))
        rc = dsse_entry(spec, version, m, s, err);
    else if (strcmp(kind, "intoto") == 0 && strcmp(version, "0.0.2") == 0)
        rc = intoto_entry(spec, m, s, err);
    else
        rc = strata_verify__fail(err, "log entry kind %s %s is not supported",
                                 kind, version);
out:
    json_decref(body);
    return rc;
}
