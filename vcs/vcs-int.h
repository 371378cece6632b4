/*
 * vcs-int.h - what the files of vcs/ share: the repo object, the
 * per-operation authentication state handed to libgit2's callbacks, and
 * the conversion of libgit2 errors into strata_error.
 */
#ifndef STRATA_VCS_INT_H
#define STRATA_VCS_INT_H

#include <git2.h>

#include "vcs.h"

/* How often one operation offers the same kind of credential. */
#define STRATA_VCS__AUTH_TRIES 2

struct strata_vcs_repo {
    git_repository *git;
    char *path;      /* the mirror directory, absolute */
    char *url;       /* what libgit2 is given (local paths made absolute) */
    char *shown_url; /* url without user:password@, for messages */
    char *branch;
    /* Credentials, wiped on free. */
    char *username;
    char *token;
    char *ssh_key;
    char *ssh_pubkey;
    char *ssh_passphrase;
    char *ssh_host_sha256;
    int insecure;
    char head[STRATA_VCS_OID_HEXSZ];
    char old_head[STRATA_VCS_OID_HEXSZ]; /* "" when none */
};

/* One network operation's state, the payload of the remote callbacks. */
typedef struct strata_vcs__auth {
    const strata_vcs_repo *repo;
    int userpass_tries;
    int sshkey_tries;
    int username_tries;
    int refused;           /* the retry cap was hit: credentials refused */
    int missing;           /* the server asked and we have none to give */
    int hostkey_mismatch;  /* ssh host key differs from the pinned one */
    char push_status[256]; /* the first reference the server rejected */
} strata_vcs__auth;

/* Initialises libgit2 once per process (pthread_once). */
void strata_vcs__init(void);

/* Fills cb with strata's callbacks, with auth (zeroed here) as payload. */
void strata_vcs__callbacks(git_remote_callbacks *cb, strata_vcs__auth *auth,
                           const strata_vcs_repo *repo);

/*
 * Converts the libgit2 failure rc (read on this thread, now) into err:
 * "<what> '<url>': <libgit2 message>", with credentials scrubbed from
 * it. auth may be NULL for local operations. Returns the strata code.
 */
int strata_vcs__error(strata_error *err, int rc, const strata_vcs_repo *repo,
                      const strata_vcs__auth *auth, const char *what);

/* The URL without a user:password@ part. Caller frees. */
char *strata_vcs__redact_url(const char *url);

/* Takes an exclusive flock on "<repo->path>.lock"; *out_fd for unlock. */
int strata_vcs__lock(int *out_fd, const char *mirror_path, strata_error *err);
void strata_vcs__unlock(int fd);

/*
 * An in-memory remote for repo->url, used exactly as configured: the
 * mirror keeps no "origin" in its config (the URL comes from the source on
 * every call, so a changed URL needs no rewrite) and url.*.insteadOf of
 * the host's git config is not applied. Both also avoid libgit2 1.5's
 * leak of regex match data in git_remote_lookup and in insteadOf lookups.
 */
int strata_vcs__remote(git_remote **out, strata_vcs_repo *repo,
                       strata_error *err);

/* Looks up a commit by 40 hex digits (NULL = repo->head). */
int strata_vcs__commit(git_commit **out, strata_vcs_repo *repo, const char *hex,
                       strata_error *err);

/* Nonzero when name is a valid branch name ("main", "strata/x"). */
int strata_vcs__valid_branch(const char *name);

#endif
