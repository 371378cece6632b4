/*
 * problems.c - the list of configuration problems ("FILE:LINE:COL:
 * message"), kept in file order for `strata config check`, and the edit
 * distance behind "did you mean 'x'?" suggestions.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config-int.h"

typedef struct problem {
    strata_config_problem pub;
    char *file;
    char *message;
    char *text;
    size_t seq; /* insertion order, for a stable sort */
} problem;

struct strata_config_problems {
    problem *items;
    size_t count;
    size_t cap;
};

strata_config_problems *
strata_config_problems_new(void)
{
    return strata_xcalloc(1, sizeof(strata_config_problems));
}

static void
problems_clear(strata_config_problems *problems)
{
    size_t i;

    if (problems == NULL)
        return;
    for (i = 0; i < problems->count; i++) {
        free(problems->items[i].file);
        free(problems->items[i].message);
        free(problems->items[i].text);
    }
    problems->count = 0;
}

void
strata_config_problems_free(strata_config_problems *problems)
{
    if (problems == NULL)
        return;
    problems_clear(problems);
    free(problems->items);
    free(problems);
}

size_t
strata_config_problems_count(const strata_config_problems *problems)
{
    return problems != NULL ? problems->count : 0;
}

const strata_config_problem *
strata_config_problems_get(const strata_config_problems *problems, size_t i)
{
    if (problems == NULL || i >= problems->count)
        return NULL;
    return &problems->items[i].pub;
}

/* Re-points the public view at the strings after the array moved. */
static void
fix_pub(problem *p)
{
    p->pub.file = p->file;
    p->pub.message = p->message;
    p->pub.text = p->text;
}

void
strata_config__problem(strata_config_problems *problems, const char *file,
                       int line, int col, const char *fmt, ...)
{
    problem *p;
    va_list ap;

    if (problems == NULL) /* the caller wanted only the count */
        return;
    if (problems->count == problems->cap) {
        problems->cap = problems->cap ? problems->cap * 2 : 16;
        problems->items = strata_xrealloc(
            problems->items, problems->cap * sizeof(*problems->items));
    }
    p = &problems->items[problems->count];
    memset(p, 0, sizeof(*p));
    va_start(ap, fmt);
    p->message = strata_xvasprintf(fmt, ap);
    va_end(ap);
    p->file = strata_xstrdup(file);
    p->pub.line = line;
    p->pub.col = col;
    if (line > 0)
        p->text = strata_xasprintf("%s:%d:%d: %s", file, line, col, p->message);
    else
        p->text = strata_xasprintf("%s: %s", file, p->message);
    p->seq = problems->count;
    fix_pub(p);
    problems->count++;
}

static int
cmp_problem(const void *va, const void *vb)
{
    const problem *a = va, *b = vb;

    if (a->pub.line != b->pub.line)
        return a->pub.line < b->pub.line ? -1 : 1;
    if (a->pub.col != b->pub.col)
        return a->pub.col < b->pub.col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void
strata_config__problems_sort(strata_config_problems *problems)
{
    strata_config__problems_sort_from(problems, 0);
}

void
strata_config__problems_sort_from(strata_config_problems *problems,
                                  size_t start)
{
    size_t i;

    if (problems == NULL || problems->count <= start)
        return;
    qsort(problems->items + start, problems->count - start,
          sizeof(*problems->items), cmp_problem);
    for (i = start; i < problems->count; i++) {
        problems->items[i].seq = i;
        fix_pub(&problems->items[i]);
    }
}

size_t
strata_config__distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t row[101];

    /* Keys are short; anything long is far from every key anyway. */
    if (la > 100 || lb > 100)
        return 100;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);

            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] > 100 ? 100 : row[lb];
}

const char *
strata_config__suggest(const char *word, const char *const *candidates,
                       size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t) -1, i;

    for (i = 0; i < n; i++) {
        size_t d = strata_config__distance(word, candidates[i]);

        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    /* Close enough: a typo or two, or a third of the word at most. */
    if (best != NULL && (best_d <= 2 || best_d * 3 <= strlen(word)) &&
        best_d < strlen(best))
        return best;
    return NULL;
}
