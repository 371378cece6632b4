/*
 * test-cli.c - the command line as a user meets it, on the real strata
 * binary (STRATA_EXE). Every command `strata --help` lists is driven
 * through the same usage errors, derived from its own generated usage
 * line: an unknown option, an option missing its value, a flag given a
 * value, a value outside the declared choices, a missing or extra
 * positional argument, and a broken or missing configuration. Each must
 * exit 2 with the same "strata CMD: message" line followed by the usage,
 * and never run the command. `--help` must exit 0 with the generated
 * usage. Then the forms the parser accepts (--opt=value, --opt value,
 * "--", global options before, between and after the command's words),
 * `dockerfile refs` and `pin` over many files in one run, and the state
 * commands: `check-state` on a database with a page of garbage, and
 * `backup` while another process writes.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "store.h"

static const char *exe;
static char dir[64];  /* a scratch directory, the commands' cwd */
static char bad[128]; /* a configuration with problems */

/* ---- running strata ----------------------------------------------------- */

typedef struct result {
    int code; /* exit status, or -1 when killed */
    char *out, *err;
} result;

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t) n + 1);
    CHECK(buf != NULL);
    CHECK_EQ(fread(buf, 1, (size_t) n, f), (size_t) n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs strata with argv (NULL-terminated, without argv[0]) in dir. */
static result
run_argv(char *const *args)
{
    char out[160], err[160], *argv[64];
    result r = {0};
    pid_t pid;
    int st, i;

    snprintf(out, sizeof(out), "%s/.out", dir);
    snprintf(err, sizeof(err), "%s/.err", dir);
    argv[0] = (char *) exe;
    for (i = 0; args[i] != NULL && i < 62; i++)
        argv[i + 1] = args[i];
    argv[i + 1] = NULL;
    fflush(stdout);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int n = open("/dev/null", O_RDONLY);

        if (o < 0 || e < 0 || n < 0 || chdir(dir) != 0)
            _exit(126);
        dup2(n, 0);
        dup2(o, 1);
        dup2(e, 2);
        setenv("HOME", dir, 1);
        setenv("DOCKER_CONFIG", dir, 1);
        /* A command that should have stopped at its arguments but ran. */
        alarm(20);
        execv(exe, argv);
        _exit(127);
    }
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

/*
 * Runs strata with the words of each string, split at spaces (the paths
 * this test makes have none), up to a NULL.
 */
static result
run(const char *words, ...)
{
    char *copies[16], *args[64], *tok, *save;
    const char *w;
    va_list ap;
    result r;
    int n = 0, ncopies = 0, i;

    va_start(ap, words);
    for (w = words; w != NULL && ncopies < 16; w = va_arg(ap, const char *)) {
        char *copy = strdup(w);

        copies[ncopies++] = copy;
        for (tok = strtok_r(copy, " ", &save); tok != NULL && n < 60;
             tok = strtok_r(NULL, " ", &save))
            args[n++] = tok;
    }
    va_end(ap);
    args[n] = NULL;
    r = run_argv(args);
    for (i = 0; i < ncopies; i++)
        free(copies[i]);
    return r;
}

/* Prints text as TAP diagnostics, "# " before each line. */
static void
diag(const char *what, const char *text)
{
    const char *p = text;

    printf("# %s\n", what);
    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, "\n");

        printf("#   %.*s\n", (int) len, p);
        p += len + (p[len] == '\n');
    }
}

static void
release(result *r)
{
    free(r->out);
    free(r->err);
}

/* r is a usage error of cmd: exit 2, the message, then the usage line. */
static void
check_usage_error(const result *r, const char *cmd, const char *message)
{
    char want[512];

    if (r->code != 2 || strncmp(r->err, "strata ", 7) != 0)
        printf("# strata %s: exit %d\n", cmd, r->code), diag("stderr:", r->err);
    CHECK_EQ(r->code, 2);
    snprintf(want, sizeof(want), "strata %s: %s\nusage: strata %s", cmd,
             message, cmd);
    if (strncmp(r->err, want, strlen(want)) != 0) {
        diag("got:", r->err);
        diag("want:", want);
    }
    CHECK(strncmp(r->err, want, strlen(want)) == 0);
    /* Exactly two lines. */
    CHECK(strchr(strchr(r->err, '\n') + 1, '\n') ==
          r->err + strlen(r->err) - 1);
    CHECK_STR_EQ(r->out, "");
}

/* ---- the command table, as `strata --help` lists it -------------------- */

#define MAX_CMDS 64
#define MAX_TOKENS 32

typedef struct cmd {
    char name[64];            /* "graph impacted" */
    char summary[160];        /* its line in `strata --help` */
    char *synopsis;           /* "strata graph impacted REF [--format ...]" */
    char *tokens[MAX_TOKENS]; /* the synopsis's words after the name */
    int ntokens;
} cmd;

static cmd cmds[MAX_CMDS];
static int ncmds;

/*
 * Splits a synopsis into its words: "[...]" (nested brackets and a
 * trailing "..." included) is one, and so is "--name VALUE" outside
 * brackets (a required option; the generated synopsis puts positional
 * arguments before options, so a word after an option is its value).
 */
static void
tokenize(cmd *c, const char *p)
{
    while (*p != '\0') {
        const char *start;
        int depth = 0;

        p += strspn(p, " ");
        if (*p == '\0')
            break;
        start = p;
        if (*p == '[') {
            do {
                depth += *p == '[';
                depth -= *p == ']';
                p++;
            } while (*p != '\0' && depth > 0);
            while (*p == '.')
                p++;
        } else {
            p += strcspn(p, " ");
            if (start[0] == '-' && start[1] == '-' && p[0] == ' ' &&
                p[1] != '[' && p[1] != '-' && p[1] != '\0')
                p += 1 + strcspn(p + 1, " ");
        }
        CHECK(c->ntokens < MAX_TOKENS);
        c->tokens[c->ntokens++] = strndup(start, (size_t) (p - start));
    }
}

static void
load_commands(void)
{
    result r = run("--help", NULL);
    char *line, *save = NULL;
    int in = 0, i;

    CHECK_EQ(r.code, 0);
    for (line = strtok_r(r.out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *gap;

        if (strcmp(line, "commands:") == 0) {
            in = 1;
            continue;
        }
        if (!in || strncmp(line, "  ", 2) != 0) {
            in = in && strncmp(line, "  ", 2) == 0;
            continue;
        }
        gap = strstr(line + 2, "  ");
        CHECK(gap != NULL && ncmds < MAX_CMDS);
        snprintf(cmds[ncmds].name, sizeof(cmds[ncmds].name), "%.*s",
                 (int) (gap - line - 2), line + 2);
        gap += strspn(gap, " ");
        snprintf(cmds[ncmds].summary, sizeof(cmds[ncmds].summary), "%s", gap);
        ncmds++;
    }
    release(&r);
    printf("# %d commands\n", ncmds);
    CHECK(ncmds >= 26);
    for (i = 0; i < ncmds; i++) {
        cmd *c = &cmds[i];
        char *copy, *nl;
        size_t skip = 7 + strlen(c->name); /* "strata NAME" */

        r = run(c->name, "--help", NULL);
        CHECK_EQ(r.code, 0);
        CHECK(strncmp(r.out, "usage: strata ", 14) == 0);
        nl = strchr(r.out, '\n');
        CHECK(nl != NULL);
        c->synopsis = strndup(r.out + 7, (size_t) (nl - r.out - 7));
        CHECK(strncmp(c->synopsis + 7, c->name, strlen(c->name)) == 0);
        /* The words after the name; a bracketed group counts as one. */
        copy = strdup(c->synopsis + skip);
        tokenize(c, copy);
        free(copy);
        release(&r);
    }
}

/* "FILE..." -> "FILE"; "[--format text|json]" -> "--format text|json". */
static void
strip(char *out, size_t size, const char *tok)
{
    size_t n = strlen(tok);

    if (n >= 3 && strcmp(tok + n - 3, "...") == 0)
        n -= 3;
    if (n >= 2 && tok[0] == '[' && tok[n - 1] == ']') {
        tok++;
        n -= 2;
    }
    snprintf(out, size, "%.*s", (int) n, tok);
}

static int
is_positional(const char *tok)
{
    return tok[0] >= 'A' && tok[0] <= 'Z';
}

/*
 * The arguments that satisfy c's required positionals and options. The
 * option names live in a static ring, valid until the next few calls.
 */
static int
required_args(char **args, const cmd *c)
{
    static char names[16][64];
    static int next;
    int i, n = 0;

    for (i = 0; i < c->ntokens; i++) {
        const char *t = c->tokens[i];

        if (is_positional(t)) {
            args[n++] = "x";
        } else if (strncmp(t, "--", 2) == 0 && strchr(t, ' ') != NULL) {
            /* A required option: the option's name, then a value (the
             * first of its choices, "--format a|b" -> "a"). */
            char *name = names[next++ % 16];
            const char *v = strchr(t, ' ') + 1;

            snprintf(name, 64, "%.*s", (int) strcspn(t, " "), t);
            args[n++] = name;
            if (strchr(v, '|') != NULL) {
                char *value = names[next++ % 16];

                snprintf(value, 64, "%.*s", (int) strcspn(v, "|"), v);
                args[n++] = value;
            } else {
                args[n++] = "x";
            }
        }
    }
    args[n] = NULL;
    return n;
}

/* ---- usage errors of every command -------------------------------------- */

TEST(every_command_is_listed_with_its_help)
{
    int i;

    load_commands();
    for (i = 0; i < ncmds; i++) {
        result r = run(cmds[i].name, "--help", NULL), h;

        CHECK_CONTAINS(r.out, cmds[i].summary);
        CHECK_CONTAINS(r.out, "\noptions:\n");
        CHECK_CONTAINS(r.out, "  -h, --help ");
        CHECK_STR_EQ(r.err, "");
        /* --help before the command's words, and -h, say the same. */
        h = run("--help", cmds[i].name, NULL);
        CHECK_STR_EQ(h.out, r.out);
        release(&h);
        h = run(cmds[i].name, "-h", NULL);
        CHECK_STR_EQ(h.out, r.out);
        release(&h);
        /* Every option of the usage line is explained. */
        {
            int k;

            for (k = 0; k < cmds[i].ntokens; k++) {
                char s[128], want[140];

                strip(s, sizeof(s), cmds[i].tokens[k]);
                if (strncmp(s, "--", 2) != 0)
                    continue;
                if (strchr(s, ' ') != NULL)
                    *strchr(s, ' ') = '\0';
                snprintf(want, sizeof(want), "%s", s);
                CHECK_CONTAINS(r.out, want);
            }
        }
        release(&r);
    }
    {
        const char *want[] = {"check-state", "backup",       "dockerfile refs",
                              "pin",         "config check", "run"};
        size_t k;
        int j, found;

        for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
            for (j = 0, found = 0; j < ncmds; j++)
                found |= strcmp(cmds[j].name, want[k]) == 0;
            CHECK(found);
        }
    }
}

TEST(unknown_options_every_command)
{
    int i;

    for (i = 0; i < ncmds; i++) {
        result r = run(cmds[i].name, "--no-such-option", NULL);

        check_usage_error(&r, cmds[i].name,
                          "unknown option '--no-such-option'");
        release(&r);
        r = run(cmds[i].name, "--no-such=1", NULL);
        check_usage_error(&r, cmds[i].name, "unknown option '--no-such'");
        release(&r);
        r = run(cmds[i].name, "-Z", NULL);
        check_usage_error(&r, cmds[i].name, "unknown option '-Z'");
        release(&r);
    }
}

TEST(missing_and_extra_arguments_every_command)
{
    int i, k, tested = 0;

    for (i = 0; i < ncmds; i++) {
        const cmd *c = &cmds[i];
        char *args[MAX_TOKENS * 2 + 4], *words[8], copy[64], *w, *save;
        int nwords = 0, n, optional = 0, many = 0, required = 0;
        char want[160];
        result r;

        snprintf(copy, sizeof(copy), "%.63s", c->name);
        for (w = strtok_r(copy, " ", &save); w != NULL;
             w = strtok_r(NULL, " ", &save))
            words[nwords++] = w;
        for (k = 0; k < c->ntokens; k++) {
            const char *t = c->tokens[k];

            if (is_positional(t))
                required++;
            else if (t[0] == '[' && is_positional(t + 1))
                optional++;
            many |= (is_positional(t) || is_positional(t + 1)) &&
                    strstr(t, "...") != NULL;
        }
        /* The first required positional is missing. */
        if (required > 0) {
            char s[64];

            strip(s, sizeof(s), c->tokens[0]);
            snprintf(want, sizeof(want), "expects %s", s);
            r = run(c->name, NULL);
            check_usage_error(&r, c->name, want);
            release(&r);
            tested++;
        }
        /* A required option is missing, the positionals are there. */
        for (k = 0; k < c->ntokens; k++) {
            if (strncmp(c->tokens[k], "--", 2) != 0)
                continue;
            n = 0;
            for (int j = 0; j < nwords; j++)
                args[n++] = words[j];
            for (int j = 0; j < required; j++)
                args[n++] = "x";
            args[n] = NULL;
            snprintf(want, sizeof(want), "expects %s", c->tokens[k]);
            r = run_argv(args);
            check_usage_error(&r, c->name, want);
            release(&r);
            break;
        }
        /* One positional too many. */
        if (!many) {
            n = 0;
            for (int j = 0; j < nwords; j++)
                args[n++] = words[j];
            n += required_args(args + n, c);
            for (k = 0; k < optional; k++)
                args[n++] = "x";
            args[n++] = "extra-word";
            args[n] = NULL;
            r = run_argv(args);
            check_usage_error(&r, c->name, "unexpected argument 'extra-word'");
            release(&r);
        }
    }
    printf("# %d commands with a required positional argument\n", tested);
    CHECK(tested >= 10);
}

TEST(option_values_every_command)
{
    int i, k, values = 0, flags = 0, choices = 0;

    for (i = 0; i < ncmds; i++) {
        const cmd *c = &cmds[i];

        for (k = 0; k < c->ntokens; k++) {
            char s[128], *space, want[512], eqv[160];
            result r;

            strip(s, sizeof(s), c->tokens[k]);
            if (strncmp(s, "--", 2) != 0 || strcmp(s, "-c FILE") == 0)
                continue;
            space = strchr(s, ' ');
            if (space == NULL) {
                /* A flag given a value. */
                snprintf(eqv, sizeof(eqv), "%s=1", s);
                snprintf(want, sizeof(want), "option '%s' takes no value", s);
                r = run(c->name, eqv, NULL);
                check_usage_error(&r, c->name, want);
                release(&r);
                flags++;
                continue;
            }
            *space = '\0';
            /* A value-taking option as the last word. */
            snprintf(want, sizeof(want), "option '%s' needs a value", s);
            r = run(c->name, s, NULL);
            check_usage_error(&r, c->name, want);
            release(&r);
            values++;
            /* text|json: anything else is refused, by both forms. */
            if (strchr(space + 1, '|') != NULL &&
                strchr(space + 1, '[') == NULL) {
                char list[128];
                size_t j, n = 0;

                for (j = 0; space[1 + j] != '\0' && n + 3 < sizeof(list); j++)
                    if (space[1 + j] == '|') {
                        list[n++] = ',';
                        list[n++] = ' ';
                    } else {
                        list[n++] = space[1 + j];
                    }
                list[n] = '\0';
                snprintf(want, sizeof(want),
                         "unknown value 'bogus' for '%s' (%s)", s, list);
                snprintf(eqv, sizeof(eqv), "%s=bogus", s);
                r = run(c->name, eqv, NULL);
                check_usage_error(&r, c->name, want);
                release(&r);
                r = run(c->name, s, "bogus", NULL);
                check_usage_error(&r, c->name, want);
                release(&r);
                choices++;
            }
        }
    }
    printf("# %d options with a value, %d flags, %d with choices\n", values,
           flags, choices);
    CHECK(values >= 20 && flags >= 10 && choices >= 10);
}

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    fputs(text, f);
    CHECK_EQ(fclose(f), 0);
}

/* A file of size bytes: "state_check: " and x's when value, else a
 * comment. */
static void
write_big(const char *path, size_t size, int value)
{
    FILE *f = fopen(path, "wb");
    const char *head = value ? "state_check: " : "# ";
    size_t i;

    CHECK(f != NULL);
    fputs(head, f);
    for (i = strlen(head); i + 1 < size; i++)
        fputc('x', f);
    fputc('\n', f);
    CHECK_EQ(fclose(f), 0);
}

TEST(configuration_problems_every_command)
{
    char missing[160], huge[160], longval[160];
    int i, tested = 0;

    snprintf(missing, sizeof(missing), "%s/missing.yaml", dir);
    /* issue 22: over 4 MiB exited 2 from some commands, 1 from others. */
    snprintf(huge, sizeof(huge), "%s/huge.yaml", dir);
    write_big(huge, 4 * 1024 * 1024 + 100, 0);
    /* A 4 MB value: the message says why before it quotes (a cut) value. */
    snprintf(longval, sizeof(longval), "%s/longval.yaml", dir);
    write_big(longval, 4000000, 1);
    for (i = 0; i < ncmds; i++) {
        const cmd *c = &cmds[i];
        char *args[MAX_TOKENS * 2 + 8], copy[64], *w, *save, want[512];
        int n = 0;
        result r;

        if (strstr(c->synopsis, "[-c FILE]") == NULL)
            continue;
        args[n++] = "-c";
        args[n++] = bad;
        snprintf(copy, sizeof(copy), "%.63s", c->name);
        for (w = strtok_r(copy, " ", &save); w != NULL;
             w = strtok_r(NULL, " ", &save))
            args[n++] = w;
        n += required_args(args + n, c);
        r = run_argv(args);
        /* Every problem, each as FILE:LINE:COL: message, and nothing else. */
        snprintf(want, sizeof(want),
                 "%s:2:1: unknown key 'registires' in the configuration; "
                 "did you mean 'registries'?\n"
                 "%s:3:8: 'watch' must be a mapping, not '12'\n",
                 bad, bad);
        if (r.code != 2 || strcmp(r.err, want) != 0)
            printf("# strata %s: exit %d\n", c->name, r.code),
                diag("stderr:", r.err);
        CHECK_EQ(r.code, 2);
        CHECK_STR_EQ(r.err, want);
        CHECK_STR_EQ(r.out, "");
        release(&r);
        /* An explicit -c that does not exist. */
        args[1] = missing;
        r = run_argv(args);
        snprintf(want, sizeof(want),
                 "strata: cannot open '%s': No such file or directory\n",
                 missing);
        CHECK_EQ(r.code, 2);
        CHECK_STR_EQ(r.err, want);
        release(&r);
        /* Over 4 MiB: the same exit and message from every command. */
        args[1] = huge;
        r = run_argv(args);
        snprintf(want, sizeof(want),
                 "strata: '%s' is larger than 4194304 bytes\n", huge);
        if (r.code != 2 || strcmp(r.err, want) != 0)
            printf("# strata %s: exit %d\n", c->name, r.code),
                diag("stderr:", r.err);
        CHECK_EQ(r.code, 2);
        CHECK_STR_EQ(r.err, want);
        release(&r);
        /* One line: the place and the reason, then at most 256 of the
         * value's bytes, then what is expected. */
        args[1] = longval;
        r = run_argv(args);
        snprintf(want, sizeof(want), "%s:1:14: unknown value 'xxxx", longval);
        CHECK_EQ(r.code, 2);
        CHECK(strncmp(r.err, want, strlen(want)) == 0);
        CHECK_CONTAINS(r.err, "' for 'state_check' (expected one of: off, "
                              "quick, full)\n");
        CHECK(strlen(r.err) < strlen(longval) + 400);
        release(&r);
        tested++;
    }
    printf("# %d commands read the configuration\n", tested);
    CHECK(tested >= 18);
}

/* ---- the forms the parser accepts --------------------------------------- */

TEST(option_forms_and_global_options)
{
    char df[160], cfg[160];
    result a, b;

    snprintf(df, sizeof(df), "%s/Dockerfile", dir);
    write_text(df, "FROM alpine:3-$TARGETARCH AS a\n"
                   "FROM --platform=$BUILDPLATFORM golang:1.22\n"
                   "COPY --from=a /x /y\n");
    a = run("dockerfile refs --platform=linux/arm64", df, NULL);
    b = run("dockerfile refs --platform linux/arm64", df, NULL);
    CHECK_EQ(a.code, 0);
    CHECK_STR_EQ(a.out, "1\tfrom\tdocker.io/library/alpine:3-arm64\n"
                        "2\tfrom\tdocker.io/library/golang:1.22\n");
    CHECK_STR_EQ(b.out, a.out);
    release(&b);
    /* Options after the positional argument, and "--" before a name. */
    b = run("dockerfile refs", df, "--platform", "linux/arm64", NULL);
    CHECK_STR_EQ(b.out, a.out);
    release(&b);
    b = run("dockerfile refs --platform linux/arm64 --", df, NULL);
    CHECK_STR_EQ(b.out, a.out);
    release(&b);
    release(&a);
    a = run("ref -- -x", NULL);
    CHECK_EQ(a.code, 2);
    CHECK_CONTAINS(a.err, "invalid reference '-x'");
    release(&a);
    a = run("version", NULL);
    b = run("--version", NULL);
    CHECK_EQ(a.code, 0);
    CHECK(strncmp(a.out, "strata ", 7) == 0);
    CHECK_STR_EQ(b.out, a.out);
    release(&a);
    release(&b);

    /* -c before, between and after the command's words. */
    snprintf(cfg, sizeof(cfg), "%s/ok.yaml", dir);
    write_text(cfg, "state: ./ok.db\n");
    a = run("-c", cfg, "config", "check", NULL);
    CHECK_EQ(a.code, 0);
    release(&a);
    a = run("config -c", bad, "check", NULL);
    CHECK_EQ(a.code, 2);
    CHECK_CONTAINS(a.err, "registires");
    release(&a);
    a = run("config check --config", bad, NULL);
    CHECK_EQ(a.code, 2);
    CHECK_CONTAINS(a.err, "registires");
    release(&a);
    a = run("config check --log-level debug --log-format=json -c", cfg, NULL);
    CHECK_EQ(a.code, 0);
    release(&a);
    a = run("--log-level loud version", NULL);
    CHECK_EQ(a.code, 2);
    CHECK_STR_EQ(a.err, "strata: unknown log level 'loud'\n");
    release(&a);
    a = run("--log-format=xml version", NULL);
    CHECK_EQ(a.code, 2);
    CHECK_STR_EQ(
        a.err, "strata: unknown value 'xml' for '--log-format' (text, json)\n");
    release(&a);
    a = run("-c", NULL);
    CHECK_EQ(a.code, 2);
    CHECK_STR_EQ(a.err, "strata: option '-c' needs a value\n");
    release(&a);
    /* config check needs a file: without one there is nothing to check. */
    a = run("config check", NULL);
    CHECK_EQ(a.code, 2);
    CHECK_STR_EQ(a.err, "strata: cannot open 'strata.yaml': No such file or "
                        "directory\n");
    release(&a);
    /* A group without its sub-command lists them. */
    a = run("graph", NULL);
    CHECK_EQ(a.code, 2);
    CHECK(strncmp(a.err, "usage:\n  strata graph ", 21) == 0);
    release(&a);
    a = run("nosuch", NULL);
    CHECK_EQ(a.code, 2);
    CHECK_STR_EQ(a.err, "strata: unknown command 'nosuch' (see 'strata "
                        "--help')\n");
    release(&a);
}

/* ---- many files in one run ---------------------------------------------- */

TEST(dockerfile_refs_of_many_files)
{
    char one[160], two[160], broken[160], missing[160], want[1024];
    result r, single;

    snprintf(one, sizeof(one), "%s/one.Dockerfile", dir);
    snprintf(two, sizeof(two), "%s/two.Dockerfile", dir);
    snprintf(broken, sizeof(broken), "%s/broken.Dockerfile", dir);
    snprintf(missing, sizeof(missing), "%s/missing.Dockerfile", dir);
    write_text(one, "FROM debian:12 AS build\nFROM build\n"
                    "COPY --from=nginx:1.25 /a /b\n");
    write_text(two, "ARG V=3.19\nFROM alpine:${V}\n");
    write_text(broken, "FROM Bad:Ref\nFROM busybox\n");

    /* One file: the form it always had, byte for byte. */
    single = run("dockerfile refs", one, NULL);
    CHECK_EQ(single.code, 0);
    CHECK_STR_EQ(single.out, "1\tfrom\tdocker.io/library/debian:12\n"
                             "3\tcopy-from\tdocker.io/library/nginx:1.25\n");
    /* -H: the file's name even for one. */
    r = run("dockerfile refs -H", one, NULL);
    snprintf(want, sizeof(want),
             "%s:1\tfrom\tdocker.io/library/debian:12\n"
             "%s:3\tcopy-from\tdocker.io/library/nginx:1.25\n",
             one, one);
    CHECK_STR_EQ(r.out, want);
    release(&r);

    /* Many: FILE: before each line, in the order given, every file read
     * even after one that cannot be; the worst exit status wins. */
    r = run("dockerfile refs", one, two, NULL);
    CHECK_EQ(r.code, 0);
    snprintf(want, sizeof(want),
             "%s:1\tfrom\tdocker.io/library/debian:12\n"
             "%s:3\tcopy-from\tdocker.io/library/nginx:1.25\n"
             "%s:2\tfrom\tdocker.io/library/alpine:3.19\n",
             one, one, two);
    CHECK_STR_EQ(r.out, want);
    CHECK_STR_EQ(r.err, "");
    release(&r);
    r = run("dockerfile refs", missing, broken, two, NULL);
    CHECK_EQ(r.code, 2);
    snprintf(want, sizeof(want),
             "%s:2\tfrom\tdocker.io/library/busybox:latest\n"
             "%s:2\tfrom\tdocker.io/library/alpine:3.19\n",
             broken, two);
    CHECK_STR_EQ(r.out, want);
    snprintf(want, sizeof(want),
             "%s: cannot open: No such file or directory\n"
             "%s:1: invalid reference 'Bad:Ref': repository name must be "
             "lowercase\n",
             missing, broken);
    CHECK_STR_EQ(r.err, want);
    release(&r);
    release(&single);
}

/*
 * docs/exit-codes.md has a row for every command `strata --help` lists,
 * with its 0, 1 and 2 (the general rules above are pinned by the tests
 * of every command; this keeps the table from missing one).
 */
TEST(exit_codes_are_documented)
{
    char *doc = slurp(STRATA_DOCS_DIR "/exit-codes.md"), row[128];
    int i;

    CHECK_CONTAINS(doc, "| `0` |");
    CHECK_CONTAINS(doc, "| `1` |");
    CHECK_CONTAINS(doc, "| `2` |");
    for (i = 0; i < ncmds; i++) {
        snprintf(row, sizeof(row), "\n| `strata %.63s` |", cmds[i].name);
        if (strstr(doc, row) == NULL)
            printf("# docs/exit-codes.md has no row for 'strata %s'\n",
                   cmds[i].name);
        CHECK(strstr(doc, row) != NULL);
    }
    free(doc);
}

/* ---- check-state and backup --------------------------------------------- */

static void
enqueue(strata_store *st, int i)
{
    strata_error err = {0};
    strata_store_job_spec spec = {0};
    char image[64];
    int64_t id;

    snprintf(image, sizeof(image), "registry.example.com/app%d", i);
    spec.image = image;
    spec.action = "pr";
    spec.base_ref = "docker.io/library/debian:12";
    spec.base_digest = "sha256:d1";
    CHECK_OK(strata_store_job_enqueue(&id, NULL, st, &spec, &err), &err);
}

static long long
count_jobs(const char *path)
{
    strata_store_options o = {0};
    strata_error err = {0};
    strata_store *st = NULL;
    json_t *list = NULL;
    long long n;

    o.readonly = 1;
    CHECK_OK(strata_store_open_with(&st, path, &o, &err), &err);
    CHECK_OK(strata_store_job_list(&list, st, 0, 0, -1, &err), &err);
    n = (long long) json_array_size(list);
    json_decref(list);
    strata_store_close(st);
    return n;
}

static uint64_t
file_hash(const char *path)
{
    char *data;
    uint64_t h = 1469598103934665603ULL;
    struct stat sb;
    FILE *f = fopen(path, "rb");
    size_t i;

    CHECK(f != NULL && stat(path, &sb) == 0);
    data = malloc((size_t) sb.st_size + 1);
    CHECK_EQ(fread(data, 1, (size_t) sb.st_size, f), (size_t) sb.st_size);
    fclose(f);
    for (i = 0; i < (size_t) sb.st_size; i++)
        h = (h ^ (unsigned char) data[i]) * 1099511628211ULL;
    free(data);
    return h;
}

static void
copy_file(const char *from, const char *to)
{
    char buf[8192];
    size_t n;
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");

    CHECK(in != NULL && out != NULL);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        CHECK_EQ(fwrite(buf, 1, n, out), n);
    fclose(in);
    CHECK_EQ(fclose(out), 0);
}

static void
remove_sidecars(const char *path)
{
    char p[256];

    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

TEST(check_state_finds_a_damaged_page)
{
    char cfg[160], db[160], pristine[160];
    strata_error err = {0};
    strata_store *st = NULL;
    json_t *doc;
    uint64_t before;
    long long size;
    unsigned char garbage[4096];
    struct stat sb;
    result r;
    size_t i;
    int fd;

    snprintf(cfg, sizeof(cfg), "%s/state.yaml", dir);
    snprintf(db, sizeof(db), "%s/state.db", dir);
    snprintf(pristine, sizeof(pristine), "%s/pristine.db", dir);
    write_text(cfg, "state: ./state.db\n");

    /* No database: nothing to check, bad input. */
    r = run("-c", cfg, "check-state", NULL);
    CHECK_EQ(r.code, 2);
    CHECK_CONTAINS(r.err, "no state database");
    release(&r);

    CHECK_OK(strata_store_open(&st, db, &err), &err);
    for (i = 0; i < 3000; i++)
        enqueue(st, (int) i);
    strata_store_close(st);
    remove_sidecars(db);
    copy_file(db, pristine);

    r = run("-c", cfg, "check-state", NULL);
    if (r.code != 0)
        diag("stderr:", r.err);
    CHECK_EQ(r.code, 0);
    CHECK_CONTAINS(r.out, "state.db: ok (quick_check");
    release(&r);
    r = run("-c", cfg, "check-state --full --format json", NULL);
    CHECK_EQ(r.code, 0);
    doc = json_loads(r.out, 0, NULL);
    CHECK(doc != NULL);
    CHECK(json_is_true(json_object_get(doc, "ok")));
    CHECK_STR_EQ(json_string_value(json_object_get(doc, "mode")), "full");
    CHECK_EQ(json_array_size(json_object_get(doc, "problems")), 0);
    json_decref(doc);
    release(&r);

    /* A page in the middle of the file overwritten with garbage. */
    CHECK_EQ(stat(db, &sb), 0);
    size = (long long) sb.st_size;
    CHECK(size > 16 * 4096);
    for (i = 0; i < sizeof(garbage); i++)
        garbage[i] = (unsigned char) (i * 131 + 7);
    fd = open(db, O_WRONLY);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, garbage, sizeof(garbage), (size / 2 / 4096) * 4096),
             (long) sizeof(garbage));
    close(fd);
    before = file_hash(db);

    r = run("-c", cfg, "check-state", NULL);
    diag("strata check-state:", r.out);
    CHECK_EQ(r.code, 1);
    CHECK_CONTAINS(r.out, "state.db: damaged: quick_check found ");
    CHECK_CONTAINS(r.out, "\n  ");
    release(&r);
    r = run("-c", cfg, "check-state --full --format=json", NULL);
    CHECK_EQ(r.code, 1);
    doc = json_loads(r.out, 0, NULL);
    CHECK(doc != NULL);
    CHECK(json_is_false(json_object_get(doc, "ok")));
    CHECK(json_array_size(json_object_get(doc, "problems")) > 0);
    json_decref(doc);
    release(&r);
    /* Read-only: the damaged file is exactly as it was, no -wal made. */
    CHECK_EQ(file_hash(db), before);

    /* A backup of a damaged database fails and leaves no file. */
    {
        char out[160];

        snprintf(out, sizeof(out), "%s/of-damaged.db", dir);
        r = run("-c", cfg, "backup", out, NULL);
        CHECK_EQ(r.code, 1);
        CHECK_CONTAINS(r.err, "damaged");
        CHECK(access(out, F_OK) != 0);
        release(&r);
    }

    /*
     * state_check: quick: `run --once` and the daemon check every page at
     * start and refuse the damaged file (exit 1, the reason), writing
     * nothing to it: no -wal, the bytes as they were.
     */
    {
        char qcfg[160];
        const char *const runs[] = {"run --once", "run --listen 127.0.0.1:0"};

        snprintf(qcfg, sizeof(qcfg), "%s/quick.yaml", dir);
        write_text(qcfg, "state: ./state.db\nstate_check: quick\n");
        for (i = 0; i < 2; i++) {
            r = run("-c", qcfg, runs[i], NULL);
            if (r.code != 1)
                diag("stderr:", r.err);
            CHECK_EQ(r.code, 1);
            CHECK_CONTAINS(r.err, "strata: refusing to start: database '");
            CHECK_CONTAINS(r.err, "state.db' is damaged: quick_check found ");
            CHECK_CONTAINS(r.err, "strata check-state");
            release(&r);
            CHECK_EQ(file_hash(db), before);
            {
                char wal[200];

                snprintf(wal, sizeof(wal), "%s-wal", db);
                CHECK(access(wal, F_OK) != 0);
            }
        }
    }

    /*
     * Without state_check the damage is met on the way (claiming a job,
     * recording an outcome): `run --once` must not exit 0 after logging
     * "database ... is corrupt" (issue 22: it did).
     */
    r = run("-c", cfg, "run --once", NULL);
    if (r.code != 1)
        diag("stderr:", r.err);
    CHECK_EQ(r.code, 1);
    CHECK_CONTAINS(r.err, "state.db' is ");
    release(&r);

    /* Restored from the pristine copy, as the README says. */
    copy_file(pristine, db);
    remove_sidecars(db);
    r = run("-c", cfg, "check-state --full", NULL);
    CHECK_EQ(r.code, 0);
    release(&r);
}

/*
 * issue 22: `run --once` exited 0 after "error planning: database ... is
 * corrupt". A state with 3,000 watched references (what the planner
 * reads first) and a page of them overwritten; no job, no repository, no
 * base configured, so only the store can fail the cycle. It must exit 1,
 * and say why.
 */
TEST(run_once_exits_1_after_a_store_error)
{
    char cfg[160], db[160], ref[96];
    strata_error err = {0};
    strata_store *st = NULL;
    unsigned char garbage[4096];
    struct stat sb;
    result r;
    size_t i;
    int fd;

    snprintf(cfg, sizeof(cfg), "%s/plan.yaml", dir);
    snprintf(db, sizeof(db), "%s/plan.db", dir);
    write_text(cfg, "state: ./plan.db\n");
    CHECK_OK(strata_store_open(&st, db, &err), &err);
    CHECK_OK(strata_store_begin(st, &err), &err);
    for (i = 0; i < 3000; i++) {
        strata_store_observation obs = {0};

        snprintf(ref, sizeof(ref), "registry.example.com/base%zu:1", i);
        obs.ref = ref;
        obs.digest = "sha256:"
                     "0123456789abcdef0123456789abcdef"
                     "0123456789abcdef0123456789abcdef";
        CHECK_OK(strata_store_watch_observe(NULL, NULL, st, &obs, &err), &err);
    }
    CHECK_OK(strata_store_commit(st, &err), &err);
    strata_store_close(st);
    remove_sidecars(db);

    /* A clean cycle first: nothing to do, exit 0. */
    r = run("-c", cfg, "run --once", NULL);
    if (r.code != 0)
        diag("stderr:", r.err);
    CHECK_EQ(r.code, 0);
    release(&r);
    remove_sidecars(db);

    CHECK_EQ(stat(db, &sb), 0);
    CHECK(sb.st_size > 16 * 4096);
    for (i = 0; i < sizeof(garbage); i++)
        garbage[i] = (unsigned char) (i * 131 + 7);
    /* Every page of the second half: what the planner reads is there. */
    fd = open(db, O_WRONLY);
    CHECK(fd >= 0);
    for (i = (size_t) sb.st_size / 2 / 4096; i < (size_t) sb.st_size / 4096;
         i++)
        CHECK_EQ(pwrite(fd, garbage, sizeof(garbage), (off_t) i * 4096),
                 (long) sizeof(garbage));
    close(fd);

    r = run("-c", cfg, "run --once", NULL);
    diag("strata run --once (stderr):", r.err);
    CHECK_EQ(r.code, 1);
    CHECK_CONTAINS(r.err, "plan.db' is ");
    release(&r);
    r = run("-c", cfg, "run --once --json", NULL);
    CHECK_EQ(r.code, 1);
    CHECK_CONTAINS(r.out, "\"store_errors\"");
    release(&r);
    /* The same failure, the same code: plan reads what run --once did. */
    r = run("-c", cfg, "plan", NULL);
    CHECK_EQ(r.code, 1);
    CHECK_CONTAINS(r.err, "plan.db' is corrupt");
    release(&r);
}

/* Enqueues jobs into path from another process until stop exists. */
static pid_t
start_writer(const char *path, const char *stop)
{
    pid_t pid;

    fflush(stdout);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        strata_error err = {0};
        strata_store *st = NULL;
        int i;

        if (strata_store_open(&st, path, &err) != 0)
            _exit(1);
        for (i = 100000; access(stop, F_OK) != 0; i++)
            enqueue(st, i);
        strata_store_close(st);
        _exit(0);
    }
    return pid;
}

TEST(backup_while_another_process_writes)
{
    char cfg[160], db[160], out[160], stop[160], copy_cfg[160];
    strata_error err = {0};
    strata_store *st = NULL;
    long long last = 0, n;
    uint64_t h;
    pid_t pid;
    result r;
    int i, status;

    snprintf(cfg, sizeof(cfg), "%s/live.yaml", dir);
    snprintf(db, sizeof(db), "%s/live.db", dir);
    snprintf(out, sizeof(out), "%s/live-backup.db", dir);
    snprintf(stop, sizeof(stop), "%s/stop", dir);
    snprintf(copy_cfg, sizeof(copy_cfg), "%s/copy.yaml", dir);
    write_text(cfg, "state: ./live.db\n");
    write_text(copy_cfg, "state: ./live-backup.db\n");
    CHECK_OK(strata_store_open(&st, db, &err), &err);
    for (i = 0; i < 500; i++)
        enqueue(st, i);
    strata_store_close(st);

    pid = start_writer(db, stop);
    usleep(100 * 1000);
    for (i = 0; i < 5; i++) {
        r = run("-c", cfg, "backup --force", out, NULL);
        if (r.code != 0)
            diag("stderr:", r.err);
        CHECK_EQ(r.code, 0);
        CHECK_CONTAINS(r.out, "backed up ");
        release(&r);
        /* Each copy is sound, and holds at least what the last one did. */
        r = run("-c", copy_cfg, "check-state --full", NULL);
        CHECK_EQ(r.code, 0);
        release(&r);
        n = count_jobs(out);
        CHECK(n >= 500 && n >= last);
        last = n;
        usleep(20 * 1000);
    }
    /* An existing PATH is refused without --force, and left alone. */
    h = file_hash(out);
    r = run("-c", cfg, "backup", out, NULL);
    CHECK_EQ(r.code, 2);
    CHECK_CONTAINS(r.err, "exists: pass --force");
    release(&r);
    CHECK_EQ(file_hash(out), h);
    close(open(stop, O_CREAT | O_WRONLY, 0600));
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("# the writer reached %lld jobs; the last backup has %lld\n",
           count_jobs(db), last);
    CHECK(count_jobs(db) > 500);
    /* Onto the database itself: refused. */
    r = run("-c", cfg, "backup --force", db, NULL);
    CHECK_EQ(r.code, 2);
    CHECK_CONTAINS(r.err, "onto itself");
    release(&r);

    /* Restore: stop, copy the backup over the state, drop -wal/-shm. */
    copy_file(out, db);
    remove_sidecars(db);
    r = run("-c", cfg, "jobs --format json --limit 100000", NULL);
    CHECK_EQ(r.code, 0);
    {
        json_t *jobs = json_loads(r.out, 0, NULL);

        CHECK(jobs != NULL);
        CHECK_EQ((long long) json_array_size(jobs), last);
        json_decref(jobs);
    }
    release(&r);
}

int
main(void)
{
    char cmdline[200];
    int i, k;

    exe = getenv("STRATA_EXE");
    if (exe == NULL)
        SKIP_ALL("STRATA_EXE not set");
    snprintf(dir, sizeof(dir), "/tmp/strata-test-cli-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(bad, sizeof(bad), "%s/bad.yaml", dir);
    write_text(bad, "state: ./x.db\nregistires: []\nwatch: 12\n");
    RUN(every_command_is_listed_with_its_help);
    RUN(unknown_options_every_command);
    RUN(missing_and_extra_arguments_every_command);
    RUN(option_values_every_command);
    RUN(configuration_problems_every_command);
    RUN(exit_codes_are_documented);
    RUN(option_forms_and_global_options);
    RUN(dockerfile_refs_of_many_files);
    RUN(check_state_finds_a_damaged_page);
    RUN(run_once_exits_1_after_a_store_error);
    RUN(backup_while_another_process_writes);
    for (i = 0; i < ncmds; i++) {
        free(cmds[i].synopsis);
        for (k = 0; k < cmds[i].ntokens; k++)
            free(cmds[i].tokens[k]);
    }
    snprintf(cmdline, sizeof(cmdline), "rm -rf '%s'", dir);
    if (system(cmdline) != 0)
        printf("# could not remove %s\n", dir);
    return harness_done();
}
