/*
 * lineage.c - lineage from registries. For every configured image (and
 * every image the caller saw running) it reads the image's manifest and,
 * when needed, its config from the registry, and records through
 * strata_graph_add_lineage() what it is built on:
 *
 *   annotation  the OCI annotations org.opencontainers.image.base.name /
 *               .base.digest (BuildKit and `strata rebase` set them), on
 *               the index, the platform manifest or as config labels;
 *   layers      otherwise, the watched base digest whose layers are the
 *               longest prefix of the image's layers (for the same
 *               platform): the base's layers, followed by the image's own.
 *
 * Base layer lists are fetched once per (digest, platform) and cached for
 * the call. An image read successfully loses the registry edges this read
 * no longer confirms (confidence 0; see strata_graph_load).
 *
 * Synchronous: one private uv loop and registry client per call, run until
 * each request's callback has fired, so a worker thread can call it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

#include "graph.h"
#include "vcs.h"

#define ANN_BASE_NAME "org.opencontainers.image.base.name"
#define ANN_BASE_DIGEST "org.opencontainers.image.base.digest"
/* Layer matching looks at the newest digests of each watch only. */
#define MAX_BASE_DIGESTS 32

typedef struct lx {
    uv_loop_t loop;
    strata_registry *reg;
    strata_store *st;
    const strata_config_data *cfg;
    const strata_registry_opts *defaults; /* or NULL */
    int no_layers;
    json_t *watches;            /* store watch list, loaded on first need */
    strata_strmap *bases;       /* watch ref -> json_t digests (new refs) */
    strata_strmap *layer_cache; /* "digest platform" -> char * ("" failed) */
    json_t *registry_edges;     /* child -> [[parent, method], ...] */
    const struct strata_vcs_cancel *cancel; /* or NULL */
    uv_timer_t tick; /* while cancel is set: wakes wait_call to look */
} lx;

static void
on_tick(uv_timer_t *t)
{
    (void) t; /* only ends uv_run(UV_RUN_ONCE) in wait_call */
}

/* ---- one request at a time on the private loop ------------------------ */

typedef struct call {
    int done;
    strata_manifest *m;
    strata_image_config *c;
    strata_error err;
} call;

static void
on_manifest(strata_manifest *m, const strata_error *err, void *arg)
{
    call *c = arg;

    c->m = m;
    if (err != NULL)
        c->err = *err;
    c->done = 1;
}

static void
on_config(strata_image_config *cfg, const strata_error *err, void *arg)
{
    call *c = arg;

    c->c = cfg;
    if (err != NULL)
        c->err = *err;
    c->done = 1;
}

/* Runs the loop until c is done; its error (if any) goes to err. */
static int
wait_call(lx *x, call *c, strata_error *err)
{
    while (!c->done) {
        /* Stopping: every request under way ends with STRATA_ECANCELED. */
        if (x->reg != NULL && strata_vcs_cancel_is_set(x->cancel)) {
            strata_registry_close(x->reg);
            x->reg = NULL;
        }
        uv_run(&x->loop, UV_RUN_ONCE);
    }
    if (c->m != NULL || c->c != NULL)
        return 0;
    if (err != NULL)
        *err = c->err;
    return c->err.code != 0 ? c->err.code : STRATA_EINTERNAL;
}

static int
get_manifest(strata_manifest **out, lx *x, const strata_ref *ref,
             strata_error *err)
{
    call c = {0};
    int rc =
        x->reg == NULL
            ? strata_error_set(err, STRATA_ECANCELED, "cancelled")
            : strata_registry_get_manifest(x->reg, ref, on_manifest, &c, err);

    if (rc == 0)
        rc = wait_call(x, &c, err);
    *out = c.m;
    return rc;
}

static int
get_config(strata_image_config **out, lx *x, const strata_ref *ref,
           const char *digest, strata_error *err)
{
    call c = {0};
    int rc = x->reg == NULL
                 ? strata_error_set(err, STRATA_ECANCELED, "cancelled")
                 : strata_registry_get_config(x->reg, ref, digest, on_config,
                                              &c, err);

    if (rc == 0)
        rc = wait_call(x, &c, err);
    *out = c.c;
    return rc;
}

/*
 * The manifest of ref for platform: *index is the index when ref names
 * one (else NULL), *image the platform's image manifest. Both new.
 */
static int
get_image(strata_manifest **index, strata_manifest **image, lx *x,
          const strata_ref *ref, const char *platform, strata_error *err)
{
    strata_manifest *m = NULL;
    strata_ref *by_digest = NULL;
    const strata_descriptor *d;
    int rc;

    *index = *image = NULL;
    if ((rc = get_manifest(&m, x, ref, err)) != 0)
        return rc;
    if (!m->is_index) {
        *image = m;
        return 0;
    }
    *index = m;
    if ((d = strata_manifest_find_platform(m, platform)) == NULL)
        return strata_error_set(err, STRATA_ENOTFOUND,
                                "'%s' has no platform '%s'",
                                strata_ref_string(ref), platform);
    if ((rc = strata_ref_with_digest(&by_digest, ref, d->digest, err)) == 0)
        rc = get_manifest(image, x, by_digest, err);
    strata_ref_free(by_digest);
    return rc;
}

/* ---- registry client from the configuration --------------------------- */

static void
configure_hosts(lx *x)
{
    size_t i;

    for (i = 0; i < x->cfg->n_registries; i++) {
        const strata_config_registry *r = &x->cfg->registries[i];
        strata_registry_opts o = {0};

        if (x->defaults != NULL)
            o = *x->defaults;
        strata_config_registry_opts(&o, r);
        strata_registry_set_host(x->reg, r->host, &o);
    }
}

/* ---- annotations ------------------------------------------------------ */

/* The value of key in a manifest body's "annotations", or NULL. New. */
static char *
annotation(const strata_manifest *m, const char *key)
{
    json_t *doc;
    const char *v;
    char *out;

    if (m == NULL)
        return NULL;
    doc = json_loadb(m->body, m->body_len, 0, NULL);
    v = json_string_value(
        json_object_get(json_object_get(doc, "annotations"), key));
    out = v ? strata_xstrdup(v) : NULL;
    json_decref(doc);
    return out;
}

/*
 * The base annotations: the index's, else the image manifest's, else the
 * config's labels (fetched here). *name and *digest are new or NULL; a
 * config that cannot be read only means no labels.
 */
static void
base_annotations(char **name, char **digest, lx *x, const strata_ref *ref,
                 const strata_manifest *index, const strata_manifest *image)
{
    const strata_manifest *from[2] = {index, image};
    strata_image_config *c = NULL;
    const char *v;
    int i;

    *name = *digest = NULL;
    for (i = 0; i < 2 && *name == NULL; i++) {
        *name = annotation(from[i], ANN_BASE_NAME);
        if (*name != NULL)
            *digest = annotation(from[i], ANN_BASE_DIGEST);
    }
    if (*name != NULL || image->config.digest == NULL ||
        get_config(&c, x, ref, image->config.digest, NULL) != 0)
        return;
    if ((v = json_string_value(json_object_get(c->labels, ANN_BASE_NAME))))
        *name = strata_xstrdup(v);
    if (*name != NULL &&
        (v = json_string_value(json_object_get(c->labels, ANN_BASE_DIGEST))))
        *digest = strata_xstrdup(v);
    strata_image_config_free(c);
}

/* ---- layers ----------------------------------------------------------- */

/* "d1\nd2\n...": the layer digests of m, each followed by a newline. */
static char *
layer_list(const strata_manifest *m)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i;

    for (i = 0; i < m->nlayers; i++)
        strata_buf_printf(&b, "%s\n", m->layers[i].digest);
    return strata_buf_detach(&b);
}

/* The layers of watch_ref at digest for platform, cached ("" unknown). */
static const char *
base_layers(lx *x, const char *watch_ref, const char *digest,
            const char *platform)
{
    char *key = strata_xasprintf("%s %s", digest, platform);
    char *layers = strata_strmap_get(x->layer_cache, key);
    strata_manifest *index = NULL, *image = NULL;
    strata_ref *ref = NULL, *at = NULL;

    if (layers == NULL) {
        if (strata_ref_parse(&ref, watch_ref, NULL) == 0 &&
            strata_ref_with_digest(&at, ref, digest, NULL) == 0 &&
            get_image(&index, &image, x, at, platform, NULL) == 0)
            layers = layer_list(image);
        else
            layers = strata_xstrdup("");
        strata_strmap_put(x->layer_cache, key, layers);
        strata_manifest_free(index);
        strata_manifest_free(image);
        strata_ref_free(at);
        strata_ref_free(ref);
    }
    free(key);
    return layers;
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The store's digests of watch_ref (cached; oldest first). Borrowed. */
static json_t *
watch_digests(lx *x, const char *watch_ref, strata_error *err)
{
    json_t *d = strata_strmap_get(x->bases, watch_ref);

    if (d == NULL) {
        if (strata_store_digests_list(&d, x->st, watch_ref, err) != 0)
            return NULL;
        strata_strmap_put(x->bases, watch_ref, d);
    }
    return d;
}

typedef struct match {
    char *parent; /* canonical, without digest */
    char *digest;
    size_t layers;
} match;

/*
 * The watched base digest with the longest layer prefix of image (child
 * is the image's node, never its own base). m->parent NULL when none.
 */
static int
match_layers(match *m, lx *x, const char *child, const strata_manifest *image,
             const char *platform, strata_error *err)
{
    char *mine = layer_list(image);
    const json_t *w, *d;
    size_t i, j, n;
    int rc = 0;

    memset(m, 0, sizeof(*m));
    if (x->watches == NULL &&
        (rc = strata_store_watch_list(&x->watches, x->st, err)) != 0)
        goto out;
    json_array_foreach (x->watches, i, w) {
        const char *wref = json_string_value(json_object_get(w, "ref"));
        json_t *digests;

        if (wref == NULL || strcmp(wref, child) == 0)
            continue;
        if ((digests = watch_digests(x, wref, err)) == NULL) {
            rc = err ? err->code : STRATA_EINTERNAL;
            goto out;
        }
        n = json_array_size(digests);
        for (j = n > MAX_BASE_DIGESTS ? n - MAX_BASE_DIGESTS : 0; j < n; j++) {
            const char *digest, *tag, *layers;
            size_t len, count;

            d = json_array_get(digests, j);
            digest = json_string_value(json_object_get(d, "digest"));
            tag = json_string_value(json_object_get(d, "tag"));
            if (digest == NULL)
                continue;
            layers = base_layers(x, wref, digest, platform);
            len = strlen(layers);
            if (len == 0 || strncmp(layers, mine, len) != 0)
                continue;
            count = count_lines(layers);
            /* Longest wins; on a tie, the newer digest of a watch. */
            if (m->parent != NULL && count < m->layers)
                continue;
            free(m->parent);
            free(m->digest);
            m->layers = count;
            m->digest = strata_xstrdup(digest);
            /* A tag policy watches a repository: name the tag it chose. */
            if (tag != NULL && json_is_object(json_object_get(w, "policy")))
                m->parent = strata_xasprintf(
                    "%.*s:%s", (int) strcspn(wref, "@"), wref, tag);
            else
                m->parent = strata_xstrdup(wref);
        }
    }
out:
    free(mine);
    return rc;
}

/* ---- retracting edges no read confirms -------------------------------- */

static int
on_edge(const strata_store_edge *edge, void *arg)
{
    lx *x = arg;
    json_t *list;

    if ((list = json_object_get(x->registry_edges, edge->child_ref)) == NULL) {
        list = json_array();
        json_object_set_new(x->registry_edges, edge->child_ref, list);
    }
    json_array_append_new(list,
                          json_pack("[s, i, i]", edge->parent_ref, edge->method,
                                    (int) (edge->confidence * 100 + 0.5)));
    return 0;
}

/* Retracts child's registry edges other than (parent, method). */
static int
retract_others(lx *x, const char *child, const char *parent,
               strata_store_edge_method method, strata_error *err)
{
    const json_t *e;
    size_t i;
    int rc;

    json_array_foreach (json_object_get(x->registry_edges, child), i, e) {
        strata_graph_lineage l = {0};

        l.child = child;
        l.parent = json_string_value(json_array_get(e, 0));
        l.method =
            (strata_store_edge_method) json_integer_value(json_array_get(e, 1));
        if (parent != NULL && strcmp(l.parent, parent) == 0 &&
            l.method == method)
            continue;
        if ((rc = strata_graph_add_lineage(x->st, &l, err)) != 0)
            return rc;
    }
    return 0;
}

/* ---- one image -------------------------------------------------------- */

static void
set_str(json_t *entry, const char *key, const char *v)
{
    json_object_set_new(entry, key, v ? json_string(v) : json_null());
}

/* The base named by an annotation, without digest (new), or NULL. */
static char *
annotated_base(char **digest, const char *name, strata_error *err)
{
    strata_ref *base = NULL, *plain = NULL;
    char *out = NULL;

    if (strata_ref_parse(&base, name, err) == 0 &&
        strata_ref_with_digest(&plain, base, NULL, err) == 0) {
        out = strata_xstrdup(strata_ref_string(plain));
        if (*digest != NULL && strata_digest_validate(*digest, NULL) != 0) {
            free(*digest);
            *digest = NULL;
        }
        if (*digest == NULL && strata_ref_digest(base) != NULL)
            *digest = strata_xstrdup(strata_ref_digest(base));
    }
    strata_ref_free(plain);
    strata_ref_free(base);
    return out;
}

/*
 * *out 1 when the store has l already (same confidence and digest), so
 * that a steady state writes nothing; 0 or a store error. The digest is in
 * persist.c's meta key "lineage:CHILD|PARENT|METHOD" ("" for none).
 */
static int
unchanged(int *out, lx *x, const strata_graph_lineage *l, strata_error *err)
{
    const json_t *e = NULL;
    char *key, *digest = NULL;
    size_t i;
    int rc;

    json_array_foreach (json_object_get(x->registry_edges, l->child), i, e) {
        if (strcmp(json_string_value(json_array_get(e, 0)), l->parent) == 0 &&
            json_integer_value(json_array_get(e, 1)) == (int) l->method &&
            json_integer_value(json_array_get(e, 2)) == l->confidence)
            break;
    }
    *out = 0;
    if (e == NULL)
        return 0;
    key = strata_xasprintf("lineage:%s|%s|%s", l->child, l->parent,
                           strata_store_edge_method_name(l->method));
    rc = strata_store_meta_get(&digest, x->st, key, err);
    if (rc == 0)
        *out = strcmp(digest, l->digest ? l->digest : "") == 0;
    else if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
        rc = 0;
    }
    free(digest);
    free(key);
    return rc;
}

/* Reads one image and records its lineage; returns store errors only. */
static int
image_lineage(json_t *entry, lx *x, const char *child, const strata_ref *ref,
              const char *platform, strata_error *err)
{
    strata_manifest *index = NULL, *image = NULL;
    strata_graph_lineage l = {0};
    strata_error e = {0};
    char *name = NULL, *digest = NULL, *parent = NULL;
    match mt = {0};
    int rc = 0, r, same = 0;

    r = get_image(&index, &image, x, ref, platform, &e);
    if (r == STRATA_ENOTFOUND) {
        set_str(entry, "note", "not in the registry");
        goto out;
    }
    if (r != 0) {
        set_str(entry, "error", e.msg);
        goto out;
    }
    base_annotations(&name, &digest, x, ref, index, image);
    l.child = child;
    if (name != NULL) {
        char *upstream;

        if ((parent = annotated_base(&digest, name, &e)) == NULL) {
            set_str(entry, "error", e.msg);
            goto out;
        }
        /* An annotation naming a mirror names its upstream's base. */
        if ((upstream = strata_config_upstream_ref(x->cfg, parent)) != NULL) {
            free(parent);
            parent = upstream;
        }
        l.parent = parent;
        l.digest = digest;
        l.method = STRATA_STORE_EDGE_ANNOTATION;
        l.confidence = STRATA_GRAPH_ANNOTATION_CONFIDENCE;
    } else if (!x->no_layers) {
        if ((rc = match_layers(&mt, x, child, image, platform, err)) != 0)
            goto out;
        if (mt.parent != NULL) {
            l.parent = mt.parent;
            l.digest = mt.digest;
            l.method = STRATA_STORE_EDGE_LAYERS;
            l.confidence = STRATA_GRAPH_LAYERS_CONFIDENCE;
            json_object_set_new(entry, "layers",
                                json_integer((json_int_t) mt.layers));
        }
    }
    if ((rc = retract_others(x, child, l.parent, l.method, err)) != 0)
        goto out;
    if (l.parent == NULL) {
        set_str(entry, "note", "no lineage found");
        goto out;
    }
    if ((rc = unchanged(&same, x, &l, err)) != 0 ||
        (!same && (rc = strata_graph_add_lineage(x->st, &l, err)) != 0))
        goto out;
    set_str(entry, "parent", l.parent);
    set_str(entry, "digest", l.digest);
    set_str(entry, "method", strata_store_edge_method_name(l.method));
out:
    free(name);
    free(digest);
    free(parent);
    free(mt.parent);
    free(mt.digest);
    strata_manifest_free(index);
    strata_manifest_free(image);
    return rc;
}

/* Reads image text (a reference) unless done has its node already. */
static int
one(json_t *images, lx *x, strata_strmap *done, const char *text,
    const char *platform, strata_error *err)
{
    strata_ref *ref = NULL, *plain = NULL;
    strata_error e = {0};
    json_t *entry =
        json_pack("{s:s, s:n, s:n, s:n, s:n, s:n, s:n}", "image", text,
                  "parent", "digest", "method", "layers", "error", "note");
    int rc = 0;

    if (strata_ref_parse(&ref, text, &e) != 0 ||
        strata_ref_with_digest(&plain, ref, NULL, &e) != 0) {
        set_str(entry, "error", e.msg);
        json_array_append_new(images, entry);
        goto out;
    }
    if (strata_strmap_has(done, strata_ref_string(plain))) {
        json_decref(entry);
        goto out;
    }
    strata_strmap_put(done, strata_ref_string(plain), NULL);
    set_str(entry, "image", strata_ref_string(plain));
    json_array_append_new(images, entry);
    rc = image_lineage(entry, x, strata_ref_string(plain), ref, platform, err);
out:
    strata_ref_free(plain);
    strata_ref_free(ref);
    return rc;
}

int
strata_graph_scan_lineage(json_t **summary, strata_store *st,
                          const strata_config_data *cfg,
                          const strata_graph_lineage_opts *opts,
                          strata_error *err)
{
    lx x = {0};
    json_t *images = json_array();
    strata_strmap *done = strata_strmap_new();
    size_t i, j, it = 0;
    const char *k;
    void *v;
    int rc;

    *summary = json_pack("{s:o}", "images", images);
    x.st = st;
    x.cfg = cfg;
    x.no_layers = opts ? opts->no_layers : 0;
    x.defaults = opts ? opts->defaults : NULL;
    x.bases = strata_strmap_new();
    x.layer_cache = strata_strmap_new();
    x.registry_edges = json_object();
    x.cancel = opts ? opts->cancel : NULL;
    uv_loop_init(&x.loop);
    uv_timer_init(&x.loop, &x.tick);
    if (x.cancel != NULL)
        uv_timer_start(&x.tick, on_tick, 100, 100);
    if ((rc = strata_registry_new(&x.reg, &x.loop, x.defaults, err)) != 0)
        goto out;
    configure_hosts(&x);
    if ((rc = strata_store_graph_registry_edges(st, on_edge, &x, err)) != 0)
        goto out;
    for (i = 0; i < cfg->n_repos && rc == 0 && x.reg != NULL; i++) {
        const strata_config_repo *repo = &cfg->repos[i];

        for (j = 0; j < repo->n_images && rc == 0 && x.reg != NULL; j++) {
            const strata_config_image *im = &repo->images[j];

            rc = one(images, &x, done, im->name,
                     im->platforms.count > 0 ? im->platforms.items[0]
                                             : "linux/amd64",
                     err);
        }
    }
    for (i = 0;
         rc == 0 && x.reg != NULL && opts && opts->images && opts->images[i];
         i++)
        rc = one(images, &x, done, opts->images[i], "linux/amd64", err);
out:
    if (x.reg != NULL)
        strata_registry_close(x.reg);
    uv_close((uv_handle_t *) &x.tick, NULL);
    uv_run(&x.loop, UV_RUN_DEFAULT);
    uv_loop_close(&x.loop);
    while (strata_strmap_next(x.bases, &it, &k, &v))
        json_decref(v);
    it = 0;
    while (strata_strmap_next(x.layer_cache, &it, &k, &v))
        free(v);
    strata_strmap_free(x.bases);
    strata_strmap_free(x.layer_cache);
    strata_strmap_free(done);
    json_decref(x.registry_edges);
    json_decref(x.watches);
    return rc;
}
