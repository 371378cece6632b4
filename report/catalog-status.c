/*
 * catalog-status.c - the catalog against the state: for `strata catalog
 * status`, each entry's current digest (store watch state), when it last
 * changed (first_seen of that digest) and how many images build on it
 * (graph); for `strata catalog check`, every image built on a base that
 * is not golden or is deprecated.
 */
#include <stdlib.h>
#include <string.h>

#include "report-int.h"

static json_t *
str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Counts the images built on entry: directly, and at any depth. */
static void
count_images(json_int_t *direct, json_int_t *all, const strata_graph *g,
             const strata_report__edges *edges, const strata_catalog *cat,
             const strata_catalog_entry *entry)
{
    strata_strmap *d = strata_strmap_new(), *a = strata_strmap_new();
    size_t i, w, k;

    for (i = 0; i < edges->n; i++) {
        const strata_report__edge *e = &edges->v[i];
        strata_graph_waves *waves = NULL;

        if (strata_catalog_lookup(cat, e->parent) != entry)
            continue;
        strata_strmap_put(d, e->child, (void *) e);
        if (strata_strmap_has(a, e->parent) ||
            strata_graph_impacted(&waves, g, e->parent, NULL) != 0)
            continue;
        /* Mark the base itself so it is walked once. */
        strata_strmap_put(a, e->parent, NULL);
        for (w = 0; w < waves->nwaves; w++)
            for (k = 0; k < waves->len[w]; k++)
                strata_strmap_put(a, waves->waves[w][k].image, (void *) waves);
        strata_graph_waves_free(waves);
    }
    *direct = (json_int_t) strata_strmap_len(d);
    /* Every key but the bases walked carries a non-NULL value. */
    {
        size_t it = 0, n = 0;
        const char *key;
        void *v;
        while (strata_strmap_next(a, &it, &key, &v))
            if (v != NULL)
                n++;
        *all = (json_int_t) n;
    }
    strata_strmap_free(d);
    strata_strmap_free(a);
}

int
strata_catalog_STATUS(json_t **out, strata_store *st, const strata_graph *g,
                      const strata_catalog *cat, strata_error *err)
{
    strata_graph *loaded = NULL;
    strata_report__edges edges = {0};
    strata_report__watches *watches = NULL;
    json_t *res = NULL;
    size_t i;
    int rc;

    *out = NULL;
    if (g == NULL) {
        rc = strata_graph_load(&loaded, st, err);
        if (rc != 0)
            return rc;
        g = loaded;
    }
    rc = strata_report__watches_load(&watches, st, NULL, err);
    if (rc != 0)
        goto out;
    strata_report__edges_get(&edges, g, 0);
    res = json_array();
    for (i = 0; i < strata_catalog_count(cat); i++) {
        const strata_catalog_entry *e = strata_catalog_get(cat, i);
        const char *wref = strata_report__watch_for(watches, e->ref);
        strata_store_watch_state ws = {0};
        json_t *o = json_object(), *digests = NULL, *d;
        json_int_t direct, all;
        int64_t changed = 0;
        size_t k;

        json_object_set_new(o, "ref", json_string(e->ref));
        if (e->semver != NULL) {
            json_t *pol = json_object();
            json_object_set_new(pol, "semver", json_string(e->semver));
            json_object_set_new(pol, "suffix", str_or_null(e->suffix));
            json_object_set_new(o, "policy", pol);
        } else {
            json_object_set_new(o, "policy", json_null());
        }
        json_object_set_new(
            o, "lifecycle",
            json_string(e->lifecycle == STRATA_CATALOG_DEPRECATED ? "deprecated"
                                                                  : "active"));
        json_object_set_new(o, "watch", str_or_null(wref));
        if (wref != NULL) {
            rc = strata_store_watch_state_get(&ws, st, wref, err);
            if (rc == STRATA_ENOTFOUND) {
                strata_error_clear(err);
                rc = 0;
            }
            if (rc == 0)
                rc = strata_store_digests_list(&digests, st, wref, err);
            if (rc != 0) {
                strata_store_watch_state_release(&ws);
                json_decref(o);
                goto out;
            }
        }
        json_array_foreach (digests, k, d) {
            if (ws.current_digest != NULL &&
                strcmp(strata_report__str(d, "digest", ""),
                       ws.current_digest) == 0)
                changed = json_integer_value(json_object_get(d, "first_seen"));
        }
        json_object_set_new(o, "current_digest",
                            str_or_null(ws.current_digest));
        if (changed > 0) {
            char buf[32];
            strata_format_time(buf, sizeof(buf), changed);
            json_object_set_new(o, "changed", json_string(buf));
        } else {
            json_object_set_new(o, "changed", json_null());
        }
        count_images(&direct, &all, g, &edges, cat, e);
        json_object_set_new(o, "images", json_integer(direct));
        json_object_set_new(o, "descendants", json_integer(all));
        json_array_append_new(res, o);
        json_decref(digests);
        strata_store_watch_state_release(&ws);
    }
    *out = res;
    res = NULL;
out:
    json_decref(res);
    strata_report__watches_free(watches);
    strata_report__edges_release(&edges);
    strata_graph_free(loaded);
    return rc;
}

int
strata_catalog_CHECK(json_t **out, const strata_graph *g,
                     const strata_catalog *cat, strata_error *err)
{
    strata_report__edges edges = {0};
    strata_strmap *seen = strata_strmap_new();
    json_t *res = json_array();
    size_t i;

    (void) err;
    strata_report__edges_get(&edges, g, 1);
    for (i = 0; i < edges.n; i++) {
        const strata_report__edge *e = &edges.v[i];
        const strata_catalog_entry *entry;
        char *key;
        json_t *o;

        entry = strata_catalog_lookup(cat, e->parent);
        if (entry != NULL && entry->lifecycle == STRATA_CATALOG_ACTIVE)
            continue;
        key = strata_xasprintf("%s\n%s", e->child, e->parent);
        if (strata_strmap_has(seen, key)) {
            free(key);
            continue;
        }
        strata_strmap_put(seen, key, NULL);
        free(key);
        o = json_object();
        json_object_set_new(o, "image", json_string(e->child));
        json_object_set_new(o, "base", json_string(e->parent));
        json_object_set_new(o, "class",
                            json_string(strata_catalog_classify(entry)));
        json_object_set_new(o, "repo", str_or_null(e->repo));
        json_object_set_new(o, "path", str_or_null(e->path));
        json_object_set_new(o, "line", json_integer(e->line));
        json_object_set_new(o, "sunset",
                            str_or_null(entry ? entry->sunset : NULL));
        json_object_set_new(o, "replacement",
                            str_or_null(entry ? entry->replacement : NULL));
        json_array_append_new(res, o);
    }
    strata_strmap_free(seen);
    strata_report__edges_release(&edges);
    *out = res;
    return 0;
}
