/*
 * dockercfg.c - registry credentials from a Docker client config file
 * ($DOCKER_CONFIG/config.json or ~/.docker/config.json), resolved as the
 * Docker client does: a helper named for the registry in "credHelpers",
 * else the "credsStore" helper for every registry, else the "auths"
 * entry, which carries base64("user:password") in "auth" or an OAuth2
 * refresh token in "identitytoken". Docker Hub's entries may be keyed by
 * its legacy URL. Helpers run through credhelper.c.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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

/* The config file's path (new): $DOCKER_CONFIG, else ~/.docker; or NULL. */
static char *
default_path(void)
{
    const char *dir = getenv("DOCKER_CONFIG"), *home;

    if (dir != NULL && dir[0] != '\0')
        return strata_xasprintf("%s/config.json", dir);
    home = getenv("HOME");
    if (home == NULL)
        return NULL;
    return strata_xasprintf("%s/.docker/config.json", home);
}

/* base64("user:password") into *user and *password (both new). */
static int
decode_auth(char **user, char **password, const char *b64, const char *path,
            const char *domain, strata_error *err)
{
    unsigned char *raw;
    size_t blen = strlen(b64), rawcap = blen / 4 * 3 + 4, pad = 0;
    char *colon;
    int n, rc = 0;

    raw = strata_xmalloc(rawcap);
    n = EVP_DecodeBlock(raw, (const unsigned char *) b64, (int) blen);
    /*
     * EVP_DecodeBlock counts the '=' padding as zero bytes, and takes
     * "====" as three of them: base64 pads with at most two.
     */
    while (pad < blen && b64[blen - 1 - pad] == '=')
        pad++;
    if (n < 0 || blen % 4 != 0 || pad > 2 || (size_t) n < pad) {
        rc = strata_error_set(err, STRATA_EINVAL, "bad 'auth' for '%s' in '%s'",
                              domain, path);
        goto out;
    }
    n -= (int) pad;
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
    memset(raw, 0, rawcap);
    free(raw);
    return rc;
}

/* The server URL a helper is asked about, as Docker names it (new). */
char *
strata_oci__helper_server_url(const char *domain)
{
    if (strcmp(domain, "docker.io") == 0)
        return strata_xstrdup("https://index.docker.io/v1/");
    return strata_xstrdup(domain);
}

/* What a config.json says about domain: see oci-int.h. */
int
strata_oci__docker_config_parse(strata_registry_creds *out, char **helper,
                                const char *text, size_t len, const char *path,
                                const char *domain, strata_error *err)
{
    const char *h, *s;
    json_t *j, *e;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    *helper = NULL;
    j = json_loadb(text, len, 0, NULL);
    if (!json_is_object(j)) {
        rc = strata_error_set(err, STRATA_EINVAL, "cannot parse '%s'", path);
        goto out;
    }
    h = json_string_value(
        find_entry(json_object_get(j, "credHelpers"), domain));
    if (h == NULL || h[0] == '\0')
        h = json_string_value(json_object_get(j, "credsStore"));
    if (h != NULL && h[0] != '\0') {
        *helper = strata_xstrdup(h);
        goto out;
    }
    e = find_entry(json_object_get(j, "auths"), domain);
    if ((s = json_string_value(json_object_get(e, "identitytoken"))) != NULL &&
        s[0] != '\0') {
        out->identity_token = strata_xstrdup(s);
    } else if ((s = json_string_value(json_object_get(e, "auth"))) != NULL &&
               s[0] != '\0') {
        rc = decode_auth(&out->username, &out->password, s, path, domain, err);
    } else if (json_string_value(json_object_get(e, "password")) != NULL) {
        /* The old layout: plain "username" and "password" members. */
        s = json_string_value(json_object_get(e, "username"));
        out->username = s ? strata_xstrdup(s) : NULL;
        out->password =
            strata_xstrdup(json_string_value(json_object_get(e, "password")));
    }
out:
    if (rc != 0)
        strata_registry_creds_release(out);
    json_decref(j);
    return rc;
}

int
strata_docker_config_lookup(strata_registry_creds *out, char **helper,
                            const char *path, const char *domain,
                            strata_error *err)
{
    char *def = NULL, *text = NULL;
    size_t len = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    *helper = NULL;
    if (path == NULL && (path = def = default_path()) == NULL)
        return 0;
    if (strata_read_file(&text, &len, path, 1024 * 1024, NULL) == 0)
        rc = strata_oci__docker_config_parse(out, helper, text, len, path,
                                             domain, err);
    /* else no file: no credentials */
    if (text != NULL) {
        memset(text, 0, len);
        free(text);
    }
    free(def);
    return rc;
}

int
strata_docker_config_creds(strata_registry_creds *out, const char *path,
                           const char *domain, uint32_t helper_timeout_ms,
                           strata_error *err)
{
    char *url = NULL, *helper = NULL;
    int rc;

    rc = strata_docker_config_lookup(out, &helper, path, domain, err);
    if (rc == 0 && helper != NULL) {
        url = strata_oci__helper_server_url(domain);
        rc = strata_oci__helper_get_sync(out, helper, url, helper_timeout_ms,
                                         err);
    }
    if (rc != 0)
        strata_registry_creds_release(out);
    free(helper);
    free(url);
    return rc;
}

int
strata_docker_config_auth(char **user, char **password, const char *path,
                          const char *domain, strata_error *err)
{
    strata_registry_creds c;
    int rc;

    *user = *password = NULL;
    rc = strata_docker_config_creds(&c, path, domain, 0, err);
    if (rc == 0 && c.password != NULL) {
        *user = c.username != NULL ? c.username : strata_xstrdup("");
        *password = c.password;
        c.username = c.password = NULL;
    }
    strata_registry_creds_release(&c);
    return rc;
}
