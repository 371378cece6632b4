/*
 * persist.c - the lineage graph between the store and memory: loading the
 * store's nodes and edges into a strata_graph (with the digests pinned at
 * each reference, which the scan keeps in its per-repository meta
 * document because the edge table has no digest column), and the hook
 * that records lineage learnt from registries.
 *
 * Loading reads one snapshot into buffers first, so that nodes can be
 * added in id order and the nodes no edge touches any more (a deleted
 * Dockerfile, a base no file uses now; the store cannot delete nodes) can
 * be left out. Images we build stay, with or without edges. A registry
 * edge with confidence 0 was retracted (the store cannot delete edges) and
 * is not loaded.
 */
#include <stdlib.h>
#include <string.h>

#include "graph.h"

/* The meta key of the digest behind a registry-lineage edge. */
#define LINEAGE_META "lineage:"

typedef struct load_node {
    int64_t id;
    char *ref;
    strata_graph_kind kind;
    int used; /* some edge touches it */
} load_node;

typedef struct load_edge {
    size_t child, parent; /* indexes into nodes */
    char *repo, *path;
    unsigned line;
    strata_store_edge_method method;
    int confidence;
} load_edge;

typedef struct load_ctx {
    load_node *nodes;
    size_t nnodes, capnodes;
    load_edge *edges;
    size_t nedges, capedges;
} load_ctx;

static int
on_node(const strata_store_node *node, void *arg)
{
    load_ctx *c = arg;
    load_node *n;

    if (c->nnodes == c->capnodes) {
        c->capnodes = c->capnodes ? c->capnodes * 2 : 256;
        c->nodes = strata_xrealloc(c->nodes, c->capnodes * sizeof(*c->nodes));
    }
    n = &c->nodes[c->nnodes++];
    n->id = node->id;
    n->ref = strata_xstrdup(node->ref);
    n->used = 0;
    n->kind = STRATA_GRAPH_BASE;
    if (node->kind == STRATA_STORE_NODE_IMAGE) {
        size_t lr = node->repo ? strlen(node->repo) : 0;

        /* The scan names an unnamed consumer "REPO//PATH". */
        n->kind = STRATA_GRAPH_IMAGE;
        if (node->repo != NULL && node->path != NULL &&
            strncmp(node->ref, node->repo, lr) == 0 &&
            strncmp(node->ref + lr, "//", 2) == 0 &&
            strcmp(node->ref + lr + 2, node->path) == 0)
            n->kind = STRATA_GRAPH_DOCKERFILE;
    }
    return 0;
}

/* Nodes arrive by id, so the buffer is sorted: binary search. */
static int
find_node(const load_ctx *c, int64_t id, size_t *out)
{
    size_t lo = 0, hi = c->nnodes;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->nodes[mid].id == id) {
            *out = mid;
            return 0;
        }
        if (c->nodes[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int
on_edge(const strata_store_edge *edge, void *arg)
{
    load_ctx *c = arg;
    load_edge *e;
    size_t child, parent;

    if (find_node(c, edge->child, &child) != 0 ||
        find_node(c, edge->parent, &parent) != 0)
        return 0; /* foreign keys make this impossible */
    /* A registry edge a later read no longer confirms (see lineage.c). */
    if (edge->method != STRATA_STORE_EDGE_DOCKERFILE && edge->confidence <= 0)
        return 0;
    if (c->nedges == c->capedges) {
        c->capedges = c->capedges ? c->capedges * 2 : 256;
        c->edges = strata_xrealloc(c->edges, c->capedges * sizeof(*c->edges));
    }
    e = &c->edges[c->nedges++];
    e->child = child;
    e->parent = parent;
    e->repo = edge->repo ? strata_xstrdup(edge->repo) : NULL;
    e->path = edge->path ? strata_xstrdup(edge->path) : NULL;
    e->line = edge->line > 0 ? (unsigned) edge->line : 0;
    e->method = edge->method;
    e->confidence = (int) (edge->confidence * 100 + 0.5);
    c->nodes[child].used = 1;
    c->nodes[parent].used = 1;
    return 0;
}

/*
 * The digest pinned at a Dockerfile edge's line, from the repository's
 * scan document (cached per repository in docs: url -> json_t, new
 * references, NULL stored as json_null()). Borrowed from docs.
 */
static const char *
dockerfile_pin(strata_strmap *docs, strata_store *st, const load_edge *e)
{
    json_t *doc, *pin;
    char line[16];

    if (e->repo == NULL || e->path == NULL || e->line == 0)
        return NULL;
    doc = strata_strmap_get(docs, e->repo);
    if (doc == NULL) {
        char *key = strata_xasprintf(STRATA_GRAPH_SCAN_META "%s", e->repo);
        char *text = NULL;

        doc = NULL;
        if (strata_store_meta_get(&text, st, key, NULL) == 0)
            doc = json_loads(text, 0, NULL);
        if (doc == NULL)
            doc = json_null();
        strata_strmap_put(docs, e->repo, doc);
        free(text);
        free(key);
    }
    snprintf(line, sizeof(line), "%u", e->line);
    pin = json_object_get(
        json_object_get(json_object_get(json_object_get(doc, "files"), e->path),
                        "pins"),
        line);
    return json_is_string(pin) ? json_string_value(pin) : NULL;
}

static char *
lineage_key(const char *child, const char *parent,
            strata_store_edge_method method)
{
    return strata_xasprintf(LINEAGE_META "%s|%s|%s", child, parent,
                            strata_store_edge_method_name(method));
}

int
strata_graph_load(strata_graph **out, strata_store *st, strata_error *err)
{
    load_ctx c = {0};
    strata_strmap *docs = strata_strmap_new();
    strata_graph *g = NULL;
    size_t i, it = 0;
    const char *k;
    void *v;
    int rc;

    *out = NULL;
    if ((rc = strata_store_graph_load(st, on_node, on_edge, &c, err)) != 0)
        goto out;
    g = strata_graph_new();
    for (i = 0; i < c.nnodes; i++) {
        if (c.nodes[i].kind != STRATA_GRAPH_IMAGE && !c.nodes[i].used)
            continue;
        strata_graph_add_node(g, c.nodes[i].ref, c.nodes[i].kind);
    }
    for (i = 0; i < c.nedges; i++) {
        const load_edge *e = &c.edges[i];
        strata_graph_edge_info info = {0};
        char *pin = NULL;

        info.repo = e->repo;
        info.path = e->path;
        info.line = e->line;
        info.method = strata_store_edge_method_name(e->method);
        info.confidence = e->confidence;
        if (e->method == STRATA_STORE_EDGE_DOCKERFILE) {
            info.digest = dockerfile_pin(docs, st, e);
        } else {
            char *key = lineage_key(c.nodes[e->child].ref,
                                    c.nodes[e->parent].ref, e->method);

            if (strata_store_meta_get(&pin, st, key, NULL) == 0 && *pin)
                info.digest = pin;
            free(key);
        }
        strata_graph_add_edge(g, c.nodes[e->child].ref, c.nodes[e->parent].ref,
                              &info);
        free(pin);
    }
    *out = g;
    g = NULL;
out:
    while (strata_strmap_next(docs, &it, &k, &v))
        json_decref(v);
    strata_strmap_free(docs);
    for (i = 0; i < c.nnodes; i++)
        free(c.nodes[i].ref);
    for (i = 0; i < c.nedges; i++) {
        free(c.edges[i].repo);
        free(c.edges[i].path);
    }
    free(c.nodes);
    free(c.edges);
    strata_graph_free(g);
    return rc;
}

int
strata_graph_add_lineage(strata_store *st, const strata_graph_lineage *l,
                         strata_error *err)
{
    strata_store_edge e = {0};
    char *key = NULL;
    int rc;

    if (l->method != STRATA_STORE_EDGE_ANNOTATION &&
        l->method != STRATA_STORE_EDGE_LAYERS)
        return strata_error_set(err, STRATA_EINVAL,
                                "lineage method '%s' is not from a registry",
                                strata_store_edge_method_name(l->method));
    if (l->confidence < 0 || l->confidence > 100)
        return strata_error_set(err, STRATA_EINVAL,
                                "confidence %d is not in 0..100",
                                l->confidence);
    if ((rc = strata_store_begin(st, err)) != 0)
        return rc;
    if ((rc = strata_store_graph_upsert_node(&e.child, st,
                                             STRATA_STORE_NODE_IMAGE, l->child,
                                             NULL, NULL, NULL, err)) != 0 ||
        (rc = strata_store_graph_upsert_node(&e.parent, st,
                                             STRATA_STORE_NODE_BASE, l->parent,
                                             NULL, NULL, NULL, err)) != 0)
        goto fail;
    e.method = l->method;
    e.confidence = l->confidence / 100.0;
    if ((rc = strata_store_graph_add_edge(st, &e, err)) != 0)
        goto fail;
    key = lineage_key(l->child, l->parent, l->method);
    /* "" when no digest is known: the meta table has no delete. */
    if ((rc = strata_store_meta_set(st, key, l->digest ? l->digest : "",
                                    err)) != 0)
        goto fail;
    if ((rc = strata_store_commit(st, err)) != 0)
        goto fail;
    free(key);
    return 0;
fail:
    strata_store_rollback(st);
    free(key);
    return rc;
}
