/*
 * cmd-config-check.c - `strata config check`: loads and validates the
 * configuration (-c FILE, default ./strata.yaml). Prints nothing and exits
 * 0 when it is valid; otherwise every problem is printed on stderr as
 * FILE:LINE:COL: message and the exit status is 2. The loading and the
 * printing are cmd.c's, as for every command that reads the
 * configuration: this one only declares that the file must exist.
 * Secrets are never printed.
 */
#include "cli.h"

static int
exec_config_check(strata_cmd_ctx *ctx)
{
    (void) ctx;
    return STRATA_EXIT_OK;
}

const strata_cmd_entry strata_cmd_config_check = {
    .name = "config check",
    .summary = "Validate the configuration file.",
    .help = "Loads -c FILE (default ./strata.yaml) and checks every key. "
            "Prints nothing\nand exits 0 when it is valid; otherwise prints "
            "each problem as\nFILE:LINE:COL: message on stderr and exits 2. "
            "A missing file exits 2.\nKeys are documented in "
            "docs/configuration.md.\n",
    .config = STRATA_CMD_CONFIG_REQUIRED,
    .exec = exec_config_check,
};
