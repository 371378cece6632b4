/*
 * rollouts.c - the progressive rollouts over the HTTP API: GET
 * /api/v1/rollouts (?state=, ?limit=), GET /api/v1/rollouts/ID (or
 * /api/v1/rollouts/BASE@DIGEST, percent-encoded) as `strata rollout show
 * --format json` prints it, and POST /api/v1/rollouts/ID/resume and
 * /abort (audited as "api token", and only with api.token set, like
 * POST /api/v1/bases/approve); and their gauges for /metrics.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon-int.h"

void
strata_daemon__on_rollouts(strata_api_req *req, void *arg)
{
    strata_daemon *d = arg;
    strata_error err = {0};
    char *state = NULL, *limit = NULL, *end = NULL;
    json_t *list = NULL, *doc;
    long n = 50;

    if (strata_api_req_query(&state, req, "state", &err) != 0 ||
        strata_api_req_query(&limit, req, "limit", &err) != 0) {
        strata_api_respond_error(req, 400, "%s", err.msg);
        goto out;
    }
    if (limit != NULL &&
        ((n = strtol(limit, &end, 10)) < 1 || n > 1000 || *end != '\0')) {
        strata_api_respond_error(req, 400, "bad 'limit' (1..1000)");
        goto out;
    }
    if (strata_store_rollout_list(&list, d->store, state, (int) n, &err) != 0) {
        strata_api_respond_error(req, 500, "%s", err.msg);
        goto out;
    }
    doc = json_pack("{s:O}", "items", list);
    strata_api_respond_json(req, 200, doc);
    json_decref(doc);
out:
    json_decref(list);
    free(state);
    free(limit);
}

static void
decide(strata_api_req *req, strata_daemon *d, const char *which,
       const char *verb)
{
    strata_error err = {0};
    int64_t id = 0;
    json_t *doc;
    int rc;

    if (d->cfg->api.token == NULL) {
        strata_api_respond_error(req, 403,
                                 "deciding on a rollout over the API needs an "
                                 "API token (api.token): use strata rollout "
                                 "%s",
                                 verb);
        return;
    }
    rc = strata_rollout_find_id(&id, d->store, which, &err);
    if (rc == 0)
        rc = strcmp(verb, "resume") == 0
                 ? strata_rollout_resume(&d->env, id, "api token", &err)
                 : strata_rollout_abort(&d->env, id, "api token", &err);
    if (rc != 0) {
        strata_api_respond_error(req,
                                 rc == STRATA_ENOTFOUND   ? 404
                                 : rc == STRATA_ECONFLICT ? 409
                                 : rc == STRATA_EINVAL    ? 400
                                                          : 500,
                                 "%s", err.msg);
        return;
    }
    if (d->runner != NULL)
        strata_runner_kick(d->runner);
    doc = json_pack("{s:I, s:s, s:s}", "rollout", (json_int_t) id, "done", verb,
                    "by", "api token");
    strata_api_respond_json(req, 200, doc);
    json_decref(doc);
}

void
strata_daemon__on_rollout(strata_api_req *req, void *arg)
{
    strata_daemon *d = arg;
    const char *rest = strata_api_req_path_rest(req);
    const char *slash = strchr(rest, '/');
    strata_error err = {0};
    char *which;
    json_t *ro = NULL;
    int rc;

    which = strata_url_decode(
        NULL, rest, slash ? (size_t) (slash - rest) : strlen(rest), 0);
    if (which == NULL || *which == '\0') {
        strata_api_respond_error(req, 400, "bad rollout in the path");
        goto out;
    }
    if (strcmp(strata_api_req_method(req), "POST") == 0) {
        if (slash == NULL ||
            (strcmp(slash + 1, "resume") != 0 && strcmp(slash + 1, "abort"))) {
            strata_api_respond_error(req, 404,
                                     "POST /api/v1/rollouts/ID/resume or "
                                     "/abort");
            goto out;
        }
        decide(req, d, which, slash + 1);
        goto out;
    }
    if (slash != NULL) {
        strata_api_respond_error(req, 404, "no such resource");
        goto out;
    }
    rc = strata_rollout_show(&ro, d->store, which, &err);
    if (rc != 0)
        strata_api_respond_error(req,
                                 rc == STRATA_ENOTFOUND ? 404
                                 : rc == STRATA_EINVAL  ? 400
                                                        : 500,
                                 "%s", err.msg);
    else
        strata_api_respond_json(req, 200, ro);
out:
    json_decref(ro);
    free(which);
}

/* Label value text, escaped. */
static void
label(strata_buf *b, const char *name, const char *v, int first)
{
    strata_buf_printf(b, "%s%s=\"", first ? "" : ",", name);
    strata_prom_label_escape(b, v ? v : "");
    strata_buf_puts(b, "\"");
}

void
strata_daemon__rollout_gauges(strata_buf *out, strata_daemon *d)
{
    strata_error err = {0};
    json_t *list = NULL, *ro, *sg;
    size_t i, k;

    /* The running and halted ones, and the ten newest. */
    if (strata_store_rollout_list(&list, d->store, NULL, 10, &err) != 0) {
        strata_daemon__error(d, "reading rollouts for /metrics", &err);
        return;
    }
    strata_buf_puts(out, "# HELP strata_rollout_stage The rollout's current "
                         "stage, from 1, with its state as a label.\n"
                         "# TYPE strata_rollout_stage gauge\n");
    json_array_foreach (list, i, ro) {
        strata_buf_puts(out, "strata_rollout_stage{");
        strata_buf_printf(
            out, "rollout=\"%lld\"",
            (long long) json_integer_value(json_object_get(ro, "id")));
        label(out, "base", json_string_value(json_object_get(ro, "base")), 0);
        label(out, "digest", json_string_value(json_object_get(ro, "digest")),
              0);
        label(out, "state", json_string_value(json_object_get(ro, "state")), 0);
        strata_buf_printf(
            out, "} %lld\n",
            (long long) json_integer_value(json_object_get(ro, "stage")) + 1);
    }
    strata_buf_puts(out, "# HELP strata_rollout_stage_images Images of a "
                         "rollout's stage: all, and failed.\n"
                         "# TYPE strata_rollout_stage_images gauge\n");
    json_array_foreach (list, i, ro) {
        json_array_foreach (json_object_get(ro, "stages"), k, sg) {
            static const char *const what[] = {"images", "failed"};
            size_t w;

            for (w = 0; w < 2; w++) {
                strata_buf_printf(
                    out, "strata_rollout_stage_images{rollout=\"%lld\"",
                    (long long) json_integer_value(json_object_get(ro, "id")));
                label(out, "base",
                      json_string_value(json_object_get(ro, "base")), 0);
                strata_buf_printf(out, ",stage=\"%zu\",kind=\"%s\"} %lld\n",
                                  k + 1, what[w],
                                  (long long) json_integer_value(
                                      json_object_get(sg, what[w])));
            }
        }
    }
    json_decref(list);
}
