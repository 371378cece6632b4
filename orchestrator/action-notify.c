/*
 * action-notify.c - the `notify` action: records an image.base_updated
 * event for the image, which the notify outbox routes to the sinks whose
 * filters match. It needs no network itself, so it never fails for
 * transient reasons.
 */
#include "orchestrator-int.h"

static int
start(strata_runner_job *job, strata_error *err)
{
    strata_orch__event(job->env, "image.base_updated", job->job->image,
                       json_pack("{s:s, s:s*, s:s, s:i}", "image",
                                 job->job->image, "base", job->job->base_ref,
                                 "base_digest", job->job->base_digest, "wave",
                                 job->job->wave));
    strata_runner_job_done(job, 0, NULL, NULL);
    return 0;
}

const strata_action strata_action_notify = {"notify", start};
