/*
 * cmd-rollout.c - `strata rollout list|show|resume|abort`: the progressive
 * rollouts of base updates (config `rollout:`) as the store has them, and
 * the two decisions a person makes about one: go on after a halt, or end
 * it. Both are recorded as events naming who ($STRATA_APPROVER, else the
 * login user), as `strata approve` does; the daemon's runner sees the
 * woken jobs at its next poll.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jobs.h"

static int
want_json(const strata_cmd_ctx *ctx)
{
    const char *f = strata_args_get(ctx->args, "format");

    return f != NULL && strcmp(f, "json") == 0;
}

static void
print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2));

    printf("%s\n", s);
    free(s);
}

/* Who decides: $STRATA_APPROVER, else the login user (cmd-approve.c). */
static char *
who(void)
{
    const char *w = getenv("STRATA_APPROVER");
    struct passwd *pw;

    if (w != NULL && *w != '\0')
        return strata_xstrdup(w);
    pw = getpwuid(getuid());
    if (pw != NULL && pw->pw_name != NULL)
        return strata_xasprintf("cli user %s", pw->pw_name);
    return strata_xasprintf("cli uid %ld", (long) getuid());
}

static int
exec_list(strata_cmd_ctx *ctx)
{
    strata_store *st = NULL;
    strata_error err = {0};
    json_t *list = NULL, *ro;
    size_t i;
    int rc = STRATA_EXIT_OK;

    if (strata_cmd_open_store(&st, ctx, &err) != 0 ||
        strata_store_rollout_list(
            &list, st, strata_args_get(ctx->args, "state"),
            (int) strata_args_number(ctx->args, "limit", 50), &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (want_json(ctx)) {
        print_json(list);
        goto out;
    }
    json_array_foreach (list, i, ro) {
        char when[32];
        const char *note = json_string_value(json_object_get(ro, "note"));

        strata_format_time(when, sizeof(when),
                           json_integer_value(json_object_get(ro, "created")));
        printf("%-4lld %-10s stage %lld of %zu  %s@%s  since %s%s%s\n",
               (long long) json_integer_value(json_object_get(ro, "id")),
               json_string_value(json_object_get(ro, "state")),
               (long long) json_integer_value(json_object_get(ro, "stage")) + 1,
               json_array_size(json_object_get(ro, "stages")),
               json_string_value(json_object_get(ro, "base")),
               json_string_value(json_object_get(ro, "digest")), when,
               note ? ": " : "", note ? note : "");
    }
out:
    json_decref(list);
    strata_store_close(st);
    return rc;
}

static int
exec_show(strata_cmd_ctx *ctx)
{
    strata_store *st = NULL;
    strata_error err = {0};
    json_t *ro = NULL;
    char *text;
    int rc = STRATA_EXIT_OK;

    if (strata_cmd_open_store(&st, ctx, &err) != 0 ||
        strata_rollout_show(&ro, st, strata_args_arg(ctx->args, 0), &err) !=
            0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (want_json(ctx)) {
        print_json(ro);
        goto out;
    }
    text = strata_rollout_format(ro);
    fputs(text, stdout);
    free(text);
out:
    json_decref(ro);
    strata_store_close(st);
    return rc;
}

static int
decide(strata_cmd_ctx *ctx, int resume)
{
    strata_store *st = NULL;
    strata_error err = {0};
    strata_runner_env env = {0};
    char *by = who();
    int64_t id = 0;
    int rc = STRATA_EXIT_OK;

    if (strata_cmd_open_store(&st, ctx, &err) != 0 ||
        strata_rollout_find_id(&id, st, strata_args_arg(ctx->args, 0), &err) !=
            0)
        goto fail;
    env.store = st;
    env.config = ctx->config;
    env.cfg = strata_config_data_get(ctx->config);
    if ((resume ? strata_rollout_resume(&env, id, by, &err)
                : strata_rollout_abort(&env, id, by, &err)) != 0)
        goto fail;
    printf("rollout %lld %s (by %s)\n", (long long) id,
           resume ? "resumed" : "aborted", by);
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    free(by);
    strata_store_close(st);
    return rc;
}

static int
exec_resume(strata_cmd_ctx *ctx)
{
    return decide(ctx, 1);
}

static int
exec_abort(strata_cmd_ctx *ctx)
{
    return decide(ctx, 0);
}

static const strata_cmd_opt list_opts[] = {
    {"state", 0, STRATA_OPT_VALUE, "STATE",
     "active|running|halted|completed|aborted|superseded",
     "only rollouts in STATE (active: running or halted)"},
    {"limit", 0, STRATA_OPT_NUMBER, "N", NULL,
     "at most N, the newest (default 50)"},
    {"format", 0, STRATA_OPT_VALUE, NULL, "text|json",
     "text (default) or json"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const strata_cmd_opt show_opts[] = {
    {"format", 0, STRATA_OPT_VALUE, NULL, "text|json",
     "text (default) or json"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const strata_cmd_opt no_opts[] = {
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_rollout_list = {
    .name = "rollout list",
    .summary = "List the rollouts of base updates, newest first.",
    .help = "A rollout is one base digest going out in stages (configuration "
            "key\nrollout:). Each line: its id, state (running, halted, "
            "completed,\naborted, superseded), its current stage, the base "
            "digest, since when,\nand why when it halted or ended.\n",
    .opts = list_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_list,
};

const strata_cmd_entry strata_cmd_rollout_show = {
    .name = "rollout show",
    .summary = "Show one rollout: its stages and each image's state.",
    .help = "ROLLOUT is an id (strata rollout list) or BASE@DIGEST. Each "
            "stage with\nthe time it started and finished and how many of "
            "its images are in\neach state; then every image with its stage "
            "and state (waiting for\nits stage, waiting for window, queued, "
            "running, rebuilt, rebased,\npull request open, done, failed, "
            "cancelled).\n",
    .opts = show_opts,
    .args = "ROLLOUT",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_show,
};

const strata_cmd_entry strata_cmd_rollout_resume = {
    .name = "rollout resume",
    .summary = "Let a halted rollout go on (audited).",
    .help = "A rollout halts when more of a stage failed than its "
            "failure_budget\nallows. Resuming forgives the failures so far "
            "(the budget counts new\nones) and wakes the stage's waiting "
            "jobs. The rollout.resumed event\nnames who did it: "
            "$STRATA_APPROVER, else the login user.\n",
    .opts = no_opts,
    .args = "ROLLOUT",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_resume,
};

const strata_cmd_entry strata_cmd_rollout_abort = {
    .name = "rollout abort",
    .summary = "End a running or halted rollout (audited).",
    .help = "Cancels the rollout's queued jobs (running ones finish) and "
            "records\nrollout.aborted with its summary, naming who did it: "
            "$STRATA_APPROVER,\nelse the login user.\n",
    .opts = no_opts,
    .args = "ROLLOUT",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_abort,
};
