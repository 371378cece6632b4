/*
 * kustomize.c - the images: transformer of kustomization.yaml: each
 * entry {name, newName, newTag, digest} names newName (or name) at newTag.
 * Its digest key is updated in place, or inserted as a new line under the
 * entry with the entry's indentation and line ending. An entry without
 * newTag takes its tag from the resources: that is a problem (pin the
 * resource), as is a flow-style entry that has no digest yet.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "pin-int.h"

typedef strata_pin__ynode ynode;

static const ynode *
scalar_of(const ynode *map, const char *key)
{
    const ynode *v = strata_pin__map_get(map, key);

    return v != NULL && v->kind == STRATA_PIN__Y_SCALAR ? v : NULL;
}

static void
entry(strata_pin__yctx *c, const ynode *m)
{
    strata_pin__ctx *pc = strata_pin__yctx_pin(c);
    const ynode *name = scalar_of(m, "name"), *nn = scalar_of(m, "newName"),
                *tag = scalar_of(m, "newTag"),
                *dig = strata_pin__map_get(m, "digest"), *last;
    strata_pin__site s = {0}, part;
    strata_buf ref = STRATA_BUF_INIT;
    char *prefix = NULL;
    size_t end, eol;

    if (m->kind != STRATA_PIN__Y_MAP || name == NULL)
        return;
    if (tag == NULL || tag->value[0] == '\0') {
        if (dig == NULL)
            strata_pin__problem(pc, m->line,
                                "image '%s' has no newTag (its tag comes "
                                "from the resources); pin it there",
                                name->value);
        return;
    }
    if (strchr(tag->value, '@') != NULL || strchr(tag->value, '$') != NULL) {
        strata_pin__problem(pc, tag->line,
                            "newTag '%s' of image '%s' cannot be pinned in "
                            "place; pin it by hand",
                            tag->value, name->value);
        return;
    }
    strata_buf_printf(&ref, "%s:%s", nn ? nn->value : name->value, tag->value);
    if (dig != NULL) {
        int rc = strata_pin__scalar_site(c, dig, 0, 0, &part);
        size_t n;

        if (rc != 0) {
            if (rc > 0)
                strata_pin__problem(pc, dig->line,
                                    "image '%s' has an empty digest; remove "
                                    "it or write digest: \"\"",
                                    name->value);
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
    if (m->flow) {
        strata_pin__problem(pc, m->line,
                            "image '%s' is a flow mapping without a digest "
                            "key; pin it by hand",
                            name->value);
        goto out;
    }
    /* A new line after the entry's last value, indented as its keys. */
    last = m->kids[m->nkids - 1];
    end = strata_pin__byte_at(c, last->end);
    eol = end;
    while (eol < pc->len && pc->data[eol] != '\n' && pc->data[eol] != '\r')
        eol++;
    /* YAML also breaks lines at a lone CR: not a line to add to. */
    if (eol < pc->len && pc->data[eol] == '\r' &&
        (eol + 1 >= pc->len || pc->data[eol + 1] != '\n')) {
        strata_pin__problem(pc, last->end_line,
                            "image '%s' ends a line with a bare carriage "
                            "return; pin it by hand",
                            name->value);
        goto out;
    }
    if (last->kind != STRATA_PIN__Y_SCALAR ||
        (last->style != YAML_PLAIN_SCALAR_STYLE &&
         last->style != YAML_SINGLE_QUOTED_SCALAR_STYLE &&
         last->style != YAML_DOUBLE_QUOTED_SCALAR_STYLE)) {
        strata_pin__problem(pc, m->line,
                            "image '%s' ends in a nested value; add a digest "
                            "key to have it pinned",
                            name->value);
        goto out;
    }
    /* Before the line break: the new line ends the same way (CRLF). */
    prefix = strata_xasprintf(
        "%s%*sdigest: ", eol < pc->len && pc->data[eol] == '\r' ? "\r\n" : "\n",
        (int) m->kids[0]->col, "");
    s.value = ref.ptr;
    s.line = tag->line;
    s.field = 1;
    s.field_off = eol;
    s.field_len = 0;
    s.field_prefix = prefix;
    strata_pin__add(pc, &s);
out:
    free(prefix);
    strata_buf_release(&ref);
}

static void
kustomize_doc(strata_pin__yctx *c, const ynode *root)
{
    const ynode *images = strata_pin__map_get(root, "images");
    size_t i;

    if (images == NULL || images->kind != STRATA_PIN__Y_SEQ)
        return;
    for (i = 0; i < images->nkids; i++)
        entry(c, images->kids[i]);
}

int
strata_pin_kustomize(strata_pin_result *out, const char *data, size_t len,
                     const char *name, const strata_pin_opts *opts,
                     strata_error *err)
{
    return strata_pin__yaml_run(out, data, len, name, opts, kustomize_doc, NULL,
                                err);
}
