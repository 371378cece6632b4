/*
 * action-notify.c - the `notify` action: a base.updated event about one
 * impacted image (the base, its new digest, the image and its wave), which
 * the notifier routes to the sinks whose filters match, image and team
 * filters included. It needs no network itself; it fails only when the
 * store cannot record the event (and then retries). Delivery is the
 * outbox's business.
 */
#include "jobs-int.h"

static int
start(strata_runner_job *job, strata_error *err)
{
    const strata_store_job *sj = job->job;
    int rc;

    /*
     * Keyed by the job: after a crash between this event and the job's
     * completion, the rerun finds the event and its outbox rows and sends
     * nothing under a second delivery key. A store error (a full disk)
     * fails the attempt, and the job retries: nothing is lost.
     */
    rc = strata_jobs_job_event(
        job, 0, "base.updated", sj->image,
        json_pack("{s:s, s:s, s:s, s:i}", "image", sj->image, "base",
                  sj->base_ref ? sj->base_ref : "", "new_digest",
                  sj->base_digest, "wave", sj->wave + 1),
        err);
    if (rc != 0)
        return rc;
    strata_runner_job_done(job, 0, NULL, NULL);
    return 0;
}

const strata_action strata_action_notify = {"notify", start};
