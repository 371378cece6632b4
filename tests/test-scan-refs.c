/*
 * test-scan-refs.c - the graph scan reads every place a base image is
 * named with the pin module's readers: a repository of Helm values and
 * Chart.yaml, a kustomization, a GitHub Actions workflow, a GitLab CI
 * file, a devcontainer.json, Argo and Tekton CRDs and a compose file,
 * made with the git CLI and reached over file://. Each reference is an
 * edge of the file's unnamed consumer "REPO//PATH" with its line and the
 * digest pinned there; a templated Helm value is a problem, a Helm
 * template that is no YAML is not; a file a user-defined matcher selects
 * (Terraform) is read by it; a changed file is read again.
 */
#include <sys/wait.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "graph.h"
#include "harness.h"
#include "store.h"

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

static void
write_file(const char *path, const char *text)
{
    char *full = strata_xasprintf("%s/deploy.work/%s", tmpdir, path);
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
git_push(const char *msg)
{
    CHECK_EQ(sh("git -C deploy.work add -A && git -C deploy.work commit -q "
                "-m '%s' && git -C deploy.work push -q origin HEAD:main",
                msg),
             0);
}

static json_t *
scan(strata_store *st)
{
    strata_config_problems *problems = strata_config_problems_new();
    strata_config *config = NULL;
    strata_graph_scan_opts opts = {0};
    strata_error err = {0};
    json_t *summary = NULL;
    char *yaml = strata_xasprintf("state: %s/strata.db\n"
                                  "repos:\n"
                                  "  - url: file://%s/deploy.git\n"
                                  "references:\n"
                                  "  matchers:\n"
                                  "    - files: ['infra/*.tf']\n"
                                  "      match: 'image = \"(?<name>[^:\"]+):"
                                  "(?<tag>[^\"]+)\"'\n"
                                  "    - files: ['*.dockerfile']\n"
                                  "      match: '^# tools: (?<name>[^:\\s]+):"
                                  "(?<tag>\\S+)$'\n",
                                  tmpdir, tmpdir);
    char *cache = strata_xasprintf("%s/cache", tmpdir);

    CHECK_OK(strata_config_load_string(&config, yaml, strlen(yaml), "test.yaml",
                                       tmpdir, problems, &err),
             &err);
    opts.cache_dir = cache;
    CHECK_OK(strata_graph_scan(&summary, st, strata_config_data_get(config),
                               &opts, &err),
             &err);
    free(cache);
    free(yaml);
    strata_config_free(config);
    strata_config_problems_free(problems);
    return summary;
}

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

/* Checks the edge of PATH's consumer to parent: file, line, digest. */
static void
check_edge(const json_t *doc, const char *path, const char *parent, int line,
           const char *digest)
{
    char *child = strata_xasprintf("file://%s/deploy.git//%s", tmpdir, path);
    json_t *e, *hit = NULL;
    size_t i;

    json_array_foreach (json_object_get(doc, "edges"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "child")), child) ==
                0 &&
            strcmp(json_string_value(json_object_get(e, "parent")), parent) ==
                0)
            hit = e;
    }
    if (hit == NULL)
        printf("# missing edge %s -> %s\n", child, parent);
    CHECK(hit != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(hit, "path")), path);
    CHECK_EQ(json_integer_value(json_object_get(hit, "line")), line);
    if (digest == NULL)
        CHECK(json_is_null(json_object_get(hit, "digest")));
    else
        CHECK_STR_EQ(json_string_value(json_object_get(hit, "digest")), digest);
    free(child);
}

static int
has_error(const json_t *entry, const char *needle)
{
    json_t *e;
    size_t i;

    json_array_foreach (json_object_get(entry, "errors"), i, e) {
        printf("# error: %s\n", json_string_value(e));
        if (strstr(json_string_value(e), needle) != NULL)
            return 1;
    }
    return 0;
}

static void
seed(void)
{
    CHECK_EQ(sh("git init -q --bare deploy.git && git init -q deploy.work && "
                "git -C deploy.work remote add origin '%s/deploy.git'",
                tmpdir),
             0);
    write_file("chart/values.yaml", "# defaults\n"
                                    "image:\n"
                                    "  repository: bitnami/redis\n"
                                    "  tag: \"7.2\"\n"
                                    "  digest: \"" PIN "\"\n"
                                    "worker:\n"
                                    "  image: ghcr.io/acme/worker:1\n"
                                    "broken:\n"
                                    "  image:\n"
                                    "    repository: \"{{ .Values.x }}\"\n"
                                    "    tag: \"1\"\n");
    write_file("chart/Chart.yaml", "apiVersion: v2\n"
                                   "name: app\n"
                                   "annotations:\n"
                                   "  artifacthub.io/images: |\n"
                                   "    - name: redis\n"
                                   "      image: bitnami/redis:7.2\n");
    write_file("chart/templates/deploy.yaml",
               "{{- if .Values.enabled }}\nkind: Deployment\n{{- end }}\n");
    write_file("overlays/prod/kustomization.yaml", "images:\n"
                                                   "  - name: nginx\n"
                                                   "    newTag: \"1.25\"\n");
    write_file(".github/workflows/ci.yml",
               "jobs:\n"
               "  test:\n"
               "    container: node:20\n"
               "    steps:\n"
               "      - uses: docker://alpine:3.19\n");
    write_file(".gitlab-ci.yml", "image: debian:12-slim\n"
                                 "build:\n"
                                 "  services: [docker:24-dind]\n"
                                 "include: [{local: /ci/build.yml}]\n");
    /* Any *.yml: read as GitLab CI because .gitlab-ci.yml includes it. */
    write_file("ci/build.yml", "test:\n  image: python:3.12\n");
    write_file(
        ".devcontainer/devcontainer.json",
        "// dev\n{\n  \"image\": \"mcr.microsoft.com/devcontainers/"
        "base:bookworm\",\n"
        "  \"build\": {\"dockerfile\": \"../docker/dev.dockerfile\"},\n}\n");
    /* No Dockerfile name: read because the devcontainer names it. */
    write_file("docker/dev.dockerfile",
               "# tools: busybox:1.36\nFROM rust:1.80\n");
    write_file("ci/tekton.yaml", "kind: Task\n"
                                 "spec:\n"
                                 "  steps:\n"
                                 "    - image: golang:1.22\n");
    write_file("compose.yaml", "services:\n  db:\n    image: postgres:16\n");
    write_file("README.md", "image: nope:1\n");
    write_file("infra/main.tf", "resource \"x\" \"y\" {\n"
                                "  image = \"redis:7\"\n"
                                "}\n");
    git_push("seed");
}

TEST(references_are_edges)
{
    strata_store *st = NULL;
    strata_error err = {0};
    char *db = strata_xasprintf("%s/strata.db", tmpdir);
    json_t *s, *r, *doc;

    CHECK_OK(strata_store_open(&st, db, &err), &err);
    s = scan(st);
    r = json_array_get(json_object_get(s, "repos"), 0);
    CHECK(json_is_null(json_object_get(r, "error")));
    CHECK_EQ(json_integer_value(json_object_get(r, "dockerfiles")), 1);
    /* 11 files, the Helm template among them (read, no edge). */
    CHECK_EQ(json_integer_value(json_object_get(r, "references")), 11);
    CHECK_EQ(json_integer_value(json_object_get(r, "edges")), 15);
    CHECK(has_error(r, "chart/values.yaml:10: image '{{ .Values.x }}' is a "
                       "template"));
    CHECK(!has_error(r, "templates/deploy.yaml"));

    doc = graph_json(st);
    check_edge(doc, "chart/values.yaml", "docker.io/bitnami/redis:7.2", 5, PIN);
    check_edge(doc, "chart/values.yaml", "ghcr.io/acme/worker:1", 7, NULL);
    check_edge(doc, "chart/Chart.yaml", "docker.io/bitnami/redis:7.2", 6, NULL);
    check_edge(doc, "overlays/prod/kustomization.yaml",
               "docker.io/library/nginx:1.25", 3, NULL);
    check_edge(doc, ".github/workflows/ci.yml", "docker.io/library/node:20", 3,
               NULL);
    check_edge(doc, ".github/workflows/ci.yml", "docker.io/library/alpine:3.19",
               5, NULL);
    check_edge(doc, ".gitlab-ci.yml", "docker.io/library/debian:12-slim", 1,
               NULL);
    check_edge(doc, ".gitlab-ci.yml", "docker.io/library/docker:24-dind", 3,
               NULL);
    check_edge(doc, ".devcontainer/devcontainer.json",
               "mcr.microsoft.com/devcontainers/base:bookworm", 3, NULL);
    check_edge(doc, "ci/tekton.yaml", "docker.io/library/golang:1.22", 4, NULL);
    check_edge(doc, "compose.yaml", "docker.io/library/postgres:16", 3, NULL);
    /* A user-defined matcher's file. */
    check_edge(doc, "infra/main.tf", "docker.io/library/redis:7", 2, NULL);
    /* Files others point to. */
    check_edge(doc, "ci/build.yml", "docker.io/library/python:3.12", 2, NULL);
    check_edge(doc, "docker/dev.dockerfile", "docker.io/library/rust:1.80", 2,
               NULL);
    /* A matcher in a Dockerfile, for its consumer. */
    check_edge(doc, "docker/dev.dockerfile", "docker.io/library/busybox:1.36",
               1, NULL);
    CHECK_EQ(json_array_size(json_object_get(doc, "edges")), 15);
    json_decref(doc);
    json_decref(s);
    {
        /* A new postgres impacts the compose file, at its line. */
        strata_graph *g = NULL;
        strata_graph_waves *w = NULL;
        char *child =
            strata_xasprintf("file://%s/deploy.git//compose.yaml", tmpdir);

        CHECK_OK(strata_graph_load(&g, st, &err), &err);
        CHECK_OK(
            strata_graph_impacted(&w, g, "docker.io/library/postgres:16", &err),
            &err);
        CHECK_EQ(w->nwaves, 1);
        CHECK_EQ(w->len[0], 1);
        CHECK_STR_EQ(w->waves[0][0].image, child);
        CHECK_EQ(w->waves[0][0].via.line, 3);
        strata_graph_waves_free(w);
        strata_graph_free(g);
        free(child);
    }

    /* One file changes: its edges follow, the others stay; the file it
     * no longer includes is a plain YAML file again (no edge). */
    write_file(".gitlab-ci.yml", "# moved\nimage: debian:13-slim@" PIN "\n");
    git_push("gitlab");
    s = scan(st);
    r = json_array_get(json_object_get(s, "repos"), 0);
    CHECK_EQ(json_integer_value(json_object_get(r, "parsed")), 2);
    doc = graph_json(st);
    check_edge(doc, ".gitlab-ci.yml", "docker.io/library/debian:13-slim", 2,
               PIN);
    CHECK_EQ(json_array_size(json_object_get(doc, "edges")), 13);
    json_decref(doc);
    json_decref(s);
    strata_store_close(st);
    free(db);
}

int
main(void)
{
    char *p;
    FILE *f;

    if (system("git --version >/dev/null 2>&1") != 0)
        SKIP_ALL("git is not installed");
    strcpy(tmpdir, "/tmp/strata-scanrefs-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    atexit(cleanup);
    setenv("HOME", tmpdir, 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_AUTHOR_NAME", "Test", 1);
    setenv("GIT_AUTHOR_EMAIL", "test@example.com", 1);
    setenv("GIT_COMMITTER_NAME", "Test", 1);
    setenv("GIT_COMMITTER_EMAIL", "test@example.com", 1);
    p = strata_xasprintf("%s/.gitconfig", tmpdir);
    f = fopen(p, "w");
    CHECK(f != NULL);
    fputs("[init]\n\tdefaultBranch = main\n", f);
    fclose(f);
    free(p);
    seed();
    RUN(references_are_edges);
    return harness_done();
}
