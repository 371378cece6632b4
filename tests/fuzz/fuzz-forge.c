/*
 * fuzz-forge.c - libFuzzer target for the forge reply parsing, without
 * any network: the body of a GitHub, GitLab or Gitea answer is decoded as
 * forge.c decodes it and handed to the backend's pick (a FIND listing),
 * parse (a request object), exists (the "already exists" answer) and
 * message (error text) functions from builders-int.h. The first byte picks
 * the backend and the status. Invariants: a parsed request has a positive
 * number and a state; a picked one is for the head asked about; messages
 * stay inside their buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "forge-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "invariant broken: %s (line %d)\n", #cond,         \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define HEAD "strata/update-base"

static void
check_pr(const strata_forge_pr *pr)
{
    check(pr->number > 0 && pr->state != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const strata_forge_backend *const backends[] = {
        &strata_forge__github,
        &strata_forge__gitlab,
        &strata_forge__gitea,
    };
    static const long statuses[] = {200, 201, 409, 422};
    const strata_forge_backend *be;
    strata_forge_req req = {0};
    strata_forge__opview view = {0};
    strata_forge_pr pr;
    char msg[64];
    json_t *reply;
    int more = -1, rc;

    if (size < 1)
        return 0;
    be = backends[data[0] % 3];
    reply =
        json_loadb((const char *) data + 1, size - 1, JSON_DECODE_ANY, NULL);
    if (reply == NULL)
        return 0;
    req.verb = STRATA_FORGE_FIND;
    req.repo = "owner/repo";
    req.head = HEAD;
    req.base = "main";
    view.req = &req;
    view.page = 1;

    memset(&pr, 0, sizeof(pr));
    rc = be->pick(&pr, &more, reply, &view);
    check(rc >= -1 && rc <= 1 && (more == 0 || more == 1));
    if (rc == 1) {
        check_pr(&pr);
        check(pr.head == NULL || strcmp(pr.head, HEAD) == 0);
        check(more == 0);
    }
    strata_forge__pr_release(&pr);

    memset(&pr, 0, sizeof(pr));
    if (be->parse(&pr, reply) == 0)
        check_pr(&pr);
    strata_forge__pr_release(&pr);

    (void) be->exists(statuses[(data[0] >> 2) % 4], reply);
    memset(msg, 'x', sizeof(msg));
    be->message(msg, sizeof(msg), reply);
    check(memchr(msg, '\0', sizeof(msg)) != NULL);
    json_decref(reply);
    return 0;
}
