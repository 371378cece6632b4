/*
 * test-pin.c - digest pinning in place: every byte but the pins stays
 * (CRLF, comments, continuations), ARG defaults are pinned at the ARG,
 * existing digests are replaced, a registry port is not a tag, and
 * references built from variables are reported, not rewritten. Then the
 * BuildKit corners: mounts, quotes (FROM, ARG defaults, quoted mounts),
 * escape=` and continuations inside a reference, CRLF, digest-only
 * references, and platform pins (index by default, a named platform's
 * manifest only when asked).
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pin.h"

#define D1                                                                     \
    "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3                                                                     \
    "sha256:3333333333333333333333333333333333333333333333333333333333333333"

/* What lookup() was asked, for the platform tests. */
typedef struct asked {
    char log[1024];
    int n;
} asked;

/* debian:12-slim is a multi-arch tag: index D1, its arm64 manifest D3. */
static const char *
lookup(const strata_pin_query *q, void *arg)
{
    asked *a = arg;

    if (a != NULL) {
        size_t used = strlen(a->log);

        snprintf(a->log + used, sizeof(a->log) - used, "%s|%s|%s|%u;", q->ref,
                 q->platform ? q->platform : "-", q->pinned ? "pinned" : "-",
                 q->line);
        a->n++;
    }
    if (strcmp(q->ref, "docker.io/library/debian:12-slim") == 0)
        return q->platform && strcmp(q->platform, "linux/arm64") == 0 ? D3 : D1;
    if (strcmp(q->ref, "docker.io/library/golang:1.22") == 0)
        return D2;
    if (strcmp(q->ref, "localhost:5000/platform/runtime:latest") == 0)
        return D2;
    return NULL;
}

static void
pin_opts(strata_pin_result *res, const char *text, int platform_pins, asked *a)
{
    strata_dockerfile *df = NULL;
    strata_error err = {0};
    strata_pin_opts o = {0};

    o.lookup = lookup;
    o.arg = a;
    o.platform_pins = platform_pins;
    CHECK_OK(strata_dockerfile_parse(&df, text, strlen(text), "Dockerfile",
                                     NULL, &err),
             &err);
    CHECK_OK(strata_pin_dockerfile_opts(res, text, strlen(text), df,
                                        "Dockerfile", &o, &err),
             &err);
    strata_dockerfile_free(df);
}

/* Pins text and compares the whole result byte for byte. */
static void
expect(const char *text, const char *want, size_t nchanges, size_t nproblems)
{
    strata_pin_result r;

    pin_opts(&r, text, 0, NULL);
    CHECK_STR_EQ(r.data, want);
    CHECK_EQ(r.len, strlen(want));
    CHECK_EQ(r.nchanges, nchanges);
    CHECK_EQ(r.nproblems, nproblems);
    strata_pin_result_release(&r);
}

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

TEST(mounts_and_copy_from)
{
    expect("FROM debian:12-slim\n"
           "RUN --mount=type=cache,target=/c \\\n"
           "    --mount=type=bind,from=golang:1.22,source=/go,target=/go "
           "true\n"
           "COPY --from=golang:1.22@" D1 " /x /x\n"
           "COPY --chown=1 --from=localhost:5000/platform/runtime /y /y\n",
           "FROM debian:12-slim@" D1 "\n"
           "RUN --mount=type=cache,target=/c \\\n"
           "    --mount=type=bind,from=golang:1.22@" D2
           ",source=/go,target=/go true\n"
           "COPY --from=golang:1.22@" D2 " /x /x\n"
           "COPY --chown=1 --from=localhost:5000/platform/runtime:latest@" D2
           " /y /y\n",
           4, 0);
}

TEST(stale_digest_is_replaced_and_recorded)
{
    strata_pin_result r;
    asked a = {{0}, 0};

    pin_opts(&r, "FROM debian:12-slim@" D2 " AS a\nFROM golang:1.22\n", 0, &a);
    CHECK_STR_EQ(r.data,
                 "FROM debian:12-slim@" D1 " AS a\nFROM golang:1.22@" D2 "\n");
    CHECK_EQ(r.nchanges, 2);
    CHECK_EQ(r.nrefs, 2);
    CHECK_STR_EQ(r.changes[0].old_digest, D2);
    CHECK_STR_EQ(r.changes[0].new_digest, D1);
    CHECK_STR_EQ(r.changes[0].old_text, "debian:12-slim@" D2);
    CHECK_STR_EQ(r.changes[0].new_text, "debian:12-slim@" D1);
    CHECK(r.changes[1].old_digest == NULL);
    CHECK_STR_EQ(a.log, "docker.io/library/debian:12-slim|-|pinned|1;"
                        "docker.io/library/golang:1.22|-|-|2;");
    strata_pin_result_release(&r);
}

TEST(quotes_stay_around_the_pin)
{
    expect("ARG A=\"debian:12-slim\"\n"
           "ARG B='golang:1.22' C=x\n"
           "FROM $A\nFROM ${B}\n"
           "FROM \"localhost:5000/platform/runtime:latest\"\n",
           "ARG A=\"debian:12-slim@" D1 "\"\n"
           "ARG B='golang:1.22@" D2 "' C=x\n"
           "FROM $A\nFROM ${B}\n"
           "FROM \"localhost:5000/platform/runtime:latest@" D2 "\"\n",
           3, 0);
}

TEST(odd_quoting_is_reported_not_rewritten)
{
    const char *text =
        "ARG A=deb\"ian:12-slim\"\n"
        "FROM $A\n"
        "FROM \"debian\":12-slim\n"
        "RUN --mount=\"type=bind,from=golang:1.22,target=/g\" true\n";
    strata_pin_result r;

    pin_opts(&r, text, 0, NULL);
    CHECK_STR_EQ(r.data, text);
    CHECK_EQ(r.nchanges, 0);
    CHECK_EQ(r.nproblems, 3);
    CHECK_CONTAINS(r.problems[0], "Dockerfile:1: reference 'debian:12-slim' "
                                  "is quoted or escaped");
    CHECK_CONTAINS(r.problems[1], "Dockerfile:3:");
    CHECK_CONTAINS(r.problems[2], "Dockerfile:4:");
    strata_pin_result_release(&r);
}

TEST(continuations_inside_a_reference)
{
    /* Backslash and CRLF, a comment line inside the continuation. */
    expect("FROM debian:\\\r\n"
           "# between\r\n"
           "12-slim AS a\r\n"
           "FROM golang:1.22@sha256:\\\r\n"
           "2222222222222222222222222222222222222222222222222222222222222222"
           "\r\n",
           "FROM debian:\\\r\n"
           "# between\r\n"
           "12-slim@" D1 " AS a\r\n"
           "FROM golang:1.22@sha256:\\\r\n"
           "2222222222222222222222222222222222222222222222222222222222222222"
           "\r\n",
           1, 0);
    /* A stale digest split over lines is replaced whole, from its '@'. */
    expect("FROM debian:12-slim@sha256:\\\n"
           "2222222222222222222222222222222222222222222222222222222222222222\n",
           "FROM debian:12-slim@" D1 "\n", 1, 0);
}

TEST(backtick_escape)
{
    expect("# escape=`\r\n"
           "FROM debian:`\r\n"
           "12-slim AS a\r\n"
           "RUN dir c:\\ `\r\n"
           "  && echo\r\n"
           "COPY --from=golang:1.22 C:\\go C:\\go\r\n",
           "# escape=`\r\n"
           "FROM debian:`\r\n"
           "12-slim@" D1 " AS a\r\n"
           "RUN dir c:\\ `\r\n"
           "  && echo\r\n"
           "COPY --from=golang:1.22@" D2 " C:\\go C:\\go\r\n",
           2, 0);
}

TEST(digest_only_references_are_left_alone)
{
    strata_pin_result r;
    asked a = {{0}, 0};
    const char *text = "FROM debian@" D2 "\nCOPY --from=golang@" D2 " / /\n";

    pin_opts(&r, text, 0, &a);
    CHECK_STR_EQ(r.data, text);
    CHECK_EQ(r.nchanges + r.nproblems + r.nrefs, 0);
    CHECK_EQ(a.n, 0);
    strata_pin_result_release(&r);
}

TEST(multi_arch_pins_the_index_unless_asked)
{
    const char *text = "FROM --platform=linux/arm64 debian:12-slim AS a\n"
                       "FROM --platform=$BUILDPLATFORM debian:12-slim AS b\n"
                       "FROM debian:12-slim\n";
    strata_pin_result r;
    asked a = {{0}, 0};

    pin_opts(&r, text, 0, &a);
    CHECK_STR_EQ(r.data,
                 "FROM --platform=linux/arm64 debian:12-slim@" D1 " AS a\n"
                 "FROM --platform=$BUILDPLATFORM debian:12-slim@" D1 " AS b\n"
                 "FROM debian:12-slim@" D1 "\n");
    CHECK_STR_EQ(a.log, "docker.io/library/debian:12-slim|-|-|1;"
                        "docker.io/library/debian:12-slim|-|-|2;"
                        "docker.io/library/debian:12-slim|-|-|3;");
    strata_pin_result_release(&r);

    memset(&a, 0, sizeof(a));
    pin_opts(&r, text, 1, &a);
    CHECK_STR_EQ(r.data,
                 "FROM --platform=linux/arm64 debian:12-slim@" D3 " AS a\n"
                 "FROM --platform=$BUILDPLATFORM debian:12-slim@" D1 " AS b\n"
                 "FROM debian:12-slim@" D1 "\n");
    CHECK_STR_EQ(r.changes[0].platform, "linux/arm64");
    CHECK(r.changes[1].platform == NULL);
    CHECK_STR_EQ(a.log, "docker.io/library/debian:12-slim|linux/arm64|-|1;"
                        "docker.io/library/debian:12-slim|-|-|2;"
                        "docker.io/library/debian:12-slim|-|-|3;");
    strata_pin_result_release(&r);
}

TEST(one_arg_two_platforms_is_a_problem)
{
    const char *text = "ARG B=debian:12-slim\n"
                       "FROM --platform=linux/arm64 $B AS a\n"
                       "FROM $B\n";
    strata_pin_result r;

    pin_opts(&r, text, 1, NULL);
    CHECK_STR_EQ(r.data, "ARG B=debian:12-slim@" D3 "\n"
                         "FROM --platform=linux/arm64 $B AS a\n"
                         "FROM $B\n");
    CHECK_EQ(r.nproblems, 1);
    CHECK_CONTAINS(r.problems[0], "Dockerfile:1: 'debian:12-slim' is used "
                                  "with different pins");
    strata_pin_result_release(&r);
}

int
main(void)
{
    RUN(literal_refs_keep_every_other_byte);
    RUN(arg_defaults_pinned_at_the_arg_once);
    RUN(already_pinned_and_unknown_are_left_alone);
    RUN(variables_are_reported);
    RUN(mounts_and_copy_from);
    RUN(stale_digest_is_replaced_and_recorded);
    RUN(quotes_stay_around_the_pin);
    RUN(odd_quoting_is_reported_not_rewritten);
    RUN(continuations_inside_a_reference);
    RUN(backtick_escape);
    RUN(digest_only_references_are_left_alone);
    RUN(multi_arch_pins_the_index_unless_asked);
    RUN(one_arg_two_platforms_is_a_problem);
    return harness_done();
}
