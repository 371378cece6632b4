/*
 * harness.h - a tiny TAP harness (after libuv's test/task.h). Each test
 * is a function; CHECK* failures print both values as TAP diagnostics,
 * mark the test "not ok" and end the binary with a failure, so meson's
 * TAP reader shows exactly which check broke.
 *
 *   TEST(parses_tag) { CHECK_STR_EQ(ref, "docker.io/library/x:latest"); }
 *   int main(void) { RUN(parses_tag); return harness_done(); }
 */
#ifndef STRATA_TESTS_HARNESS_H
#define STRATA_TESTS_HARNESS_H

#include <execinfo.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int harness_count;
static const char *harness_current = "";

#define TEST(name) static void name(void)

/*
 * The watchdog: a test binary that sets harness_watchdog_s (seconds) has
 * each test that runs longer than that end the binary with a TAP line
 * naming it and the stack where it was, written from the SIGALRM handler
 * (write(2) and backtrace_symbols_fd only), instead of hanging until
 * meson's timeout says nothing of where.
 */
static unsigned harness_watchdog_s;
/* Called first when the watchdog fires (may be NULL): what the test knows
 * of where it is (not async-signal-safe, but the binary ends anyway). */
static void (*harness_on_watchdog)(void);

static void
harness_on_alarm(int sig)
{
    static const char head[] = "not ok - watchdog: still running: ";
    void *frames[64];
    int n;

    (void) sig;
    (void) !write(1, head, sizeof(head) - 1);
    (void) !write(1, harness_current, strlen(harness_current));
    (void) !write(1, "\n", 1);
    (void) !write(2, head, sizeof(head) - 1);
    (void) !write(2, harness_current, strlen(harness_current));
    (void) !write(2, "\n", 1);
    if (harness_on_watchdog != NULL)
        harness_on_watchdog();
    n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, 2);
    _exit(1);
}

static inline void
harness_arm(void)
{
    void *frame;

    if (harness_watchdog_s == 0)
        return;
    backtrace(&frame, 1); /* loads libgcc now, not in the handler */
    signal(SIGALRM, harness_on_alarm);
    alarm(harness_watchdog_s);
}

#define RUN(name)                                                              \
    do {                                                                       \
        harness_current = #name;                                               \
        harness_arm();                                                         \
        name();                                                                \
        alarm(0);                                                              \
        printf("ok %d - %s\n", ++harness_count, #name);                        \
        fflush(stdout);                                                        \
    } while (0)

static inline int
harness_done(void)
{
    printf("1..%d\n", harness_count);
    return 0;
}

/* Prints "1..0 # SKIP reason" and exits 0 (meson's TAP treats 77 as fail). */
#define SKIP_ALL(...)                                                          \
    do {                                                                       \
        printf("1..0 # SKIP ");                                                \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
        exit(0);                                                               \
    } while (0)

static inline void
harness_fail(const char *file, int line, const char *what)
{
    printf("# %s:%d: %s\n", file, line, what);
    printf("not ok %d - %s\n", ++harness_count, harness_current);
    printf("1..%d\n", harness_count);
    fflush(stdout);
    exit(1);
}

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            harness_fail(__FILE__, __LINE__, "CHECK(" #cond ") failed");       \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long va_ = (long long) (a), vb_ = (long long) (b);                \
        if (va_ != vb_) {                                                      \
            char m_[256];                                                      \
            snprintf(m_, sizeof(m_), "CHECK_EQ(%s, %s): %lld != %lld", #a, #b, \
                     va_, vb_);                                                \
            harness_fail(__FILE__, __LINE__, m_);                              \
        }                                                                      \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                     \
    do {                                                                       \
        const char *sa_ = (a), *sb_ = (b);                                     \
        if (sa_ == NULL || sb_ == NULL || strcmp(sa_, sb_) != 0) {             \
            printf("#   got:      '%s'\n#   expected: '%s'\n",                 \
                   sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                \
            harness_fail(__FILE__, __LINE__,                                   \
                         "CHECK_STR_EQ(" #a ", " #b ") failed");               \
        }                                                                      \
    } while (0)

/* Checks that needle occurs in haystack. */
#define CHECK_CONTAINS(hay, needle)                                            \
    do {                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                \
        if (h_ == NULL || strstr(h_, n_) == NULL) {                            \
            printf("#   in:      '%s'\n#   missing: '%s'\n",                   \
                   h_ ? h_ : "(null)", n_);                                    \
            harness_fail(__FILE__, __LINE__,                                   \
                         "CHECK_CONTAINS(" #hay ", " #needle ") failed");      \
        }                                                                      \
    } while (0)

/* Checks a strata call returned 0, printing err->msg otherwise. */
#define CHECK_OK(call, errp)                                                   \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ != 0) {                                                        \
            printf("#   rc=%d msg='%s'\n", rc_, (errp)->msg);                  \
            harness_fail(__FILE__, __LINE__, "CHECK_OK(" #call ") failed");    \
        }                                                                      \
    } while (0)

#endif
