/*
 * buildah.c - the buildah rebuild backend: builds on this host with
 * Debian's buildah and pushes. Steps, each on the loop:
 *   1. a uv_queue_work job makes a private temporary directory, exports
 *      the branch head of the repository's mirror into it (unless a
 *      context directory was given), writes an authfile from the
 *      registries' credentials (mode 0600, never on a command line) and
 *      reads the Dockerfile for the build args that pin the moved base;
 *   2. `buildah [global opts] bud --pull --layers -f F [--target T]
 *      [--build-arg K=V]... [--platform P,...] -t IMAGE CONTEXT`
 *      (`--manifest IMAGE` for several platforms);
 *   3. `buildah push --digestfile D IMAGE docker://IMAGE` (or `manifest
 *      push --all`), whose digest file says what was pushed;
 *   4. another work job removes the directory, then the callback runs.
 * Each child gets what is left of the deadline as its timeout.
 */
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dockerfile.h"
#include "rebuild-int.h"
#include "vcs.h"

typedef struct bah_state {
    strata_rebuild *b;
    uv_work_t work;
    char *tmp;      /* private temporary directory, or NULL */
    char *src;      /* the tree: tmp/src or opts.context_dir */
    char *authfile; /* written or given, or NULL */
    char **pins;    /* "K=V" from strata_rebuild_pin_args */
    size_t npins;
    int tls_verify;
    int64_t deadline; /* ms since the epoch */
    int rc;           /* of the work job */
    strata_error err;
    int final_code;
    char final_msg[512];
} bah_state;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static void
remove_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
state_free(void *p)
{
    bah_state *s = p;
    size_t i;

    if (s == NULL)
        return;
    if (s->tmp != NULL) /* only after a cancel: normally removed already */
        remove_tree(s->tmp);
    free(s->tmp);
    free(s->src);
    free(s->authfile);
    for (i = 0; i < s->npins; i++)
        free(s->pins[i]);
    free(s->pins);
    free(s);
}

static int
check(const strata_rebuild_opts *o, strata_error *err)
{
    if (o->context_dir == NULL && (o->repo_url == NULL || o->cache_dir == NULL))
        return strata_error_set(err, STRATA_EINVAL,
                                "buildah builder needs a context directory "
                                "or a repository and a cache directory");
    if (strstr(o->dockerfile ? o->dockerfile : "", "..") != NULL ||
        strstr(o->context ? o->context : "", "..") != NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "buildah builder: '..' in dockerfile or "
                                "context path");
    return 0;
}

/* ---- pins ---------------------------------------------------------------- */

static int
same_image(const strata_ref *a, const strata_ref *b)
{
    const char *ta = strata_ref_tag(a), *tb = strata_ref_tag(b);

    return strcmp(strata_ref_name(a), strata_ref_name(b)) == 0 &&
           (ta == NULL || tb == NULL || strcmp(ta, tb) == 0);
}

int
strata_rebuild_pin_args(char ***out, size_t *nout, const char *dockerfile,
                        size_t len, const char *base, const char *digest,
                        strata_error *err)
{
    strata_dockerfile *df = NULL;
    strata_ref *want = NULL;
    char **v = NULL;
    size_t n = 0, i, k;
    int rc;

    *out = NULL;
    *nout = 0;
    if (digest == NULL)
        return 0;
    if ((rc = strata_digest_validate(digest, err)) != 0)
        return rc;
    v = strata_xcalloc(1, sizeof(char *));
    v[n++] = strata_xasprintf("BASE_DIGEST=%s", digest);
    if (base == NULL || dockerfile == NULL)
        goto done;
    if ((rc = strata_ref_parse(&want, base, err)) != 0 ||
        (rc = strata_dockerfile_parse(&df, dockerfile, len, "Dockerfile", NULL,
                                      err)) != 0)
        goto fail;
    for (i = 0; i < strata_dockerfile_ref_count(df); i++) {
        const strata_df_ref *r = strata_dockerfile_ref(df, i);
        char *prefix, *text, *at;
        size_t tl;

        if (!r->external || r->ref == NULL ||
            r->origin != STRATA_DF_ORIGIN_ARG_DEFAULT || r->arg_name == NULL ||
            !same_image(r->ref, want))
            continue;
        prefix = strata_xasprintf("%s=", r->arg_name);
        for (k = 0; k < n; k++)
            if (strncmp(v[k], prefix, strlen(prefix)) == 0)
                break;
        if (k < n) {
            free(prefix);
            continue;
        }
        text = strata_xstrndup(dockerfile + r->arg_span.offset,
                               r->arg_span.length);
        tl = strlen(text);
        if (tl >= 2 && (text[0] == '"' || text[0] == '\'') &&
            text[tl - 1] == text[0]) {
            memmove(text, text + 1, tl - 2);
            text[tl - 2] = '\0';
        }
        if ((at = strchr(text, '@')) != NULL)
            *at = '\0';
        v = strata_xrealloc(v, (n + 1) * sizeof(char *));
        v[n++] = strata_xasprintf("%s%s@%s", prefix, text, digest);
        free(text);
        free(prefix);
    }
done:
    strata_dockerfile_free(df);
    strata_ref_free(want);
    *out = v;
    *nout = n;
    return 0;
fail:
    strata_dockerfile_free(df);
    strata_ref_free(want);
    for (k = 0; k < n; k++)
        free(v[k]);
    free(v);
    return rc;
}

/* ---- step 1: the context, authfile and pins (a worker) ------------------ */

static int
write_authfile(bah_state *s, const strata_rebuild_opts *o, strata_error *err)
{
    json_t *auths = json_object(), *root;
    char *text, *path;
    size_t i;
    int rc;

    for (i = 0; i < o->nregistries; i++) {
        const strata_rebuild_registry *r = &o->registries[i];
        char *up, *b64;
        size_t len;

        if (r->username == NULL || r->password == NULL)
            continue;
        up = strata_xasprintf("%s:%s", r->username, r->password);
        len = strlen(up);
        b64 = strata_xmalloc(4 * ((len + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *) b64, (unsigned char *) up, (int) len);
        json_object_set_new(auths, r->host, json_pack("{s:s}", "auth", b64));
        memset(up, 0, len);
        memset(b64, 0, strlen(b64));
        free(up);
        free(b64);
    }
    if (json_object_size(auths) == 0) {
        json_decref(auths);
        return 0;
    }
    root = json_pack("{s:o}", "auths", auths);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    path = strata_xasprintf("%s/auth.json", s->tmp);
    rc = strata_write_file(path, text, strlen(text), err);
    if (rc == 0 && chmod(path, 0600) != 0)
        rc = strata_error_set(err, STRATA_EIO, "cannot chmod '%s': %s", path,
                              strerror(errno));
    memset(text, 0, strlen(text));
    free(text);
    if (rc == 0)
        s->authfile = path;
    else
        free(path);
    return rc;
}

static void
prepare_work(uv_work_t *w)
{
    bah_state *s = w->data;
    const strata_rebuild_opts *o = &s->b->o;
    strata_vcs_repo *repo = NULL;
    char *df = NULL;
    size_t len = 0;
    const char *tmpdir = getenv("TMPDIR");

    s->tmp = strata_xasprintf("%s/strata-build-XXXXXX",
                              tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (mkdtemp(s->tmp) == NULL) {
        s->rc = strata_error_set(&s->err, STRATA_EIO, "cannot create '%s': %s",
                                 s->tmp, strerror(errno));
        free(s->tmp);
        s->tmp = NULL;
        return;
    }
    if (o->context_dir != NULL) {
        s->src = strata_xstrdup(o->context_dir);
    } else {
        strata_vcs_source src = {.url = o->repo_url,
                                 .branch = o->branch ? o->branch : "main",
                                 .username = o->repo_username,
                                 .token = o->repo_token,
                                 .cancel = o->cancel};

        s->src = strata_xasprintf("%s/src", s->tmp);
        if (mkdir(s->src, 0700) != 0) {
            s->rc =
                strata_error_set(&s->err, STRATA_EIO, "cannot create '%s': %s",
                                 s->src, strerror(errno));
            return;
        }
        if ((s->rc = strata_vcs_sync(&repo, &src, o->cache_dir, &s->err)) !=
                0 ||
            (s->rc = strata_vcs_export(repo, NULL, s->src, &s->err)) != 0) {
            strata_vcs_repo_free(repo);
            return;
        }
        strata_vcs_repo_free(repo);
    }
    if (o->authfile != NULL)
        s->authfile = strata_xstrdup(o->authfile);
    else if ((s->rc = write_authfile(s, o, &s->err)) != 0)
        return;
    /* Never through a symbolic link: the Dockerfile parsed for its build
     * arguments and handed to buildah is the repository's own, inside the
     * build context. */
    s->rc = strata_read_file_beneath(&df, &len, s->src, o->dockerfile,
                                     1024 * 1024, &s->err);
    if (s->rc == 0)
        s->rc = strata_rebuild_pin_args(&s->pins, &s->npins, df, len, o->base,
                                        o->base_digest, &s->err);
    free(df);
}

/* ---- steps 2 and 3: the children ---------------------------------------- */

static void finish(strata_rebuild *b, int code, const char *msg);

/* argv: the program and global options, then the rest. New. */
static char **
command(const strata_rebuild *b, const char *const *rest, size_t nrest)
{
    char **v = strata_rebuild__split(b->o.program ? b->o.program : "buildah");
    size_t n = 0, i;

    while (v[n] != NULL)
        n++;
    v = strata_xrealloc(v, (n + nrest + 3) * sizeof(char *));
    if (b->o.storage_driver != NULL) {
        v[n++] = strata_xstrdup("--storage-driver");
        v[n++] = strata_xstrdup(b->o.storage_driver);
    }
    for (i = 0; i < nrest; i++)
        v[n++] = strata_xstrdup(rest[i]);
    v[n] = NULL;
    return v;
}

static int
spawn(strata_rebuild *b, char **argv, strata_proc_cb cb)
{
    bah_state *s = b->state;
    strata_proc_opts po = {0};
    strata_error err = {0};
    int64_t left = s->deadline - strata_now_ms();
    int rc;

    if (left <= 0)
        left = 1;
    po.argv = (const char *const *) argv;
    po.max_output = 64 * 1024;
    po.timeout_ms = (uint64_t) left;
    strata_rebuild__ref(b);
    if ((rc = strata_proc_spawn(b->loop, &po, cb, b, &err)) != 0) {
        strata_rebuild__unref(b);
        finish(b, rc, err.msg);
    }
    strata_rebuild__strv_free(argv);
    return rc;
}

/* 0, or finishes b for a child that failed, and returns -1. */
static int
child_failed(strata_rebuild *b, const strata_proc_result *res, const char *what)
{
    char msg[256];

    strata_rebuild__log_add(b, res->output, res->output_len);
    if (res->exit_status == 0 && res->term_signal == 0)
        return 0;
    if (res->timed_out)
        snprintf(msg, sizeof(msg), "%s of '%s' did not finish within %llu s",
                 what, b->o.image, (unsigned long long) b->o.timeout_ms / 1000);
    else if (res->term_signal != 0)
        snprintf(msg, sizeof(msg), "%s of '%s' killed by signal %d", what,
                 b->o.image, res->term_signal);
    else
        snprintf(msg, sizeof(msg), "%s of '%s' exited with status %lld", what,
                 b->o.image, (long long) res->exit_status);
    finish(b, res->timed_out ? STRATA_ETIMEOUT : STRATA_EIO, msg);
    return -1;
}

static void
on_pushed(const strata_proc_result *res, void *arg)
{
    strata_rebuild *b = arg;
    bah_state *s = b->state;
    char *path, *d = NULL;
    size_t len = 0;

    if (!b->done && child_failed(b, res, "buildah push") == 0) {
        path = strata_xasprintf("%s/digest", s->tmp);
        if (strata_read_file(&d, &len, path, 4096, NULL) == 0) {
            while (len > 0 && strchr(" \r\n", d[len - 1]) != NULL)
                d[--len] = '\0';
            if (strata_digest_validate(d, NULL) == 0)
                b->digest = d;
            else
                free(d);
        }
        free(path);
        finish(b, 0, NULL);
    }
    strata_rebuild__unref(b);
}

static void
push(strata_rebuild *b)
{
    bah_state *s = b->state;
    const char *rest[12];
    char *digestfile = strata_xasprintf("%s/digest", s->tmp);
    char *dest = strata_xasprintf("docker://%s", b->o.image);
    size_t n = 0;

    if (b->o.nplatforms > 1) {
        rest[n++] = "manifest";
        rest[n++] = "push";
        rest[n++] = "--all";
    } else {
        rest[n++] = "push";
    }
    if (!s->tls_verify)
        rest[n++] = "--tls-verify=false";
    if (s->authfile != NULL) {
        rest[n++] = "--authfile";
        rest[n++] = s->authfile;
    }
    rest[n++] = "--digestfile";
    rest[n++] = digestfile;
    rest[n++] = b->o.image;
    rest[n++] = dest;
    strata_rebuild__log(b, "$ buildah %spush %s\n",
                        b->o.nplatforms > 1 ? "manifest " : "", b->o.image);
    spawn(b, command(b, rest, n), on_pushed);
    free(digestfile);
    free(dest);
}

static void
on_built(const strata_proc_result *res, void *arg)
{
    strata_rebuild *b = arg;

    if (!b->done && child_failed(b, res, "buildah bud") == 0)
        push(b);
    strata_rebuild__unref(b);
}

static void
bud(strata_rebuild *b)
{
    bah_state *s = b->state;
    const strata_rebuild_opts *o = &b->o;
    size_t cap = 28 + 2 * (o->nbuild_args + s->npins), n = 0, i;
    const char **rest = strata_xcalloc(cap, sizeof(char *));
    char **owned = strata_xcalloc(cap, sizeof(char *));
    size_t nowned = 0;
    char *plats = strata_rebuild__platforms(o);

#define OWN(x) (owned[nowned++] = (x))
    rest[n++] = "bud";
    if (o->isolation != NULL) {
        rest[n++] = "--isolation";
        rest[n++] = o->isolation;
    }
    rest[n++] = "--pull";
    rest[n++] = "--layers";
    rest[n++] = "-f";
    rest[n++] = OWN(strata_xasprintf("%s/%s", s->src, o->dockerfile));
    if (o->target != NULL) {
        rest[n++] = "--target";
        rest[n++] = o->target;
    }
    for (i = 0; i < o->nbuild_args; i++) {
        rest[n++] = "--build-arg";
        rest[n++] = OWN(strata_xasprintf("%s=%s", o->build_args[i].key,
                                         o->build_args[i].value));
    }
    for (i = 0; i < s->npins; i++) {
        rest[n++] = "--build-arg";
        rest[n++] = s->pins[i];
    }
    if (o->job_key != NULL) {
        rest[n++] = "--build-arg";
        rest[n++] = OWN(strata_xasprintf("STRATA_JOB_KEY=%s", o->job_key));
    }
    if (o->nplatforms > 0) {
        rest[n++] = "--platform";
        rest[n++] = plats;
    }
    if (o->annotate_base && o->base != NULL && o->base_digest != NULL) {
        rest[n++] = "--annotation";
        rest[n++] = OWN(
            strata_xasprintf("org.opencontainers.image.base.name=%s", o->base));
        rest[n++] = "--annotation";
        rest[n++] = OWN(strata_xasprintf(
            "org.opencontainers.image.base.digest=%s", o->base_digest));
    }
    rest[n++] = o->nplatforms > 1 ? "--manifest" : "-t";
    rest[n++] = o->image;
    if (!s->tls_verify)
        rest[n++] = "--tls-verify=false";
    if (s->authfile != NULL) {
        rest[n++] = "--authfile";
        rest[n++] = s->authfile;
    }
    rest[n++] = OWN(strata_xasprintf("%s/%s", s->src, o->context));
#undef OWN
    strata_rebuild__log(b, "$ buildah bud -f %s %s\n", o->dockerfile, o->image);
    spawn(b, command(b, rest, n), on_built);
    for (i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    free(rest);
    free(plats);
}

static void
prepare_done(uv_work_t *w, int status)
{
    bah_state *s = w->data;
    strata_rebuild *b = s->b;

    (void) status;
    if (!b->done) {
        if (s->rc != 0)
            finish(b, s->rc, s->err.msg);
        else
            bud(b);
    }
    strata_rebuild__unref(b);
}

/* ---- step 4: tidy up, then report ---------------------------------------- */

static void
cleanup_work(uv_work_t *w)
{
    bah_state *s = w->data;

    if (s->tmp != NULL)
        remove_tree(s->tmp);
}

static void
cleanup_done(uv_work_t *w, int status)
{
    bah_state *s = w->data;
    strata_rebuild *b = s->b;

    (void) status;
    free(s->tmp);
    s->tmp = NULL;
    if (s->final_code != 0)
        strata_rebuild__finish(b, s->final_code, "%s", s->final_msg);
    else
        strata_rebuild__finish(b, 0, NULL);
    strata_rebuild__unref(b);
}

static void
finish(strata_rebuild *b, int code, const char *msg)
{
    bah_state *s = b->state;

    s->final_code = code;
    snprintf(s->final_msg, sizeof(s->final_msg), "%s", msg ? msg : "");
    s->work.data = s;
    strata_rebuild__ref(b);
    if (uv_queue_work(b->loop, &s->work, cleanup_work, cleanup_done) != 0) {
        strata_rebuild__unref(b);
        strata_rebuild__finish(b, code, "%s", s->final_msg);
    }
}

static int
start(strata_rebuild *b, strata_error *err)
{
    bah_state *s = strata_xcalloc(1, sizeof(*s));
    strata_ref *ref = NULL;
    size_t i;
    int rc;

    b->state = s;
    s->b = b;
    s->deadline = strata_now_ms() + (int64_t) b->o.timeout_ms;
    if ((rc = strata_ref_parse(&ref, b->o.image, err)) != 0)
        return rc;
    s->tls_verify = !strata_ref_domain_is_loopback(strata_ref_domain(ref));
    for (i = 0; i < b->o.nregistries; i++)
        if (b->o.registries[i].insecure &&
            strcmp(b->o.registries[i].host, strata_ref_domain(ref)) == 0)
            s->tls_verify = 0;
    strata_ref_free(ref);
    s->work.data = s;
    strata_rebuild__ref(b);
    if ((rc = uv_queue_work(b->loop, &s->work, prepare_work, prepare_done)) !=
        0) {
        strata_rebuild__unref(b);
        return strata_error_set(err, STRATA_EINTERNAL, "uv_queue_work: %s",
                                uv_strerror(rc));
    }
    return 0;
}

const strata_rebuild_backend strata_rebuild__buildah = {
    .name = "buildah",
    .check = check,
    .start = start,
    .release = state_free,
    .own_deadline = 1,
};
