/*
 * daemon.c - the daemon: one libuv loop drives registry watches, the job
 * queue, child processes, timers and the HTTP API. A cycle is a small
 * state machine (cycle_set_phase() is the only writer of the phase and
 * logs each transition; strata_daemon__cycle_step() decides what comes
 * next):
 *
 *   start -> scan (each repository in its own uv_queue_work item with its
 *   own store connection, scan.c) -> watch (every watched reference, on
 *   the loop) -> plan (updates to jobs, one sqlite transaction per base)
 *   -> act (the job runner) -> done
 *
 * `run --once` walks the cycle once and exits, 1 when a check or a job
 * failed, a job must be retried or the store failed where the error could
 * only be logged (strata_jobs_error counts them). The daemon goes from
 * start to "serve" at once, with the graph the store had when it started:
 * it is ready, watches fire on their own schedules, each change is
 * planned at once, a plan timer catches updates whose soak time ends,
 * the runner polls the queue, and the repositories are scanned in the
 * background, now and every scan interval, each on its own, so a remote
 * that stalls holds back nothing (scan.c). SIGTERM/SIGINT drain within a
 * bounded time, and end every git fetch under way (the cancel flag the
 * scans and the jobs share); SIGHUP reloads the configuration, keeping
 * the old one if the new one is bad (reload.c).
 */
#include <stdlib.h>
#include <string.h>

#include "daemon-int.h"
#include "notify.h"
#include "watchers.h"

#define PLAN_EVERY_MS 5000
#define DRAIN_MS 30000

static const char *const phase_names[] = {
    "start", "scan", "watch", "plan", "act", "serve", "stopping", "done",
};

static void daemon_stop(strata_daemon *d, int exit_code);

static void
cycle_set_phase(strata_daemon *d, strata_daemon_phase phase)
{
    log_debug("cycle: %s -> %s", phase_names[d->phase], phase_names[phase]);
    d->phase = phase;
}

/* ---- watching and planning ----------------------------------------- */

/*
 * Inside the watcher's transaction: the change's notification is committed
 * with the new digest or not at all (a full disk: the digest stays, the
 * next check sees the change again). Its id is a function of the change,
 * so a repeat adds nothing.
 */
static int
on_record(const strata_watcher_change *c, strata_error *err, void *arg)
{
    strata_daemon *d = arg;
    char *id;
    json_t *ev;
    int rc;

    if (c->old_digest == NULL || d->notify == NULL)
        return 0;
    id = strata_xasprintf("base.updated:%s:%s", c->ref, c->new_digest);
    ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s*}", "type", "base.updated",
                   "id", id, "base", c->ref, "old_digest", c->old_digest,
                   "new_digest", c->new_digest, "tag", c->tag);
    /* What verified it (or that it awaits its signature). */
    if (c->verify_state != NULL) {
        json_object_set_new(ev, "verify", json_string(c->verify_state));
        if (c->verify_summary != NULL)
            json_object_set_new(ev, "verified_by",
                                json_string(c->verify_summary));
    }
    rc = strata_notify_enqueue(NULL, d->notify, ev, err);
    json_decref(ev);
    free(id);
    return rc;
}

/*
 * Inside the watcher's transaction: a digest quarantined (or, in warn
 * mode, left unverified) after its wait is notified, critical, once.
 */
static int
on_gate(const char *type, const json_t *payload, strata_error *err, void *arg)
{
    strata_daemon *d = arg;
    const char *base = json_string_value(json_object_get(payload, "base"));
    const char *digest = json_string_value(json_object_get(payload, "digest"));
    const char *mode = json_string_value(json_object_get(payload, "mode"));
    char *id;
    json_t *ev;
    int rc;

    if (strcmp(type, "base.signature_failed") != 0 || d->notify == NULL)
        return 0;
    id = strata_xasprintf("base.signature_failed:%s:%s", base, digest);
    ev = json_deep_copy(payload);
    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "id", json_string(id));
    json_object_set_new(ev, "severity",
                        json_string(mode != NULL && strcmp(mode, "warn") == 0
                                        ? "warning"
                                        : "critical"));
    if (json_object_get(ev, "reason") == NULL)
        json_object_set_new(ev, "reason", json_string("no valid signature"));
    rc = strata_notify_enqueue(NULL, d->notify, ev, err);
    json_decref(ev);
    free(id);
    return rc;
}

static void
on_change(const strata_watcher_change *c, void *arg)
{
    strata_daemon *d = arg;
    json_t *o = json_pack("{s:s, s:s*, s:s, s:s*}", "ref", c->ref, "old",
                          c->old_digest, "new", c->new_digest, "tag", c->tag);

    log_info("%s: %s -> %s", c->ref, c->old_digest ? c->old_digest : "(new)",
             c->new_digest);
    if (d->once_report != NULL)
        json_array_append(json_object_get(d->once_report, "changes"), o);
    json_decref(o);
    if (d->phase == STRATA_PHASE_SERVE)
        strata_daemon__plan(d);
}

static void
on_watch_error(const char *ref, const strata_error *err, void *arg)
{
    strata_daemon *d = arg;

    log_warn("check %s: %s", ref, err->msg);
    if (d->once_report != NULL)
        json_array_append_new(
            json_object_get(d->once_report, "errors"),
            json_pack("{s:s, s:s}", "ref", ref, "error", err->msg));
}

void
strata_daemon__error(strata_daemon *d, const char *what,
                     const strata_error *err)
{
    /* Logged and counted (d->errors) by the one function jobs/ uses. */
    strata_jobs_error(&d->env, 0, what, err);
    if (d->once_report != NULL)
        json_array_append_new(
            json_object_get(d->once_report, "errors"),
            json_pack("{s:s, s:s}", "ref", what, "error", err->msg));
}

void
strata_daemon__plan(strata_daemon *d)
{
    strata_error err = {0};
    json_t *plan = NULL, *u;
    size_t i;

    if (d->graph == NULL)
        return;
    if (strata_plan_updates_catalog(&plan, d->store, d->graph, d->cfg,
                                    d->catalog, 0, strata_now_ms(),
                                    &err) != 0) {
        strata_daemon__error(d, "planning", &err);
        return;
    }
    json_array_foreach (plan, i, u) {
        const char *state = json_string_value(json_object_get(u, "state"));
        if (strcmp(state, "planned") == 0) {
            strata_jobs_event(&d->env, "base.planned",
                              json_string_value(json_object_get(u, "base")),
                              json_incref(u));
        }
        if (d->once_report != NULL)
            json_array_append(json_object_get(d->once_report, "plan"), u);
    }
    /* hold_on: the deltas to read, the holds to announce. */
    strata_daemon__evidence(d, plan);
    json_decref(plan);
    if (d->runner != NULL)
        strata_runner_kick(d->runner);
}

static void
on_round(const strata_watcher_round *round, void *arg)
{
    strata_daemon *d = arg;

    log_info("watch: %zu checked, %zu changed, %zu first seen, %zu errors",
             round->checked, round->changes, round->first_seen, round->errors);
    d->watch_errors += round->errors;
    if (d->phase == STRATA_PHASE_WATCH && !round->canceled)
        strata_daemon__cycle_step(d);
}

static void
on_drained(strata_runner *r, void *arg)
{
    strata_daemon *d = arg;

    if (d->phase == STRATA_PHASE_ACT)
        strata_daemon__cycle_step(d);
}

static void
on_notify_idle(strata_notify *n, void *arg)
{
    strata_daemon *d = arg;

    if (!d->waiting_notify)
        return;
    d->waiting_notify = 0;
    d->notify_idle = 1;
    strata_notify_on_idle(n, NULL, NULL);
    if (d->phase == STRATA_PHASE_ACT)
        strata_daemon__cycle_step(d);
}

static void
on_plan_timer(uv_timer_t *t)
{
    strata_daemon__plan(t->data);
    strata_daemon__retired_sweep(t->data);
}

static void
on_scan_timer(uv_timer_t *t)
{
    strata_daemon__rescan(t->data);
}

void
strata_daemon__arm_scan_timer(strata_daemon *d)
{
    uv_timer_start(&d->scan_timer, on_scan_timer, d->cfg->scan.interval_ms,
                   d->cfg->scan.interval_ms);
}

/* ---- the cycle ------------------------------------------------------ */

/*
 * The daemon serves at once, with the graph the store had at start: the
 * watcher, the planner and the runner run on their own schedules, and
 * the API answers ready, while the repositories are scanned in the
 * background (scan.c), each on its own; what a scan adds to the graph is
 * planned with once it is loaded. A remote that stalls holds back none
 * of this.
 */
static void
serve(strata_daemon *d)
{
    strata_error err = {0};

    cycle_set_phase(d, STRATA_PHASE_SERVE);
    if (strata_watcher_start(d->watcher, &err) != 0)
        strata_daemon__error(d, "watcher", &err);
    strata_daemon__plan(d);
    strata_runner_start(d->runner, 1000);
    uv_timer_start(&d->plan_timer, on_plan_timer, PLAN_EVERY_MS, PLAN_EVERY_MS);
    strata_daemon__arm_scan_timer(d);
    strata_daemon__discover_start(d);
    d->ready = 1;
    strata_daemon__rescan(d);
}

void
strata_daemon__cycle_step(strata_daemon *d)
{
    strata_error err = {0};

    if (d->stopping)
        return;
    switch (d->phase) {
    case STRATA_PHASE_START:
        if (!d->opts.once) {
            serve(d);
            return;
        }
        cycle_set_phase(d, STRATA_PHASE_SCAN);
        strata_daemon__rescan(d);
        return;
    case STRATA_PHASE_SCAN:
        /* --once: the scan is done; now every watched reference. */
        cycle_set_phase(d, STRATA_PHASE_WATCH);
        if (strata_watcher_check_all(d->watcher, on_round, d, &err) != 0) {
            log_error("watch: %s", err.msg);
            daemon_stop(d, STRATA_EXIT_PROBLEM);
        }
        return;
    case STRATA_PHASE_WATCH:
        cycle_set_phase(d, STRATA_PHASE_PLAN);
        strata_daemon__plan(d);
        /* hold_on's reads under way: each plans again when it ends, and
         * the last one steps on (evidence.c), so the run holds or plans
         * on what they read. */
        if (d->evidence_running > 0)
            return;
        cycle_set_phase(d, STRATA_PHASE_ACT);
        strata_runner_drain(d->runner, on_drained, d);
        return;
    case STRATA_PHASE_PLAN:
        cycle_set_phase(d, STRATA_PHASE_ACT);
        strata_runner_drain(d->runner, on_drained, d);
        return;
    case STRATA_PHASE_ACT: {
        int ok, failed, retrying, errors;

        if (d->notify != NULL && !d->notify_idle) {
            /* Deliver what the cycle produced before exiting. */
            d->waiting_notify = 1;
            strata_notify_on_idle(d->notify, on_notify_idle, d);
            return;
        }

        strata_runner_stats(d->runner, &ok, &failed, &retrying);
        cycle_set_phase(d, STRATA_PHASE_DONE);
        errors = d->errors + strata_notify_errors(d->notify);
        json_object_set_new(d->once_report, "jobs",
                            json_pack("{s:i, s:i, s:i}", "succeeded", ok,
                                      "failed", failed, "retrying", retrying));
        json_object_set_new(d->once_report, "store_errors",
                            json_integer(errors));
        /*
         * The truth for cron and CI: 1 when a check failed, a job failed or
         * must be retried, or an error could only be logged (the store
         * could not record a plan, an outcome, an event, a delivery).
         */
        daemon_stop(d, failed > 0 || retrying > 0 || d->watch_errors > 0 ||
                               d->evidence_errors > 0 || errors > 0
                           ? STRATA_EXIT_PROBLEM
                           : STRATA_EXIT_OK);
        return;
    }
    default:
        return;
    }
}

/* ---- signals and shutdown ------------------------------------------ */

static void
on_signal(uv_signal_t *s, int signum)
{
    strata_daemon *d = s->data;

    if (signum == SIGHUP) {
        strata_daemon__reload(d);
        return;
    }
    log_info("signal %d: stopping", signum);
    daemon_stop(d, d->opts.once ? STRATA_EXIT_PROBLEM : STRATA_EXIT_OK);
}

static void
on_closed_watcher(void *arg)
{
    (void) arg;
}

static void
on_api_closed(void *arg)
{
    (void) arg;
}

static void
close_all(strata_daemon *d)
{
    cycle_set_phase(d, STRATA_PHASE_DONE);
    uv_timer_stop(&d->stop_timer);
    uv_close((uv_handle_t *) &d->stop_timer, NULL);
    uv_close((uv_handle_t *) &d->plan_timer, NULL);
    uv_close((uv_handle_t *) &d->scan_timer, NULL);
    uv_close((uv_handle_t *) &d->scan_kick, NULL);
    uv_close((uv_handle_t *) &d->graph_timer, NULL);
    strata_daemon__discover_close(d);
    strata_daemon__stream_close(d);
    uv_close((uv_handle_t *) &d->sig_term, NULL);
    uv_close((uv_handle_t *) &d->sig_int, NULL);
    uv_close((uv_handle_t *) &d->sig_hup, NULL);
    strata_watcher_close(d->watcher, on_closed_watcher, d);
    d->watcher = NULL;
    strata_notify_close(d->notify, NULL, NULL);
    d->notify = NULL;
    strata_registry_close(d->registry);
    d->registry = NULL;
    if (d->api != NULL)
        strata_api_close(d->api, on_api_closed, d);
    d->api = NULL;
    strata_runner_close(d->runner);
    d->runner = NULL;
}

static void
on_stop_timer(uv_timer_t *t)
{
    strata_daemon *d = t->data;

    /* Jobs under way finish (bounded); their children are theirs. */
    if (!d->scanning && d->evidence_running == 0 &&
        !strata_daemon__discover_running(d) &&
        (strata_runner_running(d->runner) == 0 ||
         strata_now_ms() - d->stop_started >= DRAIN_MS)) {
        if (strata_runner_running(d->runner) > 0)
            log_warn("%d jobs still running: they will be re-queued at the "
                     "next start",
                     strata_runner_running(d->runner));
        close_all(d);
    }
}

static void
daemon_stop(strata_daemon *d, int exit_code)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    d->ready = 0;
    d->exit_code = exit_code;
    d->stop_started = strata_now_ms();
    cycle_set_phase(d, STRATA_PHASE_STOPPING);
    strata_watcher_stop(d->watcher);
    /* A scan under way ends within about 100 ms, even mid-fetch. */
    strata_vcs_cancel_set(d->cancel);
    uv_timer_stop(&d->plan_timer);
    uv_timer_stop(&d->scan_timer);
    strata_runner_pause(d->runner);
    uv_timer_start(&d->stop_timer, on_stop_timer, 0, 100);
}

/* ---- life cycle ----------------------------------------------------- */

int
strata_daemon_new(strata_daemon **out, const strata_daemon_opts *opts,
                  strata_error *err)
{
    strata_config_problems *problems = strata_config_problems_new();
    strata_watcher_options wopts = {0};
    strata_store_options sopts = {0};
    strata_daemon *d = strata_xcalloc(1, sizeof(*d));
    int rc, n;
    size_t i;

    *out = NULL;
    d->opts = *opts;
    d->cancel = strata_vcs_cancel_new();
    uv_loop_init(&d->loop);
    d->evidence_reads = strata_strmap_new();
    d->evidence_held = strata_strmap_new();
    rc = strata_config_load_or_default(&d->config, opts->config_path,
                                       opts->config_explicit, problems, err);
    if (rc != 0) {
        for (i = 0; i < strata_config_problems_count(problems); i++)
            fprintf(stderr, "%s\n",
                    strata_config_problems_get(problems, i)->text);
        goto fail;
    }
    d->cfg = strata_config_data_get(d->config);
    /* The golden catalog: its entries are watched, under their policies. */
    if (d->cfg->catalog != NULL &&
        (rc = strata_catalog_load(&d->catalog, d->cfg->catalog, problems,
                                  err)) != 0) {
        for (i = 0; i < strata_config_problems_count(problems); i++)
            fprintf(stderr, "%s\n",
                    strata_config_problems_get(problems, i)->text);
        goto fail;
    }
    /* The config's log section, unless the command line said otherwise. */
    if (!opts->log_explicit)
        strata_log_setup((strata_log_level) d->cfg->log.level,
                         (strata_log_format) d->cfg->log.format);
    /* state_check: every page read before anything is written; a damaged
     * database is refused, never written to. */
    sopts.check = (strata_store_check_mode) d->cfg->state_check;
    if (sopts.check != STRATA_STORE_CHECK_NONE)
        log_info("state_check: checking '%s' (%s)", d->cfg->state,
                 sopts.check == STRATA_STORE_CHECK_FULL ? "integrity_check"
                                                        : "quick_check");
    if ((rc = strata_store_open_with(&d->store, d->cfg->state, &sopts, err)) !=
        0) {
        if (rc == STRATA_ESTATE && sopts.check != STRATA_STORE_CHECK_NONE) {
            log_error("state_check: `strata check-state` lists every "
                      "problem; restore a backup (README, Operations)");
            strata_error_wrap(err, "refusing to start");
        }
        goto fail;
    }
    /* Crash recovery: whatever was running when we died runs again. */
    if ((rc = strata_store_job_requeue_running(&n, d->store, err)) != 0)
        goto fail;
    if (n > 0)
        log_info("re-queued %d jobs left running by a previous run", n);
    d->cache_dir = opts->cache_dir
                       ? strata_xstrdup(opts->cache_dir)
                       : strata_graph_default_cache_dir(d->cfg->state);
    if ((rc = strata_registry_new(&d->registry, &d->loop, NULL, err)) != 0)
        goto fail;
    strata_watcher_options_from_config(&wopts, d->config);
    wopts.on_record = on_record;
    wopts.on_gate = on_gate;
    wopts.on_change = on_change;
    wopts.on_error = on_watch_error;
    wopts.arg = d;
    if ((rc = strata_watcher_new(&d->watcher, &d->loop, d->store, d->registry,
                                 &wopts, err)) != 0 ||
        (rc = strata_watcher_configure_catalog(d->watcher, d->config,
                                               d->catalog, NULL, err)) != 0)
        goto fail;
    if ((rc = strata_notify_new(&d->notify, &d->loop, d->store, d->cfg->notify,
                                d->cfg->n_notify, NULL, err)) != 0 ||
        (rc = strata_notify_start(d->notify, err)) != 0)
        goto fail;
    d->env.notify = d->notify;
    d->env.loop = &d->loop;
    d->env.config = d->config;
    d->env.cfg = d->cfg;
    d->env.store = d->store;
    d->env.registry = d->registry;
    d->env.cache_dir = d->cache_dir;
    d->env.errors = &d->errors;
    d->env.cancel = d->cancel;
    if ((rc = strata_runner_new(&d->runner, &d->loop, &d->env, 0, err)) != 0)
        goto fail;
    /* The graph the store has from before: the daemon plans with it (and
     * watches its bases) at once, before any repository is scanned. */
    if ((rc = strata_daemon__load_graph(d, err)) != 0) {
        strata_error_wrap(err, "loading the graph");
        goto fail;
    }
    uv_timer_init(&d->loop, &d->plan_timer);
    uv_timer_init(&d->loop, &d->scan_timer);
    uv_timer_init(&d->loop, &d->stop_timer);
    uv_timer_init(&d->loop, &d->scan_kick);
    uv_timer_init(&d->loop, &d->graph_timer);
    strata_daemon__stream_init(d);
    strata_daemon__discover_init(d);
    d->plan_timer.data = d->scan_timer.data = d->stop_timer.data = d;
    d->scan_kick.data = d->graph_timer.data = d;
    uv_signal_init(&d->loop, &d->sig_term);
    uv_signal_init(&d->loop, &d->sig_int);
    uv_signal_init(&d->loop, &d->sig_hup);
    d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
    uv_signal_start(&d->sig_term, on_signal, SIGTERM);
    uv_signal_start(&d->sig_int, on_signal, SIGINT);
    uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
    if (opts->once)
        d->once_report =
            json_pack("{s:[], s:[], s:[]}", "changes", "plan", "errors");
    else if ((rc = strata_daemon__api_start(d, err)) != 0) {
        close_all(d);
        uv_run(&d->loop, UV_RUN_DEFAULT);
        goto fail;
    }
    strata_config_problems_free(problems);
    /* The parsed YAML document and the configuration's copies are gone. */
    strata_release_free_memory();
    *out = d;
    return 0;
fail:
    strata_config_problems_free(problems);
    strata_daemon_free(d);
    return rc;
}

int
strata_daemon_run(strata_daemon *d)
{
    strata_daemon__cycle_step(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    return d->exit_code;
}

const json_t *
strata_daemon_report(const strata_daemon *d)
{
    return d->once_report;
}

void
strata_daemon_free(strata_daemon *d)
{
    size_t i;

    if (d == NULL)
        return;
    if (d->watcher != NULL || d->registry != NULL || d->runner != NULL ||
        d->notify != NULL) {
        /* Construction failed half-way: close what exists, run it down. */
        strata_watcher_close(d->watcher, NULL, NULL);
        strata_notify_close(d->notify, NULL, NULL);
        strata_registry_close(d->registry);
        strata_runner_close(d->runner);
        uv_run(&d->loop, UV_RUN_DEFAULT);
    }
    if (uv_loop_close(&d->loop) != 0)
        log_warn("the loop still had handles at exit");
    strata_graph_free(d->graph);
    strata_store_close(d->store);
    strata_daemon__discover_free(d);
    strata_config_free(d->config);
    strata_catalog_free(d->catalog);
    for (i = 0; i < d->nretired; i++)
        strata_config_free(d->retired[i]);
    free(d->retired);
    free(d->cache_dir);
    strata_vcs_cancel_free(d->cancel);
    json_decref(d->once_report);
    strata_strmap_free(d->evidence_reads);
    if (d->evidence_held != NULL) {
        size_t it = 0;
        const char *k;
        void *v;

        while (strata_strmap_next(d->evidence_held, &it, &k, &v))
            free(v);
        strata_strmap_free(d->evidence_held);
    }
    strata_buf_release(&d->report_gauges);
    strata_metrics_free(d->metrics);
    free(d);
}
