/*
 * rebuild-int.h - what the files of rebuild/ share and nobody else sees.
 */
#ifndef STRATA_REBUILD_INT_H
#define STRATA_REBUILD_INT_H

#include <jansson.h>

#include "rebuild.h"

/* The most a build system's answer may hold. */
#define STRATA_REBUILD__MAX_ANSWER ((size_t) 8 * 1024 * 1024)

/* Sends no further normal requests' replies once the deadline passed. */
#define STRATA_REBUILD__CLEANUP 1

struct strata_rebuild_backend {
    const char *name;
    /* Checks the options before anything starts. */
    int (*check)(const strata_rebuild_opts *o, strata_error *err);
    /* Begins the build: 0, or an error (then nothing runs). */
    int (*start)(strata_rebuild *b, strata_error *err);
    /*
     * The deadline passed (b->timed_out is set, normal replies are
     * dropped): tidy up remotely with STRATA_REBUILD__CLEANUP requests, then
     * strata_rebuild__finish(STRATA_ETIMEOUT). NULL: finish at once.
     */
    void (*timeout)(strata_rebuild *b);
    void (*release)(void *state); /* frees b->state */
    int own_deadline;             /* enforces opts.timeout_ms itself */
};

struct strata_rebuild {
    uv_loop_t *loop;
    const strata_rebuild_backend *be;
    strata_rebuild_opts o; /* a deep copy; strings in owned */
    char **owned;
    size_t nowned;
    strata_http *http; /* made by the first request */
    uv_timer_t poll, deadline;
    void (*poll_fn)(strata_rebuild *b);
    strata_rebuild_cb cb;
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

/* Replies of strata_rebuild__send; not called once the build is done. */
typedef void (*strata_rebuild__http_cb)(strata_rebuild *b,
                                        const strata_http_response *resp,
                                        const strata_error *err);

/*
 * Sends a request with the build's TLS options and request timeout. body
 * is copied. A start failure finishes the build (and returns its code).
 */
int strata_rebuild__send(strata_rebuild *b, int flags, const char *method,
                         const char *url, const strata_http_header *headers,
                         size_t nheaders, const char *body, size_t body_len,
                         strata_rebuild__http_cb cb);
/* Runs fn once after ms on the build's poll timer (one at a time). */
void strata_rebuild__later(strata_rebuild *b, uint64_t ms,
                           void (*fn)(strata_rebuild *b));
/* Ends the build: cb runs once (code 0: success); later calls do nothing. */
void strata_rebuild__finish(strata_rebuild *b, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Takes and drops a reference that keeps b alive past finish. */
void strata_rebuild__ref(strata_rebuild *b);
void strata_rebuild__unref(strata_rebuild *b);
/* Appends to the log tail (the oldest bytes go past 64 KiB). */
void strata_rebuild__log(strata_rebuild *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strata_rebuild__log_add(strata_rebuild *b, const char *data, size_t len);
/* The reply body as JSON, or NULL. New reference. */
json_t *strata_rebuild__json(const strata_http_response *resp);
/*
 * Finishes b for an unexpected status: 401/403 STRATA_EAUTH, 404
 * STRATA_ENOTFOUND, else STRATA_EHTTP; "WHAT: HTTP N: detail".
 */
void strata_rebuild__fail_status(strata_rebuild *b, const char *what,
                                 const strata_http_response *resp,
                                 const char *detail);
/* Splits s on spaces and tabs into a NULL-terminated new array. */
char **strata_rebuild__split(const char *s);
void strata_rebuild__strv_free(char **v);

/* opts.ref, else opts.branch, else "main". Borrowed. */
const char *strata_rebuild__git_ref(const strata_rebuild *b);
/* The build args as "K=V" lines and the platforms comma-joined. New. */
char *strata_rebuild__args_lines(const strata_rebuild_opts *o);
char *strata_rebuild__platforms(const strata_rebuild_opts *o);

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
                             const strata_rebuild_opts *o, strata_error *err);
void strata_k8s__cluster_release(strata_k8s__cluster *c);

extern const strata_rebuild_backend strata_rebuild__buildah;
extern const strata_rebuild_backend strata_rebuild__kubernetes;
extern const strata_rebuild_backend strata_rebuild__ghactions;
extern const strata_rebuild_backend strata_rebuild__gitlab;
extern const strata_rebuild_backend strata_rebuild__webhook;

#endif
