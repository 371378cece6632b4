/*
 * error.c - the one error convention: a negative code and a one-line
 * message set where the failure is detected, with context chained in
 * front as the error travels up (strata_error_wrap).
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

int
strata_error_set(strata_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int
strata_error_wrap(strata_error *err, const char *fmt, ...)
{
    char prefix[sizeof(err->msg)];
    char old[sizeof(err->msg)];
    strata_buf b;
    va_list ap;

    if (err == NULL)
        return STRATA_EINTERNAL;
    if (err->code == 0)
        err->code = STRATA_EINTERNAL;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Truncation is fine: a long chain keeps its outermost context. */
    strata_buf_init(&b);
    strata_buf_printf(&b, "%s: %s", prefix, old);
    snprintf(err->msg, sizeof(err->msg), "%.*s", (int) sizeof(err->msg) - 1,
             b.ptr);
    strata_buf_release(&b);
    return err->code;
}

void
strata_error_clear(strata_error *err)
{
    if (err == NULL)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

const char *
strata_error_name(int code)
{
    switch (code) {
    case STRATA_OK:
        return "ok";
    case STRATA_EINVAL:
        return "invalid input";
    case STRATA_ENOTFOUND:
        return "not found";
    case STRATA_EIO:
        return "i/o error";
    case STRATA_ENET:
        return "network error";
    case STRATA_ETIMEOUT:
        return "timeout";
    case STRATA_EPROTO:
        return "protocol error";
    case STRATA_EAUTH:
        return "authentication failed";
    case STRATA_ERATELIMIT:
        return "rate limited";
    case STRATA_ETOOBIG:
        return "too big";
    case STRATA_EEXISTS:
        return "already exists";
    case STRATA_ECONFLICT:
        return "conflict";
    case STRATA_ESTATE:
        return "state store error";
    case STRATA_ECANCELED:
        return "cancelled";
    case STRATA_EUSAGE:
        return "bad usage";
    case STRATA_EHTTP:
        return "unexpected http status";
    default:
        return "internal error";
    }
}

int
strata_exit_code(int code)
{
    switch (code) {
    case STRATA_OK:
        return STRATA_EXIT_OK;
    case STRATA_EINVAL:
    case STRATA_EUSAGE:
        return STRATA_EXIT_USAGE;
    default:
        return STRATA_EXIT_PROBLEM;
    }
}
