/*
 * routes.c - what the daemon serves over its HTTP API: the watched
 * bases (each with its update not planned yet, and why), the images and the
 * graph, jobs and events (paginated with ?limit=&after=, the next cursor in
 * "next"), Prometheus metrics, and the webhook endpoints (daemon-hooks.c), and
 * one write: the signature override POST /api/v1/bases/approve; the event
 * stream (stream.c), a base's package delta (diff.c) and the dashboard's assets
 * (dashboard/). The HTTP itself is api-server.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon-int.h"
#include "dashboard.h"
#include "notify.h"
#include "report.h"
#include "watchers.h"

static int
parse_after(int64_t *out, const strata_api_page *page)
{
    char *end = NULL;
    long long v;

    *out = 0;
    if (page->after == NULL)
        return 0;
    v = strtoll(page->after, &end, 10);
    if (*page->after == '\0' || *end != '\0' || v < 0)
        return STRATA_EINVAL;
    *out = v;
    return 0;
}

/* Answers a paginated list: {"items": [...], "next": "id"|null}. */
static void
respond_page(strata_api_req *req, json_t *items, long limit)
{
    json_t *last = json_array_get(items, json_array_size(items) - 1);
    json_t *doc = json_object();

    json_object_set(doc, "items", items);
    if ((long) json_array_size(items) == limit && last != NULL)
        json_object_set_new(
            doc, "next",
            json_sprintf("%lld", (long long) json_integer_value(
                                     json_object_get(last, "id"))));
    else
        json_object_set_new(doc, "next", json_null());
    strata_api_respond_json(req, 200, doc);
    json_decref(doc);
}

/*
 * One page of a store list: ?limit=&after= and one filter parameter.
 * fetch() gets the filter's value (NULL when absent) and returns 0, a
 * store error (500), or STRATA_EINVAL for a bad filter value (400).
 */
typedef int (*list_fetch)(json_t **out, strata_daemon *d, int64_t after,
                          int limit, const char *filter, strata_error *err);

/* The newest row's id of a list (0 when empty). */
typedef int (*list_last)(int64_t *out, strata_store *st, strata_error *err);

/*
 * ?tail=N (1..500, without ?after=): the page of the newest N rows, by
 * id, starting after the newest id less N, so a dashboard reads the end
 * of a long log without paging through it.
 */
static int
parse_tail(int64_t *after, strata_api_page *page, strata_api_req *req,
           strata_daemon *d, list_last last_fn, strata_error *err)
{
    char *tail = NULL, *end = NULL;
    int64_t last = 0;
    long n;
    int rc = 0;

    if (strata_api_req_query(&tail, req, "tail", err) != 0 || tail == NULL)
        goto out;
    n = strtol(tail, &end, 10);
    if (tail[0] < '0' || tail[0] > '9' || *end != '\0' || n < 1 || n > 500 ||
        page->after != NULL) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "bad 'tail': want an integer from 1 to 500, "
                              "without 'after'");
        goto out;
    }
    if ((rc = last_fn(&last, d->store, err)) != 0)
        goto out;
    *after = last > n ? last - n : 0;
    page->limit = n;
out:
    free(tail);
    return rc;
}

static void
respond_list(strata_api_req *req, strata_daemon *d, const char *filter_name,
             list_fetch fetch, list_last last_fn)
{
    strata_api_page page = {0};
    strata_error err = {0};
    json_t *items = NULL;
    char *filter = NULL;
    int64_t after;
    int rc;

    if (strata_api_req_page(&page, req, 50, 500, &err) != 0 ||
        parse_after(&after, &page) != 0) {
        strata_api_respond_error(req, 400, "%s",
                                 err.code ? err.msg : "bad 'after'");
        goto out;
    }
    if (last_fn != NULL &&
        (rc = parse_tail(&after, &page, req, d, last_fn, &err)) != 0) {
        strata_api_respond_error(req, rc == STRATA_EINVAL ? 400 : 500, "%s",
                                 err.msg);
        goto out;
    }
    strata_api_req_query(&filter, req, filter_name, NULL);
    rc = fetch(&items, d, after, (int) page.limit, filter, &err);
    if (rc != 0) {
        strata_api_respond_error(req, rc == STRATA_EINVAL ? 400 : 500, "%s",
                                 err.msg);
        goto out;
    }
    respond_page(req, items, page.limit);
out:
    json_decref(items);
    free(page.after);
    free(filter);
}

static int
fetch_jobs(json_t **out, strata_daemon *d, int64_t after, int limit,
           const char *state_name, strata_error *err)
{
    strata_store_job_state state;

    if (state_name != NULL &&
        strata_store_job_state_parse(&state, state_name) != 0)
        return strata_error_set(err, STRATA_EINVAL, "unknown job state '%s'",
                                state_name);
    return strata_store_job_list(out, d->store, after, limit,
                                 state_name ? (int) state : -1, err);
}

static int
fetch_events(json_t **out, strata_daemon *d, int64_t after, int limit,
             const char *type, strata_error *err)
{
    return strata_store_event_list(out, d->store, after, limit, type, err);
}

/* The notification outbox: pending, sending, sent and dead letters. */
static int
fetch_outbox(json_t **out, strata_daemon *d, int64_t after, int limit,
             const char *state_name, strata_error *err)
{
    strata_store_outbox_state state;

    if (state_name != NULL &&
        strata_store_outbox_state_parse(&state, state_name) != 0)
        return strata_error_set(err, STRATA_EINVAL, "unknown outbox state '%s'",
                                state_name);
    return strata_notify_outbox_list(
        out, d->store, state_name ? (int) state : -1, after, limit, err);
}

static void
on_jobs(strata_api_req *req, void *arg)
{
    respond_list(req, arg, "state", fetch_jobs, strata_store_job_last_id);
}

static void
on_events(strata_api_req *req, void *arg)
{
    respond_list(req, arg, "type", fetch_events, strata_store_event_last_id);
}

static void
on_outbox(strata_api_req *req, void *arg)
{
    respond_list(req, arg, "state", fetch_outbox, NULL);
}

/*
 * Each base's pending update, by ref (new): the planner's dry run over
 * the store, as `strata plan` shows it (the state, why it waits or is
 * held, hold_on's package evidence and, for a failed read, its error and
 * retry_at), never a registry read. The jobs a due update would enqueue
 * ("waves") are left to /api/v1/jobs once planned: planned with no graph.
 */
static int
pending_updates(json_t **out, strata_daemon *d, strata_error *err)
{
    /* An empty graph: the states alike, no wave computed to be dropped. */
    strata_graph *empty = strata_graph_new();
    json_t *plan = NULL, *u;
    size_t i;
    int rc;

    *out = json_object();
    rc = strata_plan_updates_catalog(&plan, d->store, empty, d->cfg, d->catalog,
                                     1, strata_now_ms(), err);
    strata_graph_free(empty);
    if (rc != 0)
        return rc;
    json_array_foreach (plan, i, u) {
        const char *ref = json_string_value(json_object_get(u, "base"));

        if (ref == NULL)
            continue;
        json_object_set(*out, ref, u);
        /* ref is u's: gone with "base". */
        json_object_del(u, "base");
        json_object_del(u, "waves");
    }
    json_decref(plan);
    return 0;
}

static void
on_bases(strata_api_req *req, void *arg)
{
    strata_daemon *d = arg;
    strata_error err = {0};
    json_t *states = NULL, *updates = NULL, *doc, *s, *gate, *u;
    size_t i;

    if (strata_store_watch_states(&states, d->store, &err) != 0 ||
        pending_updates(&updates, d, &err) != 0) {
        strata_api_respond_error(req, 500, "%s", err.msg);
        json_decref(states);
        json_decref(updates);
        return;
    }
    /* The verification gate's state of each base with a policy. */
    json_array_foreach (states, i, s) {
        gate = strata_watchers_gate_get(
            d->store, json_string_value(json_object_get(s, "ref")));
        if (gate != NULL) {
            json_object_del(gate, "digests");
            json_object_set_new(s, "verify", gate);
        }
        /* Its update not planned yet, and why (held, soaking...). */
        u = json_object_get(updates,
                            json_string_value(json_object_get(s, "ref")));
        if (u != NULL)
            json_object_set(s, "update", u);
    }
    json_decref(updates);
    doc = json_pack("{s:o}", "items", states);
    strata_api_respond_json(req, 200, doc);
    json_decref(doc);
}

/*
 * The watch key a client's ref names: the canonical tag (a digest
 * dropped); for a tag-policy watch, its repository, when that is what has
 * a gate row. New string.
 */
static char *
approve_key(strata_daemon *d, const strata_ref *bare)
{
    json_t *row = strata_watchers_gate_get(d->store, strata_ref_string(bare));
    char *key;

    if (row == NULL && (row = strata_watchers_gate_get(
                            d->store, strata_ref_name(bare))) != NULL)
        key = strata_xstrdup(strata_ref_name(bare));
    else
        key = strata_xstrdup(strata_ref_string(bare));
    json_decref(row);
    return key;
}

/*
 * POST /api/v1/bases/approve {"ref", "digest"} without "unsigned": what
 * `strata approve REF [--digest D]` does. It lets a held update go ahead
 * (watch.approval, pull_requests.evidence.hold_on): approved:REF = the
 * base's current digest, which digest, when given, must be (409 when the
 * base moved on: the approval would silently not apply; 404 when the
 * base has no digest yet). 200 {"base", "digest", "approved_by"}.
 */
static void
approve_update(strata_api_req *req, strata_daemon *d, const strata_ref *ref,
               const char *digest)
{
    strata_store_watch_state ws = {0};
    strata_ref *bare = NULL;
    strata_error err = {0};
    char *key = NULL;
    json_t *doc;
    int status = 500;

    if (strata_ref_with_digest(&bare, ref, NULL, &err) != 0) {
        status = 400;
        goto fail;
    }
    if (digest != NULL && strata_digest_validate(digest, &err) != 0) {
        status = 400;
        goto fail;
    }
    if (strata_store_watch_state_get(&ws, d->store, strata_ref_string(bare),
                                     &err) == STRATA_ENOTFOUND ||
        (err.code == 0 && ws.current_digest == NULL)) {
        strata_error_set(&err, STRATA_ENOTFOUND, "'%s' has no digest yet",
                         strata_ref_string(bare));
        status = 404;
        goto fail;
    }
    if (err.code != 0)
        goto fail;
    if (digest != NULL && strcmp(digest, ws.current_digest) != 0) {
        strata_error_set(&err, STRATA_ECONFLICT,
                         "'%s' is at %s now, not %s: nothing approved",
                         strata_ref_string(bare), ws.current_digest, digest);
        status = 409;
        goto fail;
    }
    key = strata_xasprintf("approved:%s", strata_ref_string(bare));
    if (strata_store_meta_set(d->store, key, ws.current_digest, &err) != 0)
        goto fail;
    log_info("approved %s@%s (api token)", strata_ref_string(bare),
             ws.current_digest);
    doc = json_pack("{s:s, s:s, s:s}", "base", strata_ref_string(bare),
                    "digest", ws.current_digest, "approved_by", "api token");
    strata_api_respond_json(req, 200, doc);
    json_decref(doc);
    /* Planned now, not at the next tick. */
    strata_daemon__plan(d);
    goto out;
fail:
    strata_api_respond_error(req, status, "%s", err.msg);
out:
    free(key);
    strata_store_watch_state_release(&ws);
    strata_ref_free(bare);
}

/*
 * POST /api/v1/bases/approve {"ref", "digest", "unsigned": true}: what
 * `strata approve BASE@DIGEST --unsigned` does, over the API. It overrides
 * the signature gate for that digest (awaiting, quarantined or
 * unverified) and records base.unsigned_approved naming the approver,
 * "api token" (the API has one token). Served only when api.token is set:
 * an override nobody can be held to account for is refused (403).
 * 200 {"base", "digest", "approved_by", "prior_state"}; 400 bad body;
 * 404 no verdict for that base; 409 another digest, or verified or
 * approved already.
 */
static void
on_approve(strata_api_req *req, void *arg)
{
    strata_daemon *d = arg;
    strata_error err = {0};
    json_error_t jerr;
    json_t *body = NULL, *row = NULL, *doc;
    strata_ref *ref = NULL, *bare = NULL;
    const char *r, *digest;
    char *key = NULL;
    const void *data;
    size_t len;
    int status;

    if (d->cfg->api.token == NULL) {
        strata_api_respond_error(req, 403,
                                 "approving over the API needs an API token "
                                 "(api.token): use strata approve");
        return;
    }
    data = strata_api_req_body(req, &len);
    body = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(body)) {
        strata_api_respond_error(req, 400,
                                 "the body must be a JSON object {\"ref\", "
                                 "\"digest\", \"unsigned\": true}: %s",
                                 body ? "not an object" : jerr.text);
        goto out;
    }
    r = json_string_value(json_object_get(body, "ref"));
    digest = json_string_value(json_object_get(body, "digest"));
    if (r == NULL || strata_ref_parse(&ref, r, &err) != 0) {
        strata_api_respond_error(req, 400,
                                 "'ref' must be an image reference%s%s",
                                 r ? ": " : "", r ? err.msg : "");
        goto out;
    }
    if (digest == NULL)
        digest = strata_ref_digest(ref);
    if (!json_is_true(json_object_get(body, "unsigned"))) {
        approve_update(req, d, ref, digest);
        goto out;
    }
    if (digest == NULL || strata_digest_validate(digest, &err) != 0) {
        strata_api_respond_error(req, 400,
                                 "'digest' (or ref@digest) must name the "
                                 "digest let through%s%s",
                                 digest ? ": " : "", digest ? err.msg : "");
        goto out;
    }
    if (strata_ref_with_digest(&bare, ref, NULL, &err) != 0) {
        strata_api_respond_error(req, 400, "%s", err.msg);
        goto out;
    }
    key = approve_key(d, bare);
    if (strata_watchers_gate_approve(d->store, key, digest, "api token",
                                     strata_now_ms(), &err) != 0) {
        status = err.code == STRATA_ENOTFOUND   ? 404
                 : err.code == STRATA_ECONFLICT ? 409
                                                : 500;
        strata_api_respond_error(req, status, "%s", err.msg);
        goto out;
    }
    row = strata_watchers_gate_get(d->store, key);
    doc = json_pack("{s:s, s:s, s:s, s:s*}", "base", key, "digest", digest,
                    "approved_by", "api token", "prior_state",
                    json_string_value(json_object_get(row, "prior_state")));
    strata_api_respond_json(req, 200, doc);
    json_decref(doc);
    /* Planned now, not at the next tick. */
    strata_daemon__plan(d);
out:
    json_decref(body);
    json_decref(row);
    strata_ref_free(ref);
    strata_ref_free(bare);
    free(key);
}

static void
on_graph(strata_api_req *req, void *arg)
{
    strata_daemon *d = arg;
    strata_buf b = STRATA_BUF_INIT;

    if (d->graph == NULL) {
        strata_api_respond_error(req, 503, "the graph is not loaded yet");
        return;
    }
    strata_graph_render(&b, d->graph, STRATA_GRAPH_JSON);
    strata_api_respond(req, 200, "application/json", b.ptr, b.len);
    strata_buf_release(&b);
}

static void
on_images(strata_api_req *req, void *arg)
{
    strata_daemon *d = arg;
    json_t *items = json_array(), *doc;
    size_t i, n;

    if (d->graph == NULL) {
        strata_api_respond_error(req, 503, "the graph is not loaded yet");
        json_decref(items);
        return;
    }
    n = strata_graph_node_count(d->graph);
    for (i = 0; i < n; i++) {
        const char *ref = strata_graph_node_ref(d->graph, i);
        const char **anc = NULL;
        size_t nanc = 0, j;
        json_t *bases = json_array();

        if (strata_graph_node_kind(d->graph, i) == STRATA_GRAPH_BASE)
            continue;
        strata_graph_ancestors(&anc, &nanc, d->graph, ref, NULL);
        for (j = 0; j < nanc; j++)
            json_array_append_new(bases, json_string(anc[j]));
        free(anc);
        json_array_append_new(
            items,
            json_pack("{s:s, s:s, s:o}", "image", ref, "kind",
                      strata_graph_node_kind(d->graph, i) == STRATA_GRAPH_IMAGE
                          ? "image"
                          : "dockerfile",
                      "bases", bases));
    }
    doc = json_pack("{s:o}", "items", items);
    strata_api_respond_json(req, 200, doc);
    json_decref(doc);
}

/* The stale report as the CLI computes it; *out is new. */
static int
stale_report(json_t **out, strata_daemon *d, strata_error *err)
{
    strata_catalog *cat = NULL;
    strata_report_options o = {0};
    int rc = 0;

    if (d->cfg->catalog != NULL &&
        (rc = strata_catalog_load(&cat, d->cfg->catalog, NULL, err)) != 0)
        return rc;
    o.catalog = cat;
    o.cfg = d->cfg;
    rc = strata_report_stale(out, d->store, d->graph, &o, err);
    strata_catalog_free(cat);
    return rc;
}

static void
on_report(strata_api_req *req, void *arg)
{
    static const char *const types[] = {
        "text/plain; charset=utf-8", "application/json", "text/csv",
        "text/markdown; charset=utf-8", "text/html; charset=utf-8"};
    strata_daemon *d = arg;
    strata_report_format format = STRATA_REPORT_JSON;
    strata_buf b = STRATA_BUF_INIT;
    strata_error err = {0};
    json_t *report = NULL;
    char *f = NULL;

    if (strata_api_req_query(&f, req, "format", NULL) == 0 && f != NULL &&
        strata_report_parse_format(&format, f) != 0) {
        strata_api_respond_error(req, 400, "unknown format '%s'", f);
        free(f);
        return;
    }
    free(f);
    if (d->graph == NULL) {
        strata_api_respond_error(req, 503, "the graph is not loaded yet");
        return;
    }
    if (stale_report(&report, d, &err) != 0) {
        strata_api_respond_error(req, 500, "%s", err.msg);
        return;
    }
    strata_report_render(&b, report, format, 0);
    strata_api_respond(req, 200, types[format], b.ptr, b.len);
    strata_buf_release(&b);
    json_decref(report);
}

static int
on_ready(void *arg)
{
    strata_daemon *d = arg;

    return d->ready;
}

/* The daemon's own families, in its registry (the API server adds the
 * HTTP request metrics to the same one). */
static void
define_metrics(strata_metrics *m)
{
    static const struct {
        strata_metric_kind kind;
        const char *name, *help;
    } families[] = {
        {STRATA_METRIC_GAUGE, "strata_watches", "Watched references."},
        {STRATA_METRIC_COUNTER, "strata_checks_total", "Registry checks."},
        {STRATA_METRIC_COUNTER, "strata_check_errors_total", "Failed checks."},
        {STRATA_METRIC_COUNTER, "strata_base_changes_total",
         "Base updates seen."},
        {STRATA_METRIC_GAUGE, "strata_registry_ratelimit_remaining",
         "Requests left in the registry's rate-limit window."},
        {STRATA_METRIC_GAUGE, "strata_jobs", "Jobs by state."},
        {STRATA_METRIC_GAUGE, "strata_forge_ratelimit_remaining",
         "Requests left in the forge's rate-limit window (discovery)."},
    };
    size_t i;

    for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        strata_metrics_define(m, families[i].kind, families[i].name,
                              families[i].help, NULL, 0, NULL);
}

static void
on_metrics(strata_buf *out, void *arg)
{
    strata_daemon *d = arg;
    int64_t counts[STRATA_STORE_JOB_NSTATES];
    strata_watcher_stats ws;
    size_t i;

    strata_watcher_stats_get(&ws, d->watcher);
    strata_metrics_set(d->metrics, "strata_watches", NULL, (double) ws.watches);
    strata_metrics_set(d->metrics, "strata_checks_total", NULL,
                       (double) ws.checks);
    strata_metrics_set(d->metrics, "strata_check_errors_total", NULL,
                       (double) ws.errors);
    strata_metrics_set(d->metrics, "strata_base_changes_total", NULL,
                       (double) ws.changes);
    for (i = 0; i < d->cfg->n_registries; i++) {
        const char *host = d->cfg->registries[i].host;
        const char *labels[] = {"registry", host, NULL};
        long left = strata_watcher_ratelimit_remaining(d->watcher, host);

        if (left >= 0)
            strata_metrics_set(d->metrics,
                               "strata_registry_ratelimit_remaining", labels,
                               (double) left);
    }
    if (strata_store_job_count(counts, d->store, NULL) == 0) {
        for (i = 0; i < STRATA_STORE_JOB_NSTATES; i++) {
            const char *labels[] = {
                "state",
                strata_store_job_state_name((strata_store_job_state) i), NULL};

            strata_metrics_set(d->metrics, "strata_jobs", labels,
                               (double) counts[i]);
        }
    }
    strata_daemon__rollout_gauges(out, d);
    if (d->graph != NULL) {
        /*
         * The report's gauges cost a pass over every image: scrapes
         * within a minute get the same text. They are written straight
         * from the report (a registry of 300,000 series would not be
         * small), with the same label escaping.
         */
        if (d->report_gauges_at == 0 ||
            strata_now_ms() - d->report_gauges_at > 60000) {
            json_t *report = NULL;

            strata_buf_reset(&d->report_gauges);
            if (stale_report(&report, d, NULL) == 0)
                strata_report_prometheus(&d->report_gauges, report);
            json_decref(report);
            d->report_gauges_at = strata_now_ms();
        }
        strata_buf_add(out, d->report_gauges.ptr ? d->report_gauges.ptr : "",
                       d->report_gauges.len);
    }
}

int
strata_daemon__api_start(strata_daemon *d, strata_error *err)
{
    strata_api_options o = {0};
    const strata_api_route routes[] = {
        {STRATA_API_GET, "/api/v1/bases", 0, on_bases, d, 0},
        {STRATA_API_POST, "/api/v1/bases/approve", 0, on_approve, d, 0},
        {STRATA_API_GET, "/api/v1/images", 0, on_images, d, 0},
        {STRATA_API_GET, "/api/v1/graph", 0, on_graph, d, 0},
        {STRATA_API_GET, "/api/v1/jobs", 0, on_jobs, d, 0},
        {STRATA_API_GET, "/api/v1/events", 0, on_events, d, 0},
        {STRATA_API_GET, "/api/v1/report", 0, on_report, d, 0},
        {STRATA_API_GET, "/api/v1/diff", 0, strata_daemon__on_diff, d, 0},
        {STRATA_API_GET, "/api/v1/outbox", 0, on_outbox, d, 0},
        {STRATA_API_GET, "/api/v1/stream", 0, strata_daemon__on_stream, d, 0},
        {STRATA_API_GET, "/api/v1/rollouts", 0, strata_daemon__on_rollouts, d,
         0},
        {STRATA_API_GET | STRATA_API_POST, "/api/v1/rollouts/", 1,
         strata_daemon__on_rollout, d, 0},
        /* The dashboard's page, script and style hold no data: served
         * without the token (a browser loading a page cannot send it);
         * what the page reads asks for it like any client. */
        {STRATA_API_GET, "/", 0, strata_dashboard_serve, NULL, 1},
        {STRATA_API_GET, "/dashboard/", 1, strata_dashboard_serve, NULL, 1},
        /* Webhooks carry their own secrets (docs/configuration.md):
         * GitHub, GitLab, Gitea, Docker Hub and registries cannot send
         * the API token, so the hooks verify their own. */
        {STRATA_API_POST | STRATA_API_OPTIONS, "/hooks/registry/", 1,
         strata_daemon__registry_hook, d, 1},
        {STRATA_API_POST, "/hooks/git/", 1, strata_daemon__git_hook, d, 1},
        {0, NULL, 0, NULL, NULL, 0},
    };

    _Static_assert(sizeof(routes) <= sizeof(d->routes),
                   "daemon-int.h: strata_daemon.routes is too small");
    memcpy(d->routes, routes, sizeof(routes));
    o.listen = d->opts.listen ? d->opts.listen : d->cfg->api.listen;
    o.token =
        d->cfg->api.token ? strata_secret_reveal(d->cfg->api.token) : NULL;
    o.routes = d->routes;
    o.ready = on_ready;
    o.ready_arg = d;
    o.metrics = on_metrics;
    o.metrics_arg = d;
    if (d->metrics == NULL) {
        d->metrics = strata_metrics_new();
        define_metrics(d->metrics);
    }
    o.registry = d->metrics;
    if (strata_api_new(&d->api, &d->loop, &o, err) != 0)
        return err ? err->code : STRATA_EINTERNAL;
    return 0;
}
