/*
 * fuzz-manifest.c - libFuzzer target for the registry's manifest parser:
 * image manifests and indexes of the four media types (OCI manifest and
 * index, Docker schema 2 manifest and manifest list). The first byte picks
 * the Content-Type the body arrives with (none, each of the four, or one
 * with parameters); the rest is the body. Any input must fail with
 * STRATA_EPROTO and a message, or parse into a manifest whose digest is
 * the body's sha256, whose body is the exact input, and whose descriptors
 * all carry valid digests; platform lookups on it never fail.
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

static void
check_descriptor(const strata_descriptor *d)
{
    check(d->digest != NULL && strata_digest_validate(d->digest, NULL) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {
        NULL,
        STRATA_MT_OCI_INDEX,
        STRATA_MT_OCI_MANIFEST,
        STRATA_MT_DOCKER_LIST,
        STRATA_MT_DOCKER_MANIFEST,
        STRATA_MT_OCI_MANIFEST "; charset=utf-8",
        "application/json",
        "",
    };
    static const char *const platforms[] = {
        "linux/amd64",    "linux/arm64",   "linux/arm64/v8", "linux/arm",
        "linux/arm/v6",   "windows/amd64", "linux/",         "/",
        "linux/arm/v7/x",
    };
    strata_manifest *m = NULL;
    strata_error err = {0};
    const char *body;
    char hex[65], *digest;
    size_t i, len;
    int rc;

    if (size < 1)
        return 0;
    body = (const char *) data + 1;
    len = size - 1;
    rc = strata_manifest_parse(&m, body, len, types[data[0] % 8], &err);
    if (rc != 0) {
        check(rc == STRATA_EPROTO && m == NULL && err.msg[0] != '\0');
        return 0;
    }
    check(m != NULL && m->body_len == len && memcmp(m->body, body, len) == 0);
    strata_sha256_hex(hex, body, len);
    digest = strata_xasprintf("sha256:%s", hex);
    check(strcmp(m->digest, digest) == 0);
    free(digest);
    if (m->is_index) {
        check(m->nlayers == 0 && m->config.digest == NULL);
        for (i = 0; i < m->nmanifests; i++)
            check_descriptor(&m->manifests[i]);
    } else {
        check(m->nmanifests == 0);
        check_descriptor(&m->config);
        for (i = 0; i < m->nlayers; i++)
            check_descriptor(&m->layers[i]);
    }
    for (i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
        const strata_descriptor *d =
            strata_manifest_find_platform(m, platforms[i]);

        check(d == NULL || (d >= m->manifests &&
                            d < m->manifests + m->nmanifests && d->os != NULL));
    }
    strata_manifest_free(m);
    return 0;
}
