/*
 * jobs.h - what follows a base update: the planner (plan.c) turns each
 * due update into jobs, wave by wave; the runner (runner.c) claims and
 * runs them on the loop, one action backend per file (action-*.c); every
 * step is recorded as an event (event.c).
 */
#ifndef STRATA_JOBS_H
#define STRATA_JOBS_H

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "core.h"
#include "graph.h"
#include "oci.h"
#include "packages.h"
#include "store.h"

/*
 * plan.c: for every watched base whose current digest moved past the one
 * last planned (and has soaked), enqueues the impacted images' actions.
 * dry_run changes nothing. *out (new reference) lists each update:
 * [{"base", "old", "new", "first_seen", "state": "first-seen" | "produced"
 * | "awaiting-signature" | "quarantined" | "building" | "soaking" |
 * "awaiting-evidence" | "held" | "awaiting-approval" | "planned",
 * "evidence": the hold_on row (hold.c), "hold_reason": why it is held,
 * "verify": the gate's row when the base
 * has a signature policy (watchers.h, strata_watchers_gate_get), "waves":
 * [[{"image", "action", "wave", "repo", "path", "line", "job",
 * "created"}]]}]. "building": a rebuild or rebase of that image is queued
 * or running, so the new digest is probably strata's own.
 */
int strata_plan_updates(json_t **out, strata_store *st, const strata_graph *g,
                        const strata_config_data *cfg, int dry_run, int64_t now,
                        strata_error *err);
/*
 * The same, where each base's signature policy is the one the
 * configuration and the golden catalog (may be NULL) give it
 * (strata_config_verify_for): a digest of a base under an enforcing
 * policy that the gate has not verified (or approved) is never planned.
 */
int strata_plan_updates_catalog(json_t **out, strata_store *st,
                                const strata_graph *g,
                                const strata_config_data *cfg,
                                const strata_catalog *catalog, int dry_run,
                                int64_t now, strata_error *err);
/*
 * hold.c: the hold_on policy (pull_requests.evidence.hold_on). With it
 * set, a base update's package delta (old -> new) is read once, by the
 * daemon in a worker, and its verdict kept in the meta row "evidence:REF"
 * = {"old", "new", "platform", "time", "summary", "os_old", "os_new",
 * "release_changed", "major", "release": "12 → 13" (when it changed),
 * "majors", "downgrades", "removals": ["libc6 2.36-9 → 3.0-1", ...] (at
 * most 20 each), "downgraded", "removed": counts}, or after a failed read
 * {"old", "new", "platform", "error", "attempts", "time", "retry_at"}.
 * The planner reads it back: no row for the pair, or an error, is
 * "awaiting-evidence"; a row that matches the policy is "held" until
 * `strata approve` records approved:REF = the digest.
 *
 * strata_hold_evidence: the row of a delta read (new); a and b as read.
 */
json_t *strata_hold_evidence(const char *old, const char *new_,
                             const char *platform, const strata_pkg_image *a,
                             const strata_pkg_image *b, int64_t now);
/*
 * Reads ref@old and ref@new_ from the registry for each of platforms
 * ("linux/amd64,linux/arm64"), blocking (a worker's; st, which may be
 * NULL, keeps each digest read), and returns the row (new): the evidence
 * of every platform folded into one (flags or'ed, counts added, the
 * lists merged; "platform" names them; "summary" is the one summary when
 * every platform's is the same, else "PLATFORM: summary; ..."; a
 * platform one digest lacks is left out and named in "skipped"), or,
 * when any read failed otherwise, the error with attempts =
 * prev_attempts + 1 and retry_at a backoff from now.
 */
json_t *strata_hold_read_sync(strata_store *st,
                              const strata_registry_opts *opts, const char *ref,
                              const char *old, const char *new_,
                              const char *platforms, unsigned prev_attempts,
                              int64_t now);
/* Writes row as "evidence:REF". */
int strata_hold_record(strata_store *st, const char *ref, const json_t *row,
                       strata_error *err);
/* *out (new): ref's row when it is for old -> new_, else NULL. */
int strata_hold_get(json_t **out, strata_store *st, const char *ref,
                    const char *old, const char *new_, strata_error *err);
/* Why row matches hold_on ("distribution release 12 → 13; libc6 2.36 →
 * 3.0"), new; NULL when it does not, or when row is an error. */
char *strata_hold_match(const json_t *row, unsigned hold_on);

/* Records that strata itself produced image@digest (a rebuild). */
int strata_plan__mark_produced(strata_store *st, const char *image,
                               const char *digest, strata_error *err);

struct strata_vcs_cancel;

/* What every job can reach. All borrowed from the daemon. */
typedef struct strata_runner_env {
    uv_loop_t *loop;
    const strata_config *config;
    const strata_config_data *cfg;
    strata_store *store;
    const strata_graph *graph;
    strata_registry *registry;    /* may be NULL */
    const char *cache_dir;        /* git mirrors */
    struct strata_notify *notify; /* may be NULL: events not notified */
    /*
     * May be NULL. Counts the errors that no caller could be handed, only
     * logged (strata_jobs_error): a store that failed to record a job's
     * outcome, an event, what a rebuild produced, a claim. `run --once`
     * exits 1 when any was counted. Touched on the loop thread only.
     */
    int *errors;
    /*
     * May be NULL. Set (strata_vcs_cancel_set) when the daemon stops: a
     * job's git fetch or push under way (pr, buildah) ends within about
     * 100 ms with STRATA_ECANCELED, and the job is re-queued.
     */
    struct strata_vcs_cancel *cancel;
} strata_runner_env;

typedef enum strata_runner_job_state {
    STRATA_JOB_CLAIMED = 0,
    STRATA_JOB_RUNNING,
    STRATA_JOB_SUCCEEDED,
    STRATA_JOB_RETRYING,
    STRATA_JOB_FAILED,
} strata_runner_job_state;

typedef struct strata_runner strata_runner;

/* A claimed job while it runs. Owned by the runner. */
typedef struct strata_runner_job {
    strata_runner *runner;
    const strata_runner_env *env;
    strata_store_job *job;
    strata_runner_job_state state;
    json_t *result; /* owned */
    char *error;
    int code;                       /* the outcome's, 0 when it succeeded */
    int permanent;                  /* no retry */
    struct strata_runner_job *next; /* the runner's list of finished jobs */
    int64_t wait_until;             /* strata_runner_job_wait's */
    char *wait_why;

} strata_runner_job;

/*
 * An action backend (OpenSMTPD style): start() begins the work and, if it
 * returns 0, calls strata_runner_job_done() exactly once, later or now;
 * if it returns an error, it never calls it.
 *
 * The runner keeps libuv's contract towards its actions: whatever an
 * action does inside start(), including calling strata_runner_job_done()
 * there, the runner acts on it from a later turn of the loop (a uv_idle_t
 * settles finished jobs a bounded batch at a time), never from inside the
 * call, so thousands of jobs that complete at once neither recurse nor
 * keep the loop from serving the API and signals between batches.
 */
typedef struct strata_action {
    const char *name;
    int (*start)(strata_runner_job *job, strata_error *err);
} strata_action;

extern const strata_action strata_action_rebuild;
extern const strata_action strata_action_exec;
extern const strata_action strata_action_pr;
extern const strata_action strata_action_rebase;
extern const strata_action strata_action_notify;
extern const strata_action strata_action_rescan;

/* Ends the running job: code 0 succeeded; result is stolen (may be NULL).
 * Only records the outcome: the runner stores it and claims the next job
 * from the loop, after this returns. */
void strata_runner_job_done(strata_runner_job *job, int code, const char *error,
                            json_t *result);

/*
 * Ends the running job without an outcome: it goes back to the queue,
 * not claimed again before until_ms (the store's clock), its attempt not
 * counted, with why in its "waiting" column, as a job outside its
 * schedule window waits (a pr job following its request's checks).
 * Like strata_runner_job_done, only records it.
 */
void strata_runner_job_wait(strata_runner_job *job, int64_t until_ms,
                            const char *why);

typedef void (*strata_runner_done_cb)(strata_runner *r, void *arg);

int strata_runner_new(strata_runner **out, uv_loop_t *loop,
                      const strata_runner_env *env, int max_running,
                      strata_error *err);
/* Runs jobs until none is runnable and none runs; then cb, once, from the
 * loop (never from inside this call, even when nothing is queued). */
void strata_runner_drain(strata_runner *r, strata_runner_done_cb cb, void *arg);
/* For the daemon: looks for runnable jobs every poll_ms. */
void strata_runner_start(strata_runner *r, uint64_t poll_ms);
void strata_runner_kick(strata_runner *r);
int strata_runner_running(const strata_runner *r);
void strata_runner_stats(const strata_runner *r, int *succeeded, int *failed,
                         int *retrying);
/* Stops and frees after the loop runs; jobs must have finished. */
void strata_runner_close(strata_runner *r);
/* Claims no new job until strata_runner_start or _drain. */
void strata_runner_pause(strata_runner *r);
/* Replaces the environment (a reload); jobs under way see it too. */
void strata_runner_set_env(strata_runner *r, const strata_runner_env *env);

/*
 * Records an event (payload stolen: a flat object) in the store, logs it,
 * and hands it to the notifier when its type is one notify knows
 * (docs/events.md); a failure is logged and counted (strata_jobs_error),
 * never fatal (event.c).
 */
void strata_jobs_event(const strata_runner_env *env, const char *type,
                       const char *subject, json_t *payload);

/*
 * An error nobody can be handed: logged (as job job_id's when not 0) and
 * counted in env->errors, so that `run --once` does not exit 0 after it.
 */
void strata_jobs_error(const strata_runner_env *env, int64_t job_id,
                       const char *what, const strata_error *err);

/*
 * The same, once per key: the event row and its outbox rows are written in
 * one transaction, and an event with the same key recorded before (a job
 * that runs again after a crash) is found instead, under its first id, so
 * notify's delivery keys stay the same. Returns 0 or the store's error,
 * which the caller reports (the job then retries).
 */
int strata_jobs_event_once(const strata_runner_env *env, const char *key,
                           const char *type, const char *subject,
                           json_t *payload, strata_error *err);

/*
 * An event of a running job, keyed by the job's idempotency key and the
 * type (and, when per_attempt, the attempt: a failure of each attempt is
 * its own fact): a job that runs again after a crash records no second
 * event and notifies nothing under a second delivery key. payload is
 * stolen. Returns 0 or the store's error, as strata_jobs_event_once.
 */
int strata_jobs_job_event(const strata_runner_job *job, int per_attempt,
                          const char *type, const char *subject,
                          json_t *payload, strata_error *err);

/*
 * rollout.c: progressive rollouts (config `rollout:`), and
 * rollout-show.c: what they look like.
 *
 * strata_rollout_assign: stages[i] for each of images[0..n), listed
 * parents before children (parents[i]: its impacted parent, or NULL):
 * the first listed stage whose selector picks it (globs, catalog teams
 * (cat may be NULL), or a percentage: the first ceil(percent * n / 100)
 * images not yet taken, ranked by strata_rollout_rank), else
 * p->n_stages (the rest); never before its parent's stage.
 */
void strata_rollout_assign(int *stages, const strata_config_rollout *p,
                           const strata_catalog *cat, const char *base,
                           const char *const *images,
                           const char *const *parents, size_t n);
/* The stable rank of image among base's impacted images (FNV-1a). */
uint64_t strata_rollout_rank(const char *base, const char *image);
/* 1 when more than images_budget images failed (failed_total), or more
 * than percent_budget percent of a stage's stage_images (failed_stage). */
int strata_rollout_over_budget(int images_budget, int percent_budget,
                               int failed_total, int failed_stage,
                               int stage_images);
/*
 * `strata rollout resume|abort`: a halted rollout goes on (the failures
 * so far are forgiven) or a running or halted one ends, its queued jobs
 * cancelled; the event (rollout.resumed, rollout.aborted) names who.
 * env needs only store (and cfg); notify may be NULL.
 */
int strata_rollout_resume(const strata_runner_env *env, int64_t id,
                          const char *who, strata_error *err);
int strata_rollout_abort(const strata_runner_env *env, int64_t id,
                         const char *who, strata_error *err);
/* "ID" or "BASE@DIGEST" to a rollout id; STRATA_ENOTFOUND. */
int strata_rollout_find_id(int64_t *out, strata_store *st, const char *which,
                           strata_error *err);
/*
 * *out (new): the rollout "ID" or "BASE@DIGEST" as the store keeps it
 * (strata_store_rollout_get) with "images": [{"image", "stage", "state",
 * "jobs"}] and each stage's "counts" {state: n}. An image's state:
 * "failed", "running", "waiting for its stage", "waiting for window",
 * "waiting", "queued", "rebuilt", "rebased", "pull request open",
 * "done", "cancelled" (strata_rollout_image_state of its jobs).
 */
int strata_rollout_show(json_t **out, strata_store *st, const char *which,
                        strata_error *err);
const char *strata_rollout_image_state(const json_t *jobs);
/* The text `strata rollout show` prints (caller frees). */
char *strata_rollout_format(const json_t *shown);

#endif
