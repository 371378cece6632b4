/*
 * fuzz-ref.c - libFuzzer target for the image reference parser: any input
 * either fails with STRATA_EINVAL and a message, or parses to a canonical
 * form that parses again to itself (normalisation is idempotent).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strata_error err = {0};
    strata_ref *ref = NULL, *again = NULL;
    char *s;
    int rc;

    if (size > 4096)
        return 0;
    s = strata_xstrndup((const char *) data, size);
    rc = strata_ref_parse(&ref, s, &err);
    if (rc != 0) {
        if (rc != STRATA_EINVAL || err.msg[0] == '\0' || ref != NULL)
            abort();
        goto out;
    }
    if (strata_ref_parse(&again, strata_ref_string(ref), &err) != 0)
        abort();
    if (strcmp(strata_ref_string(again), strata_ref_string(ref)) != 0)
        abort();
    (void) strata_ref_domain_is_loopback(strata_ref_domain(ref));
out:
    strata_ref_free(again);
    strata_ref_free(ref);
    free(s);
    return 0;
}
