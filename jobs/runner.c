/*
 * runner.c - runs the jobs the planner queued, on the loop. It claims
 * runnable jobs from the store (lowest wave first; the store holds a wave
 * back while an earlier rebuild of the same base digest is pending) up to
 * a concurrency limit, hands each to its action backend, and records the
 * outcome: succeeded, a retry with exponential backoff, or failed once
 * its attempts are spent. A store that cannot record an outcome or claim
 * a job is counted (strata_jobs_error): the job stays "running" in the
 * store and the next start re-queues it. Each job is a small state machine;
 * job_step() alone decides what happens next and job_set_state() alone changes
 * and logs the state, with the job id on every line.
 *
 * Nothing here recurses through an action: strata_runner_job_done() only
 * records an outcome and queues the job on the finished list, and a
 * uv_idle_t (on_settle) stores at most SETTLE_BATCH outcomes per turn of
 * the loop, then claims more work. So an action may finish inside its own
 * start() (notify always does; a failing start does too) for twenty
 * thousand jobs in a row without growing the stack, and the loop polls
 * for I/O (API requests, signals) between batches.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

static const char *const state_names[] = {
    "claimed", "running", "succeeded", "retrying", "failed",
};

/* Finished jobs stored per turn of the loop: small enough that a turn
 * stays short (each is one store transaction), large enough that the
 * idle handle is not the bottleneck. */
#define SETTLE_BATCH 32

struct strata_runner {
    uv_loop_t *loop;
    strata_runner_env env;
    uv_timer_t timer;
    uv_idle_t settle; /* active while work is settling */
    strata_runner_job *done_head, *done_tail; /* finished, not yet stored */
    int open_handles; /* timer and settle until closed */
    int max_running;
    int running;
    int draining;
    int closing;
    int paused;
    int stats[5];
    strata_runner_done_cb done_cb;
    void *done_arg;
};

static const strata_action *const actions[] = {
    &strata_action_rebuild,
    &strata_action_exec,
    &strata_action_pr,
    &strata_action_rebase,
    &strata_action_notify,
    &strata_action_rescan,
    NULL,
};

static const strata_action *
action_lookup(const char *name)
{
    size_t i;

    for (i = 0; actions[i] != NULL; i++)
        if (strcmp(actions[i]->name, name) == 0)
            return actions[i];
    return NULL;
}

static void fill(strata_runner *r);
static void job_free(strata_runner_job *job);

/* 1 when pr job follows a request it has open (auto-merge's checks:
 * action-pr-merge.c keeps automerge:KEY): it opens nothing more. */
static int
following(strata_runner *r, const strata_runner_job *job)
{
    char *key = strata_xasprintf("automerge:%s", job->job->key), *val = NULL;
    int yes = strata_store_meta_get(&val, r->env.store, key, NULL) == 0 &&
              val != NULL;

    free(val);
    free(key);
    return yes;
}

/*
 * When a pr job over pull_requests.limits.per_hour may go on: *why (the
 * caller frees) and *next set, or 0 left when it is within the budget.
 * The budget counts the requests strata opened in the last hour and the
 * other pr jobs under way (each may open one).
 */
static void
pr_budget(char **why, int64_t *next, strata_runner *r,
          const strata_runner_job *job, const strata_config_repo *repo,
          int64_t now)
{
    int limit = r->env.cfg->pull_requests.limit_per_hour;
    strata_error err = {0};
    int running = 0;
    int64_t t = 0;
    char when[32];

    if (limit <= 0 || strcmp(job->job->action, "pr") != 0 || repo == NULL ||
        repo->forge == STRATA_FORGE_NONE || following(r, job))
        return;
    if (strata_store_job_pr_running(&running, r->env.store, job->job->id,
                                    &err) != 0 ||
        (running < limit &&
         strata_store_job_pr_opened(&t, r->env.store, now - 3600 * 1000,
                                    limit - running, &err) != 0)) {
        strata_jobs_error(&r->env, job->job->id,
                          "reading the pull-request "
                          "budget",
                          &err);
        return; /* counted; the job goes on rather than waiting blind */
    }
    if (running >= limit)
        *next = now + 60 * 1000; /* re-checked once those settle */
    else if (t > 0)
        *next = t + 3600 * 1000;
    else
        return;
    strata_format_time(when, sizeof(when), *next);
    *why = strata_xasprintf("over the pull-request budget "
                            "(pull_requests.limits.per_hour %d: %d opened in "
                            "the last hour or under way): waits until %s",
                            limit, limit, when);
}

/*
 * Whether job must wait: outside its schedule (config schedule_for: the
 * repository's, the base's or the top level's), or, a pr job, over the
 * pull-request budget. Then the job goes back to the queue until it may
 * go on (the next opening, the budget's), its attempt not counted, with
 * why in its "waiting" column, and 1 is returned. It is not claimed
 * again before that time: nothing polls it in between.
 */
static int
job_waits(strata_runner_job *job)
{
    strata_runner *r = job->runner;
    const strata_config_data *cfg = r->env.cfg;
    const strata_config_repo *repo = NULL;
    const strata_config_image *img = NULL;
    const strata_config_schedule *sc;
    const strata_schedule *sched;
    strata_error err = {0};
    int64_t now, next = 0;
    const char *whose;
    char *why = NULL;
    char when[32];

    if (cfg == NULL)
        return 0;
    strata_config_target(&repo, &img, cfg, job->job->image);
    sc = strata_config_schedule_for(cfg, repo, job->job->base_ref);
    now = strata_store_now(r->env.store);
    if (sc != NULL) {
        whose = repo != NULL && sc == &repo->schedule ? "the repository's"
                : sc == &cfg->schedule                ? "the default"
                                                      : "the base's";
        sched = sc->compiled;
        if (sched == NULL) {
            /* Never: a loaded configuration's schedules are read at load. */
            next = now + 3600 * 1000;
            strata_format_time(when, sizeof(when), next);
            why = strata_xasprintf("%s schedule was not read at load: "
                                   "checked again at %s",
                                   whose, when);
        } else if (strata_schedule_open(sched, now)) {
            /* open: go on */
        } else if ((next = strata_schedule_next_open(sched, now)) < 0) {
            next = now + 86400 * 1000;
            strata_format_time(when, sizeof(when), next);
            why = strata_xasprintf("outside %s schedule, which does not open "
                                   "in the next 800 days: checked again at %s",
                                   whose, when);
        } else {
            strata_format_time(when, sizeof(when), next);
            why = strata_xasprintf("outside %s schedule window: waits until "
                                   "%s",
                                   whose, when);
        }
    }
    if (why == NULL &&
        strata_rollout__gate(&why, &next, &r->env, job->job, &err) != 0) {
        strata_jobs_error(&r->env, job->job->id, "reading its rollout", &err);
        why = strata_xasprintf("its rollout cannot be read (%s): checked "
                               "again in a minute",
                               err.msg);
        next = now + 60 * 1000;
    }
    if (why == NULL)
        pr_budget(&why, &next, r, job, repo, now);
    if (why == NULL)
        return 0;
    if (strata_store_job_defer(r->env.store, job->job->id, next, why, &err) !=
        0)
        strata_jobs_error(&r->env, job->job->id, "deferring a job", &err);
    else
        strata_log_job(STRATA_LOG_INFO, job->job->id, "%s %s: %s",
                       job->job->action, job->job->image, why);
    free(why);
    r->running--;
    job_free(job);
    return 1;
}

static void
job_set_state(strata_runner_job *job, strata_runner_job_state state)
{
    strata_log_job(STRATA_LOG_INFO, job->job->id, "%s %s: %s -> %s",
                   job->job->action, job->job->image, state_names[job->state],
                   state_names[state]);
    job->state = state;
}

static void
job_free(strata_runner_job *job)
{
    strata_store_job_free(job->job);
    json_decref(job->result);
    free(job->error);
    free(job->wait_why);
    free(job);
}

/* The one place that decides what a job does next. */
static void
job_step(strata_runner_job *job)
{
    strata_runner *r = job->runner;
    strata_store *st = r->env.store;
    strata_error err = {0};
    const strata_action *a;
    int requeued = 0;

    switch (job->state) {
    case STRATA_JOB_CLAIMED:
        if (job_waits(job))
            return; /* back in the queue, freed */
        a = action_lookup(job->job->action);
        if (a == NULL) {
            char *msg = strata_xasprintf("no action '%s' in this strata",
                                         job->job->action);

            job->permanent = 1;
            strata_runner_job_done(job, STRATA_EINVAL, msg, NULL);
            free(msg);
            return;
        }
        job_set_state(job, STRATA_JOB_RUNNING);
        if (a->start(job, &err) != 0) {
            /* The action never calls back: record its error here. */
            strata_runner_job_done(job, err.code, err.msg, NULL);
        }
        return;
    case STRATA_JOB_RUNNING:
        return; /* the action calls strata_runner_job_done() */
    case STRATA_JOB_SUCCEEDED:
        if (job->wait_why != NULL) {
            /* strata_runner_job_wait: queued again, no outcome. */
            if (strata_store_job_defer(st, job->job->id, job->wait_until,
                                       job->wait_why, &err) != 0)
                strata_jobs_error(&r->env, job->job->id, "deferring a job",
                                  &err);
            else
                strata_log_job(STRATA_LOG_INFO, job->job->id,
                               "%s %s: queued again: %s", job->job->action,
                               job->job->image, job->wait_why);
            goto done;
        }
        if (strata_store_job_finish(st, job->job->id,
                                    STRATA_STORE_JOB_SUCCEEDED, NULL,
                                    job->result, &err) != 0)
            strata_jobs_error(&r->env, job->job->id, "recording success", &err);
        strata_rollout__settled(&r->env, job->job);
        break;
    case STRATA_JOB_RETRYING: {
        /* 2 s, 4 s, 8 s, ... capped at 10 min. */
        if (r->paused && job->code == STRATA_ECANCELED) {
            /* The daemon stops and cut it short (SIGTERM ends a fetch):
             * not an attempt that failed. Queued again, the attempt not
             * counted; the next start runs it. */
            if (strata_store_job_release(st, job->job->id, &err) != 0)
                strata_jobs_error(&r->env, job->job->id,
                                  "re-queueing a job cut short by the "
                                  "shutdown",
                                  &err);
            else
                strata_log_job(STRATA_LOG_INFO, job->job->id,
                               "cancelled by the shutdown: queued again");
            goto done;
        }
        int64_t next = strata_now_ms() +
                       (int64_t) strata_backoff_ms(
                           1000, (unsigned) job->job->attempts, 600 * 1000);

        if (strata_store_job_retry(&requeued, st, job->job->id, job->error,
                                   next, &err) != 0)
            strata_jobs_error(&r->env, job->job->id, "recording a retry", &err);
        else if (!requeued)
            strata_log_job(STRATA_LOG_WARN, job->job->id,
                           "no attempts left: failed");
        if (!requeued)
            strata_rollout__settled(&r->env, job->job);
        r->stats[requeued ? STRATA_JOB_RETRYING : STRATA_JOB_FAILED]++;
        goto done;
    }
    case STRATA_JOB_FAILED:
        if (strata_store_job_finish(st, job->job->id, STRATA_STORE_JOB_FAILED,
                                    job->error, job->result, &err) != 0)
            strata_jobs_error(&r->env, job->job->id, "recording a failure",
                              &err);
        strata_rollout__settled(&r->env, job->job);
        break;
    }
    r->stats[job->state]++;
done:
    r->running--;
    job_free(job);
}

static void on_settle(uv_idle_t *h);

/* Makes the loop come back to on_settle on its next turn. */
static void
settle_soon(strata_runner *r)
{
    if (!r->closing && !uv_is_active((uv_handle_t *) &r->settle))
        uv_idle_start(&r->settle, on_settle);
}

void
strata_runner_job_done(strata_runner_job *job, int code, const char *error,
                       json_t *result)
{
    if (result != NULL) {
        json_decref(job->result);
        job->result = result; /* steals the reference */
    }
    job->code = code;
    if (code == 0 && job->wait_why != NULL) {
        /* strata_runner_job_wait: logged when it is queued again. */
        job->state = STRATA_JOB_SUCCEEDED;
    } else if (code == 0) {
        job_set_state(job, STRATA_JOB_SUCCEEDED);
    } else {
        free(job->error);
        job->error = strata_xstrdup(error ? error : strata_error_name(code));
        strata_log_job(STRATA_LOG_WARN, job->job->id, "%s", job->error);
        /* Bad input will not get better by trying again. */
        if (job->permanent || code == STRATA_EINVAL ||
            code == STRATA_ENOTFOUND || code == STRATA_EAUTH)
            job_set_state(job, STRATA_JOB_FAILED);
        else
            job_set_state(job, STRATA_JOB_RETRYING);
    }
    job->next = NULL;
    if (job->runner->done_tail != NULL)
        job->runner->done_tail->next = job;
    else
        job->runner->done_head = job;
    job->runner->done_tail = job;
    settle_soon(job->runner);
}

void
strata_runner_job_wait(strata_runner_job *job, int64_t until_ms,
                       const char *why)
{
    free(job->wait_why);
    job->wait_why = strata_xstrdup(why ? why : "waiting");
    job->wait_until = until_ms;
    strata_runner_job_done(job, 0, NULL, NULL);
}

/* Drains are over when nothing runs and nothing waits to be stored. */
static void
maybe_done(strata_runner *r)
{
    strata_runner_done_cb cb = r->done_cb;

    if (!r->draining || r->running > 0 || r->done_head != NULL || cb == NULL)
        return;
    r->draining = 0;
    r->done_cb = NULL;
    cb(r, r->done_arg);
}

/* One turn's worth of settling: store a batch of outcomes, claim more
 * work, and stop the idle handle once nothing is left to do. */
static void
on_settle(uv_idle_t *h)
{
    strata_runner *r = h->data;
    int n;

    for (n = 0; n < SETTLE_BATCH && r->done_head != NULL; n++) {
        strata_runner_job *job = r->done_head;

        r->done_head = job->next;
        if (r->done_head == NULL)
            r->done_tail = NULL;
        job_step(job);
    }
    fill(r);
    if (r->done_head == NULL) {
        uv_idle_stop(&r->settle);
        maybe_done(r);
    }
}

static void
fill(strata_runner *r)
{
    strata_error err = {0};

    while (!r->closing && !r->paused && r->running < r->max_running) {
        strata_store_job *sj = NULL;
        strata_runner_job *job;

        if (strata_store_job_claim(&sj, r->env.store, &err) != 0) {
            /* Counted: run --once must not take this for an empty queue. */
            strata_jobs_error(&r->env, 0, "claiming a job", &err);
            break;
        }
        if (sj == NULL)
            break;
        job = strata_xcalloc(1, sizeof(*job));
        job->runner = r;
        job->job = sj;
        job->env = &r->env;
        job->state = STRATA_JOB_CLAIMED;
        r->running++;
        strata_log_job(STRATA_LOG_INFO, sj->id,
                       "%s %s (base %s@%s, wave %d, attempt %d)", sj->action,
                       sj->image, sj->base_ref ? sj->base_ref : "-",
                       sj->base_digest, sj->wave, sj->attempts);
        job_step(job);
    }
}

static void
on_tick(uv_timer_t *t)
{
    fill(t->data);
}

int
strata_runner_new(strata_runner **out, uv_loop_t *loop,
                  const strata_runner_env *env, int max_running,
                  strata_error *err)
{
    strata_runner *r = strata_xcalloc(1, sizeof(*r));

    r->loop = loop;
    r->env = *env;
    r->max_running = max_running > 0 ? max_running : 4;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_idle_init(loop, &r->settle);
    r->settle.data = r;
    r->open_handles = 2;
    *out = r;
    return 0;
}

void
strata_runner_drain(strata_runner *r, strata_runner_done_cb cb, void *arg)
{
    r->paused = 0;
    r->draining = 1;
    r->done_cb = cb;
    r->done_arg = arg;
    fill(r);
    settle_soon(r); /* cb runs from there, even when nothing was queued */
}

void
strata_runner_start(strata_runner *r, uint64_t poll_ms)
{
    r->paused = 0;
    uv_timer_start(&r->timer, on_tick, 0, poll_ms);
}

void
strata_runner_pause(strata_runner *r)
{
    r->paused = 1;
    uv_timer_stop(&r->timer);
}

void
strata_runner_set_env(strata_runner *r, const strata_runner_env *env)
{
    r->env = *env;
}

void
strata_runner_kick(strata_runner *r)
{
    fill(r);
}

int
strata_runner_running(const strata_runner *r)
{
    return r->running;
}

void
strata_runner_stats(const strata_runner *r, int *succeeded, int *failed,
                    int *retrying)
{
    *succeeded = r->stats[STRATA_JOB_SUCCEEDED];
    *failed = r->stats[STRATA_JOB_FAILED];
    *retrying = r->stats[STRATA_JOB_RETRYING];
}

static void
on_handle_closed(uv_handle_t *h)
{
    strata_runner *r = h->data;

    if (--r->open_handles == 0)
        free(r);
}

void
strata_runner_close(strata_runner *r)
{
    if (r == NULL)
        return;
    r->closing = 1;
    uv_timer_stop(&r->timer);
    uv_idle_stop(&r->settle);
    /* Outcomes not stored yet stay "running" in the store, and the next
     * start requeues them, as after a crash. */
    while (r->done_head != NULL) {
        strata_runner_job *job = r->done_head;

        r->done_head = job->next;
        job_free(job);
    }
    r->done_tail = NULL;
    uv_close((uv_handle_t *) &r->timer, on_handle_closed);
    uv_close((uv_handle_t *) &r->settle, on_handle_closed);
}
