/*
 * fuzz-webhook.c - libFuzzer target for the registry webhook parser. The
 * first input byte picks the sender kind; the rest is the body, delivered
 * with valid credentials (a generic body is signed here), so the fuzzer
 * reaches the JSON parsing behind verification. Any input must either
 * fail with STRATA_EPROTO or STRATA_ETOOBIG and a message, or yield pushes
 * whose references are canonical and whose digests are valid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"
#include "watchers.h"

#define SECRET "fuzz-secret"

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strata_watchers_webhook_config cfg = {0};
    strata_watchers_webhook_request req = {0};
    strata_watchers_webhook_push *pushes = NULL;
    strata_error err = {0};
    size_t n = 0, i;
    char *sig = NULL;
    int rc;

    if (size < 1)
        return 0;
    cfg.kind = (strata_watchers_webhook_kind) (data[0] % 4);
    cfg.secret = SECRET;
    /* Half the inputs take the host from the payload, half override it. */
    cfg.registry = (data[0] & 0x80) ? "registry.example.com:5000" : NULL;
    req.body = (const char *) data + 1;
    req.body_len = size - 1;
    req.authorization = "Bearer " SECRET;
    req.query = "token=" SECRET;
    sig = strata_watchers_webhook_sign(SECRET, req.body, req.body_len);
    req.signature = sig;
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
    return 0;
}
