/*
 * outbox.c - the runner that empties the outbox on the loop. pump() runs
 * from the notifier's one timer: for each sink with nothing in flight it
 * takes a token from the sink's bucket (when rate limited), claims the
 * due rows (one, or up to batch_max for a batching sink: one digest) and
 * starts an attempt; then it re-arms the timer for the earliest row or
 * token that is not due yet. An attempt's end records each row as sent,
 * back to pending after a backoff (or a 429's Retry-After), or dead, and
 * kicks pump() again. One attempt per sink at a time keeps each sink's
 * messages in order.
 */
#include <stdlib.h>
#include <string.h>

#include "notify-int.h"

static void on_timer(uv_timer_t *t);

void
strata_notify__kick(strata_notify *n)
{
    if (!n->started || n->closing)
        return;
    /* pump() re-arms the timer when it ends: tell it to come back now. */
    if (n->in_pump)
        n->rekick = 1;
    else
        uv_timer_start(&n->timer, on_timer, 0, 0);
}

/* The delay before retry number attempts + 1: doubling, capped, +0-10%. */
static uint64_t
backoff(const strata_notify *n, int attempts)
{
    return strata_backoff_ms(n->opts.backoff_ms,
                             attempts > 1 ? (unsigned) attempts - 1 : 0,
                             n->opts.backoff_max_ms);
}

/*
 * Tops up the sink's bucket: rate_messages tokens per rate_per_ms, at most
 * rate_messages. Returns 0 when a token is there, else the wait in ms.
 */
static int64_t
token_wait(strata_notify__sink *s, int64_t now)
{
    double per = (double) s->cfg->rate_per_ms, cap = s->cfg->rate_messages;

    if (s->cfg->rate_messages <= 0 || per <= 0)
        return 0;
    if (now > s->refill_ms) {
        s->tokens += (double) (now - s->refill_ms) * cap / per;
        if (s->tokens > cap)
            s->tokens = cap;
        s->refill_ms = now;
    }
    if (s->tokens >= 1.0)
        return 0;
    return (int64_t) ((1.0 - s->tokens) * per / cap) + 1;
}

/* One delivery key for a digest: the same rows give the same key. */
static char *
digest_key(strata_store_outbox_msg **msgs, size_t n)
{
    strata_buf b = STRATA_BUF_INIT;
    char hex[65];
    size_t i;

    if (n == 1)
        return strata_xstrdup(msgs[0]->delivery);
    for (i = 0; i < n; i++)
        strata_buf_printf(&b, "%s\n", msgs[i]->delivery);
    strata_sha256_hex(hex, b.ptr, b.len);
    strata_buf_release(&b);
    hex[32] = '\0';
    return strata_xstrdup(hex);
}

int
strata_notify__attempt_start(strata_notify__attempt *a, strata_error *err)
{
    const strata_notify__backend *be = a->sink->backend;
    int rc;

    a->next = a->n->attempts;
    a->n->attempts = a;
    a->n->inflight++;
    rc = be->render != NULL ? strata_notify__http_send(a, err)
                            : be->send(a, err);
    if (rc != 0) {
        a->n->attempts = a->next;
        a->n->inflight--;
    }
    return rc;
}

/*
 * The store failed where nobody can be told: logged and counted
 * (strata_notify_errors). The row stays as it was (pending, or "sending"
 * until the next start recovers it): nothing is lost, it is sent later.
 */
static void
store_error(strata_notify *n, const strata_notify__sink *s,
            const strata_error *err)
{
    log_error("notify: sink '%s': %s", s->cfg->name, err->msg);
    n->store_errors++;
}

/* Claims and starts the next message of sink s; 1 when one started. */
static int
start_sink(strata_notify *n, strata_notify__sink *s, int64_t *wake)
{
    strata_store_outbox_msg **msgs = NULL;
    strata_notify__attempt *a;
    strata_error err = {0};
    strata_notify__result r = {0};
    int64_t now = strata_now_ms(), due = 0, wait;
    char *attempt_id;
    size_t i, nmsgs = 0;

    if ((wait = token_wait(s, now)) > 0) {
        if (*wake == 0 || now + wait < *wake)
            *wake = now + wait;
        return 0;
    }
    attempt_id = strata_notify__random_hex(8);
    if (strata_store_outbox_claim(&msgs, &nmsgs, n->st, s->cfg->name,
                                  s->cfg->batch_ms > 0 ? n->opts.batch_max : 1,
                                  attempt_id, &err) != 0) {
        store_error(n, s, &err);
        free(attempt_id);
        return 0;
    }
    if (nmsgs == 0) {
        free(attempt_id);
        if (strata_store_outbox_next_due(&due, n->st, s->cfg->name, &err) != 0)
            store_error(n, s, &err);
        else if (due != 0 && (*wake == 0 || due < *wake))
            *wake = due > now ? due : now + 1;
        return 0;
    }
    if (s->cfg->rate_messages > 0)
        s->tokens -= 1.0;
    a = strata_xcalloc(1, sizeof(*a));
    a->n = n;
    a->sink = s;
    a->attempt_id = attempt_id;
    a->msgs = msgs;
    a->nmsgs = nmsgs;
    a->events = json_array();
    for (i = 0; i < nmsgs; i++)
        json_array_append(a->events, msgs[i]->payload);
    a->delivery = digest_key(msgs, nmsgs);
    s->busy = 1;
    log_debug("notify: sink '%s': sending %zu event(s) as delivery %s",
              s->cfg->name, nmsgs, a->delivery);
    if (strata_notify__attempt_start(a, &err) != 0) {
        /* Recorded like any failure; done() frees a and kicks. */
        a->next = n->attempts;
        n->attempts = a;
        n->inflight++;
        strata_notify__attempt_done(
            a, strata_notify__fail(&r, err.code, 0, "%s", err.msg));
    }
    return 1;
}

static void
pump(strata_notify *n)
{
    int64_t wake = 0, now;
    size_t i;
    int started = 0;

    if (!n->started || n->closing)
        return;
    n->in_pump = 1;
    n->rekick = 0;
    for (i = 0; i < n->nsinks && !n->closing; i++)
        if (!n->sinks[i].busy)
            started += start_sink(n, &n->sinks[i], &wake);
    n->in_pump = 0;
    if (n->closing)
        return;
    now = strata_now_ms();
    if (n->rekick)
        wake = now;
    if (wake != 0)
        uv_timer_start(&n->timer, on_timer,
                       (uint64_t) (wake > now ? wake - now : 0), 0);
    /* Idle: nothing in flight and nothing due before the next wake. */
    if (started == 0 && n->inflight == 0 && (wake == 0 || wake > now) &&
        n->idle_cb != NULL)
        n->idle_cb(n, n->idle_arg);
}

static void
on_timer(uv_timer_t *t)
{
    pump(t->data);
}

int
strata_notify_start(strata_notify *n, strata_error *err)
{
    int count = 0;
    int rc;

    if (n->st == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "this notifier has no state store");
    if ((rc = strata_store_outbox_recover(&count, n->st, err)) != 0)
        return rc;
    if (count > 0)
        log_info("notify: %d message(s) were being sent when strata "
                 "stopped; sending them again (same delivery keys)",
                 count);
    n->started = 1;
    strata_notify__kick(n);
    return 0;
}

/* Records r for every row of outbox attempt a. */
static void
record(strata_notify__attempt *a, const strata_notify__result *r)
{
    strata_notify *n = a->n;
    strata_error err = {0};
    int64_t now = strata_now_ms();
    size_t i;

    for (i = 0; i < a->nmsgs; i++) {
        strata_store_outbox_msg *m = a->msgs[i];
        int64_t delay;
        int dead = 0;

        if (r->ok) {
            if (strata_store_outbox_sent(n->st, m->id, a->attempt_id, &err) !=
                0)
                store_error(n, a->sink, &err);
            continue;
        }
        /* A delivery cut short by close is simply due at the next start. */
        if (n->closing && r->code == STRATA_ECANCELED)
            delay = 0;
        else if (r->retry_after_ms > 0)
            delay = r->retry_after_ms;
        else
            delay = backoff(n, m->attempts);
        if (strata_store_outbox_fail(&dead, n->st, m->id, a->attempt_id,
                                     r->error, now + delay, r->permanent,
                                     &err) != 0) {
            store_error(n, a->sink, &err);
            continue;
        }
        if (dead)
            log_warn("notify: sink '%s': message %lld (%s) dead-lettered "
                     "after %d attempt(s): %s",
                     a->sink->cfg->name, (long long) m->id, m->event_type,
                     m->attempts, r->error);
        else
            log_info("notify: sink '%s': message %lld failed (attempt %d of "
                     "%d), retry in %lld ms: %s",
                     a->sink->cfg->name, (long long) m->id, m->attempts,
                     m->max_attempts, (long long) delay, r->error);
    }
}

static void
on_timer_close(uv_handle_t *h)
{
    strata_notify *n = h->data;
    strata_notify_close_cb cb = n->close_cb;
    void *arg = n->close_arg;

    free(n->sinks);
    free(n);
    if (cb != NULL)
        cb(arg);
}

static void
finish_close(strata_notify *n)
{
    uv_close((uv_handle_t *) &n->timer, on_timer_close);
}

void
strata_notify__attempt_done(strata_notify__attempt *a,
                            const strata_notify__result *r)
{
    strata_notify *n = a->n;

    if (a->test_cb != NULL) {
        strata_error err = {0};

        if (!r->ok)
            strata_error_set(&err, r->code != 0 ? r->code : STRATA_EINTERNAL,
                             "%s", r->error);
        a->test_cb(r->ok ? NULL : &err, a->test_arg);
    } else if (a->msgs != NULL) {
        record(a, r);
        a->sink->busy = 0;
    }
    n->inflight--;
    strata_notify__attempt_free(a);
    if (n->closing) {
        if (n->inflight == 0 && n->close_armed)
            finish_close(n);
        return;
    }
    strata_notify__kick(n);
}

void
strata_notify_close(strata_notify *n, strata_notify_close_cb cb, void *arg)
{
    strata_notify__attempt *a, *next;

    if (n == NULL || n->closing)
        return;
    n->closing = 1;
    uv_timer_stop(&n->timer);
    /*
     * While cancelling, attempts may end from inside this function; only
     * the last lines below may finish the close.
     */
    for (a = n->attempts; a != NULL; a = next) {
        next = a->next;
        if (a->sink->backend->cancel != NULL)
            a->sink->backend->cancel(a);
    }
    strata_http_close(n->http);
    n->http = NULL;
    n->close_cb = cb;
    n->close_arg = arg;
    n->close_armed = 1;
    if (n->inflight == 0)
        finish_close(n);
}
