/*
 * retry.c - how long to wait before trying again: exponential backoff
 * with a cap (no shift ever overflows, whatever the attempt count), and
 * the Retry-After header of RFC 9110 in both its forms, delta-seconds and
 * an HTTP-date (parsed by libcurl's curl_getdate), clamped to a limit so
 * a server cannot park a request for a year.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "core.h"

uint64_t
strata_backoff_ms(uint64_t base_ms, unsigned attempt, uint64_t cap_ms)
{
    uint64_t d = base_ms;

    /* Doubling stops at the cap, so attempt may be any number. */
    while (attempt-- > 0 && d < cap_ms)
        d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
    return d < cap_ms ? d : cap_ms;
}

int
strata_retry_after_ms(uint64_t *out, const char *v, int64_t now_ms,
                      uint64_t max_ms)
{
    const char *p;
    uint64_t s = 0;
    time_t t;

    *out = 0;
    if (v == NULL)
        return STRATA_ENOTFOUND;
    while (*v == ' ' || *v == '\t')
        v++;
    for (p = v; isdigit((unsigned char) *p); p++) {
        if (s < UINT64_MAX / 10 / 1000)
            s = s * 10 + (uint64_t) (*p - '0');
        else
            s = UINT64_MAX / 1000; /* saturates; clamped below */
    }
    if (p != v) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '\0')
            return STRATA_EINVAL;
        *out = s * 1000 < max_ms ? s * 1000 : max_ms;
        return 0;
    }
    if ((t = curl_getdate(v, NULL)) <= 0)
        return STRATA_EINVAL;
    if ((int64_t) t * 1000 > now_ms) {
        uint64_t d = (uint64_t) ((int64_t) t * 1000 - now_ms);

        *out = d < max_ms ? d : max_ms;
    }
    return 0;
}
