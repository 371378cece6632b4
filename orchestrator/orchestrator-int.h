/*
 * orchestrator-int.h - what the files of the orchestrator module share:
 * the command table (one file per subcommand exports one entry, as in
 * tmux's cmd-*.c) and the CLI context handed to every command.
 */
#ifndef STRATA_ORCHESTRATOR_INT_H
#define STRATA_ORCHESTRATOR_INT_H

#include "core.h"

/* Exit codes of the command-line contract (DESIGN.md). */
enum {
    STRATA_EXIT_OK = 0,
    STRATA_EXIT_PROBLEM = 1, /* the work found a problem or failed */
    STRATA_EXIT_USAGE = 2,   /* bad usage, bad input or bad config */
};

/* What main() parsed before handing over to a command. */
typedef struct strata_cli {
    const char *config_path; /* -c FILE; "strata.yaml" by default */
    int config_explicit;     /* -c was given */
    const char *argv0;
} strata_cli;

typedef struct strata_cmd_entry {
    const char *name;    /* "config check": the words that select it */
    const char *usage;   /* "[--once]": arguments after the name */
    const char *summary; /* one line for `strata --help` */
    const char *help;    /* the rest of `strata CMD --help`, or NULL */
    /* argv[0] is the command name; returns an exit code. */
    int (*exec)(strata_cli *cli, int argc, char **argv);
} strata_cmd_entry;

/* The table, NULL-terminated, in cmd.c. */
extern const strata_cmd_entry *const strata_cmd_table[];

/* Prints "usage: strata NAME USAGE" and the help text to f. */
void strata_cmd_usage(const strata_cmd_entry *cmd, FILE *f);

/*
 * Maps an error code to an exit code: bad input and usage give 2,
 * everything else 1.
 */
int strata_cmd_exit_code(int code);

/* Prints "strata: <msg>" to stderr and returns strata_cmd_exit_code(). */
int strata_cmd_fail(const strata_error *err);

/* Command entries, one per cmd-*.c file. */
extern const strata_cmd_entry strata_cmd_version;
extern const strata_cmd_entry strata_cmd_ref;

#endif
