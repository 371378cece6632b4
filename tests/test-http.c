/*
 * test-http.c - integration tests for the HTTP client (core/http.c)
 * against tests/servers/httpd.py, a real HTTP/1.1 keep-alive server this
 * binary starts on 127.0.0.1 with an ephemeral port (plus an HTTPS one with
 * a self-signed certificate) and kills at exit, also when a check fails. Every
 * loop test ends with uv_loop_close() == 0, so a leaked handle fails it.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "core.h"
#include "harness-server.h"
#include "harness.h"

/* Process state on purpose: the atexit() handler must find the servers. */
static pid_t server_pids[2] = {-1, -1};
static int server_port; /* plain HTTP */
static int tls_port;    /* HTTPS, self-signed certificate */
static char tls_dir[] = "/tmp/strata-test-http-XXXXXX";

static void
stop_servers(void)
{
    char path[sizeof(tls_dir) + 16];
    size_t i;

    for (i = 0; i < 2; i++) {
        if (server_pids[i] > 0) {
            kill(server_pids[i], SIGTERM);
            waitpid(server_pids[i], NULL, 0);
            server_pids[i] = -1;
        }
    }
    if (strchr(tls_dir, 'X') == NULL) {
        snprintf(path, sizeof(path), "%s/cert.pem", tls_dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/key.pem", tls_dir);
        unlink(path);
        rmdir(tls_dir);
    }
}

/* Starts httpd.py (with extra arguments) and returns the port it printed. */
static int
start_server(pid_t *pid, char *arg1, char *arg2)
{
    char *argv[] = {"/usr/bin/python3", STRATA_TEST_HTTPD, arg1, arg2, NULL};

    return harness_server_start(pid, argv);
}

static void
start_servers(void)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        SKIP_ALL("no /usr/bin/python3");
    atexit(stop_servers);
    server_port = start_server(&server_pids[0], NULL, NULL);
    /* The TLS server needs the openssl tool to make its certificate. */
    if (access("/usr/bin/openssl", X_OK) == 0) {
        CHECK(mkdtemp(tls_dir) != NULL);
        tls_port = start_server(&server_pids[1], "--tls", tls_dir);
    }
}

static char *
url_for(const char *path)
{
    return strata_xasprintf("http://127.0.0.1:%d%s", server_port, path);
}

/* What one request's callback saw. */
typedef struct result {
    int calls;
    int code;
    char msg[512];
    strata_http_response *resp;
    strata_http *http; /* for callbacks that act on the client */
    int resend_rc;
} result;

static void
on_result(const strata_http_response *resp, const strata_error *err, void *arg)
{
    result *res = arg;

    res->calls++;
    if (err != NULL) {
        CHECK(resp == NULL);
        CHECK(err->code != 0);
        res->code = err->code;
        snprintf(res->msg, sizeof(res->msg), "%s", err->msg);
        return;
    }
    CHECK(resp != NULL);
    CHECK(resp->body.ptr != NULL);
    strata_http_response_free(res->resp);
    res->resp = strata_http_response_dup(resp);
}

static void
result_release(result *res)
{
    strata_http_response_free(res->resp);
    res->resp = NULL;
}

/* Runs req on a fresh loop and client, checking the callback runs once. */
static void
run_one(const strata_http_request *req, result *res)
{
    strata_http *http = NULL;
    strata_error err = {0};
    uv_loop_t loop;

    memset(res, 0, sizeof(*res));
    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_OK(strata_http_new(&http, &loop, &err), &err);
    CHECK_OK(strata_http_send(http, req, on_result, res, &err), &err);
    CHECK_EQ(res->calls, 0); /* never from inside send */
    CHECK_EQ(strata_http_active(http), 1);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(res->calls, 1);
    CHECK_EQ(strata_http_active(http), 0);
    strata_http_close(http);
    strata_http_close(http); /* a second close does nothing */
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(res->calls, 1);
    CHECK_EQ(uv_loop_close(&loop), 0);
}

TEST(get_ok)
{
    char *url = url_for("/hello");
    strata_http_request req = {.url = url};
    result res;
    size_t i, j;

    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK_EQ(res.resp->status, 200);
    CHECK_STR_EQ(res.resp->body.ptr, "hello world");
    CHECK_EQ(res.resp->body.len, 11);
    CHECK_STR_EQ(strata_http_response_header(res.resp, "x-test"), "yes");
    CHECK_STR_EQ(strata_http_response_header(res.resp, "X-TEST"), "yes");
    CHECK_STR_EQ(strata_http_response_header(res.resp, "content-length"), "11");
    CHECK(strata_http_response_header(res.resp, "x-nope") == NULL);
    for (i = 0; i < res.resp->nheaders; i++)
        for (j = 0; res.resp->header_names[i][j] != '\0'; j++)
            CHECK(res.resp->header_names[i][j] < 'A' ||
                  res.resp->header_names[i][j] > 'Z');
    CHECK_STR_EQ(res.resp->effective_url, url);
    CHECK(res.resp->total_seconds >= 0 && res.resp->total_seconds < 10);
    result_release(&res);
    free(url);
}

TEST(head)
{
    char *url = url_for("/hello");
    strata_http_request req = {.url = url, .method = "HEAD"};
    result res;

    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK_EQ(res.resp->status, 200);
    CHECK_EQ(res.resp->body.len, 0);
    CHECK_STR_EQ(res.resp->body.ptr, "");
    CHECK_STR_EQ(strata_http_response_header(res.resp, "content-length"), "11");
    CHECK_STR_EQ(strata_http_response_header(res.resp, "x-test"), "yes");
    result_release(&res);
    free(url);
}

TEST(not_found_is_a_status)
{
    char *url = url_for("/nope");
    strata_http_request req = {.url = url};
    result res;

    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK_EQ(res.resp->status, 404);
    CHECK_STR_EQ(res.resp->body.ptr, "not found");
    result_release(&res);
    free(url);
}

TEST(redirect_followed)
{
    char *url = url_for("/redirect");
    char *final = url_for("/hello");
    strata_http_request req = {.url = url, .follow_redirects = 1};
    result res;

    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK_EQ(res.resp->status, 200);
    CHECK_STR_EQ(res.resp->body.ptr, "hello world");
    CHECK_STR_EQ(res.resp->effective_url, final);
    /* Headers of the final response only. */
    CHECK_STR_EQ(strata_http_response_header(res.resp, "x-test"), "yes");
    CHECK(strata_http_response_header(res.resp, "x-hop") == NULL);
    CHECK(strata_http_response_header(res.resp, "location") == NULL);
    result_release(&res);
    free(url);
    free(final);
}

TEST(redirect_not_followed)
{
    char *url = url_for("/redirect");
    strata_http_request req = {.url = url};
    result res;

    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK_EQ(res.resp->status, 302);
    CHECK_STR_EQ(res.resp->body.ptr, "moved");
    CHECK_STR_EQ(strata_http_response_header(res.resp, "location"), "/hello");
    CHECK_STR_EQ(strata_http_response_header(res.resp, "x-hop"), "1");
    CHECK_STR_EQ(res.resp->effective_url, url);
    result_release(&res);
    free(url);
}

TEST(redirect_loop_stops)
{
    char *url = url_for("/loop");
    strata_http_request req = {.url = url, .follow_redirects = 1};
    result res;

    run_one(&req, &res);
    CHECK_EQ(res.code, STRATA_EPROTO);
    CHECK(res.resp == NULL);
    CHECK_CONTAINS(res.msg, url);
    free(url);
}

TEST(timeout)
{
    char *url = url_for("/slow?s=3");
    strata_http_request req = {.url = url, .timeout_ms = 300};
    uint64_t start = uv_hrtime();
    result res;

    run_one(&req, &res);
    CHECK_EQ(res.code, STRATA_ETIMEOUT);
    /* Named by scheme, host and path: a query may hold a signature. */
    *strchr(url, '?') = '\0';
    CHECK_CONTAINS(res.msg, url);
    CHECK(strstr(res.msg, "?s=3") == NULL);
    CHECK((uv_hrtime() - start) / 1000000 < 2000);
    free(url);
}

/*
 * Returns a loopback port that refuses connections: bound (so nobody else
 * can take it while *fd stays open) but not listening.
 */
static int
refusing_port(int *fd)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof(sa);

    *fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(*fd >= 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(*fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    CHECK_EQ(getsockname(*fd, (struct sockaddr *) &sa, &len), 0);
    return ntohs(sa.sin_port);
}

TEST(connection_refused)
{
    char *url, *shown;
    result res;
    int fd, port = refusing_port(&fd);

    url = strata_xasprintf("http://user:secret@127.0.0.1:%d/x", port);
    shown = strata_xasprintf("'http://127.0.0.1:%d/x'", port);
    {
        strata_http_request req = {.url = url};

        run_one(&req, &res);
    }
    CHECK_EQ(res.code, STRATA_ENET);
    CHECK_CONTAINS(res.msg, shown);
    CHECK(strstr(res.msg, "secret") == NULL);
    CHECK(strstr(res.msg, "user") == NULL);
    close(fd);
    free(url);
    free(shown);
}

TEST(body_limit)
{
    char *url = url_for("/big?n=5000");
    char *exact = url_for("/big?n=1000");
    char *large = url_for("/big?n=3000000");
    strata_http_request req = {.url = url, .max_body = 1000};
    char want[256];
    result res;
    size_t i;

    run_one(&req, &res);
    CHECK_EQ(res.code, STRATA_ETOOBIG);
    /* The declared length is refused before the body is read. */
    snprintf(want, sizeof(want),
             "response from '%.*s' is larger than 1000 bytes (by its "
             "Content-Length)",
             (int) (strchr(url, '?') - url), url);
    CHECK_STR_EQ(res.msg, want);

    req.url = exact;
    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK_EQ(res.resp->body.len, 1000);
    result_release(&res);

    req.url = large;
    req.max_body = 0; /* the 64 MiB default */
    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK_EQ(res.resp->body.len, 3000000);
    for (i = 0; i < res.resp->body.len; i++)
        if (res.resp->body.ptr[i] != 'x')
            break;
    CHECK_EQ(i, 3000000);
    result_release(&res);
    free(url);
    free(exact);
    free(large);
}

/* A sink that takes the body in pieces, pausing now and then. */
typedef struct sink_state {
    strata_buf got;
    size_t pause_every; /* pause when got crosses a multiple of this */
    size_t next_pause;
    int pauses, calls;
    int fail_with; /* a code to stop the transfer with, or 0 */
    strata_http_transfer *paused;
    uv_timer_t timer;
} sink_state;

static void
on_resume_timer(uv_timer_t *t)
{
    sink_state *s = t->data;
    strata_http_transfer *tr = s->paused;

    s->paused = NULL;
    strata_http_resume(tr);
}

static int
on_sink(strata_http_transfer *t, const char *data, size_t len, void *arg)
{
    sink_state *s = arg;

    s->calls++;
    if (s->fail_with != 0)
        return s->fail_with;
    if (s->pause_every > 0 && s->got.len >= s->next_pause) {
        /* Take nothing now; the same bytes come again after resuming. */
        s->next_pause += s->pause_every;
        s->pauses++;
        s->paused = t;
        uv_timer_start(&s->timer, on_resume_timer, 1, 0);
        return STRATA_HTTP_PAUSE;
    }
    strata_buf_add(&s->got, data, len);
    return 0;
}

/* Runs req with the sink on a fresh loop. */
static void
run_sink(strata_http_request *req, sink_state *s, result *res)
{
    strata_http *http = NULL;
    strata_error err = {0};
    uv_loop_t loop;

    memset(res, 0, sizeof(*res));
    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_EQ(uv_timer_init(&loop, &s->timer), 0);
    s->timer.data = s;
    s->next_pause = s->pause_every;
    req->sink = on_sink;
    req->sink_arg = s;
    CHECK_OK(strata_http_new(&http, &loop, &err), &err);
    CHECK_OK(strata_http_send(http, req, on_result, res, &err), &err);
    while (res->calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    strata_http_close(http);
    uv_close((uv_handle_t *) &s->timer, NULL);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(uv_loop_close(&loop), 0);
}

TEST(body_sink)
{
    char *big = url_for("/big?n=3000000");
    char *missing = url_for("/nothing");
    char *small = url_for("/big?n=5000");
    strata_http_request req = {.url = big};
    sink_state s = {0};
    result res;
    size_t i;

    /* 3 MB in pieces, paused every 256 KiB, resumed from a timer. */
    s.pause_every = 256 * 1024;
    run_sink(&req, &s, &res);
    CHECK_EQ(res.code, 0);
    CHECK_EQ(res.resp->status, 200);
    CHECK_EQ(res.resp->body.len, 0);
    CHECK_EQ(s.got.len, 3000000);
    for (i = 0; i < s.got.len && s.got.ptr[i] == 'x'; i++)
        ;
    CHECK_EQ(i, 3000000);
    printf("# %d sink calls, %d pauses\n", s.calls, s.pauses);
    CHECK(s.pauses >= 10);
    result_release(&res);
    strata_buf_release(&s.got);

    /*
     * Not a 2xx: the body is the response's, the sink never runs, and
     * max_body (the sink's limit) does not apply to it.
     */
    memset(&s, 0, sizeof(s));
    req.url = missing;
    req.max_body = 3;
    run_sink(&req, &s, &res);
    CHECK_EQ(res.code, 0);
    CHECK_EQ(res.resp->status, 404);
    CHECK_STR_EQ(res.resp->body.ptr, "not found");
    CHECK_EQ(s.calls, 0);
    result_release(&res);

    /* The sink ends the transfer with its own code. */
    memset(&s, 0, sizeof(s));
    s.fail_with = STRATA_EIO;
    req.url = big;
    req.max_body = 0;
    run_sink(&req, &s, &res);
    CHECK_EQ(res.code, STRATA_EIO);
    CHECK_CONTAINS(res.msg, "stopped by its receiver");

    /* max_body counts what the sink took. */
    memset(&s, 0, sizeof(s));
    req.url = small;
    req.max_body = 1000;
    run_sink(&req, &s, &res);
    CHECK_EQ(res.code, STRATA_ETOOBIG);
    CHECK_EQ(s.calls, 0); /* refused on its Content-Length */
    free(big);
    free(missing);
    free(small);
}

TEST(request_body_echo)
{
    static const char body[] = "{\"a\":1}\0tail"; /* 12 bytes, one NUL */
    static const char *methods[] = {"PUT", "POST", "PATCH"};
    char *url = url_for("/echo");
    strata_http_header headers[] = {
        {"X-Custom", "v1"},
        {"Content-Type", "application/json"},
        {"X-Blank", ""},
    };
    strata_http_request req = {.url = url,
                               .body = body,
                               .body_len = sizeof(body) - 1,
                               .headers = headers,
                               .nheaders = 3,
                               .userpwd = "user:pass"};
    const strata_http_response *r;
    char want[64];
    result res;
    size_t i, n;

    for (i = 0; i < 3; i++) {
        req.method = methods[i];
        run_one(&req, &res);
        CHECK_EQ(res.code, 0);
        r = res.resp;
        CHECK_EQ(r->status, 200);
        n = (size_t) snprintf(want, sizeof(want), "%s ", methods[i]);
        memcpy(want + n, body, sizeof(body) - 1);
        CHECK_EQ(r->body.len, n + sizeof(body) - 1);
        CHECK(memcmp(r->body.ptr, want, r->body.len) == 0);
        CHECK_STR_EQ(strata_http_response_header(r, "x-echo-x-custom"), "v1");
        CHECK_STR_EQ(strata_http_response_header(r, "x-echo-x-blank"), "");
        CHECK_STR_EQ(strata_http_response_header(r, "x-echo-content-type"),
                     "application/json");
        CHECK_STR_EQ(strata_http_response_header(r, "x-echo-content-length"),
                     "12");
        CHECK_STR_EQ(strata_http_response_header(r, "x-echo-authorization"),
                     "Basic dXNlcjpwYXNz");
        CHECK_STR_EQ(strata_http_response_header(r, "x-echo-user-agent"),
                     "strata/" STRATA_VERSION);
        CHECK(strata_http_response_header(r, "x-echo-expect") == NULL);
        result_release(&res);
    }

    /* No Content-Type given: curl's form default must not appear. */
    req.method = "POST";
    req.nheaders = 0;
    req.userpwd = NULL;
    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK(strata_http_response_header(res.resp, "x-echo-content-type") == NULL);
    CHECK(strata_http_response_header(res.resp, "x-echo-authorization") ==
          NULL);
    result_release(&res);

    /* DELETE without a body. */
    req.method = "DELETE";
    req.body = NULL;
    req.body_len = 0;
    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK_STR_EQ(res.resp->body.ptr, "DELETE ");
    result_release(&res);
    free(url);
}

TEST(header_lookup)
{
    char *url = url_for("/headers");
    strata_http_request req = {.url = url};
    result res;
    size_t i, twice = 0;

    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK_STR_EQ(strata_http_response_header(res.resp, "x-mixed-case"),
                 "padded value");
    CHECK_STR_EQ(strata_http_response_header(res.resp, "X-Mixed-Case"),
                 "padded value");
    CHECK_STR_EQ(strata_http_response_header(res.resp, "x-empty"), "");
    CHECK_STR_EQ(strata_http_response_header(res.resp, "x-twice"), "first");
    for (i = 0; i < res.resp->nheaders; i++)
        if (strcmp(res.resp->header_names[i], "x-twice") == 0)
            twice++;
    CHECK_EQ(twice, 2);
    CHECK(strata_http_response_header(res.resp, "x-missing") == NULL);
    CHECK(strata_http_response_header(NULL, "x-test") == NULL);
    result_release(&res);
    free(url);
}

/* ---- several requests on one loop ------------------------------------- */

typedef struct chain {
    result first, second;
    strata_http_request req;
} chain;

static void
on_first_conn(const strata_http_response *resp, const strata_error *err,
              void *arg)
{
    chain *c = arg;
    strata_error e = {0};

    on_result(resp, err, &c->first);
    CHECK_OK(
        strata_http_send(c->first.http, &c->req, on_result, &c->second, &e),
        &e);
}

TEST(keep_alive_reuses_connection)
{
    char *url = url_for("/conn");
    strata_http *http = NULL;
    strata_error err = {0};
    chain c = {0};
    uv_loop_t loop;

    c.req.url = url;
    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_OK(strata_http_new(&http, &loop, &err), &err);
    c.first.http = http;
    CHECK_OK(strata_http_send(http, &c.req, on_first_conn, &c, &err), &err);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(c.first.calls, 1);
    CHECK_EQ(c.second.calls, 1);
    CHECK_EQ(c.first.resp->status, 200);
    CHECK_EQ(c.second.resp->status, 200);
    /* The server saw the same client port: one connection, reused. */
    CHECK_STR_EQ(c.first.resp->body.ptr, c.second.resp->body.ptr);
    strata_http_close(http);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(uv_loop_close(&loop), 0);
    result_release(&c.first);
    result_release(&c.second);
    free(url);
}

#define NCONCURRENT 200

TEST(concurrent_requests)
{
    strata_http *http = NULL;
    strata_error err = {0};
    result *res = strata_xcalloc(NCONCURRENT, sizeof(result));
    char *urls[NCONCURRENT];
    char want[32];
    uv_loop_t loop;
    int i;

    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_OK(strata_http_new(&http, &loop, &err), &err);
    for (i = 0; i < NCONCURRENT; i++) {
        strata_http_request req = {0};

        urls[i] =
            strata_xasprintf("http://127.0.0.1:%d/echo?i=%d", server_port, i);
        req.url = urls[i];
        req.method = "POST";
        req.body = urls[i];
        req.body_len = strlen(urls[i]);
        req.timeout_ms = 20000;
        CHECK_OK(strata_http_send(http, &req, on_result, &res[i], &err), &err);
    }
    CHECK_EQ(strata_http_active(http), NCONCURRENT);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(strata_http_active(http), 0);
    for (i = 0; i < NCONCURRENT; i++) {
        CHECK_EQ(res[i].calls, 1);
        if (res[i].code != 0)
            printf("# %s\n", res[i].msg);
        CHECK_EQ(res[i].code, 0);
        CHECK_EQ(res[i].resp->status, 200);
        /* Each answer belongs to its own request. */
        CHECK(strncmp(res[i].resp->body.ptr, "POST ", 5) == 0);
        CHECK_STR_EQ(res[i].resp->body.ptr + 5, urls[i]);
        snprintf(want, sizeof(want), "%zu", strlen(urls[i]));
        CHECK_STR_EQ(
            strata_http_response_header(res[i].resp, "x-echo-content-length"),
            want);
        result_release(&res[i]);
        free(urls[i]);
    }
    strata_http_close(http);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(uv_loop_close(&loop), 0);
    free(res);
}

/* ---- cancellation ----------------------------------------------------- */

#define NCANCEL 5

static void
on_cancelled(const strata_http_response *resp, const strata_error *err,
             void *arg)
{
    result *res = arg;
    strata_http_request req = {.url = "http://127.0.0.1:1/"};

    on_result(resp, err, res);
    /* While closing, new requests are refused and close is a no-op. */
    res->resend_rc = strata_http_send(res->http, &req, on_result, res, NULL);
    strata_http_close(res->http);
}

static void
on_close_timer(uv_timer_t *timer)
{
    strata_http_close(timer->data);
    uv_close((uv_handle_t *) timer, NULL);
}

TEST(close_cancels_transfers)
{
    char *url = url_for("/slow?s=5");
    strata_http_request req = {.url = url};
    result res[NCANCEL];
    strata_http *http = NULL;
    strata_error err = {0};
    uint64_t start = uv_hrtime();
    uv_timer_t timer;
    uv_loop_t loop;
    int i;

    memset(res, 0, sizeof(res));
    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_OK(strata_http_new(&http, &loop, &err), &err);
    for (i = 0; i < NCANCEL; i++) {
        res[i].http = http;
        CHECK_OK(strata_http_send(http, &req, on_cancelled, &res[i], &err),
                 &err);
    }
    CHECK_EQ(uv_timer_init(&loop, &timer), 0);
    timer.data = http;
    CHECK_EQ(uv_timer_start(&timer, on_close_timer, 300, 0), 0);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK((uv_hrtime() - start) / 1000000 < 3000);
    for (i = 0; i < NCANCEL; i++) {
        CHECK_EQ(res[i].calls, 1);
        CHECK_EQ(res[i].code, STRATA_ECANCELED);
        CHECK_CONTAINS(res[i].msg, "/slow'"); /* the query is not shown */
        CHECK_EQ(res[i].resend_rc, STRATA_ECANCELED);
    }
    CHECK_EQ(uv_loop_close(&loop), 0);
    free(url);
}

TEST(close_before_the_loop_runs)
{
    char *url = url_for("/hello");
    strata_http_request req = {.url = url};
    strata_http *http = NULL;
    strata_error err = {0};
    result res = {0};
    uv_loop_t loop;

    CHECK_EQ(uv_loop_init(&loop), 0);
    /* An idle client closes cleanly. */
    CHECK_OK(strata_http_new(&http, &loop, &err), &err);
    strata_http_close(http);
    strata_http_close(NULL);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);

    CHECK_OK(strata_http_new(&http, &loop, &err), &err);
    CHECK_OK(strata_http_send(http, &req, on_result, &res, &err), &err);
    strata_http_close(http);
    CHECK_EQ(res.calls, 1);
    CHECK_EQ(res.code, STRATA_ECANCELED);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(res.calls, 1);
    CHECK_EQ(uv_loop_close(&loop), 0);
    free(url);
}

static void
on_close_first(const strata_http_response *resp, const strata_error *err,
               void *arg)
{
    result *res = arg;

    on_result(resp, err, res);
    if (err == NULL)
        strata_http_close(res->http);
}

TEST(close_from_a_callback)
{
    char *fast = url_for("/hello");
    char *slow = url_for("/slow?s=5");
    strata_http *http = NULL;
    strata_error err = {0};
    result res[6];
    uv_loop_t loop;
    int i, ok = 0, cancelled = 0;

    memset(res, 0, sizeof(res));
    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_OK(strata_http_new(&http, &loop, &err), &err);
    for (i = 0; i < 6; i++) {
        strata_http_request req = {.url = i < 3 ? fast : slow};

        res[i].http = http;
        CHECK_OK(strata_http_send(http, &req, on_close_first, &res[i], &err),
                 &err);
    }
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    for (i = 0; i < 6; i++) {
        CHECK_EQ(res[i].calls, 1);
        if (res[i].code == 0) {
            CHECK(i < 3);
            CHECK_EQ(res[i].resp->status, 200);
            ok++;
        } else {
            CHECK_EQ(res[i].code, STRATA_ECANCELED);
            cancelled++;
        }
        result_release(&res[i]);
    }
    /* The first success closed the client; the rest were cancelled. */
    CHECK_EQ(ok, 1);
    CHECK_EQ(cancelled, 5);
    CHECK_EQ(uv_loop_close(&loop), 0);
    free(fast);
    free(slow);
}

/* ---- bad input ---------------------------------------------------------- */

TEST(bad_requests_are_refused)
{
    char *url = url_for("/hello");
    strata_http_header evil[] = {{"X-Evil", "a\r\nX-Injected: 1"}};
    strata_http_header badname[] = {{"X Bad", "v"}};
    strata_http_request reqs[] = {
        {.url = "not a url"},
        {.url = "ftp://127.0.0.1/x"},
        {.url = "file:///etc/passwd"},
        {.url = NULL},
        {.url = url, .headers = evil, .nheaders = 1},
        {.url = url, .headers = badname, .nheaders = 1},
        {.url = url, .method = "GE T"},
        {.url = url, .method = ""},
    };
    strata_http *http = NULL;
    strata_error err = {0};
    result res = {0};
    uv_loop_t loop;
    size_t i;

    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_OK(strata_http_new(&http, &loop, &err), &err);
    for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        strata_error_clear(&err);
        CHECK_EQ(strata_http_send(http, &reqs[i], on_result, &res, &err),
                 STRATA_EINVAL);
        CHECK_EQ(err.code, STRATA_EINVAL);
        CHECK(err.msg[0] != '\0');
    }
    CHECK_EQ(strata_http_active(http), 0);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(res.calls, 0);
    strata_http_close(http);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(res.calls, 0);
    CHECK_EQ(uv_loop_close(&loop), 0);
    free(url);
}

/* ---- synchronous wrapper and helpers ------------------------------------ */

TEST(fetch_sync)
{
    char *url = url_for("/hello");
    char *missing = url_for("/nope");
    strata_http_request req = {.url = url};
    strata_http_response *resp = NULL;
    strata_error err = {0};
    int fd, port = refusing_port(&fd);
    char *refused = strata_xasprintf("http://127.0.0.1:%d/x", port);
    char *shown = strata_xasprintf("'%s'", refused);

    CHECK_OK(strata_http_fetch(&resp, &req, &err), &err);
    CHECK(resp != NULL);
    CHECK_EQ(resp->status, 200);
    CHECK_STR_EQ(resp->body.ptr, "hello world");
    CHECK_STR_EQ(strata_http_response_header(resp, "x-test"), "yes");
    strata_http_response_free(resp);

    req.url = missing;
    CHECK_OK(strata_http_fetch(&resp, &req, &err), &err);
    CHECK_EQ(resp->status, 404);
    strata_http_response_free(resp);

    req.url = refused;
    resp = (strata_http_response *) &err; /* must be reset to NULL */
    CHECK_EQ(strata_http_fetch(&resp, &req, &err), STRATA_ENET);
    CHECK(resp == NULL);
    CHECK_EQ(err.code, STRATA_ENET);
    CHECK_CONTAINS(err.msg, shown);
    close(fd);
    free(refused);
    free(shown);

    req.url = "nonsense";
    CHECK_EQ(strata_http_fetch(&resp, &req, &err), STRATA_EINVAL);
    CHECK(resp == NULL);
    strata_http_response_free(NULL);
    free(url);
    free(missing);
}

TEST(url_redact)
{
    static const char *cases[][2] = {
        {"https://u:p@host/x", "https://host/x"},
        {"https://u@host:5000/x?y=1", "https://host:5000/x?y=1"},
        {"http://a:b@c@host", "http://host"},
        {"http://host/path@at", "http://host/path@at"},
        {"http://host?q=a@b", "http://host?q=a@b"},
        {"host/x", "host/x"},
        {"", ""},
    };
    size_t i;
    char *s;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s = strata_http_url_redact(cases[i][0]);
        CHECK_STR_EQ(s, cases[i][1]);
        free(s);
    }
}

/* ---- TLS --------------------------------------------------------------- */

TEST(tls_verified_by_default)
{
    char *url = strata_xasprintf("https://127.0.0.1:%d/hello", tls_port);
    strata_http_request req = {.url = url};
    result res;

    run_one(&req, &res);
    CHECK_EQ(res.code, STRATA_ENET);
    CHECK_CONTAINS(res.msg, url);
    free(url);
}

TEST(tls_insecure)
{
    char *url = strata_xasprintf("https://127.0.0.1:%d/hello", tls_port);
    strata_http_request req = {.url = url, .insecure = 1};
    result res;

    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK_EQ(res.resp->status, 200);
    CHECK_STR_EQ(res.resp->body.ptr, "hello world");
    result_release(&res);
    free(url);
}

TEST(tls_ca_file)
{
    char *url = strata_xasprintf("https://127.0.0.1:%d/redirect", tls_port);
    char *ca = strata_xasprintf("%s/cert.pem", tls_dir);
    strata_http_request req = {
        .url = url, .ca_file = ca, .follow_redirects = 1};
    result res;

    run_one(&req, &res);
    CHECK_EQ(res.code, 0);
    CHECK_EQ(res.resp->status, 200);
    CHECK_STR_EQ(res.resp->body.ptr, "hello world");
    result_release(&res);
    free(url);
    free(ca);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    start_servers();
    RUN(url_redact);
    RUN(get_ok);
    RUN(head);
    RUN(not_found_is_a_status);
    RUN(redirect_followed);
    RUN(redirect_not_followed);
    RUN(redirect_loop_stops);
    RUN(timeout);
    RUN(connection_refused);
    RUN(body_limit);
    RUN(body_sink);
    RUN(request_body_echo);
    RUN(header_lookup);
    RUN(keep_alive_reuses_connection);
    RUN(concurrent_requests);
    RUN(close_cancels_transfers);
    RUN(close_before_the_loop_runs);
    RUN(close_from_a_callback);
    RUN(bad_requests_are_refused);
    RUN(fetch_sync);
    if (tls_port > 0) {
        RUN(tls_verified_by_default);
        RUN(tls_insecure);
        RUN(tls_ca_file);
    } else
        printf("# no /usr/bin/openssl: TLS tests not run\n");
    stop_servers();
    return harness_done();
}
