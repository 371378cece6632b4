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

/* ==== end of forges ===================================================== */

/* ==== rebase (rebase.c, rebase-push.c, rebase-compose.c) =============== */

/* One platform of a rebase: its inputs, fetched, and what was composed. */
typedef struct strata_rebase__plat {
    char *platform; /* "os/arch[/variant]" */
    size_t entry;   /* index of its entry in the image's index */
    strata_manifest *img, *old, *new;  /* the platform manifests */
    char *img_cfg, *old_cfg, *new_cfg; /* raw config blobs */
    size_t img_cfg_len, old_cfg_len, new_cfg_len;
    strata_rebase_image out;
} strata_rebase__plat;

/* A running rebase; lives on rebase_run's stack, owns a private loop. */
typedef struct strata_rebase__ctx {
    const strata_rebase_opts *opts;
    uv_loop_t loop;
    strata_registry *reg;
    strata_ref *image, *old_base, *new_base, *target;
    char *base_name; /* the new base as given, without digest */
    strata_manifest *img_top, *old_top, *new_top;
    strata_rebase__plat *plats;
    size_t nplats;
    char *index; /* the new index (image was an index), or NULL */
    size_t index_len;
    char *index_digest;
    strata_rebase_result *res;
} strata_rebase__ctx;

/* rebase.c: synchronous steps on the context's loop. */
int strata_rebase__get_manifest(strata_manifest **out, strata_rebase__ctx *c,
                                const strata_ref *ref, strata_error *err);
int strata_rebase__get_blob(char **out, size_t *len, strata_rebase__ctx *c,
                            const strata_ref *ref, const char *digest,
                            size_t max, strata_error *err);
/* A new reference "name@digest" in ref's repository. */
strata_ref *strata_rebase__at(const strata_ref *ref, const char *digest);

/* rebase-compose.c: sets the two base keys on obj[key] (made if absent). */
void strata_rebase__set_base_keys(json_t *obj, const char *key,
                                  const char *name, const char *digest);
/* Dumps j compactly: *out (new), *len and *digest (new) of those bytes. */
void strata_rebase__dump(char **out, size_t *len, char **digest,
                         const json_t *j);

/* rebase-push.c: push every blob and manifest, then read back. */
int strata_rebase__push(strata_rebase__ctx *c, strata_error *err);
int strata_rebase__verify(strata_rebase__ctx *c, strata_error *err);

/* ==== end of rebase ===================================================== */

/* ==== rebuild backends (build.c, build-*.c) ============================ */

/* Sends no further normal requests' replies once the deadline passed. */
#define STRATA_BUILD__CLEANUP 1

struct strata_build_backend {
    const char *name;
    /* Checks the options before anything starts. */
    int (*check)(const strata_build_opts *o, strata_error *err);
    /* Begins the build: 0, or an error (then nothing runs). */
    int (*start)(strata_build *b, strata_error *err);
    /*
     * The deadline passed (b->timed_out is set, normal replies are
     * dropped): tidy up remotely with STRATA_BUILD__CLEANUP requests, then
     * strata_build__finish(STRATA_ETIMEOUT). NULL: finish at once.
     */
    void (*timeout)(strata_build *b);
    void (*release)(void *state); /* frees b->state */
    int own_deadline;             /* enforces opts.timeout_ms itself */
};

struct strata_build {
    uv_loop_t *loop;
    const strata_build_backend *be;
    strata_build_opts o; /* a deep copy; strings in owned */
    char **owned;
    size_t nowned;
    strata_http *http; /* made by the first request */
    uv_timer_t poll, deadline;
    void (*poll_fn)(strata_build *b);
    strata_build_cb cb;
    void *arg;
    void *state; /* the backend's */
    strata_buf log;
    char *digest, *url;
    int64_t run_id;
    int accepted;
    int done;      /* cb ran */
    int timed_out; /* the deadline passed */
    int refs;      /* timers being closed, children, works */
    int starting;  /* inside be->start: finish records, cb never runs */
    strata_error start_err;
};

/* Replies of strata_build__send; not called once the build is done. */
typedef void (*strata_build__http_cb)(strata_build *b,
                                      const strata_http_response *resp,
                                      const strata_error *err);

/*
 * Sends a request with the build's TLS options and request timeout. body
 * is copied. A start failure finishes the build (and returns its code).
 */
int strata_build__send(strata_build *b, int flags, const char *method,
                       const char *url, const strata_http_header *headers,
                       size_t nheaders, const char *body, size_t body_len,
                       strata_build__http_cb cb);
/* Runs fn once after ms on the build's poll timer (one at a time). */
void strata_build__later(strata_build *b, uint64_t ms,
                         void (*fn)(strata_build *b));
/* Ends the build: cb runs once (code 0: success); later calls do nothing. */
void strata_build__finish(strata_build *b, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Takes and drops a reference that keeps b alive past finish. */
void strata_build__ref(strata_build *b);
void strata_build__unref(strata_build *b);
/* Appends to the log tail (the oldest bytes go past 64 KiB). */
void strata_build__log(strata_build *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strata_build__log_add(strata_build *b, const char *data, size_t len);
/* The reply body as JSON, or NULL. New reference. */
json_t *strata_build__json(const strata_http_response *resp);
/*
 * Finishes b for an unexpected status: 401/403 STRATA_EAUTH, 404
 * STRATA_ENOTFOUND, else STRATA_EHTTP; "WHAT: HTTP N: detail".
 */
void strata_build__fail_status(strata_build *b, const char *what,
                               const strata_http_response *resp,
                               const char *detail);
/* Splits s on spaces and tabs into a NULL-terminated new array. */
char **strata_build__split(const char *s);
void strata_build__strv_free(char **v);
/* Hex HMAC-SHA256 of data under key into out (65 bytes). */
void strata_build__hmac(char out[65], const char *key, const void *data,
                        size_t len);
/* opts.ref, else opts.branch, else "main". Borrowed. */
const char *strata_build__git_ref(const strata_build *b);
/* The build args as "K=V" lines and the platforms comma-joined. New. */
char *strata_build__args_lines(const strata_build_opts *o);
char *strata_build__platforms(const strata_build_opts *o);

/* build-k8sconfig.c: where a Kubernetes API server is and how to talk. */
typedef struct strata_k8s__cluster {
    char *server;  /* "https://host:port", no trailing slash */
    char *token;   /* bearer token, or NULL */
    char *ca_file; /* CA bundle path, or NULL for the system's */
    char *ca_tmp;  /* a file written from certificate-authority-data */
    char *ns;      /* the namespace to use */
    int insecure;  /* insecure-skip-tls-verify */
} strata_k8s__cluster;

/*
 * From o->kubeconfig (current-context; server, certificate-authority
 * (-data), insecure-skip-tls-verify; user token or tokenFile), else
 * o->api_url + o->token + o->ca_file, else in-cluster. o->k8s_namespace
 * wins over the context's or service account's namespace ("default").
 * STRATA_EINVAL (unusable file: client certificates, exec plugins),
 * STRATA_EIO, STRATA_ENOTFOUND (no in-cluster environment).
 */
int strata_k8s__cluster_load(strata_k8s__cluster *out,
                             const strata_build_opts *o, strata_error *err);
void strata_k8s__cluster_release(strata_k8s__cluster *c);

extern const strata_build_backend strata_build__buildah;
extern const strata_build_backend strata_build__kubernetes;
extern const strata_build_backend strata_build__ghactions;
extern const strata_build_backend strata_build__gitlab;
extern const strata_build_backend strata_build__webhook;

/* ==== end of rebuild backends =========================================== */

/* ==== rescans (scan.c, scan-trivy.c, scan-grype.c, scan-sarif.c) ======= */

struct strata_scan_report {
    strata_scan_format format;
    char *name;                 /* for messages */
    strata_scan_finding *items; /* strings owned (xstrdup) */
    size_t n, cap;
    strata_strmap *index; /* "id\x1fpkg\x1fversion" -> index + 1 */
};

/* An empty report of format, named name (copied). */
strata_scan_report *strata_scan__new(strata_scan_format format,
                                     const char *name);
/*
 * Adds a finding (strings copied; version, fixed may be NULL; "" fixed is
 * NULL). An entry with the same (id, pkg, version) merges: the higher
 * severity and the first fixed version win.
 */
void strata_scan__add(strata_scan_report *r, const char *id, const char *pkg,
                      const char *version, const char *fixed,
                      strata_scan_severity severity);

/* The parsers: fill r from a parsed document (borrowed). */
int strata_scan__trivy(strata_scan_report *r, const json_t *root,
                       strata_error *err);
int strata_scan__grype(strata_scan_report *r, const json_t *root,
                       strata_error *err);
int strata_scan__sarif(strata_scan_report *r, const json_t *root,
                       strata_error *err);

/*
 * A string member of obj: 0 and *out (borrowed; NULL when absent or null),
 * or STRATA_EINVAL naming "report 'NAME': 'PATH.key' ..." when it is of
 * another type or, with required, absent.
 */
int strata_scan__str(const char **out, const strata_scan_report *r,
                     const json_t *obj, const char *path, const char *key,
                     int required, strata_error *err);
/*
 * An array member: *out (borrowed) or NULL when absent or null; an error
 * when another type or, with required, absent.
 */
int strata_scan__array(const json_t **out, const strata_scan_report *r,
                       const json_t *obj, const char *path, const char *key,
                       int required, strata_error *err);
/* STRATA_EINVAL "report 'NAME': 'PATH' is not an object" unless it is. */
int strata_scan__object(const strata_scan_report *r, const json_t *v,
                        const char *path, strata_error *err);

/* ==== end of rescans ==================================================== */

/* ==== digest pinning (pin.c, pin-yaml.c) ============================== */

/* One rewrite: length bytes at offset become text. */
typedef struct strata_pin__edit {
    size_t offset, length;
    char *text;
} strata_pin__edit;

/* A pin call in progress: the sites found so far and their edits. */
typedef struct strata_pin__ctx {
    strata_pin_result *out;
    const char *data;
    size_t len;
    const char *name;
    const strata_pin_opts *opts;
    strata_pin__edit *edits;
    size_t nedits;
} strata_pin__ctx;

/*
 * A reference found in a file. value is the reference as the tool that
 * reads the file sees it (quotes, escapes and continuations removed);
 * at_off is the file offset of its '@' ((size_t) -1 when it has none) and
 * end_off the offset just past its last character there.
 */
typedef struct strata_pin__site {
    const char *value;
    size_t at_off, end_off;
    unsigned line;
    const char *platform; /* ask for this platform's manifest, or NULL */
    const strata_df_ref *where;
} strata_pin__site;

void strata_pin__init(strata_pin__ctx *c, strata_pin_result *out,
                      const char *data, size_t len, const char *name,
                      const strata_pin_opts *opts);
/*
 * Asks the lookup about s and records the edit when the digest differs
 * from the one written. A value that is not a reference is a problem; one
 * without a tag is skipped.
 */
void strata_pin__add(strata_pin__ctx *c, const strata_pin__site *s);
void strata_pin__problem(strata_pin__ctx *c, unsigned line, const char *fmt,
                         ...) __attribute__((format(printf, 3, 4)));
/* Applies the edits to a copy of the data into c->out. */
void strata_pin__finish(strata_pin__ctx *c);

/* ==== end of digest pinning ============================================= */

#endif
