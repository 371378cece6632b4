/*
 * model.c - the in-memory lineage graph: nodes by reference (a hash map
 * from reference to index) and child -> parent edges, with per-node
 * adjacency lists in both directions so queries walk either way in time
 * proportional to what they touch.
 */
#include <stdlib.h>
#include <string.h>

#include "graph-int.h"

strata_graph *
strata_graph_new(void)
{
    strata_graph *g = strata_xcalloc(1, sizeof(*g));

    g->index = strata_strmap_new();
    g->strings = strata_strmap_new();
    return g;
}

void
strata_graph_free(strata_graph *g)
{
    size_t i;

    if (g == NULL)
        return;
    for (i = 0; i < g->nnodes; i++) {
        free(g->nodes[i].parents.v);
        free(g->nodes[i].children.v);
    }
    for (i = 0; i < g->nedges; i++) {
    }
    free(g->nodes);
    free(g->edges);
    strata_strmap_free(g->index);
    strata_strmap_free(g->strings);
    free(g);
}

static void
idx_push(strata_graph__idxvec *v, size_t x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 2;
        v->v = strata_xrealloc(v->v, v->cap * sizeof(*v->v));
    }
    v->v[v->n++] = x;
}

size_t
strata_graph_add_node(strata_graph *g, const char *ref, strata_graph_kind kind)
{
    void *found = strata_strmap_get(g->index, ref);
    strata_graph__node *n;

    if (found != NULL) {
        n = &g->nodes[(size_t) (uintptr_t) found - 1];
        if (kind > n->kind && n->kind != STRATA_GRAPH_DOCKERFILE)
            n->kind = kind;
        return (size_t) (uintptr_t) found - 1;
    }
    if (g->nnodes == g->capnodes) {
        g->capnodes = g->capnodes ? g->capnodes * 2 : 64;
        g->nodes = strata_xrealloc(g->nodes, g->capnodes * sizeof(*g->nodes));
    }
    n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    /* Stored as index + 1 so that NULL means "absent"; the node's name is
     * the index's own copy of the key. */
    strata_strmap_put(g->index, ref, (void *) (uintptr_t) (g->nnodes + 1));
    n->ref = strata_strmap_key(g->index, ref);
    return g->nnodes++;
}

static const char *
intern(strata_graph *g, const char *s)
{
    return s != NULL ? strata_strmap_intern(g->strings, s) : NULL;
}

void
strata_graph_add_edge(strata_graph *g, const char *child, const char *parent,
                      const strata_graph_edge_info *info)
{
    size_t c = strata_graph_add_node(g, child, STRATA_GRAPH_IMAGE);
    size_t p = strata_graph_add_node(g, parent, STRATA_GRAPH_BASE);
    strata_graph__edge *e;

    if (g->nedges == g->capedges) {
        g->capedges = g->capedges ? g->capedges * 2 : 64;
        g->edges = strata_xrealloc(g->edges, g->capedges * sizeof(*g->edges));
    }
    e = &g->edges[g->nedges];
    memset(e, 0, sizeof(*e));
    e->child = c;
    e->parent = p;
    if (info != NULL) {
        e->repo = intern(g, info->repo);
        e->path = intern(g, info->path);
        e->line = info->line;
        e->method = intern(g, info->method);
        e->confidence = info->confidence;
        e->digest = intern(g, info->digest);
    }
    idx_push(&g->nodes[c].parents, g->nedges);
    idx_push(&g->nodes[p].children, g->nedges);
    g->nedges++;
}

size_t
strata_graph_node_count(const strata_graph *g)
{
    return g->nnodes;
}

size_t
strata_graph_edge_count(const strata_graph *g)
{
    return g->nedges;
}

int
strata_graph_find(const strata_graph *g, const char *ref, size_t *out)
{
    void *found = strata_strmap_get(g->index, ref);

    if (found == NULL)
        return STRATA_ENOTFOUND;
    *out = (size_t) (uintptr_t) found - 1;
    return 0;
}

const char *
strata_graph_node_ref(const strata_graph *g, size_t node)
{
    return g->nodes[node].ref;
}

strata_graph_kind
strata_graph_node_kind(const strata_graph *g, size_t node)
{
    return g->nodes[node].kind;
}

size_t
strata_graph_node_children(const strata_graph *g, size_t node)
{
    return g->nodes[node].children.n;
}

void
strata_graph_edge(const strata_graph *g, size_t i, const char **child,
                  const char **parent, strata_graph_edge_info *info)
{
    const strata_graph__edge *e = &g->edges[i];

    if (child != NULL)
        *child = g->nodes[e->child].ref;
    if (parent != NULL)
        *parent = g->nodes[e->parent].ref;
    if (info != NULL)
        strata_graph__edge_info(info, e);
}

size_t
strata_graph_node_parents(const strata_graph *g, size_t node)
{
    return g->nodes[node].parents.n;
}

size_t
strata_graph_node_parent_edge(const strata_graph *g, size_t node, size_t k)
{
    return g->nodes[node].parents.v[k];
}

void
strata_graph__edge_info(strata_graph_edge_info *out,
                        const strata_graph__edge *e)
{
    out->repo = e->repo;
    out->path = e->path;
    out->line = e->line;
    out->method = e->method;
    out->confidence = e->confidence;
    out->digest = e->digest;
}
