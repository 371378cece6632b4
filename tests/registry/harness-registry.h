/*
 * harness-registry.h - a real registry for C integration tests: Debian's
 * docker-registry (distribution 2.8) on 127.0.0.1 with an ephemeral port
 * and filesystem storage in a temporary directory, anonymous or behind
 * htpasswd Basic auth, seeded through tests/registry/registry.py.
 *
 *   harness_registry reg;
 *   const char *why = harness_registry_missing(1);
 *   if (why != NULL) SKIP_ALL("%s", why);
 *   CHECK_EQ(harness_registry_start(&reg, "bob", "secret"), 0);
 *   CHECK_EQ(harness_registry_seed(&reg, "{\"name\":\"app\"}", &img), 0);
 *   ... talk to reg.host ("127.0.0.1:PORT") ...
 *   harness_registry_stop(&reg);
 *
 * The registry always stops: it is the test's child with
 * PR_SET_PDEATHSIG, lives in its own process group, and an atexit handler
 * kills every registry still running (so a failed CHECK, which exits,
 * cleans up too).
 */
#ifndef STRATA_TESTS_HARNESS_REGISTRY_H
#define STRATA_TESTS_HARNESS_REGISTRY_H

#include <sys/types.h>

#include <jansson.h>

typedef struct harness_registry {
    pid_t pid;         /* the registry process (and its group) */
    int port;          /* on 127.0.0.1 */
    char host[64];     /* "127.0.0.1:PORT" */
    char dir[256];     /* temp dir: config.yml, data/, registry.log */
    char user[64];     /* "" when anonymous */
    char password[64]; /* "" when anonymous */
    char opts[1024];   /* extra registry.py config options, or "" */
    char ca[256];      /* the CA of a TLS registry (seeding), or "" */
} harness_registry;

/*
 * What harness_registry_start_ex adds: Bearer token auth (the registry's
 * auth.token pointing at a token server, see harness-token.h) instead of
 * htpasswd, and TLS with a certificate signed by ca. NULL members are off.
 */
typedef struct harness_registry_opts {
    const char *token_realm; /* "http://127.0.0.1:P/token" */
    const char *token_cert;  /* the token server's signing certificate */
    const char *tls_cert;    /* server certificate and key (PEM) */
    const char *tls_key;
    const char *tls_ca; /* the CA that signed tls_cert, for seeding */
} harness_registry_opts;

/*
 * NULL when everything the harness needs is installed, otherwise a
 * reason for "1..0 # SKIP". need_htpasswd: Basic auth will be used.
 */
const char *harness_registry_missing(int need_htpasswd);

/*
 * Starts a registry; user/password NULL for anonymous access. Waits until
 * /v2/ answers. Returns 0, or -1 after printing a TAP diagnostic.
 */
int harness_registry_start(harness_registry *reg, const char *user,
                           const char *password);

/*
 * harness_registry_start with opts (may be NULL). With a token realm,
 * user/password are what seeding sends to the token server.
 */
int harness_registry_start_ex(harness_registry *reg, const char *user,
                              const char *password,
                              const harness_registry_opts *opts);

/*
 * Pushes the image that spec (JSON, see registry.py) describes. *out
 * (new reference, may be NULL) is what registry.py printed: "digest" of
 * the tag, "index", "manifests" [{platform, digest, config, layers,
 * diff_ids}]. Returns 0 or -1.
 */
int harness_registry_seed(const harness_registry *reg, const char *spec,
                          json_t **out);

/* Stops the registry and removes its directory. Safe to call twice. */
void harness_registry_stop(harness_registry *reg);

/*
 * Runs a shell command and returns its stdout (caller frees) or NULL if it
 * exited non-zero. For cross-checks with skopeo.
 */
char *harness_capture(const char *cmd);

#endif
