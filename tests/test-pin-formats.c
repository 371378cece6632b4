/*
 * test-pin-formats.c - every place a base image is named, pinned byte for
 * byte through strata_pin_any: Helm values and Chart.yaml's
 * artifacthub.io/images, kustomization images, GitHub Actions and GitLab
 * CI, devcontainer.json (JSONC) and the PodSpecs of CRDs (Argo, Tekton,
 * Knative, CronJob); fixtures in tests/pin/formats/ pinned to their
 * twins, what cannot be pinned reported, files recognised by path, and
 * the files one points to (includes, build.dockerfile) listed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pin.h"

#define D1                                                                     \
    "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"

/* Every reference pins to D2, but those naming "unknown". */
static const char *
lookup(const strata_pin_query *q, void *arg)
{
    (void) arg;
    return strstr(q->ref, "unknown") ? NULL : D2;
}

static int
pin(strata_pin_result *r, const char *text, strata_pin_kind kind,
    const char *name, strata_error *err)
{
    strata_pin_opts o = {0};

    o.lookup = lookup;
    return strata_pin_any(r, text, strlen(text), kind, name, &o, err);
}

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

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

static void
show(const strata_pin_result *r)
{
    size_t i;

    for (i = 0; i < r->nproblems; i++)
        printf("# problem: %s\n", r->problems[i]);
}

TEST(fixtures)
{
    static const struct {
        const char *file, *name;
        size_t changes, problems;
    } cases[] = {
        {"values.yaml", "chart/values.yaml", 5, 2},
        {"Chart.yaml", "chart/Chart.yaml", 2, 0},
        {"kustomization.yaml", "overlays/prod/kustomization.yaml", 3, 2},
        {"workflow.yml", ".github/workflows/ci.yml", 4, 1},
        {"gitlab-ci.yml", ".gitlab-ci.yml", 5, 1},
        {"devcontainer.json", ".devcontainer/devcontainer.json", 1, 0},
        {"workloads.yaml", "deploy/workloads.yaml", 7, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char in[512], out[512];
        char *text, *want;
        strata_pin_result r;
        strata_error err = {0};
        strata_pin_kind kind = strata_pin_kind_of(cases[i].name);

        printf("# %s as %s\n", cases[i].file, strata_pin_kind_name(kind));
        snprintf(in, sizeof(in), "%s/%s", PIN_FIXTURES, cases[i].file);
        snprintf(out, sizeof(out), "%s/%s.pinned", PIN_FIXTURES, cases[i].file);
        text = slurp(in);
        want = slurp(out);
        CHECK_OK(pin(&r, text, kind, cases[i].name, &err), &err);
        show(&r);
        CHECK_STR_EQ(r.data, want);
        CHECK_EQ(r.len, strlen(want));
        CHECK_EQ(r.nchanges, cases[i].changes);
        CHECK_EQ(r.nproblems, cases[i].problems);
        strata_pin_result_release(&r);
        /* Pinned again: nothing changes. */
        CHECK_OK(pin(&r, want, kind, cases[i].name, &err), &err);
        CHECK_EQ(r.nchanges, 0);
        CHECK_STR_EQ(r.data, want);
        strata_pin_result_release(&r);
        free(text);
        free(want);
    }
}

TEST(kinds_by_path)
{
    static const struct {
        const char *path;
        strata_pin_kind kind;
    } cases[] = {
        {"Dockerfile", STRATA_PIN_DOCKERFILE},
        {".devcontainer/Dockerfile", STRATA_PIN_DOCKERFILE},
        {"charts/app/values.yaml", STRATA_PIN_HELM_VALUES},
        {"charts/app/values-prod.yaml", STRATA_PIN_HELM_VALUES},
        {"charts/app/values.prod.yml", STRATA_PIN_HELM_VALUES},
        {"charts/app/valuesfile.yaml", STRATA_PIN_MANIFEST},
        {"charts/app/Chart.yaml", STRATA_PIN_HELM_CHART},
        {"overlays/prod/kustomization.yaml", STRATA_PIN_KUSTOMIZE},
        {"base/Kustomization", STRATA_PIN_KUSTOMIZE},
        {".github/workflows/ci.yml", STRATA_PIN_GITHUB},
        {".github/workflows/release.yaml", STRATA_PIN_GITHUB},
        {".github/dependabot.yml", STRATA_PIN_NONE},
        {"x/.github/workflows/ci.yml", STRATA_PIN_GITHUB},
        {".gitlab-ci.yml", STRATA_PIN_GITLAB},
        {".gitlab/ci/build.yml", STRATA_PIN_GITLAB},
        {".devcontainer/devcontainer.json", STRATA_PIN_DEVCONTAINER},
        {".devcontainer.json", STRATA_PIN_DEVCONTAINER},
        {".devcontainer/go/devcontainer.json", STRATA_PIN_DEVCONTAINER},
        {"compose.yaml", STRATA_PIN_COMPOSE},
        {"deploy/app.yaml", STRATA_PIN_MANIFEST},
        {".hidden/app.yaml", STRATA_PIN_NONE},
        {"node_modules/x/values.yaml", STRATA_PIN_NONE},
        {"README.md", STRATA_PIN_NONE},
        {"package.json", STRATA_PIN_NONE},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        printf("# %s\n", cases[i].path);
        CHECK_EQ(strata_pin_kind_of(cases[i].path), cases[i].kind);
    }
}

TEST(helm_problems_name_the_template)
{
    strata_pin_result r;
    strata_error err = {0};

    CHECK_OK(pin(&r,
                 "image: \"{{ .Values.registry }}/app:1\"\n"
                 "worker:\n"
                 "  image:\n"
                 "    repository: acme/worker\n"
                 "    tag: \"{{ .Chart.AppVersion }}\"\n"
                 "job:\n"
                 "  image:\n"
                 "    repository: acme/job\n"
                 "    tag: \"1\"\n"
                 "    digest:\n",
                 STRATA_PIN_HELM_VALUES, "values.yaml", &err),
             &err);
    show(&r);
    CHECK_EQ(r.nchanges, 0);
    CHECK_EQ(r.nproblems, 3);
    CHECK_CONTAINS(r.problems[0], "values.yaml:1: image '{{");
    CHECK_CONTAINS(r.problems[0], "is a template");
    CHECK_CONTAINS(r.problems[1], "values.yaml:4: image 'acme/worker' is a "
                                  "template");
    CHECK_CONTAINS(r.problems[2], "values.yaml:10: image 'acme/job:1' has an "
                                  "empty digest");
    CHECK_STR_EQ(r.data, "image: \"{{ .Values.registry }}/app:1\"\n"
                         "worker:\n"
                         "  image:\n"
                         "    repository: acme/worker\n"
                         "    tag: \"{{ .Chart.AppVersion }}\"\n"
                         "job:\n"
                         "  image:\n"
                         "    repository: acme/job\n"
                         "    tag: \"1\"\n"
                         "    digest:\n");
    strata_pin_result_release(&r);
}

TEST(changes_carry_lines_and_refs)
{
    strata_pin_result r;
    strata_error err = {0};

    CHECK_OK(pin(&r,
                 "image:\n"
                 "  registry: ghcr.io\n"
                 "  repository: acme/app\n"
                 "  tag: v1\n"
                 "  digest: " D1 "\n",
                 STRATA_PIN_HELM_VALUES, "values.yaml", &err),
             &err);
    CHECK_EQ(r.nchanges, 1);
    CHECK_EQ(r.changes[0].line, 5);
    CHECK_STR_EQ(r.changes[0].ref, "ghcr.io/acme/app:v1");
    CHECK_STR_EQ(r.changes[0].old_digest, D1);
    CHECK_STR_EQ(r.changes[0].new_digest, D2);
    CHECK_STR_EQ(r.changes[0].new_text, "ghcr.io/acme/app:v1@" D2);
    strata_pin_result_release(&r);
}

TEST(kustomize_crlf_and_indentation)
{
    strata_pin_result r;
    strata_error err = {0};

    CHECK_OK(pin(&r,
                 "images:\r\n"
                 "- name: nginx\r\n"
                 "  newName: ghcr.io/acme/nginx\r\n"
                 "  newTag: '1.25' # comment\r\n"
                 "resources: [a.yaml]\r\n",
                 STRATA_PIN_KUSTOMIZE, "kustomization.yaml", &err),
             &err);
    show(&r);
    CHECK_STR_EQ(r.data, "images:\r\n"
                         "- name: nginx\r\n"
                         "  newName: ghcr.io/acme/nginx\r\n"
                         "  newTag: '1.25' # comment\r\n"
                         "  digest: " D2 "\r\n"
                         "resources: [a.yaml]\r\n");
    CHECK_EQ(r.nchanges, 1);
    CHECK_STR_EQ(r.changes[0].ref, "ghcr.io/acme/nginx:1.25");
    strata_pin_result_release(&r);
}

TEST(links_to_other_files)
{
    strata_pin_result r;
    strata_error err = {0};
    char *text = NULL, path[512];

    snprintf(path, sizeof(path), "%s/gitlab-ci.yml", PIN_FIXTURES);
    text = slurp(path);
    CHECK_OK(pin(&r, text, STRATA_PIN_GITLAB, ".gitlab-ci.yml", &err), &err);
    CHECK_EQ(r.nlinks, 2);
    CHECK_STR_EQ(r.links[0].path, "ci/build.yml");
    CHECK_EQ(r.links[0].kind, STRATA_PIN_GITLAB);
    CHECK_STR_EQ(r.links[1].path, "templates/test.yml");
    strata_pin_result_release(&r);
    free(text);

    snprintf(path, sizeof(path), "%s/devcontainer.json", PIN_FIXTURES);
    text = slurp(path);
    CHECK_OK(pin(&r, text, STRATA_PIN_DEVCONTAINER,
                 ".devcontainer/devcontainer.json", &err),
             &err);
    CHECK_EQ(r.nlinks, 1);
    CHECK_STR_EQ(r.links[0].path, "Dockerfile");
    CHECK_EQ(r.links[0].kind, STRATA_PIN_DOCKERFILE);
    strata_pin_result_release(&r);
    CHECK_OK(pin(&r, "{\"build\": {\"dockerfile\": \"docker/Dev.Dockerfile\"}}",
                 STRATA_PIN_DEVCONTAINER, ".devcontainer/go/devcontainer.json",
                 &err),
             &err);
    CHECK_EQ(r.nlinks, 1);
    CHECK_STR_EQ(r.links[0].path, ".devcontainer/go/docker/Dev.Dockerfile");
    strata_pin_result_release(&r);
    /* Out of the repository: no link. */
    CHECK_OK(pin(&r, "{\"build\": {\"dockerfile\": \"../../../x\"}}",
                 STRATA_PIN_DEVCONTAINER, ".devcontainer/devcontainer.json",
                 &err),
             &err);
    CHECK_EQ(r.nlinks, 0);
    strata_pin_result_release(&r);
    free(text);
}

TEST(devcontainer_problems_and_errors)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"image\": \"debian:12\"", "d.json:1:22: expected ',' or '}'"},
        {"{\n  /* open", "d.json:2:3: unterminated comment"},
        {"[1]", "d.json:1:1: expected an object"},
        {"{\"a\": 1} x", "d.json:1:10: text after the object"},
        {"{\"a\": \"b\n\"}", "d.json:1:9: control character in a string"},
        /* Found by fuzz-pin-devcontainer: an escape at the very end. */
        {"{\"a\": \"b\\", "d.json:1:10: unterminated string"},
    };
    strata_pin_result r;
    strata_error err = {0};
    size_t i;

    CHECK_OK(pin(&r, "{\"image\": \"debian\\u003a12\"}",
                 STRATA_PIN_DEVCONTAINER, "d.json", &err),
             &err);
    CHECK_EQ(r.nchanges, 0);
    CHECK_EQ(r.nproblems, 1);
    CHECK_CONTAINS(r.problems[0], "d.json:1: image");
    strata_pin_result_release(&r);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strata_error_clear(&err);
        CHECK_EQ(pin(&r, bad[i].text, STRATA_PIN_DEVCONTAINER, "d.json", &err),
                 STRATA_EINVAL);
        CHECK_STR_EQ(err.msg, bad[i].want);
        CHECK(r.data == NULL);
    }
}

TEST(github_expressions_are_problems)
{
    strata_pin_result r;
    strata_error err = {0};

    CHECK_OK(pin(&r,
                 "jobs:\n"
                 "  a:\n"
                 "    container: ${{ matrix.image }}\n"
                 "    steps:\n"
                 "      - uses: docker://ghcr.io/acme/tool@" D1 "\n",
                 STRATA_PIN_GITHUB, "ci.yml", &err),
             &err);
    show(&r);
    CHECK_EQ(r.nchanges, 0);
    CHECK_EQ(r.nproblems, 1);
    CHECK_CONTAINS(r.problems[0], "ci.yml:3: image '${{ matrix.image }}' is "
                                  "built from variables");
    strata_pin_result_release(&r);
}

/* A matcher set of one (new). */
static strata_pin_matchers *
one_matcher(const char *glob, const char *regex)
{
    strata_pin_matchers *m = strata_pin_matchers_new();
    strata_error err = {0};

    CHECK_OK(strata_pin_matchers_add(m, &glob, 1, regex, &err), &err);
    return m;
}

TEST(user_matchers)
{
    strata_pin_matchers *m =
        one_matcher("*.tf", "image\\s*=\\s*\"(?<name>[^:\"@]+):(?<tag>[^\"@]+)"
                            "(?:@(?<digest>sha256:[0-9a-f]+))?\"");
    strata_pin_opts o = {0};
    strata_pin_result r;
    strata_error err = {0};
    const char *tf = "resource \"x\" \"y\" {\n"
                     "  image = \"debian:12-slim\"   # base\n"
                     "  other = \"ghcr.io/acme/app:1.2@" D1 "\"\n"
                     "  image = \"ghcr.io/acme/app:1.2@" D1 "\"\n"
                     "}\n";

    o.lookup = lookup;
    o.matchers = m;
    CHECK(strata_pin_matchers_select(m, "infra/main.tf"));
    CHECK(!strata_pin_matchers_select(m, "infra/main.tfvars"));
    CHECK_OK(strata_pin_any(&r, tf, strlen(tf), STRATA_PIN_OTHER,
                            "infra/main.tf", &o, &err),
             &err);
    show(&r);
    CHECK_STR_EQ(r.data, "resource \"x\" \"y\" {\n"
                         "  image = \"debian:12-slim@" D2 "\"   # base\n"
                         "  other = \"ghcr.io/acme/app:1.2@" D1 "\"\n"
                         "  image = \"ghcr.io/acme/app:1.2@" D2 "\"\n"
                         "}\n");
    CHECK_EQ(r.nchanges, 2);
    CHECK_EQ(r.changes[0].line, 2);
    CHECK_STR_EQ(r.changes[0].ref, "docker.io/library/debian:12-slim");
    CHECK_EQ(r.changes[1].line, 4);
    CHECK_STR_EQ(r.changes[1].old_digest, D1);
    strata_pin_result_release(&r);
    strata_pin_matchers_free(m);

    /* After a kind's own reader: a Makefile-style line in a Dockerfile's
     * comment is read too, and what the reader pinned stays pinned. */
    m = one_matcher("Dockerfile", "^# base: (?<name>\\S+?):(?<tag>[\\w.-]+)");
    o.matchers = m;
    tf = "# base: alpine:3.19\nFROM debian:12-slim\n";
    CHECK_OK(strata_pin_any(&r, tf, strlen(tf), STRATA_PIN_DOCKERFILE,
                            "app/Dockerfile", &o, &err),
             &err);
    CHECK_STR_EQ(r.data,
                 "# base: alpine:3.19@" D2 "\nFROM debian:12-slim@" D2 "\n");
    CHECK_EQ(r.nchanges, 2);
    strata_pin_result_release(&r);
    /* Without a digest group, the digest after the tag is the one. */
    tf = "# base: alpine:3.19@" D1 "\nFROM debian:12-slim@" D2 "\n";
    CHECK_OK(strata_pin_any(&r, tf, strlen(tf), STRATA_PIN_DOCKERFILE,
                            "app/Dockerfile", &o, &err),
             &err);
    CHECK_STR_EQ(r.data,
                 "# base: alpine:3.19@" D2 "\nFROM debian:12-slim@" D2 "\n");
    CHECK_EQ(r.nchanges, 1);
    CHECK_STR_EQ(r.changes[0].old_digest, D1);
    strata_pin_result_release(&r);
    strata_pin_matchers_free(m);
}

TEST(matchers_are_bounded_and_checked)
{
    strata_pin_matchers *m = strata_pin_matchers_new();
    const char *glob = "*";
    strata_pin_opts o = {0};
    strata_pin_result r;
    strata_error err = {0};
    char *text;
    size_t n = 100000;

    CHECK_EQ(strata_pin_matchers_add(m, &glob, 1, "(?<name>a(b", &err),
             STRATA_EINVAL);
    CHECK_STR_EQ(err.msg, "matcher '(?<name>a(b': at offset 11: missing "
                          "closing parenthesis");
    strata_error_clear(&err);
    CHECK_EQ(strata_pin_matchers_add(m, &glob, 1, "image: (?<tag>\\S+)", &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "no group named 'name'");
    /* Catastrophic backtracking stops at the match limit: a problem. */
    CHECK_OK(strata_pin_matchers_add(m, &glob, 1, "(?<name>(a+)+)b", &err),
             &err);
    /* (PCRE2 looks for the required "b" first: there is one, far off.) */
    text = malloc(n + 3);
    memset(text, 'a', n);
    text[n] = 'c';
    text[n + 1] = 'b';
    text[n + 2] = '\0';
    o.lookup = lookup;
    o.matchers = m;
    CHECK_OK(strata_pin_any(&r, text, n + 2, STRATA_PIN_OTHER, "x", &o, &err),
             &err);
    CHECK_EQ(r.nchanges, 0);
    CHECK_EQ(r.nproblems, 1);
    CHECK_CONTAINS(r.problems[0], "x:1: matcher 1 stopped: ");
    CHECK_CONTAINS(r.problems[0], "limit");
    strata_pin_result_release(&r);
    free(text);
    strata_pin_matchers_free(m);
}

/* Found by fuzz-pin-kustomize: YAML breaks lines at a bare CR too. */
TEST(kustomize_bare_cr)
{
    const char *text = "images:\n- name: nginx\n  newTag: \"1\" # x\ry: 1\n";
    strata_pin_result r;
    strata_error err = {0};

    CHECK_OK(pin(&r, text, STRATA_PIN_KUSTOMIZE, "k.yaml", &err), &err);
    show(&r);
    CHECK_STR_EQ(r.data, text);
    CHECK_EQ(r.nchanges, 0);
    CHECK_EQ(r.nproblems, 1);
    CHECK_CONTAINS(r.problems[0], "bare carriage return");
    strata_pin_result_release(&r);
}

int
main(void)
{
    RUN(fixtures);
    RUN(kinds_by_path);
    RUN(helm_problems_name_the_template);
    RUN(changes_carry_lines_and_refs);
    RUN(kustomize_crlf_and_indentation);
    RUN(links_to_other_files);
    RUN(devcontainer_problems_and_errors);
    RUN(github_expressions_are_problems);
    RUN(kustomize_bare_cr);
    RUN(user_matchers);
    RUN(matchers_are_bounded_and_checked);
    return harness_done();
}
