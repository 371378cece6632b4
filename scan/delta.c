/*
 * delta.c - what a rescan means: the findings of an image's current
 * digest against those of its previous digest (new, fixed, unchanged, by
 * severity), the gate that turns new findings into a verdict, and the
 * glue that keeps reports in the store (store/findings.c) per digest.
 * Findings match across digests on (id, pkg): an upgrade of a package
 * that still has the vulnerability leaves the finding unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan-int.h"

static char *
identity(const strata_scan_finding *f)
{
    return strata_xasprintf("%s\x1f%s", f->id, f->pkg);
}

static strata_strmap *
identities(const strata_scan_report *r)
{
    strata_strmap *m = strata_strmap_new();
    size_t i;

    for (i = 0; r != NULL && i < r->n; i++) {
        char *k = identity(&r->items[i]);

        strata_strmap_put(m, k, (void *) (uintptr_t) (i + 1));
        free(k);
    }
    return m;
}

/* Orders findings critical first, then in report order. */
static int
by_severity(const void *a, const void *b)
{
    const strata_scan_finding *fa = *(const strata_scan_finding *const *) a;
    const strata_scan_finding *fb = *(const strata_scan_finding *const *) b;

    if (fa->severity != fb->severity)
        return fa->severity > fb->severity ? -1 : 1;
    return fa < fb ? -1 : fa > fb;
}

static json_t *
sorted_list(const strata_scan_finding **items, size_t n)
{
    json_t *list = json_array();
    size_t i;

    if (n > 0)
        qsort(items, n, sizeof(*items), by_severity);
    for (i = 0; i < n; i++)
        json_array_append_new(list, strata_scan_finding_json(items[i]));
    return list;
}

void
strata_scan_delta_compute(strata_scan_delta *out,
                          const strata_scan_report *prev,
                          const strata_scan_report *cur)
{
    strata_strmap *was = identities(prev), *now = identities(cur);
    const strata_scan_finding **added, **fixed;
    size_t i, nadded = 0, nfixed = 0;

    memset(out, 0, sizeof(*out));
    out->has_previous = prev != NULL;
    added = strata_xcalloc(cur->n + 1, sizeof(*added));
    fixed = strata_xcalloc((prev ? prev->n : 0) + 1, sizeof(*fixed));
    for (i = 0; i < cur->n; i++) {
        const strata_scan_finding *f = &cur->items[i];
        char *k = identity(f);

        out->total[f->severity]++;
        if (strata_strmap_has(was, k)) {
            out->unchanged[f->severity]++;
        } else {
            out->added[f->severity]++;
            added[nadded++] = f;
        }
        free(k);
    }
    for (i = 0; prev != NULL && i < prev->n; i++) {
        const strata_scan_finding *f = &prev->items[i];
        char *k = identity(f);

        if (!strata_strmap_has(now, k)) {
            out->fixed[f->severity]++;
            fixed[nfixed++] = f;
        }
        free(k);
    }
    out->added_list = sorted_list(added, nadded);
    out->fixed_list = sorted_list(fixed, nfixed);
    free(added);
    free(fixed);
    strata_strmap_free(was);
    strata_strmap_free(now);
}

void
strata_scan_delta_release(strata_scan_delta *d)
{
    if (d == NULL)
        return;
    json_decref(d->added_list);
    json_decref(d->fixed_list);
    d->added_list = d->fixed_list = NULL;
}

json_t *
strata_scan_delta_counts_json(const strata_scan_delta *d)
{
    json_t *counts = json_object();
    int s;

    for (s = STRATA_SCAN_CRITICAL; s >= STRATA_SCAN_UNKNOWN; s--)
        json_object_set_new(counts, strata_scan_severity_name(s),
                            json_pack("{s:I, s:I, s:I, s:I}", "total",
                                      (json_int_t) d->total[s], "new",
                                      (json_int_t) d->added[s], "fixed",
                                      (json_int_t) d->fixed[s], "unchanged",
                                      (json_int_t) d->unchanged[s]));
    return counts;
}

static const char *const gate_names[] = {"ignore", "warn", "fail"};

const char *
strata_scan_gate_action_name(strata_scan_gate_action a)
{
    if ((int) a < 0 || a > STRATA_SCAN_GATE_FAIL)
        return "ignore";
    return gate_names[a];
}

/* "2 new critical findings: CVE-1, CVE-2" (at most 5 ids listed). */
static void
describe(strata_buf *b, const strata_scan_delta *d, int sev)
{
    const json_t *f;
    size_t i, listed = 0;

    strata_buf_printf(b, "%s%zu new %s finding%s: ", b->len ? "; " : "",
                      d->added[sev], strata_scan_severity_name(sev),
                      d->added[sev] == 1 ? "" : "s");
    json_array_foreach (d->added_list, i, f) {
        const char *s = json_string_value(json_object_get(f, "severity"));

        if (strcmp(s, strata_scan_severity_name(sev)) != 0)
            continue;
        if (listed == 5) {
            strata_buf_printf(b, " and %zu more", d->added[sev] - listed);
            break;
        }
        strata_buf_printf(b, "%s%s (%s)", listed ? ", " : "",
                          json_string_value(json_object_get(f, "id")),
                          json_string_value(json_object_get(f, "pkg")));
        listed++;
    }
}

strata_scan_gate_action
strata_scan_gate_check(char **out_reason, const strata_scan_gate *gate,
                       const strata_scan_delta *d)
{
    strata_scan_gate_action verdict = STRATA_SCAN_GATE_IGNORE;
    strata_buf b = STRATA_BUF_INIT;
    int s;

    if (out_reason != NULL)
        *out_reason = NULL;
    if (!d->has_previous)
        return STRATA_SCAN_GATE_IGNORE;
    for (s = STRATA_SCAN_CRITICAL; s >= STRATA_SCAN_UNKNOWN; s--) {
        if (d->added[s] == 0 || gate->on_new[s] == STRATA_SCAN_GATE_IGNORE)
            continue;
        if (gate->on_new[s] > verdict)
            verdict = gate->on_new[s];
        describe(&b, d, s);
    }
    if (out_reason != NULL && verdict != STRATA_SCAN_GATE_IGNORE)
        *out_reason = strata_buf_detach(&b);
    strata_buf_release(&b);
    return verdict;
}

int
strata_scan_report_save(strata_store *st, const char *image, const char *digest,
                        const char *scanner, const strata_scan_report *r,
                        strata_error *err)
{
    strata_store_finding *rows = strata_xcalloc(r->n + 1, sizeof(*rows));
    size_t i;
    int rc;

    for (i = 0; i < r->n; i++) {
        rows[i].vuln = r->items[i].id;
        rows[i].pkg = r->items[i].pkg;
        rows[i].version = r->items[i].version;
        rows[i].fixed = r->items[i].fixed;
        rows[i].severity = strata_scan_severity_name(r->items[i].severity);
    }
    rc = strata_store_findings_put(st, image, digest, scanner, rows, r->n, err);
    free(rows);
    return rc;
}

int
strata_scan_report_stored(strata_scan_report **out, strata_store *st,
                          const char *image, const char *digest,
                          strata_error *err)
{
    json_t *rows = NULL;
    char *name;
    int rc;

    *out = NULL;
    if ((rc = strata_store_findings_get(&rows, st, image, digest, err)) != 0)
        return rc;
    name = strata_xasprintf("%s@%s", image, digest);
    rc = strata_scan_report_from_json(out, rows, STRATA_SCAN_AUTO, name, err);
    free(name);
    json_decref(rows);
    return rc;
}

int
strata_scan_record(strata_scan_delta *out, char **out_previous,
                   strata_store *st, const char *image, const char *digest,
                   const char *scanner, const strata_scan_report *r,
                   strata_error *err)
{
    strata_scan_report *prev = NULL;
    char *previous = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    *out_previous = NULL;
    if ((rc = strata_store_scans_previous(&previous, st, image, digest, err)) !=
        0)
        return rc;
    if (previous != NULL &&
        (rc = strata_scan_report_stored(&prev, st, image, previous, err)) != 0)
        goto out;
    if ((rc = strata_scan_report_save(st, image, digest, scanner, r, err)) != 0)
        goto out;
    strata_scan_delta_compute(out, prev, r);
    *out_previous = previous;
    previous = NULL;
out:
    free(previous);
    strata_scan_report_free(prev);
    return rc;
}

json_t *
strata_scan_result_json(const strata_scan_delta *d, const char *image,
                        const char *digest, const char *previous,
                        const char *scanner)
{
    return json_pack("{s:s, s:s, s:s?, s:s*, s:o, s:O, s:O}", "image", image,
                     "digest", digest, "previous", previous, "scanner", scanner,
                     "counts", strata_scan_delta_counts_json(d), "new",
                     d->added_list, "fixed", d->fixed_list);
}
