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

static const char *
str_or_null(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
push(strata_report__edges *out, const strata_report__edge *x)
{
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
strata_report__edges_get(strata_report__edges *out, const strata_graph *g)
{
    strata_strmap *done = strata_strmap_new();
    size_t i, n = strata_graph_edge_count(g);

    memset(out, 0, sizeof(*out));
    out->v = strata_xcalloc(n + 1, sizeof(*out->v));
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

const char *
strata_report__watch_for(const json_t *watches, const char *ref_text)
{
    const char *found = NULL;
    strata_ref *ref = NULL, *plain = NULL;
    const json_t *w;
    size_t i;

    if (strata_ref_parse(&ref, ref_text, NULL) != 0)
        return NULL;
    if (strata_ref_with_digest(&plain, ref, NULL, NULL) != 0)
        goto out;
    json_array_foreach (watches, i, w) {
        const char *wref = str_or_null(w, "ref");
        if (wref != NULL && strcmp(wref, strata_ref_string(plain)) == 0) {
            found = wref;
            goto out;
        }
    }
    /* A tag policy on the repository follows every tag it accepts. */
    json_array_foreach (watches, i, w) {
        const char *wref = str_or_null(w, "ref");
        strata_ref *wr = NULL;

        if (wref == NULL || !json_is_object(json_object_get(w, "policy")))
            continue;
        if (strata_ref_parse(&wr, wref, NULL) == 0 &&
            strcmp(strata_ref_name(wr), strata_ref_name(ref)) == 0)
            found = wref;
        strata_ref_free(wr);
        if (found != NULL)
            break;
    }
out:
    strata_ref_free(plain);
    strata_ref_free(ref);
    return found;
}
