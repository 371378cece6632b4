/*
 * action-pr-merge.c - auto-merge: the `pr` action follows the request it
 * ensured until it can merge it (the repository's pr.automerge).
 *
 * After the request is open (and its pr.opened/pr.updated recorded), the
 * policy is checked on the loop: the change must be digest-only (every
 * reference keeps its tag), each base it pins must be verified where a
 * verification policy exists (the gate's row for that digest says
 * "verified"), and the evidence policy (pull_requests.evidence.hold_on)
 * must not hold it; a request that fails it stays open for a human, and
 * `pr.merge_blocked` says why. Then a worker reads the request's head and
 * its checks (forge/merge.c) and:
 *   - green and mergeable: merges at the head commit it saw green (never
 *     forced; branch protection's 405 or a moved head's 409 are "not
 *     now"), deletes strata's own branch and records `pr.merged`;
 *   - red: `pr.merge_blocked` (checks_failed), the request stays open;
 *   - cannot merge (a conflict: the base branch moved under it): the pin
 *     commit is made again on the base branch's head and strata's branch,
 *     and only it, is force-pushed (strata_pr__work), then it waits for the
 *     new head's checks;
 *   - pending, or refused for now: the job goes back to the queue
 *     (strata_runner_job_wait) for the next check, 30 s doubling up to
 *     30 min, at most pr.automerge.max_checks times, then
 *     `pr.merge_blocked`. Every later run of the job is the whole `pr`
 *     action again, so a base branch that moved meanwhile is rebased onto.
 * A forge that fails (network, 5xx, rate limits, after the client's own
 * retries) fails the attempt, which the runner retries: never red checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

#define FIRST_WAIT_MS (30 * 1000)
#define LONGEST_WAIT_MS (30 * 60 * 1000)

typedef enum follow_next {
    F_WAIT = 0,  /* check again later */
    F_MERGED,    /* strata merged it */
    F_ELSEWHERE, /* merged by someone else meanwhile */
    F_CLOSED,    /* closed without merging */
    F_RED,       /* a check failed */
} follow_next;

struct strata_pr__merge {
    strata_forge_pr *pr;
    json_t *result;
    const strata_forge_backend *be;
    int checks; /* this check's number, 1-based */
    /* The worker's. */
    strata_forge_status status;
    strata_forge_merge_result merge;
    follow_next next;
    const char *why; /* what is waited for: "checks", "no_checks", ... */
    int rebased;
    int branch_deleted;
    char delete_error[sizeof(((strata_error *) 0)->msg)];
};

void
strata_pr__follow_free(strata_pr__merge *f)
{
    if (f == NULL)
        return;
    strata_forge_pr_free(f->pr);
    json_decref(f->result);
    free(f);
}

static void
end(strata_pr__ctx *c, int code, const char *msg)
{
    json_t *result = NULL;

    if (c->follow != NULL) {
        result = c->follow->result;
        c->follow->result = NULL;
    }
    strata_runner_job_done(c->job, code, msg, result);
    strata_pr__free(c);
}

static json_t *
event_base(const strata_pr__ctx *c)
{
    const strata_forge_pr *pr = c->follow->pr;

    return json_pack("{s:s, s:s, s:I, s:s}", "repo", c->repo->url, "pr_url",
                     pr->url ? pr->url : c->branch, "number",
                     (json_int_t) pr->number, "branch", c->branch);
}

/*
 * Records type once for this job under key_type (payload stolen): a job
 * that runs again records nothing twice. 0 or the store's error.
 */
static int
record(strata_pr__ctx *c, const char *type, const char *key_type,
       json_t *payload, strata_error *err)
{
    char *key = strata_xasprintf("job %s %s", c->job->job->key, key_type);
    int rc = strata_jobs_event_once(c->job->env, key, type, c->repo->url,
                                    payload, err);

    free(key);
    return rc;
}

/* The request stays open for a human: pr.merge_blocked, job succeeded. */
static void
blocked(strata_pr__ctx *c, const char *reason, const char *detail)
{
    strata_error err = {0};
    json_t *payload = event_base(c);

    json_object_set_new(payload, "reason", json_string(reason));
    if (detail != NULL && detail[0] != '\0')
        json_object_set_new(payload, "detail", json_string(detail));
    json_object_set_new(c->follow->result, "automerge",
                        json_pack("{s:s, s:s, s:s?, s:i}", "state", "blocked",
                                  "reason", reason, "detail",
                                  detail && detail[0] ? detail : NULL, "checks",
                                  c->follow->checks));
    if (record(c, "pr.merge_blocked", "pr.merge_blocked", payload, &err) != 0)
        end(c, err.code, err.msg);
    else
        end(c, 0, NULL);
}

/* ---- the policy, on the loop ------------------------------------------ */

/* The length of a reference without its "@digest". */
static size_t
without_digest(const char *s)
{
    const char *at = strchr(s, '@');

    return at ? (size_t) (at - s) : strlen(s);
}

int
strata_pr__digest_only(const json_t *changes, char **detail)
{
    const json_t *ch;
    size_t i;

    *detail = NULL;
    json_array_foreach (changes, i, ch) {
        const char *from = strata_pr__field(ch, "from");
        const char *to = strata_pr__field(ch, "to");
        size_t lf, lt;

        if (from == NULL || to == NULL)
            continue;
        lf = without_digest(from);
        lt = without_digest(to);
        if (lf != lt || strncmp(from, to, lf) != 0) {
            *detail = strata_xasprintf(
                "%s:%lld: %s -> %s",
                strata_pr__field(ch, "path") ? strata_pr__field(ch, "path")
                                             : "?",
                (long long) json_integer_value(json_object_get(ch, "line")),
                from, to);
            return -1;
        }
    }
    return 0;
}

/* The gate's row for ref (new), or NULL. */
static json_t *
gate_row(strata_store *st, const char *ref)
{
    char *key = strata_xasprintf("verify:%s", ref), *val = NULL;
    json_t *row = NULL;

    if (strata_store_meta_get(&val, st, key, NULL) == 0 && val != NULL)
        row = json_loads(val, 0, NULL);
    free(key);
    free(val);
    return row;
}

/* 0 when each live base is verified where a policy exists. */
static int
verified(const strata_pr__ctx *c, char **detail)
{
    const strata_runner_env *env = c->job->env;
    const json_t *b;
    size_t i;

    json_array_foreach (c->bases, i, b) {
        const char *ref = strata_pr__field(b, "ref");
        const char *digest = strata_pr__field(b, "digest");
        json_t *row;
        const char *d, *state;
        int policy;

        if (ref == NULL || digest == NULL ||
            !json_is_true(json_object_get(b, "live")))
            continue;
        row = gate_row(env->store, ref);
        policy =
            row != NULL || strata_config_verify_for(env->cfg, NULL, ref)->set;
        d = json_string_value(json_object_get(row, "digest"));
        state = json_string_value(json_object_get(row, "state"));
        if (policy && (d == NULL || state == NULL || strcmp(d, digest) != 0 ||
                       strcmp(state, "verified") != 0)) {
            *detail = strata_xasprintf("%s@%.19s: %s", ref, digest,
                                       d != NULL && strcmp(d, digest) == 0 &&
                                               state != NULL
                                           ? state
                                           : "not verified");
            json_decref(row);
            return -1;
        }
        json_decref(row);
    }
    return 0;
}

/* 0 when hold_on holds none of the live bases' updates. */
static int
not_held(const strata_pr__ctx *c, char **detail, strata_error *err)
{
    const strata_runner_env *env = c->job->env;
    unsigned hold_on = env->cfg->pull_requests.evidence_hold_on;
    const json_t *b;
    size_t i;

    if (hold_on == 0)
        return 0;
    json_array_foreach (c->bases, i, b) {
        const char *ref = strata_pr__field(b, "ref");
        const char *digest = strata_pr__field(b, "digest");
        const char *old = strata_pr__field(b, "old");
        char *key, *approved = NULL, *why;
        json_t *row = NULL;
        int rc;

        if (ref == NULL || digest == NULL || old == NULL ||
            !json_is_true(json_object_get(b, "live")))
            continue;
        key = strata_xasprintf("approved:%s", ref);
        rc = strata_store_meta_get(&approved, env->store, key, err);
        free(key);
        if (rc == STRATA_ENOTFOUND) {
            strata_error_clear(err);
            rc = 0;
        }
        if (rc == 0 && approved != NULL && strcmp(approved, digest) == 0) {
            free(approved);
            continue;
        }
        free(approved);
        if (rc != 0 || (rc = strata_hold_get(&row, env->store, ref, old, digest,
                                             err)) != 0)
            return rc;
        if (row == NULL) {
            *detail = strata_xasprintf("%s: the package delta %.19s -> %.19s "
                                       "was not read",
                                       ref, old, digest);
            return 1;
        }
        why = strata_hold_match(row, hold_on);
        json_decref(row);
        if (why != NULL) {
            *detail = strata_xasprintf("%s: %s", ref, why);
            free(why);
            return 1;
        }
    }
    return 0;
}

/* ---- the worker -------------------------------------------------------- */

static void
forge_opts(strata_forge_opts *fo, const strata_pr__ctx *c)
{
    memset(fo, 0, sizeof(*fo));
    fo->api_url = c->repo->forge_api_url;
    fo->token = c->repo->token ? strata_secret_reveal(c->repo->token) : NULL;
}

/* The pin commit again on the base branch's head; force-pushed. */
static void
rebase_branch(strata_pr__ctx *c)
{
    json_array_clear(c->changes);
    json_array_clear(c->problems);
    free(c->title);
    free(c->body);
    c->title = c->body = NULL;
    c->work.data = c;
    strata_pr__work(&c->work);
    c->follow->rebased = c->rc == 0 && c->commit.result == STRATA_VCS_PUSHED;
}

static void
delete_branch(strata_pr__ctx *c)
{
    strata_pr__merge *f = c->follow;

    c->work.data = c;
    strata_pr__delete_work(&c->work);
    if (c->rc != 0) {
        /* Merged all the same: say so, do not fail the job. */
        snprintf(f->delete_error, sizeof(f->delete_error), "%s", c->err.msg);
        c->rc = 0;
        strata_error_clear(&c->err);
    }
    f->branch_deleted = c->deleted;
}

static void
follow_work(uv_work_t *req)
{
    strata_pr__ctx *c = req->data;
    strata_pr__merge *f = c->follow;
    const strata_config_pr *cp = &c->repo->pr;
    strata_forge_opts fo;
    strata_forge_status *s = &f->status;

    forge_opts(&fo, c);
    f->next = F_WAIT;
    c->rc = strata_forge_status_get(s, f->be, &fo, c->repo->forge_repo,
                                    f->pr->number, &c->err);
    if (c->rc != 0)
        return;
    if (strcmp(s->state, "merged") == 0) {
        f->next = F_ELSEWHERE;
        return;
    }
    if (strcmp(s->state, "open") != 0) {
        f->next = F_CLOSED;
        return;
    }
    if (s->mergeable == 0) {
        rebase_branch(c);
        f->why = "rebased";
        return;
    }
    switch (s->checks) {
    case STRATA_FORGE_CHECKS_RED:
        f->next = F_RED;
        return;
    case STRATA_FORGE_CHECKS_PENDING:
        f->why = "checks";
        return;
    case STRATA_FORGE_CHECKS_NONE:
        f->why = "no_checks";
        return;
    case STRATA_FORGE_CHECKS_GREEN:
        break;
    }
    if (s->mergeable < 0) {
        f->why = "mergeable";
        return;
    }
    c->rc = strata_forge_merge(
        &f->merge, f->be, &fo, c->repo->forge_repo, f->pr->number, s->sha,
        (strata_forge_merge_method) cp->automerge_method, &c->err);
    if (c->rc != 0)
        return;
    switch (f->merge.outcome) {
    case STRATA_FORGE_MERGED:
        f->next = F_MERGED;
        if (cp->automerge_delete_branch)
            delete_branch(c);
        return;
    case STRATA_FORGE_MERGE_CONFLICT:
        rebase_branch(c);
        f->why = "rebased";
        return;
    case STRATA_FORGE_MERGE_MOVED:
        f->why = "moved";
        return;
    case STRATA_FORGE_MERGE_REFUSED:
        f->why = "refused";
        return;
    }
}

/* ---- back on the loop --------------------------------------------------- */

static void
merged(strata_pr__ctx *c)
{
    strata_pr__merge *f = c->follow;
    strata_runner_job *job = c->job;
    strata_error err = {0};
    json_t *payload = event_base(c);
    const char *method =
        strata_forge_merge_method_names[c->repo->pr.automerge_method];

    json_object_set_new(payload, "method", json_string(method));
    json_object_set_new(payload, "sha", json_string(f->status.sha));
    json_object_set_new(payload, "branch_deleted",
                        json_boolean(f->branch_deleted));
    json_object_set_new(payload, "image", json_string(job->job->image));
    if (job->job->base_ref != NULL)
        json_object_set_new(payload, "base", json_string(job->job->base_ref));
    json_object_set_new(payload, "new_digest",
                        json_string(job->job->base_digest));
    json_object_set_new(f->result, "automerge",
                        json_pack("{s:s, s:s, s:s, s:b, s:s?, s:i}", "state",
                                  "merged", "method", method, "sha",
                                  f->status.sha, "branch_deleted",
                                  f->branch_deleted, "delete_error",
                                  f->delete_error[0] ? f->delete_error : NULL,
                                  "checks", f->checks));
    if (record(c, "pr.merged", "pr.merged", payload, &err) != 0)
        end(c, err.code, err.msg);
    else
        end(c, 0, NULL);
}

static void
wait_more(strata_pr__ctx *c)
{
    strata_pr__merge *f = c->follow;
    strata_runner_job *job = c->job;
    int max = c->repo->pr.automerge_max_checks;
    int64_t now = strata_store_now(job->env->store), until;
    char when[32], *why;
    const char *what = f->why ? f->why : "checks";
    const char *detail =
        strcmp(what, "refused") == 0 || strcmp(what, "moved") == 0
            ? f->merge.message
            : f->status.detail;

    if (max > 0 && f->checks >= max) {
        char *d =
            strata_xasprintf("%d checks: %s%s%s", f->checks,
                             strcmp(what, "checks") == 0 ? "pending" : what,
                             detail[0] ? ": " : "", detail);

        blocked(c,
                strcmp(what, "no_checks") == 0 ? "no_checks"
                : strcmp(what, "refused") == 0 ? "refused"
                                               : "checks_pending",
                d);
        free(d);
        return;
    }
    until = now + (int64_t) strata_backoff_ms(FIRST_WAIT_MS,
                                              (unsigned) (f->checks - 1),
                                              LONGEST_WAIT_MS);
    strata_format_time(when, sizeof(when), until);
    why = strata_xasprintf(
        "auto-merge of #%lld: %s%s%s (check %d of %d): "
        "checked again at %s",
        (long long) f->pr->number,
        strcmp(what, "checks") == 0      ? "checks pending"
        : strcmp(what, "no_checks") == 0 ? "no checks yet"
        : strcmp(what, "rebased") == 0   ? "rebased onto the base branch"
        : strcmp(what, "refused") == 0   ? "the forge refused the merge for now"
        : strcmp(what, "moved") == 0     ? "the head moved"
                                         : "mergeability not known yet",
        detail[0] ? ": " : "", detail, f->checks, max, when);
    strata_runner_job_wait(job, until, why);
    free(why);
    strata_pr__free(c);
}

static void
follow_done(uv_work_t *req, int status)
{
    strata_pr__ctx *c = req->data;
    strata_pr__merge *f = c->follow;

    if (status != 0 || c->rc != 0) {
        end(c, c->rc ? c->rc : STRATA_ECANCELED,
            c->rc ? c->err.msg : "cancelled");
        return;
    }
    switch (f->next) {
    case F_MERGED:
        merged(c);
        return;
    case F_ELSEWHERE:
        json_object_set_new(f->result, "automerge",
                            json_pack("{s:s}", "state", "merged_elsewhere"));
        end(c, 0, NULL);
        return;
    case F_CLOSED:
        blocked(c, "closed", f->status.state);
        return;
    case F_RED:
        blocked(c, "checks_failed", f->status.detail);
        return;
    case F_WAIT:
        wait_more(c);
        return;
    }
}

/*
 * This job's count of checks, read and bumped in the meta row
 * automerge:KEY = {"checks": N, "created": bool}: the request this job
 * opened stays counted as opened by it (pull_requests.limits.per_hour)
 * although later runs find it open.
 */
static int
count_check(int *out, strata_pr__ctx *c, strata_error *err)
{
    strata_store *st = c->job->env->store;
    char *key = strata_xasprintf("automerge:%s", c->job->job->key);
    char *val = NULL, *text;
    json_t *row = NULL, *pr = json_object_get(c->follow->result, "pr");
    int rc, created;

    rc = strata_store_meta_get(&val, st, key, err);
    if (rc == STRATA_ENOTFOUND) { /* the first check */
        strata_error_clear(err);
        rc = 0;
    }
    if (val != NULL)
        row = json_loads(val, 0, NULL);
    *out = (int) json_integer_value(json_object_get(row, "checks")) + 1;
    created = json_is_true(json_object_get(row, "created")) ||
              json_is_true(json_object_get(pr, "created"));
    if (created && json_is_object(pr))
        json_object_set_new(pr, "created", json_true());
    json_decref(row);
    free(val);
    text = strata_xasprintf("{\"checks\": %d, \"created\": %s}", *out,
                            created ? "true" : "false");
    if (rc == 0)
        rc = strata_store_meta_set(st, key, text, err);
    free(text);
    free(key);
    return rc;
}

void
strata_pr__follow(strata_pr__ctx *c, const strata_forge_backend *be,
                  const strata_forge_pr *pr, const char *type, json_t *payload,
                  json_t *result)
{
    strata_error err = {0};
    char *detail = NULL;
    int rc;

    c->follow = strata_xcalloc(1, sizeof(*c->follow));
    c->follow->pr = strata_forge_pr_dup(pr);
    c->follow->result = result;
    c->follow->be = be;
    if (record(c, type, "pr.request", payload, &err) != 0) {
        end(c, err.code, err.msg);
        return;
    }
    if (strata_pr__digest_only(c->changes, &detail) != 0) {
        blocked(c, "tag_change", detail);
        free(detail);
        return;
    }
    if (verified(c, &detail) != 0) {
        blocked(c, "unverified", detail);
        free(detail);
        return;
    }
    if ((rc = not_held(c, &detail, &err)) != 0) {
        if (rc < 0)
            end(c, err.code, err.msg);
        else
            blocked(c, "held", detail);
        free(detail);
        return;
    }
    if (count_check(&c->follow->checks, c, &err) != 0) {
        end(c, err.code, err.msg);
        return;
    }
    c->work.data = c;
    if (uv_queue_work(c->job->env->loop, &c->work, follow_work, follow_done) !=
        0)
        end(c, STRATA_EINTERNAL, "cannot queue forge work");
}
