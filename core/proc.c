/*
 * proc.c - child processes on the loop: uv_spawn with stdin fed from a
 * buffer, stdout and stderr captured together (the tail is kept when the
 * output passes the limit), an optional deadline after which the child
 * gets SIGTERM then SIGKILL. The callback runs once, after the process
 * has exited and both pipes are closed.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

struct strata_proc {
    uv_process_t process;
    uv_pipe_t out;
    uv_pipe_t in;
    uv_timer_t timer;
    uv_write_t write_req;
    strata_buf output;
    size_t max_output;
    size_t dropped;
    int64_t exit_status;
    int term_signal;
    int timed_out;
    int pending; /* handles still to close before the callback */
    char *input;
    char slab[16384]; /* read buffer: filled and consumed per callback */
    strata_proc_cb cb;
    void *arg;
};

static void
finish(strata_proc *p)
{
    strata_proc_result res;

    if (--p->pending > 0)
        return;
    if (p->cb == NULL) { /* uv_spawn failed: nobody to tell */
        strata_buf_release(&p->output);
        free(p);
        return;
    }
    memset(&res, 0, sizeof(res));
    res.exit_status = p->exit_status;
    res.term_signal = p->term_signal;
    res.timed_out = p->timed_out;
    res.output = strata_buf_cstr(&p->output);
    res.output_len = p->output.len;
    res.truncated = p->dropped > 0;
    p->cb(&res, p->arg);
    strata_buf_release(&p->output);
    free(p->input);
    free(p);
}

static void
on_close(uv_handle_t *h)
{
    finish(h->data);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    strata_proc *p = h->data;

    (void) suggested;
    buf->base = p->slab;
    buf->len = sizeof(p->slab);
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    strata_proc *p = s->data;

    if (n > 0) {
        strata_buf_add(&p->output, buf->base, (size_t) n);
        /* Keep the tail: the end of a build log says why it failed. */
        if (p->output.len > p->max_output) {
            size_t cut = p->output.len - p->max_output;
            memmove(p->output.ptr, p->output.ptr + cut, p->max_output);
            p->output.len = p->max_output;
            p->output.ptr[p->output.len] = '\0';
            p->dropped += cut;
        }
        return;
    }
    if (n < 0)
        uv_close((uv_handle_t *) s, on_close);
}

static void
on_exit_cb(uv_process_t *proc, int64_t status, int sig)
{
    strata_proc *p = proc->data;

    p->exit_status = status;
    p->term_signal = sig;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *) &p->timer, on_close);
    uv_close((uv_handle_t *) proc, on_close);
}

static void
on_timeout(uv_timer_t *t)
{
    strata_proc *p = t->data;

    /*
     * SIGTERM first, SIGKILL if it is still there a few seconds later, to
     * the child's whole process group: a shell's own children go too.
     */
    if (kill(-p->process.pid, p->timed_out ? SIGKILL : SIGTERM) != 0)
        uv_process_kill(&p->process, p->timed_out ? SIGKILL : SIGTERM);
    p->timed_out = 1;
    uv_timer_start(t, on_timeout, 5000, 0);
}

static void
on_written(uv_write_t *req, int status)
{
    strata_proc *p = req->data;

    (void) status; /* a child that does not read its input is fine */
    uv_close((uv_handle_t *) &p->in, on_close);
}

int
strata_proc_spawn(uv_loop_t *loop, const strata_proc_opts *opts,
                  strata_proc_cb cb, void *arg, strata_error *err)
{
    strata_proc *p = strata_xcalloc(1, sizeof(*p));
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    uv_file fds[2];
    uv_buf_t wbuf;
    int rc;

    p->cb = cb;
    p->arg = arg;
    p->max_output = opts->max_output ? opts->max_output : 256 * 1024;
    /* One pipe for stdout and stderr so their lines interleave in order. */
    if ((rc = uv_pipe(fds, UV_NONBLOCK_PIPE, 0)) != 0) {
        free(p);
        return strata_error_set(err, STRATA_EIO, "cannot run '%s': %s",
                                opts->argv[0], uv_strerror(rc));
    }
    uv_pipe_init(loop, &p->out, 0);
    uv_pipe_open(&p->out, fds[0]);
    uv_pipe_init(loop, &p->in, 0);
    uv_timer_init(loop, &p->timer);
    p->out.data = p->in.data = p->timer.data = p->process.data = p;
    p->write_req.data = p;

    memset(&o, 0, sizeof(o));
    o.file = opts->argv[0];
    o.args = (char **) opts->argv;
    o.env = (char **) opts->env;
    o.cwd = opts->cwd;
    o.exit_cb = on_exit_cb;
    /* Its own process group, so a deadline can stop everything it ran. */
    o.flags = UV_PROCESS_WINDOWS_HIDE | UV_PROCESS_DETACHED;
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *) &p->in;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = fds[1];
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = fds[1];
    o.stdio = stdio;
    o.stdio_count = 3;

    rc = uv_spawn(loop, &p->process, &o);
    close(fds[1]); /* the child has its copy; EOF comes when it exits */
    if (rc != 0) {
        /* The callback never runs; p is freed once the handles close. */
        p->cb = NULL;
        p->pending = 4;
        uv_close((uv_handle_t *) &p->process, on_close);
        uv_close((uv_handle_t *) &p->out, on_close);
        uv_close((uv_handle_t *) &p->in, on_close);
        uv_close((uv_handle_t *) &p->timer, on_close);
        return strata_error_set(err, STRATA_EIO, "cannot run '%s': %s",
                                opts->argv[0], uv_strerror(rc));
    }
    p->pending = 4; /* process, timer, out, in */
    uv_read_start((uv_stream_t *) &p->out, on_alloc, on_read);
    if (opts->input != NULL && opts->input_len > 0) {
        p->input = strata_xstrndup(opts->input, opts->input_len);
        wbuf = uv_buf_init(p->input, (unsigned) opts->input_len);
        if (uv_write(&p->write_req, (uv_stream_t *) &p->in, &wbuf, 1,
                     on_written) != 0)
            uv_close((uv_handle_t *) &p->in, on_close);
    } else {
        uv_close((uv_handle_t *) &p->in, on_close);
    }
    if (opts->timeout_ms > 0)
        uv_timer_start(&p->timer, on_timeout, opts->timeout_ms, 0);
    return 0;
}
