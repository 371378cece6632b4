/*
 * sign.c - signs what a rebase pushed, when it was given a signing key,
 * so that admission policies downstream (cosign, Kyverno,
 * policy-controller) meet a signed strata output:
 *
 *   signature    cosign's layout: the simple-signing payload naming the
 *                new digest and the target repository, as a layer of the
 *                "sha256-<hex>.sig" manifest (an OCI image manifest whose
 *                config is cosign's), with the base64 signature in the
 *                dev.cosignproject.cosign/signature annotation. Layers
 *                already there (other signers) are kept; a layer with this
 *                payload that already verifies under this key is not
 *                added twice (a rebase run again gives the same digest).
 *   provenance   an in-toto statement with a SLSA provenance v1 predicate
 *                (builder strata, the old image digest and the old and new
 *                base digests as resolved dependencies), as a DSSE envelope
 *                signed with the same key, attached as a referrer (an
 *                artifact manifest whose subject is the new digest). Where
 *                the registry does not serve the referrers API (Debian's
 *                docker-registry 2.8), the referrers tag schema's index
 *                "sha256-<hex>" is updated; the same envelope also goes
 *                under cosign's "sha256-<hex>.att" tag, where `cosign
 *                verify-attestation` looks by default.
 *
 * Everything runs on the rebase's private loop, one request at a time.
 * The key is a secret: its bytes never leave verify/, and only its
 * public fingerprint is logged or returned.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "rebase-int.h"
#include "verify.h"

/* Signature manifests and referrer lists are small. */
#define MAX_SIG_MANIFEST (256 * 1024)

typedef struct swait {
    int done;
    strata_error err;
    char *digest;
    strata_manifest *m;
    strata_referrers *refs;
} swait;

static int
swait_run(strata_rebase__ctx *c, swait *w, int rc, strata_error *err)
{
    if (rc != 0)
        return rc;
    while (!w->done)
        uv_run(&c->loop, UV_RUN_ONCE);
    if (w->err.code != 0) {
        if (err != NULL)
            *err = w->err;
        return w->err.code;
    }
    return 0;
}

static void
on_pushed(strata_blob_outcome outcome, uint64_t bytes, const strata_error *err,
          void *arg)
{
    swait *w = arg;

    (void) outcome;
    (void) bytes;
    if (err != NULL)
        w->err = *err;
    w->done = 1;
}

static void
on_put(char *digest, const strata_error *err, void *arg)
{
    swait *w = arg;

    w->digest = digest;
    if (err != NULL)
        w->err = *err;
    w->done = 1;
}

static void
on_manifest(strata_manifest *m, const strata_error *err, void *arg)
{
    swait *w = arg;

    w->m = m;
    if (err != NULL)
        w->err = *err;
    w->done = 1;
}

static char *
sha256_of(const void *data, size_t len)
{
    char hex[65];

    strata_sha256_hex(hex, data, len);
    return strata_xasprintf("sha256:%s", hex);
}

static int
push_blob(strata_rebase__ctx *c, const void *data, size_t len,
          strata_error *err)
{
    char *digest = sha256_of(data, len);
    swait w = {0};
    int rc =
        swait_run(c, &w,
                  strata_registry_push_blob(c->reg, c->target, digest, data,
                                            len, NULL, on_pushed, &w, err),
                  err);

    free(digest);
    return rc;
}

/* PUTs body under tag (or by its digest when tag is NULL); *out the digest. */
static int
put_manifest(char **out, strata_rebase__ctx *c, const char *tag,
             const char *media_type, const char *body, strata_error *err)
{
    strata_ref *ref = NULL;
    char *s, *digest = NULL;
    swait w = {0};
    int rc;

    if (tag != NULL)
        s = strata_xasprintf("%s:%s", strata_ref_name(c->target), tag);
    else {
        digest = sha256_of(body, strlen(body));
        s = strata_xasprintf("%s@%s", strata_ref_name(c->target), digest);
    }
    rc = strata_ref_parse(&ref, s, err);
    free(s);
    free(digest);
    if (rc == 0)
        rc = swait_run(c, &w,
                       strata_registry_put_manifest(c->reg, ref, media_type,
                                                    body, strlen(body), on_put,
                                                    &w, err),
                       err);
    strata_ref_free(ref);
    if (rc == 0 && out != NULL)
        *out = w.digest;
    else
        free(w.digest);
    return rc;
}

/* The manifest under tag of the target's repository, or NULL when absent. */
static int
get_tagged(strata_manifest **out, strata_rebase__ctx *c, const char *tag,
           strata_error *err)
{
    strata_ref *ref = NULL;
    char *s = strata_xasprintf("%s:%s", strata_ref_name(c->target), tag);
    swait w = {0};
    int rc = strata_ref_parse(&ref, s, err);

    free(s);
    *out = NULL;
    if (rc == 0)
        rc = swait_run(c, &w,
                       strata_registry_get_manifest_max(
                           c->reg, ref, MAX_SIG_MANIFEST, on_manifest, &w, err),
                       err);
    strata_ref_free(ref);
    if (rc == STRATA_ENOTFOUND) {
        strata_manifest_free(w.m);
        return 0;
    }
    if (rc == 0)
        *out = w.m;
    return rc;
}

static json_t *
descriptor(const char *media_type, const void *data, size_t len)
{
    char *digest = sha256_of(data, len);
    json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest",
                          digest, "size", (json_int_t) len);

    free(digest);
    return d;
}

/* The image config cosign gives a signature manifest: one layer, the
 * payload (uncompressed, so its diff_id is its digest). */
static char *
cosign_config(const char *payload_digest)
{
    json_t *cfg = json_pack("{s:s, s:s, s:[{s:s}], s:s, s:{s:s, s:[s]}, s:{}}",
                            "architecture", "", "created",
                            "0001-01-01T00:00:00Z", "history", "created",
                            "0001-01-01T00:00:00Z", "os", "", "rootfs", "type",
                            "layers", "diff_ids", payload_digest, "config");
    char *s = json_dumps(cfg, JSON_COMPACT);

    json_decref(cfg);
    return s;
}

/* Whether the layer with payload's digest in m verifies under key. */
static int
already_signed(const strata_manifest *m, const char *payload, size_t len,
               const char *payload_digest, const char *digest, const char *repo,
               const strata_verify_signing_key *key)
{
    json_t *j = json_loadb(m->body, m->body_len, 0, NULL), *l;
    strata_verify_key *pub = NULL;
    strata_verify_policy policy = {0};
    char *pem = strata_verify_signing_key_public_pem(key);
    size_t i;
    int found = 0;

    if (pem != NULL && strata_verify_key_parse(&pub, pem, strlen(pem),
                                               "signing key", NULL) == 0) {
        policy.keys = &pub;
        policy.nkeys = 1;
        json_array_foreach (json_object_get(j, "layers"), i, l) {
            const char *d = json_string_value(json_object_get(l, "digest"));

            if (d != NULL && strcmp(d, payload_digest) == 0 &&
                strata_verify_cosign(NULL, payload, len,
                                     json_object_get(l, "annotations"), digest,
                                     repo, &policy, NULL) == 0)
                found = 1;
        }
    }
    strata_verify_key_free(pub);
    free(pem);
    json_decref(j);
    return found;
}

static int
sign_cosign(strata_rebase__ctx *c, const strata_verify_signing_key *key,
            const char *digest, strata_error *err)
{
    const char *repo = strata_ref_name(c->target);
    char *payload = NULL, *sig = NULL, *config = NULL, *pd = NULL, *body = NULL,
         *tag = strata_xasprintf("sha256-%s.sig", digest + 7);
    strata_manifest *old = NULL;
    json_t *m = NULL, *layers, *layer;
    size_t plen = 0;
    int rc;

    if ((rc = strata_verify_cosign_payload(&payload, &plen, repo, digest,
                                           err)) != 0 ||
        (rc = strata_verify_sign(&sig, key, payload, plen, err)) != 0)
        goto out;
    pd = sha256_of(payload, plen);
    if ((rc = get_tagged(&old, c, tag, err)) != 0)
        goto out;
    if (old != NULL && !old->is_index &&
        already_signed(old, payload, plen, pd, digest, repo, key)) {
        c->res->signature = strata_xstrdup(old->digest);
        goto out;
    }
    layers = json_array();
    if (old != NULL && !old->is_index) {
        /* Another signer's signatures stay; ours is added. */
        json_t *oj = json_loadb(old->body, old->body_len, 0, NULL);
        json_t *ol = json_object_get(oj, "layers");
        size_t i;

        json_array_foreach (ol, i, layer)
            json_array_append(layers, layer);
        json_decref(oj);
    }
    layer = descriptor(STRATA_VERIFY_MT_SIMPLESIGNING, payload, plen);
    json_object_set_new(layer, "annotations",
                        json_pack("{s:s}", STRATA_VERIFY_ANN_SIGNATURE, sig));
    json_array_append_new(layers, layer);
    config = cosign_config(pd);
    m = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
                  STRATA_MT_OCI_MANIFEST, "config",
                  descriptor("application/vnd.oci.image.config.v1+json", config,
                             strlen(config)),
                  "layers", layers);
    body = json_dumps(m, JSON_COMPACT);
    if ((rc = push_blob(c, payload, plen, err)) != 0 ||
        (rc = push_blob(c, config, strlen(config), err)) != 0 ||
        (rc = put_manifest(&c->res->signature, c, tag, STRATA_MT_OCI_MANIFEST,
                           body, err)) != 0)
        goto out;
out:
    strata_manifest_free(old);
    json_decref(m);
    free(payload);
    free(sig);
    free(config);
    free(pd);
    free(body);
    free(tag);
    return rc;
}

/* The referrers tag schema: lists referrer in the "sha256-<hex>" index. */
static int
attest(strata_rebase__ctx *c, const strata_rebase_opts *o, const char *digest,
       int64_t started, strata_error *err)
{
    strata_verify_dependency deps[3];
    strata_verify_provenance p = {0};
    strata_artifact art = {0};
    swait w = {0};
    char *statement = NULL, *env = NULL, *body = NULL, *old_image = NULL,
         *old_base = NULL, *new_base = NULL;
    json_t *params = NULL, *m = NULL, *layer, *ann = NULL;
    size_t elen;
    int rc;

    old_image = strata_xasprintf("%s@%s", strata_ref_name(c->image),
                                 c->img_top->digest);
    old_base = strata_xasprintf("%s@%s", strata_ref_name(c->old_base),
                                c->old_top->digest);
    new_base = strata_xasprintf("%s@%s", strata_ref_name(c->new_base),
                                c->new_top->digest);
    deps[0] = (strata_verify_dependency){old_image, c->img_top->digest};
    deps[1] = (strata_verify_dependency){old_base, c->old_top->digest};
    deps[2] = (strata_verify_dependency){new_base, c->new_top->digest};
    params = json_pack("{s:s, s:s, s:s, s:s}", "image", o->image, "oldBase",
                       o->old_base, "newBase", o->new_base, "tag",
                       strata_ref_string(c->target));
    p.subject_name = strata_ref_name(c->target);
    p.subject_digest = digest;
    p.builder_id = o->builder_id;
    p.external_parameters = params;
    p.dependencies = deps;
    p.ndependencies = 3;
    p.started_on = started;
    p.finished_on = (int64_t) time(NULL);
    p.invocation_id = o->invocation_id;
    if ((rc = strata_verify_slsa_statement(&statement, &p, err)) != 0 ||
        (rc = strata_verify_dsse_sign(&env, o->signing_key,
                                      STRATA_VERIFY_MT_INTOTO, statement,
                                      strlen(statement), err)) != 0)
        goto out;
    elen = strlen(env);
    /* The subject: what the tag points to now (manifest or index). */
    art.artifact_type = STRATA_VERIFY_MT_DSSE;
    art.media_type = STRATA_VERIFY_MT_DSSE;
    art.data = env;
    art.len = elen;
    ann = json_pack("{s:s, s:s}", STRATA_VERIFY_ANN_SIGNATURE, "",
                    "predicateType", "https://slsa.dev/provenance/v1");
    art.layer_annotations = ann;
    art.subject_media_type = c->img_top->media_type;
    art.subject_digest = digest;
    art.subject_size = c->index != NULL
                           ? (int64_t) c->index_len
                           : (int64_t) c->plats[0].out.manifest_len;
    if ((rc = swait_run(
             c, &w,
             strata_registry_attach(c->reg, c->target, &art, on_put, &w, err),
             err)) != 0)
        goto out;
    c->res->attestation = w.digest;
    /* cosign's .att tag: the same envelope (its blobs are pushed), for
     * verify-attestation. */
    layer = descriptor(STRATA_VERIFY_MT_DSSE, env, elen);
    json_object_set(layer, "annotations", ann);
    m = json_pack("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "mediaType",
                  STRATA_MT_OCI_MANIFEST, "config",
                  descriptor("application/vnd.oci.empty.v1+json", "{}", 2),
                  "layers", layer);
    body = json_dumps(m, JSON_COMPACT);
    {
        char *tag = strata_xasprintf("sha256-%s.att", digest + 7);

        rc = put_manifest(NULL, c, tag, STRATA_MT_OCI_MANIFEST, body, err);
        free(tag);
    }
out:
    json_decref(params);
    json_decref(m);
    json_decref(ann);
    free(statement);
    free(env);
    free(body);
    free(old_image);
    free(old_base);
    free(new_base);
    return rc;
}

int
strata_rebase__sign(strata_rebase__ctx *c, int64_t started, strata_error *err)
{
    const strata_rebase_opts *o = c->opts;
    const char *digest = c->res->digest;
    int rc;

    if ((rc = sign_cosign(c, o->signing_key, digest, err)) != 0) {
        strata_error_wrap(err, "signing '%s@%s'", strata_ref_name(c->target),
                          digest);
        return rc;
    }
    if ((rc = attest(c, o, digest, started, err)) != 0) {
        strata_error_wrap(err, "attaching the provenance of '%s@%s'",
                          strata_ref_name(c->target), digest);
        return rc;
    }
    c->res->key_fingerprint =
        strata_xstrdup(strata_verify_signing_key_fingerprint(o->signing_key));
    log_info("rebase: signed '%s@%s' with key %s (signature %s, provenance "
             "%s)",
             strata_ref_name(c->target), digest, c->res->key_fingerprint,
             c->res->signature, c->res->attestation);
    return 0;
}
