/*
 * cmd-sbom.c - `strata sbom REF [--platform P] --format
 * spdx-json|cyclonedx-json`: the packages installed in an image as an
 * SPDX 2.3 or CycloneDX 1.6 JSON document on stdout. The package
 * database is read as `strata diff` reads it (packages/: the layers
 * streamed from the registry, once per digest, kept in the state store).
 * With --attach the document is also pushed as an OCI referrer of the
 * platform manifest it describes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "oci.h"
#include "packages.h"
#include "store.h"

/*
 * --attach: the document as a referrer of the platform manifest it
 * describes (oci/attach.c), with the artifact type each format
 * registers; the referrer's digest on stderr.
 */
static int
attach(const strata_registry_opts *opts, const strata_ref *ref,
       const char *digest, const char *format, const char *text,
       strata_error *err)
{
    strata_artifact a = {0};
    strata_manifest *m = NULL;
    strata_ref *subject = NULL;
    json_t *ann = NULL;
    char *at = NULL,
         *s = strata_xasprintf("%s@%s", strata_ref_name(ref), digest);
    char when[32];
    int rc;

    if ((rc = strata_ref_parse(&subject, s, err)) != 0 ||
        (rc = strata_registry_get_manifest_sync(&m, opts, subject, err)) != 0)
        goto out;
    a.artifact_type = strcmp(format, "spdx-json") == 0
                          ? "application/spdx+json"
                          : "application/vnd.cyclonedx+json";
    a.media_type = a.artifact_type;
    a.data = text;
    a.len = strlen(text);
    strata_format_time(when, sizeof(when), strata_now_ms());
    ann = json_pack("{s:s}", "org.opencontainers.image.created", when);
    a.annotations = ann;
    a.subject_media_type = m->media_type;
    a.subject_digest = m->digest;
    a.subject_size = (int64_t) m->body_len;
    if ((rc = strata_registry_attach_sync(&at, opts, subject, &a, err)) == 0)
        fprintf(stderr, "attached to %s as %s@%s (%s)\n", s,
                strata_ref_name(ref), at, a.artifact_type);
out:
    json_decref(ann);
    free(at);
    free(s);
    strata_manifest_free(m);
    strata_ref_free(subject);
    return rc;
}

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
    if (strata_args_has(ctx->args, "attach") &&
        attach(&opts, ref, img->digest, format, text, &err) != 0)
        goto fail;
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
    {"attach", 0, 0, NULL, NULL,
     "also push the document to the registry as an OCI referrer of the "
     "platform's manifest"},
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
