/*
 * watch.c - watched references, the digests seen for each, and each
 * reference's check state.
 *
 * A successful check goes through strata_store_watch_observe(): it records
 * the digest (keeping its first_seen) and makes it the current digest. A
 * failed check goes through strata_store_watch_error(), which only counts
 * the error: a transient failure is never a change, so nothing but a
 * successful read ever moves the current digest.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

/* ---- watches ------------------------------------------------------------ */

int
strata_store_watch_add(int *out_created, strata_store *st, const char *ref,
                       const json_t *policy, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char *text = strata_store__json_text(policy);
    int exists = 0;
    int rc;

    if (ref == NULL || *ref == '\0') {
        rc = strata_error_set(err, STRATA_EINVAL, "a watch needs a ref");
        goto out;
    }
    if ((rc = strata_store_begin(st, err)) != 0)
        goto out;
    if (out_created != NULL) {
        if ((rc = strata_store__stmt(&stmt, st, STMT_WATCH_EXISTS,
                                     "SELECT 1 FROM watches WHERE ref = ?1",
                                     err)) != 0)
            goto fail;
        strata_store__bind_text(stmt, 1, ref);
        rc = sqlite3_step(stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            rc = strata_store__error(st, err, rc, "reading watches");
            goto fail;
        }
        exists = rc == SQLITE_ROW;
        strata_store__done(stmt);
    }
    /* A watch that is already there as it is is not written again. */
    if ((rc = strata_store__stmt(&stmt, st, STMT_WATCH_ADD,
                                 "INSERT INTO watches (ref, policy, created) "
                                 "VALUES (?1, ?2, ?3) ON CONFLICT (ref) DO "
                                 "UPDATE SET policy = excluded.policy "
                                 "WHERE policy IS NOT excluded.policy",
                                 err)) != 0)
        goto fail;
    strata_store__bind_text(stmt, 1, ref);
    strata_store__bind_text(stmt, 2, text);
    sqlite3_bind_int64(stmt, 3, strata_store__now(st));
    if ((rc = strata_store__exec_stmt(st, stmt, "adding a watch", err)) != 0)
        goto fail;
    strata_store__done(stmt);
    if ((rc = strata_store_commit(st, err)) != 0)
        goto fail;
    if (out_created != NULL)
        *out_created = !exists;
    goto out;
fail:
    strata_store__done(stmt);
    strata_store_rollback(st);
out:
    free(text);
    return rc;
}

int
strata_store_watch_remove(strata_store *st, const char *ref, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((rc = strata_store__stmt(&stmt, st, STMT_WATCH_REMOVE,
                                 "DELETE FROM watches WHERE ref = ?1", err)) !=
        0)
        return rc;
    strata_store__bind_text(stmt, 1, ref);
    rc = strata_store__exec_stmt(st, stmt, "removing a watch", err);
    strata_store__done(stmt);
    return rc;
}

int
strata_store_watch_each(strata_store *st, strata_store_watch_cb cb, void *arg,
                        strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((rc = strata_store__stmt(&stmt, st, STMT_WATCH_LIST,
                                 "SELECT ref, policy, created FROM watches "
                                 "ORDER BY ref",
                                 err)) != 0)
        return rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        strata_store_watch w;

        w.ref = (const char *) sqlite3_column_text(stmt, 0);
        w.policy = (const char *) sqlite3_column_text(stmt, 1);
        w.created = sqlite3_column_int64(stmt, 2);
        if ((rc = cb(&w, arg)) != 0)
            goto out;
    }
    if (rc != SQLITE_DONE)
        rc = strata_store__error(st, err, rc, "listing watches");
    else
        rc = 0;
out:
    strata_store__done(stmt);
    return rc;
}

static int
list_one(const strata_store_watch *w, void *arg)
{
    json_t *o = json_object(), *policy = NULL;

    if (w->policy != NULL)
        policy = json_loads(w->policy, JSON_DECODE_ANY, NULL);
    json_object_set_new(o, "ref", json_string(w->ref));
    json_object_set_new(o, "policy", policy ? policy : json_null());
    json_object_set_new(o, "created", json_integer(w->created));
    json_array_append_new(arg, o);
    return 0;
}

int
strata_store_watch_list(json_t **out, strata_store *st, strata_error *err)
{
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if ((rc = strata_store_watch_each(st, list_one, arr, err)) != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/* ---- observations and errors ------------------------------------------- */

/* *out_row = 1 when the single-row query in stmt found a row. */
static int
step_one(int *out_row, strata_store *st, sqlite3_stmt *stmt, const char *what,
         strata_error *err)
{
    int rc = sqlite3_step(stmt);

    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return strata_store__error(st, err, rc, what);
    *out_row = rc == SQLITE_ROW;
    return 0;
}

int
strata_store_watch_observe(int *out_new, char **out_previous, strata_store *st,
                           const strata_store_observation *obs,
                           strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char *previous = NULL;
    char *platforms = strata_store__json_text(obs->platforms);
    int64_t now = strata_store__now(st);
    int row = 0;
    int seen = 0;
    int rc;

    if (obs->ref == NULL || *obs->ref == '\0' || obs->digest == NULL ||
        *obs->digest == '\0') {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "an observation needs a ref and a digest");
        goto out;
    }
    if ((rc = strata_store_begin(st, err)) != 0)
        goto out;

    if ((rc = strata_store__stmt(&stmt, st, STMT_STATE_CURRENT,
                                 "SELECT current_digest FROM watch_state "
                                 "WHERE ref = ?1",
                                 err)) != 0)
        goto fail;
    strata_store__bind_text(stmt, 1, obs->ref);
    if ((rc = step_one(&row, st, stmt, "reading watch state", err)) != 0)
        goto fail;
    if (row)
        previous = strata_store__col_strdup(stmt, 0);
    strata_store__done(stmt);

    if ((rc = strata_store__stmt(&stmt, st, STMT_DIGEST_EXISTS,
                                 "SELECT 1 FROM digests WHERE ref = ?1 AND "
                                 "digest = ?2",
                                 err)) != 0)
        goto fail;
    strata_store__bind_text(stmt, 1, obs->ref);
    strata_store__bind_text(stmt, 2, obs->digest);
    if ((rc = step_one(&seen, st, stmt, "reading digests", err)) != 0)
        goto fail;
    strata_store__done(stmt);

    if ((rc = strata_store__stmt(
             &stmt, st, STMT_DIGEST_UPSERT,
             "INSERT INTO digests (ref, digest, tag, platforms, first_seen, "
             "last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
             "ON CONFLICT (ref, digest) DO UPDATE SET "
             "last_seen = excluded.last_seen, "
             "tag = coalesce(excluded.tag, tag), "
             "platforms = coalesce(excluded.platforms, platforms)",
             err)) != 0)
        goto fail;
    strata_store__bind_text(stmt, 1, obs->ref);
    strata_store__bind_text(stmt, 2, obs->digest);
    strata_store__bind_text(stmt, 3, obs->tag);
    strata_store__bind_text(stmt, 4, platforms);
    sqlite3_bind_int64(stmt, 5, now);
    if ((rc = strata_store__exec_stmt(st, stmt, "recording a digest", err)) !=
        0)
        goto fail;
    strata_store__done(stmt);

    if ((rc = strata_store__stmt(
             &stmt, st, STMT_STATE_OK,
             "INSERT INTO watch_state (ref, last_check, last_ok, last_error, "
             "consecutive_errors, next_check, current_digest) "
             "VALUES (?1, ?2, ?2, NULL, 0, ?3, ?4) "
             "ON CONFLICT (ref) DO UPDATE SET "
             "last_check = excluded.last_check, last_ok = excluded.last_ok, "
             "last_error = NULL, consecutive_errors = 0, "
             "next_check = coalesce(excluded.next_check, next_check), "
             "current_digest = excluded.current_digest",
             err)) != 0)
        goto fail;
    strata_store__bind_text(stmt, 1, obs->ref);
    sqlite3_bind_int64(stmt, 2, now);
    strata_store__bind_time(stmt, 3, obs->next_check_ms);
    strata_store__bind_text(stmt, 4, obs->digest);
    if ((rc = strata_store__exec_stmt(st, stmt, "recording a check", err)) != 0)
        goto fail;
    strata_store__done(stmt);

    if ((rc = strata_store_commit(st, err)) != 0)
        goto fail;
    if (out_new != NULL)
        *out_new = !seen;
    if (out_previous != NULL) {
        *out_previous = previous;
        previous = NULL;
    }
    goto out;
fail:
    strata_store__done(stmt);
    strata_store_rollback(st);
out:
    free(previous);
    free(platforms);
    return rc;
}

int
strata_store_watch_seen(int *out_moved, strata_store *st,
                        const strata_store_observation *obs, strata_error *err)
{
    sqlite3_stmt *stmt;
    int64_t now = strata_store__now(st);
    int rc;

    *out_moved = 0;
    if (obs->ref == NULL || *obs->ref == '\0' || obs->digest == NULL ||
        *obs->digest == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "an observation needs a ref and a digest");
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_STATE_SEEN,
             "UPDATE watch_state SET last_check = ?2, last_ok = ?2, "
             "last_error = NULL, consecutive_errors = 0, "
             "next_check = coalesce(?3, next_check) "
             "WHERE ref = ?1 AND current_digest = ?4",
             err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, obs->ref);
    sqlite3_bind_int64(stmt, 2, now);
    strata_store__bind_time(stmt, 3, obs->next_check_ms);
    strata_store__bind_text(stmt, 4, obs->digest);
    rc = strata_store__exec_stmt(st, stmt, "recording a check", err);
    strata_store__done(stmt);
    if (rc != 0)
        return rc;
    if (sqlite3_changes(st->db) == 0) {
        *out_moved = 1;
        return 0;
    }
    if ((rc = strata_store__stmt(&stmt, st, STMT_DIGEST_SEEN,
                                 "UPDATE digests SET last_seen = ?3, "
                                 "tag = coalesce(?4, tag) "
                                 "WHERE ref = ?1 AND digest = ?2",
                                 err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, obs->ref);
    strata_store__bind_text(stmt, 2, obs->digest);
    sqlite3_bind_int64(stmt, 3, now);
    strata_store__bind_text(stmt, 4, obs->tag);
    rc = strata_store__exec_stmt(st, stmt, "recording a digest", err);
    strata_store__done(stmt);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        *out_moved = 1;
    return rc;
}

int
strata_store_watch_error(int64_t *out_errors, strata_store *st, const char *ref,
                         const char *message, int64_t next_check_ms,
                         strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if (ref == NULL || *ref == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "a check error needs a ref");
    /* One statement: atomic without a transaction. */
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_STATE_ERROR,
             "INSERT INTO watch_state (ref, last_check, last_error, "
             "consecutive_errors, next_check) VALUES (?1, ?2, ?3, 1, ?4) "
             "ON CONFLICT (ref) DO UPDATE SET "
             "last_check = excluded.last_check, "
             "last_error = excluded.last_error, "
             "consecutive_errors = consecutive_errors + 1, "
             "next_check = coalesce(excluded.next_check, next_check) "
             "RETURNING consecutive_errors",
             err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, ref);
    sqlite3_bind_int64(stmt, 2, strata_store__now(st));
    strata_store__bind_text(stmt, 3, message != NULL ? message : "error");
    strata_store__bind_time(stmt, 4, next_check_ms);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        if (out_errors != NULL)
            *out_errors = sqlite3_column_int64(stmt, 0);
        rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_DONE)
        rc = strata_store__error(st, err, rc, "recording a check error");
    else
        rc = 0;
    strata_store__done(stmt);
    return rc;
}

/* ---- reading state ------------------------------------------------------ */

#define STATE_COLS                                                             \
    "SELECT ref, current_digest, last_error, consecutive_errors, "             \
    "last_check, last_ok, next_check FROM watch_state "

int
strata_store_watch_state_get(strata_store_watch_state *out, strata_store *st,
                             const char *ref, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = strata_store__stmt(&stmt, st, STMT_STATE_GET,
                                 STATE_COLS "WHERE ref = ?1", err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, ref);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        out->ref = strata_store__col_strdup(stmt, 0);
        out->current_digest = strata_store__col_strdup(stmt, 1);
        out->last_error = strata_store__col_strdup(stmt, 2);
        out->consecutive_errors = sqlite3_column_int64(stmt, 3);
        out->last_check_ms = sqlite3_column_int64(stmt, 4);
        out->last_ok_ms = sqlite3_column_int64(stmt, 5);
        out->next_check_ms = sqlite3_column_int64(stmt, 6);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no watch state for '%s' in database '%s'", ref,
                              st->path);
    } else {
        rc = strata_store__error(st, err, rc, "reading watch state");
    }
    strata_store__done(stmt);
    return rc;
}

void
strata_store_watch_state_release(strata_store_watch_state *s)
{
    if (s == NULL)
        return;
    free(s->ref);
    free(s->current_digest);
    free(s->last_error);
    memset(s, 0, sizeof(*s));
}

int
strata_store_watch_states(json_t **out, strata_store *st, strata_error *err)
{
    sqlite3_stmt *stmt;
    json_t *arr;
    int rc;

    *out = NULL;
    if ((rc = strata_store__stmt(&stmt, st, STMT_STATE_LIST,
                                 STATE_COLS "ORDER BY ref", err)) != 0)
        return rc;
    arr = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *o = json_object();

        json_object_set_new(o, "ref", strata_store__col_jstr(stmt, 0));
        json_object_set_new(o, "current_digest",
                            strata_store__col_jstr(stmt, 1));
        json_object_set_new(o, "last_error", strata_store__col_jstr(stmt, 2));
        json_object_set_new(o, "consecutive_errors",
                            strata_store__col_jint(stmt, 3));
        json_object_set_new(o, "last_check", strata_store__col_jint(stmt, 4));
        json_object_set_new(o, "last_ok", strata_store__col_jint(stmt, 5));
        json_object_set_new(o, "next_check", strata_store__col_jint(stmt, 6));
        json_array_append_new(arr, o);
    }
    if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "listing watch states");
        json_decref(arr);
    } else {
        rc = 0;
        *out = arr;
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_digest_platforms(json_t **out, strata_store *st, const char *ref,
                              const char *digest, strata_error *err)
{
    sqlite3_stmt *stmt;
    const char *text;
    int rc;

    *out = NULL;
    if ((rc = strata_store__stmt(&stmt, st, STMT_DIGEST_PLATFORMS,
                                 "SELECT platforms FROM digests "
                                 "WHERE ref = ?1 AND digest = ?2",
                                 err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, ref);
    strata_store__bind_text(stmt, 2, digest);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        text = (const char *) sqlite3_column_text(stmt, 0);
        if (text != NULL)
            *out = json_loads(text, 0, NULL);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = strata_store__error(st, err, rc, "reading digests");
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_digests_list(json_t **out, strata_store *st, const char *ref,
                          strata_error *err)
{
    sqlite3_stmt *stmt;
    json_t *arr;
    int rc;

    *out = NULL;
    if ((rc = strata_store__stmt(&stmt, st, STMT_DIGEST_LIST,
                                 "SELECT digest, tag, platforms, first_seen, "
                                 "last_seen FROM digests WHERE ref = ?1 "
                                 "ORDER BY first_seen, id",
                                 err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, ref);
    arr = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *o = json_object();

        json_object_set_new(o, "digest", strata_store__col_jstr(stmt, 0));
        json_object_set_new(o, "tag", strata_store__col_jstr(stmt, 1));
        json_object_set_new(o, "platforms", strata_store__col_json(stmt, 2));
        json_object_set_new(o, "first_seen", strata_store__col_jint(stmt, 3));
        json_object_set_new(o, "last_seen", strata_store__col_jint(stmt, 4));
        json_array_append_new(arr, o);
    }
    if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "listing digests");
        json_decref(arr);
    } else {
        rc = 0;
        *out = arr;
    }
    strata_store__done(stmt);
    return rc;
}
