/*
 * blob-copy.c - copying a blob from one repository to another, on the
 * same registry or across registries, without holding it in memory: HEAD
 * on the target (it may have it), a cross-repository mount when both live
 * on one registry, else a GET from the source whose body streams into a
 * chunked upload to the target.
 *
 * The GET's body goes to a sink (core's strata_http_sink_cb) that fills
 * one buffer of chunk_size bytes while the previous one is PATCHed to the
 * target; when both are busy the GET is paused, and the PATCH's answer
 * resumes it. So at most two chunks are held, whatever the blob's size.
 * The GET reads at most the descriptor's size (a larger Content-Length is
 * refused before reading, a longer body stops there), and the bytes are
 * hashed as they pass: a body of another length or digest is refused and
 * the upload abandoned (DELETE), never finished.
 *
 * One copy is a state machine (copy_op) whose steps are requests through
 * registry.c's request layer; copy_step() sends the step of the current
 * state, and copy_settle() alone decides what comes after the stream.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "oci-int.h"

#define DEFAULT_CHUNK ((size_t) 8 * 1024 * 1024)

typedef enum copy_state {
    CS_CHECK,   /* HEAD the blob on the target */
    CS_MOUNT,   /* POST ?mount=&from= on the target */
    CS_START,   /* POST: open an upload session on the target */
    CS_STREAM,  /* GET from the source, PATCH chunks to the target */
    CS_FINISH,  /* the closing PUT ?digest= */
    CS_ABANDON, /* DELETE the session after a failure */
    CS_DONE,
} copy_state;

static const char *const state_names[] = {
    "check", "mount", "start", "stream", "finish", "abandon", "done",
};

typedef struct copy_op {
    strata_registry *reg;
    strata_ref *src, *dst;
    char *digest;
    int64_t size; /* from the descriptor: what the GET may read */
    size_t chunk;
    char *scope;      /* the target's push scope (and the source's pull) */
    char *mount_from; /* the source's path, when a mount is worth trying */
    char *location;   /* the upload session */
    char *range;      /* Content-Range of the PATCH under way */
    int no_check;
    copy_state state;
    /* The stream: fill takes the GET's bytes while send is PATCHed. */
    strata_buf fill, send;
    uint64_t offset; /* bytes PATCHed and acknowledged */
    uint64_t received;
    EVP_MD_CTX *md;
    int get_running, get_done, patch_running;
    strata_http_transfer *paused; /* the GET, while it waits for a PATCH */
    int failed;
    strata_error err; /* the first failure */
    strata_blob_outcome outcome;
    strata_registry_push_cb cb;
    void *arg;
} copy_op;

static void copy_step(copy_op *o);
static void copy_settle(copy_op *o);

static void
copy_set_state(copy_op *o, copy_state s)
{
    log_debug("copy '%s' -> '%s' %s: %s -> %s", strata_ref_name(o->src),
              strata_ref_name(o->dst), o->digest, state_names[o->state],
              state_names[s]);
    o->state = s;
}

static void
copy_free(copy_op *o)
{
    strata_ref_free(o->src);
    strata_ref_free(o->dst);
    free(o->digest);
    free(o->scope);
    free(o->mount_from);
    free(o->location);
    free(o->range);
    strata_buf_release(&o->fill);
    strata_buf_release(&o->send);
    EVP_MD_CTX_free(o->md);
    free(o);
}

static void
copy_finish(copy_op *o, const strata_error *err)
{
    copy_set_state(o, CS_DONE);
    o->cb(err ? (strata_blob_outcome) 0 : o->outcome, o->offset, err, o->arg);
    copy_free(o);
}

/* Keeps the first failure; the copy ends once nothing is under way. */
static void
copy_fail(copy_op *o, const strata_error *err)
{
    if (!o->failed) {
        o->failed = 1;
        o->err = *err;
    }
}

/* ---- the stream --------------------------------------------------------- */

static void
on_patch(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    copy_op *o = arg;
    strata_error err = {0};
    strata_http_transfer *t = o->paused;

    o->patch_running = 0;
    if (rerr != NULL)
        copy_fail(o, rerr);
    else if (strata_oci__take_location(&o->location, o->dst, resp, &err) != 0)
        copy_fail(o, &err);
    else
        o->offset += o->send.len;
    strata_buf_reset(&o->send);
    /*
     * The GET waited for this PATCH: let it go on (after a failure, its
     * sink then stops it). The sink may run from inside the resume and
     * start the next PATCH.
     */
    if (t != NULL) {
        o->paused = NULL;
        strata_http_resume(t);
    }
    copy_settle(o);
}

/* PATCHes the filled buffer to the target (it becomes send). */
static void
start_patch(copy_op *o)
{
    strata_oci__req_opts ro = {0};
    strata_error err = {0};
    strata_buf tmp = o->send;

    o->send = o->fill;
    o->fill = tmp;
    strata_buf_reset(&o->fill);
    free(o->range);
    o->range =
        strata_xasprintf("%llu-%llu", (unsigned long long) o->offset,
                         (unsigned long long) (o->offset + o->send.len - 1));
    ro.scope = o->scope;
    ro.content_type = "application/octet-stream";
    ro.content_range = o->range;
    ro.body = o->send.ptr;
    ro.body_len = o->send.len;
    if (strata_oci__request_ex(o->reg, strata_ref_domain(o->dst),
                               strata_ref_path(o->dst), "PATCH", o->location,
                               &ro, on_patch, o, &err) != 0)
        copy_fail(o, &err);
    else
        o->patch_running = 1;
}

/* The GET's body, as it arrives. */
static int
on_body(strata_http_transfer *t, const char *data, size_t len, void *arg)
{
    copy_op *o = arg;

    if (o->failed)
        return STRATA_ECANCELED;
    if (o->fill.len > 0 && o->fill.len + len > o->chunk) {
        if (o->patch_running) {
            /* Both buffers are busy: wait for the PATCH to answer. */
            o->paused = t;
            return STRATA_HTTP_PAUSE;
        }
        start_patch(o);
        if (o->failed)
            return STRATA_ECANCELED;
    }
    strata_buf_add(&o->fill, data, len);
    EVP_DigestUpdate(o->md, data, len);
    o->received += len;
    return 0;
}

/* Checks what the GET gave against the descriptor: size, then digest. */
int
strata_oci__blob_check(EVP_MD_CTX *md, uint64_t received, int64_t size,
                       const char *digest, const strata_ref *ref,
                       strata_error *err)
{
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    unsigned int i;

    if (received != (uint64_t) size)
        return strata_error_set(err, STRATA_EPROTO,
                                "blob '%s' of '%s' has %llu bytes, its "
                                "descriptor says %lld",
                                digest, strata_ref_name(ref),
                                (unsigned long long) received,
                                (long long) size);
    EVP_DigestFinal_ex(md, sum, &mdlen);
    for (i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", sum[i]);
    if (strcmp(hex, digest + 7) != 0)
        return strata_error_set(err, STRATA_EPROTO,
                                "digest mismatch for blob '%s' of '%s': "
                                "content is 'sha256:%s'",
                                digest, strata_ref_name(ref), hex);
    return 0;
}

static void
on_get(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    copy_op *o = arg;
    strata_error err = {0};

    (void) resp;
    o->get_running = 0;
    o->get_done = 1;
    o->paused = NULL;
    if (rerr != NULL) {
        /* Our own sink's stop is not the news: the failure behind it is. */
        if (!o->failed && rerr->code == STRATA_ETOOBIG)
            strata_error_set(&err, STRATA_ETOOBIG,
                             "blob '%s' of '%s' is larger than its "
                             "descriptor's %lld bytes",
                             o->digest, strata_ref_name(o->src),
                             (long long) o->size);
        copy_fail(o, err.code ? &err : rerr);
    } else if (!o->failed &&
               strata_oci__blob_check(o->md, o->received, o->size, o->digest,
                                      o->src, &err) != 0)
        copy_fail(o, &err);
    copy_settle(o);
}

static void
start_get(copy_op *o)
{
    strata_oci__req_opts ro = {0};
    strata_error err = {0};
    char *path =
        strata_xasprintf("/v2/%s/blobs/%s", strata_ref_path(o->src), o->digest);
    size_t want = (uint64_t) o->size < o->chunk ? (size_t) o->size : o->chunk;

    /*
     * Both buffers are sized once, so they never move or grow while the
     * stream runs (a curl write is at most CURL_MAX_WRITE_SIZE, 16 KiB,
     * but one held back by a pause may be larger).
     */
    strata_buf_grow(&o->fill, want + 65536);
    strata_buf_grow(&o->send, want + 65536);
    /* Never more than the descriptor says (at least 1: 0 means default). */
    ro.max_body = o->size > 0 ? (size_t) o->size : 1;
    ro.sink = on_body;
    ro.sink_arg = o;
    if (strata_oci__request_ex(o->reg, strata_ref_domain(o->src),
                               strata_ref_path(o->src), "GET", path, &ro,
                               on_get, o, &err) != 0) {
        o->get_done = 1;
        copy_fail(o, &err);
    } else {
        o->get_running = 1;
    }
    free(path);
}

/*
 * What comes next in the stream: nothing while a request is under way;
 * after a failure, abandon the session; once the GET is done, PATCH what
 * is left, then finish.
 */
static void
copy_settle(copy_op *o)
{
    if (o->state != CS_STREAM)
        return;
    if (o->failed) {
        if (o->paused != NULL) {
            strata_http_transfer *t = o->paused;

            /* Resumed, its sink stops it; on_get settles again. */
            o->paused = NULL;
            strata_http_resume(t);
            return;
        }
        if (o->get_running || o->patch_running)
            return;
        copy_set_state(o, CS_ABANDON);
        copy_step(o);
        return;
    }
    if (!o->get_done || o->patch_running)
        return;
    if (o->fill.len > 0) {
        start_patch(o);
        if (o->failed)
            copy_settle(o);
        return;
    }
    copy_set_state(o, CS_FINISH);
    copy_step(o);
}

/* ---- the steps around the stream ---------------------------------------- */

static void
on_answer(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    copy_op *o = arg;
    strata_error err = {0};

    switch (o->state) {
    case CS_CHECK:
        if (rerr == NULL) {
            o->outcome = STRATA_BLOB_EXISTED;
            copy_finish(o, NULL);
            return;
        }
        if (rerr->code != STRATA_ENOTFOUND) {
            copy_finish(o, rerr);
            return;
        }
        copy_set_state(o, o->mount_from ? CS_MOUNT : CS_START);
        break;
    case CS_MOUNT:
        if (rerr != NULL) {
            copy_finish(o, rerr);
            return;
        }
        if (resp->status == 201) {
            if (strata_oci__check_blob_digest(o->dst, o->digest, resp, &err) !=
                0) {
                copy_finish(o, &err);
                return;
            }
            o->outcome = STRATA_BLOB_MOUNTED;
            copy_finish(o, NULL);
            return;
        }
        /* 202: an ordinary upload session instead; stream into it. */
        if (strata_oci__take_location(&o->location, o->dst, resp, &err) != 0) {
            copy_finish(o, &err);
            return;
        }
        copy_set_state(o, CS_STREAM);
        break;
    case CS_START:
        if (rerr != NULL ||
            strata_oci__take_location(&o->location, o->dst, resp, &err) != 0) {
            copy_finish(o, rerr ? rerr : &err);
            return;
        }
        copy_set_state(o, CS_STREAM);
        break;
    case CS_FINISH:
        if (rerr != NULL ||
            strata_oci__check_blob_digest(o->dst, o->digest, resp, &err) != 0) {
            copy_finish(o, rerr ? rerr : &err);
            return;
        }
        o->outcome = STRATA_BLOB_UPLOADED;
        copy_finish(o, NULL);
        return;
    case CS_ABANDON:
        /* Best effort: an abandoned session expires on its own anyway. */
        copy_finish(o, &o->err);
        return;
    case CS_STREAM:
    case CS_DONE:
        abort();
    }
    copy_step(o);
}

static void
copy_step(copy_op *o)
{
    strata_oci__req_opts ro = {0};
    strata_error err = {0};
    const char *method = "GET";
    char *path = NULL;
    int rc;

    ro.scope = o->scope;
    switch (o->state) {
    case CS_CHECK:
        method = "HEAD";
        path = strata_xasprintf("/v2/%s/blobs/%s", strata_ref_path(o->dst),
                                o->digest);
        break;
    case CS_MOUNT:
        method = "POST";
        path =
            strata_xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s",
                             strata_ref_path(o->dst), o->digest, o->mount_from);
        break;
    case CS_START:
        method = "POST";
        path =
            strata_xasprintf("/v2/%s/blobs/uploads/", strata_ref_path(o->dst));
        break;
    case CS_STREAM:
        start_get(o);
        copy_settle(o);
        return;
    case CS_FINISH:
        method = "PUT";
        path =
            strata_xasprintf("%s%sdigest=%s", o->location,
                             strchr(o->location, '?') ? "&" : "?", o->digest);
        break;
    case CS_ABANDON:
        if (o->location == NULL) {
            copy_finish(o, &o->err);
            return;
        }
        method = "DELETE";
        path = strata_xstrdup(o->location);
        break;
    case CS_DONE:
        abort();
    }
    rc = strata_oci__request_ex(o->reg, strata_ref_domain(o->dst),
                                strata_ref_path(o->dst), method, path, &ro,
                                on_answer, o, &err);
    free(path);
    if (rc != 0)
        copy_finish(o, &err);
}

int
strata_registry_copy_blob(strata_registry *reg, const strata_ref *src,
                          const strata_ref *dst, const char *digest,
                          int64_t size, const strata_blob_copy_opts *opts,
                          strata_registry_push_cb cb, void *arg,
                          strata_error *err)
{
    strata_blob_copy_opts none = {0};
    int same_domain;
    copy_op *o;
    int rc;

    if (opts == NULL)
        opts = &none;
    rc = strata_digest_validate(digest, err);
    if (rc != 0)
        return rc;
    if (strncmp(digest, "sha256:", 7) != 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "cannot verify blob '%s': not sha256", digest);
    if (size < 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "blob '%s' has a negative size", digest);
    if (reg->closing)
        return strata_error_set(err, STRATA_ECANCELED,
                                "registry client is closing");
    o = strata_xcalloc(1, sizeof(*o));
    o->reg = reg;
    o->src = strata_ref_dup(src);
    o->dst = strata_ref_dup(dst);
    o->digest = strata_xstrdup(digest);
    o->size = size;
    o->chunk = opts->chunk_size ? opts->chunk_size : DEFAULT_CHUNK;
    o->md = EVP_MD_CTX_new();
    if (o->md == NULL || EVP_DigestInit_ex(o->md, EVP_sha256(), NULL) != 1)
        abort(); /* out of memory, as strata_xmalloc would */
    same_domain = strcmp(strata_ref_domain(src), strata_ref_domain(dst)) == 0;
    if (same_domain && !opts->no_mount &&
        strcmp(strata_ref_path(src), strata_ref_path(dst)) != 0) {
        o->mount_from = strata_xstrdup(strata_ref_path(src));
        o->scope = strata_xasprintf("repository:%s:pull,push "
                                    "repository:%s:pull",
                                    strata_ref_path(dst), strata_ref_path(src));
    } else {
        o->scope =
            strata_xasprintf("repository:%s:pull,push", strata_ref_path(dst));
    }
    o->cb = cb;
    o->arg = arg;
    o->state =
        opts->no_check ? (o->mount_from ? CS_MOUNT : CS_START) : CS_CHECK;
    copy_step(o);
    return 0;
}
