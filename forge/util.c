/*
 * util.c - what the forge backends and the client share: building
 * a call (percent-escaping, JSON string arrays, joined lists, the path),
 * reading a reply (string members, GitHub/Gitea style error messages),
 * and the copies and releases of requests and of strata_forge_pr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge-int.h"

json_t *
strata_forge__strings(const char *const *v, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

char *
strata_forge__join(const char *const *v, size_t n, const char *sep)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i;

    strata_buf_puts(&b, "");
    for (i = 0; i < n; i++) {
        if (i > 0)
            strata_buf_puts(&b, sep);
        strata_buf_puts(&b, v[i]);
    }
    return strata_buf_detach(&b);
}

char *
strata_forge__dupstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? strata_xstrdup(s) : NULL;
}

void
strata_forge__call_set(strata_forge__call *c, const char *method,
                       const char *what, const char *fmt, ...)
{
    va_list ap;

    c->method = method;
    c->what = what;
    va_start(ap, fmt);
    c->path = strata_xvasprintf(fmt, ap);
    va_end(ap);
}

void
strata_forge__message(char *out, size_t len, const json_t *reply)
{
    const char *m = json_string_value(json_object_get(reply, "message"));
    const json_t *errs = json_object_get(reply, "errors");
    const char *e =
        json_string_value(json_object_get(json_array_get(errs, 0), "message"));

    if (m != NULL && e != NULL)
        snprintf(out, len, "%s: %s", m, e);
    else if (m != NULL)
        snprintf(out, len, "%s", m);
    else
        out[0] = '\0';
}

void
strata_forge__pr_release(strata_forge_pr *pr)
{
    free(pr->url);
    free(pr->state);
    free(pr->title);
    free(pr->body);
    free(pr->head);
    free(pr->base);
    memset(pr, 0, sizeof(*pr));
}

static char *
dup_or_null(const char *s)
{
    return s ? strata_xstrdup(s) : NULL;
}

strata_forge_pr *
strata_forge_pr_dup(const strata_forge_pr *pr)
{
    strata_forge_pr *d;

    if (pr == NULL)
        return NULL;
    d = strata_xcalloc(1, sizeof(*d));
    *d = *pr;
    d->url = dup_or_null(pr->url);
    d->state = dup_or_null(pr->state);
    d->title = dup_or_null(pr->title);
    d->body = dup_or_null(pr->body);
    d->head = dup_or_null(pr->head);
    d->base = dup_or_null(pr->base);
    return d;
}

void
strata_forge_pr_free(strata_forge_pr *pr)
{
    if (pr == NULL)
        return;
    strata_forge__pr_release(pr);
    free(pr);
}

static const char *const *
strv_dup(const char *const *v, size_t n)
{
    char **d;
    size_t i;

    if (n == 0)
        return NULL;
    d = strata_xcalloc(n, sizeof(*d));
    for (i = 0; i < n; i++)
        d[i] = strata_xstrdup(v[i]);
    return (const char *const *) d;
}

void
strata_forge__req_copy(strata_forge_req *out, const strata_forge_req *req)
{
    *out = *req;
    out->repo = dup_or_null(req->repo);
    out->head = dup_or_null(req->head);
    out->base = dup_or_null(req->base);
    out->title = dup_or_null(req->title);
    out->body = dup_or_null(req->body);
    out->comment = dup_or_null(req->comment);
    out->labels = strv_dup(req->labels, req->nlabels);
    out->reviewers = strv_dup(req->reviewers, req->nreviewers);
}

void
strata_forge__req_release(strata_forge_req *r)
{
    size_t i;

    free((char *) r->repo);
    free((char *) r->head);
    free((char *) r->base);
    free((char *) r->title);
    free((char *) r->body);
    free((char *) r->comment);
    for (i = 0; i < r->nlabels; i++)
        free((char *) r->labels[i]);
    free((char **) r->labels);
    for (i = 0; i < r->nreviewers; i++)
        free((char *) r->reviewers[i]);
    free((char **) r->reviewers);
}

/* ---- the GitHub-shaped REST API (GitHub, and Gitea which copies it) --- */

int
strata_forge__owner_name_check(const strata_forge_req *req, strata_error *err)
{
    const char *slash = strchr(req->repo, '/');

    if (slash == NULL || slash == req->repo || slash[1] == '\0' ||
        strchr(slash + 1, '/') != NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "repository '%s' is not 'owner/name'",
                                req->repo);
    return 0;
}

void
strata_forge__gh_update(strata_forge__call *c, const strata_forge__opview *v)
{
    const strata_forge_req *r = v->req;

    strata_forge__call_set(c, "PATCH", "update pull", "/repos/%s/pulls/%lld",
                           r->repo, (long long) v->number);
    c->body = json_object();
    if (r->title != NULL)
        json_object_set_new(c->body, "title", json_string(r->title));
    if (r->body != NULL)
        json_object_set_new(c->body, "body", json_string(r->body));
    if (r->base != NULL)
        json_object_set_new(c->body, "base", json_string(r->base));
}

void
strata_forge__gh_label(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "POST", "add labels",
                           "/repos/%s/issues/%lld/labels", v->req->repo,
                           (long long) v->number);
    c->body = json_pack("{s:o}", "labels",
                        strata_forge__strings(v->req->labels, v->req->nlabels));
}

void
strata_forge__gh_review(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "POST", "request reviewers",
                           "/repos/%s/pulls/%lld/requested_reviewers",
                           v->req->repo, (long long) v->number);
    c->body =
        json_pack("{s:o}", "reviewers",
                  strata_forge__strings(v->req->reviewers, v->req->nreviewers));
}

void
strata_forge__gh_comment(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "POST", "create comment",
                           "/repos/%s/issues/%lld/comments", v->req->repo,
                           (long long) v->number);
    c->body = json_pack("{s:s}", "body", v->req->comment);
}

void
strata_forge__gh_close(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "PATCH", "close pull", "/repos/%s/pulls/%lld",
                           v->req->repo, (long long) v->number);
    c->body = json_pack("{s:s}", "state", "closed");
}

int
strata_forge__gh_parse(strata_forge_pr *out, const json_t *obj, int merged)
{
    const json_t *n = json_object_get(obj, "number");
    const char *state = json_string_value(json_object_get(obj, "state"));

    if (!json_is_integer(n) || json_integer_value(n) <= 0 || state == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    out->number = json_integer_value(n);
    out->url = strata_forge__dupstr(obj, "html_url");
    if (merged)
        state = "merged";
    out->state = strata_xstrdup(state);
    out->title = strata_forge__dupstr(obj, "title");
    out->body = strata_forge__dupstr(obj, "body");
    out->head = strata_forge__dupstr(json_object_get(obj, "head"), "ref");
    out->base = strata_forge__dupstr(json_object_get(obj, "base"), "ref");
    out->draft = json_is_true(json_object_get(obj, "draft"));
    return 0;
}
