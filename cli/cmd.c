/*
 * cmd.c - the command table, and running one command: its arguments
 * parsed against its declaration (args.c), the configuration and the
 * golden catalog loaded as it declares, each with every problem printed
 * the same way, then its exec. main() matches argv against the names
 * here, longest name first.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const strata_cmd_entry *const strata_cmd_table[] = {
    &strata_cmd_version,
    &strata_cmd_ref,
    &strata_cmd_digest,
    &strata_cmd_diff,
    &strata_cmd_sbom,
    &strata_cmd_config_check,
    &strata_cmd_dockerfile_refs,
    &strata_cmd_notify_test,
    &strata_cmd_notify_outbox,
    &strata_cmd_watch,
    &strata_cmd_report_stale,
    &strata_cmd_catalog_list,
    &strata_cmd_catalog_status,
    &strata_cmd_catalog_check,
    &strata_cmd_discover,
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
    &strata_cmd_rollout_list,
    &strata_cmd_rollout_show,
    &strata_cmd_rollout_resume,
    &strata_cmd_rollout_abort,
    &strata_cmd_check_state,
    &strata_cmd_backup,
    &strata_cmd_verify,
    &strata_cmd_verify_bundle,
    &strata_cmd_init,
    &strata_cmd_describe,
    &strata_cmd_complete,
    NULL,
};

int
strata_cmd_fail(const strata_error *err)
{
    fprintf(stderr, "strata: %s\n", err->msg);
    return strata_exit_code(err->code);
}

int
strata_cmd_usage_error(const strata_cmd_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "strata %s: ", ctx->cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    strata_cmd_usage_line(ctx->cmd, stderr);
    return STRATA_EXIT_USAGE;
}

int
strata_cmd_open_store(strata_store **st, const strata_cmd_ctx *ctx,
                      strata_error *err)
{
    return strata_store_open(st, strata_config_data_get(ctx->config)->state,
                             err);
}

/*
 * A file that did not load: every problem as FILE:LINE:COL: message, or,
 * when it could not be read at all, the reason. Always exit 2: the
 * configuration or the catalog is bad input.
 */
static int
problems_exit(const strata_config_problems *problems, const strata_error *err)
{
    size_t i, n = strata_config_problems_count(problems);

    if (n == 0)
        fprintf(stderr, "strata: %s\n", err->msg);
    for (i = 0; i < n; i++)
        fprintf(stderr, "%s\n", strata_config_problems_get(problems, i)->text);
    return STRATA_EXIT_USAGE;
}

/* Declares an option named "catalog"? */
static int
has_catalog_option(const strata_cmd_entry *cmd)
{
    size_t i;

    for (i = 0; cmd->opts != NULL && cmd->opts[i].name != NULL; i++)
        if (strcmp(cmd->opts[i].name, "catalog") == 0)
            return 1;
    return 0;
}

/* Loads what ctx->cmd declares; 0 or an exit code. */
static int
load(strata_cmd_ctx *ctx)
{
    const strata_cmd_entry *cmd = ctx->cmd;
    strata_config_problems *problems = strata_config_problems_new();
    strata_error err = {0};
    const char *path = NULL;
    int rc = 0;

    if (cmd->config == STRATA_CMD_CONFIG_REQUIRED)
        rc = strata_config_load(&ctx->config, ctx->cli->config_path, problems,
                                &err);
    else if (cmd->config != STRATA_CMD_CONFIG_NONE)
        rc = strata_config_load_or_default(&ctx->config, ctx->cli->config_path,
                                           ctx->cli->config_explicit, problems,
                                           &err);
    if (rc != 0) {
        rc = problems_exit(problems, &err);
        goto out;
    }
    if (cmd->config == STRATA_CMD_CONFIG_SELF) {
        /* Checked here like any other; the command keeps its own copy. */
        strata_config_free(ctx->config);
        ctx->config = NULL;
    }
    if (cmd->catalog == STRATA_CMD_CATALOG_NONE)
        goto out;
    if (has_catalog_option(cmd))
        path = strata_args_get(ctx->args, "catalog");
    if (path == NULL && ctx->config != NULL)
        path = strata_config_data_get(ctx->config)->catalog;
    if (path == NULL && cmd->catalog == STRATA_CMD_CATALOG_REQUIRED) {
        fprintf(stderr,
                "strata: no catalog: set 'catalog:' in the "
                "configuration%s\n",
                has_catalog_option(cmd) ? " or pass --catalog FILE" : "");
        rc = STRATA_EXIT_USAGE;
    } else if (path != NULL &&
               strata_catalog_load(&ctx->catalog, path, problems, &err) != 0) {
        rc = problems_exit(problems, &err);
    }
out:
    strata_config_problems_free(problems);
    return rc;
}

int
strata_cmd_exec(const strata_cmd_entry *cmd, strata_cli *cli, int argc,
                char **argv)
{
    strata_cmd_ctx ctx = {0};
    strata_args *args = NULL;
    strata_error err = {0};
    int rc;

    ctx.cmd = cmd;
    ctx.cli = cli;
    if (strata_args_parse(&args, cmd, argc, argv, &err) != 0)
        return strata_cmd_usage_error(&ctx, "%s", err.msg);
    ctx.args = args;
    if ((rc = load(&ctx)) == 0)
        rc = cmd->exec(&ctx);
    strata_catalog_free(ctx.catalog);
    strata_config_free(ctx.config);
    strata_args_free(args);
    return rc;
}
