/*
 * http.h - the one HTTP client every strata module uses: libcurl's multi
 * interface driven by a libuv loop (uv_poll per socket, one uv_timer,
 * curl_multi_socket_action), after curl's docs/examples/multi-uv.c.
 * Included by core.h; not included on its own.
 *
 * Connections are reused (keep-alive) and HTTP/2 is negotiated over TLS
 * where the server offers it. TLS is verified unless a request says
 * otherwise.
 */
#ifndef STRATA_CORE_HTTP_H
#define STRATA_CORE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef struct strata_http strata_http;

/* A request header list: "Name: value" strings. */
typedef struct strata_http_header {
    const char *name;
    const char *value;
} strata_http_header;

/* One transfer under way, as a body sink sees it. */
typedef struct strata_http_transfer strata_http_transfer;

/* What a body sink returns to wait for strata_http_resume(). */
#define STRATA_HTTP_PAUSE 1

/*
 * Receives the body of a 2xx answer as it arrives, instead of
 * resp->body (which then stays empty; the body of any other answer is
 * collected there as usual). Returns 0 when it took all len bytes;
 * STRATA_HTTP_PAUSE when it took none of them and the transfer is to wait
 * until strata_http_resume(t) (the same bytes come again then); or a
 * negative STRATA_E* code to end the transfer with that code. max_body
 * limits what the sink gets (a larger Content-Length of a 2xx answer is
 * refused before reading); the body of another answer is kept up to
 * 1 MiB. It runs from the loop, and may run from inside
 * strata_http_resume().
 */
typedef int (*strata_http_sink_cb)(strata_http_transfer *t, const char *data,
                                   size_t len, void *arg);

typedef struct strata_http_request {
    const char *method; /* "GET" when NULL; "HEAD" sends no body back */
    const char *url;
    const strata_http_header *headers; /* borrowed; nheaders entries */
    size_t nheaders;
    const void *body; /* borrowed until the callback runs */
    size_t body_len;
    uint32_t timeout_ms;         /* whole transfer; 0 = 30 s */
    uint32_t connect_timeout_ms; /* 0 = 10 s */
    /*
     * Response body limit; 0 = 64 MiB. A declared Content-Length over it
     * is refused before anything is read, and reading stops there.
     */
    size_t max_body;
    int follow_redirects;     /* up to 8 hops when non-zero */
    int insecure;             /* skip TLS verification */
    const char *ca_file;      /* CA bundle used instead of the system's */
    const char *userpwd;      /* "user:password" Basic auth, or NULL */
    strata_http_sink_cb sink; /* the body of a 2xx answer, or NULL */
    void *sink_arg;
    /* The URL is itself a credential (a Slack, Teams or Discord webhook):
     * logs and messages name its scheme and host only. Any other URL is
     * named by scheme, host and path, never with its userinfo or query. */
    int url_secret;
} strata_http_request;

typedef struct strata_http_response {
    long status;          /* final HTTP status, 0 if none arrived */
    strata_buf body;      /* owned by the response */
    char **header_names;  /* lowercased names of the final response */
    char **header_values; /* values, trimmed */
    size_t nheaders;
    char *effective_url;  /* after redirects, without user:password@ */
    double total_seconds; /* wall time of the transfer */
} strata_http_response;

/*
 * Runs once per request with the response (status may be any code: HTTP
 * errors are not transport errors) or with err set: STRATA_ENET
 * (connection, DNS, TLS), STRATA_ETIMEOUT, STRATA_ETOOBIG (body over
 * max_body), STRATA_EPROTO (too many redirects, a garbled reply) or
 * STRATA_ECANCELED (strata_http_close). resp is NULL when err is set.
 * Messages name the URL as strata_url_for_log() shows it. Both are borrowed and
 * valid only during the call; steal the body with strata_buf_detach() if you
 * need it after (body.ptr is never NULL in a response).
 */
typedef void (*strata_http_cb)(const strata_http_response *resp,
                               const strata_error *err, void *arg);

/* Creates a client on loop. Close it with strata_http_close(). */
int strata_http_new(strata_http **out, uv_loop_t *loop, strata_error *err);

/*
 * Cancels every transfer (their callbacks run with STRATA_ECANCELED, from
 * inside this call), then closes the client's handles; memory is released
 * once the loop has run the close callbacks. May be called from a request's
 * callback. http may be NULL; a second call does nothing.
 */
void strata_http_close(strata_http *http);

/*
 * Starts a request. On error (STRATA_EINVAL for a bad URL, method or
 * header, STRATA_ECANCELED while closing) the callback never runs;
 * otherwise it runs exactly once, from the loop, never from inside this
 * call. req and all it points to are copied, except body, which must
 * outlive the callback. Only http and https URLs are accepted.
 */
int strata_http_send(strata_http *http, const strata_http_request *req,
                     strata_http_cb cb, void *arg, strata_error *err);

/*
 * Resumes a transfer whose sink returned STRATA_HTTP_PAUSE; the sink may
 * run again from inside this call. t is valid until the request's
 * callback has run; resuming one that is not paused does nothing.
 */
void strata_http_resume(strata_http_transfer *t);

/* Number of transfers under way. */
size_t strata_http_active(const strata_http *http);

/*
 * Synchronous convenience for the CLI: runs a private loop until the
 * request ends. *out is the caller's (free with strata_http_response_free).
 * Transport errors are returned; HTTP statuses are in (*out)->status.
 */
int strata_http_fetch(strata_http_response **out,
                      const strata_http_request *req, strata_error *err);

/*
 * Case-insensitive lookup of a response header: the first one of that
 * name. Borrowed; NULL if absent.
 */
const char *strata_http_response_header(const strata_http_response *resp,
                                        const char *name);

/* Deep copy of a response, for callers that keep it past the callback. */
strata_http_response *strata_http_response_dup(const strata_http_response *r);
void strata_http_response_free(strata_http_response *resp);

/*
 * Returns url without its "user:password@" part (strata_url_strip_userinfo).
 * New; the caller frees it. Logs want strata_url_for_log(), which also
 * drops the query.
 */
char *strata_http_url_redact(const char *url);

#endif
