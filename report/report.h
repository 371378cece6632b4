/*
 * report.h - the golden base-image catalog and the stale-base report.
 *
 * The catalog is a YAML file of the base images a platform team blesses
 * (golden bases), with owners, tier, OS family, lifecycle (active, or
 * deprecated with a sunset date and a replacement), the age after which
 * images built on a base count as stale, a soak time and a signing key.
 * It is validated like the configuration: every problem is reported as
 * "FILE:LINE:COL: message".
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

/* ---- problems --------------------------------------------------------- */

/*
 * Everything wrong with a catalog file, in file order. The items use the
 * configuration's problem type, so both print the same way ("FILE:LINE:COL:
 * message" in ->text). The caller owns the list.
 */
typedef struct strata_report_problems strata_report_problems;

strata_report_problems *strata_report_problems_new(void);
void strata_report_problems_free(strata_report_problems *problems);
size_t strata_report_problems_count(const strata_report_problems *problems);
/* The i-th problem (i < count). Borrowed from the list. */
const strata_config_problem *
strata_report_problems_get(const strata_report_problems *problems, size_t i);

/* ---- the catalog ------------------------------------------------------ */

typedef enum strata_report_lifecycle {
    STRATA_REPORT_ACTIVE = 0,
    STRATA_REPORT_DEPRECATED,
} strata_report_lifecycle;

/* One golden base. Every string is borrowed from the catalog. */
typedef struct strata_report_entry {
    int line, col;           /* where the entry starts in the file */
    const char *ref;         /* canonical "domain/path:tag", or the name for a
                                policy entry */
    const char *name;        /* "domain/path" */
    const char *semver;      /* policy: a semver range, or NULL (a tag entry) */
    const char *suffix;      /* policy: the tag suffix, or NULL */
    const char *description; /* or NULL */
    const char *const *owners; /* may be empty */
    size_t n_owners;
    const char *tier; /* or NULL */
    const char *os;   /* OS family, or NULL */
    strata_report_lifecycle lifecycle;
    const char *sunset;      /* "YYYY-MM-DD" when deprecated, else NULL */
    int64_t sunset_ms;       /* midnight UTC of the sunset date, or 0 */
    const char *replacement; /* canonical ref when deprecated, else NULL */
    uint64_t max_age_ms;     /* 0: any update behind is stale */
    uint64_t soak_ms;        /* newer digests younger than this don't count */
    const char *signing_key; /* absolute path, or NULL */
} strata_report_entry;

/* A team and the image references it owns (fnmatch(3) patterns). */
typedef struct strata_report_team {
    const char *name;
    const char *const *images;
    size_t n_images;
} strata_report_team;

typedef struct strata_report_catalog strata_report_catalog;

/*
 * Loads and validates the catalog at path. On success *out is the
 * caller's (strata_report_catalog_free). When the file has problems,
 * returns STRATA_EINVAL, leaves *out NULL, appends every problem to
 * problems (may be NULL) and sets err to a summary naming the first. A
 * file that cannot be read gives STRATA_ENOTFOUND or STRATA_EIO.
 */
int strata_report_catalog_load(strata_report_catalog **out, const char *path,
                               strata_report_problems *problems,
                               strata_error *err);
/*
 * Like _load, from YAML text; name is used in problems, base_dir resolves
 * relative paths (NULL: the working directory).
 */
int strata_report_catalog_load_string(strata_report_catalog **out,
                                      const char *yaml, size_t len,
                                      const char *name, const char *base_dir,
                                      strata_report_problems *problems,
                                      strata_error *err);
void strata_report_catalog_free(strata_report_catalog *cat);

size_t strata_report_catalog_count(const strata_report_catalog *cat);
/* The i-th entry in file order (i < count). Borrowed. */
const strata_report_entry *
strata_report_catalog_entry(const strata_report_catalog *cat, size_t i);
size_t strata_report_catalog_team_count(const strata_report_catalog *cat);
const strata_report_team *
strata_report_catalog_team(const strata_report_catalog *cat, size_t i);

/*
 * The entry that covers ref (canonical, any tag; a digest is ignored):
 * an entry with exactly that name and tag, else a policy entry of the same
 * name whose semver range and suffix accept the tag. NULL when none (the
 * base is not golden). Borrowed.
 */
const strata_report_entry *
strata_report_catalog_lookup(const strata_report_catalog *cat, const char *ref);

/* The team owning image (first matching pattern), or NULL. Borrowed. */
const char *strata_report_catalog_team_of(const strata_report_catalog *cat,
                                          const char *image);

/* "golden", "non-golden", "deprecated" for a lookup result. Static. */
const char *strata_report_classify(const strata_report_entry *entry);

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
    const strata_report_catalog *catalog; /* NULL: no base is golden */
    const strata_report_running *running; /* NULL: every known image */
    int64_t now_ms;                       /* 0: strata_now_ms() */
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
int strata_report_catalog_status(json_t **out, strata_store *st,
                                 const strata_graph *g,
                                 const strata_report_catalog *cat,
                                 strata_error *err);

/*
 * Every image built on a base that is not golden or is deprecated:
 * [{"image", "base", "class", "repo", "path", "line", "replacement"}].
 * Empty when all is well. *out is a new reference.
 */
int strata_report_catalog_check(json_t **out, const strata_graph *g,
                                const strata_report_catalog *cat,
                                strata_error *err);

#endif
