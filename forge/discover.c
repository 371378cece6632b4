/*
 * discover.c - the repositories a forge lists: a GitHub organisation,
 * user or App installation, a GitLab group, a Gitea organisation. One
 * call walks the pages on a private loop (one HTTP client, so the
 * connection is kept), each page asked with If-None-Match when the cache
 * has its ETag; a 304 reuses the page kept. When the first page is 304
 * and the whole listing kept is young enough, it is used whole: an
 * unchanged organisation costs one request. Every answer's rate-limit
 * headers are read; a 403/429 with Retry-After, or with
 * x-ratelimit-remaining 0, waits (within max_retry_wait_ms) and asks
 * again; 5xx and transport errors back off. Each page is turned into one
 * shape (normalize_*), then the filters say, per repository, why it is
 * left out.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "forge-int.h"

/* A forge that never ends its pages is stopped here. */
#define MAX_PAGES 1000
/* A secondary rate limit without Retry-After: GitHub says wait a minute. */
#define SECONDARY_WAIT_MS 60000

typedef struct lister {
    const strata_forge_discover_spec *spec;
    const strata_forge_discover_cache *cache;
    strata_forge_discovery *out;
    uv_loop_t loop;
    strata_http *http;
    char *api;  /* no trailing slash */
    char *auth; /* the auth header value; never logged */
    /* Cache keys start with it: who lists (an App installation, or a
     * digest of the token), so that two entries that ask the same URL
     * with other credentials (and so see other repositories) never share
     * an ETag or a listing. */
    char *scope;
    /* the answer of the request under way */
    strata_http_response *resp;
    strata_error terr;
    int done;
} lister;

static void
on_response(const strata_http_response *resp, const strata_error *err,
            void *arg)
{
    lister *l = arg;

    l->done = 1;
    if (err != NULL)
        l->terr = *err;
    else
        l->resp = strata_http_response_dup(resp);
}

/* One request on the private loop; *out is the caller's. */
static int
send_once(strata_http_response **out, lister *l, const char *url,
          const char *etag, strata_error *err)
{
    const strata_forge_backend *be = l->spec->be;
    const strata_forge_opts *o = &l->spec->opts;
    strata_http_header h[8];
    strata_http_request req = {0};
    size_t n = 0, i;
    int rc;

    for (i = 0; i < be->nextra && n < 5; i++)
        h[n++] = be->extra[i];
    if (l->auth != NULL)
        h[n++] = (strata_http_header){be->auth_header, l->auth};
    if (etag != NULL)
        h[n++] = (strata_http_header){"If-None-Match", etag};
    req.url = url;
    req.headers = h;
    req.nheaders = n;
    req.timeout_ms = o->timeout_ms ? o->timeout_ms : 30000;
    req.max_body = 32 << 20;
    req.insecure = o->insecure;
    req.ca_file = o->ca_file;
    l->done = 0;
    l->resp = NULL;
    memset(&l->terr, 0, sizeof(l->terr));
    if ((rc = strata_http_send(l->http, &req, on_response, l, err)) != 0)
        return rc;
    while (!l->done)
        uv_run(&l->loop, UV_RUN_ONCE);
    l->out->requests++;
    if (l->terr.code != 0) {
        if (err != NULL)
            *err = l->terr;
        return l->terr.code;
    }
    *out = l->resp;
    l->resp = NULL;
    return 0;
}

static void
read_rate(lister *l, const strata_http_response *r)
{
    const char *v;

    if ((v = strata_http_response_header(r, "x-ratelimit-remaining")) != NULL)
        l->out->rate_remaining = strtol(v, NULL, 10);
    if ((v = strata_http_response_header(r, "x-ratelimit-limit")) != NULL)
        l->out->rate_limit = strtol(v, NULL, 10);
    if ((v = strata_http_response_header(r, "x-ratelimit-reset")) != NULL)
        l->out->rate_reset = strtoll(v, NULL, 10);
}

/*
 * How long to wait before asking again after r (ms), 0 when r is the
 * answer to keep, or -1 when waiting would not help (the caller fails).
 */
static int64_t
wait_for(lister *l, const strata_http_response *r, unsigned attempt)
{
    const strata_forge_opts *o = &l->spec->opts;
    uint64_t base = o->retry_base_ms ? o->retry_base_ms : 500;
    uint64_t cap = o->max_retry_wait_ms ? o->max_retry_wait_ms : 60000;
    const char *ra = strata_http_response_header(r, "retry-after");
    const char *rem = strata_http_response_header(r, "x-ratelimit-remaining");
    uint64_t ms = 0;

    if (r->status >= 500)
        return (int64_t) strata_backoff_ms(base, attempt, cap);
    if (r->status != 403 && r->status != 429)
        return 0;
    /* Retry-After first (secondary limits), then the primary limit's
     * reset time; a wait past the cap fails now. */
    if (ra != NULL &&
        strata_retry_after_ms(&ms, ra, strata_now_ms(), UINT64_MAX) == 0)
        return ms <= cap ? (int64_t) ms : -1;
    if (rem != NULL && strcmp(rem, "0") == 0) {
        const char *reset = strata_http_response_header(r, "x-ratelimit-reset");
        int64_t at = reset ? strtoll(reset, NULL, 10) * 1000 : 0;
        int64_t d = at - strata_now_ms();

        if (d < 0)
            d = 0;
        return (uint64_t) d <= cap ? d : -1;
    }
    if (r->status == 429)
        return (int64_t) strata_backoff_ms(base, attempt, cap);
    if (r->body.len > 0 && strstr(r->body.ptr, "secondary rate limit"))
        return SECONDARY_WAIT_MS <= cap ? SECONDARY_WAIT_MS : -1;
    return 0; /* a plain 403: the token may not list this */
}

/* A request with waits and retries; *out (any status) is the caller's. */
static int
call(strata_http_response **out, lister *l, const char *url, const char *etag,
     const char *what, strata_error *err)
{
    int max = l->spec->opts.max_retries == 0 ? 4 : l->spec->opts.max_retries;
    unsigned attempt;
    int rc;

    if (max < 0)
        max = 0;
    for (attempt = 0;; attempt++) {
        strata_http_response *r = NULL;
        strata_error e = {0};
        int64_t w;

        rc = send_once(&r, l, url, etag, &e);
        if (rc == STRATA_ENET || rc == STRATA_ETIMEOUT) {
            if ((int) attempt >= max) {
                if (err != NULL)
                    *err = e;
                return rc;
            }
            l->out->waits++;
            uv_sleep((unsigned) strata_backoff_ms(
                l->spec->opts.retry_base_ms ? l->spec->opts.retry_base_ms : 500,
                attempt, 60000));
            continue;
        }
        if (rc != 0) {
            if (err != NULL)
                *err = e;
            return rc;
        }
        read_rate(l, r);
        w = wait_for(l, r, attempt);
        if (w == 0 || (int) attempt >= max) {
            if (w != 0 && (r->status == 403 || r->status == 429)) {
                strata_http_response_free(r);
                return strata_error_set(err, STRATA_ERATELIMIT,
                                        "%s: rate limited by the forge after "
                                        "%u attempts",
                                        what, attempt + 1);
            }
            *out = r;
            return 0;
        }
        if (w < 0) {
            long st = r->status;

            strata_http_response_free(r);
            return strata_error_set(err, STRATA_ERATELIMIT,
                                    "%s: rate limited by the forge (HTTP %ld) "
                                    "for longer than strata waits",
                                    what, st);
        }
        strata_http_response_free(r);
        l->out->waits++;
        uv_sleep((unsigned) w);
    }
}

/* ---- one shape for the three forges ---------------------------------- */

static json_t *
strings_of(const json_t *arr)
{
    json_t *out = json_array(), *v;
    size_t i;

    json_array_foreach (arr, i, v)
        if (json_is_string(v))
            json_array_append(out, v);
    return out;
}

/* {"full_name", "clone_url", "default_branch", "visibility", "archived",
 *  "fork", "empty", "topics"} of one repository object; NULL when it is
 *  not one. New. */
static json_t *
normalize(const strata_forge_backend *be, const json_t *o)
{
    const char *name, *url, *branch, *vis;
    json_t *topics;
    int fork, empty;

    if (!json_is_object(o))
        return NULL;
    if (strcmp(be->name, "gitlab") == 0) {
        name = json_string_value(json_object_get(o, "path_with_namespace"));
        url = json_string_value(json_object_get(o, "http_url_to_repo"));
        vis = json_string_value(json_object_get(o, "visibility"));
        fork = json_object_get(o, "forked_from_project") != NULL &&
               !json_is_null(json_object_get(o, "forked_from_project"));
        empty = json_is_true(json_object_get(o, "empty_repo"));
        topics = json_object_get(o, "topics");
        if (topics == NULL)
            topics = json_object_get(o, "tag_list");
    } else {
        name = json_string_value(json_object_get(o, "full_name"));
        url = json_string_value(json_object_get(o, "clone_url"));
        vis = json_string_value(json_object_get(o, "visibility"));
        if (vis == NULL)
            vis = json_is_true(json_object_get(o, "internal"))  ? "internal"
                  : json_is_true(json_object_get(o, "private")) ? "private"
                                                                : "public";
        fork = json_is_true(json_object_get(o, "fork"));
        if (strcmp(be->name, "gitea") == 0)
            empty = json_is_true(json_object_get(o, "empty"));
        else /* GitHub lists no "empty": an empty repository has size 0 */
            empty = json_integer_value(json_object_get(o, "size")) == 0 &&
                    json_is_integer(json_object_get(o, "size"));
        topics = json_object_get(o, "topics");
    }
    branch = json_string_value(json_object_get(o, "default_branch"));
    if (name == NULL || url == NULL || strchr(name, '/') == NULL)
        return NULL;
    return json_pack("{s:s, s:s, s:s?, s:s, s:b, s:b, s:b, s:o}", "full_name",
                     name, "clone_url", url, "default_branch", branch,
                     "visibility", vis ? vis : "public", "archived",
                     json_is_true(json_object_get(o, "archived")), "fork", fork,
                     "empty", empty, "topics", strings_of(topics));
}

/* The next page's URL from a Link header (GitHub, Gitea), or NULL. New. */
static char *
link_next(const char *link)
{
    const char *p = link;

    while (p != NULL && (p = strchr(p, '<')) != NULL) {
        const char *end = strchr(p, '>');
        const char *semi, *comma;

        if (end == NULL)
            return NULL;
        comma = strchr(end, ',');
        semi = strstr(end, "rel=\"next\"");
        if (semi != NULL && (comma == NULL || semi < comma))
            return strata_xstrndup(p + 1, (size_t) (end - p - 1));
        p = comma;
    }
    return NULL;
}

static char *
first_url(const lister *l)
{
    const strata_forge_discover_spec *s = l->spec;
    char *q = s->name != NULL ? strata_url_escape(s->name) : NULL;
    char *url;

    switch (s->kind) {
    case STRATA_DISCOVER_USER:
        url = strata_xasprintf("%s/users/%s/repos?type=owner&sort=updated&"
                               "direction=desc&per_page=100",
                               l->api, q);
        break;
    case STRATA_DISCOVER_INSTALLATION:
        url = strata_xasprintf("%s/installation/repositories?per_page=100",
                               l->api);
        break;
    case STRATA_DISCOVER_GROUP:
        url = strata_xasprintf("%s/groups/%s/projects?include_subgroups=%s&"
                               "order_by=last_activity_at&sort=desc&"
                               "per_page=100&page=1",
                               l->api, q,
                               s->include_subgroups ? "true" : "false");
        break;
    case STRATA_DISCOVER_ORG:
    default:
        if (strcmp(s->be->name, "gitea") == 0)
            url =
                strata_xasprintf("%s/orgs/%s/repos?limit=50&page=1", l->api, q);
        else
            url = strata_xasprintf("%s/orgs/%s/repos?type=all&sort=updated&"
                                   "direction=desc&per_page=100",
                                   l->api, q);
        break;
    }
    free(q);
    return url;
}

/* GitLab: the URL of page n, from the first page's URL. New. */
static char *
gitlab_page(const char *first, const char *n)
{
    const char *p = strstr(first, "&page=");
    size_t head = p != NULL ? (size_t) (p - first) : strlen(first);

    return strata_xasprintf("%.*s&page=%s", (int) head, first, n);
}

/*
 * The page body into {"next": url|null, "repos": [...]} (new), or NULL
 * when the reply is not a listing.
 */
static json_t *
read_page(lister *l, const strata_http_response *r, const char *first)
{
    const strata_forge_backend *be = l->spec->be;
    json_t *reply = json_loadb(r->body.ptr, r->body.len, 0, NULL);
    json_t *list = reply, *repos, *page, *v;
    char *next = NULL;
    size_t i;

    if (l->spec->kind == STRATA_DISCOVER_INSTALLATION)
        list = json_object_get(reply, "repositories");
    if (!json_is_array(list)) {
        json_decref(reply);
        return NULL;
    }
    repos = json_array();
    json_array_foreach (list, i, v) {
        json_t *n = normalize(be, v);

        if (n == NULL) {
            json_decref(repos);
            json_decref(reply);
            return NULL;
        }
        json_array_append_new(repos, n);
    }
    if (strcmp(be->name, "gitlab") == 0) {
        const char *np = strata_http_response_header(r, "x-next-page");

        if (np != NULL && *np != '\0' && strspn(np, "0123456789") == strlen(np))
            next = gitlab_page(first, np);
    } else {
        const char *link = strata_http_response_header(r, "link");

        next = link != NULL ? link_next(link) : NULL;
    }
    /* The token goes to the API only: a next page elsewhere is refused. */
    if (next != NULL && (strncmp(next, l->api, strlen(l->api)) != 0 ||
                         next[strlen(l->api)] != '/')) {
        free(next);
        json_decref(repos);
        json_decref(reply);
        return NULL;
    }
    page = json_pack("{s:s?, s:o}", "next", next, "repos", repos);
    free(next);
    json_decref(reply);
    return page;
}

static json_t *
cache_get(lister *l, const char *url, char **etag)
{
    char *body = NULL, *key;
    json_t *v;
    int rc;

    *etag = NULL;
    if (l->cache == NULL || l->cache->get == NULL)
        return NULL;
    key = strata_xasprintf("%s %s", l->scope, url);
    rc = l->cache->get(etag, &body, key, l->cache->arg);
    free(key);
    if (rc != 0)
        return NULL;
    v = json_loads(body, 0, NULL);
    free(body);
    if (v == NULL) {
        free(*etag);
        *etag = NULL;
    }
    return v;
}

static void
cache_put(lister *l, const char *url, const char *etag, const json_t *v)
{
    char *body, *key;

    if (l->cache == NULL || l->cache->put == NULL || etag == NULL)
        return;
    key = strata_xasprintf("%s %s", l->scope, url);
    body = json_dumps(v, JSON_COMPACT);
    l->cache->put(key, etag, body, l->cache->arg);
    free(body);
    free(key);
}

static const char *
endpoint(const strata_forge_discover_spec *s)
{
    switch (s->kind) {
    case STRATA_DISCOVER_USER:
        return "list user repositories";
    case STRATA_DISCOVER_INSTALLATION:
        return "list installation repositories";
    case STRATA_DISCOVER_GROUP:
        return "list group projects";
    default:
        return "list organization repositories";
    }
}

static int
http_error(const strata_forge_discover_spec *s, const strata_http_response *r,
           strata_error *err)
{
    json_t *reply = json_loadb(r->body.ptr, r->body.len, 0, NULL);
    char msg[200] = "";
    const char *who = s->name != NULL ? s->name : "the installation";
    int code = r->status == 401 || r->status == 403 ? STRATA_EAUTH
               : r->status == 404                   ? STRATA_ENOTFOUND
                                                    : STRATA_EHTTP;

    s->be->message(msg, sizeof(msg), reply);
    json_decref(reply);
    if (r->status == 404)
        return strata_error_set(err, code,
                                "%s: '%s' not found or the token lacks "
                                "access",
                                endpoint(s), who);
    return strata_error_set(err, code, "%s '%s': HTTP %ld%s%s", endpoint(s),
                            who, r->status, msg[0] ? ": " : "", msg);
}

/* Every page into *repos (new): the normalized repositories. */
static int
list_all(json_t **repos, lister *l, strata_error *err)
{
    char *first = first_url(l), *url = strata_xstrdup(first);
    char *whole_key = strata_xasprintf("listing %s", first);
    char *whole_etag = NULL, *first_etag = NULL;
    json_t *whole = cache_get(l, whole_key, &whole_etag);
    json_t *all = json_array();
    int64_t max_age = l->spec->max_age_s > 0 ? l->spec->max_age_s : 3600;
    int page, rc = 0;

    for (page = 1; url != NULL; page++) {
        char *etag = NULL, *next = NULL;
        json_t *kept = cache_get(l, url, &etag), *got = NULL;
        strata_http_response *r = NULL;
        const char *new_etag;

        if (page > MAX_PAGES) {
            rc = strata_error_set(err, STRATA_EPROTO, "%s: more than %d pages",
                                  endpoint(l->spec), MAX_PAGES);
            goto page_out;
        }
        if ((rc = call(&r, l, url, kept ? etag : NULL, endpoint(l->spec),
                       err)) != 0)
            goto page_out;
        if (r->status == 304 && kept != NULL) {
            l->out->not_modified++;
            if (page == 1 && l->spec->max_age_s >= 0 && whole != NULL &&
                whole_etag != NULL && strcmp(whole_etag, etag) == 0 &&
                json_integer_value(json_object_get(whole, "at")) + max_age >
                    strata_now_ms() / 1000) {
                json_decref(all);
                all = json_incref(json_object_get(whole, "repos"));
                l->out->reused = 1;
                free(url);
                url = NULL;
                goto page_out;
            }
            got = json_incref(kept);
            new_etag = etag;
        } else if (r->status == 200) {
            got = read_page(l, r, first);
            if (got == NULL) {
                rc = strata_error_set(err, STRATA_EPROTO,
                                      "%s: malformed reply (page %d)",
                                      endpoint(l->spec), page);
                goto page_out;
            }
            new_etag = strata_http_response_header(r, "etag");
            cache_put(l, url, new_etag, got);
        } else {
            rc = http_error(l->spec, r, err);
            goto page_out;
        }
        if (page == 1 && new_etag != NULL)
            first_etag = strata_xstrdup(new_etag);
        json_array_extend(all, json_object_get(got, "repos"));
        if (json_string_value(json_object_get(got, "next")) != NULL)
            next =
                strata_xstrdup(json_string_value(json_object_get(got, "next")));
        free(url);
        url = next;
        next = NULL;
    page_out:
        json_decref(got);
        json_decref(kept);
        free(etag);
        strata_http_response_free(r);
        if (rc != 0)
            break;
    }
    if (rc == 0 && !l->out->reused && first_etag != NULL) {
        json_t *w =
            json_pack("{s:I, s:O}", "at", (json_int_t) (strata_now_ms() / 1000),
                      "repos", all);

        cache_put(l, whole_key, first_etag, w);
        json_decref(w);
    }
    if (rc == 0)
        *repos = all;
    else
        json_decref(all);
    json_decref(whole);
    free(whole_etag);
    free(first_etag);
    free(whole_key);
    free(url);
    free(first);
    return rc;
}

/* ---- filters ------------------------------------------------------------ */

static int
vis_bit(const char *v)
{
    if (strcmp(v, "private") == 0)
        return STRATA_FORGE_VIS_PRIVATE;
    if (strcmp(v, "internal") == 0)
        return STRATA_FORGE_VIS_INTERNAL;
    return STRATA_FORGE_VIS_PUBLIC;
}

/* Why spec leaves r out (new), or NULL when it takes it. */
static char *
reason(const strata_forge_discover_spec *s, const json_t *r)
{
    const char *name = json_string_value(json_object_get(r, "full_name"));
    const char *vis = json_string_value(json_object_get(r, "visibility"));
    const json_t *topics = json_object_get(r, "topics"), *t;
    size_t i, j;

    if (s->ninclude > 0) {
        for (i = 0; i < s->ninclude; i++)
            if (fnmatch(s->include[i], name, FNM_CASEFOLD) == 0)
                break;
        if (i == s->ninclude)
            return strata_xstrdup("matches no include glob");
    }
    for (i = 0; i < s->nexclude; i++)
        if (fnmatch(s->exclude[i], name, FNM_CASEFOLD) == 0)
            return strata_xasprintf("excluded by '%s'", s->exclude[i]);
    if (!s->archived && json_is_true(json_object_get(r, "archived")))
        return strata_xstrdup("archived");
    if (!s->forks && json_is_true(json_object_get(r, "fork")))
        return strata_xstrdup("a fork");
    if (!s->empty && json_is_true(json_object_get(r, "empty")))
        return strata_xstrdup("empty");
    if (s->visibility != 0 && !(s->visibility & (unsigned) vis_bit(vis)))
        return strata_xasprintf("visibility '%s' not taken", vis);
    if (s->ntopics > 0) {
        json_array_foreach (topics, j, t)
            for (i = 0; i < s->ntopics; i++)
                if (strcasecmp(json_string_value(t), s->topics[i]) == 0)
                    return NULL;
        return strata_xstrdup("has none of the topics");
    }
    return NULL;
}

static char *
dup_member(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    return v != NULL ? strata_xstrdup(v) : NULL;
}

int
strata_forge_discover(strata_forge_discovery **out,
                      const strata_forge_discover_spec *spec,
                      const strata_forge_discover_cache *cache,
                      strata_error *err)
{
    lister l = {.spec = spec, .cache = cache};
    json_t *repos = NULL, *r;
    const char *token = spec->opts.token;
    size_t i, n;
    int rc;

    *out = NULL;
    if (spec->be == NULL ||
        (spec->kind != STRATA_DISCOVER_INSTALLATION && spec->name == NULL) ||
        (spec->kind == STRATA_DISCOVER_INSTALLATION && spec->app == NULL))
        return strata_error_set(err, STRATA_EINVAL,
                                "discover: a forge and what to list are "
                                "needed");
    l.out = strata_xcalloc(1, sizeof(*l.out));
    l.out->rate_remaining = -1;
    l.out->rate_limit = -1;
    if (spec->kind == STRATA_DISCOVER_INSTALLATION) {
        int64_t kept = strata_forge_app_expires(spec->app);

        rc = strata_forge_app_token(&token, spec->app, &spec->opts,
                                    strata_now_ms() / 1000, err);
        if (rc != 0) {
            strata_forge_discovery_free(l.out);
            return rc;
        }
        /* A token traded now is one more request. */
        l.out->requests += strata_forge_app_expires(spec->app) != kept;
    }
    l.api = strata_xstrdup(spec->opts.api_url ? spec->opts.api_url
                                              : spec->be->default_api_url);
    n = strlen(l.api);
    while (n > 0 && l.api[n - 1] == '/')
        l.api[--n] = '\0';
    if (token != NULL)
        l.auth = strata_xasprintf("%s%s", spec->be->auth_prefix, token);
    if (spec->kind == STRATA_DISCOVER_INSTALLATION) {
        l.scope = strata_xasprintf("installation %s",
                                   strata_forge__app_installation(spec->app));
    } else if (spec->opts.token != NULL) {
        char hex[65];

        strata_sha256_hex(hex, spec->opts.token, strlen(spec->opts.token));
        l.scope = strata_xasprintf("token %.16s", hex);
    } else {
        l.scope = strata_xstrdup("anonymous");
    }
    if ((rc = uv_loop_init(&l.loop)) != 0) {
        rc = strata_error_set(err, STRATA_EINTERNAL, "uv_loop_init: %s",
                              uv_strerror(rc));
        goto out;
    }
    if ((rc = strata_http_new(&l.http, &l.loop, err)) == 0) {
        rc = list_all(&repos, &l, err);
        strata_http_close(l.http);
    }
    uv_run(&l.loop, UV_RUN_DEFAULT);
    uv_loop_close(&l.loop);
    if (rc != 0)
        goto out;
    l.out->repos =
        strata_xcalloc(json_array_size(repos) + 1, sizeof(*l.out->repos));
    json_array_foreach (repos, i, r) {
        strata_forge_found *f = &l.out->repos[l.out->n++];

        f->full_name = dup_member(r, "full_name");
        f->clone_url = dup_member(r, "clone_url");
        f->default_branch = dup_member(r, "default_branch");
        f->visibility = dup_member(r, "visibility");
        f->archived = json_is_true(json_object_get(r, "archived"));
        f->fork = json_is_true(json_object_get(r, "fork"));
        f->empty = json_is_true(json_object_get(r, "empty"));
        f->reason = reason(spec, r);
    }
    *out = l.out;
    l.out = NULL;
out:
    json_decref(repos);
    strata_forge_discovery_free(l.out);
    if (l.auth != NULL) {
        explicit_bzero(l.auth, strlen(l.auth));
        free(l.auth);
    }
    free(l.api);
    free(l.scope);
    return rc;
}

void
strata_forge_discovery_free(strata_forge_discovery *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->n; i++) {
        free(d->repos[i].full_name);
        free(d->repos[i].clone_url);
        free(d->repos[i].default_branch);
        free(d->repos[i].visibility);
        free(d->repos[i].reason);
    }
    free(d->repos);
    free(d);
}

size_t
strata_forge_discovery_taken(const strata_forge_discovery *d)
{
    size_t i, n = 0;

    for (i = 0; i < d->n; i++)
        n += d->repos[i].reason == NULL;
    return n;
}
