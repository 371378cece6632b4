/*
 * dockercfg.c - registry credentials from a Docker client config file
 * (~/.docker/config.json): the "auths" map, whose entries carry
 * base64("user:password") in "auth". Docker Hub's entry may be keyed by
 * its legacy URL. Credential helpers are not run.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "oci-int.h"

/* The entry of auths for domain (borrowed), or NULL. */
static json_t *
find_entry(json_t *auths, const char *domain)
{
    const char *key;
    json_t *v;

    json_object_foreach (auths, key, v) {
        const char *k = key;
        size_t len;

        if (strncmp(k, "https://", 8) == 0)
            k += 8;
        else if (strncmp(k, "http://", 7) == 0)
            k += 7;
        len = strcspn(k, "/");
        if (strlen(domain) == len && strncmp(k, domain, len) == 0)
            return v;
        /* Docker Hub: "https://index.docker.io/v1/" and friends. */
        if (strcmp(domain, "docker.io") == 0 &&
            ((len == 15 && strncmp(k, "index.docker.io", 15) == 0) ||
             (len == 20 && strncmp(k, "registry-1.docker.io", 20) == 0)))
            return v;
    }
    return NULL;
}

int
strata_docker_config_auth(char **user, char **password, const char *path,
                          const char *domain, strata_error *err)
{
    char *def = NULL, *text = NULL, *colon;
    unsigned char *raw = NULL;
    const char *b64, *home;
    json_t *j = NULL, *e;
    size_t len = 0, blen, rawcap = 0;
    int n, rc = 0;

    *user = *password = NULL;
    if (path == NULL) {
        home = getenv("HOME");
        if (home == NULL)
            return 0;
        def = strata_xasprintf("%s/.docker/config.json", home);
        path = def;
    }
    if (strata_read_file(&text, &len, path, 1024 * 1024, NULL) != 0)
        goto out; /* no file: no credentials */
    j = json_loadb(text, len, 0, NULL);
    if (!json_is_object(j)) {
        rc = strata_error_set(err, STRATA_EINVAL, "cannot parse '%s'", path);
        goto out;
    }
    e = find_entry(json_object_get(j, "auths"), domain);
    b64 = json_string_value(json_object_get(e, "auth"));
    if (b64 == NULL)
        goto out;
    blen = strlen(b64);
    rawcap = blen / 4 * 3 + 4;
    raw = strata_xmalloc(rawcap);
    n = EVP_DecodeBlock(raw, (const unsigned char *) b64, (int) blen);
    if (n < 0 || blen % 4 != 0) {
        rc = strata_error_set(err, STRATA_EINVAL, "bad 'auth' for '%s' in '%s'",
                              domain, path);
        goto out;
    }
    /* EVP_DecodeBlock counts the '=' padding as zero bytes. */
    while (blen > 0 && b64[blen - 1] == '=') {
        blen--;
        n--;
    }
    raw[n] = '\0';
    colon = strchr((char *) raw, ':');
    if (colon == NULL) {
        rc = strata_error_set(err, STRATA_EINVAL, "bad 'auth' for '%s' in '%s'",
                              domain, path);
        goto out;
    }
    *user = strata_xstrndup((char *) raw, (size_t) (colon - (char *) raw));
    *password = strata_xstrdup(colon + 1);
out:
    if (raw != NULL) {
        memset(raw, 0, rawcap);
        free(raw);
    }
    if (text != NULL) {
        memset(text, 0, len);
        free(text);
    }
    json_decref(j);
    free(def);
    return rc;
}
