/*
 * test-rollout.c - progressive rollouts (jobs/rollout.c) in one process:
 * stage assignment (globs, a stable percentage, never before a parent)
 * and the failure budget's arithmetic; then a 40-image fleet whose jobs
 * are `exec` commands run by the real runner over a store whose clock
 * the test moves (no sleeping through a bake): a canary fails, the
 * rollout halts with the rest untouched, resume, two bakes, complete;
 * a newer digest supersedes a rollout; a store closed and opened again
 * mid-rollout goes on at the same stage; and config check's errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "harness.h"
#include "jobs.h"

#define D1                                                                     \
    "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3                                                                     \
    "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define BASE "docker.io/library/debian:12-slim"
#define NIMAGES 40
#define HOUR (3600 * 1000)

/*
 * The store's clock: a day ahead of the real one, so a retry's backoff
 * (the runner's, from the real clock) is always due, while the rollout's
 * bakes wait for the test to move the clock.
 */
static int64_t fake_now;

static int64_t
clock_cb(void *arg)
{
    (void) arg;
    return fake_now;
}

/* ---- assignment and budget ------------------------------------------ */

static char names[NIMAGES][32];
static const char *images[NIMAGES];

static void
make_names(void)
{
    int i;

    for (i = 0; i < NIMAGES; i++) {
        snprintf(names[i], sizeof(names[i]), "r.example/app-%02d:1", i);
        images[i] = names[i];
    }
}

static strata_config *
load(const char *yaml, strata_error *err)
{
    strata_config *c = NULL;

    CHECK_OK(strata_config_load_string(&c, yaml, strlen(yaml), "t.yaml", "/",
                                       NULL, err),
             err);
    return c;
}

TEST(assign_globs_percent_stable_parents_first)
{
    static const char yaml[] = "state: ':memory:'\n"
                               "rollout:\n"
                               "  stages:\n"
                               "    - images: ['r.example/app-0[0-3]:1']\n"
                               "    - percent: 25\n"
                               "  bake: 1h\n";
    strata_error err = {0};
    strata_config *c = load(yaml, &err);
    const strata_config_rollout *p =
        strata_config_rollout_for(strata_config_data_get(c), BASE);
    const char *parents[NIMAGES] = {0}, *rev[NIMAGES];
    int stages[NIMAGES], again[NIMAGES], count[3] = {0};
    int i;

    make_names();
    CHECK(p != NULL);
    CHECK_EQ(p->n_stages, 2);
    CHECK_EQ(p->bake_ms, HOUR);
    strata_rollout_assign(stages, p, NULL, BASE, images, parents, NIMAGES);
    for (i = 0; i < NIMAGES; i++)
        count[stages[i]]++;
    for (i = 0; i < 4; i++)
        CHECK_EQ(stages[i], 0);
    /* 25 percent of the 40 impacted, from those not yet taken. */
    CHECK_EQ(count[0], 4);
    CHECK_EQ(count[1], 10);
    CHECK_EQ(count[2], 26);
    /* Stable: the same images whatever order they come in. */
    for (i = 0; i < NIMAGES; i++)
        rev[i] = images[NIMAGES - 1 - i];
    strata_rollout_assign(again, p, NULL, BASE, rev, parents, NIMAGES);
    for (i = 0; i < NIMAGES; i++)
        CHECK_EQ(again[NIMAGES - 1 - i], stages[i]);
    /* Another base ranks differently: not always the same canaries. */
    strata_rollout_assign(again, p, NULL, "docker.io/library/alpine:3", images,
                          parents, NIMAGES);
    {
        int differ = 0;

        for (i = 4; i < NIMAGES; i++)
            differ += again[i] != stages[i];
        CHECK(differ > 0);
    }
    /* A canary whose parent is in the rest goes with its parent. */
    {
        const char *two[] = {"r.example/lib:1", "r.example/app-00:1"};
        const char *par[] = {NULL, "r.example/lib:1"};
        int st2[2];

        strata_rollout_assign(st2, p, NULL, BASE, two, par, 2);
        CHECK_EQ(st2[0], 1); /* 25% of 2: one image, the only one left */
        CHECK_EQ(st2[1], 1);
    }
    strata_config_free(c);
}

TEST(budget_arithmetic)
{
    /* more than N images */
    CHECK_EQ(strata_rollout_over_budget(0, 100, 1, 1, 4), 1);
    CHECK_EQ(strata_rollout_over_budget(1, 100, 1, 1, 4), 0);
    CHECK_EQ(strata_rollout_over_budget(1, 100, 2, 1, 4), 1);
    /* more than X percent of a stage: 1 of 4 is 25, not more than 25 */
    CHECK_EQ(strata_rollout_over_budget(1000000, 25, 1, 1, 4), 0);
    CHECK_EQ(strata_rollout_over_budget(1000000, 25, 2, 2, 4), 1);
    CHECK_EQ(strata_rollout_over_budget(1000000, 0, 1, 1, 1000), 1);
    CHECK_EQ(strata_rollout_over_budget(1000000, 10, 10, 10, 100), 0);
    CHECK_EQ(strata_rollout_over_budget(1000000, 10, 11, 11, 100), 1);
    /* the defaults never halt; an empty stage never does */
    CHECK_EQ(strata_rollout_over_budget(1000000, 100, 40, 40, 40), 0);
    CHECK_EQ(strata_rollout_over_budget(1000000, 0, 0, 0, 0), 0);
}

TEST(config_check_names_the_stage)
{
    static const char *const bad[] = {
        "rollout:\n  stages:\n    - {images: ['a/*'], percent: 5}\n",
        "rollout:\n  stages:\n    - {}\n",
        "rollout:\n  bake: 1h\n",
        "rollout:\n  stages:\n    - percent: 101\n",
        ("rollout:\n  stages: [{percent: 5}]\n  failure_budget: {percent: "
         "200}\n"),
        "rollout:\n  stages: [{percent: 5}]\n  canary: true\n",
    };
    static const char *const where[] = {
        "t.yaml:3:7", "t.yaml:3:7",  "t.yaml:2:3",
        "t.yaml:3:",  "t.yaml:3:29", "t.yaml:3:3",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strata_config *c = NULL;
        strata_error err = {0};
        int rc = strata_config_load_string(&c, bad[i], strlen(bad[i]), "t.yaml",
                                           "/", NULL, &err);

        CHECK_EQ(rc, STRATA_EINVAL);
        if (strstr(err.msg, where[i]) == NULL)
            printf("# %zu: %s (want %s)\n", i, err.msg, where[i]);
        CHECK(strstr(err.msg, where[i]) != NULL);
        strata_config_free(c);
    }
}

/* ---- the fleet ------------------------------------------------------- */

typedef struct fleet {
    char dir[64], db[96];
    strata_config *config;
    const strata_config_data *cfg;
    strata_store *st;
    strata_graph *g;
    uv_loop_t loop;
    strata_runner_env env;
    int errors;
} fleet;

/* 40 repositories of one image each, built on BASE; the exec command
 * fails for `failing` (may be NULL). */
static void
fleet_open(fleet *f, const char *failing, const char *policy)
{
    strata_buf y = STRATA_BUF_INIT;
    strata_error err = {0};
    int i;

    make_names();
    snprintf(f->dir, sizeof(f->dir), "/tmp/strata-rollout-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->db, sizeof(f->db), "%s/state.db", f->dir);
    strata_buf_printf(&y, "state: '%s'\nwatch:\n  bases:\n    - ref: %s\n%s",
                      f->db, BASE, policy);
    strata_buf_printf(&y, "repos:\n");
    for (i = 0; i < NIMAGES; i++)
        strata_buf_printf(&y,
                          "  - url: file:///srv/app%02d.git\n"
                          "    images: [{name: '%s'}]\n"
                          "    on_base_update: [exec]\n"
                          "    exec: \"test {image} != '%s'\"\n",
                          i, images[i], failing ? failing : "none");
    f->config = load(strata_buf_cstr(&y), &err);
    strata_buf_release(&y);
    f->cfg = strata_config_data_get(f->config);
    CHECK_OK(strata_store_open(&f->st, f->db, &err), &err);
    strata_store_set_clock(f->st, clock_cb, NULL);
    f->g = strata_graph_new();
    for (i = 0; i < NIMAGES; i++)
        strata_graph_add_edge(f->g, images[i], BASE, NULL);
    CHECK_EQ(uv_loop_init(&f->loop), 0);
    f->env.loop = &f->loop;
    f->env.config = f->config;
    f->env.cfg = f->cfg;
    f->env.store = f->st;
    f->env.graph = f->g;
    f->env.errors = &f->errors;
}

static void
fleet_close(fleet *f)
{
    char cmd[128];

    CHECK_EQ(uv_loop_close(&f->loop), 0);
    strata_graph_free(f->g);
    strata_store_close(f->st);
    strata_config_free(f->config);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    CHECK_EQ(system(cmd), 0);
}

static void
observe(fleet *f, const char *digest)
{
    strata_store_observation obs = {.ref = BASE, .digest = digest};
    strata_error err = {0};
    json_t *out = NULL;

    CHECK_OK(strata_store_watch_observe(NULL, NULL, f->st, &obs, &err), &err);
    CHECK_OK(strata_plan_updates(&out, f->st, f->g, f->cfg, 0, fake_now, &err),
             &err);
    json_decref(out);
}

static void
on_drained(strata_runner *r, void *arg)
{
    (void) arg;
    strata_runner_close(r);
}

/* Runs every job that may run now, to the end. */
static void
drain(fleet *f)
{
    strata_runner *r = NULL;
    strata_error err = {0};

    CHECK_OK(strata_runner_new(&r, &f->loop, &f->env, 8, &err), &err);
    strata_runner_drain(r, on_drained, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    CHECK_EQ(f->errors, 0);
}

static json_t *
show(fleet *f, const char *which)
{
    strata_error err = {0};
    json_t *out = NULL;

    CHECK_OK(strata_rollout_show(&out, f->st, which, &err), &err);
    return out;
}

static const char *
jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

static int64_t
stage_count(const json_t *ro, int stage, const char *state)
{
    return json_integer_value(json_object_get(
        json_object_get(
            json_array_get(json_object_get(ro, "stages"), (size_t) stage),
            "counts"),
        state));
}

/* The newest event of type (new), or NULL. */
static json_t *
last_event(fleet *f, const char *type)
{
    strata_error err = {0};
    json_t *list = NULL, *e;

    CHECK_OK(strata_store_event_list(&list, f->st, 0, 0, type, &err), &err);
    e = json_array_size(list)
            ? json_incref(json_array_get(list, json_array_size(list) - 1))
            : NULL;
    json_decref(list);
    return e;
}

static const char *
payload_str(const json_t *e, const char *k)
{
    return jstr(json_object_get(e, "payload"), k);
}

static const char policy[] = "      rollout:\n"
                             "        stages:\n"
                             "          - images: ['r.example/app-0[0-3]:1']\n"
                             "          - percent: 25\n"
                             "        bake: 1h\n"
                             "        failure_budget: {images: 0}\n";

TEST(canary_fails_halts_resume_bakes_completes)
{
    fleet f = {0};
    strata_error err = {0};
    json_t *ro, *e, *jobs = NULL;
    const char *waiting;
    char *text;
    int64_t id;
    size_t i;

    fake_now = strata_now_ms() + 24LL * HOUR;
    fleet_open(&f, "r.example/app-03:1", policy);
    observe(&f, D1);
    observe(&f, D2);
    ro = show(&f, "1");
    CHECK_STR_EQ(jstr(ro, "state"), "running");
    CHECK_EQ(json_array_size(json_object_get(ro, "images")), NIMAGES);
    CHECK_EQ(stage_count(ro, 1, "waiting for its stage"), 10);
    CHECK_EQ(stage_count(ro, 2, "waiting for its stage"), 26);
    json_decref(ro);

    /* The canaries run; app-03 fails (three attempts) and the rollout
     * halts: nothing of stage 2 or 3 has run. */
    drain(&f);
    ro = show(&f, BASE "@" D2);
    CHECK_STR_EQ(jstr(ro, "state"), "halted");
    CHECK_EQ(json_integer_value(json_object_get(ro, "stage")), 0);
    CHECK_EQ(stage_count(ro, 0, "done"), 3);
    CHECK_EQ(stage_count(ro, 0, "failed"), 1);
    CHECK_EQ(stage_count(ro, 1, "waiting for its stage"), 10);
    CHECK_EQ(stage_count(ro, 2, "waiting for its stage"), 26);
    id = json_integer_value(json_object_get(ro, "id"));
    text = strata_rollout_format(ro);
    CHECK(strstr(text, "halted") != NULL);
    CHECK(strstr(text, "r.example/app-03:1") != NULL);
    free(text);
    json_decref(ro);
    e = last_event(&f, "rollout.halted");
    CHECK(e != NULL);
    CHECK_STR_EQ(payload_str(e, "summary"),
                 BASE "@" D2 " reached 3 of 40 images; 1 failed: "
                      "r.example/app-03:1");
    json_decref(e);
    /* Halted: a drain runs nothing more. */
    drain(&f);
    ro = show(&f, "1");
    CHECK_EQ(stage_count(ro, 1, "waiting for its stage"), 10);
    json_decref(ro);

    /* Resume: stage 1 is done (its failure forgiven); stage 2 bakes. */
    CHECK_OK(strata_rollout_resume(&f.env, id, "tester", &err), &err);
    e = last_event(&f, "rollout.resumed");
    CHECK_STR_EQ(payload_str(e, "by"), "tester");
    json_decref(e);
    CHECK_EQ(strata_rollout_resume(&f.env, id, "tester", &err),
             STRATA_ECONFLICT);
    drain(&f);
    ro = show(&f, "1");
    CHECK_STR_EQ(jstr(ro, "state"), "running");
    CHECK_EQ(json_integer_value(json_object_get(ro, "stage")), 1);
    CHECK_EQ(stage_count(ro, 1, "waiting for its stage"), 10);
    CHECK(json_is_integer(json_object_get(
        json_array_get(json_object_get(ro, "stages"), 0), "finished")));
    json_decref(ro);
    /* `strata jobs` says why. */
    CHECK_OK(
        strata_store_job_list(&jobs, f.st, 0, 0, STRATA_STORE_JOB_QUEUED, &err),
        &err);
    CHECK_EQ(json_array_size(jobs), 36);
    waiting = NULL;
    for (i = 0; i < json_array_size(jobs); i++) {
        const char *w = jstr(json_array_get(jobs, i), "waiting");

        if (strstr(w, "bakes until") != NULL)
            waiting = w;
    }
    CHECK(waiting != NULL &&
          strstr(waiting, "rollout stage 2 of 3 starts "
                          "after stage 1 bakes until") == waiting);
    json_decref(jobs);

    /* After the bake, stage 2; after another, stage 3; then complete. */
    fake_now += HOUR;
    drain(&f);
    ro = show(&f, "1");
    CHECK_EQ(json_integer_value(json_object_get(ro, "stage")), 2);
    CHECK_EQ(stage_count(ro, 1, "done"), 10);
    CHECK_EQ(stage_count(ro, 2, "waiting for its stage"), 26);
    json_decref(ro);
    fake_now += HOUR - 1;
    drain(&f);
    ro = show(&f, "1");
    CHECK_EQ(stage_count(ro, 2, "waiting for its stage"), 26);
    json_decref(ro);
    fake_now += 1;
    drain(&f);
    ro = show(&f, "1");
    CHECK_STR_EQ(jstr(ro, "state"), "completed");
    CHECK_EQ(stage_count(ro, 2, "done"), 26);
    json_decref(ro);
    e = last_event(&f, "rollout.completed");
    CHECK(e != NULL);
    CHECK_STR_EQ(payload_str(e, "summary"),
                 BASE "@" D2 " reached 39 of 40 images; 1 failed: "
                      "r.example/app-03:1");
    json_decref(e);
    e = last_event(&f, "rollout.stage_started");
    CHECK_EQ(json_integer_value(
                 json_object_get(json_object_get(e, "payload"), "stage")),
             3);
    json_decref(e);
    fleet_close(&f);
}

TEST(newer_digest_supersedes_and_restart_resumes_in_place)
{
    fleet f = {0};
    strata_error err = {0};
    json_t *ro, *e;
    int64_t counts[STRATA_STORE_JOB_NSTATES];

    fake_now = strata_now_ms() + 24LL * HOUR;
    fleet_open(&f, NULL, policy);
    observe(&f, D1);
    observe(&f, D2);
    drain(&f); /* the canaries; stage 2 bakes */

    /* A restart mid-bake: the same stage, the same bake. */
    strata_store_close(f.st);
    CHECK_OK(strata_store_open(&f.st, f.db, &err), &err);
    strata_store_set_clock(f.st, clock_cb, NULL);
    f.env.store = f.st;
    ro = show(&f, "1");
    CHECK_STR_EQ(jstr(ro, "state"), "running");
    CHECK_EQ(json_integer_value(json_object_get(ro, "stage")), 1);
    CHECK_EQ(stage_count(ro, 0, "done"), 4);
    json_decref(ro);
    fake_now += HOUR;
    drain(&f);
    ro = show(&f, "1");
    CHECK_EQ(json_integer_value(json_object_get(ro, "stage")), 2);
    CHECK_EQ(stage_count(ro, 1, "done"), 10);
    json_decref(ro);

    /* D3 mid-rollout: D2's 26 waiting jobs are cancelled, D3 starts over
     * from its canaries. */
    observe(&f, D3);
    ro = show(&f, "1");
    CHECK_STR_EQ(jstr(ro, "state"), "superseded");
    CHECK_EQ(stage_count(ro, 2, "cancelled"), 26);
    json_decref(ro);
    e = last_event(&f, "rollout.superseded");
    CHECK_STR_EQ(payload_str(e, "by"), D3);
    json_decref(e);
    ro = show(&f, BASE "@" D3);
    CHECK_STR_EQ(jstr(ro, "state"), "running");
    CHECK_EQ(json_integer_value(json_object_get(ro, "id")), 2);
    CHECK_EQ(stage_count(ro, 0, "queued"), 4);
    json_decref(ro);
    drain(&f);
    CHECK_OK(strata_store_job_count(counts, f.st, &err), &err);
    CHECK_EQ(counts[STRATA_STORE_JOB_SUCCEEDED], 14 + 4);
    CHECK_EQ(counts[STRATA_STORE_JOB_CANCELLED], 26);
    CHECK_EQ(counts[STRATA_STORE_JOB_FAILED], 0);

    /* Abort ends D3's rollout and cancels what waits. */
    CHECK_OK(strata_rollout_abort(&f.env, 2, "tester", &err), &err);
    ro = show(&f, "2");
    CHECK_STR_EQ(jstr(ro, "state"), "aborted");
    json_decref(ro);
    e = last_event(&f, "rollout.aborted");
    CHECK_STR_EQ(payload_str(e, "by"), "tester");
    printf("# %s\n", payload_str(e, "summary"));
    CHECK(strstr(payload_str(e, "summary"), "reached 4 of 40 images") != NULL);
    json_decref(e);
    CHECK_OK(strata_store_job_count(counts, f.st, &err), &err);
    CHECK_EQ(counts[STRATA_STORE_JOB_QUEUED], 0);
    fleet_close(&f);
}

/*
 * A stage's counts: a pr job that auto-merge left open on red checks
 * (its result's automerge.reason "checks_failed") ended, but its image
 * failed; one left open for a person's decision (a tag change) is done.
 */
TEST(red_checks_fail_an_image)
{
    static const char *const imgs[] = {"r.example/a:1", "r.example/b:1",
                                       "r.example/c:1"};
    static const int stages[] = {0, 0, 0};
    static const char *const reasons[] = {"checks_failed", "tag_change", NULL};
    const char *digest =
        "sha256:"
        "1111111111111111111111111111111111111111111111111111111111111111";
    strata_store *st = NULL;
    strata_error err = {0};
    json_t *pol = json_object(), *list = json_pack("[{s:i}]", "images", 3);
    int64_t id, jid;
    int nimages, done, failed;
    size_t i;

    CHECK_OK(strata_store_open(&st, ":memory:", &err), &err);
    CHECK_OK(strata_store_rollout_create(&id, st, "docker.io/library/x:1",
                                         digest, pol, list, imgs, stages, 3,
                                         &err),
             &err);
    for (i = 0; i < 3; i++) {
        strata_store_job_spec spec = {0};
        strata_store_job *job = NULL;
        json_t *result =
            reasons[i] == NULL
                ? json_pack("{s:{s:s}}", "automerge", "state", "merged")
                : json_pack("{s:{s:s, s:s}}", "automerge", "state", "blocked",
                            "reason", reasons[i]);

        spec.image = imgs[i];
        spec.action = "pr";
        spec.base_ref = "docker.io/library/x:1";
        spec.base_digest = digest;
        CHECK_OK(strata_store_job_enqueue(&jid, NULL, st, &spec, &err), &err);
        CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
        CHECK(job != NULL && job->id == jid);
        CHECK_OK(strata_store_job_finish(st, jid, STRATA_STORE_JOB_SUCCEEDED,
                                         NULL, result, &err),
                 &err);
        strata_store_job_free(job);
        json_decref(result);
    }
    CHECK_OK(strata_store_rollout_counts(&nimages, &done, &failed, st, id,
                                         digest, 0, &err),
             &err);
    CHECK_EQ(nimages, 3);
    CHECK_EQ(failed, 1);
    CHECK_EQ(done, 2);
    json_decref(pol);
    json_decref(list);
    strata_store_close(st);
}

int
main(void)
{
    RUN(assign_globs_percent_stable_parents_first);
    RUN(budget_arithmetic);
    RUN(config_check_names_the_stage);
    RUN(canary_fails_halts_resume_bakes_completes);
    RUN(newer_digest_supersedes_and_restart_resumes_in_place);
    RUN(red_checks_fail_an_image);
    return harness_done();
}
