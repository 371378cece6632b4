/*
 * webhook.c - the generic webhook rebuild backend: POSTs the build
 * request as JSON to the configured URL, signed with HMAC-SHA256 in
 * X-Strata-Signature (as notify's webhooks are) and with a bearer token
 * when one is set. A 2xx answer means accepted. When the answer's JSON
 * names a "status_url", that URL is polled until it reports
 * {"status": "succeeded" | "failed", "digest"?, "log"?, "url"?};
 * otherwise the build is reported as accepted, outcome unknown.
 */
#include <stdlib.h>
#include <string.h>

#include "rebuild-int.h"

/* Polls of the status URL that may fail in a row before we give up. */
#define MAX_POLL_ERRORS 5

typedef struct hook_state {
    char *status_url;
    char *auth; /* "Bearer TOKEN" or NULL */
    int errors;
} hook_state;

static void
state_free(void *p)
{
    hook_state *s = p;

    if (s == NULL)
        return;
    free(s->status_url);
    if (s->auth != NULL) {
        memset(s->auth, 0, strlen(s->auth));
        free(s->auth);
    }
    free(s);
}

static int
check(const strata_rebuild_opts *o, strata_error *err)
{
    if (o->url == NULL || (strncmp(o->url, "http://", 7) != 0 &&
                           strncmp(o->url, "https://", 8) != 0))
        return strata_error_set(err, STRATA_EINVAL,
                                "webhook builder needs an http(s) 'url'");
    return 0;
}

/* The request body: what to build, in the order a reader expects. New. */
static char *
payload(const strata_rebuild_opts *o)
{
    json_t *j = json_object(), *args = json_object(), *plats = json_array();
    char *s;
    size_t i;

    for (i = 0; i < o->nbuild_args; i++)
        json_object_set_new(args, o->build_args[i].key,
                            json_string(o->build_args[i].value));
    if (o->base_digest != NULL)
        json_object_set_new(args, "BASE_DIGEST", json_string(o->base_digest));
    if (o->job_key != NULL)
        json_object_set_new(args, "STRATA_JOB_KEY", json_string(o->job_key));
    for (i = 0; i < o->nplatforms; i++)
        json_array_append_new(plats, json_string(o->platforms[i]));
    json_object_set_new(j, "event", json_string("rebuild"));
    json_object_set_new(j, "id", o->id ? json_string(o->id) : json_null());
    /* The same for every run of the job: a receiver drops a repeat. */
    json_object_set_new(j, "job_key",
                        o->job_key ? json_string(o->job_key) : json_null());
    json_object_set_new(j, "image", json_string(o->image));
    json_object_set_new(j, "repo",
                        o->repo_url ? json_string(o->repo_url) : json_null());
    json_object_set_new(j, "branch",
                        json_string(o->branch ? o->branch : "main"));
    json_object_set_new(j, "dockerfile", json_string(o->dockerfile));
    json_object_set_new(j, "context", json_string(o->context));
    json_object_set_new(j, "target",
                        o->target ? json_string(o->target) : json_null());
    json_object_set_new(j, "build_args", args);
    json_object_set_new(j, "platforms", plats);
    json_object_set_new(j, "base",
                        o->base ? json_string(o->base) : json_null());
    json_object_set_new(j, "base_digest",
                        o->base_digest ? json_string(o->base_digest)
                                       : json_null());
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static void poll_status(strata_rebuild *b);

static void
on_status(strata_rebuild *b, const strata_http_response *resp,
          const strata_error *err)
{
    hook_state *s = b->state;
    json_t *j = NULL;
    const char *st, *v;

    if (err != NULL || resp->status >= 500 || resp->status == 429) {
        /* Transient: try again on the next poll, a few times. */
        if (++s->errors > MAX_POLL_ERRORS) {
            if (err != NULL)
                strata_rebuild__finish(b, err->code, "%s", err->msg);
            else
                strata_rebuild__fail_status(b, "webhook status", resp, NULL);
            return;
        }
        strata_rebuild__later(b, b->o.poll_ms, poll_status);
        return;
    }
    if (resp->status != 200) {
        strata_rebuild__fail_status(b, "webhook status", resp, NULL);
        return;
    }
    s->errors = 0;
    j = strata_rebuild__json(resp);
    st = json_string_value(json_object_get(j, "status"));
    if (st == NULL) {
        json_decref(j);
        strata_rebuild__finish(b, STRATA_EPROTO,
                               "webhook status: no 'status' in the reply");
        return;
    }
    if (strcmp(st, "succeeded") != 0 && strcmp(st, "failed") != 0) {
        json_decref(j);
        strata_rebuild__later(b, b->o.poll_ms, poll_status);
        return;
    }
    if ((v = json_string_value(json_object_get(j, "log"))) != NULL)
        strata_rebuild__log_add(b, v, strlen(v));
    if ((v = json_string_value(json_object_get(j, "url"))) != NULL) {
        free(b->url);
        b->url = strata_xstrdup(v);
    }
    v = json_string_value(json_object_get(j, "digest"));
    if (v != NULL && strata_digest_validate(v, NULL) == 0)
        b->digest = strata_xstrdup(v);
    if (strcmp(st, "succeeded") == 0)
        strata_rebuild__finish(b, 0, NULL);
    else
        strata_rebuild__finish(b, STRATA_EIO, "webhook build of '%s' failed",
                               b->o.image);
    json_decref(j);
}

static void
poll_status(strata_rebuild *b)
{
    hook_state *s = b->state;
    strata_http_header h[3] = {{"Accept", "application/json"},
                               {"User-Agent", "strata/" STRATA_VERSION}};
    size_t nh = 2;

    if (s->auth != NULL)
        h[nh++] = (strata_http_header){"Authorization", s->auth};
    strata_rebuild__send(b, 0, "GET", s->status_url, h, nh, NULL, 0, on_status);
}

static void
on_posted(strata_rebuild *b, const strata_http_response *resp,
          const strata_error *err)
{
    hook_state *s = b->state;
    json_t *j;
    const char *url;

    if (err != NULL) {
        strata_rebuild__finish(b, err->code, "%s", err->msg);
        return;
    }
    if (resp->status < 200 || resp->status > 299) {
        strata_rebuild__fail_status(b, "webhook", resp, NULL);
        return;
    }
    strata_rebuild__log(b, "webhook accepted the build (HTTP %ld)\n",
                        resp->status);
    j = strata_rebuild__json(resp);
    url = json_string_value(json_object_get(j, "status_url"));
    if (url == NULL ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        json_decref(j);
        b->accepted = 1;
        strata_rebuild__finish(b, 0, NULL);
        return;
    }
    s->status_url = strata_xstrdup(url);
    free(b->url);
    b->url = strata_http_url_redact(url);
    json_decref(j);
    strata_rebuild__later(b, b->o.poll_ms, poll_status);
}

static int
start(strata_rebuild *b, strata_error *err)
{
    hook_state *s = strata_xcalloc(1, sizeof(*s));
    strata_http_header h[6] = {
        {"Content-Type", "application/json"},
        {"User-Agent", "strata/" STRATA_VERSION},
        {"X-Strata-Event", "rebuild"},
    };
    char sig[7 + 65];
    char *body = payload(&b->o);
    size_t nh = 3;
    int rc;

    b->state = s;
    if (b->o.id != NULL)
        h[nh++] = (strata_http_header){"X-Strata-Delivery", b->o.id};
    if (b->o.secret != NULL) {
        memcpy(sig, "sha256=", 7);
        strata_hmac_sha256_hex(sig + 7, b->o.secret, body, strlen(body));
        h[nh++] = (strata_http_header){"X-Strata-Signature", sig};
    }
    if (b->o.token != NULL) {
        s->auth = strata_xasprintf("Bearer %s", b->o.token);
        h[nh++] = (strata_http_header){"Authorization", s->auth};
    }
    rc = strata_rebuild__send(b, 0, "POST", b->o.url, h, nh, body, strlen(body),
                              on_posted);
    free(body);
    (void) err;
    return rc;
}

const strata_rebuild_backend strata_rebuild__webhook = {
    .name = "webhook",
    .check = check,
    .start = start,
    .release = state_free,
};
