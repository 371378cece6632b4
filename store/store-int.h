/*
 * store-int.h - what the files of the store module share: the store
 * object, its cache of prepared statements, the transaction helpers and
 * the one place sqlite errors become strata errors.
 */
#ifndef STRATA_STORE_INT_H
#define STRATA_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

/*
 * Cached statements, one slot each. The SQL text lives next to its user
 * (watch.c, job.c, ...) and is prepared on first use.
 */
enum {
    STMT_META_GET,
    STMT_META_SET,
    STMT_WATCH_ADD,
    STMT_WATCH_EXISTS,
    STMT_WATCH_REMOVE,
    STMT_WATCH_LIST,
    STMT_STATE_CURRENT,
    STMT_DIGEST_EXISTS,
    STMT_DIGEST_UPSERT,
    STMT_STATE_OK,
    STMT_STATE_SEEN,
    STMT_DIGEST_SEEN,
    STMT_STATE_ERROR,
    STMT_STATE_GET,
    STMT_STATE_LIST,
    STMT_DIGEST_LIST,
    STMT_DIGEST_PLATFORMS,
    STMT_EVENT_APPEND,
    STMT_EVENT_FIND_KEY,
    STMT_EVENT_LIST,
    STMT_EVENT_LIST_TYPE,
    STMT_EVENT_LAST,
    STMT_JOB_FIND_KEY,
    STMT_JOB_INSERT,
    STMT_JOB_GET,
    STMT_JOB_CLAIM,
    STMT_JOB_FINISH,
    STMT_JOB_RETRY,
    STMT_JOB_CANCEL,
    STMT_JOB_CANCEL_SUPERSEDED,
    STMT_JOB_REQUEUE,
    STMT_JOB_RELEASE,
    STMT_JOB_DEFER,
    STMT_JOB_PR_OPENED,
    STMT_JOB_PR_RUNNING,
    STMT_JOB_COUNT,
    STMT_JOB_LAST,
    STMT_JOB_LIST,
    STMT_JOB_LIST_STATE,
    STMT_JOB_LIST_IMAGE,
    STMT_JOB_BASES,
    STMT_JOB_BASES_PREFIX,
    STMT_JOB_PRODUCING,
    STMT_NODE_UPSERT,
    STMT_NODE_ID,
    STMT_EDGE_UPSERT,
    STMT_EDGE_DELETE_SOURCE,
    STMT_NODE_LIST,
    STMT_EDGE_LIST,
    STMT_GRAPH_COUNT,
    STMT_GRAPH_GENERATION,
    STMT_REGISTRY_EDGES,
    STMT_OUTBOX_FIND,
    STMT_OUTBOX_INSERT,
    STMT_OUTBOX_GET,
    STMT_OUTBOX_CLAIM,
    STMT_OUTBOX_SENT,
    STMT_OUTBOX_FAIL,
    STMT_OUTBOX_RECOVER,
    STMT_OUTBOX_NEXT_DUE,
    STMT_OUTBOX_REQUEUE,
    STMT_OUTBOX_COUNT,
    STMT_OUTBOX_COUNT_SINK,
    STMT_OUTBOX_LIST,
    STMT_OUTBOX_LIST_STATE,
    STMT_ROLLOUT_FIND,
    STMT_ROLLOUT_IMAGE_STAGE,
    STMT_ROLLOUT_COUNTS,
    STMT__COUNT
};

/* Each slot's name for strata_store_explain ("job_claim"), in store.c. */
extern const char *const strata_store__stmt_names[STMT__COUNT];

struct strata_store {
    sqlite3 *db;
    char *path;
    int busy_timeout_ms;
    int readonly; /* opened with strata_store_options.readonly */
    int damaged;  /* a check or a statement found damage: query_only */
    int depth;    /* open transactions: 1 = BEGIN, more = savepoints */
    int64_t (*now)(void *arg);
    void *now_arg;
    sqlite3_stmt *stmt[STMT__COUNT];
};

/*
 * The database was found damaged: the connection becomes query_only, so
 * nothing more is written to it (check.c).
 */
void strata_store__damaged(strata_store *st);

/* The store's clock. */
int64_t strata_store__now(strata_store *st);

/*
 * Converts the sqlite error rc that happened while doing `what` ("claiming
 * a job") into a strata error naming the database file, using
 * sqlite3_errmsg(). Returns the strata code.
 */
int strata_store__error(strata_store *st, strata_error *err, int rc,
                        const char *what);

/*
 * *out = the cached statement for slot id, prepared from sql on first use,
 * reset and with no bindings. Returns 0 or a strata error.
 */
int strata_store__stmt(sqlite3_stmt **out, strata_store *st, int id,
                       const char *sql, strata_error *err);

/* Resets stmt and clears its bindings; NULL is a no-op. */
void strata_store__done(sqlite3_stmt *stmt);

/*
 * Steps a statement that returns no rows (or whose rows do not matter)
 * to the end. Returns 0 or a strata error.
 */
int strata_store__exec_stmt(strata_store *st, sqlite3_stmt *stmt,
                            const char *what, strata_error *err);

/* Runs SQL without parameters (schema, pragmas, transaction control). */
int strata_store__exec(strata_store *st, const char *sql, const char *what,
                       strata_error *err);

/* Binds text or NULL; binds an int64 or NULL when v is 0. */
int strata_store__bind_text(sqlite3_stmt *stmt, int i, const char *s);
int strata_store__bind_time(sqlite3_stmt *stmt, int i, int64_t v);

/*
 * A column as a new string (NULL for SQL NULL), as an int64 (0 for NULL),
 * or parsed as JSON (new reference; json null for SQL NULL or bad JSON).
 */
char *strata_store__col_strdup(sqlite3_stmt *stmt, int i);
json_t *strata_store__col_json(sqlite3_stmt *stmt, int i);
/* The column as a json string, or json null for SQL NULL. New. */
json_t *strata_store__col_jstr(sqlite3_stmt *stmt, int i);
/* The column as a json integer, or json null for SQL NULL. New. */
json_t *strata_store__col_jint(sqlite3_stmt *stmt, int i);

/* Compact JSON text for v with sorted keys, or NULL for NULL. Caller's. */
char *strata_store__json_text(const json_t *v);

/* PRAGMA user_version: 0 for a new database (migrate.c). */
int strata_store__schema_version(int *out, strata_store *st, strata_error *err);
/*
 * For a database at version 0: STRATA_ESTATE if it has tables anyway (some
 * other program's database), so we never mix our tables into it.
 */
int strata_store__check_foreign(strata_store *st, strata_error *err);
/*
 * Applies the migrations above version `from`, one transaction each, up to
 * STRATA_STORE_SCHEMA_VERSION, then checks that every table is there.
 */
int strata_store__migrate(strata_store *st, int from, strata_error *err);

#endif
