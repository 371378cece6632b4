/*
 * url.c - percent-encoding for URL parts, on libcurl's own escaping
 * (RFC 3986: everything but ALPHA / DIGIT / "-" / "." / "_" / "~" is
 * encoded), so every request path, query and form body strata builds
 * encodes the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core.h"

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
