/*
 * pin.c - digest pinning of a Dockerfile in place. Every external
 * reference the resolver has a digest for becomes NAME:TAG@DIGEST where it
 * is written: in the instruction itself, or at the default of the global
 * ARG it came from. Nothing else moves: comments, spacing, continuations,
 * CRLF and every other byte stay. A reference built from variables cannot
 * be rewritten in one place and is reported instead. Edits are applied
 * from the end of the file backwards so earlier offsets stay valid.
 */
#include <stdlib.h>
#include <string.h>

#include "builders.h"

typedef struct edit {
    size_t offset, length;
    char *text;
} edit;

static int
by_offset_desc(const void *a, const void *b)
{
    const edit *x = a, *y = b;

    return x->offset < y->offset ? 1 : x->offset > y->offset ? -1 : 0;
}

/*
 * The written name with its tag, without any digest: "debian:12@sha256:x"
 * gives "debian:12"; a name with neither tag nor digest gets ":latest", so
 * the pin says which tag it follows. A colon before the last '/' is a
 * registry port, not a tag.
 */
static char *
written_name(const char *raw, size_t len)
{
    const char *at = memchr(raw, '@', len);
    size_t n = at ? (size_t) (at - raw) : len;
    const char *last = raw;
    size_t i;

    for (i = 0; i < n; i++)
        if (raw[i] == '/')
            last = raw + i + 1;
    if (memchr(last, ':', n - (size_t) (last - raw)) == NULL)
        return strata_xasprintf("%.*s:latest", (int) n, raw);
    return strata_xstrndup(raw, n);
}

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
    }
    free(r->changes);
    for (i = 0; i < r->nproblems; i++)
        free(r->problems[i]);
    free(r->problems);
    memset(r, 0, sizeof(*r));
}

static void
add_problem(strata_pin_result *r, const char *name, unsigned line,
            const char *what)
{
    r->problems =
        strata_xrealloc(r->problems, (r->nproblems + 1) * sizeof(char *));
    r->problems[r->nproblems++] =
        strata_xasprintf("%s:%u: %s", name, line, what);
}

int
strata_pin_dockerfile(strata_pin_result *out, const char *data, size_t len,
                      const strata_dockerfile *df, const char *name,
                      strata_pin_resolve_cb resolve, void *arg,
                      strata_error *err)
{
    edit *edits = NULL;
    size_t nedits = 0, i, j, n = strata_dockerfile_ref_count(df);
    strata_buf b = STRATA_BUF_INIT;
    size_t pos;

    memset(out, 0, sizeof(*out));
    edits = strata_xcalloc(n ? n : 1, sizeof(*edits));
    for (i = 0; i < n; i++) {
        const strata_df_ref *r = strata_dockerfile_ref(df, i);
        const strata_df_span *span;
        const char *digest, *cur;
        strata_ref *bare = NULL;
        char *written;
        int dup = 0;

        if (!r->external || r->ref == NULL)
            continue;
        if (strata_ref_with_digest(&bare, r->ref, NULL, NULL) != 0)
            continue;
        digest = resolve(strata_ref_string(bare), r, arg);
        if (digest == NULL) {
            strata_ref_free(bare);
            continue;
        }
        if (r->origin == STRATA_DF_ORIGIN_LITERAL)
            span = &r->span;
        else if (r->origin == STRATA_DF_ORIGIN_ARG_DEFAULT)
            span = &r->arg_span;
        else {
            add_problem(out, name, r->span.line,
                        "reference is built from variables; pin it where "
                        "they are set");
            strata_ref_free(bare);
            continue;
        }
        /* Several FROMs can share one ARG default: edit it once. */
        for (j = 0; j < nedits; j++)
            if (edits[j].offset == span->offset)
                dup = 1;
        cur = strata_ref_digest(r->ref);
        if (dup || (cur != NULL && strcmp(cur, digest) == 0) ||
            span->offset + span->length > len) {
            strata_ref_free(bare);
            continue;
        }
        written = written_name(data + span->offset, span->length);
        edits[nedits].offset = span->offset;
        edits[nedits].length = span->length;
        edits[nedits].text = strata_xasprintf("%s@%s", written, digest);
        free(written);
        /* The change list names the reference in canonical form. */
        out->changes = strata_xrealloc(out->changes, (out->nchanges + 1) *
                                                         sizeof(*out->changes));
        out->changes[out->nchanges].line = span->line;
        out->changes[out->nchanges].ref =
            strata_xstrdup(strata_ref_string(bare));
        out->changes[out->nchanges].old_text =
            strata_xstrndup(data + span->offset, span->length);
        out->changes[out->nchanges].new_text =
            strata_xstrdup(edits[nedits].text);
        out->nchanges++;
        nedits++;
        strata_ref_free(bare);
    }
    /* Apply from the end so the offsets before each edit stay valid. */
    qsort(edits, nedits, sizeof(*edits), by_offset_desc);
    strata_buf_add(&b, data, len);
    for (i = 0; i < nedits; i++) {
        strata_buf tail = STRATA_BUF_INIT;

        pos = edits[i].offset + edits[i].length;
        strata_buf_add(&tail, b.ptr + pos, b.len - pos);
        b.len = edits[i].offset;
        strata_buf_puts(&b, edits[i].text);
        strata_buf_add(&b, tail.ptr ? tail.ptr : "", tail.len);
        strata_buf_release(&tail);
        free(edits[i].text);
    }
    free(edits);
    out->len = b.len;
    out->data = strata_buf_detach(&b);
    (void) err;
    return 0;
}
