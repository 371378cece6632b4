/*
 * cmd-jobs.c - `strata jobs` and `strata events`: the job queue and the
 * event log as the store has them, as text or JSON, newest last.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct list_args {
    int json;
    const char *filter; /* --state or --type */
    int limit;
} list_args;

static int
parse_args(list_args *a, const strata_cmd_entry *cmd, const char *filter_opt,
           int argc, char **argv)
{
    int i;

    a->limit = 200;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc &&
            (strcmp(argv[i + 1], "json") == 0 ||
             strcmp(argv[i + 1], "text") == 0))
            a->json = strcmp(argv[++i], "json") == 0;
        else if (strcmp(argv[i], filter_opt) == 0 && i + 1 < argc)
            a->filter = argv[++i];
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc &&
                 atoi(argv[i + 1]) > 0)
            a->limit = atoi(argv[++i]);
        else {
            strata_cmd_usage(cmd, stderr);
            return STRATA_EXIT_USAGE;
        }
    }
    return 0;
}

static void
print_json(json_t *items)
{
    char *s = json_dumps(items, JSON_INDENT(2));

    printf("%s\n", s);
    free(s);
}

static int
exec_jobs(strata_cli *cli, int argc, char **argv)
{
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_error err = {0};
    strata_store_job_state state;
    list_args a = {0};
    json_t *items = NULL, *j;
    size_t i;
    int rc;

    if ((rc = parse_args(&a, &strata_cmd_jobs, "--state", argc, argv)) != 0)
        return rc;
    if (a.filter != NULL && strata_store_job_state_parse(&state, a.filter)) {
        fprintf(stderr, "strata: unknown job state '%s'\n", a.filter);
        return STRATA_EXIT_USAGE;
    }
    if (strata_cmd_open_store(&st, &config, cli, &err) != 0 ||
        strata_store_job_list(&items, st, 0, a.limit,
                              a.filter ? (int) state : -1, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (a.json)
        print_json(items);
    json_array_foreach (items, i, j) {
        if (a.json)
            break;
        printf("%-5lld %-9s %-8s wave %lld  %s  (attempts %lld)%s%s\n",
               json_integer_value(json_object_get(j, "id")),
               json_string_value(json_object_get(j, "state")),
               json_string_value(json_object_get(j, "action")),
               json_integer_value(json_object_get(j, "wave")) + 1,
               json_string_value(json_object_get(j, "image")),
               json_integer_value(json_object_get(j, "attempts")),
               json_string_value(json_object_get(j, "last_error")) ? ": " : "",
               json_string_value(json_object_get(j, "last_error"))
                   ? json_string_value(json_object_get(j, "last_error"))
                   : "");
    }
    if (!a.json)
        strata_cmd_print_held(st);
out:
    json_decref(items);
    strata_store_close(st);
    strata_config_free(config);
    return rc;
}

static int
exec_events(strata_cli *cli, int argc, char **argv)
{
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_error err = {0};
    list_args a = {0};
    json_t *items = NULL, *e;
    size_t i;
    int rc;

    if ((rc = parse_args(&a, &strata_cmd_events, "--type", argc, argv)) != 0)
        return rc;
    if (strata_cmd_open_store(&st, &config, cli, &err) != 0 ||
        strata_store_event_list(&items, st, 0, a.limit, a.filter, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (a.json)
        print_json(items);
    json_array_foreach (items, i, e) {
        char when[32];

        if (a.json)
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
    strata_config_free(config);
    return rc;
}

const strata_cmd_entry strata_cmd_jobs = {
    .name = "jobs",
    .usage = "[--state STATE] [--limit N] [--format text|json]",
    .summary = "List jobs (queued, running, succeeded, failed, cancelled).",
    .help = NULL,
    .exec = exec_jobs,
};

const strata_cmd_entry strata_cmd_events = {
    .name = "events",
    .usage = "[--type TYPE] [--limit N] [--format text|json]",
    .summary = "List recorded events (base.updated, rebuild.*, pr.*, ...).",
    .help = NULL,
    .exec = exec_events,
};
