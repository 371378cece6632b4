/*
 * forge.c - the forge client: picks a backend by name, holds what every
 * call of a forge needs (API URL, auth header, TLS options, timeouts and
 * retry limits), checks a request before anything starts and hands it to
 * the operation state machine (forge-op.c), closes the client, and runs
 * one operation synchronously on a private loop (strata_forge_run).
 */
#include <stdlib.h>
#include <string.h>

#include "forge-int.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_RETRIES 4
#define DEFAULT_RETRY_BASE_MS 500
#define DEFAULT_MAX_WAIT_MS 60000

static const strata_forge_backend *const backends[] = {
    &strata_forge__github,
    &strata_forge__gitlab,
    &strata_forge__gitea,
};

const strata_forge_backend *
strata_forge_lookup(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof(backends) / sizeof(*backends); i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

const char *
strata_forge_backend_name(const strata_forge_backend *be)
{
    return be->name;
}

int
strata_forge_new(strata_forge **out, uv_loop_t *loop,
                 const strata_forge_backend *be, const strata_forge_opts *opts,
                 strata_error *err)
{
    strata_forge *f;
    const char *url =
        opts && opts->api_url ? opts->api_url : be->default_api_url;
    size_t len = strlen(url);
    int rc;

    *out = NULL;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid forge api url '%s'", url);
    f = strata_xcalloc(1, sizeof(*f));
    rc = strata_http_new(&f->http, loop, err);
    if (rc != 0) {
        free(f);
        return rc;
    }
    while (len > 0 && url[len - 1] == '/')
        len--;
    f->be = be;
    f->loop = loop;
    f->api_url = strata_xstrndup(url, len);
    if (opts && opts->token && opts->token[0] != '\0')
        f->auth = strata_xasprintf("%s%s", be->auth_prefix, opts->token);
    f->ca_file = opts && opts->ca_file ? strata_xstrdup(opts->ca_file) : NULL;
    f->insecure = opts ? opts->insecure : 0;
    f->timeout_ms =
        opts && opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    f->max_retries = !opts || opts->max_retries == 0 ? DEFAULT_RETRIES
                     : opts->max_retries < 0         ? 0
                                                     : opts->max_retries;
    f->retry_base_ms = opts && opts->retry_base_ms ? opts->retry_base_ms
                                                   : DEFAULT_RETRY_BASE_MS;
    f->max_retry_wait_ms = opts && opts->max_retry_wait_ms
                               ? opts->max_retry_wait_ms
                               : DEFAULT_MAX_WAIT_MS;
    *out = f;
    return 0;
}

static int
check_req(const strata_forge_backend *be, const strata_forge_req *r,
          strata_error *err)
{
    strata_forge_verb v = r->verb;

    if (r->repo == NULL || r->repo[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "forge request needs a repository");
    /* The repository goes into URL paths: no '?', '#', '%' or spaces. */
    if (r->repo[strspn(r->repo, "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")] !=
        '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid repository name '%s'", r->repo);
    if ((v == STRATA_FORGE_FIND || v == STRATA_FORGE_OPEN ||
         v == STRATA_FORGE_ENSURE) &&
        (r->head == NULL || r->head[0] == '\0'))
        return strata_error_set(err, STRATA_EINVAL,
                                "forge request on '%s' needs a head branch",
                                r->repo);
    if ((v == STRATA_FORGE_OPEN || v == STRATA_FORGE_ENSURE) &&
        (r->base == NULL || r->title == NULL || r->title[0] == '\0'))
        return strata_error_set(err, STRATA_EINVAL,
                                "forge request for '%s' needs a base branch "
                                "and a title",
                                r->head);
    if (v != STRATA_FORGE_FIND && v != STRATA_FORGE_OPEN &&
        v != STRATA_FORGE_ENSURE && r->number <= 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "forge request on '%s' needs a request number",
                                r->repo);
    if (v == STRATA_FORGE_COMMENT && r->comment == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "forge comment on '%s' needs a text", r->repo);
    if (v == STRATA_FORGE_LABEL && r->nlabels == 0)
        return strata_error_set(err, STRATA_EINVAL, "no labels to add");
    if (v == STRATA_FORGE_REVIEW && r->nreviewers == 0)
        return strata_error_set(err, STRATA_EINVAL, "no reviewers to request");
    if (v > STRATA_FORGE_ENSURE)
        return strata_error_set(err, STRATA_EINVAL, "unknown forge verb %d",
                                (int) v);
    return be->check ? be->check(r, err) : 0;
}

int
strata_forge_start(strata_forge *forge, const strata_forge_req *req,
                   strata_forge_cb cb, void *arg, strata_error *err)
{
    int rc;

    if (forge->closing)
        return strata_error_set(err, STRATA_ECANCELED, "forge client closed");
    rc = check_req(forge->be, req, err);
    if (rc != 0)
        return rc;
    return strata_forge__op_start(forge, req, cb, arg, err);
}

void
strata_forge_close(strata_forge *forge)
{
    if (forge == NULL || forge->closing)
        return;
    forge->closing = 1;
    strata_forge__op_cancel_idle(forge);
    strata_http_close(forge->http);
    free(forge->api_url);
    free(forge->auth);
    free(forge->ca_file);
    free(forge);
}

typedef struct sync_result {
    int done;
    strata_forge_pr *pr;
    strata_error err;
} sync_result;

static void
on_sync_done(const strata_forge_pr *pr, const strata_error *err, void *arg)
{
    sync_result *r = arg;

    r->done = 1;
    if (err != NULL)
        r->err = *err;
    else
        r->pr = strata_forge_pr_dup(pr);
}

int
strata_forge_run(strata_forge_pr **out, const strata_forge_backend *be,
                 const strata_forge_opts *opts, const strata_forge_req *req,
                 strata_error *err)
{
    uv_loop_t loop;
    strata_forge *forge = NULL;
    sync_result res = {0};
    int rc;

    *out = NULL;
    if (uv_loop_init(&loop) != 0)
        return strata_error_set(err, STRATA_EINTERNAL, "cannot start a loop");
    rc = strata_forge_new(&forge, &loop, be, opts, err);
    if (rc == 0) {
        rc = strata_forge_start(forge, req, on_sync_done, &res, err);
        if (rc == 0)
            uv_run(&loop, UV_RUN_DEFAULT);
        strata_forge_close(forge);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (rc != 0)
        return rc;
    if (res.err.code != 0) {
        if (err != NULL)
            *err = res.err;
        return res.err.code;
    }
    *out = res.pr;
    return 0;
}
