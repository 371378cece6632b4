/*
 * cmd-verify.c - `strata verify REF` and `strata verify bundle BUNDLE
 * ARTIFACT`.
 *
 * `verify REF` resolves REF to the digest its tag points to (or takes its
 * @digest), finds every signature and attestation of that digest in the
 * registry (cosign's .sig and .att tags, the referrers API or tag schema
 * with Sigstore bundles) and says which verified under the policy and why
 * the others did not. The policy comes from the flags, else from the
 * configuration (the base's verify block, watch.verify, the catalog
 * entry's). Like `cosign verify`, it needs no configuration file. Exit 0
 * when the policy is met, 1 when it is not (or the registry cannot be
 * read), 2 for bad usage or a policy strata cannot carry out.
 *
 * `verify bundle` is a Sigstore conformance client's interface: one
 * bundle over a file or "sha256:<hex>", exit 0 or 1 (2 for missing
 * flags).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "oci.h"
#include "verify.h"
#include "watchers.h"

#define MAX_FLAGS 32

typedef struct policy_flags {
    const char *keys[MAX_FLAGS];
    size_t nkeys;
    const char *trusted_root;
    const char *identity, *identity_regexp, *issuer;
    const char *attestations[MAX_FLAGS];
    size_t natt;
    const char *mirrors[MAX_FLAGS];
    size_t nmirrors;
    int threshold;
    int tlog;
} policy_flags;

/* What a policy holds, loaded from files. */
typedef struct loaded {
    strata_verify_policy policy;
    strata_verify_key *keys[MAX_FLAGS + 1];
    strata_verify_trusted_root *root;
    strata_verify_identity ids[MAX_FLAGS + 1];
    const char *atts[MAX_FLAGS + 1];
    const char *mirrors[MAX_FLAGS + 1];
} loaded;

static void
loaded_release(loaded *l)
{
    size_t i;

    for (i = 0; i < l->policy.nkeys; i++)
        strata_verify_key_free(l->keys[i]);
    strata_verify_trusted_root_free(l->root);
}

/* A policy from the command line's flags. */
static int
policy_from_flags(loaded *l, const policy_flags *f, strata_error *err)
{
    size_t i;
    int rc;

    for (i = 0; i < f->nkeys; i++) {
        if ((rc = strata_verify_key_load(&l->keys[i], f->keys[i], err)) != 0)
            return rc;
        l->policy.nkeys++;
    }
    l->policy.keys = l->keys;
    if (f->trusted_root != NULL && (rc = strata_verify_trusted_root_load(
                                        &l->root, f->trusted_root, err)) != 0)
        return rc;
    l->policy.trusted_root = l->root;
    if (f->identity != NULL || f->identity_regexp != NULL || f->issuer) {
        l->ids[0].issuer = f->issuer;
        l->ids[0].subject = f->identity;
        l->ids[0].subject_regexp = f->identity_regexp;
        if ((rc = strata_verify_identity_check(&l->ids[0], err)) != 0)
            return strata_error_set(err, STRATA_EUSAGE,
                                    "%s (keyless needs --identity or "
                                    "--identity-regexp, and --issuer)",
                                    err->msg);
        if (l->root == NULL)
            return strata_error_set(err, STRATA_EUSAGE,
                                    "keyless verification needs "
                                    "--trusted-root");
        l->policy.identities = l->ids;
        l->policy.nidentities = 1;
    }
    for (i = 0; i < f->natt; i++)
        l->atts[i] = f->attestations[i];
    l->policy.attestations = l->atts;
    l->policy.nattestations = f->natt;
    for (i = 0; i < f->nmirrors; i++)
        l->mirrors[i] = f->mirrors[i];
    l->policy.mirrors = l->mirrors;
    l->policy.nmirrors = f->nmirrors;
    l->policy.threshold = (unsigned) f->threshold;
    l->policy.key_requires_tlog = f->tlog;
    return 0;
}

/* A policy from a configuration verify block. */
static int
policy_from_config(loaded *l, const strata_config_verify *v, strata_error *err)
{
    size_t i;
    int rc;

    if (v->keys.count > MAX_FLAGS || v->n_identities > MAX_FLAGS ||
        v->attestations.count > MAX_FLAGS || v->mirrors.count > MAX_FLAGS)
        return strata_error_set(err, STRATA_EINVAL,
                                "the verify policy has more than %d keys, "
                                "identities, attestations or mirrors",
                                MAX_FLAGS);
    for (i = 0; i < v->keys.count; i++) {
        if ((rc = strata_verify_key_load(&l->keys[i], v->keys.items[i], err)) !=
            0)
            return rc;
        l->policy.nkeys++;
    }
    l->policy.keys = l->keys;
    if (v->trusted_root != NULL && (rc = strata_verify_trusted_root_load(
                                        &l->root, v->trusted_root, err)) != 0)
        return rc;
    l->policy.trusted_root = l->root;
    for (i = 0; i < v->n_identities; i++) {
        l->ids[i].issuer = v->identities[i].issuer;
        l->ids[i].subject = v->identities[i].subject;
        l->ids[i].subject_regexp = v->identities[i].subject_regexp;
    }
    l->policy.identities = l->ids;
    l->policy.nidentities = v->n_identities;
    for (i = 0; i < v->attestations.count; i++)
        l->atts[i] = v->attestations.items[i];
    l->policy.attestations = l->atts;
    l->policy.nattestations = v->attestations.count;
    for (i = 0; i < v->mirrors.count; i++)
        l->mirrors[i] = v->mirrors.items[i];
    l->policy.mirrors = l->mirrors;
    l->policy.nmirrors = v->mirrors.count;
    l->policy.threshold = (unsigned) v->threshold;
    l->policy.key_requires_tlog = v->tlog;
    return 0;
}

/*
 * The configured policy of ref: a watched base's (a tag, or a policy's
 * repository), else watch.verify, else the catalog entry's. *catp keeps
 * the catalog the block lives in. NULL when there is none.
 */
static const strata_config_verify *
configured(strata_catalog **catp, const strata_config_data *d,
           const strata_ref *ref)
{
    strata_ref *bare = NULL;
    const strata_catalog_entry *e;
    const strata_config_verify *v = NULL;
    size_t i;

    if (strata_ref_with_digest(&bare, ref, NULL, NULL) != 0)
        return NULL;
    for (i = 0; i < d->watch.n_bases && v == NULL; i++) {
        const strata_config_base *b = &d->watch.bases[i];

        if (strcmp(b->has_policy ? b->name : b->ref,
                   b->has_policy ? strata_ref_name(bare)
                                 : strata_ref_string(bare)) == 0)
            v = &b->verify;
    }
    if (v == NULL && d->watch.verify.set)
        v = &d->watch.verify;
    if (v == NULL && d->catalog != NULL &&
        strata_catalog_load(catp, d->catalog, NULL, NULL) == 0 &&
        (e = strata_catalog_lookup(*catp, strata_ref_string(bare))) != NULL &&
        e->verify.set)
        v = &e->verify;
    strata_ref_free(bare);
    if (v != NULL && (!v->set || v->mode == STRATA_CONFIG_VERIFY_OFF))
        return NULL;
    return v;
}

/* ---- running the lookup on a private loop ------------------------------- */

typedef struct sync_verify {
    strata_verify_result *r;
    unsigned requests;
    strata_error err;
    int done;
} sync_verify;

static void
on_verified(strata_verify_result *r, unsigned requests, const strata_error *err,
            void *arg)
{
    sync_verify *s = arg;

    s->r = r;
    s->requests = requests;
    if (err != NULL)
        s->err = *err;
    s->done = 1;
}

static int
verify_sync(strata_verify_result **out, unsigned *requests,
            const strata_registry_opts *opts, const strata_ref *ref,
            const char *digest, const strata_verify_policy *policy,
            strata_error *err)
{
    uv_loop_t loop;
    strata_registry *reg = NULL;
    sync_verify s = {0};
    int rc;

    *out = NULL;
    uv_loop_init(&loop);
    if ((rc = strata_registry_new(&reg, &loop, opts, err)) == 0 &&
        (rc = strata_watchers_verify_digest(reg, ref, digest, policy, 1,
                                            on_verified, &s, err)) == 0) {
        while (!s.done)
            uv_run(&loop, UV_RUN_ONCE);
        if (s.err.code != 0) {
            rc = s.err.code;
            if (err != NULL)
                *err = s.err;
        }
        *out = s.r;
        *requests = s.requests;
    }
    strata_registry_close(reg);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc;
}

static void
print_text(const char *ref, const char *digest, strata_verify_result *r)
{
    size_t i, n = strata_verify_result_count(r);

    printf("%s@%s\n", ref, digest);
    if (n == 0)
        printf("  no signature or attestation found\n");
    for (i = 0; i < n; i++) {
        strata_verify_entry e = strata_verify_result_entry(r, i);

        if (e.ok)
            printf("  ok    %-11s %s: %s\n", e.kind, e.label,
                   e.signer && e.signer->summary ? e.signer->summary : "");
        else
            printf("  FAIL  %-11s %s: %s\n", e.kind, e.label,
                   e.reason ? e.reason : "");
    }
    printf("%s\n", strata_verify_result_summary(r));
}

static int
take_flag(policy_flags *f, int *i, int argc, char **argv, int *json, int *bad)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;

#define TAKE(name) (strcmp(a, name) == 0 && v != NULL && ++*i)
    if (TAKE("--key") && f->nkeys < MAX_FLAGS)
        f->keys[f->nkeys++] = v;
    else if (TAKE("--trusted-root"))
        f->trusted_root = v;
    else if (TAKE("--identity") || TAKE("--certificate-identity"))
        f->identity = v;
    else if (TAKE("--identity-regexp"))
        f->identity_regexp = v;
    else if (TAKE("--issuer") || TAKE("--certificate-oidc-issuer"))
        f->issuer = v;
    else if (TAKE("--attestation") && f->natt < MAX_FLAGS)
        f->attestations[f->natt++] = v;
    else if (TAKE("--mirror") && f->nmirrors < MAX_FLAGS)
        f->mirrors[f->nmirrors++] = v;
    else if (TAKE("--threshold"))
        f->threshold = atoi(v) > 0 && atoi(v) <= 64 ? atoi(v) : (*bad = 1);
    else if (strcmp(a, "--tlog") == 0)
        f->tlog = 1;
    else if (TAKE("--format") && json != NULL &&
             (strcmp(v, "json") == 0 || strcmp(v, "text") == 0))
        *json = strcmp(v, "json") == 0;
    else
        return 0;
#undef TAKE
    return 1;
}

static int
exec_verify(strata_cli *cli, int argc, char **argv)
{
    strata_registry_opts opts = {0};
    strata_registry_creds creds = {0};
    strata_config *config = NULL;
    strata_catalog *cat = NULL;
    strata_verify_result *r = NULL;
    strata_error err = {0};
    strata_ref *ref = NULL;
    policy_flags f = {0};
    loaded l = {0};
    const strata_config_verify *cv;
    const char *arg = NULL;
    char *digest = NULL;
    unsigned requests = 0;
    int i, json = 0, bad = 0, rc;

    for (i = 1; i < argc; i++) {
        if (take_flag(&f, &i, argc, argv, &json, &bad))
            continue;
        if (argv[i][0] == '-' || arg != NULL) {
            bad = 1;
            break;
        }
        arg = argv[i];
    }
    if (bad || arg == NULL) {
        strata_cmd_usage(&strata_cmd_verify, stderr);
        return STRATA_EXIT_USAGE;
    }
    if (strata_ref_parse(&ref, arg, &err) != 0)
        goto fail;
    if (f.nkeys > 0 || f.trusted_root != NULL || f.issuer != NULL ||
        f.identity != NULL || f.identity_regexp != NULL) {
        if (policy_from_flags(&l, &f, &err) != 0)
            goto usage_fail;
    } else {
        /* No flags: the configured policy (a missing file is no policy). */
        if (strata_config_load_or_default(&config, cli->config_path,
                                          cli->config_explicit, NULL,
                                          &err) != 0)
            goto usage_fail;
        cv = configured(&cat, strata_config_data_get(config), ref);
        if (cv == NULL) {
            strata_error_set(&err, STRATA_EUSAGE,
                             "no verify policy for '%s': give --key FILE, or "
                             "--trusted-root FILE with --identity and "
                             "--issuer, or configure one (watch.verify)",
                             strata_ref_string(ref));
            goto usage_fail;
        }
        if (policy_from_config(&l, cv, &err) != 0)
            goto usage_fail;
    }
    if (strata_docker_config_creds(&creds, NULL, strata_ref_domain(ref), 0,
                                   &err) != 0)
        goto fail;
    opts.username = creds.username;
    opts.password = creds.password;
    opts.identity_token = creds.identity_token;
    if (strata_ref_digest(ref) != NULL)
        digest = strata_xstrdup(strata_ref_digest(ref));
    else if (strata_registry_digest_sync(&digest, &opts, ref, NULL, &err) != 0)
        goto fail;
    if (verify_sync(&r, &requests, &opts, ref, digest, &l.policy, &err) != 0)
        goto fail;
    if (json) {
        json_t *doc = json_pack(
            "{s:s, s:s, s:b, s:s, s:o, s:i}", "ref", strata_ref_string(ref),
            "digest", digest, "ok", strata_verify_result_ok(r), "summary",
            strata_verify_result_summary(r), "result",
            strata_verify_result_to_json(r), "requests", (int) requests);
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        printf("%s\n", s);
        free(s);
        json_decref(doc);
    } else {
        print_text(strata_ref_name(ref), digest, r);
    }
    rc = strata_verify_result_ok(r) ? STRATA_EXIT_OK : STRATA_EXIT_PROBLEM;
    goto out;
usage_fail:
    fprintf(stderr, "strata: %s\n", err.msg);
    rc = STRATA_EXIT_USAGE;
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    strata_verify_result_free(r);
    loaded_release(&l);
    free(digest);
    strata_registry_creds_release(&creds);
    strata_ref_free(ref);
    strata_catalog_free(cat);
    strata_config_free(config);
    return rc;
}

static int
exec_verify_bundle(strata_cli *cli, int argc, char **argv)
{
    strata_verify_bundle_opts o = {0};
    strata_verify_signer signer = {0};
    strata_error err = {0};
    policy_flags f = {0};
    const char *pos[2] = {NULL, NULL};
    int i, npos = 0, bad = 0, rc;

    (void) cli;
    for (i = 1; i < argc; i++) {
        if (take_flag(&f, &i, argc, argv, NULL, &bad))
            continue;
        if (strcmp(argv[i], "--bundle") == 0 && i + 1 < argc) {
            pos[0] = argv[++i];
            npos = npos < 1 ? 1 : npos;
        } else if (argv[i][0] == '-' || npos == 2) {
            bad = 1;
            break;
        } else {
            pos[pos[0] != NULL ? 1 : 0] = argv[i];
            npos = pos[1] != NULL ? 2 : 1;
        }
    }
    if (bad || pos[0] == NULL || pos[1] == NULL || f.nkeys > 1 || f.natt > 0 ||
        f.nmirrors > 0) {
        strata_cmd_usage(&strata_cmd_verify_bundle, stderr);
        return STRATA_EXIT_USAGE;
    }
    o.bundle_path = pos[0];
    o.artifact = pos[1];
    o.key_path = f.nkeys ? f.keys[0] : NULL;
    o.trusted_root_path = f.trusted_root;
    o.identity = f.identity;
    o.identity_regexp = f.identity_regexp;
    o.issuer = f.issuer;
    rc = strata_verify_bundle_file(&signer, &o, &err);
    if (rc == 0) {
        printf("verified: %s\n", signer.summary ? signer.summary : "");
        strata_verify_signer_release(&signer);
        return STRATA_EXIT_OK;
    }
    /*
     * A conformance client exits 0 or 1: a key or trusted root that cannot
     * be used fails the verification; only missing flags are usage (2).
     */
    fprintf(stderr, "strata: %s\n", err.msg);
    return rc == STRATA_EUSAGE ? STRATA_EXIT_USAGE : STRATA_EXIT_PROBLEM;
}

const strata_cmd_entry strata_cmd_verify = {
    .name = "verify",
    .usage = "REF [--key FILE]... [--trusted-root FILE (--identity ID | "
             "--identity-regexp RE) --issuer URL] [--attestation TYPE]... "
             "[--threshold N] [--mirror REPO]... [--tlog] [--format "
             "text|json]",
    .summary = "Verify the signatures and attestations of an image's digest.",
    .help = "Finds every signature and attestation of the digest REF points "
            "to (cosign's\n.sig and .att tags, OCI referrers with Sigstore "
            "bundles) and says which\nverified and why the others did not. "
            "The policy is given by the flags,\nelse configured (the base's "
            "verify, watch.verify, the catalog entry's);\nno configuration "
            "file is needed. Exit 0 when the policy is met, 1 when it\nis "
            "not, 2 on bad usage or a policy that cannot be carried out.\n",
    .exec = exec_verify,
};

const strata_cmd_entry strata_cmd_verify_bundle = {
    .name = "verify bundle",
    .usage = "BUNDLE ARTIFACT [--key FILE] [--trusted-root FILE] [--identity "
             "ID | --identity-regexp RE] [--issuer URL]",
    .summary = "Verify a Sigstore bundle over a file or a sha256 digest.",
    .help = "ARTIFACT is a file, or sha256:<hex>. With --key, the bundle "
            "must verify\nunder that key; else keyless, with --trusted-root, "
            "--identity and --issuer.\nExit 0 when it verifies, 1 when it "
            "does not (an unusable key, trusted root,\nbundle or artifact "
            "included), 2 on bad usage.\n",
    .exec = exec_verify_bundle,
};

void
strata_cmd_print_held(strata_store *st)
{
    json_t *states = NULL, *s, *g;
    size_t i;

    if (strata_store_watch_states(&states, st, NULL) != 0)
        return;
    json_array_foreach (states, i, s) {
        const char *ref = json_string_value(json_object_get(s, "ref"));
        const char *cur =
            json_string_value(json_object_get(s, "current_digest"));
        const char *d, *state;

        if (ref == NULL || cur == NULL ||
            (g = strata_watchers_gate_get(st, ref)) == NULL)
            continue;
        d = json_string_value(json_object_get(g, "digest"));
        state = json_string_value(json_object_get(g, "state"));
        if (d != NULL && state != NULL && strcmp(d, cur) == 0 &&
            (strcmp(state, "awaiting") == 0 ||
             strcmp(state, "quarantined") == 0 ||
             strcmp(state, "unverified") == 0))
            printf("held  %s@%s  %s: %s\n", ref, d, state,
                   json_string_value(json_object_get(g, "reason"))
                       ? json_string_value(json_object_get(g, "reason"))
                       : "");
        json_decref(g);
    }
    json_decref(states);
}
