/*
 * test-dockerfile.c - unit tests for the Dockerfile parser (graph/
 * dockerfile*.c) and `strata dockerfile refs`: directives, continuations,
 * CRLF and BOM, heredocs, ARG scoping and expansion, build-arg overrides,
 * platform ARGs, COPY --from and RUN --mount from=, exact byte spans and
 * origins, the stage chain, whole-file errors and the CLI's output.
 * Fixtures are in tests/dockerfile/.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dockerfile.h"
#include "harness.h"

#ifndef STRATA_DF_FIXTURES
#error "STRATA_DF_FIXTURES must name tests/dockerfile"
#endif

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static strata_dockerfile *
parse_opts(const char *s, const strata_df_options *o)
{
    strata_dockerfile *df = NULL;
    strata_error err = {0};

    CHECK_OK(strata_dockerfile_parse(&df, s, strlen(s), "Dockerfile", o, &err),
             &err);
    CHECK(df != NULL);
    return df;
}

static strata_dockerfile *
parse(const char *s)
{
    return parse_opts(s, NULL);
}

static char *
slurp(const char *name)
{
    char path[512], *data = NULL;
    strata_error err = {0};

    snprintf(path, sizeof(path), "%s/%s", STRATA_DF_FIXTURES, name);
    CHECK_OK(strata_read_file(&data, NULL, path, 0, &err), &err);
    return data;
}

static strata_dockerfile *
parse_fixture(const char *name, const strata_df_options *o)
{
    char path[512];
    strata_dockerfile *df = NULL;
    strata_error err = {0};

    snprintf(path, sizeof(path), "%s/%s", STRATA_DF_FIXTURES, name);
    CHECK_OK(strata_dockerfile_parse_file(&df, path, o, &err), &err);
    return df;
}

/* The canonical string of reference i, or "-" when it has none. */
static const char *
refstr(const strata_dockerfile *df, size_t i)
{
    const strata_df_ref *r = strata_dockerfile_ref(df, i);

    CHECK(r != NULL);
    return r->ref ? strata_ref_string(r->ref) : "-";
}

/* The offset of needle in hay (which must contain it). */
static size_t
off(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);

    CHECK(p != NULL);
    return (size_t) (p - hay);
}

#define CHECK_SPAN(sp, o, l, ln, col)                                          \
    do {                                                                       \
        CHECK_EQ((sp).offset, (o));                                            \
        CHECK_EQ((sp).length, (l));                                            \
        CHECK_EQ((sp).line, (ln));                                             \
        CHECK_EQ((sp).column, (col));                                          \
    } while (0)

#define REF(df, i) strata_dockerfile_ref((df), (i))

TEST(from_literal_span)
{
    strata_dockerfile *df = parse("FROM alpine:3.19\n");
    const strata_df_ref *r;

    CHECK_EQ(strata_dockerfile_ref_count(df), 1);
    r = REF(df, 0);
    CHECK_EQ(r->kind, STRATA_DF_FROM);
    CHECK_EQ(r->line, 1);
    CHECK_SPAN(r->span, 5, 11, 1, 6);
    CHECK_STR_EQ(r->raw, "alpine:3.19");
    CHECK_STR_EQ(r->text, "alpine:3.19");
    CHECK_EQ(r->origin, STRATA_DF_ORIGIN_LITERAL);
    CHECK_EQ(r->external, 1);
    CHECK_EQ(r->stage, 0);
    CHECK_EQ(r->target_stage, -1);
    CHECK(r->error == NULL);
    CHECK_STR_EQ(refstr(df, 0), "docker.io/library/alpine:3.19");
    CHECK_EQ(strata_dockerfile_stage_count(df), 1);
    CHECK(strata_dockerfile_stage(df, 0)->name == NULL);
    CHECK_EQ(strata_dockerfile_diag_count(df), 0);
    CHECK_EQ(strata_dockerfile_escape(df), '\\');
    CHECK(strata_dockerfile_syntax(df) == NULL);
    strata_dockerfile_free(df);
    strata_dockerfile_free(NULL);
}

TEST(from_flags_and_stage_names)
{
    const char *s = "FROM  --platform=linux/arm64 --foo=bar Alpine/X "
                    "As Base\n"
                    "from alpine AS Two\n"
                    "FrOm BASE AS three\n"
                    "FROM scratch\n"
                    "FROM two\n";
    strata_dockerfile *df = parse(s);
    const strata_df_stage *st;

    CHECK_EQ(strata_dockerfile_stage_count(df), 5);
    st = strata_dockerfile_stage(df, 0);
    CHECK_STR_EQ(st->name, "base");
    CHECK_STR_EQ(st->platform_raw, "linux/arm64");
    CHECK_STR_EQ(st->platform, "linux/arm64");
    /* "Alpine/X" is no valid repository: a diagnostic, not a crash. */
    CHECK_EQ(REF(df, 0)->external, 0);
    CHECK(REF(df, 0)->error != NULL);
    CHECK_SPAN(REF(df, 0)->span, off(s, "Alpine/X"), 8, 1, 40);
    CHECK_STR_EQ(strata_dockerfile_stage(df, 1)->name, "two");
    /* A FROM naming an earlier stage (any case) is not external. */
    st = strata_dockerfile_stage(df, 2);
    CHECK_STR_EQ(st->name, "three");
    CHECK_EQ(st->base_stage, 0);
    CHECK_EQ(REF(df, 2)->external, 0);
    CHECK_EQ(REF(df, 2)->target_stage, 0);
    CHECK(REF(df, 2)->ref == NULL);
    CHECK_EQ(strata_dockerfile_stage(df, 3)->scratch, 1);
    CHECK_EQ(REF(df, 3)->external, 0);
    CHECK_EQ(strata_dockerfile_stage(df, 4)->base_stage, 1);
    CHECK_EQ(strata_dockerfile_diag_count(df), 1);
    CHECK_EQ(strata_dockerfile_diag(df, 0)->line, 1);
    CHECK_EQ(strata_dockerfile_target(df, NULL), 4);
    CHECK_EQ(strata_dockerfile_target(df, "THREE"), 2);
    CHECK_EQ(strata_dockerfile_target(df, "nope"), -1);
    strata_dockerfile_free(df);

    /* A stage cannot name a later stage in FROM: that is an image. */
    df = parse("FROM later\nFROM alpine AS later\n");
    CHECK_EQ(REF(df, 0)->external, 1);
    CHECK_STR_EQ(refstr(df, 0), "docker.io/library/later:latest");
    strata_dockerfile_free(df);

    df = parse("FROM a AS 1bad\nFROM b AS x\nFROM c AS X\nFROM d AS\n");
    CHECK_EQ(strata_dockerfile_diag_count(df), 3);
    CHECK_CONTAINS(strata_dockerfile_diag(df, 0)->text,
                   "Dockerfile:1: invalid name for build stage '1bad'");
    CHECK_CONTAINS(strata_dockerfile_diag(df, 1)->text,
                   "Dockerfile:3: duplicate stage name 'x'");
    CHECK_CONTAINS(strata_dockerfile_diag(df, 2)->text,
                   "Dockerfile:4: FROM requires either one or three");
    strata_dockerfile_free(df);
}

TEST(fixture_basic)
{
    char *s = slurp("basic.Dockerfile");
    strata_dockerfile *df = parse_fixture("basic.Dockerfile", NULL);
    static const struct {
        strata_df_ref_kind kind;
        unsigned line, span_line;
        int stage, target, external;
        const char *ref;
        strata_df_origin origin;
    } want[] = {
        {STRATA_DF_FROM, 7, 7, 0, -1, 1, "docker.io/library/golang:1.22",
         STRATA_DF_ORIGIN_LITERAL},
        {STRATA_DF_MOUNT_FROM, 9, 10, 0, -1, 1, "docker.io/library/alpine:3.19",
         STRATA_DF_ORIGIN_LITERAL},
        {STRATA_DF_FROM, 13, 13, 1, -1, 1, "ghcr.io/acme/tool:1.2",
         STRATA_DF_ORIGIN_EXPANDED},
        {STRATA_DF_COPY_FROM, 14, 14, 1, 0, 0, "-", STRATA_DF_ORIGIN_LITERAL},
        {STRATA_DF_FROM, 16, 16, 2, -1, 1, "docker.io/library/debian:12-slim",
         STRATA_DF_ORIGIN_ARG_DEFAULT},
        {STRATA_DF_COPY_FROM, 17, 17, 2, 0, 0, "-", STRATA_DF_ORIGIN_LITERAL},
        {STRATA_DF_COPY_FROM, 18, 18, 2, 0, 0, "-", STRATA_DF_ORIGIN_LITERAL},
        {STRATA_DF_COPY_FROM, 19, 19, 2, -1, 1,
         "quay.io/prom/node-exporter:v1.8.0", STRATA_DF_ORIGIN_LITERAL},
        {STRATA_DF_MOUNT_FROM, 20, 20, 2, 1, 0, "-", STRATA_DF_ORIGIN_LITERAL},
        {STRATA_DF_FROM, 21, 21, 3, -1, 0, "-", STRATA_DF_ORIGIN_LITERAL},
        {STRATA_DF_COPY_FROM, 22, 22, 3, 2, 0, "-", STRATA_DF_ORIGIN_LITERAL},
    };
    const strata_df_ref *r;
    int *deps;
    size_t i, n;
    strata_ref *base = NULL;
    strata_error err = {0};

    CHECK_EQ(strata_dockerfile_diag_count(df), 0);
    CHECK_STR_EQ(strata_dockerfile_syntax(df), "docker/dockerfile:1.7");
    CHECK_STR_EQ(strata_dockerfile_check(df), "skip=JSONArgsRecommended");
    CHECK_EQ(strata_dockerfile_ref_count(df), sizeof(want) / sizeof(want[0]));
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        r = REF(df, i);
        printf("# ref %zu\n", i);
        CHECK_EQ(r->kind, want[i].kind);
        CHECK_EQ(r->line, want[i].line);
        CHECK_EQ(r->span.line, want[i].span_line);
        CHECK_EQ(r->stage, want[i].stage);
        CHECK_EQ(r->target_stage, want[i].target);
        CHECK_EQ(r->external, want[i].external);
        CHECK_STR_EQ(refstr(df, i), want[i].ref);
        CHECK_EQ(r->origin, want[i].origin);
    }
    /* The mount's from= value, exactly. */
    CHECK_SPAN(REF(df, 1)->span, off(s, "alpine:3.19"), 11, 10, 28);
    /* FROM ${BASE}: the text is the default of the ARG at line 3. */
    r = REF(df, 4);
    CHECK_STR_EQ(r->raw, "${BASE}");
    CHECK_SPAN(r->span, off(s, "${BASE}"), 7, 16, 6);
    CHECK_STR_EQ(r->arg_name, "BASE");
    CHECK_EQ(r->arg_line, 3);
    CHECK_SPAN(r->arg_span, off(s, "debian:12-slim"), 14, 3, 10);
    CHECK_STR_EQ(REF(df, 7)->raw, "quay.io/prom/node-exporter:v1.8.0");
    CHECK_SPAN(REF(df, 7)->span, off(s, "quay.io"), 33, 19, 13);

    /* Stages and the chain. */
    CHECK_EQ(strata_dockerfile_stage_count(df), 4);
    CHECK_STR_EQ(strata_dockerfile_stage(df, 0)->name, "builder");
    CHECK_STR_EQ(strata_dockerfile_stage(df, 0)->platform_raw,
                 "$BUILDPLATFORM");
    CHECK_STR_EQ(strata_dockerfile_stage(df, 0)->platform, "linux/amd64");
    CHECK_STR_EQ(strata_dockerfile_stage(df, 2)->base, "debian:12-slim");
    CHECK_EQ(strata_dockerfile_stage(df, 2)->from_ref, 4);
    n = strata_dockerfile_stage_deps(&deps, df, 0);
    CHECK_EQ(n, 0);
    CHECK(deps == NULL);
    n = strata_dockerfile_stage_deps(&deps, df, 1);
    CHECK_EQ(n, 1);
    CHECK_EQ(deps[0], 0);
    free(deps);
    n = strata_dockerfile_stage_deps(&deps, df, 3);
    CHECK_EQ(n, 3);
    CHECK_EQ(deps[0], 0);
    CHECK_EQ(deps[1], 1);
    CHECK_EQ(deps[2], 2);
    free(deps);
    CHECK_EQ(strata_dockerfile_stage_deps(&deps, df, 9), 0);
    CHECK(deps == NULL);

    CHECK_OK(strata_ref_parse(&base, "debian:12-slim", &err), &err);
    CHECK_EQ(strata_dockerfile_depends_on(df, 3, base), 1);
    CHECK_EQ(strata_dockerfile_depends_on(df, 1, base), 0);
    strata_ref_free(base);
    CHECK_OK(strata_ref_parse(&base, "debian", &err), &err);
    CHECK_EQ(strata_dockerfile_depends_on(df, 3, base), 0); /* tag latest */
    strata_ref_free(base);
    CHECK_OK(strata_ref_parse(&base, "alpine:3.19", &err), &err);
    CHECK_EQ(strata_dockerfile_depends_on(df, 3, base), 1); /* via mount */
    CHECK_EQ(strata_dockerfile_depends_on(df, 0, base), 1);
    strata_ref_free(base);
    CHECK_OK(strata_ref_parse(&base, "ghcr.io/acme/tool:1.2", &err), &err);
    CHECK_EQ(strata_dockerfile_depends_on(df, 0, base), 0);
    CHECK_EQ(strata_dockerfile_depends_on(df, 2, base), 1);
    strata_ref_free(base);
    strata_dockerfile_free(df);
    free(s);
}

TEST(crlf_and_bom)
{
    char *s = slurp("crlf-bom.Dockerfile");
    strata_dockerfile *df = parse_fixture("crlf-bom.Dockerfile", NULL);
    const strata_df_ref *r;

    CHECK_EQ(strata_dockerfile_diag_count(df), 0);
    CHECK_EQ(strata_dockerfile_escape(df), '\\');
    CHECK_EQ(strata_dockerfile_ref_count(df), 3);
    r = REF(df, 0);
    CHECK_STR_EQ(r->text, "alpine:3.19");
    CHECK_EQ(r->origin, STRATA_DF_ORIGIN_EXPANDED);
    CHECK_SPAN(r->span, off(s, "alpine:${TAG}"), 13, 3, 6);
    r = REF(df, 1);
    CHECK_EQ(r->line, 6);
    CHECK_STR_EQ(r->text, "busybox:1.36");
    CHECK_SPAN(r->span, off(s, "busybox"), 12, 9, 3);
    CHECK_STR_EQ(refstr(df, 1), "docker.io/library/busybox:1.36");
    CHECK_EQ(REF(df, 2)->target_stage, 0);
    strata_dockerfile_free(df);
    free(s);

    /* The BOM is in the offsets but not in line 1's columns. */
    df = parse("\xef\xbb\xbf"
               "FROM a\r\n");
    CHECK_SPAN(REF(df, 0)->span, 8, 1, 1, 6);
    CHECK_STR_EQ(REF(df, 0)->text, "a");
    strata_dockerfile_free(df);
}

TEST(windows_escape)
{
    char *s = slurp("windows.Dockerfile");
    strata_dockerfile *df = parse_fixture("windows.Dockerfile", NULL);
    const strata_df_ref *r;

    CHECK_EQ(strata_dockerfile_diag_count(df), 0);
    CHECK_EQ(strata_dockerfile_escape(df), '`');
    CHECK_EQ(strata_dockerfile_ref_count(df), 3);
    r = REF(df, 0);
    CHECK_STR_EQ(refstr(df, 0),
                 "mcr.microsoft.com/windows/servercore:ltsc2022");
    CHECK_EQ(r->origin, STRATA_DF_ORIGIN_ARG_DEFAULT);
    CHECK_EQ(r->arg_line, 2);
    CHECK_SPAN(r->arg_span, off(s, "mcr.microsoft.com/windows/servercore"), 45,
               2, 9);
    r = REF(df, 1);
    CHECK_EQ(r->kind, STRATA_DF_COPY_FROM);
    CHECK_STR_EQ(refstr(df, 1), "mcr.microsoft.com/dotnet/sdk:8.0");
    CHECK_SPAN(r->span, off(s, "mcr.microsoft.com/dotnet"), 32, 6, 13);
    r = REF(df, 2);
    CHECK_EQ(r->line, 8);
    CHECK_SPAN(r->span, off(s, "mcr.microsoft.com/windows/nano"), 45, 9, 3);
    strata_dockerfile_free(df);
    free(s);
}

TEST(heredocs_are_not_instructions)
{
    strata_dockerfile *df = parse_fixture("heredoc.Dockerfile", NULL);
    size_t i;

    CHECK_EQ(strata_dockerfile_diag_count(df), 0);
    CHECK_EQ(strata_dockerfile_ref_count(df), 2);
    CHECK_STR_EQ(refstr(df, 0), "docker.io/library/alpine:3.19");
    CHECK_STR_EQ(refstr(df, 1), "docker.io/library/busybox:1.36");
    CHECK_EQ(REF(df, 1)->line, 22);
    for (i = 0; i < strata_dockerfile_ref_count(df); i++)
        CHECK(strstr(REF(df, i)->text, "evil") == NULL);
    CHECK_EQ(strata_dockerfile_stage_count(df), 2);
    strata_dockerfile_free(df);

    /* Unterminated: reported at the instruction, nothing after it read. */
    df = parse("FROM a\nRUN <<EOF\nFROM evil\n");
    CHECK_EQ(strata_dockerfile_ref_count(df), 1);
    CHECK_EQ(strata_dockerfile_diag_count(df), 1);
    CHECK_STR_EQ(strata_dockerfile_diag(df, 0)->text,
                 "Dockerfile:2: unterminated heredoc 'EOF'");
    strata_dockerfile_free(df);

    /* A heredoc opened on a continued line; CRLF bodies; <<- tabs. */
    df = parse("FROM a\r\nRUN --mount=from=m:1 \\\r\n  cat <<-X\r\n"
               "FROM evil\r\n\t\tX\r\nFROM b\r\n");
    CHECK_EQ(strata_dockerfile_diag_count(df), 0);
    CHECK_EQ(strata_dockerfile_ref_count(df), 3);
    CHECK_STR_EQ(refstr(df, 1), "docker.io/library/m:1");
    CHECK_STR_EQ(refstr(df, 2), "docker.io/library/b:latest");
    CHECK_EQ(REF(df, 2)->line, 6);
    strata_dockerfile_free(df);

    /* FROM never opens a heredoc; <<EOF without <<- keeps tabs. */
    df = parse("FROM a <<EOF\nRUN <<EOF\n\tEOF\nFROM evil\nEOF\nFROM c\n");
    CHECK_EQ(strata_dockerfile_ref_count(df), 2);
    CHECK_STR_EQ(REF(df, 1)->text, "c");
    strata_dockerfile_free(df);
}

TEST(directives)
{
    strata_dockerfile *df;

    df = parse("#  ESCAPE = ` \n# Syntax=docker/dockerfile:1\nFROM a `\n"
               "  AS x\n");
    CHECK_EQ(strata_dockerfile_escape(df), '`');
    CHECK_STR_EQ(strata_dockerfile_syntax(df), "docker/dockerfile:1");
    CHECK_STR_EQ(strata_dockerfile_stage(df, 0)->name, "x");
    CHECK_EQ(strata_dockerfile_diag_count(df), 0);
    strata_dockerfile_free(df);

    /* After a comment, a blank line, an unknown directive or an
     * instruction, directives are plain comments. */
    df = parse("# hello\n# escape=`\nFROM a\n");
    CHECK_EQ(strata_dockerfile_escape(df), '\\');
    strata_dockerfile_free(df);
    df = parse("\n# escape=`\nFROM a\n");
    CHECK_EQ(strata_dockerfile_escape(df), '\\');
    strata_dockerfile_free(df);
    df = parse("# foo=bar\n# escape=`\nFROM a\n");
    CHECK_EQ(strata_dockerfile_escape(df), '\\');
    strata_dockerfile_free(df);
    df = parse("FROM a\n# escape=`\n# syntax=x\n");
    CHECK_EQ(strata_dockerfile_escape(df), '\\');
    CHECK(strata_dockerfile_syntax(df) == NULL);
    strata_dockerfile_free(df);

    df = parse("# escape=`\n# escape=\\\n# escape=x\nFROM a\n");
    CHECK_EQ(strata_dockerfile_escape(df), '`');
    CHECK_EQ(strata_dockerfile_diag_count(df), 2);
    CHECK_STR_EQ(strata_dockerfile_diag(df, 0)->text,
                 "Dockerfile:2: only one 'escape' parser directive can be "
                 "used");
    strata_dockerfile_free(df);
    df = parse("# escape=x\nFROM a\n");
    CHECK_EQ(strata_dockerfile_diag_count(df), 1);
    CHECK_CONTAINS(strata_dockerfile_diag(df, 0)->text,
                   "Dockerfile:1: invalid escape token 'x'");
    strata_dockerfile_free(df);
}

TEST(continuations)
{
    const char *s;
    strata_dockerfile *df;

    s = "FROM \\\n# comment\n\n   alpine:3 \\  \t\n AS x\nRUN true\n";
    df = parse(s);
    CHECK_EQ(strata_dockerfile_diag_count(df), 0);
    CHECK_EQ(strata_dockerfile_ref_count(df), 1);
    CHECK_STR_EQ(REF(df, 0)->text, "alpine:3");
    CHECK_SPAN(REF(df, 0)->span, off(s, "alpine"), 8, 4, 4);
    CHECK_STR_EQ(strata_dockerfile_stage(df, 0)->name, "x");
    strata_dockerfile_free(df);

    /* A word split by a continuation spans both lines in the file. */
    df = parse("FROM alp\\\nine:3\n");
    CHECK_STR_EQ(REF(df, 0)->raw, "alpine:3");
    CHECK_SPAN(REF(df, 0)->span, 5, 10, 1, 6);
    strata_dockerfile_free(df);

    /* As in BuildKit, "\\\\" at the end still continues the line. */
    df = parse("FROM a\nRUN echo \\\\\nFROM b\nFROM c \\");
    CHECK_EQ(strata_dockerfile_ref_count(df), 2);
    CHECK_STR_EQ(REF(df, 1)->text, "c");
    strata_dockerfile_free(df);

    /* Indented instructions and comments. */
    df = parse("  # c\n\tfrom\ta:1\n   # c2\n");
    CHECK_EQ(strata_dockerfile_ref_count(df), 1);
    CHECK_SPAN(REF(df, 0)->span, 12, 3, 2, 7);
    strata_dockerfile_free(df);
}

TEST(arg_scoping)
{
    const char *s = "ARG A=alpine:3.18\n"
                    "FROM $A AS s0\n"
                    "ARG A=evil:1\n"
                    "ARG B=evil:2\n"
                    "FROM ${A}\n"
                    "FROM ${B:-busybox:1}\n"
                    "ARG LATE=evil:3\n"
                    "FROM img:${LATE:-x}\n";
    strata_dockerfile *df = parse(s);

    CHECK_EQ(strata_dockerfile_diag_count(df), 0);
    CHECK_EQ(strata_dockerfile_ref_count(df), 4);
    CHECK_STR_EQ(refstr(df, 0), "docker.io/library/alpine:3.18");
    CHECK_STR_EQ(refstr(df, 1), "docker.io/library/alpine:3.18");
    CHECK_EQ(REF(df, 1)->origin, STRATA_DF_ORIGIN_ARG_DEFAULT);
    CHECK_EQ(REF(df, 1)->arg_line, 1);
    CHECK_SPAN(REF(df, 1)->arg_span, 6, 11, 1, 7);
    CHECK_STR_EQ(refstr(df, 2), "docker.io/library/busybox:1");
    CHECK_EQ(REF(df, 2)->origin, STRATA_DF_ORIGIN_EXPANDED);
    CHECK_STR_EQ(refstr(df, 3), "docker.io/library/img:x");
    strata_dockerfile_free(df);

    /* Defaults expand earlier ARGs; a chain of plain variables keeps the
     * origin; quotes around a default are outside its span. */
    s = "ARG R=reg.io/team\n"
        "ARG I=$R\n"
        "ARG Q=\"alpine:3.17\"\n"
        "ARG X\n"
        "ARG M1=m:1 M2=m:2\n"
        "FROM $I/app:1\n"
        "FROM $I\n"
        "FROM $Q\n"
        "FROM alpine:${X:-3.1}\n"
        "FROM \"$M2\"\n";
    df = parse(s);
    CHECK_EQ(strata_dockerfile_ref_count(df), 5);
    CHECK_STR_EQ(refstr(df, 0), "reg.io/team/app:1");
    CHECK_EQ(REF(df, 0)->origin, STRATA_DF_ORIGIN_EXPANDED);
    CHECK_STR_EQ(REF(df, 1)->text, "reg.io/team");
    CHECK_EQ(REF(df, 1)->origin, STRATA_DF_ORIGIN_ARG_DEFAULT);
    CHECK_STR_EQ(REF(df, 1)->arg_name, "R");
    CHECK_EQ(REF(df, 1)->arg_line, 1);
    CHECK_SPAN(REF(df, 1)->arg_span, 6, 11, 1, 7);
    CHECK_EQ(REF(df, 2)->origin, STRATA_DF_ORIGIN_ARG_DEFAULT);
    CHECK_SPAN(REF(df, 2)->arg_span, off(s, "alpine:3.17"), 11, 3, 8);
    CHECK_STR_EQ(refstr(df, 3), "docker.io/library/alpine:3.1");
    CHECK_STR_EQ(refstr(df, 4), "docker.io/library/m:2");
    CHECK_EQ(REF(df, 4)->origin, STRATA_DF_ORIGIN_ARG_DEFAULT);
    CHECK_SPAN(REF(df, 4)->arg_span, off(s, "m:2"), 3, 5, 15);
    strata_dockerfile_free(df);

    /* A default that is an ARG declared without a value has no place to
     * rewrite (a fuzzer find). */
    df = parse("ARG X\nARG Y=$X\nFROM $Y\nFROM a:1$Y\n");
    CHECK_EQ(REF(df, 0)->origin, STRATA_DF_ORIGIN_EXPANDED);
    CHECK(REF(df, 0)->arg_name == NULL);
    CHECK_STR_EQ(refstr(df, 1), "docker.io/library/a:1");
    strata_dockerfile_free(df);

    df = parse("ARG =x\nARG\nFROM a\n");
    CHECK_EQ(strata_dockerfile_diag_count(df), 2);
    CHECK_CONTAINS(strata_dockerfile_diag(df, 0)->message, "blank");
    strata_dockerfile_free(df);
}

TEST(substitution_modifiers)
{
    const char *s = "ARG E=\n"
                    "ARG T=1.22-alpine\n"
                    "FROM a:${E:-x}\n"
                    "FROM a${E-x}:1\n"
                    "FROM a:${T:+y}\n"
                    "FROM a:${U+y}1\n"
                    "FROM a:${T#*-}\n"
                    "FROM a:${T%-*}\n"
                    "FROM a:${T%%.*}\n"
                    "FROM a:${T##*[.-]}\n"
                    "FROM \"a:1\"\n"
                    "FROM a:${E:?must_be_set}\n"
                    "FROM a:${T/x/y}\n"
                    "FROM a:${T\n"
                    "FROM 'a:$T'\n"
                    "FROM a:$\n"
                    "FROM a:\\$T\n";
    static const char *const want[] = {
        "docker.io/library/a:x",
        "docker.io/library/a:1",
        "docker.io/library/a:y",
        "docker.io/library/a:1",
        "docker.io/library/a:alpine",
        "docker.io/library/a:1.22",
        "docker.io/library/a:1",
        "docker.io/library/a:alpine",
        "docker.io/library/a:1",
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
    };
    strata_dockerfile *df = parse(s);
    size_t i;

    CHECK_EQ(strata_dockerfile_ref_count(df), sizeof(want) / sizeof(*want));
    for (i = 0; i < sizeof(want) / sizeof(*want); i++) {
        printf("# ref %zu\n", i);
        CHECK_STR_EQ(refstr(df, i), want[i]);
    }
    CHECK_EQ(REF(df, 8)->origin, STRATA_DF_ORIGIN_LITERAL);
    CHECK_STR_EQ(REF(df, 12)->text, "a:$T");
    CHECK_STR_EQ(REF(df, 14)->text, "a:$T");
    CHECK_EQ(strata_dockerfile_diag_count(df), 6);
    CHECK_STR_EQ(strata_dockerfile_diag(df, 0)->text,
                 "Dockerfile:12: E: must_be_set");
    CHECK_CONTAINS(strata_dockerfile_diag(df, 1)->text,
                   "Dockerfile:13: unsupported modifier (/)");
    CHECK_CONTAINS(strata_dockerfile_diag(df, 2)->text,
                   "Dockerfile:14: missing '}'");
    CHECK_CONTAINS(strata_dockerfile_diag(df, 3)->text, "Dockerfile:15: ");
    CHECK_CONTAINS(strata_dockerfile_diag(df, 4)->text, "Dockerfile:16: ");
    CHECK_CONTAINS(strata_dockerfile_diag(df, 5)->text, "Dockerfile:17: ");
    strata_dockerfile_free(df);

    df = parse("FROM $NOPE\n");
    CHECK_EQ(strata_dockerfile_diag_count(df), 1);
    CHECK_STR_EQ(strata_dockerfile_diag(df, 0)->text,
                 "Dockerfile:1: base name ('$NOPE') should not be blank");
    strata_dockerfile_free(df);
}

TEST(build_arg_overrides)
{
    const char *const ba[] = {"BASE=ubuntu:24.04", "UNDECLARED=x:9", "TAG=2",
                              "EMPTY=", NULL};
    strata_df_options o = {.build_args = ba};
    const char *const bad[] = {"NOEQ", NULL};
    strata_dockerfile *df = NULL;
    strata_error err = {0};

    df = parse_opts("ARG BASE=debian:12\n"
                    "ARG TAG\n"
                    "ARG EMPTY=zzz\n"
                    "FROM $BASE\n"
                    "FROM alpine:3.${TAG}\n"
                    "FROM x:${UNDECLARED:-1}\n"
                    "FROM y:${EMPTY:-e}\n"
                    "ARG BASE=evil\n"
                    "FROM $BASE\n",
                    &o);
    CHECK_EQ(strata_dockerfile_diag_count(df), 0);
    CHECK_STR_EQ(refstr(df, 0), "docker.io/library/ubuntu:24.04");
    CHECK_EQ(REF(df, 0)->origin, STRATA_DF_ORIGIN_BUILD_ARG);
    CHECK_STR_EQ(refstr(df, 1), "docker.io/library/alpine:3.2");
    CHECK_STR_EQ(refstr(df, 2), "docker.io/library/x:1");
    CHECK_STR_EQ(refstr(df, 3), "docker.io/library/y:e");
    CHECK_STR_EQ(refstr(df, 4), "docker.io/library/ubuntu:24.04");
    strata_dockerfile_free(df);

    o.build_args = bad;
    CHECK_EQ(strata_dockerfile_parse(&df, "FROM a\n", 7, "D", &o, &err),
             STRATA_EINVAL);
    CHECK(df == NULL);
    CHECK_CONTAINS(err.msg, "invalid build arg 'NOEQ'");
}

TEST(platform_args)
{
    const char *s = "ARG TARGETARCH\n"
                    "FROM --platform=$BUILDPLATFORM "
                    "img:${TARGETOS}-${TARGETARCH}${TARGETVARIANT}\n"
                    "FROM img:${BUILDOS}-${BUILDARCH}-${TARGETPLATFORM}\n";
    strata_df_options o = {.platform = "linux/arm64/v8"};
    strata_dockerfile *df = parse(s);
    strata_error err = {0};

    CHECK_STR_EQ(REF(df, 0)->text, "img:linux-amd64");
    CHECK_EQ(REF(df, 0)->origin, STRATA_DF_ORIGIN_EXPANDED);
    CHECK_STR_EQ(strata_dockerfile_stage(df, 0)->platform, "linux/amd64");
    CHECK_STR_EQ(REF(df, 1)->text, "img:linux-amd64-linux/amd64");
    strata_dockerfile_free(df);

    df = parse_opts(s, &o);
    CHECK_STR_EQ(REF(df, 0)->text, "img:linux-arm64v8");
    CHECK_STR_EQ(strata_dockerfile_stage(df, 0)->platform_raw,
                 "$BUILDPLATFORM");
    CHECK_STR_EQ(strata_dockerfile_stage(df, 0)->platform, "linux/arm64/v8");
    strata_dockerfile_free(df);

    o.platform = "Windows/AMD64";
    df = parse_opts("FROM x:$TARGETOS\n", &o);
    CHECK_STR_EQ(REF(df, 0)->text, "x:windows");
    strata_dockerfile_free(df);

    o.platform = "linux";
    CHECK_EQ(strata_dockerfile_parse(&df, "FROM a\n", 7, "D", &o, &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "invalid platform 'linux'");
    o.platform = "linux/amd64/v1/x";
    CHECK_EQ(strata_dockerfile_parse(&df, "FROM a\n", 7, "D", &o, &err),
             STRATA_EINVAL);
    o.platform = "linux//v1";
    CHECK_EQ(strata_dockerfile_parse(&df, "FROM a\n", 7, "D", &o, &err),
             STRATA_EINVAL);
}

TEST(copy_from)
{
    const char *s = "FROM alpine:3 AS base\n"
                    "FROM base AS Second\n"
                    "COPY --from=base /a /b\n"
                    "COPY --from=1 /a /b\n"
                    "copy --from=SECOND /a /b\n"
                    "COPY --from=later /a /b\n"
                    "COPY --link --from=nginx:1.25 /a /b\n"
                    "COPY --from=scratch / /\n"
                    "COPY --from=9 / /\n"
                    "COPY --from=$X / /\n"
                    "COPY --from / /\n"
                    "COPY --from= / /\n"
                    "COPY --chown=1:1 --from=ghcr.io/a/b@sha256:" H64 " / /\n"
                    "ADD --from=evil:1 / /\n"
                    "FROM busybox AS later\n";
    strata_dockerfile *df = parse(s);
    const strata_df_ref *r;

    CHECK_EQ(strata_dockerfile_ref_count(df), 12);
    CHECK_EQ(REF(df, 2)->target_stage, 0);
    CHECK_EQ(REF(df, 2)->stage, 1);
    CHECK_EQ(REF(df, 3)->target_stage, 1);
    CHECK_EQ(REF(df, 4)->target_stage, 1);
    CHECK_EQ(REF(df, 5)->target_stage, 2); /* a later stage, by name */
    r = REF(df, 6);
    CHECK_EQ(r->kind, STRATA_DF_COPY_FROM);
    CHECK_EQ(r->external, 1);
    CHECK_STR_EQ(refstr(df, 6), "docker.io/library/nginx:1.25");
    CHECK_SPAN(r->span, off(s, "nginx:1.25"), 10, 7, 20);
    r = REF(df, 7);
    CHECK_EQ(r->external, 0);
    CHECK_EQ(r->target_stage, -1);
    CHECK(r->error == NULL);
    CHECK_EQ(REF(df, 8)->external, 0);
    CHECK_STR_EQ(REF(df, 8)->error, "invalid stage index 9");
    CHECK_EQ(REF(df, 9)->external, 0);
    CHECK_CONTAINS(REF(df, 9)->error, "variable expansion is not supported");
    CHECK_STR_EQ(refstr(df, 10), "ghcr.io/a/b@sha256:" H64);
    CHECK_EQ(REF(df, 11)->kind, STRATA_DF_FROM);
    CHECK_EQ(strata_dockerfile_diag_count(df), 3);
    CHECK_EQ(strata_dockerfile_diag(df, 0)->line, 9);
    CHECK_EQ(strata_dockerfile_diag(df, 1)->line, 10);
    CHECK_STR_EQ(strata_dockerfile_diag(df, 2)->text,
                 "Dockerfile:11: missing a value on flag '--from'");
    strata_dockerfile_free(df);
}

TEST(run_mount_from)
{
    const char *s = "FROM a:1\n"
                    "RUN --network=none --mount=type=cache,target=/c,from=b:2 "
                    "--mount=type=secret,id=s \\\n"
                    "    --mount=\"type=bind,from=c:3,target=/x\" "
                    "--mount=type=bind,\"from=d:4\",target=/y make\n"
                    "RUN --mount=type=bind,FROM=0,target=/z true\n"
                    "RUN --mount=type=bind,from=e:5,x\\\"y true\n"
                    "RUN --mount=from=f:6 <<EOF\nFROM evil\nEOF\n"
                    "RUN echo --mount=from=g:7\n";
    strata_dockerfile *df = parse(s);
    const strata_df_ref *r;
    size_t v;

    CHECK_EQ(strata_dockerfile_ref_count(df), 6);
    r = REF(df, 1);
    CHECK_EQ(r->kind, STRATA_DF_MOUNT_FROM);
    CHECK_STR_EQ(refstr(df, 1), "docker.io/library/b:2");
    CHECK_SPAN(r->span, off(s, "b:2"), 3, 2, 54);
    CHECK_EQ(r->stage, 0);
    /* A quoted flag: the span covers the flag's whole value. */
    r = REF(df, 2);
    CHECK_STR_EQ(refstr(df, 2), "docker.io/library/c:3");
    v = off(s, "\"type=bind,from=c:3");
    CHECK_SPAN(r->span, v, 30, 3, 13);
    r = REF(df, 3);
    CHECK_STR_EQ(refstr(df, 3), "docker.io/library/d:4");
    CHECK_EQ(r->span.line, 3);
    CHECK_EQ(REF(df, 4)->target_stage, 0);
    CHECK_EQ(REF(df, 4)->external, 0);
    CHECK_STR_EQ(refstr(df, 5), "docker.io/library/f:6");
    CHECK_EQ(strata_dockerfile_diag_count(df), 1);
    CHECK_CONTAINS(strata_dockerfile_diag(df, 0)->text,
                   "Dockerfile:5: invalid --mount");
    strata_dockerfile_free(df);
}

TEST(errors_fixture)
{
    strata_dockerfile *df = parse_fixture("errors.Dockerfile", NULL);
    static const unsigned lines[] = {2, 3, 4, 6, 7, 9, 10};
    size_t i;
    char prefix[128];

    CHECK_EQ(strata_dockerfile_diag_count(df), 7);
    for (i = 0; i < 7; i++) {
        snprintf(prefix, sizeof(prefix),
                 "%s/errors.Dockerfile:%u: ", STRATA_DF_FIXTURES, lines[i]);
        CHECK_EQ(strata_dockerfile_diag(df, i)->line, lines[i]);
        CHECK(strncmp(strata_dockerfile_diag(df, i)->text, prefix,
                      strlen(prefix)) == 0);
    }
    CHECK_EQ(strata_dockerfile_stage_count(df), 5);
    strata_dockerfile_free(df);
}

TEST(whole_file_errors)
{
    strata_df_options o = {.max_size = 10};
    strata_dockerfile *df = NULL;
    strata_error err = {0};
    char *big;
    char dir[] = "/tmp/strata-df-XXXXXX";

    CHECK_EQ(strata_dockerfile_parse(&df, "FROM a\nRUN \0x\n", 14, "bin", NULL,
                                     &err),
             STRATA_EINVAL);
    CHECK(df == NULL);
    CHECK_STR_EQ(err.msg, "bin:2: binary file (NUL byte at offset 11)");
    CHECK_EQ(strata_dockerfile_parse(&df, "FROM alpine\n", 12, "big", &o, &err),
             STRATA_ETOOBIG);
    CHECK_STR_EQ(err.msg, "big: file is larger than 10 bytes");

    /* The default limit is 1 MiB: exactly that parses, one more fails. */
    big = strata_xmalloc(STRATA_DF_MAX_SIZE + 1);
    memset(big, '#', STRATA_DF_MAX_SIZE + 1);
    memcpy(big, "FROM a\n", 7);
    CHECK_OK(
        strata_dockerfile_parse(&df, big, STRATA_DF_MAX_SIZE, "ok", NULL, &err),
        &err);
    CHECK_EQ(strata_dockerfile_ref_count(df), 1);
    strata_dockerfile_free(df);
    CHECK_EQ(strata_dockerfile_parse(&df, big, STRATA_DF_MAX_SIZE + 1, "x",
                                     NULL, &err),
             STRATA_ETOOBIG);
    free(big);

    CHECK_EQ(strata_dockerfile_parse_file(&df, "/nonexistent/Dockerfile", NULL,
                                          &err),
             STRATA_ENOTFOUND);
    CHECK_STR_EQ(err.msg, "/nonexistent/Dockerfile: cannot open: No such file "
                          "or directory");
    CHECK(mkdtemp(dir) != NULL);
    CHECK_EQ(strata_dockerfile_parse_file(&df, dir, NULL, &err), STRATA_EIO);
    CHECK_CONTAINS(err.msg, "cannot read");
    rmdir(dir);

    /* Empty and comment-only files are fine and empty. */
    CHECK_OK(strata_dockerfile_parse(&df, "", 0, "e", NULL, &err), &err);
    CHECK_EQ(strata_dockerfile_ref_count(df), 0);
    CHECK_EQ(strata_dockerfile_target(df, NULL), -1);
    strata_dockerfile_free(df);
}

/* 1 MiB worst cases stay linear: a chain of stages each built on the
 * previous one, thousands of ARGs, and ARG defaults that double. */
TEST(pathological_inputs_are_bounded)
{
    strata_buf b = STRATA_BUF_INIT;
    strata_dockerfile *df = NULL;
    strata_error err = {0};
    strata_ref *base = NULL;
    int *deps = NULL, i;
    char *want;
    size_t n;

    strata_buf_puts(&b, "FROM alpine:3 AS s0\n");
    for (i = 1; b.len < STRATA_DF_MAX_SIZE - 64; i++)
        strata_buf_printf(&b, "FROM s%d AS s%d\n", i - 1, i);
    CHECK_OK(strata_dockerfile_parse(&df, b.ptr, b.len, "chain", NULL, &err),
             &err);
    CHECK_EQ(strata_dockerfile_stage_count(df), i);
    n = strata_dockerfile_stage_deps(&deps, df, i - 1);
    CHECK_EQ(n, i - 1);
    free(deps);
    CHECK_OK(strata_ref_parse(&base, "alpine:3", &err), &err);
    CHECK_EQ(strata_dockerfile_depends_on(df, i - 1, base), 1);
    strata_ref_free(base);
    strata_dockerfile_free(df);

    strata_buf_reset(&b);
    for (i = 0; b.len < STRATA_DF_MAX_SIZE - 64; i++)
        strata_buf_printf(&b, "ARG A%d=x%d\n", i, i);
    strata_buf_printf(&b, "FROM a:$A%d\n", i - 1);
    CHECK_OK(strata_dockerfile_parse(&df, b.ptr, b.len, "args", NULL, &err),
             &err);
    CHECK_EQ(strata_dockerfile_diag_count(df), 0);
    want = strata_xasprintf("a:x%d", i - 1);
    CHECK_STR_EQ(REF(df, 0)->text, want);
    free(want);
    strata_dockerfile_free(df);

    strata_buf_reset(&b);
    strata_buf_puts(&b, "ARG A0=xxxxxxxxxxxxxxxx\n");
    for (i = 1; i < 40; i++)
        strata_buf_printf(&b, "ARG A%d=$A%d$A%d\n", i, i - 1, i - 1);
    strata_buf_puts(&b, "FROM a:1\n");
    for (i = 0; i < 2000; i++)
        strata_buf_puts(&b, "FROM ${A12#x}\n");
    CHECK_OK(strata_dockerfile_parse(&df, b.ptr, b.len, "dbl", NULL, &err),
             &err);
    CHECK(strata_dockerfile_diag_count(df) > 0);
    CHECK_CONTAINS(strata_dockerfile_diag(df, 0)->message,
                   "variable expansion longer than 65536 bytes");
    CHECK_CONTAINS(
        strata_dockerfile_diag(df, strata_dockerfile_diag_count(df) - 1)
            ->message,
        "exceed");
    CHECK_STR_EQ(refstr(df, 0), "docker.io/library/a:1");
    strata_dockerfile_free(df);
    strata_buf_release(&b);
}

/* Deterministic mutations of the fixtures must never crash (ASan runs
 * this in CI too; the fuzz target goes further). */
TEST(survives_mutations)
{
    static const char *const names[] = {
        "basic.Dockerfile", "crlf-bom.Dockerfile", "windows.Dockerfile",
        "heredoc.Dockerfile"};
    static const char alphabet[] = "\\`$#{}:-+?%\"'<\n\r\t =,/@[]AS";
    unsigned long x = 12345;
    int i, k;

    for (i = 0; i < 2000; i++) {
        char *s = slurp(names[i % 4]);
        size_t n = strlen(s);
        strata_dockerfile *df = NULL;
        strata_error err = {0};

        for (k = 0; k < 4; k++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            s[(x >> 33) % n] = alphabet[(x >> 13) % (sizeof(alphabet) - 1)];
        }
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        if (strata_dockerfile_parse(&df, s, (x >> 40) % (n + 1), "m", NULL,
                                    &err) == 0) {
            size_t j;
            for (j = 0; j < strata_dockerfile_ref_count(df); j++)
                CHECK(REF(df, j)->span.offset + REF(df, j)->span.length <= n);
            strata_dockerfile_free(df);
        }
        free(s);
    }
}

/* Runs the CLI; returns its exit status, stdout and stderr in bufs. */
static int
run_cli(const char *args, strata_buf *out, strata_buf *errb)
{
    char cmd[2048], errpath[] = "/tmp/strata-df-err-XXXXXX", *e = NULL;
    int fd = mkstemp(errpath), st;
    FILE *p;
    char buf[4096];
    size_t n;

    CHECK(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' dockerfile refs %s 2>'%s'",
             STRATA_DF_FIXTURES, getenv("STRATA_EXE"), args, errpath);
    p = popen(cmd, "r");
    CHECK(p != NULL);
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
        strata_buf_add(out, buf, n);
    st = pclose(p);
    CHECK_OK(strata_read_file(&e, NULL, errpath, 0, NULL), &(strata_error){0});
    strata_buf_puts(errb, e);
    free(e);
    unlink(errpath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(cli_output)
{
    strata_buf out = STRATA_BUF_INIT, err = STRATA_BUF_INIT;

    if (getenv("STRATA_EXE") == NULL) {
        printf("# STRATA_EXE not set, CLI not checked\n");
        return;
    }
    CHECK_EQ(run_cli("basic.Dockerfile", &out, &err), 0);
    CHECK_STR_EQ(strata_buf_cstr(&out),
                 "7\tfrom\tdocker.io/library/golang:1.22\n"
                 "10\tmount-from\tdocker.io/library/alpine:3.19\n"
                 "13\tfrom\tghcr.io/acme/tool:1.2\n"
                 "16\tfrom\tdocker.io/library/debian:12-slim\n"
                 "19\tcopy-from\tquay.io/prom/node-exporter:v1.8.0\n");
    CHECK_STR_EQ(strata_buf_cstr(&err), "");

    strata_buf_reset(&out);
    strata_buf_reset(&err);
    CHECK_EQ(run_cli("--build-arg BASE=debian:11 --platform=linux/arm64 "
                     "--build-arg=REG=r.io basic.Dockerfile",
                     &out, &err),
             0);
    CHECK_CONTAINS(strata_buf_cstr(&out),
                   "13\tfrom\tr.io/tool:1.2\n"
                   "16\tfrom\tdocker.io/library/debian:11\n");

    strata_buf_reset(&out);
    strata_buf_reset(&err);
    CHECK_EQ(run_cli("errors.Dockerfile", &out, &err), 2);
    CHECK_STR_EQ(strata_buf_cstr(&out),
                 "5\tfrom\tdocker.io/library/alpine:3.19\n"
                 "8\tmount-from\tdocker.io/library/nginx:1.25\n"
                 "11\tfrom\tdocker.io/library/debian:12\n");
    CHECK_STR_EQ(strata_buf_cstr(&err),
                 "errors.Dockerfile:2: no build stage in current context: "
                 "'RUN' before the first FROM\n"
                 "errors.Dockerfile:3: invalid reference 'Bad:Ref': "
                 "repository name must be lowercase\n"
                 "errors.Dockerfile:4: unknown instruction 'FORM'\n"
                 "errors.Dockerfile:6: variable expansion is not supported "
                 "for --from '$V': define a stage with FROM and a global ARG "
                 "instead\n"
                 "errors.Dockerfile:7: invalid stage index 7\n"
                 "errors.Dockerfile:9: unsupported modifier (/) in "
                 "substitution of 'V'\n"
                 "errors.Dockerfile:10: FROM requires either one or three "
                 "arguments\n");

    strata_buf_reset(&out);
    strata_buf_reset(&err);
    CHECK_EQ(run_cli("missing.Dockerfile", &out, &err), 2);
    CHECK_STR_EQ(strata_buf_cstr(&err), "missing.Dockerfile: cannot open: No "
                                        "such file or directory\n");
    strata_buf_reset(&err);
    CHECK_EQ(run_cli("", &out, &err), 2);
    CHECK_CONTAINS(strata_buf_cstr(&err), "usage: strata dockerfile refs");
    strata_buf_reset(&err);
    CHECK_EQ(run_cli("basic.Dockerfile --platform linux", &out, &err), 2);
    CHECK_CONTAINS(strata_buf_cstr(&err), "invalid platform 'linux'");
    strata_buf_release(&out);
    strata_buf_release(&err);
}

int
main(void)
{
    RUN(from_literal_span);
    RUN(from_flags_and_stage_names);
    RUN(fixture_basic);
    RUN(crlf_and_bom);
    RUN(windows_escape);
    RUN(heredocs_are_not_instructions);
    RUN(directives);
    RUN(continuations);
    RUN(arg_scoping);
    RUN(substitution_modifiers);
    RUN(build_arg_overrides);
    RUN(platform_args);
    RUN(copy_from);
    RUN(run_mount_from);
    RUN(errors_fixture);
    RUN(whole_file_errors);
    RUN(pathological_inputs_are_bounded);
    RUN(survives_mutations);
    RUN(cli_output);
    return harness_done();
}
