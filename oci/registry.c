/*
 * registry.c - the registry client and its request layer. Every call to
 * a registry is a small state machine (strata_oci__req): pick the scheme
 * (HTTPS; plain HTTP only for loopback or insecure hosts, after HTTPS
 * failed, which one request finds out while the others wait), attach auth
 * (Basic or a cached bearer token for the scope), send through core's HTTP
 * client, and on the answer either finish, or react: 401 -> read the challenge,
 * get a token, resend once; 5xx, 429 and transport errors -> wait (backoff
 * doubling from retry_base_ms, or Retry-After, both capped at
 * max_retry_wait_ms) on the request's own uv timer, then resend, at most
 * max_retries times. Every request reads at most its max_body
 * (STRATA_OCI__MAX_ANSWER unless it says more).
 */
#include <stdlib.h>
#include <string.h>

#include "oci-int.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_RETRIES 3
#define DEFAULT_RETRY_BASE_MS 250
#define DEFAULT_MAX_WAIT_MS 60000

struct strata_oci__req {
    strata_oci__req *next;
    strata_registry *reg;
    strata_oci__host *host;
    char *method, *path, *accept, *scope, *url, *auth_header;
    char *content_type, *content_range; /* request_ex: may be NULL */
    const void *body;                   /* borrowed from the caller */
    size_t body_len, max_body;
    strata_http_sink_cb sink; /* request_ex: the 2xx body's receiver */
    void *sink_arg;
    uint64_t sunk; /* bytes the sink took, over all attempts */
    strata_oci__req_cb cb;
    void *arg;
    int attempt;      /* retries done */
    int auth_tries;   /* 401s answered */
    int in_flight;    /* an HTTP transfer or token fetch is under way */
    int timer_active; /* waiting to retry */
    int wait_creds;   /* waiting for the host's credential helper */
    int wait_scheme;  /* waiting for the host's probe (scheme_wait) */
    uv_timer_t timer;
};

static char *
dup_or_null(const char *s)
{
    return s ? strata_xstrdup(s) : NULL;
}

/* Frees a secret without leaving it in freed memory. */
static void
wipe_free(char *s)
{
    if (s != NULL) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

static void
host_apply(strata_oci__host *h, const strata_registry_opts *o)
{
    const char *helper = o ? o->cred_helper : NULL;

    free(h->username);
    wipe_free(h->password);
    wipe_free(h->identity_token);
    free(h->ca_file);
    free(h->cred_helper);
    /* A helper gives the credentials; otherwise the options do. */
    h->username = dup_or_null(o && !helper ? o->username : NULL);
    h->password = dup_or_null(o && !helper ? o->password : NULL);
    h->identity_token = dup_or_null(o && !helper ? o->identity_token : NULL);
    h->cred_helper = dup_or_null(helper);
    h->helper_at_ms = 0;
    h->creds_stale = 0;
    strata_oci__host_helper_cancel(h);
    h->ca_file = dup_or_null(o ? o->ca_file : NULL);
    h->insecure = o ? o->insecure : 0;
    h->timeout_ms = o && o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    h->max_retries = !o || o->max_retries == 0 ? DEFAULT_RETRIES
                     : o->max_retries < 0      ? 0
                                               : o->max_retries;
    h->retry_base_ms =
        o && o->retry_base_ms ? o->retry_base_ms : DEFAULT_RETRY_BASE_MS;
    h->max_retry_wait_ms =
        o && o->max_retry_wait_ms ? o->max_retry_wait_ms : DEFAULT_MAX_WAIT_MS;
    h->plain_allowed =
        strata_registry_plain_http_allowed(h->domain, h->insecure);
    h->use_http = 0;
    h->https_ok = 0;
    h->auth = STRATA_OCI__AUTH_UNKNOWN;
    /* Tokens were issued for the old credentials. */
    while (h->tokens != NULL)
        strata_oci__token_drop(h, h->tokens->scope);
}

int
strata_registry_plain_http_allowed(const char *domain, int insecure)
{
    /* As Docker: plain HTTP only on loopback or where the user said so. */
    return insecure || strata_ref_domain_is_loopback(domain);
}

const char *
strata_oci__url_host(const char *domain)
{
    /* Docker Hub's API lives on another host than its reference domain. */
    return strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain;
}

strata_oci__host *
strata_oci__host_get(strata_registry *reg, const char *domain)
{
    strata_oci__host *h;

    for (h = reg->hosts; h != NULL; h = h->next)
        if (strcmp(h->domain, domain) == 0)
            return h;
    h = strata_xcalloc(1, sizeof(*h));
    h->domain = strata_xstrdup(domain);
    h->ratelimit_remaining = -1;
    host_apply(h, &reg->defaults);
    h->next = reg->hosts;
    reg->hosts = h;
    return h;
}

int
strata_registry_new(strata_registry **out, uv_loop_t *loop,
                    const strata_registry_opts *defaults, strata_error *err)
{
    strata_registry *reg = strata_xcalloc(1, sizeof(*reg));
    int rc;

    *out = NULL;
    rc = strata_http_new(&reg->http, loop, err);
    if (rc != 0) {
        free(reg);
        return rc;
    }
    reg->loop = loop;
    if (defaults != NULL) {
        reg->defaults = *defaults;
        reg->d_username = dup_or_null(defaults->username);
        reg->d_password = dup_or_null(defaults->password);
        reg->d_ca_file = dup_or_null(defaults->ca_file);
        reg->d_identity_token = dup_or_null(defaults->identity_token);
        reg->defaults.username = reg->d_username;
        reg->defaults.password = reg->d_password;
        reg->defaults.ca_file = reg->d_ca_file;
        reg->defaults.identity_token = reg->d_identity_token;
    }
    *out = reg;
    return 0;
}

void
strata_registry_set_host(strata_registry *reg, const char *domain,
                         const strata_registry_opts *opts)
{
    strata_oci__host *h = strata_oci__host_get(reg, domain);

    host_apply(h, opts);
    /* Requests that waited for a helper this replaced go on now. */
    strata_oci__creds_ready(reg, h);
}

/* ---- the request state machine ---------------------------------------- */

static void req_send(strata_oci__req *r);

static void
req_unlink(strata_oci__req *r)
{
    strata_oci__req **pp;

    for (pp = &r->reg->reqs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            return;
        }
    }
}

static void
on_timer_close(uv_handle_t *handle)
{
    strata_oci__req *r = handle->data;

    free(r);
}

static void scheme_release(strata_oci__req *r);

/* Calls the callback once and releases r (after its timer closed). */
static void
req_finish(strata_oci__req *r, const strata_http_response *resp,
           const strata_error *err)
{
    scheme_release(r);
    req_unlink(r);
    r->cb(resp, err, r->arg);
    free(r->method);
    free(r->path);
    free(r->accept);
    free(r->scope);
    free(r->url);
    free(r->auth_header);
    free(r->content_type);
    free(r->content_range);
    if (r->timer_active)
        uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *) &r->timer, on_timer_close);
}

static void
on_retry_timer(uv_timer_t *t)
{
    strata_oci__req *r = t->data;

    r->timer_active = 0;
    req_send(r);
}

/*
 * With a credential helper, credentials are read when they are needed: the
 * first time, once what the helper gave is old, or after the registry
 * refused it. 1 when r now waits for them (strata_oci__creds_ready sends
 * it again); 0 to go on with what the host has.
 */
static int
creds_wait(strata_oci__req *r)
{
    strata_oci__host *h = r->host;
    strata_error err = {0};
    int64_t now = strata_now_ms();

    if (h->cred_helper == NULL)
        return 0;
    if (h->helper_run == NULL) {
        if (h->helper_at_ms != 0 && !h->creds_stale &&
            now - h->helper_at_ms < STRATA_REGISTRY_HELPER_TTL_MS)
            return 0;
        if (strata_oci__host_helper_start(r->reg, h, &err) != 0) {
            log_warn("registry '%s': %s", h->domain, err.msg);
            h->helper_at_ms = now;
            h->creds_stale = 0;
            return 0;
        }
    }
    r->wait_creds = 1;
    return 1;
}

void
strata_oci__creds_ready(strata_registry *reg, strata_oci__host *h)
{
    strata_oci__req *r;

    /* Through the timer: callbacks never run from inside this call. */
    for (r = reg->reqs; r != NULL; r = r->next) {
        if (r->wait_creds && r->host == h) {
            r->wait_creds = 0;
            r->timer_active = 1;
            uv_timer_start(&r->timer, on_retry_timer, 0, 0);
        }
    }
}

/*
 * On a host where plain HTTP is allowed (loopback, insecure), the first
 * request tries HTTPS alone; the others wait until it has an answer, then
 * go straight to the scheme it found. Without this, each of the first
 * requests in parallel opens its own connection, loads the CA bundle and
 * fails its TLS handshake against a plain-HTTP registry (about 30 ms of
 * CPU each). 1 when r now waits (scheme_release sends it again).
 */
static int
scheme_wait(strata_oci__req *r)
{
    strata_oci__host *h = r->host;

    if (!h->plain_allowed || h->use_http || h->https_ok)
        return 0;
    if (h->probe == NULL)
        h->probe = r;
    if (h->probe == r)
        return 0;
    r->wait_scheme = 1;
    return 1;
}

/* r's attempt has ended: if it was the probe, the others go on. */
static void
scheme_release(strata_oci__req *r)
{
    strata_oci__host *h = r->host;
    strata_oci__req *q;

    if (h->probe != r)
        return;
    h->probe = NULL;
    /* Through the timer: callbacks never run from inside this call. */
    for (q = r->reg->reqs; q != NULL; q = q->next) {
        if (q->wait_scheme && q->host == h) {
            q->wait_scheme = 0;
            q->timer_active = 1;
            uv_timer_start(&q->timer, on_retry_timer, 0, 0);
        }
    }
}

/* Waits delay_ms, then sends again; or finishes with err when spent. */
static void
req_retry(strata_oci__req *r, uint64_t delay_ms, const strata_error *err)
{
    if (r->attempt >= r->host->max_retries || r->reg->closing) {
        req_finish(r, NULL, err);
        return;
    }
    r->attempt++;
    log_debug("registry '%s': %s, retry %d in %llu ms", r->host->domain,
              err->msg, r->attempt, (unsigned long long) delay_ms);
    r->timer_active = 1;
    uv_timer_start(&r->timer, on_retry_timer, delay_ms, 0);
}

static uint64_t
backoff_ms(const strata_oci__req *r)
{
    return strata_backoff_ms(r->host->retry_base_ms, (unsigned) r->attempt,
                             r->host->max_retry_wait_ms);
}

/* Retry-After (seconds or an HTTP date), at most the host's longest
 * wait; the backoff when there is none. */
static uint64_t
retry_after_ms(const strata_oci__req *r, const strata_http_response *resp)
{
    uint64_t ms;

    if (strata_retry_after_ms(&ms,
                              strata_http_response_header(resp, "retry-after"),
                              strata_now_ms(), r->host->max_retry_wait_ms) != 0)
        return backoff_ms(r);
    return ms;
}

/* "MANIFEST_UNKNOWN: manifest unknown" from a registry error body. */
static void
error_detail(char *out, size_t len, const strata_http_response *resp)
{
    json_t *j = json_loadb(resp->body.ptr, resp->body.len, 0, NULL);
    json_t *e = json_array_get(json_object_get(j, "errors"), 0);
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));

    if (code != NULL)
        snprintf(out, len, ": %s%s%s", code, msg ? ": " : "", msg ? msg : "");
    else
        out[0] = '\0';
    json_decref(j);
}

/* Keeps the number of "RateLimit-Remaining: 76;w=21600". */
static void
note_ratelimit(strata_oci__host *h, const strata_http_response *resp)
{
    const char *v = strata_http_response_header(resp, "ratelimit-remaining");
    char *end;
    long n;

    if (v == NULL)
        return;
    n = strtol(v, &end, 10);
    if (end != v && n >= 0 && (*end == '\0' || *end == ';'))
        h->ratelimit_remaining = n;
}

long
strata_registry_ratelimit_remaining(const strata_registry *reg,
                                    const char *domain)
{
    const strata_oci__host *h;

    for (h = reg->hosts; h != NULL; h = h->next)
        if (strcmp(h->domain, domain) == 0)
            return h->ratelimit_remaining;
    return -1;
}

/*
 * Go's answer to plain HTTP on a TLS port: a bare 400 ("Client sent an
 * HTTP request to an HTTPS server.", no body for HEAD) without the
 * Docker-Distribution-Api-Version header every registry answer carries.
 */
static int
https_only(const strata_http_response *resp)
{
    if (strata_http_response_header(resp, "docker-distribution-api-version"))
        return 0;
    return resp->body.len == 0 ||
           strstr(resp->body.ptr, "HTTP request to an HTTPS server") != NULL;
}

static void
on_token_ready(const char *token, const strata_error *err, void *arg)
{
    strata_oci__req *r = arg;
    strata_error e = {0};

    r->in_flight = 0;
    if (err == NULL && token == NULL) {
        /* Never "Bearer (null)": a token fetch that gave none failed. */
        strata_error_set(&e, STRATA_EPROTO,
                         "token server of '%s' gave no usable token",
                         r->host->domain);
        err = &e;
    }
    if (err != NULL) {
        /* What a helper gave was refused: ask it again next time. */
        if (err->code == STRATA_EAUTH && r->host->cred_helper != NULL)
            r->host->creds_stale = 1;
        if (err->code == STRATA_EAUTH || err->code == STRATA_EPROTO ||
            err->code == STRATA_ECANCELED)
            req_finish(r, NULL, err);
        else
            req_retry(r, backoff_ms(r), err);
        return;
    }
    free(r->auth_header);
    r->auth_header = strata_xasprintf("Bearer %s", token);
    req_send(r);
}

static void
on_response(const strata_http_response *resp, const strata_error *terr,
            void *arg)
{
    strata_oci__req *r = arg;
    strata_oci__host *h = r->host;
    strata_error err = {0};
    char detail[300];
    const char *chal;

    r->in_flight = 0;
    if (resp != NULL)
        note_ratelimit(h, resp);
    if (resp != NULL && strncmp(r->url, "https:", 6) == 0)
        h->https_ok = 1;
    scheme_release(r);
    if (terr != NULL) {
        /*
         * HTTPS failed on a host where plain HTTP is allowed: switch, and
         * resend at once. Requests that were under way over HTTPS when
         * another one switched the host resend at once too, instead of
         * waiting out a retry backoff.
         */
        if (terr->code == STRATA_ENET && h->plain_allowed &&
            strncmp(r->url, "https:", 6) == 0) {
            if (!h->use_http) {
                h->use_http = 1;
                h->https_error = *terr;
            }
            req_send(r);
        } else if (r->sunk > 0)
            /* A sink cannot take the body again from its start. */
            req_finish(r, NULL, terr);
        else if (terr->code == STRATA_ENET || terr->code == STRATA_ETIMEOUT)
            req_retry(r, backoff_ms(r), terr);
        else
            req_finish(r, NULL, terr);
        return;
    }
    if (resp->status >= 200 && resp->status < 300) {
        req_finish(r, resp, NULL);
        return;
    }
    if (resp->status == 400 && h->use_http && https_only(resp)) {
        /*
         * We fell back to plain HTTP, but the server speaks only TLS: the
         * HTTPS failure (often an unverifiable certificate) is the news.
         */
        h->use_http = 0;
        strata_error_set(&err, STRATA_ENET, "'%s' speaks only HTTPS: %s%s",
                         h->domain, h->https_error.msg,
                         strstr(h->https_error.msg, "certificate") != NULL
                             ? " (set 'ca_file' to its CA, or mark it "
                               "insecure)"
                             : "");
        req_finish(r, NULL, &err);
        return;
    }
    error_detail(detail, sizeof(detail), resp);
    if (resp->status == 401 && r->auth_tries < 2) {
        r->auth_tries++;
        chal = strata_http_response_header(resp, "www-authenticate");
        if (chal == NULL) {
            strata_error_set(&err, STRATA_EPROTO,
                             "'%s' answered 401 without a challenge",
                             h->domain);
            req_finish(r, NULL, &err);
            return;
        }
        if (strata_oci__parse_challenge(h, chal, &err) != 0) {
            req_finish(r, NULL, &err);
            return;
        }
        /* A token that was refused is stale: fetch a new one. */
        if (r->scope != NULL)
            strata_oci__token_drop(h, r->scope);
        free(r->auth_header);
        r->auth_header = NULL;
        if (h->auth == STRATA_OCI__AUTH_BASIC && h->username == NULL &&
            h->cred_helper == NULL) {
            strata_error_set(&err, STRATA_EAUTH, "'%s' requires credentials%s",
                             h->domain, detail);
            req_finish(r, NULL, &err);
            return;
        }
        if (h->auth == STRATA_OCI__AUTH_BASIC && r->auth_tries > 1) {
            if (h->cred_helper != NULL)
                h->creds_stale = 1;
            strata_error_set(&err, STRATA_EAUTH,
                             "'%s' refused the credentials%s", h->domain,
                             detail);
            req_finish(r, NULL, &err);
            return;
        }
        req_send(r);
        return;
    }
    if (resp->status == 401 || resp->status == 403) {
        strata_error_set(&err, STRATA_EAUTH, "'%s' denied %s '%s' (HTTP %ld)%s",
                         h->domain, r->method, r->path, resp->status, detail);
        req_finish(r, NULL, &err);
        return;
    }
    if (resp->status == 429 || resp->status == 503) {
        strata_error_set(&err,
                         resp->status == 429 ? STRATA_ERATELIMIT : STRATA_EHTTP,
                         "'%s' answered %s '%s' with HTTP %ld%s", h->domain,
                         r->method, r->path, resp->status, detail);
        req_retry(r, retry_after_ms(r, resp), &err);
        return;
    }
    strata_error_set(&err,
                     resp->status == 404   ? STRATA_ENOTFOUND
                     : resp->status >= 500 ? STRATA_EHTTP
                                           : STRATA_EHTTP,
                     "'%s' answered %s '%s' with HTTP %ld%s", h->domain,
                     r->method, r->path, resp->status, detail);
    if (resp->status >= 500)
        req_retry(r, backoff_ms(r), &err);
    else
        req_finish(r, NULL, &err);
}

/* Counts what the caller's sink takes (so a broken transfer is final). */
static int
on_sink(strata_http_transfer *t, const char *data, size_t len, void *arg)
{
    strata_oci__req *r = arg;
    int rc = r->sink(t, data, len, r->sink_arg);

    if (rc == 0)
        r->sunk += len;
    return rc;
}

static void
req_send(strata_oci__req *r)
{
    strata_oci__host *h = r->host;
    strata_http_request req = {0};
    strata_http_header hdrs[4];
    strata_error err = {0};
    char *userpwd = NULL;
    const char *tok;
    size_t n = 0;
    int rc;

    if (scheme_wait(r))
        return;
    if (h->auth == STRATA_OCI__AUTH_BASIC && creds_wait(r))
        return;
    if (h->auth == STRATA_OCI__AUTH_BEARER && r->auth_header == NULL &&
        r->scope != NULL) {
        tok = strata_oci__token_get(h, r->scope);
        if (tok != NULL) {
            r->auth_header = strata_xasprintf("Bearer %s", tok);
        } else {
            if (creds_wait(r))
                return;
            rc = strata_oci__fetch_token(r->reg, h, r->scope, on_token_ready, r,
                                         &err);
            if (rc != 0)
                req_finish(r, NULL, &err);
            else
                r->in_flight = 1;
            return;
        }
    }
    free(r->url);
    r->url = strata_xasprintf("%s://%s%s", h->use_http ? "http" : "https",
                              strata_oci__url_host(h->domain), r->path);
    if (r->accept != NULL)
        hdrs[n++] = (strata_http_header){"Accept", r->accept};
    if (r->auth_header != NULL)
        hdrs[n++] = (strata_http_header){"Authorization", r->auth_header};
    if (r->content_type != NULL)
        hdrs[n++] = (strata_http_header){"Content-Type", r->content_type};
    if (r->content_range != NULL)
        hdrs[n++] = (strata_http_header){"Content-Range", r->content_range};
    if (h->auth == STRATA_OCI__AUTH_BASIC && h->username != NULL)
        userpwd = strata_xasprintf("%s:%s", h->username,
                                   h->password ? h->password : "");
    req.method = r->method;
    req.url = r->url;
    req.headers = hdrs;
    req.nheaders = n;
    req.body = r->body;
    req.body_len = r->body_len;
    req.max_body = r->max_body;
    if (r->sink != NULL) {
        req.sink = on_sink;
        req.sink_arg = r;
    }
    req.timeout_ms = h->timeout_ms;
    req.insecure = h->insecure;
    req.ca_file = h->ca_file;
    req.userpwd = userpwd;
    req.follow_redirects = 1;
    rc = strata_http_send(r->reg->http, &req, on_response, r, &err);
    if (userpwd != NULL) {
        memset(userpwd, 0, strlen(userpwd));
        free(userpwd);
    }
    if (rc != 0)
        req_finish(r, NULL, &err);
    else
        r->in_flight = 1;
}

int
strata_oci__request(strata_registry *reg, const char *domain, const char *repo,
                    const char *method, const char *path, const char *accept,
                    strata_oci__req_cb cb, void *arg, strata_error *err)
{
    strata_oci__req_opts opts = {0};

    opts.accept = accept;
    return strata_oci__request_ex(reg, domain, repo, method, path, &opts, cb,
                                  arg, err);
}

int
strata_oci__request_ex(strata_registry *reg, const char *domain,
                       const char *repo, const char *method, const char *path,
                       const strata_oci__req_opts *opts, strata_oci__req_cb cb,
                       void *arg, strata_error *err)
{
    strata_oci__req *r;

    if (reg->closing)
        return strata_error_set(err, STRATA_ECANCELED,
                                "registry client is closing");
    r = strata_xcalloc(1, sizeof(*r));
    r->reg = reg;
    r->host = strata_oci__host_get(reg, domain);
    r->method = strata_xstrdup(method);
    r->path = strata_xstrdup(path);
    r->accept = dup_or_null(opts->accept);
    r->content_type = dup_or_null(opts->content_type);
    r->content_range = dup_or_null(opts->content_range);
    r->body = opts->body;
    r->body_len = opts->body_len;
    r->max_body = opts->max_body ? opts->max_body : STRATA_OCI__MAX_ANSWER;
    r->sink = opts->sink;
    r->sink_arg = opts->sink_arg;
    if (opts->scope != NULL)
        r->scope = strata_xstrdup(opts->scope);
    else
        r->scope = repo ? strata_xasprintf("repository:%s:pull", repo) : NULL;
    r->cb = cb;
    r->arg = arg;
    uv_timer_init(reg->loop, &r->timer);
    r->timer.data = r;
    r->next = reg->reqs;
    reg->reqs = r;
    /*
     * The callback must never run from inside this call, so the first
     * send happens from the loop, through the timer.
     */
    r->timer_active = 1;
    uv_timer_start(&r->timer, on_retry_timer, 0, 0);
    return 0;
}

void
strata_registry_close(strata_registry *reg)
{
    strata_error err = {0};
    strata_oci__host *h;

    if (reg == NULL || reg->closing)
        return;
    reg->closing = 1;
    /* In-flight transfers end through their callbacks (ECANCELED). */
    strata_http_close(reg->http);
    strata_error_set(&err, STRATA_ECANCELED, "registry client closed");
    while (reg->reqs != NULL)
        req_finish(reg->reqs, NULL, &err);
    while ((h = reg->hosts) != NULL) {
        reg->hosts = h->next;
        strata_oci__host_helper_cancel(h);
        strata_oci__host_free(h);
    }
    free(reg->d_username);
    wipe_free(reg->d_password);
    wipe_free(reg->d_identity_token);
    free(reg->d_ca_file);
    free(reg);
}
