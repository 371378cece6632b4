/*
 * cmd-rebase.c - `strata rebase IMAGE --old-base REF --new-base REF --tag
 * TAG`: puts IMAGE onto the new base's layers inside the registry (no
 * build) and prints the new digest. Credentials for each registry
 * involved come from ~/.docker/config.json when it has an entry, else the
 * registry is asked anonymously. A refusal (IMAGE not on the old base,
 * a platform the new base lacks, media types that don't fit) pushes
 * nothing and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rebase.h"

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

/* "--name VALUE" or "--name=VALUE" at argv[*i]; 1 when matched. */
static int
flag(const char **out, int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);

    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc) {
        *out = argv[++*i];
        return 1;
    }
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return 1;
    }
    return 0;
}

static int
exec_rebase(strata_cli *cli, int argc, char **argv)
{
    strata_rebase_opts opts = {0};
    strata_rebase_result *res = NULL;
    strata_error err = {0};
    creds c = {0};
    const char *chunk = NULL;
    int i, rc, verbose = 0;

    (void) cli;
    for (i = 1; i < argc; i++) {
        if (flag(&opts.old_base, argc, argv, &i, "--old-base") ||
            flag(&opts.new_base, argc, argv, &i, "--new-base") ||
            flag(&opts.tag, argc, argv, &i, "--tag") ||
            flag(&chunk, argc, argv, &i, "--chunk-size"))
            continue;
        if (strcmp(argv[i], "--dry-run") == 0)
            opts.dry_run = 1;
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = 1;
        else if (argv[i][0] == '-' || opts.image != NULL)
            goto usage;
        else
            opts.image = argv[i];
    }
    if (opts.image == NULL || opts.old_base == NULL || opts.new_base == NULL ||
        opts.tag == NULL)
        goto usage;
    if (chunk != NULL) {
        char *end;
        unsigned long long v = strtoull(chunk, &end, 10);

        if (end == chunk || *end != '\0' || v == 0)
            goto usage;
        opts.chunk_size = (size_t) v;
    }
    if (add_creds(&c, opts.image, &err) || add_creds(&c, opts.old_base, &err) ||
        add_creds(&c, opts.new_base, &err) || add_creds(&c, opts.tag, &err))
        goto fail;
    opts.hosts = c.hosts;
    opts.nhosts = c.n;
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
    rc = STRATA_EXIT_OK;
    goto out;
usage:
    strata_cmd_usage(&strata_cmd_rebase, stderr);
    rc = STRATA_EXIT_USAGE;
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    strata_rebase_result_free(res);
    creds_release(&c);
    return rc;
}

const strata_cmd_entry strata_cmd_rebase = {
    .name = "rebase",
    .usage = "IMAGE --old-base REF --new-base REF --tag TAG [--dry-run] "
             "[--chunk-size BYTES] [--verbose]",
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
            "  --dry-run        check and compose, print the digest, push "
            "nothing\n"
            "  --chunk-size N   upload blobs in PATCH chunks of N bytes\n"
            "  --verbose        blob and byte counts on stderr\n"
            "Credentials: ~/.docker/config.json 'auths', else anonymous.\n",
    .exec = exec_rebase,
};
