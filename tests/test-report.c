/*
 * test-report.c - the report module: the golden catalog (loading, every
 * validation problem with its line and column, golden / non-golden /
 * deprecated classification, teams), the stale-base computation over a
 * seeded store (watches and digests seen at known times, through a fake
 * clock) and graph (edges with pinned digests), checked field by field in
 * the JSON, the running-images inputs (list and kubectl JSON), each
 * renderer (table, CSV quoting, Markdown, HTML escaping, Prometheus), the
 * catalog status and check, and the CLI's exit codes.
 *
 * `test-report --html FILE` writes the seeded report's HTML page to FILE,
 * for the headless-browser test (tests/report/browser.sh).
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "packages.h"
#include "report.h"

#define DAY (24LL * 60 * 60 * 1000)
/* 2026-01-01T00:00:00Z */
#define T0 1767225600000LL

#define D(c)                                                                   \
    "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
        c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

typedef struct clock {
    int64_t now;
} clock_t_;

static int64_t
fake_now(void *arg)
{
    return ((clock_t_ *) arg)->now;
}

static const char *
fixture(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf), "%s/%s", STRATA_TEST_REPORT_DIR, name);
    return buf;
}

static void
observe(strata_store *st, clock_t_ *clk, int64_t at, const char *ref,
        const char *digest, const char *tag)
{
    strata_store_observation obs = {0};
    strata_error err = {0};

    clk->now = at;
    obs.ref = ref;
    obs.digest = digest;
    obs.tag = tag;
    CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
}

/* The seeded state: see each image's comment for what the report says. */
typedef struct world {
    strata_store *st;
    strata_graph *g;
    strata_catalog *cat;
    clock_t_ clk;
} world;

static void
edge(strata_graph *g, const char *child, const char *parent, const char *digest,
     unsigned line)
{
    strata_graph_edge_info info = {0};

    info.repo = "https://git.example.com/acme/mono.git";
    info.path = "Dockerfile";
    info.line = line;
    info.method = "dockerfile";
    info.confidence = 100;
    info.digest = digest;
    strata_graph_add_node(g, child, STRATA_GRAPH_IMAGE);
    strata_graph_add_edge(g, child, parent, &info);
}

static void
world_init(world *w)
{
    const char *debian = "docker.io/library/debian:12-slim";
    const char *alpine = "docker.io/library/alpine:3.20";
    const char *python = "docker.io/library/python";
    json_t *policy =
        json_pack("{s:s,s:s}", "semver", ">=3.11 <3.13", "suffix", "-slim");
    strata_config_problems *p = strata_config_problems_new();
    strata_error err = {0};

    memset(w, 0, sizeof(*w));
    CHECK_OK(strata_store_open(&w->st, ":memory:", &err), &err);
    strata_store_set_clock(w->st, fake_now, &w->clk);
    w->clk.now = T0;
    CHECK_OK(strata_store_watch_add(NULL, w->st, debian, NULL, &err), &err);
    CHECK_OK(strata_store_watch_add(NULL, w->st, alpine, NULL, &err), &err);
    CHECK_OK(strata_store_watch_add(NULL, w->st, python, policy, &err), &err);
    CHECK_OK(strata_store_watch_add(
                 NULL, w->st, "docker.io/library/debian:11-slim", NULL, &err),
             &err);
    json_decref(policy);
    /* debian:12-slim: a, then b 10 days later, then c 20 days later. */
    observe(w->st, &w->clk, T0, debian, D("a"), NULL);
    observe(w->st, &w->clk, T0 + 10 * DAY, debian, D("b"), NULL);
    observe(w->st, &w->clk, T0 + 20 * DAY, debian, D("c"), NULL);
    observe(w->st, &w->clk, T0, alpine, D("1"), NULL);
    observe(w->st, &w->clk, T0 + 2 * DAY, python, D("5"), "3.12.4-slim");
    observe(w->st, &w->clk, T0 + 25 * DAY, python, D("6"), "3.12.5-slim");

    w->g = strata_graph_new();
    /* 2 updates behind debian (b, c); b came 20 days before "now" (T0 +
     * 30d), over the catalog's soak + max_age (8d): stale. */
    edge(w->g, "registry.example.com/acme/payments:latest", debian, D("a"), 3);
    /* On the current digest: current. */
    edge(w->g, "registry.example.com/acme/api:latest", debian, D("c"), 1);
    /* A digest the watcher never saw: unknown. */
    edge(w->g, "registry.example.com/acme/batch:latest", debian, D("f"), 1);
    edge(w->g, "registry.example.com/acme/web:latest", alpine, D("1"), 1);
    /* Deprecated base, unpinned FROM. */
    edge(w->g, "registry.example.com/acme/legacy:latest",
         "docker.io/library/debian:11-slim", NULL, 1);
    /* One update behind (6 came 5 days ago), within max_age 30d: behind. */
    edge(w->g, "registry.example.com/acme/tool:latest",
         "docker.io/library/python:3.12.4-slim", D("5"), 2);
    /* A base nobody watches, not in the catalog. */
    edge(w->g, "registry.example.com/acme/odd:latest", "quay.io/x/y:1", D("e"),
         1);
    /* Built on our own image: not an external base, no row. */
    edge(w->g, "registry.example.com/acme/app:1",
         "registry.example.com/acme/payments:latest", NULL, 1);
    CHECK_OK(strata_catalog_load(&w->cat, fixture("catalog.yaml"), p, &err),
             &err);
    strata_config_problems_free(p);
    w->clk.now = T0 + 30 * DAY;
}

static void
world_release(world *w)
{
    strata_catalog_free(w->cat);
    strata_graph_free(w->g);
    strata_store_close(w->st);
}

static json_t *
world_report(world *w, const strata_report_running *running)
{
    strata_report_options opts = {0};
    strata_error err = {0};
    json_t *r = NULL;

    opts.catalog = w->cat;
    opts.running = running;
    opts.now_ms = T0 + 30 * DAY;
    CHECK_OK(strata_report_stale(&r, w->st, w->g, &opts, &err), &err);
    return r;
}

static const json_t *
row_of(const json_t *report, const char *image)
{
    const json_t *row;
    size_t i;

    json_array_foreach (json_object_get(report, "rows"), i, row) {
        if (strcmp(json_string_value(json_object_get(row, "image")), image) ==
            0)
            return row;
    }
    printf("# no row for %s\n", image);
    CHECK(0);
    return NULL;
}

static const char *
sfield(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);
    return json_is_string(v) ? json_string_value(v) : "(null)";
}

static long long
ifield(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);
    return json_is_integer(v) ? (long long) json_integer_value(v) : -1;
}

/* ---- catalog ---------------------------------------------------------- */

TEST(catalog_loads)
{
    world w;
    const strata_catalog_entry *e;

    world_init(&w);
    CHECK_EQ(strata_catalog_count(w.cat), 4);
    e = strata_catalog_get(w.cat, 0);
    CHECK_STR_EQ(e->ref, "docker.io/library/debian:12-slim");
    CHECK_STR_EQ(e->name, "docker.io/library/debian");
    CHECK_STR_EQ(e->description, "Debian 12, slim");
    CHECK_EQ(e->n_owners, 2);
    CHECK_STR_EQ(e->owners[1], "security");
    CHECK_STR_EQ(e->tier, "gold");
    CHECK_EQ(e->max_age_ms, 7 * DAY);
    CHECK_EQ(e->soak_ms, DAY);
    CHECK_EQ(e->line, 3);
    CHECK_EQ(e->col, 5);
    e = strata_catalog_get(w.cat, 1);
    CHECK_EQ(e->lifecycle, STRATA_CATALOG_DEPRECATED);
    CHECK_STR_EQ(e->sunset, "2026-06-30");
    CHECK_EQ(e->sunset_ms, 1782777600000LL);
    CHECK_STR_EQ(e->replacement, "docker.io/library/debian:12-slim");
    e = strata_catalog_get(w.cat, 3);
    CHECK_STR_EQ(e->ref, "docker.io/library/python");
    CHECK_STR_EQ(e->semver, ">=3.11 <3.13");
    CHECK_STR_EQ(e->suffix, "-slim");
    CHECK_EQ(strata_catalog_team_count(w.cat), 2);
    world_release(&w);
}

TEST(catalog_classifies)
{
    world w;

    world_init(&w);
#define CLASS(ref) strata_catalog_classify(strata_catalog_lookup(w.cat, ref))
    CHECK_STR_EQ(CLASS("debian:12-slim"), "golden");
    CHECK_STR_EQ(CLASS("docker.io/library/debian:12-slim@" D("a")), "golden");
    CHECK_STR_EQ(CLASS("debian:11-slim"), "deprecated");
    CHECK_STR_EQ(CLASS("debian:12"), "non-golden");
    CHECK_STR_EQ(CLASS("docker.io/library/python:3.12.4-slim"), "golden");
    CHECK_STR_EQ(CLASS("python:3.11-slim"), "golden");
    CHECK_STR_EQ(CLASS("python:3.13.0-slim"), "non-golden");
    CHECK_STR_EQ(CLASS("python:3.12.4"), "non-golden");
    CHECK_STR_EQ(CLASS("ghcr.io/library/python:3.12.4-slim"), "non-golden");
    CHECK_STR_EQ(CLASS("not a ref"), "non-golden");
#undef CLASS
    CHECK_STR_EQ(
        strata_catalog_team_of(w.cat, "registry.example.com/acme/api:latest"),
        "Payments, \"Core\"");
    CHECK(strata_catalog_team_of(w.cat, "registry.example.com/x:1") == NULL);
    world_release(&w);
}

TEST(catalog_problems)
{
    static const char *const expected[] = {
        "3:14: 'max_age' must be a duration such as 12h, 7d or 1h30m, not "
        "'soon'",
        "4:5: unknown key 'ownerz'",
        "6:16: a deprecated entry needs a 'replacement'",
        "7:13: 'sunset' must be a date YYYY-MM-DD, not '2026-02-30'",
        "8:10: an entry with a 'policy' names a repository without a tag, "
        "not 'python:3.12'",
        "9:22: invalid semver range",
        "10:5: duplicate entry 'docker.io/library/debian:12-slim' (first at "
        "line 2)",
        "11:10: 'ref' must name a tag, not pin a digest",
        "12:5: replacement 'docker.io/library/alpine:9.9' is not in the "
        "catalog",
        "16:5: entry needs a 'ref'",
    };
    strata_config_problems *p = strata_config_problems_new();
    strata_catalog *cat = NULL;
    strata_error err = {0};
    size_t i, n = sizeof(expected) / sizeof(expected[0]);
    char want[2048];

    CHECK_EQ(strata_catalog_load(&cat, fixture("bad-catalog.yaml"), p, &err),
             STRATA_EINVAL);
    CHECK(cat == NULL);
    for (i = 0; i < strata_config_problems_count(p); i++)
        printf("# %s\n", strata_config_problems_get(p, i)->text);
    CHECK_EQ(strata_config_problems_count(p), n);
    for (i = 0; i < n; i++) {
        const strata_config_problem *pr = strata_config_problems_get(p, i);
        snprintf(want, sizeof(want), "%s:%s", fixture("bad-catalog.yaml"),
                 expected[i]);
        CHECK_CONTAINS(pr->text, want);
        CHECK(strncmp(pr->text, fixture("bad-catalog.yaml"),
                      strlen(fixture("bad-catalog.yaml"))) == 0);
    }
    CHECK_CONTAINS(err.msg, "has 10 problems, first: ");
    strata_config_problems_free(p);
}

TEST(catalog_yaml_errors)
{
    strata_config_problems *p = strata_config_problems_new();
    strata_catalog *cat = NULL;
    strata_error err = {0};
    const char *yaml = "bases:\n  - ref: [unclosed\n";
    const char *yaml2 = "bases:\n  - ref: a:1\n    signing_key: nope.pub\n"
                        "teams: {x: 1}\n";

    CHECK_EQ(strata_catalog_load_string(&cat, yaml, strlen(yaml), "c.yaml", "/",
                                        p, &err),
             STRATA_EINVAL);
    CHECK_EQ(strata_config_problems_count(p), 1);
    CHECK_CONTAINS(strata_config_problems_get(p, 0)->text,
                   "c.yaml:3:1: invalid YAML: ");
    strata_config_problems_free(p);
    p = strata_config_problems_new();
    CHECK_EQ(strata_catalog_load_string(&cat, yaml2, strlen(yaml2), "c.yaml",
                                        "/nonexistent", p, &err),
             STRATA_EINVAL);
    CHECK_EQ(strata_config_problems_count(p), 2);
    CHECK_STR_EQ(strata_config_problems_get(p, 0)->text,
                 "c.yaml:3:18: cannot open '/nonexistent/nope.pub': No such "
                 "file or directory");
    CHECK_STR_EQ(strata_config_problems_get(p, 1)->text,
                 "c.yaml:4:8: 'teams' must be a list");
    strata_config_problems_free(p);
    /* An empty catalog, and a missing file. */
    p = strata_config_problems_new();
    CHECK_EQ(
        strata_catalog_load_string(&cat, "bases: []\n", 10, "e", NULL, p, &err),
        0);
    CHECK_EQ(strata_catalog_count(cat), 0);
    strata_catalog_free(cat);
    CHECK_EQ(strata_catalog_load(&cat, "/nonexistent/c.yaml", p, &err),
             STRATA_ENOTFOUND);
    strata_config_problems_free(p);
    strata_catalog_free(NULL);
}

/* ---- the stale report ------------------------------------------------- */

TEST(stale_rows)
{
    world w;
    json_t *r;
    const json_t *row, *sum;

    world_init(&w);
    r = world_report(&w, NULL);
    CHECK_STR_EQ(sfield(r, "schema"), "strata.report.stale/v1");
    CHECK_STR_EQ(sfield(r, "generated"), "2026-01-31T00:00:00Z");
    CHECK_EQ(json_array_size(json_object_get(r, "rows")), 7);
    CHECK(json_is_null(json_object_get(r, "unmatched_running")));

    row = row_of(r, "registry.example.com/acme/payments:latest");
    CHECK_STR_EQ(sfield(row, "base"), "docker.io/library/debian:12-slim");
    CHECK_STR_EQ(sfield(row, "built_on"), D("a"));
    CHECK_STR_EQ(sfield(row, "current"), D("c"));
    CHECK_EQ(ifield(row, "updates_behind"), 2);
    CHECK_EQ(ifield(row, "days_behind"), 20);
    CHECK_STR_EQ(sfield(row, "behind_since"), "2026-01-11T00:00:00Z");
    CHECK_STR_EQ(sfield(row, "status"), "stale");
    CHECK(json_is_null(json_object_get(row, "reason")));
    CHECK_STR_EQ(sfield(row, "class"), "golden");
    CHECK_STR_EQ(sfield(row, "tier"), "gold");
    CHECK_STR_EQ(sfield(row, "team"), "Payments, \"Core\"");
    CHECK_EQ(json_array_size(json_object_get(row, "base_owners")), 2);
    CHECK_STR_EQ(sfield(row, "repo"), "https://git.example.com/acme/mono.git");
    CHECK_STR_EQ(sfield(row, "path"), "Dockerfile");
    CHECK_EQ(ifield(row, "line"), 3);
    CHECK_STR_EQ(sfield(row, "image_kind"), "image");
    CHECK_STR_EQ(sfield(row, "watch"), "docker.io/library/debian:12-slim");
    CHECK(json_is_null(json_object_get(row, "running")));

    row = row_of(r, "registry.example.com/acme/api:latest");
    CHECK_EQ(ifield(row, "updates_behind"), 0);
    CHECK_EQ(ifield(row, "days_behind"), 0);
    CHECK(json_is_null(json_object_get(row, "behind_since")));
    CHECK_STR_EQ(sfield(row, "status"), "current");

    row = row_of(r, "registry.example.com/acme/batch:latest");
    CHECK(json_is_null(json_object_get(row, "updates_behind")));
    CHECK(json_is_null(json_object_get(row, "days_behind")));
    CHECK_STR_EQ(sfield(row, "status"), "unknown");
    CHECK_STR_EQ(sfield(row, "reason"), "built-on digest never seen");

    row = row_of(r, "registry.example.com/acme/web:latest");
    CHECK_STR_EQ(sfield(row, "status"), "current");
    CHECK_STR_EQ(sfield(row, "team"), "<b>web</b> & co");

    row = row_of(r, "registry.example.com/acme/legacy:latest");
    CHECK_STR_EQ(sfield(row, "built_on"), "unpinned");
    CHECK_STR_EQ(sfield(row, "status"), "unknown");
    CHECK_STR_EQ(sfield(row, "reason"), "base never checked");
    CHECK_STR_EQ(sfield(row, "class"), "deprecated");
    CHECK_STR_EQ(sfield(row, "sunset"), "2026-06-30");
    CHECK_STR_EQ(sfield(row, "replacement"),
                 "docker.io/library/debian:12-slim");
    CHECK(json_is_null(json_object_get(row, "team")));

    row = row_of(r, "registry.example.com/acme/tool:latest");
    CHECK_STR_EQ(sfield(row, "watch"), "docker.io/library/python");
    CHECK_STR_EQ(sfield(row, "current"), D("6"));
    CHECK_EQ(ifield(row, "updates_behind"), 1);
    CHECK_EQ(ifield(row, "days_behind"), 5);
    CHECK_STR_EQ(sfield(row, "status"), "behind");
    CHECK_STR_EQ(sfield(row, "class"), "golden");

    row = row_of(r, "registry.example.com/acme/odd:latest");
    CHECK(json_is_null(json_object_get(row, "watch")));
    CHECK(json_is_null(json_object_get(row, "current")));
    CHECK_STR_EQ(sfield(row, "reason"), "base not watched");
    CHECK_STR_EQ(sfield(row, "class"), "non-golden");

    /* Rows are sorted by image, then base. */
    CHECK_STR_EQ(sfield(json_array_get(json_object_get(r, "rows"), 0), "image"),
                 "registry.example.com/acme/api:latest");

    sum = json_object_get(r, "summary");
    CHECK_EQ(ifield(sum, "images"), 7);
    CHECK_EQ(ifield(sum, "rows"), 7);
    CHECK_EQ(ifield(sum, "stale"), 1);
    CHECK_EQ(ifield(sum, "behind"), 1);
    CHECK_EQ(ifield(sum, "current"), 2);
    CHECK_EQ(ifield(sum, "unknown"), 3);
    CHECK_EQ(ifield(sum, "golden"), 5);
    CHECK_EQ(ifield(sum, "non-golden"), 1);
    CHECK_EQ(ifield(sum, "deprecated"), 1);
    CHECK(strata_report_has_stale(r));
    json_decref(r);
    world_release(&w);
}

/*
 * registries[].aliases: a base watched, and listed in the catalog, under
 * a mirror's name is the base the graph has under its upstream's name.
 * Without the aliases the same rows say the base is not watched.
 */
TEST(stale_through_a_mirror)
{
    static const char yaml[] =
        "registries:\n"
        "  - {host: docker.io, aliases: [mirror.gcr.io]}\n";
    static const char catalog[] = "bases:\n"
                                  "  - ref: mirror.gcr.io/library/redis:7\n"
                                  "    tier: gold\n"
                                  "    max_age: 7d\n";
    const char *mirror = "mirror.gcr.io/library/redis:7";
    strata_report_options opts = {0};
    strata_config *config = NULL;
    strata_error err = {0};
    const json_t *row;
    json_t *r = NULL;
    world w;

    world_init(&w);
    strata_catalog_free(w.cat);
    w.cat = NULL;
    CHECK_OK(strata_catalog_load_string(&w.cat, catalog, strlen(catalog),
                                        "catalog.yaml", "/", NULL, &err),
             &err);
    CHECK_OK(strata_config_load_string(&config, yaml, strlen(yaml), "t.yaml",
                                       "/", NULL, &err),
             &err);
    CHECK_OK(strata_store_watch_add(NULL, w.st, mirror, NULL, &err), &err);
    observe(w.st, &w.clk, T0, mirror, D("7"), NULL);
    observe(w.st, &w.clk, T0 + 10 * DAY, mirror, D("8"), NULL);
    edge(w.g, "registry.example.com/acme/cache:latest",
         "docker.io/library/redis:7", D("7"), 1);
    opts.catalog = w.cat;
    opts.now_ms = T0 + 30 * DAY;
    opts.cfg = strata_config_data_get(config);
    CHECK_OK(strata_report_stale(&r, w.st, w.g, &opts, &err), &err);
    row = row_of(r, "registry.example.com/acme/cache:latest");
    CHECK_STR_EQ(sfield(row, "base"), "docker.io/library/redis:7");
    CHECK_STR_EQ(sfield(row, "watch"), mirror);
    CHECK_STR_EQ(sfield(row, "current"), D("8"));
    CHECK_EQ(ifield(row, "updates_behind"), 1);
    CHECK_STR_EQ(sfield(row, "status"), "stale");
    CHECK_STR_EQ(sfield(row, "class"), "golden");
    CHECK_STR_EQ(sfield(row, "tier"), "gold");
    json_decref(r);

    opts.cfg = NULL;
    CHECK_OK(strata_report_stale(&r, w.st, w.g, &opts, &err), &err);
    row = row_of(r, "registry.example.com/acme/cache:latest");
    CHECK_STR_EQ(sfield(row, "reason"), "base not watched");
    CHECK_STR_EQ(sfield(row, "class"), "non-golden");
    json_decref(r);
    strata_config_free(config);
    world_release(&w);
}

TEST(stale_soak_and_max_age)
{
    strata_report_options opts = {0};
    strata_error err = {0};
    world w;
    json_t *r;

    world_init(&w);
    opts.catalog = w.cat;
    /* 7 days after b appeared: under soak 1d + max_age 7d, so behind. */
    opts.now_ms = T0 + 17 * DAY;
    CHECK_OK(strata_report_stale(&r, w.st, w.g, &opts, &err), &err);
    CHECK_STR_EQ(sfield(row_of(r, "registry.example.com/acme/payments:latest"),
                        "status"),
                 "behind");
    CHECK_EQ(ifield(row_of(r, "registry.example.com/acme/payments:latest"),
                    "days_behind"),
             7);
    CHECK(!strata_report_has_stale(r));
    json_decref(r);
    /* Without a catalog any update behind is stale, and nothing golden. */
    opts.catalog = NULL;
    CHECK_OK(strata_report_stale(&r, w.st, w.g, &opts, &err), &err);
    CHECK_STR_EQ(sfield(row_of(r, "registry.example.com/acme/payments:latest"),
                        "status"),
                 "stale");
    CHECK_EQ(ifield(json_object_get(r, "summary"), "non-golden"), 7);
    json_decref(r);
    world_release(&w);
}

TEST(stale_from_store_graph)
{
    strata_store_edge e = {0};
    strata_report_options opts = {0};
    strata_error err = {0};
    int64_t child, parent;
    world w;
    json_t *r;
    strata_graph *g = NULL;

    world_init(&w);
    CHECK_OK(strata_store_graph_upsert_node(
                 &parent, w.st, STRATA_STORE_NODE_BASE,
                 "docker.io/library/alpine:3.20", NULL, NULL, NULL, &err),
             &err);
    CHECK_OK(strata_store_graph_upsert_node(
                 &child, w.st, STRATA_STORE_NODE_IMAGE,
                 "registry.example.com/acme/web:latest", D("1"),
                 "https://git.example.com/acme/web.git", "Dockerfile", &err),
             &err);
    e.child = child;
    e.parent = parent;
    e.line = 4;
    e.method = STRATA_STORE_EDGE_DOCKERFILE;
    e.confidence = 1.0;
    e.repo = "https://git.example.com/acme/web.git";
    e.path = "Dockerfile";
    CHECK_OK(strata_store_graph_add_edge(w.st, &e, &err), &err);
    CHECK_OK(strata_graph_load(&g, w.st, &err), &err);
    CHECK_EQ(strata_graph_node_count(g), 2);
    CHECK_EQ(strata_graph_edge_count(g), 1);
    strata_graph_free(g);
    opts.catalog = w.cat;
    opts.now_ms = T0 + 30 * DAY;
    CHECK_OK(strata_report_stale(&r, w.st, NULL, &opts, &err), &err);
    CHECK_EQ(json_array_size(json_object_get(r, "rows")), 1);
    CHECK_STR_EQ(
        sfield(row_of(r, "registry.example.com/acme/web:latest"), "built_on"),
        "unpinned");
    CHECK_EQ(ifield(row_of(r, "registry.example.com/acme/web:latest"), "line"),
             4);
    json_decref(r);
    world_release(&w);
}

/* Adds the store edge child -> parent found by method (lineage or not). */
static void
lineage(strata_store *st, const char *child, const char *parent,
        strata_store_edge_method method, const char *digest, int confidence)
{
    strata_graph_lineage l = {0};
    strata_error err = {0};

    l.child = child;
    l.parent = parent;
    l.digest = digest;
    l.method = method;
    l.confidence = confidence;
    CHECK_OK(strata_graph_add_lineage(st, &l, &err), &err);
}

/*
 * Built-on digests learnt from registries (annotation, layers), through
 * strata_graph_load: folded into the Dockerfile edge of the same image and
 * base, or a row of their own; a pin wins over both; a platform digest of
 * a multi-arch base counts as its index.
 */
TEST(stale_registry_lineage)
{
    const char *debian = "docker.io/library/debian:12-slim";
    strata_store_observation obs = {0};
    strata_report_options opts = {0};
    strata_store_edge e = {0};
    strata_error err = {0};
    strata_graph *g = NULL;
    json_t *r, *platforms;
    const json_t *row;
    int64_t child, parent;
    world w;

    world_init(&w);
    /* c's linux/amd64 manifest is 9 (re-observed: first_seen is kept). */
    platforms = json_pack("{s:s}", "linux/amd64", D("9"));
    w.clk.now = T0 + 21 * DAY;
    obs.ref = debian;
    obs.digest = D("c");
    obs.platforms = platforms;
    CHECK_OK(strata_store_watch_observe(NULL, NULL, w.st, &obs, &err), &err);
    json_decref(platforms);

    /* svc: an unpinned FROM, and an annotation naming b. */
    CHECK_OK(strata_store_graph_upsert_node(&parent, w.st,
                                            STRATA_STORE_NODE_BASE, debian,
                                            NULL, NULL, NULL, &err),
             &err);
    CHECK_OK(strata_store_graph_upsert_node(
                 &child, w.st, STRATA_STORE_NODE_IMAGE,
                 "registry.example.com/acme/svc:1", NULL,
                 "https://git.example.com/acme/svc.git", "Dockerfile", &err),
             &err);
    e.child = child;
    e.parent = parent;
    e.line = 2;
    e.method = STRATA_STORE_EDGE_DOCKERFILE;
    e.confidence = 1.0;
    e.repo = "https://git.example.com/acme/svc.git";
    e.path = "Dockerfile";
    CHECK_OK(strata_store_graph_add_edge(w.st, &e, &err), &err);
    lineage(w.st, "registry.example.com/acme/svc:1", debian,
            STRATA_STORE_EDGE_ANNOTATION, D("b"), 100);
    /* blob: only its layers say it is on a. */
    lineage(w.st, "registry.example.com/acme/blob:1", debian,
            STRATA_STORE_EDGE_LAYERS, D("a"), 90);
    /* both: the annotation (c's amd64 manifest) wins over the layers. */
    lineage(w.st, "registry.example.com/acme/both:1", debian,
            STRATA_STORE_EDGE_LAYERS, D("a"), 90);
    lineage(w.st, "registry.example.com/acme/both:1", debian,
            STRATA_STORE_EDGE_ANNOTATION, D("9"), 100);
    /* gone: a layer match a later read retracted (confidence 0). */
    lineage(w.st, "registry.example.com/acme/gone:1", debian,
            STRATA_STORE_EDGE_LAYERS, D("a"), 90);
    lineage(w.st, "registry.example.com/acme/gone:1", debian,
            STRATA_STORE_EDGE_LAYERS, NULL, 0);

    CHECK_OK(strata_graph_load(&g, w.st, &err), &err);
    opts.now_ms = T0 + 30 * DAY;
    CHECK_OK(strata_report_stale(&r, w.st, g, &opts, &err), &err);
    CHECK_EQ(json_array_size(json_object_get(r, "rows")), 3);
    {
        const json_t *x;
        size_t i;

        json_array_foreach (json_object_get(r, "rows"), i, x)
            CHECK(
                strcmp(sfield(x, "image"), "registry.example.com/acme/gone:1"));
    }

    row = row_of(r, "registry.example.com/acme/svc:1");
    CHECK_STR_EQ(sfield(row, "base"), debian);
    CHECK_STR_EQ(sfield(row, "built_on"), D("b"));
    CHECK_STR_EQ(sfield(row, "built_on_from"), "annotation");
    CHECK_STR_EQ(sfield(row, "repo"), "https://git.example.com/acme/svc.git");
    CHECK_EQ(ifield(row, "line"), 2);
    CHECK_STR_EQ(sfield(row, "current"), D("c"));
    CHECK_EQ(ifield(row, "updates_behind"), 1);
    CHECK_EQ(ifield(row, "days_behind"), 10);
    CHECK_STR_EQ(sfield(row, "behind_since"), "2026-01-21T00:00:00Z");
    CHECK_STR_EQ(sfield(row, "status"), "stale");
    CHECK(json_is_null(json_object_get(row, "reason")));

    row = row_of(r, "registry.example.com/acme/blob:1");
    CHECK_STR_EQ(sfield(row, "built_on"), D("a"));
    CHECK_STR_EQ(sfield(row, "built_on_from"), "layers");
    CHECK(json_is_null(json_object_get(row, "repo")));
    CHECK(json_is_null(json_object_get(row, "path")));
    CHECK_EQ(ifield(row, "line"), 0);
    CHECK_EQ(ifield(row, "updates_behind"), 2);
    CHECK_EQ(ifield(row, "days_behind"), 20);

    row = row_of(r, "registry.example.com/acme/both:1");
    CHECK_STR_EQ(sfield(row, "built_on"), D("9"));
    CHECK_STR_EQ(sfield(row, "built_on_from"), "annotation");
    CHECK_EQ(ifield(row, "updates_behind"), 0);
    CHECK_STR_EQ(sfield(row, "status"), "current");
    json_decref(r);
    strata_graph_free(g);

    /* In memory: a pin wins over the annotation of the same edge. */
    g = strata_graph_new();
    edge(g, "registry.example.com/acme/pinned:1", debian, D("a"), 1);
    {
        strata_graph_edge_info info = {0};

        info.method = "annotation";
        info.confidence = 100;
        info.digest = D("c");
        strata_graph_add_edge(g, "registry.example.com/acme/pinned:1", debian,
                              &info);
    }
    CHECK_OK(strata_report_stale(&r, w.st, g, &opts, &err), &err);
    CHECK_EQ(json_array_size(json_object_get(r, "rows")), 1);
    row = row_of(r, "registry.example.com/acme/pinned:1");
    CHECK_STR_EQ(sfield(row, "built_on"), D("a"));
    CHECK_STR_EQ(sfield(row, "built_on_from"), "pin");
    CHECK_EQ(ifield(row, "updates_behind"), 2);
    json_decref(r);
    strata_graph_free(g);
    world_release(&w);
}

/* ---- running images --------------------------------------------------- */

TEST(running_list)
{
    strata_report_running *run = NULL;
    strata_error err = {0};
    const json_t *un;
    world w;
    json_t *r;

    CHECK_OK(strata_report_running_load(&run, fixture("running.txt"), &err),
             &err);
    CHECK_EQ(strata_report_running_count(run), 3);
    world_init(&w);
    r = world_report(&w, run);
    /* payments runs (another tag); web runs (by name, with a digest). */
    CHECK_EQ(json_array_size(json_object_get(r, "rows")), 2);
    CHECK_CONTAINS(
        json_string_value(json_array_get(
            json_object_get(
                row_of(r, "registry.example.com/acme/payments:latest"),
                "running"),
            0)),
        "running.txt:2");
    un = json_object_get(r, "unmatched_running");
    CHECK_EQ(json_array_size(un), 1);
    CHECK_STR_EQ(sfield(json_array_get(un, 0), "ref"), "quay.io/other/thing:2");
    CHECK_CONTAINS(sfield(json_array_get(un, 0), "where"), "running.txt:5");
    json_decref(r);
    strata_report_running_free(run);
    world_release(&w);
    /* A bad line names the file and line. */
    CHECK_EQ(
        strata_report_running_parse(&run, "ok:1\nNOT A REF\n", 15, "f", &err),
        STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "f:2: ");
}

TEST(running_kubectl)
{
    strata_report_running *run = NULL;
    strata_error err = {0};
    const json_t *where;
    world w;
    json_t *r;

    CHECK_OK(strata_report_running_load(&run, fixture("pods.json"), &err),
             &err);
    CHECK_EQ(strata_report_running_count(run), 3);
    world_init(&w);
    r = world_report(&w, run);
    CHECK_EQ(json_array_size(json_object_get(r, "rows")), 2);
    where = json_object_get(row_of(r, "registry.example.com/acme/tool:latest"),
                            "running");
    CHECK_STR_EQ(json_string_value(json_array_get(where, 0)),
                 "shop/payments-7d4b9/init:migrate");
    where = json_object_get(
        row_of(r, "registry.example.com/acme/payments:latest"), "running");
    CHECK_STR_EQ(json_string_value(json_array_get(where, 0)),
                 "shop/payments-7d4b9/app");
    CHECK_EQ(json_array_size(json_object_get(r, "unmatched_running")), 1);
    CHECK_STR_EQ(
        sfield(json_array_get(json_object_get(r, "unmatched_running"), 0),
               "where"),
        "kube-system/coredns-1/coredns");
    json_decref(r);
    strata_report_running_free(run);
    world_release(&w);
    CHECK_EQ(
        strata_report_running_parse(&run, "{\"items\": 3}", 12, "p.json", &err),
        STRATA_EINVAL);
    CHECK_EQ(
        strata_report_running_parse(&run, "{\"items\": [", 11, "p.json", &err),
        STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "p.json:1:");
}

/* ---- renderers -------------------------------------------------------- */

static char *
render(const json_t *r, strata_report_format f, int color)
{
    strata_buf b = STRATA_BUF_INIT;

    strata_report_render(&b, r, f, color);
    return strata_buf_detach(&b);
}

TEST(render_csv_quotes)
{
    world w;
    json_t *r;
    char *csv;

    world_init(&w);
    r = world_report(&w, NULL);
    csv = render(r, STRATA_REPORT_CSV, 0);
    CHECK(strncmp(csv,
                  "image,base,built_on,current,updates_behind,days_behind,"
                  "status,class,team,reason,tier,base_owners,sunset,"
                  "replacement,repo,path,line,running\r\n",
                  strlen("image,base,built_on,")) == 0);
    CHECK_CONTAINS(
        csv, "\r\nregistry.example.com/acme/payments:latest,"
             "docker.io/library/debian:12-slim," D("a") "," D(
                 "c") ",2,20,stale,golden,\"Payments, \"\"Core\"\"\",,gold,"
                      "platform security,,,"
                      "https://git.example.com/acme/mono.git,Dockerfile,3,,"
                      "\r\n");
    /* Seven rows and a header, each ended by CRLF. */
    {
        size_t n = 0;
        const char *p = csv;
        while ((p = strstr(p, "\r\n")) != NULL) {
            n++;
            p += 2;
        }
        CHECK_EQ(n, 8);
    }
    free(csv);
    json_decref(r);
    world_release(&w);
}

/* Keeps a package database for digest, as packages/ stores one. */
static void
keep_packages(strata_store *st, const char *digest, const char *libc,
              const char *bash)
{
    strata_error err = {0};
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:[{s:s, s:s, s:s}, "
        "{s:s, s:s, s:s}]}",
        "digest", digest, "platform", "linux/amd64", "ecosystem", "dpkg",
        "os_id", "debian", "os_version_id", "12", "os_pretty",
        "Debian GNU/Linux 12 (bookworm)", "compressed_size", (json_int_t) 1,
        "uncompressed_size", (json_int_t) 2, "packages", "name", "bash",
        "version", bash, "arch", "amd64", "name", "libc6", "version", libc,
        "arch", "amd64");
    char *body;
    strata_pkg_image *img = NULL;

    CHECK(j != NULL);
    /* The form packages/ writes: checked by reading it back. */
    CHECK_OK(strata_pkg_image_from_json(&img, j, &err), &err);
    strata_pkg_image_free(img);
    body = json_dumps(j, JSON_COMPACT);
    CHECK_OK(strata_store_pkgdb_put(st, digest, "linux/amd64", body, &err),
             &err);
    free(body);
    json_decref(j);
}

TEST(stale_rows_say_what_they_miss)
{
    world w;
    json_t *r, *row, *payments = NULL;
    char *s;
    size_t i;

    world_init(&w);
    keep_packages(w.st, D("a"), "2.36-9", "5.2.15-2");
    keep_packages(w.st, D("c"), "3.0-1", "5.2.15-3");
    r = world_report(&w, NULL);
    json_array_foreach (json_object_get(r, "rows"), i, row) {
        const char *img = json_string_value(json_object_get(row, "image"));

        if (strcmp(img, "registry.example.com/acme/payments:latest") == 0)
            payments = row;
        else /* the others: current, unknown, or packages not kept */
            CHECK(json_is_null(json_object_get(row, "missing")));
    }
    CHECK(payments != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(payments, "missing")),
                 "2 packages upgraded, 0 added, no removals; Debian GNU/Linux "
                 "12 (bookworm)");
    CHECK(json_is_true(json_object_get(payments, "missing_major")));
    s = render(r, STRATA_REPORT_TABLE, 0);
    CHECK_CONTAINS(s, "\nregistry.example.com/acme/payments:latest misses: 2 "
                      "packages upgraded, 0 added, no removals; Debian "
                      "GNU/Linux 12 (bookworm) (major)\n7 images, 1 stale");
    free(s);
    s = render(r, STRATA_REPORT_HTML, 0);
    CHECK_CONTAINS(s, "Missing packages");
    CHECK_CONTAINS(s, "2 packages upgraded, 0 added, no removals;");
    free(s);
    s = render(r, STRATA_REPORT_CSV, 0);
    CHECK_CONTAINS(s, "Dockerfile,3,,\"2 packages upgraded, 0 added, no "
                      "removals; Debian GNU/Linux 12 (bookworm)\"\r\n");
    free(s);
    json_decref(r);
    world_release(&w);
}

TEST(render_table_md_json)
{
    world w;
    json_t *r, *back;
    char *s;

    world_init(&w);
    r = world_report(&w, NULL);
    s = render(r, STRATA_REPORT_TABLE, 0);
    CHECK(strncmp(s, "IMAGE ", 6) == 0);
    CHECK(strstr(s, "\033[") == NULL);
    CHECK_CONTAINS(s, "sha256:aaaaaaaaaaaa  sha256:cccccccccccc  2       20 ");
    CHECK_CONTAINS(s, "7 images, 1 stale, 1 behind, 2 current, 3 unknown\n");
    free(s);
    s = render(r, STRATA_REPORT_TABLE, 1);
    CHECK_CONTAINS(s, "\033[31mstale\033[0m");
    CHECK_CONTAINS(s, "\033[35mdeprecated\033[0m");
    free(s);
    s = render(r, STRATA_REPORT_MD, 0);
    CHECK_CONTAINS(s, "| IMAGE | BASE | BUILT ON |");
    CHECK_CONTAINS(s, "| --- | --- | --- | --- | ---: | ---: |");
    CHECK_CONTAINS(s, "\\<b>web\\</b> & co |");
    CHECK_CONTAINS(s, "**1 stale**");
    free(s);
    s = render(r, STRATA_REPORT_JSON, 0);
    back = json_loads(s, 0, NULL);
    CHECK(back != NULL);
    CHECK(json_equal(back, r));
    json_decref(back);
    free(s);
    json_decref(r);
    world_release(&w);
}

TEST(render_html_escapes)
{
    world w;
    json_t *r;
    char *s;

    world_init(&w);
    r = world_report(&w, NULL);
    s = render(r, STRATA_REPORT_HTML, 0);
    CHECK(strncmp(s, "<!DOCTYPE html>", 15) == 0);
    CHECK(strstr(s, "<b>web</b>") == NULL);
    CHECK_CONTAINS(s, "&lt;b&gt;web&lt;/b&gt; &amp; co");
    CHECK_CONTAINS(s, "Payments, &quot;Core&quot;");
    /* Self-contained: no external scripts, styles or images. */
    CHECK(strstr(s, "src=") == NULL);
    CHECK(strstr(s, "href=") == NULL);
    CHECK(strstr(s, "@import") == NULL);
    CHECK_CONTAINS(s, "<svg");
    CHECK_CONTAINS(s, "id=\"chart-base\"");
    CHECK_CONTAINS(s, "id=\"chart-team\"");
    CHECK_CONTAINS(s, "<th data-key=\"days\" data-type=\"num\"");
    CHECK_CONTAINS(s, "data-v=\"20\"");
    free(s);
    json_decref(r);
    world_release(&w);
}

TEST(prometheus_gauges)
{
    strata_buf b = STRATA_BUF_INIT;
    world w;
    json_t *r;

    world_init(&w);
    r = world_report(&w, NULL);
    strata_report_prometheus(&b, r);
    CHECK_CONTAINS(strata_buf_cstr(&b),
                   "# TYPE strata_image_base_updates_behind gauge\n");
    CHECK_CONTAINS(
        strata_buf_cstr(&b),
        "strata_image_base_updates_behind{image=\"registry.example.com/acme/"
        "payments:latest\",base=\"docker.io/library/debian:12-slim\"} 2\n");
    CHECK_CONTAINS(
        strata_buf_cstr(&b),
        "strata_image_base_days_behind{image=\"registry.example.com/acme/"
        "tool:latest\",base=\"docker.io/library/python:3.12.4-slim\"} 5\n");
    CHECK_CONTAINS(strata_buf_cstr(&b),
                   "strata_image_base_stale{image=\"registry.example.com/acme/"
                   "batch:latest\",base=\"docker.io/library/debian:12-slim\"} "
                   "0\n");
    /* Unknown staleness gives no sample. */
    CHECK(strstr(strata_buf_cstr(&b),
                 "strata_image_base_updates_behind{image=\"registry.example."
                 "com/acme/batch") == NULL);
    strata_buf_release(&b);
    json_decref(r);
    world_release(&w);
}

TEST(formats)
{
    strata_report_format f;

    CHECK_EQ(strata_report_parse_format(&f, "md"), 0);
    CHECK_EQ(f, STRATA_REPORT_MD);
    CHECK_EQ(strata_report_parse_format(&f, "html"), 0);
    CHECK_EQ(f, STRATA_REPORT_HTML);
    CHECK_EQ(strata_report_parse_format(&f, "xml"), STRATA_EINVAL);
}

/* ---- catalog status and check ----------------------------------------- */

TEST(catalog_status_and_check)
{
    strata_error err = {0};
    json_t *status = NULL, *bad = NULL, *o;
    world w;

    world_init(&w);
    CHECK_OK(strata_catalog_STATUS(&status, w.st, w.g, w.cat, &err), &err);
    CHECK_EQ(json_array_size(status), 4);
    o = json_array_get(status, 0);
    CHECK_STR_EQ(sfield(o, "ref"), "docker.io/library/debian:12-slim");
    CHECK_STR_EQ(sfield(o, "current_digest"), D("c"));
    CHECK_STR_EQ(sfield(o, "changed"), "2026-01-21T00:00:00Z");
    CHECK_EQ(ifield(o, "images"), 3);
    /* payments, api, batch, and app built on payments. */
    CHECK_EQ(ifield(o, "descendants"), 4);
    o = json_array_get(status, 1);
    CHECK_STR_EQ(sfield(o, "lifecycle"), "deprecated");
    CHECK(json_is_null(json_object_get(o, "current_digest")));
    CHECK_EQ(ifield(o, "images"), 1);
    o = json_array_get(status, 3);
    CHECK_STR_EQ(sfield(o, "watch"), "docker.io/library/python");
    CHECK_STR_EQ(sfield(o, "current_digest"), D("6"));
    CHECK_EQ(ifield(o, "images"), 1);
    json_decref(status);

    CHECK_OK(strata_catalog_CHECK(&bad, w.g, w.cat, &err), &err);
    CHECK_EQ(json_array_size(bad), 2);
    o = json_array_get(bad, 0);
    CHECK_STR_EQ(sfield(o, "image"), "registry.example.com/acme/legacy:latest");
    CHECK_STR_EQ(sfield(o, "class"), "deprecated");
    CHECK_STR_EQ(sfield(o, "replacement"), "docker.io/library/debian:12-slim");
    o = json_array_get(bad, 1);
    CHECK_STR_EQ(sfield(o, "image"), "registry.example.com/acme/odd:latest");
    CHECK_STR_EQ(sfield(o, "class"), "non-golden");
    json_decref(bad);
    world_release(&w);
}

/* ---- the CLI ---------------------------------------------------------- */

static int
run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(cli_exit_codes)
{
    const char *exe = getenv("STRATA_EXE");
    char dir[] = "/tmp/strata-report-XXXXXX", cmd[8192], path[1024];
    strata_store *st = NULL;
    strata_store_edge e = {0};
    strata_error err = {0};
    int64_t c, p;
    FILE *f;

    if (exe == NULL) {
        printf("# STRATA_EXE not set; CLI checks skipped\n");
        return;
    }
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/strata.db", dir);
    CHECK_OK(strata_store_open(&st, path, &err), &err);
    CHECK_OK(strata_store_graph_upsert_node(&p, st, STRATA_STORE_NODE_BASE,
                                            "docker.io/library/debian:11-slim",
                                            NULL, NULL, NULL, &err),
             &err);
    CHECK_OK(strata_store_graph_upsert_node(&c, st, STRATA_STORE_NODE_IMAGE,
                                            "registry.example.com/acme/x:1",
                                            NULL, "r", "Dockerfile", &err),
             &err);
    e.child = c;
    e.parent = p;
    e.line = 1;
    e.confidence = 1;
    CHECK_OK(strata_store_graph_add_edge(st, &e, &err), &err);
    strata_store_close(st);
    snprintf(path, sizeof(path), "%s/strata.yaml", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f, "state: ./strata.db\ncatalog: %s\n", fixture("catalog.yaml"));
    fclose(f);

#define STRATA(args)                                                           \
    (snprintf(cmd, sizeof(cmd), "'%s' -c '%s' %s", exe, path, args), run(cmd))
    CHECK_EQ(STRATA("catalog list >/dev/null"), 0);
    CHECK_EQ(STRATA("catalog status --format json >/dev/null"), 0);
    CHECK_EQ(STRATA("catalog check >/dev/null"), 1);
    CHECK_EQ(STRATA("report stale --format json >/dev/null"), 0);
    /* The store's edges carry no pinned digest: unknown, never stale. */
    CHECK_EQ(STRATA("report stale --format csv --fail-on stale >/dev/null"), 0);
    CHECK_EQ(STRATA("report stale --format xml 2>/dev/null"), 2);
    CHECK_EQ(STRATA("report stale --fail-on everything 2>/dev/null"), 2);
    snprintf(cmd, sizeof(cmd),
             "'%s' -c '%s' catalog check --catalog '%s' 2>&1 | "
             "grep -q 'bad-catalog.yaml:3:14: '",
             exe, path, fixture("bad-catalog.yaml"));
    CHECK_EQ(run(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "'%s' -c '%s' catalog check --catalog '%s' 2>/dev/null", exe, path,
             fixture("bad-catalog.yaml"));
    CHECK_EQ(run(cmd), 2);
    snprintf(cmd, sizeof(cmd),
             "'%s' -c '%s' report stale --running /nonexistent 2>/dev/null",
             exe, path);
    CHECK_EQ(run(cmd), 2);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_EQ(run(cmd), 0);
#undef STRATA
}

static int
write_html(const char *out)
{
    strata_buf b = STRATA_BUF_INIT;
    strata_error err = {0};
    world w;
    json_t *r;
    int rc;

    world_init(&w);
    r = world_report(&w, NULL);
    strata_report_render(&b, r, STRATA_REPORT_HTML, 0);
    rc = strata_write_file(out, b.ptr, b.len, &err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err.msg);
    strata_buf_release(&b);
    json_decref(r);
    world_release(&w);
    return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--html") == 0)
        return write_html(argv[2]);
    RUN(catalog_loads);
    RUN(catalog_classifies);
    RUN(catalog_problems);
    RUN(catalog_yaml_errors);
    RUN(stale_rows);
    RUN(stale_soak_and_max_age);
    RUN(stale_through_a_mirror);
    RUN(stale_from_store_graph);
    RUN(stale_registry_lineage);
    RUN(running_list);
    RUN(running_kubectl);
    RUN(render_csv_quotes);
    RUN(render_table_md_json);
    RUN(stale_rows_say_what_they_miss);
    RUN(render_html_escapes);
    RUN(prometheus_gauges);
    RUN(formats);
    RUN(catalog_status_and_check);
    RUN(cli_exit_codes);
    return harness_done();
}
