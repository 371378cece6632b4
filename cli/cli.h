/*
 * cli.h - what the files of the command line share: the command table
 * (one file per subcommand exports one entry, as in tmux's cmd-*.c), the
 * declarations each entry makes of its options and arguments, the parsed
 * arguments a command reads them from (args.c), and the context handed to
 * every command.
 *
 * A command never looks at argv. It declares its options (long name,
 * short name, whether each takes a value, may repeat or is required, the
 * values it accepts, a help line), its positional arguments (names, how
 * many) and whether it reads the configuration and the golden catalog.
 * main.c finds the command, args.c parses argv against the declaration
 * (one parser, one set of usage errors, exit 2), cmd.c loads the
 * configuration and the catalog and prints their problems, all before
 * the command's exec runs; --help prints usage generated from the same
 * declaration.
 */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "core.h"
#include "graph.h"
#include "oci.h"
#include "store.h"

/* What main() parsed before handing over to a command. */
typedef struct strata_cli {
    const char *config_path; /* -c FILE; "strata.yaml" by default */
    int config_explicit;     /* -c was given */
    int log_explicit;        /* --log-level or --log-format was given */
    const char *argv0;
} strata_cli;

/* ---- declared options and arguments (args.c) -------------------------- */

/* strata_cmd_opt.flags */
#define STRATA_OPT_VALUE 0x1    /* takes a value: --name V, --name=V, -x V */
#define STRATA_OPT_REPEAT 0x2   /* may repeat; every value kept, in order */
#define STRATA_OPT_REQUIRED 0x4 /* must be given (implies a value) */
#define STRATA_OPT_NUMBER 0x8   /* the value is a whole number above 0 */

typedef struct strata_cmd_opt {
    const char *name;    /* the long name without "--": "format" */
    char short_name;     /* 'H' for -H, or 0; never 'c' or 'h' (global) */
    unsigned flags;      /* STRATA_OPT_* */
    const char *value;   /* the value's name in usage ("FILE"); NULL: a flag */
    const char *choices; /* "text|json": the only values accepted, or NULL */
    const char *help;    /* one line for --help */
} strata_cmd_opt;

/* No upper bound on the positional arguments (strata_cmd_entry.max_args). */
#define STRATA_ARGS_MANY (-1)

/* What a command needs loaded before it runs (cmd.c does it). */
typedef enum strata_cmd_config {
    STRATA_CMD_CONFIG_NONE = 0, /* never reads the configuration */
    /* -c FILE; else ./strata.yaml when it exists; else the embedded
     * defaults (strata_config_load_or_default) */
    STRATA_CMD_CONFIG_OPTIONAL,
    /* -c FILE, else ./strata.yaml, which must exist (config check) */
    STRATA_CMD_CONFIG_REQUIRED,
    /* as OPTIONAL, checked and its problems printed here, but then freed:
     * the command loads its own (the daemon, which reloads it on SIGHUP) */
    STRATA_CMD_CONFIG_SELF,
} strata_cmd_config;

typedef enum strata_cmd_catalog {
    STRATA_CMD_CATALOG_NONE = 0,
    /* --catalog FILE (when declared), else the configuration's catalog:,
     * else none */
    STRATA_CMD_CATALOG_OPTIONAL,
    /* the same, and having none is an error (exit 2) */
    STRATA_CMD_CATALOG_REQUIRED,
} strata_cmd_catalog;

typedef struct strata_cmd_ctx strata_cmd_ctx;

typedef struct strata_cmd_entry {
    const char *name;           /* "config check": the words that select it */
    const char *summary;        /* one line for `strata --help` */
    const char *help;           /* prose for `strata CMD --help`, or NULL */
    const strata_cmd_opt *opts; /* ends with an entry whose name is NULL */
    /* The positional arguments' names, space-separated ("IMAGE"); when
     * max_args is larger than their number, the last one repeats. */
    const char *args;
    int min_args, max_args; /* max_args: STRATA_ARGS_MANY for no bound */
    strata_cmd_config config;
    strata_cmd_catalog catalog;
    /* Returns an exit code (STRATA_EXIT_*). */
    int (*exec)(strata_cmd_ctx *ctx);
    /*
     * Not listed by `strata --help` nor given a man page: the internal
     * commands that the build and the shell completions call (their names
     * start with "__").
     */
    int hidden;
} strata_cmd_entry;

/* Parsed arguments: what argv said, by the names the entry declared. */
typedef struct strata_args strata_args;

/*
 * Parses argv (the words after the command's name) against cmd's
 * declaration. Accepts --name VALUE, --name=VALUE, -x VALUE, -xVALUE,
 * grouped short flags (-Hq), and "--", after which every word is
 * positional; a lone "-" is positional. Checks the number of positional
 * arguments, required options, choices and numbers. On a usage error
 * returns STRATA_EUSAGE with a one-line message ("unknown option '--x'",
 * "option '--format' needs a value", "expects FILE") and *out NULL.
 * *out borrows argv; strata_args_free it.
 */
int strata_args_parse(strata_args **out, const strata_cmd_entry *cmd, int argc,
                      char **argv, strata_error *err);
/*
 * Takes the options decl declares out of argv wherever they stand before
 * a "--" (the global options: -c FILE before or after the command's
 * words) and leaves every other word in *argc/argv, in order. Errors as
 * strata_args_parse; positional counts are not checked.
 */
int strata_args_take(strata_args **out, const strata_cmd_entry *decl, int *argc,
                     char **argv, strata_error *err);
void strata_args_free(strata_args *args);

/*
 * The value of option name (its last one when repeated), or NULL when it
 * was not given. name must be declared by the command (asserted).
 */
const char *strata_args_get(const strata_args *args, const char *name);
/* How many times option name was given (a flag: 0 or more). */
int strata_args_has(const strata_args *args, const char *name);
/* Every value of option name, in the order given; *out is borrowed. */
size_t strata_args_values(const strata_args *args, const char *name,
                          const char *const **out);
/* A STRATA_OPT_NUMBER option's value, or dflt when it was not given. */
long long strata_args_number(const strata_args *args, const char *name,
                             long long dflt);
/* The positional arguments. */
size_t strata_args_count(const strata_args *args);
const char *strata_args_arg(const strata_args *args, size_t i);

/* "strata NAME ARGS [OPTIONS] [-c FILE]", without a newline, to f. */
void strata_cmd_synopsis(const strata_cmd_entry *cmd, FILE *f);
/* "usage: " and the synopsis: one line, to f. */
void strata_cmd_usage_line(const strata_cmd_entry *cmd, FILE *f);
/* One line per option, "  -x, --name VALUE  help", to f. */
void strata_cmd_options(const strata_cmd_opt *opts, FILE *f);
/* `strata CMD --help`: usage, summary, help prose and every option. */
void strata_cmd_usage(const strata_cmd_entry *cmd, FILE *f);
/* What `strata CMD --help` says of -c FILE, or NULL when cmd reads none. */
const char *strata_cmd_config_help(const strata_cmd_entry *cmd);
/* Whether o takes a value, and the value's name in usage ("FILE"). */
int strata_cmd_opt_takes_value(const strata_cmd_opt *o);
const char *strata_cmd_opt_value_name(const strata_cmd_opt *o);
/* The name of cmd's positional argument i ("FILE"; the last repeats). */
void strata_cmd_arg_name(char *buf, size_t size, const strata_cmd_entry *cmd,
                         size_t i);

/* The global options (main.c), and --version, which only leads. */
extern const strata_cmd_opt strata_cmd_global_opts[];
extern const strata_cmd_opt strata_cmd_version_opts[];
/* What strata is, in one sentence: `strata --help` and strata(1). */
#define STRATA_CMD_ABOUT                                                       \
    "strata keeps container images on fresh, trusted base images."

/* ---- running a command (cmd.c) ---------------------------------------- */

/* What a command's exec gets. Everything in it is borrowed. */
struct strata_cmd_ctx {
    const strata_cmd_entry *cmd;
    strata_cli *cli;
    const strata_args *args;
    /* Loaded when cmd->config is OPTIONAL or REQUIRED, else NULL. */
    strata_config *config;
    /* Loaded when cmd->catalog says so and there is one, else NULL. */
    strata_catalog *catalog;
};

/*
 * Parses argv for cmd, loads what it declares, runs it and returns its
 * exit code: 2 after printing "strata NAME: <message>" and the usage line
 * for a usage error, or every problem of the configuration or catalog as
 * FILE:LINE:COL: message ("strata: <message>" when the file cannot be
 * read at all).
 */
int strata_cmd_exec(const strata_cmd_entry *cmd, strata_cli *cli, int argc,
                    char **argv);

/* The table, NULL-terminated, in cmd.c. */
extern const strata_cmd_entry *const strata_cmd_table[];

/* Prints "strata: <msg>" to stderr and returns strata_exit_code(). */
int strata_cmd_fail(const strata_error *err);

/*
 * A usage error found by the command itself (two options that exclude
 * each other): prints "strata NAME: <fmt...>" and the usage line, and
 * returns STRATA_EXIT_USAGE.
 */
int strata_cmd_usage_error(const strata_cmd_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Opens the store at the loaded configuration's `state`. */
int strata_cmd_open_store(strata_store **st, const strata_cmd_ctx *ctx,
                          strata_error *err);

/* Command entries, one per cmd-*.c file. */
extern const strata_cmd_entry strata_cmd_version;
extern const strata_cmd_entry strata_cmd_run;
extern const strata_cmd_entry strata_cmd_plan;
extern const strata_cmd_entry strata_cmd_jobs;
extern const strata_cmd_entry strata_cmd_events;
extern const strata_cmd_entry strata_cmd_approve;
extern const strata_cmd_entry strata_cmd_rollout_list;
extern const strata_cmd_entry strata_cmd_rollout_show;
extern const strata_cmd_entry strata_cmd_rollout_resume;
extern const strata_cmd_entry strata_cmd_rollout_abort;
extern const strata_cmd_entry strata_cmd_ref;
extern const strata_cmd_entry strata_cmd_digest;
extern const strata_cmd_entry strata_cmd_diff;
extern const strata_cmd_entry strata_cmd_sbom;
extern const strata_cmd_entry strata_cmd_config_check;
extern const strata_cmd_entry strata_cmd_dockerfile_refs;
extern const strata_cmd_entry strata_cmd_notify_test;
extern const strata_cmd_entry strata_cmd_notify_outbox;
extern const strata_cmd_entry strata_cmd_watch;
extern const strata_cmd_entry strata_cmd_report_stale;
extern const strata_cmd_entry strata_cmd_catalog_list;
extern const strata_cmd_entry strata_cmd_catalog_status;
extern const strata_cmd_entry strata_cmd_catalog_check;
extern const strata_cmd_entry strata_cmd_discover;
extern const strata_cmd_entry strata_cmd_graph_scan;
extern const strata_cmd_entry strata_cmd_graph_show;
extern const strata_cmd_entry strata_cmd_graph_impacted;
extern const strata_cmd_entry strata_cmd_rebase;
extern const strata_cmd_entry strata_cmd_pin;
extern const strata_cmd_entry strata_cmd_scan_report;
extern const strata_cmd_entry strata_cmd_scan_diff;
extern const strata_cmd_entry strata_cmd_check_state;
extern const strata_cmd_entry strata_cmd_backup;
extern const strata_cmd_entry strata_cmd_verify;
extern const strata_cmd_entry strata_cmd_verify_bundle;
extern const strata_cmd_entry strata_cmd_init;
extern const strata_cmd_entry strata_cmd_describe; /* hidden */
extern const strata_cmd_entry strata_cmd_complete; /* hidden */

/*
 * cmd-verify.c: one line per base whose current digest the signature gate
 * holds (awaiting, quarantined) or let through unverified (warn mode):
 * "held  REF@DIGEST  STATE: REASON".
 */
void strata_cmd_print_held(strata_store *st);

#endif
