/*
 * graph.c - the lineage graph's tables: nodes (images we build, bases we
 * watch) keyed by reference, and edges "child is built from parent", each
 * remembering where it was found (repo, path, line) and how (a Dockerfile
 * FROM, an image annotation, a layer prefix). graph/ owns the meaning and
 * the queries; this file only stores and loads.
 *
 * A rescanned Dockerfile replaces all the edges found in it in one
 * transaction, so a removed FROM line removes its edge.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

static const char *const kind_names[] = {"image", "base"};
static const char *const method_names[] = {"dockerfile", "annotation",
                                           "layers"};

#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))
#define NMETHODS (sizeof(method_names) / sizeof(method_names[0]))

const char *
strata_store_node_kind_name(strata_store_node_kind k)
{
    if ((unsigned) k >= NKINDS)
        return "unknown";
    return kind_names[k];
}

const char *
strata_store_edge_method_name(strata_store_edge_method m)
{
    if ((unsigned) m >= NMETHODS)
        return "unknown";
    return method_names[m];
}

static int
parse_name(const char *const *names, size_t n, const char *s)
{
    size_t i;

    for (i = 0; s != NULL && i < n; i++) {
        if (strcmp(s, names[i]) == 0)
            return (int) i;
    }
    return -1;
}

int
strata_store_graph_upsert_node(int64_t *out_id, strata_store *st,
                               strata_store_node_kind kind, const char *ref,
                               const char *digest, const char *repo,
                               const char *path, strata_error *err)
{
    sqlite3_stmt *stmt;
    int64_t id = 0;
    int rc;

    if ((unsigned) kind >= NKINDS)
        return strata_error_set(err, STRATA_EINVAL, "invalid node kind %d",
                                (int) kind);
    if (ref == NULL || *ref == '\0')
        return strata_error_set(err, STRATA_EINVAL, "a node needs a ref");
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_NODE_UPSERT,
             "INSERT INTO graph_nodes (kind, ref, digest, repo, path) "
             "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (ref) DO UPDATE SET "
             "kind = CASE WHEN kind = 'image' OR excluded.kind = 'image' "
             "THEN 'image' ELSE 'base' END, "
             "digest = coalesce(excluded.digest, digest), "
             "repo = coalesce(excluded.repo, repo), "
             "path = coalesce(excluded.path, path) RETURNING id",
             err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, kind_names[kind]);
    strata_store__bind_text(stmt, 2, ref);
    strata_store__bind_text(stmt, 3, digest);
    strata_store__bind_text(stmt, 4, repo);
    strata_store__bind_text(stmt, 5, path);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(stmt, 0);
        rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_DONE)
        rc = strata_store__error(st, err, rc, "saving a graph node");
    else
        rc = 0;
    strata_store__done(stmt);
    if (rc == 0 && out_id != NULL)
        *out_id = id;
    return rc;
}

int
strata_store_graph_node_id(int64_t *out_id, strata_store *st, const char *ref,
                           strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out_id = 0;
    if ((rc = strata_store__stmt(&stmt, st, STMT_NODE_ID,
                                 "SELECT id FROM graph_nodes WHERE ref = ?1",
                                 err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, ref);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out_id = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no graph node '%s' in database '%s'", ref,
                              st->path);
    } else {
        rc = strata_store__error(st, err, rc, "finding a graph node");
    }
    strata_store__done(stmt);
    return rc;
}

/* Inserts or updates e, with repo and path as given. */
static int
upsert_edge(strata_store *st, const strata_store_edge *e, const char *repo,
            const char *path, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((unsigned) e->method >= NMETHODS)
        return strata_error_set(err, STRATA_EINVAL, "invalid edge method %d",
                                (int) e->method);
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_EDGE_UPSERT,
             "INSERT INTO graph_edges (child, parent, repo, path, line, "
             "method, confidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
             "ON CONFLICT (child, parent, method) DO UPDATE SET "
             "repo = excluded.repo, path = excluded.path, "
             "line = excluded.line, confidence = excluded.confidence",
             err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, e->child);
    sqlite3_bind_int64(stmt, 2, e->parent);
    strata_store__bind_text(stmt, 3, repo);
    strata_store__bind_text(stmt, 4, path);
    if (e->line > 0)
        sqlite3_bind_int(stmt, 5, e->line);
    strata_store__bind_text(stmt, 6, method_names[e->method]);
    sqlite3_bind_double(stmt, 7, e->confidence);
    rc = strata_store__exec_stmt(st, stmt, "saving a graph edge", err);
    strata_store__done(stmt);
    return rc;
}

int
strata_store_graph_add_edge(strata_store *st, const strata_store_edge *e,
                            strata_error *err)
{
    return upsert_edge(st, e, e->repo, e->path, err);
}

int
strata_store_graph_replace_edges(strata_store *st, const char *repo,
                                 const char *path,
                                 const strata_store_edge *edges, size_t n,
                                 strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    size_t i;
    int rc;

    if ((rc = strata_store_begin(st, err)) != 0)
        return rc;
    if ((rc = strata_store__stmt(&stmt, st, STMT_EDGE_DELETE_SOURCE,
                                 "DELETE FROM graph_edges WHERE repo IS ?1 "
                                 "AND path IS ?2",
                                 err)) != 0)
        goto fail;
    strata_store__bind_text(stmt, 1, repo);
    strata_store__bind_text(stmt, 2, path);
    rc = strata_store__exec_stmt(st, stmt, "deleting graph edges", err);
    strata_store__done(stmt);
    if (rc != 0)
        goto fail;
    for (i = 0; i < n; i++) {
        if ((rc = upsert_edge(st, &edges[i], repo, path, err)) != 0)
            goto fail;
    }
    if ((rc = strata_store_commit(st, err)) != 0)
        goto fail;
    return 0;
fail:
    strata_store_rollback(st);
    return rc;
}

int
strata_store_graph_clear(strata_store *st, strata_error *err)
{
    int rc;

    if ((rc = strata_store_begin(st, err)) != 0)
        return rc;
    if ((rc = strata_store__exec(st,
                                 "DELETE FROM graph_edges; "
                                 "DELETE FROM graph_nodes",
                                 "clearing the graph", err)) != 0 ||
        (rc = strata_store_commit(st, err)) != 0) {
        strata_store_rollback(st);
        return rc;
    }
    return 0;
}

static int
load_nodes(strata_store *st, strata_store_node_cb cb, void *arg,
           strata_error *err)
{
    sqlite3_stmt *stmt;
    strata_store_node node;
    int rc;

    if ((rc = strata_store__stmt(&stmt, st, STMT_NODE_LIST,
                                 "WITH live AS (SELECT child, parent FROM "
                                 "graph_edges WHERE method = 'dockerfile' "
                                 "OR confidence > 0) "
                                 "SELECT id, kind, ref, digest, repo, path, "
                                 "id IN (SELECT child FROM live) OR "
                                 "id IN (SELECT parent FROM live) "
                                 "FROM graph_nodes ORDER BY id",
                                 err)) != 0)
        return rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int kind = parse_name(kind_names, NKINDS,
                              (const char *) sqlite3_column_text(stmt, 1));

        node.id = sqlite3_column_int64(stmt, 0);
        node.kind =
            kind >= 0 ? (strata_store_node_kind) kind : STRATA_STORE_NODE_BASE;
        node.ref = (const char *) sqlite3_column_text(stmt, 2);
        node.digest = (const char *) sqlite3_column_text(stmt, 3);
        node.repo = (const char *) sqlite3_column_text(stmt, 4);
        node.path = (const char *) sqlite3_column_text(stmt, 5);
        node.used = sqlite3_column_int(stmt, 6);
        if ((rc = cb(&node, arg)) != 0)
            goto out;
    }
    if (rc != SQLITE_DONE)
        rc = strata_store__error(st, err, rc, "loading graph nodes");
    else
        rc = 0;
out:
    strata_store__done(stmt);
    return rc;
}

/*
 * Calls cb for each row of stmt: child, parent, repo, path, line, method,
 * confidence, then (with_refs) the child's and the parent's references.
 */
static int
edge_rows(strata_store *st, sqlite3_stmt *stmt, int with_refs,
          strata_store_edge_cb cb, void *arg, const char *what,
          strata_error *err)
{
    strata_store_edge edge;
    int rc;

    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int method = parse_name(method_names, NMETHODS,
                                (const char *) sqlite3_column_text(stmt, 5));

        edge.child = sqlite3_column_int64(stmt, 0);
        edge.parent = sqlite3_column_int64(stmt, 1);
        edge.repo = (const char *) sqlite3_column_text(stmt, 2);
        edge.path = (const char *) sqlite3_column_text(stmt, 3);
        edge.line = sqlite3_column_int(stmt, 4);
        edge.method = method >= 0 ? (strata_store_edge_method) method
                                  : STRATA_STORE_EDGE_DOCKERFILE;
        edge.confidence = sqlite3_column_double(stmt, 6);
        edge.child_ref =
            with_refs ? (const char *) sqlite3_column_text(stmt, 7) : NULL;
        edge.parent_ref =
            with_refs ? (const char *) sqlite3_column_text(stmt, 8) : NULL;
        if ((rc = cb(&edge, arg)) != 0)
            goto out;
    }
    if (rc != SQLITE_DONE)
        rc = strata_store__error(st, err, rc, what);
    else
        rc = 0;
out:
    strata_store__done(stmt);
    return rc;
}

static int
load_edges(strata_store *st, strata_store_edge_cb cb, void *arg,
           strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((rc = strata_store__stmt(&stmt, st, STMT_EDGE_LIST,
                                 "SELECT child, parent, repo, path, line, "
                                 "method, confidence FROM graph_edges "
                                 "ORDER BY id",
                                 err)) != 0)
        return rc;
    return edge_rows(st, stmt, 0, cb, arg, "loading graph edges", err);
}

int
strata_store_graph_registry_edges(strata_store *st, strata_store_edge_cb cb,
                                  void *arg, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((rc = strata_store__stmt(
             &stmt, st, STMT_REGISTRY_EDGES,
             "SELECT e.child, e.parent, e.repo, e.path, e.line, e.method, "
             "e.confidence, c.ref, p.ref "
             "FROM graph_edges e JOIN graph_nodes c ON c.id = e.child "
             "JOIN graph_nodes p ON p.id = e.parent "
             "WHERE e.method != 'dockerfile' AND e.confidence > 0 "
             "ORDER BY e.id",
             err)) != 0)
        return rc;
    return edge_rows(st, stmt, 1, cb, arg, "loading registry edges", err);
}

int
strata_store_graph_generation(int64_t *out, strata_store *st, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = 0;
    if ((rc = strata_store__stmt(&stmt, st, STMT_GRAPH_GENERATION,
                                 "SELECT n FROM graph_generation", err)) != 0)
        return rc;
    if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else {
        rc = strata_store__error(st, err,
                                 rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                                 "reading the graph generation");
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_graph_count(strata_store *st, size_t *nodes, size_t *edges,
                         strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *nodes = *edges = 0;
    if ((rc = strata_store__stmt(&stmt, st, STMT_GRAPH_COUNT,
                                 "SELECT (SELECT count(*) FROM graph_nodes), "
                                 "(SELECT count(*) FROM graph_edges)",
                                 err)) != 0)
        return rc;
    if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        *nodes = (size_t) sqlite3_column_int64(stmt, 0);
        *edges = (size_t) sqlite3_column_int64(stmt, 1);
        rc = 0;
    } else {
        rc = strata_store__error(st, err, rc, "counting the graph");
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_graph_load(strata_store *st, strata_store_node_cb node_cb,
                        strata_store_edge_cb edge_cb, void *arg,
                        strata_error *err)
{
    int rc;

    /*
     * One read transaction, so nodes and edges come from one snapshot. It
     * counts as an open transaction, so a callback's own begin nests.
     */
    if ((rc = strata_store__exec(st, "SAVEPOINT strata_load",
                                 "loading the graph", err)) != 0)
        return rc;
    st->depth++;
    if (node_cb != NULL)
        rc = load_nodes(st, node_cb, arg, err);
    if (rc == 0 && edge_cb != NULL)
        rc = load_edges(st, edge_cb, arg, err);
    st->depth--;
    sqlite3_exec(st->db, "RELEASE strata_load", NULL, NULL, NULL);
    return rc;
}
