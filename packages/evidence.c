/*
 * evidence.c - a base's package delta as evidence in a pull-request
 * body: a heading, the summary line, a table of what a reviewer checks
 * (upgrades, downgrades and removals, a core package's major jump first,
 * then core packages, then by name), and every change in a collapsible
 * <details>. Forges cap a body's size, so the whole stays within a byte
 * budget: each row is written only when it fits with room left for the
 * closing lines, and the rows that do not fit are counted instead.
 */
#include <stdlib.h>
#include <string.h>

#include "packages-int.h"

/* What the closing lines of a section need, at most. */
#define TAIL_RESERVE 96
/* Rows in the table of what a reviewer checks (all of them: <details>). */
#define TABLE_ROWS 25
/* Vulnerability ids listed in a row ("… and 3 more"). */
#define VULNS_PER_ROW 5

/*
 * 0: security fixes, 1: what brings new findings, 2: a core package's
 * major jump, 3: core, 4: other changes, 5: added.
 */
static int
rank(const strata_pkg_change *c)
{
    if (c->nfixes > 0)
        return 0;
    if (c->nbrings > 0)
        return 1;
    if (c->major)
        return 2;
    if (c->core)
        return 3;
    return c->kind == STRATA_PKG_ADDED ? 5 : 4;
}

/* The most severe of a change's fixes (then brings), for the order. */
static int
top(const strata_pkg_change *c)
{
    const strata_pkg_vuln *v = c->nfixes > 0 ? c->fixes : c->brings;

    /* Each list is sorted most severe first. */
    return c->nfixes + c->nbrings > 0 ? strata_pkg__severity(v[0].severity)
                                      : -1;
}

static int
by_rank(const void *a, const void *b)
{
    const strata_pkg_change *x = *(const strata_pkg_change *const *) a;
    const strata_pkg_change *y = *(const strata_pkg_change *const *) b;
    int rc;

    if (rank(x) != rank(y))
        return rank(x) - rank(y);
    if (top(x) != top(y))
        return top(y) - top(x);
    if (x->nfixes != y->nfixes)
        return x->nfixes < y->nfixes ? 1 : -1;
    if ((rc = strcmp(x->name, y->name)) != 0)
        return rc;
    return strcmp(x->arch, y->arch);
}

static void
row(strata_buf *b, const strata_pkg_change *c, int with_kind, int scanned)
{
    strata_buf_puts(b, "| ");
    strata_pkg__md(b, c->name);
    if (with_kind)
        strata_buf_printf(b, " | %s", strata_pkg__kind_name(c->kind));
    strata_buf_puts(b, " | ");
    strata_pkg__md(b, c->old_version ? c->old_version : "");
    strata_buf_puts(b, " | ");
    strata_pkg__md(b, c->new_version ? c->new_version : "");
    strata_buf_printf(b, " | %s |",
                      c->major  ? "core, **major**"
                      : c->core ? "core"
                                : "");
    if (scanned) {
        strata_buf_puts(b, " ");
        strata_pkg__vulns_note(b, c, VULNS_PER_ROW, 1);
        strata_buf_puts(b, " |");
    }
    strata_buf_puts(b, "\n");
}

/*
 * Appends the rows of list[0..n) to b while each fits under limit bytes;
 * returns how many did.
 */
static size_t
rows(strata_buf *b, strata_pkg_change *const *list, size_t n, int with_kind,
     int scanned, size_t limit)
{
    strata_buf r;
    size_t i;

    strata_buf_init(&r);
    for (i = 0; i < n; i++) {
        strata_buf_reset(&r);
        row(&r, list[i], with_kind, scanned);
        if (b->len + r.len > limit)
            break;
        strata_buf_add(b, r.ptr, r.len);
    }
    strata_buf_release(&r);
    return i;
}

/*
 * The section of d: its heading names base and, when not NULL, what
 * follows it in the heading (" on linux/arm64", " (linux/amd64,
 * linux/arm64)").
 */
static char *
markdown(const strata_pkg_delta *d, const char *base, const char *after,
         size_t max)
{
    strata_buf b;
    strata_pkg_change **order = NULL;
    char *line = strata_pkg_delta_summary(d);
    size_t i, n = 0, nrev = 0, shown, limit;

    if (max < 256)
        max = 256;
    limit = max - TAIL_RESERVE;
    strata_buf_init(&b);
    strata_buf_puts(&b, "#### What changed in `");
    strata_buf_puts(&b, base);
    strata_buf_puts(&b, "`");
    if (after != NULL)
        strata_pkg__md(&b, after);
    strata_buf_puts(&b, "\n\n");
    strata_pkg__md(&b, line);
    free(line);
    if (d->major)
        strata_buf_puts(&b, d->release_changed
                                ? ". **Major change: a new distribution "
                                  "release.**\n"
                                : ". **Major change: a core package's major "
                                  "version.**\n");
    else
        strata_buf_puts(&b, ".\n");
    if (b.len > max) { /* a pathological os-release: a line of its own */
        strata_buf_reset(&b);
        strata_buf_puts(&b, "#### What changed in the base\n\n(summary too "
                            "long for the body)\n");
        return strata_buf_detach(&b);
    }
    if (d->nchanges == 0)
        return strata_buf_detach(&b);
    order = strata_xcalloc(d->nchanges, sizeof(*order));
    for (i = 0; i < d->nchanges; i++)
        order[n++] = &d->changes[i];
    qsort(order, n, sizeof(*order), by_rank);
    while (nrev < n && rank(order[nrev]) < 5)
        nrev++;
    if (nrev > 0 && b.len + 64 < limit) {
        strata_buf_puts(&b, d->scanned ? "\n| Package | Old | New | | "
                                         "Security |\n|---|---|---|---|---|\n"
                                       : "\n| Package | Old | New | |\n"
                                         "|---|---|---|---|\n");
        shown = rows(&b, order, nrev < TABLE_ROWS ? nrev : TABLE_ROWS, 0,
                     d->scanned, limit);
        if (shown < nrev)
            strata_buf_printf(&b, "\n… and %zu more (below)\n", nrev - shown);
    }
    if (b.len + 128 < limit) {
        strata_buf_printf(
            &b, "\n<details><summary>All %zu changes</summary>\n\n", n);
        strata_buf_puts(&b, d->scanned ? "| Package | Change | Old | New | | "
                                         "Security |\n"
                                         "|---|---|---|---|---|---|\n"
                                       : "| Package | Change | Old | New | |\n"
                                         "|---|---|---|---|---|\n");
        shown = rows(&b, order, n, 1, d->scanned, limit);
        if (shown < n)
            strata_buf_printf(&b, "\n… and %zu more\n", n - shown);
        strata_buf_puts(&b, "\n</details>\n");
    } else {
        strata_buf_printf(&b, "\n… %zu changes in all\n", n);
    }
    free(order);
    return strata_buf_detach(&b);
}

char *
strata_pkg_delta_markdown(const strata_pkg_delta *d, const char *base,
                          size_t max)
{
    return markdown(d, base, NULL, max);
}

static int
vulns_same(const strata_pkg_vuln *a, size_t na, const strata_pkg_vuln *b,
           size_t nb)
{
    size_t i;

    if (na != nb)
        return 0;
    for (i = 0; i < na; i++)
        if (strcmp(a[i].id, b[i].id) != 0 ||
            strcmp(a[i].severity, b[i].severity) != 0)
            return 0;
    return 1;
}

static int
str_same(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

int
strata_pkg_delta_same(const strata_pkg_delta *a, const strata_pkg_delta *b)
{
    size_t i;

    if (a->nchanges != b->nchanges || a->scanned != b->scanned ||
        a->release_changed != b->release_changed ||
        !str_same(a->old_os, b->old_os) || !str_same(a->new_os, b->new_os) ||
        a->cves_fixed != b->cves_fixed || a->cves_new != b->cves_new)
        return 0;
    for (i = 0; i < a->nchanges; i++) {
        const strata_pkg_change *x = &a->changes[i], *y = &b->changes[i];

        if (x->kind != y->kind || strcmp(x->name, y->name) != 0 ||
            !str_same(x->old_version, y->old_version) ||
            !str_same(x->new_version, y->new_version) ||
            !vulns_same(x->fixes, x->nfixes, y->fixes, y->nfixes) ||
            !vulns_same(x->brings, x->nbrings, y->brings, y->nbrings))
            return 0;
    }
    return 1;
}

char *
strata_pkg_delta_markdown_platforms(const strata_pkg_delta *const *d,
                                    const char *const *platforms, size_t n,
                                    const char *base, size_t max)
{
    strata_buf b, after;
    size_t i, share;
    int same = 1;

    if (n <= 1)
        return markdown(d[0], base, NULL, max);
    for (i = 1; i < n && same; i++)
        same = strata_pkg_delta_same(d[0], d[i]);
    strata_buf_init(&after);
    if (same) {
        strata_buf_puts(&after, " (the same on ");
        for (i = 0; i < n; i++)
            strata_buf_printf(&after, "%s%s", i ? ", " : "", platforms[i]);
        strata_buf_puts(&after, ")");
        {
            char *text = markdown(d[0], base, strata_buf_cstr(&after), max);

            strata_buf_release(&after);
            return text;
        }
    }
    /* One section per platform, each in its share (a section is never
     * shorter than the 256 bytes strata_pkg_delta_markdown writes). */
    strata_buf_init(&b);
    share = max / n;
    for (i = 0; i < n; i++) {
        char *text;

        strata_buf_reset(&after);
        strata_buf_printf(&after, " on %s", platforms[i]);
        text = markdown(d[i], base, strata_buf_cstr(&after), share - 1);
        /* Room for the count of what would not fit after it. */
        if (b.len + strlen(text) + 1 + (i + 1 < n ? 40 : 0) > max) {
            free(text);
            strata_buf_printf(&b, "\n… %zu more platforms\n", n - i);
            break;
        }
        if (i > 0)
            strata_buf_puts(&b, "\n");
        strata_buf_puts(&b, text);
        free(text);
    }
    strata_buf_release(&after);
    return strata_buf_detach(&b);
}
