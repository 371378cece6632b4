/*
 * ghactions.c - the GitHub Actions rebuild backend. A build is a
 * workflow_dispatch: POST /repos/O/R/actions/workflows/W/dispatches with
 * {ref, inputs} (204), then the run it made is found by listing the
 * workflow's runs (event=workflow_dispatch, branch, created after the
 * dispatch as the 204's Date header tells it) and preferring the one
 * whose title carries our strata_id input (a workflow that sets
 * `run-name: ${{ inputs.strata_id }}` is never confused with a concurrent
 * dispatch), then followed (GET .../runs/ID) until status "completed".
 * The conclusion decides; the log tail lists the run's jobs and the steps
 * that did not succeed. On the deadline the run is cancelled.
 *
 * The workflow must declare these string inputs: image, dockerfile,
 * context, target, build_args (K=V lines, BASE_DIGEST included),
 * platforms (comma-separated), base, base_digest, strata_id.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rebuild-int.h"

#define DEFAULT_API "https://api.github.com"
#define MAX_ERRORS 5

typedef struct gh_state {
    char *api;  /* without a trailing slash */
    char *auth; /* "Bearer T" or NULL */
    char *strata_id;
    int64_t dispatched; /* seconds since the epoch (GitHub's clock) */
    int errors;
    char *conclusion; /* of the completed run */
} gh_state;

static void
state_free(void *p)
{
    gh_state *s = p;

    if (s == NULL)
        return;
    free(s->api);
    if (s->auth != NULL) {
        memset(s->auth, 0, strlen(s->auth));
        free(s->auth);
    }
    free(s->strata_id);
    free(s->conclusion);
    free(s);
}

static int
check(const strata_rebuild_opts *o, strata_error *err)
{
    if (o->repo == NULL || strchr(o->repo, '/') == NULL)
        return strata_error_set(
            err, STRATA_EINVAL,
            "github-actions builder needs 'repo' as 'owner/name'");
    if (o->workflow == NULL || o->workflow[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "github-actions builder needs a 'workflow'");
    return 0;
}

/* The API's headers; h has room for 5. */
static size_t
headers(strata_http_header *h, const gh_state *s, int json_body)
{
    size_t n = 0;

    h[n++] = (strata_http_header){"Accept", "application/vnd.github+json"};
    h[n++] = (strata_http_header){"X-GitHub-Api-Version", "2022-11-28"};
    h[n++] = (strata_http_header){"User-Agent", "strata/" STRATA_VERSION};
    if (s->auth != NULL)
        h[n++] = (strata_http_header){"Authorization", s->auth};
    if (json_body)
        h[n++] = (strata_http_header){"Content-Type", "application/json"};
    return n;
}

static void
get(strata_rebuild *b, int flags, const char *url, strata_rebuild__http_cb cb)
{
    strata_http_header h[5];
    size_t nh = headers(h, b->state, 0);

    strata_rebuild__send(b, flags, "GET", url, h, nh, NULL, 0, cb);
}

/* GitHub's message from an error reply, or "". New. */
static char *
gh_message(const strata_http_response *resp)
{
    json_t *j = strata_rebuild__json(resp);
    const char *m = json_string_value(json_object_get(j, "message"));
    char *s = strata_xstrdup(m ? m : "");

    json_decref(j);
    return s;
}

static void
fail(strata_rebuild *b, const char *what, const strata_http_response *resp)
{
    char *m = gh_message(resp);

    strata_rebuild__fail_status(b, what, resp, m);
    free(m);
}

/* A transient failure of a poll: 0 to try again later, else finished. */
static int
transient(strata_rebuild *b, const char *what, const strata_http_response *resp,
          const strata_error *err, void (*again)(strata_rebuild *b))
{
    gh_state *s = b->state;

    if (err == NULL && resp->status < 500 && resp->status != 429 &&
        !(resp->status == 403 &&
          strata_http_response_header(resp, "x-ratelimit-remaining") &&
          strcmp(strata_http_response_header(resp, "x-ratelimit-remaining"),
                 "0") == 0))
        return -1;
    if (++s->errors > MAX_ERRORS) {
        if (err != NULL)
            strata_rebuild__finish(b, err->code, "%s", err->msg);
        else
            fail(b, what, resp);
        return 1;
    }
    strata_rebuild__later(b, b->o.poll_ms, again);
    return 0;
}

static int64_t
parse_time(const char *s, const char *fmt)
{
    struct tm tm = {0};
    const char *end;

    if (s == NULL || (end = strptime(s, fmt, &tm)) == NULL)
        return -1;
    return (int64_t) timegm(&tm);
}

/* ---- following the run -------------------------------------------------- */

static void on_jobs(strata_rebuild *b, const strata_http_response *resp,
                    const strata_error *err);
static void poll_run(strata_rebuild *b);
static void find_run(strata_rebuild *b);

static void
finish_run(strata_rebuild *b, const char *conclusion)
{
    if (conclusion != NULL && strcmp(conclusion, "success") == 0)
        strata_rebuild__finish(b, 0, NULL);
    else
        strata_rebuild__finish(b, STRATA_EIO,
                               "workflow run %lld of '%s' concluded '%s'%s%s",
                               (long long) b->run_id, b->o.repo,
                               conclusion ? conclusion : "unknown",
                               b->url ? ": " : "", b->url ? b->url : "");
}

static void
on_jobs(strata_rebuild *b, const strata_http_response *resp,
        const strata_error *err)
{
    gh_state *s = b->state;
    json_t *j, *job, *step;
    size_t i, k;

    if (err == NULL && resp->status == 200 &&
        (j = strata_rebuild__json(resp)) != NULL) {
        json_array_foreach (json_object_get(j, "jobs"), i, job) {
            const char *c =
                json_string_value(json_object_get(job, "conclusion"));

            strata_rebuild__log(
                b, "job '%s': %s\n",
                json_string_value(json_object_get(job, "name"))
                    ? json_string_value(json_object_get(job, "name"))
                    : "?",
                c ? c : "unfinished");
            json_array_foreach (json_object_get(job, "steps"), k, step) {
                const char *sc =
                    json_string_value(json_object_get(step, "conclusion"));
                const char *sn =
                    json_string_value(json_object_get(step, "name"));

                if (sc != NULL && strcmp(sc, "success") != 0 &&
                    strcmp(sc, "skipped") != 0)
                    strata_rebuild__log(b, "  step '%s': %s\n", sn ? sn : "?",
                                        sc);
            }
        }
        json_decref(j);
    }
    /* The log is a courtesy: its failure does not change the outcome. */
    finish_run(b, s->conclusion);
}

static void
on_run(strata_rebuild *b, const strata_http_response *resp,
       const strata_error *err)
{
    gh_state *s = b->state;
    json_t *j;
    const char *status, *conclusion, *url;
    char *jobs;

    if (err != NULL || resp->status != 200) {
        if (transient(b, "get workflow run", resp, err, poll_run) < 0)
            fail(b, "get workflow run", resp);
        return;
    }
    s->errors = 0;
    if ((j = strata_rebuild__json(resp)) == NULL) {
        strata_rebuild__finish(b, STRATA_EPROTO,
                               "get workflow run: malformed reply");
        return;
    }
    status = json_string_value(json_object_get(j, "status"));
    conclusion = json_string_value(json_object_get(j, "conclusion"));
    if ((url = json_string_value(json_object_get(j, "html_url"))) != NULL &&
        b->url == NULL)
        b->url = strata_xstrdup(url);
    if (status == NULL || strcmp(status, "completed") != 0) {
        json_decref(j);
        strata_rebuild__later(b, b->o.poll_ms, poll_run);
        return;
    }
    strata_rebuild__log(b, "workflow run %lld completed: %s\n",
                        (long long) b->run_id, conclusion ? conclusion : "?");
    s->conclusion = strata_xstrdup(conclusion ? conclusion : "unknown");
    json_decref(j);
    jobs = strata_xasprintf("%s/repos/%s/actions/runs/%lld/jobs?per_page=100",
                            s->api, b->o.repo, (long long) b->run_id);
    get(b, 0, jobs, on_jobs);
    free(jobs);
}

static void
poll_run(strata_rebuild *b)
{
    gh_state *s = b->state;
    char *url = strata_xasprintf("%s/repos/%s/actions/runs/%lld", s->api,
                                 b->o.repo, (long long) b->run_id);

    get(b, 0, url, on_run);
    free(url);
}

/* ---- finding the run ---------------------------------------------------- */

static void
on_runs(strata_rebuild *b, const strata_http_response *resp,
        const strata_error *err)
{
    gh_state *s = b->state;
    json_t *j, *run, *best = NULL;
    int64_t best_t = 0;
    size_t i;

    if (err != NULL || resp->status != 200) {
        if (transient(b, "list workflow runs", resp, err, find_run) < 0)
            fail(b, "list workflow runs", resp);
        return;
    }
    s->errors = 0;
    j = strata_rebuild__json(resp);
    if (!json_is_array(json_object_get(j, "workflow_runs"))) {
        json_decref(j);
        strata_rebuild__finish(b, STRATA_EPROTO,
                               "list workflow runs: malformed reply");
        return;
    }
    json_array_foreach (json_object_get(j, "workflow_runs"), i, run) {
        const char *title =
            json_string_value(json_object_get(run, "display_title"));
        const char *name = json_string_value(json_object_get(run, "name"));
        int64_t t =
            parse_time(json_string_value(json_object_get(run, "created_at")),
                       "%Y-%m-%dT%H:%M:%SZ");

        if (!json_is_integer(json_object_get(run, "id")))
            continue;
        if ((title && strstr(title, s->strata_id)) ||
            (name && strstr(name, s->strata_id))) {
            best = run; /* ours for sure */
            break;
        }
        /* Else the first run created since the dispatch (1 s of rounding). */
        if (t >= s->dispatched - 1 && (best == NULL || t < best_t)) {
            best = run;
            best_t = t;
        }
    }
    if (best == NULL) {
        json_decref(j);
        strata_rebuild__later(b, b->o.poll_ms, find_run);
        return;
    }
    b->run_id = json_integer_value(json_object_get(best, "id"));
    if (json_string_value(json_object_get(best, "html_url")) != NULL)
        b->url = strata_xstrdup(
            json_string_value(json_object_get(best, "html_url")));
    strata_rebuild__log(b, "workflow run %lld%s%s\n", (long long) b->run_id,
                        b->url ? ": " : "", b->url ? b->url : "");
    json_decref(j);
    poll_run(b);
}

static void
find_run(strata_rebuild *b)
{
    gh_state *s = b->state;
    char since[32];
    char *wf = strata_url_escape(b->o.workflow);
    const char *ref = strata_rebuild__git_ref(b);
    char *branch, *url;

    if (strncmp(ref, "refs/heads/", 11) == 0)
        ref += 11;
    branch = strata_url_escape(ref);
    /* The server-side filter is coarse (a minute early); we pick exactly. */
    strata_format_time(since, sizeof(since), (s->dispatched - 60) * 1000);
    url = strata_xasprintf("%s/repos/%s/actions/workflows/%s/runs"
                           "?event=workflow_dispatch&branch=%s"
                           "&created=%%3E%%3D%s&per_page=30",
                           s->api, b->o.repo, wf, branch, since);
    get(b, 0, url, on_runs);
    free(url);
    free(wf);
    free(branch);
}

static void
on_dispatched(strata_rebuild *b, const strata_http_response *resp,
              const strata_error *err)
{
    gh_state *s = b->state;
    int64_t t;

    if (err != NULL) {
        strata_rebuild__finish(b, err->code, "%s", err->msg);
        return;
    }
    if (resp->status != 204) {
        fail(b, "dispatch workflow", resp);
        return;
    }
    t = parse_time(strata_http_response_header(resp, "date"),
                   "%a, %d %b %Y %H:%M:%S GMT");
    if (t > 0)
        s->dispatched = t;
    strata_rebuild__log(b, "dispatched workflow '%s' of '%s' on '%s'\n",
                        b->o.workflow, b->o.repo, strata_rebuild__git_ref(b));
    strata_rebuild__later(b, b->o.poll_ms, find_run);
}

/* ---- start and timeout -------------------------------------------------- */

static int
start(strata_rebuild *b, strata_error *err)
{
    gh_state *s = strata_xcalloc(1, sizeof(*s));
    const strata_rebuild_opts *o = &b->o;
    strata_http_header h[5];
    json_t *body, *in;
    char *text, *url, *wf, *args, *plats;
    unsigned char rnd[4];
    size_t nh, len;
    int rc;

    b->state = s;
    s->api = strata_xstrdup(o->api_url ? o->api_url : DEFAULT_API);
    len = strlen(s->api);
    while (len > 0 && s->api[len - 1] == '/')
        s->api[--len] = '\0';
    if (o->token != NULL)
        s->auth = strata_xasprintf("Bearer %s", o->token);
    uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL);
    s->strata_id =
        strata_xasprintf("strata-%s-%02x%02x%02x%02x", o->id ? o->id : "build",
                         rnd[0], rnd[1], rnd[2], rnd[3]);
    s->dispatched = strata_now_ms() / 1000;
    args = strata_rebuild__args_lines(o);
    plats = strata_rebuild__platforms(o);
    in = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "image",
                   o->image, "dockerfile", o->dockerfile, "context", o->context,
                   "target", o->target ? o->target : "", "build_args", args,
                   "platforms", plats, "base", o->base ? o->base : "",
                   "base_digest", o->base_digest ? o->base_digest : "",
                   "strata_id", s->strata_id);
    body = json_pack("{s:s, s:o}", "ref", strata_rebuild__git_ref(b), "inputs",
                     in);
    text = json_dumps(body, JSON_COMPACT);
    wf = strata_url_escape(o->workflow);
    url = strata_xasprintf("%s/repos/%s/actions/workflows/%s/dispatches",
                           s->api, o->repo, wf);
    nh = headers(h, s, 1);
    rc = strata_rebuild__send(b, 0, "POST", url, h, nh, text, strlen(text),
                              on_dispatched);
    json_decref(body);
    free(text);
    free(url);
    free(wf);
    free(args);
    free(plats);
    (void) err;
    return rc;
}

static void
on_cancelled(strata_rebuild *b, const strata_http_response *resp,
             const strata_error *err)
{
    if (err == NULL)
        strata_rebuild__log(b, "cancel run %lld: HTTP %ld\n",
                            (long long) b->run_id, resp->status);
    strata_rebuild__finish(b, STRATA_ETIMEOUT,
                           "workflow run %lld of '%s' did not complete within "
                           "%llu s",
                           (long long) b->run_id, b->o.repo,
                           (unsigned long long) b->o.timeout_ms / 1000);
}

static void
on_timeout(strata_rebuild *b)
{
    gh_state *s = b->state;
    strata_http_header h[5];
    size_t nh;
    char *url;

    if (b->run_id == 0) {
        strata_rebuild__finish(b, STRATA_ETIMEOUT,
                               "no run of workflow '%s' of '%s' completed "
                               "within %llu s",
                               b->o.workflow, b->o.repo,
                               (unsigned long long) b->o.timeout_ms / 1000);
        return;
    }
    nh = headers(h, s, 0);
    url = strata_xasprintf("%s/repos/%s/actions/runs/%lld/cancel", s->api,
                           b->o.repo, (long long) b->run_id);
    strata_rebuild__send(b, STRATA_REBUILD__CLEANUP, "POST", url, h, nh, NULL,
                         0, on_cancelled);
    free(url);
}

const strata_rebuild_backend strata_rebuild__ghactions = {
    .name = "github-actions",
    .check = check,
    .start = start,
    .timeout = on_timeout,
    .release = state_free,
};
