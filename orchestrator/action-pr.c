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
 */
#include <stdlib.h>
#include <string.h>

#include "builders.h"
#include "orchestrator-int.h"
#include "vcs.h"

#define GROUP_BRANCH "strata/pin-all"

typedef struct pr_ctx {
    strata_runner_job *job;
    const strata_config_repo *repo;
    strata_strmap *pins;   /* canonical ref -> digest (owned strings) */
    strata_strmap *origin; /* canonical ref -> the base it is pinned for */
    /* [{"ref", "digest", "old", "first_seen", "live"}], by ref; "live" (set
     * by the worker) when the change pins the base or an image from it. */
    json_t *bases;
    json_t *affected; /* [{"image", "rescan"}]: this repository's images */
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
    strata_forge_pr *closed; /* the request closed, or NULL */
} pr_ctx;

static void
ctx_free(pr_ctx *c)
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
pin_put(pr_ctx *c, const char *ref, const char *digest, const char *base)
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

static const char *
resolve(const char *ref, const strata_df_ref *where, void *arg)
{
    (void) where;
    return strata_strmap_get(arg, ref);
}

static void
source_of(strata_vcs_source *src, const strata_config_repo *repo)
{
    memset(src, 0, sizeof(*src));
    src->url = repo->url;
    src->branch = repo->branch;
    src->username = repo->username;
    src->token = repo->token ? strata_secret_reveal(repo->token) : NULL;
    src->ssh_key = repo->ssh_key_file;
}

/* ---- the words: title, body, comment (no store, no loop) ------------ */

static int
cmp_ref(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int
is_live(const json_t *base)
{
    return json_is_true(json_object_get(base, "live"));
}

static const char *
field(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/*
 * Expands the title template over the live bases: {base} {digest} {short}
 * {repo} {count} (config/schema.c accepts exactly these). Caller frees.
 */
static char *
title_of(const pr_ctx *c)
{
    const strata_config_pr *cp = &c->repo->pr;
    const char *digest = NULL, *t = cp->title;
    strata_buf b = STRATA_BUF_INIT;
    size_t nb = 0, i, k;
    json_t *e;

    json_array_foreach (c->bases, i, e)
        if (is_live(e) && nb++ == 0)
            digest = field(e, "digest");
    if (t == NULL)
        t = nb > 1 ? "Pin {count} base images to new digests"
                   : "Pin {base} to {short}";
    while (*t != '\0') {
        if (strncmp(t, "{base}", 6) == 0) {
            k = 0;
            json_array_foreach (c->bases, i, e)
                if (is_live(e))
                    strata_buf_printf(&b, "%s%s", k++ ? ", " : "",
                                      field(e, "ref"));
            t += 6;
        } else if (strncmp(t, "{digest}", 8) == 0) {
            strata_buf_puts(&b, digest ? digest : "");
            t += 8;
        } else if (strncmp(t, "{short}", 7) == 0) {
            strata_buf_printf(&b, "%.19s", digest ? digest : "");
            t += 7;
        } else if (strncmp(t, "{repo}", 6) == 0) {
            strata_buf_puts(&b, c->repo->forge_repo ? c->repo->forge_repo
                                                    : c->repo->url);
            t += 6;
        } else if (strncmp(t, "{count}", 7) == 0) {
            strata_buf_printf(&b, "%zu", nb);
            t += 7;
        } else {
            strata_buf_putc(&b, *t++);
        }
    }
    return strata_buf_detach(&b);
}

/*
 * What a reviewer needs: each live base with its old and new digest and
 * when the new one was first seen, the repository's images it affects
 * (with the rescan delta when there is one), every line changed, and how
 * to reproduce. Caller frees.
 */
static char *
body_of(const pr_ctx *c)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i, nb = 0;
    json_t *e;

    json_array_foreach (c->bases, i, e)
        nb += is_live(e);
    strata_buf_printf(&b, "%s moved to a new digest.\n\n",
                      nb > 1 ? "These base images" : "A base image");
    strata_buf_puts(&b, "| base | old digest | new digest | first seen |\n"
                        "|---|---|---|---|\n");
    json_array_foreach (c->bases, i, e) {
        const char *old = field(e, "old");

        if (!is_live(e))
            continue;
        strata_buf_printf(&b, "| `%s` | %s%s%s | `%s` | %s |\n",
                          field(e, "ref"), old ? "`" : "",
                          old ? old : "unknown", old ? "`" : "",
                          field(e, "digest"), field(e, "first_seen"));
    }
    strata_buf_puts(&b, "\nImages built from this repository that it "
                        "affects:\n");
    json_array_foreach (c->affected, i, e) {
        strata_buf_printf(&b, "- `%s`\n", field(e, "image"));
        if (field(e, "rescan") != NULL)
            strata_buf_printf(&b, "  - %s\n", field(e, "rescan"));
    }
    strata_buf_puts(&b, "\nLines changed:\n");
    json_array_foreach (c->changes, i, e)
        strata_buf_printf(
            &b, "- `%s:%lld`: `%s` -> `%s`\n", field(e, "path"),
            (long long) json_integer_value(json_object_get(e, "line")),
            field(e, "from"), field(e, "to"));
    strata_buf_puts(&b, "\nTo reproduce:\n");
    json_array_foreach (c->bases, i, e) {
        if (!is_live(e))
            continue;
        strata_buf_printf(&b,
                          "- `strata digest %s` prints the new digest; "
                          "`strata graph impacted %s` lists what descends "
                          "from it\n",
                          field(e, "ref"), field(e, "ref"));
    }
    strata_buf_printf(&b,
                      "- `strata pin --check .` in a checkout of `%s` "
                      "lists the stale references\n\n"
                      "Opened by strata; it updates this branch when a base "
                      "moves again, and closes this request once `%s` pins "
                      "these digests.\n",
                      c->repo->branch, c->repo->branch);
    return strata_buf_detach(&b);
}

/* The comment a request gets when it is closed. Caller frees. */
static char *
close_comment(const pr_ctx *c)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i;
    json_t *e;

    strata_buf_printf(&b, "`%s` already pins ", c->repo->branch);
    json_array_foreach (c->bases, i, e)
        strata_buf_printf(&b, "%s`%s@%s`", i == 0 ? "" : ", ", field(e, "ref"),
                          field(e, "digest"));
    strata_buf_printf(&b,
                      ": nothing is left to pin, so strata closes this "
                      "request and deletes the branch `%s`.\n",
                      c->branch);
    return strata_buf_detach(&b);
}

/* ---- the workers: git only, no loop, no store ----------------------- */

/* A base is live when a changed reference is pinned for it. */
static void
mark_live(pr_ctx *c)
{
    size_t i, j;
    json_t *ch, *e;

    json_array_foreach (c->changes, i, ch) {
        const char *base = strata_strmap_get(c->origin, field(ch, "ref"));

        json_array_foreach (c->bases, j, e)
            if (base != NULL && strcmp(base, field(e, "ref")) == 0)
                json_object_set(e, "live", json_true());
    }
}

static void
pr_work(uv_work_t *req)
{
    pr_ctx *c = req->data;
    const strata_config_repo *repo = c->repo;
    strata_vcs_source src;
    strata_vcs_repo *vr = NULL;
    strata_vcs_blob_list list = {0};
    strata_vcs_edit *edits = NULL;
    strata_pin_result *pins = NULL;
    strata_vcs_commit_opts o = {0};
    strata_buf msg = STRATA_BUF_INIT;
    size_t i, j, nedits = 0;

    source_of(&src, repo);
    if ((c->rc = strata_vcs_sync(&vr, &src, c->job->env->cache_dir, &c->err)) !=
            0 ||
        (c->rc = strata_vcs_list_dockerfiles(&list, vr, NULL, 0, &c->err)) != 0)
        goto out;
    pins = strata_xcalloc(list.len ? list.len : 1, sizeof(*pins));
    edits = strata_xcalloc(list.len ? list.len : 1, sizeof(*edits));
    for (i = 0; i < list.len; i++) {
        const char *path = list.blobs[i].path;
        strata_dockerfile *df = NULL;
        char *data = NULL;
        size_t len = 0;

        if (strata_vcs_read_blob(&data, &len, vr, list.blobs[i].id, 0,
                                 &c->err) != 0 ||
            strata_dockerfile_parse(&df, data, len, path, NULL, &c->err) != 0) {
            json_array_append_new(c->problems,
                                  json_sprintf("%s: %s", path, c->err.msg));
            strata_error_clear(&c->err);
            free(data);
            continue;
        }
        strata_pin_dockerfile(&pins[i], data, len, df, path, resolve, c->pins,
                              NULL);
        for (j = 0; j < pins[i].nproblems; j++)
            json_array_append_new(c->problems,
                                  json_string(pins[i].problems[j]));
        for (j = 0; j < pins[i].nchanges; j++)
            json_array_append_new(
                c->changes, json_pack("{s:s, s:i, s:s, s:s, s:s}", "path", path,
                                      "line", (int) pins[i].changes[j].line,
                                      "ref", pins[i].changes[j].ref, "from",
                                      pins[i].changes[j].old_text, "to",
                                      pins[i].changes[j].new_text));
        if (pins[i].nchanges > 0) {
            edits[nedits].path = path;
            edits[nedits].data = pins[i].data;
            edits[nedits].len = pins[i].len;
            nedits++;
        }
        strata_dockerfile_free(df);
        free(data);
    }
    if (nedits == 0) {
        c->commit.result = STRATA_VCS_NOOP;
        goto out;
    }
    mark_live(c);
    c->title = title_of(c);
    c->body = body_of(c);
    strata_buf_printf(&msg, "%s\n\n%s", c->title, c->body);
    o.base_branch = repo->branch;
    o.branch = c->branch;
    o.edits = edits;
    o.nedits = nedits;
    o.message = msg.ptr;
    o.author_name = repo->pr.author_name ? repo->pr.author_name : "strata";
    o.author_email =
        repo->pr.author_email ? repo->pr.author_email : "strata@localhost";
    o.signoff = repo->pr.signoff;
    c->rc = strata_vcs_commit_branch(&c->commit, vr, &o, &c->err);
out:
    for (i = 0; pins != NULL && i < list.len; i++)
        strata_pin_result_release(&pins[i]);
    free(pins);
    free(edits);
    strata_buf_release(&msg);
    strata_vcs_blob_list_release(&list);
    strata_vcs_repo_free(vr);
}

/* Deletes the branch that is no longer needed (the mirror was synced). */
static void
delete_work(uv_work_t *req)
{
    pr_ctx *c = req->data;
    strata_vcs_source src;
    strata_vcs_repo *vr = NULL;

    source_of(&src, c->repo);
    if ((c->rc = strata_vcs_open(&vr, &src, c->job->env->cache_dir, &c->err)) ==
        0)
        c->rc = strata_vcs_delete_branch(&c->deleted, vr, c->branch, &c->err);
    strata_vcs_repo_free(vr);
}

/* ---- back on the loop ------------------------------------------------ */

static json_t *
result_of(pr_ctx *c)
{
    static const char *const outcome[] = {"", "pushed", "unchanged",
                                          "nothing to pin"};

    return json_pack("{s:s, s:s, s:s, s:O, s:O, s:O}", "repo", c->repo->url,
                     "branch", c->branch, "outcome", outcome[c->commit.result],
                     "bases", c->bases, "changes", c->changes, "problems",
                     c->problems);
}

static void
finish(pr_ctx *c, int code, const char *msg, json_t *result)
{
    strata_runner_job_done(c->job, code, msg, result);
    ctx_free(c);
}

static void
delete_done(uv_work_t *req, int status)
{
    pr_ctx *c = req->data;
    const strata_runner_job *job = c->job;
    json_t *result;

    if (status != 0 || c->rc != 0) {
        finish(c, c->rc ? c->rc : STRATA_ECANCELED,
               c->rc ? c->err.msg : "cancelled", NULL);
        return;
    }
    result = result_of(c);
    json_object_set_new(result, "branch_deleted", json_boolean(c->deleted));
    /* A forge request closed, or (plain remote) the branch that was it. */
    if (c->closed != NULL || (c->forge == NULL && c->deleted)) {
        const char *url =
            c->closed && c->closed->url ? c->closed->url : c->branch;

        json_object_set_new(result, "closed", json_string(url));
        strata_orch__event(
            job->env, "pr.closed", c->repo->url,
            json_pack("{s:s, s:s, s:s, s:s, s:I}", "repo", c->repo->url,
                      "pr_url", url, "reason", "already_pinned", "branch",
                      c->branch, "number",
                      (json_int_t) (c->closed ? c->closed->number : 0)));
    }
    strata_forge_close(c->forge);
    c->forge = NULL;
    finish(c, 0, NULL, result);
}

static void
start_delete(pr_ctx *c)
{
    c->work.data = c;
    if (uv_queue_work(c->job->env->loop, &c->work, delete_work, delete_done) !=
        0) {
        strata_forge_close(c->forge);
        c->forge = NULL;
        finish(c, STRATA_EINTERNAL, "cannot queue git work", NULL);
    }
}

static void
on_closed(const strata_forge_pr *pr, const strata_error *err, void *arg)
{
    pr_ctx *c = arg;

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
    pr_ctx *c = arg;
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
    comment = close_comment(c);
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
forge_open(pr_ctx *c, const strata_forge_backend *be, strata_error *err)
{
    strata_forge_opts fo = {0};

    fo.api_url = c->repo->forge_api_url;
    fo.token = c->repo->token ? strata_secret_reveal(c->repo->token) : NULL;
    return strata_forge_new(&c->forge, c->job->env->loop, be, &fo, err);
}

/* Nothing to pin: close the branch's open request, delete the branch. */
static void
start_closing(pr_ctx *c)
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

static void
on_forge(const strata_forge_pr *pr, const strata_error *err, void *arg)
{
    pr_ctx *c = arg;
    strata_runner_job *job = c->job;
    json_t *result = result_of(c);

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
    strata_orch__event(
        job->env, pr->created ? "pr.opened" : "pr.updated", c->repo->url,
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "repo", c->repo->url,
                  "pr_url", pr->url ? pr->url : c->branch, "image",
                  job->job->image, "base", job->job->base_ref, "new_digest",
                  job->job->base_digest, "number", (json_int_t) pr->number));
    finish(c, 0, NULL, result);
}

static void
pr_done(uv_work_t *req, int status)
{
    pr_ctx *c = req->data;
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
        strata_orch__event(
            job->env, "pr.branch_pushed", c->repo->url,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "repo", c->repo->url,
                      "branch", c->branch, "commit", c->commit.commit, "image",
                      job->job->image, "base", job->job->base_ref, "new_digest",
                      job->job->base_digest));
        finish(c, 0, NULL, result);
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

/* ---- what to pin, and the words around it ---------------------------- */

/*
 * The planned digest of each base this change pins: the base_digest of
 * the newest (largest id) `pr` job, not cancelled, of an image this
 * repository builds; only the job's own base unless grouping. The job's
 * own base and digest are always there, since it runs.
 */
static void
gather_bases(strata_strmap *out, pr_ctx *c, int group)
{
    const strata_runner_env *env = c->job->env;
    const strata_store_job *sj = c->job->job;
    json_t *jobs = NULL, *j;
    size_t i;

    free(strata_strmap_put(out, sj->base_ref, strata_xstrdup(sj->base_digest)));
    if (strata_store_job_list(&jobs, env->store, 0, 0, -1, NULL) != 0)
        return;
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
}

/* The digest seen for ref before digest, and when digest was first seen. */
static void
history_of(json_t *base, const strata_runner_env *env, const char *ref,
           const char *digest)
{
    json_t *digests = NULL, *d;
    const char *prev = NULL, *old = NULL;
    char when[32] = "unknown";
    size_t i;

    if (strata_store_digests_list(&digests, env->store, ref, NULL) == 0) {
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
    }
    json_object_set_new(base, "old", old ? json_string(old) : json_null());
    json_object_set_new(base, "first_seen", json_string(when));
    json_decref(digests);
}

/*
 * The newest rescan of image against the one before, when the newest is
 * of the image's current digest: "rescan of `sha256:…` against `…`:
 * critical 0 (+0), high 2 (-1), …". New string, or NULL.
 */
static char *
rescan_line(const strata_runner_env *env, const char *image)
{
    static const char *const sev[] = {"critical", "high", "medium", "low"};
    strata_store_watch_state st = {0};
    json_t *scans = NULL, *now, *before;
    strata_buf b = STRATA_BUF_INIT;
    const char *dg;
    size_t i;

    if (strata_store_watch_state_get(&st, env->store, image, NULL) != 0 ||
        st.current_digest == NULL ||
        strata_store_scans_list(&scans, env->store, image, 2, NULL) != 0)
        goto out;
    now = json_array_get(scans, 0);
    before = json_array_get(scans, 1);
    dg = field(now, "digest");
    if (before == NULL || dg == NULL || strcmp(dg, st.current_digest) != 0 ||
        field(before, "digest") == NULL)
        goto out;
    strata_buf_printf(&b, "rescan of `%.19s` against `%.19s`:", dg,
                      field(before, "digest"));
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
    return b.len ? strata_buf_detach(&b) : NULL;
}

static void
add_affected(pr_ctx *c, strata_strmap *seen, const char *image)
{
    char *line;

    if (strata_strmap_has(seen, image))
        return;
    strata_strmap_put(seen, image, (void *) 1);
    line = rescan_line(c->job->env, image);
    json_array_append_new(
        c->affected, json_pack("{s:s, s:s?}", "image", image, "rescan", line));
    free(line);
}

/*
 * Fills c->bases (sorted by ref) and c->pins: each base at its planned
 * digest, the images between it and the job's image at their current
 * digest, and c->affected: the impacted images this repository builds.
 */
static void
gather(pr_ctx *c)
{
    const strata_runner_env *env = c->job->env;
    strata_strmap *planned = strata_strmap_new(), *seen = strata_strmap_new();
    const char **refs;
    size_t n = 0, it = 0, i, w, k;
    const char *key;
    void *val;

    gather_bases(planned, c, c->repo->pr.group);
    refs = strata_xcalloc(strata_strmap_len(planned) + 1, sizeof(*refs));
    while (strata_strmap_next(planned, &it, &key, &val))
        refs[n++] = key;
    qsort(refs, n, sizeof(*refs), cmp_ref);
    add_affected(c, seen, c->job->job->image);
    for (i = 0; i < n; i++) {
        const char *digest = strata_strmap_get(planned, refs[i]);
        json_t *b = json_pack("{s:s, s:s}", "ref", refs[i], "digest", digest);
        strata_graph_waves *wv = NULL;

        history_of(b, env, refs[i], digest);
        json_array_append_new(c->bases, b);
        pin_put(c, refs[i], digest, refs[i]);
        if (env->graph == NULL ||
            strata_graph_impacted(&wv, env->graph, refs[i], NULL) != 0)
            continue;
        for (w = 0; w < wv->nwaves; w++) {
            for (k = 0; k < wv->len[w]; k++) {
                strata_store_watch_state st = {0};
                const char *img = wv->waves[w][k].image;
                const strata_config_repo *repo = NULL;
                const strata_config_image *ci = NULL;

                if (!strata_strmap_has(c->pins, img) &&
                    strata_store_watch_state_get(&st, env->store, img, NULL) ==
                        0 &&
                    st.current_digest != NULL)
                    pin_put(c, img, st.current_digest, refs[i]);
                strata_store_watch_state_release(&st);
                strata_plan__target(&repo, &ci, env->cfg, img);
                if (repo == c->repo && ci != NULL)
                    add_affected(c, seen, img);
            }
        }
        strata_graph_waves_free(wv);
    }
    free(refs);
    it = 0;
    while (strata_strmap_next(planned, &it, &key, &val))
        free(val);
    strata_strmap_free(planned);
    strata_strmap_free(seen);
}

static int
start(strata_runner_job *job, strata_error *err)
{
    const strata_store_job *sj = job->job;
    const strata_config_repo *repo = NULL;
    const strata_config_image *img = NULL;
    pr_ctx *c;

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
    gather(c);
    c->work.data = c;
    if (uv_queue_work(job->env->loop, &c->work, pr_work, pr_done) != 0) {
        ctx_free(c);
        return strata_error_set(err, STRATA_EINTERNAL, "cannot queue git work");
    }
    return 0;
}

const strata_action strata_action_pr = {"pr", start};
