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

char *
strata_pkg_delta_markdown(const strata_pkg_delta *d, const char *base,
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
    strata_buf_puts(&b, "`\n\n");
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
