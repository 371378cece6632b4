/*
 * edges.c - the inputs of the report as flat lists: the lineage graph's
 * edges (read through the graph's own JSON rendering, its one public view
 * of edge provenance and pinned digests), the graph loaded from the store,
 * and which watched reference follows a given base.
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

void
strata_report__edges_get(strata_report__edges *out, const strata_graph *g)
{
    strata_buf b = STRATA_BUF_INIT;
    json_t *edges, *e;
    size_t i;

    memset(out, 0, sizeof(*out));
    strata_graph_render(&b, g, STRATA_GRAPH_JSON);
    /* The graph renders this JSON with jansson itself: it always parses. */
    out->doc = json_loads(strata_buf_cstr(&b), 0, NULL);
    strata_buf_release(&b);
    edges = json_object_get(out->doc, "edges");
    out->v = strata_xcalloc(json_array_size(edges) + 1, sizeof(*out->v));
    json_array_foreach (edges, i, e) {
        strata_report__edge x = {0};
        size_t node;

        x.child = str_or_null(e, "child");
        x.parent = str_or_null(e, "parent");
        if (x.child == NULL || x.parent == NULL)
            continue;
        x.repo = str_or_null(e, "repo");
        x.path = str_or_null(e, "path");
        x.line = (unsigned) json_integer_value(json_object_get(e, "line"));
        x.method = str_or_null(e, "method");
        x.digest = str_or_null(e, "digest");
        x.child_kind = STRATA_GRAPH_IMAGE;
        x.parent_kind = STRATA_GRAPH_BASE;
        if (strata_graph_find(g, x.child, &node) == 0)
            x.child_kind = strata_graph_node_kind(g, node);
        if (strata_graph_find(g, x.parent, &node) == 0)
            x.parent_kind = strata_graph_node_kind(g, node);
        out->v[out->n++] = x;
    }
}

void
strata_report__edges_release(strata_report__edges *e)
{
    free(e->v);
    json_decref(e->doc);
    memset(e, 0, sizeof(*e));
}

/* ---- loading the graph from the store --------------------------------- */

typedef struct load_ctx {
    strata_graph *g;
    strata_strmap *refs; /* "id" -> ref (owned copies in names) */
    char **names;
    size_t n, cap;
} load_ctx;

static int
on_node(const strata_store_node *node, void *arg)
{
    load_ctx *c = arg;
    char key[32];
    strata_graph_kind kind = STRATA_GRAPH_BASE;

    if (node->kind == STRATA_STORE_NODE_IMAGE)
        /* Unnamed consumers are named "REPO//PATH" by the scanner. */
        kind = strstr(node->ref, "//") != NULL ? STRATA_GRAPH_DOCKERFILE
                                               : STRATA_GRAPH_IMAGE;
    strata_graph_add_node(c->g, node->ref, kind);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->names = strata_xrealloc(c->names, c->cap * sizeof(*c->names));
    }
    c->names[c->n] = strata_xstrdup(node->ref);
    snprintf(key, sizeof(key), "%lld", (long long) node->id);
    strata_strmap_put(c->refs, key, c->names[c->n]);
    c->n++;
    return 0;
}

static int
on_edge(const strata_store_edge *edge, void *arg)
{
    load_ctx *c = arg;
    strata_graph_edge_info info = {0};
    const char *child, *parent;
    char key[32];

    snprintf(key, sizeof(key), "%lld", (long long) edge->child);
    child = strata_strmap_get(c->refs, key);
    snprintf(key, sizeof(key), "%lld", (long long) edge->parent);
    parent = strata_strmap_get(c->refs, key);
    if (child == NULL || parent == NULL)
        return 0;
    info.repo = edge->repo;
    info.path = edge->path;
    info.line = edge->line > 0 ? (unsigned) edge->line : 0;
    info.method = strata_store_edge_method_name(edge->method);
    info.confidence = (int) (edge->confidence * 100 + 0.5);
    /*
     * The store's edges do not record the digest pinned at the reference
     * (yet): such edges report as "unpinned" until they do.
     */
    info.digest = NULL;
    strata_graph_add_edge(c->g, child, parent, &info);
    return 0;
}

int
strata_report_graph_load(strata_graph **out, strata_store *st,
                         strata_error *err)
{
    load_ctx c = {0};
    size_t i;
    int rc;

    *out = NULL;
    c.g = strata_graph_new();
    c.refs = strata_strmap_new();
    rc = strata_store_graph_load(st, on_node, on_edge, &c, err);
    for (i = 0; i < c.n; i++)
        free(c.names[i]);
    free(c.names);
    strata_strmap_free(c.refs);
    if (rc != 0) {
        strata_graph_free(c.g);
        return rc;
    }
    *out = c.g;
    return 0;
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
