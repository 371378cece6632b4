/*
 * tagpolicy.c - tag policies: which tag of a repository a watch follows. A
 * policy combines a semver range, an exact suffix and a POSIX extended
 * regex (each optional); selection walks the tag list once, keeps the
 * eligible tags and remembers the best one under a total order, so the
 * result does not depend on the order the registry listed the tags in.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct strata_tag_policy {
    strata_semver_range *range; /* never NULL: "" matches everything */
    char *suffix;               /* never NULL: "" when unset */
    regex_t re;
    int has_re;
};

int
strata_tag_policy_new(strata_tag_policy **out, const char *range,
                      const char *suffix, const char *regex, strata_error *err)
{
    strata_tag_policy *p = strata_xcalloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    rc = strata_semver_range_parse(&p->range, range ? range : "", err);
    if (rc < 0)
        goto out;
    p->suffix = strata_xstrdup(suffix ? suffix : "");
    if (regex != NULL) {
        int rerr = regcomp(&p->re, regex, REG_EXTENDED);

        if (rerr != 0) {
            char msg[256];

            regerror(rerr, &p->re, msg, sizeof(msg));
            rc = strata_error_set(err, STRATA_EINVAL,
                                  "invalid tag regex '%s': %s", regex, msg);
            goto out;
        }
        p->has_re = 1;
    }
    *out = p;
    p = NULL;
out:
    strata_tag_policy_free(p);
    return rc;
}

void
strata_tag_policy_free(strata_tag_policy *policy)
{
    if (policy == NULL)
        return;
    strata_semver_range_free(policy->range);
    free(policy->suffix);
    if (policy->has_re)
        regfree(&policy->re);
    free(policy);
}

int
strata_tag_policy_match(strata_semver *out_version,
                        const strata_tag_policy *policy, const char *tag)
{
    strata_semver v;
    const char *src = tag;
    char *capture = NULL;
    int ok = 0;

    if (policy->has_re) {
        regmatch_t m[2];

        if (regexec(&policy->re, tag, 2, m, 0) != 0)
            return 0;
        if (policy->re.re_nsub >= 1) {
            /* An unmatched optional group gives no version at all. */
            if (m[1].rm_so < 0)
                return 0;
            capture = strata_xstrndup(tag + m[1].rm_so,
                                      (size_t) (m[1].rm_eo - m[1].rm_so));
            src = capture;
        }
    }
    if (strata_semver_parse(&v, src) != 0)
        goto out;
    if (strcmp(v.rest, policy->suffix) != 0)
        goto out;
    if (!strata_semver_range_match(policy->range, &v))
        goto out;
    ok = 1;
    if (out_version != NULL) {
        *out_version = v;
        /* Keep rest pointing into the caller's tag, not our copy. */
        if (capture != NULL)
            out_version->rest = tag + strlen(tag);
    }
out:
    free(capture);
    return ok;
}

/* <0 when tag a (version va) ranks below tag b, per watchers.h. */
static int
rank(const char *a, const strata_semver *va, const char *b,
     const strata_semver *vb)
{
    int c = strata_semver_cmp(va, vb);

    if (c != 0)
        return c;
    if (va->ncomp != vb->ncomp)
        return va->ncomp < vb->ncomp ? -1 : 1;
    if (va->v_prefix != vb->v_prefix)
        return va->v_prefix ? -1 : 1;
    /* The byte-wise smaller tag ranks higher. */
    c = strcmp(a, b);
    return c < 0 ? 1 : c > 0 ? -1 : 0;
}

int
strata_tag_policy_select(const char **out, const strata_tag_policy *policy,
                         const char *const *tags, size_t ntags,
                         strata_error *err)
{
    strata_semver best_v, v;
    const char *best = NULL;
    size_t i;

    *out = NULL;
    for (i = 0; i < ntags; i++) {
        if (tags[i] == NULL)
            continue;
        if (!strata_tag_policy_match(&v, policy, tags[i]))
            continue;
        if (best == NULL || rank(tags[i], &v, best, &best_v) > 0) {
            best = tags[i];
            best_v = v;
        }
    }
    if (best == NULL)
        return strata_error_set(err, STRATA_ENOTFOUND,
                                "no tag matches the policy (%zu tags)", ntags);
    *out = best;
    return 0;
}
