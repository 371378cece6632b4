/*
 * walk.c - which files `strata pin` looks at: a file given by name,
 * or every Dockerfile, compose file and YAML file below a directory,
 * depth first in sorted order so the output is stable. Hidden
 * directories and node_modules are skipped, and symbolic links are never
 * followed (a rewrite through one would change a file outside the tree).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pin.h"

#define MAX_DEPTH 64

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int
is_yaml(const char *s)
{
    return ends_with(s, ".yaml") || ends_with(s, ".yml");
}

static int
is_dockerfile(const char *name)
{
    if (strcmp(name, "Dockerfile") == 0 || strcmp(name, "Containerfile") == 0)
        return 1;
    if ((strncmp(name, "Dockerfile.", 11) == 0 ||
         strncmp(name, "Containerfile.", 14) == 0) &&
        !ends_with(name, ".dockerignore"))
        return 1;
    return ends_with(name, ".Dockerfile") || ends_with(name, ".Containerfile");
}

/* 1 when path has the directory component dir ("a/DIR/b", "DIR/b"). */
static int
has_dir(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    const char *p = path;

    while (p != NULL && *p) {
        const char *slash = strchr(p, '/');

        if (slash == NULL)
            return 0;
        if ((size_t) (slash - p) == n && strncmp(p, dir, n) == 0)
            return 1;
        p = slash + 1;
    }
    return 0;
}

/* 1 when the directory just before base (a suffix of path) is dir. */
static int
parent_is(const char *path, const char *base, const char *dir)
{
    size_t n = strlen(dir);
    const char *start;

    if ((size_t) (base - path) < n + 1)
        return 0;
    start = base - (n + 1);
    return strncmp(start, dir, n) == 0 && start[n] == '/' &&
           (start == path || start[-1] == '/');
}

/* 1 when a directory component of path starts with '.' (".git/x"). */
static int
hidden_dir(const char *path)
{
    const char *p = path;

    while (*p) {
        const char *slash = strchr(p, '/');

        if (slash == NULL)
            return 0;
        if (p[0] == '.' && !(slash == p + 1) &&
            !(slash == p + 2 && p[1] == '.'))
            return 1;
        p = slash + 1;
    }
    return 0;
}

static int
is_values(const char *name)
{
    if (strncmp(name, "values", 6) != 0 || !is_yaml(name))
        return 0;
    return name[6] == '.' || name[6] == '-' || name[6] == '_';
}

strata_pin_kind
strata_pin_kind_of(const char *path)
{
    const char *base = strrchr(path, '/');

    base = base ? base + 1 : path;
    if (is_dockerfile(base))
        return STRATA_PIN_DOCKERFILE;
    if (strcmp(base, "devcontainer.json") == 0 ||
        strcmp(base, ".devcontainer.json") == 0)
        return STRATA_PIN_DEVCONTAINER;
    if (strcmp(base, "Kustomization") == 0)
        return has_dir(path, "node_modules") ? STRATA_PIN_NONE
                                             : STRATA_PIN_KUSTOMIZE;
    if (!is_yaml(base) || has_dir(path, "node_modules"))
        return STRATA_PIN_NONE;
    if (parent_is(path, base, "workflows") &&
        (parent_is(path, base - 10, ".github")))
        return STRATA_PIN_GITHUB;
    if (strcmp(base, ".gitlab-ci.yml") == 0 ||
        strcmp(base, ".gitlab-ci.yaml") == 0 || has_dir(path, ".gitlab"))
        return STRATA_PIN_GITLAB;
    if (hidden_dir(path) || base[0] == '.')
        return STRATA_PIN_NONE;
    if (strcmp(base, "Chart.yaml") == 0)
        return STRATA_PIN_HELM_CHART;
    if (is_values(base))
        return STRATA_PIN_HELM_VALUES;
    if (strcmp(base, "kustomization.yaml") == 0 ||
        strcmp(base, "kustomization.yml") == 0)
        return STRATA_PIN_KUSTOMIZE;
    if (strncmp(base, "compose.", 8) == 0 ||
        strncmp(base, "docker-compose.", 15) == 0)
        return STRATA_PIN_COMPOSE;
    return STRATA_PIN_MANIFEST;
}

const char *
strata_pin_kind_name(strata_pin_kind kind)
{
    static const char *const names[] = {
        "none",        "dockerfile",   "compose",   "manifest",
        "helm-values", "helm-chart",   "kustomize", "github-actions",
        "gitlab-ci",   "devcontainer", "other",
    };

    if ((size_t) kind >= sizeof(names) / sizeof(names[0]))
        return "none";
    return names[kind];
}

typedef struct walk {
    strata_pin_file *v;
    size_t n, cap;
    const strata_pin_matchers *matchers;
} walk;

static void
add(walk *w, char *path, strata_pin_kind kind)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 32;
        w->v = strata_xrealloc(w->v, w->cap * sizeof(*w->v));
    }
    w->v[w->n].path = path;
    w->v[w->n].kind = kind;
    w->n++;
}

/* Hidden directories that hold references: entered, the rest are not. */
static int
hidden_ok(const char *name)
{
    return strcmp(name, ".github") == 0 || strcmp(name, ".gitlab") == 0 ||
           strcmp(name, ".devcontainer") == 0 ||
           strcmp(name, ".gitlab-ci.yml") == 0 ||
           strcmp(name, ".gitlab-ci.yaml") == 0 ||
           strcmp(name, ".devcontainer.json") == 0;
}

static int
walk_dir(walk *w, const char *dir, size_t root, int depth, strata_error *err)
{
    struct dirent **ents = NULL;
    int n, i, rc = 0;
    size_t dl = strlen(dir);

    if (depth > MAX_DEPTH)
        return 0;
    n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        return strata_error_set(err, STRATA_EIO, "cannot read '%s': %s", dir,
                                strerror(errno));
    for (i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        struct stat st;
        char *path;
        strata_pin_kind kind;

        if (rc != 0 || (name[0] == '.' && !hidden_ok(name)) ||
            strcmp(name, "node_modules") == 0)
            continue;
        path = strata_xasprintf("%s%s%s", dir,
                                dl > 0 && dir[dl - 1] == '/' ? "" : "/", name);
        if (lstat(path, &st) != 0) {
            free(path);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = walk_dir(w, path, root, depth + 1, err);
            free(path);
        } else if (S_ISREG(st.st_mode) &&
                   ((kind = strata_pin_kind_of(path + root)) !=
                        STRATA_PIN_NONE ||
                    strata_pin_matchers_select(w->matchers, path))) {
            add(w, path, kind != STRATA_PIN_NONE ? kind : STRATA_PIN_OTHER);
        } else {
            free(path);
        }
    }
    for (i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    return rc;
}

/* Where the repository-relative part of a path below dir starts. */
static size_t
root_len(const char *dir)
{
    size_t n = strlen(dir);

    return n > 0 && dir[n - 1] == '/' ? n : n + 1;
}

static int
listed(const walk *w, const char *path)
{
    size_t i;

    for (i = 0; i < w->n; i++)
        if (strcmp(w->v[i].path, path) == 0)
            return 1;
    return 0;
}

static const char *
no_lookup(const strata_pin_query *q, void *arg)
{
    (void) q;
    (void) arg;
    return NULL;
}

/* Reads a file of at most max bytes (new), or NULL. */
static char *
slurp(size_t *len, const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (f == NULL)
        return NULL;
    buf = strata_xmalloc(max + 1);
    n = fread(buf, 1, max + 1, f);
    fclose(f);
    if (n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int
by_path(const void *a, const void *b)
{
    return strcmp(((const strata_pin_file *) a)->path,
                  ((const strata_pin_file *) b)->path);
}

/*
 * The files others point to: a GitLab CI file's local includes (from the
 * root) and a devcontainer's build.dockerfile (from its directory), when
 * they are regular files below dir not listed yet. Each new file is read
 * in turn, so includes of includes are followed.
 */
static void
follow_links(walk *w, const char *dir)
{
    size_t i, j, root = root_len(dir), before = w->n;

    for (i = 0; i < w->n && w->n < 4096; i++) {
        strata_pin_opts o = {0};
        strata_pin_result r;
        strata_error e = {0};
        struct stat st;
        char *data;
        size_t len = 0;

        if (w->v[i].kind != STRATA_PIN_GITLAB &&
            w->v[i].kind != STRATA_PIN_DEVCONTAINER)
            continue;
        if ((data = slurp(&len, w->v[i].path, 1 << 20)) == NULL)
            continue;
        o.lookup = no_lookup;
        if (strata_pin_any(&r, data, len, w->v[i].kind, w->v[i].path + root, &o,
                           &e) == 0) {
            for (j = 0; j < r.nlinks; j++) {
                char *p = strata_xasprintf("%.*s/%s", (int) (root - 1), dir,
                                           r.links[j].path);
                if (strstr(r.links[j].path, "..") == NULL && !listed(w, p) &&
                    lstat(p, &st) == 0 && S_ISREG(st.st_mode))
                    add(w, p, r.links[j].kind);
                else
                    free(p);
            }
            strata_pin_result_release(&r);
        }
        free(data);
    }
    if (w->n > before)
        qsort(w->v, w->n, sizeof(*w->v), by_path);
}

static void
files_free(strata_pin_file *files, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(files[i].path);
    free(files);
}

int
strata_pin_walk(strata_pin_file **out, size_t *nout, const char *path,
                strata_error *err)
{
    return strata_pin_walk_with(out, nout, path, NULL, err);
}

int
strata_pin_walk_with(strata_pin_file **out, size_t *nout, const char *path,
                     const strata_pin_matchers *matchers, strata_error *err)
{
    walk w = {0};
    struct stat st;
    int rc;

    w.matchers = matchers;
    *out = NULL;
    *nout = 0;
    if (stat(path, &st) != 0)
        return strata_error_set(err,
                                errno == ENOENT ? STRATA_ENOTFOUND : STRATA_EIO,
                                "cannot open '%s': %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        strata_pin_kind kind = strata_pin_kind_of(path);

        if (kind == STRATA_PIN_NONE &&
            strata_pin_matchers_select(matchers, path))
            kind = STRATA_PIN_OTHER;
        if (kind == STRATA_PIN_NONE)
            kind = is_yaml(path) ? STRATA_PIN_MANIFEST : STRATA_PIN_DOCKERFILE;
        add(&w, strata_xstrdup(path), kind);
    } else if ((rc = walk_dir(&w, path, root_len(path), 0, err)) != 0) {
        files_free(w.v, w.n);
        return rc;
    } else {
        follow_links(&w, path);
    }
    *out = w.v;
    *nout = w.n;
    return 0;
}

static int
by_kind(strata_pin_result *out, const char *data, size_t len,
        strata_pin_kind kind, const char *name, const strata_pin_opts *opts,
        strata_error *err)
{
    strata_pin_opts o = *opts;
    strata_dockerfile *df = NULL;
    int rc;

    switch (kind) {
    case STRATA_PIN_DOCKERFILE:
        if ((rc = strata_dockerfile_parse(&df, data, len, name, NULL, err)) !=
            0) {
            memset(out, 0, sizeof(*out));
            return rc;
        }
        rc = strata_pin_dockerfile_opts(out, data, len, df, name, opts, err);
        strata_dockerfile_free(df);
        return rc;
    case STRATA_PIN_COMPOSE:
        o.yaml = STRATA_PIN_YAML_COMPOSE;
        return strata_pin_yaml(out, data, len, name, &o, err);
    case STRATA_PIN_HELM_VALUES:
        return strata_pin_helm_values(out, data, len, name, opts, err);
    case STRATA_PIN_HELM_CHART:
        return strata_pin_helm_chart(out, data, len, name, opts, err);
    case STRATA_PIN_KUSTOMIZE:
        return strata_pin_kustomize(out, data, len, name, opts, err);
    case STRATA_PIN_GITHUB:
        return strata_pin_github(out, data, len, name, opts, err);
    case STRATA_PIN_GITLAB:
        return strata_pin_gitlab(out, data, len, name, opts, err);
    case STRATA_PIN_DEVCONTAINER:
        return strata_pin_devcontainer(out, data, len, name, opts, err);
    default:
        o.yaml = STRATA_PIN_YAML_K8S;
        return strata_pin_yaml(out, data, len, name, &o, err);
    }
}

/* Appends b's changes, problems and links to a, and takes b's data. */
static void
merge(strata_pin_result *a, strata_pin_result *b)
{
    size_t i;

    a->changes = strata_xrealloc(a->changes, (a->nchanges + b->nchanges + 1) *
                                                 sizeof(*a->changes));
    for (i = 0; i < b->nchanges; i++)
        a->changes[a->nchanges++] = b->changes[i];
    a->problems = strata_xrealloc(
        a->problems, (a->nproblems + b->nproblems + 1) * sizeof(*a->problems));
    for (i = 0; i < b->nproblems; i++)
        a->problems[a->nproblems++] = b->problems[i];
    a->nrefs += b->nrefs;
    free(a->data);
    a->data = b->data;
    a->len = b->len;
    free(b->changes);
    free(b->problems);
    free(b->links);
    memset(b, 0, sizeof(*b));
}

int
strata_pin_any(strata_pin_result *out, const char *data, size_t len,
               strata_pin_kind kind, const char *name,
               const strata_pin_opts *opts, strata_error *err)
{
    strata_pin_result more;
    int rc;

    if (kind == STRATA_PIN_OTHER) {
        rc = strata_pin_match(out, data, len, name, opts, err);
        return rc;
    }
    if ((rc = by_kind(out, data, len, kind, name, opts, err)) != 0)
        return rc;
    /* The matchers read what the file's reader left (pins included). */
    if (opts->matchers != NULL &&
        strata_pin_matchers_select(opts->matchers, name ? name : "-")) {
        strata_pin_match(&more, out->data, out->len, name, opts, err);
        merge(out, &more);
    }
    return 0;
}
