/*
 * harness-token.c - starts, inspects and stops tokenserver.py for
 * integration tests. The server prints its port on stdout once its key
 * and certificate are written; we read that line through a pipe and leave
 * the process running as our child, in its own process group, killed
 * with us (PR_SET_PDEATHSIG) or by an atexit handler.
 */
#include "harness-token.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"
#define MAX_SERVERS 4

/* atexit() takes no argument: test-only global table, as in harness-registry.c.
 */
static harness_token *running[MAX_SERVERS];
static int atexit_armed;

static void
kill_all(void)
{
    int i;

    for (i = 0; i < MAX_SERVERS; i++)
        if (running[i] != NULL)
            harness_token_stop(running[i]);
}

static void
track(harness_token *ts, int on)
{
    int i;

    if (!atexit_armed) {
        atexit(kill_all);
        atexit_armed = 1;
    }
    for (i = 0; i < MAX_SERVERS; i++) {
        if (on && running[i] == NULL) {
            running[i] = ts;
            return;
        }
        if (!on && running[i] == ts)
            running[i] = NULL;
    }
}

const char *
harness_token_missing(void)
{
    if (access(PYTHON, X_OK) != 0)
        return PYTHON " not installed";
    if (system(PYTHON " -c 'import jwt, cryptography' >/dev/null 2>&1") != 0)
        return "python3-jwt or python3-cryptography not installed";
    return NULL;
}

int
harness_token_start(harness_token *ts, const char *args)
{
    char cmd[2048], line[32];
    struct pollfd pfd;
    size_t n = 0;
    pid_t parent = getpid();
    int fds[2], status;
    ssize_t got;

    memset(ts, 0, sizeof(*ts));
    snprintf(ts->dir, sizeof(ts->dir), "/tmp/strata-token-XXXXXX");
    if (mkdtemp(ts->dir) == NULL || pipe(fds) != 0) {
        printf("# token server: %s\n", strerror(errno));
        return -1;
    }
    snprintf(cmd, sizeof(cmd),
             "exec " PYTHON " '%s' serve --dir '%s' %s 2>'%s/stderr.log'",
             HARNESS_TOKENSERVER_PY, ts->dir, args ? args : "", ts->dir);
    fflush(stdout);
    ts->pid = fork();
    if (ts->pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
        _exit(127);
    }
    close(fds[1]);
    if (ts->pid < 0) {
        close(fds[0]);
        printf("# fork: %s\n", strerror(errno));
        return -1;
    }
    track(ts, 1);
    /* Read "PORT\n", at most 20 s (key generation, a slow machine). */
    pfd.fd = fds[0];
    pfd.events = POLLIN;
    while (n < sizeof(line) - 1 && memchr(line, '\n', n) == NULL) {
        if (poll(&pfd, 1, 20000) <= 0)
            break;
        got = read(fds[0], line + n, sizeof(line) - 1 - n);
        if (got <= 0)
            break;
        n += (size_t) got;
    }
    close(fds[0]);
    line[n] = '\0';
    ts->port = atoi(line);
    if (ts->port <= 0) {
        printf("# token server did not start; see %s/stderr.log\n", ts->dir);
        kill(-ts->pid, SIGKILL);
        waitpid(ts->pid, &status, 0);
        ts->pid = 0;
        track(ts, 0);
        return -1;
    }
    snprintf(ts->realm, sizeof(ts->realm), "http://127.0.0.1:%d/token",
             ts->port);
    snprintf(ts->cert, sizeof(ts->cert), "%s/cert.pem", ts->dir);
    return 0;
}

int
harness_token_count(const harness_token *ts, ...)
{
    char path[300], line[4096];
    const char *needle;
    va_list ap;
    FILE *f;
    int count = 0, all;

    snprintf(path, sizeof(path), "%s/requests.log", ts->dir);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        all = 1;
        va_start(ap, ts);
        while ((needle = va_arg(ap, const char *)) != NULL)
            if (strstr(line, needle) == NULL)
                all = 0;
        va_end(ap);
        count += all;
    }
    fclose(f);
    return count;
}

int
harness_token_control(const harness_token *ts, const char *json)
{
    char path[300], tmp[310];
    FILE *f;

    snprintf(path, sizeof(path), "%s/control.json", ts->dir);
    if (json[0] == '\0')
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fputs(json, f);
    fclose(f);
    return rename(tmp, path);
}

void
harness_token_stop(harness_token *ts)
{
    char cmd[300];
    int status;

    if (ts->pid > 0) {
        kill(-ts->pid, SIGKILL);
        kill(ts->pid, SIGKILL);
        waitpid(ts->pid, &status, 0);
        ts->pid = 0;
    }
    track(ts, 0);
    if (ts->dir[0] != '\0' && strncmp(ts->dir, "/tmp/strata-token-", 18) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ts->dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", ts->dir);
        ts->dir[0] = '\0';
    }
}
