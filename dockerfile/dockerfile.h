/*
 * dockerfile.h - the Dockerfile parser: file bytes into stages and the
 * image references they name, exactly as BuildKit reads them (directives,
 * continuations, heredocs, ARG expansion). Pure functions: no I/O but
 * strata_dockerfile_parse_file(), no global state.
 */
#ifndef STRATA_DOCKERFILE_H
#define STRATA_DOCKERFILE_H

#include <stddef.h>

#include "core.h"
#include "oci.h"

/* ======================================================================
 * Dockerfile parser
 *
 * Reads a Dockerfile the way BuildKit's frontend does: parser directives
 * (escape, syntax, check), line continuations with the escape character,
 * comments and blank lines inside continuations, CRLF, a UTF-8 BOM,
 * heredocs (whose bodies are never read as instructions), global ARGs
 * and their expansion in FROM lines, build-arg overrides and BuildKit's
 * automatic platform ARGs. It records every image reference (FROM,
 * COPY --from, RUN --mount=...,from=) with its exact byte span in the
 * file and where its text came from, every stage, and which stages each
 * stage depends on.
 *
 * Problems on a line (an invalid reference, an unknown instruction, a
 * bad substitution) do not stop the parse: they are collected as
 * diagnostics "FILE:LINE: message" and the rest of the file is read.
 * Only whole-file problems fail the parse: unreadable, larger than the
 * size limit, or binary (a NUL byte).
 *
 * Everything a strata_dockerfile hands out (structs, strings, refs) is
 * borrowed and lives until strata_dockerfile_free().
 * ====================================================================== */

/* The default size limit of a Dockerfile: 1 MiB. */
#define STRATA_DF_MAX_SIZE (1024 * 1024)

typedef struct strata_dockerfile strata_dockerfile;

typedef struct strata_df_options {
    /*
     * Build-arg overrides, "KEY=VALUE" each, NULL-terminated; NULL for
     * none. As in BuildKit, an override applies only to an ARG that the
     * file declares before its first FROM (for FROM lines).
     */
    const char *const *build_args;
    /*
     * The target platform, "os/arch[/variant]"; NULL means linux/amd64.
     * It gives BuildKit's automatic ARGs TARGETPLATFORM, TARGETOS,
     * TARGETARCH, TARGETVARIANT and (the build machine being taken to be
     * the target) BUILDPLATFORM, BUILDOS, BUILDARCH, BUILDVARIANT.
     */
    const char *platform;
    /* The size limit in bytes; 0 means STRATA_DF_MAX_SIZE. */
    size_t max_size;
} strata_df_options;

/*
 * A byte range of the original file (BOM, CR and continuations
 * included). line and column are 1-based; column counts bytes from the
 * start of the line, and a UTF-8 BOM is not part of line 1's columns.
 * A range that crosses a line continuation covers the continuation too.
 */
typedef struct strata_df_span {
    size_t offset;
    size_t length;
    unsigned line;
    unsigned column;
} strata_df_span;

typedef enum strata_df_ref_kind {
    STRATA_DF_FROM = 0,   /* FROM image */
    STRATA_DF_COPY_FROM,  /* COPY --from=image */
    STRATA_DF_MOUNT_FROM, /* RUN --mount=...,from=image */
} strata_df_ref_kind;

/* Where the text of a reference came from. */
typedef enum strata_df_origin {
    /* Written in the instruction itself, without any variable. */
    STRATA_DF_ORIGIN_LITERAL = 0,
    /*
     * Entirely the default value of a global ARG (FROM $BASE with
     * ARG BASE=debian:12): arg_line, arg_name and arg_span say where
     * that default is written, so it can be rewritten in place.
     */
    STRATA_DF_ORIGIN_ARG_DEFAULT,
    /* Entirely a build-arg override given to the parser. */
    STRATA_DF_ORIGIN_BUILD_ARG,
    /* Anything else: literal text mixed with variables, a modifier
     * (${X:-y}), an automatic platform ARG, a computed ARG default. */
    STRATA_DF_ORIGIN_EXPANDED,
} strata_df_origin;

typedef struct strata_df_ref {
    strata_df_ref_kind kind;
    unsigned line;       /* the instruction's first line (span.line is the
                          * reference's own, which diagnostics use) */
    strata_df_span span; /* the reference as written in the instruction */
    const char *raw;     /* that text (continuations removed) */
    const char *text;    /* after ARG expansion and quote removal */
    /* The stage the instruction belongs to (for FROM: the one it starts). */
    int stage;
    /* An internal reference: the stage it names (-1 otherwise). */
    int target_stage;
    /* 1 for an image in a registry; 0 for a stage, a stage index,
     * "scratch", or a reference that could not be resolved. */
    int external;
    /* The normalised image reference, NULL unless external. */
    const strata_ref *ref;
    /* Why the reference is unusable (also a diagnostic), or NULL. */
    const char *error;
    strata_df_origin origin;
    /* For STRATA_DF_ORIGIN_ARG_DEFAULT: the global ARG that supplied the
     * text, its line and its default value's span. */
    const char *arg_name;
    unsigned arg_line;
    strata_df_span arg_span;
} strata_df_ref;

typedef struct strata_df_stage {
    int index;
    const char *name; /* "AS name", lowercased; NULL when unnamed */
    unsigned line;    /* the FROM line */
    const char *base; /* the expanded base name ("" when unresolved) */
    int base_stage;   /* the earlier stage it builds on, or -1 */
    int scratch;      /* FROM scratch */
    /* FROM --platform as written, and expanded; NULL when absent. */
    const char *platform_raw;
    const char *platform;
    size_t from_ref; /* index of its FROM in the reference list */
} strata_df_stage;

typedef struct strata_df_diag {
    unsigned line;       /* 1-based; 0 for a whole-file problem */
    const char *message; /* "unknown instruction 'FORM'" */
    const char *text;    /* "Dockerfile:3: unknown instruction 'FORM'" */
} strata_df_diag;

/*
 * Parses len bytes of data (need not be NUL-terminated). name is used
 * in diagnostics ("Dockerfile" gives "Dockerfile:3: ..."). opts may be
 * NULL. On success *out is the caller's (free with
 * strata_dockerfile_free), even when it holds diagnostics. Fails with
 * STRATA_ETOOBIG over the size limit and STRATA_EINVAL for binary data
 * or bad options; err->msg then starts with "NAME:" too.
 */
int strata_dockerfile_parse(strata_dockerfile **out, const char *data,
                            size_t len, const char *name,
                            const strata_df_options *opts, strata_error *err);

/*
 * Reads and parses the file at path, named path in diagnostics. Fails
 * as strata_dockerfile_parse, and with STRATA_ENOTFOUND / STRATA_EIO
 * when the file cannot be read.
 */
int strata_dockerfile_parse_file(strata_dockerfile **out, const char *path,
                                 const strata_df_options *opts,
                                 strata_error *err);

void strata_dockerfile_free(strata_dockerfile *df);

/* Parser directives: the escape character ('\\' or '`'), and the values
 * of "# syntax=" and "# check=" (NULL when absent). */
char strata_dockerfile_escape(const strata_dockerfile *df);
const char *strata_dockerfile_syntax(const strata_dockerfile *df);
const char *strata_dockerfile_check(const strata_dockerfile *df);

/* Every FROM, COPY --from and mount from=, in file order. */
size_t strata_dockerfile_ref_count(const strata_dockerfile *df);
const strata_df_ref *strata_dockerfile_ref(const strata_dockerfile *df,
                                           size_t i);

size_t strata_dockerfile_stage_count(const strata_dockerfile *df);
const strata_df_stage *strata_dockerfile_stage(const strata_dockerfile *df,
                                               size_t i);

/*
 * The stage a build targets: the stage named name (case-insensitive),
 * or the last stage when name is NULL. -1 when there is none.
 */
int strata_dockerfile_target(const strata_dockerfile *df, const char *name);

/*
 * The stages that stage depends on, directly or not (its FROM stage and
 * the stages its COPY --from and mounts name, and theirs), ascending,
 * itself excluded. Returns their count and sets *out to a new array (the
 * caller frees it; NULL when the count is 0, or stage is out of range).
 */
size_t strata_dockerfile_stage_deps(int **out, const strata_dockerfile *df,
                                    int stage);

/*
 * 1 when building stage uses base: one of the external references of
 * the stage or of the stages it depends on has base's repository name
 * and, when base has a tag, base's tag. 0 otherwise.
 */
int strata_dockerfile_depends_on(const strata_dockerfile *df, int stage,
                                 const strata_ref *base);

/* Diagnostics in line order. */
size_t strata_dockerfile_diag_count(const strata_dockerfile *df);
const strata_df_diag *strata_dockerfile_diag(const strata_dockerfile *df,
                                             size_t i);

/* "from", "copy-from", "mount-from". */
const char *strata_df_ref_kind_name(strata_df_ref_kind kind);

#endif
