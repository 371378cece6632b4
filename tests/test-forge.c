/*
 * test-forge.c - integration tests for the forge clients (forge/)
 * against tests/servers/forge.py, which this binary starts on 127.0.0.1
 * (an ephemeral port) as GitHub, then GitLab, then Gitea, and kills at exit,
 * also when a check fails. The server checks every request against the
 * provider's documented API and records violations; each suite ends by
 * checking there were none. Every loop ends with uv_loop_close() == 0.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "core.h"
#include "forge.h"
#include "harness-server.h"
#include "harness.h"

#define TOKEN "s3cret-forge-token-0123"
#define REPO "acme/app"

/* Process state on purpose: the atexit() handler must find the server. */
static pid_t server_pid = -1;
static int server_port;
static const char *forge_name; /* the forge being played */

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
                    "release",
                    "--branch",
                    "strata/pin-debian",
                    "--branch",
                    "strata/pin-alpine",
                    NULL};

    server_port = harness_server_start(&server_pid, argv);
    forge_name = forge;
}

/* ---- the admin side of the server -------------------------------------- */

/* POSTs body (or GETs when NULL) to /_admin/<what>; the reply, new. */
static json_t *
admin(const char *what, const char *body)
{
    return harness_server_admin(server_port, what, body);
}

static void
admin_do(const char *what, const char *body)
{
    json_decref(admin(what, body));
}

/* Injects `count` answers of `status` for requests matching re. */
static void
fail_next(const char *method, const char *re, int status, int count,
          const char *extra)
{
    char *body = strata_xasprintf(
        "{\"path_regex\": \"%s\", \"method\": \"%s\", \"status\": %d, "
        "\"count\": %d%s%s}",
        re, method, status, count, extra ? ", " : "", extra ? extra : "");

    admin_do("fail", body);
    free(body);
}

/* The server's pull with that head (last one), borrowed from st. */
static json_t *
pull_by_head(json_t *st, const char *head, int *nopen)
{
    json_t *p, *found = NULL;
    size_t i;

    *nopen = 0;
    json_array_foreach (json_object_get(st, "pulls"), i, p) {
        if (strcmp(json_string_value(json_object_get(p, "head")), head) != 0)
            continue;
        found = p;
        if (strcmp(json_string_value(json_object_get(p, "state")), "open") == 0)
            (*nopen)++;
    }
    return found;
}

/* How many logged requests answered with status. */
static int
log_count(json_t *st, int status)
{
    json_t *e;
    size_t i;
    int n = 0;

    json_array_foreach (json_object_get(st, "log"), i, e) {
        if (json_integer_value(json_array_get(e, 2)) == status)
            n++;
    }
    return n;
}

static int
json_list_has(json_t *list, const char *s)
{
    json_t *e;
    size_t i;
    char buf[32];

    json_array_foreach (list, i, e) {
        if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
            return 1;
        if (json_is_integer(e)) {
            snprintf(buf, sizeof(buf), "%lld",
                     (long long) json_integer_value(e));
            if (strcmp(buf, s) == 0)
                return 1;
        }
    }
    return 0;
}

static void
check_no_violations(void)
{
    json_t *st = admin("state", NULL);
    json_t *v = json_object_get(st, "violations");

    if (json_array_size(v) > 0)
        printf("# violation: %s\n", json_string_value(json_array_get(v, 0)));
    CHECK_EQ(json_array_size(v), 0);
    json_decref(st);
}

/* ---- running operations on a test loop --------------------------------- */

typedef struct outcome {
    int calls;
    int code;
    char msg[512];
    strata_forge_pr *pr;
} outcome;

static void
outcome_release(outcome *o)
{
    strata_forge_pr_free(o->pr);
    memset(o, 0, sizeof(*o));
}

static void
on_done(const strata_forge_pr *pr, const strata_error *err, void *arg)
{
    outcome *o = arg;

    o->calls++;
    if (err != NULL) {
        CHECK(pr == NULL);
        CHECK(err->code != 0);
        o->code = err->code;
        snprintf(o->msg, sizeof(o->msg), "%s", err->msg);
        return;
    }
    o->pr = strata_forge_pr_dup(pr);
}

static char *
api_url(void)
{
    const char *suffix = strcmp(forge_name, "gitlab") == 0  ? "/api/v4"
                         : strcmp(forge_name, "gitea") == 0 ? "/api/v1"
                                                            : "";

    return strata_xasprintf("http://127.0.0.1:%d%s", server_port, suffix);
}

static void
opts_init(strata_forge_opts *o, const char *url, const char *token)
{
    memset(o, 0, sizeof(*o));
    o->api_url = url;
    o->token = token;
    o->retry_base_ms = 20;
    o->max_retry_wait_ms = 3000;
    o->max_retries = 3;
}

/* Runs n requests concurrently on a fresh loop and client. */
static void
run_many(outcome *out, const strata_forge_req *reqs, size_t n,
         const char *token)
{
    uv_loop_t loop;
    strata_forge *f = NULL;
    strata_forge_opts opts;
    strata_error err = {0};
    char *url = api_url();
    size_t i;

    opts_init(&opts, url, token);
    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_OK(strata_forge_new(&f, &loop, strata_forge_lookup(forge_name), &opts,
                              &err),
             &err);
    for (i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        CHECK_OK(strata_forge_start(f, &reqs[i], on_done, &out[i], &err), &err);
        CHECK_EQ(out[i].calls, 0); /* never from inside the starter */
    }
    CHECK_EQ(strata_forge_active(f), n);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (i = 0; i < n; i++)
        CHECK_EQ(out[i].calls, 1);
    CHECK_EQ(strata_forge_active(f), 0);
    strata_forge_close(f);
    strata_forge_close(NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&loop), 0);
    free(url);
}

static void
run(outcome *out, const strata_forge_req *req)
{
    run_many(out, req, 1, TOKEN);
}

static const char *const labels[] = {"dependencies", "strata"};

/* GitLab reviewers are user ids; the others logins. */
static const char *
reviewer(int which)
{
    if (strcmp(forge_name, "gitlab") == 0)
        return which ? "7" : "42";
    return which ? "bob" : "alice";
}

static void
ensure_req(strata_forge_req *r, const char *head, const char *base,
           const char *title, const char *body, const char **rev)
{
    memset(r, 0, sizeof(*r));
    r->verb = STRATA_FORGE_ENSURE;
    r->repo = REPO;
    r->head = head;
    r->base = base;
    r->title = title;
    r->body = body;
    r->draft = 1;
    r->labels = labels;
    r->nlabels = 2;
    r->reviewers = rev;
    r->nreviewers = 1;
}

static const char *
expect_title(const char *t)
{
    static char buf[128];

    /* GitLab drafts are a title prefix. */
    snprintf(buf, sizeof(buf), "%s%s",
             strcmp(forge_name, "gitlab") == 0 ? "Draft: " : "", t);
    return buf;
}

/* ---- the tests, run once per forge ------------------------------------- */

TEST(ensure_creates_one)
{
    const char *rev[] = {reviewer(0)};
    strata_forge_req r;
    outcome o;
    json_t *st, *p;
    int nopen;

    admin_do("reset", "{}");
    ensure_req(&r, "strata/pin-debian", "main", "Pin debian:12-slim",
               "base digest sha256:aaa", rev);
    run(&o, &r);
    CHECK_OK(o.code, &o);
    CHECK(o.pr != NULL);
    CHECK_EQ(o.pr->created, 1);
    CHECK_EQ(o.pr->number, 1);
    CHECK_STR_EQ(o.pr->state, "open");
    CHECK_STR_EQ(o.pr->head, "strata/pin-debian");
    CHECK_STR_EQ(o.pr->base, "main");
    CHECK(o.pr->url != NULL);
    st = admin("state", NULL);
    CHECK_EQ(json_array_size(json_object_get(st, "pulls")), 1);
    p = pull_by_head(st, "strata/pin-debian", &nopen);
    CHECK_EQ(nopen, 1);
    CHECK_STR_EQ(json_string_value(json_object_get(p, "title")),
                 expect_title("Pin debian:12-slim"));
    CHECK_STR_EQ(json_string_value(json_object_get(p, "body")),
                 "base digest sha256:aaa");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "base")), "main");
    CHECK(json_list_has(json_object_get(p, "labels"), "dependencies"));
    CHECK(json_list_has(json_object_get(p, "labels"), "strata"));
    CHECK(json_list_has(json_object_get(p, "reviewers"), reviewer(0)));
    if (strcmp(forge_name, "github") == 0)
        CHECK(json_is_true(json_object_get(p, "draft")));
    json_decref(st);
    outcome_release(&o);
}

TEST(ensure_again_updates_same)
{
    const char *rev[] = {reviewer(0)};
    strata_forge_req r;
    outcome o;
    json_t *st, *p;
    int nopen;

    ensure_req(&r, "strata/pin-debian", "release", "Pin debian:12-slim (2)",
               "base digest sha256:bbb", rev);
    run(&o, &r);
    CHECK_OK(o.code, &o);
    CHECK_EQ(o.pr->created, 0);
    CHECK_EQ(o.pr->number, 1);
    CHECK_STR_EQ(o.pr->base, "release");
    st = admin("state", NULL);
    CHECK_EQ(json_array_size(json_object_get(st, "pulls")), 1);
    p = pull_by_head(st, "strata/pin-debian", &nopen);
    CHECK_EQ(nopen, 1);
    CHECK_STR_EQ(json_string_value(json_object_get(p, "title")),
                 expect_title("Pin debian:12-slim (2)"));
    CHECK_STR_EQ(json_string_value(json_object_get(p, "body")),
                 "base digest sha256:bbb");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "base")), "release");
    CHECK_EQ(json_array_size(json_object_get(p, "labels")), 2);
    json_decref(st);
    outcome_release(&o);
}

TEST(race_already_exists_updates)
{
    const char *rev[] = {reviewer(0)};
    strata_forge_req r;
    outcome o;
    json_t *st, *p;
    int nopen;

    admin_do("reset", "{}");
    admin_do("race", "{\"repo\": \"" REPO "\", \"head\": "
                     "\"strata/pin-debian\", \"base\": \"main\"}");
    ensure_req(&r, "strata/pin-debian", "main", "Pin debian (race)", "b", rev);
    run(&o, &r);
    CHECK_OK(o.code, &o);
    CHECK_EQ(o.pr->created, 0);
    st = admin("state", NULL);
    CHECK_EQ(json_array_size(json_object_get(st, "pulls")), 1);
    p = pull_by_head(st, "strata/pin-debian", &nopen);
    CHECK_EQ(nopen, 1);
    CHECK_STR_EQ(json_string_value(json_object_get(p, "user")), "someone-else");
    CHECK_STR_EQ(json_string_value(json_object_get(p, "title")),
                 expect_title("Pin debian (race)"));
    CHECK_EQ(log_count(st, strcmp(forge_name, "github") == 0 ? 422 : 409), 1);
    json_decref(st);
    outcome_release(&o);
}

TEST(rate_limit_retried)
{
    const char *rev[] = {reviewer(0)};
    strata_forge_req r;
    outcome o;
    json_t *st;
    int64_t t0;

    admin_do("reset", "{}");
    fail_next("GET", "pulls|merge_requests", 429, 1,
              "\"headers\": {\"Retry-After\": \"1\"}");
    ensure_req(&r, "strata/pin-alpine", "main", "Pin alpine", "x", rev);
    t0 = strata_now_ms();
    run(&o, &r);
    CHECK_OK(o.code, &o);
    CHECK_EQ(o.pr->created, 1);
    CHECK(strata_now_ms() - t0 >= 900); /* Retry-After was honoured */
    st = admin("state", NULL);
    CHECK_EQ(log_count(st, 429), 1);
    CHECK_EQ(json_array_size(json_object_get(st, "pulls")), 1);
    json_decref(st);
    outcome_release(&o);
}

TEST(rate_limit_exhausted)
{
    const char *rev[] = {reviewer(0)};
    strata_forge_req r;
    outcome o;
    int64_t t0;

    admin_do("reset", "{}");
    fail_next("GET", "pulls|merge_requests", 429, 1,
              "\"headers\": {\"Retry-After\": \"3600\"}");
    ensure_req(&r, "strata/pin-alpine", "main", "Pin alpine", "x", rev);
    t0 = strata_now_ms();
    run(&o, &r);
    CHECK_EQ(o.code, STRATA_ERATELIMIT);
    CHECK(strata_now_ms() - t0 < 2000); /* no hour-long wait */
    CHECK_CONTAINS(o.msg, "rate limit");
    outcome_release(&o);
    /* GitHub's primary limit: 403 with x-ratelimit-remaining: 0. */
    if (strcmp(forge_name, "github") == 0) {
        char extra[160];

        snprintf(extra, sizeof(extra),
                 "\"headers\": {\"x-ratelimit-remaining\": \"0\", "
                 "\"x-ratelimit-reset\": \"%lld\"}",
                 (long long) (strata_now_ms() / 1000 + 1));
        fail_next("GET", "pulls", 403, 1, extra);
        run(&o, &r);
        CHECK_OK(o.code, &o);
        outcome_release(&o);
    }
}

TEST(auth_and_not_found)
{
    const char *rev[] = {reviewer(0)};
    const char *forge_msg =
        strcmp(forge_name, "github") == 0   ? "Bad credentials"
        : strcmp(forge_name, "gitlab") == 0 ? "401 Unauthorized"
                                            : "token is required";
    strata_forge_req r;
    outcome o;

    ensure_req(&r, "strata/pin-alpine", "main", "Pin alpine", "x", rev);
    run_many(&o, &r, 1, "wrong-token-zzz");
    CHECK_EQ(o.code, STRATA_EAUTH);
    CHECK_CONTAINS(o.msg, forge_msg);
    CHECK(strstr(o.msg, "wrong-token-zzz") == NULL);
    CHECK(strstr(o.msg, TOKEN) == NULL);
    outcome_release(&o);

    r.repo = "acme/nope";
    run(&o, &r);
    CHECK_EQ(o.code, STRATA_ENOTFOUND);
    CHECK_CONTAINS(o.msg,
                   "repository 'acme/nope' not found or token lacks access");
    CHECK(strstr(o.msg, TOKEN) == NULL);
    outcome_release(&o);
}

TEST(server_error_retried)
{
    const char *rev[] = {reviewer(0)};
    strata_forge_req r;
    outcome o;
    json_t *st;

    admin_do("reset", "{}");
    fail_next("POST", "pulls$|merge_requests$", 500, 2, NULL);
    ensure_req(&r, "strata/pin-alpine", "main", "Pin alpine", "x", rev);
    run(&o, &r);
    CHECK_OK(o.code, &o);
    CHECK_EQ(o.pr->created, 1);
    st = admin("state", NULL);
    CHECK_EQ(log_count(st, 500), 2);
    CHECK_EQ(json_array_size(json_object_get(st, "pulls")), 1);
    json_decref(st);
    outcome_release(&o);

    /* A forge that keeps failing: reported after the bounded retries. */
    fail_next("GET", "pulls|merge_requests", 503, 10, NULL);
    run(&o, &r);
    CHECK_EQ(o.code, STRATA_EHTTP);
    CHECK_CONTAINS(o.msg, "503");
    CHECK_CONTAINS(o.msg, "after 4 attempts");
    outcome_release(&o);
    admin_do("reset", "{}");
}

TEST(malformed_reply)
{
    const char *rev[] = {reviewer(0)};
    strata_forge_req r;
    outcome o;

    fail_next("GET", "pulls|merge_requests", 200, 1,
              "\"raw\": \"<html>oops</html>\"");
    ensure_req(&r, "strata/pin-alpine", "main", "Pin alpine", "x", rev);
    run(&o, &r);
    CHECK_EQ(o.code, STRATA_EPROTO);
    CHECK_CONTAINS(o.msg, "malformed reply to 'list");
    outcome_release(&o);

    fail_next("GET", "pulls|merge_requests", 200, 1, "\"body\": {\"a\": 1}");
    run(&o, &r);
    CHECK_EQ(o.code, STRATA_EPROTO);
    outcome_release(&o);
}

TEST(labels_and_reviewers)
{
    const char *rev[] = {reviewer(0)};
    const char *more_labels[] = {"security"};
    const char *more_rev[] = {reviewer(1)};
    strata_forge_req r;
    outcome o;
    json_t *st, *p;
    int nopen;
    int64_t number;

    admin_do("reset", "{}");
    ensure_req(&r, "strata/pin-alpine", "main", "Pin alpine", "x", rev);
    r.nlabels = 0;
    r.nreviewers = 0;
    run(&o, &r);
    CHECK_OK(o.code, &o);
    number = o.pr->number;
    outcome_release(&o);

    memset(&r, 0, sizeof(r));
    r.verb = STRATA_FORGE_LABEL;
    r.repo = REPO;
    r.number = number;
    r.labels = more_labels;
    r.nlabels = 1;
    run(&o, &r);
    CHECK_OK(o.code, &o);
    CHECK_EQ(o.pr->number, number);
    outcome_release(&o);

    r.verb = STRATA_FORGE_REVIEW;
    r.reviewers = more_rev;
    r.nreviewers = 1;
    run(&o, &r);
    CHECK_OK(o.code, &o);
    outcome_release(&o);

    st = admin("state", NULL);
    p = pull_by_head(st, "strata/pin-alpine", &nopen);
    CHECK(json_list_has(json_object_get(p, "labels"), "security"));
    CHECK(json_list_has(json_object_get(p, "reviewers"), reviewer(1)));
    json_decref(st);
}

TEST(close_with_comment)
{
    strata_forge_req r;
    outcome o;
    json_t *st, *p;
    int nopen;
    strata_forge_pr *found = NULL;
    strata_forge_opts opts;
    strata_error err = {0};
    char *url = api_url();

    memset(&r, 0, sizeof(r));
    r.verb = STRATA_FORGE_CLOSE;
    r.repo = REPO;
    r.number = 1;
    r.comment = "superseded by sha256:ccc";
    run(&o, &r);
    CHECK_OK(o.code, &o);
    CHECK_STR_EQ(o.pr->state, "closed");
    outcome_release(&o);
    st = admin("state", NULL);
    p = pull_by_head(st, "strata/pin-alpine", &nopen);
    CHECK_EQ(nopen, 0);
    CHECK(json_list_has(json_object_get(p, "comments"),
                        "superseded by sha256:ccc"));
    json_decref(st);

    /* Nothing open now: the sync FIND finds nothing. */
    opts_init(&opts, url, TOKEN);
    memset(&r, 0, sizeof(r));
    r.verb = STRATA_FORGE_FIND;
    r.repo = REPO;
    r.head = "strata/pin-alpine";
    CHECK_OK(strata_forge_run(&found, strata_forge_lookup(forge_name), &opts,
                              &r, &err),
             &err);
    CHECK(found == NULL);
    free(url);
}

TEST(concurrent_ensures_and_find)
{
    const char *rev[] = {reviewer(0)};
    strata_forge_req r[2];
    outcome o[2];
    strata_forge_pr *found = NULL;
    strata_forge_opts opts;
    strata_error err = {0};
    char *url = api_url();
    json_t *st;

    admin_do("reset", "{}");
    ensure_req(&r[0], "strata/pin-debian", "main", "Pin debian", "a", rev);
    ensure_req(&r[1], "strata/pin-alpine", "main", "Pin alpine", "b", rev);
    run_many(o, r, 2, TOKEN);
    CHECK_OK(o[0].code, &o[0]);
    CHECK_OK(o[1].code, &o[1]);
    CHECK(o[0].pr->number != o[1].pr->number);
    st = admin("state", NULL);
    CHECK_EQ(json_array_size(json_object_get(st, "pulls")), 2);
    json_decref(st);

    opts_init(&opts, url, TOKEN);
    r[0].verb = STRATA_FORGE_FIND;
    CHECK_OK(strata_forge_run(&found, strata_forge_lookup(forge_name), &opts,
                              &r[0], &err),
             &err);
    CHECK(found != NULL);
    CHECK_EQ(found->number, o[0].pr->number);
    CHECK_STR_EQ(found->head, "strata/pin-debian");
    strata_forge_pr_free(found);
    outcome_release(&o[0]);
    outcome_release(&o[1]);
    free(url);
}

static void
on_close_timer(uv_timer_t *t)
{
    strata_forge_close(t->data);
    uv_close((uv_handle_t *) t, NULL);
}

TEST(starter_contract_and_cancel)
{
    const char *rev[] = {reviewer(0)};
    uv_loop_t loop;
    uv_timer_t timer;
    strata_forge *f = NULL;
    strata_forge_opts opts;
    strata_forge_req r;
    strata_error err = {0};
    outcome o = {0};
    char *url = api_url();

    opts_init(&opts, url, TOKEN);
    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_OK(strata_forge_new(&f, &loop, strata_forge_lookup(forge_name), &opts,
                              &err),
             &err);
    /* A request missing its head: an error, and no callback ever. */
    ensure_req(&r, "strata/pin-alpine", "main", "Pin alpine", "x", rev);
    r.head = NULL;
    CHECK_EQ(strata_forge_start(f, &r, on_done, &o, &err), STRATA_EINVAL);
    r.head = "strata/pin-alpine";
    r.repo = "acme/app?x=1";
    CHECK_EQ(strata_forge_start(f, &r, on_done, &o, &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "invalid repository name");
    r.repo = REPO;
    /* A rate limit that makes it wait; closing cancels the wait. */
    r.head = "strata/pin-alpine";
    fail_next("GET", "pulls|merge_requests", 429, 1,
              "\"headers\": {\"Retry-After\": \"2\"}");
    CHECK_OK(strata_forge_start(f, &r, on_done, &o, &err), &err);
    uv_timer_init(&loop, &timer);
    timer.data = f;
    uv_timer_start(&timer, on_close_timer, 500, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(o.calls, 1);
    CHECK_EQ(o.code, STRATA_ECANCELED);
    CHECK_EQ(uv_loop_close(&loop), 0);
    outcome_release(&o);
    free(url);
}

static void
suite(const char *forge)
{
    start_server(forge);
    printf("# forge %s on port %d\n", forge, server_port);
    RUN(ensure_creates_one);
    RUN(ensure_again_updates_same);
    RUN(race_already_exists_updates);
    RUN(rate_limit_retried);
    RUN(rate_limit_exhausted);
    RUN(auth_and_not_found);
    RUN(server_error_retried);
    RUN(malformed_reply);
    RUN(labels_and_reviewers);
    RUN(close_with_comment);
    RUN(concurrent_ensures_and_find);
    RUN(starter_contract_and_cancel);
    RUN(check_no_violations);
    stop_server();
}

TEST(lookup)
{
    CHECK(strata_forge_lookup("github") != NULL);
    CHECK(strata_forge_lookup("gitlab") != NULL);
    CHECK(strata_forge_lookup("gitea") != NULL);
    CHECK(strata_forge_lookup("bitbucket") == NULL);
    CHECK(strata_forge_lookup(NULL) == NULL);
    CHECK_STR_EQ(strata_forge_backend_name(strata_forge_lookup("gitlab")),
                 "gitlab");
}

int
main(void)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        SKIP_ALL("no /usr/bin/python3");
    atexit(stop_server);
    signal(SIGPIPE, SIG_IGN);
    RUN(lookup);
    suite("github");
    suite("gitlab");
    suite("gitea");
    return harness_done();
}
