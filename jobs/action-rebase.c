/*
 * action-rebase.c - the `rebase` action: puts an image whose own layers
 * don't depend on its base's contents (distroless, static binaries) onto
 * the base's new layers in the registry, with no build (crane rebase
 * semantics, rebase/rebase.c). The parent to move off is the image's
 * parent on the way from the base that moved: the base itself at the
 * job's digest, or an intermediate image strata rebuilt in an earlier
 * wave at its current digest; the old digest is the one recorded before
 * it. The registry work blocks, so it runs in a worker with its own loop;
 * with `signing.key` the worker loads the key (a secret, never logged) and
 * the new digest is signed and gets its SLSA provenance (rebase/sign.c);
 * without, the job's result says the output is unsigned. The result
 * (digest, blobs mounted or uploaded, signature) lands in the job, and
 * the new digest is recorded as strata's own doing like a rebuild's.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"
#include "rebase.h"
#include "verify.h"

typedef struct rebase_ctx {
    strata_runner_job *job;
    uv_work_t work;
    char *image, *old_base, *new_base, *tag;
    char *key_path; /* signing.key, or NULL: the output is unsigned */
    char *job_id;
    strata_rebase_host *hosts;
    size_t nhosts;
    strata_rebase_result *res;
    strata_error err;
    int rc;
} rebase_ctx;

static void
ctx_free(rebase_ctx *c)
{
    free(c->image);
    free(c->old_base);
    free(c->new_base);
    free(c->tag);
    free(c->key_path);
    free(c->job_id);
    free(c->hosts);
    strata_rebase_result_free(c->res);
    free(c);
}

/* *out: the digest recorded for ref just before digest (new), or NULL. */
static int
previous_digest(char **out, strata_store *st, const char *ref,
                const char *digest, strata_error *err)
{
    json_t *list = NULL, *d;
    const char *prev = NULL;
    size_t i;
    int rc;

    *out = NULL;
    if ((rc = strata_store_digests_list(&list, st, ref, err)) != 0)
        return rc;
    json_array_foreach (list, i, d) {
        const char *dg = json_string_value(json_object_get(d, "digest"));
        if (dg != NULL && strcmp(dg, digest) == 0)
            break;
        prev = dg;
    }
    if (i < json_array_size(list) && prev != NULL)
        *out = strata_xstrdup(prev);
    json_decref(list);
    return 0;
}

/*
 * *out: 1 when strata produced ref's current digest (a rebuild or rebase
 * of an earlier wave), which it then copies into *digest (new). A store
 * error is returned, never taken for "no".
 */
static int
produced_now(int *out, char **digest, strata_store *st, const char *ref,
             strata_error *err)
{
    strata_store_watch_state ws = {0};
    char *produced = NULL, *key = NULL;
    int rc;

    *out = 0;
    rc = strata_store_watch_state_get(&ws, st, ref, err);
    if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
        return 0;
    }
    if (rc != 0 || ws.current_digest == NULL)
        goto out;
    key = strata_xasprintf("produced:%s", ref);
    rc = strata_store_meta_get(&produced, st, key, err);
    if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
        rc = 0;
    } else if (rc == 0 && strcmp(produced, ws.current_digest) == 0) {
        *out = 1;
        *digest = strata_xstrdup(ws.current_digest);
    }
out:
    free(produced);
    free(key);
    strata_store_watch_state_release(&ws);
    return rc;
}

static void
rebase_work(uv_work_t *req)
{
    rebase_ctx *c = req->data;
    strata_verify_signing_key *key = NULL;
    strata_rebase_opts o = {0};

    /* The key first: an unusable key fails the job before any push. */
    if (c->key_path != NULL && (c->rc = strata_verify_signing_key_load(
                                    &key, c->key_path, &c->err)) != 0) {
        strata_error_wrap(&c->err, "signing.key");
        return;
    }
    o.image = c->image;
    o.old_base = c->old_base;
    o.new_base = c->new_base;
    o.tag = c->tag;
    o.hosts = c->hosts;
    o.nhosts = c->nhosts;
    o.signing_key = key;
    o.invocation_id = c->job_id;
    c->rc = strata_rebase_run(&c->res, &o, &c->err);
    strata_verify_signing_key_free(key);
}

static void
rebase_done(uv_work_t *req, int status)
{
    rebase_ctx *c = req->data;
    strata_runner_job *job = c->job;
    strata_error err = {0};
    json_t *result;

    if (status != 0 || c->rc != 0) {
        strata_runner_job_done(job, c->rc ? c->rc : STRATA_ECANCELED,
                               c->rc ? c->err.msg : "cancelled", NULL);
        ctx_free(c);
        return;
    }
    result = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "ref", c->res->ref,
                       "digest", c->res->digest, "old_base", c->old_base,
                       "new_base", c->new_base, "already", c->res->already,
                       "signed", c->res->signature != NULL);
    if (c->res->signature != NULL) {
        /* What admission policies downstream will find. */
        json_object_set_new(result, "signature",
                            json_string(c->res->signature));
        json_object_set_new(result, "provenance",
                            json_string(c->res->attestation));
        json_object_set_new(result, "key",
                            json_string(c->res->key_fingerprint));
    } else {
        json_object_set_new(result, "unsigned",
                            json_string("no signing key configured "
                                        "(signing.key): the output is "
                                        "unsigned"));
    }
    /*
     * What it produced and its event, or the attempt fails and the job
     * retries: a rebase is idempotent (the next run finds the image
     * already on the new base and pushes nothing), so nothing is lost or
     * doubled by trying again.
     */
    {
        strata_store_observation obs = {.ref = job->job->image,
                                        .digest = c->res->digest};
        if (strata_plan__mark_produced(job->env->store, job->job->image,
                                       c->res->digest, &err) != 0 ||
            strata_store_watch_observe(NULL, NULL, job->env->store, &obs,
                                       &err) != 0 ||
            strata_jobs_job_event(
                job, 0, "rebase.done", job->job->image,
                json_pack("{s:s, s:s, s:s, s:b, s:s*}", "image",
                          job->job->image, "new_digest", c->res->digest, "base",
                          c->new_base, "signed", c->res->signature != NULL,
                          "key", c->res->key_fingerprint),
                &err) != 0) {
            strata_runner_job_done(job, err.code, err.msg, result);
            ctx_free(c);
            return;
        }
    }
    strata_runner_job_done(job, 0, NULL, result);
    ctx_free(c);
}

static int
start(strata_runner_job *job, strata_error *err)
{
    const strata_runner_env *env = job->env;
    const strata_store_job *sj = job->job;
    const strata_config_data *cfg = env->cfg;
    const char **anc = NULL;
    const char *parent = NULL;
    char *new_digest = NULL, *old_digest = NULL;
    strata_ref *img = NULL;
    rebase_ctx *c;
    size_t n = 0, i;
    int rc;

    if (sj->base_ref == NULL || env->graph == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "rebase of '%s' needs a base", sj->image);
    /* The nearest ancestor that is the base or was rebuilt for it. */
    strata_graph_ancestors(&anc, &n, env->graph, sj->image, NULL);
    for (i = 0; i < n && parent == NULL; i++) {
        int yes = 0;

        if (strcmp(anc[i], sj->base_ref) == 0) {
            parent = anc[i];
            new_digest = strata_xstrdup(sj->base_digest);
        } else if ((rc = produced_now(&yes, &new_digest, env->store, anc[i],
                                      err)) != 0) {
            free(anc);
            return rc;
        } else if (yes) {
            parent = anc[i];
        }
    }
    if (parent == NULL) {
        free(anc);
        return strata_error_set(err, STRATA_ENOTFOUND,
                                "no parent of '%s' moved with '%s'", sj->image,
                                sj->base_ref);
    }
    if ((rc = previous_digest(&old_digest, env->store, parent, new_digest,
                              err)) != 0)
        goto out;
    if (old_digest == NULL) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no digest of '%s' before %s is recorded", parent,
                              new_digest);
        goto out;
    }
    if ((rc = strata_ref_parse(&img, sj->image, err)) != 0)
        goto out;
    c = strata_xcalloc(1, sizeof(*c));
    c->job = job;
    c->image = strata_xstrdup(sj->image);
    c->old_base = strata_xasprintf("%s@%s", parent, old_digest);
    c->new_base = strata_xasprintf("%s@%s", parent, new_digest);
    c->tag =
        strata_xstrdup(strata_ref_tag(img) ? strata_ref_tag(img) : "latest");
    c->key_path = cfg->signing.key ? strata_xstrdup(cfg->signing.key) : NULL;
    c->job_id = strata_xasprintf("strata-job-%lld", (long long) sj->id);
    /* Registry credentials and TLS options from the configuration. */
    c->hosts = strata_xcalloc(cfg->n_registries ? cfg->n_registries : 1,
                              sizeof(*c->hosts));
    for (i = 0; i < cfg->n_registries; i++) {
        const strata_config_registry *r = &cfg->registries[i];
        strata_rebase_host *h = &c->hosts[c->nhosts++];

        h->domain = r->host;
        strata_config_registry_opts(&h->opts, r);
    }
    c->work.data = c;
    if (uv_queue_work(env->loop, &c->work, rebase_work, rebase_done) != 0) {
        ctx_free(c);
        rc = strata_error_set(err, STRATA_EINTERNAL, "cannot queue work");
    }
out:
    strata_ref_free(img);
    free(anc);
    free(new_digest);
    free(old_digest);
    return rc;
}

const strata_action strata_action_rebase = {"rebase", start};
