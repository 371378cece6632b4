/*
 * notify.h - notifications: tell the right people what changed and what
 * strata did, and lose nothing.
 *
 * An event (a flat JSON object, docs/events.md) is routed to every sink of
 * the configuration's `notify:` list whose filters match (event type with
 * `*` and `prefix.*` wildcards, base, image, team, minimum severity), and
 * one outbox row per (event, sink) is written to the sqlite store BEFORE
 * anything is sent. A runner on the libuv loop then claims due rows,
 * delivers them through the sink's backend (webhook, slack, teams,
 * discord, email, exec), and marks them sent; failures are retried with
 * exponential backoff (or after a 429's Retry-After), and after the sink's
 * max_attempts (default 8) a message moves to the dead letters, which
 * `strata notify outbox` lists. Sinks may batch (one digest per window)
 * and be rate limited (a token bucket).
 *
 * Delivery is at least once: a crash between a receiver accepting a
 * message and strata recording it sends it again on restart. Every
 * delivery carries the same idempotency key on each try (the HTTP header
 * X-Strata-Delivery, the mail's Message-ID, the exec sink's
 * STRATA_DELIVERY), so receivers can drop duplicates.
 */
#ifndef STRATA_NOTIFY_H
#define STRATA_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "core.h"
#include "store.h"

typedef struct strata_notify strata_notify;

/* ---- events (event.c) ------------------------------------------------- */

typedef enum strata_notify_severity {
    STRATA_NOTIFY_INFO = 0,
    STRATA_NOTIFY_WARNING,
    STRATA_NOTIFY_CRITICAL,
} strata_notify_severity;

/* The known event types, NULL-terminated ("base.updated", ...). Static. */
const char *const *strata_notify_event_types(void);

/* "info", "warning", "critical"; STRATA_EINVAL for another name. */
int strata_notify_severity_parse(strata_notify_severity *out, const char *name);

/*
 * Checks event against its type's schema (docs/events.md: "type" known,
 * the type's required fields present and strings) and returns a completed
 * copy in *out (new reference): "id" (random when absent), "time" (RFC
 * 3339, now when absent) and "severity" (the type's default when absent)
 * are filled in. STRATA_EINVAL names the first problem.
 */
int strata_notify_event_complete(json_t **out, const json_t *event,
                                 strata_error *err);

/*
 * A sample event of type (NULL: "base.updated") with plausible values, as
 * `strata notify test` sends. New reference; NULL for an unknown type.
 */
json_t *strata_notify_event_sample(const char *type);

/* ---- text (template.c) ------------------------------------------------ */

/*
 * Expands a template: "{name}" is the event's field name (strings as they
 * are, numbers and booleans printed, null or absent as ""), "{name|x}"
 * gives x when the field is absent, null or empty, "{name_short}" shortens
 * a digest field to "sha256:" and 12 hex digits, and "{{" is a literal
 * "{". New string, never NULL.
 */
char *strata_notify_expand(const char *tmpl, const json_t *event);

/*
 * The event's human-readable title and text: the sink's templates (NULL:
 * the type's built-in ones). *out_title and *out_text are new strings.
 */
void strata_notify_render(char **out_title, char **out_text,
                          const json_t *event, const char *title_tmpl,
                          const char *text_tmpl);

/* ---- routing (route.c) ------------------------------------------------ */

/* True when pattern ("*", "rebuild.*", "pr.opened") matches type. */
int strata_notify_type_matches(const char *pattern, const char *type);

/*
 * True when the sink takes event (a completed one): its events list,
 * then each filter that is set (bases and images as fnmatch globs, teams
 * exactly, the minimum severity). An event without the field a filter
 * needs does not match that filter.
 */
int strata_notify_route_matches(const strata_config_notify *sink,
                                const json_t *event);

/* ---- the notifier (notify.c, outbox.c) --------------------------------- */

typedef struct strata_notify_options {
    uint64_t backoff_ms;     /* first retry delay; 0: 30 s */
    uint64_t backoff_max_ms; /* longest retry delay; 0: 1 h */
    uint32_t timeout_ms;     /* one delivery attempt; 0: 30 s */
    int batch_max;           /* most events in one digest; 0: 50 */
    const char *ca_file;     /* CA bundle for HTTPS and SMTPS, or NULL */
} strata_notify_options;

/*
 * Creates a notifier for the sinks (borrowed from the configuration, which
 * must outlive it) on loop, writing to st (may be NULL for a notifier that
 * only sends tests; st must outlive the notifier). Nothing is sent before
 * strata_notify_start(). opts may be NULL. STRATA_EINVAL for a sink whose
 * type has no backend. *out is released with strata_notify_close().
 */
int strata_notify_new(strata_notify **out, uv_loop_t *loop, strata_store *st,
                      const strata_config_notify *sinks, size_t nsinks,
                      const strata_notify_options *opts, strata_error *err);

/*
 * Completes event (strata_notify_event_complete), routes it and writes one
 * outbox row per matching sink, all in one transaction, before returning;
 * a started notifier then sends them from the loop. The delivery key of a
 * row is derived from the event's id and the sink's name, so enqueueing an
 * event with the same id again (say, after a restart) adds nothing: give
 * events stable ids where a repeat is possible. *out_count (may be NULL)
 * is the number of sinks the event was routed to. STRATA_EINVAL for a bad
 * event or a notifier without a store; store errors as they come.
 */
int strata_notify_enqueue(size_t *out_count, strata_notify *n,
                          const json_t *event, strata_error *err);

/*
 * Starts delivering: messages a crashed process left "sending" go back to
 * pending (same delivery keys), then every due message is sent; later
 * ones are sent when due. Returns store errors; STRATA_EINVAL without a
 * store.
 */
int strata_notify_start(strata_notify *n, strata_error *err);

/*
 * cb (NULL: none) runs from the loop each time the runner has nothing in
 * flight and nothing due now (what remains, if anything, is scheduled for
 * later or dead), and once soon after this call if that is so already.
 * `strata run --once` closes the notifier from it.
 */
typedef void (*strata_notify_idle_cb)(strata_notify *n, void *arg);
void strata_notify_on_idle(strata_notify *n, strata_notify_idle_cb cb,
                           void *arg);

/*
 * How many times the store failed the notifier where no caller could be
 * told: claiming a message, recording it sent or failed, asking when the
 * next is due (each is logged). The message stays in the outbox and is
 * sent later; `strata run --once` exits 1 when any happened. NULL: 0.
 */
int strata_notify_errors(const strata_notify *n);

/*
 * Sends event (NULL: a sample base.updated) to the sink named sink right
 * away, bypassing routing, batching, rate limits and the outbox: for
 * `strata notify test`. cb runs exactly once from the loop with NULL on
 * success or the error (STRATA_EHTTP with the status, STRATA_ENET, ...),
 * unless this returns an error (STRATA_ENOTFOUND: no such sink;
 * STRATA_EINVAL: a bad event).
 */
typedef void (*strata_notify_result_cb)(const strata_error *err, void *arg);
int strata_notify_send_test(strata_notify *n, const char *sink,
                            const json_t *event, strata_notify_result_cb cb,
                            void *arg, strata_error *err);

/* The sink's configuration, or NULL when there is no sink of that name. */
const strata_config_notify *strata_notify_sink(const strata_notify *n,
                                               const char *name);

/*
 * Stops sending and releases n: HTTP deliveries under way are cancelled
 * (their messages go back to pending for the next start), exec children
 * are killed and mail transfers are waited for. cb (may be NULL) runs
 * from the loop once every handle is closed and n is freed; the store must
 * stay open until then. n may be NULL (cb is then not called).
 */
typedef void (*strata_notify_close_cb)(void *arg);
void strata_notify_close(strata_notify *n, strata_notify_close_cb cb,
                         void *arg);

/*
 * The outbox for the CLI and the HTTP API: messages with id > after_id,
 * at most limit (<= 0: all), only those in state (-1: any; a
 * strata_store_outbox_state), as strata_store_outbox_list describes. New
 * reference.
 */
int strata_notify_outbox_list(json_t **out, strata_store *st, int state,
                              int64_t after_id, int limit, strata_error *err);

#endif
