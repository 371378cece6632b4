/*
 * render.c - the graph and impacted answers as text for people, JSON for
 * programs (built with jansson), and Graphviz DOT, arrows pointing from a
 * base to what is built on it.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "graph-int.h"

static const char *const kind_names[] = {"base", "image", "dockerfile"};

int
strata_graph_parse_format(strata_graph_format *out, const char *s)
{
    if (strcmp(s, "text") == 0)
        *out = STRATA_GRAPH_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = STRATA_GRAPH_JSON;
    else if (strcmp(s, "dot") == 0)
        *out = STRATA_GRAPH_DOT;
    else
        return STRATA_EINVAL;
    return 0;
}

/* New reference: the edge's provenance as JSON fields. */
static json_t *
edge_fields(json_t *o, const strata_graph_edge_info *e)
{
    json_object_set_new(o, "repo",
                        e->repo ? json_string(e->repo) : json_null());
    json_object_set_new(o, "path",
                        e->path ? json_string(e->path) : json_null());
    json_object_set_new(o, "line", json_integer(e->line));
    json_object_set_new(o, "method",
                        json_string(e->method ? e->method : "dockerfile"));
    json_object_set_new(o, "confidence", json_integer(e->confidence));
    json_object_set_new(o, "digest",
                        e->digest ? json_string(e->digest) : json_null());
    return o;
}

static void
dump_json(strata_buf *b, json_t *doc)
{
    char *s = json_dumps(doc, JSON_INDENT(2));

    strata_buf_puts(b, s);
    strata_buf_putc(b, '\n');
    free(s);
    json_decref(doc);
}

static void
text_where(strata_buf *b, const strata_graph_edge_info *e)
{
    if (e->repo == NULL && e->path == NULL) {
        strata_buf_printf(b, " (%s)", e->method ? e->method : "dockerfile");
        return;
    }
    strata_buf_printf(b, " (%s%s%s:%u, %s)", e->repo ? e->repo : "",
                      e->repo && e->path ? " " : "", e->path ? e->path : "",
                      e->line, e->method ? e->method : "dockerfile");
}

static void
render_json(strata_buf *b, const strata_graph *g)
{
    json_t *doc = json_object(), *nodes = json_array(), *edges = json_array();
    size_t i;

    for (i = 0; i < g->nnodes; i++) {
        json_t *n = json_object();
        json_object_set_new(n, "ref", json_string(g->nodes[i].ref));
        json_object_set_new(n, "kind",
                            json_string(kind_names[g->nodes[i].kind]));
        json_array_append_new(nodes, n);
    }
    for (i = 0; i < g->nedges; i++) {
        strata_graph_edge_info info;
        json_t *e = json_object();

        strata_graph__edge_info(&info, g, &g->edges[i]);
        json_object_set_new(e, "child",
                            json_string(g->nodes[g->edges[i].child].ref));
        json_object_set_new(e, "parent",
                            json_string(g->nodes[g->edges[i].parent].ref));
        json_array_append_new(edges, edge_fields(e, &info));
    }
    json_object_set_new(doc, "nodes", nodes);
    json_object_set_new(doc, "edges", edges);
    dump_json(b, doc);
}

static void
dot_quote(strata_buf *b, const char *s)
{
    strata_buf_putc(b, '"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            strata_buf_putc(b, '\\');
        strata_buf_putc(b, *s);
    }
    strata_buf_putc(b, '"');
}

static void
render_dot(strata_buf *b, const strata_graph *g)
{
    size_t i;

    strata_buf_puts(b, "digraph strata {\n  rankdir=LR;\n"
                       "  node [shape=box, fontname=\"sans-serif\"];\n");
    for (i = 0; i < g->nnodes; i++) {
        strata_buf_puts(b, "  ");
        dot_quote(b, g->nodes[i].ref);
        strata_buf_printf(b, " [style=%s];\n",
                          g->nodes[i].kind == STRATA_GRAPH_BASE ? "rounded"
                          : g->nodes[i].kind == STRATA_GRAPH_DOCKERFILE
                              ? "dashed"
                              : "solid");
    }
    for (i = 0; i < g->nedges; i++) {
        const strata_graph__edge *e = &g->edges[i];
        strata_buf_puts(b, "  ");
        dot_quote(b, g->nodes[e->parent].ref);
        strata_buf_puts(b, " -> ");
        dot_quote(b, g->nodes[e->child].ref);
        strata_buf_printf(b, " [label=\"%s\"];\n",
                          e->method ? strata_graph__str(&g->strings, e->method)
                                    : "dockerfile");
    }
    strata_buf_puts(b, "}\n");
}

static void
render_text(strata_buf *b, const strata_graph *g)
{
    size_t i, j;

    for (i = 0; i < g->nnodes; i++) {
        const strata_graph__node *n = &g->nodes[i];

        strata_buf_printf(b, "%s  [%s]\n", n->ref, kind_names[n->kind]);
        for (j = 0; j < n->parents.n; j++) {
            const strata_graph__edge *e =
                &g->edges[strata_graph__at(&n->parents, j)];
            strata_graph_edge_info info;

            strata_graph__edge_info(&info, g, e);
            strata_buf_printf(b, "  from %s", g->nodes[e->parent].ref);
            if (info.digest != NULL)
                strata_buf_printf(b, "@%s", info.digest);
            text_where(b, &info);
            strata_buf_putc(b, '\n');
        }
    }
}

void
strata_graph_render(strata_buf *b, const strata_graph *g,
                    strata_graph_format format)
{
    switch (format) {
    case STRATA_GRAPH_JSON:
        render_json(b, g);
        break;
    case STRATA_GRAPH_DOT:
        render_dot(b, g);
        break;
    default:
        render_text(b, g);
    }
}

void
strata_graph_render_waves(strata_buf *b, const strata_graph_waves *w,
                          strata_graph_format format)
{
    size_t i, j;

    if (format == STRATA_GRAPH_JSON) {
        json_t *doc = json_object(), *waves = json_array();

        json_object_set_new(doc, "base", json_string(w->base));
        for (i = 0; i < w->nwaves; i++) {
            json_t *wave = json_array();
            for (j = 0; j < w->len[i]; j++) {
                const strata_graph_hit *h = &w->waves[i][j];
                json_t *o = json_object();
                json_object_set_new(o, "image", json_string(h->image));
                json_object_set_new(o, "parent",
                                    h->parent ? json_string(h->parent)
                                              : json_null());
                json_array_append_new(wave, edge_fields(o, &h->via));
            }
            json_array_append_new(waves, wave);
        }
        json_object_set_new(doc, "waves", waves);
        if (w->cycle != NULL)
            json_object_set_new(doc, "cycle", json_string(w->cycle));
        dump_json(b, doc);
        return;
    }
    strata_buf_printf(b, "base %s\n", w->base);
    if (w->nwaves == 0)
        strata_buf_puts(b, "nothing descends from it\n");
    for (i = 0; i < w->nwaves; i++) {
        strata_buf_printf(b, "wave %zu\n", i + 1);
        for (j = 0; j < w->len[i]; j++) {
            const strata_graph_hit *h = &w->waves[i][j];
            strata_buf_printf(b, "  %s  from %s", h->image,
                              h->parent ? h->parent : "?");
            text_where(b, &h->via);
            strata_buf_putc(b, '\n');
        }
    }
    if (w->cycle != NULL)
        strata_buf_printf(b, "cycle (not scheduled): %s\n", w->cycle);
}
