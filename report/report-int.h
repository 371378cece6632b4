/*
 * report-int.h - what the files of the report module share: adding
 * problems, the catalog's storage, the graph's edges as a flat list, the
 * watch lookups on the store, and small escaping helpers for renderers.
 */
#ifndef STRATA_REPORT_INT_H
#define STRATA_REPORT_INT_H

#include "report.h"

/* ---- the graph as a list of edges (edges.c) ---------------------------- */

typedef struct strata_report__edge {
    const char *child; /* strings owned by the list */
    const char *parent;
    strata_graph_kind child_kind;
    strata_graph_kind parent_kind;
    const char *repo; /* or NULL */
    const char *path; /* or NULL */
    unsigned line;
    const char *method; /* "dockerfile", "annotation", "layers" */
    /* The digest the image was built on, or NULL (unknown). */
    const char *digest;
    /* Where digest came from: "pin" (the Dockerfile), "annotation" or
     * "layers" (the registry); NULL with digest. */
    const char *built_on_from;
} strata_report__edge;

typedef struct strata_report__edges {
    strata_report__edge *v; /* strings borrowed from the graph */
    size_t n, cap;
} strata_report__edges;

/*
 * The edges of g as report edges, in the graph's order: every Dockerfile
 * edge (its built-on digest: the pin, else the registry's digest for the
 * same child and parent), and one edge per child -> parent pair that only
 * a registry knows. With to_bases, only the edges from images we build
 * to bases we do not (what the stale report is about). g must outlive
 * out. Release with _edges_release.
 */
void strata_report__edges_get(strata_report__edges *out, const strata_graph *g,
                              int to_bases);
void strata_report__edges_release(strata_report__edges *e);

/* 1 for a node built by us (an image or an unnamed Dockerfile). */
int strata_report__is_ours(strata_graph_kind kind);

/* The store's watches, indexed for strata_report__watch_for. */
typedef struct strata_report__watches strata_report__watches;

int strata_report__watches_load(strata_report__watches **out, strata_store *st,
                                const strata_config_data *cfg,
                                strata_error *err);
void strata_report__watches_free(strata_report__watches *w);

/*
 * The watched reference that follows ref (borrowed from w): ref itself
 * when watched, else a watch with a policy on ref's repository name.
 * NULL when none.
 */
const char *strata_report__watch_for(const strata_report__watches *w,
                                     const char *ref);

/* ---- running images (running.c) --------------------------------------- */

/* The i-th running item: 1 and its strings (borrowed; digest may be
 * NULL), or 0 past the end. */
int strata_report__running_item(const strata_report_running *r, size_t i,
                                const char **ref, const char **digest,
                                const char **where);

/* ---- rendering (render.c) --------------------------------------------- */

/* Appends the HTML page for report (render-html.c). */
void strata_report__render_html(strata_buf *b, const json_t *report);

/* Borrowed string of a JSON field, or def when absent or not a string. */
const char *strata_report__str(const json_t *o, const char *key,
                               const char *def);

#endif
