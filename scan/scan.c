/*
 * scan.c - the findings of one vulnerability report: severities and
 * formats by name, the report object (findings in report order, merged on
 * (id, pkg, version) through a string map), format detection, and the
 * entry points that read a file or a buffer and hand the parsed JSON to
 * the parser of its format (scan-trivy.c, scan-grype.c, scan-sarif.c).
 * Every message names the report: "report 'trivy.json': ...".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan-int.h"

/* A report larger than this is refused (big images give a few MiB). */
#define MAX_REPORT (64u * 1024 * 1024)

static const char *const severity_names[STRATA_SCAN_NSEVERITIES] = {
    "unknown", "negligible", "low", "medium", "high", "critical",
};

const char *
strata_scan_severity_name(strata_scan_severity s)
{
    if ((int) s < 0 || s >= STRATA_SCAN_NSEVERITIES)
        return "unknown";
    return severity_names[s];
}

strata_scan_severity
strata_scan_severity_parse(const char *s)
{
    int i;

    if (s == NULL)
        return STRATA_SCAN_UNKNOWN;
    for (i = 0; i < STRATA_SCAN_NSEVERITIES; i++)
        if (strcasecmp(s, severity_names[i]) == 0)
            return (strata_scan_severity) i;
    /* GitHub advisories say "moderate"; some scanners "info". */
    if (strcasecmp(s, "moderate") == 0)
        return STRATA_SCAN_MEDIUM;
    if (strcasecmp(s, "info") == 0 || strcasecmp(s, "informational") == 0)
        return STRATA_SCAN_NEGLIGIBLE;
    return STRATA_SCAN_UNKNOWN;
}

static const char *const format_names[] = {"auto", "trivy", "grype", "sarif"};

const char *
strata_scan_format_name(strata_scan_format f)
{
    if ((int) f < 0 || (size_t) f >= sizeof(format_names) / sizeof(char *))
        return "auto";
    return format_names[f];
}

int
strata_scan_format_parse(strata_scan_format *out, const char *name,
                         strata_error *err)
{
    size_t i;

    for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (name != NULL && strcmp(name, format_names[i]) == 0) {
            *out = (strata_scan_format) i;
            return 0;
        }
    }
    return strata_error_set(err, STRATA_EINVAL,
                            "unknown report format '%s' (trivy, grype, sarif "
                            "or auto)",
                            name ? name : "");
}

strata_scan_report *
strata_scan__new(strata_scan_format format, const char *name)
{
    strata_scan_report *r = strata_xcalloc(1, sizeof(*r));

    r->format = format;
    r->name = strata_xstrdup(name ? name : "-");
    r->index = strata_strmap_new();
    return r;
}

static char *
dup_or_null(const char *s)
{
    return s != NULL ? strata_xstrdup(s) : NULL;
}

void
strata_scan__add(strata_scan_report *r, const char *id, const char *pkg,
                 const char *version, const char *fixed,
                 strata_scan_severity severity)
{
    char *key;
    void *at;
    strata_scan_finding *f;

    if (pkg == NULL)
        pkg = "";
    if (fixed != NULL && *fixed == '\0')
        fixed = NULL;
    key = strata_xasprintf("%s\x1f%s\x1f%s", id, pkg, version ? version : "");
    at = strata_strmap_get(r->index, key);
    if (at != NULL) {
        f = &r->items[(uintptr_t) at - 1];
        if (severity > f->severity)
            f->severity = severity;
        if (f->fixed == NULL && fixed != NULL)
            f->fixed = strata_xstrdup(fixed);
        free(key);
        return;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->items = strata_xrealloc(r->items, r->cap * sizeof(*r->items));
    }
    f = &r->items[r->n++];
    f->id = strata_xstrdup(id);
    f->pkg = strata_xstrdup(pkg);
    f->version = dup_or_null(version);
    f->fixed = dup_or_null(fixed);
    f->severity = severity;
    strata_strmap_put(r->index, key, (void *) (uintptr_t) r->n);
    free(key);
}

void
strata_scan_report_free(strata_scan_report *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n; i++) {
        free((char *) r->items[i].id);
        free((char *) r->items[i].pkg);
        free((char *) r->items[i].version);
        free((char *) r->items[i].fixed);
    }
    free(r->items);
    free(r->name);
    strata_strmap_free(r->index);
    free(r);
}

strata_scan_format
strata_scan_report_format(const strata_scan_report *r)
{
    return r->format;
}

size_t
strata_scan_report_count(const strata_scan_report *r)
{
    return r->n;
}

const strata_scan_finding *
strata_scan_report_get(const strata_scan_report *r, size_t i)
{
    return i < r->n ? &r->items[i] : NULL;
}

void
strata_scan_report_counts(size_t out[STRATA_SCAN_NSEVERITIES],
                          const strata_scan_report *r)
{
    size_t i;

    memset(out, 0, sizeof(size_t) * STRATA_SCAN_NSEVERITIES);
    for (i = 0; i < r->n; i++)
        out[r->items[i].severity]++;
}

json_t *
strata_scan_finding_json(const strata_scan_finding *f)
{
    return json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "id", f->id, "pkg", f->pkg,
                     "version", f->version, "fixed", f->fixed, "severity",
                     strata_scan_severity_name(f->severity));
}

json_t *
strata_scan_report_json(const strata_scan_report *r)
{
    json_t *list = json_array();
    size_t i;

    for (i = 0; i < r->n; i++)
        json_array_append_new(list, strata_scan_finding_json(&r->items[i]));
    return list;
}

/* ---- helpers for the parsers ---- */

int
strata_scan__object(const strata_scan_report *r, const json_t *v,
                    const char *path, strata_error *err)
{
    if (json_is_object(v))
        return 0;
    return strata_error_set(err, STRATA_EINVAL,
                            "report '%s': '%s' is not an object", r->name,
                            path);
}

int
strata_scan__str(const char **out, const strata_scan_report *r,
                 const json_t *obj, const char *path, const char *key,
                 int required, strata_error *err)
{
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return 0;
    }
    if ((v == NULL || json_is_null(v)) && !required)
        return 0;
    return strata_error_set(err, STRATA_EINVAL, "report '%s': '%s%s%s' %s",
                            r->name, path, *path ? "." : "", key,
                            v == NULL ? "is missing" : "is not a string");
}

int
strata_scan__array(const json_t **out, const strata_scan_report *r,
                   const json_t *obj, const char *path, const char *key,
                   int required, strata_error *err)
{
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (json_is_array(v)) {
        *out = v;
        return 0;
    }
    if ((v == NULL || json_is_null(v)) && !required)
        return 0;
    return strata_error_set(err, STRATA_EINVAL, "report '%s': '%s%s%s' %s",
                            r->name, path, *path ? "." : "", key,
                            v == NULL ? "is missing" : "is not an array");
}

/* ---- entry points ---- */

static strata_scan_format
detect(const json_t *root)
{
    if (json_object_get(root, "matches") != NULL)
        return STRATA_SCAN_GRYPE;
    if (json_object_get(root, "runs") != NULL)
        return STRATA_SCAN_SARIF;
    if (json_object_get(root, "SchemaVersion") != NULL ||
        json_object_get(root, "Results") != NULL)
        return STRATA_SCAN_TRIVY;
    return STRATA_SCAN_AUTO;
}

static int
parse_root(strata_scan_report *r, const json_t *root, strata_error *err)
{
    if (!json_is_object(root))
        return strata_error_set(err, STRATA_EINVAL,
                                "report '%s': the document is not a JSON "
                                "object",
                                r->name);
    if (r->format == STRATA_SCAN_AUTO)
        r->format = detect(root);
    switch (r->format) {
    case STRATA_SCAN_TRIVY:
        return strata_scan__trivy(r, root, err);
    case STRATA_SCAN_GRYPE:
        return strata_scan__grype(r, root, err);
    case STRATA_SCAN_SARIF:
        return strata_scan__sarif(r, root, err);
    case STRATA_SCAN_AUTO:
        break;
    }
    return strata_error_set(err, STRATA_EINVAL,
                            "report '%s': not a Trivy, Grype or SARIF report "
                            "(no 'Results', 'matches' or 'runs')",
                            r->name);
}

int
strata_scan_report_parse(strata_scan_report **out, const char *data, size_t len,
                         strata_scan_format format, const char *name,
                         strata_error *err)
{
    strata_scan_report *r = strata_scan__new(format, name);
    json_error_t jerr;
    json_t *root = NULL;
    int rc;

    *out = NULL;
    if (len == 0) {
        rc = strata_error_set(err, STRATA_EINVAL, "report '%s' is empty",
                              r->name);
        goto out;
    }
    if (len > MAX_REPORT) {
        rc = strata_error_set(err, STRATA_ETOOBIG,
                              "report '%s' is larger than %u MiB", r->name,
                              MAX_REPORT >> 20);
        goto out;
    }
    root = json_loadb(data, len, 0, &jerr);
    if (root == NULL) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "report '%s': invalid JSON at line %d column "
                              "%d: %s",
                              r->name, jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if ((rc = parse_root(r, root, err)) != 0)
        goto out;
    *out = r;
    r = NULL;
out:
    json_decref(root);
    strata_scan_report_free(r);
    return rc;
}

int
strata_scan_report_load(strata_scan_report **out, const char *path,
                        strata_scan_format format, strata_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    if ((rc = strata_read_file(&data, &len, path, MAX_REPORT + 1, err)) != 0)
        return rc;
    rc = strata_scan_report_parse(out, data, len, format, path, err);
    free(data);
    return rc;
}

int
strata_scan_report_from_json(strata_scan_report **out, const json_t *findings,
                             strata_scan_format format, const char *name,
                             strata_error *err)
{
    strata_scan_report *r = strata_scan__new(format, name);
    const json_t *f;
    size_t i;
    int rc = 0;

    *out = NULL;
    if (!json_is_array(findings)) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "findings '%s' are not an array", r->name);
        goto out;
    }
    json_array_foreach (findings, i, f) {
        const char *id, *pkg, *version, *fixed, *sev;
        char path[32];

        snprintf(path, sizeof(path), "[%zu]", i);
        if ((rc = strata_scan__object(r, f, path, err)) != 0 ||
            (rc = strata_scan__str(&id, r, f, path, "id", 1, err)) != 0 ||
            (rc = strata_scan__str(&pkg, r, f, path, "pkg", 0, err)) != 0 ||
            (rc = strata_scan__str(&version, r, f, path, "version", 0, err)) !=
                0 ||
            (rc = strata_scan__str(&fixed, r, f, path, "fixed", 0, err)) != 0 ||
            (rc = strata_scan__str(&sev, r, f, path, "severity", 0, err)) != 0)
            goto out;
        strata_scan__add(r, id, pkg, version, fixed,
                         strata_scan_severity_parse(sev));
    }
    *out = r;
    r = NULL;
out:
    strata_scan_report_free(r);
    return rc;
}
