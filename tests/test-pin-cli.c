/*
 * test-pin-cli.c - `strata pin` and `strata pin --check` against real
 * registries (tests/registry): a tree of Dockerfiles, a compose file and
 * a Kubernetes manifest is checked (unpinned, exit 1), pinned (every
 * byte but the pins kept; a multi-arch tag at its index digest), checked
 * again (exit 0), then a new image is pushed to a tag and the check names
 * the stale file:line with both digests. Also: platform pins, private
 * registries through the config's registries[] and through
 * ~/.docker/config.json, unresolvable references (reported, never
 * written), JSON output, the exit codes for bad usage and bad input, and
 * several paths in one run (each file once, a missing path reported while
 * the others are still checked).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness-registry.h"
#include "harness.h"

static harness_registry reg, priv;
static char dir[256], tree[300];
static const char *exe;

/* Digests from the seeds. */
static char base1[80], base1b[80], tool2[80], multi_index[80], multi_arm[80],
    multi_amd[80], secret1[80];

static void
seed(char *digest, const harness_registry *r, const char *spec,
     const char *platform)
{
    json_t *out = NULL;
    size_t i;

    CHECK_EQ(harness_registry_seed(r, spec, &out), 0);
    if (platform == NULL) {
        snprintf(digest, 80, "%s",
                 json_string_value(json_object_get(out, "digest")));
    } else {
        json_t *ms = json_object_get(out, "manifests");

        digest[0] = '\0';
        for (i = 0; i < json_array_size(ms); i++) {
            json_t *m = json_array_get(ms, i);

            if (strcmp(json_string_value(json_object_get(m, "platform")),
                       platform) == 0)
                snprintf(digest, 80, "%s",
                         json_string_value(json_object_get(m, "digest")));
        }
    }
    CHECK(strncmp(digest, "sha256:", 7) == 0);
    json_decref(out);
}

static void __attribute__((format(printf, 2, 3)))
write_file(const char *rel, const char *fmt, ...)
{
    char path[600];
    FILE *f;
    va_list ap;

    snprintf(path, sizeof(path), "%s/%s", tree, rel);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static char *
read_file(const char *rel)
{
    char path[600];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", tree, rel);
    f = fopen(path, "rb");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t) n + 1);
    CHECK(fread(buf, 1, (size_t) n, f) == (size_t) n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void __attribute__((format(printf, 2, 3)))
check_file(const char *rel, const char *fmt, ...)
{
    char want[8192];
    char *got = read_file(rel);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    CHECK_STR_EQ(got, want);
    free(got);
}

/* Prints s as TAP diagnostics: "# " before each line. */
static void
diag_lines(const char *s)
{
    while (*s != '\0') {
        size_t n = strcspn(s, "\n");

        printf("# %.*s\n", (int) n, s);
        s += n + (s[n] == '\n');
    }
}

/*
 * Runs `strata ARGS` with HOME at the test directory; *out and *err get
 * stdout and stderr (new). Returns the exit status.
 */
static int __attribute__((format(printf, 3, 4)))
strata(char **out, char **err, const char *fmt, ...)
{
    char args[2048], cmd[4096], errpath[400];
    va_list ap;
    FILE *p;
    int status;
    size_t len = 0, n;
    char *buf = malloc(65536);

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
    snprintf(cmd, sizeof(cmd), "cd %s && HOME=%s DOCKER_CONFIG= %s %s 2>%s",
             dir, dir, exe, args, errpath);
    p = popen(cmd, "r");
    CHECK(p != NULL);
    while ((n = fread(buf + len, 1, 65535 - len, p)) > 0)
        len += n;
    buf[len] = '\0';
    status = pclose(p);
    *out = buf;
    {
        FILE *f = fopen(errpath, "rb");

        buf = malloc(65536);
        len = f ? fread(buf, 1, 65535, f) : 0;
        buf[len] = '\0';
        if (f)
            fclose(f);
        *err = buf;
    }
    printf("# strata %s -> %d\n", args, WEXITSTATUS(status));
    /* Under sanitizers, a report fails the test even when the exit code
       is the expected one. */
    CHECK(strstr(*err, "runtime error") == NULL);
    CHECK(strstr(*err, "Sanitizer") == NULL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void
make_tree(void)
{
    const char *h = reg.host;

    write_file("app/Dockerfile",
               "# syntax=docker/dockerfile:1\n"
               "ARG BASE=\"%s/base:1\"\n"
               "FROM $BASE AS build\n"
               "RUN --mount=type=bind,from=%s/tool:2,target=/t \\\n"
               "    cp /t/x /x   # tool\n"
               "FROM %s/multi:1\n"
               "COPY --from=build /x /x\n",
               h, h, h);
    write_file("svc/Containerfile",
               "FROM --platform=linux/arm64 %s/multi:1\r\n"
               "RUN true\r\n",
               h);
    write_file("compose.yaml",
               "services:\n"
               "  web:\n"
               "    image: '%s/base:1'   # the front\n"
               "  api:\n"
               "    build: ./api\n"
               "    image: %s/api:dev\n",
               h, h);
    write_file("deploy/k8s.yaml",
               "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  template:\n"
               "    spec:\n"
               "      initContainers:\n"
               "      - {name: init, image: \"%s/tool:2\"}\n"
               "      containers:\n"
               "      - name: web\n"
               "        image: %s/multi:1\n"
               "---\n"
               "apiVersion: v1\n"
               "kind: ConfigMap\n"
               "data: {image: %s/base:1}\n",
               h, h, h);
    /* A Helm values file: the digest goes after the tag. */
    write_file("deploy/values.yaml", "image: {repository: %s/base, tag: 1}\n",
               h);
    write_file("deploy/helm.yaml",
               "{{- if .Values.enabled }}\nkind: Deployment\n{{- end }}\n");
    write_file("README.md", "FROM %s/base:1\n", h);
}

TEST(check_then_pin_then_check)
{
    const char *h = reg.host;
    char *out, *err;

    CHECK_EQ(strata(&out, &err, "pin --check %s", tree), 1);
    diag_lines(out);
    CHECK_EQ(count_lines(out), 8);
    {
        char line[600];

        snprintf(line, sizeof(line),
                 "%s/app/Dockerfile:2: unpinned %s/base:1\n", tree, h);
        CHECK_CONTAINS(out, line);
        snprintf(line, sizeof(line),
                 "%s/deploy/k8s.yaml:11: unpinned %s/multi:1\n", tree, h);
        CHECK_CONTAINS(out, line);
        snprintf(line, sizeof(line), "%s/compose.yaml:3: unpinned %s/base:1\n",
                 tree, h);
        CHECK_CONTAINS(out, line);
    }
    free(out);
    free(err);

    CHECK_EQ(strata(&out, &err, "pin %s", tree), 0);
    CHECK_EQ(count_lines(out), 8);
    free(out);
    free(err);
    check_file("app/Dockerfile",
               "# syntax=docker/dockerfile:1\n"
               "ARG BASE=\"%s/base:1@%s\"\n"
               "FROM $BASE AS build\n"
               "RUN --mount=type=bind,from=%s/tool:2@%s,target=/t \\\n"
               "    cp /t/x /x   # tool\n"
               "FROM %s/multi:1@%s\n"
               "COPY --from=build /x /x\n",
               h, base1, h, tool2, h, multi_index);
    /* A multi-arch tag is pinned to its index, even with --platform. */
    check_file("svc/Containerfile",
               "FROM --platform=linux/arm64 %s/multi:1@%s\r\nRUN true\r\n", h,
               multi_index);
    check_file("compose.yaml",
               "services:\n"
               "  web:\n"
               "    image: '%s/base:1@%s'   # the front\n"
               "  api:\n"
               "    build: ./api\n"
               "    image: %s/api:dev\n",
               h, base1, h);
    check_file("deploy/k8s.yaml",
               "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  template:\n"
               "    spec:\n"
               "      initContainers:\n"
               "      - {name: init, image: \"%s/tool:2@%s\"}\n"
               "      containers:\n"
               "      - name: web\n"
               "        image: %s/multi:1@%s\n"
               "---\n"
               "apiVersion: v1\n"
               "kind: ConfigMap\n"
               "data: {image: %s/base:1}\n",
               h, tool2, h, multi_index, h);
    check_file("deploy/values.yaml",
               "image: {repository: %s/base, tag: 1@%s}\n", h, base1);
    check_file("README.md", "FROM %s/base:1\n", h);

    CHECK_EQ(strata(&out, &err, "pin --check %s", tree), 0);
    CHECK_STR_EQ(out, "");
    free(out);
    free(err);
    /* Pinning again changes nothing. */
    CHECK_EQ(strata(&out, &err, "pin %s", tree), 0);
    CHECK_STR_EQ(out, "");
    free(out);
    free(err);
}

TEST(a_moved_tag_is_stale)
{
    const char *h = reg.host;
    char *out, *err, line[800];

    seed(
        base1b, &reg,
        "{\"name\":\"base\",\"tag\":\"1\",\"layers\":[\"base one, again\\n\"]}",
        NULL);
    CHECK(strcmp(base1, base1b) != 0);
    CHECK_EQ(strata(&out, &err, "pin --check %s", tree), 1);
    CHECK_EQ(count_lines(out), 3); /* and deploy/values.yaml */
    snprintf(line, sizeof(line),
             "%s/app/Dockerfile:2: stale %s/base:1 (pinned %s, current %s)\n",
             tree, h, base1, base1b);
    CHECK_CONTAINS(out, line);
    snprintf(line, sizeof(line),
             "%s/compose.yaml:3: stale %s/base:1 (pinned %s, current %s)\n",
             tree, h, base1, base1b);
    CHECK_CONTAINS(out, line);
    snprintf(line, sizeof(line),
             "%s/deploy/values.yaml:1: stale %s/base:1 (pinned %s, current "
             "%s)\n",
             tree, h, base1, base1b);
    CHECK_CONTAINS(out, line);
    free(out);
    free(err);
    /* A check changed nothing; the JSON form says the same. */
    check_file("compose.yaml",
               "services:\n"
               "  web:\n"
               "    image: '%s/base:1@%s'   # the front\n"
               "  api:\n"
               "    build: ./api\n"
               "    image: %s/api:dev\n",
               h, base1, h);
    CHECK_EQ(strata(&out, &err, "pin --check --format json %s", tree), 1);
    {
        json_error_t je;
        json_t *doc = json_loads(out, 0, &je), *r;

        CHECK(doc != NULL);
        CHECK(json_is_true(json_object_get(doc, "check")));
        CHECK_EQ(json_integer_value(json_object_get(doc, "references")), 8);
        CHECK_EQ(json_array_size(json_object_get(doc, "results")), 3);
        r = json_array_get(json_object_get(doc, "results"), 0);
        CHECK_STR_EQ(json_string_value(json_object_get(r, "status")), "stale");
        CHECK_STR_EQ(json_string_value(json_object_get(r, "old")), base1);
        CHECK_STR_EQ(json_string_value(json_object_get(r, "new")), base1b);
        CHECK_EQ(json_integer_value(json_object_get(r, "line")), 2);
        json_decref(doc);
    }
    free(out);
    free(err);
    /* pin updates both in place. */
    CHECK_EQ(strata(&out, &err, "pin %s", tree), 0);
    snprintf(line, sizeof(line),
             "%s/compose.yaml:3: updated %s/base:1 from %s to %s\n", tree, h,
             base1, base1b);
    CHECK_CONTAINS(out, line);
    free(out);
    free(err);
    check_file("compose.yaml",
               "services:\n"
               "  web:\n"
               "    image: '%s/base:1@%s'   # the front\n"
               "  api:\n"
               "    build: ./api\n"
               "    image: %s/api:dev\n",
               h, base1b, h);
    CHECK_EQ(strata(&out, &err, "pin --check %s", tree), 0);
    free(out);
    free(err);
}

TEST(platform_pins_on_request)
{
    const char *h = reg.host;
    char *out, *err, line[800];

    CHECK_EQ(strata(&out, &err, "pin --check --platform-pins %s", tree), 1);
    snprintf(line, sizeof(line),
             "%s/svc/Containerfile:1: stale %s/multi:1 for linux/arm64 "
             "(pinned %s, current %s)\n",
             tree, h, multi_index, multi_arm);
    CHECK_STR_EQ(out, line);
    free(out);
    free(err);
    CHECK_EQ(strata(&out, &err, "pin --platform-pins %s/svc", tree), 0);
    free(out);
    free(err);
    check_file("svc/Containerfile",
               "FROM --platform=linux/arm64 %s/multi:1@%s\r\nRUN true\r\n", h,
               multi_arm);
    CHECK(strcmp(multi_arm, multi_amd) != 0);
    /* Without platform pins it goes back to the index. */
    CHECK_EQ(strata(&out, &err, "pin %s/svc/Containerfile", tree), 0);
    free(out);
    free(err);
    check_file("svc/Containerfile",
               "FROM --platform=linux/arm64 %s/multi:1@%s\r\nRUN true\r\n", h,
               multi_index);
}

TEST(unresolvable_references_are_reported_not_written)
{
    const char *h = reg.host;
    char *out, *err, line[800];

    write_file("bad/Dockerfile", "FROM %s/missing:1\nFROM %s/tool:2\n", h, h);
    CHECK_EQ(strata(&out, &err, "pin %s/bad", tree), 1);
    snprintf(line, sizeof(line),
             "%s/bad/Dockerfile:1: cannot resolve %s/missing:1: ", tree, h);
    CHECK_CONTAINS(err, line);
    free(out);
    free(err);
    /* The resolvable one is pinned, the other left as it was. */
    check_file("bad/Dockerfile", "FROM %s/missing:1\nFROM %s/tool:2@%s\n", h, h,
               tool2);
    CHECK_EQ(strata(&out, &err, "pin --check %s/bad", tree), 1);
    CHECK_STR_EQ(out, "");
    CHECK_CONTAINS(err, "cannot resolve");
    free(out);
    free(err);
    /* A registry that is not there at all. */
    write_file("bad/Dockerfile", "FROM 127.0.0.1:1/nothing:1\n");
    CHECK_EQ(strata(&out, &err, "pin %s/bad", tree), 1);
    CHECK_CONTAINS(err, "Dockerfile:1: cannot resolve 127.0.0.1:1/nothing:1");
    free(out);
    free(err);
    check_file("bad/Dockerfile", "FROM 127.0.0.1:1/nothing:1\n");
    write_file("bad/Dockerfile", "FROM %s/tool:2@%s\n", h, tool2);
}

TEST(private_registries)
{
    const char *h = priv.host;
    char *out, *err, path[600];
    FILE *f;

    write_file("private/Dockerfile", "FROM %s/secret:1\n", h);
    /* Anonymous: refused. */
    CHECK_EQ(strata(&out, &err, "pin %s/private", tree), 1);
    CHECK_CONTAINS(err, "cannot resolve");
    CHECK(strstr(err, priv.password) == NULL);
    free(out);
    free(err);
    /* The config's registries[]. */
    snprintf(path, sizeof(path), "%s/strata.yaml", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f,
            "registries:\n"
            "  - host: \"%s\"\n"
            "    auth: {username: %s, password: %s}\n"
            "    max_concurrency: 1\n",
            h, priv.user, priv.password);
    fclose(f);
    CHECK_EQ(strata(&out, &err, "pin --check -c %s %s/private", path, tree), 1);
    CHECK_CONTAINS(out, "Dockerfile:1: unpinned");
    free(out);
    free(err);
    unlink(path);
    /* ~/.docker/config.json */
    snprintf(path, sizeof(path), "%s/.docker", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/.docker/config.json", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    {
        char cred[200], *b64;
        char cmd[300];

        snprintf(cred, sizeof(cred), "%s:%s", priv.user, priv.password);
        snprintf(cmd, sizeof(cmd), "printf %%s '%s' | base64 -w0", cred);
        b64 = harness_capture(cmd);
        CHECK(b64 != NULL);
        fprintf(f, "{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}\n", h, b64);
        free(b64);
    }
    fclose(f);
    CHECK_EQ(strata(&out, &err, "pin %s/private", tree), 0);
    free(out);
    free(err);
    check_file("private/Dockerfile", "FROM %s/secret:1@%s\n", h, secret1);
}

/* references.matchers: a Terraform file, read only when configured. */
TEST(user_matchers_from_the_config)
{
    const char *h = reg.host;
    char *out, *err, path[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/infra", tree);
    mkdir(path, 0755);
    write_file("infra/main.tf",
               "resource \"x\" \"y\" {\n  image = \"%s/tool:2\"\n}\n", h);
    CHECK_EQ(strata(&out, &err, "pin --check %s/infra", tree), 0);
    CHECK_STR_EQ(out, "");
    free(out);
    free(err);
    snprintf(path, sizeof(path), "%s/matchers.yaml", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f, "references:\n"
               "  matchers:\n"
               "    - files: ['infra/*.tf']\n"
               "      match: 'image = \"(?<name>[^\"@]+):(?<tag>[^\"@]+)'\n");
    fclose(f);
    CHECK_EQ(strata(&out, &err, "pin --check -c %s %s/infra", path, tree), 1);
    CHECK_CONTAINS(out, "infra/main.tf:2: unpinned");
    free(out);
    free(err);
    CHECK_EQ(strata(&out, &err, "pin -c %s %s/infra", path, tree), 0);
    free(out);
    free(err);
    check_file("infra/main.tf",
               "resource \"x\" \"y\" {\n  image = \"%s/tool:2@%s\"\n}\n", h,
               tool2);
    {
        int rc = strata(&out, &err, "pin --check -c %s %s/infra", path, tree);

        diag_lines(out);
        diag_lines(err);
        CHECK_EQ(rc, 0);
    }
    free(out);
    free(err);
    /* A bad expression is the config's error, at its place. */
    f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(
        f,
        "references:\n  matchers:\n    - {files: ['*'], match: '(?<name>x'}\n");
    fclose(f);
    CHECK_EQ(strata(&out, &err, "pin --check -c %s %s/infra", path, tree), 2);
    CHECK_CONTAINS(err, "matchers.yaml:3:");
    CHECK_CONTAINS(err, "at offset 9: missing closing parenthesis");
    free(out);
    free(err);
    unlink(path);
}

TEST(usage_and_bad_input)
{
    char *out, *err;

    CHECK_EQ(strata(&out, &err, "pin"), 2);
    free(out);
    free(err);
    CHECK_EQ(strata(&out, &err, "pin %s/nowhere", tree), 2);
    CHECK_CONTAINS(err, "nowhere");
    free(out);
    free(err);
    CHECK_EQ(strata(&out, &err, "pin --format xml %s", tree), 2);
    free(out);
    free(err);
    CHECK_EQ(strata(&out, &err, "pin --bogus %s", tree), 2);
    free(out);
    free(err);
    write_file("broken/compose.yml", "services:\n  a: [\n");
    CHECK_EQ(strata(&out, &err, "pin --check %s/broken", tree), 2);
    CHECK_CONTAINS(err, "compose.yml:3:");
    free(out);
    free(err);
    /* An explicit YAML file that does not parse is bad input too. */
    CHECK_EQ(strata(&out, &err, "pin --check %s/deploy/helm.yaml", tree), 2);
    free(out);
    free(err);
}

/* pin and pin --check over several paths in one run: each file once. */
TEST(many_paths_in_one_run)
{
    const char *h = reg.host;
    char *out, *err, p[700];
    json_t *doc;

    snprintf(p, sizeof(p), "%s/many", tree);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/many/a", tree);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/many/b", tree);
    mkdir(p, 0755);
    write_file("many/a/Dockerfile", "FROM %s/tool:2\n", h);
    write_file("many/b/compose.yaml", "services:\n  x:\n    image: %s/tool:2\n",
               h);
    /* A directory, a file inside it again, another directory. */
    CHECK_EQ(strata(&out, &err,
                    "pin --check %s/many/a %s/many/a/Dockerfile "
                    "%s/many/b",
                    tree, tree, tree),
             1);
    diag_lines(out);
    CHECK_EQ(count_lines(out), 2);
    snprintf(p, sizeof(p), "%s/many/a/Dockerfile:1: unpinned %s/tool:2\n", tree,
             h);
    CHECK_CONTAINS(out, p);
    snprintf(p, sizeof(p), "%s/many/b/compose.yaml:3: unpinned %s/tool:2\n",
             tree, h);
    CHECK_CONTAINS(out, p);
    CHECK_CONTAINS(err, "strata: 2 file(s), 2 reference(s)");
    free(out);
    free(err);
    /* A path that does not exist: bad input, the others still checked. */
    CHECK_EQ(strata(&out, &err,
                    "pin --check %s/many/a %s/many/nowhere "
                    "%s/many/b",
                    tree, tree, tree),
             2);
    CHECK_EQ(count_lines(out), 2);
    CHECK_CONTAINS(err, "many/nowhere");
    free(out);
    free(err);
    CHECK_EQ(strata(&out, &err,
                    "pin --check --format json %s/many/nowhere %s/many/b", tree,
                    tree),
             2);
    doc = json_loads(out, 0, NULL);
    CHECK(doc != NULL);
    CHECK_EQ(json_integer_value(json_object_get(doc, "files")), 1);
    CHECK_EQ(json_array_size(json_object_get(doc, "results")), 1);
    CHECK_EQ(json_array_size(json_object_get(doc, "errors")), 1);
    json_decref(doc);
    free(out);
    free(err);
    /* Pinned together, then current together. */
    CHECK_EQ(strata(&out, &err, "pin %s/many/a %s/many/b", tree, tree), 0);
    CHECK_EQ(count_lines(out), 2);
    free(out);
    free(err);
    check_file("many/a/Dockerfile", "FROM %s/tool:2@%s\n", h, tool2);
    check_file("many/b/compose.yaml",
               "services:\n  x:\n    image: %s/tool:2@%s\n", h, tool2);
    CHECK_EQ(strata(&out, &err, "pin --check %s/many/a %s/many/b", tree, tree),
             0);
    CHECK_STR_EQ(out, "");
    free(out);
    free(err);
}

static void
cleanup(void)
{
    char cmd[400];

    harness_registry_stop(&reg);
    harness_registry_stop(&priv);
    if (dir[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", dir);
    }
}

int
main(void)
{
    const char *why = harness_registry_missing(1);
    char spec[512];

    exe = getenv("STRATA_EXE");
    if (why != NULL)
        SKIP_ALL("%s", why);
    if (exe == NULL)
        SKIP_ALL("STRATA_EXE not set");
    snprintf(dir, sizeof(dir), "/tmp/strata-test-pin-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(tree, sizeof(tree), "%s/tree", dir);
    mkdir(tree, 0755);
    {
        static const char *const sub[] = {"app",     "svc",    "deploy",  "bad",
                                          "private", "broken", "deploy/x"};
        char p[600];
        size_t i;

        for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
            snprintf(p, sizeof(p), "%s/%s", tree, sub[i]);
            mkdir(p, 0755);
        }
    }
    atexit(cleanup);
    CHECK_EQ(harness_registry_start(&reg, NULL, NULL), 0);
    CHECK_EQ(harness_registry_start(&priv, "pinbot", "s3cret-pin"), 0);
    seed(base1, &reg,
         "{\"name\":\"base\",\"tag\":\"1\",\"layers\":[\"base one\\n\"]}",
         NULL);
    seed(tool2, &reg,
         "{\"name\":\"tool\",\"tag\":\"2\",\"format\":\"docker\","
         "\"layers\":[\"tool\\n\"]}",
         NULL);
    snprintf(spec, sizeof(spec),
             "{\"name\":\"multi\",\"tag\":\"1\",\"platforms\":"
             "[\"linux/amd64\",\"linux/arm64\"],\"layers\":[\"multi\\n\"]}");
    seed(multi_index, &reg, spec, NULL);
    /* Seeding is deterministic: the same spec pushes the same index, so
       these only read its per-platform digests back. */
    seed(multi_arm, &reg, spec, "linux/arm64");
    seed(multi_amd, &reg, spec, "linux/amd64");
    seed(secret1, &priv,
         "{\"name\":\"secret\",\"tag\":\"1\",\"layers\":[\"s\\n\"]}", NULL);
    make_tree();

    RUN(check_then_pin_then_check);
    RUN(a_moved_tag_is_stale);
    RUN(platform_pins_on_request);
    RUN(unresolvable_references_are_reported_not_written);
    RUN(private_registries);
    RUN(user_matchers_from_the_config);
    RUN(usage_and_bad_input);
    RUN(many_paths_in_one_run);
    return harness_done();
}
