/*
 * scan-int.h - what the files of scan/ share and nobody else sees.
 */
#ifndef STRATA_SCAN_INT_H
#define STRATA_SCAN_INT_H

#include <jansson.h>

#include "scan.h"

struct strata_scan_report {
    strata_scan_format format;
    char *name;                 /* for messages */
    strata_scan_finding *items; /* strings owned (xstrdup) */
    size_t n, cap;
    strata_strmap *index; /* "id\x1fpkg\x1fversion" -> index + 1 */
};

/* An empty report of format, named name (copied). */
strata_scan_report *strata_scan__new(strata_scan_format format,
                                     const char *name);
/*
 * Adds a finding (strings copied; version, fixed may be NULL; "" fixed is
 * NULL). An entry with the same (id, pkg, version) merges: the higher
 * severity and the first fixed version win.
 */
void strata_scan__add(strata_scan_report *r, const char *id, const char *pkg,
                      const char *version, const char *fixed,
                      strata_scan_severity severity);

/* The parsers: fill r from a parsed document (borrowed). */
int strata_scan__trivy(strata_scan_report *r, const json_t *root,
                       strata_error *err);
int strata_scan__grype(strata_scan_report *r, const json_t *root,
                       strata_error *err);
int strata_scan__sarif(strata_scan_report *r, const json_t *root,
                       strata_error *err);

/*
 * A string member of obj: 0 and *out (borrowed; NULL when absent or null),
 * or STRATA_EINVAL naming "report 'NAME': 'PATH.key' ..." when it is of
 * another type or, with required, absent.
 */
int strata_scan__str(const char **out, const strata_scan_report *r,
                     const json_t *obj, const char *path, const char *key,
                     int required, strata_error *err);
/*
 * An array member: *out (borrowed) or NULL when absent or null; an error
 * when another type or, with required, absent.
 */
int strata_scan__array(const json_t **out, const strata_scan_report *r,
                       const json_t *obj, const char *path, const char *key,
                       int required, strata_error *err);
/* STRATA_EINVAL "report 'NAME': 'PATH' is not an object" unless it is. */
int strata_scan__object(const strata_scan_report *r, const json_t *v,
                        const char *path, strata_error *err);

#endif
