/*
 * github.c - the GitHub backend (REST API 2022-11-28; also GitHub
 * Enterprise Server at https://HOST/api/v3). Pull requests live under
 * /repos/{owner}/{repo}/pulls; labels and comments go through the issue
 * of the same number; reviewers through /pulls/{n}/requested_reviewers.
 * Auth: "Authorization: Bearer <token>", with the versioned media type.
 * The requests Gitea's API shares with GitHub's (update, labels,
 * reviewers, comments, close, the pull-request object) are built by
 * util.c's strata_forge__gh_* for both.
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

static int
github_parse(strata_forge_pr *out, const json_t *obj)
{
    /* A merged pull request is "closed" with merged_at set. */
    return strata_forge__gh_parse(
        out, obj, json_is_string(json_object_get(obj, "merged_at")));
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
    .check = strata_forge__owner_name_check,
    .find = github_find,
    .open = github_open,
    .update = strata_forge__gh_update,
    .label = strata_forge__gh_label,
    .review = strata_forge__gh_review,
    .comment = strata_forge__gh_comment,
    .close = strata_forge__gh_close,
    .pick = github_pick,
    .parse = github_parse,
    .exists = github_exists,
    .message = strata_forge__message,
};
