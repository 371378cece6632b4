/*
 * fuzz-docker-config.c - libFuzzer target for Docker config.json parsing
 * (oci/dockercfg.c, through strata_oci__docker_config_parse so no helper
 * is ever run): credHelpers, credsStore and auths entries, base64 "auth",
 * identity tokens. The first byte picks the registry asked about; the
 * rest is the file. Invariants: a failure is STRATA_EINVAL with a message
 * and no credentials; a helper excludes credentials; a decoded "auth"
 * gives a user and a password together, and an identity token comes
 * alone.
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
    static const char *const domains[] = {
        "docker.io",
        "ghcr.io",
        "localhost:5000",
        "registry.example.com",
    };
    strata_registry_creds creds;
    strata_error err = {0};
    char *helper = NULL;
    int rc;

    if (size < 1)
        return 0;
    rc = strata_oci__docker_config_parse(
        &creds, &helper, (const char *) data + 1, size - 1, "fuzz.json",
        domains[data[0] % 4], &err);
    if (rc != 0) {
        check(rc == STRATA_EINVAL && err.msg[0] != '\0' && helper == NULL);
        check(creds.username == NULL && creds.password == NULL &&
              creds.identity_token == NULL);
        return 0;
    }
    if (helper != NULL)
        check(helper[0] != '\0' && creds.username == NULL &&
              creds.password == NULL && creds.identity_token == NULL);
    if (creds.identity_token != NULL)
        check(creds.username == NULL && creds.password == NULL);
    if (creds.username != NULL)
        check(creds.password != NULL);
    strata_registry_creds_release(&creds);
    free(helper);
    return 0;
}
