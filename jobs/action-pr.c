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
    it = 0;
    while (strata_strmap_next(c->deltas, &it, &k, &v))
        strata_pr__base_evidence_free(v);
    strata_strmap_free(c->deltas);
    json_decref(c->bases);
    json_decref(c->affected);
    free(c->branch);
    free(c->title);
    free(c->body);
    json_decref(c->changes);
    json_decref(c->problems);
    strata_forge_pr_free(c->closed);
    strata_pr__follow_free(c->follow);
    free(c);
}

static void
pin_put(strata_pr__ctx *c, const char *ref, const char *digest,
        const char *base)
{
    char *upstream = strata_config_upstream_ref(c->job->env->cfg, ref);

    /* Keyed by upstream: a file naming the mirror or the upstream pins. */
    if (upstream != NULL)
        ref = upstream;
    free(strata_strmap_put(c->pins, ref, strata_xstrdup(digest)));
    free(strata_strmap_put(c->origin, ref, strata_xstrdup(base)));
    free(upstream);
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

/* The newest job's digest per base (gather_bases), and its id. */
typedef struct planned_base {
    int64_t id;
    char *digest;
} planned_base;

typedef struct bases_walk {
    strata_strmap *out; /* base ref -> planned_base */
    const char *only;   /* the job's own base, unless grouping */
} bases_walk;

static int
on_job_base(int64_t id, const char *ref, const char *digest, void *arg)
{
    bases_walk *b = arg;
    planned_base *p;

    if (b->only != NULL && strcmp(ref, b->only) != 0)
        return 0;
    p = strata_strmap_get(b->out, ref);
    if (p == NULL) {
        p = strata_xcalloc(1, sizeof(*p));
        strata_strmap_put(b->out, ref, p);
    }
    /* Ids grow: a later job's digest replaces an earlier one's. */
    if (p->digest == NULL || id > p->id) {
        free(p->digest);
        p->digest = strata_xstrdup(digest);
        p->id = id;
    }
    return 0;
}

/*
 * The planned digest of each base this change pins: the base_digest of
 * the newest (largest id) `pr` job, not cancelled, of an image this
 * repository builds (a configured image of it, or one of its unnamed
 * Dockerfiles "URL//PATH"); only the job's own base unless grouping. The
 * job's own base and digest are always there, since it runs. Each image's
 * jobs come from one range of an index: the cost is this repository's
 * jobs, not the queue's. A store error fails the attempt: a change that
 * pins fewer bases than it should would be pushed as if complete.
 */
static int
gather_bases(strata_strmap *out, strata_pr__ctx *c, int group,
             strata_error *err)
{
    const strata_runner_env *env = c->job->env;
    const strata_store_job *sj = c->job->job;
    bases_walk b = {out, group ? NULL : sj->base_ref};
    char *prefix = strata_xasprintf("%s//", c->repo->url);
    size_t i;
    int rc = 0;

    on_job_base(sj->id, sj->base_ref, sj->base_digest, &b);
    for (i = 0; i < c->repo->n_images && rc == 0; i++)
        rc = strata_store_job_each_base(
            env->store, "pr", c->repo->images[i].name, 0, on_job_base, &b, err);
    if (rc == 0)
        rc = strata_store_job_each_base(env->store, "pr", prefix, 1,
                                        on_job_base, &b, err);
    free(prefix);
    return rc;
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

/* 1 when ref is among the n strings of list. */
static int
among(const char *const *list, size_t n, const char *ref)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(list[i], ref) == 0)
            return 1;
    return 0;
}

/* 1 when the graph has base among ref's ancestors. */
static int
descends(const strata_graph *g, const char *ref, const char *base)
{
    const char **anc = NULL;
    size_t n = 0;
    int yes;

    if (strata_graph_ancestors(&anc, &n, g, ref, NULL) != 0)
        return 0;
    yes = among(anc, n, base);
    free(anc);
    return yes;
}

/* One of this repository's graph nodes, with its ancestors. */
typedef struct repo_node {
    const char *ref; /* borrowed from the graph */
    const char **anc;
    size_t nanc;
} repo_node;

/*
 * Fills c->bases (sorted by ref) and c->pins: each base at its planned
 * digest, the images between it and this repository's Dockerfiles at
 * their current digest (those strata rebuilt in earlier waves), and
 * c->affected: the impacted images this repository builds. Only the
 * repository's own nodes and their ancestors are looked at (a few, from
 * the graph), never every image a base update reaches: a base under a
 * thousand repositories costs each of their jobs the same as one. A store
 * error is returned (the attempt fails and the job retries).
 */
static int
gather(strata_pr__ctx *c, strata_error *err)
{
    const strata_runner_env *env = c->job->env;
    strata_strmap *planned = strata_strmap_new(), *seen = strata_strmap_new();
    const char **refs = NULL, **nodes = NULL;
    repo_node *rn = NULL;
    size_t n = 0, it = 0, nn = 0, i, k, a;
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
    if (env->graph != NULL)
        strata_graph_repo_nodes(&nodes, &nn, env->graph, c->repo->url);
    rn = strata_xcalloc(nn + 1, sizeof(*rn));
    for (k = 0; k < nn; k++) {
        rn[k].ref = nodes[k];
        strata_graph_ancestors(&rn[k].anc, &rn[k].nanc, env->graph, nodes[k],
                               NULL);
    }
    for (i = 0; i < n && rc == 0; i++) {
        const planned_base *p = strata_strmap_get(planned, refs[i]);
        json_t *b =
            json_pack("{s:s, s:s}", "ref", refs[i], "digest", p->digest);

        json_array_append_new(c->bases, b);
        if ((rc = history_of(b, env, refs[i], p->digest, err)) != 0)
            break;
        pin_put(c, refs[i], p->digest, refs[i]);
        for (k = 0; k < nn && rc == 0; k++) {
            const strata_config_repo *repo = NULL;
            const strata_config_image *ci = NULL;

            if (!among(rn[k].anc, rn[k].nanc, refs[i]))
                continue;
            strata_config_target(&repo, &ci, env->cfg, rn[k].ref);
            if (repo == c->repo && ci != NULL &&
                (rc = add_affected(c, seen, rn[k].ref, err)) != 0)
                break;
            /* Its ancestors that descend from the base: rebuilt ones. */
            for (a = 0; a < rn[k].nanc && rc == 0; a++) {
                const char *img = rn[k].anc[a];
                char *cur = NULL;

                if (strcmp(img, refs[i]) == 0 ||
                    strata_strmap_has(c->pins, img) ||
                    !descends(env->graph, img, refs[i]))
                    continue;
                if ((rc = current_digest(&cur, env->store, img, err)) != 0)
                    break;
                if (cur != NULL)
                    pin_put(c, img, cur, refs[i]);
                free(cur);
            }
        }
    }
out:
    for (k = 0; k < nn; k++)
        free(rn[k].anc);
    free(rn);
    free(nodes);
    free(refs);
    it = 0;
    while (strata_strmap_next(planned, &it, &key, &val)) {
        free(((planned_base *) val)->digest);
        free(val);
    }
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

    strata_config_target(&repo, &img, job->env->cfg, sj->image);
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
    c->deltas = strata_strmap_new();
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
