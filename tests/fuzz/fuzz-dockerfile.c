/*
 * fuzz-dockerfile.c - libFuzzer target for the Dockerfile parser: any
 * input parses or fails cleanly, and the result keeps its invariants
 * (spans inside the input, stage indexes in range, external references
 * normalised, diagnostics formatted). The first byte picks options so
 * build-arg overrides and platforms are fuzzed too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Names the broken invariant before aborting, for the crash log. */
#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "invariant broken: %s (line %d)\n", #cond,         \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ba[] = {"BASE=alpine:3.19", "TAG=${BASE}",
                                     "V=", NULL};
    strata_df_options o = {0};
    strata_dockerfile *df = NULL;
    strata_error err = {0};
    strata_ref *base = NULL;
    size_t i, n, nst;
    int rc;

    if (size > 0) {
        if (data[0] & 1)
            o.build_args = ba;
        if (data[0] & 2)
            o.platform = "linux/arm/v7";
        if (data[0] & 4)
            o.max_size = 4096;
    }
    rc = strata_dockerfile_parse(&df, (const char *) data, size, "fuzz", &o,
                                 &err);
    if (rc != 0) {
        check(df == NULL && err.msg[0] != '\0' &&
              strncmp(err.msg, "fuzz", 4) == 0);
        check(rc == STRATA_EINVAL || rc == STRATA_ETOOBIG);
        return 0;
    }
    check(df != NULL);
    check(strata_ref_parse(&base, "alpine:3.19", &err) == 0);
    nst = strata_dockerfile_stage_count(df);
    for (i = 0; i < strata_dockerfile_ref_count(df); i++) {
        const strata_df_ref *r = strata_dockerfile_ref(df, i);

        check(r->span.offset + r->span.length <= size);
        check(r->span.line >= 1 && r->span.column >= 1);
        check(r->raw != NULL && r->text != NULL);
        check(r->stage >= 0 && (size_t) r->stage < nst);
        check(r->target_stage < (int) nst);
        check(!r->external || (r->ref != NULL && r->error == NULL));
        check(r->external || r->ref == NULL);
        check(strata_df_ref_kind_name(r->kind) != NULL);
        if (r->origin == STRATA_DF_ORIGIN_ARG_DEFAULT)
            check(r->arg_span.offset + r->arg_span.length <= size &&
                  r->arg_name != NULL);
        if (r->ref != NULL)
            check(strlen(strata_ref_string(r->ref)) > 0);
    }
    for (i = 0; i < nst; i++) {
        const strata_df_stage *st = strata_dockerfile_stage(df, i);
        int *deps = NULL;
        size_t k;

        n = strata_dockerfile_stage_deps(&deps, df, (int) i);

        check(st->index == (int) i && st->base != NULL);
        check(st->base_stage < (int) i);
        check(st->from_ref < strata_dockerfile_ref_count(df));
        for (k = 0; k < n; k++)
            check(deps[k] >= 0 && (size_t) deps[k] < nst && deps[k] != (int) i);
        free(deps);
        (void) strata_dockerfile_depends_on(df, (int) i, base);
    }
    (void) strata_dockerfile_target(df, NULL);
    (void) strata_dockerfile_target(df, "build");
    for (i = 0; i < strata_dockerfile_diag_count(df); i++) {
        const strata_df_diag *d = strata_dockerfile_diag(df, i);

        check(d->text != NULL && strncmp(d->text, "fuzz:", 5) == 0);
        check(i == 0 || strata_dockerfile_diag(df, i - 1)->line <= d->line);
    }
    check(strata_dockerfile_escape(df) == '\\' ||
          strata_dockerfile_escape(df) == '`');
    strata_ref_free(base);
    strata_dockerfile_free(df);
    return 0;
}
