/*
 * test-graph.c - unit tests for the lineage graph: impacted waves over
 * chains, diamonds and uneven depths, cycles named and never looped on,
 * ancestors, a repository's nodes, and the JSON rendering read back with
 * jansson.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "graph.h"
#include "harness.h"

static strata_graph *
sample(void)
{
    strata_graph *g = strata_graph_new();
    strata_graph_edge_info e = {.repo = "file:///r/runtime",
                                .path = "Dockerfile",
                                .line = 1,
                                .method = "dockerfile",
                                .confidence = 100};

    strata_graph_add_edge(g, "reg/runtime:1", "docker.io/library/debian:12",
                          &e);
    e.repo = "file:///r/app1";
    e.line = 3;
    strata_graph_add_edge(g, "reg/app1:latest", "reg/runtime:1", &e);
    e.repo = "file:///r/app2";
    e.line = 2;
    strata_graph_add_edge(g, "reg/app2:latest", "docker.io/library/debian:12",
                          &e);
    e.repo = "file:///r/app3";
    strata_graph_add_edge(g, "reg/app3:latest", "reg/runtime:1", &e);
    return g;
}

TEST(waves_follow_depth)
{
    strata_graph *g = sample();
    strata_graph_waves *w = NULL;
    strata_error err = {0};

    CHECK_OK(strata_graph_impacted(&w, g, "docker.io/library/debian:12", &err),
             &err);
    CHECK_EQ(w->nwaves, 2);
    CHECK_EQ(w->len[0], 2);
    CHECK_EQ(w->len[1], 2);
    CHECK_STR_EQ(w->waves[0][0].image, "reg/runtime:1");
    CHECK_STR_EQ(w->waves[0][1].image, "reg/app2:latest");
    CHECK_STR_EQ(w->waves[1][0].parent, "reg/runtime:1");
    CHECK_EQ(w->waves[1][0].via.line, 3);
    CHECK(w->cycle == NULL);
    strata_graph_waves_free(w);

    CHECK_OK(strata_graph_impacted(&w, g, "reg/app1:latest", &err), &err);
    CHECK_EQ(w->nwaves, 0);
    strata_graph_waves_free(w);

    CHECK_EQ(strata_graph_impacted(&w, g, "nope:1", &err), STRATA_ENOTFOUND);
    CHECK_STR_EQ(err.msg, "no image 'nope:1' in the graph");
    CHECK(w == NULL);
    strata_graph_free(g);
}

TEST(uneven_paths_wait_for_the_longest)
{
    strata_graph *g = strata_graph_new();
    strata_graph_waves *w = NULL;
    strata_error err = {0};

    /* base -> a -> b, and base -> b directly: b comes after a. */
    strata_graph_add_edge(g, "a", "base", NULL);
    strata_graph_add_edge(g, "b", "a", NULL);
    strata_graph_add_edge(g, "b", "base", NULL);
    /* A diamond under it: b -> c, b -> d, c -> e, d -> e. */
    strata_graph_add_edge(g, "c", "b", NULL);
    strata_graph_add_edge(g, "d", "b", NULL);
    strata_graph_add_edge(g, "e", "c", NULL);
    strata_graph_add_edge(g, "e", "d", NULL);
    CHECK_OK(strata_graph_impacted(&w, g, "base", &err), &err);
    CHECK_EQ(w->nwaves, 4);
    CHECK_STR_EQ(w->waves[0][0].image, "a");
    CHECK_EQ(w->len[0], 1);
    CHECK_STR_EQ(w->waves[1][0].image, "b");
    CHECK_STR_EQ(w->waves[1][0].parent, "a");
    CHECK_EQ(w->len[2], 2);
    CHECK_STR_EQ(w->waves[3][0].image, "e");
    strata_graph_waves_free(w);
    strata_graph_free(g);
}

TEST(cycles_are_named_not_looped)
{
    strata_graph *g = strata_graph_new();
    strata_graph_waves *w = NULL;
    strata_error err = {0};
    char *cycle = NULL;

    strata_graph_add_edge(g, "a", "base", NULL);
    strata_graph_add_edge(g, "b", "a", NULL);
    strata_graph_add_edge(g, "c", "b", NULL);
    strata_graph_add_edge(g, "b", "c", NULL);
    strata_graph_add_edge(g, "d", "c", NULL);
    CHECK_OK(strata_graph_impacted(&w, g, "base", &err), &err);
    CHECK_EQ(w->nwaves, 1);
    CHECK_STR_EQ(w->waves[0][0].image, "a");
    CHECK(w->cycle != NULL);
    CHECK(strstr(w->cycle, "b") != NULL && strstr(w->cycle, "c") != NULL);
    CHECK(strstr(w->cycle, "d") == NULL);
    strata_graph_waves_free(w);

    strata_graph_find_cycle(&cycle, g);
    CHECK(cycle != NULL);
    CHECK(strcmp(cycle, "b -> c -> b") == 0 ||
          strcmp(cycle, "c -> b -> c") == 0);
    free(cycle);

    strata_graph_add_edge(g, "self", "self", NULL);
    CHECK_OK(strata_graph_impacted(&w, g, "self", &err), &err);
    CHECK_EQ(w->nwaves, 0);
    CHECK_STR_EQ(w->cycle, "self -> self");
    strata_graph_waves_free(w);
    strata_graph_free(g);

    g = sample();
    strata_graph_find_cycle(&cycle, g);
    CHECK(cycle == NULL);
    strata_graph_free(g);
}

TEST(ancestors_nearest_first)
{
    strata_graph *g = sample();
    const char **anc = NULL;
    size_t n = 0;
    strata_error err = {0};

    CHECK_OK(strata_graph_ancestors(&anc, &n, g, "reg/app1:latest", &err),
             &err);
    CHECK_EQ(n, 2);
    CHECK_STR_EQ(anc[0], "reg/runtime:1");
    CHECK_STR_EQ(anc[1], "docker.io/library/debian:12");
    free(anc);
    strata_graph_free(g);
}

/*
 * Ancestors in a diamond, a long chain and a wide graph: each once,
 * nearest first, none missed however many nodes the set must grow to.
 */
TEST(ancestors_diamond_chain_and_wide)
{
    strata_graph *g = strata_graph_new();
    const char **anc = NULL;
    size_t n = 0, i;
    char child[32], parent[32];

    /* d -> b -> a, d -> c -> a: a once. */
    strata_graph_add_edge(g, "d", "b", NULL);
    strata_graph_add_edge(g, "d", "c", NULL);
    strata_graph_add_edge(g, "b", "a", NULL);
    strata_graph_add_edge(g, "c", "a", NULL);
    CHECK_EQ(strata_graph_ancestors(&anc, &n, g, "d", NULL), 0);
    CHECK_EQ(n, 3);
    CHECK_STR_EQ(anc[0], "b");
    CHECK_STR_EQ(anc[1], "c");
    CHECK_STR_EQ(anc[2], "a");
    free(anc);
    CHECK_EQ(strata_graph_ancestors(&anc, &n, g, "a", NULL), 0);
    CHECK_EQ(n, 0);
    free(anc);
    CHECK_EQ(strata_graph_ancestors(&anc, &n, g, "nope", NULL),
             STRATA_ENOTFOUND);
    /* A chain of 1,000 and a node with 1,000 parents. */
    for (i = 0; i < 1000; i++) {
        snprintf(child, sizeof(child), "chain%zu", i);
        snprintf(parent, sizeof(parent), "chain%zu", i + 1);
        strata_graph_add_edge(g, child, parent, NULL);
        snprintf(parent, sizeof(parent), "wide%zu", i);
        strata_graph_add_edge(g, "w", parent, NULL);
        strata_graph_add_edge(g, parent, "d", NULL);
    }
    CHECK_EQ(strata_graph_ancestors(&anc, &n, g, "chain0", NULL), 0);
    CHECK_EQ(n, 1000);
    CHECK_STR_EQ(anc[999], "chain1000");
    free(anc);
    CHECK_EQ(strata_graph_ancestors(&anc, &n, g, "w", NULL), 0);
    CHECK_EQ(n, 1004); /* wide0..999, d, b, c, a */
    CHECK_STR_EQ(anc[1000], "d");
    CHECK_STR_EQ(anc[1003], "a");
    free(anc);
    strata_graph_free(g);
}

/* The nodes a repository's Dockerfiles make: each once, edge order. */
TEST(repo_nodes)
{
    strata_graph *g = sample();
    strata_graph_edge_info e = {.repo = "file:///r/app1",
                                .path = "b/Dockerfile",
                                .method = "dockerfile"};
    const char **nodes = NULL;
    size_t n = 0;

    /* A second stage of app1's Dockerfile, and a second Dockerfile. */
    strata_graph_add_edge(g, "reg/app1:latest", "docker.io/library/golang:1",
                          &e);
    strata_graph_add_edge(g, "file:///r/app1//b/Dockerfile", "reg/runtime:1",
                          &e);
    CHECK_EQ(strata_graph_repo_nodes(&nodes, &n, g, "file:///r/app1"), 0);
    CHECK_EQ(n, 2);
    CHECK_STR_EQ(nodes[0], "reg/app1:latest");
    CHECK_STR_EQ(nodes[1], "file:///r/app1//b/Dockerfile");
    free(nodes);
    CHECK_EQ(strata_graph_repo_nodes(&nodes, &n, g, "file:///r/runtime"), 0);
    CHECK_EQ(n, 1);
    CHECK_STR_EQ(nodes[0], "reg/runtime:1");
    free(nodes);
    /* A repository the graph does not know, or a node's name: none. */
    CHECK_EQ(strata_graph_repo_nodes(&nodes, &n, g, "file:///r/other"), 0);
    CHECK_EQ(n, 0);
    CHECK(nodes == NULL);
    CHECK_EQ(strata_graph_repo_nodes(&nodes, &n, g, "reg/runtime:1"), 0);
    CHECK_EQ(n, 0);
    strata_graph_free(g);
}

TEST(kinds_rise_never_fall)
{
    strata_graph *g = strata_graph_new();
    size_t i;

    strata_graph_add_edge(g, "app", "mid", NULL);
    CHECK_OK(strata_graph_find(g, "mid", &i), &(strata_error){0});
    CHECK_EQ(strata_graph_node_kind(g, i), STRATA_GRAPH_BASE);
    strata_graph_add_edge(g, "mid", "base", NULL);
    CHECK_EQ(strata_graph_node_kind(g, i), STRATA_GRAPH_IMAGE);
    strata_graph_add_node(g, "mid", STRATA_GRAPH_BASE);
    CHECK_EQ(strata_graph_node_kind(g, i), STRATA_GRAPH_IMAGE);
    CHECK_EQ(strata_graph_node_count(g), 3);
    CHECK_EQ(strata_graph_edge_count(g), 2);
    strata_graph_free(g);
}

TEST(json_renderings_parse_back)
{
    strata_graph *g = sample();
    strata_graph_waves *w = NULL;
    strata_buf b = STRATA_BUF_INIT;
    strata_error err = {0};
    json_error_t jerr;
    json_t *doc, *hit;

    CHECK_OK(strata_graph_impacted(&w, g, "docker.io/library/debian:12", &err),
             &err);
    strata_graph_render_waves(&b, w, STRATA_GRAPH_JSON);
    doc = json_loads(b.ptr, 0, &jerr);
    CHECK(doc != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(doc, "base")),
                 "docker.io/library/debian:12");
    CHECK_EQ(json_array_size(json_object_get(doc, "waves")), 2);
    hit = json_array_get(json_array_get(json_object_get(doc, "waves"), 1), 0);
    CHECK_STR_EQ(json_string_value(json_object_get(hit, "image")),
                 "reg/app1:latest");
    CHECK_STR_EQ(json_string_value(json_object_get(hit, "repo")),
                 "file:///r/app1");
    CHECK_STR_EQ(json_string_value(json_object_get(hit, "path")), "Dockerfile");
    CHECK_EQ(json_integer_value(json_object_get(hit, "line")), 3);
    json_decref(doc);

    strata_buf_reset(&b);
    strata_graph_render_waves(&b, w, STRATA_GRAPH_TEXT);
    CHECK_CONTAINS(b.ptr, "wave 2\n  reg/app1:latest  from reg/runtime:1");

    strata_buf_reset(&b);
    strata_graph_render(&b, g, STRATA_GRAPH_JSON);
    doc = json_loads(b.ptr, 0, &jerr);
    CHECK(doc != NULL);
    CHECK_EQ(json_array_size(json_object_get(doc, "nodes")), 5);
    CHECK_EQ(json_array_size(json_object_get(doc, "edges")), 4);
    json_decref(doc);

    strata_buf_reset(&b);
    strata_graph_render(&b, g, STRATA_GRAPH_DOT);
    CHECK_CONTAINS(b.ptr, "\"reg/runtime:1\" -> \"reg/app1:latest\"");
    strata_buf_release(&b);
    strata_graph_waves_free(w);
    strata_graph_free(g);
}

TEST(hundred_thousand_nodes)
{
    strata_graph *g = strata_graph_new();
    strata_graph_waves *w = NULL;
    strata_error err = {0};
    char child[32], parent[32];
    char *cycle = NULL;
    size_t i, total = 0;

    /* A 50,000-deep chain plus 50,000 leaves hanging off it. */
    for (i = 1; i <= 50000; i++) {
        snprintf(child, sizeof(child), "c%zu", i);
        snprintf(parent, sizeof(parent), "c%zu", i - 1);
        strata_graph_add_edge(g, child, parent, NULL);
        snprintf(child, sizeof(child), "l%zu", i);
        strata_graph_add_edge(g, child, parent, NULL);
    }
    CHECK_OK(strata_graph_impacted(&w, g, "c0", &err), &err);
    for (i = 0; i < w->nwaves; i++)
        total += w->len[i];
    CHECK_EQ(total, 100000);
    CHECK_EQ(w->nwaves, 50000);
    strata_graph_waves_free(w);
    strata_graph_find_cycle(&cycle, g);
    CHECK(cycle == NULL);
    strata_graph_free(g);
}

int
main(void)
{
    RUN(waves_follow_depth);
    RUN(uneven_paths_wait_for_the_longest);
    RUN(cycles_are_named_not_looped);
    RUN(ancestors_nearest_first);
    RUN(ancestors_diamond_chain_and_wide);
    RUN(repo_nodes);
    RUN(kinds_rise_never_fall);
    RUN(json_renderings_parse_back);
    RUN(hundred_thousand_nodes);
    return harness_done();
}
