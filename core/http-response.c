/*
 * http-response.c - what callers do with HTTP results: header lookup,
 * copying and freeing responses, URLs stripped of credentials for
 * messages, and strata_http_fetch(), the synchronous wrapper the CLI uses
 * (a private loop running one request through the async client).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

#include "core.h"

char *
strata_http_url_redact(const char *url)
{
    return strata_url_strip_userinfo(url);
}

const char *
strata_http_response_header(const strata_http_response *resp, const char *name)
{
    size_t i;

    if (resp == NULL)
        return NULL;
    for (i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->header_names[i], name) == 0)
            return resp->header_values[i];
    return NULL;
}

strata_http_response *
strata_http_response_dup(const strata_http_response *r)
{
    strata_http_response *d = strata_xcalloc(1, sizeof(*d));
    size_t i;

    d->status = r->status;
    strata_buf_add(&d->body, r->body.ptr != NULL ? r->body.ptr : "",
                   r->body.len);
    if (r->nheaders > 0) {
        d->header_names = strata_xcalloc(r->nheaders, sizeof(char *));
        d->header_values = strata_xcalloc(r->nheaders, sizeof(char *));
    }
    for (i = 0; i < r->nheaders; i++) {
        d->header_names[i] = strata_xstrdup(r->header_names[i]);
        d->header_values[i] = strata_xstrdup(r->header_values[i]);
    }
    d->nheaders = r->nheaders;
    if (r->effective_url != NULL)
        d->effective_url = strata_xstrdup(r->effective_url);
    d->total_seconds = r->total_seconds;
    return d;
}

void
strata_http_response_free(strata_http_response *resp)
{
    size_t i;

    if (resp == NULL)
        return;
    for (i = 0; i < resp->nheaders; i++) {
        free(resp->header_names[i]);
        free(resp->header_values[i]);
    }
    free(resp->header_names);
    free(resp->header_values);
    strata_buf_release(&resp->body);
    free(resp->effective_url);
    free(resp);
}

/* ---- synchronous wrapper ----------------------------------------------- */

typedef struct fetch_state {
    int done;
    strata_http_response *resp;
    strata_error err;
} fetch_state;

static void
on_fetch_done(const strata_http_response *resp, const strata_error *err,
              void *arg)
{
    fetch_state *st = arg;
    strata_http_response *r;
    strata_buf body;

    st->done = 1;
    if (err != NULL) {
        st->err = *err;
        return;
    }
    /*
     * Move the body rather than copy it (it may be large): the callback
     * contract lets the receiver steal it.
     */
    r = (strata_http_response *) resp;
    body = r->body;
    strata_buf_init(&r->body);
    st->resp = strata_http_response_dup(r);
    strata_buf_release(&st->resp->body);
    st->resp->body = body;
}

int
strata_http_fetch(strata_http_response **out, const strata_http_request *req,
                  strata_error *err)
{
    fetch_state st = {0};
    strata_http *http = NULL;
    uv_loop_t loop;
    int rc;

    *out = NULL;
    rc = uv_loop_init(&loop);
    if (rc < 0)
        return strata_error_set(err, STRATA_EINTERNAL,
                                "cannot create an event loop: %s",
                                uv_strerror(rc));
    rc = strata_http_new(&http, &loop, err);
    if (rc < 0)
        goto out;
    rc = strata_http_send(http, req, on_fetch_done, &st, err);
    if (rc < 0)
        goto out;
    uv_run(&loop, UV_RUN_DEFAULT);
    if (!st.done)
        rc = strata_error_set(err, STRATA_EINTERNAL,
                              "http loop stopped before the request ended");
    else if (st.err.code != 0) {
        rc = st.err.code;
        if (err != NULL)
            *err = st.err;
    } else {
        *out = st.resp;
        st.resp = NULL;
    }
out:
    strata_http_close(http);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        log_warn("http fetch loop still has open handles");
    strata_http_response_free(st.resp);
    return rc;
}
