/*
 * test-schedule.c - schedule windows (core/schedule.c): the grammar, and
 * the next opening across Europe/Berlin's DST changes (the last Sundays
 * of March and October), a southern zone, windows past midnight and
 * blackout ranges. Zones come from the system's tzdata.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "harness.h"

/* Milliseconds of a UTC wall time. */
static int64_t
utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};

    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t) timegm(&tm) * 1000;
}

static strata_schedule *
make(const char *w, const char *b)
{
    strata_schedule *s = NULL;
    strata_error err = {0};
    const char *ws[1] = {w}, *bs[1] = {b};

    CHECK_OK(strata_schedule_new(&s, ws, w ? 1 : 0, bs, b ? 1 : 0, &err), &err);
    return s;
}

static void
check_next(const char *w, const char *b, int64_t from, int64_t want)
{
    strata_schedule *s = make(w, b);
    int64_t got = strata_schedule_next_open(s, from);

    if (got != want) {
        char g[32] = "none", x[32];

        if (got >= 0)
            strata_format_time(g, sizeof(g), got);
        strata_format_time(x, sizeof(x), want);
        printf("# '%s': next opening %s, want %s\n", w ? w : "", g, x);
    }
    CHECK_EQ(got, want);
    CHECK(strata_schedule_open(s, got));
    strata_schedule_free(s);
}

static void
check_bad(const char *w, const char *b, const char *msg)
{
    strata_error err = {0};

    if (w != NULL)
        CHECK_EQ(strata_schedule_check_window(w, &err), STRATA_EINVAL);
    else
        CHECK_EQ(strata_schedule_check_blackout(b, &err), STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, msg);
}

TEST(grammar)
{
    strata_error err = {0};
    const char *good[] = {
        "Mon-Fri 09:00-17:00 Europe/Berlin",
        "09:00-17:00",
        "Sat,Sun 00:00-24:00 UTC",
        "mon,wed-fri 22:00-06:00 America/New_York",
        "Fri-Mon 10:00-11:00",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CHECK_OK(strata_schedule_check_window(good[i], &err), &err);
    CHECK_OK(strata_schedule_check_blackout("2026-12-24", &err), &err);
    CHECK_OK(strata_schedule_check_blackout("2026-12-20..2027-01-02", &err),
             &err);
    CHECK_OK(strata_schedule_check_blackout("2028-02-29", &err), &err);

    check_bad("Mon-Fry 09:00-17:00", NULL, "invalid days 'Mon-Fry'");
    check_bad("Mon-Fri 09:00-25:00", NULL, "expected [DAYS] HH:MM-HH:MM");
    check_bad("Mon-Fri 9:00-17:00", NULL, "expected [DAYS] HH:MM-HH:MM");
    check_bad("Mon-Fri 09:60-17:00", NULL, "expected [DAYS] HH:MM-HH:MM");
    check_bad("Mon, 09:00-17:00", NULL, "invalid days");
    check_bad("09:00-09:00", NULL, "empty or invalid hours");
    check_bad("Mon-Fri 09:00-17:00 Europe/Nowhere", NULL,
              "unknown time zone 'Europe/Nowhere'");
    check_bad("09:00-17:00 ../../etc/passwd", NULL, "invalid time zone name");
    check_bad("09:00-17:00 UTC extra", NULL, "expected [DAYS]");
    check_bad("", NULL, "expected [DAYS]");
    check_bad(NULL, "2026-02-29", "expected YYYY-MM-DD");
    check_bad(NULL, "2026-12-24..", "expected YYYY-MM-DD");
    check_bad(NULL, "24.12.2026", "expected YYYY-MM-DD");
    check_bad(NULL, "2027-01-02..2026-12-20", "ends before it starts");
}

TEST(berlin_dst)
{
    const char *office = "Mon-Fri 09:00-17:00 Europe/Berlin";

    /* CET (+1) the week before, CEST (+2) the week after 2026-03-29. */
    check_next(office, NULL, utc(2026, 3, 20, 16, 0), utc(2026, 3, 23, 8, 0));
    check_next(office, NULL, utc(2026, 3, 27, 16, 0), utc(2026, 3, 30, 7, 0));
    /* And back on 2026-10-25. */
    check_next(office, NULL, utc(2026, 10, 23, 15, 0), utc(2026, 10, 26, 8, 0));
    /* Inside a window: now. */
    check_next(office, NULL, utc(2026, 3, 30, 7, 30) + 123,
               utc(2026, 3, 30, 7, 30) + 123);
    /* 02:30 does not exist on 2026-03-29: the window opens at 03:00
     * CEST, when the clocks jump (01:00 UTC). */
    check_next("Sun 02:30-04:00 Europe/Berlin", NULL, utc(2026, 3, 29, 0, 0),
               utc(2026, 3, 29, 1, 0));
    /* 02:30 happens twice on 2026-10-25: 00:30 UTC, and 01:30 UTC. */
    check_next("Sun 02:30-02:45 Europe/Berlin", NULL, utc(2026, 10, 25, 0, 0),
               utc(2026, 10, 25, 0, 30));
    check_next("Sun 02:30-02:45 Europe/Berlin", NULL, utc(2026, 10, 25, 0, 50),
               utc(2026, 10, 25, 1, 30));
    /* Past the tzdata file's table: the footer's rule (2040-03-25). */
    check_next("Sun 02:30-04:00 Europe/Berlin", NULL, utc(2040, 3, 25, 0, 0),
               utc(2040, 3, 25, 1, 0));
    check_next(office, NULL, utc(2040, 10, 26, 16, 0), utc(2040, 10, 29, 8, 0));
}

TEST(southern_zone)
{
    /* Sydney: AEDT (+11) in January, AEST (+10) after 2026-04-05. */
    check_next("Sun 09:00-10:00 Australia/Sydney", NULL, utc(2026, 1, 1, 0, 0),
               utc(2026, 1, 3, 22, 0));
    check_next("Sun 09:00-10:00 Australia/Sydney", NULL, utc(2026, 4, 1, 0, 0),
               utc(2026, 4, 4, 23, 0));
}

TEST(past_midnight)
{
    strata_schedule *s = make("Fri 22:00-06:00", NULL);

    /* 2026-12-04 is a Friday. */
    CHECK(!strata_schedule_open(s, utc(2026, 12, 4, 21, 59)));
    CHECK(strata_schedule_open(s, utc(2026, 12, 4, 22, 0)));
    CHECK(strata_schedule_open(s, utc(2026, 12, 5, 5, 59)));
    CHECK(!strata_schedule_open(s, utc(2026, 12, 5, 6, 0)));
    CHECK(!strata_schedule_open(s, utc(2026, 12, 7, 3, 0))); /* Monday */
    strata_schedule_free(s);
    check_next("Fri 22:00-06:00", NULL, utc(2026, 12, 5, 6, 0),
               utc(2026, 12, 11, 22, 0));
    /* Fri-Mon wraps through the weekend. */
    check_next("Fri-Mon 10:00-11:00", NULL, utc(2026, 12, 8, 12, 0),
               utc(2026, 12, 11, 10, 0));
    check_next("Fri-Mon 10:00-11:00", NULL, utc(2026, 12, 6, 11, 0),
               utc(2026, 12, 7, 10, 0));
    check_next("Sat,Sun 00:00-24:00", NULL, utc(2026, 12, 4, 23, 59),
               utc(2026, 12, 5, 0, 0));
}

TEST(blackout)
{
    const char *office = "Mon-Fri 09:00-17:00 Europe/Berlin";
    strata_schedule *s;

    /* The freeze covers the holidays; the next opening is 2027-01-04. */
    check_next(office, "2026-12-20..2027-01-02", utc(2026, 12, 18, 16, 0),
               utc(2027, 1, 4, 8, 0));
    check_next(office, "2026-12-21..2026-12-21", utc(2026, 12, 21, 9, 0),
               utc(2026, 12, 22, 8, 0));
    /* Blackout dates alone: open on every other day (UTC). */
    s = make(NULL, "2026-12-24");
    CHECK(strata_schedule_open(s, utc(2026, 12, 23, 23, 59)));
    CHECK(!strata_schedule_open(s, utc(2026, 12, 24, 12, 0)));
    strata_schedule_free(s);
    check_next(NULL, "2026-12-24", utc(2026, 12, 24, 12, 0),
               utc(2026, 12, 25, 0, 0));
    /* Dates read in the first window's zone: Berlin's midnight. */
    s = make(office, "2026-12-23");
    CHECK(!strata_schedule_open(s, utc(2026, 12, 23, 15, 0)));
    CHECK(strata_schedule_open(s, utc(2026, 12, 22, 15, 0)));
    strata_schedule_free(s);
    /* Longer than the horizon: never. */
    s = make(office, "2026-01-01..2029-12-31");
    CHECK_EQ(strata_schedule_next_open(s, utc(2026, 6, 1, 0, 0)), -1);
    strata_schedule_free(s);
}

/* Every truncation and many corruptions of a real TZif file load or fail
 * cleanly (ASan runs this too). */
TEST(damaged_tzdata)
{
    char dir[] = "/tmp/strata-tz-XXXXXX", path[128], *data = NULL;
    size_t len = 0, cut, i;
    strata_error err = {0};
    int loaded = 0, refused = 0;
    FILE *f;

    CHECK_OK(strata_read_file(&data, &len, "/usr/share/zoneinfo/Europe/Berlin",
                              1 << 20, &err),
             &err);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/Bad", dir);
    setenv("TZDIR", dir, 1);
    for (i = 0; i < len + 400; i++) {
        unsigned char *copy = malloc(len);

        memcpy(copy, data, len);
        cut = len;
        if (i < len)
            cut = i; /* every truncation */
        else
            copy[(i * 7919) % len] ^= (unsigned char) (1u << (i % 8));
        f = fopen(path, "wb");
        CHECK(f != NULL);
        CHECK_EQ(fwrite(copy, 1, cut, f), cut);
        fclose(f);
        free(copy);
        if (strata_schedule_check_window("09:00-17:00 Bad", &err) == 0) {
            strata_schedule *s = make("Mon-Fri 09:00-17:00 Bad", NULL);

            (void) strata_schedule_next_open(s, utc(2026, 3, 27, 16, 0));
            (void) strata_schedule_next_open(s, utc(2045, 10, 27, 16, 0));
            strata_schedule_free(s);
            loaded++;
        } else {
            CHECK_EQ(err.code, STRATA_EINVAL);
            refused++;
        }
        strata_error_clear(&err);
    }
    printf("# %d damaged copies loaded, %d refused\n", loaded, refused);
    CHECK(refused >= 44); /* at least every header cut */
    /* TZDIR names where zones are looked up. */
    CHECK_EQ(strata_schedule_check_window("09:00-17:00 Europe/Berlin", &err),
             STRATA_EINVAL);
    CHECK_CONTAINS(err.msg, dir);
    unsetenv("TZDIR");
    unlink(path);
    rmdir(dir);
    free(data);
}

int
main(void)
{
    if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
        SKIP_ALL("no tzdata in /usr/share/zoneinfo");
    RUN(grammar);
    RUN(berlin_dst);
    RUN(southern_zone);
    RUN(past_midnight);
    RUN(blackout);
    RUN(damaged_tzdata);
    return harness_done();
}
