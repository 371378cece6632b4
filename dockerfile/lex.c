/*
 * lex.c - turns the bytes of a Dockerfile into logical
 * instructions the way BuildKit's parser reads lines: a UTF-8 BOM is
 * dropped, parser directives are read at the top, comment and blank lines
 * are skipped, lines ending in the escape character (optionally followed
 * by spaces or tabs) continue on the next line (where comment and blank
 * lines are skipped too), CR before LF is dropped, and heredoc bodies of
 * RUN/COPY/ADD are consumed without being read as instructions.
 *
 * Each logical line keeps, byte by byte, the offset it came from in the
 * file, so the driver can report exact spans.
 */
#include <string.h>

#include "dockerfile-int.h"

int
strata_dockerfile__isspace(int c)
{
    /* Go's unicode.IsSpace for the ASCII range. */
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

static void
add_line_start(strata_dockerfile__lexer *lx, size_t off, size_t *cap)
{
    if (lx->nlines == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        lx->line_starts =
            strata_xrealloc(lx->line_starts, *cap * sizeof(size_t));
    }
    lx->line_starts[lx->nlines++] = off;
}

void
strata_dockerfile__lexer_init(strata_dockerfile__lexer *lx, const char *buf,
                              size_t len, strata_dockerfile__diag_cb diag,
                              void *arg)
{
    size_t i, cap = 0;

    memset(lx, 0, sizeof(*lx));
    lx->buf = buf;
    lx->len = len;
    lx->escape = '\\';
    lx->diag = diag;
    lx->diag_arg = arg;
    strata_buf_init(&lx->text);
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        lx->bom = 3;
    lx->pos = lx->bom;
    /* Line 1 starts after the BOM, so columns ignore it. */
    add_line_start(lx, lx->bom, &cap);
    for (i = lx->bom; i < len; i++)
        if (buf[i] == '\n' && i + 1 < len)
            add_line_start(lx, i + 1, &cap);
}

void
strata_dockerfile__lexer_release(strata_dockerfile__lexer *lx)
{
    strata_buf_release(&lx->text);
    free(lx->orig);
    free(lx->line_starts);
    free(lx->syntax);
    free(lx->check);
    lx->orig = NULL;
    lx->line_starts = NULL;
    lx->syntax = lx->check = NULL;
}

strata_df_span
strata_dockerfile__span(const strata_dockerfile__lexer *lx,
                        const strata_dockerfile__line *l, size_t a, size_t b)
{
    strata_df_span s;
    size_t lo = 0, hi = lx->nlines;

    s.offset = l->orig[a];
    s.length = b > a ? l->orig[b - 1] + 1 - l->orig[a] : 0;
    /* The last line start <= offset. */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (lx->line_starts[mid] <= s.offset)
            lo = mid;
        else
            hi = mid;
    }
    s.line = (unsigned) lo + 1;
    s.column = (unsigned) (s.offset - lx->line_starts[lo]) + 1;
    return s;
}

/* Reads the next physical line: [*s, *e) without its LF and trailing CRs
 * (BuildKit's trimNewline). 0 at the end of the buffer. */
static int
next_physical(strata_dockerfile__lexer *lx, size_t *s, size_t *e)
{
    const char *nl;
    size_t end;

    if (lx->pos >= lx->len)
        return 0;
    *s = lx->pos;
    nl = memchr(lx->buf + lx->pos, '\n', lx->len - lx->pos);
    end = nl ? (size_t) (nl - lx->buf) : lx->len;
    lx->pos = nl ? end + 1 : lx->len;
    while (end > *s && (lx->buf[end - 1] == '\r' || lx->buf[end - 1] == '\n'))
        end--;
    *e = end;
    lx->lineno++;
    return 1;
}

static size_t
skip_ws(const char *b, size_t s, size_t e)
{
    while (s < e && strata_dockerfile__isspace((unsigned char) b[s]))
        s++;
    return s;
}

static int
isalpha_(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
isalnum_(int c)
{
    return isalpha_(c) || (c >= '0' && c <= '9');
}

/*
 * BuildKit's directive parser on a top-level line (left-trimmed):
 * ^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$ with a known
 * name; the first line that is not one ends directive processing.
 */
static void
directive(strata_dockerfile__lexer *lx, size_t s, size_t e)
{
    const char *b = lx->buf;
    size_t ns, ne, vs, ve;
    char name[16], *val;
    int *seen;

    if (s >= e || b[s] != '#')
        goto done;
    s++;
    while (s < e && (b[s] == ' ' || b[s] == '\t'))
        s++;
    if (s >= e || !isalpha_((unsigned char) b[s]))
        goto done;
    ns = s;
    while (s < e && isalnum_((unsigned char) b[s]))
        s++;
    ne = s;
    while (s < e && (b[s] == ' ' || b[s] == '\t'))
        s++;
    if (s >= e || b[s] != '=')
        goto done;
    s++;
    while (s < e && (b[s] == ' ' || b[s] == '\t'))
        s++;
    vs = s;
    ve = e;
    while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
        ve--;
    if (ve == vs || ne - ns >= sizeof(name))
        goto done;
    for (s = ns; s < ne; s++)
        name[s - ns] = (char) (b[s] >= 'A' && b[s] <= 'Z' ? b[s] + 32 : b[s]);
    name[ne - ns] = '\0';
    if (strcmp(name, "escape") == 0)
        seen = &lx->seen_escape;
    else if (strcmp(name, "syntax") == 0)
        seen = &lx->seen_syntax;
    else if (strcmp(name, "check") == 0)
        seen = &lx->seen_check;
    else
        goto done;
    if (*seen) {
        char *msg = strata_xasprintf(
            "only one '%s' parser directive can be used", name);
        lx->diag(lx->lineno, msg, lx->diag_arg);
        free(msg);
        return;
    }
    *seen = 1;
    val = strata_xstrndup(b + vs, ve - vs);
    if (seen == &lx->seen_escape) {
        if (strcmp(val, "`") == 0 || strcmp(val, "\\") == 0) {
            lx->escape = val[0];
        } else {
            char *msg = strata_xasprintf(
                "invalid escape token '%s' does not match ` or \\", val);
            lx->diag(lx->lineno, msg, lx->diag_arg);
            free(msg);
        }
        free(val);
    } else if (seen == &lx->seen_syntax) {
        lx->syntax = val;
    } else {
        lx->check = val;
    }
    return;
done:
    lx->directives_done = 1;
}

static void
append(strata_dockerfile__lexer *lx, size_t s, size_t e)
{
    size_t n = e - s, i, base = lx->text.len;

    if (base + n + 1 > lx->orig_cap) {
        lx->orig_cap = (base + n + 1) * 2;
        lx->orig = strata_xrealloc(lx->orig, lx->orig_cap * sizeof(size_t));
    }
    strata_buf_add(&lx->text, lx->buf + s, n);
    for (i = 0; i < n; i++)
        lx->orig[base + i] = s + i;
    lx->orig[base + n] = e;
}

/* Strips a trailing escape + [ \t]* from the text; 1 when it did. */
static int
trim_continuation(strata_dockerfile__lexer *lx, size_t from)
{
    size_t n = lx->text.len;
    const char *t = lx->text.ptr;

    while (n > from && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    if (n > from && t[n - 1] == lx->escape) {
        lx->text.len = n - 1;
        lx->text.ptr[n - 1] = '\0';
        return 1;
    }
    return 0;
}

/* ---- heredocs ----------------------------------------------------------- */

typedef struct heredoc {
    char *name;
    int chomp;
} heredoc;

/* Removes quotes and backslash escapes from a heredoc word. */
static char *
unquote(const char *s, size_t n)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i = 0;
    char q = 0;

    strata_buf_add(&b, "", 0);
    while (i < n) {
        char c = s[i];
        if (q == '\'') {
            if (c == '\'')
                q = 0;
            else
                strata_buf_putc(&b, c);
            i++;
        } else if (q == '"') {
            if (c == '"') {
                q = 0;
            } else if (c == '\\' && i + 1 < n &&
                       (s[i + 1] == '"' || s[i + 1] == '\\' ||
                        s[i + 1] == '$')) {
                strata_buf_putc(&b, s[++i]);
            } else {
                strata_buf_putc(&b, c);
            }
            i++;
        } else if (c == '\'' || c == '"') {
            q = c;
            i++;
        } else if (c == '\\') {
            if (i + 1 < n)
                strata_buf_putc(&b, s[i + 1]);
            i += 2;
        } else {
            strata_buf_putc(&b, c);
            i++;
        }
    }
    return strata_buf_detach(&b);
}

/* A word matching ^(\d*)<<(-?)([^<]*)$ with a non-empty rest. */
static int
parse_heredoc_word(heredoc *h, const char *w, size_t n)
{
    size_t i = 0, rest;

    while (i < n && w[i] >= '0' && w[i] <= '9')
        i++;
    if (n - i < 2 || w[i] != '<' || w[i + 1] != '<')
        return 0;
    i += 2;
    h->chomp = 0;
    if (i < n && w[i] == '-') {
        h->chomp = 1;
        i++;
    }
    rest = i;
    if (rest == n || memchr(w + rest, '<', n - rest) != NULL)
        return 0;
    h->name = unquote(w + rest, n - rest);
    if (h->name[0] == '\0') {
        free(h->name);
        return 0;
    }
    return 1;
}

/* The heredocs a RUN/COPY/ADD line opens (not in exec form). */
static size_t
find_heredocs(heredoc **out, const char *t, size_t len)
{
    strata_dockerfile__words flags = {0}, words = {0};
    size_t i = skip_ws(t, 0, len), cs, n = 0, k;
    int ok = 0;

    *out = NULL;
    if (len < 2 || strstr(t, "<<") == NULL)
        return 0;
    for (k = 0; k < 2; k++) {
        char cmd[8];
        size_t j;

        cs = i;
        while (i < len && !strata_dockerfile__isspace((unsigned char) t[i]))
            i++;
        if (i - cs >= sizeof(cmd))
            return 0;
        for (j = cs; j < i; j++)
            cmd[j - cs] =
                (char) (t[j] >= 'A' && t[j] <= 'Z' ? t[j] + 32 : t[j]);
        cmd[i - cs] = '\0';
        i = skip_ws(t, i, len);
        if (k == 0 && strcmp(cmd, "onbuild") == 0)
            continue;
        ok = strcmp(cmd, "run") == 0 || strcmp(cmd, "copy") == 0 ||
             strcmp(cmd, "add") == 0;
        break;
    }
    if (!ok)
        return 0;
    i = strata_dockerfile__flags(&flags, t, i, len);
    strata_dockerfile__words_release(&flags);
    if (strata_dockerfile__is_json_array(t, i, len))
        return 0;
    strata_dockerfile__split_words(&words, t, 0, len, '\\');
    for (k = 0; k < words.n; k++) {
        heredoc h;
        const strata_dockerfile__word *w = &words.v[k];

        if (!parse_heredoc_word(&h, t + w->start, w->end - w->start))
            continue;
        *out = strata_xrealloc(*out, (n + 1) * sizeof(**out));
        (*out)[n++] = h;
    }
    strata_dockerfile__words_release(&words);
    return n;
}

/* Consumes heredoc bodies up to their terminators. */
static void
skip_heredocs(strata_dockerfile__lexer *lx, unsigned line)
{
    heredoc *docs;
    size_t n = find_heredocs(&docs, lx->text.ptr, lx->text.len), i;

    for (i = 0; i < n; i++) {
        size_t s, e, tl = strlen(docs[i].name);
        int terminated = 0;

        while (!terminated && next_physical(lx, &s, &e)) {
            if (docs[i].chomp)
                while (s < e && lx->buf[s] == '\t')
                    s++;
            terminated =
                e - s == tl && memcmp(lx->buf + s, docs[i].name, tl) == 0;
        }
        if (!terminated) {
            char *msg =
                strata_xasprintf("unterminated heredoc '%s'", docs[i].name);
            lx->diag(line, msg, lx->diag_arg);
            free(msg);
        }
    }
    for (i = 0; i < n; i++)
        free(docs[i].name);
    free(docs);
}

/* ---- logical lines ------------------------------------------------------ */

int
strata_dockerfile__lexer_next(strata_dockerfile__lexer *lx,
                              strata_dockerfile__line *out)
{
    size_t s, e, ls;

    for (;;) {
        int cont;
        unsigned first;

        if (!next_physical(lx, &s, &e))
            return 0;
        first = lx->lineno;
        ls = skip_ws(lx->buf, s, e);
        if (!lx->directives_done)
            directive(lx, ls, e);
        if (ls == e || lx->buf[ls] == '#')
            continue;
        strata_buf_reset(&lx->text);
        append(lx, ls, e);
        cont = trim_continuation(lx, 0);
        while (cont && next_physical(lx, &s, &e)) {
            size_t cs = skip_ws(lx->buf, s, e), from = lx->text.len;

            if (cs == e || lx->buf[cs] == '#')
                continue;
            append(lx, s, e);
            cont = trim_continuation(lx, from);
        }
        if (skip_ws(lx->text.ptr, 0, lx->text.len) == lx->text.len)
            continue;
        skip_heredocs(lx, first);
        out->text = lx->text.ptr;
        out->len = lx->text.len;
        out->orig = lx->orig;
        out->line = first;
        return 1;
    }
}
