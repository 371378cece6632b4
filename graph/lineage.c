/*
 * lineage.c - lineage from registries: for each configured image that no
 * Dockerfile edge explains, read its manifest (and, for an index, the
 * target platform's manifest) and, when it carries the OCI annotations
 * org.opencontainers.image.base.name / .base.digest, record the edge
 * image -> base with method "annotation" through strata_graph_add_lineage.
 *
 * Synchronous, like the repository scan (the registry client's _sync
 * wrappers run a private loop per request): the daemon runs it in a
 * worker. Layer-prefix matching ("layers") is not done yet.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "graph.h"

#define ANN_BASE_NAME "org.opencontainers.image.base.name"
#define ANN_BASE_DIGEST "org.opencontainers.image.base.digest"
#define ANNOTATION_CONFIDENCE 90

/* The child refs that have a Dockerfile edge, collected from the store. */
typedef struct explained {
    strata_strmap *ids;  /* "id" -> ref copy */
    strata_strmap *refs; /* explained ref -> 1 */
} explained;

static int
on_node(const strata_store_node *node, void *arg)
{
    explained *x = arg;
    char key[32];

    snprintf(key, sizeof(key), "%lld", (long long) node->id);
    strata_strmap_put(x->ids, key, strata_xstrdup(node->ref));
    return 0;
}

static int
on_edge(const strata_store_edge *edge, void *arg)
{
    explained *x = arg;
    const char *ref;
    char key[32];

    if (edge->method != STRATA_STORE_EDGE_DOCKERFILE)
        return 0;
    snprintf(key, sizeof(key), "%lld", (long long) edge->child);
    if ((ref = strata_strmap_get(x->ids, key)) != NULL)
        strata_strmap_put(x->refs, ref, (void *) 1);
    return 0;
}

/* Registry options for domain from the configuration (borrowed strings). */
static void
registry_opts(strata_registry_opts *o, const strata_config_data *cfg,
              const char *domain)
{
    size_t i;

    memset(o, 0, sizeof(*o));
    for (i = 0; i < cfg->n_registries; i++) {
        const strata_config_registry *r = &cfg->registries[i];

        if (strcasecmp(r->host, domain) != 0)
            continue;
        o->username = r->username;
        if (r->password != NULL)
            o->password = strata_secret_reveal(r->password);
        else if (r->token != NULL)
            o->password = strata_secret_reveal(r->token);
        o->insecure = r->insecure;
        o->ca_file = r->ca_file;
        return;
    }
}

/* A manifest's annotation key, or NULL. New string. */
static char *
annotation(const strata_manifest *m, const char *key)
{
    json_t *doc = json_loadb(m->body, m->body_len, 0, NULL);
    const char *v = json_string_value(
        json_object_get(json_object_get(doc, "annotations"), key));
    char *out = v ? strata_xstrdup(v) : NULL;

    json_decref(doc);
    return out;
}

/*
 * Finds the base annotations of image (an index's own, else its platform
 * manifest's). *name and *digest are new strings or NULL.
 */
static int
read_annotations(char **name, char **digest, const strata_registry_opts *o,
                 const strata_ref *ref, const char *platform, strata_error *err)
{
    strata_manifest *m = NULL, *pm = NULL;
    strata_ref *by_digest = NULL;
    const strata_descriptor *d;
    int rc;

    *name = *digest = NULL;
    if ((rc = strata_registry_get_manifest_sync(&m, o, ref, err)) != 0)
        return rc;
    *name = annotation(m, ANN_BASE_NAME);
    *digest = annotation(m, ANN_BASE_DIGEST);
    if (*name != NULL || !m->is_index)
        goto out;
    if ((d = strata_manifest_find_platform(m, platform)) == NULL)
        goto out;
    if ((rc = strata_ref_with_digest(&by_digest, ref, d->digest, err)) != 0 ||
        (rc = strata_registry_get_manifest_sync(&pm, o, by_digest, err)) != 0)
        goto out;
    free(*digest);
    *name = annotation(pm, ANN_BASE_NAME);
    *digest = annotation(pm, ANN_BASE_DIGEST);
out:
    strata_manifest_free(pm);
    strata_manifest_free(m);
    strata_ref_free(by_digest);
    return rc;
}

/* One image: fills entry; returns a store error only. */
static int
image_lineage(json_t *entry, strata_store *st, const strata_config_data *cfg,
              const strata_config_image *im, strata_error *err)
{
    strata_registry_opts o;
    strata_ref *ref = NULL, *base = NULL, *plain = NULL;
    strata_error e = {0};
    char *name = NULL, *digest = NULL;
    const char *platform =
        im->platforms.count > 0 ? im->platforms.items[0] : "linux/amd64";
    int rc = 0, r;

    if (strata_ref_parse(&ref, im->name, &e) != 0)
        goto problem;
    registry_opts(&o, cfg, strata_ref_domain(ref));
    r = read_annotations(&name, &digest, &o, ref, platform, &e);
    if (r == STRATA_ENOTFOUND) {
        json_object_set_new(entry, "note", json_string("not in the registry"));
        goto out;
    }
    if (r != 0)
        goto problem;
    if (name == NULL) {
        json_object_set_new(entry, "note", json_string("no base annotation"));
        goto out;
    }
    if (strata_ref_parse(&base, name, &e) != 0 ||
        strata_ref_with_digest(&plain, base, NULL, &e) != 0)
        goto problem;
    if (digest != NULL && strata_digest_validate(digest, NULL) != 0) {
        free(digest);
        digest = NULL;
    }
    if (digest == NULL && strata_ref_digest(base) != NULL)
        digest = strata_xstrdup(strata_ref_digest(base));
    {
        strata_graph_lineage l = {0};

        l.child = im->name;
        l.parent = strata_ref_string(plain);
        l.digest = digest;
        l.method = STRATA_STORE_EDGE_ANNOTATION;
        l.confidence = ANNOTATION_CONFIDENCE;
        if ((rc = strata_graph_add_lineage(st, &l, err)) != 0)
            goto out;
    }
    json_object_set_new(entry, "parent", json_string(strata_ref_string(plain)));
    json_object_set_new(entry, "digest",
                        digest ? json_string(digest) : json_null());
    goto out;
problem:
    json_object_set_new(entry, "error", json_string(e.msg));
out:
    free(name);
    free(digest);
    strata_ref_free(plain);
    strata_ref_free(base);
    strata_ref_free(ref);
    return rc;
}

int
strata_graph_scan_annotations(json_t **summary, strata_store *st,
                              const strata_config_data *cfg, strata_error *err)
{
    explained x = {strata_strmap_new(), strata_strmap_new()};
    json_t *images = json_array();
    size_t i, j, it = 0;
    const char *k;
    void *v;
    int rc;

    *summary = json_pack("{s:o}", "images", images);
    if ((rc = strata_store_graph_load(st, on_node, on_edge, &x, err)) != 0)
        goto out;
    for (i = 0; i < cfg->n_repos && rc == 0; i++) {
        const strata_config_repo *repo = &cfg->repos[i];

        for (j = 0; j < repo->n_images && rc == 0; j++) {
            const strata_config_image *im = &repo->images[j];
            json_t *entry;

            if (strata_strmap_has(x.refs, im->name))
                continue;
            entry = json_pack("{s:s, s:n, s:n, s:n}", "image", im->name,
                              "parent", "digest", "error");
            json_array_append_new(images, entry);
            rc = image_lineage(entry, st, cfg, im, err);
        }
    }
out:
    while (strata_strmap_next(x.ids, &it, &k, &v))
        free(v);
    strata_strmap_free(x.ids);
    strata_strmap_free(x.refs);
    return rc;
}
