/*
 * referrers.c - what points at a manifest: the OCI 1.1 referrers API
 * (GET /v2/NAME/referrers/DIGEST, with ?artifactType= filtering), and,
 * where a registry does not serve it (it answers 404, as Debian's
 * docker-registry 2.8 does), the referrers tag schema: an index tagged
 * "sha256-<hex>" that lists them. Also a manifest GET with a caller's body
 * limit, for the small artifact manifests signatures live in.
 *
 * Everything here comes from outside and is checked before use: the body
 * limit is the transfer's, the answer must be an index whose entries are
 * descriptors with valid digests, and the list is cut at a bound.
 */
#include <stdlib.h>
#include <string.h>

#include "oci-int.h"

/* ---- a manifest with a body limit ------------------------------------- */

typedef struct mop {
    strata_registry *reg;
    strata_ref *ref;
    size_t max;
    strata_registry_manifest_cb cb;
    void *arg;
} mop;

/* Every manifest type, and the artifact manifests signatures come in. */
#define ARTIFACT_ACCEPT STRATA_MANIFEST_ACCEPT

static void
on_limited_manifest(const strata_http_response *resp, const strata_error *rerr,
                    void *arg)
{
    mop *o = arg;
    strata_error err = {0};
    strata_manifest *m = NULL;
    const char *hdr;

    if (rerr != NULL) {
        err = *rerr;
        if (err.code == STRATA_ETOOBIG)
            strata_error_set(&err, STRATA_ETOOBIG,
                             "manifest '%s' is over %zu bytes: refused unread",
                             strata_ref_string(o->ref), o->max);
    } else if (strata_manifest_parse(
                   &m, resp->body.ptr, resp->body.len,
                   strata_http_response_header(resp, "content-type"),
                   &err) != 0) {
        strata_error_wrap(&err, "'%s'", strata_ref_string(o->ref));
    } else {
        hdr = strata_http_response_header(resp, "docker-content-digest");
        if (strata_ref_digest(o->ref) != NULL &&
            strcmp(strata_ref_digest(o->ref), m->digest) != 0)
            strata_error_set(&err, STRATA_EPROTO,
                             "digest mismatch for '%s': content is '%s'",
                             strata_ref_string(o->ref), m->digest);
        else if (hdr != NULL && strncmp(hdr, "sha256:", 7) == 0 &&
                 strcmp(hdr, m->digest) != 0)
            strata_error_set(&err, STRATA_EPROTO,
                             "digest mismatch for '%s': registry says '%s', "
                             "content is '%s'",
                             strata_ref_string(o->ref), hdr, m->digest);
        if (err.code != 0) {
            strata_manifest_free(m);
            m = NULL;
        }
    }
    o->cb(m, err.code ? &err : NULL, o->arg);
    strata_ref_free(o->ref);
    free(o);
}

int
strata_registry_get_manifest_max(strata_registry *reg, const strata_ref *ref,
                                 size_t max, strata_registry_manifest_cb cb,
                                 void *arg, strata_error *err)
{
    strata_oci__req_opts opts = {0};
    mop *o = strata_xcalloc(1, sizeof(*o));
    const char *reference =
        strata_ref_digest(ref) ? strata_ref_digest(ref) : strata_ref_tag(ref);
    char *path;
    int rc;

    o->reg = reg;
    o->ref = strata_ref_dup(ref);
    o->max = max ? max : STRATA_REFERRERS_MAX_BYTES;
    o->cb = cb;
    o->arg = arg;
    opts.accept = ARTIFACT_ACCEPT;
    opts.max_body = o->max;
    path = strata_xasprintf("/v2/%s/manifests/%s", strata_ref_path(ref),
                            reference);
    rc = strata_oci__request_ex(reg, strata_ref_domain(ref),
                                strata_ref_path(ref), "GET", path, &opts,
                                on_limited_manifest, o, err);
    free(path);
    if (rc != 0) {
        strata_ref_free(o->ref);
        free(o);
    }
    return rc;
}

/* ---- referrers ---------------------------------------------------------- */

typedef struct rop {
    strata_registry *reg;
    strata_ref *ref; /* the repository */
    char *digest;
    char *artifact_type; /* filter, or NULL */
    size_t max;
    strata_registry_referrers_cb cb;
    void *arg;
    strata_referrers *out;
    strata_error api_err; /* why the API was not used */
} rop;

void
strata_referrers_free(strata_referrers *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n; i++) {
        free(r->items[i].digest);
        free(r->items[i].media_type);
        free(r->items[i].artifact_type);
        json_decref(r->items[i].annotations);
    }
    free(r->items);
    free(r->note);
    free(r);
}

static void
rop_done(rop *o, const strata_error *err)
{
    strata_referrers *out = err ? NULL : o->out;

    if (err != NULL)
        strata_referrers_free(o->out);
    o->out = NULL;
    o->cb(out, err, o->arg);
    strata_ref_free(o->ref);
    free(o->digest);
    free(o->artifact_type);
    free(o);
}

/*
 * Reads an index's manifests[] into o->out, keeping entries of the wanted
 * artifactType (all when filtered says the registry already did it, or no
 * filter was asked for).
 */
static int
parse_index(rop *o, const char *body, size_t len, int filtered,
            strata_error *err)
{
    json_error_t jerr;
    json_t *j, *list, *d;
    size_t i, cap = 0;
    int rc = 0;

    if (len > 0 && memchr(body, '\0', len) != NULL)
        return strata_error_set(err, STRATA_EPROTO,
                                "referrers of '%s': malformed answer: NUL byte",
                                o->digest);
    j = json_loadb(body, len, 0, &jerr);
    list = json_object_get(j, "manifests");
    if (!json_is_object(j) || !json_is_array(list)) {
        rc = strata_error_set(
            err, STRATA_EPROTO, "referrers of '%s': malformed answer: %s",
            o->digest,
            j == NULL ? jerr.text : "not an index with a manifests list");
        goto out;
    }
    json_array_foreach (list, i, d) {
        const char *dg = json_string_value(json_object_get(d, "digest"));
        const char *mt = json_string_value(json_object_get(d, "mediaType"));
        const char *at = json_string_value(json_object_get(d, "artifactType"));
        json_t *ann = json_object_get(d, "annotations");
        strata_referrer *r;

        if (!json_is_object(d) || dg == NULL ||
            strata_digest_validate(dg, NULL) != 0) {
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "referrers of '%s': entry %zu is not a "
                                  "descriptor",
                                  o->digest, i + 1);
            goto out;
        }
        if (!filtered && o->artifact_type != NULL &&
            (at == NULL || strcmp(at, o->artifact_type) != 0))
            continue;
        if (o->out->n == STRATA_REFERRERS_MAX) {
            o->out->cut = 1;
            free(o->out->note);
            o->out->note = strata_xasprintf(
                "%zu referrers listed; only the first %d are read",
                json_array_size(list), STRATA_REFERRERS_MAX);
            break;
        }
        if (o->out->n == cap) {
            cap = cap ? cap * 2 : 8;
            o->out->items =
                strata_xrealloc(o->out->items, cap * sizeof(*o->out->items));
        }
        r = &o->out->items[o->out->n++];
        memset(r, 0, sizeof(*r));
        r->digest = strata_xstrdup(dg);
        r->media_type = mt ? strata_xstrdup(mt) : NULL;
        r->artifact_type = at ? strata_xstrdup(at) : NULL;
        r->size = json_integer_value(json_object_get(d, "size"));
        r->annotations = json_is_object(ann) ? json_incref(ann) : NULL;
    }
out:
    json_decref(j);
    return rc;
}

/* The referrers tag schema's index, "sha256-<hex>". */
static void
on_tag_index(const strata_http_response *resp, const strata_error *rerr,
             void *arg)
{
    rop *o = arg;
    strata_error err = {0};

    if (rerr != NULL && rerr->code == STRATA_ENOTFOUND) {
        /* No such tag: nothing refers to the digest. */
        rop_done(o, NULL);
        return;
    }
    if (rerr != NULL) {
        err = *rerr;
        if (err.code == STRATA_ETOOBIG)
            strata_error_set(&err, STRATA_ETOOBIG,
                             "referrers tag of '%s' is over %zu bytes: "
                             "refused unread",
                             o->digest, o->max);
        rop_done(o, &err);
        return;
    }
    if (parse_index(o, resp->body.ptr, resp->body.len, 0, &err) != 0)
        rop_done(o, &err);
    else
        rop_done(o, NULL);
}

static void
tag_schema(rop *o)
{
    strata_oci__req_opts opts = {0};
    strata_error err = {0};
    char *path;

    o->out->via_tag_schema = 1;
    opts.accept = STRATA_MT_OCI_INDEX;
    opts.max_body = o->max;
    path = strata_xasprintf("/v2/%s/manifests/sha256-%s",
                            strata_ref_path(o->ref), o->digest + 7);
    o->out->requests++;
    if (strata_oci__request_ex(o->reg, strata_ref_domain(o->ref),
                               strata_ref_path(o->ref), "GET", path, &opts,
                               on_tag_index, o, &err) != 0)
        rop_done(o, &err);
    free(path);
}

static void
on_api(const strata_http_response *resp, const strata_error *rerr, void *arg)
{
    rop *o = arg;
    strata_error err = {0};
    const char *filters;

    if (rerr != NULL) {
        if (rerr->code == STRATA_ECANCELED) {
            rop_done(o, rerr);
            return;
        }
        /*
         * 404: the registry does not serve the API (the spec's signal for
         * the tag schema). Anything else (a 500 after retries, garbage
         * too big to read) is noted, and the tag schema is still read:
         * a registry whose API is broken may have the tag.
         */
        if (rerr->code != STRATA_ENOTFOUND) {
            free(o->out->note);
            o->out->note = strata_xasprintf(
                "the referrers API failed (%s); read the tag schema",
                rerr->msg);
        }
        tag_schema(o);
        return;
    }
    filters = strata_http_response_header(resp, "oci-filters-applied");
    if (parse_index(o, resp->body.ptr, resp->body.len,
                    filters != NULL && strstr(filters, "artifactType") != NULL,
                    &err) != 0) {
        /* A broken answer is noted; the tag schema may still help. */
        free(o->out->note);
        o->out->note =
            strata_xasprintf("the referrers API answered garbage (%s); read "
                             "the tag schema",
                             err.msg);
        tag_schema(o);
        return;
    }
    rop_done(o, NULL);
}

int
strata_registry_referrers(strata_registry *reg, const strata_ref *ref,
                          const char *digest, const char *artifact_type,
                          size_t max, strata_registry_referrers_cb cb,
                          void *arg, strata_error *err)
{
    strata_oci__req_opts opts = {0};
    rop *o;
    char *path, *q = NULL;
    int rc;

    if ((rc = strata_digest_validate(digest, err)) != 0)
        return rc;
    if (strncmp(digest, "sha256:", 7) != 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "referrers of '%s': only sha256 digests are "
                                "supported",
                                digest);
    o = strata_xcalloc(1, sizeof(*o));
    o->reg = reg;
    o->ref = strata_ref_dup(ref);
    o->digest = strata_xstrdup(digest);
    o->artifact_type = artifact_type ? strata_xstrdup(artifact_type) : NULL;
    o->max = max ? max : STRATA_REFERRERS_MAX_BYTES;
    o->cb = cb;
    o->arg = arg;
    o->out = strata_xcalloc(1, sizeof(*o->out));
    if (artifact_type != NULL)
        q = strata_url_escape(artifact_type);
    path = strata_xasprintf("/v2/%s/referrers/%s%s%s", strata_ref_path(ref),
                            digest, q ? "?artifactType=" : "", q ? q : "");
    opts.accept = STRATA_MT_OCI_INDEX;
    opts.max_body = o->max;
    o->out->requests++;
    rc = strata_oci__request_ex(reg, strata_ref_domain(ref),
                                strata_ref_path(ref), "GET", path, &opts,
                                on_api, o, err);
    free(path);
    free(q);
    if (rc != 0) {
        strata_referrers_free(o->out);
        strata_ref_free(o->ref);
        free(o->digest);
        free(o->artifact_type);
        free(o);
    }
    return rc;
}
