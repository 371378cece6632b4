/*
 * test-registry.c - integration tests against a real docker-registry
 * started by tests/registry/: the harness itself (start, seed, stop,
 * cross-checked with skopeo and curl) and oci/'s registry client.
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "harness-registry.h"
#include "harness.h"
#include "oci.h"

static int have_skopeo;
static int have_curl;

/* A string member of a JSON object; borrowed. */
static const char *
jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Seeds spec into reg; the description registry.py printed (new). */
static json_t *
seed(const harness_registry *reg, const char *spec)
{
    json_t *img = NULL;
    int rc = harness_registry_seed(reg, spec, &img);

    CHECK_EQ(rc, 0);
    CHECK(img != NULL);
    return img;
}

/* The "Digest" skopeo reports for host/name:tag (caller frees). */
static char *
skopeo_digest(const harness_registry *reg, const char *image, int raw)
{
    char cmd[1024], creds[200] = "";
    json_t *j;
    char *out, *d = NULL;

    if (reg->user[0] != '\0')
        snprintf(creds, sizeof(creds), " --creds '%s:%s'", reg->user,
                 reg->password);
    if (raw) {
        /* The digest of the raw bytes: what a tag points to. */
        snprintf(cmd, sizeof(cmd),
                 "skopeo inspect --raw --tls-verify=false%s "
                 "docker://%s/%s | sha256sum",
                 creds, reg->host, image);
        out = harness_capture(cmd);
        if (out == NULL)
            return NULL;
        out[64] = '\0';
        d = malloc(72);
        snprintf(d, 72, "sha256:%s", out);
        free(out);
        return d;
    }
    snprintf(cmd, sizeof(cmd),
             "skopeo inspect --tls-verify=false%s docker://%s/%s 2>/dev/null",
             creds, reg->host, image);
    out = harness_capture(cmd);
    if (out == NULL)
        return NULL;
    j = json_loads(out, 0, NULL);
    free(out);
    if (j != NULL && jstr(j, "Digest") != NULL)
        d = strdup(jstr(j, "Digest"));
    json_decref(j);
    return d;
}

/* HTTP status of a GET with an optional Accept header, via curl. */
static int
curl_status(const harness_registry *reg, const char *path, const char *accept)
{
    char cmd[1024], hdr[300] = "", creds[200] = "";
    char *out;
    int status;

    if (accept != NULL)
        snprintf(hdr, sizeof(hdr), " -H 'Accept: %s'", accept);
    if (reg->user[0] != '\0')
        snprintf(creds, sizeof(creds), " -u '%s:%s'", reg->user, reg->password);
    snprintf(cmd, sizeof(cmd),
             "curl -s -o /dev/null -w '%%{http_code}'%s%s 'http://%s%s'", hdr,
             creds, reg->host, path);
    out = harness_capture(cmd);
    CHECK(out != NULL);
    status = atoi(out);
    free(out);
    return status;
}

TEST(harness_seeds_anonymous)
{
    harness_registry reg;
    json_t *img = NULL, *m;
    char *d;
    const char *digest;
    char path[512];

    CHECK_EQ(harness_registry_start(&reg, NULL, NULL), 0);
    CHECK(reg.port > 0);

    /* OCI manifest, single platform. */
    img = seed(&reg, "{\"name\":\"base/debian\",\"tag\":\"12\","
                     "\"layers\":[\"one\",{\"files\":{\"etc/"
                     "os-release\":\"ID=debian\\n\"}}],"
                     "\"labels\":{\"a\":\"b\"}}");
    digest = jstr(img, "digest");
    CHECK(digest != NULL && strncmp(digest, "sha256:", 7) == 0);
    CHECK_STR_EQ(jstr(img, "media_type"),
                 "application/vnd.oci.image.manifest.v1+json");
    m = json_array_get(json_object_get(img, "manifests"), 0);
    CHECK_EQ(json_array_size(json_object_get(m, "layers")), 2);
    CHECK_EQ(json_array_size(json_object_get(m, "diff_ids")), 2);
    if (have_skopeo) {
        d = skopeo_digest(&reg, "base/debian:12", 0);
        CHECK_STR_EQ(d, digest);
        free(d);
    }
    if (have_curl) {
        snprintf(path, sizeof(path), "/v2/base/debian/manifests/%s", digest);
        CHECK_EQ(curl_status(&reg, path,
                             "application/vnd.oci.image.manifest.v1+json"),
                 200);
        snprintf(path, sizeof(path), "/v2/base/debian/blobs/%s",
                 jstr(m, "config"));
        CHECK_EQ(curl_status(&reg, path, NULL), 200);
    }
    json_decref(img);

    /* Docker schema 2. */
    img =
        seed(&reg, "{\"name\":\"d/app\",\"tag\":\"v1\",\"format\":\"docker\"}");
    CHECK_STR_EQ(jstr(img, "media_type"),
                 "application/vnd.docker.distribution.manifest.v2+json");
    if (have_skopeo) {
        d = skopeo_digest(&reg, "d/app:v1", 0);
        CHECK_STR_EQ(d, jstr(img, "digest"));
        free(d);
    }
    json_decref(img);

    /* A two-platform OCI index. */
    img = seed(&reg, "{\"name\":\"multi\",\"tag\":[\"1\",\"latest\"],"
                     "\"platforms\":[\"linux/amd64\",\"linux/arm64/v8\"],"
                     "\"annotations\":{\"org.opencontainers.image.base.name\":"
                     "\"docker.io/library/debian:12\"}}");
    CHECK_STR_EQ(jstr(img, "media_type"),
                 "application/vnd.oci.image.index.v1+json");
    CHECK_EQ(json_array_size(json_object_get(img, "manifests")), 2);
    m = json_object_get(img, "manifests");
    CHECK_STR_EQ(jstr(json_array_get(m, 1), "platform"), "linux/arm64/v8");
    CHECK(strcmp(jstr(json_array_get(m, 0), "digest"),
                 jstr(json_array_get(m, 1), "digest")) != 0);
    if (have_skopeo) {
        d = skopeo_digest(&reg, "multi:1", 1);
        CHECK_STR_EQ(d, jstr(img, "digest"));
        free(d);
        d = skopeo_digest(&reg, "multi:latest", 0);
        CHECK_STR_EQ(d, jstr(img, "digest"));
        free(d);
    }
    if (have_curl) {
        /* DESIGN.md: an index is only served when Accept lists it. */
        CHECK_EQ(curl_status(&reg, "/v2/multi/manifests/1",
                             "application/vnd.oci.image.manifest.v1+json"),
                 404);
        CHECK_EQ(curl_status(&reg, "/v2/multi/manifests/1",
                             "application/vnd.oci.image.index.v1+json"),
                 200);
    }
    json_decref(img);
    harness_registry_stop(&reg);
}

TEST(harness_basic_auth)
{
    harness_registry reg;
    harness_registry anon;
    json_t *img = NULL;
    char *d;

    CHECK_EQ(harness_registry_start(&reg, "bob", "s3cret"), 0);
    img = seed(&reg, "{\"name\":\"private/app\"}");
    if (have_curl) {
        CHECK_EQ(curl_status(&reg, "/v2/", NULL), 200);
        /* The same registry without credentials. */
        anon = reg;
        anon.user[0] = '\0';
        CHECK_EQ(curl_status(&anon, "/v2/", NULL), 401);
    }
    if (have_skopeo) {
        d = skopeo_digest(&reg, "private/app:latest", 0);
        CHECK_STR_EQ(d, jstr(img, "digest"));
        free(d);
        anon = reg;
        anon.user[0] = '\0';
        d = skopeo_digest(&anon, "private/app:latest", 0);
        CHECK(d == NULL);
    }
    json_decref(img);
    harness_registry_stop(&reg);
}

TEST(harness_stops_registry)
{
    harness_registry reg;
    struct stat st;
    char dir[256];
    pid_t pid;

    CHECK_EQ(harness_registry_start(&reg, NULL, NULL), 0);
    pid = reg.pid;
    snprintf(dir, sizeof(dir), "%s", reg.dir);
    CHECK_EQ(kill(pid, 0), 0);
    CHECK_EQ(stat(dir, &st), 0);
    harness_registry_stop(&reg);
    CHECK_EQ(kill(pid, 0), -1);
    CHECK_EQ(errno, ESRCH);
    CHECK_EQ(stat(dir, &st), -1);
    harness_registry_stop(&reg); /* twice is fine */
}

/* ---- the registry client ---------------------------------------------- */

typedef struct client_ctx {
    strata_manifest *m;
    strata_image_config *c;
    char *digest;
    strata_error err;
    int calls;
} client_ctx;

static void
on_manifest(strata_manifest *m, const strata_error *err, void *arg)
{
    client_ctx *x = arg;

    x->calls++;
    x->m = m;
    if (err != NULL)
        x->err = *err;
}

static void
on_config(strata_image_config *c, const strata_error *err, void *arg)
{
    client_ctx *x = arg;

    x->calls++;
    x->c = c;
    if (err != NULL)
        x->err = *err;
}

static void
on_digest(char *digest, const strata_error *err, void *arg)
{
    client_ctx *x = arg;

    x->calls++;
    x->digest = digest;
    if (err != NULL)
        x->err = *err;
}

static strata_ref *
mkref(const harness_registry *reg, const char *rest)
{
    char s[512];
    strata_error err = {0};
    strata_ref *ref = NULL;

    snprintf(s, sizeof(s), "%s/%s", reg->host, rest);
    CHECK_OK(strata_ref_parse(&ref, s, &err), &err);
    return ref;
}

TEST(client_multi_arch_async)
{
    harness_registry reg;
    uv_loop_t loop;
    strata_registry *cl = NULL;
    strata_error err = {0};
    client_ctx a = {0}, b = {0}, c = {0}, d = {0};
    const strata_descriptor *arm;
    json_t *img, *mans;
    strata_ref *ref, *byd;
    int rc;

    CHECK_EQ(harness_registry_start(&reg, NULL, NULL), 0);
    img = seed(&reg, "{\"name\":\"team/multi\",\"tag\":\"2\","
                     "\"platforms\":[\"linux/amd64\",\"linux/arm64/v8\"],"
                     "\"labels\":{\"org.opencontainers.image.title\":\"m\"},"
                     "\"created\":\"2025-05-06T07:08:09Z\","
                     "\"layers\":[\"x\",\"y\"]}");
    mans = json_object_get(img, "manifests");
    ref = mkref(&reg, "team/multi:2");

    CHECK_EQ(uv_loop_init(&loop), 0);
    CHECK_OK(strata_registry_new(&cl, &loop, NULL, &err), &err);
    rc = strata_registry_get_manifest(cl, ref, on_manifest, &a, &err);
    CHECK_OK(rc, &err);
    rc = strata_registry_digest(cl, ref, NULL, on_digest, &b, &err);
    CHECK_OK(rc, &err);
    rc = strata_registry_digest(cl, ref, "linux/arm64", on_digest, &c, &err);
    CHECK_OK(rc, &err);
    CHECK_EQ(a.calls + b.calls + c.calls, 0); /* never from inside */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(b.calls, 1);
    CHECK_EQ(c.calls, 1);
    CHECK(a.m != NULL);
    CHECK(a.m->is_index);
    CHECK_STR_EQ(a.m->digest, jstr(img, "digest"));
    CHECK_STR_EQ(a.m->media_type, "application/vnd.oci.image.index.v1+json");
    CHECK_EQ(a.m->nmanifests, 2);
    arm = strata_manifest_find_platform(a.m, "linux/arm64/v8");
    CHECK(arm != NULL);
    CHECK_STR_EQ(arm->digest, jstr(json_array_get(mans, 1), "digest"));
    CHECK(strata_manifest_find_platform(a.m, "linux/arm64") == arm);
    CHECK(strata_manifest_find_platform(a.m, "linux/arm64/v7") == NULL);
    CHECK(strata_manifest_find_platform(a.m, "windows/amd64") == NULL);
    CHECK_STR_EQ(b.digest, jstr(img, "digest"));
    CHECK_STR_EQ(c.digest, arm->digest);

    /* The amd64 manifest by digest, then its config. */
    rc = strata_ref_with_digest(&byd, ref,
                                jstr(json_array_get(mans, 0), "digest"), &err);
    CHECK_OK(rc, &err);
    free(b.digest);
    memset(&b, 0, sizeof(b));
    rc = strata_registry_get_manifest(cl, byd, on_manifest, &b, &err);
    CHECK_OK(rc, &err);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(b.m != NULL);
    CHECK(!b.m->is_index);
    CHECK_EQ(b.m->nlayers, 2);
    CHECK_STR_EQ(b.m->config.digest, jstr(json_array_get(mans, 0), "config"));
    rc = strata_registry_get_config(cl, ref, b.m->config.digest, on_config, &d,
                                    &err);
    CHECK_OK(rc, &err);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(d.c != NULL);
    CHECK_STR_EQ(d.c->created, "2025-05-06T07:08:09Z");
    CHECK_STR_EQ(d.c->arch, "amd64");
    CHECK_STR_EQ(json_string_value(json_object_get(
                     d.c->labels, "org.opencontainers.image.title")),
                 "m");
    CHECK_EQ(d.c->ndiff_ids, 2);
    CHECK_STR_EQ(d.c->diff_ids[1],
                 json_string_value(json_array_get(
                     json_object_get(json_array_get(mans, 0), "diff_ids"), 1)));
    CHECK_EQ(d.c->nhistory, 2);
    CHECK_CONTAINS(d.c->history[0].created_by, "strata-test");

    /* A tag that does not exist. */
    strata_ref_free(byd);
    byd = mkref(&reg, "team/multi:nope");
    free(c.digest);
    memset(&c, 0, sizeof(c));
    rc = strata_registry_digest(cl, byd, NULL, on_digest, &c, &err);
    CHECK_OK(rc, &err);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(c.err.code, STRATA_ENOTFOUND);
    CHECK(c.digest == NULL);

    strata_registry_close(cl);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&loop), 0);
    strata_manifest_free(a.m);
    strata_manifest_free(b.m);
    strata_image_config_free(d.c);
    strata_ref_free(byd);
    strata_ref_free(ref);
    json_decref(img);
    harness_registry_stop(&reg);
}

TEST(client_docker_schema2_and_basic_auth)
{
    harness_registry reg;
    strata_registry_opts opts = {0};
    strata_error err = {0};
    strata_manifest *m = NULL;
    char *digest = NULL;
    strata_ref *ref;
    json_t *img;
    int rc;

    CHECK_EQ(harness_registry_start(&reg, "alice", "pa55word"), 0);
    img = seed(&reg, "{\"name\":\"acme/svc\",\"tag\":\"v3\","
                     "\"format\":\"docker\"}");
    ref = mkref(&reg, "acme/svc:v3");

    /* Anonymous: refused. */
    rc = strata_registry_digest_sync(&digest, NULL, ref, NULL, &err);
    CHECK_EQ(rc, STRATA_EAUTH);
    CHECK_CONTAINS(err.msg, "requires credentials");
    /* A wrong password: refused. */
    opts.username = "alice";
    opts.password = "wrong";
    rc = strata_registry_digest_sync(&digest, &opts, ref, NULL, &err);
    CHECK_EQ(rc, STRATA_EAUTH);
    CHECK(digest == NULL);
    /* The right one. */
    opts.password = "pa55word";
    rc = strata_registry_digest_sync(&digest, &opts, ref, NULL, &err);
    CHECK_OK(rc, &err);
    CHECK_STR_EQ(digest, jstr(img, "digest"));
    rc = strata_registry_get_manifest_sync(&m, &opts, ref, &err);
    CHECK_OK(rc, &err);
    CHECK_STR_EQ(m->media_type,
                 "application/vnd.docker.distribution.manifest.v2+json");
    CHECK_STR_EQ(m->digest, digest);
    free(digest);
    digest = NULL;
    rc = strata_registry_digest_sync(&digest, &opts, ref, "linux/amd64", &err);
    CHECK_OK(rc, &err);
    CHECK_STR_EQ(digest, m->digest);
    free(digest);
    digest = NULL;
    rc = strata_registry_digest_sync(&digest, &opts, ref, "linux/arm64", &err);
    CHECK_EQ(rc, STRATA_ENOTFOUND);
    strata_manifest_free(m);
    strata_ref_free(ref);
    json_decref(img);
    harness_registry_stop(&reg);
}

/* `strata digest ARGS` with HOME=home; stdout, or NULL if it failed. */
static char *
strata_digest_cli(const char *home, const char *args)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "HOME='%s' '%s' digest %s 2>/dev/null", home,
             getenv("STRATA_EXE"), args);
    return harness_capture(cmd);
}

TEST(cli_digest_matches_skopeo)
{
    harness_registry reg;
    char args[512], home[300], cfg[400], want[100];
    char *out, *sk;
    json_t *img;
    FILE *f;

    if (getenv("STRATA_EXE") == NULL || !have_skopeo) {
        printf("# STRATA_EXE or skopeo missing: CLI not checked\n");
        return;
    }
    CHECK_EQ(harness_registry_start(&reg, "carol", "c4rol"), 0);
    img = seed(&reg, "{\"name\":\"x/multi\",\"tag\":\"1\","
                     "\"platforms\":[\"linux/amd64\",\"linux/arm64/v8\"]}");
    /* Credentials through a Docker config.json in a scratch HOME. */
    snprintf(home, sizeof(home), "%s/home", reg.dir);
    snprintf(cfg, sizeof(cfg), "mkdir -p '%s/.docker'", home);
    CHECK_EQ(system(cfg), 0);
    snprintf(cfg, sizeof(cfg), "%s/.docker/config.json", home);
    f = fopen(cfg, "w");
    CHECK(f != NULL);
    /* base64("carol:c4rol") */
    fprintf(f, "{\"auths\":{\"%s\":{\"auth\":\"Y2Fyb2w6YzRyb2w=\"}}}\n",
            reg.host);
    fclose(f);

    snprintf(args, sizeof(args), "%s/x/multi:1", reg.host);
    out = strata_digest_cli(home, args);
    sk = skopeo_digest(&reg, "x/multi:1", 1);
    CHECK(out != NULL && sk != NULL);
    snprintf(want, sizeof(want), "%s\n", sk);
    CHECK_STR_EQ(out, want);
    free(out);
    free(sk);

    snprintf(args, sizeof(args), "%s/x/multi:1 --platform linux/arm64/v8",
             reg.host);
    out = strata_digest_cli(home, args);
    snprintf(
        want, sizeof(want), "%s\n",
        jstr(json_array_get(json_object_get(img, "manifests"), 1), "digest"));
    CHECK_STR_EQ(out, want);
    free(out);

    /* Without the credentials: exit 1, nothing printed. */
    out = strata_digest_cli(reg.dir, args);
    CHECK(out == NULL);
    json_decref(img);
    harness_registry_stop(&reg);
}

int
main(void)
{
    const char *why = harness_registry_missing(1);

    if (why != NULL)
        SKIP_ALL("%s", why);
    have_skopeo = system("command -v skopeo >/dev/null 2>&1") == 0;
    have_curl = system("command -v curl >/dev/null 2>&1") == 0;
    if (!have_skopeo)
        printf("# skopeo not installed: digests not cross-checked\n");
    RUN(harness_seeds_anonymous);
    RUN(harness_basic_auth);
    RUN(harness_stops_registry);
    RUN(client_multi_arch_async);
    RUN(client_docker_schema2_and_basic_auth);
    RUN(cli_digest_matches_skopeo);
    return harness_done();
}
