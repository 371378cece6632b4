/*
 * diff.c - GET /api/v1/diff?base=REF&from=DIGEST&to=DIGEST[&platform=P]:
 * what changed in a base between two digests, the JSON `strata diff
 * --format json` prints (docs/diff.schema.json). Without from and to, the
 * last update of a watched base: the two newest digests the state store
 * has seen for it. The handler checks the query on the loop and defers
 * the request; a worker reads both images from their registry (packages/,
 * with the configured credentials, copied: a SIGHUP may retire the
 * configuration meanwhile) through a store connection of its own, which
 * keeps each digest read, and the answer is sent back on the loop.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon-int.h"
#include "packages.h"

typedef struct diff_work {
    uv_work_t work;
    strata_api_req *req;
    char *store_path;
    char *old_ref, *new_ref, *platform;
    char *base; /* the base as given: its findings' key in the store */
    /* The registry's credentials and TLS options, copied. */
    char *username, *password, *ca_file;
    int insecure;
    /* The worker's answer. */
    json_t *doc;
    int status;
    strata_error err;
} diff_work;

static void
work_free(diff_work *w)
{
    free(w->store_path);
    free(w->old_ref);
    free(w->new_ref);
    free(w->platform);
    free(w->base);
    free(w->username);
    free(w->password);
    free(w->ca_file);
    json_decref(w->doc);
    free(w);
}

static int
read_side(strata_pkg_image **out, strata_store *st, const diff_work *w,
          const char *s, strata_error *err)
{
    strata_registry_opts opts = {0};
    strata_ref *ref = NULL;
    int rc;

    opts.username = w->username;
    opts.password = w->password;
    opts.ca_file = w->ca_file;
    opts.insecure = w->insecure;
    opts.max_retries = 1;
    if ((rc = strata_ref_parse(&ref, s, err)) == 0)
        rc = strata_pkg_image_read_sync(out, st, &opts, ref, w->platform, err);
    strata_ref_free(ref);
    return rc;
}

static void
diff_work_cb(uv_work_t *req)
{
    diff_work *w = req->data;
    strata_pkg_image *a = NULL, *b = NULL;
    strata_pkg_delta *d = NULL;
    strata_store *st = NULL;
    strata_ref *base = NULL;
    int rc;

    if ((rc = strata_store_open(&st, w->store_path, &w->err)) != 0 ||
        (rc = read_side(&a, st, w, w->old_ref, &w->err)) != 0 ||
        (rc = read_side(&b, st, w, w->new_ref, &w->err)) != 0) {
        /* A digest the registry does not have: 404; the rest is its. */
        w->status = rc == STRATA_ENOTFOUND ? 404 : 502;
        goto out;
    }
    d = strata_pkg_delta_new(a, b);
    if ((rc = strata_ref_parse(&base, w->base, &w->err)) != 0 ||
        (rc = strata_pkg_delta_link_stored(d, st, base, &w->err)) < 0) {
        w->status = 500;
        goto out;
    }
    w->doc = strata_pkg_delta_to_json(d);
    w->status = 200;
out:
    strata_ref_free(base);
    strata_pkg_delta_free(d);
    strata_pkg_image_free(a);
    strata_pkg_image_free(b);
    strata_store_close(st);
}

static void
diff_done_cb(uv_work_t *req, int status)
{
    diff_work *w = req->data;

    if (status != 0)
        strata_api_respond_error(w->req, 503, "cancelled");
    else if (w->status == 200)
        strata_api_respond_json(w->req, 200, w->doc);
    else
        strata_api_respond_error(w->req, w->status, "%s", w->err.msg);
    work_free(w);
}

/*
 * The two newest digests the store has seen for base (by its canonical
 * form, else its name) as BASE@OLD and BASE@NEW (new strings).
 */
static int
last_update(char **old, char **new_, strata_store *st, const strata_ref *ref,
            strata_error *err)
{
    strata_ref *with = NULL;
    json_t *list = NULL;
    size_t n = 0;
    int rc = 0, k;

    for (k = 0; k < 2 && n == 0 && rc == 0; k++) {
        json_decref(list);
        list = NULL;
        rc = strata_store_digests_list(
            &list, st, k == 0 ? strata_ref_string(ref) : strata_ref_name(ref),
            err);
        n = json_array_size(list);
    }
    if (rc == 0 && n < 2)
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no update of '%s' recorded (%zu digest%s seen)",
                              strata_ref_string(ref), n, n == 1 ? "" : "s");
    for (k = 0; rc == 0 && k < 2; k++) {
        const char *dg = json_string_value(json_object_get(
            json_array_get(list, n - 2 + (size_t) k), "digest"));

        if ((rc = strata_ref_with_digest(&with, ref, dg, err)) != 0)
            break;
        *(k == 0 ? old : new_) = strata_xstrdup(strata_ref_string(with));
        strata_ref_free(with);
        with = NULL;
    }
    json_decref(list);
    return rc;
}

/* BASE@DIGEST as a new string, or an error naming the parameter. */
static int
with_digest(char **out, const strata_ref *ref, const char *digest,
            const char *param, strata_error *err)
{
    strata_ref *with = NULL;
    strata_error e = {0};

    if (strata_ref_with_digest(&with, ref, digest, &e) != 0)
        return strata_error_set(err, STRATA_EINVAL, "bad '%s': %s", param,
                                e.msg);
    *out = strata_xstrdup(strata_ref_string(with));
    strata_ref_free(with);
    return 0;
}

void
strata_daemon__on_diff(strata_api_req *req, void *arg)
{
    strata_daemon *d = arg;
    char *base = NULL, *from = NULL, *to = NULL, *platform = NULL;
    strata_ref *ref = NULL;
    strata_error err = {0};
    const strata_config_registry *r;
    diff_work *w = strata_xcalloc(1, sizeof(*w));
    int status = 400;

    strata_api_req_query(&base, req, "base", NULL);
    strata_api_req_query(&from, req, "from", NULL);
    strata_api_req_query(&to, req, "to", NULL);
    strata_api_req_query(&platform, req, "platform", NULL);
    if (base == NULL || *base == '\0') {
        strata_error_set(&err, STRATA_EINVAL, "missing 'base'");
        goto fail;
    }
    if ((from == NULL) != (to == NULL)) {
        strata_error_set(&err, STRATA_EINVAL,
                         "give both 'from' and 'to', or neither");
        goto fail;
    }
    if (strata_ref_parse(&ref, base, &err) != 0 ||
        (platform != NULL && strata_platform_validate(platform, &err) != 0))
        goto fail;
    if (from != NULL) {
        if (with_digest(&w->old_ref, ref, from, "from", &err) != 0 ||
            with_digest(&w->new_ref, ref, to, "to", &err) != 0)
            goto fail;
    } else if (last_update(&w->old_ref, &w->new_ref, d->store, ref, &err) !=
               0) {
        status = err.code == STRATA_ENOTFOUND ? 404 : 500;
        goto fail;
    }
    w->req = req;
    w->store_path = strata_xstrdup(strata_store_path(d->store));
    w->platform = strata_xstrdup(platform ? platform : "linux/amd64");
    w->base = strata_xstrdup(strata_ref_string(ref));
    if ((r = strata_config_registry_find(d->config, strata_ref_domain(ref))) !=
        NULL) {
        strata_registry_opts o = {0};

        strata_config_registry_opts(&o, r);
        w->username = o.username ? strata_xstrdup(o.username) : NULL;
        w->password = o.password ? strata_xstrdup(o.password) : NULL;
        w->ca_file = o.ca_file ? strata_xstrdup(o.ca_file) : NULL;
        w->insecure = o.insecure;
    }
    w->work.data = w;
    if (uv_queue_work(&d->loop, &w->work, diff_work_cb, diff_done_cb) != 0) {
        strata_error_set(&err, STRATA_EINTERNAL, "cannot queue the diff");
        status = 500;
        w->req = NULL;
        goto fail;
    }
    strata_api_req_defer(req);
    w = NULL;
    goto out;
fail:
    strata_api_respond_error(req, status, "%s", err.msg);
out:
    if (w != NULL)
        work_free(w);
    strata_ref_free(ref);
    free(base);
    free(from);
    free(to);
    free(platform);
}
