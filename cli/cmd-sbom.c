/*
 * cmd-sbom.c - `strata sbom REF [--platform P] --format
 * spdx-json|cyclonedx-json`: the packages installed in an image as an
 * SPDX 2.3 or CycloneDX 1.6 JSON document on stdout. The package
 * database is read as `strata diff` reads it (packages/: the layers
 * streamed from the registry, once per digest, kept in the state store).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "oci.h"
#include "packages.h"
#include "store.h"

static int
exec_sbom(strata_cmd_ctx *ctx)
{
    const char *arg = strata_args_arg(ctx->args, 0);
    const char *platform = strata_args_get(ctx->args, "platform");
    const char *format = strata_args_get(ctx->args, "format");
    strata_registry_opts opts = {0};
    strata_registry_creds creds = {0};
    strata_pkg_image *img = NULL;
    strata_store *st = NULL;
    strata_error err = {0};
    strata_ref *ref = NULL;
    json_t *doc = NULL;
    char *text = NULL;
    int rc;

    if (platform == NULL)
        platform = "linux/amd64";
    if (strata_ref_parse(&ref, arg, &err) != 0 ||
        strata_platform_validate(platform, &err) != 0 ||
        strata_docker_config_creds(&creds, NULL, strata_ref_domain(ref), 0,
                                   &err) != 0 ||
        strata_cmd_open_store(&st, ctx, &err) != 0)
        goto fail;
    opts.username = creds.username;
    opts.password = creds.password;
    opts.identity_token = creds.identity_token;
    if (strata_pkg_image_read_sync(&img, st, &opts, ref, platform, &err) != 0)
        goto fail;
    doc = strata_pkg_sbom(img, strata_ref_name(ref), format, strata_now_ms());
    text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    rc = STRATA_EXIT_OK;
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    free(text);
    json_decref(doc);
    strata_pkg_image_free(img);
    strata_store_close(st);
    strata_registry_creds_release(&creds);
    strata_ref_free(ref);
    return rc;
}

static const strata_cmd_opt sbom_opts[] = {
    {"format", 0, STRATA_OPT_VALUE | STRATA_OPT_REQUIRED, NULL,
     "spdx-json|cyclonedx-json", "SPDX 2.3 or CycloneDX 1.6, as JSON"},
    {"platform", 0, STRATA_OPT_VALUE, "OS/ARCH[/VARIANT]", NULL,
     "the platform of a multi-arch image (default linux/amd64)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_sbom = {
    .name = "sbom",
    .summary = "Print the packages of an image as an SPDX or CycloneDX SBOM.",
    .help =
        "Reads the image's package database (dpkg, apk, rpm sqlite) and\n"
        "os-release from its registry, the layers streamed and never unpacked\n"
        "(a digest read once is kept in the state database), and prints an "
        "SPDX\n"
        "2.3 or CycloneDX 1.6 JSON document: every installed package with its\n"
        "package URL (pkg:deb/..., pkg:apk/..., pkg:rpm/...), the image as "
        "the\n"
        "document's subject.\n",
    .opts = sbom_opts,
    .args = "REF",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_sbom,
};
