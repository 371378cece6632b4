/*
 * cmd-state.c - the state database's health from the command line:
 * `strata check-state [--full]` reads every page of the database at the
 * configuration's `state` (quick_check, or integrity_check with --full)
 * and reports each problem; `strata backup PATH` writes a consistent copy
 * of it with sqlite's online backup API. Both open the database
 * read-only, so they are safe while the daemon runs and never make a
 * damaged file worse (store/check.c does the work).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/*
 * Opens the configured state database read-only. A database that does
 * not exist is bad input (exit 2): there is nothing to check or copy.
 * Returns 0 or an exit code, the reason printed.
 */
static int
open_readonly(strata_store **st, const strata_cmd_ctx *ctx)
{
    const char *path = strata_config_data_get(ctx->config)->state;
    strata_store_options o = {0};
    strata_error err = {0};
    struct stat sb;

    if (stat(path, &sb) != 0 && errno == ENOENT) {
        fprintf(stderr,
                "strata: no state database '%s' (the configuration's "
                "'state')\n",
                path);
        return STRATA_EXIT_USAGE;
    }
    o.readonly = 1;
    if (strata_store_open_with(st, path, &o, &err) != 0)
        return strata_cmd_fail(&err);
    return 0;
}

/* ---- check-state -------------------------------------------------------- */

static int
exec_check_state(strata_cmd_ctx *ctx)
{
    const char *format = strata_args_get(ctx->args, "format");
    int full = strata_args_has(ctx->args, "full");
    int json = format != NULL && strcmp(format, "json") == 0;
    strata_store_check_mode mode =
        full ? STRATA_STORE_CHECK_FULL : STRATA_STORE_CHECK_QUICK;
    const char *what = full ? "integrity_check" : "quick_check";
    strata_store *st = NULL;
    strata_error err = {0};
    json_t *problems = NULL, *p;
    int64_t t0;
    size_t i;
    int rc;

    if ((rc = open_readonly(&st, ctx)) != 0)
        return rc;
    t0 = strata_now_ms();
    rc = strata_store_check(&problems, st, mode, &err);
    if (rc != 0 && rc != STRATA_ESTATE) {
        /* Not a finding: the check could not run (a lock, I/O). */
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (json) {
        json_t *doc = json_pack(
            "{s:s, s:s, s:b, s:O, s:I}", "path", strata_store_path(st), "mode",
            full ? "full" : "quick", "ok", rc == 0, "problems", problems, "ms",
            (json_int_t) (strata_now_ms() - t0));
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        printf("%s\n", s);
        free(s);
        json_decref(doc);
    } else if (rc == 0) {
        printf("%s: ok (%s read every page of every table and index, "
               "%lld ms)\n",
               strata_store_path(st), what, (long long) (strata_now_ms() - t0));
    } else {
        printf("%s: damaged: %s found %zu problem%s%s\n", strata_store_path(st),
               what, json_array_size(problems),
               json_array_size(problems) == 1 ? "" : "s",
               json_array_size(problems) >= 100 ? " (the first 100)" : "");
        json_array_foreach (problems, i, p)
            printf("  %s\n", json_string_value(p));
        printf("Stop strata and restore the last good backup (see "
               "'strata backup --help').\n");
    }
    rc = rc == 0 ? STRATA_EXIT_OK : STRATA_EXIT_PROBLEM;
out:
    json_decref(problems);
    strata_store_close(st);
    return rc;
}

static const strata_cmd_opt check_state_opts[] = {
    {"full", 0, 0, NULL, NULL,
     "integrity_check: also every index entry against its row (slower)"},
    {"format", 0, STRATA_OPT_VALUE, NULL, "text|json",
     "text (default) or json: {path, mode, ok, problems, ms}"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_check_state = {
    .name = "check-state",
    .summary = "Check every page of the state database, read-only.",
    .help =
        "Opens the configuration's state database read-only (safe while the\n"
        "daemon runs) and runs sqlite's quick_check, which reads every page\n"
        "of every table and index, or integrity_check with --full. Prints\n"
        "'ok', or each problem sqlite reports (at most 100). Exit status: 0\n"
        "sound, 1 damaged (or the check could not run), 2 bad usage, bad\n"
        "configuration or no database.\n",
    .opts = check_state_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_check_state,
};

/* ---- backup ------------------------------------------------------------- */

static int
exec_backup(strata_cmd_ctx *ctx)
{
    const char *path = strata_args_arg(ctx->args, 0);
    strata_store *st = NULL;
    strata_error err = {0};
    struct stat sb;
    int rc;

    if (!strata_args_has(ctx->args, "force") && lstat(path, &sb) == 0) {
        fprintf(stderr, "strata: '%s' exists: pass --force to replace it\n",
                path);
        return STRATA_EXIT_USAGE;
    }
    if ((rc = open_readonly(&st, ctx)) != 0)
        return rc;
    if (strata_store_backup(st, path, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (stat(path, &sb) == 0)
        printf("backed up %s to %s (%lld bytes)\n", strata_store_path(st), path,
               (long long) sb.st_size);
    rc = STRATA_EXIT_OK;
out:
    strata_store_close(st);
    return rc;
}

static const strata_cmd_opt backup_opts[] = {
    {"force", 'f', 0, NULL, NULL, "replace PATH if it exists"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_backup = {
    .name = "backup",
    .summary = "Copy the state database to PATH, online.",
    .help =
        "Writes one consistent snapshot of the configuration's state\n"
        "database to PATH with sqlite's online backup API, while the daemon\n"
        "goes on running and writing. The copy is written beside PATH,\n"
        "checked (quick_check), synced and renamed over PATH, so PATH is\n"
        "never half a copy; it is one self-contained file. An existing PATH\n"
        "is refused unless --force is given.\n"
        "To restore: stop strata, copy the backup over the state file,\n"
        "remove the state file's -wal and -shm files, start strata.\n",
    .opts = backup_opts,
    .args = "PATH",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_backup,
};
