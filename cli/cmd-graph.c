/*
 * cmd-graph.c - `strata graph scan|show|impacted`: scanning the
 * configured repositories (and the lineage of the configured and running
 * images read from their registries) into the lineage graph in the state
 * store,
 * rendering the whole graph, and the images that descend from a base, in
 * waves. Each opens the store at the configuration's `state` (cmd.c has
 * loaded it) and works synchronously (the daemon runs the scan in a
 * worker instead).
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
        json_int_t others;
        char more[48];

        if (error != NULL) {
            strata_buf_printf(b, "%s: failed: %s\n", url, error);
            continue;
        }
        others = json_integer_value(json_object_get(r, "references"));
        more[0] = '\0';
        /* Helm, Kustomize, CI, devcontainers, compose, manifests. */
        if (others > 0)
            snprintf(more, sizeof(more), "%lld other files, ",
                     (long long) others);
        strata_buf_printf(
            b,
            "%s %.12s: %lld dockerfiles, %s%lld parsed, %lld skipped, "
            "%lld edges, %zu problems\n",
            url, commit ? commit : "",
            (long long) json_integer_value(json_object_get(r, "dockerfiles")),
            more, (long long) json_integer_value(json_object_get(r, "parsed")),
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
exec_graph_scan(strata_cmd_ctx *ctx)
{
    const char *format = strata_args_get(ctx->args, "format");
    const char *running = strata_args_get(ctx->args, "running");
    strata_graph_lineage_opts lopts = {0};
    char **extra = NULL;
    strata_graph_scan_opts opts = {0};
    const strata_config_data *d = strata_config_data_get(ctx->config);
    strata_store *st = NULL;
    strata_error err = {0};
    strata_buf b = STRATA_BUF_INIT;
    json_t *summary = NULL, *images = NULL;
    int i, r, rc = STRATA_EXIT_USAGE;
    int registry = !strata_args_has(ctx->args, "no-registry");

    if (format == NULL)
        format = "text";
    lopts.no_layers = strata_args_has(ctx->args, "no-layers");
    opts.cache_dir = strata_args_get(ctx->args, "cache");
    if (running != NULL && running_images(&extra, running, &err) != 0) {
        fprintf(stderr, "strata: %s\n", err.msg);
        goto out;
    }
    lopts.images = (const char *const *) extra;
    if (strata_cmd_open_store(&st, ctx, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    r = strata_graph_scan(&summary, st, d, &opts, &err);
    if (r == 0 && registry) {
        r = strata_graph_scan_lineage(&images, st, d, &lopts, &err);
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
    return rc;
}

static const strata_cmd_opt graph_scan_opts[] = {
    {"format", 0, STRATA_OPT_VALUE, NULL, "text|json",
     "text (default: one line per repository, then one per image read from "
     "a registry) or json"},
    {"cache", 0, STRATA_OPT_VALUE, "DIR", NULL,
     "git mirrors (default: DIR-OF-STATE/cache/git)"},
    {"running", 0, STRATA_OPT_VALUE, "FILE", NULL,
     "also read these images (a list of references, or kubectl get pods -A "
     "-o json), as in report stale"},
    {"no-layers", 0, 0, NULL, NULL,
     "annotations only, no layer-prefix "
     "matching"},
    {"no-registry", 0, 0, NULL, NULL, "skip the registry reads"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_graph_scan = {
    .name = "graph scan",
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
        "on. A registry that fails also gives exit status 1.\n",
    .opts = graph_scan_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_graph_scan,
};

/* ---- graph show ------------------------------------------------------- */

static int
exec_graph_show(strata_cmd_ctx *ctx)
{
    const char *format_name = strata_args_get(ctx->args, "format");
    strata_graph_format format;
    strata_store *st = NULL;
    strata_graph *g = NULL;
    strata_error err = {0};
    strata_buf b = STRATA_BUF_INIT;
    int rc = STRATA_EXIT_USAGE;

    if (strata_graph_parse_format(&format,
                                  format_name ? format_name : "text") != 0)
        goto out;
    if (strata_cmd_open_store(&st, ctx, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
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
    return rc;
}

static const strata_cmd_opt graph_show_opts[] = {
    {"format", 0, STRATA_OPT_VALUE, NULL, "text|json|dot",
     "text (default), json or dot (Graphviz)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_graph_show = {
    .name = "graph show",
    .summary = "Print the whole lineage graph from the state store.",
    .opts = graph_show_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_graph_show,
};

/* ---- graph impacted --------------------------------------------------- */

static int
exec_graph_impacted(strata_cmd_ctx *ctx)
{
    const char *format_name = strata_args_get(ctx->args, "format");
    const char *ref_text = strata_args_arg(ctx->args, 0);
    strata_graph_format format;
    strata_store *st = NULL;
    strata_graph *g = NULL;
    strata_graph_waves *w = NULL;
    strata_ref *ref = NULL, *plain = NULL;
    char *upstream = NULL;
    const char *name;
    strata_error err = {0};
    strata_buf b = STRATA_BUF_INIT;
    size_t node;
    int rc = STRATA_EXIT_USAGE;

    if (strata_graph_parse_format(&format,
                                  format_name ? format_name : "text") != 0)
        goto out;
    if (strata_ref_parse(&ref, ref_text, &err) != 0 ||
        strata_ref_with_digest(&plain, ref, NULL, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (strata_cmd_open_store(&st, ctx, &err) != 0 ||
        strata_graph_load(&g, st, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    /* A mirror's name asks about its upstream (registries[].aliases). */
    upstream = strata_config_upstream_ref(
        ctx->config ? strata_config_data_get(ctx->config) : NULL,
        strata_ref_string(plain));
    name = upstream != NULL ? upstream : strata_ref_string(plain);
    if (strata_graph_find(g, name, &node) != 0) {
        fprintf(stderr, "strata: no image '%s' in the graph\n", name);
        rc = STRATA_EXIT_PROBLEM;
        goto out;
    }
    if (strata_graph_impacted(&w, g, name, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    strata_graph_render_waves(&b, w, format);
    rc = write_out(&b);
out:
    strata_buf_release(&b);
    strata_graph_waves_free(w);
    strata_graph_free(g);
    free(upstream);
    strata_ref_free(plain);
    strata_ref_free(ref);
    strata_store_close(st);
    return rc;
}

static const strata_cmd_opt graph_impacted_opts[] = {
    {"format", 0, STRATA_OPT_VALUE, NULL, "text|json",
     "text (default) or "
     "json"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_graph_impacted = {
    .name = "graph impacted",
    .summary = "Print the images that descend from REF, in waves.",
    .help =
        "REF is normalised (ubuntu -> docker.io/library/ubuntu:latest) and\n"
        "any digest is dropped. Wave 1 holds REF's direct children; an image\n"
        "comes after every impacted image it is built from. json prints\n"
        "{\"base\": REF, \"waves\": [[{\"image\", \"parent\", \"repo\", "
        "\"path\",\n"
        "\"line\", ...}]]}. Exit 1 when REF is not in the graph.\n",
    .opts = graph_impacted_opts,
    .args = "REF",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_graph_impacted,
};
