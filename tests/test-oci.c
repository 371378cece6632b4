/*
 * test-oci.c - unit tests for oci/: image references parsed and normalised
 * by Docker's distribution grammar (valid and invalid forms), digests,
 * loopback domains, and the exit codes of `strata ref`.
 */
#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "oci.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H128 H64 H64

/* Parses in and checks the canonical string. */
static void
check_ref(const char *in, const char *canonical)
{
    strata_error err = {0};
    strata_ref *ref = NULL;
    int rc = strata_ref_parse(&ref, in, &err);

    if (rc != 0)
        printf("# '%s': %s\n", in, err.msg);
    CHECK_EQ(rc, 0);
    CHECK_STR_EQ(strata_ref_string(ref), canonical);
    strata_ref_free(ref);
}

/* Parses in, expects STRATA_EINVAL and why in the message. */
static void
check_bad(const char *in, const char *why)
{
    strata_error err = {0};
    strata_ref *ref = NULL;
    char prefix[600];
    int rc = strata_ref_parse(&ref, in, &err);

    if (rc == 0)
        printf("# '%s' parsed as '%s'\n", in, strata_ref_string(ref));
    CHECK_EQ(rc, STRATA_EINVAL);
    CHECK(ref == NULL);
    snprintf(prefix, sizeof(prefix), "invalid reference '%s': ", in);
    CHECK_EQ(strncmp(err.msg, prefix, strlen(prefix)), 0);
    CHECK_CONTAINS(err.msg, why);
}

TEST(docker_hub_normalisation)
{
    check_ref("ubuntu", "docker.io/library/ubuntu:latest");
    check_ref("ubuntu:22.04", "docker.io/library/ubuntu:22.04");
    check_ref("library/ubuntu", "docker.io/library/ubuntu:latest");
    check_ref("docker.io/ubuntu", "docker.io/library/ubuntu:latest");
    check_ref("docker.io/library/ubuntu:x", "docker.io/library/ubuntu:x");
    check_ref("index.docker.io/ubuntu", "docker.io/library/ubuntu:latest");
    check_ref("index.docker.io/foo/bar:1", "docker.io/foo/bar:1");
    check_ref("foo/bar", "docker.io/foo/bar:latest");
    check_ref("foo/bar/baz", "docker.io/foo/bar/baz:latest");
    check_ref("registry-1.docker.io/foo", "registry-1.docker.io/foo:latest");
}

TEST(domains)
{
    check_ref("ghcr.io/a/b", "ghcr.io/a/b:latest");
    check_ref("localhost/foo", "localhost/foo:latest");
    check_ref("localhost:5000/foo:1", "localhost:5000/foo:1");
    check_ref("127.0.0.1:5000/a/b:c", "127.0.0.1:5000/a/b:c");
    check_ref("[::1]:5000/foo", "[::1]:5000/foo:latest");
    check_ref("[2001:db8::1]/foo:t", "[2001:db8::1]/foo:t");
    check_ref("example:5000/foo", "example:5000/foo:latest");
    check_ref("my-registry.example.com/x", "my-registry.example.com/x:latest");
    /* Uppercase first element: not a Docker Hub namespace, so a host. */
    check_ref("Example/foo", "Example/foo:latest");
    check_ref("EXAMPLE.COM/foo", "EXAMPLE.COM/foo:latest");
    /* A bare "host:port" is a name and a tag. */
    check_ref("localhost:5000", "docker.io/library/localhost:5000");
    check_ref("localhost", "docker.io/library/localhost:latest");
}

TEST(path_components)
{
    check_ref("a.b/c_d", "a.b/c_d:latest");
    check_ref("foo/a__b", "docker.io/foo/a__b:latest");
    check_ref("foo/a---b", "docker.io/foo/a---b:latest");
    check_ref("foo/a.b-c_d", "docker.io/foo/a.b-c_d:latest");
    check_ref("0/1", "docker.io/0/1:latest");
    check_bad("foo/a___b", "invalid reference format");
    check_bad("foo/a..b", "invalid reference format");
    check_bad("foo/-a", "invalid reference format");
    check_bad("foo/a-", "invalid reference format");
    check_bad("foo/_a", "invalid reference format");
    check_bad("foo//bar", "invalid reference format");
    check_bad("foo/", "invalid reference format");
    check_bad("/foo", "invalid reference format");
    check_bad("foo/b@r", "invalid digest format");
    check_bad("foo bar", "invalid reference format");
    check_bad("ghcr.io/", "at least one component");
    check_bad("", "at least one component");
}

TEST(lowercase_and_length)
{
    char buf[400];
    size_t n;

    check_bad("Ubuntu", "repository name must be lowercase");
    check_bad("foo/Bar", "repository name must be lowercase");
    check_bad("ghcr.io/Foo/bar", "repository name must be lowercase");

    /* 255 characters of path are fine; 256 are not. */
    strcpy(buf, "ghcr.io/");
    n = strlen(buf);
    memset(buf + n, 'a', 255);
    buf[n + 255] = '\0';
    {
        strata_error err = {0};
        strata_ref *ref = NULL;

        CHECK_OK(strata_ref_parse(&ref, buf, &err), &err);
        CHECK_EQ(strlen(strata_ref_path(ref)), 255);
        strata_ref_free(ref);
    }
    buf[n + 255] = 'a';
    buf[n + 256] = '\0';
    check_bad(buf, "repository name must not be more than 255 characters");
    /* Docker Hub's "library/" counts towards the limit. */
    memset(buf, 'a', 250);
    buf[250] = '\0';
    check_bad(buf, "not be more than 255");
    check_bad(H64, "cannot specify 64-byte hexadecimal strings");
    check_ref(H64 ":1", "docker.io/library/" H64 ":1");
}

TEST(tags)
{
    check_ref("foo:_x", "docker.io/library/foo:_x");
    check_ref("foo:A.b-C_9", "docker.io/library/foo:A.b-C_9");
    check_bad("foo:", "invalid tag format");
    check_bad("foo:.x", "invalid tag format");
    check_bad("foo:-x", "invalid tag format");
    check_bad("foo:a+b", "invalid tag format");
    check_bad("foo:a:b", "invalid");
}

TEST(tag_limits)
{
    char in[300], want[400];
    strata_error err = {0};
    strata_ref *ref = NULL;

    memset(in, 0, sizeof(in));
    strcpy(in, "foo:");
    memset(in + 4, 't', 128);
    snprintf(want, sizeof(want), "docker.io/library/%s", in);
    CHECK_OK(strata_ref_parse(&ref, in, &err), &err);
    CHECK_STR_EQ(strata_ref_string(ref), want);
    CHECK_EQ(strlen(strata_ref_tag(ref)), 128);
    strata_ref_free(ref);
    in[4 + 128] = 't';
    check_bad(in, "invalid tag format");
}

TEST(digests)
{
    strata_error err = {0};
    strata_ref *ref = NULL, *r2 = NULL;

    check_ref("foo@sha256:" H64, "docker.io/library/foo@sha256:" H64);
    check_ref("foo:1@sha256:" H64, "docker.io/library/foo:1@sha256:" H64);
    check_ref("ghcr.io/a/b@sha512:" H128, "ghcr.io/a/b@sha512:" H128);
    check_ref("[::1]:5000/x:y@sha256:" H64, "[::1]:5000/x:y@sha256:" H64);
    /* Unregistered algorithms follow the grammar: at least 32 hex. */
    check_ref("foo@multihash+base58:0123456789abcdef0123456789abcdef",
              "docker.io/library/foo@multihash+base58:"
              "0123456789abcdef0123456789abcdef");
    check_bad("foo@sha256:" H64 "0", "invalid checksum digest length");
    check_bad("foo@sha256:abc", "invalid checksum digest length");
    check_bad("foo@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef"
              "0123456789abcdef",
              "invalid checksum digest format");
    check_bad("foo@sha512:" H64, "invalid checksum digest length");
    check_bad("foo@sha256", "invalid digest format");
    check_bad("foo@sha256:", "invalid digest format");
    check_bad("foo@:" H64, "invalid digest format");
    check_bad("foo@md5:0123", "invalid digest format");
    check_bad("foo@sha256:" H64 "@sha256:" H64, "invalid");
    check_bad("foo@SHA256:" H64, "invalid digest format");

    CHECK_OK(strata_ref_parse(&ref, "foo:1@sha256:" H64, &err), &err);
    CHECK_STR_EQ(strata_ref_tag(ref), "1");
    CHECK_STR_EQ(strata_ref_digest(ref), "sha256:" H64);
    CHECK_STR_EQ(strata_ref_name(ref), "docker.io/library/foo");
    CHECK_STR_EQ(strata_ref_domain(ref), "docker.io");
    CHECK_STR_EQ(strata_ref_path(ref), "library/foo");
    strata_ref_free(ref);

    CHECK_OK(strata_ref_parse(&ref, "ghcr.io/a@sha256:" H64, &err), &err);
    CHECK(strata_ref_tag(ref) == NULL);
    /* Dropping the digest of a digest-only reference gives "latest". */
    CHECK_OK(strata_ref_with_digest(&r2, ref, NULL, &err), &err);
    CHECK_STR_EQ(strata_ref_string(r2), "ghcr.io/a:latest");
    strata_ref_free(r2);
    strata_ref_free(ref);

    CHECK_OK(strata_ref_parse(&ref, "ghcr.io/a:v1", &err), &err);
    CHECK_OK(strata_ref_with_digest(&r2, ref, "sha256:" H64, &err), &err);
    CHECK_STR_EQ(strata_ref_string(r2), "ghcr.io/a:v1@sha256:" H64);
    strata_ref_free(ref);
    ref = strata_ref_dup(r2);
    CHECK_STR_EQ(strata_ref_string(ref), strata_ref_string(r2));
    strata_ref_free(r2);
    CHECK_EQ(strata_ref_with_digest(&r2, ref, "sha256:xyz", &err),
             STRATA_EINVAL);
    CHECK(r2 == NULL);
    strata_ref_free(ref);
    strata_ref_free(NULL);
}

TEST(digest_validate)
{
    strata_error err = {0};

    CHECK_EQ(strata_digest_validate("sha256:" H64, &err), 0);
    CHECK_EQ(strata_digest_validate("sha512:" H128, &err), 0);
    CHECK_EQ(strata_digest_validate("sha256:" H64 "00", &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "invalid digest 'sha256:");
    CHECK_EQ(strata_digest_validate("sha256:" H128, &err), STRATA_EINVAL);
    CHECK_EQ(strata_digest_validate("sha512:" H64, &err), STRATA_EINVAL);
    /* OCI grammar for other algorithms: encoded [a-zA-Z0-9=_-]+. */
    CHECK_EQ(strata_digest_validate("multihash+base58:QmRZxt2b1FVZ", &err), 0);
    CHECK_EQ(strata_digest_validate("a.b_c-d:x=", &err), 0);
    CHECK_EQ(strata_digest_validate("Sha256:abc", &err), STRATA_EINVAL);
    CHECK_EQ(strata_digest_validate("sha256", &err), STRATA_EINVAL);
    CHECK_EQ(strata_digest_validate("a+:b", &err), STRATA_EINVAL);
    CHECK_EQ(strata_digest_validate("foo:a/b", &err), STRATA_EINVAL);
    CHECK_EQ(strata_digest_validate("", &err), STRATA_EINVAL);
}

TEST(invalid_domains)
{
    check_bad("-foo.com/bar", "invalid domain");
    check_bad("foo-.com/bar", "invalid domain");
    check_bad("foo..com/bar", "invalid domain");
    check_bad("foo.com:/bar", "invalid domain");
    check_bad("foo.com:50a/bar", "invalid domain");
    check_bad("[::1/bar", "invalid");
    check_bad("[]:5000/bar", "invalid domain");
    check_bad("[::g]/bar", "invalid domain");
    check_bad("foo_bar.com/baz", "invalid domain");
    check_bad("https://ghcr.io/a", "invalid");
}

TEST(loopback)
{
    CHECK(strata_ref_domain_is_loopback("localhost"));
    CHECK(strata_ref_domain_is_loopback("localhost:5000"));
    CHECK(strata_ref_domain_is_loopback("127.0.0.1:5000"));
    CHECK(strata_ref_domain_is_loopback("127.1.2.3"));
    CHECK(strata_ref_domain_is_loopback("[::1]:5000"));
    CHECK(strata_ref_domain_is_loopback("[::1]"));
    CHECK(strata_ref_domain_is_loopback("[::ffff:127.0.0.1]"));
    CHECK(!strata_ref_domain_is_loopback("docker.io"));
    CHECK(!strata_ref_domain_is_loopback("128.0.0.1"));
    CHECK(!strata_ref_domain_is_loopback("localhost.example.com"));
    CHECK(!strata_ref_domain_is_loopback("[::2]"));
    CHECK(!strata_ref_domain_is_loopback("127.0.0.1.nip.io"));
    CHECK(!strata_ref_domain_is_loopback(NULL));
}

/* Runs `strata ARGS` with stdout/stderr to /dev/null; its exit status. */
static int
run_strata(const char *a1, const char *a2)
{
    const char *exe = getenv("STRATA_EXE");
    pid_t pid;
    int status;

    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL ||
            freopen("/dev/null", "w", stderr) == NULL)
            _exit(127);
        execl(exe, exe, a1, a2, (char *) NULL);
        _exit(127);
    }
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    return WEXITSTATUS(status);
}

TEST(cli_exit_codes)
{
    char cmd[1024];
    FILE *p;
    char line[512] = "";

    if (getenv("STRATA_EXE") == NULL) {
        printf("# STRATA_EXE not set, CLI not checked\n");
        return;
    }
    CHECK_EQ(run_strata("ref", "ubuntu"), 0);
    CHECK_EQ(run_strata("ref", "Ubuntu"), 2);
    CHECK_EQ(run_strata("ref", "foo:-x"), 2);
    CHECK_EQ(run_strata("ref", NULL), 2);
    snprintf(cmd, sizeof(cmd), "'%s' ref 'localhost:5000/a:1@sha256:%s'",
             getenv("STRATA_EXE"), H64);
    p = popen(cmd, "r");
    CHECK(p != NULL);
    CHECK(fgets(line, sizeof(line), p) != NULL);
    CHECK_EQ(pclose(p), 0);
    CHECK_STR_EQ(line, "localhost:5000/a:1@sha256:" H64 "\n");
    snprintf(cmd, sizeof(cmd), "'%s' ref 'Ubuntu' 2>&1", getenv("STRATA_EXE"));
    p = popen(cmd, "r");
    CHECK(p != NULL);
    CHECK(fgets(line, sizeof(line), p) != NULL);
    pclose(p);
    CHECK_STR_EQ(line, "strata: invalid reference 'Ubuntu': repository "
                       "name must be lowercase\n");
}

int
main(void)
{
    RUN(docker_hub_normalisation);
    RUN(domains);
    RUN(path_components);
    RUN(lowercase_and_length);
    RUN(tags);
    RUN(tag_limits);
    RUN(digests);
    RUN(digest_validate);
    RUN(invalid_domains);
    RUN(loopback);
    RUN(cli_exit_codes);
    return harness_done();
}
