/*
 * job.c - the durable job queue. A job is one action (pr, rebuild, rebase,
 * rescan) on one image for one base digest; its idempotency key
 * image|base_digest|action is unique, so enqueueing is safe to repeat.
 *
 * States: queued -> running (claim) -> succeeded | failed (finish), or
 * back to queued (retry, crash recovery); queued -> cancelled. Every
 * transition is one UPDATE guarded by the state it leaves, so two
 * processes sharing the database cannot both take or end the same job.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

static const char *const state_names[STRATA_STORE_JOB_NSTATES] = {
    "queued", "running", "succeeded", "failed", "cancelled",
};

const char *
strata_store_job_state_name(strata_store_job_state s)
{
    if ((int) s < 0 || s >= STRATA_STORE_JOB_NSTATES)
        return "unknown";
    return state_names[s];
}

int
strata_store_job_state_parse(strata_store_job_state *out, const char *name)
{
    int i;

    for (i = 0; i < STRATA_STORE_JOB_NSTATES; i++) {
        if (name != NULL && strcmp(name, state_names[i]) == 0) {
            *out = (strata_store_job_state) i;
            return 0;
        }
    }
    return STRATA_EINVAL;
}

/* The columns every job query selects, in job_from_row's order. */
#define JOB_COLS                                                               \
    "id, key, image, action, base_ref, base_digest, wave, state, attempts, "   \
    "max_attempts, next_attempt, last_error, created, updated, result, "       \
    "waiting"

static strata_store_job *
job_from_row(sqlite3_stmt *stmt)
{
    strata_store_job *job = strata_xcalloc(1, sizeof(*job));
    const char *state = (const char *) sqlite3_column_text(stmt, 7);

    job->id = sqlite3_column_int64(stmt, 0);
    job->key = strata_store__col_strdup(stmt, 1);
    job->image = strata_store__col_strdup(stmt, 2);
    job->action = strata_store__col_strdup(stmt, 3);
    job->base_ref = strata_store__col_strdup(stmt, 4);
    job->base_digest = strata_store__col_strdup(stmt, 5);
    job->wave = sqlite3_column_int(stmt, 6);
    /* The CHECK constraint keeps state to the five names. */
    if (strata_store_job_state_parse(&job->state, state) != 0)
        job->state = STRATA_STORE_JOB_FAILED;
    job->attempts = sqlite3_column_int(stmt, 8);
    job->max_attempts = sqlite3_column_int(stmt, 9);
    job->next_attempt_ms = sqlite3_column_int64(stmt, 10);
    job->last_error = strata_store__col_strdup(stmt, 11);
    job->created_ms = sqlite3_column_int64(stmt, 12);
    job->updated_ms = sqlite3_column_int64(stmt, 13);
    if (sqlite3_column_type(stmt, 14) != SQLITE_NULL)
        job->result = strata_store__col_json(stmt, 14);
    job->waiting = strata_store__col_strdup(stmt, 15);
    return job;
}

static json_t *
json_from_row(sqlite3_stmt *stmt)
{
    static const char *const names[] = {
        "id",           "key",        "image",   "action",   "base_ref",
        "base_digest",  "wave",       "state",   "attempts", "max_attempts",
        "next_attempt", "last_error", "created", "updated",
    };
    json_t *o = json_object();
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (sqlite3_column_type(stmt, (int) i) == SQLITE_INTEGER)
            json_object_set_new(o, names[i],
                                strata_store__col_jint(stmt, (int) i));
        else
            json_object_set_new(o, names[i],
                                strata_store__col_jstr(stmt, (int) i));
    }
    json_object_set_new(o, "result", strata_store__col_json(stmt, 14));
    json_object_set_new(o, "waiting", strata_store__col_jstr(stmt, 15));
    return o;
}

void
strata_store_job_free(strata_store_job *job)
{
    if (job == NULL)
        return;
    free(job->key);
    free(job->image);
    free(job->action);
    free(job->base_ref);
    free(job->base_digest);
    free(job->last_error);
    free(job->waiting);
    json_decref(job->result);
    free(job);
}

int
strata_store_job_get(strata_store_job **out, strata_store *st, int64_t id,
                     strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = NULL;
    if ((rc = strata_store__stmt(&stmt, st, STMT_JOB_GET,
                                 "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
                                 err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = job_from_row(stmt);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no job %lld in database '%s'", (long long) id,
                              st->path);
    } else {
        rc = strata_store__error(st, err, rc, "reading a job");
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_job_enqueue(int64_t *out_id, int *out_created, strata_store *st,
                         const strata_store_job_spec *spec, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char *key = NULL;
    int64_t now = strata_store__now(st);
    int created = 0;
    int rc;

    *out_id = 0;
    if (spec->image == NULL || *spec->image == '\0' || spec->action == NULL ||
        *spec->action == '\0' || spec->base_digest == NULL ||
        *spec->base_digest == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "a job needs an image, an action and a base "
                                "digest");
    key = strata_xasprintf("%s|%s|%s", spec->image, spec->base_digest,
                           spec->action);
    if ((rc = strata_store_begin(st, err)) != 0)
        goto out;
    if ((rc = strata_store__stmt(&stmt, st, STMT_JOB_FIND_KEY,
                                 "SELECT id FROM jobs WHERE key = ?1", err)) !=
        0)
        goto fail;
    strata_store__bind_text(stmt, 1, key);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out_id = sqlite3_column_int64(stmt, 0);
    } else if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "finding a job");
        goto fail;
    }
    strata_store__done(stmt);
    if (*out_id == 0) {
        if ((rc = strata_store__stmt(
                 &stmt, st, STMT_JOB_INSERT,
                 "INSERT INTO jobs (key, image, action, base_ref, "
                 "base_digest, wave, max_attempts, next_attempt, created, "
                 "updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                 err)) != 0)
            goto fail;
        strata_store__bind_text(stmt, 1, key);
        strata_store__bind_text(stmt, 2, spec->image);
        strata_store__bind_text(stmt, 3, spec->action);
        strata_store__bind_text(stmt, 4, spec->base_ref);
        strata_store__bind_text(stmt, 5, spec->base_digest);
        sqlite3_bind_int(stmt, 6, spec->wave);
        sqlite3_bind_int(stmt, 7,
                         spec->max_attempts > 0 ? spec->max_attempts : 3);
        sqlite3_bind_int64(
            stmt, 8, spec->not_before_ms != 0 ? spec->not_before_ms : now);
        sqlite3_bind_int64(stmt, 9, now);
        if ((rc = strata_store__exec_stmt(st, stmt, "enqueueing a job", err)) !=
            0)
            goto fail;
        strata_store__done(stmt);
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
    free(key);
    return rc;
}

int
strata_store_job_claim(strata_store_job **out, strata_store *st,
                       strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = NULL;
    /*
     * One statement: the subquery and the update run under one write lock,
     * so a job is claimed at most once. The changes are made before the
     * first row comes back.
     */
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_JOB_CLAIM,
             "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
             "waiting = NULL, updated = ?1 WHERE id = (SELECT id FROM jobs "
             "WHERE "
             "state = 'queued' AND next_attempt <= ?1 AND NOT EXISTS ("
             "SELECT 1 FROM jobs AS w WHERE w.base_digest = jobs.base_digest "
             "AND w.wave < jobs.wave AND w.action IN ('rebuild', 'rebase') "
             "AND w.state IN ('queued', 'running') AND (w.waiting IS NULL OR "
             "w.waiting NOT LIKE 'rollout %')) AND NOT (action = "
             "'rescan' AND EXISTS (SELECT 1 FROM jobs AS b WHERE b.image = "
             "jobs.image AND b.base_digest = jobs.base_digest AND b.action "
             "IN ('rebuild', 'rebase') AND b.state IN ('queued', "
             "'running'))) ORDER BY wave, created, id LIMIT 1) "
             "RETURNING " JOB_COLS,
             err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, strata_store__now(st));
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = job_from_row(stmt);
        rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "claiming a job");
        strata_store_job_free(*out);
        *out = NULL;
    } else {
        rc = 0;
    }
    strata_store__done(stmt);
    return rc;
}

/* Why job id was not running: it does not exist, or it is in another state. */
static int
not_running(strata_store *st, int64_t id, strata_error *err)
{
    strata_store_job *job = NULL;
    int rc;

    if ((rc = strata_store_job_get(&job, st, id, err)) != 0)
        return rc;
    rc = strata_error_set(err, STRATA_ECONFLICT,
                          "job %lld is not running (it is %s)", (long long) id,
                          strata_store_job_state_name(job->state));
    strata_store_job_free(job);
    return rc;
}

int
strata_store_job_finish(strata_store *st, int64_t id,
                        strata_store_job_state state, const char *error,
                        const json_t *result, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char *text = NULL;
    int rc;

    if (state != STRATA_STORE_JOB_SUCCEEDED && state != STRATA_STORE_JOB_FAILED)
        return strata_error_set(err, STRATA_EINVAL, "a job cannot finish as %s",
                                strata_store_job_state_name(state));
    if (result != NULL && (text = strata_store__json_text(result)) == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "cannot encode the result of job %lld",
                                (long long) id);
    if ((rc = strata_store__stmt(&stmt, st, STMT_JOB_FINISH,
                                 "UPDATE jobs SET state = ?2, last_error = ?3, "
                                 "result = ?4, updated = ?5 "
                                 "WHERE id = ?1 AND state = 'running'",
                                 err)) != 0)
        goto out;
    sqlite3_bind_int64(stmt, 1, id);
    strata_store__bind_text(stmt, 2, state_names[state]);
    strata_store__bind_text(stmt, 3, error);
    strata_store__bind_text(stmt, 4, text);
    sqlite3_bind_int64(stmt, 5, strata_store__now(st));
    if ((rc = strata_store__exec_stmt(st, stmt, "finishing a job", err)) != 0)
        goto out;
    if (sqlite3_changes(st->db) == 0)
        rc = not_running(st, id, err);
out:
    strata_store__done(stmt);
    free(text);
    return rc;
}

int
strata_store_job_retry(int *out_requeued, strata_store *st, int64_t id,
                       const char *error, int64_t next_attempt_ms,
                       strata_error *err)
{
    sqlite3_stmt *stmt;
    int64_t now = strata_store__now(st);
    int found = 0;
    int requeued = 0;
    int rc;

    if ((rc = strata_store__stmt(
             &stmt, st, STMT_JOB_RETRY,
             "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts "
             "THEN 'failed' ELSE 'queued' END, last_error = ?2, "
             "next_attempt = ?3, updated = ?4 "
             "WHERE id = ?1 AND state = 'running' RETURNING state",
             err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    strata_store__bind_text(stmt, 2, error);
    sqlite3_bind_int64(stmt, 3, next_attempt_ms != 0 ? next_attempt_ms : now);
    sqlite3_bind_int64(stmt, 4, now);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *s = (const char *) sqlite3_column_text(stmt, 0);

        found = 1;
        requeued = s != NULL && strcmp(s, "queued") == 0;
        rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_DONE)
        rc = strata_store__error(st, err, rc, "retrying a job");
    else
        rc = 0;
    strata_store__done(stmt);
    if (rc == 0 && !found)
        rc = not_running(st, id, err);
    if (rc == 0 && out_requeued != NULL)
        *out_requeued = requeued;
    return rc;
}

int
strata_store_job_cancel(int *out_count, strata_store *st,
                        const strata_store_job_filter *f, const char *reason,
                        strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if (out_count != NULL)
        *out_count = 0;
    /* One statement; an unset field of the filter matches everything. */
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_JOB_CANCEL,
             "UPDATE jobs SET state = 'cancelled', last_error = ?7, "
             "updated = ?8 WHERE state = 'queued' "
             "AND (?1 = 0 OR id = ?1) "
             "AND (?2 IS NULL OR image = ?2) "
             "AND (?3 IS NULL OR action = ?3) "
             "AND (?4 IS NULL OR base_ref = ?4) "
             "AND (?5 IS NULL OR base_digest <> ?5) "
             "AND (?6 = 0 OR id < ?6)",
             err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, f->id);
    strata_store__bind_text(stmt, 2, f->image);
    strata_store__bind_text(stmt, 3, f->action);
    strata_store__bind_text(stmt, 4, f->base_ref);
    strata_store__bind_text(stmt, 5, f->base_digest_not);
    sqlite3_bind_int64(stmt, 6, f->before_id);
    strata_store__bind_text(stmt, 7, reason != NULL ? reason : "cancelled");
    sqlite3_bind_int64(stmt, 8, strata_store__now(st));
    rc = strata_store__exec_stmt(st, stmt, "cancelling jobs", err);
    if (rc == 0 && out_count != NULL)
        *out_count = sqlite3_changes(st->db);
    strata_store__done(stmt);
    return rc;
}

int
strata_store_job_cancel_superseded(int *out_count, strata_store *st,
                                   int64_t newer, strata_error *err)
{
    strata_store_job *job = NULL;
    sqlite3_stmt *stmt;
    char *reason = NULL;
    int rc;

    if (out_count != NULL)
        *out_count = 0;
    if ((rc = strata_store_job_get(&job, st, newer, err)) != 0)
        return rc;
    /*
     * The planner asks this once per job it enqueues: one image's jobs of
     * one action (jobs_image), never the whole queue.
     */
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_JOB_CANCEL_SUPERSEDED,
             "UPDATE jobs SET state = 'cancelled', last_error = ?6, "
             "updated = ?7 WHERE image = ?1 AND action = ?2 "
             "AND state = 'queued' AND (?3 IS NULL OR base_ref = ?3) "
             "AND base_digest <> ?4 AND id < ?5",
             err)) != 0)
        goto out;
    reason = strata_xasprintf("superseded by job %lld", (long long) newer);
    strata_store__bind_text(stmt, 1, job->image);
    strata_store__bind_text(stmt, 2, job->action);
    strata_store__bind_text(stmt, 3, job->base_ref);
    strata_store__bind_text(stmt, 4, job->base_digest);
    sqlite3_bind_int64(stmt, 5, job->id);
    strata_store__bind_text(stmt, 6, reason);
    sqlite3_bind_int64(stmt, 7, strata_store__now(st));
    rc = strata_store__exec_stmt(st, stmt, "cancelling superseded jobs", err);
    if (rc == 0 && out_count != NULL)
        *out_count = sqlite3_changes(st->db);
    strata_store__done(stmt);
out:
    free(reason);
    strata_store_job_free(job);
    return rc;
}

int
strata_store_job_requeue_running(int *out_count, strata_store *st,
                                 strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if (out_count != NULL)
        *out_count = 0;
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_JOB_REQUEUE,
             "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts "
             "THEN 'failed' ELSE 'queued' END, next_attempt = ?1, "
             "last_error = 'interrupted', updated = ?1 "
             "WHERE state = 'running'",
             err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, strata_store__now(st));
    rc = strata_store__exec_stmt(st, stmt, "requeueing jobs", err);
    if (rc == 0 && out_count != NULL)
        *out_count = sqlite3_changes(st->db);
    strata_store__done(stmt);
    return rc;
}

int
strata_store_job_release(strata_store *st, int64_t id, strata_error *err)
{
    sqlite3_stmt *stmt;
    int64_t now = strata_store__now(st);
    int rc;

    if ((rc = strata_store__stmt(
             &stmt, st, STMT_JOB_RELEASE,
             "UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, "
             "0), next_attempt = ?2, last_error = 'interrupted by the "
             "shutdown', updated = ?2 WHERE id = ?1 AND state = 'running'",
             err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, now);
    rc = strata_store__exec_stmt(st, stmt, "releasing a job", err);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        rc = not_running(st, id, err);
    strata_store__done(stmt);
    return rc;
}

int
strata_store_job_defer(strata_store *st, int64_t id, int64_t next_attempt_ms,
                       const char *why, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((rc = strata_store__stmt(
             &stmt, st, STMT_JOB_DEFER,
             "UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, "
             "0), next_attempt = ?2, waiting = ?3, updated = ?4 "
             "WHERE id = ?1 AND state = 'running'",
             err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, next_attempt_ms);
    sqlite3_bind_text(stmt, 3, why, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 4, strata_store__now(st));
    rc = strata_store__exec_stmt(st, stmt, "deferring a job", err);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        rc = not_running(st, id, err);
    strata_store__done(stmt);
    return rc;
}

int
strata_store_job_pr_opened(int64_t *out_time, strata_store *st,
                           int64_t since_ms, int n, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out_time = 0;
    if (n < 1)
        return 0;
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_JOB_PR_OPENED,
             "SELECT updated FROM jobs INDEXED BY jobs_pr_done WHERE action = "
             "'pr' AND state = "
             "'succeeded' AND updated > ?1 AND "
             "json_extract(result, '$.pr.created') = 1 "
             "ORDER BY updated DESC LIMIT 1 OFFSET ?2",
             err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, since_ms);
    sqlite3_bind_int(stmt, 2, n - 1);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out_time = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = strata_store__error(st, err, rc, "counting opened requests");
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_job_pr_running(int *out, strata_store *st, int64_t except,
                            strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = 0;
    if ((rc = strata_store__stmt(&stmt, st, STMT_JOB_PR_RUNNING,
                                 "SELECT count(*) FROM jobs WHERE state = "
                                 "'running' AND action = 'pr' AND id != ?1",
                                 err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, except);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(stmt, 0);
        rc = 0;
    } else {
        rc = strata_store__error(st, err, rc, "counting running requests");
    }
    strata_store__done(stmt);
    return rc;
}

int64_t
strata_store_now(strata_store *st)
{
    return strata_store__now(st);
}

int
strata_store_job_count(int64_t out[STRATA_STORE_JOB_NSTATES], strata_store *st,
                       strata_error *err)
{
    sqlite3_stmt *stmt;
    strata_store_job_state s;
    int rc;

    memset(out, 0, sizeof(int64_t) * STRATA_STORE_JOB_NSTATES);
    if ((rc = strata_store__stmt(&stmt, st, STMT_JOB_COUNT,
                                 "SELECT state, count(*) FROM jobs "
                                 "GROUP BY state",
                                 err)) != 0)
        return rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (strata_store_job_state_parse(
                &s, (const char *) sqlite3_column_text(stmt, 0)) == 0)
            out[s] = sqlite3_column_int64(stmt, 1);
    }
    if (rc != SQLITE_DONE)
        rc = strata_store__error(st, err, rc, "counting jobs");
    else
        rc = 0;
    strata_store__done(stmt);
    return rc;
}

/* Steps stmt to the end, appending json_from_row of each row to *out. */
static int
list_rows(json_t **out, strata_store *st, sqlite3_stmt *stmt, strata_error *err)
{
    json_t *arr = json_array();
    int rc;

    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(arr, json_from_row(stmt));
    if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "listing jobs");
        json_decref(arr);
    } else {
        rc = 0;
        *out = arr;
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_job_list(json_t **out, strata_store *st, int64_t after_id,
                      int limit, int state, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = NULL;
    /*
     * Two statements, so that each pages through an index: all jobs by
     * id, or one state's through jobs_state (state, id).
     */
    if (state >= 0 && state < STRATA_STORE_JOB_NSTATES) {
        rc = strata_store__stmt(&stmt, st, STMT_JOB_LIST_STATE,
                                "SELECT " JOB_COLS " FROM jobs WHERE "
                                "state = ?2 AND id > ?1 ORDER BY id LIMIT ?3",
                                err);
        if (rc != 0)
            return rc;
        strata_store__bind_text(stmt, 2, state_names[state]);
    } else {
        rc = strata_store__stmt(&stmt, st, STMT_JOB_LIST,
                                "SELECT " JOB_COLS " FROM jobs WHERE id > ?1 "
                                "ORDER BY id LIMIT ?3",
                                err);
        if (rc != 0)
            return rc;
    }
    sqlite3_bind_int64(stmt, 1, after_id);
    sqlite3_bind_int(stmt, 3, limit > 0 ? limit : -1);
    return list_rows(out, st, stmt, err);
}

int
strata_store_job_each_base(strata_store *st, const char *action,
                           const char *image, int prefix,
                           strata_store_job_base_cb cb, void *arg,
                           strata_error *err)
{
    sqlite3_stmt *stmt;
    char *upper = NULL;
    size_t len = strlen(image);
    int rc;

    if (prefix) {
        /*
         * Every image that starts with image: from image up to (not
         * including) image with its last byte below 0xff raised by one, a
         * range of the index.
         */
        upper = strata_xstrdup(image);
        while (len > 0 && (unsigned char) upper[len - 1] == 0xff)
            upper[--len] = '\0';
        if (len == 0) {
            rc = strata_error_set(err, STRATA_EINVAL,
                                  "no image prefix to list jobs by");
            goto out;
        }
        upper[len - 1] = (char) ((unsigned char) upper[len - 1] + 1);
        rc = strata_store__stmt(
            &stmt, st, STMT_JOB_BASES_PREFIX,
            "SELECT id, base_ref, base_digest FROM jobs WHERE image >= ?1 "
            "AND image < ?2 AND action = ?3 AND state <> 'cancelled' AND "
            "base_ref IS NOT NULL ORDER BY id",
            err);
    } else {
        rc = strata_store__stmt(
            &stmt, st, STMT_JOB_BASES,
            "SELECT id, base_ref, base_digest FROM jobs WHERE image = ?1 "
            "AND action = ?3 AND state <> 'cancelled' AND base_ref IS NOT "
            "NULL ORDER BY id",
            err);
    }
    if (rc != 0)
        goto out;
    strata_store__bind_text(stmt, 1, image);
    if (prefix)
        strata_store__bind_text(stmt, 2, upper);
    strata_store__bind_text(stmt, 3, action);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if ((rc = cb(sqlite3_column_int64(stmt, 0),
                     (const char *) sqlite3_column_text(stmt, 1),
                     (const char *) sqlite3_column_text(stmt, 2), arg)) != 0)
            break;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0) /* sqlite's; cb's are negative */
        rc = strata_store__error(st, err, rc, "listing the bases of jobs");
    strata_store__done(stmt);
out:
    free(upper);
    return rc;
}

int
strata_store_job_list_image(json_t **out, strata_store *st, const char *image,
                            const char *action, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = NULL;
    if ((rc = strata_store__stmt(&stmt, st, STMT_JOB_LIST_IMAGE,
                                 "SELECT " JOB_COLS " FROM jobs WHERE "
                                 "image = ?1 AND action = ?2 ORDER BY id",
                                 err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, image);
    strata_store__bind_text(stmt, 2, action);
    return list_rows(out, st, stmt, err);
}

int
strata_store_job_producing(int *out, strata_store *st, const char *image,
                           strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = 0;
    /* The terms of jobs_building's WHERE, so that partial index serves. */
    if ((rc = strata_store__stmt(&stmt, st, STMT_JOB_PRODUCING,
                                 "SELECT 1 FROM jobs WHERE image = ?1 AND "
                                 "action IN ('rebuild', 'rebase') AND "
                                 "state IN ('queued', 'running') LIMIT 1",
                                 err)) != 0)
        return rc;
    strata_store__bind_text(stmt, 1, image);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = 1;
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = strata_store__error(st, err, rc, "finding a rebuild");
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_job_last_id(int64_t *out, strata_store *st, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = 0;
    /* max() of the rowid reads one row: the end of the table's b-tree. */
    if ((rc = strata_store__stmt(&stmt, st, STMT_JOB_LAST,
                                 "SELECT max(id) FROM jobs", err)) != 0)
        return rc;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(stmt, 0);
    else
        rc = strata_store__error(st, err, rc, "reading the last job id");
    strata_store__done(stmt);
    return rc == SQLITE_ROW ? 0 : rc;
}
