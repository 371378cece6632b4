/*
 * action-exec.c - the actions that run a command: `rebuild` through an
 * exec builder (builders: {NAME: {type: exec, command: ...}}) and `exec`
 * (a repository's own command). A rebuild through any other builder type
 * goes to its rebuild/ backend (strata_rebuild_start) instead. The command is
 * a template whose {variables} are replaced by shell-quoted values and run by
 * /bin/sh; the same values are in the environment as STRATA_* ({image} as
 * STRATA_IMAGE, {job_key} as STRATA_JOB_KEY). The exit status
 * decides; the output's tail is kept in the job's result. After a
 * rebuild, the image's new digest is read from the registry and recorded
 * as strata's own doing, so the next wave pins it and the watcher does
 * not mistake it for an outside update. With builders[].verify, the job
 * succeeds only once that digest's signatures meet the block (looked up
 * again every 5 s up to its wait): an admission policy downstream never
 * meets an unsigned output by surprise.
 *
 * At least once: a command killed with strata (kill -9, a power cut) runs
 * again when the job is re-queued. STRATA_JOB_KEY is the same for every
 * run of one job, so a command (or the builder behind it) can drop a
 * repeat. The job's events are keyed by the job: a rerun records none
 * twice.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"
#include "rebuild.h"
#include "watchers.h"

typedef struct exec_ctx {
    strata_runner_job *job;
    int rebuild;
    json_t *result;
    const strata_config_builder *builder; /* a rebuild's */
    /* builders[].verify: the produced digest's signatures, until wait. */
    strata_watchers_policy *policy;
    strata_ref *image; /* the image rebuilt */
    char *digest;      /* what the builder produced */
    int64_t deadline;  /* ms: verified by then, or the job fails */
    unsigned checks;
    uv_timer_t timer;
    int timer_used;
} exec_ctx;

static void
on_ctx_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Frees c, once its timer (if it ever ran) has closed. */
static void
ctx_end(exec_ctx *c)
{
    strata_watchers_policy_free(c->policy);
    strata_ref_free(c->image);
    free(c->digest);
    c->policy = NULL;
    c->image = NULL;
    c->digest = NULL;
    if (c->timer_used) {
        c->timer.data = c;
        uv_close((uv_handle_t *) &c->timer, on_ctx_closed);
        return;
    }
    free(c);
}

/* Expands {name} from vars (NULL-terminated name/value pairs). */
int
strata_exec__expand(char **out, const char *tmpl, const char *const *vars,
                    strata_error *err)
{
    strata_buf b = STRATA_BUF_INIT;
    const char *p = tmpl;

    *out = NULL;
    while (*p != '\0') {
        const char *close;
        size_t i, len;

        if (*p != '{') {
            strata_buf_putc(&b, *p++);
            continue;
        }
        close = strchr(p, '}');
        if (close == NULL) {
            strata_buf_puts(&b, p);
            break;
        }
        len = (size_t) (close - p - 1);
        for (i = 0; vars[i] != NULL; i += 2)
            if (strlen(vars[i]) == len && strncmp(vars[i], p + 1, len) == 0)
                break;
        if (vars[i] == NULL) {
            strata_buf_release(&b);
            return strata_error_set(err, STRATA_EINVAL,
                                    "unknown variable '{%.*s}' in command",
                                    (int) len, p + 1);
        }
        strata_shell_quote(&b, vars[i + 1]);
        p = close + 1;
    }
    *out = strata_buf_detach(&b);
    return 0;
}

/*
 * An event that comes with the end of the work: the build is done (or
 * failed), so a store that cannot record it does not fail the job (that
 * would build again); it is counted, and run --once exits 1.
 */
static void
end_event(strata_runner_job *job, int per_attempt, const char *type,
          json_t *payload)
{
    strata_error err = {0};
    char *what;

    if (strata_jobs_job_event(job, per_attempt, type, job->job->image, payload,
                              &err) != 0) {
        what = strata_xasprintf("recording event '%s'", type);
        strata_jobs_error(job->env, job->job->id, what, &err);
        free(what);
    }
}

/* The rebuild succeeded (and its output verified, when asked). */
static void
rebuild_succeeded(exec_ctx *c)
{
    strata_runner_job *job = c->job;

    end_event(
        job, 0, "rebuild.succeeded",
        json_pack("{s:s, s:s, s:s*, s:s}", "image", job->job->image, "digest",
                  json_string_value(json_object_get(c->result, "digest"))
                      ? json_string_value(json_object_get(c->result, "digest"))
                      : "unknown",
                  "base", job->job->base_ref, "base_digest",
                  job->job->base_digest));
    strata_runner_job_done(job, 0, NULL, c->result);
    c->result = NULL;
    ctx_end(c);
}

static void verify_output(exec_ctx *c);

static void
on_verify_timer(uv_timer_t *t)
{
    verify_output(t->data);
}

/*
 * One look at the signatures of what the builder produced. Not verified
 * yet: again in 5 s until the block's wait is over (signing often follows
 * the push), then the job fails (enforce) or succeeds with the reason
 * recorded (warn).
 */
static void
on_output_verified(strata_verify_result *r, unsigned requests,
                   const strata_error *err, void *arg)
{
    exec_ctx *c = arg;
    strata_runner_job *job = c->job;
    int64_t now = strata_now_ms();
    json_t *v;
    char *msg;

    (void) requests;
    if (err != NULL) {
        strata_runner_job_done(job, err->code, err->msg, c->result);
        c->result = NULL;
        ctx_end(c);
        return;
    }
    c->checks++;
    v = json_pack("{s:b, s:s, s:i}", "ok", strata_verify_result_ok(r),
                  "summary", strata_verify_result_summary(r), "checks",
                  (int) c->checks);
    json_object_set_new(v, "result", strata_verify_result_to_json(r));
    json_object_set_new(c->result, "verify", v);
    if (strata_verify_result_ok(r)) {
        strata_log_job(STRATA_LOG_INFO, job->job->id, "%s@%s: %s",
                       job->job->image, c->digest,
                       strata_verify_result_summary(r));
        strata_verify_result_free(r);
        rebuild_succeeded(c);
        return;
    }
    if (now < c->deadline) {
        strata_verify_result_free(r);
        if (!c->timer_used) {
            uv_timer_init(job->env->loop, &c->timer);
            c->timer.data = c;
            c->timer_used = 1;
        }
        uv_timer_start(
            &c->timer, on_verify_timer,
            (uint64_t) (c->deadline - now < 5000 ? c->deadline - now : 5000),
            0);
        return;
    }
    msg = strata_xasprintf("the image '%s@%s' that builder '%s' produced does "
                           "not meet builders.%s.verify: %s",
                           job->job->image, c->digest, c->builder->name,
                           c->builder->name, strata_verify_result_summary(r));
    strata_verify_result_free(r);
    if (strata_watchers_policy_mode(c->policy) == STRATA_CONFIG_VERIFY_WARN) {
        strata_log_job(STRATA_LOG_WARN, job->job->id, "%s (mode: warn)", msg);
        free(msg);
        rebuild_succeeded(c);
        return;
    }
    end_event(job, 1, "rebuild.failed",
              json_pack("{s:s, s:s, s:s}", "image", job->job->image, "digest",
                        c->digest, "error", msg));
    job->permanent = 1; /* building again would not sign it */
    strata_runner_job_done(job, STRATA_EAUTH, msg, c->result);
    c->result = NULL;
    free(msg);
    ctx_end(c);
}

static void
verify_output(exec_ctx *c)
{
    strata_error err = {0};

    if (strata_watchers_verify_digest(c->job->env->registry, c->image,
                                      c->digest,
                                      strata_watchers_policy_get(c->policy), 0,
                                      on_output_verified, c, &err) != 0) {
        /* Could not even look: like an unverified answer, retried. */
        strata_verify_result *r = strata_verify_result_new(
            strata_watchers_policy_get(c->policy), c->digest, NULL);

        strata_verify_result_add_failure(r, "registry", err.msg);
        on_output_verified(r, 0, NULL, c);
    }
}

/* builders[].verify: 1 when the output's check started (it ends the job). */
static int
start_output_verify(exec_ctx *c, const char *digest)
{
    strata_runner_job *job = c->job;
    strata_error err = {0};
    char *msg;

    if (c->builder == NULL || !c->builder->verify.set ||
        c->builder->verify.mode == STRATA_CONFIG_VERIFY_OFF ||
        job->env->registry == NULL)
        return 0;
    if (strata_watchers_policy_new(&c->policy, &c->builder->verify, &err) !=
            0 ||
        strata_ref_parse(&c->image, job->job->image, &err) != 0) {
        msg = strata_xasprintf("builders.%s.verify: %s", c->builder->name,
                               err.msg);
        strata_runner_job_done(job, err.code, msg, c->result);
        c->result = NULL;
        free(msg);
        ctx_end(c);
        return 1;
    }
    if (c->policy == NULL)
        return 0;
    c->digest = strata_xstrdup(digest);
    c->deadline =
        strata_now_ms() + (int64_t) strata_watchers_policy_wait_ms(c->policy);
    verify_output(c);
    return 1;
}

static void
on_digest(char *digest, const strata_error *err, void *arg)
{
    exec_ctx *c = arg;
    strata_runner_job *job = c->job;
    strata_store *st = job->env->store;
    strata_error e2 = {0};

    if (err != NULL && c->builder != NULL && c->builder->verify.set &&
        c->builder->verify.mode == STRATA_CONFIG_VERIFY_ENFORCE) {
        /* Nothing to verify: the job cannot say its output is signed. */
        char *msg = strata_xasprintf("builders.%s.verify: the digest the "
                                     "builder produced is unknown: %s",
                                     c->builder->name, err->msg);

        json_object_set_new(c->result, "digest_error", json_string(err->msg));
        strata_runner_job_done(job, STRATA_EIO, msg, c->result);
        c->result = NULL;
        free(msg);
        ctx_end(c);
        return;
    }
    if (err != NULL) {
        /* Built but not readable back: say so, keep the build. */
        json_object_set_new(c->result, "digest_error", json_string(err->msg));
    } else {
        strata_store_observation obs = {.ref = job->job->image,
                                        .digest = digest};
        json_object_set_new(c->result, "digest", json_string(digest));
        /* Not recorded, the new digest would look like an outside update
         * of the image: counted, so the cycle does not pass for clean. */
        if (strata_plan__mark_produced(st, job->job->image, digest, &e2) != 0 ||
            strata_store_watch_observe(NULL, NULL, st, &obs, &e2) != 0)
            strata_jobs_error(job->env, job->job->id,
                              "recording what the rebuild produced", &e2);
        /* builders[].verify: the job succeeds once the output verifies. */
        if (start_output_verify(c, digest)) {
            free(digest);
            return;
        }
        free(digest);
    }
    rebuild_succeeded(c);
}

static void
on_exit_done(const strata_proc_result *res, void *arg)
{
    exec_ctx *c = arg;
    strata_runner_job *job = c->job;
    strata_error err = {0};
    strata_ref *ref = NULL;
    char msg[128];

    json_object_set_new(c->result, "exit", json_integer(res->exit_status));
    json_object_set_new(c->result, "log",
                        json_stringn(res->output, res->output_len));
    if (res->exit_status != 0 || res->term_signal != 0) {
        if (res->timed_out)
            snprintf(msg, sizeof(msg), "command timed out");
        else if (res->term_signal != 0)
            snprintf(msg, sizeof(msg), "command killed by signal %d",
                     res->term_signal);
        else
            snprintf(msg, sizeof(msg), "command exited with status %lld",
                     (long long) res->exit_status);
        if (c->rebuild)
            end_event(job, 1, "rebuild.failed",
                      json_pack("{s:s, s:s}", "image", job->job->image, "error",
                                msg));
        strata_runner_job_done(job, STRATA_EIO, msg, c->result);
        free(c);
        return;
    }
    if (!c->rebuild || job->env->registry == NULL ||
        strata_ref_parse(&ref, job->job->image, &err) != 0 ||
        strata_registry_digest(job->env->registry, ref, NULL, on_digest, c,
                               &err) != 0) {
        strata_ref_free(ref);
        if (c->rebuild) {
            on_digest(NULL, &err, c);
            return;
        }
        strata_runner_job_done(job, 0, NULL, c->result);
        free(c);
        return;
    }
    strata_ref_free(ref);
}

/* ---- rebuilds through the rebuild/ backends (all but exec) ---- */

static void
on_built(const strata_rebuild_result *res, const strata_error *err, void *arg)
{
    exec_ctx *c = arg;
    strata_runner_job *job = c->job;
    strata_ref *ref = NULL;
    strata_error e2 = {0};

    json_object_set_new(c->result, "log", json_string(res->log));
    if (res->url != NULL)
        json_object_set_new(c->result, "url", json_string(res->url));
    if (res->run_id != 0)
        json_object_set_new(c->result, "run_id", json_integer(res->run_id));
    if (err != NULL) {
        end_event(job, 1, "rebuild.failed",
                  json_pack("{s:s, s:s}", "image", job->job->image, "error",
                            err->msg));
        strata_runner_job_done(job, err->code, err->msg, c->result);
        free(c);
        return;
    }
    if (res->accepted) {
        /* Handed over, outcome unknown: no digest to record yet. */
        json_object_set_new(c->result, "accepted", json_true());
        strata_runner_job_done(job, 0, NULL, c->result);
        free(c);
        return;
    }
    /* The backend's digest is what it pushed; else ask the registry. */
    if (res->digest != NULL) {
        on_digest(strata_xstrdup(res->digest), NULL, c);
        return;
    }
    if (job->env->registry == NULL ||
        strata_ref_parse(&ref, job->job->image, &e2) != 0 ||
        strata_registry_digest(job->env->registry, ref, NULL, on_digest, c,
                               &e2) != 0) {
        if (e2.code == 0)
            strata_error_set(&e2, STRATA_EINVAL, "no registry client");
        on_digest(NULL, &e2, c);
    }
    strata_ref_free(ref);
}

/* True when image's Dockerfile names base directly (an edge to it). */
static int
builds_from(const strata_graph *g, const char *image, const char *base)
{
    const char *child, *parent;
    size_t i, n;

    if (g == NULL || base == NULL)
        return 0;
    n = strata_graph_edge_count(g);
    for (i = 0; i < n; i++) {
        strata_graph_edge(g, i, &child, &parent, NULL);
        if (strcmp(child, image) == 0 && strcmp(parent, base) == 0)
            return 1;
    }
    return 0;
}

/* rebuild.started, once per job; 0 or the store's error. */
static int
started_event(strata_runner_job *job, const strata_config_image *img,
              strata_error *err)
{
    return strata_jobs_job_event(
        job, 0, "rebuild.started", img->name,
        json_pack("{s:s, s:s*, s:s}", "image", img->name, "base",
                  job->job->base_ref, "base_digest", job->job->base_digest),
        err);
}

/* "STRATA_" and name in capitals: {base_digest} -> STRATA_BASE_DIGEST. */
static char *
env_name(const char *name)
{
    strata_buf b = STRATA_BUF_INIT;
    const char *p;

    strata_buf_puts(&b, "STRATA_");
    for (p = name; *p != '\0'; p++)
        strata_buf_putc(&b, *p >= 'a' && *p <= 'z' ? (char) (*p - 32) : *p);
    return strata_buf_detach(&b);
}

/*
 * The child's environment: strata's own, but STRATA_<NAME> for each
 * template variable (vars: name/value pairs) replaced by the job's value.
 * New; env_free.
 */
static char **
child_env(const char *const *vars)
{
    extern char **environ;
    size_t n = 0, k = 0, i, j;
    char **env, **names;

    while (environ[n] != NULL)
        n++;
    for (i = 0; vars[i] != NULL; i += 2)
        k++;
    names = strata_xcalloc(k + 1, sizeof(*names));
    for (i = 0, j = 0; vars[i] != NULL; i += 2)
        names[j++] = env_name(vars[i]);
    env = strata_xcalloc(n + k + 1, sizeof(*env));
    k = 0;
    for (i = 0; i < n; i++) {
        size_t len = strcspn(environ[i], "=");

        for (j = 0; names[j] != NULL; j++)
            if (strlen(names[j]) == len &&
                strncmp(environ[i], names[j], len) == 0)
                break;
        if (names[j] == NULL)
            env[k++] = strata_xstrdup(environ[i]);
    }
    for (i = 0, j = 0; vars[i] != NULL; i += 2, j++) {
        env[k++] = strata_xasprintf("%s=%s", names[j], vars[i + 1]);
        free(names[j]);
    }
    env[k] = NULL;
    free(names);
    return env;
}

static void
env_free(char **env)
{
    size_t i;

    for (i = 0; env != NULL && env[i] != NULL; i++)
        free(env[i]);
    free(env);
}

static int
start_backend(strata_runner_job *job, const strata_config_repo *repo,
              const strata_config_image *img,
              const strata_config_builder *builder, strata_error *err)
{
    const strata_config_data *cfg = job->env->cfg;
    const strata_rebuild_backend *be =
        strata_rebuild_lookup(strata_config_builder_type_name(builder->type));
    strata_rebuild_opts o = {0};
    strata_rebuild_kv *kv = NULL;
    strata_rebuild_registry *regs = NULL;
    char *jobid = strata_xasprintf("%lld", (long long) job->job->id);
    exec_ctx *c;
    size_t i;
    int rc;

#define REVEAL(s) ((s) != NULL ? strata_secret_reveal(s) : NULL)
    if (img->n_build_args > 0)
        kv = strata_xcalloc(img->n_build_args, sizeof(*kv));
    for (i = 0; i < img->n_build_args; i++)
        kv[i] = (strata_rebuild_kv){img->build_args[i].key,
                                    img->build_args[i].value};
    if (cfg->n_registries > 0)
        regs = strata_xcalloc(cfg->n_registries, sizeof(*regs));
    for (i = 0; i < cfg->n_registries; i++)
        regs[i] = (strata_rebuild_registry){
            cfg->registries[i].host, cfg->registries[i].username,
            REVEAL(cfg->registries[i].password), cfg->registries[i].insecure};
    o.image = img->name;
    o.dockerfile = img->dockerfile;
    o.context = img->context;
    o.target = img->target;
    o.build_args = kv;
    o.nbuild_args = img->n_build_args;
    o.platforms = img->platforms.items;
    o.nplatforms = img->platforms.count;
    o.base = job->job->base_ref;
    o.base_digest = job->job->base_digest;
    o.annotate_base =
        builds_from(job->env->graph, job->job->image, job->job->base_ref);
    /* Builders that clone need the credentials; others name the repo. */
    o.repo_url = builder->type == STRATA_BUILDER_BUILDAH ||
                         builder->type == STRATA_BUILDER_KUBERNETES
                     ? strata_config_repo_fetch_url(repo)
                     : repo->url;
    o.branch = repo->branch;
    o.id = jobid;
    o.job_key = job->job->key;
    o.cancel = job->env->cancel;
    o.timeout_ms = builder->timeout_ms;
    /* buildah: STORAGE_DRIVER and BUILDAH_ISOLATION from the environment. */
    o.cache_dir = job->env->cache_dir;
    o.repo_username = repo->username;
    o.repo_token = REVEAL(repo->token);
    o.program =
        builder->type == STRATA_BUILDER_BUILDAH ? builder->command : NULL;
    o.registries = regs;
    o.nregistries = cfg->n_registries;
    o.api_url = builder->api_url;
    o.token = REVEAL(builder->token);
    o.repo = builder->repo;
    o.workflow = builder->workflow;
    o.project = builder->project;
    o.ref = builder->ref;
    o.url = builder->url;
    o.secret = REVEAL(builder->secret);
    o.k8s_namespace = builder->k8s_namespace;
    o.builder_image = builder->image;
    o.kubeconfig = builder->kubeconfig;
    o.push_secret = builder->push_secret;
    o.api_token = REVEAL(builder->api_token);
    o.command =
        builder->type == STRATA_BUILDER_KUBERNETES ? builder->command : NULL;
#undef REVEAL
    /* Before anything runs: a store that cannot record it fails the
     * attempt, and the job retries with nothing built. */
    if ((rc = started_event(job, img, err)) != 0)
        goto out;
    c = strata_xcalloc(1, sizeof(*c));
    c->job = job;
    c->rebuild = 1;
    c->builder = builder;
    c->result = json_pack("{s:s, s:s}", "builder", builder->name, "type",
                          strata_config_builder_type_name(builder->type));
    rc = strata_rebuild_start(NULL, job->env->loop, be, &o, on_built, c, err);
    if (rc != 0) {
        json_decref(c->result);
        free(c);
    }
out:
    free(kv);
    free(regs);
    free(jobid);
    return rc;
}

static int
start(strata_runner_job *job, int rebuild, strata_error *err)
{
    const strata_runner_env *env = job->env;
    const strata_config_repo *repo = NULL;
    const strata_config_image *img = NULL;
    const strata_config_builder *builder = NULL;
    const char *tmpl = NULL;
    strata_buf args = STRATA_BUF_INIT, plats = STRATA_BUF_INIT;
    strata_ref *ref = NULL;
    char *cmd = NULL, *jobid = NULL, **cenv = NULL;
    const char *argv[4];
    exec_ctx *c;
    size_t i;
    int rc;

    strata_config_target(&repo, &img, env->cfg, job->job->image);
    if (repo == NULL || img == NULL)
        return strata_error_set(err, STRATA_ENOTFOUND,
                                "no configured image '%s'", job->job->image);
    if (rebuild) {
        builder = strata_config_builder_find(
            env->config, repo->builder ? repo->builder : "default");
        if (builder == NULL)
            return strata_error_set(
                err, STRATA_EINVAL, "no builder '%s' for '%s'",
                repo->builder ? repo->builder : "default", img->name);
        if (builder->type != STRATA_BUILDER_EXEC)
            return start_backend(job, repo, img, builder, err);
        tmpl = builder->command;
    } else {
        tmpl = repo->exec;
    }
    if (tmpl == NULL)
        return strata_error_set(err, STRATA_EINVAL, "no command for '%s'",
                                img->name);
    if ((rc = strata_ref_parse(&ref, img->name, err)) != 0)
        return rc;
    for (i = 0; i < img->n_build_args; i++)
        strata_buf_printf(&args, "%s--build-arg %s=%s", i ? " " : "",
                          img->build_args[i].key, img->build_args[i].value);
    for (i = 0; i < img->platforms.count; i++)
        strata_buf_printf(&plats, "%s%s", i ? "," : "",
                          img->platforms.items[i]);
    jobid = strata_xasprintf("%lld", (long long) job->job->id);
    {
        const char *vars[] = {
            "image",       img->name,
            "name",        strata_ref_name(ref),
            "tag",         strata_ref_tag(ref) ? strata_ref_tag(ref) : "",
            "repo",        repo->url,
            "branch",      repo->branch,
            "dockerfile",  img->dockerfile,
            "context",     img->context,
            "target",      img->target ? img->target : "",
            "base",        job->job->base_ref ? job->job->base_ref : "",
            "base_digest", job->job->base_digest,
            "build_args",  strata_buf_cstr(&args),
            "platforms",   strata_buf_cstr(&plats),
            "job",         jobid,
            "job_key",     job->job->key,
            NULL,
        };
        rc = strata_exec__expand(&cmd, tmpl, vars, err);
        if (rc == 0)
            cenv = child_env(vars);
    }
    if (rc != 0)
        goto out;
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = cmd;
    argv[3] = NULL;
    if (rebuild && (rc = started_event(job, img, err)) != 0)
        goto out;
    c = strata_xcalloc(1, sizeof(*c));
    c->job = job;
    c->rebuild = rebuild;
    c->builder = builder;
    c->result = json_pack("{s:s}", "command", cmd);
    {
        strata_proc_opts o = {.argv = argv,
                              .env = (const char *const *) cenv,
                              .timeout_ms = builder ? builder->timeout_ms : 0,
                              .max_output = 64 * 1024};
        rc = strata_proc_spawn(job->env->loop, &o, on_exit_done, c, err);
    }
    if (rc != 0) {
        json_decref(c->result);
        free(c);
    }
out:
    env_free(cenv);
    free(cmd);
    free(jobid);
    strata_buf_release(&args);
    strata_buf_release(&plats);
    strata_ref_free(ref);
    return rc;
}

static int
start_rebuild(strata_runner_job *job, strata_error *err)
{
    return start(job, 1, err);
}

static int
start_exec(strata_runner_job *job, strata_error *err)
{
    return start(job, 0, err);
}

const strata_action strata_action_rebuild = {"rebuild", start_rebuild};
const strata_action strata_action_exec = {"exec", start_exec};
