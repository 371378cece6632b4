/*
 * cmd-graph.c - `strata graph scan|show|impacted`: scanning the
 * configured repositories (and the lineage of the configured and running
 * images read from their registries) into the lineage graph in the state
 * store,
 * rendering the whole graph, and the images that descend from a base, in
 * waves. Each loads the configuration, opens the store at its `state`
 * and works synchronously (the daemon runs the scan in a worker instead).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "graph.h"
#include "oci.h"
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

/* Loads the configuration and opens its store; prints why not. */
static int
open_state(strata_config **config, strata_store **st, strata_cli *cli)
{
    strata_config_problems *problems = strata_config_problems_new();
    strata_error err = {0};
    size_t i;
    int rc = STRATA_EXIT_OK;

    if (strata_config_load_or_default(config, cli->config_path,
                                      cli->config_explicit, problems,
                                      &err) != 0) {
        for (i = 0; i < strata_config_problems_count(problems); i++)
            fprintf(stderr, "%s\n",
                    strata_config_problems_get(problems, i)->text);
        if (strata_config_problems_count(problems) == 0)
            fprintf(stderr, "strata: %s\n", err.msg);
        rc = STRATA_EXIT_USAGE;
    } else if (strata_store_open(st, strata_config_data_get(*config)->state,
                                 &err) != 0) {
        rc = strata_cmd_fail(&err);
    }
    strata_config_problems_free(problems);
    return rc;
}

static int
write_out(const strata_buf *b)
{
    fwrite(strata_buf_cstr(b), 1, b->len, stdout);
    if (fflush(stdout) != 0) {
        perror("strata: stdout");
        return STRATA_EXIT_PROBLEM;
    }
    return STRATA_EXIT_OK;
}

/* ---- graph scan ------------------------------------------------------- */

static void
print_scan(strata_buf *b, const json_t *summary)
{
    const json_t *r, *e;
    size_t i, j;

    json_array_foreach (json_object_get(summary, "repos"), i, r) {
        const char *url = json_string_value(json_object_get(r, "url"));
        const char *commit = json_string_value(json_object_get(r, "commit"));
        const char *error = json_string_value(json_object_get(r, "error"));

        if (error != NULL) {
            strata_buf_printf(b, "%s: failed: %s\n", url, error);
            continue;
        }
        strata_buf_printf(
            b,
            "%s %.12s: %lld dockerfiles, %lld parsed, %lld skipped, "
            "%lld edges, %zu problems\n",
            url, commit ? commit : "",
            (long long) json_integer_value(json_object_get(r, "dockerfiles")),
            (long long) json_integer_value(json_object_get(r, "parsed")),
            (long long) json_integer_value(json_object_get(r, "skipped")),
            (long long) json_integer_value(json_object_get(r, "edges")),
            json_array_size(json_object_get(r, "errors")));
        json_array_foreach (json_object_get(r, "errors"), j, e) {
            fprintf(stderr, "%s: %s\n", url, json_string_value(e));
        }
    }
    json_array_foreach (json_object_get(summary, "images"), i, r) {
        const char *image = json_string_value(json_object_get(r, "image"));
        const char *parent = json_string_value(json_object_get(r, "parent"));
        const char *digest = json_string_value(json_object_get(r, "digest"));
        const char *error = json_string_value(json_object_get(r, "error"));
        const char *note = json_string_value(json_object_get(r, "note"));
        const char *method = json_string_value(json_object_get(r, "method"));

        if (error != NULL)
            strata_buf_printf(b, "%s: failed: %s\n", image, error);
        else if (parent != NULL)
            strata_buf_printf(b, "%s: from %s%s%s (%s)\n", image, parent,
                              digest ? "@" : "", digest ? digest : "",
                              method ? method : "registry");
        else
            strata_buf_printf(b, "%s: %s\n", image, note ? note : "no base");
    }
}

/* Images of the registry pass whose read failed. */
static size_t
image_failures(const json_t *summary)
{
    const json_t *r;
    size_t i, n = 0;

    json_array_foreach (json_object_get(summary, "images"), i, r) {
        if (json_is_string(json_object_get(r, "error")))
            n++;
    }
    return n;
}

/*
 * The references of a running list (strata report stale --running), with
 * the digest each runs when known: a NULL-terminated array of new strings.
 */
static int
running_images(char ***out, const char *path, strata_error *err)
{
    strata_report_running *run = NULL;
    size_t i, n;
    int rc;

    *out = NULL;
    if ((rc = strata_report_running_load(&run, path, err)) != 0)
        return rc;
    n = strata_report_running_count(run);
    *out = strata_xcalloc(n + 1, sizeof(**out));
    for (i = 0; i < n; i++) {
        const char *digest, *ref = strata_report_running_ref(run, i, &digest);
        strata_ref *r = NULL, *at = NULL;

        if (digest != NULL && strata_ref_parse(&r, ref, NULL) == 0 &&
            strata_ref_digest(r) == NULL &&
            strata_ref_with_digest(&at, r, digest, NULL) == 0)
            (*out)[i] = strata_xstrdup(strata_ref_string(at));
        else
            (*out)[i] = strata_xstrdup(ref);
        strata_ref_free(at);
        strata_ref_free(r);
    }
    strata_report_running_free(run);
    return 0;
}

static int
exec_graph_scan(strata_cli *cli, int argc, char **argv)
{
    const char *format = "text", *running = NULL;
    strata_graph_lineage_opts lopts = {0};
    char **extra = NULL;
    strata_graph_scan_opts opts = {0};
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_error err = {0};
    strata_buf b = STRATA_BUF_INIT;
    json_t *summary = NULL, *images = NULL;
    int i, r, rc = STRATA_EXIT_USAGE, registry = 1;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-registry") == 0) {
            registry = 0;
        } else if (strcmp(argv[i], "--no-layers") == 0) {
            lopts.no_layers = 1;
        } else if ((r = opt_value(&i, argc, argv, "--format", &format)) != 0 ||
                   (r = opt_value(&i, argc, argv, "--running", &running)) !=
                       0 ||
                   (r = opt_value(&i, argc, argv, "--cache",
                                  &opts.cache_dir)) != 0) {
            if (r < 0)
                goto out;
        } else {
            fprintf(stderr, "strata: unexpected argument '%s'\n", argv[i]);
            strata_cmd_usage(&strata_cmd_graph_scan, stderr);
            goto out;
        }
    }
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        fprintf(stderr, "strata: unknown format '%s' (text, json)\n", format);
        goto out;
    }
    if (running != NULL && running_images(&extra, running, &err) != 0) {
        fprintf(stderr, "strata: %s\n", err.msg);
        goto out;
    }
    lopts.images = (const char *const *) extra;
    if ((rc = open_state(&config, &st, cli)) != STRATA_EXIT_OK)
        goto out;
    r = strata_graph_scan(&summary, st, strata_config_data_get(config), &opts,
                          &err);
    if (r == 0 && registry) {
        r = strata_graph_scan_lineage(
            &images, st, strata_config_data_get(config), &lopts, &err);
        json_object_set(summary, "images", json_object_get(images, "images"));
    }
    if (strcmp(format, "json") == 0) {
        char *s = json_dumps(summary, JSON_INDENT(2));

        strata_buf_printf(&b, "%s\n", s);
        free(s);
    } else {
        print_scan(&b, summary);
    }
    rc = write_out(&b);
    if (r != 0)
        rc = strata_cmd_fail(&err);
    else if (rc == STRATA_EXIT_OK && (strata_graph_scan_failures(summary) > 0 ||
                                      image_failures(summary) > 0))
        rc = STRATA_EXIT_PROBLEM;
out:
    for (i = 0; extra != NULL && extra[i] != NULL; i++)
        free(extra[i]);
    free(extra);
    strata_buf_release(&b);
    json_decref(images);
    json_decref(summary);
    strata_store_close(st);
    strata_config_free(config);
    return rc;
}

const strata_cmd_entry strata_cmd_graph_scan = {
    .name = "graph scan",
    .usage = "[--format text|json] [--cache DIR] [--running FILE] "
             "[--no-layers] [--no-registry]",
    .summary = "Scan the configured repositories into the lineage graph.",
    .help =
        "Mirrors each repository's branch (bare, under the cache directory),\n"
        "parses its Dockerfiles and records which image is built from which\n"
        "base in the state store. Later scans read only what changed.\n"
        "Problems in Dockerfiles are printed on stderr as URL: PATH:LINE: ...\n"
        "and do not stop the scan; a repository that cannot be fetched is\n"
        "reported and the exit status is 1.\n"
        "Then every configured image (and every running one, --running) is\n"
        "read from its registry: the base named by its OCI annotations\n"
        "(org.opencontainers.image.base.name, .base.digest) is an\n"
        "'annotation' edge (confidence 100); without them, the watched base\n"
        "digest whose layers start the image's is a 'layers' edge\n"
        "(confidence 90). Both record the base digest the image was built\n"
        "on. A registry that fails also gives exit status 1.\n"
        "\n"
        "  --format F     text (default: one line per repository, then one\n"
        "                 per image read from a registry) or json\n"
        "  --cache DIR    git mirrors (default: DIR-OF-STATE/cache/git)\n"
        "  --running FILE also read these images (a list of references, or\n"
        "                 kubectl get pods -A -o json), as in report stale\n"
        "  --no-layers    annotations only, no layer-prefix matching\n"
        "  --no-registry  skip the registry reads\n",
    .exec = exec_graph_scan,
};

/* ---- graph show ------------------------------------------------------- */

static int
exec_graph_show(strata_cli *cli, int argc, char **argv)
{
    const char *format_name = "text";
    strata_graph_format format;
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_graph *g = NULL;
    strata_error err = {0};
    strata_buf b = STRATA_BUF_INIT;
    int i, r, rc = STRATA_EXIT_USAGE;

    for (i = 1; i < argc; i++) {
        if ((r = opt_value(&i, argc, argv, "--format", &format_name)) != 0) {
            if (r < 0)
                goto out;
        } else {
            fprintf(stderr, "strata: unexpected argument '%s'\n", argv[i]);
            strata_cmd_usage(&strata_cmd_graph_show, stderr);
            goto out;
        }
    }
    if (strata_graph_parse_format(&format, format_name) != 0) {
        fprintf(stderr, "strata: unknown format '%s' (text, json, dot)\n",
                format_name);
        goto out;
    }
    if ((rc = open_state(&config, &st, cli)) != STRATA_EXIT_OK)
        goto out;
    if (strata_graph_load(&g, st, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    strata_graph_render(&b, g, format);
    rc = write_out(&b);
out:
    strata_buf_release(&b);
    strata_graph_free(g);
    strata_store_close(st);
    strata_config_free(config);
    return rc;
}

const strata_cmd_entry strata_cmd_graph_show = {
    .name = "graph show",
    .usage = "[--format text|json|dot]",
    .summary = "Print the whole lineage graph from the state store.",
    .help = "  --format F  text (default), json or dot (Graphviz)\n",
    .exec = exec_graph_show,
};

/* ---- graph impacted --------------------------------------------------- */

static int
exec_graph_impacted(strata_cli *cli, int argc, char **argv)
{
    const char *format_name = "text", *ref_text = NULL;
    strata_graph_format format;
    strata_config *config = NULL;
    strata_store *st = NULL;
    strata_graph *g = NULL;
    strata_graph_waves *w = NULL;
    strata_ref *ref = NULL, *plain = NULL;
    strata_error err = {0};
    strata_buf b = STRATA_BUF_INIT;
    size_t node;
    int i, r, rc = STRATA_EXIT_USAGE;

    for (i = 1; i < argc; i++) {
        if ((r = opt_value(&i, argc, argv, "--format", &format_name)) != 0) {
            if (r < 0)
                goto out;
        } else if (argv[i][0] != '-' && ref_text == NULL) {
            ref_text = argv[i];
        } else {
            fprintf(stderr, "strata: unexpected argument '%s'\n", argv[i]);
            strata_cmd_usage(&strata_cmd_graph_impacted, stderr);
            goto out;
        }
    }
    if (ref_text == NULL) {
        strata_cmd_usage(&strata_cmd_graph_impacted, stderr);
        goto out;
    }
    if (strata_graph_parse_format(&format, format_name) != 0 ||
        format == STRATA_GRAPH_DOT) {
        fprintf(stderr, "strata: unknown format '%s' (text, json)\n",
                format_name);
        goto out;
    }
    if (strata_ref_parse(&ref, ref_text, &err) != 0 ||
        strata_ref_with_digest(&plain, ref, NULL, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if ((rc = open_state(&config, &st, cli)) != STRATA_EXIT_OK)
        goto out;
    if (strata_graph_load(&g, st, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (strata_graph_find(g, strata_ref_string(plain), &node) != 0) {
        fprintf(stderr, "strata: no image '%s' in the graph\n",
                strata_ref_string(plain));
        rc = STRATA_EXIT_PROBLEM;
        goto out;
    }
    if (strata_graph_impacted(&w, g, strata_ref_string(plain), &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    strata_graph_render_waves(&b, w, format);
    rc = write_out(&b);
out:
    strata_buf_release(&b);
    strata_graph_waves_free(w);
    strata_graph_free(g);
    strata_ref_free(plain);
    strata_ref_free(ref);
    strata_store_close(st);
    strata_config_free(config);
    return rc;
}

const strata_cmd_entry strata_cmd_graph_impacted = {
    .name = "graph impacted",
    .usage = "REF [--format text|json]",
    .summary = "Print the images that descend from REF, in waves.",
    .help =
        "REF is normalised (ubuntu -> docker.io/library/ubuntu:latest) and\n"
        "any digest is dropped. Wave 1 holds REF's direct children; an image\n"
        "comes after every impacted image it is built from. json prints\n"
        "{\"base\": REF, \"waves\": [[{\"image\", \"parent\", \"repo\", "
        "\"path\",\n"
        "\"line\", ...}]]}. Exit 1 when REF is not in the graph.\n"
        "\n"
        "  --format F  text (default) or json\n",
    .exec = exec_graph_impacted,
};
