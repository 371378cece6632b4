/*
 * util.c - the small, careful conversions verification leans on: base64
 * (validated here, decoded by libcrypto's EVP_DecodeBlock), hex, RFC 3339
 * and ASN.1 times, protobuf's string-encoded integers, digests, and JSON
 * read under a size bound.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>

#include "verify-int.h"

static int
b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int
strata_verify__b64dec(unsigned char **out, size_t *out_len, const char *in,
                      size_t in_len, int urlsafe)
{
    char *norm = NULL;
    unsigned char *buf = NULL;
    size_t n = 0, pad = 0, i;
    int got;

    *out = NULL;
    *out_len = 0;
    if (in_len > STRATA_VERIFY_MAX_INPUT * 2u)
        return -1;
    /*
     * Normalise into a padded, standard-alphabet copy, refusing anything
     * EVP_DecodeBlock would silently skip or misread (whitespace inside,
     * '=' before the end, a length no encoder produces).
     */
    norm = strata_xmalloc(in_len + 4);
    for (i = 0; i < in_len; i++) {
        unsigned char c = (unsigned char) in[i];
        if (c == '\n' || c == '\r')
            continue; /* as Go's decoder (and so protojson) does */
        if (c == '=') {
            pad++;
            if (pad > 2)
                goto bad;
            continue;
        }
        if (pad > 0)
            goto bad; /* data after padding */
        if (urlsafe && c == '-')
            c = '+';
        else if (urlsafe && c == '_')
            c = '/';
        if (b64_value(c) < 0)
            goto bad;
        norm[n++] = (char) c;
    }
    if (n % 4 == 1)
        goto bad;
    if (pad > 0 && (n + pad) % 4 != 0)
        goto bad;
    pad = (4 - n % 4) % 4;
    for (i = 0; i < pad; i++)
        norm[n++] = '=';
    buf = strata_xmalloc(n / 4 * 3 + 1);
    if (n == 0) {
        free(norm);
        *out = buf;
        return 0;
    }
    got = EVP_DecodeBlock(buf, (const unsigned char *) norm, (int) n);
    if (got < 0 || (size_t) got != n / 4 * 3)
        goto bad;
    free(norm);
    *out = buf;
    *out_len = (size_t) got - pad;
    return 0;
bad:
    free(norm);
    free(buf);
    return -1;
}

int
strata_verify__b64dec_str(unsigned char **out, size_t *out_len, const char *in)
{
    if (in == NULL) {
        *out = NULL;
        *out_len = 0;
        return -1;
    }
    return strata_verify__b64dec(out, out_len, in, strlen(in), 0);
}

char *
strata_verify__b64enc(const void *data, size_t len)
{
    char *out = strata_xmalloc((len + 2) / 3 * 4 + 1);

    EVP_EncodeBlock((unsigned char *) out, data, (int) len);
    return out;
}

void
strata_verify__hex(char *out, const void *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = in;
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
strata_verify__unhex(unsigned char *out, size_t outlen, const char *hex)
{
    size_t i;

    if (hex == NULL || strlen(hex) != 2 * outlen)
        return -1;
    for (i = 0; i < outlen; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char) (hi << 4 | lo);
    }
    return 0;
}

static int
digits(const char **p, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char) (*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int
strata_verify__parse_time(int64_t *out, const char *s)
{
    struct tm tm;
    int year, mon, day, hour, min, sec, offh, offm;
    int64_t t;
    const char *p = s;

    if (s == NULL)
        return -1;
    if (digits(&p, 4, &year) < 0 || *p++ != '-' || digits(&p, 2, &mon) < 0 ||
        *p++ != '-' || digits(&p, 2, &day) < 0 ||
        (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (digits(&p, 2, &hour) < 0 || *p++ != ':' || digits(&p, 2, &min) < 0 ||
        *p++ != ':' || digits(&p, 2, &sec) < 0)
        return -1;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 ||
        sec > 60)
        return -1;
    if (*p == '.') {
        /* Fractions are dropped: validity bounds are whole seconds. */
        p++;
        if (!isdigit((unsigned char) *p))
            return -1;
        while (isdigit((unsigned char) *p))
            p++;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    t = (int64_t) timegm(&tm);
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        if (digits(&p, 2, &offh) < 0 || *p++ != ':' ||
            digits(&p, 2, &offm) < 0 || offh > 23 || offm > 59)
            return -1;
        t -= sign * (int64_t) (offh * 3600 + offm * 60);
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    *out = t;
    return 0;
}

int
strata_verify__asn1_time(int64_t *out, const ASN1_TIME *t)
{
    struct tm tm;

    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return -1;
    *out = (int64_t) timegm(&tm);
    return 0;
}

void
strata_verify__fmt_time(char *out, size_t len, int64_t t)
{
    time_t tt = (time_t) t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, len, "@%lld", (long long) t);
}

int
strata_verify__json_int64(int64_t *out, json_t *v)
{
    const char *s, *p;
    long long n;
    char *end;

    if (json_is_integer(v)) {
        *out = (int64_t) json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    s = json_string_value(v);
    p = s;
    if (*p == '-')
        p++;
    if (*p == '\0' || strlen(p) > 19)
        return -1;
    for (; *p; p++)
        if (!isdigit((unsigned char) *p))
            return -1;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (int64_t) n;
    return 0;
}

int
strata_verify__parse_digest(unsigned char out[32], const char *digest)
{
    if (digest == NULL || strncmp(digest, "sha256:", 7) != 0)
        return -1;
    return strata_verify__unhex(out, 32, digest + 7);
}

void
strata_verify__sha256(unsigned char out[32], const void *data, size_t len)
{
    unsigned int n = 32;

    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

size_t
strata_verify__digest(unsigned char *out, const EVP_MD *md, const void *data,
                      size_t len)
{
    unsigned int n = 0;

    if (!EVP_Digest(data, len, out, &n, md, NULL))
        return 0;
    return n;
}

int
strata_verify__json_object(json_t **out, const void *data, size_t len,
                           const char *what, strata_error *err)
{
    json_error_t jerr;
    json_t *j;

    *out = NULL;
    if (len > STRATA_VERIFY_MAX_INPUT)
        return strata_error_set(err, STRATA_VERIFY_EUNVERIFIED,
                                "%s is too big (%zu bytes, at most %u)", what,
                                len, STRATA_VERIFY_MAX_INPUT);
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL)
        return strata_error_set(err, STRATA_VERIFY_EUNVERIFIED,
                                "%s is not valid JSON: %s (line %d)", what,
                                jerr.text, jerr.line);
    if (!json_is_object(j)) {
        json_decref(j);
        return strata_error_set(err, STRATA_VERIFY_EUNVERIFIED,
                                "%s is not a JSON object", what);
    }
    *out = j;
    return 0;
}

const char *
strata_verify__jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}
