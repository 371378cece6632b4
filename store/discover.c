/*
 * discover.c - what repository discovery keeps between polls and across
 * restarts: each listing page's ETag and normalized body (so a restart
 * still asks with If-None-Match), and the repositories discovery took,
 * per source, so that one that disappears is noticed even when the
 * daemon was down when it went. Forgetting a repository drops its graph
 * edges and its scan state. Statements run a few times per poll, so they
 * are prepared on use (as pkgdb.c's).
 */
#include <stdlib.h>

#include <jansson.h>

#include "store-int.h"

static int
prepare(sqlite3_stmt **out, strata_store *st, const char *sql, const char *what,
        strata_error *err)
{
    int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);

    if (rc != SQLITE_OK) {
        sqlite3_finalize(*out);
        *out = NULL;
        return strata_store__error(st, err, rc, what);
    }
    return 0;
}

int
strata_store_discover_cache_get(char **etag, char **body, strata_store *st,
                                const char *key, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    *etag = *body = NULL;
    if ((rc = prepare(&stmt, st,
                      "SELECT etag, body FROM discover_cache WHERE key = ?1",
                      "reading the discovery cache", err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, key);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *etag = strata_store__col_strdup(stmt, 0);
        *body = strata_store__col_strdup(stmt, 1);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no discovery cache entry '%s'", key);
    } else {
        rc = strata_store__error(st, err, rc, "reading the discovery cache");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int
strata_store_discover_cache_put(strata_store *st, const char *key,
                                const char *etag, const char *body,
                                strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if ((rc = prepare(&stmt, st,
                      "INSERT OR REPLACE INTO discover_cache (key, etag, "
                      "body, updated) VALUES (?1, ?2, ?3, ?4)",
                      "writing the discovery cache", err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, key);
    strata_store__bind_text(stmt, 2, etag);
    strata_store__bind_text(stmt, 3, body);
    strata_store__bind_time(stmt, 4, strata_store__now(st));
    rc = strata_store__exec_stmt(st, stmt, "writing the discovery cache", err);
    sqlite3_finalize(stmt);
    return rc;
}

int
strata_store_discovered_list(json_t **out, strata_store *st, const char *source,
                             strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    *out = NULL;
    if ((rc = prepare(&stmt, st,
                      "SELECT url, full_name, branch, source FROM discovered "
                      "WHERE ?1 IS NULL OR source = ?1 ORDER BY full_name",
                      "reading discovered repositories", err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, source);
    *out = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(
            *out,
            json_pack("{s:s, s:s, s:s?, s:s}", "url",
                      (const char *) sqlite3_column_text(stmt, 0), "full_name",
                      (const char *) sqlite3_column_text(stmt, 1), "branch",
                      (const char *) sqlite3_column_text(stmt, 2), "source",
                      (const char *) sqlite3_column_text(stmt, 3)));
    if (rc != SQLITE_DONE) {
        json_decref(*out);
        *out = NULL;
        rc = strata_store__error(st, err, rc,
                                 "reading discovered "
                                 "repositories");
    } else {
        rc = 0;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int
strata_store_discovered_add(strata_store *st, const char *source,
                            const char *url, const char *full_name,
                            const char *branch, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if ((rc = prepare(&stmt, st,
                      "INSERT OR REPLACE INTO discovered (url, source, "
                      "full_name, branch, seen) VALUES (?1, ?2, ?3, ?4, ?5)",
                      "writing discovered repositories", err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, url);
    strata_store__bind_text(stmt, 2, source);
    strata_store__bind_text(stmt, 3, full_name);
    strata_store__bind_text(stmt, 4, branch);
    strata_store__bind_time(stmt, 5, strata_store__now(st));
    rc = strata_store__exec_stmt(st, stmt, "writing discovered repositories",
                                 err);
    sqlite3_finalize(stmt);
    return rc;
}

static int
exec1(strata_store *st, const char *sql, const char *arg, const char *what,
      strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if ((rc = prepare(&stmt, st, sql, what, err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, arg);
    rc = strata_store__exec_stmt(st, stmt, what, err);
    sqlite3_finalize(stmt);
    return rc;
}

int
strata_store_discovered_forget(strata_store *st, const char *url,
                               strata_error *err)
{
    char *meta = strata_xasprintf("scan:%s", url);
    int rc;

    if ((rc = strata_store_begin(st, err)) != 0)
        goto out;
    rc = exec1(st, "DELETE FROM discovered WHERE url = ?1", url,
               "forgetting a discovered repository", err);
    if (rc == 0)
        rc = exec1(st, "DELETE FROM graph_edges WHERE repo = ?1", url,
                   "deleting a repository's graph edges", err);
    if (rc == 0)
        rc = exec1(st, "DELETE FROM meta WHERE key = ?1", meta,
                   "forgetting a repository's scan", err);
    if (rc == 0)
        rc = strata_store_commit(st, err);
    if (rc != 0)
        strata_store_rollback(st);
out:
    free(meta);
    return rc;
}
