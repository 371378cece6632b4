/*
 * tags.c - listing the tags of a repository (GET /v2/NAME/tags/list),
 * following the Link header's rel="next" pages (registries that paginate,
 * such as Docker Hub and ghcr.io, answer at most n tags per page) up to a
 * page cap, so a repository with an endless list cannot keep a watcher
 * busy forever. Every page is read up to STRATA_OCI__MAX_MANIFEST and
 * checked before it is used: a body that is not the documented JSON object
 * fails the whole listing.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oci-int.h"

#define DEFAULT_PAGE_SIZE 1000
#define DEFAULT_MAX_PAGES 50
/* A repository with more tags than this is refused, however paged. */
#define MAX_TAGS 200000

typedef struct tags_op {
    strata_registry *reg;
    strata_ref *ref;
    int max_pages;
    int pages;
    char **tags;
    size_t ntags, cap;
    strata_registry_tags_cb cb;
    void *arg;
} tags_op;

void
strata_registry_tags_free(char **tags, size_t ntags)
{
    size_t i;

    if (tags == NULL)
        return;
    for (i = 0; i < ntags; i++)
        free(tags[i]);
    free(tags);
}

static void
tags_done(tags_op *o, const strata_error *err)
{
    if (err != NULL) {
        strata_registry_tags_free(o->tags, o->ntags);
        o->cb(NULL, 0, err, o->arg);
    } else {
        o->cb(o->tags, o->ntags, NULL, o->arg);
    }
    strata_ref_free(o->ref);
    free(o);
}

/* The next page of a listing from its Link header: see oci-int.h. */
int
strata_oci__next_link(char **out, const char *link, const char *domain,
                      strata_error *err)
{
    const char *lt, *gt, *params, *p;
    size_t dlen;

    *out = NULL;
    domain = strata_oci__url_host(domain);
    dlen = strlen(domain);
    if (link == NULL)
        return 0;
    lt = strchr(link, '<');
    gt = lt ? strchr(lt, '>') : NULL;
    if (gt == NULL)
        return strata_error_set(err, STRATA_EPROTO,
                                "malformed Link header from '%s'", domain);
    params = gt + 1;
    if (strstr(params, "rel=\"next\"") == NULL &&
        strstr(params, "rel=next") == NULL)
        return 0;
    p = lt + 1;
    if (strncasecmp(p, "https://", 8) == 0 ||
        strncasecmp(p, "http://", 7) == 0) {
        p = strstr(p, "://") + 3;
        if ((size_t) (gt - p) < dlen || strncasecmp(p, domain, dlen) != 0 ||
            p[dlen] != '/')
            return strata_error_set(err, STRATA_EPROTO,
                                    "'%s' sent a next page on another host",
                                    domain);
        p += dlen;
    }
    if (gt - p < 4 || strncmp(p, "/v2/", 4) != 0)
        return strata_error_set(err, STRATA_EPROTO,
                                "malformed Link header from '%s'", domain);
    for (const char *c = p; c < gt; c++)
        if ((unsigned char) *c <= 0x20 || *c == 0x7f)
            return strata_error_set(err, STRATA_EPROTO,
                                    "malformed Link header from '%s'", domain);
    *out = strata_xstrndup(p, (size_t) (gt - p));
    return 0;
}

/* The tags of one page's body: see oci-int.h. */
int
strata_oci__tags_parse(char ***tags_out, size_t *ntags, size_t *cap,
                       const char *body, size_t len, size_t max_tags,
                       const char *name, strata_error *err)
{
    json_error_t jerr;
    json_t *root, *tags, *t;
    size_t i;
    int rc = 0;

    root = json_loadb(body, len, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "malformed tag list for '%s': %s", name,
                              root ? "not an object" : jerr.text);
        goto out;
    }
    tags = json_object_get(root, "tags");
    /* distribution answers "tags": null for a repository without tags. */
    if (tags == NULL || json_is_null(tags))
        goto out;
    if (!json_is_array(tags)) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "malformed tag list for '%s': 'tags' is not an "
                              "array",
                              name);
        goto out;
    }
    json_array_foreach (tags, i, t) {
        if (!json_is_string(t) || json_string_length(t) == 0 ||
            json_string_length(t) > 128 ||
            strlen(json_string_value(t)) != json_string_length(t)) {
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "malformed tag list for '%s': bad tag", name);
            goto out;
        }
        if (*ntags >= max_tags) {
            rc =
                strata_error_set(err, STRATA_ETOOBIG,
                                 "'%s' has more than %zu tags", name, max_tags);
            goto out;
        }
        if (*ntags == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *tags_out = strata_xrealloc(*tags_out, *cap * sizeof(**tags_out));
        }
        (*tags_out)[(*ntags)++] = strata_xstrdup(json_string_value(t));
    }
out:
    json_decref(root);
    return rc;
}

static int send_page(tags_op *o, const char *path, strata_error *err);

static void
on_page(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    tags_op *o = arg;
    strata_error err = {0};
    char *next = NULL;

    if (rerr != NULL) {
        tags_done(o, rerr);
        return;
    }
    o->pages++;
    if (strata_oci__tags_parse(&o->tags, &o->ntags, &o->cap, resp->body.ptr,
                               resp->body.len, MAX_TAGS,
                               strata_ref_name(o->ref), &err) != 0 ||
        strata_oci__next_link(&next, strata_http_response_header(resp, "link"),
                              strata_ref_domain(o->ref), &err) != 0) {
        tags_done(o, &err);
        return;
    }
    if (next == NULL) {
        tags_done(o, NULL);
        return;
    }
    if (o->pages >= o->max_pages) {
        strata_error_set(&err, STRATA_ETOOBIG,
                         "'%s' has more than %d pages of tags",
                         strata_ref_name(o->ref), o->max_pages);
        free(next);
        tags_done(o, &err);
        return;
    }
    if (send_page(o, next, &err) != 0)
        tags_done(o, &err);
    free(next);
}

static int
send_page(tags_op *o, const char *path, strata_error *err)
{
    strata_oci__req_opts ro = {0};

    ro.accept = "application/json";
    ro.max_body = STRATA_OCI__MAX_MANIFEST;
    return strata_oci__request_ex(o->reg, strata_ref_domain(o->ref),
                                  strata_ref_path(o->ref), "GET", path, &ro,
                                  on_page, o, err);
}

int
strata_registry_list_tags(strata_registry *reg, const strata_ref *ref,
                          int page_size, int max_pages,
                          strata_registry_tags_cb cb, void *arg,
                          strata_error *err)
{
    tags_op *o = strata_xcalloc(1, sizeof(*o));
    char *path;
    int rc;

    o->reg = reg;
    o->ref = strata_ref_dup(ref);
    o->max_pages = max_pages > 0 ? max_pages : DEFAULT_MAX_PAGES;
    o->cb = cb;
    o->arg = arg;
    path = strata_xasprintf("/v2/%s/tags/list?n=%d", strata_ref_path(ref),
                            page_size > 0 ? page_size : DEFAULT_PAGE_SIZE);
    rc = send_page(o, path, err);
    free(path);
    if (rc != 0) {
        strata_ref_free(o->ref);
        free(o);
    }
    return rc;
}
