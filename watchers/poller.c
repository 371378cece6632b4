/*
 * poller.c - the watcher: the set of watched references, one queue per
 * registry with its concurrency limit, and the schedule. One uv timer is
 * armed for the earliest due watch; when it fires, every due watch joins
 * its registry's queue, and a queue starts checks (check.c) while it has
 * free slots. A check's end (strata_watcher__check_done) computes the
 * watch's next due time from schedule.c (grid, backoff, settle deadline)
 * plus jitter, and refills the slot. check_all() runs one round of every
 * watch outside the schedule, for `strata watch --once`.
 */
#include <stdlib.h>
#include <string.h>

#include "watchers-int.h"

#define DEFAULT_INTERVAL_MS (15 * 60 * 1000)
#define DEFAULT_CONCURRENCY 8

/* ---- small helpers ------------------------------------------------------ */

/* xorshift64*: jitter needs spread, not secrecy. */
static uint64_t
rng_next(strata_watcher *w)
{
    uint64_t x = w->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return x * UINT64_C(2685821657736338717);
}

static uint64_t
jitter_ms(strata_watcher *w, const strata_watcher__watch *wt)
{
    uint64_t span;

    if (w->opts.jitter_percent >= 0)
        span = wt->interval_ms / 100 * (uint64_t) w->opts.jitter_percent;
    else
        span = w->opts.jitter_ms;
    if (span > wt->interval_ms / 2)
        span = wt->interval_ms / 2; /* never past the next grid time */
    return span ? rng_next(w) % span : 0;
}

static strata_watchers_watch
sched_view(const strata_watcher__watch *wt)
{
    strata_watchers_watch s;

    s.ref = wt->key;
    s.interval_ms = wt->interval_ms;
    s.last_ms = wt->last_ms;
    s.errors = wt->errors;
    return s;
}

int64_t
strata_watcher__next_due(strata_watcher *w, strata_watcher__watch *wt,
                         int64_t now_ms)
{
    strata_watchers_watch s = sched_view(wt);

    return strata_watchers_next_due(&s, wt->phase, now_ms) +
           (int64_t) jitter_ms(w, wt);
}

static strata_watcher__host *
host_get(strata_watcher *w, const char *domain)
{
    strata_watcher__host *h;

    for (h = w->hosts; h != NULL; h = h->next)
        if (strcmp(h->domain, domain) == 0)
            return h;
    h = strata_xcalloc(1, sizeof(*h));
    h->domain = strata_xstrdup(domain);
    h->limit = w->opts.max_concurrency;
    h->next = w->hosts;
    w->hosts = h;
    return h;
}

static void
watch_free(strata_watcher__watch *wt)
{
    size_t i;

    if (wt == NULL)
        return;
    free(wt->key);
    strata_ref_free(wt->ref);
    strata_ref_free(wt->repo);
    strata_tag_policy_free(wt->policy);
    json_decref(wt->policy_json);
    for (i = 0; i < wt->nplatforms; i++)
        free(wt->platforms[i]);
    free(wt->platforms);
    free(wt->current);
    json_decref(wt->current_platforms);
    strata_watchers_settle_release(&wt->settle);
    free(wt);
}

/* ---- queues ------------------------------------------------------------- */

static void
enqueue(strata_watcher__watch *wt)
{
    strata_watcher__host *h = wt->host;

    wt->state = STRATA_WATCHER__QUEUED;
    wt->qnext = NULL;
    if (h->tail != NULL)
        h->tail->qnext = wt;
    else
        h->head = wt;
    h->tail = wt;
}

static void finish(strata_watcher *w, strata_watcher__watch *wt, int in_round,
                   const strata_watcher__result *res);

/* Starts queued checks while the registry has free slots. */
static void
pump(strata_watcher *w, strata_watcher__host *h)
{
    strata_watcher__watch *wt;
    strata_watcher__result res;
    strata_error err;
    int in_round;

    while (!w->closing && h->active < h->limit && h->head != NULL) {
        wt = h->head;
        h->head = wt->qnext;
        if (h->head == NULL)
            h->tail = NULL;
        wt->qnext = NULL;
        in_round = wt->round_wanted;
        wt->round_wanted = 0;
        wt->state = STRATA_WATCHER__RUNNING;
        h->active++;
        w->stats.running++;
        memset(&err, 0, sizeof(err));
        if (strata_watcher__check_start(w, wt, in_round, &err) != 0) {
            memset(&res, 0, sizeof(res));
            res.started_ms = strata_now_ms();
            if (err.code == STRATA_ECANCELED)
                res.canceled = 1;
            else
                strata_watcher__record_error(w, wt, &err);
            finish(w, wt, in_round, &res);
        }
    }
}

static void
pump_all(strata_watcher *w)
{
    strata_watcher__host *h;

    for (h = w->hosts; h != NULL; h = h->next)
        pump(w, h);
}

/* ---- the schedule ------------------------------------------------------- */

static void on_tick(uv_timer_t *t);

/* Arms the timer for the earliest idle watch. */
static void
arm_timer(strata_watcher *w)
{
    int64_t min = INT64_MAX, now;
    size_t i;

    if (!w->started || w->closing)
        return;
    for (i = 0; i < w->nwatches; i++)
        if (w->watches[i]->state == STRATA_WATCHER__IDLE &&
            w->watches[i]->due_ms < min)
            min = w->watches[i]->due_ms;
    if (min == INT64_MAX) {
        uv_timer_stop(&w->timer);
        return;
    }
    now = strata_now_ms();
    uv_timer_start(&w->timer, on_tick, min > now ? (uint64_t) (min - now) : 0,
                   0);
}

static void
on_tick(uv_timer_t *t)
{
    strata_watcher *w = t->data;
    int64_t now = strata_now_ms();
    size_t i;

    for (i = 0; i < w->nwatches; i++) {
        strata_watcher__watch *wt = w->watches[i];

        if (wt->state == STRATA_WATCHER__IDLE && wt->due_ms <= now)
            enqueue(wt);
    }
    pump_all(w);
    arm_timer(w);
}

/* Due times for every idle watch: phases spread over each interval. */
static void
reschedule_all(strata_watcher *w)
{
    strata_watchers_watch *sw;
    int64_t *due;
    uint64_t *phase;
    int64_t now = strata_now_ms();
    size_t i, n = w->nwatches;

    if (n == 0)
        return;
    sw = strata_xcalloc(n, sizeof(*sw));
    due = strata_xcalloc(n, sizeof(*due));
    phase = strata_xcalloc(n, sizeof(*phase));
    for (i = 0; i < n; i++)
        sw[i] = sched_view(w->watches[i]);
    strata_watchers_schedule(due, phase, sw, n, now);
    for (i = 0; i < n; i++) {
        strata_watcher__watch *wt = w->watches[i];

        wt->phase = phase[i];
        if (wt->state == STRATA_WATCHER__IDLE)
            wt->due_ms = due[i] + (int64_t) jitter_ms(w, wt);
    }
    free(sw);
    free(due);
    free(phase);
}

/* ---- ends of checks and rounds ------------------------------------------ */

static void on_handle_close(uv_handle_t *handle);

static void
round_maybe_done(strata_watcher *w)
{
    strata_watcher_round_cb cb = w->round_cb;

    if (!w->round_active || w->round_pending > 0)
        return;
    w->round_active = 0;
    w->round_cb = NULL;
    if (w->closing)
        w->round.canceled = 1;
    cb(&w->round, w->round_arg);
}

/* Closing, and the last check has ended: close the handles. */
static void
close_maybe_handles(strata_watcher *w)
{
    if (!w->closing || w->stats.running > 0 || w->handles_open != 3)
        return;
    uv_close((uv_handle_t *) &w->timer, on_handle_close);
    uv_close((uv_handle_t *) &w->kick, on_handle_close);
    uv_close((uv_handle_t *) &w->flush, on_handle_close);
}

static void
finish(strata_watcher *w, strata_watcher__watch *wt, int in_round,
       const strata_watcher__result *res)
{
    int64_t now = strata_now_ms(), deadline;

    if (!wt->parked)
        wt->host->active--;
    wt->parked = 0;
    w->stats.running--;
    wt->state = STRATA_WATCHER__IDLE;
    if (!res->canceled) {
        w->stats.checks++;
        if (!res->ok)
            w->stats.errors++;
        if (res->changed && res->first)
            w->stats.first_seen++;
        else if (res->changed)
            w->stats.changes++;
    }
    if (in_round) {
        w->round.checked++;
        if (!res->ok)
            w->round.errors++;
        if (res->changed && res->first)
            w->round.first_seen++;
        else if (res->changed)
            w->round.changes++;
        if (res->canceled)
            w->round.canceled = 1;
        w->round_pending--;
    }
    if (w->closing)
        return;
    wt->due_ms = strata_watcher__next_due(w, wt, now);
    if (res->settling) {
        deadline =
            strata_watchers_settle_deadline(&wt->settle, w->opts.settle_ms);
        if (deadline >= 0 && deadline < wt->due_ms)
            wt->due_ms = deadline;
    }
    if (wt->again || wt->round_wanted) {
        wt->again = 0;
        enqueue(wt);
    }
}

void
strata_watcher__check_done(strata_watcher *w, strata_watcher__watch *wt,
                           int in_round, const strata_watcher__result *res)
{
    finish(w, wt, in_round, res);
    pump(w, wt->host);
    arm_timer(w);
    round_maybe_done(w);
    close_maybe_handles(w);
}

static void
on_flush(uv_timer_t *t)
{
    strata_watcher__flush(t->data);
}

void
strata_watcher__park(strata_watcher *w, strata_watcher__watch *wt, int urgent)
{
    wt->parked = 1;
    wt->host->active--;
    pump(w, wt->host);
    /*
     * At once when the batch may hold a change (reported only after the
     * commit), is full, or when every check under way waits in it.
     */
    if (urgent || w->nbatch >= STRATA_WATCHER__BATCH_MAX ||
        w->nbatch >= w->stats.running)
        uv_timer_start(&w->flush, on_flush, 0, 0);
    else if (w->nbatch == 1)
        uv_timer_start(&w->flush, on_flush, w->opts.batch_wait_ms, 0);
}

/* Deferred work: callbacks must not run inside the calls that cause them. */
static void
on_kick(uv_timer_t *t)
{
    strata_watcher *w = t->data;

    pump_all(w);
    arm_timer(w);
    round_maybe_done(w);
}

/* ---- public API --------------------------------------------------------- */

int
strata_watcher_new(strata_watcher **out, uv_loop_t *loop,
                   struct strata_store *store, strata_registry *registry,
                   const strata_watcher_options *opts, strata_error *err)
{
    strata_watcher *w;

    *out = NULL;
    if (opts != NULL &&
        (opts->jitter_percent < -1 || opts->jitter_percent > 100 ||
         opts->max_concurrency < 0 || opts->max_concurrency > 256))
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid watcher options: jitter or "
                                "concurrency out of range");
    w = strata_xcalloc(1, sizeof(*w));
    w->loop = loop;
    w->store = store;
    w->registry = registry;
    if (opts != NULL)
        w->opts = *opts;
    if (w->opts.interval_ms == 0)
        w->opts.interval_ms = DEFAULT_INTERVAL_MS;
    if (w->opts.max_concurrency == 0)
        w->opts.max_concurrency = DEFAULT_CONCURRENCY;
    if (w->opts.batch_wait_ms == 0)
        w->opts.batch_wait_ms = STRATA_WATCHER__BATCH_WAIT_MS;
    w->by_key = strata_strmap_new();
    w->rng = (uv_hrtime() ^ (uint64_t) (uintptr_t) w) | 1;
    uv_timer_init(loop, &w->timer);
    uv_timer_init(loop, &w->kick);
    uv_timer_init(loop, &w->flush);
    w->timer.data = w;
    w->kick.data = w;
    w->flush.data = w;
    w->batch_tail = &w->batch;
    w->handles_open = 3;
    *out = w;
    return 0;
}

/* Loads what the store knows about wt. */
static int
load_state(strata_watcher *w, strata_watcher__watch *wt, strata_error *err)
{
    strata_store_watch_state st = {0};
    json_t *p = NULL;
    int rc;

    rc = strata_store_watch_state_get(&st, w->store, wt->key, err);
    if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
        return 0;
    }
    if (rc != 0)
        return rc;
    wt->last_ms = st.last_check_ms > 0 ? st.last_check_ms : -1;
    wt->errors = (unsigned) st.consecutive_errors;
    if (st.current_digest != NULL) {
        wt->current = strata_xstrdup(st.current_digest);
        rc = strata_store_digest_platforms(&p, w->store, wt->key, wt->current,
                                           err);
        if (json_is_object(p)) {
            json_decref(wt->current_platforms);
            wt->current_platforms = p;
            p = NULL;
        }
        json_decref(p);
    }
    strata_watchers_settle_release(&wt->settle);
    strata_watchers_settle_init(&wt->settle, wt->current);
    strata_store_watch_state_release(&st);
    return rc;
}

static json_t *
policy_json(const strata_watcher_spec *spec)
{
    json_t *p = json_object();

    if (spec->semver != NULL)
        json_object_set_new(p, "semver", json_string(spec->semver));
    if (spec->suffix != NULL)
        json_object_set_new(p, "suffix", json_string(spec->suffix));
    if (spec->regex != NULL)
        json_object_set_new(p, "regex", json_string(spec->regex));
    return p;
}

static void
add_platforms(strata_watcher__watch *wt, const char *const *platforms, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < wt->nplatforms; j++)
            if (strcmp(wt->platforms[j], platforms[i]) == 0)
                break;
        if (j < wt->nplatforms)
            continue;
        wt->platforms = strata_xrealloc(
            wt->platforms, (wt->nplatforms + 1) * sizeof(*wt->platforms));
        wt->platforms[wt->nplatforms++] = strata_xstrdup(platforms[i]);
    }
}

int
strata_watcher_add(const char **out_key, strata_watcher *w,
                   const strata_watcher_spec *spec, strata_error *err)
{
    strata_watcher__watch *wt = NULL, *old;
    strata_ref *parsed = NULL;
    char *s;
    size_t i;
    int has_policy = spec->semver || spec->suffix || spec->regex;
    int rc;

    if (out_key != NULL)
        *out_key = NULL;
    if (w->closing)
        return strata_error_set(err, STRATA_ECANCELED, "watcher is closing");
    if (spec->ref == NULL)
        return strata_error_set(err, STRATA_EINVAL, "a watch needs a ref");
    for (i = 0; i < spec->nplatforms; i++)
        if ((rc = strata_platform_validate(spec->platforms[i], err)) != 0)
            return rc;
    if ((rc = strata_ref_parse(&parsed, spec->ref, err)) != 0)
        return rc;
    wt = strata_xcalloc(1, sizeof(*wt));
    wt->last_ms = -1;
    strata_watchers_settle_init(&wt->settle, NULL);
    if (has_policy) {
        rc = strata_tag_policy_new(&wt->policy, spec->semver, spec->suffix,
                                   spec->regex, err);
        if (rc != 0)
            goto fail;
        s = strata_xasprintf("%s:latest", strata_ref_name(parsed));
        rc = strata_ref_parse(&wt->repo, s, err);
        free(s);
        if (rc != 0)
            goto fail;
        wt->key = strata_xstrdup(strata_ref_name(parsed));
        wt->policy_json = policy_json(spec);
    } else {
        if (strata_ref_tag(parsed) == NULL) {
            rc = strata_error_set(err, STRATA_EINVAL,
                                  "'%s' names a digest, which never changes; "
                                  "watch a tag",
                                  spec->ref);
            goto fail;
        }
        /* Watch the tag; a pinned digest is what it points to now. */
        if ((rc = strata_ref_with_digest(&wt->ref, parsed, NULL, err)) != 0)
            goto fail;
        wt->key = strata_xstrdup(strata_ref_string(wt->ref));
    }
    wt->interval_ms =
        spec->interval_ms ? spec->interval_ms : w->opts.interval_ms;
    if ((rc = strata_watcher__gate_for(&wt->gate, w, wt->key, spec->verify,
                                       err)) != 0) {
        strata_error_wrap(err, "verify policy of '%s'", wt->key);
        goto fail;
    }
    old = strata_strmap_get(w->by_key, wt->key);
    if (old != NULL) {
        /* The same reference again: one watch, the shortest interval. */
        if (!json_equal(old->policy_json, wt->policy_json) &&
            (old->policy_json || wt->policy_json)) {
            rc = strata_error_set(err, STRATA_ECONFLICT,
                                  "conflicting tag policies for '%s'", wt->key);
            goto fail;
        }
        if (wt->interval_ms < old->interval_ms)
            old->interval_ms = wt->interval_ms;
        if (old->gate == NULL || w->policy_cfg != NULL)
            old->gate = wt->gate; /* resolved: the same for every adder */
        add_platforms(old, spec->platforms, spec->nplatforms);
        if (out_key != NULL)
            *out_key = old->key;
        watch_free(wt);
        strata_ref_free(parsed);
        return 0;
    }
    add_platforms(wt, spec->platforms, spec->nplatforms);
    if ((rc = strata_store_watch_add(NULL, w->store, wt->key, wt->policy_json,
                                     err)) != 0)
        goto fail;
    if ((rc = load_state(w, wt, err)) != 0)
        goto fail;
    wt->host = host_get(w, strata_ref_domain(parsed));
    if (w->nwatches == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->watches = strata_xrealloc(w->watches, w->cap * sizeof(*w->watches));
    }
    w->watches[w->nwatches++] = wt;
    strata_strmap_put(w->by_key, wt->key, wt);
    if (out_key != NULL)
        *out_key = wt->key;
    strata_ref_free(parsed);
    if (w->started) {
        reschedule_all(w);
        arm_timer(w);
    }
    return 0;
fail:
    watch_free(wt);
    strata_ref_free(parsed);
    return rc;
}

size_t
strata_watcher_count(const strata_watcher *w)
{
    return w->nwatches;
}

void
strata_watcher_set_host_limit(strata_watcher *w, const char *domain, int n)
{
    strata_watcher__host *h = host_get(w, domain);

    h->limit = n < 1 ? 1 : n > 256 ? 256 : n;
}

void
strata_watcher_stats_get(strata_watcher_stats *out, const strata_watcher *w)
{
    const strata_watcher__host *h;
    const strata_watcher__watch *wt;

    *out = w->stats;
    out->watches = w->nwatches;
    out->queued = 0;
    for (h = w->hosts; h != NULL; h = h->next)
        for (wt = h->head; wt != NULL; wt = wt->qnext)
            out->queued++;
}

long
strata_watcher_ratelimit_remaining(const strata_watcher *w, const char *domain)
{
    return strata_registry_ratelimit_remaining(w->registry, domain);
}

int
strata_watcher_check_all(strata_watcher *w, strata_watcher_round_cb cb,
                         void *arg, strata_error *err)
{
    size_t i;

    if (w->closing)
        return strata_error_set(err, STRATA_ECANCELED, "watcher is closing");
    if (w->round_active)
        return strata_error_set(err, STRATA_ECONFLICT,
                                "a round of checks is already under way");
    memset(&w->round, 0, sizeof(w->round));
    w->round_active = 1;
    w->round_cb = cb;
    w->round_arg = arg;
    w->round_pending = w->nwatches;
    for (i = 0; i < w->nwatches; i++) {
        strata_watcher__watch *wt = w->watches[i];

        wt->round_wanted = 1;
        if (wt->state == STRATA_WATCHER__IDLE)
            enqueue(wt);
    }
    uv_timer_start(&w->kick, on_kick, 0, 0);
    return 0;
}

int
strata_watcher_start(strata_watcher *w, strata_error *err)
{
    if (w->closing)
        return strata_error_set(err, STRATA_ECANCELED, "watcher is closing");
    if (w->started)
        return 0;
    w->started = 1;
    reschedule_all(w);
    arm_timer(w);
    return 0;
}

void
strata_watcher_stop(strata_watcher *w)
{
    w->started = 0;
    uv_timer_stop(&w->timer);
}

static void
check_soon(strata_watcher__watch *wt)
{
    if (wt->state == STRATA_WATCHER__IDLE)
        enqueue(wt);
    else if (wt->state == STRATA_WATCHER__RUNNING)
        wt->again = 1;
}

/*
 * A push of a signature's tag: cosign's "sha256-<hex>.sig" or ".att", or
 * the referrers tag schema's "sha256-<hex>". Every watch of that
 * repository with a policy whose current digest is <hex> is checked again
 * now (its gate reads the new signature). Returns 1 when one was.
 */
static int
trigger_signature(strata_watcher *w, const strata_ref *ref)
{
    const char *tag = strata_ref_tag(ref);
    size_t len = strlen(tag), i, hits = 0;
    char *digest;

    if (strncmp(tag, "sha256-", 7) != 0 ||
        !(len == 7 + 64 ||
          (len == 7 + 64 + 4 &&
           (strcmp(tag + 71, ".sig") == 0 || strcmp(tag + 71, ".att") == 0))))
        return 0;
    digest = strata_xasprintf("sha256:%.64s", tag + 7);
    for (i = 0; i < w->nwatches; i++) {
        strata_watcher__watch *wt = w->watches[i];
        const strata_ref *r = wt->policy != NULL ? wt->repo : wt->ref;

        if (wt->gate != NULL && wt->current != NULL &&
            strcmp(wt->current, digest) == 0 &&
            strcmp(strata_ref_name(r), strata_ref_name(ref)) == 0) {
            log_info("watch '%s': its signature tag '%s' was pushed", wt->key,
                     tag);
            check_soon(wt);
            hits++;
        }
    }
    free(digest);
    return hits > 0;
}

int
strata_watcher_trigger(strata_watcher *w, const char *ref, strata_error *err)
{
    strata_ref *parsed = NULL, *tagged = NULL;
    strata_watcher__watch *hit[2];
    size_t n = 0, i;
    int rc;

    if (w->closing)
        return strata_error_set(err, STRATA_ECANCELED, "watcher is closing");
    if ((rc = strata_ref_parse(&parsed, ref, err)) != 0)
        return rc;
    if (strata_ref_tag(parsed) != NULL &&
        strata_ref_with_digest(&tagged, parsed, NULL, NULL) == 0 &&
        (hit[n] = strata_strmap_get(w->by_key, strata_ref_string(tagged))) !=
            NULL &&
        hit[n]->policy == NULL)
        n++;
    if ((hit[n] = strata_strmap_get(w->by_key, strata_ref_name(parsed))) !=
            NULL &&
        hit[n]->policy != NULL)
        n++;
    if (n == 0 && strata_ref_tag(parsed) != NULL)
        rc = trigger_signature(w, parsed);
    strata_ref_free(tagged);
    strata_ref_free(parsed);
    if (n == 0 && rc == 1)
        goto kick;
    if (n == 0)
        return strata_error_set(err, STRATA_ENOTFOUND, "'%s' is not watched",
                                ref);
    for (i = 0; i < n; i++)
        check_soon(hit[i]);
kick:
    uv_timer_start(&w->kick, on_kick, 0, 0);
    return 0;
}

static void
on_handle_close(uv_handle_t *handle)
{
    strata_watcher *w = handle->data;
    strata_watcher__host *h;
    size_t i;

    if (--w->handles_open > 0)
        return;
    round_maybe_done(w);
    if (w->close_cb != NULL)
        w->close_cb(w->close_arg);
    for (i = 0; i < w->nwatches; i++)
        watch_free(w->watches[i]);
    free(w->watches);
    strata_strmap_free(w->by_key);
    strata_watcher__gates_free(w);
    while ((h = w->hosts) != NULL) {
        w->hosts = h->next;
        free(h->domain);
        free(h);
    }
    free(w);
}

void
strata_watcher_close(strata_watcher *w, strata_watcher_close_cb cb, void *arg)
{
    strata_watcher__host *h;
    size_t i;

    if (w == NULL || w->closing)
        return;
    w->closing = 1;
    w->started = 0;
    w->close_cb = cb;
    w->close_arg = arg;
    uv_timer_stop(&w->timer);
    uv_timer_stop(&w->kick);
    /* Queued checks never start; their round slots are given up. */
    for (h = w->hosts; h != NULL; h = h->next) {
        while (h->head != NULL) {
            h->head->state = STRATA_WATCHER__IDLE;
            h->head = h->head->qnext;
        }
        h->tail = NULL;
    }
    for (i = 0; i < w->nwatches; i++) {
        if (w->watches[i]->round_wanted) {
            w->watches[i]->round_wanted = 0;
            w->round_pending--;
        }
        w->watches[i]->again = 0;
    }
    /* What was read is still written; those checks end then. */
    if (w->nbatch > 0)
        uv_timer_start(&w->flush, on_flush, 0, 0);
    close_maybe_handles(w);
}
