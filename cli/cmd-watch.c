/*
 * cmd-watch.c - `strata watch [--once]`: polls every watched reference
 * (the config's watch.bases and the golden catalog's entries, each
 * distinct reference once) and prints one JSON object per line for each
 * change seen: {"ref", "old" (null on a first sighting), "new", "time"},
 * plus "tag" when a tag policy picked one and "platforms_changed" for a
 * multi-arch index. Failed checks are reported on stderr and make the exit
 * status 1. Without --once it keeps polling on the schedule until SIGINT
 * or SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "report.h"
#include "store.h"
#include "watchers.h"

typedef struct watch_cmd {
    uv_loop_t loop;
    strata_registry *reg;
    strata_watcher *w;
    uv_signal_t sigint, sigterm;
    int errors;
    int done;
} watch_cmd;

static void
on_change(const strata_watcher_change *c, void *arg)
{
    json_t *o = json_object(), *pc;
    char when[32];
    char *line;
    size_t i;

    (void) arg;
    strata_format_time(when, sizeof(when), c->time_ms);
    json_object_set_new(o, "ref", json_string(c->ref));
    json_object_set_new(
        o, "old", c->old_digest ? json_string(c->old_digest) : json_null());
    json_object_set_new(o, "new", json_string(c->new_digest));
    json_object_set_new(o, "time", json_string(when));
    if (c->tag != NULL)
        json_object_set_new(o, "tag", json_string(c->tag));
    if (c->platforms != NULL) {
        pc = json_array();
        for (i = 0; i < c->nplatforms_changed; i++)
            json_array_append_new(pc, json_string(c->platforms_changed[i]));
        json_object_set_new(o, "platforms_changed", pc);
    }
    if (c->verify_state != NULL)
        json_object_set_new(o, "verify", json_string(c->verify_state));
    line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", line);
    fflush(stdout);
    free(line);
    json_decref(o);
}

static void
on_error(const char *ref, const strata_error *err, void *arg)
{
    watch_cmd *c = arg;

    c->errors++;
    fprintf(stderr, "strata: watch '%s': %s\n", ref, err->msg);
}

static void
on_round(const strata_watcher_round *r, void *arg)
{
    watch_cmd *c = arg;

    log_info("checked %zu references: %zu changed, %zu first seen, "
             "%zu failed",
             r->checked, r->changes, r->first_seen, r->errors);
    c->done = 1;
}

static void
on_signal(uv_signal_t *s, int signum)
{
    watch_cmd *c = s->data;

    (void) signum;
    log_info("stopping");
    c->done = 1;
    strata_watcher_stop(c->w);
    uv_stop(&c->loop);
}

static int
exec_watch(strata_cmd_ctx *ctx)
{
    strata_store *st = NULL;
    strata_watcher_options wo = {0};
    strata_error err = {0};
    watch_cmd c = {0};
    const strata_config_data *d = strata_config_data_get(ctx->config);
    int once = strata_args_has(ctx->args, "once"), rc, loop_ok = 0;

    if (strata_store_open(&st, d->state, &err) != 0)
        goto fail;
    uv_loop_init(&c.loop);
    loop_ok = 1;
    if (strata_registry_new(&c.reg, &c.loop, NULL, &err) != 0)
        goto fail;
    strata_watcher_options_from_config(&wo, ctx->config);
    wo.on_change = on_change;
    wo.on_error = on_error;
    wo.arg = &c;
    if (strata_watcher_new(&c.w, &c.loop, st, c.reg, &wo, &err) != 0)
        goto fail;
    /* The golden catalog's entries (cmd.c loaded it) are watched too. */
    if (strata_watcher_configure_catalog(c.w, ctx->config, ctx->catalog, NULL,
                                         &err) != 0)
        goto fail;
    if (once) {
        if (strata_watcher_check_all(c.w, on_round, &c, &err) != 0)
            goto fail;
        while (!c.done)
            uv_run(&c.loop, UV_RUN_ONCE);
    } else {
        uv_signal_init(&c.loop, &c.sigint);
        uv_signal_init(&c.loop, &c.sigterm);
        c.sigint.data = c.sigterm.data = &c;
        uv_signal_start(&c.sigint, on_signal, SIGINT);
        uv_signal_start(&c.sigterm, on_signal, SIGTERM);
        if (strata_watcher_start(c.w, &err) != 0)
            goto fail;
        log_info("watching %zu references", strata_watcher_count(c.w));
        uv_run(&c.loop, UV_RUN_DEFAULT);
        uv_close((uv_handle_t *) &c.sigint, NULL);
        uv_close((uv_handle_t *) &c.sigterm, NULL);
    }
    rc = c.errors > 0 ? STRATA_EXIT_PROBLEM : STRATA_EXIT_OK;
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    if (loop_ok) {
        /* The registry first: it cancels what the watcher waits for. */
        strata_registry_close(c.reg);
        strata_watcher_close(c.w, NULL, NULL);
        uv_run(&c.loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&c.loop) != 0)
            log_warn("watch: loop left with open handles");
    }
    strata_store_close(st);
    return rc;
}

static const strata_cmd_opt watch_opts[] = {
    {"once", 0, 0, NULL, NULL, "check everything once and exit"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_watch = {
    .name = "watch",
    .summary = "Poll the watched base images and print each change.",
    .help = "Watches the config's watch.bases and the golden catalog's "
            "entries, each\ndistinct reference once. Prints one JSON object "
            "per line for each change:\n"
            "  {\"ref\":..., \"old\":...|null, \"new\":..., \"time\":...}\n"
            "with \"tag\" when a tag policy picked one and "
            "\"platforms_changed\" for a\nmulti-arch index; \"old\" is null "
            "the first time a reference is seen.\nChanges and checks are "
            "recorded in the state database (events\nbase.updated and "
            "base.first_seen). --once checks everything once and\nexits: 0, "
            "or 1 when any check failed (errors on stderr); without it,\n"
            "polls on the schedule until SIGINT or SIGTERM.\n",
    .opts = watch_opts,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .catalog = STRATA_CMD_CATALOG_OPTIONAL,
    .exec = exec_watch,
};
