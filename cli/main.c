/*
 * main.c - the strata binary: global options (-c, --log-level,
 * --log-format, --help, --version), then the longest command name in the
 * table that matches the leading words of argv. Global options may stand
 * anywhere before a "--"; everything else is the command's.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
usage(FILE *f)
{
    size_t i;

    fprintf(f, "usage: strata [-c FILE] [--log-level LEVEL] "
               "[--log-format text|json] COMMAND [ARGS]\n\n"
               "strata keeps container images on fresh, trusted base "
               "images.\n\ncommands:\n");
    for (i = 0; strata_cmd_table[i] != NULL; i++)
        fprintf(f, "  %-22s %s\n", strata_cmd_table[i]->name,
                strata_cmd_table[i]->summary);
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
        if (strncmp(c->name, group, glen) == 0 && c->name[glen] == ' ') {
            if (!found)
                fprintf(f, "usage:\n");
            fprintf(f, "  strata %s %s\n", c->name, c->usage);
            found = 1;
        }
    }
    return found;
}

static int
take_value(int *i, int argc, char **argv, const char *opt, const char **out)
{
    size_t olen = strlen(opt);

    if (strcmp(argv[*i], opt) == 0) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "strata: option '%s' needs a value\n", opt);
            return -1;
        }
        *out = argv[++*i];
        return 1;
    }
    if (strncmp(argv[*i], opt, olen) == 0 && argv[*i][olen] == '=') {
        *out = argv[*i] + olen + 1;
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    strata_cli cli = {.config_path = "strata.yaml", .argv0 = argv[0]};
    strata_log_level level = STRATA_LOG_INFO;
    strata_log_format format = STRATA_LOG_TEXT;
    const strata_cmd_entry *best = NULL;
    char **rest;
    int nrest = 0, want_help = 0, after_dashes = 0, best_words = 0;
    int i, r;

    /* A child that exits without reading its stdin must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    rest = strata_xcalloc((size_t) argc + 1, sizeof(*rest));
    for (i = 1; i < argc; i++) {
        const char *val = NULL;

        if (after_dashes) {
            rest[nrest++] = argv[i];
            continue;
        }
        if (strcmp(argv[i], "--") == 0) {
            after_dashes = 1;
            rest[nrest++] = argv[i];
            continue;
        }
        if ((r = take_value(&i, argc, argv, "-c", &val)) != 0 ||
            (r = take_value(&i, argc, argv, "--config", &val)) != 0) {
            if (r < 0)
                goto usage_error;
            cli.config_path = val;
            cli.config_explicit = 1;
        } else if ((r = take_value(&i, argc, argv, "--log-level", &val)) != 0) {
            if (r < 0)
                goto usage_error;
            cli.log_explicit = 1;
            if (strata_log_parse_level(&level, val) != 0) {
                fprintf(stderr, "strata: unknown log level '%s'\n", val);
                goto usage_error;
            }
        } else if ((r = take_value(&i, argc, argv, "--log-format", &val)) !=
                   0) {
            if (r < 0)
                goto usage_error;
            cli.log_explicit = 1;
            if (strcmp(val, "json") == 0)
                format = STRATA_LOG_JSON;
            else if (strcmp(val, "text") == 0)
                format = STRATA_LOG_TEXT;
            else {
                fprintf(stderr, "strata: unknown log format '%s'\n", val);
                goto usage_error;
            }
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            want_help = 1;
        } else if (strcmp(argv[i], "--version") == 0 && nrest == 0) {
            printf("strata %s\n", STRATA_VERSION);
            free(rest);
            return STRATA_EXIT_OK;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    strata_log_setup(level, format);

    if (nrest == 0) {
        usage(want_help ? stdout : stderr);
        free(rest);
        return want_help ? STRATA_EXIT_OK : STRATA_EXIT_USAGE;
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
            free(rest);
            return want_help ? STRATA_EXIT_OK : STRATA_EXIT_USAGE;
        }
        fprintf(stderr, "strata: unknown command '%s' (see 'strata --help')\n",
                rest[0]);
        goto usage_error;
    }
    if (want_help) {
        strata_cmd_usage(best, stdout);
        free(rest);
        return STRATA_EXIT_OK;
    }
    /* The command sees its own name as argv[0], then its arguments. */
    rest[best_words - 1] = (char *) best->name;
    r = best->exec(&cli, nrest - best_words + 1, rest + best_words - 1);
    free(rest);
    return r;

usage_error:
    free(rest);
    return STRATA_EXIT_USAGE;
}
