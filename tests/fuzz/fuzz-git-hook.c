/*
 * fuzz-git-hook.c - libFuzzer target for forge push webhooks (vcs/hook.c).
 * The first input byte picks the forge; the rest is the body, delivered
 * with valid credentials (signed here as that forge signs), so the fuzzer
 * reaches the JSON behind verification. Any input must either fail with
 * STRATA_EINVAL or STRATA_ETOOBIG and a message and nothing set, or yield
 * a push with a ref and 1..8 URLs that compare equal to themselves.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "vcs.h"

#define SECRET "fuzz-secret"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
sign(char out[72], const char *prefix, const void *body, size_t len)
{
    unsigned char mac[32];
    unsigned int n = 0;
    size_t i, at = strlen(prefix);

    HMAC(EVP_sha256(), SECRET, (int) strlen(SECRET),
         (const unsigned char *) (body ? body : ""), len, mac, &n);
    memcpy(out, prefix, at);
    for (i = 0; i < 32; i++)
        snprintf(out + at + 2 * i, 3, "%02x", mac[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strata_vcs_hook_request req = {0};
    strata_vcs_hook_push p = {0};
    strata_vcs_hook_kind kind;
    strata_error err = {0};
    char sig[72];
    size_t i;
    int rc;

    if (size < 1)
        return 0;
    kind = (strata_vcs_hook_kind) (data[0] % 3);
    req.body = (const char *) data + 1;
    req.body_len = size - 1;
    req.event = (data[0] & 0x80) ? "ping" : NULL;
    sign(sig, kind == STRATA_VCS_HOOK_GITHUB ? "sha256=" : "", req.body,
         req.body_len);
    req.signature = sig;
    req.token = SECRET;
    rc = strata_vcs_hook_parse(&p, kind, SECRET, &req, &err);
    if (rc != 0) {
        if ((rc != STRATA_EINVAL && rc != STRATA_ETOOBIG) ||
            err.msg[0] == '\0' || p.ref != NULL || p.urls != NULL)
            abort();
        return 0;
    }
    if (p.ignored != (req.event != NULL))
        abort();
    if (!p.ignored && (p.ref == NULL || p.nurls < 1 || p.nurls > 8))
        abort();
    for (i = 0; i < p.nurls; i++)
        if (!strata_vcs_same_repo(p.urls[i], p.urls[i]))
            abort();
    strata_vcs_hook_push_release(&p);
    return 0;
}
