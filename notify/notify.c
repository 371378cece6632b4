/*
 * notify.c - the notifier object: its sinks (each bound to a backend by
 * type name), enqueueing (route an event, write one outbox row per
 * matching sink in one transaction), test sends that bypass the outbox,
 * the end of every attempt (record the outcome, or report it) and close.
 * The runner that claims and sends outbox rows is in outbox.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify-int.h"

static const strata_notify__backend *const backends[] = {
    &strata_notify__webhook, &strata_notify__slack, &strata_notify__teams,
    &strata_notify__discord, &strata_notify__email, &strata_notify__exec,
};

const strata_notify__backend *
strata_notify__backend_lookup(const char *type)
{
    size_t i;

    for (i = 0; type != NULL && i < sizeof(backends) / sizeof(backends[0]); i++)
        if (strcmp(backends[i]->type, type) == 0)
            return backends[i];
    return NULL;
}

strata_notify__result *
strata_notify__fail(strata_notify__result *r, int code, int permanent,
                    const char *fmt, ...)
{
    va_list ap;

    r->ok = 0;
    r->code = code;
    r->permanent = permanent;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
    return r;
}

int
strata_notify_new(strata_notify **out, uv_loop_t *loop, strata_store *st,
                  const strata_config_notify *sinks, size_t nsinks,
                  const strata_notify_options *opts, strata_error *err)
{
    strata_notify *n;
    size_t i;
    int rc;

    *out = NULL;
    n = strata_xcalloc(1, sizeof(*n));
    n->loop = loop;
    n->st = st;
    if (opts != NULL)
        n->opts = *opts;
    if (n->opts.backoff_ms == 0)
        n->opts.backoff_ms = 30 * 1000;
    if (n->opts.backoff_max_ms == 0)
        n->opts.backoff_max_ms = 60 * 60 * 1000;
    if (n->opts.timeout_ms == 0)
        n->opts.timeout_ms = 30 * 1000;
    if (n->opts.batch_max <= 0)
        n->opts.batch_max = 50;
    n->nsinks = nsinks;
    n->sinks = strata_xcalloc(nsinks > 0 ? nsinks : 1, sizeof(*n->sinks));
    for (i = 0; i < nsinks; i++) {
        const char *type = strata_config_notify_type_name(sinks[i].type);

        n->sinks[i].cfg = &sinks[i];
        n->sinks[i].backend = strata_notify__backend_lookup(type);
        n->sinks[i].tokens = sinks[i].rate_messages;
        n->sinks[i].refill_ms = strata_now_ms();
        if (n->sinks[i].backend == NULL) {
            rc = strata_error_set(err, STRATA_EINVAL,
                                  "notification '%s' has type '%s', which "
                                  "has no backend",
                                  sinks[i].name, type);
            goto fail;
        }
    }
    if ((rc = strata_http_new(&n->http, loop, err)) != 0)
        goto fail;
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    *out = n;
    return 0;
fail:
    free(n->sinks);
    free(n);
    return rc;
}

const strata_config_notify *
strata_notify_sink(const strata_notify *n, const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < n->nsinks; i++)
        if (n->sinks[i].cfg->name != NULL &&
            strcmp(n->sinks[i].cfg->name, name) == 0)
            return n->sinks[i].cfg;
    return NULL;
}

/* The delivery key of event id to sink: stable, so a repeat is a no-op. */
static char *
delivery_key(const char *event_id, const char *sink)
{
    char hex[65];
    char *text = strata_xasprintf("%s\n%s", event_id, sink);

    strata_sha256_hex(hex, text, strlen(text));
    free(text);
    hex[32] = '\0';
    return strata_xstrdup(hex);
}

int
strata_notify_enqueue(size_t *out_count, strata_notify *n, const json_t *event,
                      strata_error *err)
{
    json_t *e = NULL;
    int64_t now = strata_now_ms();
    size_t i, count = 0;
    int rc;

    if (out_count != NULL)
        *out_count = 0;
    if (n->st == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "this notifier has no state store");
    if ((rc = strata_notify_event_complete(&e, event, err)) != 0)
        return rc;
    if ((rc = strata_store_begin(n->st, err)) != 0)
        goto out;
    for (i = 0; i < n->nsinks; i++) {
        const strata_config_notify *cfg = n->sinks[i].cfg;
        strata_store_outbox_spec spec = {0};
        int64_t id, due = 0;
        char *key;

        if (!strata_notify_route_matches(cfg, e))
            continue;
        /*
         * A batching sink sends when its window closes: the window opens
         * with the first pending message and every later one joins it.
         */
        if (cfg->batch_ms > 0) {
            if ((rc = strata_store_outbox_next_due(&due, n->st, cfg->name,
                                                   err)) != 0)
                break;
            spec.not_before_ms = due != 0 ? (due > now ? due : now)
                                          : now + (int64_t) cfg->batch_ms;
        }
        key = delivery_key(json_string_value(json_object_get(e, "id")),
                           cfg->name);
        spec.delivery = key;
        spec.sink = cfg->name;
        spec.event_type = json_string_value(json_object_get(e, "type"));
        spec.payload = e;
        spec.max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 8;
        rc = strata_store_outbox_add(&id, NULL, n->st, &spec, err);
        free(key);
        if (rc != 0)
            break;
        count++;
    }
    if (rc != 0) {
        strata_store_rollback(n->st);
        goto out;
    }
    if ((rc = strata_store_commit(n->st, err)) != 0) {
        strata_store_rollback(n->st);
        goto out;
    }
    log_debug("notify: event '%s' (%s) routed to %zu sink(s)",
              json_string_value(json_object_get(e, "type")),
              json_string_value(json_object_get(e, "id")), count);
    if (out_count != NULL)
        *out_count = count;
    strata_notify__kick(n);
out:
    json_decref(e);
    return rc;
}

int
strata_notify_errors(const strata_notify *n)
{
    return n != NULL ? n->store_errors : 0;
}

void
strata_notify_on_idle(strata_notify *n, strata_notify_idle_cb cb, void *arg)
{
    n->idle_cb = cb;
    n->idle_arg = arg;
    /* A notifier that is idle already says so on the next pump. */
    if (cb != NULL)
        strata_notify__kick(n);
}

void
strata_notify__message_text(char **out_title, char **out_text,
                            const strata_notify__attempt *a)
{
    const strata_config_notify *cfg = a->sink->cfg;
    size_t i, count = json_array_size(a->events);
    strata_buf b = STRATA_BUF_INIT;

    if (count == 1) {
        strata_notify_render(out_title, out_text, json_array_get(a->events, 0),
                             cfg->title, cfg->text);
        return;
    }
    /* A digest: one line per event, under a title that counts them. */
    *out_title = strata_xasprintf("strata: %zu events", count);
    for (i = 0; i < count; i++) {
        char *title, *text;

        strata_notify_render(&title, &text, json_array_get(a->events, i),
                             cfg->title, cfg->text);
        strata_buf_printf(&b, "%s- %s", i > 0 ? "\n" : "", title);
        free(title);
        free(text);
    }
    *out_text = strata_buf_detach(&b);
}

void
strata_notify__attempt_free(strata_notify__attempt *a)
{
    strata_notify__attempt **pp;

    if (a == NULL)
        return;
    for (pp = &a->n->attempts; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    }
    json_decref(a->events);
    free(a->delivery);
    free(a->attempt_id);
    strata_store_outbox_msgs_free(a->msgs, a->nmsgs);
    free(a);
}

int
strata_notify_send_test(strata_notify *n, const char *sink, const json_t *event,
                        strata_notify_result_cb cb, void *arg,
                        strata_error *err)
{
    strata_notify__attempt *a;
    json_t *sample = NULL, *e = NULL;
    char *hex;
    size_t i;
    int rc;

    for (i = 0; i < n->nsinks; i++)
        if (n->sinks[i].cfg->name != NULL &&
            strcmp(n->sinks[i].cfg->name, sink) == 0)
            break;
    if (i == n->nsinks)
        return strata_error_set(err, STRATA_ENOTFOUND,
                                "no notification sink named '%s'", sink);
    if (event == NULL)
        event = sample = strata_notify_event_sample(NULL);
    rc = strata_notify_event_complete(&e, event, err);
    json_decref(sample);
    if (rc != 0)
        return rc;
    a = strata_xcalloc(1, sizeof(*a));
    a->n = n;
    a->sink = &n->sinks[i];
    a->events = json_array();
    json_array_append_new(a->events, e);
    hex = strata_notify__random_hex(16);
    a->delivery = strata_xasprintf("test-%s", hex);
    free(hex);
    a->test_cb = cb;
    a->test_arg = arg;
    if ((rc = strata_notify__attempt_start(a, err)) != 0) {
        strata_notify__attempt_free(a);
        return rc;
    }
    return 0;
}

int
strata_notify_outbox_list(json_t **out, strata_store *st, int state,
                          int64_t after_id, int limit, strata_error *err)
{
    return strata_store_outbox_list(out, st, after_id, limit, state, err);
}
