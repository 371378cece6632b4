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
