/*
 * event.c - the orchestrator's one way to record what happened: an event
 * row in the store (which the notify outbox and the HTTP API read) plus a
 * log line. A failure to record is logged, never fatal to the job.
 */
#include <stdlib.h>

#include "orchestrator-int.h"

void
strata_orch__event(const strata_runner_env *env, const char *type,
                   const char *subject, json_t *payload)
{
    strata_error err = {0};

    if (strata_store_event_append(NULL, env->store, type, subject, payload,
                                  strata_now_ms(), &err) != 0)
        log_error("recording event '%s': %s", type, err.msg);
    else
        log_info("event %s %s", type, subject);
    json_decref(payload);
}
