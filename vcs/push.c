/*
 * push.c - pull-request branches without a working tree. The base branch
 * and the target branch are fetched into refs/strata/remote/ (apart from
 * the scan's refs/remotes/origin/, so a pull request never hides changes
 * from the next incremental scan); the edits are written as blobs and
 * applied to the base tree with git_tree_create_updated(); a commit is
 * made and force-pushed, but only to branches under "strata/", and only
 * when the remote branch does not already have the same tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "vcs-int.h"

static int
valid_edit_path(const char *path)
{
    const char *p = path, *end;

    if (path == NULL || path[0] == '\0' || path[0] == '/')
        return 0;
    for (;;) {
        size_t n;

        end = strchr(p, '/');
        n = end != NULL ? (size_t) (end - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.') ||
            (n == 4 && strncasecmp(p, ".git", 4) == 0))
            return 0;
        if (end == NULL)
            return 1;
        p = end + 1;
    }
}

static int
check_push_branch(const char *branch, strata_error *err)
{
    size_t n = strlen(STRATA_VCS_BRANCH_PREFIX);

    if (branch == NULL || strncmp(branch, STRATA_VCS_BRANCH_PREFIX, n) != 0 ||
        branch[n] == '\0')
        return strata_error_set(
            err, STRATA_EINVAL,
            "refusing to force-push '%s': only branches under '%s' may be "
            "rewritten",
            branch != NULL ? branch : "", STRATA_VCS_BRANCH_PREFIX);
    if (!strata_vcs__valid_branch(branch))
        return strata_error_set(err, STRATA_EINVAL, "bad branch name '%s'",
                                branch);
    return 0;
}

static int
by_edit_path(const void *a, const void *b)
{
    return strcmp(((const strata_vcs_edit *) a)->path,
                  ((const strata_vcs_edit *) b)->path);
}

static int
check_opts(const strata_vcs_commit_opts *o, strata_error *err)
{
    size_t i;
    int rc;

    if ((rc = check_push_branch(o->branch, err)) < 0)
        return rc;
    if (!strata_vcs__valid_branch(o->base_branch))
        return strata_error_set(err, STRATA_EINVAL, "bad base branch '%s'",
                                o->base_branch != NULL ? o->base_branch : "");
    if (strcmp(o->base_branch, o->branch) == 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "branch '%s' is its own base", o->branch);
    if (o->message == NULL || o->message[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL, "empty commit message");
    if (o->author_name == NULL || o->author_name[0] == '\0' ||
        o->author_email == NULL || o->author_email[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "commit author name and email are required");
    if (o->nedits == 0)
        return strata_error_set(err, STRATA_EINVAL, "no edits to commit");
    for (i = 0; i < o->nedits; i++) {
        if (!valid_edit_path(o->edits[i].path))
            return strata_error_set(err, STRATA_EINVAL, "bad path '%s'",
                                    o->edits[i].path != NULL ? o->edits[i].path
                                                             : "");
    }
    return 0;
}

/* The local refs a remote branch is fetched into. */
static char *
tracking_ref(const char *branch)
{
    return strata_xasprintf("refs/strata/remote/%s", branch);
}

/* Fetches base and branch; *out_branch is NULL when the branch is absent. */
static int
fetch_pair(git_commit **out_base, git_commit **out_branch,
           strata_vcs_repo *repo, git_remote *remote,
           const strata_vcs_commit_opts *o, strata_error *err)
{
    git_fetch_options fo;
    char *base_ref = tracking_ref(o->base_branch);
    char *branch_ref = tracking_ref(o->branch);
    char *specv[2];
    git_strarray specs = {specv, 2};
    strata_vcs__auth auth;
    git_oid oid;
    int rc;

    *out_base = *out_branch = NULL;
    specv[0] = strata_xasprintf("+refs/heads/%s:%s", o->base_branch, base_ref);
    specv[1] = strata_xasprintf("+refs/heads/%s:%s", o->branch, branch_ref);
    git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
    strata_vcs__callbacks(&fo.callbacks, &auth, repo);
    /* Prune drops a branch ref the remote no longer has. */
    fo.prune = GIT_FETCH_PRUNE;
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    fo.update_fetchhead = 0;
    rc = git_remote_fetch(remote, &specs, &fo, NULL);
    if (rc < 0)
        rc = strata_vcs__error(err, rc, repo, &auth, "fetching");
    strata_vcs__done(&auth);
    if (rc < 0)
        goto out;
    rc = git_reference_name_to_id(&oid, repo->git, base_ref);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        rc = strata_error_set(err, STRATA_ENOTFOUND, "no branch '%s' in '%s'",
                              o->base_branch, repo->shown_url);
        goto out;
    }
    if (rc == 0)
        rc = git_commit_lookup(out_base, repo->git, &oid);
    if (rc == 0) {
        rc = git_reference_name_to_id(&oid, repo->git, branch_ref);
        if (rc == 0)
            rc = git_commit_lookup(out_branch, repo->git, &oid);
        else if (rc == GIT_ENOTFOUND)
            rc = 0;
    }
    if (rc < 0)
        rc = strata_vcs__error(err, rc, repo, NULL, "reading branches of");
out:
    git_error_clear();
    free(specv[0]);
    free(specv[1]);
    free(base_ref);
    free(branch_ref);
    return rc;
}

/* Writes the edits' blobs and the new tree. */
static int
build_tree(git_oid *out, strata_vcs_repo *repo, git_tree *base,
           const strata_vcs_commit_opts *o, strata_error *err)
{
    strata_vcs_edit *edits = strata_xmalloc(o->nedits * sizeof(*edits));
    git_tree_update *up = strata_xcalloc(o->nedits, sizeof(*up));
    size_t i, n = 0;
    int rc = 0;

    memcpy(edits, o->edits, o->nedits * sizeof(*edits));
    qsort(edits, o->nedits, sizeof(*edits), by_edit_path);
    for (i = 0; i < o->nedits; i++) {
        const strata_vcs_edit *e = &edits[i];
        git_tree_entry *old = NULL;
        git_filemode_t mode = GIT_FILEMODE_BLOB;

        if (i > 0 && strcmp(e->path, edits[i - 1].path) == 0) {
            rc = strata_error_set(err, STRATA_EINVAL, "path '%s' edited twice",
                                  e->path);
            goto out;
        }
        rc = git_tree_entry_bypath(&old, base, e->path);
        if (rc == 0) {
            mode = git_tree_entry_filemode(old);
            git_tree_entry_free(old);
            if (mode == GIT_FILEMODE_TREE) {
                rc = strata_error_set(err, STRATA_EINVAL, "'%s' is a directory",
                                      e->path);
                goto out;
            }
            if (mode != GIT_FILEMODE_BLOB_EXECUTABLE)
                mode = GIT_FILEMODE_BLOB; /* a symlink becomes a file */
        } else if (rc == GIT_ENOTFOUND) {
            git_error_clear();
            rc = 0;
            if (e->data == NULL)
                continue; /* removing what is not there */
        } else {
            rc = strata_vcs__error(err, rc, repo, NULL, "reading the tree of");
            goto out;
        }
        up[n].path = e->path;
        if (e->data == NULL) {
            up[n++].action = GIT_TREE_UPDATE_REMOVE;
            continue;
        }
        up[n].action = GIT_TREE_UPDATE_UPSERT;
        up[n].filemode = mode;
        /* From a buffer: no filters, so the bytes (CRLF too) stay exact. */
        rc = git_blob_create_from_buffer(&up[n].id, repo->git, e->data, e->len);
        if (rc < 0) {
            rc = strata_vcs__error(err, rc, repo, NULL, "writing a blob to");
            goto out;
        }
        n++;
    }
    if (n == 0) {
        git_oid_cpy(out, git_tree_id(base));
        goto out;
    }
    rc = git_tree_create_updated(out, repo->git, base, n, up);
    if (rc < 0)
        rc = strata_vcs__error(err, rc, repo, NULL, "writing a tree to");
out:
    free(up);
    free(edits);
    return rc;
}

/* The message, cleaned up, with the sign-off trailer when asked. */
static char *
commit_message(const strata_vcs_commit_opts *o)
{
    git_buf clean = GIT_BUF_INIT;
    strata_buf b = STRATA_BUF_INIT;
    char *trailer;
    const char *last;

    if (git_message_prettify(&clean, o->message, 0, 0) < 0 ||
        clean.ptr == NULL || clean.size == 0) {
        git_error_clear();
        strata_buf_puts(&b, o->message);
        strata_buf_putc(&b, '\n');
    } else {
        strata_buf_add(&b, clean.ptr, clean.size);
    }
    git_buf_dispose(&clean);
    if (!o->signoff)
        return strata_buf_detach(&b);
    trailer = strata_xasprintf("Signed-off-by: %s <%s>", o->author_name,
                               o->author_email);
    if (strstr(b.ptr, trailer) == NULL) {
        /* b ends in "\n": find where its last line starts. */
        last = b.ptr + b.len - 1;
        while (last > b.ptr && last[-1] != '\n')
            last--;
        if (strncmp(last, "Signed-off-by: ", 15) != 0)
            strata_buf_putc(&b, '\n');
        strata_buf_printf(&b, "%s\n", trailer);
    }
    free(trailer);
    return strata_buf_detach(&b);
}

static int
push_refspec(strata_vcs_repo *repo, git_remote *remote, const char *spec,
             const char *branch, strata_error *err)
{
    git_push_options po;
    git_strarray specs = {(char **) &spec, 1};
    strata_vcs__auth auth;
    int rc;

    git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
    strata_vcs__callbacks(&po.callbacks, &auth, repo);
    rc = git_remote_push(remote, &specs, &po);
    if (rc < 0)
        rc = strata_vcs__error(err, rc, repo, &auth, "pushing to");
    strata_vcs__done(&auth);
    if (rc < 0)
        return rc;
    if (auth.push_status[0] != '\0')
        return strata_error_set(err, STRATA_ECONFLICT,
                                "push of '%s' to '%s' rejected: %s", branch,
                                repo->shown_url, auth.push_status);
    return 0;
}

int
strata_vcs_commit_branch(strata_vcs_commit_result *out, strata_vcs_repo *repo,
                         const strata_vcs_commit_opts *opts, strata_error *err)
{
    git_remote *remote = NULL;
    git_commit *base = NULL, *branch = NULL;
    git_tree *base_tree = NULL, *tree = NULL;
    git_signature *sig = NULL;
    git_reference *ref = NULL;
    git_oid tree_id, commit_id;
    char *msg = NULL, *local = NULL, *spec = NULL;
    int fd = -1;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = check_opts(opts, err)) < 0)
        return rc;
    if ((rc = strata_vcs__lock(&fd, repo, err)) < 0)
        return rc;
    if ((rc = strata_vcs__remote(&remote, repo, err)) < 0)
        goto out;
    if ((rc = fetch_pair(&base, &branch, repo, remote, opts, err)) < 0)
        goto out;
    git_oid_tostr(out->base, sizeof(out->base), git_commit_id(base));
    if ((rc = git_commit_tree(&base_tree, base)) < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "reading the tree of");
        goto out;
    }
    if ((rc = build_tree(&tree_id, repo, base_tree, opts, err)) < 0)
        goto out;
    if (git_oid_equal(&tree_id, git_tree_id(base_tree))) {
        out->result = STRATA_VCS_NOOP;
        git_oid_tostr(out->commit, sizeof(out->commit), git_commit_id(base));
        goto out;
    }
    if (branch != NULL && git_oid_equal(&tree_id, git_commit_tree_id(branch))) {
        out->result = STRATA_VCS_UNCHANGED;
        git_oid_tostr(out->commit, sizeof(out->commit), git_commit_id(branch));
        goto out;
    }
    msg = commit_message(opts);
    rc = git_signature_now(&sig, opts->author_name, opts->author_email);
    if (rc == 0)
        rc = git_tree_lookup(&tree, repo->git, &tree_id);
    if (rc == 0) {
        const git_commit *parents[1] = {base};

        rc = git_commit_create(&commit_id, repo->git, NULL, sig, sig, NULL, msg,
                               tree, 1, parents);
    }
    /* Push needs a local ref as its source; it lives outside refs/heads. */
    local = strata_xasprintf("refs/strata/push/%s", opts->branch);
    if (rc == 0)
        rc = git_reference_create(&ref, repo->git, local, &commit_id, 1,
                                  "strata: pull request");
    if (rc < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "writing a commit to");
        goto out;
    }
    spec = strata_xasprintf("+%s:refs/heads/%s", local, opts->branch);
    rc = push_refspec(repo, remote, spec, opts->branch, err);
    git_reference_delete(ref);
    git_error_clear();
    if (rc < 0)
        goto out;
    out->result = STRATA_VCS_PUSHED;
    git_oid_tostr(out->commit, sizeof(out->commit), &commit_id);
out:
    free(spec);
    free(local);
    free(msg);
    git_reference_free(ref);
    git_signature_free(sig);
    git_tree_free(tree);
    git_tree_free(base_tree);
    git_commit_free(branch);
    git_commit_free(base);
    git_remote_free(remote);
    strata_vcs__unlock(fd);
    return rc;
}

int
strata_vcs_delete_branch(int *out_deleted, strata_vcs_repo *repo,
                         const char *branch, strata_error *err)
{
    git_remote_callbacks cb;
    git_remote *remote = NULL;
    const git_remote_head **heads;
    strata_vcs__auth auth;
    char *name = NULL, *spec = NULL;
    size_t i, n;
    int found = 0, fd = -1, guarded = 0, rc;

    if (out_deleted != NULL)
        *out_deleted = 0;
    if ((rc = check_push_branch(branch, err)) < 0)
        return rc;
    if ((rc = strata_vcs__lock(&fd, repo, err)) < 0)
        return rc;
    if ((rc = strata_vcs__remote(&remote, repo, err)) < 0)
        goto out;
    strata_vcs__callbacks(&cb, &auth, repo);
    guarded = 1;
    rc = git_remote_connect(remote, GIT_DIRECTION_PUSH, &cb, NULL, NULL);
    if (rc == 0)
        rc = git_remote_ls(&heads, &n, remote);
    if (rc < 0) {
        rc = strata_vcs__error(err, rc, repo, &auth, "connecting to");
        goto out;
    }
    name = strata_xasprintf("refs/heads/%s", branch);
    for (i = 0; i < n && !found; i++)
        found = strcmp(heads[i]->name, name) == 0;
    if (!found)
        goto out;
    spec = strata_xasprintf(":%s", name);
    if ((rc = push_refspec(repo, remote, spec, branch, err)) < 0)
        goto out;
    if (out_deleted != NULL)
        *out_deleted = 1;
out:
    if (remote != NULL)
        git_remote_disconnect(remote);
    free(spec);
    free(name);
    git_remote_free(remote);
    if (guarded)
        strata_vcs__done(&auth);
    strata_vcs__unlock(fd);
    return rc;
}
