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

/* Exit codes of the command-line contract (DESIGN.md), the same for every
 * command and the daemon. */
enum {
    STRATA_EXIT_OK = 0,
    STRATA_EXIT_PROBLEM = 1, /* the work found a problem or failed */
    STRATA_EXIT_USAGE = 2,   /* bad usage, bad input or bad config */
};

/* The exit code for an error code: bad input and usage give 2, every
 * other failure 1, success 0. */
int strata_exit_code(int code);

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
/* "debug", "info", "warn", "error"; NULL past STRATA_LOG_ERROR. */
const char *strata_log_level_name(int level);
void strata_log(strata_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds "job" to the line (JSON field or "[job N]" prefix). */
void strata_log_job(strata_log_level level, int64_t job, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) strata_log(STRATA_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) strata_log(STRATA_LOG_INFO, __VA_ARGS__)
#define log_warn(...) strata_log(STRATA_LOG_WARN, __VA_ARGS__)
#define log_error(...) strata_log(STRATA_LOG_ERROR, __VA_ARGS__)

/* ---- small utilities -------------------------------------------------- */

/* Reads a whole file (max bytes; 0 = no limit). *out is the caller's. */
int strata_read_file(char **out, size_t *out_len, const char *path, size_t max,
                     strata_error *err);
/*
 * Reads dir/rel like strata_read_file, but never follows a symbolic link
 * in any component of rel and never leaves dir ("..", an absolute rel):
 * a file in a checked-out repository that links elsewhere is refused
 * (STRATA_EINVAL, "'rel' is or goes through a symbolic link"), as is
 * anything but a regular file.
 */
int strata_read_file_beneath(char **out, size_t *out_len, const char *dir,
                             const char *rel, size_t max, strata_error *err);
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

/* ---- versions and semver ranges (semver.c) ---------------------------- */

/*
 * A version as container tags spell it: an optional 'v', then one to
 * three dot-separated decimal numbers ("3", "3.12", "v3.12.4"), then any
 * text (the "rest": "-slim", "rc1-bookworm", ""). Missing components
 * compare as 0, so "3.12" orders as 3.12.0. Embedded by value.
 */
typedef struct strata_semver {
    uint64_t num[3];  /* major, minor, patch; missing ones are 0 */
    int ncomp;        /* how many numbers the tag spelled: 1..3 */
    int v_prefix;     /* the tag started with 'v' or 'V' */
    const char *rest; /* borrowed: points into the parsed string */
} strata_semver;

/*
 * Parses the version at the start of s (see above). Each number is at most
 * 9 digits. Returns 0, or STRATA_EINVAL when s does not start with a
 * version; no error message, since most tags ("latest") are not versions
 * and this runs once per tag.
 */
int strata_semver_parse(strata_semver *out, const char *s);

/* Compares the numbers only (<0, 0, >0); ncomp and rest are ignored. */
int strata_semver_cmp(const strata_semver *a, const strata_semver *b);

/*
 * A semver range, node-semver style: alternatives separated by "||", each
 * a space-separated list of comparators that must all hold. Comparators:
 * ">=V", ">V", "<=V", "<V", "=V", "V", "~V", "^V", where V is a partial
 * version with optional 'v' whose missing or wildcard ("x", "X", "*")
 * components widen the comparator: "3.x" and "3" mean >=3.0.0 <4.0.0,
 * ">3.11" means >=3.12.0, "<=3.12" means <3.13.0, "~3.12.4" means
 * >=3.12.4 <3.13.0, "^3.12" means >=3.12.0 <4.0.0 and "^0.2.3" means
 * >=0.2.3 <0.3.0. A hyphen range "A - B" means >=A <=B, where a partial
 * B allows all of it ("1.0 - 1.4" is >=1.0.0 <1.5.0). An empty range or
 * "*" matches every version. Pre-release versions ("1.2.3-rc1") are not
 * accepted in ranges: tags with them are never chosen.
 */
typedef struct strata_semver_range strata_semver_range;

/*
 * Parses s into *out (caller frees with strata_semver_range_free). On
 * STRATA_EINVAL: "invalid semver range '>=3.x.y': 'y' is not a number".
 */
int strata_semver_range_parse(strata_semver_range **out, const char *s,
                              strata_error *err);
void strata_semver_range_free(strata_semver_range *range);
/* 1 when v satisfies the range, else 0. */
int strata_semver_range_match(const strata_semver_range *range,
                              const strata_semver *v);

/* ---- schedule windows (schedule.c) ----------------------------------- */

/*
 * When work may run: windows "[DAYS] HH:MM-HH:MM [ZONE]" (DAYS such as
 * "Mon-Fri", "Sat,Sun", "Fri-Mon"; every day when absent; an end at or
 * before the start runs past midnight into the next day, which belongs
 * to the start's day; ZONE an IANA name of the system's tzdata, UTC when
 * absent) and blackout dates "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD"
 * (inclusive, read in the first window's zone). Open when no blackout
 * date applies and any window is open (always, with no windows).
 * Immutable once made: any thread may query it.
 */
typedef struct strata_schedule strata_schedule;

/* STRATA_EINVAL naming the bad window or date, or the unknown zone. */
int strata_schedule_new(strata_schedule **out, const char *const *windows,
                        size_t n_windows, const char *const *blackouts,
                        size_t n_blackouts, strata_error *err);
void strata_schedule_free(strata_schedule *s);
/* The check of one window or blackout entry alone, as config check does. */
int strata_schedule_check_window(const char *window, strata_error *err);
int strata_schedule_check_blackout(const char *blackout, strata_error *err);
/* 1 when open at t_ms (milliseconds since the epoch), else 0. */
int strata_schedule_open(const strata_schedule *s, int64_t t_ms);
/* The first instant >= t_ms when s is open; -1 when none in 800 days. */
int64_t strata_schedule_next_open(const strata_schedule *s, int64_t t_ms);

/* ---- tag policies (tagpolicy.c) --------------------------------------- */

/*
 * Which tag of a repository to follow: the newest tag that
 *   - matches the regex (POSIX extended, unanchored unless the pattern
 *     says ^...$), when one is set;
 *   - carries a version (from the regex's first capture group when it has
 *     one, else from the tag itself) inside the range (default: any), and
 *   - has exactly the suffix after the version's numbers ("" unless set:
 *     "3.12.4" but not "3.12.4-bookworm").
 * Pre-releases: a tag with text between the numbers and the suffix
 * ("3.13.0rc1-slim", "3.13.0-rc1") does not end in exactly the suffix and
 * so is never chosen; strata follows releases only.
 * Order: the higher version wins. Among equal versions the tag that spells
 * more components wins ("3.12.0" over "3.12", since the short tag floats),
 * then the one without a 'v', then the byte-wise smaller tag, so the
 * choice never depends on the order of the tag list.
 */
typedef struct strata_tag_policy strata_tag_policy;

/*
 * range, suffix and regex may each be NULL (unset). Errors (STRATA_EINVAL):
 * "invalid semver range '...': ...", "invalid tag regex '(': ...". *out
 * is the caller's; free with strata_tag_policy_free().
 */
int strata_tag_policy_new(strata_tag_policy **out, const char *range,
                          const char *suffix, const char *regex,
                          strata_error *err);
void strata_tag_policy_free(strata_tag_policy *policy);

/*
 * 1 when tag is eligible under policy, filling *out_version (may be NULL;
 * its rest borrows from tag), else 0.
 */
int strata_tag_policy_match(strata_semver *out_version,
                            const strata_tag_policy *policy, const char *tag);

/*
 * Picks the best tag of tags[0..ntags) (NULL entries are skipped). *out
 * borrows from tags. STRATA_ENOTFOUND when no tag is eligible:
 * "no tag matches the policy (12 tags)".
 */
int strata_tag_policy_select(const char **out, const strata_tag_policy *policy,
                             const char *const *tags, size_t ntags,
                             strata_error *err);

/* ---- URLs (url.c) ----------------------------------------------------- */

/* s percent-encoded as a URL path segment or query value (RFC 3986
 * unreserved characters kept); NULL counts as "". Caller frees. */
char *strata_url_escape(const char *s);
/*
 * s[0..n) percent-decoded ('+' as a space when plus_space, as in a query
 * or a form body), NUL-terminated; *out_len (may be NULL) is its length,
 * which a decoded %00 makes shorter than strlen. NULL for a malformed
 * escape ("%", "%4", "%zz"). Caller frees.
 */
char *strata_url_decode(size_t *out_len, const char *s, size_t n,
                        int plus_space);

/* ---- hex, HMAC and comparisons in constant time (crypto.c) ------------- */

/* 0..15 for a hex digit (either case), else -1. */
int strata_hex_value(int c);
/* out (2 * len + 1 bytes) = lowercase hex of data, NUL-terminated. */
void strata_hex_encode(char *out, const void *data, size_t len);
/* hex[0..hexlen) into exactly outlen bytes; STRATA_EINVAL otherwise. */
int strata_hex_decode(unsigned char *out, size_t outlen, const char *hex,
                      size_t hexlen);
/* 1 when a and b are equal, in time that does not depend on where they
 * differ (CRYPTO_memcmp). */
int strata_ct_equal(const void *a, const void *b, size_t len);
/* 1 when the alen bytes at a are exactly secret (a NUL-terminated string),
 * compared through their SHA-256 digests so that neither the position of
 * the first difference nor the secret's length shows in the timing. */
int strata_secret_equal(const void *a, size_t alen, const char *secret);
/* HMAC-SHA256 of data under key (either may be empty). */
void strata_hmac_sha256(unsigned char out[32], const void *key, size_t keylen,
                        const void *data, size_t len);
/* The same as 64 lowercase hex digits; key is a NUL-terminated secret. */
void strata_hmac_sha256_hex(char out[65], const char *key, const void *data,
                            size_t len);
/* 1 when hex[0..hexlen) (either case) is HMAC-SHA256(key, data), compared
 * in constant time; 0 for a mismatch or anything that is not 64 digits. */
int strata_hmac_sha256_verify(const char *hex, size_t hexlen, const char *key,
                              const void *data, size_t len);

/* ---- retries (retry.c) ------------------------------------------------- */

/* base_ms doubled attempt times, never above cap_ms (any attempt count). */
uint64_t strata_backoff_ms(uint64_t base_ms, unsigned attempt, uint64_t cap_ms);
/*
 * A Retry-After value (RFC 9110): delta-seconds, or an HTTP-date that is
 * turned into the wait from now_ms (0 when it has passed); *out is never
 * above max_ms. STRATA_ENOTFOUND when v is NULL, STRATA_EINVAL when it is
 * neither form: the caller then falls back on its own backoff.
 */
int strata_retry_after_ms(uint64_t *out, const char *v, int64_t now_ms,
                          uint64_t max_ms);

/* ---- escaping (escape.c) ----------------------------------------------- */

/* Appends s escaped for HTML text and quoted attributes (& < > " '). */
void strata_html_escape(strata_buf *b, const char *s);
/* Appends s as one single-quoted POSIX shell word. */
void strata_shell_quote(strata_buf *b, const char *s);
/* Appends s escaped as a Prometheus label value (\, ", newline). */
void strata_prom_label_escape(strata_buf *b, const char *s);

/* ---- arena (arena.c) -------------------------------------------------- */

/* Memory freed whole: the strings of a parse result or of the graph's
 * string table live here. Zeroed (= {0}) it is empty. Allocation aborts
 * on exhaustion, like strata_xmalloc(). */
typedef struct strata_arena {
    struct strata_arena_chunk *head;
    size_t next_cap; /* the next chunk's size */
} strata_arena;

void *strata_arena_alloc(strata_arena *a, size_t n);
char *strata_arena_strndup(strata_arena *a, const char *s, size_t n);
char *strata_arena_strdup(strata_arena *a, const char *s);
char *strata_arena_printf(strata_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strata_arena_release(strata_arena *a);

/* ---- HTTP client (libcurl multi on libuv) ----------------------------- */
/* Declared in core/http.h, which this header includes. */
#include "http.h"

#endif
