/*
 * cli.h - what the files of the command line share: the command table
 * (one file per subcommand exports one entry, as in tmux's cmd-*.c) and
 * the context handed to every command.
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

/* Prints "strata: <msg>" to stderr and returns strata_exit_code(). */
int strata_cmd_fail(const strata_error *err);

/* Command entries, one per cmd-*.c file. */
extern const strata_cmd_entry strata_cmd_version;
extern const strata_cmd_entry strata_cmd_run;
extern const strata_cmd_entry strata_cmd_plan;
extern const strata_cmd_entry strata_cmd_jobs;
extern const strata_cmd_entry strata_cmd_events;
extern const strata_cmd_entry strata_cmd_approve;
extern const strata_cmd_entry strata_cmd_ref;
extern const strata_cmd_entry strata_cmd_digest;
extern const strata_cmd_entry strata_cmd_config_check;
extern const strata_cmd_entry strata_cmd_dockerfile_refs;
extern const strata_cmd_entry strata_cmd_notify_test;
extern const strata_cmd_entry strata_cmd_notify_outbox;
extern const strata_cmd_entry strata_cmd_watch;
extern const strata_cmd_entry strata_cmd_report_stale;
extern const strata_cmd_entry strata_cmd_catalog_list;
extern const strata_cmd_entry strata_cmd_catalog_status;
extern const strata_cmd_entry strata_cmd_catalog_check;
extern const strata_cmd_entry strata_cmd_graph_scan;
extern const strata_cmd_entry strata_cmd_graph_show;
extern const strata_cmd_entry strata_cmd_graph_impacted;
extern const strata_cmd_entry strata_cmd_rebase;
extern const strata_cmd_entry strata_cmd_pin;
extern const strata_cmd_entry strata_cmd_scan_report;
extern const strata_cmd_entry strata_cmd_scan_diff;
extern const strata_cmd_entry strata_cmd_verify;
extern const strata_cmd_entry strata_cmd_verify_bundle;

/*
 * cmd-verify.c: one line per base whose current digest the signature gate
 * holds (awaiting, quarantined) or let through unverified (warn mode):
 * "held  REF@DIGEST  STATE: REASON".
 */
void strata_cmd_print_held(strata_store *st);

/* Loads the configuration (-c, else the defaults) and opens its store. */
int strata_cmd_open_store(strata_store **st, strata_config **config,
                          strata_cli *cli, strata_error *err);

#endif
