/*
 * request.c - the request object handlers see (strata_api_req): its
 * accessors, the query-string helpers, and the ways to answer it, now or
 * later.
 *
 * A strata_api_req wraps one h2o request. It is created by the server for
 * each request and freed by the server when the handler has answered
 * before returning. A deferred request lives on until the handler calls a
 * respond function, which frees it; meanwhile it sits on the server's
 * pending list (so a closing server can answer it with 503) and holds an
 * anchor allocated in h2o's request pool, whose dispose callback tells us
 * when h2o has dropped the request (the client went away), so we never
 * touch a freed h2o_req_t.
 */
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <string.h>

#include <h2o.h>
#include <jansson.h>
#include <uv.h>

#include "api-int.h"

#define MAX_CURSOR 256

typedef struct anchor {
    strata_api_req *req; /* NULL once req no longer cares */
} anchor;

struct strata_api_req {
    strata_api *api; /* NULL once the server has closed */
    h2o_req_t *hreq; /* NULL once nothing more can be sent */
    anchor *anchor;
    char *method;
    char *path;
    const char *rest; /* in path */
    char *query;      /* raw, after '?', or NULL */
    uint64_t start_ns;
    int dispatching; /* inside on_req: the server frees req */
    int deferred;
    int responded;
    strata_api_req *prev, *next; /* the server's pending list */
};

strata_api_req *
strata_api__req_new(strata_api *api, h2o_req_t *hreq)
{
    strata_api_req *req = strata_xcalloc(1, sizeof(*req));

    req->api = api;
    req->hreq = hreq;
    req->start_ns = uv_hrtime();
    req->dispatching = 1;
    req->method = strata_xstrndup(hreq->method.base, hreq->method.len);
    req->path =
        strata_xstrndup(hreq->path_normalized.base, hreq->path_normalized.len);
    req->rest = req->path + strlen(req->path);
    if (hreq->query_at != SIZE_MAX)
        req->query = strata_xstrndup(hreq->path.base + hreq->query_at + 1,
                                     hreq->path.len - hreq->query_at - 1);
    return req;
}

const char *
strata_api_req_query_string(const strata_api_req *req)
{
    return req->query;
}

void
strata_api__req_set_rest(strata_api_req *req, size_t prefix_len)
{
    assert(prefix_len <= strlen(req->path));
    req->rest = req->path + prefix_len;
}

static void
unlink_pending(strata_api_req *req)
{
    strata_api_req **head;

    if (req->api == NULL)
        return;
    head = strata_api__pending(req->api);
    if (req->prev != NULL)
        req->prev->next = req->next;
    else if (*head == req)
        *head = req->next;
    if (req->next != NULL)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
}

static void
release(strata_api_req *req)
{
    if (req->anchor != NULL)
        req->anchor->req = NULL;
    free(req->method);
    free(req->path);
    free(req->query);
    free(req);
}

/* h2o is freeing the request's pool: the request is gone. */
static void
on_pool_dispose(void *p)
{
    anchor *a = p;
    strata_api_req *req = a->req;

    if (req == NULL)
        return;
    unlink_pending(req);
    req->api = NULL;
    req->hreq = NULL;
    req->anchor = NULL;
}

void
strata_api__req_done(strata_api_req *req)
{
    strata_api_req **head;

    if (!req->responded && !req->deferred) {
        log_error("api: handler for %s %s did not respond", req->method,
                  req->path);
        strata_api_respond_error(req, 500, "internal error");
    }
    req->dispatching = 0;
    if (req->responded) {
        release(req);
        return;
    }
    /* Deferred and not answered yet. */
    req->anchor =
        h2o_mem_alloc_shared(&req->hreq->pool, sizeof(anchor), on_pool_dispose);
    req->anchor->req = req;
    head = strata_api__pending(req->api);
    req->next = *head;
    if (*head != NULL)
        (*head)->prev = req;
    *head = req;
}

void
strata_api__req_cancel_all(strata_api *api)
{
    strata_api_req **head = strata_api__pending(api);

    while (*head != NULL) {
        strata_api_req *req = *head;
        h2o_req_t *hreq = req->hreq;
        static const char body[] = "{\"error\":\"server is shutting down\"}";

        unlink_pending(req);
        req->api = NULL;
        req->hreq = NULL;
        if (req->anchor != NULL) {
            req->anchor->req = NULL;
            req->anchor = NULL;
        }
        hreq->res.status = 503;
        hreq->res.reason = "Service Unavailable";
        hreq->res.content_length = sizeof(body) - 1;
        h2o_add_header(&hreq->pool, &hreq->res.headers, H2O_TOKEN_CONTENT_TYPE,
                       NULL, H2O_STRLIT("application/json"));
        h2o_send_inline(hreq, body, sizeof(body) - 1);
    }
}

const char *
strata_api_req_method(const strata_api_req *req)
{
    return req->method;
}

const char *
strata_api_req_path(const strata_api_req *req)
{
    return req->path;
}

const char *
strata_api_req_path_rest(const strata_api_req *req)
{
    return req->rest;
}

const void *
strata_api_req_body(const strata_api_req *req, size_t *len)
{
    if (req->hreq == NULL || req->hreq->entity.base == NULL) {
        *len = 0;
        return "";
    }
    *len = req->hreq->entity.len;
    return req->hreq->entity.base;
}

char *
strata_api_req_header(const strata_api_req *req, const char *name)
{
    char lc[128];
    size_t i, n = strlen(name);
    ssize_t at;
    const h2o_iovec_t *v;

    if (req->hreq == NULL || n >= sizeof(lc))
        return NULL;
    for (i = 0; i < n; i++)
        lc[i] = (char) tolower((unsigned char) name[i]);
    lc[n] = '\0';
    at = h2o_find_header_by_str(&req->hreq->headers, lc, n, -1);
    if (at < 0)
        return NULL;
    v = &req->hreq->headers.entries[at].value;
    return strata_xstrndup(v->base, v->len);
}

/* Percent-decodes s[0..n) ('+' as a space); NULL when malformed or when
 * it decodes a NUL, which no key or value may hold. */
static char *
decode(const char *s, size_t n)
{
    size_t len;
    char *out = strata_url_decode(&len, s, n, 1);

    if (out != NULL && len != strlen(out)) {
        free(out);
        return NULL;
    }
    return out;
}

int
strata_api_req_query(char **out, const strata_api_req *req, const char *key,
                     strata_error *err)
{
    const char *p = req->query;

    *out = NULL;
    while (p != NULL && *p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t) (amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t) (eq - p) : len;
        char *k = decode(p, klen), *v = NULL;

        if (k == NULL ||
            (eq != NULL && (v = decode(eq + 1, len - klen - 1)) == NULL)) {
            free(k);
            return strata_error_set(err, STRATA_EINVAL,
                                    "bad escape in query string");
        }
        if (strcmp(k, key) == 0) {
            free(k);
            *out = v != NULL ? v : strata_xstrdup("");
            return 0;
        }
        free(k);
        free(v);
        p = amp ? amp + 1 : NULL;
    }
    return 0;
}

int
strata_api_req_page(strata_api_page *out, const strata_api_req *req,
                    long def_limit, long max_limit, strata_error *err)
{
    char *limit = NULL, *after = NULL;
    const char *p;
    long n = 0;
    int r;

    out->limit = def_limit;
    out->after = NULL;
    if ((r = strata_api_req_query(&limit, req, "limit", err)) != 0 ||
        (r = strata_api_req_query(&after, req, "after", err)) != 0)
        goto out;
    if (limit != NULL) {
        for (p = limit; *p != '\0' && n <= max_limit; p++) {
            if (*p < '0' || *p > '9')
                break;
            n = n * 10 + (*p - '0');
        }
        if (limit[0] == '\0' || *p != '\0' || n < 1 || n > max_limit) {
            r = strata_error_set(err, STRATA_EINVAL,
                                 "bad 'limit': want an integer from 1 to %ld",
                                 max_limit);
            goto out;
        }
        out->limit = n;
    }
    if (after != NULL) {
        size_t len = strlen(after);
        for (p = after; *p != '\0'; p++)
            if ((unsigned char) *p < 0x20 || *p == 0x7f)
                break;
        if (len == 0 || len > MAX_CURSOR || *p != '\0') {
            r = strata_error_set(err, STRATA_EINVAL,
                                 "bad 'after': want a cursor of 1 to %d "
                                 "printable bytes",
                                 MAX_CURSOR);
            goto out;
        }
        out->after = after;
        after = NULL;
    }

out:
    free(limit);
    free(after);
    return r;
}

void
strata_api_req_defer(strata_api_req *req)
{
    assert(req->dispatching && !req->responded);
    req->deferred = 1;
}

void
strata_api_req_add_header(strata_api_req *req, const char *name,
                          const char *value)
{
    h2o_req_t *h = req->hreq;
    h2o_iovec_t n, v;
    size_t i;

    assert(!req->responded);
    if (h == NULL)
        return;
    /* h2o keeps pointers, and wants names in lower case. */
    n = h2o_strdup(&h->pool, name, SIZE_MAX);
    for (i = 0; i < n.len; i++)
        n.base[i] = (char) tolower((unsigned char) n.base[i]);
    v = h2o_strdup(&h->pool, value, SIZE_MAX);
    h2o_add_header_by_str(&h->pool, &h->res.headers, n.base, n.len, 1, NULL,
                          v.base, v.len);
}

static const char *
reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

void
strata_api_respond(strata_api_req *req, int status, const char *content_type,
                   const void *body, size_t len)
{
    h2o_req_t *h = req->hreq;

    assert(!req->responded);
    assert(status >= 200 && status <= 599);
    req->responded = 1;
    if (h != NULL) {
        unlink_pending(req);
        req->hreq = NULL;
        h->res.status = status;
        h->res.reason = reason(status);
        h->res.content_length = len;
        if (content_type != NULL) {
            h2o_iovec_t ct = h2o_strdup(&h->pool, content_type, SIZE_MAX);
            h2o_add_header(&h->pool, &h->res.headers, H2O_TOKEN_CONTENT_TYPE,
                           NULL, ct.base, ct.len);
        }
        h2o_send_inline(h, body, len);
        strata_api__finished(req->api, req->method, req->path, status,
                             (double) (uv_hrtime() - req->start_ns) / 1e9);
    }
    if (!req->dispatching)
        release(req);
}

h2o_req_t *
strata_api__req_take(strata_api **api_out, strata_api_req *req)
{
    h2o_req_t *h = req->hreq;

    assert(!req->responded);
    req->responded = 1;
    *api_out = req->api;
    if (h != NULL) {
        unlink_pending(req);
        req->hreq = NULL;
        strata_api__finished(req->api, req->method, req->path, 200,
                             (double) (uv_hrtime() - req->start_ns) / 1e9);
    }
    if (!req->dispatching)
        release(req);
    return h;
}

void
strata_api_respond_json(strata_api_req *req, int status, const json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);

    if (s == NULL) {
        strata_api_respond_error(req, 500, "cannot encode the response");
        return;
    }
    strata_api_respond(req, status, "application/json", s, strlen(s));
    free(s);
}

void
strata_api_respond_error(strata_api_req *req, int status, const char *fmt, ...)
{
    json_t *obj;
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = strata_xvasprintf(fmt, ap);
    va_end(ap);
    /* json_pack fails on bytes that are not UTF-8. */
    obj = json_pack("{s:s}", "error", msg);
    if (obj == NULL)
        obj = json_pack("{s:s}", "error", "unprintable error");
    strata_api_respond_json(req, status, obj);
    json_decref(obj);
    free(msg);
}
