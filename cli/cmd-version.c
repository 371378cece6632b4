/*
 * cmd-version.c - `strata version`, the same as `strata --version`.
 */
#include <stdio.h>

#include "cli.h"

static int
exec_version(strata_cmd_ctx *ctx)
{
    (void) ctx;
    printf("strata %s\n", STRATA_VERSION);
    return STRATA_EXIT_OK;
}

const strata_cmd_entry strata_cmd_version = {
    .name = "version",
    .summary = "Print the version.",
    .exec = exec_version,
};
