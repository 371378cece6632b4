/*
 * packages-int.h - what the files of the packages module share: the paths of
 * the databases and the layer format's markers.
 */
#ifndef STRATA_PACKAGES_INT_H
#define STRATA_PACKAGES_INT_H

#include "packages.h"

#define STRATA_PKG__STATUS "var/lib/dpkg/status"
#define STRATA_PKG__STATUS_D "var/lib/dpkg/status.d/"
#define STRATA_PKG__APK "lib/apk/db/installed"
#define STRATA_PKG__WHITEOUT ".wh."
#define STRATA_PKG__OPAQUE ".wh..wh..opq"

/* Frees a package's strings (not p itself). */
void strata_pkg__release(strata_pkg *p);

/* delta.c: s as Markdown text (HTML and Markdown marks escaped) into b. */
void strata_pkg__md(strata_buf *b, const char *s);
/* "added", "removed", "upgraded", "downgraded". */
const char *strata_pkg__kind_name(strata_pkg_change_kind kind);

/* vulns.c: a severity's rank (STRATA_PKG_SEV_*; unknown for others) and
 * name (static). */
int strata_pkg__severity(const char *s);
const char *strata_pkg__severity_name(int sev);
/* Frees a change's fixes and brings. */
void strata_pkg__change_unlink(strata_pkg_change *c);
/*
 * delta.c: "fixes CVE-1 (critical), CVE-2 (high)" and "brings …" of c
 * into b, at most max ids of each listed ("and 3 more"); Markdown-escaped
 * when md. Nothing when c has neither.
 */
void strata_pkg__vulns_note(strata_buf *b, const strata_pkg_change *c,
                            size_t max, int md);

#endif
