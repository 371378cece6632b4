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
 * The configured policy of ref, as the daemon applies it
 * (strata_config_verify_for): the watched base's own, else its catalog
 * entry's, else watch.verify. *catp keeps the catalog the block lives in.
 * NULL when there is none.
 */
static const strata_config_verify *
configured(strata_catalog **catp, const strata_config_data *d,
           const strata_ref *ref)
{
    strata_ref *bare = NULL;
    const strata_config_verify *v;

    if (strata_ref_with_digest(&bare, ref, NULL, NULL) != 0)
        return NULL;
    if (d->catalog != NULL)
        (void) strata_catalog_load(catp, d->catalog, NULL, NULL);
    v = strata_config_verify_for(d, *catp, strata_ref_string(bare));
    strata_ref_free(bare);
    if (!v->set || v->mode == STRATA_CONFIG_VERIFY_OFF)
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

/* The policy flags both commands share, as parsed by cli/args.c. */
static int
read_flags(policy_flags *f, const strata_args *args, int full,
           strata_error *err)
{
    const char *const *v;
    size_t i, n;

    n = strata_args_values(args, "key", &v);
    for (i = 0; i < n && f->nkeys < MAX_FLAGS; i++)
        f->keys[f->nkeys++] = v[i];
    f->trusted_root = strata_args_get(args, "trusted-root");
    f->identity = strata_args_get(args, "identity");
    if (f->identity == NULL)
        f->identity = strata_args_get(args, "certificate-identity");
    f->identity_regexp = strata_args_get(args, "identity-regexp");
    f->issuer = strata_args_get(args, "issuer");
    if (f->issuer == NULL)
        f->issuer = strata_args_get(args, "certificate-oidc-issuer");
    if (!full) /* verify bundle: the policy options only */
        return 0;
    if (strata_args_get(args, "attestation") != NULL) {
        n = strata_args_values(args, "attestation", &v);
        for (i = 0; i < n && f->natt < MAX_FLAGS; i++)
            f->attestations[f->natt++] = v[i];
    }
    if (strata_args_get(args, "mirror") != NULL) {
        n = strata_args_values(args, "mirror", &v);
        for (i = 0; i < n && f->nmirrors < MAX_FLAGS; i++)
            f->mirrors[f->nmirrors++] = v[i];
    }
    if (strata_args_get(args, "threshold") != NULL) {
        long long th = strata_args_number(args, "threshold", 1);

        if (th > 64)
            return strata_error_set(err, STRATA_EUSAGE,
                                    "'--threshold' is at most 64");
        f->threshold = (int) th;
    }
    f->tlog = strata_args_has(args, "tlog") > 0;
    return 0;
}

static int
exec_verify(strata_cmd_ctx *ctx)
{
    strata_registry_opts opts = {0};
    strata_registry_creds creds = {0};
    strata_catalog *cat = NULL;
    strata_verify_result *r = NULL;
    strata_error err = {0};
    strata_ref *ref = NULL;
    policy_flags f = {0};
    loaded l = {0};
    const strata_config_verify *cv;
    const char *format = strata_args_get(ctx->args, "format");
    const char *arg = strata_args_arg(ctx->args, 0);
    char *digest = NULL;
    unsigned requests = 0;
    int json = format != NULL && strcmp(format, "json") == 0, rc;

    if (read_flags(&f, ctx->args, 1, &err) != 0)
        return strata_cmd_usage_error(ctx, "%s", err.msg);
    if (strata_ref_parse(&ref, arg, &err) != 0)
        goto fail;
    if (f.nkeys > 0 || f.trusted_root != NULL || f.issuer != NULL ||
        f.identity != NULL || f.identity_regexp != NULL) {
        if (policy_from_flags(&l, &f, &err) != 0)
            goto usage_fail;
    } else {
        /* No flags: the configured policy (no file is no policy). */
        cv = configured(&cat, strata_config_data_get(ctx->config), ref);
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
    return rc;
}

static int
exec_verify_bundle(strata_cmd_ctx *ctx)
{
    strata_verify_bundle_opts o = {0};
    strata_verify_signer signer = {0};
    strata_error err = {0};
    policy_flags f = {0};
    const char *pos[2] = {NULL, NULL};
    int rc;

    if (read_flags(&f, ctx->args, 0, &err) != 0)
        return strata_cmd_usage_error(ctx, "%s", err.msg);
    /* The conformance suite's form: --bundle FILE ARTIFACT. */
    pos[0] = strata_args_get(ctx->args, "bundle");
    if (pos[0] != NULL && strata_args_count(ctx->args) == 1) {
        pos[1] = strata_args_arg(ctx->args, 0);
    } else if (pos[0] == NULL && strata_args_count(ctx->args) == 2) {
        pos[0] = strata_args_arg(ctx->args, 0);
        pos[1] = strata_args_arg(ctx->args, 1);
    } else {
        return strata_cmd_usage_error(
            ctx, "expects BUNDLE ARTIFACT, or --bundle BUNDLE ARTIFACT");
    }
    if (f.nkeys > 1)
        return strata_cmd_usage_error(ctx, "one '--key' at most");
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

#define POLICY_OPTS                                                              \
    {"key",  0,    STRATA_OPT_VALUE | STRATA_OPT_REPEAT,                         \
     "FILE", NULL, "a PEM public key the signature must verify under"},          \
        {"trusted-root",                                                         \
         0,                                                                      \
         STRATA_OPT_VALUE,                                                       \
         "FILE",                                                                 \
         NULL,                                                                   \
         "a Sigstore trusted_root.json, for keyless signatures"},                \
        {"identity", 0,    STRATA_OPT_VALUE,                                     \
         "ID",       NULL, "the keyless signer's identity (SAN: email or URI)"}, \
        {"certificate-identity",                                                 \
         0,                                                                      \
         STRATA_OPT_VALUE,                                                       \
         "ID",                                                                   \
         NULL,                                                                   \
         "the same as --identity (cosign's name)"},                              \
        {"identity-regexp",                                                      \
         0,                                                                      \
         STRATA_OPT_VALUE,                                                       \
         "RE",                                                                   \
         NULL,                                                                   \
         "the identity as a POSIX extended regular expression"},                 \
        {"issuer", 0,    STRATA_OPT_VALUE,                                       \
         "URL",    NULL, "the OIDC issuer of the keyless identity"},             \
    {                                                                            \
        "certificate-oidc-issuer", 0, STRATA_OPT_VALUE, "URL", NULL,             \
            "the same as --issuer (cosign's name)"                               \
    }

static const strata_cmd_opt verify_opts[] = {
    POLICY_OPTS,
    {"attestation", 0, STRATA_OPT_VALUE | STRATA_OPT_REPEAT, "TYPE", NULL,
     "a predicate type that must be attested by the same verifiers"},
    {"threshold", 0, STRATA_OPT_VALUE | STRATA_OPT_NUMBER, "N", NULL,
     "how many distinct verifiers must agree (default 1)"},
    {"mirror", 0, STRATA_OPT_VALUE | STRATA_OPT_REPEAT, "REPO", NULL,
     "a repository the signed docker-reference may also name"},
    {"tlog", 0, 0, NULL, NULL,
     "a key-based signature must also be in the transparency log"},
    {"format", 0, STRATA_OPT_VALUE, "FORMAT", "text|json", "output format"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const strata_cmd_opt verify_bundle_opts[] = {
    POLICY_OPTS,
    {"bundle", 0, STRATA_OPT_VALUE, "BUNDLE", NULL,
     "the bundle (instead of the first argument)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_verify = {
    .name = "verify",
    .summary = "Verify the signatures and attestations of an image's digest.",
    .help = "Finds every signature and attestation of the digest REF points "
            "to (cosign's\n.sig and .att tags, OCI referrers with Sigstore "
            "bundles) and says which\nverified and why the others did not. "
            "The policy is given by the flags,\nelse configured (the base's "
            "verify, watch.verify, the catalog entry's);\nno configuration "
            "file is needed. Exit 0 when the policy is met, 1 when it\nis "
            "not, 2 on bad usage or a policy that cannot be carried out.\n",
    .opts = verify_opts,
    .args = "REF",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_verify,
};

const strata_cmd_entry strata_cmd_verify_bundle = {
    .name = "verify bundle",
    .summary = "Verify a Sigstore bundle over a file or a sha256 digest.",
    .help = "ARTIFACT is a file, or sha256:<hex>. With --key, the bundle "
            "must verify\nunder that key; else keyless, with --trusted-root, "
            "--identity and --issuer.\nExit 0 when it verifies, 1 when it "
            "does not (an unusable key, trusted root,\nbundle or artifact "
            "included), 2 on bad usage.\n",
    .opts = verify_bundle_opts,
    .args = "BUNDLE ARTIFACT",
    .min_args = 1,
    .max_args = 2,
    .config = STRATA_CMD_CONFIG_NONE,
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
