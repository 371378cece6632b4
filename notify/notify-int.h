/*
 * notify-int.h - what the files of the notify module share: the notifier
 * and its sinks, one delivery attempt, and the backends (a struct of
 * function pointers per sink type, one file each, found by type name).
 */
#ifndef STRATA_NOTIFY_INT_H
#define STRATA_NOTIFY_INT_H

#include "notify.h"

typedef struct strata_notify__sink strata_notify__sink;
typedef struct strata_notify__attempt strata_notify__attempt;

/* How an attempt ended. */
typedef struct strata_notify__result {
    int ok;
    int permanent;          /* retrying will not help: dead-letter at once */
    int64_t retry_after_ms; /* from a 429's Retry-After; 0: the backoff */
    long status;            /* HTTP status, exit status; 0: none */
    int code;               /* a STRATA_E* code when !ok */
    char error[256];        /* one line, never a secret */
} strata_notify__result;

/*
 * A backend delivers one message: a single event or a digest of several.
 * HTTP backends only render a JSON body (http-sink.c posts it); the others
 * send themselves. send starts the delivery and, unless it returns an
 * error, calls strata_notify__attempt_done() exactly once, from the loop
 * and never from inside send.
 */
typedef struct strata_notify__backend {
    const char *type; /* "slack": as in the configuration */
    /* New reference: the request body for a->events. */
    json_t *(*render)(const strata_notify__attempt *a);
    int (*send)(strata_notify__attempt *a, strata_error *err);
    /* Cancels a delivery under way at close (may be NULL). */
    void (*cancel)(strata_notify__attempt *a);
} strata_notify__backend;

const strata_notify__backend *strata_notify__backend_lookup(const char *type);

extern const strata_notify__backend strata_notify__webhook;
extern const strata_notify__backend strata_notify__slack;
extern const strata_notify__backend strata_notify__teams;
extern const strata_notify__backend strata_notify__discord;
extern const strata_notify__backend strata_notify__email;
extern const strata_notify__backend strata_notify__exec;

struct strata_notify__sink {
    const strata_config_notify *cfg; /* borrowed from the configuration */
    const strata_notify__backend *backend;
    int busy;          /* one attempt at a time per sink keeps order */
    double tokens;     /* token bucket, when cfg->rate_messages > 0 */
    int64_t refill_ms; /* when tokens was last topped up */
};

struct strata_notify {
    uv_loop_t *loop;
    strata_store *st; /* may be NULL */
    strata_http *http;
    strata_notify_options opts;
    strata_notify__sink *sinks;
    size_t nsinks;
    uv_timer_t timer; /* wakes pump() */
    int started;
    int closing;
    int in_pump;
    int rekick;       /* kicked during pump(): run again at once */
    int close_armed;  /* close may finish when the last attempt ends */
    size_t inflight;  /* attempts under way, tests included */
    int store_errors; /* strata_notify_errors */
    strata_notify__attempt *attempts; /* under way, for close */
    strata_notify_idle_cb idle_cb;
    void *idle_arg;
    strata_notify_close_cb close_cb;
    void *close_arg;
};

/* One delivery of one message to one sink. */
struct strata_notify__attempt {
    strata_notify *n;
    strata_notify__sink *sink;
    json_t *events;                 /* array of >= 1 completed events (owned) */
    char *delivery;                 /* X-Strata-Delivery */
    char *attempt_id;               /* the outbox claim's id; NULL for a test */
    strata_store_outbox_msg **msgs; /* the claimed rows; NULL for a test */
    size_t nmsgs;
    strata_notify_result_cb test_cb; /* for a test */
    void *test_arg;
    void *backend_state;          /* the backend's, freed by it before done */
    strata_notify__attempt *next; /* in n->attempts */
};

/* ---- event.c ---- */

/* What the module knows about one event type. */
typedef struct strata_notify__type {
    const char *type;
    strata_notify_severity severity; /* the default */
    const char *required[4];         /* string fields it must have */
    const char *title;               /* built-in templates */
    const char *text;
} strata_notify__type;

/* The entry for type, or NULL. */
const strata_notify__type *strata_notify__type_find(const char *type);

/* ---- notify.c ---- */

/*
 * Ends attempt a with r (the backend's only call): records the outcome
 * (outbox) or reports it (test), frees a and wakes the runner.
 */
void strata_notify__attempt_done(strata_notify__attempt *a,
                                 const strata_notify__result *r);

/* Fills r as a failure; returns r. */
strata_notify__result *strata_notify__fail(strata_notify__result *r, int code,
                                           int permanent, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The attempt's title and text (a digest's summary for several events). */
void strata_notify__message_text(char **out_title, char **out_text,
                                 const strata_notify__attempt *a);

/* Random lowercase hex of 2 * nbytes digits (OpenSSL RAND_bytes). */
char *strata_notify__random_hex(size_t nbytes);

/* ---- http-sink.c ---- */

/* Posts the backend's rendered body (render must be set); see send. */
int strata_notify__http_send(strata_notify__attempt *a, strata_error *err);

/* "sha256=<hex>": HMAC-SHA256 of data under key. New string. */
char *strata_notify__signature(const char *key, const void *data, size_t len);

/* ---- outbox.c ---- */

/* Schedules pump() on the next loop turn (no-op unless started). */
void strata_notify__kick(strata_notify *n);

/* Starts attempt a through its sink's backend; see send. */
int strata_notify__attempt_start(strata_notify__attempt *a, strata_error *err);

/* Frees a (not under way any more). */
void strata_notify__attempt_free(strata_notify__attempt *a);

/* ---- template.c ---- */

/*
 * Label/value pairs worth showing as facts for event ("Base", "New
 * digest", ...): a JSON array of [label, value] string pairs. New.
 */
json_t *strata_notify__facts(const json_t *event);

/* The event's link (pr_url, url), or NULL. Borrowed from event. */
const char *strata_notify__link(const json_t *event);

/* A copy of s cut to at most max bytes (UTF-8 safe), "…" marking a cut. */
char *strata_notify__truncate(const char *s, size_t max);

#endif
