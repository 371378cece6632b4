/*
 * pkgdb.c - what each image digest has installed, per platform: the
 * packages module reads a base's layers once and keeps the result here,
 * so every image built on the same digest, and every later diff, finds it
 * without reading a layer again. Both statements are lookups by the
 * table's primary key (digest, platform). They run once per image read,
 * so they are prepared on use rather than kept in the statement cache.
 */
#include <stdlib.h>

#include "store-int.h"

int
strata_store_pkgdb_get(char **out, strata_store *st, const char *digest,
                       const char *platform, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    *out = NULL;
    rc = sqlite3_prepare_v2(st->db,
                            "SELECT body FROM pkgdb WHERE digest = ?1 "
                            "AND platform = ?2",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return strata_store__error(st, err, rc, "reading package databases");
    }
    strata_store__bind_text(stmt, 1, digest);
    strata_store__bind_text(stmt, 2, platform);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = strata_store__col_strdup(stmt, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no package database for '%s' (%s) in "
                              "database '%s'",
                              digest, platform, st->path);
    } else {
        rc = strata_store__error(st, err, rc, "reading package databases");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int
strata_store_pkgdb_put(strata_store *st, const char *digest,
                       const char *platform, const char *body,
                       strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    rc = sqlite3_prepare_v2(st->db,
                            "INSERT OR REPLACE INTO pkgdb (digest, platform, "
                            "body, created) VALUES (?1, ?2, ?3, ?4)",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return strata_store__error(st, err, rc, "storing a package database");
    }
    strata_store__bind_text(stmt, 1, digest);
    strata_store__bind_text(stmt, 2, platform);
    strata_store__bind_text(stmt, 3, body);
    strata_store__bind_time(stmt, 4, strata_store__now(st));
    rc = strata_store__exec_stmt(st, stmt, "storing a package database", err);
    sqlite3_finalize(stmt);
    return rc;
}
