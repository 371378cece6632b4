/*
 * forge-int.h - what the files of forge/ share and nobody else sees.
 */
#ifndef STRATA_FORGE_INT_H
#define STRATA_FORGE_INT_H

#include <jansson.h>

#include "forge.h"

/* One HTTP call a backend asks for. */
typedef struct strata_forge__call {
    const char *method; /* constant string */
    char *path;         /* new: below the API URL, query included */
    json_t *body;       /* new JSON body, or NULL */
    const char *what;   /* the endpoint, for messages: "list pulls" */
} strata_forge__call;

/* What the backends may read of a running operation. */
typedef struct strata_forge__opview {
    const strata_forge_req *req; /* owned copy of the caller's request */
    int64_t number;              /* the request acted on (after find/open) */
    int page;                    /* FIND: 1-based page of the listing */
} strata_forge__opview;

struct strata_forge_backend {
    const char *name;
    const char *default_api_url;
    const char *auth_header;         /* "Authorization" / "PRIVATE-TOKEN" */
    const char *auth_prefix;         /* "Bearer ", "token " or "" */
    const strata_http_header *extra; /* constant headers, e.g. Accept */
    size_t nextra;
    /* labels and reviewers travel in the open/update body (GitLab) */
    int inline_meta;

    /* Checks a request before it starts (optional). */
    int (*check)(const strata_forge_req *req, strata_error *err);
    /* Builds the calls; each fills c (path, body) and sets c->what. */
    void (*find)(strata_forge__call *c, const strata_forge__opview *v);
    void (*open)(strata_forge__call *c, const strata_forge__opview *v);
    void (*update)(strata_forge__call *c, const strata_forge__opview *v);
    void (*label)(strata_forge__call *c, const strata_forge__opview *v);
    void (*review)(strata_forge__call *c, const strata_forge__opview *v);
    void (*comment)(strata_forge__call *c, const strata_forge__opview *v);
    void (*close)(strata_forge__call *c, const strata_forge__opview *v);
    /*
     * Picks the open request for the head from a listing (reply is
     * borrowed): returns 1 and fills out, 0 when it is not there (*more
     * set when another page should be read), -1 on a malformed listing.
     */
    int (*pick)(strata_forge_pr *out, int *more, const json_t *reply,
                const strata_forge__opview *v);
    /* Fills out from a request object; -1 when the shape is wrong. */
    int (*parse)(strata_forge_pr *out, const json_t *obj);
    /* True when (status, reply) is the forge's "already exists" answer. */
    int (*exists)(long status, const json_t *reply);
    /* The forge's error text from an error reply, into out. */
    void (*message)(char *out, size_t len, const json_t *reply);
};

extern const strata_forge_backend strata_forge__github;
extern const strata_forge_backend strata_forge__gitlab;
extern const strata_forge_backend strata_forge__gitea;

/* A new JSON array of strings. */
json_t *strata_forge__strings(const char *const *v, size_t n);
/* "a,b,c" (GitLab's label lists). New. */
char *strata_forge__join(const char *const *v, size_t n, const char *sep);
/* A copy of the string member key of obj, or NULL. New. */
char *strata_forge__dupstr(const json_t *obj, const char *key);
/* Sets c: method, what, and a printf-built path. */
void strata_forge__call_set(strata_forge__call *c, const char *method,
                            const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The first message of GitHub/Gitea style {"message": ...} replies. */
void strata_forge__message(char *out, size_t len, const json_t *reply);
/* Frees the fields of pr (not pr itself) and zeroes it. */
void strata_forge__pr_release(strata_forge_pr *pr);
/* Deep-copies req into out (strings and arrays new). */
void strata_forge__req_copy(strata_forge_req *out, const strata_forge_req *req);
/* Frees what strata_forge__req_copy() allocated in r. */
void strata_forge__req_release(strata_forge_req *r);

/* A running operation (forge-op.c). */
typedef struct strata_forge__op strata_forge__op;

/* The client (forge.c); its operations run in forge-op.c. */
struct strata_forge {
    const strata_forge_backend *be;
    uv_loop_t *loop;
    strata_http *http;
    char *api_url;
    char *auth;    /* the auth header value; never logged */
    char *ca_file; /* or NULL */
    int insecure;
    uint32_t timeout_ms;
    int max_retries;
    uint32_t retry_base_ms;
    uint32_t max_retry_wait_ms;
    strata_forge__op *ops;
    int closing;
};

/*
 * forge-op.c: starts an operation of a checked request (copied) on forge;
 * as strata_forge_start(): on error the callback never runs.
 */
int strata_forge__op_start(strata_forge *forge, const strata_forge_req *req,
                           strata_forge_cb cb, void *arg, strata_error *err);
/* Fails (STRATA_ECANCELED) every operation not waiting on the network. */
void strata_forge__op_cancel_idle(strata_forge *forge);

/* app.c: the installation id of app (borrowed), for discovery's cache. */
const char *strata_forge__app_installation(const strata_forge_app *app);

/* ---- the GitHub-shaped REST API (util.c): GitHub's, which Gitea copies */

/* STRATA_EINVAL unless req->repo is "owner/name". */
int strata_forge__owner_name_check(const strata_forge_req *req,
                                   strata_error *err);
/* PATCH /repos/R/pulls/N with the title, body and base given. */
void strata_forge__gh_update(strata_forge__call *c,
                             const strata_forge__opview *v);
/* POST /repos/R/issues/N/labels by name. */
void strata_forge__gh_label(strata_forge__call *c,
                            const strata_forge__opview *v);
/* POST /repos/R/pulls/N/requested_reviewers. */
void strata_forge__gh_review(strata_forge__call *c,
                             const strata_forge__opview *v);
/* POST /repos/R/issues/N/comments. */
void strata_forge__gh_comment(strata_forge__call *c,
                              const strata_forge__opview *v);
/* PATCH /repos/R/pulls/N to state closed. */
void strata_forge__gh_close(strata_forge__call *c,
                            const strata_forge__opview *v);
/* A pull-request object into out; merged says whether the forge marks it
 * merged (GitHub: merged_at; Gitea: merged). -1 when it is not one. */
int strata_forge__gh_parse(strata_forge_pr *out, const json_t *obj, int merged);

#endif
