/*
 * test-discover.c - repository discovery (forge/discover.c, forge/app.c)
 * against tests/servers/forge.py playing GitHub, GitLab and Gitea: each
 * forge's listing endpoint, its pagination (Link, x-next-page), ETags and
 * 304s (the kept listing used whole), primary and secondary rate limits,
 * the filters with their reasons, and a GitHub App's RS256 JWT (checked
 * by the server with the public key) traded for an installation token.
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config.h"
#include "forge.h"
#include "graph.h"
#include "harness-server.h"
#include "harness.h"
#include "store.h"

#define TOKEN "discover-token"

static pid_t server_pid;
static int server_port;
static char tmpdir[] = "/tmp/strata-discover-XXXXXX";

static void
stop_server(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
        server_pid = 0;
    }
}

static void
start(const char *forge, const char *pubkey)
{
    char *argv[] = {"/usr/bin/python3",
                    STRATA_TEST_FORGE,
                    "--forge",
                    (char *) forge,
                    "--token",
                    TOKEN,
                    "--app-id",
                    "4242",
                    "--installation",
                    "77",
                    "--app-public-key",
                    (char *) (pubkey ? pubkey : "/nonexistent"),
                    NULL};

    stop_server();
    server_port = harness_server_start(&server_pid, argv);
}

static void
admin_do(const char *what, const char *body)
{
    json_decref(harness_server_admin(server_port, what, body));
}

static json_int_t
counter(const char *name)
{
    json_t *st = harness_server_admin(server_port, "discover", NULL);
    json_int_t n = json_integer_value(json_object_get(st, name));

    json_decref(st);
    return n;
}

static void
no_violations(void)
{
    json_t *st = harness_server_admin(server_port, "state", NULL);
    json_t *v = json_object_get(st, "violations");

    if (json_array_size(v) > 0) {
        char *s = json_dumps(v, 0);
        printf("# violations: %s\n", s);
        free(s);
    }
    CHECK_EQ(json_array_size(v), 0);
    json_decref(st);
}

/* ---- an in-memory cache -------------------------------------------------- */

typedef struct mem_cache {
    json_t *entries; /* key -> [etag, body] */
    int puts;
} mem_cache;

static int
mem_get(char **etag, char **body, const char *key, void *arg)
{
    mem_cache *c = arg;
    json_t *e = json_object_get(c->entries, key);

    if (e == NULL)
        return STRATA_ENOTFOUND;
    *etag = strata_xstrdup(json_string_value(json_array_get(e, 0)));
    *body = strata_xstrdup(json_string_value(json_array_get(e, 1)));
    return 0;
}

static int
mem_put(const char *key, const char *etag, const char *body, void *arg)
{
    mem_cache *c = arg;

    json_object_set_new(c->entries, key, json_pack("[s,s]", etag, body));
    c->puts++;
    return 0;
}

static strata_forge_discover_spec
spec_for(const char *forge, strata_forge_discover_kind kind, const char *name)
{
    strata_forge_discover_spec s = {0};
    static char api[128];

    s.be = strata_forge_lookup(forge);
    s.kind = kind;
    s.name = name;
    s.include_subgroups = 1;
    snprintf(api, sizeof(api), "http://127.0.0.1:%d%s", server_port,
             strcmp(forge, "gitlab") == 0  ? "/api/v4"
             : strcmp(forge, "gitea") == 0 ? "/api/v1"
                                           : "");
    s.opts.api_url = api;
    s.opts.token = TOKEN;
    s.opts.retry_base_ms = 10;
    s.opts.max_retry_wait_ms = 5000;
    return s;
}

static const strata_forge_found *
found(const strata_forge_discovery *d, const char *name)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        if (strcmp(d->repos[i].full_name, name) == 0)
            return &d->repos[i];
    return NULL;
}

static const char fleet[] =
    "{\"repos\": ["
    "{\"name\": \"OWNER/api\", \"topics\": [\"docker\"]},"
    "{\"name\": \"OWNER/web\", \"default_branch\": \"trunk\"},"
    "{\"name\": \"OWNER/old\", \"archived\": true},"
    "{\"name\": \"OWNER/fork\", \"fork\": true},"
    "{\"name\": \"OWNER/blank\", \"empty\": true},"
    "{\"name\": \"OWNER/secret\", \"visibility\": \"private\"},"
    "{\"name\": \"OWNER/legacy-x\"},"
    "{\"name\": \"other/elsewhere\"}]}";

static void
load_fleet(const char *owner)
{
    char *body = strata_xstrdup(fleet), *p;

    while ((p = strstr(body, "OWNER")) != NULL) {
        char *n =
            strata_xasprintf("%.*s%s%s", (int) (p - body), body, owner, p + 5);
        free(body);
        body = n;
    }
    admin_do("discover", body);
    free(body);
}

/* Each forge: the defaults leave out archived, forks, empty; the default
 * branch comes from the API; the clone URL is the forge's. */
static void
each_forge(const char *forge, const char *owner)
{
    strata_forge_discover_spec s;
    strata_forge_discovery *d = NULL;
    strata_error err = {0};
    const strata_forge_found *f;
    char *want;

    start(forge, NULL);
    s = spec_for(forge,
                 strcmp(forge, "gitlab") == 0 ? STRATA_DISCOVER_GROUP
                                              : STRATA_DISCOVER_ORG,
                 owner);
    load_fleet(owner);
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK_EQ(d->n, 7);
    CHECK(found(d, "other/elsewhere") == NULL);
    f = found(d,
              strcmp(forge, "gitlab") == 0 ? "platform/infra/web" : "acme/web");
    CHECK(f != NULL);
    CHECK(f->reason == NULL);
    CHECK_STR_EQ(f->default_branch, "trunk");
    want = strata_xasprintf("http://127.0.0.1:%d/%s.git", server_port,
                            f->full_name);
    CHECK_STR_EQ(f->clone_url, want);
    free(want);
    CHECK(found(d, strcmp(forge, "gitlab") == 0 ? "platform/infra/old"
                                                : "acme/old")
              ->reason != NULL);
    CHECK_STR_EQ(found(d, strcmp(forge, "gitlab") == 0 ? "platform/infra/old"
                                                       : "acme/old")
                     ->reason,
                 "archived");
    CHECK_EQ(strata_forge_discovery_taken(d), 4);
    if (strcmp(forge, "github") == 0) {
        CHECK(d->rate_remaining > 0);
        CHECK_EQ(d->rate_limit, 5000);
    }
    strata_forge_discovery_free(d);
    no_violations();
}

TEST(github_org)
{
    each_forge("github", "acme");
}

TEST(gitlab_group_with_subgroups)
{
    each_forge("gitlab", "platform/infra");
}

TEST(gitea_org)
{
    each_forge("gitea", "acme");
}

TEST(gitlab_without_subgroups)
{
    strata_forge_discover_spec s;
    strata_forge_discovery *d = NULL;
    strata_error err = {0};

    start("gitlab", NULL);
    s = spec_for("gitlab", STRATA_DISCOVER_GROUP, "platform");
    admin_do("discover", "{\"repos\": [{\"name\": \"platform/top\"},"
                         "{\"name\": \"platform/infra/deep\"}]}");
    s.include_subgroups = 0;
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK_EQ(d->n, 1);
    CHECK_STR_EQ(d->repos[0].full_name, "platform/top");
    strata_forge_discovery_free(d);
    s.include_subgroups = 1;
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK_EQ(d->n, 2);
    strata_forge_discovery_free(d);
    no_violations();
}

TEST(github_user)
{
    strata_forge_discover_spec s;
    strata_forge_discovery *d = NULL;
    strata_error err = {0};

    start("github", NULL);
    s = spec_for("github", STRATA_DISCOVER_USER, "alice");
    load_fleet("alice");
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK_EQ(d->n, 7);
    strata_forge_discovery_free(d);
    no_violations();
}

/* Filters, each with its reason. */
TEST(filters)
{
    static const char *const inc[] = {"acme/*"};
    static const char *const exc[] = {"acme/legacy-*"};
    static const char *const topics[] = {"Docker"};
    strata_forge_discover_spec s;
    strata_forge_discovery *d = NULL;
    strata_error err = {0};

    start("github", NULL);
    s = spec_for("github", STRATA_DISCOVER_ORG, "acme");
    load_fleet("acme");
    s.exclude = exc;
    s.nexclude = 1;
    s.include = inc;
    s.ninclude = 1;
    s.visibility = STRATA_FORGE_VIS_PUBLIC;
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK_STR_EQ(found(d, "acme/legacy-x")->reason,
                 "excluded by 'acme/legacy-*'");
    CHECK_STR_EQ(found(d, "acme/fork")->reason, "a fork");
    CHECK_STR_EQ(found(d, "acme/blank")->reason, "empty");
    CHECK_STR_EQ(found(d, "acme/secret")->reason,
                 "visibility 'private' not taken");
    CHECK(found(d, "acme/api")->reason == NULL);
    CHECK_EQ(strata_forge_discovery_taken(d), 2);
    strata_forge_discovery_free(d);

    /* Asked for: archived, forks, empty are taken; topics narrow. */
    s.archived = s.forks = s.empty = 1;
    s.visibility = 0;
    s.topics = topics;
    s.ntopics = 1;
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK_EQ(strata_forge_discovery_taken(d), 1);
    CHECK(found(d, "acme/api")->reason == NULL);
    CHECK_STR_EQ(found(d, "acme/old")->reason, "has none of the topics");
    strata_forge_discovery_free(d);

    static const char *const nomatch[] = {"other/*"};
    s.include = nomatch;
    s.topics = NULL;
    s.ntopics = 0;
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK_EQ(strata_forge_discovery_taken(d), 0);
    CHECK_STR_EQ(found(d, "acme/api")->reason, "matches no include glob");
    strata_forge_discovery_free(d);
    no_violations();
}

/* 250 repositories: 3 pages of 100 on GitHub and GitLab, 5 of 50 on
 * Gitea; then a poll of the unchanged listing costs one request, a 304,
 * and a change on the first page walks the pages again conditionally. */
static void
pages(const char *forge)
{
    strata_forge_discover_spec s;
    mem_cache mc = {.entries = json_object()};
    strata_forge_discover_cache cache = {mem_get, mem_put, &mc};
    strata_forge_discovery *d = NULL;
    strata_error err = {0};
    unsigned npages = strcmp(forge, "gitea") == 0 ? 5 : 3;

    start(forge, NULL);
    s = spec_for(forge,
                 strcmp(forge, "gitlab") == 0 ? STRATA_DISCOVER_GROUP
                                              : STRATA_DISCOVER_ORG,
                 "acme");
    admin_do("discover", "{\"generate\": 250, \"owner\": \"acme\"}");
    CHECK_OK(strata_forge_discover(&d, &s, &cache, &err), &err);
    CHECK_EQ(d->n, 250);
    CHECK_EQ(d->requests, npages);
    CHECK_EQ(d->not_modified, 0);
    CHECK_STR_EQ(d->repos[249].full_name, "acme/repo-00249");
    strata_forge_discovery_free(d);

    CHECK_OK(strata_forge_discover(&d, &s, &cache, &err), &err);
    CHECK_EQ(d->n, 250);
    CHECK_EQ(d->requests, 1);
    CHECK_EQ(d->not_modified, 1);
    CHECK(d->reused);
    strata_forge_discovery_free(d);

    /* Without the whole listing (max_age_s < 0): every page is asked
     * again, each answered 304 from its ETag. */
    s.max_age_s = -1;
    CHECK_OK(strata_forge_discover(&d, &s, &cache, &err), &err);
    CHECK_EQ(d->n, 250);
    CHECK_EQ(d->requests, npages);
    CHECK_EQ(d->not_modified, npages);
    strata_forge_discovery_free(d);
    s.max_age_s = 0;

    /* A new repository: on the first page (sorted by update). */
    admin_do("discover", "{\"add\": [{\"name\": \"acme/new-one\"}]}");
    CHECK_OK(strata_forge_discover(&d, &s, &cache, &err), &err);
    CHECK_EQ(d->n, 251);
    CHECK(found(d, "acme/new-one") != NULL);
    CHECK(!d->reused);
    strata_forge_discovery_free(d);
    json_decref(mc.entries);
    no_violations();
}

TEST(github_pages_and_304)
{
    pages("github");
}

TEST(gitlab_pages_and_304)
{
    pages("gitlab");
}

TEST(gitea_pages_and_304)
{
    pages("gitea");
}

/* Primary limit: a 403 with x-ratelimit-remaining 0 waits until the
 * reset when that is within the wait allowed, else fails at once. */
TEST(primary_rate_limit)
{
    strata_forge_discover_spec s;
    strata_forge_discovery *d = NULL;
    strata_error err = {0};
    int64_t t0;

    start("github", NULL);
    s = spec_for("github", STRATA_DISCOVER_ORG, "acme");
    load_fleet("acme");
    admin_do("discover",
             "{\"ratelimit\": {\"remaining\": 0, \"reset_in\": 1}}");
    t0 = strata_now_ms();
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK(d->waits >= 1);
    CHECK(d->requests >= 2); /* the 403, then the listing */
    CHECK_EQ(d->n, 7);
    CHECK_EQ(d->rate_remaining, 4999);
    strata_forge_discovery_free(d);

    admin_do("discover",
             "{\"ratelimit\": {\"remaining\": 0, \"reset_in\": 3600}}");
    t0 = strata_now_ms();
    CHECK_EQ(strata_forge_discover(&d, &s, NULL, &err), STRATA_ERATELIMIT);
    CHECK(d == NULL);
    CHECK(strata_now_ms() - t0 < 3000);
    CHECK_CONTAINS(err.msg, "rate limited");
    no_violations();
}

/* Secondary limits: 403 and 429 with Retry-After, on the second page. */
TEST(secondary_rate_limit)
{
    strata_forge_discover_spec s;
    strata_forge_discovery *d = NULL;
    strata_error err = {0};

    start("github", NULL);
    s = spec_for("github", STRATA_DISCOVER_ORG, "acme");
    admin_do("discover", "{\"generate\": 150, \"owner\": \"acme\"}");
    admin_do("fail", "{\"path_regex\": \"page=2\", \"status\": 403, "
                     "\"headers\": {\"retry-after\": \"1\"}, \"body\": "
                     "{\"message\": \"You have exceeded a secondary rate "
                     "limit. Please wait a few minutes before you try "
                     "again.\"}}");
    admin_do("fail", "{\"path_regex\": \"page=2\", \"status\": 429, "
                     "\"headers\": {\"retry-after\": \"1\"}}");
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK_EQ(d->n, 150);
    CHECK_EQ(d->waits, 2);
    CHECK_EQ(d->requests, 4);
    strata_forge_discovery_free(d);

    /* A Retry-After longer than strata waits fails the listing. */
    admin_do("fail", "{\"path_regex\": \"orgs\", \"status\": 403, "
                     "\"headers\": {\"retry-after\": \"120\"}}");
    CHECK_EQ(strata_forge_discover(&d, &s, NULL, &err), STRATA_ERATELIMIT);
    /* A 5xx is retried with backoff. */
    admin_do("fail", "{\"path_regex\": \"orgs\", \"status\": 502}");
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK_EQ(d->n, 150);
    strata_forge_discovery_free(d);
    /* A token that may not list: no retry, the forge's message. */
    admin_do("fail", "{\"path_regex\": \"orgs\", \"status\": 404, "
                     "\"body\": {\"message\": \"Not Found\"}}");
    CHECK_EQ(strata_forge_discover(&d, &s, NULL, &err), STRATA_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "'acme' not found");
    no_violations();
}

/* A GitHub App: an RS256 JWT the server verifies with the public key,
 * an installation token kept between listings, the installation's
 * repositories listed with it. The key never shows in a message. */
TEST(github_app)
{
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    char *pubpath = strata_xasprintf("%s/app.pub", tmpdir);
    BIO *mem = BIO_new(BIO_s_mem());
    FILE *f;
    char *pem;
    long len;
    strata_forge_app *app = NULL;
    strata_forge_discover_spec s;
    strata_forge_discovery *d = NULL;
    strata_error err = {0};
    const char *tok;

    CHECK(pkey != NULL);
    f = fopen(pubpath, "w");
    CHECK(f != NULL);
    CHECK_EQ(PEM_write_PUBKEY(f, pkey), 1);
    fclose(f);
    CHECK_EQ(PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_get_mem_data(mem, &pem);
    start("github", pubpath);
    load_fleet("acme");
    CHECK_OK(strata_forge_app_new(&app, "4242", "77", pem, (size_t) len, &err),
             &err);
    s = spec_for("github", STRATA_DISCOVER_INSTALLATION, NULL);
    s.opts.token = NULL;
    s.app = app;
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK_EQ(d->n, 8); /* an installation lists every owner it has */
    CHECK_EQ(strata_forge_discovery_taken(d), 5);
    strata_forge_discovery_free(d);
    CHECK(strata_forge_app_expires(app) > strata_now_ms() / 1000 + 3000);
    /* The token is kept: no second one, one request (the listing). */
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    CHECK_EQ(d->requests, 1);
    strata_forge_discovery_free(d);
    CHECK_EQ(counter("tokens"), 1);
    CHECK_OK(strata_forge_app_token(&tok, app, &s.opts, strata_now_ms() / 1000,
                                    &err),
             &err);
    CHECK_STR_EQ(tok, "ghs_0000000000000001");
    /* A token with less than half an hour left is traded again. */
    admin_do("discover", "{\"token_life\": 1200}");
    CHECK_EQ(counter("tokens"), 1);
    strata_forge_app_free(app);
    app = NULL;
    CHECK_OK(strata_forge_app_new(&app, "4242", "77", pem, (size_t) len, &err),
             &err);
    s.app = app;
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    strata_forge_discovery_free(d);
    CHECK_OK(strata_forge_discover(&d, &s, NULL, &err), &err);
    strata_forge_discovery_free(d);
    CHECK_EQ(counter("tokens"), 3); /* each had 20 minutes: traded again */
    no_violations();
    strata_forge_app_free(app);

    /* A key the server does not know: the JWT is refused. */
    {
        EVP_PKEY *other = EVP_RSA_gen(2048);
        BIO *m2 = BIO_new(BIO_s_mem());
        char *p2;
        long l2;

        PEM_write_bio_PrivateKey(m2, other, NULL, NULL, 0, NULL, NULL);
        l2 = BIO_get_mem_data(m2, &p2);
        CHECK_OK(
            strata_forge_app_new(&app, "4242", "77", p2, (size_t) l2, &err),
            &err);
        s.app = app;
        CHECK_EQ(strata_forge_discover(&d, &s, NULL, &err), STRATA_EAUTH);
        CHECK_CONTAINS(err.msg, "token refused (HTTP 401");
        CHECK(strstr(err.msg, "PRIVATE") == NULL);
        strata_forge_app_free(app);
        BIO_free(m2);
        EVP_PKEY_free(other);
    }
    /* Not a PEM key: a clear error. */
    CHECK_EQ(strata_forge_app_new(&app, "4242", "77", "nope", 4, &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "no unencrypted PEM private key");
    BIO_free(mem);
    EVP_PKEY_free(pkey);
    unlink(pubpath);
    free(pubpath);
}

/* A git repository at DIR/NAME with a Dockerfile FROM base. */
static char *
make_repo(const char *name, const char *base)
{
    char *dir = strata_xasprintf("%s/git/%s", tmpdir, name);
    char *cmd = strata_xasprintf(
        "mkdir -p '%s' && cd '%s' && git init -q -b main . && "
        "printf 'FROM %s\\nRUN true\\n' > Dockerfile && git add Dockerfile && "
        "git -c user.name=t -c user.email=t@t commit -q -m init",
        dir, dir, base);

    CHECK_EQ(system(cmd), 0);
    free(cmd);
    return dir;
}

/* What the daemon does on each poll, by hand: list, record, forget the
 * vanished, derive the configuration, scan; then the graph. */
static strata_graph *
poll_and_scan(strata_store *st, strata_config *base, char ***gone)
{
    const strata_config_data *cfg = strata_config_data_get(base);
    strata_forge_discovery *d = NULL;
    strata_config_repo *recs = NULL;
    strata_config *derived = NULL;
    strata_graph *g = NULL;
    strata_error err = {0};
    json_t *summary = NULL;
    size_t n = 0;

    CHECK_OK(strata_forge_discover_entry(&d, gone, st, &cfg->discover[0], NULL,
                                         &err),
             &err);
    strata_forge_discover_records(&recs, &n, cfg, &cfg->discover[0], d,
                                  cfg->discover[0].token);
    CHECK_OK(strata_config_derive(&derived, base, recs, n, &err), &err);
    CHECK_EQ(strata_config_data_get(derived)->n_repos, n);
    CHECK_OK(strata_graph_scan(&summary, st, strata_config_data_get(derived),
                               NULL, &err),
             &err);
    CHECK_EQ(strata_graph_scan_failures(summary), 0);
    CHECK_OK(strata_graph_load(&g, st, &err), &err);
    json_decref(summary);
    strata_config_free(derived);
    free(recs);
    strata_forge_discovery_free(d);
    return g;
}

static int
has_edge(const strata_graph *g, const char *parent_prefix)
{
    size_t i;

    for (i = 0; i < strata_graph_edge_count(g); i++) {
        const char *parent = NULL;

        strata_graph_edge(g, i, NULL, &parent, NULL);
        if (strncmp(parent, parent_prefix, strlen(parent_prefix)) == 0)
            return 1;
    }
    return 0;
}

/* A repository that appears is scanned into the graph with its default
 * branch; one that disappears (then one archived) loses its edges. */
TEST(graph_follows_the_forge)
{
    char *api_dir = make_repo("acme/api", "debian:12");
    char *web_dir = make_repo("acme/web", "alpine:3.20");
    char *yaml, *body, *db = strata_xasprintf("%s/strata.db", tmpdir);
    strata_config *base = NULL;
    strata_store *st = NULL;
    strata_graph *g;
    strata_error err = {0};
    char **gone = NULL;

    start("github", NULL);
    body = strata_xasprintf("{\"repos\": [{\"name\": \"acme/api\", "
                            "\"clone_url\": \"file://%s\"}]}",
                            api_dir);
    admin_do("discover", body);
    free(body);
    yaml = strata_xasprintf("state: %s\n"
                            "discover:\n"
                            "  - forge: github\n"
                            "    org: acme\n"
                            "    api_url: http://127.0.0.1:%d\n"
                            "    token: " TOKEN "\n",
                            db, server_port);
    CHECK_OK(strata_config_load_string(&base, yaml, strlen(yaml), "t.yaml",
                                       tmpdir, NULL, &err),
             &err);
    CHECK_OK(strata_store_open(&st, db, &err), &err);

    g = poll_and_scan(st, base, &gone);
    CHECK(gone == NULL);
    CHECK(has_edge(g, "docker.io/library/debian"));
    CHECK(!has_edge(g, "docker.io/library/alpine"));
    strata_graph_free(g);

    /* acme/web appears. */
    body = strata_xasprintf("{\"add\": [{\"name\": \"acme/web\", "
                            "\"clone_url\": \"file://%s\"}]}",
                            web_dir);
    admin_do("discover", body);
    free(body);
    g = poll_and_scan(st, base, &gone);
    CHECK(gone == NULL);
    CHECK(has_edge(g, "docker.io/library/debian"));
    CHECK(has_edge(g, "docker.io/library/alpine"));
    strata_graph_free(g);

    /* acme/api is deleted: its edges go, the other's stay. */
    admin_do("discover", "{\"remove\": [\"acme/api\"]}");
    g = poll_and_scan(st, base, &gone);
    CHECK(gone != NULL);
    body = strata_xasprintf("file://%s", api_dir);
    CHECK_STR_EQ(gone[0], body);
    CHECK(gone[1] == NULL);
    free(body);
    free(gone[0]);
    free(gone);
    gone = NULL;
    CHECK(!has_edge(g, "docker.io/library/debian"));
    CHECK(has_edge(g, "docker.io/library/alpine"));
    strata_graph_free(g);

    /* acme/web is archived: left out, its edges go too. */
    admin_do("discover", "{\"update\": {\"acme/web\": {\"archived\": true}}}");
    g = poll_and_scan(st, base, &gone);
    CHECK(gone != NULL && gone[0] != NULL && gone[1] == NULL);
    free(gone[0]);
    free(gone);
    CHECK(!has_edge(g, "docker.io/library/alpine"));
    strata_graph_free(g);
    no_violations();

    strata_store_close(st);
    strata_config_free(base);
    free(yaml);
    free(db);
    free(api_dir);
    free(web_dir);
}

/* `strata discover`: what each entry finds, and why the rest is left out,
 * in text and JSON; the store's ETags make the second run conditional. */
TEST(cli_discover)
{
    char *cfgpath = strata_xasprintf("%s/cli.yaml", tmpdir);
    char *db = strata_xasprintf("%s/cli.db", tmpdir);
    char *cmd, *yaml;
    FILE *f;
    strata_buf out = {0};
    char buf[4096];
    size_t n;
    json_t *j;

    start("github", NULL);
    load_fleet("acme");
    yaml = strata_xasprintf("state: %s\n"
                            "discover:\n"
                            "  - forge: github\n"
                            "    org: acme\n"
                            "    api_url: http://127.0.0.1:%d\n"
                            "    token_file: %s/token\n"
                            "    exclude: ['acme/legacy-*']\n",
                            db, server_port, tmpdir);
    f = fopen(cfgpath, "w");
    fputs(yaml, f);
    fclose(f);
    cmd = strata_xasprintf("printf %%s " TOKEN " > %s/token", tmpdir);
    CHECK_EQ(system(cmd), 0);
    free(cmd);

    cmd = strata_xasprintf("%s -c %s discover", STRATA_EXE, cfgpath);
    f = popen(cmd, "r");
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        strata_buf_add(&out, buf, n);
    CHECK_EQ(pclose(f), 0);
    free(cmd);
    CHECK_CONTAINS(strata_buf_cstr(&out),
                   "7 repositories, 3 taken (1 requests, 0 not modified");
    CHECK_CONTAINS(strata_buf_cstr(&out), "  + acme/web  trunk  http://");
    CHECK_CONTAINS(strata_buf_cstr(&out), "  - acme/old  archived");
    CHECK_CONTAINS(strata_buf_cstr(&out),
                   "  - acme/legacy-x  excluded by 'acme/legacy-*'");
    CHECK(strstr(strata_buf_cstr(&out), TOKEN) == NULL);
    strata_buf_reset(&out);

    cmd = strata_xasprintf("%s -c %s discover --format json", STRATA_EXE,
                           cfgpath);
    f = popen(cmd, "r");
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        strata_buf_add(&out, buf, n);
    CHECK_EQ(pclose(f), 0);
    free(cmd);
    j = json_loads(strata_buf_cstr(&out), 0, NULL);
    CHECK(j != NULL);
    {
        json_t *src = json_array_get(json_object_get(j, "sources"), 0);
        json_t *r0 = json_array_get(json_object_get(src, "repos"), 0);

        CHECK_EQ(json_integer_value(json_object_get(src, "not_modified")), 1);
        CHECK(json_is_true(json_object_get(src, "reused")));
        CHECK_EQ(json_array_size(json_object_get(src, "repos")), 7);
        CHECK_STR_EQ(json_string_value(json_object_get(r0, "full_name")),
                     "acme/api");
        CHECK(json_is_true(json_object_get(r0, "taken")));
    }
    json_decref(j);
    strata_buf_release(&out);
    no_violations();
    free(yaml);
    free(cfgpath);
    free(db);
}

/* Runs cmd (a shell command line); its standard output, new. */
static char *
run_out(const char *cmd)
{
    strata_buf out = {0};
    char buf[4096];
    size_t n;
    FILE *f = popen(cmd, "r");

    CHECK(f != NULL);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        strata_buf_add(&out, buf, n);
    pclose(f);
    return strata_buf_detach(&out);
}

/* The daemon (`strata run --once`): a discovered repository is scanned
 * into the graph and recorded as repo.discovered; once it is gone from
 * the forge, its edges are gone and repo.removed is recorded. */
TEST(daemon_once)
{
    char *dir = make_repo("acme/svc", "127.0.0.1:1/base:1");
    char *cfgpath = strata_xasprintf("%s/once.yaml", tmpdir);
    char *db = strata_xasprintf("%s/once.db", tmpdir);
    char *run = strata_xasprintf("%s -c %s run --once 2>/dev/null", STRATA_EXE,
                                 cfgpath);
    char *events = strata_xasprintf("%s -c %s events", STRATA_EXE, cfgpath);
    char *show = strata_xasprintf("%s -c %s graph show", STRATA_EXE, cfgpath);
    char *body, *out;
    FILE *f;

    start("github", NULL);
    body = strata_xasprintf("{\"repos\": [{\"name\": \"acme/svc\", "
                            "\"clone_url\": \"file://%s\"}]}",
                            dir);
    admin_do("discover", body);
    free(body);
    f = fopen(cfgpath, "w");
    CHECK(f != NULL);
    fprintf(f,
            "state: %s\n"
            "discover:\n"
            "  - forge: github\n"
            "    org: acme\n"
            "    api_url: http://127.0.0.1:%d\n"
            "    token: " TOKEN "\n",
            db, server_port);
    fclose(f);

    free(run_out(run));
    out = run_out(events);
    CHECK_CONTAINS(out, "repo.discovered");
    CHECK(strstr(out, "repo.removed") == NULL);
    free(out);
    out = run_out(show);
    CHECK_CONTAINS(out, "from 127.0.0.1:1/base:1");
    CHECK_CONTAINS(out, "acme/svc Dockerfile:1");
    free(out);

    /* The entry is dropped from the configuration: what it took is
     * forgotten the same way. */
    f = fopen(cfgpath, "w");
    CHECK(f != NULL);
    fprintf(f, "state: %s\n", db);
    fclose(f);
    free(run_out(run));
    out = run_out(events);
    CHECK_CONTAINS(out, "repo.removed");
    free(out);
    out = run_out(show);
    CHECK(strstr(out, "from 127.0.0.1:1/base:1") == NULL);
    free(out);

    /* Back: found again, scanned again. */
    f = fopen(cfgpath, "w");
    CHECK(f != NULL);
    fprintf(f,
            "state: %s\n"
            "discover:\n"
            "  - forge: github\n"
            "    org: acme\n"
            "    api_url: http://127.0.0.1:%d\n"
            "    token: " TOKEN "\n",
            db, server_port);
    fclose(f);
    free(run_out(run));
    out = run_out(show);
    CHECK_CONTAINS(out, "from 127.0.0.1:1/base:1");
    free(out);

    admin_do("discover", "{\"remove\": [\"acme/svc\"]}");
    free(run_out(run));
    out = run_out(events);
    CHECK_CONTAINS(out, "repo.removed");
    CHECK(strstr(strstr(out, "repo.removed") + 1, "repo.removed") != NULL);
    free(out);
    out = run_out(show);
    CHECK(strstr(out, "from 127.0.0.1:1/base:1") == NULL);
    free(out);
    no_violations();
    free(dir);
    free(cfgpath);
    free(db);
    free(run);
    free(events);
    free(show);
}

/* The file's text, or NULL. New. */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    strata_buf b = {0};
    char buf[4096];
    size_t n;

    if (f == NULL)
        return NULL;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        strata_buf_add(&b, buf, n);
    fclose(f);
    return strata_buf_detach(&b);
}

/* The serving daemon shows the forge's remaining budget on /metrics. */
TEST(daemon_metrics)
{
    char *cfgpath = strata_xasprintf("%s/serve.yaml", tmpdir);
    char *db = strata_xasprintf("%s/serve.db", tmpdir);
    char *logpath = strata_xasprintf("%s/serve.log", tmpdir);
    char *log = NULL, *url = NULL;
    const char *p;
    strata_http_response *resp = NULL;
    strata_error err = {0};
    pid_t pid;
    int port = 0, i, found = 0;
    FILE *f;

    start("github", NULL);
    load_fleet("acme");
    f = fopen(cfgpath, "w");
    CHECK(f != NULL);
    fprintf(f,
            "state: %s\n"
            "api: {listen: '127.0.0.1:0'}\n"
            "discover:\n"
            "  - forge: github\n"
            "    org: acme\n"
            "    api_url: http://127.0.0.1:%d\n"
            "    token: " TOKEN "\n",
            db, server_port);
    fclose(f);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        dup2(fd, 2);
        dup2(fd, 1);
        execl(STRATA_EXE, STRATA_EXE, "-c", cfgpath, "run", (char *) NULL);
        _exit(127);
    }
    for (i = 0; i < 200 && port == 0; i++) {
        free(log);
        log = slurp(logpath);
        if (log != NULL && (p = strstr(log, "(port ")) != NULL)
            port = atoi(p + 6);
        else
            usleep(50 * 1000);
    }
    CHECK(port > 0);
    url = strata_xasprintf("http://127.0.0.1:%d/metrics", port);
    for (i = 0; i < 100 && !found; i++) {
        strata_http_request req = {.url = url};

        strata_http_response_free(resp);
        resp = NULL;
        CHECK_OK(strata_http_fetch(&resp, &req, &err), &err);
        found =
            strstr(resp->body.ptr,
                   "strata_forge_ratelimit_remaining{forge=\"github\"") != NULL;
        if (!found)
            usleep(100 * 1000);
    }
    CHECK(found);
    CHECK_CONTAINS(resp->body.ptr, "} 4999");
    CHECK(strstr(resp->body.ptr, TOKEN) == NULL);
    kill(pid, SIGTERM);
    CHECK_EQ(waitpid(pid, NULL, 0), pid);
    free(log);
    log = slurp(logpath);
    CHECK(log != NULL && strstr(log, TOKEN) == NULL);
    strata_http_response_free(resp);
    free(url);
    free(log);
    free(logpath);
    free(cfgpath);
    free(db);
}

int
main(void)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        SKIP_ALL("no /usr/bin/python3");
    if (system("/usr/bin/python3 -c 'import cryptography' 2>/dev/null") != 0)
        SKIP_ALL("python3-cryptography is not installed");
    CHECK(mkdtemp(tmpdir) != NULL);
    atexit(stop_server);
    signal(SIGPIPE, SIG_IGN);
    harness_watchdog_s = 60;
    RUN(github_org);
    RUN(gitlab_group_with_subgroups);
    RUN(gitea_org);
    RUN(gitlab_without_subgroups);
    RUN(github_user);
    RUN(filters);
    RUN(github_pages_and_304);
    RUN(gitlab_pages_and_304);
    RUN(gitea_pages_and_304);
    RUN(primary_rate_limit);
    RUN(secondary_rate_limit);
    RUN(github_app);
    RUN(graph_follows_the_forge);
    RUN(cli_discover);
    RUN(daemon_once);
    RUN(daemon_metrics);
    {
        char *rm = strata_xasprintf("rm -rf '%s'", tmpdir);

        (void) !system(rm);
        free(rm);
    }
    return harness_done();
}
