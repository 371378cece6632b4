/*
 * fuzz-catalog.c - libFuzzer target for the golden base-image catalog
 * loader (strata_catalog_load_string). Any YAML either loads with
 * no problems, or fails with STRATA_EINVAL and at least one problem, each
 * "fuzz.yaml:LINE:COL: message" (or "fuzz.yaml: ..."). A catalog that
 * loads is then questioned: every entry and team is complete, every tag
 * entry is found again by its own reference, and lookups, team and class
 * queries on strings from the input never fail.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "invariant broken: %s (line %d)\n", #cond,         \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

static void
check_catalog(const strata_catalog *cat)
{
    size_t i, j, n = strata_catalog_count(cat);

    for (i = 0; i < n; i++) {
        const strata_catalog_entry *e = strata_catalog_get(cat, i);
        const strata_catalog_entry *found;

        check(e != NULL && e->ref != NULL && e->name != NULL);
        check(e->line >= 1 && e->col >= 1);
        check(e->n_owners == 0 || e->owners != NULL);
        for (j = 0; j < e->n_owners; j++)
            check(e->owners[j] != NULL && e->owners[j][0] != '\0');
        if (e->lifecycle == STRATA_CATALOG_DEPRECATED)
            check(e->sunset != NULL && e->replacement != NULL);
        else
            check(e->sunset == NULL && e->replacement == NULL);
        check(strcmp(strata_catalog_classify(e), "non-golden") != 0);
        (void) strata_catalog_team_of(cat, e->ref);
        if (e->semver == NULL) {
            /* A tag entry covers its own reference. */
            found = strata_catalog_lookup(cat, e->ref);
            check(found != NULL && strcmp(found->ref, e->ref) == 0);
        }
        if (e->replacement != NULL)
            check(strata_catalog_lookup(cat, e->replacement) != NULL);
    }
    check(strata_catalog_get(cat, n) == NULL);
    for (i = 0; i < strata_catalog_team_count(cat); i++) {
        const strata_catalog_team *t = strata_catalog_team_get(cat, i);

        check(t != NULL && t->name != NULL && t->n_images > 0);
        for (j = 0; j < t->n_images; j++)
            (void) strata_catalog_team_of(cat, t->images[j]);
    }
    (void) strata_catalog_lookup(cat, "alpine:3.19");
    (void) strata_catalog_lookup(cat, "docker.io/library/python:3.12");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strata_config_problems *problems;
    strata_catalog *cat = NULL;
    strata_error err = {0};
    size_t i, n;
    int rc;

    problems = strata_config_problems_new();
    rc =
        strata_catalog_load_string(&cat, (const char *) data, size, "fuzz.yaml",
                                   "/nonexistent-fuzz-dir", problems, &err);
    n = strata_config_problems_count(problems);
    if (rc == 0) {
        check(cat != NULL && n == 0);
        check_catalog(cat);
    } else {
        check(rc == STRATA_EINVAL && cat == NULL && n > 0);
        check(strncmp(err.msg, "catalog 'fuzz.yaml'", 19) == 0);
    }
    for (i = 0; i < n; i++) {
        const strata_config_problem *p =
            strata_config_problems_get(problems, i);
        int line = 0, col = 0;

        check(strncmp(p->text, "fuzz.yaml:", 10) == 0);
        if (p->line > 0)
            check(sscanf(p->text, "fuzz.yaml:%d:%d: ", &line, &col) == 2 &&
                  line == p->line && col == p->col && col >= 1);
    }
    strata_config_problems_free(problems);
    strata_catalog_free(cat);
    return 0;
}
