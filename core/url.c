/*
 * url.c - URLs: percent-encoding for URL parts on libcurl's own escaping
 * (RFC 3986: everything but ALPHA / DIGIT / "-" / "." / "_" / "~"), the
 * matching decoder, and URLs as strata may show them.
 *
 * A URL can carry a secret in three places: its userinfo
 * ("https://user:token@host/..."), its query
 * ("?sig=...", "?token=...") and, for webhook receivers such as Slack's
 * or Teams', its path. What is stored (the graph, events) keeps the URL
 * whole but for its credentials; what is logged keeps only the scheme,
 * the host and, unless the URL is itself a secret, the path.
 *
 * Only "scheme://authority..." URLs are taken apart; anything else (a
 * local path, git's scp-like "git@host:path") is returned as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core.h"

/* The parts of "scheme://[userinfo@]host[:port][/path][?query][#frag]". */
typedef struct url_parts {
    const char *host;     /* just after "://" and any userinfo */
    const char *userinfo; /* just after "://", or NULL without '@' */
    const char *path;     /* the first '/', '?', '#' or the end */
    const char *query;    /* the first '?' or '#' after path, or the end */
} url_parts;

/* 1 and parts filled for a scheme:// URL, else 0. */
static int
split(url_parts *u, const char *url)
{
    const char *sep = strstr(url, "://"), *p, *at = NULL;

    if (sep == NULL || sep == url)
        return 0;
    for (p = url; p < sep; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))
            return 0;
    }
    u->userinfo = sep + 3;
    u->path = u->userinfo + strcspn(u->userinfo, "/?#");
    /* The last '@' of the authority ends the userinfo ("a:b@c@host"). */
    for (p = u->userinfo; p < u->path; p++) {
        if (*p == '@')
            at = p;
    }
    u->host = at != NULL ? at + 1 : u->userinfo;
    if (at == NULL)
        u->userinfo = NULL;
    u->query = u->path + strcspn(u->path, "?#");
    return 1;
}

/* url with [from, to) cut out. New. */
static char *
cut(const char *url, const char *from, const char *to)
{
    return strata_xasprintf("%.*s%s", (int) (from - url), url, to);
}

char *
strata_url_strip_userinfo(const char *url)
{
    url_parts u;

    if (!split(&u, url) || u.userinfo == NULL)
        return strata_xstrdup(url);
    return cut(url, u.userinfo, u.host);
}

/* The scheme, lowercase compared: 1 when url's is one of the list. */
static int
scheme_is(const char *url, const char *const *names)
{
    size_t n = (size_t) (strstr(url, "://") - url);

    for (; *names != NULL; names++) {
        if (strlen(*names) == n && strncasecmp(url, *names, n) == 0)
            return 1;
    }
    return 0;
}

char *
strata_url_strip_credentials(const char *url)
{
    static const char *const web[] = {"http", "https", NULL};
    url_parts u;
    const char *colon;

    if (!split(&u, url) || u.userinfo == NULL)
        return strata_xstrdup(url);
    /* http(s): a user name alone is often the token itself. */
    if (scheme_is(url, web))
        return cut(url, u.userinfo, u.host);
    /* Elsewhere a user name is a login (ssh://git@host), not a secret;
     * a password goes. */
    colon = memchr(u.userinfo, ':', (size_t) (u.host - u.userinfo));
    if (colon == NULL)
        return strata_xstrdup(url);
    return cut(url, colon, u.host - 1);
}

int
strata_url_has_credentials(const char *url)
{
    char *clean = strata_url_strip_credentials(url);
    int differs = strcmp(clean, url) != 0;

    free(clean);
    return differs;
}

char *
strata_url_for_log(const char *url, int secret)
{
    url_parts u;
    size_t scheme_len;

    if (url == NULL)
        return strata_xstrdup("");
    if (!split(&u, url))
        return strata_xstrdup(url);
    scheme_len = (size_t) (strstr(url, "://") - url) + 3;
    return strata_xasprintf("%.*s%.*s", (int) scheme_len, url,
                            (int) ((secret ? u.path : u.query) - u.host),
                            u.host);
}

char *
strata_url_escape(const char *s)
{
    char *esc, *out;

    if (s == NULL)
        s = "";
    esc = curl_easy_escape(NULL, s, (int) strlen(s));
    if (esc == NULL) { /* libcurl fails only on allocation */
        fprintf(stderr, "strata: out of memory escaping a URL part\n");
        abort();
    }
    out = strata_xstrdup(esc);
    curl_free(esc);
    return out;
}

char *
strata_url_decode(size_t *out_len, const char *s, size_t n, int plus_space)
{
    char *out = strata_xmalloc(n + 1), *o = out;
    size_t i;

    for (i = 0; i < n; i++) {
        if (plus_space && s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi, lo;

            if (n - i < 3 ||
                (hi = strata_hex_value((unsigned char) s[i + 1])) < 0 ||
                (lo = strata_hex_value((unsigned char) s[i + 2])) < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char) (hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    if (out_len != NULL)
        *out_len = (size_t) (o - out);
    return out;
}
