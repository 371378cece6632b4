/*
 * scan.c - repository scanning: for each configured repository, sync its
 * mirror, work out which Dockerfiles changed since the last scan (by the
 * commit and blob ids kept in the "scan:<url>" meta document), have
 * re-parse those and replace their edges, drop the edges of
 * deleted files, and save the document back, all in one transaction per
 * repository. Problems are collected into the summary; only a store
 * failure stops the scan. One Dockerfile's part is scan-file.c's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "graph-int.h"
#include "pin.h"

/* references.matchers, compiled (new); the configuration checked them. */
static strata_pin_matchers *
matchers_of(const strata_config_data *cfg)
{
    strata_pin_matchers *m = strata_pin_matchers_new();
    size_t i;

    for (i = 0; i < cfg->references.n_matchers; i++) {
        const strata_config_matcher *x = &cfg->references.matchers[i];

        (void) strata_pin_matchers_add(m, x->files.items, x->files.count,
                                       x->match, NULL);
    }
    return m;
}

/* ---- one repository ------------------------------------------------- */

/* Keeps a path the default predicate keeps, a configured image names, a
 * pin reader or a matcher reads, or another file points to. */
static int
match_path(const char *path, void *arg)
{
    strata_graph__repo_scan *rs = arg;

    return strata_vcs_is_dockerfile(path, NULL) ||
           strata_pin_kind_of(path) != STRATA_PIN_NONE ||
           strata_pin_matchers_select(rs->sc->matchers, path) ||
           strata_graph__linked_kind(rs, path) != STRATA_PIN_NONE ||
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
scan_once(strata_graph__repo_scan *rs, const char *path, const char *blob,
          strata_error *err)
{
    if (strata_strmap_has(rs->done, path))
        return 0;
    strata_strmap_put(rs->done, path, (void *) 1);
    return strata_graph__scan_file(rs, path, blob, err);
}

/* Every file of the head's tree: scans new and changed blobs, drops the
 * files that are gone. */
static int
full_listing(strata_graph__repo_scan *rs, strata_error *err)
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
        strata_graph__scan_problem(rs, "%s", e.msg);
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
        if ((rc = strata_graph__scan_drop_file(rs, json_string_value(v),
                                               err)) != 0)
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
changed_since(int *out_fallback, strata_graph__repo_scan *rs, const char *old,
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
            rc = strata_graph__scan_drop_file(rs, ch[i].path, err);
        else
            rc = scan_once(rs, ch[i].path, ch[i].new_id, err);
    }
    strata_vcs_changes_free(ch, n);
    return rc;
}

/* Configured Dockerfiles not known yet: look them up in the tree. */
static int
named_files(strata_graph__repo_scan *rs, strata_error *err)
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
        strata_graph__scan_problem(rs, "%s", e.msg);
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
            strata_graph__scan_problem(rs,
                                       "%s: no such file on branch '%s' "
                                       "(image '%s')",
                                       path, rs->repo->branch,
                                       (const char *) v);
    }
out:
    strata_vcs_blob_list_release(&list);
    strata_strmap_free(missing);
    return rc;
}

/* Files others point to that no listing found (a devcontainer's
 * build.dockerfile of an unusual name, a GitLab include of any name). */
static int
linked_files(strata_graph__repo_scan *rs, strata_error *err)
{
    strata_strmap *missing = strata_strmap_new();
    strata_vcs_blob_list list = {0};
    strata_error e = {0};
    const char *path, *link;
    json_t *v, *k;
    size_t i;
    int rc = 0;

    json_object_foreach (rs->files, path, v) {
        json_object_foreach (json_object_get(v, "links"), link, k) {
            if (json_object_get(rs->files, link) == NULL &&
                !strata_strmap_has(rs->done, link))
                strata_strmap_put(missing, link, (void *) 1);
        }
    }
    if (strata_strmap_len(missing) == 0)
        goto out;
    if (strata_vcs_list_blobs(&list, rs->vr, NULL, match_listed, missing, 0,
                              &e) != 0) {
        strata_graph__scan_problem(rs, "%s", e.msg);
        goto out;
    }
    for (i = 0; i < list.len; i++) {
        if ((rc = scan_once(rs, list.blobs[i].path, list.blobs[i].id, err)) !=
            0)
            goto out;
    }
out:
    strata_vcs_blob_list_release(&list);
    strata_strmap_free(missing);
    return rc;
}

/* Files whose configuration changed are parsed again from their blob. */
static int
reconfigured_files(strata_graph__repo_scan *rs, strata_error *err)
{
    json_t *changed = json_array(), *v;
    const char *path;
    size_t i;
    int rc = 0;

    json_object_foreach (rs->files, path, v) {
        char *fp = strata_graph__scan_fingerprint(rs, path);
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

        /* Also when this scan read it: what it depends on may have
         * changed since (a file that includes it, read after it). */
        if (*blob == '\0') {
            rc = strata_graph__scan_drop_file(rs, p, err);
        } else {
            strata_strmap_put(rs->done, p, (void *) 1);
            rc = strata_graph__scan_file(rs, p, blob, err);
        }
        free(blob);
        if (rc != 0)
            break;
    }
    json_decref(changed);
    return rc;
}

/*
 * Loads "scan:<url>" into *out (a fresh document when absent or not
 * JSON); a store error is returned, never taken for "never scanned".
 */
static int
load_doc(json_t **out, char **out_text, strata_store *st, const char *key,
         strata_error *err)
{
    char *text = NULL;
    json_t *doc = NULL;
    int rc = strata_store_meta_get(&text, st, key, err);

    *out = NULL;
    *out_text = NULL;
    if (rc == STRATA_ENOTFOUND)
        strata_error_clear(err);
    else if (rc != 0)
        return rc;
    if (text != NULL)
        doc = json_loads(text, 0, NULL);
    *out_text = text;
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    if (!json_is_object(json_object_get(doc, "files")))
        json_object_set_new(doc, "files", json_object());
    *out = doc;
    return 0;
}

static void
set_counts(json_t *entry, const strata_graph__repo_scan *rs)
{
    json_int_t edges = 0, others = 0;
    const char *path;
    json_t *v;

    json_object_foreach (rs->files, path, v) {
        edges += json_integer_value(json_object_get(v, "edges"));
        others += json_object_get(v, "kind") != NULL;
    }
    json_object_set_new(
        entry, "dockerfiles",
        json_integer((json_int_t) json_object_size(rs->files) - others));
    /* Helm, Kustomize, CI, devcontainers, compose files, manifests. */
    json_object_set_new(entry, "references", json_integer(others));
    json_object_set_new(entry, "parsed", json_integer(rs->parsed));
    json_object_set_new(entry, "skipped", json_integer(rs->skipped));
    json_object_set_new(entry, "edges", json_integer(edges));
}

/* The source of repo's mirror. The configured URL with its credentials is
 * for git only: the summary, the store and the graph name repo->url. */
static void
source_of(strata_vcs_source *src, const strata_graph__scan_ctx *sc,
          const strata_config_repo *repo)
{
    memset(src, 0, sizeof(*src));
    src->url = strata_config_repo_fetch_url(repo);
    src->branch = repo->branch ? repo->branch : "main";
    src->username = repo->username;
    src->token = repo->token ? strata_secret_reveal(repo->token) : NULL;
    src->ssh_key = repo->ssh_key_file;
    src->timeout_ms = sc->cfg->scan.fetch_timeout_ms;
    src->stall_ms = sc->cfg->scan.stall_timeout_ms;
    src->cancel = sc->cancel;
}

/*
 * Records repo's scan from its synced mirror vr (taken: freed here), or
 * its sync failure (sync_error, vr NULL). Runs on the scan's own thread:
 * every store write of a scan is here, in repository order.
 */
static int
scan_repo(json_t *entry, strata_graph__scan_ctx *sc,
          const strata_config_repo *repo, strata_vcs_repo *vr,
          const char *sync_error, strata_error *err)
{
    strata_graph__repo_scan rs = {0};
    json_t *doc = NULL;
    char *key = NULL, *doc_text = NULL, *old_text = NULL;
    const char *old;
    size_t i;
    int rc = 0, fallback = 1, in_tx = 0;

    rs.sc = sc;
    rs.repo = repo;
    rs.vr = vr;
    rs.errors = json_object_get(entry, "errors");
    rs.named = strata_strmap_new();
    rs.done = strata_strmap_new();
    for (i = 0; i < repo->n_images; i++) {
        char *p = strata_graph__norm_path(repo->images[i].dockerfile
                                              ? repo->images[i].dockerfile
                                              : "Dockerfile");

        if (!strata_strmap_has(rs.named, p))
            strata_strmap_put(rs.named, p, (void *) repo->images[i].name);
        free(p);
    }
    if (vr == NULL) {
        json_object_set_new(entry, "error", json_string(sync_error));
        json_array_append_new(rs.errors, json_string(sync_error));
        goto out;
    }
    rs.head = strata_vcs_repo_head(rs.vr);
    json_object_set_new(entry, "commit", json_string(rs.head));

    key = strata_xasprintf(STRATA_GRAPH_SCAN_META "%s", repo->url);
    if ((rc = load_doc(&doc, &old_text, sc->st, key, err)) != 0)
        goto out;
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
        (rc = linked_files(&rs, err)) != 0 ||
        (rc = reconfigured_files(&rs, err)) != 0)
        goto out;
    json_object_set_new(doc, "commit", json_string(rs.head));
    doc_text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    /* An unmoved, unchanged repository writes nothing. */
    if ((old_text == NULL || strcmp(old_text, doc_text) != 0) &&
        (rc = strata_store_meta_set(sc->st, key, doc_text, err)) != 0)
        goto out;
    if ((rc = strata_store_commit(sc->st, err)) != 0)
        goto out;
    in_tx = 0;
    set_counts(entry, &rs);
out:
    if (in_tx)
        strata_store_rollback(sc->st);
    free(doc_text);
    free(old_text);
    json_decref(doc);
    free(key);
    strata_strmap_free(rs.done);
    strata_strmap_free(rs.linked);
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

/* ---- syncing ahead ----------------------------------------------------
 *
 * Fetching is most of a scan's time and each repository's is its own, so
 * threads sync the mirrors ahead (cfg->scan.concurrency of them) while
 * this thread records each repository, in order, in the store: the store
 * sees one writer and the summary the configuration's order. At most
 * twice as many mirrors as threads are open ahead of the writer, so a
 * fleet of thousands holds a handful of repositories at a time.
 */

typedef struct synced {
    strata_vcs_repo *vr; /* the synced mirror, or NULL */
    char *error;         /* why it could not be synced, or NULL */
    int ready;
} synced;

typedef struct syncer {
    strata_graph__scan_ctx *sc;
    synced *slots;
    size_t n;        /* repositories */
    size_t next;     /* the next one a thread syncs */
    size_t consumed; /* the ones the writer is done with */
    size_t window;   /* synced ahead of the writer, at most */
    int stop;        /* the writer stopped on a store failure */
    uv_mutex_t mu;
    uv_cond_t cond;
} syncer;

static void
sync_one(synced *slot, strata_graph__scan_ctx *sc,
         const strata_config_repo *repo)
{
    strata_vcs_source src;
    strata_error e = {0};

    if (strata_vcs_cancel_is_set(sc->cancel)) {
        slot->error = strata_xstrdup("cancelled");
        return;
    }
    source_of(&src, sc, repo);
    if (strata_vcs_sync(&slot->vr, &src, sc->cache_dir, &e) != 0) {
        slot->vr = NULL;
        slot->error = strata_xstrdup(e.msg);
    }
}

static void
syncer_thread(void *arg)
{
    syncer *y = arg;
    size_t i;

    uv_mutex_lock(&y->mu);
    for (;;) {
        while (!y->stop && y->next < y->n && y->next >= y->consumed + y->window)
            uv_cond_wait(&y->cond, &y->mu);
        if (y->stop || y->next >= y->n)
            break;
        i = y->next++;
        uv_mutex_unlock(&y->mu);
        sync_one(&y->slots[i], y->sc, &y->sc->cfg->repos[i]);
        uv_mutex_lock(&y->mu);
        y->slots[i].ready = 1;
        uv_cond_broadcast(&y->cond);
    }
    uv_mutex_unlock(&y->mu);
}

int
strata_graph_scan(json_t **summary, strata_store *st,
                  const strata_config_data *cfg,
                  const strata_graph_scan_opts *opts, strata_error *err)
{
    strata_graph__scan_ctx sc = {0};
    json_t *repos = json_array();
    char *cache = NULL;
    syncer y = {0};
    uv_thread_t *threads;
    size_t i, nthreads;
    int rc = 0;

    *summary = json_pack("{s:o}", "repos", repos);
    if (opts == NULL || opts->cache_dir == NULL)
        cache = strata_graph_default_cache_dir(cfg->state);
    sc.st = st;
    sc.cfg = cfg;
    sc.cache_dir = cache ? cache : opts->cache_dir;
    sc.max_size = opts && opts->max_size ? opts->max_size : STRATA_DF_MAX_SIZE;
    sc.cancel = opts != NULL ? opts->cancel : NULL;
    sc.ids = strata_strmap_new();
    sc.matchers = matchers_of(cfg);

    nthreads = cfg->scan.concurrency > 0 ? (size_t) cfg->scan.concurrency : 1;
    if (nthreads > cfg->n_repos)
        nthreads = cfg->n_repos;
    y.sc = &sc;
    y.n = cfg->n_repos;
    y.window = 2 * (nthreads > 0 ? nthreads : 1);
    y.slots = strata_xcalloc(y.n + 1, sizeof(*y.slots));
    threads = strata_xcalloc(nthreads + 1, sizeof(*threads));
    uv_mutex_init(&y.mu);
    uv_cond_init(&y.cond);
    for (i = 0; i < nthreads; i++)
        if (uv_thread_create(&threads[i], syncer_thread, &y) != 0)
            break;
    nthreads = i;

    for (i = 0; i < cfg->n_repos; i++) {
        const strata_config_repo *repo = &cfg->repos[i];
        json_t *entry = json_pack(
            "{s:s, s:s, s:n, s:n, s:i, s:i, s:i, s:i, s:[]}", "url", repo->url,
            "branch", repo->branch ? repo->branch : "main", "commit", "error",
            "dockerfiles", 0, "parsed", 0, "skipped", 0, "edges", 0, "errors");
        synced *slot = &y.slots[i];

        json_array_append_new(repos, entry);
        if (nthreads == 0) {
            sync_one(slot, &sc, repo); /* no thread could start */
        } else {
            uv_mutex_lock(&y.mu);
            while (!slot->ready)
                uv_cond_wait(&y.cond, &y.mu);
            uv_mutex_unlock(&y.mu);
        }
        if (rc == 0)
            rc = scan_repo(entry, &sc, repo, slot->vr,
                           slot->error ? slot->error : "not synced", err);
        else
            strata_vcs_repo_free(slot->vr);
        slot->vr = NULL;
        free(slot->error);
        slot->error = NULL;
        uv_mutex_lock(&y.mu);
        y.consumed = i + 1;
        if (rc != 0) {
            /* A store failure ends the scan; the threads stop. */
            y.stop = 1;
            uv_cond_broadcast(&y.cond);
            uv_mutex_unlock(&y.mu);
            break;
        }
        uv_cond_broadcast(&y.cond);
        uv_mutex_unlock(&y.mu);
    }
    for (i = 0; i < nthreads; i++)
        uv_thread_join(&threads[i]);
    /* Mirrors synced ahead of a scan that stopped. */
    for (i = 0; i < y.n; i++) {
        strata_vcs_repo_free(y.slots[i].vr);
        free(y.slots[i].error);
    }
    uv_cond_destroy(&y.cond);
    uv_mutex_destroy(&y.mu);
    free(threads);
    free(y.slots);
    strata_strmap_free(sc.ids);
    strata_pin_matchers_free(sc.matchers);
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
