/*
 * test-plan.c - the planner: first sightings change nothing, an update
 * waits out its soak and any approval, becomes one job per (image, base
 * digest, action) in graph waves, is never planned twice, and a newer
 * digest cancels the jobs of the one it supersedes; a wave is queued one
 * repository at a time; pull_requests.evidence.hold_on holds an update
 * on its evidence row.
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

/* One image as packages/ reads it: pkgs "NAME=VERSION", sorted. */
static strata_pkg_image
image(const char *version_id, strata_pkg *pkgs, size_t n)
{
    strata_pkg_image img = {0};

    img.ecosystem = n > 0 ? (char *) "dpkg" : NULL;
    img.os_id = (char *) "debian";
    img.os_version_id = (char *) version_id;
    img.pkgs = pkgs;
    img.npkgs = n;
    return img;
}

static void
record(strata_store *st, json_t *row)
{
    strata_error err = {0};

    CHECK_OK(strata_hold_record(st, BASE, row, &err), &err);
    json_decref(row);
}

static const char *
reason_of(json_t *plan)
{
    return json_string_value(
        json_object_get(json_array_get(plan, 0), "hold_reason"));
}

/*
 * pull_requests.evidence.hold_on: the planner decides on the row
 * "evidence:REF" alone. No row for the pair (or another pair's), or a
 * failed read: awaiting-evidence, never planned and never held. A row
 * that matches: held with its reason until approved:REF names the
 * digest. A row that matches nothing, or images without a package
 * database: planned at once.
 */
TEST(hold_on_decides_on_the_evidence_row)
{
    static const char held_yaml[] =
        "state: ':memory:'\n"
        "watch: {bases: [{ref: debian:12-slim}]}\n"
        "repos:\n"
        "  - url: file:///srv/runtime.git\n"
        "    images: [{name: r.example/runtime:1}]\n"
        "pull_requests: {evidence: {hold_on: [major, downgrade]}}\n";
    strata_pkg old_pkgs[] = {
        {(char *) "bash", (char *) "5.2-1", (char *) "", NULL},
        {(char *) "libc6", (char *) "2.36-9", (char *) "", NULL},
        {(char *) "sed", (char *) "4.9-1", (char *) "", NULL}};
    strata_pkg new_pkgs[] = {
        {(char *) "bash", (char *) "5.2-2", (char *) "", NULL},
        {(char *) "libc6", (char *) "3.0-1", (char *) "", NULL}};
    strata_pkg down_pkgs[] = {
        {(char *) "bash", (char *) "5.1-1", (char *) "", NULL},
        {(char *) "libc6", (char *) "3.0-1", (char *) "", NULL}};
    strata_pkg_image a = image("12", old_pkgs, 3);
    strata_pkg_image b = image("12", new_pkgs, 2);
    strata_pkg_image c = image("13", down_pkgs, 2);
    strata_pkg_image none = image(NULL, NULL, 0);
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_graph *g = strata_graph_new();
    strata_error err = {0};
    const strata_config_data *cfg;
    int64_t counts[STRATA_STORE_JOB_NSTATES];
    json_t *p, *row;
    char *why;

    CHECK_OK(strata_config_load_string(&config, held_yaml, strlen(held_yaml),
                                       "t.yaml", "/", NULL, &err),
             &err);
    cfg = strata_config_data_get(config);
    CHECK_EQ(cfg->pull_requests.evidence_hold_on,
             STRATA_HOLD_MAJOR | STRATA_HOLD_DOWNGRADE);
    CHECK_OK(strata_store_open(&st, ":memory:", &err), &err);
    strata_store_set_clock(st, clock_cb, NULL);
    strata_graph_add_edge(g, "r.example/runtime:1", BASE, NULL);
    observe(st, D1);
    json_decref(plan(st, g, cfg, 0)); /* first seen */

    /* No row yet: awaiting-evidence, nothing queued, nothing decided. */
    observe(st, D2);
    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "awaiting-evidence");
    CHECK(reason_of(p) == NULL);
    json_decref(p);

    /* Another pair's row says nothing of this one. */
    record(st, strata_hold_evidence(D3, D2, "linux/amd64", &a, &b, 1));
    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "awaiting-evidence");
    json_decref(p);

    /* A read that failed waits, with its error: never a decision. */
    record(st, json_pack("{s:s, s:s, s:s, s:i, s:I}", "old", D1, "new", D2,
                         "error", "registry answered 500", "attempts", 1,
                         "retry_at", (json_int_t) fake_now + 30000));
    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "awaiting-evidence");
    CHECK(reason_of(p) == NULL);
    CHECK_STR_EQ(
        json_string_value(json_object_get(
            json_object_get(json_array_get(p, 0), "evidence"), "error")),
        "registry answered 500");
    json_decref(p);
    CHECK_OK(strata_store_job_count(counts, st, &err), &err);
    CHECK_EQ(counts[STRATA_STORE_JOB_QUEUED], 0);

    /* libc6 2.36 -> 3.0 under [major]: held, with the reason. */
    record(st, strata_hold_evidence(D1, D2, "linux/amd64", &a, &b, 1));
    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "held");
    CHECK_STR_EQ(reason_of(p), "libc6 2.36-9 → 3.0-1");
    json_decref(p);
    CHECK_OK(strata_store_job_count(counts, st, &err), &err);
    CHECK_EQ(counts[STRATA_STORE_JOB_QUEUED], 0);

    /* Approved: planned. */
    CHECK_OK(strata_store_meta_set(st, "approved:" BASE, D2, &err), &err);
    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "planned");
    json_decref(p);
    CHECK_OK(strata_store_job_count(counts, st, &err), &err);
    CHECK_EQ(counts[STRATA_STORE_JOB_QUEUED], 1);

    /* bash 5.2 -> 5.1 under [downgrade]; the release 12 -> 13 is major. */
    observe(st, D3);
    row = strata_hold_evidence(D2, D3, "linux/amd64", &b, &c, 1);
    why = strata_hold_match(row, STRATA_HOLD_DOWNGRADE);
    CHECK_STR_EQ(why, "downgraded: bash 5.2-2 → 5.1-1");
    free(why);
    why = strata_hold_match(row, STRATA_HOLD_RELEASE);
    CHECK_STR_EQ(why, "distribution release 12 → 13");
    free(why);
    CHECK(strata_hold_match(row, STRATA_HOLD_REMOVAL) == NULL);
    record(st, row);
    p = plan(st, g, cfg, 1);
    CHECK_STR_EQ(state_of(p), "held");
    CHECK_STR_EQ(reason_of(p),
                 "distribution release 12 → 13; downgraded: bash 5.2-2 → "
                 "5.1-1");
    json_decref(p);

    /* What each value holds on, on one row (a -> b: libc6, sed removed). */
    row = strata_hold_evidence(D1, D2, "linux/amd64", &a, &b, 1);
    why = strata_hold_match(row, STRATA_HOLD_REMOVAL);
    CHECK_STR_EQ(why, "removed: sed 4.9-1");
    free(why);
    CHECK(strata_hold_match(row, STRATA_HOLD_RELEASE) == NULL);
    CHECK(strata_hold_match(row, STRATA_HOLD_DOWNGRADE) == NULL);
    json_decref(row);

    /* No package database on either side: nothing to hold on. */
    row = strata_hold_evidence(D1, D2, "linux/amd64", &none, &none, 1);
    CHECK(strata_hold_match(row, STRATA_HOLD_RELEASE | STRATA_HOLD_MAJOR |
                                     STRATA_HOLD_DOWNGRADE |
                                     STRATA_HOLD_REMOVAL) == NULL);
    json_decref(row);
    row = strata_hold_evidence(D2, D3, "linux/amd64", &none, &none, 1);
    record(st, row);
    p = plan(st, g, cfg, 0);
    CHECK_STR_EQ(state_of(p), "planned");
    json_decref(p);

    strata_graph_free(g);
    strata_store_close(st);
    strata_config_free(config);
}

/* hold_on holds the whole update: a repository's pr may not set it, and
 * an unknown value is refused, each at its position. */
/* A watched mirror's update reaches the images the graph has under its
   upstream (registries[].aliases): one base, whichever name is polled. */
TEST(a_watched_mirror_plans_its_upstreams_images)
{
    static const char mirrored[] =
        "state: ':memory:'\n"
        "registries:\n"
        "  - {host: docker.io, aliases: [mirror.gcr.io]}\n"
        "watch:\n"
        "  bases:\n"
        "    - {ref: 'mirror.gcr.io/library/debian:12-slim'}\n"
        "repos:\n"
        "  - url: file:///srv/runtime.git\n"
        "    images: [{name: r.example/runtime:1}]\n"
        "    on_base_update: [rebuild]\n"
        "builders: {default: {type: exec, command: 'true'}}\n";
    const char *mirror = "mirror.gcr.io/library/debian:12-slim";
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_graph *g = strata_graph_new();
    strata_error err = {0};
    json_t *p, *waves;
    strata_store_observation obs = {.ref = mirror};

    CHECK_OK(strata_config_load_string(&config, mirrored, strlen(mirrored),
                                       "t.yaml", "/", NULL, &err),
             &err);
    CHECK_OK(strata_store_open(&st, ":memory:", &err), &err);
    strata_store_set_clock(st, clock_cb, NULL);
    strata_graph_add_edge(g, "r.example/runtime:1", BASE, NULL);
    obs.digest = D1;
    CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
    json_decref(plan(st, g, strata_config_data_get(config), 0));
    obs.digest = D2;
    CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
    p = plan(st, g, strata_config_data_get(config), 1);
    CHECK_STR_EQ(state_of(p), "planned");
    waves = json_object_get(json_array_get(p, 0), "waves");
    CHECK_EQ(json_array_size(waves), 1);
    CHECK_EQ(json_array_size(json_array_get(waves, 0)), 1);
    json_decref(p);
    strata_store_close(st);
    strata_graph_free(g);
    strata_config_free(config);
}

TEST(hold_on_config_errors)
{
    static const char bad_value[] =
        "state: ':memory:'\n"
        "pull_requests:\n"
        "  evidence: {hold_on: [major, removals]}\n";
    static const char in_repo[] = "state: ':memory:'\n"
                                  "repos:\n"
                                  "  - url: file:///srv/a.git\n"
                                  "    pr: {evidence: {hold_on: [major]}}\n";
    const char *const yamls[] = {bad_value, in_repo};
    const char *const want[] = {
        "t.yaml:3:31: unknown value 'removals' for 'hold_on' (expected one "
        "of: distribution_release, major, downgrade, removal)",
        "t.yaml:4:30: 'hold_on' holds a base's whole update, not one "
        "repository's: set it in the top-level 'pull_requests.evidence', "
        "not in 'repos[].pr'",
    };
    size_t i;

    for (i = 0; i < 2; i++) {
        strata_config_problems *pr = strata_config_problems_new();
        strata_config *config = NULL;
        strata_error err = {0};

        CHECK(strata_config_load_string(&config, yamls[i], strlen(yamls[i]),
                                        "t.yaml", "/", pr, &err) != 0);
        CHECK_EQ(strata_config_problems_count(pr), 1);
        if (strata_config_problems_count(pr) == 1)
            CHECK_STR_EQ(strata_config_problems_get(pr, 0)->text, want[i]);
        strata_config_problems_free(pr);
        strata_config_free(config);
    }
}

int
main(void)
{
    RUN(update_waits_then_plans_in_waves_once);
    RUN(a_wave_is_queued_one_repository_at_a_time);
    RUN(hold_on_decides_on_the_evidence_row);
    RUN(hold_on_config_errors);
    RUN(a_watched_mirror_plans_its_upstreams_images);
    return harness_done();
}
