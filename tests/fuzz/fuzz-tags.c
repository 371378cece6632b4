/*
 * fuzz-tags.c - libFuzzer target for a page of a tag list (oci/tags.c
 * through strata_oci__tags_parse in oci-int.h), as a registry sends it.
 * The input is parsed as two pages in a row (so appending to what an
 * earlier page gave is exercised too) with a small tag cap. Invariants: a
 * failure is STRATA_EPROTO (malformed) or STRATA_ETOOBIG (over the cap)
 * with a message; every tag kept is a string of 1 to 128 bytes with no
 * NUL inside, and there are never more than the cap.
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

#define MAX_TAGS 64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char **tags = NULL;
    size_t ntags = 0, cap = 0, i, before;
    int page, rc;

    for (page = 0; page < 2; page++) {
        strata_error err = {0};

        before = ntags;
        rc = strata_oci__tags_parse(&tags, &ntags, &cap, (const char *) data,
                                    size, MAX_TAGS, "x", &err);
        if (rc != 0) {
            check((rc == STRATA_EPROTO || rc == STRATA_ETOOBIG) &&
                  err.msg[0] != '\0');
            break;
        }
        check(ntags >= before && ntags <= MAX_TAGS && ntags <= cap);
    }
    for (i = 0; i < ntags; i++) {
        size_t n = strlen(tags[i]);

        check(n >= 1 && n <= 128);
    }
    strata_registry_tags_free(tags, ntags);
    return 0;
}
