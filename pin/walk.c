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

static strata_pin_kind
kind_of(const char *name)
{
    if (strcmp(name, "Dockerfile") == 0 || strcmp(name, "Containerfile") == 0)
        return STRATA_PIN_DOCKERFILE;
    if ((strncmp(name, "Dockerfile.", 11) == 0 ||
         strncmp(name, "Containerfile.", 14) == 0) &&
        !ends_with(name, ".dockerignore"))
        return STRATA_PIN_DOCKERFILE;
    if (ends_with(name, ".Dockerfile") || ends_with(name, ".Containerfile"))
        return STRATA_PIN_DOCKERFILE;
    if (!is_yaml(name))
        return STRATA_PIN_NONE;
    if (strncmp(name, "compose.", 8) == 0 ||
        strncmp(name, "docker-compose.", 15) == 0)
        return STRATA_PIN_COMPOSE;
    return STRATA_PIN_MANIFEST;
}

typedef struct walk {
    strata_pin_file *v;
    size_t n, cap;
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

static int
walk_dir(walk *w, const char *dir, int depth, strata_error *err)
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

        if (rc != 0 || name[0] == '.' || strcmp(name, "node_modules") == 0)
            continue;
        path = strata_xasprintf("%s%s%s", dir,
                                dl > 0 && dir[dl - 1] == '/' ? "" : "/", name);
        if (lstat(path, &st) != 0) {
            free(path);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = walk_dir(w, path, depth + 1, err);
            free(path);
        } else if (S_ISREG(st.st_mode) &&
                   (kind = kind_of(name)) != STRATA_PIN_NONE) {
            add(w, path, kind);
        } else {
            free(path);
        }
    }
    for (i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    return rc;
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
    walk w = {0};
    struct stat st;
    int rc;

    *out = NULL;
    *nout = 0;
    if (stat(path, &st) != 0)
        return strata_error_set(err,
                                errno == ENOENT ? STRATA_ENOTFOUND : STRATA_EIO,
                                "cannot open '%s': %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        const char *base = strrchr(path, '/');
        strata_pin_kind kind = kind_of(base ? base + 1 : path);

        if (kind == STRATA_PIN_NONE)
            kind = is_yaml(path) ? STRATA_PIN_MANIFEST : STRATA_PIN_DOCKERFILE;
        add(&w, strata_xstrdup(path), kind);
    } else if ((rc = walk_dir(&w, path, 0, err)) != 0) {
        files_free(w.v, w.n);
        return rc;
    }
    *out = w.v;
    *nout = w.n;
    return 0;
}
