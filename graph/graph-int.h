/*
 * graph-int.h - what the files of the graph module share: the string
 * table, the model's arrays, and the scan's per-repository state.
 */
#ifndef STRATA_GRAPH_INT_H
#define STRATA_GRAPH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "vcs.h"

/* ======================================================================
 * Lineage graph internals
 * ====================================================================== */

/* ---- strings (strtab.c) ----------------------------------------------- */

/*
 * The graph's strings, each stored once: node references and the edges'
 * repositories, paths, methods and digests (a 100,000-node graph has
 * 100,000 references and about as many paths, and few distinct other
 * strings). An id names a string; 0 names none. Bytes are packed in an
 * arena; the index is open addressing over 32-bit ids.
 */
typedef struct strata_graph__strtab {
    strata_arena bytes;
    const char **strs; /* id -> string; strs[0] unused */
    uint32_t *node;    /* id -> node index + 1 (0: not a node's ref) */
    uint32_t n, cap;   /* ids in use (counting 0), allocated */
    uint32_t *slots;   /* ids; 0 is an empty slot */
    uint32_t nslots;   /* a power of two, or 0 */
} strata_graph__strtab;

/* The id of s, added if new; 0 for NULL. */
uint32_t strata_graph__strtab_intern(strata_graph__strtab *t, const char *s);
/* The id of s, or 0 when it is not there. */
uint32_t strata_graph__strtab_find(const strata_graph__strtab *t,
                                   const char *s);
void strata_graph__strtab_release(strata_graph__strtab *t);

static inline const char *
strata_graph__str(const strata_graph__strtab *t, uint32_t id)
{
    return id != 0 ? t->strs[id] : NULL;
}

/* ---- the model (model.c) ---------------------------------------------- */

/* Edge indexes around a node. Most nodes have one parent and no children,
 * so one index is kept in place and more go to the heap. */
typedef struct strata_graph__adj {
    uint32_t n, cap;
    union {
        uint32_t one;   /* cap <= 1 */
        uint32_t *many; /* cap > 1 */
    } u;
} strata_graph__adj;

static inline uint32_t
strata_graph__at(const strata_graph__adj *a, size_t i)
{
    return a->cap > 1 ? a->u.many[i] : a->u.one;
}

typedef struct strata_graph__node {
    const char *ref; /* in the string table */
    strata_graph_kind kind;
    strata_graph__adj parents;  /* edges where child == this */
    strata_graph__adj children; /* edges where parent == this */
} strata_graph__node;

typedef struct strata_graph__edge {
    uint32_t child, parent; /* node indexes */
    /* String ids (0: absent). */
    uint32_t repo, path, method, digest;
    uint32_t line;
    int32_t confidence;
} strata_graph__edge;

struct strata_graph {
    strata_graph__node *nodes;
    size_t nnodes, capnodes;
    strata_graph__edge *edges;
    size_t nedges, capedges;
    strata_graph__strtab strings;
};

/* Room for nodes and edges more without growing (the loader knows). */
void strata_graph__reserve(strata_graph *g, size_t nodes, size_t edges);
/* Adds child -> parent between existing nodes. */
void strata_graph__add_edge_at(strata_graph *g, size_t child, size_t parent,
                               const strata_graph_edge_info *info);
void strata_graph__edge_info(strata_graph_edge_info *out, const strata_graph *g,
                             const strata_graph__edge *e);

/* ---- repository scans (scan.c, scan-file.c) -------------------------- */

/* What the whole scan shares. */
typedef struct strata_graph__scan_ctx {
    strata_store *st;
    const strata_config_data *cfg;
    const char *cache_dir;
    size_t max_size;
    strata_vcs_cancel *cancel; /* borrowed, or NULL */
    strata_strmap *ids;        /* ref -> store node id, for nodes written */
    /* references.matchers, compiled once per scan (pin.h) */
    struct strata_pin_matchers *matchers;
} strata_graph__scan_ctx;

/* One repository being scanned. */
typedef struct strata_graph__repo_scan {
    strata_graph__scan_ctx *sc;
    const strata_config_repo *repo;
    strata_vcs_repo *vr;
    const char *head;     /* borrowed from vr */
    json_t *files;        /* borrowed from the scan document */
    json_t *errors;       /* borrowed from the summary entry */
    strata_strmap *named; /* normalised Dockerfile path -> image name */
    strata_strmap *done;  /* paths this scan handled */
    /* path -> kind + 1 that another file gives it (from files' "links");
     * NULL until asked for, and again whenever a file with links changes */
    strata_strmap *linked;
    int parsed, skipped;
} strata_graph__repo_scan;

/* Adds a message to the summary's errors (non-UTF-8 bytes become '?'). */
void strata_graph__scan_problem(strata_graph__repo_scan *rs, const char *fmt,
                                ...) __attribute__((format(printf, 2, 3)));
/* What the configuration says about path: its consumers, with their
 * targets, platforms and build args. A file is parsed again when this
 * changes. Caller frees. */
char *strata_graph__scan_fingerprint(strata_graph__repo_scan *rs,
                                     const char *path);
/* (Re)scans one Dockerfile at blob; drops the edges of one gone. Only
 * store failures are returned. */
int strata_graph__scan_file(strata_graph__repo_scan *rs, const char *path,
                            const char *blob, strata_error *err);
int strata_graph__scan_drop_file(strata_graph__repo_scan *rs, const char *path,
                                 strata_error *err);
/* Strips "./" and empty components: "./a//b" -> "a/b". Caller frees. */
char *strata_graph__norm_path(const char *p);
/*
 * The kind another file says path has (a GitLab CI file's local include,
 * a devcontainer's build.dockerfile), from the "links" of rs->files, as
 * a pin.h strata_pin_kind; 0 (STRATA_PIN_NONE) when none does.
 */
int strata_graph__linked_kind(strata_graph__repo_scan *rs, const char *path);

#endif
