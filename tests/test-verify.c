/*
 * test-verify.c - verify/: keys, trusted roots, Sigstore bundles (the
 * Sigstore client conformance cases in tests/verify/conformance/, run as a
 * conformance client runs them), cosign signatures and attestations, the
 * verdict over a digest, and signing. Keys are made with the openssl CLI
 * in a temporary directory; every bad input the trust issue lists is
 * refused with its reason.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "harness.h"
#include "verify-int.h"
#include "verify.h"

#define CONF STRATA_TEST_VERIFY_DIR "/conformance"
#define DEFAULT_IDENTITY                                                       \
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-" \
    "beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/" \
    "main"
#define DEFAULT_ISSUER "https://token.actions.githubusercontent.com"

static char tmpdir[256];

/* ---- helpers ------------------------------------------------------------ */

static char *path_of(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
path_of(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = strata_xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

static int
exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static char *
slurp(const char *path, size_t *len)
{
    char *data = NULL;
    size_t n = 0;
    strata_error err;

    if (strata_read_file(&data, &n, path, 0, &err) < 0)
        return NULL;
    if (len != NULL)
        *len = n;
    return data;
}

/* The first line of a small file, or NULL. */
static char *
first_line(const char *path)
{
    char *s = slurp(path, NULL);
    if (s != NULL)
        s[strcspn(s, "\r\n")] = '\0';
    return s;
}

/* Runs a shell command; SH_OK fails the test unless it exits 0. */
#define SH_OK(...) CHECK(sh(__VA_ARGS__) == 0)

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int rc;

    va_start(ap, fmt);
    cmd = strata_xvasprintf(fmt, ap);
    va_end(ap);
    rc = system(cmd);
    free(cmd);
    return rc;
}

/* ---- keys -----------------------------------------------------------------
 */

/* Makes NAME.pem (private) and NAME.pub (public) in tmpdir with openssl. */
static void
make_key(const char *name, const char *genpkey_args)
{
    SH_OK("cd '%s' && openssl genpkey %s -out %s.pem 2>/dev/null && "
          "openssl pkey -in %s.pem -pubout -out %s.pub",
          tmpdir, genpkey_args, name, name, name);
}

static char *
tmp(const char *name)
{
    return path_of("%s/%s", tmpdir, name);
}

static void
make_keys(void)
{
    make_key("p256", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256");
    make_key("p384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384");
    make_key("other256", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256");
    make_key("rsa2048", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048");
    make_key("ed25519", "-algorithm ED25519");
    make_key("rsa1024", "-algorithm RSA -pkeyopt rsa_keygen_bits:1024");
    make_key("k1", "-algorithm EC -pkeyopt ec_paramgen_curve:secp256k1");
    make_key("x25519", "-algorithm X25519");
    make_key("ed448", "-algorithm ED448");
    SH_OK("cd '%s' && openssl genpkey -genparam -algorithm DSA "
          "-pkeyopt dsa_paramgen_bits:1024 -out dsap.pem 2>/dev/null && "
          "openssl genpkey -paramfile dsap.pem -out dsa.pem && "
          "openssl pkey -in dsa.pem -pubout -out dsa.pub",
          tmpdir);
}

TEST(key_types_accepted)
{
    static const struct {
        const char *file, *alg;
    } ok[] = {{"p256.pub", "ecdsa-p256"},
              {"p384.pub", "ecdsa-p384"},
              {"rsa2048.pub", "rsa-2048"},
              {"ed25519.pub", "ed25519"}};
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        strata_verify_key *k = NULL;
        strata_error err;
        char *p = tmp(ok[i].file);
        CHECK_OK(strata_verify_key_load(&k, p, &err), &err);
        CHECK_STR_EQ(strata_verify_key_algorithm(k), ok[i].alg);
        CHECK_STR_EQ(strata_verify_key_name(k), p);
        CHECK_OK(strata_verify_key_check_file(p, &err), &err);
        strata_verify_key_free(k);
        free(p);
    }
    strata_verify_key_free(NULL);
}

TEST(key_types_refused)
{
    static const struct {
        const char *file, *why;
    } bad[] = {
        {"rsa1024.pub", "rsa of 1024 bits (at least 2048 needed)"},
        {"k1.pub", "ecdsa on curve secp256k1"},
        {"x25519.pub", "a X25519 key"},
        {"ed448.pub", "a ED448 key"},
        {"dsa.pub", "a DSA key"},
        {"p256.pem", "is a private key; verification needs the public key"},
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strata_verify_key *k = (strata_verify_key *) 1;
        strata_error err;
        char *p = tmp(bad[i].file);
        CHECK_EQ(strata_verify_key_load(&k, p, &err), STRATA_EINVAL);
        CHECK(k == NULL);
        CHECK_CONTAINS(err.msg, bad[i].why);
        CHECK_CONTAINS(err.msg, p);
        CHECK_EQ(strata_verify_key_check_file(p, &err), STRATA_EINVAL);
        free(p);
    }
}

TEST(key_garbage_and_limits)
{
    strata_verify_key *k = NULL;
    strata_error err;
    char *p = tmp("garbage.pub"), *big = tmp("big.pub"), *missing;
    char *buf;

    CHECK_EQ(strata_verify_key_parse(&k, "hello", 5, "g", &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "key 'g' is neither a PEM nor a DER public key");
    CHECK_EQ(strata_verify_key_parse(&k, "", 0, "e", &err), STRATA_EINVAL);
    CHECK_EQ(strata_verify_key_parse(
                 &k,
                 "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                 58, "t", &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "holds no PEM public key");
    SH_OK("head -c 70000 /dev/zero > '%s'", big);
    CHECK_EQ(strata_verify_key_load(&k, big, &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "too big");
    missing = tmp("nope.pub");
    CHECK_EQ(strata_verify_key_load(&k, missing, &err), STRATA_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "nope.pub");
    buf = strata_xmalloc(4096);
    memset(buf, 'A', 4096);
    CHECK_EQ(strata_verify_key_parse(&k, buf, 4096, "a", &err), STRATA_EINVAL);
    free(buf);
    free(p);
    free(big);
    free(missing);
}

TEST(key_der_and_pkcs1)
{
    strata_verify_key *a = NULL, *b = NULL, *c = NULL;
    strata_error err;
    char *pem = tmp("rsa2048.pub"), *der = tmp("rsa2048.der"),
         *pkcs1 = tmp("rsa2048.pkcs1");

    SH_OK("cd '%s' && openssl pkey -pubin -in rsa2048.pub -outform DER "
          "-out rsa2048.der && openssl rsa -pubin -in rsa2048.pub "
          "-RSAPublicKey_out -out rsa2048.pkcs1 2>/dev/null",
          tmpdir);
    CHECK_OK(strata_verify_key_load(&a, pem, &err), &err);
    CHECK_OK(strata_verify_key_load(&b, der, &err), &err);
    CHECK_OK(strata_verify_key_load(&c, pkcs1, &err), &err);
    CHECK_STR_EQ(strata_verify_key_fingerprint(a),
                 strata_verify_key_fingerprint(b));
    CHECK_STR_EQ(strata_verify_key_fingerprint(a),
                 strata_verify_key_fingerprint(c));
    strata_verify_key_free(a);
    strata_verify_key_free(b);
    strata_verify_key_free(c);
    free(pem);
    free(der);
    free(pkcs1);
}

TEST(key_fingerprint_is_sha256_of_spki)
{
    strata_verify_key *k = NULL;
    strata_error err;
    char *p = tmp("p256.pub"), *want, *out = tmp("fp.txt");

    SH_OK("openssl pkey -pubin -in '%s' -outform DER | sha256sum | "
          "cut -c1-64 > '%s'",
          p, out);
    want = first_line(out);
    CHECK_OK(strata_verify_key_load(&k, p, &err), &err);
    CHECK(strncmp(strata_verify_key_fingerprint(k), "sha256:", 7) == 0);
    CHECK_STR_EQ(strata_verify_key_fingerprint(k) + 7, want);
    strata_verify_key_free(k);
    free(want);
    free(p);
    free(out);
}

/* ---- trusted roots ----------------------------------------------------------
 */

TEST(trusted_root_production)
{
    strata_verify_trusted_root *r = NULL;
    strata_error err;

    CHECK_OK(strata_verify_trusted_root_load(
                 &r, CONF "/trusted_root.production.json", &err),
             &err);
    CHECK_STR_EQ(strata_verify_trusted_root_summary(r),
                 "2 transparency logs, 2 certificate authorities, 2 CT "
                 "logs, 1 timestamp authority");
    CHECK_EQ(r->ntlogs, 2);
    CHECK(r->tlogs[0].end == INT64_MAX);
    CHECK(r->cas[0].end != INT64_MAX);
    strata_verify_trusted_root_free(r);
    CHECK_OK(strata_verify_trusted_root_load(
                 &r, CONF "/trusted_root.staging.json", &err),
             &err);
    strata_verify_trusted_root_free(r);
    strata_verify_trusted_root_free(NULL);
}

static void
root_error(const char *json, const char *want)
{
    strata_verify_trusted_root *r = (strata_verify_trusted_root *) 1;
    strata_error err;

    CHECK_EQ(strata_verify_trusted_root_parse(&r, json, strlen(json), "r.json",
                                              &err),
             STRATA_EINVAL);
    CHECK(r == NULL);
    CHECK_CONTAINS(err.msg, "trusted root 'r.json': ");
    CHECK_CONTAINS(err.msg, want);
}

TEST(trusted_root_errors)
{
    strata_verify_trusted_root *r = NULL;
    strata_error err;
    char *doc, *p;
    json_t *j, *tl;

    root_error("{", "line 1");
    root_error("[]", "not a JSON object");
    root_error("{\"mediaType\":\"x\"}", "mediaType is 'x'");
    root_error("{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+"
               "json;version=0.1\"}",
               "no transparency logs");
    root_error("{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+"
               "json;version=0.1\",\"tlogs\":[{\"publicKey\":{\"rawBytes\":"
               "\"!!\"}}]}",
               "tlogs[0].publicKey.rawBytes is missing or not base64");
    root_error("{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+"
               "json;version=0.1\",\"tlogs\":[{\"publicKey\":{\"rawBytes\":"
               "\"AAAA\"}}]}",
               "tlogs[0].publicKey.rawBytes is not a DER public key");
    root_error("{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+"
               "json;version=0.1\",\"certificateAuthorities\":[{\"certChain\":"
               "{\"certificates\":[{\"rawBytes\":\"AAAA\"}]}}]}",
               "certificateAuthorities[0].certChain.certificates[0] is not a "
               "DER certificate");
    /* A real root with one field broken at a time. */
    doc = slurp(CONF "/trusted_root.production.json", NULL);
    CHECK(doc != NULL);
    j = json_loads(doc, 0, NULL);
    tl = json_array_get(json_object_get(j, "tlogs"), 1);
    json_object_set_new(
        json_object_get(json_object_get(tl, "publicKey"), "validFor"), "start",
        json_string("yesterday"));
    p = json_dumps(j, 0);
    root_error(p, "tlogs[1].publicKey.validFor.start is not an RFC 3339 time");
    free(p);
    json_object_del(
        json_object_get(json_object_get(tl, "publicKey"), "validFor"), "start");
    p = json_dumps(j, 0);
    root_error(p, "tlogs[1].publicKey.validFor has no start");
    free(p);
    json_decref(j);
    free(doc);
    CHECK_EQ(
        strata_verify_trusted_root_load(&r, "/nonexistent/root.json", &err),
        STRATA_ENOTFOUND);
}

/* ---- bundles: the bad inputs the trust issue lists
 * ---------------------------- */

#define BV CONF "/bundle-verify"
#define A_TXT_DIGEST                                                           \
    "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"

static strata_verify_trusted_root *production;
static strata_verify_trusted_root *staging;
static char *a_txt;
static size_t a_txt_len;

static const strata_verify_identity default_identity = {DEFAULT_ISSUER,
                                                        DEFAULT_IDENTITY, NULL};

static strata_verify_policy
keyless_policy(const strata_verify_identity *ids, size_t n)
{
    strata_verify_policy p;

    memset(&p, 0, sizeof(p));
    p.trusted_root = production;
    p.identities = ids;
    p.nidentities = n;
    return p;
}

static json_t *
load_json(const char *path)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);

    if (j == NULL)
        printf("# %s: %s\n", path, jerr.text);
    CHECK(j != NULL);
    return j;
}

/* Verifies the JSON document j as a bundle over artifact. */
static int
verify_doc(strata_verify_signer *out, json_t *j,
           const strata_verify_artifact *a, const strata_verify_policy *p,
           strata_error *err)
{
    char *s = json_dumps(j, JSON_COMPACT);
    int rc;

    strata_error_clear(err);
    rc = strata_verify_bundle(out, s, strlen(s), a, p, err);
    free(s);
    return rc;
}

static void
load_fixtures(void)
{
    strata_error err;

    CHECK_OK(strata_verify_trusted_root_load(
                 &production, CONF "/trusted_root.production.json", &err),
             &err);
    CHECK_OK(strata_verify_trusted_root_load(
                 &staging, CONF "/trusted_root.staging.json", &err),
             &err);
    a_txt = slurp(BV "/a.txt", &a_txt_len);
    CHECK(a_txt != NULL);
}

TEST(bundle_verified_signer)
{
    json_t *b = load_json(BV "/happy-path-v0.3/bundle.sigstore.json");
    strata_verify_policy p = keyless_policy(&default_identity, 1);
    strata_verify_artifact bytes = {a_txt, a_txt_len, NULL};
    strata_verify_artifact digest = {NULL, 0, A_TXT_DIGEST};
    strata_verify_signer s;
    strata_error err;

    CHECK_OK(verify_doc(&s, b, &bytes, &p, &err), &err);
    CHECK_EQ(s.verifier, 0);
    CHECK_STR_EQ(s.summary,
                 "keyless " DEFAULT_IDENTITY " (" DEFAULT_ISSUER ")");
    CHECK_STR_EQ(s.subject, DEFAULT_IDENTITY);
    CHECK_STR_EQ(s.issuer, DEFAULT_ISSUER);
    CHECK(s.key_fingerprint == NULL);
    CHECK_EQ(s.log_index, 79571823);
    CHECK_EQ(s.signed_time, 1710869186);
    strata_verify_signer_release(&s);
    /* The same bundle against the artifact's digest only. */
    CHECK_OK(verify_doc(&s, b, &digest, &p, &err), &err);
    strata_verify_signer_release(&s);
    strata_verify_signer_release(NULL);
    json_decref(b);
}

TEST(bundle_sct_clock)
{
    json_t *b = load_json(BV "/happy-path-v0.3/bundle.sigstore.json");
    strata_verify_policy p = keyless_policy(&default_identity, 1);
    strata_verify_artifact a = {a_txt, a_txt_len, NULL};
    strata_error err;

    /* A CT log's clock a little ahead of ours is fine (5 minutes)... */
    p.now = 1710869186 - 120;
    CHECK_OK(verify_doc(NULL, b, &a, &p, &err), &err);
    /* ... an SCT from an hour later than now is not. */
    p.now = 1710869186 - 3600;
    CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "the certificate's SCT is dated after now (is the "
                          "clock right?)");
    json_decref(b);
}

TEST(bundle_ct_log_validity)
{
    json_t *b = load_json(BV "/happy-path-v0.3/bundle.sigstore.json");
    json_t *root = load_json(CONF "/trusted_root.production.json");
    strata_verify_trusted_root *r = NULL;
    strata_verify_policy p = keyless_policy(&default_identity, 1);
    strata_verify_artifact a = {a_txt, a_txt_len, NULL};
    strata_error err;
    json_t *logs = json_object_get(root, "ctlogs"), *log;
    size_t i;
    char *doc;

    /* Every CT log ends before the SCT (2024-03-19) was made. */
    json_array_foreach (logs, i, log) {
        json_object_set_new(
            json_object_get(json_object_get(log, "publicKey"), "validFor"),
            "end", json_string("2024-01-01T00:00:00Z"));
    }
    doc = json_dumps(root, 0);
    CHECK_OK(strata_verify_trusted_root_parse(&r, doc, strlen(doc), "r", &err),
             &err);
    p.trusted_root = r;
    CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "the certificate's SCT is dated outside the "
                          "validity of its CT log in the trusted root");
    strata_verify_trusted_root_free(r);
    free(doc);
    json_decref(root);
    json_decref(b);
}

TEST(bundle_identity)
{
    json_t *b = load_json(BV "/happy-path-v0.3/bundle.sigstore.json");
    strata_verify_artifact a = {a_txt, a_txt_len, NULL};
    strata_verify_identity ids[2] = {
        {DEFAULT_ISSUER, "https://github.com/someone/else", NULL},
        {DEFAULT_ISSUER, NULL,
         "https://github.com/sigstore-conformance/.*@refs/heads/main"}};
    strata_verify_policy p = keyless_policy(ids, 2);
    strata_verify_signer s;
    strata_error err;

    /* The second identity (a regexp) agrees: verifier 1 (no keys). */
    CHECK_OK(verify_doc(&s, b, &a, &p, &err), &err);
    CHECK_EQ(s.verifier, 1);
    strata_verify_signer_release(&s);
    /* A mismatch names both sides. */
    p.nidentities = 1;
    CHECK_EQ(verify_doc(&s, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "certificate identity '" DEFAULT_IDENTITY
                          "' (issuer '" DEFAULT_ISSUER
                          "') does not match 'https://github.com/someone/"
                          "else' (issuer '" DEFAULT_ISSUER "')");
    /* A regexp must match the whole SAN. */
    ids[0].subject = NULL;
    ids[0].subject_regexp = "sigstore-conformance";
    CHECK_EQ(verify_doc(&s, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg,
                   "does not match the pattern 'sigstore-conformance'");
    /* The right subject from another issuer is not the identity. */
    ids[0].subject_regexp = NULL;
    ids[0].subject = DEFAULT_IDENTITY;
    ids[0].issuer = "https://accounts.google.com";
    CHECK_EQ(verify_doc(&s, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "(issuer 'https://accounts.google.com')");
    /* Identities are checked at configuration time. */
    {
        strata_verify_identity bad1 = {NULL, "x", NULL};
        strata_verify_identity bad2 = {"i", "x", "y"};
        strata_verify_identity bad3 = {"i", NULL, "(unclosed"};
        CHECK_EQ(strata_verify_identity_check(&bad1, &err), STRATA_EINVAL);
        CHECK_CONTAINS(err.msg, "has no issuer");
        CHECK_EQ(strata_verify_identity_check(&bad2, &err), STRATA_EINVAL);
        CHECK_CONTAINS(err.msg, "exactly one of subject and subject_regexp");
        CHECK_EQ(strata_verify_identity_check(&bad3, &err), STRATA_EINVAL);
        CHECK_CONTAINS(err.msg, "subject_regexp '(unclosed' does not compile");
        CHECK_OK(strata_verify_identity_check(&ids[1], &err), &err);
    }
    json_decref(b);
}

TEST(bundle_untrusted_ca)
{
    /* Production logs, but staging's certificate authorities only. */
    json_t *prod = load_json(CONF "/trusted_root.production.json");
    json_t *stag = load_json(CONF "/trusted_root.staging.json");
    json_t *b = load_json(BV "/happy-path-v0.3/bundle.sigstore.json");
    strata_verify_trusted_root *mixed = NULL;
    strata_verify_policy p = keyless_policy(&default_identity, 1);
    strata_verify_artifact a = {a_txt, a_txt_len, NULL};
    strata_verify_signer s;
    strata_error err;
    char *doc;

    json_object_set(prod, "certificateAuthorities",
                    json_object_get(stag, "certificateAuthorities"));
    doc = json_dumps(prod, 0);
    CHECK_OK(strata_verify_trusted_root_parse(&mixed, doc, strlen(doc),
                                              "mixed.json", &err),
             &err);
    p.trusted_root = mixed;
    CHECK_EQ(verify_doc(&s, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "certificate does not chain to a certificate "
                            "authority of the trusted root at "
                            "2024-03-19T17:26:26Z");
    /* A root from another instance altogether does not know the log. */
    p.trusted_root = staging;
    CHECK_EQ(verify_doc(&s, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "transparency log the trusted root does not list");
    strata_verify_trusted_root_free(mixed);
    free(doc);
    json_decref(prod);
    json_decref(stag);
    json_decref(b);
}

TEST(bundle_expired_certificate)
{
    strata_verify_bundle_opts o;
    strata_error err;

    memset(&o, 0, sizeof(o));
    o.bundle_path = BV "/intoto-expired-certificate_fail/bundle.sigstore.json";
    o.artifact = BV "/intoto-expired-certificate_fail/artifact";
    o.trusted_root_path =
        BV "/intoto-expired-certificate_fail/trusted_root.json";
    o.identity = DEFAULT_IDENTITY;
    o.issuer = DEFAULT_ISSUER;
    CHECK_EQ(strata_verify_bundle_file(NULL, &o, &err),
             STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "is outside the certificate's validity");
    /* A log time after the certificate expired. */
    o.bundle_path = BV "/integrated-time-in-future_fail/bundle.sigstore.json";
    o.artifact = BV "/a.txt";
    o.trusted_root_path = CONF "/trusted_root.production.json";
    o.identity = "untrusted-sa@sigstore-conformance.iam.gserviceaccount.com";
    o.issuer = "https://accounts.google.com";
    CHECK_EQ(strata_verify_bundle_file(NULL, &o, &err),
             STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "signing time 2026-05-07T15:34:11Z is outside the "
                            "certificate's validity");
}

TEST(bundle_missing_and_swapped_log_entry)
{
    json_t *b = load_json(BV "/happy-path-v0.3/bundle.sigstore.json");
    json_t *other = load_json(BV "/happy-path-v0.1/bundle.sigstore.json");
    json_t *vm = json_object_get(b, "verificationMaterial");
    json_t *entries = json_deep_copy(json_object_get(vm, "tlogEntries"));
    strata_verify_policy p = keyless_policy(&default_identity, 1);
    strata_verify_artifact a = {a_txt, a_txt_len, NULL};
    strata_error err;

    json_object_del(vm, "tlogEntries");
    CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "bundle has no transparency log entry");
    json_object_set_new(vm, "tlogEntries", json_array());
    CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "bundle has no transparency log entry");
    /*
     * A valid entry of another signature of the same artifact: its own SET
     * and proof verify, but it records another certificate and signature
     * (CVE-2022-36056).
     */
    json_object_set(
        vm, "tlogEntries",
        json_object_get(json_object_get(other, "verificationMaterial"),
                        "tlogEntries"));
    CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "log entry records another signature");
    /* Back to its own entry, with a tampered signed entry timestamp. */
    json_object_set_new(vm, "tlogEntries", entries);
    CHECK_OK(verify_doc(NULL, b, &a, &p, &err), &err);
    json_object_set_new(
        json_object_get(json_array_get(entries, 0), "inclusionPromise"),
        "signedEntryTimestamp",
        json_string("MEUCIQDMNM49CNrcrpuvB9G3likdSse0miAkY0ILCqzRGP5ZJQIgAKnSS9"
                    "GUSFVCar1+Sq3qoRtJIJ8x9tqRnQ8kuS1ojtTH"));
    CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "signed entry timestamp does not verify");
    json_decref(b);
    json_decref(other);
}

TEST(bundle_signature_over_another_digest)
{
    json_t *b = load_json(BV "/happy-path-v0.3/bundle.sigstore.json");
    strata_verify_policy p = keyless_policy(&default_identity, 1);
    strata_verify_artifact other = {"another artifact\n", 17, NULL};
    strata_verify_artifact other_digest = {
        NULL, 0,
        "sha256:0000000000000000000000000000000000000000000000000000000000000"
        "000"};
    strata_error err;

    CHECK_EQ(verify_doc(NULL, b, &other, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "bundle's message digest does not match the "
                            "artifact");
    /* Without the (unauthenticated) digest hint the signature decides. */
    json_object_del(json_object_get(b, "messageSignature"), "messageDigest");
    CHECK_EQ(verify_doc(NULL, b, &other, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "bundle's signature does not verify under its "
                          "certificate's key");
    CHECK_EQ(verify_doc(NULL, b, &other_digest, &p, &err),
             STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "bundle's signature does not verify under its "
                          "certificate's key");
    other_digest.digest = "md5:abc";
    CHECK_EQ(verify_doc(NULL, b, &other_digest, &p, &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "artifact digest 'md5:abc' is not sha256:<hex>");
    json_decref(b);
}

TEST(bundle_dsse)
{
    json_t *b =
        load_json(BV "/happy-path-intoto-in-dsse-v3/bundle.sigstore.json");
    json_t *env = json_object_get(b, "dsseEnvelope");
    strata_verify_policy p = keyless_policy(&default_identity, 1);
    strata_verify_artifact a = {a_txt, a_txt_len, NULL};
    strata_verify_artifact other = {"x", 1, NULL};
    strata_verify_signer s;
    strata_error err;
    unsigned char *payload;
    size_t n;
    char *tampered, *b64;

    CHECK_OK(verify_doc(&s, b, &a, &p, &err), &err);
    CHECK_STR_EQ(s.predicate_type, "https://slsa.dev/provenance/v1");
    strata_verify_signer_release(&s);
    /* The statement is about another artifact. */
    CHECK_EQ(verify_doc(NULL, b, &other, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "in-toto statement has no subject with digest "
                          "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903"
                          "cc4db02258717921a4881");
    /* A tampered payload (still naming this artifact). */
    CHECK_EQ(strata_verify__b64dec_str(&payload, &n,
                                       strata_verify__jstr(env, "payload")),
             0);
    tampered = strata_xstrndup((char *) payload, n);
    CHECK(strstr(tampered, "aa-test") != NULL);
    memcpy(strstr(tampered, "aa-test"), "bb-test", 7);
    b64 = strata_verify__b64enc(tampered, n);
    json_object_set_new(env, "payload", json_string(b64));
    CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "bundle's signature does not verify under its "
                          "certificate's key");
    /* Another payload type. */
    json_object_set_new(env, "payloadType", json_string("text/plain"));
    CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "DSSE payload type 'text/plain' is not an in-toto");
    free(payload);
    free(tampered);
    free(b64);
    json_decref(b);
}

static void
garbage(const char *data, size_t len, const char *want)
{
    strata_verify_policy p = keyless_policy(&default_identity, 1);
    strata_verify_artifact a = {a_txt, a_txt_len, NULL};
    strata_verify_signer s;
    strata_error err;

    CHECK_EQ(strata_verify_bundle(&s, data, len, &a, &p, &err),
             STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, want);
    CHECK(s.summary == NULL);
}

static void
garbage_s(const char *s, const char *want)
{
    garbage(s, strlen(s), want);
}

TEST(bundle_garbage_and_huge)
{
    size_t big = STRATA_VERIFY_MAX_INPUT + 1, i;
    char *buf = strata_xmalloc(big);
    json_t *b, *entries;

    garbage("", 0, "bundle is not valid JSON");
    garbage("\x00\x01\x02\xff", 4, "bundle is not valid JSON");
    garbage("null", 4, "bundle is not valid JSON");
    garbage("[]", 2, "bundle is not a JSON object");
    garbage("{}", 2, "bundle has no mediaType");
    garbage_s("{\"mediaType\":\"" STRATA_VERIFY_MT_BUNDLE_V03 "\"}",
              "bundle has no verificationMaterial");
    garbage_s("{\"mediaType\":\"" STRATA_VERIFY_MT_BUNDLE_V03
              "\",\"verificationMaterial\":{\"publicKey\":{}}}",
              "exactly one of messageSignature and dsseEnvelope");
    garbage_s("{\"a\":1,\"a\":2}", "duplicate");
    for (i = 0; i < 4000; i++)
        buf[i] = '[';
    garbage(buf, 4000, "bundle is not valid JSON");
    memset(buf, ' ', big);
    garbage(buf, big, "bundle is too big");
    free(buf);
    /* Lists over their bounds are refused before any work. */
    b = load_json(BV "/happy-path-v0.3/bundle.sigstore.json");
    entries = json_object_get(json_object_get(b, "verificationMaterial"),
                              "tlogEntries");
    for (i = 0; i < 20; i++)
        json_array_append(entries, json_array_get(entries, 0));
    {
        strata_verify_policy p = keyless_policy(&default_identity, 1);
        strata_verify_artifact a = {a_txt, a_txt_len, NULL};
        strata_error err;
        CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
        CHECK_STR_EQ(err.msg, "bundle has too many log entries");
    }
    json_decref(b);
    /* Random bytes. */
    SH_OK("openssl rand -out '%s/random.bin' 20000", tmpdir);
    {
        char *rp = tmp("random.bin"), *r;
        size_t rn;
        r = slurp(rp, &rn);
        garbage(r, rn, "bundle is not valid JSON");
        free(r);
        free(rp);
    }
}

TEST(bundle_policy_mismatch)
{
    json_t *b = load_json(BV "/happy-path-v0.3/bundle.sigstore.json");
    json_t *mk = load_json(BV "/managed-key-happy-path/bundle.sigstore.json");
    strata_verify_key *k = NULL;
    strata_verify_policy p;
    strata_verify_artifact a = {a_txt, a_txt_len, NULL};
    strata_error err;
    char *kp = tmp("p256.pub");

    CHECK_OK(strata_verify_key_load(&k, kp, &err), &err);
    memset(&p, 0, sizeof(p));
    CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "nothing to verify with");
    p.keys = &k;
    p.nkeys = 1;
    CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "signed with a certificate (keyless), but no "
                            "trusted root and identity are configured");
    /* A key-signed bundle under the wrong key. */
    p.trusted_root = production;
    CHECK_EQ(verify_doc(NULL, mk, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "bundle's signature does not verify under the "
                            "configured key sha256:");
    CHECK_CONTAINS(err.msg, strata_verify_key_fingerprint(k));
    strata_verify_key_free(k);
    free(kp);
    json_decref(b);
    json_decref(mk);
}

/* ---- key-based signatures made with the openssl CLI -------------------------
 */

#define DIGEST_A                                                               \
    "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define DIGEST_B                                                               \
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define REPO "registry.example.com/acme/base"

/* Writes data to tmpdir/name. */
static char *
write_tmp(const char *name, const void *data, size_t len)
{
    char *p = tmp(name);
    strata_error err;

    CHECK_OK(strata_write_file(p, data, len, &err), &err);
    return p;
}

/*
 * Signs tmpdir/file with tmpdir/KEY.pem through the openssl CLI; how
 * depends on the key (dgst_args for ECDSA and RSA, pkeyutl for Ed25519).
 * Returns the base64 signature.
 */
static char *
openssl_sign(const char *key, const char *file, const char *dgst_args)
{
    char *sig, *out;
    size_t n;

    if (strcmp(key, "ed25519") == 0)
        SH_OK("cd '%s' && openssl pkeyutl -sign -inkey ed25519.pem -rawin "
              "-in '%s' -out sig.bin",
              tmpdir, file);
    else
        SH_OK("cd '%s' && openssl dgst %s -sign %s.pem -out sig.bin '%s'",
              tmpdir, dgst_args, key, file);
    {
        char *p = tmp("sig.bin");
        sig = slurp(p, &n);
        free(p);
    }
    CHECK(sig != NULL);
    out = strata_verify__b64enc(sig, n);
    free(sig);
    return out;
}

static strata_verify_key *
key_of(const char *name)
{
    strata_verify_key *k = NULL;
    strata_error err;
    char *p = path_of("%s/%s.pub", tmpdir, name);

    CHECK_OK(strata_verify_key_load(&k, p, &err), &err);
    free(p);
    return k;
}

static json_t *
key_bundle(const char *sig_b64)
{
    return json_pack("{s:s,s:{s:{s:s}},s:{s:s}}", "mediaType",
                     STRATA_VERIFY_MT_BUNDLE_V03, "verificationMaterial",
                     "publicKey", "hint", "test", "messageSignature",
                     "signature", sig_b64);
}

TEST(key_bundles)
{
    static const struct {
        const char *key, *dgst;
    } cases[] = {
        {"p256", "-sha256"},
        {"p384", "-sha384"},
        {"p384", "-sha256"},
        {"rsa2048", "-sha256"},
        {"rsa2048", "-sha256 -sigopt rsa_padding_mode:pss -sigopt "
                    "rsa_pss_saltlen:32"},
        {"ed25519", ""},
    };
    strata_verify_artifact a = {a_txt, a_txt_len, NULL};
    strata_verify_artifact d = {NULL, 0, A_TXT_DIGEST};
    char *file = write_tmp("a.txt", a_txt, a_txt_len);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        strata_verify_key *keys[2] = {key_of("other256"), key_of(cases[i].key)};
        strata_verify_policy p;
        strata_verify_signer s;
        strata_error err;
        char *sig = openssl_sign(cases[i].key, "a.txt", cases[i].dgst);
        json_t *b = key_bundle(sig);

        printf("# key bundle %s %s\n", cases[i].key, cases[i].dgst);
        memset(&p, 0, sizeof(p));
        p.keys = keys;
        p.nkeys = 2;
        CHECK_OK(verify_doc(&s, b, &a, &p, &err), &err);
        CHECK_EQ(s.verifier, 1);
        CHECK_STR_EQ(s.key_fingerprint, strata_verify_key_fingerprint(keys[1]));
        CHECK_CONTAINS(s.summary, "key sha256:");
        CHECK_EQ(s.log_index, -1);
        strata_verify_signer_release(&s);
        /* Only the digest: fine for ECDSA and RSA, not for Ed25519. */
        if (strcmp(cases[i].key, "ed25519") != 0 &&
            strcmp(cases[i].dgst, "-sha384") != 0) {
            CHECK_OK(verify_doc(NULL, b, &d, &p, &err), &err);
        } else if (strcmp(cases[i].key, "ed25519") == 0) {
            CHECK_EQ(verify_doc(NULL, b, &d, &p, &err),
                     STRATA_VERIFY_EUNVERIFIED);
        }
        /* The wrong key. */
        p.nkeys = 1;
        CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
        CHECK_CONTAINS(err.msg, strata_verify_key_fingerprint(keys[0]));
        /* A log entry required: none, and no root to check one. */
        p.nkeys = 2;
        p.key_requires_tlog = 1;
        CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_EINVAL);
        CHECK_CONTAINS(err.msg, "no trusted root is configured");
        p.trusted_root = production;
        CHECK_EQ(verify_doc(NULL, b, &a, &p, &err), STRATA_VERIFY_EUNVERIFIED);
        CHECK_STR_EQ(err.msg, "bundle has no transparency log entry");
        json_decref(b);
        free(sig);
        strata_verify_key_free(keys[0]);
        strata_verify_key_free(keys[1]);
    }
    free(file);
}

TEST(key_bundle_dsse)
{
    strata_verify_key *k = key_of("p256");
    strata_verify_policy p;
    strata_verify_artifact a = {a_txt, a_txt_len, NULL};
    strata_verify_signer s;
    strata_error err;
    const char *stmt = "{\"_type\":\"https://in-toto.io/Statement/v1\","
                       "\"subject\":[{\"name\":\"a.txt\",\"digest\":{\"sha256\""
                       ":\"a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb1"
                       "90a30d56efa01bf\"}}],\"predicateType\":\"https://"
                       "example.com/p\",\"predicate\":{}}";
    unsigned char *pae;
    size_t plen;
    char *file, *sig, *payload;
    json_t *b;

    strata_verify_dsse_pae(&pae, &plen, STRATA_VERIFY_MT_INTOTO, stmt,
                           strlen(stmt));
    CHECK(memcmp(pae, "DSSEv1 28 application/vnd.in-toto+json ", 39) == 0);
    file = write_tmp("pae.bin", pae, plen);
    sig = openssl_sign("p256", "pae.bin", "-sha256");
    payload = strata_verify__b64enc(stmt, strlen(stmt));
    b = json_pack("{s:s,s:{s:{s:s}},s:{s:s,s:s,s:[{s:s,s:s}]}}", "mediaType",
                  STRATA_VERIFY_MT_BUNDLE_V03, "verificationMaterial",
                  "publicKey", "hint", "", "dsseEnvelope", "payloadType",
                  STRATA_VERIFY_MT_INTOTO, "payload", payload, "signatures",
                  "sig", sig, "keyid", "");
    memset(&p, 0, sizeof(p));
    p.keys = &k;
    p.nkeys = 1;
    CHECK_OK(verify_doc(&s, b, &a, &p, &err), &err);
    CHECK_STR_EQ(s.predicate_type, "https://example.com/p");
    strata_verify_signer_release(&s);
    json_decref(b);
    free(pae);
    free(file);
    free(sig);
    free(payload);
    strata_verify_key_free(k);
}

/* ---- cosign signatures ------------------------------------------------------
 */

/* A cosign signature layer over a payload for (repo, digest) by key. */
static void
cosign_layer(char **payload, size_t *len, json_t **ann, const char *key,
             const char *repo, const char *digest)
{
    strata_error err;
    char *file, *sig;

    CHECK_OK(strata_verify_cosign_payload(payload, len, repo, digest, &err),
             &err);
    file = write_tmp("payload.json", *payload, *len);
    sig = openssl_sign(key, "payload.json", "-sha256");
    *ann = json_pack("{s:s}", STRATA_VERIFY_ANN_SIGNATURE, sig);
    free(sig);
    free(file);
}

TEST(cosign_key_signatures)
{
    strata_verify_key *keys[2] = {key_of("p256"), key_of("ed25519")};
    const char *mirrors[] = {"mirror.example.com/acme/base"};
    strata_verify_policy p;
    strata_verify_signer s;
    strata_error err;
    char *payload, *payload2;
    size_t len, len2;
    json_t *ann, *ann2;

    memset(&p, 0, sizeof(p));
    p.keys = keys;
    p.nkeys = 2;
    cosign_layer(&payload, &len, &ann, "p256", REPO, DIGEST_A);
    CHECK_STR_EQ(payload,
                 "{\"critical\":{\"identity\":{\"docker-reference\":\"" REPO
                 "\"},\"image\":{\"docker-manifest-digest\":\"" DIGEST_A
                 "\"},\"type\":\"cosign container image signature\"},"
                 "\"optional\":null}");
    CHECK_OK(
        strata_verify_cosign(&s, payload, len, ann, DIGEST_A, REPO, &p, &err),
        &err);
    CHECK_EQ(s.verifier, 0);
    strata_verify_signer_release(&s);
    /* The repository compares as a normalised name. */
    CHECK_OK(strata_verify_cosign(NULL, payload, len, ann, DIGEST_A,
                                  REPO ":latest", &p, &err),
             &err);
    /* A payload for another digest. */
    CHECK_EQ(
        strata_verify_cosign(&s, payload, len, ann, DIGEST_B, REPO, &p, &err),
        STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg,
                 "signature payload is for digest " DIGEST_A ", not " DIGEST_B);
    CHECK(s.summary == NULL);
    /* A payload for another repository, unless it is a mirror. */
    CHECK_EQ(strata_verify_cosign(NULL, payload, len, ann, DIGEST_A,
                                  "registry.example.com/acme/other", &p, &err),
             STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "signature payload names repository '" REPO
                          "', not 'registry.example.com/acme/other'");
    cosign_layer(&payload2, &len2, &ann2, "ed25519", mirrors[0], DIGEST_A);
    CHECK_EQ(strata_verify_cosign(NULL, payload2, len2, ann2, DIGEST_A, REPO,
                                  &p, &err),
             STRATA_VERIFY_EUNVERIFIED);
    p.mirrors = mirrors;
    p.nmirrors = 1;
    CHECK_OK(strata_verify_cosign(&s, payload2, len2, ann2, DIGEST_A, REPO, &p,
                                  &err),
             &err);
    CHECK_EQ(s.verifier, 1);
    strata_verify_signer_release(&s);
    /* A tampered payload: another digest spliced in. */
    memcpy(strstr(payload, "sha256:") + 7, "2222", 4);
    CHECK_EQ(
        strata_verify_cosign(NULL, payload, len, ann, DIGEST_A, REPO, &p, &err),
        STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "signature's signature does not verify under the "
                            "configured keys");
    /* The wrong key. */
    memcpy(strstr(payload, "sha256:") + 7, "1111", 4);
    p.keys = &keys[1];
    p.nkeys = 1;
    CHECK_EQ(
        strata_verify_cosign(NULL, payload, len, ann, DIGEST_A, REPO, &p, &err),
        STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "does not verify under the configured key sha256:");
    /* A log entry is required and there is none. */
    p.keys = keys;
    p.key_requires_tlog = 1;
    p.trusted_root = production;
    CHECK_EQ(
        strata_verify_cosign(NULL, payload, len, ann, DIGEST_A, REPO, &p, &err),
        STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "signature has no transparency log entry");
    p.key_requires_tlog = 0;
    /* Broken annotations. */
    CHECK_EQ(strata_verify_cosign(NULL, payload, len, NULL, DIGEST_A, REPO, &p,
                                  &err),
             STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "layer has no dev.cosignproject.cosign/signature "
                          "annotation");
    json_object_set_new(ann, STRATA_VERIFY_ANN_SIGNATURE, json_string("!!"));
    CHECK_EQ(
        strata_verify_cosign(NULL, payload, len, ann, DIGEST_A, REPO, &p, &err),
        STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "is not base64");
    json_object_set_new(ann, STRATA_VERIFY_ANN_BUNDLE, json_string("{"));
    json_object_set_new(ann, STRATA_VERIFY_ANN_SIGNATURE, json_string("AAAA"));
    CHECK_EQ(
        strata_verify_cosign(NULL, payload, len, ann, DIGEST_A, REPO, &p, &err),
        STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "annotation dev.sigstore.cosign/bundle is not "
                            "valid JSON");
    json_decref(ann);
    json_decref(ann2);
    free(payload);
    free(payload2);
    strata_verify_key_free(keys[0]);
    strata_verify_key_free(keys[1]);
}

TEST(cosign_payload_parse)
{
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"", "not valid JSON"},
        {"[1]", "not a JSON object"},
        {"{}", "has no critical section"},
        {"{\"critical\":{\"type\":\"x\"}}", "type is not 'cosign container "
                                            "image signature'"},
        {"{\"critical\":{\"type\":\"cosign container image signature\","
         "\"image\":{\"docker-manifest-digest\":\"sha256:12\"}}}",
         "no valid docker-manifest-digest"},
        {"{\"critical\":{\"type\":\"cosign container image signature\","
         "\"image\":{\"docker-manifest-digest\":\"" DIGEST_A "\"}}}",
         "no docker-reference"},
        {"{\"critical\":{\"type\":\"cosign container image signature\","
         "\"image\":{\"docker-manifest-digest\":\"" DIGEST_A "\"},"
         "\"identity\":{\"docker-reference\":\"x\"}},\"optional\":3}",
         "optional section is not an object"},
    };
    strata_verify_payload pl;
    strata_error err;
    const char *good =
        "{\"critical\":{\"type\":\"cosign container image signature\","
        "\"image\":{\"docker-manifest-digest\":\"" DIGEST_A "\"},"
        "\"identity\":{\"docker-reference\":\"ghcr.io/a/b\"}},"
        "\"optional\":{\"creator\":\"strata\"}}";
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(strata_verify_payload_parse(&pl, bad[i].json,
                                             strlen(bad[i].json), &err),
                 STRATA_VERIFY_EUNVERIFIED);
        CHECK_CONTAINS(err.msg, bad[i].why);
        strata_verify_payload_release(&pl);
    }
    CHECK_OK(strata_verify_payload_parse(&pl, good, strlen(good), &err), &err);
    CHECK_STR_EQ(pl.docker_reference, "ghcr.io/a/b");
    CHECK_STR_EQ(pl.manifest_digest, DIGEST_A);
    CHECK_STR_EQ(json_string_value(json_object_get(pl.optional, "creator")),
                 "strata");
    strata_verify_payload_release(&pl);
    strata_verify_payload_release(NULL);
}

/*
 * cosign's keyless layout, from a conformance bundle: the certificate, the
 * signature and the Rekor bundle annotation (signed entry timestamp over
 * the hashedrekord entry) of happy-path-v0.1, over a.txt.
 */
static json_t *
keyless_annotations(const char *bundle_path)
{
    json_t *b = load_json(bundle_path), *vm, *e, *ann;
    unsigned char *der, *logid;
    size_t dlen, llen;
    const unsigned char *p;
    char hex[65], *pem;
    X509 *x;
    BIO *bio = BIO_new(BIO_s_mem());
    long n;
    int64_t it, idx;

    vm = json_object_get(b, "verificationMaterial");
    e = json_array_get(json_object_get(vm, "tlogEntries"), 0);
    {
        json_t *c = json_array_get(
            json_object_get(json_object_get(vm, "x509CertificateChain"),
                            "certificates"),
            0);
        if (c == NULL)
            c = json_object_get(vm, "certificate");
        CHECK_EQ(strata_verify__b64dec_str(&der, &dlen,
                                           strata_verify__jstr(c, "rawBytes")),
                 0);
    }
    p = der;
    x = d2i_X509(NULL, &p, (long) dlen);
    CHECK(x != NULL);
    PEM_write_bio_X509(bio, x);
    n = BIO_get_mem_data(bio, &pem);
    CHECK_EQ(strata_verify__b64dec_str(
                 &logid, &llen,
                 strata_verify__jstr(json_object_get(e, "logId"), "keyId")),
             0);
    strata_verify__hex(hex, logid, 32);
    CHECK_EQ(
        strata_verify__json_int64(&it, json_object_get(e, "integratedTime")),
        0);
    CHECK_EQ(strata_verify__json_int64(&idx, json_object_get(e, "logIndex")),
             0);
    ann = json_object();
    json_object_set_new(
        ann, STRATA_VERIFY_ANN_SIGNATURE,
        json_string(strata_verify__jstr(json_object_get(b, "messageSignature"),
                                        "signature")));
    json_object_set_new(ann, STRATA_VERIFY_ANN_CERTIFICATE,
                        json_stringn(pem, (size_t) n));
    {
        json_t *rb = json_pack(
            "{s:s,s:{s:s,s:I,s:I,s:s}}", "SignedEntryTimestamp",
            strata_verify__jstr(json_object_get(e, "inclusionPromise"),
                                "signedEntryTimestamp"),
            "Payload", "body", strata_verify__jstr(e, "canonicalizedBody"),
            "integratedTime", (json_int_t) it, "logIndex", (json_int_t) idx,
            "logID", hex);
        char *rbs = json_dumps(rb, JSON_COMPACT);
        json_object_set_new(ann, STRATA_VERIFY_ANN_BUNDLE, json_string(rbs));
        free(rbs);
        json_decref(rb);
    }
    X509_free(x);
    BIO_free(bio);
    free(der);
    free(logid);
    json_decref(b);
    return ann;
}

TEST(cosign_keyless_annotations)
{
    json_t *ann =
        keyless_annotations(BV "/happy-path-v0.1/bundle.sigstore.json");
    strata_verify_policy p = keyless_policy(&default_identity, 1);
    strata_verify_artifact a = {a_txt, a_txt_len, NULL};
    strata_verify__material m;
    strata_verify_signer s;
    strata_error err;
    json_t *rb;

    /* The whole keyless path: chain, SCT, SET, entry, identity. */
    memset(&m, 0, sizeof(m));
    m.what = "signature";
    CHECK_OK(strata_verify__cosign_material(&m, ann, 0, &err), &err);
    CHECK_OK(strata_verify__material_verify(&s, &m, &a, &p, &err), &err);
    CHECK_STR_EQ(s.subject, DEFAULT_IDENTITY);
    CHECK_EQ(s.signed_time, 1689177396);
    CHECK(s.log_index > 0);
    strata_verify_signer_release(&s);
    strata_verify__material_release(&m);
    /* a.txt is no simple-signing payload: refused after the signature. */
    CHECK_EQ(strata_verify_cosign(&s, a_txt, a_txt_len, ann, DIGEST_A, REPO, &p,
                                  &err),
             STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "signature payload is not valid JSON");
    /* Without the Rekor bundle there is no time and no log entry. */
    rb = json_incref(json_object_get(ann, STRATA_VERIFY_ANN_BUNDLE));
    json_object_del(ann, STRATA_VERIFY_ANN_BUNDLE);
    memset(&m, 0, sizeof(m));
    m.what = "signature";
    CHECK_OK(strata_verify__cosign_material(&m, ann, 0, &err), &err);
    CHECK_EQ(strata_verify__material_verify(NULL, &m, &a, &p, &err),
             STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "signature has no transparency log entry");
    strata_verify__material_release(&m);
    /* The Rekor bundle of another signature (swapped entry). */
    json_decref(rb);
    {
        json_t *o3 =
            keyless_annotations(BV "/happy-path-v0.3/bundle.sigstore.json");
        json_object_set(ann, STRATA_VERIFY_ANN_BUNDLE,
                        json_object_get(o3, STRATA_VERIFY_ANN_BUNDLE));
        memset(&m, 0, sizeof(m));
        m.what = "signature";
        CHECK_OK(strata_verify__cosign_material(&m, ann, 0, &err), &err);
        CHECK_EQ(strata_verify__material_verify(NULL, &m, &a, &p, &err),
                 STRATA_VERIFY_EUNVERIFIED);
        CHECK_STR_EQ(err.msg, "log entry records another signature");
        strata_verify__material_release(&m);
        json_decref(o3);
    }
    json_decref(ann);
}

/* ---- attestations
 * ------------------------------------------------------------ */

TEST(cosign_keyless_attestation)
{
    /*
     * cosign's .att layout from a conformance bundle: the DSSE envelope is
     * the layer, the certificate and the Rekor bundle (a dsse entry) its
     * annotations; the statement's subject is a.txt.
     */
    json_t *b =
        load_json(BV "/happy-path-intoto-in-dsse-v3/bundle.sigstore.json");
    json_t *src =
        load_json(BV "/happy-path-intoto-in-dsse-v3/bundle.sigstore.json");
    json_t *ann, *vm = json_object_get(b, "verificationMaterial");
    strata_verify_policy p = keyless_policy(&default_identity, 1);
    strata_verify_signer s;
    strata_error err;
    char *env;

    /* Reuse the v0.1 helper by giving this bundle a chain and a signature. */
    json_object_set_new(vm, "x509CertificateChain",
                        json_pack("{s:[O]}", "certificates",
                                  json_object_get(vm, "certificate")));
    json_object_set_new(b, "messageSignature",
                        json_pack("{s:s}", "signature", ""));
    {
        char *path = tmp("att-bundle.json");
        json_dump_file(b, path, 0);
        ann = keyless_annotations(path);
        free(path);
    }
    json_object_set_new(ann, STRATA_VERIFY_ANN_SIGNATURE, json_string(""));
    env = json_dumps(json_object_get(src, "dsseEnvelope"), JSON_COMPACT);
    CHECK_OK(strata_verify_attestation(&s, env, strlen(env), ann, A_TXT_DIGEST,
                                       &p, &err),
             &err);
    CHECK_STR_EQ(s.predicate_type, "https://slsa.dev/provenance/v1");
    CHECK_STR_EQ(s.subject, DEFAULT_IDENTITY);
    strata_verify_signer_release(&s);
    /* An attestation about another image. */
    CHECK_EQ(strata_verify_attestation(&s, env, strlen(env), ann, DIGEST_A, &p,
                                       &err),
             STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "in-toto statement has no subject with digest "
                            "sha256:1111");
    /* Not an envelope at all. */
    CHECK_EQ(
        strata_verify_attestation(&s, "{}", 2, ann, A_TXT_DIGEST, &p, &err),
        STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "no payloadType or payload");
    free(env);
    json_decref(ann);
    json_decref(b);
    json_decref(src);
}

/* ---- signing
 * ------------------------------------------------------------------ */

static strata_verify_signing_key *
signing_key(const char *name)
{
    strata_verify_signing_key *k = NULL;
    strata_error err;
    char *p = path_of("%s/%s.pem", tmpdir, name);

    CHECK_OK(strata_verify_signing_key_load(&k, p, &err), &err);
    free(p);
    return k;
}

TEST(sign_cosign_roundtrip)
{
    static const char *names[] = {"p256", "p384", "rsa2048", "ed25519"};
    size_t i;

    for (i = 0; i < 4; i++) {
        strata_verify_signing_key *sk = signing_key(names[i]);
        strata_verify_key *pk = key_of(names[i]);
        strata_verify_policy p;
        strata_error err;
        char *payload, *sig, *file, *pem;
        unsigned char *raw;
        size_t len, rawlen;
        json_t *ann;

        memset(&p, 0, sizeof(p));
        p.keys = &pk;
        p.nkeys = 1;
        CHECK_STR_EQ(strata_verify_signing_key_fingerprint(sk),
                     strata_verify_key_fingerprint(pk));
        pem = strata_verify_signing_key_public_pem(sk);
        CHECK_CONTAINS(pem, "-----BEGIN PUBLIC KEY-----");
        free(pem);
        CHECK_OK(
            strata_verify_cosign_payload(&payload, &len, REPO, DIGEST_A, &err),
            &err);
        CHECK_OK(strata_verify_sign(&sig, sk, payload, len, &err), &err);
        ann = json_pack("{s:s}", STRATA_VERIFY_ANN_SIGNATURE, sig);
        /* verify/ accepts it ... */
        CHECK_OK(strata_verify_cosign(NULL, payload, len, ann, DIGEST_A, REPO,
                                      &p, &err),
                 &err);
        /* ... and so does openssl, as cosign would (SHA-256, or Ed25519). */
        CHECK_EQ(strata_verify__b64dec_str(&raw, &rawlen, sig), 0);
        free(write_tmp("s.sig", raw, rawlen));
        file = write_tmp("s.payload", payload, len);
        if (strcmp(names[i], "ed25519") == 0)
            SH_OK("cd '%s' && openssl pkeyutl -verify -pubin -inkey "
                  "ed25519.pub -rawin -in s.payload -sigfile s.sig >/dev/null",
                  tmpdir);
        else
            SH_OK("cd '%s' && openssl dgst -sha256 -verify %s.pub -signature "
                  "s.sig s.payload >/dev/null",
                  tmpdir, names[i]);
        free(raw);
        free(file);
        free(sig);
        free(payload);
        json_decref(ann);
        strata_verify_key_free(pk);
        strata_verify_signing_key_free(sk);
    }
    strata_verify_signing_key_free(NULL);
}

TEST(sign_key_errors)
{
    strata_verify_signing_key *k = NULL;
    strata_error err;
    char *enc = tmp("enc.pem"), *pub = tmp("p256.pub"),
         *weak = tmp("rsa1024.pem");
    char *payload;
    size_t len;

    SH_OK("cd '%s' && openssl genpkey -algorithm EC -pkeyopt "
          "ec_paramgen_curve:P-256 -aes256 -pass pass:secret -out enc.pem",
          tmpdir);
    CHECK_EQ(strata_verify_signing_key_load(&k, enc, &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "is encrypted");
    CHECK_EQ(strata_verify_signing_key_load(&k, pub, &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "holds no PEM private key");
    CHECK_EQ(strata_verify_signing_key_load(&k, weak, &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "rsa of 1024 bits");
    CHECK(strstr(err.msg, "BEGIN") == NULL);
    CHECK_EQ(strata_verify_signing_key_parse(&k, "x", 1, "x", &err),
             STRATA_EINVAL);
    CHECK(k == NULL);
    CHECK_EQ(
        strata_verify_cosign_payload(&payload, &len, REPO, "sha256:12", &err),
        STRATA_EINVAL);
    CHECK_EQ(strata_verify_cosign_payload(&payload, &len, "", DIGEST_A, &err),
             STRATA_EINVAL);
    free(enc);
    free(pub);
    free(weak);
}

TEST(sign_dsse_provenance)
{
    strata_verify_signing_key *sk = signing_key("p256");
    strata_verify_key *pk = key_of("p256");
    strata_verify_dependency deps[] = {
        {"registry.example.com/acme/app@" DIGEST_B, DIGEST_B},
        {"docker.io/library/debian:12-slim", DIGEST_B},
        {"docker.io/library/debian:12-slim", DIGEST_A},
    };
    strata_verify_provenance prov;
    strata_verify_policy p;
    strata_verify_signer s;
    strata_error err;
    char *stmt, *env;
    json_t *j, *e;
    unsigned char *payload;
    size_t n;

    memset(&prov, 0, sizeof(prov));
    prov.subject_name = "registry.example.com/acme/app";
    prov.subject_digest = DIGEST_A;
    prov.dependencies = deps;
    prov.ndependencies = 3;
    prov.started_on = 1767225600;
    prov.finished_on = 1767225660;
    prov.invocation_id = "job-42";
    CHECK_OK(strata_verify_slsa_statement(&stmt, &prov, &err), &err);
    j = json_loads(stmt, 0, NULL);
    CHECK(j != NULL);
    CHECK_STR_EQ(strata_verify__jstr(j, "_type"),
                 "https://in-toto.io/Statement/v1");
    CHECK_STR_EQ(strata_verify__jstr(j, "predicateType"),
                 "https://slsa.dev/provenance/v1");
    CHECK_STR_EQ(
        strata_verify__jstr(
            json_object_get(json_array_get(json_object_get(j, "subject"), 0),
                            "digest"),
            "sha256"),
        &DIGEST_A[7]);
    e = json_object_get(json_object_get(j, "predicate"), "buildDefinition");
    CHECK_EQ(json_array_size(json_object_get(e, "resolvedDependencies")), 3);
    CHECK_STR_EQ(
        strata_verify__jstr(
            json_array_get(json_object_get(e, "resolvedDependencies"), 1),
            "uri"),
        "docker.io/library/debian:12-slim");
    CHECK_STR_EQ(
        strata_verify__jstr(
            json_object_get(
                json_object_get(json_object_get(j, "predicate"), "runDetails"),
                "metadata"),
            "startedOn"),
        "2026-01-01T00:00:00Z");
    json_decref(j);
    CHECK_OK(strata_verify_dsse_sign(&env, sk, STRATA_VERIFY_MT_INTOTO, stmt,
                                     strlen(stmt), &err),
             &err);
    /* The envelope is the one a .att layer holds; it verifies. */
    memset(&p, 0, sizeof(p));
    p.keys = &pk;
    p.nkeys = 1;
    CHECK_OK(strata_verify_attestation(&s, env, strlen(env), NULL, DIGEST_A, &p,
                                       &err),
             &err);
    CHECK_STR_EQ(s.predicate_type, "https://slsa.dev/provenance/v1");
    strata_verify_signer_release(&s);
    /* openssl agrees on the PAE signature. */
    j = json_loads(env, 0, NULL);
    CHECK_STR_EQ(
        strata_verify__jstr(json_array_get(json_object_get(j, "signatures"), 0),
                            "keyid"),
        strata_verify_key_fingerprint(pk));
    CHECK_EQ(strata_verify__b64dec_str(&payload, &n,
                                       strata_verify__jstr(j, "payload")),
             0);
    CHECK_EQ(n, strlen(stmt));
    {
        unsigned char *pae, *sig;
        size_t plen, slen;
        strata_verify_dsse_pae(&pae, &plen, STRATA_VERIFY_MT_INTOTO, payload,
                               n);
        free(write_tmp("d.pae", pae, plen));
        CHECK_EQ(strata_verify__b64dec_str(
                     &sig, &slen,
                     strata_verify__jstr(
                         json_array_get(json_object_get(j, "signatures"), 0),
                         "sig")),
                 0);
        free(write_tmp("d.sig", sig, slen));
        SH_OK("cd '%s' && openssl dgst -sha256 -verify p256.pub -signature "
              "d.sig d.pae >/dev/null",
              tmpdir);
        free(pae);
        free(sig);
    }
    /* A bad digest is refused. */
    free(stmt);
    prov.subject_digest = "sha256:zz";
    CHECK_EQ(strata_verify_slsa_statement(&stmt, &prov, &err), STRATA_EINVAL);
    json_decref(j);
    free(payload);
    free(env);
    free(stmt);
    strata_verify_key_free(pk);
    strata_verify_signing_key_free(sk);
}

/* ---- the verdict over a digest
 * ------------------------------------------------- */

/* A .sig layer signed with tmpdir/NAME.pem by the library. */
static void
signed_layer(char **payload, size_t *len, json_t **ann, const char *name,
             const char *digest)
{
    strata_verify_signing_key *sk = signing_key(name);
    strata_error err;
    char *sig;

    CHECK_OK(strata_verify_cosign_payload(payload, len, REPO, digest, &err),
             &err);
    CHECK_OK(strata_verify_sign(&sig, sk, *payload, *len, &err), &err);
    *ann = json_pack("{s:s}", STRATA_VERIFY_ANN_SIGNATURE, sig);
    free(sig);
    strata_verify_signing_key_free(sk);
}

TEST(result_threshold)
{
    strata_verify_key *keys[2] = {key_of("p256"), key_of("rsa2048")};
    strata_verify_policy p;
    strata_verify_result *r;
    strata_verify_entry e;
    char *pl1, *pl2, *pl3, *summary;
    size_t l1, l2, l3;
    json_t *a1, *a2, *a3, *j;

    memset(&p, 0, sizeof(p));
    p.keys = keys;
    p.nkeys = 2;
    p.threshold = 2;
    signed_layer(&pl1, &l1, &a1, "p256", DIGEST_A);
    signed_layer(&pl2, &l2, &a2, "rsa2048", DIGEST_A);
    signed_layer(&pl3, &l3, &a3, "other256", DIGEST_A);

    r = strata_verify_result_new(&p, DIGEST_A, REPO);
    CHECK_EQ(strata_verify_result_ok(r), 0);
    CHECK_STR_EQ(strata_verify_result_summary(r),
                 "not verified: 0 of 2 required verifiers agreed; no "
                 "signature found");
    CHECK_EQ(strata_verify_result_add_cosign(r, pl1, l1, a1, "sig 1"), 1);
    CHECK_EQ(strata_verify_result_add_cosign(r, pl1, l1, a1, "sig 1 again"), 1);
    CHECK_EQ(strata_verify_result_agreed(r), 1);
    CHECK_EQ(strata_verify_result_ok(r), 0);
    CHECK_EQ(strata_verify_result_add_cosign(r, pl3, l3, a3, "sig 3"), 0);
    strata_verify_result_add_failure(r, "referrers", "registry answered 500");
    CHECK_EQ(strata_verify_result_add_bundle(r, "{", 1, "bundle 1"), 0);
    summary = strata_xstrdup(strata_verify_result_summary(r));
    CHECK_CONTAINS(summary, "not verified: 1 of 2 required verifiers agreed");
    CHECK_CONTAINS(summary, "; sig 3: signature's signature does not verify "
                            "under the configured keys");
    CHECK_CONTAINS(summary, "; referrers: registry answered 500");
    CHECK_CONTAINS(summary, "; bundle 1: bundle is not valid JSON");
    free(summary);
    CHECK_EQ(strata_verify_result_add_cosign(r, pl2, l2, a2, "sig 2"), 1);
    CHECK_EQ(strata_verify_result_agreed(r), 2);
    CHECK_EQ(strata_verify_result_ok(r), 1);
    summary = strata_xasprintf("verified by key %s and key %s (2 of 2 "
                               "required)",
                               strata_verify_key_fingerprint(keys[0]),
                               strata_verify_key_fingerprint(keys[1]));
    CHECK_STR_EQ(strata_verify_result_summary(r), summary);
    free(summary);
    CHECK_EQ(strata_verify_result_count(r), 6);
    e = strata_verify_result_entry(r, 2);
    CHECK_STR_EQ(e.label, "sig 3");
    CHECK_STR_EQ(e.kind, "cosign");
    CHECK_EQ(e.ok, 0);
    CHECK(e.signer == NULL);
    e = strata_verify_result_entry(r, 5);
    CHECK_EQ(e.ok, 1);
    CHECK_EQ(e.signer->verifier, 1);
    e = strata_verify_result_entry(r, 99);
    CHECK(e.label == NULL);
    j = strata_verify_result_to_json(r);
    CHECK(json_is_true(json_object_get(j, "verified")));
    CHECK_EQ(json_integer_value(json_object_get(j, "threshold")), 2);
    CHECK_EQ(json_array_size(json_object_get(j, "agreed")), 2);
    CHECK_EQ(json_array_size(json_object_get(j, "entries")), 6);
    CHECK_STR_EQ(strata_verify__jstr(
                     json_array_get(json_object_get(j, "entries"), 3), "kind"),
                 "error");
    json_decref(j);
    strata_verify_result_free(r);
    strata_verify_result_free(NULL);
    free(pl1);
    free(pl2);
    free(pl3);
    json_decref(a1);
    json_decref(a2);
    json_decref(a3);
    strata_verify_key_free(keys[0]);
    strata_verify_key_free(keys[1]);
}

TEST(result_attestations)
{
    strata_verify_key *k = key_of("p256");
    strata_verify_signing_key *sk = signing_key("p256");
    const char *types[] = {"https://slsa.dev/provenance/v1"};
    strata_verify_provenance prov;
    strata_verify_policy p;
    strata_verify_result *r;
    strata_error err;
    char *pl, *stmt, *env;
    size_t l;
    json_t *ann;

    memset(&p, 0, sizeof(p));
    p.keys = &k;
    p.nkeys = 1;
    p.attestations = types;
    p.nattestations = 1;
    signed_layer(&pl, &l, &ann, "p256", DIGEST_A);
    r = strata_verify_result_new(&p, DIGEST_A, REPO);
    CHECK_EQ(strata_verify_result_add_cosign(r, pl, l, ann, "sig"), 1);
    CHECK_EQ(strata_verify_result_ok(r), 0);
    CHECK_CONTAINS(strata_verify_result_summary(r),
                   "; no verified attestation 'https://slsa.dev/provenance/"
                   "v1'");
    /* Provenance for another digest does not count. */
    memset(&prov, 0, sizeof(prov));
    prov.subject_name = REPO;
    prov.subject_digest = DIGEST_B;
    CHECK_OK(strata_verify_slsa_statement(&stmt, &prov, &err), &err);
    CHECK_OK(strata_verify_dsse_sign(&env, sk, STRATA_VERIFY_MT_INTOTO, stmt,
                                     strlen(stmt), &err),
             &err);
    CHECK_EQ(strata_verify_result_add_attestation(r, env, strlen(env), NULL,
                                                  "att B"),
             0);
    CHECK_EQ(strata_verify_result_ok(r), 0);
    free(stmt);
    free(env);
    prov.subject_digest = DIGEST_A;
    CHECK_OK(strata_verify_slsa_statement(&stmt, &prov, &err), &err);
    CHECK_OK(strata_verify_dsse_sign(&env, sk, STRATA_VERIFY_MT_INTOTO, stmt,
                                     strlen(stmt), &err),
             &err);
    CHECK_EQ(strata_verify_result_add_attestation(r, env, strlen(env), NULL,
                                                  "att A"),
             1);
    CHECK_EQ(strata_verify_result_ok(r), 1);
    /* Attestations do not count towards the signature threshold. */
    CHECK_EQ(strata_verify_result_agreed(r), 1);
    CHECK_CONTAINS(strata_verify_result_summary(r),
                   "(1 of 1 required); attested: https://slsa.dev/provenance/"
                   "v1");
    strata_verify_result_free(r);
    free(stmt);
    free(env);
    free(pl);
    json_decref(ann);
    strata_verify_key_free(k);
    strata_verify_signing_key_free(sk);
}

TEST(result_bundle_referrer)
{
    /* A keyless bundle over a digest, as a referrer of that digest. */
    strata_verify_policy p = keyless_policy(&default_identity, 1);
    strata_verify_result *r = strata_verify_result_new(&p, A_TXT_DIGEST, NULL);
    size_t len;
    char *b = slurp(BV "/happy-path-v0.3/bundle.sigstore.json", &len);

    CHECK_EQ(strata_verify_result_add_bundle(r, b, len, "referrer"), 1);
    CHECK_EQ(strata_verify_result_ok(r), 1);
    CHECK_STR_EQ(strata_verify_result_summary(r),
                 "verified by keyless " DEFAULT_IDENTITY " (" DEFAULT_ISSUER
                 ") (1 of 1 required)");
    strata_verify_result_free(r);
    free(b);
}

/* ---- the Sigstore conformance cases ------------------------------------- */

/*
 * Cases this library does not pass, with the reason; they are reported as
 * TODO (and counted) rather than hidden. Empty when all pass.
 */
static const struct {
    const char *name;
    const char *reason;
} known_failures[] = {
    {NULL, NULL},
};

static const char *
known_failure(const char *name)
{
    size_t i;
    for (i = 0; known_failures[i].name != NULL; i++)
        if (strcmp(known_failures[i].name, name) == 0)
            return known_failures[i].reason;
    return NULL;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
conformance(void)
{
    const char *dir = CONF "/bundle-verify";
    DIR *d = opendir(dir);
    struct dirent *de;
    char *names[256];
    size_t n = 0, i, passed = 0;

    if (d == NULL) {
        printf("not ok %d - conformance: cannot open %s\n", ++harness_count,
               dir);
        exit(1);
    }
    while ((de = readdir(d)) != NULL && n < 256) {
        char *b = path_of("%s/%s/bundle.sigstore.json", dir, de->d_name);
        if (de->d_name[0] != '.' && exists(b))
            names[n++] = strata_xstrdup(de->d_name);
        free(b);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_names);

    for (i = 0; i < n; i++) {
        const char *name = names[i];
        size_t len = strlen(name);
        int must_fail = len > 5 && strcmp(name + len - 5, "_fail") == 0;
        char *bundle = path_of("%s/%s/bundle.sigstore.json", dir, name);
        char *artifact = path_of("%s/%s/artifact", dir, name);
        char *key = path_of("%s/%s/key.pub", dir, name);
        char *root = path_of("%s/%s/trusted_root.json", dir, name);
        char *idf = path_of("%s/%s/identity", dir, name);
        char *isf = path_of("%s/%s/issuer", dir, name);
        char *identity = exists(idf) ? first_line(idf) : NULL;
        char *issuer = exists(isf) ? first_line(isf) : NULL;
        strata_verify_bundle_opts o;
        strata_verify_signer signer;
        strata_error err;
        const char *known;
        int rc, ok;

        memset(&o, 0, sizeof(o));
        strata_error_clear(&err);
        o.bundle_path = bundle;
        if (!exists(artifact)) {
            free(artifact);
            artifact = path_of("%s/a.txt", dir);
        }
        o.artifact = artifact;
        if (!exists(root)) {
            free(root);
            root = path_of("%s/trusted_root.production.json", CONF);
        }
        o.trusted_root_path = root;
        if (exists(key)) {
            o.key_path = key;
        } else {
            o.identity = identity ? identity : DEFAULT_IDENTITY;
            o.issuer = issuer ? issuer : DEFAULT_ISSUER;
        }
        rc = strata_verify_bundle_file(&signer, &o, &err);
        ok = must_fail ? rc != 0 : rc == 0;
        known = known_failure(name);
        if (ok) {
            passed++;
            printf("ok %d - conformance %s%s%s%s\n", ++harness_count, name,
                   rc ? " (refused: " : "", rc ? err.msg : "", rc ? ")" : "");
        } else if (known != NULL) {
            printf("not ok %d - conformance %s # TODO %s (got: %s)\n",
                   ++harness_count, name, known, rc ? err.msg : "verified");
        } else {
            printf("not ok %d - conformance %s: %s\n", ++harness_count, name,
                   rc ? err.msg : "verified, but must fail");
        }
        fflush(stdout);
        strata_verify_signer_release(&signer);
        free(bundle);
        free(artifact);
        free(key);
        free(root);
        free(idf);
        free(isf);
        free(identity);
        free(issuer);
        free(names[i]);
    }
    printf("# conformance: %zu of %zu passed\n", passed, n);
}

int
main(void)
{
    const char *t = getenv("TMPDIR");

    snprintf(tmpdir, sizeof(tmpdir), "%s/strata-verify-XXXXXX", t ? t : "/tmp");
    if (mkdtemp(tmpdir) == NULL)
        SKIP_ALL("cannot make a temporary directory");
    make_keys();
    RUN(key_types_accepted);
    RUN(key_types_refused);
    RUN(key_garbage_and_limits);
    RUN(key_der_and_pkcs1);
    RUN(key_fingerprint_is_sha256_of_spki);
    RUN(trusted_root_production);
    RUN(trusted_root_errors);
    load_fixtures();
    RUN(bundle_verified_signer);
    RUN(bundle_sct_clock);
    RUN(bundle_ct_log_validity);
    RUN(bundle_identity);
    RUN(bundle_untrusted_ca);
    RUN(bundle_expired_certificate);
    RUN(bundle_missing_and_swapped_log_entry);
    RUN(bundle_signature_over_another_digest);
    RUN(bundle_dsse);
    RUN(bundle_garbage_and_huge);
    RUN(bundle_policy_mismatch);
    RUN(key_bundles);
    RUN(key_bundle_dsse);
    RUN(cosign_key_signatures);
    RUN(cosign_payload_parse);
    RUN(cosign_keyless_annotations);
    RUN(cosign_keyless_attestation);
    RUN(sign_cosign_roundtrip);
    RUN(sign_key_errors);
    RUN(sign_dsse_provenance);
    RUN(result_threshold);
    RUN(result_attestations);
    RUN(result_bundle_referrer);
    conformance();
    sh("rm -rf '%s'", tmpdir);
    strata_verify_trusted_root_free(production);
    strata_verify_trusted_root_free(staging);
    free(a_txt);
    return harness_done();
}
