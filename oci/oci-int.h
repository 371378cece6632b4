/*
 * oci-int.h - what the files of the oci module share: the registry
 * client's per-host state (options, scheme, auth challenge, token cache)
 * and the request layer every operation goes through.
 */
#ifndef STRATA_OCI_INT_H
#define STRATA_OCI_INT_H

#include <openssl/evp.h>

#include "oci.h"

/* A cached bearer token for one scope. */
typedef struct strata_oci__token {
    struct strata_oci__token *next;
    char *scope;
    char *token;
    int64_t expires_ms; /* wall clock */
} strata_oci__token;

enum {
    STRATA_OCI__AUTH_UNKNOWN = 0, /* no challenge seen yet */
    STRATA_OCI__AUTH_NONE,
    STRATA_OCI__AUTH_BASIC,
    STRATA_OCI__AUTH_BEARER,
};

typedef struct strata_oci__host {
    struct strata_oci__host *next;
    char *domain;
    char *username, *password, *ca_file;
    char *identity_token; /* OAuth2 refresh token, or NULL */
    int insecure;
    uint32_t timeout_ms;
    int max_retries;
    uint32_t retry_base_ms;
    uint32_t max_retry_wait_ms;
    int plain_allowed; /* loopback or insecure */
    int use_http;      /* HTTPS failed; plain HTTP works */
    int https_ok;      /* an HTTPS request was answered */
    /*
     * Where plain HTTP is allowed and the scheme is not known yet, one
     * request finds out (HTTPS first) while the others wait: one failed
     * TLS handshake instead of one per connection.
     */
    struct strata_oci__req *probe;
    strata_error https_error; /* why HTTPS failed, when use_http was set */
    int auth;                 /* STRATA_OCI__AUTH_* */
    char *realm, *service;    /* bearer challenge */
    strata_oci__token *tokens;
    long ratelimit_remaining; /* -1: never seen */
    /* A credential helper instead of fixed credentials (credhelper.c). */
    char *cred_helper;
    int64_t helper_at_ms; /* when it last answered; 0: never */
    int creds_stale;      /* the registry refused what it gave */
    struct strata_oci__helper_run *helper_run; /* under way, or NULL */
} strata_oci__host;

typedef struct strata_oci__req strata_oci__req;

struct strata_registry {
    uv_loop_t *loop;
    strata_http *http;
    strata_registry_opts defaults;
    char *d_username, *d_password, *d_ca_file; /* copies for defaults */
    char *d_identity_token;
    strata_oci__host *hosts;
    strata_oci__req *reqs; /* operations under way */
    int closing;
};

/*
 * Runs once per request: resp for a 2xx answer (borrowed), else err
 * (HTTP statuses mapped to STRATA_E* codes, transport errors passed on).
 */
typedef void (*strata_oci__req_cb)(const strata_http_response *resp,
                                   const strata_error *err, void *arg);

/*
 * Sends METHOD https://DOMAIN/v2/PATH... with auth (anonymous, Basic or
 * Bearer after the challenge, tokens cached per scope and refreshed on
 * 401), retries with backoff on 5xx/429/transport errors, and plain HTTP
 * for loopback or insecure hosts. repo is the repository path for the
 * token scope. accept may be NULL.
 */
int strata_oci__request(strata_registry *reg, const char *domain,
                        const char *repo, const char *method, const char *path,
                        const char *accept, strata_oci__req_cb cb, void *arg,
                        strata_error *err);

/*
 * What strata_oci__request_ex adds for pushes (push.c): a request body
 * and its headers, a scope other than "repository:REPO:pull" (several
 * scopes separated by spaces, e.g. for a cross-repository mount), and a
 * response size limit. Everything is borrowed; body must outlive the
 * callback (it is resent on retries and after a 401).
 */
typedef struct strata_oci__req_opts {
    const char *accept;        /* may be NULL */
    const char *content_type;  /* may be NULL */
    const char *content_range; /* "0-1023" (PATCH), or NULL */
    const void *body;
    size_t body_len;
    const char *scope; /* NULL: "repository:REPO:pull" */
    /* response body limit; 0: STRATA_OCI__MAX_ANSWER */
    size_t max_body;
    /*
     * The body of a 2xx answer goes to sink as it arrives (see core's
     * strata_http_sink_cb) and the response's body stays empty. Once the
     * sink has taken a byte, a failed transfer is not retried: the
     * receiver could not tell a resent body from the rest of the first.
     */
    strata_http_sink_cb sink;
    void *sink_arg;
} strata_oci__req_opts;

/*
 * What a request reads at most unless it says otherwise: the answers that
 * carry no content (errors, HEAD, upload steps) and token answers.
 */
#define STRATA_OCI__MAX_ANSWER ((size_t) 1024 * 1024)
/* Manifests, indexes, image configs and pages of a tag list. */
#define STRATA_OCI__MAX_MANIFEST ((size_t) 4 * 1024 * 1024)
/* A token lives at most this long, whatever its server says. */
#define STRATA_OCI__MAX_TOKEN_LIFE_S (24 * 60 * 60)

/*
 * strata_oci__request with the options above. path starts with "/v2/";
 * it may carry a query string.
 */
int strata_oci__request_ex(strata_registry *reg, const char *domain,
                           const char *repo, const char *method,
                           const char *path, const strata_oci__req_opts *opts,
                           strata_oci__req_cb cb, void *arg, strata_error *err);

strata_oci__host *strata_oci__host_get(strata_registry *reg,
                                       const char *domain);
/* The host to connect to for a reference domain (docker.io: registry-1). */
const char *strata_oci__url_host(const char *domain);

/* auth.c */

/*
 * Parses a WWW-Authenticate value into the host: scheme, realm, service.
 * Returns 0, or STRATA_EPROTO for an unknown scheme.
 */
int strata_oci__parse_challenge(strata_oci__host *h, const char *value,
                                strata_error *err);
/* A cached, unexpired token for scope (borrowed), or NULL. */
const char *strata_oci__token_get(strata_oci__host *h, const char *scope);
void strata_oci__token_put(strata_oci__host *h, const char *scope,
                           const char *token, int64_t expires_in_s);

/*
 * A token server's answer body: *token (new; wipe it before freeing) from
 * "token", else "access_token"; *expires_in_s from "expires_in", clamped
 * to [1, STRATA_OCI__MAX_TOKEN_LIFE_S] (60 when absent or not a positive
 * integer). STRATA_EPROTO when the body is not a JSON object, has no
 * token, or the token holds a blank, a control or a non-ASCII byte (it
 * goes into a header). domain names the registry in messages.
 */
int strata_oci__token_parse(char **token, int64_t *expires_in_s,
                            const char *body, size_t len, const char *domain,
                            strata_error *err);
void strata_oci__token_drop(strata_oci__host *h, const char *scope);
void strata_oci__host_free(strata_oci__host *h);

typedef void (*strata_oci__token_cb)(const char *token, const strata_error *err,
                                     void *arg);
/*
 * Fetches a bearer token for scope from the host's realm (with Basic
 * credentials when configured), caches it and calls cb.
 */
int strata_oci__fetch_token(strata_registry *reg, strata_oci__host *h,
                            const char *scope, strata_oci__token_cb cb,
                            void *arg, strata_error *err);

/*
 * dockercfg.c: what the Docker config.json text (len bytes; path names it
 * in messages) says about domain. When a credential helper applies
 * ("credHelpers" entry, else "credsStore"), *helper is its name (new) and
 * out stays all NULL; else out gets the "auths" entry, if any (strings
 * owned). STRATA_EINVAL for text that is not a JSON object or a bad
 * "auth"; out is then all NULL.
 */
int strata_oci__docker_config_parse(strata_registry_creds *out, char **helper,
                                    const char *text, size_t len,
                                    const char *path, const char *domain,
                                    strata_error *err);

/*
 * credhelper.c: asks h's credential helper on reg's loop; when it has
 * answered (or failed), h's credentials are replaced (or kept) and
 * strata_oci__creds_ready(reg, h) runs. One run per host at a time.
 */
int strata_oci__host_helper_start(strata_registry *reg, strata_oci__host *h,
                                  strata_error *err);
/* Forgets a run under way (the host is reconfigured or freed). */
void strata_oci__host_helper_cancel(strata_oci__host *h);
/* registry.c: sends the requests that waited for h's credentials. */
void strata_oci__creds_ready(strata_registry *reg, strata_oci__host *h);
/* dockercfg.c: the server URL a helper is asked for domain (new). */
char *strata_oci__helper_server_url(const char *domain);

/* credhelper.c: strata_docker_helper_get on a private loop (blocks). */
int strata_oci__helper_get_sync(strata_registry_creds *out, const char *helper,
                                const char *server_url, uint32_t timeout_ms,
                                strata_error *err);

/*
 * tags.c: the path of the next page from a Link header value
 * (`</v2/x/tags/list?n=100&last=b>; rel="next"`) into *out (new), or NULL
 * when link is NULL or has no rel="next". An absolute URL is accepted only
 * for domain's own host. STRATA_EPROTO when malformed.
 */
int strata_oci__next_link(char **out, const char *link, const char *domain,
                          strata_error *err);

/*
 * tags.c: the tags of one tag list page body (len bytes), appended to
 * *tags (*ntags of them, *cap allocated; the caller frees them with
 * strata_registry_tags_free). A repository with more than max_tags in all
 * is STRATA_ETOOBIG; a body that is not the documented object, a tag
 * that is not a string of 1 to 128 bytes, STRATA_EPROTO. name names the
 * repository in messages.
 */
int strata_oci__tags_parse(char ***tags, size_t *ntags, size_t *cap,
                           const char *body, size_t len, size_t max_tags,
                           const char *name, strata_error *err);

/*
 * push.c: the path of an upload Location into *out (new): "/v2/..." as
 * given, or an absolute URL on the registry's own host (any other host is
 * refused with STRATA_EPROTO: the token would travel there).
 */
int strata_oci__location_path(char **out, const char *domain, const char *loc,
                              strata_error *err);
/* An upload answer's Location, checked by strata_oci__location_path for
 * ref's registry, as the session path to continue (*location replaced). */
int strata_oci__take_location(char **location, const strata_ref *ref,
                              const strata_http_response *resp,
                              strata_error *err);
/* STRATA_EPROTO when the registry says it stored the blob under another
 * digest than digest. */
int strata_oci__check_blob_digest(const strata_ref *ref, const char *digest,
                                  const strata_http_response *resp,
                                  strata_error *err);

/* manifest.c: "os/arch[/variant]" into parts (caller frees); -1 if bad. */
int strata_oci__platform_split(char **os, char **arch, char **variant,
                               const char *platform);

/*
 * A streamed blob against its descriptor (blob-copy.c): received bytes
 * equal to size, then md's SHA-256 equal to digest ("sha256:<hex>").
 * Finalises md. STRATA_EPROTO naming the blob and ref otherwise.
 */
int strata_oci__blob_check(EVP_MD_CTX *md, uint64_t received, int64_t size,
                           const char *digest, const strata_ref *ref,
                           strata_error *err);

#endif
