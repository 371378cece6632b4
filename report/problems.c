/*
 * problems.c - the list of catalog problems. Items share the
 * configuration's problem type, so `strata catalog check` prints them
 * exactly as `strata config check` does ("FILE:LINE:COL: message"); they
 * are kept in file order (line, column, then insertion order).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report-int.h"

typedef struct problem {
    char *file;
    char *message;
    char *text;
    int line, col;
    size_t seq;
} problem;

struct strata_report_problems {
    problem *items;
    strata_config_problem *pub; /* rebuilt after each append */
    size_t count, cap;
};

strata_report_problems *
strata_report_problems_new(void)
{
    return strata_xcalloc(1, sizeof(strata_report_problems));
}

void
strata_report_problems_free(strata_report_problems *problems)
{
    size_t i;

    if (problems == NULL)
        return;
    for (i = 0; i < problems->count; i++) {
        free(problems->items[i].file);
        free(problems->items[i].message);
        free(problems->items[i].text);
    }
    free(problems->items);
    free(problems->pub);
    free(problems);
}

size_t
strata_report_problems_count(const strata_report_problems *problems)
{
    return problems != NULL ? problems->count : 0;
}

const strata_config_problem *
strata_report_problems_get(const strata_report_problems *problems, size_t i)
{
    if (problems == NULL || i >= problems->count)
        return NULL;
    return &problems->pub[i];
}

static int
before(const problem *a, const problem *b)
{
    if (a->line != b->line)
        return a->line < b->line;
    if (a->col != b->col)
        return a->col < b->col;
    return a->seq < b->seq;
}

void
strata_report__problem(strata_report_problems *problems, const char *file,
                       int line, int col, const char *fmt, ...)
{
    problem p;
    va_list ap;
    size_t i;

    if (problems == NULL)
        return;
    va_start(ap, fmt);
    p.message = strata_xvasprintf(fmt, ap);
    va_end(ap);
    p.file = strata_xstrdup(file);
    p.line = line;
    p.col = col;
    p.seq = problems->count;
    if (line > 0)
        p.text = strata_xasprintf("%s:%d:%d: %s", file, line, col, p.message);
    else
        p.text = strata_xasprintf("%s: %s", file, p.message);
    if (problems->count == problems->cap) {
        problems->cap = problems->cap ? problems->cap * 2 : 8;
        problems->items = strata_xrealloc(
            problems->items, problems->cap * sizeof(*problems->items));
        problems->pub = strata_xrealloc(problems->pub,
                                        problems->cap * sizeof(*problems->pub));
    }
    /* Insertion keeps the list sorted; lists are short. */
    i = problems->count;
    while (i > 0 && before(&p, &problems->items[i - 1])) {
        problems->items[i] = problems->items[i - 1];
        i--;
    }
    problems->items[i] = p;
    problems->count++;
    for (i = 0; i < problems->count; i++) {
        problem *q = &problems->items[i];
        problems->pub[i].file = q->file;
        problems->pub[i].line = q->line;
        problems->pub[i].col = q->col;
        problems->pub[i].message = q->message;
        problems->pub[i].text = q->text;
    }
}
