/*
 * query.c - questions asked of the lineage graph: which images descend
 * from a base, in waves (Kahn's algorithm restricted to the descendants,
 * so a wave holds images whose impacted parents are all in earlier
 * waves); the ancestors of an image; the nodes a repository's
 * Dockerfiles make; and cycles, found by an iterative
 * depth-first search so a 100,000-deep chain cannot overflow the stack.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph-int.h"

enum {
    UNSEEN = 0,
    IMPACTED = 1,
    START = 2
};

/* Names a cycle through the nodes left with in-degree > 0. */
static char *
describe_cycle(const strata_graph *g, const unsigned char *left, size_t from)
{
    size_t *pos = strata_xcalloc(g->nnodes, sizeof(*pos));
    size_t *path = strata_xcalloc(g->nnodes + 1, sizeof(*path));
    strata_buf b = STRATA_BUF_INIT;
    size_t n = 0, u = from, i, j;

    /* Walk parents that are also stuck; we must revisit a node. */
    while (pos[u] == 0) {
        const strata_graph__node *nd = &g->nodes[u];
        size_t next = u;

        path[n++] = u;
        pos[u] = n;
        /* A stuck node always has a stuck parent. */
        for (i = 0; i < nd->parents.n; i++) {
            size_t p = g->edges[strata_graph__at(&nd->parents, i)].parent;
            if (left[p]) {
                next = p;
                break;
            }
        }
        u = next;
    }
    /* The cycle runs from u's first visit to the end of the path. */
    for (j = pos[u] - 1; j < n; j++)
        strata_buf_printf(&b, "%s -> ", g->nodes[path[j]].ref);
    strata_buf_puts(&b, g->nodes[u].ref);
    free(pos);
    free(path);
    return strata_buf_detach(&b);
}

int
strata_graph_impacted(strata_graph_waves **out, const strata_graph *g,
                      const char *ref, strata_error *err)
{
    strata_graph_waves *w = NULL;
    unsigned char *mark = NULL;
    size_t *indeg = NULL, *wave_of = NULL, *cur = NULL, *next = NULL;
    size_t *stack = NULL;
    size_t *pred = NULL, back_to_start = SIZE_MAX, capwaves = 0;
    size_t start, nstack = 0, nimpacted = 0, ncur = 0, done = 0, i, k;

    *out = NULL;
    if (strata_graph_find(g, ref, &start) != 0)
        return strata_error_set(err, STRATA_ENOTFOUND,
                                "no image '%s' in the graph", ref);
    mark = strata_xcalloc(g->nnodes, 1);
    indeg = strata_xcalloc(g->nnodes, sizeof(*indeg));
    wave_of = strata_xcalloc(g->nnodes, sizeof(*wave_of));
    stack = strata_xcalloc(g->nnodes, sizeof(*stack));
    cur = strata_xcalloc(g->nnodes, sizeof(*cur));
    next = strata_xcalloc(g->nnodes, sizeof(*next));
    pred = strata_xcalloc(g->nnodes, sizeof(*pred));

    /* 1. Every descendant of start; pred[] remembers how we got there. */
    mark[start] = START;
    stack[nstack++] = start;
    while (nstack > 0) {
        size_t u = stack[--nstack];
        const strata_graph__node *nd = &g->nodes[u];
        for (i = 0; i < nd->children.n; i++) {
            size_t c = g->edges[strata_graph__at(&nd->children, i)].child;
            if (c == start && back_to_start == SIZE_MAX)
                back_to_start = u;
            if (mark[c] == UNSEEN) {
                mark[c] = IMPACTED;
                pred[c] = u;
                nimpacted++;
                stack[nstack++] = c;
            }
        }
    }

    /* 2. In-degree counts only edges from other impacted nodes. */
    for (k = 0; k < g->nnodes; k++) {
        const strata_graph__node *nd = &g->nodes[k];
        if (mark[k] != IMPACTED)
            continue;
        for (i = 0; i < nd->parents.n; i++)
            if (mark[g->edges[strata_graph__at(&nd->parents, i)].parent] ==
                IMPACTED)
                indeg[k]++;
        if (indeg[k] == 0)
            cur[ncur++] = k;
    }

    w = strata_xcalloc(1, sizeof(*w));
    w->base = g->nodes[start].ref;

    /* 3. Peel waves. */
    while (ncur > 0) {
        size_t nnext = 0;
        strata_graph_hit *hits = strata_xcalloc(ncur, sizeof(*hits));

        if (w->nwaves == capwaves) {
            capwaves = capwaves ? capwaves * 2 : 8;
            w->len = strata_xrealloc(w->len, capwaves * sizeof(*w->len));
            w->waves = strata_xrealloc(w->waves, capwaves * sizeof(*w->waves));
        }
        for (k = 0; k < ncur; k++) {
            const strata_graph__node *nd = &g->nodes[cur[k]];
            const strata_graph__edge *via = NULL;
            size_t best = 0;

            wave_of[cur[k]] = w->nwaves + 1;
            /* The parent reached latest is the immediate cause; of its
             * edges, a Dockerfile's (it has the repo, path and line). */
            for (i = 0; i < nd->parents.n; i++) {
                const strata_graph__edge *e =
                    &g->edges[strata_graph__at(&nd->parents, i)];
                size_t pw;
                if (mark[e->parent] == UNSEEN)
                    continue;
                pw = mark[e->parent] == START ? 0 : wave_of[e->parent];
                if (via == NULL || pw > best ||
                    (pw == best && via->path == 0 && e->path != 0)) {
                    via = e;
                    best = pw;
                }
            }
            hits[k].image = nd->ref;
            if (via != NULL) {
                hits[k].parent = g->nodes[via->parent].ref;
                strata_graph__edge_info(&hits[k].via, g, via);
            }
            for (i = 0; i < nd->children.n; i++) {
                size_t c = g->edges[strata_graph__at(&nd->children, i)].child;
                if (mark[c] == IMPACTED && --indeg[c] == 0)
                    next[nnext++] = c;
            }
        }
        w->len[w->nwaves] = ncur;
        w->waves[w->nwaves] = hits;
        w->nwaves++;
        done += ncur;
        memcpy(cur, next, nnext * sizeof(*cur));
        ncur = nnext;
    }

    /* 4. Whatever is left waits on itself: a cycle. */
    if (done < nimpacted) {
        unsigned char *left = strata_xcalloc(g->nnodes, 1);
        size_t first = SIZE_MAX;

        for (k = 0; k < g->nnodes; k++) {
            if (mark[k] == IMPACTED && indeg[k] > 0) {
                left[k] = 1;
                if (first == SIZE_MAX)
                    first = k;
            }
        }
        w->cycle = describe_cycle(g, left, first);
        free(left);
    } else if (back_to_start != SIZE_MAX) {
        /* The base descends from itself: name the loop through it. */
        strata_buf b = STRATA_BUF_INIT;
        size_t u = back_to_start;

        strata_buf_puts(&b, g->nodes[start].ref);
        while (u != start) {
            strata_buf_printf(&b, " -> %s", g->nodes[u].ref);
            u = pred[u];
        }
        strata_buf_printf(&b, " -> %s", g->nodes[start].ref);
        w->cycle = strata_buf_detach(&b);
    }
    *out = w;

    free(mark);
    free(indeg);
    free(wave_of);
    free(stack);
    free(cur);
    free(next);
    free(pred);
    return 0;
}

void
strata_graph_waves_free(strata_graph_waves *w)
{
    size_t i;

    if (w == NULL)
        return;
    for (i = 0; i < w->nwaves; i++)
        free(w->waves[i]);
    free(w->waves);
    free(w->len);
    free(w->cycle);
    free(w);
}

/*
 * A set of node indexes, open addressing, sized to what it holds: the
 * ancestors of an image are a handful even in a 100,000-node graph, so
 * nothing here is proportional to the graph (an answer per pull request
 * of a fleet's base update must not cost a pass over every node).
 */
typedef struct node_set {
    size_t *slots; /* index + 1; 0 is empty */
    size_t cap, n; /* cap a power of two */
} node_set;

/* 1 when i was added, 0 when it was there. */
static int
node_set_add(node_set *s, size_t i)
{
    size_t k, j;

    if (2 * (s->n + 1) > s->cap) {
        node_set old = *s;

        s->cap = old.cap ? old.cap * 2 : 32;
        s->slots = strata_xcalloc(s->cap, sizeof(*s->slots));
        s->n = 0;
        for (k = 0; k < old.cap; k++)
            if (old.slots[k] != 0)
                node_set_add(s, old.slots[k] - 1);
        free(old.slots);
    }
    for (j = (i * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);;
         j = (j + 1) & (s->cap - 1)) {
        if (s->slots[j] == i + 1)
            return 0;
        if (s->slots[j] == 0) {
            s->slots[j] = i + 1;
            s->n++;
            return 1;
        }
    }
}

int
strata_graph_ancestors(const char ***out, size_t *n, const strata_graph *g,
                       const char *ref, strata_error *err)
{
    node_set seen = {0};
    size_t *queue = NULL, head = 0, tail = 0, cap = 0, start, i;
    const char **res;

    *out = NULL;
    *n = 0;
    if (strata_graph_find(g, ref, &start) != 0)
        return strata_error_set(err, STRATA_ENOTFOUND,
                                "no image '%s' in the graph", ref);
    node_set_add(&seen, start);
    queue = strata_xrealloc(queue, (cap = 16) * sizeof(*queue));
    queue[tail++] = start;
    while (head < tail) {
        const strata_graph__node *nd = &g->nodes[queue[head++]];

        for (i = 0; i < nd->parents.n; i++) {
            size_t p = g->edges[strata_graph__at(&nd->parents, i)].parent;

            if (!node_set_add(&seen, p))
                continue;
            if (tail == cap)
                queue = strata_xrealloc(queue, (cap *= 2) * sizeof(*queue));
            queue[tail++] = p;
        }
    }
    /* The queue past the start is the answer, nearest first. */
    res = strata_xcalloc(tail, sizeof(*res));
    for (i = 1; i < tail; i++)
        res[(*n)++] = g->nodes[queue[i]].ref;
    free(seen.slots);
    free(queue);
    *out = res;
    return 0;
}

int
strata_graph_repo_nodes(const char ***out, size_t *n, const strata_graph *g,
                        const char *repo)
{
    uint32_t id = strata_graph__strtab_find(&g->strings, repo);
    node_set seen = {0};
    const char **res = NULL;
    size_t i, cap = 0;

    *out = NULL;
    *n = 0;
    if (id == 0)
        return 0;
    for (i = 0; i < g->nedges; i++) {
        const strata_graph__edge *e = &g->edges[i];

        if (e->repo != id || !node_set_add(&seen, e->child))
            continue;
        if (*n == cap)
            res =
                strata_xrealloc(res, (cap = cap ? cap * 2 : 8) * sizeof(*res));
        res[(*n)++] = g->nodes[e->child].ref;
    }
    free(seen.slots);
    *out = res;
    return 0;
}

void
strata_graph_find_cycle(char **out, const strata_graph *g)
{
    unsigned char *color = strata_xcalloc(g->nnodes ? g->nnodes : 1, 1);
    size_t *stack = strata_xcalloc(g->nnodes ? g->nnodes : 1, sizeof(size_t));
    size_t *edge_pos =
        strata_xcalloc(g->nnodes ? g->nnodes : 1, sizeof(size_t));
    size_t root, depth;

    *out = NULL;
    for (root = 0; root < g->nnodes && *out == NULL; root++) {
        if (color[root] != 0)
            continue;
        depth = 0;
        stack[depth++] = root;
        color[root] = 1;
        edge_pos[root] = 0;
        while (depth > 0 && *out == NULL) {
            size_t u = stack[depth - 1];
            const strata_graph__node *nd = &g->nodes[u];

            if (edge_pos[u] < nd->parents.n) {
                size_t p =
                    g->edges[strata_graph__at(&nd->parents, edge_pos[u]++)]
                        .parent;
                if (color[p] == 0) {
                    color[p] = 1;
                    edge_pos[p] = 0;
                    stack[depth++] = p;
                } else if (color[p] == 1) {
                    strata_buf b = STRATA_BUF_INIT;
                    size_t j = 0;
                    while (stack[j] != p)
                        j++;
                    for (; j < depth; j++)
                        strata_buf_printf(&b, "%s -> ", g->nodes[stack[j]].ref);
                    strata_buf_puts(&b, g->nodes[p].ref);
                    *out = strata_buf_detach(&b);
                }
            } else {
                color[u] = 2;
                depth--;
            }
        }
    }
    free(color);
    free(stack);
    free(edge_pos);
}
