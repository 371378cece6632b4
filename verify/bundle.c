/*
 * bundle.c - Sigstore bundles, v0.1 to v0.3 (protobuf-specs' JSON form):
 * the media type, the verification material (a public-key hint, an X.509
 * chain or a single certificate; transparency-log entries; RFC 3161
 * timestamps) and the content (a message signature or a DSSE envelope),
 * read into a strata_verify__material and nothing more: verification is
 * material.c's. Every field is checked for shape and bounded in size.
 */
#include <stdlib.h>
#include <string.h>

#include "verify-int.h"

static int
b64_field(strata_verify__blob *out, json_t *v, const char *what,
          strata_error *err)
{
    const char *s = json_string_value(v);

    if (s == NULL)
        return strata_verify__fail(err, "bundle has no %s", what);
    if (strata_verify__b64dec(&out->data, &out->len, s, strlen(s), 0) < 0)
        return strata_verify__fail(err, "bundle's %s is not valid base64",
                                   what);
    return 0;
}

static int
parse_cert(X509 **out, json_t *v, const char *what, strata_error *err)
{
    strata_verify__blob der = {NULL, 0};
    const unsigned char *p;
    int rc;

    rc = b64_field(&der, json_object_get(v, "rawBytes"), what, err);
    if (rc < 0) {
        free(der.data);
        return rc;
    }
    p = der.data;
    *out = d2i_X509(NULL, &p, (long) der.len);
    if (*out == NULL || p != der.data + der.len) {
        X509_free(*out);
        *out = NULL;
        free(der.data);
        ERR_clear_error();
        return strata_verify__fail(err, "bundle's %s is not a DER certificate",
                                   what);
    }
    free(der.data);
    return 0;
}

/*
 * A protobuf int64 field: proto3's JSON leaves out zeros, so an absent
 * one is 0 (an inclusion proof of the first leaf has no logIndex).
 */
static int
opt_int64(int64_t *out, json_t *v)
{
    if (v == NULL) {
        *out = 0;
        return 0;
    }
    return strata_verify__json_int64(out, v);
}

static int
parse_proof(strata_verify__tlog_entry *e, json_t *p, strata_error *err)
{
    json_t *hashes = json_object_get(p, "hashes"), *h;
    strata_verify__blob b = {NULL, 0};
    const char *cp;
    size_t i;

    if (!json_is_object(p))
        return strata_verify__fail(err, "log entry's inclusionProof is not an "
                                        "object");
    if (opt_int64(&e->proof_index, json_object_get(p, "logIndex")) < 0 ||
        opt_int64(&e->tree_size, json_object_get(p, "treeSize")) < 0 ||
        e->proof_index < 0 || e->tree_size <= 0)
        return strata_verify__fail(err, "log entry's inclusionProof has no "
                                        "valid logIndex or treeSize");
    if (b64_field(&b, json_object_get(p, "rootHash"),
                  "inclusion proof root "
                  "hash",
                  err) < 0 ||
        b.len != 32) {
        free(b.data);
        return strata_verify__fail(err, "log entry's inclusion proof has no "
                                        "32-byte root hash");
    }
    memcpy(e->root_hash, b.data, 32);
    free(b.data);
    if (hashes != NULL && !json_is_array(hashes))
        return strata_verify__fail(err, "log entry's inclusion proof hashes "
                                        "are not a list");
    if (json_array_size(hashes) > STRATA_VERIFY__MAX_PROOF)
        return strata_verify__fail(err, "log entry's inclusion proof is too "
                                        "long");
    e->hashes = strata_xcalloc(json_array_size(hashes) + 1, 32);
    json_array_foreach (hashes, i, h) {
        b.data = NULL;
        if (b64_field(&b, h, "inclusion proof hash", err) < 0 || b.len != 32) {
            free(b.data);
            return strata_verify__fail(err, "log entry's inclusion proof has "
                                            "a hash that is not 32 bytes of "
                                            "base64");
        }
        memcpy(e->hashes[i], b.data, 32);
        free(b.data);
        e->nhashes++;
    }
    cp = strata_verify__jstr(json_object_get(p, "checkpoint"), "envelope");
    if (cp != NULL)
        e->checkpoint = strata_xstrdup(cp);
    e->has_proof = 1;
    return 0;
}

static int
parse_entry(strata_verify__tlog_entry *e, json_t *j, strata_error *err)
{
    json_t *kv = json_object_get(j, "kindVersion");
    const char *kind = strata_verify__jstr(kv, "kind");
    const char *version = strata_verify__jstr(kv, "version");
    json_t *it = json_object_get(j, "integratedTime");
    json_t *promise = json_object_get(j, "inclusionPromise");
    json_t *proof = json_object_get(j, "inclusionProof");
    strata_verify__blob b = {NULL, 0};
    int rc;

    if (!json_is_object(j))
        return strata_verify__fail(err, "log entry is not an object");
    if (kind == NULL || version == NULL || strlen(kind) >= sizeof(e->kind) ||
        strlen(version) >= sizeof(e->version))
        return strata_verify__fail(err, "log entry has no valid kindVersion");
    snprintf(e->kind, sizeof(e->kind), "%s", kind);
    snprintf(e->version, sizeof(e->version), "%s", version);
    rc = b64_field(&b, json_object_get(j, "canonicalizedBody"),
                   "log entry body", err);
    e->body = b.data;
    e->body_len = b.len;
    if (rc < 0)
        return rc;
    if (opt_int64(&e->log_index, json_object_get(j, "logIndex")) < 0)
        return strata_verify__fail(err, "log entry has no valid logIndex");
    if (e->log_index < 0)
        return strata_verify__fail(err, "log entry has a negative log index");
    b.data = NULL;
    rc = b64_field(&b, json_object_get(json_object_get(j, "logId"), "keyId"),
                   "log id", err);
    if (rc < 0 || b.len == 0 || b.len > sizeof(e->log_id)) {
        free(b.data);
        return rc < 0 ? rc
                      : strata_verify__fail(err, "log entry's log id "
                                                 "has a bad length");
    }
    memcpy(e->log_id, b.data, b.len);
    e->log_id_len = b.len;
    free(b.data);
    if (it != NULL) {
        if (opt_int64(&e->integrated_time, it) < 0 || e->integrated_time < 0)
            return strata_verify__fail(err, "log entry has an invalid "
                                            "integratedTime");
        e->has_integrated_time = e->integrated_time != 0;
    }
    if (promise != NULL) {
        b.data = NULL;
        rc = b64_field(&b, json_object_get(promise, "signedEntryTimestamp"),
                       "signed entry timestamp", err);
        e->set = b.data;
        e->set_len = b.len;
        if (rc < 0)
            return rc;
    }
    if (proof != NULL)
        return parse_proof(e, proof, err);
    return 0;
}

static const EVP_MD *
hash_md(const char *alg)
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

static int
parse_message(strata_verify__material *m, json_t *ms, strata_error *err)
{
    json_t *md = json_object_get(ms, "messageDigest");
    int rc;

    if (!json_is_object(ms))
        return strata_verify__fail(err, "bundle's messageSignature is not an "
                                        "object");
    rc = b64_field(&m->sig, json_object_get(ms, "signature"), "signature", err);
    if (rc < 0)
        return rc;
    if (m->sig.len == 0)
        return strata_verify__fail(err, "bundle's signature is empty");
    if (md != NULL) {
        strata_verify__blob d = {NULL, 0};
        m->msg_md = hash_md(strata_verify__jstr(md, "algorithm"));
        if (m->msg_md == NULL)
            return strata_verify__fail(err, "bundle's message digest has an "
                                            "unknown algorithm");
        rc =
            b64_field(&d, json_object_get(md, "digest"), "message digest", err);
        if (rc < 0 || d.len != (size_t) EVP_MD_get_size(m->msg_md)) {
            free(d.data);
            return rc < 0 ? rc
                          : strata_verify__fail(err, "bundle's message "
                                                     "digest has a bad "
                                                     "length");
        }
        memcpy(m->msg_digest, d.data, d.len);
        m->msg_digest_len = d.len;
        m->has_msg_digest = 1;
        free(d.data);
    }
    return 0;
}

static int
parse_material(strata_verify__material *m, json_t *vm, strata_error *err)
{
    json_t *pk = json_object_get(vm, "publicKey");
    json_t *chain = json_object_get(vm, "x509CertificateChain");
    json_t *cert = json_object_get(vm, "certificate");
    json_t *entries = json_object_get(vm, "tlogEntries");
    json_t *ts = json_object_get(
        json_object_get(vm, "timestampVerificationData"), "rfc3161Timestamps");
    json_t *v;
    size_t i;
    int rc;

    if (!json_is_object(vm))
        return strata_verify__fail(err, "bundle has no verificationMaterial");
    if ((pk != NULL) + (chain != NULL) + (cert != NULL) != 1)
        return strata_verify__fail(err, "bundle's verification material needs "
                                        "exactly one of publicKey, "
                                        "x509CertificateChain and "
                                        "certificate");
    if (chain != NULL) {
        json_t *certs = json_object_get(chain, "certificates");
        if (m->version >= 3)
            return strata_verify__fail(err, "a v0.3 bundle must carry a "
                                            "single certificate, not a "
                                            "chain");
        if (!json_is_array(certs) || json_array_size(certs) == 0)
            return strata_verify__fail(err, "bundle's certificate chain is "
                                            "empty");
        if (json_array_size(certs) > STRATA_VERIFY__MAX_CERTS)
            return strata_verify__fail(err, "bundle's certificate chain is too "
                                            "long");
        json_array_foreach (certs, i, v) {
            X509 *x = NULL;
            rc = parse_cert(&x, v, "certificate", err);
            if (rc < 0)
                return rc;
            if (i == 0) {
                m->leaf = x;
            } else {
                if (m->chain == NULL)
                    m->chain = sk_X509_new_null();
                sk_X509_push(m->chain, x);
            }
        }
    } else if (cert != NULL) {
        rc = parse_cert(&m->leaf, cert, "certificate", err);
        if (rc < 0)
            return rc;
    } else if (!json_is_object(pk)) {
        return strata_verify__fail(err, "bundle's publicKey is not an object");
    }
    if (entries != NULL) {
        if (!json_is_array(entries))
            return strata_verify__fail(err, "bundle's tlogEntries is not a "
                                            "list");
        if (json_array_size(entries) > STRATA_VERIFY__MAX_TLOG)
            return strata_verify__fail(err, "bundle has too many log entries");
        m->entries =
            strata_xcalloc(json_array_size(entries) + 1, sizeof(*m->entries));
        json_array_foreach (entries, i, v) {
            m->nentries++;
            rc = parse_entry(&m->entries[i], v, err);
            if (rc < 0)
                return rc;
        }
    }
    if (ts != NULL) {
        if (!json_is_array(ts))
            return strata_verify__fail(err, "bundle's rfc3161Timestamps is not "
                                            "a list");
        if (json_array_size(ts) > STRATA_VERIFY__MAX_TIMESTAMPS)
            return strata_verify__fail(err, "bundle has too many timestamps");
        m->timestamps =
            strata_xcalloc(json_array_size(ts) + 1, sizeof(*m->timestamps));
        json_array_foreach (ts, i, v) {
            m->ntimestamps++;
            rc = b64_field(&m->timestamps[i],
                           json_object_get(v, "signedTimestamp"),
                           "RFC 3161 timestamp", err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int
strata_verify__bundle_parse(strata_verify__material *m, const void *data,
                            size_t len, strata_error *err)
{
    json_t *doc = NULL, *ms, *env;
    const char *mt;
    int rc;

    memset(m, 0, sizeof(*m));
    m->what = "bundle";
    rc = strata_verify__json_object(&doc, data, len, "bundle", err);
    if (rc < 0)
        return rc;
    mt = strata_verify__jstr(doc, "mediaType");
    if (mt == NULL) {
        rc = strata_verify__fail(err, "bundle has no mediaType");
        goto out;
    }
    if (strcmp(mt, STRATA_VERIFY_MT_BUNDLE_V01) == 0)
        m->version = 1;
    else if (strcmp(mt, STRATA_VERIFY_MT_BUNDLE_V02) == 0)
        m->version = 2;
    else if (strcmp(mt, STRATA_VERIFY_MT_BUNDLE_V03) == 0 ||
             strcmp(mt, "application/vnd.dev.sigstore.bundle+json;"
                        "version=0.3") == 0)
        m->version = 3;
    else {
        rc = strata_verify__fail(err, "unsupported bundle media type '%.100s'",
                                 mt);
        goto out;
    }
    rc = parse_material(m, json_object_get(doc, "verificationMaterial"), err);
    if (rc < 0)
        goto out;
    ms = json_object_get(doc, "messageSignature");
    env = json_object_get(doc, "dsseEnvelope");
    if ((ms != NULL) == (env != NULL)) {
        rc = strata_verify__fail(err, "bundle needs exactly one of "
                                      "messageSignature and dsseEnvelope");
        goto out;
    }
    if (ms != NULL)
        rc = parse_message(m, ms, err);
    else
        rc = strata_verify__dsse_parse(m, env, "bundle", err);
out:
    json_decref(doc);
    if (rc < 0)
        strata_verify__material_release(m);
    return rc;
}

int
strata_verify_bundle(strata_verify_signer *out, const void *bundle, size_t len,
                     const strata_verify_artifact *artifact,
                     const strata_verify_policy *policy, strata_error *err)
{
    strata_verify__material m;
    int rc;

    if (out != NULL) {
        memset(out, 0, sizeof(*out));
        out->verifier = -1;
        out->log_index = -1;
    }
    if (policy->nkeys == 0 &&
        (policy->trusted_root == NULL || policy->nidentities == 0))
        return strata_error_set(err, STRATA_EINVAL,
                                "nothing to verify with: no key, and no "
                                "trusted root with an identity");
    rc = strata_verify__bundle_parse(&m, bundle, len, err);
    if (rc < 0)
        return rc;
    rc = strata_verify__material_verify(out, &m, artifact, policy, err);
    strata_verify__material_release(&m);
    return rc;
}
