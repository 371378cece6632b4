/*
 * cmd-version.c - `strata version`, the same as `strata --version`.
 */
#include <stdio.h>

#include "cli.h"

static int
exec_version(strata_cli *cli, int argc, char **argv)
{
    if (argc > 1) {
        strata_cmd_usage(&strata_cmd_version, stderr);
        return STRATA_EXIT_USAGE;
    }
    printf("strata %s\n", STRATA_VERSION);
    return STRATA_EXIT_OK;
}

const strata_cmd_entry strata_cmd_version = {
    .name = "version",
    .usage = "",
    .summary = "Print the version.",
    .help = NULL,
    .exec = exec_version,
};
