/*
 * manifest.c - the JSON documents of a registry: image manifests (OCI and
 * Docker schema 2), indexes (OCI index, Docker manifest list) with their
 * per-platform entries, and image config blobs (created, labels,
 * rootfs.diff_ids, history). Everything from outside is validated before
 * use: digests by the OCI grammar, sizes as integers.
 */
#include <stdlib.h>
#include <string.h>

#include "oci-int.h"

static char *
dup_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? strata_xstrdup(s) : NULL;
}

static void
descriptor_release(strata_descriptor *d)
{
    free(d->media_type);
    free(d->digest);
    free(d->os);
    free(d->arch);
    free(d->variant);
    memset(d, 0, sizeof(*d));
}

static int
parse_descriptor(strata_descriptor *d, const json_t *o, const char *what,
                 strata_error *err)
{
    const json_t *plat;

    memset(d, 0, sizeof(*d));
    if (!json_is_object(o) || !json_is_string(json_object_get(o, "digest")) ||
        strata_digest_validate(json_string_value(json_object_get(o, "digest")),
                               NULL) != 0)
        return strata_error_set(err, STRATA_EPROTO,
                                "malformed %s descriptor in manifest", what);
    d->digest = dup_str(o, "digest");
    d->media_type = dup_str(o, "mediaType");
    d->size = json_integer_value(json_object_get(o, "size"));
    plat = json_object_get(o, "platform");
    if (json_is_object(plat)) {
        d->os = dup_str(plat, "os");
        d->arch = dup_str(plat, "architecture");
        d->variant = dup_str(plat, "variant");
    }
    return 0;
}

static int
parse_list(strata_descriptor **out, size_t *n, const json_t *arr,
           const char *what, strata_error *err)
{
    size_t i;
    int rc;

    *out = NULL;
    *n = 0;
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return strata_error_set(err, STRATA_EPROTO,
                                "malformed manifest: '%s' is not a list", what);
    *out = strata_xcalloc(json_array_size(arr) + 1, sizeof(**out));
    for (i = 0; i < json_array_size(arr); i++) {
        rc = parse_descriptor(&(*out)[i], json_array_get(arr, i), what, err);
        if (rc != 0)
            return rc;
        (*n)++;
    }
    return 0;
}

static int
is_index_type(const char *mt)
{
    return mt != NULL && (strcmp(mt, STRATA_MT_OCI_INDEX) == 0 ||
                          strcmp(mt, STRATA_MT_DOCKER_LIST) == 0);
}

int
strata_manifest_parse(strata_manifest **out, const char *body, size_t len,
                      const char *content_type, strata_error *err)
{
    strata_manifest *m = strata_xcalloc(1, sizeof(*m));
    json_error_t jerr;
    json_t *j = NULL;
    char hex[65];
    int rc = 0;

    *out = NULL;
    /*
     * jansson skips NUL bytes between tokens, but JSON has none and body
     * is kept as a string: one would cut it short of body_len.
     */
    if (len > 0 && memchr(body, '\0', len) != NULL) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "malformed manifest: NUL byte");
        goto out;
    }
    j = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(j)) {
        rc = strata_error_set(err, STRATA_EPROTO, "malformed manifest: %s",
                              j ? "not an object" : jerr.text);
        goto out;
    }
    strata_sha256_hex(hex, body, len);
    m->digest = strata_xasprintf("sha256:%s", hex);
    m->body = strata_xstrndup(body, len);
    m->body_len = len;
    m->media_type = dup_str(j, "mediaType");
    if (m->media_type == NULL && content_type != NULL) {
        /* "type; charset=..." -> "type" */
        m->media_type =
            strata_xstrndup(content_type, strcspn(content_type, "; "));
    }
    m->is_index =
        is_index_type(m->media_type) ||
        (m->media_type == NULL && json_object_get(j, "manifests") != NULL);
    if (json_integer_value(json_object_get(j, "schemaVersion")) != 2) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "unsupported manifest schema version");
        goto out;
    }
    if (m->is_index) {
        rc = parse_list(&m->manifests, &m->nmanifests,
                        json_object_get(j, "manifests"), "manifests", err);
    } else {
        rc = parse_descriptor(&m->config, json_object_get(j, "config"),
                              "config", err);
        if (rc == 0)
            rc = parse_list(&m->layers, &m->nlayers,
                            json_object_get(j, "layers"), "layers", err);
    }
out:
    json_decref(j);
    if (rc != 0)
        strata_manifest_free(m);
    else
        *out = m;
    return rc;
}

void
strata_manifest_free(strata_manifest *m)
{
    size_t i;

    if (m == NULL)
        return;
    free(m->digest);
    free(m->media_type);
    free(m->body);
    descriptor_release(&m->config);
    for (i = 0; i < m->nlayers; i++)
        descriptor_release(&m->layers[i]);
    free(m->layers);
    for (i = 0; i < m->nmanifests; i++)
        descriptor_release(&m->manifests[i]);
    free(m->manifests);
    free(m);
}

int
strata_oci__platform_split(char **os, char **arch, char **variant,
                           const char *platform)
{
    const char *s1, *s2;

    *os = *arch = *variant = NULL;
    s1 = strchr(platform, '/');
    if (s1 == NULL || s1 == platform || s1[1] == '\0' || s1[1] == '/')
        return -1;
    s2 = strchr(s1 + 1, '/');
    if (s2 != NULL && (s2[1] == '\0' || strchr(s2 + 1, '/') != NULL))
        return -1;
    *os = strata_xstrndup(platform, (size_t) (s1 - platform));
    if (s2 == NULL) {
        *arch = strata_xstrdup(s1 + 1);
    } else {
        *arch = strata_xstrndup(s1 + 1, (size_t) (s2 - s1 - 1));
        *variant = strata_xstrdup(s2 + 1);
    }
    return 0;
}

int
strata_platform_validate(const char *platform, strata_error *err)
{
    char *os, *arch, *variant;

    if (strata_oci__platform_split(&os, &arch, &variant, platform) != 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid platform '%s': want "
                                "OS/ARCH[/VARIANT]",
                                platform);
    free(os);
    free(arch);
    free(variant);
    return 0;
}

/* The variant an architecture has when none is written. */
static const char *
default_variant(const char *arch)
{
    if (strcmp(arch, "arm64") == 0)
        return "v8";
    if (strcmp(arch, "arm") == 0)
        return "v7";
    return NULL;
}

static int
variant_eq(const char *arch, const char *a, const char *b)
{
    const char *def = default_variant(arch);

    if (a == NULL)
        a = def;
    if (b == NULL)
        b = def;
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

const strata_descriptor *
strata_manifest_find_platform(const strata_manifest *m, const char *platform)
{
    const strata_descriptor *first = NULL, *found = NULL;
    char *os, *arch, *variant;
    size_t i;

    if (strata_oci__platform_split(&os, &arch, &variant, platform) != 0)
        return NULL;
    for (i = 0; i < m->nmanifests && found == NULL; i++) {
        const strata_descriptor *d = &m->manifests[i];

        if (d->os == NULL || d->arch == NULL || strcmp(d->os, os) != 0 ||
            strcmp(d->arch, arch) != 0)
            continue;
        if (variant != NULL || default_variant(arch) != NULL) {
            if (variant_eq(arch, d->variant, variant))
                found = d;
        } else if (d->variant == NULL) {
            found = d;
        }
        if (first == NULL)
            first = d;
    }
    if (found == NULL && variant == NULL)
        found = first;
    free(os);
    free(arch);
    free(variant);
    return found;
}

int
strata_image_config_parse(strata_image_config **out, const char *body,
                          size_t len, strata_error *err)
{
    strata_image_config *c = strata_xcalloc(1, sizeof(*c));
    const json_t *labels, *ids, *hist, *v;
    json_error_t jerr;
    json_t *j;
    char hex[65];
    size_t i;
    int rc = 0;

    *out = NULL;
    j = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(j)) {
        rc = strata_error_set(err, STRATA_EPROTO, "malformed image config: %s",
                              j ? "not an object" : jerr.text);
        goto out;
    }
    strata_sha256_hex(hex, body, len);
    c->digest = strata_xasprintf("sha256:%s", hex);
    c->created = dup_str(j, "created");
    c->os = dup_str(j, "os");
    c->arch = dup_str(j, "architecture");
    c->variant = dup_str(j, "variant");
    labels = json_object_get(json_object_get(j, "config"), "Labels");
    c->labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
    ids = json_object_get(json_object_get(j, "rootfs"), "diff_ids");
    c->diff_ids = strata_xcalloc(json_array_size(ids) + 1, sizeof(char *));
    json_array_foreach (ids, i, v) {
        if (!json_is_string(v) ||
            strata_digest_validate(json_string_value(v), NULL) != 0) {
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "malformed image config: bad diff_id");
            goto out;
        }
        c->diff_ids[c->ndiff_ids++] = strata_xstrdup(json_string_value(v));
    }
    hist = json_object_get(j, "history");
    c->history = strata_xcalloc(json_array_size(hist) + 1, sizeof(*c->history));
    json_array_foreach (hist, i, v) {
        strata_history_entry *h = &c->history[c->nhistory++];

        h->created = dup_str(v, "created");
        h->created_by = dup_str(v, "created_by");
        h->empty_layer = json_is_true(json_object_get(v, "empty_layer"));
    }
out:
    json_decref(j);
    if (rc != 0)
        strata_image_config_free(c);
    else
        *out = c;
    return rc;
}

void
strata_image_config_free(strata_image_config *c)
{
    size_t i;

    if (c == NULL)
        return;
    free(c->digest);
    free(c->created);
    free(c->os);
    free(c->arch);
    free(c->variant);
    json_decref(c->labels);
    for (i = 0; i < c->ndiff_ids; i++)
        free(c->diff_ids[i]);
    free(c->diff_ids);
    for (i = 0; i < c->nhistory; i++) {
        free(c->history[i].created);
        free(c->history[i].created_by);
    }
    free(c->history);
    free(c);
}
