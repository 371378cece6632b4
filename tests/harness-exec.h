/*
 * harness-exec.h - running programs from a test: a shell command that
 * must succeed, and a program (the strata binary, or this test itself in
 * a child role) run with a deadline, its stdout and stderr captured, its
 * wall time and peak resident memory (wait4's ru_maxrss) measured. A
 * child still running at the deadline is killed and the check fails.
 */
#ifndef STRATA_TESTS_HARNESS_EXEC_H
#define STRATA_TESTS_HARNESS_EXEC_H

#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "harness.h"

extern char **environ;

/* Runs a shell command; it must succeed. */
static inline void harness_sh(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static inline void
harness_sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int rc;

    va_start(ap, fmt);
    cmd = strata_xvasprintf(fmt, ap);
    va_end(ap);
    rc = system(cmd);
    if (rc != 0)
        printf("# failed (%d): %s\n", rc, cmd);
    CHECK_EQ(rc, 0);
    free(cmd);
}

/* What a child did. */
typedef struct harness_run {
    int status;      /* exit status, or 128 + signal */
    double seconds;  /* wall time */
    long maxrss_kb;  /* peak resident memory */
    char *out, *err; /* stdout and stderr; owned */
} harness_run;

static inline void
harness_run_release(harness_run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

static inline double
harness_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*
 * Runs argv (argv[0] a path) with stdout and stderr into files under dir,
 * and waits at most deadline_s seconds: past it, the child is killed and
 * the test fails. If on_started is not NULL it runs once the child is
 * started, with its pid (to signal it).
 */
static inline void
harness_exec(harness_run *r, const char *dir, char *const *argv,
             double deadline_s, void (*on_started)(pid_t pid, void *arg),
             void *arg)
{
    char *outp = strata_xasprintf("%s/exec.out", dir);
    char *errp = strata_xasprintf("%s/exec.err", dir);
    posix_spawn_file_actions_t fa;
    struct rusage ru;
    strata_error err = {0};
    double start = harness_now();
    pid_t pid, w;
    int st = 0;

    memset(r, 0, sizeof(*r));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    CHECK_EQ(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    if (on_started != NULL)
        on_started(pid, arg);
    for (;;) {
        w = wait4(pid, &st, WNOHANG, &ru);
        CHECK(w >= 0);
        if (w == pid)
            break;
        if (harness_now() - start > deadline_s) {
            kill(pid, SIGKILL);
            wait4(pid, &st, 0, &ru);
            printf("# '%s' still running after %.0f s: killed\n", argv[0],
                   deadline_s);
            CHECK(!"the child finished within its deadline");
        }
        usleep(20000);
    }
    r->seconds = harness_now() - start;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->maxrss_kb = ru.ru_maxrss;
    CHECK_OK(strata_read_file(&r->out, NULL, outp, 0, &err), &err);
    CHECK_OK(strata_read_file(&r->err, NULL, errp, 0, &err), &err);
    free(outp);
    free(errp);
}

#endif
