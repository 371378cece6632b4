/*
 * material.c - the one verification every kind of signature goes through,
 * once parsed into a strata_verify__material (bundle.c, cosign.c):
 *
 *   1. what is signed: the bundle's message digest or the in-toto
 *      statement's subject must be the artifact's;
 *   2. who signed: the signature verifies under the certificate's key
 *      (keyless) or under one of the policy's keys;
 *   3. when: every RFC 3161 timestamp verifies under a timestamp authority,
 *      every log entry verifies (signed entry timestamp, inclusion proof,
 *      checkpoint) and records exactly this signature, key and artifact;
 *   4. keyless only: at every verified time the certificate is valid and
 *      chains to a certificate authority valid then, its SCT verifies, its
 *      profile is code signing, and its identity is one of the policy's.
 *
 * The first failure is the reason given; nothing is partly accepted.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verify-int.h"

void
strata_verify__tlog_entry_release(strata_verify__tlog_entry *e)
{
    free(e->body);
    free(e->set);
    free(e->hashes);
    free(e->checkpoint);
    memset(e, 0, sizeof(*e));
}

void
strata_verify__material_release(strata_verify__material *m)
{
    size_t i;

    X509_free(m->leaf);
    sk_X509_pop_free(m->chain, X509_free);
    free(m->sig.data);
    free(m->payload_type);
    free(m->payload.data);
    for (i = 0; i < m->ndsse_sigs; i++)
        free(m->dsse_sigs[i].data);
    free(m->dsse_sigs);
    for (i = 0; i < m->nentries; i++)
        strata_verify__tlog_entry_release(&m->entries[i]);
    free(m->entries);
    for (i = 0; i < m->ntimestamps; i++)
        free(m->timestamps[i].data);
    free(m->timestamps);
    free(m->ts_data.data);
    memset(m, 0, sizeof(*m));
}

void
strata_verify_signer_release(strata_verify_signer *s)
{
    if (s == NULL)
        return;
    free(s->summary);
    free(s->key_fingerprint);
    free(s->subject);
    free(s->issuer);
    free(s->predicate_type);
    memset(s, 0, sizeof(*s));
    s->verifier = -1;
    s->log_index = -1;
}

/* Whether the material's signature verifies under pkey. */
static int
signature_ok(EVP_PKEY *pkey, const strata_verify__material *m,
             const strata_verify_artifact *a, const unsigned char sha[32])
{
    const EVP_MD *md = strata_verify__pkey_md(pkey);
    size_t i;

    if (m->is_dsse) {
        unsigned char *pae;
        size_t plen;
        int ok = 0;
        strata_verify_dsse_pae(&pae, &plen, m->payload_type, m->payload.data,
                               m->payload.len);
        for (i = 0; i < m->ndsse_sigs && !ok; i++)
            ok = strata_verify__sig_verify(pkey, NULL, pae, plen,
                                           m->dsse_sigs[i].data,
                                           m->dsse_sigs[i].len);
        free(pae);
        return ok;
    }
    if (a->data != NULL) {
        if (strata_verify__sig_verify(pkey, NULL, a->data, a->len, m->sig.data,
                                      m->sig.len))
            return 1;
        /* cosign signs with SHA-256 whatever the curve. */
        return md != NULL && md != EVP_sha256() &&
               strata_verify__sig_verify(pkey, EVP_sha256(), a->data, a->len,
                                         m->sig.data, m->sig.len);
    }
    return strata_verify__sig_verify_digest(pkey, EVP_sha256(), sha, 32,
                                            m->sig.data, m->sig.len);
}

static int
content_check(char **predicate, const strata_verify__material *m,
              const strata_verify_artifact *a, const unsigned char sha[32],
              strata_error *err)
{
    char hex[65];

    if (m->is_dsse) {
        if (strcmp(m->payload_type, STRATA_VERIFY_MT_INTOTO) != 0)
            return strata_verify__fail(err,
                                       "DSSE payload type '%s' is not an "
                                       "in-toto statement",
                                       m->payload_type);
        return strata_verify__statement_check(predicate, m->payload.data,
                                              m->payload.len, sha, err);
    }
    if (m->sig.data == NULL || m->sig.len == 0)
        return strata_verify__fail(err, "%s has no signature", m->what);
    if (m->has_msg_digest) {
        unsigned char d[EVP_MAX_MD_SIZE];
        size_t dlen = 0;
        if (m->msg_md == EVP_sha256()) {
            memcpy(d, sha, 32);
            dlen = 32;
        } else if (a->data != NULL) {
            dlen = strata_verify__digest(d, m->msg_md, a->data, a->len);
        }
        if (dlen == 0)
            return strata_verify__fail(err,
                                       "%s's message digest algorithm "
                                       "cannot be checked against a "
                                       "sha256 digest",
                                       m->what);
        if (dlen != m->msg_digest_len ||
            CRYPTO_memcmp(d, m->msg_digest, dlen) != 0) {
            strata_verify__hex(hex, sha, 32);
            return strata_verify__fail(err,
                                       "%s's message digest does not match "
                                       "the artifact (sha256:%s)",
                                       m->what, hex);
        }
    }
    if (a->data == NULL && m->leaf != NULL &&
        EVP_PKEY_is_a(X509_get0_pubkey(m->leaf), "ED25519"))
        return strata_verify__fail(err, "an Ed25519 signature needs the "
                                        "artifact itself, not its digest");
    return 0;
}

static int
keys_list(char *out, size_t len, const strata_verify_policy *p)
{
    size_t i, off = 0;

    out[0] = '\0';
    for (i = 0; i < p->nkeys && off + 1 < len; i++)
        off += (size_t) snprintf(out + off, len - off, "%s%s", i ? ", " : "",
                                 p->keys[i]->fingerprint);
    return 0;
}

static int
identity_fail(const strata_verify_policy *p, const char *san,
              const char *issuer, strata_error *err)
{
    const strata_verify_identity *id = &p->identities[0];

    if (p->nidentities == 1)
        return strata_verify__fail(
            err,
            "certificate identity '%s' (issuer '%s') does not match %s'%s' "
            "(issuer '%s')",
            san, issuer, id->subject ? "" : "the pattern ",
            id->subject ? id->subject : id->subject_regexp, id->issuer);
    return strata_verify__fail(err,
                               "certificate identity '%s' (issuer '%s') does "
                               "not match any of the %zu configured "
                               "identities",
                               san, issuer, p->nidentities);
}

/* Steps 3: timestamps and log entries; fills the verified times. */
static int
check_times_and_log(int64_t *times, size_t *ntimes, int64_t *log_index,
                    const strata_verify__material *m,
                    const strata_verify__signing *s,
                    const strata_verify_artifact *a,
                    const unsigned char sha[32], const strata_verify_policy *p,
                    strata_error *err)
{
    const strata_verify_trusted_root *root = p->trusted_root;
    const strata_verify__blob *tsdata;
    int64_t tsa[STRATA_VERIFY__MAX_TIMESTAMPS];
    size_t ntsa = 0, i, j;
    int rc;

    if (m->ntimestamps > STRATA_VERIFY__MAX_TIMESTAMPS)
        return strata_verify__fail(err, "%s has too many timestamps", m->what);
    if (m->ts_data.data != NULL)
        tsdata = &m->ts_data;
    else
        tsdata = m->is_dsse ? &m->dsse_sigs[0] : &m->sig;
    for (i = 0; i < m->ntimestamps; i++) {
        for (j = 0; j < i; j++)
            if (m->timestamps[j].len == m->timestamps[i].len &&
                memcmp(m->timestamps[j].data, m->timestamps[i].data,
                       m->timestamps[i].len) == 0)
                return strata_verify__fail(err, "%s has a timestamp twice",
                                           m->what);
        rc = strata_verify__tsa_verify(&tsa[ntsa], root, m->timestamps[i].data,
                                       m->timestamps[i].len, tsdata->data,
                                       tsdata->len, err);
        if (rc < 0)
            return rc;
        times[(*ntimes)++] = tsa[ntsa++];
    }
    if (m->nentries == 0) {
        if (s->leaf != NULL || p->key_requires_tlog)
            return strata_verify__fail(err,
                                       "%s has no transparency log "
                                       "entry",
                                       m->what);
        return 0;
    }
    if (m->nentries > STRATA_VERIFY__MAX_TLOG)
        return strata_verify__fail(err, "%s has too many log entries", m->what);
    for (i = 0; i < m->nentries; i++) {
        const strata_verify__tlog_entry *e = &m->entries[i];
        const strata_verify__log *log;
        int64_t it;
        char when[32];

        rc = strata_verify__body_matches(e, m, s, a, sha, err);
        if (rc == 0)
            rc =
                strata_verify__tlog_verify(&it, &log, root, e, m->version, err);
        if (rc < 0)
            return rc;
        if (it >= 0) {
            if (it < log->start || it > log->end) {
                strata_verify__fmt_time(when, sizeof(when), it);
                return strata_verify__fail(err,
                                           "the transparency log's key was "
                                           "not valid at the entry's "
                                           "integrated time %s",
                                           when);
            }
            times[(*ntimes)++] = it;
        } else {
            for (j = 0; j < ntsa; j++)
                if (tsa[j] < log->start || tsa[j] > log->end) {
                    strata_verify__fmt_time(when, sizeof(when), tsa[j]);
                    return strata_verify__fail(err,
                                               "the transparency log's key "
                                               "was not valid at the "
                                               "timestamp %s",
                                               when);
                }
        }
        *log_index = e->log_index;
    }
    return 0;
}

/* Step 4, keyless only. Fills the identity. */
static int
check_certificate(int *verifier, char **san, char **issuer,
                  const strata_verify__material *m, const int64_t *times,
                  size_t ntimes, const strata_verify_policy *p, int64_t now,
                  strata_error *err)
{
    X509 *leaf = m->leaf, *ca = NULL;
    int64_t nb, na;
    char when[32], from[32], to[32];
    size_t i;
    int rc;

    if (ntimes == 0)
        return strata_verify__fail(err, "no verified signing time: no signed "
                                        "entry timestamp and no RFC 3161 "
                                        "timestamp");
    if (strata_verify__asn1_time(&nb, X509_get0_notBefore(leaf)) < 0 ||
        strata_verify__asn1_time(&na, X509_get0_notAfter(leaf)) < 0)
        return strata_verify__fail(err, "signing certificate has an invalid "
                                        "validity period");
    for (i = 0; i < ntimes; i++) {
        if (times[i] < nb || times[i] > na) {
            strata_verify__fmt_time(when, sizeof(when), times[i]);
            strata_verify__fmt_time(from, sizeof(from), nb);
            strata_verify__fmt_time(to, sizeof(to), na);
            return strata_verify__fail(err,
                                       "signing time %s is outside the "
                                       "certificate's validity (%s to %s)",
                                       when, from, to);
        }
    }
    for (i = 0; i < ntimes; i++) {
        X509_free(ca);
        ca = NULL;
        rc = strata_verify__cert_chain(&ca, p->trusted_root, leaf, times[i],
                                       err);
        if (rc < 0)
            return rc;
    }
    rc = strata_verify__cert_sct(leaf, ca, p->trusted_root, now, err);
    X509_free(ca);
    if (rc < 0)
        return rc;
    rc = strata_verify__cert_profile(leaf, err);
    if (rc < 0)
        return rc;
    strata_verify__cert_identity(san, issuer, leaf);
    if (*san == NULL)
        return strata_verify__fail(err, "certificate has no email or URI "
                                        "subject alternative name");
    if (*issuer == NULL)
        return strata_verify__fail(err, "certificate has no OIDC issuer "
                                        "extension");
    for (i = 0; i < p->nidentities; i++)
        if (strata_verify__identity_matches(&p->identities[i], *san, *issuer)) {
            *verifier = (int) (p->nkeys + i);
            return 0;
        }
    return identity_fail(p, *san, *issuer, err);
}

int
strata_verify__material_verify(strata_verify_signer *out,
                               const strata_verify__material *m,
                               const strata_verify_artifact *a,
                               const strata_verify_policy *p, strata_error *err)
{
    unsigned char sha[32];
    strata_verify__signing s = {NULL, NULL};
    int64_t times[STRATA_VERIFY__MAX_TIMESTAMPS + STRATA_VERIFY__MAX_TLOG];
    size_t ntimes = 0, i;
    int64_t now = p->now ? p->now : (int64_t) time(NULL), log_index = -1;
    char *predicate = NULL, *san = NULL, *issuer = NULL, why[96], alg[24];
    char keys[512];
    int verifier = -1, rc;

    if (out != NULL) {
        memset(out, 0, sizeof(*out));
        out->verifier = -1;
        out->log_index = -1;
    }
    if (a->data != NULL)
        strata_verify__sha256(sha, a->data, a->len);
    else if (strata_verify__parse_digest(sha, a->digest) < 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "artifact digest '%s' is not sha256:<hex>",
                                a->digest ? a->digest : "(none)");

    rc = content_check(&predicate, m, a, sha, err);
    if (rc < 0)
        goto out;

    /* Who signed. */
    if (m->leaf != NULL) {
        if (p->trusted_root == NULL || p->nidentities == 0) {
            rc = strata_verify__fail(err,
                                     "%s is signed with a certificate "
                                     "(keyless), but no trusted root "
                                     "and identity are configured",
                                     m->what);
            goto out;
        }
        s.leaf = m->leaf;
        s.pkey = X509_get0_pubkey(m->leaf);
        if (strata_verify__pkey_supported(s.pkey, alg, sizeof(alg), why,
                                          sizeof(why)) < 0) {
            rc = strata_verify__fail(err,
                                     "signing certificate has an "
                                     "unsupported key: %s",
                                     why);
            goto out;
        }
        if (!signature_ok(s.pkey, m, a, sha)) {
            rc = strata_verify__fail(err,
                                     "%s's signature does not verify "
                                     "under its certificate's key",
                                     m->what);
            goto out;
        }
    } else {
        if (p->nkeys == 0) {
            rc = strata_verify__fail(err,
                                     "%s is signed with a key, but no "
                                     "key is configured",
                                     m->what);
            goto out;
        }
        for (i = 0; i < p->nkeys && verifier < 0; i++)
            if (signature_ok(p->keys[i]->pkey, m, a, sha)) {
                verifier = (int) i;
                s.pkey = p->keys[i]->pkey;
            }
        if (verifier < 0) {
            keys_list(keys, sizeof(keys), p);
            rc = strata_verify__fail(err,
                                     "%s's signature does not verify under "
                                     "the configured key%s %s",
                                     m->what, p->nkeys == 1 ? "" : "s", keys);
            goto out;
        }
    }
    for (i = 0; m->chain != NULL && i < (size_t) sk_X509_num(m->chain); i++)
        if (strata_verify__cert_is_root(sk_X509_value(m->chain, (int) i))) {
            rc = strata_verify__fail(err,
                                     "%s's certificate chain contains a "
                                     "root certificate",
                                     m->what);
            goto out;
        }

    /* When, and the log. */
    if (p->trusted_root == NULL) {
        if (p->key_requires_tlog) {
            rc = strata_error_set(err, STRATA_EINVAL,
                                  "a transparency log entry is required, "
                                  "but no trusted root is configured");
            goto out;
        }
    } else {
        rc = check_times_and_log(times, &ntimes, &log_index, m, &s, a, sha, p,
                                 err);
        if (rc < 0)
            goto out;
    }

    if (m->leaf != NULL) {
        rc = check_certificate(&verifier, &san, &issuer, m, times, ntimes, p,
                               now, err);
        if (rc < 0)
            goto out;
    }

    if (out != NULL) {
        out->verifier = verifier;
        out->log_index = log_index;
        out->signed_time = ntimes > 0 ? times[0] : 0;
        out->predicate_type = predicate;
        predicate = NULL;
        if (m->leaf != NULL) {
            out->summary = strata_xasprintf("keyless %s (%s)", san, issuer);
            out->subject = san;
            out->issuer = issuer;
            san = issuer = NULL;
        } else {
            out->key_fingerprint =
                strata_xstrdup(p->keys[verifier]->fingerprint);
            out->summary = strata_xasprintf("key %s", out->key_fingerprint);
        }
    }
    rc = 0;
out:
    free(predicate);
    free(san);
    free(issuer);
    return rc;
}
