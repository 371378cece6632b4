/*
 * harness-token.h - tests/registry/tokenserver.py for C integration tests:
 * a Docker registry token server (ES256 JWTs with x5c) on 127.0.0.1 with
 * an ephemeral port, whose certificate becomes the registry's
 * rootcertbundle (harness_registry_opts.token_realm/token_cert).
 *
 *   harness_token ts;
 *   CHECK_EQ(harness_token_start(&ts, "--user bob:secret"), 0);
 *   opts.token_realm = ts.realm; opts.token_cert = ts.cert;
 *   ... harness_token_count(&ts, "\"grant\": \"anonymous\"") ...
 *   harness_token_stop(&ts);
 *
 * The server is the test's child (PR_SET_PDEATHSIG, own process group) and
 * an atexit handler stops it when a CHECK fails.
 */
#ifndef STRATA_TESTS_HARNESS_TOKEN_H
#define STRATA_TESTS_HARNESS_TOKEN_H

#include <sys/types.h>

typedef struct harness_token {
    pid_t pid;
    int port;
    char dir[256];  /* temp dir: key.pem, cert.pem, requests.log */
    char realm[96]; /* "http://127.0.0.1:PORT/token" */
    char cert[300]; /* DIR/cert.pem */
} harness_token;

/* NULL when python3-jwt and python3-cryptography work, else why not. */
const char *harness_token_missing(void);

/*
 * Starts tokenserver.py serve with args (extra options, see the script:
 * --user, --identity-token, --public, --expires). Returns 0, or -1 after
 * printing a TAP diagnostic.
 */
int harness_token_start(harness_token *ts, const char *args);

/*
 * Lines of DIR/requests.log (one per token request) that contain every
 * one of the NULL-terminated needles.
 */
int harness_token_count(const harness_token *ts, ...);

/* Writes DIR/control.json (see tokenserver.py); "" removes it. */
int harness_token_control(const harness_token *ts, const char *json);

/* Stops the server and removes its directory. Safe to call twice. */
void harness_token_stop(harness_token *ts);

#endif
