/*
 * vulns.c - a base's package delta linked with the vulnerability
 * findings of its two digests (a rescan's, as the state store keeps
 * them): what each upgrade or removal fixes, and which added or upgraded
 * package brought each new finding. Findings match across digests on
 * (id, pkg), as scan/ compares rescans; a finding's package matches a
 * change by name (the binary package, as Trivy and Grype write it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packages-int.h"
#include "store.h"

static const char *const sev_names[STRATA_PKG_NSEV] = {
    "unknown", "negligible", "low", "medium", "high", "critical",
};

int
strata_pkg__severity(const char *s)
{
    int i;

    for (i = 0; s != NULL && i < STRATA_PKG_NSEV; i++)
        if (strcmp(s, sev_names[i]) == 0)
            return i;
    return STRATA_PKG_SEV_UNKNOWN;
}

const char *
strata_pkg__severity_name(int sev)
{
    return sev >= 0 && sev < STRATA_PKG_NSEV ? sev_names[sev] : "unknown";
}

static const char *
field(const json_t *f, const char *key)
{
    const char *s = json_string_value(json_object_get(f, key));

    return s != NULL ? s : "";
}

/* "id\x1fpkg": a finding's identity across digests. */
static char *
identity(const json_t *f)
{
    return strata_xasprintf("%s\x1f%s", field(f, "id"), field(f, "pkg"));
}

static strata_strmap *
identities(const json_t *findings)
{
    strata_strmap *m = strata_strmap_new();
    const json_t *f;
    size_t i;

    json_array_foreach (findings, i, f) {
        char *k = identity(f);

        strata_strmap_put(m, k, (void *) f);
        free(k);
    }
    return m;
}

static void
vulns_free(strata_pkg_vuln *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(v[i].id);
        free(v[i].severity);
    }
    free(v);
}

void
strata_pkg__change_unlink(strata_pkg_change *c)
{
    vulns_free(c->fixes, c->nfixes);
    vulns_free(c->brings, c->nbrings);
    c->fixes = c->brings = NULL;
    c->nfixes = c->nbrings = 0;
}

/* Adds id to a change's list, once (the higher severity kept). */
static void
vuln_add(strata_pkg_vuln **list, size_t *n, const char *id, int sev)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        if (strcmp((*list)[i].id, id) == 0) {
            if (sev > strata_pkg__severity((*list)[i].severity)) {
                free((*list)[i].severity);
                (*list)[i].severity =
                    strata_xstrdup(strata_pkg__severity_name(sev));
            }
            return;
        }
    }
    *list = strata_xrealloc(*list, (*n + 1) * sizeof(**list));
    (*list)[*n].id = strata_xstrdup(id);
    (*list)[*n].severity = strata_xstrdup(strata_pkg__severity_name(sev));
    (*n)++;
}

static int
vuln_cmp(const void *a, const void *b)
{
    const strata_pkg_vuln *x = a, *y = b;
    int sx = strata_pkg__severity(x->severity);
    int sy = strata_pkg__severity(y->severity);

    if (sx != sy)
        return sy - sx;
    return strcmp(x->id, y->id);
}

/* The highest severity in list[0..n), or -1 when empty. */
static int
top_severity(const strata_pkg_vuln *list, size_t n)
{
    int top = -1;
    size_t i;

    for (i = 0; i < n; i++)
        if (strata_pkg__severity(list[i].severity) > top)
            top = strata_pkg__severity(list[i].severity);
    return top;
}

/*
 * Security fixes first (the most severe fix first, then the most fixes),
 * then what brings new findings (most severe first), then core packages,
 * then by name and arch.
 */
static int
linked_cmp(const void *a, const void *b)
{
    const strata_pkg_change *x = a, *y = b;
    int fx = top_severity(x->fixes, x->nfixes);
    int fy = top_severity(y->fixes, y->nfixes);
    int rc;

    if (fx != fy)
        return fy - fx;
    if (x->nfixes != y->nfixes)
        return x->nfixes < y->nfixes ? 1 : -1;
    fx = top_severity(x->brings, x->nbrings);
    fy = top_severity(y->brings, y->nbrings);
    if (fx != fy)
        return fy - fx;
    if (x->core != y->core)
        return y->core - x->core;
    if ((rc = strcmp(x->name, y->name)) != 0)
        return rc;
    return strcmp(x->arch, y->arch);
}

static int
fixes_kind(strata_pkg_change_kind k)
{
    return k == STRATA_PKG_UPGRADED || k == STRATA_PKG_REMOVED;
}

static int
brings_kind(strata_pkg_change_kind k)
{
    return k == STRATA_PKG_ADDED || k == STRATA_PKG_UPGRADED ||
           k == STRATA_PKG_DOWNGRADED;
}

/*
 * Whether the finding's package name pkg names change c: the same name,
 * or for dpkg "NAME:ARCH" with c's NAME and ARCH.
 */
static int
same_name(const strata_pkg_delta *d, const strata_pkg_change *c,
          const char *pkg)
{
    const char *colon;

    if (strcmp(c->name, pkg) == 0)
        return 1;
    if (d->ecosystem == NULL || strcmp(d->ecosystem, "dpkg") != 0 ||
        (colon = strchr(pkg, ':')) == NULL)
        return 0;
    return strlen(c->name) == (size_t) (colon - pkg) &&
           strncmp(c->name, pkg, (size_t) (colon - pkg)) == 0 &&
           (c->arch[0] == '\0' || strcmp(c->arch, colon + 1) == 0);
}

/*
 * Links finding f (fixed: 1, new: 0) to the changes it names; returns
 * how many changes it was linked to.
 */
static size_t
link_one(strata_pkg_delta *d, const json_t *f, int fixed)
{
    const char *pkg = field(f, "pkg"), *id = field(f, "id");
    const char *version = json_string_value(json_object_get(f, "version"));
    int sev = strata_pkg__severity(field(f, "severity"));
    size_t i, n = 0, exact = 0;

    if (*pkg == '\0' || *id == '\0')
        return 0;
    /* Among several architectures of one name, the one whose version the
     * finding names; else every one. */
    for (i = 0; version != NULL && i < d->nchanges; i++) {
        const strata_pkg_change *c = &d->changes[i];
        const char *v = fixed ? c->old_version : c->new_version;

        if ((fixed ? fixes_kind(c->kind) : brings_kind(c->kind)) &&
            same_name(d, c, pkg) && v != NULL && strcmp(v, version) == 0)
            exact++;
    }
    for (i = 0; i < d->nchanges; i++) {
        strata_pkg_change *c = &d->changes[i];
        const char *v = fixed ? c->old_version : c->new_version;

        if (!(fixed ? fixes_kind(c->kind) : brings_kind(c->kind)) ||
            !same_name(d, c, pkg))
            continue;
        if (exact > 0 && (v == NULL || strcmp(v, version) != 0))
            continue;
        if (fixed)
            vuln_add(&c->fixes, &c->nfixes, id, sev);
        else
            vuln_add(&c->brings, &c->nbrings, id, sev);
        n++;
    }
    return n;
}

/* Counts each distinct id of findings linked, at its highest severity. */
static size_t
count_ids(size_t out[STRATA_PKG_NSEV], const strata_pkg_delta *d, int fixed)
{
    strata_strmap *top = strata_strmap_new();
    size_t it = 0;
    const char *k;
    void *v;
    size_t i, j, n = 0;

    memset(out, 0, STRATA_PKG_NSEV * sizeof(*out));
    for (i = 0; i < d->nchanges; i++) {
        const strata_pkg_change *c = &d->changes[i];
        const strata_pkg_vuln *list = fixed ? c->fixes : c->brings;
        size_t nl = fixed ? c->nfixes : c->nbrings;

        for (j = 0; j < nl; j++) {
            intptr_t sev = strata_pkg__severity(list[j].severity) + 1;
            intptr_t was = (intptr_t) strata_strmap_get(top, list[j].id);

            if (sev > was)
                strata_strmap_put(top, list[j].id, (void *) sev);
        }
    }
    while (strata_strmap_next(top, &it, &k, &v)) {
        out[(intptr_t) v - 1]++;
        n++;
    }
    strata_strmap_free(top);
    return n;
}

static void
unlinked_add(strata_pkg_delta *d, const json_t *f, const char *status)
{
    json_array_append_new(
        d->unlinked, json_pack("{s:s, s:s, s:s, s:s}", "id", field(f, "id"),
                               "pkg", field(f, "pkg"), "severity",
                               strata_pkg__severity_name(
                                   strata_pkg__severity(field(f, "severity"))),
                               "status", status));
}

void
strata_pkg_delta_link(strata_pkg_delta *d, const json_t *old_findings,
                      const json_t *new_findings)
{
    strata_strmap *was = identities(old_findings);
    strata_strmap *now = identities(new_findings);
    const json_t *f;
    size_t i;

    for (i = 0; i < d->nchanges; i++)
        strata_pkg__change_unlink(&d->changes[i]);
    json_decref(d->unlinked);
    d->unlinked = json_array();
    d->scanned = 1;
    json_array_foreach (old_findings, i, f) {
        char *k = identity(f);

        if (!strata_strmap_has(now, k) && link_one(d, f, 1) == 0)
            unlinked_add(d, f, "fixed");
        free(k);
    }
    json_array_foreach (new_findings, i, f) {
        char *k = identity(f);

        if (!strata_strmap_has(was, k) && link_one(d, f, 0) == 0)
            unlinked_add(d, f, "new");
        free(k);
    }
    for (i = 0; i < d->nchanges; i++) {
        strata_pkg_change *c = &d->changes[i];

        if (c->nfixes > 1)
            qsort(c->fixes, c->nfixes, sizeof(*c->fixes), vuln_cmp);
        if (c->nbrings > 1)
            qsort(c->brings, c->nbrings, sizeof(*c->brings), vuln_cmp);
    }
    d->cves_fixed = count_ids(d->vulns_fixed, d, 1);
    d->cves_new = count_ids(d->vulns_new, d, 0);
    if (d->nchanges > 1)
        qsort(d->changes, d->nchanges, sizeof(*d->changes), linked_cmp);
    strata_strmap_free(was);
    strata_strmap_free(now);
}

int
strata_pkg_findings_stored(json_t **out, strata_store *st,
                           const strata_ref *base, const char *digest,
                           strata_error *err)
{
    strata_ref *tagged = NULL;
    int rc;

    *out = NULL;
    rc = strata_store_findings_get(out, st, strata_ref_name(base), digest, err);
    if (rc != STRATA_ENOTFOUND || strata_ref_tag(base) == NULL)
        return rc;
    strata_error_clear(err);
    if ((rc = strata_ref_with_digest(&tagged, base, NULL, err)) == 0)
        rc = strata_store_findings_get(out, st, strata_ref_string(tagged),
                                       digest, err);
    strata_ref_free(tagged);
    return rc;
}

int
strata_pkg_delta_link_stored(strata_pkg_delta *d, strata_store *st,
                             const strata_ref *base, strata_error *err)
{
    json_t *a = NULL, *b = NULL;
    int rc;

    if (d->old_digest == NULL || d->new_digest == NULL)
        return 0;
    rc = strata_pkg_findings_stored(&a, st, base, d->old_digest, err);
    if (rc == 0)
        rc = strata_pkg_findings_stored(&b, st, base, d->new_digest, err);
    if (rc == 0)
        strata_pkg_delta_link(d, a, b);
    json_decref(a);
    json_decref(b);
    if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
        return 0;
    }
    return rc == 0 ? 1 : rc;
}
