/*
 * action-pr-change.c - the change of the `pr` action, made off the loop:
 * the worker that syncs the repository's git mirror, pins every
 * Dockerfile that references a gathered base or image, and commits and
 * pushes the branch; the worker that deletes a branch no longer needed;
 * and the words around the change (title, body, closing comment). The
 * workers touch git only: no loop, no store.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

/* What c pins ref to (borrowed), or NULL; c->pins is keyed by upstream. */
static const char *
pinned_for(const strata_pr__ctx *c, strata_strmap *map, const char *ref)
{
    char *upstream = strata_config_upstream_ref(c->job->env->cfg, ref);
    const char *v = strata_strmap_get(map, upstream ? upstream : ref);

    free(upstream);
    return v;
}

/* The digest this request pins a reference to (arg: the request). */
static const char *
lookup(const strata_pin_query *q, void *arg)
{
    const strata_pr__ctx *c = arg;

    return pinned_for(c, c->pins, q->ref);
}

/* What decides which files a pull request reads. */
typedef struct which {
    strata_pin_matchers *matchers; /* references.matchers */
    strata_strmap *linked;         /* path -> kind + 1 another file gives it */
} which;

/* Dockerfiles, every file the pin module reads (Helm, Kustomize, CI
 * pipelines, devcontainers, compose files, manifests), the files the
 * references.matchers select and those others point to. */
static int
pinnable(const char *path, void *arg)
{
    const which *w = arg;

    return strata_vcs_is_dockerfile(path, NULL) ||
           strata_pin_kind_of(path) != STRATA_PIN_NONE ||
           strata_pin_matchers_select(w->matchers, path) ||
           strata_strmap_has(w->linked, path);
}

static const char *
no_lookup(const strata_pin_query *q, void *arg)
{
    (void) q;
    (void) arg;
    return NULL;
}

/*
 * The files a GitLab CI file includes and a devcontainer's
 * build.dockerfile: read as those say. Returns 1 when one of them is not
 * in list (it must be listed again).
 */
static int
find_links(which *w, strata_vcs_repo *vr, const strata_vcs_blob_list *list)
{
    strata_strmap *listed = strata_strmap_new();
    size_t i, j;
    int again = 0;

    for (i = 0; i < list->len; i++)
        strata_strmap_put(listed, list->blobs[i].path, (void *) 1);
    for (i = 0; i < list->len; i++) {
        strata_pin_kind kind = strata_pin_kind_of(list->blobs[i].path);
        strata_pin_opts o = {0};
        strata_pin_result r;
        char *data = NULL;
        size_t len = 0;

        if ((kind != STRATA_PIN_GITLAB && kind != STRATA_PIN_DEVCONTAINER) ||
            strata_vcs_read_blob(&data, &len, vr, list->blobs[i].id,
                                 STRATA_VCS_DOCKERFILE_MAX, NULL) != 0)
            continue;
        o.lookup = no_lookup;
        if (strata_pin_any(&r, data, len, kind, list->blobs[i].path, &o,
                           NULL) == 0) {
            for (j = 0; j < r.nlinks; j++) {
                strata_strmap_put(w->linked, r.links[j].path,
                                  (void *) (uintptr_t) (r.links[j].kind + 1));
                again |= !strata_strmap_has(listed, r.links[j].path);
            }
            strata_pin_result_release(&r);
        }
        free(data);
    }
    strata_strmap_free(listed);
    return again;
}

/* references.matchers, compiled (new); the configuration checked them. */
static strata_pin_matchers *
matchers_of(const strata_config_data *cfg)
{
    strata_pin_matchers *m = strata_pin_matchers_new();
    size_t i;

    for (i = 0; i < cfg->references.n_matchers; i++)
        (void) strata_pin_matchers_add(m,
                                       cfg->references.matchers[i].files.items,
                                       cfg->references.matchers[i].files.count,
                                       cfg->references.matchers[i].match, NULL);
    return m;
}

static void
source_of(strata_vcs_source *src, const strata_pr__ctx *c)
{
    const strata_config_repo *repo = c->repo;

    memset(src, 0, sizeof(*src));
    src->url = strata_config_repo_fetch_url(repo);
    src->timeout_ms = c->job->env->cfg->scan.fetch_timeout_ms;
    src->stall_ms = c->job->env->cfg->scan.stall_timeout_ms;
    src->branch = repo->branch;
    src->username = repo->username;
    src->token = repo->token ? strata_secret_reveal(repo->token) : NULL;
    src->ssh_key = repo->ssh_key_file;
    /* The daemon's SIGTERM ends a fetch or push under way. */
    src->cancel = c->job->env->cancel;
}

/* ---- the words: title, body, comment (no store, no loop) ------------ */

static int
is_live(const json_t *base)
{
    return json_is_true(json_object_get(base, "live"));
}

/*
 * Expands the title template over the live bases: {base} {digest} {short}
 * {repo} {count} (config/schema.c accepts exactly these). Caller frees.
 */
static char *
title_of(const strata_pr__ctx *c)
{
    const strata_config_pr *cp = &c->repo->pr;
    const char *digest = NULL, *t = cp->title;
    strata_buf b = STRATA_BUF_INIT;
    size_t nb = 0, i, k;
    json_t *e;

    json_array_foreach (c->bases, i, e)
        if (is_live(e) && nb++ == 0)
            digest = strata_pr__field(e, "digest");
    if (t == NULL)
        t = nb > 1 ? "Pin {count} base images to new digests"
                   : "Pin {base} to {short}";
    while (*t != '\0') {
        if (strncmp(t, "{base}", 6) == 0) {
            k = 0;
            json_array_foreach (c->bases, i, e)
                if (is_live(e))
                    strata_buf_printf(&b, "%s%s", k++ ? ", " : "",
                                      strata_pr__field(e, "ref"));
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
 * The most a forge takes as a request's body. GitHub and Gitea (whose
 * own limit is not documented: GitHub's is taken) count characters and
 * GitLab bytes; a byte is at most a character, so bytes are counted.
 */
static size_t
body_limit(const strata_config_repo *repo)
{
    return repo->forge == STRATA_FORGE_GITLAB ? 1000000 : 65536;
}

/*
 * The package evidence of each live base (action-pr-evidence.c) into b,
 * in at most budget bytes: a delta's section gets an equal share of what
 * the one-line errors leave, or, when the share is too small for a table,
 * the summary line alone.
 */
static void
evidence_of(strata_buf *b, const strata_pr__ctx *c, size_t budget)
{
    size_t i, ndeltas = 0, start = b->len, share;
    json_t *e;

    json_array_foreach (c->bases, i, e) {
        const char *why = strata_pr__field(e, "delta_error");

        if (!is_live(e))
            continue;
        if (json_object_get(e, "delta_errors") != NULL) {
            const char *platform;
            json_t *msg;

            json_object_foreach (json_object_get(e, "delta_errors"), platform,
                                 msg)
                strata_buf_printf(b,
                                  "\nPackage changes of `%s` on %s "
                                  "unavailable: %.200s\n",
                                  strata_pr__field(e, "ref"), platform,
                                  json_string_value(msg));
        }
        if (strata_pr__field(e, "vulns_error") != NULL)
            strata_buf_printf(b,
                              "\nVulnerabilities of `%s` unavailable: "
                              "%.200s\n",
                              strata_pr__field(e, "ref"),
                              strata_pr__field(e, "vulns_error"));
        if (strata_strmap_get(c->deltas, strata_pr__field(e, "ref")) != NULL)
            ndeltas++;
        else if (why != NULL)
            strata_buf_printf(b,
                              "\nPackage changes of `%s` unavailable: "
                              "%.200s\n",
                              strata_pr__field(e, "ref"), why);
    }
    if (ndeltas == 0)
        return;
    share = b->len - start < budget ? (budget - (b->len - start)) / ndeltas : 0;
    json_array_foreach (c->bases, i, e) {
        const strata_pr__base_evidence *ev;
        char *text;

        if (!is_live(e) || (ev = strata_strmap_get(
                                c->deltas, strata_pr__field(e, "ref"))) == NULL)
            continue;
        if (share >= 512) {
            text = strata_pkg_delta_markdown_platforms(
                (const strata_pkg_delta *const *) ev->deltas,
                (const char *const *) ev->platforms, ev->n,
                strata_pr__field(e, "ref"), share - 1);
            strata_buf_printf(b, "\n%s", text);
            free(text);
        } else if (share >= 64) {
            strata_buf_printf(
                b, "\nPackages of `%s`: %.*s\n", strata_pr__field(e, "ref"),
                (int) share / 2,
                strata_pr__field(json_object_get(e, "packages"), "summary"));
        }
    }
}

/*
 * What a reviewer needs: each live base with its old and new digest and
 * when the new one was first seen, what changed in its packages, the
 * repository's images it affects (with the rescan delta when there is
 * one), every line changed, and how to reproduce; within the forge's
 * limit, which only the package evidence can outgrow. Caller frees.
 */
static char *
body_of(const strata_pr__ctx *c)
{
    strata_buf b = STRATA_BUF_INIT, rest = STRATA_BUF_INIT;
    size_t i, nb = 0, limit = body_limit(c->repo);
    json_t *e;

    json_array_foreach (c->bases, i, e)
        nb += is_live(e);
    strata_buf_printf(&b, "%s moved to a new digest.\n\n",
                      nb > 1 ? "These base images" : "A base image");
    strata_buf_puts(&b, "| base | old digest | new digest | first seen |\n"
                        "|---|---|---|---|\n");
    json_array_foreach (c->bases, i, e) {
        const char *old = strata_pr__field(e, "old");

        if (!is_live(e))
            continue;
        strata_buf_printf(
            &b, "| `%s` | %s%s%s | `%s` | %s |\n", strata_pr__field(e, "ref"),
            old ? "`" : "", old ? old : "unknown", old ? "`" : "",
            strata_pr__field(e, "digest"), strata_pr__field(e, "first_seen"));
    }
    json_array_foreach (c->bases, i, e) {
        if (is_live(e) && strata_pr__field(e, "verified") != NULL)
            strata_buf_printf(&b, "\nSignature of `%s`: %s\n",
                              strata_pr__field(e, "ref"),
                              strata_pr__field(e, "verified"));
    }
    strata_buf_puts(&rest, "\nImages built from this repository that it "
                           "affects:\n");
    json_array_foreach (c->affected, i, e) {
        strata_buf_printf(&rest, "- `%s`\n", strata_pr__field(e, "image"));
        if (strata_pr__field(e, "rescan") != NULL)
            strata_buf_printf(&rest, "  - %s\n", strata_pr__field(e, "rescan"));
    }
    strata_buf_puts(&rest, "\nLines changed:\n");
    json_array_foreach (c->changes, i, e)
        strata_buf_printf(
            &rest, "- `%s:%lld`: `%s` -> `%s`\n", strata_pr__field(e, "path"),
            (long long) json_integer_value(json_object_get(e, "line")),
            strata_pr__field(e, "from"), strata_pr__field(e, "to"));
    strata_buf_puts(&rest, "\nTo reproduce:\n");
    json_array_foreach (c->bases, i, e) {
        if (!is_live(e))
            continue;
        strata_buf_printf(&rest,
                          "- `strata digest %s` prints the new digest; "
                          "`strata graph impacted %s` lists what descends "
                          "from it\n",
                          strata_pr__field(e, "ref"),
                          strata_pr__field(e, "ref"));
        if (strata_strmap_get(c->deltas, strata_pr__field(e, "ref")) != NULL)
            strata_buf_printf(
                &rest,
                "- `strata diff %s@%s %s@%s` lists every "
                "package change\n",
                strata_pr__field(e, "ref"), strata_pr__field(e, "old"),
                strata_pr__field(e, "ref"), strata_pr__field(e, "digest"));
    }
    strata_buf_printf(&rest,
                      "- `strata pin --check .` in a checkout of `%s` "
                      "lists the stale references\n\n"
                      "Opened by strata; it updates this branch when a base "
                      "moves again, and closes this request once `%s` pins "
                      "these digests.\n",
                      c->repo->branch, c->repo->branch);
    if (b.len + rest.len < limit)
        evidence_of(&b, c, limit - b.len - rest.len);
    strata_buf_add(&b, rest.ptr, rest.len);
    strata_buf_release(&rest);
    return strata_buf_detach(&b);
}

/* The comment a request gets when it is closed. Caller frees. */
char *
strata_pr__close_comment(const strata_pr__ctx *c)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i;
    json_t *e;

    strata_buf_printf(&b, "`%s` already pins ", c->repo->branch);
    json_array_foreach (c->bases, i, e)
        strata_buf_printf(&b, "%s`%s@%s`", i == 0 ? "" : ", ",
                          strata_pr__field(e, "ref"),
                          strata_pr__field(e, "digest"));
    strata_buf_printf(&b,
                      ": nothing is left to pin, so strata closes this "
                      "request and deletes the branch `%s`.\n",
                      c->branch);
    return strata_buf_detach(&b);
}

/* ---- the workers: git only, no loop, no store ----------------------- */

/* A base is live when a changed reference is pinned for it. */
static void
mark_live(strata_pr__ctx *c)
{
    size_t i, j;
    json_t *ch, *e;

    json_array_foreach (c->changes, i, ch) {
        const char *base =
            pinned_for(c, c->origin, strata_pr__field(ch, "ref"));

        json_array_foreach (c->bases, j, e)
            if (base != NULL && strcmp(base, strata_pr__field(e, "ref")) == 0)
                json_object_set(e, "live", json_true());
    }
}

/* Pins a file of any kind with the digests of this request. */
static int
pin_file(strata_pin_result *out, const char *data, size_t len,
         strata_pin_kind kind, const char *path, strata_pr__ctx *c,
         const strata_pin_matchers *matchers)
{
    strata_pin_opts o = {0};

    o.lookup = lookup;
    o.arg = c;
    o.matchers = matchers;
    return strata_pin_any(out, data, len, kind, path, &o, &c->err);
}

void
strata_pr__work(uv_work_t *req)
{
    strata_pr__ctx *c = req->data;
    const strata_config_repo *repo = c->repo;
    strata_vcs_source src;
    strata_vcs_repo *vr = NULL;
    strata_vcs_blob_list list = {0};
    strata_vcs_edit *edits = NULL;
    strata_pin_result *pins = NULL;
    strata_vcs_commit_opts o = {0};
    strata_buf msg = STRATA_BUF_INIT;
    size_t i, j, nedits = 0;
    which w;
    strata_pin_matchers *matchers = w.matchers = matchers_of(c->job->env->cfg);

    w.linked = strata_strmap_new();
    source_of(&src, c);
    if ((c->rc = strata_vcs_sync(&vr, &src, c->job->env->cache_dir, &c->err)) !=
            0 ||
        (c->rc = strata_vcs_list_blobs(&list, vr, NULL, pinnable, &w,
                                       STRATA_VCS_DOCKERFILE_MAX, &c->err)) !=
            0)
        goto out;
    if (find_links(&w, vr, &list)) {
        strata_vcs_blob_list_release(&list);
        if ((c->rc = strata_vcs_list_blobs(&list, vr, NULL, pinnable, &w,
                                           STRATA_VCS_DOCKERFILE_MAX,
                                           &c->err)) != 0)
            goto out;
    }
    /* As the graph scan does: a Dockerfile over the limit is not read. */
    for (i = 0; i < list.nskipped; i++)
        json_array_append_new(
            c->problems,
            json_sprintf("%s: %llu bytes, over the limit of %d: not pinned",
                         list.skipped[i].path,
                         (unsigned long long) list.skipped[i].size,
                         STRATA_VCS_DOCKERFILE_MAX));
    pins = strata_xcalloc(list.len ? list.len : 1, sizeof(*pins));
    edits = strata_xcalloc(list.len ? list.len : 1, sizeof(*edits));
    for (i = 0; i < list.len; i++) {
        const char *path = list.blobs[i].path;
        char *data = NULL;
        size_t len = 0;
        uintptr_t linked = (uintptr_t) strata_strmap_get(w.linked, path);
        strata_pin_kind kind = linked ? (strata_pin_kind) (linked - 1)
                               : strata_vcs_is_dockerfile(path, NULL)
                                   ? STRATA_PIN_DOCKERFILE
                                   : strata_pin_kind_of(path);

        if (kind == STRATA_PIN_NONE)
            kind = STRATA_PIN_OTHER; /* selected by a matcher */
        /* Every kind through the one reader, Dockerfiles included. */
        if (strata_vcs_read_blob(&data, &len, vr, list.blobs[i].id,
                                 STRATA_VCS_DOCKERFILE_MAX, &c->err) != 0 ||
            pin_file(&pins[i], data, len, kind, path, c, matchers) != 0) {
            /* Any *.yaml may be a Helm template: not a problem here. */
            if (kind != STRATA_PIN_MANIFEST)
                json_array_append_new(c->problems,
                                      json_sprintf("%s: %s", path, c->err.msg));
            strata_error_clear(&c->err);
            free(data);
            continue;
        }
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
        free(data);
    }
    if (nedits == 0) {
        c->commit.result = STRATA_VCS_NOOP;
        goto out;
    }
    mark_live(c);
    strata_pr__evidence(c);
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
    strata_pin_matchers_free(matchers);
    strata_strmap_free(w.linked);
    strata_buf_release(&msg);
    strata_vcs_blob_list_release(&list);
    strata_vcs_repo_free(vr);
}

/* Deletes the branch that is no longer needed (the mirror was synced). */
void
strata_pr__delete_work(uv_work_t *req)
{
    strata_pr__ctx *c = req->data;
    strata_vcs_source src;
    strata_vcs_repo *vr = NULL;

    source_of(&src, c);
    if ((c->rc = strata_vcs_open(&vr, &src, c->job->env->cache_dir, &c->err)) ==
        0)
        c->rc = strata_vcs_delete_branch(&c->deleted, vr, c->branch, &c->err);
    strata_vcs_repo_free(vr);
}
