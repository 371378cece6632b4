/*
 * vcs.h - strata's git layer, on libgit2: bare mirrors of the configured
 * repositories (clone once, then fetch one branch incrementally), reading
 * trees and blobs without a checkout, and writing a commit for a
 * digest-pinning pull request that is pushed to a `strata/` branch.
 *
 * It is a module of its own so that graph/ (repository scanning), jobs/
 * (pull requests) and rebuild/ (exported build contexts) can all use it while
 * the dependencies between modules stay acyclic: vcs/ depends on core/ and
 * libgit2 only.
 *
 * Threads. Every call here blocks (network, disk), so the daemon runs them
 * from uv_queue_work() workers, never on the loop thread. The rules:
 *   - libgit2 is initialised once per process, through pthread_once(), by
 *     the first strata_vcs_* call; it is never shut down.
 *   - A strata_vcs_repo is used by one thread at a time (libgit2 objects
 *     are not safe for concurrent use); it may move between workers.
 *   - libgit2's error (git_error_last()) is thread-local: it is read on the
 *     failing thread, right at the failure, and turned into the
 *     strata_error before the call returns. Messages name the URL with
 *     any user:password@ part removed and never contain a credential.
 *   - A mirror directory is locked (flock) for the duration of each call
 *     that changes it, so two processes or workers never fetch into the
 *     same mirror at once; the second waits.
 *
 * URLs: https://, http://, ssh://, scp-like user@host:path, git://,
 * file://, or a local path to a repository, bare or not (made absolute).
 * The URL is used exactly as given: the host's url.*.insteadOf is not
 * applied, and the mirror's own config records no remote.
 * TLS certificates are verified (libgit2's default) unless the source sets
 * `insecure`. libgit2 1.5 does not check ssh host keys against
 * known_hosts; set `ssh_host_sha256` to pin the server's key.
 *
 * Deadlines. Every network operation (one fetch, one push, one listing
 * of the remote's branches) ends, whatever the remote does: with
 * STRATA_ETIMEOUT when it takes longer than the source's timeout_ms, or
 * when no byte comes or goes for stall_ms (a remote that accepts and
 * never answers, or stalls in the middle of a pack), and with
 * STRATA_ECANCELED soon after its cancel handle is set from any thread
 * (a daemon's SIGTERM). libgit2 1.5 has no timeouts of its own
 * (GIT_OPT_SET_SERVER_TIMEOUT came in 1.7), so strata gives it the
 * sockets: a watchdog thread shuts down the socket of an operation that
 * is over its time, which ends a blocked read in libgit2, in TLS and in
 * libssh2 alike. Name resolution is the system resolver's and is bounded
 * by its own timeouts (resolv.conf), not by these.
 */
#ifndef STRATA_VCS_H
#define STRATA_VCS_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* Hex object ids are 40 characters (sha1) plus the NUL. */
#define STRATA_VCS_OID_HEXSZ 41

/* The default limit for one Dockerfile (larger ones are skipped). */
#define STRATA_VCS_DOCKERFILE_MAX (1024 * 1024)

/* The default limit for any blob read (strata_vcs_read_blob with 0). */
#define STRATA_VCS_BLOB_MAX STRATA_VCS_DOCKERFILE_MAX

/*
 * The largest file strata_vcs_export writes (GitHub refuses files over
 * 100 MiB): a blob is inflated whole in memory to be written.
 */
#define STRATA_VCS_EXPORT_FILE_MAX (100 * 1024 * 1024)

/* Network deadlines when the source sets none (see "Deadlines"). */
#define STRATA_VCS_TIMEOUT_MS (120 * 1000)
#define STRATA_VCS_STALL_MS (30 * 1000)

/* Only branches under this prefix may be (force-)pushed or deleted. */
#define STRATA_VCS_BRANCH_PREFIX "strata/"

/*
 * A cancel flag shared between the thread that runs git operations and
 * one that may stop them (the loop thread, on SIGTERM). Once set, every
 * network operation of a repo whose source names it fails with
 * STRATA_ECANCELED within about 100 ms (a blocked read included), and
 * every new one fails at once, until it is reset.
 */
typedef struct strata_vcs_cancel strata_vcs_cancel;

/* A new, unset flag; the caller's (strata_vcs_cancel_free). */
strata_vcs_cancel *strata_vcs_cancel_new(void);

/* NULL is a no-op. No operation may still be using it. */
void strata_vcs_cancel_free(strata_vcs_cancel *c);

/* Any thread, also from a signal handler (one atomic store). */
void strata_vcs_cancel_set(strata_vcs_cancel *c);
void strata_vcs_cancel_reset(strata_vcs_cancel *c);
int strata_vcs_cancel_is_set(const strata_vcs_cancel *c);

/*
 * Where a repository lives and how to authenticate. Every string is
 * borrowed for the duration of the call that takes the source (the repo
 * keeps its own copies). Unused credentials stay NULL.
 */
typedef struct strata_vcs_source {
    const char *url;    /* see the URL list above */
    const char *branch; /* the branch to mirror, e.g. "main" */
    /* https/http: sent as Basic credentials when the server asks. */
    const char *username; /* https user; ssh user when the URL has none */
    const char *token;    /* https password or token */
    /* ssh: a private key file, its public key (optional), passphrase. */
    const char *ssh_key;
    const char *ssh_pubkey;
    const char *ssh_passphrase;
    /* ssh: the server key's SHA-256 as 64 hex digits; NULL accepts any. */
    const char *ssh_host_sha256;
    int insecure; /* 1 skips TLS certificate verification */
    /* Deadlines of each network operation; 0: STRATA_VCS_TIMEOUT_MS and
     * STRATA_VCS_STALL_MS. */
    uint64_t timeout_ms; /* the whole fetch, push or listing */
    uint64_t stall_ms;   /* no byte received or sent for this long */
    /* Borrowed, may be NULL; it must outlive the repo opened with it. */
    strata_vcs_cancel *cancel;
} strata_vcs_source;

/* A bare mirror, opened. One thread at a time (see above). */
typedef struct strata_vcs_repo strata_vcs_repo;

/*
 * Brings the mirror of src up to date and opens it. The first call clones
 * bare into cache_dir/<name> (see strata_vcs_mirror_name; cache_dir is
 * created if missing) fetching only src->branch; later calls fetch that
 * branch incrementally, with prune. A failed first clone leaves nothing
 * behind. *out is the caller's (strata_vcs_repo_free). Errors:
 * STRATA_ENET (connect, TLS, transport), STRATA_EAUTH (credentials refused
 * or missing), STRATA_ENOTFOUND (no such branch on the remote),
 * STRATA_EIO (cache directory), STRATA_EINVAL (bad source).
 */
int strata_vcs_sync(strata_vcs_repo **out, const strata_vcs_source *src,
                    const char *cache_dir, strata_error *err);

/*
 * Opens an existing mirror without touching the network (for reading what
 * the last sync fetched). STRATA_ENOTFOUND when it was never synced.
 */
int strata_vcs_open(strata_vcs_repo **out, const strata_vcs_source *src,
                    const char *cache_dir, strata_error *err);

/* Closes the mirror and wipes the credentials it kept. NULL is a no-op. */
void strata_vcs_repo_free(strata_vcs_repo *repo);

/* The branch head after the last sync/open, 40 hex digits. Borrowed. */
const char *strata_vcs_repo_head(const strata_vcs_repo *repo);

/*
 * The branch head before the last sync fetched (the mirror's previous
 * state), or NULL after a first clone or an open. Borrowed. When it
 * differs from the head, strata_vcs_changed_paths() tells what changed.
 */
const char *strata_vcs_repo_old_head(const strata_vcs_repo *repo);

/* The mirror's directory (absolute). Borrowed. */
const char *strata_vcs_repo_path(const strata_vcs_repo *repo);

/*
 * The directory name a URL's mirror gets: the first 16 hex digits of the
 * SHA-256 of the URL (without any user:password@), '-', and the URL's
 * basename without ".git", reduced to [A-Za-z0-9._-] and 40 characters.
 * Caller frees.
 */
char *strata_vcs_mirror_name(const char *url);

/* ---- reading trees --------------------------------------------------- */

/* A path predicate: nonzero keeps the path. path is relative to the root. */
typedef int (*strata_vcs_match_cb)(const char *path, void *arg);

/*
 * The default predicate: the basename is `Dockerfile`, `Containerfile`,
 * ends in `.Dockerfile` or starts with `Dockerfile.` (so `Dockerfile.prod`,
 * `build/app.Dockerfile`). Case-sensitive, as Docker is: `dockerfile` and
 * `app.dockerfile` do not match. arg is unused.
 */
int strata_vcs_is_dockerfile(const char *path, void *arg);

/* One blob in a tree. */
typedef struct strata_vcs_blob {
    char *path;                    /* "build/app.Dockerfile"; owned */
    char id[STRATA_VCS_OID_HEXSZ]; /* blob id, hex */
    uint64_t size;                 /* bytes */
} strata_vcs_blob;

/* The result of strata_vcs_list_blobs; release with _release. */
typedef struct strata_vcs_blob_list {
    strata_vcs_blob *blobs; /* matched, within the size limit, path order */
    size_t len;
    strata_vcs_blob *skipped; /* matched but over the size limit */
    size_t nskipped;
} strata_vcs_blob_list;

/*
 * Lists every regular or executable file in the tree of `commit` (hex id,
 * or NULL for the repo's head) whose path the predicate keeps (match NULL
 * keeps all). Symlinks and submodules are never listed. Files larger than
 * max_size (0 = no limit) go to `skipped` instead. *out is filled even on
 * error (empty) and must be released.
 */
int strata_vcs_list_blobs(strata_vcs_blob_list *out, strata_vcs_repo *repo,
                          const char *commit, strata_vcs_match_cb match,
                          void *arg, uint64_t max_size, strata_error *err);

/* strata_vcs_list_blobs with strata_vcs_is_dockerfile. */
int strata_vcs_list_dockerfiles(strata_vcs_blob_list *out,
                                strata_vcs_repo *repo, const char *commit,
                                uint64_t max_size, strata_error *err);

void strata_vcs_blob_list_release(strata_vcs_blob_list *list);

/*
 * Reads a blob's bytes by hex id. *out is the caller's, NUL-terminated
 * (not counted in *out_len). Every read has a limit: max bytes, or
 * STRATA_VCS_BLOB_MAX when max is 0; a larger blob is STRATA_ETOOBIG,
 * refused from its object header before anything is inflated.
 * STRATA_ENOTFOUND for an unknown id.
 */
int strata_vcs_read_blob(char **out, size_t *out_len, strata_vcs_repo *repo,
                         const char *blob_id, size_t max, strata_error *err);

/*
 * Reads the file at path in the tree of `commit` (NULL = head), as
 * strata_vcs_read_blob. STRATA_ENOTFOUND when there is no such file.
 */
int strata_vcs_read_path(char **out, size_t *out_len, strata_vcs_repo *repo,
                         const char *commit, const char *path, size_t max,
                         strata_error *err);

/* How a path changed between two commits. */
typedef enum strata_vcs_change_kind {
    STRATA_VCS_ADDED = 'A',
    STRATA_VCS_MODIFIED = 'M',
    STRATA_VCS_DELETED = 'D',
} strata_vcs_change_kind;

typedef struct strata_vcs_change {
    strata_vcs_change_kind kind;
    char *path;                        /* owned */
    char old_id[STRATA_VCS_OID_HEXSZ]; /* "" when added */
    char new_id[STRATA_VCS_OID_HEXSZ]; /* "" when deleted */
} strata_vcs_change;

/*
 * The files whose blob changed from old_commit to new_commit (hex ids;
 * old NULL means "nothing": every file is added), filtered by match (NULL
 * keeps all). Renames show as a delete plus an add; a file that became a
 * symlink or submodule shows as deleted. *out (an array of *out_len) is
 * the caller's: strata_vcs_changes_free(*out, *out_len).
 */
int strata_vcs_changed_paths(strata_vcs_change **out, size_t *out_len,
                             strata_vcs_repo *repo, const char *old_commit,
                             const char *new_commit, strata_vcs_match_cb match,
                             void *arg, strata_error *err);

void strata_vcs_changes_free(strata_vcs_change *changes, size_t len);

/* ---- writing a pull-request branch ----------------------------------- */

/* One file to write: data NULL removes the path. Borrowed. */
typedef struct strata_vcs_edit {
    const char *path; /* relative, '/'-separated: "build/app.Dockerfile" */
    const void *data; /* the new bytes, written exactly as given */
    size_t len;
} strata_vcs_edit;

typedef struct strata_vcs_commit_opts {
    const char *base_branch; /* e.g. "main" */
    const char *branch;      /* must start with "strata/" */
    const strata_vcs_edit *edits;
    size_t nedits;
    const char *message;
    const char *author_name;
    const char *author_email;
    int signoff; /* 1 appends "Signed-off-by: author <email>" */
} strata_vcs_commit_opts;

typedef enum strata_vcs_push_result {
    STRATA_VCS_PUSHED = 1,    /* the branch now points to the new commit */
    STRATA_VCS_UNCHANGED = 2, /* the remote branch already had this tree */
    STRATA_VCS_NOOP = 3,      /* the edits leave the base tree as it was */
} strata_vcs_push_result;

typedef struct strata_vcs_commit_result {
    strata_vcs_push_result result;
    /* PUSHED: the new commit; UNCHANGED: the remote branch's commit;
     * NOOP: the base commit. */
    char commit[STRATA_VCS_OID_HEXSZ];
    char base[STRATA_VCS_OID_HEXSZ]; /* the base branch's head used */
} strata_vcs_commit_result;

/*
 * Fetches base_branch and branch from the repo's remote into the mirror,
 * builds a tree from the base commit's tree plus the edits (no working
 * tree, no filters: bytes, line endings and file modes of untouched files
 * stay as they are; an edited file keeps its executable bit), and when
 * the remote branch does not already have that tree, commits it on top of
 * the base and force-pushes `+refs/heads/<branch>`. Refuses branches not
 * under "strata/" (STRATA_EINVAL) before any network access. A push the
 * server rejects is STRATA_ECONFLICT with the server's reason.
 */
int strata_vcs_commit_branch(strata_vcs_commit_result *out,
                             strata_vcs_repo *repo,
                             const strata_vcs_commit_opts *opts,
                             strata_error *err);

/*
 * Deletes the remote branch (which must be under "strata/"), e.g. to
 * close a superseded pull request. *out_deleted (may be NULL) is 1 when
 * it existed and was deleted, 0 when there was nothing to delete.
 */
int strata_vcs_delete_branch(int *out_deleted, strata_vcs_repo *repo,
                             const char *branch, strata_error *err);

/* ==== export: a commit's tree as files (export.c) ===================== */

/*
 * Writes the tree of `commit` (hex id, or NULL for the head) into dir,
 * which must exist and be empty: files with their bytes and executable
 * bit, directories, symbolic links; submodules are skipped. Entry names
 * that could escape dir ("..", ".git", "/") are refused (STRATA_EINVAL),
 * and so is a file over STRATA_VCS_EXPORT_FILE_MAX (STRATA_ETOOBIG,
 * from its object header, before it is read).
 * Blocks: run it from a uv_queue_work worker. STRATA_EIO on disk errors.
 */
int strata_vcs_export(strata_vcs_repo *repo, const char *commit,
                      const char *dir, strata_error *err);

/* ==== end of export ===================================================== */

/* ==== push webhooks from forges (hook.c) ================================ */

typedef enum strata_vcs_hook_kind {
    STRATA_VCS_HOOK_GITHUB = 0, /* X-Hub-Signature-256: sha256=HMAC */
    STRATA_VCS_HOOK_GITLAB,     /* X-Gitlab-Token: the secret */
    STRATA_VCS_HOOK_GITEA,      /* X-Gitea-Signature: HMAC (Forgejo too) */
} strata_vcs_hook_kind;

/* A delivery as received; every field borrowed, headers NULL if absent. */
typedef struct strata_vcs_hook_request {
    const char *body;
    size_t body_len;
    const char *event;     /* X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event */
    const char *signature; /* X-Hub-Signature-256 or X-Gitea-Signature */
    const char *token;     /* X-Gitlab-Token */
} strata_vcs_hook_request;

typedef struct strata_vcs_hook_push {
    int ignored;  /* verified, but not a push (a ping): nothing else set */
    char *ref;    /* "refs/heads/main" */
    char **urls;  /* the repository's clone, SSH and web URLs */
    size_t nurls; /* at least 1 unless ignored */
} strata_vcs_hook_push;

/*
 * Verifies a delivery with secret as the forge of that kind signs it
 * (STRATA_EAUTH, a message naming the header, never a value), then reads
 * the push: *out is the caller's (strata_vcs_hook_push_release).
 * STRATA_EINVAL for a push payload that is not JSON or names no ref or
 * repository, STRATA_ETOOBIG above 25 MiB.
 */
int strata_vcs_hook_parse(strata_vcs_hook_push *out, strata_vcs_hook_kind kind,
                          const char *secret,
                          const strata_vcs_hook_request *req,
                          strata_error *err);
void strata_vcs_hook_push_release(strata_vcs_hook_push *p);

/*
 * 1 when URLs a and b name the same repository: scheme, credentials,
 * port, a trailing "/" or ".git" and the host's case aside;
 * "git@host:o/r.git" matches "https://host/o/r".
 */
int strata_vcs_same_repo(const char *a, const char *b);

/* ==== end of push webhooks ============================================== */

#endif
