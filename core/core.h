/*
 * core.h - the shared infrastructure every strata module builds on: the
 * error convention, allocation helpers that abort on exhaustion, a growable
 * string buffer, logging, and the curl-multi-on-libuv HTTP client.
 */
#ifndef STRATA_CORE_H
#define STRATA_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define STRATA_VERSION "0.1.0"

/* ---- errors ----------------------------------------------------------- */

/*
 * Error codes are negative; 0 is success. Fallible functions return one of
 * these and fill a strata_error (which may be NULL) with a one-line,
 * lowercase message that names its subject in quotes.
 */
enum {
    STRATA_OK = 0,
    STRATA_EINVAL = -1,     /* bad input: config, reference, file */
    STRATA_ENOTFOUND = -2,  /* no such object */
    STRATA_EIO = -3,        /* local I/O */
    STRATA_ENET = -4,       /* connection, DNS, TLS */
    STRATA_ETIMEOUT = -5,   /* a deadline passed */
    STRATA_EPROTO = -6,     /* a peer answered something malformed */
    STRATA_EAUTH = -7,      /* 401/403 or bad credentials */
    STRATA_ERATELIMIT = -8, /* 429 or a limit of ours */
    STRATA_ETOOBIG = -9,    /* over a size limit */
    STRATA_EEXISTS = -10,   /* already there */
    STRATA_ECONFLICT = -11, /* concurrent change, lock */
    STRATA_ESTATE = -12,    /* state store: corrupt, newer schema */
    STRATA_ECANCELED = -13, /* the operation was cancelled */
    STRATA_EUSAGE = -14,    /* bad command-line usage */
    STRATA_EHTTP = -15,     /* an unexpected HTTP status */
    STRATA_EINTERNAL = -16, /* a bug or an unexpected library error */
};

typedef struct strata_error {
    int code;      /* 0 or a negative STRATA_E* */
    char msg[512]; /* "cannot open 'strata.yaml': no such file" */
} strata_error;

/*
 * Sets err (when not NULL) and returns code, so callers can write
 * `return strata_error_set(err, STRATA_EINVAL, "bad '%s'", x);`.
 */
int strata_error_set(strata_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Chains context in front of an existing message: "loading 'x': <old>".
 * Keeps the code. Returns err->code (or STRATA_EINTERNAL if err is NULL
 * or unset) so it can be returned directly.
 */
int strata_error_wrap(strata_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Resets err to success. err may be NULL. */
void strata_error_clear(strata_error *err);

/* A short constant name for a code: "invalid input", "not found", ... */
const char *strata_error_name(int code);

/* ---- allocation ------------------------------------------------------- */

/* These abort the process on exhaustion, so callers never check them. */
void *strata_xmalloc(size_t n);
void *strata_xcalloc(size_t nmemb, size_t size);
void *strata_xrealloc(void *p, size_t n);
/*
 * Gives memory the allocator holds free back to the system (glibc's
 * malloc_trim; nothing elsewhere). For a daemon after big transient work
 * (a configuration parsed, a graph replaced), so the holes it leaves do
 * not stay resident.
 */
void strata_release_free_memory(void);
char *strata_xstrdup(const char *s);
char *strata_xstrndup(const char *s, size_t n);
char *strata_xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
char *strata_xvasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/* ---- string buffer ---------------------------------------------------- */

/*
 * A growable byte buffer, always NUL-terminated when ptr is not NULL.
 * Embedded by value: strata_buf b = STRATA_BUF_INIT; ... strata_buf_release.
 */
typedef struct strata_buf {
    char *ptr;
    size_t len;
    size_t cap;
} strata_buf;

#define STRATA_BUF_INIT                                                        \
    {                                                                          \
        NULL, 0, 0                                                             \
    }

void strata_buf_init(strata_buf *b);
void strata_buf_release(strata_buf *b);
void strata_buf_reset(strata_buf *b); /* len = 0, keeps memory */
void strata_buf_grow(strata_buf *b, size_t extra);
void strata_buf_add(strata_buf *b, const void *data, size_t len);
void strata_buf_puts(strata_buf *b, const char *s);
void strata_buf_putc(strata_buf *b, char c);
void strata_buf_printf(strata_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strata_buf_vprintf(strata_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Appends s as a JSON string literal, quotes included. */
void strata_buf_json_string(strata_buf *b, const char *s);
/* Returns the contents (caller frees; never NULL) and resets b. */
char *strata_buf_detach(strata_buf *b);
/* Returns b's contents as a string; "" when empty. Borrowed. */
const char *strata_buf_cstr(const strata_buf *b);

/* ---- logging ---------------------------------------------------------- */

typedef enum strata_log_level {
    STRATA_LOG_DEBUG = 0,
    STRATA_LOG_INFO,
    STRATA_LOG_WARN,
    STRATA_LOG_ERROR,
} strata_log_level;

typedef enum strata_log_format {
    STRATA_LOG_TEXT = 0, /* "2026-11-26T14:40:00Z warn  message" */
    STRATA_LOG_JSON,     /* {"time":..., "level":..., "msg":...} */
} strata_log_format;

/*
 * Logging is process-wide, like syslog: one sink (stderr), one level and
 * one format, set once by main() before the loop starts.
 */
void strata_log_setup(strata_log_level level, strata_log_format format);
int strata_log_parse_level(strata_log_level *out, const char *name);
int strata_log_enabled(strata_log_level level);
void strata_log(strata_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds "job" to the line (JSON field or "[job N]" prefix). */
void strata_log_job(strata_log_level level, int64_t job, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void strata_vlog(strata_log_level level, int64_t job, const char *fmt,
                 va_list ap) __attribute__((format(printf, 3, 0)));

#define log_debug(...) strata_log(STRATA_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) strata_log(STRATA_LOG_INFO, __VA_ARGS__)
#define log_warn(...) strata_log(STRATA_LOG_WARN, __VA_ARGS__)
#define log_error(...) strata_log(STRATA_LOG_ERROR, __VA_ARGS__)

/* ---- small utilities -------------------------------------------------- */

/* Reads a whole file (max bytes; 0 = no limit). *out is the caller's. */
int strata_read_file(char **out, size_t *out_len, const char *path, size_t max,
                     strata_error *err);
/* Writes data atomically (temp file + rename). */
int strata_write_file(const char *path, const void *data, size_t len,
                      strata_error *err);
/* Parses "15m", "1h30m", "10s", "500ms", "2d" into milliseconds. */
int strata_parse_duration(uint64_t *out_ms, const char *s);
/* Wall clock, milliseconds since the epoch. */
int64_t strata_now_ms(void);
/* RFC 3339 UTC with seconds: "2026-11-26T14:40:00Z". out >= 21 bytes. */
void strata_format_time(char *out, size_t outlen, int64_t ms);
/* Lowercase hex sha256 of data into out (65 bytes). */
void strata_sha256_hex(char out[65], const void *data, size_t len);

/* ---- URLs as they may be shown (url.c) -------------------------------- */

/*
 * Secrets ride in URLs: in the userinfo ("https://user:token@host/"), in
 * the query ("?sig=...") and, for webhook receivers (Slack, Teams), in the
 * path. Each function returns a new string (the caller's). A string that
 * is not "scheme://..." (a local path, git's scp-like "git@host:path") is
 * returned unchanged.
 */

/* url without its "user:password@" part, whatever the scheme. */
char *strata_url_strip_userinfo(const char *url);

/*
 * The form of a URL that may be stored, printed or sent in an event: for
 * http and https without any userinfo (a user name alone is often a
 * token: "https://TOKEN@github.com/o/r"); for other schemes without the
 * password, keeping a login name ("ssh://git@host/o/r" is unchanged).
 */
char *strata_url_strip_credentials(const char *url);

/* 1 when strata_url_strip_credentials() would change url. */
int strata_url_has_credentials(const char *url);

/*
 * The form of a URL that may be logged: scheme, host, port and path, with
 * no userinfo, query or fragment ("https://host/v2/x/manifests/1"); with
 * secret set (the URL is itself a credential, as a webhook's is), scheme,
 * host and port only ("https://hooks.slack.com"). NULL gives "".
 */
char *strata_url_for_log(const char *url, int secret);

/* ---- string map ------------------------------------------------------- */

/* FNV-1a (64 bits) of a string: what the hash tables here probe with. */
uint64_t strata_str_hash(const char *s);

/*
 * A string-keyed hash map. Keys are copied; values are borrowed (the map
 * never frees them). No removal: maps here are built, queried, freed.
 */
typedef struct strata_strmap strata_strmap;

strata_strmap *strata_strmap_new(void);
void strata_strmap_free(strata_strmap *m);
/* The value for key, or NULL. */
void *strata_strmap_get(const strata_strmap *m, const char *key);
int strata_strmap_has(const strata_strmap *m, const char *key);
/* Sets key to val; returns the value it replaced, or NULL. */
void *strata_strmap_put(strata_strmap *m, const char *key, void *val);
size_t strata_strmap_len(const strata_strmap *m);
/*
 * The map's own copy of key, or NULL when absent. It stays valid, at the
 * same address, until the map is freed.
 */
const char *strata_strmap_key(const strata_strmap *m, const char *key);
/*
 * Interning: the map's copy of key, added (with a non-NULL value) when
 * absent, so equal strings share one allocation for the map's lifetime.
 */
const char *strata_strmap_intern(strata_strmap *m, const char *key);
/* Iterates: size_t it = 0; while (strata_strmap_next(m, &it, &k, &v)). */
int strata_strmap_next(const strata_strmap *m, size_t *iter, const char **key,
                       void **val);

/* ---- child processes ------------------------------------------------ */

typedef struct strata_proc strata_proc;

typedef struct strata_proc_opts {
    const char *const *argv; /* argv[0] is looked up in PATH */
    const char *const *env;  /* NULL: inherit */
    const char *cwd;         /* NULL: inherit */
    const char *input;       /* written to stdin, then closed; may be NULL */
    size_t input_len;
    size_t max_output;   /* stdout+stderr tail kept; 0 = 256 KiB */
    uint64_t timeout_ms; /* 0: none; then SIGTERM, 5 s later SIGKILL */
} strata_proc_opts;

typedef struct strata_proc_result {
    int64_t exit_status;
    int term_signal;
    int timed_out;
    const char *output; /* stdout and stderr interleaved; borrowed */
    size_t output_len;
    int truncated; /* the head of the output was dropped */
} strata_proc_result;

/* Runs once, after the child exited and its pipes closed. */
typedef void (*strata_proc_cb)(const strata_proc_result *res, void *arg);

/*
 * Starts a child on loop. If this returns an error the callback never
 * runs; otherwise it runs exactly once, from the loop. opts is copied.
 */
int strata_proc_spawn(uv_loop_t *loop, const strata_proc_opts *opts,
                      strata_proc_cb cb, void *arg, strata_error *err);

/* ---- HTTP client (libcurl multi on libuv) ----------------------------- */
/* Declared in core/http.h, which this header includes. */
#include "http.h"

#endif
