/*
 * cosign.c - cosign's own layout: a `sha256-<hex>.sig` manifest whose
 * layers are simple-signing payloads, each with its signature and, when
 * keyless, its certificate, chain and Rekor bundle in annotations; and a
 * `.att` manifest whose layers are DSSE envelopes of in-toto statements
 * with the same annotations.
 *
 * The annotations become a strata_verify__material (the Rekor bundle
 * annotation is one log entry with a signed entry timestamp and no
 * inclusion proof, as in a v0.1 bundle), verified by material.c over the
 * payload bytes. Then the payload itself must name exactly the digest
 * being verified and the repository it was found in (or a mirror).
 */
#include <stdlib.h>
#include <string.h>

#include "oci.h"
#include "verify-int.h"

#define SIMPLE_SIGNING_TYPE "cosign container image signature"

void
strata_verify_payload_release(strata_verify_payload *p)
{
    if (p == NULL)
        return;
    free(p->docker_reference);
    free(p->manifest_digest);
    json_decref(p->optional);
    memset(p, 0, sizeof(*p));
}

int
strata_verify_payload_parse(strata_verify_payload *out, const void *data,
                            size_t len, strata_error *err)
{
    json_t *doc = NULL, *crit, *opt;
    const char *type, *ref, *digest;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = strata_verify__json_object(&doc, data, len, "signature payload", err);
    if (rc < 0)
        return rc;
    crit = json_object_get(doc, "critical");
    type = strata_verify__jstr(crit, "type");
    ref = strata_verify__jstr(json_object_get(crit, "identity"),
                              "docker-reference");
    digest = strata_verify__jstr(json_object_get(crit, "image"),
                                 "docker-manifest-digest");
    opt = json_object_get(doc, "optional");
    if (!json_is_object(crit)) {
        rc = strata_verify__fail(err, "signature payload has no critical "
                                      "section");
    } else if (type == NULL || strcmp(type, SIMPLE_SIGNING_TYPE) != 0) {
        rc = strata_verify__fail(err, "signature payload type is not '%s'",
                                 SIMPLE_SIGNING_TYPE);
    } else if (digest == NULL || strata_digest_validate(digest, NULL) < 0) {
        rc = strata_verify__fail(err, "signature payload has no valid "
                                      "docker-manifest-digest");
    } else if (ref == NULL || strlen(ref) > 1024) {
        rc = strata_verify__fail(err, "signature payload has no "
                                      "docker-reference");
    } else if (opt != NULL && !json_is_null(opt) && !json_is_object(opt)) {
        rc = strata_verify__fail(err, "signature payload's optional section "
                                      "is not an object");
    } else {
        out->docker_reference = strata_xstrdup(ref);
        out->manifest_digest = strata_xstrdup(digest);
        if (json_is_object(opt))
            out->optional = json_incref(opt);
    }
    json_decref(doc);
    return rc;
}

/* The repository name of a reference, normalised ("docker.io/library/x"). */
static char *
repo_name(const char *s)
{
    strata_ref *ref = NULL;
    char *name;

    if (s == NULL || strata_ref_parse(&ref, s, NULL) < 0)
        return NULL;
    name = strata_xstrdup(strata_ref_name(ref));
    strata_ref_free(ref);
    return name;
}

static int
reference_allowed(const char *docker_reference, const char *repository,
                  const strata_verify_policy *policy)
{
    char *got = repo_name(docker_reference), *want;
    size_t i;
    int ok = 0;

    if (got == NULL)
        return 0;
    want = repo_name(repository);
    ok = want != NULL && strcmp(got, want) == 0;
    free(want);
    for (i = 0; !ok && i < policy->nmirrors; i++) {
        want = repo_name(policy->mirrors[i]);
        ok = want != NULL && strcmp(got, want) == 0;
        free(want);
    }
    free(got);
    return ok;
}

static int
ann_b64(strata_verify__blob *out, json_t *ann, const char *key,
        strata_error *err)
{
    const char *s = strata_verify__jstr(ann, key);

    if (s == NULL)
        return 0;
    if (strlen(s) > STRATA_VERIFY_MAX_INPUT ||
        strata_verify__b64dec(&out->data, &out->len, s, strlen(s), 0) < 0)
        return strata_verify__fail(err, "annotation %s is not base64", key);
    return 0;
}

/*
 * The Rekor bundle annotation: {"SignedEntryTimestamp": base64,
 * "Payload": {"body": base64, "integratedTime": n, "logIndex": n,
 * "logID": hex}}.
 */
static int
rekor_bundle(strata_verify__material *m, const char *s, strata_error *err)
{
    json_t *doc = NULL, *payload, *body = NULL;
    strata_verify__tlog_entry *e;
    const char *set, *b64body, *logid, *kind, *version;
    int rc;

    rc = strata_verify__json_object(
        &doc, s, strlen(s), "annotation " STRATA_VERIFY_ANN_BUNDLE, err);
    if (rc < 0)
        return rc;
    payload = json_object_get(doc, "Payload");
    set = strata_verify__jstr(doc, "SignedEntryTimestamp");
    b64body = strata_verify__jstr(payload, "body");
    logid = strata_verify__jstr(payload, "logID");
    m->entries = strata_xcalloc(1, sizeof(*m->entries));
    m->nentries = 1;
    e = &m->entries[0];
    if (set == NULL || b64body == NULL || logid == NULL) {
        rc = strata_verify__fail(err, "Rekor bundle annotation lacks "
                                      "SignedEntryTimestamp, body or logID");
        goto out;
    }
    if (strata_verify__b64dec_str(&e->set, &e->set_len, set) < 0 ||
        strata_verify__b64dec_str(&e->body, &e->body_len, b64body) < 0) {
        rc = strata_verify__fail(err, "Rekor bundle annotation has invalid "
                                      "base64");
        goto out;
    }
    if (strlen(logid) != 64 || strata_verify__unhex(e->log_id, 32, logid) < 0) {
        rc = strata_verify__fail(err, "Rekor bundle annotation's logID is "
                                      "not 64 hex digits");
        goto out;
    }
    e->log_id_len = 32;
    if (strata_verify__json_int64(&e->integrated_time,
                                  json_object_get(payload, "integratedTime")) <
            0 ||
        strata_verify__json_int64(&e->log_index,
                                  json_object_get(payload, "logIndex")) < 0 ||
        e->integrated_time <= 0 || e->log_index < 0) {
        rc = strata_verify__fail(err, "Rekor bundle annotation has no valid "
                                      "integratedTime or logIndex");
        goto out;
    }
    e->has_integrated_time = 1;
    /* The entry's kind is its body's own. */
    rc = strata_verify__json_object(&body, e->body, e->body_len,
                                    "log entry body", err);
    if (rc < 0)
        goto out;
    kind = strata_verify__jstr(body, "kind");
    version = strata_verify__jstr(body, "apiVersion");
    if (kind == NULL || version == NULL || strlen(kind) >= sizeof(e->kind) ||
        strlen(version) >= sizeof(e->version)) {
        rc = strata_verify__fail(err, "log entry body has no kind or "
                                      "apiVersion");
        goto out;
    }
    snprintf(e->kind, sizeof(e->kind), "%s", kind);
    snprintf(e->version, sizeof(e->version), "%s", version);
out:
    json_decref(body);
    json_decref(doc);
    return rc;
}

int
strata_verify__cosign_material(strata_verify__material *m, json_t *ann,
                               int is_dsse, strata_error *err)
{
    const char *cert = strata_verify__jstr(ann, STRATA_VERIFY_ANN_CERTIFICATE);
    const char *chain = strata_verify__jstr(ann, STRATA_VERIFY_ANN_CHAIN);
    const char *bundle = strata_verify__jstr(ann, STRATA_VERIFY_ANN_BUNDLE);
    const char *ts = strata_verify__jstr(ann, STRATA_VERIFY_ANN_TIMESTAMP);
    int rc;

    m->version = 0;
    if (ann != NULL && !json_is_object(ann))
        return strata_verify__fail(err, "annotations are not an object");
    if (!is_dsse) {
        rc = ann_b64(&m->sig, ann, STRATA_VERIFY_ANN_SIGNATURE, err);
        if (rc < 0)
            return rc;
        if (m->sig.data == NULL || m->sig.len == 0)
            return strata_verify__fail(err, "layer has no %s annotation",
                                       STRATA_VERIFY_ANN_SIGNATURE);
    }
    if (cert != NULL && cert[0] != '\0') {
        m->leaf = strata_verify__cert_from_pem(cert, strlen(cert));
        if (m->leaf == NULL)
            return strata_verify__fail(err,
                                       "annotation %s is not a PEM "
                                       "certificate",
                                       STRATA_VERIFY_ANN_CERTIFICATE);
    }
    if (chain != NULL && chain[0] != '\0') {
        m->chain = strata_verify__certs_from_pem(chain, strlen(chain));
        if (m->chain == NULL)
            return strata_verify__fail(err,
                                       "annotation %s is not a PEM "
                                       "certificate chain",
                                       STRATA_VERIFY_ANN_CHAIN);
    }
    if (bundle != NULL) {
        rc = rekor_bundle(m, bundle, err);
        if (rc < 0)
            return rc;
    }
    if (ts != NULL) {
        json_t *doc = NULL;
        const char *b64;
        rc = strata_verify__json_object(
            &doc, ts, strlen(ts), "annotation " STRATA_VERIFY_ANN_TIMESTAMP,
            err);
        if (rc < 0)
            return rc;
        b64 = strata_verify__jstr(doc, "SignedRFC3161Timestamp");
        m->timestamps = strata_xcalloc(1, sizeof(*m->timestamps));
        m->ntimestamps = 1;
        if (strata_verify__b64dec_str(&m->timestamps[0].data,
                                      &m->timestamps[0].len, b64) < 0)
            rc = strata_verify__fail(err,
                                     "annotation %s has no base64 "
                                     "SignedRFC3161Timestamp",
                                     STRATA_VERIFY_ANN_TIMESTAMP);
        json_decref(doc);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
strata_verify_cosign(strata_verify_signer *out, const void *payload,
                     size_t payload_len, json_t *annotations,
                     const char *digest, const char *repository,
                     const strata_verify_policy *policy, strata_error *err)
{
    strata_verify__material m;
    strata_verify_payload p;
    strata_verify_artifact art = {payload, payload_len, NULL};
    int rc;

    memset(&m, 0, sizeof(m));
    memset(&p, 0, sizeof(p));
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
        out->verifier = -1;
        out->log_index = -1;
    }
    if (payload_len > STRATA_VERIFY_MAX_INPUT)
        return strata_verify__fail(err,
                                   "signature payload is too big (%zu "
                                   "bytes)",
                                   payload_len);
    m.what = "signature";
    rc = strata_verify__cosign_material(&m, annotations, 0, err);
    if (rc == 0)
        rc = strata_verify__material_verify(out, &m, &art, policy, err);
    if (rc == 0)
        rc = strata_verify_payload_parse(&p, payload, payload_len, err);
    if (rc == 0 && (digest == NULL || strcmp(p.manifest_digest, digest) != 0))
        rc = strata_verify__fail(err,
                                 "signature payload is for digest %s, not "
                                 "%s",
                                 p.manifest_digest, digest ? digest : "(none)");
    if (rc == 0 && repository != NULL &&
        !reference_allowed(p.docker_reference, repository, policy))
        rc = strata_verify__fail(err,
                                 "signature payload names repository '%.200s', "
                                 "not '%s'%s",
                                 p.docker_reference, repository,
                                 policy->nmirrors ? " or a mirror" : "");
    if (rc < 0 && out != NULL)
        strata_verify_signer_release(out);
    strata_verify_payload_release(&p);
    strata_verify__material_release(&m);
    return rc;
}

int
strata_verify_attestation(strata_verify_signer *out, const void *envelope,
                          size_t envelope_len, json_t *annotations,
                          const char *digest,
                          const strata_verify_policy *policy, strata_error *err)
{
    strata_verify__material m;
    strata_verify_artifact art = {NULL, 0, digest};
    json_t *env = NULL;
    int rc;

    memset(&m, 0, sizeof(m));
    if (out != NULL) {
        memset(out, 0, sizeof(*out));
        out->verifier = -1;
        out->log_index = -1;
    }
    m.what = "attestation";
    rc = strata_verify__json_object(&env, envelope, envelope_len,
                                    "attestation envelope", err);
    if (rc == 0)
        rc = strata_verify__dsse_parse(&m, env, "attestation", err);
    if (rc == 0)
        rc = strata_verify__cosign_material(&m, annotations, 1, err);
    if (rc == 0) {
        /* cosign stamps an attestation's whole envelope. */
        m.ts_data.data = strata_xmalloc(envelope_len + 1);
        memcpy(m.ts_data.data, envelope, envelope_len);
        m.ts_data.len = envelope_len;
        rc = strata_verify__material_verify(out, &m, &art, policy, err);
    }
    json_decref(env);
    strata_verify__material_release(&m);
    return rc;
}
