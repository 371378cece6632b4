/*
 * harness-server.h - the local servers the tests start (the python
 * scripts in tests/servers, httpd.py, git-http.py): each prints its port
 * on its first line of standard output. Starting one, and the admin side
 * the API-shaped servers share (POST/GET /_admin/WHAT: scenarios,
 * recorded requests).
 */
#ifndef STRATA_TESTS_HARNESS_SERVER_H
#define STRATA_TESTS_HARNESS_SERVER_H

#include <spawn.h>
#include <unistd.h>

#include <jansson.h>

#include "core.h"
#include "harness.h"

extern char **environ;

/* Starts argv, sets *pid, and returns the port its first line names. */
static inline int
harness_server_start(pid_t *pid, char *const *argv)
{
    posix_spawn_file_actions_t fa;
    char line[64];
    FILE *f;
    int p[2], port;

    CHECK_EQ(pipe(p), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    CHECK_EQ(posix_spawn(pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    f = fdopen(p[0], "r");
    CHECK(f != NULL);
    CHECK(fgets(line, sizeof(line), f) != NULL);
    fclose(f);
    port = atoi(line);
    CHECK(port > 0);
    return port;
}

/* POSTs body (or GETs when NULL) to /_admin/WHAT; the reply, new. */
static inline json_t *
harness_server_admin(int port, const char *what, const char *body)
{
    char *url = strata_xasprintf("http://127.0.0.1:%d/_admin/%s", port, what);
    strata_http_header h[] = {{"Content-Type", "application/json"}};
    strata_http_request req = {0};
    strata_http_response *resp = NULL;
    strata_error err = {0};
    json_t *j;

    req.method = body ? "POST" : "GET";
    req.url = url;
    req.headers = h;
    req.nheaders = 1;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    CHECK_OK(strata_http_fetch(&resp, &req, &err), &err);
    CHECK_EQ(resp->status, 200);
    j = json_loadb(resp->body.ptr, resp->body.len, 0, NULL);
    CHECK(j != NULL);
    strata_http_response_free(resp);
    free(url);
    return j;
}

#endif
