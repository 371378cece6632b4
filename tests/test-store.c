/*
 * test-store.c - unit tests for store/: migrations and refusal of newer,
 * foreign, corrupt, unreachable and locked databases; digest and watch
 * state semantics; the job queue's idempotency and transitions; event
 * paging; graph edge replacement. Each test works in its own temporary
 * directory with a fake clock, and reads the file back with plain sqlite
 * where the store's own API would prove nothing.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "harness.h"
#include "store.h"

typedef struct fake_clock {
    int64_t now;
} fake_clock;

static int64_t
fake_now(void *arg)
{
    return ((fake_clock *) arg)->now;
}

typedef struct tmpdir {
    char dir[64];
    char db[128];
} tmpdir;

static void
tmp_make(tmpdir *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/strata-test-store-XXXXXX");
    CHECK(mkdtemp(t->dir) != NULL);
    snprintf(t->db, sizeof(t->db), "%s/strata.db", t->dir);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static void
tmp_remove(tmpdir *t)
{
    chmod(t->dir, 0700);
    nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Opens t's database with a fake clock. */
static strata_store *
open_store(const char *path, fake_clock *clock)
{
    strata_error err = {0};
    strata_store *st = NULL;

    CHECK_OK(strata_store_open(&st, path, &err), &err);
    if (clock != NULL)
        strata_store_set_clock(st, fake_now, clock);
    return st;
}

/* Runs a one-value query on a plain sqlite connection. */
static long long
raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    long long v;

    CHECK_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
             SQLITE_OK);
    CHECK_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    CHECK_EQ(sqlite3_step(stmt), SQLITE_ROW);
    v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}

static void
raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void
write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    CHECK(f != NULL);
    CHECK_EQ(fwrite(data, 1, len, f), len);
    CHECK_EQ(fclose(f), 0);
}

/* ---- opening ------------------------------------------------------------ */

TEST(migrates_from_empty)
{
    tmpdir t;
    strata_store *st;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;

    tmp_make(&t);
    st = open_store(t.db, NULL);
    CHECK_STR_EQ(strata_store_path(st), t.db);
    /* While open, a second connection sees the schema and WAL mode. */
    CHECK_EQ(raw_int(t.db, "PRAGMA user_version"), STRATA_STORE_SCHEMA_VERSION);
    CHECK_EQ(raw_int(t.db, "SELECT count(*) FROM sqlite_master WHERE "
                           "type = 'table' AND name IN ('meta', 'watches', "
                           "'digests', 'watch_state', 'events', 'jobs', "
                           "'graph_nodes', 'graph_edges')"),
             8);
    CHECK_EQ(sqlite3_open(t.db, &db), SQLITE_OK);
    CHECK_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL),
             SQLITE_OK);
    CHECK_EQ(sqlite3_step(stmt), SQLITE_ROW);
    CHECK_STR_EQ((const char *) sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    strata_store_close(st);
    strata_store_close(NULL);

    /* An empty (0-byte) file is a new database too. */
    CHECK_EQ(unlink(t.db), 0);
    write_bytes(t.db, "", 0);
    st = open_store(t.db, NULL);
    strata_store_close(st);
    CHECK_EQ(raw_int(t.db, "PRAGMA user_version"), STRATA_STORE_SCHEMA_VERSION);
    tmp_remove(&t);
}

TEST(reopen_keeps_data)
{
    tmpdir t;
    strata_error err = {0};
    strata_store_options opts = {0};
    strata_store_job_spec spec = {0};
    strata_store *st;
    json_t *events = NULL;
    char *v = NULL;
    int64_t id = 0;
    int created = 0;

    tmp_make(&t);
    st = open_store(t.db, NULL);
    CHECK_OK(strata_store_meta_set(st, "k", "v1", &err), &err);
    CHECK_OK(strata_store_meta_set(st, "k", "v2", &err), &err);
    CHECK_OK(
        strata_store_event_append(NULL, st, "base.updated", "x", NULL, 0, &err),
        &err);
    spec.image = "registry.example.com/app";
    spec.action = "rebuild";
    spec.base_digest = "sha256:aa";
    CHECK_OK(strata_store_job_enqueue(&id, &created, st, &spec, &err), &err);
    CHECK_EQ(created, 1);
    strata_store_close(st);

    /* Reopen (with a full quick_check): nothing is migrated or lost. */
    opts.check = STRATA_STORE_CHECK_QUICK;
    CHECK_OK(strata_store_open_with(&st, t.db, &opts, &err), &err);
    CHECK_OK(strata_store_meta_get(&v, st, "k", &err), &err);
    CHECK_STR_EQ(v, "v2");
    free(v);
    CHECK_EQ(strata_store_meta_get(&v, st, "nope", &err), STRATA_ENOTFOUND);
    CHECK(v == NULL);
    CHECK_OK(strata_store_event_list(&events, st, 0, 0, NULL, &err), &err);
    CHECK_EQ(json_array_size(events), 1);
    json_decref(events);
    CHECK_OK(strata_store_job_enqueue(&id, &created, st, &spec, &err), &err);
    CHECK_EQ(created, 0);
    CHECK_OK(strata_store_check(NULL, st, STRATA_STORE_CHECK_QUICK, &err),
             &err);
    strata_store_close(st);
    tmp_remove(&t);
}

TEST(newer_schema_refused)
{
    tmpdir t;
    strata_error err = {0};
    strata_store *st = NULL;
    char want[512];

    tmp_make(&t);
    raw_exec(t.db, "CREATE TABLE future (x); PRAGMA user_version = 99");
    CHECK_EQ(strata_store_open(&st, t.db, &err), STRATA_ESTATE);
    CHECK(st == NULL);
    snprintf(want, sizeof(want),
             "database '%s' has schema version 99, newer than this strata "
             "(%d); upgrade strata",
             t.db, STRATA_STORE_SCHEMA_VERSION);
    CHECK_STR_EQ(err.msg, want);
    /* Refused before anything changed: still version 99, not WAL. */
    CHECK_EQ(raw_int(t.db, "PRAGMA user_version"), 99);
    CHECK_EQ(raw_int(t.db, "SELECT count(*) FROM pragma_journal_mode "
                           "WHERE journal_mode = 'wal'"),
             0);
    tmp_remove(&t);
}

TEST(foreign_database_refused)
{
    tmpdir t;
    strata_error err = {0};
    strata_store *st = NULL;

    tmp_make(&t);
    raw_exec(t.db, "CREATE TABLE watches (something_else TEXT)");
    CHECK_EQ(strata_store_open(&st, t.db, &err), STRATA_ESTATE);
    CHECK_CONTAINS(err.msg, t.db);
    CHECK_CONTAINS(err.msg, "is not a strata database");
    CHECK_EQ(raw_int(t.db, "SELECT count(*) FROM pragma_journal_mode "
                           "WHERE journal_mode = 'wal'"),
             0);
    tmp_remove(&t);
}

TEST(random_bytes_refused)
{
    tmpdir t;
    strata_error err = {0};
    strata_store *st = NULL;
    unsigned char junk[8192];
    unsigned x = 12345;
    size_t i;

    tmp_make(&t);
    for (i = 0; i < sizeof(junk); i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (unsigned char) (x >> 16);
    }
    write_bytes(t.db, junk, sizeof(junk));
    CHECK_EQ(strata_store_open(&st, t.db, &err), STRATA_ESTATE);
    CHECK(st == NULL);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, t.db);
    CHECK_CONTAINS(err.msg, "not a sqlite database");
    tmp_remove(&t);
}

TEST(truncated_database_detected)
{
    tmpdir t;
    strata_error err = {0};
    strata_store *st;
    json_t *payload;
    struct stat sb;
    int i;
    int rc;

    tmp_make(&t);
    st = open_store(t.db, NULL);
    CHECK_OK(strata_store_begin(st, &err), &err);
    for (i = 0; i < 2000; i++) {
        payload = json_pack("{s:i, s:s}", "n", i, "pad",
                            "some padding so the events span many pages");
        CHECK_OK(strata_store_event_append(NULL, st, "test.filler", "x",
                                           payload, 0, &err),
                 &err);
        json_decref(payload);
    }
    CHECK_OK(strata_store_commit(st, &err), &err);
    strata_store_close(st);
    /* The last close checkpoints the WAL into the file and removes it. */
    CHECK_EQ(stat(t.db, &sb), 0);
    CHECK(sb.st_size > 16 * 4096);
    CHECK_EQ(truncate(t.db, sb.st_size / 2), 0);

    /*
     * Open reads only the header and the schema, which survive; the
     * quick_check then finds the missing pages.
     */
    st = NULL;
    rc = strata_store_open(&st, t.db, &err);
    if (rc == 0) {
        rc = strata_store_check(NULL, st, STRATA_STORE_CHECK_QUICK, &err);
        strata_store_close(st);
    }
    printf("# %s\n", err.msg);
    CHECK_EQ(rc, STRATA_ESTATE);
    CHECK_CONTAINS(err.msg, t.db);
    CHECK_CONTAINS(err.msg, "corrupt");

    /* The open option runs the same check and refuses the file. */
    {
        strata_store_options opts = {0};

        opts.check = STRATA_STORE_CHECK_QUICK;
        st = NULL;
        CHECK_EQ(strata_store_open_with(&st, t.db, &opts, &err), STRATA_ESTATE);
        CHECK(st == NULL);
        CHECK_CONTAINS(err.msg, t.db);
    }
    tmp_remove(&t);
}

TEST(unwritable_directory_refused)
{
    tmpdir t;
    strata_error err = {0};
    strata_store *st = NULL;
    char path[256];

    tmp_make(&t);
    /* A directory that does not exist. */
    snprintf(path, sizeof(path), "%s/missing/strata.db", t.dir);
    CHECK_EQ(strata_store_open(&st, path, &err), STRATA_EIO);
    CHECK(st == NULL);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, "cannot open database '");
    CHECK_CONTAINS(err.msg, path);

    /*
     * A directory nobody may create files in: a read-only one, or for root
     * (who ignores permissions) /proc.
     */
    if (geteuid() == 0) {
        snprintf(path, sizeof(path), "/proc/strata-test-%d.db", (int) getpid());
    } else {
        snprintf(path, sizeof(path), "%s/ro", t.dir);
        CHECK_EQ(mkdir(path, 0500), 0);
        snprintf(path, sizeof(path), "%s/ro/strata.db", t.dir);
    }
    CHECK_EQ(strata_store_open(&st, path, &err), STRATA_EIO);
    CHECK(st == NULL);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, path);
    tmp_remove(&t);
}

static int64_t
elapsed_ms(const struct timeval *t0)
{
    struct timeval t1;

    gettimeofday(&t1, NULL);
    return (int64_t) (t1.tv_sec - t0->tv_sec) * 1000 +
           (t1.tv_usec - t0->tv_usec) / 1000;
}

TEST(locked_database_fails_cleanly)
{
    tmpdir t;
    strata_error err = {0};
    strata_store_options opts = {0};
    strata_store *st = NULL;
    sqlite3 *other = NULL;
    struct timeval t0;
    int64_t ms;

    opts.busy_timeout_ms = 200;
    tmp_make(&t);

    /*
     * A brand-new file another process holds in an exclusive transaction
     * (rollback journal: even readers wait): open itself gives up.
     */
    CHECK_EQ(sqlite3_open(t.db, &other), SQLITE_OK);
    CHECK_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE; CREATE TABLE x (y)", NULL,
                          NULL, NULL),
             SQLITE_OK);
    gettimeofday(&t0, NULL);
    CHECK_EQ(strata_store_open_with(&st, t.db, &opts, &err), STRATA_ECONFLICT);
    ms = elapsed_ms(&t0);
    CHECK(st == NULL);
    printf("# %s (%lld ms)\n", err.msg, (long long) ms);
    CHECK_CONTAINS(err.msg, t.db);
    CHECK_CONTAINS(err.msg, "locked by another process");
    CHECK(ms >= 150 && ms < 4000);
    CHECK_EQ(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);

    /*
     * A strata database (WAL) with a writer holding the write lock: reads
     * go on, a write gives up after the busy timeout.
     */
    CHECK_OK(strata_store_open_with(&st, t.db, &opts, &err), &err);
    CHECK_EQ(sqlite3_open(t.db, &other), SQLITE_OK);
    CHECK_EQ(sqlite3_exec(other,
                          "BEGIN EXCLUSIVE; INSERT INTO meta VALUES "
                          "('held', 'by other')",
                          NULL, NULL, NULL),
             SQLITE_OK);
    CHECK_EQ(strata_store_event_append(NULL, st, "x.y", NULL, NULL, 0, &err),
             STRATA_ECONFLICT);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, t.db);
    CHECK_CONTAINS(err.msg, "locked by another process");
    CHECK_EQ(strata_store_begin(st, &err), STRATA_ECONFLICT);
    CHECK_EQ(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    /* Once the lock is gone, the same store writes again. */
    CHECK_OK(strata_store_event_append(NULL, st, "x.y", NULL, NULL, 0, &err),
             &err);
    strata_store_close(st);
    tmp_remove(&t);
}

/* ---- transactions ------------------------------------------------------- */

static size_t
count_events(strata_store *st)
{
    strata_error err = {0};
    json_t *arr = NULL;
    size_t n;

    CHECK_OK(strata_store_event_list(&arr, st, 0, 0, NULL, &err), &err);
    n = json_array_size(arr);
    json_decref(arr);
    return n;
}

TEST(transactions_nest)
{
    strata_error err = {0};
    strata_store *st = open_store(":memory:", NULL);

    CHECK_EQ(strata_store_in_transaction(st), 0);
    CHECK_OK(strata_store_begin(st, &err), &err);
    CHECK_EQ(strata_store_in_transaction(st), 1);
    CHECK_OK(strata_store_event_append(NULL, st, "a", NULL, NULL, 0, &err),
             &err);
    CHECK_OK(strata_store_begin(st, &err), &err);
    CHECK_OK(strata_store_event_append(NULL, st, "b", NULL, NULL, 0, &err),
             &err);
    CHECK_EQ(count_events(st), 2);
    strata_store_rollback(st); /* only the inner part */
    CHECK_EQ(strata_store_in_transaction(st), 1);
    CHECK_EQ(count_events(st), 1);
    CHECK_OK(strata_store_commit(st, &err), &err);
    CHECK_EQ(strata_store_in_transaction(st), 0);
    CHECK_EQ(count_events(st), 1);

    CHECK_OK(strata_store_begin(st, &err), &err);
    CHECK_OK(strata_store_event_append(NULL, st, "c", NULL, NULL, 0, &err),
             &err);
    strata_store_rollback(st);
    strata_store_rollback(st); /* nothing open: a no-op */
    CHECK_EQ(count_events(st), 1);
    strata_store_close(st);
}

/* ---- watches and digests ------------------------------------------------ */

TEST(digest_first_seen)
{
    fake_clock clock = {1000};
    strata_error err = {0};
    strata_store *st = open_store(":memory:", &clock);
    strata_store_observation obs = {0};
    json_t *platforms = json_pack("{s:s, s:s}", "linux/amd64", "sha256:a1",
                                  "linux/arm64", "sha256:a2");
    json_t *list = NULL;
    json_t *d;
    char *prev = (char *) "garbage";
    int is_new = -1;

    obs.ref = "docker.io/library/python";
    obs.digest = "sha256:aaa";
    obs.tag = "3.12-slim";
    obs.platforms = platforms;
    obs.next_check_ms = 5000;
    CHECK_OK(strata_store_watch_observe(&is_new, &prev, st, &obs, &err), &err);
    CHECK_EQ(is_new, 1);
    CHECK(prev == NULL);

    clock.now = 2000;
    obs.tag = NULL; /* keeps the recorded tag and platforms */
    obs.platforms = NULL;
    CHECK_OK(strata_store_watch_observe(&is_new, &prev, st, &obs, &err), &err);
    CHECK_EQ(is_new, 0);
    CHECK_STR_EQ(prev, "sha256:aaa");
    free(prev);

    clock.now = 3000;
    obs.digest = "sha256:bbb";
    obs.tag = "3.12.1-slim";
    CHECK_OK(strata_store_watch_observe(&is_new, &prev, st, &obs, &err), &err);
    CHECK_EQ(is_new, 1);
    CHECK_STR_EQ(prev, "sha256:aaa");
    free(prev);

    /* Back to an old digest: not new, and its first_seen is kept. */
    clock.now = 4000;
    obs.digest = "sha256:aaa";
    obs.tag = NULL;
    CHECK_OK(strata_store_watch_observe(&is_new, &prev, st, &obs, &err), &err);
    CHECK_EQ(is_new, 0);
    CHECK_STR_EQ(prev, "sha256:bbb");
    free(prev);

    CHECK_OK(strata_store_digests_list(&list, st, obs.ref, &err), &err);
    CHECK_EQ(json_array_size(list), 2);
    d = json_array_get(list, 0);
    CHECK_STR_EQ(json_string_value(json_object_get(d, "digest")), "sha256:aaa");
    CHECK_STR_EQ(json_string_value(json_object_get(d, "tag")), "3.12-slim");
    CHECK_EQ(json_integer_value(json_object_get(d, "first_seen")), 1000);
    CHECK_EQ(json_integer_value(json_object_get(d, "last_seen")), 4000);
    CHECK(json_equal(json_object_get(d, "platforms"), platforms));
    d = json_array_get(list, 1);
    CHECK_STR_EQ(json_string_value(json_object_get(d, "digest")), "sha256:bbb");
    CHECK_EQ(json_integer_value(json_object_get(d, "first_seen")), 3000);
    CHECK(json_is_null(json_object_get(d, "platforms")));
    json_decref(list);

    /* Digests are per reference. */
    CHECK_OK(
        strata_store_digests_list(&list, st, "docker.io/library/other", &err),
        &err);
    CHECK_EQ(json_array_size(list), 0);
    json_decref(list);
    obs.ref = "docker.io/library/other";
    CHECK_OK(strata_store_watch_observe(&is_new, NULL, st, &obs, &err), &err);
    CHECK_EQ(is_new, 1);

    obs.digest = NULL;
    CHECK_EQ(strata_store_watch_observe(NULL, NULL, st, &obs, &err),
             STRATA_EINVAL);
    json_decref(platforms);
    strata_store_close(st);
}

TEST(error_never_clears_digest)
{
    fake_clock clock = {1000};
    strata_error err = {0};
    strata_store *st = open_store(":memory:", &clock);
    strata_store_observation obs = {0};
    strata_store_watch_state ws;
    json_t *states = NULL;
    int64_t n = 0;
    char *prev = NULL;

    /* An error before any success: state exists, no current digest. */
    CHECK_OK(
        strata_store_watch_error(&n, st, "ghcr.io/a/b:1", "timeout", 0, &err),
        &err);
    CHECK_EQ(n, 1);
    CHECK_OK(strata_store_watch_state_get(&ws, st, "ghcr.io/a/b:1", &err),
             &err);
    CHECK(ws.current_digest == NULL);
    CHECK_STR_EQ(ws.last_error, "timeout");
    CHECK_EQ(ws.last_ok_ms, 0);
    strata_store_watch_state_release(&ws);

    obs.ref = "ghcr.io/a/b:1";
    obs.digest = "sha256:111";
    obs.next_check_ms = 2000;
    CHECK_OK(strata_store_watch_observe(NULL, &prev, st, &obs, &err), &err);
    CHECK(prev == NULL); /* an error never set a current digest */

    clock.now = 2000;
    CHECK_OK(strata_store_watch_error(&n, st, obs.ref, "503", 0, &err), &err);
    clock.now = 3000;
    CHECK_OK(strata_store_watch_error(&n, st, obs.ref, "connection refused",
                                      9000, &err),
             &err);
    CHECK_EQ(n, 2);
    CHECK_OK(strata_store_watch_state_get(&ws, st, obs.ref, &err), &err);
    CHECK_STR_EQ(ws.ref, obs.ref);
    CHECK_STR_EQ(ws.current_digest, "sha256:111");
    CHECK_STR_EQ(ws.last_error, "connection refused");
    CHECK_EQ(ws.consecutive_errors, 2);
    CHECK_EQ(ws.last_ok_ms, 1000);
    CHECK_EQ(ws.last_check_ms, 3000);
    CHECK_EQ(ws.next_check_ms, 9000);
    strata_store_watch_state_release(&ws);

    /* The next success is compared with the digest before the errors. */
    clock.now = 4000;
    CHECK_OK(strata_store_watch_observe(NULL, &prev, st, &obs, &err), &err);
    CHECK_STR_EQ(prev, "sha256:111");
    free(prev);
    CHECK_OK(strata_store_watch_state_get(&ws, st, obs.ref, &err), &err);
    CHECK_EQ(ws.consecutive_errors, 0);
    CHECK(ws.last_error == NULL);
    CHECK_EQ(ws.last_ok_ms, 4000);
    CHECK_EQ(ws.next_check_ms, 2000);
    strata_store_watch_state_release(&ws);
    strata_store_watch_state_release(NULL);

    CHECK_EQ(strata_store_watch_state_get(&ws, st, "nope", &err),
             STRATA_ENOTFOUND);
    CHECK_OK(strata_store_watch_states(&states, st, &err), &err);
    CHECK_EQ(json_array_size(states), 1);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(states, 0),
                                                   "current_digest")),
                 "sha256:111");
    json_decref(states);
    strata_store_close(st);
}

/*
 * The steady state's short write: it moves the check's times and the
 * digest's last_seen only while the store's current digest is the one
 * read; otherwise it says so and the full observe sees the change.
 */
TEST(watch_seen_is_observe_without_a_change)
{
    fake_clock clock = {1000};
    strata_error err = {0};
    strata_store *st = open_store(":memory:", &clock);
    strata_store_observation obs = {0};
    strata_store_watch_state ws;
    json_t *digests = NULL;
    char *prev = NULL;
    int moved = -1;

    obs.ref = "ghcr.io/a/b:1";
    obs.digest = "sha256:111";
    /* Never observed: nothing to move. */
    CHECK_OK(strata_store_begin(st, &err), &err);
    CHECK_OK(strata_store_watch_seen(&moved, st, &obs, &err), &err);
    CHECK_OK(strata_store_commit(st, &err), &err);
    CHECK_EQ(moved, 1);
    CHECK_OK(strata_store_watch_observe(NULL, &prev, st, &obs, &err), &err);
    CHECK(prev == NULL);
    clock.now = 2000;
    CHECK_OK(strata_store_watch_error(NULL, st, obs.ref, "503", 0, &err), &err);
    clock.now = 3000;
    obs.next_check_ms = 9000;
    CHECK_OK(strata_store_watch_seen(&moved, st, &obs, &err), &err);
    CHECK_EQ(moved, 0);
    CHECK_OK(strata_store_watch_state_get(&ws, st, obs.ref, &err), &err);
    CHECK_STR_EQ(ws.current_digest, "sha256:111");
    CHECK(ws.last_error == NULL);
    CHECK_EQ(ws.consecutive_errors, 0);
    CHECK_EQ(ws.last_ok_ms, 3000);
    CHECK_EQ(ws.last_check_ms, 3000);
    CHECK_EQ(ws.next_check_ms, 9000);
    strata_store_watch_state_release(&ws);
    CHECK_OK(strata_store_digests_list(&digests, st, obs.ref, &err), &err);
    CHECK_EQ(json_array_size(digests), 1);
    CHECK_EQ(json_integer_value(
                 json_object_get(json_array_get(digests, 0), "first_seen")),
             1000);
    CHECK_EQ(json_integer_value(
                 json_object_get(json_array_get(digests, 0), "last_seen")),
             3000);
    json_decref(digests);
    /* Another digest than the current one: moved, and nothing written. */
    clock.now = 4000;
    obs.digest = "sha256:222";
    CHECK_OK(strata_store_watch_seen(&moved, st, &obs, &err), &err);
    CHECK_EQ(moved, 1);
    CHECK_OK(strata_store_watch_state_get(&ws, st, obs.ref, &err), &err);
    CHECK_STR_EQ(ws.current_digest, "sha256:111");
    CHECK_EQ(ws.last_check_ms, 3000);
    strata_store_watch_state_release(&ws);
    obs.digest = NULL;
    CHECK_EQ(strata_store_watch_seen(&moved, st, &obs, &err), STRATA_EINVAL);
    strata_store_close(st);
}

TEST(watches_add_list_remove)
{
    strata_error err = {0};
    strata_store *st = open_store(":memory:", NULL);
    json_t *policy = json_pack("{s:s}", "semver", ">=3.11 <3.13");
    json_t *list = NULL;
    int created = -1;

    CHECK_OK(strata_store_watch_add(&created, st, "docker.io/library/python",
                                    policy, &err),
             &err);
    CHECK_EQ(created, 1);
    CHECK_OK(strata_store_watch_add(&created, st, "docker.io/library/python",
                                    NULL, &err),
             &err);
    CHECK_EQ(created, 0);
    CHECK_OK(strata_store_watch_add(NULL, st, "docker.io/library/debian:12",
                                    policy, &err),
             &err);
    CHECK_OK(strata_store_watch_list(&list, st, &err), &err);
    CHECK_EQ(json_array_size(list), 2);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(list, 0), "ref")),
        "docker.io/library/debian:12");
    CHECK(
        json_equal(json_object_get(json_array_get(list, 0), "policy"), policy));
    CHECK(json_is_null(json_object_get(json_array_get(list, 1), "policy")));
    json_decref(list);
    CHECK_OK(strata_store_watch_remove(st, "docker.io/library/debian:12", &err),
             &err);
    CHECK_OK(strata_store_watch_list(&list, st, &err), &err);
    CHECK_EQ(json_array_size(list), 1);
    json_decref(list);
    json_decref(policy);
    strata_store_close(st);
}

/* ---- events ------------------------------------------------------------- */

TEST(events_paginate)
{
    fake_clock clock = {5000};
    strata_error err = {0};
    strata_store *st = open_store(":memory:", &clock);
    json_t *page = NULL;
    json_t *payload;
    json_t *e;
    int64_t id = 0;
    int64_t last = 0;
    int total = 0;
    int pages = 0;
    int i;

    for (i = 1; i <= 25; i++) {
        payload = json_pack("{s:i}", "n", i);
        CHECK_OK(strata_store_event_append(
                     &id, st, i % 5 == 0 ? "job.failed" : "base.updated",
                     "docker.io/library/debian:12", payload, i == 1 ? 42 : 0,
                     &err),
                 &err);
        CHECK_EQ(id, i);
        json_decref(payload);
    }
    for (;;) {
        CHECK_OK(strata_store_event_list(&page, st, last, 10, NULL, &err),
                 &err);
        if (json_array_size(page) == 0) {
            json_decref(page);
            break;
        }
        pages++;
        for (i = 0; i < (int) json_array_size(page); i++) {
            e = json_array_get(page, (size_t) i);
            CHECK_EQ(json_integer_value(json_object_get(e, "id")), last + 1);
            last = json_integer_value(json_object_get(e, "id"));
            CHECK_EQ(json_integer_value(
                         json_object_get(json_object_get(e, "payload"), "n")),
                     last);
            CHECK_EQ(json_integer_value(json_object_get(e, "time")),
                     last == 1 ? 42 : 5000);
            total++;
        }
        json_decref(page);
    }
    CHECK_EQ(total, 25);
    CHECK_EQ(pages, 3);

    CHECK_OK(strata_store_event_list(&page, st, 5, 0, "job.failed", &err),
             &err);
    CHECK_EQ(json_array_size(page), 4);
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(page, 0), "id")),
             10);
    json_decref(page);

    /* No payload is an empty object; a type is required. */
    CHECK_OK(strata_store_event_append(&id, st, "x", NULL, NULL, 0, &err),
             &err);
    CHECK_OK(strata_store_event_list(&page, st, id - 1, 1, NULL, &err), &err);
    e = json_array_get(page, 0);
    CHECK(json_is_object(json_object_get(e, "payload")));
    CHECK_EQ(json_object_size(json_object_get(e, "payload")), 0);
    CHECK(json_is_null(json_object_get(e, "subject")));
    json_decref(page);
    CHECK_EQ(strata_store_event_append(NULL, st, "", NULL, NULL, 0, &err),
             STRATA_EINVAL);
    strata_store_close(st);
}

/* ---- jobs --------------------------------------------------------------- */

static int64_t
enqueue(strata_store *st, const char *image, const char *action,
        const char *digest, int max_attempts, int64_t not_before, int *created)
{
    strata_store_job_spec spec = {0};
    strata_error err = {0};
    int64_t id = 0;

    spec.image = image;
    spec.action = action;
    spec.base_ref = "docker.io/library/debian:12";
    spec.base_digest = digest;
    spec.wave = 1;
    spec.max_attempts = max_attempts;
    spec.not_before_ms = not_before;
    CHECK_OK(strata_store_job_enqueue(&id, created, st, &spec, &err), &err);
    CHECK(id > 0);
    return id;
}

static strata_store_job_state
job_state(strata_store *st, int64_t id)
{
    strata_error err = {0};
    strata_store_job *job = NULL;
    strata_store_job_state s;

    CHECK_OK(strata_store_job_get(&job, st, id, &err), &err);
    s = job->state;
    strata_store_job_free(job);
    return s;
}

TEST(job_enqueue_is_idempotent)
{
    strata_error err = {0};
    strata_store *st = open_store(":memory:", NULL);
    strata_store_job_spec spec = {0};
    strata_store_job *job = NULL;
    int64_t counts[STRATA_STORE_JOB_NSTATES];
    int64_t a, b, c;
    int created = -1;

    a = enqueue(st, "r.example/app", "pr", "sha256:d1", 0, 0, &created);
    CHECK_EQ(created, 1);
    b = enqueue(st, "r.example/app", "pr", "sha256:d1", 0, 0, &created);
    CHECK_EQ(created, 0);
    CHECK_EQ(a, b);
    c = enqueue(st, "r.example/app", "rebuild", "sha256:d1", 0, 0, &created);
    CHECK_EQ(created, 1);
    CHECK(c != a);
    CHECK_OK(strata_store_job_count(counts, st, &err), &err);
    CHECK_EQ(counts[STRATA_STORE_JOB_QUEUED], 2);
    CHECK_EQ(counts[STRATA_STORE_JOB_RUNNING], 0);

    CHECK_OK(strata_store_job_get(&job, st, a, &err), &err);
    CHECK_STR_EQ(job->key, "r.example/app|sha256:d1|pr");
    CHECK_STR_EQ(job->base_ref, "docker.io/library/debian:12");
    CHECK_EQ(job->wave, 1);
    CHECK_EQ(job->max_attempts, 3);
    CHECK_EQ(job->attempts, 0);
    CHECK(job->result == NULL);
    strata_store_job_free(job);
    strata_store_job_free(NULL);
    CHECK_EQ(strata_store_job_get(&job, st, 999, &err), STRATA_ENOTFOUND);

    /* A finished job still holds its key: no second PR for one digest. */
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_OK(strata_store_job_finish(st, job->id, STRATA_STORE_JOB_SUCCEEDED,
                                     NULL, NULL, &err),
             &err);
    b = enqueue(st, "r.example/app", "pr", "sha256:d1", 0, 0, &created);
    CHECK_EQ(created, 0);
    CHECK_EQ(b, job->id);
    strata_store_job_free(job);

    CHECK_EQ(strata_store_job_enqueue(&a, NULL, st, &spec, &err),
             STRATA_EINVAL);
    strata_store_close(st);
}

TEST(job_claim_and_finish)
{
    fake_clock clock = {1000};
    strata_error err = {0};
    strata_store *st = open_store(":memory:", &clock);
    strata_store_job *job = NULL;
    json_t *result = json_pack("{s:s}", "pr", "https://x/pull/7");
    int64_t a, b;

    a = enqueue(st, "r.example/a", "pr", "sha256:d1", 0, 0, NULL);
    clock.now = 1001;
    b = enqueue(st, "r.example/b", "pr", "sha256:d1", 0, 5000, NULL);

    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK(job != NULL);
    CHECK_EQ(job->id, a);
    CHECK_EQ(job->state, STRATA_STORE_JOB_RUNNING);
    CHECK_EQ(job->attempts, 1);
    CHECK_EQ(job->updated_ms, 1001);
    strata_store_job_free(job);
    /* b is not due before 5000. */
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK(job == NULL);
    clock.now = 5000;
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->id, b);
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK(job == NULL);

    CHECK_OK(strata_store_job_finish(st, a, STRATA_STORE_JOB_SUCCEEDED, NULL,
                                     result, &err),
             &err);
    CHECK_OK(strata_store_job_finish(st, b, STRATA_STORE_JOB_FAILED,
                                     "push denied", NULL, &err),
             &err);
    CHECK_OK(strata_store_job_get(&job, st, a, &err), &err);
    CHECK_EQ(job->state, STRATA_STORE_JOB_SUCCEEDED);
    CHECK(json_equal(job->result, result));
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_get(&job, st, b, &err), &err);
    CHECK_EQ(job->state, STRATA_STORE_JOB_FAILED);
    CHECK_STR_EQ(job->last_error, "push denied");
    strata_store_job_free(job);

    /* Only a running job can finish. */
    CHECK_EQ(strata_store_job_finish(st, a, STRATA_STORE_JOB_FAILED, "x", NULL,
                                     &err),
             STRATA_ECONFLICT);
    CHECK_STR_EQ(err.msg, "job 1 is not running (it is succeeded)");
    CHECK_EQ(strata_store_job_finish(st, 77, STRATA_STORE_JOB_FAILED, "x", NULL,
                                     &err),
             STRATA_ENOTFOUND);
    CHECK_EQ(strata_store_job_finish(st, a, STRATA_STORE_JOB_QUEUED, NULL, NULL,
                                     &err),
             STRATA_EINVAL);
    json_decref(result);
    strata_store_close(st);
}

static int64_t
enqueue_wave(strata_store *st, const char *image, const char *action,
             const char *digest, int wave)
{
    strata_store_job_spec spec = {0};
    strata_error err = {0};
    int64_t id = 0;

    spec.image = image;
    spec.action = action;
    spec.base_ref = "docker.io/library/debian:12";
    spec.base_digest = digest;
    spec.wave = wave;
    CHECK_OK(strata_store_job_enqueue(&id, NULL, st, &spec, &err), &err);
    return id;
}

TEST(job_claim_waits_for_earlier_waves)
{
    fake_clock clock = {1000};
    strata_error err = {0};
    strata_store *st = open_store(":memory:", &clock);
    strata_store_job *job = NULL;
    int64_t runtime, pr, app, other;

    /* Enqueued children first: order of creation must not matter. */
    app = enqueue_wave(st, "r/app", "rebuild", "sha256:d1", 1);
    pr = enqueue_wave(st, "r/runtime", "pr", "sha256:d1", 0);
    runtime = enqueue_wave(st, "r/runtime", "rebuild", "sha256:d1", 0);
    other = enqueue_wave(st, "r/other", "rebuild", "sha256:d9", 1);

    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->id, pr);
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->id, runtime);
    strata_store_job_free(job);
    /* Another base digest's wave 1 does not wait on this one. */
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->id, other);
    strata_store_job_free(job);
    /* The app waits while the runtime rebuild runs. */
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK(job == NULL);
    CHECK_OK(strata_store_job_finish(st, runtime, STRATA_STORE_JOB_SUCCEEDED,
                                     NULL, NULL, &err),
             &err);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->id, app);
    strata_store_job_free(job);
    strata_store_close(st);
}

TEST(job_rescan_waits_for_its_rebuild)
{
    fake_clock clock = {1000};
    strata_error err = {0};
    strata_store *st = open_store(":memory:", &clock);
    strata_store_job *job = NULL;
    int64_t scan, build;

    scan = enqueue_wave(st, "r/app", "rescan", "sha256:d1", 0);
    build = enqueue_wave(st, "r/app", "rebuild", "sha256:d1", 0);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->id, build);
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK(job == NULL);
    CHECK_OK(strata_store_job_finish(st, build, STRATA_STORE_JOB_SUCCEEDED,
                                     NULL, NULL, &err),
             &err);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->id, scan);
    strata_store_job_free(job);
    strata_store_close(st);
}

TEST(job_retry_until_exhausted)
{
    fake_clock clock = {1000};
    strata_error err = {0};
    strata_store *st = open_store(":memory:", &clock);
    strata_store_job *job = NULL;
    int64_t id = enqueue(st, "r.example/a", "rebuild", "sha256:d1", 2, 0, NULL);
    int requeued = -1;

    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    strata_store_job_free(job);
    CHECK_OK(
        strata_store_job_retry(&requeued, st, id, "registry 503", 2000, &err),
        &err);
    CHECK_EQ(requeued, 1);
    CHECK_EQ(job_state(st, id), STRATA_STORE_JOB_QUEUED);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK(job == NULL); /* backing off until 2000 */
    clock.now = 2000;
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->attempts, 2);
    CHECK_STR_EQ(job->last_error, "registry 503");
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_retry(&requeued, st, id, "registry 503 again",
                                    3000, &err),
             &err);
    CHECK_EQ(requeued, 0);
    CHECK_EQ(job_state(st, id), STRATA_STORE_JOB_FAILED);
    CHECK_EQ(strata_store_job_retry(&requeued, st, id, "x", 0, &err),
             STRATA_ECONFLICT);
    strata_store_close(st);
}

TEST(job_cancel_and_superseded)
{
    strata_error err = {0};
    strata_store *st = open_store(":memory:", NULL);
    strata_store_job_filter f = {0};
    strata_store_job *job = NULL;
    int64_t old_rb, old_pr, running, new_rb, other;
    int n = -1;

    old_rb = enqueue(st, "r.example/a", "rebuild", "sha256:d1", 0, 0, NULL);
    running = enqueue(st, "r.example/a", "rebuild", "sha256:d0", 0, 0, NULL);
    old_pr = enqueue(st, "r.example/a", "pr", "sha256:d1", 0, 0, NULL);
    other = enqueue(st, "r.example/b", "rebuild", "sha256:d1", 0, 0, NULL);
    /* Cancel by id, so that the claim below takes `running`. */
    f.id = old_rb;
    CHECK_OK(strata_store_job_cancel(&n, st, &f, "manual", &err), &err);
    CHECK_EQ(n, 1);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->id, running);
    strata_store_job_free(job);
    old_rb = enqueue(st, "r.example/a", "rebuild", "sha256:d1b", 0, 0, NULL);
    new_rb = enqueue(st, "r.example/a", "rebuild", "sha256:d2", 0, 0, NULL);

    /* new_rb supersedes queued rebuilds of r.example/a on older digests. */
    CHECK_OK(strata_store_job_cancel_superseded(&n, st, new_rb, &err), &err);
    CHECK_EQ(n, 1);
    CHECK_OK(strata_store_job_get(&job, st, old_rb, &err), &err);
    CHECK_EQ(job->state, STRATA_STORE_JOB_CANCELLED);
    CHECK_STR_EQ(job->last_error, "superseded by job 6");
    strata_store_job_free(job);
    CHECK_EQ(job_state(st, running), STRATA_STORE_JOB_RUNNING);
    CHECK_EQ(job_state(st, old_pr), STRATA_STORE_JOB_QUEUED);
    CHECK_EQ(job_state(st, other), STRATA_STORE_JOB_QUEUED);
    CHECK_EQ(job_state(st, new_rb), STRATA_STORE_JOB_QUEUED);
    /* Idempotent: nothing left to supersede. */
    CHECK_OK(strata_store_job_cancel_superseded(&n, st, new_rb, &err), &err);
    CHECK_EQ(n, 0);

    /* By image: only queued jobs. */
    memset(&f, 0, sizeof(f));
    f.image = "r.example/a";
    CHECK_OK(strata_store_job_cancel(&n, st, &f, NULL, &err), &err);
    CHECK_EQ(n, 2); /* old_pr, new_rb */
    CHECK_EQ(job_state(st, running), STRATA_STORE_JOB_RUNNING);
    CHECK_EQ(job_state(st, other), STRATA_STORE_JOB_QUEUED);
    /* A cancelled job cannot be finished. */
    CHECK_EQ(strata_store_job_finish(st, new_rb, STRATA_STORE_JOB_SUCCEEDED,
                                     NULL, NULL, &err),
             STRATA_ECONFLICT);
    strata_store_close(st);
}

TEST(job_requeue_running_at_startup)
{
    tmpdir t;
    fake_clock clock = {1000};
    strata_error err = {0};
    strata_store *st;
    strata_store_job *job = NULL;
    int64_t a, b;
    int n = -1;

    tmp_make(&t);
    st = open_store(t.db, &clock);
    a = enqueue(st, "r.example/a", "rebuild", "sha256:d1", 3, 0, NULL);
    b = enqueue(st, "r.example/b", "rebuild", "sha256:d1", 1, 0, NULL);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    strata_store_job_free(job);
    /* "Crash": close with both jobs running. */
    strata_store_close(st);

    clock.now = 9000;
    st = open_store(t.db, &clock);
    CHECK_OK(strata_store_job_requeue_running(&n, st, &err), &err);
    CHECK_EQ(n, 2);
    /* b had used its only attempt: failed rather than looping. */
    CHECK_EQ(job_state(st, b), STRATA_STORE_JOB_FAILED);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->id, a);
    CHECK_EQ(job->attempts, 2);
    CHECK_STR_EQ(job->last_error, "interrupted");
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_requeue_running(&n, st, &err), &err);
    CHECK_EQ(n, 1);
    CHECK_OK(strata_store_job_requeue_running(&n, st, &err), &err);
    CHECK_EQ(n, 0);
    strata_store_close(st);
    tmp_remove(&t);
}

TEST(job_release_at_shutdown)
{
    tmpdir t;
    fake_clock clock = {1000};
    strata_error err = {0};
    strata_store *st;
    strata_store_job *job = NULL;
    int64_t a;

    tmp_make(&t);
    st = open_store(t.db, &clock);
    /* One attempt only: a shutdown must not use it up. */
    a = enqueue(st, "r.example/a", "pr", "sha256:d1", 1, 0, NULL);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->attempts, 1);
    strata_store_job_free(job);
    clock.now = 5000;
    CHECK_OK(strata_store_job_release(st, a, &err), &err);
    CHECK_EQ(job_state(st, a), STRATA_STORE_JOB_QUEUED);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_EQ(job->id, a);
    CHECK_EQ(job->attempts, 1);
    CHECK_STR_EQ(job->last_error, "interrupted by the shutdown");
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_finish(st, a, STRATA_STORE_JOB_SUCCEEDED, NULL,
                                     NULL, &err),
             &err);
    /* Only a running job can be released. */
    CHECK_EQ(strata_store_job_release(st, a, &err), STRATA_ECONFLICT);
    strata_error_clear(&err);
    CHECK_EQ(strata_store_job_release(st, 999, &err), STRATA_ENOTFOUND);
    strata_error_clear(&err);
    strata_store_close(st);
    tmp_remove(&t);
}

TEST(job_claim_is_atomic_across_connections)
{
    tmpdir t;
    strata_error err = {0};
    strata_store *s1, *s2;
    strata_store_job *j1 = NULL, *j2 = NULL;
    int i, got = 0;

    tmp_make(&t);
    s1 = open_store(t.db, NULL);
    s2 = open_store(t.db, NULL);
    for (i = 0; i < 10; i++) {
        char image[32];

        snprintf(image, sizeof(image), "r.example/i%d", i);
        enqueue(i % 2 ? s1 : s2, image, "pr", "sha256:d", 0, 0, NULL);
    }
    for (i = 0; i < 10; i++) {
        CHECK_OK(strata_store_job_claim(&j1, s1, &err), &err);
        CHECK_OK(strata_store_job_claim(&j2, s2, &err), &err);
        if (j1 != NULL && j2 != NULL)
            CHECK(j1->id != j2->id);
        got += (j1 != NULL) + (j2 != NULL);
        strata_store_job_free(j1);
        strata_store_job_free(j2);
    }
    CHECK_EQ(got, 10);
    strata_store_close(s1);
    strata_store_close(s2);
    tmp_remove(&t);
}

TEST(job_list_paginates)
{
    strata_error err = {0};
    strata_store *st = open_store(":memory:", NULL);
    strata_store_job *job = NULL;
    json_t *page = NULL;
    json_t *j;
    char image[32];
    int i;

    for (i = 0; i < 7; i++) {
        snprintf(image, sizeof(image), "r.example/i%d", i);
        enqueue(st, image, "pr", "sha256:d", 0, 0, NULL);
    }
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_list(&page, st, 0, 3, -1, &err), &err);
    CHECK_EQ(json_array_size(page), 3);
    j = json_array_get(page, 0);
    CHECK_EQ(json_integer_value(json_object_get(j, "id")), 1);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "state")), "running");
    CHECK_STR_EQ(json_string_value(json_object_get(j, "image")),
                 "r.example/i0");
    CHECK_EQ(json_integer_value(json_object_get(j, "attempts")), 1);
    CHECK(json_is_null(json_object_get(j, "last_error")));
    CHECK(json_is_null(json_object_get(j, "result")));
    json_decref(page);
    CHECK_OK(strata_store_job_list(&page, st, 6, 3, -1, &err), &err);
    CHECK_EQ(json_array_size(page), 1);
    json_decref(page);
    CHECK_OK(
        strata_store_job_list(&page, st, 0, 0, STRATA_STORE_JOB_QUEUED, &err),
        &err);
    CHECK_EQ(json_array_size(page), 6);
    json_decref(page);
    strata_store_close(st);
}

TEST(job_state_names)
{
    strata_store_job_state s;

    CHECK_STR_EQ(strata_store_job_state_name(STRATA_STORE_JOB_CANCELLED),
                 "cancelled");
    CHECK_EQ(strata_store_job_state_parse(&s, "running"), 0);
    CHECK_EQ(s, STRATA_STORE_JOB_RUNNING);
    CHECK_EQ(strata_store_job_state_parse(&s, "done"), STRATA_EINVAL);
}

/* ---- graph -------------------------------------------------------------- */

typedef struct graph_seen {
    int nodes;
    int edges;
    int images;
    int dockerfile_edges;
    int last_line;
} graph_seen;

static int
on_node(const strata_store_node *node, void *arg)
{
    graph_seen *g = arg;

    g->nodes++;
    g->images += node->kind == STRATA_STORE_NODE_IMAGE;
    return 0;
}

static int
on_edge(const strata_store_edge *edge, void *arg)
{
    graph_seen *g = arg;

    g->edges++;
    if (edge->method == STRATA_STORE_EDGE_DOCKERFILE) {
        g->dockerfile_edges++;
        g->last_line = edge->line;
    }
    return 0;
}

static int
stop_early(const strata_store_node *node, void *arg)
{
    (void) node;
    (void) arg;
    return 7;
}

static graph_seen
load_graph(strata_store *st)
{
    strata_error err = {0};
    graph_seen g = {0};

    CHECK_OK(strata_store_graph_load(st, on_node, on_edge, &g, &err), &err);
    return g;
}

TEST(graph_edges_replaced)
{
    strata_error err = {0};
    strata_store *st = open_store(":memory:", NULL);
    strata_store_edge e = {0};
    strata_store_edge fresh[2];
    graph_seen g;
    int64_t base, rt, app, alpine, id;

    CHECK_OK(strata_store_graph_upsert_node(&base, st, STRATA_STORE_NODE_BASE,
                                            "docker.io/library/debian:12",
                                            "sha256:b1", NULL, NULL, &err),
             &err);
    CHECK_OK(strata_store_graph_upsert_node(&rt, st, STRATA_STORE_NODE_BASE,
                                            "r.example/runtime:1", NULL, NULL,
                                            NULL, &err),
             &err);
    /* Seen again as an image we build: becomes an image, same id. */
    CHECK_OK(strata_store_graph_upsert_node(
                 &id, st, STRATA_STORE_NODE_IMAGE, "r.example/runtime:1", NULL,
                 "https://git/rt.git", "Dockerfile", &err),
             &err);
    CHECK_EQ(id, rt);
    CHECK_OK(strata_store_graph_upsert_node(&id, st, STRATA_STORE_NODE_BASE,
                                            "r.example/runtime:1", NULL, NULL,
                                            NULL, &err),
             &err);
    CHECK_OK(strata_store_graph_upsert_node(
                 &app, st, STRATA_STORE_NODE_IMAGE, "r.example/app:1", NULL,
                 "https://git/app.git", "Dockerfile", &err),
             &err);
    CHECK_OK(strata_store_graph_upsert_node(&alpine, st, STRATA_STORE_NODE_BASE,
                                            "docker.io/library/alpine:3", NULL,
                                            NULL, NULL, &err),
             &err);
    CHECK_OK(strata_store_graph_node_id(&id, st, "r.example/app:1", &err),
             &err);
    CHECK_EQ(id, app);
    CHECK_EQ(strata_store_graph_node_id(&id, st, "nope", &err),
             STRATA_ENOTFOUND);

    e.child = rt;
    e.parent = base;
    e.repo = "https://git/rt.git";
    e.path = "Dockerfile";
    e.line = 1;
    e.method = STRATA_STORE_EDGE_DOCKERFILE;
    e.confidence = 1.0;
    CHECK_OK(strata_store_graph_add_edge(st, &e, &err), &err);
    e.child = app;
    e.parent = rt;
    e.repo = "https://git/app.git";
    CHECK_OK(strata_store_graph_add_edge(st, &e, &err), &err);
    e.line = 3; /* the same edge again: updated, not duplicated */
    CHECK_OK(strata_store_graph_add_edge(st, &e, &err), &err);
    e.parent = base;
    e.method = STRATA_STORE_EDGE_ANNOTATION;
    e.repo = NULL;
    e.path = NULL;
    e.line = 0;
    e.confidence = 0.9;
    CHECK_OK(strata_store_graph_add_edge(st, &e, &err), &err);

    g = load_graph(st);
    CHECK_EQ(g.nodes, 4);
    CHECK_EQ(g.images, 2);
    CHECK_EQ(g.edges, 3);
    CHECK_EQ(g.dockerfile_edges, 2);
    CHECK_EQ(g.last_line, 3);

    /* app's Dockerfile now builds FROM alpine (two stages). */
    memset(fresh, 0, sizeof(fresh));
    fresh[0].child = app;
    fresh[0].parent = alpine;
    fresh[0].line = 1;
    fresh[0].method = STRATA_STORE_EDGE_DOCKERFILE;
    fresh[0].confidence = 1.0;
    fresh[0].repo = "ignored";
    fresh[1] = fresh[0];
    fresh[1].parent = base;
    fresh[1].line = 5;
    CHECK_OK(strata_store_graph_replace_edges(st, "https://git/app.git",
                                              "Dockerfile", fresh, 2, &err),
             &err);
    g = load_graph(st);
    CHECK_EQ(g.edges, 4); /* rt->base, app->alpine, app->base x2 methods */
    CHECK_EQ(g.dockerfile_edges, 3);
    CHECK_EQ(g.last_line, 5);
    /* The edge from app's old Dockerfile (app -> rt) is gone. */
    CHECK_EQ(strata_store_graph_replace_edges(st, "https://git/app.git",
                                              "Dockerfile", NULL, 0, &err),
             0);
    g = load_graph(st);
    CHECK_EQ(g.edges, 2);

    /* A bad edge fails as a whole and leaves the old edges. */
    fresh[1].parent = 9999;
    CHECK_EQ(strata_store_graph_replace_edges(st, "https://git/rt.git",
                                              "Dockerfile", fresh, 2, &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "FOREIGN KEY");
    g = load_graph(st);
    CHECK_EQ(g.edges, 2);

    {
        graph_seen dummy = {0};

        CHECK_EQ(strata_store_graph_load(st, stop_early, NULL, &dummy, &err),
                 7);
    }
    /* The store still works after a stopped load. */
    CHECK_OK(strata_store_event_append(NULL, st, "x", NULL, NULL, 0, &err),
             &err);
    CHECK_OK(strata_store_graph_clear(st, &err), &err);
    g = load_graph(st);
    CHECK_EQ(g.nodes, 0);
    CHECK_EQ(g.edges, 0);
    CHECK_STR_EQ(strata_store_node_kind_name(STRATA_STORE_NODE_BASE), "base");
    CHECK_STR_EQ(strata_store_edge_method_name(STRATA_STORE_EDGE_LAYERS),
                 "layers");
    strata_store_close(st);
}

static int64_t
generation(strata_store *st)
{
    strata_error err = {0};
    int64_t n = -1;

    CHECK_OK(strata_store_graph_generation(&n, st, &err), &err);
    return n;
}

static int
count_registry_edge(const strata_store_edge *e, void *arg)
{
    int *n = arg;

    CHECK_STR_EQ(e->child_ref, "r.example/app:1");
    CHECK_STR_EQ(e->parent_ref, "docker.io/library/debian:12");
    CHECK_EQ(e->method, STRATA_STORE_EDGE_ANNOTATION);
    (*n)++;
    return 0;
}

/* The generation moves on what the graph loader reads, and only then. */
TEST(graph_generation_moves_on_graph_writes)
{
    strata_error err = {0};
    strata_store *st = open_store(":memory:", NULL);
    strata_store_edge e = {0};
    int64_t base, app, g0, g1;
    size_t nn, ne;
    int n = 0;

    g0 = generation(st);
    CHECK_OK(strata_store_graph_upsert_node(&base, st, STRATA_STORE_NODE_BASE,
                                            "docker.io/library/debian:12", NULL,
                                            NULL, NULL, &err),
             &err);
    CHECK_OK(strata_store_graph_upsert_node(
                 &app, st, STRATA_STORE_NODE_IMAGE, "r.example/app:1", NULL,
                 "https://git/app.git", "Dockerfile", &err),
             &err);
    e.child = app;
    e.parent = base;
    e.repo = "https://git/app.git";
    e.path = "Dockerfile";
    e.line = 1;
    e.method = STRATA_STORE_EDGE_DOCKERFILE;
    e.confidence = 1.0;
    CHECK_OK(strata_store_graph_add_edge(st, &e, &err), &err);
    g1 = generation(st);
    CHECK(g1 > g0);
    /* The same node and edge written again: nothing moved. */
    CHECK_OK(strata_store_graph_upsert_node(
                 &app, st, STRATA_STORE_NODE_IMAGE, "r.example/app:1", NULL,
                 "https://git/app.git", "Dockerfile", &err),
             &err);
    CHECK_OK(strata_store_graph_add_edge(st, &e, &err), &err);
    CHECK_EQ(generation(st), g1);
    /* Other meta keys and job traffic do not count. */
    CHECK_OK(strata_store_meta_set(st, "approved:x", "sha256:1", &err), &err);
    CHECK_OK(strata_store_event_append(NULL, st, "x", NULL, NULL, 0, &err),
             &err);
    CHECK_EQ(generation(st), g1);
    /* A scan document: a new commit alone does not count, new pins do. */
    CHECK_OK(strata_store_meta_set(st, "scan:https://git/app.git",
                                   "{\"commit\":\"a\",\"files\":{}}", &err),
             &err);
    CHECK(generation(st) > g1);
    g1 = generation(st);
    CHECK_OK(strata_store_meta_set(st, "scan:https://git/app.git",
                                   "{\"commit\":\"b\",\"files\":{}}", &err),
             &err);
    CHECK_EQ(generation(st), g1);
    CHECK_OK(strata_store_meta_set(
                 st, "scan:https://git/app.git",
                 "{\"commit\":\"c\",\"files\":{\"Dockerfile\":{}}}", &err),
             &err);
    CHECK(generation(st) > g1);
    g1 = generation(st);
    /* Not JSON (a damaged document) still compares, and never fails. */
    CHECK_OK(strata_store_meta_set(st, "scan:https://git/app.git", "{", &err),
             &err);
    CHECK(generation(st) > g1);
    g1 = generation(st);
    /* A registry edge and its digest. */
    e.method = STRATA_STORE_EDGE_ANNOTATION;
    e.repo = e.path = NULL;
    e.line = 0;
    CHECK_OK(strata_store_graph_add_edge(st, &e, &err), &err);
    CHECK(generation(st) > g1);
    g1 = generation(st);
    CHECK_OK(
        strata_store_meta_set(st, "lineage:a|b|annotation", "sha256:1", &err),
        &err);
    CHECK(generation(st) > g1);
    g1 = generation(st);
    CHECK_OK(
        strata_store_meta_set(st, "lineage:a|b|annotation", "sha256:1", &err),
        &err);
    CHECK_EQ(generation(st), g1);
    CHECK_OK(
        strata_store_graph_registry_edges(st, count_registry_edge, &n, &err),
        &err);
    CHECK_EQ(n, 1);
    /* Retracted (confidence 0): no longer listed, and the graph moved. */
    e.confidence = 0;
    CHECK_OK(strata_store_graph_add_edge(st, &e, &err), &err);
    CHECK(generation(st) > g1);
    n = 0;
    CHECK_OK(
        strata_store_graph_registry_edges(st, count_registry_edge, &n, &err),
        &err);
    CHECK_EQ(n, 0);
    CHECK_OK(strata_store_graph_count(st, &nn, &ne, &err), &err);
    CHECK_EQ(nn, 2);
    CHECK_EQ(ne, 2);
    g1 = generation(st);
    CHECK_OK(strata_store_graph_clear(st, &err), &err);
    CHECK(generation(st) > g1);
    strata_store_close(st);
}

TEST(events_with_a_key_are_recorded_once)
{
    strata_error err = {0};
    strata_store *st = open_store(":memory:", NULL);
    strata_store_event_spec ev = {0};
    json_t *payload = json_pack("{s:s}", "image", "r/app");
    json_t *list = NULL;
    int64_t first = 0, again = 0, other = 0;
    int created = -1;

    ev.key = "job r/app|sha256:d1|notify base.updated";
    ev.type = "base.updated";
    ev.subject = "r/app";
    ev.payload = payload;
    CHECK_OK(strata_store_event_add(&first, &created, st, &ev, &err), &err);
    CHECK_EQ(created, 1);
    /* The job runs again after a crash: the same event, the same id. */
    CHECK_OK(strata_store_event_add(&again, &created, st, &ev, &err), &err);
    CHECK_EQ(created, 0);
    CHECK_EQ(again, first);
    /* Another key, or none, is another event. */
    ev.key = "job r/app|sha256:d2|notify base.updated";
    CHECK_OK(strata_store_event_add(&other, &created, st, &ev, &err), &err);
    CHECK_EQ(created, 1);
    CHECK(other > first);
    ev.key = NULL;
    CHECK_OK(strata_store_event_add(&other, &created, st, &ev, &err), &err);
    CHECK_OK(strata_store_event_add(&again, &created, st, &ev, &err), &err);
    CHECK_EQ(created, 1);
    CHECK(again > other);
    CHECK_OK(strata_store_event_list(&list, st, 0, 0, NULL, &err), &err);
    CHECK_EQ(json_array_size(list), 4);
    json_decref(list);
    /* Inside a transaction that rolls back, nothing stays. */
    ev.key = "rolled back";
    CHECK_OK(strata_store_begin(st, &err), &err);
    CHECK_OK(strata_store_event_add(&other, &created, st, &ev, &err), &err);
    strata_store_rollback(st);
    CHECK_OK(strata_store_event_add(&again, &created, st, &ev, &err), &err);
    CHECK_EQ(created, 1);
    json_decref(payload);
    strata_store_close(st);
}

TEST(job_history_of_one_image)
{
    strata_error err = {0};
    strata_store *st = open_store(":memory:", NULL);
    strata_store_job *job = NULL;
    json_t *list = NULL;
    int64_t rb, pr1, pr2;
    int producing = -1;

    pr1 = enqueue(st, "r/a", "pr", "sha256:d1", 0, 0, NULL);
    enqueue(st, "r/b", "pr", "sha256:d1", 0, 0, NULL);
    pr2 = enqueue(st, "r/a", "pr", "sha256:d2", 0, 0, NULL);
    CHECK_OK(strata_store_job_list_image(&list, st, "r/a", "pr", &err), &err);
    CHECK_EQ(json_array_size(list), 2);
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(list, 0), "id")),
             pr1);
    CHECK_EQ(json_integer_value(json_object_get(json_array_get(list, 1), "id")),
             pr2);
    json_decref(list);

    CHECK_OK(strata_store_job_producing(&producing, st, "r/a", &err), &err);
    CHECK_EQ(producing, 0);
    rb = enqueue(st, "r/a", "rebuild", "sha256:d2", 0, 0, NULL);
    CHECK_OK(strata_store_job_producing(&producing, st, "r/a", &err), &err);
    CHECK_EQ(producing, 1);
    CHECK_OK(strata_store_job_producing(&producing, st, "r/b", &err), &err);
    CHECK_EQ(producing, 0);
    /* Running still counts; finished does not. */
    while (strata_store_job_claim(&job, st, &err) == 0 && job != NULL) {
        if (job->id != rb)
            CHECK_OK(strata_store_job_finish(st, job->id,
                                             STRATA_STORE_JOB_SUCCEEDED, NULL,
                                             NULL, &err),
                     &err);
        strata_store_job_free(job);
    }
    CHECK_EQ(job_state(st, rb), STRATA_STORE_JOB_RUNNING);
    CHECK_OK(strata_store_job_producing(&producing, st, "r/a", &err), &err);
    CHECK_EQ(producing, 1);
    CHECK_OK(strata_store_job_finish(st, rb, STRATA_STORE_JOB_FAILED, "no",
                                     NULL, &err),
             &err);
    CHECK_OK(strata_store_job_producing(&producing, st, "r/a", &err), &err);
    CHECK_EQ(producing, 0);
    strata_store_close(st);
}

/* "ID BASE DIGEST;" for each job strata_store_job_each_base hands over. */
static int
collect_base(int64_t id, const char *ref, const char *digest, void *arg)
{
    char *line = strata_xasprintf("%lld %s %s;", (long long) id, ref, digest);

    strata_buf_puts(arg, line);
    free(line);
    return 0;
}

static int
stop_at_first(int64_t id, const char *ref, const char *digest, void *arg)
{
    (void) id;
    (void) ref;
    (void) digest;
    ++*(int *) arg;
    return STRATA_ECANCELED;
}

TEST(job_bases_of_one_image_or_a_repository)
{
    strata_error err = {0};
    strata_store *st = open_store(":memory:", NULL);
    strata_buf b = STRATA_BUF_INIT;
    strata_store_job_filter f = {0};
    int64_t a1, a2, c1;
    int n = 0, calls = 0;
    char want[512];

    a1 =
        enqueue(st, "file:///r/a//x/Dockerfile", "pr", "sha256:d1", 0, 0, NULL);
    c1 =
        enqueue(st, "file:///r/a//y/Dockerfile", "pr", "sha256:d1", 0, 0, NULL);
    /* Not the repository's: another repository whose URL goes on, its
     * image, another action. */
    enqueue(st, "file:///r/ab//x/Dockerfile", "pr", "sha256:d1", 0, 0, NULL);
    enqueue(st, "file:///r/a", "pr", "sha256:d1", 0, 0, NULL);
    enqueue(st, "file:///r/a//x/Dockerfile", "notify", "sha256:d1", 0, 0, NULL);
    a2 =
        enqueue(st, "file:///r/a//x/Dockerfile", "pr", "sha256:d2", 0, 0, NULL);
    /* Cancelled jobs are not planned any more. */
    f.id =
        enqueue(st, "file:///r/a//y/Dockerfile", "pr", "sha256:d3", 0, 0, NULL);
    CHECK_OK(strata_store_job_cancel(&n, st, &f, "test", &err), &err);
    CHECK_EQ(n, 1);

    CHECK_OK(strata_store_job_each_base(st, "pr", "file:///r/a//", 1,
                                        collect_base, &b, &err),
             &err);
    snprintf(want, sizeof(want),
             "%lld docker.io/library/debian:12 sha256:d1;"
             "%lld docker.io/library/debian:12 sha256:d1;"
             "%lld docker.io/library/debian:12 sha256:d2;",
             (long long) a1, (long long) c1, (long long) a2);
    CHECK_STR_EQ(strata_buf_cstr(&b), want);
    strata_buf_release(&b);
    CHECK_OK(strata_store_job_each_base(st, "pr", "file:///r/a//x/Dockerfile",
                                        0, collect_base, &b, &err),
             &err);
    snprintf(want, sizeof(want),
             "%lld docker.io/library/debian:12 sha256:d1;"
             "%lld docker.io/library/debian:12 sha256:d2;",
             (long long) a1, (long long) a2);
    CHECK_STR_EQ(strata_buf_cstr(&b), want);
    strata_buf_release(&b);
    CHECK_OK(strata_store_job_each_base(st, "pr", "file:///r/none//", 1,
                                        collect_base, &b, &err),
             &err);
    CHECK_EQ(b.len, 0);
    /* A callback stops the walk with its code. */
    CHECK_EQ(strata_store_job_each_base(st, "pr", "file:///r/a//", 1,
                                        stop_at_first, &calls, &err),
             STRATA_ECANCELED);
    CHECK_EQ(calls, 1);
    CHECK_EQ(
        strata_store_job_each_base(st, "pr", "", 1, collect_base, &b, &err),
        STRATA_EINVAL);
    strata_buf_release(&b);
    strata_store_close(st);
}

TEST(migrates_a_version_4_database)
{
    tmpdir t;
    strata_error err = {0};
    strata_store *st;
    json_t *list = NULL;
    int64_t id = 0;

    tmp_make(&t);
    /* A database as strata with schema 4 left it, with a queued job. */
    st = open_store(t.db, NULL);
    enqueue(st, "r/a", "rebuild", "sha256:d1", 0, 0, NULL);
    CHECK_OK(
        strata_store_event_append(&id, st, "base.updated", "x", NULL, 0, &err),
        &err);
    strata_store_close(st);
    raw_exec(t.db, "DROP INDEX jobs_queue; DROP INDEX jobs_blocking; "
                   "DROP INDEX jobs_building; DROP INDEX jobs_state; "
                   "DROP INDEX jobs_image; DROP INDEX outbox_pending; "
                   "DROP INDEX graph_edges_registry; DROP INDEX events_key; "
                   "ALTER TABLE events DROP COLUMN key; DROP TABLE pkgdb; "
                   "DROP TABLE rollout_images; DROP TABLE rollouts; "
                   "DROP INDEX jobs_pr_done; ALTER TABLE jobs DROP COLUMN "
                   "waiting; DROP TABLE discover_cache; "
                   "DROP TABLE discovered; "
                   "CREATE INDEX jobs_runnable ON jobs "
                   "(state, next_attempt, id); "
                   "CREATE INDEX jobs_image_action ON jobs (image, action); "
                   "PRAGMA user_version = 4");
    CHECK_EQ(raw_int(t.db, "SELECT count(*) FROM sqlite_master WHERE "
                           "name = 'jobs_queue'"),
             0);

    st = open_store(t.db, NULL);
    CHECK_EQ(raw_int(t.db, "PRAGMA user_version"), STRATA_STORE_SCHEMA_VERSION);
    CHECK_EQ(raw_int(t.db, "SELECT count(*) FROM sqlite_master WHERE "
                           "type = 'index' AND name IN ('jobs_queue', "
                           "'jobs_blocking', 'jobs_building', 'jobs_state', "
                           "'jobs_image', 'outbox_pending', "
                           "'graph_edges_registry', 'events_key')"),
             8);
    CHECK_EQ(raw_int(t.db, "SELECT count(*) FROM sqlite_master WHERE "
                           "name IN ('jobs_runnable', 'jobs_image_action')"),
             0);
    /* The data is still there and the queue still works. */
    CHECK_OK(
        strata_store_job_list(&list, st, 0, 0, STRATA_STORE_JOB_QUEUED, &err),
        &err);
    CHECK_EQ(json_array_size(list), 1);
    json_decref(list);
    CHECK_OK(strata_store_event_list(&list, st, 0, 0, NULL, &err), &err);
    CHECK_EQ(json_array_size(list), 1);
    json_decref(list);
    strata_store_close(st);
    tmp_remove(&t);
}

int
main(void)
{
    RUN(migrates_from_empty);
    RUN(reopen_keeps_data);
    RUN(job_bases_of_one_image_or_a_repository);
    RUN(migrates_a_version_4_database);
    RUN(newer_schema_refused);
    RUN(foreign_database_refused);
    RUN(random_bytes_refused);
    RUN(truncated_database_detected);
    RUN(unwritable_directory_refused);
    RUN(locked_database_fails_cleanly);
    RUN(transactions_nest);
    RUN(digest_first_seen);
    RUN(error_never_clears_digest);
    RUN(watch_seen_is_observe_without_a_change);
    RUN(watches_add_list_remove);
    RUN(events_paginate);
    RUN(events_with_a_key_are_recorded_once);
    RUN(job_enqueue_is_idempotent);
    RUN(job_claim_and_finish);
    RUN(job_claim_waits_for_earlier_waves);
    RUN(job_rescan_waits_for_its_rebuild);
    RUN(job_retry_until_exhausted);
    RUN(job_cancel_and_superseded);
    RUN(job_requeue_running_at_startup);
    RUN(job_release_at_shutdown);
    RUN(job_claim_is_atomic_across_connections);
    RUN(job_list_paginates);
    RUN(job_history_of_one_image);
    RUN(job_state_names);
    RUN(graph_edges_replaced);
    RUN(graph_generation_moves_on_graph_writes);
    return harness_done();
}
