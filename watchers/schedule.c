/*
 * schedule.c - the arithmetic of polling, as pure functions over
 * millisecond timestamps: per-reference phases from a sha256 of the
 * reference, grids of due times, exponential error backoff, phases spread
 * evenly over a whole set of watches, and the settle window that turns a
 * burst of digest changes into one report. The loop-driven scheduler
 * calls these; nothing here reads a clock.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "watchers.h"

/* Intervals beyond ~146 years are clamped so sums stay in int64_t. */
#define MAX_INTERVAL ((uint64_t) 1 << 62)

static uint64_t
clamp_interval(uint64_t interval_ms)
{
    if (interval_ms == 0)
        return 1;
    return interval_ms > MAX_INTERVAL ? MAX_INTERVAL : interval_ms;
}

uint64_t
strata_watchers_ref_hash(const char *ref)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    uint64_t h = 0;
    int i;

    EVP_Digest(ref, strlen(ref), md, &mdlen, EVP_sha256(), NULL);
    for (i = 0; i < 8; i++)
        h = (h << 8) | md[i];
    return h;
}

uint64_t
strata_watchers_phase(const char *ref, uint64_t interval_ms)
{
    if (interval_ms == 0)
        return 0;
    return strata_watchers_ref_hash(ref) % clamp_interval(interval_ms);
}

int64_t
strata_watchers_grid_next(int64_t earliest, uint64_t phase,
                          uint64_t interval_ms)
{
    int64_t iv = (int64_t) clamp_interval(interval_ms);
    int64_t ph = (int64_t) (phase % (uint64_t) iv);
    int64_t em = earliest % iv;

    if (em < 0)
        em += iv; /* C's % truncates toward zero */
    return earliest + ((ph - em) % iv + iv) % iv;
}

uint64_t
strata_watchers_backoff_ms(unsigned errors, uint64_t interval_ms)
{
    if (errors == 0)
        return 0;
    return strata_backoff_ms(STRATA_WATCHERS_BACKOFF_BASE_MS, errors - 1,
                             clamp_interval(interval_ms));
}

int64_t
strata_watchers_next_due(const strata_watchers_watch *w, uint64_t phase,
                         int64_t now_ms)
{
    uint64_t iv = clamp_interval(w->interval_ms);
    int64_t earliest;

    /* Never read: now, so that a registry push (a webhook) that comes
     * before the first scheduled check is an update, not the first
     * sighting. The per-registry limits pace a burst of new watches. */
    if (w->last_ms < 0)
        return now_ms;
    if (w->errors > 0) {
        int64_t d =
            w->last_ms + (int64_t) strata_watchers_backoff_ms(w->errors, iv);

        /*
         * A retry that is already overdue (the daemon was down) goes back
         * on the grid, so a restart does not retry every failing watch at
         * once.
         */
        return d >= now_ms ? d : strata_watchers_grid_next(now_ms, phase, iv);
    }
    earliest = w->last_ms + (int64_t) (iv / 2);
    if (earliest < now_ms)
        earliest = now_ms;
    return strata_watchers_grid_next(earliest, phase, iv);
}

/* ---- whole sets --------------------------------------------------------- */

typedef struct slot {
    size_t idx;
    uint64_t interval;
    uint64_t hash;
    const char *ref;
} slot;

static int
slot_cmp(const void *pa, const void *pb)
{
    const slot *a = pa, *b = pb;

    if (a->interval != b->interval)
        return a->interval < b->interval ? -1 : 1;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return strcmp(a->ref, b->ref);
}

void
strata_watchers_schedule(int64_t *out_due, uint64_t *out_phase,
                         const strata_watchers_watch *watches, size_t n,
                         int64_t now_ms)
{
    slot *s;
    size_t i, start;

    if (n == 0)
        return;
    s = strata_xmalloc(n * sizeof(*s));
    for (i = 0; i < n; i++) {
        s[i].idx = i;
        s[i].interval = clamp_interval(watches[i].interval_ms);
        s[i].hash = strata_watchers_ref_hash(watches[i].ref);
        s[i].ref = watches[i].ref;
    }
    qsort(s, n, sizeof(*s), slot_cmp);
    for (start = 0; start < n;) {
        uint64_t iv = s[start].interval;
        size_t end = start, k, cnt;
        uint64_t step, offset;

        while (end < n && s[end].interval == iv)
            end++;
        cnt = end - start;
        /*
         * The k-th of cnt watches sits at k*iv/cnt, computed without
         * overflowing k*iv; the whole group is shifted by an offset below
         * one step taken from its first hash, so different groups (and
         * different sets) don't all start at phase 0.
         */
        step = iv / cnt;
        offset = step > 0 ? s[start].hash % step : 0;
        for (k = 0; k < cnt; k++) {
            uint64_t ph = k * step + (k * (iv % cnt)) / cnt + offset;
            const strata_watchers_watch *w = &watches[s[start + k].idx];

            ph %= iv;
            if (out_phase != NULL)
                out_phase[s[start + k].idx] = ph;
            out_due[s[start + k].idx] = strata_watchers_next_due(w, ph, now_ms);
        }
        start = end;
    }
    free(s);
}

/* ---- settle window ------------------------------------------------------ */

static int
same(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

void
strata_watchers_settle_init(strata_watchers_settle *s, const char *current)
{
    memset(s, 0, sizeof(*s));
    s->current = current ? strata_xstrdup(current) : NULL;
    s->pending_ms = -1;
}

void
strata_watchers_settle_release(strata_watchers_settle *s)
{
    free(s->current);
    free(s->pending);
    memset(s, 0, sizeof(*s));
    s->pending_ms = -1;
}

int
strata_watchers_settle_observe(strata_watchers_settle *s, const char *digest,
                               int64_t now_ms)
{
    assert(digest != NULL);
    if (same(digest, s->current)) {
        free(s->pending);
        s->pending = NULL;
        s->pending_ms = -1;
        return 0;
    }
    if (!same(digest, s->pending)) {
        free(s->pending);
        s->pending = strata_xstrdup(digest);
        s->pending_ms = now_ms;
    }
    return 1;
}

int64_t
strata_watchers_settle_deadline(const strata_watchers_settle *s,
                                uint64_t window_ms)
{
    if (s->pending == NULL)
        return -1;
    return s->pending_ms + (int64_t) window_ms;
}

int
strata_watchers_settle_take(const char **out_new, char **out_old,
                            strata_watchers_settle *s, int64_t now_ms,
                            uint64_t window_ms)
{
    if (s->pending == NULL || now_ms < s->pending_ms + (int64_t) window_ms)
        return 0;
    *out_old = s->current;
    s->current = s->pending;
    s->pending = NULL;
    s->pending_ms = -1;
    *out_new = s->current;
    return 1;
}
