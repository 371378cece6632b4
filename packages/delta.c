/*
 * delta.c - what changed between two reads of a base: packages added,
 * removed, upgraded and downgraded (versions ordered by the ecosystem's
 * rules), the distribution's release, the sizes, and whether a core
 * package (the C library, OpenSSL) or the release made a major jump. The
 * two package lists are sorted by (name, arch), so one merge pass pairs
 * them. Formats: JSON (docs/diff.schema.json), text, and Markdown for
 * pull-request bodies.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packages-int.h"

static const char *const core_names[] = {
    "libc6", "libc-bin", "glibc", "libc", "musl", "openssl",
};
static const char *const core_prefixes[] = {"libssl", "libcrypto"};

static int
is_core(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(core_names) / sizeof(core_names[0]); i++)
        if (strcmp(name, core_names[i]) == 0)
            return 1;
    for (i = 0; i < sizeof(core_prefixes) / sizeof(core_prefixes[0]); i++)
        if (strncmp(name, core_prefixes[i], strlen(core_prefixes[i])) == 0)
            return 1;
    return 0;
}

/*
 * A version's major part: the epoch (when there is one) and the leading
 * number of the upstream version, "1:3.0.11-1" -> "1:3" (new).
 */
static char *
major_of(const char *v)
{
    const char *colon = strchr(v, ':');
    const char *p = colon != NULL ? colon + 1 : v;
    size_t n = 0;

    while (isdigit((unsigned char) p[n]))
        n++;
    return strata_xasprintf("%.*s%.*s", (int) (p - v), v, (int) n, p);
}

static int
major_changed(const char *a, const char *b)
{
    char *x = major_of(a), *y = major_of(b);
    int rc = strcmp(x, y) != 0;

    free(x);
    free(y);
    return rc;
}

/* The release part of VERSION_ID: up to its second dot ("3.19.1"). */
static size_t
release_len(const char *v)
{
    const char *dot = strchr(v, '.');

    if (dot == NULL)
        return strlen(v);
    dot = strchr(dot + 1, '.');
    return dot != NULL ? (size_t) (dot - v) : strlen(v);
}

static int
release_changed(const strata_pkg_image *a, const strata_pkg_image *b)
{
    size_t n;

    if ((a->os_id == NULL) != (b->os_id == NULL) ||
        (a->os_id != NULL && strcmp(a->os_id, b->os_id) != 0))
        return 1;
    if (a->os_version_id == NULL || b->os_version_id == NULL)
        return (a->os_version_id == NULL) != (b->os_version_id == NULL);
    n = release_len(a->os_version_id);
    return n != release_len(b->os_version_id) ||
           strncmp(a->os_version_id, b->os_version_id, n) != 0;
}

static char *
os_name(const strata_pkg_image *img)
{
    if (img->os_pretty != NULL)
        return strata_xstrdup(img->os_pretty);
    if (img->os_id != NULL)
        return strata_xasprintf("%s %s", img->os_id,
                                img->os_version_id ? img->os_version_id : "");
    return NULL;
}

static void
add_change(strata_pkg_delta *d, size_t *cap, strata_pkg_change_kind kind,
           const strata_pkg *o, const strata_pkg *n)
{
    strata_pkg_change *c;
    const strata_pkg *p = n != NULL ? n : o;

    if (d->nchanges == *cap) {
        *cap = *cap ? 2 * *cap : 32;
        d->changes = strata_xrealloc(d->changes, *cap * sizeof(*d->changes));
    }
    c = &d->changes[d->nchanges++];
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->name = strata_xstrdup(p->name);
    c->arch = strata_xstrdup(p->arch);
    c->old_version = o != NULL ? strata_xstrdup(o->version) : NULL;
    c->new_version = n != NULL ? strata_xstrdup(n->version) : NULL;
    c->core = is_core(p->name);
    if (c->core &&
        (kind == STRATA_PKG_REMOVED ||
         (o != NULL && n != NULL && major_changed(o->version, n->version))))
        c->major = 1;
    if (c->major)
        d->major = 1;
    switch (kind) {
    case STRATA_PKG_ADDED:
        d->added++;
        break;
    case STRATA_PKG_REMOVED:
        d->removed++;
        break;
    case STRATA_PKG_UPGRADED:
        d->upgraded++;
        break;
    case STRATA_PKG_DOWNGRADED:
        d->downgraded++;
        break;
    }
}

/* Core packages first, then by name and arch. */
static int
change_cmp(const void *a, const void *b)
{
    const strata_pkg_change *x = a, *y = b;
    int rc;

    if (x->core != y->core)
        return y->core - x->core;
    if ((rc = strcmp(x->name, y->name)) != 0)
        return rc;
    return strcmp(x->arch, y->arch);
}

strata_pkg_delta *
strata_pkg_delta_new(const strata_pkg_image *o, const strata_pkg_image *n)
{
    strata_pkg_delta *d = strata_xcalloc(1, sizeof(*d));
    const char *eco = n->ecosystem != NULL ? n->ecosystem : o->ecosystem;
    size_t i = 0, j = 0, cap = 0;

    d->ecosystem = eco != NULL ? strata_xstrdup(eco) : NULL;
    d->old_digest = o->digest ? strata_xstrdup(o->digest) : NULL;
    d->new_digest = n->digest ? strata_xstrdup(n->digest) : NULL;
    d->old_os = os_name(o);
    d->new_os = os_name(n);
    d->old_version_id =
        o->os_version_id ? strata_xstrdup(o->os_version_id) : NULL;
    d->new_version_id =
        n->os_version_id ? strata_xstrdup(n->os_version_id) : NULL;
    d->release_changed = release_changed(o, n);
    d->major = d->release_changed;
    d->old_compressed = o->compressed_size;
    d->new_compressed = n->compressed_size;
    d->old_uncompressed = o->uncompressed_size;
    d->new_uncompressed = n->uncompressed_size;
    while (i < o->npkgs || j < n->npkgs) {
        const strata_pkg *a = i < o->npkgs ? &o->pkgs[i] : NULL;
        const strata_pkg *b = j < n->npkgs ? &n->pkgs[j] : NULL;
        int c;

        if (a == NULL)
            c = 1;
        else if (b == NULL)
            c = -1;
        else if ((c = strcmp(a->name, b->name)) == 0)
            c = strcmp(a->arch, b->arch);
        if (c < 0) {
            add_change(d, &cap, STRATA_PKG_REMOVED, a, NULL);
            i++;
        } else if (c > 0) {
            add_change(d, &cap, STRATA_PKG_ADDED, NULL, b);
            j++;
        } else {
            int v = strata_pkg_vercmp(eco, a->version, b->version);

            if (v < 0)
                add_change(d, &cap, STRATA_PKG_UPGRADED, a, b);
            else if (v > 0)
                add_change(d, &cap, STRATA_PKG_DOWNGRADED, a, b);
            i++;
            j++;
        }
    }
    if (d->nchanges > 1)
        qsort(d->changes, d->nchanges, sizeof(*d->changes), change_cmp);
    return d;
}

void
strata_pkg_delta_free(strata_pkg_delta *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->nchanges; i++) {
        strata_pkg__change_unlink(&d->changes[i]);
        free(d->changes[i].name);
        free(d->changes[i].arch);
        free(d->changes[i].old_version);
        free(d->changes[i].new_version);
    }
    free(d->changes);
    free(d->ecosystem);
    free(d->old_digest);
    free(d->new_digest);
    free(d->old_os);
    free(d->new_os);
    free(d->old_version_id);
    free(d->new_version_id);
    json_decref(d->unlinked);
    free(d);
}

static const char *const kind_names[] = {
    "added",
    "removed",
    "upgraded",
    "downgraded",
};

static json_t *
jstr(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *
vulns_json(const strata_pkg_vuln *v, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "id", v[i].id,
                                           "severity", v[i].severity));
    return a;
}

/* {"critical": n, …, "unknown": n}, the most severe first. */
static json_t *
by_severity_json(const size_t counts[STRATA_PKG_NSEV])
{
    json_t *o = json_object();
    int s;

    for (s = STRATA_PKG_NSEV - 1; s >= 0; s--)
        json_object_set_new(o, strata_pkg__severity_name(s),
                            json_integer((json_int_t) counts[s]));
    return o;
}

json_t *
strata_pkg_delta_to_json(const strata_pkg_delta *d)
{
    json_t *o = json_object(), *a = json_array(), *x;
    size_t i;

    json_object_set_new(o, "ecosystem", jstr(d->ecosystem));
    x = json_object();
    json_object_set_new(x, "digest", jstr(d->old_digest));
    json_object_set_new(x, "os", jstr(d->old_os));
    json_object_set_new(x, "version_id", jstr(d->old_version_id));
    json_object_set_new(x, "compressed_size", json_integer(d->old_compressed));
    json_object_set_new(x, "uncompressed_size",
                        json_integer(d->old_uncompressed));
    json_object_set_new(o, "old", x);
    x = json_object();
    json_object_set_new(x, "digest", jstr(d->new_digest));
    json_object_set_new(x, "os", jstr(d->new_os));
    json_object_set_new(x, "version_id", jstr(d->new_version_id));
    json_object_set_new(x, "compressed_size", json_integer(d->new_compressed));
    json_object_set_new(x, "uncompressed_size",
                        json_integer(d->new_uncompressed));
    json_object_set_new(o, "new", x);
    json_object_set_new(o, "release_changed", json_boolean(d->release_changed));
    json_object_set_new(o, "major", json_boolean(d->major));
    x = json_object();
    json_object_set_new(x, "added", json_integer((json_int_t) d->added));
    json_object_set_new(x, "removed", json_integer((json_int_t) d->removed));
    json_object_set_new(x, "upgraded", json_integer((json_int_t) d->upgraded));
    json_object_set_new(x, "downgraded",
                        json_integer((json_int_t) d->downgraded));
    json_object_set_new(o, "counts", x);
    for (i = 0; i < d->nchanges; i++) {
        const strata_pkg_change *c = &d->changes[i];

        x = json_object();
        json_object_set_new(x, "change", json_string(kind_names[c->kind]));
        json_object_set_new(x, "name", json_string(c->name));
        json_object_set_new(x, "arch", json_string(c->arch));
        json_object_set_new(x, "old_version", jstr(c->old_version));
        json_object_set_new(x, "new_version", jstr(c->new_version));
        json_object_set_new(x, "core", json_boolean(c->core));
        json_object_set_new(x, "major", json_boolean(c->major));
        if (d->scanned) {
            json_object_set_new(x, "fixes", vulns_json(c->fixes, c->nfixes));
            json_object_set_new(x, "brings", vulns_json(c->brings, c->nbrings));
        }
        json_array_append_new(a, x);
    }
    json_object_set_new(o, "changes", a);
    if (d->scanned) {
        x = json_object();
        json_object_set_new(x, "fixed",
                            json_integer((json_int_t) d->cves_fixed));
        json_object_set_new(x, "new", json_integer((json_int_t) d->cves_new));
        json_object_set_new(x, "fixed_by_severity",
                            by_severity_json(d->vulns_fixed));
        json_object_set_new(x, "new_by_severity",
                            by_severity_json(d->vulns_new));
        json_object_set(x, "unlinked", d->unlinked);
        json_object_set_new(o, "vulnerabilities", x);
    } else {
        json_object_set_new(o, "vulnerabilities", json_null());
    }
    return o;
}

/* ---- text and Markdown --------------------------------------------------- */

/* "29.1 MB" (decimal units, as registries and docker show sizes). */
static void
put_size(strata_buf *b, int64_t n)
{
    double v = (double) (n < 0 ? -n : n);
    const char *sign = n < 0 ? "-" : "";

    if (v < 1000)
        strata_buf_printf(b, "%s%lld B", sign, (long long) (n < 0 ? -n : n));
    else if (v < 1000 * 1000)
        strata_buf_printf(b, "%s%.1f kB", sign, v / 1000);
    else
        strata_buf_printf(b, "%s%.1f MB", sign, v / (1000 * 1000));
}

static void
put_size_change(strata_buf *b, const char *what, int64_t a, int64_t n)
{
    strata_buf_printf(b, "%s ", what);
    put_size(b, a);
    strata_buf_puts(b, " -> ");
    put_size(b, n);
    strata_buf_puts(b, " (");
    if (n >= a)
        strata_buf_puts(b, "+");
    put_size(b, n - a);
    strata_buf_puts(b, ")");
}

/* Markdown text: HTML-escaped, and the table's and emphasis' marks too. */
void
strata_pkg__md(strata_buf *b, const char *s)
{
    strata_buf e;
    const char *p;

    strata_buf_init(&e);
    strata_html_escape(&e, s != NULL ? s : "");
    for (p = strata_buf_cstr(&e); *p; p++) {
        if (strchr("|\\*_`[]~", *p) != NULL)
            strata_buf_putc(b, '\\');
        strata_buf_putc(b, *p);
    }
    strata_buf_release(&e);
}

const char *
strata_pkg__kind_name(strata_pkg_change_kind kind)
{
    return kind_names[kind];
}

/* " (1 critical, 2 high)": the critical and high ones, when any. */
static void
severities(strata_buf *b, const size_t counts[STRATA_PKG_NSEV])
{
    if (counts[STRATA_PKG_SEV_CRITICAL] == 0 &&
        counts[STRATA_PKG_SEV_HIGH] == 0)
        return;
    strata_buf_puts(b, " (");
    if (counts[STRATA_PKG_SEV_CRITICAL] > 0)
        strata_buf_printf(b, "%zu critical", counts[STRATA_PKG_SEV_CRITICAL]);
    if (counts[STRATA_PKG_SEV_HIGH] > 0)
        strata_buf_printf(b, "%s%zu high",
                          counts[STRATA_PKG_SEV_CRITICAL] > 0 ? ", " : "",
                          counts[STRATA_PKG_SEV_HIGH]);
    strata_buf_puts(b, ")");
}

static void
summary(strata_buf *b, const strata_pkg_delta *d)
{
    strata_buf_printf(b, "%zu package%s upgraded, ", d->upgraded,
                      d->upgraded == 1 ? "" : "s");
    if (d->scanned) {
        if (d->cves_fixed == 0)
            strata_buf_puts(b, "no CVEs fixed");
        else
            strata_buf_printf(b, "%zu CVE%s fixed", d->cves_fixed,
                              d->cves_fixed == 1 ? "" : "s");
        severities(b, d->vulns_fixed);
        if (d->cves_new > 0) {
            strata_buf_printf(b, ", %zu new CVE%s", d->cves_new,
                              d->cves_new == 1 ? "" : "s");
            severities(b, d->vulns_new);
        }
        strata_buf_puts(b, ", ");
    }
    strata_buf_printf(b, "%zu added, ", d->added);
    if (d->removed == 0)
        strata_buf_puts(b, "no removals");
    else
        strata_buf_printf(b, "%zu removed", d->removed);
    if (d->downgraded > 0)
        strata_buf_printf(b, ", %zu downgraded", d->downgraded);
}

static void
vuln_list(strata_buf *b, const char *what, const strata_pkg_vuln *v, size_t n,
          size_t max, int md)
{
    size_t i;

    strata_buf_printf(b, "%s ", what);
    for (i = 0; i < n && i < max; i++) {
        char *one = strata_xasprintf("%s%s (%s)", i > 0 ? ", " : "", v[i].id,
                                     v[i].severity);

        if (md)
            strata_pkg__md(b, one);
        else
            strata_buf_puts(b, one);
        free(one);
    }
    if (n > max)
        strata_buf_printf(b, " and %zu more", n - max);
}

void
strata_pkg__vulns_note(strata_buf *b, const strata_pkg_change *c, size_t max,
                       int md)
{
    if (c->nfixes > 0)
        vuln_list(b, "fixes", c->fixes, c->nfixes, max, md);
    if (c->nbrings > 0) {
        if (c->nfixes > 0)
            strata_buf_puts(b, "; ");
        vuln_list(b, "brings", c->brings, c->nbrings, max, md);
    }
}

static void
format_text(strata_buf *b, const strata_pkg_delta *d)
{
    size_t i;

    strata_buf_printf(b, "old: %s (%s)\nnew: %s (%s)\n",
                      d->old_digest ? d->old_digest : "?",
                      d->old_os ? d->old_os : "unknown distribution",
                      d->new_digest ? d->new_digest : "?",
                      d->new_os ? d->new_os : "unknown distribution");
    if (d->release_changed)
        strata_buf_puts(b, "distribution release changed\n");
    summary(b, d);
    strata_buf_puts(b, "\n");
    put_size_change(b, "compressed", d->old_compressed, d->new_compressed);
    strata_buf_puts(b, "\n");
    put_size_change(b, "uncompressed", d->old_uncompressed,
                    d->new_uncompressed);
    strata_buf_puts(b, "\n");
    for (i = 0; i < d->nchanges; i++) {
        const strata_pkg_change *c = &d->changes[i];

        strata_buf_printf(b, "%-10s %s%s%s %s%s%s%s%s\n", kind_names[c->kind],
                          c->name, c->arch[0] ? ":" : "", c->arch,
                          c->old_version ? c->old_version : "",
                          c->old_version && c->new_version ? " -> " : "",
                          c->new_version ? c->new_version : "",
                          c->core ? " [core]" : "", c->major ? " [major]" : "");
        if (c->nfixes + c->nbrings > 0) {
            strata_buf_puts(b, "           ");
            strata_pkg__vulns_note(b, c, SIZE_MAX, 0);
            strata_buf_puts(b, "\n");
        }
    }
    if (d->scanned && json_array_size(d->unlinked) > 0) {
        const json_t *f;
        size_t k;

        strata_buf_puts(b, "findings of packages that did not change:\n");
        json_array_foreach (d->unlinked, k, f)
            strata_buf_printf(
                b, "%-10s %s %s (%s)\n",
                json_string_value(json_object_get(f, "status")),
                json_string_value(json_object_get(f, "id")),
                json_string_value(json_object_get(f, "pkg")),
                json_string_value(json_object_get(f, "severity")));
    }
}

static void
md_row(strata_buf *b, const strata_pkg_change *c, int scanned)
{
    strata_buf_puts(b, "| ");
    strata_pkg__md(b, c->name);
    strata_buf_printf(b, " | %s | ", kind_names[c->kind]);
    strata_pkg__md(b, c->old_version ? c->old_version : "");
    strata_buf_puts(b, " | ");
    strata_pkg__md(b, c->new_version ? c->new_version : "");
    strata_buf_printf(b, " | %s |",
                      c->major  ? "core, major"
                      : c->core ? "core"
                                : "");
    if (scanned) {
        strata_buf_puts(b, " ");
        strata_pkg__vulns_note(b, c, 5, 1);
        strata_buf_puts(b, " |");
    }
    strata_buf_puts(b, "\n");
}

static void
md_head(strata_buf *b, const strata_pkg_delta *d)
{
    strata_buf_puts(b, d->scanned ? "| Package | Change | Old | New | | "
                                    "Security |\n|---|---|---|---|---|---|\n"
                                  : "| Package | Change | Old | New | |\n"
                                    "|---|---|---|---|---|\n");
}

static void
format_md(strata_buf *b, const strata_pkg_delta *d)
{
    size_t i, shown = 0;

    strata_buf_puts(b, "**What changed in the base**");
    if (d->old_os != NULL || d->new_os != NULL) {
        strata_buf_puts(b, ": ");
        strata_pkg__md(b, d->old_os ? d->old_os : "unknown");
        if (d->release_changed) {
            strata_buf_puts(b, " → ");
            strata_pkg__md(b, d->new_os ? d->new_os : "unknown");
            strata_buf_puts(b, " (**new distribution release**)");
        }
    }
    strata_buf_puts(b, "\n\n");
    summary(b, d);
    strata_buf_puts(b, d->major ? ". **Major change.**\n\n" : ".\n\n");
    put_size_change(b, "Compressed", d->old_compressed, d->new_compressed);
    strata_buf_puts(b, "; ");
    put_size_change(b, "uncompressed", d->old_uncompressed,
                    d->new_uncompressed);
    strata_buf_puts(b, ".\n");
    if (d->nchanges == 0)
        return;
    /* The core packages and the upgrades first: what a reviewer checks. */
    strata_buf_puts(b, "\n");
    md_head(b, d);
    for (i = 0; i < d->nchanges && shown < 20; i++) {
        const strata_pkg_change *c = &d->changes[i];

        if (c->core || c->kind != STRATA_PKG_ADDED || c->nbrings > 0) {
            md_row(b, c, d->scanned);
            shown++;
        }
    }
    strata_buf_printf(b, "\n<details><summary>All %zu changes</summary>\n\n",
                      d->nchanges);
    md_head(b, d);
    for (i = 0; i < d->nchanges; i++)
        md_row(b, &d->changes[i], d->scanned);
    strata_buf_puts(b, "\n</details>\n");
}

char *
strata_pkg_delta_summary(const strata_pkg_delta *d)
{
    strata_buf b;

    strata_buf_init(&b);
    summary(&b, d);
    if (d->old_os != NULL && d->new_os != NULL &&
        strcmp(d->old_os, d->new_os) != 0)
        strata_buf_printf(&b, "; %s → %s", d->old_os, d->new_os);
    else if (d->new_os != NULL || d->old_os != NULL)
        strata_buf_printf(&b, "; %s", d->new_os ? d->new_os : d->old_os);
    return strata_buf_detach(&b);
}

char *
strata_pkg_delta_format(const strata_pkg_delta *d, const char *format)
{
    strata_buf b;

    strata_buf_init(&b);
    if (format != NULL && strcmp(format, "md") == 0)
        format_md(&b, d);
    else
        format_text(&b, d);
    return strata_buf_detach(&b);
}
