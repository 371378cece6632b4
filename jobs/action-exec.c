/*
 * action-exec.c - the actions that run a command: `rebuild` through an
 * exec builder (builders: {NAME: {type: exec, command: ...}}) and `exec`
 * (a repository's own command). A rebuild through any other builder type
 * goes to its builders/ backend (strata_rebuild_start) instead. The command is
 * a template whose {variables} are replaced by shell-quoted values and run by
 * /bin/sh; the same values are in the environment as STRATA_*. The exit status
 * decides; the output's tail is kept in the job's result. After a
 * rebuild, the image's new digest is read from the registry and recorded
 * as strata's own doing, so the next wave pins it and the watcher does
 * not mistake it for an outside update.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"
#include "rebuild.h"

typedef struct exec_ctx {
    strata_runner_job *job;
    int rebuild;
    json_t *result;
} exec_ctx;

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

static void
on_digest(char *digest, const strata_error *err, void *arg)
{
    exec_ctx *c = arg;
    strata_runner_job *job = c->job;
    strata_store *st = job->env->store;
    strata_error e2 = {0};

    if (err != NULL) {
        /* Built but not readable back: say so, keep the build. */
        json_object_set_new(c->result, "digest_error", json_string(err->msg));
    } else {
        strata_store_observation obs = {.ref = job->job->image,
                                        .digest = digest};
        json_object_set_new(c->result, "digest", json_string(digest));
        if (strata_plan__mark_produced(st, job->job->image, digest, &e2) != 0 ||
            strata_store_watch_observe(NULL, NULL, st, &obs, &e2) != 0)
            strata_log_job(STRATA_LOG_ERROR, job->job->id, "%s", e2.msg);
        free(digest);
    }
    strata_jobs_event(
        job->env, "rebuild.succeeded", job->job->image,
        json_pack("{s:s, s:s, s:s*, s:s}", "image", job->job->image, "digest",
                  json_string_value(json_object_get(c->result, "digest"))
                      ? json_string_value(json_object_get(c->result, "digest"))
                      : "unknown",
                  "base", job->job->base_ref, "base_digest",
                  job->job->base_digest));
    strata_runner_job_done(job, 0, NULL, c->result);
    free(c);
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
            strata_jobs_event(job->env, "rebuild.failed", job->job->image,
                              json_pack("{s:s, s:s}", "image", job->job->image,
                                        "error", msg));
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

/* ---- rebuilds through the builders/ backends (all but exec) ---- */

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
        strata_jobs_event(job->env, "rebuild.failed", job->job->image,
                          json_pack("{s:s, s:s}", "image", job->job->image,
                                    "error", err->msg));
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
    c = strata_xcalloc(1, sizeof(*c));
    c->job = job;
    c->rebuild = 1;
    c->result = json_pack("{s:s, s:s}", "builder", builder->name, "type",
                          strata_config_builder_type_name(builder->type));
    strata_jobs_event(job->env, "rebuild.started", img->name,
                      json_pack("{s:s, s:s*, s:s}", "image", img->name, "base",
                                job->job->base_ref, "base_digest",
                                job->job->base_digest));
    rc = strata_rebuild_start(NULL, job->env->loop, be, &o, on_built, c, err);
    if (rc != 0) {
        json_decref(c->result);
        free(c);
    }
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
    char *cmd = NULL, *jobid = NULL;
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
            NULL,
        };
        rc = strata_exec__expand(&cmd, tmpl, vars, err);
    }
    if (rc != 0)
        goto out;
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = cmd;
    argv[3] = NULL;
    c = strata_xcalloc(1, sizeof(*c));
    c->job = job;
    c->rebuild = rebuild;
    c->result = json_pack("{s:s}", "command", cmd);
    {
        strata_proc_opts o = {.argv = argv,
                              .timeout_ms = builder ? builder->timeout_ms : 0,
                              .max_output = 64 * 1024};
        if (rebuild)
            strata_jobs_event(job->env, "rebuild.started", img->name,
                              json_pack("{s:s, s:s*, s:s}", "image", img->name,
                                        "base", job->job->base_ref,
                                        "base_digest", job->job->base_digest));
        rc = strata_proc_spawn(job->env->loop, &o, on_exit_done, c, err);
    }
    if (rc != 0) {
        json_decref(c->result);
        free(c);
    }
out:
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
