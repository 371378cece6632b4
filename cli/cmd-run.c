/*
 * cmd-run.c - `strata run [--once] [--listen HOST:PORT]`: the daemon, or
 * with --once one full cycle (scan the repositories, check every watched
 * base, plan, run the jobs) that prints what it saw and did and exits:
 * for cron and CI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"

static void
print_report(const json_t *r)
{
    const json_t *v, *w, *h;
    size_t i, j, k;

    json_array_foreach (json_object_get(r, "changes"), i, v) {
        const char *old = json_string_value(json_object_get(v, "old"));
        printf("%s %s\n  %s -> %s\n", old ? "updated " : "first seen",
               json_string_value(json_object_get(v, "ref")),
               old ? old : "(none)",
               json_string_value(json_object_get(v, "new")));
    }
    json_array_foreach (json_object_get(r, "plan"), i, v) {
        const char *state = json_string_value(json_object_get(v, "state"));
        if (strcmp(state, "planned") != 0 && strcmp(state, "soaking") != 0)
            continue;
        printf("%s %s@%s\n", state,
               json_string_value(json_object_get(v, "base")),
               json_string_value(json_object_get(v, "new")));
        json_array_foreach (json_object_get(v, "waves"), j, w) {
            printf("  wave %zu\n", j + 1);
            json_array_foreach (w, k, h)
                printf("    %-8s %s (job %lld)\n",
                       json_string_value(json_object_get(h, "action")),
                       json_string_value(json_object_get(h, "image")),
                       json_integer_value(json_object_get(h, "job")));
        }
    }
    json_array_foreach (json_object_get(r, "errors"), i, v)
        printf("error %s: %s\n", json_string_value(json_object_get(v, "ref")),
               json_string_value(json_object_get(v, "error")));
    v = json_object_get(r, "jobs");
    if (v != NULL)
        printf("jobs: %lld succeeded, %lld failed, %lld to retry\n",
               json_integer_value(json_object_get(v, "succeeded")),
               json_integer_value(json_object_get(v, "failed")),
               json_integer_value(json_object_get(v, "retrying")));
}

static int
exec_run(strata_cmd_ctx *ctx)
{
    strata_daemon_opts opts = {0};
    strata_daemon *d = NULL;
    strata_error err = {0};
    int json = strata_args_has(ctx->args, "json"), rc;

    /* The daemon loads the configuration itself: it reloads it on SIGHUP. */
    opts.config_path = ctx->cli->config_path;
    opts.config_explicit = ctx->cli->config_explicit;
    opts.log_explicit = ctx->cli->log_explicit;
    opts.once = strata_args_has(ctx->args, "once");
    opts.listen = strata_args_get(ctx->args, "listen");
    if (json && !opts.once)
        return strata_cmd_usage_error(ctx, "--json needs --once");
    if (strata_daemon_new(&d, &opts, &err) != 0)
        return strata_cmd_fail(&err);
    rc = strata_daemon_run(d);
    if (opts.once) {
        if (json) {
            char *s = json_dumps(strata_daemon_report(d), JSON_INDENT(2));
            printf("%s\n", s);
            free(s);
        } else {
            print_report(strata_daemon_report(d));
        }
    }
    strata_daemon_free(d);
    return rc;
}

static const strata_cmd_opt run_opts[] = {
    {"once", 0, 0, NULL, NULL,
     "run one cycle (scan, watch, plan, act), print what it saw and did, "
     "exit"},
    {"json", 0, 0, NULL, NULL, "with --once: the whole report as JSON"},
    {"listen", 0, STRATA_OPT_VALUE, "HOST:PORT", NULL,
     "serve the HTTP API there instead of api.listen"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_run = {
    .name = "run",
    .summary = "Run the daemon, or one full cycle with --once.",
    .help = "The daemon scans the configured repositories, watches every "
            "base on its\nschedule, plans each update into jobs (after the "
            "soak time) and runs\nthem in wave order, and serves the HTTP "
            "API. SIGTERM drains, SIGHUP\nreloads the configuration.\n\n"
            "--once runs one cycle (scan, watch, plan, act) and prints what it "
            "saw and\ndid (--json for the whole report); exit 1 if a check "
            "or a job failed.\n",
    .opts = run_opts,
    .config = STRATA_CMD_CONFIG_SELF,
    .exec = exec_run,
};
