/*
 * stream.c - GET /api/v1/stream: the event log as Server-Sent Events, for
 * the dashboard (and anyone with curl -N).
 *
 * Each subscriber has a cursor, the id of the last event it was sent. A
 * timer every 250 ms reads the newest event id (one indexed max(id)) and
 * sends each subscriber that is behind the events after its cursor, in
 * pages through the events table's primary key, as
 *
 *     id: 42
 *     data: {"id": 42, "time": ..., "type": ..., "subject": ..., ...}
 *
 * (the objects GET /api/v1/events lists). Tailing the table, rather than
 * a hook in every place that appends an event, also sees events the CLI
 * (strata approve) writes into the same store. A new subscriber starts
 * at the newest event, or after the id its Last-Event-ID header names
 * (a reconnecting client misses nothing). Every 15 s an idle subscriber
 * gets a comment line, so proxies and the client see the connection
 * live. At most 64 subscribers (503 beyond). Each may have 256 KiB
 * waiting (the API's stream backlog cap): a slow reader is sent no more
 * once half of that waits, and catches up from the store as it reads; one
 * that takes nothing for 30 s is dropped (it reconnects with its
 * Last-Event-ID). An event over 64 KiB goes without its payload.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon-int.h"

#define MAX_SUBS 64
#define TICK_MS 250
#define PING_MS 15000
#define PAGE 100
#define PAGES_PER_TICK 5
#define BACKLOG (256 * 1024)
#define MAX_EVENT (64 * 1024)
#define STUCK_MS 30000

struct strata_daemon_sub {
    strata_daemon *d;
    strata_api_stream *s;
    int64_t cursor; /* the last event id sent */
    int64_t sent_at;
    int64_t behind_since; /* since when half its backlog waits; 0: not */
    struct strata_daemon_sub *prev, *next;
};
typedef struct strata_daemon_sub sub;

static void
unlink_sub(strata_daemon *d, sub *u)
{
    if (u->prev != NULL)
        u->prev->next = u->next;
    else
        d->subs = u->next;
    if (u->next != NULL)
        u->next->prev = u->prev;
    d->nsubs--;
    if (d->nsubs == 0)
        uv_timer_stop(&d->stream_timer);
    free(u);
}

/* The API closed the stream: the client went away, or the server is
 * closing. */
static void
on_sub_closed(strata_api_stream *s, void *arg)
{
    sub *u = arg;

    log_debug("api: event stream subscriber left (%zu left)", u->d->nsubs - 1);
    unlink_sub(u->d, u);
}

/* Ends u's stream from our side (a slow client) and forgets it. */
static void
drop(strata_daemon *d, sub *u, const strata_error *err)
{
    log_info("api: dropping an event stream subscriber: %s", err->msg);
    strata_api_stream_end(u->s);
    unlink_sub(d, u);
}

/*
 * One event as SSE into b. An event over MAX_EVENT (a huge payload) goes
 * as its envelope with "payload": null and "truncated": true, so that no
 * single event can take a client over its backlog and drop it at every
 * reconnection; GET /api/v1/events has it whole.
 */
static void
format_event(strata_buf *b, json_t *e)
{
    char *s = json_dumps(e, JSON_COMPACT);
    int64_t id = json_integer_value(json_object_get(e, "id"));

    if (s != NULL && strlen(s) > MAX_EVENT) {
        json_t *stub = json_pack(
            "{s:O, s:O, s:O, s:O, s:n, s:b}", "id", json_object_get(e, "id"),
            "time", json_object_get(e, "time"), "type",
            json_object_get(e, "type"), "subject",
            json_object_get(e, "subject"), "payload", "truncated", 1);

        free(s);
        s = stub != NULL ? json_dumps(stub, JSON_COMPACT) : NULL;
        json_decref(stub);
    }
    if (s == NULL)
        return;
    /* Compact JSON has no newline, so one data line is enough. */
    strata_buf_printf(b, "id: %lld\ndata: %s\n\n", (long long) id, s);
    free(s);
}

/*
 * Sends u what follows its cursor, up to last, paced: no more this tick
 * once half its backlog waits (a slow reader falls behind, and catches up
 * from the store later, rather than being dropped). 0, or -1 when u was
 * dropped (and freed).
 */
static int
pump(strata_daemon *d, sub *u, int64_t last)
{
    strata_buf b = STRATA_BUF_INIT;
    strata_error err = {0};
    int pages = 0;

    while (u->cursor < last && pages++ < PAGES_PER_TICK &&
           strata_api_stream_backlog(u->s) < BACKLOG / 2) {
        json_t *items = NULL, *e;
        size_t i;

        if (strata_store_event_list(&items, d->store, u->cursor, PAGE, NULL,
                                    &err) != 0) {
            log_warn("api: event stream: %s", err.msg);
            break;
        }
        if (json_array_size(items) == 0) {
            json_decref(items);
            u->cursor = last;
            break;
        }
        json_array_foreach (items, i, e) {
            strata_buf_reset(&b);
            format_event(&b, e);
            if (b.len > 0 &&
                strata_api_stream_write(u->s, b.ptr, b.len, &err) != 0) {
                json_decref(items);
                strata_buf_release(&b);
                drop(d, u, &err);
                return -1;
            }
            u->cursor = json_integer_value(json_object_get(e, "id"));
            u->sent_at = strata_now_ms();
            if (strata_api_stream_backlog(u->s) >= BACKLOG / 2)
                break;
        }
        json_decref(items);
    }
    strata_buf_release(&b);
    return 0;
}

static void
on_tick(uv_timer_t *t)
{
    strata_daemon *d = t->data;
    strata_error err = {0};
    int64_t last = 0, now = strata_now_ms();
    sub *u, *next;

    if (strata_store_event_last_id(&last, d->store, &err) != 0) {
        log_warn("api: event stream: %s", err.msg);
        return;
    }
    for (u = d->subs; u != NULL; u = next) {
        next = u->next;
        if (strata_api_stream_backlog(u->s) < BACKLOG / 2) {
            u->behind_since = 0;
        } else if (u->behind_since == 0) {
            u->behind_since = now;
        } else if (now - u->behind_since > STUCK_MS) {
            log_info("api: dropping an event stream subscriber that took "
                     "nothing for %d s",
                     STUCK_MS / 1000);
            strata_api_stream_abort(u->s);
            unlink_sub(d, u);
            continue;
        }
        if (strata_api_stream_peer_closed(u->s)) {
            log_debug("api: event stream subscriber left (%zu open)",
                      d->nsubs - 1);
            strata_api_stream_end(u->s);
            unlink_sub(d, u);
        } else if (u->cursor < last) {
            pump(d, u, last);
        } else if (now - u->sent_at >= PING_MS) {
            static const char ping[] = ": ping\n\n";
            if (strata_api_stream_write(u->s, ping, sizeof(ping) - 1, &err) !=
                0)
                drop(d, u, &err);
            else
                u->sent_at = now;
        }
    }
}

/* Last-Event-ID as an event id: digits only, else -1. */
static int64_t
last_event_id(strata_api_req *req)
{
    char *v = strata_api_req_header(req, "last-event-id");
    char *end = NULL;
    long long id = -1;

    if (v != NULL && v[0] >= '0' && v[0] <= '9') {
        id = strtoll(v, &end, 10);
        if (*end != '\0' || id < 0)
            id = -1;
    }
    free(v);
    return id;
}

void
strata_daemon__on_stream(strata_api_req *req, void *arg)
{
    static const char hello[] = "retry: 2000\n: strata event stream\n\n";
    strata_daemon *d = arg;
    strata_error err = {0};
    int64_t last = 0, from;
    sub *u;

    /* HEAD: the headers of an endless body, without holding a place. */
    if (strcmp(strata_api_req_method(req), "HEAD") == 0) {
        strata_api_respond(req, 200, "text/event-stream", "", 0);
        return;
    }
    if (d->stopping) {
        strata_api_respond_error(req, 503, "the daemon is stopping");
        return;
    }
    if (d->nsubs >= MAX_SUBS) {
        strata_api_req_add_header(req, "retry-after", "5");
        strata_api_respond_error(
            req, 503, "too many event streams open (at most %d)", MAX_SUBS);
        return;
    }
    if (strata_store_event_last_id(&last, d->store, &err) != 0) {
        strata_api_respond_error(req, 500, "%s", err.msg);
        return;
    }
    from = last_event_id(req);
    u = strata_xcalloc(1, sizeof(*u));
    u->d = d;
    u->cursor = from >= 0 && from < last ? from : last;
    u->sent_at = strata_now_ms();
    if (strata_api_stream_begin(&u->s, req, "text/event-stream", BACKLOG,
                                on_sub_closed, u, &err) != 0) {
        free(u);
        return;
    }
    u->next = d->subs;
    if (u->next != NULL)
        u->next->prev = u;
    d->subs = u;
    d->nsubs++;
    log_debug("api: event stream subscriber from event %lld (%zu open)",
              (long long) u->cursor, d->nsubs);
    if (strata_api_stream_write(u->s, hello, sizeof(hello) - 1, &err) != 0) {
        drop(d, u, &err);
        return;
    }
    if (!uv_is_active((uv_handle_t *) &d->stream_timer))
        uv_timer_start(&d->stream_timer, on_tick, TICK_MS, TICK_MS);
    /* A resuming client gets what it missed now, not at the next tick. */
    if (u->cursor < last)
        pump(d, u, last);
}

void
strata_daemon__stream_init(strata_daemon *d)
{
    uv_timer_init(&d->loop, &d->stream_timer);
    d->stream_timer.data = d;
}

void
strata_daemon__stream_close(strata_daemon *d)
{
    while (d->subs != NULL) {
        sub *u = d->subs;

        strata_api_stream_end(u->s);
        unlink_sub(d, u);
    }
    uv_close((uv_handle_t *) &d->stream_timer, NULL);
}
