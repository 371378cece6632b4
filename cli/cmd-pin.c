/*
 * cmd-pin.c - `strata pin PATH... [--check] [--platform-pins] [--format
 * text|json]`: pins every image reference in the Dockerfiles, compose
 * files and Kubernetes manifests under each PATH to the digest its tag
 * points to now (NAME:TAG@sha256:...), or with --check only reports what
 * is unpinned or stale. Three steps: read every file and collect the
 * distinct references (a pin pass whose lookup only records); ask the
 * registries for all of them at once on one loop, within each registry's
 * max_concurrency; pin again with the answers and write the files that
 * changed (a temporary file renamed over the old one, mode kept).
 * Credentials: the config's registries[], else ~/.docker/config.json.
 */
#include <sys/stat.h>

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "cli.h"
#include "config.h"
#include "pin.h"

#define MAX_FILE (4 * 1024 * 1024)
#define DEFAULT_CONCURRENCY 8

/* One distinct (reference, platform) to resolve. */
typedef struct entry {
    strata_ref *ref;
    char *platform;
    char *digest; /* the answer, or NULL (then err says why) */
    strata_error err;
    struct host *host;
} entry;

/* A registry: its queue and how many requests it has in flight. */
typedef struct host {
    char *domain;
    int limit, running;
    int settled; /* the first request has answered */
    entry **queue;
    size_t n, next;
} host;

typedef struct pin_file {
    strata_pin_file f;
    char *data;
    size_t len;
    strata_pin_result res;
    int ok;            /* read and parsed */
    int explicit_file; /* named on the command line, not found in a dir */
} pin_file;

typedef struct pin_cmd {
    int check, platform_pins, json;
    strata_strmap *entries; /* "REF\nPLATFORM" -> entry */
    strata_strmap *hosts;   /* domain -> host */
    strata_strmap *seen;    /* "FILE:LINE REF" of failures reported */
    const strata_config *config;
    strata_pin_matchers *matchers; /* references.matchers, or NULL */
    strata_registry *reg;
    size_t outstanding;
    int resolving;       /* 0: collecting, 1: answering */
    unsigned bad_input;  /* unreadable or unparseable files */
    unsigned failures;   /* references that could not be resolved */
    json_t *errors;      /* json: [{path, line, ref, error}] */
    const char *current; /* the file being pinned */
} pin_cmd;

static char *
entry_key(const char *ref, const char *platform)
{
    return strata_xasprintf("%s\n%s", ref, platform ? platform : "");
}

/* Pass 1 records each reference; pass 2 answers from the registry. */
static const char *
lookup(const strata_pin_query *q, void *arg)
{
    pin_cmd *c = arg;
    char *key = entry_key(q->ref, q->platform), *seen;
    entry *e = strata_strmap_get(c->entries, key);

    if (!c->resolving) {
        if (e == NULL) {
            e = strata_xcalloc(1, sizeof(*e));
            strata_ref_parse(&e->ref, q->ref, NULL);
            e->platform = q->platform ? strata_xstrdup(q->platform) : NULL;
            strata_strmap_put(c->entries, key, e);
        }
        free(key);
        return NULL;
    }
    free(key);
    if (e != NULL && e->digest != NULL)
        return e->digest;
    /* Unresolvable: reported once per place, never pinned. */
    seen = strata_xasprintf("%s:%u %s", q->name, q->line, q->ref);
    if (!strata_strmap_has(c->seen, seen)) {
        const char *why = e ? e->err.msg : "not resolved";

        strata_strmap_put(c->seen, seen, c);
        c->failures++;
        if (c->json)
            json_array_append_new(
                c->errors,
                json_pack("{s:s, s:i, s:s, s:s?, s:s}", "path", q->name, "line",
                          (int) q->line, "ref", q->ref, "platform", q->platform,
                          "error", why));
        else
            fprintf(stderr, "%s:%u: cannot resolve %s%s%s: %s\n", q->name,
                    q->line, q->ref, q->platform ? " for " : "",
                    q->platform ? q->platform : "", why);
    }
    free(seen);
    return NULL;
}

/* ---- resolving on one loop, per-registry limits --------------------- */

static void pump(pin_cmd *c, host *h);

typedef struct req {
    pin_cmd *c;
    entry *e;
} req;

static void
on_digest(char *digest, const strata_error *err, void *arg)
{
    req *r = arg;
    pin_cmd *c = r->c;
    entry *e = r->e;

    free(r);
    if (err != NULL && err->code != 0)
        e->err = *err;
    else
        e->digest = digest;
    e->host->running--;
    e->host->settled = 1;
    c->outstanding--;
    pump(c, e->host);
}

/*
 * The first request to a registry goes alone: it settles the scheme
 * (HTTPS, or plain HTTP on loopback after HTTPS fails) before the others
 * start, so they don't all try HTTPS, fail together and back off.
 */
static void
pump(pin_cmd *c, host *h)
{
    while (h->running < (h->settled ? h->limit : 1) && h->next < h->n) {
        entry *e = h->queue[h->next++];
        req *r = strata_xcalloc(1, sizeof(*r));

        r->c = c;
        r->e = e;
        if (strata_registry_digest(c->reg, e->ref, e->platform, on_digest, r,
                                   &e->err) != 0) {
            free(r);
            continue;
        }
        h->running++;
        c->outstanding++;
    }
}

/* Options for domain: the config's registries[], else the docker config. */
static void
configure_host(pin_cmd *c, host *h)
{
    const strata_config_registry *r =
        c->config ? strata_config_registry_find(c->config, h->domain) : NULL;
    strata_registry_opts o = {0};
    char *user = NULL, *password = NULL;

    h->limit = DEFAULT_CONCURRENCY;
    if (r != NULL) {
        strata_config_registry_opts(&o, r);
        if (r->max_concurrency > 0)
            h->limit = r->max_concurrency;
        strata_registry_set_host(c->reg, h->domain, &o);
        return;
    }
    if (strata_docker_config_auth(&user, &password, NULL, h->domain, NULL) ==
            0 &&
        user != NULL) {
        o.username = user;
        o.password = password;
        strata_registry_set_host(c->reg, h->domain, &o);
    }
    free(user);
    if (password != NULL) {
        memset(password, 0, strlen(password));
        free(password);
    }
}

static int
resolve_all(pin_cmd *c, strata_error *err)
{
    uv_loop_t loop;
    size_t it = 0;
    const char *key;
    void *val;
    host *h;
    int rc;

    uv_loop_init(&loop);
    if ((rc = strata_registry_new(&c->reg, &loop, NULL, err)) != 0) {
        uv_loop_close(&loop);
        return rc;
    }
    while (strata_strmap_next(c->entries, &it, &key, &val)) {
        entry *e = val;
        const char *domain;

        if (e->ref == NULL) {
            strata_error_set(&e->err, STRATA_EINVAL, "invalid reference");
            continue;
        }
        domain = strata_ref_domain(e->ref);
        if ((h = strata_strmap_get(c->hosts, domain)) == NULL) {
            h = strata_xcalloc(1, sizeof(*h));
            h->domain = strata_xstrdup(domain);
            strata_strmap_put(c->hosts, domain, h);
            configure_host(c, h);
        }
        h->queue = strata_xrealloc(h->queue, (h->n + 1) * sizeof(*h->queue));
        h->queue[h->n++] = e;
        e->host = h;
    }
    it = 0;
    while (strata_strmap_next(c->hosts, &it, &key, &val))
        pump(c, val);
    while (c->outstanding > 0)
        uv_run(&loop, UV_RUN_ONCE);
    strata_registry_close(c->reg);
    c->reg = NULL;
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&loop);
    assert(rc == 0);
    return 0;
}

/* ---- files ------------------------------------------------------------ */

static int
read_file(pin_file *pf, strata_error *err)
{
    FILE *f = fopen(pf->f.path, "rb");
    strata_buf b = STRATA_BUF_INIT;
    char chunk[65536];
    size_t n;

    if (f == NULL)
        return strata_error_set(err, STRATA_EIO, "cannot open '%s': %s",
                                pf->f.path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        strata_buf_add(&b, chunk, n);
        if (b.len > MAX_FILE)
            break;
    }
    fclose(f);
    if (b.len > MAX_FILE) {
        strata_buf_release(&b);
        return strata_error_set(err, STRATA_ETOOBIG, "'%s' is over %d MiB",
                                pf->f.path, MAX_FILE / (1024 * 1024));
    }
    pf->len = b.len;
    pf->data = b.ptr ? strata_buf_detach(&b) : strata_xstrdup("");
    return 0;
}

/* Pins pf with the current pass's lookup (its result replaces the last). */
static int
pin_one(pin_cmd *c, pin_file *pf, strata_error *err)
{
    strata_pin_opts o = {0};

    o.lookup = lookup;
    o.arg = c;
    o.platform_pins = c->platform_pins;
    o.matchers = c->matchers;
    c->current = pf->f.path;
    strata_pin_result_release(&pf->res);
    /*
     * Every kind through the one reader (the graph's): Dockerfiles are
     * parsed in each pass, not kept (parsing is cheaper than memory), and
     * the matchers that select the file read it after its own reader.
     */
    return strata_pin_any(&pf->res, pf->data, pf->len, pf->f.kind, pf->f.path,
                          &o, err);
}

/* Reads, parses and collects one file; 0 when it takes part. */
static void
load(pin_cmd *c, pin_file *pf)
{
    strata_error err = {0};

    if (read_file(pf, &err) != 0)
        goto bad;
    if (pin_one(c, pf, &err) != 0) {
        /*
         * Any *.yaml may be a Helm template or something else entirely:
         * one that does not parse counts only if it looks like a manifest.
         */
        if (pf->f.kind == STRATA_PIN_MANIFEST && !pf->explicit_file &&
            !(strstr(pf->data, "kind:") && strstr(pf->data, "image:")))
            return;
        goto bad;
    }
    pf->ok = 1;
    strata_pin_result_release(&pf->res);
    return;
bad:
    c->bad_input++;
    if (c->json)
        json_array_append_new(
            c->errors,
            json_pack("{s:s, s:s}", "path", pf->f.path, "error", err.msg));
    else
        fprintf(stderr, "strata: %s\n", err.msg);
}

static int
write_file(const pin_file *pf, strata_error *err)
{
    struct stat st;
    char *tmp = strata_xasprintf("%s.strata-XXXXXX", pf->f.path);
    int fd = -1, rc = 0;
    size_t off = 0;

    if (stat(pf->f.path, &st) != 0 || (fd = mkstemp(tmp)) < 0) {
        rc = strata_error_set(err, STRATA_EIO, "cannot write '%s': %s",
                              pf->f.path, strerror(errno));
        goto out;
    }
    (void) fchmod(fd, st.st_mode & 07777);
    while (off < pf->res.len) {
        ssize_t w = write(fd, pf->res.data + off, pf->res.len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = strata_error_set(err, STRATA_EIO, "cannot write '%s': %s",
                                  pf->f.path, strerror(errno));
            goto out;
        }
        off += (size_t) w;
    }
    if (close(fd) != 0 || rename(tmp, pf->f.path) != 0) {
        fd = -1;
        rc = strata_error_set(err, STRATA_EIO, "cannot write '%s': %s",
                              pf->f.path, strerror(errno));
        goto out;
    }
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* ---- output ----------------------------------------------------------- */

static void
report_change(pin_cmd *c, const pin_file *pf, const strata_pin_change *ch,
              json_t *results)
{
    const char *status = c->check ? (ch->old_digest ? "stale" : "unpinned")
                                  : (ch->old_digest ? "updated" : "pinned");

    if (c->json) {
        json_array_append_new(
            results, json_pack("{s:s, s:i, s:s, s:s?, s:s, s:s?, s:s, s:s}",
                               "path", pf->f.path, "line", (int) ch->line,
                               "ref", ch->ref, "platform", ch->platform,
                               "status", status, "old", ch->old_digest, "new",
                               ch->new_digest, "text", ch->new_text));
        return;
    }
    printf("%s:%u: %s %s", pf->f.path, ch->line, status, ch->ref);
    if (ch->platform != NULL)
        printf(" for %s", ch->platform);
    if (c->check && ch->old_digest != NULL)
        printf(" (pinned %s, current %s)", ch->old_digest, ch->new_digest);
    else if (!c->check && ch->old_digest != NULL)
        printf(" from %s to %s", ch->old_digest, ch->new_digest);
    else if (!c->check)
        printf(" to %s", ch->new_digest);
    printf("\n");
}

static void
free_tables(pin_cmd *c)
{
    size_t it = 0;
    const char *key;
    void *val;

    while (c->entries && strata_strmap_next(c->entries, &it, &key, &val)) {
        entry *e = val;

        strata_ref_free(e->ref);
        free(e->platform);
        free(e->digest);
        free(e);
    }
    it = 0;
    while (c->hosts && strata_strmap_next(c->hosts, &it, &key, &val)) {
        host *h = val;

        free(h->domain);
        free(h->queue);
        free(h);
    }
    strata_strmap_free(c->entries);
    strata_strmap_free(c->hosts);
    strata_strmap_free(c->seen);
}

/*
 * The files under every PATH, each file once (by device and inode: a
 * file named twice, or inside a directory also named, is pinned once),
 * in the order given. *explicit_out[i] says whether file i was named
 * itself rather than found in a directory. A PATH that does not exist is
 * reported and counted as bad input; the others are still walked.
 */
static void
walk_all(pin_file **out, size_t *nout, pin_cmd *c, const strata_args *args)
{
    strata_strmap *seen = strata_strmap_new();
    pin_file *pfs = NULL;
    size_t n = 0, cap = 0, i, j;

    for (i = 0; i < strata_args_count(args); i++) {
        const char *path = strata_args_arg(args, i);
        strata_pin_file *files = NULL;
        strata_error err = {0};
        struct stat st;
        size_t nfiles = 0;
        int explicit_file;

        if (strata_pin_walk_with(&files, &nfiles, path, c->matchers, &err) !=
            0) {
            c->bad_input++;
            if (c->json)
                json_array_append_new(
                    c->errors,
                    json_pack("{s:s, s:s}", "path", path, "error", err.msg));
            else
                fprintf(stderr, "strata: %s\n", err.msg);
            continue;
        }
        explicit_file = stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
        for (j = 0; j < nfiles; j++) {
            char key[64];

            if (stat(files[j].path, &st) == 0) {
                snprintf(key, sizeof(key), "%llu:%llu",
                         (unsigned long long) st.st_dev,
                         (unsigned long long) st.st_ino);
                if (strata_strmap_has(seen, key)) {
                    free(files[j].path);
                    continue;
                }
                strata_strmap_put(seen, key, c);
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                pfs = strata_xrealloc(pfs, cap * sizeof(*pfs));
            }
            memset(&pfs[n], 0, sizeof(pfs[n]));
            pfs[n].f = files[j];
            pfs[n].explicit_file = explicit_file;
            n++;
        }
        /* The paths now belong to pfs. */
        free(files);
    }
    strata_strmap_free(seen);
    *out = pfs;
    *nout = n;
}

/* The configuration's references.matchers, compiled (new), or NULL. */
static strata_pin_matchers *
matchers_of(const strata_config_data *cd, strata_error *err)
{
    strata_pin_matchers *m = strata_pin_matchers_new();
    size_t i;

    for (i = 0; i < cd->references.n_matchers; i++) {
        const strata_config_matcher *x = &cd->references.matchers[i];

        if (strata_pin_matchers_add(m, x->files.items, x->files.count, x->match,
                                    err) != 0) {
            strata_pin_matchers_free(m);
            return NULL;
        }
    }
    return m;
}

static int
exec_pin(strata_cmd_ctx *ctx)
{
    pin_file *pfs = NULL;
    strata_error err = {0};
    pin_cmd c = {0};
    const char *format = strata_args_get(ctx->args, "format");
    json_t *results = json_array(), *problems = json_array();
    size_t nfiles = 0, i, j, nrefs = 0, nchanges = 0, nproblems = 0;
    int rc = STRATA_EXIT_USAGE;

    c.check = strata_args_has(ctx->args, "check");
    c.platform_pins = strata_args_has(ctx->args, "platform-pins");
    c.json = format != NULL && strcmp(format, "json") == 0;
    c.errors = json_array();
    c.config = ctx->config;
    if (c.config != NULL &&
        (c.matchers = matchers_of(strata_config_data_get(c.config), &err)) ==
            NULL) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    walk_all(&pfs, &nfiles, &c, ctx->args);
    c.entries = strata_strmap_new();
    c.hosts = strata_strmap_new();
    c.seen = strata_strmap_new();
    for (i = 0; i < nfiles; i++)
        load(&c, &pfs[i]);
    if (strata_strmap_len(c.entries) > 0 && resolve_all(&c, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    c.resolving = 1;
    for (i = 0; i < nfiles; i++) {
        pin_file *pf = &pfs[i];

        if (!pf->ok)
            continue;
        if (pin_one(&c, pf, &err) != 0) {
            pf->ok = 0;
            c.bad_input++;
            fprintf(stderr, "strata: %s\n", err.msg);
            continue;
        }
        nrefs += pf->res.nrefs;
        for (j = 0; j < pf->res.nproblems; j++) {
            if (c.json)
                json_array_append_new(problems,
                                      json_string(pf->res.problems[j]));
            else
                fprintf(stderr, "%s\n", pf->res.problems[j]);
        }
        nproblems += pf->res.nproblems;
        for (j = 0; j < pf->res.nchanges; j++)
            report_change(&c, pf, &pf->res.changes[j], results);
        nchanges += pf->res.nchanges;
        if (!c.check && pf->res.nchanges > 0 && write_file(pf, &err) != 0) {
            fprintf(stderr, "strata: %s\n", err.msg);
            c.bad_input++;
        }
        strata_pin_result_release(&pf->res);
    }
    if (c.json) {
        json_t *doc = json_pack("{s:b, s:i, s:i, s:O, s:O, s:O}", "check",
                                c.check, "files", (int) nfiles, "references",
                                (int) nrefs, "results", results, "errors",
                                c.errors, "problems", problems);
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        printf("%s\n", s);
        free(s);
        json_decref(doc);
    } else {
        fprintf(stderr,
                "strata: %zu file(s), %zu reference(s): %zu %s, %u "
                "unresolved, %zu not pinnable\n",
                nfiles, nrefs, nchanges,
                c.check ? "unpinned or stale" : "pinned or updated", c.failures,
                nproblems);
    }
    if (c.bad_input > 0)
        rc = STRATA_EXIT_USAGE;
    else if (c.failures > 0 || nproblems > 0 || (c.check && nchanges > 0))
        rc = STRATA_EXIT_PROBLEM;
    else
        rc = STRATA_EXIT_OK;
out:
    for (i = 0; pfs != NULL && i < nfiles; i++) {
        free(pfs[i].f.path);
        free(pfs[i].data);
        strata_pin_result_release(&pfs[i].res);
    }
    free(pfs);
    strata_pin_matchers_free(c.matchers);
    free_tables(&c);
    json_decref(c.errors);
    json_decref(results);
    json_decref(problems);
    return rc;
}

static const strata_cmd_opt pin_opts[] = {
    {"check", 0, 0, NULL, NULL,
     "change nothing; print FILE:LINE: unpinned REF or FILE:LINE: stale REF "
     "(pinned X, current Y) and exit 1 if any reference is not current"},
    {"platform-pins", 0, 0, NULL, NULL,
     "pin FROM --platform=OS/ARCH stages to that platform's manifest "
     "instead of the index"},
    {"format", 0, STRATA_OPT_VALUE, NULL, "text|json",
     "text (default), or one JSON document instead of lines"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_pin = {
    .name = "pin",
    .summary = "Pin image references under each PATH to their current "
               "digests.",
    .help =
        "Rewrites every image reference in the Dockerfiles (Dockerfile,\n"
        "Containerfile, *.Dockerfile, Dockerfile.*), compose files\n"
        "(compose.yaml, docker-compose.yml, docker-compose.*.yml, ...),\n"
        "Kubernetes manifests and CRDs (*.yaml, *.yml), Helm values and\n"
        "Chart.yaml, kustomization.yaml, GitHub Actions workflows, GitLab CI\n"
        "files and their local includes, devcontainer.json, and the files\n"
        "the config's references.matchers select, under PATH to\n"
        "NAME:TAG@DIGEST (or into the digest key a Helm values block or a\n"
        "kustomization has), the digest the tag points to now (a multi-arch\n"
        "tag's index digest).\n"
        "Only the references change; every other byte of each file stays.\n"
        "Every PATH is read in this one run, each file once, and each\n"
        "distinct reference is resolved once for all of them.\n"
        "References that cannot be resolved or rewritten in place are\n"
        "reported on stderr and give exit 1. Credentials: the config's\n"
        "registries[], else ~/.docker/config.json. Exit 2 on bad usage, a\n"
        "PATH that does not exist, or an unreadable or unparseable file\n"
        "(the other files are still pinned or checked).\n",
    .opts = pin_opts,
    .args = "PATH",
    .min_args = 1,
    .max_args = STRATA_ARGS_MANY,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_pin,
};
