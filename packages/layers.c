/*
 * layers.c - an image's layers applied one over another, keeping only
 * the files that say what is installed. Each layer is a tar stream
 * (plain, gzip or zstd) pulled through libarchive from a read callback,
 * so a layer is never on disk nor whole in memory: every entry that is
 * not wanted is skipped as it streams, and a wanted one is read into
 * memory up to STRATA_PKG_MAX_FILE.
 *
 * OCI layer semantics: within a layer, its entries are collected apart
 * (upper) with its whiteouts and opaque directories; at the end of the
 * layer the whiteouts and opaque directories delete what the lower
 * layers left, then the layer's own files replace theirs (the last writer
 * wins). A hard link takes the content of its target when the target is
 * a kept file; a symbolic link is kept as such and followed on lookup.
 */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "packages-int.h"

#define MAX_LINK_HOPS 8
/*
 * What all kept files may hold together, however many layers and
 * status.d files: each is at most STRATA_PKG_MAX_FILE, and these bound
 * their number and their sum.
 */
#define MAX_KEPT_FILES 10000
#define MAX_KEPT_BYTES ((size_t) 256 * 1024 * 1024)

static const char *const wanted_paths[] = {
    "var/lib/dpkg/status",
    "lib/apk/db/installed",
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages",    /* Berkeley DB: noted, never read */
    "var/lib/rpm/Packages.db", /* ndb: noted, never read */
    "usr/lib/sysimage/rpm/Packages.db",
    "etc/os-release",
    "usr/lib/os-release",
};

#define NWANTED (sizeof(wanted_paths) / sizeof(wanted_paths[0]))

typedef struct file {
    char *path;
    char *data; /* content, or the target of a symbolic link */
    size_t len;
    int symlink;
} file;

typedef struct files {
    file *v;
    size_t n, cap;
} files;

struct strata_pkg_files {
    files kept;
};

static char *
memdup(const char *p, size_t n)
{
    char *s = strata_xmalloc(n + 1);

    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Whether path's content matters (no leading "./" or "/"). */
static int
wanted(const char *path)
{
    size_t i;
    const char *rest;

    for (i = 0; i < NWANTED; i++)
        if (strcmp(path, wanted_paths[i]) == 0)
            return 1;
    if (strncmp(path, STRATA_PKG__STATUS_D, strlen(STRATA_PKG__STATUS_D)) ==
        0) {
        rest = path + strlen(STRATA_PKG__STATUS_D);
        return *rest != '\0' && strchr(rest, '/') == NULL &&
               !ends_with(rest, ".md5sums");
    }
    return 0;
}

/* Rarely-read files need no content: presence is all that is said. */
static int
presence_only(const char *path)
{
    return ends_with(path, "/Packages") || ends_with(path, "/Packages.db");
}

/* A tar name without "./" or "/" in front, nor "/" at the end (new). */
static char *
normalise(const char *name)
{
    char *s;
    size_t n;

    while (name[0] == '.' && name[1] == '/')
        name += 2;
    while (name[0] == '/')
        name++;
    s = strata_xstrdup(name);
    n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

static void
file_release(file *f)
{
    free(f->path);
    free(f->data);
}

static void
files_release(files *fs)
{
    size_t i;

    for (i = 0; i < fs->n; i++)
        file_release(&fs->v[i]);
    free(fs->v);
    memset(fs, 0, sizeof(*fs));
}

static file *
files_find(const files *fs, const char *path)
{
    size_t i;

    for (i = 0; i < fs->n; i++)
        if (strcmp(fs->v[i].path, path) == 0)
            return &fs->v[i];
    return NULL;
}

static void
files_remove_at(files *fs, size_t i)
{
    file_release(&fs->v[i]);
    fs->v[i] = fs->v[--fs->n];
}

/* Puts f (taken) in fs, replacing one of the same path. */
static void
files_put(files *fs, file *f)
{
    file *old = files_find(fs, f->path);

    if (old != NULL) {
        file_release(old);
        *old = *f;
        return;
    }
    if (fs->n == fs->cap) {
        fs->cap = fs->cap ? 2 * fs->cap : 8;
        fs->v = strata_xrealloc(fs->v, fs->cap * sizeof(*fs->v));
    }
    fs->v[fs->n++] = *f;
}

/* Deletes path and everything under it (path "" deletes all). */
static void
files_delete_tree(files *fs, const char *path)
{
    size_t i = 0, n = strlen(path);

    while (i < fs->n) {
        const char *p = fs->v[i].path;

        if (n == 0 || strcmp(p, path) == 0 ||
            (strncmp(p, path, n) == 0 && p[n] == '/'))
            files_remove_at(fs, i);
        else
            i++;
    }
}

/* Deletes everything under dir, keeping dir ("" is the root). */
static void
files_delete_under(files *fs, const char *dir)
{
    size_t i = 0, n = strlen(dir);

    while (i < fs->n) {
        const char *p = fs->v[i].path;

        if (n == 0 || (strncmp(p, dir, n) == 0 && p[n] == '/'))
            files_remove_at(fs, i);
        else
            i++;
    }
}

strata_pkg_files *
strata_pkg_files_new(void)
{
    return strata_xcalloc(1, sizeof(strata_pkg_files));
}

void
strata_pkg_files_free(strata_pkg_files *f)
{
    if (f == NULL)
        return;
    files_release(&f->kept);
    free(f);
}

/* ---- one layer ----------------------------------------------------------- */

typedef struct layer {
    struct archive *a;
    const char *name;
    strata_pkg_read_cb read;
    void *arg;
    strata_error err; /* the read callback's failure */
    files upper;
    size_t kept_bytes;          /* below's and upper's content, summed */
    char **whiteouts, **opaque; /* paths deleted in lower layers */
    size_t nwhiteouts, nopaque;
} layer;

static la_ssize_t
on_read(struct archive *a, void *arg, const void **buf)
{
    layer *l = arg;
    size_t len = 0;

    if (l->read(buf, &len, l->arg, &l->err) != 0) {
        archive_set_error(a, EIO, "%s", l->err.msg);
        return -1;
    }
    return (la_ssize_t) len;
}

static void
push_path(char ***v, size_t *n, char *path)
{
    *v = strata_xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = path;
}

static int
archive_fail(layer *l, const char *what, strata_error *err)
{
    const char *why;

    if (l->err.code != 0)
        return strata_error_set(err, l->err.code, "%s", l->err.msg);
    why = archive_error_string(l->a);
    if (why == NULL || why[0] == '\0')
        why = "unknown error";
    /* libarchive's messages start with a capital: ours never do. */
    return strata_error_set(err, STRATA_EPROTO,
                            "cannot read layer '%s': %s%c%s", l->name, what,
                            tolower((unsigned char) why[0]), why + 1);
}

/* Reads the current entry's data (at most STRATA_PKG_MAX_FILE bytes). */
static int
read_data(char **out, size_t *len, layer *l, const char *path, int64_t size,
          strata_error *err)
{
    strata_buf b;
    char chunk[16384];
    la_ssize_t n;

    if (size < 0 || (uint64_t) size > STRATA_PKG_MAX_FILE)
        return strata_error_set(err, STRATA_ETOOBIG,
                                "'%s' in layer '%s' has %lld bytes, more than "
                                "the %zu read",
                                path, l->name, (long long) size,
                                STRATA_PKG_MAX_FILE);
    strata_buf_init(&b);
    while ((n = archive_read_data(l->a, chunk, sizeof(chunk))) > 0) {
        if (b.len + (size_t) n > STRATA_PKG_MAX_FILE) {
            strata_buf_release(&b);
            return strata_error_set(err, STRATA_ETOOBIG,
                                    "'%s' in layer '%s' is larger than the "
                                    "%zu bytes read",
                                    path, l->name, STRATA_PKG_MAX_FILE);
        }
        strata_buf_add(&b, chunk, (size_t) n);
    }
    if (n < 0) {
        strata_buf_release(&b);
        return archive_fail(l, "", err);
    }
    *len = b.len;
    *out = strata_buf_detach(&b);
    return 0;
}

/* A whiteout entry: records what it deletes in the lower layers. */
static void
whiteout(layer *l, char *path)
{
    char *slash = strrchr(path, '/');
    char *base = slash != NULL ? slash + 1 : path;
    size_t dirlen = slash != NULL ? (size_t) (slash - path) : 0;

    if (strcmp(base, STRATA_PKG__OPAQUE) == 0) {
        path[dirlen] = '\0';
        push_path(&l->opaque, &l->nopaque, path);
        return;
    }
    /* "dir/.wh.name" deletes "dir/name". */
    memmove(base, base + strlen(STRATA_PKG__WHITEOUT),
            strlen(base + strlen(STRATA_PKG__WHITEOUT)) + 1);
    push_path(&l->whiteouts, &l->nwhiteouts, path);
}

static int
entry(layer *l, const strata_pkg_files *below, struct archive_entry *e,
      strata_error *err)
{
    char *path = normalise(archive_entry_pathname(e));
    const char *base = strrchr(path, '/');
    const char *link;
    file f = {0}, *target;
    int rc = 0;

    base = base != NULL ? base + 1 : path;
    if (strncmp(base, STRATA_PKG__WHITEOUT, strlen(STRATA_PKG__WHITEOUT)) ==
        0) {
        whiteout(l, path);
        return 0;
    }
    if (!wanted(path)) {
        free(path);
        return 0;
    }
    f.path = path;
    if ((link = archive_entry_hardlink(e)) != NULL) {
        char *t = normalise(link);

        target = files_find(&l->upper, t);
        if (target == NULL)
            target = files_find(&below->kept, t);
        if (target == NULL) {
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "hard link '%s' in layer '%s' points to "
                                  "'%s', which is not a package database",
                                  path, l->name, t);
            free(t);
            free(path);
            return rc;
        }
        free(t);
        f.data = memdup(target->data, target->len);
        f.len = target->len;
        f.symlink = target->symlink;
    } else if (archive_entry_filetype(e) == AE_IFLNK) {
        f.symlink = 1;
        f.data = strata_xstrdup(
            archive_entry_symlink(e) != NULL ? archive_entry_symlink(e) : "");
        f.len = strlen(f.data);
    } else if (archive_entry_filetype(e) != AE_IFREG) {
        /* A directory or a device where the file was: it is gone. */
        push_path(&l->whiteouts, &l->nwhiteouts, strata_xstrdup(path));
        free(path);
        return 0;
    } else if (presence_only(path)) {
        f.data = strata_xstrdup("");
    } else if ((rc = read_data(&f.data, &f.len, l, path, archive_entry_size(e),
                               err)) != 0) {
        free(path);
        return rc;
    }
    l->kept_bytes += f.len;
    if (below->kept.n + l->upper.n >= MAX_KEPT_FILES ||
        l->kept_bytes > MAX_KEPT_BYTES) {
        rc = strata_error_set(err, STRATA_ETOOBIG,
                              "layer '%s': the package databases it leaves "
                              "are over %d files or %zu bytes",
                              l->name, MAX_KEPT_FILES, MAX_KEPT_BYTES);
        file_release(&f);
        return rc;
    }
    files_put(&l->upper, &f);
    return 0;
}

int
strata_pkg_files_apply(strata_pkg_files *f, const char *name,
                       strata_pkg_read_cb read, void *arg, int64_t *tar_bytes,
                       strata_error *err)
{
    layer l = {0};
    struct archive_entry *e;
    size_t i;
    int rc = 0, r;

    l.name = name;
    l.read = read;
    l.arg = arg;
    for (i = 0; i < f->kept.n; i++)
        l.kept_bytes += f->kept.v[i].len;
    l.a = archive_read_new();
    archive_read_support_filter_gzip(l.a);
    archive_read_support_filter_zstd(l.a);
    archive_read_support_format_tar(l.a);
    if (archive_read_open(l.a, &l, NULL, on_read, NULL) != ARCHIVE_OK) {
        rc = archive_fail(&l, "", err);
        goto out;
    }
    while ((r = archive_read_next_header(l.a, &e)) == ARCHIVE_OK ||
           r == ARCHIVE_WARN) {
        if ((rc = entry(&l, f, e, err)) != 0)
            goto out;
    }
    if (r != ARCHIVE_EOF) {
        rc = archive_fail(&l, "", err);
        goto out;
    }
    if (tar_bytes != NULL)
        *tar_bytes = archive_filter_bytes(l.a, 0);
    /* The layer's deletions apply to what is below it, then its files. */
    for (i = 0; i < l.nopaque; i++)
        files_delete_under(&f->kept, l.opaque[i]);
    for (i = 0; i < l.nwhiteouts; i++)
        files_delete_tree(&f->kept, l.whiteouts[i]);
    for (i = 0; i < l.upper.n; i++)
        files_put(&f->kept, &l.upper.v[i]);
    l.upper.n = 0;
out:
    archive_read_free(l.a);
    files_release(&l.upper);
    for (i = 0; i < l.nwhiteouts; i++)
        free(l.whiteouts[i]);
    for (i = 0; i < l.nopaque; i++)
        free(l.opaque[i]);
    free(l.whiteouts);
    free(l.opaque);
    return rc;
}

/* ---- lookups ------------------------------------------------------------- */

/* Resolves target, relative to link's directory, into a clean path (new). */
static char *
resolve(const char *link, const char *target)
{
    strata_buf b;
    char *joined, *tok, *save = NULL, *out;
    char **parts = NULL;
    size_t n = 0, i;

    if (target[0] == '/') {
        joined = strata_xstrdup(target);
    } else {
        const char *slash = strrchr(link, '/');
        int dirlen = slash != NULL ? (int) (slash - link) : 0;

        joined = strata_xasprintf("%.*s/%s", dirlen, link, target);
    }
    for (tok = strtok_r(joined, "/", &save); tok != NULL;
         tok = strtok_r(NULL, "/", &save)) {
        if (strcmp(tok, ".") == 0)
            continue;
        if (strcmp(tok, "..") == 0) {
            if (n > 0)
                n--;
            continue;
        }
        parts = strata_xrealloc(parts, (n + 1) * sizeof(*parts));
        parts[n++] = tok;
    }
    strata_buf_init(&b);
    for (i = 0; i < n; i++)
        strata_buf_printf(&b, "%s%s", i ? "/" : "", parts[i]);
    out = strata_buf_detach(&b);
    free(parts);
    free(joined);
    return out;
}

const char *
strata_pkg_files_get(const strata_pkg_files *f, const char *path, size_t *len)
{
    const file *x = files_find(&f->kept, path);
    char *p = NULL;
    int hops;

    for (hops = 0; x != NULL && x->symlink && hops < MAX_LINK_HOPS; hops++) {
        char *next = resolve(p != NULL ? p : path, x->data);

        free(p);
        p = next;
        x = files_find(&f->kept, p);
    }
    free(p);
    if (x == NULL || x->symlink)
        return NULL;
    if (len != NULL)
        *len = x->len;
    return x->data;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

size_t
strata_pkg_files_list(const strata_pkg_files *f, const char *dir,
                      const char **out, size_t max)
{
    size_t i, n = 0, dl = strlen(dir);

    for (i = 0; i < f->kept.n && n < max; i++)
        if (strncmp(f->kept.v[i].path, dir, dl) == 0 && !f->kept.v[i].symlink)
            out[n++] = f->kept.v[i].path;
    qsort(out, n, sizeof(*out), cmp_str);
    return n;
}
