/*
 * alloc.c - allocation that aborts on exhaustion (tmux, OpenSMTPD
 * xmalloc), so no caller carries an out-of-memory path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core.h"

static void
oom(size_t n)
{
    fprintf(stderr, "strata: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
strata_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        oom(n);
    return p;
}

void *
strata_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (p == NULL)
        oom(nmemb * size);
    return p;
}

void *
strata_xrealloc(void *ptr, size_t n)
{
    void *p = realloc(ptr, n ? n : 1);

    if (p == NULL)
        oom(n);
    return p;
}

char *
strata_xstrdup(const char *s)
{
    return strata_xstrndup(s, strlen(s));
}

char *
strata_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = strata_xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *
strata_xvasprintf(const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    int n;
    char *p;

    /* Most strings fit the stack buffer; measure and retry otherwise. */
    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        oom(0);
    if ((size_t) n < sizeof(small))
        return strata_xstrndup(small, (size_t) n);
    p = strata_xmalloc((size_t) n + 1);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    return p;
}

char *
strata_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = strata_xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

void
strata_release_free_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}
