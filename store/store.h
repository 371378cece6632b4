/*
 * store.h - strata's durable state in one sqlite database: watched
 * references and the digests seen for them, the event log, the job queue
 * and the lineage graph.
 *
 * watchers/, graph/, jobs/, notify/ and the daemon all persist their
 * state here, and modules must stay acyclic, so the store is its own
 * module below them all: core -> oci -> store -> config, graph,
 * watchers, ... -> jobs -> daemon. It knows tables, not policies:
 * deciding what a change means stays with the callers.
 *
 * The database is opened in WAL mode with a busy timeout (5 s by default),
 * foreign keys on and synchronous=NORMAL. Its schema is versioned with
 * PRAGMA user_version and migrated forward on open, one transaction per
 * step; a database from a newer strata is refused, never touched.
 *
 * Threads: a strata_store is one sqlite connection with cached prepared
 * statements. Use it from one thread at a time (the loop thread, or one
 * uv_queue_work worker while the loop waits for it).
 *
 * Every function returns 0 or a negative STRATA_E* code and fills err with
 * a one-line message that names the database file. Codes: STRATA_ESTATE
 * (corrupt, not a strata database, newer schema), STRATA_ECONFLICT (locked
 * by another process past the busy timeout; a job not in the state the
 * call needs), STRATA_EIO (cannot open, read-only, disk full, I/O),
 * STRATA_EINVAL (bad argument, constraint violation), STRATA_ENOTFOUND.
 */
#ifndef STRATA_STORE_H
#define STRATA_STORE_H

#include <stdint.h>

#include <jansson.h>

#include "core.h"

/* The schema version this strata writes and understands. */
#define STRATA_STORE_SCHEMA_VERSION 10
/* How long a statement waits for another process's lock by default. */
#define STRATA_STORE_BUSY_TIMEOUT_MS 5000

typedef struct strata_store strata_store;

/* ---- opening and transactions ----------------------------------------- */

/* How thoroughly strata_store_check (or open) reads the database. */
typedef enum strata_store_check_mode {
    STRATA_STORE_CHECK_NONE = 0, /* "off" */
    /* "quick": PRAGMA quick_check, every page of every table and index,
     * O(size); what the daemon can afford at start */
    STRATA_STORE_CHECK_QUICK,
    /* "full": PRAGMA integrity_check, also every index entry against its
     * row; O(size log size) */
    STRATA_STORE_CHECK_FULL,
} strata_store_check_mode;

/* "off", "quick", "full" (the state_check setting); STRATA_EINVAL else. */
int strata_store_check_mode_parse(strata_store_check_mode *out,
                                  const char *name);

typedef struct strata_store_options {
    int busy_timeout_ms; /* 0: STRATA_STORE_BUSY_TIMEOUT_MS */
    /*
     * Checked on open, before anything is written: a database that fails
     * is refused (STRATA_ESTATE), never written to.
     */
    strata_store_check_mode check;
    /*
     * Opens without ever writing: no WAL switch, no migration (the schema
     * must be this strata's already; STRATA_ESTATE otherwise). For
     * checking and backing up a database another process may own.
     */
    int readonly;
} strata_store_options;

/*
 * Opens (creating if needed) the database at path and migrates it to
 * STRATA_STORE_SCHEMA_VERSION. ":memory:" gives a private in-memory store.
 * The parent directory must exist; it is not created. On open, strata
 * reads the header and the schema (cheap; catches "file is not a database"
 * and a damaged schema) but does not scan every page unless opts->check
 * says so: see strata_store_check(). *out is the caller's:
 * strata_store_close.
 */
int strata_store_open(strata_store **out, const char *path, strata_error *err);
int strata_store_open_with(strata_store **out, const char *path,
                           const strata_store_options *opts, strata_error *err);

/* Rolls back an open transaction and closes. NULL is a no-op. */
void strata_store_close(strata_store *st);

/* The path given to open. Borrowed. */
const char *strata_store_path(const strata_store *st);

/*
 * Reads every page (mode QUICK or FULL; NONE checks nothing). Returns 0
 * when the database is sound; STRATA_ESTATE when it is damaged, with a
 * message naming the file, how many problems and the first. *out_problems
 * (may be NULL) is a new array of every problem sqlite reported, one
 * string each ("Tree 7 page 12 cell 3: 2nd reference to page 40"), at
 * most 100, empty when sound; set on 0 and STRATA_ESTATE. Once damage is
 * found, this connection never writes again (every write fails with
 * STRATA_EIO naming the damage); so does one where any statement met
 * SQLITE_CORRUPT. Other store errors (a lock, I/O) as they come.
 */
int strata_store_check(json_t **out_problems, strata_store *st,
                       strata_store_check_mode mode, strata_error *err);

/*
 * Copies the database to path with sqlite's online backup API, as one
 * consistent snapshot: a read transaction of this connection, so in WAL
 * mode the daemon (or this process) goes on writing meanwhile. The copy is
 * written beside path (path.tmp-XXXXXX), checked with quick_check, synced
 * and renamed over path, so path is never half a copy; it is one
 * self-contained file (rollback journal) that strata opens like any state
 * database. STRATA_EINVAL for path being the database itself, STRATA_EIO
 * when it cannot be written, STRATA_ESTATE when the database (so the copy)
 * is damaged, STRATA_ECONFLICT when locked past the busy timeout.
 */
int strata_store_backup(strata_store *st, const char *path, strata_error *err);

/*
 * Every cached statement of the store, with its SQL text exactly as it
 * runs, sqlite's EXPLAIN QUERY PLAN for it and what it cost at run time,
 * for tests and diagnostics.
 * Statements are prepared on first use, so sql and plan are NULL for those
 * this connection has not run yet. Strings are borrowed for the callback.
 */
typedef struct strata_store_statement {
    const char *name; /* "job_claim" */
    const char *sql;  /* NULL: not run on this connection yet */
    /* One line per step ("SEARCH jobs USING INDEX jobs_queue (state=?)"),
     * indented two spaces per level of nesting. */
    const char *plan;
    /*
     * Since the previous strata_store_explain (which resets them): sqlite
     * virtual machine steps the statement ran (its work), and rows it
     * stepped through in full table scans.
     */
    int64_t steps;
    int64_t fullscan_steps;
} strata_store_statement;

/* Returns 0 to go on; anything else stops and is returned. */
typedef int (*strata_store_statement_cb)(const strata_store_statement *s,
                                         void *arg);

int strata_store_explain(strata_store *st, strata_store_statement_cb cb,
                         void *arg, strata_error *err);

/*
 * Replaces the clock (milliseconds since the epoch) used for every time the
 * store records; strata_now_ms() by default. For tests.
 */
void strata_store_set_clock(strata_store *st, int64_t (*now)(void *arg),
                            void *arg);

/*
 * Transactions. begin takes the write lock at once (BEGIN IMMEDIATE), so a
 * transaction never fails half-way on another process's lock. They nest:
 * an inner begin is a savepoint, and its rollback undoes only the inner
 * part. Every operation below is atomic on its own, inside or outside a
 * transaction.
 */
int strata_store_begin(strata_store *st, strata_error *err);
int strata_store_commit(strata_store *st, strata_error *err);
/* Undoes the innermost open transaction; a no-op when none is open. */
void strata_store_rollback(strata_store *st);
/*
 * 1 while a transaction is open. sqlite ends one on its own after some
 * errors (an I/O error, a full disk): after an inner part failed and was
 * rolled back, this says whether the outer transaction is still there.
 */
int strata_store_in_transaction(const strata_store *st);

/* ---- meta: a small key/value table ------------------------------------ */

/* *out is the caller's to free; STRATA_ENOTFOUND when key is not set. */
int strata_store_meta_get(char **out, strata_store *st, const char *key,
                          strata_error *err);
int strata_store_meta_set(strata_store *st, const char *key, const char *value,
                          strata_error *err);

/* ---- watches, digests seen, watch state ------------------------------- */

/*
 * Adds a watched reference or updates its policy (a JSON object such as
 * {"semver": ">=3.11", "suffix": "-slim"}, or NULL to follow the tag).
 * *out_created (may be NULL) says whether it was new.
 */
int strata_store_watch_add(int *out_created, strata_store *st, const char *ref,
                           const json_t *policy, strata_error *err);
/* Forgets a watched reference (its digests and state stay as history). */
int strata_store_watch_remove(strata_store *st, const char *ref,
                              strata_error *err);
/*
 * All watched references, by ref: [{"ref", "policy": obj|null, "created"}].
 * New reference.
 */
int strata_store_watch_list(json_t **out, strata_store *st, strata_error *err);

/* A watch as listed; strings borrowed for the callback's duration. */
typedef struct strata_store_watch {
    const char *ref;
    const char *policy; /* JSON text, or NULL to follow the tag */
    int64_t created;
} strata_store_watch;

/* Returns 0 to go on; anything else stops and is returned. */
typedef int (*strata_store_watch_cb)(const strata_store_watch *w, void *arg);

/* Calls cb for every watch, by ref, without building a list. */
int strata_store_watch_each(strata_store *st, strata_store_watch_cb cb,
                            void *arg, strata_error *err);

/* One successful read of a watched reference. */
typedef struct strata_store_observation {
    const char *ref;         /* the watched reference */
    const char *digest;      /* what it points to now: "sha256:..." */
    const char *tag;         /* the tag a semver policy chose, or NULL */
    const json_t *platforms; /* {"linux/amd64": "sha256:..."} or NULL */
    int64_t next_check_ms;   /* when to look again; 0 keeps the old value */
} strata_store_observation;

/*
 * Records a successful check: the digest's first_seen is kept (set when it
 * is new), last_seen is now; the watch state gets last_check = last_ok =
 * now, no error, consecutive_errors 0 and obs->digest as current digest.
 * *out_new (may be NULL): 1 when this digest was never seen for this ref.
 * *out_previous (may be NULL): the current digest before this call, or
 * NULL on the first check; the caller frees it. A change is
 * previous != NULL && strcmp(previous, digest) != 0.
 */
int strata_store_watch_observe(int *out_new, char **out_previous,
                               strata_store *st,
                               const strata_store_observation *obs,
                               strata_error *err);

/*
 * The steady state's cheaper observe, for a check that read the digest
 * its caller knows as current: sets last_check = last_ok = now, clears
 * the error and consecutive_errors, moves next_check (0 keeps it) and the
 * digest's last_seen (and tag, when given); obs->platforms is ignored.
 * When the stored current digest is not obs->digest (another process
 * recorded a change since the caller read it), or the digest has no row,
 * *out_moved is 1 and what was written is the caller's to roll back or to
 * complete with strata_store_watch_observe, which sees the change. Two
 * statements: call it inside a transaction.
 */
int strata_store_watch_seen(int *out_moved, strata_store *st,
                            const strata_store_observation *obs,
                            strata_error *err);

/*
 * Records a failed check (transient errors are never a change): sets
 * last_check and last_error, adds one to consecutive_errors, which it
 * returns in *out_errors (may be NULL), and never touches the current
 * digest. next_check_ms 0 keeps the old value.
 */
int strata_store_watch_error(int64_t *out_errors, strata_store *st,
                             const char *ref, const char *message,
                             int64_t next_check_ms, strata_error *err);

typedef struct strata_store_watch_state {
    char *ref;
    char *current_digest; /* NULL before the first successful check */
    char *last_error;     /* NULL when the last check succeeded */
    int64_t consecutive_errors;
    int64_t last_check_ms; /* 0: never */
    int64_t last_ok_ms;    /* 0: never */
    int64_t next_check_ms; /* 0: not scheduled */
} strata_store_watch_state;

/* Fills *out (release it); STRATA_ENOTFOUND if ref was never checked. */
int strata_store_watch_state_get(strata_store_watch_state *out,
                                 strata_store *st, const char *ref,
                                 strata_error *err);
/* Frees the strings in s (not s itself). NULL is a no-op. */
void strata_store_watch_state_release(strata_store_watch_state *s);
/*
 * Every watch state, by ref: [{"ref", "current_digest", "last_error",
 * "consecutive_errors", "last_check", "last_ok", "next_check"}], absent
 * values as null. New reference.
 */
int strata_store_watch_states(json_t **out, strata_store *st,
                              strata_error *err);

/*
 * The per-platform digests recorded with digest of ref (a new reference),
 * or *out NULL when there are none (not an index, or never seen).
 */
int strata_store_digest_platforms(json_t **out, strata_store *st,
                                  const char *ref, const char *digest,
                                  strata_error *err);

/*
 * The digests seen for ref, oldest first: [{"digest", "tag", "platforms":
 * obj|null, "first_seen", "last_seen"}]. New reference.
 */
int strata_store_digests_list(json_t **out, strata_store *st, const char *ref,
                              strata_error *err);

/* ---- events ------------------------------------------------------------ */

/*
 * Appends an event ("base.updated", subject "docker.io/library/debian:12",
 * payload any JSON value or NULL for {}). time_ms 0 means now. *out_id
 * (may be NULL) is its id; ids only grow.
 */
int strata_store_event_append(int64_t *out_id, strata_store *st,
                              const char *type, const char *subject,
                              const json_t *payload, int64_t time_ms,
                              strata_error *err);

typedef struct strata_store_event_spec {
    const char *key;       /* idempotency key, or NULL: always a new event */
    const char *type;      /* "base.updated" */
    const char *subject;   /* may be NULL */
    const json_t *payload; /* any JSON value (borrowed), NULL for {} */
    int64_t time_ms;       /* 0: now */
} strata_store_event_spec;

/*
 * Appends an event unless one with the same key exists: then *out_id
 * (may be NULL) is that event's id and nothing is written, so an action
 * that runs again after a crash records its event once, under one id.
 * *out_created (may be NULL) says which.
 */
int strata_store_event_add(int64_t *out_id, int *out_created, strata_store *st,
                           const strata_store_event_spec *spec,
                           strata_error *err);

/*
 * Events with id > after_id, oldest first, at most limit (<= 0: all), only
 * of the given type unless type is NULL: [{"id", "time", "type", "subject",
 * "payload"}]. Page with after_id = the last id seen. New reference.
 */
int strata_store_event_list(json_t **out, strata_store *st, int64_t after_id,
                            int limit, const char *type, strata_error *err);

/* The newest event's id into *out (0 when there is none). */
int strata_store_event_last_id(int64_t *out, strata_store *st,
                               strata_error *err);

/* ---- jobs --------------------------------------------------------------- */

typedef enum strata_store_job_state {
    STRATA_STORE_JOB_QUEUED = 0,
    STRATA_STORE_JOB_RUNNING,
    STRATA_STORE_JOB_SUCCEEDED,
    STRATA_STORE_JOB_FAILED,
    STRATA_STORE_JOB_CANCELLED,
    STRATA_STORE_JOB_NSTATES
} strata_store_job_state;

/* "queued", "running", ... */
const char *strata_store_job_state_name(strata_store_job_state s);
/* STRATA_EINVAL for an unknown name. */
int strata_store_job_state_parse(strata_store_job_state *out, const char *name);

typedef struct strata_store_job_spec {
    const char *image;       /* the image to act on */
    const char *action;      /* "pr", "rebuild", "rebase", "rescan" */
    const char *base_ref;    /* the base that changed (may be NULL) */
    const char *base_digest; /* its new digest */
    int wave;                /* 0: direct children of the base */
    int max_attempts;        /* 0: 3 */
    int64_t not_before_ms;   /* first attempt not before this; 0: now */
} strata_store_job_spec;

/*
 * Enqueues a job unless one with the same idempotency key
 * (image|base_digest|action) exists, whatever its state: a restart or a
 * repeated event never runs an action twice for one base digest.
 * *out_id is the job's id, new or existing; *out_created (may be NULL)
 * says which.
 */
int strata_store_job_enqueue(int64_t *out_id, int *out_created,
                             strata_store *st,
                             const strata_store_job_spec *spec,
                             strata_error *err);

typedef struct strata_store_job {
    int64_t id;
    char *key; /* image|base_digest|action */
    char *image;
    char *action;
    char *base_ref; /* may be NULL */
    char *base_digest;
    int wave;
    strata_store_job_state state;
    int attempts; /* claims so far */
    int max_attempts;
    int64_t next_attempt_ms;
    int64_t created_ms;
    int64_t updated_ms;
    char *last_error; /* may be NULL */
    json_t *result;   /* may be NULL; owned by the job */
    char *waiting;    /* why a queued job waits, or NULL */
} strata_store_job;

/* NULL is a no-op. */
void strata_store_job_free(strata_store_job *job);

/* *out is the caller's; STRATA_ENOTFOUND for an unknown id. */
int strata_store_job_get(strata_store_job **out, strata_store *st, int64_t id,
                         strata_error *err);

/*
 * Claims the oldest queued job whose next attempt is due, lowest wave
 * first: in one statement it becomes running and its attempts grow by one,
 * so two claimers (even in two processes) never get the same job. A job
 * waits while a rebuild or rebase of the same base digest in an earlier
 * wave is still queued or running (unless it waits for a later rollout
 * stage: "waiting" starts with "rollout "; jobs/rollout.c keeps a child in
 * its parent's stage or later): parents are built before children; a
 * rescan also waits for the rebuild or rebase of its own image, so it
 * scans the new digest.
 * *out is NULL when nothing is runnable (and 0 is returned); else the
 * caller's.
 */
int strata_store_job_claim(strata_store_job **out, strata_store *st,
                           strata_error *err);

/*
 * Ends a running job as succeeded or failed, with an error message and a
 * result (both may be NULL; result is borrowed). STRATA_ENOTFOUND for an
 * unknown id, STRATA_ECONFLICT if the job is not running (e.g. it was
 * cancelled or requeued meanwhile), STRATA_EINVAL for another state.
 */
int strata_store_job_finish(strata_store *st, int64_t id,
                            strata_store_job_state state, const char *error,
                            const json_t *result, strata_error *err);

/*
 * A running job failed transiently: it goes back to queued for another try
 * at next_attempt_ms, or, when its attempts are used up, ends as failed.
 * *out_requeued (may be NULL) says which. Errors as for finish.
 */
int strata_store_job_retry(int *out_requeued, strata_store *st, int64_t id,
                           const char *error, int64_t next_attempt_ms,
                           strata_error *err);

/* Which queued jobs to cancel; every set field must match. */
typedef struct strata_store_job_filter {
    int64_t id;                  /* 0: any */
    const char *image;           /* NULL: any */
    const char *action;          /* NULL: any */
    const char *base_ref;        /* NULL: any */
    const char *base_digest_not; /* NULL: any; else other base digests */
    int64_t before_id;           /* 0: any; else ids below this */
} strata_store_job_filter;

/*
 * Cancels the queued jobs that match f (running jobs are the caller's to
 * stop), recording reason as their last error. *out_count (may be NULL)
 * is how many.
 */
int strata_store_job_cancel(int *out_count, strata_store *st,
                            const strata_store_job_filter *f,
                            const char *reason, strata_error *err);

/*
 * Cancels the queued jobs that job `newer` supersedes: same image, action
 * and base ref (any base ref when newer has none), another base digest, a
 * smaller id. Their last error says "superseded by job N".
 */
int strata_store_job_cancel_superseded(int *out_count, strata_store *st,
                                       int64_t newer, strata_error *err);

/*
 * Crash recovery, for startup: jobs left running by a process that died
 * go back to queued, due now, with last error "interrupted". Their attempt
 * stays counted, so a job that used its last attempt ends as failed
 * instead (a job that crashes strata must not loop). *out_count (may be
 * NULL) is how many jobs were left running.
 */
int strata_store_job_requeue_running(int *out_count, strata_store *st,
                                     strata_error *err);

/*
 * Shutdown: running job id goes back to queued, due now, with last error
 * "interrupted by the shutdown", and its attempt is not counted (the
 * daemon stopping is not the job failing). STRATA_ENOTFOUND or
 * STRATA_ECONFLICT when id is not running, as strata_store_job_finish.
 */
int strata_store_job_release(strata_store *st, int64_t id, strata_error *err);

/*
 * Running job id may not run yet (outside its schedule window): back to
 * queued, not before next_attempt_ms, its attempt not counted, with why
 * in its "waiting" column (cleared when it is claimed again). Errors as
 * strata_store_job_release.
 */
int strata_store_job_defer(strata_store *st, int64_t id,
                           int64_t next_attempt_ms, const char *why,
                           strata_error *err);

/*
 * The pull-request budget: *out_time is when the n-th most recent request
 * strata opened after since_ms was opened (the finish of a pr job whose
 * result says pr.created), or 0 when fewer than n were.
 */
int strata_store_job_pr_opened(int64_t *out_time, strata_store *st,
                               int64_t since_ms, int n, strata_error *err);
/* *out = the pr jobs running, other than job except. */
int strata_store_job_pr_running(int *out, strata_store *st, int64_t except,
                                strata_error *err);

/* The store's clock (strata_store_set_clock), milliseconds. */
int64_t strata_store_now(strata_store *st);

/* out[state] = how many jobs are in that state. */
int strata_store_job_count(int64_t out[STRATA_STORE_JOB_NSTATES],
                           strata_store *st, strata_error *err);

/* The newest job's id into *out (0 when there is none). */
int strata_store_job_last_id(int64_t *out, strata_store *st, strata_error *err);

/*
 * Jobs with id > after_id, by id, at most limit (<= 0: all), only in
 * state unless state is -1: [{"id", "key", "image", "action", "base_ref",
 * "base_digest", "wave", "state", "attempts", "max_attempts",
 * "next_attempt", "last_error", "created", "updated", "result",
 * "waiting"}]. New
 * reference.
 */
int strata_store_job_list(json_t **out, strata_store *st, int64_t after_id,
                          int limit, int state, strata_error *err);

/*
 * The jobs of image with action, in any state, by id, as
 * strata_store_job_list lists them: one image's history through an index,
 * where listing the whole queue would cost as much as the queue is long.
 * New reference.
 */
int strata_store_job_list_image(json_t **out, strata_store *st,
                                const char *image, const char *action,
                                strata_error *err);

/* One job's base, as strata_store_job_each_base hands it (borrowed). */
typedef int (*strata_store_job_base_cb)(int64_t id, const char *base_ref,
                                        const char *base_digest, void *arg);

/*
 * For each job of action on image (with prefix: on every image that starts
 * with image, such as a repository's unnamed Dockerfiles "URL//"), not
 * cancelled and with a base, by id: cb(id, base_ref, base_digest, arg).
 * A negative return from cb (a STRATA_E* code) stops the walk and is
 * returned. One range of an index (jobs_image), however long the queue.
 * STRATA_EINVAL for an empty prefix.
 */
int strata_store_job_each_base(strata_store *st, const char *action,
                               const char *image, int prefix,
                               strata_store_job_base_cb cb, void *arg,
                               strata_error *err);

/*
 * *out = 1 when a rebuild or rebase of image is queued or running (a new
 * digest of image is then most likely strata's own push), else 0.
 */
int strata_store_job_producing(int *out, strata_store *st, const char *image,
                               strata_error *err);

/* ---- notify's outbox (outbox.c) ---------------------------------------- */
/*
 * One row per (event, sink), written before the first attempt so a crash
 * loses nothing. States: pending -> sending (claim) -> sent; back to
 * pending for a retry; dead after max_attempts or a permanent failure.
 * Every transition out of sending is guarded by the attempt id the claim
 * set, so a late answer to an attempt that crash recovery already took
 * back cannot mark the message twice.
 */

typedef enum strata_store_outbox_state {
    STRATA_STORE_OUTBOX_PENDING = 0,
    STRATA_STORE_OUTBOX_SENDING,
    STRATA_STORE_OUTBOX_SENT,
    STRATA_STORE_OUTBOX_DEAD,
    STRATA_STORE_OUTBOX_NSTATES
} strata_store_outbox_state;

/* STRATA_EINVAL for an unknown name. */
int strata_store_outbox_state_parse(strata_store_outbox_state *out,
                                    const char *name);

typedef struct strata_store_outbox_spec {
    const char *delivery;   /* unique idempotency key (X-Strata-Delivery) */
    const char *sink;       /* the sink's name */
    const char *event_type; /* "base.updated" */
    const json_t *payload;  /* the event (borrowed) */
    int max_attempts;       /* 0: 8 */
    int64_t not_before_ms;  /* first attempt not before; 0: now */
} strata_store_outbox_spec;

/*
 * Adds a message unless one with the same delivery key exists (in any
 * state), so enqueueing one event twice sends it once. *out_id is the
 * message's id, new or existing; *out_created (may be NULL) says which.
 */
int strata_store_outbox_add(int64_t *out_id, int *out_created, strata_store *st,
                            const strata_store_outbox_spec *spec,
                            strata_error *err);

typedef struct strata_store_outbox_msg {
    int64_t id;
    char *delivery;
    char *sink;
    char *event_type;
    json_t *payload; /* owned by the message */
    strata_store_outbox_state state;
    int attempts; /* claims so far */
    int max_attempts;
    int64_t next_attempt_ms;
    char *attempt_id; /* may be NULL */
    char *last_error; /* may be NULL */
    int64_t created_ms;
    int64_t updated_ms;
    int64_t sent_ms; /* 0 unless sent */
} strata_store_outbox_msg;

/* NULL is a no-op. */
void strata_store_outbox_msg_free(strata_store_outbox_msg *msg);
/* Frees msgs[0..n) and the array. */
void strata_store_outbox_msgs_free(strata_store_outbox_msg **msgs, size_t n);

/* *out is the caller's; STRATA_ENOTFOUND for an unknown id. */
int strata_store_outbox_get(strata_store_outbox_msg **out, strata_store *st,
                            int64_t id, strata_error *err);

/*
 * Claims up to max (>= 1) pending messages of sink whose next attempt is
 * due, oldest first, in one statement: they become sending with
 * attempt_id, and their attempts grow by one. *out is an array of *out_n
 * messages (NULL and 0 when none), the caller's: strata_store_outbox_msgs_free.
 */
int strata_store_outbox_claim(strata_store_outbox_msg ***out, size_t *out_n,
                              strata_store *st, const char *sink, int max,
                              const char *attempt_id, strata_error *err);

/*
 * Marks a sending message sent. STRATA_ECONFLICT when it is not sending
 * under attempt_id (recovered or finished meanwhile), STRATA_ENOTFOUND.
 */
int strata_store_outbox_sent(strata_store *st, int64_t id,
                             const char *attempt_id, strata_error *err);

/*
 * An attempt failed: the message goes back to pending, due at
 * next_attempt_ms, or to dead when its attempts are used up or permanent
 * is set. *out_dead (may be NULL) says which. Errors as for sent.
 */
int strata_store_outbox_fail(int *out_dead, strata_store *st, int64_t id,
                             const char *attempt_id, const char *error,
                             int64_t next_attempt_ms, int permanent,
                             strata_error *err);

/*
 * Crash recovery, for startup: messages left sending go back to pending,
 * due now, last error "interrupted", under the same delivery key (the
 * receiver may have got them: at least once). One that used its last
 * attempt goes to dead instead. *out_count (may be NULL): how many.
 */
int strata_store_outbox_recover(int *out_count, strata_store *st,
                                strata_error *err);

/* When sink's next pending message is due: *out_ms, or 0 when none. */
int strata_store_outbox_next_due(int64_t *out_ms, strata_store *st,
                                 const char *sink, strata_error *err);

/*
 * Gives a dead message another round: pending, attempts 0, due now.
 * STRATA_ENOTFOUND, or STRATA_ECONFLICT when it is not dead.
 */
int strata_store_outbox_requeue(strata_store *st, int64_t id,
                                strata_error *err);

/* out[state] = how many messages of sink (NULL: all) are in that state. */
int strata_store_outbox_count(int64_t out[STRATA_STORE_OUTBOX_NSTATES],
                              strata_store *st, const char *sink,
                              strata_error *err);

/*
 * Messages with id > after_id, by id, at most limit (<= 0: all), only in
 * state unless state is -1: [{"id", "delivery", "sink", "event_type",
 * "state", "attempts", "max_attempts", "next_attempt", "last_error",
 * "created", "updated", "sent", "event"}]; times in ms, absent ones null.
 * New reference. For `strata notify outbox` and the HTTP API.
 */
int strata_store_outbox_list(json_t **out, strata_store *st, int64_t after_id,
                             int limit, int state, strata_error *err);

/* ---- end of notify's outbox -------------------------------------------- */

/* ---- graph ------------------------------------------------------------- */

typedef enum strata_store_node_kind {
    STRATA_STORE_NODE_IMAGE = 0, /* built by us from a repository */
    STRATA_STORE_NODE_BASE,      /* built elsewhere; we only watch it */
} strata_store_node_kind;

typedef enum strata_store_edge_method {
    STRATA_STORE_EDGE_DOCKERFILE = 0, /* a FROM line */
    STRATA_STORE_EDGE_ANNOTATION,     /* org.opencontainers.image.base.* */
    STRATA_STORE_EDGE_LAYERS,         /* the base's layers are a prefix */
} strata_store_edge_method;

const char *strata_store_node_kind_name(strata_store_node_kind k);
const char *strata_store_edge_method_name(strata_store_edge_method m);

/* A node as loaded; its strings are borrowed for the callback's duration. */
typedef struct strata_store_node {
    int64_t id;
    strata_store_node_kind kind;
    const char *ref;
    const char *digest; /* may be NULL */
    const char *repo;   /* may be NULL */
    const char *path;   /* may be NULL */
    /* Some live edge touches it: a Dockerfile's, or a registry edge that
     * is not retracted (confidence > 0). */
    int used;
} strata_store_node;

/* An edge: child is built FROM parent. Strings borrowed. */
typedef struct strata_store_edge {
    int64_t child;
    int64_t parent;
    const char *repo; /* where the edge was found (may be NULL) */
    const char *path;
    int line; /* 0: unknown */
    strata_store_edge_method method;
    double confidence; /* 0..1 */
    /* The nodes' references: set by strata_store_graph_registry_edges
     * only, NULL elsewhere. */
    const char *child_ref, *parent_ref;
} strata_store_edge;

/*
 * Inserts the node for ref or updates it: digest, repo and path are
 * replaced when given (NULL keeps the old value); a node once seen as an
 * image stays an image (an intermediate image is also a base). *out_id
 * (may be NULL) is its id.
 */
int strata_store_graph_upsert_node(int64_t *out_id, strata_store *st,
                                   strata_store_node_kind kind, const char *ref,
                                   const char *digest, const char *repo,
                                   const char *path, strata_error *err);

/* The id of ref's node; STRATA_ENOTFOUND when there is none. */
int strata_store_graph_node_id(int64_t *out_id, strata_store *st,
                               const char *ref, strata_error *err);

/*
 * Adds an edge, or updates repo, path, line and confidence of the edge with
 * the same (child, parent, method). STRATA_EINVAL for an unknown node.
 */
int strata_store_graph_add_edge(strata_store *st, const strata_store_edge *e,
                                strata_error *err);

/*
 * A rescanned Dockerfile: atomically deletes every edge found in (repo,
 * path) and adds edges[0..n); their repo and path are taken from the
 * arguments.
 */
int strata_store_graph_replace_edges(strata_store *st, const char *repo,
                                     const char *path,
                                     const strata_store_edge *edges, size_t n,
                                     strata_error *err);

/* Deletes every node and edge. */
int strata_store_graph_clear(strata_store *st, strata_error *err);

/* Callbacks return 0 to go on; anything else stops and is returned. */
typedef int (*strata_store_node_cb)(const strata_store_node *node, void *arg);
typedef int (*strata_store_edge_cb)(const strata_store_edge *edge, void *arg);

/*
 * Calls cb for every live registry edge (annotation or layers, confidence
 * above 0), by id, with child_ref and parent_ref set: what the lineage
 * scan needs without loading every node.
 */
int strata_store_graph_registry_edges(strata_store *st, strata_store_edge_cb cb,
                                      void *arg, strata_error *err);

/*
 * The graph's generation: a number that moves whenever, and only when, a
 * write changed what strata_graph_load would read (any connection).
 */
int strata_store_graph_generation(int64_t *out, strata_store *st,
                                  strata_error *err);

/* How many nodes and edges there are (a loader's capacity hint). */
int strata_store_graph_count(strata_store *st, size_t *nodes, size_t *edges,
                             strata_error *err);

/*
 * Calls node_cb for every node (by id), then edge_cb for every edge (by
 * id), all from one snapshot; either may be NULL.
 */
int strata_store_graph_load(strata_store *st, strata_store_node_cb node_cb,
                            strata_store_edge_cb edge_cb, void *arg,
                            strata_error *err);

/* ---- rescans: findings per image digest (findings.c) ------------------ */
/*
 * What a vulnerability scan of image@digest found. The store keeps
 * findings; comparing digests and gating are scan/delta.c's.
 */

typedef struct strata_store_finding {
    const char *vuln;     /* "CVE-2019-1549" */
    const char *pkg;      /* the package; NULL is stored as "" */
    const char *version;  /* installed version, or NULL */
    const char *fixed;    /* the fixing version, or NULL */
    const char *severity; /* critical, high, medium, low, negligible,
                             unknown */
} strata_store_finding;

/*
 * Records findings[0..n) as what `scanner` found in image@digest, in one
 * transaction: an earlier scan of the same digest is replaced, and this
 * becomes the newest scan of image. STRATA_EINVAL for a finding without
 * an id or with another severity.
 */
int strata_store_findings_put(strata_store *st, const char *image,
                              const char *digest, const char *scanner,
                              const strata_store_finding *findings, size_t n,
                              strata_error *err);

/*
 * The findings of image@digest in the order recorded: [{"id", "pkg",
 * "version", "fixed", "severity"}], absent values as null. New reference.
 * STRATA_ENOTFOUND when that digest was never scanned.
 */
int strata_store_findings_get(json_t **out, strata_store *st, const char *image,
                              const char *digest, strata_error *err);

/*
 * Scans of image (NULL: of every image), newest first, at most limit
 * (<= 0: all): [{"image", "digest", "scanner", "scanned", "counts":
 * {"critical": n, "high": n, ..., "unknown": n}}]. New reference.
 */
int strata_store_scans_list(json_t **out, strata_store *st, const char *image,
                            int limit, strata_error *err);

/*
 * The newest scanned digest of image other than except (NULL: any): *out
 * is a new string, or NULL when there is none (and 0 is returned).
 */
int strata_store_scans_previous(char **out, strata_store *st, const char *image,
                                const char *except, strata_error *err);

/* ---- end of rescans ---------------------------------------------------- */

/* ---- rollouts (rollout.c) ---------------------------------------------- */
/*
 * A progressive rollout of one base digest (jobs/rollout.c decides; the
 * store keeps). A rollout as JSON: {"id", "base", "digest", "state":
 * "running" | "halted" | "completed" | "aborted" | "superseded", "stage"
 * (the current one, from 0), "policy", "stages": [{"images", "started",
 * "finished", "failed", "forgiven"}], "note", "created", "updated"}.
 */

/* Creates the rollout of base@digest with its images[i] in stages[i]
 * (0-based). policy and stage_list are stored as given. */
int strata_store_rollout_create(int64_t *out_id, strata_store *st,
                                const char *base, const char *digest,
                                const json_t *policy, const json_t *stage_list,
                                const char *const *images, const int *stages,
                                size_t n, strata_error *err);
/* *out (new): the rollout id, or of base@digest when id is 0; NULL and
 * 0 returned when there is none. */
int strata_store_rollout_get(json_t **out, strata_store *st, int64_t id,
                             const char *base, const char *digest,
                             strata_error *err);
/* Writes state, stage, stages and note (may be NULL) of rollout id. */
int strata_store_rollout_update(strata_store *st, int64_t id, const char *state,
                                int stage, const json_t *stage_list,
                                const char *note, strata_error *err);
/* The rollouts, newest first, at most limit (<= 0: all); only those in
 * state unless NULL ("active": running or halted). New. */
int strata_store_rollout_list(json_t **out, strata_store *st, const char *state,
                              int limit, strata_error *err);
/* *out: image's stage in rollout id; STRATA_ENOTFOUND when not in it. */
int strata_store_rollout_image_stage(int *out, strata_store *st, int64_t id,
                                     const char *image, strata_error *err);
/* How stage's images of rollout id (base digest) stand: all of an
 * image's jobs succeeded or were cancelled (done), one failed (failed),
 * else pending. */
int strata_store_rollout_counts(int *images, int *done, int *failed,
                                strata_store *st, int64_t id,
                                const char *digest, int stage,
                                strata_error *err);
/* Every image of rollout id with its stage and jobs: [{"image", "stage",
 * "jobs": [{"id", "action", "state", "waiting", "next_attempt",
 * "last_error"}]}], by stage and image. New. */
int strata_store_rollout_images(json_t **out, strata_store *st, int64_t id,
                                const char *digest, strata_error *err);
/* The queued jobs of stage's images (stage < 0: every stage) become due
 * at at_ms, with why (NULL: unchanged; "": nothing) as what they wait
 * for. *out_count
 * (may be NULL): how many. */
int strata_store_rollout_wake(int *out_count, strata_store *st, int64_t id,
                              const char *digest, int stage, int64_t at_ms,
                              const char *why, strata_error *err);
/* Cancels the queued jobs of rollout id's images for digest, with why
 * as their last error. */
int strata_store_rollout_cancel_jobs(int *out_count, strata_store *st,
                                     int64_t id, const char *digest,
                                     const char *why, strata_error *err);

/* ---- package databases (pkgdb.c) ---------------------------------------- */

/*
 * What image digest (a platform manifest's) has installed, for platform,
 * as the packages module wrote it: *out is new JSON text. STRATA_ENOTFOUND
 * when it was never stored.
 */
int strata_store_pkgdb_get(char **out, strata_store *st, const char *digest,
                           const char *platform, strata_error *err);
/* Stores (or replaces) body, JSON text, for digest and platform. */
int strata_store_pkgdb_put(strata_store *st, const char *digest,
                           const char *platform, const char *body,
                           strata_error *err);

/* ---- repository discovery (discover.c) ---------------------------------- */

/* A listing page's kept ETag and body (new strings); STRATA_ENOTFOUND. */
int strata_store_discover_cache_get(char **etag, char **body, strata_store *st,
                                    const char *key, strata_error *err);
int strata_store_discover_cache_put(strata_store *st, const char *key,
                                    const char *etag, const char *body,
                                    strata_error *err);
/* The repositories source (NULL: every source) took: [{"url",
 * "full_name", "branch", "source"}], new. */
int strata_store_discovered_list(json_t **out, strata_store *st,
                                 const char *source, strata_error *err);
/* Records (or refreshes) a repository source took. */
int strata_store_discovered_add(strata_store *st, const char *source,
                                const char *url, const char *full_name,
                                const char *branch, strata_error *err);
/*
 * A repository discovery no longer takes: forgets it, its graph edges
 * (every edge found in it) and its scan state, in one transaction.
 */
int strata_store_discovered_forget(strata_store *st, const char *url,
                                   strata_error *err);

#endif
