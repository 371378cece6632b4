/*
 * cmd-report.c - `strata report stale`: every image we build with each of
 * its external bases, the digest it was built on, the base's current
 * digest, and how many updates and days behind that is, from the state
 * store (watch state, digests seen, graph) and the golden catalog. Prints
 * a table, JSON, CSV, Markdown or one HTML page; --fail-on stale exits 1
 * when any image is stale.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "report.h"
#include "store.h"

/* "--opt VALUE" or "--opt=VALUE": 1 and *out set, -1 missing value. */
static int
opt_value(int *i, int argc, char **argv, const char *opt, const char **out)
{
    size_t n = strlen(opt);

    if (strcmp(argv[*i], opt) == 0) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "strata: option '%s' needs a value\n", opt);
            return -1;
        }
        *out = argv[++*i];
        return 1;
    }
    if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return 1;
    }
    return 0;
}

static void
print_problems(const strata_config_problems *cp,
               const strata_config_problems *rp)
{
    size_t i;

    for (i = 0; i < strata_config_problems_count(cp); i++)
        fprintf(stderr, "%s\n", strata_config_problems_get(cp, i)->text);
    for (i = 0; i < strata_config_problems_count(rp); i++)
        fprintf(stderr, "%s\n", strata_config_problems_get(rp, i)->text);
}

static int
exec_report_stale(strata_cli *cli, int argc, char **argv)
{
    const char *format_name = "table", *fail_on = NULL, *running_path = NULL;
    const char *catalog_path = NULL;
    strata_report_format format;
    strata_config_problems *cproblems = strata_config_problems_new();
    strata_config_problems *rproblems = strata_config_problems_new();
    strata_report_options opts = {0};
    strata_catalog *cat = NULL;
    strata_report_running *running = NULL;
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_error err = {0};
    strata_buf out = STRATA_BUF_INIT;
    json_t *report = NULL;
    int i, r, rc = STRATA_EXIT_USAGE;

    for (i = 1; i < argc; i++) {
        if ((r = opt_value(&i, argc, argv, "--format", &format_name)) != 0 ||
            (r = opt_value(&i, argc, argv, "--fail-on", &fail_on)) != 0 ||
            (r = opt_value(&i, argc, argv, "--running", &running_path)) != 0 ||
            (r = opt_value(&i, argc, argv, "--catalog", &catalog_path)) != 0) {
            if (r < 0)
                goto out;
        } else {
            fprintf(stderr, "strata: unexpected argument '%s'\n", argv[i]);
            strata_cmd_usage(&strata_cmd_report_stale, stderr);
            goto out;
        }
    }
    if (strata_report_parse_format(&format, format_name) != 0) {
        fprintf(stderr,
                "strata: unknown format '%s' (table, json, csv, md, html)\n",
                format_name);
        goto out;
    }
    if (fail_on != NULL && strcmp(fail_on, "stale") != 0) {
        fprintf(stderr, "strata: --fail-on takes 'stale', not '%s'\n", fail_on);
        goto out;
    }

    if (strata_config_load_or_default(&config, cli->config_path,
                                      cli->config_explicit, cproblems,
                                      &err) != 0) {
        if (strata_config_problems_count(cproblems) == 0)
            fprintf(stderr, "strata: %s\n", err.msg);
        goto out;
    }
    if (catalog_path == NULL)
        catalog_path = strata_config_data_get(config)->catalog;
    if (catalog_path != NULL &&
        strata_catalog_load(&cat, catalog_path, rproblems, &err) != 0) {
        if (strata_config_problems_count(rproblems) == 0)
            fprintf(stderr, "strata: %s\n", err.msg);
        goto out;
    }
    if (running_path != NULL &&
        strata_report_running_load(&running, running_path, &err) != 0) {
        /* Unreadable or malformed, the input is bad: exit 2. */
        fprintf(stderr, "strata: %s\n", err.msg);
        goto out;
    }
    if (strata_store_open(&st, strata_config_data_get(config)->state, &err) !=
        0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    opts.catalog = cat;
    opts.running = running;
    if (strata_report_stale(&report, st, NULL, &opts, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    /* Colour only for people: a terminal, and NO_COLOR unset. */
    strata_report_render(&out, report, format,
                         isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL);
    fwrite(strata_buf_cstr(&out), 1, out.len, stdout);
    if (fflush(stdout) != 0) {
        perror("strata: stdout");
        rc = STRATA_EXIT_PROBLEM;
        goto out;
    }
    rc = fail_on != NULL && strata_report_has_stale(report)
             ? STRATA_EXIT_PROBLEM
             : STRATA_EXIT_OK;

out:
    print_problems(cproblems, rproblems);
    strata_buf_release(&out);
    json_decref(report);
    strata_store_close(st);
    strata_report_running_free(running);
    strata_catalog_free(cat);
    strata_config_free(config);
    strata_config_problems_free(rproblems);
    strata_config_problems_free(cproblems);
    return rc;
}

const strata_cmd_entry strata_cmd_report_stale = {
    .name = "report stale",
    .usage = "[--format table|json|csv|md|html] [--fail-on stale] "
             "[--running FILE] [--catalog FILE]",
    .summary = "Report which images are built on stale base images.",
    .help =
        "For every image in the graph and each of its external bases: the\n"
        "digest it was built on, the base's current digest, how many base\n"
        "updates and days behind it is, and the base's catalog class\n"
        "(golden, non-golden, deprecated). Reads the state store only.\n"
        "\n"
        "  --format F      table (default), json, csv, md or html (one\n"
        "                  self-contained page)\n"
        "  --fail-on stale exit 1 when any image is stale\n"
        "  --running FILE  only images that run: a list of references, one\n"
        "                  a line, or the JSON of 'kubectl get pods -A -o "
        "json'\n"
        "  --catalog FILE  the golden catalog (default: the config's "
        "'catalog')\n"
        "\nThe JSON schema is in docs/catalog.md.\n",
    .exec = exec_report_stale,
};
