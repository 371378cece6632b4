/*
 * reload.c - SIGHUP: the configuration loaded again and applied
 * whole or not at all (a bad file or catalog, or sinks that cannot be
 * built, keep the running one): watches and their signature policies
 * (from the configuration and the catalog), builders and actions, notification
 * sinks (a new notifier that starts once the old one has stopped, so nothing is
 * sent twice), webhooks, the scan interval, then a rescan. Replaced
 * configurations are freed once nothing can point into them.
 */
#include <stdlib.h>

#include "daemon-int.h"
#include "notify.h"
#include "watchers.h"

/*
 * Frees the configurations reloads replaced once nothing can still point
 * into them: no job running (jobs keep what they took from their
 * environment), no scan under way, no old notifier still closing.
 */
void
strata_daemon__retired_sweep(strata_daemon *d)
{
    size_t i;

    if (d->nretired == 0 || d->scanning || d->notify_closing > 0 ||
        (d->runner != NULL && strata_runner_running(d->runner) > 0))
        return;
    for (i = 0; i < d->nretired; i++)
        strata_config_free(d->retired[i]);
    log_debug("reload: released %zu replaced configuration(s)", d->nretired);
    free(d->retired);
    d->retired = NULL;
    d->nretired = 0;
}

/*
 * After the notifiers being replaced have stopped (their deliveries under
 * way went back to pending), the current one starts and sends what is
 * pending. Starting earlier could send a message twice: start moves
 * "sending" rows back to pending.
 */
static void
on_old_notify_closed(void *arg)
{
    strata_daemon *d = arg;
    strata_error err = {0};

    if (--d->notify_closing > 0 || d->notify == NULL ||
        d->notify != d->notify_unstarted)
        return;
    d->notify_unstarted = NULL;
    if (strata_notify_start(d->notify, &err) != 0)
        log_error("reload: notify: %s", err.msg);
    strata_daemon__retired_sweep(d);
}

/* next replaces the running notifier. Events in between are written to
 * the outbox and sent once it starts. */
static void
swap_notify(strata_daemon *d, strata_notify *next)
{
    strata_notify *old = d->notify;

    d->notify = next;
    d->env.notify = next;
    d->notify_unstarted = next;
    d->notify_closing++;
    if (old != NULL)
        strata_notify_close(old, on_old_notify_closed, d);
    else
        on_old_notify_closed(d);
}

void
strata_daemon__reload(strata_daemon *d)
{
    strata_config_problems *problems = strata_config_problems_new();
    const strata_config_data *nd;
    strata_config *next = NULL;
    strata_catalog *catalog = NULL, *old_catalog;
    strata_notify *notify = NULL;
    strata_error err = {0};
    size_t i;

    if (strata_config_load_or_default(&next, d->opts.config_path,
                                      d->opts.config_explicit, problems,
                                      &err) != 0) {
        log_error("reload: keeping the running configuration: %s", err.msg);
        for (i = 0; i < strata_config_problems_count(problems); i++)
            log_error("%s", strata_config_problems_get(problems, i)->text);
        strata_config_problems_free(problems);
        return;
    }
    /* The new catalog and sinks first: a reload applies whole or not. */
    nd = strata_config_data_get(next);
    if (nd->catalog != NULL &&
        strata_catalog_load(&catalog, nd->catalog, problems, &err) != 0) {
        log_error("reload: keeping the running configuration: %s", err.msg);
        for (i = 0; i < strata_config_problems_count(problems); i++)
            log_error("%s", strata_config_problems_get(problems, i)->text);
        strata_config_problems_free(problems);
        strata_config_free(next);
        return;
    }
    strata_config_problems_free(problems);
    if (strata_notify_new(&notify, &d->loop, d->store, nd->notify, nd->n_notify,
                          NULL, &err) != 0) {
        log_error("reload: keeping the running configuration: notify: %s",
                  err.msg);
        strata_catalog_free(catalog);
        strata_config_free(next);
        return;
    }
    /* Jobs under way may still read the old tree: retire, don't free. */
    d->retired =
        strata_xrealloc(d->retired, (d->nretired + 1) * sizeof(*d->retired));
    d->retired[d->nretired++] = d->config;
    d->config = next;
    d->cfg = nd;
    d->env.config = next;
    d->env.cfg = d->cfg;
    swap_notify(d, notify);
    strata_runner_set_env(d->runner, &d->env);
    old_catalog = d->catalog;
    d->catalog = catalog;
    /* Every watch takes its new policy; the old catalog is not used after. */
    if (strata_watcher_configure_catalog(d->watcher, next, catalog, NULL,
                                         &err) != 0)
        log_error("reload: watches: %s", err.msg);
    strata_catalog_free(old_catalog);
    strata_daemon__watch_graph_bases(d);
    strata_release_free_memory();
    strata_daemon__discover_reload(d);
    log_info("reloaded '%s'", d->cfg->file);
    if (d->phase == STRATA_PHASE_SERVE)
        strata_daemon__arm_scan_timer(d);
    strata_daemon__rescan(d);
}
