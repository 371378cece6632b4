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

#endif
