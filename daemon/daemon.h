/*
 * daemon.h - `strata run`: the daemon that scans, watches, plans, runs jobs,
 * notifies and serves the HTTP API on one libuv loop (daemon.c the cycle,
 * signals and shutdown; scan.c repository scans and graph reloads;
 * reload.c SIGHUP; routes.c the API's routes; hooks.c webhooks).
 */
#ifndef STRATA_DAEMON_H
#define STRATA_DAEMON_H

#include <jansson.h>

#include "core.h"

typedef enum strata_daemon_phase {
    STRATA_PHASE_START = 0,
    STRATA_PHASE_SCAN,
    STRATA_PHASE_WATCH,
    STRATA_PHASE_PLAN,
    STRATA_PHASE_ACT,
    STRATA_PHASE_SERVE,
    STRATA_PHASE_STOPPING,
    STRATA_PHASE_DONE,
} strata_daemon_phase;

typedef struct strata_daemon_opts {
    const char *config_path;
    int config_explicit;
    int once;              /* one cycle, then exit */
    const char *listen;    /* overrides api.listen, or NULL */
    const char *cache_dir; /* overrides the git mirror cache, or NULL */
    int log_explicit;      /* keep the command line's logging settings */
} strata_daemon_opts;

typedef struct strata_daemon strata_daemon;

/*
 * Loads the configuration, opens the store (re-queuing jobs a crash left
 * running) and sets up watcher, runner, signals and (unless once) the
 * HTTP API. Problems with the configuration are printed to stderr.
 */
int strata_daemon_new(strata_daemon **out, const strata_daemon_opts *opts,
                      strata_error *err);
/* Runs the loop until the cycle ends (once) or a signal stops it. */
int strata_daemon_run(strata_daemon *d);
/* --once: {"scan", "changes", "plan", "errors", "jobs"}. Borrowed. */
const json_t *strata_daemon_report(const strata_daemon *d);
void strata_daemon_free(strata_daemon *d);

#endif
