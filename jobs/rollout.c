/*
 * rollout.c - progressive rollouts (config `rollout:`). When the planner
 * queues a base digest's jobs under a rollout policy, it records a
 * rollout: each impacted image's stage (strata_rollout_assign) and the
 * policy as it was. The runner asks strata_rollout__gate before it runs
 * a job: a job whose stage has not started goes back to the queue with
 * "waiting" saying why. Each job that ends calls strata_rollout__settled,
 * and rollout_step(), the one writer of a rollout's state, moves it on:
 * a stage whose images all reached their actions' promise succeeds, the
 * next starts after the bake; a stage over the failure budget halts the
 * rollout until `strata rollout resume` (or abort). Everything is in the
 * store, so a restart goes on at the same place.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

/* A queued job of a stage that waits for an earlier stage is looked at
 * again after this long at the latest (the stage's end wakes it). */
#define STAGE_RECHECK_MS (10 * 60 * 1000)
/* A halted rollout's jobs: `rollout resume` wakes them. */
#define HALT_RECHECK_MS (60 * 60 * 1000)

/* ---- stage assignment ------------------------------------------------ */

typedef struct ranked {
    uint64_t hash;
    size_t i;
} ranked;

static int
cmp_hash(const void *a, const void *b)
{
    const ranked *x = a, *y = b;

    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

uint64_t
strata_rollout_rank(const char *base, const char *image)
{
    char *s = strata_xasprintf("%s\n%s", base, image);
    uint64_t h = strata_str_hash(s);

    free(s);
    return h;
}

static int
in_list(const strata_config_strings *l, const char *s, int glob)
{
    size_t i;

    for (i = 0; s != NULL && i < l->count; i++)
        if (glob ? fnmatch(l->items[i], s, 0) == 0
                 : strcmp(l->items[i], s) == 0)
            return 1;
    return 0;
}

void
strata_rollout_assign(int *stages, const strata_config_rollout *p,
                      const strata_catalog *cat, const char *base,
                      const char *const *images, const char *const *parents,
                      size_t n)
{
    strata_strmap *index = strata_strmap_new();
    ranked *r = strata_xcalloc(n + 1, sizeof(*r));
    size_t s, i, k, m;

    for (i = 0; i < n; i++) {
        stages[i] = -1;
        strata_strmap_put(index, images[i], (void *) (uintptr_t) (i + 1));
    }
    for (s = 0; s < p->n_stages; s++) {
        const strata_config_rollout_stage *st = &p->stages[s];

        if (st->percent > 0) {
            /* The first ceil(percent * n / 100) by rank not yet taken. */
            size_t want = ((size_t) st->percent * n + 99) / 100;

            for (i = 0, m = 0; i < n; i++)
                if (stages[i] < 0) {
                    r[m].hash = strata_rollout_rank(base, images[i]);
                    r[m].i = i;
                    m++;
                }
            qsort(r, m, sizeof(*r), cmp_hash);
            for (k = 0; k < m && k < want; k++)
                stages[r[k].i] = (int) s;
            continue;
        }
        for (i = 0; i < n; i++) {
            if (stages[i] >= 0)
                continue;
            if (in_list(&st->images, images[i], 1) ||
                (st->teams.count > 0 &&
                 in_list(&st->teams, strata_catalog_team_of(cat, images[i]),
                         0)))
                stages[i] = (int) s;
        }
    }
    for (i = 0; i < n; i++) {
        uintptr_t pi;

        if (stages[i] < 0)
            stages[i] = (int) p->n_stages; /* the rest */
        /* Never before its parent (listed earlier: waves are in order). */
        pi = parents[i] != NULL
                 ? (uintptr_t) strata_strmap_get(index, parents[i])
                 : 0;
        if (pi != 0 && pi - 1 < i && stages[pi - 1] > stages[i])
            stages[i] = stages[pi - 1];
    }
    free(r);
    strata_strmap_free(index);
}

int
strata_rollout_over_budget(int images_budget, int percent_budget,
                           int failed_total, int failed_stage, int stage_images)
{
    if (failed_total > images_budget)
        return 1;
    /* failed / images > percent / 100, in integers. */
    return stage_images > 0 && (int64_t) failed_stage * 100 >
                                   (int64_t) percent_budget * stage_images;
}

/* ---- the state machine ----------------------------------------------- */

static const char *
str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t
num(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void
set_num(json_t *o, const char *k, int64_t v)
{
    json_object_set_new(o, k, json_integer(v));
}

/* Records a rollout event once (the key names the rollout, type, stage). */
static void
emit(const strata_runner_env *env, const json_t *ro, const char *type,
     int stage, json_t *payload)
{
    strata_error err = {0};
    char *subject =
        strata_xasprintf("%s@%s", str(ro, "base"), str(ro, "digest"));

    json_object_set_new(payload, "rollout", json_integer(num(ro, "id")));
    json_object_set_new(payload, "base", json_string(str(ro, "base")));
    json_object_set_new(payload, "digest", json_string(str(ro, "digest")));
    if (stage >= 0) {
        set_num(payload, "stage", stage + 1);
        set_num(payload, "stages",
                (int64_t) json_array_size(json_object_get(ro, "stages")));
    }
    /* No key: a rollout's state is saved before its event, so a restart
     * never moves it twice (an event may be lost to a crash in between). */
    if (strata_jobs_event_once(env, NULL, type, subject, payload, &err) != 0)
        strata_jobs_error(env, 0, "recording a rollout event", &err);
    free(subject);
}

static int
save(strata_store *st, json_t *ro, strata_error *err)
{
    int rc = strata_store_rollout_update(
        st, num(ro, "id"), str(ro, "state"), (int) num(ro, "stage"),
        json_object_get(ro, "stages"), str(ro, "note"), err);

    set_num(ro, "updated", strata_store_now(st));
    return rc;
}

static void
event_with_summary(const strata_runner_env *env, json_t *ro, const char *type,
                   int stage, json_t *payload)
{
    strata_error err = {0};
    char *summary = NULL;

    if (strata_rollout__summary(&summary, env->store, ro, &err) != 0) {
        strata_jobs_error(env, 0, "summing up a rollout", &err);
        summary = strata_xstrdup("(no summary: the store failed)");
    }
    json_object_set_new(payload, "summary", json_string(summary));
    json_object_set_new(payload, "note", json_string(str(ro, "note")));
    emit(env, ro, type, stage, payload);
    free(summary);
}

/*
 * Moves rollout ro on as far as it can now: starts the current stage once
 * the previous one has baked, ends it when all its images are done or
 * failed, halts it over the budget, completes the rollout after the last.
 * The only writer of a rollout's state (with resume and abort).
 */
static int
rollout_step(const strata_runner_env *env, json_t *ro, strata_error *err)
{
    strata_store *st = env->store;
    json_t *stages = json_object_get(ro, "stages");
    json_t *policy = json_object_get(ro, "policy");
    int nstages = (int) json_array_size(stages);
    int rc = 0;

    while (strcmp(str(ro, "state"), "running") == 0) {
        int cur = (int) num(ro, "stage");
        json_t *sg = json_array_get(stages, (size_t) cur);
        int64_t now = strata_store_now(st);
        int images = 0, done = 0, failed = 0, i;
        int64_t failed_total = 0;
        char when[32], *why;

        if (sg == NULL)
            return strata_error_set(err, STRATA_ESTATE,
                                    "rollout %lld has no stage %d",
                                    (long long) num(ro, "id"), cur + 1);
        if (json_is_null(json_object_get(sg, "started"))) {
            json_t *prev =
                cur > 0 ? json_array_get(stages, (size_t) cur - 1) : NULL;
            int64_t at = prev != NULL
                             ? num(prev, "finished") + num(policy, "bake")
                             : now;

            if (now < at)
                return 0; /* baking: the stage's jobs are due at `at` */
            set_num(sg, "started", now);
            if ((rc = save(st, ro, err)) != 0 ||
                (rc = strata_store_rollout_wake(NULL, st, num(ro, "id"),
                                                str(ro, "digest"), cur, now, "",
                                                err)) != 0)
                return rc;
            emit(env, ro, "rollout.stage_started", cur, json_object());
        }
        if ((rc = strata_store_rollout_counts(&images, &done, &failed, st,
                                              num(ro, "id"), str(ro, "digest"),
                                              cur, err)) != 0)
            return rc;
        for (i = 0; i < cur; i++) {
            json_t *p = json_array_get(stages, (size_t) i);

            failed_total += num(p, "failed") - num(p, "forgiven");
        }
        set_num(sg, "images", images);
        set_num(sg, "failed", failed);
        failed_total += failed - num(sg, "forgiven");
        if (strata_rollout_over_budget(
                (int) num(policy, "budget_images"),
                (int) num(policy, "budget_percent"), (int) failed_total,
                failed - (int) num(sg, "forgiven"), images)) {
            char *note = strata_xasprintf(
                "halted in stage %d of %d: %d of its %d images failed "
                "(failure_budget: images %lld, percent %lld)",
                cur + 1, nstages, failed, images,
                (long long) num(policy, "budget_images"),
                (long long) num(policy, "budget_percent"));

            json_object_set_new(ro, "state", json_string("halted"));
            json_object_set_new(ro, "note", json_string(note));
            free(note);
            if ((rc = save(st, ro, err)) != 0)
                return rc;
            strata_log(STRATA_LOG_WARN, "rollout %lld %s@%s: %s",
                       (long long) num(ro, "id"), str(ro, "base"),
                       str(ro, "digest"), str(ro, "note"));
            event_with_summary(env, ro, "rollout.halted", cur, json_object());
            return 0;
        }
        if (done + failed < images)
            return 0; /* still under way */
        set_num(sg, "finished", now);
        if (cur + 1 == nstages) {
            json_object_set_new(ro, "state", json_string("completed"));
            if ((rc = save(st, ro, err)) != 0)
                return rc;
            emit(env, ro, "rollout.stage_succeeded", cur, json_object());
            event_with_summary(env, ro, "rollout.completed", -1, json_object());
            return 0;
        }
        set_num(ro, "stage", cur + 1);
        strata_format_time(when, sizeof(when), now + num(policy, "bake"));
        why = strata_xasprintf("rollout stage %d of %d starts after stage %d "
                               "bakes until %s",
                               cur + 2, nstages, cur + 1, when);
        if ((rc = save(st, ro, err)) == 0)
            rc = strata_store_rollout_wake(NULL, st, num(ro, "id"),
                                           str(ro, "digest"), cur + 1,
                                           now + num(policy, "bake"), why, err);
        free(why);
        if (rc != 0)
            return rc;
        emit(env, ro, "rollout.stage_succeeded", cur, json_object());
    }
    return rc;
}

/* ---- the planner's side ---------------------------------------------- */

/* The policy as stored with a rollout (so a reload does not change it). */
static json_t *
policy_json(const strata_config_rollout *p)
{
    json_t *o = json_object(), *stages = json_array();
    size_t i, j;

    for (i = 0; i < p->n_stages; i++) {
        const strata_config_rollout_stage *s = &p->stages[i];
        json_t *e = json_object(), *l = json_array();
        const strata_config_strings *list =
            s->images.count > 0 ? &s->images : &s->teams;

        for (j = 0; j < list->count; j++)
            json_array_append_new(l, json_string(list->items[j]));
        if (s->percent > 0) {
            json_object_set_new(e, "percent", json_integer(s->percent));
            json_decref(l);
        } else {
            json_object_set_new(e, s->images.count > 0 ? "images" : "teams", l);
        }
        json_array_append_new(stages, e);
    }
    json_array_append_new(stages, json_pack("{s:b}", "rest", 1));
    json_object_set_new(o, "stages", stages);
    set_num(o, "bake", (int64_t) p->bake_ms);
    set_num(o, "budget_images", p->budget_images);
    set_num(o, "budget_percent", p->budget_percent);
    return o;
}

/* Ends the rollouts of base other than digest that are still going. */
static int
supersede(const strata_runner_env *env, const char *base, const char *digest,
          strata_error *err)
{
    json_t *list = NULL, *ro;
    size_t i;
    int rc;

    if ((rc = strata_store_rollout_list(&list, env->store, "active", 0, err)) !=
        0)
        return rc;
    json_array_foreach (list, i, ro) {
        char *why;

        if (strcmp(str(ro, "base"), base) != 0 ||
            strcmp(str(ro, "digest"), digest) == 0)
            continue;
        why = strata_xasprintf("superseded by %s@%s", base, digest);
        rc = strata_store_rollout_cancel_jobs(NULL, env->store, num(ro, "id"),
                                              str(ro, "digest"), why, err);
        json_object_set_new(ro, "state", json_string("superseded"));
        json_object_set_new(ro, "note", json_string(why));
        free(why);
        if (rc == 0)
            rc = save(env->store, ro, err);
        if (rc != 0)
            break;
        emit(env, ro, "rollout.superseded", -1,
             json_pack("{s:s}", "by", digest));
    }
    json_decref(list);
    return rc;
}

int
strata_rollout__plan(strata_store *st, const strata_config_data *cfg,
                     const strata_catalog *cat, const char *base,
                     const char *digest, const strata_graph_waves *w,
                     const json_t *waves, strata_error *err)
{
    const strata_config_rollout *p = strata_config_rollout_for(cfg, base);
    strata_runner_env env = {0};
    strata_strmap *parent = strata_strmap_new(), *seen = strata_strmap_new();
    const char **images = NULL, **parents = NULL;
    int *stages = NULL;
    json_t *wave, *e, *ro = NULL, *policy = NULL, *slist = NULL;
    size_t i, j, n = 0, cap = 0;
    int64_t id = 0;
    int rc;

    env.store = st;
    env.cfg = cfg;
    if ((rc = supersede(&env, base, digest, err)) != 0 || p == NULL)
        goto out;
    if ((rc = strata_store_rollout_get(&ro, st, 0, base, digest, err)) != 0 ||
        ro != NULL)
        goto out; /* planned before */
    for (i = 0; w != NULL && i < w->nwaves; i++)
        for (j = 0; j < w->len[i]; j++)
            strata_strmap_put(parent, w->waves[i][j].image,
                              (void *) w->waves[i][j].parent);
    /* The images that got jobs, in wave order. */
    json_array_foreach (waves, i, wave) {
        json_array_foreach (wave, j, e) {
            const char *image = str(e, "image");

            if (image == NULL || strata_strmap_has(seen, image))
                continue;
            strata_strmap_put(seen, image, NULL);
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                images = strata_xrealloc(images, cap * sizeof(*images));
                parents = strata_xrealloc(parents, cap * sizeof(*parents));
            }
            images[n] = image;
            parents[n] = strata_strmap_get(parent, image);
            n++;
        }
    }
    stages = strata_xcalloc(n + 1, sizeof(*stages));
    strata_rollout_assign(stages, p, cat, base, images, parents, n);
    policy = policy_json(p);
    slist = json_array();
    for (i = 0; i <= p->n_stages; i++) {
        int k = 0;

        for (j = 0; j < n; j++)
            k += stages[j] == (int) i;
        json_array_append_new(slist,
                              json_pack("{s:i, s:n, s:n, s:i, s:i}", "images",
                                        k, "started", "finished", "failed", 0,
                                        "forgiven", 0));
    }
    if ((rc = strata_store_rollout_create(&id, st, base, digest, policy, slist,
                                          images, stages, n, err)) != 0)
        goto out;
    /*
     * Every later stage's jobs wait from the start, and say so: a job
     * that waits for a rollout stage holds back no later wave (the claim
     * reads "waiting"), or an earlier stage's child would wait for it.
     */
    for (i = 1; i <= p->n_stages; i++) {
        char *why =
            strata_xasprintf("rollout stage %d of %d starts after "
                             "stage %d succeeds",
                             (int) i + 1, (int) p->n_stages + 1, (int) i);

        rc = strata_store_rollout_wake(NULL, st, id, digest, (int) i,
                                       strata_store_now(st) + STAGE_RECHECK_MS,
                                       why, err);
        free(why);
        if (rc != 0)
            goto out;
    }
    if ((rc = strata_store_rollout_get(&ro, st, id, NULL, NULL, err)) != 0)
        goto out;
    emit(&env, ro, "rollout.started", -1,
         json_pack("{s:i, s:i}", "images", (int) n, "stages",
                   (int) p->n_stages + 1));
    rc = rollout_step(&env, ro, err);
out:
    json_decref(ro);
    json_decref(policy);
    json_decref(slist);
    free(images);
    free(parents);
    free(stages);
    strata_strmap_free(parent);
    strata_strmap_free(seen);
    return rc;
}

/* ---- the runner's side ----------------------------------------------- */

static void
format_when(char *out, size_t n, int64_t ms)
{
    strata_format_time(out, n, ms);
}

int
strata_rollout__gate(char **why, int64_t *next, const strata_runner_env *env,
                     const strata_store_job *job, strata_error *err)
{
    strata_store *st = env->store;
    json_t *ro = NULL, *stages, *sg;
    int64_t now = strata_store_now(st);
    int stage = -1, cur, nstages, rc;
    const char *state;
    char when[32];

    *why = NULL;
    *next = 0;
    if (job->base_ref == NULL)
        return 0;
    if ((rc = strata_store_rollout_get(&ro, st, 0, job->base_ref,
                                       job->base_digest, err)) != 0 ||
        ro == NULL)
        return rc;
    rc = strata_store_rollout_image_stage(&stage, st, num(ro, "id"), job->image,
                                          err);
    if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
        rc = 0;
        goto out;
    }
    if (rc != 0)
        goto out;
    state = str(ro, "state");
    if (strcmp(state, "running") == 0 && stage == (int) num(ro, "stage") &&
        (rc = rollout_step(env, ro, err)) != 0)
        goto out; /* it may start the stage now that the bake is over */
    state = str(ro, "state");
    stages = json_object_get(ro, "stages");
    nstages = (int) json_array_size(stages);
    cur = (int) num(ro, "stage");
    sg = json_array_get(stages, (size_t) cur);
    if (strcmp(state, "completed") == 0 || stage < cur ||
        (strcmp(state, "running") == 0 && stage == cur &&
         !json_is_null(json_object_get(sg, "started"))))
        goto out; /* go on */
    if (strcmp(state, "halted") == 0) {
        *next = now + HALT_RECHECK_MS;
        *why = strata_xasprintf("rollout %lld is halted (%s): `strata rollout "
                                "resume %lld` goes on",
                                (long long) num(ro, "id"), str(ro, "note"),
                                (long long) num(ro, "id"));
    } else if (strcmp(state, "running") != 0) {
        *next = now + HALT_RECHECK_MS * 24;
        *why = strata_xasprintf("rollout %lld is %s", (long long) num(ro, "id"),
                                state);
    } else if (stage == cur) {
        json_t *prev = json_array_get(stages, (size_t) cur - 1);

        *next =
            num(prev, "finished") + num(json_object_get(ro, "policy"), "bake");
        format_when(when, sizeof(when), *next);
        *why = strata_xasprintf("rollout stage %d of %d starts after stage %d "
                                "bakes until %s",
                                stage + 1, nstages, cur, when);
    } else {
        *next = now + STAGE_RECHECK_MS;
        *why = strata_xasprintf("rollout stage %d of %d starts after stage %d "
                                "succeeds",
                                stage + 1, nstages, cur + 1);
    }
out:
    json_decref(ro);
    return rc;
}

void
strata_rollout__settled(const strata_runner_env *env,
                        const strata_store_job *job)
{
    strata_error err = {0};
    json_t *ro = NULL;

    if (job->base_ref == NULL)
        return;
    if (strata_store_rollout_get(&ro, env->store, 0, job->base_ref,
                                 job->base_digest, &err) != 0 ||
        (ro != NULL && strcmp(str(ro, "state"), "running") == 0 &&
         rollout_step(env, ro, &err) != 0))
        strata_jobs_error(env, job->id, "moving a rollout on", &err);
    json_decref(ro);
}

/* ---- resume and abort ------------------------------------------------ */

int
strata_rollout_resume(const strata_runner_env *env, int64_t id, const char *who,
                      strata_error *err)
{
    json_t *ro = NULL, *sg;
    int rc;

    if ((rc = strata_store_rollout_get(&ro, env->store, id, NULL, NULL, err)) !=
        0)
        return rc;
    if (ro == NULL)
        return strata_error_set(err, STRATA_ENOTFOUND, "no rollout %lld",
                                (long long) id);
    if (strcmp(str(ro, "state"), "halted") != 0) {
        rc = strata_error_set(err, STRATA_ECONFLICT,
                              "rollout %lld is %s, not halted", (long long) id,
                              str(ro, "state"));
        goto out;
    }
    /* The failures so far are forgiven: the budget counts new ones. */
    sg = json_array_get(json_object_get(ro, "stages"),
                        (size_t) num(ro, "stage"));
    set_num(sg, "forgiven", num(sg, "failed"));
    json_object_set_new(ro, "state", json_string("running"));
    json_object_del(ro, "note");
    if ((rc = save(env->store, ro, err)) != 0 ||
        (rc = strata_store_rollout_wake(
             NULL, env->store, id, str(ro, "digest"), (int) num(ro, "stage"),
             strata_store_now(env->store), "", err)) != 0)
        goto out;
    emit(env, ro, "rollout.resumed", (int) num(ro, "stage"),
         json_pack("{s:s}", "by", who));
    rc = rollout_step(env, ro, err);
out:
    json_decref(ro);
    return rc;
}

int
strata_rollout_abort(const strata_runner_env *env, int64_t id, const char *who,
                     strata_error *err)
{
    json_t *ro = NULL;
    char *why = NULL;
    int rc, n = 0;

    if ((rc = strata_store_rollout_get(&ro, env->store, id, NULL, NULL, err)) !=
        0)
        return rc;
    if (ro == NULL)
        return strata_error_set(err, STRATA_ENOTFOUND, "no rollout %lld",
                                (long long) id);
    if (strcmp(str(ro, "state"), "running") != 0 &&
        strcmp(str(ro, "state"), "halted") != 0) {
        rc = strata_error_set(err, STRATA_ECONFLICT,
                              "rollout %lld is %s already", (long long) id,
                              str(ro, "state"));
        goto out;
    }
    why = strata_xasprintf("rollout %lld aborted by %s", (long long) id, who);
    if ((rc = strata_store_begin(env->store, err)) != 0)
        goto out;
    json_object_set_new(ro, "state", json_string("aborted"));
    json_object_set_new(ro, "note", json_string(why));
    if ((rc = strata_store_rollout_cancel_jobs(
             &n, env->store, id, str(ro, "digest"), why, err)) != 0 ||
        (rc = save(env->store, ro, err)) != 0 ||
        (rc = strata_store_commit(env->store, err)) != 0) {
        strata_store_rollback(env->store);
        goto out;
    }
    event_with_summary(env, ro, "rollout.aborted", (int) num(ro, "stage"),
                       json_pack("{s:s, s:i}", "by", who, "cancelled", n));
out:
    free(why);
    json_decref(ro);
    return rc;
}
