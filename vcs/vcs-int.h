/*
 * vcs-int.h - what the files of vcs/ share: the repo object, the
 * per-operation authentication state handed to libgit2's callbacks, and
 * the conversion of libgit2 errors into strata_error.
 */
#ifndef STRATA_VCS_INT_H
#define STRATA_VCS_INT_H

#include <stdatomic.h>

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
    uint64_t timeout_ms, stall_ms; /* never 0 */
    strata_vcs_cancel *cancel;     /* borrowed, or NULL */
    char head[STRATA_VCS_OID_HEXSZ];
    char old_head[STRATA_VCS_OID_HEXSZ]; /* "" when none */
};

struct strata_vcs_cancel {
    atomic_int set;
};

/* Why a guard ended its operation (0 while it runs). */
enum {
    STRATA_VCS__TIMEOUT = 1, /* over timeout_ms */
    STRATA_VCS__STALLED,     /* nothing in or out for stall_ms */
    STRATA_VCS__CANCELED,    /* the cancel flag was set */
};

/*
 * The deadlines of one network operation (stream.c). Entered on the
 * thread that runs it, which makes it that thread's current guard: the
 * sockets libgit2 opens meanwhile belong to it, and the watchdog thread
 * shuts them down once the guard has expired. Left when the operation
 * ends (the enclosing guard, if any, is current again).
 */
typedef struct strata_vcs__guard {
    const strata_vcs_cancel *cancel;
    int64_t started_ms; /* CLOCK_MONOTONIC */
    int64_t timeout_ms, stall_ms;
    atomic_llong progress_ms;        /* the last byte in or out */
    atomic_int expired;              /* 0 or a STRATA_VCS__* reason, set once */
    struct strata_vcs__guard *outer; /* the thread's previous guard */
    struct strata_vcs__guard *next;  /* the watchdog's list */
} strata_vcs__guard;

/*
 * Starts the guard of an operation of repo on this thread. Every enter is
 * paired with a leave on the same thread, innermost first.
 */
void strata_vcs__guard_enter(strata_vcs__guard *g, const strata_vcs_repo *repo);
void strata_vcs__guard_leave(strata_vcs__guard *g);

/* Records progress (a byte moved, a progress message came). */
void strata_vcs__guard_progress(strata_vcs__guard *g);

/* 0 while the operation may go on, else the STRATA_VCS__* reason. */
int strata_vcs__guard_expired(strata_vcs__guard *g);

/* The reason as a message fragment: "the remote sent nothing for 30 s". */
void strata_vcs__guard_reason(char *out, size_t outlen,
                              const strata_vcs__guard *g);

/* Registers strata's socket stream with libgit2 (once, from init). */
void strata_vcs__stream_register(void);

/* One network operation's state, the payload of the remote callbacks. */
typedef struct strata_vcs__auth {
    const strata_vcs_repo *repo;
    strata_vcs__guard guard;
    size_t received; /* what the progress callbacks last reported */
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

/*
 * Fills cb with strata's callbacks, with auth (zeroed here) as payload,
 * and enters auth's guard: the operation's deadlines start now. Every
 * call is paired with strata_vcs__done(auth) once the operation (and any
 * use of its connection) is over.
 */
void strata_vcs__callbacks(git_remote_callbacks *cb, strata_vcs__auth *auth,
                           const strata_vcs_repo *repo);
void strata_vcs__done(strata_vcs__auth *auth);

/*
 * Converts the libgit2 failure rc (read on this thread, now) into err:
 * "<what> '<url>': <libgit2 message>", with credentials scrubbed from
 * it. auth may be NULL for local operations. Returns the strata code.
 */
int strata_vcs__error(strata_error *err, int rc, const strata_vcs_repo *repo,
                      const strata_vcs__auth *auth, const char *what);

/* The URL without a user:password@ part. Caller frees. */
char *strata_vcs__redact_url(const char *url);

/*
 * Takes an exclusive flock on "<repo->path>.lock"; *out_fd for unlock.
 * Waiting for another holder (logged once) ends with STRATA_ECANCELED
 * when repo's cancel flag is set. Once held, whatever a killed process
 * left in the mirror is removed: libgit2's "*.lock" files and the
 * directory of an unfinished first clone.
 */
int strata_vcs__lock(int *out_fd, const strata_vcs_repo *repo,
                     strata_error *err);
void strata_vcs__unlock(int fd);

/* Removes dir and everything under it, never following a link. */
void strata_vcs__rm_rf(const char *dir);

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
