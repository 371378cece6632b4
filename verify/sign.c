/*
 * sign.c - what strata signs for the images it makes: a PEM private key
 * (a secret read from a file, never logged), cosign's simple-signing
 * payload and its base64 signature (what the `.sig` layer and its
 * dev.cosignproject.cosign/signature annotation hold), and a DSSE
 * envelope of an in-toto statement with a SLSA provenance v1 predicate.
 * Everything signed here verifies with verify/'s own functions and with
 * cosign and `openssl dgst`.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "oci.h"
#include "verify-int.h"

struct strata_verify_signing_key {
    EVP_PKEY *pkey;
    char fingerprint[72];
};

/* Refuses any passphrase prompt: keys here are unencrypted PEM. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return 0;
}

static int
contains(const char *data, size_t len, const char *needle)
{
    size_t n = strlen(needle), i;

    for (i = 0; i + n <= len; i++)
        if (memcmp(data + i, needle, n) == 0)
            return 1;
    return 0;
}

int
strata_verify_signing_key_parse(strata_verify_signing_key **out,
                                const void *data, size_t len, const char *name,
                                strata_error *err)
{
    char alg[24], why[96];
    EVP_PKEY *pkey;
    BIO *bio;

    *out = NULL;
    if (name == NULL)
        name = "signing key";
    if (len > STRATA_VERIFY__MAX_KEY_FILE)
        return strata_error_set(err, STRATA_EINVAL,
                                "signing key '%s' is too big", name);
    if (contains(data, len, "ENCRYPTED"))
        return strata_error_set(err, STRATA_EINVAL,
                                "signing key '%s' is encrypted; strata needs "
                                "an unencrypted PEM private key",
                                name);
    bio = BIO_new_mem_buf(data, (int) len);
    if (bio == NULL)
        return strata_error_set(err, STRATA_EINTERNAL, "out of memory");
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (pkey == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "signing key '%s' holds no PEM private key",
                                name);
    if (strata_verify__pkey_supported(pkey, alg, sizeof(alg), why,
                                      sizeof(why)) < 0) {
        EVP_PKEY_free(pkey);
        return strata_error_set(err, STRATA_EINVAL,
                                "unsupported signing key '%s': %s; use ECDSA "
                                "P-256 or P-384, RSA 2048+ or Ed25519",
                                name, why);
    }
    *out = strata_xcalloc(1, sizeof(**out));
    (*out)->pkey = pkey;
    strata_verify__pkey_fingerprint((*out)->fingerprint, pkey);
    return 0;
}

int
strata_verify_signing_key_load(strata_verify_signing_key **out,
                               const char *path, strata_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = strata_read_file(&data, &len, path, STRATA_VERIFY__MAX_KEY_FILE, err);
    if (rc < 0)
        return rc == STRATA_ETOOBIG
                   ? strata_error_set(err, STRATA_EINVAL,
                                      "signing key '%s' is too big", path)
                   : rc;
    rc = strata_verify_signing_key_parse(out, data, len, path, err);
    OPENSSL_cleanse(data, len);
    free(data);
    return rc;
}

void
strata_verify_signing_key_free(strata_verify_signing_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

const char *
strata_verify_signing_key_fingerprint(const strata_verify_signing_key *key)
{
    return key->fingerprint;
}

char *
strata_verify_signing_key_public_pem(const strata_verify_signing_key *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *p = NULL, *out;
    long n;

    if (bio == NULL || !PEM_write_bio_PUBKEY(bio, key->pkey)) {
        BIO_free(bio);
        return NULL;
    }
    n = BIO_get_mem_data(bio, &p);
    out = strata_xstrndup(p, (size_t) n);
    BIO_free(bio);
    return out;
}

/* The raw signature of data: SHA-256 for ECDSA and RSA (PKCS#1 v1.5). */
static int
sign_raw(unsigned char **sig, size_t *siglen,
         const strata_verify_signing_key *key, const void *data, size_t len,
         strata_error *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md =
        EVP_PKEY_is_a(key->pkey, "ED25519") ? NULL : EVP_sha256();
    int rc = 0;

    *sig = NULL;
    *siglen = 0;
    if (ctx == NULL ||
        EVP_DigestSignInit(ctx, NULL, md, NULL, key->pkey) != 1 ||
        EVP_DigestSign(ctx, NULL, siglen, data, len) != 1) {
        rc = strata_error_set(err, STRATA_EINTERNAL, "cannot start signing");
        goto out;
    }
    *sig = strata_xmalloc(*siglen);
    if (EVP_DigestSign(ctx, *sig, siglen, data, len) != 1) {
        free(*sig);
        *sig = NULL;
        rc = strata_error_set(err, STRATA_EINTERNAL, "signing failed");
    }
out:
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

int
strata_verify_sign(char **out, const strata_verify_signing_key *key,
                   const void *data, size_t len, strata_error *err)
{
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int rc;

    *out = NULL;
    rc = sign_raw(&sig, &siglen, key, data, len, err);
    if (rc < 0)
        return rc;
    *out = strata_verify__b64enc(sig, siglen);
    free(sig);
    return 0;
}

int
strata_verify_cosign_payload(char **out, size_t *out_len,
                             const char *docker_reference, const char *digest,
                             strata_error *err)
{
    json_t *doc;
    int rc;

    *out = NULL;
    if (out_len != NULL)
        *out_len = 0;
    rc = strata_digest_validate(digest, err);
    if (rc < 0)
        return rc;
    if (docker_reference == NULL || docker_reference[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "a signature payload needs a repository");
    doc = json_pack("{s:{s:{s:s},s:{s:s},s:s},s:n}", "critical", "identity",
                    "docker-reference", docker_reference, "image",
                    "docker-manifest-digest", digest, "type",
                    "cosign container image signature", "optional");
    *out = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (out_len != NULL)
        *out_len = strlen(*out);
    return 0;
}

int
strata_verify_dsse_sign(char **out, const strata_verify_signing_key *key,
                        const char *payload_type, const void *payload,
                        size_t payload_len, strata_error *err)
{
    unsigned char *pae = NULL, *sig = NULL;
    size_t plen, siglen;
    char *b64payload, *b64sig;
    json_t *env;
    int rc;

    *out = NULL;
    strata_verify_dsse_pae(&pae, &plen, payload_type, payload, payload_len);
    rc = sign_raw(&sig, &siglen, key, pae, plen, err);
    free(pae);
    if (rc < 0)
        return rc;
    b64payload = strata_verify__b64enc(payload, payload_len);
    b64sig = strata_verify__b64enc(sig, siglen);
    env = json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "payloadType", payload_type,
                    "payload", b64payload, "signatures", "keyid",
                    key->fingerprint, "sig", b64sig);
    *out = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    free(b64payload);
    free(b64sig);
    free(sig);
    return 0;
}

static json_t *
digest_object(const char *digest, strata_error *err)
{
    const char *colon;
    char alg[16];

    if (digest == NULL || strata_digest_validate(digest, err) < 0)
        return NULL;
    colon = strchr(digest, ':');
    if (colon == NULL || (size_t) (colon - digest) >= sizeof(alg))
        return NULL;
    snprintf(alg, sizeof(alg), "%.*s", (int) (colon - digest), digest);
    return json_pack("{s:s}", alg, colon + 1);
}

int
strata_verify_slsa_statement(char **out, const strata_verify_provenance *p,
                             strata_error *err)
{
    json_t *subject, *deps, *params, *meta, *st;
    char when[32];
    size_t i;

    *out = NULL;
    if (p->subject_name == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "a provenance statement needs a subject");
    subject = digest_object(p->subject_digest, err);
    if (subject == NULL)
        return err ? err->code : STRATA_EINVAL;
    deps = json_array();
    for (i = 0; i < p->ndependencies; i++) {
        json_t *d = digest_object(p->dependencies[i].digest, err);
        if (d == NULL) {
            json_decref(subject);
            json_decref(deps);
            return err ? err->code : STRATA_EINVAL;
        }
        json_array_append_new(
            deps,
            json_pack("{s:s,s:o}", "uri",
                      p->dependencies[i].uri ? p->dependencies[i].uri : "",
                      "digest", d));
    }
    params = p->external_parameters ? json_incref(p->external_parameters)
                                    : json_object();
    meta = json_object();
    if (p->invocation_id != NULL)
        json_object_set_new(meta, "invocationId",
                            json_string(p->invocation_id));
    if (p->started_on > 0) {
        strata_verify__fmt_time(when, sizeof(when), p->started_on);
        json_object_set_new(meta, "startedOn", json_string(when));
    }
    if (p->finished_on > 0) {
        strata_verify__fmt_time(when, sizeof(when), p->finished_on);
        json_object_set_new(meta, "finishedOn", json_string(when));
    }
    st = json_pack(
        "{s:s,s:[{s:s,s:o}],s:s,s:{s:{s:s,s:o,s:o},s:{s:{s:s},s:o}}}", "_type",
        "https://in-toto.io/Statement/v1", "subject", "name", p->subject_name,
        "digest", subject, "predicateType", "https://slsa.dev/provenance/v1",
        "predicate", "buildDefinition", "buildType",
        p->build_type ? p->build_type : "https://strata.dev/rebase/v1",
        "externalParameters", params, "resolvedDependencies", deps,
        "runDetails", "builder", "id",
        p->builder_id ? p->builder_id : "https://github.com/strata/strata",
        "metadata", meta);
    if (st == NULL)
        return strata_error_set(err, STRATA_EINTERNAL,
                                "cannot build the provenance statement");
    *out = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    return 0;
}
