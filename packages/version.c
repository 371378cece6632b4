/*
 * version.c - ordering versions by each ecosystem's rules.
 *
 * dpkg (deb-version(7)): [epoch:]upstream[-revision]; epochs compare as
 * numbers, then upstream and revision each by verrevcmp: alternating runs
 * of non-digits, compared character by character where letters sort
 * before other characters and '~' before everything (even the end), and
 * runs of digits compared as numbers. This is dpkg's lib/dpkg/version.c
 * algorithm, checked in tests/test-packages.c against
 * `dpkg --compare-versions` over many pairs.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "packages-int.h"

static int
order(int c)
{
    if (isdigit(c))
        return 0;
    if (isalpha(c))
        return c;
    if (c == '~')
        return -1;
    if (c)
        return c + 256;
    return 0;
}

static int
verrevcmp(const char *a, const char *ae, const char *b, const char *be)
{
#define CH(p, e) ((p) < (e) ? (unsigned char) *(p) : 0)
    while (a < ae || b < be) {
        int first_diff = 0;

        while ((a < ae && !isdigit(CH(a, ae))) ||
               (b < be && !isdigit(CH(b, be)))) {
            int ac = order(CH(a, ae));
            int bc = order(CH(b, be));

            if (ac != bc)
                return ac - bc;
            a++;
            b++;
        }
        while (CH(a, ae) == '0')
            a++;
        while (CH(b, be) == '0')
            b++;
        while (isdigit(CH(a, ae)) && isdigit(CH(b, be))) {
            if (!first_diff)
                first_diff = CH(a, ae) - CH(b, be);
            a++;
            b++;
        }
        if (isdigit(CH(a, ae)))
            return 1;
        if (isdigit(CH(b, be)))
            return -1;
        if (first_diff)
            return first_diff;
    }
    return 0;
#undef CH
}

typedef struct dpkg_version {
    unsigned long epoch;
    const char *up, *up_end, *rev, *rev_end;
} dpkg_version;

static void
split(dpkg_version *v, const char *s)
{
    const char *colon = strchr(s, ':');
    const char *end = s + strlen(s), *dash;

    v->epoch = 0;
    if (colon != NULL) {
        const char *p;

        for (p = s; p < colon && isdigit((unsigned char) *p); p++)
            ;
        if (p == colon && p > s) {
            v->epoch = strtoul(s, NULL, 10);
            s = colon + 1;
        }
    }
    dash = strrchr(s, '-');
    v->up = s;
    if (dash != NULL) {
        v->up_end = dash;
        v->rev = dash + 1;
    } else {
        v->up_end = end;
        v->rev = end;
    }
    v->rev_end = end;
}

int
strata_pkg_dpkg_vercmp(const char *a, const char *b)
{
    dpkg_version va, vb;
    int rc;

    split(&va, a);
    split(&vb, b);
    if (va.epoch != vb.epoch)
        return va.epoch > vb.epoch ? 1 : -1;
    if ((rc = verrevcmp(va.up, va.up_end, vb.up, vb.up_end)) != 0)
        return rc;
    return verrevcmp(va.rev, va.rev_end, vb.rev, vb.rev_end);
}

int
strata_pkg_vercmp(const char *ecosystem, const char *a, const char *b)
{
    if (ecosystem != NULL && strcmp(ecosystem, "dpkg") == 0)
        return strata_pkg_dpkg_vercmp(a, b);
    if (ecosystem != NULL && strcmp(ecosystem, "apk") == 0)
        return strata_pkg_apk_vercmp(a, b);
    if (ecosystem != NULL && strcmp(ecosystem, "rpm") == 0)
        return strata_pkg_rpm_vercmp(a, b);
    return strcmp(a, b);
}
