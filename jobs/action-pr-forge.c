/*
 * action-pr-forge.c - the `pr` action back on the loop, after its worker:
 * with a forge (GitHub, GitLab, Gitea), ensures exactly one open request
 * for the pushed branch and records `pr.opened` or `pr.updated`; with a
 * plain git remote records `pr.branch_pushed`. When nothing was left to
 * pin, closes the branch's open request with a comment, has the branch
 * deleted and records `pr.closed`. Every path ends the job once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

static json_t *
result_of(strata_pr__ctx *c)
{
    static const char *const outcome[] = {"", "pushed", "unchanged",
                                          "nothing to pin"};

    return json_pack("{s:s, s:s, s:s, s:O, s:O, s:O}", "repo", c->repo->url,
                     "branch", c->branch, "outcome", outcome[c->commit.result],
                     "bases", c->bases, "changes", c->changes, "problems",
                     c->problems);
}

static void
finish(strata_pr__ctx *c, int code, const char *msg, json_t *result)
{
    strata_runner_job_done(c->job, code, msg, result);
    strata_pr__free(c);
}

/*
 * Records the job's event (keyed by the job: a rerun records none twice)
 * and ends the job: succeeded, or, when the store cannot record the
 * event, failed for a retry. The change is idempotent (the branch is
 * there, the request is found again), so the retry loses nothing and
 * opens nothing twice. payload is stolen.
 */
static void
finish_with_event(strata_pr__ctx *c, const char *type, const char *key_type,
                  json_t *payload, json_t *result)
{
    strata_error err = {0};
    char *key = strata_xasprintf("job %s %s", c->job->job->key, key_type);
    int rc;

    rc = strata_jobs_event_once(c->job->env, key, type, c->repo->url, payload,
                                &err);
    free(key);
    if (rc != 0)
        finish(c, err.code, err.msg, result);
    else
        finish(c, 0, NULL, result);
}

static void
delete_done(uv_work_t *req, int status)
{
    strata_pr__ctx *c = req->data;
    json_t *result;
    int plain;

    if (status != 0 || c->rc != 0) {
        finish(c, c->rc ? c->rc : STRATA_ECANCELED,
               c->rc ? c->err.msg : "cancelled", NULL);
        return;
    }
    result = result_of(c);
    json_object_set_new(result, "branch_deleted", json_boolean(c->deleted));
    plain = c->forge == NULL;
    strata_forge_close(c->forge);
    c->forge = NULL;
    /* A forge request closed, or (plain remote) the branch that was it. */
    if (c->closed != NULL || (plain && c->deleted)) {
        const char *url =
            c->closed && c->closed->url ? c->closed->url : c->branch;

        json_object_set_new(result, "closed", json_string(url));
        finish_with_event(
            c, "pr.closed", "pr.closed",
            json_pack("{s:s, s:s, s:s, s:s, s:I}", "repo", c->repo->url,
                      "pr_url", url, "reason", "already_pinned", "branch",
                      c->branch, "number",
                      (json_int_t) (c->closed ? c->closed->number : 0)),
            result);
        return;
    }
    finish(c, 0, NULL, result);
}

static void
start_delete(strata_pr__ctx *c)
{
    c->work.data = c;
    if (uv_queue_work(c->job->env->loop, &c->work, strata_pr__delete_work,
                      delete_done) != 0) {
        strata_forge_close(c->forge);
        c->forge = NULL;
        finish(c, STRATA_EINTERNAL, "cannot queue git work", NULL);
    }
}

static void
on_closed(const strata_forge_pr *pr, const strata_error *err, void *arg)
{
    strata_pr__ctx *c = arg;

    if (err != NULL) {
        strata_forge_close(c->forge);
        c->forge = NULL;
        finish(c, err->code, err->msg, result_of(c));
        return;
    }
    strata_forge_pr_free(c->closed);
    c->closed = strata_forge_pr_dup(pr);
    start_delete(c);
}

static void
on_found(const strata_forge_pr *pr, const strata_error *err, void *arg)
{
    strata_pr__ctx *c = arg;
    strata_forge_req fr = {0};
    strata_error e = {0};
    char *comment;

    if (err != NULL) {
        strata_forge_close(c->forge);
        c->forge = NULL;
        finish(c, err->code, err->msg, result_of(c));
        return;
    }
    if (pr == NULL) { /* merged or closed already: just the branch */
        start_delete(c);
        return;
    }
    comment = strata_pr__close_comment(c);
    fr.verb = STRATA_FORGE_CLOSE;
    fr.repo = c->repo->forge_repo;
    fr.number = pr->number;
    fr.comment = comment;
    if (strata_forge_start(c->forge, &fr, on_closed, c, &e) != 0) {
        strata_forge_close(c->forge);
        c->forge = NULL;
        finish(c, e.code, e.msg, result_of(c));
    }
    free(comment);
}

static const strata_forge_backend *
backend_of(const strata_config_repo *repo)
{
    if (repo->forge == STRATA_FORGE_NONE || repo->forge_repo == NULL)
        return NULL;
    return strata_forge_lookup(strata_config_forge_name(repo->forge));
}

static int
forge_open(strata_pr__ctx *c, const strata_forge_backend *be, strata_error *err)
{
    strata_forge_opts fo = {0};

    fo.api_url = c->repo->forge_api_url;
    fo.token = c->repo->token ? strata_secret_reveal(c->repo->token) : NULL;
    return strata_forge_new(&c->forge, c->job->env->loop, be, &fo, err);
}

/* Nothing to pin: close the branch's open request, delete the branch. */
static void
start_closing(strata_pr__ctx *c)
{
    const strata_forge_backend *be = backend_of(c->repo);
    strata_forge_req fr = {0};
    strata_error err = {0};

    if (be == NULL) {
        start_delete(c);
        return;
    }
    fr.verb = STRATA_FORGE_FIND;
    fr.repo = c->repo->forge_repo;
    fr.head = c->branch;
    if (forge_open(c, be, &err) != 0 ||
        strata_forge_start(c->forge, &fr, on_found, c, &err) != 0) {
        strata_forge_close(c->forge);
        c->forge = NULL;
        finish(c, err.code, err.msg, result_of(c));
    }
}

/*
 * The package delta of base (action-pr-evidence.c) as flat fields of an
 * event's payload, as sinks show them: "packages" (the summary line),
 * "packages_major", "packages_release_changed" and the four counts, and
 * "packages_cves_fixed" and "packages_cves_new" when linked with a scan;
 * or "packages_error" when it could not be read ("packages_vulns_error":
 * the scan). Nothing when it was not
 * read (pull_requests.evidence.packages off).
 */
static void
add_packages(json_t *payload, const strata_pr__ctx *c, const char *base)
{
    static const char *const kinds[] = {"upgraded", "added", "removed",
                                        "downgraded"};
    const json_t *e, *p;
    size_t i, k;

    json_array_foreach (c->bases, i, e) {
        const char *ref = strata_pr__field(e, "ref");

        if (ref == NULL || strcmp(ref, base) != 0)
            continue;
        if (strata_pr__field(e, "delta_error") != NULL)
            json_object_set_new(
                payload, "packages_error",
                json_string(strata_pr__field(e, "delta_error")));
        if (strata_pr__field(e, "vulns_error") != NULL)
            json_object_set_new(
                payload, "packages_vulns_error",
                json_string(strata_pr__field(e, "vulns_error")));
        if ((p = json_object_get(e, "packages")) == NULL)
            return;
        if (json_object_get(p, "cves_fixed") != NULL) {
            json_object_set(payload, "packages_cves_fixed",
                            json_object_get(p, "cves_fixed"));
            json_object_set(payload, "packages_cves_new",
                            json_object_get(p, "cves_new"));
        }
        json_object_set_new(payload, "packages",
                            json_string(strata_pr__field(p, "summary")));
        json_object_set(payload, "packages_major", json_object_get(p, "major"));
        json_object_set(payload, "packages_release_changed",
                        json_object_get(p, "release_changed"));
        for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            char key[32];

            snprintf(key, sizeof(key), "packages_%s", kinds[k]);
            json_object_set(
                payload, key,
                json_object_get(json_object_get(p, "counts"), kinds[k]));
        }
        return;
    }
}

static void
on_forge(const strata_forge_pr *pr, const strata_error *err, void *arg)
{
    strata_pr__ctx *c = arg;
    strata_runner_job *job = c->job;
    json_t *result = result_of(c), *payload;

    strata_forge_close(c->forge);
    c->forge = NULL;
    json_object_set_new(result, "commit", json_string(c->commit.commit));
    if (err != NULL) {
        finish(c, err->code, err->msg, result);
        return;
    }
    json_object_set_new(result, "pr",
                        json_pack("{s:I, s:s*, s:b}", "number",
                                  (json_int_t) pr->number, "url", pr->url,
                                  "created", pr->created));
    /*
     * One event per job for its request, keyed without its type: a rerun
     * after a crash finds the request it opened (created 0) and would
     * otherwise record a "pr.updated" beside the "pr.opened".
     */
    payload =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "repo", c->repo->url,
                  "pr_url", pr->url ? pr->url : c->branch, "image",
                  job->job->image, "base", job->job->base_ref, "new_digest",
                  job->job->base_digest, "number", (json_int_t) pr->number);
    add_packages(payload, c, job->job->base_ref);
    if (c->repo->pr.automerge) {
        /* Follows the request to its merge (action-pr-merge.c). */
        strata_pr__follow(c, backend_of(c->repo), pr,
                          pr->created ? "pr.opened" : "pr.updated", payload,
                          result);
        return;
    }
    finish_with_event(c, pr->created ? "pr.opened" : "pr.updated", "pr.request",
                      payload, result);
}

void
strata_pr__done(uv_work_t *req, int status)
{
    strata_pr__ctx *c = req->data;
    strata_runner_job *job = c->job;
    const strata_config_pr *cp = &c->repo->pr;
    const strata_forge_backend *be;
    strata_forge_req fr = {0};
    strata_error err = {0};
    json_t *result;

    if (status != 0 || c->rc != 0) {
        finish(c, c->rc ? c->rc : STRATA_ECANCELED,
               c->rc ? c->err.msg : "cancelled", NULL);
        return;
    }
    if (c->commit.result == STRATA_VCS_NOOP) {
        start_closing(c);
        return;
    }
    be = backend_of(c->repo);
    if (be == NULL) {
        /* A plain git remote: the branch is the change. */
        result = result_of(c);
        json_object_set_new(result, "commit", json_string(c->commit.commit));
        finish_with_event(c, "pr.branch_pushed", "pr.branch_pushed",
                          json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "repo",
                                    c->repo->url, "branch", c->branch, "commit",
                                    c->commit.commit, "image", job->job->image,
                                    "base", job->job->base_ref, "new_digest",
                                    job->job->base_digest),
                          result);
        return;
    }
    fr.verb = STRATA_FORGE_ENSURE;
    fr.repo = c->repo->forge_repo;
    fr.head = c->branch;
    fr.base = c->repo->branch;
    fr.title = c->title;
    fr.body = c->body;
    fr.draft = cp->draft;
    fr.labels = cp->labels.items;
    fr.nlabels = cp->labels.count;
    fr.reviewers = cp->reviewers.items;
    fr.nreviewers = cp->reviewers.count;
    if (forge_open(c, be, &err) != 0 ||
        strata_forge_start(c->forge, &fr, on_forge, c, &err) != 0) {
        strata_forge_close(c->forge);
        c->forge = NULL;
        finish(c, err.code, err.msg, result_of(c));
    }
}
