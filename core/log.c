/*
 * log.c - leveled logging to stderr as human text or JSON lines. The
 * settings are process-wide, like syslog's: main() sets them once before
 * the loop starts, and nothing changes them afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Process-wide sink settings (see the file comment for why). */
static strata_log_level min_level = STRATA_LOG_INFO;
static strata_log_format out_format = STRATA_LOG_TEXT;

void
strata_log_setup(strata_log_level level, strata_log_format format)
{
    min_level = level;
    out_format = format;
}

int
strata_log_parse_level(strata_log_level *out, const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (strata_log_level) i;
            return 0;
        }
    }
    if (strcmp(name, "warning") == 0) {
        *out = STRATA_LOG_WARN;
        return 0;
    }
    return STRATA_EINVAL;
}

const char *
strata_log_level_name(int level)
{
    if (level < 0 ||
        (size_t) level >= sizeof(level_names) / sizeof(level_names[0]))
        return NULL;
    return level_names[level];
}

static int
log_enabled(strata_log_level level)
{
    return level >= min_level;
}

static void vlog(strata_log_level level, int64_t job, const char *fmt,
                 va_list ap) __attribute__((format(printf, 3, 0)));

static void
vlog(strata_log_level level, int64_t job, const char *fmt, va_list ap)
{
    char when[32];
    strata_buf line = STRATA_BUF_INIT;
    char *msg;

    if (!log_enabled(level))
        return;
    strata_format_time(when, sizeof(when), strata_now_ms());
    msg = strata_xvasprintf(fmt, ap);
    if (out_format == STRATA_LOG_JSON) {
        strata_buf_printf(&line, "{\"time\":\"%s\",\"level\":\"%s\"", when,
                          level_names[level]);
        if (job > 0)
            strata_buf_printf(&line, ",\"job\":%lld", (long long) job);
        strata_buf_puts(&line, ",\"msg\":");
        strata_buf_json_string(&line, msg);
        strata_buf_puts(&line, "}\n");
    } else {
        strata_buf_printf(&line, "%s %-5s ", when, level_names[level]);
        if (job > 0)
            strata_buf_printf(&line, "[job %lld] ", (long long) job);
        strata_buf_puts(&line, msg);
        strata_buf_putc(&line, '\n');
    }
    /* One write per line so concurrent writers never interleave lines. */
    fwrite(line.ptr, 1, line.len, stderr);
    fflush(stderr);
    strata_buf_release(&line);
    free(msg);
}

void
strata_log(strata_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(level, 0, fmt, ap);
    va_end(ap);
}

void
strata_log_job(strata_log_level level, int64_t job, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(level, job, fmt, ap);
    va_end(ap);
}
