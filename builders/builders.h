/*
 * builders.h - what strata does to the images a base update touches:
 * rebuild backends, registry-side rebase, rescans, digest-pinning rewrites
 * and the pull requests that carry them. Each concern has its own section
 * below; sections are owned by different files of the module.
 */
#ifndef STRATA_BUILDERS_H
#define STRATA_BUILDERS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core.h"

/* ==== forges: pull / merge requests (forge.c, forge-*.c) =============== */

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

/* ==== end of forges ===================================================== */

/* ==== rebase: registry-side rebase (rebase.c, rebase-*.c) ============= */

#include "oci.h"

/*
 * crane-rebase semantics, entirely in the registry (nothing is built or
 * unpacked): IMAGE's manifest (each platform's, for an index) must start
 * with exactly the old base's layers (digests in order) and its config's
 * rootfs.diff_ids with the old base's; the result is the new base's
 * layers followed by IMAGE's own, a config whose diff_ids and history are
 * the new base's followed by IMAGE's own (the history entries after the
 * old base's count, empty_layer entries kept), "created" and everything
 * else kept, and org.opencontainers.image.base.name (the new base as
 * given, without digest) and .base.digest (the digest the new base
 * reference resolved to: the index digest for a multi-arch base) set as
 * config labels and, for OCI manifests and indexes, as annotations. An
 * image that already sits on the new base (and not on the old one) is
 * composed the same way, so running a rebase twice gives the same digest.
 *
 * Refusals (STRATA_ECONFLICT, with the reason) happen before anything is
 * pushed: the old base is not a prefix of the image, the new or old base
 * lacks a platform the image has, manifest media types differ (OCI vs
 * Docker) or a base layer's media type does not fit the image's manifest.
 */

/* One input of strata_rebase_compose: a manifest and its config, raw. */
typedef struct strata_rebase_part {
    const char *manifest; /* the exact manifest bytes */
    size_t manifest_len;
    const char *media_type; /* the manifest's media type */
    const char *config;     /* the exact config blob bytes */
    size_t config_len;
    const char *name; /* for messages: "host/repo:tag" */
} strata_rebase_part;

/* What strata_rebase_compose made. */
typedef struct strata_rebase_image {
    char *manifest; /* new: the bytes to push; digest = sha256 of them */
    size_t manifest_len;
    char *manifest_digest; /* "sha256:..." */
    char *config;          /* new: the config blob */
    size_t config_len;
    char *config_digest;
    size_t nbase_layers; /* the new base's layers at the bottom */
    size_t nown_layers;  /* the image's own layers on top */
    int already;         /* the image was on the new base already */
} strata_rebase_image;

/* Frees what the fields point to (not img itself) and zeroes it. */
void strata_rebase_image_release(strata_rebase_image *img);

/*
 * The pure part of a rebase, for one platform: checks that image sits on
 * old_base (or already on new_base) and composes the new manifest and
 * config. base_name and base_digest are the annotation values. On
 * STRATA_ECONFLICT (a refusal) or STRATA_EPROTO (a malformed manifest or
 * config) out is left zeroed.
 */
int strata_rebase_compose(strata_rebase_image *out,
                          const strata_rebase_part *image,
                          const strata_rebase_part *old_base,
                          const strata_rebase_part *new_base,
                          const char *base_name, const char *base_digest,
                          strata_error *err);

/* Registry options for one domain (credentials, TLS). */
typedef struct strata_rebase_host {
    const char *domain;
    strata_registry_opts opts;
} strata_rebase_host;

typedef struct strata_rebase_opts {
    const char *image;    /* the image to rebase: a tag or a digest */
    const char *old_base; /* the base it was built on */
    const char *new_base; /* the base to put it on */
    /*
     * Where to push: a tag name for IMAGE's repository ("1.2-rebased"),
     * or a full reference with a tag (another repository or registry).
     */
    const char *tag;
    const strata_registry_opts *defaults; /* NULL: anonymous, defaults */
    const strata_rebase_host *hosts;      /* per-domain options */
    size_t nhosts;
    size_t chunk_size; /* blob uploads in PATCH chunks; 0: monolithic */
    int dry_run;       /* fetch, check and compose; push nothing */
} strata_rebase_opts;

typedef struct strata_rebase_result {
    char *ref;        /* the reference pushed: "host/repo:tag" */
    char *digest;     /* what the tag points to now (manifest or index) */
    char *media_type; /* of that manifest or index */
    size_t nplatforms;
    char **platforms;        /* "os/arch[/variant]" per platform */
    char **platform_digests; /* the new manifest per platform */
    size_t blobs_existed;    /* already in the target repository */
    size_t blobs_mounted;    /* cross-repository mounts */
    size_t blobs_uploaded;   /* sent (copied between registries, configs) */
    uint64_t bytes_pushed;   /* blob and manifest bytes sent */
    int already;             /* every platform was on the new base */
} strata_rebase_result;

void strata_rebase_result_free(strata_rebase_result *res);

/*
 * Runs a whole rebase synchronously on a private uv loop and registry
 * client (so it may be called from a uv_queue_work worker thread; it
 * touches nothing shared): resolve the three references, fetch and check
 * every platform, compose, push blobs (skipping those the target
 * repository has, mounting the new base's from its repository on the same
 * registry, copying the rest), configs, platform manifests, the index,
 * then read the tag back and verify the manifest digest, each platform's
 * config digest, layer list and diff_ids. *out is the caller's
 * (strata_rebase_result_free). Errors: STRATA_EINVAL (a bad reference or
 * tag), STRATA_ECONFLICT (a refusal: nothing was pushed), STRATA_EPROTO
 * (malformed data, or the read-back differs), and the registry's codes.
 */
int strata_rebase_run(strata_rebase_result **out,
                      const strata_rebase_opts *opts, strata_error *err);

/* ==== end of rebase ===================================================== */

/* ==== digest pinning (pin.c, pin-yaml.c) ============================= */

#include "graph.h"

/*
 * Digest pinning rewrites image references in place to NAME:TAG@DIGEST
 * (Renovate's pinDigests): in Dockerfiles (pin.c) and in docker-compose
 * files and Kubernetes manifests (pin-yaml.c). Only the bytes of each
 * reference change; a reference with a digest already gets the new one, a
 * reference without a tag gets ":latest" so the pin names what it follows,
 * and a digest-only reference (no tag) is left alone. What cannot be
 * rewritten in one place (variables, YAML aliases, block scalars, odd
 * quoting) is reported as a problem, never guessed at.
 */

/*
 * Gives the digest to pin a reference to (canonical, without digest:
 * "docker.io/library/debian:12-slim"), or NULL to leave it alone. The
 * parsed reference is there for context (kind, stage, platform).
 */
typedef const char *(*strata_pin_resolve_cb)(const char *ref,
                                             const strata_df_ref *where,
                                             void *arg);

/* One reference a lookup is asked about. Everything is borrowed. */
typedef struct strata_pin_query {
    const char *ref; /* canonical, without digest */
    /*
     * NULL: the digest the tag points to (a multi-arch tag's INDEX
     * digest). "os/arch[/variant]" only when platform pins were asked for
     * (strata_pin_opts.platform_pins) and the FROM names that platform.
     */
    const char *platform;
    const char *pinned; /* the digest written now, or NULL */
    const char *name;   /* the file name given to the pin call */
    unsigned line;      /* where the reference (or its ARG default) is */
    const strata_df_ref *where; /* the Dockerfile reference; NULL in YAML */
} strata_pin_query;

/* The digest to pin q's reference to (borrowed), or NULL to leave it. */
typedef const char *(*strata_pin_lookup_cb)(const strata_pin_query *q,
                                            void *arg);

/* What the YAML pinner looks for (strata_pin_opts.yaml); 0 means both. */
enum {
    STRATA_PIN_YAML_COMPOSE = 1 << 0, /* services.*.image */
    STRATA_PIN_YAML_K8S = 1 << 1,     /* containers[].image & co */
};

typedef struct strata_pin_opts {
    strata_pin_lookup_cb lookup;
    void *arg;
    /*
     * 0 (the default): every reference is pinned to what its tag points
     * to, the index for a multi-arch tag. 1: a FROM whose --platform is
     * written as a literal "os/arch[/variant]" asks for that platform's
     * manifest digest instead (q->platform).
     */
    int platform_pins;
    unsigned yaml; /* STRATA_PIN_YAML_* bits; 0 means both */
} strata_pin_opts;

typedef struct strata_pin_change {
    unsigned line;
    char *ref;        /* canonical, without digest */
    char *old_text;   /* the reference as written ("debian:12-slim") */
    char *new_text;   /* "debian:12-slim@sha256:..." */
    char *old_digest; /* the digest written before, or NULL (unpinned) */
    char *new_digest; /* the digest pinned now */
    char *platform;   /* the platform pinned to, or NULL (the tag's) */
} strata_pin_change;

typedef struct strata_pin_result {
    char *data; /* the new file: every byte but the pins unchanged */
    size_t len;
    strata_pin_change *changes;
    size_t nchanges;
    char **problems; /* "FILE:LINE: why it could not be pinned" */
    size_t nproblems;
    size_t nrefs; /* references with a tag the lookup was asked about */
} strata_pin_result;

/*
 * Pins the references of df (parsed from data/len) that resolve() knows a
 * digest for, where they are written (the FROM, COPY --from or mount, or
 * the global ARG default they came from). A reference already at that
 * digest is left alone. out is the caller's (strata_pin_result_release),
 * also when nothing changed (out->nchanges == 0, out->data == data's copy).
 * Platform pins are off (see strata_pin_dockerfile_opts).
 */
int strata_pin_dockerfile(strata_pin_result *out, const char *data, size_t len,
                          const strata_dockerfile *df, const char *name,
                          strata_pin_resolve_cb resolve, void *arg,
                          strata_error *err);

/*
 * Like strata_pin_dockerfile, asking opts->lookup. A reference whose
 * written text is quoted or escaped in a way that does not read back as
 * the reference, and one built from variables, is a problem, not a
 * change. Continuations inside a reference are kept: the digest goes
 * after its last character. Returns 0 (problems are in out).
 */
int strata_pin_dockerfile_opts(strata_pin_result *out, const char *data,
                               size_t len, const strata_dockerfile *df,
                               const char *name, const strata_pin_opts *opts,
                               strata_error *err);

/*
 * Pins the image references of a YAML file (data/len, UTF-8; every
 * document of a "---" stream): services.NAME.image of docker-compose
 * documents (services with a "build" key build that image and are
 * skipped), and containers[].image, initContainers[].image and
 * ephemeralContainers[].image anywhere in a Kubernetes document (one with
 * a top-level "kind": Pod, the workload templates, CronJob, List). Each
 * scalar is rewritten inside its own bytes, keeping its quoting style
 * (plain, '...' or "..."); comments, indentation, flow style and CRLF
 * stay. An image given by an alias or carrying an anchor, a block or
 * multi-line scalar, a double-quoted scalar with escapes and a compose
 * "${VAR}" are problems. out is the caller's (strata_pin_result_release).
 * Fails with STRATA_EINVAL when the YAML does not parse ("NAME:LINE:COL:
 * problem") or is not UTF-8.
 */
int strata_pin_yaml(strata_pin_result *out, const char *data, size_t len,
                    const char *name, const strata_pin_opts *opts,
                    strata_error *err);

void strata_pin_result_release(strata_pin_result *r);

/* ---- which files to pin (pin-walk.c) ---- */

typedef enum strata_pin_kind {
    STRATA_PIN_NONE = 0,
    STRATA_PIN_DOCKERFILE, /* Dockerfile, Containerfile, *.Dockerfile,
                              Dockerfile.* (not *.dockerignore) */
    STRATA_PIN_COMPOSE,    /* compose.y(a)ml, docker-compose.y(a)ml,
                              docker-compose.*.y(a)ml, compose.*.y(a)ml */
    STRATA_PIN_MANIFEST,   /* any other *.yaml / *.yml: Kubernetes
                              manifests, if it holds any */
} strata_pin_kind;

/* What a file's base name makes it; STRATA_PIN_NONE for anything else. */
strata_pin_kind strata_pin_kind_of(const char *basename);

typedef struct strata_pin_file {
    char *path; /* PATH joined with the file's path below it */
    strata_pin_kind kind;
} strata_pin_file;

/*
 * The files under path to pin, sorted by path: path itself when it is a
 * file (a name of no known kind is a Dockerfile, or a manifest when it
 * ends in .yaml/.yml), else every file of a known kind below it. Hidden
 * directories (.git) and node_modules are skipped and symbolic links are
 * not followed. *out is the caller's (strata_pin_files_free). Errors:
 * STRATA_ENOTFOUND when path does not exist, STRATA_EIO.
 */
int strata_pin_walk(strata_pin_file **out, size_t *nout, const char *path,
                    strata_error *err);
void strata_pin_files_free(strata_pin_file *files, size_t n);

/* ==== rescans: vulnerability reports, deltas, gates (scan*.c) ========== */

/*
 * A rescan runs a vulnerability scanner (Trivy, Grype, or anything that
 * writes SARIF 2.1.0) against one image digest, keeps its findings per
 * digest in the store, and compares them with the previous digest of the
 * same image: which findings are new, fixed or unchanged, by severity. A
 * gate decides what new findings of each severity do to the job.
 *
 * Reports are parsed with jansson from what the scanners document:
 *   Trivy JSON (SchemaVersion 2): Results[].Vulnerabilities[] with
 *     VulnerabilityID, PkgName, InstalledVersion, FixedVersion (absent
 *     when there is no fix) and Severity;
 *   Grype JSON: matches[] with vulnerability.{id, severity, fix.{versions,
 *     state}} and artifact.{name, version};
 *   SARIF 2.1.0: runs[].results[] with ruleId, level, locations; the
 *     severity comes from the rule's properties.tags (Trivy), else its
 *     security-severity (a CVSS score), else from the level (error: high,
 *     warning: medium, note: low, none: unknown); an old Trivy rule id
 *     "[LOW] CVE-2011-3374" carries both.
 * Within a report, entries with the same (id, pkg, version) are one
 * finding (the highest severity wins). Across digests a finding is
 * identified by (id, pkg): the same vulnerability in the same package is
 * unchanged whatever its installed version.
 */
#include <jansson.h>

#include "store.h"

typedef enum strata_scan_severity {
    STRATA_SCAN_UNKNOWN = 0,
    STRATA_SCAN_NEGLIGIBLE,
    STRATA_SCAN_LOW,
    STRATA_SCAN_MEDIUM,
    STRATA_SCAN_HIGH,
    STRATA_SCAN_CRITICAL,
    STRATA_SCAN_NSEVERITIES
} strata_scan_severity;

/* "unknown", "negligible", "low", "medium", "high", "critical". Static. */
const char *strata_scan_severity_name(strata_scan_severity s);
/*
 * Normalises a scanner's spelling, case-insensitively: "CRITICAL",
 * "High", "moderate" (medium), "negligible", "info" (negligible); anything
 * else (also "none", NULL) is STRATA_SCAN_UNKNOWN.
 */
strata_scan_severity strata_scan_severity_parse(const char *s);

typedef enum strata_scan_format {
    STRATA_SCAN_AUTO = 0, /* detect from the document */
    STRATA_SCAN_TRIVY,
    STRATA_SCAN_GRYPE,
    STRATA_SCAN_SARIF,
} strata_scan_format;

/* "auto", "trivy", "grype", "sarif". Static. */
const char *strata_scan_format_name(strata_scan_format f);
/* STRATA_EINVAL for an unknown name. */
int strata_scan_format_parse(strata_scan_format *out, const char *name,
                             strata_error *err);

/* One finding; its strings are owned by the report. */
typedef struct strata_scan_finding {
    const char *id;      /* "CVE-2019-1549", "GHSA-..." */
    const char *pkg;     /* the package; "" when the report names none */
    const char *version; /* installed version, or NULL */
    const char *fixed;   /* the version that fixes it, or NULL: no fix */
    strata_scan_severity severity;
} strata_scan_finding;

/* A parsed report: findings in report order. */
typedef struct strata_scan_report strata_scan_report;

/*
 * Parses a report (format STRATA_SCAN_AUTO detects it). name is used in
 * messages: "report 'trivy.json': 'Results[2].Vulnerabilities' is not an
 * array". STRATA_EINVAL for malformed JSON or a document that is not the
 * format; *out is the caller's (strata_scan_report_free).
 */
int strata_scan_report_parse(strata_scan_report **out, const char *data,
                             size_t len, strata_scan_format format,
                             const char *name, strata_error *err);
/* Reads path (at most 64 MiB) and parses it; STRATA_EIO when unreadable. */
int strata_scan_report_load(strata_scan_report **out, const char *path,
                            strata_scan_format format, strata_error *err);
/*
 * A report from findings as strata_scan_report_json() and the store write
 * them: [{"id", "pkg", "version", "fixed", "severity"}]. format is
 * recorded as given.
 */
int strata_scan_report_from_json(strata_scan_report **out,
                                 const json_t *findings,
                                 strata_scan_format format, const char *name,
                                 strata_error *err);
void strata_scan_report_free(strata_scan_report *r);

/* The format the report was parsed as (never AUTO after a parse). */
strata_scan_format strata_scan_report_format(const strata_scan_report *r);
size_t strata_scan_report_count(const strata_scan_report *r);
/* The i-th finding (i < count). Borrowed from r. */
const strata_scan_finding *strata_scan_report_get(const strata_scan_report *r,
                                                  size_t i);
/* out[severity] = how many findings have it. */
void strata_scan_report_counts(size_t out[STRATA_SCAN_NSEVERITIES],
                               const strata_scan_report *r);
/* New: [{"id", "pkg", "version", "fixed", "severity"}], absent as null. */
json_t *strata_scan_finding_json(const strata_scan_finding *f);
json_t *strata_scan_report_json(const strata_scan_report *r);

/* ---- deltas and gates (scan-delta.c) ---- */

/* What changed between the previous digest's findings and the current. */
typedef struct strata_scan_delta {
    int has_previous;                      /* 0: a first scan, the baseline */
    size_t total[STRATA_SCAN_NSEVERITIES]; /* current findings */
    size_t added[STRATA_SCAN_NSEVERITIES]; /* new in current */
    size_t fixed[STRATA_SCAN_NSEVERITIES]; /* gone (previous severity) */
    size_t unchanged[STRATA_SCAN_NSEVERITIES]; /* in both (current one) */
    json_t *added_list;                        /* owned: [finding] */
    json_t *fixed_list;                        /* owned: [finding] */
} strata_scan_delta;

/*
 * Compares cur with prev (NULL: no previous scan; every finding is then
 * listed as new, and has_previous is 0). Lists are in report order,
 * critical first. Release with strata_scan_delta_release().
 */
void strata_scan_delta_compute(strata_scan_delta *out,
                               const strata_scan_report *prev,
                               const strata_scan_report *cur);
void strata_scan_delta_release(strata_scan_delta *d);
/*
 * New: {"critical": {"total", "new", "fixed", "unchanged"}, "high": ...}
 * for every severity.
 */
json_t *strata_scan_delta_counts_json(const strata_scan_delta *d);

typedef enum strata_scan_gate_action {
    STRATA_SCAN_GATE_IGNORE = 0,
    STRATA_SCAN_GATE_WARN,
    STRATA_SCAN_GATE_FAIL,
} strata_scan_gate_action;

/* What new findings of each severity do; zeroed: ignore everything. */
typedef struct strata_scan_gate {
    strata_scan_gate_action on_new[STRATA_SCAN_NSEVERITIES];
} strata_scan_gate;

/* "ignore", "warn", "fail". Static. */
const char *strata_scan_gate_action_name(strata_scan_gate_action a);

/*
 * The gate's verdict on d: the strongest action among the severities
 * that have new findings. A first scan (no previous) is the baseline and
 * always passes. *out_reason (may be NULL) gets a new one-line message
 * ("2 new critical findings: CVE-1, CVE-2; 1 new high finding: CVE-3")
 * when the verdict is not IGNORE, else NULL.
 */
strata_scan_gate_action strata_scan_gate_check(char **out_reason,
                                               const strata_scan_gate *gate,
                                               const strata_scan_delta *d);

/* ---- findings in the store (scan-delta.c) ---- */

/*
 * Records r as the findings of image@digest, scanned by `scanner` (a
 * name), replacing what an earlier scan of that digest recorded.
 */
int strata_scan_report_save(strata_store *st, const char *image,
                            const char *digest, const char *scanner,
                            const strata_scan_report *r, strata_error *err);
/*
 * The findings recorded for image@digest. STRATA_ENOTFOUND when that
 * digest was never scanned.
 */
int strata_scan_report_stored(strata_scan_report **out, strata_store *st,
                              const char *image, const char *digest,
                              strata_error *err);

/*
 * The step every rescan takes once it has a report r of image@digest: the
 * newest other scanned digest of image is the previous one (*out_previous,
 * a new string, or NULL when there is none); r is recorded as
 * image@digest's findings; *out is the delta against the previous
 * digest's findings (release it, also on error).
 */
int strata_scan_record(strata_scan_delta *out, char **out_previous,
                       strata_store *st, const char *image, const char *digest,
                       const char *scanner, const strata_scan_report *r,
                       strata_error *err);

/*
 * New: {"image", "digest", "previous" (null for a first scan), "scanner",
 * "counts": strata_scan_delta_counts_json(), "new": [finding], "fixed":
 * [finding]}. scanner may be NULL (then absent).
 */
json_t *strata_scan_result_json(const strata_scan_delta *d, const char *image,
                                const char *digest, const char *previous,
                                const char *scanner);

/* ---- running a scanner (scan-run.c) ---- */

typedef struct strata_scan_run_opts {
    /*
     * A /bin/sh command template: {image} the image as configured,
     * {digest} "sha256:...", {ref} NAME@DIGEST (the exact image: scan
     * this one), {name} the image without tag. Values are shell-quoted.
     * Its stdout is the report; its stderr is kept for messages.
     */
    const char *command;
    strata_scan_format format; /* AUTO: detect */
    const char *scanner;       /* a name for messages: "trivy" */
    const char *image;
    const char *digest;
    uint64_t timeout_ms; /* 0: none */
    const char *tmp_dir; /* where stdout is spooled; NULL: $TMPDIR, /tmp */
} strata_scan_run_opts;

/*
 * Runs once the scanner exited. On success report is the caller's and err
 * NULL; else report is NULL and err says why (the command failed, timed
 * out or wrote no report). log is the tail of the scanner's stderr
 * (borrowed, "" when none), exit_status its exit status. A scanner that
 * exits non-zero but wrote a valid report (trivy --exit-code 1) succeeds.
 */
typedef void (*strata_scan_run_cb)(strata_scan_report *report,
                                   const strata_error *err, const char *log,
                                   int64_t exit_status, void *arg);

/*
 * Starts the scanner on loop. If this returns an error (a bad template,
 * no temporary file, spawn failed) cb never runs; else it runs exactly
 * once, from the loop. opts is copied.
 */
int strata_scan_run(uv_loop_t *loop, const strata_scan_run_opts *opts,
                    strata_scan_run_cb cb, void *arg, strata_error *err);

/*
 * Expands the template (see strata_scan_run_opts.command) into a new
 * command line in *out. STRATA_EINVAL for an unknown {variable}.
 */
int strata_scan_command(char **out, const char *tmpl, const char *image,
                        const char *digest, strata_error *err);

/* ==== end of rescans ==================================================== */

/* ==== rebuild backends (build.c, build-*.c) ============================ */

/*
 * Rebuild an image somewhere and report how it went: buildah on this host
 * (build-buildah.c), a batch/v1 Job in Kubernetes running BuildKit or
 * kaniko (build-kubernetes.c), a GitHub Actions workflow_dispatch
 * (build-ghactions.c), a GitLab pipeline (build-gitlab.c) or a signed
 * webhook (build-webhook.c). Backends are structs of function pointers,
 * found by name with strata_build_lookup(); every one runs on a uv loop
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
 *   STRATA_ECANCELED  strata_build_cancel()
 */

typedef struct strata_build_backend strata_build_backend;
typedef struct strata_build strata_build;

/*
 * The backend called name ("buildah", "kubernetes", "github-actions",
 * "gitlab", "webhook": the config's builder types), or NULL. Borrowed.
 */
const strata_build_backend *strata_build_lookup(const char *name);
/* The backend's name. Borrowed. */
const char *strata_build_backend_name(const strata_build_backend *be);

typedef struct strata_build_kv {
    const char *key;
    const char *value;
} strata_build_kv;

/* Credentials for one registry (buildah writes them to an authfile). */
typedef struct strata_build_registry {
    const char *host; /* "registry.example.com", "127.0.0.1:5000" */
    const char *username;
    const char *password;
    int insecure; /* plain HTTP or unverified TLS (--tls-verify=false) */
} strata_build_registry;

/*
 * What to build and where. Everything is borrowed and copied by the
 * starter; fields a backend does not use are ignored.
 */
typedef struct strata_build_opts {
    /* -- the build -- */
    const char *image;      /* the reference to push: "host/repo:tag" */
    const char *dockerfile; /* relative to the repository: "Dockerfile" */
    const char *context;    /* relative to the repository: "." (NULL) */
    const char *target;     /* a stage, or NULL */
    const strata_build_kv *build_args;
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
    const char *repo_url;        /* the git repository holding the sources */
    const char *branch;          /* its branch ("main" when NULL) */
    const char *id;              /* a caller's id for names and labels ("42") */
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
    const strata_build_registry *registries; /* written to a private
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
} strata_build_opts;

/* How a build ended. Borrowed by the callback. */
typedef struct strata_build_result {
    const char *digest; /* pushed digest, or NULL when not known */
    const char *log;    /* tail of the build's output (never NULL) */
    const char *url;    /* the run / pipeline / Job, or NULL */
    int64_t run_id;     /* GitHub run id, GitLab pipeline id; 0 */
    int accepted;       /* webhook without status URL: accepted, outcome
                           unknown (the callback reports success) */
} strata_build_result;

/*
 * Runs exactly once. err is NULL on success; res is never NULL (its log
 * helps with failures too). Both are borrowed for the call.
 */
typedef void (*strata_build_cb)(const strata_build_result *res,
                                const strata_error *err, void *arg);

/*
 * Starts a build on loop. On error (STRATA_EINVAL: an option the backend
 * needs is missing or bad; STRATA_EIO: an unreadable kubeconfig) cb never
 * runs; otherwise it runs exactly once, from the loop. *out (may be NULL)
 * is valid until cb runs.
 */
int strata_build_start(strata_build **out, uv_loop_t *loop,
                       const strata_build_backend *be,
                       const strata_build_opts *opts, strata_build_cb cb,
                       void *arg, strata_error *err);

/*
 * Stops waiting: cb runs with STRATA_ECANCELED from inside this call. A
 * Job or run already started is left to finish (buildah: the child runs
 * to its end). The build's memory is freed once the loop has run.
 */
void strata_build_cancel(strata_build *b);

/*
 * The build args that pin base (canonical, without digest) at digest for
 * a Dockerfile: "BASE_DIGEST=sha256:..." and, for every global ARG whose
 * default gave a FROM (or COPY --from, mount) that reference,
 * "NAME=<default without digest>@digest". *out is a new array of *nout
 * "K=V" strings (free each and the array).
 */
int strata_build_pin_args(char ***out, size_t *nout, const char *dockerfile,
                          size_t len, const char *base, const char *digest,
                          strata_error *err);

/* ==== end of rebuild backends =========================================== */

#endif
