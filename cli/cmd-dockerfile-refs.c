/*
 * cmd-dockerfile-refs.c - `strata dockerfile refs FILE`: parses a
 * Dockerfile and prints one line per external image reference, in file
 * order: LINE<TAB>KIND<TAB>CANONICAL-REF, LINE being the line the
 * reference is written on (a continuation line, say). Problems are printed on
 * stderr as FILE:LINE: message while the other references still print; the exit
 * status is then 2 (bad input), as it is when the file cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graph.h"

/* "--opt VALUE" or "--opt=VALUE": 1 and *out set, -1 missing value. */
static int
opt_value(int *i, int argc, char **argv, const char *opt, const char **out)
{
    size_t n = strlen(opt);

    if (strcmp(argv[*i], opt) == 0) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "strata: option '%s' needs a value\n", opt);
            return -1;
        }
        *out = argv[++*i];
        return 1;
    }
    if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return 1;
    }
    return 0;
}

static int
exec_dockerfile_refs(strata_cli *cli, int argc, char **argv)
{
    strata_df_options opts = {0};
    strata_dockerfile *df = NULL;
    strata_error err = {0};
    const char **ba, *file = NULL, *v;
    char **owned;
    int i, r, nba = 0, nowned = 0, rc = STRATA_EXIT_OK;
    size_t k;

    ba = strata_xcalloc((size_t) argc + 1, sizeof(*ba));
    owned = strata_xcalloc((size_t) argc + 1, sizeof(*owned));
    for (i = 1; i < argc; i++) {
        if ((r = opt_value(&i, argc, argv, "--build-arg", &v)) != 0) {
            if (r < 0)
                goto usage;
            if (strchr(v, '=') != NULL) {
                ba[nba++] = v;
            } else if (getenv(v) != NULL) {
                /* As docker build: a bare KEY takes its value from the
                 * environment, and is ignored when unset there. */
                owned[nowned] = strata_xasprintf("%s=%s", v, getenv(v));
                ba[nba++] = owned[nowned++];
            }
        } else if ((r = opt_value(&i, argc, argv, "--platform", &v)) != 0) {
            if (r < 0)
                goto usage;
            opts.platform = v;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "strata: unknown option '%s'\n", argv[i]);
            goto usage;
        } else if (file == NULL) {
            file = argv[i];
        } else {
            fprintf(stderr, "strata: too many arguments\n");
            goto usage;
        }
    }
    if (file == NULL)
        goto usage;
    opts.build_args = ba;
    if (strata_dockerfile_parse_file(&df, file, &opts, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        rc = STRATA_EXIT_USAGE;
        goto out;
    }
    for (k = 0; k < strata_dockerfile_ref_count(df); k++) {
        const strata_df_ref *ref = strata_dockerfile_ref(df, k);

        if (ref->external && ref->ref != NULL)
            printf("%u\t%s\t%s\n", ref->span.line,
                   strata_df_ref_kind_name(ref->kind),
                   strata_ref_string(ref->ref));
    }
    fflush(stdout);
    for (k = 0; k < strata_dockerfile_diag_count(df); k++) {
        fprintf(stderr, "%s\n", strata_dockerfile_diag(df, k)->text);
        rc = STRATA_EXIT_USAGE;
    }
    goto out;
usage:
    strata_cmd_usage(&strata_cmd_dockerfile_refs, stderr);
    rc = STRATA_EXIT_USAGE;
out:
    strata_dockerfile_free(df);
    for (i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    free(ba);
    return rc;
}

const strata_cmd_entry strata_cmd_dockerfile_refs = {
    .name = "dockerfile refs",
    .usage = "FILE [--build-arg K=V]... [--platform OS/ARCH[/VARIANT]]",
    .summary = "List the external image references of a Dockerfile.",
    .help = "Prints LINE<TAB>KIND<TAB>CANONICAL-REF per reference to an\n"
            "image in a registry, in file order; KIND is from, copy-from or\n"
            "mount-from. Stages, stage indexes and scratch are not listed.\n"
            "Global ARGs expand in FROM lines; --build-arg overrides them\n"
            "(a bare KEY takes its value from the environment). The\n"
            "automatic platform ARGs (TARGETARCH, BUILDPLATFORM, ...) follow\n"
            "--platform, linux/amd64 by default.\n"
            "Problems print on stderr as FILE:LINE: message and the other\n"
            "references still print. Exit status: 0 when every reference\n"
            "printed, 2 when a problem was reported or the file could not\n"
            "be read.\n",
    .exec = exec_dockerfile_refs,
};
