/*
 * blob-stream.c - reading a blob as a stream: a GET whose body goes to
 * the caller's sink as it arrives, never held whole. The bytes are hashed
 * as they pass and the GET reads at most the descriptor's size (a larger
 * Content-Length is refused before reading), so when the callback reports
 * success the caller has seen exactly the blob its digest names. A sink
 * may pause the transfer (STRATA_HTTP_PAUSE) and resume it later with
 * strata_http_resume(), which is how a reader that pulls (libarchive)
 * takes its bytes at its own pace with bounded memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "oci-int.h"

typedef struct stream_op {
    strata_ref *ref;
    char *digest;
    int64_t size;
    uint64_t received;
    EVP_MD_CTX *md;
    strata_http_sink_cb sink;
    strata_registry_stream_cb cb;
    void *arg;
} stream_op;

static void
stream_free(stream_op *o)
{
    strata_ref_free(o->ref);
    free(o->digest);
    EVP_MD_CTX_free(o->md);
    free(o);
}

/* The body as it arrives: hashed once the caller's sink has taken it. */
static int
on_body(strata_http_transfer *t, const char *data, size_t len, void *arg)
{
    stream_op *o = arg;
    int rc = o->sink(t, data, len, o->arg);

    if (rc == 0) {
        EVP_DigestUpdate(o->md, data, len);
        o->received += len;
    }
    return rc;
}

static void
on_get(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    stream_op *o = arg;
    strata_error err = {0};

    (void) resp;
    if (rerr != NULL && rerr->code == STRATA_ETOOBIG)
        strata_error_set(&err, STRATA_ETOOBIG,
                         "blob '%s' of '%s' is larger than its descriptor's "
                         "%lld bytes",
                         o->digest, strata_ref_name(o->ref),
                         (long long) o->size);
    else if (rerr != NULL)
        err = *rerr;
    else
        strata_oci__blob_check(o->md, o->received, o->size, o->digest, o->ref,
                               &err);
    o->cb(err.code != 0 ? &err : NULL, o->arg);
    stream_free(o);
}

int
strata_registry_stream_blob(strata_registry *reg, const strata_ref *ref,
                            const char *digest, int64_t size,
                            strata_http_sink_cb sink,
                            strata_registry_stream_cb cb, void *arg,
                            strata_error *err)
{
    strata_oci__req_opts ro = {0};
    stream_op *o;
    char *path;
    int rc;

    if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
        return strata_error_set(err, STRATA_EINVAL,
                                "cannot stream blob '%s': not a sha256 digest",
                                digest);
    if (size < 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "cannot stream blob '%s': negative size",
                                digest);
    o = strata_xcalloc(1, sizeof(*o));
    o->ref = strata_ref_dup(ref);
    o->digest = strata_xstrdup(digest);
    o->size = size;
    o->sink = sink;
    o->cb = cb;
    o->arg = arg;
    o->md = EVP_MD_CTX_new();
    if (o->md == NULL || EVP_DigestInit_ex(o->md, EVP_sha256(), NULL) != 1)
        abort();
    path = strata_xasprintf("/v2/%s/blobs/%s", strata_ref_path(ref), digest);
    /* Never more than the descriptor says (at least 1: 0 means default). */
    ro.max_body = size > 0 ? (size_t) size : 1;
    ro.sink = on_body;
    ro.sink_arg = o;
    rc = strata_oci__request_ex(reg, strata_ref_domain(ref),
                                strata_ref_path(ref), "GET", path, &ro, on_get,
                                o, err);
    free(path);
    if (rc != 0)
        stream_free(o);
    return rc;
}
