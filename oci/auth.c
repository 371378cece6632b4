/*
 * auth.c - registry authentication: the WWW-Authenticate challenge
 * (Basic, or Bearer with realm, service and scope), fetching bearer tokens
 * from the realm as the Docker token protocol describes (anonymously or
 * with Basic credentials), or through the OAuth2 form (POST
 * grant_type=refresh_token) with an identity token, and a per-host token
 * cache keyed by scope that honours expires_in (clamped: a token server
 * cannot make a token live forever, nor expire before it is used). Token
 * answers are read up to STRATA_OCI__MAX_ANSWER and a token that could
 * not go into a header is refused. A realm on plain HTTP is
 * accepted only where plain HTTP to the registry itself would be. Tokens,
 * passwords and identity tokens are never logged nor put in a message,
 * and are wiped before their memory is freed.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "oci-int.h"

/* expires_in when the token server gives none (the spec's default). */
#define DEFAULT_EXPIRES_S 60
/* Tokens are dropped this long before they expire. */
#define EXPIRY_MARGIN_MS 5000

/* Reads one auth-param value (quoted-string or token) into out. */
static const char *
read_value(strata_buf *out, const char *p)
{
    strata_buf_reset(out);
    strata_buf_puts(out, "");
    if (*p == '"') {
        for (p++; *p != '\0' && *p != '"'; p++) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            strata_buf_putc(out, *p);
        }
        if (*p == '"')
            p++;
    } else {
        while (*p != '\0' && *p != ',' && !isspace((unsigned char) *p))
            strata_buf_putc(out, *p++);
    }
    return p;
}

/* Plain HTTP to the realm's host ("host[:port]/path...")? */
static int
realm_plain_allowed(const char *hostpart, int insecure)
{
    char host[300];
    const char *at;
    size_t n = strcspn(hostpart, "/?#");

    /* Skip a "user:password@" part; only the host decides. */
    at = memchr(hostpart, '@', n);
    if (at != NULL) {
        n -= (size_t) (at + 1 - hostpart);
        hostpart = at + 1;
    }
    if (n >= sizeof(host))
        return insecure;
    memcpy(host, hostpart, n);
    host[n] = '\0';
    return strata_registry_plain_http_allowed(host, insecure);
}

int
strata_oci__parse_challenge(strata_oci__host *h, const char *value,
                            strata_error *err)
{
    strata_buf key = STRATA_BUF_INIT, val = STRATA_BUF_INIT;
    const char *p = value;
    size_t n = strcspn(value, " \t");
    int bearer;

    if (n == 5 && strncasecmp(value, "Basic", 5) == 0)
        bearer = 0;
    else if (n == 6 && strncasecmp(value, "Bearer", 6) == 0)
        bearer = 1;
    else
        return strata_error_set(err, STRATA_EPROTO,
                                "unsupported authentication scheme '%.*s' "
                                "from '%s'",
                                (int) n, value, h->domain);
    free(h->realm);
    free(h->service);
    h->realm = h->service = NULL;
    p += n;
    while (*p != '\0') {
        while (*p == ',' || isspace((unsigned char) *p))
            p++;
        if (*p == '\0')
            break;
        strata_buf_reset(&key);
        while (*p != '\0' && *p != '=' && *p != ',' &&
               !isspace((unsigned char) *p))
            strata_buf_putc(&key, (char) tolower((unsigned char) *p++));
        while (isspace((unsigned char) *p))
            p++;
        if (*p != '=')
            continue;
        p++;
        while (isspace((unsigned char) *p))
            p++;
        p = read_value(&val, p);
        if (strcmp(strata_buf_cstr(&key), "realm") == 0) {
            free(h->realm);
            h->realm = strata_xstrdup(strata_buf_cstr(&val));
        } else if (strcmp(strata_buf_cstr(&key), "service") == 0) {
            free(h->service);
            h->service = strata_xstrdup(strata_buf_cstr(&val));
        }
    }
    strata_buf_release(&key);
    strata_buf_release(&val);
    if (bearer && (h->realm == NULL || (strncmp(h->realm, "https://", 8) != 0 &&
                                        strncmp(h->realm, "http://", 7) != 0)))
        return strata_error_set(err, STRATA_EPROTO,
                                "bearer challenge from '%s' has no usable "
                                "realm",
                                h->domain);
    if (bearer && strncmp(h->realm, "http://", 7) == 0 &&
        !realm_plain_allowed(h->realm + 7, h->insecure))
        return strata_error_set(err, STRATA_EAUTH,
                                "refusing the plain-HTTP token realm of '%s' "
                                "(credentials would travel unencrypted); "
                                "mark the registry insecure to allow it",
                                h->domain);
    h->auth = bearer ? STRATA_OCI__AUTH_BEARER : STRATA_OCI__AUTH_BASIC;
    return 0;
}

const char *
strata_oci__token_get(strata_oci__host *h, const char *scope)
{
    strata_oci__token *t;
    int64_t now = strata_now_ms();

    for (t = h->tokens; t != NULL; t = t->next)
        if (strcmp(t->scope, scope) == 0)
            return t->expires_ms > now ? t->token : NULL;
    return NULL;
}

void
strata_oci__token_drop(strata_oci__host *h, const char *scope)
{
    strata_oci__token **pp, *t;

    for (pp = &h->tokens; (t = *pp) != NULL; pp = &t->next) {
        if (strcmp(t->scope, scope) == 0) {
            *pp = t->next;
            free(t->scope);
            memset(t->token, 0, strlen(t->token));
            free(t->token);
            free(t);
            return;
        }
    }
}

void
strata_oci__token_put(strata_oci__host *h, const char *scope, const char *token,
                      int64_t expires_in_s)
{
    strata_oci__token *t = strata_xcalloc(1, sizeof(*t));
    int64_t life_ms;

    /* Clamped before multiplying: no overflow, whatever the caller says. */
    if (expires_in_s < 1)
        expires_in_s = 1;
    if (expires_in_s > STRATA_OCI__MAX_TOKEN_LIFE_S)
        expires_in_s = STRATA_OCI__MAX_TOKEN_LIFE_S;
    life_ms = expires_in_s * 1000;
    strata_oci__token_drop(h, scope);
    /* Renew a little early, but never make a token useless. */
    if (life_ms > 2 * EXPIRY_MARGIN_MS)
        life_ms -= EXPIRY_MARGIN_MS;
    t->scope = strata_xstrdup(scope);
    t->token = strata_xstrdup(token);
    t->expires_ms = strata_now_ms() + life_ms;
    t->next = h->tokens;
    h->tokens = t;
}

void
strata_oci__host_free(strata_oci__host *h)
{
    while (h->tokens != NULL)
        strata_oci__token_drop(h, h->tokens->scope);
    free(h->domain);
    free(h->username);
    if (h->password != NULL) {
        /* Don't leave the secret in freed memory. */
        memset(h->password, 0, strlen(h->password));
        free(h->password);
    }
    if (h->identity_token != NULL) {
        memset(h->identity_token, 0, strlen(h->identity_token));
        free(h->identity_token);
    }
    free(h->ca_file);
    free(h->realm);
    free(h->service);
    free(h->cred_helper);
    free(h);
}

typedef struct token_req {
    strata_oci__host *host;
    char *scope;
    char *userpwd;
    strata_buf form; /* the POST body (holds the identity token) */
    int oauth;       /* POST grant_type=refresh_token */
    strata_oci__token_cb cb;
    void *arg;
} token_req;

static void
token_req_free(token_req *t)
{
    free(t->scope);
    if (t->userpwd != NULL) {
        memset(t->userpwd, 0, strlen(t->userpwd));
        free(t->userpwd);
    }
    if (t->form.len > 0)
        memset(t->form.ptr, 0, t->form.len);
    strata_buf_release(&t->form);
    free(t);
}

/* An OAuth2 error answer {"error": "invalid_grant"}: a refused token. */
static int
oauth_invalid_grant(const strata_http_response *resp)
{
    json_t *j = json_loadb(resp->body.ptr, resp->body.len, 0, NULL);
    const char *e = json_string_value(json_object_get(j, "error"));
    int yes = e != NULL && (strcmp(e, "invalid_grant") == 0 ||
                            strcmp(e, "unauthorized_client") == 0);

    json_decref(j);
    return yes;
}

int
strata_oci__token_parse(char **token, int64_t *expires_in_s, const char *body,
                        size_t len, const char *domain, strata_error *err)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *e = json_object_get(j, "expires_in");
    json_t *tv = json_object_get(j, "token");
    const unsigned char *p;
    size_t n;
    int rc = 0;

    *token = NULL;
    *expires_in_s = DEFAULT_EXPIRES_S;
    if (!json_is_object(j)) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "token server of '%s' sent no JSON object",
                              domain);
        goto out;
    }
    if (json_string_length(tv) == 0)
        tv = json_object_get(j, "access_token");
    n = json_string_length(tv);
    if (n == 0) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "token server of '%s' sent no token", domain);
        goto out;
    }
    /* It goes into "Authorization: Bearer TOKEN": visible ASCII only. */
    p = (const unsigned char *) json_string_value(tv);
    while (n > 0 && *p > 0x20 && *p < 0x7f) {
        p++;
        n--;
    }
    if (n > 0) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "token server of '%s' sent a malformed token",
                              domain);
        goto out;
    }
    if (json_is_integer(e) && json_integer_value(e) > 0)
        *expires_in_s = json_integer_value(e) > STRATA_OCI__MAX_TOKEN_LIFE_S
                            ? STRATA_OCI__MAX_TOKEN_LIFE_S
                            : (int64_t) json_integer_value(e);
    *token = strata_xstrdup(json_string_value(tv));
out:
    json_decref(j);
    return rc;
}

static void
on_token(const strata_http_response *resp, const strata_error *terr, void *arg)
{
    token_req *t = arg;
    strata_error err = {0};
    char *tok = NULL;
    int64_t expires = DEFAULT_EXPIRES_S;

    if (terr != NULL) {
        err = *terr;
        goto out;
    }
    if (resp->status == 401 || resp->status == 403 ||
        (t->oauth && resp->status == 400 && oauth_invalid_grant(resp))) {
        strata_error_set(
            &err, STRATA_EAUTH,
            "token server of '%s' refused the %s (HTTP %ld)", t->host->domain,
            t->oauth ? "identity token" : "credentials", resp->status);
        goto out;
    }
    if (resp->status != 200) {
        strata_error_set(&err,
                         resp->status == 429 ? STRATA_ERATELIMIT : STRATA_EHTTP,
                         "token server of '%s' answered HTTP %ld",
                         t->host->domain, resp->status);
        goto out;
    }
    if (strata_oci__token_parse(&tok, &expires, resp->body.ptr, resp->body.len,
                                t->host->domain, &err) != 0)
        goto out;
    strata_oci__token_put(t->host, t->scope, tok, expires);
out:
    /* The token itself, not a cache lookup that could come back empty. */
    t->cb(err.code == 0 ? tok : NULL, err.code == 0 ? NULL : &err, t->arg);
    if (tok != NULL) {
        memset(tok, 0, strlen(tok));
        free(tok);
    }
    token_req_free(t);
}

/* Appends "&name=value" (form-encoded) to b. */
static void
form_add(strata_buf *b, const char *name, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);

    strata_buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, esc);
    /* esc may hold the identity token: wipe curl's copy too. */
    memset(esc, 0, strlen(esc));
    curl_free(esc);
}

/*
 * The OAuth2 form of the token protocol, as Docker uses it with an
 * identity token: POST realm with grant_type=refresh_token, the service,
 * a client_id, the refresh token and the scopes (space-separated in one
 * parameter). The answer carries access_token.
 */
static int
fetch_oauth(strata_registry *reg, strata_oci__host *h, const char *scope,
            strata_oci__token_cb cb, void *arg, strata_error *err)
{
    strata_http_request req = {0};
    strata_http_header hdr = {"Content-Type",
                              "application/x-www-form-urlencoded"};
    token_req *t = strata_xcalloc(1, sizeof(*t));
    int rc;

    t->host = h;
    t->scope = strata_xstrdup(scope);
    t->cb = cb;
    t->arg = arg;
    t->oauth = 1;
    form_add(&t->form, "grant_type", "refresh_token");
    if (h->service != NULL)
        form_add(&t->form, "service", h->service);
    form_add(&t->form, "client_id", "strata");
    form_add(&t->form, "refresh_token", h->identity_token);
    if (scope[0] != '\0')
        form_add(&t->form, "scope", scope);
    req.method = "POST";
    req.url = h->realm;
    req.headers = &hdr;
    req.nheaders = 1;
    req.body = t->form.ptr;
    req.body_len = t->form.len;
    req.insecure = h->insecure;
    req.ca_file = h->ca_file;
    req.timeout_ms = h->timeout_ms;
    req.max_body = STRATA_OCI__MAX_ANSWER;
    rc = strata_http_send(reg->http, &req, on_token, t, err);
    if (rc != 0)
        token_req_free(t);
    return rc;
}

int
strata_oci__fetch_token(strata_registry *reg, strata_oci__host *h,
                        const char *scope, strata_oci__token_cb cb, void *arg,
                        strata_error *err)
{
    strata_http_request req = {0};
    strata_buf url = STRATA_BUF_INIT;
    token_req *t;
    const char *p, *end;
    char *esc;
    int rc, nscopes = 0;

    if (h->identity_token != NULL)
        return fetch_oauth(reg, h, scope, cb, arg, err);
    strata_buf_puts(&url, h->realm);
    strata_buf_putc(&url, strchr(h->realm, '?') ? '&' : '?');
    if (h->service != NULL) {
        esc = curl_easy_escape(NULL, h->service, 0);
        strata_buf_printf(&url, "service=%s&", esc);
        curl_free(esc);
    }
    /* Several scopes (space-separated) are several scope= parameters. */
    for (p = scope; *p != '\0'; p = *end ? end + 1 : end) {
        end = strchr(p, ' ');
        if (end == NULL)
            end = p + strlen(p);
        if (end == p)
            continue;
        esc = curl_easy_escape(NULL, p, (int) (end - p));
        strata_buf_printf(&url, "%sscope=%s", nscopes++ ? "&" : "", esc);
        curl_free(esc);
    }

    t = strata_xcalloc(1, sizeof(*t));
    t->host = h;
    t->scope = strata_xstrdup(scope);
    t->cb = cb;
    t->arg = arg;
    if (h->username != NULL)
        t->userpwd = strata_xasprintf("%s:%s", h->username,
                                      h->password ? h->password : "");
    req.url = strata_buf_cstr(&url);
    req.userpwd = t->userpwd;
    req.insecure = h->insecure;
    req.ca_file = h->ca_file;
    req.timeout_ms = h->timeout_ms;
    req.max_body = STRATA_OCI__MAX_ANSWER;
    req.follow_redirects = 1;
    rc = strata_http_send(reg->http, &req, on_token, t, err);
    if (rc != 0)
        token_req_free(t);
    strata_buf_release(&url);
    return rc;
}
