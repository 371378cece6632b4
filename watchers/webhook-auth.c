/*
 * webhook-auth.c - verifying who sent a registry webhook before its body
 * is read: shared tokens (Authorization or a configured header, basic
 * auth, URL query, X-Strata-Token), the HMAC-SHA256 signatures of
 * strata's generic shape and of GitHub (X-Hub-Signature-256), and
 * Google's OIDC token for Pub/Sub pushes (webhook-jwt.c). All secret
 * comparisons are constant-time through OpenSSL's CRYPTO_memcmp, and no
 * message ever contains a secret or what the sender offered instead.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "watchers-int.h"

static const char *const kind_names[] = {
    [STRATA_WATCHERS_WEBHOOK_DISTRIBUTION] = "distribution",
    [STRATA_WATCHERS_WEBHOOK_DOCKERHUB] = "dockerhub",
    [STRATA_WATCHERS_WEBHOOK_HARBOR] = "harbor",
    [STRATA_WATCHERS_WEBHOOK_GENERIC] = "generic",
    [STRATA_WATCHERS_WEBHOOK_CLOUDEVENTS] = "cloudevents",
    [STRATA_WATCHERS_WEBHOOK_QUAY] = "quay",
    [STRATA_WATCHERS_WEBHOOK_GHCR] = "ghcr",
    [STRATA_WATCHERS_WEBHOOK_ECR] = "ecr",
    [STRATA_WATCHERS_WEBHOOK_ACR] = "acr",
    [STRATA_WATCHERS_WEBHOOK_ARTIFACT_REGISTRY] = "artifact-registry",
};

#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

int
strata_watchers_webhook_kind_parse(strata_watchers_webhook_kind *out,
                                   const char *name, strata_error *err)
{
    size_t i;

    for (i = 0; i < NKINDS; i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (strata_watchers_webhook_kind) i;
            return 0;
        }
    }
    return strata_error_set(err, STRATA_EINVAL,
                            "unknown webhook kind '%s' (expected "
                            "distribution, dockerhub, harbor, generic, "
                            "cloudevents, quay, ghcr, ecr, acr or "
                            "artifact-registry)",
                            name);
}

const char *
strata_watchers_webhook_kind_name(strata_watchers_webhook_kind k)
{
    return (size_t) k < NKINDS ? kind_names[k] : "unknown";
}

/* ---- verification ------------------------------------------------------- */

/* "Bearer SECRET" (any case, any spaces) or exactly "SECRET". */
static int
verify_authorization(const char *header, const char *secret, strata_error *err)
{
    int ok;

    if (header == NULL || *header == '\0')
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook has no Authorization header");
    ok = strata_secret_equal(header, strlen(header), secret);
    if (strncasecmp(header, "Bearer ", 7) == 0) {
        const char *t = header + 7;

        while (*t == ' ')
            t++;
        ok |= strata_secret_equal(t, strlen(t), secret);
    }
    if (!ok)
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook Authorization header is wrong");
    return 0;
}

/*
 * Finds the first "token=" parameter of a URL query and percent-decodes
 * its value into a new buffer of *out_len bytes (the caller frees; it may
 * hold a decoded NUL, hence the length), or returns NULL.
 */
static char *
query_token(const char *query, size_t *out_len)
{
    const char *p = query;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t) (end - p) : strlen(p);

        if (len >= 6 && strncmp(p, "token=", 6) == 0)
            return strata_url_decode(out_len, p + 6, len - 6, 1);
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static int
verify_token(const strata_watchers_webhook_request *req, const char *secret,
             const char *who, strata_error *err)
{
    size_t qlen = 0;
    char *qt = req->query ? query_token(req->query, &qlen) : NULL;
    int rc = 0, ok = 0;

    if (qt == NULL && req->token == NULL)
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook has no token (%s cannot sign: add "
                                "?token=... to the webhook URL)",
                                who);
    /* All decoded bytes count: "SECRET%00junk" is not SECRET. */
    if (qt != NULL)
        ok |= strata_secret_equal(qt, qlen, secret);
    if (req->token != NULL)
        ok |= strata_secret_equal(req->token, strlen(req->token), secret);
    if (!ok)
        rc = strata_error_set(err, STRATA_EAUTH, "webhook token is wrong");
    if (qt != NULL)
        OPENSSL_cleanse(qt, qlen);
    free(qt);
    return rc;
}

char *
strata_watchers_webhook_sign(const char *secret, const void *body, size_t len)
{
    char *out = strata_xmalloc(7 + 64 + 1);

    memcpy(out, "sha256=", 7);
    strata_hmac_sha256_hex(out + 7, secret, body, len);
    return out;
}

static int
verify_signature(const strata_watchers_webhook_request *req, const char *secret,
                 strata_error *err)
{
    const char *sig = req->signature;

    if (sig == NULL || *sig == '\0')
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook has no X-Strata-Signature header");
    if (strncasecmp(sig, "sha256=", 7) != 0 || strlen(sig) != 7 + 64 ||
        strspn(sig + 7, "0123456789abcdefABCDEF") != 64)
        return strata_error_set(err, STRATA_EAUTH,
                                "malformed X-Strata-Signature header "
                                "(expected 'sha256=' and 64 hex digits)");
    if (!strata_hmac_sha256_verify(sig + 7, 64, secret, req->body,
                                   req->body_len))
        return strata_error_set(err, STRATA_EAUTH,
                                "X-Strata-Signature does not match the body");
    return 0;
}

char *
strata_watchers__header(const strata_watchers_webhook_request *req,
                        const char *name)
{
    if (strcmp(name, "authorization") == 0 && req->authorization != NULL)
        return strata_xstrdup(req->authorization);
    if (req->header == NULL)
        return NULL;
    return req->header(req->header_arg, name);
}

/* "Basic base64(username:secret)", both parts compared in constant time. */
static int
verify_basic(const char *header, const char *username, const char *secret,
             strata_error *err)
{
    unsigned char *raw = NULL;
    const char *b64, *colon;
    size_t n = 0;
    int ok;

    if (header == NULL || *header == '\0')
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook has no Authorization header (basic "
                                "auth is configured)");
    if (strncasecmp(header, "Basic ", 6) != 0)
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook Authorization header is not basic "
                                "auth");
    b64 = header + 6;
    while (*b64 == ' ')
        b64++;
    if (strata_watchers__base64_decode(&raw, &n, b64, strlen(b64), 0) != 0)
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook basic auth is not base64");
    colon = memchr(raw, ':', n);
    ok = colon != NULL &&
         strata_secret_equal(raw, (size_t) (colon - (const char *) raw),
                             username) &
             strata_secret_equal(colon + 1,
                                 n - (size_t) (colon + 1 - (const char *) raw),
                                 secret);
    OPENSSL_cleanse(raw, n);
    free(raw);
    if (!ok)
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook basic auth is wrong");
    return 0;
}

/*
 * The header-verified kinds: basic auth when a user name is configured,
 * else the configured header (Authorization by default) holding the
 * secret, "Bearer " optional.
 */
static int
verify_header(const strata_watchers_webhook_config *cfg,
              const strata_watchers_webhook_request *req, strata_error *err)
{
    char *value;
    int rc, ok;

    if (cfg->username != NULL) {
        value = strata_watchers__header(req, "authorization");
        rc = verify_basic(value, cfg->username, cfg->secret, err);
        free(value);
        return rc;
    }
    if (cfg->header == NULL || strcasecmp(cfg->header, "authorization") == 0)
        return verify_authorization(req->authorization, cfg->secret, err);
    {
        /* The getter takes lowercase names; the configuration may not. */
        char *name = strata_xstrdup(cfg->header);

        for (char *p = name; *p != '\0'; p++)
            *p = (char) tolower((unsigned char) *p);
        value = strata_watchers__header(req, name);
        free(name);
    }
    if (value == NULL || *value == '\0') {
        free(value);
        return strata_error_set(err, STRATA_EAUTH, "webhook has no '%s' header",
                                cfg->header);
    }
    ok = strata_secret_equal(value, strlen(value), cfg->secret);
    if (strncasecmp(value, "Bearer ", 7) == 0) {
        const char *t = value + 7;

        while (*t == ' ')
            t++;
        ok |= strata_secret_equal(t, strlen(t), cfg->secret);
    }
    free(value);
    if (!ok)
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook '%s' header is wrong", cfg->header);
    return 0;
}

/* GitHub: "X-Hub-Signature-256: sha256=HEX" of the raw body. */
static int
verify_hub_signature(const strata_watchers_webhook_request *req,
                     const char *secret, strata_error *err)
{
    char *sig = strata_watchers__header(req, "x-hub-signature-256");
    int rc = 0;

    if (sig == NULL || *sig == '\0')
        rc = strata_error_set(err, STRATA_EAUTH,
                              "webhook has no X-Hub-Signature-256 header "
                              "(set the GitHub webhook's secret)");
    else if (strncasecmp(sig, "sha256=", 7) != 0 || strlen(sig) != 7 + 64 ||
             strspn(sig + 7, "0123456789abcdefABCDEF") != 64)
        rc = strata_error_set(err, STRATA_EAUTH,
                              "malformed X-Hub-Signature-256 header "
                              "(expected 'sha256=' and 64 hex digits)");
    else if (!strata_hmac_sha256_verify(sig + 7, 64, secret, req->body,
                                        req->body_len))
        rc = strata_error_set(err, STRATA_EAUTH,
                              "X-Hub-Signature-256 does not match the body");
    free(sig);
    return rc;
}

/*
 * Pub/Sub push: the OIDC token in "Authorization: Bearer JWT" when keys
 * are configured, else (or without a bearer token) the URL's token.
 */
static int
verify_pubsub(const strata_watchers_webhook_config *cfg,
              const strata_watchers_webhook_request *req, strata_error *err)
{
    const char *auth = req->authorization;

    if (cfg->keys != NULL && auth != NULL &&
        strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *t = auth + 7;

        while (*t == ' ')
            t++;
        return strata_watchers__jwt_verify(cfg, t, err);
    }
    if (cfg->secret == NULL || *cfg->secret == '\0')
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook has no bearer token (turn on the "
                                "push subscription's authentication)");
    return verify_token(req, cfg->secret,
                        "a Pub/Sub push without "
                        "authentication",
                        err);
}

int
strata_watchers__webhook_verify(const strata_watchers_webhook_config *cfg,
                                const strata_watchers_webhook_request *req,
                                strata_error *err)
{
    switch (cfg->kind) {
    case STRATA_WATCHERS_WEBHOOK_DISTRIBUTION:
    case STRATA_WATCHERS_WEBHOOK_HARBOR:
    case STRATA_WATCHERS_WEBHOOK_CLOUDEVENTS:
    case STRATA_WATCHERS_WEBHOOK_ECR:
    case STRATA_WATCHERS_WEBHOOK_ACR:
        return verify_header(cfg, req, err);
    case STRATA_WATCHERS_WEBHOOK_DOCKERHUB:
        return verify_token(req, cfg->secret, "Docker Hub", err);
    case STRATA_WATCHERS_WEBHOOK_QUAY:
        return verify_token(req, cfg->secret, "Quay", err);
    case STRATA_WATCHERS_WEBHOOK_GENERIC:
        return verify_signature(req, cfg->secret, err);
    case STRATA_WATCHERS_WEBHOOK_GHCR:
        return verify_hub_signature(req, cfg->secret, err);
    case STRATA_WATCHERS_WEBHOOK_ARTIFACT_REGISTRY:
        return verify_pubsub(cfg, req, err);
    }
    return strata_error_set(err, STRATA_EINVAL, "unknown webhook kind %d",
                            (int) cfg->kind);
}
