/*
 * test-hostile.c - the registry client against a hostile registry and
 * token server (tests/servers/hostile.py): answers without digests, lying
 * digests, huge and endless bodies, absurd token lifetimes, token loops,
 * stalls, drips and redirects to other hosts. Each test scripts the
 * server, runs strata (the CLI as a child, whose peak RSS wait4() reports,
 * or the oci API on a loop with a watchdog) and reads back every request
 * the server saw, so request counts, backoff and headers are asserted on
 * what really crossed the wire. Where a blob must land in a real
 * registry, tests/registry's docker-registry is the target.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <uv.h>

#include "harness-registry.h"
#include "harness-server.h"
#include "harness.h"
#include "oci.h"

#define DIGEST_A                                                               \
    "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B                                                               \
    "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define MIB (1024L * 1024L)

/*
 * Memory bounds are asserted on what a hostile answer adds; sanitizers
 * (shadow memory, quarantined frees) inflate it, so their builds get
 * four times the room, which still catches the 80 MB to 1 GB defects.
 */
#if defined(__SANITIZE_ADDRESS__)
#define MEM_SCALE 4
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_SCALE 4
#endif
#endif
#ifndef MEM_SCALE
#define MEM_SCALE 1
#endif
/* kB an operation may add to peak RSS. */
#define ROOM_KB(mib) ((long) (mib) *1024 * MEM_SCALE)

static pid_t hostile_pid;
static int port, other_port;
static char tmpdir[] = "/tmp/strata-test-hostile-XXXXXX";
static int have_registry;
static harness_registry registry;
/* Peak RSS of `strata digest` on an honest answer: what strata costs. */
static long baseline_kb;

/* ---- the hostile server ------------------------------------------------ */

/*
 * Replaces the script. fmt is JSON with ' for " (the rules stay readable
 * in C) and printf directives.
 */
static void script(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
script(const char *fmt, ...)
{
    va_list ap;
    char *body, *p;
    json_t *j;

    va_start(ap, fmt);
    body = strata_xvasprintf(fmt, ap);
    va_end(ap);
    for (p = body; *p != '\0'; p++)
        if (*p == '\'')
            *p = '"';
    json_decref(harness_server_admin(port, "reset", "{}"));
    j = harness_server_admin(port, "script", body);
    CHECK(json_integer_value(json_object_get(j, "rules")) > 0);
    json_decref(j);
    free(body);
}

/* Every request the server recorded since the last script (new). */
static json_t *
requests(void)
{
    json_t *j = harness_server_admin(port, "requests", NULL);
    json_t *r = json_incref(json_object_get(j, "requests"));

    json_decref(j);
    return r;
}

/* How many recorded requests have method (NULL: any) and path in them. */
static size_t
count_requests(const json_t *reqs, const char *method, const char *path)
{
    size_t i, n = 0;
    json_t *r;

    json_array_foreach (reqs, i, r) {
        const char *m = json_string_value(json_object_get(r, "method"));
        const char *p = json_string_value(json_object_get(r, "path"));

        if ((method == NULL || strcmp(m, method) == 0) &&
            (path == NULL || strstr(p, path) != NULL))
            n++;
    }
    return n;
}

static const char *
req_header(const json_t *r, const char *name)
{
    return json_string_value(
        json_object_get(json_object_get(r, "headers"), name));
}

/* ---- memory ------------------------------------------------------------ */

/* A line "Name:   N kB" of /proc/self/status, in kB. */
static long
proc_status_kb(const char *name)
{
    char line[256];
    size_t n = strlen(name);
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");

    CHECK(f != NULL);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            kb = atol(line + n + 1);
    fclose(f);
    CHECK(kb >= 0);
    return kb;
}

/* Resets this process's peak RSS (VmHWM) to its current RSS. */
static void
hwm_reset(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);

    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "5", 1), 1);
    close(fd);
}

/* ---- strata as a child ------------------------------------------------- */

typedef struct run_result {
    int status;    /* exit status; -1 when killed */
    int timed_out; /* killed after the deadline */
    long maxrss_kb;
    double seconds;
    char *out, *err; /* what it printed (new) */
} run_result;

static char *
slurp(const char *path)
{
    strata_buf b = STRATA_BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "r");

    if (f != NULL) {
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            strata_buf_add(&b, chunk, n);
        fclose(f);
    }
    strata_buf_puts(&b, ""); /* "" rather than NULL when empty */
    return strata_buf_detach(&b);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*
 * Runs strata with args (NULL-terminated) for at most timeout_s seconds,
 * with DOCKER_CONFIG at an empty directory. The child's peak RSS comes
 * from wait4(); this process is small, so what it counts of ours before
 * the exec is small too (printed for reference).
 */
static void
run_strata(run_result *res, int timeout_s, ...)
{
    const char *exe = getenv("STRATA_EXE");
    char out_path[300], err_path[300];
    const char *argv[32];
    struct rusage ru;
    double start;
    va_list ap;
    int n = 0, st = 0;
    pid_t pid, w;

    memset(res, 0, sizeof(*res));
    CHECK(exe != NULL);
    argv[n++] = exe;
    va_start(ap, timeout_s);
    while ((argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    snprintf(out_path, sizeof(out_path), "%s/out", tmpdir);
    snprintf(err_path, sizeof(err_path), "%s/err", tmpdir);
    printf("# own RSS before spawning: %ld kB\n", proc_status_kb("VmRSS"));
    fflush(stdout);
    start = now_s();
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        dup2(o, 1);
        dup2(e, 2);
        setenv("DOCKER_CONFIG", tmpdir, 1);
        execv(exe, (char *const *) argv);
        _exit(127);
    }
    for (;;) {
        w = wait4(pid, &st, WNOHANG, &ru);
        CHECK(w >= 0);
        if (w == pid)
            break;
        if (now_s() - start > timeout_s) {
            kill(pid, SIGKILL);
            CHECK_EQ(wait4(pid, &st, 0, &ru), pid);
            res->timed_out = 1;
            break;
        }
        usleep(20000);
    }
    res->seconds = now_s() - start;
    res->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    res->maxrss_kb = ru.ru_maxrss;
    res->out = slurp(out_path);
    res->err = slurp(err_path);
    printf("# strata %s: exit %d%s after %.2f s, peak RSS %ld kB\n", argv[1],
           res->status, res->timed_out ? " (killed)" : "", res->seconds,
           res->maxrss_kb);
    printf("# stderr: %.300s\n", res->err);
    fflush(stdout);
}

static void
run_release(run_result *res)
{
    free(res->out);
    free(res->err);
}

/* Writes a strata.yaml watching ref into tmpdir; its path (static). */
static const char *
watch_config(const char *ref)
{
    static char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "%s/strata.yaml", tmpdir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f,
            "state: %s/strata.db\n"
            "watch:\n"
            "  bases:\n"
            "    - ref: %s\n",
            tmpdir, ref);
    fclose(f);
    return path;
}

/* ---- the oci API on a loop, with a watchdog ----------------------------- */

typedef struct op_result {
    int done;
    strata_error err;
    char *digest;
    strata_manifest *manifest;
    strata_image_config *config;
    char **tags;
    size_t ntags;
    char *blob;
    size_t len;
    strata_blob_outcome outcome;
    uint64_t bytes;
    int exists;
    int64_t size;
} op_result;

static void
op_release(op_result *r)
{
    free(r->digest);
    strata_manifest_free(r->manifest);
    strata_image_config_free(r->config);
    strata_registry_tags_free(r->tags, r->ntags);
    free(r->blob);
    memset(r, 0, sizeof(*r));
}

static void
note_err(op_result *r, const strata_error *err)
{
    if (err != NULL)
        r->err = *err;
    r->done = 1;
}

static void
on_digest(char *digest, const strata_error *err, void *arg)
{
    op_result *r = arg;

    r->digest = digest;
    note_err(r, err);
}

static void
on_manifest(strata_manifest *m, const strata_error *err, void *arg)
{
    op_result *r = arg;

    r->manifest = m;
    note_err(r, err);
}

static void
on_config(strata_image_config *c, const strata_error *err, void *arg)
{
    op_result *r = arg;

    r->config = c;
    note_err(r, err);
}

static void
on_tags(char **tags, size_t ntags, const strata_error *err, void *arg)
{
    op_result *r = arg;

    r->tags = tags;
    r->ntags = ntags;
    note_err(r, err);
}

static void
on_blob(char *blob, size_t len, const strata_error *err, void *arg)
{
    op_result *r = arg;

    r->blob = blob;
    r->len = len;
    note_err(r, err);
}

static void __attribute__((unused))
on_pushed(strata_blob_outcome outcome, uint64_t bytes, const strata_error *err,
          void *arg)
{
    op_result *r = arg;

    r->outcome = outcome;
    r->bytes = bytes;
    note_err(r, err);
}

static void
on_exists(int exists, int64_t size, const strata_error *err, void *arg)
{
    op_result *r = arg;

    r->exists = exists;
    r->size = size;
    note_err(r, err);
}

/* A registry client on its own loop; the test runs ops through it. */
typedef struct client {
    uv_loop_t loop;
    strata_registry *reg;
} client;

static void
client_open(client *c, const strata_registry_opts *opts)
{
    strata_error err = {0};

    CHECK_EQ(uv_loop_init(&c->loop), 0);
    CHECK_OK(strata_registry_new(&c->reg, &c->loop, opts, &err), &err);
}

static void
client_close(client *c)
{
    strata_registry_close(c->reg);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&c->loop), 0);
}

/*
 * Runs the loop until r is done; fails the test after limit_s seconds (an
 * operation that does not end is the defect, not a hang of the suite).
 */
static void
client_wait(client *c, op_result *r, double limit_s)
{
    double start = now_s();

    while (!r->done) {
        uv_run(&c->loop, UV_RUN_NOWAIT);
        if (!r->done)
            usleep(1000);
        if (now_s() - start > limit_s) {
            printf("# operation still running after %.0f s\n", limit_s);
            CHECK(r->done);
        }
    }
}

static strata_ref *ref_at(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static strata_ref *
ref_at(const char *fmt, ...)
{
    strata_error err = {0};
    strata_ref *ref = NULL;
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = strata_xvasprintf(fmt, ap);
    va_end(ap);
    CHECK_OK(strata_ref_parse(&ref, s, &err), &err);
    free(s);
    return ref;
}

/* ---- defect: a digest that cannot be learnt loops ----------------------- */

TEST(digest_without_any_digest_ends)
{
    char ref[128];
    run_result res;
    json_t *reqs;
    size_t n;

    /* HEAD: 200 with no Docker-Content-Digest; GET: empty, no digest. */
    script("{'rules':[{'method':'HEAD','path':'/v2/x/manifests/1$'},"
           "{'method':'GET','path':'/v2/x/manifests/1$','body':''}]}");
    snprintf(ref, sizeof(ref), "127.0.0.1:%d/x:1", port);
    run_strata(&res, 20, "digest", ref, NULL);
    reqs = requests();
    n = json_array_size(reqs);
    printf("# %zu requests\n", n);
    CHECK(!res.timed_out);
    CHECK_EQ(res.status, 1);
    CHECK_CONTAINS(res.err, "Docker-Content-Digest");
    CHECK(n <= 4);
    json_decref(reqs);
    run_release(&res);

    /* The same registry under `strata watch --once`. */
    run_strata(&res, 20, "-c", watch_config(ref), "--log-level", "error",
               "watch", "--once", NULL);
    reqs = requests();
    n = json_array_size(reqs);
    printf("# %zu requests\n", n);
    CHECK(!res.timed_out);
    CHECK_EQ(res.status, 1);
    CHECK_STR_EQ(res.out, "");
    CHECK(n <= 8);
    json_decref(reqs);
    run_release(&res);
}

/* Every retry is bounded and waits longer each time. */
TEST(retries_are_bounded_and_back_off)
{
    strata_registry_opts o = {0};
    op_result r = {0};
    strata_error err = {0};
    strata_ref *ref = ref_at("127.0.0.1:%d/x:1", port);
    json_t *reqs;
    double t[8];
    size_t i, n;
    client c;

    script("{'rules':[{'path':'/v2/x/manifests/1$','status':500,"
           "'body':'{}'}]}");
    o.retry_base_ms = 100;
    client_open(&c, &o);
    CHECK_OK(strata_registry_digest(c.reg, ref, NULL, on_digest, &r, &err),
             &err);
    client_wait(&c, &r, 20);
    CHECK_EQ(r.err.code, STRATA_EHTTP);
    CHECK_CONTAINS(r.err.msg, "HTTP 500");
    reqs = requests();
    n = json_array_size(reqs);
    CHECK_EQ(n, 4); /* the first try and 3 retries */
    for (i = 0; i < n; i++)
        t[i] =
            json_real_value(json_object_get(json_array_get(reqs, i), "time"));
    for (i = 1; i + 1 < n; i++) {
        printf("# gap %zu: %.3f s\n", i, t[i] - t[i - 1]);
        CHECK(t[i + 1] - t[i] > (t[i] - t[i - 1]) * 1.5);
    }
    CHECK(t[1] - t[0] >= 0.09);
    json_decref(reqs);
    op_release(&r);
    client_close(&c);
    strata_ref_free(ref);
}

/* ---- defect: an absurd token lifetime ----------------------------------- */

/* A registry behind a token server whose tokens live "forever". */
static const char *const bearer_rules =
    "{'method':['HEAD','GET'],'path':'^/v2/','unless_header':"
    "{'authorization':'^Bearer good$'},'status':401,'headers':"
    "{'WWW-Authenticate':'Bearer realm=\\'http://127.0.0.1:{port}/token\\',"
    "service=\\'hostile\\''},'body':'{}'},"
    "{'method':'HEAD','path':'^/v2/x/manifests/','headers':"
    "{'Docker-Content-Digest':'" DIGEST_A "'}}";

TEST(token_with_an_absurd_lifetime)
{
    op_result r = {0};
    strata_error err = {0};
    strata_ref *ref1 = ref_at("127.0.0.1:%d/x:1", port);
    strata_ref *ref2 = ref_at("127.0.0.1:%d/x:2", port);
    json_t *reqs, *q;
    size_t i;
    client c;

    script("{'rules':[{'path':'^/token','body':'{\\'token\\':\\'good\\',"
           "\\'expires_in\\':9223372036854775807}'},%s]}",
           bearer_rules);
    /* realm="..." in the header: the script's \' is a literal quote. */
    client_open(&c, NULL);
    CHECK_OK(strata_registry_digest(c.reg, ref1, NULL, on_digest, &r, &err),
             &err);
    client_wait(&c, &r, 20);
    reqs = requests();
    json_array_foreach (reqs, i, q) {
        const char *a = req_header(q, "authorization");

        printf("# %s %s: %s\n", json_string_value(json_object_get(q, "method")),
               json_string_value(json_object_get(q, "path")), a ? a : "-");
        CHECK(a == NULL || strstr(a, "(null)") == NULL);
    }
    json_decref(reqs);
    CHECK_OK(r.err.code, &r.err);
    CHECK_STR_EQ(r.digest, DIGEST_A);
    op_release(&r);
    /* The token is cached, not taken for expired. */
    CHECK_OK(strata_registry_digest(c.reg, ref2, NULL, on_digest, &r, &err),
             &err);
    client_wait(&c, &r, 20);
    CHECK_OK(r.err.code, &r.err);
    op_release(&r);
    client_close(&c);
    reqs = requests();
    CHECK_EQ(count_requests(reqs, "GET", "/token"), 1);
    CHECK_EQ(count_requests(reqs, "HEAD", "/v2/x/manifests/"), 3);
    json_decref(reqs);
    strata_ref_free(ref1);
    strata_ref_free(ref2);
}

/* A token nobody accepts, a token server that refuses: both end. */
TEST(token_loops_end)
{
    op_result r = {0};
    strata_error err = {0};
    strata_ref *ref = ref_at("127.0.0.1:%d/x:1", port);
    json_t *reqs;
    client c;

    /* The token server hands out "bad", which the registry refuses. */
    script("{'rules':[{'path':'^/token','body':'{\\'token\\':\\'bad\\'}'},%s]}",
           bearer_rules);
    client_open(&c, NULL);
    CHECK_OK(strata_registry_digest(c.reg, ref, NULL, on_digest, &r, &err),
             &err);
    client_wait(&c, &r, 20);
    CHECK_EQ(r.err.code, STRATA_EAUTH);
    reqs = requests();
    printf("# %zu requests: %s\n", json_array_size(reqs), r.err.msg);
    CHECK(count_requests(reqs, NULL, "/token") <= 2);
    CHECK(count_requests(reqs, NULL, "/v2/") <= 3);
    json_decref(reqs);
    op_release(&r);

    /* The token server answers 401 forever. */
    script("{'rules':[{'path':'^/token','status':401,'body':'{}'},%s]}",
           bearer_rules);
    CHECK_OK(strata_registry_digest(c.reg, ref, NULL, on_digest, &r, &err),
             &err);
    client_wait(&c, &r, 20);
    CHECK_EQ(r.err.code, STRATA_EAUTH);
    reqs = requests();
    CHECK_EQ(count_requests(reqs, NULL, "/token"), 1);
    json_decref(reqs);
    op_release(&r);

    /* The token endpoint redirects to itself. */
    script("{'rules':[{'path':'^/token','redirect':'/token?again'},%s]}",
           bearer_rules);
    CHECK_OK(strata_registry_digest(c.reg, ref, NULL, on_digest, &r, &err),
             &err);
    client_wait(&c, &r, 20);
    CHECK(r.err.code != 0);
    reqs = requests();
    printf("# %zu requests: %s\n", json_array_size(reqs), r.err.msg);
    CHECK(count_requests(reqs, NULL, "/token") <= 9);
    json_decref(reqs);
    op_release(&r);
    client_close(&c);
    strata_ref_free(ref);
}

/* ---- defect: bodies read past their limit ------------------------------ */

/* `strata digest --platform` GETs the manifest: 100 MB, or endless. */
TEST(manifest_answer_over_its_limit)
{
    static const char *const shapes[] = {
        "'body_size':100000000",
        "'body_size':100000000,'chunked':true",
        "'endless':true,'chunked':true",
    };
    char ref[128];
    run_result res;
    size_t i;

    snprintf(ref, sizeof(ref), "127.0.0.1:%d/x:big", port);
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        script("{'rules':[{'method':'GET','path':'/v2/x/manifests/big$',%s}]}",
               shapes[i]);
        run_strata(&res, 60, "digest", "--platform", "linux/amd64", ref, NULL);
        CHECK(!res.timed_out);
        CHECK_EQ(res.status, 1);
        CHECK_CONTAINS(res.err, "larger than 4194304 bytes");
        CHECK(res.maxrss_kb - baseline_kb < ROOM_KB(24));
        run_release(&res);
    }
    /* The HEAD without a digest, then the GET fallback. */
    script("{'rules':[{'method':'HEAD','path':'/v2/x/manifests/big$'},"
           "{'method':'GET','path':'/v2/x/manifests/big$',"
           "'body_size':100000000}]}");
    run_strata(&res, 60, "digest", ref, NULL);
    CHECK(!res.timed_out);
    CHECK_EQ(res.status, 1);
    CHECK_CONTAINS(res.err, "larger than 4194304 bytes");
    CHECK(res.maxrss_kb - baseline_kb < ROOM_KB(24));
    run_release(&res);
}

/*
 * Token answers, tag lists, config blobs and blobs: each stops at its
 * limit, and a declared length over it is refused before any reading.
 */
TEST(answers_over_their_limits)
{
    strata_registry_opts o = {.max_retries = -1};
    op_result r = {0};
    strata_error err = {0};
    strata_ref *ref = ref_at("127.0.0.1:%d/x:1", port);
    long before, peak;
    client c;

    /* An endless token answer. */
    script("{'rules':[{'path':'^/token','endless':true,'chunked':true},%s]}",
           bearer_rules);
    client_open(&c, &o);
    hwm_reset();
    before = proc_status_kb("VmHWM");
    CHECK_OK(strata_registry_digest(c.reg, ref, NULL, on_digest, &r, &err),
             &err);
    client_wait(&c, &r, 30);
    peak = proc_status_kb("VmHWM") - before;
    printf("# token: %s; peak +%ld kB\n", r.err.msg, peak);
    CHECK_EQ(r.err.code, STRATA_ETOOBIG);
    CHECK_CONTAINS(r.err.msg, "larger than");
    CHECK(peak < ROOM_KB(16));
    op_release(&r);
    client_close(&c);

    /* An endless tag list (no Content-Length). */
    script("{'rules':[{'path':'/v2/x/tags/list','endless':true,"
           "'body':'{\\'name\\':\\'x\\',\\'tags\\':[\\'a'}]}");
    client_open(&c, &o);
    hwm_reset();
    before = proc_status_kb("VmHWM");
    CHECK_OK(strata_registry_list_tags(c.reg, ref, 0, 0, on_tags, &r, &err),
             &err);
    client_wait(&c, &r, 30);
    peak = proc_status_kb("VmHWM") - before;
    printf("# tags: %s; peak +%ld kB\n", r.err.msg, peak);
    CHECK_EQ(r.err.code, STRATA_ETOOBIG);
    CHECK_CONTAINS(r.err.msg, "larger than");
    CHECK(peak < ROOM_KB(16));
    op_release(&r);
    client_close(&c);

    /* A config blob that claims 1.5 GB. */
    script("{'rules':[{'path':'/v2/x/blobs/','endless':true,"
           "'content_length':1500000000}]}");
    client_open(&c, &o);
    hwm_reset();
    before = proc_status_kb("VmHWM");
    CHECK_OK(
        strata_registry_get_config(c.reg, ref, DIGEST_A, on_config, &r, &err),
        &err);
    client_wait(&c, &r, 30);
    peak = proc_status_kb("VmHWM") - before;
    printf("# config: %s; peak +%ld kB\n", r.err.msg, peak);
    CHECK_EQ(r.err.code, STRATA_ETOOBIG);
    CHECK_CONTAINS(r.err.msg, "larger than 4194304 bytes");
    CHECK(peak < ROOM_KB(16));
    op_release(&r);
    client_close(&c);

    /* A blob read into memory: max is what it reads, at most. */
    client_open(&c, &o);
    hwm_reset();
    before = proc_status_kb("VmHWM");
    CHECK_OK(
        strata_registry_get_blob(c.reg, ref, DIGEST_A, 1024, on_blob, &r, &err),
        &err);
    client_wait(&c, &r, 30);
    peak = proc_status_kb("VmHWM") - before;
    printf("# blob: %s; peak +%ld kB\n", r.err.msg, peak);
    CHECK_EQ(r.err.code, STRATA_ETOOBIG);
    CHECK_CONTAINS(r.err.msg, "larger than 1024 bytes");
    CHECK(peak < ROOM_KB(16));
    op_release(&r);
    client_close(&c);
    strata_ref_free(ref);
}

/* ---- defect: a blob larger than its descriptor -------------------------- */

/*
 * A rebase onto a new base on the hostile registry, whose one layer's
 * descriptor says 1,024 bytes and whose GET answers 1.5 GB (declared, or
 * chunked without end).
 */
TEST(rebase_reads_no_more_than_the_descriptor)
{
    static const char *const shapes[] = {
        "'endless':true,'content_length':1500000000",
        "'endless':true,'chunked':true",
    };
    char cfg[512], cfg_digest[72], man[1024], hex[65], spec[512];
    char image[128], old_base[128], new_base[128], tag[128];
    json_t *base, *app;
    run_result res;
    size_t i;

    if (!have_registry) {
        printf("# no docker-registry: skipped\n");
        return;
    }
    CHECK_EQ(harness_registry_seed(&registry,
                                   "{\"name\":\"hbase\",\"tag\":\"1\","
                                   "\"layers\":[\"hostile base\\n\"]}",
                                   &base),
             0);
    snprintf(spec, sizeof(spec),
             "{\"name\":\"happ\",\"tag\":\"1\",\"layers\":[\"app\\n\"],"
             "\"base\":{\"name\":\"hbase\",\"digest\":\"%s\"}}",
             json_string_value(json_object_get(base, "digest")));
    CHECK_EQ(harness_registry_seed(&registry, spec, &app), 0);
    snprintf(cfg, sizeof(cfg),
             "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":"
             "{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
             DIGEST_B);
    strata_sha256_hex(hex, cfg, strlen(cfg));
    snprintf(cfg_digest, sizeof(cfg_digest), "sha256:%s", hex);
    snprintf(man, sizeof(man),
             "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":"
             "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
             "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
             "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":"
             "\"%s\",\"size\":1024}]}",
             STRATA_MT_OCI_MANIFEST, cfg_digest, strlen(cfg), DIGEST_A);
    snprintf(image, sizeof(image), "%s/happ:1", registry.host);
    snprintf(old_base, sizeof(old_base), "%s/hbase:1", registry.host);
    snprintf(new_base, sizeof(new_base), "127.0.0.1:%d/nb:2", port);
    snprintf(tag, sizeof(tag), "%s/happ:rebased", registry.host);
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        json_t *body_m = json_string(man), *body_c = json_string(cfg);
        char *jm = json_dumps(body_m, JSON_ENCODE_ANY);
        char *jc = json_dumps(body_c, JSON_ENCODE_ANY);
        char *p;

        /* The bodies go in as JSON strings: no quote games for them. */
        for (p = jm; *p; p++)
            if (*p == '\'')
                abort();
        script("{'rules':["
               "{'method':['GET','HEAD'],'path':'/v2/nb/manifests/2$',"
               "'headers':{'Content-Type':'%s'},'digest':true,'body':%s},"
               "{'method':'GET','path':'/v2/nb/blobs/%s$','body':%s},"
               "{'method':'GET','path':'/v2/nb/blobs/%s$',%s}]}",
               STRATA_MT_OCI_MANIFEST, jm, cfg_digest, jc, DIGEST_A, shapes[i]);
        free(jm);
        free(jc);
        json_decref(body_m);
        json_decref(body_c);
        run_strata(&res, 120, "rebase", image, "--old-base", old_base,
                   "--new-base", new_base, "--tag", tag, NULL);
        CHECK(!res.timed_out);
        CHECK(res.status != 0);
        CHECK_CONTAINS(res.err, "larger than its descriptor's 1024 bytes");
        CHECK(res.maxrss_kb - baseline_kb < ROOM_KB(32));
        run_release(&res);
    }
    json_decref(base);
    json_decref(app);
}

/* "sha256:..." of n bytes of 'x' (what hostile.py's body_size sends). */
static void
sha256_of_xs(char out[72], size_t n)
{
    static char block[65536];
    unsigned char md[32];
    unsigned int len = 0, i;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    memset(block, 'x', sizeof(block));
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while (n > 0) {
        size_t k = n < sizeof(block) ? n : sizeof(block);

        EVP_DigestUpdate(ctx, block, k);
        n -= k;
    }
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    strcpy(out, "sha256:");
    for (i = 0; i < len; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* Runs strata_registry_copy_blob on c; the result in r. */
static void
copy(client *c, op_result *r, const strata_ref *src, const strata_ref *dst,
     const char *digest, int64_t size, size_t chunk)
{
    strata_blob_copy_opts co = {.chunk_size = chunk};
    strata_error err = {0};

    memset(r, 0, sizeof(*r));
    CHECK_OK(strata_registry_copy_blob(c->reg, src, dst, digest, size, &co,
                                       on_pushed, r, &err),
             &err);
    CHECK_EQ(r->done, 0); /* never from inside the call */
    client_wait(c, r, 60);
}

/*
 * The streaming copy into a real registry: 40 MB in 4 MiB chunks with
 * little memory, then found there; a second copy finds it.
 */
TEST(copy_blob_streams_into_a_registry)
{
    const size_t size = 40 * 1000 * 1000;
    char digest[72];
    strata_ref *src = ref_at("127.0.0.1:%d/src:1", port), *dst;
    strata_error err = {0};
    op_result r = {0};
    long before, peak;
    json_t *reqs;
    client c;

    if (!have_registry) {
        printf("# no docker-registry: skipped\n");
        strata_ref_free(src);
        return;
    }
    dst = ref_at("%s/copied:1", registry.host);
    sha256_of_xs(digest, size);
    script("{'rules':[{'method':'GET','path':'/v2/src/blobs/%s$',"
           "'body_size':%zu}]}",
           digest, size);
    client_open(&c, NULL);
    hwm_reset();
    before = proc_status_kb("VmHWM");
    copy(&c, &r, src, dst, digest, (int64_t) size, 4 * MIB);
    peak = proc_status_kb("VmHWM") - before;
    printf("# copied %llu bytes; peak +%ld kB\n", (unsigned long long) r.bytes,
           peak);
    CHECK_OK(r.err.code, &r.err);
    CHECK_EQ(r.outcome, STRATA_BLOB_UPLOADED);
    CHECK_EQ(r.bytes, size);
    CHECK(peak < ROOM_KB(20));
    reqs = requests();
    CHECK_EQ(count_requests(reqs, "GET", "/blobs/"), 1);
    json_decref(reqs);
    op_release(&r);
    /* The registry has it, and says so to the next copy. */
    CHECK_OK(
        strata_registry_blob_exists(c.reg, dst, digest, on_exists, &r, &err),
        &err);
    client_wait(&c, &r, 20);
    CHECK_OK(r.err.code, &r.err);
    CHECK_EQ(r.exists, 1);
    CHECK_EQ(r.size, (int64_t) size);
    op_release(&r);
    copy(&c, &r, src, dst, digest, (int64_t) size, 0);
    CHECK_OK(r.err.code, &r.err);
    CHECK_EQ(r.outcome, STRATA_BLOB_EXISTED);
    op_release(&r);
    client_close(&c);
    strata_ref_free(src);
    strata_ref_free(dst);
}

/*
 * The streaming copy against a hostile source (and a hostile target that
 * records the upload): a blob larger than its descriptor, declared or
 * endless, shorter, of another digest, or cut off; each is refused,
 * nothing is finished on the target and the session is deleted.
 */
TEST(copy_blob_refuses_what_the_descriptor_does_not_say)
{
    static const struct {
        const char *shape; /* of the source's answer */
        int64_t size;      /* the descriptor's */
        int code;
        const char *msg;
    } cases[] = {
        {"'endless':true,'content_length':1500000000", 1024, STRATA_ETOOBIG,
         "larger than its descriptor's 1024 bytes"},
        {"'endless':true,'chunked':true", 1024, STRATA_ETOOBIG,
         "larger than its descriptor's 1024 bytes"},
        {"'body_size':1024", 2048, STRATA_EPROTO,
         "has 1024 bytes, its descriptor says 2048"},
        {"'body_size':1024,'body_byte':'y'", 1024, STRATA_EPROTO,
         "digest mismatch"},
        {"'body_size':600000,'content_length':1000000", 1000000, STRATA_ENET,
         "failed"},
    };
    strata_ref *src = ref_at("127.0.0.1:%d/src:1", port);
    strata_ref *dst = ref_at("localhost:%d/dst:1", port);
    char digest[72];
    op_result r = {0};
    long before, peak;
    json_t *reqs;
    size_t i;
    client c;

    client_open(&c, NULL);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sha256_of_xs(digest, (size_t) cases[i].size);
        script(
            "{'rules':["
            "{'method':'GET','path':'^/v2/src/blobs/','listener':'main',"
            "'if_header':{'host':'^127'},%s},"
            "{'method':'HEAD','path':'^/v2/dst/blobs/','status':404,"
            "'body':'{}'},"
            "{'method':'POST','path':'^/v2/dst/blobs/uploads/$',"
            "'status':202,'headers':{'Location':'/v2/dst/blobs/uploads/u1'}},"
            "{'method':'PATCH','path':'^/v2/dst/blobs/uploads/u1$',"
            "'status':202,'headers':{'Location':'/v2/dst/blobs/uploads/u1'}},"
            "{'method':'PUT','path':'^/v2/dst/blobs/uploads/u1','status':201},"
            "{'method':'DELETE','path':'^/v2/dst/blobs/uploads/u1$',"
            "'status':204}]}",
            cases[i].shape);
        hwm_reset();
        before = proc_status_kb("VmHWM");
        copy(&c, &r, src, dst, digest, cases[i].size, 256 * 1024);
        peak = proc_status_kb("VmHWM") - before;
        reqs = requests();
        printf("# %s: %s; peak +%ld kB; %zu PATCH, %zu DELETE\n",
               cases[i].shape, r.err.msg, peak,
               count_requests(reqs, "PATCH", NULL),
               count_requests(reqs, "DELETE", NULL));
        CHECK_EQ(r.err.code, cases[i].code);
        CHECK_CONTAINS(r.err.msg, cases[i].msg);
        CHECK(peak < ROOM_KB(16));
        CHECK_EQ(count_requests(reqs, "GET", "/v2/src/blobs/"), 1);
        CHECK_EQ(count_requests(reqs, "PUT", NULL), 0);
        CHECK_EQ(count_requests(reqs, "DELETE", "/v2/dst/blobs/uploads/u1"), 1);
        json_decref(reqs);
        op_release(&r);
    }

    /* The same hostile pair, honest: 1 MB in 256 KiB chunks. */
    sha256_of_xs(digest, 1000000);
    script("{'rules':["
           "{'method':'GET','path':'^/v2/src/blobs/','if_header':"
           "{'host':'^127'},'body_size':1000000},"
           "{'method':'HEAD','path':'^/v2/dst/blobs/','status':404,"
           "'body':'{}'},"
           "{'method':'POST','path':'^/v2/dst/blobs/uploads/$',"
           "'status':202,'headers':{'Location':'/v2/dst/blobs/uploads/u1'}},"
           "{'method':'PATCH','path':'^/v2/dst/blobs/uploads/u1$',"
           "'status':202,'headers':{'Location':'/v2/dst/blobs/uploads/u1'}},"
           "{'method':'PUT','path':'^/v2/dst/blobs/uploads/u1','status':201,"
           "'headers':{'Docker-Content-Digest':'%s'}}]}",
           digest);
    copy(&c, &r, src, dst, digest, 1000000, 256 * 1024);
    CHECK_OK(r.err.code, &r.err);
    CHECK_EQ(r.outcome, STRATA_BLOB_UPLOADED);
    CHECK_EQ(r.bytes, 1000000);
    reqs = requests();
    CHECK(count_requests(reqs, "PATCH", NULL) >= 4);
    CHECK(count_requests(reqs, "PATCH", NULL) <= 5);
    CHECK_EQ(count_requests(reqs, "PUT", digest), 1);
    {
        /* The PATCHes are contiguous, of at most a chunk, and cover it. */
        unsigned long long from, to, next = 0;
        json_t *q;
        size_t k;

        json_array_foreach (reqs, k, q) {
            if (strcmp(json_string_value(json_object_get(q, "method")),
                       "PATCH") != 0)
                continue;
            CHECK_EQ(
                sscanf(req_header(q, "content-range"), "%llu-%llu", &from, &to),
                2);
            CHECK_EQ(from, next);
            CHECK(to - from + 1 <= 256 * 1024);
            CHECK_EQ(json_integer_value(json_object_get(q, "body_len")),
                     to - from + 1);
            next = to + 1;
        }
        CHECK_EQ(next, 1000000);
    }
    json_decref(reqs);
    op_release(&r);
    client_close(&c);
    strata_ref_free(src);
    strata_ref_free(dst);
}

/* ---- guarantees --------------------------------------------------------- */

/* Basic and Bearer credentials are never sent to another host. */
TEST(credentials_stay_on_their_host)
{
    strata_registry_opts o = {.username = "bob", .password = "s3cret"};
    op_result r = {0};
    strata_error err = {0};
    strata_ref *ref;
    json_t *reqs, *q;
    size_t i, other = 0;
    client c;
    int k;

    for (k = 0; k < 3; k++) {
        /*
         * k 0: Basic; k 1: Bearer; k 2: Bearer from a token endpoint that
         * redirects to the other port (the Basic credentials it is sent
         * must not follow). /1 redirects to the other port, /2 to the same
         * port under the name localhost: both are other hosts.
         */
        script(
            "{'rules':[%s"
            "{'path':'^/token','body':'{\\'token\\':\\'tok\\'}'},"
            "{'listener':'other','headers':{'Docker-Content-Digest':'" DIGEST_A
            "'}},"
            "{'if_header':{'host':'^localhost'},'headers':"
            "{'Docker-Content-Digest':'" DIGEST_A "'}},"
            "{'path':'^/v2/','unless_header':{'authorization':'.'},"
            "'status':401,'headers':{'WWW-Authenticate':'%s'},'body':'{}'},"
            "{'path':'^/v2/x/manifests/1$','redirect':"
            "'http://127.0.0.1:{other_port}/v2/x/manifests/1'},"
            "{'path':'^/v2/x/manifests/2$','redirect':"
            "'http://localhost:{port}/v2/x/manifests/2'}]}",
            k < 2 ? ""
                  : "{'listener':'other','path':'^/token','body':"
                    "'{\\'token\\':\\'tok\\'}'},"
                    "{'path':'^/token','redirect':"
                    "'http://127.0.0.1:{other_port}/token'},",
            k == 0 ? "Basic realm=\\'r\\'"
                   : "Bearer realm=\\'http://127.0.0.1:{port}/token\\'");
        client_open(&c, &o);
        for (i = 1; i <= 2; i++) {
            ref = ref_at("127.0.0.1:%d/x:%zu", port, i);
            CHECK_OK(
                strata_registry_digest(c.reg, ref, NULL, on_digest, &r, &err),
                &err);
            client_wait(&c, &r, 20);
            CHECK_OK(r.err.code, &r.err);
            CHECK_STR_EQ(r.digest, DIGEST_A);
            op_release(&r);
            strata_ref_free(ref);
        }
        client_close(&c);
        reqs = requests();
        json_array_foreach (reqs, i, q) {
            const char *a = req_header(q, "authorization");
            const char *l = json_string_value(json_object_get(q, "listener"));
            const char *h = req_header(q, "host");

            printf("# %s %s on %s (%s): %s\n",
                   json_string_value(json_object_get(q, "method")),
                   json_string_value(json_object_get(q, "path")), l, h,
                   a ? a : "-");
            if (strcmp(l, "other") == 0 || strncmp(h, "localhost", 9) == 0) {
                CHECK(a == NULL);
                other++;
            }
        }
        json_decref(reqs);
    }
    CHECK_EQ(other, 7);
}

/* 429 with Retry-After: waited for, but never longer than the cap. */
TEST(retry_after_is_honoured_with_a_bound)
{
    strata_registry_opts o = {.max_retry_wait_ms = 1500, .max_retries = 2};
    op_result r = {0};
    strata_error err = {0};
    strata_ref *ref = ref_at("127.0.0.1:%d/x:1", port);
    json_t *reqs;
    double t0, t1, t2;
    client c;

    client_open(&c, &o);
    script("{'rules':[{'path':'/v2/x/manifests/1$','count':1,'status':429,"
           "'headers':{'Retry-After':'1'},'body':'{}'},"
           "{'path':'/v2/x/manifests/1$','headers':"
           "{'Docker-Content-Digest':'" DIGEST_A "'}}]}");
    CHECK_OK(strata_registry_digest(c.reg, ref, NULL, on_digest, &r, &err),
             &err);
    client_wait(&c, &r, 20);
    CHECK_OK(r.err.code, &r.err);
    reqs = requests();
    CHECK_EQ(json_array_size(reqs), 2);
    t0 = json_real_value(json_object_get(json_array_get(reqs, 0), "time"));
    t1 = json_real_value(json_object_get(json_array_get(reqs, 1), "time"));
    printf("# Retry-After 1: waited %.3f s\n", t1 - t0);
    CHECK(t1 - t0 >= 0.95 && t1 - t0 < 1.45);
    json_decref(reqs);
    op_release(&r);

    /* A day's Retry-After is capped; the retries still run out. */
    script("{'rules':[{'path':'/v2/x/manifests/1$','status':429,"
           "'headers':{'Retry-After':'86400'},'body':'{}'}]}");
    CHECK_OK(strata_registry_digest(c.reg, ref, NULL, on_digest, &r, &err),
             &err);
    client_wait(&c, &r, 20);
    CHECK_EQ(r.err.code, STRATA_ERATELIMIT);
    reqs = requests();
    CHECK_EQ(json_array_size(reqs), 3);
    t0 = json_real_value(json_object_get(json_array_get(reqs, 0), "time"));
    t1 = json_real_value(json_object_get(json_array_get(reqs, 1), "time"));
    t2 = json_real_value(json_object_get(json_array_get(reqs, 2), "time"));
    printf("# Retry-After 86400: waited %.3f s, %.3f s\n", t1 - t0, t2 - t1);
    CHECK(t1 - t0 >= 1.45 && t1 - t0 < 2.2);
    CHECK(t2 - t1 >= 1.45 && t2 - t1 < 2.2);
    json_decref(reqs);
    op_release(&r);
    client_close(&c);
    strata_ref_free(ref);
}

/* A stalled or dripping registry ends at the request timeout. */
TEST(stall_and_drip_end_at_the_timeout)
{
    strata_registry_opts o = {.timeout_ms = 1000, .max_retries = -1};
    static const char *const shapes[] = {
        "'stall':5",
        "'body':'{}','drip_ms':300,'drip_headers':true",
        "'body_size':100,'drip_ms':200",
    };
    op_result r = {0};
    strata_error err = {0};
    strata_ref *ref = ref_at("127.0.0.1:%d/x:1", port);
    double start;
    size_t i;
    client c;

    client_open(&c, &o);
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        script("{'rules':[{'path':'/v2/x/manifests/1$',%s}]}", shapes[i]);
        start = now_s();
        CHECK_OK(
            strata_registry_get_manifest(c.reg, ref, on_manifest, &r, &err),
            &err);
        client_wait(&c, &r, 20);
        printf("# %s: %s after %.2f s\n", shapes[i], r.err.msg,
               now_s() - start);
        CHECK_EQ(r.err.code, STRATA_ETIMEOUT);
        CHECK(now_s() - start < 3);
        op_release(&r);
    }
    client_close(&c);
    strata_ref_free(ref);
}

/* A small OCI image manifest whose config is config_digest (new). */
static char *
manifest_body(const char *config_digest)
{
    return strata_xasprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":"
        "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
        "\"digest\":\"%s\",\"size\":2},\"layers\":[]}",
        STRATA_MT_OCI_MANIFEST, config_digest);
}

/* body as a JSON string for a script, with ' for its quotes (new). */
static char *
script_string(const char *body)
{
    json_t *j = json_string(body);
    char *s = json_dumps(j, JSON_ENCODE_ANY), *p;

    json_decref(j);
    for (p = s; *p != '\0'; p++)
        CHECK(*p != '\'');
    return s;
}

static char *
sha256_of(const char *body)
{
    char hex[65];

    strata_sha256_hex(hex, body, strlen(body));
    return strata_xasprintf("sha256:%s", hex);
}

/*
 * A watched tag polled by `strata watch --once`: faults in between (5xx,
 * 404, a HEAD or a GET that lies about the digest, a malformed digest
 * with an empty body, a truncated body) are reported and never printed
 * as changes.
 */
TEST(transient_faults_are_not_changes)
{
    char *a = manifest_body(DIGEST_A), *b = manifest_body(DIGEST_B);
    char *sa = script_string(a), *sb = script_string(b);
    char *da = sha256_of(a), *db_ = sha256_of(b);
    char ref[128], db[300], *faults[6];
    const char *cfg;
    run_result res;
    json_t *reqs;
    size_t i;

#define PATH "'path':'/v2/x/manifests/w$'"
#define MT "'Content-Type':'" STRATA_MT_OCI_MANIFEST "'"
    faults[0] = strata_xasprintf("{" PATH ",'status':500,'body':'{}'}");
    faults[1] = strata_xasprintf("{" PATH ",'status':404,'body':'{}'}");
    /* HEAD names b; the body is still a. */
    faults[2] = strata_xasprintf(
        "{'method':'HEAD'," PATH ",'headers':{'Docker-Content-Digest':'%s'}},"
        "{'method':'GET'," PATH ",'digest':true,'headers':{" MT "},'body':%s}",
        db_, sa);
    /* No digest on HEAD; the GET's header names a, its body is b. */
    faults[3] = strata_xasprintf("{'method':'HEAD'," PATH "},"
                                 "{'method':'GET'," PATH ",'headers':{" MT
                                 ",'Docker-Content-Digest':'%s'},'body':%s}",
                                 da, sb);
    faults[4] = strata_xasprintf("{" PATH ",'body':'','headers':"
                                 "{'Docker-Content-Digest':'sha256:zz'}}");
    /* No digest on HEAD; the GET's body is cut short. */
    faults[5] = strata_xasprintf("{'method':'HEAD'," PATH "},"
                                 "{'method':'GET'," PATH ",'headers':{" MT
                                 "},'body':%s,"
                                 "'content_length':4000}",
                                 sb);

    snprintf(ref, sizeof(ref), "127.0.0.1:%d/x:w", port);
    cfg = watch_config(ref);
    snprintf(db, sizeof(db), "%s/strata.db", tmpdir);
    unlink(db); /* a first sighting */
    script("{'rules':[{" PATH ",'digest':true,'headers':{" MT "},'body':%s}]}",
           sa);
    run_strata(&res, 20, "-c", cfg, "--log-level", "error", "watch", "--once",
               NULL);
    CHECK_EQ(res.status, 0);
    CHECK_CONTAINS(res.out, da);
    run_release(&res);
    for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        script("{'rules':[%s]}", faults[i]);
        run_strata(&res, 20, "-c", cfg, "--log-level", "error", "watch",
                   "--once", NULL);
        reqs = requests();
        printf("# fault %zu: %zu requests\n", i, json_array_size(reqs));
        CHECK(json_array_size(reqs) <= 10);
        json_decref(reqs);
        CHECK(!res.timed_out);
        CHECK_EQ(res.status, 1);
        CHECK_STR_EQ(res.out, "");
        run_release(&res);
        free(faults[i]);
    }
    script("{'rules':[{" PATH ",'digest':true,'headers':{" MT "},'body':%s}]}",
           sb);
    run_strata(&res, 20, "-c", cfg, "--log-level", "error", "watch", "--once",
               NULL);
    CHECK_EQ(res.status, 0);
    CHECK_CONTAINS(res.out, da);
    CHECK_CONTAINS(res.out, db_);
    CHECK(strstr(res.out, da) < strstr(res.out, db_)); /* old, then new */
    run_release(&res);
#undef PATH
#undef MT
    free(a);
    free(b);
    free(sa);
    free(sb);
    free(da);
    free(db_);
}

static void
cleanup(void)
{
    char cmd[400];

    if (hostile_pid > 0)
        kill(hostile_pid, SIGKILL);
    if (have_registry)
        harness_registry_stop(&registry);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", tmpdir);
}

/* `test-hostile NAME` runs only that test. */
#define RUN_ONE(name)                                                          \
    do {                                                                       \
        if (only == NULL || strcmp(only, #name) == 0)                          \
            RUN(name);                                                         \
    } while (0)

int
main(int argc, char **argv_)
{
    const char *only = argc > 1 ? argv_[1] : NULL;
    char *const argv[] = {"/usr/bin/python3", STRATA_TEST_HOSTILE, NULL};
    json_t *info;

    if (access("/usr/bin/python3", X_OK) != 0)
        SKIP_ALL("no /usr/bin/python3 for tests/servers/hostile.py");
    if (getenv("STRATA_EXE") == NULL)
        SKIP_ALL("STRATA_EXE not set");
    strata_log_setup(STRATA_LOG_ERROR, STRATA_LOG_TEXT);
    signal(SIGPIPE, SIG_IGN);
    CHECK(mkdtemp(tmpdir) != NULL);
    port = harness_server_start(&hostile_pid, argv);
    atexit(cleanup);
    info = harness_server_admin(port, "info", NULL);
    other_port = (int) json_integer_value(json_object_get(info, "other_port"));
    CHECK(other_port > 0);
    json_decref(info);
    have_registry = harness_registry_missing(0) == NULL &&
                    harness_registry_start(&registry, NULL, NULL) == 0;

    /* What strata costs on an honest answer, for the bounds below. */
    {
        run_result res;
        char ref[128];

        script("{'rules':[{'method':'HEAD','path':'/v2/x/manifests/1$',"
               "'headers':{'Docker-Content-Digest':'" DIGEST_A "'}}]}");
        snprintf(ref, sizeof(ref), "127.0.0.1:%d/x:1", port);
        run_strata(&res, 20, "digest", ref, NULL);
        CHECK_EQ(res.status, 0);
        baseline_kb = res.maxrss_kb;
        run_release(&res);
    }

    /* The CLI runs first, while this process is still small. */
    RUN_ONE(digest_without_any_digest_ends);
    RUN_ONE(manifest_answer_over_its_limit);
    RUN_ONE(rebase_reads_no_more_than_the_descriptor);
    RUN_ONE(transient_faults_are_not_changes);
    RUN_ONE(retries_are_bounded_and_back_off);
    RUN_ONE(token_with_an_absurd_lifetime);
    RUN_ONE(token_loops_end);
    RUN_ONE(answers_over_their_limits);
    RUN_ONE(copy_blob_streams_into_a_registry);
    RUN_ONE(copy_blob_refuses_what_the_descriptor_does_not_say);
    RUN_ONE(credentials_stay_on_their_host);
    RUN_ONE(retry_after_is_honoured_with_a_bound);
    RUN_ONE(stall_and_drip_end_at_the_timeout);
    return harness_done();
}
