/*
 * gitlab.c - the GitLab rebuild backend: starts a pipeline and
 * follows it. With a pipeline trigger token (the usual case) it POSTs
 * /projects/ID/trigger/pipeline (form fields token, ref, variables[K]);
 * with a personal or project access token ("glpat-...") it uses the
 * pipeline API instead: POST /projects/ID/pipeline {ref, variables} with
 * PRIVATE-TOKEN. Either answers 201 with the pipeline's id; then
 * GET /projects/ID/pipelines/PID is polled until a final status
 * (success; failed, canceled, skipped). A trigger token cannot read
 * pipelines, so api_token (PRIVATE-TOKEN; or nothing, for a public
 * project) is used for that and for cancelling; when GitLab refuses the
 * read, the message names the token (never its value). The log tail
 * lists the pipeline's jobs; on the deadline the pipeline is cancelled.
 *
 * Variables: STRATA_IMAGE, STRATA_DOCKERFILE, STRATA_CONTEXT,
 * STRATA_TARGET, STRATA_BUILD_ARGS (K=V lines, BASE_DIGEST included),
 * STRATA_PLATFORMS, STRATA_BASE, STRATA_BASE_DIGEST, STRATA_ID and
 * STRATA_JOB_KEY (the same for every run of one job).
 */
#include <stdlib.h>
#include <string.h>

#include "rebuild-int.h"

#define DEFAULT_API "https://gitlab.com/api/v4"
#define MAX_ERRORS 5

typedef struct gl_state {
    char *api;              /* API base URL without a trailing slash */
    char *project;          /* escaped id or path */
    const char *read_token; /* borrowed from b->o, or NULL */
    int api_mode;           /* token is an access token */
    int errors;
    int succeeded; /* the final status was success */
} gl_state;

static void
state_free(void *p)
{
    gl_state *s = p;

    if (s == NULL)
        return;
    free(s->api);
    free(s->project);
    free(s);
}

static int
check(const strata_rebuild_opts *o, strata_error *err)
{
    if (o->project == NULL || o->project[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "gitlab builder needs a 'project'");
    if (o->token == NULL || o->token[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "gitlab builder needs a 'token'");
    if (o->api_token != NULL && o->api_token[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "gitlab builder: 'api_token' is empty");
    return 0;
}

/* The variables, as name/value pairs in vars (room for 10 pairs). */
static size_t
variables(const char **vars, char **args, char **plats, strata_rebuild *b)
{
    const strata_rebuild_opts *o = &b->o;
    size_t n = 0;

    *args = strata_rebuild__args_lines(o);
    *plats = strata_rebuild__platforms(o);
#define V(k, v) (vars[n++] = (k), vars[n++] = (v))
    V("STRATA_IMAGE", o->image);
    V("STRATA_DOCKERFILE", o->dockerfile);
    V("STRATA_CONTEXT", o->context);
    V("STRATA_TARGET", o->target ? o->target : "");
    V("STRATA_BUILD_ARGS", *args);
    V("STRATA_PLATFORMS", *plats);
    V("STRATA_BASE", o->base ? o->base : "");
    V("STRATA_BASE_DIGEST", o->base_digest ? o->base_digest : "");
    V("STRATA_ID", o->id ? o->id : "");
    if (o->job_key != NULL)
        V("STRATA_JOB_KEY", o->job_key);
#undef V
    return n / 2;
}

static void
get(strata_rebuild *b, int flags, const char *url, strata_rebuild__http_cb cb)
{
    gl_state *s = b->state;
    strata_http_header h[3] = {{"Accept", "application/json"},
                               {"User-Agent", "strata/" STRATA_VERSION}};
    size_t nh = 2;

    if (s->read_token != NULL)
        h[nh++] = (strata_http_header){"PRIVATE-TOKEN", s->read_token};
    strata_rebuild__send(b, flags, "GET", url, h, nh, NULL, 0, cb);
}

/* GitLab's message ("message" or "error", a string or an object). New. */
static char *
gl_message(const strata_http_response *resp)
{
    json_t *j = strata_rebuild__json(resp), *m;
    char *s = NULL;

    m = json_object_get(j, "message");
    if (m == NULL)
        m = json_object_get(j, "error");
    if (json_is_string(m))
        s = strata_xstrdup(json_string_value(m));
    else if (m != NULL)
        s = json_dumps(m, JSON_COMPACT);
    json_decref(j);
    return s ? s : strata_xstrdup("");
}

static void
fail(strata_rebuild *b, const char *what, const strata_http_response *resp)
{
    char *m = gl_message(resp);

    strata_rebuild__fail_status(b, what, resp, m);
    free(m);
}

/* ---- following the pipeline --------------------------------------------- */

static void poll_pipeline(strata_rebuild *b);

/*
 * The pipeline runs but cannot be read: says which token GitLab refused
 * (never its value), or that a trigger token needs api_token to follow a
 * private project's pipeline (GitLab answers 404 to anonymous reads).
 */
static void
follow_fail(strata_rebuild *b, const strata_http_response *resp)
{
    gl_state *s = b->state;
    char *m = gl_message(resp), *what;
    const char *hint = "";

    if (resp->status == 401 || resp->status == 403 || resp->status == 404) {
        if (s->api_mode)
            hint = resp->status == 404 ? "" : " ('token' was refused)";
        else if (s->read_token != NULL)
            hint = resp->status == 404 ? " ('api_token' cannot read it)"
                                       : " ('api_token' was refused)";
        else
            hint = " (a trigger token cannot read pipelines of a private "
                   "project: set 'api_token')";
    }
    what = strata_xasprintf("pipeline %lld of '%s' started, but get pipeline",
                            (long long) b->run_id, b->o.project);
    if (*hint != '\0') {
        char *d = strata_xasprintf("%s%s", m, hint);

        free(m);
        m = d;
    }
    strata_rebuild__fail_status(b, what, resp, m);
    free(what);
    free(m);
}

static void
on_jobs(strata_rebuild *b, const strata_http_response *resp,
        const strata_error *err)
{
    gl_state *s = b->state;
    json_t *j, *job;
    size_t i;

    if (err == NULL && resp->status == 200 &&
        (j = strata_rebuild__json(resp)) != NULL) {
        json_array_foreach (j, i, job) {
            const char *n = json_string_value(json_object_get(job, "name"));
            const char *st = json_string_value(json_object_get(job, "stage"));
            const char *status =
                json_string_value(json_object_get(job, "status"));

            strata_rebuild__log(b, "job '%s' (%s): %s\n", n ? n : "?",
                                st ? st : "?", status ? status : "?");
        }
        json_decref(j);
    }
    /* The jobs are a courtesy: reading them does not change the outcome. */
    if (s->succeeded)
        strata_rebuild__finish(b, 0, NULL);
    else
        strata_rebuild__finish(b, STRATA_EIO,
                               "pipeline %lld of '%s' did not succeed%s%s",
                               (long long) b->run_id, b->o.project,
                               b->url ? ": " : "", b->url ? b->url : "");
}

static void
on_pipeline(strata_rebuild *b, const strata_http_response *resp,
            const strata_error *err)
{
    gl_state *s = b->state;
    json_t *j;
    const char *status, *url;
    char *jobs;

    if (err != NULL || resp->status >= 500 || resp->status == 429) {
        if (++s->errors > MAX_ERRORS) {
            if (err != NULL)
                strata_rebuild__finish(b, err->code, "%s", err->msg);
            else
                fail(b, "get pipeline", resp);
            return;
        }
        strata_rebuild__later(b, b->o.poll_ms, poll_pipeline);
        return;
    }
    if (resp->status != 200) {
        follow_fail(b, resp);
        return;
    }
    s->errors = 0;
    j = strata_rebuild__json(resp);
    if ((status = json_string_value(json_object_get(j, "status"))) == NULL) {
        json_decref(j);
        strata_rebuild__finish(b, STRATA_EPROTO,
                               "get pipeline: malformed reply");
        return;
    }
    if ((url = json_string_value(json_object_get(j, "web_url"))) != NULL &&
        b->url == NULL)
        b->url = strata_xstrdup(url);
    if (strcmp(status, "success") != 0 && strcmp(status, "failed") != 0 &&
        strcmp(status, "canceled") != 0 && strcmp(status, "skipped") != 0) {
        json_decref(j);
        strata_rebuild__later(b, b->o.poll_ms, poll_pipeline);
        return;
    }
    strata_rebuild__log(b, "pipeline %lld: %s\n", (long long) b->run_id,
                        status);
    s->succeeded = strcmp(status, "success") == 0;
    json_decref(j);
    jobs = strata_xasprintf("%s/projects/%s/pipelines/%lld/jobs?per_page=100",
                            s->api, s->project, (long long) b->run_id);
    get(b, 0, jobs, on_jobs);
    free(jobs);
}

static void
poll_pipeline(strata_rebuild *b)
{
    gl_state *s = b->state;
    char *url;

    url = strata_xasprintf("%s/projects/%s/pipelines/%lld", s->api, s->project,
                           (long long) b->run_id);
    get(b, 0, url, on_pipeline);
    free(url);
}

static void
on_created(strata_rebuild *b, const strata_http_response *resp,
           const strata_error *err)
{
    json_t *j;
    const char *url;

    if (err != NULL) {
        strata_rebuild__finish(b, err->code, "%s", err->msg);
        return;
    }
    if (resp->status != 201) {
        fail(b, "create pipeline", resp);
        return;
    }
    j = strata_rebuild__json(resp);
    if (!json_is_integer(json_object_get(j, "id"))) {
        json_decref(j);
        strata_rebuild__finish(b, STRATA_EPROTO,
                               "create pipeline: no 'id' in the reply");
        return;
    }
    b->run_id = json_integer_value(json_object_get(j, "id"));
    if ((url = json_string_value(json_object_get(j, "web_url"))) != NULL)
        b->url = strata_xstrdup(url);
    strata_rebuild__log(b, "pipeline %lld created on '%s'%s%s\n",
                        (long long) b->run_id, strata_rebuild__git_ref(b),
                        b->url ? ": " : "", b->url ? b->url : "");
    json_decref(j);
    strata_rebuild__later(b, b->o.poll_ms, poll_pipeline);
}

/* ---- start and timeout -------------------------------------------------- */

static int
start(strata_rebuild *b, strata_error *err)
{
    gl_state *s = strata_xcalloc(1, sizeof(*s));
    const char *vars[20];
    strata_http_header h[4] = {{"Accept", "application/json"},
                               {"User-Agent", "strata/" STRATA_VERSION}};
    strata_buf body = STRATA_BUF_INIT;
    char *args = NULL, *plats = NULL, *url, *e;
    size_t nvars, i, nh = 2, len;
    int rc;

    b->state = s;
    s->api = strata_xstrdup(b->o.api_url ? b->o.api_url : DEFAULT_API);
    len = strlen(s->api);
    while (len > 0 && s->api[len - 1] == '/')
        s->api[--len] = '\0';
    s->project = strata_url_escape(b->o.project);
    s->api_mode = strncmp(b->o.token, "glpat-", 6) == 0;
    s->read_token = s->api_mode ? b->o.token : b->o.api_token;
    nvars = variables(vars, &args, &plats, b);
    if (s->api_mode) {
        json_t *j = json_pack("{s:s, s:[]}", "ref", strata_rebuild__git_ref(b),
                              "variables");
        char *text;

        for (i = 0; i < nvars; i++)
            json_array_append_new(json_object_get(j, "variables"),
                                  json_pack("{s:s, s:s}", "key", vars[2 * i],
                                            "value", vars[2 * i + 1]));
        text = json_dumps(j, JSON_COMPACT);
        strata_buf_puts(&body, text);
        free(text);
        json_decref(j);
        h[nh++] = (strata_http_header){"Content-Type", "application/json"};
        h[nh++] = (strata_http_header){"PRIVATE-TOKEN", b->o.token};
        url = strata_xasprintf("%s/projects/%s/pipeline", s->api, s->project);
    } else {
        e = strata_url_escape(b->o.token);
        strata_buf_printf(&body, "token=%s", e);
        memset(e, 0, strlen(e));
        free(e);
        e = strata_url_escape(strata_rebuild__git_ref(b));
        strata_buf_printf(&body, "&ref=%s", e);
        free(e);
        for (i = 0; i < nvars; i++) {
            e = strata_url_escape(vars[2 * i + 1]);
            strata_buf_printf(&body, "&variables%%5B%s%%5D=%s", vars[2 * i], e);
            free(e);
        }
        h[nh++] = (strata_http_header){"Content-Type",
                                       "application/x-www-form-urlencoded"};
        url = strata_xasprintf("%s/projects/%s/trigger/pipeline", s->api,
                               s->project);
    }
    rc = strata_rebuild__send(b, 0, "POST", url, h, nh, body.ptr, body.len,
                              on_created);
    if (body.ptr != NULL)
        memset(body.ptr, 0, body.len); /* the trigger token was in it */
    strata_buf_release(&body);
    free(url);
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
        strata_rebuild__log(b, "cancel pipeline %lld: HTTP %ld\n",
                            (long long) b->run_id, resp->status);
    strata_rebuild__finish(b, STRATA_ETIMEOUT,
                           "pipeline %lld of '%s' did not finish within %llu s",
                           (long long) b->run_id, b->o.project,
                           (unsigned long long) b->o.timeout_ms / 1000);
}

static void
on_timeout(strata_rebuild *b)
{
    gl_state *s = b->state;
    strata_http_header h[3] = {{"Accept", "application/json"},
                               {"User-Agent", "strata/" STRATA_VERSION}};
    size_t nh = 2;
    char *url;

    if (b->run_id == 0 || s->read_token == NULL) {
        on_cancelled(b, NULL, &(strata_error){STRATA_ETIMEOUT, ""});
        return;
    }
    h[nh++] = (strata_http_header){"PRIVATE-TOKEN", s->read_token};
    url = strata_xasprintf("%s/projects/%s/pipelines/%lld/cancel", s->api,
                           s->project, (long long) b->run_id);
    strata_rebuild__send(b, STRATA_REBUILD__CLEANUP, "POST", url, h, nh, NULL,
                         0, on_cancelled);
    free(url);
}

const strata_rebuild_backend strata_rebuild__gitlab = {
    .name = "gitlab",
    .check = check,
    .start = start,
    .timeout = on_timeout,
    .release = state_free,
};
