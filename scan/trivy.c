/*
 * trivy.c - Trivy's JSON report (`trivy image --format json`,
 * SchemaVersion 2): one entry per vulnerable package in
 * Results[].Vulnerabilities[], with VulnerabilityID, PkgName,
 * InstalledVersion, FixedVersion (absent when no fix exists) and Severity
 * (CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN). A result without vulnerabilities
 * has no Vulnerabilities member (or null); a clean image may have no
 * Results at all.
 */
#include <stdio.h>

#include "scan-int.h"

static int
vulnerability(strata_scan_report *r, const json_t *v, const char *path,
              strata_error *err)
{
    const char *id, *pkg, *version, *fixed, *sev;
    int rc;

    if ((rc = strata_scan__object(r, v, path, err)) != 0 ||
        (rc = strata_scan__str(&id, r, v, path, "VulnerabilityID", 1, err)) !=
            0 ||
        (rc = strata_scan__str(&pkg, r, v, path, "PkgName", 1, err)) != 0 ||
        (rc = strata_scan__str(&version, r, v, path, "InstalledVersion", 0,
                               err)) != 0 ||
        (rc = strata_scan__str(&fixed, r, v, path, "FixedVersion", 0, err)) !=
            0 ||
        (rc = strata_scan__str(&sev, r, v, path, "Severity", 0, err)) != 0)
        return rc;
    strata_scan__add(r, id, pkg, version, fixed,
                     strata_scan_severity_parse(sev));
    return 0;
}

int
strata_scan__trivy(strata_scan_report *r, const json_t *root, strata_error *err)
{
    const json_t *results, *res, *vulns, *v, *schema;
    size_t i, j;
    char path[96];
    int rc;

    schema = json_object_get(root, "SchemaVersion");
    if (schema != NULL &&
        (!json_is_integer(schema) || json_integer_value(schema) != 2))
        return strata_error_set(err, STRATA_EINVAL,
                                "report '%s': unsupported Trivy SchemaVersion "
                                "(expected 2)",
                                r->name);
    if ((rc = strata_scan__array(&results, r, root, "", "Results", 0, err)) !=
        0)
        return rc;
    json_array_foreach (results, i, res) {
        snprintf(path, sizeof(path), "Results[%zu]", i);
        if ((rc = strata_scan__object(r, res, path, err)) != 0 ||
            (rc = strata_scan__array(&vulns, r, res, path, "Vulnerabilities", 0,
                                     err)) != 0)
            return rc;
        json_array_foreach (vulns, j, v) {
            snprintf(path, sizeof(path), "Results[%zu].Vulnerabilities[%zu]", i,
                     j);
            if ((rc = vulnerability(r, v, path, err)) != 0)
                return rc;
        }
    }
    return 0;
}
