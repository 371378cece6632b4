/*
 * dsse.c - DSSE envelopes and the in-toto statements they carry: the
 * pre-authentication encoding signatures cover, the envelope's shape
 * (payloadType, base64 payload, signatures), and the statement check that
 * ties an attestation to one artifact (a subject whose sha256 is its
 * digest).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "verify-int.h"

void
strata_verify_dsse_pae(unsigned char **out, size_t *out_len,
                       const char *payload_type, const void *payload,
                       size_t payload_len)
{
    size_t tlen = strlen(payload_type);
    char head[96];
    int n;
    unsigned char *buf;

    n = snprintf(head, sizeof(head), "DSSEv1 %zu ", tlen);
    buf = strata_xmalloc((size_t) n + tlen + 32 + payload_len);
    memcpy(buf, head, (size_t) n);
    memcpy(buf + n, payload_type, tlen);
    *out_len = (size_t) n + tlen;
    n = snprintf(head, sizeof(head), " %zu ", payload_len);
    memcpy(buf + *out_len, head, (size_t) n);
    *out_len += (size_t) n;
    if (payload_len > 0)
        memcpy(buf + *out_len, payload, payload_len);
    *out_len += payload_len;
    *out = buf;
}

int
strata_verify__dsse_parse(strata_verify__material *m, json_t *env,
                          const char *what, strata_error *err)
{
    const char *pt = strata_verify__jstr(env, "payloadType");
    const char *payload = strata_verify__jstr(env, "payload");
    json_t *sigs = json_object_get(env, "signatures"), *v;
    size_t i;

    if (!json_is_object(env))
        return strata_verify__fail(err, "%s's DSSE envelope is not an object",
                                   what);
    if (pt == NULL || payload == NULL)
        return strata_verify__fail(err,
                                   "%s's DSSE envelope has no "
                                   "payloadType or payload",
                                   what);
    if (strata_verify__b64dec(&m->payload.data, &m->payload.len, payload,
                              strlen(payload), 1) < 0)
        return strata_verify__fail(err, "%s's DSSE payload is not base64",
                                   what);
    m->payload_type = strata_xstrdup(pt);
    m->is_dsse = 1;
    if (!json_is_array(sigs) || json_array_size(sigs) == 0)
        return strata_verify__fail(err,
                                   "%s's DSSE envelope has no "
                                   "signatures",
                                   what);
    if (json_array_size(sigs) > STRATA_VERIFY__MAX_DSSE_SIGS)
        return strata_verify__fail(err,
                                   "%s's DSSE envelope has too many "
                                   "signatures",
                                   what);
    m->dsse_sigs = strata_xcalloc(json_array_size(sigs), sizeof(*m->dsse_sigs));
    json_array_foreach (sigs, i, v) {
        const char *sig = strata_verify__jstr(v, "sig");
        strata_verify__blob *b = &m->dsse_sigs[i];
        m->ndsse_sigs++;
        if (sig == NULL ||
            strata_verify__b64dec(&b->data, &b->len, sig, strlen(sig), 1) < 0 ||
            b->len == 0)
            return strata_verify__fail(err,
                                       "%s's DSSE signature %zu is missing or "
                                       "not base64",
                                       what, i + 1);
    }
    return 0;
}

int
strata_verify__statement_check(char **predicate_type, const void *payload,
                               size_t len, const unsigned char sha256[32],
                               strata_error *err)
{
    json_t *st = NULL, *subjects, *s;
    const char *type, *pt;
    char hex[65];
    size_t i;
    int rc, found = 0;

    *predicate_type = NULL;
    rc =
        strata_verify__json_object(&st, payload, len, "in-toto statement", err);
    if (rc < 0)
        return rc;
    type = strata_verify__jstr(st, "_type");
    pt = strata_verify__jstr(st, "predicateType");
    subjects = json_object_get(st, "subject");
    if (type == NULL ||
        strncmp(type, "https://in-toto.io/Statement/", 29) != 0) {
        rc = strata_verify__fail(err, "DSSE payload is not an in-toto "
                                      "statement");
        goto out;
    }
    if (pt == NULL) {
        rc = strata_verify__fail(err, "in-toto statement has no "
                                      "predicateType");
        goto out;
    }
    strata_verify__hex(hex, sha256, 32);
    json_array_foreach (subjects, i, s) {
        const char *d =
            strata_verify__jstr(json_object_get(s, "digest"), "sha256");
        if (d != NULL && strcasecmp(d, hex) == 0) {
            found = 1;
            break;
        }
    }
    if (!found) {
        rc = strata_verify__fail(err,
                                 "in-toto statement has no subject with "
                                 "digest sha256:%s",
                                 hex);
        goto out;
    }
    *predicate_type = strata_xstrdup(pt);
out:
    json_decref(st);
    return rc;
}
