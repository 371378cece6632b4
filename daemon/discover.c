/*
 * discover.c - the daemon's repository discovery. Every `discover:` entry
 * is listed in a worker (forge/fleet.c: its own store connection for the
 * ETag cache and the record of what each entry took), at the smallest
 * entry interval. Back on the loop, the repositories taken become
 * repository records in a configuration derived from the loaded one
 * (strata_config_derive), swapped in as a reload swaps its configuration
 * (the old one is retired until nothing can hold it): scans, the planner
 * and the jobs then treat them as configured repositories. A repository
 * that appears is recorded as `repo.discovered` and scanned in a new
 * round; one that disappears (or is archived) has lost its graph edges
 * in the worker, is logged and recorded as `repo.removed`; its open
 * strata pull requests are left alone. --once lists before its scan, on
 * the loop's thread. The forge's remaining rate-limit budget is the gauge
 * strata_forge_ratelimit_remaining{forge, source}.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon-int.h"
#include "forge.h"

typedef struct disc_entry {
    strata_forge_app *app;          /* the App's, kept for its token */
    strata_forge_discovery *listed; /* the last good listing, or NULL */
    strata_secret *token;           /* the App token of that listing */
    /* the worker's result */
    strata_forge_discovery *res;
    char **gone;
    strata_error err;
    int rc;
} disc_entry;

struct strata_daemon_discover {
    strata_daemon *d;
    uv_timer_t timer;
    uv_work_t work;
    strata_config *base; /* the loaded configuration (a reference) */
    disc_entry *entries;
    size_t n;
    char *applied;  /* the taken URLs last applied, "\n"-joined */
    char **orphans; /* the worker's: taken by an entry no longer there */
    int running;
    int reset_wanted; /* a reload came during a poll */
};

static void
entries_free(strata_daemon_discover *x)
{
    size_t i, j;

    for (i = 0; i < x->n; i++) {
        disc_entry *e = &x->entries[i];

        strata_forge_app_free(e->app);
        strata_forge_discovery_free(e->listed);
        strata_forge_discovery_free(e->res);
        strata_secret_free(e->token);
        for (j = 0; e->gone != NULL && e->gone[j] != NULL; j++)
            free(e->gone[j]);
        free(e->gone);
    }
    free(x->entries);
    x->entries = NULL;
    x->n = 0;
    strata_config_free(x->base);
    x->base = NULL;
}

/* The entries of the configuration loaded now (d->config, or its base). */
static void
entries_reset(strata_daemon_discover *x, strata_config *loaded)
{
    entries_free(x);
    x->base = strata_config_ref(loaded);
    x->n = strata_config_data_get(loaded)->n_discover;
    x->entries = strata_xcalloc(x->n + 1, sizeof(*x->entries));
}

static const strata_config_data *
base_data(const strata_daemon_discover *x)
{
    return strata_config_data_get(x->base);
}

/*
 * What an entry took that is no longer in the configuration (a reload
 * removed or changed it) is forgotten like a repository that went away;
 * the URLs go to x->orphans. A store error leaves them for the next poll.
 */
static void
forget_orphans(strata_daemon_discover *x, strata_store *st)
{
    const strata_config_data *cfg = base_data(x);
    json_t *all = NULL, *r;
    size_t i, j, n = 0;

    if (strata_store_discovered_list(&all, st, NULL, NULL) != 0)
        return;
    json_array_foreach (all, i, r) {
        const char *source = json_string_value(json_object_get(r, "source"));
        const char *url = json_string_value(json_object_get(r, "url"));

        for (j = 0; j < x->n; j++) {
            char *mine = strata_forge_discover_source(&cfg->discover[j]);
            int same = strcmp(mine, source) == 0;

            free(mine);
            if (same)
                break;
        }
        if (j < x->n || strata_store_discovered_forget(st, url, NULL) != 0)
            continue;
        x->orphans = strata_xrealloc(x->orphans, (n + 2) * sizeof(char *));
        x->orphans[n++] = strata_xstrdup(url);
        x->orphans[n] = NULL;
    }
    json_decref(all);
}

/* Lists every entry: in a worker, or on the loop for --once. */
static void
poll_all(strata_daemon_discover *x, const char *state)
{
    const strata_config_data *cfg = base_data(x);
    strata_store *st = NULL;
    strata_error err = {0};
    size_t i;
    int rc = strata_store_open(&st, state, &err);

    for (i = 0; i < x->n; i++) {
        disc_entry *e = &x->entries[i];

        e->rc = rc;
        e->err = err;
        if (rc != 0)
            continue;
        memset(&e->err, 0, sizeof(e->err));
        e->rc = strata_forge_app_for(&e->app, &cfg->discover[i], &e->err);
        if (e->rc == 0)
            e->rc = strata_forge_discover_entry(
                &e->res, &e->gone, st, &cfg->discover[i], e->app, &e->err);
    }
    if (rc == 0)
        forget_orphans(x, st);
    strata_store_close(st);
}

static void
work(uv_work_t *req)
{
    strata_daemon_discover *x = req->data;

    poll_all(x, base_data(x)->state);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The configuration with the taken repositories, swapped in. */
static void
apply(strata_daemon_discover *x, int *changed)
{
    strata_daemon *d = x->d;
    const strata_config_data *cfg = base_data(x);
    strata_config_repo *recs = NULL;
    strata_config *derived = NULL;
    strata_error err = {0};
    const char **urls;
    strata_buf sig = {0};
    size_t n = 0, i;

    for (i = 0; i < x->n; i++) {
        disc_entry *e = &x->entries[i];

        if (e->listed != NULL)
            strata_forge_discover_records(
                &recs, &n, cfg, &cfg->discover[i], e->listed,
                e->token ? e->token : cfg->discover[i].token);
    }
    urls = strata_xcalloc(n + 1, sizeof(*urls));
    for (i = 0; i < n; i++)
        urls[i] = recs[i].url;
    qsort(urls, n, sizeof(*urls), cmp_str);
    strata_buf_putc(&sig, '\n');
    for (i = 0; i < n; i++) {
        strata_buf_puts(&sig, urls[i]);
        strata_buf_putc(&sig, '\n');
    }
    *changed =
        x->applied == NULL || strcmp(x->applied, strata_buf_cstr(&sig)) != 0;
    /* Repositories new since the last applied set: recorded. */
    for (i = 0; *changed && i < n; i++) {
        char *line = strata_xasprintf("\n%s\n", urls[i]);
        int was = x->applied != NULL && strstr(x->applied, line) != NULL;

        if (!was) {
            json_t *p = json_pack("{s:s}", "url", urls[i]);

            log_info("discover: '%s' found: it is scanned like a "
                     "configured repository",
                     urls[i]);
            if (strata_store_event_append(NULL, d->store, "repo.discovered",
                                          urls[i], p, 0, &err) != 0)
                strata_daemon__error(d, "discover", &err);
            json_decref(p);
        }
        free(line);
    }
    if (*changed || d->config == x->base) {
        /* Always derived from the loaded configuration, which a
         * reference keeps alive: the current one is retired. */
        strata_config_derive(&derived, x->base, recs, n, &err);
        d->retired = strata_xrealloc(d->retired,
                                     (d->nretired + 1) * sizeof(*d->retired));
        d->retired[d->nretired++] = d->config;
        d->config = derived;
        d->cfg = strata_config_data_get(derived);
        d->env.config = derived;
        d->env.cfg = d->cfg;
        if (d->runner != NULL)
            strata_runner_set_env(d->runner, &d->env);
    }
    free(x->applied);
    x->applied = strata_buf_detach(&sig);
    free(urls);
    free(recs);
}

static void
record_results(strata_daemon_discover *x, int *gone_any)
{
    strata_daemon *d = x->d;
    const strata_config_data *cfg = base_data(x);
    strata_error err = {0};
    size_t i, j;

    *gone_any = 0;
    for (j = 0; x->orphans != NULL && x->orphans[j] != NULL; j++) {
        json_t *p = json_pack("{s:s, s:s}", "url", x->orphans[j],
                              "pull_requests", "left open");

        log_warn("discover: '%s' was taken by a discover entry that is no "
                 "longer configured: its graph edges are dropped; its open "
                 "strata pull requests are left alone",
                 x->orphans[j]);
        if (strata_store_event_append(NULL, d->store, "repo.removed",
                                      x->orphans[j], p, 0, &err) != 0)
            strata_daemon__error(d, "discover", &err);
        json_decref(p);
        free(x->orphans[j]);
        *gone_any = 1;
    }
    free(x->orphans);
    x->orphans = NULL;
    for (i = 0; i < x->n; i++) {
        disc_entry *e = &x->entries[i];
        char *source = strata_forge_discover_source(&cfg->discover[i]);

        if (e->rc != 0) {
            log_warn("discover '%s': %s (the last listing stays in force)",
                     source, e->err.msg);
            d->errors++;
            free(source);
            continue;
        }
        for (j = 0; e->gone != NULL && e->gone[j] != NULL; j++) {
            json_t *p =
                json_pack("{s:s, s:s, s:s}", "url", e->gone[j], "source",
                          source, "pull_requests", "left open");

            log_warn("discover: '%s' is gone from '%s' (deleted, archived or "
                     "filtered out): its graph edges are dropped; its open "
                     "strata pull requests are left alone",
                     e->gone[j], source);
            if (strata_store_event_append(NULL, d->store, "repo.removed",
                                          e->gone[j], p, 0, &err) != 0)
                strata_daemon__error(d, "discover", &err);
            json_decref(p);
            free(e->gone[j]);
            *gone_any = 1;
        }
        free(e->gone);
        e->gone = NULL;
        log_info("discover '%s': %zu repositories, %zu taken (%u requests, "
                 "%u not modified)",
                 source, e->res->n, strata_forge_discovery_taken(e->res),
                 e->res->requests, e->res->not_modified);
        if (d->metrics != NULL && e->res->rate_remaining >= 0) {
            const char *labels[] = {
                "forge", strata_config_forge_name(cfg->discover[i].forge),
                "source", source, NULL};

            strata_metrics_set(d->metrics, "strata_forge_ratelimit_remaining",
                               labels, (double) e->res->rate_remaining);
        }
        strata_forge_discovery_free(e->listed);
        e->listed = e->res;
        e->res = NULL;
        strata_secret_free(e->token);
        e->token = NULL;
        /* The App token the listing used, kept for the clones. */
        if (e->app != NULL && strata_forge_app_cached_token(e->app) != NULL)
            e->token = strata_secret_new(strata_forge_app_cached_token(e->app),
                                         "github app installation token");
        free(source);
    }
}

static void on_timer(uv_timer_t *t);

static void
after_work(uv_work_t *req, int status)
{
    strata_daemon_discover *x = req->data;
    strata_daemon *d = x->d;
    strata_error err = {0};
    int gone = 0, changed = 0;

    x->running = 0;
    if (status == UV_ECANCELED || d->stopping)
        return;
    if (x->reset_wanted) {
        x->reset_wanted = 0;
        entries_reset(x, d->config);
        uv_timer_start(&x->timer, on_timer, 0, 0);
        return;
    }
    record_results(x, &gone);
    if (x->n > 0)
        apply(x, &changed);
    if (gone && strata_daemon__load_graph(d, &err) != 0)
        strata_daemon__error(d, "loading the graph", &err);
    if (changed)
        strata_daemon__rescan(d);
}

static uint64_t
interval(const strata_daemon_discover *x)
{
    const strata_config_data *cfg = base_data(x);
    uint64_t ms = 0;
    size_t i;

    for (i = 0; i < cfg->n_discover; i++)
        if (ms == 0 || cfg->discover[i].interval_ms < ms)
            ms = cfg->discover[i].interval_ms;
    return ms ? ms : 15 * 60 * 1000;
}

static void
on_timer(uv_timer_t *t)
{
    strata_daemon_discover *x = t->data;

    if (x->d->stopping || x->running)
        return;
    x->work.data = x;
    if (uv_queue_work(&x->d->loop, &x->work, work, after_work) != 0) {
        log_error("discover: cannot queue the listing");
        return;
    }
    x->running = 1;
    /* Without entries, one pass forgets what earlier ones took. */
    if (x->n > 0)
        uv_timer_start(&x->timer, on_timer, interval(x), 0);
}

void
strata_daemon__discover_init(strata_daemon *d)
{
    strata_daemon_discover *x = strata_xcalloc(1, sizeof(*x));
    int gone = 0, changed = 0;

    x->d = d;
    d->discover = x;
    uv_timer_init(&d->loop, &x->timer);
    x->timer.data = x;
    entries_reset(x, d->config);
    /* --once lists first, here, so that its scan has them. */
    if (d->opts.once) {
        poll_all(x, d->cfg->state);
        record_results(x, &gone);
        if (x->n > 0)
            apply(x, &changed);
    }
}

void
strata_daemon__discover_start(strata_daemon *d)
{
    strata_daemon_discover *x = d->discover;

    if (x != NULL)
        uv_timer_start(&x->timer, on_timer, 0, 0);
}

void
strata_daemon__discover_reload(strata_daemon *d)
{
    strata_daemon_discover *x = d->discover;

    if (x == NULL)
        return;
    if (x->running) {
        x->reset_wanted = 1;
        return;
    }
    /* The taken set last applied stays: a repository found again after
     * a reload is no news; the next poll derives from the new one. */
    entries_reset(x, d->config);
    if (d->phase == STRATA_PHASE_SERVE)
        uv_timer_start(&x->timer, on_timer, 0, 0);
}

int
strata_daemon__discover_running(const strata_daemon *d)
{
    return d->discover != NULL && d->discover->running;
}

void
strata_daemon__discover_close(strata_daemon *d)
{
    if (d->discover != NULL)
        uv_close((uv_handle_t *) &d->discover->timer, NULL);
}

void
strata_daemon__discover_free(strata_daemon *d)
{
    strata_daemon_discover *x = d->discover;
    size_t i;

    if (x == NULL)
        return;
    entries_free(x);
    for (i = 0; x->orphans != NULL && x->orphans[i] != NULL; i++)
        free(x->orphans[i]);
    free(x->orphans);
    free(x->applied);
    free(x);
    d->discover = NULL;
}
