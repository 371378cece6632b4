/*
 * helm.c - Helm charts: the images of values files (image: "name:tag",
 * image: {registry, repository, tag, digest} anywhere in the tree) and the
 * artifacthub.io/images annotation of Chart.yaml, a literal block scalar
 * holding a YAML list of {name, image}. The digest goes where the chart
 * reads it: into "digest:" when the image block has that key, else after
 * the tag ("1.2@sha256:..."). A template ("{{ .Values.x }}") is a problem.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "pin-int.h"

#define MAX_DEPTH 256

typedef strata_pin__ynode ynode;

static const ynode *
scalar_of(const ynode *map, const char *key)
{
    const ynode *v = strata_pin__map_get(map, key);

    return v != NULL && v->kind == STRATA_PIN__Y_SCALAR ? v : NULL;
}

static int
templated(const ynode *n)
{
    return n != NULL && strstr(n->value, "{{") != NULL;
}

/* image: {registry, repository, tag, digest}. */
static void
image_block(strata_pin__yctx *c, const ynode *m)
{
    strata_pin__ctx *pc = strata_pin__yctx_pin(c);
    const ynode *reg = scalar_of(m, "registry"),
                *repo = scalar_of(m, "repository"), *tag = scalar_of(m, "tag"),
                *dig = strata_pin__map_get(m, "digest");
    strata_pin__site s = {0}, part;
    strata_buf ref = STRATA_BUF_INIT;

    if (repo == NULL)
        repo = scalar_of(m, "name");
    if (repo == NULL || repo->value[0] == '\0')
        return;
    if (templated(reg) || templated(repo) || templated(tag) ||
        (dig != NULL && dig->kind == STRATA_PIN__Y_SCALAR && templated(dig))) {
        strata_pin__problem(pc, repo->line,
                            "image '%s' is a template; pin the values it is "
                            "made from",
                            repo->value);
        return;
    }
    if (tag == NULL || tag->value[0] == '\0') {
        strata_pin__problem(pc, repo->line,
                            "image '%s' has no tag (the chart's appVersion "
                            "is used); pin it by hand",
                            repo->value);
        return;
    }
    if (reg != NULL && reg->value[0] != '\0')
        strata_buf_printf(&ref, "%s/", reg->value);
    strata_buf_printf(&ref, "%s:%s", repo->value, tag->value);
    if (dig != NULL) {
        int rc = strata_pin__scalar_site(c, dig, 0, 0, &part);
        size_t n;

        if (rc < 0)
            goto out;
        if (rc > 0 || (dig->style != YAML_SINGLE_QUOTED_SCALAR_STYLE &&
                       dig->style != YAML_DOUBLE_QUOTED_SCALAR_STYLE &&
                       dig->value[0] == '\0')) {
            strata_pin__problem(pc, dig->line,
                                "image '%s' has an empty digest; write "
                                "digest: \"\" to have it pinned",
                                ref.ptr);
            goto out;
        }
        if (strchr(tag->value, '@') != NULL) {
            strata_pin__problem(pc, tag->line,
                                "image '%s' has a digest in its tag and a "
                                "digest key; pin it by hand",
                                ref.ptr);
            goto out;
        }
        n = strlen(dig->value);
        if (n > 0)
            strata_buf_printf(&ref, "@%s", dig->value);
        s.value = ref.ptr;
        s.line = dig->line;
        s.field = 1;
        s.field_off = part.end_off - n;
        s.field_len = n;
        strata_pin__add(pc, &s);
        goto out;
    }
    if (strata_pin__scalar_site(c, tag, 0, 0, &part) != 0)
        goto out;
    s.value = ref.ptr;
    s.line = tag->line;
    s.at_off = part.at_off;
    s.end_off = part.end_off;
    strata_pin__add(pc, &s);
out:
    strata_buf_release(&ref);
}

static int
is_image_key(const ynode *k)
{
    return k->kind == STRATA_PIN__Y_SCALAR && strcmp(k->value, "image") == 0;
}

static void
values_walk(strata_pin__yctx *c, const ynode *n, int depth)
{
    size_t i;

    if (depth >= MAX_DEPTH)
        return;
    for (i = 0; i < n->nkids; i++) {
        const ynode *v = n->kids[i];

        if (n->kind == STRATA_PIN__Y_MAP) {
            if (i % 2 == 0)
                continue;
            if (is_image_key(n->kids[i - 1])) {
                if (v->kind == STRATA_PIN__Y_MAP)
                    image_block(c, v);
                else if (v->kind == STRATA_PIN__Y_SCALAR ||
                         v->kind == STRATA_PIN__Y_ALIAS)
                    strata_pin__image_scalar(c, v, 0);
                continue;
            }
        }
        values_walk(c, v, depth + 1);
    }
}

static void
values_doc(strata_pin__yctx *c, const ynode *root)
{
    values_walk(c, root, 0);
}

int
strata_pin_helm_values(strata_pin_result *out, const char *data, size_t len,
                       const char *name, const strata_pin_opts *opts,
                       strata_error *err)
{
    return strata_pin__yaml_run(out, data, len, name, opts, values_doc, NULL,
                                err);
}

/* ---- Chart.yaml ----------------------------------------------------- */

/* The annotation's block scalar, placed in the file. */
typedef struct block {
    strata_pin__ctx *outer;
    const char *text; /* the scalar's value */
    size_t *line_off; /* file offset of each content line + indent */
    size_t nlines;
    unsigned first_line; /* file line of content line 0 */
} block;

/* The file offset of offset off of the value, or (size_t) -1. */
static size_t
to_file(const block *b, size_t off)
{
    size_t line = 0, start = 0, i;

    for (i = 0; i < off; i++)
        if (b->text[i] == '\n') {
            line++;
            start = i + 1;
        }
    if (line >= b->nlines)
        return (size_t) -1;
    return b->line_off[line] + (off - start);
}

static void
annotation_doc(strata_pin__yctx *c, const ynode *root)
{
    block *b = strata_pin__yctx_arg(c);
    strata_pin__ctx *inner = strata_pin__yctx_pin(c);
    size_t i;

    if (root->kind != STRATA_PIN__Y_SEQ) {
        strata_pin__problem(b->outer, b->first_line - 1,
                            "artifacthub.io/images is not a list");
        return;
    }
    for (i = 0; i < root->nkids; i++) {
        const ynode *img = strata_pin__map_get(root->kids[i], "image");
        strata_pin__site s;
        size_t vlen, at, end;

        if (img == NULL)
            continue;
        /* The inner result is thrown away: report in the file's terms. */
        if (strata_pin__scalar_site(c, img, 0, 0, &s) != 0) {
            if (img->kind != STRATA_PIN__Y_SCALAR || img->value[0] != '\0')
                strata_pin__problem(b->outer, b->first_line + img->line - 1,
                                    "an image in artifacthub.io/images "
                                    "cannot be pinned in place; pin it by "
                                    "hand");
            continue;
        }
        vlen = strlen(s.value);
        end = to_file(b, s.end_off - 1);
        at = s.at_off == (size_t) -1 ? (size_t) -1 : to_file(b, s.at_off);
        /* The value must be where the mapping says, byte for byte. */
        if (end == (size_t) -1 || end + 1 < vlen || end + 1 > b->outer->len ||
            memcmp(b->outer->data + end + 1 - vlen, s.value, vlen) != 0 ||
            memcmp(inner->data + s.end_off - vlen, s.value, vlen) != 0) {
            strata_pin__problem(b->outer, b->first_line + img->line - 1,
                                "image '%s' in artifacthub.io/images cannot "
                                "be placed; pin it by hand",
                                s.value);
            continue;
        }
        s.end_off = end + 1;
        s.at_off = at;
        s.line = b->first_line + img->line - 1;
        strata_pin__add(b->outer, &s);
    }
}

static void
chart_doc(strata_pin__yctx *c, const ynode *root)
{
    strata_pin__ctx *pc = strata_pin__yctx_pin(c);
    const ynode *ann = strata_pin__map_get(root, "annotations"), *v;
    strata_pin_result inner = {0};
    strata_pin_opts o;
    strata_error e = {0};
    block b = {0};
    size_t off, start, i, indent = (size_t) -1;

    if ((v = strata_pin__map_get(ann, "artifacthub.io/images")) == NULL ||
        v->kind != STRATA_PIN__Y_SCALAR)
        return;
    if (v->style != YAML_LITERAL_SCALAR_STYLE) {
        strata_pin__problem(pc, v->line,
                            "artifacthub.io/images is not a literal block "
                            "scalar (|); pin it by hand");
        return;
    }
    /* Content starts on the line after the "|" header. */
    b.outer = pc;
    b.text = v->value;
    b.first_line = v->line + 1;
    start = strata_pin__byte_at(c, v->start);
    while (start < pc->len && pc->data[start] != '\n')
        start++;
    start++;
    /* The indentation: that of the first line with text. */
    for (off = start; off < pc->len && indent == (size_t) -1;) {
        size_t sp = 0;

        while (off + sp < pc->len && pc->data[off + sp] == ' ')
            sp++;
        if (off + sp < pc->len && pc->data[off + sp] != '\n' &&
            pc->data[off + sp] != '\r')
            indent = sp;
        while (off < pc->len && pc->data[off] != '\n')
            off++;
        off++;
    }
    if (indent == (size_t) -1)
        return;
    for (i = 0; b.text[i]; i++)
        if (b.text[i] == '\n')
            b.nlines++;
    b.nlines++;
    b.line_off = strata_xcalloc(b.nlines, sizeof(*b.line_off));
    for (off = start, i = 0; i < b.nlines && off <= pc->len; i++) {
        b.line_off[i] = off + indent;
        while (off < pc->len && pc->data[off] != '\n')
            off++;
        off++;
    }
    b.nlines = i;
    o = *pc->opts;
    if (strata_pin__yaml_run(&inner, b.text, strlen(b.text), pc->name, &o,
                             annotation_doc, &b, &e) != 0)
        strata_pin__problem(pc, v->line, "artifacthub.io/images: %s", e.msg);
    strata_pin_result_release(&inner);
    free(b.line_off);
}

int
strata_pin_helm_chart(strata_pin_result *out, const char *data, size_t len,
                      const char *name, const strata_pin_opts *opts,
                      strata_error *err)
{
    return strata_pin__yaml_run(out, data, len, name, opts, chart_doc, NULL,
                                err);
}
