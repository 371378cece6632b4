/*
 * fuzz-running.c - libFuzzer target for the running-images parser
 * (strata_report_running_parse): a plain list of references, one a line
 * with '#' comments, or the JSON of `kubectl get pods -A -o json`. Any
 * input fails with STRATA_EINVAL and a message naming the file, or gives
 * items whose references parse back to themselves and whose digests are
 * valid.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"
#include "report.h"

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
    strata_report_running *r = NULL;
    strata_error err = {0};
    size_t i, n;
    int rc;

    rc = strata_report_running_parse(&r, (const char *) data, size, "fuzz",
                                     &err);
    if (rc != 0) {
        check(rc == STRATA_EINVAL && r == NULL && err.msg[0] != '\0');
        check(strstr(err.msg, "fuzz") != NULL);
        return 0;
    }
    check(r != NULL);
    n = strata_report_running_count(r);
    for (i = 0; i < n; i++) {
        const char *digest = NULL;
        const char *text = strata_report_running_ref(r, i, &digest);
        strata_ref *ref = NULL;

        check(text != NULL && strata_ref_parse(&ref, text, NULL) == 0);
        check(strcmp(strata_ref_string(ref), text) == 0);
        check(digest == NULL || strata_digest_validate(digest, NULL) == 0);
        strata_ref_free(ref);
    }
    strata_report_running_free(r);
    return 0;
}
