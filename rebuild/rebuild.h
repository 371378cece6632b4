/*
 * rebuild.h - rebuild backends: buildah, Kubernetes Jobs, GitHub Actions,
 * GitLab pipelines and generic webhooks, behind one asynchronous interface.
 */
#ifndef STRATA_REBUILD_H
#define STRATA_REBUILD_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core.h"
#include "oci.h"

struct strata_vcs_cancel;

/*
 * Rebuild an image somewhere and report how it went: buildah on this host
 * (build-buildah.c), a batch/v1 Job in Kubernetes running BuildKit or
 * kaniko (build-kubernetes.c), a GitHub Actions workflow_dispatch
 * (build-ghactions.c), a GitLab pipeline (build-gitlab.c) or a signed
 * webhook (build-webhook.c). Backends are structs of function pointers,
 * found by name with strata_rebuild_lookup(); every one runs on a uv loop
 * (HTTP through core's client, child processes through
 * strata_proc_spawn, git work in uv_queue_work) and ends with one
 * callback carrying success or failure, a log tail and, when the backend
 * can know it, the digest it pushed.
 *
 * Errors (in the callback's err):
 *   STRATA_EIO        the build ran and failed (exit status, run
 *                     conclusion, pipeline status, Job failed)
 *   STRATA_ETIMEOUT   it did not finish within opts.timeout_ms (the Job,
 *                     run or pipeline is cancelled or deleted, best effort)
 *   STRATA_EAUTH      401/403 from the API (the token is never shown)
 *   STRATA_ENOTFOUND  404: no such repository, workflow, project,
 *                     namespace; or no run appeared for a dispatch
 *   STRATA_EHTTP, STRATA_ENET, STRATA_EPROTO   the API misbehaved
 *   STRATA_ECANCELED  the opts.cancel flag was set (strata stopping)
 */

typedef struct strata_rebuild_backend strata_rebuild_backend;
typedef struct strata_rebuild strata_rebuild;

/*
 * The backend called name ("buildah", "kubernetes", "github-actions",
 * "gitlab", "webhook": the config's builder types), or NULL. Borrowed.
 */
const strata_rebuild_backend *strata_rebuild_lookup(const char *name);
/* The backend's name. Borrowed. */
const char *strata_rebuild_backend_name(const strata_rebuild_backend *be);

typedef struct strata_rebuild_kv {
    const char *key;
    const char *value;
} strata_rebuild_kv;

/* Credentials for one registry (buildah writes them to an authfile). */
typedef struct strata_rebuild_registry {
    const char *host; /* "registry.example.com", "127.0.0.1:5000" */
    const char *username;
    const char *password;
    int insecure; /* plain HTTP or unverified TLS (--tls-verify=false) */
} strata_rebuild_registry;

/*
 * What to build and where. Everything is borrowed and copied by the
 * starter; fields a backend does not use are ignored.
 */
typedef struct strata_rebuild_opts {
    /* -- the build -- */
    const char *image;      /* the reference to push: "host/repo:tag" */
    const char *dockerfile; /* relative to the repository: "Dockerfile" */
    const char *context;    /* relative to the repository: "." (NULL) */
    const char *target;     /* a stage, or NULL */
    const strata_rebuild_kv *build_args;
    size_t nbuild_args;
    const char *const *platforms; /* "linux/amd64", ...; may be empty */
    size_t nplatforms;
    const char *base;        /* the base that moved, canonical, or NULL */
    const char *base_digest; /* its new digest ("sha256:..."), or NULL:
                                passed as build arg BASE_DIGEST (buildah
                                also pins ARG-defaulted FROMs of base) */
    /*
     * Non-zero when base is what the image's Dockerfile builds FROM: the
     * image is then stamped with org.opencontainers.image.base.name and
     * .digest (buildah --annotation, BuildKit annotation.*, kaniko
     * --label), so registry lineage stays exact. Not set for an image
     * whose direct base is an intermediate image.
     */
    int annotate_base;
    const char *repo_url; /* the git repository holding the sources */
    const char *branch;   /* its branch ("main" when NULL) */
    const char *id;       /* a caller's id for names and labels ("42") */
    /*
     * The job's idempotency key ("IMAGE|BASE-DIGEST|rebuild"), the same
     * for every run of one job, a rerun after a crash included: every
     * backend passes it as the build argument STRATA_JOB_KEY (GitLab also
     * as the variable STRATA_JOB_KEY, the webhook as "job_key"), so a
     * builder can drop a repeat. NULL: not passed.
     */
    const char *job_key;
    /* Borrowed, may be NULL: ends the git fetch of a build under way
     * (buildah's mirror) when set (strata_vcs_cancel_set). */
    struct strata_vcs_cancel *cancel;
    uint64_t timeout_ms;         /* the whole build; 0 = 1 h */
    uint32_t poll_ms;            /* status polling interval; 0 = 5 s */
    uint32_t request_timeout_ms; /* per HTTP request; 0 = 30 s */

    /* -- buildah -- */
    /*
     * The tree to build, or NULL: then repo_url/branch is mirrored into
     * cache_dir (vcs/) and its head exported to a temporary directory.
     */
    const char *context_dir;
    const char *cache_dir;
    const char *repo_username; /* git credentials for the mirror */
    const char *repo_token;
    /* The buildah program and global options, split on spaces
     * ("buildah --root /x"); NULL = "buildah". */
    const char *program;
    const char *storage_driver; /* --storage-driver (e.g. "vfs"), or NULL */
    const char *isolation;      /* bud --isolation (e.g. "chroot"), or NULL */
    const char *authfile;       /* an existing auth.json, or NULL */
    const strata_rebuild_registry *registries; /* written to a private
                                                authfile when set */
    size_t nregistries;

    /* -- HTTP backends -- */
    const char *api_url;  /* GitHub, GitLab API; Kubernetes API server */
    const char *token;    /* GitHub/GitLab token, K8s bearer, webhook */
    const char *ca_file;  /* CA bundle instead of the system's */
    int insecure;         /* skip TLS verification */
    const char *repo;     /* github-actions: "owner/name" */
    const char *workflow; /* github-actions: "rebuild.yml" or an id */
    const char *project;  /* gitlab: "group/name" or an id */
    const char *ref;      /* github-actions, gitlab: ref to run on; NULL =
                             branch */
    /* gitlab: a token that may read pipelines when token is a trigger
     * token (tokens starting "glpat-" use the pipeline API instead). */
    const char *api_token;
    const char *url;    /* webhook: where to POST */
    const char *secret; /* webhook: HMAC-SHA256 key for X-Strata-Signature */

    /* -- kubernetes -- */
    const char *k8s_namespace; /* NULL: the kubeconfig's, the service
                                  account's, or "default" */
    const char *builder_image; /* moby/buildkit:*rootless* or kaniko */
    const char *kubeconfig;    /* a kubeconfig file; NULL: api_url+token,
                                  else in-cluster */
    const char *sa_dir;        /* in-cluster files; NULL =
                          /var/run/secrets/kubernetes.io/serviceaccount */
    const char *push_secret;   /* a kubernetes.io/dockerconfigjson Secret
                                  mounted for pushing, or NULL */
    const char *command;       /* the container's command, split on
                                  spaces; NULL: the flavour's default */
} strata_rebuild_opts;

/* How a build ended. Borrowed by the callback. */
typedef struct strata_rebuild_result {
    const char *digest; /* pushed digest, or NULL when not known */
    const char *log;    /* tail of the build's output (never NULL) */
    const char *url;    /* the run / pipeline / Job, or NULL */
    int64_t run_id;     /* GitHub run id, GitLab pipeline id; 0 */
    int accepted;       /* webhook without status URL: accepted, outcome
                           unknown (the callback reports success) */
} strata_rebuild_result;

/*
 * Runs exactly once. err is NULL on success; res is never NULL (its log
 * helps with failures too). Both are borrowed for the call.
 */
typedef void (*strata_rebuild_cb)(const strata_rebuild_result *res,
                                  const strata_error *err, void *arg);

/*
 * Starts a build on loop. On error (STRATA_EINVAL: an option the backend
 * needs is missing or bad; STRATA_EIO: an unreadable kubeconfig) cb never
 * runs; otherwise it runs exactly once, from the loop. *out (may be NULL)
 * is valid until cb runs.
 */
int strata_rebuild_start(strata_rebuild **out, uv_loop_t *loop,
                         const strata_rebuild_backend *be,
                         const strata_rebuild_opts *opts, strata_rebuild_cb cb,
                         void *arg, strata_error *err);

/*
 * The build args that pin base (canonical, without digest) at digest for
 * a Dockerfile: "BASE_DIGEST=sha256:..." and, for every global ARG whose
 * default gave a FROM (or COPY --from, mount) that reference,
 * "NAME=<default without digest>@digest". *out is a new array of *nout
 * "K=V" strings (free each and the array).
 */
int strata_rebuild_pin_args(char ***out, size_t *nout, const char *dockerfile,
                            size_t len, const char *base, const char *digest,
                            strata_error *err);

#endif
