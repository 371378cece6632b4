/*
 * evidence.c - the reads that pull_requests.evidence.hold_on needs: for
 * each update the planner left "awaiting-evidence", the package delta of
 * its old and new digest, read in a uv_queue_work worker (packages/, with
 * a store connection of the worker's own, which keeps each digest read,
 * and the registry's credentials copied: a SIGHUP may retire the
 * configuration meanwhile), at most one read per base at a time. The
 * verdict is written on the loop as the row "evidence:REF" (jobs/hold.c)
 * and the daemon plans again. A read that fails is a row too, with its
 * error and a backoff: the daemon tries again once it has passed, `run
 * --once` once per run whatever the backoff (the next run is its retry).
 * A hold is recorded once per digest as the event base.held.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon-int.h"

/* Read in flight (a strata_strmap value), or done in this --once run. */
#define EV_RUNNING ((void *) 1)
#define EV_TRIED ((void *) 2)

typedef struct ev_work {
    uv_work_t work;
    strata_daemon *d;
    char *store_path;
    char *ref, *old, *new_, *platform;
    /* The registry's credentials and TLS options, copied. */
    char *username, *password, *ca_file;
    int insecure;
    unsigned attempts; /* failed reads before this one */
    json_t *row;       /* the worker's answer */
} ev_work;

static void
work_free(ev_work *w)
{
    free(w->store_path);
    free(w->ref);
    free(w->old);
    free(w->new_);
    free(w->platform);
    free(w->username);
    free(w->password);
    free(w->ca_file);
    json_decref(w->row);
    free(w);
}

static void
ev_work_cb(uv_work_t *req)
{
    ev_work *w = req->data;
    strata_registry_opts opts = {0};
    strata_store *st = NULL;
    strata_error err = {0};

    opts.username = w->username;
    opts.password = w->password;
    opts.ca_file = w->ca_file;
    opts.insecure = w->insecure;
    opts.max_retries = 1;
    /* Each request's deadline covers a whole layer: bounded, so that a
     * stop waits for the read at most this long. */
    opts.timeout_ms = 120000;
    /* The store only keeps what is read: without it, the read still is. */
    if (w->store_path != NULL &&
        strata_store_open(&st, w->store_path, &err) != 0) {
        log_warn("evidence of %s: packages not kept: %s", w->ref, err.msg);
        st = NULL;
    }
    w->row = strata_hold_read_sync(st, &opts, w->ref, w->old, w->new_,
                                   w->platform, w->attempts, strata_now_ms());
    strata_store_close(st);
}

static void
ev_done_cb(uv_work_t *req, int status)
{
    ev_work *w = req->data;
    strata_daemon *d = w->d;
    strata_error err = {0};
    const char *error = json_string_value(json_object_get(w->row, "error"));

    d->evidence_running--;
    strata_strmap_put(d->evidence_reads, w->ref,
                      d->opts.once ? EV_TRIED : NULL);
    if (status != 0 || w->row == NULL) {
        log_warn("evidence of %s: the read was cancelled", w->ref);
    } else {
        if (error != NULL) {
            /* Shown by `strata plan`; the update waits, never decided. */
            log_warn("evidence of %s (%s -> %s): %s; trying again later",
                     w->ref, w->old, w->new_, error);
            d->evidence_errors++;
            if (d->once_report != NULL)
                json_array_append_new(
                    json_object_get(d->once_report, "errors"),
                    json_pack("{s:s, s:s}", "ref", w->ref, "error", error));
        } else {
            log_info("evidence of %s (%s -> %s): %s", w->ref, w->old, w->new_,
                     json_string_value(json_object_get(w->row, "summary")));
        }
        if (strata_hold_record(d->store, w->ref, w->row, &err) != 0)
            strata_daemon__error(d, "recording the package evidence", &err);
    }
    work_free(w);
    if (d->stopping)
        return;
    strata_daemon__plan(d);
    if (d->phase == STRATA_PHASE_PLAN && d->evidence_running == 0)
        strata_daemon__cycle_step(d);
}

/*
 * The platforms read, comma-separated: each one the base's watch lists
 * (at most 8, as the pr evidence reads them), else linux/amd64. New
 * string.
 */
static char *
platforms_of(const strata_config_data *cfg, const char *ref)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i, j;

    for (i = 0; i < cfg->watch.n_bases; i++) {
        const strata_config_base *cb = &cfg->watch.bases[i];

        if (strcmp(cb->ref, ref) != 0)
            continue;
        for (j = 0; j < cb->platforms.count && j < 8; j++)
            strata_buf_printf(&b, "%s%s", b.len ? "," : "",
                              cb->platforms.items[j]);
        break;
    }
    if (b.len == 0)
        strata_buf_puts(&b, "linux/amd64");
    return strata_buf_detach(&b);
}

/* Starts the read of update u's delta, unless one is due later. */
static void
start_read(strata_daemon *d, const json_t *u)
{
    const char *ref = json_string_value(json_object_get(u, "base"));
    const char *old = json_string_value(json_object_get(u, "old"));
    const char *new_ = json_string_value(json_object_get(u, "new"));
    const json_t *row = json_object_get(u, "evidence");
    const strata_config_registry *r;
    strata_ref *parsed = NULL;
    strata_error err = {0};
    ev_work *w;

    if (ref == NULL || old == NULL || new_ == NULL ||
        strata_strmap_get(d->evidence_reads, ref) != NULL)
        return;
    /* A failed read waits for its backoff; --once tries once per run. */
    if (!d->opts.once && json_object_get(row, "error") != NULL &&
        json_integer_value(json_object_get(row, "retry_at")) > strata_now_ms())
        return;
    if (strata_ref_parse(&parsed, ref, &err) != 0) {
        strata_daemon__error(d, "reading the package evidence", &err);
        return;
    }
    w = strata_xcalloc(1, sizeof(*w));
    w->d = d;
    w->ref = strata_xstrdup(ref);
    w->old = strata_xstrdup(old);
    w->new_ = strata_xstrdup(new_);
    w->platform = platforms_of(d->cfg, ref);
    w->attempts =
        (unsigned) json_integer_value(json_object_get(row, "attempts"));
    /* An in-memory store cannot be shared: nothing is kept then. */
    if (strata_store_path(d->store) != NULL &&
        strcmp(strata_store_path(d->store), ":memory:") != 0)
        w->store_path = strata_xstrdup(strata_store_path(d->store));
    if ((r = strata_config_registry_find(d->config,
                                         strata_ref_domain(parsed))) != NULL) {
        strata_registry_opts o = {0};

        strata_config_registry_opts(&o, r);
        w->username = o.username ? strata_xstrdup(o.username) : NULL;
        w->password = o.password ? strata_xstrdup(o.password) : NULL;
        w->ca_file = o.ca_file ? strata_xstrdup(o.ca_file) : NULL;
        w->insecure = o.insecure;
    }
    strata_ref_free(parsed);
    w->work.data = w;
    if (uv_queue_work(&d->loop, &w->work, ev_work_cb, ev_done_cb) != 0) {
        strata_error_set(&err, STRATA_EINTERNAL,
                         "cannot queue the package evidence of '%s'", ref);
        strata_daemon__error(d, "reading the package evidence", &err);
        work_free(w);
        return;
    }
    strata_strmap_put(d->evidence_reads, ref, EV_RUNNING);
    d->evidence_running++;
}

/* A hold, recorded once per base digest: the event base.held. */
static void
record_hold(strata_daemon *d, const json_t *u)
{
    const char *ref = json_string_value(json_object_get(u, "base"));
    const char *new_ = json_string_value(json_object_get(u, "new"));
    const json_t *row = json_object_get(u, "evidence");
    strata_error err = {0};
    const char *told = strata_strmap_get(d->evidence_held, ref);
    char *key;
    json_t *payload;

    /* Planned every few seconds: announced once, not asked each time. */
    if (told != NULL && strcmp(told, new_) == 0)
        return;
    key = strata_xasprintf("base.held:%s:%s", ref, new_);
    payload = json_pack(
        "{s:s, s:s*, s:s, s:s*, s:s*, s:s}", "base", ref, "old_digest",
        json_string_value(json_object_get(u, "old")), "new_digest", new_,
        "reason", json_string_value(json_object_get(u, "hold_reason")),
        "packages", json_string_value(json_object_get(row, "summary")),
        "severity", "warning");

    if (strata_jobs_event_once(&d->env, key, "base.held", ref, payload, &err) !=
        0)
        strata_daemon__error(d, "recording event 'base.held'", &err);
    else
        free(strata_strmap_put(d->evidence_held, ref, strata_xstrdup(new_)));
    free(key);
}

void
strata_daemon__evidence(strata_daemon *d, const json_t *plan)
{
    const json_t *u;
    size_t i;

    if (d->stopping)
        return;
    json_array_foreach (plan, i, u) {
        const char *state = json_string_value(json_object_get(u, "state"));

        if (state == NULL)
            continue;
        if (strcmp(state, "awaiting-evidence") == 0)
            start_read(d, u);
        else if (strcmp(state, "held") == 0)
            record_hold(d, u);
    }
}
