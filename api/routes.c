/*
 * routes.c - picks the handler for a request from the built-in routes
 * (GET /healthz, /readyz, /metrics) and the daemon's route table, and
 * serves the built-in ones.
 *
 * A route matches a path exactly or, with prefix set, as a prefix. The
 * most specific match wins: an exact path over any prefix, a longer prefix
 * over a shorter one. When the winning path has no route for the method,
 * the answer is 405 with an Allow header listing the methods it has; when
 * nothing matches, 404. Both have JSON bodies, like every error.
 */
#include <string.h>

#include "api-int.h"

static void serve_healthz(strata_api_req *req, void *arg);
static void serve_readyz(strata_api_req *req, void *arg);
static void serve_metrics(strata_api_req *req, void *arg);

/* Their arg is replaced by the server when they run. */
static const strata_api_route builtin[] = {
    {STRATA_API_GET, "/healthz", 0, serve_healthz, NULL, 0},
    {STRATA_API_GET, "/readyz", 0, serve_readyz, NULL, 0},
    {STRATA_API_GET, "/metrics", 0, serve_metrics, NULL, 0},
    {0, NULL, 0, NULL, NULL, 0},
};

static void
serve_healthz(strata_api_req *req, void *arg)
{
    strata_api_respond(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

static void
serve_readyz(strata_api_req *req, void *arg)
{
    const strata_api_options *o = strata_api__opts(arg);

    if (o->ready == NULL || o->ready(o->ready_arg))
        strata_api_respond(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
    else
        strata_api_respond(req, 503, "text/plain; charset=utf-8", "not ready\n",
                           10);
}

static void
serve_metrics(strata_api_req *req, void *arg)
{
    const strata_api_options *o = strata_api__opts(arg);
    strata_buf b = STRATA_BUF_INIT, text = STRATA_BUF_INIT;

    /* The callback first: it may bring the registry up to date. */
    if (o->metrics != NULL)
        o->metrics(&text, o->metrics_arg);
    if (o->registry != NULL)
        strata_metrics_render(o->registry, &b);
    strata_buf_add(&b, strata_buf_cstr(&text), text.len);
    strata_api_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                       strata_buf_cstr(&b), b.len);
    strata_buf_release(&text);
    strata_buf_release(&b);
}

static unsigned
method_bit(const char *m)
{
    static const struct {
        const char *name;
        unsigned bit;
    } map[] = {
        {"GET", STRATA_API_GET},         {"HEAD", STRATA_API_GET},
        {"POST", STRATA_API_POST},       {"PUT", STRATA_API_PUT},
        {"DELETE", STRATA_API_DELETE},   {"PATCH", STRATA_API_PATCH},
        {"OPTIONS", STRATA_API_OPTIONS},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(m, map[i].name) == 0)
            return map[i].bit;
    return 0;
}

/* How well r matches path: 0 no match; exact beats any prefix. */
static size_t
score(const strata_api_route *r, const char *path)
{
    size_t n = strlen(r->path);

    if (!r->prefix)
        return strcmp(r->path, path) == 0 ? SIZE_MAX : 0;
    return strncmp(r->path, path, n) == 0 ? n + 1 : 0;
}

static void
allow_header(strata_buf *b, unsigned methods)
{
    static const struct {
        unsigned bit;
        const char *names;
    } map[] = {
        {STRATA_API_GET, "GET, HEAD"}, {STRATA_API_POST, "POST"},
        {STRATA_API_PUT, "PUT"},       {STRATA_API_DELETE, "DELETE"},
        {STRATA_API_PATCH, "PATCH"},   {STRATA_API_OPTIONS, "OPTIONS"},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if ((methods & map[i].bit) == 0)
            continue;
        if (b->len > 0)
            strata_buf_puts(b, ", ");
        strata_buf_puts(b, map[i].names);
    }
}

void
strata_api__route(strata_api *api, strata_api_req *req, int authorized)
{
    const strata_api_route *tables[2] = {builtin,
                                         strata_api__opts(api)->routes};
    const strata_api_route *hit = NULL;
    const char *path = strata_api_req_path(req);
    unsigned bit = method_bit(strata_api_req_method(req)), allowed = 0;
    size_t best = 0, t, i;
    int hit_builtin = 0;

    for (t = 0; t < 2; t++)
        for (i = 0; tables[t] != NULL && tables[t][i].handler != NULL; i++) {
            size_t s = score(&tables[t][i], path);
            if (s > best)
                best = s;
        }
    for (t = 0; t < 2 && best > 0; t++)
        for (i = 0; tables[t] != NULL && tables[t][i].handler != NULL; i++) {
            const strata_api_route *r = &tables[t][i];
            if (score(r, path) != best)
                continue;
            allowed |= r->methods;
            if (hit == NULL && (r->methods & bit) != 0) {
                hit = r;
                hit_builtin = t == 0;
            }
        }

    /* Without the token, nothing is said of which paths exist, except to
     * a route that checks its own secret. */
    if (!authorized && (hit == NULL || !hit->own_auth)) {
        strata_api_req_add_header(req, "www-authenticate", "Bearer");
        strata_api_respond_error(req, 401, "missing or wrong bearer token");
    } else if (hit != NULL) {
        if (hit->prefix)
            strata_api__req_set_rest(req, strlen(hit->path));
        hit->handler(req, hit_builtin ? (void *) api : hit->arg);
    } else if (best == 0) {
        strata_api_respond_error(req, 404, "no such path '%s'", path);
    } else {
        strata_buf allow = STRATA_BUF_INIT;
        allow_header(&allow, allowed);
        strata_api_req_add_header(req, "allow", strata_buf_cstr(&allow));
        strata_api_respond_error(req, 405, "method '%s' not allowed on '%s'",
                                 strata_api_req_method(req), path);
        strata_buf_release(&allow);
    }
}
