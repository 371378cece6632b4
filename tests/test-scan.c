/*
 * test-scan.c - repository scanning into the lineage graph, against real
 * git: bare repositories made with the git CLI in a temp dir and reached
 * over file://. A base -> runtime -> two apps hierarchy across three
 * repositories plus an unnamed Dockerfile with a broken line, and a
 * repository that does not exist. Checks the edges field by field, the
 * impacted waves, incremental rescans (one changed blob, a deleted file,
 * a configuration change), the `strata graph` commands, and base
 * annotations read from a real registry (tests/registry).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "graph.h"
#include "harness-registry.h"
#include "harness.h"
#include "store.h"

/* Process state on purpose: the atexit() handler must find it. */
static char tmpdir[64];

#define PIN                                                                    \
    "sha256:"                                                                  \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
cleanup(void)
{
    if (tmpdir[0] != '\0' && getenv("STRATA_TEST_KEEP") == NULL) {
        char *cmd = strata_xasprintf("rm -rf '%s'", tmpdir);

        if (system(cmd) != 0)
            fprintf(stderr, "# cannot remove %s\n", tmpdir);
        free(cmd);
    }
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command in tmpdir; returns its exit status. */
static int
sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd, *full;
    int st;

    va_start(ap, fmt);
    cmd = strata_xvasprintf(fmt, ap);
    va_end(ap);
    full = strata_xasprintf("cd '%s' && { %s; } >&2", tmpdir, cmd);
    st = system(full);
    free(full);
    free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A bare repository NAME.git and its work tree NAME.work. */
static void
git_init(const char *name)
{
    CHECK_EQ(sh("git init -q --bare %s.git && git init -q %s.work && "
                "git -C %s.work remote add origin '%s/%s.git'",
                name, name, name, tmpdir, name),
             0);
}

static void
write_file(const char *repo, const char *path, const char *text)
{
    char *full = strata_xasprintf("%s/%s.work/%s", tmpdir, repo, path);
    char *dir = strata_xstrdup(full);
    FILE *f;

    *strrchr(dir, '/') = '\0';
    CHECK_EQ(sh("mkdir -p '%s'", dir), 0);
    f = fopen(full, "w");
    CHECK(f != NULL);
    fputs(text, f);
    CHECK_EQ(fclose(f), 0);
    free(dir);
    free(full);
}

static void
git_push(const char *repo, const char *msg)
{
    CHECK_EQ(sh("git -C %s.work add -A && git -C %s.work commit -q -m '%s' "
                "&& git -C %s.work push -q origin HEAD:main",
                repo, repo, msg, repo),
             0);
}

/* The configuration; base_arg is the runtime image's BASE build arg. */
static char *
config_yaml(const char *base_arg)
{
    return strata_xasprintf("state: %s/strata.db\n"
                            "repos:\n"
                            "  - url: file://%s/base.git\n"
                            "    images:\n"
                            "      - name: localhost:5000/acme/base:1\n"
                            "  - url: file://%s/runtime.git\n"
                            "    images:\n"
                            "      - name: localhost:5000/acme/runtime:2\n"
                            "        target: runtime\n"
                            "        build_args: {BASE: \"%s\"}\n"
                            "  - url: file://%s/missing.git\n"
                            "  - url: file://%s/apps.git\n"
                            "    images:\n"
                            "      - name: localhost:5000/acme/app1\n"
                            "        dockerfile: ./app1/Dockerfile\n"
                            "      - name: localhost:5000/acme/app2\n"
                            "        dockerfile: app2/build.df\n",
                            tmpdir, tmpdir, tmpdir, base_arg, tmpdir, tmpdir);
}

static strata_config *
load_config(const char *base_arg)
{
    strata_config_problems *problems = strata_config_problems_new();
    strata_config *config = NULL;
    strata_error err = {0};
    char *yaml = config_yaml(base_arg);
    size_t i;

    if (strata_config_load_string(&config, yaml, strlen(yaml), "test.yaml",
                                  tmpdir, problems, &err) != 0) {
        for (i = 0; i < strata_config_problems_count(problems); i++)
            printf("# %s\n", strata_config_problems_get(problems, i)->text);
        CHECK_OK(-1, &err);
    }
    free(yaml);
    strata_config_problems_free(problems);
    return config;
}

/* Runs a scan with the given config; returns the summary (new). */
static json_t *
scan(strata_store *st, const char *base_arg)
{
    strata_config *config = load_config(base_arg);
    strata_graph_scan_opts opts = {0};
    strata_error err = {0};
    json_t *summary = NULL;
    char *cache = strata_xasprintf("%s/cache", tmpdir);

    opts.cache_dir = cache;
    CHECK_OK(strata_graph_scan(&summary, st, strata_config_data_get(config),
                               &opts, &err),
             &err);
    free(cache);
    strata_config_free(config);
    return summary;
}

/* The summary entry of the repository whose URL ends in name. */
static json_t *
repo_entry(const json_t *summary, const char *name)
{
    json_t *r;
    size_t i;
    char *tail = strata_xasprintf("/%s.git", name);

    json_array_foreach (json_object_get(summary, "repos"), i, r) {
        const char *url = json_string_value(json_object_get(r, "url"));
        size_t lu = strlen(url), lt = strlen(tail);

        if (lu >= lt && strcmp(url + lu - lt, tail) == 0) {
            free(tail);
            return r;
        }
    }
    free(tail);
    CHECK(!"no such repository in the summary");
    return NULL;
}

static long long
ival(const json_t *o, const char *key)
{
    CHECK(json_is_integer(json_object_get(o, key)));
    return json_integer_value(json_object_get(o, key));
}

/* The graph as loaded from the store, as its JSON rendering (new). */
static json_t *
graph_json(strata_store *st)
{
    strata_graph *g = NULL;
    strata_error err = {0};
    strata_buf b = STRATA_BUF_INIT;
    json_t *doc;

    CHECK_OK(strata_graph_load(&g, st, &err), &err);
    strata_graph_render(&b, g, STRATA_GRAPH_JSON);
    doc = json_loads(strata_buf_cstr(&b), 0, NULL);
    CHECK(doc != NULL);
    strata_buf_release(&b);
    strata_graph_free(g);
    return doc;
}

/* The edge child -> parent, or NULL. Borrowed from doc. */
static json_t *
find_edge(const json_t *doc, const char *child, const char *parent)
{
    json_t *e;
    size_t i;

    json_array_foreach (json_object_get(doc, "edges"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "child")), child) ==
                0 &&
            strcmp(json_string_value(json_object_get(e, "parent")), parent) ==
                0)
            return e;
    }
    return NULL;
}

/* Checks every field of the edge child -> parent. */
static void
check_edge(const json_t *doc, const char *child, const char *parent,
           const char *repo, const char *path, int line, const char *digest)
{
    json_t *e = find_edge(doc, child, parent);
    char *url = strata_xasprintf("file://%s/%s.git", tmpdir, repo);

    if (e == NULL)
        printf("# missing edge %s -> %s\n", child, parent);
    CHECK(e != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(e, "repo")), url);
    CHECK_STR_EQ(json_string_value(json_object_get(e, "path")), path);
    CHECK_EQ(ival(e, "line"), line);
    CHECK_STR_EQ(json_string_value(json_object_get(e, "method")), "dockerfile");
    CHECK_EQ(ival(e, "confidence"), 100);
    if (digest == NULL)
        CHECK(json_is_null(json_object_get(e, "digest")));
    else
        CHECK_STR_EQ(json_string_value(json_object_get(e, "digest")), digest);
    free(url);
}

static const char *
node_kind(const json_t *doc, const char *ref)
{
    json_t *n;
    size_t i;

    json_array_foreach (json_object_get(doc, "nodes"), i, n) {
        if (strcmp(json_string_value(json_object_get(n, "ref")), ref) == 0)
            return json_string_value(json_object_get(n, "kind"));
    }
    return NULL;
}

/* Does any error of the entry contain needle? */
static int
has_error(const json_t *entry, const char *needle)
{
    json_t *e;
    size_t i;

    json_array_foreach (json_object_get(entry, "errors"), i, e) {
        if (strstr(json_string_value(e), needle) != NULL)
            return 1;
    }
    return 0;
}

/* ---- the fixtures ------------------------------------------------------ */

static void
seed(void)
{
    git_init("base");
    write_file("base", "Dockerfile", "FROM debian:12-slim\nRUN true\n");
    git_push("base", "base");

    /* BASE comes from the image's build arg; the debug stage is not in
     * the runtime target's chain, the tools stage is (COPY --from). */
    git_init("runtime");
    write_file("runtime", "Dockerfile",
               "# syntax=docker/dockerfile:1\n"
               "ARG BASE=scratch\n"
               "FROM golang:1.22@" PIN " AS tools\n"
               "FROM ${BASE} AS runtime\n"
               "COPY --from=tools /go/bin /usr/local/bin\n"
               "FROM alpine:3.19 AS debug\n");
    git_push("runtime", "runtime");

    git_init("apps");
    write_file("apps", "app1/Dockerfile",
               "FROM localhost:5000/acme/runtime:2\nCOPY . /app\n");
    write_file("apps", "app2/build.df",
               "FROM localhost:5000/acme/runtime:2 AS run\n"
               "RUN --mount=type=bind,from=busybox:1.36,target=/b true\n");
    /* Unnamed, with a broken line between two good ones. */
    write_file("apps", "tools/Dockerfile",
               "FROM localhost:5000/acme/base:1\n"
               "RUN true\n"
               "COPY --from=Not_A-Valid::Ref /x /x\n"
               "FROM python:3.12-slim\n");
    write_file("apps", "README.md", "# apps\n");
    git_push("apps", "apps");
}

/* ---- tests --------------------------------------------------------------- */

static strata_store *
open_store(void)
{
    strata_store *st = NULL;
    strata_error err = {0};
    char *path = strata_xasprintf("%s/strata.db", tmpdir);

    CHECK_OK(strata_store_open(&st, path, &err), &err);
    free(path);
    return st;
}

#define BASE1 "localhost:5000/acme/base:1"
#define RUNTIME "localhost:5000/acme/runtime:2"
#define APP1 "localhost:5000/acme/app1:latest"
#define APP2 "localhost:5000/acme/app2:latest"

TEST(first_scan)
{
    strata_store *st = open_store();
    json_t *s = scan(st, BASE1), *r, *doc;
    char *tools =
        strata_xasprintf("file://%s/apps.git//tools/Dockerfile", tmpdir);

    CHECK_EQ(json_array_size(json_object_get(s, "repos")), 4);
    CHECK_EQ(strata_graph_scan_failures(s), 1);
    r = repo_entry(s, "missing");
    CHECK(json_is_string(json_object_get(r, "error")));
    CHECK_CONTAINS(json_string_value(json_object_get(r, "error")),
                   "missing.git");
    CHECK(json_is_null(json_object_get(r, "commit")));

    r = repo_entry(s, "base");
    CHECK(json_is_null(json_object_get(r, "error")));
    CHECK_EQ(strlen(json_string_value(json_object_get(r, "commit"))), 40);
    CHECK_EQ(ival(r, "dockerfiles"), 1);
    CHECK_EQ(ival(r, "parsed"), 1);
    CHECK_EQ(ival(r, "edges"), 1);
    CHECK_EQ(json_array_size(json_object_get(r, "errors")), 0);

    r = repo_entry(s, "runtime");
    CHECK_EQ(ival(r, "parsed"), 1);
    CHECK_EQ(ival(r, "edges"), 2);

    r = repo_entry(s, "apps");
    CHECK_EQ(ival(r, "dockerfiles"), 3);
    CHECK_EQ(ival(r, "parsed"), 3);
    CHECK_EQ(ival(r, "skipped"), 0);
    /* app1 -> runtime, app2 -> runtime + busybox, tools -> base + python */
    CHECK_EQ(ival(r, "edges"), 5);
    CHECK(has_error(r, "tools/Dockerfile:3: "));

    doc = graph_json(st);
    check_edge(doc, BASE1, "docker.io/library/debian:12-slim", "base",
               "Dockerfile", 1, NULL);
    check_edge(doc, RUNTIME, "docker.io/library/golang:1.22", "runtime",
               "Dockerfile", 3, PIN);
    check_edge(doc, RUNTIME, BASE1, "runtime", "Dockerfile", 4, NULL);
    CHECK(find_edge(doc, RUNTIME, "docker.io/library/alpine:3.19") == NULL);
    check_edge(doc, APP1, RUNTIME, "apps", "app1/Dockerfile", 1, NULL);
    check_edge(doc, APP2, RUNTIME, "apps", "app2/build.df", 1, NULL);
    check_edge(doc, APP2, "docker.io/library/busybox:1.36", "apps",
               "app2/build.df", 2, NULL);
    check_edge(doc, tools, BASE1, "apps", "tools/Dockerfile", 1, NULL);
    check_edge(doc, tools, "docker.io/library/python:3.12-slim", "apps",
               "tools/Dockerfile", 4, NULL);
    CHECK_EQ(json_array_size(json_object_get(doc, "edges")), 8);
    CHECK_STR_EQ(node_kind(doc, tools), "dockerfile");
    CHECK_STR_EQ(node_kind(doc, RUNTIME), "image");
    CHECK_STR_EQ(node_kind(doc, "docker.io/library/debian:12-slim"), "base");

    json_decref(doc);
    json_decref(s);
    free(tools);
    strata_store_close(st);
}

TEST(impacted_waves)
{
    strata_store *st = open_store();
    strata_graph *g = NULL;
    strata_graph_waves *w = NULL;
    strata_error err = {0};
    char *tools =
        strata_xasprintf("file://%s/apps.git//tools/Dockerfile", tmpdir);
    size_t i;
    int seen_tools = 0;

    CHECK_OK(strata_graph_load(&g, st, &err), &err);
    CHECK_OK(
        strata_graph_impacted(&w, g, "docker.io/library/debian:12-slim", &err),
        &err);
    CHECK_EQ(w->nwaves, 3);
    CHECK_EQ(w->len[0], 1);
    CHECK_STR_EQ(w->waves[0][0].image, BASE1);
    CHECK_EQ(w->waves[0][0].via.line, 1);
    CHECK_EQ(w->len[1], 2);
    for (i = 0; i < w->len[1]; i++) {
        if (strcmp(w->waves[1][i].image, tools) == 0)
            seen_tools = 1;
        else
            CHECK_STR_EQ(w->waves[1][i].image, RUNTIME);
    }
    CHECK(seen_tools);
    CHECK_EQ(w->len[2], 2);
    CHECK(w->cycle == NULL);
    strata_graph_waves_free(w);

    /* A pinned parent is still found by its name without digest. */
    CHECK_OK(
        strata_graph_impacted(&w, g, "docker.io/library/golang:1.22", &err),
        &err);
    CHECK_EQ(w->nwaves, 2);
    CHECK_STR_EQ(w->waves[0][0].via.digest, PIN);
    strata_graph_waves_free(w);
    strata_graph_free(g);
    free(tools);
    strata_store_close(st);
}

TEST(rescan_unchanged)
{
    strata_store *st = open_store();
    json_t *s = scan(st, BASE1);

    CHECK_EQ(ival(repo_entry(s, "base"), "parsed"), 0);
    CHECK_EQ(ival(repo_entry(s, "runtime"), "parsed"), 0);
    CHECK_EQ(ival(repo_entry(s, "apps"), "parsed"), 0);
    CHECK_EQ(ival(repo_entry(s, "apps"), "dockerfiles"), 3);
    CHECK_EQ(ival(repo_entry(s, "apps"), "edges"), 5);
    json_decref(s);
    strata_store_close(st);
}

TEST(rescan_one_changed_blob)
{
    strata_store *st = open_store();
    json_t *s, *doc;

    write_file("apps", "app1/Dockerfile",
               "# now on runtime 3, pinned\n"
               "FROM localhost:5000/acme/runtime:3@" PIN "\n");
    write_file("apps", "README.md", "# apps, changed\n");
    git_push("apps", "app1 moves to runtime 3");
    s = scan(st, BASE1);
    CHECK_EQ(ival(repo_entry(s, "apps"), "parsed"), 1);
    CHECK_EQ(ival(repo_entry(s, "base"), "parsed"), 0);
    CHECK_EQ(ival(repo_entry(s, "apps"), "edges"), 5);
    doc = graph_json(st);
    CHECK(find_edge(doc, APP1, RUNTIME) == NULL);
    check_edge(doc, APP1, "localhost:5000/acme/runtime:3", "apps",
               "app1/Dockerfile", 2, PIN);
    check_edge(doc, APP2, RUNTIME, "apps", "app2/build.df", 1, NULL);
    json_decref(doc);
    json_decref(s);
    strata_store_close(st);
}

TEST(rescan_deleted_file)
{
    strata_store *st = open_store();
    json_t *s, *doc;
    char *tools =
        strata_xasprintf("file://%s/apps.git//tools/Dockerfile", tmpdir);

    CHECK_EQ(sh("git -C apps.work rm -q tools/Dockerfile"), 0);
    git_push("apps", "drop tools");
    s = scan(st, BASE1);
    CHECK_EQ(ival(repo_entry(s, "apps"), "parsed"), 0);
    CHECK_EQ(ival(repo_entry(s, "apps"), "dockerfiles"), 2);
    CHECK_EQ(ival(repo_entry(s, "apps"), "edges"), 3);
    doc = graph_json(st);
    CHECK(find_edge(doc, tools, BASE1) == NULL);
    CHECK(node_kind(doc, tools) == NULL);
    /* python was only used by the deleted file. */
    CHECK(node_kind(doc, "docker.io/library/python:3.12-slim") == NULL);
    CHECK_STR_EQ(node_kind(doc, "docker.io/library/busybox:1.36"), "base");
    CHECK_EQ(json_array_size(json_object_get(doc, "edges")), 6);
    json_decref(doc);
    json_decref(s);
    free(tools);
    strata_store_close(st);
}

TEST(rescan_config_change)
{
    strata_store *st = open_store();
    json_t *s, *doc;

    /* Same commit, another build arg: the runtime file is parsed again. */
    s = scan(st, "localhost:5000/acme/base:2");
    CHECK_EQ(ival(repo_entry(s, "runtime"), "parsed"), 1);
    CHECK_EQ(ival(repo_entry(s, "apps"), "parsed"), 0);
    doc = graph_json(st);
    CHECK(find_edge(doc, RUNTIME, BASE1) == NULL);
    check_edge(doc, RUNTIME, "localhost:5000/acme/base:2", "runtime",
               "Dockerfile", 4, NULL);
    json_decref(doc);
    json_decref(s);
    /* And back. */
    s = scan(st, BASE1);
    CHECK_EQ(ival(repo_entry(s, "runtime"), "parsed"), 1);
    json_decref(s);
    strata_store_close(st);
}

TEST(missing_named_dockerfile)
{
    strata_store *st = open_store();
    json_t *s, *r;

    CHECK_EQ(sh("git -C apps.work rm -q app2/build.df"), 0);
    git_push("apps", "drop app2");
    s = scan(st, BASE1);
    r = repo_entry(s, "apps");
    CHECK(has_error(r, "app2/build.df: no such file on branch 'main'"));
    CHECK_EQ(ival(r, "dockerfiles"), 1);
    CHECK_EQ(ival(r, "edges"), 1);
    json_decref(s);
    /* Restore it for the CLI tests. */
    write_file("apps", "app2/build.df",
               "FROM localhost:5000/acme/runtime:2 AS run\n");
    git_push("apps", "app2 again");
    strata_store_close(st);
}

/* Runs strata with args; returns its exit status, stdout in *out. */
static int
run_strata(char **out, const char *args)
{
    const char *exe = getenv("STRATA_EXE");
    char *cmd = strata_xasprintf("'%s' -c '%s/strata.yaml' %s 2>'%s/stderr'",
                                 exe, tmpdir, args, tmpdir);
    strata_buf b = STRATA_BUF_INIT;
    char chunk[4096];
    FILE *f = popen(cmd, "r");
    size_t n;
    int st;

    CHECK(f != NULL);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        strata_buf_add(&b, chunk, n);
    st = pclose(f);
    free(cmd);
    *out = strata_buf_detach(&b);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *
read_stderr(void)
{
    char *path = strata_xasprintf("%s/stderr", tmpdir);
    FILE *f = fopen(path, "r");
    strata_buf b = STRATA_BUF_INIT;
    char chunk[4096];
    size_t n;

    CHECK(f != NULL);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        strata_buf_add(&b, chunk, n);
    fclose(f);
    free(path);
    return strata_buf_detach(&b);
}

TEST(cli)
{
    char *yaml = config_yaml(BASE1), *out = NULL, *err_text;
    char *path = strata_xasprintf("%s/strata.yaml", tmpdir);
    json_t *doc;
    FILE *f;

    if (getenv("STRATA_EXE") == NULL) {
        printf("# STRATA_EXE not set, CLI not checked\n");
        goto out;
    }
    f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(yaml, f);
    CHECK_EQ(fclose(f), 0);

    /* The missing repository makes the scan exit 1; the others scan. */
    CHECK_EQ(run_strata(&out, "graph scan"), 1);
    CHECK_CONTAINS(out, "apps.git ");
    CHECK_CONTAINS(out, "missing.git: failed: ");
    CHECK_CONTAINS(out, " dockerfiles, ");
    free(out);
    CHECK_EQ(run_strata(&out, "graph scan --format json"), 1);
    doc = json_loads(out, 0, NULL);
    CHECK(doc != NULL);
    CHECK_EQ(ival(repo_entry(doc, "apps"), "dockerfiles"), 2);
    CHECK_EQ(ival(repo_entry(doc, "apps"), "parsed"), 0);
    json_decref(doc);
    free(out);

    CHECK_EQ(run_strata(&out, "graph show --format json"), 0);
    doc = json_loads(out, 0, NULL);
    CHECK(doc != NULL);
    check_edge(doc, BASE1, "docker.io/library/debian:12-slim", "base",
               "Dockerfile", 1, NULL);
    check_edge(doc, RUNTIME, "docker.io/library/golang:1.22", "runtime",
               "Dockerfile", 3, PIN);
    json_decref(doc);
    free(out);
    CHECK_EQ(run_strata(&out, "graph show --format dot"), 0);
    CHECK_CONTAINS(out, "digraph");
    free(out);
    CHECK_EQ(run_strata(&out, "graph show"), 0);
    CHECK_CONTAINS(out, BASE1 "  [image]");
    free(out);

    /* REF is normalised and its digest dropped. */
    CHECK_EQ(
        run_strata(&out, "graph impacted debian:12-slim@" PIN " --format json"),
        0);
    doc = json_loads(out, 0, NULL);
    CHECK(doc != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(doc, "base")),
                 "docker.io/library/debian:12-slim");
    CHECK_EQ(json_array_size(json_object_get(doc, "waves")), 3);
    {
        json_t *hit =
            json_array_get(json_array_get(json_object_get(doc, "waves"), 0), 0);
        char *url = strata_xasprintf("file://%s/base.git", tmpdir);

        CHECK_STR_EQ(json_string_value(json_object_get(hit, "image")), BASE1);
        CHECK_STR_EQ(json_string_value(json_object_get(hit, "repo")), url);
        CHECK_STR_EQ(json_string_value(json_object_get(hit, "path")),
                     "Dockerfile");
        CHECK_EQ(ival(hit, "line"), 1);
        free(url);
    }
    json_decref(doc);
    free(out);
    CHECK_EQ(run_strata(&out, "graph impacted " BASE1), 0);
    CHECK_CONTAINS(out, "wave 1");
    CHECK_CONTAINS(out, RUNTIME);
    free(out);

    CHECK_EQ(run_strata(&out, "graph impacted nothing/here:1"), 1);
    err_text = read_stderr();
    CHECK_CONTAINS(err_text,
                   "no image 'docker.io/nothing/here:1' in the graph");
    free(err_text);
    free(out);
    CHECK_EQ(run_strata(&out, "graph impacted 'Bad Ref'"), 2);
    free(out);
    CHECK_EQ(run_strata(&out, "graph show --format png"), 2);
    free(out);
out:
    free(path);
    free(yaml);
}

/*
 * registries[].aliases and mirror_of: a Dockerfile naming a mirror is an
 * edge to the upstream's base, with its own file and line, and the same
 * base the upstream's users have.
 */
TEST(mirrors_are_one_base)
{
    strata_config_problems *problems = strata_config_problems_new();
    strata_config *config = NULL;
    strata_graph_scan_opts opts = {0};
    strata_store *st = NULL;
    strata_error err = {0};
    json_t *summary = NULL, *doc;
    char *yaml, *db = strata_xasprintf("%s/mirrors.db", tmpdir);
    char *cache = strata_xasprintf("%s/cache", tmpdir);
    size_t i;

    git_init("mirrored");
    write_file("mirrored", "a/Dockerfile",
               "FROM mirror.gcr.io/library/debian:12-slim\n");
    write_file("mirrored", "b/Dockerfile",
               "# via Harbor's proxy cache\n"
               "FROM harbor.example.com/dockerhub/library/debian:12-slim\n");
    write_file("mirrored", "c/Dockerfile",
               "FROM harbor.example.com/other/debian:12-slim\n");
    write_file("mirrored", "d/Dockerfile",
               "FROM proxy.example.com:5000/library/debian:12-slim\n");
    git_push("mirrored", "mirrored");
    yaml = strata_xasprintf(
        "state: %s\n"
        "registries:\n"
        "  - host: docker.io\n"
        "    aliases: [mirror.gcr.io, harbor.example.com/dockerhub]\n"
        "  - host: proxy.example.com:5000\n"
        "    mirror_of: docker.io\n"
        "repos:\n"
        "  - url: file://%s/mirrored.git\n",
        db, tmpdir);
    if (strata_config_load_string(&config, yaml, strlen(yaml), "test.yaml",
                                  tmpdir, problems, &err) != 0) {
        for (i = 0; i < strata_config_problems_count(problems); i++)
            printf("# %s\n", strata_config_problems_get(problems, i)->text);
        CHECK_OK(-1, &err);
    }
    CHECK_OK(strata_store_open(&st, db, &err), &err);
    opts.cache_dir = cache;
    CHECK_OK(strata_graph_scan(&summary, st, strata_config_data_get(config),
                               &opts, &err),
             &err);
    doc = graph_json(st);
    {
        char *a =
            strata_xasprintf("file://%s/mirrored.git//a/Dockerfile", tmpdir);
        char *b =
            strata_xasprintf("file://%s/mirrored.git//b/Dockerfile", tmpdir);
        char *c =
            strata_xasprintf("file://%s/mirrored.git//c/Dockerfile", tmpdir);
        char *d =
            strata_xasprintf("file://%s/mirrored.git//d/Dockerfile", tmpdir);

        check_edge(doc, a, "docker.io/library/debian:12-slim", "mirrored",
                   "a/Dockerfile", 1, NULL);
        check_edge(doc, b, "docker.io/library/debian:12-slim", "mirrored",
                   "b/Dockerfile", 2, NULL);
        check_edge(doc, d, "docker.io/library/debian:12-slim", "mirrored",
                   "d/Dockerfile", 1, NULL);
        /* Only the aliased path is the upstream's. */
        check_edge(doc, c, "harbor.example.com/other/debian:12-slim",
                   "mirrored", "c/Dockerfile", 1, NULL);
        CHECK(node_kind(doc, "mirror.gcr.io/library/debian:12-slim") == NULL);
        CHECK(node_kind(doc, "harbor.example.com/dockerhub/library/"
                             "debian:12-slim") == NULL);
        free(a);
        free(b);
        free(c);
        free(d);
    }
    json_decref(doc);
    json_decref(summary);
    strata_store_close(st);
    strata_config_free(config);
    strata_config_problems_free(problems);
    free(yaml);
    free(cache);
    free(db);
}

/* Base annotations from a real registry, for images no Dockerfile has. */
static void
annotations(void)
{
    const char *why = harness_registry_missing(0);
    harness_registry reg;
    strata_config_problems *problems;
    strata_config *config = NULL;
    strata_store *st;
    strata_error err = {0};
    json_t *sum = NULL, *doc, *e, *img;
    char *yaml, *app3, *app4, *app5, *app6;
    size_t i;
    int n;

    if (why != NULL) {
        printf("ok %d - annotations # SKIP %s\n", ++harness_count, why);
        return;
    }
    harness_current = "annotations";
    CHECK_EQ(harness_registry_start(&reg, NULL, NULL), 0);
    CHECK_EQ(harness_registry_seed(
                 &reg,
                 "{\"name\": \"acme/app3\", \"tag\": \"1\", \"annotations\": "
                 "{\"org.opencontainers.image.base.name\": "
                 "\"debian:12-slim\", "
                 "\"org.opencontainers.image.base.digest\": \"" PIN "\"}}",
                 NULL),
             0);
    /* An index: the annotations are read from it. */
    CHECK_EQ(harness_registry_seed(
                 &reg,
                 "{\"name\": \"acme/app4\", \"tag\": \"1\", \"platforms\": "
                 "[\"linux/amd64\", \"linux/arm64\"], \"annotations\": "
                 "{\"org.opencontainers.image.base.name\": "
                 "\"" BASE1 "\"}}",
                 NULL),
             0);
    CHECK_EQ(harness_registry_seed(
                 &reg, "{\"name\": \"acme/app5\", \"tag\": \"1\"}", NULL),
             0);
    app3 = strata_xasprintf("%s/acme/app3:1", reg.host);
    app4 = strata_xasprintf("%s/acme/app4:1", reg.host);
    app5 = strata_xasprintf("%s/acme/app5:1", reg.host);
    app6 = strata_xasprintf("%s/acme/app6:1", reg.host);
    yaml = strata_xasprintf("state: %s/strata.db\n"
                            "repos:\n"
                            "  - url: file://%s/base.git\n"
                            "    images:\n"
                            "      - name: " BASE1 "\n"
                            "      - {name: %s, dockerfile: none/Dockerfile}\n"
                            "      - {name: %s, dockerfile: none/Dockerfile}\n"
                            "      - {name: %s, dockerfile: none/Dockerfile}\n"
                            "      - {name: %s, dockerfile: none/Dockerfile}\n",
                            tmpdir, tmpdir, app3, app4, app5, app6);
    problems = strata_config_problems_new();
    CHECK_OK(strata_config_load_string(&config, yaml, strlen(yaml), "a.yaml",
                                       tmpdir, problems, &err),
             &err);
    strata_config_problems_free(problems);
    st = open_store();
    for (n = 0; n < 2; n++) { /* the second pass changes nothing */
        json_decref(sum);
        CHECK_OK(strata_graph_scan_lineage(
                     &sum, st, strata_config_data_get(config), NULL, &err),
                 &err);
        /* base:1 (a Dockerfile edge) is read too: localhost:5000 has no
         * registry. */
        CHECK_EQ(json_array_size(json_object_get(sum, "images")), 5);
        json_array_foreach (json_object_get(sum, "images"), i, img) {
            const char *name = json_string_value(json_object_get(img, "image"));

            if (strcmp(name, BASE1) == 0) {
                CHECK(json_is_string(json_object_get(img, "error")));
                continue;
            }
            CHECK(json_is_null(json_object_get(img, "error")));
            if (strcmp(name, app3) == 0) {
                CHECK_STR_EQ(json_string_value(json_object_get(img, "parent")),
                             "docker.io/library/debian:12-slim");
                CHECK_STR_EQ(json_string_value(json_object_get(img, "digest")),
                             PIN);
            } else if (strcmp(name, app4) == 0) {
                CHECK_STR_EQ(json_string_value(json_object_get(img, "parent")),
                             BASE1);
                CHECK(json_is_null(json_object_get(img, "digest")));
            } else if (strcmp(name, app5) == 0) {
                CHECK_STR_EQ(json_string_value(json_object_get(img, "note")),
                             "no lineage found");
            } else {
                CHECK_STR_EQ(name, app6);
                CHECK_STR_EQ(json_string_value(json_object_get(img, "note")),
                             "not in the registry");
            }
        }
    }
    doc = graph_json(st);
    e = find_edge(doc, app3, "docker.io/library/debian:12-slim");
    CHECK(e != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(e, "method")), "annotation");
    CHECK_EQ(ival(e, "confidence"), 100);
    CHECK_STR_EQ(json_string_value(json_object_get(e, "digest")), PIN);
    CHECK(json_is_null(json_object_get(e, "repo")));
    e = find_edge(doc, app4, BASE1);
    CHECK(e != NULL);
    CHECK(json_is_null(json_object_get(e, "digest")));
    CHECK_STR_EQ(node_kind(doc, app3), "image");
    json_decref(doc);

    /* debian's descendants now include app3 (wave 1) and app4 (wave 2). */
    {
        strata_graph *g = NULL;
        strata_graph_waves *w = NULL;
        size_t k;
        int seen3 = 0, seen4 = 0;

        CHECK_OK(strata_graph_load(&g, st, &err), &err);
        CHECK_OK(strata_graph_impacted(
                     &w, g, "docker.io/library/debian:12-slim", &err),
                 &err);
        for (k = 0; k < w->len[0]; k++)
            seen3 |= strcmp(w->waves[0][k].image, app3) == 0;
        for (k = 0; k < w->len[1]; k++)
            seen4 |= strcmp(w->waves[1][k].image, app4) == 0;
        CHECK(seen3 && seen4);
        strata_graph_waves_free(w);
        strata_graph_free(g);
    }
    json_decref(sum);
    strata_store_close(st);
    strata_config_free(config);
    harness_registry_stop(&reg);
    free(yaml);
    free(app3);
    free(app4);
    free(app5);
    free(app6);
    printf("ok %d - annotations\n", ++harness_count);
}

int
main(void)
{
    char *p;

    if (system("git --version >/dev/null 2>&1") != 0)
        SKIP_ALL("git is not installed");
    strcpy(tmpdir, "/tmp/strata-scan-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    atexit(cleanup);
    /* git and libgit2 see no user or system configuration. */
    setenv("HOME", tmpdir, 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_AUTHOR_NAME", "Test", 1);
    setenv("GIT_AUTHOR_EMAIL", "test@example.com", 1);
    setenv("GIT_COMMITTER_NAME", "Test", 1);
    setenv("GIT_COMMITTER_EMAIL", "test@example.com", 1);
    p = strata_xasprintf("%s/.gitconfig", tmpdir);
    {
        FILE *f = fopen(p, "w");

        CHECK(f != NULL);
        fputs("[init]\n\tdefaultBranch = main\n", f);
        fclose(f);
    }
    free(p);
    seed();

    RUN(first_scan);
    RUN(mirrors_are_one_base);
    RUN(impacted_waves);
    RUN(rescan_unchanged);
    RUN(rescan_one_changed_blob);
    RUN(rescan_deleted_file);
    RUN(rescan_config_change);
    RUN(missing_named_dockerfile);
    RUN(cli);
    annotations();
    return harness_done();
}
