/*
 * rpm.c - rpm's sqlite database (rpmdb.sqlite, rpm >= 4.16) read with
 * sqlite3 directly, and rpm's version order (rpmvercmp).
 *
 * The database's Packages table holds one rpm header per row (hnum,
 * blob). A header blob is big-endian: il (the index's entry count), dl
 * (the data's size), il entries of {tag, type, offset, count}, then dl
 * bytes of data. Of each header, NAME (1000), VERSION (1001), RELEASE
 * (1002), EPOCH (1003), ARCH (1022) and SOURCERPM (1044) are read. The
 * parser checks every size and offset against the blob before reading:
 * at most 65535 entries, data at most 256 MiB, each string ending inside
 * the data, each integer inside it. The older Berkeley DB (Packages) and
 * ndb (Packages.db) backends are not read: an image with one is refused
 * with an error naming the file.
 *
 * The database arrives as bytes from a layer; sqlite opens it from
 * memory (sqlite3_deserialize, read-only), never from disk.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "packages-int.h"

#define TAG_NAME 1000
#define TAG_VERSION 1001
#define TAG_RELEASE 1002
#define TAG_EPOCH 1003
#define TAG_ARCH 1022
#define TAG_SOURCERPM 1044
#define TYPE_INT32 4
#define TYPE_STRING 6
#define TYPE_I18NSTRING 9
#define MAX_ENTRIES 65535
#define MAX_DATA (256u * 1024 * 1024)

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
           (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

/* The string of an entry (borrowed from the blob), or NULL. */
static const char *
entry_string(const unsigned char *data, uint32_t dl, uint32_t type,
             uint32_t off)
{
    if ((type != TYPE_STRING && type != TYPE_I18NSTRING) || off >= dl ||
        memchr(data + off, '\0', dl - off) == NULL)
        return NULL;
    return (const char *) data + off;
}

int
strata_pkg_rpm_header(strata_pkg *out, const void *blob, size_t len,
                      const char *name, long row, strata_error *err)
{
    const unsigned char *b = blob, *data;
    const char *n = NULL, *v = NULL, *r = NULL, *a = NULL, *src = NULL;
    long epoch = -1;
    uint32_t il, dl, i;

    memset(out, 0, sizeof(*out));
    if (len < 8)
        return strata_error_set(err, STRATA_EPROTO,
                                "'%s': package %ld: header of %zu bytes", name,
                                row, len);
    il = be32(b);
    dl = be32(b + 4);
    if (il == 0 || il > MAX_ENTRIES || dl > MAX_DATA ||
        (uint64_t) 8 + (uint64_t) il * 16 + dl > len)
        return strata_error_set(err, STRATA_EPROTO,
                                "'%s': package %ld: header sizes (%u entries, "
                                "%u bytes) do not fit its %zu bytes",
                                name, row, il, dl, len);
    data = b + 8 + (size_t) il * 16;
    for (i = 0; i < il; i++) {
        const unsigned char *e = b + 8 + (size_t) i * 16;
        uint32_t tag = be32(e), type = be32(e + 4), off = be32(e + 8);
        uint32_t count = be32(e + 12);
        const char **slot = NULL;

        switch (tag) {
        case TAG_NAME:
            slot = &n;
            break;
        case TAG_VERSION:
            slot = &v;
            break;
        case TAG_RELEASE:
            slot = &r;
            break;
        case TAG_ARCH:
            slot = &a;
            break;
        case TAG_SOURCERPM:
            slot = &src;
            break;
        case TAG_EPOCH:
            if (type != TYPE_INT32 || count < 1 || off % 4 != 0 ||
                (uint64_t) off + 4 > dl)
                return strata_error_set(err, STRATA_EPROTO,
                                        "'%s': package %ld: bad EPOCH entry",
                                        name, row);
            epoch = (long) be32(data + off);
            continue;
        default:
            continue;
        }
        if ((*slot = entry_string(data, dl, type, off)) == NULL)
            return strata_error_set(err, STRATA_EPROTO,
                                    "'%s': package %ld: tag %u is not a "
                                    "string inside the header",
                                    name, row, tag);
    }
    if (n == NULL || v == NULL || n[0] == '\0')
        return strata_error_set(err, STRATA_EPROTO,
                                "'%s': package %ld: no NAME or VERSION", name,
                                row);
    out->name = strata_xstrdup(n);
    if (epoch >= 0)
        out->version =
            strata_xasprintf("%ld:%s%s%s", epoch, v, r ? "-" : "", r ? r : "");
    else
        out->version = strata_xasprintf("%s%s%s", v, r ? "-" : "", r ? r : "");
    out->arch = strata_xstrdup(a != NULL ? a : "");
    out->source = src != NULL ? strata_xstrdup(src) : NULL;
    return 0;
}

int
strata_pkg_rpm_parse(strata_pkg **pkgs, size_t *npkgs, const char *name,
                     const char *data, size_t len, strata_error *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    unsigned char *copy;
    size_t cap = *npkgs;
    int rc, src;

    /* The sqlite header is 100 bytes; bytes 18-19 are read below. */
    if (len < 100 || memcmp(data, "SQLite format 3", 16) != 0)
        return strata_error_set(err, STRATA_EPROTO,
                                "'%s': not a sqlite database", name);
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) !=
        SQLITE_OK) {
        rc = strata_error_set(err, STRATA_EINTERNAL, "'%s': %s", name,
                              sqlite3_errmsg(db));
        goto out;
    }
    copy = sqlite3_malloc64(len);
    if (copy == NULL)
        abort();
    memcpy(copy, data, len);
    /*
     * rpm keeps its database in WAL mode; a database in memory has no
     * WAL, so it is read as a rollback-journal one (header bytes 18-19).
     */
    if (copy[18] == 2 && copy[19] == 2)
        copy[18] = copy[19] = 1;
    /* sqlite owns copy from here, and frees it with the connection. */
    if (sqlite3_deserialize(db, "main", copy, (sqlite3_int64) len,
                            (sqlite3_int64) len,
                            SQLITE_DESERIALIZE_FREEONCLOSE |
                                SQLITE_DESERIALIZE_READONLY) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages ORDER BY hnum",
                           -1, &stmt, NULL) != SQLITE_OK) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "'%s': not an rpm database: %s", name,
                              sqlite3_errmsg(db));
        goto out;
    }
    while ((src = sqlite3_step(stmt)) == SQLITE_ROW) {
        long row = (long) sqlite3_column_int64(stmt, 0);
        const void *blob = sqlite3_column_blob(stmt, 1);
        size_t blen = (size_t) sqlite3_column_bytes(stmt, 1);
        strata_pkg p;

        if ((rc = strata_pkg_rpm_header(&p, blob, blob ? blen : 0, name, row,
                                        err)) != 0)
            goto out;
        if (*npkgs >= STRATA_PKG_MAX_PACKAGES) {
            strata_pkg__release(&p);
            rc = strata_error_set(err, STRATA_ETOOBIG,
                                  "'%s': more than %d packages", name,
                                  STRATA_PKG_MAX_PACKAGES);
            goto out;
        }
        if (*npkgs == cap) {
            cap = cap ? 2 * cap : 64;
            *pkgs = strata_xrealloc(*pkgs, cap * sizeof(**pkgs));
        }
        (*pkgs)[(*npkgs)++] = p;
    }
    if (src != SQLITE_DONE) {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "'%s': corrupt rpm database: %s", name,
                              sqlite3_errmsg(db));
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rc;
}

/* ---- rpmvercmp ------------------------------------------------------------
 */

static int
segcmp(const char *a, size_t al, const char *b, size_t bl)
{
    int rc = memcmp(a, b, al < bl ? al : bl);

    if (rc != 0)
        return rc < 0 ? -1 : 1;
    return al < bl ? -1 : al > bl;
}

/* rpm's rpmvercmp (rpmio/rpmvercmp.c), on one of version or release. */
static int
rpmvercmp(const char *a, const char *ae, const char *b, const char *be)
{
    while (a < ae || b < be) {
        const char *s1, *s2;
        int isnum;

        while (a < ae && !isalnum((unsigned char) *a) && *a != '~' && *a != '^')
            a++;
        while (b < be && !isalnum((unsigned char) *b) && *b != '~' && *b != '^')
            b++;
        if ((a < ae && *a == '~') || (b < be && *b == '~')) {
            if (a >= ae || *a != '~')
                return 1;
            if (b >= be || *b != '~')
                return -1;
            a++;
            b++;
            continue;
        }
        if ((a < ae && *a == '^') || (b < be && *b == '^')) {
            if (a >= ae)
                return -1;
            if (b >= be)
                return 1;
            if (*a != '^')
                return 1;
            if (*b != '^')
                return -1;
            a++;
            b++;
            continue;
        }
        if (a >= ae || b >= be)
            break;
        s1 = a;
        s2 = b;
        if (isdigit((unsigned char) *s1)) {
            while (s1 < ae && isdigit((unsigned char) *s1))
                s1++;
            while (s2 < be && isdigit((unsigned char) *s2))
                s2++;
            isnum = 1;
        } else {
            while (s1 < ae && isalpha((unsigned char) *s1))
                s1++;
            while (s2 < be && isalpha((unsigned char) *s2))
                s2++;
            isnum = 0;
        }
        if (b == s2)
            return isnum ? 1 : -1;
        if (isnum) {
            int rc;

            while (a < s1 - 1 && *a == '0')
                a++;
            while (b < s2 - 1 && *b == '0')
                b++;
            if (s1 - a != s2 - b)
                return s1 - a > s2 - b ? 1 : -1;
            if ((rc = segcmp(a, (size_t) (s1 - a), b, (size_t) (s2 - b))))
                return rc;
        } else {
            int rc = segcmp(a, (size_t) (s1 - a), b, (size_t) (s2 - b));

            if (rc != 0)
                return rc;
        }
        a = s1;
        b = s2;
    }
    if (a >= ae && b >= be)
        return 0;
    return a >= ae ? -1 : 1;
}

typedef struct evr {
    unsigned long epoch;
    const char *v, *ve, *r, *re;
} evr;

static void
split_evr(evr *x, const char *s)
{
    const char *colon = strchr(s, ':'), *p, *dash;

    x->epoch = 0;
    if (colon != NULL) {
        for (p = s; p < colon && isdigit((unsigned char) *p); p++)
            ;
        if (p == colon && p > s) {
            x->epoch = strtoul(s, NULL, 10);
            s = colon + 1;
        }
    }
    dash = strrchr(s, '-');
    x->v = s;
    x->ve = dash != NULL ? dash : s + strlen(s);
    x->r = dash != NULL ? dash + 1 : x->ve;
    x->re = s + strlen(s);
}

int
strata_pkg_rpm_vercmp(const char *a, const char *b)
{
    evr x, y;
    int rc;

    split_evr(&x, a);
    split_evr(&y, b);
    if (x.epoch != y.epoch)
        return x.epoch < y.epoch ? -1 : 1;
    if ((rc = rpmvercmp(x.v, x.ve, y.v, y.ve)) != 0)
        return rc;
    return rpmvercmp(x.r, x.re, y.r, y.re);
}
