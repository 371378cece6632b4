/*
 * cmd-jobs.c - `strata jobs` and `strata events`: the job queue and the
 * event log as the store has them, as text or JSON, newest last.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jobs.h"

/* --format json? (text by default) */
static int
want_json(const strata_cmd_ctx *ctx)
{
    const char *f = strata_args_get(ctx->args, "format");

    return f != NULL && strcmp(f, "json") == 0;
}

static void
print_json(json_t *items)
{
    char *s = json_dumps(items, JSON_INDENT(2));

    printf("%s\n", s);
    free(s);
}

/*
 * One line per base update that pull_requests.evidence.hold_on holds:
 * "held  REF@DIGEST  hold_on: REASON (strata approve REF)". The
 * planner's dry run over the store, with no graph: the states, never the
 * jobs a due update would enqueue (strata plan lists those). Nor the
 * catalog: listing jobs never fails on it, and an update a catalog policy
 * holds for its signature is never read for evidence, so never held here.
 */
static void
print_held_updates(const strata_cmd_ctx *ctx, strata_store *st)
{
    const strata_config_data *d = strata_config_data_get(ctx->config);
    strata_graph *g;
    json_t *plan = NULL, *u;
    size_t i;

    if (d->pull_requests.evidence_hold_on == 0)
        return;
    g = strata_graph_new();
    if (strata_plan_updates(&plan, st, g, d, 1, strata_now_ms(), NULL) == 0) {
        json_array_foreach (plan, i, u) {
            const char *base = json_string_value(json_object_get(u, "base"));
            const char *state = json_string_value(json_object_get(u, "state"));

            if (state != NULL && strcmp(state, "held") == 0)
                printf("held  %s@%s  hold_on: %s (strata approve %s)\n", base,
                       json_string_value(json_object_get(u, "new")),
                       json_string_value(json_object_get(u, "hold_reason")),
                       base);
        }
    }
    json_decref(plan);
    strata_graph_free(g);
}

static int
exec_jobs(strata_cmd_ctx *ctx)
{
    strata_store *st = NULL;
    strata_error err = {0};
    strata_store_job_state state = STRATA_STORE_JOB_QUEUED;
    const char *filter = strata_args_get(ctx->args, "state");
    int limit = (int) strata_args_number(ctx->args, "limit", 200);
    int json = want_json(ctx), rc = STRATA_EXIT_OK;
    json_t *items = NULL, *j;
    size_t i;

    /* The declared choices are the store's states. */
    if (filter != NULL)
        strata_store_job_state_parse(&state, filter);
    if (strata_cmd_open_store(&st, ctx, &err) != 0 ||
        strata_store_job_list(&items, st, 0, limit, filter ? (int) state : -1,
                              &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (json)
        print_json(items);
    json_array_foreach (items, i, j) {
        if (json)
            break;
        const char *last = json_string_value(json_object_get(j, "last_error"));
        const char *waiting = json_string_value(json_object_get(j, "waiting"));

        printf("%-5lld %-9s %-8s wave %lld  %s  (attempts %lld)%s%s%s%s\n",
               json_integer_value(json_object_get(j, "id")),
               json_string_value(json_object_get(j, "state")),
               json_string_value(json_object_get(j, "action")),
               json_integer_value(json_object_get(j, "wave")) + 1,
               json_string_value(json_object_get(j, "image")),
               json_integer_value(json_object_get(j, "attempts")),
               last ? ": " : "", last ? last : "", waiting ? "; waiting: " : "",
               waiting ? waiting : "");
    }
    if (!json) {
        strata_cmd_print_held(st);
        print_held_updates(ctx, st);
    }
out:
    json_decref(items);
    strata_store_close(st);
    return rc;
}

static int
exec_events(strata_cmd_ctx *ctx)
{
    strata_store *st = NULL;
    strata_error err = {0};
    int limit = (int) strata_args_number(ctx->args, "limit", 200);
    int json = want_json(ctx), rc = STRATA_EXIT_OK;
    json_t *items = NULL, *e;
    size_t i;

    if (strata_cmd_open_store(&st, ctx, &err) != 0 ||
        strata_store_event_list(&items, st, 0, limit,
                                strata_args_get(ctx->args, "type"),
                                &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (json)
        print_json(items);
    json_array_foreach (items, i, e) {
        char when[32];

        if (json)
            break;
        strata_format_time(when, sizeof(when),
                           json_integer_value(json_object_get(e, "time")));
        printf("%-5lld %s %-18s %s\n",
               json_integer_value(json_object_get(e, "id")), when,
               json_string_value(json_object_get(e, "type")),
               json_string_value(json_object_get(e, "subject")));
    }
out:
    json_decref(items);
    strata_store_close(st);
    return rc;
}

#define LIMIT_OPT                                                              \
    {                                                                          \
        "limit", 0, STRATA_OPT_NUMBER, "N", NULL,                              \
            "at most N, the newest (default 200)"                              \
    }
#define FORMAT_OPT                                                             \
    {                                                                          \
        "format", 0, STRATA_OPT_VALUE, NULL, "text|json",                      \
            "text (default) or json"                                           \
    }

static const strata_cmd_opt jobs_opts[] = {
    {"state", 0, STRATA_OPT_VALUE, "STATE",
     "queued|running|succeeded|failed|cancelled", "only jobs in STATE"},
    LIMIT_OPT,
    FORMAT_OPT,
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const strata_cmd_opt events_opts[] = {
    {"type", 0, STRATA_OPT_VALUE, "TYPE", NULL,
     "only events of TYPE (base.updated, pr.opened, ...)"},
    LIMIT_OPT,
    FORMAT_OPT,
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_jobs = {
    .name = "jobs",
    .summary = "List jobs (queued, running, succeeded, failed, cancelled).",
    .opts = jobs_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_jobs,
};

const strata_cmd_entry strata_cmd_events = {
    .name = "events",
    .summary = "List recorded events (base.updated, rebuild.*, pr.*, ...).",
    .opts = events_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_events,
};
