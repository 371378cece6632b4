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
#include "config.h"
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

/*
 * The platforms to diff (borrowed, at most STRATA_PKG_MAX_PLATFORMS):
 * --platform's; else those the watch of ref's base lists
 * (watch.bases[].platforms, matched by reference without digest, else by
 * name); else linux/amd64.
 */
static size_t
platforms_of(const strata_cmd_ctx *ctx, const char *ref_s, const char **out)
{
    const strata_config_data *cfg =
        ctx->config != NULL ? strata_config_data_get(ctx->config) : NULL;
    const strata_config_base *found = NULL;
    strata_ref *ref = NULL, *bare = NULL;
    size_t i, n = 0;

    if (cfg != NULL && strata_ref_parse(&ref, ref_s, NULL) == 0 &&
        strata_ref_with_digest(&bare, ref, NULL, NULL) == 0) {
        for (i = 0; i < cfg->watch.n_bases && found == NULL; i++)
            if (strcmp(cfg->watch.bases[i].ref, strata_ref_string(bare)) == 0)
                found = &cfg->watch.bases[i];
        for (i = 0; i < cfg->watch.n_bases && found == NULL; i++)
            if (cfg->watch.bases[i].name != NULL &&
                strcmp(cfg->watch.bases[i].name, strata_ref_name(ref)) == 0)
                found = &cfg->watch.bases[i];
    }
    strata_ref_free(bare);
    strata_ref_free(ref);
    for (i = 0; found != NULL && i < found->platforms.count &&
                n < STRATA_PKG_MAX_PLATFORMS;
         i++)
        out[n++] = found->platforms.items[i];
    if (n == 0)
        out[n++] = "linux/amd64";
    return n;
}

/* The delta of old_ref and new_ref on platform, linked (new). */
static int
diff_one(strata_pkg_delta **out, strata_store *st, const char *old_ref,
         const char *new_ref, const char *platform, strata_error *err)
{
    strata_pkg_image *old = NULL, *new_ = NULL;
    int rc;

    *out = NULL;
    if ((rc = read_side(&old, st, old_ref, platform, err)) == 0 &&
        (rc = read_side(&new_, st, new_ref, platform, err)) == 0) {
        *out = strata_pkg_delta_new(old, new_);
        if ((rc = link_findings(*out, st, new_ref, err)) > 0)
            rc = 0;
    }
    strata_pkg_image_free(old);
    strata_pkg_image_free(new_);
    return rc;
}

static void
print_json(json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    printf("%s\n", text);
    free(text);
    json_decref(j);
}

static int
exec_diff(strata_cmd_ctx *ctx)
{
    const char *platform = strata_args_get(ctx->args, "platform");
    const char *format = strata_args_get(ctx->args, "format");
    const char *platforms[STRATA_PKG_MAX_PLATFORMS];
    strata_pkg_delta *d[STRATA_PKG_MAX_PLATFORMS] = {NULL};
    strata_store *st = NULL;
    strata_error err = {0};
    char *text = NULL, *old_ref = NULL, *new_ref = NULL;
    size_t i, n = 1;
    int rc, same = 1;

    if (format == NULL)
        format = "text";
    if (platform != NULL && strata_platform_validate(platform, &err) != 0)
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
    if (platform != NULL)
        platforms[0] = platform;
    else
        n = platforms_of(ctx, new_ref, platforms);
    for (i = 0; i < n; i++) {
        if (diff_one(&d[i], st, old_ref, new_ref, platforms[i], &err) != 0) {
            if (n > 1)
                strata_error_wrap(&err, "platform %s", platforms[i]);
            goto fail;
        }
        same = same && strata_pkg_delta_same(d[0], d[i]);
    }
    if (strcmp(format, "json") == 0) {
        json_t *list;

        if (n == 1) {
            print_json(strata_pkg_delta_to_json(d[0]));
        } else {
            list = json_array();
            for (i = 0; i < n; i++)
                json_array_append_new(
                    list, json_pack("{s:s, s:o}", "platform", platforms[i],
                                    "diff", strata_pkg_delta_to_json(d[i])));
            print_json(
                json_pack("{s:o, s:b}", "platforms", list, "same", same));
        }
    } else {
        for (i = 0; i < n; i++) {
            if (n > 1 && same) {
                size_t k;

                printf(strcmp(format, "md") == 0 ? "**The same on "
                                                 : "the same "
                                                   "on ");
                for (k = 0; k < n; k++)
                    printf("%s%s", k ? ", " : "", platforms[k]);
                printf(strcmp(format, "md") == 0 ? "**\n\n" : "\n");
            } else if (n > 1) {
                printf(strcmp(format, "md") == 0 ? "%s**%s**\n\n"
                                                 : "%splatform %s\n",
                       i ? "\n" : "", platforms[i]);
            }
            text = strata_pkg_delta_format(d[i], format);
            fputs(text, stdout);
            free(text);
            text = NULL;
            if (same)
                break;
        }
    }
    rc = STRATA_EXIT_OK;
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    free(text);
    free(old_ref);
    free(new_ref);
    for (i = 0; i < STRATA_PKG_MAX_PLATFORMS; i++)
        strata_pkg_delta_free(d[i]);
    strata_store_close(st);
    return rc;
}

static const strata_cmd_opt diff_opts[] = {
    {"format", 0, STRATA_OPT_VALUE, NULL, "text|json|md",
     "text (default), json (docs/diff.schema.json) or md (Markdown)"},
    {"platform", 0, STRATA_OPT_VALUE, "OS/ARCH[/VARIANT]", NULL,
     "the platform of a multi-arch base (default: each platform its watch "
     "lists, else linux/amd64)"},
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
        "database has seen for it). Without --platform, each platform the\n"
        "base's watch lists (watch.bases[].platforms) is diffed, else\n"
        "linux/amd64; json is then {\"platforms\": [{\"platform\", "
        "\"diff\"}],\n"
        "\"same\"}, text and md one section per platform, or one when every\n"
        "platform changed the same.\n",
    .opts = diff_opts,
    .args = "BASE[@OLD] BASE@NEW",
    .min_args = 1,
    .max_args = 2,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_diff,
};
