/*
 * matcher.c - user-defined reference matchers (references.matchers), as
 * Renovate's regex managers: files chosen by globs, and a PCRE2
 * expression whose named groups "name", "tag" and "digest" say where the
 * reference is. The digest goes into the digest group when it took part
 * in the match, else right after the tag (or the name), replacing an
 * "@digest" written there. Matching is
 * bounded: a match limit, a depth limit and a heap limit per match, and
 * at most MAX_MATCHES matches per file; hitting a limit is a problem.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "pin-int.h"

#define MAX_MATCHES 10000
#define MATCH_LIMIT 1000000
#define DEPTH_LIMIT 10000
#define HEAP_LIMIT_KIB 20480

typedef struct matcher {
    char **globs;
    size_t nglobs;
    pcre2_code *re;
    int g_name, g_tag, g_digest; /* group numbers, or -1 */
} matcher;

struct strata_pin_matchers {
    matcher *v;
    size_t n;
    pcre2_match_context *mctx;
};

strata_pin_matchers *
strata_pin_matchers_new(void)
{
    strata_pin_matchers *m = strata_xcalloc(1, sizeof(*m));

    m->mctx = pcre2_match_context_create(NULL);
    if (m->mctx == NULL)
        abort();
    pcre2_set_match_limit(m->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(m->mctx, DEPTH_LIMIT);
    pcre2_set_heap_limit(m->mctx, HEAP_LIMIT_KIB);
    return m;
}

void
strata_pin_matchers_free(strata_pin_matchers *m)
{
    size_t i, j;

    if (m == NULL)
        return;
    for (i = 0; i < m->n; i++) {
        for (j = 0; j < m->v[i].nglobs; j++)
            free(m->v[i].globs[j]);
        free(m->v[i].globs);
        pcre2_code_free(m->v[i].re);
    }
    free(m->v);
    pcre2_match_context_free(m->mctx);
    free(m);
}

static int
group(const pcre2_code *re, const char *name)
{
    int n = pcre2_substring_number_from_name(re, (PCRE2_SPTR) name);

    return n > 0 ? n : -1;
}

int
strata_pin_matchers_add(strata_pin_matchers *m, const char *const *globs,
                        size_t nglobs, const char *regex, strata_error *err)
{
    PCRE2_UCHAR msg[160];
    PCRE2_SIZE off = 0;
    int code = 0;
    pcre2_code *re;
    matcher *x;
    size_t i;

    re = pcre2_compile((PCRE2_SPTR) regex, PCRE2_ZERO_TERMINATED,
                       PCRE2_UTF | PCRE2_MULTILINE, &code, &off, NULL);
    if (re == NULL) {
        pcre2_get_error_message(code, msg, sizeof(msg));
        return strata_error_set(err, STRATA_EINVAL,
                                "matcher '%s': at offset %zu: %s", regex,
                                (size_t) off, (const char *) msg);
    }
    if (group(re, "name") < 0) {
        pcre2_code_free(re);
        return strata_error_set(err, STRATA_EINVAL,
                                "matcher '%s': no group named 'name'", regex);
    }
    m->v = strata_xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
    x = &m->v[m->n++];
    memset(x, 0, sizeof(*x));
    x->re = re;
    x->g_name = group(re, "name");
    x->g_tag = group(re, "tag");
    x->g_digest = group(re, "digest");
    x->globs = strata_xcalloc(nglobs + 1, sizeof(*x->globs));
    for (i = 0; i < nglobs; i++)
        x->globs[i] = strata_xstrdup(globs[i]);
    x->nglobs = nglobs;
    return 0;
}

/* A glob selects the path or any tail of it that starts a component, so
 * a repository-relative glob also selects the path below a checkout. */
static int
selects(const matcher *x, const char *path)
{
    const char *p;
    size_t i;

    for (i = 0; i < x->nglobs; i++)
        for (p = path; p != NULL; p = strchr(p, '/'), p = p ? p + 1 : NULL)
            if (fnmatch(x->globs[i], p, 0) == 0)
                return 1;
    return 0;
}

int
strata_pin_matchers_select(const strata_pin_matchers *m, const char *path)
{
    size_t i;

    for (i = 0; m != NULL && i < m->n; i++)
        if (selects(&m->v[i], path))
            return 1;
    return 0;
}

static unsigned
line_at(const char *data, size_t off)
{
    unsigned line = 1;
    size_t i;

    for (i = 0; i < off; i++)
        if (data[i] == '\n')
            line++;
    return line;
}

/* One match: the groups' offsets into the site. */
static void
one_match(strata_pin__ctx *c, const matcher *x, const PCRE2_SIZE *ov)
{
    strata_pin__site s = {0};
    strata_buf ref = STRATA_BUF_INIT;
    size_t n0 = ov[2 * x->g_name], n1 = ov[2 * x->g_name + 1];
    int has_tag = x->g_tag > 0 && ov[2 * x->g_tag] != PCRE2_UNSET,
        has_dig = x->g_digest > 0 && ov[2 * x->g_digest] != PCRE2_UNSET;
    size_t end = n1;

    if (n0 == PCRE2_UNSET || n1 <= n0)
        return;
    strata_buf_add(&ref, c->data + n0, n1 - n0);
    if (has_tag && ov[2 * x->g_tag + 1] > ov[2 * x->g_tag]) {
        strata_buf_putc(&ref, ':');
        strata_buf_add(&ref, c->data + ov[2 * x->g_tag],
                       ov[2 * x->g_tag + 1] - ov[2 * x->g_tag]);
        end = ov[2 * x->g_tag + 1];
    }
    s.line = line_at(c->data, n0);
    if (memchr(ref.ptr, '@', ref.len) != NULL) {
        strata_pin__problem(c, s.line,
                            "'%s' has a digest outside the digest group; "
                            "pin it by hand",
                            ref.ptr);
        goto out;
    }
    if (has_dig) {
        size_t d0 = ov[2 * x->g_digest], d1 = ov[2 * x->g_digest + 1];

        if (d1 > d0) {
            strata_buf_putc(&ref, '@');
            strata_buf_add(&ref, c->data + d0, d1 - d0);
        }
        s.field = 1;
        s.field_off = d0;
        s.field_len = d1 - d0;
    } else if (end < c->len && c->data[end] == '@') {
        /* No digest group, a digest written after the tag: that one is
         * replaced, so pinning twice does not append a second. */
        size_t d1 = end + 1;

        while (d1 < c->len && d1 - end <= 128 &&
               (isalnum((unsigned char) c->data[d1]) || c->data[d1] == ':'))
            d1++;
        strata_buf_add(&ref, c->data + end, d1 - end);
        s.field = 1;
        s.field_off = end + 1;
        s.field_len = d1 - end - 1;
    } else {
        s.at_off = (size_t) -1;
        s.end_off = end;
    }
    s.value = ref.ptr;
    strata_pin__add(c, &s);
out:
    strata_buf_release(&ref);
}

int
strata_pin_match(strata_pin_result *out, const char *data, size_t len,
                 const char *name, const strata_pin_opts *opts,
                 strata_error *err)
{
    const strata_pin_matchers *m = opts->matchers;
    strata_pin__ctx c;
    size_t i, count = 0;

    (void) err;
    strata_pin__init(&c, out, data, len, name, opts);
    for (i = 0; m != NULL && i < m->n; i++) {
        const matcher *x = &m->v[i];
        pcre2_match_data *md;
        PCRE2_SIZE start = 0;

        if (!selects(x, c.name))
            continue;
        md = pcre2_match_data_create_from_pattern(x->re, NULL);
        while (start <= len) {
            int rc = pcre2_match(x->re, (PCRE2_SPTR) data, len, start, 0, md,
                                 m->mctx);
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

            if (rc == PCRE2_ERROR_NOMATCH)
                break;
            if (rc < 0) {
                PCRE2_UCHAR msg[120];

                pcre2_get_error_message(rc, msg, sizeof(msg));
                strata_pin__problem(&c, line_at(data, start),
                                    "matcher %zu stopped: %s", i + 1,
                                    (const char *) msg);
                break;
            }
            if (++count > MAX_MATCHES) {
                strata_pin__problem(&c, line_at(data, start),
                                    "more than %d matches; the rest is not "
                                    "read",
                                    MAX_MATCHES);
                break;
            }
            one_match(&c, x, ov);
            /* An empty match moves on by one character. */
            start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
            while (start < len && ((unsigned char) data[start] & 0xc0) == 0x80)
                start++;
        }
        pcre2_match_data_free(md);
    }
    strata_pin__finish(&c);
    return 0;
}
