/*
 * file.c - the entry point behind `strata verify bundle BUNDLE ARTIFACT`
 * (also what a Sigstore conformance client does): read the bundle, the
 * artifact (or take its "sha256:<hex>"), the key or the trusted root, make
 * a one-verifier policy, and verify.
 */
#include <stdlib.h>
#include <string.h>

#include "verify-int.h"

int
strata_verify_bundle_file(strata_verify_signer *out,
                          const strata_verify_bundle_opts *o, strata_error *err)
{
    strata_verify_key *key = NULL;
    strata_verify_trusted_root *root = NULL;
    strata_verify_identity id = {NULL, NULL, NULL};
    strata_verify_policy policy;
    strata_verify_artifact art = {NULL, 0, NULL};
    char *bundle = NULL, *data = NULL;
    size_t blen = 0, dlen = 0;
    int rc;

    if (out != NULL) {
        memset(out, 0, sizeof(*out));
        out->verifier = -1;
        out->log_index = -1;
    }
    memset(&policy, 0, sizeof(policy));
    if (o->bundle_path == NULL || o->artifact == NULL)
        return strata_error_set(err, STRATA_EUSAGE,
                                "verify bundle needs a bundle and an "
                                "artifact");
    if (o->key_path == NULL &&
        (o->trusted_root_path == NULL || o->issuer == NULL ||
         (o->identity == NULL) == (o->identity_regexp == NULL)))
        return strata_error_set(err, STRATA_EUSAGE,
                                "verify bundle needs --key FILE, or "
                                "--trusted-root FILE with --identity (or "
                                "--identity-regexp) and --issuer");
    if (o->key_path != NULL) {
        rc = strata_verify_key_load(&key, o->key_path, err);
        if (rc < 0)
            goto out;
        policy.keys = &key;
        policy.nkeys = 1;
    } else {
        id.issuer = o->issuer;
        id.subject = o->identity;
        id.subject_regexp = o->identity_regexp;
        rc = strata_verify_identity_check(&id, err);
        if (rc < 0)
            goto out;
        policy.identities = &id;
        policy.nidentities = 1;
    }
    if (o->trusted_root_path != NULL) {
        rc = strata_verify_trusted_root_load(&root, o->trusted_root_path, err);
        if (rc < 0)
            goto out;
        policy.trusted_root = root;
    }
    if (strncmp(o->artifact, "sha256:", 7) == 0) {
        unsigned char d[32];
        if (strata_verify__parse_digest(d, o->artifact) < 0) {
            rc = strata_error_set(err, STRATA_EINVAL,
                                  "artifact '%s' is not sha256:<64 hex>",
                                  o->artifact);
            goto out;
        }
        art.digest = o->artifact;
    } else {
        rc = strata_read_file(&data, &dlen, o->artifact, 256u << 20, err);
        if (rc < 0)
            goto out;
        art.data = data;
        art.len = dlen;
    }
    rc = strata_read_file(&bundle, &blen, o->bundle_path,
                          STRATA_VERIFY_MAX_INPUT, err);
    if (rc == STRATA_ETOOBIG) {
        rc = strata_verify__fail(err, "bundle '%s' is too big (over %u bytes)",
                                 o->bundle_path, STRATA_VERIFY_MAX_INPUT);
        goto out;
    }
    if (rc < 0)
        goto out;
    rc = strata_verify_bundle(out, bundle, blen, &art, &policy, err);
out:
    free(bundle);
    free(data);
    strata_verify_key_free(key);
    strata_verify_trusted_root_free(root);
    return rc;
}
