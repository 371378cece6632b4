/*
 * schedule.c - schedule windows ("Mon-Fri 09:00-17:00 Europe/Berlin") and
 * blackout dates ("2026-12-24", "2026-12-20..2027-01-02"): whether an
 * instant is inside them, and when they next open.
 *
 * Time zones come from the system's tzdata, read here: glibc converts in
 * one zone at a time, the process's TZ, and changing it (setenv + tzset)
 * is not thread-safe (getenv in another thread races it; libuv's pool and
 * libcurl run threads), and glibc has no localtime_rz. So a zone is a
 * TZif file (RFC 8536, version 2 or later: Debian's are) parsed with
 * fixed bounds: its 64-bit transitions, and for instants past the last
 * one the POSIX TZ rule of its footer ("CET-1CEST,M3.5.0,M10.5.0/3").
 * A loaded schedule is immutable: any thread may query it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define TZ_MAX_FILE (256 * 1024)
#define TZ_MAX_TIMES 4096
#define TZ_MAX_TYPES 256
#define MAX_WINDOWS 64
#define MAX_BLACKOUT 256
/* How far ahead next_open looks: a blackout may be long, not endless. */
#define HORIZON_S (800LL * 86400)

typedef struct tz_rule_end {
    int month, week, wday; /* Mm.w.d */
    int32_t secs;          /* local time of day, may be < 0 or > 24h */
} tz_rule_end;

typedef struct tz_zone {
    char *name;
    size_t n_times;
    int64_t *times;
    unsigned char *idx;
    size_t n_types;
    int32_t offs[TZ_MAX_TYPES];
    /* The footer rule: std_off alone, or with dst_off between start/end. */
    int has_rule, has_dst;
    int32_t std_off, dst_off;
    tz_rule_end start, end;
} tz_zone;

typedef struct window {
    unsigned char days; /* bit d: weekday d (0 Sunday) */
    int start, end;     /* minutes of the day; end may be 1440 */
    const tz_zone *zone;
} window;

typedef struct blackout {
    int64_t first, last; /* days since the epoch, inclusive */
} blackout;

struct strata_schedule {
    size_t n_windows, n_blackout, n_zones;
    window windows[MAX_WINDOWS];
    blackout blackout[MAX_BLACKOUT];
    tz_zone *zones[MAX_WINDOWS + 1];
    const tz_zone *blackout_zone;
};

/* ---- civil dates ------------------------------------------------------- */

static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, int m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return n[m - 1];
}

static int64_t
floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* 0 Sunday .. 6 Saturday; 1970-01-01 was a Thursday. */
static int
weekday(int64_t days)
{
    return (int) (((days + 4) % 7 + 7) % 7);
}

/* ---- the POSIX TZ rule of a TZif footer ---------------------------------- */

static int
rule_name(const char **p)
{
    const char *s = *p;

    if (*s == '<') {
        s = strchr(s, '>');
        if (s == NULL)
            return -1;
        *p = s + 1;
        return 0;
    }
    while (isalpha((unsigned char) *s))
        s++;
    if (s - *p < 3)
        return -1;
    *p = s;
    return 0;
}

/* [+-]hh[:mm[:ss]] into seconds. */
static int
rule_time(const char **p, int32_t *out)
{
    const char *s = *p;
    int sign = 1, part = 0;
    long v[3] = {0, 0, 0};

    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    for (;;) {
        char *end;

        if (!isdigit((unsigned char) *s))
            return -1;
        v[part] = strtol(s, &end, 10);
        if (v[part] > 167 || end - s > 3)
            return -1;
        s = end;
        if (*s != ':' || part == 2)
            break;
        s++;
        part++;
    }
    *out = (int32_t) (sign * (v[0] * 3600 + v[1] * 60 + v[2]));
    *p = s;
    return 0;
}

static int
rule_end(const char **p, tz_rule_end *e)
{
    const char *s = *p;
    char *end;

    if (*s != 'M') /* Jn and n: no zone of today's tzdata uses them */
        return -1;
    e->month = (int) strtol(s + 1, &end, 10);
    if (*end != '.')
        return -1;
    e->week = (int) strtol(end + 1, &end, 10);
    if (*end != '.')
        return -1;
    e->wday = (int) strtol(end + 1, &end, 10);
    if (e->month < 1 || e->month > 12 || e->week < 1 || e->week > 5 ||
        e->wday < 0 || e->wday > 6)
        return -1;
    s = end;
    e->secs = 7200;
    if (*s == '/') {
        s++;
        if (rule_time(&s, &e->secs) != 0)
            return -1;
    }
    *p = s;
    return 0;
}

static int
rule_parse(tz_zone *z, const char *s)
{
    int32_t off;

    if (rule_name(&s) != 0 || rule_time(&s, &off) != 0)
        return -1;
    z->std_off = -off; /* POSIX counts west of Greenwich */
    if (*s == '\0') {
        z->has_rule = 1;
        return 0;
    }
    if (rule_name(&s) != 0)
        return -1;
    z->dst_off = z->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if (rule_time(&s, &off) != 0)
            return -1;
        z->dst_off = -off;
    }
    if (*s++ != ',' || rule_end(&s, &z->start) != 0 || *s++ != ',' ||
        rule_end(&s, &z->end) != 0 || *s != '\0')
        return -1;
    z->has_rule = z->has_dst = 1;
    return 0;
}

/* The UTC instant a rule end happens in year y, given the offset before. */
static int64_t
rule_at(const tz_rule_end *e, int64_t y, int32_t off_before)
{
    int first = weekday(days_from_civil(y, e->month, 1));
    int day = 1 + (e->wday - first + 7) % 7 + (e->week - 1) * 7;

    while (day > days_in_month(y, e->month))
        day -= 7;
    return days_from_civil(y, e->month, day) * 86400 + e->secs - off_before;
}

static int32_t
rule_offset(const tz_zone *z, int64_t t)
{
    int64_t y, start, end;
    int m, d;

    if (!z->has_dst)
        return z->std_off;
    civil_from_days(floor_div(t + z->std_off, 86400), &y, &m, &d);
    start = rule_at(&z->start, y, z->std_off);
    end = rule_at(&z->end, y, z->dst_off);
    if (start < end)
        return t >= start && t < end ? z->dst_off : z->std_off;
    return t >= end && t < start ? z->std_off : z->dst_off;
}

/* ---- TZif ---------------------------------------------------------------- */

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
           (uint32_t) p[2] << 8 | p[3];
}

static void
zone_free(tz_zone *z)
{
    if (z == NULL)
        return;
    free(z->name);
    free(z->times);
    free(z->idx);
    free(z);
}

static int
zone_name_ok(const char *name)
{
    const char *p;

    if (*name == '\0' || *name == '/' || *name == '.' || strlen(name) > 128 ||
        strstr(name, "..") != NULL)
        return 0;
    for (p = name; *p != '\0'; p++)
        if (!isalnum((unsigned char) *p) && strchr("/_+-", *p) == NULL)
            return 0;
    return 1;
}

static int
zone_load(tz_zone **out, const char *name, strata_error *err)
{
    tz_zone *z = strata_xcalloc(1, sizeof(*z));
    unsigned char *buf = NULL;
    const unsigned char *p;
    size_t len = 0, i, need;
    uint32_t cnt[6];
    const char *dir;
    char *path;
    int rc = 0;

    *out = NULL;
    z->name = strata_xstrdup(name);
    if (strcmp(name, "UTC") == 0) {
        z->has_rule = 1; /* std_off 0, no transitions */
        *out = z;
        return 0;
    }
    if (!zone_name_ok(name)) {
        zone_free(z);
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid time zone name '%s'", name);
    }
    /* TZDIR, as glibc reads it (set before any thread starts), else
     * Debian's place. */
    dir = getenv("TZDIR");
    if (dir == NULL || dir[0] != '/')
        dir = ZONEINFO;
    path = strata_xasprintf("%s/%s", dir, name);
    rc = strata_read_file((char **) &buf, &len, path, TZ_MAX_FILE, err);
    free(path);
    if (rc != 0) {
        zone_free(z);
        return strata_error_set(err, STRATA_EINVAL,
                                "unknown time zone '%s' (not in %s)", name,
                                dir);
    }
#define BAD(what)                                                              \
    do {                                                                       \
        rc = strata_error_set(err, STRATA_EINVAL,                              \
                              "time zone '%s': %s in its tzdata file", name,   \
                              what);                                           \
        goto out;                                                              \
    } while (0)
    if (len < 44 || memcmp(buf, "TZif", 4) != 0)
        BAD("not a TZif file");
    if (buf[4] < '2')
        BAD("version 1 (no 64-bit data)");
    for (i = 0; i < 6; i++)
        cnt[i] = be32(buf + 20 + 4 * i);
    /* Skip the version 1 block to the 64-bit header. */
    need = 44 + (size_t) cnt[3] * 5 + (size_t) cnt[4] * 6 + cnt[5] +
           (size_t) cnt[2] * 8 + cnt[1] + cnt[0];
    if (cnt[3] > TZ_MAX_TIMES || cnt[4] > TZ_MAX_TYPES || cnt[2] > 1024 ||
        cnt[5] > 1024 || need + 44 > len)
        BAD("bad counts");
    p = buf + need;
    if (memcmp(p, "TZif", 4) != 0)
        BAD("no second header");
    for (i = 0; i < 6; i++)
        cnt[i] = be32(p + 20 + 4 * i);
    p += 44;
    need = (size_t) cnt[3] * 9 + (size_t) cnt[4] * 6 + cnt[5] +
           (size_t) cnt[2] * 12 + cnt[1] + cnt[0];
    if (cnt[3] > TZ_MAX_TIMES || cnt[4] > TZ_MAX_TYPES || cnt[4] == 0 ||
        cnt[2] > 1024 || cnt[5] > 1024 || need > len - (size_t) (p - buf))
        BAD("bad counts");
    z->n_times = cnt[3];
    z->n_types = cnt[4];
    z->times = strata_xcalloc(z->n_times + 1, sizeof(*z->times));
    z->idx = strata_xcalloc(z->n_times + 1, 1);
    for (i = 0; i < z->n_times; i++, p += 8)
        z->times[i] = (int64_t) ((uint64_t) be32(p) << 32 | be32(p + 4));
    for (i = 0; i < z->n_times; i++) {
        z->idx[i] = *p++;
        if (z->idx[i] >= z->n_types)
            BAD("a bad type index");
    }
    for (i = 0; i < z->n_types; i++, p += 6) {
        z->offs[i] = (int32_t) be32(p);
        if (z->offs[i] < -26 * 3600 || z->offs[i] > 26 * 3600)
            BAD("a bad offset");
    }
    p += cnt[5] + (size_t) cnt[2] * 12 + cnt[1] + cnt[0];
    /* The footer: "\nRULE\n", possibly empty. */
    if (p < buf + len && *p == '\n') {
        const unsigned char *e =
            memchr(p + 1, '\n', len - (size_t) (p + 1 - buf));
        char rule[128];

        if (e != NULL && e > p + 1 && (size_t) (e - p - 1) < sizeof(rule)) {
            memcpy(rule, p + 1, (size_t) (e - p - 1));
            rule[e - p - 1] = '\0';
            if (rule_parse(z, rule) != 0)
                z->has_rule = z->has_dst = 0; /* keep the last type */
        }
    }
#undef BAD
out:
    free(buf);
    if (rc != 0) {
        zone_free(z);
        return rc;
    }
    *out = z;
    return 0;
}

/* Seconds east of UTC at UTC instant t (seconds). */
static int32_t
zone_offset(const tz_zone *z, int64_t t)
{
    size_t lo = 0, hi = z->n_times;

    if (z->n_times == 0 || t < z->times[0]) {
        if (z->n_times == 0 && z->has_rule)
            return rule_offset(z, t);
        return z->offs[0];
    }
    if (t >= z->times[z->n_times - 1] && z->has_rule)
        return rule_offset(z, t);
    while (hi - lo > 1) { /* times[lo] <= t < times[hi] */
        size_t mid = lo + (hi - lo) / 2;

        if (z->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->offs[z->idx[lo]];
}

/* ---- the grammar ------------------------------------------------------- */

static const char *const day_names[] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat"};

static int
day_parse(const char *s, size_t n)
{
    int d;

    if (n != 3)
        return -1;
    for (d = 0; d < 7; d++)
        if (strncasecmp(s, day_names[d], 3) == 0)
            return d;
    return -1;
}

/* "Mon-Fri,Sun" into a bit set. */
static int
days_parse(unsigned char *out, const char *s, size_t n)
{
    const char *end = s + n;

    *out = 0;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t) (end - s));
        const char *item_end = comma ? comma : end;
        const char *dash = memchr(s, '-', (size_t) (item_end - s));
        int a, b;

        if (dash != NULL) {
            a = day_parse(s, (size_t) (dash - s));
            b = day_parse(dash + 1, (size_t) (item_end - dash - 1));
        } else {
            a = b = day_parse(s, (size_t) (item_end - s));
        }
        if (a < 0 || b < 0)
            return -1;
        for (;;) { /* Fri-Mon wraps through the weekend */
            *out |= (unsigned char) (1u << a);
            if (a == b)
                break;
            a = (a + 1) % 7;
        }
        if (comma == NULL)
            break;
        s = comma + 1;
        if (s == end)
            return -1;
    }
    return 0;
}

static int
hhmm(const char *s, int *out)
{
    if (!isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1]) ||
        s[2] != ':' || !isdigit((unsigned char) s[3]) ||
        !isdigit((unsigned char) s[4]))
        return -1;
    *out =
        ((s[0] - '0') * 10 + s[1] - '0') * 60 + (s[3] - '0') * 10 + s[4] - '0';
    if ((s[3] - '0') > 5 || *out > 1440)
        return -1;
    return 0;
}

static tz_zone *
zone_find(strata_schedule *s, const char *name, strata_error *err)
{
    size_t i;

    for (i = 0; i < s->n_zones; i++)
        if (strcmp(s->zones[i]->name, name) == 0)
            return s->zones[i];
    if (zone_load(&s->zones[s->n_zones], name, err) != 0)
        return NULL;
    return s->zones[s->n_zones++];
}

static int
window_parse(strata_schedule *s, window *w, const char *text, strata_error *err)
{
    const char *tok[4];
    size_t len[4], n = 0, t;
    const char *p = text;
    const char *zone = "UTC";
    char zbuf[160];

    while (*p != '\0') {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (n == 3)
            goto syntax;
        tok[n] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        len[n] = (size_t) (p - tok[n]);
        n++;
    }
    if (n == 0)
        goto syntax;
    t = isdigit((unsigned char) tok[0][0]) ? 0 : 1;
    w->days = 0x7f;
    if (t == 1 && days_parse(&w->days, tok[0], len[0]) != 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid days '%.*s' (expected Mon..Sun, "
                                "ranges such as Mon-Fri, lists with commas)",
                                (int) len[0], tok[0]);
    if (t >= n || len[t] != 11 || tok[t][5] != '-' ||
        hhmm(tok[t], &w->start) != 0 || hhmm(tok[t] + 6, &w->end) != 0)
        goto syntax;
    if (w->start == 1440 || w->start == w->end)
        return strata_error_set(err, STRATA_EINVAL,
                                "empty or invalid hours '%.*s'", (int) len[t],
                                tok[t]);
    if (t + 1 < n) {
        if (t + 2 < n || len[t + 1] >= sizeof(zbuf))
            goto syntax;
        memcpy(zbuf, tok[t + 1], len[t + 1]);
        zbuf[len[t + 1]] = '\0';
        zone = zbuf;
    }
    if (w->end == 1440 && w->start > w->end)
        goto syntax;
    w->zone = zone_find(s, zone, err);
    return w->zone != NULL ? 0 : err->code;
syntax:
    return strata_error_set(err, STRATA_EINVAL,
                            "expected [DAYS] HH:MM-HH:MM [ZONE], e.g. "
                            "'Mon-Fri 09:00-17:00 Europe/Berlin'");
}

static int
date_parse(const char *s, size_t n, int64_t *out)
{
    int64_t y;
    int m, d;

    if (n != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (size_t i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char) s[i]))
            return -1;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + s[3] -
        '0';
    m = (s[5] - '0') * 10 + s[6] - '0';
    d = (s[8] - '0') * 10 + s[9] - '0';
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return -1;
    *out = days_from_civil(y, m, d);
    return 0;
}

static int
blackout_parse(blackout *b, const char *text, strata_error *err)
{
    const char *dots = strstr(text, "..");
    size_t n = strlen(text);

    if (dots == NULL) {
        if (date_parse(text, n, &b->first) != 0)
            goto bad;
        b->last = b->first;
        return 0;
    }
    if (date_parse(text, (size_t) (dots - text), &b->first) != 0 ||
        date_parse(dots + 2, strlen(dots + 2), &b->last) != 0)
        goto bad;
    if (b->last < b->first)
        return strata_error_set(err, STRATA_EINVAL,
                                "the range ends before it starts");
    return 0;
bad:
    return strata_error_set(err, STRATA_EINVAL,
                            "expected YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD");
}

/* ---- the public part ----------------------------------------------------- */

int
strata_schedule_new(strata_schedule **out, const char *const *windows,
                    size_t n_windows, const char *const *blackouts,
                    size_t n_blackouts, strata_error *err)
{
    strata_schedule *s;
    size_t i;
    int rc;

    *out = NULL;
    if (n_windows > MAX_WINDOWS || n_blackouts > MAX_BLACKOUT)
        return strata_error_set(err, STRATA_EINVAL,
                                "too many windows or blackout dates (at "
                                "most %d and %d)",
                                MAX_WINDOWS, MAX_BLACKOUT);
    s = strata_xcalloc(1, sizeof(*s));
    for (i = 0; i < n_windows; i++) {
        if ((rc = window_parse(s, &s->windows[i], windows[i], err)) != 0) {
            strata_error_wrap(err, "window '%s'", windows[i]);
            goto fail;
        }
        s->n_windows++;
    }
    for (i = 0; i < n_blackouts; i++) {
        if ((rc = blackout_parse(&s->blackout[i], blackouts[i], err)) != 0) {
            strata_error_wrap(err, "blackout '%s'", blackouts[i]);
            goto fail;
        }
        s->n_blackout++;
    }
    if (s->n_windows > 0) {
        s->blackout_zone = s->windows[0].zone;
    } else {
        s->blackout_zone = zone_find(s, "UTC", err);
        if (s->blackout_zone == NULL) {
            rc = err->code;
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    strata_schedule_free(s);
    return rc;
}

int
strata_schedule_check_window(const char *window_text, strata_error *err)
{
    strata_schedule *s = strata_xcalloc(1, sizeof(*s));
    int rc = window_parse(s, &s->windows[0], window_text, err);

    strata_schedule_free(s);
    return rc;
}

int
strata_schedule_check_blackout(const char *text, strata_error *err)
{
    blackout b;

    return blackout_parse(&b, text, err);
}

void
strata_schedule_free(strata_schedule *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n_zones; i++)
        zone_free(s->zones[i]);
    free(s);
}

static int
window_open(const window *w, int64_t t)
{
    int64_t local = t + zone_offset(w->zone, t);
    int64_t days = floor_div(local, 86400);
    int64_t sod = local - days * 86400;
    int d = weekday(days), prev = (d + 6) % 7;

    if (w->start < w->end)
        return (w->days >> d & 1) && sod >= w->start * 60LL &&
               sod < w->end * 60LL;
    return ((w->days >> d & 1) && sod >= w->start * 60LL) ||
           ((w->days >> prev & 1) && sod < w->end * 60LL);
}

static int
open_at(const strata_schedule *s, int64_t t)
{
    size_t i;

    if (s->n_blackout > 0) {
        int64_t days = floor_div(t + zone_offset(s->blackout_zone, t), 86400);

        for (i = 0; i < s->n_blackout; i++)
            if (days >= s->blackout[i].first && days <= s->blackout[i].last)
                return 0;
    }
    if (s->n_windows == 0)
        return 1;
    for (i = 0; i < s->n_windows; i++)
        if (window_open(&s->windows[i], t))
            return 1;
    return 0;
}

int
strata_schedule_open(const strata_schedule *s, int64_t t_ms)
{
    return open_at(s, floor_div(t_ms, 1000));
}

/* Seconds from t to the next local event of w's zone: its start, midnight. */
static int64_t
next_event(const tz_zone *z, int start_min, int64_t t)
{
    int64_t local = t + zone_offset(z, t);
    int64_t sod = local - floor_div(local, 86400) * 86400;
    int64_t delta = 86400 - sod;

    if (start_min >= 0 && start_min * 60LL > sod &&
        start_min * 60LL - sod < delta)
        delta = start_min * 60LL - sod;
    return delta;
}

/* The first instant in (t, t2] where z's offset is not what it is at t. */
static int64_t
first_change(const tz_zone *z, int64_t t, int64_t t2)
{
    int32_t off = zone_offset(z, t);

    if (zone_offset(z, t2) == off)
        return t2;
    while (t2 - t > 1) {
        int64_t mid = t + (t2 - t) / 2;

        if (zone_offset(z, mid) == off)
            t = mid;
        else
            t2 = mid;
    }
    return t2;
}

int64_t
strata_schedule_next_open(const strata_schedule *s, int64_t t_ms)
{
    int64_t t0 = floor_div(t_ms + 999, 1000), t = t0;
    size_t i;

    /*
     * Openings happen only at a window's local start, a local midnight
     * (a blackout day ends) or a change of offset (DST): step from one
     * such instant to the next, never across an offset change unnoticed.
     */
    while (t - t0 <= HORIZON_S) {
        int64_t next = t + 86400;

        if (open_at(s, t))
            return t == t0 ? t_ms : t * 1000;
        for (i = 0; i < s->n_windows; i++) {
            int64_t d = next_event(s->windows[i].zone, s->windows[i].start, t);

            if (t + d < next)
                next = t + d;
        }
        if (s->n_windows == 0) {
            int64_t d = next_event(s->blackout_zone, -1, t);

            if (t + d < next)
                next = t + d;
        }
        for (i = 0; i < s->n_zones; i++)
            next = first_change(s->zones[i], t, next);
        t = next;
    }
    return -1;
}
