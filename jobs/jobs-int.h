/*
 * jobs-int.h - what the files of jobs/ share: the planner's helpers the
 * actions use, and the pr action's context across its three files.
 */
#ifndef STRATA_JOBS_INT_H
#define STRATA_JOBS_INT_H

#include <uv.h>

#include "forge.h"
#include "jobs.h"
#include "packages.h"
#include "pin.h"
#include "rebase.h"
#include "rebuild.h"
#include "scan.h"
#include "vcs.h"

/*
 * hold.c: the planner's decision on ref's update old -> cur under
 * hold_on: *state NULL (go on), "awaiting-evidence" or "held"; update
 * gets "evidence" and, when held, "hold_reason".
 */
int strata_plan__hold(const char **state, json_t *update, strata_store *st,
                      unsigned hold_on, const char *ref, const char *old,
                      const char *cur, strata_error *err);

/*
 * rollout.c: the planner records base@digest's rollout (when a policy
 * applies) after queueing waves (its entries' images, w's parents), and
 * supersedes the base's older rollouts; inside its transaction.
 */
int strata_rollout__plan(strata_store *st, const strata_config_data *cfg,
                         const strata_catalog *cat, const char *base,
                         const char *digest, const strata_graph_waves *w,
                         const json_t *waves, strata_error *err);
/* Whether job waits for its rollout: *why (caller frees) and *next set. */
int strata_rollout__gate(char **why, int64_t *next,
                         const strata_runner_env *env,
                         const strata_store_job *job, strata_error *err);
/* A job ended: its rollout moves on (errors counted). */
void strata_rollout__settled(const strata_runner_env *env,
                             const strata_store_job *job);
/* "BASE@DIGEST reached N of M images; F failed: a, b" (caller frees). */
int strata_rollout__summary(char **out, strata_store *st, const json_t *ro,
                            strata_error *err);

/* Expands {var} templates with shell-quoted values (action-exec.c). */
int strata_exec__expand(char **out, const char *tmpl, const char *const *vars,
                        strata_error *err);

/*
 * action-rescan.c: the scanner rescans use (the one named "default",
 * else the first configured), or NULL; and the options that run it on
 * image@digest (strings borrowed).
 */
const strata_config_scanner *
strata_jobs__scanner(const strata_config_data *cfg);
void strata_jobs__scan_opts(strata_scan_run_opts *o,
                            const strata_config_scanner *sc, const char *image,
                            const char *digest);

/* The package evidence of one base: its delta on each platform read. */
typedef struct strata_pr__base_evidence {
    size_t n;
    char *platforms[STRATA_PKG_MAX_PLATFORMS];
    strata_pkg_delta *deltas[STRATA_PKG_MAX_PLATFORMS];
} strata_pr__base_evidence;

void strata_pr__base_evidence_free(strata_pr__base_evidence *ev);

/* Auto-merge's state of a pr run (action-pr-merge.c). */
typedef struct strata_pr__merge strata_pr__merge;

/* One run of the pr action: made by its start(), freed by strata_pr__free. */
typedef struct strata_pr__ctx {
    strata_runner_job *job;
    const strata_config_repo *repo;
    strata_strmap *pins;   /* canonical ref -> digest (owned strings) */
    strata_strmap *origin; /* canonical ref -> the base it is pinned for */
    /* [{"ref", "digest", "old", "first_seen", "live"}], by ref; "live" (set
     * by the worker) when the change pins the base or an image from it. */
    json_t *bases;
    json_t *affected; /* [{"image", "rescan"}]: this repository's images */
    /* The worker's: base ref -> strata_pr__base_evidence (action-pr-evidence.c,
     * a delta per platform the base's watch lists, else linux/amd64);
     * a live base also gets "packages" (its summary) or "delta_error",
     * and "vulns_error" when a scanner is configured but its findings of
     * either digest could not be had. */
    strata_strmap *deltas;
    char *branch;
    char *title;
    char *body;
    uv_work_t work;
    /* Filled by the workers. */
    int rc;
    strata_error err;
    strata_vcs_commit_result commit;
    json_t *changes; /* [{"path", "line", "ref", "from", "to"}] */
    json_t *problems;
    int deleted; /* the strata/ branch existed and was deleted */
    /* Closing on the loop. */
    strata_forge *forge;
    strata_forge_pr *closed;  /* the request closed, or NULL */
    strata_pr__merge *follow; /* auto-merge, or NULL */
} strata_pr__ctx;

/*
 * verified.c: what verified ref@digest in words ("verified by key
 * `sha256:…`", "keyless identity `…` (issuer `…`), transparency log index
 * N", "NOT verified (unverified): …"), from the verification gate's row;
 * NULL when the base has no gate row for that digest. Caller frees.
 */
char *strata_jobs__verified_by(strata_store *st, const char *ref,
                               const char *digest);

/* action-pr.c: frees c and all it holds. */
void strata_pr__free(strata_pr__ctx *c);
/* The string member key of obj (borrowed), or NULL. */
const char *strata_pr__field(const json_t *obj, const char *key);
/* action-pr-change.c: the uv_queue_work workers (req->data is the ctx). */
void strata_pr__work(uv_work_t *req);
void strata_pr__delete_work(uv_work_t *req);
/*
 * action-pr-evidence.c, in the worker: the package delta of each live
 * base into c->deltas, or its "delta_error"; nothing when the repository's
 * pr.evidence.packages is off. Never fails.
 */
void strata_pr__evidence(strata_pr__ctx *c);
/* The comment a request gets when it is closed. Caller frees. */
char *strata_pr__close_comment(const strata_pr__ctx *c);
/*
 * action-pr-merge.c: with the repository's pr.automerge, after the
 * request pr is ensured: records the request's event (type, payload
 * stolen, once per job), checks the auto-merge policy, then follows the
 * request's checks to its merge, or waits (the job is queued again), or
 * records why it stays open. Ends the job; result is stolen.
 */
void strata_pr__follow(strata_pr__ctx *c, const strata_forge_backend *be,
                       const strata_forge_pr *pr, const char *type,
                       json_t *payload, json_t *result);
/* NULL is a no-op. */
void strata_pr__follow_free(strata_pr__merge *f);
/*
 * 0 when each of changes ([{"path", "line", "from", "to"}], the pins)
 * keeps its reference's tag, only its digest moving; else -1 and *detail
 * (new) names the first that does not: "Dockerfile:1: a:1 -> a:2@…".
 */
int strata_pr__digest_only(const json_t *changes, char **detail);
/* action-pr-forge.c: back on the loop after strata_pr__work. */
void strata_pr__done(uv_work_t *req, int status);

#endif
