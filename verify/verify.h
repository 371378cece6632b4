/*
 * verify.h - signatures and attestations, on OpenSSL's libcrypto only:
 * public keys (cosign.pub and its kin), Sigstore trusted roots, Sigstore
 * bundles v0.1 to v0.3 (message signatures and DSSE envelopes, key-based
 * and keyless, Rekor v1 and v2 log entries, RFC 3161 timestamps), cosign's
 * simple-signing signatures and in-toto attestations, and the signatures
 * strata makes for what it pushes.
 *
 * Nothing here does I/O beyond reading the files it is named (keys, trusted
 * roots, and the convenience entry points for the CLI): the registry code
 * finds the signatures and hands their bytes over, so verification is a
 * pure function of bytes and a policy, and the same path serves the
 * watcher's gate, `strata verify REF` and `strata verify bundle`.
 *
 * How the gate uses it:
 *
 *   1. At configuration load (config check): strata_verify_key_load() for
 *      each `verify.keys` entry, strata_verify_trusted_root_load() for
 *      `keyless.trusted_root`, strata_verify_identity_check() for each
 *      identity. Each error names the file and what is wrong; these are
 *      configuration errors (FILE:LINE:COL in `config check`).
 *   2. It fills a strata_verify_policy, which only borrows: keys, trusted
 *      root, identities, threshold, required attestations, mirrors.
 *   3. For a new digest of a base it makes one result,
 *        r = strata_verify_result_new(&policy, "sha256:…", "docker.io/x/y");
 *      and adds every candidate it found in the registry, whatever its
 *      layout:
 *        - each layer of the `sha256-<hex>.sig` manifest:
 *            strata_verify_result_add_cosign(r, blob, len, annotations, …)
 *        - each layer of the `sha256-<hex>.att` manifest:
 *            strata_verify_result_add_attestation(r, blob, len, annotations,…)
 *        - each Sigstore bundle found as a referrer:
 *            strata_verify_result_add_bundle(r, blob, len, …)
 *      A candidate that is garbage, names another digest or repository, or
 *      does not verify is recorded with its reason; it never fails the call.
 *   4. strata_verify_result_ok(r) says whether `threshold` distinct
 *      verifiers (a key, or a keyless identity) agreed and every required
 *      attestation type verified under one of them. The entries say, for
 *      each candidate, which verifier agreed (key fingerprint, or identity
 *      with issuer and log index) or why none did; _summary() gives one
 *      line for events and pull-request bodies, _to_json() the whole of it
 *      for `strata verify --format json` and the HTTP API.
 *
 * Errors: functions return 0 or a negative STRATA_E* and fill err. Bad
 * policy inputs (a key file, a trusted root, a regexp) are STRATA_EINVAL
 * or STRATA_EIO. Signature material that does not verify, for whatever
 * reason (malformed, wrong key, no log entry, ...), is
 * STRATA_VERIFY_EUNVERIFIED with the reason in err->msg, for instance
 * "certificate identity 'x' does not match 'y'". A CLI maps
 * STRATA_VERIFY_EUNVERIFIED to exit 1 and the others to exit 2.
 *
 * Limits: a bundle, envelope, payload or annotation over
 * STRATA_VERIFY_MAX_INPUT bytes is refused unread.
 */
#ifndef STRATA_VERIFY_H
#define STRATA_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core.h"

/* The material was read but does not verify (the reason is in err). */
#define STRATA_VERIFY_EUNVERIFIED STRATA_EAUTH

/* The largest bundle, envelope, payload or trusted root read. */
#define STRATA_VERIFY_MAX_INPUT (4u << 20)

/* Media types of the things this module reads and writes. */
#define STRATA_VERIFY_MT_BUNDLE_V01                                            \
    "application/vnd.dev.sigstore.bundle+json;version=0.1"
#define STRATA_VERIFY_MT_BUNDLE_V02                                            \
    "application/vnd.dev.sigstore.bundle+json;version=0.2"
#define STRATA_VERIFY_MT_BUNDLE_V03                                            \
    "application/vnd.dev.sigstore.bundle.v0.3+json"
#define STRATA_VERIFY_MT_DSSE "application/vnd.dsse.envelope.v1+json"
#define STRATA_VERIFY_MT_SIMPLESIGNING                                         \
    "application/vnd.dev.cosign.simplesigning.v1+json"
#define STRATA_VERIFY_MT_INTOTO "application/vnd.in-toto+json"

/* The annotations cosign puts on a signature or attestation layer. */
#define STRATA_VERIFY_ANN_SIGNATURE "dev.cosignproject.cosign/signature"
#define STRATA_VERIFY_ANN_CERTIFICATE "dev.sigstore.cosign/certificate"
#define STRATA_VERIFY_ANN_CHAIN "dev.sigstore.cosign/chain"
#define STRATA_VERIFY_ANN_BUNDLE "dev.sigstore.cosign/bundle"
#define STRATA_VERIFY_ANN_TIMESTAMP "dev.sigstore.cosign/rfc3161timestamp"

/* ---- public keys ------------------------------------------------------ */

/*
 * A public key a signature may be verified under: ECDSA P-256 or P-384,
 * RSA of 2048 bits or more, or Ed25519. Opaque; immutable once loaded.
 */
typedef struct strata_verify_key strata_verify_key;

/*
 * Loads a PEM (or DER) public key from path; cosign's `cosign.pub` is such
 * a file. Any other kind of key (DSA, a small RSA key, another curve), a
 * private key, or a file that holds no key is STRATA_EINVAL with a message
 * that names the file and says why ("unsupported key 'k.pem': ecdsa on
 * curve secp256k1; use ECDSA P-256 or P-384, RSA 2048+ or Ed25519").
 * Files over 64 KiB are refused. *out is the caller's.
 */
int strata_verify_key_load(strata_verify_key **out, const char *path,
                           strata_error *err);

/* The same from memory; name is used in messages (and copied). */
int strata_verify_key_parse(strata_verify_key **out, const void *data,
                            size_t len, const char *name, strata_error *err);

/*
 * What `config check` calls for a `verify.keys` entry or a catalog
 * `signing_key`: 0 when path holds a usable public key, else the reason.
 */
int strata_verify_key_check_file(const char *path, strata_error *err);

void strata_verify_key_free(strata_verify_key *key);

/* "sha256:<hex>" of the DER SubjectPublicKeyInfo. Borrowed. */
const char *strata_verify_key_fingerprint(const strata_verify_key *key);
/* "ecdsa-p256", "ecdsa-p384", "rsa-3072", "ed25519". Borrowed. */
const char *strata_verify_key_algorithm(const strata_verify_key *key);
/* The name it was loaded under (its path). Borrowed. */
const char *strata_verify_key_name(const strata_verify_key *key);

/* ---- Sigstore trusted roots ------------------------------------------- */

/*
 * A parsed `dev.sigstore.trustedroot.v0.1+json` (trusted_root.json):
 * transparency logs (Rekor keys, log ids, validity), certificate
 * authorities (Fulcio chains and the time they are valid for), CT logs and
 * timestamp authorities. Opaque; immutable; may be shared by any number of
 * policies and threads.
 */
typedef struct strata_verify_trusted_root strata_verify_trusted_root;

/*
 * Loads and checks path. Every problem is STRATA_EINVAL naming the file and
 * the element: "trusted root 'r.json': tlogs[1].publicKey.validFor has no
 * start". *out is the caller's.
 */
int strata_verify_trusted_root_load(strata_verify_trusted_root **out,
                                    const char *path, strata_error *err);
int strata_verify_trusted_root_parse(strata_verify_trusted_root **out,
                                     const void *data, size_t len,
                                     const char *name, strata_error *err);
void strata_verify_trusted_root_free(strata_verify_trusted_root *root);
/*
 * "2 transparency logs, 2 certificate authorities, 2 CT logs, 1 timestamp
 * authority". Borrowed.
 */
const char *
strata_verify_trusted_root_summary(const strata_verify_trusted_root *root);

/* ---- policy ----------------------------------------------------------- */

/*
 * A keyless identity: the certificate's OIDC issuer (extension
 * 1.3.6.1.4.1.57264.1.8, or the legacy .1.1) must equal issuer, and its
 * SAN (email or URI) must equal subject, or match subject_regexp (a POSIX
 * extended regexp that must match the whole SAN). Exactly one of subject
 * and subject_regexp is set.
 */
typedef struct strata_verify_identity {
    const char *issuer;
    const char *subject;
    const char *subject_regexp;
} strata_verify_identity;

/* 0 when id is complete and its regexp compiles, else why (STRATA_EINVAL). */
int strata_verify_identity_check(const strata_verify_identity *id,
                                 strata_error *err);

/*
 * What must hold for a digest to count as verified. Everything is
 * borrowed and must outlive the calls that use the policy.
 *
 * Verifiers are the keys and the identities: key i is verifier "key
 * <fingerprint>", identity j is "identity <subject> (<issuer>)". A
 * signature counts for the one verifier that verified it; the digest is
 * verified when at least `threshold` distinct verifiers agree.
 */
typedef struct strata_verify_policy {
    strata_verify_key *const *keys;
    size_t nkeys;
    /* Needed for keyless signatures, and to check log entries. */
    const strata_verify_trusted_root *trusted_root;
    const strata_verify_identity *identities;
    size_t nidentities;
    /* Distinct verifiers that must agree; 0 means 1. */
    unsigned threshold;
    /*
     * Key-based signatures need a transparency-log entry that verifies
     * under trusted_root (cosign's default). When 0, a key signature
     * stands on its own, and a log entry that comes with it is still
     * checked when trusted_root is set.
     */
    int key_requires_tlog;
    /* in-toto predicate types that must verify too (SLSA provenance…). */
    const char *const *attestations;
    size_t nattestations;
    /*
     * Repositories, besides the watched one, that a payload's
     * docker-reference may name (mirrors), in any form strata_ref_parse
     * reads ("mirror.example.com/library/debian").
     */
    const char *const *mirrors;
    size_t nmirrors;
    /*
     * The current time, in seconds since the epoch (0: the clock), for
     * what is checked against now (an SCT may not be dated more than 5
     * minutes ahead of it).
     * Certificates are checked at their verified signing time instead.
     */
    int64_t now;
} strata_verify_policy;

/* ---- what verified a signature ----------------------------------------- */

/*
 * Who signed, as far as a verification established it. Embedded by the
 * caller; strata_verify_signer_release() frees the strings.
 */
typedef struct strata_verify_signer {
    int verifier;  /* index: keys first, then identities; -1 when none */
    char *summary; /* "key sha256:…" or "keyless <subject> (<issuer>)" */
    char *key_fingerprint; /* key-based: "sha256:<hex>"; else NULL */
    char *subject;         /* keyless: the certificate's SAN; else NULL */
    char *issuer;          /* keyless: its OIDC issuer; else NULL */
    int64_t log_index;     /* the verified log entry's index, or -1 */
    int64_t signed_time;   /* a verified signing time (seconds), or 0 */
    char *predicate_type;  /* attestations: the in-toto predicateType */
} strata_verify_signer;

void strata_verify_signer_release(strata_verify_signer *s);

/* ---- Sigstore bundles --------------------------------------------------- */

/*
 * What a signature is over: the bytes themselves, or only their digest
 * ("sha256:<hex>"; then data is NULL). A bundle over an image names the
 * manifest digest. Ed25519 message signatures need the bytes.
 */
typedef struct strata_verify_artifact {
    const void *data;
    size_t len;
    const char *digest;
} strata_verify_artifact;

/*
 * Verifies one Sigstore bundle (v0.1, v0.2, v0.3) over artifact under
 * policy: the message signature (or DSSE envelope, whose in-toto subject
 * must name the artifact's digest) under a policy key or a certificate
 * that chains to a Fulcio CA of the trusted root valid at a verified
 * signing time, the certificate's embedded SCT under a CT log of the root,
 * every log entry (signed entry timestamp or inclusion proof with a signed
 * checkpoint, Rekor v1 and v2) and its consistency with this signature,
 * certificate and artifact, every RFC 3161 timestamp, and the identity.
 * Returns 0 and fills out (may be NULL; release it) when verified, else
 * STRATA_VERIFY_EUNVERIFIED with the reason, or STRATA_EINVAL when the
 * policy cannot verify anything (no keys, no trusted root).
 */
int strata_verify_bundle(strata_verify_signer *out, const void *bundle,
                         size_t len, const strata_verify_artifact *artifact,
                         const strata_verify_policy *policy, strata_error *err);

/*
 * The interface of `strata verify bundle BUNDLE ARTIFACT [--key FILE]
 * [--trusted-root FILE] [--identity ID | --identity-regexp RE]
 * [--issuer URL]`, which is also what a Sigstore conformance client does.
 * artifact is a path, or "sha256:<hex>". With key_path the bundle must
 * verify under that key (its log entries too, when trusted_root_path is
 * given); else keyless with identity (or identity_regexp) and issuer,
 * which are then required, as is trusted_root_path.
 *
 * Returns 0 when verified (out filled, when not NULL; release it),
 * STRATA_VERIFY_EUNVERIFIED (exit 1) when not, and any other code (exit
 * 2: STRATA_EUSAGE for missing flags, STRATA_EINVAL, STRATA_EIO or
 * STRATA_ENOTFOUND for a bad or unreadable key, trusted root, bundle or
 * artifact). The artifact file may be up to 256 MiB.
 */
typedef struct strata_verify_bundle_opts {
    const char *bundle_path;
    const char *artifact; /* a path, or "sha256:<hex>" */
    const char *key_path;
    const char *trusted_root_path;
    const char *identity;
    const char *identity_regexp;
    const char *issuer;
} strata_verify_bundle_opts;

int strata_verify_bundle_file(strata_verify_signer *out,
                              const strata_verify_bundle_opts *opts,
                              strata_error *err);

/* ---- DSSE and in-toto ---------------------------------------------------- */

/*
 * The DSSE pre-authentication encoding of (type, payload):
 * "DSSEv1 <len(type)> <type> <len(payload)> <payload>". The caller frees
 * *out.
 */
void strata_verify_dsse_pae(unsigned char **out, size_t *out_len,
                            const char *payload_type, const void *payload,
                            size_t payload_len);

/* ---- cosign signatures -----------------------------------------------------
 */

/*
 * A parsed simple-signing payload:
 *   {"critical":{"identity":{"docker-reference":…},
 *                "image":{"docker-manifest-digest":…},
 *                "type":"cosign container image signature"},
 *    "optional":{…}}
 */
typedef struct strata_verify_payload {
    char *docker_reference;
    char *manifest_digest;
    json_t *optional; /* new reference, or NULL */
} strata_verify_payload;

/*
 * Parses payload (at most STRATA_VERIFY_MAX_INPUT bytes); every field
 * above is checked for shape. Release with strata_verify_payload_release.
 * STRATA_VERIFY_EUNVERIFIED when malformed.
 */
int strata_verify_payload_parse(strata_verify_payload *out, const void *data,
                                size_t len, strata_error *err);
void strata_verify_payload_release(strata_verify_payload *p);

/*
 * Verifies one cosign signature layer: payload is the layer blob (a
 * simple-signing payload), annotations the layer's annotations (borrowed
 * JSON object). The payload must name exactly digest and, when repository
 * is not NULL, a docker-reference equal to repository or one of the
 * policy's mirrors (compared as normalised names). The signature
 * (dev.cosignproject.cosign/signature) must verify under a policy key, or
 * under the certificate (dev.sigstore.cosign/certificate, chain) for a
 * policy identity, with the Rekor bundle annotation (signed entry
 * timestamp over a hashedrekord entry of this payload, signature and key)
 * as the signing time. Returns 0 and fills out (may be NULL), else
 * STRATA_VERIFY_EUNVERIFIED with the reason.
 */
int strata_verify_cosign(strata_verify_signer *out, const void *payload,
                         size_t payload_len, json_t *annotations,
                         const char *digest, const char *repository,
                         const strata_verify_policy *policy, strata_error *err);

/*
 * Verifies one cosign attestation layer (a DSSE envelope of an in-toto
 * statement, with the same annotations as a signature): the envelope's
 * signature over the PAE, a statement subject whose sha256 is digest, and
 * the log entry (intoto, dsse) when one is given. out->predicate_type
 * names what it attests.
 */
int strata_verify_attestation(strata_verify_signer *out, const void *envelope,
                              size_t envelope_len, json_t *annotations,
                              const char *digest,
                              const strata_verify_policy *policy,
                              strata_error *err);

/* ---- a digest's whole verdict ---------------------------------------------
 */

typedef struct strata_verify_result strata_verify_result;

/*
 * A verdict in the making for digest ("sha256:<hex>") of repository
 * (a normalised name such as "docker.io/library/debian", or NULL to skip
 * the docker-reference check). policy is borrowed. Never fails.
 */
strata_verify_result *
strata_verify_result_new(const strata_verify_policy *policy, const char *digest,
                         const char *repository);
void strata_verify_result_free(strata_verify_result *r);

/*
 * Add one candidate each; label names it in reports ("sha256-ab….sig
 * layer 1", "referrer sha256:…"). Each returns 1 when the candidate
 * verified, 0 when it did not (the reason is recorded). They never fail.
 */
int strata_verify_result_add_cosign(strata_verify_result *r,
                                    const void *payload, size_t len,
                                    json_t *annotations, const char *label);
int strata_verify_result_add_attestation(strata_verify_result *r,
                                         const void *envelope, size_t len,
                                         json_t *annotations,
                                         const char *label);
int strata_verify_result_add_bundle(strata_verify_result *r, const void *bundle,
                                    size_t len, const char *label);
/* Records a candidate the caller could not even fetch or read. */
void strata_verify_result_add_failure(strata_verify_result *r,
                                      const char *label, const char *reason);

/* 1 when the policy is met: threshold verifiers, every attestation. */
int strata_verify_result_ok(const strata_verify_result *r);
/* How many distinct verifiers agreed. */
size_t strata_verify_result_agreed(const strata_verify_result *r);

typedef struct strata_verify_entry {
    const char *label;
    const char *kind; /* "cosign", "attestation", "bundle", "error" */
    int ok;
    const char *reason;                 /* NULL when ok */
    const strata_verify_signer *signer; /* NULL unless ok */
} strata_verify_entry;

size_t strata_verify_result_count(const strata_verify_result *r);
/* Entry i (< count), borrowed from r. */
strata_verify_entry strata_verify_result_entry(const strata_verify_result *r,
                                               size_t i);
/*
 * One line: "verified by key sha256:ab12… (1 of 1 required)" or "not
 * verified: 0 of 1 required verifiers agreed; 2 signatures: …".
 * Borrowed; valid until the next add or free.
 */
const char *strata_verify_result_summary(strata_verify_result *r);
/* The whole verdict as JSON (new reference). */
json_t *strata_verify_result_to_json(const strata_verify_result *r);

/* ---- signing ------------------------------------------------------------- */

/*
 * A private key strata signs with: PEM (PKCS#8 or traditional), ECDSA
 * P-256/P-384, RSA 2048+, or Ed25519; an encrypted key is refused (it is a
 * secret from a file, never logged). Opaque.
 */
typedef struct strata_verify_signing_key strata_verify_signing_key;

int strata_verify_signing_key_load(strata_verify_signing_key **out,
                                   const char *path, strata_error *err);
int strata_verify_signing_key_parse(strata_verify_signing_key **out,
                                    const void *data, size_t len,
                                    const char *name, strata_error *err);
void strata_verify_signing_key_free(strata_verify_signing_key *key);
/* The fingerprint of its public half, as strata_verify_key_fingerprint. */
const char *
strata_verify_signing_key_fingerprint(const strata_verify_signing_key *key);
/* Its public half as PEM (cosign.pub); caller frees. */
char *strata_verify_signing_key_public_pem(const strata_verify_signing_key *k);

/*
 * Signs data as cosign does (ECDSA and RSA PKCS#1 v1.5 over SHA-256 of
 * data, whatever the curve, as cosign verifies them; Ed25519 over data)
 * and returns the base64 signature for the
 * dev.cosignproject.cosign/signature annotation. Caller frees *out.
 */
int strata_verify_sign(char **out, const strata_verify_signing_key *key,
                       const void *data, size_t len, strata_error *err);

/*
 * The simple-signing payload cosign signs for digest of repository
 * (docker_reference), as compact JSON. Caller frees *out.
 */
int strata_verify_cosign_payload(char **out, size_t *out_len,
                                 const char *docker_reference,
                                 const char *digest, strata_error *err);

/*
 * A DSSE envelope (JSON, compact) of payload with one signature under key
 * over the PAE; keyid is the key's fingerprint. Caller frees *out.
 */
int strata_verify_dsse_sign(char **out, const strata_verify_signing_key *key,
                            const char *payload_type, const void *payload,
                            size_t payload_len, strata_error *err);

/*
 * An in-toto Statement v1 with a SLSA provenance v1 predicate for what
 * strata made: subject name@digest, builder id (default
 * "https://github.com/strata/strata"), build type, the resolved
 * dependencies (the old image and the old and new base, each "name" and
 * "sha256:…" digest). Caller frees *out (compact JSON).
 */
typedef struct strata_verify_dependency {
    const char *uri; /* "docker.io/library/debian:12-slim" */
    const char *digest;
} strata_verify_dependency;

typedef struct strata_verify_provenance {
    const char *subject_name; /* "registry.example.com/acme/app" */
    const char *subject_digest;
    const char *builder_id;
    const char *build_type;      /* default "https://strata.dev/rebase/v1" */
    json_t *external_parameters; /* borrowed, may be NULL */
    const strata_verify_dependency *dependencies;
    size_t ndependencies;
    int64_t started_on, finished_on; /* seconds; 0 = omitted */
    const char *invocation_id;       /* may be NULL */
} strata_verify_provenance;

int strata_verify_slsa_statement(char **out, const strata_verify_provenance *p,
                                 strata_error *err);

#endif
