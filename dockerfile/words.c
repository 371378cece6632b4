/*
 * words.c - the ways BuildKit cuts a logical line into words:
 * leading "--flag=value" words (extractBuilderFlags), whitespace-split
 * arguments (FROM), quote-aware words (ARG, and heredoc detection), the
 * CSV of a RUN --mount, and the check for the JSON exec form. Each word
 * keeps its byte range in the line so the driver can report spans.
 */
#include <string.h>

#include "dockerfile-int.h"

void
strata_dockerfile__words_release(strata_dockerfile__words *w)
{
    size_t i;

    for (i = 0; i < w->n; i++)
        free(w->v[i].value);
    free(w->v);
    memset(w, 0, sizeof(*w));
}

static void
push(strata_dockerfile__words *w, size_t start, size_t end, strata_buf *value,
     size_t eq, int plain)
{
    strata_dockerfile__word *x;

    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->v = strata_xrealloc(w->v, w->cap * sizeof(*w->v));
    }
    x = &w->v[w->n++];
    x->start = start;
    x->end = end;
    x->value = strata_buf_detach(value);
    x->eq = eq;
    x->plain = plain;
}

#define NOPOS ((size_t) -1)

size_t
strata_dockerfile__flags(strata_dockerfile__words *out, const char *t,
                         size_t from, size_t len)
{
    enum {
        SPACES,
        WORD,
        QUOTE
    } phase = SPACES;
    strata_buf word = STRATA_BUF_INIT;
    size_t pos, start = 0, eq = NOPOS;
    int blank_ok = 0, plain = 1;
    char quote = 0;

    for (pos = from; pos <= len; pos++) {
        char ch = pos < len ? t[pos] : '\0';

        if (phase == SPACES) {
            if (pos == len)
                break;
            if (strata_dockerfile__isspace((unsigned char) ch))
                continue;
            if (ch != '-' || pos + 1 >= len || t[pos + 1] != '-')
                goto out_at;
            phase = WORD;
            start = pos;
            eq = NOPOS;
            plain = 1;
            blank_ok = 0;
            strata_buf_reset(&word);
        }
        if (pos == len) {
            if (!(word.len == 2 && memcmp(word.ptr, "--", 2) == 0) &&
                (blank_ok || word.len > 0))
                push(out, start, pos, &word, eq, plain);
            break;
        }
        if (phase == WORD) {
            if (strata_dockerfile__isspace((unsigned char) ch)) {
                phase = SPACES;
                if (word.len == 2 && memcmp(word.ptr, "--", 2) == 0)
                    goto out_at;
                if (blank_ok || word.len > 0)
                    push(out, start, pos, &word, eq, plain);
                continue;
            }
            if (ch == '\'' || ch == '"') {
                quote = ch;
                blank_ok = 1;
                plain = 0;
                phase = QUOTE;
                continue;
            }
            if (ch == '\\') {
                plain = 0;
                if (pos + 1 == len)
                    continue;
                ch = t[++pos];
            } else if (ch == '=' && eq == NOPOS) {
                eq = pos;
            }
            strata_buf_putc(&word, ch);
            continue;
        }
        /* QUOTE */
        if (ch == quote) {
            phase = WORD;
            continue;
        }
        if (ch == '\\') {
            if (pos + 1 == len) {
                phase = WORD;
                continue;
            }
            ch = t[++pos];
        }
        strata_buf_putc(&word, ch);
    }
    strata_buf_release(&word);
    return len;
out_at:
    strata_buf_release(&word);
    return pos;
}

void
strata_dockerfile__split_ws(strata_dockerfile__words *out, const char *t,
                            size_t from, size_t len)
{
    size_t i = from;

    while (i < len) {
        size_t s;
        strata_buf v = STRATA_BUF_INIT;
        const char *eq;

        while (i < len && strata_dockerfile__isspace((unsigned char) t[i]))
            i++;
        if (i == len)
            break;
        s = i;
        while (i < len && !strata_dockerfile__isspace((unsigned char) t[i]))
            i++;
        strata_buf_add(&v, t + s, i - s);
        eq = memchr(t + s, '=', i - s);
        push(out, s, i, &v, eq ? (size_t) (eq - t) : NOPOS, 1);
    }
}

void
strata_dockerfile__split_words(strata_dockerfile__words *out, const char *t,
                               size_t from, size_t len, char escape)
{
    enum {
        SPACES,
        WORD,
        QUOTE
    } phase = SPACES;
    strata_buf word = STRATA_BUF_INIT;
    size_t pos, start = 0, eq = NOPOS;
    int blank_ok = 0, plain = 1;
    char quote = 0;

    for (pos = from; pos <= len; pos++) {
        char ch = pos < len ? t[pos] : '\0';

        if (phase == SPACES) {
            if (pos == len)
                break;
            if (strata_dockerfile__isspace((unsigned char) ch))
                continue;
            phase = WORD;
            start = pos;
            eq = NOPOS;
            plain = 1;
            blank_ok = 0;
            strata_buf_reset(&word);
        }
        if (pos == len) {
            if (blank_ok || word.len > 0)
                push(out, start, pos, &word, eq, plain);
            break;
        }
        if (ch == '=' && eq == NOPOS)
            eq = pos;
        if (phase == WORD) {
            if (strata_dockerfile__isspace((unsigned char) ch)) {
                phase = SPACES;
                if (blank_ok || word.len > 0)
                    push(out, start, pos, &word, eq, plain);
                continue;
            }
            if (ch == '\'' || ch == '"') {
                quote = ch;
                blank_ok = 1;
                plain = 0;
                phase = QUOTE;
            }
            if (ch == escape) {
                plain = 0;
                if (pos + 1 == len)
                    continue;
                strata_buf_putc(&word, ch);
                ch = t[++pos];
            }
            strata_buf_putc(&word, ch);
            continue;
        }
        /* QUOTE */
        if (ch == quote)
            phase = WORD;
        if (ch == escape && quote != '\'') {
            if (pos + 1 == len) {
                phase = WORD;
                continue;
            }
            strata_buf_putc(&word, ch);
            ch = t[++pos];
        }
        strata_buf_putc(&word, ch);
    }
    strata_buf_release(&word);
}

int
strata_dockerfile__split_csv(strata_dockerfile__words *out, const char *s,
                             size_t len)
{
    size_t i = 0;

    for (;;) {
        strata_buf v = STRATA_BUF_INIT;
        size_t start = i, eq = NOPOS;
        int plain = 1;

        strata_buf_add(&v, "", 0);
        if (i < len && s[i] == '"') {
            plain = 0;
            i++;
            for (;;) {
                if (i >= len) {
                    strata_buf_release(&v);
                    return -1;
                }
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        strata_buf_putc(&v, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (s[i] == '=' && eq == NOPOS)
                    eq = i;
                strata_buf_putc(&v, s[i++]);
            }
            if (i < len && s[i] != ',') {
                strata_buf_release(&v);
                return -1;
            }
        } else {
            while (i < len && s[i] != ',') {
                if (s[i] == '"') {
                    strata_buf_release(&v);
                    return -1;
                }
                if (s[i] == '=' && eq == NOPOS)
                    eq = i;
                strata_buf_putc(&v, s[i++]);
            }
        }
        push(out, start, i, &v, eq, plain);
        if (i >= len)
            return 0;
        i++; /* the ',' */
    }
}

static size_t
json_ws(const char *t, size_t i, size_t len)
{
    while (i < len &&
           (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

static int
ishex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* A JSON string at t[i]; returns the offset after it, or 0. */
static size_t
json_str(const char *t, size_t i, size_t len)
{
    if (i >= len || t[i] != '"')
        return 0;
    for (i++; i < len; i++) {
        unsigned char c = (unsigned char) t[i];

        if (c == '"')
            return i + 1;
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (++i >= len)
                return 0;
            if (t[i] == 'u') {
                int k;
                for (k = 1; k <= 4; k++)
                    if (i + k >= len || !ishex((unsigned char) t[i + k]))
                        return 0;
                i += 4;
            } else if (strchr("\"\\/bfnrt", t[i]) == NULL || t[i] == '\0') {
                return 0;
            }
        }
    }
    return 0;
}

int
strata_dockerfile__is_json_array(const char *t, size_t from, size_t len)
{
    size_t i = from;

    while (i < len && strata_dockerfile__isspace((unsigned char) t[i]))
        i++;
    /* BuildKit trims Go whitespace first; the rest must be an array. */
    while (len > i && strata_dockerfile__isspace((unsigned char) t[len - 1]))
        len--;
    if (i >= len || t[i] != '[')
        return 0;
    i = json_ws(t, i + 1, len);
    if (i < len && t[i] == ']')
        return json_ws(t, i + 1, len) == len;
    for (;;) {
        i = json_str(t, i, len);
        if (i == 0)
            return 0;
        i = json_ws(t, i, len);
        if (i < len && t[i] == ']')
            return json_ws(t, i + 1, len) == len;
        if (i >= len || t[i] != ',')
            return 0;
        i = json_ws(t, i + 1, len);
    }
}
