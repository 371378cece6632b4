/*
 * dockerfile.c - the Dockerfile parser's public face: options (build-arg
 * overrides, the target platform and its automatic ARGs), reading a file
 * within the size limit, rejecting binary data, running the lexer and the
 * instruction handlers, then computing each stage's dependencies and
 * sorting the diagnostics. The result owns one arena and a few arrays.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dockerfile-int.h"

void
strata_dockerfile__diag(strata_dockerfile *df, unsigned line, const char *fmt,
                        ...)
{
    strata_dockerfile__diag_int *d;
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = strata_xvasprintf(fmt, ap);
    va_end(ap);
    if (df->ndiags == df->capdiags) {
        df->capdiags = df->capdiags ? df->capdiags * 2 : 8;
        df->diags =
            strata_xrealloc(df->diags, df->capdiags * sizeof(*df->diags));
    }
    d = &df->diags[df->ndiags];
    d->seq = df->ndiags++;
    d->d.line = line;
    d->d.message = strata_arena_strdup(&df->arena, msg);
    d->d.text =
        strata_arena_printf(&df->arena, "%s:%u: %s", df->name, line, msg);
    free(msg);
}

strata_df_ref *
strata_dockerfile__add_ref(strata_dockerfile *df)
{
    strata_df_ref *r;

    if (df->nrefs == df->caprefs) {
        df->caprefs = df->caprefs ? df->caprefs * 2 : 8;
        df->refs = strata_xrealloc(df->refs, df->caprefs * sizeof(*df->refs));
    }
    r = &df->refs[df->nrefs++];
    memset(r, 0, sizeof(*r));
    return r;
}

static void
lexer_diag(unsigned line, const char *msg, void *arg)
{
    strata_dockerfile__diag(arg, line, "%s", msg);
}

static int
platform_part_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '-' || s[i] == '.'))
            return 0;
    return 1;
}

static void
set_auto(strata_dockerfile__parser *p, const char *name, const char *value)
{
    strata_dockerfile__var *v = strata_dockerfile__env_set(
        &p->meta, strata_arena_strdup(&p->df->arena, name));

    v->value = strata_arena_strdup(&p->df->arena, value);
    v->origin = STRATA_GRAPH__DF_VAR_AUTOMATIC;
}

/* BuildKit's automatic platform ARGs, all from the target platform. */
static int
platform_args(strata_dockerfile__parser *p, const char *platform,
              strata_error *err)
{
    static const char *const pre[] = {"TARGET", "BUILD"};
    char *plat = strata_xstrdup(platform ? platform : "linux/amd64");
    char *parts[3] = {NULL, NULL, NULL}, *s = plat, *slash;
    int n = 0, i, rc = 0;

    for (i = 0; plat[i]; i++)
        plat[i] =
            (char) (plat[i] >= 'A' && plat[i] <= 'Z' ? plat[i] + 32 : plat[i]);
    for (;;) {
        if (n == 3) {
            n = 4;
            break;
        }
        parts[n++] = s;
        if ((slash = strchr(s, '/')) == NULL)
            break;
        *slash = '\0';
        s = slash + 1;
    }
    for (i = 0; i < n && i < 3; i++)
        if (!platform_part_ok(parts[i], strlen(parts[i])))
            n = 0;
    if (n < 2 || n > 3) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "%s: invalid platform '%s' (want "
                              "os/arch[/variant])",
                              p->df->name, platform);
        goto out;
    }
    for (i = 0; i < 2; i++) {
        char name[32], *full;

        full = strata_xasprintf("%s/%s%s%s", parts[0], parts[1],
                                parts[2] ? "/" : "", parts[2] ? parts[2] : "");
        snprintf(name, sizeof(name), "%sPLATFORM", pre[i]);
        set_auto(p, name, full);
        free(full);
        snprintf(name, sizeof(name), "%sOS", pre[i]);
        set_auto(p, name, parts[0]);
        snprintf(name, sizeof(name), "%sARCH", pre[i]);
        set_auto(p, name, parts[1]);
        snprintf(name, sizeof(name), "%sVARIANT", pre[i]);
        set_auto(p, name, parts[2] ? parts[2] : "");
    }
out:
    free(plat);
    return rc;
}

static int
build_args(strata_dockerfile__parser *p, const char *const *ba,
           strata_error *err)
{
    size_t n = 0, i;

    while (ba != NULL && ba[n] != NULL)
        n++;
    p->ba_keys = strata_arena_alloc(&p->df->arena, (n + 1) * sizeof(char *));
    p->ba_vals = strata_arena_alloc(&p->df->arena, (n + 1) * sizeof(char *));
    for (i = 0; i < n; i++) {
        const char *eq = strchr(ba[i], '=');

        if (eq == NULL || eq == ba[i])
            return strata_error_set(err, STRATA_EINVAL,
                                    "invalid build arg '%s' (want KEY=VALUE)",
                                    ba[i]);
        p->ba_keys[i] =
            strata_arena_strndup(&p->df->arena, ba[i], (size_t) (eq - ba[i]));
        p->ba_vals[i] = strata_arena_strdup(&p->df->arena, eq + 1);
    }
    p->nba = n;
    return 0;
}

static int
cmp_diag(const void *a, const void *b)
{
    const strata_dockerfile__diag_int *x = a, *y = b;

    if (x->d.line != y->d.line)
        return x->d.line < y->d.line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Each stage's direct dependencies: its FROM stage and the stages its
 * COPY --from and mounts name. */
static void
build_adjacency(strata_dockerfile *df)
{
    size_t *fill, i, s;

    if (df->nstages == 0)
        return;
    df->nadj = strata_arena_alloc(&df->arena, df->nstages * sizeof(size_t));
    df->adj = strata_arena_alloc(&df->arena, df->nstages * sizeof(int *));
    for (s = 0; s < df->nstages; s++)
        df->nadj[s] = df->stages[s].base_stage >= 0;
    for (i = 0; i < df->nrefs; i++)
        if (df->refs[i].kind != STRATA_DF_FROM && df->refs[i].target_stage >= 0)
            df->nadj[df->refs[i].stage]++;
    fill = strata_xcalloc(df->nstages, sizeof(size_t));
    for (s = 0; s < df->nstages; s++) {
        df->adj[s] = strata_arena_alloc(&df->arena, df->nadj[s] * sizeof(int));
        if (df->stages[s].base_stage >= 0)
            df->adj[s][fill[s]++] = df->stages[s].base_stage;
    }
    for (i = 0; i < df->nrefs; i++) {
        const strata_df_ref *r = &df->refs[i];

        if (r->kind != STRATA_DF_FROM && r->target_stage >= 0)
            df->adj[r->stage][fill[r->stage]++] = r->target_stage;
    }
    free(fill);
}

/* Marks in seen (nstages bytes) every stage that stage reaches, itself
 * included; an explicit stack, so deep chains cannot overflow ours. */
static void
reach(const strata_dockerfile *df, int stage, unsigned char *seen)
{
    int *stack = strata_xmalloc(df->nstages * sizeof(int));
    size_t top = 0, k;

    memset(seen, 0, df->nstages);
    seen[stage] = 1;
    stack[top++] = stage;
    while (top > 0) {
        int s = stack[--top];

        for (k = 0; k < df->nadj[s]; k++) {
            int d = df->adj[s][k];
            if (!seen[d]) {
                seen[d] = 1;
                stack[top++] = d;
            }
        }
    }
    free(stack);
}

int
strata_dockerfile_parse(strata_dockerfile **out, const char *data, size_t len,
                        const char *name, const strata_df_options *opts,
                        strata_error *err)
{
    strata_df_options none = {0};
    strata_dockerfile__parser p;
    strata_dockerfile__line l;
    size_t max;
    const char *nul;
    int rc = 0;

    *out = NULL;
    if (opts == NULL)
        opts = &none;
    if (name == NULL)
        name = "Dockerfile";
    max = opts->max_size ? opts->max_size : STRATA_DF_MAX_SIZE;
    if (len > max)
        return strata_error_set(err, STRATA_ETOOBIG,
                                "%s: file is larger than %zu bytes", name, max);
    if (len > 0 && (nul = memchr(data, '\0', len)) != NULL) {
        unsigned line = 1;
        const char *q;

        for (q = data; q < nul; q++)
            line += *q == '\n';
        return strata_error_set(err, STRATA_EINVAL,
                                "%s:%u: binary file (NUL byte at offset %zu)",
                                name, line, (size_t) (nul - data));
    }
    memset(&p, 0, sizeof(p));
    p.df = strata_xcalloc(1, sizeof(*p.df));
    p.df->name = strata_arena_strdup(&p.df->arena, name);
    p.df->escape = '\\';
    p.meta.budget = STRATA_GRAPH__DF_EXPAND_BUDGET;
    if ((rc = build_args(&p, opts->build_args, err)) != 0 ||
        (rc = platform_args(&p, opts->platform, err)) != 0)
        goto out;
    strata_dockerfile__lexer_init(&p.lx, data, len, lexer_diag, p.df);
    while (strata_dockerfile__lexer_next(&p.lx, &l)) {
        p.df->escape = p.lx.escape;
        strata_dockerfile__instruction(&p, &l);
    }
    p.df->escape = p.lx.escape;
    if (p.lx.syntax != NULL)
        p.df->syntax = strata_arena_strdup(&p.df->arena, p.lx.syntax);
    if (p.lx.check != NULL)
        p.df->check = strata_arena_strdup(&p.df->arena, p.lx.check);
    strata_dockerfile__lexer_release(&p.lx);
    strata_dockerfile__resolve(&p);
    build_adjacency(p.df);
    if (p.df->ndiags > 1)
        qsort(p.df->diags, p.df->ndiags, sizeof(*p.df->diags), cmp_diag);
out:
    strata_dockerfile__env_release(&p.meta);
    if (rc != 0) {
        strata_dockerfile_free(p.df);
        return rc;
    }
    *out = p.df;
    return 0;
}

/* Reads path whole, within max bytes, with "PATH: ..." messages. */
static int
read_limited(char **out, size_t *out_len, const char *path, size_t max,
             strata_error *err)
{
    strata_buf b = STRATA_BUF_INIT;
    char chunk[65536];
    ssize_t n;
    int fd, rc = 0;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return strata_error_set(err,
                                errno == ENOENT ? STRATA_ENOTFOUND : STRATA_EIO,
                                "%s: cannot open: %s", path, strerror(errno));
    strata_buf_add(&b, "", 0);
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = strata_error_set(err, STRATA_EIO, "%s: cannot read: %s", path,
                                  strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (b.len + (size_t) n > max) {
            rc = strata_error_set(err, STRATA_ETOOBIG,
                                  "%s: file is larger than %zu bytes", path,
                                  max);
            goto out;
        }
        strata_buf_add(&b, chunk, (size_t) n);
    }
    *out_len = b.len;
    *out = strata_buf_detach(&b);
out:
    close(fd);
    strata_buf_release(&b);
    return rc;
}

int
strata_dockerfile_parse_file(strata_dockerfile **out, const char *path,
                             const strata_df_options *opts, strata_error *err)
{
    size_t max = opts && opts->max_size ? opts->max_size : STRATA_DF_MAX_SIZE;
    char *data = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    if ((rc = read_limited(&data, &len, path, max, err)) != 0)
        return rc;
    rc = strata_dockerfile_parse(out, data, len, path, opts, err);
    free(data);
    return rc;
}

void
strata_dockerfile_free(strata_dockerfile *df)
{
    size_t i;

    if (df == NULL)
        return;
    for (i = 0; i < df->nrefs; i++)
        strata_ref_free((strata_ref *) df->refs[i].ref);
    free(df->refs);
    free(df->stages);
    free(df->diags);
    strata_strmap_free(df->stage_names);
    strata_arena_release(&df->arena);
    free(df);
}

char
strata_dockerfile_escape(const strata_dockerfile *df)
{
    return df->escape;
}

const char *
strata_dockerfile_syntax(const strata_dockerfile *df)
{
    return df->syntax;
}

const char *
strata_dockerfile_check(const strata_dockerfile *df)
{
    return df->check;
}

size_t
strata_dockerfile_ref_count(const strata_dockerfile *df)
{
    return df->nrefs;
}

const strata_df_ref *
strata_dockerfile_ref(const strata_dockerfile *df, size_t i)
{
    return i < df->nrefs ? &df->refs[i] : NULL;
}

size_t
strata_dockerfile_stage_count(const strata_dockerfile *df)
{
    return df->nstages;
}

const strata_df_stage *
strata_dockerfile_stage(const strata_dockerfile *df, size_t i)
{
    return i < df->nstages ? &df->stages[i] : NULL;
}

int
strata_dockerfile_target(const strata_dockerfile *df, const char *name)
{
    size_t i;

    if (name == NULL)
        return df->nstages > 0 ? (int) df->nstages - 1 : -1;
    for (i = 0; i < df->nstages; i++)
        if (df->stages[i].name != NULL &&
            strcasecmp(df->stages[i].name, name) == 0)
            return (int) i;
    return -1;
}

size_t
strata_dockerfile_stage_deps(int **out, const strata_dockerfile *df, int stage)
{
    unsigned char *seen;
    size_t i, n = 0;

    *out = NULL;
    if (stage < 0 || (size_t) stage >= df->nstages)
        return 0;
    seen = strata_xmalloc(df->nstages);
    reach(df, stage, seen);
    seen[stage] = 0;
    for (i = 0; i < df->nstages; i++)
        n += seen[i];
    if (n > 0) {
        *out = strata_xmalloc(n * sizeof(int));
        for (i = 0, n = 0; i < df->nstages; i++)
            if (seen[i])
                (*out)[n++] = (int) i;
    }
    free(seen);
    return n;
}

static int
ref_matches(const strata_ref *r, const strata_ref *base)
{
    const char *bt = strata_ref_tag(base), *rt;

    if (strcmp(strata_ref_name(r), strata_ref_name(base)) != 0)
        return 0;
    if (bt == NULL)
        return 1;
    rt = strata_ref_tag(r);
    return rt != NULL && strcmp(rt, bt) == 0;
}

int
strata_dockerfile_depends_on(const strata_dockerfile *df, int stage,
                             const strata_ref *base)
{
    unsigned char *seen;
    size_t i;
    int found = 0;

    if (stage < 0 || (size_t) stage >= df->nstages)
        return 0;
    seen = strata_xmalloc(df->nstages);
    reach(df, stage, seen);
    for (i = 0; i < df->nrefs && !found; i++) {
        const strata_df_ref *r = &df->refs[i];

        found = seen[r->stage] && r->ref != NULL && ref_matches(r->ref, base);
    }
    free(seen);
    return found;
}

size_t
strata_dockerfile_diag_count(const strata_dockerfile *df)
{
    return df->ndiags;
}

const strata_df_diag *
strata_dockerfile_diag(const strata_dockerfile *df, size_t i)
{
    return i < df->ndiags ? &df->diags[i].d : NULL;
}

const char *
strata_df_ref_kind_name(strata_df_ref_kind kind)
{
    switch (kind) {
    case STRATA_DF_FROM:
        return "from";
    case STRATA_DF_COPY_FROM:
        return "copy-from";
    case STRATA_DF_MOUNT_FROM:
        return "mount-from";
    }
    return "unknown";
}
