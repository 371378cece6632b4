/*
 * test-api.c - the HTTP API server (api/server.c, request.c, routes.c) and the
 * metrics registry (api/metrics.c), tested in-process: the server runs on a uv
 * loop in the main thread on 127.0.0.1 with an ephemeral port, and real clients
 * drive it from another thread (libcurl easy handles, and wrk when installed).
 * The client thread signals the loop through a uv_async_t when it is done; the
 * loop thread then closes the server and every test ends with uv_loop_close()
 * == 0. Also: the security headers and CSRF checks every answer and POST
 * gets, and streamed answers (api/stream.c) to clients that read, hang up,
 * or are still reading when the server closes.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "api.h"
#include "harness.h"

/* ---- fixture: a server on a loop, a client thread ------------------- */

typedef struct fixture fixture;
typedef void (*client_fn)(fixture *f);

struct fixture {
    uv_loop_t loop;
    strata_api *api;
    strata_metrics *registry;
    uv_async_t done;
    uv_timer_t timer;
    strata_api_req *later; /* deferred, answered by the timer */
    size_t later_len;
    strata_api_req *never;  /* deferred, still open at shutdown */
    int ready;              /* read by the loop, set by the client */
    int closed;             /* the server's close callback ran */
    int never_seen;         /* the "never" handler ran */
    int signaled;           /* the client has sent `done` itself */
    int answered_later;     /* on_later ran */
    uint64_t close_started; /* uv_hrtime() when close began */
    uint64_t close_ns;      /* how long the close took */
    char base[64];          /* "http://127.0.0.1:PORT" */
    client_fn client;
    uv_timer_t tick;           /* writes to the open stream */
    strata_api_stream *stream; /* GET /api/v1/stream, while open */
    int ticks;
    int stream_closed;  /* its close callback ran */
    int toobig_rc;      /* a write over the backlog cap */
    int stream_written; /* bytes of ticks written */
    int flood;          /* ticks write 64 KiB each (a slow client test) */
    int flood_hold;     /* flood only until 1 MiB waits, never drop */
    int flood_end;      /* then end the stream (its last bytes stuck) */
    int dropped;        /* a write hit the backlog cap: stream ended */
};

static void
on_later(uv_timer_t *t)
{
    fixture *f = t->data;
    json_t *o = json_pack("{s:b,s:I}", "accepted", 1, "bytes",
                          (json_int_t) f->later_len);

    strata_api_respond_json(f->later, 202, o);
    json_decref(o);
    f->later = NULL;
    __atomic_add_fetch(&f->answered_later, 1, __ATOMIC_SEQ_CST);
}

/* GET /api/v1/jobs?limit=&after= : echoes the parsed page. */
static void
route_jobs(strata_api_req *req, void *arg)
{
    strata_api_page page;
    strata_error err = {0};
    json_t *o;

    if (strata_api_req_page(&page, req, 20, 100, &err) != 0) {
        strata_api_respond_error(req, 400, "%s", err.msg);
        return;
    }
    o = json_pack("{s:i,s:s?}", "limit", (int) page.limit, "after", page.after);
    strata_api_respond_json(req, 200, o);
    json_decref(o);
    free(page.after);
}

/* GET /api/v1/images/<rest> : a prefix route. */
static void
route_image(strata_api_req *req, void *arg)
{
    json_t *o = json_pack("{s:s}", "image", strata_api_req_path_rest(req));

    strata_api_respond_json(req, 200, o);
    json_decref(o);
}

/* POST /hooks/registry : answers 202 later, from a timer (async). */
static void
route_hook(strata_api_req *req, void *arg)
{
    fixture *f = arg;
    char *ct = strata_api_req_header(req, "Content-Type");

    if (ct == NULL || strcmp(ct, "application/json") != 0) {
        strata_api_respond_error(req, 415, "want application/json");
        free(ct);
        return;
    }
    free(ct);
    strata_api_req_body(req, &f->later_len);
    strata_api_req_defer(req);
    f->later = req;
    uv_timer_start(&f->timer, on_later, 20, 0);
}

/* GET /api/v1/slow : deferred, answered 300 ms later by the timer. */
static void
route_slow(strata_api_req *req, void *arg)
{
    fixture *f = arg;

    strata_api_req_defer(req);
    f->later = req;
    f->later_len = 0;
    uv_timer_start(&f->timer, on_later, 300, 0);
}

/* POST /hooks/never : deferred and never answered before shutdown. */
static void
route_never(strata_api_req *req, void *arg)
{
    fixture *f = arg;

    strata_api_req_defer(req);
    f->never = req;
    __atomic_store_n(&f->never_seen, 1, __ATOMIC_SEQ_CST);
}

/* POST /api/v1/echo : 200 with the body's length. */
static void
route_echo(strata_api_req *req, void *arg)
{
    size_t len;
    json_t *o;

    strata_api_req_body(req, &len);
    o = json_pack("{s:I}", "bytes", (json_int_t) len);
    strata_api_respond_json(req, 200, o);
    json_decref(o);
}

static void
on_stream_closed(strata_api_stream *s, void *arg)
{
    fixture *f = arg;

    CHECK(s == f->stream);
    f->stream = NULL;
    uv_timer_stop(&f->tick);
    __atomic_add_fetch(&f->stream_closed, 1, __ATOMIC_SEQ_CST);
}

/* Every 10 ms a line, until the client goes or the server closes. */
static void
on_tick(uv_timer_t *t)
{
    fixture *f = t->data;
    char line[32];
    int n;

    if (f->stream == NULL)
        return;
    if (f->flood) {
        static char chunk[64 * 1024];
        strata_error err = {0};

        memset(chunk, 'x', sizeof(chunk));
        if (f->flood_hold && strata_api_stream_backlog(f->stream) > 1 << 20) {
            if (f->flood_end) {
                strata_api_stream_end(f->stream);
                f->stream = NULL;
                __atomic_store_n(&f->dropped, 1, __ATOMIC_SEQ_CST);
            }
            return;
        }
        if (strata_api_stream_write(f->stream, chunk, sizeof(chunk), &err) !=
            0) {
            /* The client reads nothing: drop it, as the daemon does. */
            CHECK_EQ(err.code, STRATA_ETOOBIG);
            strata_api_stream_end(f->stream);
            f->stream = NULL;
            __atomic_store_n(&f->dropped, 1, __ATOMIC_SEQ_CST);
        }
        return;
    }
    n = snprintf(line, sizeof(line), "tick %d\n", ++f->ticks);
    if (strata_api_stream_write(f->stream, line, (size_t) n, NULL) == 0)
        __atomic_add_fetch(&f->stream_written, n, __ATOMIC_SEQ_CST);
    /* An HTTP/1.1 server reads nothing while it answers: a client that
     * hung up is seen by peeking, as the daemon's timer does. */
    if (f->stream != NULL && strata_api_stream_peer_closed(f->stream)) {
        strata_api_stream_end(f->stream);
        f->stream = NULL;
        __atomic_add_fetch(&f->stream_closed, 1, __ATOMIC_SEQ_CST);
    }
}

/* GET /api/v1/stream : a streamed answer, "hello" then ticks. */
static void
route_stream(strata_api_req *req, void *arg)
{
    fixture *f = arg;
    strata_error err = {0};
    char *big;

    CHECK(f->stream == NULL);
    CHECK_OK(strata_api_stream_begin(&f->stream, req, "text/plain", 64 * 1024,
                                     on_stream_closed, f, &err),
             &err);
    CHECK_OK(strata_api_stream_write(f->stream, "hello\n", 6, &err), &err);
    /* Over the cap at once: refused, nothing queued. */
    big = strata_xcalloc(1, 100 * 1024);
    f->toobig_rc = strata_api_stream_write(f->stream, big, 100 * 1024, &err);
    free(big);
    CHECK(strata_api_stream_backlog(f->stream) <= 6);
    uv_timer_start(&f->tick, on_tick, 10, 10);
}

/* GET /api/v1/flood : a stream written as fast as the cap allows. */
static void
route_flood(strata_api_req *req, void *arg)
{
    fixture *f = arg;
    strata_error err = {0};

    CHECK(f->stream == NULL);
    f->flood_end = strcmp(strata_api_req_path(req), "/api/v1/flood-end") == 0;
    f->flood_hold = f->flood_end ||
                    strcmp(strata_api_req_path(req), "/api/v1/flood-hold") == 0;
    CHECK_OK(strata_api_stream_begin(&f->stream, req, "text/plain",
                                     f->flood_hold ? 1 << 30 : 0,
                                     on_stream_closed, f, &err),
             &err);
    f->flood = 1;
    uv_timer_start(&f->tick, on_tick, 5, 5);
}

/* GET /api/v1/lazy : a buggy handler that never answers. */
static void
route_lazy(strata_api_req *req, void *arg)
{
}

static int
is_ready(void *arg)
{
    fixture *f = arg;
    return __atomic_load_n(&f->ready, __ATOMIC_SEQ_CST);
}

static void
daemon_metrics(strata_buf *out, void *arg)
{
    strata_buf_puts(out, "# TYPE strata_jobs_queued gauge\n"
                         "strata_jobs_queued 3\n");
}

static void
on_api_closed(void *arg)
{
    fixture *f = arg;

    /* The server has gone: answering now only frees the request. */
    if (f->never != NULL)
        strata_api_respond(f->never, 200, "text/plain", "late", 4);
    f->never = NULL;
    f->close_ns = uv_hrtime() - f->close_started;
    __atomic_store_n(&f->closed, 1, __ATOMIC_SEQ_CST);
}

static void
on_done(uv_async_t *a)
{
    fixture *f = a->data;

    f->close_started = uv_hrtime();
    strata_api_close(f->api, on_api_closed, f);
    uv_close((uv_handle_t *) &f->done, NULL);
    uv_close((uv_handle_t *) &f->timer, NULL);
    uv_close((uv_handle_t *) &f->tick, NULL);
}

static void *
client_main(void *arg)
{
    fixture *f = arg;

    f->client(f);
    if (!f->signaled)
        uv_async_send(&f->done);
    return NULL;
}

static void
run_fixture(const char *token, client_fn client)
{
    fixture f;
    strata_error err = {0};
    pthread_t th;
    const strata_api_route routes[] = {
        {STRATA_API_GET, "/api/v1/jobs", 0, route_jobs, &f, 0},
        {STRATA_API_GET, "/api/v1/images/", 1, route_image, &f, 0},
        {STRATA_API_GET, "/api/v1/lazy", 0, route_lazy, &f, 0},
        {STRATA_API_GET, "/api/v1/slow", 0, route_slow, &f, 0},
        {STRATA_API_POST, "/hooks/registry", 0, route_hook, &f, 0},
        {STRATA_API_POST, "/hooks/never", 0, route_never, &f, 0},
        {STRATA_API_POST, "/api/v1/echo", 0, route_echo, &f, 0},
        {STRATA_API_GET, "/api/v1/stream", 0, route_stream, &f, 0},
        {STRATA_API_GET, "/api/v1/flood", 0, route_flood, &f, 0},
        {STRATA_API_GET, "/api/v1/flood-hold", 0, route_flood, &f, 0},
        {STRATA_API_GET, "/api/v1/flood-end", 0, route_flood, &f, 0},
        {0, NULL, 0, NULL, NULL, 0},
    };
    strata_api_options opts = {
        .listen = "127.0.0.1:0",
        .token = token,
        .routes = routes,
        .ready = is_ready,
        .ready_arg = &f,
        .metrics = daemon_metrics,
    };

    memset(&f, 0, sizeof(f));
    f.client = client;
    f.registry = strata_metrics_new();
    opts.registry = f.registry;
    CHECK_EQ(uv_loop_init(&f.loop), 0);
    CHECK_OK(strata_api_new(&f.api, &f.loop, &opts, &err), &err);
    CHECK(strata_api_port(f.api) > 0);
    snprintf(f.base, sizeof(f.base), "http://127.0.0.1:%d",
             strata_api_port(f.api));
    uv_async_init(&f.loop, &f.done, on_done);
    f.done.data = &f;
    uv_timer_init(&f.loop, &f.timer);
    f.timer.data = &f;
    uv_timer_init(&f.loop, &f.tick);
    f.tick.data = &f;

    CHECK_EQ(pthread_create(&th, NULL, client_main, &f), 0);
    CHECK_EQ(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK(f.closed);
    CHECK(f.never == NULL && f.later == NULL);
    CHECK_EQ(uv_loop_close(&f.loop), 0);
    strata_metrics_free(f.registry);
}

/* ---- client side (runs in the client thread) ------------------------ */

typedef struct resp {
    long status;
    long version; /* CURL_HTTP_VERSION_* */
    long connects;
    strata_buf body;
    strata_buf headers;
} resp;

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
    strata_buf_add(arg, p, sz * n);
    return sz * n;
}

static void
resp_release(resp *r)
{
    strata_buf_release(&r->body);
    strata_buf_release(&r->headers);
}

/*
 * One request on handle c (kept for connection reuse). token: the bearer
 * token to send, or NULL. Returns the status.
 */
static long
req(CURL *c, resp *r, const char *method, const char *url, const char *token,
    const char *body, size_t len, const char *ctype)
{
    struct curl_slist *h = NULL;
    char line[256];
    CURLcode rc;

    memset(r, 0, sizeof(*r));
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
    }
    if (token != NULL) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, line);
    }
    if (ctype != NULL) {
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        printf("# %s %s: %s\n", method, url, curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &r->version);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->connects);
    return r->status;
}

static long
get(CURL *c, resp *r, fixture *f, const char *path, const char *token)
{
    char url[256];

    snprintf(url, sizeof(url), "%s%s", f->base, path);
    return req(c, r, "GET", url, token, NULL, 0, NULL);
}

/* The value of response header name (case-insensitive), or "". */
static const char *
header(resp *r, const char *name, char *out, size_t outlen)
{
    const char *p = strata_buf_cstr(&r->headers);
    size_t n = strlen(name);

    out[0] = '\0';
    while (p != NULL && *p != '\0') {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *e;
            while (*v == ' ')
                v++;
            e = strpbrk(v, "\r\n");
            snprintf(out, outlen, "%.*s", (int) (e ? e - v : (long) strlen(v)),
                     v);
            return out;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return out;
}

/* Checks a JSON error body {"error": "..."} containing want. */
static void
check_json_error(resp *r, const char *want)
{
    char ct[128];
    json_error_t je;
    json_t *o = json_loads(strata_buf_cstr(&r->body), 0, &je);

    CHECK_STR_EQ(header(r, "content-type", ct, sizeof(ct)), "application/json");
    CHECK(o != NULL);
    CHECK(json_is_string(json_object_get(o, "error")));
    CHECK_CONTAINS(json_string_value(json_object_get(o, "error")), want);
    json_decref(o);
}

/* ---- tests ---------------------------------------------------------- */

static void
client_builtins(fixture *f)
{
    CURL *c = curl_easy_init();
    char v[128];
    resp r;

    CHECK_EQ(get(c, &r, f, "/healthz", NULL), 200);
    CHECK_STR_EQ(strata_buf_cstr(&r.body), "ok\n");
    CHECK_STR_EQ(header(&r, "content-type", v, sizeof(v)),
                 "text/plain; charset=utf-8");
    resp_release(&r);

    CHECK_EQ(get(c, &r, f, "/readyz", NULL), 503);
    resp_release(&r);
    __atomic_store_n(&f->ready, 1, __ATOMIC_SEQ_CST);
    CHECK_EQ(get(c, &r, f, "/readyz", NULL), 200);
    resp_release(&r);

    CHECK_EQ(get(c, &r, f, "/metrics", NULL), 200);
    CHECK_STR_EQ(header(&r, "content-type", v, sizeof(v)),
                 "text/plain; version=0.0.4; charset=utf-8");
    CHECK_CONTAINS(strata_buf_cstr(&r.body), "strata_jobs_queued 3\n");
    /* healthz + 2 readyz answered before: 2 x 200, 1 x 503. */
    CHECK_CONTAINS(strata_buf_cstr(&r.body),
                   "strata_http_requests_total{code=\"200\"} 2\n");
    CHECK_CONTAINS(strata_buf_cstr(&r.body),
                   "strata_http_requests_total{code=\"503\"} 1\n");
    CHECK_CONTAINS(strata_buf_cstr(&r.body),
                   "strata_http_request_duration_seconds_count 3\n");
    resp_release(&r);

    /* HEAD is served by GET routes, without a body. */
    {
        char url[128];
        snprintf(url, sizeof(url), "%s/healthz", f->base);
        CHECK_EQ(req(c, &r, "HEAD", url, NULL, NULL, 0, NULL), 200);
        CHECK_EQ(r.body.len, 0);
        resp_release(&r);
    }
    curl_easy_cleanup(c);
}

TEST(builtin_routes)
{
    run_fixture(NULL, client_builtins);
}

static void
client_errors(fixture *f)
{
    CURL *c = curl_easy_init();
    char url[256], v[128];
    char *big;
    resp r;

    CHECK_EQ(get(c, &r, f, "/nope", NULL), 404);
    check_json_error(&r, "no such path '/nope'");
    resp_release(&r);

    snprintf(url, sizeof(url), "%s/healthz", f->base);
    CHECK_EQ(req(c, &r, "POST", url, NULL, "x", 1, NULL), 405);
    CHECK_STR_EQ(header(&r, "allow", v, sizeof(v)), "GET, HEAD");
    check_json_error(&r, "not allowed");
    resp_release(&r);

    snprintf(url, sizeof(url), "%s/hooks/registry", f->base);
    CHECK_EQ(req(c, &r, "GET", url, NULL, NULL, 0, NULL), 405);
    CHECK_STR_EQ(header(&r, "allow", v, sizeof(v)), "POST");
    resp_release(&r);

    /* Unknown methods are 405 too. */
    snprintf(url, sizeof(url), "%s/api/v1/jobs", f->base);
    CHECK_EQ(req(c, &r, "BREW", url, NULL, NULL, 0, NULL), 405);
    resp_release(&r);

    /* Pagination: defaults, values, and 400 on bad ones. */
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs", NULL), 200);
    CHECK_STR_EQ(strata_buf_cstr(&r.body), "{\"limit\":20,\"after\":null}");
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs?limit=5&after=job%2F42+x", NULL), 200);
    CHECK_STR_EQ(strata_buf_cstr(&r.body),
                 "{\"limit\":5,\"after\":\"job/42 x\"}");
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs?limit=abc", NULL), 400);
    check_json_error(&r, "bad 'limit'");
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs?limit=0", NULL), 400);
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs?limit=101", NULL), 400);
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs?limit=99999999999999999999", NULL),
             400);
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs?after=", NULL), 400);
    check_json_error(&r, "bad 'after'");
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs?after=%0a", NULL), 400);
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs?limit=%zz", NULL), 400);
    check_json_error(&r, "bad escape");
    resp_release(&r);

    /* A prefix route sees the rest of the path. */
    CHECK_EQ(get(c, &r, f, "/api/v1/images/acme/app", NULL), 200);
    CHECK_STR_EQ(strata_buf_cstr(&r.body), "{\"image\":\"acme/app\"}");
    resp_release(&r);

    /* A handler that does not answer yields 500, not a hang. */
    CHECK_EQ(get(c, &r, f, "/api/v1/lazy", NULL), 500);
    check_json_error(&r, "internal error");
    resp_release(&r);

    /* The async webhook: deferred, answered 20 ms later by a timer. */
    snprintf(url, sizeof(url), "%s/hooks/registry", f->base);
    CHECK_EQ(req(c, &r, "POST", url, NULL, "{\"a\":1}", 7, "application/json"),
             202);
    CHECK_STR_EQ(strata_buf_cstr(&r.body), "{\"accepted\":true,\"bytes\":7}");
    resp_release(&r);
    CHECK_EQ(req(c, &r, "POST", url, NULL, "x", 1, "text/plain"), 415);
    resp_release(&r);

    /* A body over the limit (1 MiB) is refused with 413. */
    big = strata_xcalloc(1, 2 * 1024 * 1024);
    memset(big, 'a', 2 * 1024 * 1024);
    CHECK_EQ(
        req(c, &r, "POST", url, NULL, big, 2 * 1024 * 1024, "application/json"),
        413);
    resp_release(&r);
    free(big);
    /* And the server still serves. */
    CHECK_EQ(get(c, &r, f, "/healthz", NULL), 200);
    resp_release(&r);
    curl_easy_cleanup(c);
}

TEST(errors_routes_and_async)
{
    run_fixture(NULL, client_errors);
}

static void
client_token(fixture *f)
{
    CURL *c = curl_easy_init();
    char v[128];
    resp r;

    CHECK_EQ(get(c, &r, f, "/api/v1/jobs", NULL), 401);
    CHECK_STR_EQ(header(&r, "www-authenticate", v, sizeof(v)), "Bearer");
    check_json_error(&r, "bearer token");
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs", "wrong"), 401);
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs", "s3cret-tok"), 401);
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs", "s3cret-token"), 200);
    resp_release(&r);
    /* /healthz and /readyz are open (probes cannot send a token);
     * everything else, /metrics too, is not. */
    CHECK_EQ(get(c, &r, f, "/healthz", NULL), 200);
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/metrics", NULL), 401);
    resp_release(&r);
    CHECK(get(c, &r, f, "/readyz", NULL) != 401);
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/nope", NULL), 401);
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/metrics", "s3cret-token"), 200);
    resp_release(&r);
    curl_easy_cleanup(c);
}

TEST(token_required)
{
    char path[] = "/tmp/strata-api-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    char *log = NULL;
    size_t len = 0;
    strata_error err = {0};

    /* Capture the debug log (access lines included) to check for leaks. */
    CHECK(fd >= 0 && saved >= 0);
    strata_log_setup(STRATA_LOG_DEBUG, STRATA_LOG_TEXT);
    fflush(stderr);
    dup2(fd, 2);
    run_fixture("s3cret-token", client_token);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    strata_log_setup(STRATA_LOG_INFO, STRATA_LOG_TEXT);
    CHECK_OK(strata_read_file(&log, &len, path, 0, &err), &err);
    unlink(path);
    CHECK_CONTAINS(log, "api: GET /api/v1/jobs 401");
    CHECK_CONTAINS(log, "api: GET /api/v1/jobs 200");
    CHECK(strstr(log, "s3cret") == NULL);
    free(log);
}

/* A POST to /api/v1 with an Origin and a Content-Type, as status. */
static long
post_from(CURL *c, resp *r, fixture *f, const char *origin, const char *ctype,
          const char *token)
{
    struct curl_slist *h = NULL;
    char url[256], line[256];

    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "%s/api/v1/echo", f->base);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (origin != NULL) {
        snprintf(line, sizeof(line), "Origin: %s", origin);
        h = curl_slist_append(h, line);
    }
    snprintf(line, sizeof(line), "Content-Type:%s%s", ctype ? " " : "",
             ctype ? ctype : "");
    h = curl_slist_append(h, line);
    if (token != NULL) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (curl_easy_perform(c) != CURLE_OK)
        r->status = -1;
    else
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    return r->status;
}

static void
client_csrf(fixture *f)
{
    CURL *c = curl_easy_init();
    const char *tok = "s3cret-token";
    char v[512], other[128];
    resp r;

    /* Every answer, errors too, carries the browser hardening. */
    CHECK_EQ(get(c, &r, f, "/healthz", NULL), 200);
    CHECK_STR_EQ(header(&r, "content-security-policy", v, sizeof(v)),
                 "default-src 'none'; script-src 'self'; style-src 'self'; "
                 "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                 "form-action 'none'; frame-ancestors 'none'");
    CHECK_STR_EQ(header(&r, "x-content-type-options", v, sizeof(v)), "nosniff");
    CHECK_STR_EQ(header(&r, "referrer-policy", v, sizeof(v)), "no-referrer");
    resp_release(&r);
    CHECK_EQ(get(c, &r, f, "/api/v1/jobs", NULL), 401);
    CHECK_STR_EQ(header(&r, "x-content-type-options", v, sizeof(v)), "nosniff");
    resp_release(&r);

    CHECK_EQ(post_from(c, &r, f, NULL, "application/json", tok), 200);
    resp_release(&r);
    CHECK_EQ(post_from(c, &r, f, f->base, "application/json", tok), 200);
    resp_release(&r);
    CHECK_EQ(post_from(c, &r, f, NULL, "application/json; charset=utf-8", tok),
             200);
    resp_release(&r);
    CHECK_EQ(
        post_from(c, &r, f, "http://evil.example", "application/json", tok),
        403);
    check_json_error(&r, "cross-origin");
    resp_release(&r);
    /* Same host, another port; a scheme-less or null Origin. */
    snprintf(other, sizeof(other), "%s1", f->base);
    CHECK_EQ(post_from(c, &r, f, other, "application/json", tok), 403);
    resp_release(&r);
    CHECK_EQ(post_from(c, &r, f, "null", "application/json", tok), 403);
    resp_release(&r);
    CHECK_EQ(post_from(c, &r, f, NULL, "text/plain", tok), 415);
    check_json_error(&r, "application/json");
    resp_release(&r);
    CHECK_EQ(post_from(c, &r, f, NULL, "application/jsonx", tok), 415);
    resp_release(&r);
    CHECK_EQ(post_from(c, &r, f, NULL, NULL, tok), 415);
    resp_release(&r);
    /* Without the token the answer is 401 first, whatever else. */
    CHECK_EQ(post_from(c, &r, f, "http://evil.example", "text/plain", NULL),
             401);
    resp_release(&r);
    curl_easy_cleanup(c);
}

TEST(csrf_and_security_headers)
{
    run_fixture("s3cret-token", client_csrf);
}

/* Reads a stream; stops (hangs up) after `stop_after` bytes when set. */
typedef struct reader {
    fixture *f;
    strata_buf got;
    size_t stop_after;
    int signal_done; /* ask the loop to close the server on first data */
} reader;

static size_t
on_stream_body(char *p, size_t sz, size_t n, void *arg)
{
    reader *rd = arg;

    strata_buf_add(&rd->got, p, sz * n);
    if (rd->signal_done && !rd->f->signaled) {
        rd->f->signaled = 1;
        uv_async_send(&rd->f->done);
    }
    if (rd->stop_after > 0 && rd->got.len >= rd->stop_after)
        return 0; /* hang up */
    return sz * n;
}

static CURLcode
read_stream(reader *rd, long *status, char *ctype, size_t ctlen)
{
    CURL *c = curl_easy_init();
    char url[256];
    char *ct = NULL;
    CURLcode rc;

    snprintf(url, sizeof(url), "%s/api/v1/stream", rd->f->base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, rd);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(ctype, ctlen, "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    return rc;
}

static void
client_stream_gone(fixture *f)
{
    reader rd = {f, STRATA_BUF_INIT, 40, 0};
    char ct[64];
    long status = 0;
    int i;

    CHECK_EQ(read_stream(&rd, &status, ct, sizeof(ct)), CURLE_WRITE_ERROR);
    CHECK_EQ(status, 200);
    CHECK_STR_EQ(ct, "text/plain");
    CHECK(strncmp(strata_buf_cstr(&rd.got), "hello\ntick 1\ntick 2\n", 20) ==
          0);
    CHECK_EQ(f->toobig_rc, STRATA_ETOOBIG);
    /* The server learns the client has gone, and the stream ends. */
    for (i = 0; i < 500 && !__atomic_load_n(&f->stream_closed, 0); i++)
        usleep(10000);
    CHECK_EQ(__atomic_load_n(&f->stream_closed, __ATOMIC_SEQ_CST), 1);
    strata_buf_release(&rd.got);
}

TEST(stream_client_hangs_up)
{
    run_fixture(NULL, client_stream_gone);
}

static void
client_stream_at_close(fixture *f)
{
    reader rd = {f, STRATA_BUF_INIT, 0, 1};
    char ct[64];
    long status = 0;

    /* The server closes while the stream is open: the body ends cleanly
     * (the final chunk), not with a cut connection or the timeout. */
    CHECK_EQ(read_stream(&rd, &status, ct, sizeof(ct)), CURLE_OK);
    CHECK_EQ(status, 200);
    CHECK(strncmp(strata_buf_cstr(&rd.got), "hello\n", 6) == 0);
    CHECK_EQ(__atomic_load_n(&f->stream_closed, __ATOMIC_SEQ_CST), 1);
    strata_buf_release(&rd.got);
}

TEST(stream_open_when_the_server_closes)
{
    run_fixture(NULL, client_stream_at_close);
}

/* Connects, sends GET path and reads nothing; the socket. */
static int
connect_silent(fixture *f, const char *path)
{
    struct sockaddr_in sin;
    char reqline[128];
    int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;

    CHECK(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) atoi(strrchr(f->base, ':') + 1));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(connect(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
    snprintf(reqline, sizeof(reqline), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
             path);
    CHECK(write(fd, reqline, strlen(reqline)) == (ssize_t) strlen(reqline));
    return fd;
}

/* A client that sends its request and then reads nothing. */
static void
client_slow(fixture *f)
{
    int fd = connect_silent(f, "/api/v1/flood"), i;

    /* The kernel's buffers fill, then the stream's 256 KiB backlog. */
    for (i = 0; i < 1000 && !__atomic_load_n(&f->dropped, __ATOMIC_SEQ_CST);
         i++)
        usleep(10000);
    CHECK_EQ(__atomic_load_n(&f->dropped, __ATOMIC_SEQ_CST), 1);
    /* And the connection is shut: reading drains it to its end. */
    {
        struct timeval tv = {5, 0};
        char buf[65536];
        ssize_t n;

        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            ;
        CHECK(n == 0 || errno == ECONNRESET);
    }
    /* The server saw it go: the close callback did not run (the stream
     * was ended by its owner). */
    CHECK_EQ(__atomic_load_n(&f->stream_closed, __ATOMIC_SEQ_CST), 0);
    close(fd);
}

TEST(stream_slow_client_dropped)
{
    run_fixture(NULL, client_slow);
}

/* A client that reads nothing, still connected when the server closes:
 * the close finishes all the same. */
static void
stuck_at_close(fixture *f, const char *path, int want_closed_cb)
{
    int fd = connect_silent(f, path), i;

    /* h2o holds bytes the client does not take (and with flood-end the
     * owner has ended the stream). */
    for (i = 0; i < 500 && want_closed_cb == 0 &&
                !__atomic_load_n(&f->dropped, __ATOMIC_SEQ_CST);
         i++)
        usleep(10000);
    usleep(300000);
    f->signaled = 1;
    uv_async_send(&f->done);
    for (i = 0; i < 500 && !__atomic_load_n(&f->closed, __ATOMIC_SEQ_CST); i++)
        usleep(10000);
    CHECK_EQ(__atomic_load_n(&f->closed, __ATOMIC_SEQ_CST), 1);
    CHECK_EQ(__atomic_load_n(&f->stream_closed, __ATOMIC_SEQ_CST),
             want_closed_cb);
    close(fd);
}

static void
client_stuck_at_close(fixture *f)
{
    stuck_at_close(f, "/api/v1/flood-hold", 1);
}

/* The same, with the stream ended by its owner before the close, its
 * last bytes still waiting: the close callback does not run for it. */
static void
client_stuck_after_end(fixture *f)
{
    stuck_at_close(f, "/api/v1/flood-end", 0);
}

TEST(stream_stuck_client_at_close)
{
    run_fixture(NULL, client_stuck_at_close);
    run_fixture(NULL, client_stuck_after_end);
}

TEST(bind_policy)
{
    uv_loop_t loop;
    strata_api *api = NULL;
    strata_error err = {0};
    strata_api_options opts = {.listen = "0.0.0.0:0"};
    static const char *const bad[] = {
        "nonsense",        "127.0.0.1",      "127.0.0.1:",   ":80",
        "127.0.0.1:65536", "127.0.0.1:8o",   "[::1]",        "[::1:80",
        "::1:80",          "example.com:80", "127.0.0.1:-1", NULL,
    };
    size_t i;

    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_EQ(strata_api_new(&api, &loop, &opts, &err), STRATA_EINVAL);
    CHECK(api == NULL);
    CHECK_CONTAINS(err.msg, "'0.0.0.0:0' without a token");
    opts.listen = "[::]:0";
    CHECK_EQ(strata_api_new(&api, &loop, &opts, &err), STRATA_EINVAL);
    opts.listen = "127.0.0.1:0";
    opts.token = "";
    CHECK_EQ(strata_api_new(&api, &loop, &opts, &err), STRATA_EINVAL);
    opts.token = NULL;
    for (i = 0; bad[i] != NULL; i++) {
        opts.listen = bad[i];
        if (strata_api_new(&api, &loop, &opts, &err) != STRATA_EINVAL) {
            printf("# accepted '%s'\n", bad[i]);
            CHECK(0);
        }
        CHECK_CONTAINS(err.msg, "bad listen address");
    }

    /* With a token, any address is allowed. */
    opts.listen = "0.0.0.0:0";
    opts.token = "t";
    CHECK_OK(strata_api_new(&api, &loop, &opts, &err), &err);
    CHECK(strata_api_port(api) > 0);
    strata_api_close(api, NULL, NULL);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);

    /* Loopback aliases need no token; IPv6 only where the host has it. */
    opts.token = NULL;
    opts.listen = "127.0.0.2:0";
    CHECK_OK(strata_api_new(&api, &loop, &opts, &err), &err);
    strata_api_close(api, NULL, NULL);
    opts.listen = "[::1]:0";
    if (strata_api_new(&api, &loop, &opts, &err) == 0)
        strata_api_close(api, NULL, NULL);
    else
        CHECK_EQ(err.code, STRATA_ENET);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);

    /* A port in use fails at start with ENET. */
    {
        strata_api *a1 = NULL, *a2 = NULL;
        char spec[64];
        opts.listen = "127.0.0.1:0";
        CHECK_OK(strata_api_new(&a1, &loop, &opts, &err), &err);
        snprintf(spec, sizeof(spec), "127.0.0.1:%d", strata_api_port(a1));
        opts.listen = spec;
        CHECK_EQ(strata_api_new(&a2, &loop, &opts, &err), STRATA_ENET);
        CHECK_CONTAINS(err.msg, "cannot listen on");
        strata_api_close(a1, NULL, NULL);
        CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    }
    CHECK_EQ(uv_loop_close(&loop), 0);
}

static void
client_keepalive(fixture *f)
{
    CURL *c = curl_easy_init();
    char url[128];
    long total = 0;
    int i;
    resp r;

    for (i = 0; i < 20; i++) {
        CHECK_EQ(get(c, &r, f, "/healthz", NULL), 200);
        CHECK_EQ(r.version, CURL_HTTP_VERSION_1_1);
        total += r.connects;
        resp_release(&r);
    }
    /* One connection, reused 19 times. */
    CHECK_EQ(total, 1);

    /*
     * HTTP/2 over cleartext: the Upgrade: h2c dance on a new connection,
     * which is then reused; and prior knowledge on another. (curl 7.88
     * fails to reuse a prior-knowledge h2c connection, with the server
     * or without: one request there.)
     */
    for (i = 0; i < 6; i++) {
        if (i == 0 || i == 5) {
            curl_easy_cleanup(c);
            c = curl_easy_init();
            snprintf(url, sizeof(url), "%s/api/v1/jobs?limit=3", f->base);
            curl_easy_setopt(c, CURLOPT_URL, url);
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
            curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                             i == 0
                                 ? (long) CURL_HTTP_VERSION_2_0
                                 : (long) CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
            total = 0;
        }
        memset(&r, 0, sizeof(r));
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
        CHECK_EQ(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
        curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &r.version);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r.connects);
        CHECK_EQ(r.status, 200);
        CHECK_EQ(r.version, CURL_HTTP_VERSION_2_0);
        CHECK_STR_EQ(strata_buf_cstr(&r.body), "{\"limit\":3,\"after\":null}");
        total += r.connects;
        resp_release(&r);
        if (i == 4)
            CHECK_EQ(total, 1); /* five requests, one connection */
    }
    CHECK_EQ(total, 1);
    curl_easy_cleanup(c);
}

static void
client_gone(fixture *f)
{
    CURL *c = curl_easy_init();
    char url[128];
    resp r;
    int proto;

    /*
     * The client gives up on a deferred request before the daemon answers
     * (HTTP/1.1, then HTTP/2): the late answer must only free the request.
     */
    snprintf(url, sizeof(url), "%s/api/v1/slow", f->base);
    for (proto = 0; proto < 2; proto++) {
        curl_easy_reset(c);
        memset(&r, 0, sizeof(r));
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 100L);
        if (proto == 1)
            curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                             (long) CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
        CHECK_EQ(curl_easy_perform(c), CURLE_OPERATION_TIMEDOUT);
        resp_release(&r);
        while (__atomic_load_n(&f->answered_later, __ATOMIC_SEQ_CST) <
               proto + 1)
            usleep(10000);
    }
    curl_easy_cleanup(c);
    c = curl_easy_init();
    CHECK_EQ(get(c, &r, f, "/healthz", NULL), 200);
    resp_release(&r);
    curl_easy_cleanup(c);
}

TEST(client_gone_before_deferred_answer)
{
    run_fixture(NULL, client_gone);
}

TEST(keepalive_and_http2)
{
    run_fixture(NULL, client_keepalive);
}

#define NTHREADS 4
#define PER_THREAD 50

typedef struct worker {
    fixture *f;
    int ok;
    long connects;
} worker;

static void *
worker_main(void *arg)
{
    worker *w = arg;
    CURL *c = curl_easy_init();
    int i;
    resp r;

    for (i = 0; i < PER_THREAD; i++) {
        if (get(c, &r, w->f, i % 2 ? "/healthz" : "/api/v1/jobs?limit=7",
                NULL) == 200)
            w->ok++;
        w->connects += r.connects;
        resp_release(&r);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static void
client_many(fixture *f)
{
    pthread_t th[NTHREADS];
    worker w[NTHREADS];
    CURL *c;
    resp r;
    char want[128];
    int i, ok = 0;
    long connects = 0;

    for (i = 0; i < NTHREADS; i++) {
        w[i] = (worker){f, 0, 0};
        CHECK_EQ(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < NTHREADS; i++) {
        CHECK_EQ(pthread_join(th[i], NULL), 0);
        ok += w[i].ok;
        connects += w[i].connects;
    }
    CHECK_EQ(ok, NTHREADS * PER_THREAD);
    CHECK_EQ(connects, NTHREADS);

    /* The server counted exactly those. */
    c = curl_easy_init();
    CHECK_EQ(get(c, &r, f, "/metrics", NULL), 200);
    snprintf(want, sizeof(want),
             "strata_http_requests_total{code=\"200\"} %d\n",
             NTHREADS * PER_THREAD);
    CHECK_CONTAINS(strata_buf_cstr(&r.body), want);
    resp_release(&r);
    curl_easy_cleanup(c);
}

TEST(many_requests_many_connections)
{
    run_fixture(NULL, client_many);
}

static void *
never_main(void *arg)
{
    fixture *f = arg;
    CURL *c = curl_easy_init();
    char url[128];
    resp r;
    long status;

    snprintf(url, sizeof(url), "%s/hooks/never", f->base);
    status = req(c, &r, "POST", url, NULL, "{}", 2, "application/json");
    resp_release(&r);
    curl_easy_cleanup(c);
    return (void *) status;
}

static void
client_shutdown(fixture *f)
{
    CURL *idle = curl_easy_init();
    pthread_t th;
    void *status;
    resp r;

    /* An idle keep-alive connection stays open across the shutdown. */
    CHECK_EQ(get(idle, &r, f, "/healthz", NULL), 200);
    resp_release(&r);
    /* And a request the daemon has deferred and not answered. */
    CHECK_EQ(pthread_create(&th, NULL, never_main, f), 0);
    while (!__atomic_load_n(&f->never_seen, __ATOMIC_SEQ_CST))
        usleep(1000);
    f->signaled = 1;
    uv_async_send(&f->done); /* close the server now */
    CHECK_EQ(pthread_join(th, &status), 0);
    CHECK_EQ((long) status, 503);
    while (!__atomic_load_n(&f->closed, __ATOMIC_SEQ_CST))
        usleep(1000);
    /* It did not wait for the idle client (h2o's idle timeout is 10 s). */
    CHECK(f->close_ns < 2000000000ull);
    curl_easy_cleanup(idle);
}

TEST(clean_shutdown_with_open_connections)
{
    run_fixture(NULL, client_shutdown);
}

static void
client_wrk(fixture *f)
{
    char cmd[256], line[512];
    FILE *p;
    long requests = 0;
    int errors = 0, non2xx = 0;

    snprintf(cmd, sizeof(cmd), "wrk -t2 -c16 -d2s %s/healthz 2>&1", f->base);
    p = popen(cmd, "r");
    CHECK(p != NULL);
    while (fgets(line, sizeof(line), p) != NULL) {
        printf("# wrk: %s", line);
        if (strstr(line, "requests in") != NULL)
            requests = atol(line + strspn(line, " "));
        if (strstr(line, "Socket errors") != NULL)
            errors = 1;
        if (strstr(line, "Non-2xx") != NULL)
            non2xx = 1;
    }
    CHECK_EQ(pclose(p), 0);
    CHECK(requests > 100);
    CHECK_EQ(errors, 0);
    CHECK_EQ(non2xx, 0);
}

TEST(wrk_load)
{
    if (access("/usr/bin/wrk", X_OK) != 0) {
        printf("# wrk not installed: skipped\n");
        return;
    }
    run_fixture(NULL, client_wrk);
}

/* ---- metrics registry ----------------------------------------------- */

TEST(metrics_render)
{
    strata_metrics *m = strata_metrics_new();
    strata_error err = {0};
    strata_buf b = STRATA_BUF_INIT;
    const double bounds[] = {0.1, 1};

    CHECK_OK(strata_metrics_define(m, STRATA_METRIC_COUNTER, "x_total",
                                   "Things done", NULL, 0, &err),
             &err);
    CHECK_OK(strata_metrics_define(m, STRATA_METRIC_GAUGE, "queue", "Queued",
                                   NULL, 0, &err),
             &err);
    CHECK_OK(strata_metrics_define(m, STRATA_METRIC_HISTOGRAM, "lat_seconds",
                                   "Latency", bounds, 2, &err),
             &err);
    CHECK_EQ(strata_metrics_define(m, STRATA_METRIC_GAUGE, "queue", "", NULL, 0,
                                   &err),
             STRATA_EEXISTS);
    CHECK_EQ(strata_metrics_define(m, STRATA_METRIC_GAUGE, "9bad", "", NULL, 0,
                                   &err),
             STRATA_EINVAL);
    CHECK_EQ(strata_metrics_define(m, STRATA_METRIC_GAUGE, "bad-name", "", NULL,
                                   0, &err),
             STRATA_EINVAL);
    CHECK_EQ(strata_metrics_define(m, STRATA_METRIC_HISTOGRAM, "h", "",
                                   (const double[]){1, 1}, 2, &err),
             STRATA_EINVAL);

    strata_metrics_add(m, "x_total",
                       (const char *const[]){"k", "a\"b\\c\nd", NULL}, 2);
    strata_metrics_add(m, "x_total", NULL, 1);
    strata_metrics_add(m, "x_total", NULL, 0.5);
    strata_metrics_set(m, "queue", NULL, 7);
    strata_metrics_add(m, "queue", NULL, -2);
    strata_metrics_observe(m, "lat_seconds", NULL, 0.05);
    strata_metrics_observe(m, "lat_seconds", NULL, 0.1);
    strata_metrics_observe(m, "lat_seconds", NULL, 0.5);
    strata_metrics_observe(m, "lat_seconds", NULL, 3);
    strata_metrics_render(m, &b);
    CHECK_STR_EQ(strata_buf_cstr(&b), "# HELP x_total Things done\n"
                                      "# TYPE x_total counter\n"
                                      "x_total{k=\"a\\\"b\\\\c\\nd\"} 2\n"
                                      "x_total 1.5\n"
                                      "# HELP queue Queued\n"
                                      "# TYPE queue gauge\n"
                                      "queue 5\n"
                                      "# HELP lat_seconds Latency\n"
                                      "# TYPE lat_seconds histogram\n"
                                      "lat_seconds_bucket{le=\"0.1\"} 2\n"
                                      "lat_seconds_bucket{le=\"1\"} 3\n"
                                      "lat_seconds_bucket{le=\"+Inf\"} 4\n"
                                      "lat_seconds_sum 3.65\n"
                                      "lat_seconds_count 4\n");
    strata_buf_release(&b);
    strata_metrics_free(m);
    strata_metrics_free(NULL);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    strata_log_setup(STRATA_LOG_INFO, STRATA_LOG_TEXT);
    RUN(metrics_render);
    RUN(bind_policy);
    RUN(builtin_routes);
    RUN(errors_routes_and_async);
    RUN(token_required);
    RUN(csrf_and_security_headers);
    RUN(stream_client_hangs_up);
    RUN(stream_open_when_the_server_closes);
    RUN(stream_slow_client_dropped);
    RUN(stream_stuck_client_at_close);
    RUN(client_gone_before_deferred_answer);
    RUN(keepalive_and_http2);
    RUN(many_requests_many_connections);
    RUN(clean_shutdown_with_open_connections);
    RUN(wrk_load);
    curl_global_cleanup();
    return harness_done();
}
