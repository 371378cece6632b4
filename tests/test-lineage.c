/*
 * test-lineage.c - lineage from registries (graph/lineage.c) against a
 * real registry (tests/registry): an image with BuildKit's base
 * annotations, one with them as config labels, one built on a base's
 * layers without any (a "layers" edge to the watched base digest), one on
 * two watched bases' layers (the longer prefix wins), a running image read
 * by digest, an unrelated image (no edge), a rebuilt image whose old
 * layers edge is retracted; then the stale report over that store, row by
 * row in JSON: built-on digests, where they came from, updates and days
 * behind.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "graph.h"
#include "harness-registry.h"
#include "harness.h"
#include "report.h"
#include "store.h"

#define DAY (24LL * 60 * 60 * 1000)
/* 2026-01-01T00:00:00Z */
#define T0 1767225600000LL

typedef struct clock {
    int64_t now;
} fake_clock;

static int64_t
fake_now(void *arg)
{
    return ((fake_clock *) arg)->now;
}

static char *seed(const harness_registry *reg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Seeds the image of the printf-made spec; returns its digest (new). */
static char *
seed(const harness_registry *reg, const char *fmt, ...)
{
    json_t *out = NULL;
    va_list ap;
    char *spec, *digest;

    va_start(ap, fmt);
    spec = strata_xvasprintf(fmt, ap);
    va_end(ap);
    CHECK_EQ(harness_registry_seed(reg, spec, &out), 0);
    digest = strata_xstrdup(json_string_value(json_object_get(out, "digest")));
    json_decref(out);
    free(spec);
    return digest;
}

static void
observe(strata_store *st, fake_clock *clk, int64_t at, const char *ref,
        const char *digest)
{
    strata_store_observation obs = {0};
    strata_error err = {0};

    clk->now = at;
    obs.ref = ref;
    obs.digest = digest;
    CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
}

/* The summary entry of image. */
static const json_t *
entry_of(const json_t *sum, const char *image)
{
    const json_t *e;
    size_t i;

    json_array_foreach (json_object_get(sum, "images"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "image")), image) == 0)
            return e;
    }
    fprintf(stderr, "# no summary entry for %s\n", image);
    CHECK(0);
    return NULL;
}

static const char *
s(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : "(null)";
}

static long long
n(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (long long) json_integer_value(v) : -1;
}

/* How many edges child -> parent by method g has; *info the last. */
static int
edges(const strata_graph *g, const char *child, const char *parent,
      const char *method, strata_graph_edge_info *info)
{
    size_t i, node, k;
    int count = 0;

    if (strata_graph_find(g, child, &node) != 0)
        return 0;
    for (k = 0; k < strata_graph_node_parents(g, node); k++) {
        strata_graph_edge_info x;
        const char *c, *p;

        i = strata_graph_node_parent_edge(g, node, k);
        strata_graph_edge(g, i, &c, &p, &x);
        CHECK_STR_EQ(c, child);
        if (strcmp(p, parent) == 0 && strcmp(x.method, method) == 0) {
            count++;
            if (info != NULL)
                *info = x;
        }
    }
    return count;
}

static const json_t *
row_of(const json_t *report, const char *image)
{
    const json_t *row;
    size_t i;

    json_array_foreach (json_object_get(report, "rows"), i, row) {
        if (strcmp(s(row, "image"), image) == 0)
            return row;
    }
    return NULL;
}

TEST(lineage_and_report)
{
    harness_registry reg;
    strata_config_problems *problems = strata_config_problems_new();
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_graph *g = NULL;
    strata_graph_edge_info info;
    strata_graph_lineage_opts lo = {0};
    strata_report_options ro = {0};
    strata_error err = {0};
    fake_clock clk = {T0};
    json_t *sum = NULL, *report = NULL;
    const json_t *e, *row;
    char tmp[] = "/tmp/strata-lineage.XXXXXX";
    char *b1, *b2, *annotated, *running, *yaml, *path, *debian, *img[7];
    const char *running_ref[2] = {NULL, NULL};
    size_t i;

    CHECK(mkdtemp(tmp) != NULL);
    CHECK_EQ(harness_registry_start(&reg, NULL, NULL), 0);
    debian = strata_xasprintf("%s/library/debian:12", reg.host);
    b1 = seed(&reg, "{\"name\": \"library/debian\", \"tag\": \"12\", "
                    "\"layers\": [\"debian 12.1\"]}");
    annotated = seed(&reg,
                     "{\"name\": \"acme/annotated\", \"tag\": \"1\", "
                     "\"base\": {\"name\": \"library/debian\", \"digest\": "
                     "\"%s\"}, \"layers\": [\"annotated\"], \"annotations\": "
                     "{\"org.opencontainers.image.base.name\": \"%s\", "
                     "\"org.opencontainers.image.base.digest\": \"%s\"}}",
                     b1, debian, b1);
    free(seed(&reg,
              "{\"name\": \"acme/layered\", \"tag\": \"1\", \"base\": "
              "{\"name\": \"library/debian\", \"digest\": \"%s\"}, "
              "\"layers\": [\"layered\"]}",
              b1));
    /* On annotated's layers: annotated (2 layers) beats debian (1). */
    free(seed(&reg,
              "{\"name\": \"acme/child\", \"tag\": \"1\", \"base\": "
              "{\"name\": \"acme/annotated\", \"digest\": \"%s\"}, "
              "\"layers\": [\"child\"]}",
              annotated));
    free(seed(&reg, "{\"name\": \"acme/unrelated\", \"tag\": \"1\", "
                    "\"layers\": [\"something else\"]}"));
    b2 = seed(&reg, "{\"name\": \"library/debian\", \"tag\": \"12\", "
                    "\"layers\": [\"debian 12.2\"]}");
    free(seed(&reg,
              "{\"name\": \"acme/labelled\", \"tag\": \"1\", \"base\": "
              "{\"name\": \"library/debian\", \"digest\": \"%s\"}, "
              "\"layers\": [\"labelled\"], \"labels\": "
              "{\"org.opencontainers.image.base.name\": \"%s\", "
              "\"org.opencontainers.image.base.digest\": \"%s\"}}",
              b2, debian, b2));
    running = seed(&reg,
                   "{\"name\": \"acme/running\", \"tag\": \"7\", \"base\": "
                   "{\"name\": \"library/debian\", \"digest\": \"%s\"}, "
                   "\"layers\": [\"running\"]}",
                   b2);

    img[0] = strata_xasprintf("%s/acme/annotated:1", reg.host);
    img[1] = strata_xasprintf("%s/acme/layered:1", reg.host);
    img[2] = strata_xasprintf("%s/acme/child:1", reg.host);
    img[3] = strata_xasprintf("%s/acme/unrelated:1", reg.host);
    img[4] = strata_xasprintf("%s/acme/labelled:1", reg.host);
    img[5] = strata_xasprintf("%s/acme/missing:1", reg.host);
    img[6] = strata_xasprintf("%s/acme/running:7", reg.host);
    yaml = strata_xasprintf("state: %s/strata.db\n"
                            "repos:\n"
                            "  - url: file://%s/none.git\n"
                            "    images:\n"
                            "      - {name: %s, dockerfile: a/Dockerfile}\n"
                            "      - {name: %s, dockerfile: b/Dockerfile}\n"
                            "      - {name: %s, dockerfile: c/Dockerfile}\n"
                            "      - {name: %s, dockerfile: d/Dockerfile}\n"
                            "      - {name: %s, dockerfile: e/Dockerfile}\n"
                            "      - {name: %s, dockerfile: f/Dockerfile}\n",
                            tmp, tmp, img[0], img[1], img[2], img[3], img[4],
                            img[5]);
    CHECK_OK(strata_config_load_string(&config, yaml, strlen(yaml), "a.yaml",
                                       tmp, problems, &err),
             &err);
    path = strata_xasprintf("%s/strata.db", tmp);
    CHECK_OK(strata_store_open(&st, path, &err), &err);
    strata_store_set_clock(st, fake_now, &clk);
    /* debian:12 was b1 at T0 and b2 ten days later; annotated:1 (an
     * intermediate image, watched as a base) is what it is. */
    CHECK_OK(strata_store_watch_add(NULL, st, debian, NULL, &err), &err);
    CHECK_OK(strata_store_watch_add(NULL, st, img[0], NULL, &err), &err);
    observe(st, &clk, T0, debian, b1);
    observe(st, &clk, T0 + 10 * DAY, debian, b2);
    observe(st, &clk, T0, img[0], annotated);

    /* The running image is read by digest; its node has the tag. */
    running_ref[0] = strata_xasprintf("%s@%s", img[6], running);
    lo.images = running_ref;
    CHECK_OK(strata_graph_scan_lineage(&sum, st, strata_config_data_get(config),
                                       &lo, &err),
             &err);
    CHECK_EQ(json_array_size(json_object_get(sum, "images")), 7);

    e = entry_of(sum, img[0]);
    CHECK_STR_EQ(s(e, "parent"), debian);
    CHECK_STR_EQ(s(e, "digest"), b1);
    CHECK_STR_EQ(s(e, "method"), "annotation");
    CHECK(json_is_null(json_object_get(e, "error")));
    e = entry_of(sum, img[1]);
    CHECK_STR_EQ(s(e, "parent"), debian);
    CHECK_STR_EQ(s(e, "digest"), b1);
    CHECK_STR_EQ(s(e, "method"), "layers");
    CHECK_EQ(n(e, "layers"), 1);
    e = entry_of(sum, img[2]);
    CHECK_STR_EQ(s(e, "parent"), img[0]);
    CHECK_STR_EQ(s(e, "digest"), annotated);
    CHECK_STR_EQ(s(e, "method"), "layers");
    CHECK_EQ(n(e, "layers"), 2);
    e = entry_of(sum, img[3]);
    CHECK(json_is_null(json_object_get(e, "parent")));
    CHECK_STR_EQ(s(e, "note"), "no lineage found");
    e = entry_of(sum, img[4]);
    CHECK_STR_EQ(s(e, "parent"), debian);
    CHECK_STR_EQ(s(e, "digest"), b2);
    CHECK_STR_EQ(s(e, "method"), "annotation");
    e = entry_of(sum, img[5]);
    CHECK_STR_EQ(s(e, "note"), "not in the registry");
    e = entry_of(sum, img[6]);
    CHECK_STR_EQ(s(e, "parent"), debian);
    CHECK_STR_EQ(s(e, "digest"), b2);
    CHECK_STR_EQ(s(e, "method"), "layers");
    json_decref(sum);
    sum = NULL;

    /* The graph, through the edge accessors. */
    CHECK_OK(strata_graph_load(&g, st, &err), &err);
    CHECK_EQ(edges(g, img[0], debian, "annotation", &info), 1);
    CHECK_STR_EQ(info.digest, b1);
    CHECK_EQ(info.confidence, 100);
    CHECK(info.repo == NULL && info.path == NULL && info.line == 0);
    CHECK_EQ(edges(g, img[1], debian, "layers", &info), 1);
    CHECK_STR_EQ(info.digest, b1);
    CHECK_EQ(info.confidence, 90);
    CHECK_EQ(edges(g, img[2], img[0], "layers", &info), 1);
    CHECK_EQ(edges(g, img[2], debian, "layers", NULL), 0);
    CHECK_EQ(edges(g, img[6], debian, "layers", &info), 1);
    CHECK_STR_EQ(info.digest, b2);
    {
        size_t node;

        CHECK_EQ(strata_graph_find(g, img[3], &node), STRATA_ENOTFOUND);
    }
    strata_graph_free(g);
    g = NULL;

    /* layered is rebuilt on b2 with annotations: its layers edge goes. */
    free(seed(&reg,
              "{\"name\": \"acme/layered\", \"tag\": \"1\", \"base\": "
              "{\"name\": \"library/debian\", \"digest\": \"%s\"}, "
              "\"layers\": [\"layered\"], \"annotations\": "
              "{\"org.opencontainers.image.base.name\": \"%s\", "
              "\"org.opencontainers.image.base.digest\": \"%s\"}}",
              b2, debian, b2));
    CHECK_OK(strata_graph_scan_lineage(&sum, st, strata_config_data_get(config),
                                       &lo, &err),
             &err);
    CHECK_STR_EQ(s(entry_of(sum, img[1]), "method"), "annotation");
    CHECK_OK(strata_graph_load(&g, st, &err), &err);
    CHECK_EQ(edges(g, img[1], debian, "layers", NULL), 0);
    CHECK_EQ(edges(g, img[1], debian, "annotation", &info), 1);
    CHECK_STR_EQ(info.digest, b2);

    /* The report, thirty days in: b2 came ten days after b1. */
    ro.now_ms = T0 + 30 * DAY;
    CHECK_OK(strata_report_stale(&report, st, g, &ro, &err), &err);
    /* annotated, layered, labelled, running on debian (child is on our
     * own annotated:1: no row). */
    CHECK_EQ(json_array_size(json_object_get(report, "rows")), 4);
    CHECK(row_of(report, img[2]) == NULL);
    row = row_of(report, img[0]);
    CHECK(row != NULL);
    CHECK_STR_EQ(s(row, "base"), debian);
    CHECK_STR_EQ(s(row, "built_on"), b1);
    CHECK_STR_EQ(s(row, "built_on_from"), "annotation");
    CHECK_STR_EQ(s(row, "current"), b2);
    CHECK_EQ(n(row, "updates_behind"), 1);
    CHECK_EQ(n(row, "days_behind"), 20);
    CHECK_STR_EQ(s(row, "behind_since"), "2026-01-11T00:00:00Z");
    CHECK_STR_EQ(s(row, "status"), "stale");
    CHECK(json_is_null(json_object_get(row, "reason")));
    CHECK(json_is_null(json_object_get(row, "repo")));
    row = row_of(report, img[1]);
    CHECK(row != NULL);
    CHECK_STR_EQ(s(row, "built_on"), b2);
    CHECK_STR_EQ(s(row, "built_on_from"), "annotation");
    CHECK_EQ(n(row, "updates_behind"), 0);
    CHECK_EQ(n(row, "days_behind"), 0);
    CHECK_STR_EQ(s(row, "status"), "current");
    row = row_of(report, img[4]);
    CHECK(row != NULL);
    CHECK_STR_EQ(s(row, "built_on"), b2);
    CHECK_STR_EQ(s(row, "status"), "current");
    row = row_of(report, img[6]);
    CHECK(row != NULL);
    CHECK_STR_EQ(s(row, "built_on"), b2);
    CHECK_STR_EQ(s(row, "built_on_from"), "layers");
    CHECK_STR_EQ(s(row, "status"), "current");
    CHECK_EQ(n(json_object_get(report, "summary"), "stale"), 1);
    CHECK_EQ(n(json_object_get(report, "summary"), "current"), 3);

    json_decref(report);
    json_decref(sum);
    strata_graph_free(g);
    strata_store_close(st);
    strata_config_free(config);
    strata_config_problems_free(problems);
    harness_registry_stop(&reg);
    for (i = 0; i < 7; i++)
        free(img[i]);
    free((char *) running_ref[0]);
    free(running);
    free(annotated);
    free(b1);
    free(b2);
    free(debian);
    free(path);
    free(yaml);
    {
        char *cmd = strata_xasprintf("rm -rf '%s'", tmp);

        CHECK_EQ(system(cmd), 0);
        free(cmd);
    }
}

/* An unreachable registry is an image's error, never a failure. */
TEST(unreachable_registry)
{
    strata_config_problems *problems = strata_config_problems_new();
    strata_registry_opts fast = {.timeout_ms = 2000, .max_retries = -1};
    strata_graph_lineage_opts lo = {.defaults = &fast};
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_error err = {0};
    json_t *sum = NULL;
    const char *yaml = "state: ':memory:'\n"
                       "repos:\n"
                       "  - url: file:///nowhere.git\n"
                       "    images: [{name: '127.0.0.1:9/acme/x:1'}]\n";

    CHECK_OK(strata_config_load_string(&config, yaml, strlen(yaml), "a.yaml",
                                       "/", problems, &err),
             &err);
    CHECK_OK(strata_store_open(&st, ":memory:", &err), &err);
    CHECK_OK(strata_graph_scan_lineage(&sum, st, strata_config_data_get(config),
                                       &lo, &err),
             &err);
    CHECK_EQ(json_array_size(json_object_get(sum, "images")), 1);
    CHECK_STR_EQ(s(entry_of(sum, "127.0.0.1:9/acme/x:1"), "image"),
                 "127.0.0.1:9/acme/x:1");
    CHECK(json_is_string(
        json_object_get(entry_of(sum, "127.0.0.1:9/acme/x:1"), "error")));
    json_decref(sum);
    strata_store_close(st);
    strata_config_free(config);
    strata_config_problems_free(problems);
}

int
main(void)
{
    const char *why = harness_registry_missing(0);

    if (why != NULL)
        SKIP_ALL("%s", why);
    RUN(lineage_and_report);
    RUN(unreachable_registry);
    return harness_done();
}
