/*
 * instr.c - the instructions that matter for image lineage,
 * as BuildKit's dockerfile2llb reads them: FROM (flags, base name
 * expanded with the global ARGs, "AS name"), ARG (global ARGs before the
 * first FROM feed the FROM lines; ARGs inside a stage never do),
 * COPY --from and RUN --mount=...,from= (never expanded; resolved
 * against every stage once the whole file is read). Each reference is
 * stored with its span in the file and the origin of its text.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dockerfile-int.h"

static const char *const known[] = {
    "add",        "arg",     "cmd",     "copy",        "entrypoint",
    "env",        "expose",  "from",    "healthcheck", "label",
    "maintainer", "onbuild", "run",     "shell",       "stopsignal",
    "user",       "volume",  "workdir", NULL,
};

static char *
lower_dup(strata_dockerfile *df, const char *s, size_t n)
{
    char *p = strata_arena_strndup(&df->arena, s, n);
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (char) tolower((unsigned char) p[i]);
    return p;
}

/* BuildKit's stage name rule: ^[a-z][a-z0-9-_\.]*$ after lowercasing. */
static int
valid_stage_name(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

/* The stage named name (any case) among those defined so far, or -1. */
static int
find_stage(const strata_dockerfile *df, const char *name)
{
    char *low;
    uintptr_t at;
    size_t i;

    if (df->stage_names == NULL)
        return -1;
    low = strata_xstrdup(name);
    for (i = 0; low[i]; i++)
        low[i] = (char) tolower((unsigned char) low[i]);
    at = (uintptr_t) strata_strmap_get(df->stage_names, low);
    free(low);
    return at != 0 ? (int) at - 1 : -1;
}

/* The flag's name ("from" for "--from=x") compared with want. */
static int
flag_is(const strata_dockerfile__word *w, const char *want)
{
    size_t n = strlen(want);

    return strncmp(w->value + 2, want, n) == 0 &&
           (w->value[2 + n] == '=' || w->value[2 + n] == '\0');
}

/* The flag's value, or NULL (with a diagnostic) when it has none. */
static const char *
flag_value(strata_dockerfile__parser *p, const strata_dockerfile__line *l,
           const strata_dockerfile__word *w)
{
    const char *eq = strchr(w->value, '=');

    if (eq == NULL) {
        strata_dockerfile__diag(p->df, l->line, "missing a value on flag '%s'",
                                w->value);
        return NULL;
    }
    return eq + 1;
}

static void
set_origin_from_var(strata_df_ref *r, const strata_dockerfile__var *v)
{
    if (v == NULL) {
        r->origin = STRATA_DF_ORIGIN_EXPANDED;
        return;
    }
    switch (v->origin) {
    case STRATA_GRAPH__DF_VAR_ARG_DEFAULT:
        r->origin = STRATA_DF_ORIGIN_ARG_DEFAULT;
        r->arg_name = v->arg_name;
        r->arg_line = v->arg_line;
        r->arg_span = v->arg_span;
        break;
    case STRATA_GRAPH__DF_VAR_BUILD_ARG:
        r->origin = STRATA_DF_ORIGIN_BUILD_ARG;
        break;
    default:
        r->origin = STRATA_DF_ORIGIN_EXPANDED;
        break;
    }
}

/* Parses text as an image reference into r, or records why not. */
static void
image_ref(strata_dockerfile *df, strata_df_ref *r)
{
    strata_error e = {0};
    strata_ref *ref = NULL;

    if (strata_ref_parse(&ref, r->text, &e) != 0) {
        r->error = strata_arena_strdup(&df->arena, e.msg);
        strata_dockerfile__diag(df, r->span.line, "%s", e.msg);
        return;
    }
    r->ref = ref;
    r->external = 1;
}

static strata_df_stage *
add_stage(strata_dockerfile *df, unsigned line)
{
    strata_df_stage *s;

    if (df->nstages == df->capstages) {
        df->capstages = df->capstages ? df->capstages * 2 : 8;
        df->stages =
            strata_xrealloc(df->stages, df->capstages * sizeof(*df->stages));
    }
    s = &df->stages[df->nstages];
    memset(s, 0, sizeof(*s));
    s->index = (int) df->nstages++;
    s->line = line;
    s->base = "";
    s->base_stage = -1;
    return s;
}

static void
do_from(strata_dockerfile__parser *p, const strata_dockerfile__line *l,
        size_t rest)
{
    strata_dockerfile *df = p->df;
    strata_dockerfile__words flags = {0}, args = {0};
    strata_buf b = STRATA_BUF_INIT;
    const strata_dockerfile__var *sole = NULL;
    strata_error e = {0};
    strata_df_stage *st;
    strata_df_ref *r;
    size_t i, argstart, idx;
    const strata_dockerfile__word *w;

    argstart = strata_dockerfile__flags(&flags, l->text, rest, l->len);
    strata_dockerfile__split_ws(&args, l->text, argstart, l->len);
    st = add_stage(df, l->line);
    idx = df->nstages - 1;
    for (i = 0; i < flags.n; i++) {
        const char *v;

        if (!flag_is(&flags.v[i], "platform"))
            continue; /* BuildKit knows no other; they change nothing here */
        if ((v = flag_value(p, l, &flags.v[i])) == NULL)
            continue;
        st->platform_raw = strata_arena_strdup(&df->arena, v);
        strata_buf_reset(&b);
        if (strata_dockerfile__expand(&b, &sole, v, strlen(v), df->escape,
                                      &p->meta, &e) != 0)
            strata_dockerfile__diag(df, l->line, "--platform: %s", e.msg);
        else
            st->platform = strata_arena_strdup(&df->arena, b.ptr);
    }
    if (!(args.n == 1 ||
          (args.n == 3 && strcasecmp(args.v[1].value, "as") == 0)))
        strata_dockerfile__diag(df, l->line,
                                "FROM requires either one or three arguments");
    if (args.n == 3 && strcasecmp(args.v[1].value, "as") == 0) {
        char *name = lower_dup(df, args.v[2].value, strlen(args.v[2].value));

        if (!valid_stage_name(name))
            strata_dockerfile__diag(df, l->line,
                                    "invalid name for build stage '%s': name "
                                    "must start with a letter and contain only "
                                    "letters, digits, '-', '_' and '.'",
                                    args.v[2].value);
        else if (find_stage(df, name) >= 0)
            strata_dockerfile__diag(df, l->line, "duplicate stage name '%s'",
                                    name);
        else
            st->name = name;
    }
    st->from_ref = df->nrefs;
    r = strata_dockerfile__add_ref(df);
    r->kind = STRATA_DF_FROM;
    r->line = l->line;
    r->stage = (int) idx;
    r->target_stage = -1;
    if (args.n == 0) {
        r->raw = r->text = "";
        r->span = strata_dockerfile__span(&p->lx, l, l->len, l->len);
        r->error = "missing base name";
        goto out;
    }
    w = &args.v[0];
    r->raw = strata_arena_strdup(&df->arena, w->value);
    r->span = strata_dockerfile__span(&p->lx, l, w->start, w->end);
    strata_buf_reset(&b);
    if (strata_dockerfile__expand(&b, &sole, w->value, strlen(w->value),
                                  df->escape, &p->meta, &e) != 0) {
        r->text = "";
        r->error = strata_arena_strdup(&df->arena, e.msg);
        strata_dockerfile__diag(df, r->span.line, "%s", e.msg);
        goto out;
    }
    r->text = strata_arena_strdup(&df->arena, b.ptr);
    if (strpbrk(w->value, "$\"'") == NULL &&
        strchr(w->value, df->escape) == NULL)
        r->origin = STRATA_DF_ORIGIN_LITERAL;
    else if (strchr(w->value, '$') == NULL)
        r->origin = STRATA_DF_ORIGIN_LITERAL; /* quotes only */
    else
        set_origin_from_var(r, sole);
    st = &df->stages[idx];
    st->base = r->text;
    if (r->text[0] == '\0') {
        r->error = strata_arena_printf(
            &df->arena, "base name ('%s') should not be blank", r->raw);
        strata_dockerfile__diag(df, r->span.line, "%s", r->error);
    } else if (strcmp(r->text, "scratch") == 0) {
        st->scratch = 1;
    } else if ((st->base_stage = find_stage(df, r->text)) >= 0) {
        r->target_stage = st->base_stage;
    } else {
        image_ref(df, r);
    }
out:
    /* Named only now: a FROM cannot name its own stage. */
    st = &df->stages[idx];
    if (st->name != NULL) {
        if (df->stage_names == NULL)
            df->stage_names = strata_strmap_new();
        strata_strmap_put(df->stage_names, st->name,
                          (void *) (uintptr_t) (idx + 1));
    }
    strata_buf_release(&b);
    strata_dockerfile__words_release(&flags);
    strata_dockerfile__words_release(&args);
}

static const char *
build_arg(const strata_dockerfile__parser *p, const char *name)
{
    size_t i;

    for (i = p->nba; i > 0; i--)
        if (strcmp(p->ba_keys[i - 1], name) == 0)
            return p->ba_vals[i - 1];
    return NULL;
}

/* A global ARG: its value (override, expanded default) and origin. */
static void
global_arg(strata_dockerfile__parser *p, const strata_dockerfile__line *l,
           const strata_dockerfile__word *w, const char *name)
{
    strata_dockerfile *df = p->df;
    const char *override = build_arg(p, name);
    strata_dockerfile__var *v;
    strata_buf b = STRATA_BUF_INIT;
    const strata_dockerfile__var *sole = NULL;
    strata_error e = {0};
    size_t vs, ve;
    const char *raw;

    if (override != NULL) {
        v = strata_dockerfile__env_set(&p->meta, name);
        v->value = override;
        v->origin = STRATA_GRAPH__DF_VAR_BUILD_ARG;
        return;
    }
    if (w->eq == (size_t) -1) {
        /* Declared without a default: keeps an automatic value. */
        if (strata_dockerfile__env_get(&p->meta, name) == NULL)
            strata_dockerfile__env_set(&p->meta, name);
        return;
    }
    vs = w->eq + 1;
    ve = w->end;
    raw = l->text + vs;
    if (strata_dockerfile__expand(&b, &sole, raw, ve - vs, df->escape, &p->meta,
                                  &e) != 0) {
        strata_dockerfile__diag(df, l->line, "ARG %s: %s", name, e.msg);
        strata_dockerfile__env_set(&p->meta, name);
        goto out;
    }
    /* The expansion read the environment: copy before setting. */
    {
        strata_dockerfile__var copy = {0};
        int has_sole = sole != NULL;

        if (has_sole)
            copy = *sole;
        v = strata_dockerfile__env_set(&p->meta, name);
        v->value = strata_arena_strdup(&df->arena, b.ptr);
        if (memchr(raw, '$', ve - vs) == NULL) {
            v->origin = STRATA_GRAPH__DF_VAR_ARG_DEFAULT;
            v->arg_name = name;
            v->arg_line = l->line;
            /* "x" or 'x' around the whole value: point inside. */
            if (ve - vs >= 2 && (raw[0] == '"' || raw[0] == '\'') &&
                raw[ve - vs - 1] == raw[0] && b.len == ve - vs - 2 &&
                memcmp(b.ptr, raw + 1, b.len) == 0) {
                vs++;
                ve--;
            }
            v->arg_span = strata_dockerfile__span(&p->lx, l, vs, ve);
        } else if (has_sole) {
            v->origin = copy.origin;
            v->arg_name = copy.arg_name;
            v->arg_line = copy.arg_line;
            v->arg_span = copy.arg_span;
        } else {
            v->origin = STRATA_GRAPH__DF_VAR_COMPUTED;
        }
    }
out:
    strata_buf_release(&b);
}

static void
do_arg(strata_dockerfile__parser *p, const strata_dockerfile__line *l,
       size_t rest)
{
    strata_dockerfile *df = p->df;
    strata_dockerfile__words words = {0};
    size_t i;

    strata_dockerfile__split_words(&words, l->text, rest, l->len, df->escape);
    if (words.n == 0)
        strata_dockerfile__diag(df, l->line,
                                "ARG requires at least one argument");
    for (i = 0; i < words.n; i++) {
        const strata_dockerfile__word *w = &words.v[i];
        size_t ne = w->eq == (size_t) -1 ? w->end : w->eq;
        char *name;

        if (ne == w->start) {
            strata_dockerfile__diag(df, l->line, "ARG names can not be blank");
            continue;
        }
        name =
            strata_arena_strndup(&df->arena, l->text + w->start, ne - w->start);
        /* An ARG inside a stage is scoped to it: FROM lines never see it. */
        if (df->nstages == 0)
            global_arg(p, l, w, name);
    }
    strata_dockerfile__words_release(&words);
}

/* Records a --from / from= value; resolved later by resolve(). */
static void
from_ref(strata_dockerfile__parser *p, const strata_dockerfile__line *l,
         strata_df_ref_kind kind, const char *value, size_t start, size_t end)
{
    strata_dockerfile *df = p->df;
    strata_df_ref *r;

    if (value[0] == '\0')
        return;
    r = strata_dockerfile__add_ref(df);
    r->kind = kind;
    r->line = l->line;
    r->stage = (int) df->nstages - 1;
    r->target_stage = -1;
    r->raw = r->text = strata_arena_strdup(&df->arena, value);
    r->span = strata_dockerfile__span(&p->lx, l, start, end);
    r->origin = STRATA_DF_ORIGIN_LITERAL;
    if (strpbrk(value, "$\"'") != NULL || strchr(value, df->escape) != NULL) {
        r->error = strata_arena_printf(
            &df->arena,
            "variable expansion is not supported for %s '%s': define a "
            "stage with FROM and a global ARG instead",
            kind == STRATA_DF_COPY_FROM ? "--from" : "mount from=", value);
        strata_dockerfile__diag(df, r->span.line, "%s", r->error);
    }
}

static void
do_copy(strata_dockerfile__parser *p, const strata_dockerfile__line *l,
        size_t rest)
{
    strata_dockerfile__words flags = {0};
    size_t i;

    strata_dockerfile__flags(&flags, l->text, rest, l->len);
    for (i = 0; i < flags.n; i++) {
        const strata_dockerfile__word *w = &flags.v[i];
        const char *v;

        if (!flag_is(w, "from") || (v = flag_value(p, l, w)) == NULL)
            continue;
        from_ref(p, l, STRATA_DF_COPY_FROM, v,
                 w->eq != (size_t) -1 ? w->eq + 1 : w->start, w->end);
    }
    strata_dockerfile__words_release(&flags);
}

static void
do_mount(strata_dockerfile__parser *p, const strata_dockerfile__line *l,
         const strata_dockerfile__word *w, const char *v)
{
    strata_dockerfile__words f = {0};
    size_t i, vstart = w->eq != (size_t) -1 ? w->eq + 1 : w->start;

    if (strata_dockerfile__split_csv(&f, v, strlen(v)) != 0) {
        strata_dockerfile__diag(p->df, l->line,
                                "invalid --mount '%s': bad quoting", v);
        goto out;
    }
    for (i = 0; i < f.n; i++) {
        const strata_dockerfile__word *fld = &f.v[i];
        const char *eq = strchr(fld->value, '=');
        size_t s = vstart, e = w->end;

        if (eq == NULL || (size_t) (eq - fld->value) != 4 ||
            strncasecmp(fld->value, "from", 4) != 0)
            continue;
        /* Exact span when neither the flag nor the field was quoted. */
        if (w->plain && fld->plain && fld->eq != (size_t) -1) {
            s = vstart + fld->eq + 1;
            e = vstart + fld->end;
        }
        from_ref(p, l, STRATA_DF_MOUNT_FROM, eq + 1, s, e);
    }
out:
    strata_dockerfile__words_release(&f);
}

static void
do_run(strata_dockerfile__parser *p, const strata_dockerfile__line *l,
       size_t rest)
{
    strata_dockerfile__words flags = {0};
    size_t i;

    strata_dockerfile__flags(&flags, l->text, rest, l->len);
    for (i = 0; i < flags.n; i++) {
        const char *v;

        if (!flag_is(&flags.v[i], "mount") ||
            (v = flag_value(p, l, &flags.v[i])) == NULL)
            continue;
        do_mount(p, l, &flags.v[i], v);
    }
    strata_dockerfile__words_release(&flags);
}

void
strata_dockerfile__instruction(strata_dockerfile__parser *p,
                               const strata_dockerfile__line *l)
{
    const char *t = l->text;
    size_t i = 0, cs, rest, k;
    char cmd[16];

    while (i < l->len && strata_dockerfile__isspace((unsigned char) t[i]))
        i++;
    cs = i;
    while (i < l->len && !strata_dockerfile__isspace((unsigned char) t[i]))
        i++;
    rest = i;
    while (rest < l->len && strata_dockerfile__isspace((unsigned char) t[rest]))
        rest++;
    if (i - cs < sizeof(cmd)) {
        for (k = cs; k < i; k++)
            cmd[k - cs] = (char) tolower((unsigned char) t[k]);
        cmd[i - cs] = '\0';
        for (k = 0; known[k] != NULL; k++)
            if (strcmp(known[k], cmd) == 0)
                break;
    }
    if (i - cs >= sizeof(cmd) || known[k] == NULL) {
        strata_dockerfile__diag(p->df, l->line, "unknown instruction '%.*s'",
                                (int) (i - cs > 64 ? 64 : i - cs), t + cs);
        return;
    }
    if (strcmp(cmd, "from") == 0) {
        do_from(p, l, rest);
    } else if (strcmp(cmd, "arg") == 0) {
        do_arg(p, l, rest);
    } else if (p->df->nstages == 0) {
        strata_dockerfile__diag(p->df, l->line,
                                "no build stage in current context: '%.*s' "
                                "before the first FROM",
                                (int) (i - cs), t + cs);
    } else if (strcmp(cmd, "copy") == 0) {
        do_copy(p, l, rest);
    } else if (strcmp(cmd, "run") == 0) {
        do_run(p, l, rest);
    }
    /* ONBUILD triggers run in the images built on this one: not ours. */
}

/* "0", "12", "+1", "-1": Go's strconv.Atoi syntax. */
static int
stage_index(const char *s, long *out)
{
    const char *q = s;
    long v = 0;
    int neg = 0;

    if (*q == '+' || *q == '-')
        neg = *q++ == '-';
    if (*q == '\0')
        return 0;
    for (; *q; q++) {
        if (*q < '0' || *q > '9')
            return 0;
        if (v < 100000000)
            v = v * 10 + (*q - '0');
    }
    *out = neg ? -v : v;
    return 1;
}

void
strata_dockerfile__resolve(strata_dockerfile__parser *p)
{
    strata_dockerfile *df = p->df;
    size_t i;

    for (i = 0; i < df->nrefs; i++) {
        strata_df_ref *r = &df->refs[i];
        long idx;
        int s;

        if (r->kind == STRATA_DF_FROM || r->error != NULL)
            continue;
        if (stage_index(r->text, &idx)) {
            if (idx < 0 || (size_t) idx >= df->nstages) {
                r->error = strata_arena_printf(&df->arena,
                                               "invalid stage index %ld", idx);
                strata_dockerfile__diag(df, r->span.line, "%s", r->error);
            } else {
                r->target_stage = (int) idx;
            }
        } else if ((s = find_stage(df, r->text)) >= 0) {
            r->target_stage = s;
        } else if (strcmp(r->text, "scratch") != 0) {
            image_ref(df, r);
        }
    }
}
