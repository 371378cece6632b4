/*
 * cmd-report.c - `strata report stale`: every image we build with each of
 * its external bases, the digest it was built on, the base's current
 * digest, and how many updates and days behind that is, from the state
 * store (watch state, digests seen, graph) and the golden catalog. Prints
 * a table, JSON, CSV, Markdown or one HTML page; --fail-on stale exits 1
 * when any image is stale.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "report.h"
#include "store.h"

static int
exec_report_stale(strata_cmd_ctx *ctx)
{
    const char *format_name = strata_args_get(ctx->args, "format");
    const char *running_path = strata_args_get(ctx->args, "running");
    strata_report_format format;
    strata_report_options opts = {0};
    strata_report_running *running = NULL;
    strata_store *st = NULL;
    strata_error err = {0};
    strata_buf out = STRATA_BUF_INIT;
    json_t *report = NULL;
    int rc = STRATA_EXIT_USAGE;

    if (strata_report_parse_format(&format,
                                   format_name ? format_name : "table") != 0)
        goto out;
    if (running_path != NULL &&
        strata_report_running_load(&running, running_path, &err) != 0) {
        /* Unreadable or malformed, the input is bad: exit 2. */
        fprintf(stderr, "strata: %s\n", err.msg);
        goto out;
    }
    if (strata_cmd_open_store(&st, ctx, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    opts.catalog = ctx->catalog;
    opts.running = running;
    opts.cfg = ctx->config ? strata_config_data_get(ctx->config) : NULL;
    if (strata_report_stale(&report, st, NULL, &opts, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    /* Colour only for people: a terminal, and NO_COLOR unset. */
    strata_report_render(&out, report, format,
                         isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL);
    fwrite(strata_buf_cstr(&out), 1, out.len, stdout);
    if (fflush(stdout) != 0) {
        perror("strata: stdout");
        rc = STRATA_EXIT_PROBLEM;
        goto out;
    }
    rc =
        strata_args_has(ctx->args, "fail-on") && strata_report_has_stale(report)
            ? STRATA_EXIT_PROBLEM
            : STRATA_EXIT_OK;
out:
    strata_buf_release(&out);
    json_decref(report);
    strata_store_close(st);
    strata_report_running_free(running);
    return rc;
}

static const strata_cmd_opt report_stale_opts[] = {
    {"format", 0, STRATA_OPT_VALUE, NULL, "table|json|csv|md|html",
     "table (default), json, csv, md or html (one self-contained page)"},
    {"fail-on", 0, STRATA_OPT_VALUE, NULL, "stale",
     "exit 1 when any image is stale"},
    {"running", 0, STRATA_OPT_VALUE, "FILE", NULL,
     "only images that run: a list of references, one a line, or the JSON "
     "of 'kubectl get pods -A -o json'"},
    {"catalog", 0, STRATA_OPT_VALUE, "FILE", NULL,
     "the golden catalog (default: the configuration's 'catalog')"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_report_stale = {
    .name = "report stale",
    .summary = "Report which images are built on stale base images.",
    .help = "For every image in the graph and each of its external bases: the\n"
            "digest it was built on, the base's current digest, how many base\n"
            "updates and days behind it is, and the base's catalog class\n"
            "(golden, non-golden, deprecated). Reads the state store only.\n"
            "The JSON schema is in docs/catalog.md.\n",
    .opts = report_stale_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .catalog = STRATA_CMD_CATALOG_OPTIONAL,
    .exec = exec_report_stale,
};
