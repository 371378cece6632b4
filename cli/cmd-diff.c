/*
 * cmd-diff.c - `strata diff BASE@OLD BASE@NEW [--format text|json|md]
 * [--platform P]`: what changed in a base between two digests (or any
 * two references): packages added, removed, upgraded and downgraded, the
 * distribution's release and the sizes; when the state store has both
 * digests' vulnerability findings (a rescan's, or the pr action's scan
 * of the base), each upgrade with the CVEs it fixes and each new finding
 * with the package that brought it. With BASE alone, the last update
 * of a watched base: the two newest digests the state store has seen for
 * it. Each image's package database is
 * read from its registry with its layers streamed (packages/), once per
 * digest and platform: the state store keeps what was read, so a digest
 * already read costs one manifest request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "oci.h"
#include "packages.h"
#include "store.h"

/* Reads one side of the diff, with the Docker config's credentials. */
static int
read_side(strata_pkg_image **out, strata_store *st, const char *arg,
          const char *platform, strata_error *err)
{
    strata_registry_opts opts = {0};
    strata_registry_creds creds = {0};
    strata_ref *ref = NULL;
    int rc;

    if ((rc = strata_ref_parse(&ref, arg, err)) != 0)
        return rc;
    if ((rc = strata_docker_config_creds(&creds, NULL, strata_ref_domain(ref),
                                         0, err)) != 0)
        goto out;
    opts.username = creds.username;
    opts.password = creds.password;
    opts.identity_token = creds.identity_token;
    rc = strata_pkg_image_read_sync(out, st, &opts, ref, platform, err);
out:
    strata_registry_creds_release(&creds);
    strata_ref_free(ref);
    return rc;
}

/*
 * The watched base's last update as two references BASE@OLD and BASE@NEW
 * (new): the two newest digests the store has seen for it (by its
 * canonical form, else its name, as a tag policy watches it).
 */
static int
last_update(char **old, char **new_, strata_store *st, const char *arg,
            strata_error *err)
{
    strata_ref *ref = NULL, *with = NULL;
    json_t *list = NULL;
    size_t n = 0;
    int rc, k;

    if ((rc = strata_ref_parse(&ref, arg, err)) != 0)
        return rc;
    for (k = 0; k < 2 && n == 0; k++) {
        const char *key =
            k == 0 ? strata_ref_string(ref) : strata_ref_name(ref);

        json_decref(list);
        list = NULL;
        if ((rc = strata_store_digests_list(&list, st, key, err)) != 0)
            goto out;
        n = json_array_size(list);
    }
    if (n < 2) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "no update of '%s' recorded (%zu digest%s seen): "
                              "watch it, or give two digests",
                              strata_ref_string(ref), n, n == 1 ? "" : "s");
        goto out;
    }
    for (k = 0; k < 2; k++) {
        const char *d = json_string_value(json_object_get(
            json_array_get(list, n - 2 + (size_t) k), "digest"));

        if ((rc = strata_ref_with_digest(&with, ref, d, err)) != 0)
            goto out;
        *(k == 0 ? old : new_) = strata_xstrdup(strata_ref_string(with));
        strata_ref_free(with);
        with = NULL;
    }
out:
    json_decref(list);
    strata_ref_free(ref);
    return rc;
}

/*
 * Links d with the findings the store keeps for both digests (under the
 * base's name as the pr action keeps them, or its tagged reference as a
 * rescan does), when it has both.
 */
static int
link_findings(strata_pkg_delta *d, strata_store *st, const char *ref_s,
              strata_error *err)
{
    strata_ref *ref = NULL;
    int rc;

    if ((rc = strata_ref_parse(&ref, ref_s, err)) == 0)
        rc = strata_pkg_delta_link_stored(d, st, ref, err);
    strata_ref_free(ref);
    return rc;
}

static int
exec_diff(strata_cmd_ctx *ctx)
{
    const char *platform = strata_args_get(ctx->args, "platform");
    const char *format = strata_args_get(ctx->args, "format");
    strata_pkg_image *old = NULL, *new_ = NULL;
    strata_pkg_delta *d = NULL;
    strata_store *st = NULL;
    strata_error err = {0};
    char *text = NULL, *old_ref = NULL, *new_ref = NULL;
    int rc;

    if (format == NULL)
        format = "text";
    if (platform == NULL)
        platform = "linux/amd64";
    if (strata_platform_validate(platform, &err) != 0)
        goto fail;
    if (strata_cmd_open_store(&st, ctx, &err) != 0)
        goto fail;
    if (strata_args_arg(ctx->args, 1) == NULL) {
        if (last_update(&old_ref, &new_ref, st, strata_args_arg(ctx->args, 0),
                        &err) != 0)
            goto fail;
    } else {
        old_ref = strata_xstrdup(strata_args_arg(ctx->args, 0));
        new_ref = strata_xstrdup(strata_args_arg(ctx->args, 1));
    }
    if (read_side(&old, st, old_ref, platform, &err) != 0 ||
        read_side(&new_, st, new_ref, platform, &err) != 0)
        goto fail;
    d = strata_pkg_delta_new(old, new_);
    if (link_findings(d, st, new_ref, &err) < 0)
        goto fail;
    if (strcmp(format, "json") == 0) {
        json_t *j = strata_pkg_delta_to_json(d);

        text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(j);
        printf("%s\n", text);
    } else {
        text = strata_pkg_delta_format(d, format);
        fputs(text, stdout);
    }
    rc = STRATA_EXIT_OK;
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    free(text);
    free(old_ref);
    free(new_ref);
    strata_pkg_delta_free(d);
    strata_pkg_image_free(old);
    strata_pkg_image_free(new_);
    strata_store_close(st);
    return rc;
}

static const strata_cmd_opt diff_opts[] = {
    {"format", 0, STRATA_OPT_VALUE, NULL, "text|json|md",
     "text (default), json (docs/diff.schema.json) or md (Markdown)"},
    {"platform", 0, STRATA_OPT_VALUE, "OS/ARCH[/VARIANT]", NULL,
     "the platform of a multi-arch base (default linux/amd64)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_diff = {
    .name = "diff",
    .summary = "Show what changed in a base between two digests.",
    .help =
        "Reads the package database (dpkg, apk, rpm sqlite) and os-release of\n"
        "both images from their registries, each layer streamed and never\n"
        "unpacked, and prints the packages added, removed, upgraded and\n"
        "downgraded (in the ecosystem's version order), the distribution's\n"
        "release and the size change. A digest read once is kept in the state\n"
        "database (state:) for every later diff. When the state database has\n"
        "both digests' vulnerability findings (a rescan's, or the pr action's\n"
        "scan of the base), each upgrade is shown with the CVEs it fixes and\n"
        "each new finding with the package that brought it. With BASE alone:\n"
        "the last update of a watched base (the two newest digests the state\n"
        "database has seen for it).\n",
    .opts = diff_opts,
    .args = "BASE[@OLD] BASE@NEW",
    .min_args = 1,
    .max_args = 2,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_diff,
};
