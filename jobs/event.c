/*
 * event.c - the one way to record what happened: an event
 * row in the store (which the HTTP API serves), a log line, and, for the
 * types notify knows (docs/events.md), an outbox entry per matching sink.
 * The event row and its outbox rows are written in one transaction. The
 * notified event's id is derived from the store row, so it is unique and a
 * repeat of the same row would add nothing; an event recorded with a key
 * (a job's) is found again under its first id when the job runs again.
 * strata_jobs_event logs and counts a failure to record (the errors that
 * make `run --once` exit 1); strata_jobs_event_once returns it, and so
 * does strata_jobs_job_event, which keys an event by the job that records
 * it.
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

int
strata_jobs_event_once(const strata_runner_env *env, const char *key,
                       const char *type, const char *subject, json_t *payload,
                       strata_error *err)
{
    strata_store_event_spec spec = {0};
    int64_t id = 0;
    int created = 0;
    int rc;

    spec.key = key;
    spec.type = type;
    spec.subject = subject;
    spec.payload = payload;
    spec.time_ms = strata_now_ms();
    /* The event and its outbox rows: both or neither. */
    if ((rc = strata_store_begin(env->store, err)) != 0)
        goto out;
    if ((rc = strata_store_event_add(&id, &created, env->store, &spec, err)) !=
        0)
        goto rollback;
    if (env->notify != NULL && notifiable(type) && json_is_object(payload)) {
        json_t *ev = json_deep_copy(payload);

        json_object_set_new(ev, "type", json_string(type));
        json_object_set_new(ev, "id",
                            json_sprintf("strata-%lld", (long long) id));
        /* Again after a crash: the same id, so nothing is added twice. */
        rc = strata_notify_enqueue(NULL, env->notify, ev, err);
        json_decref(ev);
        if (rc != 0)
            goto rollback;
    }
    if ((rc = strata_store_commit(env->store, err)) != 0)
        goto rollback;
    if (created)
        log_info("event %s %s", type, subject);
    else
        log_info("event %s %s: recorded before, as %lld", type, subject,
                 (long long) id);
    goto out;
rollback:
    strata_store_rollback(env->store);
out:
    json_decref(payload);
    return rc;
}

void
strata_jobs_error(const strata_runner_env *env, int64_t job_id,
                  const char *what, const strata_error *err)
{
    if (job_id != 0)
        strata_log_job(STRATA_LOG_ERROR, job_id, "%s: %s", what, err->msg);
    else
        log_error("%s: %s", what, err->msg);
    if (env != NULL && env->errors != NULL)
        (*env->errors)++;
}

void
strata_jobs_event(const strata_runner_env *env, const char *type,
                  const char *subject, json_t *payload)
{
    strata_error err = {0};
    char *what;

    if (strata_jobs_event_once(env, NULL, type, subject, payload, &err) != 0) {
        what = strata_xasprintf("recording event '%s'", type);
        strata_jobs_error(env, 0, what, &err);
        free(what);
    }
}

int
strata_jobs_job_event(const strata_runner_job *job, int per_attempt,
                      const char *type, const char *subject, json_t *payload,
                      strata_error *err)
{
    char *key = per_attempt
                    ? strata_xasprintf("job %s %s attempt %d", job->job->key,
                                       type, job->job->attempts)
                    : strata_xasprintf("job %s %s", job->job->key, type);
    int rc;

    rc = strata_jobs_event_once(job->env, key, type, subject, payload, err);
    free(key);
    return rc;
}
