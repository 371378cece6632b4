/*
 * test-pin.c - digest pinning in place: every byte but the pins stays
 * (CRLF, comments, continuations), ARG defaults are pinned at the ARG,
 * existing digests are replaced, a registry port is not a tag, and
 * references built from variables are reported, not rewritten.
 */
#include <stdlib.h>
#include <string.h>

#include "builders.h"
#include "harness.h"

#define D1                                                                     \
    "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static const char *
resolve(const char *ref, const strata_df_ref *where, void *arg)
{
    (void) where;
    (void) arg;
    if (strcmp(ref, "docker.io/library/debian:12-slim") == 0)
        return D1;
    if (strcmp(ref, "localhost:5000/platform/runtime:latest") == 0)
        return D2;
    if (strcmp(ref, "docker.io/library/golang:1.22") == 0)
        return D2;
    return NULL;
}

static void
pin(strata_pin_result *res, const char *text)
{
    strata_dockerfile *df = NULL;
    strata_error err = {0};

    CHECK_OK(strata_dockerfile_parse(&df, text, strlen(text), "Dockerfile",
                                     NULL, &err),
             &err);
    CHECK_OK(strata_pin_dockerfile(res, text, strlen(text), df, "Dockerfile",
                                   resolve, NULL, &err),
             &err);
    strata_dockerfile_free(df);
}

TEST(literal_refs_keep_every_other_byte)
{
    strata_pin_result r;

    pin(&r, "# syntax=docker/dockerfile:1\r\n"
            "FROM  debian:12-slim  AS base   # the base\r\n"
            "RUN echo hi \\\r\n"
            "    && true\r\n"
            "FROM localhost:5000/platform/runtime\r\n"
            "COPY --from=base /etc/os-release /x\r\n");
    CHECK_EQ(r.nchanges, 2);
    CHECK_STR_EQ(r.data,
                 "# syntax=docker/dockerfile:1\r\n"
                 "FROM  debian:12-slim@" D1 "  AS base   # the base\r\n"
                 "RUN echo hi \\\r\n"
                 "    && true\r\n"
                 "FROM localhost:5000/platform/runtime:latest@" D2 "\r\n"
                 "COPY --from=base /etc/os-release /x\r\n");
    CHECK_EQ(r.changes[0].line, 2);
    CHECK_STR_EQ(r.changes[0].old_text, "debian:12-slim");
    CHECK_STR_EQ(r.changes[1].ref, "localhost:5000/platform/runtime:latest");
    strata_pin_result_release(&r);
}

TEST(arg_defaults_pinned_at_the_arg_once)
{
    strata_pin_result r;

    pin(&r, "ARG BASE=debian:12-slim\n"
            "FROM $BASE AS a\n"
            "FROM ${BASE}\n"
            "COPY --from=golang:1.22@" D1 " /go /go\n");
    CHECK_EQ(r.nchanges, 2);
    CHECK_STR_EQ(r.data, "ARG BASE=debian:12-slim@" D1 "\n"
                         "FROM $BASE AS a\n"
                         "FROM ${BASE}\n"
                         "COPY --from=golang:1.22@" D2 " /go /go\n");
    strata_pin_result_release(&r);
}

TEST(already_pinned_and_unknown_are_left_alone)
{
    strata_pin_result r;
    const char *text = "FROM debian:12-slim@" D1 "\nFROM alpine:3\n";

    pin(&r, text);
    CHECK_EQ(r.nchanges, 0);
    CHECK_STR_EQ(r.data, text);
    CHECK_EQ(r.nproblems, 0);
    strata_pin_result_release(&r);
}

TEST(variables_are_reported)
{
    strata_pin_result r;
    const char *text = "ARG V=12-slim\nFROM debian:${V}\n";

    pin(&r, text);
    CHECK_EQ(r.nchanges, 0);
    CHECK_EQ(r.nproblems, 1);
    CHECK_CONTAINS(r.problems[0], "Dockerfile:2: reference is built from");
    CHECK_STR_EQ(r.data, text);
    strata_pin_result_release(&r);
}

int
main(void)
{
    RUN(literal_refs_keep_every_other_byte);
    RUN(arg_defaults_pinned_at_the_arg_once);
    RUN(already_pinned_and_unknown_are_left_alone);
    RUN(variables_are_reported);
    return harness_done();
}
