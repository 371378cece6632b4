/*
 * cmd-plan.c - `strata plan [--format text|json]`: what the daemon would
 * do now, without doing it: the updates it would plan from the digests
 * already recorded (first sightings, soaking updates and the jobs each
 * planned update would enqueue, wave by wave), and the jobs already
 * queued. It reads the store and changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jobs.h"

/* hold_on (pull_requests.evidence.hold_on): why it waits or is held. */
static void
print_evidence(const json_t *u)
{
    const json_t *e = json_object_get(u, "evidence");
    const char *reason = json_string_value(json_object_get(u, "hold_reason"));
    const char *error = json_string_value(json_object_get(e, "error"));
    const char *summary = json_string_value(json_object_get(e, "summary"));

    if (e == NULL)
        return;
    if (reason != NULL)
        printf("  held: %s (strata approve %s)\n", reason,
               json_string_value(json_object_get(u, "base")));
    if (error != NULL)
        printf("  packages: not read (attempt %lld): %s\n",
               (long long) json_integer_value(json_object_get(e, "attempts")),
               error);
    else if (summary != NULL)
        printf("  packages: %s\n", summary);
    else
        printf("  packages: %s\n",
               json_string_value(json_object_get(e, "state")));
}

static int
exec_plan(strata_cmd_ctx *ctx)
{
    const strata_config_data *d = strata_config_data_get(ctx->config);
    const char *format = strata_args_get(ctx->args, "format");
    strata_store *st = NULL;
    strata_graph *g = NULL;
    json_t *plan = NULL, *queued = NULL, *u, *w, *h;
    strata_error err = {0};
    size_t i, j, k;
    int json = format != NULL && strcmp(format, "json") == 0, rc;

    if (strata_store_open(&st, d->state, &err) != 0 ||
        strata_graph_load(&g, st, &err) != 0 ||
        strata_plan_updates_catalog(&plan, st, g, d, ctx->catalog, 1,
                                    strata_now_ms(), &err) != 0 ||
        strata_store_job_list(&queued, st, 0, 1000, STRATA_STORE_JOB_QUEUED,
                              &err) != 0)
        goto fail;
    if (json) {
        json_t *doc =
            json_pack("{s:O, s:O}", "updates", plan, "queued", queued);
        char *s = json_dumps(doc, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
        json_decref(doc);
    } else {
        if (json_array_size(plan) == 0 && json_array_size(queued) == 0)
            printf("nothing to do\n");
        json_array_foreach (plan, i, u) {
            json_t *v = json_object_get(u, "verify");

            printf("%s %s@%s\n", json_string_value(json_object_get(u, "state")),
                   json_string_value(json_object_get(u, "base")),
                   json_string_value(json_object_get(u, "new")));
            if (v != NULL)
                printf("  signature: %s: %s\n",
                       json_string_value(json_object_get(v, "state")),
                       json_string_value(json_object_get(v, "reason")));
            print_evidence(u);
            json_array_foreach (json_object_get(u, "waves"), j, w) {
                printf("  wave %zu\n", j + 1);
                json_array_foreach (w, k, h)
                    printf("    would %-8s %s\n",
                           json_string_value(json_object_get(h, "action")),
                           json_string_value(json_object_get(h, "image")));
            }
        }
        json_array_foreach (queued, i, h)
            printf("queued job %lld: %s %s (wave %lld)\n",
                   json_integer_value(json_object_get(h, "id")),
                   json_string_value(json_object_get(h, "action")),
                   json_string_value(json_object_get(h, "image")),
                   json_integer_value(json_object_get(h, "wave")) + 1);
    }
    rc = STRATA_EXIT_OK;
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    json_decref(plan);
    json_decref(queued);
    strata_graph_free(g);
    strata_store_close(st);
    return rc;
}

static const strata_cmd_opt plan_opts[] = {
    {"format", 0, STRATA_OPT_VALUE, NULL, "text|json",
     "text (default) or json"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_plan = {
    .name = "plan",
    .summary = "Show what the daemon would do now, changing nothing.",
    .help = "Plans the recorded base updates as a dry run (first sightings, "
            "updates\nstill soaking, and the jobs a due update would "
            "enqueue, wave by wave),\nand lists the jobs already queued.\n",
    .opts = plan_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .catalog = STRATA_CMD_CATALOG_OPTIONAL, /* its signature policies */
    .exec = exec_plan,
};
