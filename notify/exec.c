/*
 * exec.c - the exec backend: runs the sink's command with /bin/sh -c
 * (through core's strata_proc, uv_spawn on the loop) and writes the event
 * JSON (a digest: {"type": "digest", ...} as the webhook sends) to its
 * stdin. The environment adds STRATA_DELIVERY (the idempotency key) and
 * STRATA_EVENT (the event type, or "digest"). Exit status 0 is delivered;
 * anything else, a signal or the timeout is retried, with the last line
 * of the command's output in the error.
 */
#include <stdlib.h>
#include <string.h>

#include "notify-int.h"

extern char **environ;

/* The last non-empty line of out, printable, at most 200 bytes. */
static void
last_line(char *dst, size_t dstlen, const char *out, size_t len)
{
    size_t end = len, start, i, j = 0;

    while (end > 0 && (out[end - 1] == '\n' || out[end - 1] == '\r'))
        end--;
    start = end;
    while (start > 0 && out[start - 1] != '\n')
        start--;
    if (end - start > 200)
        start = end - 200;
    for (i = start; i < end && j + 1 < dstlen; i++)
        dst[j++] = (unsigned char) out[i] < 0x20 ? ' ' : out[i];
    dst[j] = '\0';
}

static void
on_exit_done(const strata_proc_result *res, void *arg)
{
    strata_notify__attempt *a = arg;
    strata_notify__result r = {0};
    char line[256];

    last_line(line, sizeof(line), res->output != NULL ? res->output : "",
              res->output_len);
    if (res->timed_out)
        strata_notify__fail(&r, STRATA_ETIMEOUT, 0,
                            "sink '%s': the command timed out",
                            a->sink->cfg->name);
    else if (res->term_signal != 0)
        strata_notify__fail(&r, STRATA_EIO, 0,
                            "sink '%s': the command was killed by signal %d",
                            a->sink->cfg->name, res->term_signal);
    else if (res->exit_status != 0)
        strata_notify__fail(&r, STRATA_EIO, 0,
                            "sink '%s': the command exited with status "
                            "%lld%s%s",
                            a->sink->cfg->name, (long long) res->exit_status,
                            line[0] != '\0' ? ": " : "", line);
    else
        r.ok = 1;
    r.status = res->exit_status;
    strata_notify__attempt_done(a, &r);
}

static int
exec_send(strata_notify__attempt *a, strata_error *err)
{
    const strata_config_notify *cfg = a->sink->cfg;
    const char *argv[] = {"/bin/sh", "-c", cfg->command, NULL};
    const char *type = json_array_size(a->events) == 1
                           ? json_string_value(json_object_get(
                                 json_array_get(a->events, 0), "type"))
                           : "digest";
    strata_proc_opts opts = {0};
    const char **env;
    json_t *body;
    char *input, *delivery_var, *event_var;
    size_t n = 0, i;
    int rc;

    /* The same body the webhook backend posts. */
    body = strata_notify__webhook.render(a);
    input = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    while (environ[n] != NULL)
        n++;
    env = strata_xcalloc(n + 3, sizeof(*env));
    delivery_var = strata_xasprintf("STRATA_DELIVERY=%s", a->delivery);
    event_var = strata_xasprintf("STRATA_EVENT=%s", type);
    for (i = 0; i < n; i++)
        env[i] = environ[i];
    env[n] = delivery_var;
    env[n + 1] = event_var;
    opts.argv = argv;
    opts.env = env;
    opts.input = input;
    opts.input_len = strlen(input);
    opts.max_output = 4096;
    opts.timeout_ms = a->n->opts.timeout_ms;
    rc = strata_proc_spawn(a->n->loop, &opts, on_exit_done, a, err);
    if (rc != 0)
        strata_error_wrap(err, "sink '%s'", cfg->name);
    free(input);
    free(delivery_var);
    free(event_var);
    free(env);
    return rc;
}

const strata_notify__backend strata_notify__exec = {
    .type = "exec",
    .send = exec_send,
};
