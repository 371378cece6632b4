/*
 * test-pin-yaml.c - digest pinning of docker-compose files and Kubernetes
 * manifests, byte for byte: quoting styles kept, comments, indentation,
 * CRLF and flow style untouched, multi-document streams, every workload
 * kind's containers, init and ephemeral containers; aliases, anchors,
 * block scalars, escapes and compose variables reported, not rewritten;
 * fixtures from tests/pin/ pinned to their expected twins.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pin.h"

#define D1                                                                     \
    "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static const char *
lookup(const strata_pin_query *q, void *arg)
{
    (void) arg;
    CHECK(q->where == NULL);
    CHECK(q->platform == NULL);
    if (strcmp(q->ref, "docker.io/library/debian:12-slim") == 0)
        return D1;
    if (strcmp(q->ref, "docker.io/library/nginx:latest") == 0)
        return D2;
    if (strcmp(q->ref, "ghcr.io/acme/app:1.2") == 0)
        return D2;
    if (strcmp(q->ref, "localhost:5000/busybox:1") == 0)
        return D1;
    return NULL;
}

static void
pin(strata_pin_result *r, const char *text, unsigned kinds)
{
    strata_pin_opts o = {0};
    strata_error err = {0};

    o.lookup = lookup;
    o.yaml = kinds;
    CHECK_OK(strata_pin_yaml(r, text, strlen(text), "f.yaml", &o, &err), &err);
}

static void
expect(const char *text, const char *want, size_t nchanges, size_t nproblems)
{
    strata_pin_result r;
    size_t i;

    pin(&r, text, 0);
    for (i = 0; i < r.nproblems; i++)
        printf("# problem: %s\n", r.problems[i]);
    CHECK_STR_EQ(r.data, want);
    CHECK_EQ(r.len, strlen(want));
    CHECK_EQ(r.nchanges, nchanges);
    CHECK_EQ(r.nproblems, nproblems);
    strata_pin_result_release(&r);
}

TEST(compose_quoting_styles_and_comments)
{
    expect("# compose\n"
           "services:\n"
           "  web:   # the front\n"
           "    image: nginx   # follows latest\n"
           "    ports: [\"80:80\"]\n"
           "  db:\n"
           "    image: 'debian:12-slim'\n"
           "  app:\n"
           "    image: \"ghcr.io/acme/app:1.2@" D1 "\"\n"
           "  other: {image: localhost:5000/busybox:1, restart: always}\n"
           "  built:\n"
           "    build: .\n"
           "    image: debian:12-slim\n"
           "  unknown:\n"
           "    image: quay.io/x/y:1\n",
           "# compose\n"
           "services:\n"
           "  web:   # the front\n"
           "    image: nginx:latest@" D2 "   # follows latest\n"
           "    ports: [\"80:80\"]\n"
           "  db:\n"
           "    image: 'debian:12-slim@" D1 "'\n"
           "  app:\n"
           "    image: \"ghcr.io/acme/app:1.2@" D2 "\"\n"
           "  other: {image: localhost:5000/busybox:1@" D1
           ", restart: always}\n"
           "  built:\n"
           "    build: .\n"
           "    image: debian:12-slim\n"
           "  unknown:\n"
           "    image: quay.io/x/y:1\n",
           4, 0);
}

TEST(changes_name_lines_and_digests)
{
    strata_pin_result r;

    pin(&r,
        "services:\r\n"
        "  a:\r\n"
        "    image: debian:12-slim\r\n"
        "  b:\r\n"
        "    image: ghcr.io/acme/app:1.2@" D1 "\r\n",
        0);
    CHECK_STR_EQ(r.data, "services:\r\n"
                         "  a:\r\n"
                         "    image: debian:12-slim@" D1 "\r\n"
                         "  b:\r\n"
                         "    image: ghcr.io/acme/app:1.2@" D2 "\r\n");
    CHECK_EQ(r.nrefs, 2);
    CHECK_EQ(r.nchanges, 2);
    CHECK_EQ(r.changes[0].line, 3);
    CHECK_STR_EQ(r.changes[0].ref, "docker.io/library/debian:12-slim");
    CHECK(r.changes[0].old_digest == NULL);
    CHECK_EQ(r.changes[1].line, 5);
    CHECK_STR_EQ(r.changes[1].old_digest, D1);
    CHECK_STR_EQ(r.changes[1].new_digest, D2);
    strata_pin_result_release(&r);
}

TEST(kubernetes_workloads_multi_document)
{
    expect("apiVersion: v1\n"
           "kind: Pod\n"
           "metadata: {name: p}\n"
           "spec:\n"
           "  initContainers:\n"
           "  - name: init\n"
           "    image: \"localhost:5000/busybox:1\"\n"
           "  containers:\n"
           "  - {name: a, image: nginx}\n"
           "  ephemeralContainers:\n"
           "    - name: dbg\n"
           "      image: debian:12-slim # debug\n"
           "---\n"
           "apiVersion: batch/v1\n"
           "kind: CronJob\n"
           "spec:\n"
           "  jobTemplate:\n"
           "    spec:\n"
           "      template:\n"
           "        spec:\n"
           "          containers:\n"
           "          - name: c\n"
           "            image: ghcr.io/acme/app:1.2\n"
           "...\n"
           "---\n"
           "apiVersion: apps/v1\n"
           "kind: Deployment\n"
           "spec:\n"
           "  template:\n"
           "    spec:\n"
           "      containers:\n"
           "      - name: w\n"
           "        image: 'nginx:latest'\n"
           "        env: [{name: image, value: debian:12-slim}]\n"
           "---\n"
           "apiVersion: v1\n"
           "kind: ConfigMap\n"
           "data: {image: debian:12-slim}\n",
           "apiVersion: v1\n"
           "kind: Pod\n"
           "metadata: {name: p}\n"
           "spec:\n"
           "  initContainers:\n"
           "  - name: init\n"
           "    image: \"localhost:5000/busybox:1@" D1 "\"\n"
           "  containers:\n"
           "  - {name: a, image: nginx:latest@" D2 "}\n"
           "  ephemeralContainers:\n"
           "    - name: dbg\n"
           "      image: debian:12-slim@" D1 " # debug\n"
           "---\n"
           "apiVersion: batch/v1\n"
           "kind: CronJob\n"
           "spec:\n"
           "  jobTemplate:\n"
           "    spec:\n"
           "      template:\n"
           "        spec:\n"
           "          containers:\n"
           "          - name: c\n"
           "            image: ghcr.io/acme/app:1.2@" D2 "\n"
           "...\n"
           "---\n"
           "apiVersion: apps/v1\n"
           "kind: Deployment\n"
           "spec:\n"
           "  template:\n"
           "    spec:\n"
           "      containers:\n"
           "      - name: w\n"
           "        image: 'nginx:latest@" D2 "'\n"
           "        env: [{name: image, value: debian:12-slim}]\n"
           "---\n"
           "apiVersion: v1\n"
           "kind: ConfigMap\n"
           "data: {image: debian:12-slim}\n",
           5, 0);
}

TEST(kinds_can_be_restricted)
{
    const char *k8s = "kind: Pod\nspec:\n  containers:\n  - image: nginx\n";
    const char *compose = "services:\n  a:\n    image: nginx\n";
    strata_pin_result r;

    pin(&r, k8s, STRATA_PIN_YAML_COMPOSE);
    CHECK_EQ(r.nchanges + r.nrefs, 0);
    CHECK_STR_EQ(r.data, k8s);
    strata_pin_result_release(&r);
    pin(&r, compose, STRATA_PIN_YAML_K8S);
    CHECK_EQ(r.nchanges + r.nrefs, 0);
    strata_pin_result_release(&r);
    pin(&r, compose, STRATA_PIN_YAML_COMPOSE);
    CHECK_EQ(r.nchanges, 1);
    strata_pin_result_release(&r);
}

TEST(aliases_and_anchors_are_reported)
{
    const char *text = "x-base: &base\n"
                       "  image: debian:12-slim\n"
                       "x-img: &img nginx\n"
                       "services:\n"
                       "  a: *base\n"
                       "  b:\n"
                       "    <<: *base\n"
                       "    restart: always\n"
                       "  c:\n"
                       "    image: *img\n"
                       "  d:\n"
                       "    image: &own ghcr.io/acme/app:1.2\n"
                       "  e:\n"
                       "    image: localhost:5000/busybox:1\n"
                       "  f:\n"
                       "    <<: [*base]\n"
                       "    image: nginx\n";
    strata_pin_result r;

    pin(&r, text, 0);
    CHECK_EQ(r.nproblems, 4);
    CHECK_CONTAINS(r.problems[0], "f.yaml:5: service is an alias ('*base')");
    CHECK_CONTAINS(r.problems[1], "f.yaml:7: the image of this service comes "
                                  "from '<<: *base'");
    CHECK_CONTAINS(r.problems[2], "f.yaml:10: image is an alias ('*img')");
    CHECK_CONTAINS(r.problems[3], "f.yaml:12: image 'ghcr.io/acme/app:1.2' "
                                  "has an anchor ('&own')");
    /* e and f (its own image wins over the merge) are pinned. */
    CHECK_EQ(r.nchanges, 2);
    CHECK_CONTAINS(r.data, "    image: localhost:5000/busybox:1@" D1 "\n");
    CHECK_CONTAINS(r.data, "    <<: [*base]\n    image: nginx:latest@" D2);
    CHECK_CONTAINS(r.data, "x-base: &base\n  image: debian:12-slim\n");
    strata_pin_result_release(&r);
}

TEST(unrewritable_scalars_are_reported)
{
    const char *text = "services:\n"
                       "  a:\n"
                       "    image: >-\n"
                       "      debian:12-slim\n"
                       "  b:\n"
                       "    image: \"deb\\x69an:12-slim\"\n"
                       "  c:\n"
                       "    image: ${REGISTRY:-ghcr.io}/acme/app:1.2\n"
                       "  d:\n"
                       "    image: \"nginx\n"
                       "      \"\n"
                       "  e:\n"
                       "    image: Not A Ref\n"
                       "  f:\n"
                       "    image:\n"
                       "  g:\n"
                       "    image: !!str debian:12-slim\n";
    strata_pin_result r;

    pin(&r, text, 0);
    CHECK_EQ(r.nproblems, 5);
    CHECK_CONTAINS(r.problems[0], "f.yaml:3: image 'debian:12-slim' is a "
                                  "block or multi-line scalar");
    CHECK_CONTAINS(r.problems[1], "f.yaml:6: image 'debian:12-slim' is "
                                  "written with escapes");
    CHECK_CONTAINS(r.problems[2], "f.yaml:8: image '${REGISTRY:-ghcr.io}/"
                                  "acme/app:1.2' is built from variables");
    CHECK_CONTAINS(r.problems[3], "f.yaml:10: image 'nginx ' is a block");
    CHECK_CONTAINS(r.problems[4], "f.yaml:13: invalid reference");
    /* The tagged scalar is pinned after its tag. */
    CHECK_EQ(r.nchanges, 1);
    CHECK_CONTAINS(r.data, "image: !!str debian:12-slim@" D1 "\n");
    strata_pin_result_release(&r);
}

TEST(utf8_before_the_image)
{
    /* libyaml's marks count characters; the offsets must be bytes. */
    expect("\xef\xbb\xbf# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3\n"
           "services:\n"
           "  \xc3\xa9t\xc3\xa9: {labels: {a: \"\xe2\x82\xac\"}, image: "
           "nginx}\n",
           "\xef\xbb\xbf# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3\n"
           "services:\n"
           "  \xc3\xa9t\xc3\xa9: {labels: {a: \"\xe2\x82\xac\"}, image: "
           "nginx:latest@" D2 "}\n",
           1, 0);
}

TEST(bad_yaml_fails)
{
    strata_pin_opts o = {0};
    strata_error err = {0};
    strata_pin_result r;
    const char *bad = "services:\n  a: [\n";

    o.lookup = lookup;
    CHECK_EQ(strata_pin_yaml(&r, bad, strlen(bad), "f.yaml", &o, &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "f.yaml:3:");
    CHECK(r.data == NULL);
    CHECK_EQ(strata_pin_yaml(&r, "\xff\xfek\0", 4, "u.yaml", &o, &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "'u.yaml' is not UTF-8");
}

/* Reads a file into a new string. */
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

TEST(fixtures)
{
    static const char *const names[] = {"compose.yaml", "k8s.yaml"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char in[512], out[512];
        char *text, *want;
        strata_pin_result r;

        snprintf(in, sizeof(in), "%s/%s", PIN_FIXTURES, names[i]);
        snprintf(out, sizeof(out), "%s/%s.pinned", PIN_FIXTURES, names[i]);
        text = slurp(in);
        want = slurp(out);
        pin(&r, text, 0);
        CHECK_STR_EQ(r.data, want);
        CHECK_EQ(r.nproblems, 0);
        CHECK(r.nchanges > 0);
        strata_pin_result_release(&r);
        free(text);
        free(want);
    }
}

int
main(void)
{
    RUN(compose_quoting_styles_and_comments);
    RUN(changes_name_lines_and_digests);
    RUN(kubernetes_workloads_multi_document);
    RUN(kinds_can_be_restricted);
    RUN(aliases_and_anchors_are_reported);
    RUN(unrewritable_scalars_are_reported);
    RUN(utf8_before_the_image);
    RUN(bad_yaml_fails);
    RUN(fixtures);
    return harness_done();
}
