/*
 * graph-int.h - what the files of the graph module share. The Dockerfile
 * section: an arena for the parse result, the lexer that turns file bytes
 * into logical instructions (with a map back to file offsets), the word
 * splitters, and the shell-word expander.
 */
#ifndef STRATA_GRAPH_INT_H
#define STRATA_GRAPH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "vcs.h"

/* ======================================================================
 * Dockerfile parser internals
 * ====================================================================== */

/* ---- arena (dockerfile-arena.c) --------------------------------------- */

/* Memory freed whole: every string of a parse result lives here. Zeroed
 * (= {0}) it is empty. */
typedef struct strata_graph__arena {
    struct strata_graph__chunk *head;
    size_t next_cap; /* the next chunk's size */
} strata_graph__arena;

void *strata_graph__arena_alloc(strata_graph__arena *a, size_t n);
char *strata_graph__arena_strndup(strata_graph__arena *a, const char *s,
                                  size_t n);
char *strata_graph__arena_strdup(strata_graph__arena *a, const char *s);
char *strata_graph__arena_printf(strata_graph__arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strata_graph__arena_release(strata_graph__arena *a);

/* ---- lexer (dockerfile-lex.c) ----------------------------------------- */

/* One logical instruction: continuations joined, comments dropped. */
typedef struct strata_graph__df_line {
    const char *text; /* NUL-terminated; valid until the next line */
    size_t len;
    const size_t *orig; /* orig[i]: file offset of text[i]; len + 1 long */
    unsigned line;      /* first physical line, 1-based */
} strata_graph__df_line;

/* A diagnostic the lexer reports: the driver formats and stores it. */
typedef void (*strata_graph__df_diag_cb)(unsigned line, const char *msg,
                                         void *arg);

typedef struct strata_graph__df_lexer {
    const char *buf;
    size_t len;
    size_t pos;      /* start of the next physical line */
    unsigned lineno; /* physical lines read so far */
    size_t bom;      /* 3 when the file starts with a UTF-8 BOM */
    char escape;
    int directives_done;
    int seen_escape, seen_syntax, seen_check;
    char *syntax, *check; /* heap; the driver copies them */
    strata_buf text;
    size_t *orig;
    size_t orig_cap;
    size_t *line_starts; /* file offset of each physical line */
    size_t nlines;
    strata_graph__df_diag_cb diag;
    void *diag_arg;
} strata_graph__df_lexer;

void strata_graph__df_lexer_init(strata_graph__df_lexer *lx, const char *buf,
                                 size_t len, strata_graph__df_diag_cb diag,
                                 void *arg);
void strata_graph__df_lexer_release(strata_graph__df_lexer *lx);
/* The next instruction: 1 with *out set, 0 at the end of the file. */
int strata_graph__df_lexer_next(strata_graph__df_lexer *lx,
                                strata_graph__df_line *out);
/* The span of text[a, b) of a logical line, in file terms. */
strata_df_span strata_graph__df_span(const strata_graph__df_lexer *lx,
                                     const strata_graph__df_line *l, size_t a,
                                     size_t b);
/* 1 when c is Go's unicode.IsSpace for an ASCII byte. */
int strata_graph__df_isspace(int c);

/* ---- words (dockerfile-words.c) --------------------------------------- */

/* A word of a logical line: [start, end) of its text, and the word with
 * quotes and escapes processed the way the splitter defines. */
typedef struct strata_graph__df_word {
    size_t start, end;
    char *value; /* heap */
    /* The offset in the text of the first '=' outside quotes, or
     * (size_t) -1. */
    size_t eq;
    int plain; /* no quotes or escapes: value equals the raw text */
} strata_graph__df_word;

typedef struct strata_graph__df_words {
    strata_graph__df_word *v;
    size_t n, cap;
} strata_graph__df_words;

void strata_graph__df_words_release(strata_graph__df_words *w);

/*
 * BuildKit's extractBuilderFlags: the leading "--flag[=value]" words of
 * text[from, len) (quotes and '\\' processed). Returns the offset where
 * the arguments start (len when none).
 */
size_t strata_graph__df_flags(strata_graph__df_words *out, const char *text,
                              size_t from, size_t len);
/* Whitespace-separated words of text[from, len), taken verbatim. */
void strata_graph__df_split_ws(strata_graph__df_words *out, const char *text,
                               size_t from, size_t len);
/*
 * BuildKit's parseWords (ARG, ENV): whitespace outside quotes separates
 * words; quotes and escape sequences are kept in the value.
 */
void strata_graph__df_split_words(strata_graph__df_words *out, const char *text,
                                  size_t from, size_t len, char escape);
/*
 * Splits a CSV record (RUN --mount) the way Go's encoding/csv reads one:
 * fields by ',', a field in double quotes may hold ',' and "" for '"'.
 * Offsets are into s. Returns 0, or -1 on a malformed quote.
 */
int strata_graph__df_split_csv(strata_graph__df_words *out, const char *s,
                               size_t len);
/* 1 when text[from, len) is a JSON array of strings (exec form). */
int strata_graph__df_is_json_array(const char *text, size_t from, size_t len);

/* ---- expansion (dockerfile-expand.c) ---------------------------------- */

typedef enum strata_graph__df_var_origin {
    STRATA_GRAPH__DF_VAR_UNSET = 0,   /* declared without a value */
    STRATA_GRAPH__DF_VAR_ARG_DEFAULT, /* a literal ARG default */
    STRATA_GRAPH__DF_VAR_BUILD_ARG,   /* a build-arg override */
    STRATA_GRAPH__DF_VAR_AUTOMATIC,   /* TARGETOS and friends */
    STRATA_GRAPH__DF_VAR_COMPUTED,    /* a default with variables */
} strata_graph__df_var_origin;

typedef struct strata_graph__df_var {
    const char *name;  /* arena */
    const char *value; /* arena; NULL: declared without a value */
    strata_graph__df_var_origin origin;
    unsigned arg_line;       /* ARG_DEFAULT: the ARG's line */
    const char *arg_name;    /* ARG_DEFAULT: the ARG that wrote it */
    strata_df_span arg_span; /* ARG_DEFAULT: the default's span */
} strata_graph__df_var;

typedef struct strata_graph__df_env {
    strata_graph__df_var *v;
    size_t n, cap;
    strata_strmap *index; /* name -> position in v + 1 */
    /* Bytes expansions may still produce in this parse: a bound on what
     * ARG defaults that repeat each other ($A$A$A...) can build. */
    size_t budget;
} strata_graph__df_env;

/* The longest expansion of one word, and of all words of one file. */
#define STRATA_GRAPH__DF_EXPAND_MAX (64 * 1024)
#define STRATA_GRAPH__DF_EXPAND_BUDGET (8 * 1024 * 1024)

/* The definition of name, or NULL. */
strata_graph__df_var *strata_graph__df_env_get(const strata_graph__df_env *env,
                                               const char *name);
/* Adds or replaces name's definition. Returns it. */
strata_graph__df_var *strata_graph__df_env_set(strata_graph__df_env *env,
                                               const char *name);
void strata_graph__df_env_release(strata_graph__df_env *env);

/*
 * Expands word[0, len) as BuildKit's shell lexer does for FROM: quotes
 * removed, escape sequences applied, $VAR, ${VAR}, ${VAR:-x}, ${VAR-x},
 * ${VAR:+x}, ${VAR+x}, ${VAR:?x}, ${VAR?x}, ${VAR#p}, ${VAR##p},
 * ${VAR%p}, ${VAR%%p}; unset variables are empty. Appends to out. When
 * the result is exactly one plain variable ($X or ${X}) and nothing
 * else, *sole is that variable, else NULL. STRATA_EINVAL on a syntax
 * error or an unsupported modifier; STRATA_ETOOBIG when the result is
 * longer than STRATA_GRAPH__DF_EXPAND_MAX or env's budget is spent.
 */
int strata_graph__df_expand(strata_buf *out, const strata_graph__df_var **sole,
                            const char *word, size_t len, char escape,
                            strata_graph__df_env *env, strata_error *err);

/* ---- the parse result and the driver (dockerfile.c, dockerfile-instr.c) */

typedef struct strata_graph__df_diag {
    strata_df_diag d;
    size_t seq; /* report order, to keep the line sort stable */
} strata_graph__df_diag_int;

struct strata_dockerfile {
    strata_graph__arena arena;
    const char *name;
    char escape;
    const char *syntax, *check;
    strata_df_ref *refs;
    size_t nrefs, caprefs;
    strata_df_stage *stages;
    size_t nstages, capstages;
    strata_graph__df_diag_int *diags;
    size_t ndiags, capdiags;
    /* Direct dependencies per stage (arena), filled after the parse. */
    int **adj;
    size_t *nadj;
    /* Lowercased stage name -> index + 1. */
    strata_strmap *stage_names;
};

/* What the instruction handlers share while a file is parsed. */
typedef struct strata_graph__df_parser {
    strata_dockerfile *df;
    strata_graph__df_lexer lx;
    strata_graph__df_env meta;       /* global ARGs and the automatic ones */
    const char **ba_keys, **ba_vals; /* build-arg overrides (arena) */
    size_t nba;
} strata_graph__df_parser;

/* Records a diagnostic on a line ("NAME:LINE: msg"). */
void strata_graph__df_diag(strata_dockerfile *df, unsigned line,
                           const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends a reference; the pointer is valid until the next append. */
strata_df_ref *strata_graph__df_add_ref(strata_dockerfile *df);
/* Handles one logical instruction. */
void strata_graph__df_instruction(strata_graph__df_parser *p,
                                  const strata_graph__df_line *l);
/* After the last instruction: resolves --from names against all stages. */
void strata_graph__df_resolve(strata_graph__df_parser *p);

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
    strata_graph__arena bytes;
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

#endif
