/*
 * scan-file.c - one Dockerfile of a repository scan (scan.c has the
 * repositories): which consumers it has (each configured image that
 * names it, with its build args, once per platform; or the unnamed
 * consumer "REPO//PATH"), parsing it once per consumer, and replacing its
 * edges in the store: their union, one per (child, parent) at the first
 * line that references the parent, with the digest pinned there. A file's
 * own problems go to the summary; only store failures are returned.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph-int.h"
#include "pin.h"

/* Adds a message to the summary's errors (bytes that are not UTF-8, from
 * a file's text, become '?'). */
void
strata_graph__scan_problem(strata_graph__repo_scan *rs, const char *fmt, ...)
{
    va_list ap;
    json_t *j;
    char *s, *p;

    va_start(ap, fmt);
    s = strata_xvasprintf(fmt, ap);
    va_end(ap);
    if ((j = json_string(s)) == NULL) {
        for (p = s; *p; p++) {
            if ((unsigned char) *p >= 0x80)
                *p = '?';
        }
        j = json_string(s);
    }
    json_array_append_new(rs->errors, j);
    free(s);
}

/* 1 when image im is built from the Dockerfile at path (normalised). */
static int
builds_from(const strata_config_image *im, const char *path)
{
    char *p =
        strata_graph__norm_path(im->dockerfile ? im->dockerfile : "Dockerfile");
    int same = strcmp(p, path) == 0;

    free(p);
    return same;
}

/* 1 when a configured image builds from path. */
static int
named_by(const strata_graph__repo_scan *rs, const char *path)
{
    size_t i;

    for (i = 0; i < rs->repo->n_images; i++)
        if (builds_from(&rs->repo->images[i], path))
            return 1;
    return 0;
}

/*
 * What the configuration says about path: each image that names it with
 * its target, platforms and build args, or "unnamed". A file is parsed
 * again when this changes. Caller frees.
 */
char *
strata_graph__scan_fingerprint(strata_graph__repo_scan *rs, const char *path)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i, j;
    int named = 0;

    strata_buf_puts(&b, "v1");
    for (i = 0; i < rs->repo->n_images; i++) {
        const strata_config_image *im = &rs->repo->images[i];

        if (!builds_from(im, path))
            continue;
        named = 1;
        strata_buf_printf(&b, "\n%s\t%s\t", im->name,
                          im->target ? im->target : "");
        for (j = 0; j < im->platforms.count; j++)
            strata_buf_printf(&b, "%s,", im->platforms.items[j]);
        strata_buf_putc(&b, '\t');
        for (j = 0; j < im->n_build_args; j++)
            strata_buf_printf(&b, "%s=%s\x1f", im->build_args[j].key,
                              im->build_args[j].value);
    }
    if (!named)
        strata_buf_puts(&b, "\nunnamed");
    /* A file another one points to is read as that one says. */
    if (strata_graph__linked_kind(rs, path) != STRATA_PIN_NONE)
        strata_buf_printf(
            &b, "\nkind %s",
            strata_pin_kind_name(
                (strata_pin_kind) strata_graph__linked_kind(rs, path)));
    /* A file the matchers read is read again when they change. */
    if (strata_pin_matchers_select(rs->sc->matchers, path))
        for (i = 0; i < rs->sc->cfg->references.n_matchers; i++)
            strata_buf_printf(&b, "\nmatch %s",
                              rs->sc->cfg->references.matchers[i].match);
    return strata_buf_detach(&b);
}

/* An edge found in the file, before it is written. */
typedef struct found_edge {
    size_t child; /* index into found.children */
    char *parent;
    unsigned line;
    char *digest; /* or NULL */
} found_edge;

typedef struct found {
    char **children; /* consumers, in order */
    int *named;      /* children[i] is a configured image */
    size_t nchildren;
    found_edge *v;
    size_t n, cap;
    strata_strmap *seen;           /* "child\nparent" */
    strata_strmap *diags;          /* diagnostics reported */
    const strata_config_data *cfg; /* for registry aliases */
} found;

static void
found_add(found *f, size_t child, const strata_ref *ref, unsigned line)
{
    strata_ref *plain = NULL;
    char *key, *upstream;
    const char *parent;

    /* Parsed references always take a NULL digest. */
    if (strata_ref_with_digest(&plain, ref, NULL, NULL) != 0)
        return;
    /* A mirror's name and its upstream's are one base. */
    upstream = strata_config_upstream_ref(f->cfg, strata_ref_string(plain));
    parent = upstream != NULL ? upstream : strata_ref_string(plain);
    key = strata_xasprintf("%s\n%s", f->children[child], parent);
    if (!strata_strmap_has(f->seen, key)) {
        found_edge *e;

        strata_strmap_put(f->seen, key, (void *) 1);
        if (f->n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 8;
            f->v = strata_xrealloc(f->v, f->cap * sizeof(*f->v));
        }
        e = &f->v[f->n++];
        e->child = child;
        e->parent = strata_xstrdup(parent);
        e->line = line;
        e->digest = strata_ref_digest(ref)
                        ? strata_xstrdup(strata_ref_digest(ref))
                        : NULL;
    }
    free(key);
    free(upstream);
    strata_ref_free(plain);
}

static void
found_release(found *f)
{
    size_t i;

    for (i = 0; i < f->nchildren; i++)
        free(f->children[i]);
    for (i = 0; i < f->n; i++) {
        free(f->v[i].parent);
        free(f->v[i].digest);
    }
    free(f->children);
    free(f->named);
    free(f->v);
    strata_strmap_free(f->seen);
    strata_strmap_free(f->diags);
}

/* The edges of one parse: the target's chain, or every stage. */
static void
collect(strata_graph__repo_scan *rs, found *f, size_t child,
        const strata_dockerfile *df, const strata_config_image *im,
        const char *path)
{
    size_t nst = strata_dockerfile_stage_count(df), i, nd;
    char *in = strata_xcalloc(nst + 1, 1);
    int *deps = NULL;

    for (i = 0; i < strata_dockerfile_diag_count(df); i++) {
        const char *text = strata_dockerfile_diag(df, i)->text;

        if (!strata_strmap_has(f->diags, text)) {
            strata_strmap_put(f->diags, text, (void *) 1);
            strata_graph__scan_problem(rs, "%s", text);
        }
    }
    if (im != NULL && im->target != NULL) {
        int t = strata_dockerfile_target(df, im->target);

        if (t < 0) {
            char *key = strata_xasprintf("target %s", im->target);

            if (!strata_strmap_has(f->diags, key)) {
                strata_strmap_put(f->diags, key, (void *) 1);
                strata_graph__scan_problem(
                    rs, "%s: no stage '%s' (the target of image '%s')", path,
                    im->target, im->name);
            }
            free(key);
            goto out;
        }
        in[t] = 1;
        nd = strata_dockerfile_stage_deps(&deps, df, t);
        for (i = 0; i < nd; i++)
            in[deps[i]] = 1;
        free(deps);
    } else {
        memset(in, 1, nst);
    }
    for (i = 0; i < strata_dockerfile_ref_count(df); i++) {
        const strata_df_ref *r = strata_dockerfile_ref(df, i);

        if (!r->external || r->ref == NULL || r->stage < 0 ||
            (size_t) r->stage >= nst || !in[r->stage])
            continue;
        found_add(f, child, r->ref, r->span.line);
    }
out:
    free(in);
}

/* Parses data for one consumer (im NULL: the unnamed one), per platform. */
static void
parse_for(strata_graph__repo_scan *rs, found *f, const char *path,
          const char *data, size_t len, const strata_config_image *im)
{
    static const char *const amd64[] = {"linux/amd64"};
    const char *const *platforms = amd64;
    size_t nplat = 1, i, child = f->nchildren;
    const char **args;

    f->children =
        strata_xrealloc(f->children, (child + 1) * sizeof(*f->children));
    f->named = strata_xrealloc(f->named, (child + 1) * sizeof(*f->named));
    f->children[child] = im ? strata_xstrdup(im->name)
                            : strata_xasprintf("%s//%s", rs->repo->url, path);
    f->named[child] = im != NULL;
    f->nchildren++;
    if (im != NULL && im->platforms.count > 0) {
        platforms = im->platforms.items;
        nplat = im->platforms.count;
    }
    args = strata_xcalloc((im ? im->n_build_args : 0) + 1, sizeof(*args));
    for (i = 0; im != NULL && i < im->n_build_args; i++)
        args[i] = strata_xasprintf("%s=%s", im->build_args[i].key,
                                   im->build_args[i].value);
    for (i = 0; i < nplat; i++) {
        strata_df_options opts = {0};
        strata_dockerfile *df = NULL;
        strata_error e = {0};

        opts.build_args = args;
        opts.platform = platforms[i];
        opts.max_size = rs->sc->max_size;
        if (strata_dockerfile_parse(&df, data, len, path, &opts, &e) != 0) {
            if (!strata_strmap_has(f->diags, e.msg)) {
                strata_strmap_put(f->diags, e.msg, (void *) 1);
                strata_graph__scan_problem(rs, "%s", e.msg);
            }
            continue;
        }
        collect(rs, f, child, df, im, path);
        strata_dockerfile_free(df);
    }
    for (i = 0; args[i] != NULL; i++)
        free((char *) args[i]);
    free(args);
}

int
strata_graph__linked_kind(strata_graph__repo_scan *rs, const char *path)
{
    const char *key, *link;
    json_t *v, *k;
    uintptr_t k1;
    int n;

    /* Built once and kept until a file with links changes: the listing
     * asks about every path of the tree. */
    if (rs->linked == NULL) {
        rs->linked = strata_strmap_new();
        json_object_foreach (rs->files, key, v) {
            json_object_foreach (json_object_get(v, "links"), link, k) {
                for (n = STRATA_PIN_DOCKERFILE; n <= STRATA_PIN_OTHER; n++)
                    if (json_is_string(k) &&
                        strcmp(strata_pin_kind_name((strata_pin_kind) n),
                               json_string_value(k)) == 0)
                        strata_strmap_put(rs->linked, link,
                                          (void *) (uintptr_t) (n + 1));
            }
        }
    }
    k1 = (uintptr_t) strata_strmap_get(rs->linked, path);
    return k1 == 0 ? STRATA_PIN_NONE : (int) (k1 - 1);
}

/* A file's links changed: the map is built again when next asked. */
static void
links_changed(strata_graph__repo_scan *rs, const json_t *old, const json_t *now)
{
    if (json_object_get(old, "links") == NULL &&
        json_object_get(now, "links") == NULL)
        return;
    strata_strmap_free(rs->linked);
    rs->linked = NULL;
}

/* The reference a pin reader found, as an edge of the file's consumer. */
typedef struct refs_ctx {
    found *f;
    size_t child;
} refs_ctx;

static const char *
record_ref(const strata_pin_query *q, void *arg)
{
    refs_ctx *rc = arg;
    strata_ref *ref = NULL, *pinned = NULL;

    if (strata_ref_parse(&ref, q->ref, NULL) == 0 &&
        strata_ref_with_digest(&pinned, ref, q->pinned, NULL) == 0)
        found_add(rc->f, rc->child, pinned, q->line);
    strata_ref_free(pinned);
    strata_ref_free(ref);
    return NULL; /* nothing is pinned: the same reader, read only */
}

/* The references the matchers find in a Dockerfile, as child's edges. */
static void
matched_refs(strata_graph__repo_scan *rs, found *f, size_t child,
             const char *path, const char *data, size_t len)
{
    strata_pin_opts o = {0};
    strata_pin_result res = {0};
    refs_ctx rc;
    size_t i;

    rc.f = f;
    rc.child = child;
    o.lookup = record_ref;
    o.arg = &rc;
    o.matchers = rs->sc->matchers;
    strata_pin_match(&res, data, len, path, &o, NULL);
    for (i = 0; child == 0 && i < res.nproblems; i++)
        strata_graph__scan_problem(rs, "%s", res.problems[i]);
    strata_pin_result_release(&res);
}

/*
 * A file of another kind (Helm, Kustomize, CI, devcontainer, compose,
 * manifests): the references the pin module's reader finds are edges of
 * the unnamed consumer "REPO//PATH", at their lines. A *.yaml that does
 * not parse and does not look like a manifest is not reported.
 */
static void
refs_for(strata_graph__repo_scan *rs, found *f, const char *path,
         const char *data, size_t len, strata_pin_kind kind, json_t *file)
{
    strata_pin_opts o = {0};
    strata_pin_result res = {0};
    strata_error e = {0};
    refs_ctx rc;
    size_t i;

    f->children = strata_xrealloc(f->children, sizeof(*f->children));
    f->named = strata_xrealloc(f->named, sizeof(*f->named));
    f->children[0] = strata_xasprintf("%s//%s", rs->repo->url, path);
    f->named[0] = 0;
    f->nchildren = 1;
    rc.f = f;
    rc.child = 0;
    o.lookup = record_ref;
    o.arg = &rc;
    o.matchers = rs->sc->matchers;
    if (strata_pin_any(&res, data, len, kind, path, &o, &e) != 0) {
        if (kind != STRATA_PIN_MANIFEST ||
            (memmem(data, len, "kind:", 5) && memmem(data, len, "image:", 6)))
            strata_graph__scan_problem(rs, "%s", e.msg);
        return;
    }
    for (i = 0; i < res.nproblems; i++)
        strata_graph__scan_problem(rs, "%s", res.problems[i]);
    /* The files this one points to are read as it says (scan.c). */
    if (res.nlinks > 0) {
        json_t *links = json_object();

        for (i = 0; i < res.nlinks; i++)
            json_object_set_new(
                links, res.links[i].path,
                json_string(strata_pin_kind_name(res.links[i].kind)));
        json_object_set_new(file, "links", links);
    }
    strata_pin_result_release(&res);
}

/* The store id of ref's node, written once per scan for bases. */
static int
node_id(int64_t *out, strata_graph__repo_scan *rs, const char *ref, int image,
        const char *path, strata_error *err)
{
    void *v = strata_strmap_get(rs->sc->ids, ref);
    int rc;

    if (v != NULL && !image) {
        *out = (int64_t) (uintptr_t) v;
        return 0;
    }
    rc = strata_store_graph_upsert_node(
        out, rs->sc->st,
        image ? STRATA_STORE_NODE_IMAGE : STRATA_STORE_NODE_BASE, ref, NULL,
        image ? rs->repo->url : NULL, image ? path : NULL, err);
    if (rc == 0)
        strata_strmap_put(rs->sc->ids, ref, (void *) (uintptr_t) *out);
    return rc;
}

/* Replaces the file's edges in the store and records them in file. */
static int
write_edges(strata_graph__repo_scan *rs, const char *path, const found *f,
            json_t *file, strata_error *err)
{
    strata_store_edge *edges = strata_xcalloc(f->n + 1, sizeof(*edges));
    int64_t *child_ids = strata_xcalloc(f->nchildren + 1, sizeof(*child_ids));
    json_t *pins = json_object();
    size_t i;
    int rc = 0;

    for (i = 0; i < f->nchildren; i++) {
        size_t j;
        int used = f->named[i];

        for (j = 0; j < f->n && !used; j++)
            used = f->v[j].child == i;
        /* An unnamed Dockerfile with no external base is no node. */
        if (used && (rc = node_id(&child_ids[i], rs, f->children[i], 1, path,
                                  err)) != 0)
            goto out;
    }
    for (i = 0; i < f->n; i++) {
        const found_edge *fe = &f->v[i];

        if ((rc = node_id(&edges[i].parent, rs, fe->parent, 0, NULL, err)) != 0)
            goto out;
        edges[i].child = child_ids[fe->child];
        edges[i].line = (int) fe->line;
        edges[i].method = STRATA_STORE_EDGE_DOCKERFILE;
        edges[i].confidence = 1.0;
        if (fe->digest != NULL) {
            char line[16];

            snprintf(line, sizeof(line), "%u", fe->line);
            json_object_set_new(pins, line, json_string(fe->digest));
        }
    }
    if ((rc = strata_store_graph_replace_edges(rs->sc->st, rs->repo->url, path,
                                               edges, f->n, err)) != 0)
        goto out;
    json_object_set_new(file, "edges", json_integer((json_int_t) f->n));
    if (json_object_size(pins) > 0)
        json_object_set(file, "pins", pins);
out:
    json_decref(pins);
    free(child_ids);
    free(edges);
    return rc;
}

/*
 * (Re)scans one Dockerfile at blob: reads it, parses it for each of its
 * consumers, replaces its edges and records it in rs->files. Only store
 * failures are returned; the file's own problems go to the summary.
 */
int
strata_graph__scan_file(strata_graph__repo_scan *rs, const char *path,
                        const char *blob, strata_error *err)
{
    found f = {0};
    strata_error e = {0};
    json_t *file = json_object();
    char *data = NULL, *fp = strata_graph__scan_fingerprint(rs, path);
    size_t len = 0, i;
    int rc, named = 0;
    strata_pin_kind kind =
        (strata_pin_kind) strata_graph__linked_kind(rs, path);

    if (kind == STRATA_PIN_NONE)
        kind = strata_pin_kind_of(path);
    if (kind == STRATA_PIN_NONE &&
        strata_pin_matchers_select(rs->sc->matchers, path))
        kind = STRATA_PIN_OTHER;
    f.seen = strata_strmap_new();
    f.diags = strata_strmap_new();
    f.cfg = rs->sc->cfg;
    json_object_set_new(file, "blob", json_string(blob));
    json_object_set_new(file, "fp", json_string(fp));
    rc = strata_vcs_read_blob(&data, &len, rs->vr, blob, rs->sc->max_size, &e);
    if (rc == STRATA_ETOOBIG) {
        rs->skipped++;
        strata_graph__scan_problem(rs, "%s: skipped: larger than %zu bytes",
                                   path, rs->sc->max_size);
        json_object_set_new(file, "skipped", json_true());
    } else if (rc != 0) {
        rs->skipped++;
        strata_graph__scan_problem(rs, "%s: %s", path, e.msg);
        /* No fingerprint: the next scan tries again. */
        json_object_set_new(file, "fp", json_string(""));
    } else if (kind != STRATA_PIN_DOCKERFILE && kind != STRATA_PIN_NONE &&
               !named_by(rs, path)) {
        rs->parsed++;
        json_object_set_new(file, "kind",
                            json_string(strata_pin_kind_name(kind)));
        refs_for(rs, &f, path, data, len, kind, file);
    } else {
        rs->parsed++;
        for (i = 0; i < rs->repo->n_images; i++) {
            if (builds_from(&rs->repo->images[i], path)) {
                named = 1;
                parse_for(rs, &f, path, data, len, &rs->repo->images[i]);
            }
        }
        if (!named)
            parse_for(rs, &f, path, data, len, NULL);
        /* What the matchers find in a Dockerfile, for each consumer. */
        if (strata_pin_matchers_select(rs->sc->matchers, path))
            for (i = 0; i < f.nchildren; i++)
                matched_refs(rs, &f, i, path, data, len);
    }
    if ((rc = write_edges(rs, path, &f, file, err)) == 0) {
        links_changed(rs, json_object_get(rs->files, path), file);
        json_object_set(rs->files, path, file);
    }
    json_decref(file);
    found_release(&f);
    free(data);
    free(fp);
    return rc;
}

/* A Dockerfile that is gone: its edges go, and so does its record. */
int
strata_graph__scan_drop_file(strata_graph__repo_scan *rs, const char *path,
                             strata_error *err)
{
    int rc;

    strata_strmap_put(rs->done, path, (void *) 1);
    if ((rc = strata_store_graph_replace_edges(rs->sc->st, rs->repo->url, path,
                                               NULL, 0, err)) != 0)
        return rc;
    links_changed(rs, json_object_get(rs->files, path), NULL);
    json_object_del(rs->files, path);
    return 0;
}

/* Strips "./" and empty components: "./a//b" -> "a/b". Caller frees. */
char *
strata_graph__norm_path(const char *p)
{
    strata_buf b = STRATA_BUF_INIT;

    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t) (end - p) : strlen(p);

        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (b.len > 0)
                strata_buf_putc(&b, '/');
            strata_buf_add(&b, p, n);
        }
        p += n;
        if (*p == '/')
            p++;
    }
    strata_buf_putc(&b, '\0'); /* an empty path stays a string */
    return strata_buf_detach(&b);
}
