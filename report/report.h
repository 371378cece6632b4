/*
 * report.h - the stale-base report and the golden catalog's status.
 *
 * The catalog file itself (strata_catalog_*) is loaded by config/.
 *
 * The stale report reads the store (watch state: the current digest of
 * every watched base, and every digest seen for it with its first_seen)
 * and the lineage graph (which image is built on which base, and the
 * digest pinned at that reference) and says, for each image and each of
 * its external bases, how far behind it is. The report is a JSON document
 * (schema in docs/catalog.md, "strata.report.stale/v1"); the renderers
 * turn it into a table, CSV, Markdown, one self-contained HTML page, or
 * Prometheus gauges.
 */
#ifndef STRATA_REPORT_H
#define STRATA_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "core.h"
#include "graph.h"
#include "store.h"

/* ---- running images --------------------------------------------------- */

/*
 * What runs: references read from a plain list (one per line, '#'
 * comments) or from `kubectl get pods -A -o json` (containers and
 * initContainers, with the digests of status.*ContainerStatuses[].imageID).
 */
typedef struct strata_report_running strata_report_running;

/*
 * Parses data (JSON when it starts with '{' after blanks, else a list).
 * STRATA_EINVAL names the file and line (or the JSON error). *out is the
 * caller's.
 */
int strata_report_running_parse(strata_report_running **out, const char *data,
                                size_t len, const char *name,
                                strata_error *err);
int strata_report_running_load(strata_report_running **out, const char *path,
                               strata_error *err);
void strata_report_running_free(strata_report_running *r);
/* How many running containers (or list lines) were read. */
size_t strata_report_running_count(const strata_report_running *r);
/*
 * The i-th running reference (i < count) as written, and in *digest (may
 * be NULL) the digest it runs, or NULL when unknown. Borrowed from r.
 */
const char *strata_report_running_ref(const strata_report_running *r, size_t i,
                                      const char **digest);

/* ---- the stale report ------------------------------------------------- */

typedef struct strata_report_options {
    const strata_catalog *catalog;        /* NULL: no base is golden */
    const strata_report_running *running; /* NULL: every known image */
    int64_t now_ms;                       /* 0: strata_now_ms() */
    const strata_config_data *cfg;        /* registry aliases; NULL: none */
} strata_report_options;

/*
 * Computes the stale-base report. g is the lineage graph (NULL: loaded from
 * st with strata_graph_load); st gives the watch states and digests seen. opts
 * may be NULL. *out is a new reference: {"schema", "generated", "summary",
 * "rows", "unmatched_running"}, documented in docs/catalog.md.
 */
int strata_report_stale(json_t **out, strata_store *st, const strata_graph *g,
                        const strata_report_options *opts, strata_error *err);

/* 1 when the report has at least one row with status "stale". */
int strata_report_has_stale(const json_t *report);

typedef enum strata_report_format {
    STRATA_REPORT_TABLE = 0,
    STRATA_REPORT_JSON,
    STRATA_REPORT_CSV,
    STRATA_REPORT_MD,
    STRATA_REPORT_HTML,
} strata_report_format;

/* "table", "json", "csv", "md", "html"; STRATA_EINVAL otherwise. */
int strata_report_parse_format(strata_report_format *out, const char *s);

/*
 * Appends report (as made by strata_report_stale) rendered in format to
 * b. color: ANSI colours in the table (the caller decides, e.g. isatty).
 */
void strata_report_render(strata_buf *b, const json_t *report,
                          strata_report_format format, int color);

/*
 * Appends Prometheus text (format 0.0.4) for report to b: the gauges
 * strata_image_base_updates_behind, strata_image_base_days_behind and
 * strata_image_base_stale, labelled {image, base}.
 */
void strata_report_prometheus(strata_buf *b, const json_t *report);

/* ---- catalog status and check ----------------------------------------- */

/*
 * Each catalog entry with its state: [{"ref", "lifecycle", "watched",
 * "current_digest"|null, "changed"|null (first_seen of the current
 * digest), "images" (direct), "descendants" (transitive)}]. g NULL: loaded
 * from st. *out is a new reference.
 */
int strata_catalog_STATUS(json_t **out, strata_store *st, const strata_graph *g,
                          const strata_catalog *cat, strata_error *err);

/*
 * Every image built on a base that is not golden or is deprecated:
 * [{"image", "base", "class", "repo", "path", "line", "replacement"}].
 * Empty when all is well. *out is a new reference.
 */
int strata_catalog_CHECK(json_t **out, const strata_graph *g,
                         const strata_catalog *cat, strata_error *err);

#endif
