/*
 * push-manifest.c - the whole-object transfers push.c's blob uploads need
 * around them: PUT of a manifest or index under a tag or digest (with its
 * media type as Content-Type, the registry's Docker-Content-Digest checked
 * against the sha256 of the exact bytes sent), and GET of a blob into
 * memory with its sha256 verified (a config to rewrite, or a layer to copy
 * between registries).
 */
#include <stdlib.h>
#include <string.h>

#include "oci-int.h"

/* ---- PUT manifest ----------------------------------------------------- */

typedef struct put_op {
    char *body; /* owned copy: the request layer borrows it */
    size_t len;
    char *digest; /* sha256 of body */
    char *what;   /* the reference, for messages */
    strata_registry_digest_cb cb;
    void *arg;
} put_op;

static void
put_free(put_op *o)
{
    free(o->body);
    free(o->digest);
    free(o->what);
    free(o);
}

static void
on_put(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    put_op *o = arg;
    strata_error err = {0};
    const char *d;

    if (rerr != NULL) {
        o->cb(NULL, rerr, o->arg);
        put_free(o);
        return;
    }
    d = strata_http_response_header(resp, "docker-content-digest");
    if (d != NULL && strcmp(d, o->digest) != 0) {
        strata_error_set(&err, STRATA_EPROTO,
                         "'%s' stored the manifest as '%s', its bytes are "
                         "'%s'",
                         o->what, d, o->digest);
        o->cb(NULL, &err, o->arg);
        put_free(o);
        return;
    }
    o->cb(o->digest, NULL, o->arg);
    o->digest = NULL;
    put_free(o);
}

int
strata_registry_put_manifest(strata_registry *reg, const strata_ref *ref,
                             const char *media_type, const char *body,
                             size_t len, strata_registry_digest_cb cb,
                             void *arg, strata_error *err)
{
    strata_oci__req_opts ro = {0};
    put_op *o;
    char hex[65], *path, *scope;
    const char *reference;
    int rc;

    if (media_type == NULL || media_type[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "no media type for manifest '%s'",
                                strata_ref_string(ref));
    strata_sha256_hex(hex, body, len);
    o = strata_xcalloc(1, sizeof(*o));
    o->digest = strata_xasprintf("sha256:%s", hex);
    if (strata_ref_digest(ref) != NULL &&
        strcmp(strata_ref_digest(ref), o->digest) != 0) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "manifest for '%s' hashes to '%s'",
                              strata_ref_string(ref), o->digest);
        put_free(o);
        return rc;
    }
    o->body = strata_xmalloc(len + 1);
    memcpy(o->body, body, len);
    o->body[len] = '\0';
    o->len = len;
    o->what = strata_xstrdup(strata_ref_string(ref));
    o->cb = cb;
    o->arg = arg;
    reference =
        strata_ref_tag(ref) ? strata_ref_tag(ref) : strata_ref_digest(ref);
    path = strata_xasprintf("/v2/%s/manifests/%s", strata_ref_path(ref),
                            reference);
    scope = strata_xasprintf("repository:%s:pull,push", strata_ref_path(ref));
    ro.content_type = media_type;
    ro.body = o->body;
    ro.body_len = o->len;
    ro.scope = scope;
    rc = strata_oci__request_ex(reg, strata_ref_domain(ref),
                                strata_ref_path(ref), "PUT", path, &ro, on_put,
                                o, err);
    free(path);
    free(scope);
    if (rc != 0)
        put_free(o);
    return rc;
}

/* ---- GET blob --------------------------------------------------------- */

typedef struct blob_op {
    char *digest;
    strata_registry_blob_cb cb;
    void *arg;
} blob_op;

static void
on_blob(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    blob_op *o = arg;
    strata_error err = {0};
    strata_buf body = STRATA_BUF_INIT;
    char hex[65];
    size_t len;

    if (rerr != NULL) {
        o->cb(NULL, 0, rerr, o->arg);
        goto out;
    }
    strata_sha256_hex(hex, resp->body.ptr, resp->body.len);
    if (strncmp(o->digest, "sha256:", 7) == 0 &&
        strcmp(o->digest + 7, hex) != 0) {
        strata_error_set(&err, STRATA_EPROTO,
                         "digest mismatch for blob '%s': content is "
                         "'sha256:%s'",
                         o->digest, hex);
        o->cb(NULL, 0, &err, o->arg);
        goto out;
    }
    /* The response is borrowed: copy the bytes out for the caller. */
    strata_buf_add(&body, resp->body.ptr, resp->body.len);
    len = body.len;
    o->cb(strata_buf_detach(&body), len, NULL, o->arg);
out:
    free(o->digest);
    free(o);
}

int
strata_registry_get_blob(strata_registry *reg, const strata_ref *ref,
                         const char *digest, size_t max,
                         strata_registry_blob_cb cb, void *arg,
                         strata_error *err)
{
    strata_oci__req_opts ro = {0};
    blob_op *o;
    char *path;
    int rc;

    rc = strata_digest_validate(digest, err);
    if (rc != 0)
        return rc;
    o = strata_xcalloc(1, sizeof(*o));
    o->digest = strata_xstrdup(digest);
    o->cb = cb;
    o->arg = arg;
    path = strata_xasprintf("/v2/%s/blobs/%s", strata_ref_path(ref), digest);
    ro.max_body = max ? max : (size_t) 64 * 1024 * 1024;
    rc = strata_oci__request_ex(reg, strata_ref_domain(ref),
                                strata_ref_path(ref), "GET", path, &ro, on_blob,
                                o, err);
    free(path);
    if (rc != 0) {
        free(o->digest);
        free(o);
    }
    return rc;
}
