/*
 * verify.c - the `verify` blocks of the configuration (watch.verify, each
 * watched base's) and of catalog entries: what must be loadable for a
 * policy to be carried out, checked at load with verify/'s own loaders,
 * so a policy strata cannot enforce (an unsupported key, an unreadable
 * trusted root, a bad regexp) is a FILE:LINE:COL problem of `config
 * check`, never a silent pass when a digest comes.
 */
#include "verify.h"

#include <stdlib.h>
#include <string.h>

#include "config-int.h"
#include "oci.h"

const char *const strata_config__verify_modes[] = {"enforce", "warn", "off",
                                                   NULL};

const char *
strata_config_verify_mode_name(int mode)
{
    if (mode < 0 || mode > STRATA_CONFIG_VERIFY_OFF)
        return "?";
    return strata_config__verify_modes[mode];
}

int
strata_config__verify_key_check(const char *path, strata_error *err)
{
    return strata_verify_key_check_file(path, err);
}

int
strata_config__verify_root_check(const char *path, strata_error *err)
{
    strata_verify_trusted_root *root = NULL;
    int rc = strata_verify_trusted_root_load(&root, path, err);

    strata_verify_trusted_root_free(root);
    return rc;
}

int
strata_config__verify_identity_check(const char *issuer, const char *subject,
                                     const char *subject_regexp,
                                     strata_error *err)
{
    strata_verify_identity id = {issuer, subject, subject_regexp};

    if (subject != NULL && subject_regexp != NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "an identity has either 'subject' or "
                                "'subject_regexp', not both");
    return strata_verify_identity_check(&id, err);
}

int
strata_config__verify_mirror_check(const char *mirror, strata_error *err)
{
    strata_ref *ref = NULL;
    int rc = strata_ref_parse(&ref, mirror, err);

    if (rc == 0 && strata_ref_digest(ref) != NULL)
        rc = strata_error_set(err, STRATA_EINVAL,
                              "mirror '%s' must name a repository, not a "
                              "digest",
                              mirror);
    strata_ref_free(ref);
    return rc;
}

int
strata_config__verify_validate_key(strata_config__ctx *ctx,
                                   const yaml_node_t *node,
                                   const strata_config__field *f, const char *v,
                                   int tainted)
{
    strata_error err = {0};
    char *path = strata_config__path(ctx, v);

    (void) f;
    (void) tainted;
    if (strata_config__verify_key_check(path, &err) != 0) {
        strata_config__at(ctx, node, "%s", err.msg);
        return -1;
    }
    return 0;
}

/*
 * signing.key: loadable as a private key strata can sign with. The file
 * is a secret: the message names it and says why, never what it holds.
 */
int
strata_config__signing_validate_key(strata_config__ctx *ctx,
                                    const yaml_node_t *node,
                                    const strata_config__field *f,
                                    const char *v, int tainted)
{
    strata_verify_signing_key *key = NULL;
    strata_error err = {0};
    char *path = strata_config__path(ctx, v);

    (void) f;
    (void) tainted;
    if (strata_verify_signing_key_load(&key, path, &err) != 0) {
        strata_config__at(ctx, node, "%s", err.msg);
        return -1;
    }
    strata_verify_signing_key_free(key);
    return 0;
}

int
strata_config__verify_validate_root(strata_config__ctx *ctx,
                                    const yaml_node_t *node,
                                    const strata_config__field *f,
                                    const char *v, int tainted)
{
    strata_error err = {0};
    char *path = strata_config__path(ctx, v);

    (void) f;
    (void) tainted;
    if (strata_config__verify_root_check(path, &err) != 0) {
        strata_config__at(ctx, node, "%s", err.msg);
        return -1;
    }
    return 0;
}

int
strata_config__verify_validate_mirror(strata_config__ctx *ctx,
                                      const yaml_node_t *node,
                                      const strata_config__field *f,
                                      const char *v, int tainted)
{
    strata_error err = {0};

    (void) f;
    (void) tainted;
    if (strata_config__verify_mirror_check(v, &err) != 0) {
        strata_config__at(ctx, node, "%s", err.msg);
        return -1;
    }
    return 0;
}

void
strata_config__check_identity(strata_config__ctx *ctx, void *obj,
                              const yaml_node_t *node)
{
    strata_config_identity *id = obj;
    strata_error err = {0};

    if (node == NULL || id->issuer == NULL)
        return; /* the missing issuer is reported already */
    if (id->subject == NULL && id->subject_regexp == NULL) {
        strata_config__at(ctx, node,
                          "an identity needs 'subject' or 'subject_regexp'");
        return;
    }
    if (strata_config__verify_identity_check(id->issuer, id->subject,
                                             id->subject_regexp, &err) != 0)
        strata_config__at(ctx, node, "%s", err.msg);
}

void
strata_config__check_verify(strata_config__ctx *ctx, void *obj,
                            const yaml_node_t *node)
{
    strata_config_verify *v = obj;
    const char **abs;
    size_t i, verifiers;
    int root_written;

    if (node == NULL)
        return;
    /* Key paths were validated as written; keep them absolute. */
    abs = strata_config__alloc(ctx->cfg, (v->keys.count + 1) * sizeof(*abs));
    for (i = 0; i < v->keys.count; i++)
        abs[i] = strata_config__path(ctx, v->keys.items[i]);
    v->keys.items = abs;
    if (v->mode == STRATA_CONFIG_VERIFY_OFF)
        return;
    verifiers = v->keys.count + v->n_identities;
    if (verifiers == 0)
        strata_config__at(ctx, node,
                          "'verify' needs 'keys' or 'keyless' identities (or "
                          "mode: off)");
    /* A trusted root that failed to load is reported already. */
    root_written = !strata_config__is_null(strata_config__lookup(
        ctx, strata_config__lookup(ctx, node, "keyless"), "trusted_root"));
    if (v->n_identities > 0 && v->trusted_root == NULL && !root_written)
        strata_config__at(ctx, node,
                          "keyless identities need 'keyless.trusted_root'");
    if (v->tlog && v->trusted_root == NULL && !root_written)
        strata_config__at(ctx, node,
                          "'tlog: true' needs 'keyless.trusted_root' (the "
                          "transparency log's keys)");
    if (verifiers > 0 && (size_t) v->threshold > verifiers)
        strata_config__at(ctx, strata_config__lookup(ctx, node, "threshold"),
                          "'threshold' is %d but only %zu verifiers (keys and "
                          "identities) are configured",
                          v->threshold, verifiers);
}
