/*
 * daemon-int.h - the daemon's one object and what its files share.
 */
#ifndef STRATA_DAEMON_INT_H
#define STRATA_DAEMON_INT_H

#include <signal.h>

#include <uv.h>

#include "api.h"
#include "config.h"
#include "daemon.h"
#include "graph.h"
#include "jobs.h"
#include "oci.h"
#include "store.h"
#include "vcs.h"

struct strata_watcher;
struct strata_daemon_sub;
typedef struct strata_daemon_discover strata_daemon_discover;

/* main()'s one object: everything the daemon owns. */
struct strata_daemon {
    uv_loop_t loop;
    strata_daemon_opts opts;
    strata_config *config;
    /* Replaced by SIGHUP; freed once nothing can hold them (no job
     * running, no scan, no old notifier left): retired_sweep(). */
    strata_config **retired;
    size_t nretired;
    const strata_config_data *cfg;
    /* The golden catalog (cfg->catalog), or NULL: its entries are watched
     * under their verify policies; replaced whole by SIGHUP. */
    strata_catalog *catalog;
    strata_store *store;
    strata_registry *registry;
    struct strata_watcher *watcher;
    struct strata_notify *notify;
    /* A SIGHUP's new notifier waits for the old ones to stop. */
    struct strata_notify *notify_unstarted;
    int notify_closing;
    strata_graph *graph;
    int64_t graph_generation; /* the store's, when graph was loaded */
    int64_t graph_loaded_at;  /* when it was last loaded or found current */
    strata_runner *runner;
    strata_runner_env env;
    strata_api *api;
    strata_api_route routes[24];
    /* GET /api/v1/stream's subscribers, and the timer that tails the
     * event log for them (stream.c). */
    struct strata_daemon_sub *subs;
    size_t nsubs;
    uv_timer_t stream_timer;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t plan_timer, scan_timer, stop_timer;
    uv_timer_t scan_kick;   /* starts a round from the loop (scan.c) */
    uv_timer_t graph_timer; /* reloads the graph during a round (scan.c) */
    int scanning;           /* a round of repository scans is under way */
    int rescan_wanted;      /* a reload came while scanning */
    const strata_config_data *scan_cfg; /* what the round reads */
    size_t scan_next;                   /* the next repository to queue */
    int scan_running;                   /* repositories being scanned */
    json_t *scan_summary;               /* the round's, merged */
    /* Set on stop: ends every git fetch and push under way, the scans'
     * and the jobs' (env.cancel), and the scans' registry reads. */
    strata_vcs_cancel *cancel;
    char *cache_dir;
    strata_daemon_phase phase;
    int ready;
    int stopping;
    int64_t stop_started;
    int exit_code;
    size_t watch_errors;
    int errors; /* logged, not returned: strata_jobs_error (env.errors) */
    strata_metrics *metrics;  /* /metrics: the daemon's and the API's */
    strata_buf report_gauges; /* /metrics: the stale report's gauges */
    int64_t report_gauges_at; /* when they were computed; 0: never */
    int waiting_notify;       /* --once: the cycle waits for the outbox */
    int notify_idle;
    json_t *once_report; /* --once: what the cycle saw and did */
    /* hold_on's package reads (evidence.c): base -> in flight (or, in
     * --once, done); base -> the digest whose base.held was recorded. */
    strata_strmap *evidence_reads;
    strata_strmap *evidence_held; /* values owned */
    int evidence_running;
    int evidence_errors; /* reads that failed: run --once exits 1 */
    strata_daemon_discover *discover; /* discover: entries (discover.c) */
};

/* An error only the log and the exit status can tell: logged, counted
 * (run --once exits 1), and in the --once report's "errors". */
void strata_daemon__error(strata_daemon *d, const char *what,
                          const strata_error *err);
/* Plans pending updates now and wakes the runner. */
void strata_daemon__plan(strata_daemon *d);
int strata_daemon__api_start(strata_daemon *d, strata_error *err);
/* rollouts.c: GET /api/v1/rollouts, GET /api/v1/rollouts/ID, POST
 * /api/v1/rollouts/ID/resume|abort; the rollouts' /metrics gauges. */
void strata_daemon__on_rollouts(strata_api_req *req, void *arg);
void strata_daemon__on_rollout(strata_api_req *req, void *arg);
void strata_daemon__rollout_gauges(strata_buf *out, strata_daemon *d);
/* daemon-hooks.c: POST /hooks/registry/NAME and /hooks/git/NAME. */
void strata_daemon__registry_hook(strata_api_req *req, void *arg);
void strata_daemon__git_hook(strata_api_req *req, void *arg);
/* daemon.c: decides what comes next in the cycle. */
void strata_daemon__cycle_step(strata_daemon *d);
/* daemon.c: (re)starts the scheduled rescans at the configured interval. */
void strata_daemon__arm_scan_timer(strata_daemon *d);
/* daemon-scan.c: rescans the repositories now, each on its own, or
 * after the round under way; watches every base the graph names. */
void strata_daemon__rescan(strata_daemon *d);
void strata_daemon__watch_graph_bases(strata_daemon *d);
/* daemon-scan.c: (re)loads the graph from the store when its generation
 * moved, and watches its bases; 0 or the store's error. */
int strata_daemon__load_graph(strata_daemon *d, strata_error *err);
/* stream.c: GET /api/v1/stream (Server-Sent Events of the event log);
 * _init sets up its timer, _close ends every subscriber's stream. */
void strata_daemon__on_stream(strata_api_req *req, void *arg);
/* evidence.c: starts the package reads of the plan's updates left
 * "awaiting-evidence" (one per base at a time), records base.held for
 * those held; each read's end records its row and plans again. */
void strata_daemon__evidence(strata_daemon *d, const json_t *plan);
/* diff.c: GET /api/v1/diff, answered from a worker (deferred). */
void strata_daemon__on_diff(strata_api_req *req, void *arg);
void strata_daemon__stream_init(strata_daemon *d);
void strata_daemon__stream_close(strata_daemon *d);
/* daemon-reload.c: SIGHUP; frees replaced configurations when idle. */
void strata_daemon__reload(strata_daemon *d);
void strata_daemon__retired_sweep(strata_daemon *d);
/* discover.c: repository discovery. _init (--once: lists at once),
 * _start (serving: polls), _reload (SIGHUP: the new entries, polled now),
 * _close (the timer), _free; _running: a listing is in a worker. */
void strata_daemon__discover_init(strata_daemon *d);
void strata_daemon__discover_start(strata_daemon *d);
void strata_daemon__discover_reload(strata_daemon *d);
int strata_daemon__discover_running(const strata_daemon *d);
void strata_daemon__discover_close(strata_daemon *d);
void strata_daemon__discover_free(strata_daemon *d);

#endif
