/*
 * tree.c - reading a mirror without a checkout: the blobs of a commit's
 * tree that a predicate keeps (with their ids and sizes, the oversized
 * ones set apart), a blob's bytes under a size limit (always one: the
 * object header is read first, and an oversized blob is never inflated),
 * and the paths whose
 * blob changed between two commits, so a scanner re-parses only those.
 */
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "vcs-int.h"

int
strata_vcs_is_dockerfile(const char *path, void *arg)
{
    const char *base = strrchr(path, '/');
    size_t n;

    (void) arg;
    base = base != NULL ? base + 1 : path;
    n = strlen(base);
    if (strcmp(base, "Dockerfile") == 0 || strcmp(base, "Containerfile") == 0)
        return 1;
    if (strncmp(base, "Dockerfile.", 11) == 0 && n > 11)
        return 1;
    return n > 11 && strcmp(base + n - 11, ".Dockerfile") == 0;
}

/* ---- listing ---------------------------------------------------------- */

typedef struct vec {
    strata_vcs_blob *v;
    size_t len, cap;
} vec;

static void
vec_push(vec *x, const char *path, const git_oid *id, uint64_t size)
{
    strata_vcs_blob *b;

    if (x->len == x->cap) {
        x->cap = x->cap != 0 ? 2 * x->cap : 16;
        x->v = strata_xrealloc(x->v, x->cap * sizeof(*x->v));
    }
    b = &x->v[x->len++];
    b->path = strata_xstrdup(path);
    git_oid_tostr(b->id, sizeof(b->id), id);
    b->size = size;
}

typedef struct walk {
    git_odb *odb;
    strata_vcs_match_cb match;
    void *arg;
    uint64_t max_size;
    vec keep, skip;
    strata_buf path;
} walk;

static int
on_entry(const char *root, const git_tree_entry *entry, void *payload)
{
    walk *w = payload;
    git_filemode_t mode = git_tree_entry_filemode(entry);
    const git_oid *id = git_tree_entry_id(entry);
    git_object_t type;
    size_t size;
    int rc;

    if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE)
        return 0;
    strata_buf_reset(&w->path);
    strata_buf_puts(&w->path, root);
    strata_buf_puts(&w->path, git_tree_entry_name(entry));
    if (w->match != NULL && !w->match(w->path.ptr, w->arg))
        return 0;
    /* The header only: an oversized blob is never inflated whole. */
    if ((rc = git_odb_read_header(&size, &type, w->odb, id)) < 0)
        return rc;
    if (w->max_size != 0 && size > w->max_size)
        vec_push(&w->skip, w->path.ptr, id, size);
    else
        vec_push(&w->keep, w->path.ptr, id, size);
    return 0;
}

static int
by_path(const void *a, const void *b)
{
    return strcmp(((const strata_vcs_blob *) a)->path,
                  ((const strata_vcs_blob *) b)->path);
}

int
strata_vcs_list_blobs(strata_vcs_blob_list *out, strata_vcs_repo *repo,
                      const char *commit, strata_vcs_match_cb match, void *arg,
                      uint64_t max_size, strata_error *err)
{
    git_commit *c = NULL;
    git_tree *tree = NULL;
    walk w;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&w, 0, sizeof(w));
    strata_buf_init(&w.path);
    w.match = match;
    w.arg = arg;
    w.max_size = max_size;
    if ((rc = strata_vcs__commit(&c, repo, commit, err)) < 0)
        goto out;
    rc = git_commit_tree(&tree, c);
    if (rc == 0)
        rc = git_repository_odb(&w.odb, repo->git);
    if (rc == 0)
        rc = git_tree_walk(tree, GIT_TREEWALK_PRE, on_entry, &w);
    if (rc < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "reading the tree of");
        goto out;
    }
    if (w.keep.len > 1)
        qsort(w.keep.v, w.keep.len, sizeof(*w.keep.v), by_path);
    if (w.skip.len > 1)
        qsort(w.skip.v, w.skip.len, sizeof(*w.skip.v), by_path);
    out->blobs = w.keep.v;
    out->len = w.keep.len;
    out->skipped = w.skip.v;
    out->nskipped = w.skip.len;
    w.keep.v = w.skip.v = NULL;
    w.keep.len = w.skip.len = 0;
out : {
    strata_vcs_blob_list tmp = {w.keep.v, w.keep.len, w.skip.v, w.skip.len};

    strata_vcs_blob_list_release(&tmp);
}
    strata_buf_release(&w.path);
    git_odb_free(w.odb);
    git_tree_free(tree);
    git_commit_free(c);
    return rc;
}

int
strata_vcs_list_dockerfiles(strata_vcs_blob_list *out, strata_vcs_repo *repo,
                            const char *commit, uint64_t max_size,
                            strata_error *err)
{
    return strata_vcs_list_blobs(out, repo, commit, strata_vcs_is_dockerfile,
                                 NULL, max_size, err);
}

void
strata_vcs_blob_list_release(strata_vcs_blob_list *list)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < list->len; i++)
        free(list->blobs[i].path);
    for (i = 0; i < list->nskipped; i++)
        free(list->skipped[i].path);
    free(list->blobs);
    free(list->skipped);
    memset(list, 0, sizeof(*list));
}

/* ---- reading ---------------------------------------------------------- */

static int
read_oid(char **out, size_t *out_len, strata_vcs_repo *repo, const git_oid *id,
         const char *what, size_t max, strata_error *err)
{
    git_odb *odb = NULL;
    git_blob *blob = NULL;
    git_object_t type;
    size_t size;
    int rc;

    rc = git_repository_odb(&odb, repo->git);
    if (rc == 0)
        rc = git_odb_read_header(&size, &type, odb, id);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no blob '%s' in the mirror of '%s'", what,
                              repo->shown_url);
        goto out;
    }
    if (rc < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "reading a blob of");
        goto out;
    }
    if (type != GIT_OBJECT_BLOB) {
        rc =
            strata_error_set(err, STRATA_ENOTFOUND, "'%s' is not a blob", what);
        goto out;
    }
    if (max == 0)
        max = STRATA_VCS_BLOB_MAX; /* every read has a limit */
    if (size > max) {
        rc = strata_error_set(err, STRATA_ETOOBIG,
                              "'%s' is %zu bytes, over the limit of %zu", what,
                              size, max);
        goto out;
    }
    if ((rc = git_blob_lookup(&blob, repo->git, id)) < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "reading a blob of");
        goto out;
    }
    size = (size_t) git_blob_rawsize(blob);
    *out = strata_xmalloc(size + 1);
    memcpy(*out, git_blob_rawcontent(blob), size);
    (*out)[size] = '\0';
    *out_len = size;
out:
    git_blob_free(blob);
    git_odb_free(odb);
    return rc;
}

int
strata_vcs_read_blob(char **out, size_t *out_len, strata_vcs_repo *repo,
                     const char *blob_id, size_t max, strata_error *err)
{
    git_oid id;

    *out = NULL;
    *out_len = 0;
    if (blob_id == NULL || strlen(blob_id) != GIT_OID_HEXSZ ||
        git_oid_fromstr(&id, blob_id) < 0) {
        git_error_clear();
        return strata_error_set(err, STRATA_EINVAL, "bad blob id '%s'",
                                blob_id != NULL ? blob_id : "");
    }
    return read_oid(out, out_len, repo, &id, blob_id, max, err);
}

int
strata_vcs_read_path(char **out, size_t *out_len, strata_vcs_repo *repo,
                     const char *commit, const char *path, size_t max,
                     strata_error *err)
{
    git_commit *c = NULL;
    git_tree *tree = NULL;
    git_tree_entry *entry = NULL;
    git_filemode_t mode;
    int rc;

    *out = NULL;
    *out_len = 0;
    if ((rc = strata_vcs__commit(&c, repo, commit, err)) < 0)
        goto out;
    if ((rc = git_commit_tree(&tree, c)) < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "reading the tree of");
        goto out;
    }
    rc = git_tree_entry_bypath(&entry, tree, path);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        rc = strata_error_set(err, STRATA_ENOTFOUND, "no file '%s' in '%s'",
                              path, repo->shown_url);
        goto out;
    }
    if (rc < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "reading the tree of");
        goto out;
    }
    mode = git_tree_entry_filemode(entry);
    if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "'%s' is not a regular file", path);
        goto out;
    }
    rc = read_oid(out, out_len, repo, git_tree_entry_id(entry), path, max, err);
out:
    git_tree_entry_free(entry);
    git_tree_free(tree);
    git_commit_free(c);
    return rc;
}

/* ---- changes ---------------------------------------------------------- */

static int
is_file(uint16_t mode)
{
    return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

int
strata_vcs_changed_paths(strata_vcs_change **out, size_t *out_len,
                         strata_vcs_repo *repo, const char *old_commit,
                         const char *new_commit, strata_vcs_match_cb match,
                         void *arg, strata_error *err)
{
    git_diff_options opts;
    git_commit *oldc = NULL, *newc = NULL;
    git_tree *oldt = NULL, *newt = NULL;
    git_diff *diff = NULL;
    strata_vcs_change *v = NULL;
    size_t i, n, len = 0;
    int rc;

    *out = NULL;
    *out_len = 0;
    if (old_commit != NULL &&
        (rc = strata_vcs__commit(&oldc, repo, old_commit, err)) < 0)
        goto out;
    if ((rc = strata_vcs__commit(&newc, repo, new_commit, err)) < 0)
        goto out;
    /* Submodules are not files here; don't look inside them. */
    git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
    opts.flags = GIT_DIFF_IGNORE_SUBMODULES;
    rc = oldc != NULL ? git_commit_tree(&oldt, oldc) : 0;
    if (rc == 0)
        rc = git_commit_tree(&newt, newc);
    if (rc == 0)
        rc = git_diff_tree_to_tree(&diff, repo->git, oldt, newt, &opts);
    if (rc < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "comparing trees of");
        goto out;
    }
    n = git_diff_num_deltas(diff);
    v = strata_xcalloc(n > 0 ? n : 1, sizeof(*v));
    for (i = 0; i < n; i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);
        int was = is_file(d->old_file.mode), now = is_file(d->new_file.mode);
        const char *path = now ? d->new_file.path : d->old_file.path;
        strata_vcs_change *c;

        if (!was && !now)
            continue;
        if (match != NULL && !match(path, arg))
            continue;
        c = &v[len++];
        c->path = strata_xstrdup(path);
        c->kind = !was   ? STRATA_VCS_ADDED
                  : !now ? STRATA_VCS_DELETED
                         : STRATA_VCS_MODIFIED;
        if (was)
            git_oid_tostr(c->old_id, sizeof(c->old_id), &d->old_file.id);
        if (now)
            git_oid_tostr(c->new_id, sizeof(c->new_id), &d->new_file.id);
    }
    *out = v;
    *out_len = len;
    v = NULL;
out:
    free(v);
    git_diff_free(diff);
    git_tree_free(oldt);
    git_tree_free(newt);
    git_commit_free(oldc);
    git_commit_free(newc);
    return rc;
}

void
strata_vcs_changes_free(strata_vcs_change *changes, size_t len)
{
    size_t i;

    if (changes == NULL)
        return;
    for (i = 0; i < len; i++)
        free(changes[i].path);
    free(changes);
}
