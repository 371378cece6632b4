/*
 * mirror.c - bare mirrors under a cache directory. The first sync of a
 * URL initialises a bare repository in a temporary directory, fetches the
 * one configured branch into refs/remotes/origin/<branch> and renames the
 * directory into place, so a failed clone leaves nothing behind; later
 * syncs fetch that branch incrementally with prune. The remote is never
 * written to the mirror's config (see strata_vcs__remote). The repo object
 * keeps the branch head before and after the fetch for incremental scans.
 */
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "vcs-int.h"

/* ---- names and paths -------------------------------------------------- */

static int
is_remote_url(const char *url)
{
    const char *colon = strchr(url, ':');
    const char *slash = strchr(url, '/');

    if (strstr(url, "://") != NULL)
        return 1;
    /* scp-like "user@host:path": a colon before any slash. */
    return colon != NULL && (slash == NULL || colon < slash) && url[0] != '/';
}

char *
strata_vcs_mirror_name(const char *url)
{
    char *clean = strata_vcs__redact_url(url);
    char hash[65];
    char base[41];
    const char *p, *end;
    size_t n = 0;

    strata_sha256_hex(hash, clean, strlen(clean));
    end = clean + strlen(clean);
    while (end > clean && end[-1] == '/')
        end--;
    p = end;
    while (p > clean && p[-1] != '/' && p[-1] != ':')
        p--;
    if (end - p > 4 && memcmp(end - 4, ".git", 4) == 0)
        end -= 4;
    for (; p < end && n < sizeof(base) - 1; p++) {
        char c = *p;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')
            base[n++] = c;
        else
            base[n++] = '_';
    }
    base[n] = '\0';
    /* Never ".", ".." or a hidden name: the hash prefix comes first. */
    free(clean);
    return strata_xasprintf("%.16s-%s", hash, n > 0 ? base : "repo");
}

static int
mkdir_p(const char *dir, strata_error *err)
{
    char *tmp = strata_xstrdup(dir);
    char *p;
    int rc = 0;

    for (p = tmp + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
            rc = strata_error_set(err, STRATA_EIO, "cannot create '%s': %s",
                                  tmp, strerror(errno));
            goto out;
        }
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        rc = strata_error_set(err, STRATA_EIO, "cannot create '%s': %s", tmp,
                              strerror(errno));
out:
    free(tmp);
    return rc;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    remove(path);
    return 0;
}

void
strata_vcs__rm_rf(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the repo object --------------------------------------------------- */

static char *
dup_or_null(const char *s)
{
    return s != NULL ? strata_xstrdup(s) : NULL;
}

static void
wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void
strata_vcs_repo_free(strata_vcs_repo *repo)
{
    if (repo == NULL)
        return;
    git_repository_free(repo->git);
    free(repo->path);
    free(repo->url);
    free(repo->shown_url);
    free(repo->branch);
    wipe_free(repo->username);
    wipe_free(repo->token);
    wipe_free(repo->ssh_key);
    wipe_free(repo->ssh_pubkey);
    wipe_free(repo->ssh_passphrase);
    wipe_free(repo->ssh_host_sha256);
    free(repo);
}

/* Validates src and makes the repo object (not yet opened). */
static int
repo_new(strata_vcs_repo **out, const strata_vcs_source *src,
         const char *cache_dir, strata_error *err)
{
    strata_vcs_repo *repo = NULL;
    char abs[PATH_MAX];
    char *name = NULL;
    int rc = 0;

    *out = NULL;
    strata_vcs__init();
    if (src == NULL || src->url == NULL || src->url[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL, "no repository url");
    if (!strata_vcs__valid_branch(src->branch))
        return strata_error_set(err, STRATA_EINVAL, "bad branch name '%s'",
                                src->branch != NULL ? src->branch : "");
    if (cache_dir == NULL || cache_dir[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL, "no cache directory");
    repo = strata_xcalloc(1, sizeof(*repo));
    if (is_remote_url(src->url)) {
        repo->url = strata_xstrdup(src->url);
    } else {
        /* A local path: absolute, so the mirror's config stays valid. */
        if (realpath(src->url, abs) == NULL) {
            rc = strata_error_set(err, STRATA_ENOTFOUND,
                                  "no repository at '%s': %s", src->url,
                                  strerror(errno));
            goto out;
        }
        repo->url = strata_xstrdup(abs);
    }
    repo->shown_url = strata_vcs__redact_url(repo->url);
    repo->branch = strata_xstrdup(src->branch);
    repo->username = dup_or_null(src->username);
    repo->token = dup_or_null(src->token);
    repo->ssh_key = dup_or_null(src->ssh_key);
    repo->ssh_pubkey = dup_or_null(src->ssh_pubkey);
    repo->ssh_passphrase = dup_or_null(src->ssh_passphrase);
    repo->ssh_host_sha256 = dup_or_null(src->ssh_host_sha256);
    repo->insecure = src->insecure;
    repo->timeout_ms =
        src->timeout_ms ? src->timeout_ms : STRATA_VCS_TIMEOUT_MS;
    repo->stall_ms = src->stall_ms ? src->stall_ms : STRATA_VCS_STALL_MS;
    repo->cancel = src->cancel;
    if ((rc = mkdir_p(cache_dir, err)) < 0)
        goto out;
    if (realpath(cache_dir, abs) == NULL) {
        rc = strata_error_set(err, STRATA_EIO, "cannot resolve '%s': %s",
                              cache_dir, strerror(errno));
        goto out;
    }
    name = strata_vcs_mirror_name(repo->url);
    repo->path = strata_xasprintf("%s/%s", abs, name);
out:
    free(name);
    if (rc < 0) {
        strata_vcs_repo_free(repo);
        return rc;
    }
    *out = repo;
    return 0;
}

/* Reads refs/remotes/origin/<branch> into hex; ENOTFOUND when absent. */
static int
read_head(char hex[STRATA_VCS_OID_HEXSZ], strata_vcs_repo *repo,
          strata_error *err)
{
    char *ref = strata_xasprintf("refs/remotes/origin/%s", repo->branch);
    git_oid oid;
    int rc;

    hex[0] = '\0';
    rc = git_reference_name_to_id(&oid, repo->git, ref);
    free(ref);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return strata_error_set(err, STRATA_ENOTFOUND, "no branch '%s' in '%s'",
                                repo->branch, repo->shown_url);
    }
    if (rc < 0)
        return strata_vcs__error(err, rc, repo, NULL, "reading the head of");
    git_oid_tostr(hex, STRATA_VCS_OID_HEXSZ, &oid);
    return 0;
}

/*
 * Whether the remote's branch is still at the mirror's head, asked as
 * `git ls-remote` does (one round trip, nothing downloaded): 1 when it is,
 * 0 when it moved or is gone (the fetch then does the rest), or a negative
 * code when the remote cannot be asked, with the fetch's own error. A
 * fleet's rescan fetches only the repositories that moved.
 */
static int
remote_unmoved(strata_vcs_repo *repo, strata_error *err)
{
    git_remote_callbacks cb;
    git_remote *remote = NULL;
    const git_remote_head **heads;
    strata_vcs__auth auth;
    char *name;
    char hex[STRATA_VCS_OID_HEXSZ];
    size_t n, i;
    int rc;

    if (repo->old_head[0] == '\0')
        return 0;
    if ((rc = strata_vcs__remote(&remote, repo, err)) < 0)
        return rc;
    name = strata_xasprintf("refs/heads/%s", repo->branch);
    strata_vcs__callbacks(&cb, &auth, repo);
    rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, NULL, NULL);
    if (rc == 0)
        rc = git_remote_ls(&heads, &n, remote);
    if (rc < 0) {
        rc = strata_vcs__error(err, rc, repo, &auth, "fetching");
    } else {
        for (i = 0; i < n; i++)
            if (strcmp(heads[i]->name, name) == 0) {
                git_oid_tostr(hex, sizeof(hex), &heads[i]->oid);
                rc = strcmp(hex, repo->old_head) == 0;
                break;
            }
    }
    git_remote_disconnect(remote);
    strata_vcs__done(&auth);
    git_remote_free(remote);
    free(name);
    return rc;
}

/* Fetches the branch into refs/remotes/origin/<branch>, with prune. */
static int
fetch_branch(strata_vcs_repo *repo, strata_error *err)
{
    git_fetch_options fo;
    git_remote *remote = NULL;
    strata_vcs__auth auth;
    char *spec = strata_xasprintf("+refs/heads/%s:refs/remotes/origin/%s",
                                  repo->branch, repo->branch);
    git_strarray specs = {&spec, 1};
    int rc;

    if ((rc = strata_vcs__remote(&remote, repo, err)) < 0)
        goto out;
    git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
    strata_vcs__callbacks(&fo.callbacks, &auth, repo);
    fo.prune = GIT_FETCH_PRUNE;
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    fo.update_fetchhead = 0;
    rc = git_remote_fetch(remote, &specs, &fo, NULL);
    if (rc < 0)
        rc = strata_vcs__error(err, rc, repo, &auth, "fetching");
    strata_vcs__done(&auth);
out:
    git_remote_free(remote);
    free(spec);
    return rc;
}

/* Initialises a bare repository in a temp dir, fetches, renames it. */
static int
clone_bare(strata_vcs_repo *repo, strata_error *err)
{
    char *tmp = strata_xasprintf("%s.tmp-XXXXXX", repo->path);
    int rc;

    if (mkdtemp(tmp) == NULL) {
        rc = strata_error_set(err, STRATA_EIO, "cannot create '%s': %s", tmp,
                              strerror(errno));
        free(tmp);
        return rc;
    }
    rc = git_repository_init(&repo->git, tmp, 1);
    if (rc < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "creating the mirror of");
        goto out;
    }
    if ((rc = fetch_branch(repo, err)) < 0)
        goto out;
    if ((rc = read_head(repo->head, repo, err)) < 0)
        goto out;
    git_repository_free(repo->git);
    repo->git = NULL;
    if (rename(tmp, repo->path) != 0) {
        rc = strata_error_set(err, STRATA_EIO, "cannot rename '%s': %s", tmp,
                              strerror(errno));
        goto out;
    }
    rc = git_repository_open_bare(&repo->git, repo->path);
    if (rc < 0)
        rc = strata_vcs__error(err, rc, repo, NULL, "opening the mirror of");
out:
    if (rc < 0) {
        git_repository_free(repo->git);
        repo->git = NULL;
        strata_vcs__rm_rf(tmp);
    }
    free(tmp);
    return rc;
}

static int
exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
strata_vcs_sync(strata_vcs_repo **out, const strata_vcs_source *src,
                const char *cache_dir, strata_error *err)
{
    strata_vcs_repo *repo = NULL;
    int fd = -1;
    int rc;

    *out = NULL;
    if ((rc = repo_new(&repo, src, cache_dir, err)) < 0)
        return rc;
    if ((rc = strata_vcs__lock(&fd, repo, err)) < 0)
        goto out;
    if (!exists(repo->path)) {
        rc = clone_bare(repo, err);
        goto out;
    }
    rc = git_repository_open_bare(&repo->git, repo->path);
    if (rc < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "opening the mirror of");
        goto out;
    }
    if (read_head(repo->old_head, repo, NULL) < 0)
        repo->old_head[0] = '\0'; /* the branch is new to this mirror */
    if ((rc = remote_unmoved(repo, err)) < 0 ||
        (rc == 0 && (rc = fetch_branch(repo, err)) < 0))
        goto out;
    rc = read_head(repo->head, repo, err);
out:
    strata_vcs__unlock(fd);
    if (rc < 0) {
        strata_vcs_repo_free(repo);
        return rc;
    }
    *out = repo;
    return 0;
}

int
strata_vcs_open(strata_vcs_repo **out, const strata_vcs_source *src,
                const char *cache_dir, strata_error *err)
{
    strata_vcs_repo *repo = NULL;
    int rc;

    *out = NULL;
    if ((rc = repo_new(&repo, src, cache_dir, err)) < 0)
        return rc;
    if (!exists(repo->path)) {
        rc =
            strata_error_set(err, STRATA_ENOTFOUND, "no mirror of '%s' in '%s'",
                             repo->shown_url, cache_dir);
        goto out;
    }
    rc = git_repository_open_bare(&repo->git, repo->path);
    if (rc < 0) {
        rc = strata_vcs__error(err, rc, repo, NULL, "opening the mirror of");
        goto out;
    }
    rc = read_head(repo->head, repo, err);
out:
    if (rc < 0) {
        strata_vcs_repo_free(repo);
        return rc;
    }
    *out = repo;
    return 0;
}

const char *
strata_vcs_repo_head(const strata_vcs_repo *repo)
{
    return repo->head;
}

const char *
strata_vcs_repo_old_head(const strata_vcs_repo *repo)
{
    return repo->old_head[0] != '\0' ? repo->old_head : NULL;
}

const char *
strata_vcs_repo_path(const strata_vcs_repo *repo)
{
    return repo->path;
}
