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
