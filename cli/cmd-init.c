/*
 * cmd-init.c - `strata init [PATH] [--force]`: looks at a checkout and
 * writes a starting configuration (-c FILE, default ./strata.yaml) and a
 * golden catalog next to it (catalog.yaml), with every base image the
 * checkout's Dockerfiles, compose files and Kubernetes manifests name.
 *
 * The files are found and read exactly as `strata pin` finds and reads
 * them (strata_pin_walk, the Dockerfile parser, strata_pin_yaml), with a
 * lookup that only records each reference it is asked about: the
 * canonical NAME:TAG (a digest dropped, ":latest" added where no tag is
 * written) and where it is written. Every base goes into watch.bases and
 * into the catalog, each with a comment saying where it was found. When
 * PATH is a git checkout, its origin (else the checkout itself) becomes
 * a repository to scan, its images left for the user to name. Both files
 * load under `strata config check` as written; an existing file is never
 * replaced unless --force says so.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pin.h"

#define MAX_FILE (4 * 1024 * 1024)
#define MAX_PLACES 3 /* places listed in a base's comment */

/* One base: where it is written, the first few places. */
typedef struct base {
    char *ref;
    strata_strmap *seen; /* every "FILE:LINE" */
    char *places[MAX_PLACES];
    size_t nplaces, count;
} base;

typedef struct init_cmd {
    strata_strmap *bases; /* canonical ref -> base */
    const char *root;     /* PATH as given */
    const char *file;     /* the file being read, relative to root */
    size_t nfiles;        /* files that named at least one image */
    size_t nrefs;
    strata_buf skipped; /* "#   FILE: why" lines */
} init_cmd;

/* The lookup: records q->ref and where; pins nothing. */
static const char *
record(const strata_pin_query *q, void *arg)
{
    init_cmd *c = arg;
    base *b = strata_strmap_get(c->bases, q->ref);
    char *place;

    if (b == NULL) {
        b = strata_xcalloc(1, sizeof(*b));
        b->ref = strata_xstrdup(q->ref);
        b->seen = strata_strmap_new();
        strata_strmap_put(c->bases, q->ref, b);
    }
    /* Two stages FROM one ARG default are one place. */
    place = strata_xasprintf("%s:%u", c->file, q->line);
    if (!strata_strmap_has(b->seen, place)) {
        strata_strmap_put(b->seen, place, b);
        if (b->nplaces < MAX_PLACES) {
            b->places[b->nplaces++] = place;
            place = NULL;
        }
    }
    free(place);
    b->count++;
    c->nrefs++;
    return NULL;
}

/* path relative to the root it was found under. */
static const char *
relative(const char *root, const char *path)
{
    size_t n = strlen(root);

    if (strcmp(path, root) == 0) {
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
    }
    if (strncmp(path, root, n) == 0 && path[n] == '/')
        return path + n + 1;
    if (n > 0 && root[n - 1] == '/' && strncmp(path, root, n) == 0)
        return path + n;
    return path;
}

/* Reads one file's references into c; a file that cannot be read or
 * parsed is listed in c->skipped (a stray *.yaml that is not a manifest
 * is not). */
static void
scan_file(init_cmd *c, const strata_pin_file *f)
{
    strata_pin_opts o = {0};
    strata_pin_result res = {0};
    strata_dockerfile *df = NULL;
    strata_error err = {0};
    size_t before = c->nrefs, i;
    char *data = NULL;
    size_t len = 0;
    int rc;

    c->file = relative(c->root, f->path);
    o.lookup = record;
    o.arg = c;
    if ((rc = strata_read_file(&data, &len, f->path, MAX_FILE, &err)) != 0)
        goto out;
    if (f->kind == STRATA_PIN_DOCKERFILE) {
        rc = strata_dockerfile_parse(&df, data, len, c->file, NULL, &err);
        if (rc == 0)
            rc = strata_pin_dockerfile_opts(&res, data, len, df, c->file, &o,
                                            &err);
    } else {
        /* Compose and manifests, Helm, Kustomize, CI, devcontainers. */
        rc = strata_pin_any(&res, data, len, f->kind, c->file, &o, &err);
        /* Any *.yaml may be a Helm template or not Kubernetes at all. */
        if (rc != 0 && f->kind == STRATA_PIN_MANIFEST &&
            !(strstr(data, "kind:") && strstr(data, "image:")))
            goto quiet;
    }
    for (i = 0; rc == 0 && i < res.nproblems; i++)
        strata_buf_printf(&c->skipped, "#   %s\n", res.problems[i]);
out:
    if (rc != 0)
        strata_buf_printf(&c->skipped, "#   %s\n", err.msg);
quiet:
    if (c->nrefs > before)
        c->nfiles++;
    strata_pin_result_release(&res);
    strata_dockerfile_free(df);
    free(data);
}

static int
cmp_base(const void *a, const void *b)
{
    return strcmp((*(base *const *) a)->ref, (*(base *const *) b)->ref);
}

/* The bases, sorted by reference; the array is the caller's. */
static base **
sorted_bases(const init_cmd *c, size_t *n)
{
    base **v = strata_xcalloc(strata_strmap_len(c->bases) + 1, sizeof(*v));
    size_t it = 0, k = 0;
    const char *key;
    void *val;

    while (strata_strmap_next(c->bases, &it, &key, &val))
        v[k++] = val;
    qsort(v, k, sizeof(*v), cmp_base);
    *n = k;
    return v;
}

/* "# found in A:1, B:7 and 3 more places" */
static void
where_comment(strata_buf *b, const char *indent, const base *x)
{
    size_t i, more = strata_strmap_len(x->seen) - x->nplaces;

    strata_buf_printf(b, "%s# found in ", indent);
    for (i = 0; i < x->nplaces; i++)
        strata_buf_printf(b, "%s%s", i ? ", " : "", x->places[i]);

    if (more > 0)
        strata_buf_printf(b, " and %zu more place%s", more,
                          more == 1 ? "" : "s");
    strata_buf_puts(b, "\n");
}

/* ---- the git checkout, read from .git without a library ----------------- */

/* The first "url = " of [remote "origin"] in a git config text, new. */
static char *
origin_url(const char *config)
{
    const char *p = config;
    int in_origin = 0;

    while (p != NULL && *p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t) (eol - p) : strlen(p);
        char *line = strata_xstrndup(p, len), *s = line, *e;

        while (*s == ' ' || *s == '\t')
            s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            *--e = '\0';
        if (*s == '[') {
            in_origin = strcmp(s, "[remote \"origin\"]") == 0;
        } else if (in_origin && strncmp(s, "url", 3) == 0) {
            char *v = s + 3;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v == '=') {
                v++;
                while (*v == ' ' || *v == '\t')
                    v++;
                if (*v != '\0' && strpbrk(v, "\"\\") == NULL) {
                    char *url = strata_xstrdup(v);
                    free(line);
                    return url;
                }
            }
        }
        free(line);
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

/*
 * When dir is the top of a git checkout: its origin's URL (or NULL) and
 * the branch checked out (or NULL); returns 1, else 0. A worktree's .git
 * file names its git directory, whose "commondir" holds the config.
 */
static int
git_checkout(const char *dir, char **url, char **branch)
{
    char *git = strata_xasprintf("%s/.git", dir), *gitdir = NULL;
    char *text = NULL, *path = NULL, *common = NULL;
    struct stat st;
    size_t len;
    int found = 0;

    *url = *branch = NULL;
    if (lstat(git, &st) != 0)
        goto out;
    if (S_ISDIR(st.st_mode)) {
        gitdir = strata_xstrdup(git);
    } else if (S_ISREG(st.st_mode) &&
               strata_read_file(&text, &len, git, 4096, NULL) == 0 &&
               strncmp(text, "gitdir: ", 8) == 0) {
        char *g = strata_xstrndup(text + 8, strcspn(text + 8, "\r\n"));
        gitdir = g[0] == '/' ? g : strata_xasprintf("%s/%s", dir, g);
        if (gitdir != g)
            free(g);
    } else {
        goto out;
    }
    found = 1;
    free(text);
    text = NULL;
    path = strata_xasprintf("%s/HEAD", gitdir);
    if (strata_read_file(&text, &len, path, 4096, NULL) == 0 &&
        strncmp(text, "ref: refs/heads/", 16) == 0)
        *branch = strata_xstrndup(text + 16, strcspn(text + 16, "\r\n"));
    free(text);
    text = NULL;
    free(path);
    path = strata_xasprintf("%s/commondir", gitdir);
    if (strata_read_file(&text, &len, path, 4096, NULL) == 0) {
        char *c = strata_xstrndup(text, strcspn(text, "\r\n"));
        common = c[0] == '/' ? c : strata_xasprintf("%s/%s", gitdir, c);
        if (common != c)
            free(c);
    }
    free(text);
    text = NULL;
    free(path);
    path = strata_xasprintf("%s/config", common ? common : gitdir);
    if (strata_read_file(&text, &len, path, 1024 * 1024, NULL) == 0)
        *url = origin_url(text);
out:
    free(text);
    free(path);
    free(common);
    free(gitdir);
    free(git);
    return found;
}

/* ---- the files written ----------------------------------------------------
 */

/* s as a YAML plain scalar when it reads back as itself, else quoted. */
static void
yaml_scalar(strata_buf *b, const char *s)
{
    const char *p;
    int plain = s[0] != '\0' && strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]) == NULL &&
                strstr(s, ": ") == NULL && strstr(s, " #") == NULL &&
                s[strlen(s) - 1] != ':' && s[strlen(s) - 1] != ' ';

    for (p = s; plain && *p != '\0'; p++)
        if ((unsigned char) *p < 0x20 || *p == '"' || *p == '\\')
            plain = 0;
    if (plain) {
        strata_buf_puts(b, s);
        return;
    }
    strata_buf_putc(b, '"');
    for (p = s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            strata_buf_putc(b, '\\');
        if ((unsigned char) *p < 0x20)
            strata_buf_printf(b, "\\x%02x", (unsigned char) *p);
        else
            strata_buf_putc(b, *p);
    }
    strata_buf_putc(b, '"');
}

static char *
config_text(const init_cmd *c, base **v, size_t n, const char *catalog_name,
            const char *abs_root)
{
    strata_buf b = STRATA_BUF_INIT;
    char *url = NULL, *branch = NULL;
    size_t i;
    int git = git_checkout(c->root, &url, &branch);

    strata_buf_printf(&b,
                      "# strata.yaml - written by `strata init %s`: %zu base "
                      "image%s named by\n# %zu reference%s in %zu file%s. "
                      "Every key: strata.yaml(5); check the file\n# with "
                      "`strata -c FILE config check`.\n",
                      c->root, n, n == 1 ? "" : "s", c->nrefs,
                      c->nrefs == 1 ? "" : "s", c->nfiles,
                      c->nfiles == 1 ? "" : "s");
    if (c->skipped.len > 0)
        strata_buf_printf(&b, "#\n# Left out (not understood):\n%s",
                          strata_buf_cstr(&c->skipped));
    strata_buf_puts(&b, "\n# strata's state: an sqlite database (relative to "
                        "this file).\nstate: ./strata.db\n\n"
                        "# The golden base images: every base found, to "
                        "review (strata-catalog(5)).\ncatalog: ");
    yaml_scalar(&b, catalog_name);
    strata_buf_puts(&b, "\n\n# The bases to watch for new digests. A new "
                        "digest of one is planned after\n# its soak time "
                        "into what repos[].on_base_update says.\nwatch:\n"
                        "  interval: 15m\n  soak: 1h\n");
    if (n == 0) {
        strata_buf_puts(&b, "  # No image reference was found; add bases "
                            "as `- ref: debian:12-slim`.\n  bases: []\n");
    } else {
        strata_buf_puts(&b, "  bases:\n");
        for (i = 0; i < n; i++) {
            where_comment(&b, "    ", v[i]);
            strata_buf_puts(&b, "    - ref: ");
            yaml_scalar(&b, v[i]->ref);
            strata_buf_puts(&b, "\n");
        }
    }
    strata_buf_puts(&b, "\n# The repositories whose Dockerfiles build your "
                        "images: scanned into the\n# lineage graph, and "
                        "where a base update's pull requests go.\n");
    if (!git) {
        strata_buf_printf(&b,
                          "# %s is not a git checkout: add its "
                          "repository here.\nrepos: []\n",
                          c->root);
    } else {
        strata_buf_puts(&b, "repos:\n");
        if (url == NULL)
            strata_buf_puts(&b, "  # The checkout has no remote "
                                "\"origin\": strata reads it where it is.\n");
        strata_buf_puts(&b, "  - url: ");
        yaml_scalar(&b, url ? url : abs_root);
        strata_buf_puts(&b, "\n    branch: ");
        yaml_scalar(&b, branch ? branch : "main");
        strata_buf_puts(&b, "\n    # What to do when a base of these images "
                            "moves: pr pins the new digest\n    # on a "
                            "branch strata/pin-BASE (a pull request with a "
                            "forge token).\n    on_base_update: [pr]\n"
                            "    # The images this repository builds, each "
                            "with its Dockerfile:\n    # images:\n    #   - "
                            "name: registry.example.com/team/app\n    #     "
                            "dockerfile: Dockerfile\n");
    }
    strata_buf_puts(&b, "\n# The HTTP API of `strata run` (loopback only "
                        "without api.token).\napi:\n  listen: "
                        "127.0.0.1:8780\n");
    free(url);
    free(branch);
    return strata_buf_detach(&b);
}

static char *
catalog_text(const init_cmd *c, base **v, size_t n)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i;

    strata_buf_printf(&b,
                      "# catalog.yaml - the golden base images, written by "
                      "`strata init %s`:\n# every base found is listed as "
                      "golden. Remove the ones you do not bless\n# (images on "
                      "them are then reported as non-golden), mark old ones\n"
                      "# `lifecycle: deprecated` with a `sunset` date and "
                      "a `replacement`, and\n# set `max_age` to say when an "
                      "image on a base counts as stale.\n# Every key: "
                      "strata-catalog(5); `strata catalog check` reports "
                      "images on\n# non-golden or deprecated bases.\n",
                      c->root);
    if (n == 0) {
        strata_buf_puts(&b, "bases: []\n");
        return strata_buf_detach(&b);
    }
    strata_buf_puts(&b, "bases:\n");
    for (i = 0; i < n; i++) {
        where_comment(&b, "  ", v[i]);
        strata_buf_puts(&b, "  - ref: ");
        yaml_scalar(&b, v[i]->ref);
        strata_buf_printf(&b, "\n    description: ");
        {
            char *d = strata_xasprintf("named %zu time%s", v[i]->count,
                                       v[i]->count == 1 ? "" : "s");
            yaml_scalar(&b, d);
            free(d);
        }
        strata_buf_puts(&b, "\n    # owners: [platform-team]\n"
                            "    # max_age: 30d\n");
    }
    strata_buf_puts(&b, "\n# Teams and the images they own (fnmatch(3) "
                        "patterns), for the report:\n# teams:\n#   - name: "
                        "payments\n#     images: "
                        "[\"registry.example.com/payments/*\"]\n");
    return strata_buf_detach(&b);
}

/* Writes text to path: a new file (O_EXCL), or with force a temporary
 * file renamed over what is there. */
static int
write_new(const char *path, const char *text, int force, strata_error *err)
{
    char *tmp = force ? strata_xasprintf("%s.strata-XXXXXX", path) : NULL;
    size_t len = strlen(text), off = 0;
    int fd, rc = 0;

    fd = force ? mkstemp(tmp) : open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        rc = strata_error_set(
            err, errno == EEXIST ? STRATA_EEXISTS : STRATA_EIO,
            errno == EEXIST ? "'%s' exists (--force replaces it)"
                            : "cannot create '%s': %s",
            path, strerror(errno));
        goto out;
    }
    if (force)
        (void) fchmod(fd, 0644);
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = strata_error_set(err, STRATA_EIO, "cannot write '%s': %s",
                                  path, strerror(errno));
            break;
        }
        off += (size_t) w;
    }
    if (close(fd) != 0 && rc == 0)
        rc = strata_error_set(err, STRATA_EIO, "cannot write '%s': %s", path,
                              strerror(errno));
    if (rc == 0 && force && rename(tmp, path) != 0)
        rc = strata_error_set(err, STRATA_EIO, "cannot write '%s': %s", path,
                              strerror(errno));
    if (rc != 0)
        unlink(force ? tmp : path);
out:
    free(tmp);
    return rc;
}

static int
exec_init(strata_cmd_ctx *ctx)
{
    init_cmd c = {0};
    const char *root = strata_args_arg(ctx->args, 0);
    const char *config_path = ctx->cli->config_path;
    int force = strata_args_has(ctx->args, "force");
    char *dir = NULL, *catalog_path = NULL, *ctext = NULL, *ktext = NULL;
    char abs_root[PATH_MAX];
    strata_pin_file *files = NULL;
    strata_error err = {0};
    base **v = NULL;
    size_t nfiles = 0, n = 0, i;
    const char *slash;
    int rc = STRATA_EXIT_OK;

    c.root = root != NULL ? root : ".";
    c.bases = strata_strmap_new();
    strata_buf_init(&c.skipped);
    if (realpath(c.root, abs_root) == NULL) {
        fprintf(stderr, "strata: cannot open '%s': %s\n", c.root,
                strerror(errno));
        rc = STRATA_EXIT_USAGE;
        goto out;
    }
    slash = strrchr(config_path, '/');
    dir = slash ? strata_xstrndup(config_path, (size_t) (slash - config_path))
                : strata_xstrdup(".");
    catalog_path = slash ? strata_xasprintf("%s/catalog.yaml", dir)
                         : strata_xstrdup("catalog.yaml");
    /* Both or neither: refuse before reading anything. */
    if (!force &&
        (access(config_path, F_OK) == 0 || access(catalog_path, F_OK) == 0)) {
        fprintf(stderr, "strata: '%s' exists (--force replaces it)\n",
                access(config_path, F_OK) == 0 ? config_path : catalog_path);
        rc = STRATA_EXIT_PROBLEM;
        goto out;
    }
    if (strata_pin_walk(&files, &nfiles, c.root, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    for (i = 0; i < nfiles; i++)
        scan_file(&c, &files[i]);
    v = sorted_bases(&c, &n);
    ctext = config_text(&c, v, n, "./catalog.yaml", abs_root);
    ktext = catalog_text(&c, v, n);
    if (write_new(catalog_path, ktext, force, &err) != 0 ||
        write_new(config_path, ctext, force, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    printf("%s: %zu base%s from %zu reference%s in %zu file%s\n%s: the same "
           "bases, as golden\n",
           config_path, n, n == 1 ? "" : "s", c.nrefs, c.nrefs == 1 ? "" : "s",
           c.nfiles, c.nfiles == 1 ? "" : "s", catalog_path);
    if (c.skipped.len > 0)
        fprintf(stderr,
                "strata: some references were left out (listed at the "
                "top of %s)\n",
                config_path);
out:
    for (i = 0; i < n; i++) {
        size_t k;
        for (k = 0; k < v[i]->nplaces; k++)
            free(v[i]->places[k]);
        strata_strmap_free(v[i]->seen);
        free(v[i]->ref);
        free(v[i]);
    }
    free(v);
    for (i = 0; i < nfiles; i++)
        free(files[i].path);
    free(files);
    strata_strmap_free(c.bases);
    strata_buf_release(&c.skipped);
    free(ctext);
    free(ktext);
    free(catalog_path);
    free(dir);
    return rc;
}

static const strata_cmd_opt init_opts[] = {
    {"force", 'f', 0, NULL, NULL,
     "replace the configuration and catalog when they exist"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_init = {
    .name = "init",
    .summary = "Write a starting configuration and catalog from a checkout.",
    .help =
        "Reads the Dockerfiles, compose files and Kubernetes manifests under "
        "PATH\n(default: the current directory), found and parsed as "
        "`strata pin` does,\nand writes the configuration (-c FILE, default "
        "./strata.yaml) and a golden\ncatalog next to it (catalog.yaml): "
        "every base image named, watched and\nlisted as golden, each with "
        "a comment saying where it was found. A git\ncheckout becomes a "
        "repository to scan (its origin, else the checkout).\nBoth files "
        "pass `strata config check` as written. An existing file is\nnever "
        "replaced without --force. References that cannot be read\n(built "
        "from variables, invalid) are listed at the top of the\n"
        "configuration.\n",
    .opts = init_opts,
    .args = "PATH",
    .min_args = 0,
    .max_args = 1,
    .exec = exec_init,
};
