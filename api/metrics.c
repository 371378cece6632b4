/*
 * metrics.c - a small registry of counters, gauges and histograms that
 * renders itself in the Prometheus text exposition format 0.0.4, for the
 * HTTP API's GET /metrics. Families are declared once by name; each
 * distinct label set is a series, kept in declaration order. Labels are
 * rendered (and escaped) once, when a series is created, and the rendered
 * text is the series' key, so an update is a lookup and an add.
 *
 * Everything runs on the loop thread: there is no locking.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "api-int.h"

typedef struct series {
    char *labels;     /* `code="200",method="GET"`, or "" */
    double value;     /* counter, gauge */
    uint64_t *counts; /* histogram: per bucket, not cumulative */
    uint64_t count;
    double sum;
    struct series *next;
} series;

typedef struct family {
    strata_metric_kind kind;
    char *name;
    char *help;
    double *bounds; /* histogram upper bounds, +Inf excluded */
    size_t nbounds;
    series *first, *last;
    struct family *next;
} family;

struct strata_metrics {
    family *first, *last;
};

/* Request latencies, in seconds. */
static const double default_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5,   1,    2.5,   5,    10};

strata_metrics *
strata_metrics_new(void)
{
    return strata_xcalloc(1, sizeof(strata_metrics));
}

void
strata_metrics_free(strata_metrics *m)
{
    family *f, *fnext;
    series *s, *snext;

    if (m == NULL)
        return;
    for (f = m->first; f != NULL; f = fnext) {
        fnext = f->next;
        for (s = f->first; s != NULL; s = snext) {
            snext = s->next;
            free(s->labels);
            free(s->counts);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f->bounds);
        free(f);
    }
    free(m);
}

static int
valid_name(const char *name, int allow_colon)
{
    const char *p;

    if (name == NULL || name[0] == '\0' || (name[0] >= '0' && name[0] <= '9'))
        return 0;
    for (p = name; *p != '\0'; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || (allow_colon && c == ':')))
            return 0;
    }
    return 1;
}

static family *
find_family(const strata_metrics *m, const char *name)
{
    family *f;

    for (f = m->first; f != NULL; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

int
strata_metrics_define(strata_metrics *m, strata_metric_kind kind,
                      const char *name, const char *help, const double *buckets,
                      size_t nbuckets, strata_error *err)
{
    family *f;
    size_t i;

    if (!valid_name(name, 1))
        return strata_error_set(err, STRATA_EINVAL, "bad metric name '%s'",
                                name ? name : "");
    if (help != NULL && strpbrk(help, "\n\\") != NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "help of metric '%s' must be one plain line",
                                name);
    if (find_family(m, name) != NULL)
        return strata_error_set(err, STRATA_EEXISTS,
                                "metric '%s' is already defined", name);
    if (kind == STRATA_METRIC_HISTOGRAM) {
        if (buckets == NULL) {
            buckets = default_bounds;
            nbuckets = sizeof(default_bounds) / sizeof(default_bounds[0]);
        }
        for (i = 0; i < nbuckets; i++)
            if (!isfinite(buckets[i]) ||
                (i > 0 && buckets[i] <= buckets[i - 1]))
                return strata_error_set(err, STRATA_EINVAL,
                                        "buckets of metric '%s' must be "
                                        "finite and strictly increasing",
                                        name);
    }

    f = strata_xcalloc(1, sizeof(*f));
    f->kind = kind;
    f->name = strata_xstrdup(name);
    f->help = strata_xstrdup(help ? help : "");
    if (kind == STRATA_METRIC_HISTOGRAM && nbuckets > 0) {
        f->bounds = strata_xmalloc(nbuckets * sizeof(double));
        memcpy(f->bounds, buckets, nbuckets * sizeof(double));
        f->nbounds = nbuckets;
    }
    if (m->last != NULL)
        m->last->next = f;
    else
        m->first = f;
    m->last = f;
    return 0;
}

/* Label values escape backslash, double quote and newline (core's
 * strata_prom_label_escape, the one escaper of the exposition format). */
static void
render_labels(strata_buf *b, const char *const *labels)
{
    size_t i;

    for (i = 0; labels != NULL && labels[i] != NULL; i += 2) {
        assert(labels[i + 1] != NULL);
        assert(valid_name(labels[i], 0));
        if (i > 0)
            strata_buf_putc(b, ',');
        strata_buf_printf(b, "%s=\"", labels[i]);
        strata_prom_label_escape(b, labels[i + 1]);
        strata_buf_putc(b, '"');
    }
}

static series *
get_series(strata_metrics *m, const char *name, strata_metric_kind kind,
           const char *const *labels)
{
    strata_buf key = STRATA_BUF_INIT;
    family *f = find_family(m, name);
    series *s;

    assert(f != NULL && "metric not defined");
    assert(f->kind == kind ||
           (kind == STRATA_METRIC_COUNTER && f->kind == STRATA_METRIC_GAUGE) ||
           (kind == STRATA_METRIC_GAUGE && f->kind == STRATA_METRIC_COUNTER));
    render_labels(&key, labels);
    for (s = f->first; s != NULL; s = s->next) {
        if (strcmp(s->labels, strata_buf_cstr(&key)) == 0) {
            strata_buf_release(&key);
            return s;
        }
    }
    s = strata_xcalloc(1, sizeof(*s));
    s->labels = key.ptr ? strata_buf_detach(&key) : strata_xstrdup("");
    if (f->kind == STRATA_METRIC_HISTOGRAM)
        s->counts = strata_xcalloc(f->nbounds + 1, sizeof(uint64_t));
    if (f->last != NULL)
        f->last->next = s;
    else
        f->first = s;
    f->last = s;
    return s;
}

void
strata_metrics_add(strata_metrics *m, const char *name,
                   const char *const *labels, double v)
{
    series *s = get_series(m, name, STRATA_METRIC_COUNTER, labels);

    assert(find_family(m, name)->kind == STRATA_METRIC_GAUGE || v >= 0);
    s->value += v;
}

void
strata_metrics_set(strata_metrics *m, const char *name,
                   const char *const *labels, double v)
{
    series *s = get_series(m, name, STRATA_METRIC_GAUGE, labels);

    /* A counter mirrors a total kept elsewhere: it never goes down. */
    assert(find_family(m, name)->kind == STRATA_METRIC_GAUGE || v >= s->value);
    s->value = v;
}

void
strata_metrics_observe(strata_metrics *m, const char *name,
                       const char *const *labels, double v)
{
    family *f = find_family(m, name);
    series *s = get_series(m, name, STRATA_METRIC_HISTOGRAM, labels);
    size_t i;

    for (i = 0; i < f->nbounds && v > f->bounds[i]; i++)
        ;
    s->counts[i]++;
    s->count++;
    s->sum += v;
}

/* Go's strconv style as Prometheus expects: "+Inf", "NaN", "0.25", "3". */
static void
put_number(strata_buf *b, double v)
{
    if (isnan(v))
        strata_buf_puts(b, "NaN");
    else if (isinf(v))
        strata_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else
        strata_buf_printf(b, "%.15g", v);
}

/* name{labels[,extra]} with the braces left out when both are empty. */
static void
put_series_name(strata_buf *b, const char *name, const char *suffix,
                const char *labels, const char *extra)
{
    strata_buf_printf(b, "%s%s", name, suffix);
    if (labels[0] == '\0' && (extra == NULL || extra[0] == '\0'))
        return;
    strata_buf_printf(b, "{%s%s%s}", labels,
                      labels[0] != '\0' && extra != NULL ? "," : "",
                      extra != NULL ? extra : "");
}

static void
render_histogram(strata_buf *b, const family *f, const series *s)
{
    uint64_t cumulative = 0;
    size_t i;

    for (i = 0; i <= f->nbounds; i++) {
        strata_buf le = STRATA_BUF_INIT;

        cumulative += s->counts[i];
        strata_buf_puts(&le, "le=\"");
        if (i < f->nbounds)
            put_number(&le, f->bounds[i]);
        else
            strata_buf_puts(&le, "+Inf");
        strata_buf_putc(&le, '"');
        put_series_name(b, f->name, "_bucket", s->labels, le.ptr);
        strata_buf_printf(b, " %llu\n", (unsigned long long) cumulative);
        strata_buf_release(&le);
    }
    put_series_name(b, f->name, "_sum", s->labels, NULL);
    strata_buf_putc(b, ' ');
    put_number(b, s->sum);
    strata_buf_putc(b, '\n');
    put_series_name(b, f->name, "_count", s->labels, NULL);
    strata_buf_printf(b, " %llu\n", (unsigned long long) s->count);
}

void
strata_metrics_render(const strata_metrics *m, strata_buf *out)
{
    static const char *const kinds[] = {"counter", "gauge", "histogram"};
    const family *f;
    const series *s;

    for (f = m->first; f != NULL; f = f->next) {
        if (f->help[0] != '\0')
            strata_buf_printf(out, "# HELP %s %s\n", f->name, f->help);
        strata_buf_printf(out, "# TYPE %s %s\n", f->name, kinds[f->kind]);
        for (s = f->first; s != NULL; s = s->next) {
            if (f->kind == STRATA_METRIC_HISTOGRAM) {
                render_histogram(out, f, s);
                continue;
            }
            put_series_name(out, f->name, "", s->labels, NULL);
            strata_buf_putc(out, ' ');
            put_number(out, s->value);
            strata_buf_putc(out, '\n');
        }
    }
}
