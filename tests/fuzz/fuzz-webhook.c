/*
 * fuzz-webhook.c - libFuzzer target for the registry webhook parsers. The
 * first input byte picks the sender kind (its low nibble modulo 11: the
 * ten kinds, then the Pub/Sub token itself) and options (0x80: the
 * endpoint's registry overrides the payload's host; 0x40: a CloudEvent in
 * binary mode, its ce-* headers set; 0x30: the X-GitHub-Event of a GHCR
 * delivery). The rest is the body, delivered with valid credentials (HMAC
 * signatures are computed here), so the fuzzer reaches the JSON parsing
 * behind verification. In the eleventh mode the rest is the bearer token
 * of an Artifact Registry push, checked against a JWKS written at start:
 * the JWT parser, base64url decoder and key lookup are fuzzed, and no
 * token may pass (the fuzzer cannot sign). Any input must either fail
 * with STRATA_EPROTO, STRATA_ETOOBIG or (tokens) STRATA_EAUTH and a
 * message, or yield pushes whose references are canonical and whose
 * digests are valid.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "oci.h"
#include "watchers.h"

#define SECRET "fuzz-secret"
#define NKINDS 10 /* the watchers kinds */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_push(const strata_watchers_webhook_push *p)
{
    strata_ref *ref = NULL;

    if (p->ref == NULL || strata_ref_parse(&ref, p->ref, NULL) != 0)
        abort();
    if (strcmp(strata_ref_string(ref), p->ref) != 0 ||
        strata_ref_tag(ref) == NULL || strata_ref_digest(ref) != NULL)
        abort();
    if (p->digest != NULL && strata_digest_validate(p->digest, NULL) != 0)
        abort();
    strata_ref_free(ref);
}

typedef struct headers {
    const char *event; /* X-GitHub-Event, or NULL */
    const char *sig;   /* X-Hub-Signature-256 */
    int binary;        /* ce-* headers */
} headers;

static char *
get_header(void *arg, const char *name)
{
    const headers *h = arg;

    if (strcmp(name, "x-github-event") == 0 && h->event != NULL)
        return strdup(h->event);
    if (strcmp(name, "x-hub-signature-256") == 0)
        return strdup(h->sig);
    if (h->binary && strcmp(name, "ce-specversion") == 0)
        return strdup("1.0");
    if (h->binary && strcmp(name, "ce-type") == 0)
        return strdup("harbor.artifact.pushed");
    if (h->binary &&
        (strcmp(name, "ce-id") == 0 || strcmp(name, "ce-source") == 0))
        return strdup("/fuzz");
    return NULL;
}

static char path[] = "/tmp/strata-fuzz-jwks-XXXXXX";

static void
remove_jwks(void)
{
    unlink(path);
}

/* A JWKS with one fresh key, written once (removed at exit); its path. */
static const char *
jwks_path(void)
{
    static int done;
    EVP_PKEY *key;
    BIGNUM *n = NULL;
    unsigned char buf[512], b64[1024];
    int len, fd;
    FILE *f;

    if (done)
        return path;
    done = 1;
    key = EVP_RSA_gen(2048);
    if (key == NULL || EVP_PKEY_get_bn_param(key, "n", &n) != 1)
        abort();
    len = BN_bn2bin(n, buf);
    len = EVP_EncodeBlock(b64, buf, len);
    for (int i = 0; i < len; i++)
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    while (len > 0 && b64[len - 1] == '=')
        len--;
    fd = mkstemp(path);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
        abort();
    atexit(remove_jwks);
    fprintf(f,
            "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"%.*s\","
            "\"e\":\"AQAB\"}]}",
            len, b64);
    fclose(f);
    BN_free(n);
    EVP_PKEY_free(key);
    return path;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const events[] = {"registry_package", "package", "ping",
                                         NULL};
    static const char envelope[] =
        "{\"message\":{\"data\":\"eyJhY3Rpb24iOiJJTlNFUlQiLCJ0YWciOiJoLmlv"
        "L2E6MSJ9\"}}"; /* {"action":"INSERT","tag":"h.io/a:1"} */
    strata_watchers_webhook_config cfg = {0};
    strata_watchers_webhook_request req = {0};
    strata_watchers_webhook_push *pushes = NULL;
    strata_error err = {0};
    headers h = {0};
    size_t n = 0, i;
    char *sig = NULL, *hub = NULL, *token = NULL, *auth = NULL;
    unsigned mode;
    int rc;

    if (size < 1)
        return 0;
    mode = (data[0] & 0x0f) % (NKINDS + 1);
    cfg.secret = SECRET;
    req.body = (const char *) data + 1;
    req.body_len = size - 1;
    req.authorization = "Bearer " SECRET;
    req.query = "token=" SECRET;
    req.header = get_header;
    req.header_arg = &h;
    if (mode == NKINDS) {
        /* The token is the input; the body a fixed Pub/Sub push. */
        cfg.kind = STRATA_WATCHERS_WEBHOOK_ARTIFACT_REGISTRY;
        cfg.keys = jwks_path();
        cfg.audience = "https://strata.example/hooks/registry/p";
        token = strndup((const char *) data + 1, size - 1);
        auth = malloc(strlen(token) + 8);
        memcpy(auth, "Bearer ", 7);
        strcpy(auth + 7, token);
        req.authorization = auth;
        req.body = envelope;
        req.body_len = sizeof(envelope) - 1;
        rc = strata_watchers_webhook_parse(&pushes, &n, &cfg, &req, &err);
        /* Nobody but the key's holder can sign: nothing passes. */
        if (rc != STRATA_EAUTH || err.msg[0] == '\0' || pushes != NULL)
            abort();
        goto out;
    }
    cfg.kind = (strata_watchers_webhook_kind) mode;
    /* Half the inputs take the host from the payload, half override it
     * (Artifact Registry's tags always name theirs). */
    cfg.registry = (data[0] & 0x80) ? "registry.example.com:5000" : NULL;
    h.binary = (data[0] & 0x40) != 0;
    h.event = events[(data[0] >> 4) & 3];
    sig = strata_watchers_webhook_sign(SECRET, req.body, req.body_len);
    req.signature = sig;
    hub = strata_watchers_webhook_sign(SECRET, req.body, req.body_len);
    h.sig = hub;
    rc = strata_watchers_webhook_parse(&pushes, &n, &cfg, &req, &err);
    if (rc != 0) {
        if ((rc != STRATA_EPROTO && rc != STRATA_ETOOBIG) ||
            err.msg[0] == '\0' || pushes != NULL || n != 0)
            abort();
        goto out;
    }
    if (n > STRATA_WATCHERS_WEBHOOK_MAX_PUSHES || (n > 0 && pushes == NULL))
        abort();
    for (i = 0; i < n; i++)
        check_push(&pushes[i]);
out:
    strata_watchers_webhook_free(pushes, n);
    free(sig);
    free(hub);
    free(token);
    free(auth);
    return 0;
}
