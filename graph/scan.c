/*
 * scan.c - repository scanning: for each configured repository, sync its
 * mirror, work out which Dockerfiles changed since the last scan (by the
 * commit and blob ids kept in the "scan:<url>" meta document), have
 * re-parse those and replace their edges, drop the edges of
 * deleted files, and save the document back, all in one transaction per
 * repository. Problems are collected into the summary; only a store
 * failure stops the scan.
 *
 * One Dockerfile is parsed once per consumer (each configured image that
 * names it, with its build args, once per platform; or the unnamed
 * consumer "REPO//PATH") and its edges are the union, one per (child,
 * parent) at the first line that references the parent.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "vcs.h"

/* What the whole scan shares. */
typedef struct scan_ctx {
    strata_store *st;
    const strata_config_data *cfg;
    const char *cache_dir;
    size_t max_size;
    strata_strmap *ids; /* ref -> store node id, for nodes written */
} scan_ctx;

/* One repository being scanned. */
typedef struct repo_scan {
    scan_ctx *sc;
    const strata_config_repo *repo;
    strata_vcs_repo *vr;
    const char *head;     /* borrowed from vr */
    json_t *files;        /* borrowed from the scan document */
    json_t *errors;       /* borrowed from the summary entry */
    strata_strmap *named; /* normalised Dockerfile path -> image name */
    strata_strmap *done;  /* paths this scan handled */
    int parsed, skipped;
} repo_scan;

/* ---- one Dockerfile --------------------------------------------------- */

static char *norm_path(const char *p);

static void problem(repo_scan *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Adds a message to the summary's errors (bytes that are not UTF-8, from
 * a file's text, become '?'). */
static void
problem(repo_scan *rs, const char *fmt, ...)
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

/*
 * What the configuration says about path: each image that names it with
 * its target, platforms and build args, or "unnamed". A file is parsed
 * again when this changes. Caller frees.
 */
static char *
fingerprint(repo_scan *rs, const char *path)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i, j;
    int named = 0;

    strata_buf_puts(&b, "v1");
    for (i = 0; i < rs->repo->n_images; i++) {
        const strata_config_image *im = &rs->repo->images[i];
        char *p = norm_path(im->dockerfile ? im->dockerfile : "Dockerfile");

        if (strcmp(p, path) == 0) {
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
        free(p);
    }
    if (!named)
        strata_buf_puts(&b, "\nunnamed");
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
    strata_strmap *seen;  /* "child\nparent" */
    strata_strmap *diags; /* diagnostics reported */
} found;

static void
found_add(found *f, size_t child, const strata_ref *ref, unsigned line)
{
    strata_ref *plain = NULL;
    char *key;

    /* Parsed references always take a NULL digest. */
    if (strata_ref_with_digest(&plain, ref, NULL, NULL) != 0)
        return;
    key = strata_xasprintf("%s\n%s", f->children[child],
                           strata_ref_string(plain));
    if (!strata_strmap_has(f->seen, key)) {
        found_edge *e;

        strata_strmap_put(f->seen, key, (void *) 1);
        if (f->n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 8;
            f->v = strata_xrealloc(f->v, f->cap * sizeof(*f->v));
        }
        e = &f->v[f->n++];
        e->child = child;
        e->parent = strata_xstrdup(strata_ref_string(plain));
        e->line = line;
        e->digest = strata_ref_digest(ref)
                        ? strata_xstrdup(strata_ref_digest(ref))
                        : NULL;
    }
    free(key);
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
collect(repo_scan *rs, found *f, size_t child, const strata_dockerfile *df,
        const strata_config_image *im, const char *path)
{
    size_t nst = strata_dockerfile_stage_count(df), i, nd;
    char *in = strata_xcalloc(nst + 1, 1);
    int *deps = NULL;

    for (i = 0; i < strata_dockerfile_diag_count(df); i++) {
        const char *text = strata_dockerfile_diag(df, i)->text;

        if (!strata_strmap_has(f->diags, text)) {
            strata_strmap_put(f->diags, text, (void *) 1);
            problem(rs, "%s", text);
        }
    }
    if (im != NULL && im->target != NULL) {
        int t = strata_dockerfile_target(df, im->target);

        if (t < 0) {
            char *key = strata_xasprintf("target %s", im->target);

            if (!strata_strmap_has(f->diags, key)) {
                strata_strmap_put(f->diags, key, (void *) 1);
                problem(rs, "%s: no stage '%s' (the target of image '%s')",
                        path, im->target, im->name);
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
parse_for(repo_scan *rs, found *f, const char *path, const char *data,
          size_t len, const strata_config_image *im)
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
                problem(rs, "%s", e.msg);
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

/* The store id of ref's node, written once per scan for bases. */
static int
node_id(int64_t *out, repo_scan *rs, const char *ref, int image,
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
write_edges(repo_scan *rs, const char *path, const found *f, json_t *file,
            strata_error *err)
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
static int
scan_file(repo_scan *rs, const char *path, const char *blob, strata_error *err)
{
    found f = {0};
    strata_error e = {0};
    json_t *file = json_object();
    char *data = NULL, *fp = fingerprint(rs, path);
    size_t len = 0, i;
    int rc, named = 0;

    f.seen = strata_strmap_new();
    f.diags = strata_strmap_new();
    json_object_set_new(file, "blob", json_string(blob));
    json_object_set_new(file, "fp", json_string(fp));
    rc = strata_vcs_read_blob(&data, &len, rs->vr, blob, rs->sc->max_size, &e);
    if (rc == STRATA_ETOOBIG) {
        rs->skipped++;
        problem(rs, "%s: skipped: larger than %zu bytes", path,
                rs->sc->max_size);
        json_object_set_new(file, "skipped", json_true());
    } else if (rc != 0) {
        rs->skipped++;
        problem(rs, "%s: %s", path, e.msg);
        /* No fingerprint: the next scan tries again. */
        json_object_set_new(file, "fp", json_string(""));
    } else {
        rs->parsed++;
        for (i = 0; i < rs->repo->n_images; i++) {
            const strata_config_image *im = &rs->repo->images[i];
            char *p = norm_path(im->dockerfile ? im->dockerfile : "Dockerfile");

            if (strcmp(p, path) == 0) {
                named = 1;
                parse_for(rs, &f, path, data, len, im);
            }
            free(p);
        }
        if (!named)
            parse_for(rs, &f, path, data, len, NULL);
    }
    if ((rc = write_edges(rs, path, &f, file, err)) == 0)
        json_object_set(rs->files, path, file);
    json_decref(file);
    found_release(&f);
    free(data);
    free(fp);
    return rc;
}

/* A Dockerfile that is gone: its edges go, and so does its record. */
static int
drop_file(repo_scan *rs, const char *path, strata_error *err)
{
    int rc;

    strata_strmap_put(rs->done, path, (void *) 1);
    if ((rc = strata_store_graph_replace_edges(rs->sc->st, rs->repo->url, path,
                                               NULL, 0, err)) != 0)
        return rc;
    json_object_del(rs->files, path);
    return 0;
}

/* ---- one repository ------------------------------------------------- */

/* Keeps a path the default predicate keeps or a configured image names. */
static int
match_path(const char *path, void *arg)
{
    const repo_scan *rs = arg;

    return strata_vcs_is_dockerfile(path, NULL) ||
           strata_strmap_has(rs->named, path);
}

/* Keeps only the paths in the map arg. */
static int
match_listed(const char *path, void *arg)
{
    return strata_strmap_has(arg, path);
}

static const char *
file_blob(const json_t *files, const char *path)
{
    const json_t *b = json_object_get(json_object_get(files, path), "blob");

    return json_is_string(b) ? json_string_value(b) : NULL;
}

/* Scans path at blob unless this scan already did. */
static int
scan_once(repo_scan *rs, const char *path, const char *blob, strata_error *err)
{
    if (strata_strmap_has(rs->done, path))
        return 0;
    strata_strmap_put(rs->done, path, (void *) 1);
    return scan_file(rs, path, blob, err);
}

/* Every file of the head's tree: scans new and changed blobs, drops the
 * files that are gone. */
static int
full_listing(repo_scan *rs, strata_error *err)
{
    strata_vcs_blob_list list = {0};
    strata_strmap *seen = strata_strmap_new();
    strata_error e = {0};
    const char *path;
    json_t *v, *gone = json_array();
    size_t i;
    int rc = 0;

    if (strata_vcs_list_blobs(&list, rs->vr, NULL, match_path, rs, 0, &e) !=
        0) {
        problem(rs, "%s", e.msg);
        goto out;
    }
    for (i = 0; i < list.len; i++) {
        const char *old = file_blob(rs->files, list.blobs[i].path);

        strata_strmap_put(seen, list.blobs[i].path, (void *) 1);
        if (old != NULL && strcmp(old, list.blobs[i].id) == 0)
            continue;
        if ((rc = scan_once(rs, list.blobs[i].path, list.blobs[i].id, err)) !=
            0)
            goto out;
    }
    json_object_foreach (rs->files, path, v) {
        if (!strata_strmap_has(seen, path))
            json_array_append_new(gone, json_string(path));
    }
    json_array_foreach (gone, i, v) {
        if ((rc = drop_file(rs, json_string_value(v), err)) != 0)
            goto out;
    }
out:
    json_decref(gone);
    strata_strmap_free(seen);
    strata_vcs_blob_list_release(&list);
    return rc;
}

/*
 * From the last scanned commit to the head. *out_fallback is set when the
 * diff cannot be made (the old commit is gone after a force-push, say), so
 * the caller lists the whole tree instead.
 */
static int
changed_since(int *out_fallback, repo_scan *rs, const char *old,
              strata_error *err)
{
    strata_vcs_change *ch = NULL;
    strata_error e = {0};
    size_t n = 0, i;
    int rc = 0;

    *out_fallback = 0;
    if (strata_vcs_changed_paths(&ch, &n, rs->vr, old, rs->head, match_path, rs,
                                 &e) != 0) {
        *out_fallback = 1;
        return 0;
    }
    for (i = 0; i < n && rc == 0; i++) {
        if (ch[i].kind == STRATA_VCS_DELETED)
            rc = drop_file(rs, ch[i].path, err);
        else
            rc = scan_once(rs, ch[i].path, ch[i].new_id, err);
    }
    strata_vcs_changes_free(ch, n);
    return rc;
}

/* Configured Dockerfiles not known yet: look them up in the tree. */
static int
named_files(repo_scan *rs, strata_error *err)
{
    strata_strmap *missing = strata_strmap_new();
    strata_vcs_blob_list list = {0};
    strata_error e = {0};
    size_t it = 0, i;
    const char *path;
    void *v;
    int rc = 0;

    while (strata_strmap_next(rs->named, &it, &path, &v)) {
        if (json_object_get(rs->files, path) == NULL)
            strata_strmap_put(missing, path, v);
    }
    if (strata_strmap_len(missing) == 0)
        goto out;
    if (strata_vcs_list_blobs(&list, rs->vr, NULL, match_listed, missing, 0,
                              &e) != 0) {
        problem(rs, "%s", e.msg);
        goto out;
    }
    for (i = 0; i < list.len; i++) {
        if ((rc = scan_once(rs, list.blobs[i].path, list.blobs[i].id, err)) !=
            0)
            goto out;
    }
    it = 0;
    while (strata_strmap_next(missing, &it, &path, &v)) {
        if (json_object_get(rs->files, path) == NULL)
            problem(rs,
                    "%s: no such file on branch '%s' "
                    "(image '%s')",
                    path, rs->repo->branch, (const char *) v);
    }
out:
    strata_vcs_blob_list_release(&list);
    strata_strmap_free(missing);
    return rc;
}

/* Files whose configuration changed are parsed again from their blob. */
static int
reconfigured_files(repo_scan *rs, strata_error *err)
{
    json_t *changed = json_array(), *v;
    const char *path;
    size_t i;
    int rc = 0;

    json_object_foreach (rs->files, path, v) {
        char *fp = fingerprint(rs, path);
        const char *old = json_string_value(json_object_get(v, "fp"));

        if (old == NULL || strcmp(old, fp) != 0)
            json_array_append_new(changed, json_string(path));
        free(fp);
    }
    json_array_foreach (changed, i, v) {
        const char *p = json_string_value(v);
        const char *b = file_blob(rs->files, p);
        /* A copy: scanning the file replaces its entry in rs->files. */
        char *blob = strata_xstrdup(b ? b : "");

        if (*blob == '\0')
            rc = drop_file(rs, p, err);
        else
            rc = scan_once(rs, p, blob, err);
        free(blob);
        if (rc != 0)
            break;
    }
    json_decref(changed);
    return rc;
}

/* Strips "./" and empty components: "./a//b" -> "a/b". Caller frees. */
static char *
norm_path(const char *p)
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

/* Loads "scan:<url>" (a fresh document when absent or unreadable). */
static json_t *
load_doc(strata_store *st, const char *key)
{
    char *text = NULL;
    json_t *doc = NULL;

    if (strata_store_meta_get(&text, st, key, NULL) == 0)
        doc = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    if (!json_is_object(json_object_get(doc, "files")))
        json_object_set_new(doc, "files", json_object());
    return doc;
}

static void
set_counts(json_t *entry, const repo_scan *rs)
{
    json_int_t edges = 0;
    const char *path;
    json_t *v;

    json_object_foreach (rs->files, path, v) {
        edges += json_integer_value(json_object_get(v, "edges"));
    }
    json_object_set_new(entry, "dockerfiles",
                        json_integer((json_int_t) json_object_size(rs->files)));
    json_object_set_new(entry, "parsed", json_integer(rs->parsed));
    json_object_set_new(entry, "skipped", json_integer(rs->skipped));
    json_object_set_new(entry, "edges", json_integer(edges));
}

static int
scan_repo(json_t *entry, scan_ctx *sc, const strata_config_repo *repo,
          strata_error *err)
{
    repo_scan rs = {0};
    strata_vcs_source src = {0};
    strata_error e = {0};
    json_t *doc = NULL;
    char *key = NULL, *doc_text = NULL;
    const char *old;
    size_t i;
    int rc = 0, fallback = 1, in_tx = 0;

    rs.sc = sc;
    rs.repo = repo;
    rs.errors = json_object_get(entry, "errors");
    rs.named = strata_strmap_new();
    rs.done = strata_strmap_new();
    for (i = 0; i < repo->n_images; i++) {
        char *p =
            norm_path(repo->images[i].dockerfile ? repo->images[i].dockerfile
                                                 : "Dockerfile");

        if (!strata_strmap_has(rs.named, p))
            strata_strmap_put(rs.named, p, (void *) repo->images[i].name);
        free(p);
    }
    src.url = repo->url;
    src.branch = repo->branch ? repo->branch : "main";
    src.username = repo->username;
    src.token = repo->token ? strata_secret_reveal(repo->token) : NULL;
    src.ssh_key = repo->ssh_key_file;
    if (strata_vcs_sync(&rs.vr, &src, sc->cache_dir, &e) != 0) {
        json_object_set_new(entry, "error", json_string(e.msg));
        json_array_append_new(rs.errors, json_string(e.msg));
        goto out;
    }
    rs.head = strata_vcs_repo_head(rs.vr);
    json_object_set_new(entry, "commit", json_string(rs.head));

    key = strata_xasprintf(STRATA_GRAPH_SCAN_META "%s", repo->url);
    doc = load_doc(sc->st, key);
    rs.files = json_object_get(doc, "files");
    old = json_string_value(json_object_get(doc, "commit"));

    if ((rc = strata_store_begin(sc->st, err)) != 0)
        goto out;
    in_tx = 1;
    if (old != NULL && strcmp(old, rs.head) == 0)
        fallback = 0;
    else if (old != NULL && (rc = changed_since(&fallback, &rs, old, err)) != 0)
        goto out;
    if (fallback && (rc = full_listing(&rs, err)) != 0)
        goto out;
    if ((rc = named_files(&rs, err)) != 0 ||
        (rc = reconfigured_files(&rs, err)) != 0)
        goto out;
    json_object_set_new(doc, "commit", json_string(rs.head));
    doc_text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if ((rc = strata_store_meta_set(sc->st, key, doc_text, err)) != 0 ||
        (rc = strata_store_commit(sc->st, err)) != 0)
        goto out;
    in_tx = 0;
    set_counts(entry, &rs);
out:
    if (in_tx)
        strata_store_rollback(sc->st);
    free(doc_text);
    json_decref(doc);
    free(key);
    strata_strmap_free(rs.done);
    strata_strmap_free(rs.named);
    strata_vcs_repo_free(rs.vr);
    return rc;
}

char *
strata_graph_default_cache_dir(const char *state)
{
    const char *slash = state ? strrchr(state, '/') : NULL;

    if (slash == NULL)
        return strata_xstrdup("cache/git");
    if (slash == state)
        return strata_xstrdup("/cache/git");
    return strata_xasprintf("%.*s/cache/git", (int) (slash - state), state);
}

int
strata_graph_scan(json_t **summary, strata_store *st,
                  const strata_config_data *cfg,
                  const strata_graph_scan_opts *opts, strata_error *err)
{
    scan_ctx sc = {0};
    json_t *repos = json_array();
    char *cache = NULL;
    size_t i;
    int rc = 0;

    *summary = json_pack("{s:o}", "repos", repos);
    if (opts == NULL || opts->cache_dir == NULL)
        cache = strata_graph_default_cache_dir(cfg->state);
    sc.st = st;
    sc.cfg = cfg;
    sc.cache_dir = cache ? cache : opts->cache_dir;
    sc.max_size = opts && opts->max_size ? opts->max_size : STRATA_DF_MAX_SIZE;
    sc.ids = strata_strmap_new();
    for (i = 0; i < cfg->n_repos && rc == 0; i++) {
        const strata_config_repo *repo = &cfg->repos[i];
        json_t *entry = json_pack(
            "{s:s, s:s, s:n, s:n, s:i, s:i, s:i, s:i, s:[]}", "url", repo->url,
            "branch", repo->branch ? repo->branch : "main", "commit", "error",
            "dockerfiles", 0, "parsed", 0, "skipped", 0, "edges", 0, "errors");

        json_array_append_new(repos, entry);
        rc = scan_repo(entry, &sc, repo, err);
    }
    strata_strmap_free(sc.ids);
    free(cache);
    return rc;
}

size_t
strata_graph_scan_failures(const json_t *summary)
{
    const json_t *r;
    size_t i, n = 0;

    json_array_foreach (json_object_get(summary, "repos"), i, r) {
        if (json_is_string(json_object_get(r, "error")))
            n++;
    }
    return n;
}
