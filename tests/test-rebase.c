/*
 * test-rebase.c - registry-side rebase (rebase/) and the push
 * operations under it (oci/push*.c), against real docker-registry
 * instances started by tests/registry/. Results are cross-checked with
 * skopeo (raw manifest and config), the registry's own request log
 * (mounts) and HEAD requests; the composition itself is also checked on
 * hand-written manifests (empty_layer history, refusals).
 */
#include <sys/wait.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "harness-registry.h"
#include "harness.h"
#include "oci.h"
#include "rebase.h"

#define ANN_NAME "org.opencontainers.image.base.name"
#define ANN_DIGEST "org.opencontainers.image.base.digest"

/* The registries and what was seeded into them (set up in main). */
static harness_registry reg, reg2;
static json_t *base_v1, *base_v2, *app, *mbase_v1, *mbase_v2, *mbase_amd;
static int have_skopeo;

/* ---- helpers ------------------------------------------------------------ */

static const char *
jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_t *
seed(const harness_registry *r, const char *spec)
{
    json_t *img = NULL;

    CHECK_EQ(harness_registry_seed(r, spec, &img), 0);
    CHECK(img != NULL);
    return img;
}

/* "127.0.0.1:PORT/rest" in a static buffer per slot. */
static const char *at(int slot, const harness_registry *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *
at(int slot, const harness_registry *r, const char *fmt, ...)
{
    static char bufs[6][512];
    char rest[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rest, sizeof(rest), fmt, ap);
    va_end(ap);
    snprintf(bufs[slot], sizeof(bufs[slot]), "%s/%s", r->host, rest);
    return bufs[slot];
}

static int
rebase(strata_rebase_result **res, const char *image, const char *old_base,
       const char *new_base, const char *tag, size_t chunk, strata_error *err)
{
    strata_rebase_opts o = {0};

    o.image = image;
    o.old_base = old_base;
    o.new_base = new_base;
    o.tag = tag;
    o.chunk_size = chunk;
    return strata_rebase_run(res, &o, err);
}

/* skopeo inspect [--config] --raw of host/image, parsed (new). */
static json_t *
skopeo_raw(const char *image, int config)
{
    char cmd[1024], *out;
    json_t *j;

    snprintf(cmd, sizeof(cmd),
             "skopeo inspect %s--raw --tls-verify=false docker://%s "
             "2>/dev/null",
             config ? "--config " : "", image);
    out = harness_capture(cmd);
    CHECK(out != NULL);
    j = json_loads(out, 0, NULL);
    free(out);
    CHECK(j != NULL);
    return j;
}

/* The digest a tag points to now, asked over the registry API (new). */
static char *
digest_of(const char *image)
{
    strata_ref *ref = NULL;
    strata_error err = {0};
    char *d = NULL;

    CHECK_OK(strata_ref_parse(&ref, image, &err), &err);
    CHECK_OK(strata_registry_digest_sync(&d, NULL, ref, NULL, &err), &err);
    strata_ref_free(ref);
    return d;
}

/* The digest member of manifests[i] of a seeded image. */
static const char *
seeded(const json_t *img, size_t i, const char *key)
{
    return jstr(json_array_get(json_object_get(img, "manifests"), i), key);
}

static const json_t *
seeded_array(const json_t *img, size_t i, const char *key)
{
    return json_object_get(json_array_get(json_object_get(img, "manifests"), i),
                           key);
}

/* Checks raw manifest layers = base's then own's; config likewise. */
static void
check_layers(const json_t *manifest, const json_t *config,
             const json_t *base_layers, const json_t *base_diff_ids,
             const json_t *img_layers, const json_t *img_diff_ids, size_t nold)
{
    const json_t *layers = json_object_get(manifest, "layers");
    const json_t *diff_ids =
        json_object_get(json_object_get(config, "rootfs"), "diff_ids");
    size_t nb = json_array_size(base_layers), i;
    size_t nown = json_array_size(img_layers) - nold;

    CHECK_EQ(json_array_size(layers), nb + nown);
    CHECK_EQ(json_array_size(diff_ids), nb + nown);
    for (i = 0; i < nb; i++) {
        CHECK_STR_EQ(jstr(json_array_get(layers, i), "digest"),
                     json_string_value(json_array_get(base_layers, i)));
        CHECK_STR_EQ(json_string_value(json_array_get(diff_ids, i)),
                     json_string_value(json_array_get(base_diff_ids, i)));
    }
    for (i = 0; i < nown; i++) {
        CHECK_STR_EQ(jstr(json_array_get(layers, nb + i), "digest"),
                     json_string_value(json_array_get(img_layers, nold + i)));
        CHECK_STR_EQ(json_string_value(json_array_get(diff_ids, nb + i)),
                     json_string_value(json_array_get(img_diff_ids, nold + i)));
    }
}

/* ---- the push operations ---------------------------------------------- */

typedef struct done {
    int n;
    strata_blob_outcome outcome;
    uint64_t bytes;
    int exists;
    char *digest;
    char *blob;
    size_t len;
    strata_error err;
} done;

static void
on_pushed(strata_blob_outcome outcome, uint64_t bytes, const strata_error *err,
          void *arg)
{
    done *d = arg;

    d->n++;
    d->outcome = outcome;
    d->bytes = bytes;
    if (err != NULL)
        d->err = *err;
}

static void
on_exists(int exists, int64_t size, const strata_error *err, void *arg)
{
    done *d = arg;

    (void) size;
    d->n++;
    d->exists = exists;
    if (err != NULL)
        d->err = *err;
}

static void
on_put(char *digest, const strata_error *err, void *arg)
{
    done *d = arg;

    d->n++;
    d->digest = digest;
    if (err != NULL)
        d->err = *err;
}

static void
on_blob(char *blob, size_t len, const strata_error *err, void *arg)
{
    done *d = arg;

    d->n++;
    d->blob = blob;
    d->len = len;
    if (err != NULL)
        d->err = *err;
}

static void
wait_for(uv_loop_t *loop, done *d)
{
    while (d->n == 0)
        uv_run(loop, UV_RUN_ONCE);
    CHECK_EQ(d->n, 1);
}

static char *
sha(const void *data, size_t len)
{
    char hex[65];

    strata_sha256_hex(hex, data, len);
    return strata_xasprintf("sha256:%s", hex);
}

static void
push(strata_registry *r, uv_loop_t *loop, const strata_ref *ref,
     const char *digest, const char *data, size_t len,
     const strata_blob_push_opts *po, done *d)
{
    strata_error err = {0};

    memset(d, 0, sizeof(*d));
    CHECK_OK(strata_registry_push_blob(r, ref, digest, data, len, po, on_pushed,
                                       d, &err),
             &err);
    wait_for(loop, d);
}

static int
exists(strata_registry *r, uv_loop_t *loop, const strata_ref *ref,
       const char *digest)
{
    strata_error err = {0};
    done d = {0};

    CHECK_OK(strata_registry_blob_exists(r, ref, digest, on_exists, &d, &err),
             &err);
    wait_for(loop, &d);
    CHECK_EQ(d.err.code, 0);
    return d.exists;
}

TEST(push_operations)
{
    uv_loop_t loop;
    strata_registry *r = NULL;
    strata_ref *ref = NULL, *other = NULL, *tagged = NULL;
    strata_blob_push_opts po = {0};
    strata_error err = {0};
    const char *mono = "monolithic blob for strata push tests\n";
    const char *chunked = "a chunked upload, PATCHed seven bytes at a time";
    char *dm = sha(mono, strlen(mono)), *dc = sha(chunked, strlen(chunked));
    char *dx = sha("never uploaded", 14), *body, *dbody;
    done d;

    uv_loop_init(&loop);
    CHECK_OK(strata_registry_new(&r, &loop, NULL, &err), &err);
    CHECK_OK(strata_ref_parse(&ref, at(0, &reg, "pushtest/a"), &err), &err);
    CHECK_OK(strata_ref_parse(&other, at(1, &reg, "pushtest/b"), &err), &err);

    /* Bad data never leaves: it must hash to the digest. */
    CHECK_EQ(strata_registry_push_blob(r, ref, dx, mono, strlen(mono), NULL,
                                       on_pushed, &d, &err),
             STRATA_EINVAL);

    /* Monolithic: POST + PUT; then HEAD sees it; again: existed. */
    CHECK_EQ(exists(r, &loop, ref, dm), 0);
    push(r, &loop, ref, dm, mono, strlen(mono), NULL, &d);
    CHECK_EQ(d.err.code, 0);
    CHECK_EQ(d.outcome, STRATA_BLOB_UPLOADED);
    CHECK_EQ(d.bytes, strlen(mono));
    CHECK_EQ(exists(r, &loop, ref, dm), 1);
    push(r, &loop, ref, dm, mono, strlen(mono), NULL, &d);
    CHECK_EQ(d.outcome, STRATA_BLOB_EXISTED);
    CHECK_EQ(d.bytes, 0);

    /* Chunked: POST, PATCH x7, PUT. */
    po.chunk_size = 7;
    push(r, &loop, ref, dc, chunked, strlen(chunked), &po, &d);
    CHECK_EQ(d.err.code, 0);
    CHECK_EQ(d.outcome, STRATA_BLOB_UPLOADED);
    CHECK_EQ(d.bytes, strlen(chunked));
    CHECK_EQ(exists(r, &loop, ref, dc), 1);

    /* Mount into another repository: 201, nothing uploaded. */
    memset(&po, 0, sizeof(po));
    po.mount_from = "pushtest/a";
    CHECK_EQ(exists(r, &loop, other, dc), 0);
    push(r, &loop, other, dc, NULL, 0, &po, &d);
    CHECK_EQ(d.err.code, 0);
    CHECK_EQ(d.outcome, STRATA_BLOB_MOUNTED);
    CHECK_EQ(d.bytes, 0);
    CHECK_EQ(exists(r, &loop, other, dc), 1);

    /* A mount of a blob the source lacks: refused, session abandoned. */
    push(r, &loop, other, dx, NULL, 0, &po, &d);
    CHECK_EQ(d.err.code, 0);
    CHECK_EQ(d.outcome, STRATA_BLOB_NOT_MOUNTED);
    CHECK_EQ(exists(r, &loop, other, dx), 0);

    /* GET blob, verified. */
    memset(&d, 0, sizeof(d));
    CHECK_OK(strata_registry_get_blob(r, other, dc, 0, on_blob, &d, &err),
             &err);
    wait_for(&loop, &d);
    CHECK_EQ(d.err.code, 0);
    CHECK_EQ(d.len, strlen(chunked));
    CHECK(memcmp(d.blob, chunked, d.len) == 0);
    free(d.blob);

    /* Manifest PUT: the registry's digest is the sha256 of our bytes. */
    body = strata_xasprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
        "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\","
        "\"size\":%zu},\"layers\":[]}",
        STRATA_MT_OCI_MANIFEST, dm, strlen(mono));
    dbody = sha(body, strlen(body));
    CHECK_OK(strata_ref_parse(&tagged, at(2, &reg, "pushtest/a:m1"), &err),
             &err);
    memset(&d, 0, sizeof(d));
    CHECK_OK(strata_registry_put_manifest(r, tagged, STRATA_MT_OCI_MANIFEST,
                                          body, strlen(body), on_put, &d, &err),
             &err);
    wait_for(&loop, &d);
    CHECK_EQ(d.err.code, 0);
    CHECK_STR_EQ(d.digest, dbody);
    free(d.digest);
    d.digest = digest_of(at(3, &reg, "pushtest/a:m1"));
    CHECK_STR_EQ(d.digest, dbody);
    free(d.digest);

    strata_registry_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&loop), 0);
    strata_ref_free(ref);
    strata_ref_free(other);
    strata_ref_free(tagged);
    free(dm);
    free(dc);
    free(dx);
    free(body);
    free(dbody);
}

/* ---- composition on hand-written images ------------------------------ */

static void
part(strata_rebase_part *p, const char *name, const char *manifest,
     const char *config)
{
    p->manifest = manifest;
    p->manifest_len = strlen(manifest);
    p->media_type = STRATA_MT_OCI_MANIFEST;
    p->config = config;
    p->config_len = strlen(config);
    p->name = name;
}

#define L(d)                                                                   \
    "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","          \
    "\"digest\":\"sha256:" d "\",\"size\":1}"
#define H(x) "{\"created_by\":\"" x "\"}"
#define E(x) "{\"created_by\":\"" x "\",\"empty_layer\":true}"
#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C64 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define D64 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define MAN(layers)                                                            \
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image."          \
    "manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci."      \
    "image.config.v1+json\",\"digest\":\"sha256:" A64 "\",\"size\":1},"        \
    "\"layers\":[" layers "]}"
#define CFG(diffs, hist)                                                       \
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-05-06T"   \
    "07:08:09Z\",\"config\":{\"Env\":[\"A=1\"]},\"rootfs\":{\"type\":"         \
    "\"layers\",\"diff_ids\":[" diffs "]},\"history\":[" hist "]}"
#define S(d) "\"sha256:" d "\""

TEST(compose_history_and_refusals)
{
    strata_rebase_part img, ob, nb;
    strata_rebase_image out;
    strata_error err = {0};
    json_t *m, *c, *h;

    /* old base: 1 layer, history with an empty entry (ENV) after it. */
    part(&ob, "old", MAN(L(A64)), CFG(S(A64), H("ADD a") "," E("ENV x")));
    /* new base: 2 layers, an empty entry between them. */
    part(&nb, "new", MAN(L(C64) "," L(D64)),
         CFG(S(C64) "," S(D64), H("ADD c") "," E("LABEL y") "," H("ADD d")));
    /* image: old base + one layer, with empty entries around it. */
    part(&img, "img", MAN(L(A64) "," L(B64)),
         CFG(S(A64) "," S(B64),
             H("ADD a") "," E("ENV x") "," E("WORKDIR /app") "," H(
                 "COPY b") "," E("CMD")));
    CHECK_OK(strata_rebase_compose(&out, &img, &ob, &nb, "reg/new:2",
                                   "sha256:" D64, &err),
             &err);
    CHECK_EQ(out.nbase_layers, 2);
    CHECK_EQ(out.nown_layers, 1);
    CHECK_EQ(out.already, 0);
    c = json_loads(out.config, 0, NULL);
    m = json_loads(out.manifest, 0, NULL);
    CHECK(c != NULL && m != NULL);
    h = json_object_get(c, "history");
    /* new base's 3 entries, then the image's 3 after the old base's 2. */
    CHECK_EQ(json_array_size(h), 6);
    CHECK_STR_EQ(jstr(json_array_get(h, 0), "created_by"), "ADD c");
    CHECK_STR_EQ(jstr(json_array_get(h, 2), "created_by"), "ADD d");
    CHECK_STR_EQ(jstr(json_array_get(h, 3), "created_by"), "WORKDIR /app");
    CHECK(json_is_true(json_object_get(json_array_get(h, 3), "empty_layer")));
    CHECK_STR_EQ(jstr(json_array_get(h, 4), "created_by"), "COPY b");
    CHECK_STR_EQ(jstr(json_array_get(h, 5), "created_by"), "CMD");
    CHECK_STR_EQ(jstr(c, "created"), "2024-05-06T07:08:09Z");
    CHECK_EQ(json_array_size(
                 json_object_get(json_object_get(c, "rootfs"), "diff_ids")),
             3);
    CHECK_STR_EQ(
        jstr(json_object_get(json_object_get(c, "config"), "Labels"), ANN_NAME),
        "reg/new:2");
    CHECK_STR_EQ(jstr(json_object_get(m, "annotations"), ANN_DIGEST),
                 "sha256:" D64);
    CHECK_STR_EQ(jstr(json_object_get(m, "config"), "digest"),
                 out.config_digest);
    CHECK_EQ(json_integer_value(
                 json_object_get(json_object_get(m, "config"), "size")),
             out.config_len);
    CHECK_STR_EQ(
        jstr(json_array_get(json_object_get(m, "layers"), 2), "digest"),
        "sha256:" B64);
    json_decref(c);
    json_decref(m);
    strata_rebase_image_release(&out);

    /* The new base as the old one: not a prefix -> refused. */
    CHECK_EQ(
        strata_rebase_compose(&out, &img, &nb, &nb, "x", "sha256:" A64, &err),
        STRATA_ECONFLICT);
    CHECK_CONTAINS(err.msg, "is not built on 'new'");
    CHECK(out.manifest == NULL);

    /* Layers match but history doesn't start with the base's. */
    part(&img, "img", MAN(L(A64) "," L(B64)),
         CFG(S(A64) "," S(B64), E("ENV x") "," H("ADD a") "," H("COPY b")));
    part(&ob, "old", MAN(L(A64)), CFG(S(A64), H("ADD a")));
    CHECK_EQ(
        strata_rebase_compose(&out, &img, &ob, &nb, "x", "sha256:" A64, &err),
        STRATA_ECONFLICT);
    CHECK_CONTAINS(err.msg, "history of 'img'");

    /* A Docker manifest cannot take OCI base layers. */
    part(&img, "img", MAN(L(A64) "," L(B64)),
         CFG(S(A64) "," S(B64), H("ADD a") "," H("COPY b")));
    img.media_type = STRATA_MT_DOCKER_MANIFEST;
    CHECK_EQ(
        strata_rebase_compose(&out, &img, &ob, &nb, "x", "sha256:" A64, &err),
        STRATA_ECONFLICT);
    CHECK_CONTAINS(err.msg, "media types differ");
}

/* ---- rebases against the registry ------------------------------------ */

TEST(rebase_single_platform)
{
    strata_rebase_result *res = NULL;
    strata_error err = {0};
    json_t *m, *c, *labels;
    char *raw, cmd[600];
    strata_registry *r = NULL;
    strata_ref *ref = NULL;
    uv_loop_t loop;
    size_t i;

    CHECK_OK(rebase(&res, at(0, &reg, "app:1"), at(1, &reg, "base:v1"),
                    at(2, &reg, "base:v2"), "rebased", 0, &err),
             &err);
    CHECK_STR_EQ(res->ref, at(3, &reg, "app:rebased"));
    CHECK_EQ(res->nplatforms, 1);
    CHECK_EQ(res->already, 0);
    /* v2's 3 layers mounted, app's 2 there already, the config sent. */
    CHECK_EQ(res->blobs_mounted, 3);
    CHECK_EQ(res->blobs_existed, 2);
    CHECK_EQ(res->blobs_uploaded, 1);
    {
        char *now = digest_of(at(4, &reg, "app:rebased"));

        CHECK_STR_EQ(now, res->digest);
        free(now);
    }
    if (have_skopeo) {
        m = skopeo_raw(at(4, &reg, "app:rebased"), 0);
        c = skopeo_raw(at(4, &reg, "app:rebased"), 1);
        check_layers(m, c, seeded_array(base_v2, 0, "layers"),
                     seeded_array(base_v2, 0, "diff_ids"),
                     seeded_array(app, 0, "layers"),
                     seeded_array(app, 0, "diff_ids"), 2);
        /* history: v2's 3 entries + app's 2 own. */
        CHECK_EQ(json_array_size(json_object_get(c, "history")), 5);
        labels = json_object_get(json_object_get(c, "config"), "Labels");
        CHECK_STR_EQ(jstr(labels, ANN_NAME), at(5, &reg, "base:v2"));
        CHECK_STR_EQ(jstr(labels, ANN_DIGEST), jstr(base_v2, "digest"));
        CHECK_STR_EQ(jstr(json_object_get(m, "annotations"), ANN_NAME),
                     at(5, &reg, "base:v2"));
        CHECK_STR_EQ(jstr(json_object_get(m, "annotations"), ANN_DIGEST),
                     jstr(base_v2, "digest"));
        CHECK_STR_EQ(jstr(c, "created"), "2024-03-04T05:06:07Z");
        json_decref(m);
        json_decref(c);
    }
    /*
     * The registry answered 201 to the mounts (blobs_mounted), and only
     * the config and the manifest went over the wire; the layers are in
     * app's repository now.
     */
    if (have_skopeo) {
        snprintf(cmd, sizeof(cmd),
                 "skopeo inspect --raw --tls-verify=false docker://%s",
                 at(4, &reg, "app:rebased"));
        raw = harness_capture(cmd);
        CHECK(raw != NULL);
        m = json_loads(raw, 0, NULL);
        CHECK_EQ(res->bytes_pushed,
                 strlen(raw) + json_integer_value(json_object_get(
                                   json_object_get(m, "config"), "size")));
        json_decref(m);
        free(raw);
    }
    uv_loop_init(&loop);
    CHECK_OK(strata_registry_new(&r, &loop, NULL, &err), &err);
    CHECK_OK(strata_ref_parse(&ref, at(0, &reg, "app"), &err), &err);
    for (i = 0; i < 3; i++)
        CHECK_EQ(exists(r, &loop, ref,
                        json_string_value(json_array_get(
                            seeded_array(base_v2, 0, "layers"), i))),
                 1);
    strata_registry_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&loop), 0);
    strata_ref_free(ref);
    strata_rebase_result_free(res);
}

TEST(rebase_is_idempotent)
{
    strata_rebase_result *a = NULL, *b = NULL, *c = NULL;
    strata_error err = {0};

    CHECK_OK(rebase(&a, at(0, &reg, "app:1"), at(1, &reg, "base:v1"),
                    at(2, &reg, "base:v2"), "idem", 0, &err),
             &err);
    CHECK_OK(rebase(&b, at(0, &reg, "app:1"), at(1, &reg, "base:v1"),
                    at(2, &reg, "base:v2"), "idem", 0, &err),
             &err);
    CHECK_STR_EQ(a->digest, b->digest);
    /* Second time everything is there: nothing but the manifest sent. */
    CHECK_EQ(b->blobs_uploaded, 0);
    CHECK_EQ(b->blobs_mounted, 0);
    /* Rebasing the result itself (on v2 already) changes nothing. */
    CHECK_OK(rebase(&c, at(0, &reg, "app:idem"), at(1, &reg, "base:v1"),
                    at(2, &reg, "base:v2"), "idem", 0, &err),
             &err);
    CHECK_EQ(c->already, 1);
    CHECK_STR_EQ(c->digest, a->digest);
    strata_rebase_result_free(a);
    strata_rebase_result_free(b);
    strata_rebase_result_free(c);
}

TEST(refuses_when_old_base_is_not_a_prefix)
{
    strata_rebase_result *res = NULL;
    strata_error err = {0};
    char *before, *after;

    /* base:v2 is not what app:1 was built on; push onto app:1 itself. */
    before = digest_of(at(0, &reg, "app:1"));
    CHECK_EQ(rebase(&res, at(0, &reg, "app:1"), at(1, &reg, "base:v2"),
                    at(2, &reg, "base:v2"), "1", 0, &err),
             STRATA_ECONFLICT);
    CHECK(res == NULL);
    CHECK_CONTAINS(err.msg, "is not built on");
    after = digest_of(at(0, &reg, "app:1"));
    CHECK_STR_EQ(after, before);
    free(before);
    free(after);
}

TEST(refuses_other_media_types)
{
    strata_rebase_result *res = NULL;
    strata_error err = {0};

    CHECK_EQ(rebase(&res, at(0, &reg, "app:1"), at(1, &reg, "base:v1"),
                    at(2, &reg, "dbase:v2"), "media", 0, &err),
             STRATA_ECONFLICT);
    CHECK_CONTAINS(err.msg, "media types differ");
    {
        strata_ref *ref = NULL;
        char *d = NULL;

        CHECK_OK(strata_ref_parse(&ref, at(3, &reg, "app:media"), &err), &err);
        CHECK_EQ(strata_registry_digest_sync(&d, NULL, ref, NULL, &err),
                 STRATA_ENOTFOUND);
        strata_ref_free(ref);
    }
}

/* mapp:1, an index of two apps, each on its platform of mbase:v1. */
static void
push_multi_app(void)
{
    strata_registry *r = NULL;
    strata_ref *ref = NULL;
    strata_error err = {0};
    json_t *amd, *arm, *idx;
    char spec[1024], *body;
    uv_loop_t loop;
    done d = {0};

    snprintf(spec, sizeof(spec),
             "{\"name\":\"mapp\",\"tag\":\"amd64\",\"platforms\":"
             "[\"linux/amd64\"],\"layers\":[\"amd app 1\\n\",\"amd app "
             "2\\n\"],\"base\":{\"name\":\"mbase\",\"digest\":\"%s\"}}",
             seeded(mbase_v1, 0, "digest"));
    amd = seed(&reg, spec);
    snprintf(spec, sizeof(spec),
             "{\"name\":\"mapp\",\"tag\":\"arm64\",\"platforms\":"
             "[\"linux/arm64\"],\"layers\":[\"arm app 1\\n\",\"arm app "
             "2\\n\"],\"base\":{\"name\":\"mbase\",\"digest\":\"%s\"}}",
             seeded(mbase_v1, 1, "digest"));
    arm = seed(&reg, spec);
    idx = json_pack(
        "{s:i, s:s, s:[{s:s, s:s, s:I, s:{s:s, s:s}}, {s:s, s:s, s:I, "
        "s:{s:s, s:s}}]}",
        "schemaVersion", 2, "mediaType", STRATA_MT_OCI_INDEX, "manifests",
        "mediaType", STRATA_MT_OCI_MANIFEST, "digest", jstr(amd, "digest"),
        "size",
        json_integer_value(json_object_get(
            json_array_get(json_object_get(amd, "manifests"), 0), "size")),
        "platform", "architecture", "amd64", "os", "linux", "mediaType",
        STRATA_MT_OCI_MANIFEST, "digest", jstr(arm, "digest"), "size",
        json_integer_value(json_object_get(
            json_array_get(json_object_get(arm, "manifests"), 0), "size")),
        "platform", "architecture", "arm64", "os", "linux");
    CHECK(idx != NULL);
    body = json_dumps(idx, JSON_COMPACT);
    uv_loop_init(&loop);
    CHECK_OK(strata_registry_new(&r, &loop, NULL, &err), &err);
    CHECK_OK(strata_ref_parse(&ref, at(0, &reg, "mapp:1"), &err), &err);
    CHECK_OK(strata_registry_put_manifest(r, ref, STRATA_MT_OCI_INDEX, body,
                                          strlen(body), on_put, &d, &err),
             &err);
    wait_for(&loop, &d);
    CHECK_EQ(d.err.code, 0);
    free(d.digest);
    strata_registry_close(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&loop), 0);
    strata_ref_free(ref);
    free(body);
    json_decref(idx);
    json_decref(amd);
    json_decref(arm);
}

TEST(rebase_multi_arch_index)
{
    strata_rebase_result *res = NULL;
    strata_error err = {0};
    json_t *idx, *m, *c, *mans;
    size_t i;

    push_multi_app();
    CHECK_OK(rebase(&res, at(0, &reg, "mapp:1"), at(1, &reg, "mbase:v1"),
                    at(2, &reg, "mbase:v2"), "rebased", 0, &err),
             &err);
    CHECK_EQ(res->nplatforms, 2);
    CHECK_STR_EQ(res->media_type, STRATA_MT_OCI_INDEX);
    CHECK_STR_EQ(res->platforms[0], "linux/amd64");
    CHECK_STR_EQ(res->platforms[1], "linux/arm64");
    if (!have_skopeo) {
        strata_rebase_result_free(res);
        return;
    }
    idx = skopeo_raw(at(3, &reg, "mapp:rebased"), 0);
    CHECK_STR_EQ(jstr(idx, "mediaType"), STRATA_MT_OCI_INDEX);
    CHECK_STR_EQ(jstr(json_object_get(idx, "annotations"), ANN_DIGEST),
                 jstr(mbase_v2, "digest"));
    mans = json_object_get(idx, "manifests");
    CHECK_EQ(json_array_size(mans), 2);
    for (i = 0; i < 2; i++) {
        CHECK_STR_EQ(jstr(json_array_get(mans, i), "digest"),
                     res->platform_digests[i]);
        m = skopeo_raw(at(4, &reg, "mapp@%s", res->platform_digests[i]), 0);
        c = skopeo_raw(at(4, &reg, "mapp@%s", res->platform_digests[i]), 1);
        CHECK_STR_EQ(jstr(c, "architecture"), i == 0 ? "amd64" : "arm64");
        /* layers: v2's for this platform (2), then the app's own (2). */
        CHECK_EQ(json_array_size(json_object_get(m, "layers")), 4);
        CHECK_STR_EQ(
            jstr(json_array_get(json_object_get(m, "layers"), 0), "digest"),
            json_string_value(
                json_array_get(seeded_array(mbase_v2, i, "layers"), 0)));
        CHECK_STR_EQ(
            jstr(json_array_get(json_object_get(m, "layers"), 1), "digest"),
            json_string_value(
                json_array_get(seeded_array(mbase_v2, i, "layers"), 1)));
        CHECK_STR_EQ(
            json_string_value(json_array_get(
                json_object_get(json_object_get(c, "rootfs"), "diff_ids"), 1)),
            json_string_value(
                json_array_get(seeded_array(mbase_v2, i, "diff_ids"), 1)));
        CHECK_EQ(json_array_size(json_object_get(c, "history")), 4);
        json_decref(m);
        json_decref(c);
    }
    json_decref(idx);
    strata_rebase_result_free(res);
}

TEST(refuses_missing_platform)
{
    strata_rebase_result *res = NULL;
    strata_error err = {0};
    char *before, *after;

    before = digest_of(at(0, &reg, "mapp:1"));
    CHECK_EQ(rebase(&res, at(0, &reg, "mapp:1"), at(1, &reg, "mbase:v1"),
                    at(2, &reg, "mbase:amd"), "1", 0, &err),
             STRATA_ECONFLICT);
    CHECK_CONTAINS(err.msg, "has no platform 'linux/arm64'");
    after = digest_of(at(0, &reg, "mapp:1"));
    CHECK_STR_EQ(after, before);
    free(before);
    free(after);
}

TEST(rebase_into_another_registry_chunked)
{
    strata_rebase_result *res = NULL;
    strata_error err = {0};
    char *now;

    /* No mount across registries: layers are copied, in 100-byte PATCHes. */
    CHECK_OK(rebase(&res, at(0, &reg, "app:1"), at(1, &reg, "base:v1"),
                    at(2, &reg, "base:v2"), at(3, &reg2, "copy/app:2"), 100,
                    &err),
             &err);
    CHECK_EQ(res->blobs_mounted, 0);
    CHECK_EQ(res->blobs_uploaded, 6); /* 3 + 2 layers and the config */
    CHECK(res->bytes_pushed > 0);
    now = digest_of(at(3, &reg2, "copy/app:2"));
    CHECK_STR_EQ(now, res->digest);
    free(now);
    strata_rebase_result_free(res);
}

TEST(rebase_with_basic_auth)
{
    harness_registry sec;
    strata_rebase_result *res = NULL;
    strata_registry_opts ro = {0};
    strata_rebase_opts o = {0};
    strata_error err = {0};
    json_t *b1, *b2, *img;
    char spec[512], image[200], old_base[200], new_base[200];

    if (harness_registry_missing(1) != NULL) {
        printf("# %s: Basic auth not checked\n", harness_registry_missing(1));
        return;
    }
    CHECK_EQ(harness_registry_start(&sec, "bot", "s3cret"), 0);
    b1 = seed(&sec, "{\"name\":\"lib/base\",\"tag\":\"1\"}");
    b2 = seed(&sec, "{\"name\":\"lib/base\",\"tag\":\"2\",\"layers\":"
                    "[\"two\\n\"]}");
    snprintf(spec, sizeof(spec),
             "{\"name\":\"team/app\",\"tag\":\"1\",\"base\":{\"name\":"
             "\"lib/base\",\"digest\":\"%s\"}}",
             jstr(b1, "digest"));
    img = seed(&sec, spec);
    snprintf(image, sizeof(image), "%s/team/app:1", sec.host);
    snprintf(old_base, sizeof(old_base), "%s/lib/base:1", sec.host);
    snprintf(new_base, sizeof(new_base), "%s/lib/base:2", sec.host);
    o.image = image;
    o.old_base = old_base;
    o.new_base = new_base;
    o.tag = "2";
    o.defaults = &ro;
    /* Without credentials: refused by the registry, nothing pushed. */
    CHECK_EQ(strata_rebase_run(&res, &o, &err), STRATA_EAUTH);
    ro.username = "bot";
    ro.password = "s3cret";
    CHECK_OK(strata_rebase_run(&res, &o, &err), &err);
    CHECK_EQ(res->blobs_mounted, 1);
    CHECK_EQ(res->blobs_uploaded, 1);
    strata_rebase_result_free(res);
    json_decref(b1);
    json_decref(b2);
    json_decref(img);
    harness_registry_stop(&sec);
}

TEST(cli_prints_the_digest)
{
    const char *exe = getenv("STRATA_EXE");
    strata_rebase_result *res = NULL;
    strata_error err = {0};
    char cmd[1500], *out;

    if (exe == NULL) {
        printf("# STRATA_EXE not set: CLI not checked\n");
        return;
    }
    snprintf(cmd, sizeof(cmd),
             "%s rebase %s --old-base %s --new-base %s --tag cli 2>/dev/null",
             exe, at(0, &reg, "app:1"), at(1, &reg, "base:v1"),
             at(2, &reg, "base:v2"));
    out = harness_capture(cmd);
    CHECK(out != NULL);
    CHECK_OK(rebase(&res, at(0, &reg, "app:1"), at(1, &reg, "base:v1"),
                    at(2, &reg, "base:v2"), "rebased", 0, &err),
             &err);
    CHECK(strncmp(out, res->digest, strlen(res->digest)) == 0);
    free(out);
    strata_rebase_result_free(res);
    /* A refusal exits 1; bad usage 2. */
    snprintf(cmd, sizeof(cmd),
             "%s rebase %s --old-base %s --new-base %s --tag x "
             ">/dev/null 2>&1",
             exe, at(0, &reg, "app:1"), at(1, &reg, "base:v2"),
             at(2, &reg, "base:v2"));
    CHECK_EQ(WEXITSTATUS(system(cmd)), 1);
    snprintf(cmd, sizeof(cmd), "%s rebase %s >/dev/null 2>&1", exe,
             at(0, &reg, "app:1"));
    CHECK_EQ(WEXITSTATUS(system(cmd)), 2);
}

static void
stop_all(void)
{
    json_decref(base_v1);
    json_decref(base_v2);
    json_decref(app);
    json_decref(mbase_v1);
    json_decref(mbase_v2);
    json_decref(mbase_amd);
    harness_registry_stop(&reg);
    harness_registry_stop(&reg2);
}

int
main(void)
{
    const char *why = harness_registry_missing(0);
    char spec[1024];

    if (why != NULL)
        SKIP_ALL("%s", why);
    have_skopeo = system("command -v skopeo >/dev/null 2>&1") == 0;
    if (!have_skopeo)
        printf("# skopeo not installed: results not cross-checked\n");
    CHECK_EQ(harness_registry_start(&reg, NULL, NULL), 0);
    CHECK_EQ(harness_registry_start(&reg2, NULL, NULL), 0);
    atexit(stop_all);
    base_v1 = seed(&reg, "{\"name\":\"base\",\"tag\":\"v1\",\"layers\":"
                         "[\"base v1 a\\n\",\"base v1 b\\n\"]}");
    base_v2 = seed(&reg, "{\"name\":\"base\",\"tag\":\"v2\",\"layers\":"
                         "[\"base v2 a\\n\",\"base v2 b\\n\",\"base v2 "
                         "c\\n\"]}");
    snprintf(spec, sizeof(spec),
             "{\"name\":\"app\",\"tag\":\"1\",\"created\":"
             "\"2024-03-04T05:06:07Z\",\"layers\":[\"app one\\n\",\"app "
             "two\\n\"],\"base\":{\"name\":\"base\",\"digest\":\"%s\"}}",
             jstr(base_v1, "digest"));
    app = seed(&reg, spec);
    json_decref(seed(&reg, "{\"name\":\"dbase\",\"tag\":\"v2\",\"format\":"
                           "\"docker\",\"layers\":[\"docker base\\n\"]}"));
    mbase_v1 = seed(&reg, "{\"name\":\"mbase\",\"tag\":\"v1\",\"platforms\":"
                          "[\"linux/amd64\",\"linux/arm64\"],\"layers\":"
                          "[\"mbase v1 a\\n\",\"mbase v1 b\\n\"]}");
    mbase_v2 = seed(&reg, "{\"name\":\"mbase\",\"tag\":\"v2\",\"platforms\":"
                          "[\"linux/amd64\",\"linux/arm64\"],\"layers\":"
                          "[\"mbase v2 a\\n\",\"mbase v2 b\\n\"]}");
    mbase_amd = seed(&reg, "{\"name\":\"mbase\",\"tag\":\"amd\",\"index\":"
                           "true,\"platforms\":[\"linux/amd64\"],\"layers\":"
                           "[\"mbase amd only\\n\"]}");

    RUN(compose_history_and_refusals);
    RUN(push_operations);
    RUN(rebase_single_platform);
    RUN(rebase_is_idempotent);
    RUN(refuses_when_old_base_is_not_a_prefix);
    RUN(refuses_other_media_types);
    RUN(rebase_multi_arch_index);
    RUN(refuses_missing_platform);
    RUN(rebase_into_another_registry_chunked);
    RUN(rebase_with_basic_auth);
    RUN(cli_prints_the_digest);
    return harness_done();
}
