/*
 * main.c - the strata binary: global options (-c, --log-level,
 * --log-format, --help, --version), then the longest command name in the
 * table that matches the leading words of argv, run by strata_cmd_exec()
 * (cmd.c). The global options are declared like a command's and taken
 * out of argv wherever they stand before a "--"; everything else is the
 * command's. Nothing is initialised here that a command does not need:
 * each command sets up the libraries it uses itself.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const strata_cmd_opt strata_cmd_global_opts[] = {
    {"config", 'c', STRATA_OPT_VALUE, "FILE", NULL,
     "the configuration (default ./strata.yaml)"},
    {"log-level", 0, STRATA_OPT_VALUE, "LEVEL", NULL,
     "debug, info (default), warn or error; on stderr"},
    {"log-format", 0, STRATA_OPT_VALUE, NULL, "text|json",
     "log lines as text (default) or one JSON object each"},
    {"help", 'h', 0, NULL, NULL, "this help, or with a command, the command's"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

/* Only before the command's words: after them it is the command's. */
const strata_cmd_opt strata_cmd_version_opts[] = {
    {"version", 0, 0, NULL, NULL, "print 'strata X.Y.Z' and exit"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const strata_cmd_entry globals = {
    .name = "",
    .opts = strata_cmd_global_opts,
    .max_args = STRATA_ARGS_MANY,
};

static void
usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: strata [-c FILE] [--log-level LEVEL] "
               "[--log-format text|json] COMMAND [ARGS]\n\n" STRATA_CMD_ABOUT
               "\n\ncommands:\n");
    for (i = 0; strata_cmd_table[i] != NULL; i++)
        if (!strata_cmd_table[i]->hidden)
            fprintf(f, "  %-22s %s\n", strata_cmd_table[i]->name,
                    strata_cmd_table[i]->summary);
    fprintf(f, "\nglobal options (before or after the command's words):\n");
    strata_cmd_options(strata_cmd_global_opts, f);
    strata_cmd_options(strata_cmd_version_opts, f);
    fprintf(f, "\nRun 'strata COMMAND --help' for a command's options.\n"
               "Exit status: 0 success, 1 a problem was found, "
               "2 bad usage, input or config.\n");
}

/* How many leading words of argv spell name ("graph show" = 2), or 0. */
static int
match_words(const char *name, int argc, char **argv)
{
    const char *p = name;
    int n = 0;

    while (*p != '\0') {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t) (sp - p) : strlen(p);

        if (n >= argc || strlen(argv[n]) != len ||
            strncmp(argv[n], p, len) != 0)
            return 0;
        n++;
        p += len;
        if (*p == ' ')
            p++;
    }
    return n;
}

/* A command group ("graph") with no sub-command: list its commands. */
static int
group_usage(const char *group, FILE *f)
{
    size_t i, glen = strlen(group);
    int found = 0;

    for (i = 0; strata_cmd_table[i] != NULL; i++) {
        const strata_cmd_entry *c = strata_cmd_table[i];
        if (!c->hidden && strncmp(c->name, group, glen) == 0 &&
            c->name[glen] == ' ') {
            if (!found)
                fprintf(f, "usage:\n");
            fprintf(f, "  ");
            strata_cmd_synopsis(c, f);
            fprintf(f, "\n");
            found = 1;
        }
    }
    return found;
}

/* Applies --log-level and --log-format; 0 or STRATA_EXIT_USAGE. */
static int
setup_log(strata_cli *cli, const strata_args *g)
{
    strata_log_level level = STRATA_LOG_INFO;
    const char *v;

    if ((v = strata_args_get(g, "log-level")) != NULL &&
        strata_log_parse_level(&level, v) != 0) {
        fprintf(stderr, "strata: unknown log level '%s'\n", v);
        return STRATA_EXIT_USAGE;
    }
    v = strata_args_get(g, "log-format");
    cli->log_explicit = strata_args_has(g, "log-level") || v != NULL;
    strata_log_setup(level, v != NULL && strcmp(v, "json") == 0
                                ? STRATA_LOG_JSON
                                : STRATA_LOG_TEXT);
    return 0;
}

int
main(int argc, char **argv)
{
    strata_cli cli = {.config_path = "strata.yaml", .argv0 = argv[0]};
    const strata_cmd_entry *best = NULL;
    strata_args *g = NULL;
    strata_error err = {0};
    int nrest = argc - 1, want_help, best_words = 0, i, rc;
    char **rest = argv + 1;

    /* A child that exits without reading its stdin must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (strata_args_take(&g, &globals, &nrest, rest, &err) != 0) {
        fprintf(stderr, "strata: %s\n", err.msg);
        return STRATA_EXIT_USAGE;
    }
    if (strata_args_get(g, "config") != NULL) {
        cli.config_path = strata_args_get(g, "config");
        cli.config_explicit = 1;
    }
    want_help = strata_args_has(g, "help");
    /* --version before any command word; after one it is the command's. */
    if (nrest > 0 && strcmp(rest[0], "--version") == 0) {
        printf("strata %s\n", STRATA_VERSION);
        rc = STRATA_EXIT_OK;
        goto out;
    }
    if ((rc = setup_log(&cli, g)) != 0)
        goto out;
    if (nrest == 0) {
        usage(want_help ? stdout : stderr);
        rc = want_help ? STRATA_EXIT_OK : STRATA_EXIT_USAGE;
        goto out;
    }
    for (i = 0; strata_cmd_table[i] != NULL; i++) {
        int w = match_words(strata_cmd_table[i]->name, nrest, rest);
        if (w > best_words) {
            best_words = w;
            best = strata_cmd_table[i];
        }
    }
    if (best == NULL) {
        if (group_usage(rest[0], want_help ? stdout : stderr)) {
            rc = want_help ? STRATA_EXIT_OK : STRATA_EXIT_USAGE;
            goto out;
        }
        fprintf(stderr, "strata: unknown command '%s' (see 'strata --help')\n",
                rest[0]);
        rc = STRATA_EXIT_USAGE;
        goto out;
    }
    if (want_help) {
        strata_cmd_usage(best, stdout);
        rc = STRATA_EXIT_OK;
        goto out;
    }
    rc = strata_cmd_exec(best, &cli, nrest - best_words, rest + best_words);
out:
    strata_args_free(g);
    return rc;
}
