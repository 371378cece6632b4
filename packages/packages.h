/*
 * packages.h - what is installed in an image: its package database and
 * distribution read straight from the registry (each layer streamed
 * through libarchive, never unpacked), the package delta between two
 * digests, and version comparison by each ecosystem's rules.
 *
 * Supported databases: dpkg (var/lib/dpkg/status and the
 * var/lib/dpkg/status.d/ files distroless images write), apk
 * (lib/apk/db/installed) and rpm's sqlite database (var/lib/rpm/ or
 * usr/lib/sysimage/rpm/rpmdb.sqlite). An image with rpm's Berkeley DB
 * (Packages) or ndb (Packages.db) database is refused with an error
 * naming the file.
 */
#ifndef STRATA_PACKAGES_H
#define STRATA_PACKAGES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core.h"
#include "oci.h"

/* The largest package-database file (or os-release) read from a layer. */
#define STRATA_PKG_MAX_FILE ((size_t) 64 * 1024 * 1024)
/* At most this many packages in one image. */
#define STRATA_PKG_MAX_PACKAGES 200000

typedef struct strata_pkg {
    char *name;
    char *version;
    char *arch;   /* "" when the database has none */
    char *source; /* the source package, or NULL when it is name */
} strata_pkg;

/* Sorts by name, then arch. */
void strata_pkg_sort(strata_pkg *pkgs, size_t n);
/* Frees pkgs[0..n) and pkgs. */
void strata_pkg_list_free(strata_pkg *pkgs, size_t n);

/* One image (one platform) as read: owned by the caller. */
typedef struct strata_pkg_image {
    char *digest;    /* the platform manifest's digest */
    char *platform;  /* "linux/amd64" */
    char *ecosystem; /* "dpkg", "apk", "rpm"; NULL: no package database */
    char *os_id, *os_version_id, *os_pretty; /* NULL when absent */
    int64_t compressed_size;   /* the layers' descriptors, summed */
    int64_t uncompressed_size; /* the layers' tar streams, summed */
    strata_pkg *pkgs;          /* sorted by name, then arch */
    size_t npkgs;
} strata_pkg_image;

void strata_pkg_image_free(strata_pkg_image *img);

/* The image as JSON (new): the form the state store keeps. */
json_t *strata_pkg_image_to_json(const strata_pkg_image *img);
/* Back from strata_pkg_image_to_json's form; STRATA_EPROTO if malformed. */
int strata_pkg_image_from_json(strata_pkg_image **out, const json_t *j,
                               strata_error *err);

/* ---- layers (layers.c) ------------------------------------------------- */

/*
 * Pulls a layer's bytes: sets *data and *len to the next bytes (borrowed
 * until the next call), *len 0 at the end. Returns 0 or a negative code
 * with err set.
 */
typedef int (*strata_pkg_read_cb)(const void **data, size_t *len, void *arg,
                                  strata_error *err);

/* The wanted files of an image, as its layers leave them. */
typedef struct strata_pkg_files strata_pkg_files;

strata_pkg_files *strata_pkg_files_new(void);
void strata_pkg_files_free(strata_pkg_files *f);

/*
 * Reads one layer (a tar stream, plain, gzip or zstd) from read, applying
 * it over what earlier layers left in f: whiteouts (.wh.NAME) and opaque
 * directories (.wh..wh..opq) delete what lower layers had, the last
 * writer wins, hard links to a wanted file are followed. Only the wanted
 * files' content is kept (each at most STRATA_PKG_MAX_FILE bytes, and
 * all of them together at most 10000 files and 256 MiB: STRATA_ETOOBIG),
 * everything else is skipped as it streams. name names
 * the layer in messages. *tar_bytes (may be NULL) gets the size of the
 * uncompressed stream. Errors: STRATA_EPROTO (a corrupt or truncated
 * stream), STRATA_ETOOBIG, and read's.
 */
int strata_pkg_files_apply(strata_pkg_files *f, const char *name,
                           strata_pkg_read_cb read, void *arg,
                           int64_t *tar_bytes, strata_error *err);

/*
 * The content of path (no leading "/") as the layers left it, borrowed,
 * or NULL when absent or deleted. *len gets its size.
 */
const char *strata_pkg_files_get(const strata_pkg_files *f, const char *path,
                                 size_t *len);
/* The kept paths under dir ("var/lib/dpkg/status.d/"), sorted; borrowed. */
size_t strata_pkg_files_list(const strata_pkg_files *f, const char *dir,
                             const char **out, size_t max);

/*
 * Turns what the layers left into an image: os-release, then the package
 * database found (its ecosystem). img's digest, platform and sizes are
 * the caller's to fill. Errors name the file and line.
 */
int strata_pkg_files_image(strata_pkg_image **out, const strata_pkg_files *f,
                           strata_error *err);

/* ---- parsers (dpkg.c, osrelease.c) -------------------------------------- */

/*
 * Parses a dpkg status file (deb822 stanzas): the packages whose Status
 * is "install ok installed" are appended to *pkgs (grown as needed).
 * name names the file in messages ("FILE:LINE: ..."). STRATA_EPROTO when
 * malformed, STRATA_ETOOBIG past STRATA_PKG_MAX_PACKAGES.
 */
int strata_pkg_dpkg_parse(strata_pkg **pkgs, size_t *npkgs, const char *name,
                          const char *data, size_t len, strata_error *err);

/*
 * Parses an apk installed database (lib/apk/db/installed): P, V, A and o
 * of every stanza appended to *pkgs. Errors as strata_pkg_dpkg_parse.
 */
int strata_pkg_apk_parse(strata_pkg **pkgs, size_t *npkgs, const char *name,
                         const char *data, size_t len, strata_error *err);

/*
 * Reads an rpm sqlite database (rpmdb.sqlite; data is its bytes, opened
 * from memory): every header of its Packages table appended to *pkgs,
 * the version as [EPOCH:]VERSION-RELEASE. STRATA_EPROTO for a database
 * or a header that is not what rpm writes, naming the file and row.
 */
int strata_pkg_rpm_parse(strata_pkg **pkgs, size_t *npkgs, const char *name,
                         const char *data, size_t len, strata_error *err);
/* One rpm header blob (of the database's row) into *out. */
int strata_pkg_rpm_header(strata_pkg *out, const void *blob, size_t len,
                          const char *name, long row, strata_error *err);

/* os-release's ID, VERSION_ID and PRETTY_NAME into img (new strings). */
int strata_pkg_os_release_parse(strata_pkg_image *img, const char *name,
                                const char *data, size_t len,
                                strata_error *err);

/* ---- versions (version.c) ----------------------------------------------- */

/* dpkg's order of versions ([epoch:]upstream[-revision]): <0, 0, >0. */
int strata_pkg_dpkg_vercmp(const char *a, const char *b);
/* apk's order (apk-tools' version.c): <0, 0, >0. */
int strata_pkg_apk_vercmp(const char *a, const char *b);
/* rpm's order of [EPOCH:]VERSION-RELEASE (rpmvercmp on each part). */
int strata_pkg_rpm_vercmp(const char *a, const char *b);
/* The ecosystem's order ("dpkg", "apk", "rpm"; others as strings). */
int strata_pkg_vercmp(const char *ecosystem, const char *a, const char *b);

/* ---- reading an image (image.c) ----------------------------------------- */

/*
 * Reads ref's package database and distribution from its registry, with
 * a private loop: the manifest (for a multi-arch index, platform's; NULL:
 * linux/amd64), then each layer streamed in order. st (may be NULL) is
 * the state store: an image already read (by manifest digest and
 * platform) is taken from it without reading a layer, and one read is
 * stored there. opts (may be NULL) as for strata_registry_new, except
 * that a timeout_ms of 0 means 5 minutes: each request's deadline covers
 * its whole transfer, and a layer is one request.
 */
struct strata_store;
int strata_pkg_image_read_sync(strata_pkg_image **out, struct strata_store *st,
                               const strata_registry_opts *opts,
                               const strata_ref *ref, const char *platform,
                               strata_error *err);

/* ---- the delta (delta.c) ------------------------------------------------ */

typedef enum strata_pkg_change_kind {
    STRATA_PKG_ADDED,
    STRATA_PKG_REMOVED,
    STRATA_PKG_UPGRADED,
    STRATA_PKG_DOWNGRADED,
} strata_pkg_change_kind;

/* A vulnerability linked to a package change (strata_pkg_delta_link). */
typedef struct strata_pkg_vuln {
    char *id;       /* "CVE-2023-5678", "GHSA-…" */
    char *severity; /* "critical", "high", "medium", "low", "negligible",
                       "unknown" */
} strata_pkg_vuln;

typedef struct strata_pkg_change {
    strata_pkg_change_kind kind;
    char *name, *arch;
    char *old_version; /* NULL when added */
    char *new_version; /* NULL when removed */
    int core;          /* libc, openssl: a core package */
    int major;         /* a core package whose major version changed */
    /* What the change fixes (upgraded, removed) and brings (added,
     * upgraded, downgraded): most severe first, then by id. */
    strata_pkg_vuln *fixes, *brings;
    size_t nfixes, nbrings;
} strata_pkg_change;

/* Severities, as the state store keeps rescans' findings. */
enum {
    STRATA_PKG_SEV_UNKNOWN = 0,
    STRATA_PKG_SEV_NEGLIGIBLE,
    STRATA_PKG_SEV_LOW,
    STRATA_PKG_SEV_MEDIUM,
    STRATA_PKG_SEV_HIGH,
    STRATA_PKG_SEV_CRITICAL,
    STRATA_PKG_NSEV
};

typedef struct strata_pkg_delta {
    char *ecosystem;
    char *old_digest, *new_digest;
    char *old_os, *new_os;                 /* PRETTY_NAME, else ID VERSION */
    char *old_version_id, *new_version_id; /* os-release VERSION_ID */
    int release_changed;                   /* the distribution's release */
    int major; /* release_changed, or a core package's major version */
    int64_t old_compressed, new_compressed;
    int64_t old_uncompressed, new_uncompressed;
    size_t added, removed, upgraded, downgraded;
    strata_pkg_change *changes; /* core first, then by name; once linked,
                                   security fixes first */
    size_t nchanges;
    /* Set by strata_pkg_delta_link: both digests' findings were known. */
    int scanned;
    /* Distinct vulnerability ids linked to a change, each counted once at
     * its highest severity: vulns_fixed[STRATA_PKG_SEV_CRITICAL]... */
    size_t cves_fixed, cves_new;
    size_t vulns_fixed[STRATA_PKG_NSEV], vulns_new[STRATA_PKG_NSEV];
    /* Findings fixed or new whose package did not change in the delta (a
     * scanner database that learnt or forgot them between the scans):
     * [{"id", "pkg", "severity", "status": "fixed"|"new"}]; owned. */
    json_t *unlinked;
} strata_pkg_delta;

/* The delta from old to new (new). Never fails. */
strata_pkg_delta *strata_pkg_delta_new(const strata_pkg_image *old,
                                       const strata_pkg_image *new_);
void strata_pkg_delta_free(strata_pkg_delta *d);
/*
 * Links d with the vulnerability findings of its old and its new digest
 * (each [{"id", "pkg", "version", "fixed", "severity"}], as the state
 * store keeps a rescan's: strata_store_findings_get). A finding (id, pkg)
 * of old that new has not is fixed: linked to the upgraded or removed
 * package it names ("fixes"); one of new that old had not is linked to
 * the added, upgraded or downgraded package that brought it ("brings").
 * Packages match by name as the scanners write it (Trivy and Grype name
 * the binary package; a dpkg "NAME:ARCH" is NAME, and among several
 * architectures of NAME the one whose version the finding names, else
 * all). A finding whose package did not change goes to d->unlinked and
 * is not counted. The changes are sorted again: security fixes first
 * (most severe first), then what brings new findings, then as before.
 * Linking twice replaces the first.
 */
void strata_pkg_delta_link(strata_pkg_delta *d, const json_t *old_findings,
                           const json_t *new_findings);
/*
 * The findings the state store keeps for base at digest (new): under
 * base's name (as the pr action keeps a base's scans), else under its
 * tagged reference without the digest (as a rescan of that image keeps
 * them). STRATA_ENOTFOUND when that digest was never scanned.
 */
int strata_pkg_findings_stored(json_t **out, struct strata_store *st,
                               const strata_ref *base, const char *digest,
                               strata_error *err);
/*
 * Links d with the findings the state store keeps for base at d's old
 * and new digest (strata_pkg_findings_stored). Returns 1 when linked, 0
 * when either digest was never scanned (d unchanged), or a negative code
 * (the store's error).
 */
int strata_pkg_delta_link_stored(strata_pkg_delta *d, struct strata_store *st,
                                 const strata_ref *base, strata_error *err);
/* As docs/diff.schema.json describes (new). */
json_t *strata_pkg_delta_to_json(const strata_pkg_delta *d);
/* "text" or "md" (a Markdown summary and table); new. */
char *strata_pkg_delta_format(const strata_pkg_delta *d, const char *format);
/*
 * The one-line summary (new): "12 packages upgraded, 3 added, no
 * removals; Debian GNU/Linux 12 (bookworm)", the distribution as "OLD →
 * NEW" when it changed; once linked, "12 packages upgraded, 3 CVEs fixed
 * (1 critical), 1 new CVE (1 high), 3 added, no removals; …".
 */
char *strata_pkg_delta_summary(const strata_pkg_delta *d);
/*
 * The delta as evidence in a pull-request body (new): a heading naming
 * base, the summary line, a table of the upgraded, downgraded and removed
 * packages most important first (a core package's major jump, then core
 * packages, then by name), and every change in a collapsible <details>.
 * At most max bytes (at least 256): the rows that do not fit are counted
 * ("… and 40 more"). Text from the registry is escaped for Markdown.
 */
char *strata_pkg_delta_markdown(const strata_pkg_delta *d, const char *base,
                                size_t max);

/*
 * Whether a and b changed the same packages the same way: the same
 * distribution change, and change for change the same kind, name,
 * versions and linked vulnerabilities (architectures and sizes aside),
 * as the platforms of one multi-arch base mostly do.
 */
int strata_pkg_delta_same(const strata_pkg_delta *a, const strata_pkg_delta *b);

/* At most this many platforms of one base in a pull request's evidence. */
#define STRATA_PKG_MAX_PLATFORMS 8

/*
 * The evidence of a multi-arch base, one delta per platform (d[i] for
 * platforms[i], n >= 1), within max bytes (new): n == 1 is
 * strata_pkg_delta_markdown's; when every delta is the same
 * (strata_pkg_delta_same), one section naming the platforms; else one
 * section per platform ("#### What changed in `BASE` on linux/arm64"),
 * each in an equal share of max.
 */
char *strata_pkg_delta_markdown_platforms(const strata_pkg_delta *const *d,
                                          const char *const *platforms,
                                          size_t n, const char *base,
                                          size_t max);

/* ---- SBOMs (sbom.c) ------------------------------------------------------ */

/*
 * The package URL of p in img (new): "pkg:deb/debian/NAME@VERSION?arch=
 * ARCH&distro=debian-12", name and version percent-encoded.
 */
char *strata_pkg_purl(const strata_pkg_image *img, const strata_pkg *p);

/*
 * img as an SBOM (new): format "spdx-json" (SPDX 2.3) or "cyclonedx-json"
 * (CycloneDX 1.6); NULL for another format. name names the image (its
 * reference); created_ms is the creation time written.
 */
json_t *strata_pkg_sbom(const strata_pkg_image *img, const char *name,
                        const char *format, int64_t created_ms);

#endif
