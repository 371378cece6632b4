/*
 * cmd-notify.c - `strata notify test SINK` sends a sample event straight to
 * one configured sink and reports what happened (exit 1 when it failed, 2
 * for an unknown sink or a bad configuration); `strata notify outbox`
 * lists the outbox of the state database: messages waiting, being sent
 * and dead-lettered (--all adds the sent ones), as a table or JSON, and
 * `--retry ID` gives a dead-lettered message another round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "notify.h"

typedef struct test_result {
    int done;
    strata_error err;
} test_result;

static void
on_test_done(const strata_error *err, void *arg)
{
    test_result *t = arg;

    t->done = 1;
    if (err != NULL)
        t->err = *err;
}

static int
exec_notify_test(strata_cmd_ctx *ctx)
{
    const strata_config_data *d;
    strata_notify *n = NULL;
    strata_error err = {0};
    test_result t = {0};
    const strata_config_notify *sink;
    const char *event_type = strata_args_get(ctx->args, "event");
    const char *name = strata_args_arg(ctx->args, 0);
    json_t *event = NULL;
    uv_loop_t loop;
    int rc;

    d = strata_config_data_get(ctx->config);
    if (event_type != NULL &&
        (event = strata_notify_event_sample(event_type)) == NULL) {
        fprintf(stderr, "strata: unknown event type '%s'\n", event_type);
        return STRATA_EXIT_USAGE;
    }
    uv_loop_init(&loop);
    rc = strata_notify_new(&n, &loop, NULL, d->notify, d->n_notify, NULL, &err);
    if (rc == 0)
        rc = strata_notify_send_test(n, name, event, on_test_done, &t, &err);
    if (rc == 0)
        uv_run(&loop, UV_RUN_DEFAULT);
    sink = n != NULL ? strata_notify_sink(n, name) : NULL;
    strata_notify_close(n, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (rc != 0) {
        fprintf(stderr, "strata: %s\n", err.msg);
        rc = rc == STRATA_ENOTFOUND || rc == STRATA_EINVAL
                 ? STRATA_EXIT_USAGE
                 : STRATA_EXIT_PROBLEM;
    } else if (t.err.code != 0) {
        fprintf(stderr, "strata: test notification failed: %s\n", t.err.msg);
        rc = STRATA_EXIT_PROBLEM;
    } else {
        printf("sent a test %s notification to '%s' (%s)\n",
               event_type != NULL ? event_type : "base.updated", name,
               strata_config_notify_type_name(sink->type));
        rc = STRATA_EXIT_OK;
    }
    json_decref(event);
    return rc;
}

static const strata_cmd_opt notify_test_opts[] = {
    {"event", 0, STRATA_OPT_VALUE, "TYPE", NULL,
     "the sample's event type (default base.updated)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_notify_test = {
    .name = "notify test",
    .summary = "Send a sample event to one notification sink.",
    .help = "SINK is the 'name' of a notify entry (default TYPE-N, e.g. "
            "slack-1). The\nsample (base.updated unless --event says "
            "otherwise) goes straight to\nthe sink, without the outbox, "
            "routing, batching or rate limits. Exits 0\nwhen the sink "
            "accepted it, 1 when it failed, 2 for an unknown sink or\na "
            "bad configuration.\n",
    .opts = notify_test_opts,
    .args = "SINK",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_notify_test,
};

static void
print_table(const json_t *rows)
{
    const json_t *row;
    size_t i;

    printf("%-6s %-8s %-16s %-22s %-8s %-20s %s\n", "ID", "STATE", "SINK",
           "EVENT", "ATTEMPTS", "NEXT/SENT", "LAST ERROR");
    json_array_foreach (rows, i, row) {
        const char *state = json_string_value(json_object_get(row, "state"));
        const char *last =
            json_string_value(json_object_get(row, "last_error"));
        json_int_t when = json_integer_value(json_object_get(
            row, strcmp(state, "sent") == 0 ? "sent" : "next_attempt"));
        char attempts[32], time[32];

        snprintf(
            attempts, sizeof(attempts), "%lld/%lld",
            (long long) json_integer_value(json_object_get(row, "attempts")),
            (long long) json_integer_value(
                json_object_get(row, "max_attempts")));
        if (strcmp(state, "dead") == 0)
            snprintf(time, sizeof(time), "-");
        else
            strata_format_time(time, sizeof(time), when);
        printf("%-6lld %-8s %-16s %-22s %-8s %-20s %s\n",
               (long long) json_integer_value(json_object_get(row, "id")),
               state, json_string_value(json_object_get(row, "sink")),
               json_string_value(json_object_get(row, "event_type")), attempts,
               time, last != NULL ? last : "");
    }
}

static int
exec_notify_outbox(strata_cmd_ctx *ctx)
{
    const strata_config_data *d = strata_config_data_get(ctx->config);
    strata_store *st = NULL;
    strata_error err = {0};
    json_t *rows = NULL, *shown = NULL, *row;
    const char *format = strata_args_get(ctx->args, "format");
    const char *state_name = strata_args_get(ctx->args, "state");
    strata_store_outbox_state state = STRATA_STORE_OUTBOX_PENDING;
    long long retry = strata_args_number(ctx->args, "retry", 0);
    size_t i;
    int all = strata_args_has(ctx->args, "all"), rc;

    /* The declared choices are the store's states. */
    if (state_name != NULL)
        strata_store_outbox_state_parse(&state, state_name);
    if ((rc = strata_store_open(&st, d->state, &err)) != 0)
        goto fail;
    if (retry > 0) {
        if ((rc = strata_store_outbox_requeue(st, retry, &err)) != 0)
            goto fail;
        printf("message %lld is pending again\n", retry);
        rc = STRATA_EXIT_OK;
        goto out;
    }
    if ((rc = strata_notify_outbox_list(&rows, st,
                                        state_name != NULL ? (int) state : -1,
                                        0, 0, &err)) != 0)
        goto fail;
    shown = json_array();
    json_array_foreach (rows, i, row) {
        const char *s = json_string_value(json_object_get(row, "state"));

        if (all || state_name != NULL || strcmp(s, "sent") != 0)
            json_array_append(shown, row);
    }
    if (format != NULL && strcmp(format, "json") == 0) {
        char *text = json_dumps(shown, JSON_INDENT(2));

        printf("%s\n", text);
        free(text);
    } else {
        print_table(shown);
    }
    rc = STRATA_EXIT_OK;
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    json_decref(rows);
    json_decref(shown);
    strata_store_close(st);
    return rc;
}

static const strata_cmd_opt notify_outbox_opts[] = {
    {"all", 0, 0, NULL, NULL, "sent messages too"},
    {"state", 0, STRATA_OPT_VALUE, "STATE", "pending|sending|sent|dead",
     "only messages in STATE"},
    {"format", 0, STRATA_OPT_VALUE, NULL, "text|json",
     "text (default) or json"},
    {"retry", 0, STRATA_OPT_NUMBER, "ID", NULL,
     "make dead-lettered message ID pending again"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_notify_outbox = {
    .name = "notify outbox",
    .summary = "List notifications waiting, being sent or dead-lettered.",
    .help = "Reads the outbox of the state database. STATE is pending, "
            "sending, sent\nor dead; without --state or --all, sent messages "
            "are left out.\n--retry ID makes a dead-lettered message pending "
            "again (attempts reset);\nthe daemon sends it on its next "
            "pass.\n",
    .opts = notify_outbox_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_notify_outbox,
};
