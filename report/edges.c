/*
 * edges.c - the inputs of the report as flat lists: the lineage graph's
 * edges, read through the graph's edge accessors and folded into one
 * report edge per Dockerfile reference (or, for an image no Dockerfile
 * explains, per base learnt from a registry) with the digest the image was
 * built on; and which watched reference follows a given base.
 *
 * The built-on digest of a report edge is the digest pinned at the
 * Dockerfile reference, else the digest of the same child -> parent edge
 * learnt from the registry: the OCI base annotation's, else the layer
 * match's.
 */
#include <stdlib.h>
#include <string.h>

#include "oci.h"
#include "report-int.h"

int
strata_report__is_ours(strata_graph_kind kind)
{
    return kind == STRATA_GRAPH_IMAGE || kind == STRATA_GRAPH_DOCKERFILE;
}

static void
push(strata_report__edges *out, const strata_report__edge *x)
{
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 64;
        out->v = strata_xrealloc(out->v, out->cap * sizeof(*out->v));
    }
    out->v[out->n++] = *x;
}

/* The registry-learnt digest for child -> parent: annotation, else layers. */
static const char *
registry_digest(const strata_graph *g, size_t child, const char *parent,
                const char **from)
{
    const char *found = NULL, *p;
    size_t k, n = strata_graph_node_parents(g, child);

    *from = NULL;
    for (k = 0; k < n; k++) {
        strata_graph_edge_info info;

        strata_graph_edge(g, strata_graph_node_parent_edge(g, child, k), NULL,
                          &p, &info);
        if (strcmp(p, parent) != 0 || info.digest == NULL ||
            info.method == NULL)
            continue;
        if (strcmp(info.method, "annotation") == 0) {
            *from = "annotation";
            return info.digest;
        }
        if (strcmp(info.method, "layers") == 0 && found == NULL) {
            *from = "layers";
            found = info.digest;
        }
    }
    return found;
}

/* 1 when child has a Dockerfile edge to parent. */
static int
has_dockerfile_edge(const strata_graph *g, size_t child, const char *parent)
{
    size_t k, n = strata_graph_node_parents(g, child);
    const char *p;

    for (k = 0; k < n; k++) {
        strata_graph_edge_info info;

        strata_graph_edge(g, strata_graph_node_parent_edge(g, child, k), NULL,
                          &p, &info);
        if (strcmp(p, parent) == 0 && info.method != NULL &&
            strcmp(info.method, "dockerfile") == 0)
            return 1;
    }
    return 0;
}

void
strata_report__edges_get(strata_report__edges *out, const strata_graph *g,
                         int to_bases)
{
    strata_strmap *done = strata_strmap_new();
    size_t i, n = strata_graph_edge_count(g);

    memset(out, 0, sizeof(*out));
    for (i = 0; i < n; i++) {
        strata_report__edge x = {0};
        strata_graph_edge_info info;
        size_t child, parent;
        char *key;

        strata_graph_edge(g, i, &x.child, &x.parent, &info);
        /* The graph's own nodes: these lookups cannot fail. */
        strata_graph_find(g, x.child, &child);
        strata_graph_find(g, x.parent, &parent);
        x.child_kind = strata_graph_node_kind(g, child);
        x.parent_kind = strata_graph_node_kind(g, parent);
        if (to_bases && (!strata_report__is_ours(x.child_kind) ||
                         strata_report__is_ours(x.parent_kind)))
            continue;
        x.repo = info.repo;
        x.path = info.path;
        x.line = info.line;
        x.method = info.method;
        if (info.method != NULL && strcmp(info.method, "dockerfile") == 0) {
            x.digest = info.digest;
            x.built_on_from = info.digest != NULL ? "pin" : NULL;
            if (x.digest == NULL)
                x.digest =
                    registry_digest(g, child, x.parent, &x.built_on_from);
            push(out, &x);
            continue;
        }
        /* Registry lineage: a row of its own only without a Dockerfile. */
        if (has_dockerfile_edge(g, child, x.parent))
            continue;
        key = strata_xasprintf("%s\n%s", x.child, x.parent);
        if (!strata_strmap_has(done, key)) {
            strata_strmap_put(done, key, NULL);
            x.digest = registry_digest(g, child, x.parent, &x.built_on_from);
            push(out, &x);
        }
        free(key);
    }
    strata_strmap_free(done);
}

void
strata_report__edges_release(strata_report__edges *e)
{
    free(e->v);
    memset(e, 0, sizeof(*e));
}

/* ---- watches ---------------------------------------------------------- */

struct strata_report__watches {
    strata_strmap *refs; /* every watched reference (owns the strings) */
    /* A watched alias's upstream -> the watched reference (in refs). */
    strata_strmap *upstream;
    const strata_config_data *cfg;
    /* The watches with a policy, by ref: their references and names. */
    const char **policy_ref;
    char **policy_name;
    size_t npolicy, cap;
};

static int
index_watch(const strata_store_watch *w, void *arg)
{
    strata_report__watches *x = arg;
    json_t *policy;
    strata_ref *r = NULL;

    strata_strmap_put(x->refs, w->ref, NULL);
    {
        char *up = strata_config_upstream_ref(x->cfg, w->ref);

        if (up != NULL)
            strata_strmap_put(x->upstream, up,
                              (void *) strata_strmap_key(x->refs, w->ref));
        free(up);
    }
    if (w->policy == NULL)
        return 0;
    policy = json_loads(w->policy, JSON_DECODE_ANY, NULL);
    if (json_is_object(policy) && strata_ref_parse(&r, w->ref, NULL) == 0) {
        if (x->npolicy == x->cap) {
            x->cap = x->cap ? x->cap * 2 : 8;
            x->policy_ref =
                strata_xrealloc(x->policy_ref, x->cap * sizeof(*x->policy_ref));
            x->policy_name = strata_xrealloc(x->policy_name,
                                             x->cap * sizeof(*x->policy_name));
        }
        x->policy_ref[x->npolicy] = strata_strmap_key(x->refs, w->ref);
        x->policy_name[x->npolicy] = strata_xstrdup(strata_ref_name(r));
        x->npolicy++;
    }
    strata_ref_free(r);
    json_decref(policy);
    return 0;
}

int
strata_report__watches_load(strata_report__watches **out, strata_store *st,
                            const strata_config_data *cfg, strata_error *err)
{
    strata_report__watches *x = strata_xcalloc(1, sizeof(*x));
    int rc;

    *out = NULL;
    x->refs = strata_strmap_new();
    x->upstream = strata_strmap_new();
    x->cfg = cfg;
    if ((rc = strata_store_watch_each(st, index_watch, x, err)) != 0) {
        strata_report__watches_free(x);
        return rc;
    }
    *out = x;
    return 0;
}

void
strata_report__watches_free(strata_report__watches *x)
{
    size_t i;

    if (x == NULL)
        return;
    for (i = 0; i < x->npolicy; i++)
        free(x->policy_name[i]);
    free(x->policy_name);
    free(x->policy_ref);
    strata_strmap_free(x->refs);
    strata_strmap_free(x->upstream);
    free(x);
}

const char *
strata_report__watch_for(const strata_report__watches *x, const char *ref_text)
{
    const char *found = NULL;
    strata_ref *ref = NULL, *plain = NULL;
    size_t i;

    if (strata_ref_parse(&ref, ref_text, NULL) != 0)
        return NULL;
    if (strata_ref_with_digest(&plain, ref, NULL, NULL) != 0)
        goto out;
    found = strata_strmap_key(x->refs, strata_ref_string(plain));
    /* The graph names a watched mirror's base by its upstream. */
    if (found == NULL)
        found = strata_strmap_get(x->upstream, strata_ref_string(plain));
    /* A tag policy on the repository follows every tag it accepts. */
    for (i = 0; found == NULL && i < x->npolicy; i++)
        if (strcmp(x->policy_name[i], strata_ref_name(ref)) == 0)
            found = x->policy_ref[i];
out:
    strata_ref_free(plain);
    strata_ref_free(ref);
    return found;
}
