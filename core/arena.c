/*
 * arena.c - a bump allocator for the strings and small structs of a
 * Dockerfile parse result and for the lineage graph's strings:
 * everything is allocated from chunks that are freed together (h2o's mem
 * pool, simplified). Chunks double from 8 KiB up to 1 MiB, so a parse
 * result stays small and a 100,000-node graph needs few chunks; strings
 * are packed byte to byte, other blocks aligned like max_align_t.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define CHUNK_SIZE 8192
#define CHUNK_MAX (1024 * 1024)

struct strata_arena_chunk {
    struct strata_arena_chunk *next;
    size_t used, cap;
    /* Data follows, aligned like max_align_t. */
    _Alignas(16) unsigned char data[];
};

/* n bytes at the given alignment (1 or 16), not zeroed. */
static void *
arena_take(strata_arena *a, size_t n, size_t align)
{
    struct strata_arena_chunk *c = a->head;
    size_t at = c != NULL ? (c->used + align - 1) & ~(align - 1) : 0;
    void *p;

    if (c == NULL || at > c->cap || c->cap - at < n) {
        size_t cap = a->next_cap ? a->next_cap : CHUNK_SIZE;

        if (n > cap / 2) {
            cap = n;
        } else if (a->next_cap < CHUNK_MAX) {
            a->next_cap = cap * 2;
        }
        c = strata_xmalloc(sizeof(*c) + cap);
        c->used = 0;
        c->cap = cap;
        /* A big block gets its own chunk behind the current one so the
         * current chunk's free space is not wasted. */
        if (cap == n && a->head != NULL) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
        at = 0;
    }
    p = c->data + at;
    c->used = at + n;
    return p;
}

void *
strata_arena_alloc(strata_arena *a, size_t n)
{
    void *p;

    if (n == 0)
        n = 1;
    p = arena_take(a, n, 16);
    memset(p, 0, n);
    return p;
}

char *
strata_arena_strndup(strata_arena *a, const char *s, size_t n)
{
    char *p = arena_take(a, n + 1, 1);

    if (n > 0)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
strata_arena_strdup(strata_arena *a, const char *s)
{
    return strata_arena_strndup(a, s, strlen(s));
}

char *
strata_arena_printf(strata_arena *a, const char *fmt, ...)
{
    va_list ap;
    char *tmp, *p;

    va_start(ap, fmt);
    tmp = strata_xvasprintf(fmt, ap);
    va_end(ap);
    p = strata_arena_strdup(a, tmp);
    free(tmp);
    return p;
}

void
strata_arena_release(strata_arena *a)
{
    struct strata_arena_chunk *c = a->head, *next;

    while (c != NULL) {
        next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->next_cap = 0;
}
