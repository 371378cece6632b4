/*
 * gitea.c - the Gitea backend (API v1, also Forgejo). Pull requests
 * live under /repos/{owner}/{repo}/pulls, addressed by index. The listing
 * has no head filter, so finding reads open pull requests page by page
 * and matches head.ref. Labels are added through the issue of the same
 * index by name (Gitea >= 1.20 accepts names there; the create body only
 * takes label ids), reviewers through /pulls/{n}/requested_reviewers.
 * Auth: "Authorization: token <token>".
 */
#include <stdlib.h>
#include <string.h>

#include "forge-int.h"

#define PAGE_LIMIT 50

static const strata_http_header gitea_headers[] = {
    {"Accept", "application/json"},
};

static int
gitea_check(const strata_forge_req *req, strata_error *err)
{
    const char *slash = strchr(req->repo, '/');

    if (slash == NULL || slash == req->repo || slash[1] == '\0' ||
        strchr(slash + 1, '/') != NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "gitea repository '%s' is not 'owner/name'",
                                req->repo);
    return 0;
}

static void
gitea_find(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "GET", "list pulls",
                           "/repos/%s/pulls?state=open&page=%d&limit=%d",
                           v->req->repo, v->page, PAGE_LIMIT);
}

static void
gitea_open(strata_forge__call *c, const strata_forge__opview *v)
{
    const strata_forge_req *r = v->req;

    strata_forge__call_set(c, "POST", "create pull", "/repos/%s/pulls",
                           r->repo);
    c->body =
        json_pack("{s:s, s:s, s:s, s:s}", "head", r->head, "base", r->base,
                  "title", r->title, "body", r->body ? r->body : "");
}

static void
gitea_update(strata_forge__call *c, const strata_forge__opview *v)
{
    const strata_forge_req *r = v->req;

    strata_forge__call_set(c, "PATCH", "update pull", "/repos/%s/pulls/%lld",
                           r->repo, (long long) v->number);
    c->body = json_object();
    if (r->title != NULL)
        json_object_set_new(c->body, "title", json_string(r->title));
    if (r->body != NULL)
        json_object_set_new(c->body, "body", json_string(r->body));
    if (r->base != NULL)
        json_object_set_new(c->body, "base", json_string(r->base));
}

static void
gitea_label(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "POST", "add labels",
                           "/repos/%s/issues/%lld/labels", v->req->repo,
                           (long long) v->number);
    c->body = json_pack("{s:o}", "labels",
                        strata_forge__strings(v->req->labels, v->req->nlabels));
}

static void
gitea_review(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "POST", "request reviewers",
                           "/repos/%s/pulls/%lld/requested_reviewers",
                           v->req->repo, (long long) v->number);
    c->body =
        json_pack("{s:o}", "reviewers",
                  strata_forge__strings(v->req->reviewers, v->req->nreviewers));
}

static void
gitea_comment(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "POST", "create comment",
                           "/repos/%s/issues/%lld/comments", v->req->repo,
                           (long long) v->number);
    c->body = json_pack("{s:s}", "body", v->req->comment);
}

static void
gitea_close(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "PATCH", "close pull", "/repos/%s/pulls/%lld",
                           v->req->repo, (long long) v->number);
    c->body = json_pack("{s:s}", "state", "closed");
}

static int
gitea_parse(strata_forge_pr *out, const json_t *obj)
{
    const json_t *n = json_object_get(obj, "number");
    const char *state = json_string_value(json_object_get(obj, "state"));

    if (!json_is_integer(n) || json_integer_value(n) <= 0 || state == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    out->number = json_integer_value(n);
    out->url = strata_forge__dupstr(obj, "html_url");
    if (json_is_true(json_object_get(obj, "merged")))
        state = "merged";
    out->state = strata_xstrdup(state);
    out->title = strata_forge__dupstr(obj, "title");
    out->body = strata_forge__dupstr(obj, "body");
    out->head = strata_forge__dupstr(json_object_get(obj, "head"), "ref");
    out->base = strata_forge__dupstr(json_object_get(obj, "base"), "ref");
    out->draft = json_is_true(json_object_get(obj, "draft"));
    return 0;
}

static int
gitea_pick(strata_forge_pr *out, int *more, const json_t *reply,
           const strata_forge__opview *v)
{
    size_t i;
    const json_t *p;

    *more = 0;
    if (!json_is_array(reply))
        return -1;
    json_array_foreach (reply, i, p) {
        const char *ref = json_string_value(
            json_object_get(json_object_get(p, "head"), "ref"));
        const char *st = json_string_value(json_object_get(p, "state"));

        if (ref != NULL && st != NULL && strcmp(ref, v->req->head) == 0 &&
            strcmp(st, "open") == 0)
            return gitea_parse(out, p) == 0 ? 1 : -1;
    }
    *more = json_array_size(reply) == PAGE_LIMIT;
    return 0;
}

static int
gitea_exists(long status, const json_t *reply)
{
    char msg[300];

    if (status != 409)
        return 0;
    strata_forge__message(msg, sizeof(msg), reply);
    return strstr(msg, "already exists") != NULL;
}

const strata_forge_backend strata_forge__gitea = {
    .name = "gitea",
    .default_api_url = "https://gitea.com/api/v1",
    .auth_header = "Authorization",
    .auth_prefix = "token ",
    .extra = gitea_headers,
    .nextra = 1,
    .inline_meta = 0,
    .check = gitea_check,
    .find = gitea_find,
    .open = gitea_open,
    .update = gitea_update,
    .label = gitea_label,
    .review = gitea_review,
    .comment = gitea_comment,
    .close = gitea_close,
    .pick = gitea_pick,
    .parse = gitea_parse,
    .exists = gitea_exists,
    .message = strata_forge__message,
};
