/*
 * strmap.c - a string-keyed hash map (open addressing, linear probing,
 * FNV-1a) for the lookups every module needs: reference -> graph node,
 * host -> registry, name -> stage. Keys are copied; values are borrowed.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct strata_strmap {
    char **keys;
    void **vals;
    size_t cap; /* a power of two, or 0 */
    size_t len;
};

uint64_t
strata_str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char) *s;
        h *= 1099511628211ULL;
    }
    return h;
}

strata_strmap *
strata_strmap_new(void)
{
    return strata_xcalloc(1, sizeof(strata_strmap));
}

void
strata_strmap_free(strata_strmap *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    free(m);
}

static size_t
slot(const strata_strmap *m, const char *key)
{
    size_t i = (size_t) strata_str_hash(key) & (m->cap - 1);

    while (m->keys[i] != NULL && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void
grow(strata_strmap *m)
{
    char **okeys = m->keys;
    void **ovals = m->vals;
    size_t ocap = m->cap, i;

    m->cap = ocap ? ocap * 2 : 16;
    m->keys = strata_xcalloc(m->cap, sizeof(*m->keys));
    m->vals = strata_xcalloc(m->cap, sizeof(*m->vals));
    for (i = 0; i < ocap; i++) {
        if (okeys[i] != NULL) {
            size_t j = slot(m, okeys[i]);
            m->keys[j] = okeys[i];
            m->vals[j] = ovals[i];
        }
    }
    free(okeys);
    free(ovals);
}

void *
strata_strmap_get(const strata_strmap *m, const char *key)
{
    size_t i;

    if (m->cap == 0)
        return NULL;
    i = slot(m, key);
    return m->keys[i] != NULL ? m->vals[i] : NULL;
}

int
strata_strmap_has(const strata_strmap *m, const char *key)
{
    return m->cap != 0 && m->keys[slot(m, key)] != NULL;
}

void *
strata_strmap_put(strata_strmap *m, const char *key, void *val)
{
    size_t i;
    void *old;

    if ((m->len + 1) * 4 > m->cap * 3)
        grow(m);
    i = slot(m, key);
    if (m->keys[i] == NULL) {
        m->keys[i] = strata_xstrdup(key);
        m->vals[i] = val;
        m->len++;
        return NULL;
    }
    old = m->vals[i];
    m->vals[i] = val;
    return old;
}

const char *
strata_strmap_key(const strata_strmap *m, const char *key)
{
    size_t i;

    if (m->cap == 0)
        return NULL;
    i = slot(m, key);
    return m->keys[i];
}

size_t
strata_strmap_len(const strata_strmap *m)
{
    return m->len;
}

int
strata_strmap_next(const strata_strmap *m, size_t *iter, const char **key,
                   void **val)
{
    while (*iter < m->cap) {
        size_t i = (*iter)++;
        if (m->keys[i] != NULL) {
            *key = m->keys[i];
            if (val != NULL)
                *val = m->vals[i];
            return 1;
        }
    }
    return 0;
}
