/*
 * cmd-complete.c - `strata __complete KIND`, hidden: the names the shell
 * completions offer for an argument, one a line, read from the
 * configuration (-c FILE, else ./strata.yaml) and the golden catalog:
 * sinks (notify[].name), bases (watch.bases[] and the catalog's
 * entries), images (repos[].images[]), builders, scanners and repos.
 * Each name once, in the order the files give them. A configuration that
 * does not load prints its problems and exits 2, like any command; the
 * completions discard that and offer nothing.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void
put(strata_strmap *seen, const char *name)
{
    if (name == NULL || strata_strmap_has(seen, name))
        return;
    strata_strmap_put(seen, name, (void *) name);
    printf("%s\n", name);
}

static int
exec_complete(strata_cmd_ctx *ctx)
{
    const strata_config_data *d = strata_config_data_get(ctx->config);
    const char *kind = strata_args_arg(ctx->args, 0);
    static const char *const kinds[] = {"sinks",    "bases",    "images",
                                        "builders", "scanners", "repos"};
    strata_strmap *seen;
    size_t i, j;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kind, kinds[i]) == 0)
            break;
    if (i == sizeof(kinds) / sizeof(kinds[0]))
        return strata_cmd_usage_error(ctx,
                                      "unknown kind '%s' (sinks, bases, "
                                      "images, builders, scanners, repos)",
                                      kind);
    seen = strata_strmap_new();
    if (strcmp(kind, "sinks") == 0) {
        for (i = 0; i < d->n_notify; i++)
            put(seen, d->notify[i].name);
    } else if (strcmp(kind, "bases") == 0) {
        for (i = 0; i < d->watch.n_bases; i++)
            put(seen, d->watch.bases[i].ref);
        for (i = 0;
             ctx->catalog != NULL && i < strata_catalog_count(ctx->catalog);
             i++)
            put(seen, strata_catalog_get(ctx->catalog, i)->ref);
    } else if (strcmp(kind, "images") == 0) {
        for (i = 0; i < d->n_repos; i++)
            for (j = 0; j < d->repos[i].n_images; j++)
                put(seen, d->repos[i].images[j].name);
    } else if (strcmp(kind, "builders") == 0) {
        for (i = 0; i < d->n_builders; i++)
            put(seen, d->builders[i].name);
    } else if (strcmp(kind, "scanners") == 0) {
        for (i = 0; i < d->n_scanners; i++)
            put(seen, d->scanners[i].name);
    } else {
        for (i = 0; i < d->n_repos; i++)
            put(seen, d->repos[i].url);
    }
    strata_strmap_free(seen);
    return fflush(stdout) == 0 ? STRATA_EXIT_OK : STRATA_EXIT_PROBLEM;
}

static const strata_cmd_opt complete_opts[] = {
    {"catalog", 0, STRATA_OPT_VALUE, "FILE", NULL,
     "the golden catalog (default: the configuration's 'catalog')"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_complete = {
    .name = "__complete",
    .summary = "Print the configured names of one kind, for the shell "
               "completions.",
    .opts = complete_opts,
    .args = "KIND",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .catalog = STRATA_CMD_CATALOG_OPTIONAL,
    .exec = exec_complete,
    .hidden = 1,
};
