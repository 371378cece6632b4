/*
 * cmd-ref.c - `strata ref REF`: prints the canonical form of an image
 * reference ("ubuntu" -> "docker.io/library/ubuntu:latest"), or says why
 * it is invalid and exits 2.
 */
#include <stdio.h>

#include "cli.h"
#include "oci.h"

static int
exec_ref(strata_cmd_ctx *ctx)
{
    strata_error err = {0};
    strata_ref *ref = NULL;

    if (strata_ref_parse(&ref, strata_args_arg(ctx->args, 0), &err) != 0)
        return strata_cmd_fail(&err);
    printf("%s\n", strata_ref_string(ref));
    strata_ref_free(ref);
    return STRATA_EXIT_OK;
}

const strata_cmd_entry strata_cmd_ref = {
    .name = "ref",
    .summary = "Print the canonical form of an image reference.",
    .help = "Normalises REF as Docker does: docker.io is the default "
            "registry,\none-element Docker Hub names get 'library/', and "
            "'latest' is added\nwhen there is neither tag nor digest. An "
            "invalid reference exits 2.\n",
    .args = "REF",
    .min_args = 1,
    .max_args = 1,
    .exec = exec_ref,
};
