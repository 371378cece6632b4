/*
 * app.c - GitHub App authentication for discovery: an RS256 JWT signed
 * with the App's private key through OpenSSL (EVP_DigestSign), traded for
 * an installation token (POST /app/installations/{id}/access_tokens),
 * which is kept and traded again when less than APP_REFRESH_S of its hour
 * is left. The key and the tokens are secrets: never in a message or a
 * log line, wiped when freed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "forge-int.h"

/* A token is traded again when less than this is left (GitHub gives an
 * hour): a repository record made from it stays usable for a poll. */
#define APP_REFRESH_S (30 * 60)
/* GitHub refuses a JWT that lives over ten minutes; iat is set a minute
 * back against clock drift, as GitHub's documentation advises. */
#define JWT_BACK_S 60
#define JWT_LIFE_S (9 * 60)

struct strata_forge_app {
    char *app_id;
    char *installation;
    EVP_PKEY *pkey;
    char *token;     /* the installation token, or NULL */
    int64_t expires; /* unix seconds */
};

static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) u;
    return 0;
}

int
strata_forge_app_new(strata_forge_app **out, const char *app_id,
                     const char *installation, const char *pem, size_t len,
                     strata_error *err)
{
    EVP_PKEY *pkey;
    BIO *bio;

    *out = NULL;
    if (app_id == NULL || installation == NULL || pem == NULL || len > 65536)
        return strata_error_set(err, STRATA_EINVAL,
                                "github app: id, installation and a private "
                                "key are needed");
    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL)
        return strata_error_set(err, STRATA_EINTERNAL, "out of memory");
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (pkey == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "github app '%s': the private key is no "
                                "unencrypted PEM private key",
                                app_id);
    if (EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
        EVP_PKEY_free(pkey);
        return strata_error_set(err, STRATA_EINVAL,
                                "github app '%s': the private key is not an "
                                "RSA key (GitHub Apps sign with RS256)",
                                app_id);
    }
    *out = strata_xcalloc(1, sizeof(**out));
    (*out)->app_id = strata_xstrdup(app_id);
    (*out)->installation = strata_xstrdup(installation);
    (*out)->pkey = pkey;
    return 0;
}

static void
drop_token(strata_forge_app *app)
{
    if (app->token != NULL) {
        explicit_bzero(app->token, strlen(app->token));
        free(app->token);
        app->token = NULL;
    }
    app->expires = 0;
}

void
strata_forge_app_free(strata_forge_app *app)
{
    if (app == NULL)
        return;
    drop_token(app);
    EVP_PKEY_free(app->pkey);
    free(app->app_id);
    free(app->installation);
    free(app);
}

/* Appends base64url (RFC 7515: no padding) of data to b. */
static void
b64url(strata_buf *b, const void *data, size_t len)
{
    size_t cap = 4 * ((len + 2) / 3) + 1, i, n;
    unsigned char *tmp = strata_xmalloc(cap);
    int w = EVP_EncodeBlock(tmp, data, (int) len);

    n = w > 0 ? (size_t) w : 0;
    while (n > 0 && tmp[n - 1] == '=')
        n--;
    for (i = 0; i < n; i++)
        tmp[i] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : tmp[i];
    strata_buf_add(b, tmp, n);
    free(tmp);
}

int
strata_forge_app_jwt(char **out, const strata_forge_app *app, int64_t now_s,
                     strata_error *err)
{
    static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    strata_buf b = {0};
    char *payload;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = 0;

    *out = NULL;
    /* iss is the App's id as a number: GitHub takes either. */
    payload = strata_xasprintf("{\"iat\":%lld,\"exp\":%lld,\"iss\":%s}",
                               (long long) (now_s - JWT_BACK_S),
                               (long long) (now_s + JWT_LIFE_S), app->app_id);
    b64url(&b, header, strlen(header));
    strata_buf_add(&b, ".", 1);
    b64url(&b, payload, strlen(payload));
    if (ctx == NULL ||
        EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, app->pkey) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, (unsigned char *) b.ptr, b.len) !=
            1) {
        rc = strata_error_set(err, STRATA_EINTERNAL,
                              "github app '%s': cannot sign the JWT",
                              app->app_id);
        goto out;
    }
    sig = strata_xmalloc(siglen);
    if (EVP_DigestSign(ctx, sig, &siglen, (unsigned char *) b.ptr, b.len) !=
        1) {
        rc = strata_error_set(err, STRATA_EINTERNAL,
                              "github app '%s': cannot sign the JWT",
                              app->app_id);
        goto out;
    }
    strata_buf_add(&b, ".", 1);
    b64url(&b, sig, siglen);
    *out = strata_buf_detach(&b);
out:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    free(sig);
    free(payload);
    strata_buf_release(&b);
    return rc;
}

/* "2016-07-11T22:14:10Z" as unix seconds; -1 when it is not that. */
static int64_t
parse_time(const char *s)
{
    struct tm tm = {0};
    const char *end;

    if (s == NULL)
        return -1;
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    return (int64_t) timegm(&tm);
}

int
strata_forge_app_token(const char **out, strata_forge_app *app,
                       const strata_forge_opts *opts, int64_t now_s,
                       strata_error *err)
{
    const char *api = opts != NULL && opts->api_url != NULL
                          ? opts->api_url
                          : strata_forge__github.default_api_url;
    strata_http_header headers[4];
    strata_http_request req = {0};
    strata_http_response *resp = NULL;
    char *jwt = NULL, *auth = NULL, *url = NULL;
    json_t *reply = NULL;
    const char *token;
    int64_t expires;
    int rc;

    *out = NULL;
    if (app->token != NULL && app->expires - now_s > APP_REFRESH_S) {
        *out = app->token;
        return 0;
    }
    if ((rc = strata_forge_app_jwt(&jwt, app, now_s, err)) != 0)
        return rc;
    auth = strata_xasprintf("Bearer %s", jwt);
    url = strata_xasprintf("%s/app/installations/%s/access_tokens", api,
                           app->installation);
    headers[0] = (strata_http_header){"Authorization", auth};
    headers[1] = strata_forge__github.extra[0];
    headers[2] = strata_forge__github.extra[1];
    req.method = "POST";
    req.url = url;
    req.headers = headers;
    req.nheaders = 3;
    req.timeout_ms =
        opts != NULL && opts->timeout_ms ? opts->timeout_ms : 30000;
    req.max_body = 1 << 20;
    req.insecure = opts != NULL ? opts->insecure : 0;
    req.ca_file = opts != NULL ? opts->ca_file : NULL;
    if ((rc = strata_http_fetch(&resp, &req, err)) != 0)
        goto out;
    reply = json_loadb(resp->body.ptr, resp->body.len, 0, NULL);
    if (resp->status != 201) {
        char msg[200];

        strata_forge__message(msg, sizeof(msg), reply);
        rc = strata_error_set(err,
                              resp->status == 401 || resp->status == 403
                                  ? STRATA_EAUTH
                              : resp->status == 404 ? STRATA_ENOTFOUND
                                                    : STRATA_EHTTP,
                              "github app '%s': installation '%s': token "
                              "refused (HTTP %ld%s%s)",
                              app->app_id, app->installation, resp->status,
                              msg[0] ? ": " : "", msg);
        goto out;
    }
    token = json_string_value(json_object_get(reply, "token"));
    expires =
        parse_time(json_string_value(json_object_get(reply, "expires_at")));
    if (token == NULL || *token == '\0' || expires < 0) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "github app '%s': malformed reply to "
                              "'create installation token'",
                              app->app_id);
        goto out;
    }
    drop_token(app);
    app->token = strata_xstrdup(token);
    app->expires = expires;
    *out = app->token;
out:
    if (resp != NULL)
        explicit_bzero(resp->body.ptr, resp->body.len);
    strata_http_response_free(resp);
    json_decref(reply);
    explicit_bzero(jwt, strlen(jwt));
    free(jwt);
    explicit_bzero(auth, strlen(auth));
    free(auth);
    free(url);
    return rc;
}

int64_t
strata_forge_app_expires(const strata_forge_app *app)
{
    return app->expires;
}

const char *
strata_forge_app_cached_token(const strata_forge_app *app)
{
    return app->token;
}

const char *
strata_forge__app_installation(const strata_forge_app *app)
{
    return app->installation;
}
