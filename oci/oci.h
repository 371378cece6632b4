/*
 * oci.h - image references and the registry client: parsing and
 * normalising references exactly as Docker's distribution reference
 * grammar does, and speaking the OCI Distribution API through core's
 * HTTP client.
 */
#ifndef STRATA_OCI_H
#define STRATA_OCI_H

#include <jansson.h>

#include "core.h"

/* ---- image references ------------------------------------------------- */

/*
 * A parsed, normalised image reference. Opaque; immutable once parsed.
 *   "ubuntu"              -> docker.io/library/ubuntu:latest
 *   "ghcr.io/a/b@sha256:…" -> ghcr.io/a/b@sha256:…  (no tag added)
 *   "x:1@sha256:…"        -> docker.io/library/x:1@sha256:…
 */
typedef struct strata_ref strata_ref;

/*
 * Parses s. On STRATA_EINVAL err says why ("invalid reference 'x': ...").
 * *out is the caller's; free with strata_ref_free().
 */
int strata_ref_parse(strata_ref **out, const char *s, strata_error *err);
void strata_ref_free(strata_ref *ref);
strata_ref *strata_ref_dup(const strata_ref *ref);

/* The canonical string: domain/path[:tag][@digest]. Borrowed. */
const char *strata_ref_string(const strata_ref *ref);
/* domain/path, no tag or digest ("docker.io/library/ubuntu"). Borrowed. */
const char *strata_ref_name(const strata_ref *ref);
/* "docker.io", "localhost:5000", "[::1]:5000". Borrowed. */
const char *strata_ref_domain(const strata_ref *ref);
/* The repository path inside the registry ("library/ubuntu"). Borrowed. */
const char *strata_ref_path(const strata_ref *ref);
/* The tag, or NULL when the reference has only a digest. Borrowed. */
const char *strata_ref_tag(const strata_ref *ref);
/* "sha256:…", or NULL. Borrowed. */
const char *strata_ref_digest(const strata_ref *ref);

/*
 * A new reference: ref with its digest replaced (digest may be NULL to
 * drop it). The tag is kept. Caller frees.
 */
int strata_ref_with_digest(strata_ref **out, const strata_ref *ref,
                           const char *digest, strata_error *err);

/* Validates "algorithm:hex" per the OCI image spec (sha256: 64 hex). */
int strata_digest_validate(const char *digest, strata_error *err);

/* True when the domain is loopback (localhost, 127.0.0.0/8, [::1]). */
int strata_ref_domain_is_loopback(const char *domain);

/* ---- manifests, indexes and image configs ----------------------------- */

#define STRATA_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define STRATA_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define STRATA_MT_DOCKER_LIST                                                  \
    "application/vnd.docker.distribution.manifest.list.v2+json"
#define STRATA_MT_DOCKER_MANIFEST                                              \
    "application/vnd.docker.distribution.manifest.v2+json"
/* The Accept header sent with every manifest request. */
#define STRATA_MANIFEST_ACCEPT                                                 \
    STRATA_MT_OCI_INDEX ", " STRATA_MT_OCI_MANIFEST ", " STRATA_MT_DOCKER_LIST \
                        ", " STRATA_MT_DOCKER_MANIFEST

/* A content descriptor; os/arch/variant only for entries of an index. */
typedef struct strata_descriptor {
    char *media_type;
    char *digest;
    int64_t size;
    char *os; /* NULL unless an index entry with a platform */
    char *arch;
    char *variant; /* NULL when absent */
} strata_descriptor;

/* A manifest or an index, as fetched. Owned by the caller. */
typedef struct strata_manifest {
    char *digest;     /* sha256 of body, verified */
    char *media_type; /* from the body, else Content-Type */
    int is_index;     /* OCI index or Docker manifest list */
    char *body;       /* the exact bytes (NUL-terminated) */
    size_t body_len;
    strata_descriptor config; /* image manifests */
    strata_descriptor *layers;
    size_t nlayers;
    strata_descriptor *manifests; /* indexes */
    size_t nmanifests;
} strata_manifest;

/*
 * Parses a manifest or index body (content_type may be NULL). Computes
 * the digest from body. STRATA_EPROTO when malformed.
 */
int strata_manifest_parse(strata_manifest **out, const char *body, size_t len,
                          const char *content_type, strata_error *err);
void strata_manifest_free(strata_manifest *m);

/*
 * The index entry for platform "os/arch[/variant]" (borrowed), or NULL.
 * Without a variant, the default one (arm64: v8, arm: v7) or the first
 * match is taken; arm64 entries without variant match "v8".
 */
const strata_descriptor *strata_manifest_find_platform(const strata_manifest *m,
                                                       const char *platform);

/* Checks "os/arch[/variant]". */
int strata_platform_validate(const char *platform, strata_error *err);

typedef struct strata_history_entry {
    char *created;    /* NULL when absent */
    char *created_by; /* NULL when absent */
    int empty_layer;
} strata_history_entry;

/* An image config blob. Owned by the caller. */
typedef struct strata_image_config {
    char *digest;  /* verified */
    char *created; /* RFC 3339, or NULL */
    char *os, *arch, *variant;
    json_t *labels; /* an object, never NULL; owned (decref'd by _free) */
    char **diff_ids;
    size_t ndiff_ids;
    strata_history_entry *history;
    size_t nhistory;
} strata_image_config;

int strata_image_config_parse(strata_image_config **out, const char *body,
                              size_t len, strata_error *err);
void strata_image_config_free(strata_image_config *c);

/* ---- registry client -------------------------------------------------- */

/*
 * How to reach one registry. Strings are copied by the client.
 * Registries on loopback (localhost, 127/8, [::1]) and those marked
 * insecure are spoken to over plain HTTP when HTTPS fails; TLS is
 * otherwise always verified (insecure also skips verification). A bearer
 * realm on plain HTTP is refused under the same rule.
 *
 * Credentials: username/password are sent as Basic auth, to the registry
 * or to its token server (GET, the Docker token protocol). identity_token
 * (an OAuth2 refresh token, Docker's "identitytoken") takes their place at
 * the token server: POST grant_type=refresh_token. Secrets never appear
 * in errors or logs.
 */
typedef struct strata_registry_opts {
    const char *username; /* NULL: anonymous */
    const char *password;
    int insecure;
    const char *ca_file;        /* CA bundle instead of the system's */
    uint32_t timeout_ms;        /* per HTTP request; 0 = 30 s */
    int max_retries;            /* on 5xx, 429, timeouts; <0: 0; 0 = 3 */
    uint32_t retry_base_ms;     /* first backoff; 0 = 250 ms, doubling */
    uint32_t max_retry_wait_ms; /* cap for Retry-After; 0 = 60 s */
    const char *identity_token; /* OAuth2 refresh token, or NULL */
    /*
     * A Docker credential helper (NAME of docker-credential-NAME) that
     * holds this registry's credentials; username, password and
     * identity_token are then ignored. The helper runs on the loop when
     * the registry first asks for authentication, again when what it gave
     * is STRATA_REGISTRY_HELPER_TTL_MS old (short-lived tokens such as
     * ECR's stay fresh) or was refused; requests wait for it meanwhile. A
     * failing helper is logged and its previous answer kept.
     */
    const char *cred_helper;
} strata_registry_opts;

#define STRATA_REGISTRY_HELPER_TTL_MS (5 * 60 * 1000)

/*
 * Whether plain HTTP may be spoken to domain ("host[:port]"): only to
 * loopback hosts, or when the registry is marked insecure.
 */
int strata_registry_plain_http_allowed(const char *domain, int insecure);

/* A client for any number of registries, on one uv loop. */
typedef struct strata_registry strata_registry;

/*
 * defaults (may be NULL) apply to every registry without its own
 * options. Close with strata_registry_close().
 */
int strata_registry_new(strata_registry **out, uv_loop_t *loop,
                        const strata_registry_opts *defaults,
                        strata_error *err);

/* Options for one domain ("ghcr.io", "localhost:5000"); replaces any. */
void strata_registry_set_host(strata_registry *reg, const char *domain,
                              const strata_registry_opts *opts);

/*
 * Cancels every operation (callbacks run with STRATA_ECANCELED) and
 * releases the client once the loop has run its close callbacks.
 */
void strata_registry_close(strata_registry *reg);

/*
 * Callbacks run once, from the loop; the result is the caller's (free it)
 * and NULL when err is set. Errors: STRATA_ENOTFOUND (404), STRATA_EAUTH
 * (401/403 after authenticating), STRATA_ERATELIMIT (429 after retries),
 * STRATA_EHTTP (other statuses), STRATA_EPROTO (malformed answer, digest
 * mismatch), STRATA_ENET, STRATA_ETIMEOUT, STRATA_ECANCELED.
 */
typedef void (*strata_registry_manifest_cb)(strata_manifest *m,
                                            const strata_error *err, void *arg);
typedef void (*strata_registry_config_cb)(strata_image_config *c,
                                          const strata_error *err, void *arg);
typedef void (*strata_registry_digest_cb)(char *digest, const strata_error *err,
                                          void *arg);

/*
 * GETs the manifest ref names (by digest if it has one, else by tag),
 * with the full Accept list, and verifies its digest.
 */
int strata_registry_get_manifest(strata_registry *reg, const strata_ref *ref,
                                 strata_registry_manifest_cb cb, void *arg,
                                 strata_error *err);

/* GETs and verifies the config blob digest of ref's repository. */
int strata_registry_get_config(strata_registry *reg, const strata_ref *ref,
                               const char *digest, strata_registry_config_cb cb,
                               void *arg, strata_error *err);

/*
 * The digest ref points to now. platform NULL: a HEAD request (the index
 * digest for a multi-arch tag). With "os/arch[/variant]": that platform's
 * manifest digest (STRATA_ENOTFOUND if the index has none; a single
 * manifest is checked against its config).
 */
int strata_registry_digest(strata_registry *reg, const strata_ref *ref,
                           const char *platform, strata_registry_digest_cb cb,
                           void *arg, strata_error *err);

/*
 * Tags of ref's repository, following Link rel="next" pages: page_size
 * tags per request (the n= parameter; <= 0: 1000), at most max_pages pages
 * (<= 0: 50; more is STRATA_ETOOBIG). tags is an array of ntags new
 * strings, the callback's to keep or free with strata_registry_tags_free;
 * NULL when err is set. Errors as above; a malformed page is STRATA_EPROTO.
 */
typedef void (*strata_registry_tags_cb)(char **tags, size_t ntags,
                                        const strata_error *err, void *arg);
int strata_registry_list_tags(strata_registry *reg, const strata_ref *ref,
                              int page_size, int max_pages,
                              strata_registry_tags_cb cb, void *arg,
                              strata_error *err);
void strata_registry_tags_free(char **tags, size_t ntags);

/*
 * The last "RateLimit-Remaining" value domain answered (Docker Hub sends
 * "76;w=21600" on manifest requests, HEAD included), or -1 when none was
 * seen.
 */
long strata_registry_ratelimit_remaining(const strata_registry *reg,
                                         const char *domain);

/* Synchronous wrappers for the CLI: each runs a private loop. */
int strata_registry_digest_sync(char **out, const strata_registry_opts *opts,
                                const strata_ref *ref, const char *platform,
                                strata_error *err);
int strata_registry_get_manifest_sync(strata_manifest **out,
                                      const strata_registry_opts *opts,
                                      const strata_ref *ref, strata_error *err);

/*
 * strata_docker_config_creds reduced to a username and password (an
 * identity token is left out: use that function to get it). *user and
 * *password are the caller's; both NULL (and 0 returned) when there are
 * none.
 */
int strata_docker_config_auth(char **user, char **password, const char *path,
                              const char *domain, strata_error *err);

/* Credentials for one registry; every string is owned and may be NULL. */
typedef struct strata_registry_creds {
    char *username;
    char *password;
    char *identity_token; /* OAuth2 refresh token: no username/password */
} strata_registry_creds;

/* Wipes and frees the strings; c may be NULL. */
void strata_registry_creds_release(strata_registry_creds *c);

/*
 * Credentials for domain as the Docker client resolves them from its
 * config.json (path NULL: $DOCKER_CONFIG/config.json, else
 * ~/.docker/config.json): the helper named in "credHelpers" for the
 * registry, else the "credsStore" helper, else the "auths" entry (base64
 * "auth", or "identitytoken"). A helper runs as the child process
 * `docker-credential-NAME get` (see strata_docker_helper_get), for at most
 * helper_timeout_ms (0 = 10 s); this call blocks until it is done, so the
 * daemon calls it only while (re)configuring. *out is zeroed first and
 * stays all NULL (0 returned) when there is no file, no entry, or the
 * helper has none. Errors: STRATA_EINVAL (bad file or entry),
 * STRATA_EIO (helper missing or failed), STRATA_ETIMEOUT, STRATA_EPROTO
 * (helper answered garbage); messages never hold a secret.
 */
int strata_docker_config_creds(strata_registry_creds *out, const char *path,
                               const char *domain, uint32_t helper_timeout_ms,
                               strata_error *err);

/*
 * What the Docker config says for domain without running anything: *helper
 * (new) names the credential helper to ask (strata_registry_opts'
 * cred_helper), else *out gets the "auths" entry, if any. Errors as for
 * strata_docker_config_creds; a missing file is no credentials.
 */
int strata_docker_config_lookup(strata_registry_creds *out, char **helper,
                                const char *path, const char *domain,
                                strata_error *err);

/*
 * creds: the helper's answer (the callback's to release; all NULL when the
 * helper has no credentials for the server); NULL when err is set.
 */
typedef void (*strata_docker_helper_cb)(strata_registry_creds *creds,
                                        const strata_error *err, void *arg);

/*
 * Runs `docker-credential-HELPER get` (looked up in PATH) on loop with
 * server_url on stdin, as Docker's credential helper protocol says, and
 * reads {"ServerURL", "Username", "Secret"} from its stdout. A Username of
 * "<token>" means Secret is an identity token. The child is killed after
 * timeout_ms (0 = 10 s). The callback runs once, from the loop, unless
 * this returns an error (STRATA_EINVAL for a bad helper name, STRATA_EIO
 * when it cannot be started).
 */
int strata_docker_helper_get(uv_loop_t *loop, const char *helper,
                             const char *server_url, uint32_t timeout_ms,
                             strata_docker_helper_cb cb, void *arg,
                             strata_error *err);

/* ==== push: blobs and manifests (push.c, push-manifest.c, blob-copy.c) = */

/*
 * Writing to a registry. Every operation here asks for the
 * "repository:PATH:pull,push" scope of the reference's repository (a
 * mount adds "repository:FROM:pull"). Callbacks run once, from the loop,
 * never from inside the starting call; errors as for the calls above.
 */

/* exists: 1 when the repository has the blob (size from the answer). */
typedef void (*strata_registry_exists_cb)(int exists, int64_t size,
                                          const strata_error *err, void *arg);

/* HEAD /v2/PATH/blobs/DIGEST. A 404 is exists == 0, not an error. */
int strata_registry_blob_exists(strata_registry *reg, const strata_ref *ref,
                                const char *digest,
                                strata_registry_exists_cb cb, void *arg,
                                strata_error *err);

/* What strata_registry_push_blob did. */
typedef enum strata_blob_outcome {
    STRATA_BLOB_EXISTED = 1, /* HEAD found it: nothing sent */
    STRATA_BLOB_MOUNTED,     /* cross-repository mount: 201 */
    STRATA_BLOB_UPLOADED,    /* uploaded (POST, then PUT or PATCH+PUT) */
    STRATA_BLOB_NOT_MOUNTED, /* data NULL and the registry refused the
                                mount: nothing stored, upload it yourself */
} strata_blob_outcome;

typedef struct strata_blob_push_opts {
    /*
     * A repository path on the same registry to mount the blob from
     * (POST ?mount=DIGEST&from=PATH), or NULL. When the registry answers
     * 202 instead of 201, the upload continues in that session (data
     * given) or the session is deleted (data NULL).
     */
    const char *mount_from;
    /* 0: monolithic upload (POST, then PUT with the whole body); else
       PATCH chunks of this many bytes, then PUT ?digest= */
    size_t chunk_size;
    int no_check; /* don't HEAD first */
} strata_blob_push_opts;

/* bytes: the blob bytes sent over the wire by this call. */
typedef void (*strata_registry_push_cb)(strata_blob_outcome outcome,
                                        uint64_t bytes, const strata_error *err,
                                        void *arg);

/*
 * Makes the repository of ref hold the blob digest: HEAD (unless
 * opts->no_check), then a mount when opts->mount_from is set, then an
 * upload of data (borrowed: it must stay valid until cb runs; may be NULL
 * only for a mount). data must hash to digest (STRATA_EINVAL otherwise,
 * checked before anything is sent); the registry's Docker-Content-Digest
 * must match (STRATA_EPROTO). opts may be NULL.
 */
int strata_registry_push_blob(strata_registry *reg, const strata_ref *ref,
                              const char *digest, const void *data, size_t len,
                              const strata_blob_push_opts *opts,
                              strata_registry_push_cb cb, void *arg,
                              strata_error *err);

/*
 * blob: the bytes (new, NUL-terminated; the callback's to free), NULL
 * when err is set.
 */
typedef void (*strata_registry_blob_cb)(char *blob, size_t len,
                                        const strata_error *err, void *arg);

/*
 * GETs a blob of ref's repository into memory (at most max bytes; 0 =
 * 64 MiB; more is STRATA_ETOOBIG, refused before reading when the answer
 * declares its length) and verifies its sha256. For layers, which may be
 * large, strata_registry_copy_blob streams instead.
 */
int strata_registry_get_blob(strata_registry *reg, const strata_ref *ref,
                             const char *digest, size_t max,
                             strata_registry_blob_cb cb, void *arg,
                             strata_error *err);

/* Runs once when a streamed blob ends: err NULL on success. */
typedef void (*strata_registry_stream_cb)(const strata_error *err, void *arg);

/*
 * GETs the blob digest (sha256) of ref's repository, whose descriptor says
 * size bytes, handing its body to sink as it arrives (core's
 * strata_http_sink_cb: the sink may pause the transfer and resume it with
 * strata_http_resume, so the reader sets the pace; sink's arg is arg).
 * At most size bytes are read (a larger Content-Length is refused before
 * reading: STRATA_ETOOBIG); at the end the bytes are checked against size
 * and digest (STRATA_EPROTO). cb runs once, from the loop, after the last
 * sink call. Errors: STRATA_EINVAL (not sha256, negative size), and those
 * of strata_registry_get_blob.
 */
int strata_registry_stream_blob(strata_registry *reg, const strata_ref *ref,
                                const char *digest, int64_t size,
                                strata_http_sink_cb sink,
                                strata_registry_stream_cb cb, void *arg,
                                strata_error *err);

/* Options of strata_registry_copy_blob; all may be 0. */
typedef struct strata_blob_copy_opts {
    size_t chunk_size; /* bytes per PATCH to the target; 0 = 8 MiB */
    int no_check;      /* don't HEAD the target first */
    int no_mount;      /* don't try a cross-repository mount */
} strata_blob_copy_opts;

/*
 * Makes dst's repository hold the blob digest (sha256) of src's
 * repository, whose descriptor says size bytes, without holding it in
 * memory: HEAD on dst (unless opts->no_check; outcome EXISTED), a
 * cross-repository mount when src and dst share a registry (MOUNTED),
 * else a GET from src streamed into a chunked upload to dst (UPLOADED):
 * at most two chunks are held at a time. The GET reads at most size bytes:
 * a larger Content-Length is refused before reading and a longer body
 * stops there (STRATA_ETOOBIG); a shorter body or another digest is
 * STRATA_EPROTO. After a failure the upload session is deleted, never
 * finished. src and dst may be on different registries; either may carry
 * a tag or digest, which are ignored. cb as for strata_registry_push_blob
 * (bytes: what was uploaded); it runs once, from the loop. opts may be
 * NULL. Errors: STRATA_EINVAL (not sha256, negative size).
 */
int strata_registry_copy_blob(strata_registry *reg, const strata_ref *src,
                              const strata_ref *dst, const char *digest,
                              int64_t size, const strata_blob_copy_opts *opts,
                              strata_registry_push_cb cb, void *arg,
                              strata_error *err);

/*
 * PUTs a manifest or index under ref's tag (or its digest when it has no
 * tag) with Content-Type media_type. body is copied. The callback gets the
 * digest (new; the callback's) after checking that the registry's
 * Docker-Content-Digest equals the sha256 of body (STRATA_EPROTO).
 * STRATA_EINVAL when ref carries a digest that is not body's.
 */
int strata_registry_put_manifest(strata_registry *reg, const strata_ref *ref,
                                 const char *media_type, const char *body,
                                 size_t len, strata_registry_digest_cb cb,
                                 void *arg, strata_error *err);

/* ==== end of push ======================================================= */

/* ==== referrers and signatures (referrers.c, signatures.c) ============== */

/* The largest referrers list or signature manifest read (bytes). */
#define STRATA_REFERRERS_MAX_BYTES (256 * 1024)
/* At most this many referrers of one digest are read. */
#define STRATA_REFERRERS_MAX 32

/*
 * GETs a manifest (by ref's digest, else its tag) with the full Accept
 * list, reading at most max bytes (0: STRATA_REFERRERS_MAX_BYTES; more is
 * STRATA_ETOOBIG, refused unread), and checks its digest. As
 * strata_registry_get_manifest otherwise; m->body holds the exact bytes.
 */
int strata_registry_get_manifest_max(strata_registry *reg,
                                     const strata_ref *ref, size_t max,
                                     strata_registry_manifest_cb cb, void *arg,
                                     strata_error *err);

/* One entry of a referrers list. */
typedef struct strata_referrer {
    char *digest;
    char *media_type;    /* may be NULL */
    char *artifact_type; /* may be NULL */
    int64_t size;
    json_t *annotations; /* an object, or NULL */
} strata_referrer;

typedef struct strata_referrers {
    strata_referrer *items;
    size_t n;
    int via_tag_schema; /* the API was not served; the tag was read */
    unsigned requests;  /* HTTP requests made (1 or 2) */
    char *note; /* why the API was not used when it failed, or that the list
                   was cut; else NULL */
    int cut;    /* more were listed than STRATA_REFERRERS_MAX */
} strata_referrers;

void strata_referrers_free(strata_referrers *r);

/* out is the callback's (free it); NULL when err is set. */
typedef void (*strata_registry_referrers_cb)(strata_referrers *out,
                                             const strata_error *err,
                                             void *arg);

/*
 * What refers to digest in ref's repository: GET
 * /v2/PATH/referrers/DIGEST[?artifactType=T] (OCI 1.1); when the registry
 * answers 404 (it does not serve the API) or fails, the referrers tag
 * schema's index "sha256-<hex>" (a missing tag is an empty list). Entries
 * are kept only when their artifactType is artifact_type (NULL: all),
 * unless the registry says it filtered (OCI-Filters-Applied). At most
 * STRATA_REFERRERS_MAX entries; answers over max bytes (0: the default)
 * are refused. Errors: the tag schema's (STRATA_EPROTO for an answer that
 * is not an index of descriptors, STRATA_ETOOBIG, network errors), and
 * STRATA_EINVAL for a digest that is not sha256.
 */
int strata_registry_referrers(strata_registry *reg, const strata_ref *ref,
                              const char *digest, const char *artifact_type,
                              size_t max, strata_registry_referrers_cb cb,
                              void *arg, strata_error *err);

/* An artifact to attach to a manifest as its referrer (attach.c). */
typedef struct strata_artifact {
    const char *artifact_type; /* the artifact manifest's artifactType */
    const char *media_type;    /* its one layer's media type */
    const void *data;          /* the layer's bytes (borrowed until cb) */
    size_t len;
    const json_t *layer_annotations; /* copied; may be NULL */
    const json_t *annotations;       /* the manifest's; copied; may be NULL */
    /* The subject: the manifest or index the artifact is about. */
    const char *subject_media_type;
    const char *subject_digest;
    int64_t subject_size;
} strata_artifact;

/*
 * Attaches a to its subject in ref's repository (OCI 1.1): the layer and
 * the empty config blobs, then an image manifest with artifactType, the
 * layer and the subject, PUT by its digest. Where the registry does not
 * list it through the referrers API (Debian's docker-registry 2.8 does
 * not serve the API), the referrers tag schema's index "sha256-<hex>" of
 * the subject gets its descriptor, every entry already there kept; an
 * index listing more than STRATA_REFERRERS_MAX entries is not rewritten
 * (STRATA_ETOOBIG: entries would be lost). cb gets the artifact
 * manifest's digest (new; the callback's). Errors: STRATA_EINVAL (a
 * subject digest that is not sha256, no artifact type), and the pushes'.
 */
typedef void (*strata_registry_attach_cb)(char *digest, const strata_error *err,
                                          void *arg);
int strata_registry_attach(strata_registry *reg, const strata_ref *ref,
                           const strata_artifact *a,
                           strata_registry_attach_cb cb, void *arg,
                           strata_error *err);
/* strata_registry_attach on a private loop; *out the digest. */
int strata_registry_attach_sync(char **out, const strata_registry_opts *opts,
                                const strata_ref *ref, const strata_artifact *a,
                                strata_error *err);

/* Artifact types and layer media types signatures come in. */
#define STRATA_MT_COSIGN_SIG_ARTIFACT                                          \
    "application/vnd.dev.cosign.artifact.sig.v1+json"
#define STRATA_MT_COSIGN_SIMPLESIGNING                                         \
    "application/vnd.dev.cosign.simplesigning.v1+json"
#define STRATA_MT_DSSE_ENVELOPE "application/vnd.dsse.envelope.v1+json"
#define STRATA_MT_SIGSTORE_BUNDLE_PREFIX "application/vnd.dev.sigstore.bundle"
#define STRATA_MT_NOTATION_SIGNATURE "application/vnd.cncf.notary.signature"

/* Where to look (a bit set). */
enum {
    STRATA_SIGS_COSIGN = 1 << 0,       /* sha256-<hex>.sig */
    STRATA_SIGS_ATTESTATIONS = 1 << 1, /* sha256-<hex>.att */
    STRATA_SIGS_REFERRERS = 1 << 2,    /* referrers API or tag schema */
    STRATA_SIGS_ALL = 7,
};

typedef enum strata_signature_kind {
    STRATA_SIGNATURE_COSIGN = 0,  /* a simple-signing payload layer */
    STRATA_SIGNATURE_ATTESTATION, /* a DSSE envelope layer */
    STRATA_SIGNATURE_BUNDLE,      /* a Sigstore bundle */
    STRATA_SIGNATURE_FAILURE,     /* found, but could not be read */
} strata_signature_kind;

/* One candidate: its bytes and annotations, or why it could not be read. */
typedef struct strata_signature {
    strata_signature_kind kind;
    char *label; /* "sha256-ab12….sig layer 1", "referrer sha256:…" */
    char *data;  /* the layer blob (NUL-terminated), or NULL */
    size_t len;
    json_t *annotations; /* the layer's annotations, or NULL */
    char *reason;        /* STRATA_SIGNATURE_FAILURE: why */
} strata_signature;

typedef struct strata_signatures {
    strata_signature *items;
    size_t n;
    unsigned requests; /* registry requests made */
} strata_signatures;

void strata_signatures_free(strata_signatures *s);

/*
 * sigs is the callback's (free it). err is set only when the registry
 * client was closed (STRATA_ECANCELED); every other problem (a garbage or
 * huge manifest, a referrer loop, a referrers API answering 500) is a
 * STRATA_SIGNATURE_FAILURE entry with a reason, and a layout that is
 * simply absent (404) adds nothing.
 */
typedef void (*strata_registry_signatures_cb)(strata_signatures *sigs,
                                              const strata_error *err,
                                              void *arg);

/*
 * Collects the signatures of digest in ref's repository from the layouts
 * in `layouts`: cosign's "sha256-<hex>.sig" (each layer: a simple-signing
 * payload with its signature annotations) and ".att" (each layer: a DSSE
 * envelope), and the referrers of digest (the API or the tag schema):
 * Sigstore bundles (v0.1 to v0.3), cosign signatures and attestations
 * attached as referrers. Each referrer manifest must name digest as its
 * subject. Manifests are read up to STRATA_REFERRERS_MAX_BYTES, layers up
 * to 4 MiB (a layer that declares more is refused unread), at most 16
 * layers a manifest. Requests run one after another.
 */
int strata_registry_find_signatures(strata_registry *reg, const strata_ref *ref,
                                    const char *digest, unsigned layouts,
                                    strata_registry_signatures_cb cb, void *arg,
                                    strata_error *err);

/* ==== end of referrers and signatures =================================== */

#endif
