/*
 * rebuild.c - what every rebuild backend shares: the backend table and
 * strata_rebuild_lookup(), the build object (a deep copy of the options, a
 * poll timer, a deadline timer, a lazily made HTTP client, the log tail)
 * and its one way out, strata_rebuild__finish(), which runs the caller's
 * callback once and closes everything. Backends drive their state through
 * strata_rebuild__send() and strata_rebuild__later(); replies that arrive
 * after the build finished are dropped here, so backends never see them.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rebuild-int.h"

#define LOG_MAX (64 * 1024)
#define DEFAULT_TIMEOUT_MS (60ull * 60 * 1000)

static const strata_rebuild_backend *const backends[] = {
    &strata_rebuild__buildah,   &strata_rebuild__kubernetes,
    &strata_rebuild__ghactions, &strata_rebuild__gitlab,
    &strata_rebuild__webhook,
};

const strata_rebuild_backend *
strata_rebuild_lookup(const char *name)
{
    size_t i;

    if (name == NULL)
        return NULL;
    for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

const char *
strata_rebuild_backend_name(const strata_rebuild_backend *be)
{
    return be->name;
}

/* ---- copying the options ---------------------------------------------- */

static const char *
keep(strata_rebuild *b, const char *s)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strata_xstrdup(s);
    b->owned = strata_xrealloc(b->owned, (b->nowned + 1) * sizeof(char *));
    b->owned[b->nowned++] = d;
    return d;
}

static void
copy_opts(strata_rebuild *b, const strata_rebuild_opts *in)
{
    strata_rebuild_opts *o = &b->o;
    strata_rebuild_kv *kv = NULL;
    strata_rebuild_registry *regs = NULL;
    const char **plats = NULL;
    size_t i;

    *o = *in;
#define K(f) o->f = keep(b, in->f)
    K(image), K(dockerfile), K(context), K(target), K(base), K(base_digest);
    K(repo_url), K(branch), K(id), K(job_key), K(context_dir), K(cache_dir);
    K(repo_username), K(repo_token), K(program), K(storage_driver);
    K(isolation), K(authfile), K(api_url), K(token), K(ca_file), K(repo);
    K(workflow), K(project), K(ref), K(api_token), K(url), K(secret);
    K(k8s_namespace), K(builder_image), K(kubeconfig), K(sa_dir);
    K(push_secret), K(command);
#undef K
    if (in->nbuild_args > 0) {
        kv = strata_xcalloc(in->nbuild_args, sizeof(*kv));
        for (i = 0; i < in->nbuild_args; i++) {
            kv[i].key = keep(b, in->build_args[i].key);
            kv[i].value = keep(b, in->build_args[i].value);
        }
    }
    o->build_args = kv;
    if (in->nplatforms > 0) {
        plats = strata_xcalloc(in->nplatforms, sizeof(*plats));
        for (i = 0; i < in->nplatforms; i++)
            plats[i] = keep(b, in->platforms[i]);
    }
    o->platforms = plats;
    if (in->nregistries > 0) {
        regs = strata_xcalloc(in->nregistries, sizeof(*regs));
        for (i = 0; i < in->nregistries; i++) {
            regs[i] = in->registries[i];
            regs[i].host = keep(b, in->registries[i].host);
            regs[i].username = keep(b, in->registries[i].username);
            regs[i].password = keep(b, in->registries[i].password);
        }
    }
    o->registries = regs;
    if (o->context == NULL)
        o->context = ".";
    if (o->dockerfile == NULL)
        o->dockerfile = "Dockerfile";
    if (o->timeout_ms == 0)
        o->timeout_ms = DEFAULT_TIMEOUT_MS;
    if (o->poll_ms == 0)
        o->poll_ms = 5000;
    if (o->request_timeout_ms == 0)
        o->request_timeout_ms = 30000;
}

static void
build_free(strata_rebuild *b)
{
    size_t i;

    if (b->be->release != NULL)
        b->be->release(b->state);
    for (i = 0; i < b->nowned; i++) {
        /* Tokens and passwords are among them: wipe before freeing. */
        memset(b->owned[i], 0, strlen(b->owned[i]));
        free(b->owned[i]);
    }
    free(b->owned);
    free((void *) b->o.build_args);
    free((void *) b->o.platforms);
    free((void *) b->o.registries);
    strata_buf_release(&b->log);
    free(b->digest);
    free(b->url);
    free(b);
}

void
strata_rebuild__ref(strata_rebuild *b)
{
    b->refs++;
}

void
strata_rebuild__unref(strata_rebuild *b)
{
    if (--b->refs == 0)
        build_free(b);
}

static void
on_timer_close(uv_handle_t *h)
{
    strata_rebuild__unref(h->data);
}

/* ---- timers ------------------------------------------------------------ */

static void
on_poll(uv_timer_t *t)
{
    strata_rebuild *b = t->data;
    void (*fn)(strata_rebuild *) = b->poll_fn;

    b->poll_fn = NULL;
    if (fn != NULL && !b->done)
        fn(b);
}

void
strata_rebuild__later(strata_rebuild *b, uint64_t ms,
                      void (*fn)(strata_rebuild *b))
{
    if (b->done)
        return;
    b->poll_fn = fn;
    uv_timer_start(&b->poll, on_poll, ms, 0);
}

static void
on_deadline(uv_timer_t *t)
{
    strata_rebuild *b = t->data;

    if (b->done)
        return;
    b->timed_out = 1;
    uv_timer_stop(&b->poll);
    b->poll_fn = NULL;
    strata_rebuild__log(b, "timed out after %llu ms\n",
                        (unsigned long long) b->o.timeout_ms);
    if (b->be->timeout != NULL)
        b->be->timeout(b);
    else
        strata_rebuild__finish(
            b, STRATA_ETIMEOUT, "build of '%s' did not finish within %llu s",
            b->o.image, (unsigned long long) b->o.timeout_ms / 1000);
}

/* ---- starting and finishing -------------------------------------------- */

int
strata_rebuild_start(strata_rebuild **out, uv_loop_t *loop,
                     const strata_rebuild_backend *be,
                     const strata_rebuild_opts *opts, strata_rebuild_cb cb,
                     void *arg, strata_error *err)
{
    strata_rebuild *b;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (be == NULL || opts == NULL || cb == NULL)
        return strata_error_set(err, STRATA_EINVAL, "no build backend");
    if (opts->image == NULL || opts->image[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "build needs an 'image' to push");
    if (be->check != NULL && (rc = be->check(opts, err)) != 0)
        return rc;
    b = strata_xcalloc(1, sizeof(*b));
    b->loop = loop;
    b->be = be;
    b->cb = cb;
    b->arg = arg;
    copy_opts(b, opts);
    uv_timer_init(loop, &b->poll);
    uv_timer_init(loop, &b->deadline);
    b->poll.data = b;
    b->deadline.data = b;
    b->refs = 1; /* dropped by finish */
    b->starting = 1;
    rc = be->start(b, err);
    b->starting = 0;
    if (b->start_err.code != 0) {
        rc = b->start_err.code;
        if (err != NULL)
            *err = b->start_err;
    }
    if (rc != 0) {
        b->done = 1;
        b->refs += 2;
        uv_close((uv_handle_t *) &b->poll, on_timer_close);
        uv_close((uv_handle_t *) &b->deadline, on_timer_close);
        strata_http_close(b->http);
        b->http = NULL;
        strata_rebuild__unref(b);
        return rc;
    }
    if (!be->own_deadline)
        uv_timer_start(&b->deadline, on_deadline, b->o.timeout_ms, 0);
    if (out != NULL)
        *out = b;
    return 0;
}

void
strata_rebuild__finish(strata_rebuild *b, int code, const char *fmt, ...)
{
    strata_rebuild_result res = {0};
    strata_error err = {0};
    va_list ap;

    if (b->done)
        return;
    if (b->starting) {
        /* strata_rebuild_start returns this; the callback never runs. */
        if (b->start_err.code == 0) {
            b->start_err.code = code != 0 ? code : STRATA_EINTERNAL;
            va_start(ap, fmt);
            vsnprintf(b->start_err.msg, sizeof(b->start_err.msg), fmt, ap);
            va_end(ap);
        }
        return;
    }
    b->done = 1;
    uv_timer_stop(&b->poll);
    uv_timer_stop(&b->deadline);
    if (code != 0) {
        err.code = code;
        va_start(ap, fmt);
        vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
        va_end(ap);
    }
    res.digest = b->digest;
    res.log = strata_buf_cstr(&b->log);
    res.url = b->url;
    res.run_id = b->run_id;
    res.accepted = b->accepted;
    /* The callback may not free anything of ours: keep b alive over it. */
    b->refs += 2;
    b->cb(&res, code != 0 ? &err : NULL, b->arg);
    strata_http_close(b->http); /* drops in-flight replies (done is set) */
    b->http = NULL;
    uv_close((uv_handle_t *) &b->poll, on_timer_close);
    uv_close((uv_handle_t *) &b->deadline, on_timer_close);
    strata_rebuild__unref(b); /* the start reference */
}

/* ---- HTTP -------------------------------------------------------------- */

typedef struct send_ctx {
    strata_rebuild *b;
    strata_rebuild__http_cb cb;
    int flags;
    char *body;
} send_ctx;

static void
on_reply(const strata_http_response *resp, const strata_error *err, void *arg)
{
    send_ctx *c = arg;
    strata_rebuild *b = c->b;

    if (!b->done && (!b->timed_out || (c->flags & STRATA_REBUILD__CLEANUP)))
        c->cb(b, resp, err);
    free(c->body);
    free(c);
}

int
strata_rebuild__send(strata_rebuild *b, int flags, const char *method,
                     const char *url, const strata_http_header *headers,
                     size_t nheaders, const char *body, size_t body_len,
                     strata_rebuild__http_cb cb)
{
    strata_http_request req = {0};
    strata_error err = {0};
    send_ctx *c;
    int rc;

    if (b->http == NULL &&
        (rc = strata_http_new(&b->http, b->loop, &err)) != 0) {
        strata_rebuild__finish(b, rc, "%s", err.msg);
        return rc;
    }
    c = strata_xcalloc(1, sizeof(*c));
    c->b = b;
    c->cb = cb;
    c->flags = flags;
    if (body != NULL) {
        c->body = strata_xmalloc(body_len + 1);
        memcpy(c->body, body, body_len);
        c->body[body_len] = '\0';
    }
    req.method = method;
    req.url = url;
    req.headers = headers;
    req.nheaders = nheaders;
    req.body = c->body;
    req.body_len = body_len;
    req.timeout_ms = b->o.request_timeout_ms;
    /* A build system's answers are small JSON (and a pod's log, asked
     * for with limitBytes): a larger one is refused, not read whole. */
    req.max_body = STRATA_REBUILD__MAX_ANSWER;
    req.insecure = b->o.insecure;
    req.ca_file = b->o.ca_file;
    if ((rc = strata_http_send(b->http, &req, on_reply, c, &err)) != 0) {
        free(c->body);
        free(c);
        strata_rebuild__finish(b, rc, "%s", err.msg);
        return rc;
    }
    return 0;
}

json_t *
strata_rebuild__json(const strata_http_response *resp)
{
    if (resp == NULL || resp->body.len == 0)
        return NULL;
    return json_loadb(resp->body.ptr, resp->body.len, 0, NULL);
}

void
strata_rebuild__fail_status(strata_rebuild *b, const char *what,
                            const strata_http_response *resp,
                            const char *detail)
{
    int code = STRATA_EHTTP;

    if (resp->status == 401 || resp->status == 403)
        code = STRATA_EAUTH;
    else if (resp->status == 404)
        code = STRATA_ENOTFOUND;
    strata_rebuild__finish(b, code, "%s: HTTP %ld%s%s", what, resp->status,
                           detail && *detail ? ": " : "", detail ? detail : "");
}

/* ---- log and small helpers --------------------------------------------- */

void
strata_rebuild__log_add(strata_rebuild *b, const char *data, size_t len)
{
    strata_buf_add(&b->log, data, len);
    if (b->log.len > LOG_MAX) {
        size_t drop = b->log.len - LOG_MAX;

        memmove(b->log.ptr, b->log.ptr + drop, b->log.len - drop + 1);
        b->log.len -= drop;
    }
}

void
strata_rebuild__log(strata_rebuild *b, const char *fmt, ...)
{
    char *s;
    va_list ap;

    va_start(ap, fmt);
    s = strata_xvasprintf(fmt, ap);
    va_end(ap);
    strata_rebuild__log_add(b, s, strlen(s));
    free(s);
}

char **
strata_rebuild__split(const char *s)
{
    char **v = strata_xcalloc(1, sizeof(char *));
    size_t n = 0;

    while (s != NULL && *s != '\0') {
        size_t len;

        s += strspn(s, " \t");
        len = strcspn(s, " \t");
        if (len == 0)
            break;
        v = strata_xrealloc(v, (n + 2) * sizeof(char *));
        v[n++] = strata_xstrndup(s, len);
        v[n] = NULL;
        s += len;
    }
    return v;
}

void
strata_rebuild__strv_free(char **v)
{
    size_t i;

    for (i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

const char *
strata_rebuild__git_ref(const strata_rebuild *b)
{
    if (b->o.ref != NULL)
        return b->o.ref;
    return b->o.branch != NULL ? b->o.branch : "main";
}

char *
strata_rebuild__args_lines(const strata_rebuild_opts *o)
{
    strata_buf s = STRATA_BUF_INIT;
    size_t i;

    for (i = 0; i < o->nbuild_args; i++)
        strata_buf_printf(&s, "%s%s=%s", i ? "\n" : "", o->build_args[i].key,
                          o->build_args[i].value);
    if (o->base_digest != NULL)
        strata_buf_printf(&s, "%sBASE_DIGEST=%s", s.len ? "\n" : "",
                          o->base_digest);
    if (o->job_key != NULL)
        strata_buf_printf(&s, "%sSTRATA_JOB_KEY=%s", s.len ? "\n" : "",
                          o->job_key);
    return strata_buf_detach(&s);
}

char *
strata_rebuild__platforms(const strata_rebuild_opts *o)
{
    strata_buf s = STRATA_BUF_INIT;
    size_t i;

    for (i = 0; i < o->nplatforms; i++)
        strata_buf_printf(&s, "%s%s", i ? "," : "", o->platforms[i]);
    return strata_buf_detach(&s);
}
