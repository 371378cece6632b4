/*
 * test-store-check.c - the store's health: every statement it runs has a
 * query plan that reads no whole table it need not (checked on the very
 * SQL the store runs, through strata_store_explain), a claim costs the
 * same with 200 or 5,000 jobs queued, damaged pages of a real database
 * file are all found and such a file is never written to, the online
 * backup is a sound, consistent copy while another process writes, and a
 * read-only open never writes.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "harness.h"
#include "store.h"

typedef struct tmpdir {
    char dir[64];
    char db[128];
} tmpdir;

static void
tmp_make(tmpdir *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/strata-test-store-check-XXXXXX");
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

static strata_store *
open_store(const char *path)
{
    strata_error err = {0};
    strata_store *st = NULL;

    CHECK_OK(strata_store_open(&st, path, &err), &err);
    return st;
}

static long long
raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    long long v;

    CHECK_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CHECK_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    CHECK_EQ(sqlite3_step(stmt), SQLITE_ROW);
    v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}

static char *
raw_text(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    char *v;

    CHECK_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CHECK_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    CHECK_EQ(sqlite3_step(stmt), SQLITE_ROW);
    v = strdup((const char *) sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}

/* The whole file, as an FNV-1a hash: did anything write to it? */
static uint64_t
file_hash(const char *path)
{
    uint64_t h = 1469598103934665603ULL;
    unsigned char buf[8192];
    size_t n, i;
    FILE *f = fopen(path, "rb");

    CHECK(f != NULL);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        for (i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ULL;
    fclose(f);
    return h;
}

static void
copy_file(const char *from, const char *to)
{
    char buf[8192];
    size_t n;
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");

    CHECK(in != NULL && out != NULL);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        CHECK_EQ(fwrite(buf, 1, n, out), n);
    fclose(in);
    CHECK_EQ(fclose(out), 0);
}

/* Removes path's -wal and -shm, so a copy starts from the file alone. */
static void
remove_sidecars(const char *path)
{
    char p[256];

    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

/* ---- a store with something in every table ------------------------------ */

static void
enqueue(strata_store *st, const char *image, const char *action,
        const char *digest, int wave)
{
    strata_error err = {0};
    strata_store_job_spec spec = {0};
    int64_t id;

    spec.image = image;
    spec.action = action;
    spec.base_ref = "docker.io/library/debian:12";
    spec.base_digest = digest;
    spec.wave = wave;
    CHECK_OK(strata_store_job_enqueue(&id, NULL, st, &spec, &err), &err);
}

/*
 * n jobs for one base digest in three waves: per image a pin and a
 * notify, and a rebuild for one image in five. from: the first image's
 * number, so a second call adds more.
 */
static void
fill_jobs(strata_store *st, int from, int n, const char *digest)
{
    strata_error err = {0};
    char image[64];
    int i, made = 0;

    CHECK_OK(strata_store_begin(st, &err), &err);
    for (i = from; made < n; i++) {
        snprintf(image, sizeof(image), "registry.example.com/app/a%d:1", i);
        enqueue(st, image, "notify", digest, i % 3);
        if (++made < n)
            enqueue(st, image, "pr", digest, i % 3), made++;
        if (i % 5 == 0 && made < n)
            enqueue(st, image, "rebuild", digest, i % 3), made++;
    }
    CHECK_OK(strata_store_commit(st, &err), &err);
}

/* Rows in every table, with some values long enough to overflow a page. */
static void
fill_everything(strata_store *st, int scale)
{
    strata_error err = {0};
    strata_store_observation obs = {0};
    strata_store_outbox_spec ob = {0};
    strata_store_edge e = {0};
    char ref[96], digest[96], key[64], *big;
    json_t *payload;
    int64_t ids[2], id;
    int i;

    big = calloc(1, 9000);
    memset(big, 'x', 8999);
    fill_jobs(st, 0, scale, "sha256:d1");
    CHECK_OK(strata_store_begin(st, &err), &err);
    for (i = 0; i < scale; i++) {
        payload = json_pack("{s:i, s:s}", "n", i, "pad",
                            i % 100 == 0 ? big : "a little padding");
        CHECK_OK(strata_store_event_append(NULL, st, "base.updated",
                                           "docker.io/library/debian:12",
                                           payload, 0, &err),
                 &err);
        if (i % 3 == 0) {
            snprintf(key, sizeof(key), "delivery-%d", i);
            ob.delivery = key;
            ob.sink = i % 2 ? "hook" : "mail";
            ob.event_type = "base.updated";
            ob.payload = payload;
            CHECK_OK(strata_store_outbox_add(&id, NULL, st, &ob, &err), &err);
        }
        json_decref(payload);
    }
    for (i = 0; i < scale / 4; i++) {
        snprintf(ref, sizeof(ref), "registry.example.com/app/a%d:1", i);
        CHECK_OK(strata_store_graph_upsert_node(
                     &ids[0], st, STRATA_STORE_NODE_IMAGE, ref, NULL,
                     "https://git/app.git", "Dockerfile", &err),
                 &err);
        snprintf(ref, sizeof(ref), "registry.example.com/base/b%d:1", i / 10);
        CHECK_OK(strata_store_graph_upsert_node(&ids[1], st,
                                                STRATA_STORE_NODE_BASE, ref,
                                                NULL, NULL, NULL, &err),
                 &err);
        e.child = ids[0];
        e.parent = ids[1];
        e.method =
            i % 2 ? STRATA_STORE_EDGE_DOCKERFILE : STRATA_STORE_EDGE_ANNOTATION;
        e.repo = "https://git/app.git";
        e.path = "Dockerfile";
        e.line = 1;
        e.confidence = 1;
        CHECK_OK(strata_store_graph_add_edge(st, &e, &err), &err);
    }
    for (i = 0; i < scale / 10; i++) {
        snprintf(ref, sizeof(ref), "docker.io/library/base%d:1", i);
        snprintf(digest, sizeof(digest), "sha256:%064d", i);
        CHECK_OK(strata_store_watch_add(NULL, st, ref, NULL, &err), &err);
        obs.ref = ref;
        obs.digest = digest;
        CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
    }
    CHECK_OK(strata_store_meta_set(st, "big", big, &err), &err);
    CHECK_OK(strata_store_commit(st, &err), &err);
    free(big);
}

/* ---- query plans ----------------------------------------------------------
 */

typedef struct plan_row {
    char *name, *sql, *plan;
    int64_t steps, fullscan_steps;
} plan_row;

typedef struct plans {
    plan_row rows[128];
    int n;
} plans;

static int
collect(const strata_store_statement *s, void *arg)
{
    plans *p = arg;
    plan_row *r;

    CHECK(p->n < 128);
    r = &p->rows[p->n++];
    r->name = strdup(s->name);
    r->sql = s->sql != NULL ? strdup(s->sql) : NULL;
    r->plan = s->plan != NULL ? strdup(s->plan) : NULL;
    r->steps = s->steps;
    r->fullscan_steps = s->fullscan_steps;
    return 0;
}

static void
plans_release(plans *p)
{
    int i;

    for (i = 0; i < p->n; i++) {
        free(p->rows[i].name);
        free(p->rows[i].sql);
        free(p->rows[i].plan);
    }
    p->n = 0;
}

static void
explain(plans *p, strata_store *st)
{
    strata_error err = {0};

    plans_release(p);
    CHECK_OK(strata_store_explain(st, collect, p, &err), &err);
}

static plan_row *
plan_of(plans *p, const char *name)
{
    int i;

    for (i = 0; i < p->n; i++)
        if (strcmp(p->rows[i].name, name) == 0)
            return &p->rows[i];
    printf("# no statement named '%s'\n", name);
    CHECK(0);
    return NULL;
}

static int
count_edge(const strata_store_edge *e, void *arg)
{
    (void) e;
    ++*(int *) arg;
    return 0;
}

static int
count_node(const strata_store_node *n, void *arg)
{
    (void) n;
    ++*(int *) arg;
    return 0;
}

static int
count_watch(const strata_store_watch *w, void *arg)
{
    (void) w;
    ++*(int *) arg;
    return 0;
}

static int
count_base(int64_t id, const char *ref, const char *digest, void *arg)
{
    (void) id;
    (void) ref;
    (void) digest;
    ++*(int *) arg;
    return 0;
}

/* Runs every statement the store has, at least once. */
static void
exercise(strata_store *st)
{
    strata_error err = {0};
    strata_store_observation obs = {0};
    strata_store_watch_state ws = {0};
    strata_store_job_filter f = {0};
    strata_store_outbox_spec ob = {0};
    strata_store_event_spec ev = {0};
    strata_store_outbox_msg **msgs = NULL, *msg = NULL;
    strata_store_job *job = NULL;
    strata_store_edge e = {0};
    int64_t counts[8], id, id2, n64;
    json_t *list = NULL, *payload = json_pack("{s:s}", "k", "v");
    char *s = NULL;
    size_t nmsgs, nn, ne;
    int n = 0, yes = 0, created = 0;

    CHECK_OK(strata_store_meta_set(st, "k", "v", &err), &err);
    CHECK_OK(strata_store_meta_get(&s, st, "k", &err), &err);
    free(s);
    /* Watches. */
    CHECK_OK(
        strata_store_watch_add(NULL, st, "docker.io/library/x:1", NULL, &err),
        &err);
    CHECK_OK(strata_store_watch_add(&created, st, "docker.io/library/y:1", NULL,
                                    &err),
             &err);
    CHECK_OK(strata_store_watch_remove(st, "docker.io/library/y:1", &err),
             &err);
    CHECK_OK(strata_store_watch_list(&list, st, &err), &err);
    json_decref(list);
    CHECK_OK(strata_store_watch_each(st, count_watch, &n, &err), &err);
    obs.ref = "docker.io/library/x:1";
    obs.digest = "sha256:01";
    CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
    CHECK_OK(strata_store_begin(st, &err), &err);
    CHECK_OK(strata_store_watch_seen(&created, st, &obs, &err), &err);
    CHECK_OK(strata_store_commit(st, &err), &err);
    CHECK_OK(
        strata_store_digest_platforms(&list, st, obs.ref, obs.digest, &err),
        &err);
    json_decref(list);
    CHECK_OK(strata_store_watch_error(&n64, st, obs.ref, "boom", 0, &err),
             &err);
    CHECK_OK(strata_store_watch_state_get(&ws, st, obs.ref, &err), &err);
    strata_store_watch_state_release(&ws);
    CHECK_OK(strata_store_watch_states(&list, st, &err), &err);
    json_decref(list);
    CHECK_OK(strata_store_digests_list(&list, st, obs.ref, &err), &err);
    json_decref(list);
    /* Events. */
    ev.key = "job 1 base.updated";
    ev.type = "base.updated";
    ev.payload = payload;
    CHECK_OK(strata_store_event_add(&id, NULL, st, &ev, &err), &err);
    CHECK_OK(strata_store_event_list(&list, st, 0, 10, NULL, &err), &err);
    {
        int64_t last = 0;
        CHECK_OK(strata_store_event_last_id(&last, st, &err), &err);
        CHECK(last > 0);
    }
    json_decref(list);
    CHECK_OK(strata_store_event_list(&list, st, 0, 10, "base.updated", &err),
             &err);
    json_decref(list);
    /* Jobs. */
    enqueue(st, "r/app", "rebuild", "sha256:e1", 0);
    enqueue(st, "r/app", "rescan", "sha256:e1", 0);
    enqueue(st, "r/app", "pr", "sha256:e2", 0);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK(job != NULL);
    id = job->id;
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_get(&job, st, id, &err), &err);
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_retry(NULL, st, id, "later", 0, &err), &err);
    CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
    CHECK_OK(strata_store_job_finish(st, job->id, STRATA_STORE_JOB_SUCCEEDED,
                                     NULL, NULL, &err),
             &err);
    strata_store_job_free(job);
    CHECK_OK(strata_store_job_cancel_superseded(&n, st, id, &err), &err);
    f.image = "r/none";
    CHECK_OK(strata_store_job_cancel(&n, st, &f, "test", &err), &err);
    CHECK_OK(strata_store_job_requeue_running(&n, st, &err), &err);
    CHECK(strata_store_job_release(st, id, &err) != 0); /* not running */
    strata_error_clear(&err);
    CHECK(strata_store_job_defer(st, id, 0, "w", &err) != 0);
    strata_error_clear(&err);
    {
        int64_t t = 0;
        int running = 0;

        CHECK_OK(strata_store_job_pr_opened(&t, st, 0, 2, &err), &err);
        CHECK_OK(strata_store_job_pr_running(&running, st, id, &err), &err);
    }
    CHECK_OK(strata_store_job_count(counts, st, &err), &err);
    {
        int64_t last = 0;
        CHECK_OK(strata_store_job_last_id(&last, st, &err), &err);
        CHECK(last > 0);
    }
    CHECK_OK(strata_store_job_list(&list, st, 0, 10, -1, &err), &err);
    json_decref(list);
    CHECK_OK(
        strata_store_job_list(&list, st, 0, 10, STRATA_STORE_JOB_QUEUED, &err),
        &err);
    json_decref(list);
    CHECK_OK(strata_store_job_list_image(&list, st, "r/app", "pr", &err), &err);
    json_decref(list);
    CHECK_OK(
        strata_store_job_each_base(st, "pr", "r/app", 0, count_base, &n, &err),
        &err);
    CHECK_OK(
        strata_store_job_each_base(st, "pr", "r/", 1, count_base, &n, &err),
        &err);
    CHECK_OK(strata_store_job_producing(&yes, st, "r/app", &err), &err);
    /* The graph. */
    CHECK_OK(strata_store_graph_upsert_node(
                 &e.child, st, STRATA_STORE_NODE_IMAGE, "r/app", NULL,
                 "https://git/a.git", "Dockerfile", &err),
             &err);
    CHECK_OK(strata_store_graph_upsert_node(&e.parent, st,
                                            STRATA_STORE_NODE_BASE, "r/base",
                                            NULL, NULL, NULL, &err),
             &err);
    CHECK_OK(strata_store_graph_node_id(&id2, st, "r/app", &err), &err);
    e.method = STRATA_STORE_EDGE_ANNOTATION;
    e.confidence = 1;
    CHECK_OK(strata_store_graph_add_edge(st, &e, &err), &err);
    e.method = STRATA_STORE_EDGE_DOCKERFILE;
    CHECK_OK(strata_store_graph_replace_edges(st, "https://git/a.git",
                                              "Dockerfile", &e, 1, &err),
             &err);
    CHECK_OK(strata_store_graph_registry_edges(st, count_edge, &n, &err), &err);
    CHECK_OK(strata_store_graph_generation(&n64, st, &err), &err);
    CHECK_OK(strata_store_graph_count(st, &nn, &ne, &err), &err);
    CHECK_OK(strata_store_graph_load(st, count_node, count_edge, &n, &err),
             &err);
    /* The outbox. */
    ob.delivery = "d-1";
    ob.sink = "hook";
    ob.event_type = "base.updated";
    ob.payload = payload;
    CHECK_OK(strata_store_outbox_add(&id, NULL, st, &ob, &err), &err);
    CHECK_OK(strata_store_outbox_get(&msg, st, id, &err), &err);
    strata_store_outbox_msg_free(msg);
    CHECK_OK(
        strata_store_outbox_claim(&msgs, &nmsgs, st, "hook", 10, "a1", &err),
        &err);
    CHECK_EQ(nmsgs, 1);
    CHECK_OK(strata_store_outbox_fail(NULL, st, id, "a1", "no", 0, 1, &err),
             &err);
    strata_store_outbox_msgs_free(msgs, nmsgs);
    CHECK_OK(strata_store_outbox_requeue(st, id, &err), &err);
    CHECK_OK(
        strata_store_outbox_claim(&msgs, &nmsgs, st, "hook", 10, "a2", &err),
        &err);
    CHECK_OK(strata_store_outbox_sent(st, id, "a2", &err), &err);
    strata_store_outbox_msgs_free(msgs, nmsgs);
    CHECK_OK(strata_store_outbox_recover(&n, st, &err), &err);
    CHECK_OK(strata_store_outbox_next_due(&n64, st, "hook", &err), &err);
    CHECK_OK(strata_store_outbox_count(counts, st, NULL, &err), &err);
    CHECK_OK(strata_store_outbox_count(counts, st, "hook", &err), &err);
    CHECK_OK(strata_store_outbox_list(&list, st, 0, 10, -1, &err), &err);
    json_decref(list);
    CHECK_OK(strata_store_outbox_list(&list, st, 0, 10,
                                      STRATA_STORE_OUTBOX_SENT, &err),
             &err);
    json_decref(list);
    /* Rollouts. */
    {
        const char *imgs[] = {"r/app", "r/lib"};
        const int stages[] = {0, 1};
        json_t *pol = json_object(), *sl = json_array();

        CHECK_OK(strata_store_rollout_create(&id, st, "docker.io/library/x:1",
                                             "sha256:01", pol, sl, imgs, stages,
                                             2, &err),
                 &err);
        CHECK_OK(strata_store_rollout_get(&list, st, 0, "docker.io/library/x:1",
                                          "sha256:01", &err),
                 &err);
        json_decref(list);
        CHECK_OK(strata_store_rollout_image_stage(&n, st, id, "r/lib", &err),
                 &err);
        CHECK_OK(strata_store_rollout_counts(&n, &created, &yes, st, id,
                                             "sha256:01", 0, &err),
                 &err);
        json_decref(pol);
        json_decref(sl);
    }
    json_decref(payload);
}

/* A step that reads a whole table: "SCAN t" with no index. */
static int
full_scan(const char *plan, char *table, size_t size)
{
    const char *line = plan;

    while (line != NULL && *line != '\0') {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t) (end - line) : strlen(line);
        const char *p = line;

        while (*p == ' ')
            p++;
        if (strncmp(p, "SCAN ", 5) == 0 &&
            strncmp(p, "SCAN CONSTANT ROW", 17) != 0) {
            const char *using = strstr(p, " USING ");

            if (using == NULL || using > line + len) {
                snprintf(table, size, "%.*s", (int) (len - (p - line)), p);
                return 1;
            }
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

TEST(every_statement_uses_an_index)
{
    /*
     * Statements that read a whole table by design: they list it all, or
     * the table has one row.
     */
    static const char *const whole[] = {
        "watch_list", "state_list",       "node_list",
        "edge_list",  "graph_generation",
    };
    /* The hot ones, and the index each must use. */
    static const struct {
        const char *name, *index;
    } want[] = {
        {"job_claim", "jobs_queue"},
        {"job_claim", "jobs_blocking"},
        {"job_claim", "jobs_building"},
        {"job_find_key", "sqlite_autoindex_jobs_1"},
        {"job_list_state", "jobs_state"},
        {"job_list_image", "jobs_image"},
        {"job_bases", "jobs_image"},
        {"job_bases_prefix", "jobs_image"},
        {"job_cancel_superseded", "jobs_image"},
        {"job_requeue", "jobs_state"},
        {"job_pr_opened", "jobs_pr_done"},
        {"job_pr_running", "jobs_state"},
        {"job_count", "jobs_state"},
        {"job_producing", "jobs_"},
        {"event_find_key", "events_key"},
        {"event_list_type", "events_type"},
        {"outbox_claim", "outbox_pending"},
        {"outbox_next_due", "outbox_due"},
        {"outbox_recover", "outbox_state"},
        {"outbox_list_state", "outbox_state"},
        {"outbox_count_sink", "outbox_due"},
        {"outbox_find", "sqlite_autoindex_outbox_1"},
        {"registry_edges", "graph_edges_registry"},
        {"edge_delete_source", "graph_edges_source"},
        {"rollout_find", "sqlite_autoindex_rollouts_1"},
        {"rollout_counts", "jobs_image"},
    };
    /* Statements run once per job or message: no sort of the queue. */
    static const char *const no_sort[] = {"job_claim", "outbox_claim",
                                          "job_list_state", "event_list_type",
                                          "outbox_list_state"};
    tmpdir t;
    plans p = {0};
    char table[256];
    size_t i, k;
    int bad = 0;

    tmp_make(&t);
    {
        strata_store *st = open_store(t.db);

        exercise(st);
        explain(&p, st);
        strata_store_close(st);
    }
    CHECK(p.n > 50);
    for (i = 0; i < (size_t) p.n; i++) {
        plan_row *r = &p.rows[i];
        int allowed = 0;

        if (r->sql == NULL) {
            printf("# statement '%s' never ran in this test\n", r->name);
            bad = 1;
            continue;
        }
        for (k = 0; k < sizeof(whole) / sizeof(whole[0]); k++)
            allowed |= strcmp(r->name, whole[k]) == 0;
        if (!allowed && full_scan(r->plan, table, sizeof(table))) {
            printf("# %s: %s\n#   %s\n", r->name, table, r->sql);
            bad = 1;
        }
    }
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        plan_row *r = plan_of(&p, want[i].name);

        if (r->plan == NULL || strstr(r->plan, want[i].index) == NULL) {
            printf("# %s does not use %s:\n%s\n", want[i].name, want[i].index,
                   r->plan ? r->plan : "(not run)");
            bad = 1;
        }
    }
    for (i = 0; i < sizeof(no_sort) / sizeof(no_sort[0]); i++) {
        plan_row *r = plan_of(&p, no_sort[i]);

        if (r->plan != NULL && strstr(r->plan, "TEMP B-TREE") != NULL) {
            printf("# %s sorts:\n%s\n", no_sort[i], r->plan);
            bad = 1;
        }
    }
    printf("# job_claim:\n");
    {
        const char *line = plan_of(&p, "job_claim")->plan;

        while (line != NULL && *line != '\0') {
            const char *end = strchr(line, '\n');

            printf("#   %.*s\n", (int) (end ? end - line : (long) strlen(line)),
                   line);
            line = end ? end + 1 : NULL;
        }
    }
    printf("# %d statements explained\n", p.n);
    CHECK_EQ(bad, 0);
    plans_release(&p);
    tmp_remove(&t);
}

/* The mean VM steps of claim (and finish) over k claims, after a reset. */
static double
claim_steps(strata_store *st, int k, int64_t *fullscans)
{
    strata_error err = {0};
    strata_store_job *job = NULL;
    plans p = {0};
    plan_row *r;
    double steps;
    int i;

    explain(&p, st);
    for (i = 0; i < k; i++) {
        CHECK_OK(strata_store_job_claim(&job, st, &err), &err);
        CHECK(job != NULL);
        CHECK_OK(strata_store_job_finish(
                     st, job->id, STRATA_STORE_JOB_SUCCEEDED, NULL, NULL, &err),
                 &err);
        strata_store_job_free(job);
    }
    explain(&p, st);
    r = plan_of(&p, "job_claim");
    steps = (double) r->steps / k;
    *fullscans = r->fullscan_steps;
    plans_release(&p);
    return steps;
}

TEST(claim_cost_does_not_grow_with_the_queue)
{
    tmpdir t;
    strata_store *st;
    double small, large;
    int64_t scans_small = 0, scans_large = 0;

    tmp_make(&t);
    st = open_store(t.db);
    fill_jobs(st, 0, 200, "sha256:d1");
    small = claim_steps(st, 20, &scans_small);
    fill_jobs(st, 1000, 5000, "sha256:d1");
    large = claim_steps(st, 20, &scans_large);
    printf("# one claim: %.0f VM steps with 200 queued, %.0f with 5,000\n",
           small, large);
    CHECK_EQ(scans_small, 0);
    CHECK_EQ(scans_large, 0);
    /* Before the indexes of migration 5 this grew with the square. */
    CHECK(large < 2 * small + 100);
    strata_store_close(st);
    tmp_remove(&t);
}

/* ---- damaged pages ---------------------------------------------------------
 */

static uint64_t
xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Writes len random bytes at offset of path. */
static void
garble(const char *path, long offset, size_t len, uint64_t *seed)
{
    unsigned char *buf = malloc(len);
    size_t i;
    int fd = open(path, O_WRONLY);

    CHECK(fd >= 0);
    for (i = 0; i < len; i++)
        buf[i] = (unsigned char) xorshift(seed);
    CHECK_EQ(pwrite(fd, buf, len, offset), (long) len);
    close(fd);
    free(buf);
}

TEST(damaged_pages_are_all_reported)
{
    enum {
        TRIES = 24
    };
    tmpdir t;
    strata_error err = {0};
    strata_store_options opts = {0};
    strata_store *st = NULL;
    json_t *problems = NULL;
    char pristine[160];
    long page_size, pages;
    uint64_t seed = 0x5eed5eed5eedULL, before;
    int i, refused = 0, reported = 0, untouched = 0;

    tmp_make(&t);
    snprintf(pristine, sizeof(pristine), "%s/pristine.db", t.dir);
    st = open_store(pristine);
    fill_everything(st, 3000);
    strata_store_close(st);
    /* The last close checkpointed the WAL: the file holds everything. */
    page_size = (long) raw_int(pristine, "PRAGMA page_size");
    pages = (long) raw_int(pristine, "PRAGMA page_count");
    /* No free page: every page belongs to a table or an index. */
    CHECK_EQ(raw_int(pristine, "PRAGMA freelist_count"), 0);
    printf("# %ld pages of %ld bytes\n", pages, page_size);
    CHECK(pages > 4 * TRIES);

    for (i = 0; i < TRIES; i++) {
        /* Page 1 past the 100-byte header, then pages spread to the end. */
        long page = 1 + (long) i * (pages - 1) / (TRIES - 1);
        long offset = (page - 1) * page_size + (page == 1 ? 100 : 0);

        remove_sidecars(t.db);
        copy_file(pristine, t.db);
        garble(t.db, offset, (size_t) (page * page_size - offset), &seed);
        before = file_hash(t.db);

        /* A checked open refuses the file, and writes nothing to it. */
        opts.check = STRATA_STORE_CHECK_QUICK;
        opts.readonly = 0;
        st = NULL;
        memset(&err, 0, sizeof(err));
        if (strata_store_open_with(&st, t.db, &opts, &err) == STRATA_ESTATE &&
            st == NULL && strstr(err.msg, t.db) != NULL)
            refused++;
        else
            printf("# page %ld: not refused: %s\n", page, err.msg);
        strata_store_close(st);
        if (file_hash(t.db) == before)
            untouched++;
        else
            printf("# page %ld: the file was written to\n", page);

        /* strata check-state: a read-only open and integrity_check. */
        opts.check = STRATA_STORE_CHECK_NONE;
        opts.readonly = 1;
        st = NULL;
        problems = NULL;
        if (strata_store_open_with(&st, t.db, &opts, &err) == STRATA_ESTATE) {
            /* The header page or the schema is unreadable. */
            reported++;
            printf("# page %ld: open: %s\n", page, err.msg);
        } else if (st != NULL &&
                   strata_store_check(&problems, st, STRATA_STORE_CHECK_FULL,
                                      &err) == STRATA_ESTATE &&
                   json_array_size(problems) > 0) {
            reported++;
            printf("# page %ld: %zu problem(s), the first: %s\n", page,
                   json_array_size(problems),
                   json_string_value(json_array_get(problems, 0)));
        } else {
            printf("# page %ld: not reported\n", page);
        }
        json_decref(problems);
        strata_store_close(st);
        CHECK_EQ(file_hash(t.db), before);
    }
    printf("# damaged pages: %d tried, %d refused by a checked open, %d "
           "reported by integrity_check, %d left untouched\n",
           TRIES, refused, reported, untouched);
    CHECK_EQ(refused, TRIES);
    CHECK_EQ(reported, TRIES);
    CHECK_EQ(untouched, TRIES);
    tmp_remove(&t);
}

TEST(damage_found_by_a_statement_stops_writes)
{
    tmpdir t;
    strata_error err = {0};
    strata_store *st;
    json_t *list = NULL;
    long page_size, root;
    uint64_t seed = 42, before;
    int rc;

    tmp_make(&t);
    st = open_store(t.db);
    fill_everything(st, 2000);
    strata_store_close(st);
    page_size = (long) raw_int(t.db, "PRAGMA page_size");
    root = (long) raw_int(t.db, "SELECT rootpage FROM sqlite_master WHERE "
                                "name = 'jobs'");
    remove_sidecars(t.db);
    garble(t.db, (root - 1) * page_size, (size_t) page_size, &seed);
    before = file_hash(t.db);

    /* Opened unchecked, the damage shows when the jobs are read. */
    st = open_store(t.db);
    rc = strata_store_job_list(&list, st, 0, 0, -1, &err);
    printf("# %s\n", err.msg);
    CHECK_EQ(rc, STRATA_ESTATE);
    CHECK_CONTAINS(err.msg, t.db);
    /* From then on this connection writes nothing. */
    rc = strata_store_meta_set(st, "k", "v", &err);
    printf("# %s\n", err.msg);
    CHECK_EQ(rc, STRATA_EIO);
    CHECK_CONTAINS(err.msg, "damaged");
    CHECK_EQ(strata_store_event_append(NULL, st, "x", NULL, NULL, 0, &err),
             STRATA_EIO);
    strata_store_close(st);
    CHECK_EQ(file_hash(t.db), before);
    tmp_remove(&t);
}

/* ---- backup
 * ------------------------------------------------------------------ */

static long long
count_jobs(const char *path)
{
    return raw_int(path, "SELECT count(*) FROM jobs");
}

/* Enqueues jobs into path from another process until stop exists. */
static pid_t
start_writer(const char *path, const char *stop)
{
    pid_t pid = fork();

    CHECK(pid >= 0);
    if (pid == 0) {
        strata_error err = {0};
        strata_store *st = NULL;
        char image[64];
        int i;

        if (strata_store_open(&st, path, &err) != 0)
            _exit(1);
        for (i = 0; access(stop, F_OK) != 0; i++) {
            snprintf(image, sizeof(image), "r/writer%d", i);
            enqueue(st, image, "pr", "sha256:w", 0);
        }
        strata_store_close(st);
        _exit(0);
    }
    return pid;
}

TEST(backup_is_a_sound_snapshot)
{
    tmpdir t;
    strata_error err = {0};
    strata_store_options opts = {0};
    strata_store *st, *other, *copy = NULL;
    char path[160], stop[160], *mode;
    json_t *problems = NULL;
    pid_t pid;
    int status, i;

    tmp_make(&t);
    snprintf(path, sizeof(path), "%s/backup.db", t.dir);
    snprintf(stop, sizeof(stop), "%s/stop", t.dir);
    st = open_store(t.db);
    fill_jobs(st, 0, 1000, "sha256:d1");

    /* Another connection's open write transaction is not in the copy. */
    other = open_store(t.db);
    CHECK_OK(strata_store_begin(other, &err), &err);
    enqueue(other, "r/uncommitted", "pr", "sha256:d1", 0);
    CHECK_OK(strata_store_backup(st, path, &err), &err);
    CHECK_OK(strata_store_commit(other, &err), &err);
    strata_store_close(other);
    CHECK_EQ(count_jobs(path), 1000);
    mode = raw_text(path, "PRAGMA journal_mode");
    CHECK_STR_EQ(mode, "delete");
    free(mode);
    opts.check = STRATA_STORE_CHECK_FULL;
    CHECK_OK(strata_store_open_with(&copy, path, &opts, &err), &err);
    strata_store_close(copy);

    /* Again, over the old copy, while another process writes. */
    pid = start_writer(t.db, stop);
    usleep(100 * 1000);
    for (i = 0; i < 5; i++) {
        CHECK_OK(strata_store_backup(st, path, &err), &err);
        copy = NULL;
        CHECK_OK(strata_store_open_with(&copy, path, &opts, &err), &err);
        CHECK_OK(
            strata_store_check(&problems, copy, STRATA_STORE_CHECK_FULL, &err),
            &err);
        CHECK_EQ(json_array_size(problems), 0);
        json_decref(problems);
        strata_store_close(copy);
        CHECK(count_jobs(path) >= 1001);
    }
    close(open(stop, O_CREAT | O_WRONLY, 0600));
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("# the writer had %lld jobs, the last copy %lld\n", count_jobs(t.db),
           count_jobs(path));
    CHECK(count_jobs(t.db) > 1001);

    /* Refusals: onto itself, into a missing directory. */
    CHECK_EQ(strata_store_backup(st, t.db, &err), STRATA_EINVAL);
    snprintf(path, sizeof(path), "%s/missing/backup.db", t.dir);
    CHECK_EQ(strata_store_backup(st, path, &err), STRATA_EIO);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, "missing/backup.db");
    strata_store_close(st);
    tmp_remove(&t);
}

TEST(backup_of_a_damaged_database_fails)
{
    tmpdir t;
    strata_error err = {0};
    strata_store_options opts = {0};
    strata_store *st = NULL;
    char path[160];
    long page_size, pages;
    uint64_t seed = 7;
    int rc;

    tmp_make(&t);
    snprintf(path, sizeof(path), "%s/backup.db", t.dir);
    st = open_store(t.db);
    fill_everything(st, 1000);
    strata_store_close(st);
    page_size = (long) raw_int(t.db, "PRAGMA page_size");
    pages = (long) raw_int(t.db, "PRAGMA page_count");
    remove_sidecars(t.db);
    garble(t.db, (pages / 2) * page_size, (size_t) page_size, &seed);
    opts.readonly = 1;
    CHECK_OK(strata_store_open_with(&st, t.db, &opts, &err), &err);
    rc = strata_store_backup(st, path, &err);
    printf("# %s\n", err.msg);
    CHECK_EQ(rc, STRATA_ESTATE);
    CHECK(access(path, F_OK) != 0);
    strata_store_close(st);
    tmp_remove(&t);
}

/* ---- read-only opens ---------------------------------------------------- */

TEST(readonly_open_never_writes)
{
    tmpdir t;
    strata_error err = {0};
    strata_store_options opts = {0};
    strata_store *st = NULL;
    strata_store_check_mode mode;
    json_t *list = NULL;
    uint64_t before;
    char path[160];

    tmp_make(&t);
    st = open_store(t.db);
    fill_jobs(st, 0, 100, "sha256:d1");
    strata_store_close(st);
    remove_sidecars(t.db);
    before = file_hash(t.db);

    opts.readonly = 1;
    opts.check = STRATA_STORE_CHECK_FULL;
    CHECK_OK(strata_store_open_with(&st, t.db, &opts, &err), &err);
    CHECK_OK(strata_store_job_list(&list, st, 0, 0, -1, &err), &err);
    CHECK_EQ(json_array_size(list), 100);
    json_decref(list);
    CHECK_EQ(strata_store_meta_set(st, "k", "v", &err), STRATA_EIO);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, "read-only");
    strata_store_close(st);
    CHECK_EQ(file_hash(t.db), before);

    /* Never creates a file, never migrates. */
    snprintf(path, sizeof(path), "%s/new.db", t.dir);
    st = NULL;
    CHECK_EQ(strata_store_open_with(&st, path, &opts, &err), STRATA_EIO);
    CHECK(access(path, F_OK) != 0);
    {
        sqlite3 *db = NULL;

        CHECK_EQ(sqlite3_open(path, &db), SQLITE_OK);
        CHECK_EQ(sqlite3_exec(db,
                              "CREATE TABLE meta (k); PRAGMA user_version = 4",
                              NULL, NULL, NULL),
                 SQLITE_OK);
        sqlite3_close(db);
    }
    CHECK_EQ(strata_store_open_with(&st, path, &opts, &err), STRATA_ESTATE);
    printf("# %s\n", err.msg);
    CHECK_CONTAINS(err.msg, "schema version 4");

    CHECK_OK(strata_store_check_mode_parse(&mode, "quick"), &err);
    CHECK_EQ(mode, STRATA_STORE_CHECK_QUICK);
    CHECK_OK(strata_store_check_mode_parse(&mode, "off"), &err);
    CHECK_EQ(mode, STRATA_STORE_CHECK_NONE);
    CHECK_EQ(strata_store_check_mode_parse(&mode, "fast"), STRATA_EINVAL);
    tmp_remove(&t);
}

int
main(void)
{
    RUN(every_statement_uses_an_index);
    RUN(claim_cost_does_not_grow_with_the_queue);
    RUN(damaged_pages_are_all_reported);
    RUN(damage_found_by_a_statement_stops_writes);
    RUN(backup_is_a_sound_snapshot);
    RUN(backup_of_a_damaged_database_fails);
    RUN(readonly_open_never_writes);
    return harness_done();
}
