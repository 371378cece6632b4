/*
 * strtab.c - the lineage graph's string table: every string stored once,
 * named by a 32-bit id, found through an open-addressing index (linear
 * probing, core's FNV-1a) that holds ids only, so a string costs its bytes plus
 * about 17 bytes of bookkeeping.
 */
#include <stdlib.h>
#include <string.h>

#include "graph-int.h"

/* The slot holding s, or the empty slot where it would go. */
static uint32_t
slot(const strata_graph__strtab *t, const char *s)
{
    uint32_t mask = t->nslots - 1, i = (uint32_t) strata_str_hash(s) & mask;

    while (t->slots[i] != 0 && strcmp(t->strs[t->slots[i]], s) != 0)
        i = (i + 1) & mask;
    return i;
}

static void
grow_index(strata_graph__strtab *t)
{
    uint32_t id;

    if (t->nslots > UINT32_MAX / 2)
        abort(); /* 1.6 billion strings: memory ran out long before */
    t->nslots = t->nslots ? t->nslots * 2 : 64;
    free(t->slots);
    t->slots = strata_xcalloc(t->nslots, sizeof(*t->slots));
    for (id = 1; id < t->n; id++)
        t->slots[slot(t, t->strs[id])] = id;
}

uint32_t
strata_graph__strtab_find(const strata_graph__strtab *t, const char *s)
{
    return s != NULL && t->nslots != 0 ? t->slots[slot(t, s)] : 0;
}

uint32_t
strata_graph__strtab_intern(strata_graph__strtab *t, const char *s)
{
    uint32_t i;

    if (s == NULL)
        return 0;
    /* At most three quarters full, counting the unused id 0. */
    if ((uint64_t) (t->n + 1) * 4 > (uint64_t) t->nslots * 3)
        grow_index(t);
    i = slot(t, s);
    if (t->slots[i] != 0)
        return t->slots[i];
    if (t->n == 0)
        t->n = 1; /* id 0 names no string */
    if (t->n >= t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->strs = strata_xrealloc(t->strs, t->cap * sizeof(*t->strs));
        t->node = strata_xrealloc(t->node, t->cap * sizeof(*t->node));
    }
    t->strs[t->n] = strata_arena_strdup(&t->bytes, s);
    t->node[t->n] = 0;
    t->slots[i] = t->n;
    return t->n++;
}

void
strata_graph__strtab_release(strata_graph__strtab *t)
{
    strata_arena_release(&t->bytes);
    free(t->strs);
    free(t->node);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}
