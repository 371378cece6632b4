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

static int
exec_plan(strata_cli *cli, int argc, char **argv)
{
    strata_config_problems *problems = strata_config_problems_new();
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_graph *g = NULL;
    json_t *plan = NULL, *queued = NULL, *u, *w, *h;
    strata_error err = {0};
    size_t i, j, k;
    int json = 0, rc;

    for (i = 1; i < (size_t) argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < (size_t) argc &&
            (strcmp(argv[i + 1], "json") == 0 ||
             strcmp(argv[i + 1], "text") == 0)) {
            json = strcmp(argv[++i], "json") == 0;
        } else {
            strata_cmd_usage(&strata_cmd_plan, stderr);
            strata_config_problems_free(problems);
            return STRATA_EXIT_USAGE;
        }
    }
    if ((rc = strata_config_load_or_default(&config, cli->config_path,
                                            cli->config_explicit, problems,
                                            &err)) != 0) {
        for (i = 0; i < strata_config_problems_count(problems); i++)
            fprintf(stderr, "%s\n",
                    strata_config_problems_get(problems, i)->text);
        goto fail;
    }
    if (strata_store_open(&st, strata_config_data_get(config)->state, &err) !=
            0 ||
        strata_graph_load(&g, st, &err) != 0 ||
        strata_plan_updates(&plan, st, g, strata_config_data_get(config), 1,
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
    strata_config_free(config);
    strata_config_problems_free(problems);
    return rc;
}

const strata_cmd_entry strata_cmd_plan = {
    .name = "plan",
    .usage = "[--format text|json]",
    .summary = "Show what the daemon would do now, changing nothing.",
    .help = "Plans the recorded base updates as a dry run (first sightings, "
            "updates\nstill soaking, and the jobs a due update would "
            "enqueue, wave by wave),\nand lists the jobs already queued.\n",
    .exec = exec_plan,
};
