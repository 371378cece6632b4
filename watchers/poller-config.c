/*
 * poller-config.c - from a loaded configuration to a running watcher: the
 * watch section becomes watcher options, registries[] become the registry
 * client's per-host options (credentials revealed only here, to hand them
 * to the client) and per-registry concurrency limits, and watch.bases[]
 * become watches.
 */
#include <string.h>

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

int
strata_watcher_configure(strata_watcher *w, const struct strata_config *config,
                         const strata_registry_opts *base, strata_error *err)
{
    const strata_config_data *d = strata_config_data_get(config);
    size_t i;
    int rc;

    for (i = 0; i < d->n_registries; i++) {
        const strata_config_registry *r = &d->registries[i];
        strata_registry_opts o = {0};

        if (base != NULL)
            o = *base;
        o.username = r->username;
        /* A token (a personal access token) is sent as the password. */
        o.password = r->password ? strata_secret_reveal(r->password)
                     : r->token  ? strata_secret_reveal(r->token)
                                 : NULL;
        if (o.password != NULL && o.username == NULL)
            o.username = "strata";
        o.insecure = r->insecure;
        o.ca_file = r->ca_file;
        strata_registry_set_host(w->registry, r->host, &o);
        strata_watcher_set_host_limit(w, r->host, r->max_concurrency);
    }
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
        if ((rc = strata_watcher_add(NULL, w, &spec, err)) != 0)
            return strata_error_wrap(err, "%s:%d:%d: watch '%s'", d->file,
                                     b->pos.line, b->pos.col, b->ref);
    }
    return 0;
}
