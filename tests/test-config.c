/*
 * test-config.c - unit tests for config/: a deliberately broken file whose
 * every problem is asserted with its exact FILE:LINE:COL, a valid file
 * loaded into the tree, defaults, ${VAR} interpolation, secret files,
 * secrets kept out of every message, the example file, the API's token
 * rule, and inputs meant to hurt (aliases, nesting, odd documents).
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "config-int.h"
#include "config.h"
#include "harness.h"

/* A loaded configuration or its problems; freed by result_free. */
typedef struct result {
    strata_config *config;
    strata_config_problems *problems;
    strata_error err;
    int rc;
} result;

static void
load_str(result *r, const char *yaml, const char *base_dir)
{
    memset(r, 0, sizeof(*r));
    r->problems = strata_config_problems_new();
    r->rc =
        strata_config_load_string(&r->config, yaml, strlen(yaml), "test.yaml",
                                  base_dir, r->problems, &r->err);
}

static void
result_free(result *r)
{
    strata_config_free(r->config);
    strata_config_problems_free(r->problems);
}

static size_t
count(const result *r)
{
    return strata_config_problems_count(r->problems);
}

static const char *
text(const result *r, size_t i)
{
    const strata_config_problem *p = strata_config_problems_get(r->problems, i);
    return p != NULL ? p->text : "(none)";
}

/* Prints every problem as a TAP diagnostic (helps when a count is off). */
static void
dump(const result *r)
{
    size_t i;

    for (i = 0; i < count(r); i++)
        printf("#   problem: %s\n", text(r, i));
}

/* Loads yaml that must be valid; returns its tree. */
static const strata_config_data *
load_ok(result *r, const char *yaml, const char *base_dir)
{
    load_str(r, yaml, base_dir);
    if (r->rc != 0)
        dump(r);
    CHECK_EQ(r->rc, 0);
    CHECK_EQ(count(r), 0);
    return strata_config_data_get(r->config);
}

/* Loads yaml that must have exactly one problem, equal to want. */
static void
load_one_problem(const char *yaml, const char *want)
{
    result r;

    load_str(&r, yaml, "/tmp");
    if (count(&r) != 1)
        dump(&r);
    CHECK_EQ(r.rc, STRATA_EINVAL);
    CHECK(r.config == NULL);
    CHECK_EQ(count(&r), 1);
    CHECK_STR_EQ(text(&r, 0), want);
    result_free(&r);
}

TEST(broken_file_reports_every_problem)
{
    const char *path = STRATA_TEST_CONFIG_DIR "/broken.yaml";
    char dir[PATH_MAX], *secret;
    const char *want[] = {
        ":5:10: unknown value 'verbose' for 'level' (expected one of: debug, "
        "info, warn, error)",
        ":6:3: unknown key 'fromat' in log; did you mean 'format'?",
        ":9:22: 'max_concurrency' must be between 1 and 256, not 1000",
        ":12:17: environment variable 'STRATA_TEST_UNSET_VAR' is not set "
        "(used in 'password')",
        ":13:11: duplicate registry host 'ghcr.io' (first at line 8)",
        ":14:15: 'insecure' must be a boolean (true or false), not 'maybe'",
        ":15:5: missing required key 'host' in registry",
        NULL, /* the unreadable secret file: its path depends on the tree */
        ":17:13: invalid duration '15x' for 'interval' (use e.g. 30s, 15m, "
        "1h30m)",
        ":19:12: 'ref': invalid reference 'Debian:12': repository name must "
        "be lowercase",
        ":21:19: invalid platform 'linux' in 'platforms' (expected "
        "OS/ARCH[/VARIANT], e.g. linux/amd64)",
        ":22:12: duplicate watched reference 'docker.io/library/debian:12' "
        "(first at line 20)",
        ":27:15: duplicate image name "
        "'registry.example.com/acme/payments:latest' (first at line 26)",
        ":28:26: unknown value 'bogus' for 'on_base_update' (expected one of: "
        "pr, rebuild, rebase, rescan, notify, exec)",
        ":29:10: duplicate repository url (first at line 24)",
        ":30:13: 'branch' must be a string, not a list",
        ":32:11: api 'listen' is not a loopback address: set 'token' or "
        "'token_file' so the API is not open to the network",
        ":33:1: duplicate key 'state' (first at line 3)",
    };
    strata_config_problems *problems = strata_config_problems_new();
    strata_config *config = NULL;
    strata_error err = {0};
    const strata_config_problem *p;
    size_t i, n = sizeof(want) / sizeof(want[0]);

    unsetenv("STRATA_TEST_UNSET_VAR");
    CHECK(realpath(STRATA_TEST_CONFIG_DIR, dir) != NULL);
    secret = strata_xasprintf(":15:42: cannot read 'password_file' "
                              "'%s/no-such-secret': No such file or directory",
                              dir);
    want[7] = secret;
    CHECK_EQ(strata_config_load(&config, path, problems, &err), STRATA_EINVAL);
    CHECK(config == NULL);
    CHECK_CONTAINS(err.msg, "18 problems");
    if (strata_config_problems_count(problems) != n)
        for (i = 0; i < strata_config_problems_count(problems); i++)
            printf("#   problem: %s\n",
                   strata_config_problems_get(problems, i)->text);
    CHECK_EQ(strata_config_problems_count(problems), n);
    for (i = 0; i < n; i++) {
        char *expect = strata_xasprintf("%s%s", path, want[i]);

        p = strata_config_problems_get(problems, i);
        CHECK_STR_EQ(p->text, expect);
        CHECK_STR_EQ(p->file, path);
        free(expect);
    }
    free(secret);
    p = strata_config_problems_get(problems, 2);
    CHECK_EQ(p->line, 9);
    CHECK_EQ(p->col, 22);
    CHECK_STR_EQ(p->message,
                 "'max_concurrency' must be between 1 and 256, not 1000");
    strata_config_problems_free(problems);
}

TEST(valid_file_loads_into_the_tree)
{
    strata_config_problems *problems = strata_config_problems_new();
    strata_config *config = NULL;
    strata_error err = {0};
    const strata_config_data *d;
    const strata_config_repo *r;
    const strata_config_base *b;
    char dir[PATH_MAX], *want;

    setenv("STRATA_TEST_GITHUB_TOKEN", "ghp-test-token", 1);
    setenv("STRATA_TEST_SLACK_URL", "https://hooks.slack.com/services/T/B/X",
           1);
    CHECK(realpath(STRATA_TEST_CONFIG_DIR, dir) != NULL);
    CHECK_OK(strata_config_load(&config, STRATA_TEST_CONFIG_DIR "/valid.yaml",
                                problems, &err),
             &err);
    CHECK_EQ(strata_config_problems_count(problems), 0);
    d = strata_config_data_get(config);
    CHECK_STR_EQ(d->base_dir, dir);
    want = strata_xasprintf("%s/state/strata.db", dir);
    CHECK_STR_EQ(d->state, want);
    free(want);
    want = strata_xasprintf("%s/catalog.yaml", dir);
    CHECK_STR_EQ(d->catalog, want);
    free(want);
    CHECK_EQ(d->log.level, STRATA_LOG_DEBUG);
    CHECK_EQ(d->log.format, STRATA_LOG_JSON);

    CHECK_EQ(d->n_registries, 2);
    CHECK_STR_EQ(d->registries[0].host, "registry.example.com:5000");
    CHECK_STR_EQ(d->registries[0].username, "bot");
    CHECK_STR_EQ(strata_secret_reveal(d->registries[0].password),
                 "fixture-registry-password");
    want = strata_xasprintf("file %s/secrets/registry-password", dir);
    CHECK_STR_EQ(strata_secret_source(d->registries[0].password), want);
    free(want);
    CHECK_EQ(d->registries[0].max_concurrency, 16);
    CHECK_EQ(d->registries[0].pos.line, 7);
    CHECK_EQ(d->registries[0].pos.col, 5);
    CHECK_STR_EQ(d->registries[1].host, "docker.io");
    CHECK_EQ(d->registries[1].max_concurrency, 8);
    CHECK(d->registries[1].password == NULL);
    CHECK(strata_config_registry_find(config, "docker.io") ==
          &d->registries[1]);
    CHECK(strata_config_registry_find(config, "quay.io") == NULL);

    CHECK_EQ(d->watch.interval_ms, 10 * 60 * 1000);
    CHECK_EQ(d->watch.jitter_percent, -1);
    CHECK_EQ(d->watch.jitter_ms, 30 * 1000);
    CHECK_EQ(d->watch.soak_ms, 3600 * 1000);
    CHECK_EQ(d->watch.n_bases, 2);
    b = &d->watch.bases[0];
    CHECK_STR_EQ(b->ref, "docker.io/library/debian:12-slim");
    CHECK_STR_EQ(b->name, "docker.io/library/debian");
    CHECK_EQ(b->interval_ms, 10 * 60 * 1000); /* inherited */
    CHECK_EQ(b->soak_ms, 3600 * 1000);        /* inherited */
    CHECK_EQ(b->has_policy, 0);
    b = &d->watch.bases[1];
    CHECK_STR_EQ(b->ref, "docker.io/library/python:latest");
    CHECK_EQ(b->interval_ms, 3600 * 1000);
    CHECK_EQ(b->soak_ms, 0); /* set to 0 here, not inherited */
    CHECK_EQ(b->platforms.count, 2);
    CHECK_STR_EQ(b->platforms.items[1], "linux/arm64/v8");
    CHECK_EQ(b->has_policy, 1);
    CHECK_STR_EQ(b->policy.semver, ">=3.11 <3.13");
    CHECK_STR_EQ(b->policy.suffix, "-slim");
    CHECK_STR_EQ(b->policy.regex, "^3\\.[0-9]+");

    CHECK_EQ(d->n_repos, 2);
    r = &d->repos[0];
    CHECK_STR_EQ(r->url, "https://github.com/acme/payments.git");
    CHECK_STR_EQ(r->branch, "main");
    CHECK_EQ(r->forge, STRATA_FORGE_GITHUB);
    CHECK_STR_EQ(r->forge_repo, "acme/payments");
    CHECK_STR_EQ(r->forge_api_url, "https://api.github.com");
    CHECK_STR_EQ(strata_secret_reveal(r->token), "ghp-test-token");
    CHECK_STR_EQ(strata_secret_source(r->token),
                 "env STRATA_TEST_GITHUB_TOKEN");
    CHECK_EQ(r->on_base_update, STRATA_ACTION_PR | STRATA_ACTION_REBUILD);
    CHECK_STR_EQ(r->builder, "default");
    CHECK_EQ(r->n_images, 1);
    CHECK_STR_EQ(r->images[0].name,
                 "registry.example.com:5000/acme/payments:latest");
    CHECK_STR_EQ(r->images[0].dockerfile, "docker/Dockerfile");
    CHECK_STR_EQ(r->images[0].context, ".");
    CHECK_STR_EQ(r->images[0].target, "runtime");
    CHECK_EQ(r->images[0].n_build_args, 2);
    CHECK_STR_EQ(r->images[0].build_args[0].key, "PYTHON_VERSION");
    CHECK_STR_EQ(r->images[0].build_args[0].value, "3.12");
    CHECK_STR_EQ(r->images[0].build_args[1].value, "0");
    r = &d->repos[1];
    want = strata_xasprintf("%s/../repos/local", dir);
    CHECK_STR_EQ(r->url, want);
    free(want);
    CHECK_STR_EQ(r->branch, "trunk");
    CHECK_EQ(r->forge, STRATA_FORGE_NONE);
    CHECK(r->token == NULL);
    CHECK_STR_EQ(r->builder, "ci");
    CHECK_STR_EQ(r->exec, "make deploy");
    CHECK_EQ(r->on_base_update,
             STRATA_ACTION_REBUILD | STRATA_ACTION_RESCAN | STRATA_ACTION_EXEC);
    CHECK_STR_EQ(r->images[0].dockerfile, "Dockerfile");

    CHECK_EQ(d->forges.github.configured, 1);
    CHECK_EQ(d->forges.gitlab.configured, 0);
    CHECK_STR_EQ(d->forges.gitlab.api_url, "https://gitlab.com/api/v4");

    CHECK_EQ(d->n_builders, 2);
    CHECK_STR_EQ(d->builders[0].name, "default");
    CHECK_EQ(d->builders[0].type, STRATA_BUILDER_EXEC);
    CHECK_EQ(d->builders[0].timeout_ms, 3600 * 1000);
    CHECK(strata_config_builder_find(config, "ci") == &d->builders[1]);
    CHECK_EQ(d->builders[1].type, STRATA_BUILDER_WEBHOOK);
    CHECK_EQ(d->builders[1].timeout_ms, 30 * 60 * 1000);
    /* $${ is the escape for a literal ${. */
    CHECK_STR_EQ(strata_secret_reveal(d->builders[1].secret), "${not-a-var}");
    CHECK_STR_EQ(strata_secret_source(d->builders[1].secret), "inline");

    CHECK_EQ(d->n_notify, 2);
    CHECK_STR_EQ(d->notify[0].name, "slack-1");
    CHECK_EQ(d->notify[0].type, STRATA_NOTIFY_SLACK);
    CHECK_STR_EQ(strata_secret_reveal(d->notify[0].url),
                 "https://hooks.slack.com/services/T/B/X");
    CHECK_EQ(d->notify[0].events.count, 2);
    CHECK_STR_EQ(d->notify[1].name, "audit");
    CHECK_STR_EQ(d->notify[1].events.items[0], "rebuild.*");

    CHECK_STR_EQ(d->api.listen, "0.0.0.0:8780");
    CHECK_STR_EQ(strata_secret_reveal(d->api.token), "fixture-api-token");
    strata_config_free(config);
    strata_config_problems_free(problems);
}

TEST(defaults)
{
    result r;
    const strata_config_data *d = load_ok(&r, "", "/srv/strata");
    strata_config *def = NULL;
    strata_error err = {0};
    char cwd[PATH_MAX], *want;

    CHECK_STR_EQ(d->state, "/srv/strata/strata.db");
    CHECK_EQ(d->state_check, 0);
    CHECK(d->catalog == NULL);
    CHECK_EQ(d->log.level, STRATA_LOG_INFO);
    CHECK_EQ(d->log.format, STRATA_LOG_TEXT);
    CHECK_EQ(d->n_registries, 0);
    CHECK_EQ(d->watch.interval_ms, 15 * 60 * 1000);
    CHECK_EQ(d->watch.jitter_percent, 10);
    CHECK_EQ(d->watch.soak_ms, 0);
    CHECK_EQ(d->watch.settle_ms, 0);
    CHECK_STR_EQ(d->api.listen, "127.0.0.1:8780");
    CHECK(d->api.token == NULL);
    CHECK_STR_EQ(d->forges.github.api_url, "https://api.github.com");
    CHECK_EQ(d->scan.interval_ms, 5 * 60 * 1000);
    CHECK_EQ(d->scan.fetch_timeout_ms, 2 * 60 * 1000);
    CHECK_EQ(d->scan.stall_timeout_ms, 30 * 1000);
    result_free(&r);

    /* A null document and empty sections give the defaults too. */
    d = load_ok(&r, "---\nlog:\nwatch: ~\nregistries: []\n", "/srv");
    CHECK_EQ(d->watch.interval_ms, 15 * 60 * 1000);
    CHECK_EQ(d->log.level, STRATA_LOG_INFO);
    result_free(&r);

    CHECK_OK(strata_config_default(&def, &err), &err);
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    want = strata_xasprintf("%s/strata.db", cwd);
    CHECK_STR_EQ(strata_config_data_get(def)->state, want);
    CHECK_STR_EQ(strata_config_data_get(def)->file, "<defaults>");
    free(want);
    strata_config_free(def);
    CHECK_CONTAINS(strata_config_default_yaml(), "state: ./strata.db");
}

TEST(load_or_default)
{
    strata_config *c = NULL;
    strata_error err = {0};

    CHECK_OK(strata_config_load_or_default(&c, "/nonexistent/strata.yaml", 0,
                                           NULL, &err),
             &err);
    CHECK_STR_EQ(strata_config_data_get(c)->file, "<defaults>");
    strata_config_free(c);
    c = NULL;
    CHECK_EQ(strata_config_load_or_default(&c, "/nonexistent/strata.yaml", 1,
                                           NULL, &err),
             STRATA_ENOTFOUND);
    CHECK(c == NULL);
    CHECK_STR_EQ(err.msg, "cannot open '/nonexistent/strata.yaml': No such "
                          "file or directory");
    /* Without a problem list, err still names the first problem. */
    CHECK_EQ(strata_config_load_string(&c, "state: [x]\n", 11, "x.yaml", "/",
                                       NULL, &err),
             STRATA_EINVAL);
    CHECK_STR_EQ(err.msg, "invalid configuration 'x.yaml': 1 problem, the "
                          "first: x.yaml:1:8: 'state' must be a string, not "
                          "a list");
}

TEST(env_interpolation)
{
    result r;
    const strata_config_data *d;

    setenv("STRATA_T_USER", "robot", 1);
    setenv("STRATA_T_HOST", "quay.io", 1);
    setenv("STRATA_T_N", "32", 1);
    setenv("STRATA_T_EMPTY", "", 1);
    unsetenv("STRATA_T_UNSET");
    d = load_ok(&r,
                "registries:\n"
                "  - host: ${STRATA_T_HOST}\n"
                "    max_concurrency: ${STRATA_T_N}\n"
                "    auth: {username: \"${STRATA_T_USER}-$${x}-${STRATA_T_"
                "EMPTY}$\", token: \"Bearer ${STRATA_T_USER}\"}\n",
                "/");
    CHECK_STR_EQ(d->registries[0].host, "quay.io");
    CHECK_EQ(d->registries[0].max_concurrency, 32);
    CHECK_STR_EQ(d->registries[0].username, "robot-${x}-$");
    CHECK_STR_EQ(strata_secret_reveal(d->registries[0].token), "Bearer robot");
    CHECK_STR_EQ(strata_secret_source(d->registries[0].token),
                 "env STRATA_T_USER");
    result_free(&r);

    load_one_problem("state: ${STRATA_T_UNSET}/db\n",
                     "test.yaml:1:8: environment variable 'STRATA_T_UNSET' "
                     "is not set (used in 'state')");
    load_one_problem("state: \"${STRATA_T_USER\"\n",
                     "test.yaml:1:8: unterminated '${' in 'state' (write "
                     "'$${' for a literal '${')");
    load_one_problem("state: ${1BAD}\n",
                     "test.yaml:1:8: invalid variable name in 'state': use "
                     "${NAME} with letters, digits and '_'");
    /* Keys are never interpolated. */
    load_one_problem("${STRATA_T_USER}: 1\n",
                     "test.yaml:1:1: unknown key '${STRATA_T_USER}' in the "
                     "configuration");
}

TEST(secret_files)
{
    char tmpl[] = "/tmp/strata-test-config-XXXXXX", *dir, *path, *yaml;
    const strata_config_data *d;
    FILE *f;
    result r;

    dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    path = strata_xasprintf("%s/token", dir);
    f = fopen(path, "w");
    fputs("tok-from-file\r\n", f);
    fclose(f);
    free(path);
    path = strata_xasprintf("%s/empty", dir);
    fclose(fopen(path, "w"));
    free(path);

    d = load_ok(&r,
                "forges:\n"
                "  gitlab: {token_file: token, api_url: https://gl.example}\n"
                "api: {token_file: ./token}\n",
                dir);
    CHECK_STR_EQ(strata_secret_reveal(d->forges.gitlab.token), "tok-from-file");
    CHECK_STR_EQ(d->forges.gitlab.api_url, "https://gl.example");
    CHECK_STR_EQ(strata_secret_reveal(d->api.token), "tok-from-file");
    result_free(&r);

    yaml = strata_xasprintf("api: {token_file: %s/missing}\n", dir);
    path = strata_xasprintf("test.yaml:1:19: cannot read 'token_file' "
                            "'%s/missing': No such file or directory",
                            dir);
    load_one_problem(yaml, path);
    free(yaml);
    free(path);
    yaml = strata_xasprintf("api: {token_file: %s/empty}\n", dir);
    path = strata_xasprintf("test.yaml:1:19: 'token_file' '%s/empty' is "
                            "empty",
                            dir);
    load_one_problem(yaml, path);
    free(yaml);
    free(path);
    load_one_problem("api: {token: abc, token_file: /etc/hostname}\n",
                     "test.yaml:1:31: set either 'token' or 'token_file', "
                     "not both");
    load_one_problem("registries: [{host: a.io, ca_file: /nonexistent.pem}]\n",
                     "test.yaml:1:36: cannot read 'ca_file' "
                     "'/nonexistent.pem': No such file or directory");

    path = strata_xasprintf("%s/token", dir);
    unlink(path);
    free(path);
    path = strata_xasprintf("%s/empty", dir);
    unlink(path);
    free(path);
    rmdir(dir);
}

TEST(secrets_never_appear_in_problems)
{
    const char *secret = "hunter2-SECRET-value";
    char tmpl[] = "/tmp/strata-test-config-XXXXXX", *dir, *path, *yaml;
    strata_config *c = NULL;
    strata_error err = {0};
    FILE *f;
    result r;
    size_t i;

    setenv("STRATA_T_SECRET", secret, 1);
    dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    path = strata_xasprintf("%s/pw", dir);
    f = fopen(path, "w");
    fputs(secret, f);
    fclose(f);
    /* A secret from the environment or a file, put where it is wrong. */
    yaml = strata_xasprintf(
        "log: {level: \"${STRATA_T_SECRET}\"}\n"
        "registries:\n"
        "  - host: \"${STRATA_T_SECRET}://x\"\n"
        "    max_concurrency: ${STRATA_T_SECRET}\n"
        "    insecure: ${STRATA_T_SECRET}\n"
        "    auth: {password_file: %s, password: hunter2-SECRET-value}\n"
        "  - {host: b.io, auth: {password: [hunter2-SECRET-value]}}\n"
        "watch:\n"
        "  interval: ${STRATA_T_SECRET}\n"
        "  bases: [{ref: \"${STRATA_T_SECRET}\"}]\n"
        "repos: [{url: \"${STRATA_T_SECRET}://x\", on_base_update: "
        "[\"${STRATA_T_SECRET}\"]}]\n"
        "notify:\n"
        "  - {type: slack, url: \"${STRATA_T_SECRET}\"}\n"
        "  - {type: webhook, url: \"ftp://hunter2-SECRET-value\"}\n"
        "  - {type: email, url: \"${STRATA_T_SECRET}\", from: a, to: [b],"
        " events: [\"${STRATA_T_SECRET}\"]}\n"
        "api: {listen: \"${STRATA_T_SECRET}\", token: hunter2-SECRET-value}\n",
        path);
    load_str(&r, yaml, dir);
    dump(&r);
    CHECK_EQ(r.rc, STRATA_EINVAL);
    CHECK(count(&r) >= 14);
    for (i = 0; i < count(&r); i++)
        CHECK(strstr(text(&r, i), "SECRET") == NULL);
    CHECK(strstr(r.err.msg, "SECRET") == NULL);
    result_free(&r);
    free(yaml);

    /* Valid secrets load, and their source never shows the value. */
    yaml =
        strata_xasprintf("api: {token_file: %s}\n"
                         "forges: {gitea: {token: \"${STRATA_T_SECRET}\"}}\n",
                         path);
    CHECK_OK(
        strata_config_load_string(&c, yaml, strlen(yaml), "t", "/", NULL, &err),
        &err);
    CHECK_STR_EQ(strata_secret_reveal(strata_config_data_get(c)->api.token),
                 secret);
    CHECK(strstr(strata_secret_source(strata_config_data_get(c)->api.token),
                 "SECRET") == NULL);
    CHECK_STR_EQ(
        strata_secret_source(strata_config_data_get(c)->forges.gitea.token),
        "env STRATA_T_SECRET");
    strata_config_free(c);
    free(yaml);
    unlink(path);
    free(path);
    rmdir(dir);
}

TEST(example_file_validates)
{
    strata_config_problems *problems = strata_config_problems_new();
    strata_config *config = NULL;
    strata_error err = {0};
    size_t i;

    /* The variables the example's comments tell users to export. */
    setenv("REGISTRY_PASSWORD", "example-password", 1);
    setenv("GITHUB_TOKEN", "example-github-token", 1);
    setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/X", 1);
    setenv("STRATA_API_TOKEN", "example-api-token", 1);
    setenv("HARBOR_WEBHOOK_SECRET", "example-harbor-secret", 1);
    setenv("GITHUB_WEBHOOK_SECRET", "example-github-secret", 1);
    strata_config_load(&config, STRATA_EXAMPLE_CONFIG, problems, &err);
    for (i = 0; i < strata_config_problems_count(problems); i++)
        printf("#   problem: %s\n",
               strata_config_problems_get(problems, i)->text);
    CHECK(config != NULL);
    CHECK_EQ(strata_config_problems_count(problems), 0);
    CHECK(strata_config_data_get(config)->n_repos > 0);
    CHECK(strata_config_data_get(config)->watch.n_bases > 0);
    strata_config_free(config);
    strata_config_problems_free(problems);
}

TEST(api_listen_needs_token_off_loopback)
{
    result r;

    load_one_problem("api: {listen: \"0.0.0.0:8780\"}\n",
                     "test.yaml:1:15: api 'listen' is not a loopback "
                     "address: set 'token' or 'token_file' so the API is not "
                     "open to the network");
    load_one_problem("api:\n  listen: \":8780\"\n",
                     "test.yaml:2:11: api 'listen' is not a loopback "
                     "address: set 'token' or 'token_file' so the API is not "
                     "open to the network");
    load_ok(&r, "api: {listen: \"0.0.0.0:8780\", token: t}\n", "/");
    result_free(&r);
    load_ok(&r, "api: {listen: \"[::1]:0\"}\n", "/");
    result_free(&r);
    load_ok(&r, "api: {listen: \"localhost:8780\"}\n", "/");
    result_free(&r);
    load_ok(&r, "api: {listen: \"127.1.2.3:8780\"}\n", "/");
    result_free(&r);
    load_one_problem("api: {listen: \"8780\"}\n",
                     "test.yaml:1:15: invalid listen address '8780' "
                     "(expected HOST:PORT, e.g. 127.0.0.1:8780 or "
                     "[::1]:8780)");
    load_one_problem("api: {listen: \"127.0.0.1:70000\"}\n",
                     "test.yaml:1:15: invalid listen address "
                     "'127.0.0.1:70000' (expected HOST:PORT, e.g. "
                     "127.0.0.1:8780 or [::1]:8780)");
    /* Git push webhooks: no registry; scan interval bounds. */
    {
        const strata_config_data *d = load_ok(
            &r,
            "api:\n  webhooks:\n    - {name: gh, kind: github, secret: s}\n"
            "    - {name: gl, kind: gitlab, secret: s}\n"
            "    - {name: ge, kind: gitea, secret: s}\n"
            "scan: {interval: 30s, fetch_timeout: 45s, stall_timeout: 5s}\n",
            "/");

        CHECK_EQ(d->api.n_webhooks, 3);
        CHECK(STRATA_WEBHOOK_IS_GIT(d->api.webhooks[0].kind));
        CHECK_EQ(d->api.webhooks[1].kind, STRATA_WEBHOOK_GITLAB);
        CHECK_EQ(d->scan.interval_ms, 30000);
        CHECK_EQ(d->scan.fetch_timeout_ms, 45000);
        CHECK_EQ(d->scan.stall_timeout_ms, 5000);
        result_free(&r);
    }
    load_one_problem("api:\n  webhooks:\n    - {name: gh, kind: github, "
                     "secret: s, registry: ghcr.io}\n",
                     "test.yaml:3:53: 'registry' does not apply to a "
                     "'github' webhook (a git push webhook)");
    load_one_problem("scan: {interval: 1s}\n",
                     "test.yaml:1:18: 'interval' must be at least 10s");
    load_one_problem("scan: {stall_timeout: 500ms}\n",
                     "test.yaml:1:23: 'stall_timeout' must be at least 1s");
    CHECK(strata_config_listen_is_loopback("127.0.0.1:1"));
    CHECK(strata_config_listen_is_loopback("[::1]:1"));
    CHECK(!strata_config_listen_is_loopback("[::]:1"));
    CHECK(!strata_config_listen_is_loopback("10.0.0.1:1"));
    CHECK(!strata_config_listen_is_loopback("localhost.evil.com:1"));
}

/* The registry webhook kinds of issue 24 and the keys each one takes. */
TEST(registry_webhook_kinds)
{
    result r;
    const strata_config_data *d = load_ok(
        &r,
        "api:\n  webhooks:\n"
        "    - {name: ce, kind: cloudevents, secret: s}\n"
        "    - {name: q, kind: quay, secret: s}\n"
        "    - {name: g, kind: ghcr, secret: s}\n"
        "    - {name: e, kind: ecr, secret: s, header: x-api-key}\n"
        "    - {name: a, kind: acr, secret: s, username: hook}\n"
        "    - {name: p, kind: artifact-registry, keys: /etc/google.json,\n"
        "       audience: \"https://strata.example/hooks/registry/p\",\n"
        "       service_account: push@p.iam.gserviceaccount.com}\n"
        "    - {name: t, kind: artifact-registry, secret: s}\n"
        "    - {name: gh, kind: github, secret: s}\n",
        "/");

    CHECK_EQ(d->api.n_webhooks, 8);
    CHECK_EQ(d->api.webhooks[0].kind, STRATA_WEBHOOK_CLOUDEVENTS);
    CHECK_EQ(d->api.webhooks[2].kind, STRATA_WEBHOOK_GHCR);
    CHECK_STR_EQ(d->api.webhooks[3].header, "x-api-key");
    CHECK_STR_EQ(d->api.webhooks[4].username, "hook");
    CHECK_EQ(d->api.webhooks[5].kind, STRATA_WEBHOOK_ARTIFACT_REGISTRY);
    CHECK(d->api.webhooks[5].secret == NULL);
    CHECK_STR_EQ(d->api.webhooks[5].keys, "/etc/google.json");
    CHECK_STR_EQ(d->api.webhooks[5].service_account,
                 "push@p.iam.gserviceaccount.com");
    /* The registry kinds are not git kinds, and github still is. */
    for (size_t i = 0; i < 7; i++)
        CHECK(!STRATA_WEBHOOK_IS_GIT(d->api.webhooks[i].kind));
    CHECK(STRATA_WEBHOOK_IS_GIT(d->api.webhooks[7].kind));
    result_free(&r);
    load_one_problem("api:\n  webhooks:\n    - {name: q, kind: quay}\n",
                     "test.yaml:3:7: webhook needs 'secret'");
    load_one_problem("api:\n  webhooks:\n    - {name: p, kind: "
                     "artifact-registry}\n",
                     "test.yaml:3:7: an 'artifact-registry' webhook needs "
                     "'keys' and 'audience' (Google's signed token) or "
                     "'secret' (a token in the push URL)");
    load_one_problem("api:\n  webhooks:\n    - {name: p, kind: "
                     "artifact-registry, keys: /k.json}\n",
                     "test.yaml:3:7: an 'artifact-registry' webhook needs "
                     "both 'keys' and 'audience' to verify Google's token");
    load_one_problem("api:\n  webhooks:\n    - {name: q, kind: quay, "
                     "secret: s, header: x-token}\n",
                     "test.yaml:3:48: 'header' does not apply to a 'quay' "
                     "webhook (distribution, harbor, cloudevents, ecr and acr "
                     "read the secret from a header)");
    load_one_problem("api:\n  webhooks:\n    - {name: e, kind: ecr, "
                     "secret: s, header: x-api-key, username: u}\n",
                     "test.yaml:3:47: 'header' and 'username' exclude each "
                     "other (basic auth is in the Authorization header)");
    load_one_problem("api:\n  webhooks:\n    - {name: e, kind: ecr, "
                     "secret: s, audience: a}\n",
                     "test.yaml:3:49: 'audience' applies only to an "
                     "'artifact-registry' webhook");
    load_one_problem("api:\n  webhooks:\n    - {name: p, kind: "
                     "artifact-registry, secret: s, registry: x.io}\n",
                     "test.yaml:3:63: 'registry' does not apply to an "
                     "'artifact-registry' webhook (its tags name their "
                     "host)");
    load_one_problem("api:\n  webhooks:\n    - {name: p, kind: gcr, "
                     "secret: s}\n",
                     "test.yaml:3:23: unknown value 'gcr' for 'kind' "
                     "(expected one of: distribution, dockerhub, harbor, "
                     "generic, cloudevents, quay, ghcr, ecr, acr, "
                     "artifact-registry, github, gitlab, gitea)");
}

TEST(yaml_syntax_and_shape)
{
    load_one_problem("a: [1, 2\nb: c\n",
                     "test.yaml:2:2: invalid YAML: did not find expected ',' "
                     "or ']' (while parsing a flow sequence at line 1)");
    load_one_problem("state: x\n  bad: indent\n",
                     "test.yaml:2:6: invalid YAML: mapping values are not "
                     "allowed in this context");
    load_one_problem("- a\n- b\n",
                     "test.yaml:1:1: the configuration must be a mapping, "
                     "not a list");
    load_one_problem("state: a\n---\nstate: b\n",
                     "test.yaml:3:1: only one YAML document is allowed");
    load_one_problem("state: a\n\xff\n",
                     "test.yaml:2:1: invalid YAML: invalid leading UTF-8 "
                     "octet");
    load_one_problem("? [a]\n: b\n",
                     "test.yaml:1:3: keys must be strings, not a list");
    load_one_problem("watch: [15m]\n",
                     "test.yaml:1:8: 'watch' must be a mapping, not a list");
    load_one_problem("registries: {host: x}\n",
                     "test.yaml:1:13: 'registries' must be a list, not a "
                     "mapping");
    load_one_problem("registries: [ghcr.io]\n",
                     "test.yaml:1:14: each registry in 'registries' must be "
                     "a mapping, not a scalar");
}

TEST(suggestions_and_enums)
{
    const char *const keys[] = {"registries", "repos", "watch", "notify"};

    CHECK_EQ(strata_config__distance("kitten", "sitting"), 3);
    CHECK_EQ(strata_config__distance("", "abc"), 3);
    CHECK_EQ(strata_config__distance("same", "same"), 0);
    CHECK_STR_EQ(strata_config__suggest("regsitries", keys, 4), "registries");
    CHECK_STR_EQ(strata_config__suggest("wach", keys, 4), "watch");
    CHECK(strata_config__suggest("zzzzzz", keys, 4) == NULL);
    load_one_problem("registries: [{host: a.io, auth: {passwrd_file: x}}]\n",
                     "test.yaml:1:34: unknown key 'passwrd_file' in registry "
                     "auth; did you mean 'password_file'?");
    load_one_problem("builders: {b: {type: kaniko, command: x}}\n",
                     "test.yaml:1:22: unknown value 'kaniko' for 'type' "
                     "(expected one of: exec, buildah, kubernetes, "
                     "github-actions, gitlab, webhook)");
    load_one_problem("repos: [{url: /r, builder: defualt}]\n"
                     "builders: {default: {type: buildah}}\n",
                     "test.yaml:1:28: unknown builder 'defualt'; did you "
                     "mean 'default'?");
    load_one_problem("notify: [{type: slack, url: \"https://h\", events: "
                     "[rebuild.faild]}]\n",
                     "test.yaml:1:51: unknown event 'rebuild.faild'; did you "
                     "mean 'rebuild.failed'?");
    load_one_problem("state_check: fast\n",
                     "test.yaml:1:14: unknown value 'fast' for 'state_check' "
                     "(expected one of: off, quick, full)");
    {
        result r;

        CHECK_EQ(load_ok(&r, "state_check: quick\n", "/")->state_check, 1);
        result_free(&r);
        CHECK_EQ(load_ok(&r, "state_check: full\n", "/")->state_check, 2);
        result_free(&r);
    }
    CHECK_STR_EQ(strata_config_forge_name(STRATA_FORGE_GITEA), "gitea");
    CHECK_STR_EQ(strata_config_builder_type_name(STRATA_BUILDER_GITHUB_ACTIONS),
                 "github-actions");
    CHECK_STR_EQ(strata_config_notify_type_name(STRATA_NOTIFY_TEAMS), "teams");
    CHECK_STR_EQ(strata_config_action_name(STRATA_ACTION_RESCAN), "rescan");
    CHECK(strata_config_action_name(3) == NULL);
}

TEST(cross_section_rules)
{
    result r;
    const strata_config_data *d;

    load_one_problem("repos: [{url: /r, on_base_update: [exec]}]\n",
                     "test.yaml:1:35: 'exec' needs the repository's 'exec' "
                     "command");
    load_one_problem("repos: [{url: \"https://gitea.example/a/b\", forge: "
                     "{type: gitea}}]\n",
                     "test.yaml:1:9: forge 'gitea' needs 'api_url' (in the "
                     "repository's forge or in forges.gitea)");
    load_one_problem("repos: [{url: /srv/r, forge: {type: github}}]\n",
                     "test.yaml:1:30: forge 'github' needs 'repo' "
                     "(OWNER/NAME): it cannot be told from the URL");
    load_one_problem("repos: [{url: \"ftp://x/y\"}]\n",
                     "test.yaml:1:15: unsupported repository URL 'ftp://x/y' "
                     "(use https://, http://, ssh://, git://, file://, "
                     "user@host:path or a local path)");
    load_one_problem("builders: {b: {type: exec}}\n",
                     "test.yaml:1:15: builder type 'exec' needs 'command'");
    load_one_problem("builders: {b: {type: exec, command: x, workflow: w}}\n",
                     "test.yaml:1:40: 'workflow' does not apply to builder "
                     "type 'exec'");
    load_one_problem("notify: [{type: email, url: \"https://x\", from: a, "
                     "to: [b]}]\n",
                     "test.yaml:1:29: 'url' must be an smtp:// or smtps:// "
                     "URL");
    load_one_problem("notify: [{name: a, type: exec, command: x}, {name: a, "
                     "type: exec, command: y}]\n",
                     "test.yaml:1:52: duplicate notification name 'a' (first "
                     "at line 1)");
    load_one_problem("registries: [{host: a.io, auth: {username: u}}]\n",
                     "test.yaml:1:33: 'username' needs 'password' or "
                     "'password_file'");
    load_one_problem("repos: [{url: /r, images: [{name: x, build_args: {A: "
                     "1, A: 2}}]}]\n",
                     "test.yaml:1:57: duplicate key 'A' in 'build_args'");
    load_one_problem("repos: [{url: /r, images: [{name: \"x@sha256:"
                     "0123456789abcdef0123456789abcdef0123456789abcdef0123456"
                     "789abcdef\"}]}]\n",
                     "test.yaml:1:35: image 'docker.io/library/x@sha256:"
                     "0123456789abcdef0123456789abcdef0123456789abcdef0123456"
                     "789abcdef' must not have a digest: it names what is "
                     "built");
    load_one_problem("watch: {interval: 500ms}\n",
                     "test.yaml:1:19: 'interval' must be at least 1s");
    load_one_problem("watch: {jitter: 101%}\n",
                     "test.yaml:1:17: 'jitter' must be a percentage between "
                     "0% and 100% or a duration");
    load_one_problem("watch: {interval: 1m, jitter: 2m}\n",
                     "test.yaml:1:31: 'jitter' must not be longer than "
                     "'interval'");
    load_one_problem(
        "watch: {bases: [{ref: a, policy: {semver: \">=1 ||\"}}]}\n",
        "test.yaml:1:43: invalid semver range '>=1 ||': empty alternative "
        "around "
        "'||' "
        "(e.g. '>=3.11 <3.13', '^1.2', '1.x || 2.x', '1.0 - 1.4')");

    /* Inference: scp-like GitHub URLs, default actions, single builder. */
    d = load_ok(&r,
                "repos:\n"
                "  - url: git@github.com:acme/api.git\n"
                "  - url: https://gitlab.com/group/sub/proj\n"
                "    on_base_update: [rebuild]\n"
                "  - {url: \"file:///srv/git/x\", images: [{name: "
                "localhost:5000/x}]}\n"
                "builders: {only: {type: kubernetes, image: quay.io/b}}\n"
                "watch: {bases: [{ref: \"a\", policy: {semver: \"^1.2 || "
                "2.x\"}}, {ref: b, policy: {semver: \"1.0.0 - 1.4\"}}]}\n",
                "/");
    CHECK_EQ(d->repos[0].forge, STRATA_FORGE_GITHUB);
    CHECK_STR_EQ(d->repos[0].forge_repo, "acme/api");
    CHECK_EQ(d->repos[0].on_base_update, STRATA_ACTION_PR);
    CHECK_EQ(d->repos[1].forge, STRATA_FORGE_GITLAB);
    CHECK_STR_EQ(d->repos[1].forge_repo, "group/sub/proj");
    CHECK_STR_EQ(d->repos[1].forge_api_url, "https://gitlab.com/api/v4");
    CHECK_STR_EQ(d->repos[1].builder, "only");
    CHECK_STR_EQ(d->repos[2].url, "file:///srv/git/x");
    CHECK_EQ(d->repos[2].forge, STRATA_FORGE_NONE);
    /* Without a forge, 'pr' pushes the branch only: still the default. */
    CHECK_EQ(d->repos[2].on_base_update, STRATA_ACTION_PR);
    CHECK_STR_EQ(d->repos[2].images[0].name, "localhost:5000/x:latest");
    CHECK(d->builders[0].k8s_namespace == NULL);
    CHECK_STR_EQ(d->builders[0].image, "quay.io/b");
    result_free(&r);
}

TEST(builder_push_secret_and_api_token)
{
    result r;
    const strata_config_data *d;

    setenv("STRATA_T_GL_READ", "glpat-read-SECRET-token", 1);
    d = load_ok(&r,
                "builders:\n"
                "  k8s: {type: kubernetes, image: moby/buildkit:rootless, "
                "push_secret: registry.acme-push}\n"
                "  gl: {type: gitlab, project: acme/app, token: "
                "glptt-trigger, api_token: \"${STRATA_T_GL_READ}\"}\n",
                "/");
    CHECK_STR_EQ(d->builders[0].push_secret, "registry.acme-push");
    CHECK(d->builders[0].api_token == NULL);
    CHECK(d->builders[1].push_secret == NULL);
    CHECK_STR_EQ(strata_secret_reveal(d->builders[1].api_token),
                 "glpat-read-SECRET-token");
    CHECK_STR_EQ(strata_secret_source(d->builders[1].api_token),
                 "env STRATA_T_GL_READ");
    result_free(&r);

    load_one_problem("builders: {b: {type: kubernetes, image: i, "
                     "push_secret: Reg_Cred}}\n",
                     "test.yaml:1:57: invalid 'push_secret' 'Reg_Cred' "
                     "(expected a Kubernetes object name: lowercase letters, "
                     "digits, '-' and '.', starting and ending with a letter "
                     "or digit)");
    load_one_problem("builders: {b: {type: kubernetes, image: i, "
                     "push_secret: regcred.}}\n",
                     "test.yaml:1:57: invalid 'push_secret' 'regcred.' "
                     "(expected a Kubernetes object name: lowercase letters, "
                     "digits, '-' and '.', starting and ending with a letter "
                     "or digit)");
    load_one_problem("builders: {b: {type: gitlab, project: p, token: t, "
                     "push_secret: regcred}}\n",
                     "test.yaml:1:52: 'push_secret' does not apply to "
                     "builder type 'gitlab'");
    load_one_problem("builders: {b: {type: kubernetes, image: i, "
                     "api_token: t}}\n",
                     "test.yaml:1:44: 'api_token' does not apply to builder "
                     "type 'kubernetes'");
    /* Without the trigger token there is nothing to follow; the problem
     * names the key, never the value. */
    load_str(&r,
             "builders: {b: {type: gitlab, project: p, api_token: "
             "\"${STRATA_T_GL_READ}\"}}\n",
             "/");
    CHECK_EQ(r.rc, STRATA_EINVAL);
    CHECK_EQ(count(&r), 1);
    CHECK_STR_EQ(text(&r, 0), "test.yaml:1:53: 'api_token' needs 'token' (the "
                              "pipeline trigger token that starts the "
                              "pipeline)");
    CHECK(strstr(r.err.msg, "SECRET") == NULL);
    result_free(&r);
    unsetenv("STRATA_T_GL_READ");
}

TEST(hostile_inputs_are_bounded)
{
    strata_buf b = STRATA_BUF_INIT;
    result r;
    int i;

    /* A billion-laughs alias chain: walking must stop, not explode. */
    strata_buf_puts(&b, "x0: &a0 {host: h}\n");
    for (i = 1; i < 12; i++)
        strata_buf_printf(&b, "x%d: &a%d [*a%d, *a%d, *a%d, *a%d]\n", i, i,
                          i - 1, i - 1, i - 1, i - 1);
    strata_buf_puts(&b, "registries: [*a0, *a0]\nrepos:\n");
    for (i = 0; i < 3; i++)
        strata_buf_printf(&b, "  - &r%d {url: /r%d, images: [{name: x}]}\n", i,
                          i);
    load_str(&r, b.ptr, "/");
    CHECK_EQ(r.rc, STRATA_EINVAL);
    CHECK(count(&r) < STRATA_CONFIG_MAX_PROBLEMS + 2);
    result_free(&r);
    strata_buf_reset(&b);

    /* Deep nesting under a key the schema does not descend into. */
    strata_buf_puts(&b, "log: {level: info}\nextra: ");
    for (i = 0; i < 5000; i++)
        strata_buf_putc(&b, '[');
    for (i = 0; i < 5000; i++)
        strata_buf_putc(&b, ']');
    strata_buf_putc(&b, '\n');
    load_str(&r, b.ptr, "/");
    CHECK_EQ(r.rc, STRATA_EINVAL);
    CHECK_CONTAINS(text(&r, 0), "unknown key 'extra'");
    result_free(&r);
    strata_buf_reset(&b);

    /* Many problems: collection stops at the cap. */
    for (i = 0; i < 1000; i++)
        strata_buf_printf(&b, "k%d: 1\n", i);
    load_str(&r, b.ptr, "/");
    CHECK_EQ(count(&r), STRATA_CONFIG_MAX_PROBLEMS);
    CHECK_CONTAINS(text(&r, count(&r) - 1), "too many problems");
    result_free(&r);
    strata_buf_release(&b);

    /* Embedded NUL bytes in a scalar are refused. */
    load_str(&r, "state: \"a\\0b\"\n", "/");
    CHECK_EQ(count(&r), 1);
    CHECK_STR_EQ(text(&r, 0), "test.yaml:1:8: 'state' must not contain a NUL "
                              "character");
    result_free(&r);
}

/* Sanitizers inflate time and memory: their builds get more room. */
#if defined(__SANITIZE_ADDRESS__)
#define SLACK 4
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLACK 4
#endif
#endif
#ifndef SLACK
#define SLACK 1
#endif

/* This process's peak RSS, after resetting it to the current RSS. */
static long
peak_rss_kb(int reset)
{
    char line[256];
    long kb = -1;
    FILE *f;

    if (reset) {
        f = fopen("/proc/self/clear_refs", "w");
        CHECK(f != NULL);
        fputs("5", f);
        fclose(f);
    }
    f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atol(line + 6);
    fclose(f);
    return kb;
}

static double
seconds_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Loads tests/config/NAME with its time and memory as diagnostics. */
static void
load_laughs(result *r, const char *name, double *secs, long *peak_kb)
{
    char *path = strata_xasprintf("%s/%s", STRATA_TEST_CONFIG_DIR, name);
    long before = peak_rss_kb(1);
    double start = seconds_now();

    memset(r, 0, sizeof(*r));
    r->problems = strata_config_problems_new();
    r->rc = strata_config_load(&r->config, path, r->problems, &r->err);
    *secs = seconds_now() - start;
    *peak_kb = peak_rss_kb(0) - before;
    printf("# %s: %zu problems in %.3f s, peak +%ld kB\n", name, count(r),
           *secs, *peak_kb);
    free(path);
}

/*
 * "Billion laughs" through the lists and mappings the walk used not to
 * count (issue 21): a 15 KB file whose build_args and headers expand to
 * 800 MB, and a 70 KB one whose string lists repeat a 64 KiB value in
 * every problem. Loading stops early, small and fast, and a problem
 * quotes at most a cut of a value.
 */
TEST(alias_bombs_in_lists_and_mappings)
{
    const strata_config_problem *p;
    size_t i, total = 0;
    double secs;
    long peak;
    result r;

    load_laughs(&r, "laughs-build-args.yaml", &secs, &peak);
    CHECK_EQ(r.rc, STRATA_EINVAL);
    dump(&r);
    CHECK_EQ(count(&r), 1);
    CHECK_CONTAINS(text(&r, 0), "the configuration is too large");
    CHECK(secs < 2 * SLACK);
    CHECK(peak < 48 * 1024 * SLACK);
    result_free(&r);

    load_laughs(&r, "laughs-lists.yaml", &secs, &peak);
    CHECK_EQ(r.rc, STRATA_EINVAL);
    CHECK(count(&r) > 10);
    for (i = 0; i < count(&r); i++) {
        p = strata_config_problems_get(r.problems, i);
        total += strlen(p->text);
        CHECK(strlen(p->message) < 400);
    }
    printf("# %zu bytes of problems; first: %s\n", total, text(&r, 0));
    CHECK_CONTAINS(text(&r, 0), "yyyyyyyyyy\xe2\x80\xa6'");
    CHECK(total < 100 * 1024);
    CHECK(secs < 2 * SLACK);
    CHECK(peak < 48 * 1024 * SLACK);
    result_free(&r);

    /* Items of every list count: 300,000 aliases of one short label. */
    {
        strata_buf b = STRATA_BUF_INIT;

        strata_buf_puts(&b, "pull_requests:\n  labels: &l [");
        for (i = 0; i < 1000; i++)
            strata_buf_printf(&b, "%sl%zu", i ? ", " : "", i);
        strata_buf_puts(&b, "]\nrepos:\n");
        for (i = 0; i < 300; i++)
            strata_buf_printf(&b, "  - {url: /r%zu, pr: {labels: *l}}\n", i);
        load_str(&r, b.ptr, "/");
        CHECK_EQ(r.rc, STRATA_EINVAL);
        CHECK_CONTAINS(text(&r, count(&r) - 1),
                       "the configuration is too large (too many keys or "
                       "aliases)");
        result_free(&r);
        strata_buf_release(&b);
    }
}

/* A long value is cut in a message, at a character, marked with "…". */
TEST(long_values_are_cut_in_problems)
{
    strata_buf b = STRATA_BUF_INIT;
    result r;
    int i;

    strata_buf_puts(&b, "log: {level: \"");
    strata_buf_putc(&b, 'x'); /* so a cut at 256 bytes splits an é */
    for (i = 0; i < 200; i++)
        strata_buf_puts(&b, "\xc3\xa9"); /* é: two bytes each */
    strata_buf_puts(&b, "\"}\n");
    load_str(&r, b.ptr, "/");
    CHECK_EQ(count(&r), 1);
    dump(&r);
    /* 256 bytes is 128 é; the cut never splits one. */
    CHECK_CONTAINS(text(&r, 0), "unknown value '");
    CHECK_CONTAINS(text(&r, 0), "\xc3\xa9\xe2\x80\xa6' for 'level'");
    CHECK(strstr(text(&r, 0), "\xc3\xe2") == NULL);
    CHECK(strlen(text(&r, 0)) < 350);
    result_free(&r);
    strata_buf_release(&b);
    /* Short values and apostrophes are left alone. */
    load_one_problem("log: {level: loud}\n",
                     "test.yaml:1:14: unknown value 'loud' for 'level' "
                     "(expected one of: debug, info, warn, error)");
}

/* pull_requests gives defaults; a repository's pr overrides key by key. */
TEST(pull_request_settings_inherit)
{
    result r;
    const strata_config_data *d =
        load_ok(&r,
                "pull_requests:\n"
                "  author: {name: Bot, email: bot@example.com}\n"
                "  labels: [deps, base-image]\n"
                "  signoff: true\n"
                "  title: 'chore: pin {base} ({short})'\n"
                "repos:\n"
                "  - url: /a\n"
                "    pr: {draft: true, labels: [only], group: true,\n"
                "         author: {email: a@example.com}}\n"
                "  - url: /b\n",
                "/");
    const strata_config_pr *a = &d->repos[0].pr, *b = &d->repos[1].pr;

    CHECK_STR_EQ(a->author_name, "Bot");
    CHECK_STR_EQ(a->author_email, "a@example.com");
    CHECK_EQ(a->signoff, 1);
    CHECK_EQ(a->draft, 1);
    CHECK_EQ(a->group, 1);
    CHECK_EQ(a->labels.count, 1);
    CHECK_STR_EQ(a->labels.items[0], "only");
    CHECK_STR_EQ(a->title, "chore: pin {base} ({short})");
    CHECK_STR_EQ(b->author_email, "bot@example.com");
    CHECK_EQ(b->labels.count, 2);
    CHECK_EQ(b->draft, 0);
    CHECK_EQ(b->group, 0);
    CHECK_EQ(b->reviewers.count, 0);
    result_free(&r);

    d = load_ok(&r, "repos: [{url: /a}]\n", "/");
    CHECK_STR_EQ(d->repos[0].pr.author_name, "strata");
    CHECK_STR_EQ(d->repos[0].pr.author_email, "strata@localhost");
    CHECK(d->repos[0].pr.title == NULL);
    result_free(&r);

    load_one_problem("pull_requests: {title: 'x {bogus}'}\n",
                     "test.yaml:1:24: unknown placeholder in 'title' "
                     "'x {bogus}' (use {base}, {digest}, {short}, {repo}, "
                     "{count})");
}

/* Every key of the schema is documented in docs/configuration.md. */
static void
check_documented(const char *doc, const strata_config__schema *s, int depth)
{
    size_t i;

    CHECK(depth < 8);
    for (i = 0; i < s->n_fields; i++) {
        const strata_config__field *f = &s->fields[i];
        char *a = strata_xasprintf("`%s`", f->key);
        char *b = strata_xasprintf(".%s`", f->key);
        char *c = strata_xasprintf("`%s.", f->key);
        int found = strstr(doc, a) || strstr(doc, b) || strstr(doc, c);

        if (!found)
            printf("#   undocumented key '%s' in %s\n", f->key, s->what);
        CHECK(found);
        free(a);
        free(b);
        free(c);
        if (f->sub != NULL)
            check_documented(doc, f->sub, depth + 1);
    }
}

/* The repository (and image) of a graph node, by the index and without. */
static void
check_target(const strata_config_data *d, const char *node, int repo,
             const char *image)
{
    strata_config_data plain = *d;
    const strata_config_repo *r = NULL;
    const strata_config_image *i = NULL;
    int pass;

    /* A tree made by hand has no index: the same answers, by a pass. */
    plain.index = NULL;
    for (pass = 0; pass < 2; pass++) {
        strata_config_target(&r, &i, pass ? &plain : d, node);
        if (repo < 0) {
            CHECK(r == NULL);
        } else {
            CHECK(r == &d->repos[repo]);
        }
        if (image == NULL) {
            CHECK(i == NULL);
        } else {
            CHECK(i != NULL);
            CHECK_STR_EQ(i->name, image);
        }
    }
}

TEST(graph_nodes_find_their_repository)
{
    result r;
    char yaml[8192];
    size_t len = 0;
    int k;
    const strata_config_data *d;

    len += (size_t) snprintf(yaml + len, sizeof(yaml) - len,
                             "repos:\n"
                             "  - url: file:///srv/git/a.git\n"
                             "    images:\n"
                             "      - {name: reg.example.com/a, dockerfile: "
                             "a/Dockerfile}\n"
                             "      - {name: reg.example.com/a-debug}\n"
                             "  - url: https://git.example.com/b\n"
                             "    images: [{name: reg.example.com/b}]\n"
                             "  - url: https://git.example.com/b/c\n");
    for (k = 0; k < 40; k++)
        len += (size_t) snprintf(yaml + len, sizeof(yaml) - len,
                                 "  - url: https://git.example.com/r%d\n"
                                 "    images: [{name: reg.example.com/r%d}]\n",
                                 k, k);
    d = load_ok(&r, yaml, "/");
    CHECK(d->index != NULL);
    check_target(d, "reg.example.com/a:latest", 0, "reg.example.com/a:latest");
    check_target(d, "reg.example.com/a-debug:latest", 0,
                 "reg.example.com/a-debug:latest");
    check_target(d, "reg.example.com/b:latest", 1, "reg.example.com/b:latest");
    check_target(d, "reg.example.com/r39:latest", 42,
                 "reg.example.com/r39:latest");
    /* Unnamed Dockerfiles: "URL//PATH", a URL with "//" of its own. */
    check_target(d, "file:///srv/git/a.git//svc/Dockerfile", 0, NULL);
    check_target(d, "https://git.example.com/b//Dockerfile", 1, NULL);
    check_target(d, "https://git.example.com/b/c//x/Dockerfile", 2, NULL);
    check_target(d, "https://git.example.com/r7//Dockerfile", 10, NULL);
    /* Not a repository's: a prefix of a URL, another host, a base. */
    check_target(d, "https://git.example.com/r//Dockerfile", -1, NULL);
    check_target(d, "https://git.example.com/b", -1, NULL);
    check_target(d, "https://git.example.com/bb//Dockerfile", -1, NULL);
    check_target(d, "docker.io/library/debian:12", -1, NULL);
    check_target(d, "", -1, NULL);
    result_free(&r);
}

TEST(every_key_is_documented)
{
    strata_error err = {0};
    char *doc = NULL;

    CHECK_OK(strata_read_file(&doc, NULL, STRATA_CONFIG_DOC, 0, &err), &err);
    check_documented(doc, &strata_config__root, 0);
    free(doc);
}

/* 1 when `config check` accepts range as a watch policy. */
static int
config_accepts_range(const char *range)
{
    char yaml[512];
    result r = {0};
    int ok;

    snprintf(yaml, sizeof(yaml),
             "watch: {bases: [{ref: a, policy: {semver: \"%s\"}}]}\n", range);
    load_str(&r, yaml, "/");
    ok = r.rc == 0 && count(&r) == 0;
    result_free(&r);
    return ok;
}

/* 1 when the watcher's parser accepts range. */
static int
watcher_accepts_range(const char *range)
{
    strata_semver_range *sr = NULL;
    int ok = strata_semver_range_parse(&sr, range, NULL) == 0;

    strata_semver_range_free(sr);
    return ok;
}

/*
 * `config check` and the watcher read ranges with one grammar: every range
 * the documentation lists (the policy.semver row of docs/configuration.md)
 * is accepted by both, and for any range both give the same verdict.
 */
/*
 * verify blocks: what strata cannot carry out is a problem at the place it
 * is written (keys, trusted roots and regexps are loaded by the check);
 * bases inherit watch.verify unless they write their own.
 */
TEST(verify_blocks)
{
    char tmpl[] = "/tmp/strata-test-config-XXXXXX", *dir, *cmd, *yaml, *want;
    const strata_config_data *d;
    FILE *f;
    result r;

    dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    cmd = strata_xasprintf(
        "cd '%s' && openssl genpkey -algorithm EC -pkeyopt "
        "ec_paramgen_curve:P-256 -out p256.pem 2>/dev/null && openssl pkey "
        "-in p256.pem -pubout -out p256.pub && openssl genpkey -algorithm EC "
        "-pkeyopt ec_paramgen_curve:secp256k1 -out k1.pem 2>/dev/null && "
        "openssl pkey -in k1.pem -pubout -out k1.pub && cp '%s' root.json",
        dir,
        STRATA_TEST_CONFIG_DIR "/../verify/conformance/"
                               "trusted_root.production.json");
    CHECK_EQ(system(cmd), 0);
    free(cmd);
    cmd = strata_xasprintf("%s/garbage.json", dir);
    f = fopen(cmd, "w");
    fputs("{\"mediaType\": 1}", f);
    fclose(f);
    free(cmd);

    d = load_ok(
        &r,
        "watch:\n"
        "  verify:\n"
        "    keys: [p256.pub]\n"
        "    keyless:\n"
        "      trusted_root: root.json\n"
        "      identities:\n"
        "        - {issuer: https://accounts.example, subject: "
        "a@example.com}\n"
        "        - issuer: https://token.actions.githubusercontent.com\n"
        "          subject_regexp: '^https://github.com/acme/.*$'\n"
        "    threshold: 2\n"
        "    attestations: [https://slsa.dev/provenance/v1]\n"
        "    mode: warn\n"
        "    wait: 2m\n"
        "    mirrors: [mirror.example.com/library/debian]\n"
        "  bases:\n"
        "    - ref: debian:12\n"
        "    - ref: alpine:3\n"
        "      verify: {keys: [./p256.pub], wait: 5s}\n"
        "    - ref: busybox:1\n"
        "      verify: {mode: off}\n",
        dir);
    CHECK_EQ(d->watch.verify.set, 1);
    CHECK_EQ(d->watch.verify.keys.count, 1);
    cmd = strata_xasprintf("%s/p256.pub", dir);
    CHECK_STR_EQ(d->watch.verify.keys.items[0], cmd);
    free(cmd);
    CHECK_EQ(d->watch.verify.n_identities, 2);
    CHECK_STR_EQ(d->watch.verify.identities[1].subject_regexp,
                 "^https://github.com/acme/.*$");
    CHECK_EQ(d->watch.verify.threshold, 2);
    CHECK_EQ(d->watch.verify.mode, STRATA_CONFIG_VERIFY_WARN);
    CHECK_EQ(d->watch.verify.wait_ms, 120000);
    CHECK_EQ(d->watch.verify.mirrors.count, 1);
    /* debian inherits; alpine has its own, with the defaults. */
    CHECK_EQ(d->watch.bases[0].verify.set, 1);
    CHECK_EQ(d->watch.bases[0].verify.n_identities, 2);
    CHECK_EQ(d->watch.bases[1].verify.n_identities, 0);
    CHECK_EQ(d->watch.bases[1].verify.threshold, 1);
    CHECK_EQ(d->watch.bases[1].verify.mode, STRATA_CONFIG_VERIFY_ENFORCE);
    CHECK_EQ(d->watch.bases[1].verify.wait_ms, 5000);
    CHECK_EQ(d->watch.bases[2].verify.mode, STRATA_CONFIG_VERIFY_OFF);
    result_free(&r);

    /* No verify anywhere: no policy. */
    d = load_ok(&r, "watch: {bases: [{ref: debian:12}]}\n", dir);
    CHECK_EQ(d->watch.bases[0].verify.set, 0);
    result_free(&r);

    /* An unsupported key type, at its line and column. */
    yaml = strata_xasprintf("watch:\n  verify: {keys: [k1.pub]}\n");
    want = strata_xasprintf("test.yaml:2:19: unsupported key '%s/k1.pub': "
                            "ecdsa on curve secp256k1; use ECDSA P-256 or "
                            "P-384, RSA 2048+ or Ed25519",
                            dir);
    load_str(&r, yaml, dir);
    dump(&r);
    CHECK_EQ(count(&r), 1);
    CHECK(strstr(text(&r, 0), "test.yaml:2:19: ") == text(&r, 0));
    CHECK(strstr(text(&r, 0), "k1.pub") != NULL);
    result_free(&r);
    free(yaml);
    free(want);

    /* A missing key file. */
    load_str(&r, "watch:\n  verify:\n    keys: [nope.pub]\n", dir);
    dump(&r);
    CHECK_EQ(count(&r), 1);
    CHECK(strncmp(text(&r, 0), "test.yaml:3:12: ", 16) == 0);
    CHECK(strstr(text(&r, 0), "nope.pub") != NULL);
    result_free(&r);

    /* A trusted root that is not one. */
    load_str(&r,
             "watch:\n  verify:\n    keyless:\n      trusted_root: "
             "garbage.json\n      identities: [{issuer: https://i.example, "
             "subject: x}]\n",
             dir);
    dump(&r);
    CHECK_EQ(count(&r), 1);
    CHECK(strncmp(text(&r, 0), "test.yaml:4:21: ", 16) == 0);
    CHECK(strstr(text(&r, 0), "garbage.json") != NULL);
    result_free(&r);

    /* A bad regexp; subject and subject_regexp both; neither. */
    load_str(&r,
             "watch:\n  verify:\n    keyless:\n      trusted_root: root.json\n"
             "      identities:\n"
             "        - {issuer: https://i.example, subject_regexp: 'a(b'}\n"
             "        - {issuer: https://i.example, subject: a, "
             "subject_regexp: a}\n"
             "        - {issuer: https://i.example}\n",
             dir);
    dump(&r);
    CHECK_EQ(count(&r), 3);
    CHECK(strncmp(text(&r, 0), "test.yaml:6:11: ", 16) == 0);
    CHECK(strncmp(text(&r, 1), "test.yaml:7:11: an identity has either", 38) ==
          0);
    CHECK_STR_EQ(text(&r, 2), "test.yaml:8:11: an identity needs 'subject' "
                              "or 'subject_regexp'");
    result_free(&r);

    /* Rules across keys. */
    load_one_problem("watch:\n  verify: {wait: 1m}\n",
                     "test.yaml:2:11: 'verify' needs 'keys' or 'keyless' "
                     "identities (or mode: off)");
    yaml = strata_xasprintf("watch:\n  verify:\n    keys: [%s/p256.pub]\n"
                            "    threshold: 2\n",
                            dir);
    load_one_problem(yaml, "test.yaml:4:16: 'threshold' is 2 but only 1 "
                           "verifiers (keys and identities) are configured");
    free(yaml);
    yaml = strata_xasprintf("watch:\n  verify:\n    keys: [%s/p256.pub]\n"
                            "    mode: block\n",
                            dir);
    load_str(&r, yaml, dir);
    CHECK_EQ(count(&r), 1);
    CHECK(strncmp(text(&r, 0), "test.yaml:4:11: ", 16) == 0);
    result_free(&r);
    free(yaml);

    cmd = strata_xasprintf("rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
    free(cmd);
}

/*
 * The catalog's verify block and signing_key, which is now enforced: the
 * key must be one strata can verify with.
 */
TEST(catalog_verify)
{
    char tmpl[] = "/tmp/strata-test-config-XXXXXX", *dir, *cmd, *yaml;
    strata_config_problems *problems = strata_config_problems_new();
    strata_catalog *cat = NULL;
    const strata_catalog_entry *e;
    strata_error err = {0};

    dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    cmd = strata_xasprintf(
        "cd '%s' && openssl genpkey -algorithm EC -pkeyopt "
        "ec_paramgen_curve:P-256 -out p256.pem 2>/dev/null && openssl pkey "
        "-in p256.pem -pubout -out p256.pub && openssl genpkey -algorithm "
        "ed25519 -out ed.pem && openssl pkey -in ed.pem -pubout -out ed.pub "
        "&& echo 'not a key' > bad.pub",
        dir);
    CHECK_EQ(system(cmd), 0);
    free(cmd);

    yaml = "bases:\n"
           "  - ref: debian:12\n"
           "    signing_key: p256.pub\n"
           "  - ref: alpine:3\n"
           "    signing_key: p256.pub\n"
           "    verify: {keys: [ed.pub], mode: warn, wait: 30s}\n"
           "  - ref: busybox:1\n";
    CHECK_OK(strata_catalog_load_string(&cat, yaml, strlen(yaml), "cat.yaml",
                                        dir, problems, &err),
             &err);
    e = strata_catalog_get(cat, 0);
    CHECK_EQ(e->verify.set, 1);
    CHECK_EQ(e->verify.keys.count, 1);
    CHECK_STR_EQ(e->verify.keys.items[0], e->signing_key);
    CHECK_EQ(e->verify.threshold, 1);
    CHECK_EQ(e->verify.wait_ms, 600000);
    e = strata_catalog_get(cat, 1);
    CHECK_EQ(e->verify.keys.count, 2);
    CHECK_EQ(e->verify.mode, STRATA_CONFIG_VERIFY_WARN);
    CHECK_EQ(e->verify.wait_ms, 30000);
    CHECK_EQ(strata_catalog_get(cat, 2)->verify.set, 0);
    strata_catalog_free(cat);
    cat = NULL;

    yaml = "bases:\n"
           "  - ref: debian:12\n"
           "    signing_key: bad.pub\n"
           "  - ref: alpine:3\n"
           "    verify:\n"
           "      keyless: {identities: [{issuer: https://i.example, "
           "subject_regexp: '('}]}\n"
           "      colour: red\n";
    CHECK_EQ(strata_catalog_load_string(&cat, yaml, strlen(yaml), "cat.yaml",
                                        dir, problems, &err),
             STRATA_EINVAL);
    {
        size_t i, n = strata_config_problems_count(problems);

        for (i = 0; i < n; i++)
            printf("#   problem: %s\n",
                   strata_config_problems_get(problems, i)->text);
        CHECK_EQ(n, 4);
        CHECK(strncmp(strata_config_problems_get(problems, 0)->text,
                      "cat.yaml:3:18: ", 15) == 0);
        CHECK(strstr(strata_config_problems_get(problems, 0)->text,
                     "bad.pub") != NULL);
    }
    strata_config_problems_free(problems);
    cmd = strata_xasprintf("rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
    free(cmd);
}

/*
 * Which policy a watched reference gets (strata_config_verify_for): its
 * watch.bases entry's own verify block, else its catalog entry's (or
 * signing_key), else watch.verify; a tag-policy watch by its repository.
 */
TEST(verify_policy_precedence)
{
    char tmpl[] = "/tmp/strata-test-config-XXXXXX", *dir, *cmd, *yaml;
    strata_config *cfg = NULL;
    strata_catalog *cat = NULL;
    const strata_config_data *d;
    const strata_config_verify *v;
    strata_error err = {0};

    dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    cmd = strata_xasprintf(
        "cd '%s' && for k in a b c d; do openssl genpkey -algorithm EC "
        "-pkeyopt ec_paramgen_curve:P-256 -out $k.pem 2>/dev/null && "
        "openssl pkey -in $k.pem -pubout -out $k.pub || exit 1; done",
        dir);
    CHECK_EQ(system(cmd), 0);
    free(cmd);
    yaml = "watch:\n"
           "  verify: {keys: [a.pub]}\n"
           "  bases:\n"
           "    - ref: debian:12\n"
           "      verify: {keys: [b.pub], mode: warn}\n"
           "    - ref: alpine:3\n"
           "    - ref: python\n"
           "      policy: {semver: '>=3.11'}\n"
           "    - ref: busybox:1@sha256:"
           "0000000000000000000000000000000000000000000000000000000000000000\n"
           "      verify: {mode: off}\n";
    CHECK_OK(strata_config_load_string(&cfg, yaml, strlen(yaml), "s.yaml", dir,
                                       NULL, &err),
             &err);
    d = strata_config_data_get(cfg);
    yaml = "bases:\n"
           "  - ref: debian:12\n"
           "    signing_key: c.pub\n"
           "  - ref: alpine:3\n"
           "    signing_key: c.pub\n"
           "  - ref: python\n"
           "    policy: {semver: '>=3.11'}\n"
           "    signing_key: d.pub\n"
           "  - ref: golang:1.22\n"
           "    verify: {keys: [d.pub], wait: 5s}\n";
    CHECK_OK(strata_catalog_load_string(&cat, yaml, strlen(yaml), "cat.yaml",
                                        dir, NULL, &err),
             &err);
    /* Its own block wins over the catalog's. */
    v = strata_config_verify_for(d, cat, "docker.io/library/debian:12");
    CHECK_EQ(v->mode, STRATA_CONFIG_VERIFY_WARN);
    CHECK(strstr(v->keys.items[0], "/b.pub") != NULL);
    /* No block of its own: the catalog's signing_key. */
    v = strata_config_verify_for(d, cat, "docker.io/library/alpine:3");
    CHECK_EQ(v->set, 1);
    CHECK_EQ(v->keys.count, 1);
    CHECK(strstr(v->keys.items[0], "/c.pub") != NULL);
    /* A tag-policy watch, by its repository: the catalog's policy entry. */
    v = strata_config_verify_for(d, cat, "docker.io/library/python");
    CHECK(strstr(v->keys.items[0], "/d.pub") != NULL);
    /* A base the graph names, covered by the catalog. */
    v = strata_config_verify_for(d, cat, "docker.io/library/golang:1.22");
    CHECK_EQ(v->wait_ms, 5000);
    /* Not in the catalog: watch.verify. */
    v = strata_config_verify_for(d, cat, "docker.io/library/ubuntu:24.04");
    CHECK(strstr(v->keys.items[0], "/a.pub") != NULL);
    CHECK(v == &d->watch.verify);
    /* Without a catalog, alpine has watch.verify; a pinned base its own. */
    v = strata_config_verify_for(d, NULL, "docker.io/library/alpine:3");
    CHECK(v == &d->watch.verify);
    v = strata_config_verify_for(d, cat, "docker.io/library/busybox:1");
    CHECK_EQ(v->mode, STRATA_CONFIG_VERIFY_OFF);
    strata_catalog_free(cat);
    strata_config_free(cfg);
    cmd = strata_xasprintf("rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
    free(cmd);
}

/*
 * signing.key: a private key strata can sign with, or a FILE:LINE:COL
 * problem that names the file and never shows what it holds; and
 * builders[].verify, a verify block like a base's.
 */
TEST(signing_key_and_builder_verify)
{
    char tmpl[] = "/tmp/strata-test-config-XXXXXX", *dir, *cmd;
    const strata_config_data *d;
    result r;

    dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    cmd = strata_xasprintf(
        "cd '%s' && openssl genpkey -algorithm EC -pkeyopt "
        "ec_paramgen_curve:P-256 -out k.pem 2>/dev/null && openssl pkey -in "
        "k.pem -pubout -out k.pub && openssl genpkey -algorithm EC -pkeyopt "
        "ec_paramgen_curve:P-256 -aes-256-cbc -pass pass:x -out enc.pem "
        "2>/dev/null && openssl genpkey -algorithm EC -pkeyopt "
        "ec_paramgen_curve:secp256k1 -out k1.pem 2>/dev/null",
        dir);
    CHECK_EQ(system(cmd), 0);
    free(cmd);

    d = load_ok(&r,
                "signing: {key: k.pem}\n"
                "builders:\n"
                "  default:\n"
                "    type: exec\n"
                "    command: 'true'\n"
                "    verify: {keys: [k.pub], wait: 30s}\n",
                dir);
    CHECK(d->signing.key != NULL && d->signing.key[0] == '/');
    CHECK(strstr(d->signing.key, "/k.pem") != NULL);
    CHECK_EQ(d->builders[0].verify.set, 1);
    CHECK_EQ(d->builders[0].verify.wait_ms, 30000);
    CHECK_EQ(d->builders[0].verify.keys.count, 1);
    result_free(&r);
    d = load_ok(&r, "state: x.db\n", dir);
    CHECK(d->signing.key == NULL);
    result_free(&r);

    load_str(&r, "signing: {key: enc.pem}\n", dir);
    dump(&r);
    CHECK_EQ(count(&r), 1);
    CHECK(strncmp(text(&r, 0), "test.yaml:1:16: ", 16) == 0);
    CHECK(strstr(text(&r, 0), "enc.pem") != NULL);
    CHECK(strstr(text(&r, 0), "encrypted") != NULL);
    CHECK(strstr(text(&r, 0), "BEGIN") == NULL);
    result_free(&r);
    load_str(&r, "signing:\n  key: k.pub\n", dir);
    dump(&r);
    CHECK_EQ(count(&r), 1);
    CHECK(strncmp(text(&r, 0), "test.yaml:2:8: ", 15) == 0);
    CHECK(strstr(text(&r, 0), "no PEM private key") != NULL);
    result_free(&r);
    load_str(&r, "signing: {key: k1.pem}\n", dir);
    dump(&r);
    CHECK_EQ(count(&r), 1);
    CHECK(strstr(text(&r, 0), "unsupported signing key") != NULL);
    result_free(&r);
    load_str(&r, "signing: {key: missing.pem}\n", dir);
    CHECK_EQ(count(&r), 1);
    CHECK(strncmp(text(&r, 0), "test.yaml:1:16: ", 16) == 0);
    result_free(&r);
    load_str(&r,
             "builders:\n"
             "  default:\n"
             "    type: exec\n"
             "    command: 'true'\n"
             "    verify: {mode: enforce}\n",
             dir);
    dump(&r);
    CHECK_EQ(count(&r), 1);
    result_free(&r);

    cmd = strata_xasprintf("rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
    free(cmd);
}

TEST(semver_ranges_agree_with_the_watcher)
{
    static const struct {
        const char *range;
        int ok;
    } cases[] = {
        {">= 3.11", 1},       {"1.2.3 - 2.0", 1}, {"<=1.2.3-rc.1", 0},
        {"1.0 - 1.4", 1},     {">=1 ||", 0},      {"^1.2 || 2.x", 1},
        {"~3.12.4", 1},       {"*", 1},           {"3.x.1", 0},
        {"1.2 - >=1.4", 0},   {">=3.x.y", 0},     {"1.2.3+build", 0},
        {"> 3.11 < 3.13", 1}, {"v1.2 - v1.4", 1},
    };
    strata_error err = {0};
    char *doc = NULL, *row, *end, *p;
    size_t i, documented = 0;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int c = config_accepts_range(cases[i].range);
        int w = watcher_accepts_range(cases[i].range);

        if (c != cases[i].ok || w != cases[i].ok)
            printf("# '%s': config %d, watcher %d, want %d\n", cases[i].range,
                   c, w, cases[i].ok);
        CHECK_EQ(c, cases[i].ok);
        CHECK_EQ(w, cases[i].ok);
    }

    CHECK_OK(strata_read_file(&doc, NULL, STRATA_CONFIG_DOC, 0, &err), &err);
    row = strstr(doc, "| `policy.semver` |");
    CHECK(row != NULL);
    end = strchr(row, '\n');
    CHECK(end != NULL);
    *end = '\0';
    /* Each example is written `"RANGE"`, with "\|" for a literal bar. */
    for (p = strstr(row, "`\""); p != NULL; p = strstr(p, "`\"")) {
        char range[128];
        size_t n = 0;

        for (p += 2; *p != '\0' && *p != '"' && n + 1 < sizeof(range); p++) {
            if (*p == '\\' && p[1] == '|')
                p++;
            range[n++] = *p;
        }
        range[n] = '\0';
        documented++;
        if (!config_accepts_range(range) || !watcher_accepts_range(range))
            printf("# documented range '%s' refused\n", range);
        CHECK(config_accepts_range(range));
        CHECK(watcher_accepts_range(range));
    }
    printf("# %zu documented ranges accepted by config check and watcher\n",
           documented);
    CHECK(documented >= 4);
    free(doc);
}

/* registries[].aliases and mirror_of: every name of one content is one. */
static void
check_upstream(const strata_config_data *d, const char *ref, const char *want)
{
    char *got = strata_config_upstream_ref(d, ref);

    if (want == NULL)
        CHECK(got == NULL);
    else
        CHECK_STR_EQ(got, want);
    free(got);
}

TEST(registry_aliases)
{
    result r;
    const strata_config_data *d;

    d = load_ok(&r,
                "registries:\n"
                "  - host: docker.io\n"
                "    aliases: [mirror.gcr.io, harbor.example.com/dockerhub]\n"
                "  - host: proxy.example.com:5000\n"
                "    mirror_of: docker.io\n"
                "  - host: harbor.example.com\n"
                "    aliases: [harbor-old.example.com]\n",
                "/");
    CHECK_EQ(d->n_aliases, 4);
    /* Longest first: the Harbor project before any host. */
    CHECK_STR_EQ(d->aliases[0].from, "harbor.example.com/dockerhub");
    check_upstream(d, "mirror.gcr.io/library/debian:12",
                   "docker.io/library/debian:12");
    check_upstream(d,
                   "harbor.example.com/dockerhub/library/debian:12@"
                   "sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
                   "0123456789abcdef",
                   "docker.io/library/debian:12@"
                   "sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
                   "0123456789abcdef");
    check_upstream(d, "proxy.example.com:5000/library/alpine:3",
                   "docker.io/library/alpine:3");
    check_upstream(d, "harbor-old.example.com/team/app:1",
                   "harbor.example.com/team/app:1");
    /* Through two: the old host's proxy project is Docker Hub's. */
    check_upstream(d, "harbor-old.example.com/dockerhub/library/debian:12",
                   "docker.io/library/debian:12");
    /* Another Harbor project, a host that only starts the same, none. */
    check_upstream(d, "harbor.example.com/other/debian:12", NULL);
    check_upstream(d, "mirror.gcr.io.evil.example/library/debian:12", NULL);
    check_upstream(d, "docker.io/library/debian:12", NULL);
    check_upstream(NULL, "mirror.gcr.io/library/debian:12", NULL);
    result_free(&r);

    load_one_problem("registries:\n  - host: docker.io\n"
                     "    aliases: [\"https://mirror.gcr.io\"]\n",
                     "test.yaml:3:15: invalid registry name "
                     "'https://mirror.gcr.io' (expected HOST or HOST/PATH in "
                     "lowercase, such as 'mirror.gcr.io' or "
                     "'harbor.example.com/dockerhub'; no scheme, tag or "
                     "digest)");
    load_one_problem("registries:\n  - host: docker.io\n"
                     "    aliases: [\"mirror.gcr.io/library/debian:12\"]\n",
                     "test.yaml:3:15: invalid registry name "
                     "'mirror.gcr.io/library/debian:12' (expected HOST or "
                     "HOST/PATH in lowercase, such as 'mirror.gcr.io' or "
                     "'harbor.example.com/dockerhub'; no scheme, tag or "
                     "digest)");
    load_one_problem("registries:\n  - host: docker.io\n"
                     "    aliases: [mirror.gcr.io]\n"
                     "  - host: quay.io\n"
                     "    aliases: [mirror.gcr.io]\n",
                     "test.yaml:2:11: registry alias 'mirror.gcr.io' is "
                     "given twice; first as another name of 'docker.io' (an "
                     "alias must name an upstream that is not itself an "
                     "alias)");
    load_one_problem("registries:\n  - host: docker.io\n"
                     "    aliases: [mirror.gcr.io]\n"
                     "  - host: proxy.example.com\n"
                     "    mirror_of: mirror.gcr.io\n",
                     "test.yaml:4:11: registry alias 'proxy.example.com' "
                     "names the same content as 'mirror.gcr.io' (an alias "
                     "must name an upstream that is not itself an alias)");
}

TEST(schedules)
{
    result r;
    const strata_config_data *d;
    const strata_config_schedule *sc;

    d = load_ok(&r,
                "schedule:\n"
                "  windows: [\"Mon-Fri 09:00-17:00 Europe/Berlin\"]\n"
                "  blackout: [\"2026-12-20..2027-01-02\", \"2027-05-01\"]\n"
                "watch:\n"
                "  bases:\n"
                "    - ref: debian:12\n"
                "      schedule: {windows: [\"Sat,Sun 02:00-06:00\"]}\n"
                "    - ref: alpine:3\n"
                "repos:\n"
                "  - url: https://example.com/a.git\n"
                "    schedule: {blackout: [\"2026-12-24\"]}\n"
                "  - url: https://example.com/b.git\n",
                "/");
    CHECK(d->schedule.set);
    CHECK_EQ(d->schedule.windows.count, 1);
    CHECK_EQ(d->schedule.blackout.count, 2);
    CHECK_STR_EQ(d->schedule.blackout.items[1], "2027-05-01");
    /* The repository's own, else the base's, else the top level's. */
    sc = strata_config_schedule_for(d, &d->repos[0],
                                    "docker.io/library/debian:12");
    CHECK(sc == &d->repos[0].schedule);
    sc = strata_config_schedule_for(d, &d->repos[1],
                                    "docker.io/library/debian:12");
    CHECK(sc == &d->watch.bases[0].schedule);
    CHECK_STR_EQ(sc->windows.items[0], "Sat,Sun 02:00-06:00");
    sc = strata_config_schedule_for(d, &d->repos[1],
                                    "docker.io/library/alpine:3");
    CHECK(sc == &d->schedule);
    CHECK(strata_config_schedule_for(d, NULL, NULL) == &d->schedule);
    /* Each schedule is read once at load; the runner never reads tzdata. */
    CHECK(d->schedule.compiled != NULL);
    CHECK(d->watch.bases[0].schedule.compiled != NULL);
    CHECK(d->watch.bases[1].schedule.compiled == NULL);
    CHECK(d->repos[0].schedule.compiled != NULL);
    CHECK(d->repos[1].schedule.compiled == NULL);
    CHECK(d->schedule.compiled != d->repos[0].schedule.compiled);
    /* 2026-12-21 is inside the blackout; 2026-12-18 (Fri) 10:00 Berlin
       is inside the window. */
    CHECK(!strata_schedule_open(d->schedule.compiled, 1797847200000LL));
    CHECK(strata_schedule_open(d->schedule.compiled, 1797584400000LL));
    result_free(&r);
    d = load_ok(&r, "state: x.db\n", "/");
    CHECK(strata_config_schedule_for(d, NULL, "x") == NULL);
    result_free(&r);

    load_one_problem("schedule:\n  windows: [\"Mon-Fry 09:00-17:00\"]\n",
                     "test.yaml:2:13: invalid schedule window 'Mon-Fry "
                     "09:00-17:00': invalid days 'Mon-Fry' (expected Mon..Sun, "
                     "ranges such as "
                     "Mon-Fri, lists with commas)");
    load_one_problem(
        "repos:\n  - url: https://example.com/a.git\n"
        "    schedule:\n"
        "      windows: [\"09:00-17:00 Europe/Atlantis\"]\n",
        "test.yaml:4:17: invalid schedule window '09:00-17:00 "
        "Europe/Atlantis': unknown time zone 'Europe/Atlantis' (not in "
        "/usr/share/zoneinfo)");
    load_one_problem("watch:\n  bases:\n    - ref: debian:12\n"
                     "      schedule: {blackout: [\"2026-02-30\"]}\n",
                     "test.yaml:4:29: invalid blackout date '2026-02-30': "
                     "expected YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD");
    d = load_ok(&r, "pull_requests: {limits: {per_hour: 5}}\n", "/");
    CHECK_EQ(d->pull_requests.limit_per_hour, 5);
    result_free(&r);
    load_one_problem("pull_requests: {limits: {per_hour: 0}}\n",
                     "test.yaml:1:36: 'per_hour' must be between 1 and "
                     "100000, not 0");
    load_one_problem("repos:\n  - url: https://example.com/a.git\n"
                     "    pr: {limits: {per_hour: 2}}\n",
                     "test.yaml:3:29: 'per_hour' is one budget for the whole "
                     "fleet: set it in the top-level 'pull_requests.limits', "
                     "not in 'repos[].pr'");
    load_one_problem("schedule: {}\n",
                     "test.yaml:1:11: schedule needs 'windows' or "
                     "'blackout' (or remove it)");
}

TEST(references_matchers)
{
    result r;
    const strata_config_data *d =
        load_ok(&r,
                "references:\n"
                "  matchers:\n"
                "    - files: ['*.tf', Makefile]\n"
                "      match: 'image = \"(?<name>[^:]+):(?<tag>[^\"]+)\"'\n",
                "/tmp");

    CHECK_EQ(d->references.n_matchers, 1);
    CHECK_EQ(d->references.matchers[0].files.count, 2);
    CHECK_STR_EQ(d->references.matchers[0].files.items[1], "Makefile");
    CHECK_STR_EQ(d->references.matchers[0].match,
                 "image = \"(?<name>[^:]+):(?<tag>[^\"]+)\"");
    CHECK_EQ(d->references.matchers[0].pos.line, 3);
    result_free(&r);

    /* A bad expression names where it is, in the file and in itself. */
    load_one_problem("references:\n"
                     "  matchers:\n"
                     "    - files: ['*.tf']\n"
                     "      match: '(?<name>a(b'\n",
                     "test.yaml:4:14: invalid regular expression in 'match' "
                     "at offset 11: missing closing parenthesis");
    load_one_problem("references:\n"
                     "  matchers:\n"
                     "    - {files: [x], match: 'image: (?<tag>\\S+)'}\n",
                     "test.yaml:3:27: 'match' has no group named 'name' "
                     "(write (?<name>...), and (?<tag>...), (?<digest>...))");
    load_one_problem("references:\n"
                     "  matchers:\n"
                     "    - {match: '(?<name>x)'}\n",
                     "test.yaml:3:7: missing required key 'files' in matcher");
}

/* discover: entries, their defaults from forges:, and every problem with
 * FILE:LINE:COL. */
TEST(discover_entries)
{
    static const char good[] =
        "forges:\n"
        "  github: {token: gh}\n"
        "  gitea: {api_url: 'https://gitea.example/api/v1', token: gt}\n"
        "discover:\n"
        "  - forge: github\n"
        "    org: acme\n"
        "    exclude: ['acme/legacy-*']\n"
        "    visibility: [private, internal]\n"
        "  - forge: gitlab\n"
        "    group: platform/infra\n"
        "    include_subgroups: false\n"
        "    archived: true\n"
        "  - forge: gitea\n"
        "    org: infra\n"
        "    on_base_update: [pr, rescan]\n";
    static const char bad[] = "discover:\n"
                              "  - forge: github\n"
                              "    org: a\n"
                              "    user: b\n"
                              "  - forge: gitea\n"
                              "    group: x\n"
                              "  - forge: github\n"
                              "    app: {id: 12, installation: abc}\n"
                              "  - forge: github\n"
                              "    org: a\n"
                              "    include_subgroups: true\n"
                              "  - forge: none\n"
                              "    org: a\n"
                              "  - forge: github\n"
                              "    org: a\n"
                              "    visibility: [secret]\n";
    const char *want[] = {
        "test.yaml:2:5: a discover entry names exactly one of 'org', 'user', "
        "'group' or 'app' (found 2)",
        "test.yaml:5:5: forge 'gitea' needs 'api_url' (in the discover entry "
        "or in forges.gitea)",
        "test.yaml:6:12: 'group' is for forge 'gitlab' (use 'org' for 'gitea')",
        "test.yaml:8:10: 'app' needs 'id', 'installation' and 'private_key' "
        "(or 'private_key_file')",
        "test.yaml:8:33: 'installation' must be a number (an id), not 'abc'",
        "test.yaml:11:24: 'include_subgroups' is for forge 'gitlab'",
        "test.yaml:12:12: discover needs a forge: 'github', 'gitlab' or "
        "'gitea'",
        "test.yaml:16:18: unknown value 'secret' for 'visibility' (expected "
        "one of: public, private, internal)",
    };
    const strata_config_data *d;
    result r;
    size_t i;

    d = load_ok(&r, good, NULL);
    CHECK_EQ(d->n_discover, 3);
    CHECK_EQ(d->discover[0].forge, STRATA_FORGE_GITHUB);
    CHECK_STR_EQ(d->discover[0].api_url, "https://api.github.com");
    CHECK_STR_EQ(strata_secret_reveal(d->discover[0].token), "gh");
    CHECK_EQ(d->discover[0].visibility,
             STRATA_VISIBILITY_PRIVATE | STRATA_VISIBILITY_INTERNAL);
    CHECK_EQ(d->discover[0].on_base_update, STRATA_ACTION_PR);
    CHECK(!d->discover[0].archived && !d->discover[0].forks);
    CHECK_EQ(d->discover[0].interval_ms, 15 * 60 * 1000);
    CHECK(d->discover[1].include_subgroups == 0);
    CHECK(d->discover[1].archived);
    CHECK_STR_EQ(d->discover[1].api_url, "https://gitlab.com/api/v4");
    CHECK_STR_EQ(d->discover[2].api_url, "https://gitea.example/api/v1");
    CHECK_EQ(d->discover[2].on_base_update,
             STRATA_ACTION_PR | STRATA_ACTION_RESCAN);
    result_free(&r);

    load_str(&r, bad, NULL);
    CHECK_EQ(r.rc, STRATA_EINVAL);
    if (count(&r) != sizeof(want) / sizeof(want[0]))
        dump(&r);
    CHECK_EQ(count(&r), sizeof(want) / sizeof(want[0]));
    for (i = 0; i < count(&r); i++)
        CHECK_STR_EQ(text(&r, i), want[i]);
    result_free(&r);
}

/* strata_config_derive: discovered repositories added as records; a
 * configured one, or one found twice, is not added again; the base may
 * be freed first. */
TEST(derive_adds_discovered_repositories)
{
    static const char yaml[] = "forges:\n"
                               "  github: {token: gh}\n"
                               "repos:\n"
                               "  - url: https://github.com/acme/api\n";
    strata_config_repo extra[3];
    strata_config *derived = NULL;
    const strata_config_data *d;
    const strata_config_repo *repo = NULL;
    const strata_config_image *image = NULL;
    strata_secret *tok = strata_secret_new("app-token", "test");
    strata_error err = {0};
    result r;

    load_ok(&r, yaml, NULL);
    memset(extra, 0, sizeof(extra));
    extra[0].url = "https://github.com/acme/api.git"; /* configured */
    extra[0].forge = STRATA_FORGE_GITHUB;
    extra[0].forge_repo = "acme/api";
    extra[1].url = "https://github.com/acme/web.git";
    extra[1].branch = "trunk";
    extra[1].forge = STRATA_FORGE_GITHUB;
    extra[1].forge_repo = "acme/web";
    extra[1].token = tok;
    extra[1].on_base_update = STRATA_ACTION_PR;
    extra[2] = extra[1]; /* a second entry found it too */
    extra[2].url = "https://github.com/ACME/web";
    extra[2].forge_repo = "ACME/web";
    CHECK_OK(strata_config_derive(&derived, r.config, extra, 3, &err), &err);
    strata_secret_free(tok);
    result_free(&r); /* the base lives on in derived */
    d = strata_config_data_get(derived);
    CHECK_EQ(d->n_repos, 2);
    CHECK_STR_EQ(d->repos[0].url, "https://github.com/acme/api");
    CHECK_STR_EQ(d->repos[1].url, "https://github.com/acme/web.git");
    CHECK_STR_EQ(d->repos[1].branch, "trunk");
    CHECK_STR_EQ(strata_secret_reveal(d->repos[1].token), "app-token");
    CHECK_STR_EQ(strata_secret_reveal(d->forges.github.token), "gh");
    strata_config_target(&repo, &image, d,
                         "https://github.com/acme/web.git//Dockerfile");
    CHECK(repo == &d->repos[1]);
    CHECK(image == NULL);
    strata_config_free(derived);
}

int
main(void)
{
    RUN(broken_file_reports_every_problem);
    RUN(valid_file_loads_into_the_tree);
    RUN(defaults);
    RUN(load_or_default);
    RUN(env_interpolation);
    RUN(secret_files);
    RUN(secrets_never_appear_in_problems);
    RUN(example_file_validates);
    RUN(api_listen_needs_token_off_loopback);
    RUN(registry_webhook_kinds);
    RUN(yaml_syntax_and_shape);
    RUN(suggestions_and_enums);
    RUN(cross_section_rules);
    RUN(builder_push_secret_and_api_token);
    RUN(hostile_inputs_are_bounded);
    RUN(alias_bombs_in_lists_and_mappings);
    RUN(long_values_are_cut_in_problems);
    RUN(pull_request_settings_inherit);
    RUN(graph_nodes_find_their_repository);
    RUN(every_key_is_documented);
    RUN(verify_blocks);
    RUN(catalog_verify);
    RUN(verify_policy_precedence);
    RUN(signing_key_and_builder_verify);
    RUN(semver_ranges_agree_with_the_watcher);
    RUN(schedules);
    RUN(registry_aliases);
    RUN(references_matchers);
    RUN(discover_entries);
    RUN(derive_adds_discovered_repositories);
    return harness_done();
}
