/*
 * check.c - keeping the state database trustworthy: checking every page
 * (PRAGMA quick_check / integrity_check) with a report of each problem,
 * an online copy through sqlite's backup API that is safe while the
 * daemon writes, and the query plan of every statement the store runs,
 * so a test can prove that no hot query reads a whole table.
 *
 * A connection that found damage (here, or as SQLITE_CORRUPT from any
 * statement, see store.c) turns query_only on: from then on it reads but
 * never writes, so a damaged file is not made worse.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-int.h"

const char *const strata_store__stmt_names[STMT__COUNT] = {
    [STMT_META_GET] = "meta_get",
    [STMT_META_SET] = "meta_set",
    [STMT_WATCH_ADD] = "watch_add",
    [STMT_WATCH_EXISTS] = "watch_exists",
    [STMT_WATCH_REMOVE] = "watch_remove",
    [STMT_WATCH_LIST] = "watch_list",
    [STMT_STATE_CURRENT] = "state_current",
    [STMT_DIGEST_EXISTS] = "digest_exists",
    [STMT_DIGEST_UPSERT] = "digest_upsert",
    [STMT_STATE_OK] = "state_ok",
    [STMT_STATE_SEEN] = "state_seen",
    [STMT_DIGEST_SEEN] = "digest_seen",
    [STMT_STATE_ERROR] = "state_error",
    [STMT_STATE_GET] = "state_get",
    [STMT_STATE_LIST] = "state_list",
    [STMT_DIGEST_LIST] = "digest_list",
    [STMT_DIGEST_PLATFORMS] = "digest_platforms",
    [STMT_EVENT_APPEND] = "event_append",
    [STMT_EVENT_FIND_KEY] = "event_find_key",
    [STMT_EVENT_LIST] = "event_list",
    [STMT_EVENT_LIST_TYPE] = "event_list_type",
    [STMT_EVENT_LAST] = "event_last",
    [STMT_JOB_FIND_KEY] = "job_find_key",
    [STMT_JOB_INSERT] = "job_insert",
    [STMT_JOB_GET] = "job_get",
    [STMT_JOB_CLAIM] = "job_claim",
    [STMT_JOB_FINISH] = "job_finish",
    [STMT_JOB_RETRY] = "job_retry",
    [STMT_JOB_CANCEL] = "job_cancel",
    [STMT_JOB_CANCEL_SUPERSEDED] = "job_cancel_superseded",
    [STMT_JOB_REQUEUE] = "job_requeue",
    [STMT_JOB_RELEASE] = "job_release",
    [STMT_JOB_DEFER] = "job_defer",
    [STMT_JOB_PR_OPENED] = "job_pr_opened",
    [STMT_JOB_PR_RUNNING] = "job_pr_running",
    [STMT_JOB_COUNT] = "job_count",
    [STMT_JOB_LAST] = "job_last",
    [STMT_JOB_LIST] = "job_list",
    [STMT_JOB_LIST_STATE] = "job_list_state",
    [STMT_JOB_LIST_IMAGE] = "job_list_image",
    [STMT_JOB_BASES] = "job_bases",
    [STMT_JOB_BASES_PREFIX] = "job_bases_prefix",
    [STMT_JOB_PRODUCING] = "job_producing",
    [STMT_NODE_UPSERT] = "node_upsert",
    [STMT_NODE_ID] = "node_id",
    [STMT_EDGE_UPSERT] = "edge_upsert",
    [STMT_EDGE_DELETE_SOURCE] = "edge_delete_source",
    [STMT_NODE_LIST] = "node_list",
    [STMT_EDGE_LIST] = "edge_list",
    [STMT_GRAPH_COUNT] = "graph_count",
    [STMT_GRAPH_GENERATION] = "graph_generation",
    [STMT_REGISTRY_EDGES] = "registry_edges",
    [STMT_OUTBOX_FIND] = "outbox_find",
    [STMT_OUTBOX_INSERT] = "outbox_insert",
    [STMT_OUTBOX_GET] = "outbox_get",
    [STMT_OUTBOX_CLAIM] = "outbox_claim",
    [STMT_OUTBOX_SENT] = "outbox_sent",
    [STMT_OUTBOX_FAIL] = "outbox_fail",
    [STMT_OUTBOX_RECOVER] = "outbox_recover",
    [STMT_OUTBOX_NEXT_DUE] = "outbox_next_due",
    [STMT_OUTBOX_REQUEUE] = "outbox_requeue",
    [STMT_OUTBOX_COUNT] = "outbox_count",
    [STMT_OUTBOX_COUNT_SINK] = "outbox_count_sink",
    [STMT_OUTBOX_LIST] = "outbox_list",
    [STMT_OUTBOX_LIST_STATE] = "outbox_list_state",
    [STMT_ROLLOUT_FIND] = "rollout_find",
    [STMT_ROLLOUT_IMAGE_STAGE] = "rollout_image_stage",
    [STMT_ROLLOUT_COUNTS] = "rollout_counts",
};

/* ---- checking ------------------------------------------------------------ */

#define MAX_PROBLEMS 100

void
strata_store__damaged(strata_store *st)
{
    if (st->damaged || st->db == NULL)
        return;
    st->damaged = 1;
    /* Reads go on; every write now fails with SQLITE_READONLY. */
    sqlite3_exec(st->db, "PRAGMA query_only = 1", NULL, NULL, NULL);
}

/*
 * Runs a check pragma on db and appends each problem to problems, one line
 * each: sqlite puts several in one row, headed "*** in database main ***".
 * Returns the sqlite result code (SQLITE_DONE when the check ran through).
 */
static int
collect_problems(json_t *problems, sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *row = (const char *) sqlite3_column_text(stmt, 0);

        rc = SQLITE_OK;
        while (row != NULL && *row != '\0') {
            const char *end = strchr(row, '\n');
            size_t len = end != NULL ? (size_t) (end - row) : strlen(row);

            if (len > 0 && strncmp(row, "ok", len) != 0 &&
                strncmp(row, "*** in database", 15) != 0)
                json_array_append_new(problems, json_stringn(row, len));
            row = end != NULL ? end + 1 : NULL;
        }
    }
    sqlite3_finalize(stmt);
    return rc;
}

int
strata_store_check(json_t **out_problems, strata_store *st,
                   strata_store_check_mode mode, strata_error *err)
{
    /* At most MAX_PROBLEMS. */
    const char *sql = mode == STRATA_STORE_CHECK_FULL
                          ? "PRAGMA integrity_check(100)"
                          : "PRAGMA quick_check(100)";
    const char *what =
        mode == STRATA_STORE_CHECK_FULL ? "integrity_check" : "quick_check";
    json_t *problems = json_array();
    size_t n;
    int rc;

    if (out_problems != NULL)
        *out_problems = NULL;
    if (mode == STRATA_STORE_CHECK_NONE) {
        rc = 0;
        goto out;
    }
    rc = collect_problems(problems, st->db, sql);
    if (rc != SQLITE_DONE) {
        int found = json_array_size(problems) > 0;

        /*
         * Damage bad enough to stop the check itself (a broken schema
         * page, a file that is not a database) is a finding too. When
         * the check found problems before it stopped (a page it could not
         * read), the database is reported damaged with them, as `strata
         * check-state` lists them: where the damage lands in the file
         * must not change the message.
         */
        rc = strata_store__error(st, err, rc, what);
        if (rc == STRATA_ESTATE)
            json_array_append_new(
                problems,
                json_sprintf("%s stopped: %s", what, sqlite3_errmsg(st->db)));
        if (rc != STRATA_ESTATE || !found)
            goto out;
    }
    n = json_array_size(problems);
    if (n == 0) {
        rc = 0;
        goto out;
    }
    strata_store__damaged(st);
    rc = strata_error_set(
        err, STRATA_ESTATE,
        "database '%s' is damaged: %s found %zu%s "
        "problem%s, the first: %s",
        st->path, what, n, n >= MAX_PROBLEMS ? " or more" : "",
        n == 1 ? "" : "s", json_string_value(json_array_get(problems, 0)));
out:
    if (out_problems != NULL && (rc == 0 || rc == STRATA_ESTATE))
        *out_problems = json_incref(problems);
    json_decref(problems);
    return rc;
}

int
strata_store_check_mode_parse(strata_store_check_mode *out, const char *name)
{
    static const char *const names[] = {"off", "quick", "full"};
    int i;

    for (i = 0; i < 3; i++) {
        if (name != NULL && strcmp(name, names[i]) == 0) {
            *out = (strata_store_check_mode) i;
            return 0;
        }
    }
    return STRATA_EINVAL;
}

/* ---- backup ----------------------------------------------------------------
 */

/* Removes path and the files sqlite may have put next to it. */
static void
remove_db(const char *path)
{
    static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
    char *p;
    size_t i;

    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        p = strata_xasprintf("%s%s", path, suffixes[i]);
        unlink(p);
        free(p);
    }
}

/* fsync()s path (a file, or a directory). */
static int
sync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) != 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Copies st into the open database dst in one step, waiting out locks. */
static int
copy_pages(strata_store *st, sqlite3 *dst, const char *path, strata_error *err)
{
    sqlite3_backup *b;
    int waited = 0;
    int rc;

    b = sqlite3_backup_init(dst, "main", st->db, "main");
    if (b == NULL)
        return strata_error_set(err, STRATA_EIO,
                                "cannot back up '%s' to '%s': %s", st->path,
                                path, sqlite3_errmsg(dst));
    /*
     * -1: every page in one step, inside one read transaction of the
     * source, so the copy is one consistent snapshot; in WAL mode writers
     * (this process or the daemon) go on meanwhile.
     */
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY ||
           rc == SQLITE_LOCKED) {
        if (waited >= st->busy_timeout_ms)
            break;
        sqlite3_sleep(50);
        waited += 50;
    }
    sqlite3_backup_finish(b);
    if (rc == SQLITE_DONE)
        return 0;
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return strata_error_set(err, STRATA_ECONFLICT,
                                "cannot back up '%s': locked for %d ms",
                                st->path, st->busy_timeout_ms);
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
        return strata_store__error(st, err, rc, "backing up");
    return strata_error_set(err, STRATA_EIO, "cannot back up '%s' to '%s': %s",
                            st->path, path, sqlite3_errstr(rc));
}

int
strata_store_backup(strata_store *st, const char *path, strata_error *err)
{
    sqlite3 *dst = NULL;
    json_t *problems = NULL;
    char *tmp = NULL, *dircopy = NULL, *msg = NULL;
    struct stat a, b;
    int fd, rc;

    if (path == NULL || *path == '\0')
        return strata_error_set(err, STRATA_EINVAL, "a backup needs a path");
    if (strcmp(path, st->path) == 0 ||
        (stat(path, &a) == 0 && stat(st->path, &b) == 0 &&
         a.st_dev == b.st_dev && a.st_ino == b.st_ino))
        return strata_error_set(err, STRATA_EINVAL,
                                "cannot back up '%s' onto itself", st->path);
    /* Written beside path and renamed: path is never half a copy. */
    tmp = strata_xasprintf("%s.tmp-XXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0) {
        rc = strata_error_set(err, STRATA_EIO, "cannot write backup '%s': %s",
                              path, strerror(errno));
        free(tmp);
        return rc;
    }
    close(fd);
    rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        rc = strata_error_set(err, STRATA_EIO, "cannot open '%s': %s", tmp,
                              dst != NULL ? sqlite3_errmsg(dst)
                                          : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(dst, 1);
    if ((rc = copy_pages(st, dst, path, err)) != 0)
        goto fail;
    /*
     * The copy is one self-contained file: rollback journal, not WAL
     * (strata switches it back to WAL when it opens it as its state).
     * Then check what was written, so a backup is known to be sound.
     */
    if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, &msg) !=
        SQLITE_OK) {
        rc = strata_error_set(err, STRATA_EIO, "cannot finish '%s': %s", tmp,
                              msg != NULL ? msg : sqlite3_errmsg(dst));
        goto fail;
    }
    problems = json_array();
    rc = collect_problems(problems, dst, "PRAGMA quick_check(1)");
    if (rc != SQLITE_DONE || json_array_size(problems) > 0) {
        rc = strata_error_set(
            err, STRATA_ESTATE,
            "the copy of '%s' is damaged, so is the database: %s", st->path,
            rc != SQLITE_DONE ? sqlite3_errmsg(dst)
                              : json_string_value(json_array_get(problems, 0)));
        goto fail;
    }
    if (sqlite3_close(dst) != SQLITE_OK) {
        rc = strata_error_set(err, STRATA_EIO, "cannot close '%s': %s", tmp,
                              sqlite3_errmsg(dst));
        dst = NULL;
        goto fail;
    }
    dst = NULL;
    if ((rc = sync_path(tmp, 0)) != 0 || rename(tmp, path) != 0) {
        rc = strata_error_set(err, STRATA_EIO, "cannot write '%s': %s", path,
                              strerror(rc != 0 ? -rc : errno));
        goto fail;
    }
    dircopy = strata_xstrdup(path);
    sync_path(dirname(dircopy), 1);
    free(dircopy);
    json_decref(problems);
    free(tmp);
    return 0;
fail:
    json_decref(problems);
    sqlite3_free(msg);
    if (dst != NULL)
        sqlite3_close(dst);
    remove_db(tmp);
    free(tmp);
    return rc;
}

/* ---- query plans --------------------------------------------------------- */

/* EXPLAIN QUERY PLAN of sql as indented lines, into b. */
static int
explain_one(strata_buf *b, strata_store *st, const char *sql, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char *eqp = strata_xasprintf("EXPLAIN QUERY PLAN %s", sql);
    int ids[64], depths[64];
    int n = 0, rc, i;

    rc = sqlite3_prepare_v2(st->db, eqp, -1, &stmt, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int id = sqlite3_column_int(stmt, 0);
        int parent = sqlite3_column_int(stmt, 1);
        const char *detail = (const char *) sqlite3_column_text(stmt, 3);
        int depth = 0;

        rc = SQLITE_OK;
        for (i = 0; i < n; i++)
            if (ids[i] == parent)
                depth = depths[i] + 1;
        if (n < 64) {
            ids[n] = id;
            depths[n++] = depth;
        }
        strata_buf_printf(b, "%*s%s\n", 2 * depth, "",
                          detail != NULL ? detail : "");
    }
    if (rc != SQLITE_DONE)
        rc = strata_store__error(st, err, rc, "explaining a statement");
    else
        rc = 0;
    sqlite3_finalize(stmt);
    free(eqp);
    return rc;
}

int
strata_store_explain(strata_store *st, strata_store_statement_cb cb, void *arg,
                     strata_error *err)
{
    strata_store_statement s;
    strata_buf b;
    int i, rc = 0;

    for (i = 0; i < STMT__COUNT && rc == 0; i++) {
        memset(&s, 0, sizeof(s));
        s.name = strata_store__stmt_names[i];
        if (st->stmt[i] == NULL) {
            rc = cb(&s, arg);
            continue;
        }
        strata_buf_init(&b);
        s.sql = sqlite3_sql(st->stmt[i]);
        s.steps =
            sqlite3_stmt_status(st->stmt[i], SQLITE_STMTSTATUS_VM_STEP, 1);
        s.fullscan_steps = sqlite3_stmt_status(
            st->stmt[i], SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
        if ((rc = explain_one(&b, st, s.sql, err)) == 0) {
            s.plan = strata_buf_cstr(&b);
            rc = cb(&s, arg);
        }
        strata_buf_release(&b);
    }
    return rc;
}
