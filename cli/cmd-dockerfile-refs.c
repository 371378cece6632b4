/*
 * cmd-dockerfile-refs.c - `strata dockerfile refs FILE...`: parses each
 * Dockerfile and prints one line per external image reference, in file
 * order: LINE<TAB>KIND<TAB>CANONICAL-REF, LINE being the line the
 * reference is written on (a continuation line, say). With more than one
 * FILE (or -H) each line starts with FILE and a colon, as grep prints
 * matches: FILE:LINE<TAB>KIND<TAB>CANONICAL-REF. Problems are printed on
 * stderr as FILE:LINE: message while the other references still print;
 * the exit status is then 2 (bad input), as it is when a file cannot be
 * read. Every file is parsed in this one process: a CI job that checks a
 * thousand Dockerfiles pays for one start-up, not a thousand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dockerfile.h"

/* Parses and prints one file; 0, or STRATA_EXIT_USAGE on a problem. */
static int
refs_one(const char *file, const strata_df_options *opts, int prefix)
{
    strata_dockerfile *df = NULL;
    strata_error err = {0};
    size_t k, ndiag;
    int rc = STRATA_EXIT_OK;

    if (strata_dockerfile_parse_file(&df, file, opts, &err) != 0) {
        fflush(stdout);
        fprintf(stderr, "%s\n", err.msg);
        return STRATA_EXIT_USAGE;
    }
    for (k = 0; k < strata_dockerfile_ref_count(df); k++) {
        const strata_df_ref *ref = strata_dockerfile_ref(df, k);

        if (!ref->external || ref->ref == NULL)
            continue;
        if (prefix)
            printf("%s:", file);
        printf("%u\t%s\t%s\n", ref->span.line,
               strata_df_ref_kind_name(ref->kind), strata_ref_string(ref->ref));
    }
    ndiag = strata_dockerfile_diag_count(df);
    /* The references first, then what went wrong, as one file shows. */
    if (ndiag > 0)
        fflush(stdout);
    for (k = 0; k < ndiag; k++) {
        fprintf(stderr, "%s\n", strata_dockerfile_diag(df, k)->text);
        rc = STRATA_EXIT_USAGE;
    }
    strata_dockerfile_free(df);
    return rc;
}

static int
exec_dockerfile_refs(strata_cmd_ctx *ctx)
{
    strata_df_options opts = {0};
    const char *const *given;
    const char **ba;
    char **owned;
    size_t i, n = strata_args_values(ctx->args, "build-arg", &given), nba = 0;
    size_t nowned = 0, nfiles = strata_args_count(ctx->args);
    int rc = STRATA_EXIT_OK, prefix;

    ba = strata_xcalloc(n + 1, sizeof(*ba));
    owned = strata_xcalloc(n + 1, sizeof(*owned));
    for (i = 0; i < n; i++) {
        const char *v = given[i];

        if (strchr(v, '=') != NULL) {
            ba[nba++] = v;
        } else if (getenv(v) != NULL) {
            /* As docker build: a bare KEY takes its value from the
             * environment, and is ignored when unset there. */
            owned[nowned] = strata_xasprintf("%s=%s", v, getenv(v));
            ba[nba++] = owned[nowned++];
        }
    }
    opts.build_args = ba;
    opts.platform = strata_args_get(ctx->args, "platform");
    prefix = nfiles > 1 || strata_args_has(ctx->args, "with-filename");
    for (i = 0; i < nfiles; i++)
        if (refs_one(strata_args_arg(ctx->args, i), &opts, prefix) != 0)
            rc = STRATA_EXIT_USAGE;
    if (fflush(stdout) != 0) {
        perror("strata: stdout");
        rc = STRATA_EXIT_PROBLEM;
    }
    for (i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    free(ba);
    return rc;
}

static const strata_cmd_opt dockerfile_refs_opts[] = {
    {"with-filename", 'H', 0, NULL, NULL,
     "start each line with FILE: even for one FILE"},
    {"build-arg", 0, STRATA_OPT_VALUE | STRATA_OPT_REPEAT, "K=V", NULL,
     "override a global ARG (a bare K takes its value from the environment)"},
    {"platform", 0, STRATA_OPT_VALUE, "OS/ARCH[/VARIANT]", NULL,
     "the target platform for TARGETARCH and the like (default "
     "linux/amd64)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_dockerfile_refs = {
    .name = "dockerfile refs",
    .summary = "List the external image references of Dockerfiles.",
    .help = "Prints LINE<TAB>KIND<TAB>CANONICAL-REF per reference to an\n"
            "image in a registry, in file order; KIND is from, copy-from or\n"
            "mount-from. With more than one FILE (or -H) each line starts\n"
            "with the file's name and a colon: FILE:LINE<TAB>KIND<TAB>REF.\n"
            "Stages, stage indexes and scratch are not listed.\n"
            "Global ARGs expand in FROM lines; --build-arg overrides them.\n"
            "The automatic platform ARGs (TARGETARCH, BUILDPLATFORM, ...)\n"
            "follow --platform.\n"
            "Problems print on stderr as FILE:LINE: message and the other\n"
            "references still print. Exit status: 0 when every reference\n"
            "printed, 2 when a problem was reported or a file could not\n"
            "be read (the other files are still read).\n",
    .opts = dockerfile_refs_opts,
    .args = "FILE",
    .min_args = 1,
    .max_args = STRATA_ARGS_MANY,
    .exec = exec_dockerfile_refs,
};
