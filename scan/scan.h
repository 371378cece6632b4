/*
 * scan.h - rescans: vulnerability reports (Trivy, Grype, SARIF), their deltas
 * between digests, gates, and the scanner process.
 */
#ifndef STRATA_SCAN_H
#define STRATA_SCAN_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "core.h"
#include "store.h"

/*
 * A rescan runs a vulnerability scanner (Trivy, Grype, or anything that
 * writes SARIF 2.1.0) against one image digest, keeps its findings per
 * digest in the store, and compares them with the previous digest of the
 * same image: which findings are new, fixed or unchanged, by severity. A
 * gate decides what new findings of each severity do to the job.
 *
 * Reports are parsed with jansson from what the scanners document:
 *   Trivy JSON (SchemaVersion 2): Results[].Vulnerabilities[] with
 *     VulnerabilityID, PkgName, InstalledVersion, FixedVersion (absent
 *     when there is no fix) and Severity;
 *   Grype JSON: matches[] with vulnerability.{id, severity, fix.{versions,
 *     state}} and artifact.{name, version};
 *   SARIF 2.1.0: runs[].results[] with ruleId, level, locations; the
 *     severity comes from the rule's properties.tags (Trivy), else its
 *     security-severity (a CVSS score), else from the level (error: high,
 *     warning: medium, note: low, none: unknown); an old Trivy rule id
 *     "[LOW] CVE-2011-3374" carries both.
 * Within a report, entries with the same (id, pkg, version) are one
 * finding (the highest severity wins). Across digests a finding is
 * identified by (id, pkg): the same vulnerability in the same package is
 * unchanged whatever its installed version.
 */

typedef enum strata_scan_severity {
    STRATA_SCAN_UNKNOWN = 0,
    STRATA_SCAN_NEGLIGIBLE,
    STRATA_SCAN_LOW,
    STRATA_SCAN_MEDIUM,
    STRATA_SCAN_HIGH,
    STRATA_SCAN_CRITICAL,
    STRATA_SCAN_NSEVERITIES
} strata_scan_severity;

/* "unknown", "negligible", "low", "medium", "high", "critical". Static. */
const char *strata_scan_severity_name(strata_scan_severity s);
/*
 * Normalises a scanner's spelling, case-insensitively: "CRITICAL",
 * "High", "moderate" (medium), "negligible", "info" (negligible); anything
 * else (also "none", NULL) is STRATA_SCAN_UNKNOWN.
 */
strata_scan_severity strata_scan_severity_parse(const char *s);

typedef enum strata_scan_format {
    STRATA_SCAN_AUTO = 0, /* detect from the document */
    STRATA_SCAN_TRIVY,
    STRATA_SCAN_GRYPE,
    STRATA_SCAN_SARIF,
} strata_scan_format;

/* "auto", "trivy", "grype", "sarif". Static. */
const char *strata_scan_format_name(strata_scan_format f);
/* STRATA_EINVAL for an unknown name. */
int strata_scan_format_parse(strata_scan_format *out, const char *name,
                             strata_error *err);

/* One finding; its strings are owned by the report. */
typedef struct strata_scan_finding {
    const char *id;      /* "CVE-2019-1549", "GHSA-..." */
    const char *pkg;     /* the package; "" when the report names none */
    const char *version; /* installed version, or NULL */
    const char *fixed;   /* the version that fixes it, or NULL: no fix */
    strata_scan_severity severity;
} strata_scan_finding;

/* A parsed report: findings in report order. */
typedef struct strata_scan_report strata_scan_report;

/*
 * Parses a report (format STRATA_SCAN_AUTO detects it). name is used in
 * messages: "report 'trivy.json': 'Results[2].Vulnerabilities' is not an
 * array". STRATA_EINVAL for malformed JSON or a document that is not the
 * format; *out is the caller's (strata_scan_report_free).
 */
int strata_scan_report_parse(strata_scan_report **out, const char *data,
                             size_t len, strata_scan_format format,
                             const char *name, strata_error *err);
/* Reads path (at most 64 MiB) and parses it; STRATA_EIO when unreadable. */
int strata_scan_report_load(strata_scan_report **out, const char *path,
                            strata_scan_format format, strata_error *err);
/*
 * A report from findings as strata_scan_report_json() and the store write
 * them: [{"id", "pkg", "version", "fixed", "severity"}]. format is
 * recorded as given.
 */
int strata_scan_report_from_json(strata_scan_report **out,
                                 const json_t *findings,
                                 strata_scan_format format, const char *name,
                                 strata_error *err);
void strata_scan_report_free(strata_scan_report *r);

/* The format the report was parsed as (never AUTO after a parse). */
strata_scan_format strata_scan_report_format(const strata_scan_report *r);
size_t strata_scan_report_count(const strata_scan_report *r);
/* The i-th finding (i < count). Borrowed from r. */
const strata_scan_finding *strata_scan_report_get(const strata_scan_report *r,
                                                  size_t i);
/* out[severity] = how many findings have it. */
void strata_scan_report_counts(size_t out[STRATA_SCAN_NSEVERITIES],
                               const strata_scan_report *r);
/* New: [{"id", "pkg", "version", "fixed", "severity"}], absent as null. */
json_t *strata_scan_finding_json(const strata_scan_finding *f);
json_t *strata_scan_report_json(const strata_scan_report *r);

/* ---- deltas and gates (scan-delta.c) ---- */

/* What changed between the previous digest's findings and the current. */
typedef struct strata_scan_delta {
    int has_previous;                      /* 0: a first scan, the baseline */
    size_t total[STRATA_SCAN_NSEVERITIES]; /* current findings */
    size_t added[STRATA_SCAN_NSEVERITIES]; /* new in current */
    size_t fixed[STRATA_SCAN_NSEVERITIES]; /* gone (previous severity) */
    size_t unchanged[STRATA_SCAN_NSEVERITIES]; /* in both (current one) */
    json_t *added_list;                        /* owned: [finding] */
    json_t *fixed_list;                        /* owned: [finding] */
} strata_scan_delta;

/*
 * Compares cur with prev (NULL: no previous scan; every finding is then
 * listed as new, and has_previous is 0). Lists are in report order,
 * critical first. Release with strata_scan_delta_release().
 */
void strata_scan_delta_compute(strata_scan_delta *out,
                               const strata_scan_report *prev,
                               const strata_scan_report *cur);
void strata_scan_delta_release(strata_scan_delta *d);
/*
 * New: {"critical": {"total", "new", "fixed", "unchanged"}, "high": ...}
 * for every severity.
 */
json_t *strata_scan_delta_counts_json(const strata_scan_delta *d);

typedef enum strata_scan_gate_action {
    STRATA_SCAN_GATE_IGNORE = 0,
    STRATA_SCAN_GATE_WARN,
    STRATA_SCAN_GATE_FAIL,
} strata_scan_gate_action;

/* What new findings of each severity do; zeroed: ignore everything. */
typedef struct strata_scan_gate {
    strata_scan_gate_action on_new[STRATA_SCAN_NSEVERITIES];
} strata_scan_gate;

/* "ignore", "warn", "fail". Static. */
const char *strata_scan_gate_action_name(strata_scan_gate_action a);

/*
 * The gate's verdict on d: the strongest action among the severities
 * that have new findings. A first scan (no previous) is the baseline and
 * always passes. *out_reason (may be NULL) gets a new one-line message
 * ("2 new critical findings: CVE-1, CVE-2; 1 new high finding: CVE-3")
 * when the verdict is not IGNORE, else NULL.
 */
strata_scan_gate_action strata_scan_gate_check(char **out_reason,
                                               const strata_scan_gate *gate,
                                               const strata_scan_delta *d);

/* ---- findings in the store (scan-delta.c) ---- */

/*
 * The findings recorded for image@digest. STRATA_ENOTFOUND when that
 * digest was never scanned.
 */
int strata_scan_report_stored(strata_scan_report **out, strata_store *st,
                              const char *image, const char *digest,
                              strata_error *err);

/*
 * Records r as what scanner found in image@digest (replacing an earlier
 * scan of that digest), without comparing it with another digest.
 */
int strata_scan_report_save(strata_store *st, const char *image,
                            const char *digest, const char *scanner,
                            const strata_scan_report *r, strata_error *err);

/*
 * The step every rescan takes once it has a report r of image@digest: the
 * newest other scanned digest of image is the previous one (*out_previous,
 * a new string, or NULL when there is none); r is recorded as
 * image@digest's findings; *out is the delta against the previous
 * digest's findings (release it, also on error).
 */
int strata_scan_record(strata_scan_delta *out, char **out_previous,
                       strata_store *st, const char *image, const char *digest,
                       const char *scanner, const strata_scan_report *r,
                       strata_error *err);

/*
 * New: {"image", "digest", "previous" (null for a first scan), "scanner",
 * "counts": strata_scan_delta_counts_json(), "new": [finding], "fixed":
 * [finding]}. scanner may be NULL (then absent).
 */
json_t *strata_scan_result_json(const strata_scan_delta *d, const char *image,
                                const char *digest, const char *previous,
                                const char *scanner);

/* ---- running a scanner (scan-run.c) ---- */

typedef struct strata_scan_run_opts {
    /*
     * A /bin/sh command template: {image} the image as configured,
     * {digest} "sha256:...", {ref} NAME@DIGEST (the exact image: scan
     * this one), {name} the image without tag. Values are shell-quoted.
     * Its stdout is the report; its stderr is kept for messages.
     */
    const char *command;
    strata_scan_format format; /* AUTO: detect */
    const char *scanner;       /* a name for messages: "trivy" */
    const char *image;
    const char *digest;
    uint64_t timeout_ms; /* 0: none */
    const char *tmp_dir; /* where stdout is spooled; NULL: $TMPDIR, /tmp */
} strata_scan_run_opts;

/*
 * Runs once the scanner exited. On success report is the caller's and err
 * NULL; else report is NULL and err says why (the command failed, timed
 * out or wrote no report). log is the tail of the scanner's stderr
 * (borrowed, "" when none), exit_status its exit status. A scanner that
 * exits non-zero but wrote a valid report (trivy --exit-code 1) succeeds.
 */
typedef void (*strata_scan_run_cb)(strata_scan_report *report,
                                   const strata_error *err, const char *log,
                                   int64_t exit_status, void *arg);

/*
 * Starts the scanner on loop. If this returns an error (a bad template,
 * no temporary file, spawn failed) cb never runs; else it runs exactly
 * once, from the loop. opts is copied.
 */
int strata_scan_run(uv_loop_t *loop, const strata_scan_run_opts *opts,
                    strata_scan_run_cb cb, void *arg, strata_error *err);

/*
 * Runs the scanner as strata_scan_run does, to its end, on a private loop
 * of the calling thread (a worker's, never the daemon's loop's thread):
 * *out gets the report (the caller's) or NULL with err set. log_out (may
 * be NULL) gets the tail of its stderr (new).
 */
int strata_scan_run_sync(strata_scan_report **out, char **log_out,
                         const strata_scan_run_opts *opts, strata_error *err);

/*
 * Expands the template (see strata_scan_run_opts.command) into a new
 * command line in *out. STRATA_EINVAL for an unknown {variable}.
 */
int strata_scan_command(char **out, const char *tmpl, const char *image,
                        const char *digest, strata_error *err);

#endif
