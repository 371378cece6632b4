/*
 * schema.c - the configuration schema as tables: one table of fields per
 * section, each naming its key, kind, default and where the value lands in
 * the public structs of config.h, plus the validators of single values
 * (hosts, platforms, semver ranges, URLs, listen addresses, events).
 * To add a key, add a line to its table (and a member to the struct).
 */
#include <assert.h>
#include <ctype.h>
#include <regex.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "config-int.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* A field whose value goes to member m of struct T. */
#define FLD(k, kd, T, m, ...)                                                  \
    {                                                                          \
        .key = k, .kind = kd, .offset = offsetof(T, m), .aux = -1, __VA_ARGS__ \
    }
/* A field with a second slot: a count (lists) or a name (references). */
#define FLDX(k, kd, T, m, x, ...)                                              \
    {                                                                          \
        .key = k, .kind = kd, .offset = offsetof(T, m),                        \
        .aux = (ssize_t) offsetof(T, x), __VA_ARGS__                           \
    }
/* A nested mapping whose keys land in the enclosing struct itself. */
#define FLAT(k, sub_)                                                          \
    {                                                                          \
        .key = k, .kind = STRATA_CF_OBJECT, .offset = 0, .aux = -1,            \
        .sub = sub_                                                            \
    }
#define SCHEMA(name, what_, T, ...)                                            \
    static const strata_config__schema name = {.what = what_,                  \
                                               .fields = name##_fields,        \
                                               .n_fields = N_(name##_fields),  \
                                               .size = sizeof(T),              \
                                               __VA_ARGS__}

/* ---- validators --------------------------------------------------------- */

/*
 * Three printf arguments for a "%s%s%s" that quotes value, or says where
 * it came from when it may be a secret (it used ${VAR}).
 */
#define SHOWN(value, tainted)                                                  \
    (tainted) ? "" : "'",                                                      \
        (tainted) ? "(a value from the environment)" : (value),                \
        (tainted) ? "" : "'"

static int
validate_host(strata_config__ctx *ctx, const yaml_node_t *node,
              const strata_config__field *f, const char *v, int tainted)
{
    const char *p;

    if (strstr(v, "://") != NULL) {
        strata_config__at(ctx, node,
                          "registry host %s%s%s must not include a scheme "
                          "(write just the host, e.g. 'ghcr.io')",
                          SHOWN(v, tainted));
        return -1;
    }
    for (p = v; *p != '\0'; p++)
        if (!isalnum((unsigned char) *p) && strchr(".-:[]", *p) == NULL)
            break;
    if (*v == '\0' || *p != '\0') {
        strata_config__at(ctx, node,
                          "invalid registry host %s%s%s (expected HOST or "
                          "HOST:PORT, without a path)",
                          SHOWN(v, tainted));
        return -1;
    }
    return 0;
}

/* registries[].aliases and mirror_of: HOST[:PORT][/PATH], lowercase. */
static int
validate_alias(strata_config__ctx *ctx, const yaml_node_t *node,
               const strata_config__field *f, const char *v, int tainted)
{
    const char *p;

    (void) f;
    for (p = v; *p != '\0' && *p != '/'; p++)
        if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p) &&
            strchr(".-:[]", *p) == NULL)
            break;
    if (p != v && (*p == '\0' || *p == '/')) {
        while (*p == '/' && p[1] != '\0' && p[1] != '/') {
            for (p++; *p != '\0' && *p != '/'; p++)
                if (!islower((unsigned char) *p) &&
                    !isdigit((unsigned char) *p) && strchr("._-", *p) == NULL)
                    break;
        }
        if (*p == '\0')
            return 0;
    }
    strata_config__at(ctx, node,
                      "invalid registry name %s%s%s (expected HOST or "
                      "HOST/PATH in lowercase, such as 'mirror.gcr.io' or "
                      "'harbor.example.com/dockerhub'; no scheme, tag or "
                      "digest)",
                      SHOWN(v, tainted));
    return -1;
}

static int
segment_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++)
        if (!islower((unsigned char) s[i]) && !isdigit((unsigned char) s[i]) &&
            s[i] != '_')
            return 0;
    return 1;
}

static int
validate_platform(strata_config__ctx *ctx, const yaml_node_t *node,
                  const strata_config__field *f, const char *v, int tainted)
{
    const char *a = strchr(v, '/'), *b = a ? strchr(a + 1, '/') : NULL;
    size_t n3 = b ? strlen(b + 1) : 1;

    if (a == NULL || !segment_ok(v, (size_t) (a - v)) ||
        !segment_ok(a + 1, b ? (size_t) (b - a - 1) : strlen(a + 1)) ||
        (b != NULL && (!segment_ok(b + 1, n3) || strchr(b + 1, '/')))) {
        strata_config__at(ctx, node,
                          "invalid platform %s%s%s in '%s' (expected "
                          "OS/ARCH[/VARIANT], e.g. linux/amd64)",
                          SHOWN(v, tainted), f->key);
        return -1;
    }
    return 0;
}

/* One version of a range: v?N[.N[.N]] with x or * wildcards, -pre. */
/* The watcher's own grammar (core/semver.c), so config check accepts
 * exactly the ranges the watcher can follow. */
static int
validate_semver(strata_config__ctx *ctx, const yaml_node_t *node,
                const strata_config__field *f, const char *v, int tainted)
{
    strata_semver_range *range = NULL;
    strata_error err = {0};
    const char *why;

    if (strata_semver_range_parse(&range, v, &err) == 0) {
        strata_semver_range_free(range);
        return 0;
    }
    /* "invalid semver range 'R': why": keep the why, quote R our way. */
    why = strstr(err.msg, "': ");
    strata_config__at(ctx, node,
                      "invalid semver range %s%s%s: %s (e.g. '>=3.11 <3.13', "
                      "'^1.2', '1.x || 2.x', '1.0 - 1.4')",
                      SHOWN(v, tainted), why != NULL ? why + 3 : err.msg);
    return -1;
}

static int
validate_regex(strata_config__ctx *ctx, const yaml_node_t *node,
               const strata_config__field *f, const char *v, int tainted)
{
    regex_t re;
    char msg[128];
    int rc = regcomp(&re, v, REG_EXTENDED | REG_NOSUB);

    if (rc != 0) {
        regerror(rc, &re, msg, sizeof(msg));
        strata_config__at(ctx, node, "invalid regex in '%s': %s", f->key, msg);
        return -1;
    }
    regfree(&re);
    return 0;
}

/*
 * A references matcher: a PCRE2 expression that compiles, with a group
 * named "name" (tag and digest are optional). A bad one names the offset.
 */
static int
validate_pcre2(strata_config__ctx *ctx, const yaml_node_t *node,
               const strata_config__field *f, const char *v, int tainted)
{
    PCRE2_UCHAR msg[160];
    PCRE2_SIZE off = 0;
    int code = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR) v, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF, &code, &off, NULL);

    if (re == NULL) {
        pcre2_get_error_message(code, msg, sizeof(msg));
        strata_config__at(ctx, node,
                          "invalid regular expression in '%s' at offset %zu: "
                          "%s",
                          f->key, (size_t) off, (const char *) msg);
        return -1;
    }
    code = pcre2_substring_number_from_name(re, (PCRE2_SPTR) "name");
    pcre2_code_free(re);
    if (code < 0) {
        strata_config__at(ctx, node,
                          "'%s' has no group named 'name' (write "
                          "(?<name>...), and (?<tag>...), (?<digest>...))",
                          f->key);
        return -1;
    }
    return 0;
}

static int
validate_http_url(strata_config__ctx *ctx, const yaml_node_t *node,
                  const strata_config__field *f, const char *v, int tainted)
{
    if ((strncmp(v, "https://", 8) == 0 && v[8] != '\0') ||
        (strncmp(v, "http://", 7) == 0 && v[7] != '\0'))
        return 0;
    strata_config__at(ctx, node,
                      "'%s' must be an http:// or https:// URL, not %s%s%s",
                      f->key, SHOWN(v, tainted));
    return -1;
}

static int
validate_repo_url(strata_config__ctx *ctx, const yaml_node_t *node,
                  const strata_config__field *f, const char *v, int tainted)
{
    static const char *const schemes[] = {"https://", "http://", "ssh://",
                                          "git://", "file://"};
    const char *sep = strstr(v, "://");
    size_t i;

    if (sep == NULL)
        return 0; /* a local path or scp-like user@host:path */
    for (i = 0; i < N_(schemes); i++)
        if (strncmp(v, schemes[i], strlen(schemes[i])) == 0 &&
            v[strlen(schemes[i])] != '\0')
            return 0;
    strata_config__at(ctx, node,
                      "unsupported repository URL %s%s%s (use https://, "
                      "http://, ssh://, git://, file://, user@host:path or "
                      "a local path)",
                      SHOWN(v, tainted));
    return -1;
}

static int
validate_owner_name(strata_config__ctx *ctx, const yaml_node_t *node,
                    const strata_config__field *f, const char *v, int tainted)
{
    const char *p = v;
    int segs = 0;

    while (*p != '\0') {
        size_t n = strcspn(p, "/");

        if (n == 0)
            break;
        segs++;
        p += n;
        if (*p == '/')
            p++;
        else
            break;
    }
    if (*p != '\0' || segs < 2 || v[strlen(v) - 1] == '/' ||
        strpbrk(v, " \t") != NULL) {
        strata_config__at(ctx, node,
                          "invalid '%s' %s%s%s (expected OWNER/NAME)", f->key,
                          SHOWN(v, tainted));
        return -1;
    }
    return 0;
}

/* A Kubernetes object name: a DNS-1123 subdomain (a Secret's). */
static int
validate_k8s_name(strata_config__ctx *ctx, const yaml_node_t *node,
                  const strata_config__field *f, const char *v, int tainted)
{
    size_t i, n = strlen(v);
    int ok = n > 0 && n <= 253;

    for (i = 0; ok && i < n; i++) {
        char c = v[i], prev = i > 0 ? v[i - 1] : '.';
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (c == '.')
            ok = prev != '.' && prev != '-' && i + 1 < n;
        else if (c == '-')
            ok = prev != '.' && i + 1 < n;
        else
            ok = alnum;
    }
    if (!ok) {
        strata_config__at(ctx, node,
                          "invalid '%s' %s%s%s (expected a Kubernetes object "
                          "name: lowercase letters, digits, '-' and '.', "
                          "starting and ending with a letter or digit)",
                          f->key, SHOWN(v, tainted));
        return -1;
    }
    return 0;
}

static int
validate_listen(strata_config__ctx *ctx, const yaml_node_t *node,
                const strata_config__field *f, const char *v, int tainted)
{
    const char *colon = strrchr(v, ':');
    const char *close = strchr(v, ']');
    char *end;
    long port;

    if (colon == NULL || (v[0] == '[' && (close == NULL || close + 1 != colon)))
        goto bad;
    if (v[0] != '[' && strchr(v, ':') != colon)
        goto bad;
    port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
        goto bad;
    return 0;
bad:
    strata_config__at(ctx, node,
                      "invalid listen address %s%s%s (expected HOST:PORT, "
                      "e.g. 127.0.0.1:8780 or [::1]:8780)",
                      SHOWN(v, tainted));
    return -1;
}

/* Events that notifications can subscribe to; "*" and "PREFIX.*" too. */
static const char *const events[] = {
    "base.updated",
    "base.soaked",
    "plan.created",
    "rebuild.started",
    "rebuild.succeeded",
    "rebuild.failed",
    "rebase.succeeded",
    "rebase.failed",
    "rescan.succeeded",
    "rescan.failed",
    "pr.opened",
    "pr.updated",
    "pr.failed",
    "job.failed",
    "stale.found",
    "catalog.violation",
    "base.signature_failed",
    "base.held",
    "rebase.done",
    "pr.closed",
    "pr.merged",
    "pr.merge_blocked",
    "rescan.regressed",
    "report.stale",
    "rollout.halted",
    "rollout.completed",
    "rollout.aborted",
};

static int
validate_event(strata_config__ctx *ctx, const yaml_node_t *node,
               const strata_config__field *f, const char *v, int tainted)
{
    size_t i, n = strlen(v);
    const char *hint;

    if (strcmp(v, "*") == 0)
        return 0;
    for (i = 0; i < N_(events); i++) {
        if (strcmp(events[i], v) == 0)
            return 0;
        if (n > 2 && strcmp(v + n - 2, ".*") == 0 &&
            strncmp(events[i], v, n - 1) == 0)
            return 0;
    }
    hint = strata_config__suggest(v, events, N_(events));
    if (hint != NULL)
        strata_config__at(ctx, node, "unknown event %s%s%s; did you mean '%s'?",
                          SHOWN(v, tainted), hint);
    else
        strata_config__at(ctx, node,
                          "unknown event %s%s%s (e.g. base.updated, "
                          "rebuild.failed, pr.opened, or rebuild.*)",
                          SHOWN(v, tainted));
    return -1;
}

static int
validate_image_name(strata_config__ctx *ctx, const yaml_node_t *node,
                    const strata_config__field *f, const char *canonical,
                    int tainted)
{
    if (strchr(canonical, '@') == NULL)
        return 0;
    strata_config__at(ctx, node,
                      "image %s%s%s must not have a digest: it names what is "
                      "built",
                      SHOWN(canonical, tainted));
    return -1;
}

/* jitter: "10%" of the interval, or a fixed duration. */
static int
parse_jitter(strata_config__ctx *ctx, const yaml_node_t *node,
             const strata_config__field *f, const char *v, int tainted,
             void *slot)
{
    strata_config_watch *w =
        (void *) ((char *) slot -
                  offsetof(strata_config_watch, jitter_percent));
    size_t n = strlen(v);
    uint64_t ms;

    if (n >= 2 && v[n - 1] == '%') {
        char *end;
        long pct = strtol(v, &end, 10);

        if (end != v + n - 1 || !isdigit((unsigned char) v[0]) || pct > 100) {
            strata_config__at(ctx, node,
                              "'jitter' must be a percentage between 0%% and "
                              "100%% or a duration");
            return -1;
        }
        w->jitter_percent = (int) pct;
        w->jitter_ms = 0;
        return 0;
    }
    if (strata_parse_duration(&ms, v) != 0) {
        strata_config__at(ctx, node,
                          "invalid jitter %s%s%s (use a percentage of the "
                          "interval such as 10%% or a duration such as 30s)",
                          SHOWN(v, tainted));
        return -1;
    }
    w->jitter_percent = -1;
    w->jitter_ms = ms;
    return 0;
}

/* ---- tables ------------------------------------------------------------- */

static const char *const log_levels[] = {"debug", "info", "warn", "error",
                                         NULL};
static const char *const log_formats[] = {"text", "json", NULL};
/* In the order of strata_store_check_mode. */
static const char *const state_checks[] = {"off", "quick", "full", NULL};
/* In the order of strata_config_forge_type. */
const char *const strata_config__forge_names[] = {"none", "github", "gitlab",
                                                  "gitea", NULL};
/* Bit i is STRATA_ACTION_*'s (1 << i). */
const char *const strata_config__action_names[] = {
    "pr", "rebuild", "rebase", "rescan", "notify", "exec", NULL};
/* Bit i is STRATA_HOLD_*'s (1 << i). */
const char *const strata_config__hold_names[] = {
    "distribution_release", "major", "downgrade", "removal", NULL};
/* In the order of strata_config_builder_type. */
const char *const strata_config__builder_names[] = {
    "exec",   "buildah", "kubernetes", "github-actions",
    "gitlab", "webhook", NULL};
/* In the order of strata_config_notify_type. */
const char *const strata_config__notify_names[] = {
    "webhook", "slack", "teams", "discord", "email", "exec", NULL};

static const strata_config__field log_section_fields[] = {
    FLD("level", STRATA_CF_ENUM, strata_config_log, level, .names = log_levels,
        .def = "info"),
    FLD("format", STRATA_CF_ENUM, strata_config_log, format,
        .names = log_formats, .def = "text"),
};
SCHEMA(log_section, "log", strata_config_log, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

static const strata_config__field scan_section_fields[] = {
    FLD("interval", STRATA_CF_DURATION, strata_config_scan, interval_ms,
        .def = "5m", .min = 10000),
    FLD("fetch_timeout", STRATA_CF_DURATION, strata_config_scan,
        fetch_timeout_ms, .def = "2m", .min = 1000),
    FLD("stall_timeout", STRATA_CF_DURATION, strata_config_scan,
        stall_timeout_ms, .def = "30s", .min = 1000),
    FLD("concurrency", STRATA_CF_INT, strata_config_scan, concurrency,
        .def = "4", .min = 1, .max = 32),
};
SCHEMA(scan_section, "scan", strata_config_scan, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

/* auth: its keys land in strata_config_registry itself (FLAT). */
static const strata_config__field registry_auth_fields[] = {
    FLD("username", STRATA_CF_STRING, strata_config_registry, username),
    FLD("password", STRATA_CF_SECRET, strata_config_registry, password),
    FLD("token", STRATA_CF_SECRET, strata_config_registry, token),
};
SCHEMA(registry_auth, "registry auth", strata_config_registry, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

static const strata_config__field registry_fields[] = {
    FLD("host", STRATA_CF_STRING, strata_config_registry, host,
        .flags = STRATA_CF_REQUIRED, .validate = validate_host),
    FLAT("auth", &registry_auth),
    FLD("insecure", STRATA_CF_BOOL, strata_config_registry, insecure,
        .def = "false"),
    FLD("ca_file", STRATA_CF_PATH, strata_config_registry, ca_file),
    FLD("max_concurrency", STRATA_CF_INT, strata_config_registry,
        max_concurrency, .min = 1, .max = 256, .def = "8"),
    FLD("aliases", STRATA_CF_STRINGS, strata_config_registry, aliases,
        .validate = validate_alias),
    FLD("mirror_of", STRATA_CF_STRING, strata_config_registry, mirror_of,
        .validate = validate_alias),
};
SCHEMA(registry, "registry", strata_config_registry,
       .pos_offset = offsetof(strata_config_registry, pos), .name_offset = -1,
       .set_offset = -1, .check = strata_config__check_registry);

static const strata_config__field policy_fields[] = {
    FLD("semver", STRATA_CF_STRING, strata_config_base, policy.semver,
        .flags = STRATA_CF_NONEMPTY, .validate = validate_semver),
    FLD("suffix", STRATA_CF_STRING, strata_config_base, policy.suffix,
        .flags = STRATA_CF_NONEMPTY),
    FLD("regex", STRATA_CF_STRING, strata_config_base, policy.regex,
        .flags = STRATA_CF_NONEMPTY, .validate = validate_regex),
};
SCHEMA(policy, "policy", strata_config_base, .pos_offset = -1,
       .name_offset = -1,
       .set_offset = offsetof(strata_config_base, has_policy));

/* verify: watch.verify and watch.bases[].verify. */
static const strata_config__field identity_fields[] = {
    FLD("issuer", STRATA_CF_STRING, strata_config_identity, issuer,
        .flags = STRATA_CF_REQUIRED | STRATA_CF_NONEMPTY,
        .validate = validate_http_url),
    FLD("subject", STRATA_CF_STRING, strata_config_identity, subject,
        .flags = STRATA_CF_NONEMPTY),
    FLD("subject_regexp", STRATA_CF_STRING, strata_config_identity,
        subject_regexp, .flags = STRATA_CF_NONEMPTY),
};
SCHEMA(identity, "keyless identity", strata_config_identity,
       .pos_offset = offsetof(strata_config_identity, pos), .name_offset = -1,
       .set_offset = -1, .check = strata_config__check_identity);

static const strata_config__field keyless_fields[] = {
    FLD("trusted_root", STRATA_CF_PATH, strata_config_verify, trusted_root,
        .flags = STRATA_CF_NONEMPTY,
        .validate = strata_config__verify_validate_root),
    FLDX("identities", STRATA_CF_LIST, strata_config_verify, identities,
         n_identities, .flags = STRATA_CF_NONEMPTY, .sub = &identity),
};
SCHEMA(keyless, "keyless", strata_config_verify, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

static const strata_config__field verify_section_fields[] = {
    FLD("keys", STRATA_CF_STRINGS, strata_config_verify, keys,
        .flags = STRATA_CF_NONEMPTY,
        .validate = strata_config__verify_validate_key),
    FLAT("keyless", &keyless),
    FLD("threshold", STRATA_CF_INT, strata_config_verify, threshold, .min = 1,
        .max = 64, .def = "1"),
    FLD("attestations", STRATA_CF_STRINGS, strata_config_verify, attestations,
        .flags = STRATA_CF_NONEMPTY),
    FLD("mode", STRATA_CF_ENUM, strata_config_verify, mode,
        .names = strata_config__verify_modes, .def = "enforce"),
    FLD("wait", STRATA_CF_DURATION, strata_config_verify, wait_ms,
        .def = "10m"),
    FLD("mirrors", STRATA_CF_STRINGS, strata_config_verify, mirrors,
        .flags = STRATA_CF_NONEMPTY,
        .validate = strata_config__verify_validate_mirror),
    FLD("tlog", STRATA_CF_BOOL, strata_config_verify, tlog, .def = "false"),
};
SCHEMA(verify_section, "verify", strata_config_verify,
       .pos_offset = offsetof(strata_config_verify, pos), .name_offset = -1,
       .set_offset = offsetof(strata_config_verify, set),
       .check = strata_config__check_verify);

static int
validate_window(strata_config__ctx *ctx, const yaml_node_t *node,
                const strata_config__field *f, const char *v, int tainted)
{
    strata_error err = {0};

    (void) f;
    if (strata_schedule_check_window(v, &err) != 0) {
        strata_config__at(ctx, node, "invalid schedule window %s%s%s: %s",
                          SHOWN(v, tainted), err.msg);
        return -1;
    }
    return 0;
}

static int
validate_blackout(strata_config__ctx *ctx, const yaml_node_t *node,
                  const strata_config__field *f, const char *v, int tainted)
{
    strata_error err = {0};

    (void) f;
    if (strata_schedule_check_blackout(v, &err) != 0) {
        strata_config__at(ctx, node, "invalid blackout date %s%s%s: %s",
                          SHOWN(v, tainted), err.msg);
        return -1;
    }
    return 0;
}

static const strata_config__field schedule_section_fields[] = {
    FLD("windows", STRATA_CF_STRINGS, strata_config_schedule, windows,
        .flags = STRATA_CF_NONEMPTY, .validate = validate_window),
    FLD("blackout", STRATA_CF_STRINGS, strata_config_schedule, blackout,
        .flags = STRATA_CF_NONEMPTY, .validate = validate_blackout),
};
SCHEMA(schedule_section, "schedule", strata_config_schedule,
       .pos_offset = offsetof(strata_config_schedule, pos), .name_offset = -1,
       .set_offset = offsetof(strata_config_schedule, set),
       .check = strata_config__check_schedule);

static const strata_config__field rollout_stage_fields[] = {
    FLD("images", STRATA_CF_STRINGS, strata_config_rollout_stage, images,
        .flags = STRATA_CF_NONEMPTY),
    FLD("teams", STRATA_CF_STRINGS, strata_config_rollout_stage, teams,
        .flags = STRATA_CF_NONEMPTY),
    FLD("percent", STRATA_CF_INT, strata_config_rollout_stage, percent,
        .min = 1, .max = 100),
};
SCHEMA(rollout_stage, "rollout stage", strata_config_rollout_stage,
       .pos_offset = offsetof(strata_config_rollout_stage, pos),
       .name_offset = -1, .set_offset = -1,
       .check = strata_config__check_rollout_stage);

static const strata_config__field budget_fields[] = {
    FLD("images", STRATA_CF_INT, strata_config_rollout, budget_images,
        .def = "1000000", .min = 0, .max = 1000000),
    FLD("percent", STRATA_CF_INT, strata_config_rollout, budget_percent,
        .def = "100", .min = 0, .max = 100),
};
SCHEMA(budget, "failure_budget", strata_config_rollout, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

static const strata_config__field rollout_section_fields[] = {
    FLDX("stages", STRATA_CF_LIST, strata_config_rollout, stages, n_stages,
         .sub = &rollout_stage),
    FLD("bake", STRATA_CF_DURATION, strata_config_rollout, bake_ms, .def = "0"),
    FLAT("failure_budget", &budget),
};
SCHEMA(rollout_section, "rollout", strata_config_rollout,
       .pos_offset = offsetof(strata_config_rollout, pos), .name_offset = -1,
       .set_offset = offsetof(strata_config_rollout, set),
       .check = strata_config__check_rollout);

static const strata_config__field base_fields[] = {
    FLDX("ref", STRATA_CF_REF, strata_config_base, ref, name,
         .flags = STRATA_CF_REQUIRED),
    FLD("interval", STRATA_CF_DURATION, strata_config_base, interval_ms,
        .min = 1000),
    FLD("soak", STRATA_CF_DURATION, strata_config_base, soak_ms),
    FLD("approval", STRATA_CF_BOOL, strata_config_base, approval),
    FLD("platforms", STRATA_CF_STRINGS, strata_config_base, platforms,
        .validate = validate_platform),
    FLAT("policy", &policy),
    FLD("verify", STRATA_CF_OBJECT, strata_config_base, verify,
        .sub = &verify_section),
    FLD("schedule", STRATA_CF_OBJECT, strata_config_base, schedule,
        .sub = &schedule_section),
    FLD("rollout", STRATA_CF_OBJECT, strata_config_base, rollout,
        .sub = &rollout_section),
};
SCHEMA(base, "watched base", strata_config_base,
       .pos_offset = offsetof(strata_config_base, pos), .name_offset = -1,
       .set_offset = -1);

static const strata_config__field watch_fields[] = {
    FLD("interval", STRATA_CF_DURATION, strata_config_watch, interval_ms,
        .def = "15m", .min = 1000),
    FLD("jitter", STRATA_CF_CUSTOM, strata_config_watch, jitter_percent,
        .def = "10%", .parse = parse_jitter),
    FLD("soak", STRATA_CF_DURATION, strata_config_watch, soak_ms, .def = "0"),
    FLD("settle", STRATA_CF_DURATION, strata_config_watch, settle_ms,
        .def = "0"),
    FLD("approval", STRATA_CF_BOOL, strata_config_watch, approval,
        .def = "false"),
    FLD("verify", STRATA_CF_OBJECT, strata_config_watch, verify,
        .sub = &verify_section),
    FLDX("bases", STRATA_CF_LIST, strata_config_watch, bases, n_bases,
         .sub = &base),
};
SCHEMA(watch, "watch", strata_config_watch, .pos_offset = -1, .name_offset = -1,
       .set_offset = -1, .check = strata_config__check_watch);

static const strata_config__field image_fields[] = {
    FLD("name", STRATA_CF_REF, strata_config_image, name,
        .flags = STRATA_CF_REQUIRED, .validate = validate_image_name),
    FLD("dockerfile", STRATA_CF_STRING, strata_config_image, dockerfile,
        .flags = STRATA_CF_NONEMPTY, .def = "Dockerfile"),
    FLD("context", STRATA_CF_STRING, strata_config_image, context,
        .flags = STRATA_CF_NONEMPTY, .def = "."),
    FLD("target", STRATA_CF_STRING, strata_config_image, target,
        .flags = STRATA_CF_NONEMPTY),
    FLDX("build_args", STRATA_CF_KV, strata_config_image, build_args,
         n_build_args),
    FLD("platforms", STRATA_CF_STRINGS, strata_config_image, platforms,
        .validate = validate_platform),
};
SCHEMA(image, "image", strata_config_image,
       .pos_offset = offsetof(strata_config_image, pos), .name_offset = -1,
       .set_offset = -1);

static const strata_config__field repo_auth_fields[] = {
    FLD("username", STRATA_CF_STRING, strata_config_repo, username),
    FLD("token", STRATA_CF_SECRET, strata_config_repo, token),
    FLD("ssh_key_file", STRATA_CF_PATH, strata_config_repo, ssh_key_file,
        .flags = STRATA_CF_NONEMPTY),
};
SCHEMA(repo_auth, "repository auth", strata_config_repo, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

static const strata_config__field repo_forge_fields[] = {
    FLD("type", STRATA_CF_ENUM, strata_config_repo, forge,
        .names = strata_config__forge_names),
    FLD("repo", STRATA_CF_STRING, strata_config_repo, forge_repo,
        .validate = validate_owner_name),
    FLD("api_url", STRATA_CF_STRING, strata_config_repo, forge_api_url,
        .validate = validate_http_url),
};
SCHEMA(repo_forge, "forge", strata_config_repo, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

/* A pull-request title template: only the placeholders action-pr knows. */
static int
validate_title(strata_config__ctx *ctx, const yaml_node_t *node,
               const strata_config__field *f, const char *v, int tainted)
{
    static const char *const vars[] = {"base", "digest", "short", "repo",
                                       "count"};
    const char *p = v, *close;
    size_t i;

    while ((p = strchr(p, '{')) != NULL) {
        close = strchr(p, '}');
        for (i = 0; close != NULL && i < N_(vars); i++)
            if ((size_t) (close - p - 1) == strlen(vars[i]) &&
                strncmp(p + 1, vars[i], strlen(vars[i])) == 0)
                break;
        if (close == NULL || i == N_(vars)) {
            strata_config__at(ctx, node,
                              "unknown placeholder in '%s' %s%s%s (use "
                              "{base}, {digest}, {short}, {repo}, {count})",
                              f->key, SHOWN(v, tainted));
            return -1;
        }
        p = close + 1;
    }
    return 0;
}

/* pull_requests and repos[].pr: author's keys land in strata_config_pr. */
static const strata_config__field pr_author_fields[] = {
    FLD("name", STRATA_CF_STRING, strata_config_pr, author_name,
        .flags = STRATA_CF_NONEMPTY, .def = "strata"),
    FLD("email", STRATA_CF_STRING, strata_config_pr, author_email,
        .flags = STRATA_CF_NONEMPTY, .def = "strata@localhost"),
};
SCHEMA(pr_author, "pull request author", strata_config_pr, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

/* pull_requests.evidence: what the request shows beyond the pins. */
static const strata_config__field pr_evidence_fields[] = {
    FLD("packages", STRATA_CF_BOOL, strata_config_pr, evidence_packages,
        .def = "true"),
    FLD("hold_on", STRATA_CF_FLAGS, strata_config_pr, evidence_hold_on,
        .names = strata_config__hold_names),
};
SCHEMA(pr_evidence, "pull request evidence", strata_config_pr, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

/* pull_requests.limits: how fast strata opens requests. */
static const strata_config__field pr_limits_fields[] = {
    FLD("per_hour", STRATA_CF_INT, strata_config_pr, limit_per_hour, .min = 1,
        .max = 100000),
};
SCHEMA(pr_limits, "pull request limits", strata_config_pr, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

/* pull_requests.automerge: merging strata's own requests on green. In
 * the order of strata_forge_merge_method (forge.h). */
static const char *const automerge_methods[] = {"merge", "squash", "rebase",
                                                NULL};
static const strata_config__field pr_automerge_fields[] = {
    FLD("enabled", STRATA_CF_BOOL, strata_config_pr, automerge, .def = "false"),
    FLD("method", STRATA_CF_ENUM, strata_config_pr, automerge_method,
        .names = automerge_methods, .def = "merge"),
    FLD("delete_branch", STRATA_CF_BOOL, strata_config_pr,
        automerge_delete_branch, .def = "true"),
    FLD("max_checks", STRATA_CF_INT, strata_config_pr, automerge_max_checks,
        .min = 1, .max = 1000, .def = "40"),
};
SCHEMA(pr_automerge, "pull request auto-merge", strata_config_pr,
       .pos_offset = -1, .name_offset = -1, .set_offset = -1);

static const strata_config__field pr_section_fields[] = {
    FLAT("author", &pr_author),
    FLAT("automerge", &pr_automerge),
    FLAT("limits", &pr_limits),
    FLAT("evidence", &pr_evidence),
    FLD("signoff", STRATA_CF_BOOL, strata_config_pr, signoff, .def = "false"),
    FLD("labels", STRATA_CF_STRINGS, strata_config_pr, labels,
        .flags = STRATA_CF_NONEMPTY),
    FLD("reviewers", STRATA_CF_STRINGS, strata_config_pr, reviewers,
        .flags = STRATA_CF_NONEMPTY),
    FLD("draft", STRATA_CF_BOOL, strata_config_pr, draft, .def = "false"),
    FLD("group", STRATA_CF_BOOL, strata_config_pr, group, .def = "false"),
    FLD("title", STRATA_CF_STRING, strata_config_pr, title,
        .flags = STRATA_CF_NONEMPTY, .validate = validate_title),
};
SCHEMA(pr_section, "pull requests", strata_config_pr, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

static size_t
field_size(const strata_config__field *f)
{
    switch (f->kind) {
    case STRATA_CF_STRING:
        return sizeof(const char *);
    case STRATA_CF_BOOL:
    case STRATA_CF_INT:
    case STRATA_CF_ENUM:
        return sizeof(int);
    case STRATA_CF_STRINGS:
        return sizeof(strata_config_strings);
    case STRATA_CF_FLAGS:
        return sizeof(unsigned);
    default:
        assert(!"a kind pr_section does not use");
        return 0;
    }
}

/* Copies each key node does not set from `from`, by table. */
static void
inherit(strata_config__ctx *ctx, const strata_config__schema *s,
        const yaml_node_t *node, void *obj, const void *from)
{
    size_t i;

    for (i = 0; i < s->n_fields; i++) {
        const strata_config__field *f = &s->fields[i];
        const yaml_node_t *v = strata_config__lookup(ctx, node, f->key);

        if (f->kind == STRATA_CF_OBJECT)
            inherit(ctx, f->sub, v, (char *) obj + f->offset,
                    (const char *) from + f->offset);
        else if (strata_config__is_null(v))
            memcpy((char *) obj + f->offset, (const char *) from + f->offset,
                   field_size(f));
    }
}

void
strata_config__inherit_pr(strata_config__ctx *ctx, strata_config_pr *pr,
                          const yaml_node_t *node,
                          const strata_config_pr *defaults)
{
    inherit(ctx, &pr_section, node, pr, defaults);
}

static const strata_config__field repo_fields[] = {
    FLD("url", STRATA_CF_STRING, strata_config_repo, url,
        .flags = STRATA_CF_REQUIRED | STRATA_CF_NONEMPTY,
        .validate = validate_repo_url),
    FLD("branch", STRATA_CF_STRING, strata_config_repo, branch,
        .flags = STRATA_CF_NONEMPTY, .def = "main"),
    FLAT("auth", &repo_auth),
    FLAT("forge", &repo_forge),
    FLDX("images", STRATA_CF_LIST, strata_config_repo, images, n_images,
         .sub = &image),
    FLD("on_base_update", STRATA_CF_FLAGS, strata_config_repo, on_base_update,
        .names = strata_config__action_names),
    FLD("builder", STRATA_CF_STRING, strata_config_repo, builder,
        .flags = STRATA_CF_NONEMPTY),
    FLD("exec", STRATA_CF_STRING, strata_config_repo, exec,
        .flags = STRATA_CF_NONEMPTY),
    FLD("pr", STRATA_CF_OBJECT, strata_config_repo, pr, .sub = &pr_section),
    FLD("schedule", STRATA_CF_OBJECT, strata_config_repo, schedule,
        .sub = &schedule_section),
};
SCHEMA(repo, "repository", strata_config_repo,
       .pos_offset = offsetof(strata_config_repo, pos), .name_offset = -1,
       .set_offset = -1, .check = strata_config__check_repo);

static const strata_config__field forge_fields[] = {
    FLD("token", STRATA_CF_SECRET, strata_config_forge, token),
    FLD("api_url", STRATA_CF_STRING, strata_config_forge, api_url,
        .validate = validate_http_url),
};
SCHEMA(forge, "forge", strata_config_forge, .pos_offset = -1, .name_offset = -1,
       .set_offset = offsetof(strata_config_forge, configured));

static const strata_config__field forges_fields[] = {
    FLD("github", STRATA_CF_OBJECT, strata_config_forges, github,
        .sub = &forge),
    FLD("gitlab", STRATA_CF_OBJECT, strata_config_forges, gitlab,
        .sub = &forge),
    FLD("gitea", STRATA_CF_OBJECT, strata_config_forges, gitea, .sub = &forge),
};
SCHEMA(forges, "forges", strata_config_forges, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

/* discover: one forge listing; its cross-key rules are in discover.c. */
static const char *const visibility_names[] = {"public", "private", "internal",
                                               NULL};

static const strata_config__field discover_app_fields[] = {
    FLD("id", STRATA_CF_STRING, strata_config_discover, app_id,
        .validate = strata_config__validate_digits),
    FLD("installation", STRATA_CF_STRING, strata_config_discover, installation,
        .validate = strata_config__validate_digits),
    FLD("private_key", STRATA_CF_SECRET, strata_config_discover, app_key),
};
SCHEMA(discover_app, "github app", strata_config_discover, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

static const strata_config__field discover_fields[] = {
    FLD("forge", STRATA_CF_ENUM, strata_config_discover, forge,
        .flags = STRATA_CF_REQUIRED, .names = strata_config__forge_names),
    FLD("org", STRATA_CF_STRING, strata_config_discover, org,
        .flags = STRATA_CF_NONEMPTY),
    FLD("user", STRATA_CF_STRING, strata_config_discover, user,
        .flags = STRATA_CF_NONEMPTY),
    FLD("group", STRATA_CF_STRING, strata_config_discover, group,
        .flags = STRATA_CF_NONEMPTY),
    FLD("include_subgroups", STRATA_CF_BOOL, strata_config_discover,
        include_subgroups, .def = "true"),
    FLAT("app", &discover_app),
    FLD("api_url", STRATA_CF_STRING, strata_config_discover, api_url,
        .validate = validate_http_url),
    FLD("token", STRATA_CF_SECRET, strata_config_discover, token),
    FLD("include", STRATA_CF_STRINGS, strata_config_discover, include,
        .flags = STRATA_CF_NONEMPTY),
    FLD("exclude", STRATA_CF_STRINGS, strata_config_discover, exclude,
        .flags = STRATA_CF_NONEMPTY),
    FLD("topics", STRATA_CF_STRINGS, strata_config_discover, topics,
        .flags = STRATA_CF_NONEMPTY),
    FLD("visibility", STRATA_CF_FLAGS, strata_config_discover, visibility,
        .names = visibility_names),
    FLD("archived", STRATA_CF_BOOL, strata_config_discover, archived,
        .def = "false"),
    FLD("forks", STRATA_CF_BOOL, strata_config_discover, forks, .def = "false"),
    FLD("empty", STRATA_CF_BOOL, strata_config_discover, empty, .def = "false"),
    FLD("interval", STRATA_CF_DURATION, strata_config_discover, interval_ms,
        .def = "15m", .min = 10000),
    FLD("on_base_update", STRATA_CF_FLAGS, strata_config_discover,
        on_base_update, .names = strata_config__action_names),
};
SCHEMA(discover, "discover", strata_config_discover,
       .pos_offset = offsetof(strata_config_discover, pos), .name_offset = -1,
       .set_offset = -1, .check = strata_config__check_discover);

static const strata_config__field builder_fields[] = {
    FLD("type", STRATA_CF_ENUM, strata_config_builder, type,
        .flags = STRATA_CF_REQUIRED, .names = strata_config__builder_names),
    FLD("command", STRATA_CF_STRING, strata_config_builder, command,
        .flags = STRATA_CF_NONEMPTY),
    FLD("url", STRATA_CF_STRING, strata_config_builder, url,
        .validate = validate_http_url),
    FLD("token", STRATA_CF_SECRET, strata_config_builder, token),
    FLD("secret", STRATA_CF_SECRET, strata_config_builder, secret),
    FLD("api_url", STRATA_CF_STRING, strata_config_builder, api_url,
        .validate = validate_http_url),
    FLD("repo", STRATA_CF_STRING, strata_config_builder, repo,
        .validate = validate_owner_name),
    FLD("workflow", STRATA_CF_STRING, strata_config_builder, workflow,
        .flags = STRATA_CF_NONEMPTY),
    FLD("project", STRATA_CF_STRING, strata_config_builder, project,
        .flags = STRATA_CF_NONEMPTY),
    FLD("ref", STRATA_CF_STRING, strata_config_builder, ref,
        .flags = STRATA_CF_NONEMPTY),
    FLD("namespace", STRATA_CF_STRING, strata_config_builder, k8s_namespace,
        .flags = STRATA_CF_NONEMPTY),
    FLD("image", STRATA_CF_STRING, strata_config_builder, image,
        .flags = STRATA_CF_NONEMPTY),
    FLD("kubeconfig", STRATA_CF_PATH, strata_config_builder, kubeconfig,
        .flags = STRATA_CF_NONEMPTY),
    FLD("push_secret", STRATA_CF_STRING, strata_config_builder, push_secret,
        .flags = STRATA_CF_NONEMPTY, .validate = validate_k8s_name),
    FLD("api_token", STRATA_CF_SECRET, strata_config_builder, api_token),
    FLD("timeout", STRATA_CF_DURATION, strata_config_builder, timeout_ms,
        .def = "1h"),
    FLD("verify", STRATA_CF_OBJECT, strata_config_builder, verify,
        .sub = &verify_section),
};
SCHEMA(builder, "builder", strata_config_builder,
       .pos_offset = offsetof(strata_config_builder, pos),
       .name_offset = offsetof(strata_config_builder, name), .set_offset = -1,
       .check = strata_config__check_builder);

/* In the order of the minimum severities of a notification filter. */
static const char *const severity_names[] = {"info", "warning", "critical",
                                             NULL};

static const strata_config__field notify_rate_fields[] = {
    FLD("messages", STRATA_CF_INT, strata_config_notify, rate_messages,
        .min = 1, .max = 1000000),
    FLD("per", STRATA_CF_DURATION, strata_config_notify, rate_per_ms,
        .def = "1m", .min = 1000),
};
SCHEMA(notify_rate, "rate limit", strata_config_notify, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

static const strata_config__field notify_filter_fields[] = {
    FLD("bases", STRATA_CF_STRINGS, strata_config_notify, filter_bases,
        .flags = STRATA_CF_NONEMPTY),
    FLD("images", STRATA_CF_STRINGS, strata_config_notify, filter_images,
        .flags = STRATA_CF_NONEMPTY),
    FLD("teams", STRATA_CF_STRINGS, strata_config_notify, filter_teams,
        .flags = STRATA_CF_NONEMPTY),
    FLD("severity", STRATA_CF_ENUM, strata_config_notify, filter_severity,
        .names = severity_names, .def = "info"),
};
SCHEMA(notify_filter, "notification filter", strata_config_notify,
       .pos_offset = -1, .name_offset = -1, .set_offset = -1);

static const strata_config__field notify_fields[] = {
    FLD("name", STRATA_CF_STRING, strata_config_notify, name,
        .flags = STRATA_CF_NONEMPTY),
    FLD("type", STRATA_CF_ENUM, strata_config_notify, type,
        .flags = STRATA_CF_REQUIRED, .names = strata_config__notify_names),
    FLD("url", STRATA_CF_SECRET, strata_config_notify, url),
    FLD("events", STRATA_CF_STRINGS, strata_config_notify, events,
        .flags = STRATA_CF_NONEMPTY, .validate = validate_event),
    FLD("secret", STRATA_CF_SECRET, strata_config_notify, secret),
    FLD("from", STRATA_CF_STRING, strata_config_notify, from,
        .flags = STRATA_CF_NONEMPTY),
    FLD("to", STRATA_CF_STRINGS, strata_config_notify, to,
        .flags = STRATA_CF_NONEMPTY),
    FLD("command", STRATA_CF_STRING, strata_config_notify, command,
        .flags = STRATA_CF_NONEMPTY),
    FLDX("headers", STRATA_CF_KV, strata_config_notify, headers, n_headers),
    FLD("batch", STRATA_CF_DURATION, strata_config_notify, batch_ms,
        .def = "0"),
    FLAT("rate_limit", &notify_rate),
    FLD("max_attempts", STRATA_CF_INT, strata_config_notify, max_attempts,
        .min = 1, .max = 100, .def = "8"),
    FLD("title", STRATA_CF_STRING, strata_config_notify, title,
        .flags = STRATA_CF_NONEMPTY),
    FLD("text", STRATA_CF_STRING, strata_config_notify, text,
        .flags = STRATA_CF_NONEMPTY),
    FLAT("filter", &notify_filter),
};
SCHEMA(notify, "notification", strata_config_notify,
       .pos_offset = offsetof(strata_config_notify, pos), .name_offset = -1,
       .set_offset = -1, .check = strata_config__check_notify);

/* In the order of strata_config_webhook_kind. */
const char *const strata_config__webhook_names[] = {
    "distribution", "dockerhub", "harbor", "generic", "cloudevents",
    "quay",         "ghcr",      "ecr",    "acr",     "artifact-registry",
    "github",       "gitlab",    "gitea",  NULL};

static const strata_config__field webhook_fields[] = {
    FLD("name", STRATA_CF_STRING, strata_config_webhook, name,
        .flags = STRATA_CF_REQUIRED | STRATA_CF_NONEMPTY),
    FLD("kind", STRATA_CF_ENUM, strata_config_webhook, kind,
        .flags = STRATA_CF_REQUIRED, .names = strata_config__webhook_names),
    FLD("secret", STRATA_CF_SECRET, strata_config_webhook, secret),
    FLD("registry", STRATA_CF_STRING, strata_config_webhook, registry,
        .flags = STRATA_CF_NONEMPTY),
    FLD("header", STRATA_CF_STRING, strata_config_webhook, header,
        .flags = STRATA_CF_NONEMPTY),
    FLD("username", STRATA_CF_STRING, strata_config_webhook, username,
        .flags = STRATA_CF_NONEMPTY),
    FLD("keys", STRATA_CF_PATH, strata_config_webhook, keys),
    FLD("audience", STRATA_CF_STRING, strata_config_webhook, audience,
        .flags = STRATA_CF_NONEMPTY),
    FLD("service_account", STRATA_CF_STRING, strata_config_webhook,
        service_account, .flags = STRATA_CF_NONEMPTY),
};
SCHEMA(webhook, "webhook", strata_config_webhook,
       .pos_offset = offsetof(strata_config_webhook, pos), .name_offset = -1,
       .set_offset = -1, .check = strata_config__check_webhook);

static const strata_config__field api_fields[] = {
    FLD("listen", STRATA_CF_STRING, strata_config_api, listen,
        .def = "127.0.0.1:8780", .validate = validate_listen),
    FLD("token", STRATA_CF_SECRET, strata_config_api, token),
    FLDX("webhooks", STRATA_CF_LIST, strata_config_api, webhooks, n_webhooks,
         .sub = &webhook),
};
SCHEMA(api, "api", strata_config_api, .pos_offset = -1, .name_offset = -1,
       .set_offset = -1);

/* ---- rescans: scanners: {NAME: {type, command, timeout, gate}} ---- */
static const char *const scanner_types[] = {"trivy", "grype", "sarif", NULL};
/* In the order of strata_config_gate. */
static const char *const gate_actions[] = {"ignore", "warn", "fail", NULL};

static const strata_config__field scanner_gate_fields[] = {
    FLD("new_critical", STRATA_CF_ENUM, strata_config_scanner,
        gate_new_critical, .names = gate_actions, .def = "fail"),
    FLD("new_high", STRATA_CF_ENUM, strata_config_scanner, gate_new_high,
        .names = gate_actions, .def = "warn"),
    FLD("new_medium", STRATA_CF_ENUM, strata_config_scanner, gate_new_medium,
        .names = gate_actions, .def = "ignore"),
    FLD("new_low", STRATA_CF_ENUM, strata_config_scanner, gate_new_low,
        .names = gate_actions, .def = "ignore"),
};
SCHEMA(scanner_gate, "scanner gate", strata_config_scanner, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

static const strata_config__field scanner_fields[] = {
    FLD("type", STRATA_CF_ENUM, strata_config_scanner, type,
        .flags = STRATA_CF_REQUIRED, .names = scanner_types),
    FLD("command", STRATA_CF_STRING, strata_config_scanner, command,
        .flags = STRATA_CF_REQUIRED | STRATA_CF_NONEMPTY),
    FLD("timeout", STRATA_CF_DURATION, strata_config_scanner, timeout_ms,
        .def = "30m", .min = 1000),
    FLAT("gate", &scanner_gate),
};
SCHEMA(scanner, "scanner", strata_config_scanner,
       .pos_offset = offsetof(strata_config_scanner, pos),
       .name_offset = offsetof(strata_config_scanner, name), .set_offset = -1);
/* ---- end of rescans ---- */

static const strata_config__field signing_fields[] = {
    FLD("key", STRATA_CF_PATH, strata_config_signing, key,
        .flags = STRATA_CF_NONEMPTY,
        .validate = strata_config__signing_validate_key),
};
SCHEMA(signing, "signing", strata_config_signing,
       .pos_offset = offsetof(strata_config_signing, pos), .name_offset = -1,
       .set_offset = -1);

/* ---- references: {matchers: [{files, match}]} ---- */
static const strata_config__field matcher_fields[] = {
    FLD("files", STRATA_CF_STRINGS, strata_config_matcher, files,
        .flags = STRATA_CF_REQUIRED | STRATA_CF_NONEMPTY),
    FLD("match", STRATA_CF_STRING, strata_config_matcher, match,
        .flags = STRATA_CF_REQUIRED | STRATA_CF_NONEMPTY,
        .validate = validate_pcre2),
};
SCHEMA(matcher, "matcher", strata_config_matcher,
       .pos_offset = offsetof(strata_config_matcher, pos), .name_offset = -1,
       .set_offset = -1);

static const strata_config__field references_fields[] = {
    FLDX("matchers", STRATA_CF_LIST, strata_config_references, matchers,
         n_matchers, .sub = &matcher),
};
SCHEMA(references, "references", strata_config_references, .pos_offset = -1,
       .name_offset = -1, .set_offset = -1);

static const strata_config__field root_fields[] = {
    FLD("state", STRATA_CF_PATH, strata_config_data, state,
        .flags = STRATA_CF_NONEMPTY, .def = "./strata.db"),
    FLD("state_check", STRATA_CF_ENUM, strata_config_data, state_check,
        .names = state_checks, .def = "off"),
    FLD("log", STRATA_CF_OBJECT, strata_config_data, log, .sub = &log_section),
    FLDX("registries", STRATA_CF_LIST, strata_config_data, registries,
         n_registries, .sub = &registry),
    FLD("catalog", STRATA_CF_PATH, strata_config_data, catalog,
        .flags = STRATA_CF_NONEMPTY),
    FLD("watch", STRATA_CF_OBJECT, strata_config_data, watch, .sub = &watch),
    FLDX("repos", STRATA_CF_LIST, strata_config_data, repos, n_repos,
         .sub = &repo),
    FLDX("discover", STRATA_CF_LIST, strata_config_data, discover, n_discover,
         .sub = &discover),
    FLD("scan", STRATA_CF_OBJECT, strata_config_data, scan,
        .sub = &scan_section),
    FLD("forges", STRATA_CF_OBJECT, strata_config_data, forges, .sub = &forges),
    FLD("pull_requests", STRATA_CF_OBJECT, strata_config_data, pull_requests,
        .sub = &pr_section),
    FLDX("builders", STRATA_CF_MAP, strata_config_data, builders, n_builders,
         .sub = &builder),
    FLDX("notify", STRATA_CF_LIST, strata_config_data, notify, n_notify,
         .sub = &notify),
    FLD("api", STRATA_CF_OBJECT, strata_config_data, api, .sub = &api),
    FLDX("scanners", STRATA_CF_MAP, strata_config_data, scanners, n_scanners,
         .sub = &scanner),
    FLD("signing", STRATA_CF_OBJECT, strata_config_data, signing,
        .sub = &signing),
    FLD("schedule", STRATA_CF_OBJECT, strata_config_data, schedule,
        .sub = &schedule_section),
    FLD("references", STRATA_CF_OBJECT, strata_config_data, references,
        .sub = &references),
    FLD("rollout", STRATA_CF_OBJECT, strata_config_data, rollout,
        .sub = &rollout_section),
};

const strata_config__schema strata_config__root = {
    .what = "the configuration",
    .fields = root_fields,
    .n_fields = N_(root_fields),
    .size = sizeof(strata_config_data),
    .pos_offset = -1,
    .name_offset = -1,
    .set_offset = -1,
    .check = strata_config__check_root,
};
