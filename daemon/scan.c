/*
 * scan.c - the daemon's repository scans. A round scans every configured
 * repository, each on its own: one uv_queue_work item per repository
 * (its git mirror synced, its Dockerfiles parsed into the graph, then
 * what the registries say its images are built on), with its own store
 * connection, at most SCAN_WORKERS at a time. A remote that stalls costs
 * one worker until its deadline (scan.fetch_timeout, scan.stall_timeout)
 * and never holds back the others, the watcher or the jobs; SIGTERM ends
 * a fetch under way (the daemon's cancel flag). Back on the loop, each
 * repository's result is logged, its errors counted, and (while the
 * daemon serves) the graph is reloaded when the store's graph generation
 * moved, at most every GRAPH_RELOAD_MS and once more when the round ends,
 * and every base it names is watched. One round at a time: asking during
 * one (a reload, a git push webhook) starts another when it ends.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon-int.h"
#include "watchers.h"

/* Repositories scanned at once: the rest of libuv's pool (4 threads by
 * default) stays free for the jobs' git work and rebases. */
#define SCAN_WORKERS 2
/* While serving, the graph is reloaded this often at most during a round
 * (a fleet's first scan changes it once per repository). */
#define GRAPH_RELOAD_MS 2000

/* One repository's scan: queued, run in a worker, merged on the loop. */
typedef struct scan_item {
    uv_work_t work;
    strata_daemon *d;
    const strata_config_data *cfg; /* the round's; a reload keeps it alive */
    size_t repo;                   /* its index in cfg->repos */
    json_t *summary;               /* {"repos": [...], "images": [...]} */
    strata_error err;
    int rc;
} scan_item;

static void
scan_work(uv_work_t *req)
{
    scan_item *it = req->data;
    strata_daemon *d = it->d;
    strata_config_data one = *it->cfg;
    strata_graph_scan_opts opts = {.cache_dir = d->cache_dir,
                                   .cancel = d->cancel};
    strata_store *st = NULL;

    /* This repository only: a configuration of one, sharing the rest. */
    one.repos = &it->cfg->repos[it->repo];
    one.n_repos = 1;
    /* The worker has its own connection: the loop keeps using d->store. */
    it->rc = strata_store_open(&st, one.state, &it->err);
    if (it->rc == 0)
        it->rc = strata_graph_scan(&it->summary, st, &one, &opts, &it->err);
    /* Then what the registries say its images are built on (lineage.c),
     * with short timeouts: a registry that is down delays this repository
     * only. Not once the daemon is stopping. */
    if (it->rc == 0 && !strata_vcs_cancel_is_set(d->cancel)) {
        strata_registry_opts ro = {.timeout_ms = 15000, .max_retries = 1};
        strata_graph_lineage_opts lo = {.defaults = &ro, .cancel = d->cancel};
        json_t *images = NULL;

        it->rc = strata_graph_scan_lineage(&images, st, &one, &lo, &it->err);
        json_object_set(it->summary, "images",
                        json_object_get(images, "images"));
        json_decref(images);
    }
    strata_store_close(st);
}

static void
log_scan(const json_t *summary)
{
    json_t *repos = json_object_get(summary, "repos"), *r, *e;
    size_t i, j;

    json_array_foreach (repos, i, r) {
        const char *error = json_string_value(json_object_get(r, "error"));
        if (error != NULL) {
            log_warn("scan %s: %s",
                     json_string_value(json_object_get(r, "url")), error);
            continue;
        }
        log_info("scan %s: %lld Dockerfiles, %lld parsed, %lld edges",
                 json_string_value(json_object_get(r, "url")),
                 json_integer_value(json_object_get(r, "dockerfiles")),
                 json_integer_value(json_object_get(r, "parsed")),
                 json_integer_value(json_object_get(r, "edges")));
        json_array_foreach (json_object_get(r, "errors"), j, e)
            log_warn("scan: %s", json_string_value(e));
    }
    json_array_foreach (json_object_get(summary, "images"), i, r) {
        const char *image = json_string_value(json_object_get(r, "image"));
        const char *parent = json_string_value(json_object_get(r, "parent"));
        const char *digest = json_string_value(json_object_get(r, "digest"));
        const char *error = json_string_value(json_object_get(r, "error"));

        if (error != NULL)
            log_warn("lineage %s: %s", image, error);
        else if (parent != NULL)
            log_info("lineage %s: built on %s@%s (%s)", image, parent,
                     digest ? digest : "?",
                     json_string_value(json_object_get(r, "method")));
    }
}

/* Watches every base the graph knows: anything something is built on. */
void
strata_daemon__watch_graph_bases(strata_daemon *d)
{
    size_t i, n = d->graph != NULL ? strata_graph_node_count(d->graph) : 0;
    strata_error err = {0};

    for (i = 0; i < n; i++) {
        strata_watcher_spec spec = {0};

        if (strata_graph_node_kind(d->graph, i) == STRATA_GRAPH_DOCKERFILE ||
            strata_graph_node_children(d->graph, i) == 0)
            continue;
        spec.ref = strata_graph_node_ref(d->graph, i);
        if (strata_watcher_add(NULL, d->watcher, &spec, &err) != 0)
            log_warn("cannot watch '%s': %s", spec.ref, err.msg);
    }
}

/*
 * Loads the graph again, unless nothing in it moved since the last load
 * (the store's graph generation): a rescan of unchanged repositories
 * costs no second copy of a 100,000-node graph.
 */
int
strata_daemon__load_graph(strata_daemon *d, strata_error *err)
{
    strata_graph *g = NULL;
    int64_t gen = -1;
    int rc;

    if ((rc = strata_store_graph_generation(&gen, d->store, err)) != 0)
        return rc;
    d->graph_loaded_at = strata_now_ms();
    if (d->graph != NULL && gen == d->graph_generation) {
        log_debug("graph: unchanged (generation %lld)", (long long) gen);
        return 0;
    }
    if ((rc = strata_graph_load(&g, d->store, err)) != 0)
        return rc;
    d->graph_generation = gen;
    strata_graph_free(d->graph);
    d->graph = g;
    d->env.graph = g;
    if (d->runner != NULL)
        strata_runner_set_env(d->runner, &d->env);
    if (d->watcher != NULL)
        strata_daemon__watch_graph_bases(d);
    strata_release_free_memory();
    return 0;
}

static void reload_graph(strata_daemon *d);
static void fill(strata_daemon *d);

/* Every repository of the round is done (or the daemon stops). */
static void
round_done(strata_daemon *d)
{
    d->scanning = 0;
    uv_timer_stop(&d->graph_timer);
    if (d->once_report != NULL && d->scan_summary != NULL)
        json_object_set(d->once_report, "scan", d->scan_summary);
    json_decref(d->scan_summary);
    d->scan_summary = NULL;
    if (d->stopping)
        return;
    reload_graph(d);
    strata_daemon__retired_sweep(d);
    if (d->phase == STRATA_PHASE_SCAN)
        strata_daemon__cycle_step(d);
    else if (d->rescan_wanted)
        strata_daemon__rescan(d); /* the configuration changed meanwhile */
}

static void
reload_graph(strata_daemon *d)
{
    strata_error err = {0};

    if (strata_daemon__load_graph(d, &err) != 0)
        strata_daemon__error(d, "loading the graph", &err);
}

static void
on_graph_timer(uv_timer_t *t)
{
    strata_daemon *d = t->data;

    if (!d->stopping)
        reload_graph(d);
}

static void
scan_done(uv_work_t *req, int status)
{
    scan_item *it = req->data;
    strata_daemon *d = it->d;
    const json_t *v;
    size_t i;

    d->scan_running--;
    if (status != UV_ECANCELED) {
        if (it->summary != NULL) {
            log_scan(it->summary);
            json_array_foreach (json_object_get(it->summary, "repos"), i, v)
                json_array_append(json_object_get(d->scan_summary, "repos"),
                                  (json_t *) v);
            json_array_foreach (json_object_get(it->summary, "images"), i, v)
                json_array_append(json_object_get(d->scan_summary, "images"),
                                  (json_t *) v);
        }
        /* A store error: the repository's changes were rolled back. */
        if (it->rc != 0 && !d->stopping)
            strata_daemon__error(d, "scan", &it->err);
    }
    json_decref(it->summary);
    free(it);
    /* Serving: what this repository added is planned with soon, not
     * when the slowest repository of the round is done. */
    if (!d->stopping && d->phase == STRATA_PHASE_SERVE &&
        !uv_is_active((uv_handle_t *) &d->graph_timer)) {
        int64_t wait = d->graph_loaded_at + GRAPH_RELOAD_MS - strata_now_ms();

        uv_timer_start(&d->graph_timer, on_graph_timer,
                       wait > 0 ? (uint64_t) wait : 0, 0);
    }
    fill(d);
}

/* Queues repositories up to SCAN_WORKERS; ends the round when all are. */
static void
fill(strata_daemon *d)
{
    const strata_config_data *cfg = d->scan_cfg;

    while (!d->stopping && d->scan_running < SCAN_WORKERS &&
           d->scan_next < cfg->n_repos) {
        scan_item *it = strata_xcalloc(1, sizeof(*it));

        it->d = d;
        it->cfg = cfg;
        it->repo = d->scan_next++;
        it->work.data = it;
        if (uv_queue_work(&d->loop, &it->work, scan_work, scan_done) != 0) {
            log_error("scan: cannot queue the scan of '%s'",
                      cfg->repos[it->repo].url);
            free(it);
            continue;
        }
        d->scan_running++;
    }
    if (d->scan_running == 0 && d->scanning)
        round_done(d);
}

static void
on_idle_round(uv_timer_t *t)
{
    fill(t->data);
}

void
strata_daemon__rescan(strata_daemon *d)
{
    if (d->stopping)
        return;
    if (d->scanning) {
        d->rescan_wanted = 1;
        return;
    }
    d->scanning = 1;
    d->rescan_wanted = 0;
    d->scan_cfg = d->cfg;
    d->scan_next = 0;
    d->scan_summary = json_pack("{s:[], s:[]}", "repos", "images");
    /* From the loop, never inside this call (a round of no repository
     * ends at once). */
    uv_timer_start(&d->scan_kick, on_idle_round, 0, 0);
}
