/*
 * test-automerge.c - auto-merge on the forge side (forge/merge.c): the
 * checks of a request's head commit, whether it can merge, and the merge
 * itself, against tests/servers/forge.py playing GitHub, then GitLab,
 * then Gitea (started by this binary on 127.0.0.1, killed at exit). The
 * server checks every request against the provider's documented API;
 * each suite ends by checking it recorded no violation.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core.h"
#include "forge.h"
#include "harness-server.h"
#include "harness.h"

#define TOKEN "s3cret-merge-token-0123"
#define REPO "acme/app"

static pid_t server_pid = -1;
static int server_port;
static const char *forge_name;
static const strata_forge_backend *be;
static char *url;

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
                    REPO,
                    "--branch",
                    "main",
                    "--branch",
                    "strata/pin-a",
                    "--branch",
                    "strata/pin-b",
                    "--branch",
                    "strata/pin-c",
                    "--branch",
                    "strata/pin-d",
                    "--branch",
                    "strata/pin-e",
                    "--branch",
                    "strata/pin-f",
                    NULL};

    server_port = harness_server_start(&server_pid, argv);
    forge_name = forge;
    be = strata_forge_lookup(forge);
    free(url);
    url = strata_xasprintf("http://127.0.0.1:%d%s", server_port,
                           strcmp(forge, "gitlab") == 0  ? "/api/v4"
                           : strcmp(forge, "gitea") == 0 ? "/api/v1"
                                                         : "");
}

static void admin_do(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
admin_do(const char *what, const char *fmt, ...)
{
    va_list ap;
    char *body;

    va_start(ap, fmt);
    body = strata_xvasprintf(fmt, ap);
    va_end(ap);
    json_decref(harness_server_admin(server_port, what, body));
    free(body);
}

static void
opts_init(strata_forge_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->api_url = url;
    o->token = TOKEN;
    o->retry_base_ms = 20;
    o->max_retry_wait_ms = 2000;
    o->max_retries = 2;
}

/* Opens a request for head; its number. */
static int64_t
open_pr(const char *head)
{
    strata_forge_opts o;
    strata_forge_req r = {0};
    strata_forge_pr *pr = NULL;
    strata_error err = {0};
    int64_t n;

    opts_init(&o);
    r.verb = STRATA_FORGE_ENSURE;
    r.repo = REPO;
    r.head = head;
    r.base = "main";
    r.title = "Pin the base";
    CHECK_OK(strata_forge_run(&pr, be, &o, &r, &err), &err);
    n = pr ? pr->number : 0;
    strata_forge_pr_free(pr);
    return n;
}

/* The server's pull request number n, new. */
static json_t *
server_pull(int64_t n)
{
    json_t *st = harness_server_admin(server_port, "state", NULL), *p, *out;
    size_t i;

    out = NULL;
    json_array_foreach (json_object_get(st, "pulls"), i, p)
        if (json_integer_value(json_object_get(p, "number")) == n)
            out = json_incref(p);
    json_decref(st);
    return out;
}

static int
status_of(strata_forge_status *s, int64_t n, strata_error *err)
{
    strata_forge_opts o;

    opts_init(&o);
    return strata_forge_status_get(s, be, &o, REPO, n, err);
}

static int
merge_of(strata_forge_merge_result *m, int64_t n, const char *sha,
         strata_forge_merge_method method, strata_error *err)
{
    strata_forge_opts o;

    opts_init(&o);
    return strata_forge_merge(m, be, &o, REPO, n, sha, method, err);
}

TEST(checks_pending_red_none_green)
{
    strata_forge_status s;
    strata_error err = {0};
    int64_t n = open_pr("strata/pin-a");

    CHECK(n > 0);
    CHECK_OK(status_of(&s, n, &err), &err);
    CHECK_STR_EQ(s.state, "open");
    CHECK_EQ(strlen(s.sha), 40);
    CHECK_EQ(s.mergeable, 1);
    CHECK_EQ(s.checks, STRATA_FORGE_CHECKS_PENDING);
    CHECK(s.detail[0] != '\0');

    admin_do("merge/checks",
             "{\"repo\": \"%s\", \"number\": %lld, "
             "\"checks\": \"red\"}",
             REPO, (long long) n);
    CHECK_OK(status_of(&s, n, &err), &err);
    CHECK_EQ(s.checks, STRATA_FORGE_CHECKS_RED);
    CHECK(strstr(s.detail, "fail") != NULL);

    /* GitHub: a failed run on the third page of check runs is seen. */
    if (strcmp(forge_name, "github") == 0) {
        admin_do("merge/checks",
                 "{\"repo\": \"%s\", \"number\": %lld, "
                 "\"extra_runs\": 230}",
                 REPO, (long long) n);
        CHECK_OK(status_of(&s, n, &err), &err);
        CHECK_EQ(s.checks, STRATA_FORGE_CHECKS_RED);
        CHECK_CONTAINS(s.detail, "build: failure");
        admin_do("merge/checks",
                 "{\"repo\": \"%s\", \"number\": %lld, "
                 "\"extra_runs\": 0}",
                 REPO, (long long) n);
    }
    admin_do("merge/checks",
             "{\"repo\": \"%s\", \"number\": %lld, "
             "\"checks\": \"none\"}",
             REPO, (long long) n);
    CHECK_OK(status_of(&s, n, &err), &err);
    CHECK_EQ(s.checks, STRATA_FORGE_CHECKS_NONE);

    admin_do("merge/checks",
             "{\"repo\": \"%s\", \"number\": %lld, "
             "\"checks\": \"green\"}",
             REPO, (long long) n);
    CHECK_OK(status_of(&s, n, &err), &err);
    CHECK_EQ(s.checks, STRATA_FORGE_CHECKS_GREEN);
    CHECK_STR_EQ(s.detail, "");
}

TEST(merge_refusals_then_merged)
{
    strata_forge_status s;
    strata_forge_merge_result m;
    strata_error err = {0};
    int64_t n = open_pr("strata/pin-b");
    json_t *p;

    /* Branch protection: checks required and not green yet. */
    CHECK_OK(status_of(&s, n, &err), &err);
    CHECK_OK(merge_of(&m, n, s.sha, STRATA_FORGE_MERGE_MERGE, &err), &err);
    CHECK_EQ(m.outcome, STRATA_FORGE_MERGE_REFUSED);
    CHECK_EQ(m.status, 405);
    if (strcmp(forge_name, "github") == 0)
        CHECK_CONTAINS(m.message, "Required status check \"build\" is "
                                  "expected");
    admin_do("merge/checks",
             "{\"repo\": \"%s\", \"number\": %lld, "
             "\"checks\": \"green\"}",
             REPO, (long long) n);
    /* The head moved since strata saw it green: 409, never merged. */
    CHECK_OK(merge_of(&m, n, "0123456789abcdef0123456789abcdef01234567",
                      STRATA_FORGE_MERGE_MERGE, &err),
             &err);
    CHECK_EQ(m.outcome, STRATA_FORGE_MERGE_MOVED);
    CHECK_EQ(m.status, 409);
    /* A review still required: refused once. */
    admin_do("merge/refuse", "{\"repo\": \"%s\", \"number\": %lld}", REPO,
             (long long) n);
    CHECK_OK(merge_of(&m, n, s.sha, STRATA_FORGE_MERGE_SQUASH, &err), &err);
    CHECK_EQ(m.outcome, STRATA_FORGE_MERGE_REFUSED);
    CHECK(m.message[0] != '\0');
    /* GitLab's 422 (the merge failed): not now either, never an error. */
    admin_do("merge/refuse",
             "{\"repo\": \"%s\", \"number\": %lld, "
             "\"status\": 422}",
             REPO, (long long) n);
    CHECK_OK(merge_of(&m, n, s.sha, STRATA_FORGE_MERGE_SQUASH, &err), &err);
    CHECK_EQ(m.outcome, STRATA_FORGE_MERGE_REFUSED);
    CHECK_EQ(m.status, 422);
    p = server_pull(n);
    CHECK(!json_is_true(json_object_get(p, "merged")));
    json_decref(p);
    CHECK_OK(merge_of(&m, n, s.sha, STRATA_FORGE_MERGE_SQUASH, &err), &err);
    CHECK_EQ(m.outcome, STRATA_FORGE_MERGED);
    p = server_pull(n);
    CHECK(json_is_true(json_object_get(p, "merged")));
    CHECK_STR_EQ(json_string_value(json_object_get(p, "merge_method")),
                 "squash");
    json_decref(p);
    CHECK_OK(status_of(&s, n, &err), &err);
    CHECK_STR_EQ(s.state, "merged");
    /* Merging again: the forge refuses, nothing breaks. */
    CHECK_OK(merge_of(&m, n, s.sha, STRATA_FORGE_MERGE_MERGE, &err), &err);
    CHECK_EQ(m.outcome, STRATA_FORGE_MERGE_REFUSED);
}

TEST(conflict_seen)
{
    strata_forge_status s;
    strata_forge_merge_result m;
    strata_error err = {0};
    int64_t n = open_pr("strata/pin-c");

    admin_do("merge/checks",
             "{\"repo\": \"%s\", \"number\": %lld, "
             "\"checks\": \"green\", \"mergeable\": false}",
             REPO, (long long) n);
    CHECK_OK(status_of(&s, n, &err), &err);
    CHECK_EQ(s.mergeable, 0);
    CHECK_EQ(s.checks, STRATA_FORGE_CHECKS_GREEN);
    CHECK_OK(merge_of(&m, n, s.sha, STRATA_FORGE_MERGE_REBASE, &err), &err);
    /* GitHub says 405 "not mergeable"; GitLab 406, Gitea 409 conflict. */
    CHECK_EQ(m.outcome, strcmp(forge_name, "github") == 0
                            ? STRATA_FORGE_MERGE_REFUSED
                            : STRATA_FORGE_MERGE_CONFLICT);
    /* Not known yet (the forge still computes it). */
    admin_do("merge/checks",
             "{\"repo\": \"%s\", \"number\": %lld, "
             "\"mergeable\": null}",
             REPO, (long long) n);
    CHECK_OK(status_of(&s, n, &err), &err);
    CHECK_EQ(s.mergeable, strcmp(forge_name, "gitea") == 0 ? 0 : -1);
}

TEST(method_and_rebase)
{
    strata_forge_status s;
    strata_forge_merge_result m;
    strata_error err = {0};
    int64_t n = open_pr("strata/pin-d");
    json_t *p;

    admin_do("merge/checks",
             "{\"repo\": \"%s\", \"number\": %lld, "
             "\"checks\": \"green\"}",
             REPO, (long long) n);
    CHECK_OK(status_of(&s, n, &err), &err);
    CHECK_OK(merge_of(&m, n, s.sha, STRATA_FORGE_MERGE_REBASE, &err), &err);
    CHECK_EQ(m.outcome, STRATA_FORGE_MERGED);
    p = server_pull(n);
    /* GitLab has no per-request rebase: the project's method applies. */
    CHECK_STR_EQ(json_string_value(json_object_get(p, "merge_method")),
                 strcmp(forge_name, "gitlab") == 0 ? "merge" : "rebase");
    json_decref(p);
}

TEST(transient_errors_are_not_red)
{
    strata_forge_status s;
    strata_forge_merge_result m;
    strata_error err = {0};
    int64_t n = open_pr("strata/pin-e");
    const char *re =
        strcmp(forge_name, "gitlab") == 0 ? "merge_requests/" : "/pulls/";

    /* One 503: retried, then read. */
    admin_do("fail",
             "{\"path_regex\": \"%s\", \"method\": \"GET\", "
             "\"status\": 503, \"count\": 1}",
             re);
    CHECK_OK(status_of(&s, n, &err), &err);
    CHECK_EQ(s.checks, STRATA_FORGE_CHECKS_PENDING);
    /* Failing for good: an error, never red checks. */
    admin_do("fail",
             "{\"path_regex\": \"%s\", \"method\": \"GET\", "
             "\"status\": 502, \"count\": 3}",
             re);
    CHECK_EQ(status_of(&s, n, &err), STRATA_EHTTP);
    CHECK_CONTAINS(err.msg, "502");
    CHECK(strstr(err.msg, TOKEN) == NULL);
    strata_error_clear(&err);
    /* A rate limit on the merge: retried after Retry-After. */
    admin_do("merge/checks",
             "{\"repo\": \"%s\", \"number\": %lld, "
             "\"checks\": \"green\"}",
             REPO, (long long) n);
    CHECK_OK(status_of(&s, n, &err), &err);
    admin_do("fail", "{\"path_regex\": \"/merge$\", \"status\": 429, "
                     "\"count\": 1, \"headers\": {\"Retry-After\": \"0\"}}");
    CHECK_OK(merge_of(&m, n, s.sha, STRATA_FORGE_MERGE_MERGE, &err), &err);
    CHECK_EQ(m.outcome, STRATA_FORGE_MERGED);
    /* Refused credentials are an error, not a refusal. */
    admin_do("fail", "{\"path_regex\": \"%s\", \"status\": 401}", re);
    CHECK_EQ(status_of(&s, n, &err), STRATA_EAUTH);
    strata_error_clear(&err);
    CHECK_EQ(status_of(&s, 999, &err), STRATA_ENOTFOUND);
    strata_error_clear(&err);
}

TEST(bad_input)
{
    strata_forge_status s;
    strata_forge_merge_result m;
    strata_forge_opts o;
    strata_error err = {0};

    opts_init(&o);
    CHECK_EQ(strata_forge_status_get(&s, be, &o, REPO, 0, &err), STRATA_EINVAL);
    CHECK_EQ(strata_forge_status_get(&s, be, &o, "acme/a?b", 1, &err),
             STRATA_EINVAL);
    CHECK_EQ(strata_forge_merge(&m, be, &o, REPO, 1, "not a sha",
                                STRATA_FORGE_MERGE_MERGE, &err),
             STRATA_EINVAL);
    CHECK_EQ(strata_forge_merge(&m, be, &o, REPO, 1, "abc",
                                (strata_forge_merge_method) 7, &err),
             STRATA_EINVAL);
    strata_error_clear(&err);
}

TEST(no_violations)
{
    json_t *st = harness_server_admin(server_port, "state", NULL);
    json_t *v = json_object_get(st, "violations");
    size_t i;

    for (i = 0; i < json_array_size(v); i++)
        printf("# violation: %s\n", json_string_value(json_array_get(v, i)));
    CHECK_EQ(json_array_size(v), 0);
    json_decref(st);
}

static void
suite(const char *forge)
{
    start_server(forge);
    printf("# forge %s on port %d\n", forge, server_port);
    RUN(checks_pending_red_none_green);
    RUN(merge_refusals_then_merged);
    RUN(conflict_seen);
    RUN(method_and_rebase);
    RUN(transient_errors_are_not_red);
    RUN(bad_input);
    RUN(no_violations);
    stop_server();
}

int
main(void)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        SKIP_ALL("no /usr/bin/python3");
    atexit(stop_server);
    signal(SIGPIPE, SIG_IGN);
    suite("github");
    suite("gitlab");
    suite("gitea");
    free(url);
    return harness_done();
}
