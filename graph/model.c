/*
 * model.c - the in-memory lineage graph: nodes found by reference through
 * the string table, and child -> parent edges, with per-node adjacency in
 * both directions so queries walk either way in time proportional to what
 * they touch. Sized for 100,000 nodes in a daemon: 32-bit indexes, edge
 * strings as ids, one adjacency entry kept in place.
 */
#include <stdlib.h>
#include <string.h>

#include "graph-int.h"

strata_graph *
strata_graph_new(void)
{
    return strata_xcalloc(1, sizeof(strata_graph));
}

static void
adj_release(strata_graph__adj *a)
{
    if (a->cap > 1)
        free(a->u.many);
}

void
strata_graph_free(strata_graph *g)
{
    size_t i;

    if (g == NULL)
        return;
    for (i = 0; i < g->nnodes; i++) {
        adj_release(&g->nodes[i].parents);
        adj_release(&g->nodes[i].children);
    }
    free(g->nodes);
    free(g->edges);
    strata_graph__strtab_release(&g->strings);
    free(g);
}

static void
adj_push(strata_graph__adj *a, uint32_t x)
{
    if (a->cap == 0) {
        a->cap = 1;
        a->u.one = x;
        a->n = 1;
        return;
    }
    if (a->n == a->cap) {
        uint32_t cap = a->cap * 2, *v;

        if (a->cap == 1) {
            v = strata_xmalloc(cap * sizeof(*v));
            v[0] = a->u.one;
        } else {
            v = strata_xrealloc(a->u.many, cap * sizeof(*v));
        }
        a->u.many = v;
        a->cap = cap;
    }
    a->u.many[a->n++] = x;
}

void
strata_graph__reserve(strata_graph *g, size_t nodes, size_t edges)
{
    if (g->nnodes + nodes > g->capnodes) {
        g->capnodes = g->nnodes + nodes;
        g->nodes = strata_xrealloc(g->nodes, g->capnodes * sizeof(*g->nodes));
    }
    if (g->nedges + edges > g->capedges) {
        g->capedges = g->nedges + edges;
        g->edges = strata_xrealloc(g->edges, g->capedges * sizeof(*g->edges));
    }
}

size_t
strata_graph_add_node(strata_graph *g, const char *ref, strata_graph_kind kind)
{
    uint32_t id = strata_graph__strtab_intern(&g->strings, ref);
    strata_graph__node *n;

    if (g->strings.node[id] != 0) {
        n = &g->nodes[g->strings.node[id] - 1];
        if (kind > n->kind && n->kind != STRATA_GRAPH_DOCKERFILE)
            n->kind = kind;
        return g->strings.node[id] - 1;
    }
    if (g->nnodes >= UINT32_MAX - 1)
        abort(); /* 32-bit node indexes: memory ran out long before */
    if (g->nnodes == g->capnodes)
        strata_graph__reserve(g, g->capnodes ? g->capnodes : 64, 0);
    n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->ref = g->strings.strs[id];
    g->strings.node[id] = (uint32_t) g->nnodes + 1;
    return g->nnodes++;
}

void
strata_graph__add_edge_at(strata_graph *g, size_t child, size_t parent,
                          const strata_graph_edge_info *info)
{
    strata_graph__edge *e;

    if (g->nedges >= UINT32_MAX)
        abort(); /* 32-bit edge indexes: memory ran out long before */
    if (g->nedges == g->capedges)
        strata_graph__reserve(g, 0, g->capedges ? g->capedges : 64);
    e = &g->edges[g->nedges];
    memset(e, 0, sizeof(*e));
    e->child = (uint32_t) child;
    e->parent = (uint32_t) parent;
    if (info != NULL) {
        e->repo = strata_graph__strtab_intern(&g->strings, info->repo);
        e->path = strata_graph__strtab_intern(&g->strings, info->path);
        e->line = info->line;
        e->method = strata_graph__strtab_intern(&g->strings, info->method);
        e->confidence = info->confidence;
        e->digest = strata_graph__strtab_intern(&g->strings, info->digest);
    }
    adj_push(&g->nodes[child].parents, (uint32_t) g->nedges);
    adj_push(&g->nodes[parent].children, (uint32_t) g->nedges);
    g->nedges++;
}

void
strata_graph_add_edge(strata_graph *g, const char *child, const char *parent,
                      const strata_graph_edge_info *info)
{
    size_t c = strata_graph_add_node(g, child, STRATA_GRAPH_IMAGE);
    size_t p = strata_graph_add_node(g, parent, STRATA_GRAPH_BASE);

    strata_graph__add_edge_at(g, c, p, info);
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
    uint32_t id = strata_graph__strtab_find(&g->strings, ref);

    if (id == 0 || g->strings.node[id] == 0)
        return STRATA_ENOTFOUND;
    *out = g->strings.node[id] - 1;
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
        strata_graph__edge_info(info, g, e);
}

size_t
strata_graph_node_parents(const strata_graph *g, size_t node)
{
    return g->nodes[node].parents.n;
}

size_t
strata_graph_node_parent_edge(const strata_graph *g, size_t node, size_t k)
{
    return strata_graph__at(&g->nodes[node].parents, k);
}

void
strata_graph__edge_info(strata_graph_edge_info *out, const strata_graph *g,
                        const strata_graph__edge *e)
{
    out->repo = strata_graph__str(&g->strings, e->repo);
    out->path = strata_graph__str(&g->strings, e->path);
    out->line = e->line;
    out->method = strata_graph__str(&g->strings, e->method);
    out->confidence = e->confidence;
    out->digest = strata_graph__str(&g->strings, e->digest);
}
