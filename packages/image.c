/*
 * image.c - one image's packages: what the layers left turned into a
 * package list and a distribution (files -> image), the JSON form the
 * state store keeps, and the synchronous read of an image from its
 * registry.
 *
 * The read runs a private loop. It fetches the manifest (the platform's
 * from an index), asks the store whether that digest was read before,
 * and otherwise streams each layer through strata_pkg_files_apply: the
 * registry's body sink fills one buffer of at most READ_CHUNK bytes and
 * pauses the transfer while libarchive has not taken it, and libarchive's
 * read callback turns the loop until bytes come. So a layer costs two
 * buffers and libarchive's window, whatever its size. After the tar's end
 * the rest of the stream is still read, so the blob's size and digest are
 * always checked.
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "packages-int.h"
#include "store.h"

#define READ_CHUNK ((size_t) 1024 * 1024)
#define MAX_STATUS_D 4096
/* Each request's deadline when the caller sets none (a layer is one). */
#define LAYER_TIMEOUT_MS (5 * 60 * 1000)

void
strata_pkg__release(strata_pkg *p)
{
    free(p->name);
    free(p->version);
    free(p->arch);
    free(p->source);
}

static int
pkg_cmp(const void *a, const void *b)
{
    const strata_pkg *x = a, *y = b;
    int rc = strcmp(x->name, y->name);

    return rc != 0 ? rc : strcmp(x->arch, y->arch);
}

void
strata_pkg_sort(strata_pkg *pkgs, size_t n)
{
    if (n > 1)
        qsort(pkgs, n, sizeof(*pkgs), pkg_cmp);
}

void
strata_pkg_list_free(strata_pkg *pkgs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        strata_pkg__release(&pkgs[i]);
    free(pkgs);
}

void
strata_pkg_image_free(strata_pkg_image *img)
{

    if (img == NULL)
        return;
    strata_pkg_list_free(img->pkgs, img->npkgs);
    free(img->digest);
    free(img->platform);
    free(img->ecosystem);
    free(img->os_id);
    free(img->os_version_id);
    free(img->os_pretty);
    free(img);
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *
str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

json_t *
strata_pkg_image_to_json(const strata_pkg_image *img)
{
    json_t *o = json_object(), *a = json_array();
    size_t i;

    json_object_set_new(o, "digest", str_or_null(img->digest));
    json_object_set_new(o, "platform", str_or_null(img->platform));
    json_object_set_new(o, "ecosystem", str_or_null(img->ecosystem));
    json_object_set_new(o, "os_id", str_or_null(img->os_id));
    json_object_set_new(o, "os_version_id", str_or_null(img->os_version_id));
    json_object_set_new(o, "os_pretty", str_or_null(img->os_pretty));
    json_object_set_new(o, "compressed_size",
                        json_integer(img->compressed_size));
    json_object_set_new(o, "uncompressed_size",
                        json_integer(img->uncompressed_size));
    for (i = 0; i < img->npkgs; i++) {
        const strata_pkg *p = &img->pkgs[i];
        json_t *x = json_object();

        json_object_set_new(x, "name", json_string(p->name));
        json_object_set_new(x, "version", json_string(p->version));
        json_object_set_new(x, "arch", json_string(p->arch));
        if (p->source != NULL)
            json_object_set_new(x, "source", json_string(p->source));
        json_array_append_new(a, x);
    }
    json_object_set_new(o, "packages", a);
    return o;
}

static char *
dup_member(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? strata_xstrdup(s) : NULL;
}

int
strata_pkg_image_from_json(strata_pkg_image **out, const json_t *j,
                           strata_error *err)
{
    strata_pkg_image *img;
    const json_t *a = json_object_get(j, "packages");
    size_t i;

    *out = NULL;
    if (!json_is_object(j) || !json_is_array(a))
        return strata_error_set(err, STRATA_EPROTO,
                                "malformed package database record");
    img = strata_xcalloc(1, sizeof(*img));
    img->digest = dup_member(j, "digest");
    img->platform = dup_member(j, "platform");
    img->ecosystem = dup_member(j, "ecosystem");
    img->os_id = dup_member(j, "os_id");
    img->os_version_id = dup_member(j, "os_version_id");
    img->os_pretty = dup_member(j, "os_pretty");
    img->compressed_size =
        json_integer_value(json_object_get(j, "compressed_size"));
    img->uncompressed_size =
        json_integer_value(json_object_get(j, "uncompressed_size"));
    img->pkgs = strata_xcalloc(json_array_size(a) + 1, sizeof(*img->pkgs));
    for (i = 0; i < json_array_size(a); i++) {
        const json_t *x = json_array_get(a, i);
        strata_pkg *p = &img->pkgs[img->npkgs];

        p->name = dup_member(x, "name");
        p->version = dup_member(x, "version");
        p->arch = dup_member(x, "arch");
        p->source = dup_member(x, "source");
        img->npkgs++;
        if (p->name == NULL || p->version == NULL || p->arch == NULL) {
            strata_pkg_image_free(img);
            return strata_error_set(err, STRATA_EPROTO,
                                    "malformed package database record: "
                                    "package %zu",
                                    i);
        }
    }
    *out = img;
    return 0;
}

/* ---- files -> image ------------------------------------------------------ */

static int
read_dpkg(strata_pkg_image *img, const strata_pkg_files *f, strata_error *err)
{
    const char *names[MAX_STATUS_D];
    const char *data;
    size_t len, n, i;
    int rc;

    if ((data = strata_pkg_files_get(f, STRATA_PKG__STATUS, &len)) != NULL) {
        img->ecosystem = strata_xstrdup("dpkg");
        if ((rc = strata_pkg_dpkg_parse(&img->pkgs, &img->npkgs,
                                        "/" STRATA_PKG__STATUS, data, len,
                                        err)) != 0)
            return rc;
    }
    n = strata_pkg_files_list(f, STRATA_PKG__STATUS_D, names, MAX_STATUS_D);
    if (n == MAX_STATUS_D)
        return strata_error_set(err, STRATA_ETOOBIG,
                                "more than %d files in '/%s'", MAX_STATUS_D - 1,
                                STRATA_PKG__STATUS_D);
    for (i = 0; i < n; i++) {
        char *name = strata_xasprintf("/%s", names[i]);

        data = strata_pkg_files_get(f, names[i], &len);
        if (img->ecosystem == NULL)
            img->ecosystem = strata_xstrdup("dpkg");
        rc = data == NULL ? 0
                          : strata_pkg_dpkg_parse(&img->pkgs, &img->npkgs, name,
                                                  data, len, err);
        free(name);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int
read_apk(strata_pkg_image *img, const strata_pkg_files *f, strata_error *err)
{
    size_t len;
    const char *data = strata_pkg_files_get(f, STRATA_PKG__APK, &len);

    if (data == NULL)
        return 0;
    img->ecosystem = strata_xstrdup("apk");
    return strata_pkg_apk_parse(&img->pkgs, &img->npkgs, "/" STRATA_PKG__APK,
                                data, len, err);
}

static int
read_rpm(strata_pkg_image *img, const strata_pkg_files *f, strata_error *err)
{
    static const char *const paths[] = {
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
        "var/lib/rpm/rpmdb.sqlite",
    };
    const char *data;
    size_t len, i;
    int rc;

    for (i = 0; i < 2; i++) {
        char *name;

        if ((data = strata_pkg_files_get(f, paths[i], &len)) == NULL)
            continue;
        name = strata_xasprintf("/%s", paths[i]);
        img->ecosystem = strata_xstrdup("rpm");
        rc =
            strata_pkg_rpm_parse(&img->pkgs, &img->npkgs, name, data, len, err);
        free(name);
        return rc;
    }
    return 0;
}

static const char *const unsupported[] = {
    "var/lib/rpm/Packages",
    "var/lib/rpm/Packages.db",
    "usr/lib/sysimage/rpm/Packages.db",
};

int
strata_pkg_files_image(strata_pkg_image **out, const strata_pkg_files *f,
                       strata_error *err)
{
    strata_pkg_image *img = strata_xcalloc(1, sizeof(*img));
    const char *data;
    const char *osr = "etc/os-release";
    size_t len, i;
    int rc;

    *out = NULL;
    if ((data = strata_pkg_files_get(f, osr, &len)) == NULL) {
        osr = "usr/lib/os-release";
        data = strata_pkg_files_get(f, osr, &len);
    }
    if (data != NULL) {
        char *name = strata_xasprintf("/%s", osr);

        rc = strata_pkg_os_release_parse(img, name, data, len, err);
        free(name);
        if (rc != 0)
            goto fail;
    }
    if ((rc = read_dpkg(img, f, err)) != 0)
        goto fail;
    if (img->ecosystem == NULL && (rc = read_apk(img, f, err)) != 0)
        goto fail;
    if (img->ecosystem == NULL && (rc = read_rpm(img, f, err)) != 0)
        goto fail;
    if (img->ecosystem == NULL) {
        for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
            if (strata_pkg_files_get(f, unsupported[i], NULL) != NULL) {
                rc = strata_error_set(err, STRATA_EINVAL,
                                      "package database '/%s' is not "
                                      "supported (rpm's sqlite database is; "
                                      "Berkeley DB and ndb are not)",
                                      unsupported[i]);
                goto fail;
            }
    }
    strata_pkg_sort(img->pkgs, img->npkgs);
    *out = img;
    return 0;
fail:
    strata_pkg_image_free(img);
    return rc;
}

/* ---- reading from the registry ------------------------------------------ */

typedef struct src {
    uv_loop_t *loop;
    strata_buf in;  /* filled by the sink */
    strata_buf out; /* what libarchive holds */
    strata_http_transfer *paused;
    int done, stop;
    strata_error err;
} src;

static int
on_sink(strata_http_transfer *t, const char *data, size_t len, void *arg)
{
    src *s = arg;

    if (s->stop)
        return STRATA_ECANCELED;
    if (s->in.len > 0 && s->in.len + len > READ_CHUNK) {
        s->paused = t;
        return STRATA_HTTP_PAUSE;
    }
    strata_buf_add(&s->in, data, len);
    return 0;
}

static void
on_stream_done(const strata_error *err, void *arg)
{
    src *s = arg;

    s->done = 1;
    s->paused = NULL;
    if (err != NULL)
        s->err = *err;
}

static void
resume(src *s)
{
    strata_http_transfer *t = s->paused;

    if (t != NULL) {
        s->paused = NULL;
        strata_http_resume(t);
    }
}

static int
on_read(const void **data, size_t *len, void *arg, strata_error *err)
{
    src *s = arg;
    strata_buf tmp;

    while (s->in.len == 0) {
        if (s->done) {
            if (s->err.code != 0)
                return strata_error_set(err, s->err.code, "%s", s->err.msg);
            *data = NULL;
            *len = 0;
            return 0;
        }
        if (s->paused != NULL)
            resume(s);
        else
            uv_run(s->loop, UV_RUN_ONCE);
    }
    tmp = s->out;
    s->out = s->in;
    s->in = tmp;
    strata_buf_reset(&s->in);
    resume(s);
    *data = s->out.ptr;
    *len = s->out.len;
    return 0;
}

/* Streams one layer into f. */
static int
read_layer(strata_pkg_files *f, int64_t *tar_bytes, strata_registry *reg,
           uv_loop_t *loop, const strata_ref *ref, const strata_descriptor *d,
           strata_error *err)
{
    src s = {0};
    const void *data;
    size_t len;
    int rc;

    s.loop = loop;
    strata_buf_init(&s.in);
    strata_buf_init(&s.out);
    if ((rc = strata_registry_stream_blob(reg, ref, d->digest, d->size, on_sink,
                                          on_stream_done, &s, err)))
        goto out;
    rc = strata_pkg_files_apply(f, d->digest, on_read, &s, tar_bytes, err);
    if (rc == 0) {
        /* The tar ended: read the rest, so size and digest are checked. */
        do {
            rc = on_read(&data, &len, &s, err);
        } while (rc == 0 && len > 0);
    }
    if (!s.done) {
        s.stop = 1;
        resume(&s);
        while (!s.done)
            uv_run(loop, UV_RUN_ONCE);
    }
out:
    strata_buf_release(&s.in);
    strata_buf_release(&s.out);
    return rc;
}

typedef struct wait_manifest {
    int done;
    strata_manifest *m;
    strata_image_config *c;
    strata_error err;
} wait_manifest;

static void
on_manifest(strata_manifest *m, const strata_error *err, void *arg)
{
    wait_manifest *w = arg;

    w->done = 1;
    w->m = m;
    if (err != NULL)
        w->err = *err;
}

static void
on_config(strata_image_config *c, const strata_error *err, void *arg)
{
    wait_manifest *w = arg;

    w->done = 1;
    w->c = c;
    if (err != NULL)
        w->err = *err;
}

static int
wait_for(wait_manifest *w, uv_loop_t *loop, strata_error *err)
{
    while (!w->done)
        uv_run(loop, UV_RUN_ONCE);
    if (w->err.code != 0)
        return strata_error_set(err, w->err.code, "%s", w->err.msg);
    return 0;
}

/* The platform's image manifest of ref (new). */
static int
get_manifest(strata_manifest **out, strata_registry *reg, uv_loop_t *loop,
             const strata_ref *ref, const char *platform, strata_error *err)
{
    wait_manifest w = {0};
    strata_ref *pref = NULL;
    const strata_descriptor *d;
    int rc;

    *out = NULL;
    if ((rc = strata_registry_get_manifest(reg, ref, on_manifest, &w, err)) ||
        (rc = wait_for(&w, loop, err)))
        return rc;
    if (w.m->is_index) {
        if ((d = strata_manifest_find_platform(w.m, platform)) == NULL) {
            rc = strata_error_set(err, STRATA_ENOTFOUND,
                                  "'%s' has no image for platform '%s'",
                                  strata_ref_name(ref), platform);
            goto out;
        }
        if ((rc = strata_ref_with_digest(&pref, ref, d->digest, err)))
            goto out;
        strata_manifest_free(w.m);
        memset(&w, 0, sizeof(w));
        if ((rc = strata_registry_get_manifest(reg, pref, on_manifest, &w,
                                               err)) ||
            (rc = wait_for(&w, loop, err)))
            goto out;
        if (w.m->is_index) {
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "'%s' for '%s' is an index inside an index",
                                  d->digest, strata_ref_name(ref));
            goto out;
        }
    } else {
        /* One image: its config says which platform it is for. */
        wait_manifest wc = {0};
        char *have;

        if ((rc = strata_registry_get_config(reg, ref, w.m->config.digest,
                                             on_config, &wc, err)) ||
            (rc = wait_for(&wc, loop, err)))
            goto out;
        have = strata_xasprintf(
            "%s/%s%s%s", wc.c->os ? wc.c->os : "", wc.c->arch ? wc.c->arch : "",
            wc.c->variant ? "/" : "", wc.c->variant ? wc.c->variant : "");
        if (strncmp(have, platform, strlen(have)) != 0 &&
            strncmp(platform, have, strlen(platform)) != 0)
            rc = strata_error_set(err, STRATA_ENOTFOUND,
                                  "'%s' is an image for '%s', not '%s'",
                                  strata_ref_name(ref), have, platform);
        free(have);
        strata_image_config_free(wc.c);
        if (rc != 0)
            goto out;
    }
    *out = w.m;
    w.m = NULL;
out:
    strata_manifest_free(w.m);
    strata_ref_free(pref);
    return rc;
}

static int
from_store(strata_pkg_image **out, strata_store *st, const char *digest,
           const char *platform, strata_error *err)
{
    char *body = NULL;
    json_t *j;
    json_error_t jerr;
    int rc;

    if ((rc = strata_store_pkgdb_get(&body, st, digest, platform, err)) != 0)
        return rc;
    j = json_loads(body, 0, &jerr);
    free(body);
    if (j == NULL)
        return strata_error_set(err, STRATA_EPROTO,
                                "stored package database of '%s' is not JSON: "
                                "%s",
                                digest, jerr.text);
    rc = strata_pkg_image_from_json(out, j, err);
    json_decref(j);
    return rc;
}

int
strata_pkg_image_read_sync(strata_pkg_image **out, strata_store *st,
                           const strata_registry_opts *opts,
                           const strata_ref *ref, const char *platform,
                           strata_error *err)
{
    uv_loop_t loop;
    strata_registry *reg = NULL;
    strata_manifest *m = NULL;
    strata_pkg_files *f = NULL;
    strata_pkg_image *img = NULL, *alias = NULL;
    int64_t compressed = 0, uncompressed = 0;
    strata_error serr = {0};
    strata_registry_opts o = {0};
    size_t i;
    int rc;

    *out = NULL;
    if (platform == NULL)
        platform = "linux/amd64";
    /*
     * A request's deadline covers its whole transfer, and a layer is one
     * request: the registry's 30 s default is too short for a large one.
     */
    /*
     * A digest read before (under the digest asked for, an index's too:
     * see below) is content: kept, it is never asked of the registry
     * again. A fleet's pull requests for one base update read it once,
     * and the other jobs open no connection (a TLS one loads the CA
     * bundle, most of a job's CPU when every job did).
     */
    if (st != NULL && strata_ref_digest(ref) != NULL &&
        from_store(out, st, strata_ref_digest(ref), platform, &serr) == 0)
        return 0;
    strata_error_clear(&serr);
    if (opts != NULL)
        o = *opts;
    if (o.timeout_ms == 0)
        o.timeout_ms = LAYER_TIMEOUT_MS;
    uv_loop_init(&loop);
    if ((rc = strata_registry_new(&reg, &loop, &o, err)) != 0 ||
        (rc = get_manifest(&m, reg, &loop, ref, platform, err)) != 0)
        goto out;
    if (st != NULL &&
        (rc = from_store(&img, st, m->digest, platform, &serr)) == 0)
        goto done;
    if (st != NULL && rc != STRATA_ENOTFOUND) {
        rc = strata_error_set(err, serr.code, "%s", serr.msg);
        goto out;
    }
    f = strata_pkg_files_new();
    for (i = 0; i < m->nlayers; i++) {
        int64_t tar_bytes = 0;

        if ((rc = read_layer(f, &tar_bytes, reg, &loop, ref, &m->layers[i],
                             err)) != 0)
            goto out;
        compressed += m->layers[i].size;
        uncompressed += tar_bytes;
    }
    if ((rc = strata_pkg_files_image(&img, f, err)) != 0)
        goto out;
    img->digest = strata_xstrdup(m->digest);
    img->platform = strata_xstrdup(platform);
    img->compressed_size = compressed;
    img->uncompressed_size = uncompressed;
    if (st != NULL) {
        json_t *j = strata_pkg_image_to_json(img);
        char *body = json_dumps(j, JSON_COMPACT);

        rc = strata_store_pkgdb_put(st, img->digest, platform, body, err);
        free(body);
        json_decref(j);
        if (rc != 0)
            goto out;
    }
done:
    /*
     * Kept under the digest asked for as well, when it is an index's: the
     * stale report looks a base up by the digest a Dockerfile pins.
     */
    if (st != NULL && strata_ref_digest(ref) != NULL &&
        strcmp(strata_ref_digest(ref), img->digest) != 0 &&
        from_store(&alias, st, strata_ref_digest(ref), platform, &serr) != 0) {
        json_t *j = strata_pkg_image_to_json(img);
        char *body = json_dumps(j, JSON_COMPACT);

        if (strata_store_pkgdb_put(st, strata_ref_digest(ref), platform, body,
                                   &serr) != 0)
            log_warn("packages: '%s' not kept: %s", strata_ref_digest(ref),
                     serr.msg);
        free(body);
        json_decref(j);
    }
    strata_pkg_image_free(alias);
    *out = img;
    img = NULL;
    rc = 0;
out:
    strata_pkg_image_free(img);
    strata_pkg_files_free(f);
    strata_manifest_free(m);
    strata_registry_close(reg);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        log_warn("packages: loop left with open handles");
    return rc;
}
