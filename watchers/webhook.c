/*
 * webhook.c - registry push webhooks: verify a delivery, then turn its
 * JSON body into (canonical reference with tag, digest) pushes: CNCF
 * distribution, Docker Hub, Harbor, strata's generic shape, CloudEvents,
 * Quay, GHCR, ECR (EventBridge), ACR and Artifact Registry (Pub/Sub push). Each
 * sender kind has a verifier (a shared token compared in constant time, or an
 * HMAC-SHA256 of the raw body) and a parser for its payload shape; both
 * run before anything is trusted, and every field is type-checked, so a
 * malformed or forged delivery ends in STRATA_EAUTH or STRATA_EPROTO.
 * References go through the oci module, so a webhook's "ns/name" and a
 * configured "docker.io/ns/name:tag" compare equal.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "oci.h"
#include "watchers-int.h"

/* ---- the push list ------------------------------------------------------ */

typedef struct push_list {
    strata_watchers_webhook_push *items;
    size_t n;
    size_t cap;
} push_list;

static void
pushes_release(push_list *l)
{
    strata_watchers_webhook_free(l->items, l->n);
    memset(l, 0, sizeof(*l));
}

/* Takes ownership of ref and digest (may be NULL). Drops duplicates. */
static int
pushes_add(push_list *l, char *ref, char *digest, strata_error *err)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        const strata_watchers_webhook_push *p = &l->items[i];

        if (strcmp(p->ref, ref) == 0 &&
            (p->digest == NULL
                 ? digest == NULL
                 : digest != NULL && strcmp(p->digest, digest) == 0)) {
            free(ref);
            free(digest);
            return 0;
        }
    }
    if (l->n == STRATA_WATCHERS_WEBHOOK_MAX_PUSHES) {
        free(ref);
        free(digest);
        return strata_error_set(err, STRATA_ETOOBIG,
                                "webhook announces more than %d pushes",
                                STRATA_WATCHERS_WEBHOOK_MAX_PUSHES);
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = strata_xrealloc(l->items, l->cap * sizeof(*l->items));
    }
    l->items[l->n].ref = ref;
    l->items[l->n].digest = digest;
    l->n++;
    return 0;
}

/*
 * Turns a lower-level error (an invalid reference or digest inside the
 * payload) into STRATA_EPROTO with context in front of its message.
 */
static int
proto_wrap(strata_error *err, const char *what)
{
    if (err != NULL) {
        strata_error_wrap(err, "%s", what);
        err->code = STRATA_EPROTO;
    }
    return STRATA_EPROTO;
}

/*
 * Checks that parsing "host/repo:tag" kept host as the domain: a host
 * without a dot or port ("registry") would otherwise silently become a
 * Docker Hub namespace.
 */
static int
domain_kept(const strata_ref *ref, const char *host)
{
    const char *d = strata_ref_domain(ref);
    size_t hl = strlen(host);

    if (strcasecmp(d, host) == 0)
        return 1;
    /* index.docker.io and registry-1.docker.io normalise to docker.io. */
    return strcmp(d, "docker.io") == 0 && hl > 10 &&
           strcasecmp(host + hl - 10, ".docker.io") == 0;
}

/*
 * Adds the push of repo:tag on host (NULL for Docker Hub) with digest
 * (may be NULL), normalised through strata_ref_parse. what names the
 * payload item for messages ("events[2]").
 */
static int
add_push(push_list *l, const char *host, const char *repo, const char *tag,
         const char *digest, const char *what, strata_error *err)
{
    strata_ref *ref = NULL;
    char *s = NULL;
    int rc;

    if (host != NULL)
        s = strata_xasprintf("%s/%s:%s", host, repo, tag);
    else
        s = strata_xasprintf("docker.io/%s:%s", repo, tag);
    rc = strata_ref_parse(&ref, s, err);
    if (rc < 0) {
        rc = proto_wrap(err, what);
        goto out;
    }
    if (strata_ref_digest(ref) != NULL || strata_ref_tag(ref) == NULL ||
        strcmp(strata_ref_tag(ref), tag) != 0) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "%s: invalid tag '%s' in '%s'", what, tag, s);
        goto out;
    }
    if (host != NULL && !domain_kept(ref, host)) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "%s: '%s' is not a registry host (set the "
                              "endpoint's registry)",
                              what, host);
        goto out;
    }
    if (digest != NULL) {
        rc = strata_digest_validate(digest, err);
        if (rc < 0) {
            rc = proto_wrap(err, what);
            goto out;
        }
    }
    rc = pushes_add(l, strata_xstrdup(strata_ref_string(ref)),
                    digest ? strata_xstrdup(digest) : NULL, err);
out:
    strata_ref_free(ref);
    free(s);
    return rc;
}

/* ---- JSON helpers ------------------------------------------------------- */

/*
 * Looks up key in obj (which must be an object) as a string. *out is
 * borrowed; NULL when absent and !required. "" counts as absent.
 */
static int
get_str(const char **out, json_t *obj, const char *key, int required,
        const char *path, strata_error *err)
{
    json_t *v = json_object_get(obj, key); /* borrowed */

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return strata_error_set(err, STRATA_EPROTO,
                                    "webhook: missing '%s%s'", path, key);
        return 0;
    }
    if (!json_is_string(v))
        return strata_error_set(err, STRATA_EPROTO,
                                "webhook: '%s%s' is not a string", path, key);
    *out = json_string_value(v);
    if (**out == '\0') {
        *out = NULL;
        if (required)
            return strata_error_set(err, STRATA_EPROTO,
                                    "webhook: '%s%s' is empty", path, key);
    }
    return 0;
}

/* Looks up key in obj as an object (borrowed into *out). */
static int
get_obj(json_t **out, json_t *obj, const char *key, const char *path,
        strata_error *err)
{
    json_t *v = json_object_get(obj, key); /* borrowed */

    *out = NULL;
    if (v == NULL)
        return strata_error_set(err, STRATA_EPROTO, "webhook: missing '%s%s'",
                                path, key);
    if (!json_is_object(v))
        return strata_error_set(err, STRATA_EPROTO,
                                "webhook: '%s%s' is not an object", path, key);
    *out = v;
    return 0;
}

static int
get_array(json_t **out, json_t *obj, const char *key, const char *path,
          strata_error *err)
{
    json_t *v = json_object_get(obj, key); /* borrowed */

    *out = NULL;
    if (v == NULL)
        return strata_error_set(err, STRATA_EPROTO, "webhook: missing '%s%s'",
                                path, key);
    if (!json_is_array(v))
        return strata_error_set(err, STRATA_EPROTO,
                                "webhook: '%s%s' is not an array", path, key);
    *out = v;
    return 0;
}

/*
 * The host[:port] of an http(s) URL into a new string, or NULL when url
 * has no such part.
 */
static char *
url_host(const char *url)
{
    const char *p = strstr(url, "://"), *end;

    if (p == NULL)
        return NULL;
    p += 3;
    end = p + strcspn(p, "/?#");
    if (end == p || memchr(p, '@', (size_t) (end - p)) != NULL)
        return NULL;
    return strata_xstrndup(p, (size_t) (end - p));
}

/* ---- payload shapes ----------------------------------------------------- */

/* CNCF distribution: {"events":[{"action":"push","target":{...}}, ...]}. */
static int
parse_distribution(push_list *l, json_t *root, const char *registry,
                   strata_error *err)
{
    json_t *events, *ev;
    size_t i;
    int rc = 0;

    rc = get_array(&events, root, "events", "", err);
    if (rc < 0)
        return rc;
    json_array_foreach (events, i, ev) {
        char path[64], tpath[64];
        const char *action, *repo, *tag, *digest, *host = registry;
        json_t *target, *request;
        char *uhost = NULL;

        snprintf(path, sizeof(path), "events[%zu].", i);
        snprintf(tpath, sizeof(tpath), "events[%zu].target.", i);
        if (!json_is_object(ev))
            return strata_error_set(err, STRATA_EPROTO,
                                    "webhook: 'events[%zu]' is not an object",
                                    i);
        rc = get_str(&action, ev, "action", 1, path, err);
        if (rc < 0)
            return rc;
        if (strcmp(action, "push") != 0)
            continue;
        if ((rc = get_obj(&target, ev, "target", path, err)) < 0 ||
            (rc = get_str(&repo, target, "repository", 1, tpath, err)) < 0 ||
            (rc = get_str(&tag, target, "tag", 0, tpath, err)) < 0 ||
            (rc = get_str(&digest, target, "digest", 0, tpath, err)) < 0)
            return rc;
        /* Blob pushes and pushes by digest name no tag: nothing to watch. */
        if (tag == NULL)
            continue;
        if (host == NULL) {
            request = json_object_get(ev, "request"); /* borrowed */
            if (request != NULL && !json_is_object(request))
                return strata_error_set(err, STRATA_EPROTO,
                                        "webhook: '%srequest' is not an "
                                        "object",
                                        path);
            if (request != NULL) {
                char rpath[64];

                snprintf(rpath, sizeof(rpath), "events[%zu].request.", i);
                rc = get_str(&host, request, "host", 0, rpath, err);
                if (rc < 0)
                    return rc;
            }
        }
        if (host == NULL) {
            const char *url;

            rc = get_str(&url, target, "url", 0, tpath, err);
            if (rc < 0)
                return rc;
            host = uhost = url ? url_host(url) : NULL;
        }
        if (host == NULL)
            return strata_error_set(err, STRATA_EPROTO,
                                    "webhook: 'events[%zu]' names no registry "
                                    "host (set the endpoint's registry)",
                                    i);
        snprintf(path, sizeof(path), "webhook events[%zu]", i);
        rc = add_push(l, host, repo, tag, digest, path, err);
        free(uhost);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Docker Hub: {"push_data":{"tag":...},"repository":{"repo_name":...}}. */
static int
parse_dockerhub(push_list *l, json_t *root, strata_error *err)
{
    json_t *push_data, *repository;
    const char *tag, *repo;
    int rc;

    if ((rc = get_obj(&push_data, root, "push_data", "", err)) < 0 ||
        (rc = get_obj(&repository, root, "repository", "", err)) < 0 ||
        (rc = get_str(&tag, push_data, "tag", 1, "push_data.", err)) < 0 ||
        (rc = get_str(&repo, repository, "repo_name", 1, "repository.", err)) <
            0)
        return rc;
    return add_push(l, NULL, repo, tag, NULL, "webhook", err);
}

/*
 * Harbor's event data, {"resources":[...], "repository":{...}}: the
 * "event_data" of its default format and the "data" of its CloudEvents.
 * prefix names data in messages ("event_data.").
 */
static int
parse_harbor_data(push_list *l, json_t *data, const char *registry,
                  const char *prefix, strata_error *err)
{
    json_t *resources, *repository, *res;
    const char *repo;
    char rpath[64];
    size_t i;
    int rc;

    snprintf(rpath, sizeof(rpath), "%srepository.", prefix);
    if ((rc = get_array(&resources, data, "resources", prefix, err)) < 0 ||
        (rc = get_obj(&repository, data, "repository", prefix, err)) < 0 ||
        (rc = get_str(&repo, repository, "repo_full_name", 1, rpath, err)) < 0)
        return rc;
    json_array_foreach (resources, i, res) {
        char path[64];
        const char *tag, *digest, *url, *host = registry;
        char *uhost = NULL;

        snprintf(path, sizeof(path), "%sresources[%zu].", prefix, i);
        if (!json_is_object(res))
            return strata_error_set(err, STRATA_EPROTO,
                                    "webhook: '%sresources[%zu]' is not an "
                                    "object",
                                    prefix, i);
        if ((rc = get_str(&tag, res, "tag", 0, path, err)) < 0 ||
            (rc = get_str(&digest, res, "digest", 0, path, err)) < 0 ||
            (rc = get_str(&url, res, "resource_url", 0, path, err)) < 0)
            return rc;
        if (tag == NULL)
            continue; /* an untagged artifact */
        if (host == NULL && url != NULL && strchr(url, '/') != NULL)
            host = uhost = strata_xstrndup(url, strcspn(url, "/"));
        if (host == NULL)
            return strata_error_set(err, STRATA_EPROTO,
                                    "webhook: '%sresource_url' names no "
                                    "registry host (set the endpoint's "
                                    "registry)",
                                    path);
        snprintf(path, sizeof(path), "webhook %sresources[%zu]", prefix, i);
        rc = add_push(l, host, repo, tag, digest, path, err);
        free(uhost);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Harbor: {"type":"PUSH_ARTIFACT","event_data":{"resources":[...], ...}}. */
static int
parse_harbor(push_list *l, json_t *root, const char *registry,
             strata_error *err)
{
    json_t *data;
    const char *type;
    int rc;

    rc = get_str(&type, root, "type", 1, "", err);
    if (rc < 0)
        return rc;
    if (strcmp(type, "PUSH_ARTIFACT") != 0)
        return 0;
    if ((rc = get_obj(&data, root, "event_data", "", err)) < 0)
        return rc;
    return parse_harbor_data(l, data, registry, "event_data.", err);
}

/*
 * One Azure Container Registry event: {"action":"push","target":{
 * "repository","tag","digest"},"request":{"host"}}, the body of its
 * webhook and the data of Event Grid's ImagePushed. prefix as above.
 */
static int
parse_acr_event(push_list *l, json_t *ev, const char *registry,
                const char *prefix, strata_error *err)
{
    json_t *target, *request;
    const char *action, *repo, *tag, *digest, *host = registry;
    char tpath[64], rpath[64], what[64];
    int rc;

    snprintf(tpath, sizeof(tpath), "%starget.", prefix);
    snprintf(rpath, sizeof(rpath), "%srequest.", prefix);
    if ((rc = get_str(&action, ev, "action", 1, prefix, err)) < 0)
        return rc;
    /* ping, delete, chart_push, quarantine: nothing to watch. */
    if (strcmp(action, "push") != 0)
        return 0;
    if ((rc = get_obj(&target, ev, "target", prefix, err)) < 0 ||
        (rc = get_str(&repo, target, "repository", 1, tpath, err)) < 0 ||
        (rc = get_str(&tag, target, "tag", 0, tpath, err)) < 0 ||
        (rc = get_str(&digest, target, "digest", 0, tpath, err)) < 0)
        return rc;
    if (tag == NULL)
        return 0; /* a push by digest */
    if (host == NULL) {
        if ((rc = get_obj(&request, ev, "request", prefix, err)) < 0 ||
            (rc = get_str(&host, request, "host", 1, rpath, err)) < 0)
            return rc;
    }
    snprintf(what, sizeof(what), "webhook %starget", prefix);
    return add_push(l, host, repo, tag, digest, what, err);
}

/*
 * Quay repository push: {"repository":"ns/name","docker_url":
 * "quay.io/ns/name","updated_tags":["latest"]} (older Quay: a {tag: image
 * id} object). Its other notifications (builds) have no updated_tags.
 */
static int
parse_quay(push_list *l, json_t *root, const char *registry, strata_error *err)
{
    json_t *tags = json_object_get(root, "updated_tags"), *t;
    const char *repo, *url, *host = registry, *key;
    char *uhost = NULL;
    size_t i;
    int rc = 0;

    if (tags == NULL)
        return 0;
    if (!json_is_array(tags) && !json_is_object(tags))
        return strata_error_set(err, STRATA_EPROTO,
                                "webhook: 'updated_tags' is not an array");
    if ((rc = get_str(&repo, root, "repository", 1, "", err)) < 0 ||
        (rc = get_str(&url, root, "docker_url", host == NULL, "", err)) < 0)
        return rc;
    if (host == NULL) {
        if (strchr(url, '/') == NULL)
            return strata_error_set(err, STRATA_EPROTO,
                                    "webhook: 'docker_url' names no registry "
                                    "host (set the endpoint's registry)");
        host = uhost = strata_xstrndup(url, strcspn(url, "/"));
    }
    if (json_is_array(tags)) {
        json_array_foreach (tags, i, t) {
            char what[64];

            if (!json_is_string(t)) {
                rc = strata_error_set(err, STRATA_EPROTO,
                                      "webhook: 'updated_tags[%zu]' is not a "
                                      "string",
                                      i);
                break;
            }
            snprintf(what, sizeof(what), "webhook updated_tags[%zu]", i);
            rc = add_push(l, host, repo, json_string_value(t), NULL, what, err);
            if (rc < 0)
                break;
        }
    } else {
        json_object_foreach (tags, key, t) {
            /* The values are image ids, not manifest digests. */
            rc =
                add_push(l, host, repo, key, NULL, "webhook updated_tags", err);
            if (rc < 0)
                break;
        }
    }
    free(uhost);
    return rc;
}

/*
 * GitHub's "registry_package" and "package" events of a container
 * package (GHCR): {"action":"published","registry_package":{
 * "package_type":"CONTAINER","package_version":{"package_url":
 * "ghcr.io/owner/name:tag","container_metadata":{"tag":{"name","digest"}}}}}.
 * Pings, other events and other packages give no pushes.
 */
static int
parse_ghcr(push_list *l, json_t *root, const char *registry,
           const strata_watchers_webhook_request *req, strata_error *err)
{
    char *event = strata_watchers__header(req, "x-github-event");
    const char *key, *action, *ptype, *eco, *url, *tag, *digest;
    json_t *pkg, *ver, *meta, *tobj;
    char path[64], vpath[80], tpath[120], *repo = NULL, *host = NULL;
    size_t cut;
    int rc = 0;

    if (event == NULL)
        return strata_error_set(err, STRATA_EPROTO,
                                "webhook has no X-GitHub-Event header");
    if (strcmp(event, "registry_package") == 0)
        key = "registry_package";
    else if (strcmp(event, "package") == 0)
        key = "package";
    else
        goto out; /* ping and anything else */
    snprintf(path, sizeof(path), "%s.", key);
    snprintf(vpath, sizeof(vpath), "%s.package_version.", key);
    snprintf(tpath, sizeof(tpath), "%s.package_version.container_metadata.tag.",
             key);
    if ((rc = get_str(&action, root, "action", 1, "", err)) < 0)
        goto out;
    if (strcmp(action, "published") != 0 && strcmp(action, "updated") != 0)
        goto out;
    if ((rc = get_obj(&pkg, root, key, "", err)) < 0 ||
        (rc = get_str(&ptype, pkg, "package_type", 0, path, err)) < 0 ||
        (rc = get_str(&eco, pkg, "ecosystem", 0, path, err)) < 0)
        goto out;
    if (!(ptype != NULL && (strcasecmp(ptype, "container") == 0 ||
                            strcasecmp(ptype, "docker") == 0)) &&
        !(eco != NULL && (strcasecmp(eco, "container") == 0 ||
                          strcasecmp(eco, "docker") == 0)))
        goto out; /* an npm, Maven... package */
    if ((rc = get_obj(&ver, pkg, "package_version", path, err)) < 0 ||
        (rc = get_obj(&meta, ver, "container_metadata", vpath, err)) < 0 ||
        (rc = get_obj(&tobj, meta, "tag", vpath, err)) < 0 ||
        (rc = get_str(&tag, tobj, "name", 0, tpath, err)) < 0 ||
        (rc = get_str(&digest, tobj, "digest", 0, tpath, err)) < 0)
        goto out;
    if (tag == NULL)
        goto out; /* an untagged version (a platform image of a list) */
    if ((rc = get_str(&url, ver, "package_url", 1, vpath, err)) < 0)
        goto out;
    /* "ghcr.io/Owner/name:tag": GHCR names are lowercase. */
    cut = strlen(url);
    if (strrchr(url, ':') != NULL &&
        (strrchr(url, '/') == NULL || strrchr(url, ':') > strrchr(url, '/')))
        cut = (size_t) (strrchr(url, ':') - url);
    if (strchr(url, '/') == NULL || strchr(url, '/') > url + cut) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "webhook: '%spackage_url' names no registry "
                              "host",
                              vpath);
        goto out;
    }
    host = strata_xstrndup(url, strcspn(url, "/"));
    repo = strata_xstrndup(url + strlen(host) + 1, cut - strlen(host) - 1);
    for (char *p = repo; *p != '\0'; p++)
        *p = (char) tolower((unsigned char) *p);
    for (char *p = host; *p != '\0'; p++)
        *p = (char) tolower((unsigned char) *p);
    snprintf(path, sizeof(path), "webhook %s", key);
    rc = add_push(l, registry ? registry : host, repo, tag, digest, path, err);
out:
    free(event);
    free(repo);
    free(host);
    return rc;
}

/*
 * Amazon ECR through EventBridge: {"detail-type":"ECR Image Action",
 * "source":"aws.ecr","account","region","detail":{"action-type":"PUSH",
 * "result":"SUCCESS","repository-name","image-tag","image-digest"}}.
 * Other events the rule forwards give no pushes.
 */
static int
parse_ecr(push_list *l, json_t *root, const char *registry, strata_error *err)
{
    const char *dtype, *source, *account, *region, *action, *result, *repo,
        *tag, *digest;
    json_t *detail;
    char *host = NULL;
    int rc;

    if ((rc = get_str(&dtype, root, "detail-type", 1, "", err)) < 0 ||
        (rc = get_str(&source, root, "source", 1, "", err)) < 0)
        return rc;
    if (strcmp(dtype, "ECR Image Action") != 0 ||
        strcmp(source, "aws.ecr") != 0)
        return 0;
    if ((rc = get_obj(&detail, root, "detail", "", err)) < 0 ||
        (rc = get_str(&action, detail, "action-type", 1, "detail.", err)) < 0 ||
        (rc = get_str(&result, detail, "result", 0, "detail.", err)) < 0)
        return rc;
    if (strcmp(action, "PUSH") != 0 ||
        (result != NULL && strcmp(result, "SUCCESS") != 0))
        return 0;
    if ((rc = get_str(&repo, detail, "repository-name", 1, "detail.", err)) <
            0 ||
        (rc = get_str(&tag, detail, "image-tag", 0, "detail.", err)) < 0 ||
        (rc = get_str(&digest, detail, "image-digest", 0, "detail.", err)) < 0)
        return rc;
    if (tag == NULL)
        return 0; /* a push by digest */
    if (registry == NULL) {
        if ((rc = get_str(&account, root, "account", 1, "", err)) < 0 ||
            (rc = get_str(&region, root, "region", 1, "", err)) < 0)
            return rc;
        if (strspn(account, "0123456789") != strlen(account) ||
            strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
                strlen(region))
            return strata_error_set(err, STRATA_EPROTO,
                                    "webhook: 'account' or 'region' is not an "
                                    "AWS account id or region");
        /* The China regions live under amazonaws.com.cn. */
        host =
            strata_xasprintf("%s.dkr.ecr.%s.amazonaws.com%s", account, region,
                             strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    }
    rc = add_push(l, registry ? registry : host, repo, tag, digest,
                  "webhook detail", err);
    free(host);
    return rc;
}

/*
 * Google Artifact Registry through a Pub/Sub push subscription:
 * {"message":{"data":BASE64,"attributes":{...},"messageId"},
 * "subscription"}, data {"action":"INSERT","digest":"HOST/PATH@sha256:..",
 * "tag":"HOST/PATH:TAG"}. DELETEs and pushes by digest give no pushes.
 */
static int
parse_artifact_registry(push_list *l, json_t *root, strata_error *err)
{
    json_t *message, *data = NULL;
    const char *b64, *action, *tag, *dref;
    unsigned char *raw = NULL;
    size_t n = 0;
    strata_ref *ref = NULL, *dr = NULL;
    const char *digest = NULL;
    char *host = NULL;
    json_error_t jerr;
    int rc;

    if ((rc = get_obj(&message, root, "message", "", err)) < 0 ||
        (rc = get_str(&b64, message, "data", 1, "message.", err)) < 0)
        return rc;
    if (strata_watchers__base64_decode(&raw, &n, b64, strlen(b64), 0) != 0)
        return strata_error_set(err, STRATA_EPROTO,
                                "webhook: 'message.data' is not base64");
    data = json_loadb((const char *) raw, n, JSON_REJECT_DUPLICATES, &jerr);
    free(raw);
    if (data == NULL || !json_is_object(data)) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "webhook: 'message.data' is not a JSON object");
        goto out;
    }
    if ((rc = get_str(&action, data, "action", 1, "message.data.", err)) < 0 ||
        (rc = get_str(&tag, data, "tag", 0, "message.data.", err)) < 0 ||
        (rc = get_str(&dref, data, "digest", 0, "message.data.", err)) < 0)
        goto out;
    if (strcmp(action, "INSERT") != 0 || tag == NULL)
        goto out;
    rc = strata_ref_parse(&ref, tag, err);
    if (rc < 0) {
        rc = proto_wrap(err, "webhook 'message.data.tag'");
        goto out;
    }
    host = strata_xstrndup(tag, strcspn(tag, "/"));
    if (strata_ref_tag(ref) == NULL || strata_ref_digest(ref) != NULL ||
        strchr(tag, '/') == NULL || !domain_kept(ref, host)) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "webhook 'message.data.tag': '%s' is not "
                              "HOST/PATH:TAG",
                              tag);
        goto out;
    }
    if (dref != NULL) {
        rc = strata_ref_parse(&dr, dref, err);
        if (rc < 0) {
            rc = proto_wrap(err, "webhook 'message.data.digest'");
            goto out;
        }
        if (strata_ref_digest(dr) == NULL ||
            strcmp(strata_ref_name(dr), strata_ref_name(ref)) != 0) {
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "webhook 'message.data.digest' names "
                                  "another image than its 'tag'");
            goto out;
        }
        digest = strata_ref_digest(dr);
    }
    rc = pushes_add(l, strata_xstrdup(strata_ref_string(ref)),
                    digest ? strata_xstrdup(digest) : NULL, err);
out:
    strata_ref_free(ref);
    strata_ref_free(dr);
    json_decref(data);
    free(host);
    return rc;
}

/* ---- CloudEvents 1.0 ---------------------------------------------------- */

/* One event of the given type with its data (an object). */
static int
cloudevent_data(push_list *l, const char *type, json_t *data,
                const char *registry, const char *prefix, strata_error *err)
{
    if (strcmp(type, "harbor.artifact.pushed") == 0)
        return parse_harbor_data(l, data, registry, prefix, err);
    if (strcmp(type, "Microsoft.ContainerRegistry.ImagePushed") == 0)
        return parse_acr_event(l, data, registry, prefix, err);
    return 0; /* pulls, deletions, scans, other sources */
}

/* One structured-mode event: {"specversion":"1.0","type",...,"data"}. */
static int
cloudevent_structured(push_list *l, json_t *ev, const char *registry,
                      const char *path, strata_error *err)
{
    const char *spec, *type, *id, *source;
    json_t *data;
    char dpath[64];
    int rc;

    if (!json_is_object(ev))
        return strata_error_set(err, STRATA_EPROTO,
                                "webhook: '%s' is not a CloudEvent object",
                                *path ? path : "body");
    if ((rc = get_str(&spec, ev, "specversion", 1, path, err)) < 0 ||
        (rc = get_str(&type, ev, "type", 1, path, err)) < 0 ||
        (rc = get_str(&id, ev, "id", 1, path, err)) < 0 ||
        (rc = get_str(&source, ev, "source", 1, path, err)) < 0)
        return rc;
    if (strcmp(spec, "1.0") != 0)
        return strata_error_set(err, STRATA_EPROTO,
                                "webhook: CloudEvents specversion '%s' is "
                                "not 1.0",
                                spec);
    if (strcmp(type, "harbor.artifact.pushed") != 0 &&
        strcmp(type, "Microsoft.ContainerRegistry.ImagePushed") != 0)
        return 0;
    if (json_object_get(ev, "data") == NULL &&
        json_object_get(ev, "data_base64") != NULL)
        return strata_error_set(err, STRATA_EPROTO,
                                "webhook: '%sdata_base64' is not supported "
                                "(send JSON data)",
                                path);
    if ((rc = get_obj(&data, ev, "data", path, err)) < 0)
        return rc;
    snprintf(dpath, sizeof(dpath), "%sdata.", path);
    return cloudevent_data(l, type, data, registry, dpath, err);
}

/*
 * CloudEvents 1.0 over HTTP: binary mode (the attributes in ce-* headers,
 * the body is the data), structured mode (application/cloudevents+json)
 * or a batch (application/cloudevents-batch+json, an array).
 */
static int
parse_cloudevents(push_list *l, json_t *root, const char *registry,
                  const strata_watchers_webhook_request *req, strata_error *err)
{
    char *spec = strata_watchers__header(req, "ce-specversion");
    char *type = NULL, *id = NULL, *source = NULL;
    json_t *ev;
    size_t i;
    int rc = 0;

    if (spec != NULL) {
        type = strata_watchers__header(req, "ce-type");
        id = strata_watchers__header(req, "ce-id");
        source = strata_watchers__header(req, "ce-source");
        if (strcmp(spec, "1.0") != 0)
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "webhook: CloudEvents specversion in "
                                  "ce-specversion is not 1.0");
        else if (type == NULL || id == NULL || source == NULL)
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "webhook: binary CloudEvent lacks "
                                  "ce-%s",
                                  type == NULL ? "type"
                                  : id == NULL ? "id"
                                               : "source");
        else if (!json_is_object(root))
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "webhook: CloudEvent data is not a JSON "
                                  "object");
        else
            rc = cloudevent_data(l, type, root, registry, "", err);
    } else if (json_is_array(root)) {
        json_array_foreach (root, i, ev) {
            char path[32];

            snprintf(path, sizeof(path), "[%zu].", i);
            rc = cloudevent_structured(l, ev, registry, path, err);
            if (rc < 0)
                break;
        }
    } else {
        rc = cloudevent_structured(l, root, registry, "", err);
    }
    free(spec);
    free(type);
    free(id);
    free(source);
    return rc;
}

/* One {"ref":..., "digest":...} of the generic shape. */
static int
parse_generic_one(push_list *l, json_t *item, const char *path,
                  strata_error *err)
{
    const char *s, *digest;
    strata_ref *ref = NULL, *bare = NULL;
    char what[80];
    int rc;

    if ((rc = get_str(&s, item, "ref", 1, path, err)) < 0 ||
        (rc = get_str(&digest, item, "digest", 0, path, err)) < 0)
        return rc;
    snprintf(what, sizeof(what), "webhook '%sref'", path);
    rc = strata_ref_parse(&ref, s, err);
    if (rc < 0) {
        rc = proto_wrap(err, what);
        goto out;
    }
    if (strata_ref_tag(ref) == NULL) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "webhook '%sref': '%s' has no tag", path, s);
        goto out;
    }
    if (strata_ref_digest(ref) != NULL) {
        if (digest != NULL && strcmp(digest, strata_ref_digest(ref)) != 0) {
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "webhook '%s': 'ref' and 'digest' name "
                                  "different digests",
                                  path);
            goto out;
        }
        digest = strata_ref_digest(ref);
    }
    if (digest != NULL && (rc = strata_digest_validate(digest, err)) < 0) {
        snprintf(what, sizeof(what), "webhook '%sdigest'", path);
        rc = proto_wrap(err, what);
        goto out;
    }
    rc = strata_ref_with_digest(&bare, ref, NULL, err);
    if (rc < 0)
        goto out;
    rc = pushes_add(l, strata_xstrdup(strata_ref_string(bare)),
                    digest ? strata_xstrdup(digest) : NULL, err);
out:
    strata_ref_free(ref);
    strata_ref_free(bare);
    return rc;
}

/* strata's own: {"pushes":[{"ref":...,"digest":...}]} or one such object. */
static int
parse_generic(push_list *l, json_t *root, strata_error *err)
{
    json_t *arr, *item;
    size_t i;
    int rc;

    if (json_object_get(root, "pushes") == NULL)
        return parse_generic_one(l, root, "", err);
    rc = get_array(&arr, root, "pushes", "", err);
    if (rc < 0)
        return rc;
    json_array_foreach (arr, i, item) {
        char path[64];

        if (!json_is_object(item))
            return strata_error_set(err, STRATA_EPROTO,
                                    "webhook: 'pushes[%zu]' is not an object",
                                    i);
        snprintf(path, sizeof(path), "pushes[%zu].", i);
        rc = parse_generic_one(l, item, path, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- entry point -------------------------------------------------------- */

/*
 * Messages quote strings from the payload; keep them one printable line
 * whatever the sender put there, since the caller will log them.
 */
static void
one_line(strata_error *err)
{
    unsigned char *p;

    if (err == NULL)
        return;
    for (p = (unsigned char *) err->msg; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
}

int
strata_watchers_webhook_parse(strata_watchers_webhook_push **out,
                              size_t *out_len,
                              const strata_watchers_webhook_config *cfg,
                              const strata_watchers_webhook_request *req,
                              strata_error *err)
{
    push_list l = {0};
    json_t *root = NULL;
    json_error_t jerr;
    int rc;

    *out = NULL;
    *out_len = 0;
    if ((cfg->secret == NULL || *cfg->secret == '\0') &&
        !(cfg->kind == STRATA_WATCHERS_WEBHOOK_ARTIFACT_REGISTRY &&
          cfg->keys != NULL))
        return strata_error_set(err, STRATA_EINVAL,
                                "%s webhook has no secret configured",
                                strata_watchers_webhook_kind_name(cfg->kind));
    if (req->body_len > STRATA_WATCHERS_WEBHOOK_MAX_BODY)
        return strata_error_set(err, STRATA_ETOOBIG,
                                "webhook body is larger than %d bytes",
                                STRATA_WATCHERS_WEBHOOK_MAX_BODY);
    rc = strata_watchers__webhook_verify(cfg, req, err);
    if (rc < 0)
        return rc;
    if (req->body == NULL || req->body_len == 0)
        return strata_error_set(err, STRATA_EPROTO, "webhook body is empty");
    root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return strata_error_set(err, STRATA_EPROTO,
                                "webhook body is not JSON: %s at byte %d",
                                jerr.text, jerr.position);
    /* A CloudEvents batch is an array. */
    if (!json_is_object(root) &&
        !(cfg->kind == STRATA_WATCHERS_WEBHOOK_CLOUDEVENTS &&
          json_is_array(root))) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "webhook body is not a JSON object");
        goto out;
    }
    switch (cfg->kind) {
    case STRATA_WATCHERS_WEBHOOK_DISTRIBUTION:
        rc = parse_distribution(&l, root, cfg->registry, err);
        break;
    case STRATA_WATCHERS_WEBHOOK_DOCKERHUB:
        rc = parse_dockerhub(&l, root, err);
        break;
    case STRATA_WATCHERS_WEBHOOK_HARBOR:
        rc = parse_harbor(&l, root, cfg->registry, err);
        break;
    case STRATA_WATCHERS_WEBHOOK_GENERIC:
        rc = parse_generic(&l, root, err);
        break;
    case STRATA_WATCHERS_WEBHOOK_CLOUDEVENTS:
        rc = parse_cloudevents(&l, root, cfg->registry, req, err);
        break;
    case STRATA_WATCHERS_WEBHOOK_QUAY:
        rc = parse_quay(&l, root, cfg->registry, err);
        break;
    case STRATA_WATCHERS_WEBHOOK_GHCR:
        rc = parse_ghcr(&l, root, cfg->registry, req, err);
        break;
    case STRATA_WATCHERS_WEBHOOK_ECR:
        rc = parse_ecr(&l, root, cfg->registry, err);
        break;
    case STRATA_WATCHERS_WEBHOOK_ACR:
        rc = parse_acr_event(&l, root, cfg->registry, "", err);
        break;
    case STRATA_WATCHERS_WEBHOOK_ARTIFACT_REGISTRY:
        rc = parse_artifact_registry(&l, root, err);
        break;
    }
    if (rc < 0)
        goto out;
    *out = l.items;
    *out_len = l.n;
    memset(&l, 0, sizeof(l));
out:
    if (rc < 0)
        one_line(err);
    pushes_release(&l);
    json_decref(root);
    return rc;
}

void
strata_watchers_webhook_free(strata_watchers_webhook_push *pushes, size_t len)
{
    size_t i;

    if (pushes == NULL)
        return;
    for (i = 0; i < len; i++) {
        free(pushes[i].ref);
        free(pushes[i].digest);
    }
    free(pushes);
}
