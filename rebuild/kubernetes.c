/*
 * kubernetes.c - the Kubernetes rebuild backend: one batch/v1 Job
 * per build, created through the API server's REST API with a bearer
 * token, running BuildKit rootless (buildctl-daemonless.sh, the default)
 * or kaniko (an image whose name says "kaniko") on the repository's git
 * context, pushing the image itself. The Job is polled until its
 * Complete or Failed condition (or the deadline), then the pod's log
 * tail and termination message (where BuildKit's --metadata-file and
 * kaniko's --digest-file put the pushed digest) are read and the Job is
 * deleted with propagationPolicy=Background. opts.push_secret (a
 * kubernetes.io/dockerconfigjson Secret) is mounted where the builder
 * reads registry credentials and doubles as the pod's imagePullSecrets.
 *
 * Where the API server is: a kubeconfig (build-k8sconfig.c: current
 * context, server, CA, token), else opts.api_url and opts.token, else
 * the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT and the
 * token, ca.crt and namespace files).
 */
#include <stdlib.h>
#include <string.h>

#include "rebuild-int.h"

typedef struct k8s_state {
    strata_k8s__cluster cl;
    char *auth; /* "Bearer T" */
    char *name; /* the Job's */
    char *jobs; /* .../apis/batch/v1/namespaces/NS/jobs */
    int kaniko;
    int errors;
    int flags;      /* STRATA_REBUILD__CLEANUP once timed out */
    int final_code; /* 0 Complete, STRATA_EIO Failed, STRATA_ETIMEOUT */
    char *reason;   /* the Failed condition's message */
} k8s_state;

static void
state_free(void *p)
{
    k8s_state *s = p;

    if (s == NULL)
        return;
    strata_k8s__cluster_release(&s->cl);
    if (s->auth != NULL) {
        memset(s->auth, 0, strlen(s->auth));
        free(s->auth);
    }
    free(s->name);
    free(s->jobs);
    free(s->reason);
    free(s);
}

/* The Dockerfile's path relative to the context, or NULL. Borrowed. */
static const char *
dockerfile_in_context(const strata_rebuild_opts *o)
{
    const char *ctx = o->context ? o->context : ".";
    const char *df = o->dockerfile ? o->dockerfile : "Dockerfile";
    size_t n = strlen(ctx);

    if (strcmp(ctx, ".") == 0 || ctx[0] == '\0')
        return df;
    if (strncmp(df, ctx, n) == 0 && df[n] == '/')
        return df + n + 1;
    return NULL;
}

/* A DNS-1123 subdomain, as Kubernetes wants a Secret's name. */
static int
secret_name_ok(const char *v)
{
    size_t i, n = strlen(v);

    if (n == 0 || n > 253)
        return 0;
    for (i = 0; i < n; i++) {
        char c = v[i], prev = i > 0 ? v[i - 1] : '.';

        if (c == '.' || c == '-') {
            if (i + 1 == n || prev == '.' || (c == '.' && prev == '-'))
                return 0;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            return 0;
        }
    }
    return 1;
}

static int
check(const strata_rebuild_opts *o, strata_error *err)
{
    if (o->builder_image == NULL || o->builder_image[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "kubernetes builder needs an 'image'");
    if (o->repo_url == NULL || (strncmp(o->repo_url, "https://", 8) != 0 &&
                                strncmp(o->repo_url, "http://", 7) != 0))
        return strata_error_set(
            err, STRATA_EINVAL,
            "kubernetes builder needs an http(s) repository url, not '%s'",
            o->repo_url ? o->repo_url : "");
    if (dockerfile_in_context(o) == NULL)
        return strata_error_set(
            err, STRATA_EINVAL,
            "kubernetes builder: dockerfile '%s' is outside context '%s'",
            o->dockerfile, o->context);
    if (o->push_secret != NULL && !secret_name_ok(o->push_secret))
        return strata_error_set(err, STRATA_EINVAL,
                                "kubernetes builder: 'push_secret' '%s' is not "
                                "a Secret name (a DNS-1123 subdomain)",
                                o->push_secret);
    return 0;
}

static void
headers(strata_http_header *h, size_t *nh, const k8s_state *s,
        const char *content_type)
{
    *nh = 0;
    h[(*nh)++] = (strata_http_header){"Accept", "application/json"};
    h[(*nh)++] = (strata_http_header){"User-Agent", "strata/" STRATA_VERSION};
    if (s->auth != NULL)
        h[(*nh)++] = (strata_http_header){"Authorization", s->auth};
    if (content_type != NULL)
        h[(*nh)++] = (strata_http_header){"Content-Type", content_type};
}

static void
k8s_send(strata_rebuild *b, const char *method, const char *url,
         const char *body, strata_rebuild__http_cb cb)
{
    k8s_state *s = b->state;
    strata_http_header h[4];
    size_t nh;

    headers(h, &nh, s, body ? "application/json" : NULL);
    strata_rebuild__send(b, s->flags, method, url, h, nh, body,
                         body ? strlen(body) : 0, cb);
}

/* The Status object's message, or "". New. */
static char *
k8s_message(const strata_http_response *resp)
{
    json_t *j = strata_rebuild__json(resp);
    const char *m = json_string_value(json_object_get(j, "message"));
    char *s = strata_xstrdup(m ? m : "");

    json_decref(j);
    return s;
}

/* ---- the Job ------------------------------------------------------------ */

static json_t *
env_var(const char *name, const char *value)
{
    return json_pack("{s:s, s:s}", "name", name, "value", value);
}

/* The container's arguments for BuildKit or kaniko. New array. */
static json_t *
build_args(const strata_rebuild *b, const k8s_state *s)
{
    const strata_rebuild_opts *o = &b->o;
    const char *branch = o->branch ? o->branch : "main";
    const char *df = dockerfile_in_context(o);
    int subdir = strcmp(o->context, ".") != 0 && o->context[0] != '\0';
    json_t *a = json_array();
    char *plats = strata_rebuild__platforms(o);
    size_t i;

#define ADD(...) json_array_append_new(a, json_string_nocheck(__VA_ARGS__))
#define ADDF(...)                                                              \
    do {                                                                       \
        char *t_ = strata_xasprintf(__VA_ARGS__);                              \
        json_array_append_new(a, json_string(t_));                             \
        free(t_);                                                              \
    } while (0)
    if (s->kaniko) {
        const char *url = strstr(o->repo_url, "://") + 3;

        ADDF("--dockerfile=%s", df);
        ADDF("--context=git://%s#refs/heads/%s", url, branch);
        if (subdir)
            ADDF("--context-sub-path=%s", o->context);
        ADDF("--destination=%s", o->image);
        if (o->target != NULL)
            ADDF("--target=%s", o->target);
        for (i = 0; i < o->nbuild_args; i++)
            ADDF("--build-arg=%s=%s", o->build_args[i].key,
                 o->build_args[i].value);
        if (o->base_digest != NULL)
            ADDF("--build-arg=BASE_DIGEST=%s", o->base_digest);
        if (o->job_key != NULL)
            ADDF("--build-arg=STRATA_JOB_KEY=%s", o->job_key);
        if (o->nplatforms == 1)
            ADDF("--custom-platform=%s", o->platforms[0]);
        /* kaniko writes labels, not annotations: lineage reads both. */
        if (o->annotate_base && o->base != NULL && o->base_digest != NULL) {
            ADDF("--label=org.opencontainers.image.base.name=%s", o->base);
            ADDF("--label=org.opencontainers.image.base.digest=%s",
                 o->base_digest);
        }
        ADD("--digest-file=/dev/termination-log");
    } else {
        ADD("build");
        ADD("--frontend");
        ADD("dockerfile.v0");
        ADD("--opt");
        ADDF("context=%s#%s%s%s", o->repo_url, branch, subdir ? ":" : "",
             subdir ? o->context : "");
        ADD("--opt");
        ADDF("filename=%s", df);
        if (o->target != NULL) {
            ADD("--opt");
            ADDF("target=%s", o->target);
        }
        for (i = 0; i < o->nbuild_args; i++) {
            ADD("--opt");
            ADDF("build-arg:%s=%s", o->build_args[i].key,
                 o->build_args[i].value);
        }
        if (o->base_digest != NULL) {
            ADD("--opt");
            ADDF("build-arg:BASE_DIGEST=%s", o->base_digest);
        }
        if (o->job_key != NULL) {
            ADD("--opt");
            ADDF("build-arg:STRATA_JOB_KEY=%s", o->job_key);
        }
        if (o->nplatforms > 0) {
            ADD("--opt");
            ADDF("platform=%s", plats);
        }
        ADD("--output");
        if (o->annotate_base && o->base != NULL && o->base_digest != NULL)
            ADDF("type=image,name=%s,push=true,"
                 "annotation.org.opencontainers.image.base.name=%s,"
                 "annotation.org.opencontainers.image.base.digest=%s",
                 o->image, o->base, o->base_digest);
        else
            ADDF("type=image,name=%s,push=true", o->image);
        ADD("--metadata-file");
        ADD("/dev/termination-log");
    }
#undef ADD
#undef ADDF
    free(plats);
    return a;
}

/* The Job object. New. */
static json_t *
job_object(const strata_rebuild *b, const k8s_state *s)
{
    const strata_rebuild_opts *o = &b->o;
    json_t *labels = json_pack("{s:s, s:s}", "app.kubernetes.io/managed-by",
                               "strata", "strata.dev/build", s->name);
    json_t *c, *env = json_array(), *mounts = json_array(),
               *vols = json_array(), *pod;
    const char *docker_dir =
        s->kaniko ? "/kaniko/.docker" : "/home/user/.docker";
    char **cmd = NULL;
    size_t i;

    c = json_pack("{s:s, s:s, s:o}", "name", "build", "image", o->builder_image,
                  "args", build_args(b, s));
    if (o->command != NULL) {
        json_t *a = json_array();

        cmd = strata_rebuild__split(o->command);
        for (i = 0; cmd[i] != NULL; i++)
            json_array_append_new(a, json_string(cmd[i]));
        json_object_set_new(c, "command", a);
        strata_rebuild__strv_free(cmd);
    } else if (!s->kaniko) {
        json_object_set_new(c, "command",
                            json_pack("[s]", "buildctl-daemonless.sh"));
    }
    if (!s->kaniko) {
        /* BuildKit rootless in a pod, as its examples/kubernetes do. */
        json_array_append_new(
            env, env_var("BUILDKITD_FLAGS", "--oci-worker-no-process-sandbox"));
        json_object_set_new(c, "securityContext",
                            json_pack("{s:{s:s}, s:{s:s}, s:i, s:i}",
                                      "seccompProfile", "type", "Unconfined",
                                      "appArmorProfile", "type", "Unconfined",
                                      "runAsUser", 1000, "runAsGroup", 1000));
        json_array_append_new(
            mounts, json_pack("{s:s, s:s}", "name", "buildkitd", "mountPath",
                              "/home/user/.local/share/buildkit"));
        json_array_append_new(
            vols, json_pack("{s:s, s:{}}", "name", "buildkitd", "emptyDir"));
    }
    /*
     * Push credentials: the Secret's .dockerconfigjson as config.json in
     * the directory each builder reads (kaniko /kaniko/.docker, buildctl
     * $DOCKER_CONFIG, default ~/.docker), read-only. DOCKER_CONFIG is set
     * for both (kaniko's image sets the same). The same Secret is the
     * pod's imagePullSecrets: the kubelet uses only the entries that
     * match the builder image's registry.
     */
    if (o->push_secret != NULL) {
        json_array_append_new(env, env_var("DOCKER_CONFIG", docker_dir));
        json_array_append_new(mounts, json_pack("{s:s, s:s, s:b}", "name",
                                                "docker-config", "mountPath",
                                                docker_dir, "readOnly", 1));
        json_array_append_new(
            vols,
            json_pack("{s:s, s:{s:s, s:[{s:s, s:s}]}}", "name", "docker-config",
                      "secret", "secretName", o->push_secret, "items", "key",
                      ".dockerconfigjson", "path", "config.json"));
    }
    json_object_set_new(c, "env", env);
    json_object_set_new(c, "volumeMounts", mounts);
    json_object_set_new(c, "terminationMessagePolicy", json_string("File"));
    pod = json_pack("{s:s, s:[o], s:o}", "restartPolicy", "Never", "containers",
                    c, "volumes", vols);
    if (o->push_secret != NULL)
        json_object_set_new(pod, "imagePullSecrets",
                            json_pack("[{s:s}]", "name", o->push_secret));
    return json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:O}, s:{s:i, s:I, s:i, s:{s:{s:o}, s:o}}}",
        "apiVersion", "batch/v1", "kind", "Job", "metadata", "name", s->name,
        "namespace", s->cl.ns, "labels", labels, "spec", "backoffLimit", 0,
        "activeDeadlineSeconds", (json_int_t) (o->timeout_ms / 1000 + 1),
        "ttlSecondsAfterFinished", 3600, "template", "metadata", "labels",
        labels, "spec", pod);
}

/* ---- the end: logs, digest, deletion ------------------------------------ */

static void
on_deleted(strata_rebuild *b, const strata_http_response *resp,
           const strata_error *err)
{
    k8s_state *s = b->state;

    if (err != NULL)
        strata_rebuild__log(b, "delete job '%s': %s\n", s->name, err->msg);
    else if (resp->status != 200 && resp->status != 202 && resp->status != 404)
        strata_rebuild__log(b, "delete job '%s': HTTP %ld\n", s->name,
                            resp->status);
    if (s->final_code == 0)
        strata_rebuild__finish(b, 0, NULL);
    else if (s->final_code == STRATA_ETIMEOUT)
        strata_rebuild__finish(b, STRATA_ETIMEOUT,
                               "job '%s' did not finish within %llu s", s->name,
                               (unsigned long long) b->o.timeout_ms / 1000);
    else
        strata_rebuild__finish(b, STRATA_EIO, "job '%s' failed%s%s", s->name,
                               s->reason ? ": " : "",
                               s->reason ? s->reason : "");
}

static void
delete_job(strata_rebuild *b)
{
    k8s_state *s = b->state;
    char *url = strata_xasprintf("%s/%s?propagationPolicy=Background", s->jobs,
                                 s->name);

    k8s_send(b, "DELETE", url, NULL, on_deleted);
    free(url);
}

static void
on_log(strata_rebuild *b, const strata_http_response *resp,
       const strata_error *err)
{
    if (err == NULL && resp->status == 200)
        strata_rebuild__log_add(b, resp->body.ptr, resp->body.len);
    else
        strata_rebuild__log(b, "(no log: %s)\n",
                            err ? err->msg : "unexpected status");
    delete_job(b);
}

/* Takes the pushed digest from a termination message. */
static void
take_digest(strata_rebuild *b, const char *msg)
{
    const char *p = msg, *key;

    if (msg == NULL)
        return;
    if ((key = strstr(msg, "\"containerimage.digest\"")) != NULL)
        p = key;
    if ((p = strstr(p, "sha256:")) == NULL || strlen(p) < 71)
        return;
    free(b->digest);
    b->digest = strata_xstrndup(p, 71);
    if (strata_digest_validate(b->digest, NULL) != 0) {
        free(b->digest);
        b->digest = NULL;
    }
}

static void
on_pods(strata_rebuild *b, const strata_http_response *resp,
        const strata_error *err)
{
    k8s_state *s = b->state;
    json_t *j = NULL, *items, *pod, *st;
    const char *name;
    char *url;

    if (err != NULL || resp->status != 200 ||
        (j = strata_rebuild__json(resp)) == NULL ||
        !json_is_array(items = json_object_get(j, "items")) ||
        json_array_size(items) == 0) {
        strata_rebuild__log(b, "(no pod found for job '%s')\n", s->name);
        json_decref(j);
        delete_job(b);
        return;
    }
    /* The last pod is the newest attempt (backoffLimit is 0: the one). */
    pod = json_array_get(items, json_array_size(items) - 1);
    name = json_string_value(
        json_object_get(json_object_get(pod, "metadata"), "name"));
    st = json_array_get(
        json_object_get(json_object_get(pod, "status"), "containerStatuses"),
        0);
    take_digest(b,
                json_string_value(json_object_get(
                    json_object_get(json_object_get(st, "state"), "terminated"),
                    "message")));
    if (name == NULL) {
        json_decref(j);
        delete_job(b);
        return;
    }
    url = strata_xasprintf("%s/api/v1/namespaces/%s/pods/%s/log"
                           "?container=build&tailLines=200&limitBytes=262144",
                           s->cl.server, s->cl.ns, name);
    json_decref(j);
    k8s_send(b, "GET", url, NULL, on_log);
    free(url);
}

static void
collect(strata_rebuild *b)
{
    k8s_state *s = b->state;
    char *url = strata_xasprintf("%s/api/v1/namespaces/%s/pods"
                                 "?labelSelector=job-name%%3D%s",
                                 s->cl.server, s->cl.ns, s->name);

    k8s_send(b, "GET", url, NULL, on_pods);
    free(url);
}

/* ---- following the Job -------------------------------------------------- */

static void poll_job(strata_rebuild *b);

static void
on_job(strata_rebuild *b, const strata_http_response *resp,
       const strata_error *err)
{
    k8s_state *s = b->state;
    json_t *j, *status, *cond;
    size_t i;
    int done = 0;

    if (err != NULL || resp->status >= 500 || resp->status == 429) {
        if (++s->errors > 5) {
            if (err != NULL)
                strata_rebuild__finish(b, err->code, "%s", err->msg);
            else
                strata_rebuild__fail_status(b, "get job", resp, NULL);
            return;
        }
        strata_rebuild__later(b, b->o.poll_ms, poll_job);
        return;
    }
    if (resp->status != 200) {
        char *m = k8s_message(resp);

        strata_rebuild__fail_status(b, "get job", resp, m);
        free(m);
        return;
    }
    s->errors = 0;
    j = strata_rebuild__json(resp);
    status = json_object_get(j, "status");
    json_array_foreach (json_object_get(status, "conditions"), i, cond) {
        const char *type = json_string_value(json_object_get(cond, "type"));
        const char *cs = json_string_value(json_object_get(cond, "status"));

        if (type == NULL || cs == NULL || strcmp(cs, "True") != 0)
            continue;
        if (strcmp(type, "Complete") == 0) {
            done = 1;
        } else if (strcmp(type, "Failed") == 0) {
            const char *m = json_string_value(json_object_get(cond, "message"));

            done = 1;
            s->final_code = STRATA_EIO;
            free(s->reason);
            s->reason = m ? strata_xstrdup(m) : NULL;
        }
    }
    if (!done && json_integer_value(json_object_get(status, "succeeded")) > 0)
        done = 1;
    if (!done && json_integer_value(json_object_get(status, "failed")) > 0) {
        done = 1;
        s->final_code = STRATA_EIO;
    }
    json_decref(j);
    if (!done) {
        strata_rebuild__later(b, b->o.poll_ms, poll_job);
        return;
    }
    strata_rebuild__log(b, "job '%s' %s\n", s->name,
                        s->final_code == 0 ? "complete" : "failed");
    collect(b);
}

static void
poll_job(strata_rebuild *b)
{
    k8s_state *s = b->state;
    char *url = strata_xasprintf("%s/%s", s->jobs, s->name);

    k8s_send(b, "GET", url, NULL, on_job);
    free(url);
}

static void
on_created(strata_rebuild *b, const strata_http_response *resp,
           const strata_error *err)
{
    k8s_state *s = b->state;
    char *m;

    if (err != NULL) {
        strata_rebuild__finish(b, err->code, "%s", err->msg);
        return;
    }
    if (resp->status != 201 && resp->status != 200 && resp->status != 202) {
        m = k8s_message(resp);
        if (resp->status == 409)
            strata_rebuild__finish(b, STRATA_EEXISTS, "create job '%s': %s",
                                   s->name, m);
        else if (resp->status == 422 || resp->status == 400)
            strata_rebuild__finish(b, STRATA_EINVAL, "create job '%s': %s",
                                   s->name, m);
        else
            strata_rebuild__fail_status(b, "create job", resp, m);
        free(m);
        return;
    }
    strata_rebuild__log(b, "created job '%s' in namespace '%s'\n", s->name,
                        s->cl.ns);
    free(b->url);
    b->url = strata_xasprintf("%s/%s", s->jobs, s->name);
    strata_rebuild__later(b, b->o.poll_ms, poll_job);
}

/* ---- start and timeout -------------------------------------------------- */

/* "strata-build-<id>-<5 hex>", a DNS-1123 label of at most 63. New. */
static char *
job_name(const char *id)
{
    strata_buf n = STRATA_BUF_INIT;
    unsigned char rnd[3];
    const char *p;

    strata_buf_puts(&n, "strata-build-");
    for (p = id ? id : ""; *p != '\0' && n.len < 40; p++) {
        char c = *p;

        if (c >= 'A' && c <= 'Z')
            c = (char) (c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            strata_buf_putc(&n, c);
        else if (n.len > 0 && n.ptr[n.len - 1] != '-')
            strata_buf_putc(&n, '-');
    }
    if (n.ptr[n.len - 1] != '-')
        strata_buf_putc(&n, '-');
    uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL);
    strata_buf_printf(&n, "%02x%02x%x", rnd[0], rnd[1], rnd[2] & 15);
    return strata_buf_detach(&n);
}

static int
start(strata_rebuild *b, strata_error *err)
{
    k8s_state *s = strata_xcalloc(1, sizeof(*s));
    json_t *job;
    char *body;
    int rc;

    b->state = s;
    if ((rc = strata_k8s__cluster_load(&s->cl, &b->o, err)) != 0)
        return rc;
    if (s->cl.token != NULL)
        s->auth = strata_xasprintf("Bearer %s", s->cl.token);
    b->o.ca_file = s->cl.ca_file;
    b->o.insecure = s->cl.insecure;
    s->kaniko = strstr(b->o.builder_image, "kaniko") != NULL;
    s->name = job_name(b->o.id);
    s->jobs = strata_xasprintf("%s/apis/batch/v1/namespaces/%s/jobs",
                               s->cl.server, s->cl.ns);
    job = job_object(b, s);
    body = json_dumps(job, JSON_COMPACT);
    json_decref(job);
    k8s_send(b, "POST", s->jobs, body, on_created);
    free(body);
    return 0;
}

static void
on_timeout(strata_rebuild *b)
{
    k8s_state *s = b->state;

    s->flags = STRATA_REBUILD__CLEANUP;
    s->final_code = STRATA_ETIMEOUT;
    if (b->url == NULL) { /* the Job was never acknowledged */
        strata_rebuild__finish(
            b, STRATA_ETIMEOUT, "job '%s' was not created within %llu s",
            s->name, (unsigned long long) b->o.timeout_ms / 1000);
        return;
    }
    collect(b);
}

const strata_rebuild_backend strata_rebuild__kubernetes = {
    .name = "kubernetes",
    .check = check,
    .start = start,
    .timeout = on_timeout,
    .release = state_free,
};
