/*
 * api.h - the HTTP API server on h2o (HTTP/1.1 and cleartext HTTP/2 on
 * the caller's libuv loop) and the Prometheus metrics registry it serves.
 * The server does the HTTP: binding policy, bearer token, limits, routing;
 * its user supplies the data through a route table and a few callbacks.
 * Needs only core/.
 */
#ifndef STRATA_API_H
#define STRATA_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "core.h"

/*
 * The daemon's HTTP API (api-*.c) and the Prometheus metrics registry it
 * serves (metrics.c). The server does the HTTP; the daemon supplies the
 * data through a route table and a few callbacks.
 */

/* ---- metrics (metrics.c) ---- */

typedef struct strata_metrics strata_metrics;

typedef enum strata_metric_kind {
    STRATA_METRIC_COUNTER = 0,
    STRATA_METRIC_GAUGE,
    STRATA_METRIC_HISTOGRAM,
} strata_metric_kind;

/* A registry of metric families. Free with strata_metrics_free(). */
strata_metrics *strata_metrics_new(void);
void strata_metrics_free(strata_metrics *m);

/*
 * Declares a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]* and be new;
 * help is one line. Histograms take strictly increasing upper bounds
 * (buckets, nbuckets; NULL for the default latency buckets in seconds);
 * other kinds ignore them. Returns STRATA_EINVAL or STRATA_EEXISTS.
 */
int strata_metrics_define(strata_metrics *m, strata_metric_kind kind,
                          const char *name, const char *help,
                          const double *buckets, size_t nbuckets,
                          strata_error *err);

/*
 * Updates one series of a declared family (an undeclared name or a wrong
 * kind is a programming error and asserts). labels is NULL or a
 * NULL-terminated list of name, value pairs: {"code", "200", NULL}; values
 * are escaped on output. add: counters (v >= 0) and gauges; set: gauges,
 * and counters that mirror a total kept elsewhere (never lower than
 * before); observe: histograms.
 */
void strata_metrics_add(strata_metrics *m, const char *name,
                        const char *const *labels, double v);
void strata_metrics_set(strata_metrics *m, const char *name,
                        const char *const *labels, double v);
void strata_metrics_observe(strata_metrics *m, const char *name,
                            const char *const *labels, double v);

/* Appends every family in the Prometheus text format 0.0.4 to out. */
void strata_metrics_render(const strata_metrics *m, strata_buf *out);

/* ---- server (api-server.c, api-request.c, api-routes.c) ---- */

typedef struct strata_api strata_api;
typedef struct strata_api_req strata_api_req;

/* Methods a route accepts, as a bit set. HEAD is served by GET routes. */
enum {
    STRATA_API_GET = 1 << 0,
    STRATA_API_POST = 1 << 1,
    STRATA_API_PUT = 1 << 2,
    STRATA_API_DELETE = 1 << 3,
    STRATA_API_PATCH = 1 << 4,
    STRATA_API_OPTIONS = 1 << 5, /* a webhook's validation handshake */
};

/*
 * Handles one request. It must either answer before returning (one of
 * the strata_api_respond* calls) or call strata_api_req_defer() and answer
 * later from the loop; a handler that does neither gets a 500.
 */
typedef void (*strata_api_handler_cb)(strata_api_req *req, void *arg);

typedef struct strata_api_route {
    unsigned methods; /* STRATA_API_GET | ... */
    const char *path; /* "/api/v1/jobs"; with prefix, "/api/v1/jobs/" */
    int prefix;       /* match every path that starts with path */
    strata_api_handler_cb handler; /* NULL ends the table */
    void *arg;
    /*
     * The handler verifies each request with a secret of its own (a
     * webhook's HMAC signature or token): the API token, which senders
     * such as GitHub or a registry cannot send, is not asked for.
     */
    int own_auth;
} strata_api_route;

/* Non-zero when the daemon is ready to serve (GET /readyz). */
typedef int (*strata_api_ready_cb)(void *arg);
/* Appends Prometheus text to out (GET /metrics). */
typedef void (*strata_api_metrics_cb)(strata_buf *out, void *arg);
/* Runs once the server's handles are closed and its memory is freed. */
typedef void (*strata_api_close_cb)(void *arg);

typedef struct strata_api_options {
    /*
     * "HOST:PORT": "127.0.0.1:8080", "[::1]:0", "0.0.0.0:8080"; port 0
     * picks a free port (see strata_api_port()). NULL = "127.0.0.1:8080".
     * A host that is not a loopback address needs a token.
     */
    const char *listen;
    /* Bearer token every request but GET /healthz must carry, or NULL. */
    const char *token;
    /*
     * The daemon's routes, ended by an entry whose handler is NULL. Exact
     * paths win over prefixes, longer prefixes over shorter. Borrowed:
     * must outlive the server.
     */
    const strata_api_route *routes;
    size_t max_body; /* request bodies above are refused (413); 0 = 1 MiB */
    strata_api_ready_cb ready; /* NULL: always ready */
    void *ready_arg;
    strata_api_metrics_cb metrics; /* text for /metrics, or NULL */
    void *metrics_arg;
    /*
     * Optional registry (borrowed, must outlive the server): the server
     * counts requests there (strata_http_requests_total{code},
     * strata_http_request_duration_seconds) and /metrics renders it
     * after the metrics callback ran (so the callback may update it
     * first) and before the callback's text.
     */
    strata_metrics *registry;
} strata_api_options;

/*
 * Binds and listens on loop. Returns STRATA_EINVAL for a bad address or a
 * non-loopback address without a token, STRATA_ENET when the bind fails.
 * opts and the strings it points to are copied, except routes and
 * registry.
 */
int strata_api_new(strata_api **out, uv_loop_t *loop,
                   const strata_api_options *opts, strata_error *err);

/* The bound port (useful with port 0). */
int strata_api_port(const strata_api *api);

/*
 * Stops listening, answers deferred requests with 503, closes every
 * connection (in-flight responses are finished first), and frees the
 * server in a later loop turn; cb (may be NULL) runs then. api may be NULL.
 */
void strata_api_close(strata_api *api, strata_api_close_cb cb, void *arg);

/* ---- requests (api-request.c) ---- */

/* The request method: "GET", "POST", ... Borrowed. */
const char *strata_api_req_method(const strata_api_req *req);
/* The normalised path, without the query string. Borrowed. */
const char *strata_api_req_path(const strata_api_req *req);
/* For a prefix route, the part of the path after the prefix. Borrowed. */
const char *strata_api_req_path_rest(const strata_api_req *req);
/*
 * The request body (not NUL-terminated) and its length. Borrowed, valid
 * until the handler returns: a deferring handler copies what it needs.
 */
const void *strata_api_req_body(const strata_api_req *req, size_t *len);
/* A request header's first value, or NULL. New string. */
char *strata_api_req_header(const strata_api_req *req, const char *name);
/* The raw query string after '?', or NULL. Borrowed. */
const char *strata_api_req_query_string(const strata_api_req *req);

/*
 * A query parameter, percent-decoded (also '+' as space): 0 and a new
 * string in *out (NULL when absent); STRATA_EINVAL for a malformed query
 * string.
 */
int strata_api_req_query(char **out, const strata_api_req *req, const char *key,
                         strata_error *err);

/* Pagination parameters: ?limit=N&after=CURSOR. */
typedef struct strata_api_page {
    long limit;  /* 1..max_limit; def_limit when absent */
    char *after; /* the cursor (new string) or NULL when absent */
} strata_api_page;

/*
 * Parses ?limit= and ?after= into out. STRATA_EINVAL ("bad 'limit' ...")
 * when limit is not an integer in 1..max_limit or after is empty, too long
 * (over 256 bytes) or has control characters; answer that with 400. Free
 * out->after.
 */
int strata_api_req_page(strata_api_page *out, const strata_api_req *req,
                        long def_limit, long max_limit, strata_error *err);

/* Marks req as answered later; see strata_api_handler_cb. */
void strata_api_req_defer(strata_api_req *req);

/* Adds a response header; call before responding. Values are copied. */
void strata_api_req_add_header(strata_api_req *req, const char *name,
                               const char *value);

/*
 * Answers req (exactly once). For a deferred request this also releases
 * req, which must not be used after; if the client has gone or the server
 * has closed meanwhile, nothing is sent but req is still released.
 */
void strata_api_respond(strata_api_req *req, int status,
                        const char *content_type, const void *body, size_t len);
/* Answers with body serialised as JSON (body is borrowed). */
void strata_api_respond_json(strata_api_req *req, int status,
                             const json_t *body);
/* Answers {"error": "<message>"} with status. */
void strata_api_respond_error(strata_api_req *req, int status, const char *fmt,
                              ...) __attribute__((format(printf, 3, 4)));

/* ---- streamed answers (stream.c) ---- */

/*
 * A response whose body is written bit by bit for as long as both sides
 * want (Server-Sent Events): a 200 with no Content-Length, sent with
 * chunked encoding (HTTP/1.1) or as DATA frames (HTTP/2).
 */
typedef struct strata_api_stream strata_api_stream;

/*
 * Runs once when the stream ends other than by strata_api_stream_end():
 * the client went away, or the server is closing. The stream is freed
 * right after; the callback must forget it.
 */
typedef void (*strata_api_stream_close_cb)(strata_api_stream *s, void *arg);

/*
 * Answers req, a request its handler deferred, with a 200 whose body
 * follows through strata_api_stream_write(); req is released and must
 * not be used after. Headers added to req before are sent. At most
 * max_backlog bytes may wait for a slow client (0: 256 KiB). cb (with
 * arg) runs as strata_api_stream_close_cb says, never inside this call.
 * Returns STRATA_ECANCELED, with *out NULL, when the client has gone or
 * the server is closing (req is released all the same).
 */
int strata_api_stream_begin(strata_api_stream **out, strata_api_req *req,
                            const char *content_type, size_t max_backlog,
                            strata_api_stream_close_cb cb, void *arg,
                            strata_error *err);

/*
 * Queues len bytes of the body; they are sent when the client has taken
 * what went before. STRATA_ETOOBIG when the bytes waiting would pass
 * max_backlog (nothing is queued: the caller ends the stream, a client
 * that slow is dropped).
 */
int strata_api_stream_write(strata_api_stream *s, const void *data, size_t len,
                            strata_error *err);

/*
 * Non-zero when the client has closed its end of the connection. An
 * HTTP/1.1 server reads nothing while it answers, so an idle stream would
 * learn of a gone client only when a write fails, two writes later; the
 * owner asks this on its timer and ends such a stream.
 */
int strata_api_stream_peer_closed(const strata_api_stream *s);

/*
 * Ends s at once, for a client that takes nothing: an HTTP/1.1
 * connection is shut down (what is queued is lost), otherwise as
 * strata_api_stream_end(). Frees s; the close callback does not run.
 */
void strata_api_stream_abort(strata_api_stream *s);

/* Bytes queued and not yet taken by the client. */
size_t strata_api_stream_backlog(const strata_api_stream *s);

/*
 * Ends the body once what is queued is sent, and frees s (at once or
 * when the client has taken the rest); the close callback does not run.
 * After a write was refused with STRATA_ETOOBIG, an HTTP/1.1 client's
 * connection is shut down instead (a client that slow would otherwise
 * hold it for as long as it likes). s may be NULL.
 */
void strata_api_stream_end(strata_api_stream *s);

#endif
