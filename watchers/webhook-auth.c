/*
 * webhook-auth.c - verifying who sent a registry webhook before its body
 * is read: shared tokens (Authorization header, URL query, X-Strata-Token)
 * and the HMAC-SHA256 signature of strata's generic shape. All secret
 * comparisons are constant-time through OpenSSL's CRYPTO_memcmp, and no
 * message ever contains a secret or what the sender offered instead.
 */
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
                            "distribution, dockerhub, harbor or generic)",
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
             strata_error *err)
{
    size_t qlen = 0;
    char *qt = req->query ? query_token(req->query, &qlen) : NULL;
    int rc = 0, ok = 0;

    if (qt == NULL && req->token == NULL)
        return strata_error_set(err, STRATA_EAUTH,
                                "webhook has no token (Docker Hub cannot sign: "
                                "add ?token=... to the webhook URL)");
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

int
strata_watchers__webhook_verify(const strata_watchers_webhook_config *cfg,
                                const strata_watchers_webhook_request *req,
                                strata_error *err)
{
    switch (cfg->kind) {
    case STRATA_WATCHERS_WEBHOOK_DISTRIBUTION:
    case STRATA_WATCHERS_WEBHOOK_HARBOR:
        return verify_authorization(req->authorization, cfg->secret, err);
    case STRATA_WATCHERS_WEBHOOK_DOCKERHUB:
        return verify_token(req, cfg->secret, err);
    case STRATA_WATCHERS_WEBHOOK_GENERIC:
        return verify_signature(req, cfg->secret, err);
    }
    return strata_error_set(err, STRATA_EINVAL, "unknown webhook kind %d",
                            (int) cfg->kind);
}
