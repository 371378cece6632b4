/*
 * harness-registry.c - starts, seeds and stops a real docker-registry for
 * integration tests. registry.py writes the config and picks the port;
 * this file forks the registry itself, so the registry is our child: it
 * gets PR_SET_PDEATHSIG (dies with us, even on abort) and its own process
 * group, and an atexit handler kills whatever is still running when the
 * test exits early through a failed CHECK.
 */
#include "harness-registry.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REGISTRY_BIN "/usr/bin/docker-registry"
#define PYTHON "/usr/bin/python3"
#define MAX_REGISTRIES 8

/*
 * The registries still running, for the atexit handler. atexit() takes no
 * argument, so this one table has to be global; it is test-only code.
 */
static harness_registry *running[MAX_REGISTRIES];
static int atexit_armed;

static void
kill_all(void)
{
    int i;

    for (i = 0; i < MAX_REGISTRIES; i++)
        if (running[i] != NULL)
            harness_registry_stop(running[i]);
}

static void
track(harness_registry *reg, int on)
{
    int i;

    if (!atexit_armed) {
        atexit(kill_all);
        atexit_armed = 1;
    }
    for (i = 0; i < MAX_REGISTRIES; i++) {
        if (on && running[i] == NULL) {
            running[i] = reg;
            return;
        }
        if (!on && running[i] == reg)
            running[i] = NULL;
    }
}

const char *
harness_registry_missing(int need_htpasswd)
{
    if (access(REGISTRY_BIN, X_OK) != 0)
        return REGISTRY_BIN " not installed";
    if (access(PYTHON, X_OK) != 0)
        return PYTHON " not installed";
    if (need_htpasswd && system("command -v htpasswd >/dev/null 2>&1") != 0)
        return "htpasswd (apache2-utils) not installed";
    return NULL;
}

char *
harness_capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    int status;

    if (p == NULL)
        return NULL;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
        n = fread(buf + len, 1, cap - len - 1, p);
        if (n == 0)
            break;
        len += n;
    }
    buf[len] = '\0';
    status = pclose(p);
    if (status != 0) {
        printf("# '%s' failed (status %d)\n", cmd, status);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Credentials as registry.py options, or "" for anonymous. */
static void
cred_args(char *out, size_t len, const harness_registry *reg)
{
    if (reg->user[0] == '\0')
        out[0] = '\0';
    else
        snprintf(out, len, " --user '%s' --password '%s'", reg->user,
                 reg->password);
}

static pid_t
spawn_registry(const harness_registry *reg)
{
    char config[300], logpath[300];
    pid_t parent = getpid(), pid;

    snprintf(config, sizeof(config), "%s/config.yml", reg->dir);
    snprintf(logpath, sizeof(logpath), "%s/registry.log", reg->dir);
    fflush(stdout);
    pid = fork();
    if (pid != 0)
        return pid;
    /* The child: its own group, and killed when the test dies. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
    }
    execl(REGISTRY_BIN, REGISTRY_BIN, "serve", config, (char *) NULL);
    _exit(127);
}

static int
start_once(harness_registry *reg)
{
    char cmd[2048], creds[200];
    char *out;
    int status;

    cred_args(creds, sizeof(creds), reg);
    snprintf(cmd, sizeof(cmd), PYTHON " '%s' config --dir '%s'%s%s",
             HARNESS_REGISTRY_PY, reg->dir, creds, reg->opts);
    out = harness_capture(cmd);
    if (out == NULL)
        return -1;
    reg->port = atoi(out);
    free(out);
    snprintf(reg->host, sizeof(reg->host), "127.0.0.1:%d", reg->port);

    reg->pid = spawn_registry(reg);
    if (reg->pid < 0) {
        printf("# fork: %s\n", strerror(errno));
        return -1;
    }
    track(reg, 1);
    snprintf(cmd, sizeof(cmd), PYTHON " '%s' wait --port %d%s",
             HARNESS_REGISTRY_PY, reg->port, reg->ca[0] ? " --tls" : "");
    if (system(cmd) == 0 && waitpid(reg->pid, &status, WNOHANG) == 0)
        return 0;
    printf("# registry on port %d did not come up; see %s/registry.log\n",
           reg->port, reg->dir);
    kill(-reg->pid, SIGKILL);
    kill(reg->pid, SIGKILL);
    waitpid(reg->pid, &status, 0);
    reg->pid = 0;
    track(reg, 0);
    return -1;
}

int
harness_registry_start(harness_registry *reg, const char *user,
                       const char *password)
{
    return harness_registry_start_ex(reg, user, password, NULL);
}

int
harness_registry_start_ex(harness_registry *reg, const char *user,
                          const char *password,
                          const harness_registry_opts *opts)
{
    int attempt;

    memset(reg, 0, sizeof(*reg));
    if (opts != NULL && opts->token_realm != NULL)
        snprintf(reg->opts, sizeof(reg->opts),
                 " --token-realm '%s' --token-cert '%s'", opts->token_realm,
                 opts->token_cert);
    if (opts != NULL && opts->tls_cert != NULL) {
        size_t n = strlen(reg->opts);

        snprintf(reg->opts + n, sizeof(reg->opts) - n,
                 " --tls-cert '%s' --tls-key '%s'", opts->tls_cert,
                 opts->tls_key);
        snprintf(reg->ca, sizeof(reg->ca), "%s",
                 opts->tls_ca != NULL ? opts->tls_ca : "");
    }
    snprintf(reg->dir, sizeof(reg->dir), "/tmp/strata-registry-XXXXXX");
    if (mkdtemp(reg->dir) == NULL) {
        printf("# mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    if (user != NULL) {
        snprintf(reg->user, sizeof(reg->user), "%s", user);
        snprintf(reg->password, sizeof(reg->password), "%s", password);
    }
    /* The port is picked then released: another process may take it. */
    for (attempt = 0; attempt < 3; attempt++)
        if (start_once(reg) == 0)
            return 0;
    return -1;
}

int
harness_registry_seed(const harness_registry *reg, const char *spec,
                      json_t **out)
{
    char path[300], cmd[1024], creds[512];
    json_error_t jerr;
    json_t *j;
    char *text;
    FILE *f;

    if (out != NULL)
        *out = NULL;
    snprintf(path, sizeof(path), "%s/spec.json", reg->dir);
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(spec, f);
    fclose(f);
    cred_args(creds, sizeof(creds), reg);
    if (reg->ca[0] != '\0') {
        size_t n = strlen(creds);

        snprintf(creds + n, sizeof(creds) - n, " --ca '%s'", reg->ca);
    }
    snprintf(cmd, sizeof(cmd), PYTHON " '%s' seed --port %d%s '%s'",
             HARNESS_REGISTRY_PY, reg->port, creds, path);
    text = harness_capture(cmd);
    if (text == NULL)
        return -1;
    j = json_loads(text, 0, &jerr);
    free(text);
    if (j == NULL) {
        printf("# registry.py seed printed bad JSON: %s\n", jerr.text);
        return -1;
    }
    if (out != NULL)
        *out = j;
    else
        json_decref(j);
    return 0;
}

void
harness_registry_stop(harness_registry *reg)
{
    char cmd[300];
    int status;

    if (reg->pid > 0) {
        kill(-reg->pid, SIGKILL);
        kill(reg->pid, SIGKILL);
        waitpid(reg->pid, &status, 0);
        reg->pid = 0;
    }
    track(reg, 0);
    if (reg->dir[0] != '\0' &&
        strncmp(reg->dir, "/tmp/strata-registry-", 21) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", reg->dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", reg->dir);
        reg->dir[0] = '\0';
    }
}
