/*
 * bench-claim.c - how long the runner's store calls take with a long job
 * queue: one claim (and its finish) with N jobs queued, and, optionally,
 * draining the whole queue the way `strata run --once` does (claim, finish,
 * claim ...). The state database is a real file in WAL mode, as the
 * daemon's.
 *
 *   bench-claim [--drain] [--mix notify|mixed] [--claims K] N...
 *   bench-claim --db PATH
 *
 * notify: N notify jobs for one base digest, in three waves (issue 20's
 * case). mixed: per image a pin and a notify job, and a rebuild for one
 * image in five, in three waves, so later waves wait for earlier
 * rebuilds. Prints one line per N: the median and worst of K claims, and
 * the drain time. --db: the queued jobs of an existing database (say a
 * daemon's, requeued), claimed and finished one by one until none is left;
 * prints the median, 99th percentile and worst claim, and the drain time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

static int
fill(strata_store *st, int n, int mixed, strata_error *err)
{
    strata_store_job_spec spec = {0};
    char image[64];
    int64_t id;
    int i, made = 0, rc;

    if ((rc = strata_store_begin(st, err)) != 0)
        return rc;
    spec.base_ref = "docker.io/library/debian:12-slim";
    spec.base_digest = "sha256:0000000000000000000000000000000000000000000000"
                       "000000000000000001";
    for (i = 0; made < n; i++) {
        snprintf(image, sizeof(image), "registry.example.com/app/a%d:1", i);
        spec.image = image;
        spec.wave = i % 3;
        spec.action = "notify";
        if ((rc = strata_store_job_enqueue(&id, NULL, st, &spec, err)) != 0)
            goto fail;
        made++;
        if (!mixed)
            continue;
        spec.action = "pr";
        if (made < n &&
            (rc = strata_store_job_enqueue(&id, NULL, st, &spec, err)) != 0)
            goto fail;
        made++;
        spec.action = "rebuild";
        if (i % 5 == 0 && made < n &&
            (rc = strata_store_job_enqueue(&id, NULL, st, &spec, err)) != 0)
            goto fail;
        made += i % 5 == 0;
    }
    return strata_store_commit(st, err);
fail:
    strata_store_rollback(st);
    return rc;
}

/* Claims and finishes one job: *out_ms is the claim's time, -1 if none. */
static int
claim_one(double *out_ms, strata_store *st, strata_error *err)
{
    strata_store_job *job = NULL;
    double t0 = now_ms();
    int rc;

    if ((rc = strata_store_job_claim(&job, st, err)) != 0)
        return rc;
    *out_ms = now_ms() - t0;
    if (job == NULL) {
        *out_ms = -1;
        return 0;
    }
    rc = strata_store_job_finish(st, job->id, STRATA_STORE_JOB_SUCCEEDED, NULL,
                                 NULL, err);
    strata_store_job_free(job);
    return rc;
}

static int
run(int n, int mixed, int claims, int drain, const char *dir)
{
    strata_store *st = NULL;
    strata_error err = {0};
    char path[512];
    double *t = NULL, t0, fill_ms, drain_ms = 0, ms;
    int i, k = 0, drained = 0, rc;

    snprintf(path, sizeof(path), "%s/bench-%d.db", dir, n);
    if ((rc = strata_store_open(&st, path, &err)) != 0)
        goto out;
    t0 = now_ms();
    if ((rc = fill(st, n, mixed, &err)) != 0)
        goto out;
    fill_ms = now_ms() - t0;
    t = calloc((size_t) claims, sizeof(*t));
    for (i = 0; i < claims; i++) {
        if ((rc = claim_one(&ms, st, &err)) != 0)
            goto out;
        if (ms < 0)
            break;
        t[k++] = ms;
    }
    if (drain) {
        t0 = now_ms();
        for (;;) {
            if ((rc = claim_one(&ms, st, &err)) != 0)
                goto out;
            if (ms < 0)
                break;
            drained++;
        }
        drain_ms = now_ms() - t0;
    }
    qsort(t, (size_t) k, sizeof(*t), cmp_double);
    printf("%-6s %6d queued: claim median %8.3f ms, worst %8.3f ms "
           "(%d claims); enqueue %.0f ms",
           mixed ? "mixed" : "notify", n, k > 0 ? t[k / 2] : 0.0,
           k > 0 ? t[k - 1] : 0.0, k, fill_ms);
    if (drain)
        printf("; drain of the other %d: %.0f ms", drained, drain_ms);
    printf("\n");
out:
    if (rc != 0)
        fprintf(stderr, "bench-claim: %s\n", err.msg);
    free(t);
    strata_store_close(st);
    unlink(path);
    snprintf(path, sizeof(path), "%s/bench-%d.db-wal", dir, n);
    unlink(path);
    snprintf(path, sizeof(path), "%s/bench-%d.db-shm", dir, n);
    unlink(path);
    return rc != 0;
}

/* Every queued job of the database at path, claim by claim. */
static int
run_db(const char *path)
{
    strata_store *st = NULL;
    strata_error err = {0};
    double *t = NULL, t0, drain_ms, ms;
    size_t k = 0, cap = 1024;
    int rc;

    if ((rc = strata_store_open(&st, path, &err)) != 0)
        goto out;
    t = malloc(cap * sizeof(*t));
    t0 = now_ms();
    for (;;) {
        if ((rc = claim_one(&ms, st, &err)) != 0)
            goto out;
        if (ms < 0)
            break;
        if (k == cap)
            t = realloc(t, (cap *= 2) * sizeof(*t));
        t[k++] = ms;
    }
    drain_ms = now_ms() - t0;
    qsort(t, k, sizeof(*t), cmp_double);
    printf("  %zu jobs queued: claim median %.3f ms, 99th percentile %.3f ms, "
           "worst %.3f ms; drained (claim and finish each) in %.0f ms\n",
           k, k > 0 ? t[k / 2] : 0.0, k > 0 ? t[k * 99 / 100] : 0.0,
           k > 0 ? t[k - 1] : 0.0, drain_ms);
out:
    if (rc != 0)
        fprintf(stderr, "bench-claim: %s\n", err.msg);
    free(t);
    strata_store_close(st);
    return rc != 0;
}

int
main(int argc, char **argv)
{
    char dir[] = "/tmp/strata-bench-claim-XXXXXX";
    int i, mixed = 0, drain = 0, claims = 20, rc = 0;

    if (argc == 3 && strcmp(argv[1], "--db") == 0)
        return run_db(argv[2]);
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--drain") == 0) {
            drain = 1;
        } else if (strcmp(argv[i], "--mix") == 0 && i + 1 < argc) {
            mixed = strcmp(argv[++i], "mixed") == 0;
        } else if (strcmp(argv[i], "--claims") == 0 && i + 1 < argc) {
            claims = atoi(argv[++i]);
        } else {
            i = argc;
            break;
        }
    }
    if (i >= argc || claims < 1) {
        fprintf(stderr, "usage: bench-claim [--drain] [--mix notify|mixed] "
                        "[--claims K] N...\n"
                        "       bench-claim --db PATH\n");
        return 2;
    }
    if (mkdtemp(dir) == NULL) {
        perror("bench-claim: mkdtemp");
        return 1;
    }
    for (; i < argc && rc == 0; i++)
        rc = run(atoi(argv[i]), mixed, claims, drain, dir);
    rmdir(dir);
    return rc;
}
