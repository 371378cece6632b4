/*
 * cmd-discover.c - `strata discover`: lists what each `discover:` entry
 * of the configuration finds on its forge, and why each repository left
 * out was left out. The state store keeps the listings' ETags, so a
 * listing that did not change costs a conditional request; nothing else
 * is written (what the daemon records and forgets is its own business).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "forge.h"

static const strata_cmd_opt discover_opts[] = {
    {"format", 0, STRATA_OPT_VALUE, "FORMAT", "text|json",
     "text (default) or json"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static int
cache_get(char **etag, char **body, const char *key, void *arg)
{
    return strata_store_discover_cache_get(etag, body, arg, key, NULL);
}

static int
cache_put(const char *key, const char *etag, const char *body, void *arg)
{
    return strata_store_discover_cache_put(arg, key, etag, body, NULL);
}

static json_t *
found_json(const strata_forge_found *f)
{
    return json_pack("{s:s, s:s, s:s?, s:s, s:b, s:b, s:b, s:b, s:s?}",
                     "full_name", f->full_name, "clone_url", f->clone_url,
                     "default_branch", f->default_branch, "visibility",
                     f->visibility, "archived", f->archived, "fork", f->fork,
                     "empty", f->empty, "taken", f->reason == NULL, "reason",
                     f->reason);
}

static void
print_text(const char *source, const strata_forge_discovery *d)
{
    size_t i;

    printf("%s: %zu repositories, %zu taken (%u requests, %u not "
           "modified",
           source, d->n, strata_forge_discovery_taken(d), d->requests,
           d->not_modified);
    if (d->rate_remaining >= 0)
        printf("; rate limit %ld/%ld left", d->rate_remaining, d->rate_limit);
    printf(")\n");
    for (i = 0; i < d->n; i++) {
        const strata_forge_found *f = &d->repos[i];

        if (f->reason == NULL)
            printf("  + %s  %s  %s\n", f->full_name,
                   f->default_branch ? f->default_branch : "(empty)",
                   f->clone_url);
    }
    for (i = 0; i < d->n; i++) {
        const strata_forge_found *f = &d->repos[i];

        if (f->reason != NULL)
            printf("  - %s  %s\n", f->full_name, f->reason);
    }
}

static int
exec_discover(strata_cmd_ctx *ctx)
{
    const strata_config_data *cfg = strata_config_data_get(ctx->config);
    const char *format = strata_args_get(ctx->args, "format");
    int json = format != NULL && strcmp(format, "json") == 0;
    json_t *out = json_pack("{s:[]}", "sources");
    strata_store *st = NULL;
    strata_error err = {0};
    int failed = 0;
    size_t i, j;

    if (cfg->n_discover == 0) {
        if (json)
            printf("{\"sources\": []}\n");
        else
            printf("no discover entries in '%s'\n", cfg->file);
        json_decref(out);
        return 0;
    }
    if (strata_cmd_open_store(&st, ctx, &err) != 0) {
        json_decref(out);
        return strata_cmd_fail(&err);
    }
    for (i = 0; i < cfg->n_discover; i++) {
        const strata_config_discover *e = &cfg->discover[i];
        strata_forge_discover_cache cache = {cache_get, cache_put, st};
        strata_forge_discover_spec spec;
        strata_forge_discovery *d = NULL;
        strata_forge_app *app = NULL;
        char *source = strata_forge_discover_source(e);
        json_t *src;

        memset(&err, 0, sizeof(err));
        strata_forge_discover_spec_for(&spec, e, NULL);
        if (strata_forge_app_for(&app, e, &err) == 0) {
            spec.app = app;
            strata_forge_discover(&d, &spec, &cache, &err);
        }
        if (d == NULL) {
            fprintf(stderr, "strata: discover '%s': %s\n", source, err.msg);
            json_array_append_new(
                json_object_get(out, "sources"),
                json_pack("{s:s, s:s}", "source", source, "error", err.msg));
            failed = 1;
        } else {
            src =
                json_pack("{s:s, s:i, s:i, s:b, s:[]}", "source", source,
                          "requests", (int) d->requests, "not_modified",
                          (int) d->not_modified, "reused", d->reused, "repos");
            if (d->rate_remaining >= 0)
                json_object_set_new(src, "rate_remaining",
                                    json_integer(d->rate_remaining));
            for (j = 0; j < d->n; j++)
                json_array_append_new(json_object_get(src, "repos"),
                                      found_json(&d->repos[j]));
            json_array_append_new(json_object_get(out, "sources"), src);
            if (!json)
                print_text(source, d);
        }
        strata_forge_discovery_free(d);
        strata_forge_app_free(app);
        free(source);
    }
    if (json) {
        char *s = json_dumps(out, JSON_INDENT(2));

        printf("%s\n", s);
        free(s);
    }
    json_decref(out);
    strata_store_close(st);
    return failed ? 1 : 0;
}

const strata_cmd_entry strata_cmd_discover = {
    .name = "discover",
    .summary = "List the repositories the discover entries find on the "
               "forges.",
    .help = "Lists each `discover:` entry's repositories on its forge (a "
            "GitHub\norganisation, user or App installation, a GitLab group, "
            "a Gitea\norganisation): those taken, with their default branch "
            "and clone URL,\nand those left out, with the reason (archived, a "
            "fork, empty, a\nvisibility or topic filter, an include or exclude "
            "glob). Listings are\nasked conditionally with the ETags kept in "
            "the state store. Exit 1 when\nan entry could not be listed.\n",
    .opts = discover_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_discover,
};
