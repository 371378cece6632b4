/*
 * migrate.c - the schema and its migrations. The database's PRAGMA
 * user_version is the number of the last migration applied; open applies
 * the later ones in order, each in its own transaction together with the
 * new user_version, so a crash leaves the database at a known step.
 *
 * Never edit a released migration: append a new one. Times are integer
 * milliseconds since the epoch; JSON columns hold compact JSON text.
 */
#include <stdio.h>

#include "store-int.h"

typedef struct migration {
    int version;
    const char *sql;
} migration;

static const migration migrations[] = {
    {1, "CREATE TABLE meta ("
        "  key TEXT PRIMARY KEY,"
        "  value TEXT NOT NULL"
        ") WITHOUT ROWID;"

        "CREATE TABLE watches ("
        "  id INTEGER PRIMARY KEY,"
        "  ref TEXT NOT NULL UNIQUE,"
        "  policy TEXT," /* JSON; NULL: follow the tag */
        "  created INTEGER NOT NULL"
        ");"

        "CREATE TABLE digests ("
        "  id INTEGER PRIMARY KEY,"
        "  ref TEXT NOT NULL,"
        "  digest TEXT NOT NULL,"
        "  tag TEXT,"       /* the tag a semver policy chose */
        "  platforms TEXT," /* JSON: platform -> manifest digest */
        "  first_seen INTEGER NOT NULL,"
        "  last_seen INTEGER NOT NULL,"
        "  UNIQUE (ref, digest)"
        ");"

        "CREATE TABLE watch_state ("
        "  ref TEXT PRIMARY KEY,"
        "  last_check INTEGER,"
        "  last_ok INTEGER,"
        "  last_error TEXT,"
        "  consecutive_errors INTEGER NOT NULL DEFAULT 0,"
        "  next_check INTEGER,"
        "  current_digest TEXT"
        ");"

        "CREATE TABLE events ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  time INTEGER NOT NULL,"
        "  type TEXT NOT NULL,"
        "  subject TEXT,"
        "  payload TEXT NOT NULL DEFAULT '{}'"
        ");"
        "CREATE INDEX events_type ON events (type, id);"

        "CREATE TABLE jobs ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  key TEXT NOT NULL UNIQUE," /* image|base_digest|action */
        "  image TEXT NOT NULL,"
        "  action TEXT NOT NULL,"
        "  base_ref TEXT,"
        "  base_digest TEXT NOT NULL,"
        "  wave INTEGER NOT NULL DEFAULT 0,"
        "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN"
        "    ('queued', 'running', 'succeeded', 'failed', 'cancelled')),"
        "  attempts INTEGER NOT NULL DEFAULT 0,"
        "  max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),"
        "  next_attempt INTEGER NOT NULL,"
        "  last_error TEXT,"
        "  created INTEGER NOT NULL,"
        "  updated INTEGER NOT NULL,"
        "  result TEXT" /* JSON */
        ");"
        "CREATE INDEX jobs_runnable ON jobs (state, next_attempt, id);"
        "CREATE INDEX jobs_image_action ON jobs (image, action);"

        "CREATE TABLE graph_nodes ("
        "  id INTEGER PRIMARY KEY,"
        "  kind TEXT NOT NULL CHECK (kind IN ('image', 'base')),"
        "  ref TEXT NOT NULL UNIQUE,"
        "  digest TEXT,"
        "  repo TEXT,"
        "  path TEXT"
        ");"

        "CREATE TABLE graph_edges ("
        "  id INTEGER PRIMARY KEY,"
        "  child INTEGER NOT NULL"
        "    REFERENCES graph_nodes (id) ON DELETE CASCADE,"
        "  parent INTEGER NOT NULL"
        "    REFERENCES graph_nodes (id) ON DELETE CASCADE,"
        "  repo TEXT,"
        "  path TEXT,"
        "  line INTEGER,"
        "  method TEXT NOT NULL CHECK (method IN"
        "    ('dockerfile', 'annotation', 'layers')),"
        "  confidence REAL NOT NULL DEFAULT 1.0,"
        "  UNIQUE (child, parent, method)"
        ");"
        "CREATE INDEX graph_edges_parent ON graph_edges (parent);"
        "CREATE INDEX graph_edges_source ON graph_edges (repo, path);"},

    /*
     * 2: notify's outbox. One row per (event, sink), written before the
     * first attempt; state moves pending -> sending -> sent, back to
     * pending for a retry, or to dead after max_attempts. delivery is the
     * idempotency key receivers see (X-Strata-Delivery).
     */
    {2, "CREATE TABLE outbox ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  delivery TEXT NOT NULL UNIQUE,"
        "  sink TEXT NOT NULL,"
        "  event_type TEXT NOT NULL,"
        "  payload TEXT NOT NULL," /* JSON: the event */
        "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN"
        "    ('pending', 'sending', 'sent', 'dead')),"
        "  attempts INTEGER NOT NULL DEFAULT 0,"
        "  max_attempts INTEGER NOT NULL DEFAULT 8 CHECK (max_attempts >= 1),"
        "  next_attempt INTEGER NOT NULL,"
        "  attempt_id TEXT," /* set by each claim */
        "  last_error TEXT,"
        "  created INTEGER NOT NULL,"
        "  updated INTEGER NOT NULL,"
        "  sent INTEGER"
        ");"
        "CREATE INDEX outbox_due ON outbox (sink, state, next_attempt, id);"
        "CREATE INDEX outbox_state ON outbox (state, id);"},

    /*
     * 3: rescans. One row of scans per (image, digest) scanned; seq orders
     * scans newest last (a digest scanned again becomes the newest). Its
     * findings, in report order, go with it.
     */
    {3, "CREATE TABLE scans ("
        "  id INTEGER PRIMARY KEY,"
        "  image TEXT NOT NULL,"
        "  digest TEXT NOT NULL,"
        "  scanner TEXT NOT NULL,"
        "  scanned INTEGER NOT NULL,"
        "  seq INTEGER NOT NULL,"
        "  UNIQUE (image, digest)"
        ");"
        "CREATE INDEX scans_image ON scans (image, seq);"
        "CREATE TABLE findings ("
        "  scan INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,"
        "  seq INTEGER NOT NULL,"
        "  vuln TEXT NOT NULL,"
        "  pkg TEXT NOT NULL,"
        "  version TEXT,"
        "  fixed TEXT,"
        "  severity TEXT NOT NULL CHECK (severity IN ('critical', 'high',"
        "    'medium', 'low', 'negligible', 'unknown'))"
        ");"
        "CREATE INDEX findings_scan ON findings (scan, seq);"
        "CREATE INDEX findings_vuln ON findings (vuln);"},

    /*
     * 4: the graph's generation, bumped by triggers on every write that
     * changes what strata_graph_load reads (nodes, edges, the digests
     * pinned in a repository's scan document or learnt from a registry),
     * whoever writes it. A daemon reloads its graph only when it moved.
     * Updates that change nothing (an upsert of the same edge, a scan
     * document with only a new commit) do not count.
     */
    {4, "CREATE TABLE graph_generation (n INTEGER NOT NULL);"
        "INSERT INTO graph_generation (n) VALUES (0);"
        "CREATE TRIGGER graph_nodes_added AFTER INSERT ON graph_nodes "
        "BEGIN UPDATE graph_generation SET n = n + 1; END;"
        "CREATE TRIGGER graph_nodes_removed AFTER DELETE ON graph_nodes "
        "BEGIN UPDATE graph_generation SET n = n + 1; END;"
        "CREATE TRIGGER graph_nodes_changed AFTER UPDATE ON graph_nodes "
        "WHEN OLD.kind IS NOT NEW.kind OR OLD.ref IS NOT NEW.ref "
        "OR OLD.repo IS NOT NEW.repo OR OLD.path IS NOT NEW.path "
        "BEGIN UPDATE graph_generation SET n = n + 1; END;"
        "CREATE TRIGGER graph_edges_added AFTER INSERT ON graph_edges "
        "BEGIN UPDATE graph_generation SET n = n + 1; END;"
        "CREATE TRIGGER graph_edges_removed AFTER DELETE ON graph_edges "
        "BEGIN UPDATE graph_generation SET n = n + 1; END;"
        "CREATE TRIGGER graph_edges_changed AFTER UPDATE ON graph_edges "
        "WHEN OLD.child IS NOT NEW.child OR OLD.parent IS NOT NEW.parent "
        "OR OLD.repo IS NOT NEW.repo OR OLD.path IS NOT NEW.path "
        "OR OLD.line IS NOT NEW.line OR OLD.method IS NOT NEW.method "
        "OR OLD.confidence IS NOT NEW.confidence "
        "BEGIN UPDATE graph_generation SET n = n + 1; END;"
        /* graph/: "lineage:" digests, "scan:" documents (their files). */
        "CREATE TRIGGER graph_meta_added AFTER INSERT ON meta "
        "WHEN NEW.key GLOB 'lineage:*' OR NEW.key GLOB 'scan:*' "
        "BEGIN UPDATE graph_generation SET n = n + 1; END;"
        "CREATE TRIGGER graph_meta_changed AFTER UPDATE ON meta "
        "WHEN (NEW.key GLOB 'lineage:*' AND OLD.value IS NOT NEW.value) "
        "OR (NEW.key GLOB 'scan:*' AND CASE "
        "WHEN json_valid(OLD.value) AND json_valid(NEW.value) "
        "THEN json_extract(OLD.value, '$.files') IS NOT "
        "json_extract(NEW.value, '$.files') "
        "ELSE OLD.value IS NOT NEW.value END) "
        "BEGIN UPDATE graph_generation SET n = n + 1; END;"},

    /*
     * 5: indexes for the queries the runner, the planner, notify and the
     * API run over and over (issue 20: a claim scanned the whole queue
     * once for every queued job, so draining n jobs took n^3). Each names
     * its users; tests/test-store.c checks every statement's query plan.
     *
     * jobs_queue: the claim walks the queued jobs in its own order (wave,
     * created, id) and stops at the first it may run, with no sort.
     * jobs_blocking: "is a rebuild or rebase of this base digest in an
     * earlier wave still queued or running?", asked for each candidate.
     * jobs_building: the same for one image (a rescan waits for its
     * image's rebuild; the planner's "is strata producing this image?").
     * Both partial indexes hold only unfinished rebuilds and rebases.
     * jobs_state: listing and counting by state, crash recovery.
     * jobs_image: cancelling the jobs a newer one supersedes, and one
     * image's jobs of one action (the pr action's other bases).
     * outbox_pending: the outbox claim, oldest first, per sink.
     * graph_edges_registry: the lineage scan's registry edges.
     */
    {5, "DROP INDEX jobs_runnable;"
        "DROP INDEX jobs_image_action;"
        "CREATE INDEX jobs_queue ON jobs (state, wave, created, id) "
        "  WHERE state = 'queued';"
        "CREATE INDEX jobs_blocking ON jobs (base_digest, wave) "
        "  WHERE action IN ('rebuild', 'rebase') "
        "  AND state IN ('queued', 'running');"
        "CREATE INDEX jobs_building ON jobs (image, base_digest) "
        "  WHERE action IN ('rebuild', 'rebase') "
        "  AND state IN ('queued', 'running');"
        "CREATE INDEX jobs_state ON jobs (state, id);"
        "CREATE INDEX jobs_image ON jobs (image, action, state);"
        "CREATE INDEX outbox_pending ON outbox (sink, id) "
        "  WHERE state = 'pending';"
        "CREATE INDEX graph_edges_registry ON graph_edges (id) "
        "  WHERE method != 'dockerfile' AND confidence > 0;"},

    /*
     * 6: an event may carry an idempotency key: recording it again (a job
     * that runs again after a crash) finds the first one, with its id, so
     * what notify derives from the id (the delivery key) stays the same.
     */
    {6, "ALTER TABLE events ADD COLUMN key TEXT;"
        "CREATE UNIQUE INDEX events_key ON events (key) "
        "  WHERE key IS NOT NULL;"},
    /*
     * 7: what an image digest has installed (packages/), read once from
     * the registry and kept for every image built on it: JSON as
     * strata_pkg_image_to_json writes it, one row per digest and platform.
     */
    {7, "CREATE TABLE pkgdb ("
        "  digest TEXT NOT NULL,"
        "  platform TEXT NOT NULL,"
        "  body TEXT NOT NULL,"
        "  created INTEGER NOT NULL,"
        "  PRIMARY KEY (digest, platform)"
        ") WITHOUT ROWID;"},
    /*
     * 8: why a queued job waits (outside its schedule window, over the
     * pull-request budget), shown with its next_attempt; NULL when it
     * does not. jobs_pr_done: the pr jobs that finished, by time, for the
     * hourly budget (pull_requests.limits.per_hour).
     */
    {8, "ALTER TABLE jobs ADD COLUMN waiting TEXT;"
        "CREATE INDEX jobs_pr_done ON jobs (updated) "
        "  WHERE action = 'pr' AND state = 'succeeded';"},
    /*
     * 9: repository discovery (forge/discover.c): each listing page's
     * ETag and normalized body, so polls stay conditional across
     * restarts, and the repositories each source took (source: the
     * discover entry's key, "github org acme"), so one that disappears
     * while the daemon is down is still noticed.
     */
    {9, "CREATE TABLE discover_cache ("
        "  key TEXT PRIMARY KEY,"
        "  etag TEXT NOT NULL,"
        "  body TEXT NOT NULL,"
        "  updated INTEGER NOT NULL"
        ") WITHOUT ROWID;"
        "CREATE TABLE discovered ("
        "  url TEXT PRIMARY KEY,"
        "  source TEXT NOT NULL,"
        "  full_name TEXT NOT NULL,"
        "  branch TEXT,"
        "  seen INTEGER NOT NULL"
        ") WITHOUT ROWID;"
        "CREATE INDEX discovered_source ON discovered (source);"},
    /*
     * 10: progressive rollouts (jobs/rollout.c): one row per base digest
     * planned under a rollout policy, with the policy as it was (JSON),
     * its current stage and each stage's times (JSON: [{"images",
     * "started", "finished", "failed", "forgiven"}]); and each impacted
     * image's stage. An image's state is its jobs' (image, base_digest).
     */
    {10, "CREATE TABLE rollouts ("
         "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
         "  base_ref TEXT NOT NULL,"
         "  base_digest TEXT NOT NULL,"
         "  state TEXT NOT NULL DEFAULT 'running' CHECK (state IN"
         "    ('running', 'halted', 'completed', 'aborted', 'superseded')),"
         "  stage INTEGER NOT NULL DEFAULT 0,"
         "  policy TEXT NOT NULL,"
         "  stages TEXT NOT NULL,"
         "  note TEXT,"
         "  created INTEGER NOT NULL,"
         "  updated INTEGER NOT NULL,"
         "  UNIQUE (base_ref, base_digest)"
         ");"
         "CREATE INDEX rollouts_state ON rollouts (state, id);"
         "CREATE TABLE rollout_images ("
         "  rollout INTEGER NOT NULL REFERENCES rollouts (id),"
         "  image TEXT NOT NULL,"
         "  stage INTEGER NOT NULL,"
         "  PRIMARY KEY (rollout, image)"
         ") WITHOUT ROWID;"
         "CREATE INDEX rollout_images_stage ON rollout_images "
         "  (rollout, stage, image);"},
};

#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

/* Every table the current schema must have. */
static const char check_tables_sql[] =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
    "('meta', 'watches', 'digests', 'watch_state', 'events', 'jobs', "
    "'graph_nodes', 'graph_edges', 'outbox', 'scans', 'findings', "
    "'graph_generation', 'rollouts', 'rollout_images')";
#define NTABLES 14

static int
query_int(int *out, strata_store *st, const char *sql, const char *what,
          strata_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    rc = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        rc = strata_store__error(st, err, rc, what);
        goto out;
    }
    *out = sqlite3_column_int(stmt, 0);
    rc = 0;
out:
    sqlite3_finalize(stmt);
    return rc;
}

int
strata_store__schema_version(int *out, strata_store *st, strata_error *err)
{
    return query_int(out, st, "PRAGMA user_version", "reading the version",
                     err);
}

/* Applies m unless already there; from is the version open found. */
static int
apply(strata_store *st, const migration *m, int from, strata_error *err)
{
    char pragma[64];
    int version = 0;
    int rc;

    if ((rc = strata_store_begin(st, err)) != 0)
        return rc;
    /* Another process may have migrated while we waited for the lock. */
    if ((rc = strata_store__schema_version(&version, st, err)) != 0)
        goto out;
    if (version >= m->version)
        goto out;
    if ((rc = strata_store__exec(st, m->sql, "migrating", err)) != 0) {
        strata_error_wrap(err, "schema version %d", m->version);
        goto out;
    }
    /*
     * PRAGMA takes no bound parameters; the value is a constant from the
     * table above, never input.
     */
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", m->version);
    if ((rc = strata_store__exec(st, pragma, "migrating", err)) != 0)
        goto out;
out:
    if (rc != 0) {
        strata_store_rollback(st);
        return rc;
    }
    if ((rc = strata_store_commit(st, err)) != 0) {
        strata_store_rollback(st);
        return rc;
    }
    /* Creating a new database is routine; upgrading one is news. */
    if (from == 0)
        log_debug("database '%s': created at schema version %d", st->path,
                  m->version);
    else if (version < m->version)
        log_info("database '%s': migrated from schema version %d to %d",
                 st->path, version, m->version);
    return 0;
}

int
strata_store__check_foreign(strata_store *st, strata_error *err)
{
    int ntables = 0;
    int rc;

    if ((rc = query_int(&ntables, st, "SELECT count(*) FROM sqlite_master",
                        "reading the schema", err)) != 0)
        return rc;
    if (ntables > 0)
        return strata_error_set(err, STRATA_ESTATE,
                                "database '%s' is not a strata database (it "
                                "has tables but no schema version)",
                                st->path);
    return 0;
}

int
strata_store__migrate(strata_store *st, int from, strata_error *err)
{
    size_t i;
    int ntables = 0;
    int rc;

    for (i = 0; i < NMIGRATIONS; i++) {
        if (migrations[i].version <= from)
            continue;
        if ((rc = apply(st, &migrations[i], from, err)) != 0)
            return rc;
    }
    /* Reading the whole schema also catches a damaged sqlite_master. */
    if ((rc = query_int(&ntables, st, check_tables_sql, "reading the schema",
                        err)) != 0)
        return rc;
    if (ntables != NTABLES)
        return strata_error_set(err, STRATA_ESTATE,
                                "database '%s' is damaged: schema version %d "
                                "but %d of its %d tables",
                                st->path, STRATA_STORE_SCHEMA_VERSION, ntables,
                                NTABLES);
    return 0;
}
