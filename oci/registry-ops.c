/*
 * registry-ops.c - what callers ask of a registry, built on the request
 * layer: GET a manifest or index (full Accept list, digest verified
 * against the body and Docker-Content-Digest), GET a config blob
 * (verified), resolve the digest a tag points to (HEAD, or through the
 * index for one platform), and synchronous wrappers that run a private
 * loop for the CLI. Manifests and configs are read up to
 * STRATA_OCI__MAX_MANIFEST and no further. A tag whose digest cannot be
 * learnt (no Docker-Content-Digest on the HEAD, an empty GET) is an error
 * that says so, after one GET.
 */
#include <stdlib.h>
#include <string.h>

#include "oci-int.h"

/* Manifests and configs are small; anything bigger is not one. */
#define MAX_MANIFEST_BYTES STRATA_OCI__MAX_MANIFEST

typedef struct op {
    strata_registry *reg;
    strata_ref *ref;
    char *platform;
    char *digest; /* config blob wanted */
    strata_registry_manifest_cb manifest_cb;
    strata_registry_config_cb config_cb;
    strata_registry_digest_cb digest_cb;
    void *arg;
    char *found; /* digest op: the manifest digest chosen */
} op;

static op *
op_new(strata_registry *reg, const strata_ref *ref, void *arg)
{
    op *o = strata_xcalloc(1, sizeof(*o));

    o->reg = reg;
    o->ref = strata_ref_dup(ref);
    o->arg = arg;
    return o;
}

static void
op_free(op *o)
{
    strata_ref_free(o->ref);
    free(o->platform);
    free(o->digest);
    free(o->found);
    free(o);
}

/* The tag or digest of the reference, as used in URLs. */
static const char *
ref_reference(const strata_ref *ref)
{
    return strata_ref_digest(ref) ? strata_ref_digest(ref)
                                  : strata_ref_tag(ref);
}

/*
 * Checks body against the digest the reference asked for and the one the
 * registry claims. Only sha256 can be recomputed; others are compared as
 * given.
 */
static int
verify_digest(const char *computed, const char *wanted, const char *header,
              const char *what, strata_error *err)
{
    if (wanted != NULL && strncmp(wanted, "sha256:", 7) == 0 &&
        strcmp(wanted, computed) != 0)
        return strata_error_set(err, STRATA_EPROTO,
                                "digest mismatch for '%s': asked for '%s', "
                                "got '%s'",
                                what, wanted, computed);
    if (header != NULL && strncmp(header, "sha256:", 7) == 0 &&
        strcmp(header, computed) != 0)
        return strata_error_set(err, STRATA_EPROTO,
                                "digest mismatch for '%s': registry says "
                                "'%s', content is '%s'",
                                what, header, computed);
    return 0;
}

static int
manifest_from_response(strata_manifest **out, const strata_ref *ref,
                       const strata_http_response *resp, strata_error *err)
{
    strata_manifest *m = NULL;
    int rc;

    *out = NULL;
    if (resp->body.len > MAX_MANIFEST_BYTES)
        return strata_error_set(err, STRATA_ETOOBIG,
                                "manifest of '%s' is "
                                "too big",
                                strata_ref_string(ref));
    rc = strata_manifest_parse(
        &m, resp->body.ptr, resp->body.len,
        strata_http_response_header(resp, "content-type"), err);
    if (rc != 0)
        return strata_error_wrap(err, "'%s'", strata_ref_string(ref));
    rc = verify_digest(
        m->digest, strata_ref_digest(ref),
        strata_http_response_header(resp, "docker-content-digest"),
        strata_ref_string(ref), err);
    if (rc != 0) {
        strata_manifest_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static int
send_op(op *o, const char *method, const char *what, const char *reference,
        const char *accept, strata_oci__req_cb cb, strata_error *err)
{
    char *path = strata_xasprintf("/v2/%s/%s/%s", strata_ref_path(o->ref), what,
                                  reference);
    strata_oci__req_opts ro = {0};
    int rc;

    ro.accept = accept;
    ro.max_body = MAX_MANIFEST_BYTES;
    rc = strata_oci__request_ex(o->reg, strata_ref_domain(o->ref),
                                strata_ref_path(o->ref), method, path, &ro, cb,
                                o, err);

    free(path);
    return rc;
}

/* ---- GET manifest ----------------------------------------------------- */

static void
on_manifest(const strata_http_response *resp, const strata_error *rerr,
            void *arg)
{
    op *o = arg;
    strata_error err = {0};
    strata_manifest *m = NULL;

    if (rerr != NULL)
        err = *rerr;
    else
        manifest_from_response(&m, o->ref, resp, &err);
    o->manifest_cb(m, err.code ? &err : NULL, o->arg);
    op_free(o);
}

int
strata_registry_get_manifest(strata_registry *reg, const strata_ref *ref,
                             strata_registry_manifest_cb cb, void *arg,
                             strata_error *err)
{
    op *o = op_new(reg, ref, arg);
    int rc;

    o->manifest_cb = cb;
    rc = send_op(o, "GET", "manifests", ref_reference(ref),
                 STRATA_MANIFEST_ACCEPT, on_manifest, err);
    if (rc != 0)
        op_free(o);
    return rc;
}

/* ---- GET config ------------------------------------------------------- */

static void
on_config(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    op *o = arg;
    strata_error err = {0};
    strata_image_config *c = NULL;

    if (rerr != NULL) {
        err = *rerr;
    } else if (resp->body.len > MAX_MANIFEST_BYTES) {
        strata_error_set(&err, STRATA_ETOOBIG, "config '%s' is too big",
                         o->digest);
    } else if (strata_image_config_parse(&c, resp->body.ptr, resp->body.len,
                                         &err) == 0 &&
               verify_digest(c->digest, o->digest, NULL, o->digest, &err) !=
                   0) {
        strata_image_config_free(c);
        c = NULL;
    }
    o->config_cb(c, err.code ? &err : NULL, o->arg);
    op_free(o);
}

int
strata_registry_get_config(strata_registry *reg, const strata_ref *ref,
                           const char *digest, strata_registry_config_cb cb,
                           void *arg, strata_error *err)
{
    op *o;
    int rc;

    rc = strata_digest_validate(digest, err);
    if (rc != 0)
        return rc;
    o = op_new(reg, ref, arg);
    o->config_cb = cb;
    o->digest = strata_xstrdup(digest);
    rc = send_op(o, "GET", "blobs", digest, NULL, on_config, err);
    if (rc != 0)
        op_free(o);
    return rc;
}

/* ---- digest ----------------------------------------------------------- */

static void
digest_done(op *o, char *digest, const strata_error *err)
{
    o->digest_cb(digest, err, o->arg);
    op_free(o);
}

/* A single-platform manifest: its config says which platform it is. */
static void
on_platform_config(strata_image_config *c, const strata_error *cerr, void *arg)
{
    op *o = arg;
    strata_error err = {0};
    char *os, *arch, *variant, *found = o->found;

    if (cerr != NULL) {
        digest_done(o, NULL, cerr);
        return;
    }
    strata_oci__platform_split(&os, &arch, &variant, o->platform);
    if (c->os != NULL && c->arch != NULL && strcmp(c->os, os) == 0 &&
        strcmp(c->arch, arch) == 0 &&
        (variant == NULL || c->variant == NULL ||
         strcmp(variant, c->variant) == 0)) {
        o->found = NULL;
        digest_done(o, found, NULL);
    } else {
        strata_error_set(&err, STRATA_ENOTFOUND, "'%s' is %s/%s, not '%s'",
                         strata_ref_string(o->ref), c->os ? c->os : "?",
                         c->arch ? c->arch : "?", o->platform);
        digest_done(o, NULL, &err);
    }
    free(os);
    free(arch);
    free(variant);
    strata_image_config_free(c);
}

static void
on_platform_manifest(strata_manifest *m, const strata_error *merr, void *arg)
{
    op *o = arg;
    strata_error err = {0};
    const strata_descriptor *d;

    if (merr != NULL) {
        digest_done(o, NULL, merr);
        return;
    }
    if (m->is_index) {
        d = strata_manifest_find_platform(m, o->platform);
        if (d == NULL) {
            strata_error_set(&err, STRATA_ENOTFOUND, "no platform '%s' in '%s'",
                             o->platform, strata_ref_string(o->ref));
            digest_done(o, NULL, &err);
        } else {
            digest_done(o, strata_xstrdup(d->digest), NULL);
        }
    } else {
        o->found = strata_xstrdup(m->digest);
        if (strata_registry_get_config(o->reg, o->ref, m->config.digest,
                                       on_platform_config, o, &err) != 0)
            digest_done(o, NULL, &err);
    }
    strata_manifest_free(m);
}

/*
 * The GET after a HEAD that named no digest: the body's hash is the
 * digest. Never another request from here: an empty body ends the check.
 */
static void
on_head_get(const strata_http_response *resp, const strata_error *rerr,
            void *arg)
{
    op *o = arg;
    strata_error err = {0};
    strata_manifest *m = NULL;
    char *found;

    if (rerr != NULL) {
        digest_done(o, NULL, rerr);
        return;
    }
    if (resp->body.len == 0) {
        strata_error_set(&err, STRATA_EPROTO,
                         "cannot learn the digest of '%s': the registry sent "
                         "no Docker-Content-Digest and an empty manifest",
                         strata_ref_string(o->ref));
        digest_done(o, NULL, &err);
        return;
    }
    if (manifest_from_response(&m, o->ref, resp, &err) != 0) {
        digest_done(o, NULL, &err);
        return;
    }
    found = strata_xstrdup(m->digest);
    strata_manifest_free(m);
    digest_done(o, found, NULL);
}

static void
on_head(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    op *o = arg;
    strata_error err = {0};
    const char *d;

    if (rerr != NULL) {
        digest_done(o, NULL, rerr);
        return;
    }
    d = strata_http_response_header(resp, "docker-content-digest");
    if (d != NULL && strata_digest_validate(d, NULL) == 0) {
        if (strata_ref_digest(o->ref) != NULL &&
            strcmp(d, strata_ref_digest(o->ref)) != 0) {
            strata_error_set(&err, STRATA_EPROTO,
                             "digest mismatch for '%s': registry says '%s'",
                             strata_ref_string(o->ref), d);
            digest_done(o, NULL, &err);
            return;
        }
        digest_done(o, strata_xstrdup(d), NULL);
        return;
    }
    /* No usable Docker-Content-Digest: GET once and hash the body. */
    if (send_op(o, "GET", "manifests", ref_reference(o->ref),
                STRATA_MANIFEST_ACCEPT, on_head_get, &err) != 0)
        digest_done(o, NULL, &err);
}

int
strata_registry_digest(strata_registry *reg, const strata_ref *ref,
                       const char *platform, strata_registry_digest_cb cb,
                       void *arg, strata_error *err)
{
    op *o;
    int rc;

    if (platform != NULL && (rc = strata_platform_validate(platform, err)))
        return rc;
    o = op_new(reg, ref, arg);
    o->digest_cb = cb;
    if (platform != NULL) {
        o->platform = strata_xstrdup(platform);
        rc = strata_registry_get_manifest(reg, ref, on_platform_manifest, o,
                                          err);
    } else {
        rc = send_op(o, "HEAD", "manifests", ref_reference(ref),
                     STRATA_MANIFEST_ACCEPT, on_head, err);
    }
    if (rc != 0)
        op_free(o);
    return rc;
}

/* ---- synchronous wrappers --------------------------------------------- */

typedef struct sync_ctx {
    void *result;
    strata_error err;
    int done;
} sync_ctx;

static void
sync_store(sync_ctx *s, void *result, const strata_error *err)
{
    s->result = result;
    if (err != NULL)
        s->err = *err;
    s->done = 1;
}

static void
on_sync_digest(char *digest, const strata_error *err, void *arg)
{
    sync_store(arg, digest, err);
}

static void
on_sync_manifest(strata_manifest *m, const strata_error *err, void *arg)
{
    sync_store(arg, m, err);
}

static void
on_sync_config(strata_image_config *c, const strata_error *err, void *arg)
{
    sync_store(arg, c, err);
}

enum {
    SYNC_DIGEST,
    SYNC_MANIFEST,
    SYNC_CONFIG
};

static int
run_sync(void **out, int kind, const strata_registry_opts *opts,
         const strata_ref *ref, const char *extra, strata_error *err)
{
    uv_loop_t loop;
    strata_registry *reg = NULL;
    sync_ctx s = {0};
    int rc;

    *out = NULL;
    uv_loop_init(&loop);
    rc = strata_registry_new(&reg, &loop, opts, err);
    if (rc != 0)
        goto out;
    if (kind == SYNC_DIGEST)
        rc = strata_registry_digest(reg, ref, extra, on_sync_digest, &s, err);
    else if (kind == SYNC_MANIFEST)
        rc = strata_registry_get_manifest(reg, ref, on_sync_manifest, &s, err);
    else
        rc = strata_registry_get_config(reg, ref, extra, on_sync_config, &s,
                                        err);
    if (rc == 0) {
        while (!s.done)
            uv_run(&loop, UV_RUN_ONCE);
        if (s.err.code != 0) {
            rc = s.err.code;
            if (err != NULL)
                *err = s.err;
        } else {
            *out = s.result;
        }
    }
out:
    strata_registry_close(reg);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        log_warn("registry: loop left with open handles");
    return rc;
}

int
strata_registry_digest_sync(char **out, const strata_registry_opts *opts,
                            const strata_ref *ref, const char *platform,
                            strata_error *err)
{
    return run_sync((void **) out, SYNC_DIGEST, opts, ref, platform, err);
}

int
strata_registry_get_manifest_sync(strata_manifest **out,
                                  const strata_registry_opts *opts,
                                  const strata_ref *ref, strata_error *err)
{
    return run_sync((void **) out, SYNC_MANIFEST, opts, ref, NULL, err);
}
