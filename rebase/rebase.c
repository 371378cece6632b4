/*
 * rebase.c - strata_rebase_run: a registry-side rebase, run synchronously
 * on a private uv loop and registry client. It resolves the image and the
 * two bases, pairs each platform of the image with the bases' manifests
 * for that platform, fetches the raw configs and composes the new
 * manifests (rebase-compose.c) and, for an index, the new index. Only
 * when every platform composed without a refusal does rebase-push.c push
 * anything and read the result back.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "rebase-int.h"

/* Configs and manifests are small; layers copied between registries not. */
#define MAX_CONFIG_BYTES (4 * 1024 * 1024)

/* ---- one registry call at a time on the private loop ------------------ */

typedef struct wait {
    int done;
    strata_error err;
    void *ptr;
    size_t len;
} wait;

static int
wait_run(strata_rebase__ctx *c, wait *w, int rc, strata_error *err)
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
on_manifest(strata_manifest *m, const strata_error *err, void *arg)
{
    wait *w = arg;

    w->ptr = m;
    if (err != NULL)
        w->err = *err;
    w->done = 1;
}

static void
on_blob(char *blob, size_t len, const strata_error *err, void *arg)
{
    wait *w = arg;

    w->ptr = blob;
    w->len = len;
    if (err != NULL)
        w->err = *err;
    w->done = 1;
}

int
strata_rebase__get_manifest(strata_manifest **out, strata_rebase__ctx *c,
                            const strata_ref *ref, strata_error *err)
{
    wait w = {0};
    int rc;

    rc = wait_run(
        c, &w, strata_registry_get_manifest(c->reg, ref, on_manifest, &w, err),
        err);
    *out = w.ptr;
    return rc;
}

int
strata_rebase__get_blob(char **out, size_t *len, strata_rebase__ctx *c,
                        const strata_ref *ref, const char *digest, size_t max,
                        strata_error *err)
{
    wait w = {0};
    int rc;

    rc = wait_run(
        c, &w,
        strata_registry_get_blob(c->reg, ref, digest, max, on_blob, &w, err),
        err);
    *out = w.ptr;
    *len = w.len;
    return rc;
}

strata_ref *
strata_rebase__at(const strata_ref *ref, const char *digest)
{
    strata_ref *r = NULL;
    char *s = strata_xasprintf("%s@%s", strata_ref_name(ref), digest);

    /* A name that parsed once and a validated digest always parse. */
    if (strata_ref_parse(&r, s, NULL) != 0)
        abort();
    free(s);
    return r;
}

/* ---- references --------------------------------------------------------- */

/* TAG: a tag for IMAGE's repository, or a full reference with a tag. */
static int
parse_target(strata_ref **out, const strata_ref *image, const char *tag,
             strata_error *err)
{
    char *s;
    int rc;

    *out = NULL;
    if (tag == NULL || tag[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL, "no tag to push to");
    if (strchr(tag, '/') == NULL && strchr(tag, ':') == NULL &&
        strchr(tag, '@') == NULL)
        s = strata_xasprintf("%s:%s", strata_ref_name(image), tag);
    else
        s = strata_xstrdup(tag);
    rc = strata_ref_parse(out, s, err);
    if (rc == 0 &&
        (strata_ref_digest(*out) != NULL || strata_ref_tag(*out) == NULL ||
         (strchr(tag, '/') == NULL && strchr(tag, ':') == NULL &&
          strcmp(strata_ref_tag(*out), tag) != 0))) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "invalid tag '%s': a tag or a reference with "
                              "a tag and no digest",
                              tag);
        strata_ref_free(*out);
        *out = NULL;
    } else if (rc != 0) {
        rc = strata_error_set(err, STRATA_EINVAL, "invalid tag '%s'", tag);
    }
    free(s);
    return rc;
}

/* "name:tag" of a reference, its digest left out. New. */
static char *
name_without_digest(const strata_ref *ref)
{
    if (strata_ref_tag(ref) != NULL)
        return strata_xasprintf("%s:%s", strata_ref_name(ref),
                                strata_ref_tag(ref));
    return strata_xstrdup(strata_ref_name(ref));
}

/* ---- platforms ------------------------------------------------------- */

static char *
platform_string(const char *os, const char *arch, const char *variant)
{
    return variant ? strata_xasprintf("%s/%s/%s", os, arch, variant)
                   : strata_xasprintf("%s/%s", os, arch);
}

/* The platform a single manifest's config says it is. New, or NULL. */
static char *
config_platform(const char *cfg, size_t len, strata_error *err)
{
    strata_image_config *ic = NULL;
    char *p = NULL;

    if (strata_image_config_parse(&ic, cfg, len, err) != 0)
        return NULL;
    if (ic->os != NULL && ic->arch != NULL)
        p = platform_string(ic->os, ic->arch, ic->variant);
    else
        strata_error_set(err, STRATA_EPROTO, "config '%s' names no platform",
                         ic->digest);
    strata_image_config_free(ic);
    return p;
}

/* Splits "os/arch[/variant]" into three buffers; -1 when malformed. */
static int
split_platform(char part[3][64], const char *p)
{
    const char *slash;
    size_t i, n;

    memset(part, 0, 3 * 64);
    for (i = 0; i < 3 && p != NULL; i++) {
        slash = strchr(p, '/');
        n = slash ? (size_t) (slash - p) : strlen(p);
        if (n == 0 || n >= 64)
            return -1;
        memcpy(part[i], p, n);
        p = slash ? slash + 1 : NULL;
    }
    return p == NULL && part[1][0] != '\0' ? 0 : -1;
}

/*
 * Same os and arch, and the same variant when both name one (arm64
 * without a variant is v8).
 */
static int
platform_matches(const char *want, const char *have)
{
    char w[3][64], h[3][64];

    if (split_platform(w, want) != 0 || split_platform(h, have) != 0)
        return 0;
    if (strcmp(w[1], "arm64") == 0 && w[2][0] == '\0')
        strcpy(w[2], "v8");
    if (strcmp(h[1], "arm64") == 0 && h[2][0] == '\0')
        strcpy(h[2], "v8");
    return strcmp(w[0], h[0]) == 0 && strcmp(w[1], h[1]) == 0 &&
           (w[2][0] == '\0' || h[2][0] == '\0' || strcmp(w[2], h[2]) == 0);
}

/* ---- gathering and composing ------------------------------------------ */

/* A second copy of a manifest (the struct has no _dup). */
static int
manifest_copy(strata_manifest **out, const strata_manifest *m,
              strata_error *err)
{
    return strata_manifest_parse(out, m->body, m->body_len, m->media_type, err);
}

/*
 * A base's manifest and raw config for platform: through its index, or
 * its one manifest when that is for the same platform. A base without the
 * platform is a refusal.
 */
static int
base_for_platform(strata_manifest **out, char **cfg, size_t *cfg_len,
                  strata_rebase__ctx *c, const strata_ref *ref,
                  const strata_manifest *top, const char *role,
                  const char *platform, strata_error *err)
{
    const strata_descriptor *d;
    strata_ref *at = NULL;
    char *have = NULL;
    int rc;

    *out = NULL;
    *cfg = NULL;
    if (top->is_index) {
        d = strata_manifest_find_platform(top, platform);
        if (d == NULL)
            return strata_error_set(err, STRATA_ECONFLICT,
                                    "%s '%s' has no platform '%s' that '%s' "
                                    "has",
                                    role, strata_ref_string(ref), platform,
                                    strata_ref_string(c->image));
        at = strata_rebase__at(ref, d->digest);
        rc = strata_rebase__get_manifest(out, c, at, err);
        if (rc == 0 && (*out)->is_index)
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "'%s' is an index inside an index",
                                  strata_ref_string(at));
    } else {
        rc = manifest_copy(out, top, err);
    }
    if (rc == 0)
        rc = strata_rebase__get_blob(
            cfg, cfg_len, c, ref, (*out)->config.digest, MAX_CONFIG_BYTES, err);
    if (rc == 0 && !top->is_index) {
        have = config_platform(*cfg, *cfg_len, err);
        if (have == NULL)
            rc = err->code;
        else if (!platform_matches(platform, have))
            rc = strata_error_set(err, STRATA_ECONFLICT,
                                  "%s '%s' is '%s', not '%s' like '%s'", role,
                                  strata_ref_string(ref), have, platform,
                                  strata_ref_string(c->image));
    }
    if (rc != 0) {
        strata_manifest_free(*out);
        free(*cfg);
        *out = NULL;
        *cfg = NULL;
    }
    free(have);
    strata_ref_free(at);
    return rc;
}

/* The image's platforms: the index entries with a real platform. */
static int
image_platforms(strata_rebase__ctx *c, strata_error *err)
{
    const strata_manifest *top = c->img_top;
    const strata_descriptor *d;
    strata_rebase__plat *p;
    strata_ref *at;
    size_t i;
    int rc;

    if (!top->is_index) {
        c->plats = strata_xcalloc(1, sizeof(*c->plats));
        c->nplats = 1;
        return manifest_copy(&c->plats[0].img, top, err);
    }
    c->plats = strata_xcalloc(top->nmanifests + 1, sizeof(*c->plats));
    for (i = 0; i < top->nmanifests; i++) {
        d = &top->manifests[i];
        if (d->os == NULL || d->arch == NULL || strcmp(d->os, "unknown") == 0) {
            /* Attestations and the like: they describe the old image. */
            log_info("rebase: leaving out '%s' of '%s': no platform", d->digest,
                     strata_ref_string(c->image));
            continue;
        }
        p = &c->plats[c->nplats++];
        p->entry = i;
        p->platform = platform_string(d->os, d->arch, d->variant);
        at = strata_rebase__at(c->image, d->digest);
        rc = strata_rebase__get_manifest(&p->img, c, at, err);
        strata_ref_free(at);
        if (rc == 0 && p->img->is_index)
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "'%s' holds an index inside its index",
                                  strata_ref_string(c->image));
        if (rc != 0)
            return rc;
    }
    if (c->nplats == 0)
        return strata_error_set(err, STRATA_EPROTO,
                                "index '%s' lists no platform",
                                strata_ref_string(c->image));
    return 0;
}

static void
part_init(strata_rebase_part *part, const strata_manifest *m, const char *cfg,
          size_t cfg_len, const strata_ref *ref)
{
    part->manifest = m->body;
    part->manifest_len = m->body_len;
    part->media_type = m->media_type;
    part->config = cfg;
    part->config_len = cfg_len;
    part->name = strata_ref_string(ref);
}

static int
compose_platform(strata_rebase__ctx *c, strata_rebase__plat *p,
                 strata_error *err)
{
    strata_rebase_part img, ob, nb;
    int rc;

    rc = strata_rebase__get_blob(&p->img_cfg, &p->img_cfg_len, c, c->image,
                                 p->img->config.digest, MAX_CONFIG_BYTES, err);
    if (rc != 0)
        return rc;
    if (p->platform == NULL) {
        p->platform = config_platform(p->img_cfg, p->img_cfg_len, err);
        if (p->platform == NULL)
            return err->code;
    }
    rc =
        base_for_platform(&p->old, &p->old_cfg, &p->old_cfg_len, c, c->old_base,
                          c->old_top, "old base", p->platform, err);
    if (rc == 0)
        rc = base_for_platform(&p->new, &p->new_cfg, &p->new_cfg_len, c,
                               c->new_base, c->new_top, "new base", p->platform,
                               err);
    if (rc != 0)
        return rc;
    part_init(&img, p->img, p->img_cfg, p->img_cfg_len, c->image);
    part_init(&ob, p->old, p->old_cfg, p->old_cfg_len, c->old_base);
    part_init(&nb, p->new, p->new_cfg, p->new_cfg_len, c->new_base);
    rc = strata_rebase_compose(&p->out, &img, &ob, &nb, c->base_name,
                               c->new_top->digest, err);
    if (rc != 0)
        return strata_error_wrap(err, "platform '%s'", p->platform);
    return 0;
}

/* The image's index with each platform's entry pointing to the new one. */
static int
compose_index(strata_rebase__ctx *c, strata_error *err)
{
    json_t *idx, *mans, *out, *e;
    size_t i;
    int rc = 0;

    idx = json_loadb(c->img_top->body, c->img_top->body_len, 0, NULL);
    mans = json_object_get(idx, "manifests");
    if (!json_is_array(mans)) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "index '%s' has no manifests array",
                              strata_ref_string(c->image));
        goto out;
    }
    out = json_array();
    for (i = 0; i < c->nplats; i++) {
        e = json_deep_copy(json_array_get(mans, c->plats[i].entry));
        json_object_set_new(e, "digest",
                            json_string(c->plats[i].out.manifest_digest));
        json_object_set_new(
            e, "size", json_integer((json_int_t) c->plats[i].out.manifest_len));
        json_array_append_new(out, e);
    }
    json_object_set_new(idx, "manifests", out);
    if (strcmp(c->img_top->media_type, STRATA_MT_OCI_INDEX) == 0)
        strata_rebase__set_base_keys(idx, "annotations", c->base_name,
                                     c->new_top->digest);
    strata_rebase__dump(&c->index, &c->index_len, &c->index_digest, idx);
out:
    json_decref(idx);
    return rc;
}

static int
plan(strata_rebase__ctx *c, strata_error *err)
{
    size_t i;
    int rc;

    if ((rc = strata_rebase__get_manifest(&c->img_top, c, c->image, err)) ||
        (rc = strata_rebase__get_manifest(&c->old_top, c, c->old_base, err)) ||
        (rc = strata_rebase__get_manifest(&c->new_top, c, c->new_base, err)) ||
        (rc = image_platforms(c, err)))
        return rc;
    for (i = 0; i < c->nplats; i++)
        if ((rc = compose_platform(c, &c->plats[i], err)) != 0)
            return rc;
    if (c->img_top->is_index)
        return compose_index(c, err);
    return 0;
}

/* ---- the run ------------------------------------------------------------ */

static void
fill_result(strata_rebase__ctx *c)
{
    strata_rebase_result *res = c->res;
    size_t i;

    res->ref = strata_xstrdup(strata_ref_string(c->target));
    res->digest = strata_xstrdup(
        c->index_digest ? c->index_digest : c->plats[0].out.manifest_digest);
    res->media_type = strata_xstrdup(c->img_top->media_type);
    res->nplatforms = c->nplats;
    res->platforms = strata_xcalloc(c->nplats, sizeof(char *));
    res->platform_digests = strata_xcalloc(c->nplats, sizeof(char *));
    res->already = 1;
    for (i = 0; i < c->nplats; i++) {
        res->platforms[i] = strata_xstrdup(c->plats[i].platform);
        res->platform_digests[i] =
            strata_xstrdup(c->plats[i].out.manifest_digest);
        res->already &= c->plats[i].out.already;
    }
}

static void
ctx_release(strata_rebase__ctx *c)
{
    strata_rebase__plat *p;
    size_t i;

    for (i = 0; i < c->nplats; i++) {
        p = &c->plats[i];
        free(p->platform);
        strata_manifest_free(p->img);
        strata_manifest_free(p->old);
        strata_manifest_free(p->new);
        free(p->img_cfg);
        free(p->old_cfg);
        free(p->new_cfg);
        strata_rebase_image_release(&p->out);
    }
    free(c->plats);
    strata_manifest_free(c->img_top);
    strata_manifest_free(c->old_top);
    strata_manifest_free(c->new_top);
    strata_ref_free(c->image);
    strata_ref_free(c->old_base);
    strata_ref_free(c->new_base);
    strata_ref_free(c->target);
    free(c->base_name);
    free(c->index);
    free(c->index_digest);
}

int
strata_rebase_run(strata_rebase_result **out, const strata_rebase_opts *opts,
                  strata_error *err)
{
    strata_rebase__ctx c;
    strata_error e = {0};
    int64_t started = (int64_t) time(NULL);
    size_t i;
    int rc;

    *out = NULL;
    memset(&c, 0, sizeof(c));
    c.opts = opts;
    if (opts->image == NULL || opts->old_base == NULL || opts->new_base == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "rebase needs an image, an old base and a "
                                "new base");
    if ((rc = strata_ref_parse(&c.image, opts->image, &e)) ||
        (rc = strata_ref_parse(&c.old_base, opts->old_base, &e)) ||
        (rc = strata_ref_parse(&c.new_base, opts->new_base, &e)) ||
        (rc = parse_target(&c.target, c.image, opts->tag, &e))) {
        ctx_release(&c);
        if (err != NULL)
            *err = e;
        return rc;
    }
    c.base_name = name_without_digest(c.new_base);
    uv_loop_init(&c.loop);
    rc = strata_registry_new(&c.reg, &c.loop, opts->defaults, &e);
    if (rc != 0)
        goto out;
    for (i = 0; i < opts->nhosts; i++)
        strata_registry_set_host(c.reg, opts->hosts[i].domain,
                                 &opts->hosts[i].opts);
    c.res = strata_xcalloc(1, sizeof(*c.res));
    rc = plan(&c, &e);
    if (rc != 0)
        goto out;
    fill_result(&c);
    if (c.res->already)
        log_info("rebase: '%s' is on '%s' already", strata_ref_string(c.image),
                 strata_ref_string(c.new_base));
    if (opts->dry_run)
        goto out;
    rc = strata_rebase__push(&c, &e);
    if (rc == 0)
        rc = strata_rebase__verify(&c, &e);
    if (rc == 0 && opts->signing_key != NULL)
        rc = strata_rebase__sign(&c, started, &e);
out:
    strata_registry_close(c.reg);
    uv_run(&c.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&c.loop) != 0)
        log_warn("rebase: loop left with open handles");
    if (rc == 0) {
        *out = c.res;
    } else {
        strata_rebase_result_free(c.res);
        if (err != NULL)
            *err = e;
    }
    ctx_release(&c);
    return rc;
}

void
strata_rebase_result_free(strata_rebase_result *res)
{
    size_t i;

    if (res == NULL)
        return;
    for (i = 0; i < res->nplatforms; i++) {
        free(res->platforms[i]);
        free(res->platform_digests[i]);
    }
    free(res->platforms);
    free(res->platform_digests);
    free(res->ref);
    free(res->digest);
    free(res->media_type);
    free(res->signature);
    free(res->attestation);
    free(res->key_fingerprint);
    free(res);
}
