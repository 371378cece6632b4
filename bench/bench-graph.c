/*
 * bench-graph.c - timings for bench/graph.sh that the CLI cannot give
 * alone: the impacted query on a synthetic graph of any size (built in
 * memory: roots, a middle layer, leaves, some leaves with two parents),
 * and loading a scanned state database plus one query on it.
 *
 *   bench-graph synthetic NODES      prints build, query and RSS figures
 *   bench-graph load DB REF          prints load and query times
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph.h"
#include "store.h"

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long
peak_rss_kb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static size_t
hits(const strata_graph_waves *w)
{
    size_t i, n = 0;

    for (i = 0; i < w->nwaves; i++)
        n += w->len[i];
    return n;
}

static int
synthetic(size_t nodes)
{
    const size_t nroots = 10, nmid = nodes / 100 > 0 ? nodes / 100 : 1;
    strata_graph *g = strata_graph_new();
    strata_graph_edge_info info = {0};
    strata_graph_waves *w = NULL;
    strata_error err = {0};
    char child[128], parent[128];
    double t0, t1, best = 1e9, sum = 0;
    size_t i, nleaves = nodes - nroots - nmid;
    int r;

    info.method = "dockerfile";
    info.confidence = 100;
    info.repo = "https://git.example.com/bench.git";
    info.path = "Dockerfile";
    t0 = now_ms();
    for (i = 0; i < nmid; i++) {
        snprintf(child, sizeof(child), "bench.local/mid/m%zu:1", i);
        snprintf(parent, sizeof(parent), "docker.io/library/root%zu:1",
                 i % nroots);
        info.line = 1;
        strata_graph_add_edge(g, child, parent, &info);
    }
    for (i = 0; i < nleaves; i++) {
        snprintf(child, sizeof(child), "bench.local/app/a%zu:latest", i);
        snprintf(parent, sizeof(parent), "bench.local/mid/m%zu:1",
                 (i * 7919) % nmid);
        strata_graph_add_edge(g, child, parent, &info);
        if (i % 4 == 0) { /* a builder stage on a root image */
            snprintf(parent, sizeof(parent), "docker.io/library/root%zu:1",
                     i % nroots);
            info.line = 3;
            strata_graph_add_edge(g, child, parent, &info);
            info.line = 1;
        }
    }
    t1 = now_ms();
    printf("synthetic: %zu nodes, %zu edges, built in %.1f ms\n",
           strata_graph_node_count(g), strata_graph_edge_count(g), t1 - t0);
    for (r = 0; r < 10; r++) {
        t0 = now_ms();
        if (strata_graph_impacted(&w, g, "docker.io/library/root0:1", &err) !=
            0) {
            fprintf(stderr, "bench-graph: %s\n", err.msg);
            return 1;
        }
        t1 = now_ms();
        if (r == 0)
            printf("impacted root0: %zu images in %zu waves\n", hits(w),
                   w->nwaves);
        strata_graph_waves_free(w);
        sum += t1 - t0;
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    printf("impacted query: best %.2f ms, mean %.2f ms (10 runs)\n", best,
           sum / 10);
    printf("peak RSS: %ld KB\n", peak_rss_kb());
    strata_graph_free(g);
    return 0;
}

static int
load(const char *db, const char *ref)
{
    strata_store *st = NULL;
    strata_graph *g = NULL;
    strata_graph_waves *w = NULL;
    strata_error err = {0};
    double t0, t1, t2;
    int rc = 1;

    if (strata_store_open(&st, db, &err) != 0)
        goto out;
    t0 = now_ms();
    if (strata_graph_load(&g, st, &err) != 0)
        goto out;
    t1 = now_ms();
    if (strata_graph_impacted(&w, g, ref, &err) != 0)
        goto out;
    t2 = now_ms();
    printf("load: %zu nodes, %zu edges in %.1f ms\n",
           strata_graph_node_count(g), strata_graph_edge_count(g), t1 - t0);
    printf("impacted %s: %zu images in %zu waves in %.2f ms\n", ref, hits(w),
           w->nwaves, t2 - t1);
    printf("peak RSS: %ld KB\n", peak_rss_kb());
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "bench-graph: %s\n", err.msg);
    strata_graph_waves_free(w);
    strata_graph_free(g);
    strata_store_close(st);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "synthetic") == 0)
        return synthetic((size_t) strtoul(argv[2], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "load") == 0)
        return load(argv[2], argv[3]);
    fprintf(stderr, "usage: bench-graph synthetic NODES | load DB REF\n");
    return 2;
}
