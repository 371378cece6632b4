/*
 * discover.c - the `discover:` entries: the rules that join their keys
 * (one source each, the keys its forge has), their forge defaults from
 * `forges:` (resolved once the whole file is read), and secrets made at
 * run time (a GitHub App's installation token) for the repositories
 * discovery finds.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-int.h"

int
strata_config__validate_digits(strata_config__ctx *ctx, const yaml_node_t *node,
                               const strata_config__field *f, const char *v,
                               int tainted)
{
    const char *p = v;

    while (isdigit((unsigned char) *p))
        p++;
    if (*v == '\0' || *p != '\0' || p - v > 19) {
        strata_config__at(ctx, node, "'%s' must be a number (an id)%s%s%s",
                          f->key, tainted ? "" : ", not '", tainted ? "" : v,
                          tainted ? "" : "'");
        return -1;
    }
    return 0;
}

static const yaml_node_t *
key_or(strata_config__ctx *ctx, const yaml_node_t *node, const char *key)
{
    const yaml_node_t *v = strata_config__lookup(ctx, node, key);

    return v != NULL ? v : node;
}

void
strata_config__check_discover(strata_config__ctx *ctx, void *obj,
                              const yaml_node_t *node)
{
    strata_config_discover *d = obj;
    const yaml_node_t *app = strata_config__lookup(ctx, node, "app");
    const char *forge = strata_config__forge_names[d->forge];
    int sources = (d->org != NULL) + (d->user != NULL) + (d->group != NULL) +
                  (app != NULL);

    if (d->forge == STRATA_FORGE_NONE) {
        strata_config__at(ctx, key_or(ctx, node, "forge"),
                          "discover needs a forge: 'github', 'gitlab' or "
                          "'gitea'");
        return;
    }
    if (sources != 1) {
        strata_config__at(ctx, node,
                          "a discover entry names exactly one of 'org', "
                          "'user', 'group' or 'app' (found %d)",
                          sources);
        return;
    }
    if (d->user != NULL && d->forge != STRATA_FORGE_GITHUB)
        strata_config__at(ctx, key_or(ctx, node, "user"),
                          "'user' is for forge 'github', not '%s'", forge);
    if (app != NULL && d->forge != STRATA_FORGE_GITHUB)
        strata_config__at(ctx, app, "'app' is for forge 'github', not '%s'",
                          forge);
    if (d->group != NULL && d->forge != STRATA_FORGE_GITLAB)
        strata_config__at(ctx, key_or(ctx, node, "group"),
                          "'group' is for forge 'gitlab' (use 'org' for "
                          "'%s')",
                          forge);
    if (d->org != NULL && d->forge == STRATA_FORGE_GITLAB)
        strata_config__at(ctx, key_or(ctx, node, "org"),
                          "forge 'gitlab' lists a 'group', not an 'org'");
    if (!strata_config__is_null(
            strata_config__lookup(ctx, node, "include_subgroups")) &&
        d->forge != STRATA_FORGE_GITLAB)
        strata_config__at(ctx, key_or(ctx, node, "include_subgroups"),
                          "'include_subgroups' is for forge 'gitlab'");
    if (app != NULL &&
        (d->app_id == NULL || d->installation == NULL || d->app_key == NULL))
        strata_config__at(ctx, app,
                          "'app' needs 'id', 'installation' and "
                          "'private_key' (or 'private_key_file')");
    if (app != NULL && d->token != NULL)
        strata_config__at(ctx, key_or(ctx, node, "token"),
                          "an 'app' entry authenticates as the app: drop "
                          "'token'");
    if (strata_config__is_null(
            strata_config__lookup(ctx, node, "on_base_update")))
        d->on_base_update = STRATA_ACTION_PR;
}

void
strata_config__resolve_discover(strata_config__ctx *ctx,
                                strata_config_data *data,
                                const yaml_node_t *root)
{
    const yaml_node_t *sec = strata_config__lookup(ctx, root, "discover");
    size_t i;

    for (i = 0; i < data->n_discover; i++) {
        strata_config_discover *d =
            (strata_config_discover *) &data->discover[i];
        const strata_config_forge *f = NULL;

        if (d->forge == STRATA_FORGE_GITHUB)
            f = &data->forges.github;
        else if (d->forge == STRATA_FORGE_GITLAB)
            f = &data->forges.gitlab;
        else if (d->forge == STRATA_FORGE_GITEA)
            f = &data->forges.gitea;
        if (f == NULL)
            continue;
        if (d->api_url == NULL)
            d->api_url = f->api_url;
        if (d->token == NULL && d->app_id == NULL)
            d->token = f->token;
        if (d->api_url == NULL)
            strata_config__at(ctx, strata_config__item(ctx, sec, i),
                              "forge 'gitea' needs 'api_url' (in the "
                              "discover entry or in forges.gitea)");
    }
}

strata_secret *
strata_secret_new(const char *value, const char *source)
{
    strata_secret *s = strata_xcalloc(1, sizeof(*s));

    s->len = strlen(value);
    s->value = strata_xstrdup(value);
    s->source = strata_xstrdup(source);
    return s;
}

void
strata_secret_free(strata_secret *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s->value, s->len);
    free(s->value);
    free((char *) s->source);
    free(s);
}

static const char *
dup_or_null(strata_config *cfg, const char *s)
{
    return s != NULL ? strata_config__strdup(cfg, s) : NULL;
}

static const strata_secret *
secret_copy(strata_config *cfg, const strata_secret *s)
{
    return s != NULL ? strata_config__secret(cfg, s->value, s->len, s->source)
                     : NULL;
}

/* The length of url without a trailing "/" or ".git". */
static size_t
url_stem(const char *url)
{
    size_t n = strlen(url);

    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n > 4 && strncmp(url + n - 4, ".git", 4) == 0)
        n -= 4;
    return n;
}

/* One repository: the same URL (give or take ".git" and a trailing
 * slash), or the same OWNER/NAME on the same forge. */
static int
same_repo(const strata_config_repo *a, const strata_config_repo *b)
{
    size_t n = url_stem(a->url);

    if (n == url_stem(b->url) && strncmp(a->url, b->url, n) == 0)
        return 1;
    return a->forge != STRATA_FORGE_NONE && a->forge == b->forge &&
           a->forge_repo != NULL && b->forge_repo != NULL &&
           strcasecmp(a->forge_repo, b->forge_repo) == 0 &&
           (a->forge_api_url == NULL || b->forge_api_url == NULL ||
            strcmp(a->forge_api_url, b->forge_api_url) == 0);
}

static int
listed(const strata_config_repo *repos, size_t n, const strata_config_repo *r)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (same_repo(&repos[i], r))
            return 1;
    return 0;
}

int
strata_config_derive(strata_config **out, strata_config *base,
                     const strata_config_repo *extra, size_t n,
                     strata_error *err)
{
    strata_config *cfg = strata_xcalloc(1, sizeof(*cfg));
    strata_config_repo *repos;
    size_t i, k;

    (void) err;
    cfg->data = base->data;
    cfg->parent = base;
    base->refs++;
    repos = strata_config__alloc(cfg,
                                 (base->data.n_repos + n + 1) * sizeof(*repos));
    for (k = 0; k < base->data.n_repos; k++)
        repos[k] = base->data.repos[k];
    for (i = 0; i < n; i++) {
        strata_config_repo *r = &repos[k];

        /* A configured repository keeps its entry; two discover
         * entries that find one repository make one record. */
        if (extra[i].url == NULL || listed(repos, k, &extra[i]))
            continue;
        *r = extra[i];
        r->url = strata_config__strdup(cfg, extra[i].url);
        r->branch = dup_or_null(cfg, extra[i].branch);
        r->username = dup_or_null(cfg, extra[i].username);
        r->forge_repo = dup_or_null(cfg, extra[i].forge_repo);
        r->forge_api_url = dup_or_null(cfg, extra[i].forge_api_url);
        r->token = secret_copy(cfg, extra[i].token);
        r->fetch_url = secret_copy(cfg, extra[i].fetch_url);
        k++;
    }
    cfg->data.repos = repos;
    cfg->data.n_repos = k;
    cfg->data.index = NULL;
    strata_config__index_build(cfg);
    *out = cfg;
    return 0;
}

strata_config *
strata_config_ref(strata_config *config)
{
    config->refs++;
    return config;
}
