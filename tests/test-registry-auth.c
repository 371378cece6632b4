/*
 * test-registry-auth.c - the registry client's authentication and TLS
 * against a real docker-registry: Bearer tokens from tests/registry's
 * token server (anonymous pulls of public repositories, credentials for
 * private ones and for pushes, refused credentials, the token cache and
 * its refresh, a refresh after a 401 for a dead token, identity tokens
 * through the OAuth2 form), credentials from a Docker config (auths,
 * credHelpers, credsStore, with tests/registry/docker-credential-fake),
 * `strata digest` with a helper, and TLS (verified by default, ca_file,
 * insecure; when plain HTTP is allowed). Everything logged (stderr, at
 * debug level) and every error message is checked for secrets.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "harness-registry.h"
#include "harness-token.h"
#include "harness.h"
#include "oci-int.h"
#include "oci.h"

#define BOB_PW "s3cret-Pw-9f2"
#define READER_PW "r3ader-Pw-77a"
#define WRONG_PW "wr0ng-Pw-c41"
#define ID_TOKEN "id-T0KEN-5be1d"
#define BAD_ID_TOKEN "id-BAD-77e0"
#define HELPER_PW "h3lper-Pw-0d8"

/* Every secret this test hands out; none may be printed. "eyJ" opens a JWT. */
static const char *const secrets[] = {
    BOB_PW, READER_PW, WRONG_PW, ID_TOKEN, BAD_ID_TOKEN, HELPER_PW, "eyJ",
};

/* The services every test shares (test-only state). */
static struct {
    harness_token ts;
    harness_registry reg; /* Bearer auth through ts */
    char pub[100];        /* digest of library/pub:latest */
    char priv[100];       /* digest of private/app:latest */
    char log_path[300];   /* our stderr */
    char dir[64];         /* docker configs, helper tables */
} F;

static void
check_no_secret(const char *s)
{
    size_t i;

    for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        if (strstr(s, secrets[i]) != NULL) {
            printf("#   secret '%s' in: '%s'\n", secrets[i], s);
            CHECK(!"a secret was printed");
        }
    }
}

/* ---- running client operations to completion --------------------------- */

typedef struct result {
    int done;
    char *digest;
    strata_blob_outcome outcome;
    strata_error err;
} result;

static void
on_digest(char *digest, const strata_error *err, void *arg)
{
    result *r = arg;

    r->done = 1;
    r->digest = digest;
    if (err != NULL)
        r->err = *err;
}

static void
on_push(strata_blob_outcome outcome, uint64_t bytes, const strata_error *err,
        void *arg)
{
    result *r = arg;

    (void) bytes;
    r->done = 1;
    r->outcome = outcome;
    if (err != NULL)
        r->err = *err;
}

static void
wait_for(uv_loop_t *loop, result *r)
{
    while (!r->done)
        uv_run(loop, UV_RUN_ONCE);
    if (r->err.code != 0)
        check_no_secret(r->err.msg);
}

static strata_ref *
ref_of(const char *repo_tag)
{
    strata_error err = {0};
    strata_ref *ref = NULL;
    char s[300];

    snprintf(s, sizeof(s), "%s/%s", F.reg.host, repo_tag);
    CHECK_OK(strata_ref_parse(&ref, s, &err), &err);
    return ref;
}

/* The digest of repo_tag through cl; 0 or the error code (r.err). */
static int
digest_of(strata_registry *cl, uv_loop_t *loop, const char *repo_tag, result *r)
{
    strata_error err = {0};
    strata_ref *ref = ref_of(repo_tag);

    memset(r, 0, sizeof(*r));
    CHECK_OK(strata_registry_digest(cl, ref, NULL, on_digest, r, &err), &err);
    wait_for(loop, r);
    strata_ref_free(ref);
    return r->err.code;
}

static strata_registry *
client(uv_loop_t *loop, const strata_registry_opts *o)
{
    strata_registry *cl = NULL;
    strata_error err = {0};

    CHECK_OK(strata_registry_new(&cl, loop, NULL, &err), &err);
    strata_registry_set_host(cl, F.reg.host, o);
    return cl;
}

static void
client_close(strata_registry *cl, uv_loop_t *loop)
{
    strata_registry_close(cl);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(loop), 0);
}

/* One digest with fresh client options; frees everything. */
static int
one_digest(const strata_registry_opts *o, const char *repo_tag, result *r)
{
    uv_loop_t loop;
    strata_registry *cl;
    int rc;

    uv_loop_init(&loop);
    cl = client(&loop, o);
    rc = digest_of(cl, &loop, repo_tag, r);
    client_close(cl, &loop);
    return rc;
}

static int
tokens(const char *a, const char *b)
{
    return harness_token_count(&F.ts, a, b, (const char *) NULL);
}

/* ---- Bearer ------------------------------------------------------------ */

TEST(anonymous_pull_of_a_public_repo)
{
    strata_registry_opts o = {0};
    int before = tokens("\"anonymous\"", "repository:library/pub:pull");
    result r;

    CHECK_EQ(one_digest(&o, "library/pub:latest", &r), 0);
    CHECK_STR_EQ(r.digest, F.pub);
    free(r.digest);
    CHECK_EQ(tokens("\"anonymous\"", "repository:library/pub:pull"),
             before + 1);
}

TEST(anonymous_pull_of_a_private_repo_is_denied)
{
    strata_registry_opts o = {0};
    result r;

    CHECK_EQ(one_digest(&o, "private/app:latest", &r), STRATA_EAUTH);
    CHECK(r.digest == NULL);
    CHECK_CONTAINS(r.err.msg, F.reg.host);
    CHECK_CONTAINS(r.err.msg, "denied");
}

TEST(credentials_open_a_private_repo)
{
    strata_registry_opts o = {0};
    int before = tokens("\"account\": \"bob\"", "repository:private/app:pull");
    result r;

    o.username = "bob";
    o.password = BOB_PW;
    CHECK_EQ(one_digest(&o, "private/app:latest", &r), 0);
    CHECK_STR_EQ(r.digest, F.priv);
    free(r.digest);
    CHECK_EQ(tokens("\"account\": \"bob\"", "repository:private/app:pull"),
             before + 1);
}

TEST(wrong_credentials_are_an_auth_error_without_the_password)
{
    strata_registry_opts o = {0};
    result r;

    o.username = "bob";
    o.password = WRONG_PW;
    CHECK_EQ(one_digest(&o, "private/app:latest", &r), STRATA_EAUTH);
    CHECK_CONTAINS(r.err.msg, "refused the credentials");
    CHECK_CONTAINS(r.err.msg, F.reg.host);
    check_no_secret(r.err.msg);
    /* The token server saw the attempt and said no. */
    CHECK(tokens("\"status\": 401", "repository:private/app:pull") >= 1);
}

TEST(tokens_are_cached_per_scope_until_they_expire)
{
    const char *priv = "repository:private/app:pull\"";
    const char *pub = "repository:library/pub:pull\"";
    strata_registry_opts o = {0};
    strata_registry *cl;
    uv_loop_t loop;
    int p0 = tokens("bob", priv), q0 = tokens("bob", pub), i;
    result r;

    CHECK_EQ(harness_token_control(&F.ts, "{\"expires_in\": 2}"), 0);
    o.username = "bob";
    o.password = BOB_PW;
    uv_loop_init(&loop);
    cl = client(&loop, &o);
    for (i = 0; i < 3; i++) {
        CHECK_EQ(digest_of(cl, &loop, "private/app:latest", &r), 0);
        CHECK_STR_EQ(r.digest, F.priv);
        free(r.digest);
    }
    CHECK_EQ(tokens("bob", priv), p0 + 1); /* one token, three requests */
    CHECK_EQ(digest_of(cl, &loop, "library/pub:latest", &r), 0);
    free(r.digest);
    CHECK_EQ(tokens("bob", pub), q0 + 1); /* another scope, another token */
    CHECK_EQ(tokens("bob", priv), p0 + 1);
    usleep(2300 * 1000); /* past expires_in */
    CHECK_EQ(digest_of(cl, &loop, "private/app:latest", &r), 0);
    free(r.digest);
    CHECK_EQ(tokens("bob", priv), p0 + 2); /* refreshed once */
    CHECK_EQ(digest_of(cl, &loop, "private/app:latest", &r), 0);
    free(r.digest);
    CHECK_EQ(tokens("bob", priv), p0 + 2);
    client_close(cl, &loop);
    CHECK_EQ(harness_token_control(&F.ts, ""), 0);
}

TEST(a_401_for_a_dead_token_brings_one_refresh)
{
    const char *priv = "repository:private/app:pull\"";
    strata_registry_opts o = {0};
    strata_registry *cl;
    uv_loop_t loop;
    int p0 = tokens("bob", priv);
    result r;

    /* The next token is already expired but promised for 300 s. */
    CHECK_EQ(harness_token_control(&F.ts, "{\"expire_next\": 1}"), 0);
    o.username = "bob";
    o.password = BOB_PW;
    uv_loop_init(&loop);
    cl = client(&loop, &o);
    CHECK_EQ(digest_of(cl, &loop, "private/app:latest", &r), 0);
    CHECK_STR_EQ(r.digest, F.priv);
    free(r.digest);
    CHECK_EQ(tokens("bob", priv), p0 + 2); /* the dead one, one refresh */
    CHECK_EQ(digest_of(cl, &loop, "private/app:latest", &r), 0);
    free(r.digest);
    CHECK_EQ(tokens("bob", priv), p0 + 2); /* the fresh one is cached */
    client_close(cl, &loop);
    CHECK_EQ(harness_token_control(&F.ts, ""), 0);
}

/* Pushes a config blob, a layer and a manifest to repo_tag as user. */
static int
push_image(const char *user, const char *password, const char *repo_tag,
           char **digest)
{
    static const char layer[] = "strata push-scope test layer";
    strata_registry_opts o = {0};
    strata_error err = {0};
    strata_registry *cl;
    strata_ref *ref = ref_of(repo_tag);
    uv_loop_t loop;
    char lhex[65], chex[65], ldig[80], cdig[80], config[300], manifest[900];
    result r = {0};

    o.username = user;
    o.password = password;
    strata_sha256_hex(lhex, layer, strlen(layer));
    snprintf(ldig, sizeof(ldig), "sha256:%s", lhex);
    snprintf(config, sizeof(config),
             "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":"
             "{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
             ldig);
    strata_sha256_hex(chex, config, strlen(config));
    snprintf(cdig, sizeof(cdig), "sha256:%s", chex);
    snprintf(manifest, sizeof(manifest),
             "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{"
             "\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
             "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
             "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":"
             "\"%s\",\"size\":%zu}]}",
             STRATA_MT_OCI_MANIFEST, cdig, strlen(config), ldig, strlen(layer));
    uv_loop_init(&loop);
    cl = client(&loop, &o);
    CHECK_OK(strata_registry_push_blob(cl, ref, ldig, layer, strlen(layer),
                                       NULL, on_push, &r, &err),
             &err);
    wait_for(&loop, &r);
    if (r.err.code == 0) {
        memset(&r, 0, sizeof(r));
        CHECK_OK(strata_registry_push_blob(cl, ref, cdig, config,
                                           strlen(config), NULL, on_push, &r,
                                           &err),
                 &err);
        wait_for(&loop, &r);
    }
    if (r.err.code == 0) {
        memset(&r, 0, sizeof(r));
        CHECK_OK(strata_registry_put_manifest(cl, ref, STRATA_MT_OCI_MANIFEST,
                                              manifest, strlen(manifest),
                                              on_digest, &r, &err),
                 &err);
        wait_for(&loop, &r);
        *digest = r.digest;
    }
    client_close(cl, &loop);
    strata_ref_free(ref);
    if (r.err.code != 0)
        printf("#   push as '%s': %s\n", user, r.err.msg);
    return r.err.code;
}

TEST(push_asks_for_the_push_scope)
{
    strata_registry_opts o = {0};
    char *pushed = NULL;
    result r;

    CHECK_EQ(push_image("bob", BOB_PW, "private/pushed:v1", &pushed), 0);
    CHECK(pushed != NULL);
    CHECK(tokens("bob", "repository:private/pushed:pull,push\"") >= 1);
    /* What was pushed is there, read back through a pull token. */
    o.username = "bob";
    o.password = BOB_PW;
    CHECK_EQ(one_digest(&o, "private/pushed:v1", &r), 0);
    CHECK_STR_EQ(r.digest, pushed);
    free(r.digest);
    free(pushed);
    /* A user with pull rights only is refused. */
    pushed = NULL;
    CHECK_EQ(push_image("reader", READER_PW, "private/other:v1", &pushed),
             STRATA_EAUTH);
    CHECK(pushed == NULL);
}

TEST(identity_token_goes_through_the_oauth2_form)
{
    strata_registry_opts o = {0};
    int before = tokens("\"refresh_token\"", "\"account\": \"bob\"");
    result r;

    o.identity_token = ID_TOKEN;
    CHECK_EQ(one_digest(&o, "private/app:latest", &r), 0);
    CHECK_STR_EQ(r.digest, F.priv);
    free(r.digest);
    CHECK_EQ(tokens("\"refresh_token\"", "\"account\": \"bob\""), before + 1);
    CHECK(tokens("\"POST\"", "repository:private/app:pull\"") >= 1);

    o.identity_token = BAD_ID_TOKEN;
    CHECK_EQ(one_digest(&o, "private/app:latest", &r), STRATA_EAUTH);
    CHECK_CONTAINS(r.err.msg, "refused the identity token");
}

/* ---- the Docker config and credential helpers -------------------------- */

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* Writes DIR/NAME/config.json; its path (static: the next call reuses it). */
static const char *
docker_config(const char *name, const char *json)
{
    static char path[400];
    char d[350];

    snprintf(d, sizeof(d), "%s/%s", F.dir, name);
    mkdir(d, 0700);
    snprintf(path, sizeof(path), "%s/config.json", d);
    write_text(path, json);
    return path;
}

TEST(docker_config_auths_and_identitytoken)
{
    strata_registry_creds c;
    strata_error err = {0};
    char json[600];
    const char *path;

    /* base64("bob:s3cret-Pw-9f2") */
    snprintf(json, sizeof(json),
             "{\"auths\":{\"https://%s\":{\"auth\":"
             "\"Ym9iOnMzY3JldC1Qdy05ZjI=\"},"
             "\"other.example\":{\"identitytoken\":\"%s\"}}}",
             F.reg.host, ID_TOKEN);
    path = docker_config("auths", json);
    CHECK_OK(strata_docker_config_creds(&c, path, F.reg.host, 0, &err), &err);
    CHECK_STR_EQ(c.username, "bob");
    CHECK_STR_EQ(c.password, BOB_PW);
    CHECK(c.identity_token == NULL);
    strata_registry_creds_release(&c);
    CHECK(c.username == NULL && c.password == NULL);
    CHECK_OK(strata_docker_config_creds(&c, path, "other.example", 0, &err),
             &err);
    CHECK(c.username == NULL && c.password == NULL);
    CHECK_STR_EQ(c.identity_token, ID_TOKEN);
    strata_registry_creds_release(&c);
    CHECK_OK(strata_docker_config_creds(&c, path, "nowhere.example", 0, &err),
             &err);
    CHECK(c.username == NULL && c.identity_token == NULL);
    /* No file: nothing, and no error. */
    CHECK_OK(strata_docker_config_creds(&c, "/nonexistent/config.json",
                                        F.reg.host, 0, &err),
             &err);
    CHECK(c.username == NULL);
    /* A broken entry is an error that names the file, not the secret. */
    path = docker_config("broken", "{\"auths\":{\"x.example\":"
                                   "{\"auth\":\"bm9jb2xvbg==\"}}}");
    CHECK_EQ(strata_docker_config_creds(&c, path, "x.example", 0, &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, "config.json");
}

/* The helper's table: server URL -> answer (see docker-credential-fake). */
static void
helper_table(const char *json)
{
    char path[400];

    snprintf(path, sizeof(path), "%s/helper.json", F.dir);
    write_text(path, json);
}

TEST(credential_helpers_per_registry_and_store)
{
    strata_registry_creds c;
    strata_registry_opts o = {0};
    strata_error err = {0};
    char json[1200], hpath[400];
    const char *path;
    result r;

    snprintf(json, sizeof(json),
             "{\"%s\":{\"Username\":\"bob\",\"Secret\":\"%s\"},"
             "\"token.example\":{\"Username\":\"<token>\",\"Secret\":\"%s\"},"
             "\"broken.example\":{\"fail_json\":true,\"Username\":\"bob\","
             "\"Secret\":\"%s\"},"
             "\"slow.example\":{\"sleep\":5,\"Username\":\"bob\","
             "\"Secret\":\"%s\"},"
             "\"garbage.example\":{\"garbage\":true},"
             "\"https://index.docker.io/v1/\":{\"Username\":\"hub\","
             "\"Secret\":\"%s\"}}",
             F.reg.host, BOB_PW, ID_TOKEN, HELPER_PW, HELPER_PW, HELPER_PW);
    helper_table(json);
    snprintf(json, sizeof(json),
             "{\"auths\":{\"%s\":{\"auth\":\"eDp5\"}},"
             "\"credHelpers\":{\"%s\":\"fake\",\"token.example\":\"fake\","
             "\"broken.example\":\"fake\",\"slow.example\":\"fake\","
             "\"garbage.example\":\"fake\",\"docker.io\":\"fake\","
             "\"missing.example\":\"nope-not-installed\"}}",
             F.reg.host, F.reg.host);
    snprintf(hpath, sizeof(hpath), "%s", docker_config("helpers", json));
    path = hpath;

    /* credHelpers wins over auths for the same registry. */
    CHECK_OK(strata_docker_config_creds(&c, path, F.reg.host, 0, &err), &err);
    CHECK_STR_EQ(c.username, "bob");
    CHECK_STR_EQ(c.password, BOB_PW);
    o.username = c.username;
    o.password = c.password;
    CHECK_EQ(one_digest(&o, "private/app:latest", &r), 0);
    CHECK_STR_EQ(r.digest, F.priv);
    free(r.digest);
    strata_registry_creds_release(&c);

    /* "<token>": the secret is an identity token. */
    CHECK_OK(strata_docker_config_creds(&c, path, "token.example", 0, &err),
             &err);
    CHECK(c.username == NULL && c.password == NULL);
    CHECK_STR_EQ(c.identity_token, ID_TOKEN);
    strata_registry_creds_release(&c);

    /* Docker Hub is asked for under its legacy URL. */
    CHECK_OK(strata_docker_config_creds(&c, path, "docker.io", 0, &err), &err);
    CHECK_STR_EQ(c.username, "hub");
    strata_registry_creds_release(&c);

    /* Not found in the helper: no credentials, no error. */
    snprintf(json, sizeof(json), "{\"credsStore\":\"fake\"}");
    CHECK_OK(strata_docker_config_creds(&c, docker_config("store", json),
                                        "unknown.example", 0, &err),
             &err);
    CHECK(c.username == NULL && c.identity_token == NULL);
    /* credsStore serves every registry. */
    CHECK_OK(strata_docker_config_creds(&c, docker_config("store", json),
                                        F.reg.host, 0, &err),
             &err);
    CHECK_STR_EQ(c.password, BOB_PW);
    strata_registry_creds_release(&c);

    /* A missing helper, a failing one, a slow one, a garbled one. */
    CHECK_EQ(strata_docker_config_creds(&c, path, "missing.example", 0, &err),
             STRATA_EIO);
    CHECK_CONTAINS(err.msg, "docker-credential-nope-not-installed");
    CHECK_CONTAINS(err.msg, "missing.example");
    CHECK_EQ(strata_docker_config_creds(&c, path, "broken.example", 0, &err),
             STRATA_EIO);
    CHECK_CONTAINS(err.msg, "docker-credential-fake");
    CHECK_CONTAINS(err.msg, "exit 2");
    check_no_secret(err.msg);
    CHECK_EQ(strata_docker_config_creds(&c, path, "slow.example", 500, &err),
             STRATA_ETIMEOUT);
    CHECK_CONTAINS(err.msg, "timed out");
    CHECK_EQ(strata_docker_config_creds(&c, path, "garbage.example", 0, &err),
             STRATA_EPROTO);
    CHECK(c.username == NULL && c.password == NULL);
    /* A helper name is a name, never a path. */
    CHECK_EQ(
        strata_docker_helper_get(NULL, "../evil", "x", 0, NULL, NULL, &err),
        STRATA_EINVAL);
}

/* Lines in the helper's call log: how often it ran. */
static int
helper_calls(const char *log)
{
    FILE *f = fopen(log, "r");
    int c, n = 0;

    if (f == NULL)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void
drop_tokens(strata_oci__host *h)
{
    while (h->tokens != NULL)
        strata_oci__token_drop(h, h->tokens->scope);
}

TEST(the_client_asks_a_credential_helper_when_it_needs_to)
{
    strata_registry_opts o = {0};
    strata_oci__host *h;
    strata_registry *cl;
    char json[400], log[300];
    uv_loop_t loop;
    result r;

    snprintf(log, sizeof(log), "%s/helper-calls.log", F.dir);
    unlink(log);
    setenv("FAKE_CRED_LOG", log, 1);
    /* First the helper gives a wrong password. */
    snprintf(json, sizeof(json),
             "{\"%s\":{\"Username\":\"bob\",\"Secret\":\"%s\"}}", F.reg.host,
             WRONG_PW);
    helper_table(json);
    o.cred_helper = "fake";
    o.username = "ignored"; /* a helper replaces fixed credentials */
    o.password = BOB_PW;
    uv_loop_init(&loop);
    cl = client(&loop, &o);
    h = strata_oci__host_get(cl, F.reg.host);
    CHECK_EQ(helper_calls(log), 0); /* nothing runs before it is needed */
    CHECK_EQ(digest_of(cl, &loop, "private/app:latest", &r), STRATA_EAUTH);
    CHECK_EQ(helper_calls(log), 1);
    /* Refused: the next request asks the helper again, which now knows. */
    snprintf(json, sizeof(json),
             "{\"%s\":{\"Username\":\"bob\",\"Secret\":\"%s\"}}", F.reg.host,
             HELPER_PW);
    helper_table(json);
    CHECK_EQ(digest_of(cl, &loop, "private/app:latest", &r), STRATA_EAUTH);
    CHECK_EQ(helper_calls(log), 2);
    snprintf(json, sizeof(json),
             "{\"%s\":{\"Username\":\"bob\",\"Secret\":\"%s\"}}", F.reg.host,
             BOB_PW);
    helper_table(json);
    CHECK_EQ(digest_of(cl, &loop, "private/app:latest", &r), 0);
    CHECK_STR_EQ(r.digest, F.priv);
    free(r.digest);
    CHECK_EQ(helper_calls(log), 3);
    /* Fresh credentials are reused: a new scope, no new helper run. */
    CHECK_EQ(digest_of(cl, &loop, "library/pub:latest", &r), 0);
    free(r.digest);
    CHECK_EQ(helper_calls(log), 3);
    /* Old ones (as after STRATA_REGISTRY_HELPER_TTL_MS) are asked again;
     * a failing helper keeps what it gave before. */
    h->helper_at_ms = 1;
    drop_tokens(h);
    snprintf(json, sizeof(json), "{\"%s\":{\"fail\":\"keychain locked\"}}",
             F.reg.host);
    helper_table(json);
    CHECK_EQ(digest_of(cl, &loop, "private/app:latest", &r), 0);
    CHECK_STR_EQ(r.digest, F.priv);
    free(r.digest);
    CHECK_EQ(helper_calls(log), 4);
    /* A helper under way when the client closes is forgotten safely. */
    h->helper_at_ms = 1;
    drop_tokens(h);
    snprintf(json, sizeof(json),
             "{\"%s\":{\"sleep\":1,\"Username\":\"bob\",\"Secret\":\"%s\"}}",
             F.reg.host, BOB_PW);
    helper_table(json);
    {
        strata_error err = {0};
        strata_ref *ref = ref_of("private/app:latest");

        memset(&r, 0, sizeof(r));
        CHECK_OK(strata_registry_digest(cl, ref, NULL, on_digest, &r, &err),
                 &err);
        strata_ref_free(ref);
        while (h->helper_run == NULL)
            uv_run(&loop, UV_RUN_ONCE);
    }
    client_close(cl, &loop);
    CHECK(r.done);
    CHECK_EQ(r.err.code, STRATA_ECANCELED);
    unsetenv("FAKE_CRED_LOG");
}

TEST(cli_digest_uses_the_credential_helper)
{
    char cmd[2048], *out;

    snprintf(cmd, sizeof(cmd),
             "DOCKER_CONFIG='%s/helpers' FAKE_CRED_FILE='%s/helper.json' "
             "PATH='%s':\"$PATH\" '%s' --log-level debug digest "
             "'%s/private/app:latest' 2>>'%s'",
             F.dir, F.dir, HELPER_DIR, getenv("STRATA_EXE"), F.reg.host,
             F.log_path);
    out = harness_capture(cmd);
    CHECK(out != NULL);
    out[strcspn(out, "\n")] = '\0';
    CHECK_STR_EQ(out, F.priv);
    free(out);
    /* Without the helper's credentials the same call is refused. */
    snprintf(cmd, sizeof(cmd),
             "DOCKER_CONFIG='%s/none' '%s' digest '%s/private/app:latest' "
             "2>&1; echo \"exit=$?\"",
             F.dir, getenv("STRATA_EXE"), F.reg.host);
    out = harness_capture(cmd);
    CHECK(out != NULL);
    CHECK_CONTAINS(out, "exit=1");
    check_no_secret(out);
    free(out);
}

/* Runs `strata watch --once` on a config watching private/app. */
static char *
watch_once(const char *name, const char *registries, int *status)
{
    char dir[200], path[300], cmd[2048], *out;
    FILE *f;

    snprintf(dir, sizeof(dir), "%s/%s", F.dir, name);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/strata.yaml", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f,
            "state: %s/strata.db\n%s"
            "watch:\n  bases:\n    - ref: %s/private/app:latest\n",
            dir, registries, F.reg.host);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "DOCKER_CONFIG='%s/helpers' FAKE_CRED_FILE='%s/helper.json' "
             "PATH='%s':\"$PATH\" '%s' -c '%s' --log-level debug watch "
             "--once 2>>'%s'; echo \"exit=$?\"",
             F.dir, F.dir, HELPER_DIR, getenv("STRATA_EXE"), path, F.log_path);
    out = harness_capture(cmd);
    CHECK(out != NULL);
    *status = strstr(out, "exit=0") != NULL ? 0 : 1;
    return out;
}

TEST(watch_takes_docker_config_credentials_after_the_config)
{
    char regs[600], *out;
    int status;

    /* No registries[] entry: the credential helper's credentials. */
    out = watch_once("watch-helper", "", &status);
    CHECK_EQ(status, 0);
    CHECK_CONTAINS(out, F.priv);
    free(out);
    /* A registries[] entry without credentials still gets them. */
    snprintf(regs, sizeof(regs),
             "registries:\n  - host: \"%s\"\n    max_concurrency: 2\n",
             F.reg.host);
    out = watch_once("watch-entry", regs, &status);
    CHECK_EQ(status, 0);
    CHECK_CONTAINS(out, F.priv);
    free(out);
    /* Configured credentials take precedence: wrong ones fail. */
    snprintf(regs, sizeof(regs),
             "registries:\n  - host: \"%s\"\n    auth: { username: bob, "
             "password: \"%s\" }\n",
             F.reg.host, WRONG_PW);
    out = watch_once("watch-config", regs, &status);
    CHECK_EQ(status, 1);
    CHECK(strstr(out, F.priv) == NULL);
    check_no_secret(out);
    free(out);
}

/* ---- TLS and plain HTTP ------------------------------------------------ */

TEST(plain_http_only_for_loopback_or_insecure)
{
    strata_oci__host h = {0};
    strata_error err = {0};

    CHECK(strata_registry_plain_http_allowed("localhost", 0));
    CHECK(strata_registry_plain_http_allowed("localhost:5000", 0));
    CHECK(strata_registry_plain_http_allowed("127.0.0.1:5000", 0));
    CHECK(strata_registry_plain_http_allowed("127.3.2.1", 0));
    CHECK(strata_registry_plain_http_allowed("[::1]:5000", 0));
    CHECK(!strata_registry_plain_http_allowed("registry.example.com", 0));
    CHECK(!strata_registry_plain_http_allowed("10.0.0.1:5000", 0));
    CHECK(!strata_registry_plain_http_allowed("localhost.example.com", 0));
    CHECK(!strata_registry_plain_http_allowed("128.0.0.1", 0));
    CHECK(strata_registry_plain_http_allowed("registry.example.com", 1));

    /* The same rule for a token realm: no credentials over plain HTTP. */
    h.domain = "registry.example.com";
    CHECK_EQ(strata_oci__parse_challenge(
                 &h, "Bearer realm=\"http://auth.example.com/token\"", &err),
             STRATA_EAUTH);
    CHECK_CONTAINS(err.msg, "plain-HTTP token realm");
    CHECK_OK(strata_oci__parse_challenge(
                 &h, "Bearer realm=\"https://auth.example.com/token\"", &err),
             &err);
    CHECK_OK(strata_oci__parse_challenge(
                 &h, "Bearer realm=\"http://127.0.0.1:9/token\"", &err),
             &err);
    h.insecure = 1;
    CHECK_OK(strata_oci__parse_challenge(
                 &h, "Bearer realm=\"http://auth.example.com/token\"", &err),
             &err);
    free(h.realm);
    free(h.service);
}

TEST(tls_verified_by_default_ca_file_or_insecure)
{
    harness_registry_opts ro = {0};
    harness_registry tls;
    strata_registry_opts o = {0};
    char cmd[600], ca[350], cert[350], key[350], dig[100];
    json_t *img = NULL;
    char *out;
    result r;

    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' tls --dir '%s/tls'",
             REGISTRY_PY, F.dir);
    out = harness_capture(cmd);
    CHECK(out != NULL);
    free(out);
    snprintf(ca, sizeof(ca), "%s/tls/ca.pem", F.dir);
    snprintf(cert, sizeof(cert), "%s/tls/server.pem", F.dir);
    snprintf(key, sizeof(key), "%s/tls/server-key.pem", F.dir);
    ro.tls_cert = cert;
    ro.tls_key = key;
    ro.tls_ca = ca;
    CHECK_EQ(harness_registry_start_ex(&tls, NULL, NULL, &ro), 0);
    CHECK_EQ(harness_registry_seed(&tls, "{\"name\":\"secure/app\"}", &img), 0);
    snprintf(dig, sizeof(dig), "%s",
             json_string_value(json_object_get(img, "digest")));
    json_decref(img);
    /* The tests above use F.reg's host; this one talks to tls.host. */
    {
        harness_registry keep = F.reg;

        F.reg = tls;
        /* Verified by default: our CA is not the system's. */
        CHECK_EQ(one_digest(&o, "secure/app:latest", &r), STRATA_ENET);
        CHECK_CONTAINS(r.err.msg, "speaks only HTTPS");
        CHECK_CONTAINS(r.err.msg, "certificate");
        CHECK_CONTAINS(r.err.msg, "ca_file");
        /* With the CA it verifies. */
        o.ca_file = ca;
        CHECK_EQ(one_digest(&o, "secure/app:latest", &r), 0);
        CHECK_STR_EQ(r.digest, dig);
        free(r.digest);
        /* insecure skips verification. */
        o.ca_file = NULL;
        o.insecure = 1;
        CHECK_EQ(one_digest(&o, "secure/app:latest", &r), 0);
        CHECK_STR_EQ(r.digest, dig);
        free(r.digest);
        /* The wrong CA (the token server's certificate) fails again. */
        o.insecure = 0;
        o.ca_file = F.ts.cert;
        CHECK_EQ(one_digest(&o, "secure/app:latest", &r), STRATA_ENET);
        CHECK_CONTAINS(r.err.msg, "certificate");
        F.reg = keep;
    }
    harness_registry_stop(&tls);
}

/* ---- nothing secret was logged ----------------------------------------- */

TEST(no_secret_in_any_log_line)
{
    char *text = NULL;
    size_t len = 0;
    strata_error err = {0};

    fflush(stderr);
    CHECK_OK(strata_read_file(&text, &len, F.log_path, 0, &err), &err);
    /* The check means something only if the client did log. */
    CHECK_CONTAINS(text, "http");
    check_no_secret(text);
    free(text);
}

int
main(void)
{
    harness_registry_opts ro = {0};
    char args[512];
    const char *why;
    json_t *img = NULL;
    int fd;

    if ((why = harness_registry_missing(0)) != NULL ||
        (why = harness_token_missing()) != NULL)
        SKIP_ALL("%s", why);
    if (getenv("STRATA_EXE") == NULL)
        SKIP_ALL("STRATA_EXE not set (run through meson test)");
    if (system("command -v openssl >/dev/null 2>&1") != 0)
        SKIP_ALL("openssl not installed");

    snprintf(F.dir, sizeof(F.dir), "/tmp/strata-auth-XXXXXX");
    CHECK(mkdtemp(F.dir) != NULL);
    /* Our stderr (every log line, at debug level) goes to a file. */
    snprintf(F.log_path, sizeof(F.log_path), "%s/stderr.log", F.dir);
    fd = open(F.log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    dup2(fd, 2);
    close(fd);
    strata_log_setup(STRATA_LOG_DEBUG, STRATA_LOG_TEXT);
    setenv("FAKE_CRED_FILE", "", 1);
    {
        char v[400];

        snprintf(v, sizeof(v), "%s/helper.json", F.dir);
        setenv("FAKE_CRED_FILE", v, 1);
        snprintf(v, sizeof(v), "%s:%s", HELPER_DIR, getenv("PATH"));
        setenv("PATH", v, 1);
    }

    snprintf(args, sizeof(args),
             "--user bob:" BOB_PW " --user reader:" READER_PW ":pull"
             " --identity-token " ID_TOKEN ":bob --expires 300");
    CHECK_EQ(harness_token_start(&F.ts, args), 0);
    ro.token_realm = F.ts.realm;
    ro.token_cert = F.ts.cert;
    CHECK_EQ(harness_registry_start_ex(&F.reg, "bob", BOB_PW, &ro), 0);
    CHECK_EQ(harness_registry_seed(&F.reg, "{\"name\":\"library/pub\"}", &img),
             0);
    snprintf(F.pub, sizeof(F.pub), "%s",
             json_string_value(json_object_get(img, "digest")));
    json_decref(img);
    CHECK_EQ(harness_registry_seed(&F.reg,
                                   "{\"name\":\"private/app\",\"layers\":"
                                   "[\"private\\n\"]}",
                                   &img),
             0);
    snprintf(F.priv, sizeof(F.priv), "%s",
             json_string_value(json_object_get(img, "digest")));
    json_decref(img);

    RUN(anonymous_pull_of_a_public_repo);
    RUN(anonymous_pull_of_a_private_repo_is_denied);
    RUN(credentials_open_a_private_repo);
    RUN(wrong_credentials_are_an_auth_error_without_the_password);
    RUN(tokens_are_cached_per_scope_until_they_expire);
    RUN(a_401_for_a_dead_token_brings_one_refresh);
    RUN(push_asks_for_the_push_scope);
    RUN(identity_token_goes_through_the_oauth2_form);
    RUN(docker_config_auths_and_identitytoken);
    RUN(credential_helpers_per_registry_and_store);
    RUN(the_client_asks_a_credential_helper_when_it_needs_to);
    RUN(cli_digest_uses_the_credential_helper);
    RUN(watch_takes_docker_config_credentials_after_the_config);
    RUN(plain_http_only_for_loopback_or_insecure);
    RUN(tls_verified_by_default_ca_file_or_insecure);
    RUN(no_secret_in_any_log_line);

    harness_registry_stop(&F.reg);
    harness_token_stop(&F.ts);
    {
        char cmd[400];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", F.dir);
    }
    return harness_done();
}
