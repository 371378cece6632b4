/*
 * credhelper.c - Docker credential helpers: `docker-credential-NAME get`
 * runs as a child process on the loop (core's strata_proc) with the
 * server URL on stdin and answers {"ServerURL", "Username", "Secret"} on
 * stdout. A Username of "<token>" makes Secret an identity token (an
 * OAuth2 refresh token). A helper that knows no credentials for the
 * server says "credentials not found" and exits 1: that is no credentials,
 * not an error. The helper's output holds the secret, so it is wiped and
 * never copied into an error message.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "oci-int.h"

#define DEFAULT_HELPER_TIMEOUT_MS 10000

typedef struct helper_run {
    char *helper; /* "docker-credential-NAME" */
    char *server_url;
    uint32_t timeout_ms;
    strata_docker_helper_cb cb;
    void *arg;
} helper_run;

static char *
dup_or_null(const char *s)
{
    return s != NULL ? strata_xstrdup(s) : NULL;
}

static void
wipe_free(char *s)
{
    if (s != NULL) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

void
strata_registry_creds_release(strata_registry_creds *c)
{
    if (c == NULL)
        return;
    free(c->username);
    wipe_free(c->password);
    wipe_free(c->identity_token);
    memset(c, 0, sizeof(*c));
}

/*
 * The first line of a failed helper's output, for the error message, or
 * "" when it could carry a secret (anything that looks like JSON).
 */
static void
failure_text(char *out, size_t outlen, const char *text, size_t len)
{
    size_t n = 0;

    out[0] = '\0';
    if (memchr(text, '{', len) != NULL || memchr(text, '"', len) != NULL)
        return;
    while (n < len && text[n] != '\n' && n + 3 < outlen)
        n++;
    if (n == 0)
        return;
    snprintf(out, outlen, ": %.*s", (int) n, text);
    for (n = 0; out[n] != '\0'; n++)
        if (!isprint((unsigned char) out[n]))
            out[n] = '?';
}

/* Parses the helper's JSON answer into c. */
static int
parse_answer(strata_registry_creds *c, const helper_run *h, const char *text,
             size_t len, strata_error *err)
{
    const char *brace = memchr(text, '{', len);
    const char *user, *secret;
    json_t *j = NULL;
    int rc = 0;

    /* Helpers may print a warning on stderr (same pipe) before the JSON. */
    if (brace != NULL)
        j = json_loadb(brace, len - (size_t) (brace - text),
                       JSON_DISABLE_EOF_CHECK, NULL);
    user = json_string_value(json_object_get(j, "Username"));
    secret = json_string_value(json_object_get(j, "Secret"));
    if (!json_is_object(j) || secret == NULL) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "credential helper '%s' for '%s' answered "
                              "no usable credentials",
                              h->helper, h->server_url);
        goto out;
    }
    if (secret[0] == '\0')
        goto out; /* nothing stored */
    if (user != NULL && strcmp(user, "<token>") == 0) {
        c->identity_token = strata_xstrdup(secret);
    } else {
        c->username = dup_or_null(user);
        c->password = strata_xstrdup(secret);
    }
out:
    json_decref(j); /* jansson does not wipe its strings; nothing to do */
    return rc;
}

static void
on_helper_exit(const strata_proc_result *res, void *arg)
{
    helper_run *h = arg;
    strata_registry_creds creds = {0};
    strata_error err = {0};
    char why[160];

    if (res->timed_out) {
        strata_error_set(&err, STRATA_ETIMEOUT,
                         "credential helper '%s' for '%s' timed out after "
                         "%u ms",
                         h->helper, h->server_url, h->timeout_ms);
    } else if (res->exit_status != 0 || res->term_signal != 0) {
        /* Docker's helpers say this (exit 1) when they have nothing. */
        if (res->output_len > 0 &&
            strstr(res->output, "credentials not found") != NULL)
            goto out;
        failure_text(why, sizeof(why), res->output, res->output_len);
        strata_error_set(
            &err, STRATA_EIO,
            "credential helper '%s' for '%s' failed (%s %d)%s", h->helper,
            h->server_url, res->term_signal ? "signal" : "exit",
            res->term_signal ? res->term_signal : (int) res->exit_status, why);
    } else {
        parse_answer(&creds, h, res->output, res->output_len, &err);
    }
out:
    /*
     * The output holds the secret. It is borrowed, but core frees it right
     * after this callback, so zeroing it first is safe.
     */
    if (res->output_len > 0)
        memset((char *) res->output, 0, res->output_len);
    if (err.code != 0) {
        strata_registry_creds_release(&creds);
        h->cb(NULL, &err, h->arg);
    } else {
        h->cb(&creds, NULL, h->arg);
    }
    free(h->helper);
    free(h->server_url);
    free(h);
}

int
strata_docker_helper_get(uv_loop_t *loop, const char *helper,
                         const char *server_url, uint32_t timeout_ms,
                         strata_docker_helper_cb cb, void *arg,
                         strata_error *err)
{
    strata_proc_opts o = {0};
    const char *argv[3];
    helper_run *h;
    const char *p;
    int rc;

    /* A name, not a path: the helper is looked up in PATH as Docker does. */
    if (helper == NULL || helper[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "empty credential helper name");
    for (p = helper; *p != '\0'; p++)
        if (!isalnum((unsigned char) *p) && *p != '-' && *p != '_' && *p != '.')
            return strata_error_set(err, STRATA_EINVAL,
                                    "invalid credential helper name '%s'",
                                    helper);
    h = strata_xcalloc(1, sizeof(*h));
    h->helper = strata_xasprintf("docker-credential-%s", helper);
    h->server_url = strata_xstrdup(server_url);
    h->timeout_ms = timeout_ms ? timeout_ms : DEFAULT_HELPER_TIMEOUT_MS;
    h->cb = cb;
    h->arg = arg;
    argv[0] = h->helper;
    argv[1] = "get";
    argv[2] = NULL;
    o.argv = argv;
    o.input = h->server_url;
    o.input_len = strlen(h->server_url);
    o.max_output = 64 * 1024;
    o.timeout_ms = h->timeout_ms;
    rc = strata_proc_spawn(loop, &o, on_helper_exit, h, err);
    if (rc != 0) {
        strata_error_wrap(err, "credential helper for '%s'", server_url);
        free(h->helper);
        free(h->server_url);
        free(h);
    }
    return rc;
}

/* ---- a registry host's helper, on the client's loop ---------------------- */

typedef struct strata_oci__helper_run {
    strata_registry *reg;
    strata_oci__host *h; /* NULL once cancelled */
    char *helper;
} helper_host_run;

static void
take(char **dst, char **src, int secret)
{
    if (*dst != NULL && secret)
        memset(*dst, 0, strlen(*dst));
    free(*dst);
    *dst = *src;
    *src = NULL;
}

static void
on_host_helper(strata_registry_creds *creds, const strata_error *err, void *arg)
{
    helper_host_run *x = arg;
    strata_oci__host *h = x->h;

    if (h != NULL) {
        h->helper_run = NULL;
        h->helper_at_ms = strata_now_ms();
        h->creds_stale = 0;
        if (err != NULL) {
            /* The helper's messages never hold the secret. */
            log_warn("registry '%s': credential helper '%s': %s%s", h->domain,
                     x->helper, err->msg,
                     h->username != NULL || h->identity_token != NULL
                         ? "; keeping its previous credentials"
                         : "");
        } else {
            take(&h->username, &creds->username, 0);
            take(&h->password, &creds->password, 1);
            take(&h->identity_token, &creds->identity_token, 1);
        }
        strata_oci__creds_ready(x->reg, h);
    }
    if (creds != NULL)
        strata_registry_creds_release(creds);
    free(x->helper);
    free(x);
}

int
strata_oci__host_helper_start(strata_registry *reg, strata_oci__host *h,
                              strata_error *err)
{
    helper_host_run *x;
    char *url;
    int rc;

    if (h->helper_run != NULL)
        return 0;
    x = strata_xcalloc(1, sizeof(*x));
    x->reg = reg;
    x->h = h;
    x->helper = strata_xstrdup(h->cred_helper);
    url = strata_oci__helper_server_url(h->domain);
    rc = strata_docker_helper_get(reg->loop, h->cred_helper, url, 0,
                                  on_host_helper, x, err);
    free(url);
    if (rc != 0) {
        free(x->helper);
        free(x);
        return rc;
    }
    h->helper_run = x;
    return 0;
}

void
strata_oci__host_helper_cancel(strata_oci__host *h)
{
    if (h->helper_run != NULL) {
        h->helper_run->h = NULL;
        h->helper_run = NULL;
    }
}

/* ---- synchronous use, for configuration time ---------------------------- */

typedef struct helper_sync {
    strata_registry_creds *out;
    strata_error err;
    int done;
} helper_sync;

static void
on_sync_helper(strata_registry_creds *creds, const strata_error *err, void *arg)
{
    helper_sync *s = arg;

    if (err != NULL)
        s->err = *err;
    else
        *s->out = *creds; /* takes the strings */
    s->done = 1;
}

int
strata_oci__helper_get_sync(strata_registry_creds *out, const char *helper,
                            const char *server_url, uint32_t timeout_ms,
                            strata_error *err)
{
    helper_sync s = {0};
    uv_loop_t loop;
    int rc;

    memset(out, 0, sizeof(*out));
    s.out = out;
    uv_loop_init(&loop);
    rc = strata_docker_helper_get(&loop, helper, server_url, timeout_ms,
                                  on_sync_helper, &s, err);
    if (rc == 0) {
        uv_run(&loop, UV_RUN_DEFAULT);
        if (!s.done)
            rc = strata_error_set(err, STRATA_EINTERNAL,
                                  "credential helper '%s' never finished",
                                  helper);
        else if (s.err.code != 0) {
            rc = s.err.code;
            if (err != NULL)
                *err = s.err;
        }
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        log_warn("credential helper: loop left with open handles");
    return rc;
}
