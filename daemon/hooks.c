/*
 * hooks.c - the daemon's webhook endpoints. POST
 * /hooks/registry/NAME takes a registry's push notifications (verified by
 * watchers/webhook.c) and checks the watched references pushed at once;
 * the daemon still believes only what the registry then answers. POST
 * /hooks/git/NAME takes a forge's push webhook (verified by vcs/hook.c)
 * and, for a push to the branch of a configured repository, rescans the
 * repositories at once. A delivery that fails verification gets 401 and
 * changes nothing.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-int.h"
#include "vcs.h"
#include "watchers.h"

/* The webhook NAME of the right family, or NULL after answering 404. */
static const strata_config_webhook *
find_hook(strata_api_req *req, strata_daemon *d, const char *name, int git)
{
    size_t i;

    for (i = 0; i < d->cfg->api.n_webhooks; i++) {
        const strata_config_webhook *h = &d->cfg->api.webhooks[i];

        if (strcmp(h->name, name) != 0)
            continue;
        if (!STRATA_WEBHOOK_IS_GIT(h->kind) == !git)
            return h;
        strata_api_respond_error(req, 404,
                                 "webhook '%s' is a %s webhook: POST "
                                 "/hooks/%s/%s",
                                 name, git ? "registry push" : "git push",
                                 git ? "registry" : "git", name);
        return NULL;
    }
    strata_api_respond_error(req, 404, "no webhook '%s'", name);
    return NULL;
}

/* Any other header for the webhook parser (watchers.h's getter). */
static char *
req_header(void *arg, const char *name)
{
    return strata_api_req_header(arg, name);
}

/*
 * The CloudEvents webhook validation handshake (CloudEvents "HTTP 1.1 Web
 * Hooks" §4.1, which Azure Event Grid sends before its first delivery):
 * an OPTIONS request naming its origin in WebHook-Request-Origin is
 * answered 200 with that origin in WebHook-Allowed-Origin. Only a hook of
 * kind cloudevents consents; the deliveries themselves are verified as
 * every other. An origin that is not a plain host name is refused.
 */
static void
validation_handshake(strata_api_req *req, const strata_config_webhook *hook)
{
    char *origin = strata_api_req_header(req, "webhook-request-origin");
    const char *p;

    if (hook->kind != STRATA_WEBHOOK_CLOUDEVENTS) {
        strata_api_req_add_header(req, "Allow", "POST");
        strata_api_respond_error(req, 405,
                                 "webhook '%s' takes POST only (OPTIONS is "
                                 "the CloudEvents validation handshake)",
                                 hook->name);
        goto out;
    }
    for (p = origin; p != NULL && *p != '\0'; p++)
        if (!isalnum((unsigned char) *p) && strchr(".-:", *p) == NULL)
            break;
    if (origin == NULL || *origin == '\0' || *p != '\0' ||
        strlen(origin) > 253) {
        strata_api_respond_error(req, 400,
                                 "a validation handshake needs a host name in "
                                 "WebHook-Request-Origin");
        goto out;
    }
    strata_api_req_add_header(req, "WebHook-Allowed-Origin", origin);
    strata_api_req_add_header(req, "WebHook-Allowed-Rate", "*");
    strata_api_req_add_header(req, "Allow", "POST, OPTIONS");
    log_info("webhook '%s': validation handshake from '%s' accepted",
             hook->name, origin);
    strata_api_respond(req, 200, NULL, "", 0);
out:
    free(origin);
}

void
strata_daemon__registry_hook(strata_api_req *req, void *arg)
{
    strata_daemon *d = arg;
    const strata_config_webhook *hook = NULL;
    strata_watchers_webhook_config wc = {0};
    strata_watchers_webhook_request wr = {0};
    strata_watchers_webhook_push *pushes = NULL;
    strata_error err = {0};
    char *auth = NULL, *token = NULL, *sig = NULL;
    const char *name = strata_api_req_path_rest(req);
    size_t n = 0, i, triggered = 0;
    json_t *doc;

    if ((hook = find_hook(req, d, name, 0)) == NULL)
        return;
    if (strcmp(strata_api_req_method(req), "OPTIONS") == 0) {
        validation_handshake(req, hook);
        return;
    }
    wc.kind = (strata_watchers_webhook_kind) hook->kind;
    wc.secret = strata_secret_reveal(hook->secret);
    wc.registry = hook->registry;
    wc.header = hook->header;
    wc.username = hook->username;
    wc.keys = hook->keys;
    wc.audience = hook->audience;
    wc.service_account = hook->service_account;
    wr.body = strata_api_req_body(req, &wr.body_len);
    wr.authorization = auth = strata_api_req_header(req, "authorization");
    wr.token = token = strata_api_req_header(req, "x-strata-token");
    wr.signature = sig = strata_api_req_header(req, "x-strata-signature");
    wr.query = strata_api_req_query_string(req);
    wr.header = req_header;
    wr.header_arg = req;
    if (strata_watchers_webhook_parse(&pushes, &n, &wc, &wr, &err) != 0) {
        log_warn("webhook '%s': %s", name, err.msg);
        strata_api_respond_error(req, err.code == STRATA_EAUTH ? 401 : 400,
                                 "%s", err.msg);
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (strata_watcher_trigger(d->watcher, pushes[i].ref, NULL) == 0)
            triggered++;
    }
    log_info("webhook '%s': %zu pushes, %zu watched", name, n, triggered);
    doc = json_pack("{s:i, s:i}", "pushes", (int) n, "triggered",
                    (int) triggered);
    strata_api_respond_json(req, 202, doc);
    json_decref(doc);
out:
    strata_watchers_webhook_free(pushes, n);
    free(auth);
    free(token);
    free(sig);
}

/* Configured repositories the push is about: its URL and branch. */
static size_t
pushed_repos(const strata_config_data *cfg, const strata_vcs_hook_push *p)
{
    size_t r, u, n = 0;

    for (r = 0; r < cfg->n_repos; r++) {
        const strata_config_repo *repo = &cfg->repos[r];
        const char *branch = repo->branch ? repo->branch : "main";

        if (strncmp(p->ref, "refs/heads/", 11) != 0 ||
            strcmp(p->ref + 11, branch) != 0)
            continue;
        for (u = 0; u < p->nurls; u++) {
            if (strata_vcs_same_repo(p->urls[u], repo->url)) {
                n++;
                break;
            }
        }
    }
    return n;
}

void
strata_daemon__git_hook(strata_api_req *req, void *arg)
{
    static const char *const event_headers[] = {
        "x-github-event", "x-gitlab-event", "x-gitea-event"};
    strata_daemon *d = arg;
    const char *name = strata_api_req_path_rest(req);
    const strata_config_webhook *hook;
    strata_vcs_hook_request hr = {0};
    strata_vcs_hook_push push = {0};
    strata_vcs_hook_kind kind;
    strata_error err = {0};
    char *event = NULL, *sig = NULL, *token = NULL;
    size_t matched;
    json_t *doc;

    if ((hook = find_hook(req, d, name, 1)) == NULL)
        return;
    kind = (strata_vcs_hook_kind) (hook->kind - STRATA_WEBHOOK_GITHUB);
    hr.body = strata_api_req_body(req, &hr.body_len);
    hr.event = event = strata_api_req_header(req, event_headers[kind]);
    hr.signature = sig = strata_api_req_header(
        req, kind == STRATA_VCS_HOOK_GITEA ? "x-gitea-signature"
                                           : "x-hub-signature-256");
    hr.token = token = strata_api_req_header(req, "x-gitlab-token");
    if (strata_vcs_hook_parse(&push, kind, strata_secret_reveal(hook->secret),
                              &hr, &err) != 0) {
        log_warn("webhook '%s': %s", name, err.msg);
        strata_api_respond_error(req, err.code == STRATA_EAUTH ? 401 : 400,
                                 "%s", err.msg);
        goto out;
    }
    if (push.ignored) {
        log_debug("webhook '%s': %s event ignored", name,
                  event ? event : "unnamed");
        doc = json_pack("{s:b}", "ignored", 1);
        strata_api_respond_json(req, 200, doc);
        json_decref(doc);
        goto out;
    }
    matched = pushed_repos(d->cfg, &push);
    log_info("webhook '%s': push to %s of %s: %s", name, push.ref, push.urls[0],
             matched > 0 ? "rescanning" : "not a configured repository branch");
    if (matched > 0)
        strata_daemon__rescan(d);
    doc =
        json_pack("{s:i, s:b}", "repos", (int) matched, "rescan", matched > 0);
    strata_api_respond_json(req, 202, doc);
    json_decref(doc);
out:
    strata_vcs_hook_push_release(&push);
    free(event);
    free(sig);
    free(token);
}
