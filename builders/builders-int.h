/*
 * builders-int.h - what the files of builders/ share and nobody else sees.
 * Forges: the backend table (struct strata_forge_backend) and the view of a
 * running operation the backends build requests from.
 */
#ifndef STRATA_BUILDERS_INT_H
#define STRATA_BUILDERS_INT_H

#include <jansson.h>

#include "builders.h"

/* ==== forges ============================================================ */

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

/* Percent-encodes s for a path segment or query value. New. */
char *strata_forge__escape(const char *s);
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

/* ==== end of forges ===================================================== */

#endif
