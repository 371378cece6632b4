/*
 * forge.h - pull and merge requests on GitHub, GitLab and Gitea: one client on
 * the loop, one backend per forge.
 */
#ifndef STRATA_FORGE_H
#define STRATA_FORGE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core.h"

/*
 * A forge client opens, finds, updates, labels and closes change requests
 * (GitHub and Gitea pull requests, GitLab merge requests) through core's
 * HTTP client on a uv loop. Backends are structs of function pointers, one
 * file each (forge-github.c, forge-gitlab.c, forge-gitea.c), found by name
 * with strata_forge_lookup().
 *
 * The operation strata relies on is STRATA_FORGE_ENSURE: exactly one open
 * request per head branch. It finds the open request for the head branch
 * and updates it, or opens one; when the forge says one already exists
 * (a concurrent opener: GitHub 422, GitLab and Gitea 409) it finds that one
 * again and updates it. Nothing is ever opened twice.
 *
 * Errors (in the callback's err, or returned by strata_forge_run):
 *   STRATA_EAUTH      401/403: the forge refused the token (its message)
 *   STRATA_ENOTFOUND  404: "repository 'o/r' not found or token lacks access"
 *   STRATA_ERATELIMIT 429 / 403 with x-ratelimit-remaining: 0, after the
 *                     bounded retries (Retry-After, x-ratelimit-reset)
 *   STRATA_ENET, STRATA_ETIMEOUT, STRATA_EHTTP (5xx) after retries with
 *                     backoff; STRATA_EHTTP for other statuses
 *   STRATA_EPROTO     a malformed reply; the message names the endpoint
 *   STRATA_EEXISTS    STRATA_FORGE_OPEN when one is open already
 *   STRATA_ECONFLICT  ENSURE: the forge said "exists" but none was found
 *   STRATA_ECANCELED  strata_forge_close() while the operation ran
 * The token never appears in a message or a log line.
 */

typedef struct strata_forge_backend strata_forge_backend;
typedef struct strata_forge strata_forge;

/*
 * The backend called name ("github", "gitlab", "gitea"), or NULL.
 * Borrowed (a constant table).
 */
const strata_forge_backend *strata_forge_lookup(const char *name);
/* The backend's name. Borrowed. */
const char *strata_forge_backend_name(const strata_forge_backend *be);

typedef struct strata_forge_opts {
    /*
     * API base URL without a trailing slash; NULL for the public service:
     * https://api.github.com, https://gitlab.com/api/v4,
     * https://gitea.com/api/v1. GitHub Enterprise: https://HOST/api/v3.
     */
    const char *api_url;
    const char *token;          /* sent only in the auth header; may be NULL */
    uint32_t timeout_ms;        /* per HTTP request; 0 = 30 s */
    int max_retries;            /* 0 = 4; negative = none */
    uint32_t retry_base_ms;     /* backoff start, doubling; 0 = 500 ms */
    uint32_t max_retry_wait_ms; /* longest single wait; 0 = 60 s. A rate
                                   limit that lifts later fails at once */
    int insecure;               /* skip TLS verification */
    const char *ca_file;        /* CA bundle instead of the system's */
} strata_forge_opts;

typedef enum strata_forge_verb {
    STRATA_FORGE_FIND,    /* the open request whose head is `head` */
    STRATA_FORGE_OPEN,    /* open one (then labels, reviewers) */
    STRATA_FORGE_UPDATE,  /* title, body, base of `number` */
    STRATA_FORGE_LABEL,   /* add `labels` to `number` */
    STRATA_FORGE_REVIEW,  /* request `reviewers` on `number` */
    STRATA_FORGE_COMMENT, /* post `comment` on `number` */
    STRATA_FORGE_CLOSE,   /* post `comment` (when set), close `number` */
    STRATA_FORGE_ENSURE,  /* find + update, or open: one per head */
} strata_forge_verb;

/* What to do. Everything is borrowed and copied by the starter. */
typedef struct strata_forge_req {
    strata_forge_verb verb;
    const char *repo; /* "owner/name"; GitLab: "group/sub/project" or id */
    const char *head; /* head (source) branch: FIND, OPEN, ENSURE */
    const char *base; /* base (target) branch: OPEN, ENSURE; UPDATE opt. */
    const char *title;
    const char *body;
    int draft; /* GitHub "draft", GitLab "Draft: " title prefix; Gitea
                  has no drafts in its API and ignores it */
    const char *const *labels; /* names */
    size_t nlabels;
    /* GitHub/Gitea logins; GitLab numeric user ids (reviewer_ids) */
    const char *const *reviewers;
    size_t nreviewers;
    int64_t number;      /* UPDATE, LABEL, REVIEW, COMMENT, CLOSE */
    const char *comment; /* COMMENT; optional for CLOSE */
} strata_forge_req;

/* A change request as the forge described it. */
typedef struct strata_forge_pr {
    int64_t number;                   /* GitHub/Gitea number, GitLab iid */
    char *url;                        /* html_url / web_url, or NULL */
    char *state;                      /* "open", "closed" or "merged" */
    char *title, *body, *head, *base; /* NULL when the forge omitted them */
    int draft;
    int created; /* ENSURE/OPEN: 1 when opened by this call */
} strata_forge_pr;

strata_forge_pr *strata_forge_pr_dup(const strata_forge_pr *pr);
void strata_forge_pr_free(strata_forge_pr *pr);

/*
 * Runs once per started operation. On success err is NULL and pr is the
 * request (FIND: NULL when no request is open for the head; LABEL, REVIEW,
 * COMMENT: only `number` is set unless the forge returned the request).
 * On failure pr is NULL. Both are borrowed for the duration of the call.
 */
typedef void (*strata_forge_cb)(const strata_forge_pr *pr,
                                const strata_error *err, void *arg);

/*
 * A client for one forge on loop. Copies opts. Close it with
 * strata_forge_close().
 */
int strata_forge_new(strata_forge **out, uv_loop_t *loop,
                     const strata_forge_backend *be,
                     const strata_forge_opts *opts, strata_error *err);

/*
 * Cancels every operation (their callbacks run with STRATA_ECANCELED from
 * inside this call) and closes the client; the loop must run afterwards to
 * finish closing handles. forge may be NULL; a second call does nothing
 * (it is safe from an operation's callback).
 */
void strata_forge_close(strata_forge *forge);

/*
 * Starts req. On error (STRATA_EINVAL: a field the verb needs is missing
 * or invalid; STRATA_ECANCELED while closing) cb never runs; otherwise it
 * runs exactly once, from the loop, never from inside this call.
 */
int strata_forge_start(strata_forge *forge, const strata_forge_req *req,
                       strata_forge_cb cb, void *arg, strata_error *err);

/* Number of operations under way. */
size_t strata_forge_active(const strata_forge *forge);

/*
 * Synchronous wrapper for the CLI and tests: runs req on a private loop.
 * *out is the caller's (strata_forge_pr_free); NULL after a FIND that
 * found nothing.
 */
int strata_forge_run(strata_forge_pr **out, const strata_forge_backend *be,
                     const strata_forge_opts *opts, const strata_forge_req *req,
                     strata_error *err);

/* ---- discovery: the repositories a forge lists (discover.c, app.c) ---- */

/*
 * A GitHub App's credentials and its cached installation token (app.c).
 * pem is the App's unencrypted PEM RSA private key (copied into OpenSSL;
 * never logged). *out is the caller's (strata_forge_app_free).
 */
typedef struct strata_forge_app strata_forge_app;
int strata_forge_app_new(strata_forge_app **out, const char *app_id,
                         const char *installation, const char *pem, size_t len,
                         strata_error *err);
void strata_forge_app_free(strata_forge_app *app);
/* A JWT for the App: RS256, iat now_s - 60, exp now_s + 540, iss the id.
 * *out is the caller's; a secret. */
int strata_forge_app_jwt(char **out, const strata_forge_app *app, int64_t now_s,
                         strata_error *err);
/*
 * The installation token: the one kept while more than 30 minutes of it
 * are left, else a new one (POST /app/installations/{id}/access_tokens,
 * blocking). *out is borrowed until the next call or the free.
 */
int strata_forge_app_token(const char **out, strata_forge_app *app,
                           const strata_forge_opts *opts, int64_t now_s,
                           strata_error *err);
/* The kept token (borrowed until the next strata_forge_app_token), or
 * NULL: never a request. */
const char *strata_forge_app_cached_token(const strata_forge_app *app);
/* When the kept token expires (unix seconds), 0 without one. */
int64_t strata_forge_app_expires(const strata_forge_app *app);

typedef enum strata_forge_discover_kind {
    STRATA_DISCOVER_ORG,          /* GitHub, Gitea: /orgs/{name}/repos */
    STRATA_DISCOVER_USER,         /* GitHub: /users/{name}/repos */
    STRATA_DISCOVER_GROUP,        /* GitLab: /groups/{name}/projects */
    STRATA_DISCOVER_INSTALLATION, /* GitHub App: /installation/repositories */
} strata_forge_discover_kind;

/* Visibility bits of strata_forge_discover_spec (config's, same values). */
enum {
    STRATA_FORGE_VIS_PUBLIC = 1 << 0,
    STRATA_FORGE_VIS_PRIVATE = 1 << 1,
    STRATA_FORGE_VIS_INTERNAL = 1 << 2,
};

/* What to list and what to keep of it. Everything is borrowed. */
typedef struct strata_forge_discover_spec {
    const strata_forge_backend *be;
    strata_forge_discover_kind kind;
    const char *name;       /* the org, user or group; NULL for INSTALLATION */
    int include_subgroups;  /* GROUP */
    strata_forge_opts opts; /* api_url, token (not for INSTALLATION) ... */
    strata_forge_app *app;  /* INSTALLATION: its token is refreshed here */
    const char *const *include; /* fnmatch globs on the full name */
    size_t ninclude;
    const char *const *exclude;
    size_t nexclude;
    const char *const *topics; /* any one of them */
    size_t ntopics;
    unsigned visibility;        /* STRATA_FORGE_VIS_* bits; 0: any */
    int archived, forks, empty; /* take them too */
    /* After a first page answered 304, the kept listing is used whole
     * while younger than this; 0: one hour; negative: never (every page
     * is asked, each conditionally). */
    int64_t max_age_s;
} strata_forge_discover_spec;

/*
 * Where ETags and listings are kept between polls (the store, in the
 * daemon and the CLI): get returns 0 and new strings, or STRATA_ENOTFOUND;
 * put keeps (etag, body) under key. Either may fail: discovery then goes
 * on unconditionally. May be NULL.
 */
typedef struct strata_forge_discover_cache {
    int (*get)(char **etag, char **body, const char *key, void *arg);
    int (*put)(const char *key, const char *etag, const char *body, void *arg);
    void *arg;
} strata_forge_discover_cache;

/* One repository the forge listed. */
typedef struct strata_forge_found {
    char *full_name;      /* "owner/name"; GitLab "group/sub/project" */
    char *clone_url;      /* https */
    char *default_branch; /* NULL for an empty repository */
    char *visibility;     /* "public", "private" or "internal" */
    int archived, fork, empty;
    char *reason; /* NULL: taken; else why it was left out */
} strata_forge_found;

typedef struct strata_forge_discovery {
    strata_forge_found *repos; /* in the forge's order */
    size_t n;
    unsigned requests;     /* HTTP requests made (retries included) */
    unsigned not_modified; /* of them answered 304 */
    unsigned waits;        /* rate-limit or backoff waits */
    int reused;            /* the kept listing was used whole */
    long rate_remaining;   /* x-ratelimit-remaining last seen; -1 none */
    long rate_limit;       /* x-ratelimit-limit last seen; -1 none */
    int64_t rate_reset;    /* x-ratelimit-reset (unix s); 0 none */
} strata_forge_discovery;

/*
 * Lists spec's repositories, blocking (the daemon runs it in a worker),
 * following every page, conditionally (cache), waiting out rate limits
 * (Retry-After, x-ratelimit-reset) up to opts.max_retry_wait_ms, and
 * applies the filters: every repository is in *out, a left-out one with
 * its reason. *out is the caller's (strata_forge_discovery_free); NULL on
 * error. Errors as the forge client's; STRATA_EPROTO names the endpoint.
 */
int strata_forge_discover(strata_forge_discovery **out,
                          const strata_forge_discover_spec *spec,
                          const strata_forge_discover_cache *cache,
                          strata_error *err);
void strata_forge_discovery_free(strata_forge_discovery *d);
/* How many of d's repositories were taken. */
size_t strata_forge_discovery_taken(const strata_forge_discovery *d);

/* ---- a configuration's discover entries (fleet.c) ----------------------- */

struct strata_config_data;
struct strata_config_discover;
struct strata_config_repo;
struct strata_store;
struct strata_secret;

/* The key entry's repositories are kept under: "github org acme at URL".
 * New. */
char *strata_forge_discover_source(const struct strata_config_discover *e);
/* The listing spec of entry e (strings borrowed from e), with app. */
void strata_forge_discover_spec_for(strata_forge_discover_spec *out,
                                    const struct strata_config_discover *e,
                                    strata_forge_app *app);
/* *app (when NULL) made from the entry's App credentials; nothing for an
 * entry without app. */
int strata_forge_app_for(strata_forge_app **app,
                         const struct strata_config_discover *e,
                         strata_error *err);
/*
 * Lists entry e (blocking) with st as the ETag cache; records each
 * repository it takes under its source key, and forgets (graph edges and
 * scan state dropped, pull requests left alone) each it took before and
 * no longer does: their URLs in *out_gone (NULL-terminated, new; NULL
 * when none; out_gone may be NULL). app: the entry's (kept between polls
 * for its token), or NULL. *out as strata_forge_discover().
 */
int strata_forge_discover_entry(strata_forge_discovery **out, char ***out_gone,
                                struct strata_store *st,
                                const struct strata_config_discover *e,
                                strata_forge_app *app, strata_error *err);
/*
 * Appends to *out (realloc'd; *n entries) a repository record for each
 * repository of d that e takes: the clone URL, the default branch, token,
 * the forge, e's on_base_update and cfg's pull_requests. Strings are
 * borrowed from d, e and token: strata_config_derive() copies them.
 */
int strata_forge_discover_records(struct strata_config_repo **out, size_t *n,
                                  const struct strata_config_data *cfg,
                                  const struct strata_config_discover *e,
                                  const strata_forge_discovery *d,
                                  const struct strata_secret *token);

/* ---- auto-merge (merge.c): a request's checks, and merging it ---------- */

typedef enum strata_forge_checks {
    STRATA_FORGE_CHECKS_PENDING = 0, /* queued, running, or not of the head */
    STRATA_FORGE_CHECKS_GREEN,       /* every check reported passed */
    STRATA_FORGE_CHECKS_RED,         /* one failed, errored or was cancelled */
    STRATA_FORGE_CHECKS_NONE,        /* no check reported at all */
} strata_forge_checks;

/* A request's head as the forge sees it. */
typedef struct strata_forge_status {
    int64_t number;
    char state[16]; /* "open", "closed", "merged" (GitLab also "locked") */
    char sha[72];   /* the head commit */
    int mergeable;  /* 1; 0: conflicts with its base; -1: not known yet */
    strata_forge_checks checks;
    char detail[256]; /* the checks not green: "ci/build: failure, ..." */
} strata_forge_status;

/*
 * Reads request number of repo and the checks of its head commit:
 * GitHub its check runs and combined status, GitLab the merge request's
 * head pipeline, Gitea the combined commit status. The checks are only
 * read while it is open. Blocks (run it from a worker). Transient errors
 * are retried with the opts' backoff, then returned as
 * strata_forge_run's errors: never as red checks.
 */
int strata_forge_status_get(strata_forge_status *out,
                            const strata_forge_backend *be,
                            const strata_forge_opts *opts, const char *repo,
                            int64_t number, strata_error *err);

typedef enum strata_forge_merge_method {
    STRATA_FORGE_MERGE_MERGE = 0,
    STRATA_FORGE_MERGE_SQUASH,
    STRATA_FORGE_MERGE_REBASE,
} strata_forge_merge_method;

/* "merge", "squash", "rebase", NULL-terminated (config enum names). */
extern const char *const strata_forge_merge_method_names[];

typedef enum strata_forge_merge_outcome {
    STRATA_FORGE_MERGED = 0,
    STRATA_FORGE_MERGE_REFUSED,  /* 405/422: branch protection, a required
                                    check or review: not now */
    STRATA_FORGE_MERGE_MOVED,    /* 409: the head is no longer sha */
    STRATA_FORGE_MERGE_CONFLICT, /* GitLab 406, Gitea 409 conflict */
} strata_forge_merge_outcome;

typedef struct strata_forge_merge_result {
    strata_forge_merge_outcome outcome;
    long status;       /* the forge's HTTP status */
    char message[300]; /* the forge's words when not merged */
} strata_forge_merge_result;

/*
 * Merges request number of repo at head commit sha, never forced:
 * GitHub PUT .../pulls/N/merge {merge_method, sha}; GitLab PUT
 * .../merge_requests/IID/merge {sha, squash} (the project's merge method
 * applies; squash squashes); Gitea POST .../pulls/N/merge {Do,
 * head_commit_id}. The forge's refusals are outcomes, not errors. Blocks.
 */
int strata_forge_merge(strata_forge_merge_result *out,
                       const strata_forge_backend *be,
                       const strata_forge_opts *opts, const char *repo,
                       int64_t number, const char *sha,
                       strata_forge_merge_method method, strata_error *err);

#endif
