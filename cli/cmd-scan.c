/*
 * cmd-scan.c - `strata scan report FILE` and `strata scan diff IMAGE`:
 * rescans by hand. `scan report` parses a Trivy, Grype or SARIF report
 * and prints its findings; with --image and --digest it also records them
 * as that digest's findings in the state store (as the rescan action
 * does), prints the delta against the image's previous digest and applies
 * the gate of the configured scanner (built-in: new critical fails, new
 * high warns): exit 1 when it fails. `scan diff` shows the delta between
 * the two newest scanned digests of an image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scan.h"

/* "sha256:" and 64 lowercase hex digits (or another algorithm:hex). */
static int
digest_ok(const char *d)
{
    const char *colon = strchr(d, ':');

    return colon != NULL && colon > d && colon[1] != '\0' &&
           strspn(colon + 1, "0123456789abcdef") == strlen(colon + 1) &&
           (strncmp(d, "sha256:", 7) != 0 || strlen(colon + 1) == 64);
}

static void
print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));

    printf("%s\n", s);
    free(s);
}

static void
print_finding(const char *mark, const json_t *f)
{
    const char *version = json_string_value(json_object_get(f, "version"));
    const char *fixed = json_string_value(json_object_get(f, "fixed"));

    printf("%s%-10s %-20s %s%s%s%s%s%s\n", mark,
           json_string_value(json_object_get(f, "severity")),
           json_string_value(json_object_get(f, "id")),
           json_string_value(json_object_get(f, "pkg")), version ? " " : "",
           version ? version : "", fixed ? " (fixed in " : "",
           fixed ? fixed : "", fixed ? ")" : "");
}

/* The delta as text: counts by severity, then the new and fixed lists. */
static void
print_delta(const json_t *res)
{
    const json_t *counts = json_object_get(res, "counts"), *c, *f;
    const char *previous = json_string_value(json_object_get(res, "previous"));
    const char *sev;
    size_t i;

    printf("%s@%s\n", json_string_value(json_object_get(res, "image")),
           json_string_value(json_object_get(res, "digest")));
    printf("previous: %s\n",
           previous ? previous : "none (first scan: the baseline)");
    printf("%-10s %6s %6s %6s %9s\n", "severity", "total", "new", "fixed",
           "unchanged");
    json_object_foreach ((json_t *) counts, sev, c)
        printf("%-10s %6lld %6lld %6lld %9lld\n", sev,
               json_integer_value(json_object_get(c, "total")),
               json_integer_value(json_object_get(c, "new")),
               json_integer_value(json_object_get(c, "fixed")),
               json_integer_value(json_object_get(c, "unchanged")));
    json_array_foreach (json_object_get(res, "new"), i, f)
        print_finding("new   ", f);
    json_array_foreach (json_object_get(res, "fixed"), i, f)
        print_finding("fixed ", f);
}

/* The configured scanner's gate ("default", else the first), or built-in. */
static void
config_gate(strata_scan_gate *gate, const char **name,
            const strata_config *config)
{
    static const strata_scan_gate_action map[] = {
        [STRATA_GATE_IGNORE] = STRATA_SCAN_GATE_IGNORE,
        [STRATA_GATE_WARN] = STRATA_SCAN_GATE_WARN,
        [STRATA_GATE_FAIL] = STRATA_SCAN_GATE_FAIL,
    };
    const strata_config_data *d = strata_config_data_get(config);
    const strata_config_scanner *sc = NULL;
    size_t i;

    memset(gate, 0, sizeof(*gate));
    for (i = 0; i < d->n_scanners && sc == NULL; i++)
        if (strcmp(d->scanners[i].name, "default") == 0)
            sc = &d->scanners[i];
    if (sc == NULL && d->n_scanners > 0)
        sc = &d->scanners[0];
    if (sc == NULL) {
        gate->on_new[STRATA_SCAN_CRITICAL] = STRATA_SCAN_GATE_FAIL;
        gate->on_new[STRATA_SCAN_HIGH] = STRATA_SCAN_GATE_WARN;
        *name = "manual";
        return;
    }
    gate->on_new[STRATA_SCAN_CRITICAL] = map[sc->gate_new_critical];
    gate->on_new[STRATA_SCAN_HIGH] = map[sc->gate_new_high];
    gate->on_new[STRATA_SCAN_MEDIUM] = map[sc->gate_new_medium];
    gate->on_new[STRATA_SCAN_LOW] = map[sc->gate_new_low];
    *name = sc->name;
}

/* No --image: the findings of the report alone. */
static int
show_report(const strata_scan_report *r, const char *file, int json)
{
    size_t counts[STRATA_SCAN_NSEVERITIES], i;
    json_t *list = strata_scan_report_json(r), *jc = json_object(), *f;
    int s;

    strata_scan_report_counts(counts, r);
    for (s = STRATA_SCAN_CRITICAL; s >= STRATA_SCAN_UNKNOWN; s--)
        json_object_set_new(jc, strata_scan_severity_name(s),
                            json_integer((json_int_t) counts[s]));
    if (json) {
        json_t *out =
            json_pack("{s:s, s:s, s:O, s:O}", "file", file, "format",
                      strata_scan_format_name(strata_scan_report_format(r)),
                      "counts", jc, "findings", list);
        print_json(out);
        json_decref(out);
    } else {
        printf("%s: %s report, %zu findings:", file,
               strata_scan_format_name(strata_scan_report_format(r)),
               strata_scan_report_count(r));
        for (s = STRATA_SCAN_CRITICAL; s >= STRATA_SCAN_UNKNOWN; s--)
            printf(" %s %zu", strata_scan_severity_name(s), counts[s]);
        printf("\n");
        json_array_foreach (list, i, f)
            print_finding("", f);
    }
    json_decref(jc);
    json_decref(list);
    return STRATA_EXIT_OK;
}

static int
exec_report(strata_cmd_ctx *ctx)
{
    strata_store *st = NULL;
    strata_scan_report *r = NULL;
    strata_scan_delta d = {0};
    strata_scan_gate gate;
    strata_scan_gate_action verdict;
    strata_scan_format format = STRATA_SCAN_AUTO;
    strata_ref *ref = NULL;
    strata_error err = {0};
    const char *file = strata_args_arg(ctx->args, 0);
    const char *image = strata_args_get(ctx->args, "image");
    const char *digest = strata_args_get(ctx->args, "digest");
    const char *format_name = strata_args_get(ctx->args, "format");
    const char *scanner = NULL;
    char *previous = NULL, *reason = NULL;
    json_t *res = NULL;
    int json = strata_args_has(ctx->args, "json"), rc;

    if ((image == NULL) != (digest == NULL))
        return strata_cmd_usage_error(ctx, "--image and --digest go together");
    /* The declared choices are the formats the scanner module reads. */
    if (format_name != NULL &&
        strata_scan_format_parse(&format, format_name, &err) != 0)
        return strata_cmd_fail(&err);
    if (strata_scan_report_load(&r, file, format, &err) != 0) {
        fprintf(stderr, "strata: %s\n", err.msg);
        return STRATA_EXIT_USAGE; /* bad input, whatever the cause */
    }
    if (image == NULL) {
        rc = show_report(r, file, json);
        goto out;
    }
    if (!digest_ok(digest)) {
        fprintf(stderr, "strata: invalid digest '%s' (expected sha256:HEX)\n",
                digest);
        rc = STRATA_EXIT_USAGE;
        goto out;
    }
    if (strata_ref_parse(&ref, image, &err) != 0 ||
        strata_cmd_open_store(&st, ctx, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    config_gate(&gate, &scanner, ctx->config);
    /* The image as the daemon names it: canonical, without a digest. */
    if (strata_scan_record(&d, &previous, st, strata_ref_string(ref), digest,
                           scanner, r, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    verdict = strata_scan_gate_check(&reason, &gate, &d);
    res = strata_scan_result_json(&d, strata_ref_string(ref), digest, previous,
                                  scanner);
    json_object_set_new(
        res, "gate",
        json_string(verdict == STRATA_SCAN_GATE_IGNORE
                        ? "pass"
                        : strata_scan_gate_action_name(verdict)));
    if (reason != NULL)
        json_object_set_new(res, "gate_reason", json_string(reason));
    if (json)
        print_json(res);
    else
        print_delta(res);
    if (verdict != STRATA_SCAN_GATE_IGNORE)
        fprintf(stderr, "strata: gate %s: %s\n",
                strata_scan_gate_action_name(verdict), reason);
    rc =
        verdict == STRATA_SCAN_GATE_FAIL ? STRATA_EXIT_PROBLEM : STRATA_EXIT_OK;
out:
    json_decref(res);
    free(reason);
    free(previous);
    strata_scan_delta_release(&d);
    strata_scan_report_free(r);
    strata_ref_free(ref);
    strata_store_close(st);
    return rc;
}

static int
exec_diff(strata_cmd_ctx *ctx)
{
    strata_store *st = NULL;
    strata_scan_report *cur = NULL, *prev = NULL;
    strata_scan_delta d = {0};
    strata_ref *ref = NULL;
    strata_error err = {0};
    json_t *scans = NULL, *res = NULL;
    const char *image, *digest, *previous = NULL;
    int json = strata_args_has(ctx->args, "json"), rc;

    if (strata_ref_parse(&ref, strata_args_arg(ctx->args, 0), &err) != 0 ||
        strata_cmd_open_store(&st, ctx, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    image = strata_ref_string(ref);
    if (strata_store_scans_list(&scans, st, image, 2, &err) != 0) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    if (json_array_size(scans) == 0) {
        fprintf(stderr, "strata: no scans of '%s'\n", image);
        rc = STRATA_EXIT_PROBLEM;
        goto out;
    }
    digest =
        json_string_value(json_object_get(json_array_get(scans, 0), "digest"));
    if (json_array_size(scans) > 1)
        previous = json_string_value(
            json_object_get(json_array_get(scans, 1), "digest"));
    if (strata_scan_report_stored(&cur, st, image, digest, &err) != 0 ||
        (previous != NULL &&
         strata_scan_report_stored(&prev, st, image, previous, &err) != 0)) {
        rc = strata_cmd_fail(&err);
        goto out;
    }
    strata_scan_delta_compute(&d, prev, cur);
    res = strata_scan_result_json(&d, image, digest, previous,
                                  json_string_value(json_object_get(
                                      json_array_get(scans, 0), "scanner")));
    if (json)
        print_json(res);
    else
        print_delta(res);
    rc = STRATA_EXIT_OK;
out:
    json_decref(res);
    json_decref(scans);
    strata_scan_delta_release(&d);
    strata_scan_report_free(cur);
    strata_scan_report_free(prev);
    strata_ref_free(ref);
    strata_store_close(st);
    return rc;
}

#define JSON_OPT                                                               \
    {                                                                          \
        "json", 0, 0, NULL, NULL, "one JSON document"                          \
    }

static const strata_cmd_opt scan_report_opts[] = {
    {"format", 0, STRATA_OPT_VALUE, NULL, "trivy|grype|sarif|auto",
     "the report's format (default auto: detected)"},
    {"image", 0, STRATA_OPT_VALUE, "REF", NULL,
     "record the findings for this image (with --digest)"},
    {"digest", 0, STRATA_OPT_VALUE, "D", NULL,
     "the digest of REF that was scanned (with --image)"},
    JSON_OPT,
    {NULL, 0, 0, NULL, NULL, NULL},
};

static const strata_cmd_opt scan_diff_opts[] = {
    JSON_OPT,
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_scan_report = {
    .name = "scan report",
    .summary = "Read a vulnerability report; record it for an image digest.",
    .help = "FILE is a Trivy JSON, Grype JSON or SARIF 2.1.0 report (the "
            "format is\ndetected unless --format says). Without --image it "
            "prints the\nfindings. With --image REF --digest D it records them "
            "as the findings\nof REF@D in the state store and prints what is "
            "new, fixed and\nunchanged since the previous scanned digest of "
            "REF; the gate of the\nconfigured scanner applies (without one: "
            "new critical fails, new high\nwarns). Exit 1 when the gate "
            "fails, 2 for a bad or unreadable report.\n",
    .opts = scan_report_opts,
    .args = "FILE",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_report,
};

const strata_cmd_entry strata_cmd_scan_diff = {
    .name = "scan diff",
    .summary = "What changed between the two newest scans of an image.",
    .help = "Compares the findings of IMAGE's newest scanned digest with "
            "those of the\none scanned before it: counts by severity (total, "
            "new, fixed,\nunchanged) and the new and fixed findings. Exit 1 "
            "when IMAGE was never\nscanned.\n",
    .opts = scan_diff_opts,
    .args = "IMAGE",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_diff,
};
