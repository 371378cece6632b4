/*
 * event.c - the orchestrator's one way to record what happened: an event
 * row in the store (which the HTTP API serves), a log line, and, for the
 * types notify knows (docs/events.md), an outbox entry per matching sink.
 * The notified event's id is derived from the store row, so it is unique
 * and a repeat of the same row would add nothing. A failure to record is
 * logged, never fatal to the job.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"
#include "notify.h"

static int
notifiable(const char *type)
{
    const char *const *t;

    for (t = strata_notify_event_types(); *t != NULL; t++)
        if (strcmp(*t, type) == 0)
            return 1;
    return 0;
}

void
strata_jobs_event(const strata_runner_env *env, const char *type,
                  const char *subject, json_t *payload)
{
    strata_error err = {0};
    int64_t id = 0;

    if (strata_store_event_append(&id, env->store, type, subject, payload,
                                  strata_now_ms(), &err) != 0) {
        log_error("recording event '%s': %s", type, err.msg);
        json_decref(payload);
        return;
    }
    log_info("event %s %s", type, subject);
    if (env->notify != NULL && notifiable(type) && json_is_object(payload)) {
        json_t *ev = json_deep_copy(payload);

        json_object_set_new(ev, "type", json_string(type));
        json_object_set_new(ev, "id",
                            json_sprintf("strata-%lld", (long long) id));
        if (strata_notify_enqueue(NULL, env->notify, ev, &err) != 0)
            log_warn("notifying '%s': %s", type, err.msg);
        json_decref(ev);
    }
    json_decref(payload);
}
