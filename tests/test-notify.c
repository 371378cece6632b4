/*
 * test-notify.c - the notify module against real receivers started here
 * on 127.0.0.1: tests/servers/receiver.py (checks webhook, Slack, Teams
 * and Discord payloads against the providers' documented shapes and the
 * HMAC signature, and fails on request) and tests/servers/smtpd.py (a real
 * aiosmtpd SMTP server that saves and parses each mail). The outbox lives
 * in a real sqlite store in a temporary directory; restarts close and
 * reopen it. Every loop test ends with uv_loop_close() == 0.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "harness-server.h"
#include "harness.h"
#include "notify-int.h"

/* Process state on purpose: the atexit() handler must find the servers. */
static pid_t server_pids[2] = {-1, -1};
static int recv_port;
static char tmp_dir[] = "/tmp/strata-test-notify-XXXXXX";

static void
cleanup(void)
{
    char cmd[sizeof(tmp_dir) + 16];
    size_t i;

    for (i = 0; i < 2; i++) {
        if (server_pids[i] > 0) {
            kill(server_pids[i], SIGTERM);
            waitpid(server_pids[i], NULL, 0);
            server_pids[i] = -1;
        }
    }
    if (strchr(tmp_dir, 'X') == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", tmp_dir);
    }
}

/* Starts a python server and returns the port it printed. */
static int
start_server(pid_t *pid, const char *script, char *arg)
{
    char *argv[] = {"/usr/bin/python3", (char *) script, arg, NULL};

    return harness_server_start(pid, argv);
}

static char *
tmp_path(const char *name)
{
    return strata_xasprintf("%s/%s", tmp_dir, name);
}

/* ---- helpers ------------------------------------------------------------ */

static strata_config *
config_from(const char *yaml)
{
    strata_config *c = NULL;
    strata_error err = {0};

    CHECK_OK(strata_config_load_string(&c, yaml, strlen(yaml), "test.yaml",
                                       tmp_dir, NULL, &err),
             &err);
    return c;
}

static strata_store *
store_open(const char *name)
{
    strata_store *st = NULL;
    strata_error err = {0};
    char *path = tmp_path(name);

    CHECK_OK(strata_store_open(&st, path, &err), &err);
    free(path);
    return st;
}

/* Every request the receiver has seen, oldest first. New reference. */
static json_t *
receiver_log(void)
{
    char *url = strata_xasprintf("http://127.0.0.1:%d/_log", recv_port);
    strata_http_request req = {.url = url};
    strata_http_response *resp = NULL;
    strata_error err = {0};
    json_t *log;

    CHECK_OK(strata_http_fetch(&resp, &req, &err), &err);
    CHECK_EQ(resp->status, 200);
    log = json_loadb(resp->body.ptr, resp->body.len, 0, NULL);
    CHECK(json_is_array(log));
    strata_http_response_free(resp);
    free(url);
    return log;
}

/* The requests to paths starting with prefix. New reference. */
static json_t *
requests_to(const char *prefix)
{
    json_t *log = receiver_log(), *out = json_array(), *e;
    size_t i;

    json_array_foreach (log, i, e) {
        const char *p = json_string_value(json_object_get(e, "path"));

        if (strncmp(p, prefix, strlen(prefix)) == 0)
            json_array_append(out, e);
    }
    json_decref(log);
    return out;
}

static const char *
header(const json_t *req, const char *name)
{
    return json_string_value(
        json_object_get(json_object_get(req, "headers"), name));
}

/* How many different X-Strata-Delivery values reqs carry. */
static size_t
unique_deliveries(const json_t *reqs)
{
    strata_strmap *m = strata_strmap_new();
    const json_t *e;
    size_t i, n;

    json_array_foreach (reqs, i, e)
        strata_strmap_put(m, header(e, "x-strata-delivery"), (void *) e);
    n = strata_strmap_len(m);
    strata_strmap_free(m);
    return n;
}

static int64_t
count_in(strata_store *st, const char *sink, strata_store_outbox_state s)
{
    int64_t counts[STRATA_STORE_OUTBOX_NSTATES];
    strata_error err = {0};

    CHECK_OK(strata_store_outbox_count(counts, st, sink, &err), &err);
    return counts[s];
}

/* Runs a notifier until cond(arg) holds when it is idle (or a deadline). */
typedef struct runner {
    strata_notify *n;
    uv_timer_t guard;
    int (*cond)(void *arg);
    void *arg;
    int done;
    int timed_out;
} runner;

static void
runner_stop(runner *r)
{
    if (r->done)
        return;
    r->done = 1;
    uv_timer_stop(&r->guard);
    uv_close((uv_handle_t *) &r->guard, NULL);
    strata_notify_close(r->n, NULL, NULL);
}

static void
on_idle(strata_notify *n, void *arg)
{
    runner *r = arg;

    if (r->cond == NULL || r->cond(r->arg))
        runner_stop(r);
}

static void
on_guard(uv_timer_t *t)
{
    runner *r = t->data;

    r->timed_out = 1;
    runner_stop(r);
}

static strata_notify *
notifier_new(uv_loop_t *loop, strata_store *st, const strata_config *c)
{
    const strata_config_data *d = strata_config_data_get(c);
    strata_notify_options opts = {
        .backoff_ms = 50, .backoff_max_ms = 400, .timeout_ms = 5000};
    strata_notify *n = NULL;
    strata_error err = {0};

    CHECK_OK(
        strata_notify_new(&n, loop, st, d->notify, d->n_notify, &opts, &err),
        &err);
    return n;
}

/* Starts n and runs the loop until cond holds at an idle moment. */
static void
run_until(uv_loop_t *loop, strata_notify *n, int (*cond)(void *), void *arg)
{
    strata_error err = {0};
    runner r = {.n = n, .cond = cond, .arg = arg};

    uv_timer_init(loop, &r.guard);
    r.guard.data = &r;
    uv_timer_start(&r.guard, on_guard, 20000, 0);
    strata_notify_on_idle(n, on_idle, &r);
    CHECK_OK(strata_notify_start(n, &err), &err);
    CHECK_EQ(uv_run(loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(r.timed_out, 0);
}

/* Nothing pending or sending in st. */
static int
all_settled(void *arg)
{
    strata_store *st = arg;

    return count_in(st, NULL, STRATA_STORE_OUTBOX_PENDING) == 0 &&
           count_in(st, NULL, STRATA_STORE_OUTBOX_SENDING) == 0;
}

static size_t
enqueue(strata_notify *n, const char *json)
{
    json_t *e = json_loads(json, 0, NULL);
    strata_error err = {0};
    size_t count = 0;

    CHECK(e != NULL);
    CHECK_OK(strata_notify_enqueue(&count, n, e, &err), &err);
    json_decref(e);
    return count;
}

static const char ev_base[] =
    "{\"type\": \"base.updated\", \"base\": "
    "\"docker.io/library/debian:12-slim\", \"old_digest\": \"sha256:"
    "1111111111111111111111111111111111111111111111111111111111111111\", "
    "\"new_digest\": \"sha256:"
    "2222222222222222222222222222222222222222222222222222222222222222\", "
    "\"impacted\": 3, \"team\": \"platform\"}";
static const char ev_pr[] =
    "{\"type\": \"pr.opened\", \"repo\": \"acme/payments\", \"pr_url\": "
    "\"https://github.com/acme/payments/pull/7\", \"image\": "
    "\"registry.example.com/acme/payments\", \"base\": "
    "\"docker.io/library/debian:12-slim\", \"new_digest\": \"sha256:"
    "2222222222222222222222222222222222222222222222222222222222222222\", "
    "\"packages\": \"12 packages upgraded, 3 added, no removals; Debian "
    "GNU/Linux 12 (bookworm)\", \"packages_major\": false, "
    "\"packages_upgraded\": 12}";
static const char ev_fail[] =
    "{\"type\": \"rebuild.failed\", \"image\": "
    "\"registry.example.com/acme/api\", \"base\": "
    "\"docker.io/library/alpine:3.20\", \"error\": \"exit status 2\", "
    "\"team\": \"payments\"}";

/* ---- unit tests -----------------------------------------------------------
 */

TEST(templates_and_events)
{
    json_t *ev = json_loads(ev_base, 0, NULL), *done = NULL, *bad;
    strata_error err = {0};
    char *s, *title, *text;

    CHECK_OK(strata_notify_event_complete(&done, ev, &err), &err);
    CHECK_STR_EQ(json_string_value(json_object_get(done, "severity")), "info");
    CHECK(strncmp(json_string_value(json_object_get(done, "id")), "evt-", 4) ==
          0);
    CHECK(json_string_value(json_object_get(done, "time")) != NULL);
    s = strata_notify_expand("{base} {new_digest_short} {nope|none} {{x} "
                             "{impacted}",
                             done);
    CHECK_STR_EQ(s, "docker.io/library/debian:12-slim sha256:222222222222 "
                    "none {x} 3");
    free(s);
    strata_notify_render(&title, &text, done, NULL, NULL);
    CHECK_STR_EQ(title, "Base image updated: docker.io/library/debian:12-slim");
    CHECK_STR_EQ(text, "docker.io/library/debian:12-slim now points to "
                       "sha256:222222222222 (was sha256:111111111111). "
                       "Images built on it: 3.");
    free(title);
    free(text);
    json_decref(done);
    /* Each type has the fields its schema requires. */
    bad = json_pack("{s:s, s:s}", "type", "base.updated", "base", "x");
    CHECK_EQ(strata_notify_event_complete(&done, bad, &err), STRATA_EINVAL);
    CHECK_STR_EQ(err.msg, "event 'base.updated' needs a string 'new_digest'");
    json_decref(bad);
    bad = json_pack("{s:s}", "type", "base.exploded");
    CHECK_EQ(strata_notify_event_complete(&done, bad, &err), STRATA_EINVAL);
    CHECK_STR_EQ(err.msg, "unknown event type 'base.exploded'");
    json_decref(bad);
    bad = json_pack("{s:s, s:s, s:s, s:s}", "type", "rebuild.failed", "image",
                    "x", "error", "y", "severity", "doom");
    CHECK_EQ(strata_notify_event_complete(&done, bad, &err), STRATA_EINVAL);
    json_decref(bad);
    /* Every known type renders its sample without leftover braces. */
    {
        const char *const *t;

        for (t = strata_notify_event_types(); *t != NULL; t++) {
            json_t *sample = strata_notify_event_sample(*t), *c = NULL;

            CHECK(sample != NULL);
            CHECK_OK(strata_notify_event_complete(&c, sample, &err), &err);
            strata_notify_render(&title, &text, c, NULL, NULL);
            CHECK(strchr(title, '{') == NULL && strchr(text, '{') == NULL);
            CHECK(strlen(title) > 5 && strlen(text) > 10);
            free(title);
            free(text);
            json_decref(c);
            json_decref(sample);
        }
    }
    json_decref(ev);
}

TEST(routing)
{
    strata_config *c = config_from(
        "notify:\n"
        "  - {name: all, type: webhook, url: http://127.0.0.1:9/a}\n"
        "  - {name: builds, type: webhook, url: http://127.0.0.1:9/b,\n"
        "     events: [rebuild.*]}\n"
        "  - {name: debian, type: webhook, url: http://127.0.0.1:9/c,\n"
        "     filter: {bases: ['docker.io/library/debian:*']}}\n"
        "  - {name: payments-loud, type: webhook, url: http://127.0.0.1:9/d,\n"
        "     filter: {teams: [payments], severity: warning}}\n");
    const strata_config_data *d = strata_config_data_get(c);
    const char *evs[] = {ev_base, ev_pr, ev_fail};
    /* want[event][sink] */
    const int want[3][4] = {{1, 0, 1, 0}, {1, 0, 1, 0}, {1, 1, 0, 1}};
    strata_error err = {0};
    size_t i, j;

    CHECK_EQ(d->n_notify, 4);
    CHECK(strata_notify_type_matches("*", "pr.opened"));
    CHECK(strata_notify_type_matches("pr.*", "pr.opened"));
    CHECK(!strata_notify_type_matches("pr.*", "prx.opened"));
    CHECK(!strata_notify_type_matches("pr.opened", "pr.closed"));
    for (i = 0; i < 3; i++) {
        json_t *raw = json_loads(evs[i], 0, NULL), *e = NULL;

        CHECK_OK(strata_notify_event_complete(&e, raw, &err), &err);
        for (j = 0; j < 4; j++)
            CHECK_EQ(strata_notify_route_matches(&d->notify[j], e), want[i][j]);
        json_decref(e);
        json_decref(raw);
    }
    strata_config_free(c);
}

TEST(signature)
{
    /* RFC 4231, test case 2. */
    char *sig =
        strata_notify__signature("Jefe", "what do ya want for nothing?", 28);

    CHECK_STR_EQ(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d27"
                      "39839dec58b964ec3843");
    free(sig);
}

/* ---- integration tests ------------------------------------------------- */

TEST(payload_shapes)
{
    char *yaml =
        strata_xasprintf("notify:\n"
                         "  - {name: hook, type: webhook, url: "
                         "'http://127.0.0.1:%d/webhook/shapes?secret=s3cret',\n"
                         "     secret: s3cret, headers: {X-Team: platform}}\n"
                         "  - {name: slack, type: slack, url: "
                         "'http://127.0.0.1:%d/slack/T000/B000/XXXX'}\n"
                         "  - {name: teams, type: teams, url: "
                         "'http://127.0.0.1:%d/teams/workflow'}\n"
                         "  - {name: discord, type: discord, url: "
                         "'http://127.0.0.1:%d/discord/123/abc'}\n",
                         recv_port, recv_port, recv_port, recv_port);
    strata_config *c = config_from(yaml);
    strata_store *st = store_open("shapes.db");
    strata_notify *n;
    json_t *reqs, *e;
    uv_loop_t loop;
    size_t i;

    CHECK_EQ(uv_loop_init(&loop), 0);
    n = notifier_new(&loop, st, c);
    CHECK_EQ(enqueue(n, ev_base), 4);
    CHECK_EQ(enqueue(n, ev_pr), 4);
    CHECK_EQ(enqueue(n, ev_fail), 4);
    /* Written before anything is sent. */
    CHECK_EQ(count_in(st, NULL, STRATA_STORE_OUTBOX_PENDING), 12);
    run_until(&loop, n, all_settled, st);
    CHECK_EQ(count_in(st, NULL, STRATA_STORE_OUTBOX_SENT), 12);
    CHECK_EQ(uv_loop_close(&loop), 0);

    reqs = receiver_log();
    CHECK_EQ(json_array_size(reqs), 12);
    json_array_foreach (reqs, i, e) {
        if (!json_is_true(json_object_get(e, "valid")))
            printf("# invalid %s: %s\n",
                   json_string_value(json_object_get(e, "path")),
                   json_string_value(json_object_get(e, "error")));
        CHECK(json_is_true(json_object_get(e, "valid")));
        CHECK_EQ(strlen(header(e, "x-strata-delivery")), 32);
    }
    CHECK_EQ(unique_deliveries(reqs), 12);
    json_decref(reqs);

    /* The generic webhook: signed, custom header, the event as body. */
    reqs = requests_to("/webhook/shapes");
    CHECK_EQ(json_array_size(reqs), 3);
    e = json_array_get(reqs, 0);
    CHECK(json_is_true(json_object_get(e, "sig_ok")));
    CHECK_STR_EQ(header(e, "x-team"), "platform");
    CHECK_STR_EQ(header(e, "x-strata-event"), "base.updated");
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_object_get(e, "body"), "base")),
        "docker.io/library/debian:12-slim");
    json_decref(reqs);

    /* Slack: header block with the title, fallback text. */
    reqs = requests_to("/slack/");
    CHECK_EQ(json_array_size(reqs), 3);
    e = json_object_get(json_array_get(reqs, 1), "body");
    CHECK_STR_EQ(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(e, "blocks"), 0),
                            "text"),
            "text")),
        "Pull request opened: acme/payments");
    CHECK_CONTAINS(json_string_value(json_object_get(e, "text")),
                   "https://github.com/acme/payments/pull/7");
    /* The package delta of a pr.opened is one of its facts. */
    {
        char *blocks = json_dumps(json_object_get(e, "blocks"), 0);

        CHECK_CONTAINS(blocks, "*Packages*\\n12 packages upgraded, 3 added, "
                               "no removals; Debian GNU/Linux 12 (bookworm)");
        free(blocks);
    }
    json_decref(reqs);

    /* Teams: the link becomes an OpenUrl action. */
    reqs = requests_to("/teams/");
    e = json_object_get(
        json_array_get(
            json_object_get(json_object_get(json_array_get(reqs, 1), "body"),
                            "attachments"),
            0),
        "content");
    CHECK_STR_EQ(json_string_value(json_object_get(
                     json_array_get(json_object_get(e, "actions"), 0), "url")),
                 "https://github.com/acme/payments/pull/7");
    {
        char *card = json_dumps(e, 0);

        CHECK_CONTAINS(card, "{\"title\": \"Packages\", \"value\": \"12 "
                             "packages upgraded, 3 added, no removals;");
        free(card);
    }
    json_decref(reqs);

    /* Discord: a warning is orange, mentions are off. */
    reqs = requests_to("/discord/");
    e = json_object_get(json_array_get(reqs, 2), "body");
    CHECK_EQ(json_integer_value(json_object_get(
                 json_array_get(json_object_get(e, "embeds"), 0), "color")),
             0xfea73c);
    CHECK_EQ(json_array_size(json_object_get(
                 json_object_get(e, "allowed_mentions"), "parse")),
             0);
    json_decref(reqs);

    strata_store_close(st);
    strata_config_free(c);
    free(yaml);
}

TEST(outages_and_retry_after)
{
    char *yaml = strata_xasprintf(
        "notify:\n"
        "  - {name: flaky, type: webhook, url: "
        "'http://127.0.0.1:%d/webhook/flaky?fail=2&status=503'}\n"
        "  - {name: limited, type: slack, url: "
        "'http://127.0.0.1:%d/slack/limited?fail=1&status=429&retry_after=1'}\n"
        "  - {name: refused, type: discord, url: "
        "'http://127.0.0.1:%d/discord/refused?fail=9&status=404'}\n",
        recv_port, recv_port, recv_port);
    strata_config *c = config_from(yaml);
    strata_store *st = store_open("outages.db");
    strata_notify *n;
    json_t *reqs, *rows, *row;
    strata_error err = {0};
    uint64_t t0;
    uv_loop_t loop;
    size_t i;

    CHECK_EQ(uv_loop_init(&loop), 0);
    n = notifier_new(&loop, st, c);
    CHECK_EQ(enqueue(n, ev_base), 3);
    t0 = uv_hrtime();
    run_until(&loop, n, all_settled, st);
    CHECK_EQ(uv_loop_close(&loop), 0);

    /* 503, 503, then 200: three tries, one delivery key. */
    reqs = requests_to("/webhook/flaky");
    CHECK_EQ(json_array_size(reqs), 3);
    CHECK_EQ(unique_deliveries(reqs), 1);
    CHECK_EQ(
        json_integer_value(json_object_get(json_array_get(reqs, 2), "status")),
        200);
    json_decref(reqs);
    /* 429 with Retry-After: 1 is honoured (the backoff is 50 ms). */
    reqs = requests_to("/slack/limited");
    CHECK_EQ(json_array_size(reqs), 2);
    CHECK((uv_hrtime() - t0) / 1000000 >= 950);
    json_decref(reqs);
    /* 404 will not get better: dead at once, no second try. */
    reqs = requests_to("/discord/refused");
    CHECK_EQ(json_array_size(reqs), 1);
    json_decref(reqs);

    CHECK_OK(strata_notify_outbox_list(&rows, st, -1, 0, 0, &err), &err);
    CHECK_EQ(json_array_size(rows), 3);
    json_array_foreach (rows, i, row) {
        const char *sink = json_string_value(json_object_get(row, "sink"));
        const char *state = json_string_value(json_object_get(row, "state"));
        json_int_t attempts =
            json_integer_value(json_object_get(row, "attempts"));

        if (strcmp(sink, "flaky") == 0) {
            CHECK_STR_EQ(state, "sent");
            CHECK_EQ(attempts, 3);
        } else if (strcmp(sink, "limited") == 0) {
            CHECK_STR_EQ(state, "sent");
            CHECK_EQ(attempts, 2);
        } else {
            CHECK_STR_EQ(state, "dead");
            CHECK_EQ(attempts, 1);
            CHECK_CONTAINS(
                json_string_value(json_object_get(row, "last_error")),
                "answered HTTP 404");
            /* The URL holds a token: never in a message. */
            CHECK(strstr(json_string_value(json_object_get(row, "last_error")),
                         "/discord/refused") == NULL);
        }
    }
    json_decref(rows);
    strata_store_close(st);
    strata_config_free(c);
    free(yaml);
}

TEST(dead_letter_after_max_attempts)
{
    uv_tcp_t probe;
    struct sockaddr_in addr;
    struct sockaddr_storage name;
    int namelen = sizeof(name), port;
    char *yaml;
    strata_config *c;
    strata_store *st = store_open("dead.db");
    strata_notify *n;
    strata_error err = {0};
    json_t *rows;
    uv_loop_t loop;

    /* A port nobody listens on: bind one, note it, close it. */
    CHECK_EQ(uv_loop_init(&loop), 0);
    uv_tcp_init(&loop, &probe);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    CHECK_EQ(uv_tcp_bind(&probe, (const struct sockaddr *) &addr, 0), 0);
    uv_tcp_getsockname(&probe, (struct sockaddr *) &name, &namelen);
    port = ntohs(((struct sockaddr_in *) &name)->sin_port);
    uv_close((uv_handle_t *) &probe, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    yaml = strata_xasprintf("notify:\n"
                            "  - {name: down, type: webhook, max_attempts: 3,"
                            " url: 'http://127.0.0.1:%d/webhook/down'}\n",
                            port);
    c = config_from(yaml);
    n = notifier_new(&loop, st, c);
    CHECK_EQ(enqueue(n, ev_fail), 1);
    run_until(&loop, n, all_settled, st);
    CHECK_EQ(uv_loop_close(&loop), 0);
    CHECK_EQ(count_in(st, "down", STRATA_STORE_OUTBOX_DEAD), 1);
    CHECK_OK(strata_notify_outbox_list(&rows, st, STRATA_STORE_OUTBOX_DEAD, 0,
                                       0, &err),
             &err);
    CHECK_EQ(json_array_size(rows), 1);
    CHECK_EQ(json_integer_value(
                 json_object_get(json_array_get(rows, 0), "attempts")),
             3);
    CHECK_STR_EQ(
        json_string_value(json_object_get(
            json_object_get(json_array_get(rows, 0), "event"), "type")),
        "rebuild.failed");
    /* A dead letter can be given another round. */
    CHECK_OK(strata_store_outbox_requeue(st,
                                         json_integer_value(json_object_get(
                                             json_array_get(rows, 0), "id")),
                                         &err),
             &err);
    CHECK_EQ(count_in(st, "down", STRATA_STORE_OUTBOX_PENDING), 1);
    json_decref(rows);
    strata_store_close(st);
    strata_config_free(c);
    free(yaml);
}

static int
two_sent(void *arg)
{
    return count_in(arg, NULL, STRATA_STORE_OUTBOX_SENT) >= 2;
}

TEST(restart_loses_nothing_and_doubles_nothing)
{
    /* Two messages a second: the restart comes while three still wait. */
    char *yaml = strata_xasprintf(
        "notify:\n"
        "  - {name: steady, type: webhook, rate_limit: {messages: 2, per: 1s},"
        " url: 'http://127.0.0.1:%d/webhook/restart'}\n",
        recv_port);
    strata_config *c = config_from(yaml);
    strata_store *st = store_open("restart.db");
    strata_notify *n;
    json_t *reqs;
    uv_loop_t loop;
    int i;

    CHECK_EQ(uv_loop_init(&loop), 0);
    n = notifier_new(&loop, st, c);
    for (i = 0; i < 5; i++) {
        char *ev = strata_xasprintf("{\"type\": \"rebuild.started\", \"id\": "
                                    "\"restart-%d\", \"image\": \"img%d\", "
                                    "\"base\": \"debian\"}",
                                    i, i);
        CHECK_EQ(enqueue(n, ev), 1);
        free(ev);
    }
    run_until(&loop, n, two_sent, st);
    CHECK_EQ(uv_loop_close(&loop), 0);
    CHECK(count_in(st, NULL, STRATA_STORE_OUTBOX_PENDING) >= 2);
    strata_store_close(st);

    /* A new process: reopen the store, enqueue a repeat, start again. */
    st = store_open("restart.db");
    CHECK_EQ(uv_loop_init(&loop), 0);
    n = notifier_new(&loop, st, c);
    CHECK_EQ(enqueue(n, "{\"type\": \"rebuild.started\", \"id\": "
                        "\"restart-0\", \"image\": \"img0\", \"base\": "
                        "\"debian\"}"),
             1);
    run_until(&loop, n, all_settled, st);
    CHECK_EQ(uv_loop_close(&loop), 0);
    CHECK_EQ(count_in(st, NULL, STRATA_STORE_OUTBOX_SENT), 5);
    reqs = requests_to("/webhook/restart");
    CHECK_EQ(json_array_size(reqs), 5);
    CHECK_EQ(unique_deliveries(reqs), 5);
    json_decref(reqs);
    strata_store_close(st);
    strata_config_free(c);
    free(yaml);
}

TEST(crash_mid_send_is_detectable)
{
    char *yaml = strata_xasprintf("notify:\n"
                                  "  - {name: crashy, type: webhook, url: "
                                  "'http://127.0.0.1:%d/webhook/crash'}\n",
                                  recv_port);
    strata_config *c = config_from(yaml);
    strata_store *st = store_open("crash.db");
    strata_store_outbox_msg **msgs = NULL, *m = NULL;
    strata_http_response *resp = NULL;
    strata_http_header h[2];
    strata_http_request req = {0};
    strata_error err = {0};
    strata_notify *n;
    json_t *reqs;
    char *url, *body;
    size_t nmsgs = 0;
    uv_loop_t loop;

    CHECK_EQ(uv_loop_init(&loop), 0);
    n = notifier_new(&loop, st, c);
    CHECK_EQ(enqueue(n, ev_pr), 1);
    strata_notify_close(n, NULL, NULL);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(uv_loop_close(&loop), 0);
    /*
     * The process that claimed the message got it to the receiver and died
     * before it could mark it sent.
     */
    CHECK_OK(strata_store_outbox_claim(&msgs, &nmsgs, st, "crashy", 1,
                                       "attempt-1", &err),
             &err);
    CHECK_EQ(nmsgs, 1);
    body = json_dumps(msgs[0]->payload, JSON_COMPACT);
    url = strata_xasprintf("http://127.0.0.1:%d/webhook/crash", recv_port);
    h[0] = (strata_http_header){"Content-Type", "application/json"};
    h[1] = (strata_http_header){"X-Strata-Delivery", msgs[0]->delivery};
    req.method = "POST";
    req.url = url;
    req.headers = h;
    req.nheaders = 2;
    req.body = body;
    req.body_len = strlen(body);
    CHECK_OK(strata_http_fetch(&resp, &req, &err), &err);
    CHECK_EQ(resp->status, 200);
    strata_http_response_free(resp);
    strata_store_close(st);

    /* Restart: the message left "sending" is sent again, same key. */
    st = store_open("crash.db");
    CHECK_EQ(count_in(st, NULL, STRATA_STORE_OUTBOX_SENDING), 1);
    CHECK_EQ(uv_loop_init(&loop), 0);
    n = notifier_new(&loop, st, c);
    run_until(&loop, n, all_settled, st);
    CHECK_EQ(uv_loop_close(&loop), 0);
    reqs = requests_to("/webhook/crash");
    CHECK_EQ(json_array_size(reqs), 2);
    CHECK_EQ(unique_deliveries(reqs), 1);
    CHECK_OK(strata_store_outbox_get(&m, st, msgs[0]->id, &err), &err);
    CHECK_EQ(m->state, STRATA_STORE_OUTBOX_SENT);
    CHECK_EQ(m->attempts, 2);
    strata_store_outbox_msg_free(m);
    json_decref(reqs);
    strata_store_outbox_msgs_free(msgs, nmsgs);
    free(body);
    free(url);
    strata_store_close(st);
    strata_config_free(c);
    free(yaml);
}

TEST(batching)
{
    char *yaml = strata_xasprintf(
        "notify:\n"
        "  - {name: digest, type: webhook, batch: 300ms, url: "
        "'http://127.0.0.1:%d/webhook/batch'}\n"
        "  - {name: slack-digest, type: slack, batch: 300ms, url: "
        "'http://127.0.0.1:%d/slack/batch'}\n",
        recv_port, recv_port);
    strata_config *c = config_from(yaml);
    strata_store *st = store_open("batch.db");
    strata_notify *n;
    json_t *reqs, *body;
    uv_loop_t loop;

    CHECK_EQ(uv_loop_init(&loop), 0);
    n = notifier_new(&loop, st, c);
    CHECK_EQ(enqueue(n, ev_base), 2);
    CHECK_EQ(enqueue(n, ev_pr), 2);
    CHECK_EQ(enqueue(n, ev_fail), 2);
    run_until(&loop, n, all_settled, st);
    CHECK_EQ(uv_loop_close(&loop), 0);
    CHECK_EQ(count_in(st, NULL, STRATA_STORE_OUTBOX_SENT), 6);
    reqs = requests_to("/webhook/batch");
    CHECK_EQ(json_array_size(reqs), 1);
    CHECK_STR_EQ(header(json_array_get(reqs, 0), "x-strata-event"), "digest");
    body = json_object_get(json_array_get(reqs, 0), "body");
    CHECK_STR_EQ(json_string_value(json_object_get(body, "type")), "digest");
    CHECK_EQ(json_integer_value(json_object_get(body, "count")), 3);
    CHECK_STR_EQ(
        json_string_value(json_object_get(
            json_array_get(json_object_get(body, "events"), 2), "type")),
        "rebuild.failed");
    json_decref(reqs);
    reqs = requests_to("/slack/batch");
    CHECK_EQ(json_array_size(reqs), 1);
    CHECK(json_is_true(json_object_get(json_array_get(reqs, 0), "valid")));
    CHECK_CONTAINS(
        json_string_value(json_object_get(
            json_object_get(json_array_get(reqs, 0), "body"), "text")),
        "strata: 3 events");
    json_decref(reqs);
    strata_store_close(st);
    strata_config_free(c);
    free(yaml);
}

/* Reads the smtpd summary N.json (waiting a little for the rename). */
static json_t *
mail_summary(const char *dir, int i)
{
    char *path = strata_xasprintf("%s/%d.json", dir, i);
    json_t *j = NULL;
    int tries;

    for (tries = 0; tries < 50 && j == NULL; tries++) {
        j = json_load_file(path, 0, NULL);
        if (j == NULL)
            usleep(100 * 1000);
    }
    free(path);
    CHECK(j != NULL);
    return j;
}

TEST(email)
{
    char *dir = tmp_path("mail"), *yaml;
    strata_config *c;
    strata_store *st = store_open("mail.db");
    strata_notify *n;
    strata_store_outbox_msg **msgs = NULL;
    json_t *mail, *hdrs, *rows;
    strata_error err = {0};
    uv_loop_t loop;
    int port;
    char want[128];

    if (system("/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null") != 0) {
        printf("# skipped: python3-aiosmtpd is not installed\n");
        strata_store_close(st);
        free(dir);
        return;
    }
    CHECK_EQ(mkdir(dir, 0700), 0);
    port = start_server(&server_pids[1], STRATA_TEST_SMTPD, dir);
    yaml = strata_xasprintf(
        "notify:\n"
        "  - name: mail\n"
        "    type: email\n"
        "    url: 'smtp://127.0.0.1:%d'\n"
        "    from: 'strata <strata@example.org>'\n"
        "    to: [ops@example.org, 'Dev Team <dev@example.org>']\n"
        "    title: 'Mise \xc3\xa0 jour: {base}'\n"
        "  - {name: bounce, type: email, url: 'smtp://127.0.0.1:%d', from: "
        "strata@example.org, to: [nobody@example.org]}\n",
        port, port);
    c = config_from(yaml);
    CHECK_EQ(uv_loop_init(&loop), 0);
    n = notifier_new(&loop, st, c);
    CHECK_EQ(enqueue(n, ev_base), 2);
    run_until(&loop, n, all_settled, st);
    CHECK_EQ(uv_loop_close(&loop), 0);

    CHECK_EQ(count_in(st, "mail", STRATA_STORE_OUTBOX_SENT), 1);
    /* 550 for the only recipient is permanent: dead after one try. */
    CHECK_EQ(count_in(st, "bounce", STRATA_STORE_OUTBOX_DEAD), 1);
    CHECK_OK(strata_notify_outbox_list(&rows, st, STRATA_STORE_OUTBOX_SENT, 0,
                                       0, &err),
             &err);
    snprintf(want, sizeof(want), "<%s@example.org>",
             json_string_value(
                 json_object_get(json_array_get(rows, 0), "delivery")));

    mail = mail_summary(dir, 1);
    hdrs = json_object_get(mail, "headers");
    CHECK_STR_EQ(json_string_value(json_object_get(mail, "mail_from")),
                 "strata@example.org");
    CHECK_EQ(json_array_size(json_object_get(mail, "rcpt_tos")), 2);
    CHECK_STR_EQ(json_string_value(json_object_get(hdrs, "Subject")),
                 "Mise \xc3\xa0 jour: docker.io/library/debian:12-slim");
    CHECK_STR_EQ(json_string_value(json_object_get(hdrs, "From")),
                 "strata <strata@example.org>");
    CHECK_CONTAINS(json_string_value(json_object_get(hdrs, "To")),
                   "Dev Team <dev@example.org>");
    CHECK_STR_EQ(json_string_value(json_object_get(hdrs, "Message-ID")), want);
    CHECK(json_is_true(json_object_get(mail, "date_ok")));
    CHECK_EQ(json_array_size(json_object_get(mail, "alternative")), 2);
    CHECK_STR_EQ(json_string_value(
                     json_array_get(json_object_get(mail, "alternative"), 0)),
                 "text/plain");
    CHECK_STR_EQ(json_string_value(
                     json_array_get(json_object_get(mail, "alternative"), 1)),
                 "text/html");
    CHECK_CONTAINS(json_string_value(json_object_get(mail, "text")),
                   "now points to sha256:222222222222");
    CHECK_CONTAINS(json_string_value(json_object_get(mail, "html")),
                   "<h2>Mise \xc3\xa0 jour: docker.io/library/debian:12-slim"
                   "</h2>");
    CHECK_CONTAINS(json_string_value(json_object_get(mail, "html")),
                   "<th align=\"left\">New digest</th>");
    json_decref(mail);
    json_decref(rows);
    strata_store_outbox_msgs_free(msgs, 0);
    strata_store_close(st);
    strata_config_free(c);
    free(yaml);
    free(dir);
}

TEST(exec_sink)
{
    char *dir = tmp_path("exec"), *yaml, *path;
    strata_config *c;
    strata_store *st = store_open("exec.db");
    strata_notify *n;
    strata_error err = {0};
    json_t *rows, *got;

    CHECK_EQ(mkdir(dir, 0700), 0);
    yaml = strata_xasprintf(
        "notify:\n"
        "  - {name: script, type: exec, command: 'cat > %s/$STRATA_DELIVERY"
        ".$STRATA_EVENT.json'}\n"
        "  - {name: broken, type: exec, max_attempts: 2, command: 'echo "
        "nope >&2; exit 3'}\n",
        dir);
    c = config_from(yaml);
    {
        uv_loop_t loop;

        CHECK_EQ(uv_loop_init(&loop), 0);
        n = notifier_new(&loop, st, c);
        CHECK_EQ(enqueue(n, ev_fail), 2);
        run_until(&loop, n, all_settled, st);
        CHECK_EQ(uv_loop_close(&loop), 0);
    }
    CHECK_OK(strata_notify_outbox_list(&rows, st, -1, 0, 0, &err), &err);
    CHECK_EQ(json_array_size(rows), 2);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(rows, 0), "state")),
        "sent");
    path = strata_xasprintf("%s/%s.rebuild.failed.json", dir,
                            json_string_value(json_object_get(
                                json_array_get(rows, 0), "delivery")));
    got = json_load_file(path, 0, NULL);
    CHECK(got != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(got, "error")),
                 "exit status 2");
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(rows, 1), "state")),
        "dead");
    CHECK_EQ(json_integer_value(
                 json_object_get(json_array_get(rows, 1), "attempts")),
             2);
    CHECK_CONTAINS(json_string_value(
                       json_object_get(json_array_get(rows, 1), "last_error")),
                   "exited with status 3: nope");
    json_decref(got);
    json_decref(rows);
    free(path);
    strata_store_close(st);
    strata_config_free(c);
    free(yaml);
    free(dir);
}

typedef struct test_send {
    int calls;
    strata_error err;
} test_send;

static void
on_test_sent(const strata_error *err, void *arg)
{
    test_send *t = arg;

    t->calls++;
    if (err != NULL)
        t->err = *err;
}

TEST(send_test)
{
    char *yaml = strata_xasprintf(
        "notify:\n"
        "  - {name: ok, type: teams, url: 'http://127.0.0.1:%d/teams/t'}\n"
        "  - {name: bad, type: slack, url: "
        "'http://127.0.0.1:%d/slack/t?fail=5&status=500'}\n",
        recv_port, recv_port);
    strata_config *c = config_from(yaml);
    test_send ok = {0}, bad = {0};
    strata_error err = {0};
    strata_notify *n;
    uv_loop_t loop;

    CHECK_EQ(uv_loop_init(&loop), 0);
    n = notifier_new(&loop, NULL, c);
    CHECK_EQ(strata_notify_send_test(n, "nope", NULL, on_test_sent, &ok, &err),
             STRATA_ENOTFOUND);
    CHECK_OK(strata_notify_send_test(n, "ok", NULL, on_test_sent, &ok, &err),
             &err);
    CHECK_OK(strata_notify_send_test(n, "bad", NULL, on_test_sent, &bad, &err),
             &err);
    CHECK_EQ(ok.calls + bad.calls, 0);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(ok.calls, 1);
    CHECK_EQ(ok.err.code, 0);
    CHECK_EQ(bad.calls, 1);
    CHECK_EQ(bad.err.code, STRATA_EHTTP);
    CHECK_CONTAINS(bad.err.msg, "sink 'bad' answered HTTP 500");
    strata_notify_close(n, NULL, NULL);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(uv_loop_close(&loop), 0);
    strata_config_free(c);
    free(yaml);
}

/* Runs the strata executable with args; returns its exit status. */
static int
run_strata(const char *config, const char *args, char *out, size_t outlen)
{
    const char *exe = getenv("STRATA_EXE");
    char *cmd = strata_xasprintf("%s -c %s %s 2>&1", exe, config, args);
    FILE *p = popen(cmd, "r");
    size_t n;
    int status;

    CHECK(p != NULL);
    n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    status = pclose(p);
    free(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(cli)
{
    char *cfg = tmp_path("cli.yaml"), *db = tmp_path("cli.db"), *yaml;
    strata_error err = {0};
    char out[4096];

    if (getenv("STRATA_EXE") == NULL) {
        printf("# skipped: STRATA_EXE is not set\n");
        free(cfg);
        free(db);
        return;
    }
    yaml = strata_xasprintf(
        "state: %s\n"
        "notify:\n"
        "  - {name: chat, type: discord, url: "
        "'http://127.0.0.1:%d/discord/cli'}\n"
        "  - {name: down, type: webhook, url: "
        "'http://127.0.0.1:%d/webhook/cli?fail=9&status=502'}\n",
        db, recv_port, recv_port);
    CHECK_OK(strata_write_file(cfg, yaml, strlen(yaml), &err), &err);
    CHECK_EQ(run_strata(cfg, "notify test chat", out, sizeof(out)), 0);
    CHECK_CONTAINS(out, "sent a test base.updated notification to 'chat'");
    CHECK_EQ(run_strata(cfg, "notify test chat --event rebuild.failed", out,
                        sizeof(out)),
             0);
    CHECK_EQ(run_strata(cfg, "notify test down", out, sizeof(out)), 1);
    CHECK_CONTAINS(out, "answered HTTP 502");
    CHECK(strstr(out, "/webhook/cli") == NULL);
    CHECK_EQ(run_strata(cfg, "notify test nosuch", out, sizeof(out)), 2);
    CHECK_EQ(run_strata(cfg, "notify test chat --event nope", out, sizeof(out)),
             2);
    CHECK_EQ(run_strata(cfg, "notify outbox --format json", out, sizeof(out)),
             0);
    CHECK_STR_EQ(out, "[]\n");
    CHECK_EQ(run_strata(cfg, "notify outbox", out, sizeof(out)), 0);
    CHECK_CONTAINS(out, "STATE");
    CHECK_EQ(run_strata(cfg, "notify outbox --state bogus", out, sizeof(out)),
             2);
    free(yaml);
    free(cfg);
    free(db);
}

int
main(void)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        SKIP_ALL("no /usr/bin/python3");
    signal(SIGPIPE, SIG_IGN);
    strata_log_setup(STRATA_LOG_ERROR, STRATA_LOG_TEXT);
    CHECK(mkdtemp(tmp_dir) != NULL);
    atexit(cleanup);
    recv_port = start_server(&server_pids[0], STRATA_TEST_RECEIVER, NULL);

    RUN(templates_and_events);
    RUN(routing);
    RUN(signature);
    RUN(payload_shapes);
    RUN(outages_and_retry_after);
    RUN(dead_letter_after_max_attempts);
    RUN(restart_loses_nothing_and_doubles_nothing);
    RUN(crash_mid_send_is_detectable);
    RUN(batching);
    RUN(email);
    RUN(exec_sink);
    RUN(send_test);
    RUN(cli);
    return harness_done();
}
