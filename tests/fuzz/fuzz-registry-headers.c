/*
 * fuzz-registry-headers.c - libFuzzer target for the registry answer
 * headers the oci module parses: WWW-Authenticate challenges (auth.c),
 * Link headers of tag list pages (tags.c) and upload Locations (push.c),
 * through their internal entry points in oci-int.h. The first byte picks
 * the header and the registry domain, the second whether the registry is
 * insecure; the rest is the header value. Invariants: failures are
 * STRATA_EPROTO (or STRATA_EAUTH for a refused plain-HTTP realm) with a
 * message; a bearer challenge that parses has an http(s) realm, plain
 * HTTP only where allowed; a next page or upload location is a path on
 * the registry itself ("/v2/...", no blanks or control characters).
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

static const char *const domains[] = {
    "docker.io",
    "ghcr.io",
    "localhost:5000",
    "[::1]:5000",
};

static void
fuzz_challenge(const char *value, const char *domain, int insecure)
{
    strata_oci__host *h = strata_xcalloc(1, sizeof(*h));
    strata_error err = {0};
    int rc, i;

    h->domain = strata_xstrdup(domain);
    h->insecure = insecure;
    /* Twice: a second challenge replaces what the first one left. */
    for (i = 0; i < 2; i++) {
        rc = strata_oci__parse_challenge(h, value, &err);
        if (rc != 0) {
            check((rc == STRATA_EPROTO || rc == STRATA_EAUTH) &&
                  err.msg[0] != '\0');
            continue;
        }
        check(h->auth == STRATA_OCI__AUTH_BASIC ||
              h->auth == STRATA_OCI__AUTH_BEARER);
        if (h->auth == STRATA_OCI__AUTH_BEARER) {
            check(h->realm != NULL);
            check(strncmp(h->realm, "https://", 8) == 0 ||
                  strncmp(h->realm, "http://", 7) == 0);
        }
    }
    strata_oci__host_free(h);
}

/* A path on the registry: "/v2/...", and no blank or control byte. */
static void
check_path(const char *p, int strict)
{
    const char *c;

    check(p[0] == '/');
    if (!strict)
        return;
    check(strncmp(p, "/v2/", 4) == 0);
    for (c = p; *c != '\0'; c++)
        check((unsigned char) *c > 0x20 && *c != 0x7f);
}

static void
fuzz_link(const char *value, const char *domain)
{
    strata_error err = {0};
    char *next = NULL;
    int rc;

    rc = strata_oci__next_link(&next, value, domain, &err);
    if (rc != 0) {
        check(rc == STRATA_EPROTO && next == NULL && err.msg[0] != '\0');
        return;
    }
    if (next != NULL)
        check_path(next, 1);
    free(next);
}

static void
fuzz_location(const char *value, const char *domain)
{
    strata_error err = {0};
    char *path = NULL;
    int rc;

    rc = strata_oci__location_path(&path, domain, value, &err);
    if (rc != 0) {
        check(rc == STRATA_EPROTO && path == NULL && err.msg[0] != '\0');
        return;
    }
    check(path != NULL);
    check_path(path, 0);
    free(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *domain;
    char *value;

    if (size < 2)
        return 0;
    /* A header value is a C string: it ends at the first NUL. */
    value = strata_xstrndup((const char *) data + 2, size - 2);
    domain = domains[(data[0] >> 2) % 4];
    switch (data[0] % 3) {
    case 0:
        fuzz_challenge(value, domain, data[1] & 1);
        break;
    case 1:
        fuzz_link(value, domain);
        break;
    default:
        fuzz_location(value, domain);
        break;
    }
    free(value);
    return 0;
}
