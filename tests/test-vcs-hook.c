/*
 * test-vcs-hook.c - forge push webhooks (vcs/hook.c): each forge's
 * signature or token accepted only when right, with messages naming the
 * header and never the secret; GitHub, GitLab and Gitea push payloads
 * read into a ref and the repository's URLs; pings and other events
 * ignored; bad payloads refused; repository URLs compared the way forges
 * spell the same repository.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "harness.h"
#include "vcs.h"

#define SECRET "hook-S3cret-81f"

static const char github_push[] =
    "{\"ref\":\"refs/heads/main\",\"before\":\"a\",\"after\":\"b\","
    "\"repository\":{\"full_name\":\"acme/app\","
    "\"clone_url\":\"https://github.com/acme/app.git\","
    "\"ssh_url\":\"git@github.com:acme/app.git\","
    "\"html_url\":\"https://github.com/acme/app\"}}";
static const char gitlab_push[] =
    "{\"object_kind\":\"push\",\"ref\":\"refs/heads/main\","
    "\"project\":{\"path_with_namespace\":\"acme/app\","
    "\"git_http_url\":\"https://gitlab.example.com/acme/app.git\","
    "\"git_ssh_url\":\"git@gitlab.example.com:acme/app.git\","
    "\"web_url\":\"https://gitlab.example.com/acme/app\"}}";

/* The hex HMAC-SHA256 of body with key, after prefix. */
static void
sign(char out[80], const char *prefix, const char *key, const char *body)
{
    unsigned char mac[32];
    unsigned int n = 0;
    int i;

    HMAC(EVP_sha256(), key, (int) strlen(key), (const unsigned char *) body,
         strlen(body), mac, &n);
    snprintf(out, 80, "%s", prefix);
    for (i = 0; i < 32; i++)
        snprintf(out + strlen(prefix) + 2 * i, 3, "%02x", mac[i]);
}

static int
parse(strata_vcs_hook_push *p, strata_vcs_hook_kind kind, const char *body,
      const char *event, const char *sig, const char *token, strata_error *err)
{
    strata_vcs_hook_request r = {0};

    r.body = body;
    r.body_len = strlen(body);
    r.event = event;
    r.signature = sig;
    r.token = token;
    return strata_vcs_hook_parse(p, kind, SECRET, &r, err);
}

TEST(github_push_verified_and_read)
{
    strata_vcs_hook_push p;
    strata_error err = {0};
    char sig[80];

    sign(sig, "sha256=", SECRET, github_push);
    CHECK_OK(
        parse(&p, STRATA_VCS_HOOK_GITHUB, github_push, "push", sig, NULL, &err),
        &err);
    CHECK(!p.ignored);
    CHECK_STR_EQ(p.ref, "refs/heads/main");
    CHECK_EQ(p.nurls, 3);
    CHECK_STR_EQ(p.urls[0], "https://github.com/acme/app.git");
    CHECK_STR_EQ(p.urls[1], "git@github.com:acme/app.git");
    strata_vcs_hook_push_release(&p);
    /* GitHub's header may come in upper case hex. */
    for (char *c = sig; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char) (*c - 'a' + 'A');
    memcpy(sig, "sha256=", 7);
    CHECK_OK(
        parse(&p, STRATA_VCS_HOOK_GITHUB, github_push, NULL, sig, NULL, &err),
        &err);
    strata_vcs_hook_push_release(&p);
    /* A ping (the webhook was just created) is verified, then ignored. */
    sign(sig, "sha256=", SECRET, "{\"zen\":\"x\"}");
    CHECK_OK(parse(&p, STRATA_VCS_HOOK_GITHUB, "{\"zen\":\"x\"}", "ping", sig,
                   NULL, &err),
             &err);
    CHECK(p.ignored);
    CHECK(p.ref == NULL && p.nurls == 0);
}

TEST(github_signature_refused)
{
    strata_vcs_hook_push p;
    strata_error err = {0};
    char sig[80];

    CHECK_EQ(parse(&p, STRATA_VCS_HOOK_GITHUB, github_push, "push", NULL, NULL,
                   &err),
             STRATA_EAUTH);
    CHECK_CONTAINS(err.msg, "X-Hub-Signature-256");
    sign(sig, "sha256=", "another-secret", github_push);
    CHECK_EQ(
        parse(&p, STRATA_VCS_HOOK_GITHUB, github_push, "push", sig, NULL, &err),
        STRATA_EAUTH);
    CHECK(strstr(err.msg, SECRET) == NULL);
    /* The body changed after signing. */
    sign(sig, "sha256=", SECRET, github_push);
    CHECK_EQ(
        parse(&p, STRATA_VCS_HOOK_GITHUB, gitlab_push, "push", sig, NULL, &err),
        STRATA_EAUTH);
    /* SHA-1 signatures (X-Hub-Signature) and truncated ones are refused. */
    CHECK_EQ(parse(&p, STRATA_VCS_HOOK_GITHUB, github_push, "push",
                   "sha1=0123456789abcdef0123456789abcdef01234567", NULL, &err),
             STRATA_EAUTH);
    sig[40] = '\0';
    CHECK_EQ(
        parse(&p, STRATA_VCS_HOOK_GITHUB, github_push, "push", sig, NULL, &err),
        STRATA_EAUTH);
    /* Even a ping must be signed. */
    CHECK_EQ(parse(&p, STRATA_VCS_HOOK_GITHUB, "{}", "ping", "sha256=00", NULL,
                   &err),
             STRATA_EAUTH);
}

TEST(gitlab_token_and_events)
{
    strata_vcs_hook_push p;
    strata_error err = {0};

    CHECK_OK(parse(&p, STRATA_VCS_HOOK_GITLAB, gitlab_push, "Push Hook", NULL,
                   SECRET, &err),
             &err);
    CHECK_STR_EQ(p.ref, "refs/heads/main");
    CHECK_EQ(p.nurls, 3);
    CHECK_STR_EQ(p.urls[0], "https://gitlab.example.com/acme/app.git");
    strata_vcs_hook_push_release(&p);
    CHECK_EQ(parse(&p, STRATA_VCS_HOOK_GITLAB, gitlab_push, "Push Hook", NULL,
                   SECRET "x", &err),
             STRATA_EAUTH);
    CHECK_CONTAINS(err.msg, "X-Gitlab-Token");
    CHECK(strstr(err.msg, SECRET) == NULL);
    CHECK_EQ(parse(&p, STRATA_VCS_HOOK_GITLAB, gitlab_push, "Push Hook", NULL,
                   NULL, &err),
             STRATA_EAUTH);
    /* A tag push or a merge request event: verified, nothing to do. */
    CHECK_OK(parse(&p, STRATA_VCS_HOOK_GITLAB, gitlab_push, "Tag Push Hook",
                   NULL, SECRET, &err),
             &err);
    CHECK(p.ignored);
}

TEST(gitea_signature)
{
    static const char body[] =
        "{\"ref\":\"refs/heads/dev\",\"repository\":{"
        "\"clone_url\":\"https://gitea.example/acme/app.git\","
        "\"ssh_url\":\"ssh://git@gitea.example:2222/acme/app.git\"}}";
    strata_vcs_hook_push p;
    strata_error err = {0};
    char sig[80];

    sign(sig, "", SECRET, body);
    CHECK_OK(parse(&p, STRATA_VCS_HOOK_GITEA, body, "push", sig, NULL, &err),
             &err);
    CHECK_STR_EQ(p.ref, "refs/heads/dev");
    CHECK_EQ(p.nurls, 2);
    strata_vcs_hook_push_release(&p);
    /* Gitea's header has no "sha256=" prefix. */
    sign(sig, "sha256=", SECRET, body);
    CHECK_EQ(parse(&p, STRATA_VCS_HOOK_GITEA, body, "push", sig, NULL, &err),
             STRATA_EAUTH);
    CHECK_CONTAINS(err.msg, "X-Gitea-Signature");
}

TEST(bad_payloads_refused)
{
    static const char *const bodies[] = {
        "",
        "not json",
        "[1, 2]",
        "{\"ref\": \"refs/heads/main\"}",
        "{\"repository\": {\"clone_url\": \"https://h/a/b\"}}",
        "{\"ref\": 7, \"repository\": {\"clone_url\": \"https://h/a/b\"}}",
        "{\"ref\": \"refs/heads/main\", \"repository\": {\"clone_url\": 5}}",
    };
    strata_vcs_hook_push p;
    strata_error err = {0};
    char sig[80];
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        sign(sig, "sha256=", SECRET, bodies[i]);
        CHECK_EQ(parse(&p, STRATA_VCS_HOOK_GITHUB, bodies[i], "push", sig, NULL,
                       &err),
                 STRATA_EINVAL);
        CHECK(err.msg[0] != '\0');
        CHECK(p.ref == NULL && p.urls == NULL);
    }
    {
        strata_vcs_hook_request r = {0};

        r.body = "{}";
        r.body_len = 2;
        CHECK_EQ(
            strata_vcs_hook_parse(&p, STRATA_VCS_HOOK_GITHUB, "", &r, &err),
            STRATA_EINVAL);
        CHECK_CONTAINS(err.msg, "needs a secret");
    }
}

TEST(same_repository_urls)
{
    static const char *const same[][2] = {
        {"https://github.com/acme/app.git", "https://github.com/acme/app"},
        {"git@github.com:acme/app.git", "https://github.com/acme/app"},
        {"ssh://git@GitHub.com:22/acme/app.git",
         "https://github.com/acme/app/"},
        {"https://user:tok@git.example.com/a/b.git",
         "http://git.example.com/a/b"},
        {"https://git.example.com:8443/a/b", "git@git.example.com:a/b"},
        {"file:///srv/git/web.git", "file:///srv/git/web.git"},
        {"file:///srv/git/web.git", "file:///srv/git/web"},
    };
    static const char *const differ[][2] = {
        {"https://github.com/acme/app.git", "https://github.com/acme/api.git"},
        {"https://github.com/acme/app", "https://gitlab.com/acme/app"},
        {"https://github.com/acme/app", "https://github.com/other/app"},
        {"file:///srv/git/web.git", "file:///srv/git/app.git"},
        {"https://github.com/acme/app", "https://github.com/acme/app/sub"},
    };
    size_t i;

    for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        if (!strata_vcs_same_repo(same[i][0], same[i][1]) ||
            !strata_vcs_same_repo(same[i][1], same[i][0]))
            printf("#   should match: %s %s\n", same[i][0], same[i][1]);
        CHECK(strata_vcs_same_repo(same[i][0], same[i][1]));
        CHECK(strata_vcs_same_repo(same[i][1], same[i][0]));
    }
    for (i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
        if (strata_vcs_same_repo(differ[i][0], differ[i][1]))
            printf("#   should differ: %s %s\n", differ[i][0], differ[i][1]);
        CHECK(!strata_vcs_same_repo(differ[i][0], differ[i][1]));
    }
}

int
main(void)
{
    RUN(github_push_verified_and_read);
    RUN(github_signature_refused);
    RUN(gitlab_token_and_events);
    RUN(gitea_signature);
    RUN(bad_payloads_refused);
    RUN(same_repository_urls);
    return harness_done();
}
