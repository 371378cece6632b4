/*
 * fleet.c - a configuration's discover entries run against the store:
 * the entry turned into a listing spec (its forge defaults, its App), the
 * store as the ETag cache, the repositories it took recorded under the
 * entry's source key, those it took before and no longer does forgotten
 * (their graph edges and scan state dropped; their pull requests left
 * alone), and the repositories it takes turned into repository records
 * that strata_config_derive() adds to a configuration.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "forge-int.h"
#include "store.h"

char *
strata_forge_discover_source(const strata_config_discover *e)
{
    const char *forge = strata_config_forge_name(e->forge);

    if (e->app_id != NULL)
        return strata_xasprintf("%s app %s installation %s", forge, e->app_id,
                                e->installation);
    if (e->group != NULL)
        return strata_xasprintf("%s group %s%s", forge, e->group,
                                e->include_subgroups ? "" : " (top)");
    if (e->user != NULL)
        return strata_xasprintf("%s user %s", forge, e->user);
    return strata_xasprintf("%s org %s at %s", forge, e->org,
                            e->api_url ? e->api_url : "default");
}

static int
store_get(char **etag, char **body, const char *key, void *arg)
{
    return strata_store_discover_cache_get(etag, body, arg, key, NULL);
}

static int
store_put(const char *key, const char *etag, const char *body, void *arg)
{
    return strata_store_discover_cache_put(arg, key, etag, body, NULL);
}

int
strata_forge_app_for(strata_forge_app **app, const strata_config_discover *e,
                     strata_error *err)
{
    const char *pem;

    if (e->app_id == NULL || *app != NULL)
        return 0;
    pem = strata_secret_reveal(e->app_key);
    return strata_forge_app_new(app, e->app_id, e->installation, pem,
                                pem ? strlen(pem) : 0, err);
}

void
strata_forge_discover_spec_for(strata_forge_discover_spec *out,
                               const strata_config_discover *e,
                               strata_forge_app *app)
{
    strata_forge_discover_spec s = {0};

    s.be = strata_forge_lookup(strata_config_forge_name(e->forge));
    s.kind = e->app_id != NULL  ? STRATA_DISCOVER_INSTALLATION
             : e->group != NULL ? STRATA_DISCOVER_GROUP
             : e->user != NULL  ? STRATA_DISCOVER_USER
                                : STRATA_DISCOVER_ORG;
    s.name = e->group ? e->group : e->user ? e->user : e->org;
    s.include_subgroups = e->include_subgroups;
    s.opts.api_url = e->api_url;
    s.opts.token = e->token ? strata_secret_reveal(e->token) : NULL;
    s.app = app;
    s.include = e->include.items;
    s.ninclude = e->include.count;
    s.exclude = e->exclude.items;
    s.nexclude = e->exclude.count;
    s.topics = e->topics.items;
    s.ntopics = e->topics.count;
    s.visibility = e->visibility;
    s.archived = e->archived;
    s.forks = e->forks;
    s.empty = e->empty;
    *out = s;
}

int
strata_forge_discover_entry(strata_forge_discovery **out, char ***out_gone,
                            strata_store *st, const strata_config_discover *e,
                            strata_forge_app *app, strata_error *err)
{
    strata_forge_discover_spec s = {0};
    strata_forge_discover_cache cache = {store_get, store_put, st};
    strata_forge_discovery *d = NULL;
    char *source = strata_forge_discover_source(e);
    json_t *before = NULL, *r;
    char **gone = NULL;
    size_t ngone = 0, i, j;
    int rc;

    *out = NULL;
    if (out_gone != NULL)
        *out_gone = NULL;
    strata_forge_discover_spec_for(&s, e, app);
    if (s.kind == STRATA_DISCOVER_INSTALLATION && app == NULL) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "discover '%s': no app credentials", source);
        goto out;
    }
    if ((rc = strata_forge_discover(&d, &s, &cache, err)) != 0)
        goto out;
    if ((rc = strata_store_discovered_list(&before, st, source, err)) != 0)
        goto out;
    /* What it took before and does not now: forgotten. */
    json_array_foreach (before, i, r) {
        const char *url = json_string_value(json_object_get(r, "url"));

        for (j = 0; j < d->n; j++)
            if (d->repos[j].reason == NULL &&
                strcmp(d->repos[j].clone_url, url) == 0)
                break;
        if (j < d->n)
            continue;
        if ((rc = strata_store_discovered_forget(st, url, err)) != 0)
            goto out;
        gone = strata_xrealloc(gone, (ngone + 2) * sizeof(*gone));
        gone[ngone++] = strata_xstrdup(url);
        gone[ngone] = NULL;
    }
    for (j = 0; j < d->n; j++) {
        const strata_forge_found *f = &d->repos[j];

        if (f->reason == NULL && (rc = strata_store_discovered_add(
                                      st, source, f->clone_url, f->full_name,
                                      f->default_branch, err)) != 0)
            goto out;
    }
    *out = d;
    d = NULL;
    if (out_gone != NULL) {
        *out_gone = gone;
        gone = NULL;
    }
out:
    for (i = 0; gone != NULL && gone[i] != NULL; i++)
        free(gone[i]);
    free(gone);
    json_decref(before);
    strata_forge_discovery_free(d);
    free(source);
    return rc;
}

int
strata_forge_discover_records(strata_config_repo **out, size_t *n,
                              const strata_config_data *cfg,
                              const strata_config_discover *e,
                              const strata_forge_discovery *d,
                              const strata_secret *token)
{
    size_t i, k = *n;

    *out = strata_xrealloc(*out, (k + d->n + 1) * sizeof(**out));
    for (i = 0; i < d->n; i++) {
        const strata_forge_found *f = &d->repos[i];
        strata_config_repo *r = &(*out)[k];

        if (f->reason != NULL)
            continue;
        memset(r, 0, sizeof(*r));
        r->url = f->clone_url;
        r->branch = f->default_branch ? f->default_branch : "main";
        r->token = token;
        /* GitHub installation tokens clone as x-access-token; GitLab's
         * group access tokens as oauth2. */
        r->username = e->app_id != NULL                 ? "x-access-token"
                      : e->forge == STRATA_FORGE_GITLAB ? "oauth2"
                                                        : NULL;
        r->forge = e->forge;
        r->forge_repo = f->full_name;
        r->forge_api_url = e->api_url;
        r->on_base_update = e->on_base_update;
        r->pr = cfg->pull_requests;
        k++;
    }
    *n = k;
    return 0;
}
