/*
 * sarif.c - SARIF 2.1.0 reports (`trivy --format sarif`, `grype -o
 * sarif`, and other tools): one finding per runs[].results[] entry. The
 * result's rule is found by ruleIndex (or rule.index) when that entry has
 * the same id, else by id. Its severity, in order of preference:
 *   1. an old Trivy rule id "[LOW] CVE-2011-3374" (the id is what follows);
 *   2. a severity name among properties.tags (result, then rule), as
 *      Trivy writes them ("vulnerability", "security", "MEDIUM");
 *   3. properties["security-severity"] (result, then rule), a CVSS score:
 *      9.0 and up critical, 7.0 high, 4.0 medium, above 0 low;
 *   4. the level (result, else the rule's defaultConfiguration, else
 *      "warning"): error high, warning medium, note low, none unknown.
 * The package, installed and fixed versions come from the "Package:",
 * "Installed Version:" and "Fixed Version:" lines Trivy writes in the
 * message (or, for old reports, the rule's short description); otherwise
 * the package is the first location's artifact URI.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan-int.h"

typedef struct run_ctx {
    strata_scan_report *r;
    const json_t *rules;  /* may be NULL */
    strata_strmap *by_id; /* rule id -> index + 1 (first one) */
} run_ctx;

/* The text of obj.key.text, or NULL. Borrowed. */
static const char *
text_of(const json_t *obj, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(obj, key), "text"));
}

/*
 * The value after "label " at the start of a line or a word in text, up
 * to the end of the line, trimmed: new string ("" possible), or NULL.
 */
static char *
labelled(const char *text, const char *label)
{
    const char *p = text, *end;
    size_t n = strlen(label);

    while (text != NULL && (p = strstr(p, label)) != NULL) {
        if (p == text || p[-1] == '\n' || p[-1] == ' ') {
            p += n;
            while (*p == ' ' || *p == '\t')
                p++;
            end = p + strcspn(p, "\r\n");
            while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
            return strata_xstrndup(p, (size_t) (end - p));
        }
        p += n;
    }
    return NULL;
}

/* A known severity name among props.tags, or -1. */
static int
tag_severity(const json_t *props)
{
    const json_t *tags = json_object_get(props, "tags"), *t;
    size_t i;
    int s;

    json_array_foreach (tags, i, t) {
        const char *v = json_string_value(t);

        for (s = 0; v != NULL && s < STRATA_SCAN_NSEVERITIES; s++)
            if (strcasecmp(v, strata_scan_severity_name(s)) == 0)
                return s;
    }
    return -1;
}

/* props["security-severity"] as a severity, or -1. */
static int
score_severity(const json_t *props)
{
    const json_t *v = json_object_get(props, "security-severity");
    double score;
    char *end = NULL;

    if (json_is_number(v)) {
        score = json_number_value(v);
    } else if (json_is_string(v)) {
        score = strtod(json_string_value(v), &end);
        if (end == json_string_value(v) || *end != '\0')
            return -1;
    } else {
        return -1;
    }
    if (score >= 9.0)
        return STRATA_SCAN_CRITICAL;
    if (score >= 7.0)
        return STRATA_SCAN_HIGH;
    if (score >= 4.0)
        return STRATA_SCAN_MEDIUM;
    if (score > 0.0)
        return STRATA_SCAN_LOW;
    return STRATA_SCAN_UNKNOWN;
}

static int
level_severity(strata_scan_severity *out, const char *level)
{
    if (strcmp(level, "error") == 0)
        *out = STRATA_SCAN_HIGH;
    else if (strcmp(level, "warning") == 0)
        *out = STRATA_SCAN_MEDIUM;
    else if (strcmp(level, "note") == 0)
        *out = STRATA_SCAN_LOW;
    else if (strcmp(level, "none") == 0)
        *out = STRATA_SCAN_UNKNOWN;
    else
        return -1;
    return 0;
}

/* The rule of a result (borrowed) or NULL; id is its ruleId or NULL. */
static const json_t *
find_rule(const run_ctx *c, const json_t *res, const char *id)
{
    const json_t *idx = json_object_get(res, "ruleIndex"), *rule;
    void *at;

    if (idx == NULL)
        idx = json_object_get(json_object_get(res, "rule"), "index");
    if (json_is_integer(idx) && json_integer_value(idx) >= 0 &&
        (size_t) json_integer_value(idx) < json_array_size(c->rules)) {
        rule = json_array_get(c->rules, (size_t) json_integer_value(idx));
        if (id == NULL ||
            (json_is_string(json_object_get(rule, "id")) &&
             strcmp(json_string_value(json_object_get(rule, "id")), id) == 0))
            return rule;
    }
    if (id != NULL && (at = strata_strmap_get(c->by_id, id)) != NULL)
        return json_array_get(c->rules, (uintptr_t) at - 1);
    return NULL;
}

static int
result(const run_ctx *c, const json_t *res, const char *path, strata_error *err)
{
    strata_scan_report *r = c->r;
    const json_t *rule, *rprops, *props, *loc;
    const char *id = NULL, *level = NULL, *msg, *close;
    char *pkg = NULL, *version = NULL, *fixed = NULL, *bare = NULL;
    int sev = -1, rc;
    strata_scan_severity lsev;

    if ((rc = strata_scan__object(r, res, path, err)) != 0 ||
        (rc = strata_scan__str(&id, r, res, path, "ruleId", 0, err)) != 0 ||
        (rc = strata_scan__str(&level, r, res, path, "level", 0, err)) != 0)
        return rc;
    if (id == NULL)
        id = json_string_value(
            json_object_get(json_object_get(res, "rule"), "id"));
    rule = find_rule(c, res, id);
    if (id == NULL)
        id = json_string_value(json_object_get(rule, "id"));
    if (id == NULL || *id == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "report '%s': '%s' has no ruleId", r->name,
                                path);
    /* 1. "[LOW] CVE-2011-3374" */
    if (id[0] == '[' && (close = strchr(id, ']')) != NULL && close[1] == ' ') {
        char *name = strata_xstrndup(id + 1, (size_t) (close - id - 1));
        int s;

        for (s = 0; s < STRATA_SCAN_NSEVERITIES; s++)
            if (strcasecmp(name, strata_scan_severity_name(s)) == 0)
                sev = s;
        free(name);
        if (sev >= 0)
            id = bare = strata_xstrdup(close + 2);
    }
    props = json_object_get(res, "properties");
    rprops = json_object_get(rule, "properties");
    /* 2. and 3. */
    if (sev < 0)
        sev = tag_severity(props);
    if (sev < 0)
        sev = tag_severity(rprops);
    if (sev < 0)
        sev = score_severity(props);
    if (sev < 0)
        sev = score_severity(rprops);
    /* 4. */
    if (level == NULL)
        level = json_string_value(json_object_get(
            json_object_get(rule, "defaultConfiguration"), "level"));
    if (level == NULL)
        level = "warning";
    if (level_severity(&lsev, level) != 0) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "report '%s': '%s.level' is '%s' (expected "
                              "none, note, warning or error)",
                              r->name, path, level);
        goto out;
    }
    if (sev < 0)
        sev = (int) lsev;

    msg = text_of(res, "message");
    pkg = labelled(msg, "Package:");
    if (pkg == NULL)
        pkg = labelled(text_of(rule, "shortDescription"), "Package:");
    loc = json_array_get(json_object_get(res, "locations"), 0);
    if (pkg == NULL) {
        const char *uri = json_string_value(json_object_get(
            json_object_get(json_object_get(loc, "physicalLocation"),
                            "artifactLocation"),
            "uri"));
        const char *fqn = json_string_value(json_object_get(
            json_array_get(json_object_get(loc, "logicalLocations"), 0),
            "fullyQualifiedName"));

        pkg = strata_xstrdup(uri ? uri : fqn ? fqn : "");
    }
    version = labelled(msg, "Installed Version:");
    fixed = labelled(msg, "Fixed Version:");
    strata_scan__add(r, id, pkg, version, fixed, (strata_scan_severity) sev);
    rc = 0;
out:
    free(bare);
    free(pkg);
    free(version);
    free(fixed);
    return rc;
}

static int
run(strata_scan_report *r, const json_t *jrun, size_t i, strata_error *err)
{
    run_ctx c = {.r = r};
    const json_t *results, *res, *rule;
    char path[96];
    size_t j;
    int rc;

    snprintf(path, sizeof(path), "runs[%zu]", i);
    if ((rc = strata_scan__object(r, jrun, path, err)) != 0 ||
        (rc = strata_scan__array(&results, r, jrun, path, "results", 0, err)) !=
            0)
        return rc;
    c.rules = json_object_get(
        json_object_get(json_object_get(jrun, "tool"), "driver"), "rules");
    if (!json_is_array(c.rules))
        c.rules = NULL;
    c.by_id = strata_strmap_new();
    json_array_foreach (c.rules, j, rule) {
        const char *id = json_string_value(json_object_get(rule, "id"));

        if (id != NULL && !strata_strmap_has(c.by_id, id))
            strata_strmap_put(c.by_id, id, (void *) (uintptr_t) (j + 1));
    }
    json_array_foreach (results, j, res) {
        snprintf(path, sizeof(path), "runs[%zu].results[%zu]", i, j);
        if ((rc = result(&c, res, path, err)) != 0)
            break;
    }
    strata_strmap_free(c.by_id);
    return rc;
}

int
strata_scan__sarif(strata_scan_report *r, const json_t *root, strata_error *err)
{
    const json_t *runs, *jrun;
    const char *version;
    size_t i;
    int rc;

    if ((rc = strata_scan__str(&version, r, root, "", "version", 0, err)) != 0)
        return rc;
    if (version != NULL && strcmp(version, "2.1.0") != 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "report '%s': unsupported SARIF version '%s' "
                                "(expected 2.1.0)",
                                r->name, version);
    if ((rc = strata_scan__array(&runs, r, root, "", "runs", 1, err)) != 0)
        return rc;
    json_array_foreach (runs, i, jrun)
        if ((rc = run(r, jrun, i, err)) != 0)
            return rc;
    return 0;
}
