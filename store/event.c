/*
 * event.c - the event log: an append-only table of what happened
 * ("base.updated", "job.failed", ...), each with a subject and a JSON
 * payload. Ids come from AUTOINCREMENT, so they only grow and are never
 * reused; readers (notify's outbox, the HTTP API) page through with
 * "after this id". An event may carry a key: recording it again returns
 * the first one, so a job that runs again after a crash records nothing
 * new and notify, which derives delivery keys from the event id, sends
 * nothing under a second key.
 */
#include <stdlib.h>

#include "store-int.h"

/* Inserts one event; key may be NULL. */
static int
append(int64_t *out_id, strata_store *st, const char *key, const char *type,
       const char *subject, const json_t *payload, int64_t time_ms,
       strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char *text = NULL;
    int rc;

    if (type == NULL || *type == '\0')
        return strata_error_set(err, STRATA_EINVAL, "event without a type");
    if (payload != NULL && (text = strata_store__json_text(payload)) == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "cannot encode the payload of event '%s'",
                                type);
    if ((rc = strata_store__stmt(&stmt, st, STMT_EVENT_APPEND,
                                 "INSERT INTO events (time, type, subject, "
                                 "payload, key) VALUES (?1, ?2, ?3, "
                                 "coalesce(?4, '{}'), ?5)",
                                 err)) != 0)
        goto out;
    sqlite3_bind_int64(stmt, 1, time_ms != 0 ? time_ms : strata_store__now(st));
    strata_store__bind_text(stmt, 2, type);
    strata_store__bind_text(stmt, 3, subject);
    strata_store__bind_text(stmt, 4, text);
    strata_store__bind_text(stmt, 5, key);
    if ((rc = strata_store__exec_stmt(st, stmt, "appending an event", err)) !=
        0)
        goto out;
    if (out_id != NULL)
        *out_id = sqlite3_last_insert_rowid(st->db);
out:
    strata_store__done(stmt);
    free(text);
    return rc;
}

int
strata_store_event_append(int64_t *out_id, strata_store *st, const char *type,
                          const char *subject, const json_t *payload,
                          int64_t time_ms, strata_error *err)
{
    return append(out_id, st, NULL, type, subject, payload, time_ms, err);
}

int
strata_store_event_add(int64_t *out_id, int *out_created, strata_store *st,
                       const strata_store_event_spec *spec, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int64_t id = 0;
    int created = 0;
    int rc;

    if (out_id != NULL)
        *out_id = 0;
    if (out_created != NULL)
        *out_created = 0;
    if (spec->key == NULL || *spec->key == '\0') {
        rc = append(out_id, st, NULL, spec->type, spec->subject, spec->payload,
                    spec->time_ms, err);
        if (rc == 0 && out_created != NULL)
            *out_created = 1;
        return rc;
    }
    /* Look and insert under one write lock. */
    if ((rc = strata_store_begin(st, err)) != 0)
        return rc;
    if ((rc = strata_store__stmt(&stmt, st, STMT_EVENT_FIND_KEY,
                                 "SELECT id FROM events WHERE key = ?1",
                                 err)) != 0)
        goto fail;
    strata_store__bind_text(stmt, 1, spec->key);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(stmt, 0);
    } else if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "finding an event");
        goto fail;
    }
    strata_store__done(stmt);
    stmt = NULL;
    if (id == 0) {
        if ((rc = append(&id, st, spec->key, spec->type, spec->subject,
                         spec->payload, spec->time_ms, err)) != 0)
            goto fail;
        created = 1;
    }
    if ((rc = strata_store_commit(st, err)) != 0)
        goto fail;
    if (out_id != NULL)
        *out_id = id;
    if (out_created != NULL)
        *out_created = created;
    return 0;
fail:
    strata_store__done(stmt);
    strata_store_rollback(st);
    return rc;
}

int
strata_store_event_list(json_t **out, strata_store *st, int64_t after_id,
                        int limit, const char *type, strata_error *err)
{
    sqlite3_stmt *stmt;
    json_t *arr;
    int rc;

    *out = NULL;
    /*
     * Two statements, so that each pages through an index: every event by
     * id, or one type's through events_type (type, id). LIMIT -1 means no
     * limit in sqlite.
     */
    if (type != NULL)
        rc = strata_store__stmt(&stmt, st, STMT_EVENT_LIST_TYPE,
                                "SELECT id, time, type, subject, payload "
                                "FROM events WHERE type = ?2 AND id > ?1 "
                                "ORDER BY id LIMIT ?3",
                                err);
    else
        rc = strata_store__stmt(&stmt, st, STMT_EVENT_LIST,
                                "SELECT id, time, type, subject, payload "
                                "FROM events WHERE id > ?1 "
                                "ORDER BY id LIMIT ?3",
                                err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, after_id);
    if (type != NULL)
        strata_store__bind_text(stmt, 2, type);
    sqlite3_bind_int(stmt, 3, limit > 0 ? limit : -1);
    arr = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *o = json_object();

        json_object_set_new(o, "id", strata_store__col_jint(stmt, 0));
        json_object_set_new(o, "time", strata_store__col_jint(stmt, 1));
        json_object_set_new(o, "type", strata_store__col_jstr(stmt, 2));
        json_object_set_new(o, "subject", strata_store__col_jstr(stmt, 3));
        json_object_set_new(o, "payload", strata_store__col_json(stmt, 4));
        json_array_append_new(arr, o);
    }
    if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "listing events");
        json_decref(arr);
    } else {
        rc = 0;
        *out = arr;
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_event_last_id(int64_t *out, strata_store *st, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = 0;
    /* max() of the rowid reads one row: the end of the table's b-tree. */
    if ((rc = strata_store__stmt(&stmt, st, STMT_EVENT_LAST,
                                 "SELECT max(id) FROM events", err)) != 0)
        return rc;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(stmt, 0);
    else
        rc = strata_store__error(st, err, rc, "reading the last event id");
    strata_store__done(stmt);
    return rc == SQLITE_ROW ? 0 : rc;
}
