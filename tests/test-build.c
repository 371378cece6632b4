/*
 * test-build.c - integration tests for the rebuild backends
 * (rebuild/). The HTTP backends run against loopback servers this
 * binary starts (and kills at exit, also when a check fails):
 * tests/servers/ci.py plays GitHub Actions, GitLab and a build webhook,
 * tests/servers/k8s.py the Kubernetes API server (plain, and over TLS for
 * the in-cluster and certificate-authority-data paths). Each server
 * checks request shapes and auth and records violations; each group ends
 * by checking there were none. buildah builds for real into a local
 * docker-registry when both are installed (else those tests are skipped
 * with the reason). Every loop ends with uv_loop_close() == 0.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "core.h"
#include "harness-registry.h"
#include "harness-server.h"
#include "harness.h"
#include "rebuild.h"

#define GLPAT "glpat-s3cret-api-token"
#define TOKEN GLPAT /* GitHub, the hook and GitLab's API take it */
#define TRIGGER "glptt-trigger-token-42"
#define SECRET "hook-signing-secret"
#define K8S_TOKEN "k8s-bearer-token-xyz"
#define DIGEST_K8S                                                             \
    "sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"

/* Process state on purpose: the atexit() handler must find the servers. */
static pid_t pids[5];
static size_t npids;
static char tmpdir[256];

static void
stop_servers(void)
{
    char cmd[300];

    while (npids > 0) {
        pid_t p = pids[--npids];

        kill(p, SIGTERM);
        waitpid(p, NULL, 0);
    }
    if (tmpdir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            printf("# cannot remove %s\n", tmpdir);
        tmpdir[0] = '\0';
    }
}

/* Starts argv (a server that prints its port) and returns the port. */
static int
start_server(char *const *argv)
{
    return harness_server_start(&pids[npids++], argv);
}

static int ci_port, k8s_port, k8s_tls_port;

static void
next(int port, const char *scenario)
{
    json_decref(harness_server_admin(port, "next", scenario));
}

static void
no_violations(int port)
{
    json_t *st = harness_server_admin(port, "state", NULL);
    json_t *v = json_object_get(st, "violations");

    if (json_array_size(v) > 0) {
        char *s = json_dumps(v, 0);
        printf("# violations: %s\n", s);
        free(s);
    }
    CHECK_EQ(json_array_size(v), 0);
    json_decref(st);
}

/* ---- running one build ----------------------------------------------- */

typedef struct outcome {
    int called;
    int code;
    char msg[512];
    char *digest, *log, *url;
    int64_t run_id;
    int accepted;
} outcome;

static void
on_done(const strata_rebuild_result *res, const strata_error *err, void *arg)
{
    outcome *o = arg;

    o->called++;
    o->code = err ? err->code : 0;
    snprintf(o->msg, sizeof(o->msg), "%s", err ? err->msg : "");
    o->digest = res->digest ? strata_xstrdup(res->digest) : NULL;
    o->log = strata_xstrdup(res->log);
    o->url = res->url ? strata_xstrdup(res->url) : NULL;
    o->run_id = res->run_id;
    o->accepted = res->accepted;
}

static void
outcome_release(outcome *o)
{
    free(o->digest);
    free(o->log);
    free(o->url);
}

/* Runs one build to its end; returns start's code (cb ran iff 0). */
static int
run(outcome *out, const char *backend, const strata_rebuild_opts *opts)
{
    uv_loop_t loop;
    strata_error err = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    CHECK_EQ(uv_loop_init(&loop), 0);
    rc = strata_rebuild_start(NULL, &loop, strata_rebuild_lookup(backend), opts,
                              on_done, out, &err);
    if (rc != 0)
        snprintf(out->msg, sizeof(out->msg), "%s", err.msg);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(out->called, rc == 0 ? 1 : 0);
    CHECK_EQ(uv_loop_close(&loop), 0);
    if (out->code != 0 || rc != 0)
        printf("# %s: %s\n", backend, out->msg);
    return rc;
}

static const strata_rebuild_kv bargs[] = {{"VERSION", "1.2"}};
static const char *const plats[] = {"linux/amd64"};

/* The job's idempotency key: every backend hands it to the build. */
#define JOB_KEY                                                                \
    "registry.test/acme/app:1|sha256:"                                         \
    "1111111111111111111111111111111111111111111111111111111111111111|rebuild"

static strata_rebuild_opts
base_opts(void)
{
    strata_rebuild_opts o = {0};

    o.image = "registry.test/acme/app:1";
    o.dockerfile = "docker/Dockerfile";
    o.context = "docker";
    o.target = "runtime";
    o.build_args = bargs;
    o.nbuild_args = 1;
    o.platforms = plats;
    o.nplatforms = 1;
    o.base = "docker.io/library/debian:12-slim";
    o.base_digest =
        "sha256:"
        "1111111111111111111111111111111111111111111111111111111111111111";
    o.repo_url = "https://git.test/acme/app.git";
    o.branch = "main";
    o.id = "42";
    o.job_key = JOB_KEY;
    o.poll_ms = 20;
    o.timeout_ms = 5000;
    return o;
}

/* ---- the table and option checks -------------------------------------- */

TEST(lookup_and_checks)
{
    const char *names[] = {"buildah", "kubernetes", "github-actions", "gitlab",
                           "webhook"};
    strata_rebuild_opts o = base_opts();
    outcome out;
    size_t i;

    for (i = 0; i < 5; i++)
        CHECK_STR_EQ(
            strata_rebuild_backend_name(strata_rebuild_lookup(names[i])),
            names[i]);
    CHECK(strata_rebuild_lookup("exec") == NULL);
    CHECK(strata_rebuild_lookup(NULL) == NULL);
    /* Missing options: refused at start, the callback never runs. */
    CHECK_EQ(run(&out, "webhook", &o), STRATA_EINVAL);
    CHECK_EQ(run(&out, "github-actions", &o), STRATA_EINVAL);
    CHECK_EQ(run(&out, "gitlab", &o), STRATA_EINVAL);
    CHECK_EQ(run(&out, "kubernetes", &o), STRATA_EINVAL);
    o.builder_image = "moby/buildkit:rootless";
    o.dockerfile = "elsewhere/Dockerfile"; /* outside the context */
    CHECK_EQ(run(&out, "kubernetes", &o), STRATA_EINVAL);
    CHECK_CONTAINS(out.msg, "outside context");
    o = base_opts();
    o.repo_url = NULL;
    CHECK_EQ(run(&out, "buildah", &o), STRATA_EINVAL);
    o = base_opts();
    o.image = NULL;
    CHECK_EQ(run(&out, "webhook", &o), STRATA_EINVAL);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Issue 21, defect 9: a repository whose Dockerfile is a symbolic link (or
 * lies in a linked directory) made the buildah builder parse a file
 * outside the repository and hand buildah a -f path outside the context.
 * Now the Dockerfile is opened beneath the export with no link followed:
 * the build fails with a clear reason and buildah never runs.
 */
TEST(buildah_never_follows_a_symlinked_dockerfile)
{
    /* The Dockerfile itself links out of the repository; a directory on
     * the way links out. */
    static const char *layouts[] = {"outside/Dockerfile app/Dockerfile",
                                    "outside app"};
    char repo[300], cache[300], prog[400], marker[300];
    strata_rebuild_opts o = {0};
    outcome out;
    size_t i;
    int rc;

    rc = sh("mkdir -p '%s/outside' && printf 'ARG BASE=evil.example/x:1\\n"
            "FROM $BASE\\n' > '%s/outside/Dockerfile'",
            tmpdir, tmpdir);
    CHECK_EQ(rc, 0);
    snprintf(marker, sizeof(marker), "%s/buildah-ran", tmpdir);
    snprintf(prog, sizeof(prog), "sh -c 'touch %s' --", marker);
    for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        snprintf(repo, sizeof(repo), "%s/linked-%zu", tmpdir, i);
        snprintf(cache, sizeof(cache), "%s/linked-cache-%zu", tmpdir, i);
        rc = sh("mkdir -p '%s/app' && cd '%s' && git init -q -b main && "
                "set -- %s && rmdir app%s && ln -s '%s'/$1 $2 && "
                "git add -A && git -c user.name=t -c user.email=t@t "
                "commit -qm init",
                repo, repo, layouts[i], i == 0 ? " && mkdir app" : "", tmpdir);
        CHECK_EQ(rc, 0);
        o.image = "127.0.0.1:1/app:1";
        o.dockerfile = "app/Dockerfile";
        o.context = "app";
        o.base = "evil.example/x:1";
        o.base_digest = "sha256:"
                        "1111111111111111111111111111111111111111111111111111"
                        "111111111111";
        o.repo_url = repo;
        o.branch = "main";
        o.cache_dir = cache;
        o.program = prog;
        o.timeout_ms = 60000;
        CHECK_EQ(run(&out, "buildah", &o), 0);
        printf("# %s: %s\n", layouts[i], out.msg);
        CHECK(out.code != 0);
        CHECK_CONTAINS(out.msg, "symbolic link");
        CHECK_EQ(access(marker, F_OK), -1);
        outcome_release(&out);
    }
}

TEST(pin_args)
{
    const char *df = "ARG BASE=\"127.0.0.1:5000/base:1\"\n"
                     "ARG OTHER=alpine:3\n"
                     "FROM $BASE AS build\n"
                     "FROM ${OTHER}\n"
                     "COPY --from=build / /\n";
    const char *d =
        "sha256:"
        "2222222222222222222222222222222222222222222222222222222222222222";
    char **v = NULL;
    size_t n = 0, i;
    strata_error err = {0};

    CHECK_OK(strata_rebuild_pin_args(&v, &n, df, strlen(df),
                                     "127.0.0.1:5000/base:1", d, &err),
             &err);
    CHECK_EQ(n, 2);
    CHECK_STR_EQ(v[0], "BASE_DIGEST=sha256:22222222222222222222222222222222"
                       "22222222222222222222222222222222");
    CHECK_STR_EQ(v[1], "BASE=127.0.0.1:5000/base:1@sha256:2222222222222222"
                       "222222222222222222222222222222222222222222222222");
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
    CHECK_EQ(
        strata_rebuild_pin_args(&v, &n, df, strlen(df), "x", "sha256:zz", &err),
        STRATA_EINVAL);
}

/* ---- webhook --------------------------------------------------------------
 */

static strata_rebuild_opts
hook_opts(char *url, size_t len)
{
    strata_rebuild_opts o = base_opts();

    snprintf(url, len, "http://127.0.0.1:%d/hook", ci_port);
    o.url = url;
    o.secret = SECRET;
    o.token = TOKEN;
    return o;
}

TEST(webhook_followed)
{
    char url[128];
    strata_rebuild_opts o = hook_opts(url, sizeof(url));
    json_t *st, *req;
    outcome out;

    next(ci_port, "{\"polls\": 2}");
    CHECK_EQ(run(&out, "webhook", &o), 0);
    CHECK_EQ(out.code, 0);
    CHECK_EQ(out.accepted, 0);
    CHECK_STR_EQ(out.digest, "sha256:"
                             "abababababababababababababababab"
                             "abababababababababababababababab");
    CHECK_CONTAINS(out.log, "built and pushed");
    CHECK_CONTAINS(out.url, "https://ci.test/builds/");
    outcome_release(&out);
    st = harness_server_admin(ci_port, "state", NULL);
    req = json_object_get(
        json_array_get(json_object_get(st, "requests"),
                       json_array_size(json_object_get(st, "requests")) - 1),
        "hook");
    CHECK_STR_EQ(json_string_value(json_object_get(req, "image")), o.image);
    CHECK_STR_EQ(json_string_value(json_object_get(
                     json_object_get(req, "build_args"), "BASE_DIGEST")),
                 o.base_digest);
    CHECK_STR_EQ(json_string_value(json_object_get(
                     json_object_get(req, "build_args"), "STRATA_JOB_KEY")),
                 JOB_KEY);
    CHECK_STR_EQ(json_string_value(json_object_get(req, "job_key")), JOB_KEY);
    CHECK_STR_EQ(json_string_value(json_object_get(req, "target")), "runtime");
    json_decref(st);
    no_violations(ci_port);
}

TEST(webhook_accepted_failed_refused_timeout)
{
    char url[128];
    strata_rebuild_opts o = hook_opts(url, sizeof(url));
    outcome out;

    /* No status URL: accepted, outcome unknown. */
    next(ci_port, "{\"status_url\": false}");
    CHECK_EQ(run(&out, "webhook", &o), 0);
    CHECK_EQ(out.code, 0);
    CHECK_EQ(out.accepted, 1);
    CHECK(out.digest == NULL);
    outcome_release(&out);
    /* The status says failed. */
    next(ci_port, "{\"outcome\": \"failure\", \"polls\": 1}");
    CHECK_EQ(run(&out, "webhook", &o), 0);
    CHECK_EQ(out.code, STRATA_EIO);
    CHECK_CONTAINS(out.log, "step 3 failed");
    outcome_release(&out);
    /* The hook answers 500. */
    next(ci_port, "{\"hook_status\": 500}");
    CHECK_EQ(run(&out, "webhook", &o), 0);
    CHECK_EQ(out.code, STRATA_EHTTP);
    CHECK_CONTAINS(out.msg, "HTTP 500");
    outcome_release(&out);
    /* A wrong token: 401. */
    o.token = "wrong";
    CHECK_EQ(run(&out, "webhook", &o), 0);
    CHECK_EQ(out.code, STRATA_EAUTH);
    CHECK(strstr(out.msg, "wrong") == NULL);
    outcome_release(&out);
    /* Never finishes: the deadline. */
    o.token = TOKEN;
    o.timeout_ms = 300;
    next(ci_port, "{\"outcome\": \"never\"}");
    CHECK_EQ(run(&out, "webhook", &o), 0);
    CHECK_EQ(out.code, STRATA_ETIMEOUT);
    outcome_release(&out);
    no_violations(ci_port);
}

/* ---- GitHub Actions ---------------------------------------------------------
 */

static strata_rebuild_opts
gh_opts(char *api, size_t len)
{
    strata_rebuild_opts o = base_opts();

    snprintf(api, len, "http://127.0.0.1:%d/", ci_port);
    o.api_url = api;
    o.token = TOKEN;
    o.repo = "acme/app";
    o.workflow = "rebuild.yml";
    return o;
}

TEST(github_actions)
{
    char api[128];
    strata_rebuild_opts o = gh_opts(api, sizeof(api));
    json_t *st, *reqs, *in;
    outcome out;

    next(ci_port, "{\"polls\": 2}");
    CHECK_EQ(run(&out, "github-actions", &o), 0);
    CHECK_EQ(out.code, 0);
    CHECK(out.run_id > 0);
    CHECK_CONTAINS(out.url, "/acme/app/actions/runs/");
    CHECK_CONTAINS(out.log, "job 'build': success");
    CHECK(out.digest == NULL);
    outcome_release(&out);
    st = harness_server_admin(ci_port, "state", NULL);
    reqs = json_object_get(st, "requests");
    in = json_object_get(
        json_object_get(json_array_get(reqs, json_array_size(reqs) - 1),
                        "github"),
        "inputs");
    CHECK_STR_EQ(json_string_value(json_object_get(in, "image")), o.image);
    CHECK_STR_EQ(
        json_string_value(json_object_get(in, "build_args")),
        "VERSION=1.2\nBASE_DIGEST=sha256:111111111111111111111111111"
        "1111111111111111111111111111111111111\nSTRATA_JOB_KEY=" JOB_KEY);
    CHECK_STR_EQ(json_string_value(json_object_get(in, "platforms")),
                 "linux/amd64");
    CHECK(strncmp(json_string_value(json_object_get(in, "strata_id")),
                  "strata-42-", 10) == 0);
    json_decref(st);

    /* No run-name and a late run: picked by creation time, not the decoy
     * (which fails). */
    next(ci_port, "{\"title\": false, \"late\": 2, \"polls\": 1}");
    CHECK_EQ(run(&out, "github-actions", &o), 0);
    CHECK_EQ(out.code, 0);
    outcome_release(&out);

    /* A failed run: its failing step is in the log. */
    next(ci_port, "{\"outcome\": \"failure\", \"polls\": 1}");
    CHECK_EQ(run(&out, "github-actions", &o), 0);
    CHECK_EQ(out.code, STRATA_EIO);
    CHECK_CONTAINS(out.msg, "concluded 'failure'");
    CHECK_CONTAINS(out.log, "step 'Build and push': failure");
    outcome_release(&out);
    no_violations(ci_port);
}

TEST(github_actions_errors_and_timeout)
{
    char api[128];
    strata_rebuild_opts o = gh_opts(api, sizeof(api));
    json_t *st;
    outcome out;
    int64_t id;
    size_t i;
    int found = 0;

    o.timeout_ms = 400;
    next(ci_port, "{\"outcome\": \"never\"}");
    CHECK_EQ(run(&out, "github-actions", &o), 0);
    CHECK_EQ(out.code, STRATA_ETIMEOUT);
    id = out.run_id;
    CHECK(id > 0);
    outcome_release(&out);
    st = harness_server_admin(ci_port, "state", NULL);
    for (i = 0; i < json_array_size(json_object_get(st, "cancelled")); i++)
        if (json_integer_value(
                json_array_get(json_object_get(st, "cancelled"), i)) == id)
            found = 1;
    CHECK(found); /* the run was cancelled */
    json_decref(st);

    o.timeout_ms = 5000;
    o.token = "bad-token";
    CHECK_EQ(run(&out, "github-actions", &o), 0);
    CHECK_EQ(out.code, STRATA_EAUTH);
    CHECK_CONTAINS(out.msg, "Bad credentials");
    CHECK(strstr(out.msg, "bad-token") == NULL);
    outcome_release(&out);
    o.token = TOKEN;
    o.workflow = "nope.yml";
    CHECK_EQ(run(&out, "github-actions", &o), 0);
    CHECK_EQ(out.code, STRATA_ENOTFOUND);
    outcome_release(&out);
    no_violations(ci_port);
}

/* ---- GitLab -----------------------------------------------------------------
 */

static strata_rebuild_opts
gl_opts(char *api, size_t len, const char *token)
{
    strata_rebuild_opts o = base_opts();

    snprintf(api, len, "http://127.0.0.1:%d/api/v4", ci_port);
    o.api_url = api;
    o.token = token;
    o.api_token = GLPAT;
    o.project = "acme/app";
    return o;
}

TEST(gitlab)
{
    char api[128];
    strata_rebuild_opts o = gl_opts(api, sizeof(api), TRIGGER);
    json_t *st, *reqs, *form;
    outcome out;

    /* A trigger token; the status read with the access token. */
    next(ci_port, "{\"polls\": 2}");
    CHECK_EQ(run(&out, "gitlab", &o), 0);
    CHECK_EQ(out.code, 0);
    CHECK(out.run_id > 0);
    CHECK_CONTAINS(out.url, "/acme/app/-/pipelines/");
    CHECK_CONTAINS(out.log, "job 'build' (build): success");
    outcome_release(&out);
    st = harness_server_admin(ci_port, "state", NULL);
    reqs = json_object_get(st, "requests");
    form = json_object_get(json_array_get(reqs, json_array_size(reqs) - 1),
                           "gitlab_trigger");
    CHECK_STR_EQ(json_string_value(json_object_get(form, "ref")), "main");
    CHECK_STR_EQ(
        json_string_value(json_object_get(form, "variables[STRATA_IMAGE]")),
        o.image);
    CHECK_STR_EQ(json_string_value(
                     json_object_get(form, "variables[STRATA_BASE_DIGEST]")),
                 o.base_digest);
    CHECK_STR_EQ(
        json_string_value(json_object_get(form, "variables[STRATA_JOB_KEY]")),
        JOB_KEY);
    json_decref(st);

    /* An access token: the pipeline API. A failed pipeline. */
    o.token = GLPAT;
    o.api_token = NULL;
    next(ci_port, "{\"outcome\": \"failure\", \"polls\": 1}");
    CHECK_EQ(run(&out, "gitlab", &o), 0);
    CHECK_EQ(out.code, STRATA_EIO);
    CHECK_CONTAINS(out.log, "job 'build' (build): failed");
    outcome_release(&out);

    /* Never finishes: cancelled on the deadline. */
    o.timeout_ms = 400;
    next(ci_port, "{\"outcome\": \"never\"}");
    CHECK_EQ(run(&out, "gitlab", &o), 0);
    CHECK_EQ(out.code, STRATA_ETIMEOUT);
    CHECK_CONTAINS(out.log, "cancel pipeline");
    outcome_release(&out);

    /* A wrong trigger token: GitLab says 404. */
    o = gl_opts(api, sizeof(api), "glptt-wrong");
    CHECK_EQ(run(&out, "gitlab", &o), 0);
    CHECK_EQ(out.code, STRATA_ENOTFOUND);
    outcome_release(&out);
    no_violations(ci_port);
}

/* How the server saw pipeline id read: "token,token,..." New. */
static char *
gl_reads(int64_t id)
{
    json_t *st = harness_server_admin(ci_port, "state", NULL), *v;
    strata_buf b = STRATA_BUF_INIT;
    char key[32];
    size_t i;

    snprintf(key, sizeof(key), "%lld", (long long) id);
    json_array_foreach (
        json_object_get(json_object_get(st, "gitlab_reads"), key), i, v)
        strata_buf_printf(&b, "%s%s", i ? "," : "", json_string_value(v));
    json_decref(st);
    return b.ptr ? strata_buf_detach(&b) : strata_xstrdup("");
}

static int
cancelled(int64_t id)
{
    json_t *st = harness_server_admin(ci_port, "state", NULL), *v;
    size_t i;
    int found = 0;

    json_array_foreach (json_object_get(st, "cancelled"), i, v)
        found |= json_integer_value(v) == id;
    json_decref(st);
    return found;
}

TEST(gitlab_trigger_token_and_api_token)
{
    char api[128], *reads;
    strata_rebuild_opts o = gl_opts(api, sizeof(api), TRIGGER);
    outcome out;

    /* Trigger token + api_token: every read carries the access token. */
    next(ci_port, "{\"polls\": 2}");
    CHECK_EQ(run(&out, "gitlab", &o), 0);
    CHECK_EQ(out.code, 0);
    CHECK_CONTAINS(out.log, "pipeline");
    CHECK_CONTAINS(out.log, ": success");
    reads = gl_reads(out.run_id);
    CHECK_STR_EQ(reads, "token,token,token,token"); /* 3 polls + jobs */
    free(reads);
    outcome_release(&out);

    /* ... followed to a failure. */
    next(ci_port, "{\"outcome\": \"failure\", \"polls\": 1}");
    CHECK_EQ(run(&out, "gitlab", &o), 0);
    CHECK_EQ(out.code, STRATA_EIO);
    CHECK_CONTAINS(out.msg, "did not succeed");
    CHECK_CONTAINS(out.log, "job 'build' (build): failed");
    reads = gl_reads(out.run_id);
    CHECK_STR_EQ(reads, "token,token,token");
    free(reads);
    outcome_release(&out);

    /* ... and cancelled with it on the deadline. */
    o.timeout_ms = 300;
    next(ci_port, "{\"outcome\": \"never\"}");
    CHECK_EQ(run(&out, "gitlab", &o), 0);
    CHECK_EQ(out.code, STRATA_ETIMEOUT);
    CHECK(cancelled(out.run_id));
    outcome_release(&out);
    o.timeout_ms = 5000;

    /* A wrong api_token: GitLab's 401 is named, the token is not. */
    o.api_token = "glpat-wrong-read-token";
    CHECK_EQ(run(&out, "gitlab", &o), 0);
    CHECK_EQ(out.code, STRATA_EAUTH);
    CHECK(out.run_id > 0); /* the pipeline was started */
    CHECK_CONTAINS(out.msg, "started, but get pipeline: HTTP 401: 401 "
                            "Unauthorized ('api_token' was refused)");
    CHECK(strstr(out.msg, "glpat-wrong-read-token") == NULL);
    CHECK(strstr(out.log, "glpat-wrong-read-token") == NULL);
    CHECK(strstr(out.msg, TRIGGER) == NULL);
    CHECK(strstr(out.log, TRIGGER) == NULL);
    outcome_release(&out);

    /* An empty one is refused at start (it would read anonymously). */
    o.api_token = "";
    CHECK_EQ(run(&out, "gitlab", &o), STRATA_EINVAL);
    CHECK_CONTAINS(out.msg, "'api_token' is empty");

    /* The trigger token alone, public project: followed anonymously. */
    o.api_token = NULL;
    o.project = "acme/site";
    next(ci_port, "{\"polls\": 1}");
    CHECK_EQ(run(&out, "gitlab", &o), 0);
    CHECK_EQ(out.code, 0);
    reads = gl_reads(out.run_id);
    CHECK_STR_EQ(reads, "anonymous,anonymous,anonymous");
    free(reads);
    outcome_release(&out);

    /* ... private project: GitLab hides it (404); the message says what
     * to set. The trigger token is never sent as PRIVATE-TOKEN. */
    o.project = "acme/app";
    CHECK_EQ(run(&out, "gitlab", &o), 0);
    CHECK_EQ(out.code, STRATA_ENOTFOUND);
    CHECK_CONTAINS(out.msg, "HTTP 404: 404 Project Not Found");
    CHECK_CONTAINS(out.msg, "set 'api_token'");
    CHECK(strstr(out.msg, TRIGGER) == NULL);
    reads = gl_reads(out.run_id);
    CHECK_STR_EQ(reads, "");
    free(reads);
    outcome_release(&out);
    no_violations(ci_port);
}

/* ---- Kubernetes -------------------------------------------------------------
 */

static char kubeconfig[300];

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static strata_rebuild_opts
k8s_opts(void)
{
    strata_rebuild_opts o = base_opts();

    o.builder_image = "moby/buildkit:v0.13.2-rootless";
    o.kubeconfig = kubeconfig;
    o.poll_ms = 20;
    return o;
}

/* The one Job the server recorded. Borrowed from st. */
static json_t *
only_job(json_t *st)
{
    const char *k;
    json_t *v, *job = NULL;

    json_object_foreach (json_object_get(st, "jobs"), k, v) {
        job = v;
    }
    return job;
}

TEST(kubernetes_buildkit)
{
    strata_rebuild_opts o = k8s_opts();
    json_t *st, *job, *args, *c;
    char *argstr;
    outcome out;

    next(k8s_port, "{\"polls\": 2}");
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, 0);
    CHECK_STR_EQ(out.digest, DIGEST_K8S);
    CHECK_CONTAINS(out.log, "pushing done");
    CHECK_CONTAINS(out.url, "/apis/batch/v1/namespaces/builds/jobs/"
                            "strata-build-42-");
    outcome_release(&out);
    st = harness_server_admin(k8s_port, "state", NULL);
    CHECK_EQ(json_object_size(json_object_get(st, "jobs")), 1);
    job = only_job(st);
    CHECK(json_is_true(json_object_get(job, "deleted")));
    CHECK_STR_EQ(json_string_value(json_object_get(job, "propagation")),
                 "Background");
    c = json_array_get(
        json_object_get(
            json_object_get(
                json_object_get(
                    json_object_get(json_object_get(job, "body"), "spec"),
                    "template"),
                "spec"),
            "containers"),
        0);
    args = json_object_get(c, "args");
    argstr = json_dumps(args, JSON_COMPACT);
    CHECK_CONTAINS(argstr, "\"context=https://git.test/acme/app.git#main:"
                           "docker\"");
    CHECK_CONTAINS(argstr, "\"filename=Dockerfile\"");
    CHECK_CONTAINS(argstr, "\"target=runtime\"");
    CHECK_CONTAINS(argstr, "\"build-arg:VERSION=1.2\"");
    CHECK_CONTAINS(argstr, "\"build-arg:BASE_DIGEST=sha256:1111");
    CHECK_CONTAINS(argstr, "\"build-arg:STRATA_JOB_KEY=" JOB_KEY "\"");
    CHECK_CONTAINS(argstr, "\"platform=linux/amd64\"");
    CHECK_CONTAINS(argstr,
                   "\"type=image,name=registry.test/acme/app:1,push=true\"");
    free(argstr);
    json_decref(st);
    no_violations(k8s_port);
}

/*
 * deploy/kubernetes/rbac.yaml's Role is enough for a build, a failed
 * build included, and each verb it grants is used: with any one left
 * out, k8s.py (authorizing as the API server's RBAC does) refuses a
 * request the build makes.
 */
TEST(kubernetes_role_is_least)
{
    /* A server of its own: refused deletes leave Jobs behind. */
    char *argv[] = {"/usr/bin/python3", STRATA_TEST_K8S, "--token", K8S_TOKEN,
                    "--namespace",      "builds",        NULL};
    int port = start_server(argv);
    strata_rebuild_opts o = k8s_opts();
    json_t *r, *st, *grants;
    char body[600], api[64];
    size_t i, n;
    outcome out;

    snprintf(api, sizeof(api), "http://127.0.0.1:%d", port);
    o.kubeconfig = NULL;
    o.api_url = api;
    o.token = K8S_TOKEN;
    o.k8s_namespace = "builds";
    snprintf(body, sizeof(body), "{\"file\": \"%s\"}", STRATA_TEST_K8S_ROLE);
    r = harness_server_admin(port, "role", body);
    grants = json_object_get(r, "grants");
    n = json_array_size(grants);
    CHECK_EQ(n, 5);
    next(port, "{\"polls\": 1}");
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, 0);
    CHECK_STR_EQ(out.digest, DIGEST_K8S);
    outcome_release(&out);
    next(port, "{\"outcome\": \"failure\", \"polls\": 1}");
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK(out.code != 0);
    CHECK_CONTAINS(out.log, "ERROR: process did not complete");
    outcome_release(&out);
    st = harness_server_admin(port, "state", NULL);
    CHECK_EQ(json_array_size(json_object_get(st, "forbidden")), 0);
    json_decref(st);
    for (i = 0; i < n; i++) {
        char *g = json_dumps(json_array_get(grants, i), JSON_COMPACT);

        snprintf(body, sizeof(body), "{\"file\": \"%s\", \"drop\": %zu}",
                 STRATA_TEST_K8S_ROLE, i);
        json_decref(harness_server_admin(port, "role", body));
        next(port, "{\"polls\": 1}");
        CHECK_EQ(run(&out, "kubernetes", &o), 0);
        outcome_release(&out);
        st = harness_server_admin(port, "state", NULL);
        if (json_array_size(json_object_get(st, "forbidden")) == 0)
            printf("# without %s the build asked nothing forbidden\n", g);
        CHECK(json_array_size(json_object_get(st, "forbidden")) > 0);
        json_decref(st);
        free(g);
    }
    json_decref(r);
    no_violations(port);
}

static json_t *pod_of(json_t *st, const char *url);

TEST(kubernetes_kaniko_failure_timeout_errors)
{
    strata_rebuild_opts o = k8s_opts();
    char api[128];
    json_t *st, *v;
    const char *k;
    outcome out;
    int deleted = 0;

    /* Explicit server and token; kaniko; the Job fails. */
    snprintf(api, sizeof(api), "http://127.0.0.1:%d", k8s_port);
    o.kubeconfig = NULL;
    o.api_url = api;
    o.token = K8S_TOKEN;
    o.k8s_namespace = "builds";
    o.builder_image = "gcr.io/kaniko-project/executor:v1.23.0";
    next(k8s_port, "{\"outcome\": \"failure\", \"polls\": 1}");
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, STRATA_EIO);
    CHECK_CONTAINS(out.msg, "backoff limit");
    CHECK_CONTAINS(out.log, "ERROR: process did not complete");
    /* kaniko gets the job's key as a build argument too. */
    st = harness_server_admin(k8s_port, "state", NULL);
    {
        char *args = json_dumps(
            json_object_get(
                json_array_get(
                    json_object_get(pod_of(st, out.url), "containers"), 0),
                "args"),
            JSON_COMPACT);

        CHECK_CONTAINS(args, "\"--build-arg=STRATA_JOB_KEY=" JOB_KEY "\"");
        free(args);
    }
    json_decref(st);
    outcome_release(&out);
    /* Never finishes: deleted on the deadline. */
    o.timeout_ms = 300;
    next(k8s_port, "{\"outcome\": \"never\"}");
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, STRATA_ETIMEOUT);
    outcome_release(&out);
    st = harness_server_admin(k8s_port, "state", NULL);
    json_object_foreach (json_object_get(st, "jobs"), k, v)
        deleted += json_is_true(json_object_get(v, "deleted"));
    CHECK_EQ(deleted, (int) json_object_size(json_object_get(st, "jobs")));
    json_decref(st);
    /* Unknown namespace, bad token. */
    o.timeout_ms = 5000;
    o.k8s_namespace = "nope";
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, STRATA_ENOTFOUND);
    CHECK_CONTAINS(out.msg, "namespaces \"nope\" not found");
    outcome_release(&out);
    o.k8s_namespace = "builds";
    o.token = "wrong";
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, STRATA_EAUTH);
    outcome_release(&out);
    no_violations(k8s_port);
}

/* The pod spec of the Job that url names. Borrowed from st. */
static json_t *
pod_of(json_t *st, const char *url)
{
    const char *name = url ? strrchr(url, '/') : NULL;
    json_t *job, *spec;

    CHECK(name != NULL);
    job = json_object_get(json_object_get(st, "jobs"), name + 1);
    CHECK(job != NULL);
    spec = json_object_get(json_object_get(job, "body"), "spec");
    return json_object_get(json_object_get(spec, "template"), "spec");
}

/* The element of array whose member key is value, or NULL. Borrowed. */
static json_t *
find_by(json_t *array, const char *key, const char *value)
{
    json_t *v;
    size_t i;

    json_array_foreach (array, i, v) {
        const char *s = json_string_value(json_object_get(v, key));

        if (s != NULL && strcmp(s, value) == 0)
            return v;
    }
    return NULL;
}

static void
check_json_eq(json_t *got, const char *want_text)
{
    json_t *want = json_loads(want_text, 0, NULL);
    char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    CHECK(want != NULL);
    if (!json_equal(got, want))
        printf("# got %s\n# want %s\n", g ? g : "(nothing)", want_text);
    CHECK(json_equal(got, want));
    free(g);
    json_decref(want);
}

/*
 * Checks the push-secret wiring of a finished build's pod: with secret,
 * exactly the volume, read-only mount, DOCKER_CONFIG and imagePullSecrets
 * at dir; without, none of them.
 */
static void
check_push_secret(const outcome *out, const char *secret, const char *dir)
{
    json_t *st = harness_server_admin(k8s_port, "state", NULL);
    json_t *pod = pod_of(st, out->url), *c, *v;
    char want[512];
    size_t i;

    CHECK(pod != NULL);
    c = json_array_get(json_object_get(pod, "containers"), 0);
    if (secret == NULL) {
        json_array_foreach (json_object_get(pod, "volumes"), i, v)
            CHECK(json_object_get(v, "secret") == NULL);
        json_array_foreach (json_object_get(c, "volumeMounts"), i, v)
            CHECK(strstr(json_string_value(json_object_get(v, "mountPath")),
                         ".docker") == NULL);
        CHECK(find_by(json_object_get(c, "env"), "name", "DOCKER_CONFIG") ==
              NULL);
        CHECK(json_object_get(pod, "imagePullSecrets") == NULL);
        json_decref(st);
        return;
    }
    snprintf(want, sizeof(want),
             "{\"name\": \"docker-config\", \"secret\": {\"secretName\": "
             "\"%s\", \"items\": [{\"key\": \".dockerconfigjson\", \"path\": "
             "\"config.json\"}]}}",
             secret);
    check_json_eq(
        find_by(json_object_get(pod, "volumes"), "name", "docker-config"),
        want);
    snprintf(want, sizeof(want),
             "{\"name\": \"docker-config\", \"mountPath\": \"%s\", "
             "\"readOnly\": true}",
             dir);
    check_json_eq(
        find_by(json_object_get(c, "volumeMounts"), "name", "docker-config"),
        want);
    snprintf(want, sizeof(want),
             "{\"name\": \"DOCKER_CONFIG\", \"value\": \"%s\"}", dir);
    check_json_eq(find_by(json_object_get(c, "env"), "name", "DOCKER_CONFIG"),
                  want);
    snprintf(want, sizeof(want), "[{\"name\": \"%s\"}]", secret);
    check_json_eq(json_object_get(pod, "imagePullSecrets"), want);
    json_decref(st);
}

/* POSTs a raw Job to the fake API server; the HTTP status. */
static long
post_job(const char *body)
{
    char url[128];
    strata_http_header h[] = {{"Content-Type", "application/json"},
                              {"Authorization", "Bearer " K8S_TOKEN}};
    strata_http_request req = {0};
    strata_http_response *resp = NULL;
    strata_error err = {0};
    long status;

    snprintf(url, sizeof(url),
             "http://127.0.0.1:%d/apis/batch/v1/namespaces/builds/jobs",
             k8s_port);
    req.method = "POST";
    req.url = url;
    req.headers = h;
    req.nheaders = 2;
    req.body = body;
    req.body_len = strlen(body);
    CHECK_OK(strata_http_fetch(&resp, &req, &err), &err);
    status = resp->status;
    strata_http_response_free(resp);
    return status;
}

/* A Job the fake API server accepts, with pod spec slots to vary. */
#define SHAPE_JOB                                                              \
    "{\"apiVersion\": \"batch/v1\", \"kind\": \"Job\", \"metadata\": "         \
    "{\"name\": \"shape-%d\"}, \"spec\": {\"backoffLimit\": 0, "               \
    "\"template\": {\"spec\": {\"restartPolicy\": \"Never\", %s, "             \
    "\"containers\": [{\"name\": \"build\", \"image\": "                       \
    "\"gcr.io/kaniko-project/executor\", \"args\": "                           \
    "[\"--destination=r/x\", \"--context=git://g/x\"], %s}]}}}}"

TEST(kubernetes_push_secret)
{
    strata_rebuild_opts o = k8s_opts();
    json_t *st;
    char *job;
    size_t nviol, i;
    outcome out;
    const char *bad[][2] = {
        /* a mount of a volume that does not exist */
        {"\"volumes\": [{\"name\": \"docker-config\", \"secret\": "
         "{\"secretName\": \"regcred\"}}]",
         "\"volumeMounts\": [{\"name\": \"docker\", \"mountPath\": "
         "\"/kaniko/.docker\"}]"},
        /* a secret volume without secretName */
        {"\"volumes\": [{\"name\": \"d\", \"secret\": {\"items\": "
         "[{\"key\": \".dockerconfigjson\", \"path\": \"config.json\"}]}}]",
         "\"volumeMounts\": [{\"name\": \"d\", \"mountPath\": \"/k\"}]"},
        /* an item path that is absolute */
        {"\"volumes\": [{\"name\": \"d\", \"secret\": {\"secretName\": "
         "\"r\", \"items\": [{\"key\": \".dockerconfigjson\", \"path\": "
         "\"/config.json\"}]}}]",
         "\"env\": []"},
        /* two sources in one volume */
        {"\"volumes\": [{\"name\": \"d\", \"emptyDir\": {}, \"secret\": "
         "{\"secretName\": \"r\"}}]",
         "\"env\": []"},
        /* imagePullSecrets as strings; an env name starting with a digit */
        {"\"imagePullSecrets\": [\"regcred\"]", "\"env\": []"},
        {"\"volumes\": []",
         "\"env\": [{\"name\": \"1DOCKER_CONFIG\", \"value\": \"/d\"}]"},
    };

    /* BuildKit: $DOCKER_CONFIG is the mounted directory. */
    o.push_secret = "regcred";
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, 0);
    check_push_secret(&out, "regcred", "/home/user/.docker");
    outcome_release(&out);
    /* kaniko: /kaniko/.docker/config.json, where it reads it. */
    o.builder_image = "gcr.io/kaniko-project/executor:v1.23.0";
    o.push_secret = "registry.acme-push";
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, 0);
    check_push_secret(&out, "registry.acme-push", "/kaniko/.docker");
    outcome_release(&out);
    /* Without push_secret nothing is added, for either builder. */
    o.push_secret = NULL;
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, 0);
    check_push_secret(&out, NULL, NULL);
    outcome_release(&out);
    o = k8s_opts();
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, 0);
    check_push_secret(&out, NULL, NULL);
    outcome_release(&out);
    /* A name Kubernetes would refuse: refused at start, named. */
    o.push_secret = "Reg_Cred";
    CHECK_EQ(run(&out, "kubernetes", &o), STRATA_EINVAL);
    CHECK_CONTAINS(out.msg, "'push_secret' 'Reg_Cred' is not a Secret name");
    no_violations(k8s_port);

    /* The server refuses what the API server would: the checks can fail. */
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long status;

        job = strata_xasprintf(SHAPE_JOB, (int) i, bad[i][0], bad[i][1]);
        if ((status = post_job(job)) != 422)
            printf("# accepted: %s\n", job);
        CHECK_EQ(status, 422);
        free(job);
    }
    st = harness_server_admin(k8s_port, "state", NULL);
    nviol = json_array_size(json_object_get(st, "violations"));
    CHECK_EQ(nviol, sizeof(bad) / sizeof(bad[0]));
    json_decref(st);
}

TEST(kubernetes_tls_in_cluster_and_ca_data)
{
    strata_rebuild_opts o = k8s_opts();
    char dir[300], path[1024], port[16], *b64, *cfg;
    outcome out;

    if (k8s_tls_port == 0) {
        printf("# no openssl: TLS paths not tested\n");
        return;
    }
    /* In-cluster: service account files and KUBERNETES_SERVICE_*. */
    snprintf(dir, sizeof(dir), "%s/sa", tmpdir);
    CHECK_EQ(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/token", dir);
    write_text(path, K8S_TOKEN "\n");
    snprintf(path, sizeof(path), "%s/namespace", dir);
    write_text(path, "builds");
    snprintf(path, sizeof(path), "cp '%s/cert.pem' '%s/ca.crt'", tmpdir, dir);
    CHECK_EQ(system(path), 0);
    snprintf(port, sizeof(port), "%d", k8s_tls_port);
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", port, 1);
    o.kubeconfig = NULL;
    o.sa_dir = dir;
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, 0);
    CHECK_STR_EQ(out.digest, DIGEST_K8S);
    outcome_release(&out);
    /* Without the CA: the certificate is refused. */
    snprintf(path, sizeof(path), "%s/ca.crt", dir);
    CHECK_EQ(unlink(path), 0);
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, STRATA_ENET);
    outcome_release(&out);
    unsetenv("KUBERNETES_SERVICE_HOST");
    CHECK_EQ(run(&out, "kubernetes", &o), STRATA_ENOTFOUND);

    /* A kubeconfig with certificate-authority-data. */
    snprintf(path, sizeof(path), "base64 -w0 '%s/cert.pem'", tmpdir);
    b64 = harness_capture(path);
    CHECK(b64 != NULL);
    cfg = strata_xasprintf(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
        "clusters:\n- name: c1\n  cluster:\n"
        "    server: https://127.0.0.1:%d/\n"
        "    certificate-authority-data: %s\n"
        "users:\n- name: u1\n  user:\n    token: " K8S_TOKEN "\n"
        "contexts:\n- name: prod\n  context:\n    cluster: c1\n"
        "    user: u1\n    namespace: builds\n",
        k8s_tls_port, b64);
    snprintf(path, sizeof(path), "%s/kubeconfig-tls", tmpdir);
    write_text(path, cfg);
    o = k8s_opts();
    o.kubeconfig = path;
    CHECK_EQ(run(&out, "kubernetes", &o), 0);
    CHECK_EQ(out.code, 0);
    outcome_release(&out);
    free(cfg);
    free(b64);

    /* Client certificates are refused at start, with the reason. */
    snprintf(path, sizeof(path), "%s/kubeconfig-cert", tmpdir);
    write_text(path, "current-context: x\n"
                     "clusters: [{name: c, cluster: {server: "
                     "'https://h:6443'}}]\n"
                     "users: [{name: u, user: {client-certificate: /c.pem}}]\n"
                     "contexts: [{name: x, context: {cluster: c, user: u}}]\n");
    o.kubeconfig = path;
    CHECK_EQ(run(&out, "kubernetes", &o), STRATA_EINVAL);
    CHECK_CONTAINS(out.msg, "'token' or 'tokenFile'");
}

/* ---- buildah, for real ------------------------------------------------------
 */

static void
skip(const char *name, const char *why)
{
    printf("ok %d - %s # SKIP %s\n", ++harness_count, name, why);
}

static int
sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int rc;

    va_start(ap, fmt);
    cmd = strata_xvasprintf(fmt, ap);
    va_end(ap);
    rc = system(cmd);
    if (rc != 0)
        printf("# failed: %s\n", cmd);
    free(cmd);
    return rc;
}

static void
buildah_builds(void)
{
    harness_registry reg;
    strata_rebuild_opts o = {0};
    strata_rebuild_registry creds = {0};
    char repo[300], cache[300], prog[700], image[128], base[128], cmd[400];
    char *digest;
    json_t *img = NULL;
    const char *base_digest;
    outcome out;
    const char *spec = "{\"name\": \"base\", \"tag\": \"1\", \"layers\": "
                       "[{\"files\": {\"etc/base-release\": \"1\\n\"}}]}";
    int rc;

    CHECK_EQ(harness_registry_start(&reg, "builder", "pw-builder"), 0);
    rc = harness_registry_seed(&reg, spec, &img);
    CHECK_EQ(rc, 0);
    base_digest = json_string_value(json_object_get(img, "digest"));
    snprintf(base, sizeof(base), "%s/base:1", reg.host);
    /* A repository whose Dockerfile takes its base from an ARG default. */
    snprintf(repo, sizeof(repo), "%s/repo", tmpdir);
    rc = sh("mkdir -p '%s/app' && cd '%s' && git init -q -b main && "
            "printf 'ARG BASE=%s\\nFROM $BASE\\nARG BASE_DIGEST\\n"
            "ARG STRATA_JOB_KEY\\nCOPY hello.txt /hello.txt\\n"
            "LABEL base.digest=$BASE_DIGEST job.key=$STRATA_JOB_KEY\\n'"
            " > app/Dockerfile && echo hello > app/hello.txt && "
            "git add -A && git -c user.name=t -c user.email=t@t "
            "commit -qm init",
            repo, repo, base);
    CHECK_EQ(rc, 0);
    snprintf(cache, sizeof(cache), "%s/cache", tmpdir);
    snprintf(prog, sizeof(prog), "buildah --root %s/storage --runroot %s/run",
             tmpdir, tmpdir);
    snprintf(image, sizeof(image), "%s/app:1", reg.host);
    creds.host = reg.host;
    creds.username = "builder";
    creds.password = "pw-builder";
    o.image = image;
    o.dockerfile = "app/Dockerfile";
    o.context = "app";
    o.base = base;
    o.base_digest = base_digest;
    o.annotate_base = 1;
    o.repo_url = repo;
    o.branch = "main";
    o.cache_dir = cache;
    o.program = prog;
    o.storage_driver = "vfs";
    o.isolation = "chroot";
    o.registries = &creds;
    o.nregistries = 1;
    o.timeout_ms = 300000;
    o.job_key = "app|sha256:42|rebuild";
    CHECK_EQ(run(&out, "buildah", &o), 0);
    if (out.code != 0)
        printf("# log: %s\n", out.log);
    CHECK_EQ(out.code, 0);
    CHECK(out.digest != NULL);
    /* The ARG-defaulted base was pinned to the digest given. */
    CHECK_CONTAINS(out.log, base_digest);
    snprintf(cmd, sizeof(cmd),
             "skopeo inspect --tls-verify=false --creds builder:pw-builder "
             "--format '{{.Digest}}' docker://%s",
             image);
    digest = harness_capture(cmd);
    CHECK(digest != NULL);
    digest[strcspn(digest, "\n")] = '\0';
    CHECK_STR_EQ(out.digest, digest);
    free(digest);
    /* Stamped with its base, so registry lineage knows it exactly. */
    snprintf(cmd, sizeof(cmd),
             "skopeo inspect --raw --tls-verify=false --creds "
             "builder:pw-builder docker://%s",
             image);
    digest = harness_capture(cmd);
    CHECK(digest != NULL);
    CHECK_CONTAINS(digest, "org.opencontainers.image.base.digest");
    CHECK_CONTAINS(digest, base_digest);
    free(digest);
    /* The job's key reached the build: the Dockerfile labelled with it. */
    snprintf(cmd, sizeof(cmd),
             "skopeo inspect --config --tls-verify=false --creds "
             "builder:pw-builder docker://%s",
             image);
    digest = harness_capture(cmd);
    CHECK(digest != NULL);
    CHECK_CONTAINS(digest, "\"job.key\": \"app|sha256:42|rebuild\"");
    free(digest);
    outcome_release(&out);
    /* The credentials never reach the log. */

    /* A broken Dockerfile: the build fails, its output says why. */
    rc = sh("cd '%s' && printf 'FROM %s\\nCOPY missing.txt /\\n' > "
            "app/Dockerfile && git -c user.name=t -c user.email=t@t "
            "commit -qam broken",
            repo, base);
    CHECK_EQ(rc, 0);
    CHECK_EQ(run(&out, "buildah", &o), 0);
    CHECK_EQ(out.code, STRATA_EIO);
    CHECK_CONTAINS(out.msg, "buildah bud");
    CHECK_CONTAINS(out.log, "missing.txt");
    CHECK(strstr(out.log, "pw-builder") == NULL);
    outcome_release(&out);
    json_decref(img);
    harness_registry_stop(&reg);
    sh("buildah --root %s/storage --runroot %s/run rm -a >/dev/null 2>&1; "
       "buildah --root %s/storage --runroot %s/run rmi -af >/dev/null 2>&1; "
       "true",
       tmpdir, tmpdir, tmpdir, tmpdir);
}

int
main(void)
{
    char *ci[] = {"/usr/bin/python3",
                  STRATA_TEST_CI,
                  "--token",
                  TOKEN,
                  "--trigger-token",
                  TRIGGER,
                  "--secret",
                  SECRET,
                  NULL};
    char *k8s[] = {"/usr/bin/python3", STRATA_TEST_K8S, "--token",
                   K8S_TOKEN,          "--namespace",   "builds",
                   "--namespace",      "default",       NULL};
    char cfg[600], cmd[1024], cert[300], key[300];
    const char *why;

    if (access("/usr/bin/python3", X_OK) != 0)
        SKIP_ALL("/usr/bin/python3 is not installed");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/strata-test-build-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        SKIP_ALL("cannot create a temporary directory");
    atexit(stop_servers);
    ci_port = start_server(ci);
    /* GitLab's access-token mode needs the server to know that token. */
    k8s_port = start_server(k8s);
    snprintf(kubeconfig, sizeof(kubeconfig), "%s/kubeconfig", tmpdir);
    snprintf(cfg, sizeof(cfg),
             "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
             "clusters:\n- name: local\n  cluster:\n"
             "    server: http://127.0.0.1:%d\n"
             "users:\n- name: bot\n  user:\n    tokenFile: token\n"
             "contexts:\n- name: dev\n  context:\n    cluster: local\n"
             "    user: bot\n    namespace: builds\n",
             k8s_port);
    write_text(kubeconfig, cfg);
    snprintf(cmd, sizeof(cmd), "%s/token", tmpdir);
    write_text(cmd, K8S_TOKEN "\n");
    snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
    snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "
             "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '%s' "
             "-out '%s' >/dev/null 2>&1",
             key, cert);
    if (system(cmd) == 0) {
        char *tls[] = {"/usr/bin/python3",
                       STRATA_TEST_K8S,
                       "--token",
                       K8S_TOKEN,
                       "--namespace",
                       "builds",
                       "--tls",
                       cert,
                       key,
                       NULL};
        k8s_tls_port = start_server(tls);
    }

    RUN(lookup_and_checks);
    RUN(pin_args);
    RUN(buildah_never_follows_a_symlinked_dockerfile);
    RUN(webhook_followed);
    RUN(webhook_accepted_failed_refused_timeout);
    RUN(github_actions);
    RUN(github_actions_errors_and_timeout);
    RUN(gitlab);
    RUN(gitlab_trigger_token_and_api_token);
    RUN(kubernetes_buildkit);
    RUN(kubernetes_role_is_least);
    RUN(kubernetes_kaniko_failure_timeout_errors);
    RUN(kubernetes_push_secret);
    RUN(kubernetes_tls_in_cluster_and_ca_data);

    why = harness_registry_missing(1);
    if (why == NULL && access("/usr/bin/buildah", X_OK) != 0)
        why = "buildah is not installed (apt-get install buildah)";
    if (why == NULL && access("/usr/bin/skopeo", X_OK) != 0)
        why = "skopeo is not installed";
    if (why == NULL && access("/usr/bin/git", X_OK) != 0)
        why = "git is not installed";
    if (why != NULL)
        skip("buildah_builds", why);
    else
        RUN(buildah_builds);
    return harness_done();
}
