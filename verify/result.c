/*
 * result.c - the verdict over one digest: every candidate the registry
 * code found (cosign signature layers, attestation layers, Sigstore
 * bundles) is verified as it is added and recorded with who verified it or
 * why nothing did. The digest is verified when `threshold` distinct policy
 * verifiers signed it and every required attestation type verified under a
 * policy verifier. A bundle whose DSSE statement is of another predicate
 * type than cosign's own signing predicate counts as an attestation.
 */
#include <stdlib.h>
#include <string.h>

#include "verify-int.h"

#define COSIGN_SIGN_PREDICATE "https://sigstore.dev/cosign/sign/v1"

typedef struct entry {
    char *label;
    const char *kind;
    int ok;
    char *reason;
    strata_verify_signer signer;
} entry;

struct strata_verify_result {
    const strata_verify_policy *policy;
    char *digest;
    char *repository;
    entry *entries;
    size_t n, cap;
    char *summary;
};

strata_verify_result *
strata_verify_result_new(const strata_verify_policy *policy, const char *digest,
                         const char *repository)
{
    strata_verify_result *r = strata_xcalloc(1, sizeof(*r));

    r->policy = policy;
    r->digest = strata_xstrdup(digest ? digest : "");
    r->repository = repository ? strata_xstrdup(repository) : NULL;
    return r;
}

void
strata_verify_result_free(strata_verify_result *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n; i++) {
        free(r->entries[i].label);
        free(r->entries[i].reason);
        strata_verify_signer_release(&r->entries[i].signer);
    }
    free(r->entries);
    free(r->digest);
    free(r->repository);
    free(r->summary);
    free(r);
}

static entry *
add_entry(strata_verify_result *r, const char *label, const char *kind)
{
    entry *e;

    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 8;
        r->entries = strata_xrealloc(r->entries, r->cap * sizeof(*r->entries));
    }
    e = &r->entries[r->n++];
    memset(e, 0, sizeof(*e));
    e->signer.verifier = -1;
    e->signer.log_index = -1;
    e->label =
        label ? strata_xstrdup(label) : strata_xasprintf("candidate %zu", r->n);
    e->kind = kind;
    free(r->summary);
    r->summary = NULL;
    return e;
}

static int
record(entry *e, int rc, const strata_error *err)
{
    if (rc == 0) {
        e->ok = 1;
        return 1;
    }
    strata_verify_signer_release(&e->signer);
    e->reason = strata_xstrdup(err->msg[0] ? err->msg : "does not verify");
    return 0;
}

int
strata_verify_result_add_cosign(strata_verify_result *r, const void *payload,
                                size_t len, json_t *annotations,
                                const char *label)
{
    entry *e = add_entry(r, label, "cosign");
    strata_error err;
    int rc;

    strata_error_clear(&err);
    rc = strata_verify_cosign(&e->signer, payload, len, annotations, r->digest,
                              r->repository, r->policy, &err);
    return record(e, rc, &err);
}

int
strata_verify_result_add_attestation(strata_verify_result *r,
                                     const void *envelope, size_t len,
                                     json_t *annotations, const char *label)
{
    entry *e = add_entry(r, label, "attestation");
    strata_error err;
    int rc;

    strata_error_clear(&err);
    rc = strata_verify_attestation(&e->signer, envelope, len, annotations,
                                   r->digest, r->policy, &err);
    return record(e, rc, &err);
}

int
strata_verify_result_add_bundle(strata_verify_result *r, const void *bundle,
                                size_t len, const char *label)
{
    entry *e = add_entry(r, label, "bundle");
    strata_verify_artifact art = {NULL, 0, r->digest};
    strata_error err;
    int rc;

    strata_error_clear(&err);
    rc = strata_verify_bundle(&e->signer, bundle, len, &art, r->policy, &err);
    return record(e, rc, &err);
}

void
strata_verify_result_add_failure(strata_verify_result *r, const char *label,
                                 const char *reason)
{
    entry *e = add_entry(r, label, "error");

    e->reason = strata_xstrdup(reason ? reason : "unreadable");
}

/* Whether an ok entry is a signature (not an attestation of some type). */
static int
is_signature(const entry *e)
{
    if (strcmp(e->kind, "cosign") == 0)
        return 1;
    return strcmp(e->kind, "bundle") == 0 &&
           (e->signer.predicate_type == NULL ||
            strcmp(e->signer.predicate_type, COSIGN_SIGN_PREDICATE) == 0);
}

static int
agreed_before(const strata_verify_result *r, size_t i)
{
    size_t j;

    for (j = 0; j < i; j++)
        if (r->entries[j].ok && is_signature(&r->entries[j]) &&
            r->entries[j].signer.verifier == r->entries[i].signer.verifier)
            return 1;
    return 0;
}

size_t
strata_verify_result_agreed(const strata_verify_result *r)
{
    size_t i, n = 0;

    for (i = 0; i < r->n; i++)
        if (r->entries[i].ok && is_signature(&r->entries[i]) &&
            !agreed_before(r, i))
            n++;
    return n;
}

static int
attested(const strata_verify_result *r, const char *type)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (r->entries[i].ok && r->entries[i].signer.predicate_type != NULL &&
            r->entries[i].signer.verifier >= 0 &&
            strcmp(r->entries[i].signer.predicate_type, type) == 0)
            return 1;
    return 0;
}

static size_t
threshold(const strata_verify_result *r)
{
    return r->policy->threshold ? r->policy->threshold : 1;
}

int
strata_verify_result_ok(const strata_verify_result *r)
{
    size_t i;

    if (strata_verify_result_agreed(r) < threshold(r))
        return 0;
    for (i = 0; i < r->policy->nattestations; i++)
        if (!attested(r, r->policy->attestations[i]))
            return 0;
    return 1;
}

size_t
strata_verify_result_count(const strata_verify_result *r)
{
    return r->n;
}

strata_verify_entry
strata_verify_result_entry(const strata_verify_result *r, size_t i)
{
    strata_verify_entry out = {NULL, NULL, 0, NULL, NULL};
    const entry *e;

    if (i >= r->n)
        return out;
    e = &r->entries[i];
    out.label = e->label;
    out.kind = e->kind;
    out.ok = e->ok;
    out.reason = e->reason;
    out.signer = e->ok ? &e->signer : NULL;
    return out;
}

const char *
strata_verify_result_summary(strata_verify_result *r)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i, agreed = strata_verify_result_agreed(r), shown = 0;
    int first = 1;

    free(r->summary);
    if (strata_verify_result_ok(r)) {
        strata_buf_puts(&b, "verified by ");
        for (i = 0; i < r->n; i++) {
            if (!r->entries[i].ok || !is_signature(&r->entries[i]) ||
                agreed_before(r, i))
                continue;
            strata_buf_printf(&b, "%s%s", first ? "" : " and ",
                              r->entries[i].signer.summary);
            first = 0;
        }
        strata_buf_printf(&b, " (%zu of %zu required)", agreed, threshold(r));
        for (i = 0; i < r->policy->nattestations; i++)
            strata_buf_printf(&b, "%s%s", i ? ", " : "; attested: ",
                              r->policy->attestations[i]);
    } else {
        strata_buf_printf(&b,
                          "not verified: %zu of %zu required verifiers "
                          "agreed",
                          agreed, threshold(r));
        for (i = 0; i < r->policy->nattestations; i++)
            if (!attested(r, r->policy->attestations[i]))
                strata_buf_printf(&b, "; no verified attestation '%s'",
                                  r->policy->attestations[i]);
        if (r->n == 0)
            strata_buf_puts(&b, "; no signature found");
        for (i = 0; i < r->n && shown < 4; i++) {
            if (r->entries[i].ok)
                continue;
            strata_buf_printf(&b, "; %s: %s", r->entries[i].label,
                              r->entries[i].reason);
            shown++;
        }
        for (; i < r->n; i++)
            if (!r->entries[i].ok)
                shown++;
        if (shown > 4)
            strata_buf_printf(&b, "; and %zu more", shown - 4);
    }
    r->summary = strata_buf_detach(&b);
    return r->summary;
}

static json_t *
opt_string(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *
strata_verify_result_to_json(const strata_verify_result *r)
{
    json_t *o = json_object(), *arr = json_array(), *agreed = json_array();
    json_t *missing = json_array();
    size_t i;

    for (i = 0; i < r->n; i++) {
        const entry *e = &r->entries[i];
        json_t *j = json_object();
        json_object_set_new(j, "label", json_string(e->label));
        json_object_set_new(j, "kind", json_string(e->kind));
        json_object_set_new(j, "verified", json_boolean(e->ok));
        json_object_set_new(j, "reason", opt_string(e->reason));
        if (e->ok) {
            char when[32];
            json_object_set_new(j, "verifier", json_string(e->signer.summary));
            json_object_set_new(j, "key",
                                opt_string(e->signer.key_fingerprint));
            json_object_set_new(j, "subject", opt_string(e->signer.subject));
            json_object_set_new(j, "issuer", opt_string(e->signer.issuer));
            json_object_set_new(j, "log_index",
                                e->signer.log_index >= 0
                                    ? json_integer(e->signer.log_index)
                                    : json_null());
            strata_verify__fmt_time(when, sizeof(when), e->signer.signed_time);
            json_object_set_new(j, "signed_time",
                                e->signer.signed_time ? json_string(when)
                                                      : json_null());
            json_object_set_new(j, "predicate_type",
                                opt_string(e->signer.predicate_type));
            if (is_signature(e) && !agreed_before(r, i))
                json_array_append_new(agreed, json_string(e->signer.summary));
        }
        json_array_append_new(arr, j);
    }
    for (i = 0; i < r->policy->nattestations; i++)
        if (!attested(r, r->policy->attestations[i]))
            json_array_append_new(missing,
                                  json_string(r->policy->attestations[i]));
    json_object_set_new(o, "digest", json_string(r->digest));
    json_object_set_new(o, "repository", opt_string(r->repository));
    json_object_set_new(o, "verified",
                        json_boolean(strata_verify_result_ok(r)));
    json_object_set_new(o, "threshold",
                        json_integer((json_int_t) threshold(r)));
    json_object_set_new(o, "agreed", agreed);
    json_object_set_new(o, "missing_attestations", missing);
    json_object_set_new(o, "entries", arr);
    return o;
}
