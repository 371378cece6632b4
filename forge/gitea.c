/*
 * gitea.c - the Gitea backend (API v1, also Forgejo). Pull requests
 * live under /repos/{owner}/{repo}/pulls, addressed by index. The listing
 * has no head filter, so finding reads open pull requests page by page
 * and matches head.ref. Labels are added through the issue of the same
 * index by name (Gitea >= 1.20 accepts names there; the create body only
 * takes label ids), reviewers through /pulls/{n}/requested_reviewers.
 * Auth: "Authorization: token <token>". The rest of the API is GitHub's
 * shape: those requests are util.c's strata_forge__gh_*.
 */
#include <stdlib.h>
#include <string.h>

#include "forge-int.h"

#define PAGE_LIMIT 50

static const strata_http_header gitea_headers[] = {
    {"Accept", "application/json"},
};

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

static int
gitea_parse(strata_forge_pr *out, const json_t *obj)
{
    return strata_forge__gh_parse(out, obj,
                                  json_is_true(json_object_get(obj, "merged")));
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
    .check = strata_forge__owner_name_check,
    .find = gitea_find,
    .open = gitea_open,
    .update = strata_forge__gh_update,
    .label = strata_forge__gh_label,
    .review = strata_forge__gh_review,
    .comment = strata_forge__gh_comment,
    .close = strata_forge__gh_close,
    .pick = gitea_pick,
    .parse = gitea_parse,
    .exists = gitea_exists,
    .message = strata_forge__message,
};
