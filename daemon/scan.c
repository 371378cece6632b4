/*
 * scan.c - the daemon's repository scans: git and sqlite work in a
 * uv_queue_work worker with its own store connection (the Dockerfiles,
 * then what the registries say each image is built on), then, back on the
 * loop, the graph reloaded when the store's graph generation moved and
 * every base it names watched. One scan at a time: asking during one
 * (a reload, a git push webhook) scans again when it ends.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon-int.h"
#include "watchers.h"

static void
scan_work(uv_work_t *req)
{
    strata_daemon *d = req->data;
    strata_graph_scan_opts opts = {.cache_dir = d->cache_dir,
                                   .cancel = d->scan_cancel};
    strata_store *st = NULL;

    /* The worker has its own connection: the loop keeps using d->store.
     * It reads the configuration strata_daemon__rescan() chose, never d->cfg,
     * which a reload may replace meanwhile. */
    d->scan_rc = strata_store_open(&st, d->scan_cfg->state, &d->scan_err);
    if (d->scan_rc == 0)
        d->scan_rc = strata_graph_scan(&d->scan_summary, st, d->scan_cfg, &opts,
                                       &d->scan_err);
    /* Then what the registries say each image is built on (lineage.c),
     * with short timeouts: a registry that is down delays the cycle.
     * Not once the daemon is stopping. */
    if (d->scan_rc == 0 && !strata_vcs_cancel_is_set(d->scan_cancel)) {
        strata_registry_opts ro = {.timeout_ms = 15000, .max_retries = 1};
        strata_graph_lineage_opts lo = {.defaults = &ro};
        json_t *images = NULL;

        d->scan_rc = strata_graph_scan_lineage(&images, st, d->scan_cfg, &lo,
                                               &d->scan_err);
        json_object_set(d->scan_summary, "images",
                        json_object_get(images, "images"));
        json_decref(images);
    }
    strata_store_close(st);
}

static void
log_scan(strata_daemon *d)
{
    json_t *repos = json_object_get(d->scan_summary, "repos"), *r, *e;
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
    json_array_foreach (json_object_get(d->scan_summary, "images"), i, r) {
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
    size_t i, n = strata_graph_node_count(d->graph);
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
 * Loads the graph again after a scan, unless nothing in it moved since the
 * last load (the store's graph generation): a rescan of unchanged
 * repositories costs no second copy of a 100,000-node graph.
 */
static int
reload_graph(strata_daemon *d, strata_error *err)
{
    strata_graph *g = NULL;
    int64_t gen = -1;
    int rc;

    if (strata_store_graph_generation(&gen, d->store, NULL) != 0)
        gen = -1;
    if (d->graph != NULL && gen >= 0 && gen == d->graph_generation) {
        log_debug("graph: unchanged (generation %lld)", (long long) gen);
        return 0;
    }
    if ((rc = strata_graph_load(&g, d->store, err)) != 0)
        return rc;
    d->graph_generation = gen;
    strata_graph_free(d->graph);
    d->graph = g;
    d->env.graph = g;
    strata_runner_set_env(d->runner, &d->env);
    strata_daemon__watch_graph_bases(d);
    strata_release_free_memory();
    return 0;
}

static void
scan_done(uv_work_t *req, int status)
{
    strata_daemon *d = req->data;
    strata_error err = {0};

    d->scanning = 0;
    if (status == UV_ECANCELED)
        return;
    if (d->scan_rc != 0)
        log_error("scan: %s", d->scan_err.msg);
    if (d->scan_summary != NULL) {
        log_scan(d);
        if (d->once_report != NULL)
            json_object_set(d->once_report, "scan", d->scan_summary);
        json_decref(d->scan_summary);
        d->scan_summary = NULL;
    }
    if (reload_graph(d, &err) != 0)
        log_error("loading the graph: %s", err.msg);
    strata_daemon__retired_sweep(d);
    if (d->phase == STRATA_PHASE_SCAN)
        strata_daemon__cycle_step(d);
    else if (d->rescan_wanted)
        strata_daemon__rescan(
            d); /* the configuration changed while we scanned */
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
    d->scan_rc = 0;
    strata_error_clear(&d->scan_err);
    d->scan_work.data = d;
    uv_queue_work(&d->loop, &d->scan_work, scan_work, scan_done);
}
