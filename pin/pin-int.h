/*
 * pin-int.h - what the files of pin/ share and nobody else sees.
 */
#ifndef STRATA_PIN_INT_H
#define STRATA_PIN_INT_H

#include <jansson.h>

#include "pin.h"

/* One rewrite: length bytes at offset become text. */
typedef struct strata_pin__edit {
    size_t offset, length;
    char *text;
} strata_pin__edit;

/* A pin call in progress: the sites found so far and their edits. */
typedef struct strata_pin__ctx {
    strata_pin_result *out;
    const char *data;
    size_t len;
    const char *name;
    const strata_pin_opts *opts;
    strata_pin__edit *edits;
    size_t nedits;
} strata_pin__ctx;

/*
 * A reference found in a file. value is the reference as the tool that
 * reads the file sees it (quotes, escapes and continuations removed);
 * at_off is the file offset of its '@' ((size_t) -1 when it has none) and
 * end_off the offset just past its last character there.
 */
typedef struct strata_pin__site {
    const char *value;
    size_t at_off, end_off;
    unsigned line;
    const char *platform; /* ask for this platform's manifest, or NULL */
    const strata_df_ref *where;
    /*
     * A digest kept apart from the reference (Helm's "digest:", a
     * kustomization's "digest:"): when set, the edit replaces field_len
     * bytes at field_off with field_prefix and the bare digest, and
     * at_off/end_off are not used.
     */
    int field;
    size_t field_off, field_len;
    const char *field_prefix;
} strata_pin__site;

void strata_pin__init(strata_pin__ctx *c, strata_pin_result *out,
                      const char *data, size_t len, const char *name,
                      const strata_pin_opts *opts);
/*
 * Asks the lookup about s and records the edit when the digest differs
 * from the one written. A value that is not a reference is a problem; one
 * without a tag is skipped.
 */
void strata_pin__add(strata_pin__ctx *c, const strata_pin__site *s);
void strata_pin__problem(strata_pin__ctx *c, unsigned line, const char *fmt,
                         ...) __attribute__((format(printf, 3, 4)));
/* Applies the edits to a copy of the data into c->out. */
void strata_pin__finish(strata_pin__ctx *c);
/* Records a file the one being pinned points to (an include). */
void strata_pin__link(strata_pin__ctx *c, const char *path,
                      strata_pin_kind kind);

/* ---- the YAML tree (yaml.c), shared by the YAML formats ---- */

typedef enum strata_pin__ykind {
    STRATA_PIN__Y_SCALAR = 0,
    STRATA_PIN__Y_SEQ,
    STRATA_PIN__Y_MAP,
    STRATA_PIN__Y_ALIAS,
} strata_pin__ykind;

typedef struct strata_pin__ynode {
    strata_pin__ykind kind;
    char *value;       /* scalar value; for an alias, the anchor it names */
    char *anchor;      /* &name on this node, or NULL */
    int tagged;        /* an explicit tag (!!str) */
    int style;         /* yaml_scalar_style_t */
    int flow;          /* a flow mapping or sequence ({...} or [...]) */
    size_t start, end; /* libyaml marks: character indexes */
    unsigned line, end_line;
    unsigned col;                    /* 0-based column of the start */
    struct strata_pin__ynode **kids; /* a map's are key, value, ... */
    size_t nkids;
} strata_pin__ynode;

typedef struct strata_pin__yctx strata_pin__yctx;

/* Walks one document of a format (root is the document's node). */
typedef void (*strata_pin__ydoc_cb)(strata_pin__yctx *c,
                                    const strata_pin__ynode *root);

/* Pins a YAML stream with doc() called on each document. */
int strata_pin__yaml_run(strata_pin_result *out, const char *data, size_t len,
                         const char *name, const strata_pin_opts *opts,
                         strata_pin__ydoc_cb doc, void *arg, strata_error *err);
strata_pin__ctx *strata_pin__yctx_pin(strata_pin__yctx *c);
void *strata_pin__yctx_arg(strata_pin__yctx *c);
/* The value of key in map (borrowed), or NULL; aliases are not followed. */
const strata_pin__ynode *strata_pin__map_get(const strata_pin__ynode *map,
                                             const char *key);
/* The byte offset of a mark's character index. */
size_t strata_pin__byte_at(strata_pin__yctx *c, size_t idx);
/*
 * Checks the scalar n holds a reference written in one piece (no alias,
 * anchor, block style, escapes; templates and variables when vars) and
 * fills s (value: n's value past skip bytes of prefix; offsets). Reports
 * a problem and returns -1 otherwise, 1 for an empty or null value.
 */
int strata_pin__scalar_site(strata_pin__yctx *c, const strata_pin__ynode *n,
                            size_t skip, int vars, strata_pin__site *s);
/* An image scalar: checked and handed to strata_pin__add. */
void strata_pin__image_scalar(strata_pin__yctx *c, const strata_pin__ynode *n,
                              int vars);
/* A map with an "image" key (a container, a service, a CI job). */
void strata_pin__image_holder(strata_pin__yctx *c, const strata_pin__ynode *n,
                              const char *what, int vars);

#endif
