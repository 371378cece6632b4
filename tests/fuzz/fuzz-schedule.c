/*
 * fuzz-schedule.c - libFuzzer target for schedule windows (core's
 * schedule.c): the window and blackout grammar and the TZif reader. The
 * input's first line is a window, its second a blackout entry; the rest
 * is written as the zone file Fuzz/Zone under a private TZDIR, which a
 * second window names. Invariants: a window or blackout that the checks
 * accept alone is accepted in a schedule with a sound zone; a schedule
 * that loads answers open and next_open, and the next opening is at or
 * after the instant asked and open (unless none is found).
 */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "invariant broken: %s (line %d)\n", #cond,         \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

static char zone_path[256];

/* A private TZDIR holding Fuzz/Zone, made once. */
static void
setup(void)
{
    char dir[] = "/tmp/strata-fuzz-tz-XXXXXX";
    char sub[200];

    if (zone_path[0] != '\0')
        return;
    check(mkdtemp(dir) != NULL);
    snprintf(sub, sizeof(sub), "%s/Fuzz", dir);
    check(mkdir(sub, 0700) == 0);
    snprintf(zone_path, sizeof(zone_path), "%s/Zone", sub);
    setenv("TZDIR", dir, 1);
}

/* The next line of data[*at..size) as a new string. */
static char *
line(const uint8_t *data, size_t size, size_t *at)
{
    size_t start = *at;
    char *s;

    while (*at < size && data[*at] != '\n')
        (*at)++;
    s = strndup((const char *) data + start, *at - start);
    if (*at < size)
        (*at)++;
    return s;
}

static void
query(const strata_schedule *s)
{
    static const int64_t at[] = {0, 1774746000000, 1792540800000,
                                 4102444800000};
    size_t i;

    for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        int64_t next = strata_schedule_next_open(s, at[i]);

        (void) strata_schedule_open(s, at[i]);
        check(next == -1 || next >= at[i]);
        check(next == -1 || strata_schedule_open(s, next));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0;
    char *win = line(data, size, &at), *blk = line(data, size, &at);
    const char *wins[2], *blks[1];
    strata_schedule *s = NULL;
    strata_error err = {0};
    int win_ok, blk_ok;
    FILE *f;

    setup();
    f = fopen(zone_path, "wb");
    check(f != NULL);
    if (size > at)
        fwrite(data + at, 1, size - at, f);
    fclose(f);

    win_ok = strata_schedule_check_window(win, &err) == 0;
    check(win_ok || err.msg[0] != '\0');
    strata_error_clear(&err);
    blk_ok = strata_schedule_check_blackout(blk, &err) == 0;
    check(blk_ok || err.msg[0] != '\0');
    strata_error_clear(&err);

    /* The fuzzed zone file, named by a window. */
    wins[0] = "Mon-Fri 09:00-17:00 Fuzz/Zone";
    if (strata_schedule_new(&s, wins, 1, NULL, 0, &err) == 0) {
        query(s);
        strata_schedule_free(s);
    } else {
        check(err.msg[0] != '\0');
    }
    strata_error_clear(&err);

    /* The fuzzed window and blackout, with a zone that is sound (UTC). */
    wins[0] = win;
    blks[0] = blk;
    s = NULL;
    if (win_ok && blk_ok && strstr(win, "Fuzz/") == NULL) {
        int rc = strata_schedule_new(&s, wins, 1, blks, 1, &err);

        if (rc == 0) {
            query(s);
            strata_schedule_free(s);
        } else {
            /* Only a zone the system lacks may refuse a checked window. */
            check(strstr(err.msg, "zone") != NULL);
        }
    }
    free(win);
    free(blk);
    return 0;
}
