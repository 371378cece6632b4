/*
 * action-notify.c - the `notify` action: a base.updated event about one
 * impacted image (the base, its new digest, the image and its wave), which
 * the notifier routes to the sinks whose filters match, image and team
 * filters included. It needs no network itself, so it never fails for
 * transient reasons; delivery is the outbox's business.
 */
#include "jobs-int.h"

static int
start(strata_runner_job *job, strata_error *err)
{
    const strata_store_job *sj = job->job;

    (void) err;
    strata_jobs_event(job->env, "base.updated", sj->image,
                      json_pack("{s:s, s:s, s:s, s:i}", "image", sj->image,
                                "base", sj->base_ref ? sj->base_ref : "",
                                "new_digest", sj->base_digest, "wave",
                                sj->wave + 1));
    strata_runner_job_done(job, 0, NULL, NULL);
    return 0;
}

const strata_action strata_action_notify = {"notify", start};
