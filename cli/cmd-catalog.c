/*
 * cmd-catalog.c - `strata catalog list|status|check`: the golden
 * base-image catalog (the config's `catalog:` file, or --catalog FILE).
 * list prints its entries; status adds each entry's current digest from
 * the state store, when it last changed and how many images build on it;
 * check exits 1 naming every image built on a non-golden or deprecated
 * base. cmd.c loads the configuration and the catalog (a catalog with
 * problems prints them as FILE:LINE:COL and exits 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "report.h"
#include "store.h"

/* --format json? (table by default) */
static int
want_json(const strata_cmd_ctx *ctx)
{
    const char *f = strata_args_get(ctx->args, "format");

    return f != NULL && strcmp(f, "json") == 0;
}

static void
print_json(const json_t *doc)
{
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    printf("%s\n", s);
    free(s);
}

/* "7d", "12h", "1h30m", "0": the shortest spelling of ms. */
static void
duration(char *out, size_t len, uint64_t ms)
{
    static const struct {
        uint64_t ms;
        char unit;
    } units[] = {{86400000, 'd'}, {3600000, 'h'}, {60000, 'm'}, {1000, 's'}};
    size_t i, n = 0;

    out[0] = '\0';
    if (ms == 0) {
        snprintf(out, len, "-");
        return;
    }
    for (i = 0; i < 4; i++)
        if (ms >= units[i].ms) {
            n += (size_t) snprintf(out + n, len - n, "%llu%c",
                                   (unsigned long long) (ms / units[i].ms),
                                   units[i].unit);
            ms %= units[i].ms;
        }
    if (ms > 0)
        snprintf(out + n, len - n, "%llums", (unsigned long long) ms);
}

static json_t *
entry_json(const strata_catalog_entry *e)
{
    json_t *o = json_object(), *owners = json_array();
    size_t i;

#define S(x) ((x) ? json_string(x) : json_null())
    json_object_set_new(o, "ref", json_string(e->ref));
    json_object_set_new(o, "semver", S(e->semver));
    json_object_set_new(o, "suffix", S(e->suffix));
    json_object_set_new(o, "description", S(e->description));
    for (i = 0; i < e->n_owners; i++)
        json_array_append_new(owners, json_string(e->owners[i]));
    json_object_set_new(o, "owners", owners);
    json_object_set_new(o, "tier", S(e->tier));
    json_object_set_new(o, "os", S(e->os));
    json_object_set_new(o, "lifecycle",
                        json_string(e->lifecycle == STRATA_CATALOG_DEPRECATED
                                        ? "deprecated"
                                        : "active"));
    json_object_set_new(o, "sunset", S(e->sunset));
    json_object_set_new(o, "replacement", S(e->replacement));
    json_object_set_new(o, "max_age_ms",
                        json_integer((json_int_t) e->max_age_ms));
    json_object_set_new(o, "soak_ms", json_integer((json_int_t) e->soak_ms));
    json_object_set_new(o, "signing_key", S(e->signing_key));
#undef S
    return o;
}

static int
exec_catalog_list(strata_cmd_ctx *ctx)
{
    const strata_catalog *cat = ctx->catalog;
    size_t i;

    if (want_json(ctx)) {
        json_t *a = json_array();
        for (i = 0; i < strata_catalog_count(cat); i++)
            json_array_append_new(a, entry_json(strata_catalog_get(cat, i)));
        print_json(a);
        json_decref(a);
    } else {
        printf("%-44s  %-10s  %-8s  %-8s  %-7s  %s\n", "REF", "LIFECYCLE",
               "TIER", "OS", "MAX AGE", "OWNERS");
        for (i = 0; i < strata_catalog_count(cat); i++) {
            const strata_catalog_entry *e = strata_catalog_get(cat, i);
            char ref[512], age[64];
            size_t k;

            if (e->semver != NULL)
                snprintf(ref, sizeof(ref), "%s (semver %s%s%s)", e->ref,
                         e->semver, e->suffix ? ", suffix " : "",
                         e->suffix ? e->suffix : "");
            else
                snprintf(ref, sizeof(ref), "%s", e->ref);
            duration(age, sizeof(age), e->max_age_ms);
            printf("%-44s  %-10s  %-8s  %-8s  %-7s  ", ref,
                   e->lifecycle == STRATA_CATALOG_DEPRECATED ? "deprecated"
                                                             : "active",
                   e->tier ? e->tier : "-", e->os ? e->os : "-", age);
            for (k = 0; k < e->n_owners; k++)
                printf("%s%s", k ? "," : "", e->owners[k]);
            printf("%s\n", e->n_owners ? "" : "-");
            if (e->lifecycle == STRATA_CATALOG_DEPRECATED)
                printf("    sunset %s, use %s\n", e->sunset, e->replacement);
        }
    }
    return STRATA_EXIT_OK;
}

static int
exec_catalog_status(strata_cmd_ctx *ctx)
{
    strata_store *st = NULL;
    strata_error err = {0};
    json_t *status = NULL, *o;
    size_t i;
    int rc = STRATA_EXIT_OK;

    if (strata_cmd_open_store(&st, ctx, &err) != 0 ||
        strata_catalog_STATUS(&status, st, NULL, ctx->catalog, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (want_json(ctx)) {
        print_json(status);
        goto out;
    }
    printf("%-44s  %-10s  %-19s  %-20s  %6s  %11s\n", "REF", "LIFECYCLE",
           "CURRENT", "CHANGED", "IMAGES", "DESCENDANTS");
    json_array_foreach (status, i, o) {
        const char *cur =
            json_string_value(json_object_get(o, "current_digest"));
        const char *changed = json_string_value(json_object_get(o, "changed"));
        printf(
            "%-44s  %-10s  %-19.19s  %-20s  %6lld  %11lld\n",
            json_string_value(json_object_get(o, "ref")),
            json_string_value(json_object_get(o, "lifecycle")),
            cur                                         ? cur
            : json_is_null(json_object_get(o, "watch")) ? "(not watched)"
                                                        : "(unchecked)",
            changed ? changed : "-",
            (long long) json_integer_value(json_object_get(o, "images")),
            (long long) json_integer_value(json_object_get(o, "descendants")));
    }
out:
    json_decref(status);
    strata_store_close(st);
    return rc;
}

static int
exec_catalog_check(strata_cmd_ctx *ctx)
{
    strata_store *st = NULL;
    strata_graph *g = NULL;
    strata_error err = {0};
    json_t *bad = NULL, *o;
    size_t i;
    int rc;

    if (strata_cmd_open_store(&st, ctx, &err) != 0 ||
        strata_graph_load(&g, st, &err) != 0 ||
        strata_catalog_CHECK(&bad, g, ctx->catalog, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (want_json(ctx))
        print_json(bad);
    else
        json_array_foreach (bad, i, o) {
            const char *cls = json_string_value(json_object_get(o, "class"));
            const char *path = json_string_value(json_object_get(o, "path"));
            const char *repl =
                json_string_value(json_object_get(o, "replacement"));

            printf("%s: built on %s base '%s'",
                   json_string_value(json_object_get(o, "image")), cls,
                   json_string_value(json_object_get(o, "base")));
            if (repl != NULL)
                printf(" (sunset %s; use '%s')",
                       json_string_value(json_object_get(o, "sunset")), repl);
            if (path != NULL)
                printf(
                    " at %s:%lld", path,
                    (long long) json_integer_value(json_object_get(o, "line")));
            printf("\n");
        }
    rc = json_array_size(bad) > 0 ? STRATA_EXIT_PROBLEM : STRATA_EXIT_OK;
out:
    json_decref(bad);
    strata_graph_free(g);
    strata_store_close(st);
    return rc;
}

static const strata_cmd_opt catalog_opts[] = {
    {"catalog", 0, STRATA_OPT_VALUE, "FILE", NULL,
     "the catalog (default: the configuration's 'catalog')"},
    {"format", 0, STRATA_OPT_VALUE, NULL, "table|json",
     "table (default) or json"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

#define CATALOG_HELP                                                           \
    "The catalog format is documented in docs/catalog.md. A catalog with\n"    \
    "problems prints each as FILE:LINE:COL: message and exits 2.\n"

const strata_cmd_entry strata_cmd_catalog_list = {
    .name = "catalog list",
    .summary = "List the golden base images of the catalog.",
    .help = CATALOG_HELP,
    .opts = catalog_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .catalog = STRATA_CMD_CATALOG_REQUIRED,
    .exec = exec_catalog_list,
};

const strata_cmd_entry strata_cmd_catalog_status = {
    .name = "catalog status",
    .summary = "Show each golden base's current digest and its images.",
    .help = "For each entry: its current digest (from the state store), when\n"
            "it last changed, and how many images build on it directly and\n"
            "at any depth.\n" CATALOG_HELP,
    .opts = catalog_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .catalog = STRATA_CMD_CATALOG_REQUIRED,
    .exec = exec_catalog_status,
};

const strata_cmd_entry strata_cmd_catalog_check = {
    .name = "catalog check",
    .summary = "Fail when an image is built on a non-golden or deprecated "
               "base.",
    .help = "Prints every image built on a base that is not in the catalog\n"
            "or is deprecated, and exits 1; exits 0 when there is "
            "none.\n" CATALOG_HELP,
    .opts = catalog_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .catalog = STRATA_CMD_CATALOG_REQUIRED,
    .exec = exec_catalog_check,
};
