/*
 * persist.c - the lineage graph between the store and memory: loading the
 * store's nodes and edges into a strata_graph (with the digests pinned at
 * each reference, which the scan keeps in its per-repository meta
 * document because the edge table has no digest column), and the hook
 * that records lineage learnt from registries.
 *
 * Loading streams one snapshot straight into the graph, capacities
 * reserved from the store's counts so nothing is held twice. Nodes no
 * live edge touches (a deleted Dockerfile, a base no file uses now; the
 * store cannot delete nodes) are left out; images we build stay, with or
 * without edges. A registry edge with confidence 0 was retracted (the
 * store cannot delete edges) and is not loaded.
 */
#include <stdlib.h>
#include <string.h>

#include "graph-int.h"

/* The meta key of the digest behind a registry-lineage edge. */
#define LINEAGE_META "lineage:"

typedef struct load_ctx {
    strata_graph *g;
    strata_store *st;
    /* Store id -> graph node, by id (nodes arrive in id order). */
    int64_t *ids;
    uint32_t *at;
    size_t n, cap;
    strata_strmap *docs; /* repository URL -> its scan document */
    strata_error *err;   /* a store error stops the load (the callbacks) */
} load_ctx;

/* *out: the value of key (caller frees), or NULL when unset. */
static int
meta_get(char **out, strata_store *st, const char *key, strata_error *err)
{
    int rc = strata_store_meta_get(out, st, key, err);

    if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
        *out = NULL;
        return 0;
    }
    return rc;
}

static int
on_node(const strata_store_node *node, void *arg)
{
    load_ctx *c = arg;
    strata_graph_kind kind = STRATA_GRAPH_BASE;

    if (node->kind == STRATA_STORE_NODE_IMAGE) {
        size_t lr = node->repo ? strlen(node->repo) : 0;

        /* The scan names an unnamed consumer "REPO//PATH". */
        kind = STRATA_GRAPH_IMAGE;
        if (node->repo != NULL && node->path != NULL &&
            strncmp(node->ref, node->repo, lr) == 0 &&
            strncmp(node->ref + lr, "//", 2) == 0 &&
            strcmp(node->ref + lr + 2, node->path) == 0)
            kind = STRATA_GRAPH_DOCKERFILE;
    }
    if (kind != STRATA_GRAPH_IMAGE && !node->used)
        return 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->ids = strata_xrealloc(c->ids, c->cap * sizeof(*c->ids));
        c->at = strata_xrealloc(c->at, c->cap * sizeof(*c->at));
    }
    c->ids[c->n] = node->id;
    c->at[c->n] = (uint32_t) strata_graph_add_node(c->g, node->ref, kind);
    c->n++;
    return 0;
}

/* Nodes arrive by id, so ids is sorted: binary search. */
static int
find_node(const load_ctx *c, int64_t id, size_t *out)
{
    size_t lo = 0, hi = c->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->ids[mid] == id) {
            *out = c->at[mid];
            return 0;
        }
        if (c->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/*
 * *out: the digest pinned at a Dockerfile edge's line, from the
 * repository's scan document (cached per repository in docs: url ->
 * json_t, new references, NULL stored as json_null()), or NULL. Borrowed
 * from docs. A store error is returned: a graph without its pins would
 * pass for the whole graph.
 */
static int
dockerfile_pin(const char **out, strata_strmap *docs, strata_store *st,
               const strata_store_edge *e, strata_error *err)
{
    json_t *doc, *pin;
    char line[16];

    *out = NULL;
    if (e->repo == NULL || e->path == NULL || e->line <= 0)
        return 0;
    doc = strata_strmap_get(docs, e->repo);
    if (doc == NULL) {
        char *key = strata_xasprintf(STRATA_GRAPH_SCAN_META "%s", e->repo);
        char *text = NULL;
        int rc = meta_get(&text, st, key, err);

        free(key);
        if (rc != 0)
            return rc;
        if (text != NULL)
            doc = json_loads(text, 0, NULL);
        if (doc == NULL)
            doc = json_null();
        strata_strmap_put(docs, e->repo, doc);
        free(text);
    }
    snprintf(line, sizeof(line), "%d", e->line);
    pin = json_object_get(
        json_object_get(json_object_get(json_object_get(doc, "files"), e->path),
                        "pins"),
        line);
    *out = json_is_string(pin) ? json_string_value(pin) : NULL;
    return 0;
}

static char *
lineage_key(const char *child, const char *parent,
            strata_store_edge_method method)
{
    return strata_xasprintf(LINEAGE_META "%s|%s|%s", child, parent,
                            strata_store_edge_method_name(method));
}

static int
on_edge(const strata_store_edge *edge, void *arg)
{
    load_ctx *c = arg;
    strata_graph_edge_info info = {0};
    size_t child, parent;
    char *pin = NULL;
    int rc = 0;

    /* A registry edge a later read no longer confirms (see lineage.c). */
    if (edge->method != STRATA_STORE_EDGE_DOCKERFILE && edge->confidence <= 0)
        return 0;
    if (find_node(c, edge->child, &child) != 0 ||
        find_node(c, edge->parent, &parent) != 0)
        return 0; /* foreign keys and the used flag make this impossible */
    info.repo = edge->repo;
    info.path = edge->path;
    info.line = edge->line > 0 ? (unsigned) edge->line : 0;
    info.method = strata_store_edge_method_name(edge->method);
    info.confidence = (int) (edge->confidence * 100 + 0.5);
    if (edge->method == STRATA_STORE_EDGE_DOCKERFILE) {
        rc = dockerfile_pin(&info.digest, c->docs, c->st, edge, c->err);
    } else {
        char *key =
            lineage_key(strata_graph_node_ref(c->g, child),
                        strata_graph_node_ref(c->g, parent), edge->method);

        rc = meta_get(&pin, c->st, key, c->err);
        if (rc == 0 && pin != NULL && *pin)
            info.digest = pin;
        free(key);
    }
    if (rc == 0)
        strata_graph__add_edge_at(c->g, child, parent, &info);
    free(pin);
    return rc;
}

int
strata_graph_load(strata_graph **out, strata_store *st, strata_error *err)
{
    load_ctx c = {0};
    size_t nnodes, nedges, it = 0;
    const char *k;
    void *v;
    int rc;

    *out = NULL;
    if ((rc = strata_store_graph_count(st, &nnodes, &nedges, err)) != 0)
        return rc;
    c.g = strata_graph_new();
    c.st = st;
    c.docs = strata_strmap_new();
    c.err = err;
    strata_graph__reserve(c.g, nnodes, nedges);
    c.cap = nnodes ? nnodes : 1;
    c.ids = strata_xmalloc(c.cap * sizeof(*c.ids));
    c.at = strata_xmalloc(c.cap * sizeof(*c.at));
    rc = strata_store_graph_load(st, on_node, on_edge, &c, err);
    if (rc == 0) {
        *out = c.g;
        c.g = NULL;
    }
    while (strata_strmap_next(c.docs, &it, &k, &v))
        json_decref(v);
    strata_strmap_free(c.docs);
    free(c.ids);
    free(c.at);
    strata_graph_free(c.g);
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
