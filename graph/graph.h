/*
 * graph.h - the graph module: which images descend from which bases.
 * Its inputs are Dockerfiles (parsed here as BuildKit parses them),
 * repository scans and image metadata; its output is the graph and the
 * queries on it (impacted images in waves).
 *
 * Sections: the lineage graph (model, queries, rendering), then
 * repository scanning and persistence. The Dockerfile parser is its own
 * module (dockerfile/dockerfile.h).
 */
#ifndef STRATA_GRAPH_H
#define STRATA_GRAPH_H

#include <stddef.h>

#include "core.h"
#include "dockerfile.h"
#include "oci.h"

/* ======================================================================
 * The lineage graph (model.c, query.c, render.c)
 * ====================================================================== */

/*
 * An in-memory lineage graph. Nodes are images named by canonical
 * reference without digest ("docker.io/library/debian:12-slim"), or
 * unnamed consumers (a Dockerfile no configured image builds, named
 * "REPO//PATH"). Edges go child -> parent and carry where they were
 * learnt. Loaded from the store for queries; built by scans.
 */
typedef struct strata_graph strata_graph;

typedef enum strata_graph_kind {
    STRATA_GRAPH_BASE = 0,   /* only ever seen as a parent: external */
    STRATA_GRAPH_IMAGE,      /* an image we know how to build */
    STRATA_GRAPH_DOCKERFILE, /* an unnamed consumer */
} strata_graph_kind;

/* How an edge was found, from most to least certain. */
typedef struct strata_graph_edge_info {
    const char *repo;   /* repository URL, or NULL */
    const char *path;   /* Dockerfile path in the repository, or NULL */
    unsigned line;      /* 1-based line of the reference, or 0 */
    const char *method; /* "dockerfile", "annotation", "layers" */
    int confidence;     /* 0..100 */
    const char *digest; /* the digest pinned at the reference, or NULL */
} strata_graph_edge_info;

strata_graph *strata_graph_new(void);
void strata_graph_free(strata_graph *g);

/*
 * Adds a node, or raises an existing node's kind (a base that turns out to
 * be built by us becomes an image). Returns the node's index.
 */
size_t strata_graph_add_node(strata_graph *g, const char *ref,
                             strata_graph_kind kind);
/* Adds child -> parent (both created if missing). Duplicates are kept. */
void strata_graph_add_edge(strata_graph *g, const char *child,
                           const char *parent,
                           const strata_graph_edge_info *info);

size_t strata_graph_node_count(const strata_graph *g);
size_t strata_graph_edge_count(const strata_graph *g);
/* Sets *out to the node index for ref: 0, or STRATA_ENOTFOUND. */
int strata_graph_find(const strata_graph *g, const char *ref, size_t *out);
const char *strata_graph_node_ref(const strata_graph *g, size_t node);
strata_graph_kind strata_graph_node_kind(const strata_graph *g, size_t node);
/* How many edges name node as their parent (what is built on it). */
size_t strata_graph_node_children(const strata_graph *g, size_t node);

/*
 * The i-th edge (i < strata_graph_edge_count), in the order edges were
 * added: its child, its parent and how it was learnt. Every string is
 * borrowed from g; any out-parameter may be NULL.
 */
void strata_graph_edge(const strata_graph *g, size_t i, const char **child,
                       const char **parent, strata_graph_edge_info *info);

/*
 * The edges that name node as their child (what node is built on): their
 * count, and the edge index (for strata_graph_edge) of the k-th of them,
 * k < that count, in the order they were added.
 */
size_t strata_graph_node_parents(const strata_graph *g, size_t node);
size_t strata_graph_node_parent_edge(const strata_graph *g, size_t node,
                                     size_t k);

/* One impacted image and the edge that makes it so. Strings borrowed. */
typedef struct strata_graph_hit {
    const char *image;  /* the impacted node */
    const char *parent; /* its parent on the way from the base */
    strata_graph_edge_info via;
} strata_graph_hit;

/* The answer to "what descends from REF", parents before children. */
typedef struct strata_graph_waves {
    const char *base; /* the node asked about (borrowed) */
    size_t nwaves;
    size_t *len;              /* len[w]: hits in wave w */
    strata_graph_hit **waves; /* waves[w][i] */
    char *cycle;              /* NULL, or "a -> b -> a" if one blocks */
} strata_graph_waves;

/*
 * Computes the images that descend from ref, transitively, in waves: an
 * image's wave is after every impacted parent's. Images caught in a cycle
 * are left out and named in ->cycle. STRATA_ENOTFOUND if ref is not in
 * the graph. *out is the caller's (strata_graph_waves_free). Strings in it
 * are borrowed from g, which must outlive it.
 */
int strata_graph_impacted(strata_graph_waves **out, const strata_graph *g,
                          const char *ref, strata_error *err);
void strata_graph_waves_free(strata_graph_waves *w);

/*
 * Every ancestor of ref (its bases, their bases, ...), nearest first,
 * each once. *out is an array of borrowed strings (free the array only).
 */
int strata_graph_ancestors(const char ***out, size_t *n, const strata_graph *g,
                           const char *ref, strata_error *err);

/*
 * The nodes that repository repo (its URL, as configured) makes: the
 * children of the edges learnt from its Dockerfiles (configured images and
 * unnamed consumers), each once, in the order the edges were added. *out
 * is an array of borrowed strings (free the array only); 0 nodes when the
 * graph knows nothing of repo. Costs a pass over the edges (integer
 * compares), not over strings.
 */
int strata_graph_repo_nodes(const char ***out, size_t *n, const strata_graph *g,
                            const char *repo);

/*
 * Finds a cycle anywhere in the graph. Returns 0 and *out = NULL when
 * there is none; otherwise *out is "a -> b -> a" (caller frees).
 */
void strata_graph_find_cycle(char **out, const strata_graph *g);

typedef enum strata_graph_format {
    STRATA_GRAPH_TEXT = 0,
    STRATA_GRAPH_JSON,
    STRATA_GRAPH_DOT,
} strata_graph_format;

int strata_graph_parse_format(strata_graph_format *out, const char *s);
/* Renders the whole graph into b. */
void strata_graph_render(strata_buf *b, const strata_graph *g,
                         strata_graph_format format);
/* Renders an impacted answer (text or json) into b. */
void strata_graph_render_waves(strata_buf *b, const strata_graph_waves *w,
                               strata_graph_format format);

/* ======================================================================
 * Repository scanning and persistence (scan.c, persist.c, lineage.c)
 *
 * A scan mirrors every configured repository (vcs/), finds its
 * Dockerfiles, parses them and writes "child is built from parent" edges
 * to the store. A Dockerfile that a configured image names gives edges
 * from that image (its canonical name) to the external references of its
 * target stage and the stages that stage depends on (every stage when
 * the image has no target); any other Dockerfile is an unnamed consumer
 * "REPO-URL//PATH". Parents are canonical references without digest, the
 * strings the watchers watch; a digest pinned at the reference is kept
 * with the edge.
 *
 * Scans are incremental. Per repository the store's meta table holds
 * "scan:<url>", a JSON document: the last scanned commit and, per
 * Dockerfile path, its blob id, a fingerprint of the configuration that
 * applies to it (image names, targets, build args, platforms), its edge
 * count and the digests pinned per line ("pins"; the edge table has no
 * digest column, so strata_graph_load() joins them back from here). On a
 * new commit only the blobs strata_vcs_changed_paths() reports are
 * re-read; a path whose configuration changed is re-parsed from its
 * stored blob; a deleted Dockerfile loses its edges. Each file's edges are
 * replaced atomically, and each repository's changes are one transaction.
 *
 * Threads: strata_graph_scan() blocks (git, sqlite). The daemon runs it in
 * uv_queue_work(); it touches only st, cfg (read-only) and its own data,
 * so nothing else may use st while it runs.
 * ====================================================================== */

#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "store.h"

/* The meta key prefix of a repository's scan state: "scan:<url>". */
#define STRATA_GRAPH_SCAN_META "scan:"

typedef struct strata_graph_scan_opts {
    /* Where the git mirrors live; NULL: "<dir of cfg->state>/cache/git". */
    const char *cache_dir;
    /* Dockerfiles larger than this are skipped; 0: STRATA_DF_MAX_SIZE. */
    size_t max_size;
    /*
     * Borrowed, may be NULL: once set (from any thread), the fetch under
     * way fails within about 100 ms and the repositories not yet scanned
     * are reported as failed with "cancelled" (strata_vcs_cancel_set).
     */
    struct strata_vcs_cancel *cancel;
} strata_graph_scan_opts;

/*
 * Scans every repository of cfg into st. A repository that cannot be
 * synced (its remote fails, or is over cfg->scan's fetch_timeout or
 * stall_timeout), a Dockerfile that cannot be parsed and every parser
 * diagnostic are reported in the summary and never stop the scan; only a store
 * failure does (its code is returned, and the repository being written is
 * rolled back). *summary (new reference, also on error when not NULL) is
 *   {"repos": [{"url", "branch", "commit": hex|null, "error": msg|null,
 *               "dockerfiles", "parsed", "skipped", "edges",
 *               "errors": ["PATH:LINE: message", ...]}]}
 * dockerfiles and edges count what the repository has after the scan;
 * parsed and skipped count what this scan read (an unchanged file is
 * neither). opts may be NULL.
 */
int strata_graph_scan(json_t **summary, strata_store *st,
                      const strata_config_data *cfg,
                      const strata_graph_scan_opts *opts, strata_error *err);

/* The number of repositories in a scan summary that failed to sync. */
size_t strata_graph_scan_failures(const json_t *summary);

/* "<dir of state>/cache/git". Caller frees. */
char *strata_graph_default_cache_dir(const char *state);

/*
 * Builds the in-memory graph from the store: nodes with their kinds (an
 * image node named "REPO//PATH" after its repo and path is an unnamed
 * Dockerfile), edges with their provenance and pinned digests. Bases and
 * unnamed Dockerfiles that no edge touches any more (the file was deleted
 * or changed) are left out; configured images always stay. *out is the
 * caller's (strata_graph_free).
 */
int strata_graph_load(strata_graph **out, strata_store *st, strata_error *err);

/*
 * The hook for lineage learnt from registries (image annotations
 * org.opencontainers.image.base.name/.digest, layer prefixes): records
 * child -> parent found by method "annotation" or "layers" with a
 * confidence of 0..100 and the base digest the child was built on (may be
 * NULL), replacing the edge of the same child, parent and method. Nodes
 * are created as needed (child as an image, parent as a base). Confidence
 * 0 retracts the edge: strata_graph_load() leaves it out (the store keeps
 * it, having no edge deletion).
 */
typedef struct strata_graph_lineage {
    const char *child;  /* canonical, without digest */
    const char *parent; /* canonical, without digest */
    const char *digest; /* the parent's digest the child was built on */
    strata_store_edge_method method;
    int confidence;
} strata_graph_lineage;

int strata_graph_add_lineage(strata_store *st, const strata_graph_lineage *l,
                             strata_error *err);

/* Confidences of the registry lineage methods. */
#define STRATA_GRAPH_ANNOTATION_CONFIDENCE 100
#define STRATA_GRAPH_LAYERS_CONFIDENCE 90

typedef struct strata_graph_lineage_opts {
    /*
     * More images to read besides the configured ones: those seen running
     * (references, a digest allowed: it is read by digest and the node is
     * the reference without it), NULL-terminated; NULL for none.
     */
    const char *const *images;
    /* Timeouts and retries for every registry; NULL: the client's. */
    const strata_registry_opts *defaults;
    /* 1: annotations only, no layer-prefix matching. */
    int no_layers;
    /*
     * Borrowed, may be NULL: once set (strata_vcs_cancel_set, from any
     * thread), the registry requests under way end within about 100 ms
     * and no further image is read (those left are not in the summary).
     */
    struct strata_vcs_cancel *cancel;
} strata_graph_lineage_opts;

/*
 * Lineage from registries (lineage.c). For every configured image
 * (repos[].images[].name) and every opts->images entry, reads its manifest
 * (for an index, the image's first configured platform's, linux/amd64 by
 * default) and config, then:
 *   a. annotation: org.opencontainers.image.base.name (and .base.digest)
 *      on the index, else on the platform manifest, else as config labels
 *      -> image -> base name (digest dropped), method "annotation",
 *      confidence 100, built on base.digest (else the name's digest);
 *   b. layers (only without an annotation): the watched base digest
 *      (store watches and every digest seen for each) whose layers for the
 *      same platform are the longest prefix of the image's layers, the
 *      image's own watch excluded -> image -> that watch's reference,
 *      method "layers", confidence 90, built on that digest.
 * An image read successfully loses (confidence 0) the registry edges this
 * read did not confirm; an image that cannot be read keeps them.
 *
 * *summary (new reference, also on error) is {"images": [{"image",
 * "parent", "digest", "method", "layers", "error", "note"}]} ("layers":
 * the matched prefix length; "note": "not in the registry", "no lineage
 * found"). Registry problems go there; only store failures are returned.
 * Credentials come from cfg's registries. opts may be NULL.
 *
 * Threads: blocking, like strata_graph_scan(): it runs a private uv loop
 * and registry client (one per call, so connections and tokens are reused
 * across the images of one call) on the calling thread, and touches only
 * st, cfg (read-only) and its own data. The daemon calls it from its scan
 * worker (uv_queue_work) with the worker's own store connection.
 */
int strata_graph_scan_lineage(json_t **summary, strata_store *st,
                              const strata_config_data *cfg,
                              const strata_graph_lineage_opts *opts,
                              strata_error *err);

/* ---- end of repository scanning -------------------------------------- */

#endif
