/*
 * findings.c - vulnerability findings per image digest, for rescans. A
 * scan is one row of `scans` (image, digest, scanner, when, and a
 * sequence number that orders scans newest last); its findings are rows
 * of `findings` in report order. Recording a digest again replaces its
 * findings and makes it the newest scan of its image, in one transaction.
 * The store only keeps them: comparing digests is scan/delta.c's.
 *
 * These statements run once per scan, not per event, so they are prepared
 * here on use rather than kept in the store's statement cache.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

static const char *const severities[] = {
    "critical", "high", "medium", "low", "negligible", "unknown",
};

#define NSEVERITIES (sizeof(severities) / sizeof(severities[0]))

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

static int
known_severity(const char *s)
{
    size_t i;

    for (i = 0; s != NULL && i < NSEVERITIES; i++)
        if (strcmp(s, severities[i]) == 0)
            return 1;
    return 0;
}

/* The id of image@digest's scan: 0 and *out_id, or STRATA_ENOTFOUND. */
static int
scan_id(int64_t *out_id, strata_store *st, const char *image,
        const char *digest, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if ((rc = prepare(&stmt, st,
                      "SELECT id FROM scans WHERE image = ?1 AND digest = ?2",
                      "reading scans", err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, image);
    strata_store__bind_text(stmt, 2, digest);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out_id = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no findings for '%s@%s' in database '%s'", image,
                              digest, st->path);
    } else {
        rc = strata_store__error(st, err, rc, "reading scans");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int
strata_store_findings_put(strata_store *st, const char *image,
                          const char *digest, const char *scanner,
                          const strata_store_finding *findings, size_t n,
                          strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int64_t id = 0;
    size_t i;
    int rc;

    if (image == NULL || *image == '\0' || digest == NULL || *digest == '\0' ||
        scanner == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "findings need an image, a digest and a "
                                "scanner");
    for (i = 0; i < n; i++)
        if (findings[i].vuln == NULL || *findings[i].vuln == '\0' ||
            !known_severity(findings[i].severity))
            return strata_error_set(err, STRATA_EINVAL,
                                    "finding %zu of '%s@%s' has no id or an "
                                    "unknown severity",
                                    i, image, digest);
    if ((rc = strata_store_begin(st, err)) != 0)
        return rc;
    if ((rc = prepare(&stmt, st,
                      "INSERT INTO scans (image, digest, scanner, scanned, "
                      "  seq) VALUES (?1, ?2, ?3, ?4, "
                      "  (SELECT coalesce(max(seq), 0) + 1 FROM scans)) "
                      "ON CONFLICT (image, digest) DO UPDATE SET "
                      "  scanner = excluded.scanner, "
                      "  scanned = excluded.scanned, seq = excluded.seq "
                      "RETURNING id",
                      "recording a scan", err)) != 0)
        goto out;
    strata_store__bind_text(stmt, 1, image);
    strata_store__bind_text(stmt, 2, digest);
    strata_store__bind_text(stmt, 3, scanner);
    sqlite3_bind_int64(stmt, 4, strata_store__now(st));
    if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
        rc = strata_store__error(st, err, rc, "recording a scan");
        goto out;
    }
    id = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    stmt = NULL;
    if ((rc = prepare(&stmt, st, "DELETE FROM findings WHERE scan = ?1",
                      "recording findings", err)) != 0)
        goto out;
    sqlite3_bind_int64(stmt, 1, id);
    if ((rc = strata_store__exec_stmt(st, stmt, "recording findings", err)) !=
        0)
        goto out;
    sqlite3_finalize(stmt);
    stmt = NULL;
    if ((rc = prepare(&stmt, st,
                      "INSERT INTO findings (scan, seq, vuln, pkg, version, "
                      "  fixed, severity) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                      "recording findings", err)) != 0)
        goto out;
    for (i = 0; i < n; i++) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64) i);
        strata_store__bind_text(stmt, 3, findings[i].vuln);
        strata_store__bind_text(stmt, 4,
                                findings[i].pkg ? findings[i].pkg : "");
        strata_store__bind_text(stmt, 5, findings[i].version);
        strata_store__bind_text(stmt, 6, findings[i].fixed);
        strata_store__bind_text(stmt, 7, findings[i].severity);
        if ((rc = strata_store__exec_stmt(st, stmt, "recording findings",
                                          err)) != 0)
            goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(stmt);
    if (rc != 0) {
        strata_store_rollback(st);
        return rc;
    }
    if ((rc = strata_store_commit(st, err)) != 0)
        strata_store_rollback(st);
    return rc;
}

int
strata_store_findings_get(json_t **out, strata_store *st, const char *image,
                          const char *digest, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list = NULL;
    int64_t id = 0;
    int rc;

    *out = NULL;
    if ((rc = scan_id(&id, st, image, digest, err)) != 0)
        return rc;
    if ((rc = prepare(&stmt, st,
                      "SELECT vuln, pkg, version, fixed, severity "
                      "FROM findings WHERE scan = ?1 ORDER BY seq",
                      "reading findings", err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    list = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(
            list, json_pack("{s:o, s:o, s:o, s:o, s:o}", "id",
                            strata_store__col_jstr(stmt, 0), "pkg",
                            strata_store__col_jstr(stmt, 1), "version",
                            strata_store__col_jstr(stmt, 2), "fixed",
                            strata_store__col_jstr(stmt, 3), "severity",
                            strata_store__col_jstr(stmt, 4)));
    if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "reading findings");
        json_decref(list);
        goto out;
    }
    *out = list;
    rc = 0;
out:
    sqlite3_finalize(stmt);
    return rc;
}

/* {"critical": n, ...} for every severity, for scan id. New or NULL. */
static int
scan_counts(json_t **out, strata_store *st, sqlite3_stmt *stmt, int64_t id,
            strata_error *err)
{
    json_t *counts = json_object();
    size_t i;
    int rc;

    for (i = 0; i < NSEVERITIES; i++)
        json_object_set_new(counts, severities[i], json_integer(0));
    sqlite3_reset(stmt);
    sqlite3_bind_int64(stmt, 1, id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_object_set_new(counts, (const char *) sqlite3_column_text(stmt, 0),
                            json_integer(sqlite3_column_int64(stmt, 1)));
    if (rc != SQLITE_DONE) {
        json_decref(counts);
        return strata_store__error(st, err, rc, "counting findings");
    }
    *out = counts;
    return 0;
}

int
strata_store_scans_list(json_t **out, strata_store *st, const char *image,
                        int limit, strata_error *err)
{
    sqlite3_stmt *stmt = NULL, *count = NULL;
    json_t *list = json_array();
    int rc;

    *out = NULL;
    if ((rc = prepare(&stmt, st,
                      "SELECT id, image, digest, scanner, scanned FROM scans "
                      "WHERE ?1 IS NULL OR image = ?1 ORDER BY seq DESC "
                      "LIMIT ?2",
                      "reading scans", err)) != 0 ||
        (rc = prepare(&count, st,
                      "SELECT severity, count(*) FROM findings "
                      "WHERE scan = ?1 GROUP BY severity",
                      "counting findings", err)) != 0)
        goto out;
    strata_store__bind_text(stmt, 1, image);
    sqlite3_bind_int(stmt, 2, limit > 0 ? limit : -1);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *counts = NULL;

        if ((rc = scan_counts(&counts, st, count, sqlite3_column_int64(stmt, 0),
                              err)) != 0)
            goto out;
        json_array_append_new(
            list, json_pack("{s:o, s:o, s:o, s:o, s:o}", "image",
                            strata_store__col_jstr(stmt, 1), "digest",
                            strata_store__col_jstr(stmt, 2), "scanner",
                            strata_store__col_jstr(stmt, 3), "scanned",
                            strata_store__col_jint(stmt, 4), "counts", counts));
    }
    if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "reading scans");
        goto out;
    }
    *out = list;
    list = NULL;
    rc = 0;
out:
    json_decref(list);
    sqlite3_finalize(stmt);
    sqlite3_finalize(count);
    return rc;
}

int
strata_store_scans_previous(char **out, strata_store *st, const char *image,
                            const char *except, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    *out = NULL;
    if ((rc = prepare(&stmt, st,
                      "SELECT digest FROM scans WHERE image = ?1 "
                      "AND (?2 IS NULL OR digest != ?2) "
                      "ORDER BY seq DESC LIMIT 1",
                      "reading scans", err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, image);
    strata_store__bind_text(stmt, 2, except);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = strata_store__col_strdup(stmt, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = strata_store__error(st, err, rc, "reading scans");
    }
    sqlite3_finalize(stmt);
    return rc;
}
