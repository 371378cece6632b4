/*
 * test-pr.c - integration tests of the `pr` action (jobs/
 * action-pr.c) with real git remotes (bare repositories over file://) and
 * tests/servers/forge.py, started here on 127.0.0.1 as GitHub and then as
 * GitLab and killed at exit, also when a check fails. Jobs are put in a
 * real store and run by the real runner on a uv loop; every loop ends with
 * uv_loop_close() == 0, and the forge must have seen only requests of its
 * documented shape.
 *
 * GitHub, one request per base: an API failure after the push (a crash
 * between push and API call) leaves the branch and no request; the next
 * job opens exactly one, the one after updates it; author, sign-off,
 * labels, reviewers and draft land in the commit and the request; once
 * main pins the digest (the request merged), the next job closes the
 * request with a comment and deletes the branch (pr.closed).
 * GitLab, grouped: two moved bases give one request on strata/pin-all;
 * after a merge it is closed; a later move of one base opens a new one
 * that names only that base.
 * Auto-merge, on GitHub, GitLab and Gitea: the job follows its request's
 * checks (queued between checks on a clock the test moves), merges on
 * green at the head it saw, deletes its branch; red checks, an
 * unverified base or no checks at all block it; a conflicted branch is
 * rebased onto main's new head and force-pushed, and no other branch is
 * touched.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "core.h"
#include "harness-registry.h"
#include "harness-server.h"
#include "harness.h"
#include "jobs-int.h"
#include "jobs.h"
#include "scan.h"
#include "store.h"

#define TOKEN "pr-test-token-0123"
#define DEBIAN "docker.io/library/debian:12-slim"
#define ALPINE "docker.io/library/alpine:3"
#define IMG "registry.example.com/acme/app"

/* Process state on purpose: the atexit() handler must find the server. */
static pid_t server_pid = -1;
static int server_port;
static harness_registry reg;

static void
stop_registry(void)
{
    harness_registry_stop(&reg);
}

static void
stop_server(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
        server_pid = -1;
    }
}

static void
start_server(const char *forge)
{
    char *argv[] = {"/usr/bin/python3",
                    STRATA_TEST_FORGE,
                    "--forge",
                    (char *) forge,
                    "--token",
                    TOKEN,
                    "--repo",
                    "acme/app",
                    "--branch",
                    "main",
                    "--branch",
                    "strata/pin-debian-12-slim",
                    "--branch",
                    "strata/pin-all",
                    "--branch",
                    "strata/pin-debian-12",
                    "--branch",
                    "strata/pin-debian-multi",
                    "--branch",
                    "strata/pin-alpine-3",
                    NULL};

    server_port = harness_server_start(&server_pid, argv);
}

/* POSTs body (or GETs when NULL) to /_admin/<what>; the reply, new. */
static json_t *
admin(const char *what, const char *body)
{
    return harness_server_admin(server_port, what, body);
}

/* The forge's requests (new). */
static json_t *
pulls(void)
{
    json_t *st = admin("state", NULL);
    json_t *p = json_incref(json_object_get(st, "pulls"));

    json_decref(st);
    return p;
}

static void
no_violations(void)
{
    json_t *st = admin("state", NULL);
    json_t *v = json_object_get(st, "violations");

    if (json_array_size(v) != 0) {
        char *s = json_dumps(v, 0);
        printf("# violations: %s\n", s);
        free(s);
    }
    CHECK_EQ(json_array_size(v), 0);
    json_decref(st);
}

/* Runs a shell command; it must succeed. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int rc;

    va_start(ap, fmt);
    CHECK(vasprintf(&cmd, fmt, ap) >= 0);
    va_end(ap);
    rc = system(cmd);
    if (rc != 0)
        printf("# failed (%d): %s\n", rc, cmd);
    CHECK_EQ(rc, 0);
    free(cmd);
}

/* A shell command's stdout (new). */
static char *out_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *
out_of(const char *fmt, ...)
{
    strata_buf b = STRATA_BUF_INIT;
    char buf[512], *cmd;
    va_list ap;
    size_t n;
    FILE *p;

    va_start(ap, fmt);
    CHECK(vasprintf(&cmd, fmt, ap) >= 0);
    va_end(ap);
    p = popen(cmd, "r");
    CHECK(p != NULL);
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
        strata_buf_add(&b, buf, n);
    pclose(p);
    free(cmd);
    strata_buf_puts(&b, "");
    return strata_buf_detach(&b);
}

/* "sha256:" and 64 times c. */
static const char *
dg(char c)
{
    static char d[8][72];
    static int next;
    char *s = d[next++ % 8];

    memcpy(s, "sha256:", 7);
    memset(s + 7, c, 64);
    s[71] = '\0';
    return s;
}

/* YAML appended to the next fixture's configuration ("scanners: …"). */
static char *fixture_extra;
/* Keys added to its pull_requests section ("  limits: …\n"); static. */
static const char *fixture_pr_extra;
/* Its pull_requests.evidence mapping; static; NULL: packages off. */
static const char *fixture_evidence;

typedef struct fixture {
    char dir[64];
    uv_loop_t loop;
    strata_config *config;
    strata_store *store;
    strata_runner *runner;
    strata_runner_env env;
    char cache[128];
} fixture;

/*
 * A repository whose Dockerfile is built on base@base_digest and alpine,
 * under forge; pr_yaml is its pr mapping. The package evidence is off
 * unless pr_yaml turns it on (the bases here are not in a registry).
 */
static void
fixture_start_on(fixture *f, const char *forge, const char *pr_yaml,
                 const char *base, const char *base_digest)
{
    strata_error err = {0};
    char *yaml;

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/strata-pr-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->cache, sizeof(f->cache), "%s/cache", f->dir);
    /* A workflow names the base too, and a file GitLab CI includes (a
     * plain *.yml but for the include): pull requests pin them alike. */
    sh("cd %s && git init -q --bare -b main app.git && git init -q -b main "
       "src && printf 'FROM %s@%s AS build\\nRUN make\\nFROM %s@%s\\nCOPY "
       "--from=build /out /out\\n' > src/Dockerfile && mkdir -p "
       "src/.github/workflows src/ci && printf 'jobs:\\n  t:\\n    container: "
       "\"%s@%s\"  # ci\\n' > src/.github/workflows/ci.yml && printf "
       "'include: /ci/jobs.yml\\n' > src/.gitlab-ci.yml && printf "
       "'test:\\n  image: %s@%s\\n' > src/ci/jobs.yml && cd src && "
       "git add -A && git -c user.name=dev -c user.email=dev@example.com "
       "commit -qm initial && git push -q ../app.git main",
       f->dir, base, base_digest, ALPINE, dg('a'), base, base_digest, base,
       base_digest);
    yaml = strata_xasprintf(
        "state: %s/strata.db\n"
        "pull_requests:\n"
        "  author: {name: Bot, email: bot@example.com}\n"
        "  labels: [deps]\n"
        "  evidence: %s\n"
        "%s"
        "repos:\n"
        "  - url: file://%s/app.git\n"
        "    forge: {type: %s, repo: acme/app, api_url: "
        "'http://127.0.0.1:%d%s'}\n"
        "    auth: {token: %s}\n"
        "    images: [{name: '%s:1'}, {name: '%s-debug:1'},\n"
        "             {name: '%s-slim:1'}, {name: '%s-canary:1'}]\n"
        "    on_base_update: [pr]\n"
        "    pr: %s\n%s",
        f->dir,
        fixture_evidence != NULL ? fixture_evidence : "{packages: false}",
        fixture_pr_extra != NULL ? fixture_pr_extra : "", f->dir, forge,
        server_port,
        strcmp(forge, "gitlab") == 0  ? "/api/v4"
        : strcmp(forge, "gitea") == 0 ? "/api/v1"
                                      : "",
        TOKEN, IMG, IMG, IMG, IMG, pr_yaml,
        fixture_extra != NULL ? fixture_extra : "");
    free(fixture_extra);
    fixture_extra = NULL;
    fixture_pr_extra = NULL;
    fixture_evidence = NULL;
    CHECK_OK(strata_config_load_string(&f->config, yaml, strlen(yaml),
                                       "strata.yaml", f->dir, NULL, &err),
             &err);
    free(yaml);
    CHECK_EQ(uv_loop_init(&f->loop), 0);
    {
        char db[128];

        snprintf(db, sizeof(db), "%s/strata.db", f->dir);
        CHECK_OK(strata_store_open(&f->store, db, &err), &err);
    }
    f->env.loop = &f->loop;
    f->env.config = f->config;
    f->env.cfg = strata_config_data_get(f->config);
    f->env.store = f->store;
    f->env.cache_dir = f->cache;
    CHECK_OK(strata_runner_new(&f->runner, &f->loop, &f->env, 2, &err), &err);
}

static void
fixture_start(fixture *f, const char *forge, const char *pr_yaml)
{
    fixture_start_on(f, forge, pr_yaml, DEBIAN, dg('1'));
}

static void
fixture_stop(fixture *f)
{
    strata_runner_close(f->runner);
    CHECK_EQ(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(uv_loop_close(&f->loop), 0);
    strata_store_close(f->store);
    strata_config_free(f->config);
    sh("rm -rf '%s'", f->dir);
}

/* The store saw ref at digest (its history: old digest, first seen). */
static void
observe(fixture *f, const char *ref, const char *digest)
{
    strata_store_observation o = {0};
    strata_error err = {0};

    o.ref = ref;
    o.digest = digest;
    CHECK_OK(strata_store_watch_observe(NULL, NULL, f->store, &o, &err), &err);
}

static int64_t
enqueue(fixture *f, const char *image_suffix, const char *base,
        const char *digest)
{
    strata_store_job_spec spec = {0};
    strata_error err = {0};
    char *image = strata_xasprintf("%s%s", IMG, image_suffix);
    int64_t id = 0;
    int created = 0;

    spec.image = image;
    spec.action = "pr";
    spec.base_ref = base;
    spec.base_digest = digest;
    spec.max_attempts = 1;
    CHECK_OK(strata_store_job_enqueue(&id, &created, f->store, &spec, &err),
             &err);
    CHECK_EQ(created, 1);
    free(image);
    return id;
}

static void
on_drained(strata_runner *r, void *arg)
{
    (void) r;
    *(int *) arg = 1;
}

static void
drain(fixture *f)
{
    int drained = 0;

    strata_runner_drain(f->runner, on_drained, &drained);
    while (!drained)
        CHECK(uv_run(&f->loop, UV_RUN_ONCE) >= 0);
}

static strata_store_job *
job_of(fixture *f, int64_t id)
{
    strata_store_job *job = NULL;
    strata_error err = {0};

    CHECK_OK(strata_store_job_get(&job, f->store, id, &err), &err);
    if (job->state != STRATA_STORE_JOB_SUCCEEDED && job->last_error)
        printf("# job %lld: %s\n", (long long) id, job->last_error);
    return job;
}

/* Runs one job; it must end in state want. */
static strata_store_job *
run_one(fixture *f, const char *suffix, const char *base, const char *digest,
        strata_store_job_state want)
{
    int64_t id = enqueue(f, suffix, base, digest);
    strata_store_job *job;

    drain(f);
    job = job_of(f, id);
    CHECK_EQ(job->state, want);
    return job;
}

static const char *
outcome(const strata_store_job *job)
{
    return json_string_value(json_object_get(job->result, "outcome"));
}

static int
count_events(fixture *f, const char *type)
{
    json_t *list = NULL;
    strata_error err = {0};
    int n;

    CHECK_OK(strata_store_event_list(&list, f->store, 0, 0, type, &err), &err);
    n = (int) json_array_size(list);
    json_decref(list);
    return n;
}

/* The payload of the last event of type (new). */
static json_t *
last_event(fixture *f, const char *type)
{
    json_t *list = NULL, *p;
    strata_error err = {0};

    CHECK_OK(strata_store_event_list(&list, f->store, 0, 0, type, &err), &err);
    CHECK(json_array_size(list) > 0);
    p = json_incref(json_object_get(
        json_array_get(list, json_array_size(list) - 1), "payload"));
    json_decref(list);
    return p;
}

static int
branch_exists(fixture *f, const char *branch)
{
    char *o = out_of("git --git-dir %s/app.git show-ref refs/heads/%s", f->dir,
                     branch);
    int exists = o[0] != '\0';

    free(o);
    return exists;
}

static char *
file_on(fixture *f, const char *branch)
{
    return out_of("git --git-dir %s/app.git show %s:Dockerfile", f->dir,
                  branch);
}

/* Someone merges the branch: main fast-forwards to it. */
static void
merge(fixture *f, const char *branch)
{
    sh("git --git-dir %s/app.git update-ref refs/heads/main refs/heads/%s",
       f->dir, branch);
}

static const char *
s_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

TEST(github_one_request_per_base)
{
    fixture f;
    strata_store_job *job;
    json_t *p, *pr, *ev;
    char *log, *file, want[200];

    start_server("github");
    fixture_start(&f, "github",
                  "{labels: [deps, base-image], reviewers: [alice], draft: "
                  "true, signoff: true}");
    observe(&f, DEBIAN, dg('1'));
    observe(&f, DEBIAN, dg('2'));

    /* The push succeeds, the forge then refuses: no request, a branch. */
    json_decref(admin("fail", "{\"path_regex\": \"^/repos/acme/app/pulls\", "
                              "\"method\": \"GET\", \"status\": 401}"));
    job = run_one(&f, ":1", DEBIAN, dg('2'), STRATA_STORE_JOB_FAILED);
    CHECK_CONTAINS(job->last_error, "github refused access");
    strata_store_job_free(job);
    CHECK(branch_exists(&f, "strata/pin-debian-12-slim"));
    p = pulls();
    CHECK_EQ(json_array_size(p), 0);
    json_decref(p);

    /* The next job pushes nothing new and opens exactly one request. */
    job = run_one(&f, "-debug:1", DEBIAN, dg('2'), STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(outcome(job), "unchanged");
    strata_store_job_free(job);
    /* And the one after finds and updates it. */
    job = run_one(&f, "-slim:1", DEBIAN, dg('2'), STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(outcome(job), "unchanged");
    strata_store_job_free(job);
    p = pulls();
    CHECK_EQ(json_array_size(p), 1);
    pr = json_array_get(p, 0);
    CHECK_STR_EQ(s_of(pr, "state"), "open");
    CHECK_STR_EQ(s_of(pr, "head"), "strata/pin-debian-12-slim");
    CHECK(json_is_true(json_object_get(pr, "draft")));
    CHECK_EQ(json_array_size(json_object_get(pr, "labels")), 2);
    CHECK_STR_EQ(
        json_string_value(json_array_get(json_object_get(pr, "labels"), 0)),
        "deps");
    CHECK_STR_EQ(
        json_string_value(json_array_get(json_object_get(pr, "labels"), 1)),
        "base-image");
    CHECK_EQ(json_array_size(json_object_get(pr, "reviewers")), 1);
    CHECK_STR_EQ(
        json_string_value(json_array_get(json_object_get(pr, "reviewers"), 0)),
        "alice");
    snprintf(want, sizeof(want), "Pin %s to %.19s", DEBIAN, dg('2'));
    CHECK_STR_EQ(s_of(pr, "title"), want);
    /* The body: old -> new digest, first seen, images, lines, how to. */
    snprintf(want, sizeof(want), "| `%s` | `%s` | `%s` |", DEBIAN, dg('1'),
             dg('2'));
    CHECK_CONTAINS(s_of(pr, "body"), want);
    CHECK_CONTAINS(s_of(pr, "body"), "- `" IMG "-slim:1`");
    CHECK_CONTAINS(s_of(pr, "body"), "- `Dockerfile:1`: `" DEBIAN "@");
    CHECK_CONTAINS(s_of(pr, "body"), "- `.github/workflows/ci.yml:3`: `");
    CHECK_CONTAINS(s_of(pr, "body"), "`strata digest " DEBIAN "`");
    json_decref(p);
    CHECK_EQ(count_events(&f, "pr.opened"), 1);
    CHECK_EQ(count_events(&f, "pr.updated"), 1);

    /* Author and sign-off in the commit; only debian moved. */
    log = out_of("git --git-dir %s/app.git log -1 --format=%%an%%n%%ae%%n%%B "
                 "strata/pin-debian-12-slim",
                 f.dir);
    CHECK(strncmp(log, "Bot\nbot@example.com\nPin " DEBIAN, 46) == 0);
    CHECK_CONTAINS(log, "\nSigned-off-by: Bot <bot@example.com>");
    free(log);
    file = file_on(&f, "strata/pin-debian-12-slim");
    snprintf(want, sizeof(want), "FROM %s@%s AS build\n", DEBIAN, dg('2'));
    CHECK_CONTAINS(file, want);
    snprintf(want, sizeof(want), "FROM %s@%s\n", ALPINE, dg('a'));
    CHECK_CONTAINS(file, want);
    free(file);
    file = out_of("git --git-dir %s/app.git show "
                  "strata/pin-debian-12-slim:.github/workflows/ci.yml",
                  f.dir);
    snprintf(want, sizeof(want),
             "jobs:\n  t:\n    container: \"%s@%s\"  # ci\n", DEBIAN, dg('2'));
    CHECK_STR_EQ(file, want);
    free(file);
    file = out_of("git --git-dir %s/app.git show "
                  "strata/pin-debian-12-slim:ci/jobs.yml",
                  f.dir);
    snprintf(want, sizeof(want), "test:\n  image: %s@%s\n", DEBIAN, dg('2'));
    CHECK_STR_EQ(file, want);
    free(file);

    /* Merged: the next job finds nothing to pin, closes and deletes. */
    merge(&f, "strata/pin-debian-12-slim");
    job = run_one(&f, "-canary:1", DEBIAN, dg('2'), STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(outcome(job), "nothing to pin");
    CHECK(json_is_true(json_object_get(job->result, "branch_deleted")));
    strata_store_job_free(job);
    CHECK(!branch_exists(&f, "strata/pin-debian-12-slim"));
    p = pulls();
    CHECK_EQ(json_array_size(p), 1);
    pr = json_array_get(p, 0);
    CHECK_STR_EQ(s_of(pr, "state"), "closed");
    CHECK_EQ(json_array_size(json_object_get(pr, "comments")), 1);
    snprintf(want, sizeof(want), "`main` already pins `%s@%s`", DEBIAN,
             dg('2'));
    CHECK_CONTAINS(
        json_string_value(json_array_get(json_object_get(pr, "comments"), 0)),
        want);
    json_decref(p);
    CHECK_EQ(count_events(&f, "pr.closed"), 1);
    ev = last_event(&f, "pr.closed");
    CHECK_STR_EQ(s_of(ev, "reason"), "already_pinned");
    CHECK_CONTAINS(s_of(ev, "pr_url"), "/pull/1");
    CHECK_STR_EQ(s_of(ev, "repo"),
                 strata_config_data_get(f.config)->repos[0].url);
    json_decref(ev);
    no_violations();

    fixture_stop(&f);
    stop_server();
}

TEST(gitlab_grouped)
{
    fixture f;
    strata_store_job *job;
    int64_t a, b;
    json_t *p, *pr;
    char *file, want[200];

    start_server("gitlab");
    fixture_start(&f, "gitlab", "{group: true, reviewers: ['7'], draft: true}");
    observe(&f, DEBIAN, dg('1'));
    observe(&f, DEBIAN, dg('2'));
    observe(&f, ALPINE, dg('a'));
    observe(&f, ALPINE, dg('b'));

    /* Two bases moved; their jobs run side by side: one request. */
    a = enqueue(&f, ":1", DEBIAN, dg('2'));
    b = enqueue(&f, "-debug:1", ALPINE, dg('b'));
    drain(&f);
    job = job_of(&f, a);
    CHECK_EQ(job->state, STRATA_STORE_JOB_SUCCEEDED);
    strata_store_job_free(job);
    job = job_of(&f, b);
    CHECK_EQ(job->state, STRATA_STORE_JOB_SUCCEEDED);
    strata_store_job_free(job);
    p = pulls();
    CHECK_EQ(json_array_size(p), 1);
    pr = json_array_get(p, 0);
    CHECK_STR_EQ(s_of(pr, "head"), "strata/pin-all");
    CHECK_STR_EQ(s_of(pr, "state"), "open");
    CHECK_STR_EQ(s_of(pr, "title"), "Draft: Pin 2 base images to new digests");
    CHECK_STR_EQ(
        json_string_value(json_array_get(json_object_get(pr, "labels"), 0)),
        "deps");
    CHECK_EQ(
        json_integer_value(json_array_get(json_object_get(pr, "reviewers"), 0)),
        7);
    snprintf(want, sizeof(want), "| `%s` | `%s` | `%s` |", ALPINE, dg('a'),
             dg('b'));
    CHECK_CONTAINS(s_of(pr, "body"), want);
    snprintf(want, sizeof(want), "| `%s` | `%s` | `%s` |", DEBIAN, dg('1'),
             dg('2'));
    CHECK_CONTAINS(s_of(pr, "body"), want);
    json_decref(p);
    CHECK_EQ(count_events(&f, "pr.opened"), 1);
    CHECK_EQ(count_events(&f, "pr.updated"), 1);
    CHECK(!branch_exists(&f, "strata/pin-debian-12-slim"));
    file = file_on(&f, "strata/pin-all");
    snprintf(want, sizeof(want), "FROM %s@%s AS build\n", DEBIAN, dg('2'));
    CHECK_CONTAINS(file, want);
    snprintf(want, sizeof(want), "FROM %s@%s\n", ALPINE, dg('b'));
    CHECK_CONTAINS(file, want);
    free(file);

    /* Merged: closed with a note, branch deleted. */
    merge(&f, "strata/pin-all");
    job = run_one(&f, "-slim:1", DEBIAN, dg('2'), STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(outcome(job), "nothing to pin");
    strata_store_job_free(job);
    CHECK(!branch_exists(&f, "strata/pin-all"));
    p = pulls();
    pr = json_array_get(p, 0);
    CHECK_STR_EQ(s_of(pr, "state"), "closed");
    CHECK_CONTAINS(
        json_string_value(json_array_get(json_object_get(pr, "comments"), 0)),
        "nothing is left to pin");
    json_decref(p);
    CHECK_EQ(count_events(&f, "pr.closed"), 1);

    /* debian moves again: a new request naming only debian. */
    observe(&f, DEBIAN, dg('3'));
    job = run_one(&f, "-canary:1", DEBIAN, dg('3'), STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(outcome(job), "pushed");
    strata_store_job_free(job);
    p = pulls();
    CHECK_EQ(json_array_size(p), 2);
    pr = json_array_get(p, 1);
    CHECK_STR_EQ(s_of(pr, "state"), "open");
    snprintf(want, sizeof(want), "Draft: Pin %s to %.19s", DEBIAN, dg('3'));
    CHECK_STR_EQ(s_of(pr, "title"), want);
    CHECK(strstr(s_of(pr, "body"), ALPINE "` |") == NULL);
    json_decref(p);
    no_violations();

    fixture_stop(&f);
    stop_server();
}

/* ---- the package evidence (a real registry) --------------------------- */

#define FILLER 3000
static char deb_ref[128];
static json_t *deb_v1, *deb_v2;

/*
 * A dpkg status: libc6 and openssl at the given versions, FILLER packages
 * pkg-NNNN at filler, and tzdata when with_tzdata. New string.
 */
static char *
status_of(const char *libc, const char *openssl, const char *filler,
          int with_tzdata)
{
    strata_buf b = STRATA_BUF_INIT;
    int i;

    strata_buf_printf(&b,
                      "Package: libc6\nStatus: install ok installed\n"
                      "Architecture: amd64\nVersion: %s\n\n"
                      "Package: openssl\nStatus: install ok installed\n"
                      "Architecture: amd64\nVersion: %s\n\n",
                      libc, openssl);
    for (i = 0; i < FILLER; i++)
        strata_buf_printf(&b,
                          "Package: pkg-%04d\nStatus: install ok installed\n"
                          "Architecture: amd64\nVersion: %s\n\n",
                          i, filler);
    if (with_tzdata)
        strata_buf_puts(&b, "Package: tzdata\nStatus: install ok installed\n"
                            "Architecture: all\nVersion: 2024a-0+deb12u1\n");
    return strata_buf_detach(&b);
}

/* Pushes library/debian:TAG with status and Debian 12's os-release. */
static json_t *
seed_debian(const char *tag, char *status)
{
    json_t *spec = json_pack(
        "{s:s, s:s, s:[{s:{s:s, s:s}}]}", "name", "library/debian", "tag", tag,
        "layers", "files", "var/lib/dpkg/status", status, "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"
        "VERSION_ID=\"12\"\n");
    char *text = json_dumps(spec, JSON_COMPACT);
    json_t *img = NULL;

    CHECK_EQ(harness_registry_seed(&reg, text, &img), 0);
    CHECK(img != NULL);
    free(text);
    free(status);
    json_decref(spec);
    return img;
}

static void
seed_bases(void)
{
    CHECK_EQ(harness_registry_start(&reg, NULL, NULL), 0);
    atexit(stop_registry);
    deb_v1 = seed_debian("12", status_of("2.36-9", "3.0.11-1", "1.0-1", 0));
    deb_v2 = seed_debian(
        "12", status_of("2.36-9+deb12u4", "3.0.13-1~deb12u1", "1.0-2", 1));
    snprintf(deb_ref, sizeof(deb_ref), "%s/library/debian:12", reg.host);
}

TEST(github_body_shows_the_package_delta)
{
    fixture f;
    strata_store_job *job;
    strata_error err = {0};
    const char *v1 = s_of(deb_v1, "digest"), *v2 = s_of(deb_v2, "digest");
    const char *body, *libc, *pkg;
    char *stored = NULL, want[512];
    json_t *p, *pr, *base, *ev;

    start_server("github");
    fixture_start_on(&f, "github", "{evidence: {packages: true}}", deb_ref, v1);
    observe(&f, deb_ref, v1);
    observe(&f, deb_ref, v2);
    job = run_one(&f, ":1", deb_ref, v2, STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(outcome(job), "pushed");
    /* The job's result carries the summary of each base's delta. */
    {
        const json_t *r = job->result;

        CHECK(r != NULL);
        base = json_array_get(json_object_get(r, "bases"), 0);
        CHECK_STR_EQ(s_of(json_object_get(base, "packages"), "summary"),
                     "3002 packages upgraded, 1 added, no removals; Debian "
                     "GNU/Linux 12 (bookworm)");
        CHECK_EQ(
            json_integer_value(json_object_get(
                json_object_get(json_object_get(base, "packages"), "counts"),
                "upgraded")),
            3002);
    }
    strata_store_job_free(job);
    p = pulls();
    CHECK_EQ(json_array_size(p), 1);
    pr = json_array_get(p, 0);
    body = s_of(pr, "body");
    printf("# body: %zu bytes\n", strlen(body));
    /* Within GitHub's limit, however many packages changed. */
    CHECK(strlen(body) <= 65536);
    CHECK(strlen(body) > 30000);
    snprintf(want, sizeof(want), "#### What changed in `%s`\n\n", deb_ref);
    CHECK_CONTAINS(body, want);
    CHECK_CONTAINS(body, "3002 packages upgraded, 1 added, no removals; "
                         "Debian GNU/Linux 12 (bookworm).\n");
    /* Core packages first, the rest counted, all in <details>. */
    CHECK_CONTAINS(body, "| Package | Old | New | |\n|---|---|---|---|\n"
                         "| libc6 | 2.36-9 | 2.36-9+deb12u4 | core |\n"
                         "| openssl | 3.0.11-1 | 3.0.13-1\\~deb12u1 | core |\n"
                         "| pkg-0000 | 1.0-1 | 1.0-2 |  |\n");
    CHECK_CONTAINS(body, "… and 2977 more (below)\n");
    CHECK_CONTAINS(body, "<details><summary>All 3003 changes</summary>");
    CHECK_CONTAINS(body, "more\n\n</details>\n");
    libc = strstr(body, "| libc6 | upgraded |");
    pkg = strstr(body, "| pkg-0000 | upgraded |");
    CHECK(libc != NULL && pkg != NULL && libc < pkg);
    /* What follows the evidence is all there. */
    CHECK_CONTAINS(body, "- `Dockerfile:1`: `");
    snprintf(want, sizeof(want), "- `strata diff %s@%s %s@%s`", deb_ref, v1,
             deb_ref, v2);
    CHECK_CONTAINS(body, want);
    CHECK_CONTAINS(body, "closes this request once `main` pins");
    json_decref(p);
    no_violations();
    /* The notification carries the summary, flat, as sinks show it. */
    ev = last_event(&f, "pr.opened");
    CHECK_STR_EQ(s_of(ev, "packages"),
                 "3002 packages upgraded, 1 added, no removals; Debian "
                 "GNU/Linux 12 (bookworm)");
    CHECK(json_is_false(json_object_get(ev, "packages_major")));
    CHECK(json_is_false(json_object_get(ev, "packages_release_changed")));
    CHECK_EQ(json_integer_value(json_object_get(ev, "packages_upgraded")),
             3002);
    CHECK_EQ(json_integer_value(json_object_get(ev, "packages_added")), 1);
    CHECK_EQ(json_integer_value(json_object_get(ev, "packages_removed")), 0);
    json_decref(ev);
    /* Each digest was read once and kept for the fleet. */
    CHECK_OK(strata_store_pkgdb_get(&stored, f.store, v1, "linux/amd64", &err),
             &err);
    CHECK_CONTAINS(stored, "\"2.36-9\"");
    free(stored);
    CHECK_OK(strata_store_pkgdb_get(&stored, f.store, v2, "linux/amd64", &err),
             &err);
    CHECK_CONTAINS(stored, "tzdata");
    free(stored);
    fixture_stop(&f);
    stop_server();
}

TEST(an_unreadable_delta_never_fails_the_pin)
{
    fixture f;
    strata_store_job *job;
    const char *v2 = s_of(deb_v2, "digest");
    char want[512];
    json_t *p, *ev;

    start_server("gitlab");
    /* The old digest is not in the registry: its manifest is unknown. */
    fixture_start_on(&f, "gitlab", "{evidence: {packages: true}}", deb_ref,
                     dg('1'));
    observe(&f, deb_ref, dg('1'));
    observe(&f, deb_ref, v2);
    job = run_one(&f, ":1", deb_ref, v2, STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(outcome(job), "pushed");
    strata_store_job_free(job);
    p = pulls();
    CHECK_EQ(json_array_size(p), 1);
    snprintf(want, sizeof(want),
             "\nPackage changes of `%s` unavailable: ", deb_ref);
    CHECK_CONTAINS(s_of(json_array_get(p, 0), "body"), want);
    CHECK(strstr(s_of(json_array_get(p, 0), "body"), "#### What changed") ==
          NULL);
    json_decref(p);
    ev = last_event(&f, "pr.opened");
    CHECK(s_of(ev, "packages_error") != NULL);
    CHECK(json_object_get(ev, "packages") == NULL);
    json_decref(ev);
    no_violations();
    fixture_stop(&f);
    stop_server();
}

/* ---- vulnerabilities linked to the upgrades (a real scanner report) ---- */

/*
 * Writes a Trivy report to DIR/DIGEST.json, shaped as the real one of
 * debian:buster (tests/scanners/upstream/trivy-debian-buster.json): its
 * first entry copied once per row {id, pkg, version, fixed or NULL,
 * SEVERITY}.
 */
static void
write_report(const char *dir, const char *digest, const char *const (*rows)[5],
             size_t n)
{
    json_error_t je;
    json_t *doc = json_load_file(
        STRATA_TEST_SCANNERS "/upstream/trivy-debian-buster.json", 0, &je);
    json_t *vulns, *model, *list = json_array();
    char *path = strata_xasprintf("%s/%s.json", dir, digest);
    size_t i;

    CHECK(doc != NULL);
    vulns = json_object_get(json_array_get(json_object_get(doc, "Results"), 0),
                            "Vulnerabilities");
    model = json_array_get(vulns, 0);
    CHECK(model != NULL);
    for (i = 0; i < n; i++) {
        json_t *v = json_deep_copy(model);
        char *pkgid = strata_xasprintf("%s@%s", rows[i][1], rows[i][2]);

        json_object_set_new(v, "VulnerabilityID", json_string(rows[i][0]));
        json_object_set_new(v, "PkgName", json_string(rows[i][1]));
        json_object_set_new(v, "PkgID", json_string(pkgid));
        json_object_set_new(v, "InstalledVersion", json_string(rows[i][2]));
        if (rows[i][3] != NULL)
            json_object_set_new(v, "FixedVersion", json_string(rows[i][3]));
        else
            json_object_del(v, "FixedVersion");
        json_object_set_new(v, "Severity", json_string(rows[i][4]));
        json_array_append_new(list, v);
        free(pkgid);
    }
    json_object_set_new(json_array_get(json_object_get(doc, "Results"), 0),
                        "Vulnerabilities", list);
    CHECK_EQ(json_dump_file(doc, path, JSON_INDENT(2)), 0);
    json_decref(doc);
    free(path);
}

/* Lines in path (0 when it does not exist). */
static int
lines_in(const char *path)
{
    FILE *fp = fopen(path, "r");
    int c, n = 0;

    if (fp == NULL)
        return 0;
    while ((c = getc(fp)) != EOF)
        n += c == '\n';
    fclose(fp);
    return n;
}

TEST(github_body_links_cves_to_upgrades)
{
    static const char *const old_rows[][5] = {
        {"CVE-2023-4911", "libc6", "2.36-9", "2.36-9+deb12u3", "HIGH"},
        {"CVE-2010-4756", "libc6", "2.36-9", NULL, "LOW"},
        {"CVE-2023-5678", "openssl", "3.0.11-1", "3.0.13-1~deb12u1", "MEDIUM"},
        {"CVE-2024-0727", "openssl", "3.0.11-1", "3.0.13-1~deb12u1",
         "CRITICAL"},
    };
    static const char *const new_rows[][5] = {
        {"CVE-2010-4756", "libc6", "2.36-9+deb12u4", NULL, "LOW"},
        {"CVE-2024-2961", "libc6", "2.36-9+deb12u4", "2.36-9+deb12u7", "HIGH"},
    };
    fixture f;
    strata_store_job *job;
    strata_error err = {0};
    const char *v1 = s_of(deb_v1, "digest"), *v2 = s_of(deb_v2, "digest");
    const char *body;
    char dir[] = "/tmp/strata-pr-scan-XXXXXX", calls[96], name[160];
    json_t *p, *ev, *stored = NULL;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(calls, sizeof(calls), "%s/calls", dir);
    write_report(dir, v1, old_rows, 4);
    write_report(dir, v2, new_rows, 2);
    start_server("github");
    fixture_extra =
        strata_xasprintf("scanners:\n"
                         "  default:\n"
                         "    type: trivy\n"
                         "    command: /bin/sh %s %s/{digest}.json %s {ref}\n"
                         "    timeout: 20s\n",
                         STRATA_TEST_SCANNERS "/fake-scanner.sh", dir, calls);
    fixture_start_on(&f, "github", "{evidence: {packages: true}}", deb_ref, v1);
    observe(&f, deb_ref, v1);
    observe(&f, deb_ref, v2);
    job = run_one(&f, ":1", deb_ref, v2, STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(outcome(job), "pushed");
    {
        const json_t *pk = json_object_get(
            json_array_get(json_object_get(job->result, "bases"), 0),
            "packages");

        CHECK_STR_EQ(s_of(pk, "summary"),
                     "3002 packages upgraded, 3 CVEs fixed (1 critical, 1 "
                     "high), 1 new CVE (1 high), 1 added, no removals; Debian "
                     "GNU/Linux 12 (bookworm)");
        CHECK_EQ(json_integer_value(json_object_get(pk, "cves_fixed")), 3);
        CHECK_EQ(json_integer_value(json_object_get(pk, "cves_new")), 1);
    }
    strata_store_job_free(job);
    /* Each digest scanned once, exactly that digest. */
    CHECK_EQ(lines_in(calls), 2);
    p = pulls();
    CHECK_EQ(json_array_size(p), 1);
    body = s_of(json_array_get(p, 0), "body");
    printf("# body: %zu bytes\n", strlen(body));
    CHECK(strlen(body) <= 65536);
    CHECK_CONTAINS(body, "3002 packages upgraded, 3 CVEs fixed (1 critical, 1 "
                         "high), 1 new CVE (1 high), 1 added, no removals; "
                         "Debian GNU/Linux 12 (bookworm).\n");
    /* Security fixes first, the most severe first; then the rest. */
    CHECK_CONTAINS(body,
                   "| Package | Old | New | | Security |\n"
                   "|---|---|---|---|---|\n"
                   "| openssl | 3.0.11-1 | 3.0.13-1\\~deb12u1 | core | fixes "
                   "CVE-2024-0727 (critical), CVE-2023-5678 (medium) |\n"
                   "| libc6 | 2.36-9 | 2.36-9+deb12u4 | core | fixes "
                   "CVE-2023-4911 (high); brings CVE-2024-2961 (high) |\n"
                   "| pkg-0000 | 1.0-1 | 1.0-2 |  |  |\n");
    CHECK_CONTAINS(body, "| Package | Change | Old | New | | Security |\n");
    CHECK(strstr(body, "unavailable") == NULL);
    json_decref(p);
    ev = last_event(&f, "pr.opened");
    CHECK_CONTAINS(s_of(ev, "packages"), "3 CVEs fixed (1 critical, 1 high)");
    CHECK_EQ(json_integer_value(json_object_get(ev, "packages_cves_fixed")), 3);
    CHECK_EQ(json_integer_value(json_object_get(ev, "packages_cves_new")), 1);
    json_decref(ev);
    /* The findings are kept under the base's name, for the fleet... */
    snprintf(name, sizeof(name), "%s/library/debian", reg.host);
    CHECK_OK(strata_store_findings_get(&stored, f.store, name, v1, &err), &err);
    CHECK_EQ(json_array_size(stored), 4);
    json_decref(stored);
    /* ...so the next image's job on that base scans nothing. */
    job = run_one(&f, "-debug:1", deb_ref, v2, STRATA_STORE_JOB_SUCCEEDED);
    strata_store_job_free(job);
    CHECK_EQ(lines_in(calls), 2);
    no_violations();
    fixture_stop(&f);
    stop_server();
    sh("rm -rf '%s'", dir);
}

TEST(a_failed_scan_never_fails_the_pin)
{
    fixture f;
    strata_store_job *job;
    const char *v1 = s_of(deb_v1, "digest"), *v2 = s_of(deb_v2, "digest");
    const char *body;
    char want[512];
    json_t *p, *ev;

    start_server("gitlab");
    fixture_extra = strata_xstrdup("scanners:\n"
                                   "  default:\n"
                                   "    type: grype\n"
                                   "    command: echo 'db update failed' >&2; "
                                   "exit 3\n");
    fixture_start_on(&f, "gitlab", "{evidence: {packages: true}}", deb_ref, v1);
    observe(&f, deb_ref, v1);
    observe(&f, deb_ref, v2);
    job = run_one(&f, ":1", deb_ref, v2, STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(outcome(job), "pushed");
    strata_store_job_free(job);
    p = pulls();
    CHECK_EQ(json_array_size(p), 1);
    body = s_of(json_array_get(p, 0), "body");
    snprintf(want, sizeof(want),
             "\nVulnerabilities of `%s` unavailable: scanner 'default' "
             "exited with status 3: db update failed\n",
             deb_ref);
    CHECK_CONTAINS(body, want);
    /* The package delta is there all the same, without CVE counts. */
    CHECK_CONTAINS(body, "3002 packages upgraded, 1 added, no removals");
    json_decref(p);
    ev = last_event(&f, "pr.opened");
    CHECK_CONTAINS(s_of(ev, "packages_vulns_error"), "exited with status 3");
    CHECK(json_object_get(ev, "packages_cves_fixed") == NULL);
    json_decref(ev);
    no_violations();
    fixture_stop(&f);
    stop_server();
}

/* ---- a multi-arch base: each platform its watch lists ------------------ */

/* A dpkg status of libc6, openssl and bash at the given versions. */
static char *
three_of(const char *arch, const char *libc, const char *openssl,
         const char *bash)
{
    return strata_xasprintf("Package: libc6\nStatus: install ok installed\n"
                            "Architecture: %s\nVersion: %s\n\n"
                            "Package: openssl\nStatus: install ok installed\n"
                            "Architecture: %s\nVersion: %s\n\n"
                            "Package: bash\nStatus: install ok installed\n"
                            "Architecture: %s\nVersion: %s\n",
                            arch, libc, arch, openssl, arch, bash);
}

/* Pushes library/debian:multi for amd64 and arm64, each its own status. */
static json_t *
seed_multi(char *amd64, char *arm64)
{
    json_t *spec = json_pack(
        "{s:s, s:s, s:[s, s], s:[{s:{s:s}, s:{s:{s:s}, s:{s:s}}}]}", "name",
        "library/debian", "tag", "multi", "platforms", "linux/amd64",
        "linux/arm64", "layers", "files", "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"
        "VERSION_ID=\"12\"\n",
        "platform_files", "linux/amd64", "var/lib/dpkg/status", amd64,
        "linux/arm64", "var/lib/dpkg/status", arm64);
    char *text = json_dumps(spec, JSON_COMPACT);
    json_t *img = NULL;

    CHECK_EQ(harness_registry_seed(&reg, text, &img), 0);
    CHECK(img != NULL);
    CHECK_EQ(json_array_size(json_object_get(img, "manifests")), 2);
    free(text);
    free(amd64);
    free(arm64);
    json_decref(spec);
    return img;
}

/*
 * The base's watch lists linux/amd64, linux/arm64 and linux/s390x; the
 * update upgrades libc6 and openssl on amd64 but openssl and bash on
 * arm64: the body has one section per platform, the summary names both,
 * s390x (not in the index) is one line, and each platform's packages are
 * kept under its own manifest's digest.
 */
TEST(github_body_shows_each_platform_the_watch_lists)
{
    json_t *m1 =
        seed_multi(three_of("amd64", "2.36-9", "3.0.11-1", "5.2.15-2"),
                   three_of("arm64", "2.36-9", "3.0.11-1", "5.2.15-2"));
    json_t *m2 = seed_multi(
        three_of("amd64", "2.36-9+deb12u4", "3.0.13-1~deb12u1", "5.2.15-2"),
        three_of("arm64", "2.36-9", "3.0.13-1~deb12u1", "5.2.15-3"));
    const char *v1 = s_of(m1, "digest"), *v2 = s_of(m2, "digest");
    fixture f;
    strata_store_job *job;
    strata_error err = {0};
    char ref[160], want[512], *stored = NULL;
    const char *body, *amd, *arm;
    json_t *p, *pk;
    size_t i;

    snprintf(ref, sizeof(ref), "%s/library/debian:multi", reg.host);
    start_server("github");
    fixture_extra = strata_xasprintf(
        "watch:\n  bases:\n    - ref: %s\n"
        "      platforms: [linux/amd64, linux/arm64, linux/s390x]\n",
        ref);
    fixture_start_on(&f, "github", "{evidence: {packages: true}}", ref, v1);
    observe(&f, ref, v1);
    observe(&f, ref, v2);
    job = run_one(&f, ":1", ref, v2, STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(outcome(job), "pushed");
    pk = json_object_get(
        json_array_get(json_object_get(job->result, "bases"), 0), "packages");
    CHECK_STR_EQ(s_of(pk, "summary"),
                 "linux/amd64: 2 packages upgraded, 0 added, no removals; "
                 "Debian GNU/Linux 12 (bookworm) / linux/arm64: 2 packages "
                 "upgraded, 0 added, no removals; Debian GNU/Linux 12 "
                 "(bookworm)");
    CHECK_EQ(json_array_size(json_object_get(pk, "platforms")), 2);
    CHECK_STR_EQ(
        s_of(json_array_get(json_object_get(pk, "platforms"), 1), "platform"),
        "linux/arm64");
    strata_store_job_free(job);
    p = pulls();
    CHECK_EQ(json_array_size(p), 1);
    body = s_of(json_array_get(p, 0), "body");
    snprintf(want, sizeof(want), "#### What changed in `%s` on linux/amd64\n",
             ref);
    CHECK((amd = strstr(body, want)) != NULL);
    snprintf(want, sizeof(want), "#### What changed in `%s` on linux/arm64\n",
             ref);
    CHECK((arm = strstr(body, want)) != NULL);
    CHECK(amd < arm);
    /* amd64: libc6 and openssl; arm64: openssl and bash, libc6 as it was. */
    CHECK(strstr(amd, "| libc6 | 2.36-9 | 2.36-9+deb12u4 | core |") != NULL &&
          strstr(amd, "| libc6 | 2.36-9 | 2.36-9+deb12u4 | core |") < arm);
    CHECK_CONTAINS(arm, "| openssl | 3.0.11-1 | 3.0.13-1\\~deb12u1 | core |\n"
                        "| bash | 5.2.15-2 | 5.2.15-3 |  |\n");
    CHECK(strstr(arm, "| libc6 |") == NULL);
    CHECK(strlen(body) <= 65536);
    /* A platform the index does not have is one line; the others shown. */
    snprintf(want, sizeof(want),
             "\nPackage changes of `%s` on linux/s390x unavailable: ", ref);
    CHECK_CONTAINS(body, want);
    CHECK_CONTAINS(body, "has no image for platform 'linux/s390x'");
    json_decref(p);
    /* Each platform read once, under its own manifest's digest. */
    for (i = 0; i < 2; i++) {
        const json_t *m = json_array_get(json_object_get(m2, "manifests"), i);

        CHECK_OK(strata_store_pkgdb_get(&stored, f.store, s_of(m, "digest"),
                                        s_of(m, "platform"), &err),
                 &err);
        CHECK_CONTAINS(stored, strcmp(s_of(m, "platform"), "linux/arm64") == 0
                                   ? "5.2.15-3"
                                   : "2.36-9+deb12u4");
        free(stored);
    }
    no_violations();
    fixture_stop(&f);
    stop_server();
    json_decref(m1);
    json_decref(m2);
}

/* evidence.packages: false reads nothing and shows nothing. */
TEST(evidence_off_reads_and_shows_nothing)
{
    fixture f;
    strata_store_job *job;
    strata_error err = {0};
    const char *v1 = s_of(deb_v1, "digest"), *v2 = s_of(deb_v2, "digest");
    const char *body;
    char *stored = NULL;
    json_t *p, *ev;

    start_server("github");
    fixture_start_on(&f, "github", "{evidence: {packages: false}}", deb_ref,
                     v1);
    observe(&f, deb_ref, v1);
    observe(&f, deb_ref, v2);
    job = run_one(&f, ":1", deb_ref, v2, STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(outcome(job), "pushed");
    CHECK(json_object_get(
              json_array_get(json_object_get(job->result, "bases"), 0),
              "packages") == NULL);
    strata_store_job_free(job);
    p = pulls();
    CHECK_EQ(json_array_size(p), 1);
    body = s_of(json_array_get(p, 0), "body");
    CHECK(strstr(body, "What changed") == NULL);
    CHECK(strstr(body, "Package changes") == NULL);
    CHECK(strstr(body, "strata diff") == NULL);
    CHECK_CONTAINS(body, "- `Dockerfile:1`: `");
    json_decref(p);
    ev = last_event(&f, "pr.opened");
    CHECK(json_object_get(ev, "packages") == NULL);
    CHECK(json_object_get(ev, "packages_error") == NULL);
    json_decref(ev);
    /* Neither digest was read: the store kept nothing. */
    CHECK_EQ(strata_store_pkgdb_get(&stored, f.store, v1, "linux/amd64", &err),
             STRATA_ENOTFOUND);
    strata_error_clear(&err);
    CHECK_EQ(strata_store_pkgdb_get(&stored, f.store, v2, "linux/amd64", &err),
             STRATA_ENOTFOUND);
    strata_error_clear(&err);
    no_violations();
    fixture_stop(&f);
    stop_server();
}

static int64_t budget_now;

static int64_t
budget_clock(void *arg)
{
    (void) arg;
    return budget_now;
}

/* pull_requests.limits.per_hour: the request over the budget waits in the
 * queue, visibly, and is opened once the hour's budget frees. */
TEST(github_hourly_budget)
{
    fixture f;
    strata_store_job *job;
    int64_t t0, second, update;
    json_t *p;
    char want[200];

    start_server("github");
    fixture_pr_extra = "  limits: {per_hour: 1}\n";
    fixture_start(&f, "github", "{}");
    t0 = budget_now = strata_now_ms();
    strata_store_set_clock(f.store, budget_clock, NULL);
    observe(&f, DEBIAN, dg('1'));
    observe(&f, DEBIAN, dg('2'));
    observe(&f, ALPINE, dg('a'));
    observe(&f, ALPINE, dg('b'));

    /* The first request is within the budget. */
    job = run_one(&f, ":1", DEBIAN, dg('2'), STRATA_STORE_JOB_SUCCEEDED);
    CHECK(json_is_true(
        json_object_get(json_object_get(job->result, "pr"), "created")));
    strata_store_job_free(job);

    /* The second waits: queued, no attempt, until the first is an hour
     * old; so does one that would update the open request. */
    budget_now = t0 + 60 * 1000;
    second = enqueue(&f, "-debug:1", ALPINE, dg('b'));
    update = enqueue(&f, "-slim:1", DEBIAN, dg('2'));
    drain(&f);
    job = job_of(&f, second);
    CHECK_EQ(job->state, STRATA_STORE_JOB_QUEUED);
    CHECK_EQ(job->attempts, 0);
    CHECK_EQ(job->next_attempt_ms, t0 + 3600 * 1000);
    strata_format_time(want, sizeof(want), t0 + 3600 * 1000);
    CHECK_CONTAINS(job->waiting, "over the pull-request budget "
                                 "(pull_requests.limits.per_hour 1");
    CHECK_CONTAINS(job->waiting, want);
    strata_store_job_free(job);
    p = pulls();
    CHECK_EQ(json_array_size(p), 1);
    json_decref(p);

    /* A second before the hour is up: still waiting. */
    budget_now = t0 + 3600 * 1000 - 1000;
    drain(&f);
    job = job_of(&f, second);
    CHECK_EQ(job->state, STRATA_STORE_JOB_QUEUED);
    CHECK_EQ(job->attempts, 0);
    strata_store_job_free(job);

    /* The hour is up: one of the two goes (the budget is 1 again), the
     * other waits for the hour after. */
    budget_now = t0 + 3600 * 1000 + 1000;
    drain(&f);
    job = job_of(&f, second);
    CHECK_EQ(job->state, STRATA_STORE_JOB_SUCCEEDED);
    CHECK(job->waiting == NULL);
    CHECK_EQ(job->attempts, 1);
    CHECK(json_is_true(
        json_object_get(json_object_get(job->result, "pr"), "created")));
    strata_store_job_free(job);
    p = pulls();
    CHECK_EQ(json_array_size(p), 2);
    CHECK_STR_EQ(s_of(json_array_get(p, 1), "head"), "strata/pin-alpine-3");
    json_decref(p);
    job = job_of(&f, update);
    CHECK_EQ(job->state, STRATA_STORE_JOB_QUEUED);
    CHECK_CONTAINS(job->waiting, "over the pull-request budget");
    strata_store_job_free(job);

    /* An update opens nothing: it does not use up the next hour. */
    budget_now = t0 + 2 * 3600 * 1000 + 2000;
    drain(&f);
    job = job_of(&f, update);
    CHECK_EQ(job->state, STRATA_STORE_JOB_SUCCEEDED);
    CHECK(!json_is_true(
        json_object_get(json_object_get(job->result, "pr"), "created")));
    strata_store_job_free(job);
    p = pulls();
    CHECK_EQ(json_array_size(p), 2);
    json_decref(p);
    fixture_stop(&f);
    stop_server();
}

/*
 * registries[].aliases: a Dockerfile naming Docker Hub's Debian through a
 * mirror is pinned for Docker Hub's update, under the name it already
 * uses (the digest is the same content), and the body shows that line.
 */
TEST(github_mirror_pinned_under_its_own_name)
{
    fixture f;
    strata_store_job *job;
    json_t *p;
    char *file, want[200];

    start_server("github");
    fixture_extra = strata_xstrdup("registries:\n"
                                   "  - host: docker.io\n"
                                   "    aliases: [mirror.gcr.io]\n");
    fixture_start_on(&f, "github", "{}", "mirror.gcr.io/library/debian:12-slim",
                     dg('1'));
    observe(&f, DEBIAN, dg('1'));
    observe(&f, DEBIAN, dg('2'));
    job = run_one(&f, ":1", DEBIAN, dg('2'), STRATA_STORE_JOB_SUCCEEDED);
    CHECK(json_is_true(
        json_object_get(json_object_get(job->result, "pr"), "created")));
    strata_store_job_free(job);
    file = file_on(&f, "strata/pin-debian-12-slim");
    snprintf(want, sizeof(want),
             "FROM mirror.gcr.io/library/debian:12-slim@%s AS build\n",
             dg('2'));
    CHECK_CONTAINS(file, want);
    /* alpine did not move: its line is as it was. */
    snprintf(want, sizeof(want), "FROM %s@%s\n", ALPINE, dg('a'));
    CHECK_CONTAINS(file, want);
    free(file);
    p = pulls();
    CHECK_EQ(json_array_size(p), 1);
    CHECK_CONTAINS(s_of(json_array_get(p, 0), "body"),
                   "- `Dockerfile:1`: `mirror.gcr.io/library/debian:12-slim@");
    json_decref(p);
    fixture_stop(&f);
    stop_server();
}

/* ---- auto-merge (pull_requests.automerge, jobs/action-pr-merge.c) ---- */

static int64_t merge_now;

static int64_t
merge_clock(void *arg)
{
    (void) arg;
    return merge_now;
}

/* The branch's commit on the remote (new). */
static char *
head_of(fixture *f, const char *ref)
{
    char *o = out_of("git --git-dir %s/app.git rev-parse %s", f->dir, ref);
    size_t n = strlen(o);

    while (n > 0 && (o[n - 1] == '\n' || o[n - 1] == ' '))
        o[--n] = '\0';
    return o;
}

/* The forge's request number n (new). */
static json_t *
pull_no(int64_t n)
{
    json_t *p = pulls(), *e, *out = NULL;
    size_t i;

    json_array_foreach (p, i, e)
        if (json_integer_value(json_object_get(e, "number")) == n)
            out = json_incref(e);
    json_decref(p);
    return out;
}

/* Sets the checks of request n, and its head to the branch's commit. */
static void
set_checks(fixture *f, int64_t n, const char *checks, const char *branch,
           const char *more)
{
    char *sha = head_of(f, branch);
    char *body = strata_xasprintf(
        "{\"repo\": \"acme/app\", \"number\": %lld, \"checks\": \"%s\", "
        "\"sha\": \"%s\"%s%s}",
        (long long) n, checks, sha, more ? ", " : "", more ? more : "");

    json_decref(admin("merge/checks", body));
    free(body);
    free(sha);
}

/* The job waits in the queue, not failed, saying why. */
static void
check_waiting(fixture *f, int64_t id, const char *why)
{
    strata_store_job *job = job_of(f, id);

    CHECK_EQ(job->state, STRATA_STORE_JOB_QUEUED);
    CHECK(job->waiting != NULL);
    if (job->waiting != NULL)
        CHECK_CONTAINS(job->waiting, why);
    CHECK(job->next_attempt_ms > merge_now);
    strata_store_job_free(job);
}

/* Moves the clock past the job's next check and runs the queue. */
static void
next_check(fixture *f)
{
    merge_now += 3600 * 1000;
    drain(f);
}

static strata_store_job *
done_job(fixture *f, int64_t id)
{
    strata_store_job *job = job_of(f, id);

    CHECK_EQ(job->state, STRATA_STORE_JOB_SUCCEEDED);
    return job;
}

static const char *
am_field(const strata_store_job *job, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(job->result, "automerge"), key));
}

/*
 * Pending checks keep the job waiting; branch protection refuses once;
 * green: merged at the head commit, strata's branch deleted, pr.merged;
 * red checks on another request: pr.merge_blocked, left open.
 */
static void
automerge_on(const char *forge, const char *method, int delete_branch)
{
    fixture f;
    strata_store_job *job;
    int64_t id, id2;
    json_t *pr, *ev;
    char *sha, yaml[200];
    const char *br = "strata/pin-debian-12-slim";

    start_server(forge);
    snprintf(yaml, sizeof(yaml),
             "{automerge: {enabled: true, method: %s, delete_branch: %s}}",
             method, delete_branch ? "true" : "false");
    fixture_start(&f, forge, yaml);
    merge_now = strata_now_ms();
    strata_store_set_clock(f.store, merge_clock, NULL);
    observe(&f, DEBIAN, dg('1'));
    observe(&f, DEBIAN, dg('2'));
    observe(&f, ALPINE, dg('a'));
    observe(&f, ALPINE, dg('b'));

    id = enqueue(&f, ":1", DEBIAN, dg('2'));
    drain(&f);
    check_waiting(&f, id, "auto-merge of #1: checks pending");
    CHECK_EQ(count_events(&f, "pr.opened"), 1);
    pr = pull_no(1);
    CHECK_STR_EQ(s_of(pr, "state"), "open");
    json_decref(pr);

    /* Still pending: waits again; a 503 on the way is retried, not red. */
    json_decref(admin("fail", "{\"path_regex\": \"(pulls|merge_requests)/1$\", "
                              "\"method\": \"GET\", \"status\": 503}"));
    next_check(&f);
    check_waiting(&f, id, "check 2 of 40");

    /* Green, but branch protection refuses once: checked again later. */
    set_checks(&f, 1, "green", br, NULL);
    json_decref(admin("merge/refuse", "{\"repo\": \"acme/app\", "
                                      "\"number\": 1}"));
    next_check(&f);
    check_waiting(&f, id, "the forge refused the merge for now");
    pr = pull_no(1);
    CHECK(!json_is_true(json_object_get(pr, "merged")));
    json_decref(pr);

    /* Now it merges, at the head commit it saw green. */
    sha = head_of(&f, br);
    next_check(&f);
    job = done_job(&f, id);
    CHECK_STR_EQ(am_field(job, "state"), "merged");
    CHECK_STR_EQ(am_field(job, "method"), method);
    CHECK_STR_EQ(am_field(job, "sha"), sha);
    CHECK(json_is_true(
        json_object_get(json_object_get(job->result, "pr"), "created")));
    strata_store_job_free(job);
    pr = pull_no(1);
    CHECK(json_is_true(json_object_get(pr, "merged")));
    CHECK_STR_EQ(s_of(pr, "merge_method"),
                 strcmp(forge, "gitlab") == 0 && strcmp(method, "squash") != 0
                     ? "merge"
                     : method);
    CHECK_STR_EQ(
        json_string_value(json_array_get(
            json_array_get(json_object_get(pr, "merges"),
                           json_array_size(json_object_get(pr, "merges")) - 1),
            1)),
        sha);
    json_decref(pr);
    CHECK_EQ(branch_exists(&f, br), !delete_branch);
    CHECK(branch_exists(&f, "main"));
    CHECK_EQ(count_events(&f, "pr.merged"), 1);
    CHECK_EQ(count_events(&f, "pr.opened"), 1);
    CHECK_EQ(count_events(&f, "pr.updated"), 0);
    ev = last_event(&f, "pr.merged");
    CHECK_STR_EQ(s_of(ev, "sha"), sha);
    CHECK_STR_EQ(s_of(ev, "method"), method);
    CHECK_EQ(json_is_true(json_object_get(ev, "branch_deleted")),
             delete_branch);
    CHECK_STR_EQ(s_of(ev, "new_digest"), dg('2'));
    json_decref(ev);
    free(sha);

    /* Red checks: blocked, left open for a human. */
    id2 = enqueue(&f, "-debug:1", ALPINE, dg('b'));
    drain(&f);
    check_waiting(&f, id2, "auto-merge of #2");
    set_checks(&f, 2, "red", "strata/pin-alpine-3", NULL);
    next_check(&f);
    job = done_job(&f, id2);
    CHECK_STR_EQ(am_field(job, "state"), "blocked");
    CHECK_STR_EQ(am_field(job, "reason"), "checks_failed");
    strata_store_job_free(job);
    pr = pull_no(2);
    CHECK_STR_EQ(s_of(pr, "state"), "open");
    CHECK(!json_is_true(json_object_get(pr, "merged")));
    json_decref(pr);
    CHECK(branch_exists(&f, "strata/pin-alpine-3"));
    CHECK_EQ(count_events(&f, "pr.merge_blocked"), 1);
    ev = last_event(&f, "pr.merge_blocked");
    CHECK_STR_EQ(s_of(ev, "reason"), "checks_failed");
    CHECK(s_of(ev, "detail") != NULL);
    json_decref(ev);
    no_violations();
    fixture_stop(&f);
    stop_server();
}

TEST(automerge_github)
{
    automerge_on("github", "squash", 1);
}

TEST(automerge_gitlab)
{
    automerge_on("gitlab", "squash", 1);
}

TEST(automerge_gitea)
{
    automerge_on("gitea", "rebase", 0);
}

/*
 * The base branch moves under the request and it can no longer merge:
 * the pin commit is made again on main's new head and strata's branch,
 * and only it, is force-pushed; then it merges at the new head.
 */
TEST(automerge_rebases_a_conflicted_branch)
{
    fixture f;
    strata_store_job *job;
    int64_t id;
    char *old, *cur, *main_head, *other, *file, *parent, want[200];
    const char *br = "strata/pin-debian-12-slim";

    start_server("github");
    fixture_start(&f, "github", "{automerge: {enabled: true}}");
    merge_now = strata_now_ms();
    strata_store_set_clock(f.store, merge_clock, NULL);
    observe(&f, DEBIAN, dg('1'));
    observe(&f, DEBIAN, dg('2'));
    id = enqueue(&f, ":1", DEBIAN, dg('2'));
    drain(&f);
    check_waiting(&f, id, "checks pending");
    old = head_of(&f, br);
    /* Someone else's branch, which strata must never touch. */
    sh("cd %s/src && git push -q ../app.git main:refs/heads/feature/x", f.dir);
    other = head_of(&f, "feature/x");

    /* main changes the very line strata pinned: a conflict. */
    sh("cd %s/src && git pull -q ../app.git main && sed -i "
       "'1s/AS build/AS compile/; s/--from=build/--from=compile/' "
       "Dockerfile && git -c user.name=dev -c user.email=dev@example.com "
       "commit -qam 'rename the stage' && git push -q ../app.git main",
       f.dir);
    main_head = head_of(&f, "main");
    json_decref(admin("merge/checks", "{\"repo\": \"acme/app\", \"number\": "
                                      "1, \"checks\": \"green\", "
                                      "\"mergeable\": false}"));
    next_check(&f);
    check_waiting(&f, id, "rebased onto the base branch");
    cur = head_of(&f, br);
    CHECK(strcmp(cur, old) != 0);
    parent = head_of(&f, "strata/pin-debian-12-slim^");
    CHECK_STR_EQ(parent, main_head);
    file = file_on(&f, br);
    snprintf(want, sizeof(want), "FROM %s@%s AS compile\n", DEBIAN, dg('2'));
    CHECK_CONTAINS(file, want);
    free(file);
    free(parent);
    /* main and the other branch are as they were. */
    CHECK_STR_EQ((parent = head_of(&f, "main")), main_head);
    free(parent);
    CHECK_STR_EQ((parent = head_of(&f, "feature/x")), other);
    free(parent);
    {
        json_t *pr = pull_no(1);

        CHECK(!json_is_true(json_object_get(pr, "merged")));
        json_decref(pr);
    }

    /* The forge sees the new head, mergeable, green: merged at it. */
    set_checks(&f, 1, "green", br, "\"mergeable\": true");
    next_check(&f);
    job = done_job(&f, id);
    CHECK_STR_EQ(am_field(job, "state"), "merged");
    CHECK_STR_EQ(am_field(job, "sha"), cur);
    strata_store_job_free(job);
    CHECK(!branch_exists(&f, br));
    CHECK(branch_exists(&f, "feature/x"));
    free(old);
    free(cur);
    free(main_head);
    free(other);
    no_violations();
    fixture_stop(&f);
    stop_server();
}

/*
 * The policy: a base under verification whose digest the gate did not
 * verify is never merged (pr.merge_blocked, unverified); verified, it
 * follows the checks. No checks at all: given up after max_checks.
 */
TEST(automerge_policy)
{
    fixture f;
    strata_store_job *job;
    strata_error err = {0};
    int64_t id;
    char *row;
    json_t *ev, *pr;

    start_server("github");
    fixture_start(&f, "github", "{automerge: {enabled: true, max_checks: 2}}");
    merge_now = strata_now_ms();
    strata_store_set_clock(f.store, merge_clock, NULL);
    observe(&f, DEBIAN, dg('1'));
    observe(&f, DEBIAN, dg('2'));
    observe(&f, ALPINE, dg('a'));
    observe(&f, ALPINE, dg('b'));
    row = strata_xasprintf("{\"digest\": \"%s\", \"state\": \"unverified\"}",
                           dg('2'));
    CHECK_OK(strata_store_meta_set(f.store, "verify:" DEBIAN, row, &err), &err);
    free(row);
    id = enqueue(&f, ":1", DEBIAN, dg('2'));
    drain(&f);
    job = done_job(&f, id);
    CHECK_STR_EQ(am_field(job, "state"), "blocked");
    CHECK_STR_EQ(am_field(job, "reason"), "unverified");
    strata_store_job_free(job);
    ev = last_event(&f, "pr.merge_blocked");
    CHECK_STR_EQ(s_of(ev, "reason"), "unverified");
    CHECK_CONTAINS(s_of(ev, "detail"), DEBIAN);
    json_decref(ev);
    pr = pull_no(1);
    CHECK_STR_EQ(s_of(pr, "state"), "open");
    CHECK_EQ(json_array_size(json_object_get(pr, "merges")), 0);
    json_decref(pr);

    /* Verified: followed; no check ever reported: blocked after 2. */
    row = strata_xasprintf("{\"digest\": \"%s\", \"state\": \"verified\"}",
                           dg('b'));
    CHECK_OK(strata_store_meta_set(f.store, "verify:" ALPINE, row, &err), &err);
    free(row);
    id = enqueue(&f, "-debug:1", ALPINE, dg('b'));
    drain(&f);
    check_waiting(&f, id, "checks pending");
    json_decref(admin("merge/checks", "{\"repo\": \"acme/app\", \"number\": "
                                      "2, \"checks\": \"none\"}"));
    next_check(&f);
    job = done_job(&f, id);
    CHECK_STR_EQ(am_field(job, "reason"), "no_checks");
    strata_store_job_free(job);
    CHECK_EQ(count_events(&f, "pr.merge_blocked"), 2);
    no_violations();
    fixture_stop(&f);
    stop_server();
}

/* Digest-only: a pin keeps each reference's tag; anything else is not. */
TEST(automerge_digest_only)
{
    char *detail = NULL;
    json_t *ok = json_pack(
        "[{s:s, s:i, s:s, s:s}, {s:s, s:i, s:s, s:s}]", "path", "Dockerfile",
        "line", 1, "from", "debian:12-slim", "to", "debian:12-slim@sha256:2222",
        "path", "app/Dockerfile", "line", 3, "from", "alpine:3@sha256:aaaa",
        "to", "alpine:3@sha256:bbbb");
    json_t *bad = json_pack("[{s:s, s:i, s:s, s:s}]", "path", "Dockerfile",
                            "line", 4, "from", "debian:12@sha256:1111", "to",
                            "debian:13@sha256:2222");

    CHECK_EQ(strata_pr__digest_only(ok, &detail), 0);
    CHECK(detail == NULL);
    CHECK_EQ(strata_pr__digest_only(bad, &detail), -1);
    CHECK_STR_EQ(detail, "Dockerfile:4: debian:12@sha256:1111 -> "
                         "debian:13@sha256:2222");
    free(detail);
    json_decref(ok);
    json_decref(bad);
}

/*
 * pull_requests.limits.per_hour: a job following the checks of the
 * request it opened opens nothing more, so the hour's budget, used up by
 * another request, never holds its merge back.
 */
TEST(automerge_not_held_by_the_hourly_budget)
{
    fixture f;
    strata_store_job *job;
    int64_t a, b;

    start_server("github");
    fixture_pr_extra = "  limits: {per_hour: 1}\n";
    fixture_start(&f, "github", "{automerge: {enabled: true}}");
    merge_now = strata_now_ms();
    strata_store_set_clock(f.store, merge_clock, NULL);
    observe(&f, DEBIAN, dg('1'));
    observe(&f, DEBIAN, dg('2'));
    observe(&f, ALPINE, dg('a'));
    observe(&f, ALPINE, dg('b'));
    /* Two requests open, each followed by its job. */
    a = enqueue(&f, ":1", DEBIAN, dg('2'));
    drain(&f);
    check_waiting(&f, a, "auto-merge of #1: checks pending");
    b = enqueue(&f, "-debug:1", ALPINE, dg('b'));
    drain(&f);
    check_waiting(&f, b, "auto-merge of #2: checks pending");
    /* #1 merges: its job ends, and its request is the hour's one. */
    set_checks(&f, 1, "green", "strata/pin-debian-12-slim", NULL);
    merge_now += 60 * 1000;
    drain(&f);
    job = done_job(&f, a);
    CHECK_STR_EQ(am_field(job, "state"), "merged");
    strata_store_job_free(job);
    /* #2's next check comes within that hour: followed, not held back. */
    set_checks(&f, 2, "green", "strata/pin-alpine-3", NULL);
    merge_now += 60 * 1000;
    drain(&f);
    job = job_of(&f, b);
    CHECK_EQ(job->state, STRATA_STORE_JOB_SUCCEEDED);
    if (job->waiting != NULL)
        printf("# waiting: %s\n", job->waiting);
    CHECK_STR_EQ(am_field(job, "state"), "merged");
    strata_store_job_free(job);
    no_violations();
    fixture_stop(&f);
    stop_server();
}

/* evidence.hold_on holds the update (approved later, it goes on). */
TEST(automerge_held)
{
    fixture f;
    strata_store_job *job;
    strata_error err = {0};
    int64_t id;
    char *row;
    json_t *ev;

    start_server("github");
    fixture_evidence = "{packages: false, hold_on: [removal]}";
    fixture_start(&f, "github", "{automerge: {enabled: true}}");
    merge_now = strata_now_ms();
    strata_store_set_clock(f.store, merge_clock, NULL);
    observe(&f, DEBIAN, dg('1'));
    observe(&f, DEBIAN, dg('2'));
    row = strata_xasprintf("{\"old\": \"%s\", \"new\": \"%s\", "
                           "\"removed\": 1, \"removals\": [\"curl\"]}",
                           dg('1'), dg('2'));
    CHECK_OK(strata_store_meta_set(f.store, "evidence:" DEBIAN, row, &err),
             &err);
    free(row);
    id = enqueue(&f, ":1", DEBIAN, dg('2'));
    drain(&f);
    job = done_job(&f, id);
    CHECK_STR_EQ(am_field(job, "reason"), "held");
    strata_store_job_free(job);
    ev = last_event(&f, "pr.merge_blocked");
    CHECK_CONTAINS(s_of(ev, "detail"), "removed: curl");
    json_decref(ev);

    /* `strata approve` of that digest: followed like any other. */
    CHECK_OK(strata_store_meta_set(f.store, "approved:" DEBIAN, dg('2'), &err),
             &err);
    id = enqueue(&f, "-debug:1", DEBIAN, dg('2'));
    drain(&f);
    check_waiting(&f, id, "checks pending");
    no_violations();
    fixture_stop(&f);
    stop_server();
}

int
main(void)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        SKIP_ALL("/usr/bin/python3 is not installed");
    if (system("git --version >/dev/null 2>&1") != 0)
        SKIP_ALL("git is not installed");
    atexit(stop_server);
    RUN(github_one_request_per_base);
    RUN(gitlab_grouped);
    RUN(github_hourly_budget);
    RUN(github_mirror_pinned_under_its_own_name);
    RUN(automerge_github);
    RUN(automerge_gitlab);
    RUN(automerge_gitea);
    RUN(automerge_rebases_a_conflicted_branch);
    RUN(automerge_policy);
    RUN(automerge_held);
    RUN(automerge_digest_only);
    RUN(automerge_not_held_by_the_hourly_budget);
    if (harness_registry_missing(0) != NULL) {
        printf("# no registry (%s): the package evidence is not tested\n",
               harness_registry_missing(0));
    } else {
        seed_bases();
        RUN(github_body_shows_the_package_delta);
        RUN(an_unreadable_delta_never_fails_the_pin);
        RUN(github_body_links_cves_to_upgrades);
        RUN(a_failed_scan_never_fails_the_pin);
        RUN(github_body_shows_each_platform_the_watch_lists);
        RUN(evidence_off_reads_and_shows_nothing);
        json_decref(deb_v1);
        json_decref(deb_v2);
    }
    return harness_done();
}
