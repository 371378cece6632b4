/*
 * gitlab.c - the GitLab backend (REST API v4, gitlab.com or
 * self-managed at https://HOST/api/v4). Merge requests live under
 * /projects/{id}/merge_requests, where id is the numeric project id or the
 * URL-encoded full path ("group%2Fapp"), and are addressed by iid. Labels
 * (comma-separated names) and reviewer_ids (numeric user ids) travel in
 * the create/update bodies; drafts are the "Draft: " title prefix; notes
 * are comments; PUT state_event=close closes. Auth: "PRIVATE-TOKEN".
 */
#include <stdlib.h>
#include <string.h>

#include "forge-int.h"

#define DRAFT_PREFIX "Draft: "

static const strata_http_header gitlab_headers[] = {
    {"Accept", "application/json"},
};

static int
gitlab_check(const strata_forge_req *req, strata_error *err)
{
    size_t i;
    const char *p;

    for (i = 0; i < req->nreviewers; i++) {
        p = req->reviewers[i];
        if (*p == '\0')
            goto bad;
        for (; *p != '\0'; p++)
            if (*p < '0' || *p > '9')
                goto bad;
    }
    return 0;
bad:
    return strata_error_set(err, STRATA_EINVAL,
                            "gitlab reviewers are numeric user ids, not '%s'",
                            req->reviewers[i]);
}

/* The project id for a path: numeric ids as they are, paths encoded. */
static char *
project(const strata_forge__opview *v)
{
    return strata_url_escape(v->req->repo);
}

static json_t *
reviewer_ids(const strata_forge_req *r)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < r->nreviewers; i++)
        json_array_append_new(
            a, json_integer((json_int_t) strtoll(r->reviewers[i], NULL, 10)));
    return a;
}

static json_t *
title_for(const strata_forge_req *r)
{
    if (r->draft && strncmp(r->title, DRAFT_PREFIX, strlen(DRAFT_PREFIX)) != 0)
        return json_sprintf("%s%s", DRAFT_PREFIX, r->title);
    return json_string(r->title);
}

static void
gitlab_find(strata_forge__call *c, const strata_forge__opview *v)
{
    char *id = project(v);
    char *head = strata_url_escape(v->req->head);

    strata_forge__call_set(c, "GET", "list merge requests",
                           "/projects/%s/merge_requests?source_branch=%s"
                           "&state=opened&per_page=100&page=%d",
                           id, head, v->page);
    free(head);
    free(id);
}

static void
gitlab_open(strata_forge__call *c, const strata_forge__opview *v)
{
    const strata_forge_req *r = v->req;
    char *id = project(v);
    char *labels;

    strata_forge__call_set(c, "POST", "create merge request",
                           "/projects/%s/merge_requests", id);
    c->body = json_pack("{s:s, s:s, s:o, s:s}", "source_branch", r->head,
                        "target_branch", r->base, "title", title_for(r),
                        "description", r->body ? r->body : "");
    if (r->nlabels > 0) {
        labels = strata_forge__join(r->labels, r->nlabels, ",");
        json_object_set_new(c->body, "labels", json_string(labels));
        free(labels);
    }
    if (r->nreviewers > 0)
        json_object_set_new(c->body, "reviewer_ids", reviewer_ids(r));
    free(id);
}

static void
mr_put(strata_forge__call *c, const strata_forge__opview *v, const char *what)
{
    char *id = project(v);

    strata_forge__call_set(c, "PUT", what, "/projects/%s/merge_requests/%lld",
                           id, (long long) v->number);
    c->body = json_object();
    free(id);
}

static void
add_labels(json_t *body, const strata_forge_req *r)
{
    char *labels;

    if (r->nlabels == 0)
        return;
    labels = strata_forge__join(r->labels, r->nlabels, ",");
    json_object_set_new(body, "add_labels", json_string(labels));
    free(labels);
}

static void
gitlab_update(strata_forge__call *c, const strata_forge__opview *v)
{
    const strata_forge_req *r = v->req;

    mr_put(c, v, "update merge request");
    if (r->title != NULL)
        json_object_set_new(c->body, "title", title_for(r));
    if (r->body != NULL)
        json_object_set_new(c->body, "description", json_string(r->body));
    if (r->base != NULL)
        json_object_set_new(c->body, "target_branch", json_string(r->base));
    add_labels(c->body, r);
    if (r->nreviewers > 0)
        json_object_set_new(c->body, "reviewer_ids", reviewer_ids(r));
}

static void
gitlab_label(strata_forge__call *c, const strata_forge__opview *v)
{
    mr_put(c, v, "add labels");
    add_labels(c->body, v->req);
}

static void
gitlab_review(strata_forge__call *c, const strata_forge__opview *v)
{
    mr_put(c, v, "set reviewers");
    json_object_set_new(c->body, "reviewer_ids", reviewer_ids(v->req));
}

static void
gitlab_comment(strata_forge__call *c, const strata_forge__opview *v)
{
    char *id = project(v);

    strata_forge__call_set(c, "POST", "create note",
                           "/projects/%s/merge_requests/%lld/notes", id,
                           (long long) v->number);
    c->body = json_pack("{s:s}", "body", v->req->comment);
    free(id);
}

static void
gitlab_close(strata_forge__call *c, const strata_forge__opview *v)
{
    mr_put(c, v, "close merge request");
    json_object_set_new(c->body, "state_event", json_string("close"));
}

static int
gitlab_parse(strata_forge_pr *out, const json_t *obj)
{
    const json_t *n = json_object_get(obj, "iid");
    const char *state = json_string_value(json_object_get(obj, "state"));

    if (!json_is_integer(n) || json_integer_value(n) <= 0 || state == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    out->number = json_integer_value(n);
    out->url = strata_forge__dupstr(obj, "web_url");
    out->state = strata_xstrdup(strcmp(state, "opened") == 0 ? "open" : state);
    out->title = strata_forge__dupstr(obj, "title");
    out->body = strata_forge__dupstr(obj, "description");
    out->head = strata_forge__dupstr(obj, "source_branch");
    out->base = strata_forge__dupstr(obj, "target_branch");
    out->draft = json_is_true(json_object_get(obj, "draft"));
    return 0;
}

static int
gitlab_pick(strata_forge_pr *out, int *more, const json_t *reply,
            const strata_forge__opview *v)
{
    size_t i;
    const json_t *mr;

    *more = 0;
    if (!json_is_array(reply))
        return -1;
    json_array_foreach (reply, i, mr) {
        const char *src =
            json_string_value(json_object_get(mr, "source_branch"));
        const char *st = json_string_value(json_object_get(mr, "state"));

        if (src != NULL && st != NULL && strcmp(src, v->req->head) == 0 &&
            strcmp(st, "opened") == 0)
            return gitlab_parse(out, mr) == 0 ? 1 : -1;
    }
    *more = json_array_size(reply) == 100;
    return 0;
}

/*
 * GitLab's "message" is a string ("401 Unauthorized"), a list of strings
 * (409) or an object of field -> list (400); "error" is used for missing
 * parameters.
 */
static void
gitlab_message(char *out, size_t len, const json_t *reply)
{
    const json_t *m = json_object_get(reply, "message");
    const char *key;
    const json_t *val;

    out[0] = '\0';
    if (json_is_string(m)) {
        snprintf(out, len, "%s", json_string_value(m));
    } else if (json_is_array(m) && json_is_string(json_array_get(m, 0))) {
        snprintf(out, len, "%s", json_string_value(json_array_get(m, 0)));
    } else if (json_is_object(m)) {
        json_object_foreach ((json_t *) m, key, val) {
            snprintf(out, len, "%s %s", key,
                     json_is_array(val) && json_array_size(val) > 0
                         ? json_string_value(json_array_get(val, 0))
                         : "is invalid");
            break;
        }
    } else if (json_is_string(json_object_get(reply, "error"))) {
        snprintf(out, len, "%s",
                 json_string_value(json_object_get(reply, "error")));
    }
}

static int
gitlab_exists(long status, const json_t *reply)
{
    char msg[300];

    if (status != 409)
        return 0;
    gitlab_message(msg, sizeof(msg), reply);
    return strstr(msg, "already exists") != NULL;
}

const strata_forge_backend strata_forge__gitlab = {
    .name = "gitlab",
    .default_api_url = "https://gitlab.com/api/v4",
    .auth_header = "PRIVATE-TOKEN",
    .auth_prefix = "",
    .extra = gitlab_headers,
    .nextra = 1,
    .inline_meta = 1,
    .check = gitlab_check,
    .find = gitlab_find,
    .open = gitlab_open,
    .update = gitlab_update,
    .label = gitlab_label,
    .review = gitlab_review,
    .comment = gitlab_comment,
    .close = gitlab_close,
    .pick = gitlab_pick,
    .parse = gitlab_parse,
    .exists = gitlab_exists,
    .message = gitlab_message,
};
