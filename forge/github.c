/*
 * github.c - the GitHub backend (REST API 2022-11-28; also GitHub
 * Enterprise Server at https://HOST/api/v3). Pull requests live under
 * /repos/{owner}/{repo}/pulls; labels and comments go through the issue
 * of the same number; reviewers through /pulls/{n}/requested_reviewers.
 * Auth: "Authorization: Bearer <token>", with the versioned media type.
 */
#include <stdlib.h>
#include <string.h>

#include "forge-int.h"

static const strata_http_header github_headers[] = {
    {"Accept", "application/vnd.github+json"},
    {"X-GitHub-Api-Version", "2022-11-28"},
};

/* "owner" of "owner/name" (new), for the head filter "owner:branch". */
static char *
repo_owner(const char *repo)
{
    const char *slash = strchr(repo, '/');

    return slash ? strata_xstrndup(repo, (size_t) (slash - repo))
                 : strata_xstrdup(repo);
}

static int
github_check(const strata_forge_req *req, strata_error *err)
{
    const char *slash = strchr(req->repo, '/');

    if (slash == NULL || slash == req->repo || slash[1] == '\0' ||
        strchr(slash + 1, '/') != NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "github repository '%s' is not 'owner/name'",
                                req->repo);
    return 0;
}

static void
github_find(strata_forge__call *c, const strata_forge__opview *v)
{
    char *owner = repo_owner(v->req->repo);
    char *head = strata_xasprintf("%s:%s", owner, v->req->head);
    char *q = strata_url_escape(head);

    strata_forge__call_set(c, "GET", "list pulls",
                           "/repos/%s/pulls?head=%s&state=open&per_page=100"
                           "&page=%d",
                           v->req->repo, q, v->page);
    free(q);
    free(head);
    free(owner);
}

static void
github_open(strata_forge__call *c, const strata_forge__opview *v)
{
    const strata_forge_req *r = v->req;

    strata_forge__call_set(c, "POST", "create pull", "/repos/%s/pulls",
                           r->repo);
    c->body =
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "title", r->title, "head",
                  r->head, "base", r->base, "body", r->body ? r->body : "",
                  "draft", r->draft, "maintainer_can_modify", 1);
}

static void
github_update(strata_forge__call *c, const strata_forge__opview *v)
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
github_label(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "POST", "add labels",
                           "/repos/%s/issues/%lld/labels", v->req->repo,
                           (long long) v->number);
    c->body = json_pack("{s:o}", "labels",
                        strata_forge__strings(v->req->labels, v->req->nlabels));
}

static void
github_review(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "POST", "request reviewers",
                           "/repos/%s/pulls/%lld/requested_reviewers",
                           v->req->repo, (long long) v->number);
    c->body =
        json_pack("{s:o}", "reviewers",
                  strata_forge__strings(v->req->reviewers, v->req->nreviewers));
}

static void
github_comment(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "POST", "create comment",
                           "/repos/%s/issues/%lld/comments", v->req->repo,
                           (long long) v->number);
    c->body = json_pack("{s:s}", "body", v->req->comment);
}

static void
github_close(strata_forge__call *c, const strata_forge__opview *v)
{
    strata_forge__call_set(c, "PATCH", "close pull", "/repos/%s/pulls/%lld",
                           v->req->repo, (long long) v->number);
    c->body = json_pack("{s:s}", "state", "closed");
}

static int
github_parse(strata_forge_pr *out, const json_t *obj)
{
    const json_t *n = json_object_get(obj, "number");
    const char *state = json_string_value(json_object_get(obj, "state"));

    if (!json_is_integer(n) || json_integer_value(n) <= 0 || state == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    out->number = json_integer_value(n);
    out->url = strata_forge__dupstr(obj, "html_url");
    /* A merged pull request is "closed" with merged_at set. */
    if (strcmp(state, "closed") == 0 &&
        json_is_string(json_object_get(obj, "merged_at")))
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
github_pick(strata_forge_pr *out, int *more, const json_t *reply,
            const strata_forge__opview *v)
{
    size_t i;
    const json_t *p;

    *more = 0;
    if (!json_is_array(reply))
        return -1;
    /* The head filter already did the work; check anyway. */
    json_array_foreach (reply, i, p) {
        const char *ref = json_string_value(
            json_object_get(json_object_get(p, "head"), "ref"));

        if (ref != NULL && strcmp(ref, v->req->head) == 0)
            return github_parse(out, p) == 0 ? 1 : -1;
    }
    *more = json_array_size(reply) == 100;
    return 0;
}

static int
github_exists(long status, const json_t *reply)
{
    char msg[300];

    if (status != 422)
        return 0;
    strata_forge__message(msg, sizeof(msg), reply);
    return strstr(msg, "already exists") != NULL;
}

const strata_forge_backend strata_forge__github = {
    .name = "github",
    .default_api_url = "https://api.github.com",
    .auth_header = "Authorization",
    .auth_prefix = "Bearer ",
    .extra = github_headers,
    .nextra = 2,
    .inline_meta = 0,
    .check = github_check,
    .find = github_find,
    .open = github_open,
    .update = github_update,
    .label = github_label,
    .review = github_review,
    .comment = github_comment,
    .close = github_close,
    .pick = github_pick,
    .parse = github_parse,
    .exists = github_exists,
    .message = strata_forge__message,
};
