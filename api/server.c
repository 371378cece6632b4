/*
 * server.c - the daemon's HTTP API server: listening socket, h2o
 * context, bearer-token check, access log and shutdown.
 *
 * Why h2o (Debian's libh2o, the libuv flavour): it runs natively on our
 * libuv loop (we accept on a uv_tcp_t and hand each connection to h2o
 * with h2o_uv_socket_create() + h2o_accept()), so the API shares the one
 * loop with the registry polls, the HTTP client and the child processes;
 * it speaks HTTP/1.1 with keep-alive and HTTP/2 (h2c upgrade and prior
 * knowledge), parses requests with picohttpparser, enforces a body limit
 * before reading the body, and is maintained in Debian. libmicrohttpd
 * would bring its own threads or select loop; libhttp-parser would leave
 * us writing the server around it.
 *
 * Data flow: a connection arrives on the listener, h2o parses requests
 * and calls on_req() for each; on_req() wraps the h2o request in a
 * strata_api_req (api-request.c), checks the token and hands it to the
 * router (api-routes.c), which runs the daemon's handler. When a response
 * is sent, api-request.c calls strata_api__finished() here for the access
 * log and the request metrics.
 *
 * Shutdown (strata_api_close): close the listener, answer deferred
 * requests with 503, and shut down the read side of every connection, so
 * that h2o sees EOF and closes it through its own code path once any
 * response in flight is written. When the last handle is closed, the h2o
 * context is disposed. h2o 2.2's h2o_context_dispose() itself runs the
 * loop once (UV_RUN_NOWAIT) to finish closing its timers; we call it from
 * a close callback, outside the poll phase, where libuv tolerates that
 * nested run because every phase detaches its queue before running it.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include <h2o.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <uv.h>

#include "api-int.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_MAX_BODY (1024 * 1024)

typedef struct conn {
    uv_tcp_t tcp; /* tcp.data belongs to h2o */
    strata_api *api;
    struct conn *prev, *next;
} conn;

/* h2o's handler, extended with a way back to the server. */
typedef struct api_handler {
    h2o_handler_t super;
    strata_api *api;
} api_handler;

struct strata_api {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int port;
    strata_api_options opts; /* listen and token cleared after start */
    int has_token;
    unsigned char token_hash[SHA256_DIGEST_LENGTH];

    h2o_globalconf_t globalconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    int ctx_inited;

    conn *conns;
    size_t nconns;
    strata_api_req *pending;    /* deferred requests, owned by api-request.c */
    strata_api_stream *streams; /* open streams, owned by stream.c */

    int closing, listener_closed;
    strata_api_close_cb close_cb;
    void *close_arg;
};

static void maybe_finish(strata_api *api);

const strata_api_options *
strata_api__opts(const strata_api *api)
{
    return &api->opts;
}

strata_api_req **
strata_api__pending(strata_api *api)
{
    return &api->pending;
}

strata_api_stream **
strata_api__streams(strata_api *api)
{
    return &api->streams;
}

int
strata_api_port(const strata_api *api)
{
    return api->port;
}

static int
is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *) ss;
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) ss;
        const unsigned char *a = sin6->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                                 0, 0, 0, 0, 0xff, 0xff};
        if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
            return 1;
        return memcmp(a, mapped, 12) == 0 && a[12] == 127;
    }
    return 0;
}

/* "127.0.0.1:80", "[::1]:0", "localhost:8080" into a socket address. */
static int
parse_listen(struct sockaddr_storage *out, const char *spec, strata_error *err)
{
    char host[64];
    const char *colon, *port_s, *p;
    size_t hlen;
    long port = 0;

    memset(out, 0, sizeof(*out));
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':')
            goto bad;
        hlen = (size_t) (close - spec - 1);
        if (hlen == 0 || hlen >= sizeof(host))
            goto bad;
        memcpy(host, spec + 1, hlen);
        port_s = close + 2;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL || memchr(spec, ':', (size_t) (colon - spec)))
            goto bad;
        hlen = (size_t) (colon - spec);
        if (hlen == 0 || hlen >= sizeof(host))
            goto bad;
        memcpy(host, spec, hlen);
        port_s = colon + 1;
    }
    host[hlen] = '\0';
    if (port_s[0] == '\0' || strlen(port_s) > 5)
        goto bad;
    for (p = port_s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        port = port * 10 + (*p - '0');
    }
    if (port > 65535)
        goto bad;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (spec[0] == '[') {
        if (uv_ip6_addr(host, (int) port, (struct sockaddr_in6 *) out) != 0)
            goto bad;
    } else if (uv_ip4_addr(host, (int) port, (struct sockaddr_in *) out) != 0) {
        goto bad;
    }
    return 0;

bad:
    return strata_error_set(err, STRATA_EINVAL,
                            "bad listen address '%s' (want HOST:PORT or "
                            "[IPV6]:PORT with a numeric address)",
                            spec);
}

/*
 * Compares SHA-256 digests with CRYPTO_memcmp, so neither the token's
 * bytes nor its length show in the timing.
 */
static int
token_ok(const strata_api *api, h2o_req_t *hreq)
{
    unsigned char got[SHA256_DIGEST_LENGTH];
    const h2o_iovec_t *v;
    ssize_t i;

    i = h2o_find_header(&hreq->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0)
        return 0;
    v = &hreq->headers.entries[i].value;
    if (v->len < 7 || !h2o_lcstris(v->base, 7, H2O_STRLIT("bearer ")))
        return 0;
    SHA256((const unsigned char *) v->base + 7, v->len - 7, got);
    return CRYPTO_memcmp(got, api->token_hash, sizeof(got)) == 0;
}

/*
 * GET /healthz and /readyz answer without the token: a Kubernetes probe
 * (or a load balancer's health check) cannot send a secret header, and
 * they say only "ok" or "not ready".
 */
static int
is_open_path(h2o_req_t *hreq)
{
    int get =
        h2o_memis(hreq->method.base, hreq->method.len, H2O_STRLIT("GET")) ||
        h2o_memis(hreq->method.base, hreq->method.len, H2O_STRLIT("HEAD"));
    return get &&
           (h2o_memis(hreq->path_normalized.base, hreq->path_normalized.len,
                      H2O_STRLIT("/healthz")) ||
            h2o_memis(hreq->path_normalized.base, hreq->path_normalized.len,
                      H2O_STRLIT("/readyz")));
}

/*
 * Every answer forbids what a browser could be tricked into: the
 * dashboard's pages run only the daemon's own script and style (no
 * inline code, nothing from elsewhere), are never framed, never sniffed
 * as another type, and send no Referer. JSON answers carry the same
 * headers; they cost nothing there.
 */
static void
add_security_headers(h2o_req_t *hreq)
{
    static const char csp[] =
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'";

    h2o_add_header_by_str(&hreq->pool, &hreq->res.headers,
                          H2O_STRLIT("content-security-policy"), 0, NULL,
                          H2O_STRLIT(csp));
    h2o_add_header_by_str(&hreq->pool, &hreq->res.headers,
                          H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    h2o_add_header_by_str(&hreq->pool, &hreq->res.headers,
                          H2O_STRLIT("referrer-policy"), 0, NULL,
                          H2O_STRLIT("no-referrer"));
}

/*
 * A browser attaches no bearer token on its own, so a page elsewhere
 * cannot act with it; on top of that, a POST to /api/v1 is refused when
 * it comes from another origin (an Origin header present and not this
 * server's own scheme://host:port) or is not JSON (a cross-site form can
 * send only form and text types without a preflight). 0, or the status
 * to refuse with and *why.
 */
static int
csrf_refusal(h2o_req_t *hreq, const char **why)
{
    const h2o_iovec_t *v;
    ssize_t i;

    if (!h2o_memis(hreq->method.base, hreq->method.len, H2O_STRLIT("POST")) ||
        hreq->path_normalized.len < 8 ||
        memcmp(hreq->path_normalized.base, "/api/v1/", 8) != 0)
        return 0;
    i = h2o_find_header_by_str(&hreq->headers, H2O_STRLIT("origin"), -1);
    if (i >= 0) {
        const h2o_iovec_t *a = &hreq->authority;
        size_t skip;

        v = &hreq->headers.entries[i].value;
        skip = v->len >= 7 && h2o_memis(v->base, 7, H2O_STRLIT("http://")) ? 7
               : v->len >= 8 && h2o_memis(v->base, 8, H2O_STRLIT("https://"))
                   ? 8
                   : 0;
        if (skip == 0 ||
            !h2o_lcstris(v->base + skip, v->len - skip, a->base, a->len)) {
            *why = "cross-origin requests are refused";
            return 403;
        }
    }
    i = h2o_find_header(&hreq->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    v = i >= 0 ? &hreq->headers.entries[i].value : NULL;
    if (v == NULL || v->len < 16 ||
        !h2o_lcstris(v->base, 16, H2O_STRLIT("application/json")) ||
        (v->len > 16 && v->base[16] != ';' && v->base[16] != ' ')) {
        *why = "a POST to the API must have Content-Type: application/json";
        return 415;
    }
    return 0;
}

static int
on_req(h2o_handler_t *self, h2o_req_t *hreq)
{
    strata_api *api = ((api_handler *) self)->api;
    strata_api_req *req = strata_api__req_new(api, hreq);
    int authorized =
        !api->has_token || is_open_path(hreq) || token_ok(api, hreq);
    const char *why = NULL;
    int status;

    add_security_headers(hreq);
    /* Without the token the router answers 401 first. */
    if (authorized && (status = csrf_refusal(hreq, &why)) != 0)
        strata_api_respond_error(req, status, "%s", why);
    else
        strata_api__route(api, req, authorized);
    strata_api__req_done(req);
    return 0;
}

void
strata_api__finished(strata_api *api, const char *method, const char *path,
                     int status, double seconds)
{
    char code[8];

    /* The Authorization header is never logged; neither is the query. */
    log_debug("api: %s %s %d %.3fms", method, path, status, seconds * 1e3);
    if (api == NULL || api->opts.registry == NULL)
        return;
    snprintf(code, sizeof(code), "%d", status);
    strata_metrics_add(api->opts.registry, "strata_http_requests_total",
                       (const char *const[]){"code", code, NULL}, 1);
    strata_metrics_observe(api->opts.registry,
                           "strata_http_request_duration_seconds", NULL,
                           seconds);
}

static void
on_conn_close(uv_handle_t *h)
{
    conn *c = (conn *) ((char *) h - offsetof(conn, tcp));
    strata_api *api = c->api;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        api->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    api->nconns--;
    free(c);
    maybe_finish(api);
}

static void
on_connection(uv_stream_t *server, int status)
{
    strata_api *api = server->data;
    h2o_socket_t *sock;
    conn *c;

    if (status < 0) {
        log_warn("api: accept: %s", uv_strerror(status));
        return;
    }
    c = strata_xcalloc(1, sizeof(*c));
    c->api = api;
    c->next = api->conns;
    if (c->next != NULL)
        c->next->prev = c;
    api->conns = c;
    api->nconns++;
    uv_tcp_init(api->loop, &c->tcp);
    if ((status = uv_accept(server, (uv_stream_t *) &c->tcp)) != 0) {
        log_warn("api: accept: %s", uv_strerror(status));
        uv_close((uv_handle_t *) &c->tcp, on_conn_close);
        return;
    }
    sock = h2o_uv_socket_create((uv_stream_t *) &c->tcp, on_conn_close);
    h2o_accept(&api->accept_ctx, sock);
}

/* Frees everything but the handles, which must be closed already. */
static void
release(strata_api *api)
{
    if (api->ctx_inited)
        h2o_context_dispose(&api->ctx);
    h2o_config_dispose(&api->globalconf);
    free((char *) api->opts.listen);
    free(api);
}

static void
maybe_finish(strata_api *api)
{
    strata_api_close_cb cb = api->close_cb;
    void *arg = api->close_arg;

    if (!api->closing || !api->listener_closed || api->nconns > 0)
        return;
    release(api);
    if (cb != NULL)
        cb(arg);
}

static void
on_listener_close(uv_handle_t *h)
{
    strata_api *api = h->data;

    api->listener_closed = 1;
    maybe_finish(api);
}

static void
setup_h2o(strata_api *api)
{
    h2o_hostconf_t *host;
    h2o_pathconf_t *path;
    api_handler *handler;

    h2o_config_init(&api->globalconf);
    api->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("strata"));
    api->globalconf.max_request_entity_size = api->opts.max_body;
    host = h2o_config_register_host(
        &api->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    path = h2o_config_register_path(host, "/", 0);
    handler = (api_handler *) h2o_create_handler(path, sizeof(*handler));
    handler->super.on_req = on_req;
    handler->api = api;
}

int
strata_api_new(strata_api **out, uv_loop_t *loop,
               const strata_api_options *opts, strata_error *err)
{
    struct sockaddr_storage ss;
    int namelen = sizeof(ss);
    strata_api *api;
    const char *listen;
    int r;

    *out = NULL;
    listen = opts->listen != NULL ? opts->listen : DEFAULT_LISTEN;
    if ((r = parse_listen(&ss, listen, err)) != 0)
        return r;
    if (opts->token != NULL && opts->token[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "the API token must not be empty");
    if (!is_loopback(&ss) && opts->token == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "refusing to serve the API on '%s' without "
                                "a token: set a token or listen on loopback",
                                listen);

    api = strata_xcalloc(1, sizeof(*api));
    api->loop = loop;
    api->opts = *opts;
    api->opts.listen = strata_xstrdup(listen);
    api->opts.token = NULL; /* only its digest is kept */
    if (opts->token != NULL) {
        api->has_token = 1;
        SHA256((const unsigned char *) opts->token, strlen(opts->token),
               api->token_hash);
    }
    if (api->opts.max_body == 0)
        api->opts.max_body = DEFAULT_MAX_BODY;
    if (api->opts.registry != NULL) {
        /* Already defined by another server on the same registry: fine. */
        strata_metrics_define(api->opts.registry, STRATA_METRIC_COUNTER,
                              "strata_http_requests_total",
                              "HTTP API requests answered, by status code",
                              NULL, 0, NULL);
        strata_metrics_define(api->opts.registry, STRATA_METRIC_HISTOGRAM,
                              "strata_http_request_duration_seconds",
                              "HTTP API request handling time", NULL, 0, NULL);
    }
    setup_h2o(api);

    uv_tcp_init(loop, &api->listener);
    api->listener.data = api;
    if ((r = uv_tcp_bind(&api->listener, (struct sockaddr *) &ss, 0)) != 0 ||
        (r = uv_listen((uv_stream_t *) &api->listener, 128, on_connection)) !=
            0 ||
        (r = uv_tcp_getsockname(&api->listener, (struct sockaddr *) &ss,
                                &namelen)) != 0) {
        strata_error_set(err, STRATA_ENET, "cannot listen on '%s': %s", listen,
                         uv_strerror(r));
        /* Nothing was accepted: close the listener and free in its cb. */
        api->closing = 1;
        uv_close((uv_handle_t *) &api->listener, on_listener_close);
        return STRATA_ENET;
    }
    api->port = ntohs(ss.ss_family == AF_INET6
                          ? ((struct sockaddr_in6 *) &ss)->sin6_port
                          : ((struct sockaddr_in *) &ss)->sin_port);

    h2o_context_init(&api->ctx, loop, &api->globalconf);
    api->ctx_inited = 1;
    api->accept_ctx.ctx = &api->ctx;
    api->accept_ctx.hosts = api->globalconf.hosts;
    log_info("api: listening on %s (port %d)%s", listen, api->port,
             api->has_token ? ", token required" : "");
    *out = api;
    return 0;
}

void
strata_api_close(strata_api *api, strata_api_close_cb cb, void *arg)
{
    conn *c;

    if (api == NULL)
        return;
    assert(!api->closing);
    api->closing = 1;
    api->close_cb = cb;
    api->close_arg = arg;
    uv_close((uv_handle_t *) &api->listener, on_listener_close);
    strata_api__req_cancel_all(api);
    strata_api__stream_close_all(api);
    for (c = api->conns; c != NULL; c = c->next) {
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *) &c->tcp, &fd) == 0)
            shutdown(fd, SHUT_RD);
    }
}
