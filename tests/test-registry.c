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

#include "harness-registry.h"
#include "harness.h"

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
    return harness_done();
}
