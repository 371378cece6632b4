/*
 * store.c - opening and closing the state database, transactions, the
 * statement cache, the meta table, and the boundary where sqlite errors
 * become strata errors that name the file.
 *
 * Open reads the schema version first (the first read of the file, so a
 * file that is not a database, is damaged or is locked fails here with a
 * clear message), refuses a newer schema before changing anything, then
 * switches to WAL and migrates (migrate.c).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

static int64_t
default_now(void *arg)
{
    (void) arg;
    return strata_now_ms();
}

int64_t
strata_store__now(strata_store *st)
{
    return st->now(st->now_arg);
}

void
strata_store_set_clock(strata_store *st, int64_t (*now)(void *arg), void *arg)
{
    st->now = now != NULL ? now : default_now;
    st->now_arg = arg;
}

const char *
strata_store_path(const strata_store *st)
{
    return st->path;
}

int
strata_store__error(strata_store *st, strata_error *err, int rc,
                    const char *what)
{
    const char *msg =
        st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
    int sys = st->db != NULL ? sqlite3_system_errno(st->db) : 0;

    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        /* Never write to a damaged file: see strata_store__damaged. */
        strata_store__damaged(st);
        break;
    case SQLITE_READONLY:
        if (st->damaged)
            return strata_error_set(err, STRATA_EIO,
                                    "database '%s' is damaged, so strata no "
                                    "longer writes to it: %s refused",
                                    st->path, what);
        if (st->readonly)
            return strata_error_set(err, STRATA_EIO,
                                    "database '%s' was opened read-only: %s "
                                    "refused",
                                    st->path, what);
        break;
    default:
        break;
    }
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return strata_error_set(err, STRATA_ECONFLICT,
                                "database '%s' is locked by another process: "
                                "%s gave up after %d ms",
                                st->path, what, st->busy_timeout_ms);
    case SQLITE_NOTADB:
        return strata_error_set(err, STRATA_ESTATE,
                                "database '%s' is not a sqlite database or is "
                                "damaged: %s",
                                st->path, msg);
    case SQLITE_CORRUPT:
        return strata_error_set(err, STRATA_ESTATE,
                                "database '%s' is corrupt: %s: %s", st->path,
                                what, msg);
    case SQLITE_CANTOPEN:
        if (sys != 0)
            return strata_error_set(err, STRATA_EIO,
                                    "cannot open database '%s': %s (%s)",
                                    st->path, msg, strerror(sys));
        return strata_error_set(err, STRATA_EIO,
                                "cannot open database '%s': %s", st->path, msg);
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return strata_error_set(err, STRATA_EIO,
                                "database '%s' is read-only: %s: %s", st->path,
                                what, msg);
    case SQLITE_IOERR:
    case SQLITE_FULL:
        if (sys != 0)
            return strata_error_set(err, STRATA_EIO,
                                    "database '%s': %s: %s (%s)", st->path,
                                    what, msg, strerror(sys));
        return strata_error_set(err, STRATA_EIO, "database '%s': %s: %s",
                                st->path, what, msg);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
        return strata_error_set(err, STRATA_EINVAL, "database '%s': %s: %s",
                                st->path, what, msg);
    default:
        return strata_error_set(err, STRATA_EINTERNAL, "database '%s': %s: %s",
                                st->path, what, msg);
    }
}

int
strata_store__stmt(sqlite3_stmt **out, strata_store *st, int id,
                   const char *sql, strata_error *err)
{
    int rc;

    assert(id >= 0 && id < STMT__COUNT);
    *out = NULL;
    if (st->stmt[id] == NULL) {
        rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                &st->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            rc = strata_store__error(st, err, rc, "preparing a statement");
            sqlite3_finalize(st->stmt[id]);
            st->stmt[id] = NULL;
            return rc;
        }
    } else {
        strata_store__done(st->stmt[id]);
    }
    *out = st->stmt[id];
    return 0;
}

void
strata_store__done(sqlite3_stmt *stmt)
{
    if (stmt == NULL)
        return;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

int
strata_store__exec_stmt(strata_store *st, sqlite3_stmt *stmt, const char *what,
                        strata_error *err)
{
    int rc;

    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE)
        return strata_store__error(st, err, rc, what);
    return 0;
}

int
strata_store__exec(strata_store *st, const char *sql, const char *what,
                   strata_error *err)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return strata_store__error(st, err, rc, what);
    return 0;
}

int
strata_store__bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
    /* A NULL pointer binds SQL NULL. */
    return sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
}

int
strata_store__bind_time(sqlite3_stmt *stmt, int i, int64_t v)
{
    if (v == 0)
        return sqlite3_bind_null(stmt, i);
    return sqlite3_bind_int64(stmt, i, v);
}

char *
strata_store__col_strdup(sqlite3_stmt *stmt, int i)
{
    const unsigned char *s = sqlite3_column_text(stmt, i);

    return s != NULL ? strata_xstrdup((const char *) s) : NULL;
}

json_t *
strata_store__col_json(sqlite3_stmt *stmt, int i)
{
    const char *s = (const char *) sqlite3_column_text(stmt, i);
    json_t *v;

    if (s == NULL)
        return json_null();
    v = json_loads(s, JSON_DECODE_ANY, NULL);
    return v != NULL ? v : json_null();
}

json_t *
strata_store__col_jstr(sqlite3_stmt *stmt, int i)
{
    const char *s = (const char *) sqlite3_column_text(stmt, i);

    return s != NULL ? json_string(s) : json_null();
}

json_t *
strata_store__col_jint(sqlite3_stmt *stmt, int i)
{
    if (sqlite3_column_type(stmt, i) == SQLITE_NULL)
        return json_null();
    return json_integer(sqlite3_column_int64(stmt, i));
}

char *
strata_store__json_text(const json_t *v)
{
    if (v == NULL)
        return NULL;
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* ---- transactions ------------------------------------------------------ */

int
strata_store_begin(strata_store *st, strata_error *err)
{
    int rc;

    if (st->depth == 0)
        rc = strata_store__exec(st, "BEGIN IMMEDIATE", "starting a transaction",
                                err);
    else
        rc = strata_store__exec(st, "SAVEPOINT strata", "starting a savepoint",
                                err);
    if (rc == 0)
        st->depth++;
    return rc;
}

int
strata_store_commit(strata_store *st, strata_error *err)
{
    int rc;

    assert(st->depth > 0);
    if (st->depth == 1) {
        /* On failure the transaction stays open for the caller's rollback. */
        rc = strata_store__exec(st, "COMMIT", "committing", err);
    } else {
        rc = strata_store__exec(st, "RELEASE strata", "releasing a savepoint",
                                err);
    }
    if (rc == 0)
        st->depth--;
    return rc;
}

void
strata_store_rollback(strata_store *st)
{
    if (st->depth == 0)
        return;
    if (sqlite3_get_autocommit(st->db)) {
        /* sqlite already rolled everything back (I/O error, full disk). */
        st->depth = 0;
        return;
    }
    if (st->depth == 1) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        st->depth = 0;
    } else {
        sqlite3_exec(st->db, "ROLLBACK TO strata; RELEASE strata", NULL, NULL,
                     NULL);
        st->depth--;
    }
}

int
strata_store_in_transaction(const strata_store *st)
{
    return st->depth > 0 && !sqlite3_get_autocommit(st->db);
}

/* ---- open and close ----------------------------------------------------- */

static int
set_wal(strata_store *st, strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    const char *mode;
    int rc;

    rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &stmt,
                            NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        rc = strata_store__error(st, err, rc, "switching to WAL");
        goto out;
    }
    mode = (const char *) sqlite3_column_text(stmt, 0);
    /* An in-memory database answers "memory"; that is fine. */
    if (mode != NULL && strcmp(mode, "wal") != 0 && strcmp(mode, "memory"))
        log_warn("database '%s' is in journal mode '%s', not wal", st->path,
                 mode);
    rc = 0;
out:
    sqlite3_finalize(stmt);
    return rc;
}

/*
 * The schema a read-only open finds must be this strata's: it cannot
 * migrate, and an older schema may lack what the statements need.
 */
static int
check_readonly_version(strata_store *st, int version, strata_error *err)
{
    if (version == STRATA_STORE_SCHEMA_VERSION)
        return 0;
    if (version == 0)
        return strata_error_set(err, STRATA_ESTATE,
                                "database '%s' is not a strata database (it "
                                "has no schema version)",
                                st->path);
    return strata_error_set(err, STRATA_ESTATE,
                            "database '%s' has schema version %d, not %d: "
                            "strata migrates it when it opens it for writing",
                            st->path, version, STRATA_STORE_SCHEMA_VERSION);
}

int
strata_store_open_with(strata_store **out, const char *path,
                       const strata_store_options *opts, strata_error *err)
{
    strata_store *st;
    int version = 0;
    int flags;
    int rc;

    *out = NULL;
    st = strata_xcalloc(1, sizeof(*st));
    st->path = strata_xstrdup(path);
    st->busy_timeout_ms = opts != NULL && opts->busy_timeout_ms > 0
                              ? opts->busy_timeout_ms
                              : STRATA_STORE_BUSY_TIMEOUT_MS;
    st->readonly = opts != NULL && opts->readonly;
    st->now = default_now;

    flags = st->readonly ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    rc = sqlite3_open_v2(path, &st->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = strata_store__error(st, err, rc, "opening");
        goto out;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, st->busy_timeout_ms);
    if (!st->readonly && sqlite3_db_readonly(st->db, "main") == 1) {
        rc = strata_error_set(err, STRATA_EIO,
                              "database '%s' is read-only; strata needs to "
                              "write it",
                              path);
        goto out;
    }
    if ((rc = strata_store__schema_version(&version, st, err)) != 0)
        goto out;
    if (version > STRATA_STORE_SCHEMA_VERSION) {
        rc = strata_error_set(err, STRATA_ESTATE,
                              "database '%s' has schema version %d, newer "
                              "than this strata (%d); upgrade strata",
                              path, version, STRATA_STORE_SCHEMA_VERSION);
        goto out;
    }
    if (st->readonly && (rc = check_readonly_version(st, version, err)) != 0)
        goto out;
    if (version == 0 && (rc = strata_store__check_foreign(st, err)) != 0)
        goto out;
    /*
     * The check comes before anything is written (the switch to WAL, a
     * migration): a damaged database is refused untouched.
     */
    if (opts != NULL &&
        (rc = strata_store_check(NULL, st, opts->check, err)) != 0)
        goto out;
    if (st->readonly) {
        rc = strata_store__migrate(st, STRATA_STORE_SCHEMA_VERSION, err);
        goto out;
    }
    /* Nothing is changed before this point. */
    if ((rc = set_wal(st, err)) != 0)
        goto out;
    if ((rc = strata_store__exec(st,
                                 "PRAGMA synchronous = NORMAL; "
                                 "PRAGMA foreign_keys = ON",
                                 "setting pragmas", err)) != 0)
        goto out;
    if ((rc = strata_store__migrate(st, version, err)) != 0)
        goto out;
out:
    if (rc != 0) {
        strata_store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

int
strata_store_open(strata_store **out, const char *path, strata_error *err)
{
    return strata_store_open_with(out, path, NULL, err);
}

void
strata_store_close(strata_store *st)
{
    int i;

    if (st == NULL)
        return;
    for (i = 0; i < STMT__COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    if (st->db != NULL) {
        if (!sqlite3_get_autocommit(st->db))
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        if (sqlite3_close(st->db) != SQLITE_OK)
            log_warn("database '%s': closing: %s", st->path,
                     sqlite3_errmsg(st->db));
    }
    free(st->path);
    free(st);
}

/* ---- meta --------------------------------------------------------------- */

int
strata_store_meta_get(char **out, strata_store *st, const char *key,
                      strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    *out = NULL;
    rc = strata_store__stmt(&stmt, st, STMT_META_GET,
                            "SELECT value FROM meta WHERE key = ?1", err);
    if (rc != 0)
        return rc;
    strata_store__bind_text(stmt, 1, key);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = strata_store__col_strdup(stmt, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no key '%s' in database '%s'", key, st->path);
    } else {
        rc = strata_store__error(st, err, rc, "reading meta");
    }
    strata_store__done(stmt);
    return rc;
}

int
strata_store_meta_set(strata_store *st, const char *key, const char *value,
                      strata_error *err)
{
    sqlite3_stmt *stmt;
    int rc;

    rc = strata_store__stmt(&stmt, st, STMT_META_SET,
                            "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                            "ON CONFLICT (key) DO UPDATE SET "
                            "value = excluded.value",
                            err);
    if (rc != 0)
        return rc;
    strata_store__bind_text(stmt, 1, key);
    strata_store__bind_text(stmt, 2, value);
    rc = strata_store__exec_stmt(st, stmt, "writing meta", err);
    strata_store__done(stmt);
    return rc;
}
