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

#endif
