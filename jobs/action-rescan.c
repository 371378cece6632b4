/*
 * action-rescan.c - the `rescan` action: reads the image's current digest
 * from the registry, runs the configured scanner on exactly that digest
 * (scan/run.c), records its findings per digest in the store and
 * compares them with the previous digest of the same image. The job's
 * result is {"image", "digest", "previous", "scanner", "counts", "new",
 * "fixed", "gate"}. New critical or high findings record a
 * rescan.regressed event; the scanner's gate then decides: "fail" fails
 * the job for good (scanning the same digest again finds the same),
 * "warn" and "ignore" let it succeed. The first scan of an image is its
 * baseline and passes.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"
#include "scan.h"

typedef struct rescan_ctx {
    strata_runner_job *job;
    const strata_config_scanner *scanner; /* borrowed from the config */
    char *digest;
} rescan_ctx;

const strata_config_scanner *
strata_jobs__scanner(const strata_config_data *cfg)
{
    size_t i;

    for (i = 0; i < cfg->n_scanners; i++)
        if (strcmp(cfg->scanners[i].name, "default") == 0)
            return &cfg->scanners[i];
    return cfg->n_scanners > 0 ? &cfg->scanners[0] : NULL;
}

void
strata_jobs__scan_opts(strata_scan_run_opts *o, const strata_config_scanner *sc,
                       const char *image, const char *digest)
{
    static const strata_scan_format formats[] = {
        [STRATA_SCANNER_TRIVY] = STRATA_SCAN_TRIVY,
        [STRATA_SCANNER_GRYPE] = STRATA_SCAN_GRYPE,
        [STRATA_SCANNER_SARIF] = STRATA_SCAN_SARIF,
    };

    memset(o, 0, sizeof(*o));
    o->command = sc->command;
    o->format = formats[sc->type];
    o->scanner = sc->name;
    o->image = image;
    o->digest = digest;
    o->timeout_ms = sc->timeout_ms;
}

static strata_scan_gate_action
gate_action(int configured)
{
    switch (configured) {
    case STRATA_GATE_FAIL:
        return STRATA_SCAN_GATE_FAIL;
    case STRATA_GATE_WARN:
        return STRATA_SCAN_GATE_WARN;
    default:
        return STRATA_SCAN_GATE_IGNORE;
    }
}

static void
ctx_done(rescan_ctx *c, int code, const char *error, json_t *result)
{
    strata_runner_job *job = c->job;
    strata_error err = {0};

    /* One rescan.failed per failed attempt; a store that cannot record it
     * is counted (the job fails all the same). */
    if (code != 0 && strata_jobs_job_event(
                         job, 1, "rescan.failed", job->job->image,
                         json_pack("{s:s, s:s*, s:s}", "image", job->job->image,
                                   "digest", c->digest, "error", error),
                         &err) != 0)
        strata_jobs_error(job->env, job->job->id,
                          "recording event 'rescan.failed'", &err);
    strata_runner_job_done(job, code, error, result);
    free(c->digest);
    free(c);
}

/* Records the findings, compares, applies the gate, ends the job. */
static void
conclude(rescan_ctx *c, const strata_scan_report *report, const char *log,
         int64_t exit_status)
{
    strata_runner_job *job = c->job;
    const strata_config_scanner *sc = c->scanner;
    const char *image = job->job->image;
    strata_scan_delta d;
    strata_scan_gate gate = {{0}};
    strata_scan_gate_action verdict;
    strata_error err = {0};
    char *previous = NULL, *reason = NULL, *msg = NULL;
    json_t *result = NULL;

    if (strata_scan_record(&d, &previous, job->env->store, image, c->digest,
                           sc->name, report, &err) != 0) {
        strata_scan_delta_release(&d);
        ctx_done(c, err.code, err.msg, NULL);
        return;
    }
    gate.on_new[STRATA_SCAN_CRITICAL] = gate_action(sc->gate_new_critical);
    gate.on_new[STRATA_SCAN_HIGH] = gate_action(sc->gate_new_high);
    gate.on_new[STRATA_SCAN_MEDIUM] = gate_action(sc->gate_new_medium);
    gate.on_new[STRATA_SCAN_LOW] = gate_action(sc->gate_new_low);
    verdict = strata_scan_gate_check(&reason, &gate, &d);
    result = strata_scan_result_json(&d, image, c->digest, previous, sc->name);
    json_object_set_new(
        result, "gate",
        json_string(verdict == STRATA_SCAN_GATE_IGNORE
                        ? "pass"
                        : strata_scan_gate_action_name(verdict)));
    if (reason != NULL)
        json_object_set_new(result, "gate_reason", json_string(reason));
    if (exit_status != 0)
        json_object_set_new(result, "exit", json_integer(exit_status));
    if (log != NULL && *log != '\0')
        json_object_set_new(result, "log", json_string(log));
    /* The job's events, once each; a store that cannot record one fails
     * the attempt (scanning again is harmless), so none is lost. */
    if (d.has_previous &&
        d.added[STRATA_SCAN_CRITICAL] + d.added[STRATA_SCAN_HIGH] > 0 &&
        strata_jobs_job_event(
            job, 0, "rescan.regressed", image,
            json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "image", image,
                      "digest", c->digest, "previous", previous, "scanner",
                      sc->name, "critical",
                      (json_int_t) d.added[STRATA_SCAN_CRITICAL], "high",
                      (json_int_t) d.added[STRATA_SCAN_HIGH]),
            &err) != 0) {
        ctx_done(c, err.code, err.msg, result);
    } else if (verdict == STRATA_SCAN_GATE_FAIL) {
        /* The same digest scans the same: no retry. */
        job->permanent = 1;
        msg = strata_xasprintf("gate failed: %s", reason);
        ctx_done(c, STRATA_EINVAL, msg, result);
    } else {
        if (verdict == STRATA_SCAN_GATE_WARN)
            strata_log_job(STRATA_LOG_WARN, job->job->id, "%s: %s", image,
                           reason);
        if (strata_jobs_job_event(job, 0, "rescan.succeeded", image,
                                  json_pack("{s:s, s:s, s:s?, s:s, s:O}",
                                            "image", image, "digest", c->digest,
                                            "previous", previous, "scanner",
                                            sc->name, "counts",
                                            json_object_get(result, "counts")),
                                  &err) != 0)
            ctx_done(c, err.code, err.msg, result);
        else
            ctx_done(c, 0, NULL, result);
    }
    free(msg);
    free(reason);
    free(previous);
    strata_scan_delta_release(&d);
}

static void
on_scanned(strata_scan_report *report, const strata_error *err, const char *log,
           int64_t exit_status, void *arg)
{
    rescan_ctx *c = arg;

    if (err != NULL) {
        /* A scanner's failure may be transient (its database, network). */
        ctx_done(c, err->code, err->msg,
                 json_pack("{s:s, s:s, s:s}", "image", c->job->job->image,
                           "digest", c->digest, "log", log));
        return;
    }
    conclude(c, report, log, exit_status);
    strata_scan_report_free(report);
}

static void
on_digest(char *digest, const strata_error *err, void *arg)
{
    rescan_ctx *c = arg;
    strata_runner_job *job = c->job;
    const strata_config_scanner *sc = c->scanner;
    strata_scan_run_opts o = {0};
    strata_error e2 = {0};

    if (err != NULL) {
        ctx_done(c, err->code, err->msg, NULL);
        return;
    }
    c->digest = digest; /* ours now */
    strata_jobs__scan_opts(&o, sc, job->job->image, digest);
    strata_log_job(STRATA_LOG_INFO, job->job->id, "scanning %s@%s with '%s'",
                   job->job->image, digest, sc->name);
    if (strata_scan_run(job->env->loop, &o, on_scanned, c, &e2) != 0)
        ctx_done(c, e2.code, e2.msg, NULL);
}

static int
start(strata_runner_job *job, strata_error *err)
{
    const strata_config_scanner *sc = strata_jobs__scanner(job->env->cfg);
    strata_ref *ref = NULL;
    rescan_ctx *c;
    int rc;

    if (sc == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "no scanner configured for the rescan of '%s' "
                                "(add one under 'scanners')",
                                job->job->image);
    if (job->env->registry == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "no registry client to read the digest of '%s'",
                                job->job->image);
    if ((rc = strata_ref_parse(&ref, job->job->image, err)) != 0)
        return rc;
    c = strata_xcalloc(1, sizeof(*c));
    c->job = job;
    c->scanner = sc;
    rc = strata_registry_digest(job->env->registry, ref, NULL, on_digest, c,
                                err);
    if (rc != 0)
        free(c);
    strata_ref_free(ref);
    return rc;
}

const strata_action strata_action_rescan = {"rescan", start};
