/*
 * action-pr.c - the `pr` action: a digest-pinned change in the repository
 * that builds an impacted image. On the loop it gathers what to pin: the
 * base that moved at its new digest, and every image between that base
 * and this one at its current digest (those strata rebuilt in earlier
 * waves). A worker then syncs the git mirror, pins every Dockerfile of the
 * repository that references any of them (so all jobs of one repository
 * and base produce the same tree), and commits and pushes the branch
 * strata/pin-<base>. Back on the loop, a forge (GitHub, GitLab, Gitea)
 * gets exactly one open request for that branch; a plain git remote just
 * has the branch, and the event says so. Re-running the job pushes
 * nothing new and finds the same request, so a retry or a crash between
 * push and API call never opens a second one.
 */
#include <stdlib.h>
#include <string.h>

#include "builders.h"
#include "orchestrator-int.h"
#include "vcs.h"

typedef struct pr_ctx {
    strata_runner_job *job;
    const strata_config_repo *repo;
    strata_strmap *pins; /* canonical ref -> digest (owned strings) */
    char *branch;
    char *title;
    char *body;
    uv_work_t work;
    /* Filled by the worker. */
    int rc;
    strata_error err;
    strata_vcs_commit_result commit;
    json_t *changes; /* [{"path", "line", "ref", "from", "to"}] */
    json_t *problems;
    strata_forge *forge;
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
    free(c->branch);
    free(c->title);
    free(c->body);
    json_decref(c->changes);
    json_decref(c->problems);
    free(c);
}

/* "docker.io/library/debian:12-slim" -> "debian-12-slim". */
static char *
branch_for(const char *base)
{
    const char *name = strrchr(base, '/');
    strata_buf b = STRATA_BUF_INIT;

    for (name = name ? name + 1 : base; *name != '\0'; name++) {
        char ch = *name;
        strata_buf_putc(&b, (ch >= 'a' && ch <= 'z') ||
                                    (ch >= '0' && ch <= '9') || ch == '.' ||
                                    ch == '_'
                                ? ch
                                : '-');
    }
    return strata_xasprintf("strata/pin-%s", strata_buf_cstr(&b));
}

static const char *
resolve(const char *ref, const strata_df_ref *where, void *arg)
{
    (void) where;
    return strata_strmap_get(arg, ref);
}

/* ---- the worker: git only, no loop, no store ------------------------ */

static void
pr_work(uv_work_t *req)
{
    pr_ctx *c = req->data;
    const strata_config_repo *repo = c->repo;
    strata_vcs_source src = {0};
    strata_vcs_repo *vr = NULL;
    strata_vcs_blob_list list = {0};
    strata_vcs_edit *edits = NULL;
    strata_pin_result *pins = NULL;
    strata_vcs_commit_opts o = {0};
    strata_buf msg = STRATA_BUF_INIT;
    size_t i, j, nedits = 0;

    src.url = repo->url;
    src.branch = repo->branch;
    src.username = repo->username;
    src.token = repo->token ? strata_secret_reveal(repo->token) : NULL;
    src.ssh_key = repo->ssh_key_file;
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
    strata_buf_printf(&msg, "%s\n\n%s", c->title, c->body);
    o.base_branch = repo->branch;
    o.branch = c->branch;
    o.edits = edits;
    o.nedits = nedits;
    o.message = msg.ptr;
    o.author_name = "strata";
    o.author_email = "strata@localhost";
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

/* ---- back on the loop ------------------------------------------------ */

static json_t *
result_of(pr_ctx *c)
{
    static const char *const outcome[] = {"", "pushed", "unchanged",
                                          "nothing to pin"};

    return json_pack("{s:s, s:s, s:s, s:O, s:O}", "repo", c->repo->url,
                     "branch", c->branch, "outcome", outcome[c->commit.result],
                     "changes", c->changes, "problems", c->problems);
}

static void
on_forge(const strata_forge_pr *pr, const strata_error *err, void *arg)
{
    pr_ctx *c = arg;
    strata_runner_job *job = c->job;
    json_t *result = result_of(c);

    strata_forge_close(c->forge);
    if (err != NULL) {
        strata_runner_job_done(job, err->code, err->msg, result);
        ctx_free(c);
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
    strata_runner_job_done(job, 0, NULL, result);
    ctx_free(c);
}

static void
pr_done(uv_work_t *req, int status)
{
    pr_ctx *c = req->data;
    strata_runner_job *job = c->job;
    const strata_forge_backend *be;
    strata_forge_opts fo = {0};
    strata_forge_req fr = {0};
    strata_error err = {0};
    json_t *result;

    if (status != 0 || c->rc != 0) {
        strata_runner_job_done(job, c->rc ? c->rc : STRATA_ECANCELED,
                               c->rc ? c->err.msg : "cancelled", NULL);
        ctx_free(c);
        return;
    }
    result = result_of(c);
    if (c->commit.result == STRATA_VCS_NOOP) {
        strata_runner_job_done(job, 0, NULL, result);
        ctx_free(c);
        return;
    }
    json_object_set_new(result, "commit", json_string(c->commit.commit));
    be = c->repo->forge != STRATA_FORGE_NONE
             ? strata_forge_lookup(strata_config_forge_name(c->repo->forge))
             : NULL;
    if (be == NULL || c->repo->forge_repo == NULL) {
        /* A plain git remote: the branch is the change. */
        strata_orch__event(
            job->env, "pr.branch_pushed", c->repo->url,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "repo", c->repo->url,
                      "branch", c->branch, "commit", c->commit.commit, "image",
                      job->job->image, "base", job->job->base_ref, "new_digest",
                      job->job->base_digest));
        strata_runner_job_done(job, 0, NULL, result);
        ctx_free(c);
        return;
    }
    json_decref(result);
    fo.api_url = c->repo->forge_api_url;
    fo.token = c->repo->token ? strata_secret_reveal(c->repo->token) : NULL;
    fr.verb = STRATA_FORGE_ENSURE;
    fr.repo = c->repo->forge_repo;
    fr.head = c->branch;
    fr.base = c->repo->branch;
    fr.title = c->title;
    fr.body = c->body;
    if (strata_forge_new(&c->forge, job->env->loop, be, &fo, &err) != 0 ||
        strata_forge_start(c->forge, &fr, on_forge, c, &err) != 0) {
        strata_forge_close(c->forge);
        strata_runner_job_done(job, err.code, err.msg, result_of(c));
        ctx_free(c);
    }
}

/* The base at its new digest and impacted images at their current one. */
static void
gather_pins(pr_ctx *c)
{
    const strata_runner_env *env = c->job->env;
    const strata_store_job *sj = c->job->job;
    strata_graph_waves *w = NULL;
    size_t i, k;

    strata_strmap_put(c->pins, sj->base_ref, strata_xstrdup(sj->base_digest));
    if (env->graph == NULL ||
        strata_graph_impacted(&w, env->graph, sj->base_ref, NULL) != 0)
        return;
    for (i = 0; i < w->nwaves; i++) {
        for (k = 0; k < w->len[i]; k++) {
            strata_store_watch_state st = {0};
            const char *img = w->waves[i][k].image;

            if (strata_store_watch_state_get(&st, env->store, img, NULL) == 0 &&
                st.current_digest != NULL)
                strata_strmap_put(c->pins, img,
                                  strata_xstrdup(st.current_digest));
            strata_store_watch_state_release(&st);
        }
    }
    strata_graph_waves_free(w);
}

static int
start(strata_runner_job *job, strata_error *err)
{
    const strata_store_job *sj = job->job;
    const strata_config_repo *repo = NULL;
    const strata_config_image *img = NULL;
    char first_seen[32] = "unknown";
    json_t *digests = NULL, *d;
    strata_buf body = STRATA_BUF_INIT;
    pr_ctx *c;
    size_t i;

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
    c->changes = json_array();
    c->problems = json_array();
    c->branch = branch_for(sj->base_ref);
    gather_pins(c);
    if (strata_store_digests_list(&digests, job->env->store, sj->base_ref,
                                  NULL) == 0) {
        json_array_foreach (digests, i, d) {
            const char *dg = json_string_value(json_object_get(d, "digest"));
            if (dg != NULL && strcmp(dg, sj->base_digest) == 0)
                strata_format_time(
                    first_seen, sizeof(first_seen),
                    json_integer_value(json_object_get(d, "first_seen")));
        }
        json_decref(digests);
    }
    c->title =
        strata_xasprintf("Pin %s to %.19s", sj->base_ref, sj->base_digest);
    strata_buf_printf(&body,
                      "The base image `%s` moved to a new digest.\n\n"
                      "- new digest: `%s`\n- first seen: %s\n"
                      "- this change pins, in this repository:\n",
                      sj->base_ref, sj->base_digest, first_seen);
    {
        size_t it = 0;
        const char *k;
        void *v;

        while (strata_strmap_next(c->pins, &it, &k, &v))
            strata_buf_printf(&body, "  - `%s@%s`\n", k, (const char *) v);
    }
    strata_buf_printf(&body,
                      "\nTo reproduce: `strata digest %s` and "
                      "`strata graph impacted %s`.\n\n"
                      "Opened by strata; it updates this branch when the "
                      "base moves again.\n",
                      sj->base_ref, sj->base_ref);
    c->body = strata_buf_detach(&body);
    c->work.data = c;
    if (uv_queue_work(job->env->loop, &c->work, pr_work, pr_done) != 0) {
        ctx_free(c);
        return strata_error_set(err, STRATA_EINTERNAL, "cannot queue git work");
    }
    return 0;
}

const strata_action strata_action_pr = {"pr", start};
