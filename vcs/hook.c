/*
 * hook.c - git push webhooks from forges: verifying a delivery the way
 * each forge signs it (GitHub: X-Hub-Signature-256 "sha256=" HMAC-SHA256
 * of the body; Gitea/Forgejo: X-Gitea-Signature, the bare hex HMAC;
 * GitLab: X-Gitlab-Token, the secret itself), then reading which
 * repository was pushed and which ref, and telling whether a URL names a
 * configured repository. Comparisons of secrets and MACs are constant
 * time; nothing here logs, and no message holds a secret.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "vcs.h"

/* Deliveries larger than this are refused before parsing. */
#define MAX_BODY (25 * 1024 * 1024)

static const char *const kind_names[] = {"github", "gitlab", "gitea"};

static const char *
kind_name(strata_vcs_hook_kind kind)
{
    return (unsigned) kind < sizeof(kind_names) / sizeof(kind_names[0])
               ? kind_names[kind]
               : "unknown";
}

static int
verify(strata_vcs_hook_kind kind, const char *secret,
       const strata_vcs_hook_request *req, strata_error *err)
{
    const char *sig = req->signature;

    switch (kind) {
    case STRATA_VCS_HOOK_GITHUB:
        if (sig == NULL || *sig == '\0')
            return strata_error_set(err, STRATA_EAUTH,
                                    "delivery has no X-Hub-Signature-256 "
                                    "header (set the webhook's secret)");
        if (strncasecmp(sig, "sha256=", 7) != 0 ||
            !strata_hmac_sha256_verify(sig + 7, strlen(sig + 7), secret,
                                       req->body, req->body_len))
            return strata_error_set(err, STRATA_EAUTH,
                                    "X-Hub-Signature-256 does not match the "
                                    "body and the configured secret");
        return 0;
    case STRATA_VCS_HOOK_GITEA:
        if (sig == NULL || *sig == '\0')
            return strata_error_set(err, STRATA_EAUTH,
                                    "delivery has no X-Gitea-Signature header "
                                    "(set the webhook's secret)");
        if (!strata_hmac_sha256_verify(sig, strlen(sig), secret, req->body,
                                       req->body_len))
            return strata_error_set(err, STRATA_EAUTH,
                                    "X-Gitea-Signature does not match the "
                                    "body and the configured secret");
        return 0;
    case STRATA_VCS_HOOK_GITLAB: {
        if (req->token == NULL || *req->token == '\0')
            return strata_error_set(err, STRATA_EAUTH,
                                    "delivery has no X-Gitlab-Token header "
                                    "(set the webhook's secret token)");
        if (!strata_secret_equal(req->token, strlen(req->token), secret))
            return strata_error_set(err, STRATA_EAUTH,
                                    "X-Gitlab-Token is not the configured "
                                    "secret");
        return 0;
    }
    }
    return strata_error_set(err, STRATA_EINVAL, "unknown webhook kind %d",
                            (int) kind);
}

/* Is the event a push? NULL (no header) is taken as one. */
static int
is_push(strata_vcs_hook_kind kind, const char *event)
{
    if (event == NULL)
        return 1;
    if (kind == STRATA_VCS_HOOK_GITLAB)
        return strcmp(event, "Push Hook") == 0;
    return strcmp(event, "push") == 0;
}

static void
add_url(strata_vcs_hook_push *out, const json_t *v)
{
    const char *s = json_string_value(v);

    if (s == NULL || *s == '\0' || out->nurls >= 8)
        return;
    out->urls = strata_xrealloc(out->urls, (out->nurls + 1) * sizeof(char *));
    out->urls[out->nurls++] = strata_xstrdup(s);
}

int
strata_vcs_hook_parse(strata_vcs_hook_push *out, strata_vcs_hook_kind kind,
                      const char *secret, const strata_vcs_hook_request *req,
                      strata_error *err)
{
    static const char *const github_keys[] = {"clone_url", "ssh_url",
                                              "html_url", "git_url"};
    static const char *const gitlab_keys[] = {"git_http_url", "git_ssh_url",
                                              "web_url"};
    const json_t *repo;
    json_error_t jerr;
    json_t *doc;
    size_t i;
    int rc;

    memset(out, 0, sizeof(*out));
    if (secret == NULL || *secret == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "a %s webhook needs a secret", kind_name(kind));
    if (req->body_len > MAX_BODY)
        return strata_error_set(err, STRATA_ETOOBIG,
                                "delivery of %zu bytes is larger than %d",
                                req->body_len, MAX_BODY);
    if ((rc = verify(kind, secret, req, err)) != 0)
        return rc;
    if (!is_push(kind, req->event)) {
        out->ignored = 1; /* a ping, or an event we do not act on */
        return 0;
    }
    doc = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return strata_error_set(err, STRATA_EINVAL,
                                "push payload is not a JSON object (line %d: "
                                "%s)",
                                jerr.line, jerr.text);
    }
    if (json_is_string(json_object_get(doc, "ref")))
        out->ref =
            strata_xstrdup(json_string_value(json_object_get(doc, "ref")));
    if (kind == STRATA_VCS_HOOK_GITLAB) {
        repo = json_object_get(doc, "project");
        for (i = 0; i < sizeof(gitlab_keys) / sizeof(gitlab_keys[0]); i++)
            add_url(out, json_object_get(repo, gitlab_keys[i]));
        /* Older GitLab versions put them under "repository". */
        repo = json_object_get(doc, "repository");
        add_url(out, json_object_get(repo, "git_http_url"));
        add_url(out, json_object_get(repo, "git_ssh_url"));
    } else {
        repo = json_object_get(doc, "repository");
        for (i = 0; i < sizeof(github_keys) / sizeof(github_keys[0]); i++)
            add_url(out, json_object_get(repo, github_keys[i]));
    }
    json_decref(doc);
    if (out->ref == NULL || out->nurls == 0) {
        strata_vcs_hook_push_release(out);
        return strata_error_set(err, STRATA_EINVAL, "push payload names no %s",
                                out->ref == NULL ? "ref" : "repository URL");
    }
    return 0;
}

void
strata_vcs_hook_push_release(strata_vcs_hook_push *p)
{
    size_t i;

    if (p == NULL)
        return;
    free(p->ref);
    for (i = 0; i < p->nurls; i++)
        free(p->urls[i]);
    free(p->urls);
    memset(p, 0, sizeof(*p));
}

/*
 * The comparable part of a repository URL: "host/path" with the scheme,
 * any credentials, a trailing "/" and ".git" removed, the host lowercased
 * and an scp-like "git@host:path" read as host/path. The port stays out:
 * a forge's SSH and HTTPS URLs differ in it. New string.
 */
static char *
repo_key(const char *url)
{
    const char *p = strstr(url, "://"), *host, *slash, *at;
    char *out;
    size_t n, i;

    if (p != NULL) {
        host = p + 3;
        slash = host + strcspn(host, "/");
    } else {
        /* scp-like: [user@]host:path */
        host = url;
        slash = strchr(url, ':');
        if (slash == NULL)
            return strata_xstrdup(url);
    }
    at = memchr(host, '@', (size_t) (slash - host));
    if (at != NULL)
        host = at + 1;
    n = strcspn(host, ":/");
    if (host + n > slash)
        n = (size_t) (slash - host);
    p = *slash != '\0' ? slash + 1 : slash;
    while (*p == '/')
        p++;
    out = strata_xasprintf("%.*s/%s", (int) n, host, p);
    for (i = 0; i < n; i++)
        out[i] = (char) tolower((unsigned char) out[i]);
    n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    if (n > 4 && strcmp(out + n - 4, ".git") == 0)
        out[n - 4] = '\0';
    return out;
}

int
strata_vcs_same_repo(const char *a, const char *b)
{
    char *ka = repo_key(a), *kb = repo_key(b);
    int same = strcmp(ka, kb) == 0;

    free(ka);
    free(kb);
    return same;
}
