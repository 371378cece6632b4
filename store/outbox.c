/*
 * outbox.c - notify's durable outbox: one row per (event, sink), written
 * before anything is sent. The notify module claims due rows (pending ->
 * sending, with a fresh attempt id), sends them, and marks each sent, or
 * failed (back to pending with a later next_attempt, or dead). Every
 * transition is one statement guarded by the state it leaves (and, out of
 * sending, by the attempt id), so two claimers never take one row and a
 * stale attempt cannot finish a row twice.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

static const char *const state_names[STRATA_STORE_OUTBOX_NSTATES] = {
    "pending",
    "sending",
    "sent",
    "dead",
};

static const char *
state_name_of(strata_store_outbox_state s)
{
    if ((int) s < 0 || s >= STRATA_STORE_OUTBOX_NSTATES)
        return "unknown";
    return state_names[s];
}

int
strata_store_outbox_state_parse(strata_store_outbox_state *out,
                                const char *name)
{
    int i;

    for (i = 0; i < STRATA_STORE_OUTBOX_NSTATES; i++) {
        if (name != NULL && strcmp(name, state_names[i]) == 0) {
            *out = (strata_store_outbox_state) i;
            return 0;
        }
    }
    return STRATA_EINVAL;
}

/* The columns every message query selects, in msg_from_row's order. */
#define MSG_COLS                                                               \
    "id, delivery, sink, event_type, payload, state, attempts, "               \
    "max_attempts, next_attempt, attempt_id, last_error, created, updated, "   \
    "sent"

static strata_store_outbox_msg *
msg_from_row(sqlite3_stmt *stmt)
{
    strata_store_outbox_msg *m = strata_xcalloc(1, sizeof(*m));
    const char *state = (const char *) sqlite3_column_text(stmt, 5);

    m->id = sqlite3_column_int64(stmt, 0);
    m->delivery = strata_store__col_strdup(stmt, 1);
    m->sink = strata_store__col_strdup(stmt, 2);
    m->event_type = strata_store__col_strdup(stmt, 3);
    m->payload = strata_store__col_json(stmt, 4);
    /* The CHECK constraint keeps state to the four names. */
    if (strata_store_outbox_state_parse(&m->state, state) != 0)
        m->state = STRATA_STORE_OUTBOX_DEAD;
    m->attempts = sqlite3_column_int(stmt, 6);
    m->max_attempts = sqlite3_column_int(stmt, 7);
    m->next_attempt_ms = sqlite3_column_int64(stmt, 8);
    m->attempt_id = strata_store__col_strdup(stmt, 9);
    m->last_error = strata_store__col_strdup(stmt, 10);
    m->created_ms = sqlite3_column_int64(stmt, 11);
    m->updated_ms = sqlite3_column_int64(stmt, 12);
    m->sent_ms = sqlite3_column_int64(stmt, 13);
    return m;
}

void
strata_store_outbox_msg_free(strata_store_outbox_msg *msg)
{
    if (msg == NULL)
        return;
    free(msg->delivery);
    free(msg->sink);
    free(msg->event_type);
    json_decref(msg->payload);
    free(msg->attempt_id);
    free(msg->last_error);
    free(msg);
}

void
strata_store_outbox_msgs_free(strata_store_outbox_msg **msgs, size_t n)
{
    size_t i;

    for (i = 0; msgs != NULL && i < n; i++)
        strata_store_outbox_msg_free(msgs[i]);
    free(msgs);
}

int
strata_store_outbox_add(int64_t *out_id, int *out_created, strata_store *st,
                        const strata_store_outbox_spec *spec, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char *text = NULL;
    int64_t now = strata_store__now(st);
    int created = 0;
    int rc;

    *out_id = 0;
    if (spec->delivery == NULL || *spec->delivery == '\0' ||
        spec->sink == NULL || *spec->sink == '\0' || spec->event_type == NULL ||
        *spec->event_type == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "an outbox message needs a delivery key, a "
                                "sink and an event type");
    if (spec->payload == NULL ||
        (text = strata_store__json_text(spec->payload)) == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "cannot encode the event of delivery '%s'",
                                spec->delivery);
    if ((rc = strata_store_begin(st, err)) != 0)
        goto out;
    if ((rc = strata_store__stmt(&stmt, st, STMT_OUTBOX_FIND,
                                 "SELECT id FROM outbox WHERE delivery = ?1",
                                 err)) != 0)
        goto fail;
    strata_store__bind_text(stmt, 1, spec->delivery);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out_id = sqlite3_column_int64(stmt, 0);
    } else if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "finding an outbox message");
        goto fail;
    }
    strata_store__done(stmt);
    stmt = NULL;
    if (*out_id == 0) {
        if ((rc = strata_store__stmt(
                 &stmt, st, STMT_OUTBOX_INSERT,
                 "INSERT INTO outbox (delivery, sink, event_type, payload, "
                 "max_attempts, next_attempt, created, updated) VALUES "
                 "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                 err)) != 0)
            goto fail;
        strata_store__bind_text(stmt, 1, spec->delivery);
        strata_store__bind_text(stmt, 2, spec->sink);
        strata_store__bind_text(stmt, 3, spec->event_type);
        strata_store__bind_text(stmt, 4, text);
        sqlite3_bind_int(stmt, 5,
                         spec->max_attempts > 0 ? spec->max_attempts : 8);
        sqlite3_bind_int64(
            stmt, 6, spec->not_before_ms != 0 ? spec->not_before_ms : now);
        sqlite3_bind_int64(stmt, 7, now);
        if ((rc = strata_store__exec_stmt(st, stmt, "adding to the outbox",
                                          err)) != 0)
            goto fail;
        strata_store__done(stmt);
        stmt = NULL;
        *out_id = sqlite3_last_insert_rowid(st->db);
        created = 1;
    }
    if ((rc = strata_store_commit(st, err)) != 0)
        goto fail;
    if (out_created != NULL)
        *out_created = created;
    goto out;
fail:
    *out_id = 0;
    strata_store__done(stmt);
    strata_store_rollback(st);
out:
    free(text);
    return rc;
}

int
strata_store_outbox_get(strata_store_outbox_msg **out, strata_store *st,
                        int64_t id, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = NULL;
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_OUTBOX_GET,
             "SELECT " MSG_COLS " FROM outbox WHERE id = ?1", err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = msg_from_row(stmt);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no outbox message %lld in database '%s'",
                              (long long) id, st->path);
    } else {
        rc = strata_store__error(st, err, rc, "reading an outbox message");
    }
    strata_store__done(stmt);
    return rc;
}

static int
by_id(const void *a, const void *b)
{
    const strata_store_outbox_msg *x = *(strata_store_outbox_msg *const *) a;
    const strata_store_outbox_msg *y = *(strata_store_outbox_msg *const *) b;

    return x->id < y->id ? -1 : x->id > y->id;
}

int
strata_store_outbox_claim(strata_store_outbox_msg ***out, size_t *out_n,
                          strata_store *st, const char *sink, int max,
                          const char *attempt_id, strata_error *err)
{
    strata_store_outbox_msg **msgs = NULL;
    sqlite3_stmt *stmt;
    size_t n = 0;
    int rc;

    *out = NULL;
    *out_n = 0;
    if (max < 1 || sink == NULL || attempt_id == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "claiming needs a sink, an attempt id and a "
                                "positive count");
    /*
     * One statement: the subquery and the update run under one write lock,
     * so a message is claimed at most once even by two processes. It walks
     * the sink's pending messages in id order (outbox_pending) and stops
     * after max due ones; without INDEXED BY, sqlite would rather sort
     * every due message on each claim (outbox_due), which makes draining
     * a long outbox quadratic. INDEXED BY also makes a schema without the
     * index fail loudly instead of slowly.
     */
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_OUTBOX_CLAIM,
             "UPDATE outbox SET state = 'sending', attempts = attempts + 1, "
             "attempt_id = ?3, updated = ?2 WHERE id IN (SELECT id FROM "
             "outbox INDEXED BY outbox_pending WHERE sink = ?1 AND "
             "state = 'pending' AND next_attempt <= ?2 ORDER BY id "
             "LIMIT ?4) RETURNING " MSG_COLS,
             err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, sink);
    sqlite3_bind_int64(stmt, 2, strata_store__now(st));
    strata_store__bind_text(stmt, 3, attempt_id);
    sqlite3_bind_int(stmt, 4, max);
    msgs = strata_xcalloc((size_t) max, sizeof(*msgs));
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < (size_t) max)
        msgs[n++] = msg_from_row(stmt);
    if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "claiming outbox messages");
        strata_store_outbox_msgs_free(msgs, n);
        strata_store__done(stmt);
        return rc;
    }
    strata_store__done(stmt);
    if (n == 0) {
        free(msgs);
        return 0;
    }
    /* RETURNING promises no order. */
    qsort(msgs, n, sizeof(*msgs), by_id);
    *out = msgs;
    *out_n = n;
    return 0;
}

/* Why message id was not sending under attempt_id. */
static int
not_sending(strata_store *st, int64_t id, strata_error *err)
{
    strata_store_outbox_msg *m = NULL;
    int rc;

    if ((rc = strata_store_outbox_get(&m, st, id, err)) != 0)
        return rc;
    rc = strata_error_set(err, STRATA_ECONFLICT,
                          "outbox message %lld is not in this attempt (it is "
                          "%s)",
                          (long long) id, state_name_of(m->state));
    strata_store_outbox_msg_free(m);
    return rc;
}

int
strata_store_outbox_sent(strata_store *st, int64_t id, const char *attempt_id,
                         strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((rc = strata_store__stmt(&stmt, st, STMT_OUTBOX_SENT,
                                 "UPDATE outbox SET state = 'sent', sent = ?3, "
                                 "updated = ?3, last_error = NULL WHERE id = "
                                 "?1 AND state = 'sending' AND attempt_id = ?2",
                                 err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    strata_store__bind_text(stmt, 2, attempt_id);
    sqlite3_bind_int64(stmt, 3, strata_store__now(st));
    rc = strata_store__exec_stmt(st, stmt, "marking a message sent", err);
    strata_store__done(stmt);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        rc = not_sending(st, id, err);
    return rc;
}

int
strata_store_outbox_fail(int *out_dead, strata_store *st, int64_t id,
                         const char *attempt_id, const char *error,
                         int64_t next_attempt_ms, int permanent,
                         strata_error *err)
{
    sqlite3_stmt *stmt;
    int64_t now = strata_store__now(st);
    int found = 0, dead = 0;
    int rc;

    if ((rc = strata_store__stmt(
             &stmt, st, STMT_OUTBOX_FAIL,
             "UPDATE outbox SET state = CASE WHEN ?5 OR attempts >= "
             "max_attempts THEN 'dead' ELSE 'pending' END, last_error = ?3, "
             "next_attempt = ?4, updated = ?6 WHERE id = ?1 AND "
             "state = 'sending' AND attempt_id = ?2 RETURNING state",
             err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    strata_store__bind_text(stmt, 2, attempt_id);
    strata_store__bind_text(stmt, 3, error);
    sqlite3_bind_int64(stmt, 4, next_attempt_ms > now ? next_attempt_ms : now);
    sqlite3_bind_int(stmt, 5, permanent != 0);
    sqlite3_bind_int64(stmt, 6, now);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *s = (const char *) sqlite3_column_text(stmt, 0);

        found = 1;
        dead = s != NULL && strcmp(s, "dead") == 0;
        rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_DONE)
        rc = strata_store__error(st, err, rc, "recording a failed delivery");
    else
        rc = 0;
    strata_store__done(stmt);
    if (rc == 0 && !found)
        rc = not_sending(st, id, err);
    if (rc == 0 && out_dead != NULL)
        *out_dead = dead;
    return rc;
}

int
strata_store_outbox_recover(int *out_count, strata_store *st, strata_error *err)
{
    sqlite3_stmt *stmt;
    int64_t now = strata_store__now(st);
    int rc;

    if ((rc = strata_store__stmt(
             &stmt, st, STMT_OUTBOX_RECOVER,
             "UPDATE outbox SET state = CASE WHEN attempts >= max_attempts "
             "THEN 'dead' ELSE 'pending' END, next_attempt = ?1, "
             "last_error = 'interrupted', updated = ?1 "
             "WHERE state = 'sending'",
             err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, now);
    rc = strata_store__exec_stmt(st, stmt, "recovering the outbox", err);
    strata_store__done(stmt);
    if (rc == 0 && out_count != NULL)
        *out_count = sqlite3_changes(st->db);
    return rc;
}

int
strata_store_outbox_next_due(int64_t *out_ms, strata_store *st,
                             const char *sink, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out_ms = 0;
    if ((rc = strata_store__stmt(&stmt, st, STMT_OUTBOX_NEXT_DUE,
                                 "SELECT min(next_attempt) FROM outbox "
                                 "WHERE sink = ?1 AND state = 'pending'",
                                 err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, sink);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out_ms = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else {
        rc = strata_store__error(st, err, rc, "reading the outbox");
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_outbox_requeue(strata_store *st, int64_t id, strata_error *err)
{
    strata_store_outbox_msg *m = NULL;
    sqlite3_stmt *stmt;
    int64_t now = strata_store__now(st);
    int rc;

    if ((rc = strata_store__stmt(&stmt, st, STMT_OUTBOX_REQUEUE,
                                 "UPDATE outbox SET state = 'pending', "
                                 "attempts = 0, next_attempt = ?2, "
                                 "updated = ?2 WHERE id = ?1 AND "
                                 "state = 'dead'",
                                 err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, now);
    rc = strata_store__exec_stmt(st, stmt, "requeueing a message", err);
    strata_store__done(stmt);
    if (rc != 0 || sqlite3_changes(st->db) > 0)
        return rc;
    if ((rc = strata_store_outbox_get(&m, st, id, err)) != 0)
        return rc;
    rc = strata_error_set(err, STRATA_ECONFLICT,
                          "outbox message %lld is not dead (it is %s)",
                          (long long) id, state_name_of(m->state));
    strata_store_outbox_msg_free(m);
    return rc;
}

int
strata_store_outbox_count(int64_t out[STRATA_STORE_OUTBOX_NSTATES],
                          strata_store *st, const char *sink, strata_error *err)
{
    sqlite3_stmt *stmt;
    strata_store_outbox_state s;
    int rc;

    memset(out, 0, sizeof(int64_t) * STRATA_STORE_OUTBOX_NSTATES);
    /* Two statements, each counted from one index (outbox_state, _due). */
    if (sink == NULL)
        rc = strata_store__stmt(&stmt, st, STMT_OUTBOX_COUNT,
                                "SELECT state, count(*) FROM outbox "
                                "GROUP BY state",
                                err);
    else
        rc = strata_store__stmt(&stmt, st, STMT_OUTBOX_COUNT_SINK,
                                "SELECT state, count(*) FROM outbox WHERE "
                                "sink = ?1 GROUP BY state",
                                err);
    if (rc != 0)
        return rc;
    if (sink != NULL)
        strata_store__bind_text(stmt, 1, sink);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        if (strata_store_outbox_state_parse(
                &s, (const char *) sqlite3_column_text(stmt, 0)) == 0)
            out[s] = sqlite3_column_int64(stmt, 1);
    if (rc != SQLITE_DONE)
        rc = strata_store__error(st, err, rc, "counting outbox messages");
    else
        rc = 0;
    strata_store__done(stmt);
    return rc;
}

/* The columns strata_store_outbox_list selects; names[] follows them. */
#define LIST_COLS                                                              \
    "id, delivery, sink, event_type, state, attempts, max_attempts, "          \
    "next_attempt, last_error, created, updated, sent, payload"

int
strata_store_outbox_list(json_t **out, strata_store *st, int64_t after_id,
                         int limit, int state, strata_error *err)
{
    static const char *const names[] = {
        "id",         "delivery", "sink",         "event_type",
        "state",      "attempts", "max_attempts", "next_attempt",
        "last_error", "created",  "updated",      "sent",
    };
    sqlite3_stmt *stmt;
    json_t *arr;
    size_t i;
    int rc;

    *out = NULL;
    if (state >= STRATA_STORE_OUTBOX_NSTATES)
        return strata_error_set(err, STRATA_EINVAL, "bad outbox state %d",
                                state);
    /* Two statements, each paging through an index (rowid, outbox_state). */
    if (state >= 0)
        rc = strata_store__stmt(&stmt, st, STMT_OUTBOX_LIST_STATE,
                                "SELECT " LIST_COLS " FROM outbox WHERE "
                                "state = ?2 AND id > ?1 ORDER BY id LIMIT ?3",
                                err);
    else
        rc = strata_store__stmt(&stmt, st, STMT_OUTBOX_LIST,
                                "SELECT " LIST_COLS " FROM outbox WHERE "
                                "id > ?1 ORDER BY id LIMIT ?3",
                                err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, after_id);
    if (state >= 0)
        strata_store__bind_text(stmt, 2, state_names[state]);
    sqlite3_bind_int(stmt, 3, limit > 0 ? limit : -1);
    arr = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *o = json_object();

        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (sqlite3_column_type(stmt, (int) i) == SQLITE_INTEGER)
                json_object_set_new(o, names[i],
                                    strata_store__col_jint(stmt, (int) i));
            else
                json_object_set_new(o, names[i],
                                    strata_store__col_jstr(stmt, (int) i));
        }
        json_object_set_new(o, "event", strata_store__col_json(stmt, 12));
        json_array_append_new(arr, o);
    }
    if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "listing the outbox");
        json_decref(arr);
    } else {
        rc = 0;
        *out = arr;
    }
    strata_store__done(stmt);
    return rc;
}
