/*
 * attach.c - an artifact attached to a manifest as its referrer (OCI
 * 1.1): an SBOM, a provenance attestation. The steps, each started from
 * the previous one's callback:
 *
 *   layer     the artifact's bytes, pushed as a blob
 *   config    the empty descriptor's blob, "{}"
 *   manifest  an image manifest with artifactType, the layer and the
 *             subject, PUT by its digest
 *   list      the subject's referrers: listed (the registry serves the
 *             API and read the subject) ends it; otherwise
 *   tag       the referrers tag schema's index "sha256-<hex>" gets the
 *             artifact's descriptor, every entry already there kept
 *
 * An index listing more entries than strata reads is never rewritten:
 * the entries not read would be lost.
 */
#include <stdlib.h>
#include <string.h>

#include "oci-int.h"

#define MT_EMPTY "application/vnd.oci.empty.v1+json"

/* What advance() starts next; the layer's push is the first step. */
typedef enum {
    S_CONFIG,
    S_MANIFEST,
    S_LIST,
    S_TAG,
    S_DONE
} step;

typedef struct attach_op {
    strata_registry *reg;
    strata_ref *ref;
    int at;     /* a step */
    void *data; /* the layer's bytes, copied */
    size_t len;
    char *layer_digest;
    char *subject;    /* the subject's digest */
    char *body;       /* the artifact manifest */
    char *digest;     /* its digest */
    char *index_body; /* the tag schema's new index */
    strata_registry_attach_cb cb;
    void *arg;
} attach_op;

static void advance(attach_op *o);

static char *
digest_of(const void *data, size_t len)
{
    char hex[65];

    strata_sha256_hex(hex, data, len);
    return strata_xasprintf("sha256:%s", hex);
}

static void
op_done(attach_op *o, const strata_error *err)
{
    o->cb(err == NULL ? o->digest : NULL, err, o->arg);
    if (err == NULL)
        o->digest = NULL;
    strata_ref_free(o->ref);
    free(o->data);
    free(o->layer_digest);
    free(o->subject);
    free(o->body);
    free(o->digest);
    free(o->index_body);
    free(o);
}

static void
on_pushed(strata_blob_outcome outcome, uint64_t bytes, const strata_error *err,
          void *arg)
{
    (void) outcome;
    (void) bytes;
    if (err != NULL)
        op_done(arg, err);
    else
        advance(arg);
}

static void
on_put(char *digest, const strata_error *err, void *arg)
{
    free(digest); /* o->digest already names it; the PUT checked it */
    if (err != NULL)
        op_done(arg, err);
    else
        advance(arg);
}

/* The index the tag schema gets: r's entries, then the artifact's. */
static char *
index_with(const attach_op *o, const strata_referrers *r)
{
    json_t *list = json_array(), *index, *mine;
    char *body;
    size_t i;

    for (i = 0; i < r->n; i++) {
        const strata_referrer *e = &r->items[i];
        json_t *d =
            json_pack("{s:s, s:s, s:I}", "mediaType",
                      e->media_type ? e->media_type : STRATA_MT_OCI_MANIFEST,
                      "digest", e->digest, "size", (json_int_t) e->size);

        if (e->artifact_type != NULL)
            json_object_set_new(d, "artifactType",
                                json_string(e->artifact_type));
        if (e->annotations != NULL)
            json_object_set(d, "annotations", e->annotations);
        json_array_append_new(list, d);
    }
    mine = json_loads(o->body, 0, NULL);
    json_array_append_new(
        list,
        json_pack("{s:s, s:s, s:I, s:O}", "mediaType", STRATA_MT_OCI_MANIFEST,
                  "digest", o->digest, "size", (json_int_t) strlen(o->body),
                  "artifactType", json_object_get(mine, "artifactType")));
    json_decref(mine);
    index = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType",
                      STRATA_MT_OCI_INDEX, "manifests", list);
    body = json_dumps(index, JSON_COMPACT);
    json_decref(index);
    return body;
}

static void
on_listed(strata_referrers *r, const strata_error *err, void *arg)
{
    attach_op *o = arg;
    strata_error e = {0};
    size_t i;

    if (err != NULL) {
        op_done(o, err);
        return;
    }
    for (i = 0; i < r->n; i++) {
        if (strcmp(r->items[i].digest, o->digest) == 0) {
            strata_referrers_free(r); /* listed: nothing more to do */
            op_done(o, NULL);
            return;
        }
    }
    if (r->cut) {
        strata_error_set(&e, STRATA_ETOOBIG,
                         "the referrers tag 'sha256-%s' lists more than %d "
                         "entries: not rewritten (they would be lost)",
                         o->subject + 7, STRATA_REFERRERS_MAX);
        strata_referrers_free(r);
        op_done(o, &e);
        return;
    }
    /* Not listed: the API is not served, or it does not read subjects. */
    o->index_body = index_with(o, r);
    strata_referrers_free(r);
    advance(o);
}

static void
advance(attach_op *o)
{
    strata_error err = {0};
    strata_ref *at = NULL;
    char *s;
    int rc;

    switch (o->at++) {
    case S_CONFIG:
        s = digest_of("{}", 2);
        rc = strata_registry_push_blob(o->reg, o->ref, s, "{}", 2, NULL,
                                       on_pushed, o, &err);
        free(s);
        break;
    case S_MANIFEST:
        /* By digest: a tag of o->ref must not move. */
        s = strata_xasprintf("%s@%s", strata_ref_name(o->ref), o->digest);
        rc = strata_ref_parse(&at, s, &err);
        free(s);
        if (rc == 0)
            rc = strata_registry_put_manifest(o->reg, at,
                                              STRATA_MT_OCI_MANIFEST, o->body,
                                              strlen(o->body), on_put, o, &err);
        break;
    case S_LIST:
        rc = strata_registry_referrers(o->reg, o->ref, o->subject, NULL, 0,
                                       on_listed, o, &err);
        break;
    case S_TAG:
        s = strata_xasprintf("%s:sha256-%s", strata_ref_name(o->ref),
                             o->subject + 7);
        rc = strata_ref_parse(&at, s, &err);
        free(s);
        if (rc == 0)
            rc = strata_registry_put_manifest(
                o->reg, at, STRATA_MT_OCI_INDEX, o->index_body,
                strlen(o->index_body), on_put, o, &err);
        break;
    default:
        op_done(o, NULL);
        return;
    }
    strata_ref_free(at);
    if (rc != 0)
        op_done(o, &err);
}

/* The artifact manifest's body. */
static char *
artifact_manifest(const strata_artifact *a, const char *layer_digest)
{
    json_t *layer, *m;
    char *body;

    layer = json_pack("{s:s, s:s, s:I}", "mediaType", a->media_type, "digest",
                      layer_digest, "size", (json_int_t) a->len);
    if (a->layer_annotations != NULL)
        json_object_set_new(layer, "annotations",
                            json_deep_copy(a->layer_annotations));
    m = json_pack(
        "{s:i, s:s, s:s, s:{s:s, s:s, s:i, s:s}, s:[o], s:{s:s, s:s, s:I}}",
        "schemaVersion", 2, "mediaType", STRATA_MT_OCI_MANIFEST, "artifactType",
        a->artifact_type, "config", "mediaType", MT_EMPTY, "digest",
        "sha256:"
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size", 2, "data", "e30=", "layers", layer, "subject", "mediaType",
        a->subject_media_type, "digest", a->subject_digest, "size",
        (json_int_t) a->subject_size);
    if (a->annotations != NULL)
        json_object_set_new(m, "annotations", json_deep_copy(a->annotations));
    body = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return body;
}

int
strata_registry_attach(strata_registry *reg, const strata_ref *ref,
                       const strata_artifact *a, strata_registry_attach_cb cb,
                       void *arg, strata_error *err)
{
    attach_op *o;
    strata_error e = {0};

    if (a->artifact_type == NULL || a->media_type == NULL ||
        a->subject_media_type == NULL || a->subject_digest == NULL ||
        strncmp(a->subject_digest, "sha256:", 7) != 0 ||
        strata_digest_validate(a->subject_digest, &e) != 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "attach: the artifact needs a type, a media "
                                "type and a sha256 subject%s%s",
                                e.code ? ": " : "", e.code ? e.msg : "");
    o = strata_xcalloc(1, sizeof(*o));
    if (strata_ref_with_digest(&o->ref, ref, NULL, err) != 0) {
        free(o);
        return err != NULL ? err->code : STRATA_EINVAL;
    }
    o->reg = reg;
    o->data = strata_xmalloc(a->len ? a->len : 1);
    memcpy(o->data, a->data, a->len);
    o->len = a->len;
    o->layer_digest = digest_of(a->data, a->len);
    o->subject = strata_xstrdup(a->subject_digest);
    o->body = artifact_manifest(a, o->layer_digest);
    o->digest = digest_of(o->body, strlen(o->body));
    o->cb = cb;
    o->arg = arg;
    o->at = S_CONFIG;
    if (strata_registry_push_blob(reg, o->ref, o->layer_digest, o->data, o->len,
                                  NULL, on_pushed, o, err) != 0) {
        int rc = err != NULL ? err->code : STRATA_EINVAL;

        o->cb = NULL;
        strata_ref_free(o->ref);
        free(o->data);
        free(o->layer_digest);
        free(o->subject);
        free(o->body);
        free(o->digest);
        free(o);
        return rc;
    }
    return 0;
}

/* ---- on a private loop ------------------------------------------------- */

typedef struct attach_wait {
    int done;
    char *digest;
    strata_error err;
} attach_wait;

static void
on_attached(char *digest, const strata_error *err, void *arg)
{
    attach_wait *w = arg;

    w->digest = digest;
    if (err != NULL)
        w->err = *err;
    w->done = 1;
}

int
strata_registry_attach_sync(char **out, const strata_registry_opts *opts,
                            const strata_ref *ref, const strata_artifact *a,
                            strata_error *err)
{
    uv_loop_t loop;
    strata_registry *reg = NULL;
    attach_wait w = {0};
    int rc;

    *out = NULL;
    uv_loop_init(&loop);
    rc = strata_registry_new(&reg, &loop, opts, err);
    if (rc == 0)
        rc = strata_registry_attach(reg, ref, a, on_attached, &w, err);
    if (rc == 0) {
        while (!w.done)
            uv_run(&loop, UV_RUN_ONCE);
        if (w.err.code != 0) {
            rc = w.err.code;
            if (err != NULL)
                *err = w.err;
        } else {
            *out = w.digest;
            w.digest = NULL;
        }
    }
    free(w.digest);
    strata_registry_close(reg);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        log_warn("registry: loop left with open handles");
    return rc;
}
