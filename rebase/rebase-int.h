/*
 * rebase-int.h - what the files of rebase/ share and nobody else sees.
 */
#ifndef STRATA_REBASE_INT_H
#define STRATA_REBASE_INT_H

#include <jansson.h>

#include "rebase.h"

/* One platform of a rebase: its inputs, fetched, and what was composed. */
typedef struct strata_rebase__plat {
    char *platform; /* "os/arch[/variant]" */
    size_t entry;   /* index of its entry in the image's index */
    strata_manifest *img, *old, *new;  /* the platform manifests */
    char *img_cfg, *old_cfg, *new_cfg; /* raw config blobs */
    size_t img_cfg_len, old_cfg_len, new_cfg_len;
    strata_rebase_image out;
} strata_rebase__plat;

/* A running rebase; lives on rebase_run's stack, owns a private loop. */
typedef struct strata_rebase__ctx {
    const strata_rebase_opts *opts;
    uv_loop_t loop;
    strata_registry *reg;
    strata_ref *image, *old_base, *new_base, *target;
    char *base_name; /* the new base as given, without digest */
    strata_manifest *img_top, *old_top, *new_top;
    strata_rebase__plat *plats;
    size_t nplats;
    char *index; /* the new index (image was an index), or NULL */
    size_t index_len;
    char *index_digest;
    strata_rebase_result *res;
} strata_rebase__ctx;

/* rebase.c: synchronous steps on the context's loop. */
int strata_rebase__get_manifest(strata_manifest **out, strata_rebase__ctx *c,
                                const strata_ref *ref, strata_error *err);
int strata_rebase__get_blob(char **out, size_t *len, strata_rebase__ctx *c,
                            const strata_ref *ref, const char *digest,
                            size_t max, strata_error *err);
/* A new reference "name@digest" in ref's repository. */
strata_ref *strata_rebase__at(const strata_ref *ref, const char *digest);

/* rebase-compose.c: sets the two base keys on obj[key] (made if absent). */
void strata_rebase__set_base_keys(json_t *obj, const char *key,
                                  const char *name, const char *digest);
/* Dumps j compactly: *out (new), *len and *digest (new) of those bytes. */
void strata_rebase__dump(char **out, size_t *len, char **digest,
                         const json_t *j);

/* rebase-push.c: push every blob and manifest, then read back. */
int strata_rebase__push(strata_rebase__ctx *c, strata_error *err);
int strata_rebase__verify(strata_rebase__ctx *c, strata_error *err);

/* sign.c: the signature and provenance of c->res->digest (opts' key);
 * started: when the rebase began (seconds). */
int strata_rebase__sign(strata_rebase__ctx *c, int64_t started,
                        strata_error *err);

#endif
