/*
 * run.c - runs a scanner for a rescan: expands the configured
 * command template ({image} {digest} {ref} {name}, shell-quoted), runs it
 * with /bin/sh through core's strata_proc_spawn with its stdout spooled to
 * a private temporary file (reports reach megabytes; the process output
 * keeps only a tail, and stderr must not mix into the JSON), then parses
 * that file as a report. The temporary file is removed before the
 * callback runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"
#include "scan-int.h"

typedef struct run_ctx {
    strata_scan_run_cb cb;
    void *arg;
    strata_scan_format format;
    char *scanner;
    char *path; /* the spooled stdout */
} run_ctx;

int
strata_scan_command(char **out, const char *tmpl, const char *image,
                    const char *digest, strata_error *err)
{
    strata_buf b = STRATA_BUF_INIT;
    strata_ref *ref = NULL;
    char *pinned = NULL;
    const char *p = tmpl;
    int rc;

    *out = NULL;
    if ((rc = strata_ref_parse(&ref, image, err)) != 0)
        return rc;
    pinned = strata_xasprintf("%s@%s", strata_ref_name(ref), digest);
    while (*p != '\0') {
        const char *close, *v = NULL;
        size_t len;

        if (*p != '{' || (close = strchr(p, '}')) == NULL) {
            strata_buf_putc(&b, *p++);
            continue;
        }
        len = (size_t) (close - p - 1);
        if (len == 5 && strncmp(p + 1, "image", 5) == 0)
            v = image;
        else if (len == 6 && strncmp(p + 1, "digest", 6) == 0)
            v = digest;
        else if (len == 3 && strncmp(p + 1, "ref", 3) == 0)
            v = pinned;
        else if (len == 4 && strncmp(p + 1, "name", 4) == 0)
            v = strata_ref_name(ref);
        if (v == NULL) {
            rc = strata_error_set(err, STRATA_EINVAL,
                                  "unknown variable '{%.*s}' in scanner "
                                  "command (use {image}, {digest}, {ref} or "
                                  "{name})",
                                  (int) len, p + 1);
            goto out;
        }
        strata_shell_quote(&b, v);
        p = close + 1;
    }
    *out = strata_buf_detach(&b);
out:
    strata_buf_release(&b);
    free(pinned);
    strata_ref_free(ref);
    return rc;
}

static void
ctx_free(run_ctx *c)
{
    if (c->path != NULL)
        unlink(c->path);
    free(c->path);
    free(c->scanner);
    free(c);
}

/* The last non-empty line of the scanner's stderr, for messages. */
static char *
last_line(const char *s, size_t len)
{
    size_t end = len, start;

    while (end > 0 &&
           (s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == ' '))
        end--;
    start = end;
    while (start > 0 && s[start - 1] != '\n')
        start--;
    return strata_xstrndup(s + start, end - start);
}

static void
on_exit_done(const strata_proc_result *res, void *arg)
{
    run_ctx *c = arg;
    strata_scan_report *report = NULL;
    strata_error err = {0};
    char *data = NULL, *name = NULL, *log, *tail;
    size_t len = 0;
    int rc;

    log = strata_xstrndup(res->output ? res->output : "", res->output_len);
    if (res->timed_out) {
        rc = strata_error_set(&err, STRATA_ETIMEOUT, "scanner '%s' timed out",
                              c->scanner);
        goto out;
    }
    if (res->term_signal != 0) {
        rc = strata_error_set(&err, STRATA_EIO,
                              "scanner '%s' killed by signal %d", c->scanner,
                              res->term_signal);
        goto out;
    }
    name = strata_xasprintf("%s output", c->scanner);
    rc = strata_read_file(&data, &len, c->path, 64u * 1024 * 1024 + 1, &err);
    if (rc == 0)
        rc =
            strata_scan_report_parse(&report, data, len, c->format, name, &err);
    if (rc != 0 && res->exit_status != 0) {
        /* No report: the exit status says more than the parse error. */
        tail = last_line(log, strlen(log));
        rc = strata_error_set(
            &err, STRATA_EIO, "scanner '%s' exited with status %lld%s%s",
            c->scanner, (long long) res->exit_status, *tail ? ": " : "", tail);
        free(tail);
    }
out:
    free(data);
    free(name);
    if (c->path != NULL)
        unlink(c->path);
    c->cb(rc == 0 ? report : NULL, rc == 0 ? NULL : &err, log, res->exit_status,
          c->arg);
    free(log);
    ctx_free(c);
}

int
strata_scan_run(uv_loop_t *loop, const strata_scan_run_opts *opts,
                strata_scan_run_cb cb, void *arg, strata_error *err)
{
    const char *dir = opts->tmp_dir;
    strata_buf script = STRATA_BUF_INIT;
    char *cmd = NULL;
    const char *argv[4];
    run_ctx *c;
    int fd, rc;

    if (opts->command == NULL || *opts->command == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "scanner '%s' has no command",
                                opts->scanner ? opts->scanner : "-");
    if ((rc = strata_scan_command(&cmd, opts->command, opts->image,
                                  opts->digest, err)) != 0)
        return rc;
    if (dir == NULL)
        dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    c = strata_xcalloc(1, sizeof(*c));
    c->cb = cb;
    c->arg = arg;
    c->format = opts->format;
    c->scanner = strata_xstrdup(opts->scanner ? opts->scanner : "scanner");
    c->path = strata_xasprintf("%s/strata-scan-XXXXXX", dir);
    if ((fd = mkstemp(c->path)) < 0) {
        rc = strata_error_set(err, STRATA_EIO,
                              "cannot create a temporary file in '%s': %s", dir,
                              strerror(errno));
        free(c->path);
        c->path = NULL;
        goto out;
    }
    close(fd);
    /*
     * stdout goes to the file. The command runs in the background while
     * the shell waits for it, so a timeout's SIGTERM (sent to the shell)
     * is passed on to the scanner, which would otherwise keep running
     * and hold the output pipe open. The newline ends a trailing comment.
     */
    strata_buf_puts(&script, "exec >");
    strata_shell_quote(&script, c->path);
    strata_buf_printf(&script,
                      "\ntrap 'kill $pid 2>/dev/null; wait $pid; exit 143' "
                      "TERM\n{ %s\n} &\npid=$!\nwait $pid\n",
                      cmd);
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = strata_buf_cstr(&script);
    argv[3] = NULL;
    {
        strata_proc_opts po = {.argv = argv,
                               .timeout_ms = opts->timeout_ms,
                               .max_output = 64 * 1024};

        rc = strata_proc_spawn(loop, &po, on_exit_done, c, err);
    }
out:
    if (rc != 0)
        ctx_free(c);
    free(cmd);
    strata_buf_release(&script);
    return rc;
}

typedef struct sync_ctx {
    strata_scan_report *report;
    char *log;
    strata_error err;
    int done;
} sync_ctx;

static void
on_sync_done(strata_scan_report *report, const strata_error *err,
             const char *log, int64_t exit_status, void *arg)
{
    sync_ctx *s = arg;

    (void) exit_status;
    s->report = report;
    s->log = strata_xstrdup(log != NULL ? log : "");
    if (err != NULL)
        s->err = *err;
    s->done = 1;
}

static void
close_any(uv_handle_t *h, void *arg)
{
    (void) arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int
strata_scan_run_sync(strata_scan_report **out, char **log_out,
                     const strata_scan_run_opts *opts, strata_error *err)
{
    sync_ctx s = {0};
    uv_loop_t loop;
    int rc;

    *out = NULL;
    if (log_out != NULL)
        *log_out = NULL;
    if ((rc = uv_loop_init(&loop)) != 0)
        return strata_error_set(
            err, STRATA_EIO, "cannot start a loop for scanner '%s': %s",
            opts->scanner ? opts->scanner : "-", uv_strerror(rc));
    rc = strata_scan_run(&loop, opts, on_sync_done, &s, err);
    if (rc == 0)
        uv_run(&loop, UV_RUN_DEFAULT);
    uv_walk(&loop, close_any, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (rc != 0)
        return rc;
    if (!s.done || s.report == NULL) {
        rc = s.done
                 ? strata_error_set(err, s.err.code ? s.err.code : STRATA_EIO,
                                    "%s", s.err.msg)
                 : strata_error_set(err, STRATA_EINTERNAL,
                                    "scanner '%s' never finished",
                                    opts->scanner ? opts->scanner : "-");
        free(s.log);
        return rc;
    }
    *out = s.report;
    if (log_out != NULL)
        *log_out = s.log;
    else
        free(s.log);
    return 0;
}
