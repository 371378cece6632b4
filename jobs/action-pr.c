/*
 * action-pr.c - the `pr` action: a digest-pinned change in the repository
 * that builds an impacted image. On the loop it gathers what to pin from
 * the store: each moved base at its planned digest (the base_digest of the
 * newest `pr` job of the repository for that base), and every image
 * between such a base and this one at its current digest (those strata
 * rebuilt in earlier waves). One request per base (strata/pin-<base>)
 * pins just the job's base; with the repository's `pr.group` one request
 * (strata/pin-all) pins every base that moved. A worker then syncs the git
 * mirror, pins every Dockerfile of the repository that references any of
 * them (so all jobs of one repository produce the same tree), and commits
 * (author and sign-off from the `pr` settings) and pushes the branch. Back
 * on the loop, a forge (GitHub, GitLab, Gitea) gets exactly one open
 * request for that branch, with the configured labels, reviewers and
 * draft flag; a plain git remote just has the branch, and the event says
 * so. Re-running the job pushes nothing new and finds the same request,
 * so a retry or a crash between push and API call never opens a second.
 *
 * When nothing is left to pin (the branch `main` already pins every digest:
 * the request was merged, or someone pinned by hand) the change is no
 * longer needed: the open request for the branch is closed with a comment,
 * then a second worker deletes the strata/ branch, and `pr.closed` is
 * recorded. Closing comes first because deleting a request's head branch
 * closes it on some forges without a word.
 *
 * This file gathers from the store what to pin and starts the action;
 * action-pr-change.c holds the git workers and the words of the change,
 * action-pr-forge.c what follows back on the loop (the forge, events).
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

#define GROUP_BRANCH "strata/pin-all"

void
strata_pr__free(strata_pr__ctx *c)
{
    size_t it = 0;
    const char *k;
    void *v;

    while (strata_strmap_next(c->pins, &it, &k, &v))
        free(v);
    strata_strmap_free(c->pins);
    it = 0;
    while (strata_strmap_next(c->origin, &it, &k, &v))
        free(v);
    strata_strmap_free(c->origin);
    json_decref(c->bases);
    json_decref(c->affected);
    free(c->branch);
    free(c->title);
    free(c->body);
    json_decref(c->changes);
    json_decref(c->problems);
    strata_forge_pr_free(c->closed);
    free(c);
}

static void
pin_put(strata_pr__ctx *c, const char *ref, const char *digest,
        const char *base)
{
    free(strata_strmap_put(c->pins, ref, strata_xstrdup(digest)));
    free(strata_strmap_put(c->origin, ref, strata_xstrdup(base)));
}

/* "docker.io/library/debian:12-slim" -> "strata/pin-debian-12-slim". */
static char *
branch_for(const char *base)
{
    const char *name = strrchr(base, '/');
    strata_buf b = STRATA_BUF_INIT;
    char *out;

    for (name = name ? name + 1 : base; *name != '\0'; name++) {
        char ch = *name;
        strata_buf_putc(&b, (ch >= 'a' && ch <= 'z') ||
                                    (ch >= '0' && ch <= '9') || ch == '.' ||
                                    ch == '_'
                                ? ch
                                : '-');
    }
    out = strata_xasprintf("strata/pin-%s", strata_buf_cstr(&b));
    strata_buf_release(&b);
    return out;
}

static int
cmp_ref(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

const char *
strata_pr__field(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* ---- what to pin, and the words around it ---------------------------- */

/*
 * The planned digest of each base this change pins: the base_digest of
 * the newest (largest id) `pr` job, not cancelled, of an image this
 * repository builds; only the job's own base unless grouping. The job's
 * own base and digest are always there, since it runs.
 */
static int
gather_bases(strata_strmap *out, strata_pr__ctx *c, int group,
             strata_error *err)
{
    const strata_runner_env *env = c->job->env;
    const strata_store_job *sj = c->job->job;
    json_t *jobs = NULL, *j;
    size_t i;
    int rc;

    free(strata_strmap_put(out, sj->base_ref, strata_xstrdup(sj->base_digest)));
    /* A store error fails the attempt: a change that pins fewer bases
     * than it should would be pushed as if complete. */
    if ((rc = strata_store_job_list(&jobs, env->store, 0, 0, -1, err)) != 0)
        return rc;
    json_array_foreach (jobs, i, j) {
        const char *action = json_string_value(json_object_get(j, "action"));
        const char *state = json_string_value(json_object_get(j, "state"));
        const char *image = json_string_value(json_object_get(j, "image"));
        const char *ref = json_string_value(json_object_get(j, "base_ref"));
        const char *dg = json_string_value(json_object_get(j, "base_digest"));
        const strata_config_repo *repo = NULL;
        const strata_config_image *img = NULL;

        if (action == NULL || strcmp(action, "pr") != 0 || ref == NULL ||
            dg == NULL || image == NULL ||
            (state != NULL && strcmp(state, "cancelled") == 0) ||
            (!group && strcmp(ref, sj->base_ref) != 0))
            continue;
        strata_plan__target(&repo, &img, env->cfg, image);
        if (repo != c->repo)
            continue;
        /* Ids grow: a later job's digest replaces an earlier one's. */
        free(strata_strmap_put(out, ref, strata_xstrdup(dg)));
    }
    json_decref(jobs);
    return 0;
}

/* The digest seen for ref before digest, and when digest was first seen. */
static int
history_of(json_t *base, const strata_runner_env *env, const char *ref,
           const char *digest, strata_error *err)
{
    json_t *digests = NULL, *d;
    const char *prev = NULL, *old = NULL;
    char when[32] = "unknown", *verified;
    size_t i;
    int rc;

    if ((rc = strata_store_digests_list(&digests, env->store, ref, err)) != 0)
        return rc;
    json_array_foreach (digests, i, d) {
        const char *dg = json_string_value(json_object_get(d, "digest"));

        if (dg != NULL && strcmp(dg, digest) == 0) {
            old = prev;
            strata_format_time(
                when, sizeof(when),
                json_integer_value(json_object_get(d, "first_seen")));
        }
        prev = dg;
    }
    json_object_set_new(base, "old", old ? json_string(old) : json_null());
    json_object_set_new(base, "first_seen", json_string(when));
    json_decref(digests);
    /* What verified the digest, when the base has a signature policy. */
    if ((verified = strata_jobs__verified_by(env->store, ref, digest)) != NULL)
        json_object_set_new(base, "verified", json_string(verified));
    free(verified);
    return 0;
}

/*
 * The newest rescan of image against the one before, when the newest is
 * of the image's current digest: "rescan of `sha256:…` against `…`:
 * critical 0 (+0), high 2 (-1), …". New string, or NULL.
 */
static int
rescan_line(char **out, const strata_runner_env *env, const char *image,
            strata_error *err)
{
    static const char *const sev[] = {"critical", "high", "medium", "low"};
    strata_store_watch_state st = {0};
    json_t *scans = NULL, *now, *before;
    strata_buf b = STRATA_BUF_INIT;
    const char *dg;
    size_t i;
    int rc;

    *out = NULL;
    rc = strata_store_watch_state_get(&st, env->store, image, err);
    if (rc == STRATA_ENOTFOUND) { /* never checked: nothing to compare */
        strata_error_clear(err);
        rc = 0;
        goto out;
    }
    if (rc != 0 || st.current_digest == NULL ||
        (rc = strata_store_scans_list(&scans, env->store, image, 2, err)) != 0)
        goto out;
    now = json_array_get(scans, 0);
    before = json_array_get(scans, 1);
    dg = strata_pr__field(now, "digest");
    if (before == NULL || dg == NULL || strcmp(dg, st.current_digest) != 0 ||
        strata_pr__field(before, "digest") == NULL)
        goto out;
    strata_buf_printf(&b, "rescan of `%.19s` against `%.19s`:", dg,
                      strata_pr__field(before, "digest"));
    for (i = 0; i < sizeof(sev) / sizeof(sev[0]); i++) {
        json_int_t x = json_integer_value(
            json_object_get(json_object_get(now, "counts"), sev[i]));
        json_int_t y = json_integer_value(
            json_object_get(json_object_get(before, "counts"), sev[i]));

        strata_buf_printf(&b, "%s %s %lld (%+lld)", i ? "," : "", sev[i],
                          (long long) x, (long long) (x - y));
    }
out:
    json_decref(scans);
    strata_store_watch_state_release(&st);
    if (rc == 0 && b.len > 0)
        *out = strata_buf_detach(&b);
    strata_buf_release(&b);
    return rc;
}

static int
add_affected(strata_pr__ctx *c, strata_strmap *seen, const char *image,
             strata_error *err)
{
    char *line = NULL;
    int rc;

    if (strata_strmap_has(seen, image))
        return 0;
    strata_strmap_put(seen, image, (void *) 1);
    if ((rc = rescan_line(&line, c->job->env, image, err)) != 0)
        return rc;
    json_array_append_new(
        c->affected, json_pack("{s:s, s:s?}", "image", image, "rescan", line));
    free(line);
    return 0;
}

/* *out: image's current digest (new), or NULL when never checked. */
static int
current_digest(char **out, strata_store *st, const char *image,
               strata_error *err)
{
    strata_store_watch_state ws = {0};
    int rc = strata_store_watch_state_get(&ws, st, image, err);

    *out = NULL;
    if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
        rc = 0;
    } else if (rc == 0 && ws.current_digest != NULL) {
        *out = strata_xstrdup(ws.current_digest);
    }
    strata_store_watch_state_release(&ws);
    return rc;
}

/*
 * Fills c->bases (sorted by ref) and c->pins: each base at its planned
 * digest, the images between it and the job's image at their current
 * digest, and c->affected: the impacted images this repository builds.
 * A store error is returned (the attempt fails and the job retries).
 */
static int
gather(strata_pr__ctx *c, strata_error *err)
{
    const strata_runner_env *env = c->job->env;
    strata_strmap *planned = strata_strmap_new(), *seen = strata_strmap_new();
    const char **refs = NULL;
    size_t n = 0, it = 0, i, w, k;
    const char *key;
    void *val;
    int rc;

    if ((rc = gather_bases(planned, c, c->repo->pr.group, err)) != 0 ||
        (rc = add_affected(c, seen, c->job->job->image, err)) != 0)
        goto out;
    refs = strata_xcalloc(strata_strmap_len(planned) + 1, sizeof(*refs));
    while (strata_strmap_next(planned, &it, &key, &val))
        refs[n++] = key;
    qsort(refs, n, sizeof(*refs), cmp_ref);
    for (i = 0; i < n && rc == 0; i++) {
        const char *digest = strata_strmap_get(planned, refs[i]);
        json_t *b = json_pack("{s:s, s:s}", "ref", refs[i], "digest", digest);
        strata_graph_waves *wv = NULL;

        json_array_append_new(c->bases, b);
        if ((rc = history_of(b, env, refs[i], digest, err)) != 0)
            break;
        pin_put(c, refs[i], digest, refs[i]);
        if (env->graph == NULL ||
            strata_graph_impacted(&wv, env->graph, refs[i], NULL) != 0)
            continue;
        for (w = 0; w < wv->nwaves && rc == 0; w++) {
            for (k = 0; k < wv->len[w] && rc == 0; k++) {
                const char *img = wv->waves[w][k].image;
                const strata_config_repo *repo = NULL;
                const strata_config_image *ci = NULL;
                char *cur = NULL;

                if (!strata_strmap_has(c->pins, img)) {
                    if ((rc = current_digest(&cur, env->store, img, err)) != 0)
                        break;
                    if (cur != NULL)
                        pin_put(c, img, cur, refs[i]);
                    free(cur);
                }
                strata_plan__target(&repo, &ci, env->cfg, img);
                if (repo == c->repo && ci != NULL)
                    rc = add_affected(c, seen, img, err);
            }
        }
        strata_graph_waves_free(wv);
    }
out:
    free(refs);
    it = 0;
    while (strata_strmap_next(planned, &it, &key, &val))
        free(val);
    strata_strmap_free(planned);
    strata_strmap_free(seen);
    return rc;
}

static int
start(strata_runner_job *job, strata_error *err)
{
    const strata_store_job *sj = job->job;
    const strata_config_repo *repo = NULL;
    const strata_config_image *img = NULL;
    strata_pr__ctx *c;
    int rc;

    strata_plan__target(&repo, &img, job->env->cfg, sj->image);
    if (repo == NULL)
        return strata_error_set(err, STRATA_ENOTFOUND,
                                "no configured repository builds '%s'",
                                sj->image);
    if (sj->base_ref == NULL)
        return strata_error_set(err, STRATA_EINVAL, "job %lld has no base",
                                (long long) sj->id);
    c = strata_xcalloc(1, sizeof(*c));
    c->job = job;
    c->repo = repo;
    c->pins = strata_strmap_new();
    c->bases = json_array();
    c->affected = json_array();
    c->changes = json_array();
    c->problems = json_array();
    c->branch = repo->pr.group ? strata_xstrdup(GROUP_BRANCH)
                               : branch_for(sj->base_ref);
    c->origin = strata_strmap_new();
    if ((rc = gather(c, err)) != 0) {
        strata_pr__free(c);
        return rc;
    }
    c->work.data = c;
    if (uv_queue_work(job->env->loop, &c->work, strata_pr__work,
                      strata_pr__done) != 0) {
        strata_pr__free(c);
        return strata_error_set(err, STRATA_EINTERNAL, "cannot queue git work");
    }
    return 0;
}

const strata_action strata_action_pr = {"pr", start};
