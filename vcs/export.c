/*
 * export.c - writes the tree of one commit of a mirror into a directory,
 * the way `git archive | tar -x` would: regular files with their bytes
 * and executable bit, directories, symbolic links as links; submodules
 * are left out. A build context for builders that need real files
 * (buildah). Entry names are checked so nothing lands outside the
 * directory, and files are created exclusively without following links.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "vcs-int.h"

typedef struct export_walk {
    strata_vcs_repo *repo;
    const char *dir;
    strata_error *err;
    int rc;
} export_walk;

static int
bad_name(const char *name)
{
    return name[0] == '\0' || strcmp(name, ".") == 0 ||
           strcmp(name, "..") == 0 || strcasecmp(name, ".git") == 0 ||
           strchr(name, '/') != NULL;
}

static int
write_blob(export_walk *w, const char *path, const git_oid *id,
           git_filemode_t mode)
{
    git_blob *blob = NULL;
    git_odb *odb = NULL;
    git_object_t type;
    const char *data;
    size_t len, off = 0;
    int fd, rc;

    /* The header first: a blob is inflated whole to be written. */
    rc = git_repository_odb(&odb, w->repo->git);
    if (rc == 0)
        rc = git_odb_read_header(&len, &type, odb, id);
    git_odb_free(odb);
    if (rc < 0)
        return strata_vcs__error(w->err, rc, w->repo, NULL,
                                 "reading a blob of");
    if (len > STRATA_VCS_EXPORT_FILE_MAX)
        return strata_error_set(w->err, STRATA_ETOOBIG,
                                "'%s' is %zu bytes, over the limit of %d", path,
                                len, STRATA_VCS_EXPORT_FILE_MAX);
    if ((rc = git_blob_lookup(&blob, w->repo->git, id)) < 0)
        return strata_vcs__error(w->err, rc, w->repo, NULL,
                                 "reading a blob of");
    data = git_blob_rawcontent(blob);
    len = (size_t) git_blob_rawsize(blob);
    if (mode == GIT_FILEMODE_LINK) {
        char *target = strata_xstrndup(data, len);

        rc = symlink(target, path);
        free(target);
        git_blob_free(blob);
        if (rc != 0)
            return strata_error_set(w->err, STRATA_EIO,
                                    "cannot create link '%s': %s", path,
                                    strerror(errno));
        return 0;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
    if (fd < 0) {
        git_blob_free(blob);
        return strata_error_set(w->err, STRATA_EIO, "cannot create '%s': %s",
                                path, strerror(errno));
    }
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = strata_error_set(w->err, STRATA_EIO, "cannot write '%s': %s",
                                  path, strerror(errno));
            break;
        }
        off += (size_t) n;
    }
    close(fd);
    git_blob_free(blob);
    return rc < 0 ? rc : 0;
}

static int
on_entry(const char *root, const git_tree_entry *entry, void *payload)
{
    export_walk *w = payload;
    const char *name = git_tree_entry_name(entry);
    git_filemode_t mode = git_tree_entry_filemode(entry);
    char *path;
    int rc = 0;

    if (bad_name(name)) {
        w->rc = strata_error_set(w->err, STRATA_EINVAL,
                                 "refusing tree entry '%s%s'", root, name);
        return -1;
    }
    if (mode == GIT_FILEMODE_COMMIT)
        return 1; /* a submodule: not part of the context */
    path = strata_xasprintf("%s/%s%s", w->dir, root, name);
    if (mode == GIT_FILEMODE_TREE) {
        if (mkdir(path, 0755) != 0)
            rc = strata_error_set(w->err, STRATA_EIO,
                                  "cannot create directory '%s': %s", path,
                                  strerror(errno));
    } else {
        rc = write_blob(w, path, git_tree_entry_id(entry), mode);
    }
    free(path);
    if (rc < 0) {
        w->rc = rc;
        return -1;
    }
    return 0;
}

int
strata_vcs_export(strata_vcs_repo *repo, const char *commit, const char *dir,
                  strata_error *err)
{
    export_walk w = {repo, dir, err, 0};
    git_commit *c = NULL;
    git_tree *tree = NULL;
    int rc;

    if ((rc = strata_vcs__commit(&c, repo, commit, err)) < 0)
        return rc;
    if ((rc = git_commit_tree(&tree, c)) < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "reading the tree of");
        goto out;
    }
    rc = git_tree_walk(tree, GIT_TREEWALK_PRE, on_entry, &w);
    if (w.rc < 0)
        rc = w.rc;
    else if (rc < 0)
        rc = strata_vcs__error(err, rc, repo, NULL, "exporting the tree of");
out:
    git_tree_free(tree);
    git_commit_free(c);
    return rc;
}
