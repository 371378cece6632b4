/*
 * verify-int.h - what the files of verify/ share: the parsed trusted root,
 * the "material" every kind of signature is reduced to before it is
 * verified (a Sigstore bundle, a cosign signature layer and a cosign
 * attestation layer all become one), and small helpers over libcrypto.
 */
#ifndef STRATA_VERIFY_INT_H
#define STRATA_VERIFY_INT_H

#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "verify.h"

/* Bounds on what one piece of signature material may hold. */
#define STRATA_VERIFY__MAX_TLOG 8
#define STRATA_VERIFY__MAX_TIMESTAMPS 32
#define STRATA_VERIFY__MAX_CERTS 10
#define STRATA_VERIFY__MAX_PROOF 64
#define STRATA_VERIFY__MAX_DSSE_SIGS 16
#define STRATA_VERIFY__MAX_KEY_FILE (64u << 10)

/* Sets err to STRATA_VERIFY_EUNVERIFIED with a reason; returns the code. */
#define strata_verify__fail(err, ...)                                          \
    strata_error_set((err), STRATA_VERIFY_EUNVERIFIED, __VA_ARGS__)

/* ---- util.c ------------------------------------------------------------ */

/*
 * Decodes standard base64 (padding optional; line breaks skipped, as
 * Go's decoder does; URL-safe letters accepted when urlsafe). Returns 0, or -1
 * on any character outside the alphabet, misplaced padding or a length no
 * base64 text has. *out is the caller's (never NULL on success, even for empty
 * input).
 */
int strata_verify__b64dec(unsigned char **out, size_t *out_len, const char *in,
                          size_t in_len, int urlsafe);
/* The same for a NUL-terminated string. */
int strata_verify__b64dec_str(unsigned char **out, size_t *out_len,
                              const char *in);
/* Standard base64 with padding; caller frees. */
char *strata_verify__b64enc(const void *data, size_t len);
/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void strata_verify__hex(char *out, const void *in, size_t len);
/* Parses exactly outlen bytes of hex (either case); 0 or -1. */
int strata_verify__unhex(unsigned char *out, size_t outlen, const char *hex);
/* RFC 3339 ("2021-01-12T11:53:27Z", fractions, offsets) to seconds. */
int strata_verify__parse_time(int64_t *out, const char *s);
/* ASN1_TIME to seconds since the epoch. */
int strata_verify__asn1_time(int64_t *out, const ASN1_TIME *t);
/* "2024-03-19T17:26:26Z" into out (>= 21 bytes). */
void strata_verify__fmt_time(char *out, size_t len, int64_t t);
/* A JSON integer or a string of decimal digits (protobuf int64) to int64. */
int strata_verify__json_int64(int64_t *out, json_t *v);
/* "sha256:<64 hex>" into out; 0 or -1. */
int strata_verify__parse_digest(unsigned char out[32], const char *digest);
void strata_verify__sha256(unsigned char out[32], const void *data, size_t len);
/* Digest of data with md into out (EVP_MAX_MD_SIZE); returns its length. */
size_t strata_verify__digest(unsigned char *out, const EVP_MD *md,
                             const void *data, size_t len);
/*
 * Parses JSON of at most STRATA_VERIFY_MAX_INPUT bytes into an object (a
 * new reference), or fails naming what with jansson's reason.
 */
int strata_verify__json_object(json_t **out, const void *data, size_t len,
                               const char *what, strata_error *err);
/* The string member key of o, or NULL. Borrowed. */
const char *strata_verify__jstr(json_t *o, const char *key);

/* ---- key.c ------------------------------------------------------------- */

struct strata_verify_key {
    EVP_PKEY *pkey;
    char *name;
    char fingerprint[72]; /* "sha256:" + 64 hex */
    char algorithm[24];
};

/*
 * 0 when pkey is a kind strata verifies under (ECDSA P-256/P-384, RSA
 * 2048+, Ed25519), with its name in alg; else -1 with why.
 */
int strata_verify__pkey_supported(EVP_PKEY *pkey, char *alg, size_t alglen,
                                  char *why, size_t whylen);
/* "sha256:<hex>" of pkey's SubjectPublicKeyInfo into out (72 bytes). */
void strata_verify__pkey_fingerprint(char out[72], EVP_PKEY *pkey);
/* The digest cosign and Sigstore sign with: SHA-384 for P-384, NULL for
 * Ed25519, else SHA-256. */
const EVP_MD *strata_verify__pkey_md(EVP_PKEY *pkey);
/*
 * 1 when sig is a valid signature of data under pkey with md (NULL: the
 * key's own, see above; for RSA both PKCS#1 v1.5 and PSS), else 0.
 */
int strata_verify__sig_verify(EVP_PKEY *pkey, const EVP_MD *md,
                              const void *data, size_t len,
                              const unsigned char *sig, size_t siglen);
/* The same over a precomputed digest (ECDSA and RSA only). */
int strata_verify__sig_verify_digest(EVP_PKEY *pkey, const EVP_MD *md,
                                     const unsigned char *dgst, size_t dlen,
                                     const unsigned char *sig, size_t siglen);
/* A DER SubjectPublicKeyInfo, or a PKCS#1 RSAPublicKey; NULL if neither. */
EVP_PKEY *strata_verify__pkey_from_der(const unsigned char *der, size_t len);
/* A PEM "PUBLIC KEY"; NULL if not one. */
EVP_PKEY *strata_verify__pkey_from_pem(const void *pem, size_t len);
/* The first PEM certificate in pem, or NULL. */
X509 *strata_verify__cert_from_pem(const void *pem, size_t len);
/* Every PEM certificate in pem (at most MAX_CERTS), or NULL if none. */
STACK_OF(X509) * strata_verify__certs_from_pem(const void *pem, size_t len);
/* A new strata_verify_key that owns one reference to pkey. */
strata_verify_key *strata_verify__key_new(EVP_PKEY *pkey, const char *name);

/* ---- trustroot.c --------------------------------------------------------- */

/* A transparency or CT log of a trusted root. */
typedef struct strata_verify__log {
    char *url;
    unsigned char id[64];
    size_t idlen;
    EVP_PKEY *key;
    int64_t start, end; /* end is INT64_MAX when open */
} strata_verify__log;

/* A certificate or timestamp authority: its chain, leaf first. */
typedef struct strata_verify__authority {
    char *uri;
    STACK_OF(X509) * certs;
    int64_t start, end;
} strata_verify__authority;

struct strata_verify_trusted_root {
    char *name;
    strata_verify__log *tlogs;
    size_t ntlogs;
    strata_verify__log *ctlogs;
    size_t nctlogs;
    strata_verify__authority *cas;
    size_t ncas;
    strata_verify__authority *tsas;
    size_t ntsas;
    CTLOG_STORE *ctstore;
    char summary[160];
};

/* The transparency log whose id is id, or NULL. */
const strata_verify__log *
strata_verify__root_tlog(const strata_verify_trusted_root *root,
                         const unsigned char *id, size_t idlen);

/* ---- cert.c -------------------------------------------------------------- */

/*
 * Verifies leaf against the certificate authorities of root valid at time
 * t (validFor closed at both ends), with X509_verify_cert at t. On success
 * *issuer is a new reference to the certificate that signed leaf.
 */
int strata_verify__cert_chain(X509 **issuer,
                              const strata_verify_trusted_root *root,
                              X509 *leaf, int64_t t, strata_error *err);
/* At least one embedded SCT of leaf verifies under a CT log of root. */
int strata_verify__cert_sct(X509 *leaf, X509 *issuer,
                            const strata_verify_trusted_root *root, int64_t now,
                            strata_error *err);
/* Key usage digitalSignature, extended key usage codeSigning, not a CA. */
int strata_verify__cert_profile(X509 *leaf, strata_error *err);
/*
 * The certificate's SAN (the first email or URI) and OIDC issuer; both
 * new strings, either may come back NULL.
 */
void strata_verify__cert_identity(char **san, char **issuer, X509 *leaf);
/* 1 when id matches (san, issuer). */
int strata_verify__identity_matches(const strata_verify_identity *id,
                                    const char *san, const char *issuer);
/* 1 when cert is self-signed (a root). */
int strata_verify__cert_is_root(X509 *cert);

/* ---- tsa.c --------------------------------------------------------------- */

/*
 * Verifies a DER RFC 3161 TimeStampResp over data against the timestamp
 * authorities of root: the token's signature and message imprint, its
 * signer's chain at the time it states, and that time inside the
 * authority's validFor. *out is the time.
 */
int strata_verify__tsa_verify(int64_t *out,
                              const strata_verify_trusted_root *root,
                              const unsigned char *der, size_t len,
                              const unsigned char *data, size_t dlen,
                              strata_error *err);

/* ---- the material every signature becomes (material.c) --------------------
 */

/* One transparency-log entry, from a bundle or a cosign bundle annotation. */
typedef struct strata_verify__tlog_entry {
    char kind[32];
    char version[16];
    unsigned char *body;
    size_t body_len;
    int64_t log_index;
    unsigned char log_id[64];
    size_t log_id_len;
    int has_integrated_time;
    int64_t integrated_time;
    unsigned char *set; /* signed entry timestamp, or NULL */
    size_t set_len;
    int has_proof;
    int64_t proof_index, tree_size;
    unsigned char root_hash[32];
    unsigned char (*hashes)[32];
    size_t nhashes;
    char *checkpoint; /* NULL when the proof has none */
} strata_verify__tlog_entry;

typedef struct strata_verify__blob {
    unsigned char *data;
    size_t len;
} strata_verify__blob;

typedef struct strata_verify__material {
    /*
     * 1, 2, 3 for bundles v0.1 to v0.3; 0 for cosign's annotations (which
     * carry a signed entry timestamp and no inclusion proof, as v0.1).
     */
    int version;
    const char *what;       /* "bundle", "signature", "attestation" */
    X509 *leaf;             /* the signing certificate, or NULL (key-based) */
    STACK_OF(X509) * chain; /* certificates after the leaf, or NULL */
    int is_dsse;
    /* a message signature */
    strata_verify__blob sig;
    int has_msg_digest;
    const EVP_MD *msg_md;
    unsigned char msg_digest[EVP_MAX_MD_SIZE];
    size_t msg_digest_len;
    /* a DSSE envelope */
    char *payload_type;
    strata_verify__blob payload;
    strata_verify__blob *dsse_sigs;
    size_t ndsse_sigs;
    strata_verify__tlog_entry *entries;
    size_t nentries;
    strata_verify__blob *timestamps; /* DER TimeStampResp */
    size_t ntimestamps;
    /*
     * What the timestamps are over when not the signature itself (cosign
     * stamps an attestation's whole envelope).
     */
    strata_verify__blob ts_data;
} strata_verify__material;

void strata_verify__material_release(strata_verify__material *m);
void strata_verify__tlog_entry_release(strata_verify__tlog_entry *e);

/*
 * The whole verification of m over artifact under policy (see
 * strata_verify_bundle in verify.h). For DSSE material the in-toto
 * statement's subject must name the artifact's sha256.
 */
int strata_verify__material_verify(strata_verify_signer *out,
                                   const strata_verify__material *m,
                                   const strata_verify_artifact *artifact,
                                   const strata_verify_policy *policy,
                                   strata_error *err);

/* ---- tlog.c -------------------------------------------------------------- */

/*
 * Verifies the log entry e under the log of root it names: its signed
 * entry timestamp and/or its inclusion proof and signed checkpoint, as the
 * material's version requires. *time_out is the integrated time when a
 * signed entry timestamp vouches for it, else -1.
 */
int strata_verify__tlog_verify(int64_t *time_out,
                               const strata_verify__log **log_out,
                               const strata_verify_trusted_root *root,
                               const strata_verify__tlog_entry *e, int version,
                               strata_error *err);
/* RFC 6962 inclusion of leaf_hash at index in a tree of size with root. */
int strata_verify__merkle_inclusion(int64_t index, int64_t size,
                                    const unsigned char leaf_hash[32],
                                    const unsigned char (*proof)[32],
                                    size_t nproof,
                                    const unsigned char root_hash[32]);
/*
 * A signed note (checkpoint) verified under log: some signature line whose
 * key hint is the log id's first four bytes verifies; *size and root out.
 */
int strata_verify__checkpoint_verify(int64_t *size, unsigned char root[32],
                                     const char *text,
                                     const strata_verify__log *log,
                                     strata_error *err);

/* ---- body.c -------------------------------------------------------------- */

/*
 * The signing key the material was verified under, for the consistency
 * check: leaf when keyless, else pkey.
 */
typedef struct strata_verify__signing {
    X509 *leaf;
    EVP_PKEY *pkey;
} strata_verify__signing;

/*
 * Checks that a log entry's body records exactly this signature, this key
 * or certificate and this artifact (digest), so an entry of another
 * signature cannot stand in (CVE-2022-36056).
 */
int strata_verify__body_matches(const strata_verify__tlog_entry *e,
                                const strata_verify__material *m,
                                const strata_verify__signing *s,
                                const strata_verify_artifact *artifact,
                                const unsigned char artifact_sha256[32],
                                strata_error *err);

/* ---- dsse.c ------------------------------------------------------------- */

/*
 * Parses a DSSE envelope object into m's DSSE fields (payload type,
 * payload, signatures); m->is_dsse is set.
 */
int strata_verify__dsse_parse(strata_verify__material *m, json_t *env,
                              const char *what, strata_error *err);
/*
 * Checks an in-toto statement: its subject list names sha256 (hex) and
 * *predicate_type (new string) is its predicateType.
 */
int strata_verify__statement_check(char **predicate_type, const void *payload,
                                   size_t len, const unsigned char sha256[32],
                                   strata_error *err);

/* ---- cosign.c ------------------------------------------------------------ */

/*
 * Builds material from a cosign layer's annotations: signature (unless
 * is_dsse), certificate and chain, the Rekor bundle annotation and the RFC
 * 3161 annotation.
 */
int strata_verify__cosign_material(strata_verify__material *m,
                                   json_t *annotations, int is_dsse,
                                   strata_error *err);

/* ---- bundle.c ------------------------------------------------------------ */

/* Parses a Sigstore bundle (v0.1 to v0.3) into m. */
int strata_verify__bundle_parse(strata_verify__material *m, const void *data,
                                size_t len, strata_error *err);

#endif
