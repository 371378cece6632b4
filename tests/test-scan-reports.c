/*
 * test-scan-reports.c - rescans. Without arguments (suite unit): the
 * Trivy, Grype and SARIF parsers on the project's own reports in
 * tests/scanners/ (a missing FixedVersion, SARIF levels, tags and scores,
 * old Trivy rule ids), malformed reports (an error naming the report,
 * never a crash), deltas between digests, gates, findings in the store,
 * the scanner runner with a fake scanner, `strata scan report|diff`, and
 * the counts of the real upstream reports kept in tests/scanners/upstream/
 * (Apache-2.0, with their source). With --integration (suite integration): the
 * `rescan` action through the runner against a real registry.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness-registry.h"
#include "harness.h"
#include "jobs.h"
#include "scan.h"

#ifndef STRATA_TEST_SCANNERS
#error "STRATA_TEST_SCANNERS must name tests/scanners"
#endif

#define FIXTURE(name) STRATA_TEST_SCANNERS "/" name

#define D1                                                                     \
    "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3                                                                     \
    "sha256:3333333333333333333333333333333333333333333333333333333333333333"

/* ---- helpers ---- */

static strata_scan_report *
load(const char *path, strata_scan_format format)
{
    strata_scan_report *r = NULL;
    strata_error err = {0};

    CHECK_OK(strata_scan_report_load(&r, path, format, &err), &err);
    CHECK(r != NULL);
    return r;
}

/* The finding (id, pkg), or NULL. */
static const strata_scan_finding *
find(const strata_scan_report *r, const char *id, const char *pkg)
{
    size_t i;

    for (i = 0; i < strata_scan_report_count(r); i++) {
        const strata_scan_finding *f = strata_scan_report_get(r, i);

        if (strcmp(f->id, id) == 0 && strcmp(f->pkg, pkg) == 0)
            return f;
    }
    return NULL;
}

static void
check_counts(const strata_scan_report *r, size_t critical, size_t high,
             size_t medium, size_t low, size_t negligible, size_t unknown)
{
    size_t c[STRATA_SCAN_NSEVERITIES];

    strata_scan_report_counts(c, r);
    CHECK_EQ(c[STRATA_SCAN_CRITICAL], critical);
    CHECK_EQ(c[STRATA_SCAN_HIGH], high);
    CHECK_EQ(c[STRATA_SCAN_MEDIUM], medium);
    CHECK_EQ(c[STRATA_SCAN_LOW], low);
    CHECK_EQ(c[STRATA_SCAN_NEGLIGIBLE], negligible);
    CHECK_EQ(c[STRATA_SCAN_UNKNOWN], unknown);
}

/* Parses text, which must fail with a message containing want. */
static void
check_bad(const char *text, strata_scan_format format, const char *want)
{
    strata_scan_report *r = NULL;
    strata_error err = {0};
    int rc = strata_scan_report_parse(&r, text, strlen(text), format,
                                      "bad.json", &err);

    if (rc == 0)
        printf("#   accepted: %s\n", text);
    CHECK(rc != 0);
    CHECK(r == NULL);
    CHECK_CONTAINS(err.msg, "report 'bad.json'");
    CHECK_CONTAINS(err.msg, want);
}

typedef struct tmpdir {
    char dir[64];
    char db[128];
} tmpdir;

static void
tmp_make(tmpdir *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/strata-scan-XXXXXX");
    CHECK(mkdtemp(t->dir) != NULL);
    snprintf(t->db, sizeof(t->db), "%s/strata.db", t->dir);
}

static void
tmp_remove(tmpdir *t)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    CHECK_EQ(system(cmd), 0);
}

static void
copy_file(const char *from, const char *to)
{
    char *data = NULL;
    size_t len = 0;
    strata_error err = {0};

    CHECK_OK(strata_read_file(&data, &len, from, 0, &err), &err);
    CHECK_OK(strata_write_file(to, data, len, &err), &err);
    free(data);
}

static void
write_text(const char *path, const char *text)
{
    strata_error err = {0};

    CHECK_OK(strata_write_file(path, text, strlen(text), &err), &err);
}

/* ---- parsers ---- */

TEST(severities_normalised)
{
    CHECK_EQ(strata_scan_severity_parse("CRITICAL"), STRATA_SCAN_CRITICAL);
    CHECK_EQ(strata_scan_severity_parse("High"), STRATA_SCAN_HIGH);
    CHECK_EQ(strata_scan_severity_parse("moderate"), STRATA_SCAN_MEDIUM);
    CHECK_EQ(strata_scan_severity_parse("Negligible"), STRATA_SCAN_NEGLIGIBLE);
    CHECK_EQ(strata_scan_severity_parse("UNKNOWN"), STRATA_SCAN_UNKNOWN);
    CHECK_EQ(strata_scan_severity_parse("none"), STRATA_SCAN_UNKNOWN);
    CHECK_EQ(strata_scan_severity_parse(NULL), STRATA_SCAN_UNKNOWN);
    CHECK_STR_EQ(strata_scan_severity_name(STRATA_SCAN_CRITICAL), "critical");
    CHECK_STR_EQ(strata_scan_severity_name(STRATA_SCAN_NEGLIGIBLE),
                 "negligible");
}

TEST(trivy_documented_format)
{
    strata_scan_report *r = load(FIXTURE("trivy-base.json"), STRATA_SCAN_AUTO);
    const strata_scan_finding *f;

    CHECK_EQ(strata_scan_report_format(r), STRATA_SCAN_TRIVY);
    /* Five entries; CVE-2099-0001 in libexample1 1.0.0-1 twice: merged. */
    CHECK_EQ(strata_scan_report_count(r), 4);
    check_counts(r, 1, 1, 1, 1, 0, 0);
    f = strata_scan_report_get(r, 0);
    CHECK_STR_EQ(f->id, "CVE-2099-0001");
    CHECK_STR_EQ(f->pkg, "libexample1");
    CHECK_STR_EQ(f->version, "1.0.0-1");
    CHECK_STR_EQ(f->fixed, "1.0.0-2");
    CHECK_EQ(f->severity, STRATA_SCAN_CRITICAL); /* the higher one wins */
    /* FixedVersion absent: no fix. */
    f = find(r, "CVE-2099-0002", "zzlib");
    CHECK(f != NULL);
    CHECK(f->fixed == NULL);
    CHECK_STR_EQ(f->version, "2.1");
    CHECK_EQ(f->severity, STRATA_SCAN_HIGH);
    /* FixedVersion "": no fix either. */
    f = find(r, "CVE-2099-0003", "toolbox");
    CHECK(f != NULL && f->fixed == NULL);
    f = find(r, "GHSA-aaaa-bbbb-cccc", "left-trim");
    CHECK(f != NULL);
    CHECK_STR_EQ(f->fixed, "1.0.2, 2.0.1");
    CHECK(strata_scan_report_get(r, 4) == NULL);
    strata_scan_report_free(r);

    /* A clean image: no Results at all. */
    r = load(FIXTURE("trivy-clean.json"), STRATA_SCAN_TRIVY);
    CHECK_EQ(strata_scan_report_count(r), 0);
    strata_scan_report_free(r);
    strata_scan_report_free(NULL);
}

TEST(grype_documented_format)
{
    strata_scan_report *r = load(FIXTURE("grype.json"), STRATA_SCAN_AUTO);
    const strata_scan_finding *f;

    CHECK_EQ(strata_scan_report_format(r), STRATA_SCAN_GRYPE);
    CHECK_EQ(strata_scan_report_count(r), 5);
    check_counts(r, 1, 1, 1, 0, 1, 1);
    f = find(r, "CVE-2099-0200", "libsample");
    CHECK(f != NULL);
    CHECK_STR_EQ(f->version, "3.1.4-1");
    CHECK_STR_EQ(f->fixed, "3.1.4-2");
    CHECK_EQ(f->severity, STRATA_SCAN_CRITICAL);
    f = find(r, "GHSA-dddd-eeee-ffff", "httpthing");
    CHECK(f != NULL);
    CHECK_STR_EQ(f->fixed, "4.3.5, 5.0.1");
    CHECK_EQ(f->severity, STRATA_SCAN_MEDIUM);
    f = find(r, "CVE-2099-0201", "libsample"); /* wont-fix */
    CHECK(f != NULL && f->fixed == NULL);
    CHECK_EQ(f->severity, STRATA_SCAN_NEGLIGIBLE);
    f = find(r, "CVE-2099-0202", "oldtool");
    CHECK(f != NULL && f->fixed == NULL);
    CHECK_EQ(f->severity, STRATA_SCAN_UNKNOWN);
    f = find(r, "CVE-2099-0203", "nofix"); /* no fix object at all */
    CHECK(f != NULL && f->fixed == NULL);
    CHECK_EQ(f->severity, STRATA_SCAN_HIGH);
    strata_scan_report_free(r);
}

TEST(sarif_trivy_tags_and_message)
{
    strata_scan_report *r = load(FIXTURE("sarif-trivy.json"), STRATA_SCAN_AUTO);
    const strata_scan_finding *f;

    CHECK_EQ(strata_scan_report_format(r), STRATA_SCAN_SARIF);
    CHECK_EQ(strata_scan_report_count(r), 2);
    f = find(r, "CVE-2099-0001", "libexample1");
    CHECK(f != NULL);
    CHECK_STR_EQ(f->version, "1.0.0-1");
    CHECK_STR_EQ(f->fixed, "1.0.0-2");
    CHECK_EQ(f->severity, STRATA_SCAN_CRITICAL); /* tag, not level error */
    f = find(r, "CVE-2099-0003", "toolbox");
    CHECK(f != NULL);
    CHECK(f->fixed == NULL); /* "Fixed Version: " with nothing after */
    CHECK_EQ(f->severity, STRATA_SCAN_MEDIUM);
    strata_scan_report_free(r);
}

TEST(sarif_old_trivy_rule_ids)
{
    strata_scan_report *r =
        load(FIXTURE("sarif-old-trivy.json"), STRATA_SCAN_SARIF);
    const strata_scan_finding *f;

    /* Every level is "error"; the severity is in the rule id. */
    CHECK_EQ(strata_scan_report_count(r), 3);
    check_counts(r, 0, 2, 0, 1, 0, 0);
    f = find(r, "CVE-2099-0301", "beta");
    CHECK(f != NULL);
    CHECK_EQ(f->severity, STRATA_SCAN_LOW);
    /* Two rules share an id; ruleIndex picks the package. */
    CHECK(find(r, "CVE-2099-0300", "alpha") != NULL);
    CHECK(find(r, "CVE-2099-0300", "gamma") != NULL);
    strata_scan_report_free(r);
}

TEST(sarif_levels_and_scores)
{
    strata_scan_report *r =
        load(FIXTURE("sarif-levels.json"), STRATA_SCAN_AUTO);
    static const struct {
        const char *id, *pkg;
        strata_scan_severity sev;
    } want[] = {
        {"RULE-ERROR", "src/a.c", STRATA_SCAN_HIGH},
        {"RULE-WARNING", "src/b.c", STRATA_SCAN_MEDIUM},
        {"RULE-NOTE", "src/c.c", STRATA_SCAN_LOW},
        {"RULE-NONE", "pkg.mod", STRATA_SCAN_UNKNOWN},
        {"RULE-DEFAULT-NOTE", "", STRATA_SCAN_LOW},
        {"RULE-NO-LEVEL", "", STRATA_SCAN_MEDIUM},
        {"RULE-SCORE", "", STRATA_SCAN_HIGH},
        {"RULE-SCORE-LOW", "", STRATA_SCAN_LOW},
        {"RULE-SCORE-CRIT", "", STRATA_SCAN_CRITICAL},
        {"RULE-RESULT-TAG", "", STRATA_SCAN_CRITICAL},
    };
    size_t i;

    CHECK_EQ(strata_scan_report_count(r), sizeof(want) / sizeof(want[0]));
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const strata_scan_finding *f = strata_scan_report_get(r, i);

        CHECK_STR_EQ(f->id, want[i].id);
        CHECK_STR_EQ(f->pkg, want[i].pkg);
        if (f->severity != want[i].sev)
            printf("#   %s: %s\n", f->id,
                   strata_scan_severity_name(f->severity));
        CHECK_EQ(f->severity, want[i].sev);
        CHECK(f->version == NULL && f->fixed == NULL);
    }
    strata_scan_report_free(r);
}

TEST(findings_json_round_trip)
{
    strata_scan_report *r = load(FIXTURE("grype.json"), STRATA_SCAN_AUTO);
    strata_scan_report *back = NULL;
    strata_error err = {0};
    json_t *j = strata_scan_report_json(r), *j2;

    CHECK_EQ(json_array_size(j), 5);
    CHECK(json_is_null(json_object_get(json_array_get(j, 2), "fixed")));
    CHECK_OK(
        strata_scan_report_from_json(&back, j, STRATA_SCAN_GRYPE, "x", &err),
        &err);
    j2 = strata_scan_report_json(back);
    CHECK(json_equal(j, j2));
    json_decref(j2);
    json_decref(j);
    strata_scan_report_free(back);
    strata_scan_report_free(r);
}

TEST(malformed_reports_are_errors)
{
    strata_scan_report *r = NULL;
    strata_error err = {0};
    char *deep;
    size_t i;

    check_bad("", STRATA_SCAN_AUTO, "is empty");
    check_bad("{", STRATA_SCAN_AUTO, "invalid JSON at line 1");
    check_bad("[1, 2]", STRATA_SCAN_AUTO, "not a JSON object");
    check_bad("{\"hello\": 1}", STRATA_SCAN_AUTO,
              "not a Trivy, Grype or SARIF report");
    /* Trivy */
    check_bad("{\"SchemaVersion\": 1, \"Results\": []}", STRATA_SCAN_AUTO,
              "unsupported Trivy SchemaVersion");
    check_bad("{\"SchemaVersion\": 2, \"Results\": {}}", STRATA_SCAN_AUTO,
              "'Results' is not an array");
    check_bad("{\"SchemaVersion\": 2, \"Results\": [7]}", STRATA_SCAN_AUTO,
              "'Results[0]' is not an object");
    check_bad("{\"SchemaVersion\": 2, \"Results\": [{\"Vulnerabilities\": "
              "\"x\"}]}",
              STRATA_SCAN_AUTO, "'Results[0].Vulnerabilities' is not an array");
    check_bad("{\"SchemaVersion\": 2, \"Results\": [{\"Vulnerabilities\": "
              "[{\"PkgName\": \"a\"}]}]}",
              STRATA_SCAN_AUTO,
              "'Results[0].Vulnerabilities[0].VulnerabilityID' is missing");
    check_bad("{\"SchemaVersion\": 2, \"Results\": [{}, {\"Vulnerabilities\": "
              "[{\"VulnerabilityID\": \"CVE-1\", \"PkgName\": \"a\", "
              "\"FixedVersion\": 3}]}]}",
              STRATA_SCAN_AUTO,
              "'Results[1].Vulnerabilities[0].FixedVersion' is not a string");
    /* Grype */
    check_bad("{\"matches\": 1}", STRATA_SCAN_AUTO,
              "'matches' is not an array");
    check_bad("{\"matches\": [{\"vulnerability\": {\"id\": \"CVE-1\"}}]}",
              STRATA_SCAN_AUTO, "'matches[0].artifact' is not an object");
    check_bad("{\"matches\": [{\"vulnerability\": {\"id\": \"CVE-1\", "
              "\"fix\": {\"versions\": [1]}}, \"artifact\": {\"name\": "
              "\"a\"}}]}",
              STRATA_SCAN_AUTO,
              "'matches[0].vulnerability.fix.versions[0]' is not a string");
    check_bad("{\"Results\": []}", STRATA_SCAN_GRYPE, "'matches' is missing");
    /* SARIF */
    check_bad("{\"version\": \"2.0.0\", \"runs\": []}", STRATA_SCAN_AUTO,
              "unsupported SARIF version '2.0.0'");
    check_bad("{\"version\": \"2.1.0\", \"runs\": [{\"results\": [{}]}]}",
              STRATA_SCAN_AUTO, "'runs[0].results[0]' has no ruleId");
    check_bad("{\"runs\": [{\"results\": [{\"ruleId\": \"R\", \"level\": "
              "\"fatal\"}]}]}",
              STRATA_SCAN_AUTO, "'runs[0].results[0].level' is 'fatal'");
    check_bad("{\"runs\": [{\"results\": [{\"ruleId\": 5}]}]}",
              STRATA_SCAN_AUTO, "'runs[0].results[0].ruleId' is not a string");
    check_bad("{\"runs\": [{\"results\": [{\"ruleIndex\": 3}]}]}",
              STRATA_SCAN_AUTO, "has no ruleId");
    check_bad("{\"runs\": [3]}", STRATA_SCAN_SARIF,
              "'runs[0]' is not an object");

    /* Nesting beyond jansson's depth limit: an error, not a crash. */
    deep = strata_xmalloc(200001);
    for (i = 0; i < 100000; i++)
        deep[i] = '[';
    for (; i < 200000; i++)
        deep[i] = ']';
    deep[200000] = '\0';
    check_bad(deep, STRATA_SCAN_AUTO, "invalid JSON");
    free(deep);

    /* Files: the message names the file. */
    CHECK(strata_scan_report_load(&r, FIXTURE("truncated.json"),
                                  STRATA_SCAN_AUTO, &err) != 0);
    CHECK(r == NULL);
    CHECK_CONTAINS(err.msg, "truncated.json");
    CHECK_CONTAINS(err.msg, "invalid JSON");
    CHECK(strata_scan_report_load(&r, FIXTURE("no-such-report.json"),
                                  STRATA_SCAN_AUTO, &err) != 0);
    CHECK_CONTAINS(err.msg, "no-such-report.json");
    CHECK_EQ(strata_scan_format_parse(NULL, "cyclonedx", &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "'cyclonedx'");
}

/* ---- deltas and gates ---- */

static const char *
list_ids(const json_t *list, char *buf, size_t size)
{
    const json_t *f;
    size_t i, n = 0;

    buf[0] = '\0';
    json_array_foreach (list, i, f)
        n += (size_t) snprintf(buf + n, size - n, "%s%s/%s", i ? " " : "",
                               json_string_value(json_object_get(f, "id")),
                               json_string_value(json_object_get(f, "pkg")));
    return buf;
}

TEST(delta_between_digests)
{
    strata_scan_report *base = load(FIXTURE("trivy-base.json"), 0);
    strata_scan_report *next = load(FIXTURE("trivy-next.json"), 0);
    strata_scan_delta d;
    char buf[512];
    json_t *counts;

    strata_scan_delta_compute(&d, base, next);
    CHECK_EQ(d.has_previous, 1);
    /* new: netfetch's two; fixed: libexample1 and left-trim; zzlib is
     * unchanged although its version moved. */
    CHECK_STR_EQ(list_ids(d.added_list, buf, sizeof(buf)),
                 "CVE-2099-0100/netfetch CVE-2099-0101/netfetch");
    CHECK_STR_EQ(list_ids(d.fixed_list, buf, sizeof(buf)),
                 "CVE-2099-0001/libexample1 GHSA-aaaa-bbbb-cccc/left-trim");
    CHECK_EQ(d.added[STRATA_SCAN_CRITICAL], 1);
    CHECK_EQ(d.added[STRATA_SCAN_UNKNOWN], 1);
    CHECK_EQ(d.added[STRATA_SCAN_HIGH], 0);
    CHECK_EQ(d.fixed[STRATA_SCAN_CRITICAL], 1);
    CHECK_EQ(d.fixed[STRATA_SCAN_LOW], 1);
    CHECK_EQ(d.unchanged[STRATA_SCAN_HIGH], 1);
    CHECK_EQ(d.unchanged[STRATA_SCAN_MEDIUM], 1);
    CHECK_EQ(d.total[STRATA_SCAN_CRITICAL], 1);
    CHECK_EQ(d.total[STRATA_SCAN_LOW], 0);
    counts = strata_scan_delta_counts_json(&d);
    CHECK_EQ(json_integer_value(
                 json_object_get(json_object_get(counts, "critical"), "new")),
             1);
    CHECK_EQ(json_integer_value(
                 json_object_get(json_object_get(counts, "low"), "fixed")),
             1);
    CHECK_EQ(json_object_size(counts), STRATA_SCAN_NSEVERITIES);
    json_decref(counts);
    strata_scan_delta_release(&d);

    /* The other way round: what was fixed is new. */
    strata_scan_delta_compute(&d, next, base);
    CHECK_STR_EQ(list_ids(d.added_list, buf, sizeof(buf)),
                 "CVE-2099-0001/libexample1 GHSA-aaaa-bbbb-cccc/left-trim");
    CHECK_EQ(d.fixed[STRATA_SCAN_CRITICAL] + d.fixed[STRATA_SCAN_UNKNOWN], 2);
    strata_scan_delta_release(&d);

    /* Against itself: nothing new, nothing fixed. */
    strata_scan_delta_compute(&d, next, next);
    CHECK_EQ(json_array_size(d.added_list), 0);
    CHECK_EQ(json_array_size(d.fixed_list), 0);
    CHECK_EQ(d.unchanged[STRATA_SCAN_CRITICAL], 1);
    strata_scan_delta_release(&d);

    /* A first scan: everything is listed as new, the baseline. */
    strata_scan_delta_compute(&d, NULL, base);
    CHECK_EQ(d.has_previous, 0);
    CHECK_EQ(json_array_size(d.added_list), 4);
    CHECK_EQ(json_array_size(d.fixed_list), 0);
    strata_scan_delta_release(&d);
    strata_scan_delta_release(NULL);
    strata_scan_report_free(base);
    strata_scan_report_free(next);
}

TEST(gate_pass_warn_fail)
{
    strata_scan_report *base = load(FIXTURE("trivy-base.json"), 0);
    strata_scan_report *next = load(FIXTURE("trivy-next.json"), 0);
    strata_scan_report *many = NULL;
    strata_scan_gate gate = {{0}};
    strata_scan_delta d;
    strata_error err = {0};
    char *reason = NULL;
    json_t *list;
    int i;

    gate.on_new[STRATA_SCAN_CRITICAL] = STRATA_SCAN_GATE_FAIL;
    gate.on_new[STRATA_SCAN_HIGH] = STRATA_SCAN_GATE_WARN;
    strata_scan_delta_compute(&d, base, next);
    CHECK_EQ(strata_scan_gate_check(&reason, &gate, &d), STRATA_SCAN_GATE_FAIL);
    CHECK_STR_EQ(reason, "1 new critical finding: CVE-2099-0100 (netfetch)");
    free(reason);
    /* Critical only warns: a warning naming it. */
    gate.on_new[STRATA_SCAN_CRITICAL] = STRATA_SCAN_GATE_WARN;
    CHECK_EQ(strata_scan_gate_check(&reason, &gate, &d), STRATA_SCAN_GATE_WARN);
    CHECK_CONTAINS(reason, "CVE-2099-0100");
    free(reason);
    /* Unknown fails: both named, the strongest action wins. */
    gate.on_new[STRATA_SCAN_UNKNOWN] = STRATA_SCAN_GATE_FAIL;
    CHECK_EQ(strata_scan_gate_check(&reason, &gate, &d), STRATA_SCAN_GATE_FAIL);
    CHECK_STR_EQ(reason, "1 new critical finding: CVE-2099-0100 (netfetch); "
                         "1 new unknown finding: CVE-2099-0101 (netfetch)");
    free(reason);
    /* Ignored severities pass. */
    memset(&gate, 0, sizeof(gate));
    gate.on_new[STRATA_SCAN_HIGH] = STRATA_SCAN_GATE_FAIL;
    CHECK_EQ(strata_scan_gate_check(&reason, &gate, &d),
             STRATA_SCAN_GATE_IGNORE);
    CHECK(reason == NULL);
    strata_scan_delta_release(&d);

    /* A first scan passes whatever it holds. */
    gate.on_new[STRATA_SCAN_CRITICAL] = STRATA_SCAN_GATE_FAIL;
    strata_scan_delta_compute(&d, NULL, next);
    CHECK_EQ(strata_scan_gate_check(&reason, &gate, &d),
             STRATA_SCAN_GATE_IGNORE);
    CHECK(reason == NULL);
    strata_scan_delta_release(&d);

    /* Seven new critical findings: five named, "and 2 more". */
    list = json_array();
    for (i = 0; i < 7; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "id", "CVE-X",
                                              "pkg", i % 2 ? "odd" : "even",
                                              "severity", "critical"));
    for (i = 0; i < 7; i++)
        json_object_set_new(json_array_get(list, (size_t) i), "id",
                            json_sprintf("CVE-2099-10%d", i));
    CHECK_OK(strata_scan_report_from_json(&many, list, 0, "many", &err), &err);
    strata_scan_delta_compute(&d, base, many);
    CHECK_EQ(strata_scan_gate_check(&reason, &gate, &d), STRATA_SCAN_GATE_FAIL);
    CHECK_CONTAINS(reason, "7 new critical findings: CVE-2099-100 (even)");
    CHECK_CONTAINS(reason, "CVE-2099-104 (even) and 2 more");
    free(reason);
    strata_scan_delta_release(&d);
    json_decref(list);
    strata_scan_report_free(many);
    strata_scan_report_free(base);
    strata_scan_report_free(next);
}

/* ---- the store ---- */

static int64_t
fixed_clock(void *arg)
{
    return *(int64_t *) arg;
}

TEST(findings_per_digest_in_the_store)
{
    strata_scan_report *base = load(FIXTURE("trivy-base.json"), 0);
    strata_scan_report *next = load(FIXTURE("trivy-next.json"), 0);
    strata_scan_report *back = NULL;
    strata_store *st = NULL;
    strata_error err = {0};
    strata_scan_delta d;
    strata_store_finding bad = {"CVE-1", "x", NULL, NULL, "severe"};
    int64_t now = 1700000000000;
    const char *img = "registry.example.com/acme/app:1";
    char *prev = NULL, buf[256];
    json_t *scans = NULL, *rows = NULL;
    tmpdir t;

    tmp_make(&t);
    CHECK_OK(strata_store_open(&st, t.db, &err), &err);
    strata_store_set_clock(st, fixed_clock, &now);
    CHECK_OK(strata_store_scans_previous(&prev, st, img, NULL, &err), &err);
    CHECK(prev == NULL);
    CHECK_EQ(strata_scan_report_stored(&back, st, img, D1, &err),
             STRATA_ENOTFOUND);
    CHECK_CONTAINS(err.msg, D1);

    /* The first scan is the baseline. */
    CHECK_OK(strata_scan_record(&d, &prev, st, img, D1, "trivy", base, &err),
             &err);
    CHECK(prev == NULL);
    CHECK_EQ(d.has_previous, 0);
    strata_scan_delta_release(&d);
    /* The second compares with the first (same clock: seq orders). */
    CHECK_OK(strata_scan_record(&d, &prev, st, img, D2, "trivy", next, &err),
             &err);
    CHECK_STR_EQ(prev, D1);
    CHECK_STR_EQ(list_ids(d.added_list, buf, sizeof(buf)),
                 "CVE-2099-0100/netfetch CVE-2099-0101/netfetch");
    strata_scan_delta_release(&d);
    free(prev);

    /* Stored findings read back as recorded, in order. */
    CHECK_OK(strata_scan_report_stored(&back, st, img, D1, &err), &err);
    CHECK_EQ(strata_scan_report_count(back), 4);
    CHECK_STR_EQ(strata_scan_report_get(back, 0)->id, "CVE-2099-0001");
    CHECK_EQ(strata_scan_report_get(back, 0)->severity, STRATA_SCAN_CRITICAL);
    CHECK(find(back, "CVE-2099-0002", "zzlib")->fixed == NULL);
    strata_scan_report_free(back);
    back = NULL;

    CHECK_OK(strata_store_scans_list(&scans, st, img, 0, &err), &err);
    CHECK_EQ(json_array_size(scans), 2);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(scans, 0), "digest")),
        D2);
    CHECK_EQ(
        json_integer_value(json_object_get(
            json_object_get(json_array_get(scans, 0), "counts"), "unknown")),
        1);
    CHECK_EQ(json_integer_value(json_object_get(
                 json_object_get(json_array_get(scans, 1), "counts"), "low")),
             1);
    CHECK_EQ(json_integer_value(
                 json_object_get(json_array_get(scans, 1), "scanned")),
             now);
    json_decref(scans);

    /* D1 scanned again (a rollback): it is the newest, D2 its previous,
     * and its findings are replaced, not added to. */
    now += 1000;
    CHECK_OK(strata_scan_record(&d, &prev, st, img, D1, "grype", next, &err),
             &err);
    CHECK_STR_EQ(prev, D2);
    CHECK_EQ(json_array_size(d.added_list), 0);
    strata_scan_delta_release(&d);
    free(prev);
    CHECK_OK(strata_store_findings_get(&rows, st, img, D1, &err), &err);
    CHECK_EQ(json_array_size(rows), 4);
    json_decref(rows);
    CHECK_OK(strata_store_scans_list(&scans, st, NULL, 1, &err), &err);
    CHECK_EQ(json_array_size(scans), 1);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(scans, 0), "scanner")),
        "grype");
    json_decref(scans);
    /* Other images are apart. */
    CHECK_OK(strata_store_scans_previous(&prev, st, "other:1", NULL, &err),
             &err);
    CHECK(prev == NULL);

    /* Bad rows are refused and change nothing. */
    CHECK_EQ(strata_store_findings_put(st, img, D3, "x", &bad, 1, &err),
             STRATA_EINVAL);
    CHECK_EQ(strata_store_findings_get(&rows, st, img, D3, &err),
             STRATA_ENOTFOUND);
    strata_store_close(st);

    /* Reopened: still there. */
    CHECK_OK(strata_store_open(&st, t.db, &err), &err);
    CHECK_OK(strata_store_scans_previous(&prev, st, img, D1, &err), &err);
    CHECK_STR_EQ(prev, D2);
    free(prev);
    strata_store_close(st);
    strata_scan_report_free(base);
    strata_scan_report_free(next);
    tmp_remove(&t);
}

/* ---- running a scanner ---- */

TEST(command_template)
{
    strata_error err = {0};
    char *cmd = NULL;

    /* Values are shell-quoted; a reference never holds a quote, and an
     * invalid one is refused before any command is built. */
    CHECK_OK(strata_scan_command(&cmd,
                                 "trivy image {ref} # {image} {digest} {name} "
                                 "{nope",
                                 "registry.example.com/acme/app:1", D1, &err),
             &err);
    CHECK_STR_EQ(cmd, "trivy image 'registry.example.com/acme/app@" D1
                      "' # 'registry.example.com/acme/app:1' '" D1
                      "' 'registry.example.com/acme/app' {nope");
    free(cmd);
    CHECK_EQ(strata_scan_command(&cmd, "x {ref}", "acme/it's:1", D1, &err),
             STRATA_EINVAL);
    CHECK(cmd == NULL);
    CHECK_EQ(strata_scan_command(&cmd, "x {tag}", "a/b:1", D1, &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "'{tag}'");
    CHECK(cmd == NULL);
}

typedef struct run_result {
    int calls;
    strata_scan_report *report;
    strata_error err;
    int failed;
    char *log;
    int64_t exit_status;
} run_result;

static void
on_run(strata_scan_report *report, const strata_error *err, const char *log,
       int64_t exit_status, void *arg)
{
    run_result *res = arg;

    res->calls++;
    res->report = report;
    res->failed = err != NULL;
    if (err != NULL)
        res->err = *err;
    res->log = strata_xstrdup(log);
    res->exit_status = exit_status;
}

/* Runs the fake scanner on report (with REPORT.exit when exit_status). */
static void
run_scanner(run_result *res, const tmpdir *t, const char *report,
            uint64_t timeout_ms, const char *cmd_override)
{
    uv_loop_t loop;
    strata_error err = {0};
    strata_scan_run_opts o = {0};
    char *cmd = strata_xasprintf("/bin/sh %s %s %s/calls {ref}",
                                 FIXTURE("fake-scanner.sh"), report, t->dir);
    DIR *dir;
    struct dirent *de;
    int leftovers = 0;

    memset(res, 0, sizeof(*res));
    CHECK_EQ(uv_loop_init(&loop), 0);
    o.command = cmd_override ? cmd_override : cmd;
    o.format = STRATA_SCAN_AUTO;
    o.scanner = "fake";
    o.image = "registry.example.com/acme/app:1";
    o.digest = D1;
    o.timeout_ms = timeout_ms;
    o.tmp_dir = t->dir;
    CHECK_OK(strata_scan_run(&loop, &o, on_run, res, &err), &err);
    CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(res->calls, 1);
    CHECK_EQ(uv_loop_close(&loop), 0);
    free(cmd);
    /* The spooled stdout is gone. */
    CHECK((dir = opendir(t->dir)) != NULL);
    while ((de = readdir(dir)) != NULL)
        if (strncmp(de->d_name, "strata-scan-", 12) == 0)
            leftovers++;
    closedir(dir);
    CHECK_EQ(leftovers, 0);
}

TEST(scanner_runs)
{
    run_result res;
    tmpdir t;
    char path[256], *calls = NULL, *exitfile;
    int64_t started;
    size_t len;
    strata_error err = {0};

    tmp_make(&t);
    /* A report on stdout; stderr stays out of the JSON. */
    run_scanner(&res, &t, FIXTURE("trivy-next.json"), 0, NULL);
    CHECK(!res.failed);
    CHECK_EQ(strata_scan_report_count(res.report), 4);
    CHECK_CONTAINS(res.log, "fake-scanner: scanning registry.example.com/"
                            "acme/app@" D1);
    strata_scan_report_free(res.report);
    free(res.log);
    snprintf(path, sizeof(path), "%s/calls", t.dir);
    CHECK_OK(strata_read_file(&calls, &len, path, 0, &err), &err);
    CHECK_STR_EQ(calls, "registry.example.com/acme/app@" D1 "\n");
    free(calls);

    /* Exit 1 with a report (trivy --exit-code 1): the report counts. */
    snprintf(path, sizeof(path), "%s/report.json", t.dir);
    copy_file(FIXTURE("grype.json"), path);
    exitfile = strata_xasprintf("%s.exit", path);
    write_text(exitfile, "1\n");
    run_scanner(&res, &t, path, 0, NULL);
    CHECK(!res.failed);
    CHECK_EQ(res.exit_status, 1);
    CHECK_EQ(strata_scan_report_format(res.report), STRATA_SCAN_GRYPE);
    strata_scan_report_free(res.report);
    free(res.log);

    /* Exit 3 and no report: the status and stderr's last line. */
    CHECK_EQ(unlink(path), 0);
    write_text(exitfile, "3\n");
    run_scanner(&res, &t, path, 0, NULL);
    CHECK(res.failed && res.report == NULL);
    CHECK_EQ(res.err.code, STRATA_EIO);
    CHECK_CONTAINS(res.err.msg, "scanner 'fake' exited with status 3: "
                                "fake-scanner: scanning");
    free(res.log);
    CHECK_EQ(unlink(exitfile), 0);
    free(exitfile);

    /* Exit 0 with garbage: the parse error, naming the scanner. */
    run_scanner(&res, &t, FIXTURE("truncated.json"), 0, NULL);
    CHECK(res.failed);
    CHECK_EQ(res.err.code, STRATA_EINVAL);
    CHECK_CONTAINS(res.err.msg, "report 'fake output': invalid JSON");
    free(res.log);

    /* Exit 0 and nothing at all. */
    run_scanner(&res, &t, "/nonexistent/report.json", 0, NULL);
    CHECK(res.failed);
    CHECK_CONTAINS(res.err.msg, "report 'fake output' is empty");
    free(res.log);

    /* Too slow: killed at the deadline, the scanner too (not only its
     * shell, which would leave it holding the output pipe). */
    started = strata_now_ms();
    run_scanner(&res, &t, NULL, 300, "sleep 10");
    CHECK(strata_now_ms() - started < 5000);
    CHECK(res.failed);
    CHECK_EQ(res.err.code, STRATA_ETIMEOUT);
    CHECK_CONTAINS(res.err.msg, "scanner 'fake' timed out");
    free(res.log);
    tmp_remove(&t);
}

/* ---- the CLI ---- */

/* Runs a shell command line; *out (new) is its stdout. Returns the exit. */
static int run_cli(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
run_cli(char **out, const char *fmt, ...)
{
    strata_buf b = STRATA_BUF_INIT;
    char chunk[4096];
    size_t n;
    va_list ap;
    char *cmd;
    FILE *p;
    int st;

    va_start(ap, fmt);
    cmd = strata_xvasprintf(fmt, ap);
    va_end(ap);
    CHECK((p = popen(cmd, "r")) != NULL);
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        strata_buf_add(&b, chunk, n);
    st = pclose(p);
    free(cmd);
    *out = strata_buf_detach(&b);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(cli_scan_report_and_diff)
{
    const char *exe = getenv("STRATA_EXE");
    char cfg[256], *out = NULL;
    json_t *j;
    tmpdir t;

    if (exe == NULL) {
        printf("# STRATA_EXE not set: CLI not tested\n");
        return;
    }
    tmp_make(&t);
    snprintf(cfg, sizeof(cfg), "%s/strata.yaml", t.dir);
    write_text(cfg, "state: ./strata.db\n"
                    "scanners:\n"
                    "  default:\n"
                    "    type: trivy\n"
                    "    command: trivy image --format json {ref}\n"
                    "    gate: {new_critical: fail, new_high: warn}\n");
    /* The report alone. */
    CHECK_EQ(
        run_cli(&out, "%s scan report %s", exe, FIXTURE("trivy-base.json")), 0);
    CHECK_CONTAINS(out, "trivy report, 4 findings: critical 1 high 1");
    CHECK_CONTAINS(out, "CVE-2099-0002");
    free(out);
    CHECK_EQ(run_cli(&out, "%s scan report %s --format sarif --json", exe,
                     FIXTURE("sarif-old-trivy.json")),
             0);
    CHECK((j = json_loads(out, 0, NULL)) != NULL);
    CHECK_EQ(json_integer_value(
                 json_object_get(json_object_get(j, "counts"), "high")),
             2);
    json_decref(j);
    free(out);
    /* Bad input: exit 2 and the file named. */
    CHECK_EQ(
        run_cli(&out, "%s scan report %s 2>&1", exe, FIXTURE("truncated.json")),
        2);
    CHECK_CONTAINS(out, "report '" FIXTURE("truncated.json") "': invalid JSON");
    free(out);
    CHECK_EQ(run_cli(&out, "%s scan report %s --format grype 2>&1", exe,
                     FIXTURE("trivy-base.json")),
             2);
    CHECK_CONTAINS(out, "'matches' is missing");
    free(out);
    CHECK_EQ(run_cli(&out, "%s scan report %s --image x 2>&1", exe,
                     FIXTURE("trivy-base.json")),
             2);
    free(out);
    CHECK_EQ(run_cli(&out,
                     "%s -c %s scan report %s --image app --digest "
                     "sha256:12 2>&1",
                     exe, cfg, FIXTURE("trivy-base.json")),
             2);
    CHECK_CONTAINS(out, "invalid digest");
    free(out);

    /* Recorded per digest: a baseline, then a regression the gate fails. */
    CHECK_EQ(run_cli(&out, "%s -c %s scan report %s --image app --digest %s",
                     exe, cfg, FIXTURE("trivy-base.json"), D1),
             0);
    CHECK_CONTAINS(out, "docker.io/library/app:latest@" D1);
    CHECK_CONTAINS(out, "previous: none");
    free(out);
    CHECK_EQ(run_cli(&out,
                     "%s -c %s scan report %s --image app --digest %s "
                     "--json 2>%s/err",
                     exe, cfg, FIXTURE("trivy-next.json"), D2, t.dir),
             1);
    CHECK((j = json_loads(out, 0, NULL)) != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "previous")), D1);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "gate")), "fail");
    CHECK_STR_EQ(json_string_value(json_object_get(j, "scanner")), "default");
    CHECK_EQ(json_array_size(json_object_get(j, "new")), 2);
    CHECK_EQ(json_array_size(json_object_get(j, "fixed")), 2);
    json_decref(j);
    free(out);

    /* diff: the two newest digests. */
    CHECK_EQ(
        run_cli(&out, "%s -c %s scan diff docker.io/library/app", exe, cfg), 0);
    CHECK_CONTAINS(out, "previous: " D1);
    CHECK_CONTAINS(out, "new   critical   CVE-2099-0100        netfetch "
                        "8.0.0-1 (fixed in 8.0.0-3)");
    CHECK_CONTAINS(out, "fixed critical   CVE-2099-0001        libexample1");
    free(out);
    CHECK_EQ(run_cli(&out, "%s -c %s scan diff nothing-here 2>&1", exe, cfg),
             1);
    CHECK_CONTAINS(out, "no scans of 'docker.io/library/nothing-here:latest'");
    free(out);
    tmp_remove(&t);
}

/* ---- the real upstream reports (tests/scanners/upstream/) ---- */

static void
real_fixtures(void)
{
    static const struct {
        const char *file;
        strata_scan_format format;
        size_t counts[STRATA_SCAN_NSEVERITIES]; /* unknown .. critical */
    } want[] = {
        {"trivy-alpine-310.json", STRATA_SCAN_TRIVY, {0, 0, 0, 4, 0, 0}},
        {"trivy-debian-buster.json", STRATA_SCAN_TRIVY, {0, 0, 1, 0, 0, 1}},
        {"trivy-debian-buster.sarif.json",
         STRATA_SCAN_SARIF,
         {0, 0, 71, 23, 5, 0}},
        {"trivy-alpine-310.sarif.json", STRATA_SCAN_SARIF, {0, 0, 0, 4, 0, 0}},
        {"grype-keycloak-test.json", STRATA_SCAN_GRYPE, {0, 0, 6, 0, 0, 0}},
        {"grype-ghsa-test.json", STRATA_SCAN_GRYPE, {0, 0, 0, 2, 0, 0}},
    };
    const char *dir = STRATA_TEST_SCANNERS "/upstream";
    strata_scan_report *json, *sarif;
    strata_scan_delta d;
    size_t i;
    int s;

    harness_current = "real_fixtures";
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char *path = strata_xasprintf("%s/%s", dir, want[i].file);
        strata_scan_report *r = load(path, STRATA_SCAN_AUTO);
        size_t c[STRATA_SCAN_NSEVERITIES];

        printf("# %s\n", want[i].file);
        CHECK_EQ(strata_scan_report_format(r), want[i].format);
        strata_scan_report_counts(c, r);
        for (s = 0; s < STRATA_SCAN_NSEVERITIES; s++)
            CHECK_EQ(c[s], want[i].counts[s]);
        strata_scan_report_free(r);
        free(path);
    }
    /* A missing FixedVersion in a real Trivy report. */
    {
        char *path = strata_xasprintf("%s/trivy-debian-buster.json", dir);

        json = load(path, STRATA_SCAN_AUTO);
        CHECK(find(json, "CVE-2019-18276", "bash") != NULL);
        CHECK(find(json, "CVE-2019-18276", "bash")->fixed == NULL);
        CHECK(find(json, "CVE-2019-18224", "libidn2-0")->fixed != NULL);
        strata_scan_report_free(json);
        free(path);
    }
    /* The current SARIF says what the JSON says, field by field. */
    {
        char *p1 = strata_xasprintf("%s/trivy-alpine-310.json", dir);
        char *p2 = strata_xasprintf("%s/trivy-alpine-310.sarif.json", dir);
        json_t *a, *b;

        json = load(p1, STRATA_SCAN_AUTO);
        sarif = load(p2, STRATA_SCAN_AUTO);
        strata_scan_delta_compute(&d, json, sarif);
        CHECK_EQ(json_array_size(d.added_list), 0);
        CHECK_EQ(json_array_size(d.fixed_list), 0);
        strata_scan_delta_release(&d);
        a = strata_scan_report_json(json);
        b = strata_scan_report_json(sarif);
        CHECK(json_equal(a, b));
        json_decref(a);
        json_decref(b);
        strata_scan_report_free(json);
        strata_scan_report_free(sarif);
        free(p1);
        free(p2);
    }
    printf("ok %d - real_fixtures\n", ++harness_count);
}

/* ---- integration: the rescan action against a real registry ---- */

typedef struct action_fixture {
    harness_registry reg;
    tmpdir t;
    uv_loop_t loop;
    strata_registry *client;
    strata_config *config;
    strata_store *store;
    strata_runner *runner;
    strata_runner_env env;
    char image[128];
    char current[256]; /* the report the fake scanner prints */
    int jobs;
} action_fixture;

static void
on_drained(strata_runner *r, void *arg)
{
    (void) r;
    *(int *) arg = 1;
}

/* Seeds app:1 with a layer of text; returns the new digest (new). */
static char *
push_image(action_fixture *f, const char *text)
{
    json_t *out = NULL;
    char *spec = strata_xasprintf("{\"name\": \"app\", \"tag\": \"1\", "
                                  "\"layers\": [\"%s\"]}",
                                  text);
    char *digest;

    CHECK_EQ(harness_registry_seed(&f->reg, spec, &out), 0);
    digest = strata_xstrdup(json_string_value(json_object_get(out, "digest")));
    json_decref(out);
    free(spec);
    return digest;
}

/* Enqueues a rescan job and runs the runner until it is done. */
static strata_store_job *
rescan(action_fixture *f, int max_attempts)
{
    strata_store_job_spec spec = {0};
    strata_store_job *job = NULL;
    strata_error err = {0};
    char base[80];
    int64_t id = 0;
    int drained = 0;

    snprintf(base, sizeof(base), "sha256:%064d", ++f->jobs);
    spec.image = f->image;
    spec.action = "rescan";
    spec.base_ref = "docker.io/library/debian:12-slim";
    spec.base_digest = base;
    spec.max_attempts = max_attempts;
    CHECK_OK(strata_store_job_enqueue(&id, NULL, f->store, &spec, &err), &err);
    strata_runner_drain(f->runner, on_drained, &drained);
    while (!drained)
        CHECK(uv_run(&f->loop, UV_RUN_ONCE) >= 0);
    CHECK_OK(strata_store_job_get(&job, f->store, id, &err), &err);
    return job;
}

static json_t *
events_of(action_fixture *f, const char *type)
{
    json_t *list = NULL;
    strata_error err = {0};

    CHECK_OK(strata_store_event_list(&list, f->store, 0, 0, type, &err), &err);
    return list;
}

static void
integration(void)
{
    action_fixture f;
    strata_error err = {0};
    strata_store_job *job;
    const char *why = harness_registry_missing(0);
    char *d1, *d2, *d3, *yaml, *calls = NULL, path[300];
    json_t *ev, *res;
    size_t len;

    if (why != NULL)
        SKIP_ALL("%s", why);
    memset(&f, 0, sizeof(f));
    harness_current = "rescan_action";
    CHECK_EQ(harness_registry_start(&f.reg, NULL, NULL), 0);
    tmp_make(&f.t);
    snprintf(f.image, sizeof(f.image), "%s/app:1", f.reg.host);
    snprintf(f.current, sizeof(f.current), "%s/current.json", f.t.dir);
    yaml = strata_xasprintf("state: %s\n"
                            "scanners:\n"
                            "  default:\n"
                            "    type: trivy\n"
                            "    command: /bin/sh %s %s %s/calls {ref}\n"
                            "    timeout: 20s\n"
                            "    gate: {new_critical: fail, new_high: warn}\n",
                            f.t.db, FIXTURE("fake-scanner.sh"), f.current,
                            f.t.dir);
    CHECK_OK(strata_config_load_string(&f.config, yaml, strlen(yaml),
                                       "strata.yaml", f.t.dir, NULL, &err),
             &err);
    free(yaml);
    CHECK_EQ(uv_loop_init(&f.loop), 0);
    CHECK_OK(strata_registry_new(&f.client, &f.loop, NULL, &err), &err);
    CHECK_OK(strata_store_open(&f.store, f.t.db, &err), &err);
    f.env.loop = &f.loop;
    f.env.config = f.config;
    f.env.cfg = strata_config_data_get(f.config);
    f.env.store = f.store;
    f.env.registry = f.client;
    CHECK_OK(strata_runner_new(&f.runner, &f.loop, &f.env, 2, &err), &err);

    /* 1. The first digest: the baseline, which passes. */
    d1 = push_image(&f, "one");
    copy_file(FIXTURE("trivy-base.json"), f.current);
    job = rescan(&f, 1);
    if (job->state != STRATA_STORE_JOB_SUCCEEDED)
        printf("#   %s\n", job->last_error);
    CHECK_EQ(job->state, STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(json_string_value(json_object_get(job->result, "digest")), d1);
    CHECK(json_is_null(json_object_get(job->result, "previous")));
    CHECK_STR_EQ(json_string_value(json_object_get(job->result, "gate")),
                 "pass");
    CHECK_EQ(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(job->result, "counts"), "critical"),
            "total")),
        1);
    strata_store_job_free(job);
    /* The scanner got exactly that digest. */
    snprintf(path, sizeof(path), "%s/calls", f.t.dir);
    CHECK_OK(strata_read_file(&calls, &len, path, 0, &err), &err);
    CHECK_CONTAINS(calls, "/app@");
    CHECK_CONTAINS(calls, d1);
    free(calls);
    printf("ok %d - rescan_baseline\n", ++harness_count);

    /* 2. A new digest with a new critical finding: the gate fails it for
     * good, rescan.regressed and rescan.failed are recorded. */
    d2 = push_image(&f, "two");
    CHECK(strcmp(d1, d2) != 0);
    copy_file(FIXTURE("trivy-next.json"), f.current);
    job = rescan(&f, 3);
    CHECK_EQ(job->state, STRATA_STORE_JOB_FAILED);
    CHECK_EQ(job->attempts, 1);
    CHECK_CONTAINS(job->last_error,
                   "gate failed: 1 new critical finding: CVE-2099-0100");
    res = job->result;
    CHECK_STR_EQ(json_string_value(json_object_get(res, "digest")), d2);
    CHECK_STR_EQ(json_string_value(json_object_get(res, "previous")), d1);
    CHECK_STR_EQ(json_string_value(json_object_get(res, "gate")), "fail");
    CHECK_STR_EQ(json_string_value(json_object_get(
                     json_array_get(json_object_get(res, "new"), 0), "id")),
                 "CVE-2099-0100");
    CHECK_EQ(json_array_size(json_object_get(res, "fixed")), 2);
    strata_store_job_free(job);
    ev = events_of(&f, "rescan.regressed");
    CHECK_EQ(json_array_size(ev), 1);
    CHECK_EQ(
        json_integer_value(json_object_get(
            json_object_get(json_array_get(ev, 0), "payload"), "critical")),
        1);
    CHECK_STR_EQ(
        json_string_value(json_object_get(
            json_object_get(json_array_get(ev, 0), "payload"), "previous")),
        d1);
    json_decref(ev);
    ev = events_of(&f, "rescan.failed");
    CHECK_EQ(json_array_size(ev), 1);
    json_decref(ev);
    printf("ok %d - rescan_gate_fails\n", ++harness_count);

    /* 3. A new high finding only: the gate warns, the job succeeds. */
    d3 = push_image(&f, "three");
    write_text(f.current,
               "{\"SchemaVersion\": 2, \"Results\": [{\"Target\": \"x\", "
               "\"Vulnerabilities\": ["
               "{\"VulnerabilityID\": \"CVE-2099-0002\", \"PkgName\": "
               "\"zzlib\", \"Severity\": \"HIGH\"},"
               "{\"VulnerabilityID\": \"CVE-2099-0003\", \"PkgName\": "
               "\"toolbox\", \"Severity\": \"MEDIUM\"},"
               "{\"VulnerabilityID\": \"CVE-2099-0100\", \"PkgName\": "
               "\"netfetch\", \"Severity\": \"CRITICAL\"},"
               "{\"VulnerabilityID\": \"CVE-2099-0102\", \"PkgName\": "
               "\"netfetch\", \"Severity\": \"HIGH\"}]}]}");
    job = rescan(&f, 1);
    CHECK_EQ(job->state, STRATA_STORE_JOB_SUCCEEDED);
    CHECK_STR_EQ(json_string_value(json_object_get(job->result, "previous")),
                 d2);
    CHECK_STR_EQ(json_string_value(json_object_get(job->result, "gate")),
                 "warn");
    CHECK_CONTAINS(
        json_string_value(json_object_get(job->result, "gate_reason")),
        "1 new high finding: CVE-2099-0102 (netfetch)");
    strata_store_job_free(job);
    ev = events_of(&f, "rescan.regressed");
    CHECK_EQ(json_array_size(ev), 2);
    CHECK_EQ(json_integer_value(json_object_get(
                 json_object_get(json_array_get(ev, 1), "payload"), "high")),
             1);
    json_decref(ev);
    ev = events_of(&f, "rescan.succeeded");
    CHECK_EQ(json_array_size(ev), 2);
    json_decref(ev);
    printf("ok %d - rescan_gate_warns\n", ++harness_count);

    /* 4. The scanner fails: the job fails with its status and stderr. */
    CHECK_EQ(unlink(f.current), 0);
    snprintf(path, sizeof(path), "%s.exit", f.current);
    write_text(path, "3\n");
    job = rescan(&f, 1);
    CHECK_EQ(job->state, STRATA_STORE_JOB_FAILED);
    CHECK_CONTAINS(job->last_error, "scanner 'default' exited with status 3: "
                                    "fake-scanner: scanning");
    strata_store_job_free(job);
    CHECK_EQ(unlink(path), 0);

    /* 5. Garbage on stdout: a clear error, nothing recorded. */
    copy_file(FIXTURE("truncated.json"), f.current);
    job = rescan(&f, 1);
    CHECK_EQ(job->state, STRATA_STORE_JOB_FAILED);
    CHECK_CONTAINS(job->last_error, "report 'default output': invalid JSON");
    strata_store_job_free(job);
    {
        json_t *scans = NULL;

        CHECK_OK(strata_store_scans_list(&scans, f.store, f.image, 0, &err),
                 &err);
        CHECK_EQ(json_array_size(scans), 3);
        json_decref(scans);
    }
    printf("ok %d - rescan_scanner_errors\n", ++harness_count);

    free(d1);
    free(d2);
    free(d3);
    strata_runner_close(f.runner);
    strata_registry_close(f.client);
    CHECK_EQ(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
    CHECK_EQ(uv_loop_close(&f.loop), 0);
    strata_store_close(f.store);
    strata_config_free(f.config);
    harness_registry_stop(&f.reg);
    tmp_remove(&f.t);
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--integration") == 0) {
        integration();
        return harness_done();
    }
    RUN(severities_normalised);
    RUN(trivy_documented_format);
    RUN(grype_documented_format);
    RUN(sarif_trivy_tags_and_message);
    RUN(sarif_old_trivy_rule_ids);
    RUN(sarif_levels_and_scores);
    RUN(findings_json_round_trip);
    RUN(malformed_reports_are_errors);
    RUN(delta_between_digests);
    RUN(gate_pass_warn_fail);
    RUN(findings_per_digest_in_the_store);
    RUN(command_template);
    RUN(scanner_runs);
    RUN(cli_scan_report_and_diff);
    real_fixtures();
    return harness_done();
}
