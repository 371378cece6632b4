/*
 * fuzz-policy.c - libFuzzer target for tag policies: semver range parsing
 * (strata_semver_range_parse), policies (strata_tag_policy_new) and
 * the choice of a tag from a list (strata_tag_policy_select). The
 * first byte picks a regex from a fixed table (regexes come from the
 * operator's configuration, not from outside); the rest is lines: the
 * range, the suffix, then one tag a line. Invariants: a range parses
 * alone exactly when the policy takes it, with a message otherwise; the
 * chosen tag is one of the list and matches the policy, and the choice
 * does not depend on the order of the list.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "invariant broken: %s (line %d)\n", #cond,         \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define MAX_TAGS 256

static void
fuzz_select(const strata_tag_policy *pol, char **lines, size_t n)
{
    const char *tags[MAX_TAGS], *rev[MAX_TAGS];
    const char *best = NULL, *best_rev = NULL;
    strata_semver v;
    strata_error err = {0};
    size_t i;
    int rc, rc_rev;

    for (i = 0; i < n; i++) {
        tags[i] = lines[i];
        rev[n - 1 - i] = lines[i];
        (void) strata_semver_parse(&v, lines[i]);
    }
    rc = strata_tag_policy_select(&best, pol, tags, n, &err);
    rc_rev = strata_tag_policy_select(&best_rev, pol, rev, n, NULL);
    check(rc == rc_rev);
    if (rc != 0) {
        check(rc == STRATA_ENOTFOUND && best == NULL && err.msg[0] != '\0');
        for (i = 0; i < n; i++)
            check(!strata_tag_policy_match(NULL, pol, tags[i]));
        return;
    }
    check(best != NULL && best_rev != NULL && strcmp(best, best_rev) == 0);
    check(strata_tag_policy_match(&v, pol, best));
    check(v.ncomp >= 1 && v.ncomp <= 3 && v.rest != NULL);
    for (i = 0; i < n && tags[i] != best; i++)
        ;
    check(i < n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const regexes[] = {
        NULL,
        "^v?([0-9]+(\\.[0-9]+)*)-alpine$",
        "^[0-9.]+$",
        "^release-(.*)$",
    };
    strata_semver_range *range = NULL;
    strata_tag_policy *pol = NULL;
    strata_error rerr = {0}, perr = {0};
    char *text, *lines[MAX_TAGS + 2], *p, *nl;
    size_t n = 0;
    int rc_range, rc_pol;

    if (size < 1)
        return 0;
    text = strata_xstrndup((const char *) data + 1, size - 1);
    for (p = text; p != NULL && n < MAX_TAGS + 2; p = nl) {
        nl = strchr(p, '\n');
        if (nl != NULL)
            *nl++ = '\0';
        lines[n++] = p;
    }
    rc_range = strata_semver_range_parse(&range, n > 0 ? lines[0] : "", &rerr);
    rc_pol = strata_tag_policy_new(&pol, n > 0 ? lines[0] : NULL,
                                   n > 1 && lines[1][0] ? lines[1] : NULL,
                                   regexes[data[0] % 4], &perr);
    check(rc_range == rc_pol);
    check(strcmp(rerr.msg, perr.msg) == 0);
    if (rc_range != 0) {
        check(rc_range == STRATA_EINVAL && range == NULL && pol == NULL);
        check(strncmp(rerr.msg, "invalid semver range '", 22) == 0);
    } else {
        check(range != NULL && pol != NULL);
        fuzz_select(pol, lines + 2, n > 2 ? n - 2 : 0);
    }
    strata_semver_range_free(range);
    strata_tag_policy_free(pol);
    free(text);
    return 0;
}
