/*
 * push.c - putting blobs into a registry: the existence check (HEAD), the
 * cross-repository mount (POST ?mount=&from=), the monolithic upload
 * (POST for a session, then PUT ?digest= with the whole body) and the
 * chunked one (POST, PATCH per chunk with Content-Range, then an empty
 * PUT ?digest=). One push is a small state machine (push_op) whose steps
 * are requests through registry.c's request layer; each answer records
 * its result and calls push_step(), the only function that decides what
 * comes next. The registry's Location header carries the upload session
 * from one step to the next.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oci-int.h"

typedef enum push_state {
    PS_CHECK,   /* HEAD the blob */
    PS_MOUNT,   /* POST ?mount=&from= */
    PS_START,   /* POST: open an upload session */
    PS_SEND,    /* PUT the whole body, or PATCH the next chunk */
    PS_FINISH,  /* chunked: the closing PUT ?digest= */
    PS_ABANDON, /* DELETE the session a refused mount opened */
    PS_DONE,
} push_state;

static const char *const state_names[] = {
    "check", "mount", "start", "send", "finish", "abandon", "done",
};

typedef struct push_op {
    strata_registry *reg;
    strata_ref *ref;
    char *digest, *mount_from, *scope, *location, *range;
    const char *data; /* borrowed from the caller */
    size_t len, chunk_size, offset;
    size_t chunk_len; /* bytes in the PATCH under way */
    int no_check;
    push_state state;
    strata_blob_outcome outcome;
    uint64_t bytes; /* sent so far */
    strata_registry_push_cb cb;
    void *arg;
} push_op;

static void push_step(push_op *o);

static void
push_set_state(push_op *o, push_state s)
{
    log_debug("push '%s' %s: %s -> %s", strata_ref_name(o->ref), o->digest,
              state_names[o->state], state_names[s]);
    o->state = s;
}

static void
push_free(push_op *o)
{
    strata_ref_free(o->ref);
    free(o->digest);
    free(o->mount_from);
    free(o->scope);
    free(o->location);
    free(o->range);
    free(o);
}

static void
push_finish(push_op *o, const strata_error *err)
{
    push_set_state(o, PS_DONE);
    o->cb(err ? (strata_blob_outcome) 0 : o->outcome, o->bytes, err, o->arg);
    push_free(o);
}

/* Where an upload continues, from its Location: see oci-int.h. */
int
strata_oci__location_path(char **out, const char *domain, const char *loc,
                          strata_error *err)
{
    const char *host = strata_oci__url_host(domain), *p;
    size_t hlen = strlen(host);

    *out = NULL;
    if (loc == NULL || loc[0] == '\0')
        return strata_error_set(err, STRATA_EPROTO,
                                "'%s' sent no upload location", domain);
    if (loc[0] == '/') {
        *out = strata_xstrdup(loc);
        return 0;
    }
    if (strncasecmp(loc, "https://", 8) == 0)
        p = loc + 8;
    else if (strncasecmp(loc, "http://", 7) == 0)
        p = loc + 7;
    else
        p = NULL;
    if (p == NULL || strncasecmp(p, host, hlen) != 0 || p[hlen] != '/')
        return strata_error_set(err, STRATA_EPROTO,
                                "'%s' sent an upload location on another "
                                "host: '%s'",
                                domain, loc);
    *out = strata_xstrdup(p + hlen);
    return 0;
}

int
strata_oci__take_location(char **location, const strata_ref *ref,
                          const strata_http_response *resp, strata_error *err)
{
    char *path;
    int rc = strata_oci__location_path(
        &path, strata_ref_domain(ref),
        strata_http_response_header(resp, "location"), err);

    if (rc != 0)
        return rc;
    free(*location);
    *location = path;
    return 0;
}

int
strata_oci__check_blob_digest(const strata_ref *ref, const char *digest,
                              const strata_http_response *resp,
                              strata_error *err)
{
    const char *d = strata_http_response_header(resp, "docker-content-digest");

    if (d != NULL && strcmp(d, digest) != 0)
        return strata_error_set(err, STRATA_EPROTO,
                                "'%s' stored blob '%s' as '%s'",
                                strata_ref_name(ref), digest, d);
    return 0;
}

static void
on_answer(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    push_op *o = arg;
    strata_error err = {0};

    switch (o->state) {
    case PS_CHECK:
        if (rerr != NULL && rerr->code != STRATA_ENOTFOUND) {
            push_finish(o, rerr);
            return;
        }
        if (rerr == NULL) {
            o->outcome = STRATA_BLOB_EXISTED;
            push_finish(o, NULL);
            return;
        }
        push_set_state(o, o->mount_from ? PS_MOUNT : PS_START);
        break;
    case PS_MOUNT:
        if (rerr != NULL) {
            push_finish(o, rerr);
            return;
        }
        if (resp->status == 201) {
            if (strata_oci__check_blob_digest(o->ref, o->digest, resp, &err) !=
                0) {
                push_finish(o, &err);
                return;
            }
            o->outcome = STRATA_BLOB_MOUNTED;
            push_finish(o, NULL);
            return;
        }
        /* 202: the registry opened an ordinary upload session instead. */
        if (strata_oci__take_location(&o->location, o->ref, resp, &err) != 0) {
            push_finish(o, &err);
            return;
        }
        push_set_state(o, o->data ? PS_SEND : PS_ABANDON);
        break;
    case PS_START:
        if (rerr != NULL ||
            strata_oci__take_location(&o->location, o->ref, resp, &err) != 0) {
            push_finish(o, rerr ? rerr : &err);
            return;
        }
        push_set_state(o, PS_SEND);
        break;
    case PS_SEND:
        if (rerr != NULL) {
            push_finish(o, rerr);
            return;
        }
        if (o->chunk_size == 0) {
            o->bytes += o->len;
            if (strata_oci__check_blob_digest(o->ref, o->digest, resp, &err) !=
                0) {
                push_finish(o, &err);
                return;
            }
            o->outcome = STRATA_BLOB_UPLOADED;
            push_finish(o, NULL);
            return;
        }
        o->bytes += o->chunk_len;
        if (strata_oci__take_location(&o->location, o->ref, resp, &err) != 0) {
            push_finish(o, &err);
            return;
        }
        if (o->offset >= o->len)
            push_set_state(o, PS_FINISH);
        break;
    case PS_FINISH:
        if (rerr != NULL ||
            strata_oci__check_blob_digest(o->ref, o->digest, resp, &err) != 0) {
            push_finish(o, rerr ? rerr : &err);
            return;
        }
        o->outcome = STRATA_BLOB_UPLOADED;
        push_finish(o, NULL);
        return;
    case PS_ABANDON:
        /* Best effort: an abandoned session expires on its own anyway. */
        o->outcome = STRATA_BLOB_NOT_MOUNTED;
        push_finish(o, NULL);
        return;
    case PS_DONE:
        abort();
    }
    push_step(o);
}

/* Location plus "digest=D", with ? or & as the query needs. */
static char *
with_digest(const char *location, const char *digest)
{
    return strata_xasprintf("%s%sdigest=%s", location,
                            strchr(location, '?') ? "&" : "?", digest);
}

static void
push_step(push_op *o)
{
    strata_oci__req_opts ro = {0};
    strata_error err = {0};
    const char *method = "GET";
    char *path = NULL;
    size_t n;
    int rc;

    ro.scope = o->scope;
    switch (o->state) {
    case PS_CHECK:
        method = "HEAD";
        path = strata_xasprintf("/v2/%s/blobs/%s", strata_ref_path(o->ref),
                                o->digest);
        break;
    case PS_MOUNT:
        method = "POST";
        path =
            strata_xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s",
                             strata_ref_path(o->ref), o->digest, o->mount_from);
        break;
    case PS_START:
        method = "POST";
        path =
            strata_xasprintf("/v2/%s/blobs/uploads/", strata_ref_path(o->ref));
        break;
    case PS_SEND:
        ro.content_type = "application/octet-stream";
        if (o->chunk_size == 0) {
            method = "PUT";
            path = with_digest(o->location, o->digest);
            ro.body = o->data;
            ro.body_len = o->len;
            break;
        }
        method = "PATCH";
        n = o->len - o->offset < o->chunk_size ? o->len - o->offset
                                               : o->chunk_size;
        free(o->range);
        o->range = n ? strata_xasprintf("%zu-%zu", o->offset, o->offset + n - 1)
                     : strata_xstrdup("");
        ro.content_range = n ? o->range : NULL;
        ro.body = o->data + o->offset;
        ro.body_len = n;
        o->chunk_len = n;
        o->offset += n;
        path = strata_xstrdup(o->location);
        break;
    case PS_FINISH:
        method = "PUT";
        path = with_digest(o->location, o->digest);
        break;
    case PS_ABANDON:
        method = "DELETE";
        path = strata_xstrdup(o->location);
        break;
    case PS_DONE:
        abort();
    }
    rc = strata_oci__request_ex(o->reg, strata_ref_domain(o->ref),
                                strata_ref_path(o->ref), method, path, &ro,
                                on_answer, o, &err);
    free(path);
    if (rc != 0)
        push_finish(o, &err);
}

int
strata_registry_push_blob(strata_registry *reg, const strata_ref *ref,
                          const char *digest, const void *data, size_t len,
                          const strata_blob_push_opts *opts,
                          strata_registry_push_cb cb, void *arg,
                          strata_error *err)
{
    strata_blob_push_opts none = {0};
    push_op *o;
    char hex[65];
    int rc;

    if (opts == NULL)
        opts = &none;
    rc = strata_digest_validate(digest, err);
    if (rc != 0)
        return rc;
    if (data == NULL && opts->mount_from == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "no data to upload for blob '%s'", digest);
    if (data != NULL) {
        if (strncmp(digest, "sha256:", 7) != 0)
            return strata_error_set(err, STRATA_EINVAL,
                                    "cannot verify blob '%s': not sha256",
                                    digest);
        strata_sha256_hex(hex, data, len);
        if (strcmp(hex, digest + 7) != 0)
            return strata_error_set(err, STRATA_EINVAL,
                                    "data for blob '%s' hashes to "
                                    "'sha256:%s'",
                                    digest, hex);
    }
    if (reg->closing)
        return strata_error_set(err, STRATA_ECANCELED,
                                "registry client is closing");
    o = strata_xcalloc(1, sizeof(*o));
    o->reg = reg;
    o->ref = strata_ref_dup(ref);
    o->digest = strata_xstrdup(digest);
    o->data = data;
    o->len = len;
    o->chunk_size = opts->chunk_size;
    o->no_check = opts->no_check;
    if (opts->mount_from != NULL &&
        strcmp(opts->mount_from, strata_ref_path(ref)) != 0) {
        o->mount_from = strata_xstrdup(opts->mount_from);
        o->scope = strata_xasprintf("repository:%s:pull,push "
                                    "repository:%s:pull",
                                    strata_ref_path(ref), opts->mount_from);
    } else {
        o->scope =
            strata_xasprintf("repository:%s:pull,push", strata_ref_path(ref));
    }
    o->cb = cb;
    o->arg = arg;
    o->state = o->no_check ? (o->mount_from ? PS_MOUNT : PS_START) : PS_CHECK;
    /* Mounting from the repository itself: nothing to mount, upload. */
    if (o->mount_from == NULL && data == NULL) {
        push_free(o);
        return strata_error_set(err, STRATA_EINVAL,
                                "no data to upload for blob '%s'", digest);
    }
    push_step(o);
    return 0;
}

/* ---- HEAD ------------------------------------------------------------- */

typedef struct exists_op {
    strata_registry_exists_cb cb;
    void *arg;
} exists_op;

static void
on_exists(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    exists_op *o = arg;
    const char *len;

    if (rerr != NULL && rerr->code == STRATA_ENOTFOUND)
        o->cb(0, 0, NULL, o->arg);
    else if (rerr != NULL)
        o->cb(0, 0, rerr, o->arg);
    else {
        len = strata_http_response_header(resp, "content-length");
        o->cb(1, len ? strtoll(len, NULL, 10) : -1, NULL, o->arg);
    }
    free(o);
}

int
strata_registry_blob_exists(strata_registry *reg, const strata_ref *ref,
                            const char *digest, strata_registry_exists_cb cb,
                            void *arg, strata_error *err)
{
    strata_oci__req_opts ro = {0};
    exists_op *o;
    char *path, *scope;
    int rc;

    rc = strata_digest_validate(digest, err);
    if (rc != 0)
        return rc;
    o = strata_xcalloc(1, sizeof(*o));
    o->cb = cb;
    o->arg = arg;
    path = strata_xasprintf("/v2/%s/blobs/%s", strata_ref_path(ref), digest);
    scope = strata_xasprintf("repository:%s:pull,push", strata_ref_path(ref));
    ro.scope = scope;
    rc = strata_oci__request_ex(reg, strata_ref_domain(ref),
                                strata_ref_path(ref), "HEAD", path, &ro,
                                on_exists, o, err);
    free(path);
    free(scope);
    if (rc != 0)
        free(o);
    return rc;
}
