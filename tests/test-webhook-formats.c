/*
 * test-webhook-formats.c - the registry webhook formats beyond
 * distribution, Docker Hub and Harbor: CloudEvents (structured, binary,
 * batch), Quay, GHCR, ECR through EventBridge, ACR and Artifact Registry
 * through Pub/Sub push, each with payloads shaped like the provider's
 * documented examples (tests/watchers/, sources in SOURCES.md), each with
 * its verification forged, missing and malformed. The Pub/Sub OIDC token
 * is signed here with a key made for the test (libcrypto), checked against
 * a JWKS, a PEM key and a certificate map written to a temporary folder.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "harness.h"
#include "watchers.h"

#ifndef WATCHERS_FIXTURES
#error "WATCHERS_FIXTURES must name tests/watchers"
#endif

#define SECRET "s3cr3t-t0ken-for-tests"

#define CE STRATA_WATCHERS_WEBHOOK_CLOUDEVENTS
#define QUAY STRATA_WATCHERS_WEBHOOK_QUAY
#define GHCR STRATA_WATCHERS_WEBHOOK_GHCR
#define ECR STRATA_WATCHERS_WEBHOOK_ECR
#define ACR STRATA_WATCHERS_WEBHOOK_ACR
#define GAR STRATA_WATCHERS_WEBHOOK_ARTIFACT_REGISTRY

static char *
fixture(const char *name, size_t *len)
{
    strata_error err = {0};
    char *path = strata_xasprintf("%s/%s", WATCHERS_FIXTURES, name);
    char *data = NULL;

    CHECK_OK(strata_read_file(&data, len, path, 0, &err), &err);
    free(path);
    return data;
}

/* ---- deliveries --------------------------------------------------------- */

/* Headers other than Authorization: "name", "value" pairs, NULL-ended. */
static char *
hdr_get(void *arg, const char *name)
{
    const char *const *h = arg;

    for (; h != NULL && h[0] != NULL; h += 2) {
        if (strcmp(h[0], name) == 0)
            return strata_xstrdup(h[1]);
    }
    return NULL;
}

typedef struct delivery {
    strata_watchers_webhook_push *pushes;
    size_t n;
    strata_error err;
    int rc;
} delivery;

static void
deliver(delivery *d, const strata_watchers_webhook_config *cfg,
        const char *body, size_t len, const char *authorization,
        const char *query, const char *const *headers)
{
    strata_watchers_webhook_request req = {0};

    req.body = body;
    req.body_len = len;
    req.authorization = authorization;
    req.query = query;
    req.header = hdr_get;
    req.header_arg = (void *) headers;
    memset(d, 0, sizeof(*d));
    d->rc =
        strata_watchers_webhook_parse(&d->pushes, &d->n, cfg, &req, &d->err);
    if (d->rc != 0) {
        CHECK(d->pushes == NULL);
        CHECK_EQ(d->n, 0);
        CHECK(d->err.msg[0] != '\0');
        /* Whatever went wrong, no secret is in the message. */
        CHECK(strstr(d->err.msg, SECRET) == NULL);
    }
}

static void
delivery_free(delivery *d)
{
    strata_watchers_webhook_free(d->pushes, d->n);
    d->pushes = NULL;
    d->n = 0;
}

static strata_watchers_webhook_config
config(strata_watchers_webhook_kind kind)
{
    strata_watchers_webhook_config c = {.kind = kind, .secret = SECRET};

    return c;
}

/* The fixture delivered with cfg, authorization and headers. */
static void
deliver_fixture(delivery *d, const strata_watchers_webhook_config *cfg,
                const char *name, const char *authorization,
                const char *const *headers)
{
    size_t len;
    char *body = fixture(name, &len);

    deliver(d, cfg, body, len, authorization, NULL, headers);
    free(body);
}

#define D_HARBOR                                                               \
    "sha256:0d2d6e4a5b3c1f9e8d7c6b5a49382716f5e4d3c2b1a0f9e8d7c6b5a493827160"

/* ---- CloudEvents -------------------------------------------------------- */

TEST(cloudevents_structured)
{
    strata_watchers_webhook_config cfg = config(CE);
    static const char *const ct[] = {
        "content-type", "application/cloudevents+json; charset=utf-8", NULL};
    delivery d;

    deliver_fixture(&d, &cfg, "cloudevents-harbor-push.json", "Bearer " SECRET,
                    ct);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 2);
    CHECK_STR_EQ(d.pushes[0].ref, "harbor.example.com/library/alpine:3.20");
    CHECK_STR_EQ(d.pushes[0].digest, D_HARBOR);
    CHECK_STR_EQ(d.pushes[1].ref, "harbor.example.com/library/alpine:latest");
    delivery_free(&d);
    /* Harbor's documented example is a pull: nothing to watch. */
    deliver_fixture(&d, &cfg, "cloudevents-harbor-pulled.json", SECRET, ct);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 0);
    /* Event Grid's ImagePushed from an Azure registry. */
    deliver_fixture(&d, &cfg, "cloudevents-acr-eventgrid.json", SECRET, ct);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    CHECK_STR_EQ(d.pushes[0].ref, "demo.azurecr.io/aci-helloworld:v1");
    CHECK_STR_EQ(d.pushes[0].digest, "sha256:213bbc182920ab41e18edc2001e06abc"
                                     "ca6735d87782d9cef68abd83941cf0e5");
    delivery_free(&d);
    /* The endpoint's registry overrides the payload's host. */
    cfg.registry = "harbor.internal:8443";
    deliver_fixture(&d, &cfg, "cloudevents-harbor-push.json", SECRET, ct);
    CHECK_OK(d.rc, &d.err);
    CHECK_STR_EQ(d.pushes[0].ref, "harbor.internal:8443/library/alpine:3.20");
    delivery_free(&d);
}

TEST(cloudevents_binary_and_batch)
{
    strata_watchers_webhook_config cfg = config(CE);
    static const char *const ce[] = {"ce-specversion",
                                     "1.0",
                                     "ce-type",
                                     "harbor.artifact.pushed",
                                     "ce-id",
                                     "8c1a2f0e",
                                     "ce-source",
                                     "/projects/1/webhook/policies/6",
                                     "content-type",
                                     "application/json",
                                     NULL};
    static const char *const ce_pull[] = {"ce-specversion",
                                          "1.0",
                                          "ce-type",
                                          "harbor.artifact.pulled",
                                          "ce-id",
                                          "1",
                                          "ce-source",
                                          "/p",
                                          NULL};
    static const char *const ce_v03[] = {"ce-specversion",
                                         "0.3",
                                         "ce-type",
                                         "harbor.artifact.pushed",
                                         "ce-id",
                                         "1",
                                         "ce-source",
                                         "/p",
                                         NULL};
    static const char *const ce_noid[] = {
        "ce-specversion", "1.0", "ce-type", "harbor.artifact.pushed",
        "ce-source",      "/p",  NULL};
    size_t len;
    char *ev = fixture("cloudevents-harbor-push.json", &len);
    char *batch =
        strata_xasprintf("[%.*s, %.*s]", (int) len, ev, (int) len, ev);
    delivery d;

    deliver_fixture(&d, &cfg, "cloudevents-harbor-binary-data.json",
                    "Bearer " SECRET, ce);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 2);
    CHECK_STR_EQ(d.pushes[1].ref, "harbor.example.com/library/alpine:latest");
    CHECK_STR_EQ(d.pushes[1].digest, D_HARBOR);
    delivery_free(&d);
    deliver_fixture(&d, &cfg, "cloudevents-harbor-binary-data.json", SECRET,
                    ce_pull);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 0);
    deliver_fixture(&d, &cfg, "cloudevents-harbor-binary-data.json", SECRET,
                    ce_v03);
    CHECK_EQ(d.rc, STRATA_EPROTO);
    CHECK_CONTAINS(d.err.msg, "specversion");
    deliver_fixture(&d, &cfg, "cloudevents-harbor-binary-data.json", SECRET,
                    ce_noid);
    CHECK_EQ(d.rc, STRATA_EPROTO);
    CHECK_CONTAINS(d.err.msg, "lacks ce-id");
    /* A batch: two copies of one event are one set of pushes. */
    deliver(&d, &cfg, batch, strlen(batch), SECRET, NULL, NULL);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 2);
    delivery_free(&d);
    free(batch);
    free(ev);
}

TEST(cloudevents_refused)
{
    strata_watchers_webhook_config cfg = config(CE);
    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"{\"specversion\":\"1.0\",\"type\":\"harbor.artifact.pushed\","
         "\"id\":\"1\",\"source\":\"/p\"}",
         "missing 'data'"},
        {"{\"specversion\":\"0.3\",\"type\":\"x\",\"id\":\"1\",\"source\":\"/"
         "p\"}",
         "specversion '0.3' is not 1.0"},
        {"{\"type\":\"x\",\"id\":\"1\",\"source\":\"/p\"}",
         "missing 'specversion'"},
        {"{\"specversion\":\"1.0\",\"type\":\"harbor.artifact.pushed\","
         "\"id\":\"1\",\"source\":\"/p\",\"data_base64\":\"e30=\"}",
         "'data_base64' is not supported"},
        {"{\"specversion\":\"1.0\",\"type\":\"harbor.artifact.pushed\","
         "\"id\":\"1\",\"source\":\"/p\",\"data\":{\"resources\":[{\"tag\":"
         "\"1\"}],\"repository\":{\"repo_full_name\":\"a/b\"}}}",
         "names no registry host"},
        {"[1]", "'[0].' is not a CloudEvent object"},
        {"\"x\"", "webhook body is not JSON"},
    };
    size_t i;
    delivery d;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        deliver(&d, &cfg, bad[i].body, strlen(bad[i].body), SECRET, NULL, NULL);
        CHECK_EQ(d.rc, STRATA_EPROTO);
        CHECK_CONTAINS(d.err.msg, bad[i].msg);
    }
    /* Verified like distribution: no or a wrong Authorization is refused
     * before the body is read. */
    deliver_fixture(&d, &cfg, "cloudevents-harbor-push.json", NULL, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    deliver_fixture(&d, &cfg, "cloudevents-harbor-push.json", "Bearer nope",
                    NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "Authorization header is wrong");
    deliver(&d, &cfg, "not json", 8, "Bearer wrong", NULL, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
}

/* ---- Quay --------------------------------------------------------------- */

TEST(quay)
{
    strata_watchers_webhook_config cfg = config(QUAY);
    size_t len;
    char *body = fixture("quay-push.json", &len);
    delivery d;

    deliver(&d, &cfg, body, len, NULL, "token=" SECRET, NULL);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    CHECK_STR_EQ(d.pushes[0].ref, "quay.io/dgangaia/test:latest");
    CHECK(d.pushes[0].digest == NULL);
    delivery_free(&d);
    deliver(&d, &cfg, body, len, NULL, NULL, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "Quay cannot sign");
    deliver(&d, &cfg, body, len, NULL, "token=wrong", NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "token is wrong");
    /* Quay on premises: the host of docker_url, or the endpoint's. */
    cfg.registry = "quay.example.com";
    deliver(&d, &cfg, body, len, NULL, "token=" SECRET, NULL);
    CHECK_OK(d.rc, &d.err);
    CHECK_STR_EQ(d.pushes[0].ref, "quay.example.com/dgangaia/test:latest");
    delivery_free(&d);
    free(body);
    cfg.registry = NULL;
    body = fixture("quay-push-legacy.json", &len);
    deliver(&d, &cfg, body, len, NULL, "token=" SECRET, NULL);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    CHECK_STR_EQ(d.pushes[0].ref, "quay.io/devtable/ubuntu:latest");
    /* The legacy values are image ids, not digests. */
    CHECK(d.pushes[0].digest == NULL);
    delivery_free(&d);
    free(body);
    body = fixture("quay-build-queued.json", &len);
    deliver(&d, &cfg, body, len, NULL, "token=" SECRET, NULL);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 0);
    free(body);
    body = "{\"repository\":\"a/b\",\"updated_tags\":[1]}";
    deliver(&d, &cfg, body, strlen(body), NULL, "token=" SECRET, NULL);
    CHECK_EQ(d.rc, STRATA_EPROTO);
    CHECK_CONTAINS(d.err.msg, "missing 'docker_url'");
    body = "{\"repository\":\"a/b\",\"docker_url\":\"q.io/a/b\","
           "\"updated_tags\":[1]}";
    deliver(&d, &cfg, body, strlen(body), NULL, "token=" SECRET, NULL);
    CHECK_EQ(d.rc, STRATA_EPROTO);
    CHECK_CONTAINS(d.err.msg, "'updated_tags[0]' is not a string");
    body = "{\"repository\":\"a/b\",\"docker_url\":\"q.io/a/b\","
           "\"updated_tags\":[\"bad tag\"]}";
    deliver(&d, &cfg, body, strlen(body), NULL, "token=" SECRET, NULL);
    CHECK_EQ(d.rc, STRATA_EPROTO);
    CHECK_CONTAINS(d.err.msg, "webhook updated_tags[0]");
}

/* ---- GHCR --------------------------------------------------------------- */

static void
deliver_github(delivery *d, const char *name, const char *event,
               const char *key)
{
    strata_watchers_webhook_config cfg = config(GHCR);
    size_t len;
    char *body = fixture(name, &len);
    char *sig = strata_watchers_webhook_sign(key, body, len);
    const char *const headers[] = {"x-github-event", event,
                                   "x-hub-signature-256", sig, NULL};

    deliver(d, &cfg, body, len, NULL, NULL, event ? headers : headers + 2);
    free(sig);
    free(body);
}

TEST(ghcr)
{
    delivery d;
    strata_watchers_webhook_config cfg = config(GHCR);
    static const char *const unsigned_ping[] = {"x-github-event", "ping", NULL};
    static const char *const bad_sig[] = {
        "x-github-event", "package", "x-hub-signature-256", "sha1=abc", NULL};

    deliver_github(&d, "ghcr-registry-package-tagged.json", "registry_package",
                   SECRET);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    CHECK_STR_EQ(d.pushes[0].ref, "ghcr.io/codertocat/hello-world:1.2.0");
    CHECK_STR_EQ(d.pushes[0].digest, "sha256:3da1996a8115d7616457760d9920b815"
                                     "241d0a03b34cf5f04e9a0e9d8de37498");
    delivery_free(&d);
    deliver_github(&d, "ghcr-package-published.json", "package", SECRET);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    CHECK_STR_EQ(d.pushes[0].ref, "ghcr.io/codertocat/hello-world:latest");
    delivery_free(&d);
    /* GitHub's own example announces an untagged version: no push (and
     * its short digest is never read). */
    deliver_github(&d, "ghcr-registry-package-published.json",
                   "registry_package", SECRET);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 0);
    /* The event the header names decides: a push event's body is not
     * read as a package. */
    deliver_github(&d, "ghcr-registry-package-tagged.json", "push", SECRET);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 0);
    /* Forged, unsigned, malformed signatures; no event header. */
    deliver_github(&d, "ghcr-registry-package-tagged.json", "registry_package",
                   "not-the-secret");
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "X-Hub-Signature-256 does not match the body");
    deliver(&d, &cfg, "{}", 2, NULL, NULL, unsigned_ping);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "no X-Hub-Signature-256");
    deliver(&d, &cfg, "{}", 2, NULL, NULL, bad_sig);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "malformed X-Hub-Signature-256");
    deliver_github(&d, "ghcr-registry-package-tagged.json", NULL, SECRET);
    CHECK_EQ(d.rc, STRATA_EPROTO);
    CHECK_CONTAINS(d.err.msg, "no X-GitHub-Event header");
}

/* ---- ECR ---------------------------------------------------------------- */

TEST(ecr)
{
    strata_watchers_webhook_config cfg = config(ECR);
    static const char *const key[] = {"x-api-key", SECRET, NULL};
    static const char *const wrong[] = {"x-api-key", "nope", NULL};
    char *basic, *b64;
    unsigned char raw[128];
    int n;
    delivery d;

    /* An API destination connection of type API key. */
    cfg.header = "x-api-key";
    deliver_fixture(&d, &cfg, "ecr-image-push.json", NULL, key);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    CHECK_STR_EQ(d.pushes[0].ref, "123456789012.dkr.ecr.us-west-2.amazonaws."
                                  "com/my-repository-name:latest");
    CHECK_STR_EQ(d.pushes[0].digest, "sha256:7f5b2640fe6fb4f46592dfd3410c4a79"
                                     "dac4f89e4782432e0378abcd12345678");
    delivery_free(&d);
    deliver_fixture(&d, &cfg, "ecr-image-push.json", NULL, wrong);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "'x-api-key' header is wrong");
    deliver_fixture(&d, &cfg, "ecr-image-push.json", "Bearer " SECRET, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "no 'x-api-key' header");
    /* The documented example's digest has 60 hex digits: refused, and
     * the message says where. */
    deliver_fixture(&d, &cfg, "ecr-image-push-doc.json", NULL, key);
    CHECK_EQ(d.rc, STRATA_EPROTO);
    CHECK_CONTAINS(d.err.msg, "webhook detail");
    /* Other events the rule forwards. */
    deliver_fixture(&d, &cfg, "ecr-pull-through-cache.json", NULL, key);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 0);
    /* A basic-auth connection. */
    cfg.header = NULL;
    cfg.username = "eventbridge";
    b64 = strata_xasprintf("eventbridge:%s", SECRET);
    n = EVP_EncodeBlock(raw, (unsigned char *) b64, (int) strlen(b64));
    basic = strata_xasprintf("Basic %.*s", n, raw);
    deliver_fixture(&d, &cfg, "ecr-image-push.json", basic, NULL);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    delivery_free(&d);
    free(b64);
    free(basic);
    b64 = strata_xasprintf("someoneelse:%s", SECRET);
    n = EVP_EncodeBlock(raw, (unsigned char *) b64, (int) strlen(b64));
    basic = strata_xasprintf("Basic %.*s", n, raw);
    deliver_fixture(&d, &cfg, "ecr-image-push.json", basic, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "basic auth is wrong");
    deliver_fixture(&d, &cfg, "ecr-image-push.json", "Basic !!!", NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "not base64");
    deliver_fixture(&d, &cfg, "ecr-image-push.json", "Bearer " SECRET, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "not basic auth");
    free(b64);
    free(basic);
    cfg.username = NULL;
    {
        const char *cn = "{\"detail-type\":\"ECR Image Action\",\"source\":"
                         "\"aws.ecr\",\"account\":\"123456789012\",\"region\":"
                         "\"cn-north-1\",\"detail\":{\"action-type\":\"PUSH\","
                         "\"repository-name\":\"r\",\"image-tag\":\"1\"}}";

        deliver(&d, &cfg, cn, strlen(cn), SECRET, NULL, NULL);
        CHECK_OK(d.rc, &d.err);
        CHECK_EQ(d.n, 1);
        CHECK_STR_EQ(d.pushes[0].ref,
                     "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/r:1");
        delivery_free(&d);
    }
    deliver(&d, &cfg,
            "{\"detail-type\":\"ECR Image Action\",\"source\":\"aws.ecr\","
            "\"account\":\"1/../x\",\"region\":\"us-west-2\",\"detail\":{"
            "\"action-type\":\"PUSH\",\"repository-name\":\"r\","
            "\"image-tag\":\"1\"}}",
            strlen("{\"detail-type\":\"ECR Image Action\",\"source\":\"aws."
                   "ecr\",\"account\":\"1/../x\",\"region\":\"us-west-2\","
                   "\"detail\":{\"action-type\":\"PUSH\",\"repository-name\":"
                   "\"r\",\"image-tag\":\"1\"}}"),
            SECRET, NULL, NULL);
    CHECK_EQ(d.rc, STRATA_EPROTO);
    CHECK_CONTAINS(d.err.msg, "not an AWS account id");
}

/* ---- ACR ---------------------------------------------------------------- */

TEST(acr)
{
    strata_watchers_webhook_config cfg = config(ACR);
    static const char *const custom[] = {"x-strata-acr", SECRET, NULL};
    delivery d;

    deliver_fixture(&d, &cfg, "acr-push.json", "Bearer " SECRET, NULL);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    CHECK_STR_EQ(d.pushes[0].ref, "myregistry.azurecr.io/hello-world:v1");
    CHECK_STR_EQ(d.pushes[0].digest, "sha256:80f0d5c8786bb9e621a45ece0db56d11"
                                     "cdc624ad20da9fe62e9d25490f331d7d");
    delivery_free(&d);
    /* A custom header, named in any case. */
    cfg.header = "X-Strata-ACR";
    deliver_fixture(&d, &cfg, "acr-push.json", NULL, custom);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    delivery_free(&d);
    deliver_fixture(&d, &cfg, "acr-push.json", "Bearer " SECRET, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    cfg.header = NULL;
    deliver(&d, &cfg, "{\"id\":\"1\",\"action\":\"ping\"}",
            strlen("{\"id\":\"1\",\"action\":\"ping\"}"), SECRET, NULL, NULL);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 0);
    {
        const char *b = "{\"action\":\"push\",\"target\":{\"repository\":"
                        "\"a\",\"tag\":\"1\"}}";

        deliver(&d, &cfg, b, strlen(b), SECRET, NULL, NULL);
    }
    CHECK_EQ(d.rc, STRATA_EPROTO);
    CHECK_CONTAINS(d.err.msg, "missing 'request'");
}

/* ---- Artifact Registry through Pub/Sub push ----------------------------- */

#define AUDIENCE "https://strata.example.com/hooks/registry/gar"
#define ACCOUNT "pubsub-push@my-project.iam.gserviceaccount.com"

static char *
b64url(const void *data, size_t len)
{
    unsigned char *out = strata_xmalloc(4 * (len / 3 + 2) + 1);
    int n = EVP_EncodeBlock(out, data, (int) len);

    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return (char *) out;
}

/* An RS256 JWT of claims (JSON text) under key, with kid (or none). */
static char *
sign_jwt(EVP_PKEY *key, const char *kid, const char *alg, const char *claims)
{
    char *header =
        kid ? strata_xasprintf("{\"alg\":\"%s\",\"kid\":\"%s\","
                               "\"typ\":\"JWT\"}",
                               alg, kid)
            : strata_xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    char *h = b64url(header, strlen(header));
    char *c = b64url(claims, strlen(claims));
    char *input = strata_xasprintf("%s.%s", h, c), *s, *jwt;
    unsigned char sig[512];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    CHECK(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1);
    CHECK(EVP_DigestSign(md, sig, &siglen, (unsigned char *) input,
                         strlen(input)) == 1);
    s = b64url(sig, siglen);
    jwt = strata_xasprintf("%s.%s", input, s);
    EVP_MD_CTX_free(md);
    free(header);
    free(h);
    free(c);
    free(input);
    free(s);
    return jwt;
}

static char *
claims(long exp, const char *aud, const char *email)
{
    return strata_xasprintf(
        "{\"aud\":\"%s\",\"azp\":\"1234567890\",\"email\":\"%s\","
        "\"email_verified\":true,\"exp\":%ld,\"iat\":%ld,"
        "\"iss\":\"https://accounts.google.com\",\"sub\":\"1234567890\"}",
        aud, email, exp, exp - 3600);
}

static char *
bn_b64url(EVP_PKEY *key, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n;

    CHECK(EVP_PKEY_get_bn_param(key, param, &bn) == 1);
    n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return b64url(buf, (size_t) n);
}

/* Writes JWKS (kids k0 and k1: other, key), PEM and certificate-map files. */
static void
write_keys(const char *dir, EVP_PKEY *key, EVP_PKEY *other)
{
    char *n = bn_b64url(key, OSSL_PKEY_PARAM_RSA_N);
    char *e = bn_b64url(key, OSSL_PKEY_PARAM_RSA_E);
    char *on = bn_b64url(other, OSSL_PKEY_PARAM_RSA_N);
    char *jwks = strata_xasprintf(
        "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\","
        "\"kid\":\"k0\",\"n\":\"%s\",\"e\":\"%s\"},{\"kty\":\"RSA\","
        "\"alg\":\"RS256\",\"use\":\"sig\",\"kid\":\"k1\",\"n\":\"%s\","
        "\"e\":\"%s\"}]}",
        on, e, n, e);
    char *path = strata_xasprintf("%s/jwks.json", dir);
    strata_error err = {0};
    X509 *cert = X509_new();
    BIO *bio;
    BUF_MEM *mem;
    json_t *map;
    char *text;

    CHECK_OK(strata_write_file(path, jwks, strlen(jwks), &err), &err);
    free(path);
    path = strata_xasprintf("%s/key.pem", dir);
    bio = BIO_new_file(path, "w");
    CHECK(PEM_write_bio_PUBKEY(bio, key) == 1);
    BIO_free(bio);
    free(path);
    /* oauth2/v1/certs: {"kid": "-----BEGIN CERTIFICATE-----..."}. */
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               (const unsigned char *) "test", -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    CHECK(X509_sign(cert, key, EVP_sha256()) > 0);
    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    BIO_get_mem_ptr(bio, &mem);
    map = json_pack("{s:s%}", "k1", mem->data, mem->length);
    text = json_dumps(map, 0);
    path = strata_xasprintf("%s/certs.json", dir);
    CHECK_OK(strata_write_file(path, text, strlen(text), &err), &err);
    free(path);
    free(text);
    json_decref(map);
    BIO_free(bio);
    X509_free(cert);
    free(n);
    free(e);
    free(on);
    free(jwks);
}

TEST(artifact_registry)
{
    char tmpl[] = "/tmp/strata-gar-XXXXXX";
    char *dir = mkdtemp(tmpl);
    EVP_PKEY *key = EVP_RSA_gen(2048), *other = EVP_RSA_gen(2048);
    EVP_PKEY *small = EVP_RSA_gen(1024);
    strata_watchers_webhook_config cfg = config(GAR);
    long now = (long) time(NULL);
    char *jwks, *pem, *certs, *c, *jwt, *auth;
    size_t len;
    char *body = fixture("gar-pubsub-insert.json", &len);
    delivery d;

    CHECK(dir != NULL && key != NULL && other != NULL && small != NULL);
    write_keys(dir, key, other);
    jwks = strata_xasprintf("%s/jwks.json", dir);
    pem = strata_xasprintf("%s/key.pem", dir);
    certs = strata_xasprintf("%s/certs.json", dir);

    /* The token in the push URL. */
    deliver(&d, &cfg, body, len, NULL, "token=" SECRET, NULL);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    CHECK_STR_EQ(d.pushes[0].ref,
                 "us-east1-docker.pkg.dev/my-project/my-repo/hello-world:1.1");
    CHECK_STR_EQ(d.pushes[0].digest, "sha256:6ec128e26cd5b1e1c8d7f0e2b3a4c5d6"
                                     "e7f8091a2b3c4d5e6f708192a3b4c5d6");
    delivery_free(&d);
    deliver(&d, &cfg, body, len, NULL, "token=nope", NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);

    /* Google's signed token, against a JWKS of two keys. */
    cfg.secret = NULL;
    cfg.keys = jwks;
    cfg.audience = AUDIENCE;
    cfg.service_account = ACCOUNT;
    c = claims(now + 3600, AUDIENCE, ACCOUNT);
    jwt = sign_jwt(key, "k1", "RS256", c);
    auth = strata_xasprintf("Bearer %s", jwt);
    deliver(&d, &cfg, body, len, auth, NULL, NULL);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 1);
    delivery_free(&d);
    /* The same token against a PEM key and Google's certificate map. */
    cfg.keys = pem;
    deliver(&d, &cfg, body, len, auth, NULL, NULL);
    CHECK_OK(d.rc, &d.err);
    delivery_free(&d);
    cfg.keys = certs;
    deliver(&d, &cfg, body, len, auth, NULL, NULL);
    CHECK_OK(d.rc, &d.err);
    delivery_free(&d);
    cfg.keys = jwks;
    free(auth);
    free(jwt);

    /* Signed by the other key under k1's name; by a key not in the file. */
    jwt = sign_jwt(other, "k1", "RS256", c);
    auth = strata_xasprintf("Bearer %s", jwt);
    deliver(&d, &cfg, body, len, auth, NULL, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "signature does not verify");
    free(auth);
    free(jwt);
    jwt = sign_jwt(key, "k9", "RS256", c);
    auth = strata_xasprintf("Bearer %s", jwt);
    deliver(&d, &cfg, body, len, auth, NULL, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "not in '");
    free(auth);
    free(jwt);
    /* No kid and several keys. */
    jwt = sign_jwt(key, NULL, "RS256", c);
    auth = strata_xasprintf("Bearer %s", jwt);
    deliver(&d, &cfg, body, len, auth, NULL, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "names no key");
    free(auth);
    free(jwt);
    /* alg confusion: HS256 and none are refused before any key. */
    jwt = sign_jwt(key, "k1", "HS256", c);
    auth = strata_xasprintf("Bearer %s", jwt);
    deliver(&d, &cfg, body, len, auth, NULL, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "not signed with RS256");
    free(auth);
    free(jwt);
    /* A tampered payload under the original signature. */
    {
        char *good = sign_jwt(key, "k1", "RS256", c);
        char *c2 = claims(now + 3600, AUDIENCE, "evil@example.com");
        char *forged = sign_jwt(key, "k1", "RS256", c2);
        char *d1 = strchr(good, '.'), *d2 = strchr(forged, '.');
        char *mix = strata_xasprintf("%.*s.%.*s%s", (int) (d1 - good), good,
                                     (int) (strrchr(forged, '.') - d2 - 1),
                                     d2 + 1, strrchr(good, '.'));

        auth = strata_xasprintf("Bearer %s", mix);
        deliver(&d, &cfg, body, len, auth, NULL, NULL);
        CHECK_EQ(d.rc, STRATA_EAUTH);
        CHECK_CONTAINS(d.err.msg, "signature does not verify");
        free(auth);
        free(mix);
        free(good);
        free(forged);
        free(c2);
    }
    free(c);
    /* Expired, another audience, another service account. */
    {
        static const struct {
            long exp_off;
            const char *aud, *email, *msg;
        } bad[] = {
            {-3600, AUDIENCE, ACCOUNT, "token expired"},
            {3600, "https://elsewhere.example/", ACCOUNT, "another audience"},
            {3600, AUDIENCE, "someone@example.com", "not for service account"},
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            c = claims(now + bad[i].exp_off, bad[i].aud, bad[i].email);
            jwt = sign_jwt(key, "k1", "RS256", c);
            auth = strata_xasprintf("Bearer %s", jwt);
            deliver(&d, &cfg, body, len, auth, NULL, NULL);
            CHECK_EQ(d.rc, STRATA_EAUTH);
            CHECK_CONTAINS(d.err.msg, bad[i].msg);
            /* No message carries the token. */
            CHECK(strstr(d.err.msg, jwt) == NULL);
            free(auth);
            free(jwt);
            free(c);
        }
    }
    /* A key under 2048 bits is not trusted. */
    {
        char *spath = strata_xasprintf("%s/small.pem", dir);
        BIO *bio = BIO_new_file(spath, "w");

        PEM_write_bio_PUBKEY(bio, small);
        BIO_free(bio);
        cfg.keys = spath;
        c = claims(now + 3600, AUDIENCE, ACCOUNT);
        jwt = sign_jwt(small, NULL, "RS256", c);
        auth = strata_xasprintf("Bearer %s", jwt);
        deliver(&d, &cfg, body, len, auth, NULL, NULL);
        CHECK_EQ(d.rc, STRATA_EAUTH);
        CHECK_CONTAINS(d.err.msg, "at least 2048 bits");
        free(auth);
        free(jwt);
        free(c);
        unlink(spath);
        free(spath);
        cfg.keys = jwks;
    }
    /* Garbage tokens; no token at all with only keys configured. */
    deliver(&d, &cfg, body, len, "Bearer a.b", NULL, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "not a JWT");
    deliver(&d, &cfg, body, len, "Bearer !!.??.%%", NULL, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    deliver(&d, &cfg, body, len, NULL, "token=" SECRET, NULL);
    CHECK_EQ(d.rc, STRATA_EAUTH);
    CHECK_CONTAINS(d.err.msg, "no bearer token");
    free(body);

    /* DELETE and malformed envelopes. */
    cfg.secret = SECRET;
    cfg.keys = NULL;
    body = fixture("gar-pubsub-delete.json", &len);
    deliver(&d, &cfg, body, len, NULL, "token=" SECRET, NULL);
    CHECK_OK(d.rc, &d.err);
    CHECK_EQ(d.n, 0);
    free(body);
    {
        static const struct {
            const char *body, *msg;
        } bad[] = {
            {"{}", "missing 'message'"},
            {"{\"message\":{}}", "missing 'message.data'"},
            {"{\"message\":{\"data\":\"@@@@\"}}", "not base64"},
            {"{\"message\":{\"data\":\"bm90IGpzb24=\"}}", "not a JSON object"},
            /* {"action":"INSERT","tag":"hello:1"} */
            {"{\"message\":{\"data\":\""
             "eyJhY3Rpb24iOiJJTlNFUlQiLCJ0YWciOiJoZWxsbzoxIn0="
             "\"}}",
             "is not HOST/PATH:TAG"},
            /* {"action":"INSERT","tag":"h.io/a:1","digest":"h.io/b@sha256:
             * 64 zeros"} */
            {"{\"message\":{\"data\":\""
             "eyJhY3Rpb24iOiJJTlNFUlQiLCJ0YWciOiJoLmlvL2E6MSIsImRpZ2VzdCI6"
             "ImguaW8vYkBzaGEyNTY6MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw"
             "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMCJ9"
             "\"}}",
             "names another image"},
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            deliver(&d, &cfg, bad[i].body, strlen(bad[i].body), NULL,
                    "token=" SECRET, NULL);
            CHECK_EQ(d.rc, STRATA_EPROTO);
            CHECK_CONTAINS(d.err.msg, bad[i].msg);
        }
    }
    unlink(jwks);
    unlink(pem);
    unlink(certs);
    rmdir(dir);
    free(jwks);
    free(pem);
    free(certs);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    EVP_PKEY_free(small);
}

TEST(kinds)
{
    static const char *const names[] = {
        "cloudevents", "quay", "ghcr", "ecr", "acr", "artifact-registry"};
    strata_watchers_webhook_kind k;
    strata_error err = {0};

    for (size_t i = 0; i < 6; i++) {
        CHECK_OK(strata_watchers_webhook_kind_parse(&k, names[i], &err), &err);
        CHECK_STR_EQ(strata_watchers_webhook_kind_name(k), names[i]);
    }
    CHECK_EQ(strata_watchers_webhook_kind_parse(&k, "gcr", &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "artifact-registry");
}

int
main(void)
{
    RUN(kinds);
    RUN(cloudevents_structured);
    RUN(cloudevents_binary_and_batch);
    RUN(cloudevents_refused);
    RUN(quay);
    RUN(ghcr);
    RUN(ecr);
    RUN(acr);
    RUN(artifact_registry);
    return harness_done();
}
