/*
 * http-sink.c - what the HTTP backends (webhook, slack, teams, discord)
 * share: the backend renders a JSON body, this file posts it through
 * core's strata_http client on the loop with the common headers
 * (X-Strata-Delivery, X-Strata-Event, an HMAC-SHA256 X-Strata-Signature
 * when the sink has a secret, the sink's own headers) and turns the
 * answer into a result: 2xx delivered; 429 retried after its Retry-After;
 * 408, 425, 5xx and transport errors retried; any other status is
 * permanent. Messages never contain the URL, which may hold a token.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "notify-int.h"

typedef struct http_state {
    char *body;
    char *url_shown; /* the redacted URL, to strip from messages */
} http_state;

char *
strata_notify__signature(const char *key, const void *data, size_t len)
{
    char *out = strata_xmalloc(7 + 64 + 1);

    memcpy(out, "sha256=", 7);
    strata_hmac_sha256_hex(out + 7, key, data, len);
    return out;
}

/* Retry-After: delta-seconds or an HTTP date (at most a day); 0 when
 * absent or bad. */
static int64_t
retry_after_ms(const strata_http_response *resp)
{
    const char *v = strata_http_response_header(resp, "retry-after");
    json_t *body;
    uint64_t wait = 0;
    int64_t ms = 0;

    if (v != NULL) {
        strata_retry_after_ms(&wait, v, strata_now_ms(), 24 * 3600 * 1000);
        return (int64_t) wait;
    }
    /* Discord also says it in the body: {"retry_after": 1.5} seconds. */
    body = json_loadb(resp->body.ptr, resp->body.len, 0, NULL);
    if (json_is_number(json_object_get(body, "retry_after")))
        ms =
            (int64_t) (json_number_value(json_object_get(body, "retry_after")) *
                       1000.0);
    json_decref(body);
    return ms > 0 ? (ms < 24 * 3600 * 1000 ? ms : 24 * 3600 * 1000) : 0;
}

/* The first line of a body, printable and short, for messages. */
static void
body_snippet(char *out, size_t outlen, const strata_buf *body)
{
    size_t i, j = 0;

    for (i = 0; i < body->len && j + 1 < outlen && j < 120; i++) {
        unsigned char c = (unsigned char) body->ptr[i];

        if (c == '\n' || c == '\r')
            break;
        out[j++] = c < 0x20 || c == 0x7f ? ' ' : (char) c;
    }
    out[j] = '\0';
}

/* Copies msg to out with every occurrence of secret replaced. */
static void
redact(char *out, size_t outlen, const char *msg, const char *secret)
{
    strata_buf b = STRATA_BUF_INIT;
    const char *p = msg, *hit;
    size_t n = secret != NULL ? strlen(secret) : 0;

    while (n > 0 && (hit = strstr(p, secret)) != NULL) {
        strata_buf_add(&b, p, (size_t) (hit - p));
        strata_buf_puts(&b, "(the sink's URL)");
        p = hit + n;
    }
    strata_buf_puts(&b, p);
    snprintf(out, outlen, "%s", b.ptr);
    strata_buf_release(&b);
}

static void
on_response(const strata_http_response *resp, const strata_error *herr,
            void *arg)
{
    strata_notify__attempt *a = arg;
    http_state *hs = a->backend_state;
    const char *name = a->sink->cfg->name;
    strata_notify__result r = {0};
    char snippet[128], msg[sizeof(herr->msg)];

    if (herr != NULL) {
        redact(msg, sizeof(msg), herr->msg, hs->url_shown);
        strata_notify__fail(&r, herr->code, 0, "sink '%s': %s", name, msg);
    } else if (resp->status >= 200 && resp->status < 300) {
        r.ok = 1;
        r.status = resp->status;
    } else {
        body_snippet(snippet, sizeof(snippet), &resp->body);
        r.status = resp->status;
        strata_notify__fail(
            &r, resp->status == 429 ? STRATA_ERATELIMIT : STRATA_EHTTP,
            !(resp->status == 408 || resp->status == 425 ||
              resp->status == 429 || resp->status >= 500),
            "sink '%s' answered HTTP %ld%s%s", name, resp->status,
            snippet[0] != '\0' ? ": " : "", snippet);
        if (resp->status == 429)
            r.retry_after_ms = retry_after_ms(resp);
    }
    free(hs->body);
    free(hs->url_shown);
    free(hs);
    a->backend_state = NULL;
    strata_notify__attempt_done(a, &r);
}

int
strata_notify__http_send(strata_notify__attempt *a, strata_error *err)
{
    const strata_config_notify *cfg = a->sink->cfg;
    strata_http_header headers[32];
    strata_http_request req = {0};
    http_state *hs;
    json_t *body;
    char *signature = NULL, *agent;
    size_t nh = 0, i;
    int rc;

    body = a->sink->backend->render(a);
    hs = strata_xcalloc(1, sizeof(*hs));
    hs->body = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    hs->url_shown = strata_http_url_redact(strata_secret_reveal(cfg->url));
    agent = strata_xasprintf("strata/%s", STRATA_VERSION);
    headers[nh++] = (strata_http_header){"Content-Type", "application/json"};
    headers[nh++] = (strata_http_header){"User-Agent", agent};
    headers[nh++] = (strata_http_header){"X-Strata-Delivery", a->delivery};
    headers[nh++] = (strata_http_header){
        "X-Strata-Event", json_array_size(a->events) == 1
                              ? json_string_value(json_object_get(
                                    json_array_get(a->events, 0), "type"))
                              : "digest"};
    if (cfg->secret != NULL) {
        signature = strata_notify__signature(strata_secret_reveal(cfg->secret),
                                             hs->body, strlen(hs->body));
        headers[nh++] = (strata_http_header){"X-Strata-Signature", signature};
    }
    for (i = 0; i < cfg->n_headers && nh < sizeof(headers) / sizeof(headers[0]);
         i++)
        headers[nh++] =
            (strata_http_header){cfg->headers[i].key, cfg->headers[i].value};
    req.method = "POST";
    req.url = strata_secret_reveal(cfg->url);
    req.url_secret = 1; /* logs name its scheme and host, no more */
    req.headers = headers;
    req.nheaders = nh;
    req.body = hs->body;
    req.body_len = strlen(hs->body);
    req.timeout_ms = a->n->opts.timeout_ms;
    req.max_body = 64 * 1024;
    req.ca_file = a->n->opts.ca_file;
    a->backend_state = hs;
    rc = a->n->http != NULL
             ? strata_http_send(a->n->http, &req, on_response, a, err)
             : strata_error_set(err, STRATA_ECANCELED,
                                "the notifier is closing");
    if (rc != 0) {
        char msg[sizeof(err->msg)];

        /* strata_http names the URL in its messages: hide it. */
        if (err != NULL) {
            redact(msg, sizeof(msg), err->msg, hs->url_shown);
            strata_error_set(err, rc, "sink '%s': %s", cfg->name, msg);
        }
        free(hs->body);
        free(hs->url_shown);
        free(hs);
        a->backend_state = NULL;
    }
    free(signature);
    free(agent);
    return rc;
}
