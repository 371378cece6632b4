/*
 * cmd.c - the command table and helpers shared by every cmd-*.c file.
 * main() matches argv against the names here, longest name first.
 */
#include <stdio.h>

#include "cli.h"

const strata_cmd_entry *const strata_cmd_table[] = {
    &strata_cmd_version,
    &strata_cmd_ref,
    &strata_cmd_digest,
    &strata_cmd_config_check,
    &strata_cmd_dockerfile_refs,
    &strata_cmd_notify_test,
    &strata_cmd_notify_outbox,
    &strata_cmd_watch,
    &strata_cmd_report_stale,
    &strata_cmd_catalog_list,
    &strata_cmd_catalog_status,
    &strata_cmd_catalog_check,
    &strata_cmd_graph_scan,
    &strata_cmd_graph_show,
    &strata_cmd_graph_impacted,
    &strata_cmd_rebase,
    &strata_cmd_pin,
    &strata_cmd_scan_report,
    &strata_cmd_scan_diff,
    &strata_cmd_run,
    &strata_cmd_plan,
    &strata_cmd_jobs,
    &strata_cmd_events,
    &strata_cmd_approve,
    &strata_cmd_verify,
    &strata_cmd_verify_bundle,
    NULL,
};

void
strata_cmd_usage(const strata_cmd_entry *cmd, FILE *f)
{
    fprintf(f, "usage: strata %s%s%s [-c FILE]\n", cmd->name,
            cmd->usage[0] ? " " : "", cmd->usage);
    fprintf(f, "\n%s\n", cmd->summary);
    if (cmd->help != NULL)
        fprintf(f, "\n%s", cmd->help);
}

int
strata_cmd_fail(const strata_error *err)
{
    fprintf(stderr, "strata: %s\n", err->msg);
    return strata_exit_code(err->code);
}

int
strata_cmd_open_store(strata_store **st, strata_config **config,
                      strata_cli *cli, strata_error *err)
{
    int rc = strata_config_load_or_default(config, cli->config_path,
                                           cli->config_explicit, NULL, err);

    if (rc == 0)
        rc = strata_store_open(st, strata_config_data_get(*config)->state, err);
    return rc;
}
