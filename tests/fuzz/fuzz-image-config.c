/*
 * fuzz-image-config.c - libFuzzer target for the image config blob parser
 * (created, os/architecture/variant, config.Labels, rootfs.diff_ids,
 * history). Any input must fail with STRATA_EPROTO and a message, or give
 * a config whose digest is the body's sha256, whose labels are an object
 * and whose diff_ids are all valid digests.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

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
    strata_image_config *c = NULL;
    strata_error err = {0};
    char hex[65], *digest;
    const char *k;
    json_t *v;
    size_t i;
    int rc;

    rc = strata_image_config_parse(&c, (const char *) data, size, &err);
    if (rc != 0) {
        check(rc == STRATA_EPROTO && c == NULL && err.msg[0] != '\0');
        return 0;
    }
    check(c != NULL);
    strata_sha256_hex(hex, data, size);
    digest = strata_xasprintf("sha256:%s", hex);
    check(strcmp(c->digest, digest) == 0);
    free(digest);
    check(json_is_object(c->labels));
    json_object_foreach (c->labels, k, v)
        check(k != NULL && v != NULL);
    for (i = 0; i < c->ndiff_ids; i++)
        check(strata_digest_validate(c->diff_ids[i], NULL) == 0);
    for (i = 0; i < c->nhistory; i++)
        (void) (c->history[i].created_by != NULL &&
                strlen(c->history[i].created_by));
    strata_image_config_free(c);
    return 0;
}
