/*
 * compose.c - the pure heart of a registry-side rebase, for one
 * platform: from the exact bytes of the image's manifest and config and
 * of both bases', check that the image sits on the old base (layer
 * digests and rootfs.diff_ids as a prefix, history consistent), then
 * compose the new config (new base's diff_ids and history, then the
 * image's own; base labels) and the new manifest (new base's layer
 * descriptors, then the image's own; the new config's descriptor; base
 * annotations for OCI) with jansson, and hash the exact bytes produced.
 * No I/O: rebase.c fetches and pushes.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rebase-int.h"

#define ANN_BASE_NAME "org.opencontainers.image.base.name"
#define ANN_BASE_DIGEST "org.opencontainers.image.base.digest"

/* The parsed JSON of one part. */
typedef struct parsed {
    const strata_rebase_part *part;
    json_t *manifest, *config; /* new references */
    json_t *layers;            /* borrowed: manifest "layers" */
    json_t *diff_ids;          /* borrowed: config rootfs.diff_ids */
    json_t *history;           /* borrowed: config "history", or NULL */
} parsed;

static void
parsed_release(parsed *p)
{
    json_decref(p->manifest);
    json_decref(p->config);
}

static int
parse_part(parsed *p, const strata_rebase_part *part, strata_error *err)
{
    json_error_t je;
    json_t *rootfs;
    size_t i;

    memset(p, 0, sizeof(*p));
    p->part = part;
    p->manifest = json_loadb(part->manifest, part->manifest_len, 0, &je);
    if (!json_is_object(p->manifest))
        return strata_error_set(err, STRATA_EPROTO,
                                "manifest of '%s' is not a JSON object: %s",
                                part->name, je.text);
    p->layers = json_object_get(p->manifest, "layers");
    if (!json_is_array(p->layers))
        return strata_error_set(err, STRATA_EPROTO,
                                "manifest of '%s' has no layers array",
                                part->name);
    for (i = 0; i < json_array_size(p->layers); i++)
        if (!json_is_string(
                json_object_get(json_array_get(p->layers, i), "digest")))
            return strata_error_set(err, STRATA_EPROTO,
                                    "layer %zu of '%s' has no digest", i,
                                    part->name);
    p->config = json_loadb(part->config, part->config_len, 0, &je);
    if (!json_is_object(p->config))
        return strata_error_set(err, STRATA_EPROTO,
                                "config of '%s' is not a JSON object: %s",
                                part->name, je.text);
    rootfs = json_object_get(p->config, "rootfs");
    p->diff_ids = json_object_get(rootfs, "diff_ids");
    if (!json_is_array(p->diff_ids))
        return strata_error_set(err, STRATA_EPROTO,
                                "config of '%s' has no rootfs.diff_ids",
                                part->name);
    for (i = 0; i < json_array_size(p->diff_ids); i++)
        if (!json_is_string(json_array_get(p->diff_ids, i)))
            return strata_error_set(err, STRATA_EPROTO,
                                    "diff_id %zu of '%s' is not a string", i,
                                    part->name);
    if (json_array_size(p->diff_ids) != json_array_size(p->layers))
        return strata_error_set(err, STRATA_EPROTO,
                                "'%s' has %zu layers but %zu diff_ids",
                                part->name, json_array_size(p->layers),
                                json_array_size(p->diff_ids));
    p->history = json_object_get(p->config, "history");
    if (p->history != NULL && !json_is_array(p->history) &&
        !json_is_null(p->history))
        return strata_error_set(err, STRATA_EPROTO,
                                "history of '%s' is not an array", part->name);
    if (!json_is_array(p->history))
        p->history = NULL;
    return 0;
}

static const char *
layer_digest(const json_t *layers, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(layers, i), "digest"));
}

/*
 * -1 when base's layers and diff_ids are a prefix of img's, else the
 * index of the first layer that differs (or img's layer count when img
 * has fewer); *what says whether layers or diff_ids differ.
 */
static long
prefix_mismatch(const parsed *img, const parsed *base, const char **what)
{
    size_t n = json_array_size(base->layers), i;

    *what = "layer";
    if (json_array_size(img->layers) < n)
        return (long) json_array_size(img->layers);
    for (i = 0; i < n; i++)
        if (strcmp(layer_digest(img->layers, i),
                   layer_digest(base->layers, i)) != 0)
            return (long) i;
    *what = "diff_id";
    for (i = 0; i < n; i++)
        if (strcmp(json_string_value(json_array_get(img->diff_ids, i)),
                   json_string_value(json_array_get(base->diff_ids, i))) != 0)
            return (long) i;
    return -1;
}

static int
is_empty_layer(const json_t *h)
{
    return json_is_true(json_object_get(h, "empty_layer"));
}

/* History entries in [from, to) that made a layer. */
static size_t
count_layers(const json_t *history, size_t from, size_t to)
{
    size_t n = 0, i;

    for (i = from; i < to && i < json_array_size(history); i++)
        n += !is_empty_layer(json_array_get(history, i));
    return n;
}

/*
 * Where the image's own history starts: after the old base's entries.
 * When the old base has no history, after the entry that made its last
 * layer. -1 when the image's history cannot start with the base's.
 */
static long
history_cut(const parsed *img, const parsed *base)
{
    size_t nbase = json_array_size(base->layers), hn, i, seen = 0;

    hn = json_array_size(base->history);
    if (hn > 0) {
        if (hn > json_array_size(img->history) ||
            count_layers(img->history, 0, hn) !=
                count_layers(base->history, 0, hn))
            return -1;
        return (long) hn;
    }
    if (nbase == 0)
        return 0;
    for (i = 0; i < json_array_size(img->history); i++) {
        seen += !is_empty_layer(json_array_get(img->history, i));
        if (seen == nbase)
            return (long) i + 1;
    }
    return -1;
}

/* Checks that the new base's layers fit the image's manifest format. */
static int
check_media_types(const parsed *img, const parsed *nb, strata_error *err)
{
    const char *imt = img->part->media_type, *bmt = nb->part->media_type, *lmt;
    int docker = imt != NULL && strcmp(imt, STRATA_MT_DOCKER_MANIFEST) == 0;
    size_t i;

    if (imt == NULL || bmt == NULL || strcmp(imt, bmt) != 0)
        return strata_error_set(err, STRATA_ECONFLICT,
                                "media types differ: '%s' is '%s', new base "
                                "'%s' is '%s'",
                                img->part->name, imt ? imt : "?",
                                nb->part->name, bmt ? bmt : "?");
    for (i = 0; i < json_array_size(nb->layers); i++) {
        lmt = json_string_value(
            json_object_get(json_array_get(nb->layers, i), "mediaType"));
        if (lmt == NULL ||
            strncmp(lmt,
                    docker ? "application/vnd.docker." : "application/vnd.oci.",
                    docker ? 23 : 20) != 0)
            return strata_error_set(err, STRATA_ECONFLICT,
                                    "layer %zu of new base '%s' has media "
                                    "type '%s', which a '%s' manifest "
                                    "cannot carry",
                                    i, nb->part->name, lmt ? lmt : "?", imt);
    }
    return 0;
}

/* New: the new base's entries (or placeholders), then the image's after cut. */
static json_t *
compose_history(const parsed *img, const parsed *nb, size_t cut)
{
    json_t *h = json_array(), *e;
    size_t i, nlayers = json_array_size(nb->layers);

    if (json_array_size(nb->history) > 0) {
        for (i = 0; i < json_array_size(nb->history); i++)
            json_array_append_new(
                h, json_deep_copy(json_array_get(nb->history, i)));
    } else {
        /* A base without history: one entry per layer keeps the count. */
        for (i = 0; i < nlayers; i++) {
            e = json_object();
            json_object_set_new(
                e, "comment",
                json_sprintf("layer %zu of %s", i + 1, nb->part->name));
            json_array_append_new(h, e);
        }
    }
    for (i = cut; i < json_array_size(img->history); i++)
        json_array_append_new(h,
                              json_deep_copy(json_array_get(img->history, i)));
    return h;
}

/* Sets the two base annotations (labels) on obj[key], made if absent. */
void
strata_rebase__set_base_keys(json_t *obj, const char *key, const char *name,
                             const char *digest)
{
    json_t *m = json_object_get(obj, key);

    if (!json_is_object(m)) {
        m = json_object();
        json_object_set_new(obj, key, m);
    }
    json_object_set_new(m, ANN_BASE_NAME, json_string(name));
    json_object_set_new(m, ANN_BASE_DIGEST, json_string(digest));
}

void
strata_rebase__dump(char **out, size_t *len, char **digest, const json_t *j)
{
    char hex[65], *s;

    /* json_dumps allocates with malloc; hand over a copy of our own. */
    s = json_dumps(j, JSON_COMPACT);
    if (s == NULL)
        abort(); /* jansson fails only without memory */
    *out = strata_xstrdup(s);
    free(s);
    *len = strlen(*out);
    strata_sha256_hex(hex, *out, *len);
    *digest = strata_xasprintf("sha256:%s", hex);
}

int
strata_rebase_compose(strata_rebase_image *out, const strata_rebase_part *image,
                      const strata_rebase_part *old_base,
                      const strata_rebase_part *new_base, const char *base_name,
                      const char *base_digest, strata_error *err)
{
    parsed img = {0}, ob = {0}, nb = {0};
    const parsed *from;
    json_t *config = NULL, *manifest = NULL, *layers, *diff_ids, *cfg, *desc;
    const char *what, *owhat;
    long bad, obad, cut = 0;
    size_t nfrom, i;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = parse_part(&img, image, err)) != 0 ||
        (rc = parse_part(&ob, old_base, err)) != 0 ||
        (rc = parse_part(&nb, new_base, err)) != 0)
        goto out;
    rc = check_media_types(&img, &nb, err);
    if (rc != 0)
        goto out;

    /* On the old base, or (a repeated rebase) on the new one already. */
    from = &ob;
    obad = prefix_mismatch(&img, &ob, &owhat);
    if (obad >= 0) {
        bad = prefix_mismatch(&img, &nb, &what);
        if (bad >= 0 || json_array_size(nb.layers) == 0) {
            if ((size_t) obad >= json_array_size(img.layers))
                rc = strata_error_set(err, STRATA_ECONFLICT,
                                      "'%s' is not built on '%s': it has "
                                      "%zu layers, the base %zu",
                                      image->name, old_base->name,
                                      json_array_size(img.layers),
                                      json_array_size(ob.layers));
            else
                rc = strata_error_set(err, STRATA_ECONFLICT,
                                      "'%s' is not built on '%s': its %s "
                                      "%ld differs from the base's",
                                      image->name, old_base->name, owhat,
                                      obad + 1);
            goto out;
        }
        from = &nb;
        out->already = 1;
    }
    nfrom = json_array_size(from->layers);
    if (json_array_size(img.history) > 0) {
        cut = history_cut(&img, from);
        if (cut < 0) {
            rc = strata_error_set(err, STRATA_ECONFLICT,
                                  "history of '%s' does not start with the "
                                  "history of '%s'",
                                  image->name, from->part->name);
            goto out;
        }
        if (count_layers(img.history, (size_t) cut, SIZE_MAX) !=
            json_array_size(img.layers) - nfrom)
            log_warn("rebase: history of '%s' does not match its layers",
                     image->name);
    }

    /* The config: diff_ids, history, labels; all else as it was. */
    config = json_deep_copy(img.config);
    diff_ids = json_array();
    for (i = 0; i < json_array_size(nb.diff_ids); i++)
        json_array_append(diff_ids, json_array_get(nb.diff_ids, i));
    for (i = nfrom; i < json_array_size(img.diff_ids); i++)
        json_array_append(diff_ids, json_array_get(img.diff_ids, i));
    json_object_set_new(json_object_get(config, "rootfs"), "diff_ids",
                        diff_ids);
    if (json_array_size(img.history) > 0)
        json_object_set_new(config, "history",
                            compose_history(&img, &nb, (size_t) cut));
    cfg = json_object_get(config, "config");
    if (!json_is_object(cfg)) {
        cfg = json_object();
        json_object_set_new(config, "config", cfg);
    }
    strata_rebase__set_base_keys(cfg, "Labels", base_name, base_digest);
    strata_rebase__dump(&out->config, &out->config_len, &out->config_digest,
                        config);

    /* The manifest: the new config, the new base's layers, then ours. */
    manifest = json_deep_copy(img.manifest);
    desc = json_object_get(manifest, "config");
    if (!json_is_object(desc)) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "manifest of '%s' has no config descriptor",
                              image->name);
        goto out;
    }
    json_object_set_new(desc, "digest", json_string(out->config_digest));
    json_object_set_new(desc, "size",
                        json_integer((json_int_t) out->config_len));
    layers = json_array();
    for (i = 0; i < json_array_size(nb.layers); i++)
        json_array_append_new(layers,
                              json_deep_copy(json_array_get(nb.layers, i)));
    for (i = nfrom; i < json_array_size(img.layers); i++)
        json_array_append_new(layers,
                              json_deep_copy(json_array_get(img.layers, i)));
    json_object_set_new(manifest, "layers", layers);
    if (strcmp(image->media_type, STRATA_MT_OCI_MANIFEST) == 0)
        strata_rebase__set_base_keys(manifest, "annotations", base_name,
                                     base_digest);
    strata_rebase__dump(&out->manifest, &out->manifest_len,
                        &out->manifest_digest, manifest);
    out->nbase_layers = json_array_size(nb.layers);
    out->nown_layers = json_array_size(img.layers) - nfrom;
    rc = 0;
out:
    if (rc != 0)
        strata_rebase_image_release(out);
    json_decref(config);
    json_decref(manifest);
    parsed_release(&img);
    parsed_release(&ob);
    parsed_release(&nb);
    return rc;
}

void
strata_rebase_image_release(strata_rebase_image *img)
{
    free(img->manifest);
    free(img->manifest_digest);
    free(img->config);
    free(img->config_digest);
    memset(img, 0, sizeof(*img));
}
