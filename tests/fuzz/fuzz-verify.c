/*
 * fuzz-verify.c - libFuzzer target for verify/'s parsers of outside input:
 * Sigstore bundles (through the whole verification, keyless under the
 * production trusted root and key-based under a fixed key), cosign
 * simple-signing payloads, cosign signature layers (payload, a NUL, the
 * annotations as JSON), attestation envelopes (the same layout), trusted
 * roots and checkpoints. The first byte picks which; the rest is the
 * input. Every call must return 0 or a negative code with a message, and
 * nothing may verify: no input is signed over the artifact used here.
 *
 * The production trusted root is read once from
 * tests/verify/conformance/ (scripts/fuzz.sh runs from the repository's
 * top); without it only the key-based policy is fuzzed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify-int.h"
#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "invariant broken: %s (line %d)\n", #cond,         \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* A P-256 public key nobody holds the private half of here. */
static const char key_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExRRST79+PsrRBnGAI4cMu6Omz2Jh\n"
    "fwlMW+gIutNKVRaMyS4rQKvgngc5p8UbLj55pVHhIoAxi/SRgURZI0J3Xw==\n"
    "-----END PUBLIC KEY-----\n";

static strata_verify_trusted_root *root;
static strata_verify_key *key;
static int loaded;

static void
load(void)
{
    strata_error err;
    const char *path = getenv("STRATA_FUZZ_TRUSTED_ROOT");

    loaded = 1;
    if (path == NULL)
        path = "tests/verify/conformance/trusted_root.production.json";
    if (strata_verify_trusted_root_load(&root, path, &err) < 0)
        root = NULL;
    check(strata_verify_key_parse(&key, key_pem, sizeof(key_pem) - 1, "fuzz",
                                  &err) == 0);
}

static void
check_result(int rc, const strata_error *err, const strata_verify_signer *s)
{
    check(rc < 0 && err->msg[0] != '\0');
    check(s == NULL || (s->summary == NULL && s->verifier == -1));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const strata_verify_identity id = {
        "https://token.actions.githubusercontent.com", NULL, ".*"};
    static const char *const mirrors[] = {"docker.io/library/debian"};
    strata_verify_artifact art = {"fuzz\n", 5, NULL};
    strata_verify_policy p;
    strata_verify_signer s;
    strata_error err = {0};
    const char *body, *nul;
    json_t *ann = NULL;
    int rc;

    if (!loaded)
        load();
    if (size < 1)
        return 0;
    body = (const char *) data + 1;
    size--;
    memset(&p, 0, sizeof(p));
    p.keys = &key;
    p.nkeys = 1;
    p.trusted_root = root;
    p.identities = &id;
    p.nidentities = root ? 1 : 0;
    p.mirrors = mirrors;
    p.nmirrors = 1;
    p.now = 1767225600;
    switch (data[0] % 6) {
    case 0:
        rc = strata_verify_bundle(&s, body, size, &art, &p, &err);
        check_result(rc, &err, &s);
        strata_verify_signer_release(&s);
        break;
    case 1: {
        strata_verify_payload pl;
        rc = strata_verify_payload_parse(&pl, body, size, &err);
        check(rc == 0 || (rc == STRATA_VERIFY_EUNVERIFIED && err.msg[0]));
        if (rc == 0)
            check(pl.docker_reference != NULL && pl.manifest_digest != NULL);
        strata_verify_payload_release(&pl);
        break;
    }
    case 2:
    case 3:
        /* payload NUL annotations */
        nul = memchr(body, '\0', size);
        if (nul != NULL)
            ann =
                json_loadb(nul + 1, size - (size_t) (nul + 1 - body), 0, NULL);
        if (data[0] % 6 == 2)
            rc = strata_verify_cosign(
                &s, body, nul ? (size_t) (nul - body) : size, ann,
                "sha256:"
                "0000000000000000000000000000000000000000000000000000000000000"
                "000",
                "docker.io/library/debian", &p, &err);
        else
            rc = strata_verify_attestation(
                &s, body, nul ? (size_t) (nul - body) : size, ann,
                "sha256:"
                "0000000000000000000000000000000000000000000000000000000000000"
                "000",
                &p, &err);
        check_result(rc, &err, &s);
        strata_verify_signer_release(&s);
        json_decref(ann);
        break;
    case 4: {
        strata_verify_trusted_root *r = NULL;
        rc =
            strata_verify_trusted_root_parse(&r, body, size, "fuzz.json", &err);
        check((rc == 0 && r != NULL) ||
              (rc == STRATA_EINVAL && r == NULL && err.msg[0]));
        strata_verify_trusted_root_free(r);
        break;
    }
    default:
        if (root != NULL && root->ntlogs > 0) {
            char *text = strata_xstrndup(body, size);
            unsigned char h[32];
            int64_t n;
            rc = strata_verify__checkpoint_verify(&n, h, text, &root->tlogs[0],
                                                  &err);
            /* Only the log's own checkpoints verify. */
            check((rc == 0 && n >= 0) ||
                  (rc == STRATA_VERIFY_EUNVERIFIED && err.msg[0]));
            free(text);
        }
        break;
    }
    return 0;
}
