/*
 * test-verify-sigstore-js.c - interoperability: Sigstore bundles made by
 * sigstore-js (@sigstore/sign) against @sigstore/mock's Fulcio, Rekor and
 * timestamp authority, with their own trusted root
 * (tests/verify/sigstore-js/make-bundles.js), verify with verify/, and the
 * ones that must not (no log entry, another identity, another artifact)
 * do not. The npm packages (pinned in package-lock.json) are installed
 * with `npm ci` into the build directory on first use; without node and
 * npm, or without the registry, the test skips.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "verify.h"

#define SRC STRATA_TEST_VERIFY_DIR "/sigstore-js"
#define WORK STRATA_TEST_BUILD_DIR "/sigstore-js"

static char out[300];
static char *identity, *issuer;

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

static char *
first_line(const char *path)
{
    char *s = NULL;
    size_t n;
    strata_error err;

    if (strata_read_file(&s, &n, path, 4096, &err) < 0)
        return NULL;
    s[strcspn(s, "\r\n")] = '\0';
    return s;
}

/* Installs the pinned packages into WORK once; 0 when they are there. */
static int
install(void)
{
    struct stat st;

    if (sh("command -v node >/dev/null && command -v npm >/dev/null") != 0)
        SKIP_ALL("node and npm are needed (Debian: nodejs npm)");
    if (stat(WORK "/node_modules/@sigstore/sign/package.json", &st) == 0 &&
        sh("cmp -s '%s/package-lock.json' '%s/package-lock.json'", SRC, WORK) ==
            0)
        return 0;
    if (sh("mkdir -p '%s' && cp '%s/package.json' '%s/package-lock.json' "
           "'%s/' && cd '%s' && timeout 300 npm ci --no-audit --no-fund "
           "--loglevel=error >npm.log 2>&1",
           WORK, SRC, SRC, WORK, WORK) != 0) {
        sh("tail -5 '%s/npm.log' | sed 's/^/# /'", WORK);
        SKIP_ALL("npm ci of sigstore-js failed (no registry?); see %s/npm.log",
                 WORK);
    }
    return 0;
}

static int
verify(strata_verify_signer *s, const char *bundle, const char *artifact,
       const char *id, strata_error *err)
{
    strata_verify_bundle_opts o;
    char *b = strata_xasprintf("%s/%s.sigstore.json", out, bundle);
    char *a = artifact[0] == '/' || strncmp(artifact, "sha256:", 7) == 0
                  ? strata_xstrdup(artifact)
                  : strata_xasprintf("%s/%s", out, artifact);
    char *root = strata_xasprintf("%s/trusted_root.json", out);
    int rc;

    memset(&o, 0, sizeof(o));
    o.bundle_path = b;
    o.artifact = a;
    o.trusted_root_path = root;
    o.identity = id;
    o.issuer = issuer;
    strata_error_clear(err);
    rc = strata_verify_bundle_file(s, &o, err);
    free(b);
    free(a);
    free(root);
    return rc;
}

TEST(message_signatures)
{
    static const char *names[] = {"msg-rekor", "msg-rekor-tsa"};
    strata_verify_signer s;
    strata_error err;
    size_t i;

    for (i = 0; i < 2; i++) {
        CHECK_OK(verify(&s, names[i], "artifact", identity, &err), &err);
        CHECK_STR_EQ(s.subject, identity);
        CHECK_STR_EQ(s.issuer, issuer);
        CHECK(s.log_index >= 0);
        CHECK(s.signed_time > time(NULL) - 3600 &&
              s.signed_time <= time(NULL) + 60);
        strata_verify_signer_release(&s);
    }
}

TEST(dsse_attestations)
{
    static const char *names[] = {"dsse-rekor-tsa", "dsse-intoto"};
    strata_verify_signer s;
    strata_error err;
    size_t i;

    for (i = 0; i < 2; i++) {
        CHECK_OK(verify(&s, names[i], "artifact", identity, &err), &err);
        CHECK_STR_EQ(s.predicate_type, "https://slsa.dev/provenance/v1");
        strata_verify_signer_release(&s);
        /* The statement is about the artifact, and nothing else. */
        CHECK_EQ(verify(NULL, names[i], "statement.json", identity, &err),
                 STRATA_VERIFY_EUNVERIFIED);
        CHECK_CONTAINS(err.msg, "in-toto statement has no subject");
    }
}

TEST(refused)
{
    strata_error err;
    char *digest, *path = strata_xasprintf("%s/artifact", out);
    char hex[65], *data = NULL;
    size_t n;

    /* Keyless needs a log entry: a timestamp alone is not enough. */
    CHECK_EQ(verify(NULL, "msg-tsa", "artifact", identity, &err),
             STRATA_VERIFY_EUNVERIFIED);
    CHECK_STR_EQ(err.msg, "bundle has no transparency log entry");
    /* Another identity. */
    CHECK_EQ(verify(NULL, "msg-rekor-tsa", "artifact",
                    "https://github.com/acme/other/.github/workflows/"
                    "release.yml@refs/heads/main",
                    &err),
             STRATA_VERIFY_EUNVERIFIED);
    CHECK_CONTAINS(err.msg, "does not match");
    /* Another artifact. */
    CHECK_EQ(verify(NULL, "msg-rekor", "statement.json", identity, &err),
             STRATA_VERIFY_EUNVERIFIED);
    /* By digest, as a referrer of an image is verified. */
    CHECK_OK(strata_read_file(&data, &n, path, 0, &err), &err);
    strata_sha256_hex(hex, data, n);
    digest = strata_xasprintf("sha256:%s", hex);
    CHECK_OK(verify(NULL, "msg-rekor-tsa", digest, identity, &err), &err);
    free(digest);
    free(data);
    free(path);
}

int
main(void)
{
    char *p;

    install();
    snprintf(out, sizeof(out), "%s/out", WORK);
    if (sh("rm -rf '%s' && NODE_PATH='%s/node_modules' node "
           "'%s/make-bundles.js' '%s'",
           out, WORK, SRC, out) != 0) {
        printf("not ok 1 - make-bundles.js failed\n1..1\n");
        return 1;
    }
    p = strata_xasprintf("%s/identity", out);
    identity = first_line(p);
    free(p);
    p = strata_xasprintf("%s/issuer", out);
    issuer = first_line(p);
    free(p);
    CHECK(identity != NULL && issuer != NULL);
    RUN(message_signatures);
    RUN(dsse_attestations);
    RUN(refused);
    free(identity);
    free(issuer);
    return harness_done();
}
