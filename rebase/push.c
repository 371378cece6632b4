/*
 * push.c - the writing half of a rebase, once every platform has
 * composed: make the target repository hold each layer (skipped when it
 * has it, mounted from the base's or the image's repository when they
 * live on the same registry, else copied), upload each new config, PUT
 * the platform manifests (by digest when an index follows, else by the
 * tag) and the index (by the tag); then read the tag back and check the
 * manifest digest, and per platform the config digest, the layer list
 * and the diff_ids against what was composed.
 */
#include <stdlib.h>
#include <string.h>

#include "rebase-int.h"

typedef struct push_wait {
    int done;
    strata_error err;
    strata_blob_outcome outcome;
    uint64_t bytes;
    int exists;
    char *digest;
    strata_image_config *config;
} push_wait;

static int
run_wait(strata_rebase__ctx *c, push_wait *w, int rc, strata_error *err)
{
    if (rc != 0)
        return rc;
    while (!w->done)
        uv_run(&c->loop, UV_RUN_ONCE);
    if (w->err.code != 0) {
        *err = w->err;
        return w->err.code;
    }
    return 0;
}

static void
on_pushed(strata_blob_outcome outcome, uint64_t bytes, const strata_error *err,
          void *arg)
{
    push_wait *w = arg;

    w->outcome = outcome;
    w->bytes = bytes;
    if (err != NULL)
        w->err = *err;
    w->done = 1;
}

static void
on_exists(int exists, int64_t size, const strata_error *err, void *arg)
{
    push_wait *w = arg;

    (void) size;
    w->exists = exists;
    if (err != NULL)
        w->err = *err;
    w->done = 1;
}

static void
on_put(char *digest, const strata_error *err, void *arg)
{
    push_wait *w = arg;

    w->digest = digest;
    if (err != NULL)
        w->err = *err;
    w->done = 1;
}

/* Uploads data as digest into the target and counts it. */
static int
upload(strata_rebase__ctx *c, const char *digest, const char *data, size_t len,
       int check, strata_error *err)
{
    strata_blob_push_opts po = {0};
    push_wait w = {0};
    int rc;

    po.chunk_size = c->opts->chunk_size;
    po.no_check = !check;
    rc = run_wait(c, &w,
                  strata_registry_push_blob(c->reg, c->target, digest, data,
                                            len, &po, on_pushed, &w, err),
                  err);
    if (rc != 0)
        return rc;
    c->res->bytes_pushed += w.bytes;
    if (w.outcome == STRATA_BLOB_EXISTED)
        c->res->blobs_existed++;
    else
        c->res->blobs_uploaded++;
    return 0;
}

/*
 * Streams digest (size bytes, as its descriptor says) from src's
 * repository into the target, never holding it whole.
 */
static int
copy_blob(strata_rebase__ctx *c, const strata_ref *src, const char *digest,
          int64_t size, strata_error *err)
{
    strata_blob_copy_opts co = {0};
    push_wait w = {0};
    int rc;

    co.chunk_size = c->opts->chunk_size;
    co.no_check = 1;
    co.no_mount = 1;
    rc = run_wait(c, &w,
                  strata_registry_copy_blob(c->reg, src, c->target, digest,
                                            size, &co, on_pushed, &w, err),
                  err);
    if (rc != 0)
        return rc;
    c->res->bytes_pushed += w.bytes;
    c->res->blobs_uploaded++;
    return 0;
}

/* Makes the target repository hold the blob digest that src's has. */
static int
ensure_blob(strata_rebase__ctx *c, const strata_ref *src,
            const strata_descriptor *d, strata_error *err)
{
    const strata_ref *t = c->target;
    const char *digest = d->digest;
    strata_blob_push_opts po = {0};
    push_wait w = {0};
    int same_host = strcmp(strata_ref_domain(src), strata_ref_domain(t)) == 0;
    int rc;

    if (same_host && strcmp(strata_ref_path(src), strata_ref_path(t)) != 0) {
        po.mount_from = strata_ref_path(src);
        rc = run_wait(c, &w,
                      strata_registry_push_blob(c->reg, t, digest, NULL, 0, &po,
                                                on_pushed, &w, err),
                      err);
        if (rc != 0)
            return rc;
        if (w.outcome == STRATA_BLOB_EXISTED)
            c->res->blobs_existed++;
        else if (w.outcome == STRATA_BLOB_MOUNTED)
            c->res->blobs_mounted++;
        else
            return copy_blob(c, src, digest, d->size, err);
        return 0;
    }
    rc = run_wait(
        c, &w,
        strata_registry_blob_exists(c->reg, t, digest, on_exists, &w, err),
        err);
    if (rc != 0)
        return rc;
    if (w.exists) {
        c->res->blobs_existed++;
        return 0;
    }
    if (same_host)
        return strata_error_set(err, STRATA_EPROTO,
                                "blob '%s' is missing from '%s'", digest,
                                strata_ref_name(t));
    return copy_blob(c, src, digest, d->size, err);
}

static int
put_manifest(strata_rebase__ctx *c, const strata_ref *ref, const char *mt,
             const char *body, size_t len, const char *want, strata_error *err)
{
    push_wait w = {0};
    int rc;

    rc = run_wait(c, &w,
                  strata_registry_put_manifest(c->reg, ref, mt, body, len,
                                               on_put, &w, err),
                  err);
    if (rc == 0 && strcmp(w.digest, want) != 0)
        rc = strata_error_set(err, STRATA_EPROTO,
                              "'%s' answered digest '%s' for '%s'",
                              strata_ref_string(ref), w.digest, want);
    if (rc == 0)
        c->res->bytes_pushed += len;
    free(w.digest);
    return rc;
}

/* Layers, then the config, of one platform. */
static int
push_blobs(strata_rebase__ctx *c, const strata_rebase__plat *p,
           strata_error *err)
{
    size_t i, nold = p->img->nlayers - p->out.nown_layers;
    int rc;

    for (i = 0; i < p->new->nlayers; i++)
        if ((rc = ensure_blob(c, c->new_base, &p->new->layers[i], err)))
            return rc;
    for (i = nold; i < p->img->nlayers; i++)
        if ((rc = ensure_blob(c, c->image, &p->img->layers[i], err)))
            return rc;
    return upload(c, p->out.config_digest, p->out.config, p->out.config_len, 1,
                  err);
}

int
strata_rebase__push(strata_rebase__ctx *c, strata_error *err)
{
    strata_rebase__plat *p;
    strata_ref *at;
    size_t i;
    int rc;

    for (i = 0; i < c->nplats; i++)
        if ((rc = push_blobs(c, &c->plats[i], err)) != 0)
            return rc;
    if (c->index == NULL) {
        p = &c->plats[0];
        return put_manifest(c, c->target, p->img->media_type, p->out.manifest,
                            p->out.manifest_len, p->out.manifest_digest, err);
    }
    for (i = 0; i < c->nplats; i++) {
        p = &c->plats[i];
        at = strata_rebase__at(c->target, p->out.manifest_digest);
        rc = put_manifest(c, at, p->img->media_type, p->out.manifest,
                          p->out.manifest_len, p->out.manifest_digest, err);
        strata_ref_free(at);
        if (rc != 0)
            return rc;
    }
    return put_manifest(c, c->target, c->img_top->media_type, c->index,
                        c->index_len, c->index_digest, err);
}

/* ---- reading back --------------------------------------------------- */

static void
on_config(strata_image_config *cfg, const strata_error *err, void *arg)
{
    push_wait *w = arg;

    w->config = cfg;
    if (err != NULL)
        w->err = *err;
    w->done = 1;
}

/* One platform manifest as stored against what was composed. */
static int
verify_platform(strata_rebase__ctx *c, const strata_rebase__plat *p,
                const strata_manifest *got, strata_error *err)
{
    strata_manifest *want = NULL;
    strata_image_config *wcfg = NULL, *gcfg = NULL;
    push_wait w = {0};
    size_t i;
    int rc;

    if ((rc = strata_manifest_parse(&want, p->out.manifest, p->out.manifest_len,
                                    p->img->media_type, err)) ||
        (rc = strata_image_config_parse(&wcfg, p->out.config, p->out.config_len,
                                        err)))
        goto out;
    rc = STRATA_EPROTO;
    if (strcmp(got->digest, want->digest) != 0 ||
        strcmp(got->config.digest, p->out.config_digest) != 0) {
        strata_error_set(err, rc, "read back '%s' (%s): config '%s', not '%s'",
                         strata_ref_string(c->target), p->platform,
                         got->config.digest, p->out.config_digest);
        goto out;
    }
    if (got->nlayers != want->nlayers) {
        strata_error_set(err, rc, "read back '%s' (%s): %zu layers, not %zu",
                         strata_ref_string(c->target), p->platform,
                         got->nlayers, want->nlayers);
        goto out;
    }
    for (i = 0; i < got->nlayers; i++)
        if (strcmp(got->layers[i].digest, want->layers[i].digest) != 0) {
            strata_error_set(err, rc, "read back '%s' (%s): layer %zu is '%s'",
                             strata_ref_string(c->target), p->platform, i + 1,
                             got->layers[i].digest);
            goto out;
        }
    rc = run_wait(c, &w,
                  strata_registry_get_config(c->reg, c->target,
                                             p->out.config_digest, on_config,
                                             &w, err),
                  err);
    if (rc != 0)
        goto out;
    gcfg = w.config;
    rc = STRATA_EPROTO;
    if (gcfg->ndiff_ids != wcfg->ndiff_ids) {
        strata_error_set(err, rc, "read back '%s' (%s): %zu diff_ids, not %zu",
                         strata_ref_string(c->target), p->platform,
                         gcfg->ndiff_ids, wcfg->ndiff_ids);
        goto out;
    }
    for (i = 0; i < gcfg->ndiff_ids; i++)
        if (strcmp(gcfg->diff_ids[i], wcfg->diff_ids[i]) != 0) {
            strata_error_set(err, rc,
                             "read back '%s' (%s): diff_id %zu is '%s'",
                             strata_ref_string(c->target), p->platform, i + 1,
                             gcfg->diff_ids[i]);
            goto out;
        }
    rc = 0;
out:
    strata_manifest_free(want);
    strata_image_config_free(wcfg);
    strata_image_config_free(gcfg);
    return rc;
}

int
strata_rebase__verify(strata_rebase__ctx *c, strata_error *err)
{
    strata_manifest *top = NULL, *m = NULL;
    strata_ref *at;
    size_t i;
    int rc;

    rc = strata_rebase__get_manifest(&top, c, c->target, err);
    if (rc != 0)
        return strata_error_wrap(err, "reading back");
    if (strcmp(top->digest, c->res->digest) != 0) {
        rc = strata_error_set(
            err, STRATA_EPROTO, "read back '%s': digest '%s', not '%s'",
            strata_ref_string(c->target), top->digest, c->res->digest);
        goto out;
    }
    if (c->index == NULL) {
        rc = verify_platform(c, &c->plats[0], top, err);
        goto out;
    }
    if (top->nmanifests != c->nplats) {
        rc = strata_error_set(
            err, STRATA_EPROTO, "read back '%s': %zu platforms, not %zu",
            strata_ref_string(c->target), top->nmanifests, c->nplats);
        goto out;
    }
    for (i = 0; i < c->nplats && rc == 0; i++) {
        at = strata_rebase__at(c->target, top->manifests[i].digest);
        rc = strata_rebase__get_manifest(&m, c, at, err);
        strata_ref_free(at);
        if (rc == 0)
            rc = verify_platform(c, &c->plats[i], m, err);
        strata_manifest_free(m);
        m = NULL;
    }
out:
    strata_manifest_free(top);
    return rc;
}
