/*
 * rebase.h - registry-side rebase: an image moved onto a new base's layers
 * without a build.
 */
#ifndef STRATA_REBASE_H
#define STRATA_REBASE_H

#include <stddef.h>

#include "core.h"
#include "oci.h"

/*
 * crane-rebase semantics, entirely in the registry (nothing is built or
 * unpacked): IMAGE's manifest (each platform's, for an index) must start
 * with exactly the old base's layers (digests in order) and its config's
 * rootfs.diff_ids with the old base's; the result is the new base's
 * layers followed by IMAGE's own, a config whose diff_ids and history are
 * the new base's followed by IMAGE's own (the history entries after the
 * old base's count, empty_layer entries kept), "created" and everything
 * else kept, and org.opencontainers.image.base.name (the new base as
 * given, without digest) and .base.digest (the digest the new base
 * reference resolved to: the index digest for a multi-arch base) set as
 * config labels and, for OCI manifests and indexes, as annotations. An
 * image that already sits on the new base (and not on the old one) is
 * composed the same way, so running a rebase twice gives the same digest.
 *
 * Refusals (STRATA_ECONFLICT, with the reason) happen before anything is
 * pushed: the old base is not a prefix of the image, the new or old base
 * lacks a platform the image has, manifest media types differ (OCI vs
 * Docker) or a base layer's media type does not fit the image's manifest.
 */

/* One input of strata_rebase_compose: a manifest and its config, raw. */
typedef struct strata_rebase_part {
    const char *manifest; /* the exact manifest bytes */
    size_t manifest_len;
    const char *media_type; /* the manifest's media type */
    const char *config;     /* the exact config blob bytes */
    size_t config_len;
    const char *name; /* for messages: "host/repo:tag" */
} strata_rebase_part;

/* What strata_rebase_compose made. */
typedef struct strata_rebase_image {
    char *manifest; /* new: the bytes to push; digest = sha256 of them */
    size_t manifest_len;
    char *manifest_digest; /* "sha256:..." */
    char *config;          /* new: the config blob */
    size_t config_len;
    char *config_digest;
    size_t nbase_layers; /* the new base's layers at the bottom */
    size_t nown_layers;  /* the image's own layers on top */
    int already;         /* the image was on the new base already */
} strata_rebase_image;

/* Frees what the fields point to (not img itself) and zeroes it. */
void strata_rebase_image_release(strata_rebase_image *img);

/*
 * The pure part of a rebase, for one platform: checks that image sits on
 * old_base (or already on new_base) and composes the new manifest and
 * config. base_name and base_digest are the annotation values. On
 * STRATA_ECONFLICT (a refusal) or STRATA_EPROTO (a malformed manifest or
 * config) out is left zeroed.
 */
int strata_rebase_compose(strata_rebase_image *out,
                          const strata_rebase_part *image,
                          const strata_rebase_part *old_base,
                          const strata_rebase_part *new_base,
                          const char *base_name, const char *base_digest,
                          strata_error *err);

/* Registry options for one domain (credentials, TLS). */
typedef struct strata_rebase_host {
    const char *domain;
    strata_registry_opts opts;
} strata_rebase_host;

typedef struct strata_rebase_opts {
    const char *image;    /* the image to rebase: a tag or a digest */
    const char *old_base; /* the base it was built on */
    const char *new_base; /* the base to put it on */
    /*
     * Where to push: a tag name for IMAGE's repository ("1.2-rebased"),
     * or a full reference with a tag (another repository or registry).
     */
    const char *tag;
    const strata_registry_opts *defaults; /* NULL: anonymous, defaults */
    const strata_rebase_host *hosts;      /* per-domain options */
    size_t nhosts;
    size_t chunk_size; /* blob uploads in PATCH chunks; 0: monolithic */
    int dry_run;       /* fetch, check and compose; push nothing */
    /*
     * Sign what was pushed (sign.c), or NULL to leave it unsigned: a
     * cosign signature ("sha256-<hex>.sig") of the digest the tag points
     * to, and an in-toto SLSA provenance v1 statement (builder_id, the old
     * image and the old and new base digests) as a DSSE envelope attached
     * as a referrer (the tag schema where the registry lacks the API) and
     * under "sha256-<hex>.att". Borrowed; never logged.
     */
    const struct strata_verify_signing_key *signing_key;
    const char *builder_id;    /* the provenance's builder; NULL: strata's */
    const char *invocation_id; /* the job, for the provenance; may be NULL */
} strata_rebase_opts;

typedef struct strata_rebase_result {
    char *ref;        /* the reference pushed: "host/repo:tag" */
    char *digest;     /* what the tag points to now (manifest or index) */
    char *media_type; /* of that manifest or index */
    size_t nplatforms;
    char **platforms;        /* "os/arch[/variant]" per platform */
    char **platform_digests; /* the new manifest per platform */
    size_t blobs_existed;    /* already in the target repository */
    size_t blobs_mounted;    /* cross-repository mounts */
    size_t blobs_uploaded;   /* sent (copied between registries, configs) */
    uint64_t bytes_pushed;   /* blob and manifest bytes sent */
    int already;             /* every platform was on the new base */
    /* With a signing key: what was attached; else all NULL (unsigned). */
    char *signature;       /* the .sig manifest's digest */
    char *attestation;     /* the provenance referrer's digest */
    char *key_fingerprint; /* "sha256:<hex>" of the key's public half */
} strata_rebase_result;

void strata_rebase_result_free(strata_rebase_result *res);

/*
 * Runs a whole rebase synchronously on a private uv loop and registry
 * client (so it may be called from a uv_queue_work worker thread; it
 * touches nothing shared): resolve the three references, fetch and check
 * every platform, compose, push blobs (skipping those the target
 * repository has, mounting the new base's from its repository on the same
 * registry, copying the rest), configs, platform manifests, the index,
 * then read the tag back and verify the manifest digest, each platform's
 * config digest, layer list and diff_ids; then, with a signing key, sign
 * the result and attach its provenance (a failure there fails the call,
 * with the image pushed but unsigned). *out is the caller's
 * (strata_rebase_result_free). Errors: STRATA_EINVAL (a bad reference or
 * tag), STRATA_ECONFLICT (a refusal: nothing was pushed), STRATA_EPROTO
 * (malformed data, or the read-back differs), and the registry's codes.
 */
int strata_rebase_run(strata_rebase_result **out,
                      const strata_rebase_opts *opts, strata_error *err);

#endif
