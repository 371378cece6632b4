/*
 * http.c - the HTTP client: libcurl's multi interface driven by a libuv
 * loop, after curl's docs/examples/multi-uv.c.
 *
 * One CURLM and one uv_timer_t per client, one uv_poll_t per socket (found
 * again through curl_multi_assign()). curl tells us what to wait for in
 * on_socket() and when to wake it in on_curl_timer(); the uv callbacks
 * on_poll() and on_timeout() hand the event back with
 * curl_multi_socket_action() and then drain curl_multi_info_read(), which
 * is the only place a transfer completes. So callbacks always run from the
 * loop, never from inside strata_http_send(). strata_http_close() is the
 * other place: it cancels what is left.
 *
 * Each request owns an easy handle (found again via CURLINFO_PRIVATE) and
 * collects the final response's headers and body; connections stay in the
 * multi's cache so the next request to the same host reuses them.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "core.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_MAX_BODY ((size_t) 64 * 1024 * 1024)
#define MAX_REDIRECTS 8
/* With a sink, what the body of an answer other than 2xx may hold. */
#define MAX_OTHER_BODY ((size_t) 1024 * 1024)

typedef struct http_sock http_sock;
/* A request is the transfer a body sink is handed (http.h). */
typedef struct strata_http_transfer http_req;

/* A socket curl asked us to watch. Freed in its close callback. */
struct http_sock {
    uv_poll_t poll;
    strata_http *http;
    curl_socket_t fd;
    http_sock *prev, *next;
};

/* One transfer under way. */
struct strata_http_transfer {
    strata_http *http;
    CURL *easy;
    struct curl_slist *headers;
    strata_http_response *resp;
    size_t header_cap;
    size_t max_body;
    int too_big;
    strata_http_sink_cb sink; /* the body of a 2xx answer, or NULL */
    void *sink_arg;
    long status;   /* of the response being read, from its status line */
    size_t sunk;   /* bytes the sink took */
    int sink_code; /* the sink's negative code, when it ended the transfer */
    int paused;
    char *method;
    /* Safe for messages and logs: no userinfo, no query (which may hold
     * a signature or a token), and no path when the URL is a secret. */
    char *url;
    uint32_t timeout_ms;
    char errbuf[CURL_ERROR_SIZE];
    strata_http_cb cb;
    void *arg;
    http_req *prev, *next;
};

struct strata_http {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    http_req *reqs;
    http_sock *socks;
    size_t active;
    int closing;
    int nhandles; /* open uv handles; the client is freed with the last */
    /*
     * libcurl has a default CA bundle: verify against it alone (see
     * bundle_only()), so the multi handle loads it once and caches it.
     */
    int bundle_only;
};

/*
 * curl_global_init() must run once per process before any other libcurl
 * call. A uv_once_t is the one piece of process-wide state this needs.
 */
static uv_once_t global_once = UV_ONCE_INIT;

static void
global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/*
 * Whether requests without their own ca_file verify against libcurl's
 * default CA bundle alone. Debian's libcurl has both a default bundle
 * (/etc/ssl/certs/ca-certificates.crt) and a default CA directory
 * (/etc/ssl/certs), which update-ca-certificates fills from the same
 * certificates; with a directory set, libcurl does not cache the CA store,
 * so every new TLS connection parses the whole bundle again (about 30 ms
 * of CPU). Without the directory the multi handle keeps the store
 * (CURLOPT_CA_CACHE_TIMEOUT, 24 hours). A libcurl without a default
 * bundle, or whose bundle is not there, keeps its defaults.
 */
static int
bundle_only(void)
{
#if LIBCURL_VERSION_NUM >= 0x075400 /* CURLINFO_CAINFO: 7.84.0 */
    CURL *e = curl_easy_init();
    char *path = NULL;
    int ok;

    if (e == NULL)
        return 0;
    ok = curl_easy_getinfo(e, CURLINFO_CAINFO, &path) == CURLE_OK &&
         path != NULL && access(path, R_OK) == 0;
    curl_easy_cleanup(e);
    return ok;
#else
    return 0;
#endif
}

/* ---- uv handles -------------------------------------------------------- */

static void
handle_closed(strata_http *http)
{
    assert(http->nhandles > 0);
    if (--http->nhandles == 0)
        free(http);
}

static void
on_sock_close(uv_handle_t *handle)
{
    http_sock *s = handle->data;
    strata_http *http = s->http;

    free(s);
    handle_closed(http);
}

static void
on_timer_close(uv_handle_t *handle)
{
    handle_closed(handle->data);
}

static void
sock_close(http_sock *s)
{
    strata_http *http = s->http;

    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        http->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *) &s->poll, on_sock_close);
}

/* ---- requests ---------------------------------------------------------- */

static void
req_unlink(http_req *r)
{
    strata_http *http = r->http;

    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        http->reqs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    assert(http->active > 0);
    http->active--;
}

static void
req_free(http_req *r)
{
    if (r == NULL)
        return;
    if (r->easy != NULL)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    strata_http_response_free(r->resp);
    free(r->method);
    free(r->url);
    free(r);
}

/* Turns a failed transfer's CURLcode into our error. */
static void
req_error(http_req *r, CURLcode code, strata_error *err)
{
    const char *why =
        r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(code);

    if (code == CURLE_FILESIZE_EXCEEDED ||
        (code == CURLE_WRITE_ERROR && r->too_big == 2))
        /* A declared length was refused before any of it was read. */
        strata_error_set(err, STRATA_ETOOBIG,
                         "response from '%s' is larger than %zu bytes (by "
                         "its Content-Length)",
                         r->url, r->max_body);
    else if (code == CURLE_WRITE_ERROR && r->too_big)
        strata_error_set(err, STRATA_ETOOBIG,
                         "response from '%s' is larger than %zu bytes", r->url,
                         r->sink != NULL &&
                                 !(r->status >= 200 && r->status < 300)
                             ? MAX_OTHER_BODY
                             : r->max_body);
    else if (code == CURLE_WRITE_ERROR && r->sink_code < 0)
        strata_error_set(err, r->sink_code,
                         "request to '%s' was stopped by its receiver", r->url);
    else if (code == CURLE_OPERATION_TIMEDOUT)
        strata_error_set(err, STRATA_ETIMEOUT, "request to '%s' timed out: %s",
                         r->url, why);
    else if (code == CURLE_TOO_MANY_REDIRECTS ||
             code == CURLE_WEIRD_SERVER_REPLY)
        strata_error_set(err, STRATA_EPROTO, "request to '%s' failed: %s",
                         r->url, why);
    else
        strata_error_set(err, STRATA_ENET, "request to '%s' failed: %s", r->url,
                         why);
}

/* Runs the callback of a transfer curl reports done, then frees it. */
static void
req_done(strata_http *http, CURL *easy, CURLcode code)
{
    strata_http_response *resp;
    strata_error err = {0};
    http_req *r;
    char *priv = NULL;
    char *url = NULL;
    long status = 0;
    double total = 0;

    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    r = (http_req *) priv;
    assert(r != NULL && r->easy == easy);
    req_unlink(r);
    curl_multi_remove_handle(http->multi, easy);
    if (code != CURLE_OK) {
        req_error(r, code, &err);
        log_debug("http %s '%s': %s", r->method, r->url, err.msg);
        r->cb(NULL, &err, r->arg);
        req_free(r);
        return;
    }
    resp = r->resp;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &total);
    resp->status = status;
    resp->effective_url = strata_http_url_redact(url != NULL ? url : "");
    resp->total_seconds = total;
    strata_buf_grow(&resp->body, 0); /* body.ptr is "" rather than NULL */
    log_debug("http %s '%s': %ld, %zu bytes in %.3f s", r->method, r->url,
              status, resp->body.len, total);
    r->cb(resp, NULL, r->arg);
    req_free(r);
}

/*
 * Completes every finished transfer. A callback may close the client, so
 * stop as soon as it has: the multi handle is gone then.
 */
static void
drain(strata_http *http)
{
    CURLMsg *msg;
    int pending;

    while (!http->closing &&
           (msg = curl_multi_info_read(http->multi, &pending)) != NULL) {
        if (msg->msg == CURLMSG_DONE) {
            /* msg dies with curl_multi_remove_handle(): copy it first. */
            CURL *easy = msg->easy_handle;
            CURLcode code = msg->data.result;

            req_done(http, easy, code);
        }
    }
}

/* ---- curl -> uv -------------------------------------------------------- */

static void
on_timeout(uv_timer_t *timer)
{
    strata_http *http = timer->data;
    int running;
    long ms = -1;

    curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(http);
    /*
     * curl only calls on_curl_timer() when its next deadline changes. If
     * this timer fired a little before curl's (microsecond) deadline,
     * curl did nothing and will not ask again, so re-arm from its view.
     */
    if (!http->closing && running > 0 && !uv_is_active((uv_handle_t *) timer) &&
        curl_multi_timeout(http->multi, &ms) == CURLM_OK && ms >= 0)
        uv_timer_start(timer, on_timeout, (uint64_t) ms, 0);
}

static void
on_poll(uv_poll_t *handle, int status, int events)
{
    http_sock *s = handle->data;
    strata_http *http = s->http;
    int flags = 0;
    int running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(http->multi, s->fd, flags, &running);
    drain(http);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms the uv timer, never calls curl. */
static int
on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    strata_http *http = userp;

    if (http->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&http->timer);
    else
        uv_timer_start(&http->timer, on_timeout, (uint64_t) timeout_ms, 0);
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION: starts, changes or stops watching a socket. */
static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    strata_http *http = userp;
    http_sock *s = socketp;
    int events = 0;
    int rc;

    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            if (!http->closing)
                curl_multi_assign(http->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (http->closing)
        return 0;
    if (s == NULL) {
        s = strata_xcalloc(1, sizeof(*s));
        rc = uv_poll_init_socket(http->loop, &s->poll, fd);
        if (rc < 0) {
            log_warn("cannot watch http socket %d: %s", (int) fd,
                     uv_strerror(rc));
            free(s);
            return -1;
        }
        s->http = http;
        s->fd = fd;
        s->poll.data = s;
        s->next = http->socks;
        if (s->next != NULL)
            s->next->prev = s;
        http->socks = s;
        http->nhandles++;
        curl_multi_assign(http->multi, fd, s);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    rc = uv_poll_start(&s->poll, events, on_poll);
    if (rc < 0) {
        log_warn("cannot watch http socket %d: %s", (int) fd, uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- response collection ----------------------------------------------- */

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
reset_response(http_req *r)
{
    strata_http_response *resp = r->resp;
    size_t i;

    for (i = 0; i < resp->nheaders; i++) {
        free(resp->header_names[i]);
        free(resp->header_values[i]);
    }
    resp->nheaders = 0;
    strata_buf_reset(&resp->body);
}

static void
add_header(http_req *r, const char *line, size_t len)
{
    strata_http_response *resp = r->resp;
    const char *colon = memchr(line, ':', len);
    const char *v, *end = line + len;
    char *name;
    size_t i, n;

    if (colon == NULL || colon == line)
        return; /* not a header: ignore rather than guess */
    n = (size_t) (colon - line);
    while (n > 0 && is_space(line[n - 1]))
        n--;
    name = strata_xstrndup(line, n);
    for (i = 0; i < n; i++)
        if (name[i] >= 'A' && name[i] <= 'Z')
            name[i] = (char) (name[i] - 'A' + 'a');
    for (v = colon + 1; v < end && is_space(*v); v++)
        ;
    while (end > v && is_space(end[-1]))
        end--;
    if (resp->nheaders == r->header_cap) {
        r->header_cap = r->header_cap ? r->header_cap * 2 : 16;
        resp->header_names =
            strata_xrealloc(resp->header_names, r->header_cap * sizeof(char *));
        resp->header_values = strata_xrealloc(resp->header_values,
                                              r->header_cap * sizeof(char *));
    }
    resp->header_names[resp->nheaders] = name;
    resp->header_values[resp->nheaders] =
        strata_xstrndup(v, (size_t) (end - v));
    resp->nheaders++;
}

/* An obsolete folded line continues the previous header's value. */
static void
fold_header(http_req *r, const char *line, size_t len)
{
    strata_http_response *resp = r->resp;
    char **value;
    char *joined;

    if (resp->nheaders == 0)
        return;
    while (len > 0 && is_space(*line)) {
        line++;
        len--;
    }
    while (len > 0 && is_space(line[len - 1]))
        len--;
    if (len == 0)
        return;
    value = &resp->header_values[resp->nheaders - 1];
    joined = strata_xasprintf("%s %.*s", *value, (int) len, line);
    free(*value);
    *value = joined;
}

/*
 * CURLOPT_HEADERFUNCTION: one call per header line, for every response
 * (redirect hops, 100 Continue, the final one). A status line starts over,
 * so only the final response's headers remain.
 */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    http_req *r = userp;
    size_t len = size * nmemb;
    size_t n = len;

    while (n > 0 && (data[n - 1] == '\r' || data[n - 1] == '\n'))
        n--;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', n);

        reset_response(r);
        r->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
    } else if (r->sink != NULL && r->status >= 200 && r->status < 300 &&
               n > 15 && strncasecmp(data, "content-length:", 15) == 0 &&
               strtoull(data + 15, NULL, 10) > r->max_body) {
        /* What the sink would get is too big: stop before reading it. */
        r->too_big = 2;
        return 0;
    } else if (n > 0 && (data[0] == ' ' || data[0] == '\t'))
        fold_header(r, data, n);
    else if (n > 0)
        add_header(r, data, n);
    return len;
}

/* The body of a 2xx answer goes to the sink, when there is one. */
static size_t
sink_write(http_req *r, char *data, size_t len)
{
    int rc;

    if (len > r->max_body - r->sunk) {
        r->too_big = 1;
        return CURL_WRITEFUNC_ERROR;
    }
    rc = r->sink(r, data, len, r->sink_arg);
    if (rc == STRATA_HTTP_PAUSE) {
        r->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (rc < 0) {
        r->sink_code = rc;
        return CURL_WRITEFUNC_ERROR;
    }
    r->sunk += len;
    return len;
}

/*
 * CURLOPT_WRITEFUNCTION: collects the body (or hands it to the sink),
 * aborting past max_body.
 */
static size_t
on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    http_req *r = userp;
    strata_buf *body = &r->resp->body;
    size_t len = size * nmemb;

    if (r->sink != NULL && r->status >= 200 && r->status < 300)
        return sink_write(r, data, len);
    if (len > (r->sink != NULL ? MAX_OTHER_BODY : r->max_body) - body->len) {
        r->too_big = 1;
        return CURL_WRITEFUNC_ERROR;
    }
    strata_buf_add(body, data, len);
    return len;
}

/* ---- setting a request up ---------------------------------------------- */

/* Accepts absolute http and https URLs only. */
static int
check_url(const char *url, const char *shown, strata_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    CURLUcode uc;
    int rc = 0;

    uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (uc != CURLUE_OK)
        rc = strata_error_set(err, STRATA_EINVAL, "invalid url '%s': %s", shown,
                              curl_url_strerror(uc));
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        rc = strata_error_set(err, STRATA_EINVAL,
                              "unsupported scheme '%s' in url '%s'", scheme,
                              shown);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

static int
is_token(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";

    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
            return 0;
    return 1;
}

static int
has_header(const strata_http_request *req, const char *name)
{
    size_t i;

    for (i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return 1;
    return 0;
}

/*
 * Builds the header list. Values may not contain line breaks (that would
 * let a value inject headers). "Expect:" turns off 100-continue, and an
 * empty "Content-Type:" drops curl's form default for bodies.
 */
static int
build_headers(http_req *r, const strata_http_request *req, int has_body,
              strata_error *err)
{
    const strata_http_header *h;
    char *line;
    size_t i;

    for (i = 0; i < req->nheaders; i++) {
        h = &req->headers[i];
        if (h->name == NULL || !is_token(h->name))
            return strata_error_set(err, STRATA_EINVAL,
                                    "invalid header name '%s' for '%s'",
                                    h->name ? h->name : "", r->url);
        if (h->value != NULL && strpbrk(h->value, "\r\n") != NULL)
            return strata_error_set(err, STRATA_EINVAL,
                                    "header '%s' for '%s' has a line break",
                                    h->name, r->url);
        /* "Name;" is how curl sends a header with an empty value. */
        if (h->value == NULL || h->value[0] == '\0')
            line = strata_xasprintf("%s;", h->name);
        else
            line = strata_xasprintf("%s: %s", h->name, h->value);
        r->headers = curl_slist_append(r->headers, line);
        free(line);
    }
    r->headers = curl_slist_append(r->headers, "Expect:");
    if (has_body && !has_header(req, "content-type"))
        r->headers = curl_slist_append(r->headers, "Content-Type:");
    return 0;
}

/* Sets options; stops at the first failure, which stays in cc. */
#define SETOPT(opt, val)                                                       \
    do {                                                                       \
        if (cc == CURLE_OK)                                                    \
            cc = curl_easy_setopt(e, opt, val);                                \
    } while (0)

static int
setup_easy(http_req *r, const strata_http_request *req, strata_error *err)
{
    CURL *e = r->easy;
    CURLcode cc = CURLE_OK;
    int head = strcmp(r->method, "HEAD") == 0;
    int has_body = req->body != NULL || strcmp(r->method, "POST") == 0 ||
                   strcmp(r->method, "PUT") == 0 ||
                   strcmp(r->method, "PATCH") == 0;
    uint32_t connect_ms = req->connect_timeout_ms ? req->connect_timeout_ms
                                                  : DEFAULT_CONNECT_TIMEOUT_MS;
    int rc;

    rc = build_headers(r, req, has_body, err);
    if (rc < 0)
        return rc;
    SETOPT(CURLOPT_URL, req->url);
    SETOPT(CURLOPT_PRIVATE, (void *) r);
    SETOPT(CURLOPT_ERRORBUFFER, r->errbuf);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
    SETOPT(CURLOPT_PIPEWAIT, 1L);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_USERAGENT, "strata/" STRATA_VERSION);
    SETOPT(CURLOPT_HTTPHEADER, r->headers);
    SETOPT(CURLOPT_TIMEOUT_MS, (long) r->timeout_ms);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long) connect_ms);
    SETOPT(CURLOPT_FOLLOWLOCATION, req->follow_redirects ? 1L : 0L);
    SETOPT(CURLOPT_MAXREDIRS, (long) MAX_REDIRECTS);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, (void *) r);
    SETOPT(CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(CURLOPT_WRITEDATA, (void *) r);
    /*
     * A HEAD's Content-Length is that of a body it does not carry; with a
     * sink, on_header checks the length of a 2xx body only.
     */
    if (!head && req->sink == NULL)
        SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) r->max_body);
    if (head)
        SETOPT(CURLOPT_NOBODY, 1L);
    else if (has_body) {
        /* POSTFIELDS is not copied: the caller keeps body alive. */
        SETOPT(CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE,
               (curl_off_t) (req->body != NULL ? req->body_len : 0));
        SETOPT(CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET") != 0)
        SETOPT(CURLOPT_CUSTOMREQUEST, r->method);
    if (req->insecure) {
        SETOPT(CURLOPT_SSL_VERIFYPEER, 0L);
        SETOPT(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (req->ca_file != NULL)
        SETOPT(CURLOPT_CAINFO, req->ca_file);
    else if (r->http->bundle_only)
        SETOPT(CURLOPT_CAPATH, NULL);
    if (req->userpwd != NULL) {
        SETOPT(CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
        SETOPT(CURLOPT_USERPWD, req->userpwd);
    }
    if (cc != CURLE_OK)
        return strata_error_set(err, STRATA_EINTERNAL,
                                "cannot set up request to '%s': %s", r->url,
                                curl_easy_strerror(cc));
    return 0;
}

#undef SETOPT

/* ---- public API -------------------------------------------------------- */

int
strata_http_new(strata_http **out, uv_loop_t *loop, strata_error *err)
{
    strata_http *http;
    int rc;

    *out = NULL;
    uv_once(&global_once, global_init);
    http = strata_xcalloc(1, sizeof(*http));
    http->loop = loop;
    http->bundle_only = bundle_only();
    http->multi = curl_multi_init();
    if (http->multi == NULL) {
        free(http);
        return strata_error_set(err, STRATA_EINTERNAL,
                                "cannot create a curl multi handle");
    }
    rc = uv_timer_init(loop, &http->timer);
    if (rc < 0) {
        curl_multi_cleanup(http->multi);
        free(http);
        return strata_error_set(err, STRATA_EINTERNAL,
                                "cannot create the http timer: %s",
                                uv_strerror(rc));
    }
    http->timer.data = http;
    http->nhandles = 1;
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http);
    *out = http;
    return 0;
}

void
strata_http_close(strata_http *http)
{
    strata_error err;
    http_req *r;

    if (http == NULL || http->closing)
        return;
    http->closing = 1;
    uv_timer_stop(&http->timer);
    /* A callback may send (refused) or close (a no-op) while we loop. */
    while ((r = http->reqs) != NULL) {
        req_unlink(r);
        curl_multi_remove_handle(http->multi, r->easy);
        strata_error_set(&err, STRATA_ECANCELED,
                         "request to '%s' was cancelled", r->url);
        r->cb(NULL, &err, r->arg);
        req_free(r);
    }
    /* This may still call on_socket() with CURL_POLL_REMOVE. */
    curl_multi_cleanup(http->multi);
    http->multi = NULL;
    while (http->socks != NULL)
        sock_close(http->socks);
    uv_close((uv_handle_t *) &http->timer, on_timer_close);
}

int
strata_http_send(strata_http *http, const strata_http_request *req,
                 strata_http_cb cb, void *arg, strata_error *err)
{
    http_req *r = NULL;
    CURLMcode mc;
    int rc;

    assert(http != NULL && req != NULL && cb != NULL);
    if (http->closing)
        return strata_error_set(err, STRATA_ECANCELED,
                                "the http client is closing");
    if (req->url == NULL)
        return strata_error_set(err, STRATA_EINVAL, "http request has no url");
    r = strata_xcalloc(1, sizeof(*r));
    r->http = http;
    r->cb = cb;
    r->arg = arg;
    r->url = strata_url_for_log(req->url, req->url_secret);
    r->method = strata_xstrdup(req->method != NULL ? req->method : "GET");
    r->max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
    r->sink = req->sink;
    r->sink_arg = req->sink_arg;
    r->timeout_ms = req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
    r->resp = strata_xcalloc(1, sizeof(*r->resp));
    if (!is_token(r->method)) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "invalid http method '%s' for '%s'", r->method,
                              r->url);
        goto out;
    }
    rc = check_url(req->url, r->url, err);
    if (rc < 0)
        goto out;
    r->easy = curl_easy_init();
    if (r->easy == NULL) {
        rc = strata_error_set(err, STRATA_EINTERNAL,
                              "cannot create a curl handle for '%s'", r->url);
        goto out;
    }
    rc = setup_easy(r, req, err);
    if (rc < 0)
        goto out;
    /* This only arms the timer: the transfer starts from the loop. */
    mc = curl_multi_add_handle(http->multi, r->easy);
    if (mc != CURLM_OK) {
        rc = strata_error_set(err, STRATA_EINTERNAL,
                              "cannot start request to '%s': %s", r->url,
                              curl_multi_strerror(mc));
        goto out;
    }
    r->next = http->reqs;
    if (r->next != NULL)
        r->next->prev = r;
    http->reqs = r;
    http->active++;
    r = NULL;
out:
    req_free(r);
    return rc;
}

void
strata_http_resume(strata_http_transfer *t)
{
    if (t == NULL || !t->paused || t->http->closing)
        return;
    /*
     * Cleared first: curl may hand the held bytes to the sink from inside
     * curl_easy_pause(), and the sink may pause again.
     */
    t->paused = 0;
    curl_easy_pause(t->easy, CURLPAUSE_CONT);
}

size_t
strata_http_active(const strata_http *http)
{
    return http != NULL ? http->active : 0;
}
