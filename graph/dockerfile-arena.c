/*
 * dockerfile-arena.c - a bump allocator for the strings and small
 * structs of a parse result: everything is allocated from chunks that are
 * freed together when the result is freed (h2o's mem pool, simplified).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph-int.h"

#define CHUNK_SIZE 8192

struct strata_graph__chunk {
    struct strata_graph__chunk *next;
    size_t used, cap;
    /* Data follows, aligned like max_align_t. */
    _Alignas(16) unsigned char data[];
};

void *
strata_graph__arena_alloc(strata_graph__arena *a, size_t n)
{
    struct strata_graph__chunk *c = a->head;
    void *p;

    n = (n + 15) & ~(size_t) 15;
    if (n == 0)
        n = 16;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > CHUNK_SIZE / 2 ? n : CHUNK_SIZE;

        c = strata_xmalloc(sizeof(*c) + cap);
        c->used = 0;
        c->cap = cap;
        /* A big block gets its own chunk behind the current one so the
         * current chunk's free space is not wasted. */
        if (cap > CHUNK_SIZE && a->head != NULL) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *
strata_graph__arena_strndup(strata_graph__arena *a, const char *s, size_t n)
{
    char *p = strata_graph__arena_alloc(a, n + 1);

    if (n > 0)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
strata_graph__arena_strdup(strata_graph__arena *a, const char *s)
{
    return strata_graph__arena_strndup(a, s, strlen(s));
}

char *
strata_graph__arena_printf(strata_graph__arena *a, const char *fmt, ...)
{
    va_list ap;
    char *tmp, *p;

    va_start(ap, fmt);
    tmp = strata_xvasprintf(fmt, ap);
    va_end(ap);
    p = strata_graph__arena_strdup(a, tmp);
    free(tmp);
    return p;
}

void
strata_graph__arena_release(strata_graph__arena *a)
{
    struct strata_graph__chunk *c = a->head, *next;

    while (c != NULL) {
        next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}
