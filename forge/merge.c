/*
 * merge.c - following a change request to its merge (auto-merge): what
 * its head commit's checks say, whether it can merge, and merging it, on
 * each forge's REST API. Blocking (a private loop per call, as
 * strata_http_fetch): the `pr` action calls these from a worker.
 *
 *   GitHub  GET  /repos/R/pulls/N (head.sha, mergeable, merged)
 *           GET  /repos/R/commits/SHA/check-runs  (check runs)
 *           GET  /repos/R/commits/SHA/status      (combined status)
 *           PUT  /repos/R/pulls/N/merge {merge_method, sha}
 *   GitLab  GET  /projects/ID/merge_requests/IID (sha, head_pipeline,
 *                has_conflicts, detailed_merge_status)
 *           PUT  /projects/ID/merge_requests/IID/merge {sha, squash}
 *   Gitea   GET  /repos/R/pulls/N (head.sha, mergeable, merged)
 *           GET  /repos/R/commits/SHA/status      (combined status)
 *           POST /repos/R/pulls/N/merge {do, head_commit_id,
 *                delete_branch_after_merge: false}
 *
 * strata merges itself once the checks are green instead of asking the
 * forge to (GitHub's native auto-merge is GraphQL only; GitLab's
 * merge_when_pipeline_succeeds and Gitea's merge_when_checks_succeed
 * would merge after strata stopped looking, past its policy): one path
 * for the three, and the merge names the head commit it saw green, so
 * a push in between is refused by the forge (409), never merged blind.
 * Transient failures (network, 5xx, rate limits) are retried here with
 * backoff and then returned as errors, never taken for red checks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge-int.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_RETRIES 4
#define DEFAULT_RETRY_BASE_MS 500
#define DEFAULT_MAX_WAIT_MS 60000
#define MAX_RUN_PAGES 10

const char *const strata_forge_merge_method_names[] = {"merge", "squash",
                                                       "rebase", NULL};

/* snprintf that may cut (messages are bounded on purpose). */
static void fmt_into(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt_into(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

typedef struct mclient {
    const strata_forge_backend *be;
    char *api_url;
    char *auth;
    const strata_forge_opts *opts;
    const char *repo;
    int retries;
    uint32_t base_ms, max_wait_ms, timeout_ms;
} mclient;

static int
mclient_init(mclient *m, const strata_forge_backend *be,
             const strata_forge_opts *opts, const char *repo, strata_error *err)
{
    const char *url =
        opts && opts->api_url ? opts->api_url : be->default_api_url;
    size_t len = strlen(url);
    strata_forge_req r = {0};

    memset(m, 0, sizeof(*m));
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid forge api url '%s'", url);
    if (repo == NULL ||
        repo[strspn(repo, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")] !=
            '\0' ||
        repo[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid repository name '%s'",
                                repo ? repo : "");
    r.repo = repo;
    if (be->check != NULL && be->check(&r, err) != 0)
        return err ? err->code : STRATA_EINVAL;
    while (len > 0 && url[len - 1] == '/')
        len--;
    m->be = be;
    m->opts = opts;
    m->repo = repo;
    m->api_url = strata_xstrndup(url, len);
    if (opts && opts->token && opts->token[0] != '\0')
        m->auth = strata_xasprintf("%s%s", be->auth_prefix, opts->token);
    m->retries = !opts || opts->max_retries == 0 ? DEFAULT_RETRIES
                 : opts->max_retries < 0         ? 0
                                                 : opts->max_retries;
    m->base_ms = opts && opts->retry_base_ms ? opts->retry_base_ms
                                             : DEFAULT_RETRY_BASE_MS;
    m->max_wait_ms = opts && opts->max_retry_wait_ms ? opts->max_retry_wait_ms
                                                     : DEFAULT_MAX_WAIT_MS;
    m->timeout_ms =
        opts && opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    return 0;
}

static void
mclient_release(mclient *m)
{
    free(m->api_url);
    free(m->auth);
}

/* The wait a rate-limited answer asks for, or the backoff. */
static uint64_t
wait_for(const mclient *m, const strata_http_response *resp, int attempt)
{
    uint64_t ms;

    if (resp != NULL &&
        strata_retry_after_ms(&ms,
                              strata_http_response_header(resp, "retry-after"),
                              strata_now_ms(), UINT64_MAX) == 0)
        return ms;
    return strata_backoff_ms(m->base_ms, (unsigned) attempt, m->max_wait_ms);
}

static int
rate_limited(const strata_http_response *resp)
{
    const char *rem;

    if (resp->status == 429)
        return 1;
    if (resp->status != 403)
        return 0;
    rem = strata_http_response_header(resp, "x-ratelimit-remaining");
    return (rem != NULL && strcmp(rem, "0") == 0) ||
           strata_http_response_header(resp, "retry-after") != NULL;
}

/*
 * One call: *status and *reply (new JSON or NULL) of the final answer.
 * Network errors, 5xx and rate limits are retried with backoff; once
 * spent they are returned (STRATA_ENET, STRATA_ETIMEOUT, STRATA_EHTTP,
 * STRATA_ERATELIMIT). 401/403 is STRATA_EAUTH, 404 STRATA_ENOTFOUND;
 * any other status is the caller's to read.
 */
static int mcall(mclient *m, long *status, json_t **reply, char *msg,
                 size_t msglen, const char *method, const char *what,
                 const json_t *body, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

static int
mcall(mclient *m, long *status, json_t **reply, char *msg, size_t msglen,
      const char *method, const char *what, const json_t *body, const char *fmt,
      ...)
{
    const strata_forge_backend *be = m->be;
    strata_http_header h[8];
    strata_http_request r = {0};
    strata_http_response *resp = NULL;
    char *path, *url, *data = NULL;
    size_t n = 0, i;
    va_list ap;
    int attempt, rc = 0;
    uint64_t wait;

    *status = 0;
    *reply = NULL;
    msg[0] = '\0';
    va_start(ap, fmt);
    path = strata_xvasprintf(fmt, ap);
    va_end(ap);
    url = strata_xasprintf("%s%s", m->api_url, path);
    if (m->auth != NULL)
        h[n++] = (strata_http_header){be->auth_header, m->auth};
    for (i = 0; i < be->nextra && n < 6; i++)
        h[n++] = be->extra[i];
    if (body != NULL) {
        data = json_dumps(body, JSON_COMPACT);
        h[n++] = (strata_http_header){"Content-Type", "application/json"};
    }
    h[n++] = (strata_http_header){"User-Agent", "strata/" STRATA_VERSION};
    r.method = method;
    r.url = url;
    r.headers = h;
    r.nheaders = n;
    r.body = data;
    r.body_len = data ? strlen(data) : 0;
    r.timeout_ms = m->timeout_ms;
    r.insecure = m->opts ? m->opts->insecure : 0;
    r.ca_file = m->opts ? m->opts->ca_file : NULL;
    r.max_body = 16u << 20;
    for (attempt = 0;; attempt++) {
        strata_error e = {0};

        strata_http_response_free(resp);
        resp = NULL;
        rc = strata_http_fetch(&resp, &r, &e);
        if (rc != 0) {
            if ((rc == STRATA_ENET || rc == STRATA_ETIMEOUT) &&
                attempt < m->retries) {
                uv_sleep((unsigned) wait_for(m, NULL, attempt));
                continue;
            }
            if (msglen > 0)
                fmt_into(msg, msglen, "%s %s %s: %s", be->name, method, path,
                         e.msg);
            rc = e.code ? e.code : STRATA_ENET;
            goto out;
        }
        json_decref(*reply);
        *reply = resp->body.len > 0 ? json_loadb(resp->body.ptr, resp->body.len,
                                                 JSON_DECODE_ANY, NULL)
                                    : NULL;
        *status = resp->status;
        if (*status >= 200 && *status < 300)
            break;
        if (*reply != NULL)
            be->message(msg, msglen, *reply);
        if (rate_limited(resp) || *status >= 500) {
            wait = wait_for(m, resp, attempt);
            if (attempt < m->retries && wait <= m->max_wait_ms) {
                log_info("forge '%s': %s answered %ld; retry %d in %llu ms",
                         be->name, what, *status, attempt + 1,
                         (unsigned long long) wait);
                uv_sleep((unsigned) wait);
                continue;
            }
            rc = rate_limited(resp) ? STRATA_ERATELIMIT : STRATA_EHTTP;
            break;
        }
        if (*status == 401 || *status == 403)
            rc = STRATA_EAUTH;
        else if (*status == 404)
            rc = STRATA_ENOTFOUND;
        break;
    }
    if (rc != 0) {
        char tmp[300];

        snprintf(tmp, sizeof(tmp), "%s", msg);
        fmt_into(msg, msglen, "%s %s %s answered %ld%s%s", be->name, method,
                 path, *status, tmp[0] ? ": " : "", tmp);
    }
out:
    strata_http_response_free(resp);
    free(data);
    free(url);
    free(path);
    return rc;
}

/* rc and msg of mcall as the caller's error. */
static int
mfail(strata_error *err, int rc, const char *msg, const char *what)
{
    return strata_error_set(err, rc, "%s (%s)", msg, what);
}

static void
set_str(char *out, size_t len, const char *s)
{
    fmt_into(out, len, "%s", s ? s : "");
}

/* "name: conclusion", appended to detail when there is room. */
static void
detail_add(strata_forge_status *out, const char *name, const char *what)
{
    size_t used = strlen(out->detail);

    if (used + 4 >= sizeof(out->detail))
        return;
    snprintf(out->detail + used, sizeof(out->detail) - used, "%s%s: %s",
             used ? ", " : "", name ? name : "?", what ? what : "?");
}

static const char *
shown(const char *s)
{
    return s ? s : "";
}

/* ---- GitHub and Gitea: the pull request, then the head's statuses ---- */

static int
gh_pull(strata_forge_status *out, const json_t *p, int gitea)
{
    const char *state = json_string_value(json_object_get(p, "state"));
    const char *sha =
        json_string_value(json_object_get(json_object_get(p, "head"), "sha"));
    const json_t *mg = json_object_get(p, "mergeable");
    int merged = json_is_true(json_object_get(p, "merged")) ||
                 (!gitea && json_is_string(json_object_get(p, "merged_at")));

    if (state == NULL || sha == NULL)
        return -1;
    set_str(out->state, sizeof(out->state), merged ? "merged" : state);
    set_str(out->sha, sizeof(out->sha), sha);
    out->mergeable = json_is_true(mg) ? 1 : json_is_false(mg) ? 0 : -1;
    if (!gitea && out->mergeable == 0) {
        /* "dirty" is a conflict; "blocked" etc. are not answered as
         * mergeable:false by GitHub, but be sure. */
        const char *ms =
            json_string_value(json_object_get(p, "mergeable_state"));

        if (ms != NULL && strcmp(ms, "dirty") != 0)
            out->mergeable = -1;
    }
    return 0;
}

/* A combined status (GitHub and Gitea): folds into *red, *pending, *any. */
static int
combined(strata_forge_status *out, const json_t *s, int *red, int *pending,
         int *any)
{
    const char *state = json_string_value(json_object_get(s, "state"));
    const json_t *list = json_object_get(s, "statuses");
    const json_t *e;
    size_t i;

    if (!json_is_object(s) || state == NULL)
        return -1;
    json_array_foreach (list, i, e) {
        const char *st = json_string_value(json_object_get(e, "state"));
        const char *ctx = json_string_value(json_object_get(e, "context"));

        if (st == NULL)
            st = json_string_value(json_object_get(e, "status")); /* gitea */
        *any = 1;
        if (st != NULL &&
            (strcmp(st, "failure") == 0 || strcmp(st, "error") == 0)) {
            *red = 1;
            detail_add(out, ctx, st);
        } else if (st == NULL || strcmp(st, "pending") == 0) {
            *pending = 1;
            detail_add(out, ctx, st ? st : "pending");
        }
    }
    /* The combined state decides when the list was cut short. */
    if (strcmp(state, "failure") == 0 || strcmp(state, "error") == 0)
        *red = 1;
    else if (strcmp(state, "pending") == 0 && json_array_size(list) > 0)
        *pending = 1;
    return 0;
}

static int
gh_check_runs(strata_forge_status *out, const json_t *r, int *red, int *pending,
              int *any)
{
    const json_t *runs = json_object_get(r, "check_runs");
    const json_t *e;
    size_t i;

    if (!json_is_array(runs))
        return -1;
    json_array_foreach (runs, i, e) {
        const char *st = json_string_value(json_object_get(e, "status"));
        const char *c = json_string_value(json_object_get(e, "conclusion"));
        const char *name = json_string_value(json_object_get(e, "name"));

        *any = 1;
        if (st == NULL || strcmp(st, "completed") != 0) {
            *pending = 1;
            detail_add(out, name, st ? st : "queued");
        } else if (c != NULL &&
                   (strcmp(c, "success") == 0 || strcmp(c, "neutral") == 0 ||
                    strcmp(c, "skipped") == 0)) {
            /* passed */
        } else if (c != NULL && strcmp(c, "stale") == 0) {
            *pending = 1;
            detail_add(out, name, c);
        } else {
            *red = 1;
            detail_add(out, name, c ? c : "no conclusion");
        }
    }
    return 0;
}

static int
gh_status(strata_forge_status *out, mclient *m, int gitea, strata_error *err)
{
    long st;
    json_t *reply = NULL;
    char msg[400];
    int rc, red = 0, pending = 0, any = 0, page;
    size_t seen = 0;

    rc = mcall(m, &st, &reply, msg, sizeof(msg), "GET", "get pull", NULL,
               "/repos/%s/pulls/%lld", m->repo, (long long) out->number);
    if (rc == 0 && st != 200)
        rc = STRATA_EHTTP;
    if (rc != 0)
        goto fail;
    if (gh_pull(out, reply, gitea) != 0) {
        json_decref(reply);
        return strata_error_set(err, STRATA_EPROTO,
                                "%s: malformed reply to 'get pull' (GET "
                                "/repos/%s/pulls/%lld)",
                                m->be->name, m->repo, (long long) out->number);
    }
    json_decref(reply);
    reply = NULL;
    if (strcmp(out->state, "open") != 0)
        return 0;
    /* Every page of check runs (a run missed could be a red one); past
     * MAX_RUN_PAGES the rest counts as pending. */
    for (page = 1; !gitea; page++) {
        json_int_t total;

        rc = mcall(m, &st, &reply, msg, sizeof(msg), "GET", "list check runs",
                   NULL, "/repos/%s/commits/%s/check-runs?per_page=100&page=%d",
                   m->repo, out->sha, page);
        if (rc == 0 && st != 200)
            rc = STRATA_EHTTP;
        if (rc != 0)
            goto fail;
        if (gh_check_runs(out, reply, &red, &pending, &any) != 0)
            goto malformed;
        seen += json_array_size(json_object_get(reply, "check_runs"));
        total = json_integer_value(json_object_get(reply, "total_count"));
        json_decref(reply);
        reply = NULL;
        if ((json_int_t) seen >= total || seen % 100 != 0)
            break;
        if (page == MAX_RUN_PAGES) {
            pending = 1;
            detail_add(out, "check runs", "too many to read");
            break;
        }
    }
    rc = mcall(m, &st, &reply, msg, sizeof(msg), "GET", "combined status", NULL,
               "/repos/%s/commits/%s/status", m->repo, out->sha);
    if (rc == 0 && st != 200)
        rc = STRATA_EHTTP;
    if (rc != 0)
        goto fail;
    if (combined(out, reply, &red, &pending, &any) != 0)
        goto malformed;
    json_decref(reply);
    out->checks = red       ? STRATA_FORGE_CHECKS_RED
                  : pending ? STRATA_FORGE_CHECKS_PENDING
                  : any     ? STRATA_FORGE_CHECKS_GREEN
                            : STRATA_FORGE_CHECKS_NONE;
    return 0;
malformed:
    json_decref(reply);
    return strata_error_set(err, STRATA_EPROTO,
                            "%s: malformed status of '%s' in '%s'", m->be->name,
                            out->sha, m->repo);
fail:
    json_decref(reply);
    return mfail(err, rc, msg, "reading the checks");
}

/* ---- GitLab: the merge request carries its head pipeline ------------- */

static int
gl_status(strata_forge_status *out, mclient *m, strata_error *err)
{
    char *id = strata_url_escape(m->repo);
    long st;
    json_t *mr = NULL;
    const json_t *pl;
    const char *state, *sha, *dms, *ps, *psha;
    char msg[400];
    int rc;

    rc = mcall(m, &st, &mr, msg, sizeof(msg), "GET", "get merge request", NULL,
               "/projects/%s/merge_requests/%lld", id, (long long) out->number);
    free(id);
    if (rc == 0 && st != 200)
        rc = STRATA_EHTTP;
    if (rc != 0) {
        json_decref(mr);
        return mfail(err, rc, msg, "reading the pipeline");
    }
    state = json_string_value(json_object_get(mr, "state"));
    sha = json_string_value(json_object_get(mr, "sha"));
    if (state == NULL || sha == NULL) {
        json_decref(mr);
        return strata_error_set(err, STRATA_EPROTO,
                                "gitlab: malformed merge request !%lld of '%s'",
                                (long long) out->number, m->repo);
    }
    set_str(out->state, sizeof(out->state),
            strcmp(state, "opened") == 0 ? "open" : state);
    set_str(out->sha, sizeof(out->sha), sha);
    dms = json_string_value(json_object_get(mr, "detailed_merge_status"));
    if (json_is_true(json_object_get(mr, "has_conflicts")) ||
        (dms != NULL &&
         (strcmp(dms, "conflict") == 0 || strcmp(dms, "need_rebase") == 0)))
        out->mergeable = 0;
    else if (dms == NULL || strcmp(dms, "checking") == 0 ||
             strcmp(dms, "unchecked") == 0 || strcmp(dms, "preparing") == 0)
        out->mergeable = -1;
    else
        out->mergeable = 1;
    pl = json_object_get(mr, "head_pipeline");
    ps = json_string_value(json_object_get(pl, "status"));
    psha = json_string_value(json_object_get(pl, "sha"));
    if (!json_is_object(pl) || ps == NULL) {
        out->checks = STRATA_FORGE_CHECKS_NONE;
    } else if (psha != NULL && strcmp(psha, sha) != 0) {
        out->checks = STRATA_FORGE_CHECKS_PENDING; /* not of the head yet */
        detail_add(out, "pipeline", "of an older commit");
    } else if (strcmp(ps, "success") == 0) {
        out->checks = STRATA_FORGE_CHECKS_GREEN;
    } else if (strcmp(ps, "failed") == 0 || strcmp(ps, "canceled") == 0) {
        out->checks = STRATA_FORGE_CHECKS_RED;
        detail_add(out, "pipeline", ps);
    } else {
        out->checks = STRATA_FORGE_CHECKS_PENDING;
        detail_add(out, "pipeline", ps);
    }
    json_decref(mr);
    return 0;
}

int
strata_forge_status_get(strata_forge_status *out,
                        const strata_forge_backend *be,
                        const strata_forge_opts *opts, const char *repo,
                        int64_t number, strata_error *err)
{
    mclient m;
    int rc;

    memset(out, 0, sizeof(*out));
    out->number = number;
    out->mergeable = -1;
    if (number <= 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "forge status on '%s' needs a request number",
                                shown(repo));
    if ((rc = mclient_init(&m, be, opts, repo, err)) != 0)
        return rc;
    if (strcmp(be->name, "gitlab") == 0)
        rc = gl_status(out, &m, err);
    else
        rc = gh_status(out, &m, strcmp(be->name, "gitea") == 0, err);
    mclient_release(&m);
    return rc;
}

/* ---- merging ----------------------------------------------------------- */

int
strata_forge_merge(strata_forge_merge_result *out,
                   const strata_forge_backend *be,
                   const strata_forge_opts *opts, const char *repo,
                   int64_t number, const char *sha,
                   strata_forge_merge_method method, strata_error *err)
{
    mclient m;
    json_t *body, *reply = NULL;
    char msg[400], *id = NULL;
    long st;
    int rc;
    const char *name;

    memset(out, 0, sizeof(*out));
    if (number <= 0 || sha == NULL || sha[0] == '\0' ||
        sha[strspn(sha, "0123456789abcdef")] != '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "forge merge on '%s' needs a request number "
                                "and the head commit",
                                shown(repo));
    if ((unsigned) method > STRATA_FORGE_MERGE_REBASE)
        return strata_error_set(err, STRATA_EINVAL, "unknown merge method %d",
                                (int) method);
    if ((rc = mclient_init(&m, be, opts, repo, err)) != 0)
        return rc;
    name = strata_forge_merge_method_names[method];
    if (strcmp(be->name, "github") == 0) {
        body = json_pack("{s:s, s:s}", "merge_method", name, "sha", sha);
        rc = mcall(&m, &st, &reply, msg, sizeof(msg), "PUT", "merge pull", body,
                   "/repos/%s/pulls/%lld/merge", repo, (long long) number);
    } else if (strcmp(be->name, "gitlab") == 0) {
        /* The project's merge method applies (merge commit, fast-forward
         * or semi-linear); a request only chooses to squash. */
        id = strata_url_escape(repo);
        body = json_pack("{s:s, s:b, s:b}", "sha", sha, "squash",
                         method == STRATA_FORGE_MERGE_SQUASH,
                         "should_remove_source_branch", 0);
        rc = mcall(&m, &st, &reply, msg, sizeof(msg), "PUT",
                   "merge merge request", body,
                   "/projects/%s/merge_requests/%lld/merge", id,
                   (long long) number);
    } else {
        /* "do", as Gitea's published API description names it (Gitea
         * reads JSON keys without regard to case, so "Do" works too). */
        body = json_pack("{s:s, s:s, s:b}", "do", name, "head_commit_id", sha,
                         "delete_branch_after_merge", 0);
        rc =
            mcall(&m, &st, &reply, msg, sizeof(msg), "POST", "merge pull", body,
                  "/repos/%s/pulls/%lld/merge", repo, (long long) number);
    }
    json_decref(body);
    free(id);
    if (rc != 0) {
        json_decref(reply);
        mclient_release(&m);
        return mfail(err, rc, msg, "merging");
    }
    out->status = st;
    set_str(out->message, sizeof(out->message), msg);
    if (st >= 200 && st < 300) {
        const char *gl = json_string_value(json_object_get(reply, "state"));

        /* GitLab answers 200 with the request; it is merged unless the
         * project queued it (a merge train). */
        out->outcome = gl != NULL && strcmp(be->name, "gitlab") == 0 &&
                               strcmp(gl, "merged") != 0
                           ? STRATA_FORGE_MERGE_REFUSED
                           : STRATA_FORGE_MERGED;
        if (out->outcome != STRATA_FORGE_MERGED)
            snprintf(out->message, sizeof(out->message),
                     "gitlab left the merge request %s", gl);
    } else if (st == 409 && strcmp(be->name, "gitea") == 0) {
        /* Gitea: a conflict, or head_commit_id is no longer the head. */
        out->outcome = strstr(msg, "onflict") != NULL
                           ? STRATA_FORGE_MERGE_CONFLICT
                           : STRATA_FORGE_MERGE_MOVED;
    } else if (st == 409) {
        out->outcome = STRATA_FORGE_MERGE_MOVED; /* sha is not the head */
    } else if (st == 406) {
        out->outcome = STRATA_FORGE_MERGE_CONFLICT; /* GitLab */
    } else if (st == 405 || st == 422) {
        /* Branch protection, a required check or review, a draft, a
         * merge already under way: not now. */
        out->outcome = STRATA_FORGE_MERGE_REFUSED;
    } else {
        rc = strata_error_set(err, STRATA_EHTTP,
                              "%s merging %s#%lld answered "
                              "%ld%s%s",
                              be->name, repo, (long long) number, st,
                              msg[0] ? ": " : "", msg);
    }
    json_decref(reply);
    mclient_release(&m);
    return rc;
}
