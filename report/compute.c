/*
 * compute.c - the stale-base report. For every image we build (graph
 * image and Dockerfile nodes) and each of its external bases (parents
 * that we do not build), it compares the digest the image was built on
 * (pinned at the Dockerfile reference, else learnt from the registry: the
 * image's OCI base annotation or its layers; see edges.c) with the
 * digests the watcher has seen for the base
 * (store: every digest with its first_seen, and the current one): how
 * many updates behind, since when, and whether that makes it stale under
 * the catalog's soak and max_age. The result is one JSON document, which
 * the renderers and the daemon's API share.
 */
#include <stdlib.h>
#include <string.h>

#include "oci.h"
#include "packages.h"
#include "report-int.h"

#define DAY_MS (24LL * 60 * 60 * 1000)

/* What the store knows about one watched base, cached per report. */
typedef struct base_state {
    char *current;   /* or NULL before the first successful check */
    json_t *digests; /* oldest first */
} base_state;

typedef struct ctx {
    strata_store *st;
    const strata_report_options *opts;
    int64_t now;
    strata_report__watches *watches;
    strata_strmap *bases;        /* watch ref -> base_state */
    strata_strmap *node_digests; /* image ref -> digest (store nodes) */
    strata_strmap *missing;      /* "OLD NEW" -> json_t {summary, major} */
    char **owned;                /* strings the maps point to */
    size_t nowned, capowned;
} ctx;

static void
own(ctx *c, void *p)
{
    if (c->nowned == c->capowned) {
        c->capowned = c->capowned ? c->capowned * 2 : 32;
        c->owned = strata_xrealloc(c->owned, c->capowned * sizeof(*c->owned));
    }
    c->owned[c->nowned++] = p;
}

const char *
strata_report__str(const json_t *o, const char *key, const char *def)
{
    const json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : def;
}

static json_t *
str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *
time_or_null(int64_t ms)
{
    char buf[32];

    if (ms <= 0)
        return json_null();
    strata_format_time(buf, sizeof(buf), ms);
    return json_string(buf);
}

static int
get_base(base_state **out, ctx *c, const char *watch_ref, strata_error *err)
{
    base_state *b = strata_strmap_get(c->bases, watch_ref);
    strata_store_watch_state ws = {0};
    int rc;

    if (b != NULL) {
        *out = b;
        return 0;
    }
    b = strata_xcalloc(1, sizeof(*b));
    own(c, b);
    /* In the map at once, so release_bases() frees it on any path. */
    strata_strmap_put(c->bases, watch_ref, b);
    rc = strata_store_digests_list(&b->digests, c->st, watch_ref, err);
    if (rc != 0)
        return rc;
    rc = strata_store_watch_state_get(&ws, c->st, watch_ref, err);
    if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
    } else if (rc != 0) {
        return rc;
    } else if (ws.current_digest != NULL) {
        b->current = strata_xstrdup(ws.current_digest);
    }
    strata_store_watch_state_release(&ws);
    *out = b;
    return 0;
}

/* Frees what the base states hold (the structs themselves are owned). */
static void
release_bases(ctx *c)
{
    size_t it = 0;
    const char *k;
    void *v;

    while (strata_strmap_next(c->bases, &it, &k, &v)) {
        base_state *b = v;
        free(b->current);
        json_decref(b->digests);
    }
}

/*
 * The entry of digests for digest: the digest itself, or a multi-arch
 * index one of whose platform manifests it is (a build records the
 * platform's digest it pulled). NULL when never seen.
 */
static const json_t *
seen_entry(const json_t *digests, const char *digest)
{
    const json_t *d, *pd;
    const char *platform;
    size_t i;

    json_array_foreach (digests, i, d) {
        if (strcmp(strata_report__str(d, "digest", ""), digest) == 0)
            return d;
    }
    json_array_foreach (digests, i, d) {
        json_object_foreach ((json_t *) json_object_get(d, "platforms"),
                             platform, pd) {
            if (json_is_string(pd) &&
                strcmp(json_string_value(pd), digest) == 0)
                return d;
        }
    }
    return NULL;
}

static int64_t
first_seen_of(const json_t *digests, const char *digest)
{
    const json_t *d = seen_entry(digests, digest);

    return d ? json_integer_value(json_object_get(d, "first_seen")) : -1;
}

/* 1 when digest is current, itself or as one of its platforms. */
static int
is_current(const json_t *digests, const char *digest, const char *current)
{
    const json_t *d;

    if (strcmp(digest, current) == 0)
        return 1;
    d = seen_entry(digests, digest);
    return d != NULL &&
           strcmp(strata_report__str(d, "digest", ""), current) == 0;
}

/* The packages kept for digest (linux/amd64), or NULL. New. */
static strata_pkg_image *
kept(strata_store *st, const char *digest)
{
    strata_pkg_image *img = NULL;
    char *body = NULL;
    json_t *j;

    if (strata_store_pkgdb_get(&body, st, digest, "linux/amd64", NULL) != 0)
        return NULL;
    j = json_loads(body, 0, NULL);
    free(body);
    if (j != NULL && strata_pkg_image_from_json(&img, j, NULL) != 0)
        img = NULL;
    json_decref(j);
    return img;
}

/*
 * What an image built on old misses of new: the package delta's summary
 * and major flag ({"summary", "major"}, borrowed from c's cache), when the
 * state store keeps both digests' packages (read by strata diff, a pr job
 * or the API); NULL otherwise. The report reads no registry.
 */
static const json_t *
missing_of(ctx *c, const char *old, const char *new_)
{
    char *key = strata_xasprintf("%s %s", old, new_);
    json_t *m = strata_strmap_get(c->missing, key);
    strata_pkg_image *a = NULL, *b = NULL;

    if (m == NULL && !strata_strmap_has(c->missing, key)) {
        if ((a = kept(c->st, old)) != NULL && (b = kept(c->st, new_)) != NULL &&
            (a->ecosystem != NULL || b->ecosystem != NULL)) {
            strata_pkg_delta *d = strata_pkg_delta_new(a, b);
            char *line = strata_pkg_delta_summary(d);

            m = json_pack("{s:s, s:b}", "summary", line, "major", d->major);
            free(line);
            strata_pkg_delta_free(d);
        }
        strata_strmap_put(c->missing, key, m);
        strata_pkg_image_free(a);
        strata_pkg_image_free(b);
    }
    free(key);
    return m;
}

/* Fills the staleness fields of row for edge e. */
static int
staleness(json_t *row, ctx *c, const strata_report__edge *e,
          const strata_catalog_entry *entry, strata_error *err)
{
    const char *watch_ref = strata_report__watch_for(c->watches, e->parent);
    const char *reason = NULL, *status = "unknown";
    int64_t built_seen = -1, first_newer = 0, behind = -1;
    base_state *b = NULL;
    const json_t *d;
    size_t i;
    int rc;

    json_object_set_new(row, "watch", str_or_null(watch_ref));
    if (watch_ref != NULL) {
        rc = get_base(&b, c, watch_ref, err);
        if (rc != 0)
            return rc;
    }
    json_object_set_new(row, "current", str_or_null(b ? b->current : NULL));
    if (b == NULL)
        reason = "base not watched";
    else if (b->current == NULL)
        reason = "base never checked";
    else if (e->digest == NULL)
        reason = "unpinned";
    else if (is_current(b->digests, e->digest, b->current))
        behind = 0;
    else if ((built_seen = first_seen_of(b->digests, e->digest)) < 0)
        reason = "built-on digest never seen";
    else {
        /* Updates published after the digest the image was built on. */
        behind = 0;
        json_array_foreach (b->digests, i, d) {
            int64_t fs = json_integer_value(json_object_get(d, "first_seen"));
            if (fs > built_seen && d != seen_entry(b->digests, e->digest)) {
                behind++;
                if (first_newer == 0 || fs < first_newer)
                    first_newer = fs;
            }
        }
        if (behind == 0)
            reason = "current digest older than the built-on one";
    }

    if (behind == 0) {
        status = "current";
    } else if (behind > 0) {
        /* Stale once the first newer digest is older than soak + max_age. */
        uint64_t grace = entry ? entry->soak_ms + entry->max_age_ms : 0;
        status = c->now - first_newer >= (int64_t) grace ? "stale" : "behind";
    }
    json_object_set_new(row, "updates_behind",
                        behind >= 0 ? json_integer(behind) : json_null());
    json_object_set_new(row, "days_behind",
                        behind > 0
                            ? json_integer((c->now - first_newer) / DAY_MS)
                        : behind == 0 ? json_integer(0)
                                      : json_null());
    json_object_set_new(row, "behind_since",
                        behind > 0 ? time_or_null(first_newer) : json_null());
    json_object_set_new(row, "status", json_string(status));
    json_object_set_new(row, "reason", str_or_null(reason));
    {
        const json_t *m =
            behind > 0 ? missing_of(c, e->digest, b->current) : NULL;

        json_object_set_new(row, "missing",
                            m ? json_incref(json_object_get(m, "summary"))
                              : json_null());
        json_object_set_new(row, "missing_major",
                            m ? json_incref(json_object_get(m, "major"))
                              : json_null());
    }
    return 0;
}

static void
catalog_fields(json_t *row, ctx *c, const strata_report__edge *e,
               const strata_catalog_entry *entry)
{
    const strata_catalog *cat = c->opts ? c->opts->catalog : NULL;
    json_t *owners = json_array();
    size_t i;

    json_object_set_new(row, "class",
                        json_string(strata_catalog_classify(entry)));
    json_object_set_new(row, "tier", str_or_null(entry ? entry->tier : NULL));
    for (i = 0; entry && i < entry->n_owners; i++)
        json_array_append_new(owners, json_string(entry->owners[i]));
    json_object_set_new(row, "base_owners", owners);
    json_object_set_new(row, "sunset",
                        str_or_null(entry ? entry->sunset : NULL));
    json_object_set_new(row, "replacement",
                        str_or_null(entry ? entry->replacement : NULL));
    json_object_set_new(row, "team",
                        str_or_null(strata_catalog_team_of(cat, e->child)));
}

/*
 * The catalog entry of base (the graph's name: an upstream's), also when
 * the catalog names it through a registry alias (registries[].aliases):
 * the base is then looked up under each alias of its registry.
 */
static const strata_catalog_entry *
catalog_entry(const strata_report_options *opts, const char *base)
{
    const strata_catalog *cat = opts ? opts->catalog : NULL;
    const strata_catalog_entry *entry = strata_catalog_lookup(cat, base);
    const strata_config_data *cfg = opts ? opts->cfg : NULL;
    size_t i, n;

    for (i = 0;
         entry == NULL && cat != NULL && cfg != NULL && i < cfg->n_aliases;
         i++) {
        n = strlen(cfg->aliases[i].to);
        if (strncmp(base, cfg->aliases[i].to, n) == 0 && base[n] == '/') {
            char *as = strata_xasprintf("%s%s", cfg->aliases[i].from, base + n);

            entry = strata_catalog_lookup(cat, as);
            free(as);
        }
    }
    return entry;
}

/* Does running item (ref, digest) run image? */
static int
runs_image(ctx *c, const char *image, const char *ref_text, const char *digest)
{
    strata_ref *ref = NULL, *img = NULL, *plain = NULL;
    const char *node_digest = strata_strmap_get(c->node_digests, image);
    int hit = 0;

    if (digest != NULL && node_digest != NULL &&
        strcmp(digest, node_digest) == 0)
        return 1;
    if (strata_ref_parse(&ref, ref_text, NULL) != 0 ||
        strata_ref_parse(&img, image, NULL) != 0)
        goto out;
    if (strata_ref_with_digest(&plain, ref, NULL, NULL) == 0 &&
        strcmp(strata_ref_string(plain), image) == 0)
        hit = 1;
    /* Same repository, another tag: the image we build runs there. */
    else if (strcmp(strata_ref_name(ref), strata_ref_name(img)) == 0)
        hit = 1;
out:
    strata_ref_free(plain);
    strata_ref_free(ref);
    strata_ref_free(img);
    return hit;
}

/* json array of where image runs; NULL when no running input. */
static json_t *
running_of(ctx *c, const char *image, unsigned char *matched)
{
    const strata_report_running *r = c->opts ? c->opts->running : NULL;
    const char *ref, *digest, *where;
    json_t *a;
    size_t i;

    if (r == NULL)
        return NULL;
    a = json_array();
    for (i = 0; strata_report__running_item(r, i, &ref, &digest, &where); i++)
        if (runs_image(c, image, ref, digest)) {
            json_array_append_new(a, json_string(where));
            matched[i] = 1;
        }
    return a;
}

static int
on_node(const strata_store_node *node, void *arg)
{
    ctx *c = arg;

    if (node->digest != NULL) {
        char *d = strata_xstrdup(node->digest);
        own(c, d);
        strata_strmap_put(c->node_digests, node->ref, d);
    }
    return 0;
}

static int
cmp_rows(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *) a;
    const json_t *y = *(const json_t *const *) b;
    int r = strcmp(strata_report__str(x, "image", ""),
                   strata_report__str(y, "image", ""));

    return r != 0 ? r
                  : strcmp(strata_report__str(x, "base", ""),
                           strata_report__str(y, "base", ""));
}

static void
summarise(json_t *doc, json_t *rows)
{
    static const char *const keys[] = {"stale",     "behind", "current",
                                       "unknown",   "golden", "non-golden",
                                       "deprecated"};
    long long counts[7] = {0};
    strata_strmap *images = strata_strmap_new();
    json_t *summary = json_object(), *row;
    size_t i, k;

    json_array_foreach (rows, i, row) {
        const char *status = strata_report__str(row, "status", "");
        const char *cls = strata_report__str(row, "class", "");
        strata_strmap_put(images, strata_report__str(row, "image", ""), row);
        for (k = 0; k < 7; k++)
            if (strcmp(status, keys[k]) == 0 || strcmp(cls, keys[k]) == 0)
                counts[k]++;
    }
    json_object_set_new(summary, "images",
                        json_integer((json_int_t) strata_strmap_len(images)));
    json_object_set_new(summary, "rows",
                        json_integer((json_int_t) json_array_size(rows)));
    for (k = 0; k < 7; k++)
        json_object_set_new(summary, keys[k], json_integer(counts[k]));
    json_object_set_new(doc, "summary", summary);
    strata_strmap_free(images);
}

int
strata_report_stale(json_t **out, strata_store *st, const strata_graph *g,
                    const strata_report_options *opts, strata_error *err)
{
    strata_graph *loaded = NULL;
    strata_report__edges edges = {0};
    unsigned char *matched = NULL;
    json_t *doc = NULL, *rows = NULL, **sorted = NULL;
    size_t i, n = 0;
    ctx c = {0};
    int rc;

    *out = NULL;
    c.st = st;
    c.opts = opts;
    c.now = opts && opts->now_ms ? opts->now_ms : strata_now_ms();
    c.bases = strata_strmap_new();
    c.node_digests = strata_strmap_new();
    c.missing = strata_strmap_new();
    if (g == NULL) {
        rc = strata_graph_load(&loaded, st, err);
        if (rc != 0)
            goto out;
        g = loaded;
    }
    rc = strata_store_graph_load(st, on_node, NULL, &c, err);
    if (rc == 0)
        rc = strata_report__watches_load(&c.watches, st,
                                         opts ? opts->cfg : NULL, err);
    if (rc != 0)
        goto out;
    strata_report__edges_get(&edges, g, 1);
    matched = strata_xcalloc(
        strata_report_running_count(opts ? opts->running : NULL) + 1, 1);

    sorted = strata_xcalloc(edges.n + 1, sizeof(*sorted));
    for (i = 0; i < edges.n; i++) {
        const strata_report__edge *e = &edges.v[i];
        const strata_catalog_entry *entry;
        json_t *row, *running;

        running = running_of(&c, e->child, matched);
        if (running != NULL && json_array_size(running) == 0) {
            json_decref(running);
            continue;
        }
        entry = catalog_entry(opts, e->parent);
        row = json_object();
        json_object_set_new(row, "image", json_string(e->child));
        json_object_set_new(row, "image_kind",
                            json_string(e->child_kind == STRATA_GRAPH_DOCKERFILE
                                            ? "dockerfile"
                                            : "image"));
        json_object_set_new(row, "repo", str_or_null(e->repo));
        json_object_set_new(row, "path", str_or_null(e->path));
        json_object_set_new(row, "line", json_integer(e->line));
        json_object_set_new(row, "base", json_string(e->parent));
        json_object_set_new(row, "built_on",
                            json_string(e->digest ? e->digest : "unpinned"));
        json_object_set_new(row, "built_on_from",
                            str_or_null(e->built_on_from));
        sorted[n++] = row;
        rc = staleness(row, &c, e, entry, err);
        if (rc != 0) {
            json_decref(running);
            goto out;
        }
        catalog_fields(row, &c, e, entry);
        json_object_set_new(row, "running", running ? running : json_null());
    }
    qsort(sorted, n, sizeof(*sorted), cmp_rows);

    doc = json_object();
    json_object_set_new(doc, "schema", json_string("strata.report.stale/v1"));
    json_object_set_new(doc, "generated", time_or_null(c.now));
    rows = json_array();
    for (i = 0; i < n; i++) {
        json_array_append_new(rows, sorted[i]);
        sorted[i] = NULL;
    }
    summarise(doc, rows);
    json_object_set_new(doc, "rows", rows);
    if (opts != NULL && opts->running != NULL) {
        json_t *un = json_array();
        const char *ref, *digest, *where;
        for (i = 0; strata_report__running_item(opts->running, i, &ref, &digest,
                                                &where);
             i++)
            if (!matched[i]) {
                json_t *o = json_object();
                json_object_set_new(o, "ref", json_string(ref));
                json_object_set_new(o, "where", json_string(where));
                json_array_append_new(un, o);
            }
        json_object_set_new(doc, "unmatched_running", un);
    } else {
        json_object_set_new(doc, "unmatched_running", json_null());
    }
    *out = doc;

out:
    for (i = 0; sorted != NULL && i < n; i++)
        json_decref(sorted[i]);
    free(sorted);
    free(matched);
    strata_report__edges_release(&edges);
    release_bases(&c);
    for (i = 0; i < c.nowned; i++)
        free(c.owned[i]);
    free(c.owned);
    strata_strmap_free(c.bases);
    strata_strmap_free(c.node_digests);
    {
        size_t it = 0;
        const char *k;
        void *v;

        while (strata_strmap_next(c.missing, &it, &k, &v))
            json_decref(v);
    }
    strata_strmap_free(c.missing);
    strata_report__watches_free(c.watches);
    strata_graph_free(loaded);
    return rc;
}

int
strata_report_has_stale(const json_t *report)
{
    const json_t *row;
    size_t i;

    json_array_foreach (json_object_get(report, "rows"), i, row) {
        if (strcmp(strata_report__str(row, "status", ""), "stale") == 0)
            return 1;
    }
    return 0;
}
