/*
 * test-packages-registry.c - packages/ and `strata diff` against a real
 * registry (Debian's docker-registry, tests/registry/) holding a real
 * Debian base: a minbase root filesystem made here with mmdebstrap (or,
 * when mmdebstrap cannot run, a root filesystem with this machine's own
 * dpkg database), pushed as one gzip layer (v1), and again with a zstd
 * layer over it that installs a changed status (v2; made by
 * tests/packages/mkupdate.py, which says what it changed). The packages
 * read from the registry are cross-checked with `dpkg-query --admindir`
 * on the same status files; the diff is checked against what mkupdate.py
 * changed; the store keeps each digest, so a second diff reads no layer
 * (the test deletes the layer from the registry's storage to prove it).
 * `strata sbom` of the same base is validated against the CycloneDX 1.6
 * JSON schema and against the SPDX 2.3 JSON schema, then SPDX 2.3's
 * identifier rules (tests/packages/check-sbom.py), and each check is
 * shown to fail on a broken document.
 * mmdebstrap uses this machine's apt sources, or $DEBIAN_MIRROR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness-exec.h"
#include "harness-registry.h"
#include "harness.h"
#include "packages.h"
#include "store.h"

static char work[] = "/tmp/strata-test-pkgreg-XXXXXX";
static harness_registry reg;
static json_t *v1, *v2, *multi, *changed;
static char ref1[512], ref2[512], cfg[256], fresh_cfg[256];

static void
stop_all(void)
{
    harness_registry_stop(&reg);
}

static const char *
jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_t *
seed(const char *spec)
{
    json_t *img = NULL;

    CHECK_EQ(harness_registry_seed(&reg, spec, &img), 0);
    CHECK(img != NULL);
    return img;
}

/* Runs strata with args (NULL-terminated) in work. */
static void
strata(harness_run *r, ...)
{
    char *argv[16];
    const char *exe = getenv("STRATA_EXE");
    va_list ap;
    int n = 0;

    CHECK(exe != NULL);
    argv[n++] = (char *) exe;
    va_start(ap, r);
    while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    harness_exec(r, work, argv, 120, NULL, NULL);
}

/* "name\tversion\tarch\n" per installed package of admindir, sorted. */
static char *
dpkg_query(const char *admindir)
{
    char *cmd = strata_xasprintf(
        "dpkg-query --admindir=%s/%s -W -f "
        "'${Status}\\t${Package}\\t${Version}\\t${Architecture}\\n' | grep "
        "'^install ok installed' | cut -f2- | LC_ALL=C sort",
        work, admindir);
    char *out = harness_capture(cmd);

    CHECK(out != NULL);
    free(cmd);
    return out;
}

static char *
list_of(const strata_pkg_image *img)
{
    strata_buf b;
    size_t i;

    strata_buf_init(&b);
    for (i = 0; i < img->npkgs; i++)
        strata_buf_printf(&b, "%s\t%s\t%s\n", img->pkgs[i].name,
                          img->pkgs[i].version, img->pkgs[i].arch);
    return strata_buf_detach(&b);
}

static strata_pkg_image *
read_image(const char *s, const char *platform)
{
    strata_pkg_image *img = NULL;
    strata_ref *ref = NULL;
    strata_error err = {0};

    CHECK_OK(strata_ref_parse(&ref, s, &err), &err);
    CHECK_OK(strata_pkg_image_read_sync(&img, NULL, NULL, ref, platform, &err),
             &err);
    strata_ref_free(ref);
    return img;
}

/* ---- tests ----------------------------------------------------------------
 */

TEST(read_from_registry_matches_dpkg_query)
{
    strata_pkg_image *img = read_image(ref1, NULL);
    char *got = list_of(img), *want = dpkg_query("admin1");

    CHECK_STR_EQ(got, want);
    CHECK_STR_EQ(img->ecosystem, "dpkg");
    CHECK(img->os_pretty != NULL);
    printf("# v1: %zu packages, %s, %lld bytes compressed, %lld "
           "uncompressed\n",
           img->npkgs, img->os_pretty, (long long) img->compressed_size,
           (long long) img->uncompressed_size);
    CHECK(img->uncompressed_size > img->compressed_size);
    free(got);
    free(want);
    strata_pkg_image_free(img);
    img = read_image(ref2, "linux/amd64");
    got = list_of(img);
    want = dpkg_query("admin2");
    CHECK_STR_EQ(got, want);
    printf("# v2: %zu packages\n", img->npkgs);
    free(got);
    free(want);
    strata_pkg_image_free(img);
}

/*
 * Runs check-sbom.py KIND on text (docs/diff.schema.json for diff-json);
 * returns its exit status.
 */
static int
check_json(const char *kind, const char *text)
{
    char *path = strata_xasprintf("%s/sbom-%s.json", work, kind);
    char *cmd = strata_xasprintf("/usr/bin/python3 %s %s %s %s > %s.out 2>&1",
                                 STRATA_TEST_CHECK_SBOM, kind, path,
                                 STRATA_TEST_DIFF_SCHEMA, path);
    char *out = NULL, *line, *save = NULL, *outp;
    strata_error err = {0};
    FILE *f = fopen(path, "w");
    int rc;

    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
    rc = system(cmd);
    outp = strata_xasprintf("%s.out", path);
    CHECK_OK(strata_read_file(&out, NULL, outp, 0, &err), &err);
    /* The first problems, as TAP diagnostics. */
    for (line = strtok_r(out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
        printf("# check-sbom %s: %.200s\n", kind, line);
    free(out);
    free(outp);
    free(cmd);
    free(path);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static size_t
count_of(const json_t *changes, const char *kind, const char *name)
{
    size_t i, n = 0;

    for (i = 0; i < json_array_size(changes); i++) {
        const json_t *c = json_array_get(changes, i);

        if (strcmp(jstr(c, "change"), kind) == 0 &&
            (name == NULL || strcmp(jstr(c, "name"), name) == 0))
            n++;
    }
    return n;
}

TEST(diff_json_says_what_changed)
{
    harness_run r;
    json_t *j, *changes, *counts;
    static const char *const kinds[] = {"upgraded", "downgraded", "removed",
                                        "added"};
    size_t k, i;

    strata(&r, "-c", cfg, "diff", ref1, ref2, "--format", "json", NULL);
    if (r.status != 0)
        printf("# %s", r.err);
    CHECK_EQ(r.status, 0);
    printf("# diff of two bases (%s): %.2f s, peak RSS %ld KiB\n",
           jstr(changed, "source"), r.seconds, r.maxrss_kb);
    CHECK_EQ(check_json("diff-json", r.out), 0);
    j = json_loads(r.out, 0, NULL);
    CHECK(j != NULL);
    changes = json_object_get(j, "changes");
    counts = json_object_get(j, "counts");
    for (k = 0; k < 4; k++) {
        const json_t *names = json_object_get(changed, kinds[k]);

        CHECK_EQ(json_integer_value(json_object_get(counts, kinds[k])),
                 json_array_size(names));
        for (i = 0; i < json_array_size(names); i++)
            CHECK_EQ(count_of(changes, kinds[k],
                              json_string_value(json_array_get(names, i))),
                     1);
    }
    CHECK(json_is_true(json_object_get(j, "major")) ==
          (json_array_size(json_object_get(changed, "major")) > 0));
    CHECK(json_is_false(json_object_get(j, "release_changed")));
    /* The new layer: 256 KiB of incompressible data, and the new status. */
    CHECK(json_integer_value(
              json_object_get(json_object_get(j, "new"), "uncompressed_size")) -
              json_integer_value(json_object_get(json_object_get(j, "old"),
                                                 "uncompressed_size")) >
          256 * 1024);
    CHECK(json_integer_value(
              json_object_get(json_object_get(j, "new"), "compressed_size")) >
          json_integer_value(
              json_object_get(json_object_get(j, "old"), "compressed_size")));
    json_decref(j);
    harness_run_release(&r);
}

TEST(diff_md_and_text)
{
    harness_run r;
    char *line, *save = NULL;

    strata(&r, "-c", cfg, "diff", ref1, ref2, "--format", "md", NULL);
    CHECK_EQ(r.status, 0);
    CHECK_CONTAINS(r.out, "**What changed in the base**");
    CHECK_CONTAINS(r.out, "| Package | Change | Old | New | |");
    CHECK_CONTAINS(r.out, "<details><summary>All 5 changes</summary>");
    if (json_array_size(json_object_get(changed, "major")) > 0)
        CHECK_CONTAINS(r.out, "| libc6 | upgraded |");
    for (line = strtok_r(r.out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
        printf("#md %s\n", line);
    harness_run_release(&r);
    strata(&r, "-c", cfg, "diff", ref1, ref2, NULL);
    CHECK_EQ(r.status, 0);
    CHECK_CONTAINS(r.out, "added      strata-test-pkg:all 1.0-1\n");
    CHECK_CONTAINS(r.out, "downgraded sed:amd64 ");
    harness_run_release(&r);
}

/*
 * Writes a Trivy report to path, shaped as the real one of debian:buster
 * (tests/scanners/upstream/trivy-debian-buster.json): its first entry
 * copied once per row {id, pkg, version, SEVERITY}.
 */
static void
write_report(const char *path, const char *(*rows)[4], size_t n)
{
    json_error_t je;
    json_t *doc = json_load_file(
        STRATA_TEST_SCANNERS "/upstream/trivy-debian-buster.json", 0, &je);
    json_t *res, *list = json_array();
    size_t i;

    CHECK(doc != NULL);
    res = json_array_get(json_object_get(doc, "Results"), 0);
    for (i = 0; i < n; i++) {
        json_t *v = json_deep_copy(
            json_array_get(json_object_get(res, "Vulnerabilities"), 0));

        json_object_set_new(v, "VulnerabilityID", json_string(rows[i][0]));
        json_object_set_new(v, "PkgName", json_string(rows[i][1]));
        json_object_set_new(v, "InstalledVersion", json_string(rows[i][2]));
        json_object_del(v, "FixedVersion");
        json_object_set_new(v, "Severity", json_string(rows[i][3]));
        json_array_append_new(list, v);
    }
    json_object_set_new(res, "Vulnerabilities", list);
    CHECK_EQ(json_dump_file(doc, path, JSON_INDENT(2)), 0);
    json_decref(doc);
}

/* The first change of kind in a diff's JSON changes. */
static const json_t *
first_of(const json_t *changes, const char *kind)
{
    size_t i;

    for (i = 0; i < json_array_size(changes); i++)
        if (strcmp(jstr(json_array_get(changes, i), "change"), kind) == 0)
            return json_array_get(changes, i);
    return NULL;
}

/*
 * With the findings of both digests in the state database (recorded as a
 * rescan records them: `strata scan report --image --digest`), strata
 * diff links them: text, md and json (valid against the schema).
 */
TEST(diff_links_the_findings_the_store_has)
{
    harness_run r;
    json_t *j, *first, *changes, *vulns;
    const json_t *up, *rm, *c;
    char tagged1[600], tagged2[600], image[300], old_path[600], new_path[600];
    const char *old_rows[2][4], *new_rows[2][4];

    strata(&r, "-c", cfg, "diff", ref1, ref2, "--format", "json", NULL);
    CHECK_EQ(r.status, 0);
    j = json_loads(r.out, 0, NULL);
    harness_run_release(&r);
    changes = json_object_get(j, "changes");
    CHECK((up = first_of(changes, "upgraded")) != NULL);
    CHECK((rm = first_of(changes, "removed")) != NULL);
    old_rows[0][0] = "CVE-2019-18224";
    old_rows[0][1] = jstr(up, "name");
    old_rows[0][2] = jstr(up, "old_version");
    old_rows[0][3] = "CRITICAL";
    old_rows[1][0] = "CVE-2019-18276";
    old_rows[1][1] = jstr(rm, "name");
    old_rows[1][2] = jstr(rm, "old_version");
    old_rows[1][3] = "LOW";
    new_rows[0][0] = "CVE-2024-28085";
    new_rows[0][1] = "strata-test-pkg";
    new_rows[0][2] = "1.0-1";
    new_rows[0][3] = "HIGH";
    snprintf(old_path, sizeof(old_path), "%s/trivy-v1.json", work);
    snprintf(new_path, sizeof(new_path), "%s/trivy-v2.json", work);
    write_report(old_path, old_rows, 2);
    write_report(new_path, new_rows, 1);
    snprintf(image, sizeof(image), "%s/library/debian:v2", reg.host);
    snprintf(tagged1, sizeof(tagged1), "%s@%s", image, jstr(v1, "digest"));
    snprintf(tagged2, sizeof(tagged2), "%s@%s", image, jstr(v2, "digest"));
    strata(&r, "-c", cfg, "scan", "report", old_path, "--image", image,
           "--digest", jstr(v1, "digest"), NULL);
    CHECK_EQ(r.status, 0);
    harness_run_release(&r);
    /* Only one digest scanned: nothing linked yet. */
    strata(&r, "-c", cfg, "diff", tagged1, tagged2, "--format", "json", NULL);
    CHECK_EQ(r.status, 0);
    CHECK_CONTAINS(r.out, "\"vulnerabilities\": null");
    harness_run_release(&r);
    strata(&r, "-c", cfg, "scan", "report", new_path, "--image", image,
           "--digest", jstr(v2, "digest"), NULL);
    CHECK(r.status == 0 || r.status == 1); /* the gate may warn or fail */
    harness_run_release(&r);
    first = j; /* the rows point into it */

    strata(&r, "-c", cfg, "diff", tagged1, tagged2, "--format", "json", NULL);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(check_json("diff-json", r.out), 0);
    j = json_loads(r.out, 0, NULL);
    harness_run_release(&r);
    vulns = json_object_get(j, "vulnerabilities");
    CHECK_EQ(json_integer_value(json_object_get(vulns, "fixed")), 2);
    CHECK_EQ(json_integer_value(json_object_get(vulns, "new")), 1);
    CHECK_EQ(json_integer_value(json_object_get(
                 json_object_get(vulns, "fixed_by_severity"), "critical")),
             1);
    changes = json_object_get(j, "changes");
    /* The critical fix first, then the low one, then the new finding. */
    c = json_array_get(changes, 0);
    CHECK_STR_EQ(jstr(c, "name"), old_rows[0][1]);
    CHECK_STR_EQ(jstr(json_array_get(json_object_get(c, "fixes"), 0), "id"),
                 "CVE-2019-18224");
    c = json_array_get(changes, 1);
    CHECK_STR_EQ(jstr(c, "name"), old_rows[1][1]);
    CHECK_STR_EQ(jstr(c, "change"), "removed");
    c = json_array_get(changes, 2);
    CHECK_STR_EQ(jstr(c, "name"), "strata-test-pkg");
    CHECK_STR_EQ(
        jstr(json_array_get(json_object_get(c, "brings"), 0), "severity"),
        "high");
    json_decref(j);
    strata(&r, "-c", cfg, "diff", tagged1, tagged2, NULL);
    CHECK_EQ(r.status, 0);
    CHECK_CONTAINS(r.out, ", 2 CVEs fixed (1 critical), 1 new CVE (1 high), ");
    CHECK_CONTAINS(r.out, "           fixes CVE-2019-18224 (critical)\n");
    CHECK_CONTAINS(r.out, "added      strata-test-pkg:all 1.0-1\n"
                          "           brings CVE-2024-28085 (high)\n");
    harness_run_release(&r);
    strata(&r, "-c", cfg, "diff", tagged1, tagged2, "--format", "md", NULL);
    CHECK_EQ(r.status, 0);
    CHECK_CONTAINS(r.out, "| Package | Change | Old | New | | Security |\n");
    CHECK_CONTAINS(r.out, " | fixes CVE-2019-18224 (critical) |\n");
    harness_run_release(&r);
    json_decref(first);
}

/* The manifest digest the multi-arch image has for platform. */
static const char *
platform_digest(const char *platform)
{
    const json_t *ms = json_object_get(multi, "manifests");
    size_t i;

    for (i = 0; i < json_array_size(ms); i++)
        if (strcmp(jstr(json_array_get(ms, i), "platform"), platform) == 0)
            return jstr(json_array_get(ms, i), "digest");
    return NULL;
}

TEST(multi_arch_picks_the_platform)
{
    harness_run r;
    char ref[512];
    strata_pkg_image *img;

    snprintf(ref, sizeof(ref), "%s/library/debian:multi", reg.host);
    img = read_image(ref, "linux/arm64");
    CHECK_EQ(img->npkgs, 1);
    CHECK_STR_EQ(img->pkgs[0].name, "plat");
    CHECK_STR_EQ(img->platform, "linux/arm64");
    CHECK_STR_EQ(img->digest, platform_digest("linux/arm64"));
    strata_pkg_image_free(img);
    img = read_image(ref, NULL);
    CHECK_STR_EQ(img->digest, platform_digest("linux/amd64"));
    strata_pkg_image_free(img);
    strata(&r, "-c", cfg, "diff", ref, ref, "--platform", "linux/s390x", NULL);
    CHECK_EQ(r.status, 1);
    CHECK_CONTAINS(r.err, "has no image for platform 'linux/s390x'");
    harness_run_release(&r);
    strata(&r, "-c", cfg, "diff", ref, "not a ref", NULL);
    CHECK_EQ(r.status, 2);
    harness_run_release(&r);
    /* Read by the index's digest, it is kept under that digest too (the
     * stale report looks bases up by the digest a Dockerfile pins). */
    {
        strata_store *st = NULL;
        strata_ref *pr = NULL;
        strata_error err = {0};
        char db[600], *body = NULL;

        snprintf(db, sizeof(db), "%s/alias.db", work);
        snprintf(ref, sizeof(ref), "%s/library/debian@%s", reg.host,
                 jstr(multi, "digest"));
        CHECK_OK(strata_store_open(&st, db, &err), &err);
        CHECK_OK(strata_ref_parse(&pr, ref, &err), &err);
        CHECK_EQ(strata_store_pkgdb_get(&body, st, jstr(multi, "digest"),
                                        "linux/arm64", NULL),
                 STRATA_ENOTFOUND);
        CHECK_OK(
            strata_pkg_image_read_sync(&img, st, NULL, pr, "linux/arm64", &err),
            &err);
        strata_pkg_image_free(img);
        CHECK_OK(strata_store_pkgdb_get(&body, st, jstr(multi, "digest"),
                                        "linux/arm64", &err),
                 &err);
        CHECK_CONTAINS(body, "\"plat\"");
        free(body);
        CHECK_OK(strata_store_pkgdb_get(&body, st,
                                        platform_digest("linux/arm64"),
                                        "linux/arm64", &err),
                 &err);
        free(body);
        strata_ref_free(pr);
        strata_store_close(st);
    }
}

/* library/debian:TAG for amd64 and arm64, each its own dpkg status. */
static json_t *
seed_two_platforms(const char *tag, const char *amd64, const char *arm64)
{
    json_t *spec = json_pack(
        "{s:s, s:s, s:[s, s], s:[{s:{s:s}, s:{s:{s:s}, s:{s:s}}}]}", "name",
        "library/debian", "tag", tag, "platforms", "linux/amd64", "linux/arm64",
        "layers", "files", "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"
        "VERSION_ID=\"12\"\n",
        "platform_files", "linux/amd64", "var/lib/dpkg/status", amd64,
        "linux/arm64", "var/lib/dpkg/status", arm64);
    char *text = json_dumps(spec, JSON_COMPACT);
    json_t *img = seed(text);

    free(text);
    json_decref(spec);
    return img;
}

#define STANZA(name, arch, version)                                            \
    "Package: " name "\nStatus: install ok installed\nArchitecture: " arch     \
    "\nVersion: " version "\n\n"

/*
 * A watched multi-arch base whose arm64 update differs from amd64's:
 * without --platform, strata diff reads each platform the watch lists
 * (json: one diff per platform, schema-valid; text: a section each);
 * --platform still picks one; a base watched without platforms reads
 * linux/amd64 alone.
 */
TEST(diff_reads_each_platform_the_watch_lists)
{
    json_t *m1 = seed_two_platforms(
        "arch-1",
        STANZA("libc6", "amd64", "2.36-9") STANZA("bash", "amd64", "5.2.15-2"),
        STANZA("libc6", "arm64", "2.36-9") STANZA("bash", "arm64", "5.2.15-2"));
    json_t *m2 = seed_two_platforms("arch-2",
                                    STANZA("libc6", "amd64", "2.36-9+deb12u4")
                                        STANZA("bash", "amd64", "5.2.15-2"),
                                    STANZA("libc6", "arm64", "2.36-9")
                                        STANZA("bash", "arm64", "5.2.15-3"));
    char yaml[300], r1[600], r2[600];
    harness_run r;
    json_t *j, *p;
    FILE *f;

    snprintf(yaml, sizeof(yaml), "%s/multi.yaml", work);
    f = fopen(yaml, "w");
    CHECK(f != NULL);
    fprintf(f,
            "state: %s/multi.db\nwatch:\n  bases:\n"
            "    - ref: %s/library/debian:arch-2\n"
            "      platforms: [linux/amd64, linux/arm64]\n",
            work, reg.host);
    fclose(f);
    snprintf(r1, sizeof(r1), "%s/library/debian:arch-2@%s", reg.host,
             jstr(m1, "digest"));
    snprintf(r2, sizeof(r2), "%s/library/debian:arch-2@%s", reg.host,
             jstr(m2, "digest"));
    strata(&r, "-c", yaml, "diff", r1, r2, "--format", "json", NULL);
    if (r.status != 0)
        printf("# %s", r.err);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(check_json("diff-json", r.out), 0);
    j = json_loads(r.out, 0, NULL);
    CHECK(j != NULL);
    harness_run_release(&r);
    CHECK(json_is_false(json_object_get(j, "same")));
    p = json_object_get(j, "platforms");
    CHECK_EQ(json_array_size(p), 2);
    CHECK_STR_EQ(jstr(json_array_get(p, 0), "platform"), "linux/amd64");
    CHECK_STR_EQ(
        jstr(json_array_get(
                 json_object_get(json_object_get(json_array_get(p, 0), "diff"),
                                 "changes"),
                 0),
             "name"),
        "libc6");
    CHECK_STR_EQ(
        jstr(json_array_get(
                 json_object_get(json_object_get(json_array_get(p, 1), "diff"),
                                 "changes"),
                 0),
             "name"),
        "bash");
    json_decref(j);
    strata(&r, "-c", yaml, "diff", r1, r2, NULL);
    CHECK_EQ(r.status, 0);
    CHECK_CONTAINS(r.out, "platform linux/amd64\n");
    CHECK_CONTAINS(r.out, "\nplatform linux/arm64\n");
    CHECK_CONTAINS(strstr(r.out, "platform linux/arm64"),
                   "upgraded   bash:arm64 5.2.15-2 -> 5.2.15-3\n");
    harness_run_release(&r);
    strata(&r, "-c", yaml, "diff", r1, r2, "--platform", "linux/arm64",
           "--format", "json", NULL);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(check_json("diff-json", r.out), 0);
    CHECK(strstr(r.out, "\"platforms\"") == NULL);
    CHECK_CONTAINS(r.out, "\"name\": \"bash\"");
    harness_run_release(&r);
    /* Not watched with platforms: linux/amd64 alone, as before. */
    strata(&r, "-c", cfg, "diff", r1, r2, "--format", "json", NULL);
    CHECK_EQ(r.status, 0);
    CHECK(strstr(r.out, "\"platforms\"") == NULL);
    CHECK_CONTAINS(r.out, "\"name\": \"libc6\"");
    harness_run_release(&r);
    json_decref(m1);
    json_decref(m2);
}

/* `strata diff BASE`: the last update the store recorded for a watch. */
TEST(diff_of_a_watched_base_s_last_update)
{
    harness_run r, two;
    strata_store *st = NULL;
    strata_error err = {0};
    strata_store_observation obs = {0};
    char db[300], watched[300], other[300];

    snprintf(db, sizeof(db), "%s/strata.db", work);
    snprintf(watched, sizeof(watched), "%s/library/debian:stable", reg.host);
    snprintf(other, sizeof(other), "%s/library/debian:other", reg.host);
    CHECK_OK(strata_store_open(&st, db, &err), &err);
    CHECK_OK(strata_store_watch_add(NULL, st, watched, NULL, &err), &err);
    obs.ref = watched;
    obs.digest = jstr(v1, "digest");
    CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
    strata_store_close(st);
    strata(&r, "-c", cfg, "diff", watched, NULL);
    CHECK_EQ(r.status, 1);
    CHECK_CONTAINS(r.err, "(1 digest seen): watch it, or give two digests");
    harness_run_release(&r);

    CHECK_OK(strata_store_open(&st, db, &err), &err);
    obs.digest = jstr(v2, "digest");
    CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
    strata_store_close(st);
    strata(&r, "-c", cfg, "diff", watched, "--format", "json", NULL);
    if (r.status != 0)
        printf("# %s", r.err);
    CHECK_EQ(r.status, 0);
    strata(&two, "-c", cfg, "diff", ref1, ref2, "--format", "json", NULL);
    CHECK_EQ(two.status, 0);
    CHECK_STR_EQ(r.out, two.out);
    harness_run_release(&r);
    harness_run_release(&two);
    strata(&r, "-c", cfg, "diff", other, NULL);
    CHECK_EQ(r.status, 1);
    CHECK_CONTAINS(r.err, "no update of '");
    CHECK_CONTAINS(r.err, "(0 digests seen)");
    harness_run_release(&r);
}

/* A layer that is not what it claims, served by a real registry. */
TEST(a_bad_layer_is_a_clear_error)
{
    harness_run r;
    char spec[1024], ref[512], *cmd;
    json_t *bad;
    const char *layer;

    /* Half of the base's gzip layer: a valid blob, a truncated stream. */
    cmd = strata_xasprintf("head -c 1000000 %s/l1.tar.gz > %s/half.tar.gz",
                           work, work);
    harness_sh("%s", cmd);
    free(cmd);
    snprintf(spec, sizeof(spec),
             "{\"name\":\"library/broken\",\"tag\":\"1\",\"layers\":"
             "[{\"blob_file\":\"%s/half.tar.gz\"}]}",
             work);
    bad = seed(spec);
    layer = json_string_value(json_array_get(
        json_object_get(json_array_get(json_object_get(bad, "manifests"), 0),
                        "layers"),
        0));
    snprintf(ref, sizeof(ref), "%s/library/broken:1", reg.host);
    strata(&r, "-c", fresh_cfg, "diff", ref1, ref, NULL);
    CHECK_EQ(r.status, 1);
    CHECK_CONTAINS(r.err, "cannot read layer '");
    CHECK_CONTAINS(r.err, layer);
    CHECK_CONTAINS(r.err, "truncated");
    printf("# %s", r.err);
    harness_run_release(&r);
    json_decref(bad);
}

/* The base layer's blob file in the registry's own storage. */
static char *
blob_path(const char *digest)
{
    return strata_xasprintf("%s/data/docker/registry/v2/blobs/sha256/%.2s/%s/"
                            "data",
                            reg.dir, digest + 7, digest + 7);
}

/* The component or package of doc named name (borrowed). */
static const json_t *
find_named(const json_t *list, const char *name)
{
    size_t i;

    for (i = 0; i < json_array_size(list); i++)
        if (strcmp(jstr(json_array_get(list, i), "name"), name) == 0)
            return json_array_get(list, i);
    return NULL;
}

TEST(sbom_cyclonedx_and_spdx)
{
    harness_run r;
    json_t *doc;
    const json_t *bash;
    strata_pkg_image *img = read_image(ref1, NULL);
    char *broken, *purl;
    size_t i;

    for (i = 0; i < img->npkgs && strcmp(img->pkgs[i].name, "bash"); i++)
        ;
    CHECK(i < img->npkgs);
    purl = strata_pkg_purl(img, &img->pkgs[i]);
    printf("# bash: %s\n", purl);
    CHECK(strncmp(purl, "pkg:deb/debian/bash@", 20) == 0);
    CHECK(strstr(purl, "?arch=amd64&distro=debian-12") != NULL);
    CHECK(strchr(purl, '+') == NULL);

    strata(&r, "-c", cfg, "sbom", ref1, "--format", "cyclonedx-json", NULL);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(check_json("cyclonedx-json", r.out), 0);
    doc = json_loads(r.out, 0, NULL);
    CHECK(doc != NULL);
    CHECK_EQ(json_array_size(json_object_get(doc, "components")),
             img->npkgs + 1);
    bash = find_named(json_object_get(doc, "components"), "bash");
    CHECK(bash != NULL);
    CHECK_STR_EQ(jstr(bash, "purl"), purl);
    /* The schema check can fail: a component without its type. */
    json_object_del((json_t *) bash, "type");
    broken = json_dumps(doc, 0);
    CHECK_EQ(check_json("cyclonedx-json", broken), 1);
    free(broken);
    json_decref(doc);
    harness_run_release(&r);

    strata(&r, "-c", cfg, "sbom", ref1, "--format", "spdx-json", NULL);
    CHECK_EQ(r.status, 0);
    CHECK_EQ(check_json("spdx-json", r.out), 0);
    doc = json_loads(r.out, 0, NULL);
    CHECK(doc != NULL);
    CHECK_EQ(json_array_size(json_object_get(doc, "packages")), img->npkgs + 1);
    CHECK_EQ(json_array_size(json_object_get(doc, "relationships")),
             img->npkgs + 1);
    json_object_set_new(doc, "dataLicense", json_string("MIT"));
    broken = json_dumps(doc, 0);
    CHECK_EQ(check_json("spdx-json", broken), 1);
    free(broken);
    json_decref(doc);
    harness_run_release(&r);

    strata(&r, "-c", cfg, "sbom", ref1, NULL);
    CHECK_EQ(r.status, 2);
    CHECK_CONTAINS(r.err, "expects --format");
    harness_run_release(&r);
    free(purl);
    strata_pkg_image_free(img);
}

/* GET of url on the registry (curl), parsed as JSON; NULL if it is not. */
static json_t *
get_json(const char *path, const char *accept)
{
    char *cmd = strata_xasprintf("curl -sf -H 'Accept: %s' 'http://%s%s'",
                                 accept, reg.host, path);
    char *out = harness_capture(cmd);
    json_t *j = out != NULL ? json_loads(out, 0, NULL) : NULL;

    free(cmd);
    free(out);
    return j;
}

/* The referrer digest `strata sbom --attach` printed on stderr. */
static char *
attached_digest(const char *err)
{
    const char *p = strstr(err, " as ");

    CHECK(p != NULL);
    p = strchr(p, '@');
    CHECK(p != NULL);
    return strndup(p + 1, 71);
}

/*
 * `strata sbom --attach`: the document becomes a referrer of the platform
 * manifest it describes (Debian's docker-registry 2.8 serves no referrers
 * API, so through the tag schema's index), a second one is added to the
 * index with the first kept, the layer is the exact document printed,
 * and the image's tag does not move.
 */
TEST(sbom_attached_as_a_referrer)
{
    harness_run r;
    strata_pkg_image *img;
    strata_error err = {0};
    strata_ref *ref = NULL;
    char tagref[600], path[400], *before = NULL, *after = NULL, *d1, *d2;
    json_t *idx, *m, *blob, *printed;
    const char *layer;

    snprintf(tagref, sizeof(tagref), "%s/library/debian:multi", reg.host);
    img = read_image(tagref, "linux/arm64");
    CHECK_OK(strata_ref_parse(&ref, tagref, &err), &err);
    CHECK_OK(strata_registry_digest_sync(&before, NULL, ref, NULL, &err), &err);

    strata(&r, "-c", cfg, "sbom", tagref, "--platform", "linux/arm64",
           "--format", "spdx-json", "--attach", NULL);
    CHECK_EQ(r.status, 0);
    CHECK_CONTAINS(r.err, "attached to ");
    CHECK_CONTAINS(r.err, img->digest);
    CHECK_EQ(check_json("spdx-json", r.out), 0);
    d1 = attached_digest(r.err);
    printed = json_loads(r.out, 0, NULL);
    harness_run_release(&r);
    snprintf(path, sizeof(path), "/v2/library/debian/manifests/sha256-%s",
             img->digest + 7);
    idx = get_json(path, "application/vnd.oci.image.index.v1+json");
    CHECK(idx != NULL);
    CHECK_EQ(json_array_size(json_object_get(idx, "manifests")), 1);
    m = json_array_get(json_object_get(idx, "manifests"), 0);
    CHECK_STR_EQ(jstr(m, "digest"), d1);
    CHECK_STR_EQ(jstr(m, "artifactType"), "application/spdx+json");
    json_decref(idx);

    /* The artifact: its subject, and its layer is the document printed. */
    snprintf(path, sizeof(path), "/v2/library/debian/manifests/%s", d1);
    m = get_json(path, "application/vnd.oci.image.manifest.v1+json");
    CHECK(m != NULL);
    CHECK_STR_EQ(jstr(json_object_get(m, "subject"), "digest"), img->digest);
    CHECK_STR_EQ(jstr(m, "artifactType"), "application/spdx+json");
    layer = jstr(json_array_get(json_object_get(m, "layers"), 0), "digest");
    snprintf(path, sizeof(path), "/v2/library/debian/blobs/%s", layer);
    blob = get_json(path, "*/*");
    CHECK(blob != NULL);
    CHECK(json_equal(blob, printed));
    json_decref(blob);
    json_decref(printed);
    json_decref(m);

    /* A second document joins the index; the first stays. */
    strata(&r, "-c", cfg, "sbom", tagref, "--platform", "linux/arm64",
           "--format", "cyclonedx-json", "--attach", NULL);
    CHECK_EQ(r.status, 0);
    d2 = attached_digest(r.err);
    harness_run_release(&r);
    snprintf(path, sizeof(path), "/v2/library/debian/manifests/sha256-%s",
             img->digest + 7);
    idx = get_json(path, "application/vnd.oci.image.index.v1+json");
    CHECK_EQ(json_array_size(json_object_get(idx, "manifests")), 2);
    CHECK_STR_EQ(
        jstr(json_array_get(json_object_get(idx, "manifests"), 0), "digest"),
        d1);
    m = json_array_get(json_object_get(idx, "manifests"), 1);
    CHECK_STR_EQ(jstr(m, "digest"), d2);
    CHECK_STR_EQ(jstr(m, "artifactType"), "application/vnd.cyclonedx+json");
    json_decref(idx);

    /* The tag still names the index it named. */
    CHECK_OK(strata_registry_digest_sync(&after, NULL, ref, NULL, &err), &err);
    CHECK_STR_EQ(after, before);
    free(before);
    free(after);
    free(d1);
    free(d2);
    strata_ref_free(ref);
    strata_pkg_image_free(img);
}

TEST(a_digest_is_read_once)
{
    harness_run r, again;
    const char *layer = json_string_value(json_array_get(
        json_object_get(json_array_get(json_object_get(v1, "manifests"), 0),
                        "layers"),
        0));
    char *path = blob_path(layer);

    strata(&r, "-c", cfg, "diff", ref1, ref2, "--format", "json", NULL);
    CHECK_EQ(r.status, 0);
    /* Without the base layer in the registry, only the store can answer. */
    CHECK_EQ(unlink(path), 0);
    strata(&again, "-c", cfg, "diff", ref1, ref2, "--format", "json", NULL);
    if (again.status != 0)
        printf("# %s", again.err);
    CHECK_EQ(again.status, 0);
    CHECK_STR_EQ(again.out, r.out);
    printf("# from the store, the layer gone: %.2f s (before: %.2f s)\n",
           again.seconds, r.seconds);
    harness_run_release(&again);
    /* A fresh store must read the layer, which is gone: a clear error. */
    strata(&again, "-c", fresh_cfg, "diff", ref1, ref2, NULL);
    CHECK_EQ(again.status, 1);
    CHECK_CONTAINS(again.err, layer);
    printf("# %s", again.err);
    harness_run_release(&again);
    /* A digest kept is content: with the registry gone, the store answers
       without a connection (a fleet's pull requests read it once). */
    harness_registry_stop(&reg);
    strata(&again, "-c", cfg, "diff", ref1, ref2, "--format", "json", NULL);
    if (again.status != 0)
        printf("# %s", again.err);
    CHECK_EQ(again.status, 0);
    CHECK_STR_EQ(again.out, r.out);
    harness_run_release(&again);
    harness_run_release(&r);
    free(path);
}

int
main(void)
{
    const char *why = harness_registry_missing(0);
    char *out, spec[2048];
    FILE *f;

    if (why != NULL)
        SKIP_ALL("%s", why);
    if (system("command -v dpkg-query >/dev/null && command -v zstd "
               ">/dev/null") != 0)
        SKIP_ALL("needs dpkg-query and zstd");
    CHECK(mkdtemp(work) != NULL);
    /* A real Debian 12 minbase, as debian:12-slim is made (no docs). */
    if (getuid() == 0 && system("command -v mmdebstrap >/dev/null") == 0) {
        char *cmd = strata_xasprintf(
            "timeout 300 mmdebstrap --variant=minbase --mode=root "
            "--format=tar --dpkgopt='path-exclude=/usr/share/doc/*' "
            "--dpkgopt='path-exclude=/usr/share/man/*' "
            "--dpkgopt='path-exclude=/usr/share/locale/*' "
            "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr bookworm "
            "%s/base.tar %s >%s/mmdebstrap.log 2>&1",
            work, getenv("DEBIAN_MIRROR") ? getenv("DEBIAN_MIRROR") : "", work);

        if (system(cmd) != 0) {
            printf("# mmdebstrap failed (see below): the base is this "
                   "machine's dpkg database\n");
            harness_sh("tail -3 %s/mmdebstrap.log | sed 's/^/# /'; rm -f "
                       "%s/base.tar",
                       work, work);
        }
        free(cmd);
    }
    out = strata_xasprintf("/usr/bin/python3 %s %s/base.tar %s",
                           STRATA_TEST_MKUPDATE, work, work);
    {
        char *o = harness_capture(out);

        CHECK(o != NULL);
        changed = json_loads(o, 0, NULL);
        CHECK(changed != NULL);
        free(o);
    }
    free(out);
    CHECK_EQ(harness_registry_start(&reg, NULL, NULL), 0);
    atexit(stop_all);
    snprintf(spec, sizeof(spec),
             "{\"name\":\"library/debian\",\"tag\":\"v1\",\"layers\":"
             "[{\"blob_file\":\"%s/l1.tar.gz\"}]}",
             work);
    v1 = seed(spec);
    snprintf(spec, sizeof(spec),
             "{\"name\":\"library/debian\",\"tag\":\"v2\",\"layers\":"
             "[{\"blob_file\":\"%s/l1.tar.gz\"},{\"blob_file\":"
             "\"%s/l2.tar.zst\"}]}",
             work, work);
    v2 = seed(spec);
    multi = seed("{\"name\":\"library/debian\",\"tag\":\"multi\","
                 "\"platforms\":[\"linux/amd64\",\"linux/arm64\"],"
                 "\"layers\":[{\"files\":{\"var/lib/dpkg/status\":"
                 "\"Package: plat\\nStatus: install ok installed\\n"
                 "Version: 1\\n\"}}]}");
    snprintf(ref1, sizeof(ref1), "%s/library/debian@%s", reg.host,
             jstr(v1, "digest"));
    snprintf(ref2, sizeof(ref2), "%s/library/debian@%s", reg.host,
             jstr(v2, "digest"));
    snprintf(cfg, sizeof(cfg), "%s/strata.yaml", work);
    f = fopen(cfg, "w");
    CHECK(f != NULL);
    fprintf(f, "state: %s/strata.db\n", work);
    fclose(f);
    snprintf(fresh_cfg, sizeof(fresh_cfg), "%s/fresh.yaml", work);
    f = fopen(fresh_cfg, "w");
    CHECK(f != NULL);
    fprintf(f, "state: %s/fresh.db\n", work);
    fclose(f);

    RUN(read_from_registry_matches_dpkg_query);
    RUN(diff_json_says_what_changed);
    RUN(diff_md_and_text);
    RUN(diff_links_the_findings_the_store_has);
    RUN(multi_arch_picks_the_platform);
    RUN(diff_reads_each_platform_the_watch_lists);
    RUN(diff_of_a_watched_base_s_last_update);
    RUN(sbom_cyclonedx_and_spdx);
    RUN(sbom_attached_as_a_referrer);
    RUN(a_bad_layer_is_a_clear_error);
    RUN(a_digest_is_read_once);
    json_decref(v1);
    json_decref(v2);
    json_decref(multi);
    json_decref(changed);
    harness_sh("rm -rf %s", work);
    return harness_done();
}
