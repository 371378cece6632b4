/*
 * fuzz-pin.h - what the pin format targets share: every input pins or
 * fails cleanly (STRATA_EINVAL, a message naming the file), a result has
 * its data, its changes carry the digest asked for, links stay in the
 * repository, and pinning the result again changes nothing (the rewrite
 * reads back as pinned; not asked of user-defined expressions).
 */
#ifndef STRATA_FUZZ_PIN_H
#define STRATA_FUZZ_PIN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "invariant broken: %s (line %d)\n", #cond,         \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define FUZZ_DIGEST                                                            \
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static const char *
fuzz_lookup(const strata_pin_query *q, void *arg)
{
    (void) arg;
    check(q->ref != NULL && q->name != NULL);
    return FUZZ_DIGEST;
}

/* A link stays inside the repository: relative, no ".." component. */
static int
fuzz_inside(const char *path)
{
    const char *p = path;

    if (*path == '\0' || *path == '/')
        return 0;
    while (p != NULL) {
        if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
            return 0;
        p = strchr(p, '/');
        if (p != NULL)
            p++;
    }
    return 1;
}

/* Pins data as kind under name, twice; returns 0. */
static int
fuzz_pin(const uint8_t *data, size_t size, strata_pin_kind kind,
         const char *name, const strata_pin_matchers *matchers)
{
    strata_pin_opts o = {0};
    strata_pin_result r, again;
    strata_error err = {0};
    size_t i;
    int rc;

    o.lookup = fuzz_lookup;
    o.matchers = matchers;
    rc = strata_pin_any(&r, (const char *) data, size, kind, name, &o, &err);
    if (rc != 0) {
        check(rc == STRATA_EINVAL);
        check(strncmp(err.msg, name, strlen(name)) == 0 ||
              strstr(err.msg, name) != NULL);
        check(r.data == NULL && r.nchanges == 0);
        return 0;
    }
    check(r.data != NULL);
    check(r.len >= size || r.nchanges > 0);
    for (i = 0; i < r.nchanges; i++) {
        check(strcmp(r.changes[i].new_digest, FUZZ_DIGEST) == 0);
        check(r.changes[i].line >= 1);
        check(strstr(r.changes[i].new_text, FUZZ_DIGEST) != NULL);
    }
    for (i = 0; i < r.nproblems; i++)
        check(strncmp(r.problems[i], name, strlen(name)) == 0);
    for (i = 0; i < r.nlinks; i++)
        check(fuzz_inside(r.links[i].path));
    /* A user's expression may match its own pins anew: not for them. */
    if (r.nchanges > 0 && matchers == NULL) {
        /* What was pinned reads back as pinned. */
        check(strata_pin_any(&again, r.data, r.len, kind, name, &o, &err) == 0);
        if (again.nchanges != 0) {
            fprintf(stderr, "pinned again:\n%.*s\n", (int) r.len, r.data);
            check(again.nchanges == 0);
        }
        strata_pin_result_release(&again);
    }
    strata_pin_result_release(&r);
    return 0;
}

#endif
