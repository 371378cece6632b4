/*
 * fuzz-scan-report.c - libFuzzer target for the vulnerability report
 * parsers (Trivy JSON, Grype JSON, SARIF): any input either fails with a
 * message that names the report, or parses to findings whose JSON form
 * reads back to the same findings, and whose delta against themselves is
 * empty. Each input is parsed with format detection and, as its size
 * modulo 4 says, as one format (auto, trivy, grype, sarif) too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const char *data, size_t size, strata_scan_format format)
{
    strata_scan_report *r = NULL, *back = NULL;
    strata_scan_delta d;
    strata_error err = {0};
    json_t *j = NULL, *j2 = NULL;
    size_t i, counts[STRATA_SCAN_NSEVERITIES], total = 0;

    if (strata_scan_report_parse(&r, data, size, format, "fuzz.json", &err) !=
        0) {
        if (r != NULL || strstr(err.msg, "report 'fuzz.json'") == NULL)
            abort();
        return;
    }
    if (strata_scan_report_format(r) == STRATA_SCAN_AUTO)
        abort();
    strata_scan_report_counts(counts, r);
    for (i = 0; i < STRATA_SCAN_NSEVERITIES; i++)
        total += counts[i];
    if (total != strata_scan_report_count(r))
        abort();
    j = strata_scan_report_json(r);
    if (strata_scan_report_from_json(&back, j, format, "back", &err) != 0)
        abort();
    j2 = strata_scan_report_json(back);
    if (!json_equal(j, j2))
        abort();
    strata_scan_delta_compute(&d, r, back);
    if (json_array_size(d.added_list) != 0 ||
        json_array_size(d.fixed_list) != 0)
        abort();
    strata_scan_delta_release(&d);
    json_decref(j);
    json_decref(j2);
    strata_scan_report_free(back);
    strata_scan_report_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    one((const char *) data, size, STRATA_SCAN_AUTO);
    if (size % 4 != 0)
        one((const char *) data, size, (strata_scan_format) (size % 4));
    return 0;
}
