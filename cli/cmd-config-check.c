/*
 * cmd-config-check.c - `strata config check`: loads and validates the
 * configuration (-c FILE, default ./strata.yaml). Prints nothing and exits
 * 0 when it is valid; otherwise prints every problem on stderr as
 * FILE:LINE:COL: message and exits 2. Secrets are never printed.
 */
#include <stdio.h>

#include "cli.h"
#include "config.h"

static int
exec_config_check(strata_cli *cli, int argc, char **argv)
{
    strata_config_problems *problems = NULL;
    strata_config *config = NULL;
    strata_error err = {0};
    size_t i, n;
    int rc;

    if (argc != 1) {
        strata_cmd_usage(&strata_cmd_config_check, stderr);
        return STRATA_EXIT_USAGE;
    }
    problems = strata_config_problems_new();
    rc = strata_config_load(&config, cli->config_path, problems, &err);
    n = strata_config_problems_count(problems);
    if (rc != 0 && n == 0)
        fprintf(stderr, "strata: %s\n", err.msg);
    for (i = 0; i < n; i++)
        fprintf(stderr, "%s\n", strata_config_problems_get(problems, i)->text);
    strata_config_problems_free(problems);
    strata_config_free(config);
    /* Any configuration that cannot be used is bad input: exit 2. */
    return rc == 0 ? STRATA_EXIT_OK : STRATA_EXIT_USAGE;
}

const strata_cmd_entry strata_cmd_config_check = {
    .name = "config check",
    .usage = "",
    .summary = "Validate the configuration file.",
    .help = "Loads -c FILE (default ./strata.yaml) and checks every key. "
            "Prints nothing\nand exits 0 when it is valid; otherwise prints "
            "each problem as\nFILE:LINE:COL: message on stderr and exits 2. "
            "A missing file exits 2.\nKeys are documented in "
            "docs/configuration.md.\n",
    .exec = exec_config_check,
};
