/*
 * test-plan.c - the planner: first sightings change nothing, an update
 * waits out its soak and any approval, becomes one job per (image, base
 * digest, action) in graph waves, is never planned twice, and a newer
 * digest cancels the jobs of the one it supersedes; a wave is queued one
 * repository at a time.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "jobs.h"

#define D1                                                                     \
    "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3                                                                     \
    "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define BASE "docker.io/library/debian:12-slim"

static int64_t fake_now = 1000000;

static int64_t
clock_cb(void *arg)
{
    (void) arg;
    return fake_now;
}

static const char yaml[] =
    "state: ':memory:'\n"
    "watch:\n"
    "  bases:\n"
    "    - {ref: debian:12-slim, soak: 1h, approval: true}\n"
    "repos:\n"
    "  - url: file:///srv/runtime.git\n"
    "    images: [{name: r.example/runtime:1}]\n"
    "    on_base_update: [pr, rebuild]\n"
    "  - url: file:///srv/app.git\n"
    "    images: [{name: r.example/app:1}]\n"
    "    on_base_update: [rebuild]\n"
    "builders: {default: {type: exec, command: 'true'}}\n";

static void
observe(strata_store *st, const char *digest)
{
    strata_store_observation obs = {.ref = BASE, .digest = digest};
    strata_error err = {0};

    CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
}

static const char *
state_of(json_t *plan)
{
    CHECK_EQ(json_array_size(plan), 1);
    return json_string_value(json_object_get(json_array_get(plan, 0), "state"));
}

static json_t *
plan(strata_store *st, strata_graph *g, const strata_config_data *cfg, int dry)
{
    strata_error err = {0};
    json_t *out = NULL;

    CHECK_OK(strata_plan_updates(&out, st, g, cfg, dry, fake_now, &err), &err);
    return out;
}

TEST(update_waits_then_plans_in_waves_once)
{
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_graph *g = strata_graph_new();
    strata_error err = {0};
    const strata_config_data *cfg;
    json_t *p, *waves, *jobs = NULL;
    int64_t counts[STRATA_STORE_JOB_NSTATES];

    CHECK_OK(strata_config_load_string(&config, yaml, strlen(yaml), "t.yaml",
                                       "/", NULL, &err),
             &err);
    cfg = strata_config_data_get(config);
    CHECK_OK(strata_store_open(&st, ":memory:", &err), &err);
    strata_store_set_clock(st, clock_cb, NULL);
    strata_graph_add_edge(g, "r.example/runtime:1", BASE, NULL);
    strata_graph_add_edge(g, "r.example/app:1", "r.example/runtime:1", NULL);

    /* A first sighting is recorded, not planned. */
    observe(st, D1);
    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "first-seen");
    json_decref(p);
    p = plan(st, g, cfg, 0);
    CHECK_EQ(json_array_size(p), 0);
    json_decref(p);

    /* A new digest soaks for an hour, then waits for approval. */
    observe(st, D2);
    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "soaking");
    json_decref(p);
    fake_now += 3600 * 1000;
    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "awaiting-approval");
    json_decref(p);
    CHECK_OK(strata_store_meta_set(st, "approved:" BASE, D2, &err), &err);

    /* A dry run shows the waves and enqueues nothing. */
    p = plan(st, g, cfg, 1);
    CHECK_STR_EQ(state_of(p), "planned");
    waves = json_object_get(json_array_get(p, 0), "waves");
    CHECK_EQ(json_array_size(waves), 2);
    CHECK_EQ(json_array_size(json_array_get(waves, 0)), 2); /* pr, rebuild */
    CHECK_EQ(json_array_size(json_array_get(waves, 1)), 1); /* rebuild */
    json_decref(p);
    CHECK_OK(strata_store_job_count(counts, st, &err), &err);
    CHECK_EQ(counts[STRATA_STORE_JOB_QUEUED], 0);

    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "planned");
    json_decref(p);
    CHECK_OK(strata_store_job_list(&jobs, st, 0, 0, -1, &err), &err);
    CHECK_EQ(json_array_size(jobs), 3);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(jobs, 2), "image")),
        "r.example/app:1");
    CHECK_EQ(
        json_integer_value(json_object_get(json_array_get(jobs, 2), "wave")),
        1);
    json_decref(jobs);

    /* Planned once: a second plan finds nothing to do. */
    p = plan(st, g, cfg, 0);
    CHECK_EQ(json_array_size(p), 0);
    json_decref(p);

    /* The base moves again before the jobs ran: they are superseded. */
    observe(st, D3);
    fake_now += 3600 * 1000;
    CHECK_OK(strata_store_meta_set(st, "approved:" BASE, D3, &err), &err);
    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "planned");
    json_decref(p);
    CHECK_OK(strata_store_job_count(counts, st, &err), &err);
    CHECK_EQ(counts[STRATA_STORE_JOB_QUEUED], 3);
    CHECK_EQ(counts[STRATA_STORE_JOB_CANCELLED], 3);

    /* A digest strata itself produced is no update for its children. */
    {
        strata_store_observation obs = {.ref = "r.example/runtime:1",
                                        .digest = D1};
        CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
        p = plan(st, g, cfg, 0); /* first sighting of the runtime */
        json_decref(p);
        obs.digest = D2;
        CHECK_OK(
            strata_plan__mark_produced(st, "r.example/runtime:1", D2, &err),
            &err);
        CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
        p = plan(st, g, cfg, 0);
        CHECK_STR_EQ(state_of(p), "produced");
        json_decref(p);
        CHECK_OK(strata_store_job_count(counts, st, &err), &err);
        CHECK_EQ(counts[STRATA_STORE_JOB_QUEUED], 3);
    }
    strata_graph_free(g);
    strata_store_close(st);
    strata_config_free(config);
}

/*
 * A repository with several Dockerfiles on the base: its pr jobs make the
 * same change, so the queue takes one of each repository first (they run
 * apart, not side by side on one mirror); the plan lists them as the
 * graph has them.
 */
TEST(a_wave_is_queued_one_repository_at_a_time)
{
    static const char fleet[] = "state: ':memory:'\n"
                                "watch: {bases: [{ref: debian:12-slim}]}\n"
                                "repos:\n"
                                "  - url: file:///srv/a.git\n"
                                "  - url: file:///srv/b.git\n"
                                "  - url: file:///srv/c.git\n"
                                "    on_base_update: [pr, notify]\n";
    static const char *const listed[] = {
        "file:///srv/a.git//1/Dockerfile",  "file:///srv/a.git//2/Dockerfile",
        "file:///srv/a.git//3/Dockerfile",  "file:///srv/b.git//1/Dockerfile",
        "file:///srv/b.git//2/Dockerfile",  "file:///srv/c.git//1/Dockerfile",
        "docker.io/library/unconfigured:1",
    };
    /* Queued: a1 b1 c1 (pr, notify) a2 b2 a3; nothing for the stranger. */
    static const char *const queued[] = {
        "a.git//1", "b.git//1", "c.git//1", "c.git//1",
        "a.git//2", "b.git//2", "a.git//3",
    };
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_graph *g = strata_graph_new();
    strata_error err = {0};
    const strata_config_data *cfg;
    json_t *p, *wave, *jobs = NULL;
    size_t i;

    CHECK_OK(strata_config_load_string(&config, fleet, strlen(fleet), "t.yaml",
                                       "/", NULL, &err),
             &err);
    cfg = strata_config_data_get(config);
    CHECK_OK(strata_store_open(&st, ":memory:", &err), &err);
    strata_store_set_clock(st, clock_cb, NULL);
    for (i = 0; i < sizeof(listed) / sizeof(listed[0]); i++)
        strata_graph_add_edge(g, listed[i], BASE, NULL);
    observe(st, D1);
    json_decref(plan(st, g, cfg, 0));
    observe(st, D2);
    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "planned");
    wave = json_array_get(json_object_get(json_array_get(p, 0), "waves"), 0);
    CHECK_EQ(json_array_size(wave), 7);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(wave, 0), "image")),
        listed[0]);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(wave, 6), "image")),
        listed[5]);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(wave, 6), "action")),
        "notify");
    json_decref(p);
    CHECK_OK(strata_store_job_list(&jobs, st, 0, 0, -1, &err), &err);
    CHECK_EQ(json_array_size(jobs), 7);
    for (i = 0; i < json_array_size(jobs); i++) {
        const char *img = json_string_value(
            json_object_get(json_array_get(jobs, i), "image"));

        if (strstr(img, queued[i]) == NULL)
            printf("# job %zu: %s, want %s\n", i, img, queued[i]);
        CHECK(strstr(img, queued[i]) != NULL);
    }
    json_decref(jobs);
    strata_graph_free(g);
    strata_store_close(st);
    strata_config_free(config);
}

int
main(void)
{
    RUN(update_waits_then_plans_in_waves_once);
    RUN(a_wave_is_queued_one_repository_at_a_time);
    return harness_done();
}
