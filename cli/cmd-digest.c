/*
 * cmd-digest.c - `strata digest REF [--platform OS/ARCH[/VARIANT]]`:
 * prints the digest REF's tag points to now (the index digest for a
 * multi-arch tag), or with --platform that platform's manifest digest.
 * Credentials come from the Docker client config ($DOCKER_CONFIG or
 * ~/.docker/config.json: credHelpers, credsStore, auths) when it has some
 * for the registry; otherwise the registry is asked anonymously.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "oci.h"

static int
exec_digest(strata_cmd_ctx *ctx)
{
    strata_registry_opts opts = {0};
    strata_registry_creds creds = {0};
    strata_error err = {0};
    strata_ref *ref = NULL;
    const char *arg = strata_args_arg(ctx->args, 0);
    const char *platform = strata_args_get(ctx->args, "platform");
    char *digest = NULL;
    int rc;

    if (strata_ref_parse(&ref, arg, &err) != 0 ||
        (platform != NULL && strata_platform_validate(platform, &err) != 0))
        goto fail;
    if (strata_docker_config_creds(&creds, NULL, strata_ref_domain(ref), 0,
                                   &err) != 0)
        goto fail;
    opts.username = creds.username;
    opts.password = creds.password;
    opts.identity_token = creds.identity_token;
    rc = strata_registry_digest_sync(&digest, &opts, ref, platform, &err);
    if (rc != 0)
        goto fail;
    printf("%s\n", digest);
    rc = STRATA_EXIT_OK;
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    free(digest);
    strata_registry_creds_release(&creds);
    strata_ref_free(ref);
    return rc;
}

static const strata_cmd_opt digest_opts[] = {
    {"platform", 0, STRATA_OPT_VALUE, "OS/ARCH[/VARIANT]", NULL,
     "that platform's manifest digest instead of the index's"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_digest = {
    .name = "digest",
    .summary = "Print the digest an image reference points to now.",
    .help = "Without --platform, the digest of what the tag names (the "
            "index digest\nfor a multi-arch tag); with --platform, that "
            "platform's manifest\ndigest. Registries on loopback are "
            "spoken to over plain HTTP.\nCredentials: the Docker config "
            "($DOCKER_CONFIG or ~/.docker/config.json:\ncredHelpers, "
            "credsStore, auths), else anonymous.\n",
    .opts = digest_opts,
    .args = "REF",
    .min_args = 1,
    .max_args = 1,
    .exec = exec_digest,
};
