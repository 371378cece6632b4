/*
 * test-runner.c - the job runner at fleet scale: thousands of jobs whose
 * actions finish inside their own start() (notify always does; a start
 * that fails does too) run to the end without the stack growing, on a
 * thread with a 256 KiB stack, while the HTTP API on the same loop keeps
 * answering /healthz within its deadline. Before the runner settled
 * outcomes from the loop, each such job added a fill -> step -> start ->
 * done -> step frame, and six thousand of them overflowed an 8 MiB stack.
 *
 * STRATA_TEST_RUNNER_JOBS overrides the number of jobs (default 20,000).
 */
#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "api.h"
#include "harness.h"
#include "jobs.h"

#define DIGEST                                                                 \
    "sha256:4444444444444444444444444444444444444444444444444444444444444444"

typedef struct fixture {
    uv_loop_t loop;
    strata_store *store;
    strata_config *config;
    strata_runner_env env;
    strata_runner *runner;
    strata_api *api;
    int port;
    int njobs;
    int drained;
    atomic_int stop_client;
    atomic_int api_closing; /* set before the drain closes the API */
    /* Filled by the client thread. */
    int probes, answered, late;
    double worst_ms;
} fixture;

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
    (void) p;
    (void) arg;
    return size * n;
}

/* Polls GET /healthz every 20 ms with a 2 s deadline until told to stop. */
static void *
client_main(void *arg)
{
    fixture *f = arg;
    CURL *c = curl_easy_init();
    char url[64];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", f->port);
    while (!atomic_load(&f->stop_client)) {
        long status = 0;
        uint64_t t0 = uv_hrtime();
        double ms;

        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        if (curl_easy_perform(c) == CURLE_OK &&
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
            status == 200) {
            f->probes++;
            f->answered++;
        } else if (atomic_load(&f->api_closing)) {
            break; /* the queue is drained and the API gone: not late */
        } else {
            f->probes++;
            f->late++;
        }
        ms = (double) (uv_hrtime() - t0) / 1e6;
        if (ms > f->worst_ms)
            f->worst_ms = ms;
        usleep(20000);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static void
on_drained(strata_runner *r, void *arg)
{
    fixture *f = arg;

    (void) r;
    f->drained = 1;
    atomic_store(&f->api_closing, 1);
    strata_runner_close(f->runner);
    f->runner = NULL;
    strata_api_close(f->api, NULL, NULL);
    f->api = NULL;
}

/* The runner, the API and the loop, on the small stack. */
static void
loop_main(void *arg)
{
    fixture *f = arg;
    strata_error err = {0};

    CHECK_OK(strata_runner_new(&f->runner, &f->loop, &f->env, 4, &err), &err);
    strata_runner_drain(f->runner, on_drained, f);
    /* The contract: the drain's callback never runs inside the call. */
    CHECK_EQ(f->drained, 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void
enqueue(fixture *f, const char *action)
{
    strata_error err = {0};
    char image[64];
    int64_t id;
    int i;

    CHECK_OK(strata_store_begin(f->store, &err), &err);
    for (i = 0; i < f->njobs; i++) {
        strata_store_job_spec spec = {
            .image = image,
            .action = action,
            .base_ref = "docker.io/library/debian:12-slim",
            .base_digest = DIGEST,
            .max_attempts = 1,
        };

        snprintf(image, sizeof(image), "r.example/app-%05d:1", i);
        CHECK_OK(strata_store_job_enqueue(&id, NULL, f->store, &spec, &err),
                 &err);
    }
    CHECK_OK(strata_store_commit(f->store, &err), &err);
}

/* Runs f->njobs jobs of action to the end; returns the succeeded count. */
static void
run_jobs(const char *action, int64_t want_state)
{
    fixture f = {0};
    strata_error err = {0};
    strata_api_options opts = {.listen = "127.0.0.1:0"};
    pthread_t client_th;
    int64_t counts[STRATA_STORE_JOB_NSTATES];
    const char *n = getenv("STRATA_TEST_RUNNER_JOBS");
    char dir[] = "/tmp/strata-runner-XXXXXX", path[128];

    f.njobs = n != NULL ? atoi(n) : 20000;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/state.db", dir);
    CHECK_OK(strata_store_open(&f.store, path, &err), &err);
    CHECK_OK(strata_config_load_string(&f.config, "state: x.db\n", 12,
                                       "test.yaml", NULL, NULL, &err),
             &err);
    enqueue(&f, action);

    CHECK_EQ(uv_loop_init(&f.loop), 0);
    f.env.loop = &f.loop;
    f.env.config = f.config;
    f.env.cfg = strata_config_data_get(f.config);
    f.env.store = f.store;
    CHECK_OK(strata_api_new(&f.api, &f.loop, &opts, &err), &err);
    f.port = strata_api_port(f.api);

    CHECK_EQ(pthread_create(&client_th, NULL, client_main, &f), 0);
    loop_main(&f);
    atomic_store(&f.stop_client, 1);
    CHECK_EQ(pthread_join(client_th, NULL), 0);

    CHECK_EQ(f.drained, 1);
    CHECK_OK(strata_store_job_count(counts, f.store, &err), &err);
    printf("# %s: %d jobs on a 256 KiB stack: %lld succeeded, %lld failed; "
           "/healthz answered %d of %d probes, worst %.0f ms\n",
           action, f.njobs, (long long) counts[STRATA_STORE_JOB_SUCCEEDED],
           (long long) counts[STRATA_STORE_JOB_FAILED], f.answered, f.probes,
           f.worst_ms);
    CHECK_EQ(counts[want_state], f.njobs);
    CHECK_EQ(counts[STRATA_STORE_JOB_QUEUED], 0);
    CHECK_EQ(counts[STRATA_STORE_JOB_RUNNING], 0);
    /* The API answered throughout, every probe within its 2 s deadline. */
    CHECK(f.probes > 0);
    CHECK_EQ(f.late, 0);
    CHECK_EQ(uv_loop_close(&f.loop), 0);
    strata_config_free(f.config);
    strata_store_close(f.store);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK_EQ(system(path), 0);
}

/* notify completes inside start(): the path that recursed. */
TEST(notify_jobs_complete_at_once)
{
    run_jobs("notify", STRATA_STORE_JOB_SUCCEEDED);
}

/* An action this strata does not know fails at start, every time. */
TEST(failing_starts_complete_at_once)
{
    run_jobs("no-such-action", STRATA_STORE_JOB_FAILED);
}

/* ---- schedule windows: a job outside its window waits, then runs ---- */

static int64_t sched_now_ms;

static int64_t
sched_clock(void *arg)
{
    (void) arg;
    return sched_now_ms;
}

static void
on_sched_drained(strata_runner *r, void *arg)
{
    *(int *) arg = 1;
    strata_runner_close(r);
}

/* One drain of the queue at the fake clock's time. */
static void
sched_drain(fixture *f)
{
    strata_error err = {0};
    int drained = 0;

    CHECK_OK(strata_runner_new(&f->runner, &f->loop, &f->env, 4, &err), &err);
    strata_runner_drain(f->runner, on_sched_drained, &drained);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    CHECK_EQ(drained, 1);
}

static strata_store_job *
sched_job(fixture *f, int64_t id)
{
    strata_error err = {0};
    strata_store_job *j = NULL;

    CHECK_OK(strata_store_job_get(&j, f->store, id, &err), &err);
    return j;
}

static int64_t
sched_utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};

    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t) timegm(&tm) * 1000;
}

TEST(jobs_wait_for_their_window)
{
    static const char yaml[] =
        "schedule:\n"
        "  windows: [\"Mon-Fri 09:00-17:00 Europe/Berlin\"]\n"
        "repos:\n"
        "  - url: https://example.com/app.git\n"
        "    on_base_update: [notify]\n"
        "    images: [{name: r.example/app:1}]\n"
        "    schedule: {windows: [\"Sat 10:00-11:00 UTC\"]}\n";
    fixture f = {0};
    strata_error err = {0};
    char dir[] = "/tmp/strata-runner-XXXXXX", path[128];
    int64_t app = 0, other = 0;
    strata_store_job *j;
    json_t *list = NULL;
    strata_store_job_spec spec = {
        .action = "notify",
        .base_ref = "docker.io/library/debian:12-slim",
        .base_digest = DIGEST,
    };

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/state.db", dir);
    CHECK_OK(strata_store_open(&f.store, path, &err), &err);
    /* Saturday 2026-12-05, 08:00 UTC: both schedules are closed. */
    sched_now_ms = sched_utc(2026, 12, 5, 8, 0);
    strata_store_set_clock(f.store, sched_clock, NULL);
    CHECK_OK(strata_config_load_string(&f.config, yaml, strlen(yaml),
                                       "test.yaml", "/", NULL, &err),
             &err);
    spec.image = "r.example/app:1";
    CHECK_OK(strata_store_job_enqueue(&app, NULL, f.store, &spec, &err), &err);
    spec.image = "r.example/other:1";
    CHECK_OK(strata_store_job_enqueue(&other, NULL, f.store, &spec, &err),
             &err);
    CHECK_EQ(uv_loop_init(&f.loop), 0);
    f.env.loop = &f.loop;
    f.env.config = f.config;
    f.env.cfg = strata_config_data_get(f.config);
    f.env.store = f.store;

    /* Both wait, queued, no attempt counted, until their next opening. */
    sched_drain(&f);
    j = sched_job(&f, app);
    CHECK_EQ(j->state, STRATA_STORE_JOB_QUEUED);
    CHECK_EQ(j->attempts, 0);
    CHECK_EQ(j->next_attempt_ms, sched_utc(2026, 12, 5, 10, 0));
    CHECK_STR_EQ(j->waiting, "outside the repository's schedule window: "
                             "waits until 2026-12-05T10:00:00Z");
    strata_store_job_free(j);
    j = sched_job(&f, other);
    CHECK_EQ(j->state, STRATA_STORE_JOB_QUEUED);
    CHECK_EQ(j->attempts, 0);
    /* Monday 09:00 in Berlin (CET). */
    CHECK_EQ(j->next_attempt_ms, sched_utc(2026, 12, 7, 8, 0));
    CHECK_STR_EQ(j->waiting, "outside the default schedule window: waits "
                             "until 2026-12-07T08:00:00Z");
    strata_store_job_free(j);
    /* The jobs JSON (strata jobs, /api/v1/jobs) says so. */
    CHECK_OK(strata_store_job_list(&list, f.store, 0, 0, -1, &err), &err);
    CHECK_EQ(json_array_size(list), 2);
    CHECK_CONTAINS(
        json_string_value(json_object_get(json_array_get(list, 1), "waiting")),
        "waits until 2026-12-07T08:00:00Z");
    json_decref(list);

    /* A minute before the window: still nothing is claimed. */
    sched_now_ms = sched_utc(2026, 12, 5, 9, 59);
    sched_drain(&f);
    j = sched_job(&f, app);
    CHECK_EQ(j->state, STRATA_STORE_JOB_QUEUED);
    CHECK_EQ(j->attempts, 0);
    strata_store_job_free(j);

    /* The repository's window opens: its job runs, the other waits. */
    sched_now_ms = sched_utc(2026, 12, 5, 10, 0);
    sched_drain(&f);
    j = sched_job(&f, app);
    CHECK_EQ(j->state, STRATA_STORE_JOB_SUCCEEDED);
    CHECK_EQ(j->attempts, 1);
    CHECK(j->waiting == NULL);
    strata_store_job_free(j);
    j = sched_job(&f, other);
    CHECK_EQ(j->state, STRATA_STORE_JOB_QUEUED);
    strata_store_job_free(j);

    /* Monday 09:00 in Berlin. */
    sched_now_ms = sched_utc(2026, 12, 7, 8, 0);
    sched_drain(&f);
    j = sched_job(&f, other);
    CHECK_EQ(j->state, STRATA_STORE_JOB_SUCCEEDED);
    CHECK_EQ(j->attempts, 1);
    CHECK(j->waiting == NULL);
    strata_store_job_free(j);

    CHECK_EQ(uv_loop_close(&f.loop), 0);
    strata_config_free(f.config);
    strata_store_close(f.store);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK_EQ(system(path), 0);
}

/* A blackout alone (no windows: open at any other time) holds a job too. */
TEST(jobs_wait_out_a_blackout)
{
    static const char yaml[] = "schedule: {blackout: [\"2026-12-05\"]}\n"
                               "repos:\n"
                               "  - url: https://example.com/app.git\n"
                               "    on_base_update: [notify]\n"
                               "    images: [{name: r.example/app:1}]\n";
    fixture f = {0};
    strata_error err = {0};
    char dir[] = "/tmp/strata-runner-XXXXXX", path[128];
    int64_t id = 0;
    strata_store_job *j;
    strata_store_job_spec spec = {
        .action = "notify",
        .image = "r.example/app:1",
        .base_ref = "docker.io/library/debian:12-slim",
        .base_digest = DIGEST,
    };

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/state.db", dir);
    CHECK_OK(strata_store_open(&f.store, path, &err), &err);
    sched_now_ms = sched_utc(2026, 12, 5, 8, 0);
    strata_store_set_clock(f.store, sched_clock, NULL);
    CHECK_OK(strata_config_load_string(&f.config, yaml, strlen(yaml),
                                       "test.yaml", "/", NULL, &err),
             &err);
    CHECK_OK(strata_store_job_enqueue(&id, NULL, f.store, &spec, &err), &err);
    CHECK_EQ(uv_loop_init(&f.loop), 0);
    f.env.loop = &f.loop;
    f.env.config = f.config;
    f.env.cfg = strata_config_data_get(f.config);
    f.env.store = f.store;

    /* The blackout day (UTC: no window names a zone): it waits for its end. */
    sched_drain(&f);
    j = sched_job(&f, id);
    CHECK_EQ(j->state, STRATA_STORE_JOB_QUEUED);
    CHECK_EQ(j->attempts, 0);
    CHECK_EQ(j->next_attempt_ms, sched_utc(2026, 12, 6, 0, 0));
    CHECK_CONTAINS(j->waiting, "waits until 2026-12-06T00:00:00Z");
    strata_store_job_free(j);
    sched_now_ms = sched_utc(2026, 12, 6, 0, 0);
    sched_drain(&f);
    j = sched_job(&f, id);
    CHECK_EQ(j->state, STRATA_STORE_JOB_SUCCEEDED);
    strata_store_job_free(j);

    CHECK_EQ(uv_loop_close(&f.loop), 0);
    strata_config_free(f.config);
    strata_store_close(f.store);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK_EQ(system(path), 0);
}

int
main(int argc, char **argv)
{
    struct rlimit rl;

    /* The runner on a 256 KiB stack: re-exec with that limit, once. */
    (void) argc;
    if (getenv("STRATA_TEST_RUNNER_SMALL_STACK") == NULL) {
        rl.rlim_cur = rl.rlim_max = 256 * 1024;
        if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
            rl.rlim_max < 256 * 1024)
            rl.rlim_cur = rl.rlim_max;
        else
            rl.rlim_cur = 256 * 1024;
        CHECK_EQ(setrlimit(RLIMIT_STACK, &rl), 0);
        setenv("STRATA_TEST_RUNNER_SMALL_STACK", "1", 1);
        execv("/proc/self/exe", argv);
        printf("# cannot re-exec: %s\n", strerror(errno));
        return 1;
    }
    CHECK_EQ(getrlimit(RLIMIT_STACK, &rl), 0);
    printf("# stack limit %llu KiB\n", (unsigned long long) rl.rlim_cur / 1024);
    CHECK(rl.rlim_cur <= 256 * 1024);
    strata_log_setup(STRATA_LOG_ERROR, STRATA_LOG_TEXT);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    RUN(notify_jobs_complete_at_once);
    RUN(failing_starts_complete_at_once);
    RUN(jobs_wait_for_their_window);
    RUN(jobs_wait_out_a_blackout);
    curl_global_cleanup();
    return harness_done();
}
