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
    conformance();
    sh("rm -rf '%s'", tmpdir);
    return harness_done();
}
