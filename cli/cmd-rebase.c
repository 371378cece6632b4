/*
 * cmd-rebase.c - `strata rebase IMAGE --old-base REF --new-base REF --tag
 * TAG`: puts IMAGE onto the new base's layers inside the registry (no
 * build) and prints the new digest. Credentials for each registry
 * involved come from ~/.docker/config.json when it has an entry, else the
 * registry is asked anonymously. A refusal (IMAGE not on the old base,
 * a platform the new base lacks, media types that don't fit) pushes
 * nothing and exits 1. With --sign-key the result is signed (cosign's
 * .sig) and gets a SLSA provenance attestation (rebase/sign.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rebase.h"
#include "verify.h"

#define MAX_HOSTS 4

typedef struct creds {
    strata_rebase_host hosts[MAX_HOSTS];
    char *domains[MAX_HOSTS], *users[MAX_HOSTS], *passwords[MAX_HOSTS];
    size_t n;
} creds;

/* Adds the docker config's credentials for s's registry, once per host. */
static int
add_creds(creds *c, const char *s, strata_error *err)
{
    strata_ref *ref = NULL;
    char *user = NULL, *password = NULL;
    size_t i;
    int rc;

    if (strchr(s, '/') == NULL && strchr(s, ':') == NULL)
        return 0; /* a bare tag: IMAGE's registry */
    rc = strata_ref_parse(&ref, s, err);
    if (rc != 0)
        return rc;
    for (i = 0; i < c->n; i++)
        if (strcmp(c->domains[i], strata_ref_domain(ref)) == 0)
            goto out;
    rc = strata_docker_config_auth(&user, &password, NULL,
                                   strata_ref_domain(ref), err);
    if (rc != 0 || user == NULL || c->n == MAX_HOSTS)
        goto out;
    c->domains[c->n] = strata_xstrdup(strata_ref_domain(ref));
    c->users[c->n] = user;
    c->passwords[c->n] = password;
    c->hosts[c->n].domain = c->domains[c->n];
    c->hosts[c->n].opts.username = user;
    c->hosts[c->n].opts.password = password;
    c->n++;
    user = password = NULL;
out:
    free(user);
    free(password);
    strata_ref_free(ref);
    return rc;
}

static void
creds_release(creds *c)
{
    size_t i;

    for (i = 0; i < c->n; i++) {
        free(c->domains[i]);
        free(c->users[i]);
        if (c->passwords[i] != NULL) {
            memset(c->passwords[i], 0, strlen(c->passwords[i]));
            free(c->passwords[i]);
        }
    }
}

static int
exec_rebase(strata_cmd_ctx *ctx)
{
    strata_rebase_opts opts = {0};
    strata_rebase_result *res = NULL;
    strata_verify_signing_key *key = NULL;
    const char *key_path;
    strata_error err = {0};
    creds c = {0};
    int rc, verbose = strata_args_has(ctx->args, "verbose");

    opts.image = strata_args_arg(ctx->args, 0);
    opts.old_base = strata_args_get(ctx->args, "old-base");
    opts.new_base = strata_args_get(ctx->args, "new-base");
    opts.tag = strata_args_get(ctx->args, "tag");
    opts.dry_run = strata_args_has(ctx->args, "dry-run");
    opts.chunk_size = (size_t) strata_args_number(ctx->args, "chunk-size", 0);
    if (add_creds(&c, opts.image, &err) || add_creds(&c, opts.old_base, &err) ||
        add_creds(&c, opts.new_base, &err) || add_creds(&c, opts.tag, &err))
        goto fail;
    opts.hosts = c.hosts;
    opts.nhosts = c.n;
    /* The key before anything is pushed: a bad key is bad input. */
    key_path = strata_args_get(ctx->args, "sign-key");
    if (key_path != NULL &&
        strata_verify_signing_key_load(&key, key_path, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    opts.signing_key = key;
    rc = strata_rebase_run(&res, &opts, &err);
    if (rc != 0)
        goto fail;
    printf("%s\n", res->digest);
    if (verbose)
        fprintf(stderr,
                "strata: %s %s: %zu platform(s), blobs: %zu existed, %zu "
                "mounted, %zu uploaded; %llu bytes pushed%s\n",
                opts.dry_run ? "would push" : "pushed", res->ref,
                res->nplatforms, res->blobs_existed, res->blobs_mounted,
                res->blobs_uploaded, (unsigned long long) res->bytes_pushed,
                res->already ? " (already on the new base)" : "");
    if (verbose && res->signature != NULL)
        fprintf(stderr,
                "strata: signed with key %s: signature %s, provenance "
                "%s\n",
                res->key_fingerprint, res->signature, res->attestation);
    rc = STRATA_EXIT_OK;
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    strata_rebase_result_free(res);
    strata_verify_signing_key_free(key);
    creds_release(&c);
    return rc;
}

static const strata_cmd_opt rebase_opts[] = {
    {"old-base", 0, STRATA_OPT_REQUIRED, "REF", NULL,
     "the base IMAGE is built on now"},
    {"new-base", 0, STRATA_OPT_REQUIRED, "REF", NULL, "the base to move it to"},
    {"tag", 0, STRATA_OPT_REQUIRED, "TAG", NULL,
     "where to push the result: a tag of IMAGE's repository or a full "
     "reference"},
    {"dry-run", 0, 0, NULL, NULL,
     "check and compose, print the digest, push nothing"},
    {"chunk-size", 0, STRATA_OPT_NUMBER, "BYTES", NULL,
     "upload blobs in PATCH chunks of BYTES"},
    {"sign-key", 0, STRATA_OPT_VALUE, "FILE", NULL,
     "sign the result with this PEM private key: a cosign signature and a "
     "SLSA provenance attestation"},
    {"verbose", 0, 0, NULL, NULL, "blob and byte counts on stderr"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_rebase = {
    .name = "rebase",
    .summary = "Put an image onto a new base's layers in the registry.",
    .help = "IMAGE's layers (each platform's, for a multi-arch image) must "
            "start with\nthe old base's, and its config's diff_ids with the "
            "old base's; the\nresult is the new base's layers and history "
            "followed by IMAGE's own,\nwith org.opencontainers.image.base.name "
            "and .base.digest set. Blobs\nthe target has are skipped, the new "
            "base's are mounted from its\nrepository on the same registry, "
            "the rest copied. TAG is a tag for\nIMAGE's repository or a full "
            "reference. The result is read back and\nchecked; its digest is "
            "printed. A refusal (not on the old base, a\nplatform the new base "
            "lacks, media types that don't fit) pushes\nnothing and exits 1.\n"
            "Credentials: ~/.docker/config.json 'auths', else anonymous.\n",
    .opts = rebase_opts,
    .args = "IMAGE",
    .min_args = 1,
    .max_args = 1,
    .exec = exec_rebase,
};
