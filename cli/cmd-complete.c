/*
 * cmd-complete.c - `strata __complete KIND`, hidden: the names the shell
 * completions offer for an argument, one a line, read from the
 * configuration (-c FILE, else ./strata.yaml) and the golden catalog:
 * sinks (notify[].name), bases (watch.bases[] and the catalog's
 * entries), images (repos[].images[]), builders, scanners and repos.
 * Each name once, in the order the files give them, and nothing on
 * stderr: a completion must not print into the command line.
 *
 * The configuration is loaded and validated as every command loads it.
 * When it does not load, most often because a secret's ${VAR} is set for
 * the daemon but not in this shell, the names are read from its YAML as
 * written instead (a sink without a name is TYPE-N, as the loader names
 * it); a file that does not even parse gives no names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "cli.h"

#define MAX_CONFIG (4 * 1024 * 1024)

static void
put(strata_strmap *seen, const char *name)
{
    if (name == NULL || strata_strmap_has(seen, name))
        return;
    strata_strmap_put(seen, name, (void *) name);
    printf("%s\n", name);
}

/* The names of kind in a loaded configuration (and catalog, or NULL). */
static void
names_loaded(strata_strmap *seen, const char *kind, const strata_config *cfg,
             const strata_catalog *cat)
{
    const strata_config_data *d = strata_config_data_get(cfg);
    size_t i, j;

    if (strcmp(kind, "sinks") == 0) {
        for (i = 0; i < d->n_notify; i++)
            put(seen, d->notify[i].name);
    } else if (strcmp(kind, "bases") == 0) {
        for (i = 0; i < d->watch.n_bases; i++)
            put(seen, d->watch.bases[i].ref);
        for (i = 0; cat != NULL && i < strata_catalog_count(cat); i++)
            put(seen, strata_catalog_get(cat, i)->ref);
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
}

/* ---- the YAML as written, when it does not load ------------------------- */

static yaml_node_t *
get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    yaml_node_pair_t *p;

    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *) k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static const char *
scalar(yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE
               ? (const char *) n->data.scalar.value
               : NULL;
}

/* The i-th item of a sequence node, or NULL. */
static yaml_node_t *
item(yaml_document_t *doc, yaml_node_t *seq, size_t i)
{
    if (seq == NULL || seq->type != YAML_SEQUENCE_NODE ||
        seq->data.sequence.items.start + i >= seq->data.sequence.items.top)
        return NULL;
    return yaml_document_get_node(doc, seq->data.sequence.items.start[i]);
}

/* The keys of a mapping node (builders, scanners). */
static void
put_keys(strata_strmap *seen, yaml_document_t *doc, yaml_node_t *map)
{
    yaml_node_pair_t *p;

    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return;
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++)
        put(seen, scalar(yaml_document_get_node(doc, p->key)));
}

static void
names_written(strata_strmap *seen, const char *kind, const char *path)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root, *n, *m;
    char *text = NULL;
    size_t len = 0, i, j;

    if (strata_read_file(&text, &len, path, MAX_CONFIG, NULL) != 0)
        return;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_parser_delete(&parser);
        free(text);
        return;
    }
    root = yaml_document_get_root_node(&doc);
    if (strcmp(kind, "sinks") == 0) {
        for (i = 0; (n = item(&doc, get(&doc, root, "notify"), i)); i++) {
            const char *name = scalar(get(&doc, n, "name"));
            const char *type = scalar(get(&doc, n, "type"));
            char *dflt = NULL;

            if (name == NULL && type != NULL)
                name = dflt = strata_xasprintf("%s-%zu", type, i + 1);
            put(seen, name);
            free(dflt);
        }
    } else if (strcmp(kind, "bases") == 0) {
        for (i = 0;
             (n = item(&doc, get(&doc, get(&doc, root, "watch"), "bases"), i));
             i++)
            put(seen, scalar(get(&doc, n, "ref")));
    } else if (strcmp(kind, "images") == 0) {
        for (i = 0; (n = item(&doc, get(&doc, root, "repos"), i)); i++)
            for (j = 0; (m = item(&doc, get(&doc, n, "images"), j)); j++)
                put(seen, scalar(get(&doc, m, "name")));
    } else if (strcmp(kind, "builders") == 0 || strcmp(kind, "scanners") == 0) {
        put_keys(seen, &doc, get(&doc, root, kind));
    } else {
        for (i = 0; (n = item(&doc, get(&doc, root, "repos"), i)); i++)
            put(seen, scalar(get(&doc, n, "url")));
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(text);
}

static int
exec_complete(strata_cmd_ctx *ctx)
{
    static const char *const kinds[] = {"sinks",    "bases",    "images",
                                        "builders", "scanners", "repos"};
    const char *kind = strata_args_arg(ctx->args, 0);
    const char *catalog = strata_args_get(ctx->args, "catalog");
    strata_config *cfg = NULL;
    strata_catalog *cat = NULL;
    strata_strmap *seen;
    size_t i;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kind, kinds[i]) == 0)
            break;
    if (i == sizeof(kinds) / sizeof(kinds[0]))
        return strata_cmd_usage_error(ctx,
                                      "unknown kind '%s' (sinks, bases, "
                                      "images, builders, scanners, repos)",
                                      kind);
    seen = strata_strmap_new();
    if (strata_config_load_or_default(&cfg, ctx->cli->config_path,
                                      ctx->cli->config_explicit, NULL,
                                      NULL) == 0) {
        if (catalog == NULL)
            catalog = strata_config_data_get(cfg)->catalog;
        if (strcmp(kind, "bases") == 0 && catalog != NULL)
            (void) strata_catalog_load(&cat, catalog, NULL, NULL);
        names_loaded(seen, kind, cfg, cat);
    } else {
        names_written(seen, kind, ctx->cli->config_path);
    }
    strata_catalog_free(cat);
    strata_config_free(cfg);
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
    .exec = exec_complete,
    .hidden = 1,
};
