/*
 * rollout.c - the rollouts table and each rollout's images: what
 * jobs/rollout.c decides, kept so that a restart goes on at the same
 * stage. An image's state is not stored twice: it is read from its jobs
 * for the rollout's base digest.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

#define ROLLOUT_COLS                                                           \
    "id, base_ref, base_digest, state, stage, policy, stages, note, "          \
    "created, updated"

static json_t *
rollout_from_row(sqlite3_stmt *stmt)
{
    json_t *r = json_object();

    json_object_set_new(r, "id", json_integer(sqlite3_column_int64(stmt, 0)));
    json_object_set_new(r, "base", strata_store__col_jstr(stmt, 1));
    json_object_set_new(r, "digest", strata_store__col_jstr(stmt, 2));
    json_object_set_new(r, "state", strata_store__col_jstr(stmt, 3));
    json_object_set_new(r, "stage", json_integer(sqlite3_column_int(stmt, 4)));
    json_object_set_new(r, "policy", strata_store__col_json(stmt, 5));
    json_object_set_new(r, "stages", strata_store__col_json(stmt, 6));
    json_object_set_new(r, "note", strata_store__col_jstr(stmt, 7));
    json_object_set_new(r, "created", strata_store__col_jint(stmt, 8));
    json_object_set_new(r, "updated", strata_store__col_jint(stmt, 9));
    return r;
}

/* Prepares an uncached statement (the rarely run ones). */
static int
prepare(sqlite3_stmt **out, strata_store *st, const char *sql,
        strata_error *err)
{
    int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);

    if (rc != SQLITE_OK)
        return strata_store__error(st, err, rc, "preparing a rollout query");
    return 0;
}

int
strata_store_rollout_create(int64_t *out_id, strata_store *st, const char *base,
                            const char *digest, const json_t *policy,
                            const json_t *stage_list, const char *const *images,
                            const int *stages, size_t n, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char *ptext = strata_store__json_text(policy);
    char *stext = strata_store__json_text(stage_list);
    int64_t now = strata_store__now(st), id = 0;
    size_t i;
    int rc;

    *out_id = 0;
    if ((rc = strata_store_begin(st, err)) != 0)
        goto out;
    if ((rc = prepare(&stmt, st,
                      "INSERT INTO rollouts (base_ref, base_digest, policy, "
                      "stages, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, "
                      "?5)",
                      err)) != 0)
        goto fail;
    strata_store__bind_text(stmt, 1, base);
    strata_store__bind_text(stmt, 2, digest);
    strata_store__bind_text(stmt, 3, ptext ? ptext : "{}");
    strata_store__bind_text(stmt, 4, stext ? stext : "[]");
    sqlite3_bind_int64(stmt, 5, now);
    if ((rc = strata_store__exec_stmt(st, stmt, "creating a rollout", err)) !=
        0)
        goto fail;
    id = sqlite3_last_insert_rowid(st->db);
    sqlite3_finalize(stmt);
    stmt = NULL;
    if ((rc = prepare(&stmt, st,
                      "INSERT OR IGNORE INTO rollout_images (rollout, image, "
                      "stage) VALUES (?1, ?2, ?3)",
                      err)) != 0)
        goto fail;
    for (i = 0; i < n; i++) {
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, id);
        strata_store__bind_text(stmt, 2, images[i]);
        sqlite3_bind_int(stmt, 3, stages[i]);
        if ((rc = strata_store__exec_stmt(st, stmt, "adding a rollout image",
                                          err)) != 0)
            goto fail;
    }
    if ((rc = strata_store_commit(st, err)) != 0)
        goto fail;
    *out_id = id;
    goto out;
fail:
    strata_store_rollback(st);
out:
    sqlite3_finalize(stmt);
    free(ptext);
    free(stext);
    return rc;
}

int
strata_store_rollout_get(json_t **out, strata_store *st, int64_t id,
                         const char *base, const char *digest,
                         strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    *out = NULL;
    /* By base digest: the runner asks it for every job it claims. */
    if (id == 0)
        rc = strata_store__stmt(&stmt, st, STMT_ROLLOUT_FIND,
                                "SELECT " ROLLOUT_COLS " FROM rollouts WHERE "
                                "base_ref = ?2 AND base_digest = ?3",
                                err);
    else
        rc =
            prepare(&stmt, st,
                    "SELECT " ROLLOUT_COLS " FROM rollouts WHERE id = ?1", err);
    if (rc != 0)
        return rc;
    if (id != 0)
        sqlite3_bind_int64(stmt, 1, id);
    else {
        strata_store__bind_text(stmt, 2, base);
        strata_store__bind_text(stmt, 3, digest);
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = rollout_from_row(stmt);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = strata_store__error(st, err, rc, "reading a rollout");
    }
    if (id != 0)
        sqlite3_finalize(stmt);
    else
        strata_store__done(stmt);
    return rc;
}

int
strata_store_rollout_update(strata_store *st, int64_t id, const char *state,
                            int stage, const json_t *stage_list,
                            const char *note, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char *stext = strata_store__json_text(stage_list);
    int rc;

    if ((rc = prepare(&stmt, st,
                      "UPDATE rollouts SET state = ?2, stage = ?3, stages = "
                      "?4, note = ?5, updated = ?6 WHERE id = ?1",
                      err)) != 0)
        goto out;
    sqlite3_bind_int64(stmt, 1, id);
    strata_store__bind_text(stmt, 2, state);
    sqlite3_bind_int(stmt, 3, stage);
    strata_store__bind_text(stmt, 4, stext ? stext : "[]");
    strata_store__bind_text(stmt, 5, note);
    sqlite3_bind_int64(stmt, 6, strata_store__now(st));
    rc = strata_store__exec_stmt(st, stmt, "updating a rollout", err);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        rc = strata_error_set(err, STRATA_ENOTFOUND, "no rollout %lld",
                              (long long) id);
out:
    sqlite3_finalize(stmt);
    free(stext);
    return rc;
}

int
strata_store_rollout_list(json_t **out, strata_store *st, const char *state,
                          int limit, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array();
    int rc;

    *out = NULL;
    if ((rc = prepare(&stmt, st,
                      "SELECT " ROLLOUT_COLS " FROM rollouts WHERE ?1 IS NULL "
                      "OR state = ?1 OR (?1 = 'active' AND state IN "
                      "('running', 'halted')) ORDER BY id DESC LIMIT ?2",
                      err)) != 0)
        goto out;
    strata_store__bind_text(stmt, 1, state);
    sqlite3_bind_int(stmt, 2, limit > 0 ? limit : -1);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(list, rollout_from_row(stmt));
    if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "listing rollouts");
        goto out;
    }
    rc = 0;
    *out = list;
    list = NULL;
out:
    sqlite3_finalize(stmt);
    json_decref(list);
    return rc;
}

int
strata_store_rollout_image_stage(int *out, strata_store *st, int64_t id,
                                 const char *image, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = -1;
    if ((rc = strata_store__stmt(&stmt, st, STMT_ROLLOUT_IMAGE_STAGE,
                                 "SELECT stage FROM rollout_images WHERE "
                                 "rollout = ?1 AND image = ?2",
                                 err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    strata_store__bind_text(stmt, 2, image);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(stmt, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "image '%s' is not in rollout %lld", image,
                              (long long) id);
    } else {
        rc = strata_store__error(st, err, rc, "reading a rollout image");
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_rollout_counts(int *images, int *done, int *failed,
                            strata_store *st, int64_t id, const char *digest,
                            int stage, strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *images = *done = *failed = 0;
    /*
     * One probe of jobs_image per image of the stage. A pr job that
     * auto-merge left open on red checks (pr.merge_blocked,
     * checks_failed) ended, but its image failed: red checks spend the
     * failure budget as a failed build does.
     */
    if ((rc = strata_store__stmt(
             &stmt, st, STMT_ROLLOUT_COUNTS,
             "SELECT count(*), coalesce(sum(f = 0 AND p = 0), 0), "
             "coalesce(sum(f > 0), 0) FROM (SELECT ri.image, "
             "(SELECT count(*) FROM jobs j WHERE j.image = ri.image AND "
             "j.base_digest = ?2 AND (j.state = 'failed' OR (j.action = 'pr' "
             "AND j.state = 'succeeded' AND json_extract(j.result, "
             "'$.automerge.reason') = 'checks_failed'))) AS f, "
             "(SELECT count(*) FROM jobs j WHERE j.image = ri.image AND "
             "j.base_digest = ?2 AND j.state IN ('queued', 'running')) AS p "
             "FROM rollout_images ri WHERE ri.rollout = ?1 AND ri.stage = ?3)",
             err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    strata_store__bind_text(stmt, 2, digest);
    sqlite3_bind_int(stmt, 3, stage);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *images = sqlite3_column_int(stmt, 0);
        *done = sqlite3_column_int(stmt, 1);
        *failed = sqlite3_column_int(stmt, 2);
        rc = 0;
    } else {
        rc = strata_store__error(st, err, rc, "counting a rollout stage");
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_rollout_images(json_t **out, strata_store *st, int64_t id,
                            const char *digest, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array(), *cur = NULL;
    int rc;

    *out = NULL;
    if ((rc = prepare(&stmt, st,
                      "SELECT ri.image, ri.stage, j.id, j.action, j.state, "
                      "j.waiting, j.next_attempt, j.last_error FROM "
                      "rollout_images ri LEFT JOIN jobs j ON j.image = "
                      "ri.image AND j.base_digest = ?2 WHERE ri.rollout = ?1 "
                      "ORDER BY ri.stage, ri.image, j.id",
                      err)) != 0)
        goto out;
    sqlite3_bind_int64(stmt, 1, id);
    strata_store__bind_text(stmt, 2, digest);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *image = (const char *) sqlite3_column_text(stmt, 0);

        if (cur == NULL ||
            strcmp(json_string_value(json_object_get(cur, "image")), image)) {
            cur = json_pack("{s:s, s:i, s:[]}", "image", image, "stage",
                            sqlite3_column_int(stmt, 1), "jobs");
            json_array_append_new(list, cur);
        }
        if (sqlite3_column_type(stmt, 2) == SQLITE_NULL)
            continue;
        json_array_append_new(
            json_object_get(cur, "jobs"),
            json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "id",
                      (json_int_t) sqlite3_column_int64(stmt, 2), "action",
                      strata_store__col_jstr(stmt, 3), "state",
                      strata_store__col_jstr(stmt, 4), "waiting",
                      strata_store__col_jstr(stmt, 5), "next_attempt",
                      strata_store__col_jint(stmt, 6), "last_error",
                      strata_store__col_jstr(stmt, 7)));
    }
    if (rc != SQLITE_DONE) {
        rc = strata_store__error(st, err, rc, "listing a rollout's images");
        goto out;
    }
    rc = 0;
    *out = list;
    list = NULL;
out:
    sqlite3_finalize(stmt);
    json_decref(list);
    return rc;
}

int
strata_store_rollout_wake(int *out_count, strata_store *st, int64_t id,
                          const char *digest, int stage, int64_t at_ms,
                          const char *why, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (out_count != NULL)
        *out_count = 0;
    if ((rc = prepare(&stmt, st,
                      "UPDATE jobs SET next_attempt = ?4, waiting = "
                      "nullif(coalesce(?5, waiting), '') WHERE state = "
                      "'queued' AND base_digest = ?2 AND image IN (SELECT "
                      "image FROM rollout_images WHERE rollout = ?1 AND (?3 < "
                      "0 OR stage = ?3))",
                      err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    strata_store__bind_text(stmt, 2, digest);
    sqlite3_bind_int(stmt, 3, stage);
    sqlite3_bind_int64(stmt, 4, at_ms);
    strata_store__bind_text(stmt, 5, why);
    rc = strata_store__exec_stmt(st, stmt, "waking a rollout stage", err);
    if (rc == 0 && out_count != NULL)
        *out_count = sqlite3_changes(st->db);
    sqlite3_finalize(stmt);
    return rc;
}

int
strata_store_rollout_cancel_jobs(int *out_count, strata_store *st, int64_t id,
                                 const char *digest, const char *why,
                                 strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (out_count != NULL)
        *out_count = 0;
    if ((rc = prepare(&stmt, st,
                      "UPDATE jobs SET state = 'cancelled', last_error = ?3, "
                      "waiting = NULL, updated = ?4 WHERE state = 'queued' "
                      "AND base_digest = ?2 AND image IN (SELECT image FROM "
                      "rollout_images WHERE rollout = ?1)",
                      err)) != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    strata_store__bind_text(stmt, 2, digest);
    strata_store__bind_text(stmt, 3, why);
    sqlite3_bind_int64(stmt, 4, strata_store__now(st));
    rc = strata_store__exec_stmt(st, stmt, "cancelling a rollout's jobs", err);
    if (rc == 0 && out_count != NULL)
        *out_count = sqlite3_changes(st->db);
    sqlite3_finalize(stmt);
    return rc;
}
