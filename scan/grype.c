/*
 * grype.c - Grype's JSON report (`grype -o json`): one entry per
 * match in matches[], with vulnerability.{id, severity, fix.{versions,
 * state}} and artifact.{name, version, type}. Severities are capitalised
 * ("Low", "Medium", "Negligible", "Unknown"). A fix exists when
 * fix.versions is not empty (state "fixed"); "not-fixed", "wont-fix" and
 * "unknown" leave it NULL. Several fixed versions are joined with ", ".
 */
#include <stdio.h>
#include <stdlib.h>

#include "scan-int.h"

static int
fix_versions(char **out, strata_scan_report *r, const json_t *vuln,
             const char *path, strata_error *err)
{
    const json_t *fix = json_object_get(vuln, "fix"), *versions, *v;
    strata_buf b = STRATA_BUF_INIT;
    char fpath[96];
    size_t i;
    int rc;

    *out = NULL;
    if (fix == NULL || json_is_null(fix))
        return 0;
    snprintf(fpath, sizeof(fpath), "%s.fix", path);
    if ((rc = strata_scan__object(r, fix, fpath, err)) != 0 ||
        (rc = strata_scan__array(&versions, r, fix, fpath, "versions", 0,
                                 err)) != 0)
        return rc;
    json_array_foreach (versions, i, v) {
        if (!json_is_string(v)) {
            strata_buf_release(&b);
            return strata_error_set(err, STRATA_EINVAL,
                                    "report '%s': '%s.versions[%zu]' is not "
                                    "a string",
                                    r->name, fpath, i);
        }
        strata_buf_printf(&b, "%s%s", i ? ", " : "", json_string_value(v));
    }
    if (b.len > 0)
        *out = strata_buf_detach(&b);
    strata_buf_release(&b);
    return 0;
}

static int
match(strata_scan_report *r, const json_t *m, size_t i, strata_error *err)
{
    const json_t *vuln, *artifact;
    const char *id, *sev, *pkg, *version;
    char path[64], vpath[80], apath[80];
    char *fixed = NULL;
    int rc;

    snprintf(path, sizeof(path), "matches[%zu]", i);
    snprintf(vpath, sizeof(vpath), "%s.vulnerability", path);
    snprintf(apath, sizeof(apath), "%s.artifact", path);
    vuln = json_object_get(m, "vulnerability");
    artifact = json_object_get(m, "artifact");
    if ((rc = strata_scan__object(r, m, path, err)) != 0 ||
        (rc = strata_scan__object(r, vuln, vpath, err)) != 0 ||
        (rc = strata_scan__object(r, artifact, apath, err)) != 0 ||
        (rc = strata_scan__str(&id, r, vuln, vpath, "id", 1, err)) != 0 ||
        (rc = strata_scan__str(&sev, r, vuln, vpath, "severity", 0, err)) !=
            0 ||
        (rc = strata_scan__str(&pkg, r, artifact, apath, "name", 1, err)) !=
            0 ||
        (rc = strata_scan__str(&version, r, artifact, apath, "version", 0,
                               err)) != 0 ||
        (rc = fix_versions(&fixed, r, vuln, vpath, err)) != 0)
        return rc;
    strata_scan__add(r, id, pkg, version, fixed,
                     strata_scan_severity_parse(sev));
    free(fixed);
    return 0;
}

int
strata_scan__grype(strata_scan_report *r, const json_t *root, strata_error *err)
{
    const json_t *matches, *m;
    size_t i;
    int rc;

    if ((rc = strata_scan__array(&matches, r, root, "", "matches", 1, err)) !=
        0)
        return rc;
    json_array_foreach (matches, i, m)
        if ((rc = match(r, m, i, err)) != 0)
            return rc;
    return 0;
}
