/*
 * render.c - the stale report for people and programs: an aligned table
 * (ANSI colour when the caller says the output is a terminal), JSON (the
 * report document itself), CSV (RFC 4180), Markdown and Prometheus text.
 * The HTML page has its own file (render-html.c). Every renderer reads
 * the JSON document made by strata_report_stale().
 */
#include <stdlib.h>
#include <string.h>

#include "report-int.h"

/* The columns of the table, CSV and Markdown outputs. */
typedef struct column {
    const char *title; /* table and Markdown header */
    const char *csv;   /* CSV header: the JSON field name */
    int short_digest;  /* shorten sha256 digests in table and Markdown */
} column;

static const column columns[] = {
    {"IMAGE", "image", 0},
    {"BASE", "base", 0},
    {"BUILT ON", "built_on", 1},
    {"CURRENT", "current", 1},
    {"BEHIND", "updates_behind", 0},
    {"DAYS", "days_behind", 0},
    {"STATUS", "status", 0},
    {"CLASS", "class", 0},
    {"TEAM", "team", 0},
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

int
strata_report_parse_format(strata_report_format *out, const char *s)
{
    static const char *const names[] = {"table", "json", "csv", "md", "html"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (strata_report_format) i;
            return 0;
        }
    return STRATA_EINVAL;
}

/* The text of field key of row: "" for null, numbers in decimal. New. */
static char *
field(const json_t *row, const char *key, int short_digest)
{
    const json_t *v = json_object_get(row, key);

    if (json_is_integer(v))
        return strata_xasprintf("%lld", (long long) json_integer_value(v));
    if (json_is_array(v)) {
        strata_buf b = STRATA_BUF_INIT;
        const json_t *x;
        size_t i;
        json_array_foreach (v, i, x) {
            if (i > 0)
                strata_buf_puts(&b, " ");
            strata_buf_puts(&b, json_is_string(x) ? json_string_value(x) : "");
        }
        return strata_buf_detach(&b);
    }
    if (!json_is_string(v))
        return strata_xstrdup("");
    if (short_digest && strncmp(json_string_value(v), "sha256:", 7) == 0)
        return strata_xstrndup(json_string_value(v), 7 + 12);
    return strata_xstrdup(json_string_value(v));
}

static const char *
color_of(const char *key, const char *value)
{
    if (strcmp(key, "status") == 0) {
        if (strcmp(value, "stale") == 0)
            return "\033[31m";
        if (strcmp(value, "behind") == 0)
            return "\033[33m";
        if (strcmp(value, "current") == 0)
            return "\033[32m";
        return "\033[2m";
    }
    if (strcmp(key, "class") == 0) {
        if (strcmp(value, "deprecated") == 0)
            return "\033[35m";
        if (strcmp(value, "non-golden") == 0)
            return "\033[33m";
    }
    return NULL;
}

static void
render_table(strata_buf *b, const json_t *report, int color)
{
    const json_t *rows = json_object_get(report, "rows"), *row;
    const json_t *sum = json_object_get(report, "summary");
    size_t width[NCOLUMNS], i, k;

    for (k = 0; k < NCOLUMNS; k++)
        width[k] = strlen(columns[k].title);
    json_array_foreach (rows, i, row) {
        for (k = 0; k < NCOLUMNS; k++) {
            char *s = field(row, columns[k].csv, columns[k].short_digest);
            if (strlen(s) > width[k])
                width[k] = strlen(s);
            free(s);
        }
    }
    for (k = 0; k < NCOLUMNS; k++)
        strata_buf_printf(b, "%s%-*s", k ? "  " : "",
                          k + 1 < NCOLUMNS ? (int) width[k] : 0,
                          columns[k].title);
    strata_buf_putc(b, '\n');
    json_array_foreach (rows, i, row) {
        for (k = 0; k < NCOLUMNS; k++) {
            char *s = field(row, columns[k].csv, columns[k].short_digest);
            const char *c = color ? color_of(columns[k].csv, s) : NULL;
            size_t pad = width[k] - strlen(s);

            strata_buf_printf(b, "%s%s%s%s", k ? "  " : "", c ? c : "", s,
                              c ? "\033[0m" : "");
            if (k + 1 < NCOLUMNS)
                while (pad-- > 0)
                    strata_buf_putc(b, ' ');
            free(s);
        }
        strata_buf_putc(b, '\n');
    }
    /* What each image behind misses, when the packages of both digests
     * are kept: one line each, below the table it would widen. */
    json_array_foreach (rows, i, row) {
        const char *m = json_string_value(json_object_get(row, "missing"));

        if (m != NULL)
            strata_buf_printf(
                b, "%s misses: %s%s\n",
                json_string_value(json_object_get(row, "image")), m,
                json_is_true(json_object_get(row, "missing_major")) ? " (major)"
                                                                    : "");
    }
    strata_buf_printf(
        b, "%lld images, %lld stale, %lld behind, %lld current, %lld unknown\n",
        (long long) json_integer_value(json_object_get(sum, "images")),
        (long long) json_integer_value(json_object_get(sum, "stale")),
        (long long) json_integer_value(json_object_get(sum, "behind")),
        (long long) json_integer_value(json_object_get(sum, "current")),
        (long long) json_integer_value(json_object_get(sum, "unknown")));
}

/* RFC 4180: quoted when it holds a comma, quote, CR or LF; "" for ". */
static void
csv_field(strata_buf *b, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        strata_buf_puts(b, s);
        return;
    }
    strata_buf_putc(b, '"');
    for (; *s != '\0'; s++) {
        if (*s == '"')
            strata_buf_putc(b, '"');
        strata_buf_putc(b, *s);
    }
    strata_buf_putc(b, '"');
}

static const char *const csv_extra[] = {
    "reason", "tier", "base_owners", "sunset",  "replacement",
    "repo",   "path", "line",        "running", "missing"};
#define NEXTRA (sizeof(csv_extra) / sizeof(csv_extra[0]))

static void
render_csv(strata_buf *b, const json_t *report)
{
    const json_t *row;
    size_t i, k;

    for (k = 0; k < NCOLUMNS; k++)
        strata_buf_printf(b, "%s%s", k ? "," : "", columns[k].csv);
    for (k = 0; k < NEXTRA; k++)
        strata_buf_printf(b, ",%s", csv_extra[k]);
    strata_buf_puts(b, "\r\n");
    json_array_foreach (json_object_get(report, "rows"), i, row) {
        for (k = 0; k < NCOLUMNS + NEXTRA; k++) {
            char *s = field(
                row, k < NCOLUMNS ? columns[k].csv : csv_extra[k - NCOLUMNS],
                0);
            if (k > 0)
                strata_buf_putc(b, ',');
            csv_field(b, s);
            free(s);
        }
        strata_buf_puts(b, "\r\n");
    }
}

/* A Markdown table cell: '|' and '\' escaped, line breaks as spaces. */
static void
md_cell(strata_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|' || *s == '\\' || *s == '`' || *s == '*' || *s == '_' ||
            *s == '<' || *s == '[')
            strata_buf_putc(b, '\\');
        strata_buf_putc(b, *s == '\n' || *s == '\r' ? ' ' : *s);
    }
}

static void
render_md(strata_buf *b, const json_t *report)
{
    const json_t *sum = json_object_get(report, "summary"), *row;
    size_t i, k;

    strata_buf_printf(
        b,
        "# Stale base images\n\nGenerated %s: %lld images, **%lld stale**, "
        "%lld behind, %lld current, %lld unknown; %lld non-golden, %lld "
        "deprecated.\n\n",
        strata_report__str(report, "generated", "?"),
        (long long) json_integer_value(json_object_get(sum, "images")),
        (long long) json_integer_value(json_object_get(sum, "stale")),
        (long long) json_integer_value(json_object_get(sum, "behind")),
        (long long) json_integer_value(json_object_get(sum, "current")),
        (long long) json_integer_value(json_object_get(sum, "unknown")),
        (long long) json_integer_value(json_object_get(sum, "non-golden")),
        (long long) json_integer_value(json_object_get(sum, "deprecated")));
    strata_buf_puts(b, "|");
    for (k = 0; k < NCOLUMNS; k++)
        strata_buf_printf(b, " %s |", columns[k].title);
    strata_buf_puts(b, "\n|");
    for (k = 0; k < NCOLUMNS; k++)
        strata_buf_puts(b, k == 4 || k == 5 ? " ---: |" : " --- |");
    strata_buf_putc(b, '\n');
    json_array_foreach (json_object_get(report, "rows"), i, row) {
        strata_buf_puts(b, "|");
        for (k = 0; k < NCOLUMNS; k++) {
            char *s = field(row, columns[k].csv, columns[k].short_digest);
            strata_buf_putc(b, ' ');
            md_cell(b, s);
            strata_buf_puts(b, " |");
            free(s);
        }
        strata_buf_putc(b, '\n');
    }
}

void
strata_report_render(strata_buf *b, const json_t *report,
                     strata_report_format format, int color)
{
    char *s;

    switch (format) {
    case STRATA_REPORT_JSON:
        s = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        strata_buf_puts(b, s);
        strata_buf_putc(b, '\n');
        free(s);
        break;
    case STRATA_REPORT_CSV:
        render_csv(b, report);
        break;
    case STRATA_REPORT_MD:
        render_md(b, report);
        break;
    case STRATA_REPORT_HTML:
        strata_report__render_html(b, report);
        break;
    default:
        render_table(b, report, color);
    }
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
prom_family(strata_buf *b, const json_t *report, const char *name,
            const char *help, const char *key)
{
    const json_t *row;
    size_t i;

    strata_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    json_array_foreach (json_object_get(report, "rows"), i, row) {
        const json_t *v = json_object_get(row, key);
        long long value;

        if (key == NULL)
            value = strcmp(strata_report__str(row, "status", ""), "stale") == 0;
        else if (json_is_integer(v))
            value = (long long) json_integer_value(v);
        else
            continue; /* unknown: no sample rather than a made-up one */
        strata_buf_printf(b, "%s{image=\"", name);
        strata_prom_label_escape(b, strata_report__str(row, "image", ""));
        strata_buf_puts(b, "\",base=\"");
        strata_prom_label_escape(b, strata_report__str(row, "base", ""));
        strata_buf_printf(b, "\"} %lld\n", value);
    }
}

void
strata_report_prometheus(strata_buf *b, const json_t *report)
{
    prom_family(b, report, "strata_image_base_updates_behind",
                "Base digests published after the one the image was built on.",
                "updates_behind");
    prom_family(b, report, "strata_image_base_days_behind",
                "Days since the first newer digest of the base appeared.",
                "days_behind");
    prom_family(b, report, "strata_image_base_stale",
                "1 when the image counts as stale for this base.", NULL);
}
