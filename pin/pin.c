/*
 * pin.c - digest pinning in place. The shared half turns sites (a
 * reference, where its '@' is, where it ends) into edits: the lookup says
 * which digest to pin to, and the edit inserts "@DIGEST" after the
 * reference or replaces the digest already written, so continuations,
 * quotes and every other byte stay. Edits are applied in one pass in
 * offset order. The Dockerfile half finds the sites: the reference in the
 * instruction (FROM, COPY --from, RUN --mount from=) or the default of
 * the global ARG it came from, read back as BuildKit reads it (escape
 * character, continuations, comment lines inside them, quotes) and
 * checked against the parsed reference, so a form that does not read
 * back exactly is reported instead of rewritten.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pin-int.h"

#define NO_AT ((size_t) -1)

/* ---- the shared half: sites to edits -------------------------------- */

void
strata_pin_result_release(strata_pin_result *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->data);
    for (i = 0; i < r->nchanges; i++) {
        free(r->changes[i].ref);
        free(r->changes[i].old_text);
        free(r->changes[i].new_text);
        free(r->changes[i].old_digest);
        free(r->changes[i].new_digest);
        free(r->changes[i].platform);
    }
    free(r->changes);
    for (i = 0; i < r->nproblems; i++)
        free(r->problems[i]);
    free(r->problems);
    for (i = 0; i < r->nlinks; i++)
        free(r->links[i].path);
    free(r->links);
    memset(r, 0, sizeof(*r));
}

void
strata_pin__init(strata_pin__ctx *c, strata_pin_result *out, const char *data,
                 size_t len, const char *name, const strata_pin_opts *opts)
{
    memset(out, 0, sizeof(*out));
    memset(c, 0, sizeof(*c));
    c->out = out;
    c->data = data;
    c->len = len;
    c->name = name ? name : "-";
    c->opts = opts;
}

void
strata_pin__problem(strata_pin__ctx *c, unsigned line, const char *fmt, ...)
{
    strata_pin_result *r = c->out;
    strata_buf b = STRATA_BUF_INIT;
    va_list ap;

    strata_buf_printf(&b, "%s:%u: ", c->name, line);
    va_start(ap, fmt);
    strata_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    r->problems =
        strata_xrealloc(r->problems, (r->nproblems + 1) * sizeof(char *));
    r->problems[r->nproblems++] = strata_buf_detach(&b);
}

void
strata_pin__link(strata_pin__ctx *c, const char *path, strata_pin_kind kind)
{
    strata_pin_result *r = c->out;
    size_t i;

    for (i = 0; i < r->nlinks; i++)
        if (strcmp(r->links[i].path, path) == 0)
            return;
    r->links = strata_xrealloc(r->links, (r->nlinks + 1) * sizeof(*r->links));
    r->links[r->nlinks].path = strata_xstrdup(path);
    r->links[r->nlinks].kind = kind;
    r->nlinks++;
}

/* 1 when the written name has a tag: a ':' after the last '/'. */
static int
written_tag(const char *value, size_t n)
{
    const char *last = value;
    size_t i;

    for (i = 0; i < n; i++)
        if (value[i] == '/')
            last = value + i + 1;
    return memchr(last, ':', n - (size_t) (last - value)) != NULL;
}

void
strata_pin__add(strata_pin__ctx *c, const strata_pin__site *s)
{
    strata_pin_result *out = c->out;
    strata_ref *ref = NULL, *bare = NULL;
    strata_pin_query q = {0};
    strata_pin_change *ch;
    strata_error e = {0};
    const char *digest, *at = strchr(s->value, '@');
    size_t n = at ? (size_t) (at - s->value) : strlen(s->value), i;
    int tagged = written_tag(s->value, n);
    strata_pin__edit ed;

    if (strata_ref_parse(&ref, s->value, &e) != 0) {
        strata_pin__problem(c, s->line, "%s", e.msg);
        return;
    }
    /* A digest without a tag follows nothing: there is nothing to pin. */
    if (strata_ref_tag(ref) == NULL ||
        (s->field ? s->field_off + s->field_len > c->len
                  : s->end_off > c->len || (at != NULL && s->at_off == NO_AT)))
        goto out;
    strata_ref_with_digest(&bare, ref, NULL, NULL);
    q.ref = strata_ref_string(bare);
    q.platform = s->platform;
    q.pinned = strata_ref_digest(ref);
    q.name = c->name;
    q.line = s->line;
    q.where = s->where;
    out->nrefs++;
    digest = c->opts->lookup(&q, c->opts->arg);
    if (digest == NULL || (q.pinned != NULL && strcmp(q.pinned, digest) == 0))
        goto out;
    if (strata_digest_validate(digest, &e) != 0) {
        strata_pin__problem(c, s->line, "%s", e.msg);
        goto out;
    }
    if (s->field) {
        ed.offset = s->field_off;
        ed.length = s->field_len;
        ed.text = strata_xasprintf(
            "%s%s", s->field_prefix ? s->field_prefix : "", digest);
    } else if (at != NULL) {
        ed.offset = s->at_off;
        ed.length = s->end_off - s->at_off;
        ed.text = strata_xasprintf("@%s", digest);
    } else {
        ed.offset = s->end_off;
        ed.length = 0;
        ed.text = strata_xasprintf("%s@%s", tagged ? "" : ":latest", digest);
    }
    /* Several FROMs can share one ARG default: edit it once. */
    for (i = 0; i < c->nedits; i++) {
        if (c->edits[i].offset != ed.offset)
            continue;
        if (strcmp(c->edits[i].text, ed.text) != 0)
            strata_pin__problem(c, s->line,
                                "'%s' is used with different pins (by "
                                "platform); pin it by hand",
                                s->value);
        free(ed.text);
        goto out;
    }
    c->edits = strata_xrealloc(c->edits, (c->nedits + 1) * sizeof(*c->edits));
    c->edits[c->nedits++] = ed;
    out->changes =
        strata_xrealloc(out->changes, (out->nchanges + 1) * sizeof(*ch));
    ch = &out->changes[out->nchanges++];
    memset(ch, 0, sizeof(*ch));
    ch->line = s->line;
    ch->ref = strata_xstrdup(q.ref);
    ch->old_text = strata_xstrdup(s->value);
    ch->new_text = strata_xasprintf("%.*s%s@%s", (int) n, s->value,
                                    tagged ? "" : ":latest", digest);
    ch->old_digest = q.pinned ? strata_xstrdup(q.pinned) : NULL;
    ch->new_digest = strata_xstrdup(digest);
    ch->platform = s->platform ? strata_xstrdup(s->platform) : NULL;
out:
    strata_ref_free(bare);
    strata_ref_free(ref);
}

static int
by_offset(const void *a, const void *b)
{
    const strata_pin__edit *x = a, *y = b;

    return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

void
strata_pin__finish(strata_pin__ctx *c)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t pos = 0, i;

    if (c->nedits > 1)
        qsort(c->edits, c->nedits, sizeof(*c->edits), by_offset);
    strata_buf_grow(&b, c->len + c->nedits * 80 + 1);
    for (i = 0; i < c->nedits; i++) {
        strata_buf_add(&b, c->data + pos, c->edits[i].offset - pos);
        strata_buf_puts(&b, c->edits[i].text);
        pos = c->edits[i].offset + c->edits[i].length;
        free(c->edits[i].text);
    }
    strata_buf_add(&b, c->data + pos, c->len - pos);
    free(c->edits);
    c->edits = NULL;
    c->nedits = 0;
    c->out->len = b.len;
    c->out->data = strata_buf_detach(&b);
}

/* ---- Dockerfiles ------------------------------------------------------ */

/* Length of a line break at p (\n or \r\n), 0 when there is none. */
static size_t
newline_at(const char *p, const char *end)
{
    if (p < end && *p == '\n')
        return 1;
    if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
        return 2;
    return 0;
}

/*
 * Reads a span as the parser reads it: an escape character followed by
 * blanks and a line break continues the line, and blank and comment
 * lines right after a continuation are dropped. Returns the text (new)
 * and in *map the file offset of each of its characters (new).
 */
static char *
read_span(size_t **map, const char *data, const strata_df_span *sp, char esc)
{
    const char *p = data + sp->offset, *end = p + sp->length;
    strata_buf b = STRATA_BUF_INIT;
    size_t *m = strata_xcalloc(sp->length + 1, sizeof(*m));

    while (p < end) {
        const char *q = p + 1;
        size_t nl;

        if (*p == esc) {
            while (q < end && (*q == ' ' || *q == '\t'))
                q++;
            if ((nl = newline_at(q, end)) != 0) {
                p = q + nl;
                /* Blank and comment lines inside a continuation. */
                for (;;) {
                    q = p;
                    while (q < end && (*q == ' ' || *q == '\t'))
                        q++;
                    if ((nl = newline_at(q, end)) != 0) {
                        p = q + nl;
                    } else if (q < end && *q == '#') {
                        while (q < end && *q != '\n')
                            q++;
                        p = q < end ? q + 1 : q;
                    } else {
                        break;
                    }
                }
                continue;
            }
        }
        m[b.len] = (size_t) (p - data);
        strata_buf_putc(&b, *p++);
    }
    *map = m;
    return strata_buf_detach(&b);
}

/* The platform a FROM names literally, when platform pins are asked for. */
static const char *
named_platform(const strata_dockerfile *df, const strata_df_ref *r,
               const strata_pin_opts *opts)
{
    const strata_df_stage *st;

    if (!opts->platform_pins || r->kind != STRATA_DF_FROM || r->stage < 0)
        return NULL;
    st = strata_dockerfile_stage(df, (size_t) r->stage);
    if (st == NULL || st->platform_raw == NULL || st->platform == NULL ||
        strchr(st->platform_raw, '$') != NULL ||
        strata_platform_validate(st->platform, NULL) != 0)
        return NULL;
    return st->platform;
}

static void
dockerfile_ref(strata_pin__ctx *c, const strata_dockerfile *df,
               const strata_df_ref *r)
{
    const strata_df_span *sp;
    strata_pin__site s = {0};
    size_t *map = NULL, n, first = 0;
    char *text;
    const char *at;

    if (r->error != NULL) {
        strata_pin__problem(c, r->span.line, "%s", r->error);
        return;
    }
    if (!r->external || r->ref == NULL)
        return;
    if (r->origin == STRATA_DF_ORIGIN_LITERAL)
        sp = &r->span;
    else if (r->origin == STRATA_DF_ORIGIN_ARG_DEFAULT)
        sp = &r->arg_span;
    else {
        /* A digest-only reference needs no pin, wherever it comes from. */
        if (strata_ref_tag(r->ref) != NULL)
            strata_pin__problem(c, r->span.line,
                                "reference is built from variables; pin it "
                                "where they are set");
        return;
    }
    if (sp->offset + sp->length > c->len)
        return;
    text = read_span(&map, c->data, sp, strata_dockerfile_escape(df));
    n = strlen(text);
    /* FROM "debian:12": the quotes stay, the digest goes inside. */
    if (n >= 2 && (text[0] == '"' || text[0] == '\'') && text[n - 1] == text[0])
        first = 1, n -= 2;
    if (n == 0 || strlen(r->text) != n ||
        memcmp(r->text, text + first, n) != 0) {
        strata_pin__problem(c, sp->line,
                            "reference '%s' is quoted or escaped in a way "
                            "that cannot be rewritten in place; pin it by hand",
                            r->text);
        goto out;
    }
    at = strchr(r->text, '@');
    s.value = r->text;
    s.at_off = at ? map[first + (size_t) (at - r->text)] : NO_AT;
    s.end_off = map[first + n - 1] + 1;
    s.line = sp->line;
    s.platform = named_platform(df, r, c->opts);
    s.where = r;
    strata_pin__add(c, &s);
out:
    free(map);
    free(text);
}

int
strata_pin_dockerfile_opts(strata_pin_result *out, const char *data, size_t len,
                           const strata_dockerfile *df, const char *name,
                           const strata_pin_opts *opts, strata_error *err)
{
    strata_pin__ctx c;
    size_t i, n = strata_dockerfile_ref_count(df);

    (void) err;
    strata_pin__init(&c, out, data, len, name, opts);
    for (i = 0; i < n; i++)
        dockerfile_ref(&c, df, strata_dockerfile_ref(df, i));
    strata_pin__finish(&c);
    return 0;
}

typedef struct compat {
    strata_pin_resolve_cb resolve;
    void *arg;
} compat;

static const char *
compat_lookup(const strata_pin_query *q, void *arg)
{
    const compat *cp = arg;

    return cp->resolve(q->ref, q->where, cp->arg);
}

int
strata_pin_dockerfile(strata_pin_result *out, const char *data, size_t len,
                      const strata_dockerfile *df, const char *name,
                      strata_pin_resolve_cb resolve, void *arg,
                      strata_error *err)
{
    compat cp = {resolve, arg};
    strata_pin_opts o = {0};

    o.lookup = compat_lookup;
    o.arg = &cp;
    return strata_pin_dockerfile_opts(out, data, len, df, name, &o, err);
}
