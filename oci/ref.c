/*
 * ref.c - image references: parsing and normalising them the way Docker's
 * distribution reference grammar does (reference.go, normalize.go).
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path
 *   domain     := host [":" port]
 *   host       := domain-name | "[" ipv6 "]"
 *   domain-name:= component ("." component)*, component [a-zA-Z0-9] or
 *                 [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   path       := path-component ("/" path-component)*
 *   path-component := [a-z0-9]+ (separator [a-z0-9]+)*
 *   separator  := [._] | "__" | [-]+
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex
 *
 * The string is split into name, tag and digest first; the first path
 * element of the name is a domain when it contains '.' or ':', is
 * "localhost", or has an uppercase letter (Docker Hub namespaces are
 * lowercase, so such an element can only be a host name). Docker Hub
 * names are normalised: "index.docker.io" becomes "docker.io", and a
 * one-element path gets "library/". "latest" is added only when the
 * reference has neither tag nor digest.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oci.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define PATH_MAX_LEN 255
#define TAG_MAX_LEN 128

struct strata_ref {
    char *domain;
    char *path;
    char *tag;    /* NULL when absent */
    char *digest; /* NULL when absent */
    char *name;   /* domain/path */
    char *str;    /* the canonical form */
};

static int
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_word(char c)
{
    return isalnum((unsigned char) c) || c == '_';
}

static int
is_hex_lower(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int
has_upper(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            return 1;
    return 0;
}

/* One domain-name component: [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? */
static int
valid_host_component(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || !isalnum((unsigned char) s[0]) ||
        !isalnum((unsigned char) s[len - 1]))
        return 0;
    for (i = 0; i < len; i++)
        if (!isalnum((unsigned char) s[i]) && s[i] != '-')
            return 0;
    return 1;
}

/* domain := (domain-name | "[" [a-fA-F0-9:]+ "]") (":" [0-9]+)? */
static int
valid_domain(const char *s, size_t len)
{
    size_t hostlen, i, start;

    if (len == 0)
        return 0;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);

        if (close == NULL || close == s + 1)
            return 0;
        for (i = 1; s + i < close; i++)
            if (!isxdigit((unsigned char) s[i]) && s[i] != ':')
                return 0;
        hostlen = (size_t) (close - s) + 1;
    } else {
        const char *colon = memchr(s, ':', len);

        hostlen = colon ? (size_t) (colon - s) : len;
        start = 0;
        for (i = 0; i <= hostlen; i++) {
            if (i == hostlen || s[i] == '.') {
                if (!valid_host_component(s + start, i - start))
                    return 0;
                start = i + 1;
            }
        }
    }
    if (hostlen == len)
        return 1;
    /* A port: ":" followed by at least one digit and nothing else. */
    if (s[hostlen] != ':' || hostlen + 1 == len)
        return 0;
    for (i = hostlen + 1; i < len; i++)
        if (!isdigit((unsigned char) s[i]))
            return 0;
    return 1;
}

/* One path component: [a-z0-9]+ ((?:[._]|__|[-]+) [a-z0-9]+)* */
static int
valid_path_component(const char *s, size_t len)
{
    size_t i = 0;

    if (len == 0 || !is_lower_alnum(s[0]))
        return 0;
    while (i < len) {
        while (i < len && is_lower_alnum(s[i]))
            i++;
        if (i == len)
            return 1;
        /* A separator, then at least one alphanumeric. */
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < len && s[i] == '_')
                i++;
        } else if (s[i] == '-') {
            while (i < len && s[i] == '-')
                i++;
        } else {
            return 0;
        }
        if (i == len || !is_lower_alnum(s[i]))
            return 0;
    }
    return 1;
}

static int
valid_path(const char *s, size_t len)
{
    size_t i, start = 0;

    for (i = 0; i <= len; i++) {
        if (i == len || s[i] == '/') {
            if (!valid_path_component(s + start, i - start))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}

static int
valid_tag(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > TAG_MAX_LEN || !is_word(s[0]))
        return 0;
    for (i = 1; i < len; i++)
        if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
            return 0;
    return 1;
}

/* The hex length of the digest algorithms we know, or 0. */
static size_t
known_hex_len(const char *alg, size_t len)
{
    if (len == 6 && memcmp(alg, "sha256", 6) == 0)
        return 64;
    if (len == 6 && memcmp(alg, "sha384", 6) == 0)
        return 96;
    if (len == 6 && memcmp(alg, "sha512", 6) == 0)
        return 128;
    return 0;
}

/*
 * Checks an "algorithm:encoded" digest. Registered algorithms need their
 * exact length of lowercase hex. For others, the OCI image spec grammar:
 * algorithm [a-z0-9]+([+._-][a-z0-9]+)*, encoded [a-zA-Z0-9=_-]+. When
 * in_ref is set the reference grammar also applies: the encoded part is
 * at least 32 hex digits.
 */
static const char *
digest_problem(const char *d, int in_ref)
{
    const char *colon = strchr(d, ':');
    size_t alen, elen, want, i;
    const char *enc;

    if (colon == NULL || colon == d || colon[1] == '\0')
        return "invalid digest format";
    alen = (size_t) (colon - d);
    enc = colon + 1;
    elen = strlen(enc);
    /* Algorithm: components of [a-z0-9]+ joined by one of [+._-]. */
    for (i = 0; i < alen; i++) {
        int sep = d[i] == '+' || d[i] == '.' || d[i] == '_' || d[i] == '-';

        if (sep) {
            if (i == 0 || i + 1 == alen || !is_lower_alnum(d[i + 1]))
                return "invalid digest format";
        } else if (!is_lower_alnum(d[i])) {
            return "invalid digest format";
        }
    }
    want = known_hex_len(d, alen);
    if (want != 0) {
        for (i = 0; i < elen; i++)
            if (!is_hex_lower(enc[i]))
                return "invalid checksum digest format";
        if (elen != want)
            return "invalid checksum digest length";
        return NULL;
    }
    if (in_ref) {
        if (!isalpha((unsigned char) d[0]))
            return "invalid digest format";
        if (elen < 32)
            return "invalid digest format";
        for (i = 0; i < elen; i++)
            if (!isxdigit((unsigned char) enc[i]))
                return "invalid digest format";
        return NULL;
    }
    for (i = 0; i < elen; i++)
        if (!isalnum((unsigned char) enc[i]) && enc[i] != '=' &&
            enc[i] != '_' && enc[i] != '-')
            return "invalid digest format";
    return NULL;
}

int
strata_digest_validate(const char *digest, strata_error *err)
{
    const char *why = digest_problem(digest, 0);

    if (why != NULL)
        return strata_error_set(err, STRATA_EINVAL, "invalid digest '%s': %s",
                                digest, why);
    return 0;
}

static void
ref_finish(strata_ref *r)
{
    strata_buf b = STRATA_BUF_INIT;

    free(r->name);
    free(r->str);
    r->name = strata_xasprintf("%s/%s", r->domain, r->path);
    strata_buf_puts(&b, r->name);
    if (r->tag != NULL)
        strata_buf_printf(&b, ":%s", r->tag);
    if (r->digest != NULL)
        strata_buf_printf(&b, "@%s", r->digest);
    r->str = strata_buf_detach(&b);
}

/* True for a 64-character lowercase hex string (an image ID). */
static int
is_identifier(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (!is_hex_lower(s[i]))
            return 0;
    return i == 64;
}

int
strata_ref_parse(strata_ref **out, const char *s, strata_error *err)
{
    const char *at, *slash, *colon, *name_end, *rest, *why = NULL;
    size_t name_len, first_len;
    strata_ref *r = NULL;

    *out = NULL;
    if (s[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid reference '': repository name must "
                                "have at least one component");
    if (is_identifier(s))
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid reference '%s': cannot specify "
                                "64-byte hexadecimal strings",
                                s);

    r = strata_xcalloc(1, sizeof(*r));

    /* Digest: everything after the first '@'. */
    at = strchr(s, '@');
    name_end = at ? at : s + strlen(s);
    if (at != NULL) {
        why = digest_problem(at + 1, 1);
        if (why != NULL)
            goto invalid;
        r->digest = strata_xstrdup(at + 1);
    }

    /* Tag: after the last ':' that follows the last '/'. */
    slash = NULL;
    colon = NULL;
    for (rest = s; rest < name_end; rest++) {
        if (*rest == '/')
            slash = rest;
        else if (*rest == ':')
            colon = rest;
    }
    if (colon != NULL && (slash == NULL || colon > slash)) {
        if (!valid_tag(colon + 1, (size_t) (name_end - colon - 1))) {
            why = "invalid tag format";
            goto invalid;
        }
        r->tag = strata_xstrndup(colon + 1, (size_t) (name_end - colon - 1));
        name_end = colon;
    }
    name_len = (size_t) (name_end - s);

    /* Domain: the first element, when it looks like a host. */
    slash = memchr(s, '/', name_len);
    first_len = slash ? (size_t) (slash - s) : 0;
    if (slash != NULL && (memchr(s, '.', first_len) != NULL ||
                          memchr(s, ':', first_len) != NULL ||
                          (first_len == 9 && memcmp(s, "localhost", 9) == 0) ||
                          has_upper(s, first_len))) {
        if (!valid_domain(s, first_len)) {
            why = "invalid domain";
            goto invalid;
        }
        r->domain = strata_xstrndup(s, first_len);
        r->path = strata_xstrndup(slash + 1, name_len - first_len - 1);
    } else {
        r->domain = strata_xstrdup(DEFAULT_DOMAIN);
        r->path = strata_xstrndup(s, name_len);
    }
    if (strcmp(r->domain, LEGACY_DOMAIN) == 0) {
        free(r->domain);
        r->domain = strata_xstrdup(DEFAULT_DOMAIN);
    }
    if (strcmp(r->domain, DEFAULT_DOMAIN) == 0 &&
        strchr(r->path, '/') == NULL) {
        char *p = strata_xasprintf(OFFICIAL_PREFIX "%s", r->path);

        free(r->path);
        r->path = p;
    }

    if (r->path[0] == '\0' || strcmp(r->path, OFFICIAL_PREFIX) == 0) {
        why = "repository name must have at least one component";
        goto invalid;
    }
    if (has_upper(r->path, strlen(r->path))) {
        why = "repository name must be lowercase";
        goto invalid;
    }
    if (!valid_path(r->path, strlen(r->path))) {
        why = "invalid reference format";
        goto invalid;
    }
    if (strlen(r->path) > PATH_MAX_LEN) {
        why = "repository name must not be more than 255 characters";
        goto invalid;
    }
    if (r->tag == NULL && r->digest == NULL)
        r->tag = strata_xstrdup("latest");
    ref_finish(r);
    *out = r;
    return 0;

invalid:
    strata_ref_free(r);
    return strata_error_set(err, STRATA_EINVAL, "invalid reference '%s': %s", s,
                            why);
}

void
strata_ref_free(strata_ref *ref)
{
    if (ref == NULL)
        return;
    free(ref->domain);
    free(ref->path);
    free(ref->tag);
    free(ref->digest);
    free(ref->name);
    free(ref->str);
    free(ref);
}

static char *
dup_or_null(const char *s)
{
    return s ? strata_xstrdup(s) : NULL;
}

strata_ref *
strata_ref_dup(const strata_ref *ref)
{
    strata_ref *r = strata_xcalloc(1, sizeof(*r));

    r->domain = strata_xstrdup(ref->domain);
    r->path = strata_xstrdup(ref->path);
    r->tag = dup_or_null(ref->tag);
    r->digest = dup_or_null(ref->digest);
    ref_finish(r);
    return r;
}

const char *
strata_ref_string(const strata_ref *ref)
{
    return ref->str;
}

const char *
strata_ref_name(const strata_ref *ref)
{
    return ref->name;
}

const char *
strata_ref_domain(const strata_ref *ref)
{
    return ref->domain;
}

const char *
strata_ref_path(const strata_ref *ref)
{
    return ref->path;
}

const char *
strata_ref_tag(const strata_ref *ref)
{
    return ref->tag;
}

const char *
strata_ref_digest(const strata_ref *ref)
{
    return ref->digest;
}

int
strata_ref_with_digest(strata_ref **out, const strata_ref *ref,
                       const char *digest, strata_error *err)
{
    strata_ref *r;
    const char *why;

    *out = NULL;
    if (digest != NULL && (why = digest_problem(digest, 1)) != NULL)
        return strata_error_set(err, STRATA_EINVAL, "invalid digest '%s': %s",
                                digest, why);
    r = strata_ref_dup(ref);
    free(r->digest);
    r->digest = dup_or_null(digest);
    /* A reference without digest still needs a tag to name something. */
    if (r->digest == NULL && r->tag == NULL)
        r->tag = strata_xstrdup("latest");
    ref_finish(r);
    *out = r;
    return 0;
}

int
strata_ref_domain_is_loopback(const char *domain)
{
    char host[256];
    const char *end;
    size_t len;
    struct in_addr a4;
    struct in6_addr a6;

    if (domain == NULL)
        return 0;
    if (domain[0] == '[') {
        end = strchr(domain, ']');
        if (end == NULL)
            return 0;
        len = (size_t) (end - domain - 1);
        if (len >= sizeof(host))
            return 0;
        memcpy(host, domain + 1, len);
        host[len] = '\0';
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return 0;
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return 1;
        /* ::ffff:127.x.y.z, an IPv4 loopback address mapped into IPv6. */
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    end = strchr(domain, ':');
    len = end ? (size_t) (end - domain) : strlen(domain);
    if (len >= sizeof(host))
        return 0;
    memcpy(host, domain, len);
    host[len] = '\0';
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return 0;
}
