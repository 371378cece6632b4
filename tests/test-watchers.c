/*
 * test-watchers.c - unit tests for the pure parts of watchers/: versions
 * and semver ranges, tag policies over realistic tag lists, registry
 * webhooks (fixtures under tests/watchers/, forged and malformed
 * deliveries), and the scheduling arithmetic (jitter, spread, backoff,
 * settle windows).
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "watchers.h"

#ifndef WATCHERS_FIXTURES
#error "WATCHERS_FIXTURES must name tests/watchers"
#endif

#define SECRET "s3cr3t-t0ken-for-tests"

static char *
fixture(const char *name, size_t *len)
{
    strata_error err = {0};
    char *path = strata_xasprintf("%s/%s", WATCHERS_FIXTURES, name);
    char *data = NULL;

    CHECK_OK(strata_read_file(&data, len, path, 0, &err), &err);
    free(path);
    return data;
}

/* ---- versions and ranges ------------------------------------------------ */

TEST(version_parse)
{
    strata_semver v;

    CHECK_EQ(strata_semver_parse(&v, "3"), 0);
    CHECK_EQ(v.ncomp, 1);
    CHECK_EQ(v.num[0], 3);
    CHECK_EQ(v.num[1], 0);
    CHECK_STR_EQ(v.rest, "");
    CHECK_EQ(strata_semver_parse(&v, "v3.12.4-slim"), 0);
    CHECK_EQ(v.v_prefix, 1);
    CHECK_EQ(v.ncomp, 3);
    CHECK_EQ(v.num[2], 4);
    CHECK_STR_EQ(v.rest, "-slim");
    CHECK_EQ(strata_semver_parse(&v, "3.13.0rc1-slim"), 0);
    CHECK_STR_EQ(v.rest, "rc1-slim");
    CHECK_EQ(strata_semver_parse(&v, "1.2.3.4"), 0);
    CHECK_STR_EQ(v.rest, ".4");
    CHECK_EQ(strata_semver_parse(&v, "3."), 0);
    CHECK_EQ(v.ncomp, 1);
    CHECK_STR_EQ(v.rest, ".");
    CHECK_EQ(strata_semver_parse(&v, "latest"), STRATA_EINVAL);
    CHECK_EQ(strata_semver_parse(&v, ""), STRATA_EINVAL);
    CHECK_EQ(strata_semver_parse(&v, "v"), STRATA_EINVAL);
    CHECK_EQ(strata_semver_parse(&v, ".1"), STRATA_EINVAL);
    CHECK_EQ(strata_semver_parse(&v, "1234567890"), STRATA_EINVAL);
    CHECK_EQ(strata_semver_parse(&v, "999999999.1"), 0);
}

static int
range_has(const char *range, const char *version)
{
    strata_semver_range *r = NULL;
    strata_semver v;
    strata_error err = {0};
    int m;

    CHECK_OK(strata_semver_range_parse(&r, range, &err), &err);
    CHECK_EQ(strata_semver_parse(&v, version), 0);
    m = strata_semver_range_match(r, &v);
    strata_semver_range_free(r);
    return m;
}

TEST(range_matrix)
{
    static const struct {
        const char *range, *version;
        int want;
    } cases[] = {
        {">=3.11 <3.13", "3.11.0", 1},
        {">=3.11 <3.13", "3.12.99", 1},
        {">=3.11 <3.13", "3.13.0", 0},
        {">=3.11 <3.13", "3.10.14", 0},
        {">=3.11 <3.13", "3.12", 1},
        {">= 3.11 < 3.13", "3.12.4", 1},
        {"", "0.0.1", 1},
        {"*", "42", 1},
        {"x", "1.2.3", 1},
        {"3.x", "3.0.0", 1},
        {"3.x", "3.99.1", 1},
        {"3.x", "4.0.0", 0},
        {"3.X.x", "3.5", 1},
        {"3", "3.1", 1},
        {"3", "2.9", 0},
        {"3.12", "3.12.7", 1},
        {"3.12", "3.13.0", 0},
        {"=3.12.4", "3.12.4", 1},
        {"3.12.4", "3.12.5", 0},
        {"v3.12.4", "3.12.4", 1},
        {">3.11", "3.11.9", 0},
        {">3.11", "3.12.0", 1},
        {">3.11.2", "3.11.3", 1},
        {">3.11.2", "3.11.2", 0},
        {">3", "3.99", 0},
        {">3", "4", 1},
        {"<=3.12", "3.12.9", 1},
        {"<=3.12", "3.13.0", 0},
        {"<=3.12.4", "3.12.4", 1},
        {"<=3.12.4", "3.12.5", 0},
        {"<3.x", "2.99", 1},
        {"<3.x", "3.0", 0},
        {"~3.12.4", "3.12.9", 1},
        {"~3.12.4", "3.12.3", 0},
        {"~3.12.4", "3.13.0", 0},
        {"~3.12", "3.12.0", 1},
        {"~3", "3.9", 1},
        {"~3", "4.0", 0},
        {"^3.12.4", "3.99.0", 1},
        {"^3.12.4", "4.0.0", 0},
        {"^3.12.4", "3.12.3", 0},
        {"^0.2.3", "0.2.9", 1},
        {"^0.2.3", "0.3.0", 0},
        {"^0.0.3", "0.0.3", 1},
        {"^0.0.3", "0.0.4", 0},
        {"^0.x", "0.9", 1},
        {"^0.x", "1.0", 0},
        {"^0.0", "0.0.9", 1},
        {"^0.0", "0.1.0", 0},
        {"1.x || >=3.12 <3.13", "1.5", 1},
        {"1.x || >=3.12 <3.13", "2.0", 0},
        {"1.x || >=3.12 <3.13", "3.12.1", 1},
        {"1.x||3.x", "3.1", 1},
        {"<*", "0.0.0", 0},
        {">=*", "0.0.0", 1},
        /* Hyphen ranges, as node-semver reads them. */
        {"1.0 - 1.4", "1.0.0", 1},
        {"1.0 - 1.4", "1.4.9", 1},
        {"1.0 - 1.4", "1.5.0", 0},
        {"1.0 - 1.4", "0.9.9", 0},
        {"1.2.3 - 2.0", "2.0.7", 1},
        {"1.2.3 - 2.0", "2.1.0", 0},
        {"1.2.3 - 2.0", "1.2.2", 0},
        {"1.2.3 - 2.3.4", "2.3.4", 1},
        {"1.2.3 - 2.3.4", "2.3.5", 0},
        {"1.2 - 2", "2.9.9", 1},
        {"1.2 - 2", "3.0.0", 0},
        {"1.2 - 2", "1.1.9", 0},
        {"* - 2", "0.0.1", 1},
        {"1 - *", "99.0.0", 1},
        {"1.0 - 1.4 || 3.x", "3.1", 1},
        {"1.0 - 1.4 || 3.x", "2.0", 0},
        {">= 3.11", "3.11.0", 1},
        {">= 3.11", "3.10.9", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = range_has(cases[i].range, cases[i].version);

        if (got != cases[i].want)
            printf("# range '%s' version '%s'\n", cases[i].range,
                   cases[i].version);
        CHECK_EQ(got, cases[i].want);
    }
}

static void
range_fails(const char *range, const char *msg)
{
    strata_semver_range *r = NULL;
    strata_error err = {0};

    CHECK_EQ(strata_semver_range_parse(&r, range, &err), STRATA_EINVAL);
    CHECK(r == NULL);
    CHECK_CONTAINS(err.msg, msg);
}

TEST(range_errors)
{
    range_fails(">=3.x.y", "invalid semver range '>=3.x.y': 'y' is not a "
                           "number");
    range_fails("3.x.1", "number after a wildcard");
    range_fails("1.2.3.4", "more than three numbers");
    range_fails(">=", "operator '>=' without a version");
    range_fails("1.2.3-rc1", "pre-release");
    range_fails("1.2.3+build5", "pre-release or build");
    range_fails("1 ||", "empty alternative");
    range_fails("|| 1", "empty alternative");
    range_fails("1 || || 2", "empty alternative");
    range_fails(">=1.2.", "ends with a dot");
    range_fails("abc", "'abc' is not a number");
    range_fails("<<1", "unexpected '<1'");
    range_fails("- 1.4", "'-' without a version");
    range_fails("1.2 - >=1.4", "hyphen range needs a plain version");
    range_fails("1.2 -", "hyphen range needs a plain version");
    range_fails("<=1.2.3-rc.1", "pre-release");
    range_fails("1|2", "'1|2' is not a number");
    range_fails("1234567890", "is not a number");
}

/* ---- tag policies ------------------------------------------------------- */

/* Splits the fixture into a NULL-terminated tag array (one allocation). */
static char **
tag_list(char *data, size_t *n)
{
    char **tags = NULL;
    char *line, *save = NULL;

    *n = 0;
    for (line = strtok_r(data, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        tags = strata_xrealloc(tags, (*n + 2) * sizeof(*tags));
        tags[(*n)++] = line;
        tags[*n] = NULL;
    }
    return tags;
}

static const char *
pick(const char *range, const char *suffix, const char *regex,
     const char *const *tags, size_t n)
{
    strata_tag_policy *p = NULL;
    strata_error err = {0};
    const char *best = NULL;
    int rc;

    CHECK_OK(strata_tag_policy_new(&p, range, suffix, regex, &err), &err);
    rc = strata_tag_policy_select(&best, p, tags, n, &err);
    if (rc != 0) {
        CHECK_EQ(rc, STRATA_ENOTFOUND);
        CHECK_CONTAINS(err.msg, "no tag matches the policy");
        CHECK(best == NULL);
    }
    strata_tag_policy_free(p);
    return best ? best : "(none)";
}

TEST(policy_python_slim)
{
    size_t len, n;
    char *data = fixture("python-tags.txt", &len);
    char **tags = tag_list(data, &n);

    CHECK_EQ(n, 25);
    CHECK_STR_EQ(pick(">=3.11 <3.13", "-slim", NULL, (const char **) tags, n),
                 "3.12.4-slim");
    /* Without a suffix only the plain tags count. */
    CHECK_STR_EQ(pick(">=3.11 <3.13", NULL, NULL, (const char **) tags, n),
                 "3.12.4");
    CHECK_STR_EQ(pick("~3.11", "-slim", NULL, (const char **) tags, n),
                 "3.11.9-slim");
    CHECK_STR_EQ(pick(NULL, "-bookworm", NULL, (const char **) tags, n),
                 "3.12.4-bookworm");
    CHECK_STR_EQ(pick(NULL, "-slim-bookworm", NULL, (const char **) tags, n),
                 "3.11.9-slim-bookworm");
    /* Pre-releases (3.13.0rc1-slim, 3.14.0a1-slim) are never chosen. */
    CHECK_STR_EQ(pick(">=3.13", "-slim", NULL, (const char **) tags, n),
                 "3.13.0-slim");
    CHECK_STR_EQ(pick(">=3.14", "-slim", NULL, (const char **) tags, n),
                 "(none)");
    /* A regex filter: only alpine variants, version from the capture. */
    CHECK_STR_EQ(
        pick(NULL, NULL, "^([0-9.]+)-alpine[0-9.]+$", (const char **) tags, n),
        "3.12.4-alpine3.20");
    /* A regex without groups filters; the suffix rule still applies. */
    CHECK_STR_EQ(pick(NULL, "-slim", "^3\\.11", (const char **) tags, n),
                 "3.11.9-slim");
    CHECK_STR_EQ(pick("<3", NULL, NULL, (const char **) tags, n), "(none)");
    free(tags);
    free(data);
}

TEST(policy_tie_break_is_order_independent)
{
    const char *a[] = {"3.12", "3.12.0", "v3.12.0", "3.11.9"};
    const char *b[] = {"3.11.9", "v3.12.0", "3.12.0", "3.12"};
    const char *c[] = {"v2.0.0", "2.0", "v2"};
    const char *d[] = {"2", "v2", NULL, "garbage", "1.9.9"};
    const char *e[] = {"3.12-slim", "3.12.0-slim"};

    CHECK_STR_EQ(pick(NULL, NULL, NULL, a, 4), "3.12.0");
    CHECK_STR_EQ(pick(NULL, NULL, NULL, b, 4), "3.12.0");
    CHECK_STR_EQ(pick(NULL, NULL, NULL, c, 3), "v2.0.0");
    CHECK_STR_EQ(pick(NULL, NULL, NULL, d, 5), "2");
    CHECK_STR_EQ(pick("3.12", "-slim", NULL, e, 2), "3.12.0-slim");
    CHECK_STR_EQ(pick(NULL, NULL, NULL, NULL, 0), "(none)");
}

TEST(policy_regex_capture)
{
    const char *tags[] = {"release-1.9.0",        "release-1.10.2",
                          "release-2.0.0",        "nightly-2026-11-26",
                          "release-1.10.2-debug", "1.99.0"};
    strata_tag_policy *p = NULL;
    strata_semver v;
    strata_error err = {0};

    CHECK_STR_EQ(pick("1.x", NULL, "^release-(.+)$", tags, 6),
                 "release-1.10.2");
    CHECK_STR_EQ(pick(NULL, NULL, "^release-(.+)$", tags, 6), "release-2.0.0");
    /* An optional group that did not take part yields no version. */
    CHECK_STR_EQ(pick(NULL, NULL, "^(x)?[0-9.]+$", tags, 6), "(none)");
    CHECK_OK(strata_tag_policy_new(&p, ">=1.10", NULL, "release-(.*)", &err),
             &err);
    CHECK_EQ(strata_tag_policy_match(&v, p, "release-1.10.2"), 1);
    CHECK_EQ(v.num[1], 10);
    CHECK_STR_EQ(v.rest, "");
    CHECK_EQ(strata_tag_policy_match(&v, p, "release-1.9.0"), 0);
    CHECK_EQ(strata_tag_policy_match(NULL, p, "1.10.2"), 0);
    strata_tag_policy_free(p);
}

TEST(policy_errors)
{
    strata_tag_policy *p = NULL;
    strata_error err = {0};

    CHECK_EQ(strata_tag_policy_new(&p, ">=3.x.y", "-slim", NULL, &err),
             STRATA_EINVAL);
    CHECK(p == NULL);
    CHECK_CONTAINS(err.msg, "invalid semver range '>=3.x.y': ");
    CHECK_EQ(strata_tag_policy_new(&p, NULL, NULL, "(", &err), STRATA_EINVAL);
    CHECK(p == NULL);
    CHECK_CONTAINS(err.msg, "invalid tag regex '(': ");
    /* The rest is regerror()'s text, whatever the libc says. */
    CHECK(strlen(err.msg) > strlen("invalid tag regex '(': "));
    CHECK_EQ(strata_tag_policy_new(&p, NULL, NULL, "a{2,1}", &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "invalid tag regex 'a{2,1}'");
    strata_tag_policy_free(NULL);
}

TEST(policy_many_tags)
{
    enum {
        N = 20000
    };
    char **tags = strata_xmalloc(N * sizeof(*tags));
    strata_tag_policy *p = NULL;
    strata_error err = {0};
    const char *best = NULL;
    size_t i;

    for (i = 0; i < N; i++)
        tags[i] = strata_xasprintf("%zu.%zu.%zu%s", i % 7, (i / 7) % 50, i,
                                   i % 3 ? "-slim" : "");
    CHECK_OK(strata_tag_policy_new(&p, "^5.10", "-slim", NULL, &err), &err);
    CHECK_OK(strata_tag_policy_select(&best, p, (const char **) tags, N, &err),
             &err);
    /* The highest (minor, patch) with i%7==5, i%3!=0 and minor >= 10. */
    {
        size_t want = 0, minor, best_minor = 0;

        for (i = 0; i < N; i++) {
            minor = (i / 7) % 50;
            if (i % 7 == 5 && i % 3 != 0 && minor >= 10 &&
                minor >= best_minor) {
                want = i;
                best_minor = minor;
            }
        }
        CHECK(strcmp(best, tags[want]) == 0 || (printf("# %s\n", best), 0));
    }
    strata_tag_policy_free(p);
    for (i = 0; i < N; i++)
        free(tags[i]);
    free(tags);
}

/* ---- webhooks ----------------------------------------------------------- */

typedef struct delivery {
    strata_watchers_webhook_push *pushes;
    size_t n;
    strata_error err;
    int rc;
} delivery;

static void
deliver(delivery *d, strata_watchers_webhook_kind kind, const char *registry,
        const strata_watchers_webhook_request *req)
{
    strata_watchers_webhook_config cfg = {
        .kind = kind, .secret = SECRET, .registry = registry};

    memset(d, 0, sizeof(*d));
    d->rc =
        strata_watchers_webhook_parse(&d->pushes, &d->n, &cfg, req, &d->err);
    if (d->rc != 0) {
        CHECK(d->pushes == NULL);
        CHECK_EQ(d->n, 0);
        CHECK(d->err.msg[0] != '\0');
        /* Whatever went wrong, the secret is not in the message. */
        CHECK(strstr(d->err.msg, SECRET) == NULL);
    }
}

static void
delivery_free(delivery *d)
{
    strata_watchers_webhook_free(d->pushes, d->n);
    d->pushes = NULL;
    d->n = 0;
}

static void
deliver_body(delivery *d, strata_watchers_webhook_kind kind,
             const char *registry, const char *body, size_t len)
{
    strata_watchers_webhook_request req = {0};
    char *sig = strata_watchers_webhook_sign(SECRET, body, len);

    req.body = body;
    req.body_len = len;
    req.authorization = "Bearer " SECRET;
    req.query = "token=" SECRET;
    req.signature = sig;
    deliver(d, kind, registry, &req);
    free(sig);
}

#define DIST STRATA_WATCHERS_WEBHOOK_DISTRIBUTION
#define HUB STRATA_WATCHERS_WEBHOOK_DOCKERHUB
#define HARBOR STRATA_WATCHERS_WEBHOOK_HARBOR
#define GENERIC STRATA_WATCHERS_WEBHOOK_GENERIC

TEST(webhook_kinds)
{
    strata_watchers_webhook_kind k = DIST;
    strata_error err = {0};

    CHECK_OK(strata_watchers_webhook_kind_parse(&k, "harbor", &err), &err);
    CHECK_EQ(k, HARBOR);
    CHECK_STR_EQ(strata_watchers_webhook_kind_name(k), "harbor");
    CHECK_STR_EQ(strata_watchers_webhook_kind_name(GENERIC), "generic");
    CHECK_EQ(strata_watchers_webhook_kind_parse(&k, "gcr", &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "unknown webhook kind 'gcr'");
}

TEST(webhook_distribution)
{
    size_t len;
    char *body = fixture("distribution-push.json", &len);
    delivery d;

    deliver_body(&d, DIST, NULL, body, len);
    CHECK_OK(d.rc, &d.err);
    /* The blob push, the pull and the push by digest are not pushes. */
    CHECK_EQ(d.n, 2);
    CHECK_STR_EQ(d.pushes[0].ref,
                 "registry.example.com:5000/acme/python:3.12.4-slim");
    CHECK_STR_EQ(d.pushes[0].digest, "sha256:6f0e3b2a7cbb3e8f1b5a0f4cfa5c2a16"
                                     "e3f2a3b9f0a8bb6e5e8c1d2f3a4b5c6d");
    CHECK_STR_EQ(d.pushes[1].ref, "registry.example.com:5000/golden/debian:12");
    delivery_free(&d);
    /* The endpoint's registry overrides the host of the payload. */
    deliver_body(&d, DIST, "mirror.internal:443", body, len);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 2);
    CHECK_STR_EQ(d.pushes[1].ref, "mirror.internal:443/golden/debian:12");
    delivery_free(&d);
    /* A host that would read as a Docker Hub namespace is refused. */
    deliver_body(&d, DIST, "registry", body, len);
    CHECK_EQ(d.rc, STRATA_EPROTO);
    CHECK_CONTAINS(d.err.msg, "'registry' is not a registry host");
    free(body);

    body = fixture("distribution-url-only.json", &len);
    deliver_body(&d, DIST, NULL, body, len);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    CHECK_STR_EQ(d.pushes[0].ref, "127.0.0.1:41234/base/alpine:3.20");
    delivery_free(&d);
    free(body);
}

TEST(webhook_authorization)
{
    static const char *good[] = {"Bearer " SECRET, "bearer   " SECRET,
                                 "BEARER " SECRET, SECRET};
    static const char *bad[] = {"",
                                "Bearer",
                                "Bearer ",
                                "Bearer " SECRET "x",
                                "Bearer s3cr3t",
                                "Basic " SECRET,
                                SECRET " ",
                                "Bearer " SECRET "\n"};
    size_t len, i;
    char *body = fixture("harbor-push.json", &len);
    strata_watchers_webhook_request req = {0};
    delivery d;

    req.body = body;
    req.body_len = len;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        req.authorization = good[i];
        deliver(&d, HARBOR, NULL, &req);
        CHECK_OK(d.rc, &d.err);
        delivery_free(&d);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        req.authorization = bad[i];
        deliver(&d, HARBOR, NULL, &req);
        CHECK_EQ(d.rc, STRATA_EAUTH);
    }
    req.authorization = NULL;
    deliver(&d, DIST, NULL, &req);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "no Authorization header");
    /* Other headers don't stand in for the Authorization header. */
    req.token = SECRET;
    req.query = "token=" SECRET;
    deliver(&d, HARBOR, NULL, &req);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    /* No secret configured is a configuration error, not a pass. */
    {
        strata_watchers_webhook_config cfg = {.kind = DIST, .secret = ""};

        req.authorization = "Bearer ";
        CHECK_EQ(
            strata_watchers_webhook_parse(&d.pushes, &d.n, &cfg, &req, &d.err),
            STRATA_EINVAL);
        CHECK_CONTAINS(d.err.msg, "no secret configured");
        cfg.secret = NULL;
        CHECK_EQ(
            strata_watchers_webhook_parse(&d.pushes, &d.n, &cfg, &req, &d.err),
            STRATA_EINVAL);
    }
    free(body);
}

TEST(webhook_dockerhub)
{
    size_t len;
    char *body = fixture("dockerhub-push.json", &len);
    strata_watchers_webhook_request req = {0};
    delivery d;

    req.body = body;
    req.body_len = len;
    req.query = "source=hub&token=" SECRET "&x=1";
    deliver(&d, HUB, NULL, &req);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    CHECK_STR_EQ(d.pushes[0].ref, "docker.io/acme/api:3.12-slim");
    CHECK(d.pushes[0].digest == NULL);
    delivery_free(&d);
    /* Percent-encoding in the query is decoded. */
    req.query = "token=s3cr3t%2dt0ken%2Dfor-tests";
    deliver(&d, HUB, NULL, &req);
    CHECK_OK(d.rc, &d.err);
    delivery_free(&d);
    /* A proxy may pass the token as a header instead. */
    req.query = NULL;
    req.token = SECRET;
    deliver(&d, HUB, NULL, &req);
    CHECK_OK(d.rc, &d.err);
    delivery_free(&d);
    req.token = NULL;
    deliver(&d, HUB, NULL, &req);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "Docker Hub cannot sign");
    req.query = "token=wrong";
    deliver(&d, HUB, NULL, &req);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "token is wrong");
    req.query = "mytoken=" SECRET;
    deliver(&d, HUB, NULL, &req);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    req.query = "token=" SECRET "%";
    deliver(&d, HUB, NULL, &req);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    req.query = "token=" SECRET "%00junk";
    deliver(&d, HUB, NULL, &req);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    req.query = "token=" SECRET "&token=other";
    deliver(&d, HUB, NULL, &req);
    CHECK_OK(d.rc, &d.err);
    delivery_free(&d);
    /* Official images come as "library/x" and normalise like "x". */
    {
        const char *b = "{\"push_data\":{\"tag\":\"12\"},"
                        "\"repository\":{\"repo_name\":\"library/debian\"}}";

        deliver_body(&d, HUB, NULL, b, strlen(b));
        CHECK_OK(d.rc, &d.err);
        CHECK_STR_EQ(d.pushes[0].ref, "docker.io/library/debian:12");
        delivery_free(&d);
    }
    free(body);
}

TEST(webhook_harbor)
{
    size_t len;
    char *body = fixture("harbor-push.json", &len);
    delivery d;

    deliver_body(&d, HARBOR, NULL, body, len);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1); /* the untagged artifact is skipped */
    CHECK_STR_EQ(d.pushes[0].ref, "harbor.example.com/golden/nginx:1.27");
    CHECK_STR_EQ(d.pushes[0].digest, "sha256:76525f02955aec223342400a080c7302"
                                     "4c995c9db1ba2eabf7505cf3bdf3f1f0");
    delivery_free(&d);
    free(body);
    body = fixture("harbor-pull.json", &len);
    deliver_body(&d, HARBOR, NULL, body, len);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 0);
    CHECK(d.pushes == NULL);
    free(body);
}

TEST(webhook_generic_hmac)
{
    size_t len;
    char *body = fixture("generic-push.json", &len);
    strata_watchers_webhook_request req = {0};
    char *sig = strata_watchers_webhook_sign(SECRET, body, len);
    char *forged = strata_watchers_webhook_sign("not-the-secret", body, len);
    delivery d;

    req.body = body;
    req.body_len = len;
    req.signature = sig;
    deliver(&d, GENERIC, NULL, &req);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 3);
    CHECK_STR_EQ(d.pushes[0].ref, "ghcr.io/acme/base:2.1");
    CHECK_STR_EQ(d.pushes[0].digest, "sha256:abcdefabcdefabcdefabcdefabcdefab"
                                     "cdefabcdefabcdefabcdefabcdefabcd");
    CHECK_STR_EQ(d.pushes[1].ref, "docker.io/library/ubuntu:latest");
    CHECK(d.pushes[1].digest == NULL);
    CHECK_STR_EQ(d.pushes[2].ref, "localhost:5000/golden/debian:12");
    CHECK_STR_EQ(d.pushes[2].digest, "sha256:11111111111111111111111111111111"
                                     "11111111111111111111111111111111");
    delivery_free(&d);
    /* Upper-case hex is the same signature. */
    {
        char *up = strata_xstrdup(sig);
        char *p;

        for (p = up + 7; *p; p++)
            if (*p >= 'a' && *p <= 'f')
                *p = (char) (*p - 'a' + 'A');
        req.signature = up;
        deliver(&d, GENERIC, NULL, &req);
        CHECK_OK(d.rc, &d.err);
        delivery_free(&d);
        free(up);
    }
    /* Forged: signed with another key. */
    req.signature = forged;
    deliver(&d, GENERIC, NULL, &req);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "does not match the body");
    /* Tampered: one byte of the body changed after signing. */
    req.signature = sig;
    body[len / 2] ^= 1;
    deliver(&d, GENERIC, NULL, &req);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    body[len / 2] ^= 1;
    /* Truncated body, same signature. */
    req.body_len = len - 1;
    deliver(&d, GENERIC, NULL, &req);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    req.body_len = len;
    /* Malformed headers. */
    {
        static const char *bad[] = {
            "", "sha256=", "sha1=0123", "sha256=zz", "md5=abc",
            /* 64 characters, one of them not hex */
            ("sha256=0123456789abcdef0123456789abcdef0123456789abcdef01234567"
             "89abcdeg")};
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            req.signature = bad[i];
            deliver(&d, GENERIC, NULL, &req);
            CHECK_EQ(d.rc, STRATA_EAUTH);
        }
        req.signature = sig + 7; /* the hex without "sha256=" */
        deliver(&d, GENERIC, NULL, &req);
        CHECK_EQ(d.rc, STRATA_EAUTH);
        CHECK_CONTAINS(d.err.msg, "malformed X-Strata-Signature");
        req.signature = NULL;
        deliver(&d, GENERIC, NULL, &req);
        CHECK_EQ(d.rc, STRATA_EAUTH);
    }
    /* A token is no substitute for the signature. */
    req.authorization = "Bearer " SECRET;
    req.token = SECRET;
    deliver(&d, GENERIC, NULL, &req);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    free(sig);
    free(forged);
    free(body);
}

TEST(webhook_sign_vector)
{
    /* RFC 4231, test case 2. */
    char *sig = strata_watchers_webhook_sign(
        "Jefe", "what do ya want for nothing?", 28);

    CHECK_STR_EQ(sig, "sha256=5bdcc146bf60754e6a042426089575c7"
                      "5a003f089d2739839dec58b964ec3843");
    free(sig);
    sig = strata_watchers_webhook_sign("k", NULL, 0);
    CHECK_EQ(strlen(sig), 71);
    free(sig);
}

static void
bad_body(strata_watchers_webhook_kind kind, const char *body, int code,
         const char *msg)
{
    delivery d;

    deliver_body(&d, kind, NULL, body, strlen(body));
    if (d.rc != code)
        printf("# body: %s\n# msg: %s\n", body, d.err.msg);
    CHECK_EQ(d.rc, code);
    CHECK_CONTAINS(d.err.msg, msg);
}

TEST(webhook_malformed)
{
    size_t len;
    char *body = fixture("distribution-push.json", &len);
    size_t cut;
    delivery d;

    /* Every truncation of a real payload fails cleanly. */
    for (cut = 0; cut + 1 < len; cut += 7) {
        deliver_body(&d, DIST, NULL, body, cut);
        CHECK(d.rc == STRATA_EPROTO);
    }
    free(body);
    bad_body(DIST, "{\"events\":[{\"action\":\"push\"", STRATA_EPROTO,
             "webhook body is not JSON: ");
    bad_body(DIST, "[]", STRATA_EPROTO, "not a JSON object");
    bad_body(DIST, "\"events\"", STRATA_EPROTO, "not JSON");
    bad_body(DIST, "{}", STRATA_EPROTO, "missing 'events'");
    bad_body(DIST, "{\"events\":{}}", STRATA_EPROTO,
             "'events' is not an array");
    bad_body(DIST, "{\"events\":[7]}", STRATA_EPROTO,
             "'events[0]' is not an object");
    bad_body(DIST, "{\"events\":[{}]}", STRATA_EPROTO,
             "missing 'events[0].action'");
    bad_body(DIST, "{\"events\":[{\"action\":1}]}", STRATA_EPROTO,
             "'events[0].action' is not a string");
    bad_body(DIST, "{\"events\":[{\"action\":\"push\"}]}", STRATA_EPROTO,
             "missing 'events[0].target'");
    bad_body(DIST,
             "{\"events\":[{\"action\":\"push\",\"target\":{\"repository\":"
             "\"a\",\"tag\":5}}]}",
             STRATA_EPROTO, "'events[0].target.tag' is not a string");
    bad_body(DIST,
             "{\"events\":[{\"action\":\"push\",\"target\":{\"repository\":"
             "\"a\",\"tag\":\"1\"}}]}",
             STRATA_EPROTO, "names no registry host");
    bad_body(DIST,
             "{\"events\":[{\"action\":\"push\",\"target\":{\"repository\":"
             "\"a\",\"tag\":\"1\"},\"request\":[]}]}",
             STRATA_EPROTO, "'events[0].request' is not an object");
    bad_body(DIST,
             "{\"events\":[{\"action\":\"push\",\"target\":{\"repository\":"
             "\"Bad Repo\",\"tag\":\"1\"},\"request\":{\"host\":\"r.io\"}}]}",
             STRATA_EPROTO, "webhook events[0]: ");
    bad_body(DIST,
             "{\"events\":[{\"action\":\"push\",\"target\":{\"repository\":"
             "\"a\",\"tag\":\"1@sha256:00\"},\"request\":{\"host\":\"r.io\"}}"
             "]}",
             STRATA_EPROTO, "webhook events[0]");
    bad_body(DIST,
             "{\"events\":[{\"action\":\"push\",\"target\":{\"repository\":"
             "\"a\",\"tag\":\"1\",\"digest\":\"sha256:abc\"},\"request\":{"
             "\"host\":\"r.io\"}}]}",
             STRATA_EPROTO, "webhook events[0]: ");
    bad_body(DIST,
             "{\"events\":[{\"action\":\"push\",\"target\":{\"repository\":"
             "\"a\",\"tag\":\"x\\ny\"},\"request\":{\"host\":\"r.io\"}}]}",
             STRATA_EPROTO, "x?y");
    bad_body(DIST, "{\"events\":[],\"events\":[]}", STRATA_EPROTO, "duplicate");
    bad_body(DIST, "{\"events\":[{\"action\":\"pu\\u0000sh\"}]}", STRATA_EPROTO,
             "not JSON");
    bad_body(HUB, "{\"push_data\":{},\"repository\":{\"repo_name\":\"a/b\"}}",
             STRATA_EPROTO, "missing 'push_data.tag'");
    bad_body(HUB, "{\"push_data\":{\"tag\":\"\"},\"repository\":{}}",
             STRATA_EPROTO, "'push_data.tag' is empty");
    bad_body(HUB, "{\"push_data\":[],\"repository\":{}}", STRATA_EPROTO,
             "'push_data' is not an object");
    bad_body(HARBOR, "{\"type\":\"PUSH_ARTIFACT\"}", STRATA_EPROTO,
             "missing 'event_data'");
    bad_body(HARBOR,
             "{\"type\":\"PUSH_ARTIFACT\",\"event_data\":{\"resources\":[{"
             "\"tag\":\"1\"}],\"repository\":{\"repo_full_name\":\"a/b\"}}}",
             STRATA_EPROTO, "names no registry host");
    bad_body(HARBOR, "{\"type\":7}", STRATA_EPROTO, "'type' is not a string");
    bad_body(
        GENERIC,
        "{\"pushes\":[{\"ref\":\"a@sha256:"
        "0000000000000000000000000000000000000000000000000000000000000000\"}]}",
        STRATA_EPROTO, "has no tag");
    bad_body(GENERIC, "{\"ref\":\"docker.io/Upper:1\"}", STRATA_EPROTO,
             "webhook 'ref': ");
    bad_body(GENERIC, "{\"pushes\":\"x\"}", STRATA_EPROTO, "not an array");
    bad_body(GENERIC, "{\"pushes\":[null]}", STRATA_EPROTO,
             "'pushes[0]' is not an object");
    bad_body(GENERIC,
             "{\"ref\":\"a:1@sha256:"
             "0000000000000000000000000000000000000000000000000000000000000000"
             "\",\"digest\":\"sha256:"
             "1111111111111111111111111111111111111111111111111111111111111111"
             "\"}",
             STRATA_EPROTO, "different digests");
    /* Empty body: verified (the signature of "" is valid), then refused. */
    {
        delivery e;

        deliver_body(&e, GENERIC, NULL, "", 0);
        CHECK_EQ(e.rc, STRATA_EPROTO);
        CHECK_CONTAINS(e.err.msg, "body is empty");
    }
}

TEST(webhook_huge)
{
    strata_buf b = STRATA_BUF_INIT;
    delivery d;
    int i;

    /* Over the body limit. */
    strata_buf_grow(&b, STRATA_WATCHERS_WEBHOOK_MAX_BODY + 2);
    memset(b.ptr, ' ', STRATA_WATCHERS_WEBHOOK_MAX_BODY + 1);
    b.len = STRATA_WATCHERS_WEBHOOK_MAX_BODY + 1;
    b.ptr[b.len] = '\0';
    deliver_body(&d, GENERIC, NULL, b.ptr, b.len);
    CHECK_EQ(d.rc, STRATA_ETOOBIG);
    /* Nesting deeper than the JSON parser allows. */
    strata_buf_reset(&b);
    for (i = 0; i < 100000; i++)
        strata_buf_putc(&b, '[');
    deliver_body(&d, GENERIC, NULL, b.ptr, b.len);
    CHECK_EQ(d.rc, STRATA_EPROTO);
    /* More pushes than one delivery may announce. */
    strata_buf_reset(&b);
    strata_buf_puts(&b, "{\"pushes\":[");
    for (i = 0; i <= STRATA_WATCHERS_WEBHOOK_MAX_PUSHES; i++)
        strata_buf_printf(&b, "%s{\"ref\":\"r.io/a:%d\"}", i ? "," : "", i);
    strata_buf_puts(&b, "]}");
    deliver_body(&d, GENERIC, NULL, b.ptr, b.len);
    CHECK_EQ(d.rc, STRATA_ETOOBIG);
    CHECK_CONTAINS(d.err.msg, "more than 4096 pushes");
    /* Many duplicates collapse into one push. */
    strata_buf_reset(&b);
    strata_buf_puts(&b, "{\"pushes\":[");
    for (i = 0; i < 10000; i++)
        strata_buf_printf(&b, "%s{\"ref\":\"r.io/a:1\"}", i ? "," : "");
    strata_buf_puts(&b, "]}");
    deliver_body(&d, GENERIC, NULL, b.ptr, b.len);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    CHECK_STR_EQ(d.pushes[0].ref, "r.io/a:1");
    delivery_free(&d);
    strata_buf_release(&b);
}

/* ---- scheduling --------------------------------------------------------- */

TEST(schedule_hash_and_grid)
{
    /* sha256("") starts e3b0c44298fc1c14. */
    CHECK(strata_watchers_ref_hash("") == 0xe3b0c44298fc1c14ULL);
    CHECK(strata_watchers_ref_hash("docker.io/library/debian:12") ==
          strata_watchers_ref_hash("docker.io/library/debian:12"));
    CHECK(strata_watchers_ref_hash("docker.io/library/debian:12") !=
          strata_watchers_ref_hash("docker.io/library/debian:11"));
    CHECK_EQ(strata_watchers_phase("", 1000), 0xe3b0c44298fc1c14ULL % 1000);
    CHECK_EQ(strata_watchers_phase("x", 0), 0);
    CHECK_EQ(strata_watchers_grid_next(1000, 300, 1000), 1300);
    CHECK_EQ(strata_watchers_grid_next(1300, 300, 1000), 1300);
    CHECK_EQ(strata_watchers_grid_next(1301, 300, 1000), 2300);
    CHECK_EQ(strata_watchers_grid_next(-1, 300, 1000), 300);
    CHECK_EQ(strata_watchers_grid_next(-1701, 300, 1000), -1700);
    CHECK_EQ(strata_watchers_grid_next(5, 1300, 1000), 300);
    CHECK_EQ(strata_watchers_grid_next(7, 0, 0), 7);
}

TEST(schedule_backoff)
{
    const uint64_t hour = 3600000;

    CHECK_EQ(strata_watchers_backoff_ms(0, hour), 0);
    CHECK_EQ(strata_watchers_backoff_ms(1, hour), 30000);
    CHECK_EQ(strata_watchers_backoff_ms(2, hour), 60000);
    CHECK_EQ(strata_watchers_backoff_ms(3, hour), 120000);
    CHECK_EQ(strata_watchers_backoff_ms(7, hour), 1920000);
    CHECK_EQ(strata_watchers_backoff_ms(8, hour), hour);
    CHECK_EQ(strata_watchers_backoff_ms(4000000000u, hour), hour);
    CHECK_EQ(strata_watchers_backoff_ms(1, 10000), 10000);
    CHECK_EQ(strata_watchers_backoff_ms(200, UINT64_MAX), (uint64_t) 1 << 62);
}

TEST(schedule_next_due)
{
    const uint64_t iv = 900000; /* 15 min */
    const int64_t t0 = 1764166800000LL;
    strata_watchers_watch w = {"docker.io/library/python:3.12", iv, -1, 0};
    uint64_t ph = strata_watchers_phase(w.ref, iv);
    int64_t due;

    /* Never polled: now (its baseline before any push can come). */
    CHECK_EQ(strata_watchers_next_due(&w, ph, t0), t0);
    /* Polled before a restart: somewhere in the coming interval, on the
     * grid. */
    w.last_ms = t0 - (int64_t) iv;
    due = strata_watchers_next_due(&w, ph, t0);
    CHECK(due >= t0 && due < t0 + (int64_t) iv);
    CHECK_EQ(((due % (int64_t) iv) + (int64_t) iv) % (int64_t) iv, ph);
    /* Polled at its grid time (and took 2 s): exactly one interval on. */
    w.last_ms = due;
    CHECK_EQ(strata_watchers_next_due(&w, ph, due + 2000), due + (int64_t) iv);
    /* The phase moved to just after the last poll: still >= I/2 later. */
    {
        uint64_t moved = (uint64_t) ((due + 1000) % (int64_t) iv);
        int64_t d2 = strata_watchers_next_due(&w, moved, due + 2000);

        CHECK(d2 - due >= (int64_t) iv / 2);
        CHECK(d2 - due <= (int64_t) iv * 3 / 2);
    }
    /* Overdue (the daemon was down for a day): the next grid time. */
    CHECK_EQ(strata_watchers_next_due(&w, ph, due + 86400000LL + 1),
             strata_watchers_grid_next(due + 86400000LL + 1, ph, iv));
    /* Errors: 30 s, 60 s after the failed poll, capped by the interval. */
    w.errors = 1;
    CHECK_EQ(strata_watchers_next_due(&w, ph, due + 100), due + 30000);
    w.errors = 2;
    CHECK_EQ(strata_watchers_next_due(&w, ph, due + 100), due + 60000);
    w.errors = 30;
    CHECK_EQ(strata_watchers_next_due(&w, ph, due + 100), due + (int64_t) iv);
    /* An overdue retry goes back on the grid instead of firing at once. */
    w.errors = 1;
    CHECK_EQ(strata_watchers_next_due(&w, ph, due + 40000),
             strata_watchers_grid_next(due + 40000, ph, iv));
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

    return x < y ? -1 : x > y;
}

/* After a restart, 10,000 watches with a baseline are spread evenly. */
TEST(schedule_spreads_ten_thousand)
{
    enum {
        N = 10000
    };
    const uint64_t iv = 900000;
    const int64_t t0 = 1764166800123LL;
    strata_watchers_watch *w = strata_xcalloc(N, sizeof(*w));
    strata_watchers_watch *rev = strata_xcalloc(N, sizeof(*rev));
    int64_t *due = strata_xmalloc(N * sizeof(*due));
    int64_t *due2 = strata_xmalloc(N * sizeof(*due2));
    uint64_t *ph = strata_xmalloc(N * sizeof(*ph));
    char **refs = strata_xmalloc(N * sizeof(*refs));
    size_t i, per_second_max = 0, run = 0;

    for (i = 0; i < N; i++) {
        refs[i] = strata_xasprintf("registry.example.com/team%zu/app:1", i);
        w[i].ref = refs[i];
        w[i].interval_ms = iv;
        /* Each polled an interval ago: the daemon restarts. */
        w[i].last_ms = t0 - (int64_t) iv;
    }
    strata_watchers_schedule(due, ph, w, N, t0);
    for (i = 0; i < N; i++)
        CHECK(due[i] >= t0 && due[i] < t0 + (int64_t) iv);
    /* Same set in another order: the same due time for every ref. */
    for (i = 0; i < N; i++)
        rev[i] = w[N - 1 - i];
    strata_watchers_schedule(due2, NULL, rev, N, t0);
    for (i = 0; i < N; i++)
        CHECK_EQ(due2[N - 1 - i], due[i]);
    /* Evenly: consecutive due times are I/N = 90 ms apart. */
    qsort(due, N, sizeof(*due), cmp_i64);
    for (i = 1; i < N; i++)
        CHECK_EQ(due[i] - due[i - 1], 90);
    /* So no second has more than 12 polls. */
    for (i = 0; i < N; i++) {
        size_t j = i;

        while (j < N && due[j] < due[i] + 1000)
            j++;
        run = j - i;
        if (run > per_second_max)
            per_second_max = run;
    }
    CHECK(per_second_max <= 12);
    /* A per-ref hash alone (no set) would bunch far more: sanity-check
     * that the even spread is what makes the difference. */
    for (i = 0; i < N; i++)
        due2[i] = strata_watchers_next_due(
            &w[i], strata_watchers_phase(w[i].ref, iv), t0);
    qsort(due2, N, sizeof(*due2), cmp_i64);
    run = 0;
    for (i = 0; i < N; i++) {
        size_t j = i;

        while (j < N && due2[j] < due2[i] + 1000)
            j++;
        if (j - i > run)
            run = j - i;
    }
    CHECK(run > per_second_max);
    for (i = 0; i < N; i++)
        free(refs[i]);
    free(refs);
    free(ph);
    free(due2);
    free(due);
    free(rev);
    free(w);
}

TEST(schedule_mixed_intervals)
{
    strata_watchers_watch w[4] = {
        {"a:1", 60000, -1, 0},
        {"b:1", 60000, -1, 0},
        {"c:1", 3600000, -1, 0},
        {"d:1", 60000, 1000, 2},
    };
    int64_t due[4];
    uint64_t ph[4];

    strata_watchers_schedule(due, ph, w, 4, 5000);
    /* Three watches share 1 min: phases 20 s apart. */
    {
        uint64_t p[3] = {ph[0], ph[1], ph[3]};
        int i, j;

        for (i = 0; i < 3; i++) {
            for (j = 0; j < 3; j++) {
                uint64_t d = p[i] > p[j] ? p[i] - p[j] : p[j] - p[i];

                if (i != j)
                    CHECK(d == 20000 || d == 40000);
            }
        }
    }
    CHECK(ph[2] < 3600000);
    CHECK(due[2] >= 5000 && due[2] < 5000 + 3600000);
    /* The failing watch retries 60 s after its last poll. */
    CHECK_EQ(due[3], 61000);
    strata_watchers_schedule(due, ph, w, 0, 0);
}

TEST(settle_window)
{
    strata_watchers_settle s;
    const char *cur = NULL;
    char *old = NULL;
    const uint64_t win = 60000;

    strata_watchers_settle_init(&s, "sha256:a");
    CHECK_EQ(strata_watchers_settle_deadline(&s, win), -1);
    CHECK_EQ(strata_watchers_settle_observe(&s, "sha256:a", 0), 0);
    CHECK_EQ(strata_watchers_settle_take(&cur, &old, &s, 1000000, win), 0);
    /* b at 10 s, c at 30 s (a burst of pushes), c again at 50 s. */
    CHECK_EQ(strata_watchers_settle_observe(&s, "sha256:b", 10000), 1);
    CHECK_EQ(strata_watchers_settle_deadline(&s, win), 70000);
    CHECK_EQ(strata_watchers_settle_observe(&s, "sha256:c", 30000), 1);
    CHECK_EQ(strata_watchers_settle_deadline(&s, win), 90000);
    CHECK_EQ(strata_watchers_settle_observe(&s, "sha256:c", 50000), 1);
    CHECK_EQ(strata_watchers_settle_deadline(&s, win), 90000);
    CHECK_EQ(strata_watchers_settle_take(&cur, &old, &s, 89999, win), 0);
    CHECK_EQ(strata_watchers_settle_take(&cur, &old, &s, 90000, win), 1);
    CHECK_STR_EQ(cur, "sha256:c");
    CHECK_STR_EQ(old, "sha256:a");
    free(old);
    old = NULL;
    /* Reported once. */
    CHECK_EQ(strata_watchers_settle_take(&cur, &old, &s, 200000, win), 0);
    CHECK_EQ(strata_watchers_settle_observe(&s, "sha256:c", 200000), 0);
    /* A change that flips back within the window is no change. */
    CHECK_EQ(strata_watchers_settle_observe(&s, "sha256:d", 300000), 1);
    CHECK_EQ(strata_watchers_settle_observe(&s, "sha256:c", 310000), 0);
    CHECK_EQ(strata_watchers_settle_take(&cur, &old, &s, 900000, win), 0);
    strata_watchers_settle_release(&s);
    /* Nothing known at start: the first digest is a change from NULL. */
    strata_watchers_settle_init(&s, NULL);
    CHECK_EQ(strata_watchers_settle_observe(&s, "sha256:e", 5), 1);
    CHECK_EQ(strata_watchers_settle_take(&cur, &old, &s, 5, 0), 1);
    CHECK(old == NULL);
    CHECK_STR_EQ(cur, "sha256:e");
    CHECK_EQ(strata_watchers_settle_observe(&s, "sha256:f", 10), 1);
    strata_watchers_settle_release(&s);
    strata_watchers_settle_release(&s);
}

int
main(void)
{
    RUN(version_parse);
    RUN(range_matrix);
    RUN(range_errors);
    RUN(policy_python_slim);
    RUN(policy_tie_break_is_order_independent);
    RUN(policy_regex_capture);
    RUN(policy_errors);
    RUN(policy_many_tags);
    RUN(webhook_kinds);
    RUN(webhook_distribution);
    RUN(webhook_authorization);
    RUN(webhook_dockerhub);
    RUN(webhook_harbor);
    RUN(webhook_generic_hmac);
    RUN(webhook_sign_vector);
    RUN(webhook_malformed);
    RUN(webhook_huge);
    RUN(schedule_hash_and_grid);
    RUN(schedule_backoff);
    RUN(schedule_next_due);
    RUN(schedule_spreads_ten_thousand);
    RUN(schedule_mixed_intervals);
    RUN(settle_window);
    return harness_done();
}
