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

/* Loads -c FILE, printing every problem; returns an exit code or -1. */
static int
load_config(strata_config **out, strata_cli *cli)
{
    strata_config_problems *problems = strata_config_problems_new();
    strata_error err = {0};
    size_t i, n;
    int rc;

    rc = strata_config_load_or_default(out, cli->config_path,
                                       cli->config_explicit, problems, &err);
    n = strata_config_problems_count(problems);
    if (rc != 0 && n == 0)
        fprintf(stderr, "strata: %s\n", err.msg);
    for (i = 0; i < n; i++)
        fprintf(stderr, "%s\n", strata_config_problems_get(problems, i)->text);
    strata_config_problems_free(problems);
    return rc == 0 ? -1 : STRATA_EXIT_USAGE;
}

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
exec_notify_test(strata_cli *cli, int argc, char **argv)
{
    const strata_config_data *d;
    strata_config *config = NULL;
    strata_notify *n = NULL;
    strata_error err = {0};
    test_result t = {0};
    const strata_config_notify *sink;
    const char *event_type = NULL, *name = NULL;
    json_t *event = NULL;
    uv_loop_t loop;
    int i, bad = 0, rc;

    for (i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--event") == 0 && i + 1 < argc)
            event_type = argv[++i];
        else if (argv[i][0] == '-' || name != NULL)
            bad = 1;
        else
            name = argv[i];
    }
    if (name == NULL || bad) {
        strata_cmd_usage(&strata_cmd_notify_test, stderr);
        return STRATA_EXIT_USAGE;
    }
    if ((rc = load_config(&config, cli)) >= 0)
        return rc;
    d = strata_config_data_get(config);
    if (event_type != NULL &&
        (event = strata_notify_event_sample(event_type)) == NULL) {
        fprintf(stderr, "strata: unknown event type '%s'\n", event_type);
        strata_config_free(config);
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
    strata_config_free(config);
    return rc;
}

const strata_cmd_entry strata_cmd_notify_test = {
    .name = "notify test",
    .usage = "SINK [--event TYPE]",
    .summary = "Send a sample event to one notification sink.",
    .help = "SINK is the 'name' of a notify entry (default TYPE-N, e.g. "
            "slack-1). The\nsample (base.updated unless --event says "
            "otherwise) goes straight to\nthe sink, without the outbox, "
            "routing, batching or rate limits. Exits 0\nwhen the sink "
            "accepted it, 1 when it failed, 2 for an unknown sink or\na "
            "bad configuration.\n",
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
exec_notify_outbox(strata_cli *cli, int argc, char **argv)
{
    const strata_config_data *d;
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_error err = {0};
    json_t *rows = NULL, *shown = NULL, *row;
    const char *format = "text", *state_name = NULL;
    strata_store_outbox_state state;
    long long retry = 0;
    size_t i;
    int all = 0, rc;

    for (i = 1; i < (size_t) argc; i++) {
        if (strcmp(argv[i], "--all") == 0) {
            all = 1;
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < (size_t) argc &&
                   (strcmp(argv[i + 1], "text") == 0 ||
                    strcmp(argv[i + 1], "json") == 0)) {
            format = argv[++i];
        } else if (strcmp(argv[i], "--state") == 0 && i + 1 < (size_t) argc &&
                   strata_store_outbox_state_parse(&state, argv[i + 1]) == 0) {
            state_name = argv[++i];
        } else if (strcmp(argv[i], "--retry") == 0 && i + 1 < (size_t) argc &&
                   (retry = atoll(argv[i + 1])) > 0) {
            i++;
        } else {
            strata_cmd_usage(&strata_cmd_notify_outbox, stderr);
            return STRATA_EXIT_USAGE;
        }
    }
    if ((rc = load_config(&config, cli)) >= 0)
        return rc;
    d = strata_config_data_get(config);
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
    if (strcmp(format, "json") == 0) {
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
    strata_config_free(config);
    return rc;
}

const strata_cmd_entry strata_cmd_notify_outbox = {
    .name = "notify outbox",
    .usage = "[--all | --state STATE] [--format text|json] [--retry ID]",
    .summary = "List notifications waiting, being sent or dead-lettered.",
    .help = "Reads the outbox of the state database. STATE is pending, "
            "sending, sent\nor dead; without --state or --all, sent messages "
            "are left out.\n--retry ID makes a dead-lettered message pending "
            "again (attempts reset);\nthe daemon sends it on its next "
            "pass.\n",
    .exec = exec_notify_outbox,
};
