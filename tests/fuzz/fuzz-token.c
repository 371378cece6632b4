/*
 * fuzz-token.c - libFuzzer target for a token server's answer (oci/auth.c
 * through strata_oci__token_parse in oci-int.h): the body of a Docker
 * token protocol or OAuth2 answer, as the network sends it. Invariants: a
 * parse that fails is STRATA_EPROTO with a message and no token; one that
 * succeeds gives a non-empty token of visible ASCII only (it goes into an
 * Authorization header) and a lifetime in [1, a day]; cached, the token is
 * found again at once, never taken for expired.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "invariant broken: %s (line %d)\n", #cond,         \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strata_oci__host *h;
    strata_error err = {0};
    int64_t life = -1;
    char *tok = NULL;
    const char *cached;
    const unsigned char *p;
    int rc;

    rc = strata_oci__token_parse(&tok, &life, (const char *) data, size,
                                 "registry.example", &err);
    if (rc != 0) {
        check(rc == STRATA_EPROTO && tok == NULL && err.msg[0] != '\0');
        return 0;
    }
    check(tok != NULL && tok[0] != '\0');
    for (p = (const unsigned char *) tok; *p != '\0'; p++)
        check(*p > 0x20 && *p < 0x7f);
    check(life >= 1 && life <= STRATA_OCI__MAX_TOKEN_LIFE_S);
    h = strata_xcalloc(1, sizeof(*h));
    h->domain = strata_xstrdup("registry.example");
    strata_oci__token_put(h, "repository:x:pull", tok, life);
    cached = strata_oci__token_get(h, "repository:x:pull");
    check(cached != NULL && strcmp(cached, tok) == 0);
    strata_oci__host_free(h);
    free(tok);
    return 0;
}
