/*
 * poller-config.c - from a loaded configuration to a running watcher: the
 * watch section becomes watcher options, registries[] become the registry
 * client's per-host options (credentials revealed only here, to hand them
 * to the client) and per-registry concurrency limits, and watch.bases[]
 * become watches, as do the golden catalog's entries; every watch takes the
 * signature policy that the configuration and the catalog give its
 * reference (strata_config_verify_for). A registry the configuration gives no
 * credentials gets those of the Docker client config (credHelpers, credsStore,
 * auths), if any: configured credentials take precedence. Credential helpers
 * are named to the registry client, which asks them when it needs to.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "watchers-int.h"

void
strata_watcher_options_from_config(strata_watcher_options *opts,
                                   const struct strata_config *config)
{
    const strata_config_data *d = strata_config_data_get(config);

    opts->interval_ms = d->watch.interval_ms;
    opts->jitter_percent = d->watch.jitter_percent;
    opts->jitter_ms = d->watch.jitter_ms;
    opts->settle_ms = d->watch.settle_ms;
}

/*
 * Fills o's credentials for domain from the Docker client config: an
 * "auths" entry's, or the credential helper to ask, which the registry
 * client then runs on the loop when it needs them (never while
 * configuring, so a reload does not wait for helpers). The strings in
 * *creds and *helper are the caller's to release after set_host.
 */
static void
docker_creds(strata_registry_opts *o, strata_registry_creds *creds,
             char **helper, const char *domain)
{
    strata_error e = {0};

    if (strata_docker_config_lookup(creds, helper, NULL, domain, &e) != 0) {
        log_warn("registry '%s': no credentials from the docker config: %s",
                 domain, e.msg);
        return;
    }
    o->username = creds->username;
    o->password = creds->password;
    o->identity_token = creds->identity_token;
    o->cred_helper = *helper;
}

/* Whether the configuration has a registries[] entry for domain. */
static int
configured(const strata_config_data *d, const char *domain)
{
    size_t i;

    for (i = 0; i < d->n_registries; i++)
        if (strcasecmp(d->registries[i].host, domain) == 0)
            return 1;
    return 0;
}

/* Docker config credentials for watched registries not configured. */
static void
configure_unlisted(strata_watcher *w, const strata_config_data *d,
                   const strata_registry_opts *base)
{
    strata_strmap *seen = strata_strmap_new();
    size_t i;

    for (i = 0; i < d->watch.n_bases; i++) {
        const strata_config_base *b = &d->watch.bases[i];
        strata_registry_creds creds = {0};
        strata_registry_opts o = {0};
        strata_ref *ref = NULL;
        char *helper = NULL;
        const char *domain;

        if (strata_ref_parse(&ref, b->has_policy ? b->name : b->ref, NULL) != 0)
            continue; /* strata_watcher_add reports it */
        domain = strata_ref_domain(ref);
        if (!configured(d, domain) && !strata_strmap_has(seen, domain)) {
            strata_strmap_put(seen, domain, (void *) 1);
            if (base != NULL)
                o = *base;
            docker_creds(&o, &creds, &helper, domain);
            if (o.username != NULL || o.identity_token != NULL ||
                o.cred_helper != NULL)
                strata_registry_set_host(w->registry, domain, &o);
            strata_registry_creds_release(&creds);
            free(helper);
        }
        strata_ref_free(ref);
    }
    strata_strmap_free(seen);
}

/* The golden catalog's entries become watches too (their keys resolved). */
static int
add_catalog(strata_watcher *w, const strata_config_data *d,
            const strata_catalog *cat, strata_error *err)
{
    size_t i;

    for (i = 0; i < strata_catalog_count(cat); i++) {
        const strata_catalog_entry *e = strata_catalog_get(cat, i);
        strata_watcher_spec spec = {0};

        spec.ref = e->ref;
        spec.semver = e->semver;
        spec.suffix = e->suffix;
        if (strata_watcher_add(NULL, w, &spec, err) != 0)
            return strata_error_wrap(err, "%s:%d:%d",
                                     d->catalog ? d->catalog : "catalog",
                                     e->line, e->col);
    }
    return 0;
}

int
strata_watcher_configure(strata_watcher *w, const struct strata_config *config,
                         const strata_registry_opts *base, strata_error *err)
{
    return strata_watcher_configure_catalog(w, config, NULL, base, err);
}

int
strata_watcher_configure_catalog(strata_watcher *w,
                                 const struct strata_config *config,
                                 const struct strata_catalog *catalog,
                                 const strata_registry_opts *base,
                                 strata_error *err)
{
    const strata_config_data *d = strata_config_data_get(config);
    strata_error perr = {0};
    size_t i;
    int rc, prc;

    for (i = 0; i < d->n_registries; i++) {
        const strata_config_registry *r = &d->registries[i];
        strata_registry_creds creds = {0};
        strata_registry_opts o = {0};
        char *helper = NULL;

        if (base != NULL)
            o = *base;
        strata_config_registry_opts(&o, r);
        if (o.password == NULL)
            docker_creds(&o, &creds, &helper, r->host);
        strata_registry_set_host(w->registry, r->host, &o);
        strata_registry_creds_release(&creds);
        free(helper);
        strata_watcher_set_host_limit(w, r->host, r->max_concurrency);
    }
    configure_unlisted(w, d, base);
    /*
     * Every watch, however it is added (here, the catalog, the graph's
     * bases), takes the policy config and catalog give its reference;
     * watches already there take the new one (a reload).
     */
    prc = strata_watcher__gates_reconfigure(w, d, catalog, &perr);
    /*
     * Every watch is recorded in the store: in one transaction, not one
     * each (10,000 bases: 10,000 commits, each a WAL write and lock round).
     */
    if ((rc = strata_store_begin(w->store, err)) != 0)
        return rc;
    for (i = 0; i < d->watch.n_bases; i++) {
        const strata_config_base *b = &d->watch.bases[i];
        strata_watcher_spec spec = {0};

        spec.ref = b->has_policy ? b->name : b->ref;
        spec.semver = b->policy.semver;
        spec.suffix = b->policy.suffix;
        spec.regex = b->policy.regex;
        spec.interval_ms = b->interval_ms;
        spec.platforms = b->platforms.items;
        spec.nplatforms = b->platforms.count;
        if ((rc = strata_watcher_add(NULL, w, &spec, err)) != 0) {
            strata_store_rollback(w->store);
            return strata_error_wrap(err, "%s:%d:%d: watch '%s'", d->file,
                                     b->pos.line, b->pos.col, b->ref);
        }
    }
    if ((rc = add_catalog(w, d, catalog, err)) != 0) {
        strata_store_rollback(w->store);
        return rc;
    }
    if ((rc = strata_store_commit(w->store, err)) != 0) {
        strata_store_rollback(w->store);
        return rc;
    }
    if (prc != 0)
        return strata_error_set(err, prc, "%s", perr.msg);
    return 0;
}
