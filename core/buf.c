/*
 * buf.c - a growable, always NUL-terminated byte buffer used for response
 * bodies, rendered output and messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

void
strata_buf_init(strata_buf *b)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void
strata_buf_release(strata_buf *b)
{
    free(b->ptr);
    strata_buf_init(b);
}

void
strata_buf_reset(strata_buf *b)
{
    b->len = 0;
    if (b->ptr != NULL)
        b->ptr[0] = '\0';
}

void
strata_buf_grow(strata_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t cap;

    if (need <= b->cap)
        return;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->ptr = strata_xrealloc(b->ptr, cap);
    b->cap = cap;
}

void
strata_buf_add(strata_buf *b, const void *data, size_t len)
{
    strata_buf_grow(b, len);
    if (len > 0)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
}

void
strata_buf_puts(strata_buf *b, const char *s)
{
    strata_buf_add(b, s, strlen(s));
}

void
strata_buf_putc(strata_buf *b, char c)
{
    strata_buf_add(b, &c, 1);
}

void
strata_buf_vprintf(strata_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    /* Try in the space already there; grow and retry if it was short. */
    strata_buf_grow(b, 64);
    va_copy(ap2, ap);
    n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, ap2);
    va_end(ap2);
    if (n <= 0)
        return;
    if ((size_t) n < b->cap - b->len) {
        b->len += (size_t) n;
        return;
    }
    strata_buf_grow(b, (size_t) n);
    vsnprintf(b->ptr + b->len, (size_t) n + 1, fmt, ap);
    b->len += (size_t) n;
}

void
strata_buf_printf(strata_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    strata_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void
strata_buf_json_string(strata_buf *b, const char *s)
{
    const unsigned char *p;

    strata_buf_putc(b, '"');
    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        switch (*p) {
        case '"':
            strata_buf_puts(b, "\\\"");
            break;
        case '\\':
            strata_buf_puts(b, "\\\\");
            break;
        case '\n':
            strata_buf_puts(b, "\\n");
            break;
        case '\r':
            strata_buf_puts(b, "\\r");
            break;
        case '\t':
            strata_buf_puts(b, "\\t");
            break;
        default:
            if (*p < 0x20)
                strata_buf_printf(b, "\\u%04x", *p);
            else
                strata_buf_putc(b, (char) *p);
        }
    }
    strata_buf_putc(b, '"');
}

char *
strata_buf_detach(strata_buf *b)
{
    char *p = b->ptr;

    if (p == NULL)
        p = strata_xstrdup("");
    strata_buf_init(b);
    return p;
}

const char *
strata_buf_cstr(const strata_buf *b)
{
    return b->ptr != NULL ? b->ptr : "";
}
