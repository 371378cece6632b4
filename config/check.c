/*
 * check.c - validation that spans more than one value: per-section checks
 * run once a section's keys are converted (credentials that need each
 * other, keys that apply to one builder type only, inherited defaults),
 * and whole-configuration checks (duplicates across entries, references
 * between sections, forge inference, the API's token rule).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-int.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* The key node of key in a mapping, or NULL. */
static yaml_node_t *
key_node(strata_config__ctx *ctx, const yaml_node_t *map, const char *key)
{
    yaml_node_pair_t *p;

    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *) k->data.scalar.value, key) == 0)
            return k;
    }
    return NULL;
}

/* The node of KEY or KEY_file (secrets), or NULL. */
static yaml_node_t *
key_node_any(strata_config__ctx *ctx, const yaml_node_t *map, const char *key)
{
    yaml_node_t *k = key_node(ctx, map, key);
    char *file;

    if (k != NULL)
        return k;
    file = strata_xasprintf("%s_file", key);
    k = key_node(ctx, map, file);
    free(file);
    return k;
}

/* The node at root.section[i].key, or the closest that exists. */
static const yaml_node_t *
entry_node(strata_config__ctx *ctx, const yaml_node_t *root,
           const char *section, size_t i, const char *key)
{
    const yaml_node_t *sec = strata_config__lookup(ctx, root, section);
    const yaml_node_t *item = strata_config__item(ctx, sec, i);
    const yaml_node_t *v;

    if (item == NULL)
        return sec != NULL ? sec : root;
    v = key != NULL ? strata_config__lookup(ctx, item, key) : NULL;
    return v != NULL ? v : item;
}

void
strata_config__check_registry(strata_config__ctx *ctx, void *obj,
                              const yaml_node_t *node)
{
    strata_config_registry *r = obj;
    const yaml_node_t *auth = strata_config__lookup(ctx, node, "auth");
    char *h;

    if (r->host != NULL) {
        for (h = (char *) r->host; *h != '\0'; h++)
            *h = (char) tolower((unsigned char) *h);
        if (!strcmp(r->host, "index.docker.io") ||
            !strcmp(r->host, "registry-1.docker.io") ||
            !strcmp(r->host, "registry.hub.docker.com"))
            r->host = "docker.io";
    }
    if (r->username != NULL && r->password == NULL && r->token == NULL &&
        key_node_any(ctx, auth, "password") == NULL &&
        key_node_any(ctx, auth, "token") == NULL)
        strata_config__at(ctx, auth,
                          "'username' needs 'password' or 'password_file'");
    if (r->password != NULL && r->username == NULL)
        strata_config__at(ctx, auth, "'password' needs 'username'");
    if (r->ca_file != NULL && access(r->ca_file, R_OK) != 0)
        strata_config__at(ctx, strata_config__lookup(ctx, node, "ca_file"),
                          "cannot read 'ca_file' '%s': %s", r->ca_file,
                          strerror(errno));
}

void
strata_config__check_watch(strata_config__ctx *ctx, void *obj,
                           const yaml_node_t *node)
{
    strata_config_watch *w = obj;
    const yaml_node_t *bases = strata_config__lookup(ctx, node, "bases");
    strata_config_base *b = (strata_config_base *) w->bases;
    size_t i;

    if (w->jitter_percent < 0 && w->jitter_ms > w->interval_ms)
        strata_config__at(ctx, strata_config__lookup(ctx, node, "jitter"),
                          "'jitter' must not be longer than 'interval'");
    for (i = 0; i < w->n_bases; i++) {
        const yaml_node_t *it = strata_config__item(ctx, bases, i);
        const yaml_node_t *iv = strata_config__lookup(ctx, it, "interval");

        if (it == NULL || it->type != YAML_MAPPING_NODE)
            continue;
        if (strata_config__is_null(iv))
            b[i].interval_ms = w->interval_ms;
        if (strata_config__is_null(strata_config__lookup(ctx, it, "soak")))
            b[i].soak_ms = w->soak_ms;
        if (strata_config__is_null(strata_config__lookup(ctx, it, "approval")))
            b[i].approval = w->approval;
        if (strata_config__is_null(strata_config__lookup(ctx, it, "verify")))
            b[i].verify = w->verify;
        else
            b[i].verify_own = 1;
    }
}

/* The host and path of a remote URL; 0 when it is a local path. */
static int
split_url(const char *url, char **host, char **path)
{
    const char *s = strstr(url, "://"), *h, *slash, *colon;

    if (s != NULL) {
        if (strncmp(url, "file://", 7) == 0)
            return 0;
        h = s + 3;
        slash = strchr(h, '/');
        if (slash == NULL)
            return 0;
        *path = strata_xstrdup(slash + 1);
    } else {
        colon = strchr(url, ':');
        slash = strchr(url, '/');
        if (url[0] == '/' || url[0] == '.' || colon == NULL ||
            (slash != NULL && slash < colon))
            return 0;
        h = url;
        slash = colon;
        *path = strata_xstrdup(colon + 1);
    }
    if (memchr(h, '@', (size_t) (slash - h)) != NULL)
        h = (const char *) memchr(h, '@', (size_t) (slash - h)) + 1;
    *host = strata_xstrndup(h, (size_t) (slash - h));
    if (strchr(*host, ':') != NULL && s != NULL)
        *strchr(*host, ':') = '\0';
    return 1;
}

/* "acme/payments" from "acme/payments.git/". */
static char *
owner_name(const char *path)
{
    char *p = strata_xstrdup(path);
    size_t n = strlen(p);

    while (n > 0 && p[n - 1] == '/')
        p[--n] = '\0';
    if (n > 4 && strcmp(p + n - 4, ".git") == 0)
        p[n - 4] = '\0';
    while (p[0] == '/')
        memmove(p, p + 1, strlen(p));
    return p;
}

void
strata_config__check_repo(strata_config__ctx *ctx, void *obj,
                          const yaml_node_t *node)
{
    strata_config_repo *r = obj;
    const yaml_node_t *forge = strata_config__lookup(ctx, node, "forge");
    const yaml_node_t *actions =
        strata_config__lookup(ctx, node, "on_base_update");
    const yaml_node_t *type = strata_config__lookup(ctx, forge, "type");
    const yaml_node_t *hold;
    char *host = NULL, *path = NULL;
    int remote = 0;

    if (r->url != NULL) {
        remote = split_url(r->url, &host, &path);
        if (!remote && strstr(r->url, "://") == NULL)
            r->url = strata_config__path(ctx, r->url);
    }
    /* Credentials in the URL are kept apart, for fetching only: the URL
     * that is stored, printed and sent in events has none. */
    if (r->url != NULL && strata_url_has_credentials(r->url)) {
        char *clean = strata_url_strip_credentials(r->url);

        r->fetch_url = strata_config__secret(ctx->cfg, r->url, strlen(r->url),
                                             "the repository url");
        r->url = strata_config__strdup(ctx->cfg, clean);
        free(clean);
    }
    if (strata_config__is_null(type) && host != NULL) {
        if (strcmp(host, "github.com") == 0)
            r->forge = STRATA_FORGE_GITHUB;
        else if (strcmp(host, "gitlab.com") == 0)
            r->forge = STRATA_FORGE_GITLAB;
    }
    if (r->forge != STRATA_FORGE_NONE && r->forge_repo == NULL) {
        if (path != NULL) {
            char *on = owner_name(path);
            if (strchr(on, '/') != NULL)
                r->forge_repo = strata_config__strdup(ctx->cfg, on);
            free(on);
        }
        if (r->forge_repo == NULL)
            strata_config__at(ctx, forge != NULL ? forge : node,
                              "forge '%s' needs 'repo' (OWNER/NAME): it "
                              "cannot be told from the URL",
                              strata_config__forge_names[r->forge]);
    }
    /*
     * 'pr' without a forge API pushes the pinned branch to the plain git
     * remote, and the event says so: it is the default for every repo.
     */
    if (strata_config__is_null(actions))
        r->on_base_update = STRATA_ACTION_PR;
    if ((r->on_base_update & STRATA_ACTION_EXEC) && r->exec == NULL)
        strata_config__at(ctx, actions,
                          "'exec' needs the repository's 'exec' "
                          "command");
    if (r->ssh_key_file != NULL && access(r->ssh_key_file, R_OK) != 0)
        strata_config__at(
            ctx,
            strata_config__lookup(ctx, strata_config__lookup(ctx, node, "auth"),
                                  "ssh_key_file"),
            "cannot read 'ssh_key_file' '%s': %s", r->ssh_key_file,
            strerror(errno));
    /* hold_on holds a base's whole update, every repository's jobs: it
     * cannot differ per repository. */
    hold = strata_config__lookup(
        ctx,
        strata_config__lookup(ctx, strata_config__lookup(ctx, node, "pr"),
                              "evidence"),
        "hold_on");
    if (!strata_config__is_null(hold))
        strata_config__at(ctx, hold,
                          "'hold_on' holds a base's whole update, not one "
                          "repository's: set it in the top-level "
                          "'pull_requests.evidence', not in 'repos[].pr'");
    /* per_hour is one budget for the whole fleet. */
    hold = strata_config__lookup(
        ctx,
        strata_config__lookup(ctx, strata_config__lookup(ctx, node, "pr"),
                              "limits"),
        "per_hour");
    if (!strata_config__is_null(hold))
        strata_config__at(ctx, hold,
                          "'per_hour' is one budget for the whole fleet: set "
                          "it in the top-level 'pull_requests.limits', not "
                          "in 'repos[].pr'");
    free(host);
    free(path);
}

/* Which keys each builder type needs and accepts (besides type, timeout). */
static const struct {
    const char *required[3];
    const char *optional[5];
} builder_keys[] = {
    [STRATA_BUILDER_EXEC] = {{"command"}, {NULL}},
    [STRATA_BUILDER_BUILDAH] = {{NULL}, {"command"}},
    [STRATA_BUILDER_KUBERNETES] = {{"image"},
                                   {"namespace", "kubeconfig", "command",
                                    "push_secret"}},
    [STRATA_BUILDER_GITHUB_ACTIONS] = {{"repo", "workflow"},
                                       {"token", "api_url", "ref"}},
    [STRATA_BUILDER_GITLAB] = {{"project"},
                               {"token", "api_url", "ref", "api_token"}},
    [STRATA_BUILDER_WEBHOOK] = {{"url"}, {"secret", "token"}},
};

/* Which keys each notification type needs and accepts. */
static const struct {
    const char *required[3];
    const char *optional[3];
} notify_keys[] = {
    [STRATA_NOTIFY_WEBHOOK] = {{"url"}, {"secret", "headers"}},
    [STRATA_NOTIFY_SLACK] = {{"url"}, {NULL}},
    [STRATA_NOTIFY_TEAMS] = {{"url"}, {NULL}},
    [STRATA_NOTIFY_DISCORD] = {{"url"}, {NULL}},
    [STRATA_NOTIFY_EMAIL] = {{"url", "from", "to"}, {NULL}},
    [STRATA_NOTIFY_EXEC] = {{"command"}, {NULL}},
};

static int
in_list(const char *const *list, size_t n, const char *key)
{
    size_t i;

    for (i = 0; i < n && list[i] != NULL; i++)
        if (strcmp(list[i], key) == 0)
            return 1;
    return 0;
}

/*
 * Reports keys of node that its type does not use and required ones that
 * are missing. common lists keys every type takes.
 */
static void
check_type_keys(strata_config__ctx *ctx, const yaml_node_t *node,
                const char *what, const char *type_name,
                const char *const *required, size_t nreq,
                const char *const *optional, size_t nopt,
                const char *const *common, size_t ncommon)
{
    yaml_node_pair_t *p;
    size_t i;

    for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        char *key;
        size_t n;

        if (k == NULL || k->type != YAML_SCALAR_NODE)
            continue;
        key = strata_xstrdup((const char *) k->data.scalar.value);
        n = strlen(key);
        if (n > 5 && strcmp(key + n - 5, "_file") == 0)
            key[n - 5] = '\0';
        if (!in_list(required, nreq, key) && !in_list(optional, nopt, key) &&
            in_list(common, ncommon, key) == 0 &&
            !strata_config__is_null(yaml_document_get_node(ctx->doc, p->value)))
            strata_config__at(ctx, k, "'%s' does not apply to %s type '%s'",
                              (const char *) k->data.scalar.value, what,
                              type_name);
        free(key);
    }
    for (i = 0; i < nreq && required[i] != NULL; i++)
        if (strata_config__is_null(
                strata_config__lookup(ctx, node, required[i])) &&
            key_node_any(ctx, node, required[i]) == NULL)
            strata_config__at(ctx, node, "%s type '%s' needs '%s'", what,
                              type_name, required[i]);
}

void
strata_config__check_builder(strata_config__ctx *ctx, void *obj,
                             const yaml_node_t *node)
{
    static const char *const common[] = {"type", "timeout", "verify"};
    strata_config_builder *b = obj;

    if (strata_config__is_null(strata_config__lookup(ctx, node, "type")))
        return;
    check_type_keys(ctx, node, "builder", strata_config__builder_names[b->type],
                    builder_keys[b->type].required,
                    N_(builder_keys[b->type].required),
                    builder_keys[b->type].optional,
                    N_(builder_keys[b->type].optional), common, N_(common));
    if (b->type == STRATA_BUILDER_GITLAB && b->api_token != NULL &&
        b->token == NULL) {
        const yaml_node_t *at = strata_config__lookup(ctx, node, "api_token");

        if (at == NULL)
            at = strata_config__lookup(ctx, node, "api_token_file");
        strata_config__at(ctx, at != NULL ? at : node,
                          "'api_token' needs 'token' (the pipeline trigger "
                          "token that starts the pipeline)");
    }
}

void
strata_config__check_webhook(strata_config__ctx *ctx, void *obj,
                             const yaml_node_t *node)
{
    static const char *const header_keys[] = {"header", "username"};
    static const char *const jwt_keys[] = {"keys", "audience",
                                           "service_account"};
    const strata_config_webhook *w = obj;
    const yaml_node_t *reg = strata_config__lookup(ctx, node, "registry");
    const char *kind = strata_config__webhook_names[w->kind];
    int by_header = w->kind == STRATA_WEBHOOK_DISTRIBUTION ||
                    w->kind == STRATA_WEBHOOK_HARBOR ||
                    w->kind == STRATA_WEBHOOK_CLOUDEVENTS ||
                    w->kind == STRATA_WEBHOOK_ECR ||
                    w->kind == STRATA_WEBHOOK_ACR;
    int gar = w->kind == STRATA_WEBHOOK_ARTIFACT_REGISTRY;
    size_t i;

    /* A git push names its repository; no registry applies. */
    if (STRATA_WEBHOOK_IS_GIT(w->kind) && reg != NULL)
        strata_config__at(ctx, reg,
                          "'registry' does not apply to a '%s' webhook (a git "
                          "push webhook)",
                          kind);
    else if (gar && reg != NULL)
        strata_config__at(ctx, reg,
                          "'registry' does not apply to an "
                          "'artifact-registry' webhook (its tags name "
                          "their host)");
    for (i = 0; i < 2 && !by_header; i++) {
        const yaml_node_t *k = strata_config__lookup(ctx, node, header_keys[i]);

        if (k != NULL)
            strata_config__at(ctx, k,
                              "'%s' does not apply to a '%s' webhook "
                              "(distribution, harbor, cloudevents, ecr and "
                              "acr read the secret from a header)",
                              header_keys[i], kind);
    }
    if (w->header != NULL && w->username != NULL)
        strata_config__at(ctx, strata_config__lookup(ctx, node, "header"),
                          "'header' and 'username' exclude each other (basic "
                          "auth is in the Authorization header)");
    for (i = 0; i < 3 && !gar; i++) {
        const yaml_node_t *k = strata_config__lookup(ctx, node, jwt_keys[i]);

        if (k != NULL)
            strata_config__at(ctx, k,
                              "'%s' applies only to an 'artifact-registry' "
                              "webhook",
                              jwt_keys[i]);
    }
    if (gar && (w->keys != NULL) != (w->audience != NULL))
        strata_config__at(ctx, node,
                          "an 'artifact-registry' webhook needs both 'keys' "
                          "and 'audience' to verify Google's token");
    if (gar && w->service_account != NULL && w->keys == NULL)
        strata_config__at(ctx, node,
                          "'service_account' needs 'keys' and 'audience'");
    if (w->secret == NULL && !(gar && w->keys != NULL))
        strata_config__at(ctx, node,
                          gar ? "an 'artifact-registry' webhook needs 'keys' "
                                "and 'audience' (Google's signed token) or "
                                "'secret' (a token in the push URL)"
                              : "webhook needs 'secret'");
}

/*
 * Reads a checked schedule's windows and zone files once, so a job claim
 * never reads tzdata (the runner asks for every job it claims).
 */
static void
compile_schedule(strata_config__ctx *ctx, strata_config_schedule *s,
                 const yaml_node_t *node)
{
    strata_config *cfg = ctx->cfg;
    strata_schedule *sched = NULL;
    strata_error err = {0};

    if (strata_schedule_new(&sched, s->windows.items, s->windows.count,
                            s->blackout.items, s->blackout.count, &err) != 0) {
        strata_config__at(ctx, node, "schedule cannot be read: %s", err.msg);
        return;
    }
    cfg->schedules = strata_xrealloc(
        cfg->schedules, (cfg->n_schedules + 1) * sizeof(*cfg->schedules));
    cfg->schedules[cfg->n_schedules++] = sched;
    s->compiled = sched;
}

void
strata_config__check_schedule(strata_config__ctx *ctx, void *obj,
                              const yaml_node_t *node)
{
    strata_config_schedule *s = obj;

    if (node == NULL)
        return;
    if (s->windows.count == 0 && s->blackout.count == 0)
        strata_config__at(ctx, node,
                          "schedule needs 'windows' or 'blackout' (or "
                          "remove it)");
    else if (s->windows.count > 64 || s->blackout.count > 256)
        strata_config__at(ctx, node,
                          "schedule has too many entries (at most 64 "
                          "windows and 256 blackout dates)");
    else if (ctx->n_problems == 0)
        compile_schedule(ctx, s, node);
}

void
strata_config__check_notify(strata_config__ctx *ctx, void *obj,
                            const yaml_node_t *node)
{
    static const char *const common[] = {"type",  "name",       "events",
                                         "batch", "rate_limit", "max_attempts",
                                         "title", "text",       "filter"};
    static const char *const all[] = {"*"};
    strata_config_notify *n = obj;
    const yaml_node_t *url = strata_config__lookup(ctx, node, "url");

    if (n->events.count == 0) {
        n->events.items = all;
        n->events.count = 1;
    }
    if (strata_config__is_null(strata_config__lookup(ctx, node, "type")))
        return;
    check_type_keys(
        ctx, node, "notification", strata_config__notify_names[n->type],
        notify_keys[n->type].required, N_(notify_keys[n->type].required),
        notify_keys[n->type].optional, N_(notify_keys[n->type].optional),
        common, N_(common));
    if (n->url != NULL && url != NULL) {
        const char *v = strata_secret_reveal(n->url);
        int email = n->type == STRATA_NOTIFY_EMAIL;
        int ok = email ? (strncmp(v, "smtp://", 7) == 0 ||
                          strncmp(v, "smtps://", 8) == 0)
                       : (strncmp(v, "https://", 8) == 0 ||
                          strncmp(v, "http://", 7) == 0);
        /* The URL may carry a token: name the key, never the value. */
        if (!ok)
            strata_config__at(ctx, url, "'url' must be %s URL",
                              email ? "an smtp:// or smtps://"
                                    : "an http:// or https://");
    }
}

/* A URL without a trailing "/" or ".git", for duplicate detection. */
static char *
url_key(const char *url)
{
    char *k = strata_xstrdup(url);
    size_t n = strlen(k);

    while (n > 1 && k[n - 1] == '/')
        k[--n] = '\0';
    if (n > 4 && strcmp(k + n - 4, ".git") == 0)
        k[n - 4] = '\0';
    return k;
}

/*
 * Reports entry i when its key was seen before; first maps each key to
 * the position of its first entry. Hash maps keep this linear however
 * many entries (or aliases) the file has.
 */
static int
seen_before(strata_strmap *first, const char *key, const strata_config_pos *pos,
            int *first_line)
{
    const strata_config_pos *prev = strata_strmap_get(first, key);

    if (prev != NULL) {
        *first_line = prev->line;
        return 1;
    }
    strata_strmap_put(first, key, (void *) pos);
    return 0;
}

static void
check_duplicates(strata_config__ctx *ctx, strata_config_data *d,
                 const yaml_node_t *root)
{
    const yaml_node_t *w = strata_config__lookup(ctx, root, "watch");
    strata_strmap *m = strata_strmap_new();
    size_t i, ri;
    int line;

    for (i = 0; i < d->n_registries; i++)
        if (d->registries[i].host != NULL &&
            seen_before(m, d->registries[i].host, &d->registries[i].pos, &line))
            strata_config__at(ctx,
                              entry_node(ctx, root, "registries", i, "host"),
                              "duplicate registry host '%s' (first at line %d)",
                              d->registries[i].host, line);
    strata_strmap_free(m);
    m = strata_strmap_new();
    for (i = 0; i < d->watch.n_bases; i++)
        if (d->watch.bases[i].ref != NULL &&
            seen_before(m, d->watch.bases[i].ref, &d->watch.bases[i].pos,
                        &line))
            strata_config__at(
                ctx, entry_node(ctx, w, "bases", i, "ref"),
                "duplicate watched reference '%s' (first at line %d)",
                d->watch.bases[i].ref, line);
    strata_strmap_free(m);
    m = strata_strmap_new();
    for (i = 0; i < d->n_repos; i++) {
        char *k;

        if (d->repos[i].url == NULL)
            continue;
        k = url_key(d->repos[i].url);
        if (seen_before(m, k, &d->repos[i].pos, &line))
            strata_config__at(ctx, entry_node(ctx, root, "repos", i, "url"),
                              "duplicate repository url (first at line %d)",
                              line);
        free(k);
    }
    strata_strmap_free(m);
    /* Image names are unique across all repositories. */
    m = strata_strmap_new();
    for (ri = 0; ri < d->n_repos; ri++)
        for (i = 0; i < d->repos[ri].n_images; i++) {
            const strata_config_image *a = &d->repos[ri].images[i];

            if (a->name != NULL && seen_before(m, a->name, &a->pos, &line))
                strata_config__at(
                    ctx,
                    entry_node(ctx, entry_node(ctx, root, "repos", ri, NULL),
                               "images", i, "name"),
                    "duplicate image name '%s' (first at line %d)", a->name,
                    line);
        }
    strata_strmap_free(m);
    m = strata_strmap_new();
    for (i = 0; i < d->n_notify; i++)
        if (d->notify[i].name != NULL &&
            seen_before(m, d->notify[i].name, &d->notify[i].pos, &line))
            strata_config__at(
                ctx, entry_node(ctx, root, "notify", i, "name"),
                "duplicate notification name '%s' (first at line %d)",
                d->notify[i].name, line);
    strata_strmap_free(m);
}

/* Forge API URLs and tokens, and builders, for each repository. */
static void
resolve_repos(strata_config__ctx *ctx, strata_config_data *d,
              const yaml_node_t *root)
{
    size_t i, j;

    for (i = 0; i < d->n_repos; i++) {
        strata_config_repo *r = (strata_config_repo *) &d->repos[i];
        const strata_config_forge *f = NULL;

        strata_config__inherit_pr(
            ctx, &r->pr,
            strata_config__lookup(
                ctx,
                strata_config__item(
                    ctx, strata_config__lookup(ctx, root, "repos"), i),
                "pr"),
            &d->pull_requests);
        if (r->forge == STRATA_FORGE_GITHUB)
            f = &d->forges.github;
        else if (r->forge == STRATA_FORGE_GITLAB)
            f = &d->forges.gitlab;
        else if (r->forge == STRATA_FORGE_GITEA)
            f = &d->forges.gitea;
        if (f != NULL) {
            if (r->forge_api_url == NULL)
                r->forge_api_url = f->api_url;
            if (r->token == NULL)
                r->token = f->token;
            if (r->forge_api_url == NULL)
                strata_config__at(ctx, entry_node(ctx, root, "repos", i, NULL),
                                  "forge 'gitea' needs 'api_url' (in the "
                                  "repository's forge or in forges.gitea)");
        }
        if (r->builder != NULL) {
            for (j = 0; j < d->n_builders; j++)
                if (d->builders[j].name != NULL &&
                    strcmp(d->builders[j].name, r->builder) == 0)
                    break;
            if (j == d->n_builders) {
                const char **names =
                    strata_xcalloc(d->n_builders + 1, sizeof(*names));
                const char *hint;

                for (j = 0; j < d->n_builders; j++)
                    names[j] = d->builders[j].name ? d->builders[j].name : "";
                hint = strata_config__suggest(r->builder, names, d->n_builders);
                strata_config__at(ctx,
                                  entry_node(ctx, root, "repos", i, "builder"),
                                  "unknown builder '%s'%s%s%s", r->builder,
                                  hint ? "; did you mean '" : "",
                                  hint ? hint : "", hint ? "'?" : "");
                free(names);
            }
        } else if (r->on_base_update & STRATA_ACTION_REBUILD) {
            for (j = 0; j < d->n_builders; j++)
                if (d->builders[j].name != NULL &&
                    strcmp(d->builders[j].name, "default") == 0)
                    break;
            if (j < d->n_builders || d->n_builders == 1)
                r->builder = d->builders[j < d->n_builders ? j : 0].name;
            else
                strata_config__at(
                    ctx, entry_node(ctx, root, "repos", i, "on_base_update"),
                    d->n_builders == 0
                        ? "'rebuild' needs a builder: define one under "
                          "'builders'"
                        : "'rebuild' needs 'builder': none is named "
                          "'default'");
        }
    }
}

const char *
strata_config_repo_fetch_url(const strata_config_repo *repo)
{
    return repo->fetch_url != NULL ? strata_secret_reveal(repo->fetch_url)
                                   : repo->url;
}

int
strata_config_listen_is_loopback(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    struct in_addr a4;
    char *host;
    int lo = 0;

    if (colon == NULL)
        return 0;
    if (listen[0] == '[')
        host = strata_xstrndup(listen + 1, (size_t) (colon - listen - 2));
    else
        host = strata_xstrndup(listen, (size_t) (colon - listen));
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        lo = 1;
    else if (inet_pton(AF_INET, host, &a4) == 1)
        lo = (ntohl(a4.s_addr) >> 24) == 127;
    free(host);
    return lo;
}

static int
by_from_length(const void *a, const void *b)
{
    size_t x = strlen(((const strata_config_alias *) a)->from);
    size_t y = strlen(((const strata_config_alias *) b)->from);

    return x < y ? 1 : x > y ? -1 : 0;
}

/* Whether name is prefix, or starts with prefix and a '/'. */
static int
under(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(name, prefix, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

/*
 * registries[].aliases and mirror_of become one table, longest name first
 * (so "harbor.example.com/dockerhub" wins over "harbor.example.com"). A
 * name given twice, or one that leads to another alias, is refused: a
 * chain would make the answer depend on the order of the file.
 */
static void
build_aliases(strata_config__ctx *ctx, strata_config_data *d,
              const yaml_node_t *root)
{
    strata_config_alias *v = NULL;
    size_t n = 0, i, j, k;

    for (i = 0; i < d->n_registries; i++) {
        const strata_config_registry *r = &d->registries[i];

        if (r->host == NULL)
            continue;
        v = strata_xrealloc(v, (n + r->aliases.count + 1) * sizeof(*v));
        for (j = 0; j < r->aliases.count; j++) {
            v[n].from = r->aliases.items[j];
            v[n++].to = r->host;
        }
        if (r->mirror_of != NULL) {
            v[n].from = r->host;
            v[n++].to = r->mirror_of;
        }
    }
    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++) {
            const char *why = NULL;

            if (under(v[i].to, v[j].from))
                why = "names the same content as";
            else if (i < j && strcmp(v[i].from, v[j].from) == 0)
                why = "is given twice; first as another name of";
            if (why == NULL)
                continue;
            for (k = 0; k < d->n_registries; k++)
                if (d->registries[k].host == v[i].to ||
                    d->registries[k].host == v[i].from)
                    break;
            strata_config__at(
                ctx, entry_node(ctx, root, "registries", k, "host"),
                "registry alias '%s' %s '%s' (an alias must name an upstream "
                "that is not itself an alias)",
                v[i].from, why, v[i].to);
            free(v);
            return;
        }
    }
    if (n == 0) {
        free(v);
        return;
    }
    qsort(v, n, sizeof(*v), by_from_length);
    d->aliases = strata_config__alloc(ctx->cfg, n * sizeof(*v));
    memcpy((void *) d->aliases, v, n * sizeof(*v));
    d->n_aliases = n;
    free(v);
}

void
strata_config__check_root(strata_config__ctx *ctx, void *obj,
                          const yaml_node_t *node)
{
    strata_config_data *d = obj;
    size_t i;

    if (d->forges.github.api_url == NULL)
        d->forges.github.api_url = "https://api.github.com";
    if (d->forges.gitlab.api_url == NULL)
        d->forges.gitlab.api_url = "https://gitlab.com/api/v4";
    for (i = 0; i < d->n_notify; i++) {
        strata_config_notify *n = (strata_config_notify *) &d->notify[i];
        if (n->name == NULL) {
            char *name = strata_xasprintf(
                "%s-%zu", strata_config__notify_names[n->type], i + 1);
            n->name = strata_config__strdup(ctx->cfg, name);
            free(name);
        }
    }
    check_duplicates(ctx, d, node);
    build_aliases(ctx, d, node);
    resolve_repos(ctx, d, node);
    strata_config__resolve_discover(ctx, d, node);
    if (d->api.listen != NULL &&
        !strata_config_listen_is_loopback(d->api.listen) &&
        d->api.token == NULL) {
        const yaml_node_t *api = strata_config__lookup(ctx, node, "api");
        const yaml_node_t *listen = strata_config__lookup(ctx, api, "listen");

        strata_config__at(ctx, listen != NULL ? listen : api,
                          "api 'listen' is not a loopback address: set "
                          "'token' or 'token_file' so the API is not open "
                          "to the network");
    }
}
