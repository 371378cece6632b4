/*
 * test-packages.c - packages/ without a registry: the dpkg status parser
 * on this machine's own database, cross-checked with dpkg-query; dpkg's
 * version order against `dpkg --compare-versions` over every pair of a
 * table of versions; os-release; and layers read from files made by
 * tests/packages/mklayers.py: whiteouts, opaque directories, hard and
 * symbolic links, PAX long names, a database a later layer deletes, and
 * bad input (truncated gzip, corrupt zstd, a header declaring 1 TiB, a
 * status over the size limit, a malformed status), each a clear error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness-exec.h"
#include "harness.h"
#include "packages.h"
#include "scan.h"
#include "store.h"

static char tmpdir[] = "/tmp/strata-test-packages-XXXXXX";

/* ---- helpers ------------------------------------------------------------ */

typedef struct file_src {
    FILE *f;
    char buf[65536];
} file_src;

static int
read_file_cb(const void **data, size_t *len, void *arg, strata_error *err)
{
    file_src *s = arg;

    (void) err;
    *len = fread(s->buf, 1, sizeof(s->buf), s->f);
    *data = s->buf;
    return 0;
}

/* Applies tests' layer NAME over f. */
static int
apply(strata_pkg_files *f, const char *name, strata_error *err)
{
    char *path = strata_xasprintf("%s/%s", tmpdir, name);
    file_src s;
    int rc;

    s.f = fopen(path, "rb");
    CHECK(s.f != NULL);
    rc = strata_pkg_files_apply(f, name, read_file_cb, &s, NULL, err);
    fclose(s.f);
    free(path);
    return rc;
}

/* The image the named layers make, in order (NULL-terminated). */
static int
image_of(strata_pkg_image **out, strata_error *err, ...)
{
    strata_pkg_files *f = strata_pkg_files_new();
    const char *name;
    va_list ap;
    int rc = 0;

    *out = NULL;
    va_start(ap, err);
    while (rc == 0 && (name = va_arg(ap, const char *)) != NULL)
        rc = apply(f, name, err);
    va_end(ap);
    if (rc == 0)
        rc = strata_pkg_files_image(out, f, err);
    strata_pkg_files_free(f);
    return rc;
}

static char *
capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    strata_buf b;
    char chunk[4096];
    size_t n;

    CHECK(p != NULL);
    strata_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        strata_buf_add(&b, chunk, n);
    CHECK_EQ(pclose(p), 0);
    return strata_buf_detach(&b);
}

/* ---- dpkg status ----------------------------------------------------------
 */

/* The host's database, package for package, as dpkg-query lists it. */
TEST(dpkg_host_status_matches_dpkg_query)
{
    strata_pkg *pkgs = NULL;
    size_t n = 0, i;
    strata_error err = {0};
    char *data = NULL, *want;
    size_t len = 0;
    strata_buf got;

    CHECK_OK(strata_read_file(&data, &len, "/var/lib/dpkg/status", 0, &err),
             &err);
    CHECK_OK(strata_pkg_dpkg_parse(&pkgs, &n, "/var/lib/dpkg/status", data, len,
                                   &err),
             &err);
    CHECK(n > 50);
    strata_pkg_sort(pkgs, n);
    strata_buf_init(&got);
    for (i = 0; i < n; i++)
        strata_buf_printf(&got, "%s\t%s\t%s\n", pkgs[i].name, pkgs[i].version,
                          pkgs[i].arch);
    want = capture("dpkg-query --admindir=/var/lib/dpkg -W -f "
                   "'${Status}\\t${Package}\\t${Version}\\t${Architecture}\\n' "
                   "| grep '^install ok installed' | cut -f2- | LC_ALL=C sort");
    CHECK_STR_EQ(strata_buf_cstr(&got), want);
    printf("# %zu installed packages, as dpkg-query lists them\n", n);
    free(want);
    strata_buf_release(&got);
    strata_pkg_list_free(pkgs, n);
    free(data);
}

static void
parse_fails_n(const char *text, size_t len, const char *msg)
{
    strata_pkg *pkgs = NULL;
    size_t n = 0;
    strata_error err = {0};

    if (strata_pkg_dpkg_parse(&pkgs, &n, "/var/lib/dpkg/status", text, len,
                              &err) != STRATA_EPROTO)
        printf("# parsed: '%s'\n", text);
    CHECK_STR_EQ(err.msg, msg);
    strata_pkg_list_free(pkgs, n);
}

static void
parse_fails(const char *text, const char *msg)
{
    parse_fails_n(text, strlen(text), msg);
}

TEST(dpkg_malformed_status_names_file_and_line)
{
    strata_pkg *pkgs = NULL;
    size_t n = 0;
    strata_error err = {0};
    const char *ok = "Package: a\nStatus: install ok installed\n"
                     "Version: 1:2.0-1\nArchitecture: amd64\n"
                     "Source: a-src (1.0)\nDescription: x\n y\n\n\n"
                     "Package: b\nStatus: deinstall ok config-files\n"
                     "Version: 1\n";

    CHECK_OK(strata_pkg_dpkg_parse(&pkgs, &n, "s", ok, strlen(ok), &err), &err);
    CHECK_EQ(n, 1);
    CHECK_STR_EQ(pkgs[0].name, "a");
    CHECK_STR_EQ(pkgs[0].version, "1:2.0-1");
    CHECK_STR_EQ(pkgs[0].source, "a-src");
    strata_pkg_list_free(pkgs, n);
    parse_fails("Package: a\nStatus: install ok installed\ngarbage\n",
                "'/var/lib/dpkg/status':3: expected 'Field: value'");
    parse_fails("Package: a\n\n continued\n",
                "'/var/lib/dpkg/status':3: a continuation line outside a "
                "field");
    parse_fails("Status: install ok installed\nVersion: 1\n",
                "'/var/lib/dpkg/status':1: stanza without a 'Package' field");
    parse_fails("Package: a\nStatus: install ok installed\n",
                "'/var/lib/dpkg/status':1: installed package 'a' has no "
                "'Version' field");
    parse_fails("Package: a\nPackage: b\n",
                "'/var/lib/dpkg/status':2: field 'Package' given twice");
    parse_fails_n("Package: a\n\0x", 13,
                  "'/var/lib/dpkg/status': a NUL byte: not a status file");
}

/* ---- versions ----------------------------------------------------------- */

static const char *const versions[] = {
    "0",
    "1",
    "1.0",
    "1.00",
    "1.0~rc1",
    "1.0~~",
    "1.0~",
    "1.0-1",
    "1.0-1~bpo1",
    "1.0-0",
    "1.0a",
    "1.0+b1",
    "1.0.1",
    "1:0.9",
    "2:0",
    "1.0-1.1",
    "1.0-10",
    "1.0-9",
    "0a",
    "0~",
    "0~~a",
    "1.2.3-4",
    "1.2.3+dfsg-4",
    "2.36-9+deb12u4",
    "2.36-9+deb12u10",
    "3.0.11-1~deb12u2",
    "3.0.15-1~deb12u1",
    "1.0+really0.9",
    "10",
    "9.9",
    "0:1.0",
    "1.0-a",
    "1.0-A",
    "1.0-+",
    "1.0-.",
    "1.0-z~",
    "5.2.15-2+b7",
    "5.2.15-2+b10",
};

#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

TEST(dpkg_vercmp_matches_dpkg_compare_versions)
{
    char *script = strata_xasprintf("%s/pairs.txt", tmpdir);
    char *cmd;
    FILE *f = fopen(script, "w");
    char *out, *line, *save = NULL;
    size_t i, j, k = 0;

    CHECK(f != NULL);
    for (i = 0; i < NVERSIONS; i++)
        for (j = 0; j < NVERSIONS; j++)
            fprintf(f, "%s %s\n", versions[i], versions[j]);
    fclose(f);
    cmd = strata_xasprintf(
        "while read a b; do if dpkg --compare-versions \"$a\" lt \"$b\"; "
        "then echo -1; elif dpkg --compare-versions \"$a\" eq \"$b\"; then "
        "echo 0; else echo 1; fi; done < %s",
        script);
    out = capture(cmd);
    for (i = 0; i < NVERSIONS; i++)
        for (j = 0; j < NVERSIONS; j++) {
            int want, got;

            line = strtok_r(k == 0 ? out : NULL, "\n", &save);
            k++;
            CHECK(line != NULL);
            want = atoi(line);
            got = strata_pkg_dpkg_vercmp(versions[i], versions[j]);
            got = got < 0 ? -1 : got > 0;
            if (got != want)
                printf("# '%s' vs '%s': dpkg says %d, we say %d\n", versions[i],
                       versions[j], want, got);
            CHECK_EQ(got, want);
        }
    printf("# %zu pairs agree with dpkg --compare-versions\n", k);
    free(out);
    free(cmd);
    free(script);
}

/* Every version of this machine's database, each against the next. */
TEST(dpkg_vercmp_host_versions)
{
    char *out = capture("dpkg-query -W -f '${Version}\\n' | sort -u | head "
                        "-300");
    char *v[300], *save = NULL, *tok;
    size_t n = 0, i;
    FILE *f;
    char *pairs = strata_xasprintf("%s/host-pairs.txt", tmpdir), *cmd, *res;
    char *line, *save2 = NULL;

    for (tok = strtok_r(out, "\n", &save); tok != NULL && n < 300;
         tok = strtok_r(NULL, "\n", &save))
        v[n++] = tok;
    CHECK(n > 10);
    f = fopen(pairs, "w");
    for (i = 0; i + 1 < n; i++)
        fprintf(f, "%s %s\n", v[i], v[i + 1]);
    fclose(f);
    cmd = strata_xasprintf(
        "while read a b; do if dpkg --compare-versions \"$a\" lt \"$b\"; "
        "then echo -1; elif dpkg --compare-versions \"$a\" eq \"$b\"; then "
        "echo 0; else echo 1; fi; done < %s",
        pairs);
    res = capture(cmd);
    for (i = 0; i + 1 < n; i++) {
        int got = strata_pkg_dpkg_vercmp(v[i], v[i + 1]);

        line = strtok_r(i == 0 ? res : NULL, "\n", &save2);
        CHECK(line != NULL);
        got = got < 0 ? -1 : got > 0;
        if (got != atoi(line))
            printf("# '%s' vs '%s'\n", v[i], v[i + 1]);
        CHECK_EQ(got, atoi(line));
    }
    printf("# %zu pairs of this machine's versions agree\n", n - 1);
    free(res);
    free(cmd);
    free(pairs);
    free(out);
}

/* ---- os-release --------------------------------------------------------- */

TEST(os_release)
{
    strata_pkg_image img = {0};
    strata_error err = {0};
    char *data = NULL, *want;
    size_t len = 0;
    const char *q = "# comment\n\nID=alpine\nVERSION_ID=3.19.1\n"
                    "PRETTY_NAME=\"Alpine \\\"Linux\\\" v3.19\"\n"
                    "NAME='x y'\n";

    CHECK_OK(strata_read_file(&data, &len, "/etc/os-release", 0, &err), &err);
    CHECK_OK(
        strata_pkg_os_release_parse(&img, "/etc/os-release", data, len, &err),
        &err);
    want = capture(". /etc/os-release && printf '%s' \"$ID\"");
    CHECK_STR_EQ(img.os_id, want);
    free(want);
    want = capture(". /etc/os-release && printf '%s' \"$PRETTY_NAME\"");
    CHECK_STR_EQ(img.os_pretty, want);
    free(want);
    free(img.os_id);
    free(img.os_version_id);
    free(img.os_pretty);
    memset(&img, 0, sizeof(img));
    CHECK_OK(strata_pkg_os_release_parse(&img, "o", q, strlen(q), &err), &err);
    CHECK_STR_EQ(img.os_id, "alpine");
    CHECK_STR_EQ(img.os_version_id, "3.19.1");
    CHECK_STR_EQ(img.os_pretty, "Alpine \"Linux\" v3.19");
    free(img.os_id);
    free(img.os_version_id);
    free(img.os_pretty);
    memset(&img, 0, sizeof(img));
    CHECK(strata_pkg_os_release_parse(&img, "/etc/os-release", "ID=x\nBAD\n", 9,
                                      &err) == STRATA_EPROTO);
    CHECK_STR_EQ(err.msg, "'/etc/os-release':2: expected KEY=VALUE");
    CHECK(strata_pkg_os_release_parse(&img, "/etc/os-release", "ID=\"x\n", 6,
                                      &err) == STRATA_EPROTO);
    CHECK_STR_EQ(err.msg, "'/etc/os-release':1: unterminated quote");
    free(img.os_id);
    free(data);
}

/* ---- layers ---------------------------------------------------------------
 */

static void
check_pkg(const strata_pkg_image *img, size_t i, const char *name,
          const char *version, const char *arch)
{
    CHECK(i < img->npkgs);
    CHECK_STR_EQ(img->pkgs[i].name, name);
    CHECK_STR_EQ(img->pkgs[i].version, version);
    CHECK_STR_EQ(img->pkgs[i].arch, arch);
}

TEST(layers_one_at_a_time)
{
    strata_pkg_image *img = NULL;
    strata_error err = {0};

    /* Layer 1: status, status.d (a PAX long name), os-release via a link. */
    CHECK_OK(image_of(&img, &err, "edge-1.tar.gz", NULL), &err);
    CHECK_STR_EQ(img->ecosystem, "dpkg");
    CHECK_STR_EQ(img->os_pretty, "Test Linux 1 (one)");
    CHECK_STR_EQ(img->os_version_id, "1");
    CHECK_EQ(img->npkgs, 4);
    check_pkg(img, 0, "a", "1.0", "amd64");
    check_pkg(img, 1, "b", "1.0", "amd64");
    check_pkg(img, 2, "e", "1.0", "amd64");
    check_pkg(img, 3, "longname", "1.0", "amd64");
    strata_pkg_image_free(img);
}

TEST(layers_whiteouts_opaque_dirs_and_links)
{
    strata_pkg_image *img = NULL;
    strata_error err = {0};

    /* Layer 2 (zstd) replaces the status and whites out the long name;
     * layer 3 (plain tar) makes status.d/ opaque and adds one file. */
    CHECK_OK(image_of(&img, &err, "edge-1.tar.gz", "edge-2.tar.zst", NULL),
             &err);
    CHECK_EQ(img->npkgs, 4);
    check_pkg(img, 0, "a", "2.0", "amd64");
    check_pkg(img, 2, "c", "1.0", "amd64");
    check_pkg(img, 3, "e", "1.0", "amd64");
    strata_pkg_image_free(img);
    CHECK_OK(image_of(&img, &err, "edge-1.tar.gz", "edge-2.tar.zst",
                      "edge-3.tar", NULL),
             &err);
    CHECK_EQ(img->npkgs, 4);
    check_pkg(img, 0, "a", "2.0", "amd64");
    check_pkg(img, 1, "b", "1.0", "amd64");
    check_pkg(img, 2, "c", "1.0", "amd64");
    check_pkg(img, 3, "d", "1.0", "all");
    /* etc/os-release is a file now, and usr/lib/os-release its hard link. */
    CHECK_STR_EQ(img->os_pretty, "Test Linux 2 (two)");
    CHECK_STR_EQ(img->os_version_id, "2");
    strata_pkg_image_free(img);
}

TEST(layers_database_deleted_by_a_later_layer)
{
    strata_pkg_image *img = NULL;
    strata_error err = {0};

    CHECK_OK(image_of(&img, &err, "gone-1.tar.gz", NULL), &err);
    CHECK_EQ(img->npkgs, 1);
    strata_pkg_image_free(img);
    CHECK_OK(image_of(&img, &err, "gone-1.tar.gz", "gone-2.tar.gz", NULL),
             &err);
    CHECK(img->ecosystem == NULL);
    CHECK_EQ(img->npkgs, 0);
    CHECK_STR_EQ(img->os_id, "testlinux");
    strata_pkg_image_free(img);
}

static void
bad_layer(const char *name, int code, const char *msg)
{
    strata_pkg_image *img = NULL;
    strata_error err = {0};
    int rc = image_of(&img, &err, name, NULL);

    if (rc != code)
        printf("# %s: rc %d (%s)\n", name, rc, err.msg);
    CHECK_EQ(rc, code);
    CHECK_CONTAINS(err.msg, msg);
    printf("# %s: %s\n", name, err.msg);
    CHECK(img == NULL);
}

TEST(layers_bad_input_is_a_clear_error)
{
    bad_layer("truncated.tar.gz", STRATA_EPROTO,
              "cannot read layer 'truncated.tar.gz': ");
    bad_layer("corrupt.tar.zst", STRATA_EPROTO,
              "cannot read layer 'corrupt.tar.zst': ");
    bad_layer("huge.tar", STRATA_EPROTO, "cannot read layer 'huge.tar': ");
    bad_layer("bigstatus.tar", STRATA_ETOOBIG,
              "'var/lib/dpkg/status' in layer 'bigstatus.tar' has 68157440 "
              "bytes, more than the 67108864 read");
    bad_layer("malformed.tar.gz", STRATA_EPROTO,
              "'/var/lib/dpkg/status':3: expected 'Field: value'");
    bad_layer("many.tar.gz", STRATA_ETOOBIG,
              "layer 'many.tar.gz': the package databases it leaves are over "
              "10000 files or 268435456 bytes");
    bad_layer("badlink.tar", STRATA_EPROTO,
              "hard link 'var/lib/dpkg/status' in layer 'badlink.tar' points "
              "to 'var/lib/dpkg/status-old', which is not a package database");
}

/* ---- apk ----------------------------------------------------------- */

TEST(apk_layer_and_database)
{
    strata_pkg_image *img = NULL;
    strata_pkg *pkgs = NULL;
    size_t n = 0;
    strata_error err = {0};
    const char *bad = "P:a\nV:1\n\nP:b\nbroken\n";

    CHECK_OK(image_of(&img, &err, "alpine-1.tar.gz", NULL), &err);
    CHECK_STR_EQ(img->ecosystem, "apk");
    CHECK_STR_EQ(img->os_pretty, "Alpine Linux v3.19");
    CHECK_EQ(img->npkgs, 3);
    check_pkg(img, 0, "alpine-baselayout-data", "3.4.3-r2", "x86_64");
    CHECK_STR_EQ(img->pkgs[0].source, "alpine-baselayout");
    check_pkg(img, 2, "musl", "1.2.4_git20230717-r4", "x86_64");
    strata_pkg_image_free(img);
    CHECK(strata_pkg_apk_parse(&pkgs, &n, "/lib/apk/db/installed", bad,
                               strlen(bad), &err) == STRATA_EPROTO);
    CHECK_STR_EQ(err.msg, "'/lib/apk/db/installed':5: expected 'K:value'");
    strata_pkg_list_free(pkgs, n);
    pkgs = NULL;
    n = 0;
    CHECK(strata_pkg_apk_parse(&pkgs, &n, "/lib/apk/db/installed",
                               "A:x86_64\nV:1\n", 13, &err) == STRATA_EPROTO);
    CHECK_STR_EQ(err.msg,
                 "'/lib/apk/db/installed':1: package without 'P:' or 'V:'");
    strata_pkg_list_free(pkgs, n);
    /* rpm's Berkeley DB: refused, naming the file. */
    CHECK(image_of(&img, &err, "rpm.tar", NULL) == STRATA_EINVAL);
    CHECK_STR_EQ(err.msg, "package database '/var/lib/rpm/Packages' is not "
                          "supported (rpm's sqlite database is; Berkeley DB "
                          "and ndb are not)");
}

/*
 * apk's order as apk-tools' version.c defines it, each pair "A < B" (no
 * apk binary on Debian to ask, so the pairs follow its rules: suffixes,
 * letters, revisions, leading zeros as fractions).
 */
static const char *const apk_less[][2] = {
    {"1.0", "1.0.1"},
    {"1.0", "1.1"},
    {"1.9", "1.10"},
    {"1.0_alpha", "1.0"},
    {"1.0_alpha", "1.0_beta"},
    {"1.0_beta2", "1.0_pre1"},
    {"1.0_pre1", "1.0_rc1"},
    {"1.0_rc1", "1.0"},
    {"1.0", "1.0_p1"},
    {"1.0_p1", "1.0_p2"},
    {"1.0_cvs1", "1.0_svn1"},
    {"1.0_git20230717", "1.0_hg1"},
    {"1.0", "1.0a"},
    {"1.0a", "1.0b"},
    {"1.0a", "1.0.1"},
    {"1.0-r0", "1.0-r1"},
    {"1.0-r9", "1.0-r10"},
    {"1.0", "1.0-r1"},
    {"1.0-r5", "1.0.1"},
    {"1.01", "1.1"},
    {"1.001", "1.01"},
    {"1.2.4_git20230717-r4", "1.2.5-r0"},
    {"3.0.12-r4", "3.0.13-r0"},
    {"1.36.1-r15", "1.36.1-r16"},
    {"2.10", "10.0"},
};

TEST(apk_vercmp_table)
{
    size_t i;

    for (i = 0; i < sizeof(apk_less) / sizeof(apk_less[0]); i++) {
        const char *a = apk_less[i][0], *b = apk_less[i][1];

        if (strata_pkg_apk_vercmp(a, b) >= 0 ||
            strata_pkg_apk_vercmp(b, a) <= 0)
            printf("# apk: '%s' < '%s' failed\n", a, b);
        CHECK(strata_pkg_apk_vercmp(a, b) < 0);
        CHECK(strata_pkg_apk_vercmp(b, a) > 0);
        CHECK_EQ(strata_pkg_apk_vercmp(a, a), 0);
    }
    printf("# %zu pairs in apk's order\n", i);
}

/* ---- rpm ----------------------------------------------------------- */

/* A real database from rpmbuild and rpm --justdb, as rpm -qa lists it. */
TEST(rpm_database_matches_rpm_qa)
{
    strata_pkg_image *img = NULL;
    strata_pkg *pkgs = NULL;
    size_t n = 0, i, len = 0;
    strata_error err = {0};
    char *want, *path, *data = NULL;
    strata_buf got;

    harness_sh("bash %s %s", STRATA_TEST_MKRPM, tmpdir);
    CHECK_OK(image_of(&img, &err, "rpm-1.tar.gz", NULL), &err);
    CHECK_STR_EQ(img->ecosystem, "rpm");
    CHECK_STR_EQ(img->os_pretty, "Fedora Linux 40 (Container Image)");
    strata_buf_init(&got);
    for (i = 0; i < img->npkgs; i++)
        strata_buf_printf(&got, "%s\t%s\t%s\n", img->pkgs[i].name,
                          img->pkgs[i].version, img->pkgs[i].arch);
    path = strata_xasprintf("%s/rpm-expected.txt", tmpdir);
    CHECK_OK(strata_read_file(&want, NULL, path, 0, &err), &err);
    CHECK_STR_EQ(strata_buf_cstr(&got), want);
    CHECK_EQ(img->npkgs, 3);
    CHECK_STR_EQ(img->pkgs[0].source, "strata-hello-1.2.3-4.fc40.src.rpm");
    free(want);
    free(path);
    strata_buf_release(&got);
    strata_pkg_image_free(img);

    /* A header cut short inside the database: an error naming the row. */
    harness_sh("cp %s/rpmdb/rpmdb.sqlite %s/bad.sqlite && sqlite3 "
               "%s/bad.sqlite \"PRAGMA journal_mode=DELETE; UPDATE Packages "
               "SET blob = substr(blob, 1, 40) WHERE hnum = 2\" >/dev/null",
               tmpdir, tmpdir, tmpdir);
    path = strata_xasprintf("%s/bad.sqlite", tmpdir);
    CHECK_OK(strata_read_file(&data, &len, path, 0, &err), &err);
    CHECK(strata_pkg_rpm_parse(&pkgs, &n, "/var/lib/rpm/rpmdb.sqlite", data,
                               len, &err) == STRATA_EPROTO);
    CHECK_CONTAINS(err.msg, "'/var/lib/rpm/rpmdb.sqlite': package 2: header "
                            "sizes (");
    printf("# %s\n", err.msg);
    strata_pkg_list_free(pkgs, n);
    pkgs = NULL;
    n = 0;
    /* Bytes that are no sqlite database at all. */
    CHECK(strata_pkg_rpm_parse(&pkgs, &n, "/var/lib/rpm/rpmdb.sqlite",
                               "SQLite format 3\0garbage garbage garbage", 40,
                               &err) == STRATA_EPROTO);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, "'/var/lib/rpm/rpmdb.sqlite': ");
    free(data);
    free(path);
}

static const char *const rpm_versions[] = {
    "1.0",
    "1.0.1",
    "1.0~rc1",
    "1.0~~",
    "1.0^git1",
    "1.0^",
    "1.0a",
    "1.0.a",
    "1.00",
    "1.01",
    "2",
    "10",
    "1:0.9",
    "0:1.0",
    "1.0-1",
    "1.0-2",
    "1.0-10",
    "1.0-1.fc40",
    "1.0-1.el9",
    "1.0-1~rc",
    "a",
    "b",
    "1.0_1",
    "1.0+1",
    "2.0~rc1-1.fc40",
    "2.0-0.1",
    "3.0.11-1.el9_2",
    "3.0.7-27.el9",
};

#define NRPM (sizeof(rpm_versions) / sizeof(rpm_versions[0]))

/*
 * rpm's own EVR order (rpm.ver objects of its Lua interface, rpm >= 4.17)
 * over every pair of the table.
 */
TEST(rpm_vercmp_matches_rpm)
{
    strata_buf lua;
    char *cmd, *out, *line, *save = NULL;
    size_t i, j, k = 0;

    strata_buf_init(&lua);
    strata_buf_puts(&lua, "%{lua: local v = {");
    for (i = 0; i < NRPM; i++)
        strata_buf_printf(&lua, "'%s',", rpm_versions[i]);
    strata_buf_puts(&lua, "}; for i = 1, #v do for j = 1, #v do "
                          "local x, y = rpm.ver(v[i]), rpm.ver(v[j]); "
                          "local r = 1; if x < y then r = -1 elseif x == y "
                          "then r = 0 end; print(r .. '\\n') end end}");
    cmd = strata_xasprintf("rpm --eval \"%s\"", strata_buf_cstr(&lua));
    out = capture(cmd);
    for (i = 0; i < NRPM; i++)
        for (j = 0; j < NRPM; j++) {
            int want, got;

            line = strtok_r(k++ == 0 ? out : NULL, "\n", &save);
            CHECK(line != NULL);
            want = atoi(line);
            got = strata_pkg_rpm_vercmp(rpm_versions[i], rpm_versions[j]);
            got = got < 0 ? -1 : got > 0;
            if (got != want)
                printf("# '%s' vs '%s': rpm says %d, we say %d\n",
                       rpm_versions[i], rpm_versions[j], want, got);
            CHECK_EQ(got, want);
        }
    printf("# %zu pairs agree with rpm's EVR order\n", k);
    free(out);
    free(cmd);
    strata_buf_release(&lua);
}

/* ---- the store ----------------------------------------------------- */

/* A digest's packages round-trip through the store, by primary key. */
TEST(store_keeps_a_digest_per_platform)
{
    strata_store *st = NULL;
    strata_pkg_image *img = NULL, *back = NULL;
    strata_error err = {0};
    char *path = strata_xasprintf("%s/store.db", tmpdir), *body = NULL;
    char *plan, *cmd;
    json_t *j, *j2;

    CHECK_OK(image_of(&img, &err, "edge-1.tar.gz", NULL), &err);
    img->digest = strata_xstrdup("sha256:0123");
    img->platform = strata_xstrdup("linux/amd64");
    CHECK_OK(strata_store_open(&st, path, &err), &err);
    CHECK(strata_store_pkgdb_get(&body, st, "sha256:0123", "linux/amd64",
                                 &err) == STRATA_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "no package database for 'sha256:0123' "
                            "(linux/amd64)");
    j = strata_pkg_image_to_json(img);
    body = json_dumps(j, JSON_COMPACT);
    CHECK_OK(
        strata_store_pkgdb_put(st, "sha256:0123", "linux/amd64", body, &err),
        &err);
    free(body);
    CHECK(strata_store_pkgdb_get(&body, st, "sha256:0123", "linux/arm64",
                                 &err) == STRATA_ENOTFOUND);
    CHECK_OK(
        strata_store_pkgdb_get(&body, st, "sha256:0123", "linux/amd64", &err),
        &err);
    j2 = json_loads(body, 0, NULL);
    CHECK_OK(strata_pkg_image_from_json(&back, j2, &err), &err);
    CHECK_EQ(back->npkgs, img->npkgs);
    CHECK_STR_EQ(back->pkgs[3].name, "longname");
    CHECK_STR_EQ(back->os_pretty, img->os_pretty);
    strata_store_close(st);
    /* The lookup is a search by the primary key, never a scan. */
    cmd = strata_xasprintf("sqlite3 %s \"EXPLAIN QUERY PLAN SELECT body FROM "
                           "pkgdb WHERE digest = 'a' AND platform = 'b'\"",
                           path);
    plan = capture(cmd);
    for (char *nl = plan; (nl = strchr(nl, '\n')) != NULL;)
        *nl = ' '; /* one TAP comment line */
    printf("# %s\n", plan);
    CHECK_CONTAINS(plan, "USING PRIMARY KEY (digest=? AND platform=?)");
    CHECK(strstr(plan, "SCAN") == NULL);
    free(plan);
    free(cmd);
    free(body);
    json_decref(j);
    json_decref(j2);
    strata_pkg_image_free(img);
    strata_pkg_image_free(back);
    free(path);
}

/* ---- the delta ---------------------------------------------------- */

TEST(delta_of_two_layer_stacks)
{
    strata_pkg_image *a = NULL, *b = NULL;
    strata_pkg_delta *d;
    strata_error err = {0};
    char *md;
    json_t *j;

    CHECK_OK(image_of(&a, &err, "edge-1.tar.gz", NULL), &err);
    CHECK_OK(image_of(&b, &err, "edge-1.tar.gz", "edge-2.tar.zst", "edge-3.tar",
                      NULL),
             &err);
    d = strata_pkg_delta_new(a, b);
    CHECK_EQ(d->upgraded, 1);
    CHECK_EQ(d->added, 2);
    CHECK_EQ(d->removed, 2);
    CHECK_EQ(d->downgraded, 0);
    CHECK(d->release_changed);
    CHECK(d->major);
    j = strata_pkg_delta_to_json(d);
    CHECK_EQ(json_integer_value(
                 json_object_get(json_object_get(j, "counts"), "added")),
             2);
    json_decref(j);
    md = strata_pkg_delta_format(d, "md");
    CHECK_CONTAINS(md, "1 package upgraded, 2 added, 2 removed");
    CHECK_CONTAINS(md, "| a | upgraded | 1.0 | 2.0 |");
    CHECK_CONTAINS(md, "(**new distribution release**)");
    free(md);
    strata_pkg_delta_free(d);
    strata_pkg_image_free(a);
    strata_pkg_image_free(b);
}

/* An image of n packages: p-NNNN at version, and libc6 at libc. */
static strata_pkg_image *
made_image(size_t n, const char *version, const char *libc, const char *os)
{
    strata_pkg_image *img = calloc(1, sizeof(*img));
    size_t i;

    CHECK(img != NULL);
    img->ecosystem = strata_xstrdup("dpkg");
    img->os_id = strata_xstrdup("debian");
    img->os_version_id = strata_xstrdup(os);
    img->os_pretty = strata_xasprintf("Debian GNU/Linux %s", os);
    img->pkgs = calloc(n + 1, sizeof(*img->pkgs));
    for (i = 0; i < n; i++) {
        img->pkgs[i].name = strata_xasprintf("p-%04zu", i);
        img->pkgs[i].version = strata_xstrdup(version);
        img->pkgs[i].arch = strata_xstrdup("amd64");
    }
    img->pkgs[n].name = strata_xstrdup("libc6");
    img->pkgs[n].version = strata_xstrdup(libc);
    img->pkgs[n].arch = strata_xstrdup("amd64");
    img->npkgs = n + 1;
    strata_pkg_sort(img->pkgs, img->npkgs);
    return img;
}

TEST(evidence_ranks_and_stays_within_its_budget)
{
    strata_pkg_image *a = made_image(5000, "1.0", "2.36-9", "12");
    strata_pkg_image *b = made_image(5000, "1.1", "3.0-1", "13");
    strata_pkg_delta *d = strata_pkg_delta_new(a, b);
    static const size_t budgets[] = {256, 1000, 4096, 65536, 1000000};
    char *md, *line;
    size_t i;

    line = strata_pkg_delta_summary(d);
    CHECK_STR_EQ(line, "5001 packages upgraded, 0 added, no removals; Debian "
                       "GNU/Linux 12 → Debian GNU/Linux 13");
    free(line);
    for (i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++) {
        md = strata_pkg_delta_markdown(d, "debian:12", budgets[i]);
        printf("# budget %zu: %zu bytes\n", budgets[i], strlen(md));
        CHECK(strlen(md) <= budgets[i]);
        CHECK_CONTAINS(md, "#### What changed in `debian:12`\n\n5001 packages");
        CHECK_CONTAINS(md, "**Major change: a new distribution release.**");
        if (budgets[i] >= 1000) /* the major jump of a core package first */
            CHECK_CONTAINS(md, "|---|---|---|---|\n| libc6 | 2.36-9 | 3.0-1 "
                               "| core, **major** |\n| p-0000 |");
        if (budgets[i] >= 4096 && budgets[i] < 1000000) {
            CHECK_CONTAINS(md, "\n… and 4976 more (below)\n");
            CHECK_CONTAINS(md, "<details><summary>All 5001 changes");
            CHECK_CONTAINS(md, " more\n\n</details>\n");
        }
        if (budgets[i] == 1000000) {
            CHECK(strstr(md, "… and") == NULL ||
                  strstr(md, "… and 4976 more (below)") != NULL);
            CHECK_CONTAINS(md, "| p-4999 | upgraded | 1.0 | 1.1 |  |\n\n"
                               "</details>\n");
        }
        free(md);
    }
    strata_pkg_delta_free(d);
    strata_pkg_image_free(a);
    strata_pkg_image_free(b);
}

/* ---- packages linked with their vulnerabilities -------------------------- */

/*
 * An image of ecosystem eco from "NAME ARCH VERSION" strings, NULL-ended,
 * with digest.
 */
static strata_pkg_image *
listed_image(const char *eco, const char *digest, ...)
{
    strata_pkg_image *img = calloc(1, sizeof(*img));
    const char *line;
    va_list ap;

    CHECK(img != NULL);
    img->ecosystem = strata_xstrdup(eco);
    img->digest = strata_xstrdup(digest);
    img->pkgs = calloc(32, sizeof(*img->pkgs));
    va_start(ap, digest);
    while ((line = va_arg(ap, const char *)) != NULL) {
        char name[64], arch[16], version[64];

        CHECK(img->npkgs < 32);
        CHECK_EQ(sscanf(line, "%63s %15s %63s", name, arch, version), 3);
        img->pkgs[img->npkgs].name = strata_xstrdup(name);
        img->pkgs[img->npkgs].arch =
            strata_xstrdup(strcmp(arch, "-") == 0 ? "" : arch);
        img->pkgs[img->npkgs].version = strata_xstrdup(version);
        img->npkgs++;
    }
    va_end(ap);
    strata_pkg_sort(img->pkgs, img->npkgs);
    return img;
}

/* The findings of a real report in tests/scanners/, as the store keeps them. */
static json_t *
report_findings(const char *file)
{
    strata_scan_report *r = NULL;
    strata_error err = {0};
    char *path = strata_xasprintf("%s/%s", STRATA_TEST_SCANNERS, file);
    json_t *j;

    CHECK_OK(strata_scan_report_load(&r, path, STRATA_SCAN_AUTO, &err), &err);
    j = strata_scan_report_json(r);
    strata_scan_report_free(r);
    free(path);
    return j;
}

static const strata_pkg_change *
change_named(const strata_pkg_delta *d, const char *name, const char *arch)
{
    size_t i;

    for (i = 0; i < d->nchanges; i++)
        if (strcmp(d->changes[i].name, name) == 0 &&
            (arch == NULL || strcmp(d->changes[i].arch, arch) == 0))
            return &d->changes[i];
    return NULL;
}

/*
 * Trivy's real report of debian:buster (bash CVE-2019-18276 low, no fix;
 * libidn2-0 CVE-2019-18224 critical) as the old digest's findings; the new
 * digest's: bash's finding still there, libidn2-0's gone (it was
 * upgraded), a new one in the added package and in the upgraded libc6,
 * and one in tzdata, which did not change.
 */
TEST(link_fixed_and_new_findings_to_their_packages)
{
    strata_pkg_image *a =
        listed_image("dpkg", "sha256:old", "bash amd64 5.0-4",
                     "libidn2-0 amd64 2.0.5-1", "libc6 amd64 2.28-10",
                     "tzdata all 2021a-0+deb10u1", "curl amd64 7.64.0-4", NULL);
    strata_pkg_image *b = listed_image(
        "dpkg", "sha256:new", "bash amd64 5.0-4",
        "libidn2-0 amd64 2.0.5-1+deb10u1", "libc6 amd64 2.28-10+deb10u2",
        "tzdata all 2021a-0+deb10u1", "libcurl4 amd64 7.64.0-4+deb10u9", NULL);
    json_t *old = report_findings("upstream/trivy-debian-buster.json");
    json_t *now = json_array(), *j, *v;
    strata_pkg_delta *d = strata_pkg_delta_new(a, b);
    const strata_pkg_change *c;
    char *s;

    CHECK_EQ(json_array_size(old), 2);
    /* The new digest: bash's finding unchanged, three new ones. */
    json_array_append(now, json_array_get(old, 0));
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(now, 0), "pkg")),
        "bash");
    json_array_append_new(now, json_pack("{s:s, s:s, s:s, s:n, s:s}", "id",
                                         "CVE-2023-38545", "pkg", "libcurl4",
                                         "version", "7.64.0-4+deb10u9", "fixed",
                                         "severity", "critical"));
    json_array_append_new(now, json_pack("{s:s, s:s, s:s, s:n, s:s}", "id",
                                         "CVE-2023-4911", "pkg", "libc6",
                                         "version", "2.28-10+deb10u2", "fixed",
                                         "severity", "high"));
    json_array_append_new(now, json_pack("{s:s, s:s, s:s, s:n, s:s}", "id",
                                         "CVE-2024-0001", "pkg", "tzdata",
                                         "version", "2021a-0+deb10u1", "fixed",
                                         "severity", "medium"));
    strata_pkg_delta_link(d, old, now);
    CHECK(d->scanned);
    CHECK_EQ(d->cves_fixed, 1);
    CHECK_EQ(d->vulns_fixed[STRATA_PKG_SEV_CRITICAL], 1);
    CHECK_EQ(d->cves_new, 2);
    CHECK_EQ(d->vulns_new[STRATA_PKG_SEV_CRITICAL], 1);
    CHECK_EQ(d->vulns_new[STRATA_PKG_SEV_HIGH], 1);
    /* Fixed: the upgraded libidn2-0, and it comes first. */
    c = &d->changes[0];
    CHECK_STR_EQ(c->name, "libidn2-0");
    CHECK_EQ(c->nfixes, 1);
    CHECK_STR_EQ(c->fixes[0].id, "CVE-2019-18224");
    CHECK_STR_EQ(c->fixes[0].severity, "critical");
    /* New: brought by the added libcurl4 and the upgraded libc6. */
    CHECK((c = change_named(d, "libcurl4", NULL)) != NULL);
    CHECK_EQ(c->kind, STRATA_PKG_ADDED);
    CHECK_EQ(c->nbrings, 1);
    CHECK_STR_EQ(c->brings[0].id, "CVE-2023-38545");
    CHECK_STR_EQ(d->changes[1].name, "libcurl4"); /* critical before high */
    CHECK_STR_EQ(d->changes[2].name, "libc6");
    CHECK_EQ(d->changes[2].nbrings, 1);
    /* The removed curl fixed nothing; tzdata did not change: its new
     * finding is not the update's, only listed. */
    CHECK((c = change_named(d, "curl", NULL)) != NULL);
    CHECK_EQ(c->nfixes + c->nbrings, 0);
    CHECK_EQ(json_array_size(d->unlinked), 1);
    v = json_array_get(d->unlinked, 0);
    CHECK_STR_EQ(json_string_value(json_object_get(v, "id")), "CVE-2024-0001");
    CHECK_STR_EQ(json_string_value(json_object_get(v, "status")), "new");
    s = strata_pkg_delta_summary(d);
    CHECK_STR_EQ(s, "2 packages upgraded, 1 CVE fixed (1 critical), 2 new "
                    "CVEs (1 critical, 1 high), 1 added, 1 removed");
    free(s);
    j = strata_pkg_delta_to_json(d);
    v = json_object_get(j, "vulnerabilities");
    CHECK_EQ(json_integer_value(json_object_get(v, "fixed")), 1);
    CHECK_EQ(json_integer_value(json_object_get(v, "new")), 2);
    CHECK_EQ(json_integer_value(json_object_get(
                 json_object_get(v, "new_by_severity"), "high")),
             1);
    v = json_array_get(json_object_get(j, "changes"), 0);
    CHECK_STR_EQ(json_string_value(json_object_get(
                     json_array_get(json_object_get(v, "fixes"), 0), "id")),
                 "CVE-2019-18224");
    json_decref(j);
    s = strata_pkg_delta_format(d, "text");
    CHECK_CONTAINS(s, "upgraded   libidn2-0:amd64 2.0.5-1 -> 2.0.5-1+deb10u1\n"
                      "           fixes CVE-2019-18224 (critical)\n");
    CHECK_CONTAINS(s, "new        CVE-2024-0001 tzdata (medium)\n");
    free(s);
    s = strata_pkg_delta_markdown(d, "debian:buster", 65536);
    CHECK_CONTAINS(s, "2 packages upgraded, 1 CVE fixed (1 critical), 2 new "
                      "CVEs (1 critical, 1 high), 1 added, 1 removed.\n");
    CHECK_CONTAINS(s, "| Package | Old | New | | Security |\n"
                      "|---|---|---|---|---|\n"
                      "| libidn2-0 | 2.0.5-1 | 2.0.5-1+deb10u1 |  | fixes "
                      "CVE-2019-18224 (critical) |\n"
                      "| libcurl4 |  | 7.64.0-4+deb10u9 |  | brings "
                      "CVE-2023-38545 (critical) |\n"
                      "| libc6 | 2.28-10 | 2.28-10+deb10u2 | core | brings "
                      "CVE-2023-4911 (high) |\n");
    free(s);
    /* Linking again replaces the first: nothing known fixed now. */
    strata_pkg_delta_link(d, now, now);
    CHECK_EQ(d->cves_fixed + d->cves_new, 0);
    CHECK_EQ(json_array_size(d->unlinked), 0);
    s = strata_pkg_delta_summary(d);
    CHECK_STR_EQ(s, "2 packages upgraded, no CVEs fixed, 1 added, 1 removed");
    free(s);
    json_decref(old);
    json_decref(now);
    strata_pkg_delta_free(d);
    strata_pkg_image_free(a);
    strata_pkg_image_free(b);
}

/*
 * Trivy's real report of alpine:3.10 (CVE-2019-1549 and CVE-2019-1551 in
 * both libcrypto1.1 and libssl1.1, medium): an upgrade of both fixes two
 * CVEs each, counted twice, not four times; a package with several fixes
 * lists them most severe first, and severities order the rows.
 */
TEST(link_several_cves_per_package_and_severity_order)
{
    strata_pkg_image *a =
        listed_image("apk", "sha256:old", "libcrypto1.1 x86_64 1.1.1c-r0",
                     "libssl1.1 x86_64 1.1.1c-r0", "musl x86_64 1.1.22-r2",
                     "zlib x86_64 1.2.11-r1", NULL);
    strata_pkg_image *b =
        listed_image("apk", "sha256:new", "libcrypto1.1 x86_64 1.1.1d-r2",
                     "libssl1.1 x86_64 1.1.1d-r2", "musl x86_64 1.1.22-r3",
                     "zlib x86_64 1.2.11-r3", NULL);
    json_t *old = report_findings("upstream/trivy-alpine-310.json");
    json_t *now = json_array();
    strata_pkg_delta *d = strata_pkg_delta_new(a, b);
    char *s;

    CHECK_EQ(json_array_size(old), 4);
    /* A zlib finding of high severity, also fixed; and a low one of musl
     * (a core package) with a higher id. */
    json_array_append_new(old, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id",
                                         "CVE-2018-25032", "pkg", "zlib",
                                         "version", "1.2.11-r1", "fixed",
                                         "1.2.11-r3", "severity", "high"));
    json_array_append_new(old, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id",
                                         "CVE-2020-28928", "pkg", "musl",
                                         "version", "1.1.22-r2", "fixed",
                                         "1.1.22-r3", "severity", "low"));
    json_array_append_new(old, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id",
                                         "CVE-2019-1563", "pkg", "libssl1.1",
                                         "version", "1.1.1c-r0", "fixed",
                                         "1.1.1d-r0", "severity", "low"));
    strata_pkg_delta_link(d, old, now);
    CHECK_EQ(d->cves_fixed, 5);
    CHECK_EQ(d->vulns_fixed[STRATA_PKG_SEV_MEDIUM], 2);
    CHECK_EQ(d->vulns_fixed[STRATA_PKG_SEV_HIGH], 1);
    CHECK_EQ(d->vulns_fixed[STRATA_PKG_SEV_LOW], 2);
    /* zlib (high) first; then libssl1.1 (medium, three fixes) before
     * libcrypto1.1 (medium, two); then musl (low). */
    CHECK_STR_EQ(d->changes[0].name, "zlib");
    CHECK_STR_EQ(d->changes[1].name, "libssl1.1");
    CHECK_STR_EQ(d->changes[2].name, "libcrypto1.1");
    CHECK_STR_EQ(d->changes[3].name, "musl");
    CHECK_EQ(d->changes[1].nfixes, 3);
    CHECK_STR_EQ(d->changes[1].fixes[0].id, "CVE-2019-1549");
    CHECK_STR_EQ(d->changes[1].fixes[1].id, "CVE-2019-1551");
    CHECK_STR_EQ(d->changes[1].fixes[2].id, "CVE-2019-1563");
    CHECK_STR_EQ(d->changes[1].fixes[2].severity, "low");
    s = strata_pkg_delta_summary(d);
    CHECK_STR_EQ(s, "4 packages upgraded, 5 CVEs fixed (1 high), 0 added, "
                    "no removals");
    free(s);
    s = strata_pkg_delta_markdown(d, "alpine:3.10", 65536);
    CHECK_CONTAINS(s, "| libssl1.1 | 1.1.1c-r0 | 1.1.1d-r2 | core | fixes "
                      "CVE-2019-1549 (medium), CVE-2019-1551 (medium), "
                      "CVE-2019-1563 (low) |\n");
    free(s);
    json_decref(old);
    json_decref(now);
    strata_pkg_delta_free(d);
    strata_pkg_image_free(a);
    strata_pkg_image_free(b);
}

/*
 * Among the architectures of one dpkg package the finding's version
 * picks one; "NAME:ARCH" names it too; Grype's real report (rpm) links
 * by name; a delta whose digests were never scanned is left as it was.
 */
TEST(link_matches_names_as_scanners_write_them)
{
    strata_pkg_image *a =
        listed_image("dpkg", "sha256:old", "libc6 amd64 2.36-9",
                     "libc6 i386 2.36-8", "zlib1g amd64 1:1.2.13", NULL);
    strata_pkg_image *b = listed_image(
        "dpkg", "sha256:new", "libc6 amd64 2.36-9+deb12u4",
        "libc6 i386 2.36-9+deb12u4", "zlib1g amd64 1:1.2.13.1", NULL);
    strata_pkg_image *ra = listed_image(
        "rpm", "sha256:r1", "nss x86_64 3.79.0-17.el9_1",
        "nss-util x86_64 3.79.0-17.el9_1", "bash x86_64 5.1.8-6.el9_1", NULL);
    strata_pkg_image *rb = listed_image(
        "rpm", "sha256:r2", "nss x86_64 3.90.0-3.el9_2",
        "nss-util x86_64 3.79.0-17.el9_1", "bash x86_64 5.1.8-6.el9_1", NULL);
    json_t *old = json_array(), *none = json_array(), *grype;
    strata_pkg_delta *d = strata_pkg_delta_new(a, b);
    strata_store *st = NULL;
    strata_ref *ubi = NULL;
    strata_error err = {0};

    json_array_append_new(old,
                          json_pack("{s:s, s:s, s:s, s:n, s:s}", "id",
                                    "CVE-2023-4911", "pkg", "libc6", "version",
                                    "2.36-8", "fixed", "severity", "high"));
    json_array_append_new(old, json_pack("{s:s, s:s, s:n, s:n, s:s}", "id",
                                         "CVE-2022-37434", "pkg",
                                         "zlib1g:amd64", "version", "fixed",
                                         "severity", "critical"));
    strata_pkg_delta_link(d, old, none);
    CHECK_EQ(change_named(d, "libc6", "i386")->nfixes, 1);
    CHECK_EQ(change_named(d, "libc6", "amd64")->nfixes, 0);
    CHECK_EQ(change_named(d, "zlib1g", "amd64")->nfixes, 1);
    CHECK_EQ(d->cves_fixed, 2);
    strata_pkg_delta_free(d);
    /* Grype names rpm's binary packages: nss was upgraded, nss-util not. */
    grype = report_findings("upstream/grype-keycloak-test.json");
    d = strata_pkg_delta_new(ra, rb);
    strata_pkg_delta_link(d, grype, none);
    CHECK_EQ(d->cves_fixed, 1);
    CHECK_EQ(d->vulns_fixed[STRATA_PKG_SEV_LOW], 1);
    CHECK_EQ(change_named(d, "nss", NULL)->nfixes, 1);
    CHECK_EQ(json_array_size(d->unlinked), 5);
    strata_pkg_delta_free(d);
    /* From the store: both digests scanned, else nothing linked. */
    d = strata_pkg_delta_new(ra, rb);
    CHECK_OK(strata_store_open(&st, ":memory:", &err), &err);
    CHECK_OK(strata_ref_parse(&ubi, "registry.example/ubi:9", &err), &err);
    CHECK_EQ(strata_pkg_delta_link_stored(d, st, ubi, &err), 0);
    CHECK(!d->scanned);
    {
        strata_scan_report *r = NULL;

        CHECK_OK(strata_scan_report_from_json(&r, grype, STRATA_SCAN_GRYPE,
                                              "grype", &err),
                 &err);
        CHECK_OK(strata_scan_report_save(st, "registry.example/ubi",
                                         "sha256:r1", "grype", r, &err),
                 &err);
        CHECK_EQ(strata_pkg_delta_link_stored(d, st, ubi, &err), 0);
        strata_scan_report_free(r);
        CHECK_OK(strata_scan_report_from_json(&r, none, STRATA_SCAN_GRYPE,
                                              "grype", &err),
                 &err);
        /* A rescan's: under the tagged reference. */
        CHECK_OK(strata_scan_report_save(st, "registry.example/ubi:9",
                                         "sha256:r2", "grype", r, &err),
                 &err);
        strata_scan_report_free(r);
    }
    CHECK_EQ(strata_pkg_delta_link_stored(d, st, ubi, &err), 1);
    CHECK(d->scanned);
    CHECK_EQ(d->cves_fixed, 1);
    strata_store_close(st);
    strata_ref_free(ubi);
    strata_pkg_delta_free(d);
    json_decref(grype);
    json_decref(old);
    json_decref(none);
    strata_pkg_image_free(a);
    strata_pkg_image_free(b);
    strata_pkg_image_free(ra);
    strata_pkg_image_free(rb);
}

/*
 * Platforms of one multi-arch base: one section when every delta is the
 * same (architectures aside), else one per platform, within the budget.
 */
TEST(evidence_of_each_platform)
{
    strata_pkg_image *a1 = listed_image(
        "dpkg", "sha256:a1", "libc6 amd64 2.36-9", "bash amd64 5.2.15-2", NULL);
    strata_pkg_image *b1 =
        listed_image("dpkg", "sha256:b1", "libc6 amd64 2.36-9+deb12u4",
                     "bash amd64 5.2.15-2", NULL);
    strata_pkg_image *a2 = listed_image(
        "dpkg", "sha256:a2", "libc6 arm64 2.36-9", "bash arm64 5.2.15-2", NULL);
    strata_pkg_image *b2 =
        listed_image("dpkg", "sha256:b2", "libc6 arm64 2.36-9+deb12u4",
                     "bash arm64 5.2.15-2", NULL);
    strata_pkg_image *b3 = listed_image(
        "dpkg", "sha256:b3", "libc6 arm64 2.36-9", "bash arm64 5.2.15-3", NULL);
    const char *const plats[] = {"linux/amd64", "linux/arm64"};
    const strata_pkg_delta *d[2];
    strata_pkg_delta *amd = strata_pkg_delta_new(a1, b1);
    strata_pkg_delta *same = strata_pkg_delta_new(a2, b2);
    strata_pkg_delta *other = strata_pkg_delta_new(a2, b3);
    char *md;
    size_t max;

    CHECK(strata_pkg_delta_same(amd, same));
    CHECK(!strata_pkg_delta_same(amd, other));
    d[0] = amd;
    d[1] = same;
    md = strata_pkg_delta_markdown_platforms(d, plats, 2, "debian:12", 65536);
    CHECK_CONTAINS(md, "#### What changed in `debian:12` (the same on "
                       "linux/amd64, linux/arm64)\n\n1 package upgraded");
    CHECK(strstr(md, " on linux/arm64\n") == NULL);
    free(md);
    /* One platform: exactly the single-platform section. */
    md = strata_pkg_delta_markdown_platforms(d, plats, 1, "debian:12", 65536);
    {
        char *one = strata_pkg_delta_markdown(amd, "debian:12", 65536);

        CHECK_STR_EQ(md, one);
        free(one);
    }
    free(md);
    d[1] = other;
    for (max = 300; max <= 4096; max *= 2) {
        md = strata_pkg_delta_markdown_platforms(d, plats, 2, "debian:12", max);
        printf("# budget %zu: %zu bytes\n", max, strlen(md));
        CHECK(strlen(md) <= max);
        if (max >= 1024) {
            CHECK_CONTAINS(md, "#### What changed in `debian:12` on "
                               "linux/arm64\n");
            CHECK_CONTAINS(strstr(md, "on linux/arm64"),
                           "| bash | 5.2.15-2 | 5.2.15-3 |  |\n");
        } else { /* each platform, or what does not fit counted */
            CHECK(strstr(md, " on linux/arm64\n") != NULL ||
                  strstr(md, " more platforms\n") != NULL);
        }
        free(md);
    }
    strata_pkg_delta_free(amd);
    strata_pkg_delta_free(same);
    strata_pkg_delta_free(other);
    strata_pkg_image_free(a1);
    strata_pkg_image_free(b1);
    strata_pkg_image_free(a2);
    strata_pkg_image_free(b2);
    strata_pkg_image_free(b3);
}

int
main(void)
{
    CHECK(mkdtemp(tmpdir) != NULL);
    if (system("command -v dpkg-query >/dev/null && command -v zstd "
               ">/dev/null && command -v rpmbuild >/dev/null && command -v "
               "sqlite3 >/dev/null") != 0)
        SKIP_ALL("needs dpkg-query, zstd, rpmbuild and sqlite3 "
                 "(scripts/install-deps.sh)");
    harness_sh("/usr/bin/python3 %s %s", STRATA_TEST_MKLAYERS, tmpdir);
    RUN(dpkg_host_status_matches_dpkg_query);
    RUN(dpkg_malformed_status_names_file_and_line);
    RUN(dpkg_vercmp_matches_dpkg_compare_versions);
    RUN(dpkg_vercmp_host_versions);
    RUN(os_release);
    RUN(layers_one_at_a_time);
    RUN(layers_whiteouts_opaque_dirs_and_links);
    RUN(layers_database_deleted_by_a_later_layer);
    RUN(layers_bad_input_is_a_clear_error);
    RUN(apk_layer_and_database);
    RUN(apk_vercmp_table);
    RUN(rpm_database_matches_rpm_qa);
    RUN(rpm_vercmp_matches_rpm);
    RUN(store_keeps_a_digest_per_platform);
    RUN(delta_of_two_layer_stacks);
    RUN(evidence_ranks_and_stays_within_its_budget);
    RUN(link_fixed_and_new_findings_to_their_packages);
    RUN(link_several_cves_per_package_and_severity_order);
    RUN(link_matches_names_as_scanners_write_them);
    RUN(evidence_of_each_platform);
    harness_sh("rm -rf %s", tmpdir);
    return harness_done();
}
